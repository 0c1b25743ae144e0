import Compliance
import Crypto
import EscalationDomain
import Foundation
import Ledger
import Testing

/// CONTRACT.md section 7 and docs/PRIVACY.md: personal data is clear until erasure,
/// `[erased]` after it in every output, whatever is recorded later; nothing in the
/// ledger's files recovers or confirms an erased value; failed appends leave nothing.
@Suite struct PrivacyTests {
    /// Every personal field of the catalogue, with a value found nowhere else.
    static let values = [
        "customer.id": "cust-7f3a9", "customer.name": "Zelda Quist", "customer.phone": "+44 7700 900461",
        "issue": "refund for order 88231", "goal": "a manager's apology", "reason": "policy forbids it 4411",
        "text": "customer said her card ends 9902", "lessons": "listen to Zelda earlier",
    ]

    /// The organisation, then ticket T1 for the customer with every personal field recorded.
    static func history(_ s: inout Script, customer: String = values["customer.id"]!, ticket: String = "T1", at t: Double = 1) -> [String] {
        let v = values
        return [
            s.line("callOpened", t, actor: "a1", ticket: ticket, ["agent": "a1", "issue": v["issue"]!,
                   "customer": ["id": customer, "name": v["customer.name"]!, "phone": v["customer.phone"]!]]),
            s.line("escalationRequested", t + 1, actor: "a1", ticket: ticket, ["requestedBy": "customer", "scenario": "immediate",
                   "reason": "policyException", "level": "supervisor", "goal": v["goal"]!]),
            s.line("deEscalationAttempted", t + 2, actor: "a1", ticket: ticket, ["agent": "a1", "technique": "empathize", "outcome": "declined"]),
            s.line("requestDeclined", t + 3, actor: "s1", ticket: ticket, ["by": "s1", "reason": v["reason"]!]),
            s.line("noteLogged", t + 4, actor: "a1", ticket: ticket, ["author": "a1", "text": v["text"]!]),
            s.line("ticketResolved", t + 5, actor: "a1", ticket: ticket, ["by": "a1", "resolution": "resolvedByAgent"]),
            s.line("debriefHeld", t + 6, actor: "tl1", ticket: ticket, ["agent": "a1", "coach": "tl1", "lessons": v["lessons"]!]),
        ]
    }

    /// Everything a person or a job can read of the ticket: its events revealed, the audit
    /// trail, and a full export's files.
    static func everyOutput(_ ledger: Ledger, ticket: String = "T1") throws -> String {
        let point = try ledger.point(asOf: nil, now: nil)
        var out = try ledger.ticketEvents(ticket, at: point, view: .revealed).map { String(decoding: $0.json, as: UTF8.self) }
        out += try ledger.audit(.init(ticket: ticket)).map(\.summary)
        let dir = temporaryDirectory()
        _ = try ledger.export(to: dir, .init(ticket: ticket, operator: "m1", purpose: "test"))
        for f in [Bundle.eventsFile, Bundle.csvFile, Bundle.personalFile] { out.append(try String(contentsOfFile: dir + "/" + f, encoding: .utf8)) }
        return out.joined(separator: "\n")
    }

    @Test func everyPersonalFieldIsClearThenErasedEverywhereWhateverComesLater() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let lines = s.organisation() + PrivacyTests.history(&s)
        #expect(try ledger.importStrings(lines).refused.isEmpty)
        let before = try PrivacyTests.everyOutput(ledger)
        for (field, value) in PrivacyTests.values { #expect(before.contains(value), "\(field) is shown in clear before erasure") }
        // Masked by default: the ticket's events show none of it.
        let masked = try ledger.ticketEvents("T1", at: try ledger.point(asOf: nil, now: nil)).map { String(decoding: $0.json, as: UTF8.self) }.joined()
        for (field, value) in PrivacyTests.values { #expect(!masked.contains(value), "\(field) is masked by default") }

        let erase = s.line("personalDataErased", 20, actor: "m1", channel: "ask:compliance", ["customer": PrivacyTests.values["customer.id"]!])
        #expect(try ledger.importStrings([erase]).appended == 1)
        // A retried callOpened (a duplicate), then a new call by the same customer id.
        let retry = try ledger.importStrings([lines[lines.count - 7]])
        #expect(retry.duplicates == 1 && retry.refused.isEmpty)
        let newCall = PrivacyTests.history(&s, ticket: "T2", at: 30)
        #expect(try ledger.importStrings(newCall).refused.isEmpty)

        let after = try PrivacyTests.everyOutput(ledger)
        for (field, value) in PrivacyTests.values { #expect(!after.contains(value), "\(field) stays erased on T1") }
        #expect(after.contains(Ledger.erased))
        // The new call is a new record: clear, under a new pseudonym nothing links to the old one.
        let fresh = try ledger.ticketEvents("T2", at: try ledger.point(asOf: nil, now: nil), view: .revealed)
        #expect(String(decoding: fresh[0].json, as: UTF8.self).contains("Zelda Quist"))
        let opened = try ledger.log.events().map { String(decoding: $0.payload, as: UTF8.self) }.filter { $0.contains(#""type":"callOpened""#) }
        let pseudonyms = opened.compactMap { line in line.range(of: #"cus_[0-9a-f]{32}"#, options: .regularExpression).map { String(line[$0]) } }
        #expect(pseudonyms.count == 2 && pseudonyms[0] != pseudonyms[1], "the new call has a new pseudonym")
        #expect(try ledger.log.verify().ok)
    }

    @Test func erasedValuesCannotBeFoundOrConfirmedFromTheFiles() throws {
        let dir = temporaryDirectory()
        var s = Script()
        let id = PrivacyTests.values["customer.id"]!
        var oldKEK: [UInt8] = []
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(s.organisation() + PrivacyTests.history(&s) + [s.open("T9", 50, customer: "keep-1")]).refused.isEmpty)
            let keys = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys")
            oldKEK = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + keys[0])))
            let erase = s.line("personalDataErased", 60, actor: "m1", channel: "ask:compliance", ["customer": id])
            #expect(try ledger.importStrings([erase]).appended == 1)
        }
        // Every byte of every file of the ledger's directory.
        var files: [[UInt8]] = []
        let walker = FileManager.default.enumerator(atPath: dir)!
        while let name = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDir), !isDir.boolValue {
                files.append(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))))
            }
        }
        func found(_ needle: [UInt8]) -> Bool { !foundAny([needle]).isEmpty }
        /// The needles (8 bytes or more) found anywhere, in one pass over the files.
        func foundAny(_ needles: [[UInt8]]) -> [[UInt8]] {
            let heads = Dictionary(needles.map { n in (n.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }, n) }, uniquingKeysWith: { a, _ in a })
            var hits: [[UInt8]] = []
            for f in files where f.count >= 8 {
                f.withUnsafeBytes { h in
                    for i in 0...(h.count - 8) {
                        let w = h.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                        if w != 0, let n = heads[w], i + n.count <= h.count, h[i..<(i + n.count)].elementsEqual(n) { hits.append(n) }
                    }
                }
            }
            return hits
        }
        for (field, value) in PrivacyTests.values { #expect(!found(Array(value.utf8)), "\(field) in clear in a file") }
        #expect(!found(oldKEK), "the key-encryption key of the erased records survives")
        // The search itself finds what is there: the current key-encryption key's bytes.
        let current = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys")
        #expect(current.count == 1)
        let currentKEK = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + current[0])))
        #expect(found(currentKEK), "the search does not find the live key-encryption key")
        // Confirming guesses: with every key the files hold, no candidate's look-up entry or
        // digest is present (the true id among 10,000 candidates).
        let keyFiles = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys")
        var candidates = (0..<9_999).map { "cust-\(String($0, radix: 16))" }
        candidates.append(id)
        for k in keyFiles {
            let kek = SymmetricKey(data: try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + k)))
            let lookup = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array("lookup".utf8), using: kek)))
            let hits = foundAny(candidates.map { Array(HMAC<SHA256>.authenticationCode(for: Array($0.utf8), using: lookup)) })
            #expect(hits.isEmpty, "\(hits.count) look-up entries confirm a candidate")
        }
        // The survivor is still readable, and the chain verifies.
        let ledger = try Ledger.open(at: dir)
        #expect(try ledger.log.verify().ok)
        let kept = try ledger.ticketEvents("T9", at: try ledger.point(asOf: nil, now: nil), view: .revealed)
        #expect(String(decoding: kept[0].json, as: UTF8.self).contains("keep-1"))
    }

    @Test func refusedAndRolledBackEventsLeaveNoKeyLinkOrLookUp() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(s.organisation())
        let count = { try ledger.log.environment.read { try ledger.vault.count(in: $0) } }
        // Refused by a rule (unknown agent), and an atomic batch rolled back by its last line.
        let refused = s.line("callOpened", 1, actor: "nobody", ticket: "T1", ["agent": "nobody", "issue": "x", "customer": ["id": "ghost-1"]])
        #expect(try ledger.importStrings([refused]).refused.first?.rule == "unknownStaff")
        let rolledBack = try ledger.importStrings([s.open("T2", 2, customer: "ghost-2"), s.line("noteLogged", 3, actor: "a1", ticket: "T404", ["author": "a1", "text": "x"])], atomic: true)
        #expect(rolledBack.rolledBack)
        #expect(try count() == 0)
        for ghost in ["ghost-1", "ghost-2"] {
            #expect(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: ghost, in: $0) } == nil)
        }
        // A hold for a customer nobody opened a call for is refused.
        let hold = s.line("legalHoldPlaced", 4, actor: "m1", channel: "ask:compliance", ["customer": "ghost-2", "matter": "M-1"])
        #expect(try ledger.importStrings([hold]).refused.first?.rule == "unknownCustomer")
    }

    @Test func revealingIsRecordedFirstAndOnlyForComplianceRoles() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(s.organisation() + PrivacyTests.history(&s))
        let point = try ledger.point(asOf: nil, now: nil)
        #expect(throws: (any Error).self) { try ledger.ticketEvents("T1", at: point, reveal: .init(operator: "a1", purpose: "curious")) }
        let head = try ledger.log.head().seq
        let shown = try ledger.ticketEvents("T1", at: point, reveal: .init(operator: "m1", purpose: "subject access 17"))
        #expect(String(decoding: shown[0].json, as: UTF8.self).contains("Zelda Quist"))
        let record = try #require(try ledger.log.event(seq: head + 1))
        let text = String(decoding: record.payload, as: UTF8.self)
        #expect(text.contains("personalDataRevealed") && text.contains("subject access 17") && text.contains("\"m1\""))
    }
}
