import CPKCS11
import CoffreCrypto
import Foundation
import Synchronization
import Testing

@testable import CoffreKeyCustody

/// A SoftHSM2 installation of a test suite's own: a temporary directory with its configuration (`directories.tokendir`),
/// its tokens (initialised by `softhsm2-util --init-token --free`), a PIN file, and its own copy of the module.
///
/// SoftHSM reads `SOFTHSM2_CONF` once, in `C_Initialize`, and keeps its tokens in process-wide state: suites running at
/// once in this process each load their own copy of `libsofthsm2.so` (the dynamic loader then gives each copy its own
/// state), initialised while `SOFTHSM2_CONF` names their configuration.
///
/// Debian: `apt-get install softhsm2` (scripts/test installs it). A missing SoftHSM fails the suite; it never skips.
public final class SoftHSM: Sendable {
    /// A token to make, and the backup wrapping key to put in it.
    public struct Token: Sendable {
        public var label: String
        public var backupKey: BackupKey?

        public init(_ label: String, backupKey: BackupKey? = nil) {
            self.label = label
            self.backupKey = backupKey
        }
    }

    /// An AES-256 backup wrapping key with a given value (two tokens share a key by holding the same value).
    /// `trusted` keys are made by the security officer (`CKA_TRUSTED` can only be set by the SO), as public objects.
    public struct BackupKey: Sendable {
        public var value: [UInt8]
        public var trusted: Bool

        public init(value: [UInt8], trusted: Bool) {
            self.value = value
            self.trusted = trusted
        }
    }

    public static let pin = "4321-user"
    public static let soPIN = "8765-officer"

    public let directory: URL
    public let modulePath: String
    public let pinFile: String
    /// The security officer's PIN, in a file.
    public let soPINFile: String

    private init(directory: URL, modulePath: String, pinFile: String, soPINFile: String) {
        self.directory = directory
        self.modulePath = modulePath
        self.pinFile = pinFile
        self.soPINFile = soPINFile
    }

    /// The configuration of a custody of one of the tokens.
    public func configuration(_ tokenLabel: String, maximumSessions: Int = 4) -> PKCS11Custody.Configuration {
        PKCS11Custody.Configuration(modulePath: modulePath, tokenLabel: tokenLabel, pinFile: pinFile, maximumSessions: maximumSessions)
    }

    public func custody(_ tokenLabel: String, maximumSessions: Int = 4) async throws -> PKCS11Custody {
        try await PKCS11Custody.open(configuration(tokenLabel, maximumSessions: maximumSessions))
    }

    /// The installed module: `$COFFRE_SOFTHSM_MODULE`, or where Debian puts it.
    public static var installedModule: String {
        get throws {
            let candidates =
                [ProcessInfo.processInfo.environment["COFFRE_SOFTHSM_MODULE"]].compactMap { $0 } + [
                    "/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
                ]
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw SoftHSMError("SoftHSM2 is not installed (Debian: apt-get install softhsm2 opensc); scripts/test installs it")
            }
            return found
        }
    }

    /// `SOFTHSM2_CONF` is process-wide: one suite at a time sets it and initialises its module copy.
    private static let initialization = Mutex(())

    /// Makes the directory, its tokens and its module; removes the directory again if any step fails.
    public static func make(tokens: [Token]) throws -> SoftHSM {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coffre-softhsm-\(UUID().uuidString)")
        do {
            return try make(tokens: tokens, in: directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private static func make(tokens: [Token], in directory: URL) throws -> SoftHSM {
        let tokenDirectory = directory.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: tokenDirectory, withIntermediateDirectories: true)
        let configuration = directory.appendingPathComponent("softhsm2.conf")
        try "directories.tokendir = \(tokenDirectory.path)\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(to: configuration, atomically: true, encoding: .utf8)
        let pinFile = directory.appendingPathComponent("pin")
        try (pin + "\n").write(to: pinFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pinFile.path)
        let soPINFile = directory.appendingPathComponent("so-pin")
        try (soPIN + "\n").write(to: soPINFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: soPINFile.path)
        for token in tokens {
            try run(
                "softhsm2-util", "--init-token", "--free", "--label", token.label, "--pin", pin, "--so-pin", soPIN,
                configuration: configuration.path)
        }
        let modulePath = directory.appendingPathComponent("libsofthsm2.so").path
        // A copy of the file itself (Debian installs a symbolic link), so that the loader sees a library of its own.
        try FileManager.default.copyItem(
            atPath: URL(fileURLWithPath: try installedModule).resolvingSymlinksInPath().path, toPath: modulePath)
        try initialization.withLock { _ in
            setenv("SOFTHSM2_CONF", configuration.path, 1)
            defer { unsetenv("SOFTHSM2_CONF") }
            _ = try PKCS11Module.load(path: modulePath)
        }
        let hsm = SoftHSM(directory: directory, modulePath: modulePath, pinFile: pinFile.path, soPINFile: soPINFile.path)
        for token in tokens {
            if let backupKey = token.backupKey {
                // A trusted key is made by the security officer (only the SO can set CKA_TRUSTED), an untrusted one by the user.
                try PKCS11Custody.makeBackupKey(
                    hsm.configuration(token.label), pinFile: PINFile(path: backupKey.trusted ? soPINFile.path : pinFile.path),
                    asSecurityOfficer: backupKey.trusted, value: backupKey.value)
            }
        }
        return hsm
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `pkcs11-tool` (OpenSC) on one of the tokens, logged in as the user; its standard output.
    /// Closes every session of this process on the token behind the custody's back, as when a device is removed or an
    /// HSM client restarts: the custody's next call finds its session gone.
    public func closeAllSessions(_ tokenLabel: String) throws {
        let module = try PKCS11Module.load(path: modulePath)
        guard let slot = try module.slot(withTokenLabel: tokenLabel) else { throw SoftHSMError("no token labelled \(tokenLabel)") }
        try ReturnValue.check(module.functions.C_CloseAllSessions!(slot), "C_CloseAllSessions")
    }

    public func pkcs11Tool(_ tokenLabel: String, _ arguments: String...) throws -> String {
        try Self.run(
            ["pkcs11-tool", "--module", modulePath, "--token-label", tokenLabel, "--login", "--pin", Self.pin] + arguments,
            configuration: directory.appendingPathComponent("softhsm2.conf").path)
    }

    private static func run(_ arguments: String..., configuration: String) throws {
        _ = try run(arguments, configuration: configuration)
    }

    @discardableResult
    private static func run(_ arguments: [String], configuration: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SOFTHSM2_CONF": configuration]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SoftHSMError("\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}

public struct SoftHSMError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Gives a suite one ``SoftHSM`` with the tokens it names, made before its first test and removed after its last:
/// `@Suite(.softHSM([.init("signing")]))`, then `try SoftHSM.requireCurrent()` in the tests.
public struct SoftHSMTrait: SuiteTrait, TestScoping {
    let tokens: [SoftHSM.Token]

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let hsm = try SoftHSM.make(tokens: tokens)
        defer { hsm.remove() }
        try await SoftHSM.$current.withValue(hsm) { try await function() }
    }
}

extension Trait where Self == SoftHSMTrait {
    public static func softHSM(_ tokens: [SoftHSM.Token]) -> Self { SoftHSMTrait(tokens: tokens) }
}

extension SoftHSM {
    @TaskLocal public static var current: SoftHSM?

    public static func requireCurrent() throws -> SoftHSM {
        guard let current else { throw SoftHSMError("this test needs @Suite(.softHSM(…))") }
        return current
    }
}
