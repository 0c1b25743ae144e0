import Testing
@testable import EscalationDomain

@Suite("Timestamp (RFC 3339)")
struct TimestampTests {
    @Test("valid times and their canonical form", arguments: [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", Int64(0)),
        ("1970-01-01T00:00:00.000001Z", "1970-01-01T00:00:00.000001Z", 1),
        ("2024-03-01T09:30:05.250Z", "2024-03-01T09:30:05.25Z", 1_709_285_405_250_000),
        ("2024-03-01t09:30:05.25z", "2024-03-01T09:30:05.25Z", 1_709_285_405_250_000),
        ("2024-03-01T10:30:05.25+01:00", "2024-03-01T09:30:05.25Z", 1_709_285_405_250_000),
        ("2024-03-01T04:00:05.25-05:30", "2024-03-01T09:30:05.25Z", 1_709_285_405_250_000),
        ("2024-03-01T09:30:05.25-00:00", "2024-03-01T09:30:05.25Z", 1_709_285_405_250_000),
        ("2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59.999999Z", 1_709_251_199_999_999),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z", 951_782_400_000_000),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", -500_000),
        ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z", 1_704_065_400_000_000),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", -62_167_219_200_000_000),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
    ])
    func valid(_ input: String, _ canonical: String, _ micros: Int64) throws {
        let t = try #require(Timestamp(rfc3339: input))
        #expect(t.microsecondsSinceEpoch == micros)
        #expect(t.description == canonical)
        #expect(Timestamp(rfc3339: canonical) == t)
    }

    @Test("invalid times", arguments: [
        "", "2024-03-01", "2024-03-01T09:30:05", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
        "2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z",
        "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00+0100",
        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60", "2024-01-01T00:00:00ZZ", " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z ", "+2024-01-01T00:00:00Z", "2024-1-01T00:00:00Z", "２０２４-01-01T00:00:00Z",
        "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2024-01-01T00:00:00,5Z",
    ])
    func invalid(_ input: String) {
        #expect(Timestamp(rfc3339: input) == nil)
    }

    @Test("arithmetic and ordering")
    func arithmetic() throws {
        let t = try #require(Timestamp(rfc3339: "2024-02-28T12:00:00Z"))
        #expect(t.adding(days: 1).description == "2024-02-29T12:00:00Z")
        #expect(t.adding(days: 2).description == "2024-03-01T12:00:00Z")
        #expect(t.adding(days: -365).description == "2023-02-28T12:00:00Z")
        #expect(t.adding(seconds: 3600).description == "2024-02-28T13:00:00Z")
        #expect(t.adding(microseconds: 1).description == "2024-02-28T12:00:00.000001Z")
        #expect(t.adding(days: 7).microseconds(since: t) == 7 * Timestamp.microsecondsPerDay)
        #expect(t.adding(seconds: 90).seconds(since: t) == 90)
        #expect(t < t.adding(microseconds: 1))
        let now = Timestamp.now()
        #expect(now > t && now < Timestamp.max)
    }

    @Test("every day of a 400-year cycle round-trips through the canonical form")
    func calendarRoundTrip() throws {
        var t = try #require(Timestamp(rfc3339: "1800-01-01T00:00:00.000007Z"))
        for _ in 0..<146_097 {
            let s = t.description
            #expect(Timestamp(rfc3339: s) == t)
            t = t.adding(days: 1)
        }
        #expect(t.description == "2200-01-01T00:00:00.000007Z")
    }
}

@Suite("ExactDecimal")
struct ExactDecimalTests {
    @Test("parse and canonical form", arguments: [
        ("0", "0", Int64(0)), ("100", "100", 1_000_000), ("42.5", "42.5", 425_000), ("42.50", "42.5", 425_000),
        ("0.0001", "0.0001", 1), ("1.2345", "1.2345", 12_345), ("999999999.9999", "999999999.9999", 9_999_999_999_999),
        ("4.25e1", "42.5", 425_000), ("1E2", "100", 1_000_000), ("12500e-4", "1.25", 12_500), ("0.00000", "0", 0),
        ("1.100000000000000000000000", "1.1", 11_000), ("0e5", "0", 0),
    ])
    func valid(_ input: String, _ canonical: String, _ units: Int64) throws {
        let d = try #require(ExactDecimal(input))
        #expect(d.units == units)
        #expect(d.description == canonical)
        #expect(ExactDecimal(canonical) == d)
        #expect(d.isInteger == !canonical.contains("."))
    }

    @Test("refused", arguments: [
        "", "-1", "-0", "0.00001", "1000000000", "1e9", "1e-5", "01", "1.", ".5", "+1", "1e", "NaN", "0x10",
        "99999999999999999999999", "1 ",
    ])
    func invalid(_ input: String) {
        #expect(ExactDecimal(input) == nil)
    }

    @Test("units bounds and ordering")
    func bounds() {
        #expect(ExactDecimal(units: -1) == nil)
        #expect(ExactDecimal(units: ExactDecimal.limitUnits) == nil)
        #expect(ExactDecimal(units: ExactDecimal.limitUnits - 1)?.description == "999999999.9999")
        #expect(ExactDecimal(7)?.description == "7")
        #expect(ExactDecimal("1.5")! < ExactDecimal("2")!)
        #expect(ExactDecimal("0.25")!.doubleValue == 0.25)
    }
}

@Suite("EventID")
struct EventIDTests {
    @Test("parse, format, bytes")
    func basics() throws {
        let id = try #require(EventID("0B7C3E2A-1D4F-4A5B-9C6D-7E8F9A0B1C2D"))
        #expect(id.description == "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d")
        #expect(id.bytes == [0x0b, 0x7c, 0x3e, 0x2a, 0x1d, 0x4f, 0x4a, 0x5b, 0x9c, 0x6d, 0x7e, 0x8f, 0x9a, 0x0b, 0x1c, 0x2d])
        #expect(EventID(bytes: id.bytes) == id)
        #expect(EventID(bytes: [1, 2, 3]) == nil)
        for bad in ["", "0b7c3e2a1d4f4a5b9c6d7e8f9a0b1c2d", "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2", "0b7c3e2a-1d4f-4a5b-9c6d_7e8f9a0b1c2d",
                    "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2g", "{0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d}"] {
            #expect(EventID(bad) == nil)
        }
        let r = EventID.random()
        #expect(EventID(r.description) == r)
        #expect(r.description.dropFirst(14).first == "4")
        #expect("89ab".contains(r.description.dropFirst(19).first!))
        #expect(EventID(high: 0, low: 1) < EventID(high: 0, low: 2))
        #expect(EventID(high: 0, low: .max) < EventID(high: 1, low: 0))
    }

    /// The parser reads eight digits a word at a time: every byte value at every place of an
    /// id (and of ids of random digits in either case) gives what a digit-by-digit reading gives.
    @Test("parse agrees with a digit-by-digit reading at every byte")
    func parseAgreesWithAReference() {
        func reference(_ b: [UInt8]) -> EventID? {
            guard b.count == 36 else { return nil }
            var h: UInt64 = 0, l: UInt64 = 0, n = 0
            for (i, c) in b.enumerated() {
                if [8, 13, 18, 23].contains(i) {
                    guard c == UInt8(ascii: "-") else { return nil }
                    continue
                }
                let v: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                if n < 16 { h = h << 4 | UInt64(v) } else { l = l << 4 | UInt64(v) }
                n += 1
            }
            return EventID(high: h, low: l)
        }
        func parse(_ b: [UInt8]) -> EventID? { b.withUnsafeBytes { EventID.parse($0) } }
        var g = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdefABCDEF".utf8)
        for _ in 0..<200 {
            var id = Array(EventID.random(using: &g).description.utf8)
            for i in id.indices where id[i] != UInt8(ascii: "-") { id[i] = digits.randomElement(using: &g)! }
            #expect(parse(id) == reference(id))
            #expect(parse(id) != nil)
        }
        let base = Array("0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d".utf8)
        var mismatches = 0
        for i in base.indices {
            for byte in 0...255 {
                var b = base
                b[i] = UInt8(byte)
                if parse(b) != reference(b) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }
}

@Suite("Enumerations")
struct EnumerationTests {
    @Test("roles are ordered by seniority; compliance stands outside the line")
    func roles() {
        #expect(Role.allCases.compactMap(\.rank) == [0, 1, 2, 3, 4, 5])
        #expect(Role.allCases.filter(\.isSupervisorOrAbove) == [.supervisor, .manager, .director])
        #expect(Role.teamLead.isAtLeast(.teamLead) && !Role.teamLead.isAtLeast(.supervisor))
        #expect(Role.compliance.rank == nil)
        #expect(!Role.compliance.isSupervisorOrAbove)
        #expect(!Role.compliance.isAtLeast(.agent) && !Role.agent.isAtLeast(.compliance))
        #expect(Role.allCases.firstIndex(of: .compliance) == 6, "the ledger stores roles by position")
        #expect(Level.manager.role == .manager && Level.supervisor < Level.director)
        #expect(Severity.coaching < .finalWarning)
    }

    @Test("rules have the contract's names")
    func rules() {
        #expect(Rule.all.map(\.rawValue) == [
            "schema", "directMessage", "unknownStaff", "unknownTicket", "ticketExists", "ticketClosed", "notOwner",
            "notDirectSuperior", "selfTransfer", "noCallbackScheduled", "callbackInPast", "legalHold", "noLegalHold",
            "unknownCustomer", "notAuthorized", "reportingCycle", "outOfOrder", "conflict", "duplicateId",
        ])
    }

    @Test("the key table is the catalogue's keys in code-point order")
    func keyTable() {
        #expect(Key.allCases.count == SlotIndex.keyCount)
        let names = Key.allCases.map(\.name)
        #expect(names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(names.contains("extension") && names.contains("type"))
        for key in Key.allCases {
            #expect(Key.lookup(PackedName(key.name)) == key)
        }
        for other in ["", "ac", "actors", "Actor", "announcedExtensionX", "typ", "i", "a\u{0}", String(repeating: "x", count: 30)] {
            #expect(Key.lookup(PackedName(other)) == nil)
        }
        let used = Set(EventType.allCases.flatMap(\.bodyKeys)).union([.id, .type, .at, .actor, .channel, .ticket, .expectedVersion, .sealed])
        #expect(used == Set(Key.allCases))
    }
}
