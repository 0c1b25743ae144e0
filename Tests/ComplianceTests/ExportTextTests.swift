import Foundation
import Testing
import EscalationDomain
@testable import Compliance

/// The byte writers and readers on the export's and the bundle verifier's hot paths, against
/// plain reference implementations.
@Suite("Export text")
struct ExportTextTests {
    @Test("hex of bytes, contiguous or not")
    func hex() {
        var g = SeededGenerator(seed: 7)
        for n in [0, 1, 2, 31, 32, 33, 64, 1000] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            let reference = bytes.map { String(format: "%02x", $0) }.joined()
            #expect(Hex.encode(bytes) == reference)
            #expect(Hex.encode(bytes[...]) == reference)
            #expect(Hex.encode(bytes.reversed()) == bytes.reversed().map { String(format: "%02x", $0) }.joined())
            var out = Array("pre".utf8)
            bytes.withUnsafeBytes { Hex.append($0, to: &out) }
            #expect(String(decoding: out, as: UTF8.self) == "pre" + reference)
            #expect(Hex.decode(reference) == bytes)
        }
    }

    /// Hex text is read sixteen digits at a time: every byte value at every place of a text
    /// (and texts of every length up to 40, in either case) gives what a digit-by-digit reading gives.
    @Test("hex text read a word at a time agrees with a digit-by-digit reading")
    func hexDecodeAgreesWithAReference() {
        func reference(_ text: [UInt8]) -> [UInt8]? {
            guard text.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            for k in stride(from: 0, to: text.count, by: 2) {
                guard let hi = Int(String(decoding: text[k...k], as: UTF8.self), radix: 16),
                      let lo = Int(String(decoding: text[(k + 1)...(k + 1)], as: UTF8.self), radix: 16),
                      text[k] != UInt8(ascii: "+"), text[k] != UInt8(ascii: "-"),
                      text[k + 1] != UInt8(ascii: "+"), text[k + 1] != UInt8(ascii: "-")
                else { return nil }
                out.append(UInt8(hi << 4 | lo))
            }
            return out
        }
        var g = SeededGenerator(seed: 13)
        let digits = Array("0123456789abcdefABCDEF".utf8)
        for n in 0...40 {
            let text = (0..<n).map { _ in digits.randomElement(using: &g)! }
            #expect(Hex.decode(text) == reference(text), "\(n) digits")
            #expect(Hex.decode(text[...]) == reference(text))
        }
        let base = Array("00ff10a7b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7f8e9dacbbcad9e".utf8)
        var mismatches = 0
        for i in base.indices {
            for byte in 0...255 {
                var t = base
                t[i] = UInt8(byte)
                if Hex.decode(t) != reference(t) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    /// The verifier finds a line's tail by the last `,"hash":"` in it, a word at a time.
    @Test("the last place of a needle, found a word at a time")
    func lastRangeAgreesWithAReference() {
        func reference(_ hay: [UInt8], _ needle: [UInt8]) -> Range<Int>? {
            guard !needle.isEmpty, needle.count <= hay.count else { return nil }
            for i in stride(from: hay.count - needle.count, through: 0, by: -1) where Array(hay[i..<(i + needle.count)]) == needle {
                return i..<(i + needle.count)
            }
            return nil
        }
        var g = SeededGenerator(seed: 17)
        for _ in 0..<3000 {
            let hay = (0..<Int.random(in: 0...70, using: &g)).map { _ in UInt8.random(in: 97...100, using: &g) }
            let needle = (0..<Int.random(in: 1...4, using: &g)).map { _ in UInt8.random(in: 97...100, using: &g) }
            #expect(hay.lastRange(of: needle) == reference(hay, needle), "\(hay) \(needle)")
        }
        #expect(Array("ab".utf8).lastRange(of: []) == nil)
    }

    @Test("recordedAt with exactly six fraction digits")
    func recordedAt() {
        // The form written before it was written straight into bytes.
        func reference(_ micros: Int64) -> String {
            let whole = micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000
            let t = Timestamp(microsecondsSinceEpoch: whole).description
            let digits = String(micros - whole)
            return String(t.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
        }
        var g = SeededGenerator(seed: 11)
        var samples: [Int64] = [0, 1, 999_999, 1_000_000, -1, -999_999, -1_000_000, -1_000_001, 1_780_000_000_123_456]
        for _ in 0..<2000 { samples.append(Int64.random(in: -62_000_000_000_000_000...253_000_000_000_000_000, using: &g)) }
        for m in samples {
            #expect(Bundle.recordedAtText(m) == reference(m), "\(m)")
            #expect(Bundle.recordedAtText(m).utf8.count == 27)
        }
    }

    @Test("events.csv's columns, in EXPORT.md's order")
    func columns() {
        #expect(CSVRow.columns == [
            "seq", "version", "recordedAt", "stream", "id", "type", "at", "actor", "channel", "ticket", "expectedVersion",
            "staff", "name", "role", "reportsTo", "extension", "hourlyCost",
            "agent", "customer", "customerName", "customerPhone", "issue", "repeatOf",
            "requestedBy", "scenario", "reason", "level", "goal", "technique", "outcome", "supervisor", "available",
            "kind", "party", "accepted", "by", "from", "to", "mode", "announcedName", "announcedExtension",
            "owner", "dueBy", "reached", "author", "text", "resolution", "satisfied", "coach", "lessons", "severity",
            "matter", "count", "root", "operator", "purpose", "filter", "pseudonymized", "customers", "query", "hash",
        ])
        #expect(CSVRow.line(["=1+1", "a,b", "", "+x", "plain"]) == Array("\"'=1+1\",\"a,b\",,\"'+x\",plain\r\n".utf8))
        #expect(CSVRow.line(["=1+1", "-2"], guardFormulas: false) == Array("=1+1,-2\r\n".utf8))
    }

    private func tail(_ line: [UInt8]) -> ArraySlice<UInt8> {
        line[line.lastRange(of: Array(#","hash":""#.utf8))!.lowerBound...]
    }

    private func same(_ a: LineTail, _ b: LineTail) -> Bool {
        a.hash == b.hash && a.id == b.id && a.prevHash == b.prevHash && a.micros == b.micros && a.seq == b.seq
            && a.stream == b.stream && a.version == b.version
    }

    @Test("a bundle line's fields: the fast reader reads what the general one reads, or declines")
    func lineTail() throws {
        var g = SeededGenerator(seed: 3)
        let hash = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let prev = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
        let payload = Array(#"{"id":"x","note":",\"hash\":\"00"}"#.utf8)
        for (stream, micros) in [("ticket:T-1", Int64(1_780_000_000_123_456)), ("staff:a \"quoted\"", -5), ("customer:é", 0)] {
            let line = Bundle.line(payload: payload, hash: hash, id: "6f1c0d5e-8a43-4a7e-9c1e-2b7d4f9e0a11", prevHash: prev,
                                   recordedAtMicros: micros, seq: 42, stream: stream, version: 7)
            let t = tail(line)
            let general = try #require(LineTail(parsing: t.dropFirst(0)))
            #expect(general.stream == stream && general.micros == micros && general.seq == 42 && general.version == 7)
            #expect(general.hash == hash && general.prevHash == prev)
            if let plain = LineTail(plain: t) {
                #expect(same(plain, general))
            } else {
                #expect(stream.contains("\""), "only a string with an escape is left to the general reader")
            }
            // Mutations of the tail: whenever the fast reader accepts one, it reads what the
            // general reader reads (which, with the line rendered again, decides).
            for _ in 0..<3000 {
                var m = Array(t)
                for _ in 0..<Int.random(in: 1...3, using: &g) {
                    let i = Int.random(in: 0..<m.count, using: &g)
                    switch Int.random(in: 0..<3, using: &g) {
                    case 0: m[i] = Array(#"0123456789abcdefABCDEF-",:"}{\ "#.utf8).randomElement(using: &g)!
                    case 1: m.remove(at: i)
                    default: m.insert(Array(#"09a",-"#.utf8).randomElement(using: &g)!, at: i)
                    }
                }
                if let plain = LineTail(plain: m[...]) {
                    let general = try #require(LineTail(parsing: m[...]), "\(String(decoding: m, as: UTF8.self))")
                    #expect(same(plain, general), "\(String(decoding: m, as: UTF8.self))")
                }
            }
        }
    }

    @Test("a personal.jsonl line: the fast reader reads what the general one reads, or declines")
    func personalValues() throws {
        var g = SeededGenerator(seed: 5)
        func same(_ a: PersonalValues, _ b: PersonalValues) -> Bool { Set(a.keys) == Set(b.keys) && a.strings == b.strings && a.seq == b.seq }
        let lines = [
            Bundle.personalLine(["customer": "C-000123", "text": "[masked]"], seq: 42),
            Bundle.personalLine(["customer": "Zoë Ångström", "note.text": "call me on 555"], seq: 7),
            Bundle.personalLine(["words": "she said \"no\"\n"], seq: 1_000_000),
        ]
        for line in lines {
            let general = try #require(PersonalValues(parsing: line))
            if let plain = PersonalValues(plain: line) {
                #expect(same(plain, general))
            } else {
                #expect(line.contains(0x5C), "only a string with an escape is left to the general reader")
            }
            for _ in 0..<3000 {
                var m = line
                for _ in 0..<Int.random(in: 1...3, using: &g) {
                    let i = Int.random(in: 0..<m.count, using: &g)
                    switch Int.random(in: 0..<3, using: &g) {
                    case 0: m[i] = Array(#"0123456789sequa-",:"}{\ "#.utf8).randomElement(using: &g)!
                    case 1: m.remove(at: i)
                    default: m.insert(Array(#"0"9,:-"#.utf8).randomElement(using: &g)!, at: i)
                    }
                }
                if let plain = PersonalValues(plain: m) {
                    let general = try #require(PersonalValues(parsing: m), "\(String(decoding: m, as: UTF8.self))")
                    #expect(same(plain, general), "\(String(decoding: m, as: UTF8.self))")
                }
            }
        }
        // What the fast reader declines, for the general reader to decide.
        for text in [#"{"seq":1,"seq":2}"#, #"{"a":"x","a":"y","seq":1}"#, #"{"seq":007}"#, #"{"seq":-1}"#, #"{ "seq":1}"#,
                     #"{"a":1,"seq":1}"#, #"{"seq":1}x"#] {
            #expect(PersonalValues(plain: Array(text.utf8)) == nil, "\(text)")
        }
    }
}
