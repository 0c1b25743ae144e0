import EscalationDomain

/// Where the engine keeps ticket states (in memory for as-of replays, LMDB for the stored projection).
public protocol TicketStore: AnyObject {
    func ticket(_ id: String) throws -> TicketState?
    /// The ticket, handed over for changing: the store lets go of it until ``put(_:)`` (so that
    /// changing it does not copy its arrays).
    func take(_ id: String) throws -> TicketState?
    func put(_ state: TicketState) throws
    /// Records that `staff` is accountable for a finding on `ticket` (an index for scorecards and findings by staff).
    func noteAccountable(staff: String, ticket: String) throws
    /// A ticket event at `at` was applied (the stored index settles its counts up to the latest).
    func observe(at: Timestamp)
}

extension TicketStore {
    public func observe(at: Timestamp) {}
}

/// A staff member's directory entry and scorecard counts.
public struct StaffRecord: Sendable, Equatable {
    public var info: StaffInfo
    public var counters = ScoreCounters()
}

/// Folds events, in seq order, into ticket states, the staff directory and scorecard counts.
/// The one place the projections' meaning lives: the stored projection, rebuilds and
/// as-of replays all run through it.
public final class ProjectionEngine: StaffLookup {
    public private(set) var staff: [String: StaffRecord]
    public let tickets: any TicketStore
    /// Staff whose record changed since ``takeDirtyStaff()``.
    private var dirtyStaff: Set<String> = []

    public init(staff: [String: StaffRecord] = [:], tickets: any TicketStore) {
        self.staff = staff
        self.tickets = tickets
    }

    /// The directory as it stands now: in seq order that is the directory at the event being applied.
    public func staff(_ id: String, atSeq seq: UInt64) -> StaffInfo? { staff[id]?.info }

    public func role(_ id: String, atSeq seq: UInt64) -> Role? {
        guard let i = staff.index(forKey: id) else { return nil }
        return staff.values[i].info.role
    }

    /// Staff changed since the last call (for writing back).
    public func takeDirtyStaff() -> [StaffRecord] {
        defer { dirtyStaff.removeAll() }
        return dirtyStaff.compactMap { staff[$0] }
    }

    private func bump(_ id: String, _ change: (inout ScoreCounters) -> Void) {
        guard staff[id] != nil else { return }
        change(&staff[id]!.counters)
        dirtyStaff.insert(id)
    }

    /// Applies one accepted event.
    public func apply(_ event: Event, seq: UInt64, version: UInt64) throws {
        switch event.type.category {
        case .staff:
            let id: String
            switch event.body {
            case .staffEnrolled(let b): id = b.staff
            case .staffReassigned(let b): id = b.staff
            default: return
            }
            if let info = StaffInfo.applying(event, to: staff[id]?.info) {
                staff[id, default: StaffRecord(info: info)].info = info
                dirtyStaff.insert(id)
            }
        case .ticket, .discipline:
            try applyTicketEvent(event, seq: seq, version: version)
        case .compliance, .ledger:
            break
        }
    }

    private func applyTicketEvent(_ event: Event, seq: UInt64, version: UInt64) throws {
        guard let ticket = event.ticket else { return }
        var state: TicketState
        if case .callOpened(let b) = event.body {
            state = TicketState(ticket: ticket, opened: b, at: event.at)
            bump(b.agent) { $0.callsOpened += 1 }
        } else {
            guard let existing = try tickets.take(ticket) else { return }
            state = existing
        }
        let fx = try state.apply(event, seq: seq, version: version, staff: self)
        let opener = state.openedBy
        switch event.body {
        case .escalationRequested:
            bump(opener) {
                $0.escalationRequests += 1
                if fx.firstRequest { $0.ticketsWithRequest += 1 }
            }
        case .deEscalationAttempted(let b):
            bump(b.agent) { $0.deEscalationAttempts += 1 }
        case .transferred(let b):
            let compliant = !fx.raised.contains { $0.kind == .transferBeforeTwoAsks }
            bump(b.from) {
                $0.transfersOut += 1
                if compliant { $0.compliantTransfers += 1 }
            }
        case .callbackScheduled(let b):
            bump(b.owner) { $0.callbacksOwed += 1 }
        case .callbackCompleted:
            if let c = fx.completedCallback, let done = c.completedAt {
                bump(c.owner) { if done <= c.dueBy { $0.callbacksOnTime += 1 } else { $0.callbacksLate += 1 } }
            }
        case .requestDeclined(let b):
            bump(b.by) { $0.requestsDeclined += 1 }
        case .feedbackGiven(let b):
            bump(b.agent) { $0.feedbackReceived += 1 }
        case .sanctionIssued(let b):
            bump(b.agent) { $0.sanctionsReceived += 1 }
        case .debriefHeld(let b):
            bump(b.agent) { $0.debriefs += 1 }
        case .ticketResolved, .ticketReopened:
            let cost = try state.escalationCost(staff: self)
            if cost != state.contributedCost {
                let delta = cost - state.contributedCost
                bump(opener) { $0.escalationCost += delta }
                state.contributedCost = cost
            }
        default:
            break
        }
        if fx.reachedSupervisor { bump(opener) { $0.supervisorLoad += 1 } }
        let deEscalated = state.isDeEscalated
        if deEscalated != state.contributedDeEscalated {
            bump(opener) { $0.deEscalated += deEscalated ? 1 : -1 }
            state.contributedDeEscalated = deEscalated
        }
        for s in fx.newlyAccountable { try tickets.noteAccountable(staff: s, ticket: ticket) }
        tickets.observe(at: event.at)
        try tickets.put(state)
    }
}

/// Tickets in memory: for as-of replays and tests.
public final class MemoryTicketStore: TicketStore {
    public private(set) var states: [String: TicketState] = [:]
    public private(set) var accountable: [String: [String]] = [:]
    public init() {}
    public func ticket(_ id: String) -> TicketState? { states[id] }
    public func take(_ id: String) -> TicketState? { states.removeValue(forKey: id) }
    public func put(_ state: TicketState) { states[state.ticket] = state }
    public func noteAccountable(staff: String, ticket: String) { accountable[staff, default: []].append(ticket) }
}
