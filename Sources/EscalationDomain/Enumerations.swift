// The closed enumerations of the event catalogue (CONTRACT.md section 3).
// Raw values are the interchange spellings; any other value is refused.

/// A staff member's role. Seniority runs `agent < sme < teamLead <
/// supervisor < manager < director`; `compliance` (a compliance officer)
/// stands outside that line: it is neither junior nor senior to anyone, so
/// it has no ``rank`` and is never "supervisor or above".
///
/// Raw values are the interchange spellings. The declaration order is also
/// the ledger's stored role byte (`compliance` = 6): append new roles only.
public enum Role: String, CaseIterable, Sendable {
    case agent, sme, teamLead, supervisor, manager, director, compliance

    /// Seniority rank, 0 for `agent` up to 5 for `director`; nil for
    /// `compliance`, which is outside the seniority line.
    public var rank: Int? {
        switch self {
        case .agent: 0
        case .sme: 1
        case .teamLead: 2
        case .supervisor: 3
        case .manager: 4
        case .director: 5
        case .compliance: nil
        }
    }

    /// True for `supervisor`, `manager` and `director` (never `compliance`).
    public var isSupervisorOrAbove: Bool { (rank ?? -1) >= 3 }

    /// True when this role is on the seniority line and at least as senior as `other` is.
    /// False whenever either role is `compliance`.
    public func isAtLeast(_ other: Role) -> Bool {
        guard let a = rank, let b = other.rank else { return false }
        return a >= b
    }
}

/// A de-escalation technique (seeds 000, 004).
public enum Technique: String, CaseIterable, Sendable {
    case empathize, clarifyRationale, confirmUnderstanding, offerHelp, askPermission, offerAssurance

    /// True for the techniques that count as "asking" before a transfer (seed 004).
    public var isAsk: Bool { self == .askPermission || self == .offerHelp }
}

/// Whether the customer accepted a de-escalation attempt.
public enum Outcome: String, CaseIterable, Sendable {
    case accepted, declined
}

/// Who asked for the escalation.
public enum RequestedBy: String, CaseIterable, Sendable {
    case customer, agent
}

/// When in the call the escalation was asked for (seed 003).
public enum Scenario: String, CaseIterable, Sendable {
    /// At the start of the call.
    case immediate
    /// During the conversation.
    case midConversation
}

/// Why an escalation was requested.
public enum Reason: String, CaseIterable, Sendable {
    case policyException, refusedRecovery, notUnderstood, lacksKnowledge, noProgress, repeatContact, other
}

/// The level an escalation asks for, ordered `supervisor < manager < director`.
public enum Level: String, CaseIterable, Sendable, Comparable {
    case supervisor, manager, director

    /// Rank from 0 (`supervisor`) to 2 (`director`).
    public var rank: Int {
        switch self {
        case .supervisor: 0
        case .manager: 1
        case .director: 2
        }
    }

    /// The role of this level.
    public var role: Role {
        switch self {
        case .supervisor: .supervisor
        case .manager: .manager
        case .director: .director
        }
    }

    public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
}

/// The kind of alternative offered when a supervisor is unavailable (seed 000).
public enum AlternativeKind: String, CaseIterable, Sendable {
    case otherParty, supervisorCallback
}

/// How a call was transferred (seed 002).
public enum TransferMode: String, CaseIterable, Sendable {
    case blind, warm, conference
}

/// How a ticket ended.
public enum Resolution: String, CaseIterable, Sendable {
    case resolvedByAgent, resolvedByEscalation, customerWithdrew, unresolved
}

/// A sanction's severity, ordered from `coaching` to `finalWarning`.
public enum Severity: String, CaseIterable, Sendable, Comparable {
    case coaching, verbalWarning, writtenWarning, finalWarning

    /// Rank from 0 (`coaching`) to 3 (`finalWarning`).
    public var rank: Int {
        switch self {
        case .coaching: 0
        case .verbalWarning: 1
        case .writtenWarning: 2
        case .finalWarning: 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
