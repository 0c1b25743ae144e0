import Foundation
import Testing

/// CONTRACT.md section 8: text for people has its control characters escaped;
/// JSON output stays exact.
@Suite("control characters never reach the terminal raw")
struct EscapingTests {
    /// Control characters other than the line breaks between lines.
    static func rawControls(_ text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter { ($0 < 0x20 && $0 != 0x0A) || (0x7F...0x9F).contains($0) }
    }

    static let hostile = [
        // Free text may hold control characters: a staff name and a note.
        #"{"id":"\#(Fixture.id(0x201))","type":"staffEnrolled","at":"2026-03-01T08:00:04Z","actor":"system","channel":"ask:org","staff":"a-2","name":"Eve\u001b[2J\nEvil\u0007","role":"agent","reportsTo":"tl-1"}"#,
        #"{"id":"\#(Fixture.id(0x202))","type":"callOpened","at":"2026-03-02T10:00:00Z","actor":"a-2","channel":"ask:billing","ticket":"T-2","agent":"a-2","customer":{"id":"c-2"},"issue":"x"}"#,
        #"{"id":"\#(Fixture.id(0x203))","type":"noteLogged","at":"2026-03-02T10:01:00Z","actor":"a-2","channel":"ask:billing","ticket":"T-2","author":"a-2","text":"note\u001b]0;pwned\u0007 and\r\nmore\u0085"}"#,
    ]

    /// Identifiers holding control characters: refused by the identifier rule.
    static let badIDs = [
        #"{"id":"\#(Fixture.id(0x301))","type":"callOpened","at":"2026-03-02T11:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"T\u001b[2J","agent":"a-1","customer":{"id":"c-3"},"issue":"x"}"#,
        #"{"id":"\#(Fixture.id(0x302))","type":"callOpened","at":"2026-03-02T11:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-3","agent":"a-1","customer":{"id":"c\n[31mforged line"},"issue":"x"}"#,
        #"{"id":"\#(Fixture.id(0x303))","type":"staffEnrolled","at":"2026-03-02T11:00:00Z","actor":"system","channel":"ask:org\u009b2J","staff":"a-9","name":"N","role":"agent","reportsTo":"tl-1"}"#,
    ]

    @Test("refusals of ids with control characters are escaped on standard error")
    func refusedIDs() throws {
        let ledger = try FixtureLedger()
        let file = try ledger.dir.file("bad-ids.jsonl", Self.badIDs)
        let r = try ledger.run(["import", file])
        #expect(r.status == 3)
        #expect(Self.rawControls(r.stderr).isEmpty, "raw control characters: \(Self.rawControls(r.stderr))")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 3, "one line per refusal, nothing forged: \(lines)")
        #expect(lines.allSatisfy { $0.hasPrefix("line ") && $0.contains(": schema: ") })
        #expect(r.stderr.contains(#"\u{1B}[2J"#) && r.stderr.contains(#"\n[31m"#) && r.stderr.contains(#"\u{9B}2J"#))
        #expect(r.stderr.contains("field ticket") && r.stderr.contains("field customer.id") && r.stderr.contains("field channel"))

        let json = try ledger.run(["import", file, "--json"])
        let refused = try JSONCheck.array(try JSONCheck.object(try json.json())["refused"])
        #expect(refused.count == 3)
    }

    @Test("free text with control characters: escaped in tables, exact in JSON")
    func freeText() throws {
        let ledger = try FixtureLedger(lines: Fixture.good + Self.hostile)
        for args in [["scorecard"], ["audit", "--ticket", "T-2"], ["audit", "--staff", "a-2"], ["ticket", "T-2"]] {
            let r = try ledger.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(Self.rawControls(r.stdout).isEmpty, "\(args): raw control characters \(Self.rawControls(r.stdout))")
            #expect(!r.stdout.contains("\nEvil") && !r.stdout.contains("\nmore"), "\(args): a value broke a line")
        }
        let cards = try ledger.run(["scorecard"])
        #expect(cards.stdout.contains(#"Eve\u{1B}[2J\nEvil"#), "\(cards.stdout)")
        // Free text is masked in queries unless revealed; revealed, it is escaped too.
        let audit = try ledger.run(["audit", "--ticket", "T-2"])
        #expect(audit.stdout.contains("[masked]") && !audit.stdout.contains("pwned"), "\(audit.stdout)")
        let revealed = try ledger.run(["ticket", "T-2", "--reveal", "--operator", "dir-1", "--purpose", "QA review"])
        #expect(revealed.status == 0, "\(revealed.stderr)")
        #expect(Self.rawControls(revealed.stdout).isEmpty)
        #expect(revealed.stdout.contains(#"note\u{1B}]0;pwned\u{07} and more"#), "\(revealed.stdout)")

        // JSON keeps the exact value.
        let json = try JSONCheck.array(try ledger.json(["scorecard", "a-2"]))
        #expect(try JSONCheck.object(json.first)["name"] as? String == "Eve\u{1B}[2J\nEvil\u{7}")
    }

    @Test("errors naming a hostile argument are escaped")
    func errors() throws {
        let ledger = try FixtureLedger()
        for args in [["scorecard", "ghost\u{1B}[2J\nforged"], ["ticket", "T\u{1B}[2J\nforged"]] {
            let r = try ledger.run(args)
            #expect(r.status != 0)
            #expect(Self.rawControls(r.stderr).isEmpty, "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("\nforged"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains(#"\u{1B}[2J\nforged"#), "\(r.stderr)")
        }
    }
}
