/// Which fields of an event are a customer's personal data (CONTRACT.md section 7):
/// the customer's `id`, `name` and `phone`, and the free text of the customer's
/// ticket events. The ledger seals them; this file only names them.
extension EventType {
    /// True for the ticket and discipline types that carry the customer or free text,
    /// so that their stored form holds a `sealed` field.
    public var hasPersonalText: Bool {
        switch self {
        case .callOpened, .escalationRequested, .requestDeclined, .noteLogged, .ticketReopened,
             .debriefHeld, .feedbackGiven, .sanctionIssued:
            true
        default:
            false
        }
    }
}

extension Event {
    /// The customer id a compliance event names (`legalHoldPlaced`, `legalHoldReleased`,
    /// `personalDataErased`), or the `callOpened` customer's id.
    public var customerID: String? {
        switch body {
        case .callOpened(let b): b.customer.id
        case .legalHoldPlaced(let b), .legalHoldReleased(let b): b.customer
        case .personalDataErased(let b): b.customer
        default: nil
        }
    }

    /// The personal free-text fields and the customer's name and phone, by path, in
    /// code-point order of the path (`customer.name`, `customer.phone`, `goal`, `issue`,
    /// `lessons`, `reason`, `text`). The customer id is not listed: see ``customerID``.
    public var personalText: [(path: String, value: String)] {
        switch body {
        case .callOpened(let b):
            var out: [(String, String)] = []
            if let n = b.customer.name { out.append(("customer.name", n)) }
            if let p = b.customer.phone { out.append(("customer.phone", p)) }
            out.append(("issue", b.issue))
            return out
        case .escalationRequested(let b): return [("goal", b.goal)]
        case .requestDeclined(let b): return [("reason", b.reason)]
        case .noteLogged(let b): return [("text", b.text)]
        case .ticketReopened(let b): return [("reason", b.reason)]
        case .debriefHeld(let b): return [("lessons", b.lessons)]
        case .feedbackGiven(let b): return [("text", b.text)]
        case .sanctionIssued(let b): return [("reason", b.reason)]
        default: return []
        }
    }

    /// A copy whose customer id is `customer(id)` and whose personal text fields are
    /// `text(path, value)`; everything else is unchanged.
    public func replacingPersonalData(customer: (String) -> String, text: (String, String) -> String) -> Event {
        var e = self
        switch body {
        case .callOpened(var b):
            b.customer = Customer(id: customer(b.customer.id), name: b.customer.name.map { text("customer.name", $0) },
                                  phone: b.customer.phone.map { text("customer.phone", $0) })
            b.issue = text("issue", b.issue)
            e.body = .callOpened(b)
        case .escalationRequested(var b): b.goal = text("goal", b.goal); e.body = .escalationRequested(b)
        case .requestDeclined(var b): b.reason = text("reason", b.reason); e.body = .requestDeclined(b)
        case .noteLogged(var b): b.text = text("text", b.text); e.body = .noteLogged(b)
        case .ticketReopened(var b): b.reason = text("reason", b.reason); e.body = .ticketReopened(b)
        case .debriefHeld(var b): b.lessons = text("lessons", b.lessons); e.body = .debriefHeld(b)
        case .feedbackGiven(var b): b.text = text("text", b.text); e.body = .feedbackGiven(b)
        case .sanctionIssued(var b): b.reason = text("reason", b.reason); e.body = .sanctionIssued(b)
        case .legalHoldPlaced(var b): b.customer = customer(b.customer); e.body = .legalHoldPlaced(b)
        case .legalHoldReleased(var b): b.customer = customer(b.customer); e.body = .legalHoldReleased(b)
        case .personalDataErased(var b): b.customer = customer(b.customer); e.body = .personalDataErased(b)
        default: break
        }
        return e
    }
}
