// ordo-one/benchmark suite for appends: percentiles of a batch's wall clock and
// throughput, malloc counts and peak memory, for ours and the two baselines.
//
//   cd Benchmarks && swift package benchmark --target LogAppend
//   tools/bench --ordo
//
// Each iteration appends the next 1,000 ready events of one deterministic
// corpus (relaxed durability), to a store that the benchmark's setup opens in
// a fresh scratch directory and its teardown deletes. ledger-bench (the table
// in BENCHMARKS.md) covers the other sizes, durable commits and concurrency.
import Benchmark
import EventLog
import Foundation
import LedgerBenchKit

private let batch = 1_000
private let iterations = 100

/// Built on first use, not at registration (the suite binary is also run to list benchmarks).
private let corpus = LazyCorpus(count: batch * (iterations + 10))

private final class LazyCorpus: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var value: Corpus?
    init(count: Int) { self.count = count }
    var get: Corpus {
        lock.withLock {
            if let value { return value }
            let c = Corpus(source: .syntheticJSON, count: count, seed: 20_260_301)
            value = c
            return c
        }
    }
}

/// One benchmark's store and where it stands in the corpus.
private final class Store: @unchecked Sendable {
    var scratch: Scratch?
    var log: EventLog?
    var raw: RawLMDBStore?
    var sqlite: SQLiteStore?
    var next = 0

    /// The next batch's range (wrapping only if the framework ran more iterations than planned).
    func take(_ n: Int, of total: Int) -> Range<Int> {
        if next + n > total { next = 0 }
        defer { next += n }
        return next..<next + n
    }

    func close() {
        log = nil; raw = nil; sqlite = nil
        scratch?.remove()
        scratch = nil
        next = 0
    }
}

private func base() -> String { ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp" }

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: iterations
    )

    let ours = Store()
    Benchmark("ours: appendSync, 1,000 events/txn, relaxed", configuration: configuration) { benchmark in
        let c = corpus.get
        let drafts = Array(c.drafts[ours.take(batch, of: c.count)])
        benchmark.startMeasurement()
        let report = try ours.log!.appendSync(drafts)
        benchmark.stopMeasurement()
        blackHole(report)
    } setup: {
        _ = corpus.get
        let s = try Scratch(base: base(), label: "ordo-ours")
        ours.scratch = s
        ours.log = try OursStore.open(path: s.file("ours"), durability: .relaxed, mapSize: 4 << 30)
    } teardown: {
        ours.close()
    }

    let raw = Store()
    Benchmark("raw LMDB: put MDB_APPEND, 1,000 records/txn, relaxed", configuration: configuration) { benchmark in
        let c = corpus.get
        let range = raw.take(batch, of: c.count)
        let records = c.records[range]
        // Keys follow on across wrap-arounds: seq = events appended so far + 1.
        let firstSeq = UInt64(try raw.raw!.count() + 1)
        benchmark.startMeasurement()
        try raw.raw!.appendBatch(records, firstSeq: firstSeq)
        benchmark.stopMeasurement()
    } setup: {
        _ = corpus.get.records
        let s = try Scratch(base: base(), label: "ordo-raw")
        raw.scratch = s
        raw.raw = try RawLMDBStore(path: s.file("raw"), durability: .relaxed, mapSize: 4 << 30)
    } teardown: {
        raw.close()
    }

    let sqlite = Store()
    Benchmark("SQLite (GRDB): INSERT, 1,000 rows/txn, synchronous=NORMAL", configuration: configuration) { benchmark in
        let c = corpus.get
        let range = sqlite.take(batch, of: c.count)
        if range.lowerBound == 0, try sqlite.sqlite!.count() > 0 {
            // Wrapped around: the (stream, version) pairs would repeat; start an empty table.
            try sqlite.sqlite!.pool.write { db in try db.execute(sql: "DELETE FROM events") }
        }
        let rows = c.rows[range]
        benchmark.startMeasurement()
        try sqlite.sqlite!.appendBatch(rows)
        benchmark.stopMeasurement()
    } setup: {
        _ = corpus.get.rows
        let s = try Scratch(base: base(), label: "ordo-sqlite")
        sqlite.scratch = s
        sqlite.sqlite = try SQLiteStore(path: s.file("events.sqlite"), durability: .relaxed)
    } teardown: {
        sqlite.close()
    }

    // One event per call: the fixed cost of an append (writer-thread hand-off, commit).
    let single = Store()
    Benchmark(
        "ours: appendSync, 1 event/txn, relaxed",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                             warmupIterations: 10, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 20_000)
    ) { benchmark in
        let c = corpus.get
        let draft = c.drafts[single.take(1, of: c.count).lowerBound]
        benchmark.startMeasurement()
        let report = try single.log!.appendSync([draft])
        benchmark.stopMeasurement()
        blackHole(report)
    } setup: {
        _ = corpus.get.drafts
        let s = try Scratch(base: base(), label: "ordo-single")
        single.scratch = s
        single.log = try OursStore.open(path: s.file("ours"), durability: .relaxed, mapSize: 4 << 30)
    } teardown: {
        single.close()
    }
}
