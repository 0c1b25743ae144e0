import Foundation
import Simulation

/// One simulated line, parsed, with the rule the simulator meant it to break.
struct Line {
    let bytes: [UInt8]
    let object: [String: Any]
    let refusal: RefusalRule?

    var type: String { object["type"] as? String ?? "" }
    var ticket: String? { object["ticket"] as? String }
    var at: SimulationTime? { (object["at"] as? String).flatMap(SimulationTime.init(rfc3339:)) }
    func string(_ key: String) -> String? { object[key] as? String }
}

enum Catalogue {
    static let ticketTypes: Set<String> = [
        "callOpened", "escalationRequested", "deEscalationAttempted", "supervisorAvailability",
        "alternativeOffered", "requestDeclined", "transferred", "callbackScheduled", "callbackCompleted",
        "noteLogged", "ticketResolved", "ticketReopened", "debriefHeld", "feedbackGiven", "sanctionIssued",
    ]
    static let staffTypes: Set<String> = ["staffEnrolled", "staffReassigned"]
    static let complianceTypes: Set<String> = ["legalHoldPlaced", "legalHoldReleased", "personalDataErased"]
    static var allTypes: Set<String> { ticketTypes.union(staffTypes).union(complianceTypes) }

    /// Fields that name a staff member, by type.
    static let staffFields: [String: [String]] = [
        "staffEnrolled": ["reportsTo"],
        "staffReassigned": ["staff", "reportsTo"],
        "callOpened": ["agent"],
        "deEscalationAttempted": ["agent"],
        "supervisorAvailability": ["supervisor"],
        "alternativeOffered": ["agent", "party"],
        "requestDeclined": ["by"],
        "transferred": ["from", "to"],
        "callbackScheduled": ["owner"],
        "callbackCompleted": ["by"],
        "noteLogged": ["author"],
        "ticketResolved": ["by"],
        "ticketReopened": ["by"],
        "debriefHeld": ["agent", "coach"],
        "feedbackGiven": ["agent", "by"],
        "sanctionIssued": ["agent", "by"],
    ]

    /// Every field a type may carry beside the envelope.
    static let bodyFields: [String: Set<String>] = [
        "staffEnrolled": ["staff", "name", "role", "reportsTo", "extension", "hourlyCost"],
        "staffReassigned": ["staff", "reportsTo", "role"],
        "callOpened": ["agent", "customer", "issue", "repeatOf"],
        "escalationRequested": ["requestedBy", "scenario", "reason", "level", "goal"],
        "deEscalationAttempted": ["agent", "technique", "outcome"],
        "supervisorAvailability": ["supervisor", "available"],
        "alternativeOffered": ["agent", "kind", "party", "accepted"],
        "requestDeclined": ["by", "reason"],
        "transferred": ["from", "to", "mode", "announcedName", "announcedExtension"],
        "callbackScheduled": ["owner", "dueBy"],
        "callbackCompleted": ["by", "reached"],
        "noteLogged": ["author", "text"],
        "ticketResolved": ["by", "resolution", "satisfied"],
        "ticketReopened": ["by", "reason"],
        "debriefHeld": ["agent", "coach", "lessons"],
        "feedbackGiven": ["agent", "by", "text"],
        "sanctionIssued": ["agent", "by", "severity", "reason"],
        "legalHoldPlaced": ["customer", "matter"],
        "legalHoldReleased": ["customer", "matter"],
        "personalDataErased": ["customer"],
    ]
}

/// Runs a simulation to the end, parsing every line.
func collect(_ simulator: Simulator) throws -> (lines: [Line], tally: SimulationTally) {
    var it = simulator.makeIterator()
    var lines: [Line] = []
    while let bytes = it.next() {
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        lines.append(Line(bytes: bytes, object: object ?? [:], refusal: it.lastRefusal))
    }
    return (lines, it.tally)
}

/// All bytes of a run, lines joined by newlines.
func allBytes(_ simulator: Simulator) -> [UInt8] {
    var out: [UInt8] = []
    simulator.forEachChunk(chunkSize: 1 << 16) { out.append(contentsOf: $0) }
    return out
}

/// A small re-implementation of CONTRACT.md section 4, independent of the
/// simulator: it returns every rule a line breaks given the lines accepted
/// before it, and applies the line when it breaks none.
struct ReferenceLedger {
    struct Ticket {
        var open = true
        var owner: String
        var callbacks = 0
        var version = 1
    }

    var reportsTo: [String: String?] = [:]
    var roles: [String: String] = [:]
    var tickets: [String: Ticket] = [:]
    /// `customer|matter` of every hold in place.
    var holds: Set<String> = []
    var ids: [String: [UInt8]] = [:]

    mutating func check(_ line: Line) -> Set<String> {
        let o = line.object
        let type = line.type
        var broken: Set<String> = []
        let channel = line.string("channel") ?? ""
        if !channel.hasPrefix("ask:") || channel.count <= 4 { broken.insert("directMessage") }
        let actor = line.string("actor") ?? ""
        if actor == "system" {
            if !Catalogue.staffTypes.contains(type) { broken.insert("unknownStaff") }
        } else if reportsTo[actor] == nil {
            broken.insert("unknownStaff")
        }
        for field in Catalogue.staffFields[type] ?? [] {
            if let id = line.string(field), reportsTo[id] == nil { broken.insert("unknownStaff") }
        }
        if let id = line.string("id"), let seen = ids[id], seen != line.bytes { broken.insert("duplicateId") }
        if let role = roles[actor] {
            if Catalogue.staffTypes.contains(type), !["manager", "director"].contains(role) { broken.insert("notAuthorized") }
            if Catalogue.complianceTypes.contains(type), !["compliance", "manager", "director"].contains(role) {
                broken.insert("notAuthorized")
            }
        }
        if Catalogue.staffTypes.contains(type), let staff = line.string("staff"), let superior = line.string("reportsTo") {
            var up: String? = superior
            var steps = 0
            while let s = up, steps <= reportsTo.count {
                if s == staff { broken.insert("reportingCycle"); break }
                up = reportsTo[s] ?? nil
                steps += 1
            }
        }
        if type == "legalHoldReleased", let customer = line.string("customer"), let matter = line.string("matter"),
           !holds.contains(customer + "|" + matter) {
            broken.insert("noLegalHold")
        }

        if Catalogue.ticketTypes.contains(type), let ticketID = line.ticket {
            if type == "callOpened" {
                if tickets[ticketID] != nil { broken.insert("ticketExists") }
            } else if let ticket = tickets[ticketID] {
                let afterClose: Set<String> = ["ticketReopened", "debriefHeld", "feedbackGiven", "sanctionIssued", "noteLogged"]
                if !ticket.open && !afterClose.contains(type) { broken.insert("ticketClosed") }
                switch type {
                case "noteLogged":
                    if line.string("author") != ticket.owner { broken.insert("notOwner") }
                case "feedbackGiven", "sanctionIssued":
                    let agent = line.string("agent") ?? ""
                    if let superior = reportsTo[agent], line.string("by") != superior { broken.insert("notDirectSuperior") }
                case "transferred":
                    if line.string("from") == line.string("to") || line.string("from") != ticket.owner {
                        broken.insert("selfTransfer")
                    }
                case "callbackCompleted":
                    if ticket.callbacks == 0 { broken.insert("noCallbackScheduled") }
                default: break
                }
                if let expected = o["expectedVersion"] as? Int, expected != ticket.version { broken.insert("conflict") }
            } else {
                broken.insert("unknownTicket")
            }
            if type == "callOpened", let expected = o["expectedVersion"] as? Int, expected != 0 {
                broken.insert("conflict")
            }
            if type == "callbackScheduled",
               let due = line.string("dueBy").flatMap(SimulationTime.init(rfc3339:)), let at = line.at, due <= at {
                broken.insert("callbackInPast")
            }
        }
        if type == "personalDataErased", let customer = line.string("customer"), holds.contains(where: { $0.hasPrefix(customer + "|") }) {
            broken.insert("legalHold")
        }
        if broken.isEmpty { apply(line) }
        return broken
    }

    private mutating func apply(_ line: Line) {
        if let id = line.string("id") { ids[id] = line.bytes }
        switch line.type {
        case "staffEnrolled":
            reportsTo[line.string("staff")!] = .some(line.string("reportsTo"))
            roles[line.string("staff")!] = line.string("role")
        case "staffReassigned":
            reportsTo[line.string("staff")!] = .some(line.string("reportsTo"))
            if let role = line.string("role") { roles[line.string("staff")!] = role }
        case "legalHoldPlaced": holds.insert(line.string("customer")! + "|" + line.string("matter")!)
        case "legalHoldReleased": holds.remove(line.string("customer")! + "|" + line.string("matter")!)
        case "callOpened": tickets[line.ticket!] = Ticket(owner: line.string("agent")!)
        default: break
        }
        guard let id = line.ticket, line.type != "callOpened", var t = tickets[id] else { return }
        t.version += 1
        switch line.type {
        case "transferred": t.owner = line.string("to")!
        case "callbackScheduled": t.callbacks += 1
        case "callbackCompleted": t.callbacks -= 1
        case "ticketResolved": t.open = false
        case "ticketReopened": t.open = true
        default: break
        }
        tickets[id] = t
    }
}
