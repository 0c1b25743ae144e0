/// A staff member's role in the simulated contact centre, spelled as in the
/// interchange line. Seniority runs `agent` ... `director`; `compliance` (the
/// compliance officer, who writes legal holds and erasures) stands outside it.
public enum StaffRole: String, CaseIterable, Sendable {
    case agent, sme, teamLead, supervisor, manager, director, compliance

    /// Position in `allCases` (0 for `agent` up to 6 for `compliance`).
    public var index: Int {
        switch self {
        case .agent: 0
        case .sme: 1
        case .teamLead: 2
        case .supervisor: 3
        case .manager: 4
        case .director: 5
        case .compliance: 6
        }
    }

    /// Seniority: 0 for `agent` up to 5 for `director`; nil for `compliance`.
    public var rank: Int? { self == .compliance ? nil : index }

    /// True for `supervisor`, `manager` and `director` (never `compliance`).
    public var isSupervisorOrAbove: Bool { (rank ?? -1) >= 3 }

    /// The id prefix (`ag-0007`, `sme-002`, `tl-003`, `sup-001`, `mgr-001`, `dir-001`, `co-001`).
    var idPrefix: String {
        switch self {
        case .agent: "ag-"
        case .sme: "sme-"
        case .teamLead: "tl-"
        case .supervisor: "sup-"
        case .manager: "mgr-"
        case .director: "dir-"
        case .compliance: "co-"
        }
    }
}

/// Behaviour knobs of one staff member, each a probability in `0 ... 1`.
/// Agents differ mostly in the first six, which is what makes scorecards
/// differ; the others matter for team leads and the ranks above.
public struct StaffTraits: Sendable, Hashable {
    /// How well de-escalation attempts land (raises the chance of `accepted`).
    public var empathy: Double
    /// Chance of transferring after fewer than two asks (seed 004 says ask twice).
    public var skipSecondAsk: Double
    /// Chance that a transfer is warm or conference with name and extension given (seed 002).
    public var announcesTransfers: Double
    /// Chance of offering an alternative when the supervisor is unavailable (seed 000).
    public var offersAlternative: Double
    /// Chance of declining an escalation request after trying to de-escalate (seed 003: never valid).
    public var declinesRequests: Double
    /// Chance of logging a background note before handing over (seed 002).
    public var logsNotes: Double
    /// Supervisor and above: chance of being free when an agent checks.
    public var availability: Double
    /// Team leads: chance of holding a debrief after an escalated ticket.
    public var debriefDiligence: Double
    /// Team leads: chance of giving feedback or a sanction after a supervisor escalation.
    public var feedbackDiligence: Double
    /// Callback owners: chance of calling back by the agreed time.
    public var callbackPunctuality: Double
}

/// One member of the organisation chart, as enrolled at the start of a run.
public struct StaffMember: Sendable, Hashable {
    /// Position in `Organisation.members` (also the enrolment order).
    public let index: Int
    /// Staff id: `ag-0001`, `sme-001`, `tl-001`, `sup-001`, `mgr-001`, `dir-001`.
    public let id: String
    /// Display name (may contain non-ASCII letters and apostrophes).
    public let name: String
    /// Role at enrolment (the simulation never changes it).
    public let role: StaffRole
    /// Index of the direct superior at enrolment; nil only for the director.
    /// (The compliance officer reports to the director.)
    public let reportsTo: Int?
    /// Four-digit telephone extension, unique in the organisation.
    public let `extension`: String
    /// Hourly cost in hundredths (cents); agents cheapest, rising with rank.
    public let hourlyCostCents: Int
    /// How this person handles calls, callbacks, debriefs and feedback.
    public let traits: StaffTraits

    /// `hourlyCost` as written on the line: a decimal with at most two
    /// fraction digits and no trailing zeros (`18.5`, `21.25`, `40`).
    public var hourlyCost: String { decimalString(cents: hourlyCostCents) }
}

/// A seeded organisation chart: mostly agents, then SMEs, team leads,
/// supervisors, managers, one director and one compliance officer. Agents and
/// SMEs report to team leads, team leads to supervisors, supervisors to
/// managers, managers and the compliance officer to the director. Agents come in three kinds (strong, steady, struggling)
/// so some de-escalate well and some badly.
///
///     let org = Organisation(seed: 7, agents: 40)
///     org.members.first?.role     // .director (enrolled first)
///     org.indices(of: .agent).count  // 40
public struct Organisation: Sendable {
    /// Every staff member, superiors before the people who report to them.
    public let members: [StaffMember]
    /// Indices by role, in enrolment order.
    let byRole: [[Int]]

    /// Builds the chart for `agents` agents (at least 1) from `seed`.
    public init(seed: UInt64, agents: Int) {
        var rng = Xoshiro256StarStar(seed: seed ^ 0x0A5C_7E55_0F0C_A11E)
        let agentCount = max(1, agents)
        let teamLeads = max(1, (agentCount + 7) / 8)
        let smes = max(1, agentCount / 10)
        let supervisors = max(1, (teamLeads + 2) / 3)
        let managers = max(1, (supervisors + 2) / 3)
        let counts: [(StaffRole, Int)] = [
            (.director, 1), (.manager, managers), (.supervisor, supervisors),
            (.teamLead, teamLeads), (.sme, smes), (.agent, agentCount),
            // Last, so that adding the role left every other member's draws as they were.
            (.compliance, 1),
        ]
        var members: [StaffMember] = []
        var byRole = Array(repeating: [Int](), count: StaffRole.allCases.count)
        var ext = 2000 + rng.between(0, 40)
        for (role, count) in counts {
            let width = role == .agent ? 4 : 3
            let superiors: [Int] = switch role {
            case .director: []
            case .manager, .compliance: byRole[StaffRole.director.index]
            case .supervisor: byRole[StaffRole.manager.index]
            case .teamLead: byRole[StaffRole.supervisor.index]
            case .sme, .agent: byRole[StaffRole.teamLead.index]
            }
            for k in 0..<count {
                let index = members.count
                let number = String(k + 1)
                let id = role.idPrefix + String(repeating: "0", count: max(0, width - number.count)) + number
                let name = Vocabulary.firstNames[rng.below(Vocabulary.firstNames.count)] + " "
                    + Vocabulary.lastNames[rng.below(Vocabulary.lastNames.count)]
                ext += rng.between(1, 9)
                let reportsTo: Int? = superiors.isEmpty ? nil : superiors[k % superiors.count]
                members.append(StaffMember(
                    index: index, id: id, name: name, role: role, reportsTo: reportsTo,
                    extension: String(ext), hourlyCostCents: Organisation.cost(role, &rng),
                    traits: Organisation.traits(role, &rng)))
                byRole[role.index].append(index)
            }
        }
        self.members = members
        self.byRole = byRole
    }

    /// Indices of the members with `role`, in enrolment order.
    public func indices(of role: StaffRole) -> [Int] { byRole[role.index] }

    private static func cost(_ role: StaffRole, _ rng: inout Xoshiro256StarStar) -> Int {
        let (low, high): (Int, Int) = switch role {
        case .agent: (1800, 2400)
        case .sme: (2500, 3200)
        case .teamLead: (3300, 4000)
        case .supervisor: (4200, 5200)
        case .manager: (5500, 7200)
        case .director: (9500, 12500)
        case .compliance: (5000, 6500)
        }
        // Mostly quarter-hour steps, now and then an odd cent.
        let quarters = rng.between(low / 25, high / 25) * 25
        return rng.chance(0.2) ? min(high, quarters + rng.between(1, 24)) : quarters
    }

    private static func traits(_ role: StaffRole, _ rng: inout Xoshiro256StarStar) -> StaffTraits {
        func u(_ a: Double, _ b: Double) -> Double { rng.uniform(a, b) }
        switch role {
        case .agent:
            switch rng.pick([20, 55, 25]) {
            case 0:  // strong: de-escalates, asks twice, announces, offers alternatives
                return StaffTraits(empathy: u(0.75, 0.95), skipSecondAsk: u(0.0, 0.06),
                                   announcesTransfers: u(0.92, 1.0), offersAlternative: u(0.9, 1.0),
                                   declinesRequests: u(0.0, 0.01), logsNotes: u(0.85, 0.98),
                                   availability: 0, debriefDiligence: 0, feedbackDiligence: 0,
                                   callbackPunctuality: u(0.85, 0.98))
            case 1:  // steady
                return StaffTraits(empathy: u(0.45, 0.75), skipSecondAsk: u(0.08, 0.3),
                                   announcesTransfers: u(0.75, 0.92), offersAlternative: u(0.7, 0.9),
                                   declinesRequests: u(0.01, 0.04), logsNotes: u(0.6, 0.85),
                                   availability: 0, debriefDiligence: 0, feedbackDiligence: 0,
                                   callbackPunctuality: u(0.7, 0.9))
            default:  // struggling: skips asks, blind transfers, no alternatives
                return StaffTraits(empathy: u(0.1, 0.4), skipSecondAsk: u(0.45, 0.85),
                                   announcesTransfers: u(0.35, 0.7), offersAlternative: u(0.25, 0.6),
                                   declinesRequests: u(0.05, 0.15), logsNotes: u(0.3, 0.6),
                                   availability: 0, debriefDiligence: 0, feedbackDiligence: 0,
                                   callbackPunctuality: u(0.5, 0.8))
            }
        default:
            return StaffTraits(empathy: u(0.5, 0.9), skipSecondAsk: u(0.0, 0.15),
                               announcesTransfers: u(0.85, 1.0), offersAlternative: u(0.8, 1.0),
                               declinesRequests: 0, logsNotes: u(0.7, 0.95),
                               availability: u(0.5, 0.85), debriefDiligence: u(0.6, 0.95),
                               feedbackDiligence: u(0.7, 0.97), callbackPunctuality: u(0.65, 0.95))
        }
    }
}

/// `1850` → `"18.5"`, `2125` → `"21.25"`, `4000` → `"40"`.
func decimalString(cents: Int) -> String {
    let whole = String(cents / 100)
    let frac = cents % 100
    if frac == 0 { return whole }
    if frac % 10 == 0 { return whole + "." + String(frac / 10) }
    return whole + "." + (frac < 10 ? "0" : "") + String(frac)
}
