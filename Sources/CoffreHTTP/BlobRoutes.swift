import CoffreBlob
import CoffreModel
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Coffre's Blob service at `https://{account}.{blob-zone}:{port}`: every path of a Blob host is one route, answered by
/// `BlobService`, which picks the operation, authenticates the request (Shared Key and SAS sign the operation's own
/// path, query and headers, so the check is the service's: the group's policy authenticates no one) and writes the
/// answer in Azure Storage's shape. The handler only translates the request and the answer.
struct BlobRoutes: Sendable {
    let service: BlobService
    let auditor: Auditor?

    var group: RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: [.blob],
            policy: RoutePolicy(
                authentication: NoAuthentication(), requiresApiVersion: false, maxBodySize: BlobService.maximumRequestBody,
                errors: BlobErrors(service: service), auditor: auditor),
            routes: [HTTPRequest.Method.get, .head, .put, .delete, .post, .patch, .options].map { Route($0, "{path*}", "Blob", serve) },
            admit: { _, _ in })
    }

    @Sendable func serve(_ request: RouteRequest<Void>) async throws -> Response {
        guard case .blob(let account, _) = request.target else { throw CoffreError.badParameter("Not a Blob service host.") }
        var headers = BlobHeaders(request.headers.map { (name: $0.name.rawName, value: $0.value) })
        headers.add("Host", request.incoming.host)
        var blobRequest = BlobRequest(
            method: request.incoming.method.rawValue, account: account, path: request.incoming.path, query: request.incoming.rawQuery,
            headers: headers, body: Array(buffer: request.body), secure: true, clientAddress: request.context.remoteAddress?.ipAddress)
        blobRequest.requestId = request.context.requestId
        let answer = await service.handle(blobRequest)
        request.audit?.note {
            $0.operationName = answer.operation ?? "Blob"
            $0.objectId = "https://\(request.incoming.host)\(request.incoming.path)"
        }
        return Self.response(answer, to: blobRequest.method)
    }

    /// The HTTP response of a Blob answer; a blob's content is streamed from storage as it is written.
    static func response(_ answer: BlobResponse, to method: String) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        let body: ResponseBody
        switch answer.body {
        case .bytes(let bytes):
            body = method == "HEAD" ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        case .content(let content):
            body = ResponseBody(contentLength: content.length) { writer in
                for try await chunk in content { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: body)
    }
}

/// Errors of the Blob group's own stages (a body over the limit, the audit log unavailable), in Azure Storage's XML.
struct BlobErrors: ErrorShape {
    let service: BlobService

    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        var request = BlobRequest(method: "GET", account: "", path: "/")
        request.requestId = logger[metadataKey: "hb.request.id"]?.description
        return BlobRoutes.response(service.refusal(status: Int(error.status.code), to: request), to: "GET")
    }
}
