import EventLog
import Foundation
import LedgerBenchKit
import PostgresNIO

/// Workload 2: append events that are ready in memory, in batches of B per
/// transaction, relaxed and durable.
///
/// - ours: `EventLog.appendSync(batch)` (records, chain and leaf hashes, id and
///   stream indexes, head; one commit per call).
/// - raw LMDB: `mdb_put(MDB_APPEND)` of the same record bytes keyed by
///   big-endian seq, one transaction per batch, same sync setting.
/// - SQLite: one GRDB write transaction per batch of INSERTs into the indexed
///   `events` table (WAL; synchronous NORMAL or FULL).
/// - PostgreSQL: one `INSERT ... SELECT FROM unnest(...)` per batch into the same
///   table and indexes (one statement, transaction and round trip per batch;
///   synchronous_commit off or on, fsync on). CPU: the client's plus its backend's.
///
/// The clock covers the appends only: opening the store, preparing drafts,
/// records or rows, and the checks afterwards are outside it.
enum BatchAppend {
    static let workload = Workload(
        id: "batch-append", number: 2, title: "Batched append of ready events",
        reportsCPU: true,
        cases: { config in
            var cases: [Case] = []
            for durability in config.durabilities {
                for size in config.batchSizes {
                    let label = "batch append, \(fmtCount(size))/txn, \(durability.rawValue)"
                    for system in config.systems {
                        cases.append(Case(row: label, system: system) { ctx in
                            try await measure(system, batchSize: size, durability: durability, ctx)
                        })
                    }
                }
            }
            return cases
        }
    )

    static func measure(_ system: System, batchSize: Int, durability: Durability, _ ctx: Context) async throws -> Sample {
        if system == .postgres { return try await postgres(batchSize: batchSize, durability: durability, ctx) }
        let corpus = ctx.corpus(count: ctx.config.batchEvents)
        let n = corpus.count
        let starts = Array(stride(from: 0, to: n, by: batchSize))
        let scratch = try ctx.scratch("\(system.rawValue)-batch")
        defer { scratch.remove() }
        var sample: Sample
        switch system {
        case .ours:
            let drafts = corpus.drafts
            let batches = starts.map { Array(drafts[$0..<min($0 + batchSize, n)]) }
            var reports: [AppendReport] = []
            reports.reserveCapacity(batches.count)
            do {
                let log = try OursStore.open(path: scratch.file("ours"), durability: durability, mapSize: ctx.config.mapSize)
                let meter = Meter.start()
                for b in batches { reports.append(try log.appendSync(b)) }
                let reading = meter.stop()
                let appended = reports.reduce(0) { $0 + $1.appended }
                let head = try log.head()
                guard appended == n, head.seq == UInt64(n) else {
                    throw BenchError("ours appended \(appended) of \(n) (head at \(head.seq))")
                }
                sample = Sample(events: n, reading)
                sample.extra["commits"] = Double(log.commitStatistics.commits)
            }  // the log (and its environment) closes here
        case .rawLMDB:
            let records = corpus.records
            do {
                let store = try RawLMDBStore(path: scratch.file("raw"), durability: durability, mapSize: ctx.config.mapSize)
                let meter = Meter.start()
                for s in starts { try store.appendBatch(records[s..<min(s + batchSize, n)], firstSeq: UInt64(s + 1)) }
                let reading = meter.stop()
                guard try store.count() == n else { throw BenchError("raw LMDB holds \(try store.count()) of \(n)") }
                sample = Sample(events: n, reading)
            }
        case .sqlite:
            let rows = corpus.rows
            do {
                let store = try SQLiteStore(path: scratch.file("events.sqlite"), durability: durability)
                let meter = Meter.start()
                for s in starts { try store.appendBatch(rows[s..<min(s + batchSize, n)]) }
                let reading = meter.stop()
                guard try store.count() == n else { throw BenchError("SQLite holds \(try store.count()) of \(n)") }
                sample = Sample(events: n, reading)
            }
        case .postgres:
            throw BenchError("unreachable")
        }
        sample.diskBytes = scratch.diskBytes()
        return sample
    }
}

extension BatchAppend {
    static func postgres(batchSize: Int, durability: Durability, _ ctx: Context) async throws -> Sample {
        guard let target = ctx.config.pg else { throw BenchError("no PostgreSQL server (--pg-socket)") }
        let rows = ctx.corpus(count: ctx.config.batchEvents).rows
        let n = rows.count
        let db = try await PostgresStore.create(target, label: "batch")
        do {
            let c = try await db.connect(durability: durability)
            let backend = try await PG.backendPID(c)
            let serverCPU0 = PG.cpuSeconds(pids: [backend])
            let meter = Meter.start()
            for s in stride(from: 0, to: n, by: batchSize) { try await PostgresStore.appendBatch(c, rows[s..<min(s + batchSize, n)]) }
            let reading = meter.stop()
            let serverCPU1 = PG.cpuSeconds(pids: [backend])
            let count = try await PostgresStore.count(c)
            try await c.close()
            guard count == n else { throw BenchError("PostgreSQL holds \(count) of \(n)") }
            var sample = Sample(events: n, reading)
            addServerCPU(&sample, serverCPU0, serverCPU1)
            sample.diskBytes = await db.diskBytes()
            await db.remove()
            return sample
        } catch {
            await db.remove()
            throw error
        }
    }
}

/// Adds the server backends' CPU over the timed section to the sample's (client) CPU.
func addServerCPU(_ sample: inout Sample, _ before: Double?, _ after: Double?) {
    guard let before, let after else { return }
    sample.extra["server_cpu_s"] = after - before
    sample.cpuSeconds = (sample.cpuSeconds ?? 0) + (after - before)
}
