extension Event {
    /// The checks that depend on this event alone, run by the ledger after decoding.
    /// (`null`, identifiers and the other `schema` checks of a line are the decoder's:
    /// see ``EventDecoder``.)
    ///
    /// - `schema`: `ticket` present exactly on ticket and discipline events;
    ///   `party` present on an `otherParty` alternative.
    /// - `directMessage`: `channel` is `ask:<name>` with a non-empty name (seed 003).
    /// - `unknownStaff`: actor `system` on anything but staff events and `exportMade`.
    /// - `callbackInPast`: `dueBy` not later than `at`.
    ///
    /// - throws: the first `RuleViolation` found, with `eventID` set.
    public func validateStandalone() throws(RuleViolation) {
        let category = type.category
        if category.hasTicket {
            guard let ticket, !ticket.isEmpty else {
                throw violation(.schema, field: "ticket", "required on \(type.rawValue)")
            }
        } else if ticket != nil {
            throw violation(.schema, field: "ticket", "not allowed on \(type.rawValue)")
        }
        if case .alternativeOffered(let b) = body, b.kind == .otherParty, b.party == nil {
            throw violation(.schema, field: "party", "required when kind is otherParty")
        }
        guard channel.utf8.count > 4, channel.utf8.starts(with: "ask:".utf8) else {
            throw violation(.directMessage, field: "channel",
                            "\(Display.quoted(channel)) is not an ASK channel (ask:<name>); direct messages are not allowed")
        }
        if actor == "system", category != .staff, category != .ledger {
            throw violation(.unknownStaff, field: "actor", "system may only enrol and reassign staff")
        }
        if case .callbackScheduled(let b) = body, b.dueBy <= at {
            throw violation(.callbackInPast, field: "dueBy", "dueBy \(b.dueBy) is not later than at \(at)")
        }
    }

    /// A refusal of this event.
    public func violation(_ rule: Rule, field: String? = nil, _ message: String) -> RuleViolation {
        RuleViolation(rule, eventID: id.description, field: field, message: message)
    }
}
