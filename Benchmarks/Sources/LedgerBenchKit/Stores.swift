import EventLog
import Foundation
import GRDB
import LMDB

/// The stores a workload compares.
public enum System: String, CaseIterable, Codable, Sendable {
    /// Our `EventLog` (hash chain, id index, stream index, group commit).
    case ours
    /// `mdb_put` with `MDB_APPEND` of the same record bytes keyed by big-endian seq: the physical limit.
    case rawLMDB = "raw-lmdb"
    /// SQLite through GRDB, WAL, an `events` table with the log's indexes.
    case sqlite
    /// PostgreSQL (a local server on a unix socket, started by tools/bench) through PostgresNIO,
    /// the same `events` table and indexes as the SQLite peer.
    case postgres

    public var title: String {
        switch self {
        case .ours: return "ours"
        case .rawLMDB: return "raw LMDB"
        case .sqlite: return "SQLite (GRDB)"
        case .postgres: return "PostgreSQL"
        }
    }

    /// The SQL peers (no raw-LMDB-style physical baseline among them).
    public var isSQL: Bool { self == .sqlite || self == .postgres }
}

/// What a commit promises, mapped onto each store.
public enum Durability: String, Codable, Sendable {
    /// ours `.relaxed` (MDB_NOSYNC), raw LMDB MDB_NOSYNC, SQLite synchronous=NORMAL (WAL),
    /// PostgreSQL synchronous_commit=off (fsync stays on: the WAL writer flushes in the background).
    case relaxed
    /// fsync at commit: ours `.durable`, raw LMDB default flags, SQLite synchronous=FULL,
    /// PostgreSQL synchronous_commit=on with fsync=on (the commit waits for its WAL flush).
    case durable

    var lmdb: Environment.Durability { self == .durable ? .durable : .relaxed }
    public var sqliteSynchronous: String { self == .durable ? "FULL" : "NORMAL" }
    public var postgresSynchronousCommit: String { self == .durable ? "on" : "off" }
}

/// A fresh directory for one store, removed with everything in it by ``remove()``.
public final class Scratch: @unchecked Sendable {
    public let path: String

    /// Creates `<base>/ledger-bench-<label>-XXXXXX`.
    public init(base: String, label: String) throws {
        var template = Array("\(base)/ledger-bench-\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot create a scratch directory under \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Bytes the files under it take on disk (allocated blocks, so sparse maps count as written).
    public func diskBytes() -> Int {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let name = walker.nextObject() as? String {
            var st = stat()
            if stat(file(name), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int(st.st_blocks) * 512 }
        }
        return total
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

// MARK: - ours

public enum OursStore {
    /// Opens a new log in `path`.
    public static func open(path: String, durability: Durability, mapSize: Int) throws -> EventLog {
        var options = Environment.Options()
        options.durability = durability.lmdb
        options.mapSize = mapSize
        return try EventLog(path: path, options: options)
    }
}

// MARK: - raw LMDB

/// One `events` database, written with `WriteTransaction.put(.append)` (mdb_put
/// with MDB_APPEND): no hashing, no other index.
public final class RawLMDBStore: @unchecked Sendable {
    public let environment: Environment
    public let events: LMDB.Database

    public init(path: String, durability: Durability, mapSize: Int) throws {
        var options = Environment.Options()
        options.durability = durability.lmdb
        options.mapSize = mapSize
        environment = try Environment(path: path, options: options)
        events = try environment.openDatabase("events")
    }

    /// Appends `records` under seqs `firstSeq...` in one write transaction.
    public func appendBatch(_ records: ArraySlice<[UInt8]>, firstSeq: UInt64) throws {
        try environment.write { txn in
            var seq = firstSeq
            for r in records {
                try r.withUnsafeBytes { v in
                    try BigEndianKey.with(seq) { k in try txn.put(events, key: k, value: v, flags: .append) }
                }
                seq += 1
            }
        }
    }

    /// Appends one record after the last key, in its own write transaction; returns its seq.
    @discardableResult
    public func appendOne(_ record: [UInt8]) throws -> UInt64 {
        try environment.write { txn in
            let last = try txn.withCursor(events) { c in try c.last().map { BigEndianKey.uint64($0.key) } } ?? 0
            try record.withUnsafeBytes { v in
                try BigEndianKey.with(last + 1) { k in try txn.put(events, key: k, value: v, flags: .append) }
            }
            return last + 1
        }
    }

    public func count() throws -> Int { try environment.read { try $0.count(events) } }
}

// MARK: - SQLite

/// One event as the SQLite peer stores it.
public struct SQLiteRow: Sendable {
    public var stream: String
    public var version: Int64
    public var id: Data
    public var payload: Data
}

/// SQLite through GRDB: a WAL database with
/// `events(seq INTEGER PRIMARY KEY, stream TEXT, version INTEGER, id BLOB, payload BLOB)`,
/// `UNIQUE(stream, version)` and an index on `id`.
public final class SQLiteStore: Sendable {
    public let pool: DatabasePool
    public static let insertSQL = "INSERT INTO events (stream, version, id, payload) VALUES (?, ?, ?, ?)"

    public init(path: String, durability: Durability) throws {
        pool = try DatabasePool(path: path)  // WAL
        // GRDB sets synchronous=NORMAL on the writer when it turns WAL on (after any
        // prepareDatabase hook), so set ours afterwards on the writer connection and check it.
        let synchronous = durability.sqliteSynchronous
        let level = try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        guard level == (durability == .durable ? 2 : 1) else {
            throw BenchError("SQLite synchronous is \(level.map(String.init) ?? "?"), expected \(synchronous)")
        }
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY,
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    id BLOB NOT NULL,
                    payload BLOB NOT NULL
                );
                CREATE UNIQUE INDEX events_stream_version ON events(stream, version);
                CREATE INDEX events_id ON events(id);
                """)
        }
        let mode = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        guard mode?.lowercased() == "wal" else { throw BenchError("SQLite journal_mode is \(mode ?? "?"), expected wal") }
    }

    /// Inserts `rows` in one transaction.
    public func appendBatch(_ rows: ArraySlice<SQLiteRow>) throws {
        try pool.write { db in
            let statement = try db.cachedStatement(sql: SQLiteStore.insertSQL)
            for r in rows {
                try statement.execute(arguments: [r.stream, r.version, r.id, r.payload])
            }
        }
    }

    /// Inserts one row in its own transaction (async: GRDB queues concurrent writers).
    public func appendOne(_ row: SQLiteRow) async throws {
        try await pool.write { db in
            try db.cachedStatement(sql: SQLiteStore.insertSQL).execute(arguments: [row.stream, row.version, row.id, row.payload])
        }
    }

    public func count() throws -> Int { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 } }
}
