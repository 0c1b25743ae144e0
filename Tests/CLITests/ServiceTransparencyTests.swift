import Foundation
import Testing

/// The independent tiles client (tools/tiles-check, Go, against Debian's golang-golang-x-mod-dev).
enum TilesChecker {
    static let binary: String? = {
        guard GoChecker.unavailable == nil else { return nil }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tiles-check-\(UUID().uuidString)").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["GO111MODULE=off", "GOPATH=/usr/share/gocode", "GOFLAGS=", "GOCACHE=" + NSTemporaryDirectory() + "/c2sp-gocache",
                       "go", "build", "-o", out, "./tools/tiles-check"]
        p.currentDirectoryURL = CLI.packageRoot
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? out : nil
    }()

    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        try runTool(args, executable: try #require(binary, "tools/tiles-check did not build"))
    }
}

@Suite("ledger serve: checkpoint, tiles, proofs", .serialized)
struct ServiceTransparencyTests {
    @Test("a standard tlog-tiles client (Go x/mod tlog) verifies the checkpoint, rebuilds the root from the tiles and proves every entry",
          .enabled(if: GoChecker.unavailable == nil, "needs Go and golang.org/x/mod (tools/test installs them)"))
    func tilesReadBackByATilesClient() throws {
        // 9 fixture events and 300 calls: a full level-0 tile, a partial one, and a partial level-1 tile.
        let fx = try ServiceFixture(lines: Fixture.good + (0..<300).map { ServiceTests.opening($0) })
        let key = fx.dir.url.appendingPathComponent("ledger.vkey").path
        try CLI.run(["--ledger", fx.dir.ledger, "key"]).stdout.write(toFile: key, atomically: true, encoding: .utf8)
        let server = try fx.start()
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)"
        let checked = try TilesChecker.run(["-key", key, "-token", try #require(fx.tokens["auditor"]), url])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("ok 309"))
        // The same, after more appends (the partial tiles grew).
        #expect(try ServiceTests.post(server.port, (300..<310).map { ServiceTests.opening($0) }, token: fx.tokens["writer"]).status == 200)
        #expect(try TilesChecker.run(["-key", key, "-token", fx.tokens["auditor"]!, url]).output.contains("ok 319"))
        // A key that is not the ledger's: the checkpoint does not verify.
        let other = try ServiceFixture()
        let otherKey = other.dir.url.appendingPathComponent("other.vkey").path
        try CLI.run(["--ledger", other.dir.ledger, "key"]).stdout.write(toFile: otherKey, atomically: true, encoding: .utf8)
        #expect(try TilesChecker.run(["-key", otherKey, url]).status == 4)
        // Entry tiles need a reading token; hash tiles and the checkpoint are public.
        #expect(try HTTP.request(server.port, "GET", "/tile/entries/000").status == 401)
        let tile = try HTTP.request(server.port, "GET", "/tile/0/000")
        #expect(tile.status == 200 && tile.body.count == 256 * 32 && tile.headers["content-type"] == "application/octet-stream")
        #expect(try HTTP.request(server.port, "GET", "/tile/0/001.p/63").body.count == 63 * 32)
        #expect(try HTTP.request(server.port, "GET", "/tile/0/005").status == 404, "beyond the tree")
        #expect(try HTTP.request(server.port, "GET", "/tile/0/1").status == 404, "not the one spelling of N")
    }

    @Test("GET /checkpoint is the ledger's checkpoint; /v1/proofs answers as ledger prove, and verifies")
    func checkpointAndProofs() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let checkpoint = try HTTP.request(server.port, "GET", "/checkpoint")
        #expect(checkpoint.status == 200 && checkpoint.headers["content-type"]?.hasPrefix("text/plain") == true)
        let file = fx.dir.url.appendingPathComponent("head.txt").path
        try checkpoint.text.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["--ledger", fx.dir.ledger, "verify", "--checkpoint", file]).status == 0)
        #expect(checkpoint.text.split(separator: "\n")[1] == "\(Fixture.good.count)")
        for (query, args) in [("seq=3", ["--seq", "3"]), ("ticket=T-1", ["--ticket", "T-1"]), ("range=2..5", ["--range", "2..5"]),
                              ("consistency=4", ["--consistency", "4"])] {
            let r = try HTTP.request(server.port, "GET", "/v1/proofs?\(query)", token: fx.tokens["auditor"])
            #expect(r.status == 200, "\(query): \(r.text)")
            let proof = fx.dir.url.appendingPathComponent("proof.json").path
            try r.text.write(toFile: proof, atomically: true, encoding: .utf8)
            #expect(try CLI.run(["--ledger", fx.dir.ledger, "verify", "--proof", proof]).status == 0, "\(query) verifies")
            _ = args
        }
        #expect(try HTTP.request(server.port, "GET", "/v1/proofs?seq=99", token: fx.tokens["auditor"]).status == 404)
        #expect(try HTTP.request(server.port, "GET", "/v1/proofs?seq=1&ticket=T-1", token: fx.tokens["auditor"]).status == 400)
        #expect(try HTTP.request(server.port, "GET", "/v1/proofs?seq=1", token: fx.tokens["writer"]).status == 403)
    }
}

@Suite("ledger serve: compliance", .serialized)
struct ServiceComplianceTests {
    @Test("hold, erase and reveal over HTTP act as the token's staff id and follow the rules of ledger hold and erase")
    func holdEraseReveal() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let co = fx.tokens["compliance"]
        #expect(try HTTP.request(server.port, "POST", "/v1/customers/c-1/holds?action=place&matter=M-1", token: fx.tokens["auditor"]).status == 403)
        #expect(try HTTP.request(server.port, "POST", "/v1/customers/c-1/holds?action=place&matter=M-1", token: co).status == 200)
        let held = try HTTP.request(server.port, "POST", "/v1/customers/c-1/erase", token: co)
        #expect(held.status == 422 && held.text.contains("\"rule\":\"legalHold\""), "no erasure under a hold: \(held.text)")
        #expect(try HTTP.request(server.port, "POST", "/v1/customers/c-1/holds?action=release&matter=M-1", token: co).status == 200)
        let noHold = try HTTP.request(server.port, "POST", "/v1/customers/c-1/holds?action=release&matter=M-1", token: co)
        #expect(noHold.status == 422 && noHold.text.contains("noLegalHold"))
        #expect(try HTTP.request(server.port, "POST", "/v1/customers/c-1/erase?reason=request", token: co).status == 200)
        let revealed = try HTTP.request(server.port, "GET", "/v1/tickets/T-1?reveal=true&purpose=check", token: co)
        #expect(revealed.status == 200 && !revealed.text.contains("Ann Customer") && revealed.text.contains("[erased]"))
        let audit = try CLI.run(["--ledger", fx.dir.ledger, "audit", "--format", "jsonl"]).stdout
        #expect(audit.contains("\"actor\":\"dir-1\""), "the operator is the token's staff id")
        let metrics = try HTTP.request(server.port, "GET", "/metrics", token: fx.tokens["auditor"])
        #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        for name in ["ledger_events_appended_total 3", "ledger_events_refused_total{rule=\"legalHold\"} 1",
                     "ledger_events_refused_total{rule=\"noLegalHold\"} 1", "ledger_commits_total", "ledger_projection_lag_events",
                     "ledger_log_last_seq", "ledger_log_bytes", "ledger_http_request_duration_seconds_bucket"] {
            #expect(metrics.text.contains(name), "metrics carry \(name)")
        }
        #expect(try HTTP.request(server.port, "GET", "/metrics").status == 401)
    }
}
