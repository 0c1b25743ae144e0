import Foundation
@testable import Simulation
import Testing

@Suite("Organisation and scenarios")
struct ScenarioTests {
    @Test("the chart: roles, reporting lines, extensions and costs")
    func organisation() {
        let org = Organisation(seed: 1, agents: 40)
        let m = org.members
        #expect(org.indices(of: .agent).count == 40)
        #expect(org.indices(of: .director).count == 1)
        #expect(org.indices(of: .compliance).count == 1)
        #expect(!StaffRole.compliance.isSupervisorOrAbove && StaffRole.compliance.rank == nil)
        #expect(m[0].role == .director && m[0].reportsTo == nil)
        let expectedSuperior: [StaffRole: StaffRole] = [
            .agent: .teamLead, .sme: .teamLead, .teamLead: .supervisor, .supervisor: .manager, .manager: .director,
            .compliance: .director,
        ]
        for s in m where s.role != .director {
            let up = try! #require(s.reportsTo)
            #expect(up < s.index, "superior enrolled first")
            #expect(m[up].role == expectedSuperior[s.role])
        }
        #expect(Set(m.map(\.extension)).count == m.count)
        #expect(Set(m.map(\.id)).count == m.count)
        let line = StaffRole.allCases.filter { $0.rank != nil }  // the seniority line
        for (role, next) in zip(line, line.dropFirst()) {
            let maxHere = org.indices(of: role).map { m[$0].hourlyCostCents }.max()!
            let minNext = org.indices(of: next).map { m[$0].hourlyCostCents }.min()!
            #expect(maxHere < minNext, "\(role) vs \(next)")
        }
        #expect(m.allSatisfy { !$0.hourlyCost.contains(".") || $0.hourlyCost.split(separator: ".")[1].count <= 2 })
        #expect(decimalSamples() == ["18.5", "21.25", "40", "19.05"])
    }

    func decimalSamples() -> [String] {
        [1850, 2125, 4000, 1905].map { decimalString(cents: $0) }
    }

    @Test("times: the default start and RFC 3339 round trips")
    func times() {
        #expect(SimulationTime.defaultStart.description == "2026-03-02T08:00:00Z")
        for s in ["2026-03-02T09:15:07Z", "2024-02-29T23:59:59.5Z", "1999-12-31T00:00:00.000001Z"] {
            #expect(SimulationTime(rfc3339: s)?.description == s)
        }
        #expect(SimulationTime(rfc3339: "2026-03-02T09:15:07+01:00") == nil)
        let start = SimulationTime(rfc3339: "2025-01-06T09:00:00Z")!
        var it = Simulator(Simulator.Configuration(seed: 1, calls: 5, start: start)).makeIterator()
        var firstCall: String?
        while let line = it.next() {
            let text = String(decoding: line, as: UTF8.self)
            if text.contains("\"callOpened\"") { firstCall = text; break }
        }
        #expect(firstCall?.contains("\"at\":\"2025-01-06T") == true)
    }

    @Test("a run covers the whole catalogue and the procedures' imperfections")
    func coverage() throws {
        let sim = Simulator(Simulator.Configuration(seed: 8, calls: 3_000, agents: 12))
        let (lines, tally) = try collect(sim)
        let expectedTypes = Catalogue.allTypes
        #expect(Set(tally.byType.keys) == expectedTypes)
        let accepted = lines.filter { $0.refusal == nil }
        func count(_ type: String, _ where: (Line) -> Bool = { _ in true }) -> Int {
            accepted.filter { $0.type == type && `where`($0) }.count
        }
        #expect(count("transferred") { $0.string("mode") == "blind" } > 0)
        #expect(count("transferred") { $0.string("mode") == "conference" && $0.object["announcedName"] != nil } > 0)
        #expect(count("transferred") { $0.string("mode") == "warm" && $0.object["announcedExtension"] == nil } > 0)
        #expect(count("supervisorAvailability") { $0.object["available"] as? Bool == false } > 0)
        #expect(count("alternativeOffered") { $0.string("kind") == "supervisorCallback" } > 0)
        #expect(count("alternativeOffered") { $0.string("kind") == "otherParty" && $0.object["party"] != nil } > 0)
        #expect(count("deEscalationAttempted") { $0.string("outcome") == "accepted" } > 0)
        #expect(count("deEscalationAttempted") { $0.string("outcome") == "declined" } > 0)
        #expect(count("escalationRequested") { $0.string("scenario") == "immediate" } > 0)
        #expect(count("escalationRequested") { $0.string("scenario") == "midConversation" } > 0)
        #expect(count("callOpened") { $0.object["repeatOf"] != nil } > 0)
        #expect(count("staffReassigned") > 0)
        for resolution in ["resolvedByAgent", "resolvedByEscalation", "customerWithdrew", "unresolved"] {
            #expect(count("ticketResolved") { $0.string("resolution") == resolution } > 0, "\(resolution)")
        }
        // Most calls never escalate.
        #expect(Double(count("escalationRequested")) < 0.45 * Double(count("callOpened")))

        // Callbacks: on time, late, by someone other than the owner, never.
        var owner: [String: (owner: String, due: SimulationTime)] = [:]
        var onTime = 0, late = 0, byOther = 0
        for line in accepted {
            guard let ticket = line.ticket else { continue }
            if line.type == "callbackScheduled" {
                owner[ticket] = (line.string("owner")!, SimulationTime(rfc3339: line.string("dueBy")!)!)
            } else if line.type == "callbackCompleted", let open = owner.removeValue(forKey: ticket) {
                if line.at! <= open.due { onTime += 1 } else { late += 1 }
                if line.string("by") != open.owner { byOther += 1 }
            }
        }
        #expect(onTime > late && late > 0 && byOther > 0 && !owner.isEmpty)

        // Debriefs mostly within 7 days of resolution, some later.
        var resolvedAt: [String: SimulationTime] = [:]
        var debriefDays: [Double] = []
        for line in accepted {
            if line.type == "ticketResolved", resolvedAt[line.ticket!] == nil { resolvedAt[line.ticket!] = line.at! }
            if line.type == "debriefHeld", let r = resolvedAt[line.ticket!] {
                debriefDays.append(Double(line.at!.microseconds - r.microseconds) / 86_400e6)
            }
        }
        #expect(debriefDays.filter { $0 <= 7 }.count > 4 * debriefDays.filter { $0 > 7 }.count)
        #expect(debriefDays.contains { $0 > 7 })

        // Erasures never hit a customer under hold (except the deliberate refusals).
        var held: Set<String> = []
        for line in lines {
            switch line.type {
            case "legalHoldPlaced": held.insert(line.string("customer")!)
            case "legalHoldReleased": held.remove(line.string("customer")!)
            case "personalDataErased":
                #expect(held.contains(line.string("customer")!) == (line.refusal == .legalHold))
            default: break
            }
        }
    }

    @Test("agents differ: some ask twice before transferring, some rarely do")
    func agentsDiffer() throws {
        let sim = Simulator(Simulator.Configuration(seed: 13, calls: 6_000, agents: 20))
        let (lines, _) = try collect(sim)
        // Per ticket, declined asks since the request; per agent, transfers after fewer than two.
        var asks: [String: Int] = [:]
        var transfers: [String: (all: Int, early: Int)] = [:]
        var deEscalated: [String: (requests: Int, handled: Int)] = [:]
        var opener: [String: String] = [:]
        var requested: Set<String> = []
        var transferred: Set<String> = []
        for line in lines where line.refusal == nil {
            guard let t = line.ticket else { continue }
            switch line.type {
            case "callOpened": opener[t] = line.string("agent")
            case "escalationRequested":
                asks[t] = 0
                if requested.insert(t).inserted { deEscalated[opener[t]!, default: (0, 0)].requests += 1 }
            case "deEscalationAttempted":
                let technique = line.string("technique")
                if line.string("outcome") == "declined", technique == "askPermission" || technique == "offerHelp" {
                    asks[t, default: 0] += 1
                }
            case "transferred":
                transferred.insert(t)
                let from = line.string("from")!
                guard from.hasPrefix("ag-"), let n = asks[t] else { break }
                transfers[from, default: (0, 0)].all += 1
                if n < 2 { transfers[from, default: (0, 0)].early += 1 }
            case "ticketResolved":
                let r = line.string("resolution")
                if requested.contains(t), !transferred.contains(t), r == "resolvedByAgent" || r == "customerWithdrew" {
                    deEscalated[opener[t]!, default: (0, 0)].handled += 1
                }
            default: break
            }
        }
        let compliance = transfers.values.filter { $0.all >= 8 }.map { 1 - Double($0.early) / Double($0.all) }
        #expect(compliance.count >= 5)
        #expect((compliance.max() ?? 0) - (compliance.min() ?? 0) > 0.4, "\(compliance.sorted())")
        let rates = deEscalated.values.filter { $0.requests >= 15 }.map { Double($0.handled) / Double($0.requests) }
        #expect((rates.max() ?? 0) - (rates.min() ?? 0) > 0.2, "\(rates.sorted())")
    }
}
