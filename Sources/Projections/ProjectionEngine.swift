import EscalationDomain

/// Where the engine keeps ticket states (in memory for as-of replays, LMDB for the stored projection).
public protocol TicketStore: AnyObject {
    func ticket(_ id: String) throws -> TicketState?
    /// Stores a ticket opened by `callOpened` (replacing any state under its id).
    func insert(_ state: consuming TicketState) throws
    /// Runs `body` on the stored ticket in place and keeps what it leaves (nil, and no call,
    /// when there is no such ticket): changing a ticket neither copies nor moves its state.
    func update<R>(_ id: String, _ body: (inout TicketState) throws -> R) throws -> R?
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
    /// The staff directory with scorecard counts, by id (built from the engine's own storage:
    /// for writing back and for snapshots, not for the fold).
    public var staff: [String: StaffRecord] {
        Dictionary(uniqueKeysWithValues: records.map { ($0.info.staff, $0) })
    }
    /// Every member's id, in no particular order.
    public var staffIDs: [String] { records.map(\.info.staff) }
    public let tickets: any TicketStore
    /// The members, in order of first appearance, found by id through `index`: a scorecard
    /// count is bumped, and its member marked changed, with one look-up of the id.
    ///
    /// These four are read and changed on the fold's path several times an event, by this
    /// class's methods alone, none of which calls another while it changes one of them: they
    /// go without the run-time exclusivity check (`swift_beginAccess`, about 80 instructions
    /// a use; 8% of the fold thread's instructions before).
    @exclusivity(unchecked) private var records: [StaffRecord] = []
    @exclusivity(unchecked) private var index: [String: Int] = [:]
    /// Which members changed since ``takeDirtyStaff()``, and in which order.
    @exclusivity(unchecked) private var dirty: [Bool] = []
    @exclusivity(unchecked) private var dirtyOrder: [Int] = []

    public init(staff: [String: StaffRecord] = [:], tickets: any TicketStore) {
        self.tickets = tickets
        records.reserveCapacity(staff.count)
        for record in staff.values { add(record) }
    }

    private func add(_ record: StaffRecord) {
        index[record.info.staff] = records.count
        records.append(record)
        dirty.append(false)
    }

    private func markDirty(_ i: Int) {
        if !dirty[i] { dirty[i] = true; dirtyOrder.append(i) }
    }

    /// The directory as it stands now: in seq order that is the directory at the event being applied.
    public func staff(_ id: String, atSeq seq: UInt64) -> StaffInfo? { index[id].map { records[$0].info } }

    public func role(_ id: String, atSeq seq: UInt64) -> Role? { index[id].map { records[$0].info.role } }

    /// Staff changed since the last call (for writing back).
    public func takeDirtyStaff() -> [StaffRecord] {
        defer {
            for i in dirtyOrder { dirty[i] = false }
            dirtyOrder.removeAll()
        }
        return dirtyOrder.map { records[$0] }
    }

    private func bump(_ id: String, _ change: (inout ScoreCounters) -> Void) {
        guard let i = index[id] else { return }
        change(&records[i].counters)
        markDirty(i)
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
            let known = index[id]
            if let info = StaffInfo.applying(event, to: known.map { records[$0].info }) {
                if let i = known {
                    records[i].info = info
                    markDirty(i)
                } else {
                    add(StaffRecord(info: info))
                    markDirty(records.count - 1)
                }
            }
        case .ticket, .discipline:
            try applyTicketEvent(event, seq: seq, version: version)
        case .compliance, .ledger:
            break
        }
    }

    private func applyTicketEvent(_ event: Event, seq: UInt64, version: UInt64) throws {
        guard let ticket = event.ticket else { return }
        if case .callOpened(let b) = event.body {
            try tickets.insert(TicketState(ticket: ticket, opened: b, at: event.at))
            bump(b.agent) { $0.callsOpened += 1 }
        }
        _ = try tickets.update(ticket) { state in try apply(event, seq: seq, version: version, to: &state) }
    }

    /// Folds one of a ticket's events into its state, and the scorecards into the staff's counts.
    private func apply(_ event: Event, seq: UInt64, version: UInt64, to state: inout TicketState) throws {
        let ticket = state.ticket
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
    }
}

/// Tickets in memory: for as-of replays and tests.
public final class MemoryTicketStore: TicketStore {
    public private(set) var states: [String: TicketState] = [:]
    public private(set) var accountable: [String: [String]] = [:]
    public init() {}
    public func ticket(_ id: String) -> TicketState? { states[id] }
    public func insert(_ state: consuming TicketState) {
        let id = state.ticket
        states[id] = consume state
    }
    public func update<R>(_ id: String, _ body: (inout TicketState) throws -> R) rethrows -> R? {
        guard let i = states.index(forKey: id) else { return nil }
        return try body(&states.values[i])
    }
    public func noteAccountable(staff: String, ticket: String) { accountable[staff, default: []].append(ticket) }
}
