import CoffreHTTP
import CoffreKeyCustody
import HTTPTypes
import Testing

/// Where a key lives, as HTTP says it: one row per custody failure.
@Suite struct CustodyErrorTests {
    @Test func anUnreachableTokenIsA503WithRetryAfterAndWhatAClientGotWrongIsA4xx() {
        let unreachable = ErrorResponse.from(CustodyFailure.unavailable("C_SignInit returned CKR_DEVICE_REMOVED"))
        #expect(unreachable.status == .serviceUnavailable && unreachable.retryAfter == 5 && unreachable.code == "ServiceUnavailable")
        let expected: [(CustodyFailure, Int, String)] = [
            (.moduleUnusable("dlopen failed"), 503, "HSMUnavailable"), (.tokenNotFound(label: "t"), 503, "HSMUnavailable"),
            (.pinIncorrect, 503, "HSMUnavailable"), (.pinLocked, 503, "HSMUnavailable"), (.pinFileUnusable("gone"), 503, "HSMUnavailable"),
            (.noModule, 503, "HSMUnavailable"), (.moduleFailure("C_Sign returned CKR_GENERAL_ERROR"), 500, "HSMFailure"),
            (.keyNotFound(label: "coffre:v/k/1"), 409, "Conflict"), (.notExtractable, 403, "Forbidden"),
            (.operationNotPermitted("x"), 403, "Forbidden"), (.backupKeyMissing(label: "coffre-backup"), 400, "BadParameter"),
            (.backupNotRestorable("x"), 400, "BadParameter"), (.invalidBYOK("x"), 400, "BadParameter"), (.notAKeyExchangeKey, 400, "BadParameter"),
        ]
        for (failure, status, code) in expected {
            let response = ErrorResponse.from(failure)
            #expect(response.status.code == status && response.code == code && response.retryAfter == nil, "\(failure)")
            #expect(response.message == failure.description)
        }
    }
}
