import Foundation
import GRDB
import Ledger
import LedgerBenchKit
import Simulation

// Shared by workloads 1, 4, 5 and 6: simulated interchange lines, the SQLite import peer,
// and the cache of prebuilt ledgers (ours and SQLite, built once per seed and size and
// reused across runs and across `tools/bench` invocations).

/// "100k", "1M", "10M".
func fmtSize(_ n: Int) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000)M" }
    if n >= 1_000 && n % 1_000 == 0 { return "\(n / 1_000)k" }
    return fmtCount(n)
}

enum Lines {
    /// The first `count` interchange lines of the seeded simulation (≈ 4.4 lines per call;
    /// the last call may be cut short). Same bytes for every system.
    static func sequence(count: Int, seed: UInt64) -> Swift.PrefixSequence<Simulator> {
        Simulator(seed: seed, calls: count / 4 + 16).prefix(count)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var held: [Int: [[UInt8]]] = [:]

    /// The lines held in memory (generated once per size, never timed).
    static func inMemory(count: Int, seed: UInt64) -> [[UInt8]] {
        lock.withLock {
            if let l = held[count] { return l }
            let start = Now.ns()
            var lines: [[UInt8]] = []
            lines.reserveCapacity(count)
            for l in sequence(count: count, seed: seed) { lines.append(l) }
            precondition(lines.count == count, "the simulator gave \(lines.count) lines, wanted \(count)")
            let bytes = lines.reduce(0) { $0 + $1.count }
            log(String(format: "lines: %@ simulated interchange lines (seed %llu), %.0f B on average, generated in %.1f s",
                       fmtCount(count), seed, Double(bytes) / Double(count), Double(Now.ns() - start) / 1e9))
            held[count] = lines
            return lines
        }
    }
}

// MARK: - SQLite import peer

/// The SQLite peer of `importLines`: each line is parsed with JSONSerialization and checked
/// for its required fields (id, type, at), then inserted into `events` (id unique: a repeated id
/// is skipped, as ours skips duplicates; version = the stream's next version, read from the
/// (stream, version) index as ours reads its stream head) and upserted into `tickets` (one row
/// per ticket: first and last seq, event count, last type and time). One write transaction per
/// batch. WAL; synchronous FULL when durable (fsync of the WAL at each commit, what ours' durable
/// import does), NORMAL when relaxed (used only to build the cache).
final class SQLiteLedger: @unchecked Sendable {
    let pool: DatabasePool

    init(path: String, durability: Durability, create: Bool = true) throws {
        pool = try DatabasePool(path: path)
        let synchronous = durability.sqliteSynchronous
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        guard create else { return }
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS events (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    at TEXT NOT NULL,
                    actor TEXT,
                    ticket TEXT,
                    payload BLOB NOT NULL
                );
                CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id);
                CREATE UNIQUE INDEX IF NOT EXISTS events_stream_version ON events(stream, version);
                CREATE INDEX IF NOT EXISTS events_actor ON events(actor);
                CREATE TABLE IF NOT EXISTS tickets (
                    ticket TEXT PRIMARY KEY,
                    first_seq INTEGER NOT NULL,
                    last_seq INTEGER NOT NULL,
                    events INTEGER NOT NULL,
                    last_type TEXT NOT NULL,
                    last_at TEXT NOT NULL
                );
                """)
        }
    }

    struct Tally { var appended = 0, duplicates = 0, refused = 0 }

    /// Parses and inserts `lines` in one transaction.
    func importBatch(_ lines: ArraySlice<[UInt8]>, into tally: inout Tally) throws {
        var t = tally
        try pool.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO events (id, stream, version, type, at, actor, ticket, payload)
                VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = ?2), ?3, ?4, ?5, ?6, ?7)
                """)
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO tickets (ticket, first_seq, last_seq, events, last_type, last_at) VALUES (?1, ?2, ?2, 1, ?3, ?4)
                ON CONFLICT(ticket) DO UPDATE SET last_seq = excluded.last_seq, events = events + 1,
                    last_type = excluded.last_type, last_at = excluded.last_at
                """)
            for line in lines {
                let data = Data(line)
                guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let id = object["id"] as? String, let type = object["type"] as? String, let at = object["at"] as? String
                else { t.refused += 1; continue }
                let actor = object["actor"] as? String
                let ticket = object["ticket"] as? String
                let stream: String
                if let ticket { stream = "ticket:" + ticket }
                else if let staff = object["staff"] as? String { stream = "staff:" + staff }
                else { stream = "ledger" }
                try insert.execute(arguments: [id, stream, type, at, actor, ticket, data])
                guard db.changesCount == 1 else { t.duplicates += 1; continue }
                t.appended += 1
                if let ticket { try upsert.execute(arguments: [ticket, db.lastInsertedRowID, type, at]) }
            }
        }
        tally = t
    }

    func count() throws -> Int { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 } }
}

// MARK: - Prebuilt ledgers

/// Ledgers built once per (seed, lines) under `--cache` and reused: ours (`ledger/`, projections
/// caught up) and SQLite (`events.sqlite`, the import peer's schema). Built with relaxed
/// durability (untimed); workloads 4 and 6 modify them a little (a rebuild swaps projection
/// generations; each export appends one `exportMade` event).
enum LedgerCache {
    struct Built { var ledgerPath: String; var sqlitePath: String }

    static func directory(_ config: Config, lines: Int) -> String {
        config.cacheDir + "/seed-\(config.seed)-lines-\(lines)"
    }

    /// Builds what is missing (call in the parent before child processes start); the SQLite
    /// copy only when SQLite is among `--systems`.
    @discardableResult
    static func ensure(_ config: Config, lines: Int) throws -> Built {
        let dir = directory(config, lines: lines)
        let built = Built(ledgerPath: dir + "/ledger", sqlitePath: dir + "/events.sqlite")
        let fm = FileManager.default
        let oursReady = dir + "/ours.ready", sqliteReady = dir + "/sqlite.ready"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if !fm.fileExists(atPath: oursReady) {
            try? fm.removeItem(atPath: built.ledgerPath)
            let start = Now.ns()
            log("cache: building ours, \(fmtCount(lines)) lines, in \(built.ledgerPath) (once; reused later)")
            var options = Ledger.Options()
            options.durability = .relaxed
            options.mapSize = 1 << 30
            do {
                let ledger = try Ledger.open(at: built.ledgerPath, options: options)
                let report = try ledger.importLines(Lines.sequence(count: lines, seed: config.seed), batchSize: 8192) { n in
                    if n % 1_048_576 < 8192 { log("cache: ours \(fmtCount(n)) lines") }
                }
                _ = try ledger.projector.catchUp()
                try ledger.log.environment.sync()
                log(String(format: "cache: ours %@ appended, %@ duplicates, %@ refused, in %.0f s", fmtCount(report.appended),
                           fmtCount(report.duplicates), fmtCount(report.refused.count), Double(Now.ns() - start) / 1e9))
            }
            try Data().write(to: URL(fileURLWithPath: oursReady))
        }
        if config.systems.contains(.sqlite), !fm.fileExists(atPath: sqliteReady) {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: built.sqlitePath + suffix) }
            let start = Now.ns()
            log("cache: building SQLite, \(fmtCount(lines)) lines, in \(built.sqlitePath)")
            do {
                let db = try SQLiteLedger(path: built.sqlitePath, durability: .relaxed)
                var tally = SQLiteLedger.Tally()
                var batch: [[UInt8]] = []
                batch.reserveCapacity(8192)
                for line in Lines.sequence(count: lines, seed: config.seed) {
                    batch.append(line)
                    if batch.count == 8192 { try db.importBatch(batch[...], into: &tally); batch.removeAll(keepingCapacity: true) }
                }
                try db.importBatch(batch[...], into: &tally)
                try db.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                log(String(format: "cache: SQLite %@ rows in %.0f s", fmtCount(tally.appended), Double(Now.ns() - start) / 1e9))
            }
            try Data().write(to: URL(fileURLWithPath: sqliteReady))
        }
        return built
    }
}

/// A small deterministic generator (SplitMix64) for picking tickets and points.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
