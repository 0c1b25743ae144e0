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

    func write(_ change: Rules.Change, txn: WriteTransaction) throws {
        // Written in place (MDB_RESERVE), keys read from the strings' storage: one event's rules
        // state allocates nothing here.
        switch change {
        case .staff(let id, let s):
            var reportsTo = s.reportsTo ?? ""
            let role = UInt8(RuleStore.roles.firstIndex(of: s.role)!)
            try RuleStore.withKey(id) { key in
                try reportsTo.withUTF8 { r in
                    try txn.putReserved(staff, key: key, size: 1 + r.count) { v in
                        v[0] = role
                        UnsafeMutableRawBufferPointer(rebasing: v[1...]).copyMemory(from: UnsafeRawBufferPointer(r))
                    }
                }
            }
        case .ticket(let id, let t):
            var owner = t.owner
            try RuleStore.withKey(id) { key in
                try owner.withUTF8 { o in
                    try txn.putReserved(tickets, key: key, size: 17 + o.count) { v in
                        v[0] = t.resolved ? 1 : 0
                        v.storeBytes(of: UInt64(t.openCallbacks).bigEndian, toByteOffset: 1, as: UInt64.self)
                        v.storeBytes(of: UInt64(bitPattern: t.lastAt).bigEndian, toByteOffset: 9, as: UInt64.self)
                        UnsafeMutableRawBufferPointer(rebasing: v[17...]).copyMemory(from: UnsafeRawBufferPointer(o))
                    }
                }
            }
        case .holds(let customer, let matters):
            var v: [UInt8] = []
            for m in matters { v += BigEndianKey.bytes(UInt64(m.utf8.count)) + Array(m.utf8) }
            try txn.put(holds, key: Array(customer.utf8), value: v)
        case .erased:
            break  // the vault erases the customer (LedgerHook)
        }
    }

    /// `body` with `id`'s UTF-8 bytes, from the string's own storage when it has one.
    static func withKey<T>(_ id: String, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var id = id
        return try id.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// ``RuleState`` read through a transaction.
struct TransactionRuleState: RuleState {
    let store: RuleStore
    let txn: ReadTransaction

    func staff(_ id: String) throws -> Rules.Staff? {
        guard let v = try RuleStore.withKey(id, { try txn.get(store.staff, key: $0) }), let first = v.first else { return nil }
        let reportsTo = String(decoding: v[1...], as: UTF8.self)
        return Rules.Staff(role: RuleStore.roles[Int(first)], reportsTo: reportsTo.isEmpty ? nil : reportsTo)
    }

    func ticket(_ id: String) throws -> Rules.Ticket? {
        guard let v = try RuleStore.withKey(id, { try txn.get(store.tickets, key: $0) }), let t = RuleStore.StoredTicket(v) else { return nil }
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

/// The rules' state of staff and tickets as one append request sees it: each member and ticket
/// is read from its table once, and what the request's events change is written once, at the
/// request's end (``flush(_:)``), in key order, rather than once an event (an import's events
/// of one ticket read and rewrote its entry each time: BENCHMARKS.md, sixteenth round). Legal
/// holds are rare and go straight to their table.
///
/// Used on the writer thread only, by one request at a time; ``reset()`` starts it again when
/// the transaction is rerun.
final class CachedRuleState: @unchecked Sendable {
    /// An entry as read (nil: absent), and whether this request changed it.
    private struct Known<Value> {
        var value: Value?
        var changed = false
    }

    let store: RuleStore
    private var staff: [String: Known<Rules.Staff>] = [:]
    private var tickets: [String: Known<Rules.Ticket>] = [:]

    init(store: RuleStore) { self.store = store }

    func reset() {
        staff.removeAll(); tickets.removeAll()
    }

    /// The state seen through `txn`, with this request's changes on top.
    func view(_ txn: ReadTransaction) -> View { View(cache: self, stored: TransactionRuleState(store: store, txn: txn)) }

    struct View: RuleState {
        let cache: CachedRuleState
        let stored: TransactionRuleState

        func staff(_ id: String) throws -> Rules.Staff? {
            if let known = cache.staff[id] { return known.value }
            let s = try stored.staff(id)
            cache.staff[id] = Known(value: s)
            return s
        }

        func ticket(_ id: String) throws -> Rules.Ticket? {
            if let known = cache.tickets[id] { return known.value }
            let t = try stored.ticket(id)
            cache.tickets[id] = Known(value: t)
            return t
        }

        func holds(_ customer: String) throws -> [String] { try stored.holds(customer) }
    }

    /// Records an admitted event's change: staff and tickets here, until ``flush(_:)``; holds in
    /// their table at once.
    func apply(_ change: Rules.Change, txn: WriteTransaction) throws {
        switch change {
        case .staff(let id, let s): staff[id] = Known(value: s, changed: true)
        case .ticket(let id, let t): tickets[id] = Known(value: t, changed: true)
        case .holds, .erased: try store.write(change, txn: txn)
        }
    }

    /// Writes the changed entries, in key order, and forgets what it kept (the tables now hold it).
    func flush(_ txn: WriteTransaction) throws {
        let changedStaff = staff.compactMap { id, known in known.changed ? known.value.map { (id, $0) } : nil }
        for (_, (id, s)) in KeyOrder.sorted(changedStaff, by: \.0) { try store.write(.staff(id, s), txn: txn) }
        let changedTickets = tickets.compactMap { id, known in known.changed ? known.value.map { (id, $0) } : nil }
        for (_, (id, t)) in KeyOrder.sorted(changedTickets, by: \.0) { try store.write(.ticket(id, t), txn: txn) }
        reset()
    }
}
