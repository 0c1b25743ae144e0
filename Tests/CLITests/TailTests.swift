import Foundation
import Testing

@Suite("ledger tail")
struct TailTests {
    @Test("tail prints events.jsonl lines: the whole log equals an export's lines; --after/--limit pages join to it; exit 5 past the head")
    func pagesJoinToTheWhole() throws {
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("good.jsonl", Fixture.good)]).status == 0)
        let whole = try CLI.run(["--ledger", dir.ledger, "tail"])
        #expect(whole.status == 0)
        let lines = whole.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == Fixture.good.count)
        let out = dir.url.appendingPathComponent("b").path
        #expect(try CLI.run(["--ledger", dir.ledger, "export", "--out", out, "--operator", "dir-1", "--purpose", "audit"]).status == 0)
        #expect(try String(contentsOfFile: out + "/events.jsonl", encoding: .utf8) == whole.stdout, "the same bytes as a contiguous export")
        var joined: [String] = []
        var after = 0
        while true {
            let page = try CLI.run(["--ledger", dir.ledger, "tail", "--after", String(after), "--limit", "3"]).stdout
            let got = page.split(separator: "\n").map(String.init)
            if got.isEmpty { break }
            joined += got
            let last = try #require(try JSONSerialization.jsonObject(with: Data(got.last!.utf8)) as? [String: Any])
            after = try #require(last["seq"] as? Int)
        }
        #expect(Array(joined.prefix(lines.count)) == lines && joined.count == lines.count + 2, "pages join to the whole (plus personalDataRevealed and exportMade)")
        #expect(try CLI.run(["--ledger", dir.ledger, "tail", "--after", "1000"]).status == 5)
        #expect(try CLI.run(["--ledger", dir.url.appendingPathComponent("none").path, "tail"]).status == 5)
    }

    @Test("tail --follow prints events committed by another process, as they commit")
    func followSeesNewEvents() throws {
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("org.jsonl", Fixture.organisation)]).status == 0)
        let p = Process()
        p.executableURL = try #require(CLI.binary)
        p.arguments = ["--ledger", dir.ledger, "tail", "--after", String(Fixture.organisation.count), "--follow"]
        let outPath = dir.url.appendingPathComponent("tail.out").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        p.standardOutput = try #require(FileHandle(forWritingAtPath: outPath))
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)  // tail is now waiting for new events
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("opened.jsonl", Fixture.opened)]).status == 0)
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(try CLI.run(["--ledger", dir.ledger, "stats", "--json"]).stdout.utf8)) as? [String: Any])
        let last = try #require(stats["lastSeq"] as? Int)
        #expect(last > Fixture.organisation.count)
        var seqs: [Int] = []
        let deadline = Date().addingTimeInterval(20)
        while seqs.last != last, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            seqs = text.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"] as? Int }
        }
        #expect(seqs == Array((Fixture.organisation.count + 1)...last), "\(seqs)")
    }
}
