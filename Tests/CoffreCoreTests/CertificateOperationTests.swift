import CoffreModel
import Foundation
import Testing

@testable import CoffreCore

/// A certificate operation's transitions, without storage: what each does from `inProgress`, and that a finished
/// operation refuses them all.
@Suite struct CertificateOperationTests {
    static func started() -> PendingCertificate {
        PendingCertificate(
            requestId: "r1", issuerName: "Unknown", certificateType: nil, certificateTransparency: nil, csr: "Y3Ny", enabled: true, tags: nil,
            preserveCertOrder: nil)
    }

    static let transitions: [(String, @Sendable (inout PendingCertificate) throws -> Void)] = [
        ("awaitMerge", { try $0.awaitMerge(keeping: "a2V5", version: "v1") }),
        ("complete", { try $0.complete(version: "v2") }),
        ("fail", { try $0.fail(code: "CertificateIssuerError", message: "no CA") }),
        ("cancel", { try $0.cancel() }),
    ]

    @Test func anOperationStartsInProgress() {
        let operation = Self.started()
        #expect(operation.status == .inProgress && operation.isInProgress)
        #expect(!operation.cancellationRequested && operation.material == nil && operation.targetVersion == nil)
    }

    @Test func awaitingAMergeKeepsTheKeyAndStaysInProgress() throws {
        var operation = Self.started()
        try operation.awaitMerge(keeping: "a2V5", version: "v1")
        #expect(operation.status == .inProgress && operation.material == "a2V5" && operation.keyVersion == "v1")
        #expect(operation.statusDetails == "Pending certificate created. Please Perform Merge to complete the request.")
    }

    @Test func completingNamesTheVersionAndForgetsTheKey() throws {
        var operation = Self.started()
        try operation.awaitMerge(keeping: "a2V5", version: "v1")
        try operation.complete(version: "v2")
        #expect(operation.status == .completed && operation.targetVersion == "v2")
        #expect(operation.material == nil && operation.statusDetails == nil && operation.errorCode == nil)
    }

    @Test func failingKeepsTheIssuersError() throws {
        var operation = Self.started()
        try operation.fail(code: "CertificateIssuerDisabled", message: "The issuer x is disabled.")
        #expect(operation.status == .failed && operation.targetVersion == nil)
        #expect(operation.errorCode == "CertificateIssuerDisabled" && operation.errorMessage == "The issuer x is disabled.")
    }

    @Test func cancellingRecordsTheRequestAndForgetsTheKey() throws {
        var operation = Self.started()
        try operation.awaitMerge(keeping: "a2V5", version: "v1")
        try operation.cancel()
        #expect(operation.status == .cancelled && operation.cancellationRequested && operation.material == nil)
        #expect(operation.statusDetails == "The certificate operation was cancelled.")
    }

    @Test(arguments: [CertificateOperationStatus.completed, .failed, .cancelled])
    func aFinishedOperationNeverChangesAgain(_ finished: CertificateOperationStatus) throws {
        var operation = Self.started()
        switch finished {
        case .completed: try operation.complete(version: "v1")
        case .failed: try operation.fail(code: "CertificateIssuerError", message: "no CA")
        case .cancelled: try operation.cancel()
        case .inProgress: Issue.record("not a finished status")
        }
        let settled = operation
        for (name, transition) in Self.transitions {
            #expect(throws: CoffreError.self, "\(name) after \(finished)") { try transition(&operation) }
            #expect(operation == settled, "\(name) after \(finished)")
        }
        #expect {
            try operation.cancel()
        } throws: { error in
            error as? CoffreError
                == .badParameter("The certificate operation is \(finished.rawValue): only an operation in progress can be cancelled.")
        }
    }

    @Test func theStoredFormKeepsTheStatusString() throws {
        var operation = Self.started()
        try operation.complete(version: "v2")
        let stored = try JSONEncoder().encode(operation)
        #expect(String(decoding: stored, as: UTF8.self).contains(#""status":"completed""#))
        #expect(try JSONDecoder().decode(PendingCertificate.self, from: stored) == operation)
    }
}
