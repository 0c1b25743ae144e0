import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy

/// Runs inside the append transaction for each event of a request: resolves the customer
/// (a pseudonym, new or looked up), seals the personal data, runs the rules, and,
/// only once the event is admitted, writes what it changes (rules' state, a new customer's
/// record, the ticket's link, an erasure). A refused event leaves nothing anywhere.
///
/// ``prepare(_:draft:in:)`` and ``admit(_:at:in:)`` run back to back for one event on the
/// writer thread, so the hook keeps what the first computed for the second.
struct LedgerHook: AppendHook, @unchecked Sendable {
    /// The request's events as submitted (personal data in clear, in memory only).
    let events: [Event]
    /// What was sealed before the transaction, for events with personal data (``Ledger/PreparedBatch``).
    let sealed: [Ledger.Sealed?]
    let rules: RuleStore
    let vault: PersonalDataVault
    let log: EventLog
    private let pending = Pending()
    /// The staff and tickets this request's events read and change, written at its end.
    private let ruleState: CachedRuleState

    init(_ prepared: Ledger.PreparedBatch, ledger: Ledger) {
        events = prepared.events
        sealed = prepared.sealed
        rules = ledger.rules
        vault = ledger.vault
        log = ledger.log
        ruleState = CachedRuleState(store: ledger.rules)
    }

    func begin(in txn: WriteTransaction) throws {
        ruleState.reset()  // a transaction rerun after the map grew starts from the stored state
    }

    func finish(in txn: WriteTransaction) throws {
        try ruleState.flush(txn)
    }

    /// What `prepare` found for the event `admit` is about to admit.
    final class Pending {
        var changes: [Rules.Change] = []
        var newCustomer: PersonalDataVault.CustomerRecord?
        var sealedRecord: PersonalDataVault.Computed?
        /// The new customer's look-up key, computed once for the look-up and the write.
        var lookupKey: [UInt8]?
        var ticketLink: (ticket: String, pseudonym: String)?
        /// The stored event ``sameContent(_:draft:as:in:)`` decoded, for ``duplicate(_:of:in:)``
        /// right after it (the same draft): decoded once, not twice.
        var storedDuplicate: (seq: UInt64, event: Event)?
    }

    func prepare(_ index: Int, draft: inout EventDraft, in txn: WriteTransaction) throws {
        // The event is read in place (an array's element taken with `let` is a copy: every
        // string of the event retained and released again, about 4% of the writer's time).
        try events.withUnsafeBufferPointer { events in try prepare(events[index], ahead: sealed[index], draft: &draft, in: txn) }
    }

    private func prepare(_ event: borrowing Event, ahead: Ledger.Sealed?, draft: inout EventDraft, in txn: WriteTransaction) throws {
        pending.changes = []
        pending.newCustomer = nil
        pending.sealedRecord = nil
        pending.lookupKey = nil
        pending.ticketLink = nil
        var stored: Event?
        var payload: [UInt8]?
        if case .callOpened(let b) = event.body {
            let pseudonym: String
            let lookupKey = try vault.lookupKey(forCustomer: b.customer.id, computed: ahead?.lookupKey, in: txn)
            pending.lookupKey = lookupKey
            if let p = try vault.pseudonym(lookupKey: lookupKey, in: txn), let record = try vault.customer(pseudonym: p, in: txn) {
                // A customer the ledger knows: sealed ahead for them, unless it guessed otherwise.
                pseudonym = p
                if let ahead, !ahead.isNew, ahead.record.pseudonym == p {
                    (stored, payload) = (ahead.stored, ahead.payload)
                } else {
                    stored = try Ledger.sealCall(event, customer: b.customer.id, for: record, vault: vault)
                }
            } else if let ahead, ahead.isNew {
                // A customer the ledger does not know: made and sealed before the transaction.
                pseudonym = ahead.record.pseudonym
                (stored, payload) = (ahead.stored, ahead.payload)
                pending.newCustomer = ahead.record
                pending.sealedRecord = ahead.sealedRecord
            } else {
                let record = vault.newCustomer(id: b.customer.id)
                pseudonym = record.pseudonym
                pending.newCustomer = record
                stored = try Ledger.sealCall(event, customer: b.customer.id, for: record, vault: vault)
            }
            pending.ticketLink = (event.ticket ?? "", pseudonym)
        } else if event.type.hasPersonalText {
            // The ticket's customer; none for an unknown ticket (the rules refuse it below).
            let p = try vault.customerOfTicket(event.ticket ?? "", in: txn)
            if let p, let ahead, ahead.record.pseudonym == p, try vault.isLive(pseudonym: p, in: txn) {
                (stored, payload) = (ahead.stored, ahead.payload)
            } else if let p, let record = try vault.customer(pseudonym: p, in: txn) {
                stored = try Ledger.sealText(event, for: record, vault: vault)
            } else {
                // An erased customer's ticket keeps nothing personal of what is recorded later.
                let marker = p == nil ? PersonalDataVault.sealedMarker : PersonalDataVault.erasedMarker
                stored = event.replacingPersonalData(customer: { $0 }, text: { _, _ in marker })
            }
        } else if event.type.category == .compliance, let id = event.customerID {
            guard let p = try vault.pseudonym(forCustomer: id, in: txn) else {
                throw event.violation(.unknownCustomer, field: "customer",
                                      "no callOpened names this customer (or their personal data was erased)")
            }
            stored = event.replacingPersonalData(customer: { _ in p }, text: { _, t in t })
        }
        if let stored {
            pending.changes = try Rules.check(stored, against: ruleState.view(txn))
        } else {
            pending.changes = try Rules.check(event, against: ruleState.view(txn))
        }
        if draft.payload.isEmpty, let stored {
            draft.payload = payload ?? EventEncoder.encode(stored)
            draft.stream = stored.stream
        }
    }

    func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws {
        for change in pending.changes {
            if case .erased(let p) = change { try vault.erase(pseudonym: p, in: txn) }
            try ruleState.apply(change, txn: txn)
        }
        if let r = pending.newCustomer { try vault.store(r, lookupKey: pending.lookupKey, sealed: pending.sealedRecord, in: txn) }
        if let l = pending.ticketLink { try vault.link(ticket: l.ticket, to: l.pseudonym, in: txn) }
    }

    /// Whether the draft has the content digest of the event stored under its id: the same
    /// bytes for an event without personal data (its digest is SHA-256 of them), else the
    /// digest computed again from the stored event (``Ledger/contentDigest(ofStored:payload:)``).
    func sameContent(_ index: Int, draft: EventDraft, as stored: RecordView, in txn: WriteTransaction) throws -> Bool {
        pending.storedDuplicate = nil
        if !draft.payload.isEmpty, draft.payload.withUnsafeBytes({ $0.elementsEqual(stored.payload) }) { return true }
        let event: Event
        do {
            event = try EventDecoder(mode: .stored).decode(stored.payload)
        } catch {
            throw LogError.corrupt(seq: stored.seq, "the stored event does not decode: \(error)")
        }
        pending.storedDuplicate = (stored.seq, event)
        return Ledger.contentDigest(ofStored: event, payload: stored.payload) == draft.digest
    }

    /// The same id and the same non-personal content: refuse it when its personal data
    /// differs from what was stored, while that can still be told (before erasure).
    func duplicate(_ index: Int, of seq: UInt64, in txn: WriteTransaction) throws {
        let event = events[index]
        guard event.customerID != nil || !event.personalText.isEmpty else { return }
        var stored = pending.storedDuplicate.flatMap { $0.seq == seq ? $0.event : nil }
        pending.storedDuplicate = nil
        if stored == nil {
            try log.scan(from: seq, through: seq, in: txn) { r in
                stored = try EventDecoder(mode: .stored).decode(r.payload)
                return false
            }
        }
        guard let stored else { return }
        let same: Bool
        if let sealed = stored.sealed {
            switch try vault.open(sealed, eventID: stored.id.bytes, in: txn) {
            case .erased: return  // nothing left to compare with
            case .values(let v):
                var submitted = Dictionary(event.personalText.map { ($0.path, $0.value) }, uniquingKeysWith: { a, _ in a })
                if case .callOpened(let b) = event.body { submitted["customer.id"] = b.customer.id }
                same = submitted == v
            }
        } else if event.type.category == .compliance, let id = event.customerID, let p = stored.customerID {
            // The customer the stored event names, while they are live; a retry after their
            // erasure (even once the same id has called again, under a new pseudonym) is
            // compared on its non-personal content alone, as the digest already did.
            guard let record = try vault.customer(pseudonym: p, in: txn) else { return }
            same = record.id == id
        } else {
            return
        }
        if !same {
            throw event.violation(.duplicateId, field: "id",
                                  "id \(event.id) was appended before (seq \(seq)) with other personal data")
        }
    }
}
