import Compliance
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Projections

/// Whole-ledger figures kept up to date as the log grows, for views that are read often on a
/// live ledger (the web view's Overview and Findings, docs/WEB.md "Speed"): `ledger report`'s
/// figures for any period and any deadline clock, every finding at any deadline clock, and the
/// current checkpoint, each at the head, without reading every ticket on every view.
///
/// It holds one small row per ticket (what the ticket adds to a report, with the deadlines at
/// which that changes) and every finding a ticket has or will have once its deadline passes
/// (with that deadline), built once from every ticket of the stored projection. After that,
/// ``refresh()`` reads only the log's records since the head it reflects (their streams name the
/// tickets they changed) and those tickets' states, in the snapshot of the projection at the new
/// head, and replaces their rows and findings. A report or a findings list is then a pass over
/// the rows (no ticket is decoded); the checkpoint extends a Merkle accumulator with the new leaf
/// hashes only. Everything answers for the whole log at its head (`--as-of` and `--known-at`
/// views are not served from here).
///
/// The rows rest on how a ticket's findings and callbacks depend on the clock: findings that
/// need no clock are there at any clock, a deadline finding (`callbackOverdue`, `noDebrief`,
/// `followUpMissing`) is there once the clock is past its `at`, and a callback is due once the
/// clock reaches its `dueBy` (TicketState.findings(clock:), Ledger.report). A test compares every
/// answer with the ledger's own at many clocks and periods, before and after appends.
public final class LiveFigures: @unchecked Sendable {
    public let ledger: Ledger
    private let lock = NSLock()

    /// What one ticket adds to a report.
    struct Row {
        var openedAt: Int64
        var week: Int64
        var status: TicketState.Status
        var resolution: Resolution?
        var escalated: Bool
        var deEscalated: Bool
        var transfers: Int32
        /// Kind indexes (into `Finding.Kind.allCases`) of the findings that need no clock.
        var fixed: [UInt8]
        /// Deadline findings: there once the clock is past `at`.
        var deadlines: [(at: Int64, kind: UInt8)]
        /// Callbacks: due once the clock reaches `due`; on time when completed by then.
        var callbacks: [(due: Int64, onTime: Bool)]
    }

    /// A finding, and from when it is there (nil: at any clock).
    struct Entry {
        var finding: Finding
        var after: Int64?
    }

    private var built = false
    /// The projection's checkpoint (the log's seq) the rows reflect.
    private var seq: UInt64 = 0
    private var rows: [String: Row] = [:]
    /// Every finding, now or to come, in the findings' order (seq, kind, staff).
    private var entries: [Entry] = []
    /// Answers already computed at `seq`.
    private var reports: [String: Report] = [:]
    private var lists: [String: [Finding]] = [:]
    private var signed: Ledger.SignedCheckpoint?

    static let kinds = Finding.Kind.allCases
    static let kindIndex = Dictionary(uniqueKeysWithValues: Finding.Kind.allCases.enumerated().map { ($1, UInt8($0)) })
    static let transferBeforeTwoAsks = kindIndex[.transferBeforeTwoAsks]!

    public init(ledger: Ledger) { self.ledger = ledger }

    /// The seq the figures reflect (0 before the first ``refresh()``).
    public var head: UInt64 { lock.lock(); defer { lock.unlock() }; return seq }

    /// Brings the stored projection up to the log's head (as a query does) and the figures up to
    /// the projection; returns the seq they now reflect.
    @discardableResult
    public func refresh() throws -> UInt64 {
        if !ledger.readOnly {
            // As a query does: when that cannot write (a full disk), the figures stay where the projection is.
            do { _ = try ledger.projector.catchUp() } catch let e as LMDBError where e.isOutOfSpace || e.isMapFull {}
        }
        lock.lock(); defer { lock.unlock() }
        if !built { try build(); return seq }
        var target = try ledger.projector.checkpoint()
        if target == seq { return seq }
        if target < seq { try build(); return seq }  // a projection rebuilt under us: start again
        var changed = Set<String>()
        try collectTickets(from: seq + 1, through: target, into: &changed)
        while true {
            // Many changes (a bulk import): one pass over every ticket is cheaper than looking each up.
            if changed.count > max(10_000, rows.count / 4) { try build(); return seq }
            let states: [(String, TicketState?)]? = try ledger.projector.read { snapshot in
                guard snapshot.checkpoint == target else { return nil }
                return try changed.map { ($0, try snapshot.ticket($0)) }
            }
            if let states {
                replace(states)
                seq = target
                reports.removeAll(); lists.removeAll()
                return seq
            }
            // The projection moved on between reading its checkpoint and its tickets: take those events too.
            let next = try ledger.projector.checkpoint()
            if next < target { try build(); return seq }
            try collectTickets(from: target + 1, through: next, into: &changed)
            target = next
        }
    }

    /// `ledger report` of the tickets opened in [`from`, `to`], deadlines judged at `clock`, as of
    /// the head the figures reflect (returned with it). Its `deEscalators`, `minimumRequests`
    /// and `sources` are left empty: the web view's Overview shows neither (`ledger report` has them).
    public func report(from: Timestamp?, to: Timestamp?, clock: Timestamp) -> (report: Report, seq: UInt64) {
        lock.lock(); defer { lock.unlock() }
        let key = "\(from?.microsecondsSinceEpoch ?? .min)|\(to?.microsecondsSinceEpoch ?? .max)|\(clock.microsecondsSinceEpoch)"
        if let r = reports[key] { return (r, seq) }
        var r = Report(from: from, to: to, clock: clock)
        let low = from?.microsecondsSinceEpoch ?? .min, high = to?.microsecondsSinceEpoch ?? .max, now = clock.microsecondsSinceEpoch
        var counts = [Int](repeating: 0, count: LiveFigures.kinds.count)
        var resolutions = [Int](repeating: 0, count: Resolution.allCases.count)
        var unresolved: [TicketState.Status: Int] = [:]
        var weeks: [Int64: Report.Week] = [:]
        let resolutionIndex = Dictionary(uniqueKeysWithValues: Resolution.allCases.enumerated().map { ($1, $0) })
        for row in rows.values where row.openedAt >= low && row.openedAt <= high {
            r.tickets += 1
            if row.status == .resolved, let res = row.resolution { resolutions[resolutionIndex[res]!] += 1 } else { unresolved[row.status, default: 0] += 1 }
            var found = row.fixed.count, early = 0
            for k in row.fixed {
                counts[Int(k)] += 1
                if k == LiveFigures.transferBeforeTwoAsks { early += 1 }
            }
            for d in row.deadlines where now > d.at {
                counts[Int(d.kind)] += 1
                found += 1
                if d.kind == LiveFigures.transferBeforeTwoAsks { early += 1 }
            }
            if row.escalated {
                r.escalated += 1
                r.transfersAfterRequest += Int(row.transfers)
                r.compliantTransfers += Int(row.transfers) - early
            }
            if row.deEscalated { r.deEscalated += 1 }
            for c in row.callbacks where c.due <= now {
                r.callbacksDue += 1
                if c.onTime { r.callbacksOnTime += 1 }
            }
            var w = weeks[row.week] ?? Report.Week(start: Timestamp(microsecondsSinceEpoch: row.week))
            w.tickets += 1
            if row.escalated { w.escalated += 1 }
            if row.deEscalated { w.deEscalated += 1 }
            w.findings += found
            weeks[row.week] = w
        }
        for (i, k) in LiveFigures.kinds.enumerated() where counts[i] > 0 { r.findings[k] = counts[i] }
        for (i, res) in Resolution.allCases.enumerated() where resolutions[i] > 0 { r.resolutions[res.rawValue] = resolutions[i] }
        for (status, n) in unresolved { r.unresolved[status.rawValue] = n }
        r.weeks = weeks.values.sorted { $0.start < $1.start }
        if reports.count >= 64 { reports.removeAll() }
        reports[key] = r
        return (r, seq)
    }

    /// Every finding at `clock` (of one kind, or all), in the order of `ledger findings`, as of
    /// the head the figures reflect (returned with it).
    public func findings(clock: Timestamp, kind: Finding.Kind? = nil) -> (list: [Finding], seq: UInt64) {
        lock.lock(); defer { lock.unlock() }
        let key = "\(clock.microsecondsSinceEpoch)|\(kind?.rawValue ?? "")"
        if let list = lists[key] { return (list, seq) }
        let now = clock.microsecondsSinceEpoch
        var list: [Finding] = []
        for e in entries where (kind == nil || e.finding.kind == kind) && (e.after.map { now > $0 } ?? true) { list.append(e.finding) }
        if lists.count >= 32 { lists.removeAll() }
        lists[key] = list
        return (list, seq)
    }

    /// The checkpoint of the whole log at its head (``Ledger/checkpoint(progress:)``, whose Merkle
    /// root extends the longest prefix rooted before), signed again only when the log has grown.
    public func checkpoint() throws -> Ledger.SignedCheckpoint {
        let size = try ledger.log.head().seq
        lock.lock()
        let last = signed
        lock.unlock()
        if let last, last.checkpoint.treeSize == Int(size) { return last }
        let made = try ledger.checkpoint()
        lock.lock()
        if (signed?.checkpoint.treeSize ?? -1) < made.checkpoint.treeSize { signed = made }
        lock.unlock()
        return made
    }

    // MARK: Building

    /// Every ticket's row and findings, from one snapshot of the stored projection.
    private func build() throws {
        var rows: [String: Row] = [:]
        var entries: [Entry] = []
        let seq = try ledger.projector.read { snapshot -> UInt64 in
            try snapshot.forEachTicket { t in
                let (row, found) = LiveFigures.row(t)
                rows[t.ticket] = row
                entries += found
            }
            return snapshot.checkpoint
        }
        entries.sort { $0.finding < $1.finding }
        self.rows = rows
        self.entries = entries
        self.seq = seq
        built = true
        reports.removeAll(); lists.removeAll()
    }

    /// The tickets named by the streams of the log's records `from...through`.
    private func collectTickets(from: UInt64, through: UInt64, into tickets: inout Set<String>) throws {
        guard from <= through else { return }
        let prefix = Array("ticket:".utf8)
        try ledger.log.environment.read { txn in
            try ledger.log.scan(from: from, through: through, in: txn) { r in
                let stream = r.streamBytes
                if stream.count > prefix.count, stream.starts(with: prefix) {
                    tickets.insert(String(decoding: stream[prefix.count...], as: UTF8.self))
                }
                return true
            }
        }
    }

    /// Replaces the rows and findings of the tickets given (nil: not in the projection).
    private func replace(_ states: [(String, TicketState?)]) {
        var fresh: [Entry] = []
        var touched = false
        let ids = Set(states.map(\.0))
        for (id, state) in states {
            if let old = rows[id], !(old.fixed.isEmpty && old.deadlines.isEmpty) { touched = true }
            if let state {
                let (row, found) = LiveFigures.row(state)
                rows[id] = row
                fresh += found
            } else {
                rows[id] = nil
            }
        }
        guard touched || !fresh.isEmpty else { return }
        fresh.sort { $0.finding < $1.finding }
        // Merge the changed tickets' findings into the others', keeping the order.
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + fresh.count)
        var i = fresh.startIndex
        for e in entries where !ids.contains(e.finding.ticket) {
            while i < fresh.endIndex, fresh[i].finding < e.finding { merged.append(fresh[i]); i += 1 }
            merged.append(e)
        }
        merged += fresh[i...]
        entries = merged
    }

    /// A ticket's row and its findings, now and to come.
    static func row(_ t: TicketState) -> (Row, [Entry]) {
        let fixed = t.findings(clock: Timestamp(microsecondsSinceEpoch: .min))
        let all = t.findings(clock: Timestamp(microsecondsSinceEpoch: .max))
        let fixedIDs = Set(fixed.map(\.id))
        var entries: [Entry] = fixed.map { Entry(finding: $0, after: nil) }
        var deadlines: [(at: Int64, kind: UInt8)] = []
        for f in all where !fixedIDs.contains(f.id) {
            entries.append(Entry(finding: f, after: f.at.microsecondsSinceEpoch))
            deadlines.append((f.at.microsecondsSinceEpoch, kindIndex[f.kind]!))
        }
        let row = Row(openedAt: t.openedAt.microsecondsSinceEpoch, week: Ledger.weekStart(t.openedAt).microsecondsSinceEpoch,
                      status: t.status, resolution: t.resolution, escalated: t.escalations > 0,
                      deEscalated: t.isDeEscalated, transfers: Int32(clamping: t.transfers.count),
                      fixed: fixed.map { kindIndex[$0.kind]! }, deadlines: deadlines,
                      callbacks: t.callbacks.map { c in (c.dueBy.microsecondsSinceEpoch, c.completedAt.map { $0 <= c.dueBy } ?? false) })
        return (row, entries)
    }
}
