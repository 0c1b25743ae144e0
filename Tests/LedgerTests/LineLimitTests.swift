import Foundation
import Testing
@testable import Ledger

@Suite struct LineLimitTests {
    @Test func aLineOverTheLimitIsRefusedWithSchemaAndTheRestIsRead() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let org = s.organisation()
        let path = temporaryDirectory() + ".jsonl"
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try #require(FileHandle(forWritingAtPath: path))
        // Line 1: a valid line; line 2: 20 MiB with no newline for 20 chunks; line 3 onward: valid;
        // then a line just under the limit (refused by the decoder, not the limit) and, last, an
        // oversized line with no final newline.
        h.write(Data((org[0] + "\n").utf8))
        let big = Data(repeating: UInt8(ascii: "x"), count: 20 << 20)
        h.write(big); h.write(Data("\n".utf8))
        for line in org.dropFirst() { h.write(Data((line + "\n").utf8)) }
        h.write(Data(repeating: UInt8(ascii: "y"), count: (16 << 20) - 10)); h.write(Data("\n".utf8))
        h.write(big)
        try h.close()
        let report = try ledger.importFile(path)
        #expect(report.appended == org.count, "\(report)")
        let oversized = report.refused.filter { $0.message.contains("longer than the ledger's limit of 16 MiB") }
        #expect(oversized.map(\.line) == [2, org.count + 3], "\(report.refused.map { ($0.line, $0.rule, $0.message.prefix(80)) })")
        #expect(oversized.allSatisfy { $0.rule == "schema" })
        let underLimit = report.refused.first { $0.line == org.count + 2 }
        #expect(underLimit?.rule == "schema" && underLimit?.message.contains("longer than") == false)
        #expect(report.lines == org.count + 3)
    }
}
