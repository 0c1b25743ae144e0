import EscalationDomain
import EventLog
import LMDB

/// The rules' state, kept in the log's environment and changed in the append
/// transaction itself: staff (role, superior), tickets (owner, closed, open
/// callbacks, latest event time) and customers' legal holds (docs/FORMAT.md).
final class RuleStore: Sendable {
    let staff: Database
    let tickets: Database
    let holds: Database

    init(environment: Environment) throws {
        staff = try environment.openDatabase("rules.staff")
        tickets = try environment.openDatabase("rules.tickets")
        holds = try environment.openDatabase("rules.holds")
    }

    /// The stored role byte is the role's position in `Role.allCases`
    /// (agent 0 ... director 5, compliance 6): roles are only ever appended.
    static let roles = Role.allCases

    /// A `rules.tickets` value as stored (docs/FORMAT.md): resolved byte ‖ open callbacks u64 ‖
    /// latest `at` i64 ‖ owner. Nil when it is too short. The one reader of the layout.
    struct StoredTicket {
        var resolvedByte: UInt8
        var openCallbacks: UInt64
        var lastAt: Int64
        var owner: [UInt8]

        init?(_ v: UnsafeRawBufferPointer) {
            guard v.count >= 17 else { return nil }
            resolvedByte = v[0]
            openCallbacks = BigEndianKey.uint64(v, at: 1)
            lastAt = Int64(bitPattern: BigEndianKey.uint64(v, at: 9))
            owner = Array(v[17...])
        }
    }

    func write(_ change: Rules.Change, seq: UInt64, txn: WriteTransaction) throws {
        switch change {
        case .staff(let id, let s):
            var v: [UInt8] = [UInt8(RuleStore.roles.firstIndex(of: s.role)!)]
            v += Array((s.reportsTo ?? "").utf8)
            try txn.put(staff, key: Array(id.utf8), value: v)
        case .ticket(let id, let t):
            var v: [UInt8] = [t.resolved ? 1 : 0]
            v += BigEndianKey.bytes(UInt64(t.openCallbacks))
            v += BigEndianKey.bytes(UInt64(bitPattern: t.lastAt))
            v += Array(t.owner.utf8)
            try txn.put(tickets, key: Array(id.utf8), value: v)
        case .holds(let customer, let matters):
            var v: [UInt8] = []
            for m in matters { v += BigEndianKey.bytes(UInt64(m.utf8.count)) + Array(m.utf8) }
            try txn.put(holds, key: Array(customer.utf8), value: v)
        case .erased:
            break  // the vault erases the customer (LedgerHook)
        }
    }
}

/// ``RuleState`` read through a transaction.
struct TransactionRuleState: RuleState {
    let store: RuleStore
    let txn: ReadTransaction

    func staff(_ id: String) throws -> Rules.Staff? {
        guard let v = try txn.get(store.staff, key: Array(id.utf8)), let first = v.first else { return nil }
        let reportsTo = String(decoding: v.dropFirst(), as: UTF8.self)
        return Rules.Staff(role: RuleStore.roles[Int(first)], reportsTo: reportsTo.isEmpty ? nil : reportsTo)
    }

    func ticket(_ id: String) throws -> Rules.Ticket? {
        guard let v = try txn.get(store.tickets, key: Array(id.utf8)), let t = v.withUnsafeBytes({ RuleStore.StoredTicket($0) }) else { return nil }
        return Rules.Ticket(owner: String(decoding: t.owner, as: UTF8.self), resolved: t.resolvedByte == 1, openCallbacks: Int(t.openCallbacks),
                            lastAt: t.lastAt)
    }

    func holds(_ customer: String) throws -> [String] {
        guard let v = try txn.get(store.holds, key: Array(customer.utf8)) else { return [] }
        var out: [String] = []
        var i = 0
        while i + 8 <= v.count {
            let n = Int(v.withUnsafeBytes { BigEndianKey.uint64($0, at: i) })
            out.append(String(decoding: v[(i + 8)..<(i + 8 + n)], as: UTF8.self))
            i += 8 + n
        }
        return out
    }
}

