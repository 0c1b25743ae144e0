import Foundation
import LMDB
import Testing
@testable import Ledger

/// docs/FORMAT.md is precise enough for another language: tools/read_ledger.py (Python + lmdb)
/// reads every event and recomputes the chain.
func pythonHasLMDB() -> Bool {
    (try? CrossLanguageTests.run(["python3", "-c", "import lmdb"]).status) == 0
}

/// True when python3 also has the cryptography package (to open sealed values).
func pythonHasCryptography() -> Bool {
    (try? CrossLanguageTests.run(["python3", "-c", "import cryptography.hazmat.primitives.ciphers.aead"]).status) == 0
}

@Suite(.enabled(if: pythonHasLMDB(), "needs python3 with the lmdb package (tools/test installs it)"))
struct CrossLanguageTests {

    static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
        return url
    }

    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func pythonReadsEveryEventAndRecomputesTheChain() throws {
        let dir = temporaryDirectory()
        var s = Script()
        var lines = s.organisation()
        for i in 0..<20 { lines.append(s.open("T\(i)", Double(i))) }
        let script = CrossLanguageTests.packageRoot.appendingPathComponent("tools/read_ledger.py").path
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(lines).appended == lines.count)
        }
        let good = try CrossLanguageTests.run(["python3", script, dir, "--events"])
        #expect(good.status == 0)
        let outputLines = good.output.split(separator: "\n")
        #expect(outputLines.count == lines.count + 1)
        let summary = try JSONSerialization.jsonObject(with: Data(try #require(outputLines.last).utf8)) as? [String: Any]
        #expect(summary?["ok"] as? Bool == true)
        #expect(summary?["checked"] as? Int == lines.count)
        let ledger = try Ledger.open(at: dir)
        #expect(summary?["headHash"] as? String == (try ledger.log.head().hash.hex))
        // Python's event for seq 10 is the stored canonical JSON.
        let tenth = try JSONSerialization.jsonObject(with: Data(outputLines[9].utf8)) as? [String: Any]
        #expect(tenth?["seq"] as? Int == 10)
        #expect((tenth?["event"] as? [String: Any])?["type"] as? String == "callOpened")
        // One changed byte: Python names the seq.
        try ledger.log.environment.write { txn in
            let events = try txn.database("events")
            var bytes = try txn.get(events, key: BigEndianKey.bytes(15))!
            bytes[bytes.count - 2] ^= 0x20
            try txn.put(events, key: BigEndianKey.bytes(15), value: bytes)
        }
        let bad = try CrossLanguageTests.run(["python3", script, dir])
        #expect(bad.status == 4)
        #expect(bad.output.contains("\"firstBadSeq\": 15"))
    }

    /// Python's events, each as a JSON object, and its summary line.
    static func pythonEvents(_ dir: String, _ options: [String]) throws -> (status: Int32, events: [NSDictionary], summary: String) {
        let script = packageRoot.appendingPathComponent("tools/read_ledger.py").path
        let r = try run(["python3", script, dir, "--events"] + options)
        var lines = r.output.split(separator: "\n").map(String.init)
        let summary = lines.popLast() ?? ""
        let events = try lines.map { line in
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(o["event"] as? NSDictionary)
        }
        return (r.status, events, summary)
    }

    @Test(.enabled(if: pythonHasCryptography(), "needs python3 with the cryptography package (tools/test installs it)"))
    func pythonOpensSealedValuesAsTheSwiftReaderShowsThem() throws {
        let dir = temporaryDirectory()
        var s = Script()
        // T1: every personal field of a customer erased later, and a note recorded after the
        // erasure; T9 a live customer with a name and phone; T10 a live customer by id alone,
        // with a hold placed on them.
        var lines = s.organisation() + PrivacyTests.history(&s)
        lines.append(s.open("T9", 50, customer: "keep-1"))
        lines.append(s.line("callOpened", 51, actor: "a2", ticket: "T10", ["agent": "a2", "customer": ["id": "id-only-7"], "issue": "late delivery 5521"]))
        lines.append(s.line("legalHoldPlaced", 52, actor: "m1", channel: "ask:compliance", ["customer": "id-only-7", "matter": "M-9"]))
        lines.append(s.line("personalDataErased", 60, actor: "m1", channel: "ask:compliance", ["customer": PrivacyTests.values["customer.id"]!]))
        lines.append(s.line("noteLogged", 61, actor: "a1", ticket: "T1", ["author": "a1", "text": "called back after the erasure"]))
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(lines).refused.isEmpty)
        }
        let ledger = try Ledger.open(at: dir)
        let records = try ledger.log.events()
        for (view, options) in [(PersonalDataView.revealed, ["--reveal"]), (.masked, [])] {
            let python = try CrossLanguageTests.pythonEvents(dir, options)
            #expect(python.status == 0 && python.summary.contains("\"ok\": true"), "\(python.summary)")
            try #require(python.events.count == records.count)
            for (record, theirs) in zip(records, python.events) {
                // Swift's display line without the ledger's own fields.
                var ours = try #require(try JSONSerialization.jsonObject(with: Data(try ledger.display(record, view).json)) as? [String: Any])
                for k in ["seq", "version", "recordedAt", "hash"] { ours[k] = nil }
                #expect(theirs.isEqual(to: ours), "seq \(record.seq) \(view): Python \(theirs) Swift \(ours)")
            }
            let text = python.events.map { String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined()
            for (field, value) in PrivacyTests.values { #expect(!text.contains(value), "erased \(field) shown by Python") }
            #expect(text.contains(Ledger.erased) && !text.contains("called back after the erasure"))
            #expect(text.contains("keep-1") == (view == .revealed) && text.contains("Jane Roe") == (view == .revealed))
            #expect(text.contains("id-only-7") == (view == .revealed) && text.contains("late delivery 5521") == (view == .revealed))
            #expect(text.contains(Ledger.masked) == (view == .masked) && !text.contains("[sealed]"))
        }
        // --stored prints the stored form: pseudonyms, [sealed] and the sealed boxes.
        let stored = try CrossLanguageTests.pythonEvents(dir, ["--stored"])
        #expect(stored.events.contains { ($0["sealed"] as? String)?.hasPrefix("cus_") == true })
        // Text recorded on the erased customer's ticket after the erasure is stored as [erased].
        #expect(stored.events.last?["text"] as? String == Ledger.erased && stored.events.last?["sealed"] == nil)
        // Revealing without the keys fails with a message, and shows nothing.
        let noKeys = try CrossLanguageTests.run(["python3", CrossLanguageTests.packageRoot.appendingPathComponent("tools/read_ledger.py").path,
                                                 dir, "--events", "--reveal", "--keys", dir + "/nowhere"])
        #expect(noKeys.status == 1 && noKeys.output.isEmpty)
    }
}
