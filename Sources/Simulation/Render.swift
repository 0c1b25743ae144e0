extension Engine {
    /// Writes one planned line. Returns false (writing nothing) when the line
    /// no longer makes sense as the state stands when it comes due: an
    /// erasure of a customer now under hold, or a refusal it could not break.
    mutating func render(_ intent: Intent, into w: ByteWriter) -> Bool {
        var x = intent
        switch x.kind {
        case .staffReassigned where x.c == 2:
            // reportingCycle: one of the team lead's own agents, as the chart stands now.
            guard let below = agents.first(where: { reportsTo[Int($0)] == x.a }) else { return false }
            x.b = below
        case .staffReassigned:
            let pool = x.c == 1 ? supervisors : teamLeads
            guard pool.count > 1 else { return false }
            let current = reportsTo[Int(x.a)]
            var next = pool[emitRng.below(pool.count)]
            if next == current { next = pool[(pool.firstIndex(of: next)! + 1) % pool.count] }
            x.b = next
        case .feedbackGiven, .sanctionIssued:
            let superior = reportsTo[Int(x.a)]
            if x.b == -1 {
                x.b = superior
            } else {
                let above = reportsTo[Int(superior)]
                x.b = above >= 0 ? above : (managers.first { $0 != superior } ?? director)
            }
            if x.actor < -1 { x.actor = x.b }
        case .personalDataErased:
            let held = heldNow[Int32(x.ticket)] != nil
            if x.refusal == 0 ? held : !held { return false }
        default:
            break
        }

        lineNumber += 1
        let hi: UInt64, lo: UInt64
        if x.refusal == RefusalRule.duplicateId.code + 1 {
            (hi, lo) = lastAcceptedID
        } else {
            let h = mix64(idKey &+ lineNumber &* 0x9E37_79B9_7F4A_7C15)
            let l = mix64(h ^ idKey2)
            hi = (h & ~0xF000) | 0x4000
            lo = (l & ~(0xC << 60)) | (0x8 << 60)
        }

        w.reserve(4096)
        w.put("{\"id\":\"")
        w.putUUID(hi, lo)
        w.put("\",\"type\":\"")
        w.put(tables.typeNames[Int(x.kind.rawValue)])
        w.put("\",\"at\":\"")
        dayCache.put(x.time, into: w)
        w.put("\",\"actor\":\"")
        if x.actor == -1 { w.put("system") } else { putStaff(x.actor, w) }
        w.put("\",\"channel\":\"")
        switch x.channel {
        case Intent.directMessageChannel:
            w.put("dm:")
            putStaff(x.actor, w)
        case Intent.orgChannel: w.put(tables.channels[Vocabulary.channels.count])
        case Intent.complianceChannel: w.put(tables.channels[Vocabulary.channels.count + 1])
        default: w.put(tables.channels[Int(x.channel)])
        }
        if x.kind.hasTicket {
            w.put("\",\"ticket\":\"T-")
            w.putPadded(UInt64(x.ticket), width: 7)
        }
        w.put(UInt8(ascii: "\""))
        if x.version >= 0 {
            w.put(",\"expectedVersion\":")
            w.putDecimal(UInt64(x.version))
        }
        renderBody(x, w)
        w.put(UInt8(ascii: "}"))

        switch x.kind {
        case _ where x.refusal > 0: break  // a refused line changes nothing
        case .staffReassigned: reportsTo[Int(x.a)] = x.b
        case .legalHoldPlaced: heldNow[Int32(x.ticket)] = x.a
        case .legalHoldReleased: heldNow[Int32(x.ticket)] = nil
        case .personalDataErased: customersErased += 1
        case .callOpened:
            if x.d & 3 == 0 { customersWithIDAlone += 1 }
            if x.d & 4 != 0 { callsAfterErasure += 1 }
        default: break
        }
        typeCounts[Int(x.kind.rawValue)] += 1
        if x.time > lastAt { lastAt = x.time }
        if x.refusal > 0 {
            ruleCounts[Int(x.refusal - 1)] += 1
            lastRefusal = RefusalRule.allCases[Int(x.refusal - 1)]
        } else {
            lastRefusal = nil
            lastAcceptedID = (hi, lo)
        }
        return true
    }

    @inline(__always)
    func putStaff(_ staff: Int32, _ w: ByteWriter) {
        let i = Int(staff)
        if i < tables.staffCount {
            w.put(tables.staffIDs[i])
        } else {
            // A mistyped id: the next supervisor number, never enrolled.
            w.put("sup-")
            w.putPadded(UInt64(tables.supervisorCount + 1 + i - tables.staffCount), width: 3)
        }
    }

    @inline(__always)
    func staffField(_ key: StaticString, _ staff: Int32, _ w: ByteWriter) {
        w.put(key)
        putStaff(staff, w)
        w.put(UInt8(ascii: "\""))
    }

    @inline(__always)
    func textField(_ key: StaticString, _ text: (UnsafePointer<UInt8>, Int), _ w: ByteWriter) {
        w.put(key)
        w.put(text)
        w.put(UInt8(ascii: "\""))
    }

    @inline(__always)
    func boolField(_ key: StaticString, _ value: Bool, _ w: ByteWriter) {
        w.put(key)
        if value { w.put("true") } else { w.put("false") }
    }

    mutating func renderBody(_ x: Intent, _ w: ByteWriter) {
        let t = tables
        switch x.kind {
        case .staffEnrolled:
            let i = Int(x.a)
            staffField(",\"staff\":\"", x.a, w)
            textField(",\"name\":\"", t.staffNames[i], w)
            textField(",\"role\":\"", t.roleNames[Int(t.roles[i])], w)
            let up = reportsTo[i]
            if up >= 0 { staffField(",\"reportsTo\":\"", up, w) }
            textField(",\"extension\":\"", t.extensions[i], w)
            w.put(",\"hourlyCost\":")
            w.put(t.costs[i])
        case .staffReassigned:
            staffField(",\"staff\":\"", x.a, w)
            staffField(",\"reportsTo\":\"", x.b, w)
            if x.c == 1 { textField(",\"role\":\"", t.roleNames[Int(t.roles[Int(x.a)])], w) }
        case .callOpened:
            staffField(",\"agent\":\"", x.a, w)
            w.put(",\"customer\":{\"id\":\"C-")
            w.putPadded(UInt64(x.b), width: 6)
            w.put(UInt8(ascii: "\""))
            let h = mix64(customerKey &+ UInt64(x.b))
            if x.d & 1 != 0 {
                w.put(",\"name\":\"")
                w.put(t.firstNames[Int(h % UInt64(t.firstNames.count))])
                w.put(UInt8(ascii: " "))
                w.put(t.lastNames[Int((h >> 20) % UInt64(t.lastNames.count))])
                w.put(UInt8(ascii: "\""))
            }
            if x.d & 2 != 0 {
                w.put(",\"phone\":\"+1 ")
                w.put(t.areaCodes[Int((h >> 40) % UInt64(t.areaCodes.count))])
                w.put("-555-01")
                w.put2(Int((h >> 50) % 100))
                w.put(UInt8(ascii: "\""))
            }
            w.put(UInt8(ascii: "}"))
            textField(",\"issue\":\"", t.issues[Int(x.c)], w)
            if x.extra >= 0 {
                w.put(",\"repeatOf\":\"T-")
                w.putPadded(UInt64(x.extra), width: 7)
                w.put(UInt8(ascii: "\""))
            }
        case .escalationRequested:
            textField(",\"requestedBy\":\"", RenderTables.requestedBy[Int(x.a)], w)
            textField(",\"scenario\":\"", RenderTables.scenarios[Int(x.b)], w)
            textField(",\"reason\":\"", RenderTables.reasons[Int(x.c)], w)
            textField(",\"level\":\"", RenderTables.levels[Int(x.d)], w)
            textField(",\"goal\":\"", t.goals[Int(x.extra)], w)
        case .deEscalationAttempted:
            staffField(",\"agent\":\"", x.a, w)
            textField(",\"technique\":\"", RenderTables.techniques[Int(x.b)], w)
            textField(",\"outcome\":\"", RenderTables.outcomes[Int(x.c)], w)
        case .supervisorAvailability:
            staffField(",\"supervisor\":\"", x.a, w)
            boolField(",\"available\":", x.b != 0, w)
        case .alternativeOffered:
            staffField(",\"agent\":\"", x.a, w)
            textField(",\"kind\":\"", RenderTables.alternativeKinds[Int(x.b)], w)
            if x.c >= 0 { staffField(",\"party\":\"", x.c, w) }
            boolField(",\"accepted\":", x.d != 0, w)
        case .requestDeclined:
            staffField(",\"by\":\"", x.a, w)
            textField(",\"reason\":\"", t.declineReasons[Int(x.b)], w)
        case .transferred:
            staffField(",\"from\":\"", x.a, w)
            staffField(",\"to\":\"", x.b, w)
            textField(",\"mode\":\"", RenderTables.modes[Int(x.c)], w)
            if x.d & 1 != 0 { textField(",\"announcedName\":\"", t.staffNames[Int(x.b)], w) }
            if x.d & 2 != 0 { textField(",\"announcedExtension\":\"", t.extensions[Int(x.b)], w) }
        case .callbackScheduled:
            staffField(",\"owner\":\"", x.a, w)
            w.put(",\"dueBy\":\"")
            dayCache.put(x.extra, into: w)
            w.put(UInt8(ascii: "\""))
        case .callbackCompleted:
            staffField(",\"by\":\"", x.a, w)
            boolField(",\"reached\":", x.b != 0, w)
        case .noteLogged:
            staffField(",\"author\":\"", x.a, w)
            w.put(",\"text\":\"")
            if x.b == NoteGroup.referral.rawValue {
                w.put(t.referral[0])
                w.put(t.staffNames[Int(x.c)])
                w.put(t.referral[1])
                w.put(t.extensions[Int(x.c)])
                w.put(t.referral[2])
            } else {
                w.put(t.notes[Int(x.b)][Int(x.c)])
            }
            w.put(UInt8(ascii: "\""))
        case .ticketResolved:
            staffField(",\"by\":\"", x.a, w)
            textField(",\"resolution\":\"", RenderTables.resolutions[Int(x.b)], w)
            if x.c >= 0 { boolField(",\"satisfied\":", x.c != 0, w) }
        case .ticketReopened:
            staffField(",\"by\":\"", x.a, w)
            textField(",\"reason\":\"", t.reopenReasons[Int(x.b)], w)
        case .debriefHeld:
            staffField(",\"agent\":\"", x.a, w)
            staffField(",\"coach\":\"", x.b, w)
            textField(",\"lessons\":\"", t.lessons[Int(x.c)], w)
        case .feedbackGiven:
            staffField(",\"agent\":\"", x.a, w)
            staffField(",\"by\":\"", x.b, w)
            textField(",\"text\":\"", x.c >= 100 ? t.correctiveFeedback[Int(x.c - 100)] : t.positiveFeedback[Int(x.c)], w)
        case .sanctionIssued:
            staffField(",\"agent\":\"", x.a, w)
            staffField(",\"by\":\"", x.b, w)
            textField(",\"severity\":\"", RenderTables.severities[Int(x.c)], w)
            textField(",\"reason\":\"", t.sanctionReasons[Int(x.d)], w)
        case .legalHoldPlaced, .legalHoldReleased:
            w.put(",\"customer\":\"C-")
            w.putPadded(UInt64(x.ticket), width: 6)
            w.put("\",\"matter\":\"M-")
            w.putPadded(UInt64(x.a), width: 5)
            w.put(UInt8(ascii: "\""))
        case .personalDataErased:
            w.put(",\"customer\":\"C-")
            w.putPadded(UInt64(x.ticket), width: 6)
            w.put(UInt8(ascii: "\""))
        }
    }
}
