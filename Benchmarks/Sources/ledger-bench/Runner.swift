import Foundation
import LedgerBenchKit

/// Ours, not NIOCore's `System` (PostgresNIO re-exports NIO).
typealias System = LedgerBenchKit.System

// MARK: - The registry

/// A workload of the benchmark issue, measured for some systems.
///
/// To add one (1. import of interchange lines, 4. projection rebuild,
/// 5. as-of view and scorecard latency, 6. export with Merkle root and bundle
/// verification): write an enum with a `static let workload = Workload(...)`
/// whose `cases` returns one ``Case`` per (table row, system), each measuring
/// ONE run in a fresh ``Scratch`` directory that it removes, and add it to
/// ``Workloads/all``. The runner repeats each case `--runs` times, interleaving
/// systems, and shows the median. Set `reportsPeakMemory` to show peak RSS in
/// the table; run with `--isolate` so that each measurement is a child process
/// whose ru_maxrss is the workload's alone (see ``Sample/peakRSSBytes``).
struct Workload: Sendable {
    /// Stable id for `--only` and for child processes, e.g. "batch-append".
    let id: String
    /// The issue's number for it (the table's first column).
    let number: Int
    let title: String
    var reportsPeakMemory = false
    /// Show CPU µs per event in the table (for CPU-bound rows).
    var reportsCPU = false
    /// Always run each measurement in a child process (its peak RSS is the case's alone).
    var isolated = false
    /// Runs per case (default `--runs`).
    var runs: (@Sendable (Config) -> Int)? = nil
    /// Untimed set-up in the parent before any case (prebuilt ledgers).
    var prepare: (@Sendable (Config) async throws -> Void)? = nil
    /// The cases of one run, in the order they run.
    let cases: @Sendable (Config) -> [Case]
    /// Rows computed from the measured ones (ratios); none by default.
    var derive: @Sendable (Config, [Row]) -> [Row] = { _, _ in [] }
}

enum Workloads {
    /// Every workload, in table order.
    static let all: [Workload] = [
        ImportLines.workload,
        BatchAppend.workload,
        DurableAppend.workload,
        Rebuild.workload,
        AsOfViews.workload,
        ExportBundle.workload,
    ]

    static func selected(_ config: Config) throws -> [Workload] {
        guard !config.only.isEmpty else { return all }
        let picked = all.filter { w in config.only.contains(w.id) || config.only.contains(String(w.number)) }
        guard !picked.isEmpty else {
            throw BenchError("--only \(config.only.joined(separator: ",")) matches no workload; have: \(all.map { "\($0.number) \($0.id)" }.joined(separator: ", "))")
        }
        return picked
    }
}

/// One row's measurement for one system: a run in a fresh store.
struct Case: Sendable {
    let row: String
    let system: System
    let measure: @Sendable (Context) async throws -> Sample

    func key(_ workload: Workload) -> String { "\(workload.id)|\(row)|\(system.rawValue)" }
}

/// What one run of a case measured.
struct Sample: Codable, Sendable {
    var events: Int
    var seconds: Double
    var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
    /// CPU time of the whole process over the timed section.
    var cpuSeconds: Double?
    /// Bytes handed to the kernel's write calls over the timed section.
    var writtenBytes: Int?
    var latencyP50Ns: UInt64?
    var latencyP99Ns: UInt64?
    /// The measuring process's peak RSS: the child's alone with `--isolate`,
    /// otherwise VmHWM since the case began (which includes the corpus).
    var peakRSSBytes: Int?
    /// On-disk size of the store when the run ended.
    var diskBytes: Int?
    /// Anything else worth keeping (commits, events per commit, ...).
    var extra: [String: Double] = [:]

    init(events: Int, seconds: Double) { self.events = events; self.seconds = seconds }

    init(events: Int, _ r: Meter.Reading) {
        self.events = events
        seconds = r.seconds
        cpuSeconds = r.cpuSeconds
        writtenBytes = r.writtenBytes
    }

    var cpuMicrosPerEvent: Double? { cpuSeconds.map { $0 * 1e6 / Double(max(events, 1)) } }
    var writtenBytesPerEvent: Double? { writtenBytes.map { Double($0) / Double(max(events, 1)) } }

    mutating func setLatencies(_ ns: [UInt64]) {
        guard !ns.isEmpty else { return }
        latencyP50Ns = Stats.percentile(ns, 50)
        latencyP99Ns = Stats.percentile(ns, 99)
    }
}

/// What cases share: the config and the corpora (built once per size, never timed).
final class Context: @unchecked Sendable {
    let config: Config
    private let lock = NSLock()
    private var corpora: [Int: Corpus] = [:]

    init(config: Config) { self.config = config }

    func corpus(count: Int) -> Corpus {
        lock.withLock {
            if let c = corpora[count] { return c }
            let start = Now.ns()
            let c = Corpus(source: CorpusSource.named(config.source)!, count: count, seed: config.seed)
            log(String(format: "corpus: %@ × %@, %.0f bytes of payload on average, built in %.1f s",
                       config.source, fmtCount(count), Double(c.payloadBytes) / Double(max(count, 1)),
                       Double(Now.ns() - start) / 1e9))
            corpora[count] = c
            return c
        }
    }

    func scratch(_ label: String) throws -> Scratch { try Scratch(base: config.scratchBase, label: label) }
}

// MARK: - Results

struct Cell: Codable, Sendable {
    var samples: [Sample] = []
    /// Medians over the runs.
    var eventsPerSecond: Double = .nan
    var latencyP50Ms: Double?
    var latencyP99Ms: Double?
    var peakRSSBytes: Int?
    var cpuMicrosPerEvent: Double?
    var writtenBytesPerEvent: Double?
    /// (max − min) / median of events/s over the runs.
    var spread: Double = 0
    /// For derived rows: a ratio instead of a rate.
    var ratio: Double?

    init(samples: [Sample]) {
        self.samples = samples
        let rates = samples.map(\.eventsPerSecond)
        eventsPerSecond = Stats.median(rates)
        if let lo = rates.min(), let hi = rates.max(), eventsPerSecond > 0 { spread = (hi - lo) / eventsPerSecond }
        let p50 = samples.compactMap(\.latencyP50Ns), p99 = samples.compactMap(\.latencyP99Ns)
        if !p50.isEmpty { latencyP50Ms = Stats.median(p50.map { Double($0) / 1e6 }) }
        if !p99.isEmpty { latencyP99Ms = Stats.median(p99.map { Double($0) / 1e6 }) }
        peakRSSBytes = samples.compactMap(\.peakRSSBytes).max()
        let cpu = samples.compactMap(\.cpuMicrosPerEvent), written = samples.compactMap(\.writtenBytesPerEvent)
        if !cpu.isEmpty { cpuMicrosPerEvent = Stats.median(cpu) }
        if !written.isEmpty { writtenBytesPerEvent = Stats.median(written) }
    }

    init(ratio: Double) { self.ratio = ratio }
}

struct Row: Codable, Sendable {
    var workload: Int
    var workloadID: String
    var label: String
    /// By ``System/rawValue``.
    var cells: [String: Cell]
    var showPeakMemory = false
    var showCPU = false
    var note: String?

    func cell(_ s: System) -> Cell? { cells[s.rawValue] }
}

// MARK: - Running

struct Runner {
    let config: Config
    let context: Context

    init(config: Config) {
        self.config = config
        context = Context(config: config)
    }

    func run(_ workloads: [Workload]) async throws -> [Row] {
        var rows: [Row] = []
        for w in workloads {
            let cases = w.cases(config)
            try await w.prepare?(config)
            let runs = w.runs?(config) ?? config.runs
            var samples: [String: [Sample]] = [:]
            for run in 1...runs {
                for c in cases {
                    let s = try await measure(c, of: w)
                    samples[c.key(w), default: []].append(s)
                    var line = "[\(w.number) \(w.id) run \(run)/\(runs)] \(c.row) · \(c.system.title): \(fmtRate(s.eventsPerSecond)) ev/s"
                    line += " (\(fmtCount(s.events)) events, \(String(format: "%.2f", s.seconds)) s"
                    if let p50 = s.latencyP50Ns, let p99 = s.latencyP99Ns { line += String(format: ", p50 %.2f ms, p99 %.2f ms", Double(p50) / 1e6, Double(p99) / 1e6) }
                    if let cpu = s.cpuMicrosPerEvent { line += String(format: ", CPU %.1f µs/event", cpu) }
                    if let wb = s.writtenBytesPerEvent { line += String(format: ", written %.0f B/event", wb) }
                    if let rss = s.peakRSSBytes, config.isolate || w.reportsPeakMemory { line += ", peak RSS \(fmtBytes(rss))" }
                    for (k, v) in s.extra.sorted(by: { $0.key < $1.key }) { line += ", \(k) \(v.rounded() == v ? fmtCount(Int(v)) : String(format: "%.1f", v))" }
                    log(line + ")")
                }
            }
            var measured: [Row] = []
            for c in cases {
                guard samples[c.key(w)] != nil else { continue }
                if let i = measured.firstIndex(where: { $0.label == c.row }) {
                    measured[i].cells[c.system.rawValue] = Cell(samples: samples[c.key(w)] ?? [])
                } else {
                    measured.append(Row(workload: w.number, workloadID: w.id, label: c.row,
                                        cells: [c.system.rawValue: Cell(samples: samples[c.key(w)] ?? [])],
                                        showPeakMemory: w.reportsPeakMemory, showCPU: w.reportsCPU))
                }
            }
            rows += measured + w.derive(config, measured)
        }
        return rows
    }

    private func measure(_ c: Case, of w: Workload) async throws -> Sample {
        guard config.isolate || w.isolated else {
            PeakMemory.reset()
            var s = try await c.measure(context)
            s.peakRSSBytes = PeakMemory.highWaterMarkBytes()
            return s
        }
        let out = config.scratchBase + "/ledger-bench-sample-\(getpid())-\(Now.ns()).json"
        defer { unlink(out) }
        var args = [ChildProcess.selfPath] + Array(CommandLine.arguments.dropFirst())
        args.removeAll { $0 == "--isolate" }
        args += ["--case", c.key(w), "--case-out", out]
        let result = try ChildProcess.run(args)
        guard result.status == 0 else { throw BenchError("child for \(c.key(w)) exited with \(result.status)") }
        var s = try JSONDecoder().decode(Sample.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        // The child's own VmHWM. wait4's ru_maxrss is not the child's alone on Linux: posix_spawn
        // shares the parent's address space until exec, and exec carries that mm's high-water
        // mark into the child's maxrss, so it is at least the parent's RSS at spawn time.
        s.peakRSSBytes = s.peakRSSBytes ?? result.peakRSSBytes
        return s
    }

    /// Child mode: one case, once.
    static func runChild(config: Config, key: String, out: String) async throws {
        let context = Context(config: config)
        for w in Workloads.all {
            if let c = w.cases(config).first(where: { $0.key(w) == key }) {
                var s = try await c.measure(context)
                s.peakRSSBytes = PeakMemory.highWaterMarkBytes()
                try JSONEncoder().encode(s).write(to: URL(fileURLWithPath: out))
                return
            }
        }
        throw BenchError("no case \(key)")
    }
}

/// Progress goes to stderr, so stdout holds only the table.
func log(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
