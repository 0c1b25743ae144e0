import Foundation
import Crypto
import LMDB
#if canImport(Glibc)
import Glibc
#endif

/// The append-only, hash-chained event log (see docs/FORMAT.md).
///
/// ```swift
/// let log = try EventLog(path: dir)
/// let report = try await log.append([draft])
/// try log.verify().ok
/// ```
///
/// Appends from any number of tasks are committed together by one writer
/// thread (group commit: one fsync for many); processes share the log
/// through LMDB's writer lock. Readers see only committed events and never
/// block the writer.
public final class EventLog: Sendable {
    /// The LMDB environment the log lives in (shared with the projections).
    public let environment: Environment
    let dbs: Databases
    /// The id index over `ids`, `id_runs` and `id_run_entries`.
    let idIndex: IdIndex
    let clock: @Sendable () -> Int64
    let committer: GroupCommitter
    private let observer = ObserverSlot()

    /// The log's named databases.
    struct Databases: Sendable {
        /// seq (u64 BE) → record.
        let events: Database
        /// seq (u64 BE) → chain hash (32) ‖ Merkle leaf hash (32).
        let hashes: Database
        /// event id (16) → seq (u64 BE) (‖ content digest (32), when format 4 wrote it): the id index's recent entries.
        let ids: Database
        /// The id index's runs: run number (u32 BE) → count ‖ filter; nil in a format-3 ledger opened read-only.
        let idRuns: Database?
        /// run number (u32 BE) ‖ event id (16) → seq (u64 BE) (‖ content digest (32), as in `ids`).
        let idRunEntries: Database?
        /// stream name (UTF-8) → stream number (u64 BE) ‖ version (u64 BE).
        let streams: Database
        /// stream number (u64 BE) ‖ version (u64 BE) → seq (u64 BE).
        let streamEvents: Database
        /// "head" → seq ‖ recordedAt ‖ stream count ‖ chain hash; "format" → format name.
        let meta: Database
    }

    /// The format this version writes and reads (docs/FORMAT.md). Version 2 moved personal
    /// data into sealed fields and the log's own transaction (docs/PRIVACY.md); version 3 splits the
    /// key-encryption key into 4,096 shard keys, so that an erasure re-seals one or two shards;
    /// version 4 adds the id index's runs (`id_runs`, `id_run_entries`); version 5 keeps no
    /// content digest in the id index's entries (new entries are the seq alone).
    public static let formatName = "escalation-ledger/5"
    /// The previous formats: format 4 differs only in its id entries' content digests, format 3
    /// also has no runs. Both are read as they are, and upgraded in place (the format entry
    /// rewritten, the runs' tables created) when opened writable.
    public static let upgradableFormats = ["escalation-ledger/4", "escalation-ledger/3"]

    /// Where the log stands.
    public struct Head: Sendable, Equatable {
        public var seq: UInt64
        public var recordedAt: Int64
        public var streams: UInt64
        public var hash: [UInt8]
        public static let empty = Head(seq: 0, recordedAt: 0, streams: 0, hash: [UInt8](repeating: 0, count: 32))
    }

    /// Opens the log in `environment` (creating its databases unless read-only).
    /// - Parameter clock: microseconds since the epoch; injectable for tests.
    public init(environment: Environment, clock: @escaping @Sendable () -> Int64 = EventLog.systemClock,
                idIndexPolicy: IdIndex.Policy = .standard) throws {
        self.environment = environment
        self.clock = clock
        let ro = environment.options.readOnly
        func open(_ name: String) throws -> Database { try environment.openDatabase(name) }
        if !ro {
            dbs = try environment.write { txn in
                // The format is checked before any table is created, so that a ledger of another
                // format is left exactly as it was.
                let meta = try txn.database("meta")
                let existing = try txn.get(meta, key: Array("format".utf8))
                if let existing { try EventLog.checkFormat(existing) }
                let d = Databases(events: try txn.database("events"), hashes: try txn.database("hashes"),
                                  ids: try txn.database("ids"), idRuns: try txn.database("id_runs"),
                                  idRunEntries: try txn.database("id_run_entries"), streams: try txn.database("streams"),
                                  streamEvents: try txn.database("stream_events"), meta: meta)
                if existing != Array(EventLog.formatName.utf8) {
                    try txn.put(d.meta, key: Array("format".utf8), value: Array(EventLog.formatName.utf8))
                }
                return d
            }
        } else {
            func openIfPresent(_ name: String) throws -> Database? {
                do { return try open(name) } catch let e as LMDBError where e.isNotFound { return nil }
            }
            let meta = try open("meta")
            if let existing = try environment.read({ try $0.get(meta, key: Array("format".utf8)) }) {
                try EventLog.checkFormat(existing)
            }
            dbs = Databases(events: try open("events"), hashes: try open("hashes"), ids: try open("ids"),
                            idRuns: try openIfPresent("id_runs"), idRunEntries: try openIfPresent("id_run_entries"),
                            streams: try open("streams"), streamEvents: try open("stream_events"), meta: meta)
        }
        idIndex = IdIndex(recent: dbs.ids, runs: dbs.idRuns, runEntries: dbs.idRunEntries, policy: idIndexPolicy)
        committer = GroupCommitter()
        committer.log = self
    }

    /// Opens (or creates) a log in directory `path`.
    public convenience init(path: String, options: Environment.Options = Environment.Options(),
                            clock: @escaping @Sendable () -> Int64 = EventLog.systemClock,
                            idIndexPolicy: IdIndex.Policy = .standard) throws {
        try self.init(environment: try Environment(path: path, options: options), clock: clock, idIndexPolicy: idIndexPolicy)
    }

    deinit { committer.stop() }

    /// Refuses a log of another format, saying what to do.
    static func checkFormat(_ stored: [UInt8]) throws {
        guard !stored.elementsEqual(formatName.utf8), !upgradableFormats.contains(where: { stored.elementsEqual($0.utf8) }) else { return }
        let found = String(decoding: stored.prefix(64), as: UTF8.self)
        throw LogError.badFormat("this ledger is in format \(found); this version reads only \(formatName) (and \(upgradableFormats.joined(separator: " and ")), which it upgrades). Nothing was changed. "
            + "Open it with the version that wrote it and export its events (ledger export), or start a new ledger "
            + "(format 1 kept personal data in a way that cannot be erased physically; format 2 sealed every customer "
            + "under one key-encryption key, so that each erasure re-sealed them all; see docs/PRIVACY.md)")
    }

    /// Wakes live readers when this process commits (see ``CommitSignal``).
    public var commitSignal: CommitSignal { committer.signal }

    /// The observer of whole append transactions (the ledger's personal-data store).
    public var commitObserver: (any CommitObserver)? { observer.value }

    /// Sets the observer of whole append transactions; call before the first append.
    public func setCommitObserver(_ o: any CommitObserver) { observer.set(o) }

    /// Wall-clock microseconds since the epoch.
    public static let systemClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    // MARK: Head

    static let headKey = Array("head".utf8)

    func readHead(_ txn: ReadTransaction) throws -> Head {
        guard let v = try headKeyGet(txn) else { return .empty }
        return Head(seq: BigEndianKey.uint64(v, at: 0), recordedAt: Int64(bitPattern: BigEndianKey.uint64(v, at: 8)),
                    streams: BigEndianKey.uint64(v, at: 16), hash: Array(v[24..<56]))
    }

    private func headKeyGet(_ txn: ReadTransaction) throws -> UnsafeRawBufferPointer? {
        try EventLog.headKey.withUnsafeBytes { try txn.get(dbs.meta, key: $0) }
    }

    func writeHead(_ head: Head, _ txn: WriteTransaction) throws {
        var v = [UInt8](); v.reserveCapacity(56)
        v += BigEndianKey.bytes(head.seq); v += BigEndianKey.bytes(UInt64(bitPattern: head.recordedAt))
        v += BigEndianKey.bytes(head.streams); v += head.hash
        try txn.put(dbs.meta, key: EventLog.headKey, value: v)
    }

    /// The last seq, its recordedAt and chain hash, and the number of streams.
    public func head() throws -> Head { try environment.read { try readHead($0) } }

    /// The head as seen by a transaction the caller holds (for projections reading in the same snapshot).
    public func head(in txn: ReadTransaction) throws -> Head { try readHead(txn) }

    // MARK: Reads

    /// Runs `body` over records `from...through` (inclusive) in seq order, in one snapshot;
    /// `body` returns false to stop early.
    public func scan(from: UInt64 = 1, through: UInt64 = .max,
                     in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        try txn.withCursor(dbs.events) { c in
            var entry = try c.seek(atLeast: max(from, 1))
            while let e = entry {
                guard let r = RecordView(e.value) else { throw LogError.corrupt(seq: BigEndianKey.uint64(e.key), "record layout") }
                if r.seq > through { return }
                if try !body(r) { return }
                entry = try c.next()
            }
        }
    }

    /// The records `through` down to `from`, last first (``scan(from:through:in:_:)`` backwards).
    public func scanBackwards(from: UInt64, through: UInt64,
                              in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.events) { c in
            var entry = try c.seek(atMost: through)
            while let e = entry {
                guard let r = RecordView(e.value) else { throw LogError.corrupt(seq: BigEndianKey.uint64(e.key), "record layout") }
                if r.seq < from { return }
                if try !body(r) { return }
                entry = try c.previous()
            }
        }
    }

    /// Owned copies of up to `limit` events from seq `from`, cut at `through`.
    public func events(from: UInt64 = 1, through: UInt64 = .max, limit: Int = .max) throws -> [RecordedEvent] {
        try environment.read { txn in
            var out: [RecordedEvent] = []
            try scan(from: from, through: through, in: txn) { r in
                out.append(r.copy(hash: try chainHash(r.seq, txn)))
                return out.count < limit
            }
            return out
        }
    }

    /// The event at `seq`, if any.
    public func event(seq: UInt64) throws -> RecordedEvent? {
        try environment.read { txn in
            guard let v = try txn.get(dbs.events, key: seq), let r = RecordView(v) else { return nil }
            return r.copy(hash: try chainHash(seq, txn))
        }
    }

    /// The chain hash stored for `seq`.
    public func chainHash(_ seq: UInt64, _ txn: ReadTransaction) throws -> [UInt8] {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return Array(h[0..<32])
    }

    /// The Merkle leaf hash (SHA-256(0x00 ‖ record)) stored for `seq`.
    public func leafHash(_ seq: UInt64, _ txn: ReadTransaction) throws -> [UInt8] {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return Array(h[32..<64])
    }

    /// The chain hash and the Merkle leaf hash stored for `seq`, in one look-up.
    public func hashes(_ seq: UInt64, _ txn: ReadTransaction) throws -> (chain: [UInt8], leaf: [UInt8]) {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return (Array(h[0..<32]), Array(h[32..<64]))
    }

    /// ``scan(from:through:in:_:)`` with each record's stored chain hash and leaf hash, read by a
    /// second cursor walking the hash table beside the first (a look-up of each seq searched
    /// the table from its root: a read path's most expensive LMDB call).
    /// - throws: ``LogError/corrupt(seq:_:)`` when a record has no hash entry.
    public func scanWithHashes(from: UInt64, through: UInt64, in txn: ReadTransaction,
                               _ body: (RecordView, _ chain: UnsafeRawBufferPointer, _ leaf: UnsafeRawBufferPointer) throws -> Bool) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.hashes) { h in
            var hash = try h.seek(atLeast: max(from, 1))
            try scan(from: from, through: through, in: txn) { r in
                guard let e = hash, e.value.count == 64, BigEndianKey.uint64(e.key) == r.seq else {
                    throw LogError.corrupt(seq: r.seq, "missing hash")
                }
                guard try body(r, UnsafeRawBufferPointer(rebasing: e.value[0..<32]), UnsafeRawBufferPointer(rebasing: e.value[32..<64]))
                else { return false }
                hash = try h.next()
                return true
            }
        }
    }

    /// Calls `body` with each stored (chain hash, leaf hash) pair for seqs `from...through`.
    public func scanHashes(from: UInt64, through: UInt64, in txn: ReadTransaction,
                           _ body: (UInt64, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.hashes) { c in
            var entry = try c.seek(atLeast: from)
            while let e = entry {
                let seq = BigEndianKey.uint64(e.key)
                if seq > through { return }
                guard e.value.count == 64 else { throw LogError.corrupt(seq: seq, "hash entry") }
                try body(seq, UnsafeRawBufferPointer(rebasing: e.value[0..<32]), UnsafeRawBufferPointer(rebasing: e.value[32..<64]))
                entry = try c.next()
            }
        }
    }

    /// A stream's current version (0 when it has no events).
    public func streamVersion(_ stream: String, in txn: ReadTransaction) throws -> UInt64 {
        guard let v = try Array(stream.utf8).withUnsafeBytes({ try txn.get(dbs.streams, key: $0) }) else { return 0 }
        return BigEndianKey.uint64(v, at: 8)
    }

    /// Reading direction in a stream.
    public enum Direction: Sendable { case forward, backward }

    /// Runs `body` over a stream's events in `direction`, starting at version `from`
    /// (forward: the first version >= from; backward: the last <= from), seeing only
    /// events with seq <= `asOf`. `body` returns false to stop.
    public func scanStream(_ stream: String, from: UInt64? = nil, direction: Direction = .forward,
                           asOf: UInt64 = .max, in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        guard let s = try Array(stream.utf8).withUnsafeBytes({ try txn.get(dbs.streams, key: $0) }) else { return }
        let number = BigEndianKey.uint64(s, at: 0)
        let start: UInt64 = from ?? (direction == .forward ? 1 : .max)
        let key = BigEndianKey.bytes(number) + BigEndianKey.bytes(start)
        try txn.withCursor(dbs.streamEvents) { c in
            var entry: Cursor.Entry? = try key.withUnsafeBytes { k in
                direction == .forward ? try c.seek(atLeast: k) : try c.seek(atMost: k)
            }
            while let e = entry, BigEndianKey.uint64(e.key, at: 0) == number {
                let seq = BigEndianKey.uint64(e.value)
                if seq <= asOf {
                    guard let v = try txn.get(dbs.events, key: seq), let r = RecordView(v) else { throw LogError.corrupt(seq: seq, "stream index points nowhere") }
                    if try !body(r) { return }
                } else if direction == .forward {
                    return // later versions have later seqs
                }
                entry = direction == .forward ? try c.next() : try c.previous()
            }
        }
    }

    /// Owned copies of a stream's events (see ``scanStream(_:from:direction:asOf:in:_:)``).
    public func stream(_ stream: String, from: UInt64? = nil, direction: Direction = .forward,
                       asOf: UInt64 = .max, limit: Int = .max) throws -> [RecordedEvent] {
        try environment.read { txn in
            var out: [RecordedEvent] = []
            try scanStream(stream, from: from, direction: direction, asOf: asOf, in: txn) { r in
                out.append(r.copy(hash: try chainHash(r.seq, txn)))
                return out.count < limit
            }
            return out
        }
    }

    /// The last seq whose recordedAt is <= `time` (0 if none): what the ledger knew then.
    /// recordedAt never decreases along seq, so this is a binary search.
    public func seq(asOfTime time: Int64, in txn: ReadTransaction) throws -> UInt64 {
        let head = try readHead(txn)
        var lo: UInt64 = 0, hi = head.seq  // invariant: recordedAt(lo) <= time (lo = 0 is "before all")
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2
            guard let v = try txn.get(dbs.events, key: mid), let r = RecordView(v) else { throw LogError.corrupt(seq: mid, "missing event") }
            if r.recordedAt <= time { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    public func seq(asOfTime time: Int64) throws -> UInt64 { try environment.read { try seq(asOfTime: time, in: $0) } }

    /// The `events` database (record bytes by seq), for code that hands records on as they are.
    public var eventsDatabase: Database { dbs.events }

    /// The seq of an event id, if the log holds it.
    public func seq(of id: RecordID, in txn: ReadTransaction) throws -> UInt64? {
        try id.withBytes { k in try idIndex.find(k, in: txn).map { BigEndianKey.uint64($0) } }
    }
}

/// Failures of the log itself (not refusals of an event).
public enum LogError: Error, Sendable, CustomStringConvertible, Equatable {
    case badFormat(String)
    case corrupt(seq: UInt64, String)
    case closed
    case streamNameTooLong(Int)
    /// The id index (`ids`, `id_runs`, `id_run_entries`) does not follow docs/FORMAT.md.
    case damagedIndex(String)

    public var description: String {
        switch self {
        case .badFormat(let m): return "not an escalation ledger: \(m)"
        case .corrupt(let seq, let m): return "log damaged at seq \(seq): \(m)"
        case .closed: return "the log is closed"
        case .streamNameTooLong(let n): return "stream name of \(n) bytes is longer than \(RecordLayout.maxStreamLength)"
        case .damagedIndex(let m): return "the id index is damaged: \(m)"
        }
    }
}

/// A lock-protected reference to the commit observer.
final class ObserverSlot: @unchecked Sendable {
    private let lock = NSLock()
    private weak var stored: (any CommitObserver)?
    var value: (any CommitObserver)? { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ o: any CommitObserver) { lock.lock(); stored = o; lock.unlock() }
}
