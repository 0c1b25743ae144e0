import Foundation
import Testing

@Suite("ledger demo")
struct DemoTests {
    @Test("a small demo exits 0, prints its summary, and leaves a ledger the queries can read")
    func smallDemo() throws {
        let dir = try TemporaryDirectory()
        let path = dir.url.appendingPathComponent("demo.ledger").path
        let r = try CLI.run(["demo", "--calls", "200", "--seed", "7", "--ledger", path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        for section in ["Volumes", "Refused lines by rule", "Outcomes", "Findings by kind",
                        "Costliest escalation sources", "Chain verified", "Try next"] {
            #expect(r.stdout.contains(section), "the summary has \(section)")
        }
        #expect(r.stdout.contains("every refusal matched the simulator's intent"))
        #expect(r.stdout.contains("de-escalators"))

        let verify = try JSONCheck.object(try CLI.run(["--ledger", path, "verify", "--json"]).json())
        #expect(verify["ok"] as? Bool == true)
        let stats = try JSONCheck.object(try CLI.run(["--ledger", path, "stats", "--json"]).json())
        #expect((stats["events"] as? Int ?? 0) > 200)
        #expect(stats["projectionCheckpoint"] as? Int == stats["lastSeq"] as? Int)

        let again = try CLI.run(["demo", "--calls", "200", "--seed", "7", "--ledger", path])
        #expect(again.status == 1, "a second demo into the same directory needs --force")
        #expect(again.stderr.contains("--force"))
        let forced = try CLI.run(["demo", "--calls", "200", "--seed", "7", "--ledger", path, "--force"])
        #expect(forced.status == 0)
        let head = try JSONCheck.object(try CLI.run(["--ledger", path, "stats", "--json"]).json())
        #expect(head["events"] as? Int == stats["events"] as? Int, "the same seed gives the same events")
    }

    @Test("--lines-out writes the simulation's lines, the same for the same seed, and the demo's ledger is what importing them gives")
    func linesOut() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("calls.jsonl").path
        let r = try CLI.run(["demo", "--calls", "150", "--seed", "9", "--lines-out", file])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("demo.ledger").path), "no ledger is made")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let lines = bytes.split(separator: 0x0A)
        #expect(lines.count > 150 && bytes.last == 0x0A)
        let again = dir.url.appendingPathComponent("again.jsonl").path
        #expect(try CLI.run(["demo", "--calls", "150", "--seed", "9", "--lines-out", again]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == bytes, "the same seed gives the same bytes")
        // Importing them gives the demo's ledger: the same events appended, the same deliberate refusals.
        let imported = dir.url.appendingPathComponent("imported.ledger").path
        let report = try JSONCheck.object(try CLI.run(["--ledger", imported, "import", file, "--json"]).json())
        let demo = dir.url.appendingPathComponent("demo2.ledger").path
        #expect(try CLI.run(["demo", "--calls", "150", "--seed", "9", "--ledger", demo]).status == 0)
        let stats = try JSONCheck.object(try CLI.run(["--ledger", demo, "stats", "--json"]).json())
        #expect(report["appended"] as? Int == stats["events"] as? Int)
        #expect(((report["refused"] as? [Any])?.count ?? 0) > 0)
    }

    @Test("--force never removes a directory that holds no ledger")
    func forceOnlyReplacesLedgers() throws {
        let dir = try TemporaryDirectory()
        let precious = try dir.file("precious.txt", ["keep me"])
        let r = try CLI.run(["demo", "--calls", "10", "--ledger", dir.url.path, "--force"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("holds no ledger"))
        #expect(FileManager.default.fileExists(atPath: precious))
    }
}
