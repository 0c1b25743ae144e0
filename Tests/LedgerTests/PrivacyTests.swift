import Compliance
import Crypto
import EscalationDomain
import EventLog
import Foundation
import Ledger
import LMDB
import Privacy
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
        var pseudonym = ""
        let organisation = s.organisation()
        let history = PrivacyTests.history(&s)
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(organisation + history + [s.open("T9", 50, customer: "keep-1")]).refused.isEmpty)
            let keys = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys")
            oldKEK = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + keys[0])))
            pseudonym = try #require(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: id, in: $0) })
            let erase = s.line("personalDataErased", 60, actor: "m1", channel: "ask:compliance", ["customer": id])
            #expect(try ledger.importStrings([erase]).appended == 1)
        }
        let files = try LedgerFiles(dir)
        for (field, value) in PrivacyTests.values { #expect(!files.contains(Array(value.utf8)), "\(field) in clear in a file") }
        // The two shard keys that sealed the erased customer's record and look-up entry are gone
        // from every file (the other 4,094 shard keys carry over to the new generation).
        #expect(oldKEK.count == 32 + 32 * 4096)
        let recordShard = Int(pseudonym.dropFirst(4).prefix(3), radix: 16)!
        let lookupShard = Int(LedgerFiles.lookupEntry(id, kek: oldKEK)[0]) << 8 | Int(LedgerFiles.lookupEntry(id, kek: oldKEK)[1])
        for shard in Set([recordShard, lookupShard]) {
            #expect(!files.contains(Array(oldKEK[(32 + 32 * shard)..<(64 + 32 * shard)])), "the old key of shard \(shard) survives")
        }
        let untouched = (0..<4096).first { $0 != recordShard && $0 != lookupShard }!
        #expect(files.contains(Array(oldKEK[(32 + 32 * untouched)..<(64 + 32 * untouched)])), "a shard key that was not rotated carries over")
        // The idempotency digest is over the event with its personal data blanked: the digest of
        // the call in clear, which would confirm a guess of all its values, is nowhere.
        #expect(!files.contains(try PrivacyCustomer.clearDigest(history[0])), "a digest of the call in clear")
        // The search itself finds what is there: the current key-encryption key's bytes.
        #expect(files.keyFiles.count == 1)
        let currentKEK = try #require(files.keyFiles.first).bytes
        #expect(files.contains(currentKEK), "the search does not find the live key-encryption key")
        // Confirming guesses: with every key the files hold, no candidate's look-up entry is
        // present (the true id among 10,000 candidates), while the survivor's is.
        var candidates = (0..<9_998).map { "cust-\(String($0, radix: 16))" }
        candidates += [id, "keep-1"]
        #expect(files.confirmed(candidates) == ["keep-1"], "only the live customer's id is confirmed")
        // The survivor is still readable, and the chain verifies.
        let ledger = try Ledger.open(at: dir)
        #expect(try ledger.log.verify().ok)
        let kept = try ledger.ticketEvents("T9", at: try ledger.point(asOf: nil, now: nil), view: .revealed)
        #expect(String(decoding: kept[0].json, as: UTF8.self).contains("keep-1"))
    }

    /// Format 3: an erasure rotates the one or two shards it touched (docs/FORMAT.md). Every
    /// record and look-up entry of those shards is sealed again, and nothing else changes.
    @Test func anErasureResealsOnlyTheShardsItTouched() throws {
        let dir = temporaryDirectory()
        let ledger = try Ledger.open(at: dir)
        var s = Script()
        var lines = s.organisation()
        for t in 0..<600 { lines.append(s.open("T\(t)", Double(t), customer: "shard-cust-\(t)")) }
        #expect(try ledger.importStrings(lines).refused.isEmpty)
        let erased = "shard-cust-17"
        let pseudonym = try #require(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: erased, in: $0) })
        let file = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/kek.1")))
        let recordShard = Int(pseudonym.dropFirst(4).prefix(3), radix: 16)!
        let entry = LedgerFiles.lookupEntry(erased, kek: file)
        let lookupShard = Int(entry[0]) << 8 | Int(entry[1])
        let rotated = Set([recordShard, lookupShard])
        let customersBefore = try ledger.privacyTable("privacy.customers")
        let lookupBefore = try ledger.privacyTable("privacy.lookup")
        #expect(lookupBefore[entry.hex] == Array(pseudonym.utf8).hex, "the look-up entry is where docs/FORMAT.md puts it")

        #expect(try ledger.importStrings([s.line("personalDataErased", 700, actor: "m1", ["customer": erased])]).appended == 1)
        let customersAfter = try ledger.privacyTable("privacy.customers")
        let lookupAfter = try ledger.privacyTable("privacy.lookup")
        let newFile = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/kek.2")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/keys") == ["kek.2"])
        // The key file: the same salt and shard keys, but for the rotated shards.
        for shard in 0..<4096 {
            let same = file[(32 + 32 * shard)..<(64 + 32 * shard)] == newFile[(32 + 32 * shard)..<(64 + 32 * shard)]
            #expect(same == !rotated.contains(shard), "shard \(shard)")
        }
        #expect(file[0..<32] == newFile[0..<32])
        // Records: the erased one gone; those of rotated shards sealed again; all others byte for byte as before.
        let erasedKey = Array(pseudonym.utf8).hex
        #expect(customersAfter[erasedKey] == nil && customersAfter.count == customersBefore.count - 1)
        for (key, value) in customersBefore where key != erasedKey {
            let shard = Int(String(decoding: Hex.decode(key)!.dropFirst(4).prefix(3), as: UTF8.self), radix: 16)!
            #expect((customersAfter[key] != value) == rotated.contains(shard), "record of shard \(shard)")
        }
        // Look-up entries: those of rotated shards rekeyed under the new keys; every live customer still found.
        for (key, _) in lookupBefore where key != entry.hex {
            let shard = Int(Hex.decode(key)![0]) << 8 | Int(Hex.decode(key)![1])
            #expect((lookupAfter[key] == nil) == rotated.contains(shard), "look-up entry of shard \(shard)")
        }
        #expect(lookupAfter.count == lookupBefore.count - 1)
        for t in 0..<600 where "shard-cust-\(t)" != erased {
            let id = "shard-cust-\(t)"
            #expect(lookupAfter[LedgerFiles.lookupEntry(id, kek: newFile).hex] != nil, "\(id) is found under the new keys")
        }
        #expect(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: erased, in: $0) } == nil)
        #expect(try ledger.verifyDeep().ok)
    }

    @Test func aClearExportIsARevealAndItsCustomerFilterSurvivesNoErasure() throws {
        let dir = temporaryDirectory()
        let ledger = try Ledger.open(at: dir)
        var s = Script()
        let id = "cust-export-filter-7781"
        #expect(try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: id), s.open("T2", 2, customer: "other-customer-1")]).refused.isEmpty)
        let head = try ledger.log.head().seq
        // A clear export of one customer: personalDataRevealed names exactly them, then exportMade
        // records the selection with their pseudonym.
        _ = try ledger.export(to: temporaryDirectory(), .init(customer: id, operator: "m1", purpose: "subject access"))
        let decoder = EventDecoder(mode: .stored)
        let reveal = try decoder.decode(try #require(try ledger.log.event(seq: head + 1)).payload)
        let made = try decoder.decode(try #require(try ledger.log.event(seq: head + 2)).payload)
        let pseudonym = try #require(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: id, in: $0) })
        guard case .personalDataRevealed(let r) = reveal.body, case .exportMade(let m) = made.body else {
            Issue.record("expected personalDataRevealed then exportMade, got \(reveal.type) and \(made.type)"); return
        }
        #expect(r.customers == [pseudonym] && r.operator == "m1" && r.query.contains(pseudonym))
        #expect(m.filter == "--customer " + pseudonym)
        // A pseudonymised export reveals nothing.
        _ = try ledger.export(to: temporaryDirectory(), .init(pseudonymize: true, operator: "m1", purpose: "stats"))
        #expect(try decoder.decode(try #require(try ledger.log.event(seq: head + 3)).payload).type == .exportMade)
        // Erased: the real id is nowhere in the files, filter included.
        #expect(try ledger.importStrings([s.line("personalDataErased", 10, actor: "m1", ["customer": id, "reason": "subject request 17"])]).refused.isEmpty)
        #expect(!(try LedgerFiles(dir)).contains(Array(id.utf8)), "the erased customer's id survives in the ledger's files")
        // The optional reason (CONTRACT.md section 3) is kept, in clear: it is the request, not the customer's words.
        let erased = try decoder.decode(try #require(try ledger.log.event(seq: try ledger.log.head().seq)).payload)
        guard case .personalDataErased(let e) = erased.body else { Issue.record("expected personalDataErased"); return }
        #expect(e.reason == "subject request 17" && e.customer == pseudonym)
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

    /// A `callOpened` comes with a new customer made and sealed before the append transaction
    /// (Ledger.PreparedBatch); the writer must still use the live customer when there is one, also
    /// when that customer was made by an earlier line of the same batch, and a new one after
    /// an erasure in that batch.
    @Test func aCustomerMadeBeforeTheTransactionIsUsedOnlyWhenNoneIsLive() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(s.organisation() + [s.open("T0", 1, customer: "known-1")])
        let lines = [
            s.open("T1", 2, customer: "new-1"), s.open("T2", 3, customer: "new-1"),
            s.open("T3", 4, customer: "known-1"),
            s.line("personalDataErased", 5, actor: "m1", channel: "ask:compliance", ["customer": "new-1"]),
            s.open("T4", 6, customer: "new-1"),
        ]
        #expect(try ledger.importStrings(lines).appended == 5)  // one batch, one transaction
        let links = try ledger.log.environment.read { txn in
            try ["T0", "T1", "T2", "T3", "T4"].map { try #require(try ledger.vault.customerOfTicket($0, in: txn)) }
        }
        #expect(links[1] == links[2], "the second call of a customer new in this batch gets the first call's pseudonym")
        #expect(links[3] == links[0], "a known customer keeps their pseudonym")
        #expect(links[4] != links[1], "after an erasure the same id is a new customer")
        #expect(Set(links).count == 3)
        let point = try ledger.point(asOf: nil, now: nil)
        func customer(_ ticket: String) throws -> String {
            let e = try ledger.ticketEvents(ticket, at: point, reveal: .init(operator: "m1", purpose: "test \(ticket)"))
            return String(decoding: e[0].json, as: UTF8.self)
        }
        #expect(try customer("T1").contains(Ledger.erased) && customer("T2").contains(Ledger.erased))
        #expect(try customer("T3").contains("known-1") && customer("T4").contains("new-1") && customer("T4").contains("Jane Roe"))
    }

    /// Free text is sealed before the transaction for the customer the snapshot or the batch's
    /// own `callOpened` names (Ledger.PreparedBatch); the writer must use it only when that
    /// customer is the ticket's, live, in the transaction. Imported as one batch; in batches of
    /// three lines, where a ticket is guessed from the batch still committing; and prepared on
    /// two threads (whatever the machine's cores), where the guesses cross from one part to the other.
    @Test(arguments: ["one batch", "batches of three", "two threads"])
    func textSealedBeforeTheTransactionIsUsedOnlyForTheTicketsLiveCustomer(how: String) throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        func note(_ ticket: String, _ t: Double, _ text: String) -> String {
            s.line("noteLogged", t, actor: "a1", ticket: ticket, ["author": "a1", "text": text])
        }
        func erase(_ customer: String, _ t: Double) -> String {
            s.line("personalDataErased", t, actor: "m1", channel: "ask:compliance", ["customer": customer])
        }
        _ = try ledger.importStrings(s.organisation() + [s.open("T0", 1, customer: "known-1"), s.open("T5", 1, customer: "gone-1"),
                                                          erase("gone-1", 2)])
        var lines = [s.open("T1", 3, customer: "new-1")]
        for i in 0..<1200 { lines.append(note("T1", 3, "filler \(i)")) }
        lines += [
            s.open("T2", 4, customer: "new-1"),  // the same new customer again: guessed new, is not
            note("T2", 5, "note two"),
            note("T0", 5, "note zero"),  // a customer of the snapshot
            note("T5", 5, "note five"),  // erased before this batch
            s.open("T3", 6, customer: "late-1"), erase("late-1", 7),
            note("T3", 8, "note three"),  // erased earlier in this batch
            note("T1", 9, "note one"),
        ]
        switch how {
        case "two threads": #expect(try ledger.appendPrepared(lines, parts: 2) == lines.count)
        default: #expect(try ledger.importLines(lines.map { Array($0.utf8) }, batchSize: how == "one batch" ? 32_768 : 3).appended == lines.count)
        }
        let point = try ledger.point(asOf: nil, now: nil)
        func texts(_ ticket: String) throws -> String {
            try ledger.ticketEvents(ticket, at: point, reveal: .init(operator: "m1", purpose: "test \(ticket)"))
                .map { String(decoding: $0.json, as: UTF8.self) }.joined(separator: "\n")
        }
        #expect(try texts("T1").contains("note one") && texts("T1").contains("filler 1199"))
        #expect(try texts("T2").contains("note two"))
        #expect(try texts("T0").contains("note zero"))
        #expect(try !texts("T5").contains("note five") && texts("T5").contains(Ledger.erased))
        #expect(try !texts("T3").contains("note three") && texts("T3").contains(Ledger.erased))
        // Every sealed value names its ticket's customer; a note recorded after its customer's
        // erasure keeps nothing, not even sealed under the destroyed key.
        try ledger.log.environment.read { txn in
            var checked = 0
            try ledger.log.scan(from: 1, through: UInt64.max, in: txn) { r in
                let e = try EventDecoder(mode: .stored).decode(r.payload)
                if e.type == .noteLogged, e.ticket == "T3" || e.ticket == "T5" {
                    #expect(e.sealed == nil && e.personalText.map(\.value) == [PersonalDataVault.erasedMarker])
                }
                if let sealed = e.sealed, let ticket = e.ticket {
                    #expect(PersonalDataVault.pseudonym(ofSealed: sealed) == (try ledger.vault.customerOfTicket(ticket, in: txn)))
                    checked += 1
                }
                return true
            }
            #expect(checked > 1200)
        }
        #expect(try ledger.verifyDeep().ok)
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

    @Test func aRetriedComplianceLineIsADuplicateWhateverHappenedSince() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let id = PrivacyTests.values["customer.id"]!
        #expect(try ledger.importStrings(s.organisation() + PrivacyTests.history(&s)).refused.isEmpty)
        let compliance = [
            s.line("legalHoldPlaced", 10, actor: "m1", channel: "ask:compliance", ["customer": id, "matter": "M-1"]),
            s.line("legalHoldReleased", 11, actor: "m1", channel: "ask:compliance", ["customer": id, "matter": "M-1"]),
            s.line("personalDataErased", 20, actor: "m1", channel: "ask:compliance", ["customer": id]),
        ]
        #expect(try ledger.importStrings(compliance).appended == 3)
        // Erased: a new hold or a second erasure names nobody (docs/DECISIONS.md).
        let again = [s.line("legalHoldPlaced", 21, actor: "m1", channel: "ask:compliance", ["customer": id, "matter": "M-3"]),
                     s.line("personalDataErased", 22, actor: "m1", channel: "ask:compliance", ["customer": id])]
        #expect(try ledger.importStrings(again).refused.map(\.rule) == ["unknownCustomer", "unknownCustomer"])
        // The same customer id calls again: a new record under a new pseudonym.
        #expect(try ledger.importStrings(PrivacyTests.history(&s, ticket: "T2", at: 30)).refused.isEmpty)
        // A writer retrying the three lines gets duplicates (CONTRACT.md section 4), not refusals.
        let retry = try ledger.importStrings(compliance)
        #expect(retry.duplicates == 3 && retry.refused.isEmpty, "\(retry.refused)")
        // While the stored customer is live, the same id naming another customer is refused.
        let hold = s.line("legalHoldPlaced", 40, actor: "m1", channel: "ask:compliance", id: "00000000-0000-4000-8000-0000000000ff", ["customer": id, "matter": "M-2"])
        #expect(try ledger.importStrings([hold]).appended == 1)
        _ = try ledger.importStrings([s.open("T3", 41, customer: "keep-1")])
        let other = s.line("legalHoldPlaced", 40, actor: "m1", channel: "ask:compliance", id: "00000000-0000-4000-8000-0000000000ff", ["customer": "keep-1", "matter": "M-2"])
        #expect(try ledger.importStrings([other]).refused.first?.rule == "duplicateId")
    }

    /// docs/DECISIONS.md, "Importing a file again": refusals are not remembered, so a file
    /// imported again judges a line refused the first time against the ledger as it is then.
    @Test func aFileImportedAgainJudgesItsRefusedLinesAfresh() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let id = PrivacyTests.values["customer.id"]!
        #expect(try ledger.importStrings(s.organisation() + PrivacyTests.history(&s)).refused.isEmpty)
        #expect(try ledger.importStrings([s.line("legalHoldPlaced", 10, actor: "m1", channel: "ask:compliance", ["customer": id, "matter": "M-1"])]).appended == 1)
        let file = [s.open("T7", 11, customer: "keep-7"),
                    s.line("personalDataErased", 12, actor: "m1", channel: "ask:compliance", ["customer": id])]
        let first = try ledger.importStrings(file)
        #expect(first.appended == 1 && first.refused.map(\.rule) == ["legalHold"])
        #expect(try ledger.importStrings([s.line("legalHoldReleased", 13, actor: "m1", channel: "ask:compliance", ["customer": id, "matter": "M-1"])]).appended == 1)
        let again = try ledger.importStrings(file)
        #expect(again.duplicates == 1 && again.appended == 1 && again.refused.isEmpty, "\(again.refused)")
        #expect(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: id, in: $0) } == nil, "the erasure was carried out")
    }

    @Test func theAuditTrailMasksByDefaultAndRevealsOnRecord() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let v = PrivacyTests.values
        #expect(try ledger.importStrings(s.organisation() + PrivacyTests.history(&s) + [s.open("T9", 50, customer: "keep-1")]).refused.isEmpty)
        // The summaries carry the customer id and free text (reason, text): masked by default.
        let masked = try ledger.audit(.init(), reveal: nil).map(\.summary).joined(separator: "\n")
        for (field, value) in v { #expect(!masked.contains(value), "\(field) in the masked audit trail") }
        #expect(masked.contains(Ledger.masked) && !masked.contains("keep-1"))
        #expect(throws: (any Error).self) { try ledger.audit(.init(ticket: "T1"), reveal: .init(operator: "a1", purpose: "curious")) }
        let head = try ledger.log.head().seq
        let shown = try ledger.audit(.init(ticket: "T1"), reveal: .init(operator: "m1", purpose: "complaint 88")).map(\.summary).joined(separator: "\n")
        for field in ["customer.id", "reason", "text"] { #expect(shown.contains(v[field]!), "\(field) not revealed") }
        // One personalDataRevealed, first, naming T1's customer only.
        #expect(try ledger.log.head().seq == head + 1)
        let record = String(decoding: try #require(try ledger.log.event(seq: head + 1)).payload, as: UTF8.self)
        let pseudonym = try #require(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: v["customer.id"]!, in: $0) })
        #expect(record.contains("personalDataRevealed") && record.contains("complaint 88") && record.contains(pseudonym))
        let other = try #require(try ledger.log.environment.read { try ledger.vault.pseudonym(forCustomer: "keep-1", in: $0) })
        #expect(record.contains("audit --ticket T1") && !record.contains(other))
        // After erasure a reveal shows [erased], and records nothing (no live customer's data is shown).
        #expect(try ledger.importStrings([s.line("personalDataErased", 60, actor: "m1", channel: "ask:compliance", ["customer": v["customer.id"]!])]).appended == 1)
        let erasedHead = try ledger.log.head().seq
        let after = try ledger.audit(.init(ticket: "T1"), reveal: .init(operator: "m1", purpose: "again")).map(\.summary).joined(separator: "\n")
        for (field, value) in v { #expect(!after.contains(value), "\(field) after erasure") }
        let afterHead = try ledger.log.head().seq
        #expect(after.contains(Ledger.erased) && afterHead == erasedHead)
    }

    /// Every command a person or a script reads, run as the real binary: masked by default
    /// (no personal value in any output), and in clear only where revealed on record.
    @Test func everyCommandsOutputMasksPersonalDataByDefault() throws {
        let dir = temporaryDirectory()
        let scratch = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        var s = Script()
        let v = PrivacyTests.values
        let lines = s.organisation() + PrivacyTests.history(&s) + [
            s.line("ticketReopened", 8, actor: "a1", ticket: "T1", ["by": "a1", "reason": v["reason"]!]),
            s.line("feedbackGiven", 9, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "text": v["text"]!]),
            s.line("sanctionIssued", 10, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "severity": "coaching", "reason": v["reason"]!]),
            s.line("legalHoldPlaced", 11, actor: "m1", channel: "ask:compliance", ["customer": v["customer.id"]!, "matter": "M-1"]),
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch + "/in.jsonl", atomically: true, encoding: .utf8)
        #expect(try LedgerBinary.run(["--ledger", dir, "import", scratch + "/in.jsonl"]).status == 0)
        let id = v["customer.id"]!
        let commands: [[String]] = [
            ["ticket", "T1"], ["ticket", "T1", "--json"], ["customer", id], ["customer", id, "--json"],
            ["audit"], ["audit", "--json"], ["audit", "--ticket", "T1"], ["findings"], ["findings", "--json"],
            ["scorecard"], ["scorecard", "--json"], ["stats"], ["stats", "--json"], ["verify", "--json"],
            ["prove", "--ticket", "T1"],
        ]
        var everything = ""
        for c in commands {
            let r = try LedgerBinary.run(["--ledger", dir] + c)
            #expect(r.status == 0, "\(c): \(r.stderr)")
            everything += r.stdout + r.stderr
        }
        // A pseudonymised export: the customer by pseudonym, the rest masked, in every file.
        let export = try LedgerBinary.run(["--ledger", dir, "export", "--out", scratch + "/bundle", "--pseudonymize", "--operator", "a1", "--purpose", "research"])
        #expect(export.status == 0, "\(export.stderr)")
        for f in try FileManager.default.contentsOfDirectory(atPath: scratch + "/bundle") {
            everything += try String(contentsOfFile: scratch + "/bundle/" + f, encoding: .utf8)
        }
        for (field, value) in v { #expect(!everything.contains(value), "\(field) shown without a reveal") }
        #expect(everything.contains(Ledger.masked))
        // Revealed on record: ticket, customer and audit show them; the reveal is in the log.
        var revealed = ""
        for c in [["ticket", "T1"], ["customer", id, "--json"], ["audit", "--ticket", "T1", "--json"]] {
            let r = try LedgerBinary.run(["--ledger", dir] + c + ["--reveal", "--operator", "m1", "--purpose", "subject access 5"])
            #expect(r.status == 0, "\(c): \(r.stderr)")
            revealed += r.stdout
        }
        for field in ["customer.id", "reason", "text"] { #expect(revealed.contains(v[field]!), "\(field) not revealed") }
        let audit = try LedgerBinary.run(["--ledger", dir, "audit", "--json"])
        #expect(audit.stdout.components(separatedBy: "personal data of 1 customer(s) revealed to m1").count - 1 == 3)
        // --reveal without an operator and a purpose is refused before anything is shown.
        let refused = try LedgerBinary.run(["--ledger", dir, "audit", "--reveal"])
        #expect(refused.status == 1 && refused.stdout.isEmpty && refused.stderr.contains("--operator"))
    }

    @Test func aReadOnlyLedgerCannotReveal() throws {
        let dir = temporaryDirectory()
        var s = Script()
        do { _ = try Ledger.open(at: dir).importStrings(s.organisation() + PrivacyTests.history(&s)) }
        var options = Ledger.Options()
        options.readOnly = true
        let ledger = try Ledger.open(at: dir, options: options)
        let point = try ledger.point(asOf: nil, now: nil)
        let error = #expect(throws: (any Error).self) { try ledger.ticketEvents("T1", at: point, reveal: .init(operator: "m1", purpose: "x")) }
        #expect(error.map { "\($0)" }?.contains("read-only ledger cannot reveal") == true)
        #expect(throws: (any Error).self) { try ledger.audit(.init(), reveal: .init(operator: "m1", purpose: "x")) }
        let masked = try ledger.ticketEvents("T1", at: point).map { String(decoding: $0.json, as: UTF8.self) }.joined()
        #expect(masked.contains(Ledger.masked) && !masked.contains("Zelda Quist"))
    }

    @Test func olderFormatsAreRefusedWithWhatToDoAndLeftUnchanged() throws {
        let dir = temporaryDirectory()
        var s = Script()
        do {
            let ledger = try Ledger.open(at: dir)
            _ = try ledger.importStrings(s.organisation())
        }
        // Format 1 (personal data in clear) and format 2 (one key-encryption key for all customers).
        for old in ["escalation-ledger/1", "escalation-ledger/2"] {
            try LMDBFile.setFormat(old, in: dir + "/log")
            let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/log/data.mdb"))
            let expected = "this ledger is in format \(old); this version reads only escalation-ledger/5 (and escalation-ledger/4 and escalation-ledger/3, which it upgrades). Nothing was changed."
            for readOnly in [false, true] {
                var options = Ledger.Options()
                options.readOnly = readOnly
                let error = #expect(throws: (any Error).self) { try Ledger.open(at: dir, options: options) }
                #expect(error.map { "\($0)" }?.contains(expected) == true, "\(String(describing: error))")
            }
            let cli = try LedgerBinary.run(["--ledger", dir, "stats"])
            #expect(cli.status == 1 && cli.stderr.contains(expected) && cli.stderr.contains("ledger export"), "\(cli.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/log/data.mdb")) == before)
        }
    }
}

/// Rewrites a log's stored format name with LMDB directly (an older ledger, as far as the format goes).
enum LMDBFile {
    static func setFormat(_ name: String, in directory: String) throws {
        let env = try Environment(path: directory)
        try env.write { txn in try txn.put(try txn.database("meta"), key: Array("format".utf8), value: Array(name.utf8)) }
    }
}
