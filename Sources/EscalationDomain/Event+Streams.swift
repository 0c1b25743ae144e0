extension Event {
    /// The stream the event belongs to: `ticket:<ticket>` for ticket and
    /// discipline events, `staff:<staff>` for staff events,
    /// `customer:<customer>` for compliance events, `ledger` for `exportMade`.
    public var stream: String {
        switch body {
        case .staffEnrolled(let b): return "staff:" + b.staff
        case .staffReassigned(let b): return "staff:" + b.staff
        case .legalHoldPlaced(let b), .legalHoldReleased(let b): return "customer:" + b.customer
        case .personalDataErased(let b): return "customer:" + b.customer
        case .exportMade, .personalDataRevealed: return "ledger"
        default: return "ticket:" + (ticket ?? "")
        }
    }

    /// Every staff-id field of the event with its value, `actor` excluded (for
    /// the `unknownStaff` rule). The `staff` of `staffEnrolled` is not listed:
    /// it names the member being enrolled, who is not known yet.
    ///
    ///     transferred(from: "a-1", to: "s-2") → [("from", "a-1"), ("to", "s-2")]
    public func staffReferences() -> [(field: String, staff: String)] {
        var refs: [(field: String, staff: String)] = []
        forEachStaffReference { refs.append(($0, $1)) }
        return refs
    }

    /// Calls `body` with each of ``staffReferences()``, in the same order, without building the array
    /// (the projections look at the names of every event they fold).
    public func forEachStaffReference(_ body: (_ field: String, _ staff: String) throws -> Void) rethrows {
        switch self.body {
        case .staffEnrolled(let b): if let r = b.reportsTo { try body("reportsTo", r) }
        case .staffReassigned(let b): try body("staff", b.staff); try body("reportsTo", b.reportsTo)
        case .callOpened(let b): try body("agent", b.agent)
        case .escalationRequested: break
        case .deEscalationAttempted(let b): try body("agent", b.agent)
        case .supervisorAvailability(let b): try body("supervisor", b.supervisor)
        case .alternativeOffered(let b):
            try body("agent", b.agent)
            if let party = b.party { try body("party", party) }
        case .requestDeclined(let b): try body("by", b.by)
        case .transferred(let b): try body("from", b.from); try body("to", b.to)
        case .callbackScheduled(let b): try body("owner", b.owner)
        case .callbackCompleted(let b): try body("by", b.by)
        case .noteLogged(let b): try body("author", b.author)
        case .ticketResolved(let b): try body("by", b.by)
        case .ticketReopened(let b): try body("by", b.by)
        case .debriefHeld(let b): try body("agent", b.agent); try body("coach", b.coach)
        case .feedbackGiven(let b): try body("agent", b.agent); try body("by", b.by)
        case .sanctionIssued(let b): try body("agent", b.agent); try body("by", b.by)
        case .legalHoldPlaced, .legalHoldReleased, .personalDataErased: break
        case .exportMade(let b): try body("operator", b.operator)
        case .personalDataRevealed(let b): try body("operator", b.operator)
        }
    }

    /// A one-line human summary for the audit trail, without personal data
    /// (free text is cut to 60 characters and kept on one line).
    ///
    ///     "a-17 transferred T-9 to s-2 (warm)"
    public var summary: String {
        let t = ticket ?? "?"
        switch body {
        case .staffEnrolled(let b):
            var s = "\(actor) enrolled \(b.staff) (\(excerpt(b.name))) as \(b.role.rawValue)"
            if let r = b.reportsTo { s += " reporting to \(r)" }
            return s
        case .staffReassigned(let b):
            var s = "\(actor) reassigned \(b.staff) to report to \(b.reportsTo)"
            if let role = b.role { s += " as \(role.rawValue)" }
            return s
        case .callOpened(let b):
            var s = "\(b.agent) opened \(t) for customer \(b.customer.id)"
            if let r = b.repeatOf { s += " (repeat of \(r))" }
            return s
        case .escalationRequested(let b):
            return "\(b.requestedBy.rawValue) asked for a \(b.level.rawValue) on \(t) (\(b.reason.rawValue), \(b.scenario.rawValue))"
        case .deEscalationAttempted(let b):
            return "\(b.agent) tried \(b.technique.rawValue) on \(t): \(b.outcome.rawValue)"
        case .supervisorAvailability(let b):
            return "\(b.supervisor) \(b.available ? "available" : "unavailable") for \(t)"
        case .alternativeOffered(let b):
            let what = b.kind == .otherParty ? "another party" + (b.party.map { " (\($0))" } ?? "") : "a supervisor callback"
            return "\(b.agent) offered \(what) on \(t): \(b.accepted ? "accepted" : "declined")"
        case .requestDeclined(let b):
            return "\(b.by) declined the request on \(t): \(excerpt(b.reason))"
        case .transferred(let b):
            return "\(b.from) transferred \(t) to \(b.to) (\(b.mode.rawValue))"
        case .callbackScheduled(let b):
            return "callback on \(t) owed by \(b.owner) by \(b.dueBy)"
        case .callbackCompleted(let b):
            return "\(b.by) completed the callback on \(t) (\(b.reached ? "reached" : "not reached"))"
        case .noteLogged(let b):
            return "\(b.author) noted on \(t): \(excerpt(b.text))"
        case .ticketResolved(let b):
            var s = "\(b.by) resolved \(t) (\(b.resolution.rawValue)"
            if let sat = b.satisfied { s += sat ? ", satisfied" : ", not satisfied" }
            return s + ")"
        case .ticketReopened(let b):
            return "\(b.by) reopened \(t): \(excerpt(b.reason))"
        case .debriefHeld(let b):
            return "\(b.coach) debriefed \(b.agent) on \(t)"
        case .feedbackGiven(let b):
            return "\(b.by) gave feedback to \(b.agent) on \(t)"
        case .sanctionIssued(let b):
            return "\(b.by) issued \(b.severity.rawValue) to \(b.agent) on \(t): \(excerpt(b.reason))"
        case .legalHoldPlaced(let b):
            return "legal hold placed on customer \(b.customer) (matter \(b.matter))"
        case .legalHoldReleased(let b):
            return "legal hold released on customer \(b.customer) (matter \(b.matter))"
        case .personalDataErased(let b):
            return "personal data of customer \(b.customer) erased"
        case .exportMade(let b):
            return "export of seq \(b.from)–\(b.to) (\(b.count) events) for \(b.operator), root \(b.root.prefix(16))"
        case .personalDataRevealed(let b):
            return "personal data of \(b.customers.count) customer(s) revealed to \(b.operator) (\(b.query))"
        }
    }
}

/// Free text cut to one line of at most 60 characters; other control
/// characters than white space are escaped (``Display``).
func excerpt(_ text: String) -> String {
    // Most text is already one short line of printable ASCII, single-spaced: it is its own
    // excerpt. Checked on the bytes, since walking Characters costs more than the rest of a
    // summary.
    var copy = text
    let unchanged = copy.withUTF8 { u -> Bool in
        guard u.count < 60, u.first != 0x20, u.last != 0x20 else { return false }
        var previous: UInt8 = 0
        for b in u {
            guard b >= 0x20, b <= 0x7E, !(b == 0x20 && previous == 0x20) else { return false }
            previous = b
        }
        return true
    }
    return unchanged ? text : excerptByCharacters(text)
}

/// ``excerpt(_:)`` the long way, Character by Character.
func excerptByCharacters(_ text: String) -> String {
    var out = ""
    var count = 0
    var lastWasSpace = false
    for ch in text {
        let isSpace = ch.isWhitespace || ch.isNewline
        if isSpace {
            if lastWasSpace || count == 0 { continue }
            lastWasSpace = true
            out.append(" ")
        } else {
            lastWasSpace = false
            if ch.unicodeScalars.contains(where: Display.isControl) {
                out += Display.escaped(String(ch))
            } else {
                out.append(ch)
            }
        }
        count += 1
        if count >= 60 { return out + "…" }
    }
    return lastWasSpace ? String(out.dropLast()) : out
}

extension Event {
    /// True when `staff` is the actor or a subject: any staff field, the enrolled member included.
    public func names(_ staff: String) -> Bool {
        if actor == staff || staffReferences().contains(where: { $0.staff == staff }) { return true }
        if case .staffEnrolled(let b) = body { return b.staff == staff }
        return false
    }
}
