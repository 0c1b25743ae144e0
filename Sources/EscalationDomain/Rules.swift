/// The rules that refuse an event (CONTRACT.md section 4) that depend on the
/// ledger's state. The ledger runs them inside the append transaction, against
/// the state that transaction sees, so they hold with many writers at once.
/// (`schema`, `directMessage` and `callbackInPast` depend on the line alone:
/// see ``Event/validateStandalone()``; `conflict` and `duplicateId` are the log's.)
public enum Rules {
    /// What the rules remember of a staff member.
    public struct Staff: Sendable, Equatable {
        public var role: Role
        public var reportsTo: String?
        public init(role: Role, reportsTo: String?) { self.role = role; self.reportsTo = reportsTo }
    }

    /// What the rules remember of a ticket.
    public struct Ticket: Sendable, Equatable {
        /// The opening agent, then each transfer's `to`.
        public var owner: String
        public var resolved: Bool
        public var openCallbacks: Int
        /// The latest `at` recorded on the ticket (µs since the epoch): a later event may not be earlier.
        public var lastAt: Int64
        public init(owner: String, resolved: Bool = false, openCallbacks: Int = 0, lastAt: Int64 = .min) {
            self.owner = owner; self.resolved = resolved; self.openCallbacks = openCallbacks; self.lastAt = lastAt
        }
    }

    /// A change to the rules' state that an accepted event makes.
    public enum Change: Sendable, Equatable {
        case staff(String, Staff)
        case ticket(String, Ticket)
        /// The customer's open legal-hold matters.
        case holds(String, [String])
        /// The customer's personal data was erased: destroy their key.
        case erased(String)
    }

    /// The types accepted on a resolved ticket (`noteLogged` only by the owner).
    static let acceptedWhenClosed: Set<EventType> = [.ticketReopened, .debriefHeld, .feedbackGiven, .sanctionIssued, .noteLogged]

    /// Checks `event` against `state` and returns the changes it makes, or throws the
    /// first rule it breaks. Reads only: nothing is changed when it throws.
    public static func check(_ event: Event, against state: some RuleState) throws -> [Change] {
        let actor: Staff?
        if event.actor == "system" {
            actor = nil
        } else {
            actor = try state.staff(event.actor)
            if actor == nil {
                throw event.violation(.unknownStaff, field: "actor", "\(Display.quoted(event.actor)) is not an enrolled staff member")
            }
        }
        try checkAuthority(event, actor: actor)
        try checkSelfReport(event)
        // Each member named, looked up once (the actor is most often also the agent named).
        var known = KnownStaff()
        if let actor { known.add(event.actor, actor) }
        try event.forEachStaffReference { field, staff in
            guard known[staff] == nil else { return }
            guard let s = try state.staff(staff) else {
                throw event.violation(.unknownStaff, field: field, "\(Display.quoted(staff)) is not an enrolled staff member")
            }
            known.add(staff, s)
        }
        switch event.type.category {
        case .staff:
            switch event.body {
            case .staffEnrolled(let b):
                if let superior = b.reportsTo { try checkReportingCycle(event, staff: b.staff, reportsTo: superior, state: state) }
                return [.staff(b.staff, Staff(role: b.role, reportsTo: b.reportsTo))]
            case .staffReassigned(let b):
                try checkReportingCycle(event, staff: b.staff, reportsTo: b.reportsTo, state: state)
                var s = known[b.staff]!
                s.reportsTo = b.reportsTo
                if let role = b.role { s.role = role }
                return [.staff(b.staff, s)]
            default: return []
            }
        case .ticket, .discipline:
            return try checkTicketEvent(event, known: known, state: state)
        case .compliance:
            switch event.body {
            case .legalHoldPlaced(let b):
                var holds = try state.holds(b.customer)
                if !holds.contains(b.matter) { holds.append(b.matter) }
                return [.holds(b.customer, holds)]
            case .legalHoldReleased(let b):
                let holds = try state.holds(b.customer)
                guard holds.contains(b.matter) else {
                    throw event.violation(.noLegalHold, field: "matter",
                                          "matter \(Display.quoted(b.matter)) holds nothing for this customer; only a placed hold can be released")
                }
                return [.holds(b.customer, holds.filter { $0 != b.matter })]
            case .personalDataErased(let b):
                let holds = try state.holds(b.customer)
                if !holds.isEmpty {
                    throw event.violation(.legalHold, field: "customer",
                                          "personal data is under legal hold (\(holds.joined(separator: ", "))); release it first")
                }
                return [.erased(b.customer)]
            default: return []
            }
        case .ledger:
            return []
        }
    }

    /// The roles that may write compliance events (besides none: `system` may not).
    static let complianceWriters: Set<Role> = [.compliance, .manager, .director]
    /// The roles that may write staff events (besides `system`).
    static let staffWriters: Set<Role> = [.manager, .director]

    /// `notAuthorized`: staff events by `system`, a manager or a director; compliance
    /// events by a compliance officer, a manager or a director. `actor` is nil for `system`.
    private static func checkAuthority(_ event: Event, actor: Staff?) throws {
        let allowed: Set<Role>
        switch event.type.category {
        case .staff:
            guard let actor else { return }  // system sets up the organisation
            allowed = staffWriters
            if allowed.contains(actor.role) { return }
            throw event.violation(.notAuthorized, field: "actor",
                                  "\(event.actor) is a \(actor.role.rawValue); staff events are written by system, a manager or a director")
        case .compliance:
            allowed = complianceWriters
            if let actor, allowed.contains(actor.role) { return }
            throw event.violation(.notAuthorized, field: "actor",
                                  "\(event.actor) is \(actor.map { "a " + $0.role.rawValue } ?? "not staff"); compliance events are written by a compliance officer, a manager or a director")
        default:
            return
        }
    }

    /// `reportingCycle` for a staff member named as their own superior, checked before
    /// `unknownStaff` so that a new member reporting to themself is refused as a cycle.
    private static func checkSelfReport(_ event: Event) throws {
        let pair: (staff: String, reportsTo: String?)
        switch event.body {
        case .staffEnrolled(let b): pair = (b.staff, b.reportsTo)
        case .staffReassigned(let b): pair = (b.staff, b.reportsTo)
        default: return
        }
        if let superior = pair.reportsTo, superior == pair.staff {
            throw event.violation(.reportingCycle, field: "reportsTo", "\(pair.staff) cannot report to themself")
        }
    }

    /// The longest reporting chain walked; the rules keep the chart acyclic, so a
    /// longer walk means the state is damaged (and the event is refused).
    static let maxReportingDepth = 100_000

    /// `reportingCycle`: `reportsTo` must not be `staff` nor anyone below `staff`, i.e.
    /// walking up from `reportsTo` must never reach `staff`.
    private static func checkReportingCycle(_ event: Event, staff: String, reportsTo: String, state: some RuleState) throws {
        var current: String? = reportsTo
        var steps = 0
        while let id = current {
            if id == staff {
                throw event.violation(.reportingCycle, field: "reportsTo",
                                      "\(reportsTo) reports to \(staff), directly or not; \(staff) cannot report to them")
            }
            steps += 1
            if steps > maxReportingDepth {
                throw event.violation(.reportingCycle, field: "reportsTo",
                                      "the reporting chain above \(reportsTo) is longer than \(maxReportingDepth) levels")
            }
            current = try state.staff(id)?.reportsTo
        }
    }

    private static func checkTicketEvent(_ event: Event, known: KnownStaff, state: some RuleState) throws -> [Change] {
        let id = event.ticket ?? ""
        let current = try state.ticket(id)
        if case .callOpened(let b) = event.body {
            if current != nil { throw event.violation(.ticketExists, field: "ticket", "ticket \(id) was opened before") }
            return [.ticket(id, Ticket(owner: b.agent, lastAt: event.at.microsecondsSinceEpoch))]
        }
        guard var ticket = current else {
            throw event.violation(.unknownTicket, field: "ticket", "ticket \(id) has no callOpened")
        }
        // A ticket's events are recorded in the order they happened, so every rule and deadline
        // is judged in event time (a callbackCompleted is then never earlier than its schedule).
        if event.at.microsecondsSinceEpoch < ticket.lastAt {
            throw event.violation(.outOfOrder, field: "at",
                                  "\(event.at) is earlier than \(Timestamp(microsecondsSinceEpoch: ticket.lastAt)), the latest event already recorded on ticket \(id)")
        }
        ticket.lastAt = event.at.microsecondsSinceEpoch
        if ticket.resolved && !acceptedWhenClosed.contains(event.type) {
            throw event.violation(.ticketClosed, field: "type",
                                  "ticket \(id) is resolved: only ticketReopened, debriefHeld, feedbackGiven, sanctionIssued and the owner's noteLogged are accepted")
        }
        switch event.body {
        case .noteLogged(let b):
            if b.author != ticket.owner {
                throw event.violation(.notOwner, field: "author", "\(b.author) is not the owner of \(id) (\(ticket.owner) is)")
            }
        case .feedbackGiven(let b):
            try requireSuperior(event, agent: b.agent, by: b.by, known: known)
        case .sanctionIssued(let b):
            try requireSuperior(event, agent: b.agent, by: b.by, known: known)
        case .transferred(let b):
            if b.from == b.to { throw event.violation(.selfTransfer, field: "to", "a transfer from \(b.from) to themselves") }
            if b.from != ticket.owner {
                throw event.violation(.selfTransfer, field: "from", "\(b.from) is not the owner of \(id) (\(ticket.owner) is)")
            }
            ticket.owner = b.to
        case .callbackScheduled:
            ticket.openCallbacks += 1
        case .callbackCompleted:
            if ticket.openCallbacks == 0 {
                throw event.violation(.noCallbackScheduled, field: "type", "ticket \(id) has no open callback")
            }
            ticket.openCallbacks -= 1
        case .ticketResolved:
            ticket.resolved = true
        case .ticketReopened:
            ticket.resolved = false
        default:
            break
        }
        return [.ticket(id, ticket)]
    }

    private static func requireSuperior(_ event: Event, agent: String, by: String, known: KnownStaff) throws {
        let superior = known[agent]?.reportsTo
        if superior != by {
            throw event.violation(.notDirectSuperior, field: "by",
                                  "\(by) is not \(agent)'s direct superior (\(superior ?? "nobody") is)")
        }
    }
}

/// The staff members an event names, each looked up once: the actor and at most a few more, so
/// they are kept inline and found by comparing names (a dictionary made for every event, and
/// the hashing of its keys, cost the writer more than the look-ups it saved).
struct KnownStaff {
    private var first: (name: String, staff: Rules.Staff)?, second: (name: String, staff: Rules.Staff)?
    private var third: (name: String, staff: Rules.Staff)?
    private var more: [(name: String, staff: Rules.Staff)] = []

    subscript(name: String) -> Rules.Staff? {
        if let first, first.name == name { return first.staff }
        if let second, second.name == name { return second.staff }
        if let third, third.name == name { return third.staff }
        return more.first { $0.name == name }?.staff
    }

    /// Adds a member not known yet.
    mutating func add(_ name: String, _ staff: Rules.Staff) {
        if first == nil { first = (name, staff) } else if second == nil { second = (name, staff) }
        else if third == nil { third = (name, staff) } else { more.append((name, staff)) }
    }
}

/// The state the rules read (kept by the ledger in LMDB, or in memory in tests).
public protocol RuleState {
    func staff(_ id: String) throws -> Rules.Staff?
    func ticket(_ id: String) throws -> Rules.Ticket?
    /// The customer's open legal-hold matters.
    func holds(_ customer: String) throws -> [String]
}
