import Testing
@testable import EscalationDomain

@Suite("String escapes")
struct EscapeTests {
    private func note(_ text: String) -> Event {
        Fixtures.event(70, .noteLogged(.init(author: "a-1", text: text)))
    }

    private func encodedText(_ text: String) -> String {
        let line = String(decoding: EventEncoder.encode(note(text)), as: UTF8.self)
        let start = line.range(of: #""text":"#)!.upperBound
        let end = line.range(of: #","ticket":"#)!.lowerBound
        return String(line[start..<end])
    }

    @Test("Python's ensure_ascii=False escaping", arguments: [
        ("plain", #""plain""#),
        ("quote \" backslash \\ slash /", #""quote \" backslash \\ slash /""#),
        ("\n\r\t\u{08}\u{0C}", #""\n\r\t\b\f""#),
        ("\u{00}\u{01}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}", "\"\u{7F}\""),
        ("emoji 😀 and 中文 é", "\"emoji 😀 and 中文 é\""),
        ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
        ("\u{1B}[0m", #""\u001b[0m""#),
    ])
    func encoding(_ text: String, _ expected: String) throws {
        #expect(encodedText(text) == expected)
        let bytes = EventEncoder.encode(note(text))
        #expect(try EventDecoder().decode(bytes) == note(text))
        // The machine output's and export lines' escaper (a copy for strings with nothing to
        // escape, the encoder's escaper otherwise) writes the same, after what is already there.
        var out = Array("x".utf8)
        JSONString.append(text, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x" + expected)
    }

    @Test("integers as decimal text")
    func decimalText() {
        for v: Int64 in [0, 7, -7, 10, 999_999, Int64.max, Int64.min, -1_000_000] {
            var out: [UInt8] = []
            DecimalText.append(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
        var out: [UInt8] = []
        DecimalText.append(UInt64.max, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "18446744073709551615")
    }

    @Test("every escape form decodes", arguments: [
        (#"\"\\\/\b\f\n\r\t"#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#"\u0041\u00e9\u4E2D"#, "Aé中"),
        (#"\ud83d\ude00"#, "😀"),
        (#"\uD83D\uDE00x"#, "😀x"),
        (#"a\u0000b"#, "a\u{0}b"),
        ("raw 😀 é", "raw 😀 é"),
        (#"\u2028"#, "\u{2028}"),
    ])
    func decoding(_ raw: String, _ expected: String) throws {
        let line = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"noteLogged","at":"2024-03-01T09:30:05Z","actor":"a-1","channel":"ask:x","ticket":"T","author":"a-1","text":"\#(raw)"}"#
        let e = try EventDecoder().decode(line)
        guard case .noteLogged(let n) = e.body else { Issue.record("wrong body"); return }
        #expect(n.text == expected)
    }

    @Test("escapes in keys, ids, enumerations and times")
    func escapedEverywhere() throws {
        let line = #"{"\u0069d":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2\u0064","typ\u0065":"transferr\u0065d","at":"2024-03-01T09:30:05\u005a","actor":"a\u002d1","channel":"ask:x","ticket":"T","from":"a-1","to":"b","mode":"w\u0061rm"}"#
        let e = try EventDecoder().decode(line)
        #expect(e.id.description == "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d")
        #expect(e.actor == "a-1")
        #expect(e.at == Timestamp(rfc3339: "2024-03-01T09:30:05Z"))
        guard case .transferred(let t) = e.body else { Issue.record("wrong body"); return }
        #expect(t.mode == .warm)
    }

    @Test("long strings cross the eight-byte fast path correctly")
    func longStrings() throws {
        for length in 0..<40 {
            for special in ["\"", "\\", "\n", "é", "😀", "\u{7F}"] {
                let text = String(repeating: "a", count: length) + special + String(repeating: "b", count: 40 - length)
                let e = note(text)
                #expect(try EventDecoder().decode(EventEncoder.encode(e)) == e)
            }
        }
    }

    @Test("id length counts decoded bytes")
    func idLengthDecoded() throws {
        // 200 "é" written as escapes is 1200 raw bytes but 400 decoded bytes: too long.
        let escaped = String(repeating: #"\u00e9"#, count: 100)  // 200 decoded bytes: fine
        let ok = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"noteLogged","at":"2024-03-01T09:30:05Z","actor":"\#(escaped)","channel":"ask:x","ticket":"T","author":"a","text":""}"#
        #expect(try EventDecoder().decode(ok).actor.utf8.count == 200)
        let tooLong = ok.replacingOccurrences(of: escaped, with: escaped + #"\u00e9"#)
        #expect(throws: RuleViolation.self) { try EventDecoder().decode(tooLong) }
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return self[..<r.lowerBound] + replacement + self[r.upperBound...]
    }

    func range(of target: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
