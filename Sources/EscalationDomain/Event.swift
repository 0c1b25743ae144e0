/// One event of the ledger: the envelope of CONTRACT.md section 2 and a typed body.
///
///     let e = Event(id: .random(), at: .now(), actor: "a-17", channel: "ask:desk",
///                   ticket: "T-9",
///                   body: .transferred(.init(from: "a-17", to: "s-2", mode: .warm)))
///     e.stream      // "ticket:T-9"
///     e.summary     // "a-17 transferred T-9 to s-2 (warm)"
///
/// `ticket` is required on ticket and discipline events and absent on the
/// others; the decoder enforces this and `validateStandalone()` checks it.
public struct Event: Hashable, Sendable {
    /// The writer's id, kept forever (idempotency key).
    public var id: EventID
    /// When it happened (`occurredAt`).
    public var at: Timestamp
    /// Staff id of who did it, or `system`.
    public var actor: String
    /// Where it was logged: `ask:<name>`.
    public var channel: String
    /// The ticket, on ticket and discipline events only.
    public var ticket: String?
    /// Optimistic concurrency: how many events the writer has seen on the event's stream.
    public var expectedVersion: UInt64?
    /// The type-specific fields.
    public var body: Body
    /// The stored form's sealed personal data (`<pseudonym>:<base64>`, see docs/PRIVACY.md);
    /// never on interchange lines.
    public var sealed: String?

    /// Creates an event.
    public init(
        id: EventID, at: Timestamp, actor: String, channel: String, ticket: String? = nil,
        expectedVersion: UInt64? = nil, body: Body, sealed: String? = nil
    ) {
        self.sealed = sealed
        self.id = id
        self.at = at
        self.actor = actor
        self.channel = channel
        self.ticket = ticket
        self.expectedVersion = expectedVersion
        self.body = body
    }

    /// The event's type.
    public var type: EventType { body.type }
}

/// The event catalogue's type names (the `type` field).
public enum EventType: String, CaseIterable, Sendable {
    case staffEnrolled, staffReassigned
    case callOpened, escalationRequested, deEscalationAttempted, supervisorAvailability, alternativeOffered
    case requestDeclined, transferred, callbackScheduled, callbackCompleted, noteLogged, ticketResolved
    case ticketReopened, debriefHeld
    case feedbackGiven, sanctionIssued
    case legalHoldPlaced, legalHoldReleased, personalDataErased
    case exportMade, personalDataRevealed

    /// Which family the type belongs to, which decides its stream and whether it has a `ticket`.
    public var category: Category {
        switch self {
        case .staffEnrolled, .staffReassigned: .staff
        case .feedbackGiven, .sanctionIssued: .discipline
        case .legalHoldPlaced, .legalHoldReleased, .personalDataErased: .compliance
        case .exportMade, .personalDataRevealed: .ledger
        default: .ticket
        }
    }

    /// The families of the catalogue.
    public enum Category: Sendable, Hashable {
        /// On the staff member's stream (`staff:<staff>`).
        case staff
        /// On the ticket's stream (`ticket:<ticket>`).
        case ticket
        /// On the ticket it concerns (`ticket:<ticket>`).
        case discipline
        /// On the customer's stream (`customer:<customer>`).
        case compliance
        /// Appended by the ledger itself, on the `ledger` stream.
        case ledger

        /// True for the families that carry a `ticket` (ticket and discipline).
        public var hasTicket: Bool { self == .ticket || self == .discipline }
    }
}

/// The customer on `callOpened`. All three fields are personal data: the
/// ledger stores a pseudonym for `id` and seals the values (see ``Event/sealed``).
public struct Customer: Hashable, Sendable {
    /// The customer's id.
    public var id: String
    /// Personal data.
    public var name: String?
    /// Personal data.
    public var phone: String?

    /// Creates a customer.
    public init(id: String, name: String? = nil, phone: String? = nil) {
        self.id = id
        self.name = name
        self.phone = phone
    }
}

extension Event {
    /// The type-specific fields: one case per event type.
    public enum Body: Hashable, Sendable {
        case staffEnrolled(StaffEnrolled)
        case staffReassigned(StaffReassigned)
        case callOpened(CallOpened)
        case escalationRequested(EscalationRequested)
        case deEscalationAttempted(DeEscalationAttempted)
        case supervisorAvailability(SupervisorAvailability)
        case alternativeOffered(AlternativeOffered)
        case requestDeclined(RequestDeclined)
        case transferred(Transferred)
        case callbackScheduled(CallbackScheduled)
        case callbackCompleted(CallbackCompleted)
        case noteLogged(NoteLogged)
        case ticketResolved(TicketResolved)
        case ticketReopened(TicketReopened)
        case debriefHeld(DebriefHeld)
        case feedbackGiven(FeedbackGiven)
        case sanctionIssued(SanctionIssued)
        case legalHoldPlaced(LegalHold)
        case legalHoldReleased(LegalHold)
        case personalDataErased(PersonalDataErased)
        case exportMade(ExportMade)
        case personalDataRevealed(PersonalDataRevealed)

        /// The body's event type.
        public var type: EventType {
            switch self {
            case .staffEnrolled: .staffEnrolled
            case .staffReassigned: .staffReassigned
            case .callOpened: .callOpened
            case .escalationRequested: .escalationRequested
            case .deEscalationAttempted: .deEscalationAttempted
            case .supervisorAvailability: .supervisorAvailability
            case .alternativeOffered: .alternativeOffered
            case .requestDeclined: .requestDeclined
            case .transferred: .transferred
            case .callbackScheduled: .callbackScheduled
            case .callbackCompleted: .callbackCompleted
            case .noteLogged: .noteLogged
            case .ticketResolved: .ticketResolved
            case .ticketReopened: .ticketReopened
            case .debriefHeld: .debriefHeld
            case .feedbackGiven: .feedbackGiven
            case .sanctionIssued: .sanctionIssued
            case .legalHoldPlaced: .legalHoldPlaced
            case .legalHoldReleased: .legalHoldReleased
            case .personalDataErased: .personalDataErased
            case .exportMade: .exportMade
            case .personalDataRevealed: .personalDataRevealed
            }
        }
    }

    // MARK: Staff

    /// `staffEnrolled`: a staff member joins the organisation chart.
    public struct StaffEnrolled: Hashable, Sendable {
        public var staff: String
        public var name: String
        public var role: Role
        /// The direct superior; absent for the top of the chart.
        public var reportsTo: String?
        public var `extension`: String?
        public var hourlyCost: ExactDecimal?

        public init(staff: String, name: String, role: Role, reportsTo: String? = nil,
                    extension: String? = nil, hourlyCost: ExactDecimal? = nil) {
            self.staff = staff
            self.name = name
            self.role = role
            self.reportsTo = reportsTo
            self.extension = `extension`
            self.hourlyCost = hourlyCost
        }
    }

    /// `staffReassigned`: a new direct superior, and possibly a new role.
    public struct StaffReassigned: Hashable, Sendable {
        public var staff: String
        public var reportsTo: String
        public var role: Role?

        public init(staff: String, reportsTo: String, role: Role? = nil) {
            self.staff = staff
            self.reportsTo = reportsTo
            self.role = role
        }
    }

    // MARK: Tickets

    /// `callOpened`: the ticket starts; `agent` is its first owner.
    public struct CallOpened: Hashable, Sendable {
        public var agent: String
        public var customer: Customer
        public var issue: String
        /// The earlier ticket this call repeats, after a failed contact.
        public var repeatOf: String?

        public init(agent: String, customer: Customer, issue: String, repeatOf: String? = nil) {
            self.agent = agent
            self.customer = customer
            self.issue = issue
            self.repeatOf = repeatOf
        }
    }

    /// `escalationRequested`: someone asks for a higher level.
    public struct EscalationRequested: Hashable, Sendable {
        public var requestedBy: RequestedBy
        public var scenario: Scenario
        public var reason: Reason
        public var level: Level
        /// What the customer wants.
        public var goal: String

        public init(requestedBy: RequestedBy, scenario: Scenario, reason: Reason, level: Level, goal: String) {
            self.requestedBy = requestedBy
            self.scenario = scenario
            self.reason = reason
            self.level = level
            self.goal = goal
        }
    }

    /// `deEscalationAttempted`: the agent tries a technique.
    public struct DeEscalationAttempted: Hashable, Sendable {
        public var agent: String
        public var technique: Technique
        public var outcome: Outcome

        public init(agent: String, technique: Technique, outcome: Outcome) {
            self.agent = agent
            self.technique = technique
            self.outcome = outcome
        }
    }

    /// `supervisorAvailability`: whether a supervisor can take the call.
    public struct SupervisorAvailability: Hashable, Sendable {
        public var supervisor: String
        public var available: Bool

        public init(supervisor: String, available: Bool) {
            self.supervisor = supervisor
            self.available = available
        }
    }

    /// `alternativeOffered`: another party or a supervisor callback is offered.
    public struct AlternativeOffered: Hashable, Sendable {
        public var agent: String
        public var kind: AlternativeKind
        /// The other party (required when `kind` is `otherParty`).
        public var party: String?
        public var accepted: Bool

        public init(agent: String, kind: AlternativeKind, party: String? = nil, accepted: Bool) {
            self.agent = agent
            self.kind = kind
            self.party = party
            self.accepted = accepted
        }
    }

    /// `requestDeclined`: an escalation request is turned down.
    public struct RequestDeclined: Hashable, Sendable {
        public var by: String
        public var reason: String

        public init(by: String, reason: String) {
            self.by = by
            self.reason = reason
        }
    }

    /// `transferred`: the call moves from one staff member to another, who becomes the owner.
    public struct Transferred: Hashable, Sendable {
        public var from: String
        public var to: String
        public var mode: TransferMode
        public var announcedName: String?
        public var announcedExtension: String?

        public init(from: String, to: String, mode: TransferMode,
                    announcedName: String? = nil, announcedExtension: String? = nil) {
            self.from = from
            self.to = to
            self.mode = mode
            self.announcedName = announcedName
            self.announcedExtension = announcedExtension
        }
    }

    /// `callbackScheduled`: `owner` will call the customer back by `dueBy`.
    public struct CallbackScheduled: Hashable, Sendable {
        public var owner: String
        public var dueBy: Timestamp

        public init(owner: String, dueBy: Timestamp) {
            self.owner = owner
            self.dueBy = dueBy
        }
    }

    /// `callbackCompleted`: the callback was made.
    public struct CallbackCompleted: Hashable, Sendable {
        public var by: String
        public var reached: Bool

        public init(by: String, reached: Bool) {
            self.by = by
            self.reached = reached
        }
    }

    /// `noteLogged`: an entry in the ticket's note log.
    public struct NoteLogged: Hashable, Sendable {
        public var author: String
        public var text: String

        public init(author: String, text: String) {
            self.author = author
            self.text = text
        }
    }

    /// `ticketResolved`: the ticket closes.
    public struct TicketResolved: Hashable, Sendable {
        public var by: String
        public var resolution: Resolution
        public var satisfied: Bool?

        public init(by: String, resolution: Resolution, satisfied: Bool? = nil) {
            self.by = by
            self.resolution = resolution
            self.satisfied = satisfied
        }
    }

    /// `ticketReopened`: a resolved ticket opens again.
    public struct TicketReopened: Hashable, Sendable {
        public var by: String
        public var reason: String

        public init(by: String, reason: String) {
            self.by = by
            self.reason = reason
        }
    }

    /// `debriefHeld`: the agent and a coach review the escalation (seed 002).
    public struct DebriefHeld: Hashable, Sendable {
        public var agent: String
        public var coach: String
        public var lessons: String

        public init(agent: String, coach: String, lessons: String) {
            self.agent = agent
            self.coach = coach
            self.lessons = lessons
        }
    }

    // MARK: Discipline

    /// `feedbackGiven`: the agent's direct superior gives feedback (seed 003).
    public struct FeedbackGiven: Hashable, Sendable {
        public var agent: String
        public var by: String
        public var text: String

        public init(agent: String, by: String, text: String) {
            self.agent = agent
            self.by = by
            self.text = text
        }
    }

    /// `sanctionIssued`: the agent's direct superior issues a sanction.
    public struct SanctionIssued: Hashable, Sendable {
        public var agent: String
        public var by: String
        public var severity: Severity
        public var reason: String

        public init(agent: String, by: String, severity: Severity, reason: String) {
            self.agent = agent
            self.by = by
            self.severity = severity
            self.reason = reason
        }
    }

    // MARK: Compliance

    /// `legalHoldPlaced` / `legalHoldReleased`: a hold on a customer's data for a legal matter.
    public struct LegalHold: Hashable, Sendable {
        public var customer: String
        public var matter: String

        public init(customer: String, matter: String) {
            self.customer = customer
            self.matter = matter
        }
    }

    /// `personalDataErased`: the customer's personal data is destroyed (its key is dropped).
    public struct PersonalDataErased: Hashable, Sendable {
        public var customer: String
        /// Why (optional): the request or decision, recorded in clear (it is not the customer's text).
        public var reason: String?

        public init(customer: String, reason: String? = nil) {
            self.customer = customer
            self.reason = reason
        }
    }

    /// `exportMade`: appended by the ledger (actor `system`) whenever an export reads the log.
    public struct ExportMade: Hashable, Sendable {
        /// First seq exported.
        public var from: UInt64
        /// Last seq exported.
        public var to: UInt64
        /// Number of events exported.
        public var count: UInt64
        /// The export's Merkle root, lowercase hex.
        public var root: String

        /// The staff member who asked for the export.
        public var `operator`: String
        /// Why, as they stated it.
        public var purpose: String
        /// The selection as given (`--from 1 --to 500 --ticket T-1`; empty for everything).
        public var filter: String
        /// True when customers were shown by pseudonym only.
        public var pseudonymized: Bool

        public init(from: UInt64, to: UInt64, count: UInt64, root: String, operator: String, purpose: String,
                    filter: String, pseudonymized: Bool) {
            self.from = from
            self.to = to
            self.count = count
            self.root = root
            self.operator = `operator`
            self.purpose = purpose
            self.filter = filter
            self.pseudonymized = pseudonymized
        }
    }

    /// `personalDataRevealed`: appended by the ledger (actor `system`) before a query or an
    /// export shows personal data in clear (CONTRACT.md section 7).
    public struct PersonalDataRevealed: Hashable, Sendable {
        /// The staff member who asked.
        public var `operator`: String
        /// Why, as they stated it.
        public var purpose: String
        /// The pseudonyms of the customers shown.
        public var customers: [String]
        /// What was asked (`ticket T-1`, `customer …`).
        public var query: String

        public init(operator: String, purpose: String, customers: [String], query: String) {
            self.operator = `operator`
            self.purpose = purpose
            self.customers = customers
            self.query = query
        }
    }
}
