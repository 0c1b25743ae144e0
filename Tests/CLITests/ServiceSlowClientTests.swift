import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Clients that ask for a large streamed answer and stop reading hold the thread that writes it
/// (it waits while the answer's chunks are unread); they must not hold back anyone else
/// (docs/DECISIONS.md, "Running out of memory or address space"; Blocking.swift).
@Suite(.serialized) struct ServiceSlowClientTests {
    @Test("sixteen clients that stop reading a whole audit trail do not hold back a seventeenth request")
    func clientsThatStopReadingHoldNoOneBack() throws {
        let dir = try TemporaryDirectory()
        // A ledger whose whole audit trail is far larger than the socket buffers and the answer's
        // chunks in flight, so that each producer ends up waiting for its client.
        let demo = try CLI.run(["--ledger", dir.ledger, "demo", "--calls", "20000"])
        #expect(demo.status == 0, "\(demo.stderr)")
        let created = try CLI.run(["--ledger", dir.ledger, "token", "create", "--role", "auditor", "--name", "slow", "--json"])
        let token = try #require(try JSONCheck.object(try created.json())["token"] as? String)
        let server = try ServerProcess(ledger: dir.ledger, logDirectory: dir.url)
        defer { server.stop() }
        var stalled: [Int32] = []
        defer { for fd in stalled { close(fd) } }
        for _ in 0..<16 {
            let fd = try HTTP.connect(server.port)
            try HTTP.send(fd, HTTP.head("GET", "/v1/audit?format=jsonl", headers: ["Authorization": "Bearer \(token)"], bodyLength: nil))
            // Read the head and a little of the body, then stop reading.
            var buffer = [UInt8](repeating: 0, count: 4096)
            #expect(recv(fd, &buffer, buffer.count, 0) > 0)
            stalled.append(fd)
        }
        // Each of those answers is now stuck on its client. A seventeenth request is answered
        // (in 17–39 ms here; the bound is for a loaded machine).
        let start = Date()
        let health = try HTTP.request(server.port, "GET", "/healthz")
        let ticket = try HTTP.request(server.port, "GET", "/v1/tickets/T-0000001?format=json", token: token)
        let waited = Date().timeIntervalSince(start)
        #expect(health.status == 200 && ticket.status == 200, "\(health.status) \(ticket.status) \(ticket.text)")
        #expect(waited < 8, "two short requests took \(waited) s while sixteen clients stalled")
    }
}
