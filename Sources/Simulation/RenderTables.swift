/// Everything a line is assembled from, pre-rendered as JSON-escaped bytes:
/// the organisation's ids, names, extensions and costs, and the fixed texts.
final class RenderTables: @unchecked Sendable {
    let staffIDs: ByteTable
    let staffNames: ByteTable
    let extensions: ByteTable
    let costs: ByteTable
    let roles: [UInt8]
    /// Staff count and the number of supervisors (for mistyped ids).
    let staffCount: Int
    let supervisorCount: Int

    let channels = ByteTable(Vocabulary.channels + [Vocabulary.orgChannel, Vocabulary.complianceChannel])
    let issues: ByteTable
    let issueStart: [Int]
    let issueCount: [Int]
    let goals: ByteTable
    let goalStart: [Int]
    let goalCount: [Int]
    let firstNames = ByteTable(Vocabulary.firstNames)
    let lastNames = ByteTable(Vocabulary.lastNames)
    let areaCodes = ByteTable(Vocabulary.areaCodes)
    /// Note groups, indexed by `NoteGroup`.
    let notes: [ByteTable] = [
        ByteTable(Vocabulary.backgroundNotes), ByteTable(Vocabulary.resolutionNotes),
        ByteTable(Vocabulary.seniorNotes), ByteTable(Vocabulary.callbackNotes),
        ByteTable(Vocabulary.reopenNotes), ByteTable(Vocabulary.strayNotes),
    ]
    let referral = ByteTable([Vocabulary.referralPrefix, Vocabulary.referralMiddle, Vocabulary.referralSuffix])
    let declineReasons = ByteTable(Vocabulary.declineReasons)
    let reopenReasons = ByteTable(Vocabulary.reopenReasons)
    let lessons = ByteTable(Vocabulary.lessons)
    let positiveFeedback = ByteTable(Vocabulary.positiveFeedback)
    let correctiveFeedback = ByteTable(Vocabulary.correctiveFeedback)
    let sanctionReasons = ByteTable(Vocabulary.sanctionReasons)
    let typeNames = ByteTable(Kind.allCases.map(\.name))
    let roleNames = ByteTable(StaffRole.allCases.map(\.rawValue))

    static let requestedBy = ByteTable(["customer", "agent"])
    static let scenarios = ByteTable(["immediate", "midConversation"])
    static let reasons = ByteTable([
        "policyException", "refusedRecovery", "notUnderstood", "lacksKnowledge", "noProgress", "repeatContact", "other",
    ])
    static let levels = ByteTable(["supervisor", "manager", "director"])
    static let techniques = ByteTable([
        "empathize", "clarifyRationale", "confirmUnderstanding", "offerHelp", "askPermission", "offerAssurance",
    ])
    static let outcomes = ByteTable(["accepted", "declined"])
    static let alternativeKinds = ByteTable(["otherParty", "supervisorCallback"])
    static let modes = ByteTable(["blind", "warm", "conference"])
    static let resolutions = ByteTable(["resolvedByAgent", "resolvedByEscalation", "customerWithdrew", "unresolved"])
    static let severities = ByteTable(["coaching", "verbalWarning", "writtenWarning", "finalWarning"])

    init(_ org: Organisation) {
        let m = org.members
        staffIDs = ByteTable(m.map(\.id))
        staffNames = ByteTable(m.map(\.name))
        extensions = ByteTable(m.map(\.extension))
        costs = ByteTable(m.map(\.hourlyCost), escape: false)
        roles = m.map { UInt8($0.role.index) }
        staffCount = m.count
        supervisorCount = org.indices(of: .supervisor).count
        var flat: [String] = []
        var start: [Int] = []
        var count: [Int] = []
        for group in Vocabulary.issues { start.append(flat.count); count.append(group.count); flat += group }
        issues = ByteTable(flat)
        issueStart = start
        issueCount = count
        flat = []; start = []; count = []
        for group in Vocabulary.goals { start.append(flat.count); count.append(group.count); flat += group }
        goals = ByteTable(flat)
        goalStart = start
        goalCount = count
    }
}

/// Which table a `noteLogged` text comes from (`Intent.b`).
enum NoteGroup: Int32 {
    case background, resolution, senior, callback, reopen, stray
    /// "Referred to NAME (ext N), ..." with `Intent.c` the staff referred to.
    case referral
}

// Enumeration codes used in intents (positions in the tables above).
enum Code {
    static let customer: Int32 = 0, agentRequest: Int32 = 1
    static let immediate: Int32 = 0, midConversation: Int32 = 1
    static let policyException: Int32 = 0, refusedRecovery: Int32 = 1, notUnderstood: Int32 = 2
    static let lacksKnowledge: Int32 = 3, noProgress: Int32 = 4, repeatContact: Int32 = 5, other: Int32 = 6
    static let supervisor: Int32 = 0, manager: Int32 = 1, director: Int32 = 2
    static let empathize: Int32 = 0, clarifyRationale: Int32 = 1, confirmUnderstanding: Int32 = 2
    static let offerHelp: Int32 = 3, askPermission: Int32 = 4, offerAssurance: Int32 = 5
    static let accepted: Int32 = 0, declined: Int32 = 1
    static let otherParty: Int32 = 0, supervisorCallback: Int32 = 1
    static let blind: Int32 = 0, warm: Int32 = 1, conference: Int32 = 2
    static let resolvedByAgent: Int32 = 0, resolvedByEscalation: Int32 = 1
    static let customerWithdrew: Int32 = 2, unresolved: Int32 = 3
}
