import Foundation
import GRDB
import Ledger
import LedgerBenchKit
import PostgresNIO
import Simulation

// Shared by workloads 1, 4, 5 and 6: simulated interchange lines and the cache of prebuilt
// ledgers (ours and SQLite, built once per seed and size and reused across runs and across
// `tools/bench` invocations; PostgreSQL's once per server).

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

// The SQL import peers (SQLiteLedger, PostgresLedger) are in SQLPeers.swift.

// MARK: - Prebuilt ledgers

/// Ledgers built once per (seed, lines) under `--cache` and reused: ours (`ledger/`, projections
/// caught up) and SQLite (`events-v2.sqlite`, the import peer's schema with its tickets, callbacks,
/// staff and scorecards projections; the cross-check against ours' scorecards is logged once,
/// when it is built). PostgreSQL's copy lives in the server (``ensurePostgres(_:lines:)``). Built with relaxed
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
        let built = Built(ledgerPath: dir + "/ledger", sqlitePath: dir + "/events-v2.sqlite")
        let fm = FileManager.default
        let oursReady = dir + "/ours.ready", sqliteReady = dir + "/sqlite-v2.ready"
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
                // The lines ours' rules refused, for the SQL peers' cross-check (they check only id, type, at).
                try report.refused.map { String($0.line) }.joined(separator: "\n").write(toFile: dir + "/ours-refused.txt", atomically: true, encoding: .utf8)
            }
            try Data().write(to: URL(fileURLWithPath: oursReady))
        }
        if config.systems.contains(.sqlite), !fm.fileExists(atPath: sqliteReady) {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: built.sqlitePath + suffix) }
            let start = Now.ns()
            log("cache: building SQLite, \(fmtCount(lines)) lines, in \(built.sqlitePath)")
            do {
                let db = try SQLiteLedger(path: built.sqlitePath, durability: .relaxed)
                var tally = ImportTally()
                var batch: [[UInt8]] = []
                batch.reserveCapacity(8192)
                for line in Lines.sequence(count: lines, seed: config.seed) {
                    batch.append(line)
                    if batch.count == 8192 { try db.importBatch(batch[...], into: &tally); batch.removeAll(keepingCapacity: true) }
                }
                try db.importBatch(batch[...], into: &tally)
                try db.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                log(String(format: "cache: SQLite %@ rows in %.0f s", fmtCount(tally.appended), Double(Now.ns() - start) / 1e9))
                try crossCheck("SQLite", try db.scoreTotals(), ledgerPath: built.ledgerPath)
            }
            try crossCheckAccepted(config, lines: lines, dir: dir, ledgerPath: built.ledgerPath)
            try Data().write(to: URL(fileURLWithPath: sqliteReady))
        }
        return built
    }
}

extension LedgerCache {
    /// The PostgreSQL copy of a prebuilt ledger: database `ledger_s<seed>_l<lines>` in the server
    /// tools/bench started (a throwaway cluster: built once per server, reused by the workloads
    /// and their child processes). Built with synchronous_commit off (untimed).
    static func ensurePostgres(_ config: Config, lines: Int) async throws -> PGDatabase {
        guard let target = config.pg else { throw BenchError("no PostgreSQL server (--pg-socket)") }
        try ensure(config, lines: lines)  // ours, for the cross-check and the queries
        let db = PGDatabase.named(target, "ledger_s\(config.seed)_l\(lines)")
        if try await db.exists() {
            let ready = try await db.with { c in
                try await PG.int(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'ready'") == 1
            }
            if ready { return db }
        }
        let start = Now.ns()
        log("cache: building PostgreSQL, \(fmtCount(lines)) lines, in database \(db.name)")
        try await db.admin { c in
            try await PG.exec(c, "DROP DATABASE IF EXISTS \(db.name) WITH (FORCE)")
            try await PG.exec(c, "CREATE DATABASE \(db.name)")
        }
        let totals = try await db.with(durability: .relaxed) { c in
            try await PostgresLedger.create(c)
            var tally = ImportTally()
            var batch: [[UInt8]] = []
            batch.reserveCapacity(8192)
            for line in Lines.sequence(count: lines, seed: config.seed) {
                batch.append(line)
                if batch.count == 8192 { try await PostgresLedger.importBatch(c, batch[...], into: &tally); batch.removeAll(keepingCapacity: true) }
            }
            try await PostgresLedger.importBatch(c, batch[...], into: &tally)
            try await PG.exec(c, "VACUUM ANALYZE")
            try await PG.exec(c, "CHECKPOINT")
            log(String(format: "cache: PostgreSQL %@ rows in %.0f s", fmtCount(tally.appended), Double(Now.ns() - start) / 1e9))
            return try await PostgresLedger.scoreTotals(c)
        }
        try crossCheck("PostgreSQL", totals, ledgerPath: directory(config, lines: lines) + "/ledger")
        try await db.with { c in try await PG.exec(c, "CREATE TABLE ready ()") }
        return db
    }

    /// The same cross-check on a scratch SQLite peer fed only the lines ours accepted (untimed,
    /// once per cache): separates "the peer counts differently" from "ours refused those lines".
    static func crossCheckAccepted(_ config: Config, lines: Int, dir: String, ledgerPath: String) throws {
        guard let text = try? String(contentsOfFile: dir + "/ours-refused.txt", encoding: .utf8) else { return }
        let refused = Set(text.split(separator: "\n").compactMap { Int($0) })
        let scratch = try Scratch(base: config.scratchBase, label: "crosscheck")
        defer { scratch.remove() }
        let db = try SQLiteLedger(path: scratch.file("accepted.sqlite"), durability: .relaxed)
        var tally = ImportTally()
        var batch: [[UInt8]] = []
        for (i, line) in Lines.sequence(count: lines, seed: config.seed).enumerated() where !refused.contains(i + 1) {
            batch.append(line)
            if batch.count == 8192 { try db.importBatch(batch[...], into: &tally); batch.removeAll(keepingCapacity: true) }
        }
        try db.importBatch(batch[...], into: &tally)
        try crossCheck("SQLite fed only the \(fmtCount(lines - refused.count)) lines ours accepted", try db.scoreTotals(), ledgerPath: ledgerPath)
    }

    /// Logs each scorecard counter summed over all staff, ours against a SQL peer (untimed): how
    /// far the peer's projection counts what ours counts.
    static func crossCheck(_ peer: String, _ totals: [Int], ledgerPath: String) throws {
        var options = Ledger.Options()
        options.mapSize = 1 << 30
        let ledger = try Ledger.open(at: ledgerPath, options: options)
        let point = try ledger.point(asOf: .seq(try ledger.log.head().seq), now: nil)
        let cards = try ledger.withProjections(at: point) { try $0.scorecards(clock: point.clock) }
        var ours = [Int](repeating: 0, count: ScoreColumn.allCases.count)
        for card in cards {
            let c = card.counters
            let values = [c.callsOpened, c.escalationRequests, c.ticketsWithRequest, c.deEscalationAttempts, c.deEscalated,
                          c.transfersOut, c.compliantTransfers, c.callbacksOwed, c.callbacksOnTime, c.callbacksLate,
                          c.requestsDeclined, c.feedbackReceived, c.sanctionsReceived, c.debriefs, c.supervisorLoad]
            for i in values.indices { ours[i] += values[i] }
        }
        var same: [String] = [], differ: [String] = []
        for (i, col) in ScoreColumn.allCases.enumerated() {
            let theirs = i < totals.count ? totals[i] : -1
            if theirs == ours[i] { same.append(col.field) } else { differ.append("\(col.field) ours \(ours[i]) vs \(theirs)") }
        }
        log("cache: scorecard cross-check, \(peer) vs ours over \(cards.count) staff: \(same.count) of \(ours.count) counters equal"
            + (differ.isEmpty ? "" : "; differ: " + differ.joined(separator: ", ")))
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
