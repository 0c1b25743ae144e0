/// The name of a rule that can refuse an event (CONTRACT.md section 4).
///
/// A string-backed value so that the set of rules can grow without breaking
/// callers that switch over it; compare against the static members.
///
///     if violation.rule == .schema { ... }
public struct Rule: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The rule's name as it appears in refusals (`"schema"`, `"conflict"`, ...).
    public let rawValue: String

    /// Wraps a rule name.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A line that is not one JSON object, an unknown type, a missing or mistyped
    /// field, `null` for any field, a value outside an enumeration, a bad time, an
    /// unknown extra field, an identifier that is not 1 to 200 bytes of NFC UTF-8
    /// free of control characters.
    public static let schema = Rule(rawValue: "schema")
    /// `channel` is not an `ask:` channel.
    public static let directMessage = Rule(rawValue: "directMessage")
    /// `actor` or a staff field names nobody enrolled (`system` may only enrol and reassign staff).
    public static let unknownStaff = Rule(rawValue: "unknownStaff")
    /// A ticket event before its `callOpened`.
    public static let unknownTicket = Rule(rawValue: "unknownTicket")
    /// A second `callOpened` for a ticket.
    public static let ticketExists = Rule(rawValue: "ticketExists")
    /// An event not accepted after `ticketResolved`.
    public static let ticketClosed = Rule(rawValue: "ticketClosed")
    /// A `noteLogged` whose author is not the ticket's current owner.
    public static let notOwner = Rule(rawValue: "notOwner")
    /// Feedback or a sanction not given by the agent's direct superior.
    public static let notDirectSuperior = Rule(rawValue: "notDirectSuperior")
    /// A transfer to oneself, or from someone who is not the owner.
    public static let selfTransfer = Rule(rawValue: "selfTransfer")
    /// A `callbackCompleted` with no open callback.
    public static let noCallbackScheduled = Rule(rawValue: "noCallbackScheduled")
    /// A callback whose `dueBy` is not later than `at`.
    public static let callbackInPast = Rule(rawValue: "callbackInPast")
    /// `personalDataErased` while a legal hold is placed.
    public static let legalHold = Rule(rawValue: "legalHold")
    /// `legalHoldReleased` for a matter that holds nothing.
    public static let noLegalHold = Rule(rawValue: "noLegalHold")
    /// A hold, release or erasure for a customer that no `callOpened` has named
    /// (checked by the ledger's key store, not by ``Rules``).
    public static let unknownCustomer = Rule(rawValue: "unknownCustomer")
    /// A staff event whose actor is not `system`, a `manager` or a `director`; a
    /// compliance event whose actor is not of role `compliance`, `manager` or `director`.
    public static let notAuthorized = Rule(rawValue: "notAuthorized")
    /// A `reportsTo` naming the staff member themself or anyone who reports to them,
    /// directly or not.
    public static let reportingCycle = Rule(rawValue: "reportingCycle")
    /// A ticket event whose `at` is earlier than the latest `at` already recorded on that
    /// ticket (which also refuses a `callbackCompleted` earlier than its `callbackScheduled`).
    public static let outOfOrder = Rule(rawValue: "outOfOrder")
    /// `expectedVersion` differs from the stream's version.
    public static let conflict = Rule(rawValue: "conflict")
    /// An `id` seen before with different content.
    public static let duplicateId = Rule(rawValue: "duplicateId")

    /// Every rule of CONTRACT.md section 4, in the contract's order.
    public static let all: [Rule] = [
        .schema, .directMessage, .unknownStaff, .unknownTicket, .ticketExists, .ticketClosed,
        .notOwner, .notDirectSuperior, .selfTransfer, .noCallbackScheduled, .callbackInPast,
        .legalHold, .noLegalHold, .unknownCustomer, .notAuthorized, .reportingCycle, .outOfOrder, .conflict, .duplicateId,
    ]

    public var description: String { rawValue }
}

/// A refusal: the rule that refused an event, the event's id when it could be
/// read, the offending field when there is one, and a human-readable message.
///
///     do { let event = try decoder.decode(line) }
///     catch { print(error.rule, error.field ?? "-", error.message) }
public struct RuleViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule that refused the event.
    public var rule: Rule
    /// The event's `id` as written, when it could be read (lowercased when it is a valid UUID).
    public var eventID: String?
    /// The field at fault (`customer.phone` for a nested one), when there is one.
    public var field: String?
    /// What went wrong, for people.
    public var message: String

    /// Creates a refusal.
    public init(_ rule: Rule, eventID: String? = nil, field: String? = nil, message: String) {
        self.rule = rule
        self.eventID = eventID
        self.field = field
        self.message = message
    }

    /// `rule: field: message (id …)`, for logs and the command line.
    public var description: String {
        var s = rule.rawValue + ": "
        if let field { s += field + ": " }
        s += message
        if let eventID { s += " (id \(eventID))" }
        return s
    }
}
