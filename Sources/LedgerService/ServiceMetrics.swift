import EventLog
import Foundation
import Ledger
import Prometheus

/// `GET /metrics`: Prometheus text. Appends and refusals by rule, commits and the append requests
/// they carried (their ratio is the mean commit batch), events per append request, request
/// latencies by route, projection lag and log size.
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let ledger: Ledger
    private let appended: Counter
    private let duplicates: Counter
    private let appendEvents: ValueHistogram
    private let commits: Gauge
    private let commitRequests: Gauge
    private let projectionLag: Gauge
    private let lastSeq: Gauge
    private let logBytes: Gauge
    private let batchRequests: ValueHistogram
    private let batchEvents: ValueHistogram
    private let batches = CommitBatches()

    init(ledger: Ledger) {
        self.ledger = ledger
        appended = registry.makeCounter(name: "ledger_events_appended_total", help: "Events appended over HTTP.")
        duplicates = registry.makeCounter(name: "ledger_events_duplicate_total", help: "Events acknowledged as duplicates (idempotent retries).")
        appendEvents = registry.makeValueHistogram(name: "ledger_append_request_events", buckets: [1, 2, 5, 10, 50, 100, 1000, 10000, 100000],
                                                   help: "Events per append request.")
        commits = registry.makeGauge(name: "ledger_commits_total", help: "Group commits since the service started (each one fsync).")
        commitRequests = registry.makeGauge(name: "ledger_commit_requests_total",
                                            help: "Append requests those commits carried; requests/commits is the mean commit batch.")
        projectionLag = registry.makeGauge(name: "ledger_projection_lag_events", help: "Events in the log not yet in the stored projections.")
        lastSeq = registry.makeGauge(name: "ledger_log_last_seq", help: "The log's last seq.")
        logBytes = registry.makeGauge(name: "ledger_log_bytes", help: "Bytes used by the ledger's log environment.")
        batchRequests = registry.makeValueHistogram(name: "ledger_commit_batch_requests", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
                                                    help: "HTTP append requests per group commit (one fsync), as the service observes them.")
        batchEvents = registry.makeValueHistogram(name: "ledger_commit_batch_events", buckets: [1, 2, 4, 8, 16, 64, 256, 1000, 10000, 100000],
                                                  help: "Events of HTTP append requests per group commit, as the service observes them.")
    }

    func appendReport(_ report: ImportReport) {
        appended.increment(by: Int64(report.appended))
        duplicates.increment(by: Int64(report.duplicates))
        appendEvents.record(Double(report.lines))
        for r in report.refused {
            registry.makeCounter(name: "ledger_events_refused_total", labels: [("rule", r.rule)], help: "Events refused, by rule.").increment()
        }
    }

    /// Called on the blocking thread right after an append request's commit returned: the log's
    /// commit counter then names the commit that carried it (the writer thread counts a commit
    /// before it resumes the requests it carried), so the requests seen with one count are one
    /// commit's batch. A commit's batch is recorded once a later commit is seen. (Observed from
    /// outside the log: a request whose thread is descheduled past the next whole commit would
    /// be counted with that one; commits that carried no HTTP append are not seen.)
    func committed(events: Int) {
        let commit = ledger.log.commitStatistics.commits
        for done in batches.add(commit: commit, events: events) {
            batchRequests.record(Double(done.requests))
            batchEvents.record(Double(done.events))
        }
    }

    func request(route: String, method: String, status: Int, elapsed: Duration) {
        registry.makeDurationHistogram(name: "ledger_http_request_duration_seconds",
                                       labels: [("route", route), ("method", method), ("status", String(status))],
                                       buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
                                                 .milliseconds(500), .seconds(1), .seconds(5), .seconds(30)],
                                       help: "HTTP request latency by route, method and status.").record(elapsed)
    }

    /// The exposition text, with the ledger's gauges read now.
    func render() throws -> [UInt8] {
        let stats = ledger.log.commitStatistics
        commits.set(Double(stats.commits))
        commitRequests.set(Double(stats.requests))
        let s = try ledger.stats()
        lastSeq.set(Double(s.lastSeq))
        logBytes.set(Double(s.bytes))
        projectionLag.set(Double(s.lastSeq) - Double(s.projectionCheckpoint))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// The append requests seen per commit number, until a later commit closes them.
final class CommitBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var open: [Int: (requests: Int, events: Int)] = [:]

    /// Adds a request seen with commit count `commit`; returns the batches of earlier commits, now closed.
    func add(commit: Int, events: Int) -> [(requests: Int, events: Int)] {
        lock.lock(); defer { lock.unlock() }
        open[commit, default: (0, 0)].requests += 1
        open[commit, default: (0, 0)].events += events
        let closed = open.keys.filter { $0 < commit }
        return closed.compactMap { open.removeValue(forKey: $0) }
    }
}
