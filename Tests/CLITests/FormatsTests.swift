import Foundation
import Testing

/// CONTRACT.md section 8: every query in every format, parsed as a consumer would (CSV with
/// Python's csv module, JSON Lines line by line), and --limit/--after pages joining to the whole.
@Suite("formats and paging")
struct FormatsTests {
    nonisolated(unsafe) static let ledger: TemporaryDirectory = {
        let dir = try! TemporaryDirectory()
        let r = try! CLI.run(["--ledger", dir.ledger, "demo", "--calls", "150", "--seed", "5"])
        precondition(r.status == 0, r.stderr)
        return dir
    }()

    static func run(_ args: [String]) throws -> String {
        let r = try CLI.run(["--ledger", ledger.ledger] + args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return r.stdout
    }

    /// Rows of a CSV text as Python's csv module reads them (header first).
    static func pythonCSV(_ text: String) throws -> [[String]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let path = ledger.url.appendingPathComponent("out-\(UUID().uuidString).csv")
        try Data(text.utf8).write(to: path)
        p.arguments = ["python3", "-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))",
                       path.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return try #require(try JSONSerialization.jsonObject(with: data) as? [[String]])
    }

    /// The queries that list things, each with the key of an item (its cursor) in its JSON form.
    static let queries: [(args: [String], key: String)] = [
        (["findings"], "id"), (["scorecard"], "staff"), (["audit"], "seq"), (["audit", "--staff", "ag-0001"], "seq"),
        (["ticket", "T-0000001"], "seq"), (["findings", "--known-at", "400", "--now", "2026-06-01T00:00:00Z"], "id"),
    ]

    static func keyText(_ v: Any?) -> String { (v as? String) ?? (v as? NSNumber)?.stringValue ?? "?" }

    @Test(arguments: 0..<6)
    func everyFormatAgreesAndPagesJoin(_ index: Int) throws {
        let (args, key) = FormatsTests.queries[index]
        // JSON: an array (a ticket: its object, whose events are the list).
        let jsonText = try FormatsTests.run(args + ["--format", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(jsonText.utf8))
        let items: [[String: Any]] = args[0] == "ticket" ? try #require((parsed as? [String: Any])?["events"] as? [[String: Any]])
                                                         : try #require(parsed as? [[String: Any]])
        #expect(!items.isEmpty, "\(args) lists nothing: the test would prove nothing")
        let keys = items.map { FormatsTests.keyText($0[key]) }
        // JSON Lines: the same items, one object a line.
        let lines = try FormatsTests.run(args + ["--format", "jsonl"]).split(separator: "\n")
        let jsonl = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(jsonl.map { FormatsTests.keyText($0[key]) } == keys, "\(args) jsonl")
        // CSV: a header, then one row per item, read by Python's csv module.
        let csv = try FormatsTests.pythonCSV(try FormatsTests.run(args + ["--format", "csv"]))
        let header = try #require(csv.first)
        let column = try #require(header.firstIndex(of: key), "\(args): CSV header \(header) has no \(key)")
        #expect(csv.dropFirst().map { $0[column] } == keys, "\(args) csv")
        #expect(csv.dropFirst().allSatisfy { $0.count == header.count })
        // Pages of 4 join to the whole.
        var joined: [String] = []
        var cursor: String?
        for _ in 0..<1000 {
            let page = try FormatsTests.run(args + ["--format", "jsonl", "--limit", "4"] + (cursor.map { ["--after", $0] } ?? []))
            let got = try page.split(separator: "\n").map { FormatsTests.keyText(try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])[key]) }
            #expect(got.count <= 4)
            if got.isEmpty { break }
            joined += got
            cursor = got.last
        }
        #expect(joined == keys, "\(args): pages join to the whole")
        // A table page says how to get the next one.
        if keys.count > 2 {
            let table = try FormatsTests.run(args + ["--limit", "2"])
            #expect(table.contains("(more: --after \(keys[1]))"), "\(args): \(table.suffix(200))")
        }
    }

    @Test func findingsChangedSinceListsWhatARangeOfEventsRaisedOrCleared() throws {
        let all = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["findings", "--json", "--now", "2026-06-01T00:00:00Z"]).utf8)) as? [[String: Any]])
        let changed = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["findings", "--json", "--now", "2026-06-01T00:00:00Z", "--changed-since", "0"]).utf8)) as? [[String: Any]])
        #expect(changed.count == all.count && changed.allSatisfy { $0["change"] as? String == "raised" })
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["stats", "--json"]).utf8)) as? [String: Any])
        let last = try #require(stats["lastSeq"] as? Int)
        let none = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["findings", "--json", "--now", "2026-06-01T00:00:00Z", "--changed-since", String(last)]).utf8)) as? [Any])
        #expect(none.isEmpty)
        // Halfway: what the second half raised, plus anything it cleared, equals the difference of the two views.
        let half = last / 2
        let then = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["findings", "--json", "--now", "2026-06-01T00:00:00Z", "--known-at", String(half)]).utf8)) as? [[String: Any]])
        let diff = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["findings", "--json", "--now", "2026-06-01T00:00:00Z", "--changed-since", String(half)]).utf8)) as? [[String: Any]])
        let nowIDs = Set(all.map { $0["id"] as! String }), thenIDs = Set(then.map { $0["id"] as! String })
        #expect(Set(diff.filter { $0["change"] as? String == "raised" }.map { $0["id"] as! String }) == nowIDs.subtracting(thenIDs))
        #expect(Set(diff.filter { $0["change"] as? String == "cleared" }.map { $0["id"] as! String }) == thenIDs.subtracting(nowIDs))
        #expect(!diff.isEmpty)
    }

    @Test func reportInEveryFormat() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["report", "--format", "json"]).utf8)) as? [String: Any])
        let tickets = try #require(json["tickets"] as? Int)
        #expect(tickets == 150)
        #expect(Set(["escalationRate", "deEscalationRate", "twoAskCompliance", "callbackOnTimeRate", "findings", "deEscalators",
                     "costliestSources", "weeks", "currency"]).isSubset(of: Set(json.keys)))
        let weeks = try #require(json["weeks"] as? [[String: Any]])
        #expect(weeks.map { $0["tickets"] as? Int ?? 0 }.reduce(0, +) == tickets)
        let csv = try FormatsTests.pythonCSV(try FormatsTests.run(["report", "--format", "csv"]))
        #expect(csv.first == ["section", "name", "value"] && csv.dropFirst().allSatisfy { $0.count == 3 })
        #expect(csv.contains(["volume", "tickets", "150"]))
        let table = try FormatsTests.run(["report"])
        #expect(table.contains("escalation rate") && table.contains("Weekly trend"))
    }

    @Test func customerInEveryFormat() throws {
        // A live customer's pseudonym, from the first event of a ticket (masked view).
        var pseudonym: String?
        for n in 1...40 where pseudonym == nil {
            let first = try FormatsTests.run(["ticket", String(format: "T-%07d", n), "--format", "jsonl", "--limit", "1"])
            let event = (try? JSONSerialization.jsonObject(with: Data(first.utf8))) as? [String: Any]
            if let id = (event?["customer"] as? [String: Any])?["id"] as? String, id.hasPrefix("cus_"),
               try CLI.run(["--ledger", FormatsTests.ledger.ledger, "customer", id]).status == 0 { pseudonym = id }
        }
        let id = try #require(pseudonym)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try FormatsTests.run(["customer", id, "--format", "json"]).utf8)) as? [String: Any])
        let seqs = try #require(json["events"] as? [[String: Any]]).map { FormatsTests.keyText($0["seq"]) }
        #expect(!seqs.isEmpty && json["customer"] as? String == id)
        let jsonl = try FormatsTests.run(["customer", id, "--format", "jsonl"]).split(separator: "\n")
            .map { FormatsTests.keyText((try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"]) }
        #expect(jsonl == seqs)
        let csv = try FormatsTests.pythonCSV(try FormatsTests.run(["customer", id, "--format", "csv"]))
        #expect(csv.dropFirst().map { $0[0] } == seqs)
        let firstPage = try FormatsTests.run(["customer", id, "--format", "jsonl", "--limit", "1"]).split(separator: "\n")
        let rest = try FormatsTests.run(["customer", id, "--format", "jsonl", "--after", seqs[0]]).split(separator: "\n")
        #expect(firstPage.count == 1 && rest.count == seqs.count - 1)
    }

    @Test func costsNameTheLedgersCurrency() throws {
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "init", "--currency", "eur"]).status == 1)
        #expect(try CLI.run(["--ledger", dir.ledger, "init", "--currency", "EUR"]).status == 0)
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("good.jsonl", Fixture.good)]).status == 0)
        let table = try CLI.run(["--ledger", dir.ledger, "scorecard"]).stdout
        #expect(table.contains("escalation cost (EUR)"), "\(table)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(try CLI.run(["--ledger", dir.ledger, "report", "--json"]).stdout.utf8)) as? [String: Any])
        #expect(report["currency"] as? String == "EUR")
        // Without the setting: USD.
        #expect(try CLI.run(["--ledger", FormatsTests.ledger.ledger, "scorecard", "--limit", "1"]).stdout.contains("escalation cost (USD)"))
    }
}
