import Foundation
import LedgerBenchKit

func fmtCount(_ n: Int) -> String {
    let s = String(n.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

func fmtRate(_ r: Double) -> String {
    guard r.isFinite else { return "—" }
    return r >= 100 ? fmtCount(Int(r.rounded())) : String(format: "%.1f", r)
}

func fmtBytes(_ b: Int) -> String {
    let d = Double(b)
    if d >= 1_073_741_824 { return String(format: "%.2f GiB", d / 1_073_741_824) }
    if d >= 1_048_576 { return String(format: "%.1f MiB", d / 1_048_576) }
    return String(format: "%.0f KiB", d / 1024)
}

func fmtMs(_ ms: Double) -> String {
    ms >= 100 ? String(format: "%.0f", ms) : ms >= 10 ? String(format: "%.1f", ms) : String(format: "%.2f", ms)
}

enum Report {
    static func cellText(_ c: Cell?, peak: Bool, cpu: Bool) -> String {
        guard let c else { return "—" }
        if let r = c.ratio { return String(format: "%.1f×", r) }
        var s = fmtRate(c.eventsPerSecond)
        if cpu, let us = c.cpuMicrosPerEvent { s += String(format: " (CPU %.1f µs/ev)", us) }
        if let p50 = c.latencyP50Ms, let p99 = c.latencyP99Ms { s += " (p50 \(fmtMs(p50)) / p99 \(fmtMs(p99)) ms)" }
        if peak, let rss = c.peakRSSBytes { s += " · peak \(fmtBytes(rss))" }
        return s
    }

    static func ratioText(_ a: Cell?, _ b: Cell?) -> String {
        guard let a, let b, a.ratio == nil, b.ratio == nil, b.eventsPerSecond > 0 else { return "—" }
        return String(format: "%.2f", a.eventsPerSecond / b.eventsPerSecond)
    }

    /// The one table: a row per workload case, a column per system, the ratios, the noise.
    static func markdown(rows: [Row], config: Config) -> String {
        let systems = System.allCases.filter { config.systems.contains($0) }
        var header = ["#", "workload (events/s, lines/s or lookups/s; latency per call)"] + systems.map(\.title)
        let ratios: [(System, String)] = [(.rawLMDB, "ours ÷ raw"), (.sqlite, "ours ÷ SQLite"), (.postgres, "ours ÷ PostgreSQL")]
            .filter { systems.contains(.ours) && systems.contains($0.0) }
        header += ratios.map(\.1) + ["spread"]
        var lines = ["| " + header.joined(separator: " | ") + " |",
                     "|" + header.enumerated().map { i, _ in i < 2 ? "---" : "---:" }.joined(separator: "|") + "|"]
        for r in rows {
            var cols = [String(r.workload), r.label]
            cols += systems.map { cellText(r.cell($0), peak: r.showPeakMemory, cpu: r.showCPU) }
            cols += ratios.map { ratioText(r.cell(.ours), r.cell($0.0)) }
            let spreads = r.cells.values.filter { $0.ratio == nil }.map(\.spread)
            cols.append(spreads.isEmpty ? (r.note ?? "") : String(format: "%.0f%%", (spreads.max() ?? 0) * 100))
            lines.append("| " + cols.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    static func footnotes(rows: [Row], config: Config) -> [String] {
        var notes = [
            "Median of \(config.runs) run\(config.runs == 1 ? "" : "s") per cell, systems interleaved, each run in a fresh store under \(config.scratchBase) (deleted after). "
                + "Latency: per call (append, as-of view, scorecard), median over runs of each run's p50 / p99. CPU: process CPU time (all threads) per event over the timed section, median. spread = (max − min) / median of events/s over the runs, worst system in the row.",
        ]
        if config.systems.contains(.postgres), let pg = config.pg {
            notes.append("PostgreSQL: a local server (\(pg.description)), fsync on, synchronous_commit on for durable cases (off for relaxed), "
                + "a fresh database per run; its CPU µs/ev adds the serving backend's CPU (from /proc) to the client's; WAL writer and checkpointer CPU not counted.")
        }
        if let why = config.pgSkipped {
            notes.append("PostgreSQL peer NOT measured in this run: \(why).")
        }
        if let scaling = rows.first(where: { $0.workloadID == "durable-append" && $0.cells.values.contains { $0.ratio != nil } }),
           let ours = scaling.cell(.ours)?.ratio {
            notes.append(String(format: "ours, %@: %.1f× (median of the per-run ratios; target ≥ 20×: %@).",
                                scaling.label.replacingOccurrences(of: "scaling: ", with: ""), ours, ours >= 20 ? "met" : "NOT met"))
        }
        return notes
    }

    struct Document: Codable {
        var command: String
        var machine: MachineInfo
        var fsyncBefore: FsyncProbe.Result
        var fsyncAfter: FsyncProbe.Result
        var config: Config
        var rows: [Row]
        var table: String
    }
}
