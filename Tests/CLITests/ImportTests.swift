import Foundation
import Testing

@Suite("ledger import")
struct ImportTests {
    @Test("good and bad lines: exit 3, each refusal named on stderr, the good lines appended")
    func importReportsRefusals() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.file("mixed.jsonl", Fixture.mixed)
        let r = try CLI.run(["--ledger", dir.ledger, "import", file])
        #expect(r.status == 3, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("9 appended, 0 duplicates, 4 refused"))
        let refusals = r.stderr.split(separator: "\n").filter { $0.hasPrefix("line ") }
        #expect(refusals.count == 4)
        for (i, bad) in Fixture.bad.enumerated() {
            let line = Fixture.good.count + i + 1
            let reported = try #require(refusals.first { $0.hasPrefix("line \(line): \(bad.rule): ") },
                                        "no refusal of line \(line) by \(bad.rule) in \(r.stderr)")
            if let id = bad.id { #expect(reported.contains("id \(id)")) }
        }
        #expect(r.stderr.contains("field channel"), "the directMessage refusal names its field")
    }

    @Test("--json report: appended, duplicates, refused with line, id, rule, field, message; a re-import counts duplicates")
    func reimportCountsDuplicates() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.file("mixed.jsonl", Fixture.mixed)
        let first = try CLI.run(["--ledger", dir.ledger, "import", file, "--json"])
        #expect(first.status == 3)
        let report = try JSONCheck.object(try first.json())
        #expect(report["appended"] as? Int == 9)
        #expect(report["duplicates"] as? Int == 0)
        let refused = try JSONCheck.array(report["refused"])
        #expect(refused.count == 4)
        for (i, entry) in refused.enumerated() {
            let o = try JSONCheck.object(entry)
            #expect(o["line"] as? Int == Fixture.good.count + i + 1)
            #expect(o["rule"] as? String == Fixture.bad[i].rule)
            #expect(JSONCheck.isString(o["message"]))
            if let id = Fixture.bad[i].id { #expect(o["id"] as? String == id) } else { #expect(JSONCheck.isNull(o["id"])) }
            #expect(JSONCheck.isString(o["field"]) || JSONCheck.isNull(o["field"]))
        }
        #expect(nonEmptyLines(first.stderr).isEmpty, "with --json, refusals are in the JSON only")

        let again = try CLI.run(["--ledger", dir.ledger, "import", file, "--json"])
        #expect(again.status == 3)
        let second = try JSONCheck.object(try again.json())
        #expect(second["appended"] as? Int == 0)
        #expect(second["duplicates"] as? Int == 9)
        #expect(try JSONCheck.array(second["refused"]).count == 4)

        let stats = try JSONCheck.object(try CLI.run(["--ledger", dir.ledger, "stats", "--json"]).json())
        #expect(stats["events"] as? Int == 9, "the log holds each event once")
    }

    @Test("--atomic: one refused line appends nothing; a clean file appends all")
    func atomicImport() throws {
        let dir = try TemporaryDirectory()
        let mixed = try dir.file("mixed.jsonl", Fixture.mixed)
        let refused = try CLI.run(["--ledger", dir.ledger, "import", mixed, "--atomic", "--json"])
        #expect(refused.status == 3)
        let report = try JSONCheck.object(try refused.json())
        #expect(report["appended"] as? Int == 0)
        #expect(report["rolledBack"] as? Bool == true)

        let good = try dir.file("good.jsonl", Fixture.good)
        let ok = try CLI.run(["--ledger", dir.ledger, "import", good, "--atomic"])
        #expect(ok.status == 0, "stderr: \(ok.stderr)")
        #expect(ok.stdout.contains("9 appended"))
    }

    @Test("import - reads standard input")
    func importFromStandardInput() throws {
        let dir = try TemporaryDirectory()
        let r = try CLI.run(["--ledger", dir.ledger, "import", "-", "--json"], stdin: Fixture.good.joined(separator: "\n") + "\n")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(try JSONCheck.object(try r.json())["appended"] as? Int == 9)
    }

    @Test("a missing file exits 1 with a message")
    func missingFile() throws {
        let dir = try TemporaryDirectory()
        let r = try CLI.run(["--ledger", dir.ledger, "import", dir.url.appendingPathComponent("nope.jsonl").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("nope.jsonl"))
        #expect(!FileManager.default.fileExists(atPath: dir.ledger), "nothing is created for a bad command line")
    }

    /// Lines of `text` that are not progress output.
    private func nonEmptyLines(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.isEmpty } }
}
