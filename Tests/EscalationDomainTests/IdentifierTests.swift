import Foundation
import Testing
@testable import EscalationDomain

/// CONTRACT.md section 4: identifiers are 1 to 200 bytes of NFC UTF-8 with no control character.
@Suite("Identifiers")
struct IdentifierTests {
    let interchange = EventDecoder(mode: .interchange)

    @Test("NFC: the standard library's normaliser decides, with an ASCII fast path")
    func nfc() {
        for ok in ["a-17", "é", "Å", "한", "Zoë", "中文", "😀🇬🇧", "\u{A0}x", "CORP\\jdoe", "ask:front desk"] {
            #expect(Identifier.problem(of: ok) == nil, "\(ok.unicodeScalars.map(\.value))")
        }
        // Decomposed forms, a singleton (Angstrom sign), a conjoining Hangul sequence, misordered marks.
        for bad in ["e\u{301}", "\u{212B}", "\u{1100}\u{1161}", "\u{1E0A}\u{323}", "a\u{30A}"] {
            #expect(Identifier.problem(of: bad) == .notNFC, "\(bad.unicodeScalars.map(\.value))")
        }
    }

    @Test("control characters U+0000-U+001F and U+007F-U+009F are refused")
    func controls() {
        for bad in ["\u{0}", "a\u{1B}[2J", "x\ny", "\t", "\u{1F}", "\u{7F}", "\u{80}", "é\u{85}", "\u{9F}"] {
            #expect(Identifier.problem(of: bad) == .controlCharacter, "\(bad.unicodeScalars.map(\.value))")
        }
        #expect(Identifier.problem(of: "\u{A0}") == nil)
        #expect(Identifier.problem(of: "\u{100}") == nil)  // C4 80: not C2 80
    }

    /// Checks an eight-bytes-at-a-time byte check against a byte-by-byte one: every byte value at
    /// every position of buffers 1 to 24 bytes long (around the 8-byte words and the tail), in
    /// fields of `fills` (bytes next to the flagged values, where a stray borrow or carry would
    /// show), then 20,000 random buffers, each byte one of `near` or any from `any`.
    private func agrees(_ fast: (UnsafeBufferPointer<UInt8>) -> Bool, _ slow: ([UInt8]) -> Bool, fills: [UInt8], near: [UInt8],
                        any: ClosedRange<UInt8>) {
        for length in 1...24 {
            for fill in fills {
                for position in 0..<length {
                    for value in 0...255 {
                        var bytes = [UInt8](repeating: fill, count: length)
                        bytes[position] = UInt8(value)
                        let f = bytes.withUnsafeBufferPointer(fast)
                        #expect(f == slow(bytes), "\(bytes)")
                        if f != slow(bytes) { return }
                    }
                }
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                Bool.random(using: &rng) ? near.randomElement(using: &rng)! : UInt8.random(in: any, using: &rng)
            }
            let f = bytes.withUnsafeBufferPointer(fast)
            #expect(f == slow(bytes), "\(bytes)")
            if f != slow(bytes) { return }
        }
    }

    @Test("the eight-bytes-at-a-time printable-ASCII check agrees with a byte-by-byte one")
    func printableASCIIFastPath() {
        agrees(Identifier.isPrintableASCII, { $0.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }, fills: [0x20, 0x7E, 0x41],
               near: Array(0x1E...0x81), any: 0...255)
    }

    @Test("the eight-bytes-at-a-time JSON plain-string check agrees with a byte-by-byte one")
    func jsonPlainFastPath() {
        // Fields next to the flagged values (0x1F/0x20, 0x21/0x23, 0x5B/0x5D) and of UTF-8 bytes (0x80, 0xFF).
        agrees(JSONString.isPlain, { !$0.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } },
               fills: [0x20, 0x21, 0x23, 0x5B, 0x5D, 0x41, 0x80, 0xFF], near: [0x1F, 0x20, 0x22, 0x5C, 0x21, 0x5D, 0x00, 0x80],
               any: 0x20...0xFF)
    }

    @Test("the eight-bytes-at-a-time search for any of four bytes agrees with a byte-by-byte one")
    func byteScanFastPath() {
        // The CSV quoting set (comma, quote, LF, CR), in fields next to each value and of UTF-8 bytes.
        agrees({ !ByteScan.containsAny($0, 0x2C, 0x22, 0x0A, 0x0D) }, { !$0.contains { [0x2C, 0x22, 0x0A, 0x0D].contains($0) } },
               fills: [0x2B, 0x2D, 0x21, 0x23, 0x09, 0x0B, 0x0C, 0x0E, 0x41, 0x80, 0xFF], near: [0x2C, 0x2B, 0x22, 0x23, 0x0A, 0x0D, 0x0B, 0x00],
               any: 0...255)
    }

    @Test("1 to 200 bytes, counted in UTF-8")
    func lengths() {
        #expect(Identifier.problem(of: "") == .empty)
        #expect(Identifier.problem(of: String(repeating: "x", count: 200)) == nil)
        #expect(Identifier.problem(of: String(repeating: "x", count: 201)) == .tooLong(bytes: 201))
        #expect(Identifier.problem(of: String(repeating: "é", count: 100)) == nil)
        #expect(Identifier.problem(of: String(repeating: "é", count: 101)) == .tooLong(bytes: 202))
    }

    @Test("canonically equivalent spellings cannot both be identifiers")
    func identityIsBytes() throws {
        // Swift's String == compares canonical equivalence ...
        #expect("\u{E9}" == "e\u{301}")
        // ... so the NFD spelling is refused: every accepted identifier is NFC, and two
        // different NFC strings are never equivalent, so == and hashing agree with the bytes.
        let nfc = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"noteLogged","at":"2024-03-01T09:30:05Z","actor":"\#u{E9}","channel":"ask:x","ticket":"T","author":"\#u{E9}","text":"t"}"#
        #expect(try interchange.decode(nfc).actor == "\u{E9}")
        let nfd = nfc.replacingOccurrences(of: "\u{E9}", with: "e\u{301}")
        #expect(Array(nfd.utf8) != Array(nfc.utf8))
        let error = #expect(throws: RuleViolation.self) { try interchange.decode(nfd) }
        #expect(error?.rule == .schema && error?.field == "actor")
        // The same, written with JSON escapes.
        let escaped = nfc.replacingOccurrences(of: "\"actor\":\"\u{E9}\"", with: #""actor":"e\u0301""#)
        #expect((#expect(throws: RuleViolation.self) { try interchange.decode(escaped) })?.field == "actor")
    }

    /// Every identifier field of every type, each given a bad value in turn.
    @Test("every identifier field is checked and named", arguments: [
        "e\u{301}", "bad\u{1B}[2J", "\u{85}", "line\nbreak", String(repeating: "x", count: 201), "",
    ])
    func everyField(bad: String) throws {
        var checked = 0
        for event in Fixtures.full where event.type != .exportMade {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(EventEncoder.encode(event))) as? [String: Any])
            var fields = ["actor", "channel", "ticket", "staff", "reportsTo", "agent", "by", "from", "to", "owner", "author",
                          "coach", "supervisor", "party", "repeatOf", "customer", "matter"].filter { object[$0] is String }
            if object["customer"] is [String: Any] { fields.append("customer.id") }
            for field in fields {
                var broken = object
                if field == "customer.id" {
                    var customer = object["customer"] as! [String: Any]
                    customer["id"] = bad
                    broken["customer"] = customer
                } else {
                    broken[field] = bad
                }
                let line = try JSONSerialization.data(withJSONObject: broken)
                let error = #expect(throws: RuleViolation.self, "\(event.type) \(field)") {
                    try interchange.decode(Array(line))
                }
                #expect(error?.rule == .schema)
                #expect(error?.field == field, "\(event.type): \(error?.description ?? "accepted")")
                checked += 1
            }
        }
        #expect(checked >= 50)
    }

    @Test("free text keeps no NFC or control-character requirement")
    func freeText() throws {
        let text = "e\u{301} \u{1B}[2J\nline\u{85}"
        let note = Event(id: Fixtures.id(1), at: Fixtures.at, actor: "a-1", channel: "ask:x", ticket: "T",
                         body: .noteLogged(.init(author: "a-1", text: text)))
        #expect(try interchange.decode(EventEncoder.encode(note)) == note)
        let enrolled = Event(id: Fixtures.id(2), at: Fixtures.at, actor: "system", channel: "ask:x", ticket: nil,
                             body: .staffEnrolled(.init(staff: "s", name: "A\u{7}nn e\u{301}", role: .compliance)))
        #expect(try interchange.decode(EventEncoder.encode(enrolled)) == enrolled)
    }

    @Test("a bad value is quoted as a short escaped prefix, never whole")
    func shortQuotes() throws {
        let huge = "\u{1B}[2J" + String(repeating: "x", count: 10_000_000)
        let line = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"noteLogged","at":"2024-03-01T09:30:05Z","actor":"a","channel":"ask:x","ticket":"\#(huge)","author":"a","text":"t"}"#
            .replacingOccurrences(of: "\u{1B}", with: #"\u001b"#)
        let error = try #require(#expect(throws: RuleViolation.self) { try interchange.decode(line) })
        #expect(error.field == "ticket")
        #expect(error.description.utf8.count < 300, "\(error.description.prefix(400))")
        #expect(!Display.hasControl(error.description))
        #expect(error.message.contains(#"'\u{1B}[2Jxxx"#))

        for (key, value) in [("type", huge), ("at", huge), ("huge\u{1B}" + huge, "1")] {
            let l = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"noteLogged","at":"2024-03-01T09:30:05Z","actor":"a","channel":"ask:x","ticket":"T","author":"a","text":"t","#
                + "\"\(key)\":\"\(value)\"}"
            let escaped = l.replacingOccurrences(of: "\u{1B}", with: #"\u001b"#)
            let e = try #require(#expect(throws: RuleViolation.self) { try interchange.decode(escaped) })
            #expect(e.description.utf8.count < 300)
            #expect(!Display.hasControl(e.description) && !Display.hasControl(e.field ?? ""))
        }
    }

    @Test("Display escapes controls in Swift literal style and cuts quotes")
    func display() {
        #expect(Display.escaped("a\u{1B}[2J\n\t\r\u{0}\u{85}\u{7F}b") == #"a\u{1B}[2J\n\t\r\u{00}\u{85}\u{7F}b"#)
        #expect(Display.escaped("CORP\\jdoe é") == "CORP\\jdoe é")
        #expect(Display.quoted("abc") == "'abc'")
        #expect(Display.quoted(String(repeating: "y", count: 100)) == "'" + String(repeating: "y", count: 40) + "'…")
    }
}
