import EscalationDomain

/// A consistent view of projected state, stored or replayed, that queries run against.
public protocol ProjectionSnapshot {
    func staffRecords() throws -> [StaffRecord]
    func ticket(_ id: String) throws -> TicketState?
    /// Tickets on which `staff` is accountable for a finding (now or once a deadline passes).
    func accountableTickets(_ staff: String) throws -> [TicketState]
    /// Every ticket, in id order.
    func forEachTicket(_ body: (TicketState) throws -> Void) throws
    /// Scorecards at `clock`: every staff member's, or one (the stored projection answers from
    /// its scorecard index; the default folds the member's accountable tickets).
    func scorecards(clock: Timestamp, staff only: String?) throws -> [Scorecard]
}

/// Filters for ``ProjectionSnapshot/findings(clock:kind:staff:ticket:)``.
extension ProjectionSnapshot {
    /// Findings at `clock`, optionally of one kind, for one accountable staff member, or on one ticket; ordered by seq.
    public func findings(clock: Timestamp, kind: Finding.Kind? = nil, staff: String? = nil, ticket: String? = nil) throws -> [Finding] {
        var out: [Finding] = []
        func take(_ t: TicketState) {
            for f in t.findings(clock: clock) where (kind == nil || f.kind == kind) && (staff == nil || f.staff == staff) {
                out.append(f)
            }
        }
        if let ticket {
            if let t = try self.ticket(ticket) { take(t) }
        } else if let staff {
            for t in try accountableTickets(staff) { take(t) }
        } else {
            try forEachTicket(take)
        }
        return out.sorted()
    }

    /// Scorecards at `clock`: every staff member's, or one.
    public func scorecards(clock: Timestamp) throws -> [Scorecard] { try scorecards(clock: clock, staff: nil) }

    /// Scorecards by folding each member's accountable tickets (what the scorecard index must equal).
    public func scorecards(clock: Timestamp, staff only: String?) throws -> [Scorecard] {
        try foldedScorecards(clock: clock, staff: only)
    }

    /// Scorecards by folding each member's accountable tickets, whatever the snapshot.
    public func foldedScorecards(clock: Timestamp, staff only: String? = nil) throws -> [Scorecard] {
        var out: [Scorecard] = []
        for record in try staffRecords().sorted(by: { $0.info.staff < $1.info.staff }) where only == nil || record.info.staff == only {
            let id = record.info.staff
            var findings: [Finding.Kind: Int] = [:]
            var overdue = 0
            for t in try accountableTickets(id) {
                for f in t.findings(clock: clock) where f.staff == id { findings[f.kind, default: 0] += 1 }
                overdue += t.callbacks.filter { $0.owner == id && $0.isOpen && clock > $0.dueBy }.count
            }
            out.append(Scorecard(staff: id, name: record.info.name, role: record.info.role, counters: record.counters,
                                 callbacksOverdue: overdue, findings: findings))
        }
        return out
    }
}

/// A replay held in memory (as-of views of whole projections, and tests).
public struct MemorySnapshot: ProjectionSnapshot {
    public let engine: ProjectionEngine
    public let store: MemoryTicketStore
    /// How many events the replay applied (0: the cut held nothing).
    public var events = 0

    public init(engine: ProjectionEngine, store: MemoryTicketStore) { self.engine = engine; self.store = store }

    public func staffRecords() -> [StaffRecord] { Array(engine.staff.values) }
    public func ticket(_ id: String) -> TicketState? { store.states[id] }
    public func accountableTickets(_ staff: String) -> [TicketState] {
        (store.accountable[staff] ?? []).compactMap { store.states[$0] }
    }
    public func forEachTicket(_ body: (TicketState) throws -> Void) throws {
        for id in store.states.keys.sorted() { try body(store.states[id]!) }
    }
}
