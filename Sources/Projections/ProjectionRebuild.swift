import EscalationDomain
import EventLog
import LMDB

/// The projections rebuilt from the log alone into a scratch environment, to be compared
/// with the stored ones (`ledger verify --deep`). It folds events through the same
/// ``ProjectionEngine`` and the same record encoding as ``Projector``, so a sound stored
/// projection is byte for byte what this builds.
///
/// ```swift
/// let rebuild = try ProjectionRebuild(scratch: env)
/// try env.write { txn in
///     for (event, seq, version) in chunk { try rebuild.apply(event, seq: seq, version: version, in: txn) }
///     try rebuild.flush(in: txn)
/// }
/// ```
///
/// Memory holds the staff directory and one chunk's tickets; everything else is in the scratch
/// environment.
public final class ProjectionRebuild {
    /// Ticket id → ticket state, as ``Projector`` stores it.
    public let tickets: Database
    /// Staff id → directory entry and scorecard counts.
    public let staff: Database
    /// Staff id ‖ 0x00 ‖ ticket id → empty.
    public let accountable: Database
    /// Staff id → the seq of the last event that changed the member's record (u64).
    public let staffSeq: Database
    private var staffRecords: [String: StaffRecord] = [:]
    private var store: LMDBTicketStore?
    private var engine: ProjectionEngine?

    public init(scratch: Environment) throws {
        tickets = try scratch.openDatabase("proj.tickets")
        staff = try scratch.openDatabase("proj.staff")
        accountable = try scratch.openDatabase("proj.accountable")
        staffSeq = try scratch.openDatabase("proj.staff.seq")
    }

    /// Applies one event of the log, in seq order, inside a write transaction of the scratch environment.
    public func apply(_ event: Event, seq: UInt64, version: UInt64, in txn: WriteTransaction) throws {
        if engine == nil {
            let s = LMDBTicketStore(tickets: tickets, accountable: accountable, reader: txn)
            store = s
            engine = ProjectionEngine(staff: staffRecords, tickets: s)
        }
        try engine!.apply(event, seq: seq, version: version)
        for record in engine!.takeDirtyStaff() {
            let key = Array(record.info.staff.utf8)
            try txn.put(staff, key: key, value: record.encode())
            try txn.put(staffSeq, key: key, value: BigEndianKey.bytes(seq))
        }
    }

    /// Writes the chunk's tickets; call before the scratch transaction commits.
    public func flush(in txn: WriteTransaction) throws {
        if let store, let engine {
            try store.flush(staff: engine.staffIDs, in: txn)
            staffRecords = engine.staff
        }
        store = nil
        engine = nil
    }

    /// Drops what a scratch transaction that failed had applied (its transaction is gone).
    public func discardChunk() {
        store = nil
        engine = nil
    }
}

extension Projector {
    /// Names of the stored projection's tables, for messages and comparisons.
    public struct StoredTables {
        public let generation: UInt8
        /// The last seq the active projection applied.
        public let checkpoint: UInt64
        public let tickets: Database
        public let staff: Database
        public let accountable: Database
    }

    /// Handles of the stored projection's tables (open them before the transaction that reads them).
    public struct StoredDatabases: Sendable {
        let meta: Database
        /// By generation: tickets, staff, accountable.
        let generations: [(tickets: Database, staff: Database, accountable: Database)]
    }

    /// Opens the handles of `proj.meta` and both generations' tables.
    public func storedDatabases() throws -> StoredDatabases {
        let env = log.environment
        return StoredDatabases(meta: try env.openDatabase("proj.meta"), generations: try (0..<2).map { g in
            (try env.openDatabase("proj.\(g).tickets"), try env.openDatabase("proj.\(g).staff"), try env.openDatabase("proj.\(g).accountable"))
        })
    }

    /// Reads `proj.meta` as stored and checks it: only `active` (0 or 1), `schema` (this
    /// version's), `checkpoint.0` and `checkpoint.1` (8 bytes each), the active checkpoint no
    /// later than the log's head, and the inactive generation empty (as every finished rebuild
    /// leaves it) or holding a stopped replay's chunks (its checkpoint set, no replay running).
    /// Returns the active generation's tables, or what is wrong.
    public func storedTables(_ dbs: StoredDatabases, in txn: ReadTransaction, head: UInt64) throws -> Result<StoredTables, ProjectionProblem> {
        let metaDB = dbs.meta
        var values: [String: UInt64] = [:]
        var problem: String?
        try txn.withCursor(metaDB) { c in
            var e = try c.first()
            while let entry = e {
                let key = String(decoding: entry.key, as: UTF8.self)
                guard ["active", "schema", "checkpoint.0", "checkpoint.1"].contains(key), Array(key.utf8).elementsEqual(entry.key) else {
                    problem = "proj.meta: an unexpected entry \(Projector.quoted(entry.key))"
                    return
                }
                guard entry.value.count == 8 else {
                    problem = "proj.meta: \(key) is \(entry.value.count) bytes, not 8"
                    return
                }
                values[key] = BigEndianKey.uint64(entry.value)
                e = try c.next()
            }
        }
        if let problem { return .failure(ProjectionProblem(problem)) }
        let schema = values["schema"]
        guard schema == Projector.schemaVersion else {
            return .failure(ProjectionProblem("proj.meta: schema is \(schema.map(String.init) ?? "missing"), this version builds "
                                              + "\(Projector.schemaVersion) (ledger replay rebuilds the projections)"))
        }
        let active = values["active"] ?? 0
        guard active <= 1 else { return .failure(ProjectionProblem("proj.meta: active is \(active), not generation 0 or 1")) }
        let g = UInt8(active), other = 1 - g
        let checkpoint = values["checkpoint.\(g)"] ?? 0
        guard checkpoint <= head else {
            return .failure(ProjectionProblem("proj.meta: checkpoint.\(g) is \(checkpoint), beyond the log's head (seq \(head))"))
        }
        // The inactive generation is empty, as every finished replay leaves it, or holds the
        // chunks of a replay: one still running (it holds ReplayLock), or one stopped before it
        // finished, whose chunks nothing reads and the next replay or writable open clears.
        let o = dbs.generations[Int(other)]
        let otherCheckpoint = values["checkpoint.\(other)"] ?? 0
        guard otherCheckpoint <= head else {
            return .failure(ProjectionProblem("proj.meta: checkpoint.\(other) of the inactive generation is \(otherCheckpoint), "
                                              + "beyond the log's head (seq \(head))"))
        }
        for (table, db) in [("tickets", o.tickets), ("staff", o.staff), ("accountable", o.accountable)] {
            let n = try txn.count(db)
            if n > 0, otherCheckpoint == 0 {
                return .failure(ProjectionProblem("proj.\(other).\(table): generation \(other) is not active but holds \(n) entries, "
                                                  + "and no replay's checkpoint (checkpoint.\(other) is 0)"))
            }
        }
        if otherCheckpoint != 0, ReplayLock.isHeld(log.environment) {
            return .failure(ProjectionProblem("proj.meta: checkpoint.\(other) of the inactive generation is \(otherCheckpoint): "
                                              + "a replay is running (verify again once it finishes)"))
        }
        let a = dbs.generations[Int(g)]
        return .success(StoredTables(generation: g, checkpoint: checkpoint, tickets: a.tickets, staff: a.staff, accountable: a.accountable))
    }

    /// Describes how a stored ticket state differs from the rebuilt one: the first field of
    /// the two that differs, or that the stored one cannot be read. Nil when they are equal.
    public static func ticketDifference(stored: UnsafeRawBufferPointer, expected: UnsafeRawBufferPointer) -> (String, UInt64?)? {
        guard let e = try? TicketState.decode(expected) else { return ("the rebuilt state cannot be read", nil) }
        guard let s = try? TicketState.decode(stored) else {
            return ("the stored state cannot be read (its last event is seq \(e.lastSeq))", e.lastSeq)
        }
        let fields: [(String, String, String)] = [
            ("status", s.status.rawValue, e.status.rawValue), ("owner", s.owner, e.owner), ("openedBy", s.openedBy, e.openedBy),
            ("customer", s.customer, e.customer), ("version", "\(s.version)", "\(e.version)"),
            ("lastSeq", "\(s.lastSeq)", "\(e.lastSeq)"), ("level", s.level?.rawValue ?? "none", e.level?.rawValue ?? "none"),
            ("asks", "\(s.asks)", "\(e.asks)"), ("escalations", "\(s.escalations)", "\(e.escalations)"),
            ("transfers", "\(s.transfers.count)", "\(e.transfers.count)"), ("callbacks", "\(s.callbacks.count)", "\(e.callbacks.count)"),
            ("resolution", s.resolution?.rawValue ?? "none", e.resolution?.rawValue ?? "none"),
            ("findings", "\(s.eventFindings.count)", "\(e.eventFindings.count)"), ("accountable", s.accountable.joined(separator: ","), e.accountable.joined(separator: ",")),
        ]
        for (name, a, b) in fields where a != b {
            return ("\(name) is \(a), the log gives \(b) (its last event is seq \(e.lastSeq))", e.lastSeq)
        }
        if stored.elementsEqual(expected) { return nil }
        return ("the stored state differs from the one the log gives (its last event is seq \(e.lastSeq))", e.lastSeq)
    }

    /// Describes how a stored staff record differs from the rebuilt one (the first field), or nil.
    public static func staffDifference(stored: UnsafeRawBufferPointer, expected: UnsafeRawBufferPointer) -> String? {
        guard let e = try? StaffRecord.decode(expected) else { return "the rebuilt record cannot be read" }
        guard let s = try? StaffRecord.decode(stored) else { return "the stored record cannot be read" }
        let a = s.counters, b = e.counters
        let fields: [(String, String, String)] = [
            ("name", s.info.name, e.info.name), ("role", s.info.role.rawValue, e.info.role.rawValue),
            ("reportsTo", s.info.reportsTo ?? "none", e.info.reportsTo ?? "none"),
            ("extension", s.info.extension ?? "none", e.info.extension ?? "none"),
            ("hourlyCost", s.info.hourlyCost.map { "\($0)" } ?? "none", e.info.hourlyCost.map { "\($0)" } ?? "none"),
            ("callsOpened", "\(a.callsOpened)", "\(b.callsOpened)"), ("escalationRequests", "\(a.escalationRequests)", "\(b.escalationRequests)"),
            ("deEscalationAttempts", "\(a.deEscalationAttempts)", "\(b.deEscalationAttempts)"),
            ("ticketsWithRequest", "\(a.ticketsWithRequest)", "\(b.ticketsWithRequest)"), ("deEscalated", "\(a.deEscalated)", "\(b.deEscalated)"),
            ("transfersOut", "\(a.transfersOut)", "\(b.transfersOut)"), ("compliantTransfers", "\(a.compliantTransfers)", "\(b.compliantTransfers)"),
            ("callbacksOwed", "\(a.callbacksOwed)", "\(b.callbacksOwed)"), ("callbacksOnTime", "\(a.callbacksOnTime)", "\(b.callbacksOnTime)"),
            ("callbacksLate", "\(a.callbacksLate)", "\(b.callbacksLate)"), ("requestsDeclined", "\(a.requestsDeclined)", "\(b.requestsDeclined)"),
            ("feedbackReceived", "\(a.feedbackReceived)", "\(b.feedbackReceived)"), ("sanctionsReceived", "\(a.sanctionsReceived)", "\(b.sanctionsReceived)"),
            ("debriefs", "\(a.debriefs)", "\(b.debriefs)"), ("supervisorLoad", "\(a.supervisorLoad)", "\(b.supervisorLoad)"),
            ("escalationCost", "\(a.escalationCost)", "\(b.escalationCost)"),
        ]
        for (name, x, y) in fields where x != y { return "\(name) is \(x), the log gives \(y)" }
        if stored.elementsEqual(expected) { return nil }
        return "the stored record differs from the one the log gives"
    }

    static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        "\"" + String(decoding: bytes, as: UTF8.self) + "\""
    }
}

/// Why the stored projection cannot be compared (or is wrong as a whole).
public struct ProjectionProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
