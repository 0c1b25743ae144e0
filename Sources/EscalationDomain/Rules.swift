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
        public init(owner: String, resolved: Bool = false, openCallbacks: Int = 0) {
            self.owner = owner; self.resolved = resolved; self.openCallbacks = openCallbacks
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
        if event.actor != "system", try state.staff(event.actor) == nil {
            throw event.violation(.unknownStaff, field: "actor", "'\(event.actor)' is not an enrolled staff member")
        }
        var known: [String: Staff] = [:]
        for ref in event.staffReferences() {
            guard let s = try state.staff(ref.staff) else {
                throw event.violation(.unknownStaff, field: ref.field, "'\(ref.staff)' is not an enrolled staff member")
            }
            known[ref.staff] = s
        }
        switch event.type.category {
        case .staff:
            switch event.body {
            case .staffEnrolled(let b):
                return [.staff(b.staff, Staff(role: b.role, reportsTo: b.reportsTo))]
            case .staffReassigned(let b):
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
                return [.holds(b.customer, try state.holds(b.customer).filter { $0 != b.matter })]
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

    private static func checkTicketEvent(_ event: Event, known: [String: Staff], state: some RuleState) throws -> [Change] {
        let id = event.ticket ?? ""
        let current = try state.ticket(id)
        if case .callOpened(let b) = event.body {
            if current != nil { throw event.violation(.ticketExists, field: "ticket", "ticket \(id) was opened before") }
            return [.ticket(id, Ticket(owner: b.agent))]
        }
        guard var ticket = current else {
            throw event.violation(.unknownTicket, field: "ticket", "ticket \(id) has no callOpened")
        }
        if ticket.resolved && !acceptedWhenClosed.contains(event.type) {
            throw event.violation(.ticketClosed, field: "type",
                                  "ticket \(id) is resolved: only ticketReopened, debriefHeld, feedbackGiven, sanctionIssued and the owner's noteLogged are accepted")
        }
        switch event.body {
        case .noteLogged(let b):
            if b.author != ticket.owner {
                throw event.violation(.notOwner, field: "author", "\(b.author) is not the owner of \(id) (\(ticket.owner) is)")
            }
            return []
        case .feedbackGiven(let b):
            try requireSuperior(event, agent: b.agent, by: b.by, known: known)
            return []
        case .sanctionIssued(let b):
            try requireSuperior(event, agent: b.agent, by: b.by, known: known)
            return []
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
            return []
        }
        return [.ticket(id, ticket)]
    }

    private static func requireSuperior(_ event: Event, agent: String, by: String, known: [String: Staff]) throws {
        let superior = known[agent]?.reportsTo
        if superior != by {
            throw event.violation(.notDirectSuperior, field: "by",
                                  "\(by) is not \(agent)'s direct superior (\(superior ?? "nobody") is)")
        }
    }
}

/// The state the rules read (kept by the ledger in LMDB, or in memory in tests).
public protocol RuleState {
    func staff(_ id: String) throws -> Rules.Staff?
    func ticket(_ id: String) throws -> Rules.Ticket?
    /// The customer's open legal-hold matters.
    func holds(_ customer: String) throws -> [String]
}
