import EscalationDomain

/// The clock-free counts of a staff member's scorecard, kept incrementally.
public struct ScoreCounters: Sendable, Equatable {
    public var callsOpened = 0
    public var escalationRequests = 0
    public var deEscalationAttempts = 0
    /// Tickets they opened that had an escalation request (the de-escalation rate's denominator).
    public var ticketsWithRequest = 0
    public var deEscalated = 0
    public var transfersOut = 0
    /// Their transfers that raised no transferBeforeTwoAsks.
    public var compliantTransfers = 0
    public var callbacksOwed = 0
    public var callbacksOnTime = 0
    public var callbacksLate = 0
    public var requestsDeclined = 0
    public var feedbackReceived = 0
    public var sanctionsReceived = 0
    public var debriefs = 0
    public var supervisorLoad = 0
    public var escalationCost = 0.0
    public init() {}
}

/// One staff member's scorecard (CONTRACT.md section 6) at a clock.
public struct Scorecard: Sendable, Equatable {
    public var staff: String
    public var name: String
    public var role: Role
    public var counters: ScoreCounters
    /// Callbacks they own still open past `dueBy` at the clock.
    public var callbacksOverdue: Int
    /// Findings they are accountable for, by kind (kinds with none are absent).
    public var findings: [Finding.Kind: Int]

    /// `deEscalated` / tickets they opened with a request; nil with none.
    public var deEscalationRate: Double? {
        counters.ticketsWithRequest == 0 ? nil : Double(counters.deEscalated) / Double(counters.ticketsWithRequest)
    }

    /// Share of their transfers with no transferBeforeTwoAsks; nil with no transfers.
    public var twoAskCompliance: Double? {
        counters.transfersOut == 0 ? nil : Double(counters.compliantTransfers) / Double(counters.transfersOut)
    }

    public var findingsTotal: Int { findings.values.reduce(0, +) }
}
