import Foundation
import Testing

@Suite("ledger serve: export over HTTP", .serialized)
struct ServiceExportTests {
    /// The last event of a ledger, as `ledger tail` prints it, without its id and times.
    static func lastEvent(_ ledger: String) throws -> [String: Any] {
        let lines = try CLI.run(["--ledger", ledger, "tail"]).stdout.split(separator: "\n")
        var event = try JSONCheck.object(try JSONSerialization.jsonObject(with: Data(try #require(lines.last).utf8)))["event"] as? [String: Any] ?? [:]
        event["id"] = nil; event["at"] = nil
        return event
    }

    @Test("POST /v1/exports streams the bundle as a tar that the system tar unpacks and `ledger verify --bundle` accepts; recorded as the command records it")
    func exportArchive() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let scratch = fx.dir.url.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let server = try fx.start(environment: ["TMPDIR": scratch.path])
        defer { server.stop() }
        let path = "/v1/exports?purpose=annual%20audit&ticket=T-1"
        let r = try HTTP.request(server.port, "POST", path, token: fx.tokens["compliance"])
        #expect(r.status == 200, "\(r.text.prefix(300))")
        #expect(r.headers["content-type"] == "application/x-tar")
        let seq = try #require(r.headers["ledger-export-seq"])
        #expect(r.headers["content-disposition"] == "attachment; filename=\"ledger-export-\(seq).tar\"")
        #expect(r.body.count % 512 == 0 && r.body.count >= 3 * 512, "whole tar blocks")
        let archive = fx.dir.url.appendingPathComponent("bundle.tar")
        try Data(r.body).write(to: archive)
        let unpacked = fx.dir.url.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let listing = try runTool(["tar", "-tvf", archive.path])
        #expect(listing.status == 0, "\(listing.output)")
        let untar = try runTool(["tar", "-xf", archive.path, "-C", unpacked.path])
        #expect(untar.status == 0, "\(untar.output)")
        let bundle = unpacked.appendingPathComponent("ledger-export-\(seq)")
        let files = try FileManager.default.contentsOfDirectory(atPath: bundle.path).sorted()
        #expect(files == ["checkpoint", "events.csv", "events.jsonl", "manifest.json", "personal.jsonl", "proof.json"])
        let key = fx.dir.url.appendingPathComponent("ledger.vkey")
        try CLI.run(["--ledger", fx.dir.ledger, "key"]).stdout.write(to: key, atomically: true, encoding: .utf8)
        let verify = try CLI.run(["verify", "--bundle", bundle.path, "--public-key", key.path, "--json"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect((try JSONCheck.object(try verify.json()))["ok"] as? Bool == true)
        // Recorded exactly as the command records it: the token's staff id as operator, the selection as the command spells it.
        server.stop()
        let http = try ServiceExportTests.lastEvent(fx.dir.ledger)
        let httpTypes = try ServiceTests.events(fx.dir.ledger).suffix(2).map { $0.split(separator: " ").last! }
        #expect(http["type"] as? String == "exportMade" && http["operator"] as? String == "dir-1")
        #expect(http["filter"] as? String == "--ticket T-1" && http["purpose"] as? String == "annual audit")
        // The command, on the same ledger, with the same selection: the same bundle (but for its checkpoint,
        // now of a longer log, and its manifest) and the same record.
        let byCLI = fx.dir.url.appendingPathComponent("cli-bundle").path
        let c = try CLI.run(["--ledger", fx.dir.ledger, "export", "--out", byCLI, "--ticket", "T-1",
                             "--operator", "dir-1", "--purpose", "annual audit"])
        #expect(c.status == 0, "\(c.stderr)")
        for f in ["events.jsonl", "events.csv", "personal.jsonl"] {
            #expect(FileManager.default.contents(atPath: bundle.path + "/" + f) == FileManager.default.contents(atPath: byCLI + "/" + f), "\(f)")
        }
        let cli = try ServiceExportTests.lastEvent(fx.dir.ledger)
        func canonical(_ o: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try canonical(http) == canonical(cli))
        #expect(try ServiceTests.events(fx.dir.ledger).suffix(2).map { $0.split(separator: " ").last! } == httpTypes)
        #expect(try CLI.run(["--ledger", fx.dir.ledger, "verify"]).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
        #expect(leftovers.isEmpty, "the temporary bundle is removed once sent: \(leftovers)")
    }

    @Test("exports need a compliance or admin token acting as a staff member, and a purpose; refusals are JSON and record nothing")
    func exportRefusals() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let before = try ServiceTests.events(fx.dir.ledger)
        let path = "/v1/exports?purpose=audit"
        #expect(try HTTP.request(server.port, "POST", path).status == 401)
        for role in ["auditor", "writer"] {
            let r = try HTTP.request(server.port, "POST", path, token: fx.tokens[role])
            #expect(r.status == 403 && r.errorKind == "forbidden", "\(role): \(r.status) \(r.text)")
        }
        let cases: [(String, Int, String)] = [
            ("/v1/exports", 400, "badRequest"),                                 // no purpose
            ("/v1/exports?purpose=x&from=yesterday", 400, "badRequest"),
            ("/v1/exports?purpose=x&colour=red", 400, "badRequest"),
            ("/v1/exports?purpose=x&customer=c-404", 404, "notFound"),
        ]
        for (p, status, kind) in cases {
            let r = try HTTP.request(server.port, "POST", p, token: fx.tokens["compliance"])
            #expect(r.status == status && r.errorKind == kind && r.headers["content-type"] == "application/json", "\(p): \(r.status) \(r.text)")
        }
        #expect(try ServiceTests.events(fx.dir.ledger) == before, "nothing recorded by a refused export")
        // An admin token may export too (pseudonymised here).
        let admin = try HTTP.request(server.port, "POST", "/v1/exports?purpose=qa&pseudonymize=true", token: fx.tokens["admin"])
        #expect(admin.status == 200 && admin.headers["content-type"] == "application/x-tar")
    }
}

@Suite("ledger serve: TLS", .serialized)
struct ServiceTLSTests {
    static let toolsMissing = ["openssl", "curl"].contains { ((try? runTool(["which", $0]))?.status ?? 1) != 0 }

    @Test("--tls-cert/--tls-key: a real HTTPS request verified against the certificate succeeds; plain HTTP to the TLS port fails cleanly; the server keeps serving",
          .enabled(if: !toolsMissing, "needs openssl and curl"))
    func https() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let cert = fx.dir.url.appendingPathComponent("cert.pem").path, key = fx.dir.url.appendingPathComponent("key.pem").path
        let gen = try runTool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                               "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                               "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        #expect(gen.status == 0, "\(gen.output)")
        let server = try fx.start(["--tls-cert", cert, "--tls-key", key])
        defer { server.stop() }
        let base = "https://127.0.0.1:\(server.port)"
        func curl(_ path: String, token: String? = nil) throws -> (status: Int32, output: String) {
            try runTool(["curl", "-sS", "--fail-with-body", "--max-time", "20", "--cacert", cert]
                        + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [base + path])
        }
        let health = try curl("/healthz")
        #expect(health.status == 0 && health.output.contains("\"ok\":true"), "\(health.output)")
        let ticket = try curl("/v1/tickets/T-1?format=json", token: fx.tokens["auditor"])
        #expect(ticket.status == 0 && ticket.output.contains("\"ticket\":\"T-1\""), "\(ticket.output)")
        // Without the certificate as a trust anchor, curl refuses the self-signed server: the TLS is real.
        let untrusted = try runTool(["curl", "-sS", "--max-time", "20", base + "/healthz"])
        #expect(untrusted.status != 0, "\(untrusted.output)")
        // Plain HTTP to the TLS port: no HTTP answer, the connection closed (not hung, not served in clear).
        var plain: HTTP.Response?
        do { plain = try HTTP.request(server.port, "GET", "/healthz") } catch {}
        #expect(plain == nil || plain!.status != 200, "plain HTTP must not be served on the TLS port")
        let curlPlain = try runTool(["curl", "-sS", "--max-time", "20", "http://127.0.0.1:\(server.port)/healthz"])
        #expect(curlPlain.status != 0 && !curlPlain.output.contains("\"ok\":true"), "\(curlPlain.output)")
        // And it keeps serving HTTPS.
        #expect(server.process.isRunning)
        let again = try curl("/v1/stats", token: fx.tokens["auditor"])
        #expect(again.status == 0 && again.output.contains("\"lastSeq\""), "\(again.output)")
        #expect(server.stop() == 0, "SIGTERM: a clean exit \(server.log)")
    }
}

@Suite("ledger serve: commit batch metrics", .serialized)
struct ServiceCommitMetricsTests {
    @Test("/metrics: the append requests and events of each group commit as histograms; sequential appends are one commit each")
    func commitBatches() throws {
        let fx = try ServiceFixture()
        let server = try fx.start()
        defer { server.stop() }
        // Three appends one after another: each waits for its own commit, so the two first commits are closed (seen) batches of one request.
        for (i, lines) in [[ServiceTests.opening(1)], [ServiceTests.opening(2), ServiceTests.opening(3)], [ServiceTests.opening(4)]].enumerated() {
            let r = try ServiceTests.post(server.port, lines, token: fx.tokens["writer"])
            #expect(r.status == 200, "append \(i): \(r.text)")
        }
        let text = try HTTP.request(server.port, "GET", "/metrics", token: fx.tokens["auditor"]).text
        let samples = Dictionary(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { return nil }
            return (String(line[..<space]), v)
        }, uniquingKeysWith: { a, _ in a })
        #expect(samples["ledger_commit_batch_requests_count"] == 2, "\(text)")
        #expect(samples["ledger_commit_batch_requests_sum"] == 2)
        #expect(samples["ledger_commit_batch_events_count"] == 2)
        #expect(samples["ledger_commit_batch_events_sum"] == 3, "one event, then two")
        #expect(text.contains("# TYPE ledger_commit_batch_requests histogram"))
    }
}
