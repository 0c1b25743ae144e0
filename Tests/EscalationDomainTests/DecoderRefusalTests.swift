import Testing
@testable import EscalationDomain

/// A callOpened line as (key, raw JSON value) pairs, to break one field at a time.
private let base: [(String, String)] = [
    ("id", #""0B7C3E2A-1D4F-4A5B-9C6D-7E8F9A0B1C2D""#),
    ("type", #""callOpened""#),
    ("at", #""2024-03-01T09:30:05Z""#),
    ("actor", #""a-17""#),
    ("channel", #""ask:frontline""#),
    ("ticket", #""T-1""#),
    ("agent", #""a-17""#),
    ("customer", #"{"id":"c-1","name":"Ann"}"#),
    ("issue", #""refund""#),
]

private func line(_ pairs: [(String, String)]) -> String {
    "{" + pairs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
}

private func with(_ key: String, _ value: String?) -> String {
    var pairs = base.filter { $0.0 != key }
    if let value {
        if let i = base.firstIndex(where: { $0.0 == key }) { pairs.insert((key, value), at: i) } else { pairs.append((key, value)) }
    }
    return line(pairs)
}

private func refusal(_ text: String, mode: EventDecoder.Mode = .interchange) -> RuleViolation? {
    #expect(throws: RuleViolation.self) { try EventDecoder(mode: mode).decode(text) }
}

private func refusal(bytes: [UInt8]) -> RuleViolation? {
    #expect(throws: RuleViolation.self) { try EventDecoder().decode(bytes) }
}

@Suite("Decoder refusals name the field")
struct DecoderRefusalTests {
    @Test("the base line is valid")
    func baseIsValid() throws {
        let e = try EventDecoder().decode(line(base))
        #expect(e.type == .callOpened)
    }

    @Test("not one JSON object", arguments: [
        "", "   ", "not json", "[]", #"[{"id":1}]"#, "\"text\"", "42", "null",
        line(base) + " x", line(base) + line(base), line(base) + ",", "{", #"{"id""#, #"{"id":}"#,
        #"{"id":"x",}"#, #"{"id" "x"}"#, #"{'id':"x"}"#, #"{"id":tru}"#, #"{"id":01}"#, #"{"id":1.}"#,
        #"{"id":-}"#, #"{"id":1e}"#, #"{"id":"\x"}"#, #"{"id":"\u12G4"}"#, "\u{FEFF}" + line(base),
    ])
    func notOneObject(_ text: String) {
        let error = refusal(text)
        #expect(error?.rule == .schema)
        #expect(error?.message.hasPrefix("not one JSON object") == true)
    }

    @Test("invalid UTF-8 and raw control characters name the field")
    func invalidBytes() {
        var bytes = Array(with("issue", #""ref#und""#).utf8)
        let hash = bytes.firstIndex(of: UInt8(ascii: "#"))!
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x01]] {
            var b = bytes
            b.replaceSubrange(hash...hash, with: bad)
            let error = refusal(bytes: b)
            #expect(error?.field == "issue")
            #expect(error?.eventID == "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d")
        }
        bytes[hash] = 0x7F  // DEL is fine
        #expect(throws: Never.self) { try EventDecoder().decode(bytes) }
    }

    @Test("unpaired surrogates are refused")
    func loneSurrogates() {
        for s in [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""a\ud83d""#] {
            #expect(refusal(with("issue", s))?.field == "issue")
        }
    }

    @Test("unknown or missing type")
    func unknownType() {
        let unknown = refusal(with("type", #""callClosed""#))
        #expect(unknown?.field == "type")
        #expect(unknown?.message.contains("callClosed") == true)
        #expect(unknown?.eventID == "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d")
        #expect(refusal(with("type", nil))?.field == "type")
        #expect(refusal(with("type", "7"))?.field == "type")
        #expect(refusal(with("type", #""CallOpened""#))?.field == "type")
    }

    @Test("missing required fields", arguments: ["id", "at", "actor", "channel", "ticket", "agent", "customer", "issue"])
    func missing(_ key: String) {
        let error = refusal(with(key, nil))
        #expect(error?.rule == .schema)
        #expect(error?.field == key)
        #expect(error?.message == "missing required field")
    }

    @Test("missing customer.id")
    func missingCustomerID() {
        #expect(refusal(with("customer", #"{"name":"Ann"}"#))?.field == "customer.id")
    }

    @Test("wrong JSON types", arguments: [
        ("id", "17"), ("at", "1709285405"), ("actor", "true"), ("channel", "null"), ("agent", #"["a"]"#),
        ("customer", #""c-1""#), ("issue", #"{"a":1}"#), ("expectedVersion", #""3""#), ("expectedVersion", "3.0"),
        ("expectedVersion", "-1"), ("expectedVersion", "1e2"), ("expectedVersion", "18446744073709551616"),
        ("repeatOf", "5"), ("customer", #"{"id":5}"#),
    ])
    func wrongType(_ key: String, _ value: String) {
        let error = refusal(with(key, value))
        #expect(error?.rule == .schema)
        #expect(error?.field == (key == "customer" && value.hasPrefix("{") ? "customer.id" : key))
    }

    @Test("null for a required field")
    func nullRequired() {
        #expect(refusal(with("agent", "null"))?.field == "agent")
    }

    @Test("values outside an enumeration")
    func enumerations() {
        let transfer = line([
            ("id", #""0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d""#), ("type", #""transferred""#),
            ("at", #""2024-03-01T09:30:05Z""#), ("actor", #""a""#), ("channel", #""ask:x""#), ("ticket", #""T""#),
            ("from", #""a""#), ("to", #""b""#), ("mode", #""carrierPigeon""#),
        ])
        let error = refusal(transfer)
        #expect(error?.field == "mode")
        #expect(error?.message.contains("blind, warm, conference") == true)
        let staff = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"staffEnrolled","at":"2024-03-01T09:30:05Z","actor":"system","channel":"ask:x","staff":"s","name":"n","role":"Agent"}"#
        #expect(refusal(staff)?.field == "role")
    }

    @Test("bad times", arguments: [
        "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-03-01T24:00:00Z", "2024-03-01 09:30:05Z",
        "2024-03-01T09:30:05", "2024-03-01T09:30:05.1234567Z", "2024-03-01T09:30:60Z", "2024-3-01T09:30:05Z",
    ])
    func badTime(_ t: String) {
        let error = refusal(with("at", "\"\(t)\""))
        #expect(error?.field == "at")
        #expect(error?.message.contains("RFC 3339") == true)
    }

    @Test("unknown extra fields")
    func unknownFields() {
        #expect(refusal(with("priority", "1"))?.field == "priority")
        #expect(refusal(with("priority", #"{"deep":[1,2,{"x":null}]}"#))?.field == "priority")
        #expect(refusal(with("mode", #""warm""#))?.field == "mode")  // a field of another type
        #expect(refusal(with("customer", #"{"id":"c-1","email":"a@b"}"#))?.field == "customer.email")
        #expect(refusal(with("customer", #"{"id":"c-1","sealed":"x"}"#))?.field == "customer.sealed")
        #expect(refusal(with("sealed", #""cus_0:eA==""#))?.field == "sealed")  // the stored form's field
        #expect(throws: Never.self) { try EventDecoder(mode: .stored).decode(with("sealed", #""cus_0:eA==""#)) }
        let staffWithTicket = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"personalDataErased","at":"2024-03-01T09:30:05Z","actor":"dpo","channel":"ask:x","customer":"c","ticket":"T"}"#
        #expect(refusal(staffWithTicket)?.field == "ticket")
    }

    @Test("duplicate keys")
    func duplicates() {
        var pairs = base
        pairs.append(("agent", #""a-18""#))
        #expect(refusal(line(pairs))?.field == "agent")
        #expect(refusal(line(pairs))?.message == "duplicate key")
        #expect(refusal(with("customer", #"{"id":"c-1","id":"c-2"}"#))?.field == "customer.id")
        // An escaped spelling of a known key is the same key.
        pairs = base
        pairs.append(("\\u0061gent", #""a-18""#))
        #expect(refusal(line(pairs))?.field == "agent")
    }

    @Test("ids: empty, too long, not a UUID")
    func ids() {
        #expect(refusal(with("agent", #""""#))?.message == "must not be empty")
        #expect(refusal(with("ticket", #""""#))?.field == "ticket")
        #expect(refusal(with("customer", #"{"id":""}"#))?.field == "customer.id")
        let long = String(repeating: "x", count: 201)
        #expect(refusal(with("actor", "\"\(long)\""))?.field == "actor")
        #expect(throws: Never.self) { try EventDecoder().decode(with("actor", "\"\(String(long.dropLast()))\"")) }
        let uuid = refusal(with("id", #""not-a-uuid""#))
        #expect(uuid?.field == "id")
        #expect(uuid?.eventID == "not-a-uuid")
        #expect(refusal(with("id", #""{0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d}""#))?.field == "id")
    }

    @Test("numbers: hourlyCost and exportMade")
    func numbers() {
        func staff(_ cost: String) -> String {
            #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"staffEnrolled","at":"2024-03-01T09:30:05Z","actor":"system","channel":"ask:x","staff":"s","name":"n","role":"agent","hourlyCost":\#(cost)}"#
        }
        for bad in ["1.00001", "-1", "1000000000", "\"42.5\"", "1e9"] {
            #expect(refusal(staff(bad))?.field == "hourlyCost")
        }
        for good in ["42.5", "4.25e1", "0", "1.50000", "999999999.9999"] {
            #expect(throws: Never.self) { try EventDecoder().decode(staff(good)) }
        }
        func export(_ root: String, _ count: String = "3") -> String {
            #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"exportMade","at":"2024-03-01T09:30:05Z","actor":"system","channel":"ask:x","from":1,"to":3,"count":\#(count),"root":"\#(root)","operator":"m","purpose":"p","filter":"","pseudonymized":false}"#
        }
        #expect(throws: Never.self) { try EventDecoder().decode(export("00ff")) }
        #expect(refusal(export("00FF"))?.field == "root")
        #expect(refusal(export("xyz1"))?.field == "root")
        #expect(refusal(export("00ff", "3.5"))?.field == "count")
    }

    @Test("an otherParty alternative needs a party")
    func partyRequired() {
        let text = #"{"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"alternativeOffered","at":"2024-03-01T09:30:05Z","actor":"a","channel":"ask:x","ticket":"T","agent":"a","kind":"otherParty","accepted":true}"#
        #expect(refusal(text)?.field == "party")
    }

    @Test("nesting depth is bounded")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(refusal(with("extra", deep))?.message.contains("nesting") == true)
    }

    @Test("refusals describe themselves")
    func describes() {
        let error = refusal(with("agent", nil))
        #expect(error?.description == "schema: agent: missing required field (id 0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d)")
    }
}
