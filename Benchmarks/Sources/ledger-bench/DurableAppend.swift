import EventLog
import Foundation
import LedgerBenchKit
import PostgresNIO

/// Workload 3: durable single-event appends from W concurrent writers; each
/// append returns only once its event is on disk (fsync).
///
/// - ours: W tasks, each looping `try await log.append([draft])`; the log's
///   writer thread commits whatever is waiting together (group commit).
/// - raw LMDB: W threads, each running one write transaction + commit per
///   event (default flags: fsync at commit); they serialize on LMDB's writer lock.
/// - SQLite: W tasks, each running one GRDB `DatabasePool` write transaction
///   per event with synchronous=FULL (GRDB serializes writers).
/// - PostgreSQL: W tasks, each with its own connection (its own backend),
///   one INSERT per event in its own transaction, synchronous_commit=on, fsync
///   on (concurrent commits share WAL flushes: PostgreSQL's group commit).
///
/// Writer w appends events w, w+W, w+2W, ... of the corpus until it runs out
/// or `--durable-seconds` passed; events/s = appended / elapsed, latency is
/// per append call.
enum DurableAppend {
    static func label(_ writers: Int) -> String {
        "durable single-event appends, \(writers) writer\(writers == 1 ? "" : "s")"
    }

    static let workload = Workload(
        id: "durable-append", number: 3, title: "Durable single-event appends, concurrent writers",
        cases: { config in
            var cases: [Case] = []
            for w in config.writers {
                for system in config.systems {
                    cases.append(Case(row: label(w), system: system) { ctx in
                        switch system {
                        case .ours: return try await ours(writers: w, ctx)
                        case .rawLMDB: return try raw(writers: w, ctx)
                        case .sqlite: return try await sqlite(writers: w, ctx)
                        case .postgres: return try await postgres(writers: w, ctx)
                        }
                    })
                }
            }
            return cases
        },
        derive: { config, rows in
            // Scaling: the most writers ÷ one writer, per system.
            guard config.writers.contains(1), let most = config.writers.max(), most > 1,
                  let one = rows.first(where: { $0.label == label(1) }),
                  let many = rows.first(where: { $0.label == label(most) }) else { return [] }
            // Median of per-run ratios: run i's W-writer case ran seconds after its 1-writer
            // case, so pairing them cancels most of the drift in the disk's fsync latency.
            var cells: [String: Cell] = [:]
            for s in System.allCases {
                guard let a = one.cell(s)?.samples, let b = many.cell(s)?.samples, !a.isEmpty, a.count == b.count else { continue }
                let ratios = zip(a, b).compactMap { x, y in x.eventsPerSecond > 0 ? y.eventsPerSecond / x.eventsPerSecond : nil }
                if !ratios.isEmpty { cells[s.rawValue] = Cell(ratio: Stats.median(ratios)) }
            }
            return [Row(workload: 3, workloadID: "durable-append", label: "scaling: \(most) writers ÷ 1 writer (events/s)",
                        cells: cells, note: "target for ours: ≥ 20×")]
        }
    )

    static func deadline(_ ctx: Context) -> UInt64 { Now.ns() + UInt64(ctx.config.durableSeconds * 1e9) }

    static func ours(writers: Int, _ ctx: Context) async throws -> Sample {
        let drafts = ctx.corpus(count: ctx.config.durableEvents).drafts
        let scratch = try ctx.scratch("ours-durable")
        defer { scratch.remove() }
        var sample: Sample
        do {
            let log = try OursStore.open(path: scratch.file("ours"), durability: .durable, mapSize: ctx.config.mapSize)
            let end = deadline(ctx)
            let meter = Meter.start()
            let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var lat: [UInt64] = []
                        var i = w
                        while i < drafts.count, Now.ns() < end {
                            let s = Now.ns()
                            let report = try await log.append([drafts[i]])
                            lat.append(Now.ns() - s)
                            guard report.appended == 1 else { throw BenchError("ours: draft \(i) not appended: \(report.outcomes)") }
                            i += writers
                        }
                        return lat
                    }
                }
                var all: [UInt64] = []
                for try await l in group { all += l }
                return all
            }
            let reading = meter.stop()
            let head = try log.head()
            guard head.seq == UInt64(latencies.count) else { throw BenchError("ours: head at \(head.seq), appended \(latencies.count)") }
            sample = Sample(events: latencies.count, reading)
            sample.setLatencies(latencies)
            let stats = log.commitStatistics
            sample.extra["commits"] = Double(stats.commits)
            sample.extra["events/commit"] = Double(latencies.count) / Double(max(stats.commits, 1))
        }
        sample.diskBytes = scratch.diskBytes()
        return sample
    }

    static func raw(writers: Int, _ ctx: Context) throws -> Sample {
        let records = ctx.corpus(count: ctx.config.durableEvents).records
        let scratch = try ctx.scratch("raw-durable")
        defer { scratch.remove() }
        var sample: Sample
        do {
            let store = try RawLMDBStore(path: scratch.file("raw"), durability: .durable, mapSize: ctx.config.mapSize)
            let collector = Collector()
            let group = DispatchGroup()
            let end = deadline(ctx)
            let meter = Meter.start()
            for w in 0..<writers {
                group.enter()
                let thread = Thread {
                    defer { group.leave() }
                    var lat: [UInt64] = []
                    var i = w
                    while i < records.count, Now.ns() < end {
                        let s = Now.ns()
                        do { try store.appendOne(records[i]) } catch { collector.fail(error); break }
                        lat.append(Now.ns() - s)
                        i += writers
                    }
                    collector.add(lat)
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.wait()
            let reading = meter.stop()
            let (latencies, error) = collector.result
            if let error { throw error }
            guard try store.count() == latencies.count else { throw BenchError("raw LMDB holds \(try store.count()), appended \(latencies.count)") }
            sample = Sample(events: latencies.count, reading)
            sample.setLatencies(latencies)
        }
        sample.diskBytes = scratch.diskBytes()
        return sample
    }

    static func sqlite(writers: Int, _ ctx: Context) async throws -> Sample {
        let rows = ctx.corpus(count: ctx.config.durableEvents).rows
        let scratch = try ctx.scratch("sqlite-durable")
        defer { scratch.remove() }
        var sample: Sample
        do {
            let store = try SQLiteStore(path: scratch.file("events.sqlite"), durability: .durable)
            let end = deadline(ctx)
            let meter = Meter.start()
            let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var lat: [UInt64] = []
                        var i = w
                        while i < rows.count, Now.ns() < end {
                            let s = Now.ns()
                            try await store.appendOne(rows[i])
                            lat.append(Now.ns() - s)
                            i += writers
                        }
                        return lat
                    }
                }
                var all: [UInt64] = []
                for try await l in group { all += l }
                return all
            }
            let reading = meter.stop()
            guard try store.count() == latencies.count else { throw BenchError("SQLite holds \(try store.count()), appended \(latencies.count)") }
            sample = Sample(events: latencies.count, reading)
            sample.setLatencies(latencies)
        }
        sample.diskBytes = scratch.diskBytes()
        return sample
    }
}

extension DurableAppend {
    static func postgres(writers: Int, _ ctx: Context) async throws -> Sample {
        guard let target = ctx.config.pg else { throw BenchError("no PostgreSQL server (--pg-socket)") }
        let rows = ctx.corpus(count: ctx.config.durableEvents).rows
        let db = try await PostgresStore.create(target, label: "durable")
        var connections: [PostgresConnection] = []
        do {
            for _ in 0..<writers { connections.append(try await db.connect(durability: .durable)) }
            var backends: [Int32] = []
            for c in connections { backends.append(try await PG.backendPID(c)) }
            let serverCPU0 = PG.cpuSeconds(pids: backends)
            let end = deadline(ctx)
            let meter = Meter.start()
            let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for (w, c) in connections.enumerated() {
                    group.addTask {
                        var lat: [UInt64] = []
                        var i = w
                        while i < rows.count, Now.ns() < end {
                            let s = Now.ns()
                            try await PostgresStore.appendOne(c, rows[i])
                            lat.append(Now.ns() - s)
                            i += writers
                        }
                        return lat
                    }
                }
                var all: [UInt64] = []
                for try await l in group { all += l }
                return all
            }
            let reading = meter.stop()
            let serverCPU1 = PG.cpuSeconds(pids: backends)
            let count = try await PostgresStore.count(connections[0])
            for c in connections { try? await c.close() }
            connections = []
            guard count == latencies.count else { throw BenchError("PostgreSQL holds \(count), appended \(latencies.count)") }
            var sample = Sample(events: latencies.count, reading)
            sample.setLatencies(latencies)
            addServerCPU(&sample, serverCPU0, serverCPU1)
            sample.diskBytes = await db.diskBytes()
            await db.remove()
            return sample
        } catch {
            for c in connections { try? await c.close() }
            await db.remove()
            throw error
        }
    }
}

/// Latencies and the first error from writer threads.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [UInt64] = []
    private var error: (any Error)?

    func add(_ l: [UInt64]) { lock.withLock { latencies += l } }
    func fail(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
    var result: ([UInt64], (any Error)?) { lock.withLock { (latencies, error) } }
}
