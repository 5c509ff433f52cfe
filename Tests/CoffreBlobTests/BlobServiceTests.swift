import CoffreCrypto
import CoffreModel
import CoffreStorage
import Testing

@testable import CoffreBlob

/// The operations of the Blob service through its request-level API, authorised by an account SAS.
@Suite struct BlobServiceTests {
    struct Service {
        let f: BlobFixture
        let token: String

        init() async throws {
            f = try await BlobFixture()
            token = f.fullAccountToken()
        }

        func send(_ method: String, _ path: String, query: String = "", headers: BlobHeaders = [:], body: [UInt8] = []) async -> BlobResponse {
            await f.send(method, path, query: query, token: token, headers: headers, body: body)
        }

        func put(_ path: String, _ body: [UInt8], headers: BlobHeaders = [:]) async -> BlobResponse {
            var all = headers
            all.add("x-ms-blob-type", "BlockBlob")
            return await send("PUT", path, headers: all, body: body)
        }

        func createContainer(_ name: String = "box") async {
            #expect(await send("PUT", "/\(name)", query: "restype=container").status == 201)
        }

        func listing(_ path: String, _ query: String) async throws -> XMLElement {
            let response = await send("GET", path, query: query)
            #expect(response.status == 200)
            return XMLElement.parse(try await response.body.collect())!
        }
    }

    @Test func containersAreCreatedListedDescribedAndDeleted() async throws {
        let s = try await Service()
        let created = await s.send("PUT", "/box", query: "restype=container", headers: ["x-ms-meta-Owner": "me"])
        #expect(created.status == 201)
        #expect(created.header("ETag")?.hasPrefix("\"0x8D") == true)
        #expect(await s.send("PUT", "/box", query: "restype=container").errorCode == "ContainerAlreadyExists")
        #expect(await s.send("PUT", "/Box", query: "restype=container").errorCode == "InvalidResourceName")
        #expect(await s.send("PUT", "/a--b", query: "restype=container").errorCode == "InvalidResourceName")
        #expect(await s.send("PUT", "/ab", query: "restype=container").errorCode == "OutOfRangeInput")
        #expect(await s.send("PUT", "/pub", query: "restype=container", headers: ["x-ms-blob-public-access": "blob"]).status == 409)
        let properties = await s.send("HEAD", "/box", query: "restype=container")
        #expect(properties.status == 200)
        #expect(properties.header("x-ms-meta-Owner") == "me")
        #expect(properties.header("ETag") == created.header("ETag"))
        let changed = await s.send("PUT", "/box", query: "restype=container&comp=metadata", headers: ["x-ms-meta-stage": "two"])
        #expect(changed.status == 200)
        #expect(changed.header("ETag") != created.header("ETag"))
        #expect(await s.send("GET", "/box", query: "restype=container").header("x-ms-meta-stage") == "two")
        for name in ["alpha", "beta", "gamma"] { await s.createContainer(name) }
        let first = try await s.listing("/", "comp=list&maxresults=2&include=metadata")
        #expect(first.child("Containers")?.children("Container").map { $0.child("Name")?.text } == ["alpha", "beta"])
        let marker = try #require(first.child("NextMarker")?.text)
        let second = try await s.listing("/", "comp=list&maxresults=2&marker=\(marker)")
        #expect(second.child("Containers")?.children("Container").map { $0.child("Name")?.text } == ["box", "gamma"])
        #expect(second.child("NextMarker")?.text == "")
        let prefixed = try await s.listing("/", "comp=list&prefix=b&include=metadata")
        #expect(prefixed.child("Containers")?.children("Container").map { $0.child("Metadata")?.child("stage")?.text } == [nil, "two"])
        #expect(await s.send("DELETE", "/box", query: "restype=container").status == 202)
        #expect(await s.send("GET", "/box", query: "restype=container").errorCode == "ContainerNotFound")
        #expect(await s.send("HEAD", "/box", query: "restype=container").body.length == 0)
    }

    @Test func blobsAreWrittenReadDescribedAndDeleted() async throws {
        let s = try await Service()
        await s.createContainer()
        let content = Array("hello, blob".utf8)
        let put = await s.put(
            "/box/dir/hello.txt", content,
            headers: ["x-ms-blob-content-type": "text/plain", "x-ms-meta-Kind": "greeting", "x-ms-blob-cache-control": "no-cache"])
        #expect(put.status == 201)
        #expect(put.header("Content-MD5") == Base64.standardEncoded(Digest.md5(content)))
        let get = await s.send("GET", "/box/dir/hello.txt")
        #expect(get.status == 200)
        #expect(try await get.body.collect() == content)
        #expect(get.header("Content-Type") == "text/plain")
        #expect(get.header("Cache-Control") == "no-cache")
        #expect(get.header("x-ms-meta-Kind") == "greeting")
        #expect(get.header("Content-MD5") == put.header("Content-MD5"))
        #expect(get.header("ETag") == put.header("ETag"))
        let head = await s.send("HEAD", "/box/dir/hello.txt")
        #expect(head.header("Content-Length") == String(content.count))
        #expect(head.body.length == 0)
        let range = await s.send("GET", "/box/dir/hello.txt", headers: ["x-ms-range": "bytes=7-", "x-ms-range-get-content-md5": "true"])
        #expect(range.status == 206)
        #expect(try await range.text == "blob")
        #expect(range.header("Content-Range") == "bytes 7-10/11")
        #expect(range.header("Content-MD5") == Base64.standardEncoded(Digest.md5(Array("blob".utf8))))
        #expect(await s.send("GET", "/box/dir/hello.txt", headers: ["x-ms-range": "bytes=11-20"]).status == 416)
        #expect(await s.send("GET", "/box/dir/hello.txt", headers: ["x-ms-range": "bytes=x"]).errorCode == "InvalidHeaderValue")
        let huge = await s.send("GET", "/box/dir/hello.txt", headers: ["x-ms-range": "bytes=7-\(Int.max)"])
        #expect(try await huge.text == "blob")
        #expect(await s.send("GET", "/box/dir/hello.txt", headers: ["If-Modified-Since": "Mon, 07 Dec 99999999999999999 15:15:39 GMT"]).status == 200)
        let metadata = await s.send("PUT", "/box/dir/hello.txt", query: "comp=metadata", headers: ["x-ms-meta-new": "1"])
        #expect(metadata.status == 200)
        #expect(await s.send("HEAD", "/box/dir/hello.txt").header("x-ms-meta-new") == "1")
        #expect(await s.send("HEAD", "/box/dir/hello.txt").header("x-ms-meta-Kind") == nil)
        #expect(await s.send("PUT", "/box/dir/hello.txt", query: "comp=properties", headers: ["x-ms-blob-content-type": "a/b"]).status == 200)
        let described = await s.send("HEAD", "/box/dir/hello.txt")
        #expect(described.header("Content-Type") == "a/b")
        #expect(described.header("Cache-Control") == nil)
        #expect(await s.send("DELETE", "/box/dir/hello.txt").status == 202)
        #expect(await s.send("GET", "/box/dir/hello.txt").errorCode == "BlobNotFound")
        #expect(await s.send("GET", "/nobox/hello.txt").errorCode == "ContainerNotFound")
        #expect(await s.send("DELETE", "/box/dir/hello.txt").errorCode == "BlobNotFound")
    }

    @Test func anEmptyBlobAnswersARangeWith416AndAWholeReadWithNothing() async throws {
        let s = try await Service()
        await s.createContainer()
        #expect(await s.put("/box/empty", []).status == 201)
        #expect(await s.send("GET", "/box/empty", headers: ["x-ms-range": "bytes=0-33554431"]).errorCode == "InvalidRange")
        let whole = await s.send("GET", "/box/empty")
        #expect(whole.status == 200)
        #expect(try await whole.body.collect().isEmpty)
    }

    @Test func conditionalHeadersAreHonoured() async throws {
        let s = try await Service()
        await s.createContainer()
        let first = await s.put("/box/b", [1])
        let etag = try #require(first.header("ETag"))
        #expect(await s.put("/box/b", [2], headers: ["If-None-Match": "*"]).errorCode == "BlobAlreadyExists")
        #expect(await s.put("/box/b", [2], headers: ["If-Match": "\"0x8D0000000000000\""]).errorCode == "ConditionNotMet")
        #expect(await s.put("/box/new", [2], headers: ["If-Match": "*"]).errorCode == "ConditionNotMet")
        #expect(await s.send("GET", "/box/b", headers: ["If-None-Match": etag]).status == 304)
        let modified = StorageDate.rfc1123(s.f.clock.now)
        #expect(await s.send("GET", "/box/b", headers: ["If-Modified-Since": modified]).status == 304)
        #expect(await s.send("GET", "/box/b", headers: ["If-Unmodified-Since": StorageDate.rfc1123(s.f.clock.now - 10)]).status == 412)
        #expect(await s.send("GET", "/box/b", headers: ["If-Match": etag]).status == 200)
        #expect(await s.send("GET", "/box/b", headers: ["x-ms-lease-id": "a"]).errorCode == "LeaseNotPresentWithBlobOperation")
        let second = await s.put("/box/b", [3], headers: ["If-Match": etag])
        #expect(second.status == 201)
        #expect(await s.send("DELETE", "/box/b", headers: ["If-Match": etag]).errorCode == "ConditionNotMet")
        #expect(await s.send("DELETE", "/box/b", headers: ["If-Match": second.header("ETag")!]).status == 202)
        #expect(await s.send("DELETE", "/box", query: "restype=container", headers: ["If-Unmodified-Since": StorageDate.rfc1123(0)]).status == 412)
    }

    @Test func checksumsAndLimitsAreChecked() async throws {
        let s = try await Service()
        await s.createContainer()
        let mismatch = await s.put("/box/b", [1, 2], headers: ["Content-MD5": Base64.standardEncoded(Digest.md5([9]))])
        #expect(mismatch.errorCode == "Md5Mismatch")
        #expect(await s.send("GET", "/box/b").errorCode == "BlobNotFound")
        #expect(await s.send("PUT", "/box/b", body: [1]).errorCode == "MissingRequiredHeader")
        #expect(await s.put("/box/b", [1], headers: ["x-ms-blob-type": "PageBlob"]).errorCode == "InvalidHeaderValue")
        #expect(await s.put("/box/b", [1], headers: ["x-ms-meta-1bad": "v"]).errorCode == "InvalidMetadata")
        #expect(await s.put("/box/b", [1], headers: ["x-ms-meta-big": String(repeating: "v", count: 9000)]).errorCode == "MetadataTooLarge")
        var tooLarge = BlobRequest(
            method: "PUT", account: s.f.vectors.account, path: "/box/big", query: s.token, headers: ["x-ms-blob-type": "BlockBlob"])
        tooLarge.bodyExceedsLimit = true
        let refused = await s.f.service.handle(tooLarge)
        #expect(refused.status == 413)
        #expect(XMLElement.parse(try await refused.body.collect())?.child("MaxLimit")?.text == String(BlobService.maximumRequestBody))
        #expect(await s.send("GET", "/box", query: "restype=container&comp=list&maxresults=0").errorCode == "OutOfRangeQueryParameterValue")
        #expect(await s.send("GET", "/box", query: "restype=container&comp=list&include=bogus").errorCode == "InvalidQueryParameterValue")
        #expect(await s.send("GET", "/box", query: "restype=container&comp=list&marker=%21%21").errorCode == "InvalidQueryParameterValue")
        #expect(await s.send("GET", "/box/b", query: "comp=bogus").errorCode == "InvalidQueryParameterValue")
        #expect(await s.send("POST", "/box/b").status == 405)
        #expect(await s.send("GET", "/box/b", headers: ["x-ms-version": "latest"]).errorCode == "InvalidHeaderValue")
        let headError = await s.send("HEAD", "/box/missing")
        #expect(headError.status == 404)
        #expect(headError.errorCode == "BlobNotFound")
        #expect(headError.body.length == 0)
    }

    @Test func blocksAreStagedCommittedAndReplaced() async throws {
        let s = try await Service()
        await s.createContainer()
        let ids = ["AAAA", "AAAB", "AAAC"].map { Base64.standardEncoded(Array($0.utf8)) }
        for (id, text) in zip(ids, ["one-", "two-", "three"]) {
            let staged = await s.send(
                "PUT", "/box/blocks", query: "comp=block&blockid=\(PercentEncoding.encode(id, keepingSlash: false))", body: Array(text.utf8))
            #expect(staged.status == 201)
        }
        #expect(await s.send("GET", "/box/blocks").errorCode == "BlobNotFound")
        let uncommitted = try await s.listing("/box/blocks", "comp=blocklist&blocklisttype=all")
        #expect(uncommitted.child("UncommittedBlocks")?.children("Block").count == 3)
        let listed = try await s.listing("/box", "restype=container&comp=list&include=uncommittedblobs")
        #expect(listed.child("Blobs")?.children("Blob").count == 1)
        #expect(try await s.listing("/box", "restype=container&comp=list").child("Blobs")?.children.isEmpty == true)

        let list = "<?xml version='1.0' encoding='utf-8'?>\n<BlockList><Latest>\(ids[2])</Latest><Uncommitted>\(ids[0])</Uncommitted></BlockList>"
        let committed = await s.send(
            "PUT", "/box/blocks", query: "comp=blocklist", headers: ["x-ms-blob-content-type": "text/plain"], body: Array(list.utf8))
        #expect(committed.status == 201)
        #expect(try await s.send("GET", "/box/blocks").text == "threeone-")
        let blockList = try await s.listing("/box/blocks", "comp=blocklist&blocklisttype=all")
        #expect(blockList.child("CommittedBlocks")?.children("Block").map { $0.child("Name")?.text } == [ids[2], ids[0]])
        #expect(blockList.child("UncommittedBlocks")?.children.isEmpty == true)

        let reorder = "<BlockList><Committed>\(ids[0])</Committed><Committed>\(ids[0])</Committed></BlockList>"
        #expect(await s.send("PUT", "/box/blocks", query: "comp=blocklist", body: Array(reorder.utf8)).status == 201)
        #expect(try await s.send("GET", "/box/blocks").text == "one-one-")
        let missing = "<BlockList><Committed>\(ids[2])</Committed></BlockList>"
        #expect(await s.send("PUT", "/box/blocks", query: "comp=blocklist", body: Array(missing.utf8)).errorCode == "InvalidBlockList")
        #expect(await s.send("PUT", "/box/blocks", query: "comp=blocklist", body: Array("<Nope/>".utf8)).errorCode == "InvalidXmlDocument")
        #expect(await s.send("PUT", "/box/blocks", query: "comp=block&blockid=%21%21", body: [1]).errorCode == "InvalidBlockId")
        let longer = Base64.standardEncoded(Array("AAAAA".utf8))
        #expect(await s.send("PUT", "/box/blocks", query: "comp=block&blockid=\(longer)", body: [1]).errorCode == "InvalidBlobOrBlock")
        #expect(await s.send("PUT", "/box/blocks", body: [1]).errorCode == "MissingRequiredHeader")

        // Only the content of the committed blocks remains stored.
        let dataKeys = try await s.f.raw.scanKeys(prefix: "blob/\(s.f.vectors.account)/d/box/", after: nil, limit: 100)
        #expect(dataKeys.count == 1)
        #expect(try await s.f.raw.scanKeys(prefix: "blob/\(s.f.vectors.account)/u/", after: nil, limit: 100).isEmpty)
    }

    @Test func largeBlobsAreChunkedAndRangesCrossChunksAndBlocks() async throws {
        let s = try await Service()
        await s.createContainer()
        let size = BlobStore.chunkSize * 2 + 12_345
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        #expect(await s.put("/box/large", content).status == 201)
        #expect(try await s.send("GET", "/box/large").body.collect() == content)
        let start = BlobStore.chunkSize - 100
        let range = await s.send("GET", "/box/large", headers: ["x-ms-range": "bytes=\(start)-\(start + BlobStore.chunkSize)"])
        #expect(try await range.body.collect() == Array(content[start...(start + BlobStore.chunkSize)]))
        let ids = (0..<3).map { Base64.standardEncoded(Array("block-\($0)".utf8)) }
        let parts = [content[0..<10], content[10..<(BlobStore.chunkSize + 20)], content[(BlobStore.chunkSize + 20)...]]
        for (id, part) in zip(ids, parts) {
            #expect(
                await s.send("PUT", "/box/staged", query: "comp=block&blockid=\(PercentEncoding.encode(id, keepingSlash: false))", body: Array(part))
                    .status == 201)
        }
        let list = "<BlockList>" + ids.map { "<Latest>\($0)</Latest>" }.joined() + "</BlockList>"
        #expect(await s.send("PUT", "/box/staged", query: "comp=blocklist", body: Array(list.utf8)).status == 201)
        #expect(try await s.send("GET", "/box/staged").body.collect() == content)
        let across = await s.send("GET", "/box/staged", headers: ["Range": "bytes=5-\(BlobStore.chunkSize + 30)"])
        #expect(try await across.body.collect() == Array(content[5...(BlobStore.chunkSize + 30)]))
        // Ranges inside one block, before and after the others.
        for (start, end) in [(2, 7), (20, 30), (BlobStore.chunkSize + 100, BlobStore.chunkSize + 200), (size - 5, size - 1)] {
            let part = await s.send("GET", "/box/staged", headers: ["x-ms-range": "bytes=\(start)-\(end)"])
            #expect(try await part.body.collect() == Array(content[start...end]))
        }
        // Nothing of the content is stored in the clear.
        let marker = Array(content[1000..<1032])
        for entry in try await s.f.raw.scan(prefix: "", after: nil, limit: 10_000) {
            #expect(entry.value.firstRange(of: marker) == nil)
        }
    }

    @Test func listingsPageRollUpAndFilterByPrefix() async throws {
        let s = try await Service()
        await s.createContainer()
        let names = ["a.txt", "dir/x", "dir/y", "dir/sub/z", "dirt", "déjà/é", "e f", "\u{1}control"]
        for name in names {
            #expect(await s.put("/box/" + PercentEncoding.encode(name, keepingSlash: true), [1], headers: ["x-ms-meta-n": "v"]).status == 201)
        }
        let all = try await s.listing("/box", "restype=container&comp=list")
        let listed = all.child("Blobs")?.children("Blob").map { $0.child("Name")! } ?? []
        #expect(
            listed.map { $0.attributes["Encoded"] == "true" ? PercentEncoding.decode($0.text, plusIsSpace: false)! : $0.text }
                == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(all.child("Blobs")?.children("Blob").first?.child("Metadata") == nil)

        var seen: [String] = []
        var marker = ""
        repeat {
            let page = try await s.listing("/box", "restype=container&comp=list&delimiter=%2F&maxresults=2&include=metadata&marker=\(marker)")
            seen += page.child("Blobs")?.children.map { ($0.name == "BlobPrefix" ? "prefix:" : "") + $0.child("Name")!.text } ?? []
            marker = page.child("NextMarker")?.text ?? ""
        } while !marker.isEmpty
        #expect(seen == ["%01control", "a.txt", "prefix:dir/", "dirt", "prefix:déjà/", "e f"])

        let under = try await s.listing("/box", "restype=container&comp=list&prefix=dir%2F&delimiter=%2F&include=metadata")
        #expect(under.child("Blobs")?.children.map { $0.child("Name")!.text } == ["dir/sub/", "dir/x", "dir/y"])
        #expect(under.child("Blobs")?.children("Blob").first?.child("Metadata")?.child("n")?.text == "v")
        #expect(under.child("Prefix")?.text == "dir/")
        #expect(under.child("Delimiter")?.text == "/")
    }

    @Test func deletingTheContainerOrTheAccountLeavesNothingStored() async throws {
        let s = try await Service()
        await s.createContainer()
        #expect(await s.put("/box/a", [1, 2, 3]).status == 201)
        #expect(await s.send("PUT", "/box/b", query: "comp=block&blockid=QUFBQQ%3D%3D", body: [4]).status == 201)
        let root = "blob/\(s.f.vectors.account)/"
        #expect(try await s.f.raw.scanKeys(prefix: root, after: nil, limit: 100).count == 6)
        #expect(await s.send("DELETE", "/box", query: "restype=container").status == 202)
        #expect(try await s.f.raw.scanKeys(prefix: root, after: nil, limit: 100).isEmpty)
        await s.createContainer()
        #expect(await s.put("/box/a", [1, 2, 3]).status == 201)
        try await s.f.accounts.delete(try StorageAccountName(s.f.vectors.account))
        #expect(try await s.f.raw.scanKeys(prefix: root, after: nil, limit: 100).isEmpty)
        #expect(await s.send("GET", "/box/a").errorCode == "AuthenticationFailed")
    }
}
