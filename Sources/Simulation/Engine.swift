#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

let second: Int64 = 1_000_000
let minute: Int64 = 60 * second
let hour: Int64 = 60 * minute
let day: Int64 = 24 * hour
/// Calls arrive during the first twelve hours of each day from the start.
let businessDay: Int64 = 12 * hour

/// Mistakes an agent made on a call (they decide feedback, sanctions and debrief lessons).
struct Mistakes: OptionSet {
    let rawValue: Int
    static let skippedAsk = Mistakes(rawValue: 1)
    static let unannounced = Mistakes(rawValue: 2)
    static let noAlternative = Mistakes(rawValue: 4)
    static let declined = Mistakes(rawValue: 8)
}

/// One call being planned.
struct Call {
    var ticket: Int64
    var agent: Int32
    var owner: Int32
    var t: Int64
    var customer: Int32 = 0
    var category = 0
    var escalated = false
    var reachedSupervisor = false
    var mistakes: Mistakes = []
    /// First time the ticket was resolved (nil while it stays open).
    var resolvedAt: Int64?
    /// A failed contact: the customer may call again (`repeatOf`).
    var failed = false
    /// A callback left open for good (no reopen then).
    var abandonedCallback = false
}

/// A failed ticket a customer may call about again.
struct RepeatCandidate {
    var ticket: Int64
    var customer: Int32
    var category: Int
    var from: Int64
}

/// The simulation's state: the planner (calls, daily staff and compliance
/// events) and the renderer (lines, in time order from the queue).
struct Engine {
    let org: Organisation
    let tables: RenderTables
    let calls: Int
    let refusalShare: Double
    let versionShare: Double
    let startMicros: Int64
    let meanGap: Double
    let agents: [Int32]
    let smes: [Int32]
    let teamLeads: [Int32]
    let supervisors: [Int32]
    let managers: [Int32]
    let director: Int32
    let complianceOfficer: Int32
    let customerPool: Int
    let idKey: UInt64
    let idKey2: UInt64
    let customerKey: UInt64

    /// Planning choices.
    var rng: Xoshiro256StarStar
    /// Choices made when a line is written (who a reassigned agent moves to).
    var emitRng: Xoshiro256StarStar
    var heap = IntentHeap()
    var seq: UInt64 = 0
    /// Current direct superiors (changed by `staffReassigned` as it is written).
    var reportsTo: [Int32]

    var businessClock: Int64 = 0
    var nextArrival: Int64 = 0
    var callsGenerated = 0
    var lastDay = -1
    var enrolled = 0

    var scratch: [Intent] = []
    var refusedScratch: [(after: Int, intent: Intent)] = []
    var openAfter: [Bool] = []
    var ownerAfter: [Int32] = []
    var callbackAfter: [Bool] = []

    var recentCustomers: [Int32] = []
    var recentNext = 0
    var erased: Set<Int32> = []
    /// Accepted erasures as planned, in planning order: who, and when.
    var erasures: [(customer: Int32, at: Int64)] = []
    var customersErased = 0
    var callsAfterErasure = 0
    var customersWithIDAlone = 0
    var repeats: [RepeatCandidate] = []
    /// Holds as planned: customer → (placed, released or `Int64.max`).
    var plannedHolds: [(customer: Int32, placed: Int64, released: Int64)] = []
    /// Holds as written so far: customer → matter.
    var heldNow: [Int32: Int32] = [:]
    var matterCounter: Int32 = 0

    var lineNumber: UInt64 = 0
    var lastAcceptedID: (UInt64, UInt64) = (0, 0)
    var lastRefusal: RefusalRule?
    var lastAt = Int64.min
    var typeCounts = [Int](repeating: 0, count: Kind.allCases.count)
    var ruleCounts = [Int](repeating: 0, count: RefusalRule.allCases.count)
    var dayCache = DayCache()

    init(_ sim: Simulator) {
        let cfg = sim.configuration
        let org = sim.organisation
        self.org = org
        tables = sim.tables
        calls = cfg.calls
        refusalShare = cfg.refusalShare
        versionShare = cfg.expectedVersionShare
        startMicros = cfg.start.microseconds
        func ids(_ role: StaffRole) -> [Int32] { org.indices(of: role).map { Int32($0) } }
        agents = ids(.agent)
        smes = ids(.sme)
        teamLeads = ids(.teamLead)
        supervisors = ids(.supervisor)
        managers = ids(.manager)
        director = ids(.director)[0]
        complianceOfficer = ids(.compliance).first ?? managers.last ?? director
        let perDay = Double(agents.count) * cfg.callsPerAgentPerDay
        meanGap = Double(businessDay) / perDay
        customerPool = max(100, cfg.calls * 7 / 10)
        var keys = cfg.seed ^ 0x5EED_1D5E_ED1D_5EED
        idKey = splitMix64(&keys)
        idKey2 = splitMix64(&keys)
        customerKey = splitMix64(&keys)
        rng = Xoshiro256StarStar(seed: cfg.seed)
        emitRng = Xoshiro256StarStar(seed: cfg.seed ^ 0xE317_0000_E317)
        reportsTo = org.members.map { Int32($0.reportsTo ?? -1) }
        recentCustomers.reserveCapacity(64)
        advanceArrival()
    }

    // MARK: Driving

    var tally: SimulationTally {
        var t = SimulationTally()
        t.lines = Int(lineNumber)
        t.calls = callsGenerated
        if lineNumber > 0 {
            t.firstAt = SimulationTime(microseconds: startMicros - day)
            t.lastAt = SimulationTime(microseconds: lastAt)
        }
        for (i, n) in typeCounts.enumerated() where n > 0 { t.byType[Kind.allCases[i].name] = n }
        for (i, n) in ruleCounts.enumerated() where n > 0 { t.refusedByRule[RefusalRule.allCases[i].rawValue] = n }
        t.customersErased = customersErased
        t.callsAfterErasure = callsAfterErasure
        t.customersWithIDAlone = customersWithIDAlone
        return t
    }

    /// Writes the next line into `w` (appending); false when the run is over.
    mutating func writeNext(into w: ByteWriter) -> Bool {
        if enrolled < org.members.count {
            let i = Int32(enrolled)
            enrolled += 1
            let intent = Intent(time: startMicros - day + Int64(i) * second, ticket: Int64(i), actor: -1,
                                a: i, kind: .staffEnrolled, channel: Intent.orgChannel)
            return render(intent, into: w)
        }
        while true {
            if callsGenerated < calls, heap.topTime.map({ $0 >= nextArrival }) ?? true {
                generateCall()
                continue
            }
            guard let intent = heap.pop() else { return false }
            if render(intent, into: w) { return true }
        }
    }

    mutating func advanceArrival() {
        let u = rng.unit()
        businessClock += Int64(-log(1 - u) * meanGap) + 1
        nextArrival = startMicros + (businessClock / businessDay) * day + businessClock % businessDay
        nextArrival -= nextArrival % second
    }

    mutating func push(_ intent: Intent) {
        var x = intent
        seq += 1
        x.seq = seq
        heap.push(x)
    }

    // MARK: Planning a call

    mutating func generateCall() {
        let arrival = nextArrival
        callsGenerated += 1
        advanceArrival()
        let today = Int((arrival - startMicros) / day)
        while lastDay < today {
            lastDay += 1
            daily(arrival)
        }

        scratch.removeAll(keepingCapacity: true)
        let agent = agents[rng.below(agents.count)]
        var call = Call(ticket: Int64(callsGenerated), agent: agent, owner: agent, t: arrival)
        var repeatOf: Int64 = -1
        var afterErasure = false
        if rng.chance(0.03), let c = erasedCustomer(before: arrival) {
            // A customer whose data was erased calls again: a new record, linked to nothing.
            call.customer = c
            call.category = rng.below(Vocabulary.channels.count)
            afterErasure = true
        } else if rng.chance(0.08), let r = takeRepeat(before: arrival) {
            repeatOf = r.ticket
            call.customer = r.customer
            call.category = r.category
        } else {
            call.customer = drawCustomer()
            call.category = rng.below(Vocabulary.channels.count)
        }
        rememberCustomer(call.customer)

        var fields: Int32 = switch rng.below(100) {
        case ..<85: 3
        case ..<93: 2
        case ..<97: 1
        default: 0  // the customer's id alone
        }
        if afterErasure { fields |= 4 }  // bit 2: counted in the tally, not written
        let issue = Int32(tables.issueStart[call.category] + rng.below(tables.issueCount[call.category]))
        let openedAt = rng.chance(0.3) ? arrival + Int64(rng.between(1, 999)) * 1000 : arrival
        add(&call, .callOpened, at: openedAt, actor: agent, a: agent, b: call.customer, c: issue, d: fields,
            extra: repeatOf)

        let isRepeat = repeatOf >= 0
        if rng.chance(isRepeat ? 0.6 : 0.24) {
            escalatedCall(&call, isRepeat: isRepeat)
        } else {
            plainCall(&call)
        }
        aftermath(&call)
        commit(&call)
    }

    /// Appends an intent for the current call at `at` (default: the call's clock).
    mutating func add(_ call: inout Call, _ kind: Kind, at: Int64? = nil, actor: Int32,
                      a: Int32 = -1, b: Int32 = -1, c: Int32 = -1, d: Int32 = -1, extra: Int64 = -1) {
        var i = Intent(time: at ?? call.t, ticket: call.ticket, extra: extra, actor: actor,
                       a: a, b: b, c: c, d: d, kind: kind, channel: UInt8(call.category))
        i.seq = UInt64(scratch.count)
        scratch.append(i)
    }

    /// Moves the call's clock on by `lo ... hi` seconds.
    mutating func step(_ call: inout Call, _ lo: Int, _ hi: Int) {
        call.t += Int64(rng.between(lo, hi)) * second
    }

    func traits(_ staff: Int32) -> StaffTraits { org.members[Int(staff)].traits }
    func role(_ staff: Int32) -> StaffRole { org.members[Int(staff)].role }

    mutating func note(_ call: inout Call, _ group: NoteGroup, count: Int) {
        add(&call, .noteLogged, actor: call.owner, a: call.owner, b: group.rawValue, c: Int32(rng.below(count)))
    }

    mutating func resolve(_ call: inout Call, by: Int32, _ resolution: Int32, satisfied: Int32 = -1) {
        add(&call, .ticketResolved, actor: by, a: by, b: resolution, c: satisfied)
        if call.resolvedAt == nil { call.resolvedAt = call.t }
    }

    mutating func satisfaction(_ pPresent: Double, _ pTrue: Double) -> Int32 {
        guard rng.chance(pPresent) else { return -1 }
        return rng.chance(pTrue) ? 1 : 0
    }

    mutating func plainCall(_ call: inout Call) {
        step(&call, 120, 720)
        if rng.chance(traits(call.agent).logsNotes * 0.5) {
            note(&call, .resolution, count: Vocabulary.resolutionNotes.count)
            step(&call, 20, 90)
        }
        let r = rng.below(100)
        let resolution = r < 90 ? Code.resolvedByAgent : r < 94 ? Code.customerWithdrew : Code.unresolved
        let satisfied = satisfaction(0.5, resolution == Code.resolvedByAgent ? 0.88 : 0.15)
        resolve(&call, by: call.owner, resolution, satisfied: satisfied)
        if resolution != Code.resolvedByAgent { call.failed = true }
    }

    mutating func escalatedCall(_ call: inout Call, isRepeat: Bool) {
        call.escalated = true
        let agent = call.agent
        let habits = traits(agent)
        let immediate = rng.chance(isRepeat ? 0.7 : 0.35)
        step(&call, immediate ? 10 : 90, immediate ? 60 : 540)
        let byAgent = rng.chance(0.07)
        let reason: Int32
        if byAgent {
            reason = rng.chance(0.5) ? Code.lacksKnowledge : Code.policyException
        } else if immediate {
            reason = isRepeat ? Code.repeatContact
                : [Code.policyException, Code.refusedRecovery, Code.other, Code.noProgress, Code.repeatContact][
                    rng.pick([35, 30, 15, 10, 10])]
        } else {
            reason = [Code.notUnderstood, Code.lacksKnowledge, Code.noProgress, Code.policyException,
                      Code.refusedRecovery, Code.other][rng.pick([25, 20, 25, 15, 10, 5])]
        }
        let level = Int32(rng.pick([76, 19, 5]))
        let goal = Int64(tables.goalStart[call.category] + rng.below(tables.goalCount[call.category]))
        add(&call, .escalationRequested, actor: agent, a: byAgent ? Code.agentRequest : Code.customer,
            b: immediate ? Code.immediate : Code.midConversation, c: reason, d: level, extra: goal)

        if !byAgent {
            let insistence = rng.unit() * 0.8 + (isRepeat ? 0.2 : 0)
            let empathy = habits.empathy
            var boost = 0.0
            if rng.chance(0.5 + 0.5 * empathy) {
                step(&call, 15, 60)
                let ok = rng.chance(0.5 + 0.4 * empathy - 0.3 * insistence)
                attempt(&call, Code.empathize, ok)
                if ok { boost += 0.08 }
            }
            if rng.chance(0.4 + 0.5 * empathy) {
                step(&call, 20, 90)
                let ok = rng.chance(0.6 + 0.3 * empathy - 0.2 * insistence)
                attempt(&call, Code.clarifyRationale, ok)
                if ok { boost += 0.05 }
            }
            if rng.chance(0.3 + 0.4 * empathy) {
                step(&call, 15, 60)
                attempt(&call, Code.confirmUnderstanding, rng.chance(0.7))
            }
            let asks = rng.chance(habits.skipSecondAsk) ? (rng.chance(0.3) ? 0 : 1) : 2
            var pAsk = min(0.85, max(0.02, 0.08 + 0.45 * empathy - 0.35 * insistence + boost))
            var deEscalated = false
            for i in 0..<asks {
                step(&call, 20, 120)
                let technique = (i == 0) == immediate ? Code.askPermission : Code.offerHelp
                let ok = rng.chance(pAsk)
                attempt(&call, technique, ok)
                if ok { deEscalated = true; break }
                pAsk *= 0.9
            }
            if !deEscalated, asks >= 2, rng.chance(0.35) {
                step(&call, 20, 90)
                let ok = rng.chance(pAsk * 0.8)
                attempt(&call, Code.offerAssurance, ok)
                deEscalated = ok
            }
            if !deEscalated, asks < 2 { call.mistakes.insert(.skippedAsk) }
            if deEscalated {
                step(&call, 180, 600)
                if rng.chance(habits.logsNotes * 0.7) {
                    note(&call, .resolution, count: Vocabulary.resolutionNotes.count)
                    step(&call, 20, 60)
                }
                let resolution = rng.chance(0.88) ? Code.resolvedByAgent : Code.customerWithdrew
                resolve(&call, by: agent, resolution, satisfied: satisfaction(0.6, 0.8))
                return
            }
            if rng.chance(habits.declinesRequests) {
                step(&call, 30, 120)
                add(&call, .requestDeclined, actor: agent, a: agent,
                    b: Int32(rng.below(Vocabulary.declineReasons.count)))
                call.mistakes.insert(.declined)
                step(&call, 60, 240)
                resolve(&call, by: agent, rng.chance(0.5) ? Code.customerWithdrew : Code.unresolved,
                        satisfied: satisfaction(0.5, 0.05))
                call.failed = true
                return
            }
        }

        let target: Int32
        if byAgent, reason == Code.lacksKnowledge {
            target = smes[rng.below(smes.count)]
        } else {
            target = levelTarget(level, agent)
        }
        if rng.chance(habits.logsNotes) {
            step(&call, 20, 90)
            note(&call, .background, count: Vocabulary.backgroundNotes.count)
        }
        guard rng.chance(0.85), role(target).isSupervisorOrAbove else {
            transfer(&call, to: target)
            senior(&call)
            return
        }
        step(&call, 20, 120)
        let available = rng.chance(traits(target).availability)
        add(&call, .supervisorAvailability, actor: agent, a: target, b: available ? 1 : 0)
        if available {
            transfer(&call, to: target)
            senior(&call)
            return
        }
        if rng.chance(habits.offersAlternative) {
            let callbackFirst = rng.chance(0.55)
            for i in 0..<2 {
                if i == 1, !rng.chance(0.55) { break }
                let callback = (i == 0) == callbackFirst
                step(&call, 30, 120)
                let party = callback ? -1 : otherParty(for: agent, besides: target)
                let accepted = rng.chance(i == 0 ? 0.75 : 0.6)
                add(&call, .alternativeOffered, actor: agent, a: agent,
                    b: callback ? Code.supervisorCallback : Code.otherParty, c: party, d: accepted ? 1 : 0)
                if accepted {
                    if callback {
                        callbackFlow(&call, owner: target)
                    } else {
                        transfer(&call, to: party)
                        senior(&call)
                    }
                    return
                }
            }
            step(&call, 60, 240)
            resolve(&call, by: agent, rng.chance(0.5) ? Code.customerWithdrew : Code.unresolved,
                    satisfied: satisfaction(0.4, 0.05))
            call.failed = true
        } else {
            call.mistakes.insert(.noAlternative)
            if rng.chance(0.4) {
                transfer(&call, to: reportsTo[Int(agent)])
                senior(&call)
            } else {
                step(&call, 60, 300)
                resolve(&call, by: agent, rng.chance(0.6) ? Code.customerWithdrew : Code.unresolved,
                        satisfied: satisfaction(0.4, 0.02))
                call.failed = true
            }
        }
    }

    mutating func attempt(_ call: inout Call, _ technique: Int32, _ accepted: Bool) {
        add(&call, .deEscalationAttempted, actor: call.owner, a: call.owner, b: technique,
            c: accepted ? Code.accepted : Code.declined)
    }

    /// Who an escalation at `level` goes to for `agent`: the supervisor above
    /// their team lead, that supervisor's manager, or the director.
    func levelTarget(_ level: Int32, _ agent: Int32) -> Int32 {
        let tl = reportsTo[Int(agent)]
        let sup = reportsTo[Int(tl)]
        switch level {
        case Code.supervisor: return sup
        case Code.manager: return reportsTo[Int(sup)]
        default: return director
        }
    }

    /// Someone else who can take the call: another supervisor, the agent's team lead, or an SME.
    mutating func otherParty(for agent: Int32, besides: Int32) -> Int32 {
        switch rng.below(3) {
        case 0 where supervisors.count > 1:
            var s = supervisors[rng.below(supervisors.count)]
            if s == besides { s = supervisors[(supervisors.firstIndex(of: s)! + 1) % supervisors.count] }
            return s
        case 1: return reportsTo[Int(agent)]
        default: return smes[rng.below(smes.count)]
        }
    }

    mutating func transfer(_ call: inout Call, to target: Int32) {
        let from = call.owner
        let habits = traits(from)
        if rng.chance(habits.logsNotes * 0.8) {
            step(&call, 10, 60)
            add(&call, .noteLogged, actor: from, a: from, b: NoteGroup.referral.rawValue, c: target)
        }
        step(&call, 15, 90)
        let mode: Int32
        let announced: Int32
        if rng.chance(habits.announcesTransfers) {
            mode = rng.chance(0.7) ? Code.warm : Code.conference
            announced = 3
        } else {
            switch rng.below(3) {
            case 0: mode = Code.blind; announced = 0
            case 1: mode = Code.blind; announced = 1
            default: mode = Code.warm; announced = rng.chance(0.5) ? 1 : 2
            }
            if from == call.agent { call.mistakes.insert(.unannounced) }
        }
        add(&call, .transferred, actor: from, a: from, b: target, c: mode, d: announced)
        call.owner = target
        if role(target).isSupervisorOrAbove { call.reachedSupervisor = true }
    }

    /// The senior (or SME) who took the call handles it to the end.
    mutating func senior(_ call: inout Call) {
        step(&call, 60, 300)
        if rng.chance(0.7 * traits(call.owner).logsNotes) {
            note(&call, .senior, count: Vocabulary.seniorNotes.count)
        }
        if role(call.owner) == .supervisor, rng.chance(0.06) {
            step(&call, 60, 300)
            add(&call, .escalationRequested, actor: call.owner, a: Code.customer, b: Code.midConversation,
                c: rng.chance(0.5) ? Code.noProgress : Code.policyException, d: Code.manager,
                extra: Int64(tables.goalStart[call.category] + rng.below(tables.goalCount[call.category])))
            for technique in [Code.askPermission, Code.offerHelp] {
                step(&call, 20, 90)
                let ok = rng.chance(0.25)
                attempt(&call, technique, ok)
                if ok {
                    step(&call, 120, 600)
                    resolve(&call, by: call.owner, Code.resolvedByEscalation, satisfied: satisfaction(0.6, 0.7))
                    return
                }
            }
            transfer(&call, to: reportsTo[Int(call.owner)])
            step(&call, 60, 300)
            if rng.chance(0.6) { note(&call, .senior, count: Vocabulary.seniorNotes.count) }
        }
        if rng.chance(0.18) {
            // Seed 003: the SME or team lead follows up by a call at the agreed time.
            let r = rng.below(10)
            let owner = r < 4 ? smes[rng.below(smes.count)] : r < 8 ? reportsTo[Int(call.agent)] : call.owner
            callbackFlow(&call, owner: owner)
            return
        }
        step(&call, 120, 900)
        let resolution = [Code.resolvedByEscalation, Code.unresolved, Code.customerWithdrew][rng.pick([84, 10, 6])]
        resolve(&call, by: call.owner, resolution,
                satisfied: satisfaction(0.6, resolution == Code.resolvedByEscalation ? 0.75 : 0.1))
        if resolution != Code.resolvedByEscalation { call.failed = true }
    }

    /// A callback owned by `owner`: scheduled now, then done on time, late, by someone else, or never.
    mutating func callbackFlow(_ call: inout Call, owner: Int32) {
        if role(owner).isSupervisorOrAbove { call.reachedSupervisor = true }
        var scheduler = call.owner
        for round in 0..<2 {
            step(&call, 20, 90)
            let due = call.t + Int64(rng.between(2 * 3600, round == 0 ? 30 * 3600 : 24 * 3600)) * second
            add(&call, .callbackScheduled, actor: scheduler, a: owner, extra: due)
            let punctuality = traits(owner).callbackPunctuality
            let r = rng.unit()
            if r > 0.93 {
                // Never done: overdue for good.
                call.failed = true
                if rng.chance(0.5) {
                    call.t = due + Int64(rng.between(2 * 86_400, 6 * 86_400)) * second
                    resolve(&call, by: call.owner, Code.unresolved, satisfied: satisfaction(0.3, 0))
                } else {
                    call.t = due
                }
                call.abandonedCallback = true
                return
            }
            let onTime = r < punctuality * 0.93
            let doneAt = onTime
                ? call.t + Int64(Double(due - call.t) * rng.uniform(0.15, 0.97))
                : due + Int64(rng.between(30 * 60, 48 * 3600)) * second
            call.t = doneAt - doneAt % second
            let by = rng.chance(0.05) ? standIn(for: owner) : owner
            let reached = rng.chance(0.88)
            add(&call, .callbackCompleted, actor: by, a: by, b: reached ? 1 : 0)
            if reached {
                step(&call, 60, 600)
                if rng.chance(0.5 * traits(call.owner).logsNotes) {
                    note(&call, .callback, count: Vocabulary.callbackNotes.count)
                    step(&call, 10, 60)
                }
                let resolution = [Code.resolvedByEscalation, Code.unresolved, Code.customerWithdrew][
                    rng.pick([85, 10, 5])]
                resolve(&call, by: by, resolution, satisfied: satisfaction(0.6, resolution == 1 ? 0.8 : 0.1))
                if resolution != Code.resolvedByEscalation { call.failed = true }
                return
            }
            if round == 1 || !rng.chance(0.7) { break }
            scheduler = owner
        }
        step(&call, 60, 600)
        resolve(&call, by: call.owner, Code.unresolved, satisfied: satisfaction(0.3, 0))
        call.failed = true
    }

    /// Someone of the same rank as `staff` (or their superior) who completes a callback instead.
    mutating func standIn(for staff: Int32) -> Int32 {
        let peers: [Int32] = switch role(staff) {
        case .supervisor: supervisors
        case .teamLead: teamLeads
        case .sme: smes
        default: []
        }
        if peers.count > 1 {
            let p = peers[rng.below(peers.count)]
            if p != staff { return p }
        }
        let up = reportsTo[Int(staff)]
        return up >= 0 ? up : (managers.first ?? staff)
    }

    /// Reopen, debrief, feedback and sanctions after the call.
    mutating func aftermath(_ call: inout Call) {
        let agent = call.agent
        let teamLead = reportsTo[Int(agent)]
        var anchor = call.t
        if let resolvedAt = call.resolvedAt {
            anchor = resolvedAt
            if !call.abandonedCallback, rng.chance(0.03) {
                call.t += Int64(rng.between(86_400, 5 * 86_400)) * second
                add(&call, .ticketReopened, actor: call.owner, a: call.owner,
                    b: Int32(rng.below(Vocabulary.reopenReasons.count)))
                step(&call, 300, 3600)
                if rng.chance(0.7) { note(&call, .reopen, count: Vocabulary.reopenNotes.count) }
                step(&call, 600, 7200)
                resolve(&call, by: call.owner, call.owner == agent ? Code.resolvedByAgent : Code.resolvedByEscalation,
                        satisfied: satisfaction(0.5, 0.6))
            }
            if call.escalated, rng.chance(traits(teamLead).debriefDiligence) {
                let at = resolvedAt + (rng.chance(0.85)
                    ? Int64(rng.between(3600, 156 * 3600)) : Int64(rng.between(180 * 3600, 288 * 3600))) * second
                let coach = rng.chance(0.8) ? teamLead : reportsTo[Int(teamLead)]
                add(&call, .debriefHeld, at: at, actor: coach, a: agent, b: coach, c: lesson(call.mistakes))
            }
        }
        guard call.reachedSupervisor || call.mistakes.contains(.declined) else {
            if call.escalated, call.mistakes.isEmpty, call.resolvedAt != nil, rng.chance(0.05) {
                let at = anchor + Int64(rng.between(3600, 72 * 3600)) * second
                add(&call, .feedbackGiven, at: at, actor: -2, a: agent, b: -1,
                    c: Int32(rng.below(Vocabulary.positiveFeedback.count)))
            }
            return
        }
        guard rng.chance(traits(teamLead).feedbackDiligence) else { return }
        let at = anchor + (rng.chance(0.9)
            ? Int64(rng.between(3600, 324 * 3600)) : Int64(rng.between(360 * 3600, 480 * 3600))) * second
        let serious = call.mistakes.rawValue.nonzeroBitCount >= 2 || call.mistakes.contains(.declined)
        if serious, rng.chance(0.5) {
            let reason: Int32 = call.mistakes.contains(.declined) ? 2
                : call.mistakes.contains(.skippedAsk) ? 0 : call.mistakes.contains(.unannounced) ? 1 : 3
            add(&call, .sanctionIssued, at: at, actor: -2, a: agent, b: -1, c: Int32(rng.pick([55, 30, 12, 3])),
                d: reason)
            if rng.chance(0.3) {
                add(&call, .feedbackGiven, at: at + 10 * minute, actor: -2, a: agent, b: -1,
                    c: corrective(call.mistakes))
            }
        } else {
            add(&call, .feedbackGiven, at: at, actor: -2, a: agent, b: -1,
                c: call.mistakes.isEmpty ? Int32(rng.below(Vocabulary.positiveFeedback.count)) : corrective(call.mistakes))
        }
    }

    /// Feedback text: positive texts are 0..<100, corrective ones 100 + index.
    func corrective(_ m: Mistakes) -> Int32 {
        if m.rawValue.nonzeroBitCount >= 2 { return 104 }
        if m.contains(.skippedAsk) { return 100 }
        if m.contains(.unannounced) { return 101 }
        if m.contains(.noAlternative) { return 102 }
        return 103
    }

    mutating func lesson(_ m: Mistakes) -> Int32 {
        if m.contains(.skippedAsk) { return 0 }
        if m.contains(.unannounced) { return 2 }
        if m.contains(.noAlternative) { return 3 }
        return Int32([1, 4, 5][rng.below(3)])
    }

    // MARK: Committing a call (order, versions, deliberate refusals)

    mutating func commit(_ call: inout Call) {
        let n = scratch.count
        // Nearly sorted already (only follow-ups come out of order): insertion sort.
        for i in 1..<max(1, n) {
            let x = scratch[i]
            var j = i
            while j > 0, scratch[j - 1].time > x.time || (scratch[j - 1].time == x.time && scratch[j - 1].seq > x.seq) {
                scratch[j] = scratch[j - 1]
                j -= 1
            }
            if j != i { scratch[j] = x }
        }
        openAfter.removeAll(keepingCapacity: true)
        ownerAfter.removeAll(keepingCapacity: true)
        callbackAfter.removeAll(keepingCapacity: true)
        var open = false, owner: Int32 = -1, callback = false
        for i in 0..<n {
            let x = scratch[i]
            switch x.kind {
            case .callOpened: open = true; owner = x.a
            case .transferred: owner = x.b
            case .callbackScheduled: callback = true
            case .callbackCompleted: callback = false
            case .ticketResolved: open = false
            case .ticketReopened: open = true
            default: break
            }
            openAfter.append(open)
            ownerAfter.append(owner)
            callbackAfter.append(callback)
            if versionShare > 0, rng.chance(versionShare) { scratch[i].version = Int32(i) }
        }

        refusedScratch.removeAll(keepingCapacity: true)
        if refusalShare > 0 {
            let expected = refusalShare * Double(n)
            var k = Int(expected)
            if rng.chance(expected - Double(k)) { k += 1 }
            for _ in 0..<k { planRefusal(call) }
            if refusedScratch.count > 1 { refusedScratch.sort { $0.after < $1.after } }
        }

        var r = 0
        for i in 0..<n {
            push(scratch[i])
            while r < refusedScratch.count, refusedScratch[r].after == i {
                push(refusedScratch[r].intent)
                r += 1
            }
        }
        if call.failed, !erased.contains(call.customer) {
            let entry = RepeatCandidate(ticket: call.ticket, customer: call.customer, category: call.category,
                                        from: call.t + Int64(rng.between(3600, 10 * 86_400)) * second)
            if repeats.count < 128 {
                repeats.append(entry)
            } else {
                repeats[rng.below(repeats.count)] = entry
            }
        }
    }

    /// Adds one line meant to be refused, placed right after a line of the call where it breaks exactly one rule.
    mutating func planRefusal(_ call: Call) {
        let rules: [RefusalRule] = [
            .directMessage, .notOwner, .notDirectSuperior, .selfTransfer, .noCallbackScheduled, .callbackInPast,
            .ticketClosed, .unknownStaff, .duplicateId, .conflict, .legalHold,
        ]
        var rule = rules[rng.pick([28, 14, 10, 10, 9, 9, 7, 5, 4, 2, 2])]
        let n = scratch.count
        let from = rng.below(n)
        if rule == .legalHold {
            if planHoldRefusal(after: scratch[0].time) { return }
            rule = .directMessage
        }
        var found: Int?
        for k in 0..<n {
            let i = (from + k) % n
            let ok = switch rule {
            case .ticketClosed: !openAfter[i]
            case .noCallbackScheduled: openAfter[i] && !callbackAfter[i]
            default: openAfter[i]
            }
            if ok { found = i; break }
        }
        if found == nil { rule = .directMessage }
        var at = found ?? 0
        if rule == .directMessage, !openAfter[at] { at = 0 }
        let base = scratch[at]
        let owner = ownerAfter[at]
        var x = Intent(time: base.time, ticket: call.ticket, actor: owner, a: owner, kind: .noteLogged,
                       refusal: rule.code + 1, channel: UInt8(call.category))
        switch rule {
        case .directMessage:
            x.b = NoteGroup.stray.rawValue
            x.c = 0
            x.channel = Intent.directMessageChannel
        case .notOwner:
            let author = owner != call.agent ? call.agent : reportsTo[Int(call.agent)]
            x.actor = author
            x.a = author
            x.b = NoteGroup.stray.rawValue
            x.c = 1
        case .notDirectSuperior:
            x.kind = .feedbackGiven
            x.actor = -2
            x.a = call.agent
            x.b = -2
            x.c = 100 + Int32(rng.below(Vocabulary.correctiveFeedback.count))
        case .selfTransfer:
            x.kind = .transferred
            x.b = owner
            x.c = Code.warm
            x.d = 3
        case .noCallbackScheduled:
            x.kind = .callbackCompleted
            x.b = 1
        case .callbackInPast:
            x.kind = .callbackScheduled
            x.extra = base.time - Int64(rng.between(0, 3600)) * second
        case .ticketClosed:
            x.kind = .escalationRequested
            x.a = Code.customer
            x.b = Code.midConversation
            x.c = Code.repeatContact
            x.d = Code.supervisor
            x.extra = Int64(tables.goalStart[call.category])
        case .unknownStaff:
            x.kind = .supervisorAvailability
            x.a = Int32(tables.staffCount + rng.below(3))
            x.b = 0
        case .duplicateId:
            x.b = NoteGroup.stray.rawValue
            x.c = 2
        case .conflict:
            x.b = NoteGroup.stray.rawValue
            x.c = 2
            let right = Int32(at + 1)
            x.version = rng.chance(0.5) ? right - 1 : right + Int32(rng.between(1, 3))
        case .legalHold, .notAuthorized, .reportingCycle, .noLegalHold:
            break  // planned elsewhere (planHoldRefusal, planDailyRefusal), never chosen here
        }
        refusedScratch.append((at, x))
    }

    /// Plans an erasure of a customer under a hold, while the hold is placed.
    mutating func planHoldRefusal(after now: Int64) -> Bool {
        for hold in plannedHolds {
            let customer = hold.customer
            let at = max(now, hold.placed) + Int64(rng.between(60, 7200)) * second
            guard at < hold.released else { continue }
            push(Intent(time: at, ticket: Int64(customer), actor: complianceOfficer, kind: .personalDataErased,
                        refusal: RefusalRule.legalHold.code + 1, channel: Intent.complianceChannel))
            return true
        }
        return false
    }

    // MARK: Customers

    /// A customer erased at least an hour before `t`, or nil.
    mutating func erasedCustomer(before t: Int64) -> Int32? {
        guard !erasures.isEmpty else { return nil }
        let e = erasures[rng.below(erasures.count)]
        return e.at + hour < t ? e.customer : nil
    }

    /// Plans an accepted erasure of `customer` at `at`.
    mutating func planErasure(_ customer: Int32, at: Int64) {
        erased.insert(customer)
        erasures.append((customer, at))
        push(Intent(time: at, ticket: Int64(customer), actor: complianceOfficer, kind: .personalDataErased,
                    channel: Intent.complianceChannel))
    }

    /// Who writes a staff event: `system`, a manager or the director.
    mutating func staffWriter() -> Int32 {
        switch rng.below(4) {
        case 0, 1: -1
        case 2: managers.isEmpty ? director : managers[rng.below(managers.count)]
        default: director
        }
    }

    mutating func drawCustomer() -> Int32 {
        while true {
            let c = Int32(1 + rng.below(customerPool))
            if !erased.contains(c) { return c }
        }
    }

    mutating func rememberCustomer(_ c: Int32) {
        if recentCustomers.count < 64 {
            recentCustomers.append(c)
        } else {
            recentCustomers[recentNext] = c
            recentNext = (recentNext + 1) % 64
        }
    }

    mutating func takeRepeat(before t: Int64) -> RepeatCandidate? {
        guard !repeats.isEmpty else { return nil }
        let from = rng.below(repeats.count)
        for k in 0..<repeats.count {
            let i = (from + k) % repeats.count
            let r = repeats[i]
            guard r.from <= t else { continue }
            repeats.swapAt(i, repeats.count - 1)
            repeats.removeLast()
            if erased.contains(r.customer) { return nil }
            return r
        }
        return nil
    }

    // MARK: Daily staff and compliance events

    mutating func daily(_ now: Int64) {
        plannedHolds.removeAll { $0.released < now }
        let later = { (rng: inout Xoshiro256StarStar) in now + Int64(rng.between(0, 9 * 3600)) * second }
        if rng.chance(0.6), teamLeads.count > 1 {
            let agent = agents[rng.below(agents.count)]
            let t = later(&rng)
            push(Intent(time: t, ticket: Int64(agent), actor: staffWriter(), a: agent, c: 0,
                        kind: .staffReassigned, channel: Intent.orgChannel))
        }
        if rng.chance(0.08), supervisors.count > 1 {
            let tl = teamLeads[rng.below(teamLeads.count)]
            let t = later(&rng)
            push(Intent(time: t, ticket: Int64(tl), actor: staffWriter(), a: tl, c: 1,
                        kind: .staffReassigned, channel: Intent.orgChannel))
        }
        if refusalShare > 0, rng.chance(min(0.9, refusalShare * 60)) { planDailyRefusal(at: later(&rng)) }
        if rng.chance(0.5), let customer = complianceCandidate() {
            let placed = later(&rng)
            matterCounter += 1
            push(Intent(time: placed, ticket: Int64(customer), actor: complianceOfficer, a: matterCounter,
                        kind: .legalHoldPlaced, channel: Intent.complianceChannel))
            var released = Int64.max
            if rng.chance(0.8) {
                released = placed + Int64(rng.between(2 * 86_400, 20 * 86_400)) * second
                push(Intent(time: released, ticket: Int64(customer), actor: complianceOfficer, a: matterCounter,
                            kind: .legalHoldReleased, channel: Intent.complianceChannel))
                if rng.chance(0.3) {
                    planErasure(customer, at: released + Int64(rng.between(3600, 2 * 86_400)) * second)
                }
            }
            plannedHolds.append((customer, placed, released))
        }
        if rng.chance(0.4), let customer = complianceCandidate() {
            planErasure(customer, at: later(&rng))
        }
    }

    /// Plans one staff or compliance line meant to be refused by `notAuthorized`,
    /// `reportingCycle` or `noLegalHold` (each breaking that rule alone).
    mutating func planDailyRefusal(at t: Int64) {
        switch rng.below(4) {
        case 0 where teamLeads.count > 1:
            // An agent moved by a supervisor: only managers, directors and system set up staff.
            let agent = agents[rng.below(agents.count)]
            push(Intent(time: t, ticket: Int64(agent), actor: supervisors[rng.below(supervisors.count)], a: agent, c: 0,
                        kind: .staffReassigned, refusal: RefusalRule.notAuthorized.code + 1, channel: Intent.orgChannel))
        case 1:
            // A hold placed by a team lead: only compliance officers, managers and directors may.
            guard let customer = complianceCandidate() else { return }
            push(Intent(time: t, ticket: Int64(customer), actor: teamLeads[rng.below(teamLeads.count)], a: 0,
                        kind: .legalHoldPlaced, refusal: RefusalRule.notAuthorized.code + 1,
                        channel: Intent.complianceChannel))
        case 2:
            // A team lead put under one of their own agents (chosen when the line is written).
            let tl = teamLeads[rng.below(teamLeads.count)]
            push(Intent(time: t, ticket: Int64(tl), actor: staffWriter(), a: tl, c: 2,
                        kind: .staffReassigned, refusal: RefusalRule.reportingCycle.code + 1, channel: Intent.orgChannel))
        default:
            // A release of matter M-00000, which no hold ever names.
            guard let customer = complianceCandidate() else { return }
            push(Intent(time: t, ticket: Int64(customer), actor: complianceOfficer, a: 0,
                        kind: .legalHoldReleased, refusal: RefusalRule.noLegalHold.code + 1,
                        channel: Intent.complianceChannel))
        }
    }

    /// A recent caller with no planned hold and no erasure.
    mutating func complianceCandidate() -> Int32? {
        guard !recentCustomers.isEmpty else { return nil }
        for _ in 0..<8 {
            let c = recentCustomers[rng.below(recentCustomers.count)]
            if !erased.contains(c), !plannedHolds.contains(where: { $0.customer == c }) { return c }
        }
        return nil
    }
}
