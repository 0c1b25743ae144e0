import EscalationDomain
import Foundation
@testable import Ledger

func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("ledger-tests-\(UUID().uuidString)").path
}

/// Writes interchange lines for tests: ids from a counter, times in minutes from a base.
struct Script {
    static let base = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!
    var counter = 0

    static func time(_ minutes: Double) -> String {
        Script.base.adding(microseconds: Int64(minutes * 60_000_000)).description
    }

    mutating func nextID() -> String {
        counter += 1
        return String(format: "00000000-0000-4000-8000-%012x", counter)
    }

    /// One line. `fields` are the type-specific ones.
    mutating func line(_ type: String, _ minutes: Double, actor: String, ticket: String? = nil,
                       channel: String = "ask:escalations", id: String? = nil, expectedVersion: Int? = nil,
                       _ fields: [String: Any] = [:]) -> String {
        var object: [String: Any] = ["id": id ?? nextID(), "type": type, "at": Script.time(minutes), "actor": actor, "channel": channel]
        if let ticket { object["ticket"] = ticket }
        if let expectedVersion { object["expectedVersion"] = expectedVersion }
        for (k, v) in fields { object[k] = v }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The organisation: director d1 ← manager m1 ← supervisor s1 ← team lead tl1 ← agents a1, a2 and SME e1.
    mutating func organisation() -> [String] {
        [
            line("staffEnrolled", 0, actor: "system", ["staff": "d1", "name": "Dana", "role": "director", "hourlyCost": 150]),
            line("staffEnrolled", 0, actor: "system", ["staff": "m1", "name": "Mo", "role": "manager", "reportsTo": "d1", "hourlyCost": 90]),
            line("staffEnrolled", 0, actor: "system", ["staff": "s1", "name": "Sam", "role": "supervisor", "reportsTo": "m1", "hourlyCost": 60, "extension": "2774"]),
            line("staffEnrolled", 0, actor: "system", ["staff": "tl1", "name": "Tia", "role": "teamLead", "reportsTo": "s1", "hourlyCost": 40]),
            line("staffEnrolled", 0, actor: "system", ["staff": "a1", "name": "Ann", "role": "agent", "reportsTo": "tl1", "hourlyCost": 20.5]),
            line("staffEnrolled", 0, actor: "system", ["staff": "a2", "name": "Abe", "role": "agent", "reportsTo": "tl1", "hourlyCost": 20]),
            line("staffEnrolled", 0, actor: "system", ["staff": "e1", "name": "Eve", "role": "sme", "reportsTo": "tl1"]),
        ]
    }

    mutating func open(_ ticket: String, _ minutes: Double, agent: String = "a1", customer: String = "c1") -> String {
        line("callOpened", minutes, actor: agent, ticket: ticket,
             ["agent": agent, "customer": ["id": customer, "name": "Jane Roe", "phone": "+1 555 0100"], "issue": "billing"])
    }
}

extension Ledger {
    /// Imports lines given as strings.
    func importStrings(_ lines: [String], atomic: Bool = false) throws -> ImportReport {
        try importLines(lines.map { Array($0.utf8) }, atomic: atomic)
    }
}
