import Compliance
import Foundation
import Testing
@testable import Ledger

/// The spreadsheet formula guard of every CSV the ledger writes (docs/EXPORT.md, "Formula guard";
/// OWASP "CSV Injection"), and the export bundle's `events.csv` under it: format 3 is guarded,
/// format 2 is not, and both verifiers rebuild each by its own rule.
@Suite struct CSVFormulaGuardTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a cell a spreadsheet would run as a formula gets a ' in front and is quoted; every other cell is unchanged")
    func cells() {
        let cells = ["=HYPERLINK(\"http://evil.example/\",\"click\")", "+T-2", "-5", "@c-9", "\tx", "\rx", "'x",
                     "T-1", "a, b", "call back at 9", "", "0.25", "2026-03-02T09:00:00Z", "x=1", "a-1"]
        #expect(CSVFormulaGuardTests.text(CSVRow.line(cells))
                == "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\",\"'+T-2\",\"'-5\",\"'@c-9\",\"'\tx\",\"'\rx\",\"''x\","
                + "T-1,\"a, b\",call back at 9,,0.25,2026-03-02T09:00:00Z,x=1,a-1\r\n")
        // Without the guard (a format-2 bundle's rows): RFC 4180 quoting only.
        #expect(CSVFormulaGuardTests.text(CSVRow.line(cells, guardFormulas: false))
                == "\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\",+T-2,-5,@c-9,\tx,\"\rx\",'x,"
                + "T-1,\"a, b\",call back at 9,,0.25,2026-03-02T09:00:00Z,x=1,a-1\r\n")
        // Undoing it: one leading ' dropped gives every value back.
        for c in cells where CSVRow.needsGuard(c) { #expect(CSVRow.needsGuard("'" + c)) }
        #expect(!CSVRow.needsGuard("T-1") && !CSVRow.needsGuard("") && !CSVRow.needsGuard(" =1"))
    }

    /// Splits an RFC 4180 row (CRLF already removed) into its cells.
    static func split(_ row: [UInt8]) -> [String] {
        var cells: [String] = [], cell: [UInt8] = [], quoted = false, i = 0
        while i < row.count {
            let b = row[i]
            if quoted {
                if b == 0x22, i + 1 < row.count, row[i + 1] == 0x22 { cell.append(0x22); i += 2; continue }
                if b == 0x22 { quoted = false } else { cell.append(b) }
            } else if b == 0x22 {
                quoted = true
            } else if b == 0x2C {
                cells.append(text(cell)); cell = []
            } else {
                cell.append(b)
            }
            i += 1
        }
        cells.append(text(cell))
        return cells
    }

    @Test("events.csv of a bundle is guarded (format 3) and both verifiers rebuild it; a format-2 bundle verifies by its unguarded rule")
    func bundles() throws {
        let (ledger, s0) = try ExportTests.ledgerWithHistory()
        var s = s0
        let formula = "=HYPERLINK(\"http://evil.example/\",\"click\")"
        let report = try ledger.importStrings([
            s.open("+T9", 900, agent: "a1", customer: "@c-9"),
            s.line("noteLogged", 901, actor: "a1", ticket: "+T9", ["author": "a1", "text": formula]),
            s.line("noteLogged", 902, actor: "a1", ticket: "+T9", ["author": "a1", "text": "call back at 9"]),
        ])
        #expect(report.refused.isEmpty, "\(report.refused)")
        let key = try ledger.signingKey()
        let dir = temporaryDirectory()
        _ = try ledger.export(to: dir, .init(operator: "m1", purpose: "test"))
        let csv = try String(contentsOfFile: dir + "/" + Bundle.csvFile, encoding: .utf8)
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\")\""), "the note's formula is guarded")
        #expect(csv.contains(",\"'+T9\",") && csv.contains(",\"'@c-9\",") && csv.contains(",\"'+1 555 0100\","),
                "ids and a phone number starting with + or @ are guarded")
        #expect(csv.contains(",call back at 9,") && csv.contains(",T3,"), "ordinary cells are as they were")
        let manifest = try String(contentsOfFile: dir + "/" + Bundle.manifestFile, encoding: .utf8)
        #expect(manifest.contains("\"format\":\"escalation-ledger-bundle/3\""))
        let (guarded, _) = try PythonVerifierTests.verifyBoth(dir, key: key.publicKey)
        #expect(guarded.ok, "\(guarded)")

        // The same rows without the guard, as format 2 wrote them.
        var w = TamperSuiteTests.Work(dir: dir, key: key, trusted: key.publicKey)
        let original = try w.csvRows()
        let unguarded = original.enumerated().map { i, row -> [UInt8] in
            i == 0 ? row : Array(CSVRow.line(CSVFormulaGuardTests.split(row).map { $0.hasPrefix("'") ? String($0.dropFirst()) : $0 },
                                             guardFormulas: false).dropLast(2))
        }
        #expect(unguarded != original)
        let firstChanged = try #require(zip(original, unguarded).enumerated().first { $0.element.0 != $0.element.1 }?.offset)
        func variant(csv rows: [[UInt8]], format: String) throws -> BundleVerification {
            let copy = temporaryDirectory()
            try FileManager.default.copyItem(atPath: dir, toPath: copy)
            w = TamperSuiteTests.Work(dir: copy, key: key, trusted: key.publicKey)
            try w.setCSVRows(rows)
            try w.edit { $0["format"] = .string(format) }
            try w.reseal()
            return try PythonVerifierTests.verifyBoth(copy, key: key.publicKey).swift
        }
        let old = try variant(csv: unguarded, format: Bundle.unguardedFormat)
        #expect(old.ok, "a format-2 bundle (no guard) still verifies: \(old)")
        let stripped = try variant(csv: unguarded, format: Bundle.format)
        #expect(!stripped.ok && stripped.firstBadLine == firstChanged, "format 3 with the guard stripped is refused at its first row: \(stripped)")
        let relabelled = try variant(csv: original, format: Bundle.unguardedFormat)
        #expect(!relabelled.ok && relabelled.firstBadLine == firstChanged, "guarded rows under format 2 are refused: \(relabelled)")
    }
}
