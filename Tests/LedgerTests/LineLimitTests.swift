import EscalationDomain
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

    /// Newlines are found wherever the 1 MiB reads cut the file: a line ending on a read's last
    /// byte, one starting on a read's first byte, CRLF, and an oversized line whose newline is
    /// the first byte of a read (the rest of that read is lines to import).
    @Test func linesAreFoundWhereverTheReadsCutTheFile() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let org = s.organisation()
        let chunk = 1 << 20
        var file = [UInt8]()
        var expectedLines = 0
        func add(_ line: String, crlf: Bool = false) { file += Array(line.utf8) + (crlf ? [0x0D, 0x0A] : [0x0A]); expectedLines += 1 }
        func pad(toEndAt end: Int, lineLength: Int) {  // blank lines, so that a line of lineLength + 1 bytes ends at `end`
            let blanks = end - lineLength - file.count
            precondition(blanks >= 0)
            file += [UInt8](repeating: 0x0A, count: blanks); expectedLines += blanks
        }
        add(org[0], crlf: true)
        pad(toEndAt: chunk - 1, lineLength: org[1].utf8.count)
        add(org[1])                                 // its newline is the first read's last byte
        #expect(file.count == chunk)
        add(org[2], crlf: true)                     // starts on the second read's first byte
        let oversized = 17 << 20
        pad(toEndAt: 20 * chunk, lineLength: oversized)
        file += [UInt8](repeating: UInt8(ascii: "x"), count: oversized); expectedLines += 1
        let oversizedLine = expectedLines
        #expect(file.count == 20 * chunk)
        file.append(0x0A)                           // its newline is the first byte of a read
        for line in org.dropFirst(3) { add(line) }
        let path = temporaryDirectory() + ".jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(file)))
        let report = try ledger.importFile(path)
        #expect(report.appended == org.count, "\(report.refused.map { ($0.line, $0.rule, $0.message.prefix(80)) })")
        #expect(report.refused.map(\.line) == [oversizedLine], "\(report.refused.map { ($0.line, $0.rule, $0.message.prefix(120)) })")
        #expect(report.refused.first?.rule == "schema")
        #expect(report.lines == org.count + 1)
        #expect(expectedLines == oversizedLine + org.count - 3, "blank lines keep their numbers")
    }

    /// A batch's lines decoded in parts (as on a machine with more cores than this one, perhaps)
    /// give the events, their line numbers and the refusals that one part gives, in the same order.
    @Test func aBatchDecodedInPartsIsTheBatchDecodedWhole() throws {
        var s = Script()
        var lines = s.organisation()
        for i in 0..<3000 {
            lines.append(i % 7 == 3 ? "{\"id\": \"not a line \(i)\"" : s.open("T\(i)", Double(i) / 10))
        }
        var text: [UInt8] = [], ends: [Int] = []
        for line in lines { text += Array(line.utf8); ends.append(text.count) }
        let numbers = (0..<lines.count).map { $0 * 2 + 1 }  // as if every other line were blank
        func joined(_ parts: Int) -> (events: [Event], lines: [Int], refused: [Int]) {
            let decoded = Importer.decode(text, ends: ends, numbers: numbers, parts: parts)
            #expect(decoded.count == parts)
            let events: [Event] = decoded.flatMap { $0.events }
            let numbers: [Int] = decoded.flatMap { $0.lines }
            let refused: [Int] = decoded.flatMap { $0.refused.map { $0.line } }
            return (events, numbers, refused)
        }
        let whole = joined(1)
        #expect(whole.events.count == lines.count - 429)
        #expect(whole.refused.count == 429)
        for parts in [2, 3, 7] {
            let split = joined(parts)
            #expect(split.events == whole.events)
            #expect(split.lines == whole.lines)
            #expect(split.refused == whole.refused)
        }
    }
}
