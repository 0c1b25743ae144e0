import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("ledger serve: feed, log paging, bad requests", .serialized)
struct ServiceFeedTests {
    @Test("the feed catches up from a seq, then delivers live appends in order, and resumes after a dropped connection with nothing lost or repeated")
    func feedCatchesUpFollowsAndResumes() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let token = try #require(fx.tokens["auditor"])
        let tail = try CLI.run(["--ledger", fx.dir.ledger, "tail"]).stdout.split(separator: "\n").map(String.init)
        // History from seq 3 on.
        let feed = try SSEClient(port: server.port, path: "/v1/feed?after=3", token: token)
        var received: [(id: String, data: String)] = []
        for _ in 3..<Fixture.good.count { received.append(try #require(try feed.next())) }
        #expect(feed.status == 200)
        #expect(received.map(\.id) == (4...Fixture.good.count).map(String.init))
        #expect(received.map(\.data) == Array(tail[3...]), "each event's data is its ledger tail line")
        // Live: appends made while the feed is open arrive in order.
        let live = (0..<5).map { ServiceTests.opening($0, prefix: "F") }
        for line in live { #expect(try ServiceTests.post(server.port, [line], token: fx.tokens["writer"]).status == 200) }
        for k in 0..<3 { received.append(try #require(try feed.next(), "live event \(k)")) }
        feed.close()  // dropped mid-stream
        // Reconnect with Last-Event-ID: the rest, nothing repeated, nothing lost.
        let resumed = try SSEClient(port: server.port, path: "/v1/feed", token: token, lastEventID: received.last!.id)
        #expect(try ServiceTests.post(server.port, [ServiceTests.opening(5, prefix: "F")], token: fx.tokens["writer"]).status == 200)
        for k in 0..<3 { received.append(try #require(try resumed.next(), "resumed event \(k)")) }
        resumed.close()
        let ids = received.map { Int($0.id)! }
        #expect(ids == Array(4...(Fixture.good.count + 6)), "every seq once, in order")
        let all = try CLI.run(["--ledger", fx.dir.ledger, "tail"]).stdout.split(separator: "\n").map(String.init)
        #expect(received.map(\.data) == Array(all[3...]))
        // A seq past the head is refused.
        let far = try HTTP.request(server.port, "GET", "/v1/feed?after=999", token: token)
        #expect(far.status == 404 && far.errorKind == "notFound")
    }

    /// A caught-up feed sleeps until the service commits; what another process appends (a
    /// `ledger import` beside the service, which the service's commits never announce) still
    /// reaches it (docs/API.md: within 250 ms; here only that it arrives, and in order).
    @Test("the feed delivers events appended by another process while it waits")
    func feedSeesAnotherProcesssAppends() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let feed = try SSEClient(port: server.port, path: "/v1/feed?after=\(Fixture.good.count)", token: try #require(fx.tokens["auditor"]))
        defer { feed.close() }
        let file = try fx.dir.file("other-process.jsonl", [ServiceTests.opening(0, prefix: "X"), ServiceTests.opening(1, prefix: "X")])
        let imported = try CLI.run(["--ledger", fx.dir.ledger, "import", file])
        #expect(imported.status == 0, "\(imported.stderr)")
        let first = try #require(try feed.next(), "the first event appended by another process")
        let second = try #require(try feed.next(), "the second event appended by another process")
        #expect([first.id, second.id] == [String(Fixture.good.count + 1), String(Fixture.good.count + 2)])
        #expect(first.data.contains("\"X-0\"") && second.data.contains("\"X-1\""), "\(first.data) \(second.data)")
    }

    @Test("GET /v1/log pages join to ledger tail")
    func logPaging() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let whole = try CLI.run(["--ledger", fx.dir.ledger, "tail"]).stdout
        var joined = "", after = 0
        while true {
            let page = try HTTP.request(server.port, "GET", "/v1/log?after=\(after)&limit=4", token: fx.tokens["auditor"])
            #expect(page.status == 200 && page.headers["content-type"] == "application/jsonl")
            if page.body.isEmpty { break }
            joined += page.text
            after += page.text.split(separator: "\n").count
        }
        #expect(joined == whole)
        #expect(try HTTP.request(server.port, "GET", "/v1/log?after=500", token: fx.tokens["auditor"]).status == 404)
    }

    @Test("bad requests (malformed JSON, huge bodies, slow and vanishing clients) are answered cleanly and the service keeps serving")
    func badRequests() throws {
        let fx = try ServiceFixture()
        let server = try fx.start(["--max-body", "4096", "--idle-timeout", "2"])
        defer { server.stop() }
        let writer = try #require(fx.tokens["writer"])
        // Malformed JSON: refused by rule, line and id, nothing appended.
        let bad = try HTTP.request(server.port, "POST", "/v1/events", token: writer, headers: ["Content-Type": "application/json"],
                                   body: Array(#"{"id": "#.utf8))
        #expect(bad.status == 422)
        let refused = try JSONCheck.array(try JSONCheck.object(try bad.json())["refused"])
        #expect((refused.first as? [String: Any])?["rule"] as? String == "schema")
        // Over the limit by Content-Length: 413 at once, before the body is sent.
        let fd = try HTTP.connect(server.port)
        try HTTP.send(fd, HTTP.head("POST", "/v1/events", headers: ["Authorization": "Bearer \(writer)"], bodyLength: 10 << 20))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        close(fd)
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 413"), "413 before the body was read")
        // Over the limit while streaming (chunked, no length): 413 too.
        let chunked = try HTTP.connect(server.port)
        try HTTP.send(chunked, HTTP.head("POST", "/v1/events", headers: ["Authorization": "Bearer \(writer)", "Transfer-Encoding": "chunked"],
                                         bodyLength: nil))
        let piece = [UInt8](repeating: 0x20, count: 3000)
        for _ in 0..<3 { try? HTTP.send(chunked, Array("bb8\r\n".utf8) + piece + [13, 10]) }
        let m = recv(chunked, &buffer, buffer.count, 0)
        close(chunked)
        #expect(m > 0 && String(decoding: buffer[0..<max(m, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 413"))
        // A slow client that sends half a request and stops: closed after the idle timeout.
        let slow = try HTTP.connect(server.port, timeout: 10)
        try HTTP.send(slow, Array("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(writer)\r\nContent-Length: 100\r\n\r\n{\"id\"".utf8))
        let started = Date()
        let s = recv(slow, &buffer, buffer.count, 0)
        close(slow)
        #expect(s <= 0 || String(decoding: buffer[0..<s], as: UTF8.self).hasPrefix("HTTP/1.1 4"), "the stalled connection is closed")
        #expect(Date().timeIntervalSince(started) < 9 && Date().timeIntervalSince(started) > 1, "by the idle timeout (2 s)")
        // A client that vanishes mid-request.
        let gone = try HTTP.connect(server.port)
        try HTTP.send(gone, Array("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{".utf8))
        close(gone)
        // Garbage instead of HTTP.
        let garbage = try HTTP.connect(server.port)
        try HTTP.send(garbage, Array("\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n".utf8))
        _ = recv(garbage, &buffer, buffer.count, 0)
        close(garbage)
        // Still serving, and nothing was appended by any of it.
        let ok = try ServiceTests.post(server.port, [ServiceTests.opening(1)], token: writer)
        #expect(ok.status == 200, "\(ok.text)")
        #expect(try HTTP.request(server.port, "GET", "/healthz").text.contains("\"lastSeq\":\(Fixture.organisation.count + 1)"))
        #expect(try HTTP.request(server.port, "DELETE", "/v1/events", token: writer).status >= 400)
    }
}
