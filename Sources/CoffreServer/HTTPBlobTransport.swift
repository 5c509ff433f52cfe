import AsyncHTTPClient
import CoffreBlob
import NIOCore
import NIOHTTP1

/// The Blob client's transport to a Blob service over the network (Azure Storage, or another Coffre), by AsyncHTTPClient.
public struct HTTPBlobTransport: BlobTransport {
    let client: HTTPClient
    /// The largest response body read (a backup blob's size bounds it).
    let maximumResponse: Int

    public init(client: HTTPClient = .shared, maximumResponse: Int = 1 << 30) {
        self.client = client
        self.maximumResponse = maximumResponse
    }

    public func send(_ request: BlobClientRequest) async throws -> BlobClientResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers where name.lowercased() != "content-length" { outgoing.headers.add(name: name, value: value) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let response = try await client.execute(outgoing, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: maximumResponse)
        return BlobClientResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(body.readableBytesView))
    }
}
