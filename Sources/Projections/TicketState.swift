import EscalationDomain

/// One ticket's state, folded from its stream (CONTRACT.md section 6), plus
/// what its findings need. Pure: the same events give the same state.
public struct TicketState: Sendable, Equatable {
    public enum Status: String, Sendable {
        case open, escalationRequested, awaitingCallback, transferred, resolved
    }

    public struct Transfer: Sendable, Equatable {
        public var seq: UInt64
        public var at: Timestamp
        public var from: String
        public var to: String
        public var mode: TransferMode
        public var announced: Bool
    }

    public struct Callback: Sendable, Equatable {
        public var seq: UInt64
        public var owner: String
        public var scheduledAt: Timestamp
        public var dueBy: Timestamp
        public var completedAt: Timestamp?
        public var completedBy: String?
        public var completedSeq: UInt64?
        public var isOpen: Bool { completedAt == nil }
    }

    public var ticket: String
    public var status: Status = .open
    public var owner: String
    public var openedBy: String
    public var openedAt: Timestamp
    /// The customer's id as stored (a pseudonym; see docs/FORMAT.md).
    public var customer: String
    /// The highest level requested.
    public var level: Level?
    /// Declined asks (askPermission/offerHelp) since the last request.
    public var asks = 0
    public var escalations = 0
    public var transfers: [Transfer] = []
    public var callbacks: [Callback] = []
    public var version: UInt64 = 0
    public var lastSeq: UInt64 = 0
    public var resolvedAt: Timestamp?
    public var resolvedSeq: UInt64?
    public var resolution: Resolution?

    /// Findings that need no clock, in the order raised.
    var eventFindings: [Finding] = []
    var statusBeforeCallback: Status = .open
    var attempted = false
    /// `supervisorAvailability` with `available: false` and no alternative offered since.
    var pendingUnavailable: [PendingUnavailable] = []

    struct PendingUnavailable: Sendable, Equatable {
        var seq: UInt64
        var at: Timestamp
        var supervisor: String
    }
    var superiorAtResolution: String?
    var debriefTimes: [Timestamp] = []
    var followUpTimes: [Timestamp] = []
    /// The first event that brought a supervisor or above onto the ticket.
    var reachedSeq: UInt64?
    var reachedAt: Timestamp?
    var superiorAtReach: String?
    /// Supervisors and above, with when the ticket first named them (for escalationCost).
    var seniors: [(staff: String, at: Timestamp)] = []
    /// Staff accountable for any finding here, noted once (the projection's index).
    var accountable: [String] = []
    /// What this ticket last added to its opener's scorecard (so a change can be undone).
    var contributedDeEscalated = false
    /// The escalation cost this ticket adds to its opener's scorecard (senior time, priced).
    public internal(set) var contributedCost: Double = 0

    public init(ticket: String, opened: Event.CallOpened, at: Timestamp) {
        self.ticket = ticket
        owner = opened.agent
        openedBy = opened.agent
        openedAt = at
        customer = opened.customer.id
    }

    public static func == (a: TicketState, b: TicketState) -> Bool {
        a.ticket == b.ticket && a.status == b.status && a.owner == b.owner && a.version == b.version
            && a.lastSeq == b.lastSeq && a.callbacks == b.callbacks && a.transfers == b.transfers
            && a.eventFindings == b.eventFindings && a.asks == b.asks && a.escalations == b.escalations
            && a.level == b.level && a.resolution == b.resolution && a.resolvedSeq == b.resolvedSeq
            && a.debriefTimes == b.debriefTimes && a.followUpTimes == b.followUpTimes && a.reachedSeq == b.reachedSeq
            && a.accountable == b.accountable && a.seniors.map(\.staff) == b.seniors.map(\.staff)
            && a.seniors.map(\.at) == b.seniors.map(\.at) && a.superiorAtReach == b.superiorAtReach
            && a.superiorAtResolution == b.superiorAtResolution && a.pendingUnavailable == b.pendingUnavailable
        // contributedDeEscalated/contributedCost are the scorecards' bookkeeping, not the ticket's state.
    }

    /// What applying one event changed, for the scorecards.
    public struct Effects: Sendable {
        /// Findings raised by this event (no clock needed).
        public var raised: [Finding] = []
        /// The callback this event completed, if any.
        public var completedCallback: Callback?
        /// True when this event brought the first supervisor onto the ticket.
        public var reachedSupervisor = false
        /// True when this event was the ticket's first escalation request.
        public var firstRequest = false
        /// Staff newly accountable for a finding (now or once a deadline passes).
        public var newlyAccountable: [String] = []
    }

    /// Applies one of this ticket's events (not its `callOpened`, which made the state).
    public mutating func apply(_ event: Event, seq: UInt64, version: UInt64, staff: some StaffLookup) throws -> Effects {
        var fx = Effects()
        self.version = version
        lastSeq = seq
        try noteSeniors(event, seq: seq, staff: staff)
        switch event.body {
        case .callOpened:
            break
        case .escalationRequested(let b):
            escalations += 1
            fx.firstRequest = escalations == 1
            asks = 0
            level = max(level ?? b.level, b.level)
            setStatus(.escalationRequested)
        case .deEscalationAttempted(let b):
            attempted = true
            if b.technique.isAsk && b.outcome == .declined { asks += 1 }
        case .supervisorAvailability(let b):
            if !b.available { pendingUnavailable.append(PendingUnavailable(seq: seq, at: event.at, supervisor: b.supervisor)) }
        case .alternativeOffered:
            pendingUnavailable.removeAll()
        case .requestDeclined(let b):
            if attempted {
                raise(.requestDeclined, staff: b.by, seq: seq, at: event.at,
                      "\(b.by) declined the request after a de-escalation attempt (no reason is valid then)", &fx)
            }
        case .transferred(let b):
            if escalations > 0 && asks < 2 {
                raise(.transferBeforeTwoAsks, staff: b.from, seq: seq, at: event.at,
                      "transferred to \(b.to) after \(asks) declined ask\(asks == 1 ? "" : "s") (2 required)", &fx)
            }
            let announced = b.mode != .blind && b.announcedName != nil && b.announcedExtension != nil
            if !announced {
                raise(.unannouncedTransfer, staff: b.from, seq: seq, at: event.at,
                      b.mode == .blind ? "blind transfer to \(b.to)" : "transfer to \(b.to) without announcing the customer's name and extension", &fx)
            }
            flushUnavailable(owner: owner, until: "a transfer", &fx)
            transfers.append(Transfer(seq: seq, at: event.at, from: b.from, to: b.to, mode: b.mode, announced: announced))
            owner = b.to
            setStatus(.transferred)
            if let role = try staff.staff(b.to, atSeq: seq)?.role, role.isSupervisorOrAbove {
                try reach(seq: seq, at: event.at, staff: staff, &fx)
            }
        case .callbackScheduled(let b):
            callbacks.append(Callback(seq: seq, owner: b.owner, scheduledAt: event.at, dueBy: b.dueBy))
            if status != .awaitingCallback { statusBeforeCallback = status == .resolved ? .open : status }
            status = .awaitingCallback
            note(b.owner, &fx)
            if let role = try staff.staff(b.owner, atSeq: seq)?.role, role.isSupervisorOrAbove {
                try reach(seq: seq, at: event.at, staff: staff, &fx)
            }
        case .callbackCompleted(let b):
            let index = callbacks.firstIndex { $0.isOpen && $0.owner == b.by } ?? callbacks.firstIndex { $0.isOpen }
            if let index {
                callbacks[index].completedAt = event.at
                callbacks[index].completedBy = b.by
                callbacks[index].completedSeq = seq
                fx.completedCallback = callbacks[index]
                if callbacks[index].owner != b.by {
                    raise(.callbackByOther, staff: callbacks[index].owner, seq: seq, at: event.at,
                          "callback owned by \(callbacks[index].owner) completed by \(b.by)", &fx)
                }
            }
            if status == .awaitingCallback && !callbacks.contains(where: \.isOpen) { status = statusBeforeCallback }
        case .ticketResolved(let b):
            flushUnavailable(owner: owner, until: "the resolution", &fx)
            status = .resolved
            resolvedAt = event.at
            resolvedSeq = seq
            resolution = b.resolution
            superiorAtResolution = try staff.staff(openedBy, atSeq: seq)?.reportsTo
            if escalations > 0, let s = superiorAtResolution { note(s, &fx) }
        case .ticketReopened:
            status = .open
            resolvedAt = nil
            resolvedSeq = nil
            resolution = nil
        case .debriefHeld:
            debriefTimes.append(event.at)
        case .feedbackGiven(let b):
            if b.agent == openedBy { followUpTimes.append(event.at) }
        case .sanctionIssued(let b):
            if b.agent == openedBy { followUpTimes.append(event.at) }
        case .noteLogged, .staffEnrolled, .staffReassigned, .legalHoldPlaced, .legalHoldReleased,
             .personalDataErased, .exportMade, .personalDataRevealed:
            break
        }
        return fx
    }

    private mutating func setStatus(_ s: Status) {
        if status == .awaitingCallback && callbacks.contains(where: \.isOpen) { statusBeforeCallback = s } else { status = s }
    }

    private mutating func raise(_ kind: Finding.Kind, staff: String, seq: UInt64, at: Timestamp, _ reason: String, _ fx: inout Effects) {
        let f = Finding(kind: kind, ticket: ticket, staff: staff, seq: seq, at: at, reason: reason)
        eventFindings.append(f)
        fx.raised.append(f)
        note(staff, &fx)
    }

    private mutating func note(_ staff: String, _ fx: inout Effects) {
        if !accountable.contains(staff) { accountable.append(staff); fx.newlyAccountable.append(staff) }
    }

    private mutating func flushUnavailable(owner: String, until: String, _ fx: inout Effects) {
        for p in pendingUnavailable {
            raise(.unavailableWithoutAlternative, staff: owner, seq: p.seq, at: p.at,
                  "\(p.supervisor) was unavailable and no alternative was offered before \(until)", &fx)
        }
        pendingUnavailable.removeAll()
    }

    private mutating func reach(seq: UInt64, at: Timestamp, staff: some StaffLookup, _ fx: inout Effects) throws {
        guard reachedSeq == nil else { return }
        reachedSeq = seq
        reachedAt = at
        superiorAtReach = try staff.staff(openedBy, atSeq: seq)?.reportsTo
        fx.reachedSupervisor = true
        if let s = superiorAtReach { note(s, &fx) }
    }

    private mutating func noteSeniors(_ event: Event, seq: UInt64, staff: some StaffLookup) throws {
        // The names the event mentions, then its actor, in that order.
        func consider(_ name: String) throws {
            guard !seniors.contains(where: { $0.staff == name }) else { return }
            if let role = try staff.role(name, atSeq: seq), role.isSupervisorOrAbove { seniors.append((name, event.at)) }
        }
        var actorNamed = false
        try event.forEachStaffReference { _, name in
            if name == event.actor { actorNamed = true }
            try consider(name)
        }
        // An actor the event also names was considered already (same member, same seq).
        if !actorNamed { try consider(event.actor) }
    }

    // MARK: Derived

    /// Every finding on the ticket at `clock` (CONTRACT.md section 5), ordered by seq.
    public func findings(clock: Timestamp) -> [Finding] {
        var out = eventFindings
        for c in callbacks where clock > c.dueBy && (c.completedAt.map { $0 > c.dueBy } ?? true) {
            let reason = c.completedAt.map { "callback due \(c.dueBy) completed late, at \($0)" } ?? "callback due \(c.dueBy) not completed"
            out.append(Finding(kind: .callbackOverdue, ticket: ticket, staff: c.owner, seq: c.seq, at: c.dueBy, reason: reason))
        }
        if escalations > 0, let resolvedAt, let resolvedSeq, let superior = superiorAtResolution {
            let deadline = resolvedAt.adding(days: Deadlines.debriefDays)
            if clock > deadline && !debriefTimes.contains(where: { $0 <= deadline }) {
                out.append(Finding(kind: .noDebrief, ticket: ticket, staff: superior, seq: resolvedSeq, at: deadline,
                                   reason: "escalated ticket resolved at \(resolvedAt) with no debrief within \(Deadlines.debriefDays) days"))
            }
        }
        if let reachedAt, let reachedSeq, let superior = superiorAtReach {
            let deadline = reachedAt.adding(days: Deadlines.followUpDays)
            if clock > deadline && !followUpTimes.contains(where: { $0 <= deadline }) {
                out.append(Finding(kind: .followUpMissing, ticket: ticket, staff: superior, seq: reachedSeq, at: deadline,
                                   reason: "reached a supervisor at \(reachedAt); no feedback or sanction for \(openedBy) within \(Deadlines.followUpDays) days"))
            }
        }
        return out.sorted()
    }

    /// True when the opener de-escalated it: a request, then resolved by the agent or withdrawn,
    /// with no transfer and no callback.
    public var isDeEscalated: Bool {
        escalations > 0 && status == .resolved && (resolution == .resolvedByAgent || resolution == .customerWithdrew)
            && transfers.isEmpty && callbacks.isEmpty
    }

    /// True once a supervisor or above was brought in.
    public var reachedSupervisor: Bool { reachedSeq != nil }

    /// Hours supervisors and above spent on the ticket, from when it first named each of them
    /// to its resolution, priced at their hourly cost where known (0 while unresolved).
    public func escalationCost(staff: some StaffLookup) throws -> Double {
        guard let resolvedAt, let resolvedSeq else { return 0 }
        var total = 0.0
        for s in seniors {
            guard let cost = try staff.staff(s.staff, atSeq: resolvedSeq)?.hourlyCost else { continue }
            let hours = Double(max(0, resolvedAt.microseconds(since: s.at))) / 3_600_000_000
            total += hours * cost.doubleValue
        }
        return total
    }
}

// MARK: The scorecard index

/// What a ticket adds to its staff members' scorecards, as entries of the stored projection's
/// `accountable` table beside its `staff ‖ 0x00 ‖ ticket` entries (docs/FORMAT.md), so that a
/// scorecard at any clock costs a few range counts instead of a fold of every ticket the member
/// is accountable on:
///
/// - `staff ‖ 0x01 ‖ "S" ‖ kind` → u64: findings of that kind that need no clock;
/// - `staff ‖ 0x01 ‖ "D" ‖ kind ‖ due ‖ seq ‖ ticket` → empty: a deadline that is a finding
///   once the clock is past `due` (callbackOverdue, noDebrief, followUpMissing), and with
///   kind 0xFF an open callback (the scorecard's callbacksOverdue);
/// - `0x01 ‖ "settled"` → a time `S`, and `staff ‖ 0x01 ‖ "P" ‖ kind` → u64: the member's
///   deadlines of that kind due before `S`, so that a scorecard at a clock at or after `S`
///   walks only the deadlines due since (schema 4).
///
/// `kind` is the index of ``Finding/Kind`` in `allCases`; `due` is its microseconds since the
/// epoch with the sign bit flipped, big-endian, so that byte order is time order.
struct ScoreIndex: Equatable {
    var counts: [[UInt8]: UInt64] = [:]
    var deadlines: Set<[UInt8]> = []

    static let openCallbackKind: UInt8 = 0xFF

    static func kindByte(_ kind: Finding.Kind) -> UInt8 { UInt8(Finding.Kind.allCases.firstIndex(of: kind)!) }

    static func countKey(_ staff: String, _ kind: UInt8) -> [UInt8] {
        Array(staff.utf8) + [0x01, UInt8(ascii: "S"), kind]
    }

    static func deadlinePrefix(_ staff: String, _ kind: UInt8) -> [UInt8] {
        Array(staff.utf8) + [0x01, UInt8(ascii: "D"), kind]
    }

    /// The deadline kinds a scorecard counts against a clock.
    static let deadlineKinds: [UInt8] = [kindByte(.callbackOverdue), kindByte(.noDebrief), kindByte(.followUpMissing), openCallbackKind]

    /// `0x01 ‖ "settled"` → the settled time `S` (``timeBytes(_:)``): deadlines due before it are
    /// counted in ``settledCountKey(_:_:)``. No staff id starts with a control character.
    static let settledKey: [UInt8] = [0x01] + Array("settled".utf8)

    /// `staff ‖ 0x01 ‖ "P" ‖ kind` → u64: the member's deadlines of that kind due before `S`.
    static func settledCountKey(_ staff: String, _ kind: UInt8) -> [UInt8] {
        Array(staff.utf8) + [0x01, UInt8(ascii: "P"), kind]
    }

    /// The settled time for events up to `t`: `t` to the hour below (so that it moves, and its
    /// counts are updated, at most once per hour of event time, whatever the chunks).
    static func settled(upTo t: Timestamp) -> [UInt8] {
        let hour: Int64 = 3_600_000_000
        let us = t.microsecondsSinceEpoch
        return timeBytes(Timestamp(microsecondsSinceEpoch: us - ((us % hour) + hour) % hour))
    }

    /// The settled-count key of a deadline key: its member's and kind's.
    static func settledCountKey(ofDeadline key: [UInt8]) -> [UInt8]? {
        guard let mark = key.firstIndex(of: 0x01), key.count > mark + 2 else { return nil }
        return Array(key[..<mark]) + [0x01, UInt8(ascii: "P"), key[mark + 2]]
    }

    /// The 8 time bytes of a deadline key (after its prefix).
    static func due(ofDeadline key: [UInt8]) -> ArraySlice<UInt8>? {
        // staff ‖ 0x01 ‖ "D" ‖ kind ‖ due(8) ‖ seq(8) ‖ ticket: the staff id ends at the first 0x01.
        guard let mark = key.firstIndex(of: 0x01), key.count >= mark + 3 + 16 else { return nil }
        return key[(mark + 3)..<(mark + 11)]
    }

    static func timeBytes(_ t: Timestamp) -> [UInt8] {
        withUnsafeBytes(of: (UInt64(bitPattern: t.microsecondsSinceEpoch) ^ (1 << 63)).bigEndian) { Array($0) }
    }

    mutating func deadline(_ staff: String, _ kind: UInt8, due: Timestamp, seq: UInt64, ticket: String) {
        deadlines.insert(ScoreIndex.deadlinePrefix(staff, kind) + ScoreIndex.timeBytes(due)
                         + withUnsafeBytes(of: seq.bigEndian) { Array($0) } + Array(ticket.utf8))
    }
}

extension TicketState {
    /// This ticket's entries in the scorecard index; the same conditions as ``findings(clock:)``.
    var scoreIndex: ScoreIndex {
        var index = ScoreIndex()
        for f in eventFindings { index.counts[ScoreIndex.countKey(f.staff, ScoreIndex.kindByte(f.kind)), default: 0] += 1 }
        for c in callbacks {
            if c.completedAt.map({ $0 > c.dueBy }) ?? true {
                index.deadline(c.owner, ScoreIndex.kindByte(.callbackOverdue), due: c.dueBy, seq: c.seq, ticket: ticket)
            }
            if c.isOpen { index.deadline(c.owner, ScoreIndex.openCallbackKind, due: c.dueBy, seq: c.seq, ticket: ticket) }
        }
        if escalations > 0, let resolvedAt, let resolvedSeq, let superior = superiorAtResolution {
            let deadline = resolvedAt.adding(days: Deadlines.debriefDays)
            if !debriefTimes.contains(where: { $0 <= deadline }) {
                index.deadline(superior, ScoreIndex.kindByte(.noDebrief), due: deadline, seq: resolvedSeq, ticket: ticket)
            }
        }
        if let reachedAt, let reachedSeq, let superior = superiorAtReach {
            let deadline = reachedAt.adding(days: Deadlines.followUpDays)
            if !followUpTimes.contains(where: { $0 <= deadline }) {
                index.deadline(superior, ScoreIndex.kindByte(.followUpMissing), due: deadline, seq: reachedSeq, ticket: ticket)
            }
        }
        return index
    }
}
