import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy

/// How a read shows personal data (CONTRACT.md section 7; docs/PRIVACY.md).
public enum PersonalDataView: Sendable, Equatable {
    /// Customer ids as their pseudonym, other personal data as `[masked]` (the default for queries).
    case masked
    /// In clear, after a `personalDataRevealed` (queries) or an `exportMade` (exports) is on record.
    case revealed
}

extension Ledger {
    /// The marker shown in place of erased personal data.
    public static let erased = PersonalDataVault.erasedMarker
    /// The marker shown in place of personal data a read did not reveal.
    public static let masked = "[masked]"

    /// The stored event as `view` shows it: its customer and free text revealed, masked, or
    /// `[erased]` once the customer's key is gone.
    public func present(_ stored: Event, _ view: PersonalDataView, in txn: ReadTransaction) throws -> Event {
        try Ledger.present(stored, view, live: { try vault.isLive(pseudonym: $0, in: txn) },
                           customer: { try vault.customer(pseudonym: $0, in: txn) })
    }

    /// What ``present(_:_:in:)`` looks up for a stored event: its customer (``customerPseudonym(_:)``),
    /// and whether it asks for their record (`customer`) or only whether they are live (`live`,
    /// a masked sealed value). Nil when it asks for nothing.
    static func lookUp(_ stored: Event, _ view: PersonalDataView) -> (pseudonym: String, record: Bool)? {
        customerPseudonym(stored).map { ($0, stored.sealed == nil || view != .masked) }
    }

    /// ``present(_:_:in:)`` with the vault's answers given: whether a customer is live, and
    /// their record (nil once erased). Runs on any thread.
    static func present(_ stored: Event, _ view: PersonalDataView, live: (String) throws -> Bool,
                        customer: (String) throws -> PersonalDataVault.CustomerRecord?) throws -> Event {
        var e = stored
        e.sealed = nil
        if let sealed = stored.sealed, view == .masked {
            // Masking needs only to know whether the customer is live, not what was sealed.
            let live = try PersonalDataVault.pseudonym(ofSealed: sealed).map(live) ?? false
            return live ? e.replacingPersonalData(customer: { $0 }, text: { _, _ in Ledger.masked })
                        : e.replacingPersonalData(customer: { _ in Ledger.erased }, text: { _, _ in Ledger.erased })
        }
        if let sealed = stored.sealed {
            guard let pseudonym = PersonalDataVault.pseudonym(ofSealed: sealed) else {
                throw PrivacyError.corrupt("a sealed value without its pseudonym")
            }
            switch try PersonalDataVault.open(sealed, eventID: stored.id.bytes, record: try customer(pseudonym)) {
            case .erased:
                return e.replacingPersonalData(customer: { _ in Ledger.erased }, text: { _, _ in Ledger.erased })
            case .values(let v):
                switch view {
                case .revealed:
                    return e.replacingPersonalData(customer: { v["customer.id"] ?? $0 }, text: { path, old in v[path] ?? old })
                case .masked:
                    return e.replacingPersonalData(customer: { $0 }, text: { _, _ in Ledger.masked })
                }
            }
        }
        if stored.type.category == .compliance, let p = stored.customerID {
            guard let record = try customer(p) else {
                return e.replacingPersonalData(customer: { _ in Ledger.erased }, text: { _, t in t })
            }
            return view == .revealed ? e.replacingPersonalData(customer: { _ in record.id }, text: { _, t in t }) : e
        }
        // Free text recorded on an erased customer's ticket is stored as [erased] already.
        return view == .masked ? e.replacingPersonalData(customer: { $0 }, text: { _, t in t == PersonalDataVault.sealedMarker ? Ledger.masked : t }) : e
    }

    /// Who may reveal personal data, erase it, or place and release holds: a staff member
    /// enrolled with role `compliance`, `manager` or `director`.
    public func requireComplianceOperator(_ staff: String) throws {
        let member = try log.environment.read { try TransactionRuleState(store: rules, txn: $0).staff(staff) }
        guard let member else { throw LedgerError.notFound("staff member \(staff)") }
        guard ["compliance", "manager", "director"].contains(member.role.rawValue) else {
            throw LedgerError.invalid("notAuthorized: \(staff) is a \(member.role.rawValue); only a compliance officer, a manager or a director may do this")
        }
    }

    /// Appends `personalDataRevealed` for these customers; call before showing their data.
    public func recordReveal(operator staff: String, purpose: String, customers: [String], query: String) throws {
        guard !readOnly else { throw LedgerError.invalid("a read-only ledger cannot reveal personal data (the reveal must be recorded)") }
        let trimmed = purpose.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LedgerError.invalid("revealing personal data needs a purpose (--purpose)") }
        try requireComplianceOperator(staff)
        _ = try appendSystemEvent(.personalDataRevealed(.init(operator: staff, purpose: purpose, customers: customers, query: query)))
    }

    /// A compliance event (`personalDataErased`, `legalHoldPlaced`, `legalHoldReleased`) by `operator`.
    public func appendCompliance(_ body: Event.Body, operator staff: String) throws -> Outcome {
        let event = Event(id: .random(), at: .now(), actor: staff, channel: "ask:compliance", body: body)
        return try append([event])[0]
    }

    /// The subject-access view of a customer (by real id, or pseudonym): their tickets and
    /// compliance history, as `view` shows them. Nil when no live customer has that id.
    public func customerHistory(_ id: String, view: PersonalDataView) throws -> (pseudonym: String, events: [DisplayEvent])? {
        let pseudonym: String? = try log.environment.read { txn in
            if let p = try vault.pseudonym(forCustomer: id, in: txn) { return p }
            return try vault.customer(pseudonym: id, in: txn) != nil ? id : nil
        }
        guard let pseudonym else { return nil }
        var events: [DisplayEvent] = []
        for r in try log.stream("customer:" + pseudonym) { events.append(try display(r, view)) }
        for ticket in try vault.tickets(of: pseudonym, in: log.environment) {
            for r in try log.stream("ticket:" + ticket) { events.append(try display(r, view)) }
        }
        events.sort { $0.record.seq < $1.record.seq }
        return (pseudonym, events)
    }
}

extension Ledger {
    /// Who reveals personal data, and why.
    public struct RevealRequest: Sendable {
        public var `operator`: String
        public var purpose: String
        public init(operator: String, purpose: String) { self.operator = `operator`; self.purpose = purpose }
    }

    /// A ticket's events, masked, or revealed after recording a `personalDataRevealed`.
    public func ticketEvents(_ id: String, at point: QueryPoint, reveal: RevealRequest?) throws -> [DisplayEvent] {
        try ticketEvents(id, at: point, view: try revealTicket(id, reveal))
    }

    /// Records the reveal of a ticket's customer when asked, and returns the view to show it in.
    public func revealTicket(_ id: String, _ reveal: RevealRequest?) throws -> PersonalDataView {
        guard let reveal else { return .masked }
        let customers = try log.environment.read { txn in try vault.customerOfTicket(id, in: txn).map { [$0] } ?? [] }
        try recordReveal(operator: reveal.operator, purpose: reveal.purpose, customers: customers, query: "ticket \(id)")
        return .revealed
    }

    /// The audit trail (``audit(_:limit:)``), masked; or, with `reveal`, the personal data of
    /// the live customers it shows in clear, after recording one `personalDataRevealed` that
    /// names them all (none is recorded when the entries show no live customer's data).
    public func audit(_ filter: AuditFilter, reveal: RevealRequest?, limit: Int = .max) throws -> [AuditEntry] {
        var out: [AuditEntry] = []
        try audit(filter, reveal: reveal, limit: limit) { out.append($0) }
        return out
    }

    /// The audit trail entry by entry (streamed), revealed after recording it when asked: a first
    /// pass finds the live customers the entries show, then one `personalDataRevealed` names them.
    public func audit(_ filter: AuditFilter, reveal: RevealRequest?, limit: Int = .max, _ body: (AuditEntry) throws -> Void) throws {
        guard let reveal else { return try audit(filter, limit: limit, revealing: [], customers: nil, body) }
        var shown = Set<String>()
        try audit(filter, limit: limit, revealing: [], customers: { shown.insert($0) }) { _ in }
        guard !shown.isEmpty else { return try audit(filter, limit: limit, revealing: [], customers: nil, body) }
        try recordReveal(operator: reveal.operator, purpose: reveal.purpose, customers: shown.sorted(),
                         query: "audit" + filter.description)
        // Only the customers on record are shown in clear, even if more were appended meanwhile.
        try audit(filter, limit: limit, revealing: shown, customers: nil, body)
    }

    /// The pseudonym of the customer whose personal data a stored event holds: the one its
    /// sealed value names, or a compliance event's customer.
    static func customerPseudonym(_ stored: Event) -> String? {
        if let sealed = stored.sealed { return PersonalDataVault.pseudonym(ofSealed: sealed) }
        return stored.type.category == .compliance ? stored.customerID : nil
    }

    /// A customer's history (``customerHistory(_:view:)``), revealed after recording it when asked.
    public func customerHistory(_ id: String, reveal: RevealRequest?) throws -> (pseudonym: String, events: [DisplayEvent])? {
        guard let reveal else { return try customerHistory(id, view: .masked) }
        guard let masked = try customerHistory(id, view: .masked) else { return nil }
        try recordReveal(operator: reveal.operator, purpose: reveal.purpose, customers: [masked.pseudonym], query: "customer \(masked.pseudonym)")
        return try customerHistory(id, view: .revealed)
    }
}

extension Ledger.AuditFilter: CustomStringConvertible {
    /// The filter as command-line options (recorded as a reveal's `query`).
    public var description: String {
        var parts: [String] = []
        if let ticket { parts.append("--ticket \(ticket)") }
        if let staff { parts.append("--staff \(staff)") }
        if let from { parts.append("--from \(from)") }
        if let to { parts.append("--to \(to)") }
        if let channel { parts.append("--channel \(channel)") }
        return parts.map { " " + $0 }.joined()
    }
}
