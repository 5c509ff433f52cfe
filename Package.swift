// swift-tools-version:6.2
import PackageDescription

/// Every Coffre target: the upcoming features it is written for, and warnings as errors (a warning is a defect to fix,
/// not to read past; dependencies' warnings are not ours and SwiftPM keeps them out of this setting).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
    // Release builds let every Coffre module specialise and inline the generic code of the modules it imports (the
    // JSON writer, percent decoding, …): without it, a call into another Coffre module runs the unspecialised generic
    // body, through metadata look-ups and dynamic casts per value (bench/RESULTS.md, 2026-12-07, issue 23's proof).
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

// Coffre builds and is tested on Linux only (Debian 12, Swift 6.3), so it claims no Apple platform.
let package = Package(
    name: "coffre",
    products: [
        .executable(name: "coffre", targets: ["coffre"]),
        .executable(name: "coffre-hello", targets: ["coffre-hello"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),
        .target(name: "CProcessHardening"),
        // PKCS#11 declarations only: the module is loaded at run time (dlopen), so nothing is linked.
        .systemLibrary(name: "CPKCS11", path: "Sources/CPKCS11", providers: [.apt(["libp11-kit-dev"])]),
        // JSON written once: the streaming encoder, field writers and JSONValue (wire models, stored records, audit lines).
        .target(name: "CoffreJSON", swiftSettings: swiftSettings),
        .target(name: "CoffreModel", dependencies: ["CoffreJSON"], swiftSettings: swiftSettings),
        .target(
            name: "CoffreCrypto",
            dependencies: [
                "CoffreModel", "COpenSSL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CoffreStorage", dependencies: ["CoffreModel", "CoffreCrypto"], swiftSettings: swiftSettings),
        .target(name: "CoffreKeyCustody", dependencies: ["CoffreModel", "CoffreCrypto", "CPKCS11"], swiftSettings: swiftSettings),
        .target(
            name: "CoffreEventLoops", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        .target(name: "CoffreStorageSQLite", dependencies: ["CoffreStorage", "CSQLite"], swiftSettings: swiftSettings),
        .target(
            name: "CoffreStoragePostgres",
            dependencies: [
                "CoffreStorage", "CoffreEventLoops",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CoffreCertificates",
            dependencies: [
                "CoffreModel", "CoffreCrypto", "COpenSSL",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CoffreDirectory", dependencies: ["CoffreModel", "CoffreCrypto", "CoffreStorage"], swiftSettings: swiftSettings),
        .target(
            name: "CoffreAuth",
            dependencies: [
                "CoffreModel", "CoffreCrypto", "CoffreStorage", "CoffreDirectory",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CoffreBlob", dependencies: ["CoffreModel", "CoffreCrypto", "CoffreStorage"], swiftSettings: swiftSettings),
        .target(
            name: "CoffreCore",
            dependencies: [
                "CoffreModel", "CoffreCrypto", "CoffreStorage", "CoffreCertificates", "CoffreDirectory", "CoffreAuth", "CoffreBlob",
                "CoffreKeyCustody",
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "CoffreHTTP",
            dependencies: [
                "CoffreCore", "CoffreAuth", "CoffreBlob", "CoffreCertificates", "CoffreDirectory", "CoffreEventLoops", "CoffreKeyCustody",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CoffreServer",
            dependencies: [
                "CoffreHTTP", "CoffreStorageSQLite", "CoffreStoragePostgres", "CoffreCertificates", "CoffreBlob", "CoffreDirectory",
                "CProcessHardening", "CoffreKeyCustody",
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coffre",
            dependencies: [
                "CoffreServer", "CoffreCertificates", "CoffreCore", "CoffreCrypto", "CoffreAuth", "CoffreDirectory", "CoffreHTTP", "CoffreModel",
                "CoffreStorage",
                "CoffreStorageSQLite", "CoffreKeyCustody",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmark's limit route (bench/run): a minimal TLS server, no Coffre module.
        .executableTarget(
            name: "coffre-hello",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzzing (scripts/fuzz): the parsers of untrusted input as libFuzzer targets, one small file each, and their driver:
        // libFuzzer's entry points when built with -sanitize=fuzzer -DCOFFRE_LIBFUZZER, a seed writer otherwise.
        .target(
            name: "CoffreFuzzTargets",
            dependencies: [
                "CoffreAuth", "CoffreBlob", "CoffreCore", "CoffreCertificates", "CoffreCrypto", "CoffreDirectory", "CoffreStorage", "CoffreModel",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Fuzz/Targets", swiftSettings: swiftSettings),
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "coffre-fuzz", dependencies: ["CoffreFuzzTargets", "CLibFuzzer"], path: "Fuzz/Driver", swiftSettings: swiftSettings),
        .testTarget(name: "CoffreFuzzTargetsTests", dependencies: ["CoffreFuzzTargets"], path: "Fuzz/Tests", swiftSettings: swiftSettings),
        .target(
            name: "CoffreStorageConformance", dependencies: ["CoffreStorage"], path: "Tests/CoffreStorageConformance", swiftSettings: swiftSettings),
        .testTarget(name: "CoffreJSONTests", dependencies: ["CoffreJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "CoffreModelTests", dependencies: ["CoffreModel"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreCryptoTests",
            dependencies: [
                "CoffreCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
        // SoftHSM2 installations of the tests' own (temporary directories, tokens, PIN files, trusted backup keys).
        .target(
            name: "CoffreSoftHSMTestSupport", dependencies: ["CoffreKeyCustody", "CoffreCrypto", "CPKCS11"], path: "Tests/CoffreSoftHSMTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreKeyCustodyTests", dependencies: ["CoffreKeyCustody", "CoffreCrypto", "CPKCS11", "CoffreSoftHSMTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreStorageTests",
            dependencies: ["CoffreStorage", "CoffreStorageSQLite", "CoffreStorageConformance", "CoffreCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoffreCertificatesTests",
            dependencies: [
                "CoffreCertificates",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoffreAuthTests",
            dependencies: [
                "CoffreAuth", "CoffreCrypto", "CoffreDirectory", "CoffreJSON", "CoffreModel", "CoffreStorage",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "CoffrePostgresTestSupport", path: "Tests/CoffrePostgresTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreStoragePostgresTests",
            dependencies: [
                "CoffreStorage", "CoffreStoragePostgres", "CoffreStorageConformance", "CoffrePostgresTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoffreCoreTests",
            dependencies: [
                "CoffreCore", "CoffreAuth", "CoffreBlob", "CoffreDirectory", "CoffreStorageConformance", "CoffreStorageSQLite",
                "CoffreKeyCustody", "CoffreSoftHSMTestSupport",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreDirectoryTests", dependencies: ["CoffreDirectory", "CoffreCrypto", "CoffreModel", "CoffreStorage"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreBlobTests", dependencies: ["CoffreBlob", "CoffreCrypto", "CoffreModel", "CoffreStorage"], resources: [.copy("Vectors")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CoffreHTTPTests",
            dependencies: [
                "CoffreServer", "CoffreHTTP", "CoffreCore", "CoffreAuth", "CoffreBlob", "CoffreDirectory", "CoffreStorage", "CoffreCrypto",
                "CoffreModel", "CoffreKeyCustody", "CoffreSoftHSMTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
