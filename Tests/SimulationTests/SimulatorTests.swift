import Foundation
import Simulation
import Testing

@Suite("Simulator output")
struct SimulatorTests {
    @Test("the same seed gives the same bytes, another seed different ones")
    func determinism() {
        let a = allBytes(Simulator(seed: 11, calls: 400))
        let b = allBytes(Simulator(seed: 11, calls: 400))
        let c = allBytes(Simulator(seed: 12, calls: 400))
        #expect(!a.isEmpty)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("the iterator, the chunk writer and the file writer agree")
    func writersAgree() throws {
        let sim = Simulator(seed: 5, calls: 300)
        var fromIterator: [UInt8] = []
        var it = sim.makeIterator()
        while it.appendNext(to: &fromIterator) { fromIterator.append(UInt8(ascii: "\n")) }
        let fromChunks = allBytes(sim)
        #expect(fromIterator == fromChunks)

        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("simulation-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tally = try sim.write(toPath: path)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written == fromChunks)
        #expect(tally == it.tally)
        #expect(tally.lines == fromChunks.filter { $0 == UInt8(ascii: "\n") }.count)
    }

    @Test("every line is one JSON object with the envelope and a known type")
    func envelope() throws {
        let (lines, tally) = try collect(Simulator(seed: 3, calls: 1_000))
        #expect(lines.count == tally.lines)
        var ids: Set<String> = []
        var duplicateIDs = 0
        for line in lines {
            let o = line.object
            #expect(Catalogue.allTypes.contains(line.type), "type \(line.type)")
            let id = try #require(o["id"] as? String)
            #expect(isLowercaseUUID(id), "id \(id)")
            if !ids.insert(id).inserted { duplicateIDs += 1 }
            let at = try #require(o["at"] as? String)
            #expect(SimulationTime(rfc3339: at)?.description == at, "at \(at)")
            #expect((o["actor"] as? String)?.isEmpty == false)
            #expect((o["channel"] as? String)?.isEmpty == false)
            let ticketed = Catalogue.ticketTypes.contains(line.type)
            #expect((o["ticket"] != nil) == ticketed, "ticket on \(line.type)")
            let allowed = Catalogue.bodyFields[line.type, default: []]
                .union(["id", "type", "at", "actor", "channel", "ticket", "expectedVersion"])
            for key in o.keys { #expect(allowed.contains(key), "\(key) on \(line.type)") }
            switch line.type {
            case "callOpened":
                let customer = try #require(o["customer"] as? [String: Any])
                #expect((customer["id"] as? String)?.hasPrefix("C-") == true)
                #expect(Set(customer.keys).isSubset(of: ["id", "name", "phone"]))
            case "staffEnrolled":
                // hourlyCost: a JSON number with at most two fraction digits.
                let text = String(decoding: line.bytes, as: UTF8.self)
                let cost = try #require(text.split(separator: "\"hourlyCost\":").last?.dropLast())
                #expect(Double(cost) != nil)
                #expect((cost.split(separator: ".").dropFirst().first?.count ?? 0) <= 2, "cost \(cost)")
            case "callbackScheduled":
                #expect((o["dueBy"] as? String).flatMap(SimulationTime.init(rfc3339:)) != nil)
            default:
                break
            }
        }
        // Only the deliberate duplicateId lines reuse an id.
        #expect(duplicateIDs == tally.refusedByRule["duplicateId", default: 0])
    }

    @Test("per ticket: callOpened first and time never goes back; staff enrolled first")
    func ordering() throws {
        let (lines, tally) = try collect(Simulator(seed: 21, calls: 1_500))
        #expect(lines.first?.at == tally.firstAt)
        var lastAt: [String: SimulationTime] = [:]
        var enrolled: Set<String> = []
        var previous = SimulationTime(microseconds: .min)
        defer { #expect(previous == tally.lastAt) }
        var sawCall = false
        for line in lines {
            let at = try #require(line.at)
            #expect(at >= previous, "stream goes back in time")
            previous = at
            if line.type == "staffEnrolled" {
                #expect(!sawCall, "staff are enrolled before the calls")
                if let up = line.string("reportsTo") { #expect(enrolled.contains(up)) }
                enrolled.insert(line.string("staff")!)
                #expect(line.string("actor") == "system")
                continue
            }
            sawCall = true
            if line.refusal != .unknownStaff {
                let actor = line.string("actor")!
                #expect(actor == "system" ? line.type == "staffReassigned" : enrolled.contains(actor))
                for field in Catalogue.staffFields[line.type] ?? [] {
                    if let id = line.string(field) { #expect(enrolled.contains(id), "\(field)=\(id) not enrolled") }
                }
            }
            guard let ticket = line.ticket else { continue }
            if line.type == "callOpened" {
                #expect(lastAt[ticket] == nil, "second callOpened for \(ticket)")
            } else {
                let opened = try #require(lastAt[ticket], "\(line.type) before callOpened on \(ticket)")
                #expect(at >= opened)
            }
            lastAt[ticket] = at
        }
    }

    @Test("intended refusals are exactly what a reference check refuses", arguments: [UInt64(1), 77, 2026])
    func refusalsMatchReference(seed: UInt64) throws {
        let sim = Simulator(Simulator.Configuration(seed: seed, calls: 2_000, refusalShare: 0.01, agents: 20))
        let (lines, tally) = try collect(sim)
        var reference = ReferenceLedger()
        var found: [String: Int] = [:]
        for line in lines {
            let broken = reference.check(line)
            if let intended = line.refusal {
                #expect(broken == [intended.rawValue],
                        "meant \(intended), reference finds \(broken): \(String(decoding: line.bytes, as: UTF8.self))")
            } else {
                #expect(broken.isEmpty, "refused \(broken): \(String(decoding: line.bytes, as: UTF8.self))")
            }
            for rule in broken { found[rule, default: 0] += 1 }
        }
        #expect(found == tally.refusedByRule)
        // directMessage, counted independently of the simulator.
        let dm = lines.filter { !($0.string("channel") ?? "").hasPrefix("ask:") }.count
        #expect(dm > 0)
        #expect(dm == tally.refusedByRule["directMessage"])
    }

    @Test("contract v2: who writes staff and compliance events, ids alone, erasures and calls after them")
    func contractVersion2() throws {
        let sim = Simulator(Simulator.Configuration(seed: 8, calls: 3_000, refusalShare: 0.01, agents: 20))
        let (lines, tally) = try collect(sim)
        var roles: [String: String] = [:]
        var erased: Set<String> = []
        var (callsAfter, idAlone, erasures, byOfficer) = (0, 0, 0, 0)
        for line in lines {
            let o = line.object
            var identifiers = ["actor", "channel", "ticket", "staff", "reportsTo", "agent", "by", "from", "to", "owner",
                               "author", "coach", "supervisor", "party", "repeatOf", "matter"].compactMap { line.string($0) }
            if let customer = o["customer"] as? [String: Any] { identifiers.append(customer["id"] as! String) }
            if let customer = line.string("customer") { identifiers.append(customer) }
            for id in identifiers {
                #expect(!id.isEmpty && id.utf8.count <= 200)
                #expect(id.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) })
                #expect(Array(id.precomposedStringWithCanonicalMapping.utf8) == Array(id.utf8), "not NFC: \(id)")
            }
            let actor = line.string("actor") ?? ""
            switch line.type {
            case "staffEnrolled":
                roles[line.string("staff")!] = line.string("role")
            case "staffReassigned" where line.refusal == nil:
                #expect(actor == "system" || ["manager", "director"].contains(roles[actor]), "\(actor) moved staff")
            case "legalHoldPlaced", "legalHoldReleased", "personalDataErased":
                guard line.refusal == nil else { continue }
                #expect(["compliance", "manager", "director"].contains(roles[actor]))
                if roles[actor] == "compliance" { byOfficer += 1 }
                if line.type == "personalDataErased" {
                    erasures += 1
                    erased.insert(line.string("customer")!)
                }
            case "callOpened":
                let customer = o["customer"] as! [String: Any]
                if customer.count == 1 { idAlone += 1 }
                if erased.contains(customer["id"] as! String) {
                    callsAfter += 1
                    #expect(o["repeatOf"] == nil, "a call after an erasure links to nothing")
                }
            default:
                break
            }
        }
        #expect(roles.values.filter { $0 == "compliance" }.count == 1)
        #expect(byOfficer > 0)
        #expect(erasures > 0 && erasures == tally.customersErased)
        #expect(callsAfter > 0 && callsAfter == tally.callsAfterErasure)
        #expect(idAlone > 0 && idAlone == tally.customersWithIDAlone)
        for rule in ["notAuthorized", "reportingCycle", "noLegalHold"] {
            #expect(tally.refusedByRule[rule, default: 0] > 0, "\(rule) never planned")
        }
    }

    @Test("the default refusal share is about half a percent, and zero turns it off")
    func refusalShare() throws {
        let tally = Simulator(seed: 9, calls: 4_000).forEachChunk { _ in }
        let share = Double(tally.refused) / Double(tally.lines)
        #expect(share > 0.0025 && share < 0.008, "share \(share)")
        #expect(tally.refusedByRule.count >= 6)
        let clean = Simulator(seed: 9, calls: 1_000, refusalShare: 0).forEachChunk { _ in }
        #expect(clean.refused == 0)
        #expect(clean.lines == clean.byType.values.reduce(0, +))
    }

    @Test("a long run streams: the events in flight stay bounded")
    func streaming() {
        var it = Simulator(seed: 4, calls: 100_000).makeIterator()
        var lines = 0
        var maxPending = 0
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        while it.appendNext(to: &buffer) {
            buffer.removeAll(keepingCapacity: true)
            lines += 1
            if lines & 1023 == 0 { maxPending = max(maxPending, it.pending) }
        }
        #expect(it.tally.calls == 100_000)
        #expect(lines == it.tally.lines)
        #expect(lines > 300_000)
        #expect(maxPending < 20_000, "pending \(maxPending)")
    }
}

/// `8-4-4-4-12` lowercase hex digits.
func isLowercaseUUID(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard b.count == 36 else { return false }
    for (i, c) in b.enumerated() {
        if i == 8 || i == 13 || i == 18 || i == 23 {
            if c != UInt8(ascii: "-") { return false }
        } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) {
            return false
        }
    }
    return true
}
