import Foundation
import LMDB

/// Commits appends from many callers together: one writer thread drains every
/// request waiting when the previous commit finished and runs them in one LMDB
/// write transaction, so one fsync serves them all (group commit).
///
/// Each request keeps its own semantics inside the shared transaction: an
/// atomic request runs in a nested transaction, so its failure discards only
/// its own writes. A map-full transaction is retried whole by ``Environment``.
final class GroupCommitter: @unchecked Sendable {
    struct Request {
        let drafts: [EventDraft]
        let mode: BatchMode
        let hook: (any AppendHook)?
        let completion: @Sendable (Result<AppendReport, any Error>) -> Void
    }

    weak var log: EventLog?
    /// Told after every commit (and after every failed one: waiters then look and find nothing new).
    let signal = CommitSignal()
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var started = false
    private var stopped = false

    /// Commits performed and requests they carried (for tests and stats).
    private(set) var commits = 0
    private(set) var requestsCommitted = 0

    func submit(_ request: Request) {
        condition.lock()
        if stopped {
            condition.unlock()
            request.completion(.failure(LogError.closed))
            return
        }
        if !started {
            // Started on the first write, so that a process that only reads has no writer.
            do {
                try Threads.start("ledger-writer") { [self] in run() }
                started = true
            } catch {
                // No thread, no commit: the request fails before anything was written, and the next one tries again.
                condition.unlock()
                request.completion(.failure(error))
                return
            }
        }
        pending.append(request)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped { condition.unlock(); return }
            var batch = pending
            pending.removeAll(keepingCapacity: true)
            condition.unlock()
            // Callers are resumed only after this thread let go of the log and of the requests
            // (their hooks may hold the ledger), so that a caller dropping its last reference
            // closes the environment at once.
            let results: [Result<AppendReport, any Error>]
            if let log { results = commit(batch, log) } else { results = batch.map { _ in .failure(LogError.closed) } }
            let completions = batch.map(\.completion)
            batch.removeAll()
            for (completion, result) in zip(completions, results) { completion(result) }
            signal.committed()
        }
    }

    private func commit(_ batch: [Request], _ log: EventLog) -> [Result<AppendReport, any Error>] {
        var results: [Result<AppendReport, any Error>] = []
        let observer = log.commitObserver
        // What the commit may add to the file: each event's record and hashes, and about as much
        // again in index pages (docs/FORMAT.md); the map is grown ahead of a commit that might not fit.
        let payload = batch.reduce(0) { sum, r in r.drafts.reduce(sum) { $0 + $1.payload.count + 256 } }
        do {
            try log.environment.write(reserving: 3 * payload) { txn in
                results.removeAll(keepingCapacity: true)  // the closure reruns after map growth
                observer?.willBegin()
                var head = try log.readHead(txn)
                let startSeq = head.seq
                var scratch = EventLog.Scratch()  // shared by every request of the commit
                for request in batch {
                    switch request.mode {
                    case .eachAlone:
                        results.append(.success(try log.applyBatch(request.drafts, mode: .eachAlone, hook: request.hook, head: &head, scratch: &scratch, txn: txn)))
                    case .atomic:
                        do {
                            // A refused batch leaves the head, and the commit's stream heads and ids, as they were.
                            var h = head, s = scratch
                            let report = try txn.nested { child in
                                try log.applyBatch(request.drafts, mode: .atomic, hook: request.hook, head: &h, scratch: &s, txn: child)
                            }
                            head = h
                            scratch = s
                            results.append(.success(report))
                        } catch let error as LMDBError {
                            throw error
                        } catch {
                            results.append(.failure(error))
                        }
                    }
                }
                try log.writeStreams(scratch, txn: txn)
                try log.writeHead(head, txn)
                // Only a transaction that appended writes ids (and moves them to runs): one that
                // appends nothing (every event refused or a duplicate) leaves every table as it was.
                assert(scratch.ids.entries.count == Int(head.seq - startSeq), "one staged id per appended event")
                try log.idIndex.commit(scratch.ids, txn: txn)
                try observer?.willCommit(txn)
            }
            observer?.didCommit()
        } catch {
            observer?.didAbort()
            results = batch.map { _ in .failure(error) }
        }
        condition.lock()
        commits += 1
        requestsCommitted += batch.count
        condition.unlock()
        return results
    }

    var statistics: (commits: Int, requests: Int) {
        condition.lock(); defer { condition.unlock() }
        return (commits, requestsCommitted)
    }
}

/// A one-shot value handed from one thread to a waiting one (e.g. an ``EventLog/appendDetached(_:mode:hook:completion:)`` result).
public final class Latch<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?

    public init() {}

    public func set(_ v: Value) {
        condition.lock(); value = v; condition.signal(); condition.unlock()
    }

    public func wait() -> Value {
        condition.lock(); defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

extension EventLog {
    /// How many commits the writer thread made and how many append requests they carried.
    public var commitStatistics: (commits: Int, requests: Int) { committer.statistics }
}
