import Compliance
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy
import Projections

/// A point in the ledger's history: a seq, or a time (CONTRACT.md section 8). As `--as-of` a
/// time is event time (`at`); as `--known-at` it is recorded time (`recordedAt`); a seq cuts the
/// log at that seq either way.
public enum AsOf: Sendable, Equatable {
    case seq(UInt64)
    case time(Timestamp)

    /// Parses `123` as a seq and an RFC 3339 time as a time.
    public init?(_ text: String) {
        if let n = UInt64(text) { self = .seq(n) } else if let t = Timestamp(rfc3339: text) { self = .time(t) } else { return nil }
    }
}

/// Where a query looks and which clock its deadlines use: the log cut at `seq` (what the ledger
/// knew then), and of that, only the events whose `at` is no later than `eventTime` (the state of
/// affairs at that moment, as the ledger knows it).
public struct QueryPoint: Sendable {
    /// The last seq the query sees.
    public var seq: UInt64
    /// Only events with `at` at or before this time (nil: every event through `seq`).
    public var eventTime: Timestamp?
    /// The clock findings compare deadlines with.
    public var clock: Timestamp
    /// The log's head when the point was resolved.
    public var head: UInt64

    /// True when the query does not see the whole log as it is.
    public var isHistorical: Bool { seq < head || eventTime != nil }

    /// Whether an event at `seq` with event time `at` is inside the cut.
    public func includes(seq s: UInt64, at: Timestamp) -> Bool { s <= seq && eventTime.map { at <= $0 } ?? true }

    /// How the cut reads to a person: "as of 2026-03-15T00:00:00Z, known at seq 120".
    public var description: String {
        var parts: [String] = []
        if let eventTime { parts.append("as of \(eventTime)") }
        if seq < head || eventTime == nil { parts.append((eventTime == nil ? "through" : "known at") + " seq \(seq)") }
        return parts.joined(separator: ", ")
    }

    public init(seq: UInt64, eventTime: Timestamp? = nil, clock: Timestamp, head: UInt64) {
        self.seq = seq; self.eventTime = eventTime; self.clock = clock; self.head = head
    }
}

/// A cut that holds no event: it says so, and names the first event, rather than look like a clean record.
public struct EmptyCut: Error, CustomStringConvertible {
    public var point: QueryPoint
    public var firstAt: Timestamp?
    public var firstRecordedAt: Timestamp?
    public var description: String {
        guard let firstAt, let firstRecordedAt else { return "the ledger holds no events" }
        return "nothing is recorded \(point.description): the ledger's first event happened at \(firstAt) (recorded at \(firstRecordedAt))"
    }
}

extension Ledger {
    /// Resolves `--as-of`, `--known-at` and `--now` (CONTRACT.md section 8): the clock is the
    /// `--now` time, else the `--as-of` time (for an `--as-of` seq, the `at` of the event there),
    /// else the current time.
    public func point(asOf: AsOf?, knownAt: AsOf? = nil, now: Timestamp?) throws -> QueryPoint {
        let head = try log.head().seq
        var seq = head
        var eventTime: Timestamp?
        var asOfClock: Timestamp?
        switch knownAt {
        case nil: break
        case .seq(let s): seq = min(seq, s)
        case .time(let t): seq = min(seq, try log.seq(asOfTime: t.microsecondsSinceEpoch))
        }
        switch asOf {
        case nil: break
        case .seq(let s):
            seq = min(seq, s)
            if s >= 1, s <= head, let r = try log.event(seq: s) {
                asOfClock = try EventDecoder(mode: .stored).decode(r.payload).at
            }
        case .time(let t):
            eventTime = t
            asOfClock = t
        }
        return QueryPoint(seq: seq, eventTime: eventTime, clock: now ?? asOfClock ?? .now(), head: head)
    }

    /// Throws ``EmptyCut`` when `point` holds no event at all.
    public func requireEvents(at point: QueryPoint, seen: Int) throws {
        guard seen == 0 else { return }
        let first = try log.event(seq: 1)
        throw EmptyCut(point: point, firstAt: try first.map { try EventDecoder(mode: .stored).decode($0.payload).at },
                       firstRecordedAt: first.map { Timestamp(microsecondsSinceEpoch: $0.recordedAt) })
    }

    /// Findings at `point` (CONTRACT.md section 8, `findings`): filtered by kind, accountable
    /// staff and ticket; with `changedSince`, only those raised or cleared by the events after
    /// that seq (within the same cut, judged at the same clock), each marked in `changes`
    /// ("raised" or "cleared"); with `after` (a finding id), only those after it. The command
    /// line and the service both answer from here.
    public func findings(at point: QueryPoint, kind: Finding.Kind?, staff: String?, ticket: String?,
                         changedSince: UInt64? = nil, after: String? = nil) throws -> (list: [Finding], changes: [String: String]) {
        var list = try withProjections(at: point) { try $0.findings(clock: point.clock, kind: kind, staff: staff, ticket: ticket) }
        var changes: [String: String] = [:]
        if let since = changedSince {
            var before = point
            before.seq = min(point.seq, since)
            let old = before.seq == 0 ? []
                : try withProjections(at: before) { try $0.findings(clock: point.clock, kind: kind, staff: staff, ticket: ticket) }
            let oldIDs = Set(old.map(\.id)), newIDs = Set(list.map(\.id))
            list = list.filter { !oldIDs.contains($0.id) } + old.filter { !newIDs.contains($0.id) }
            for f in list { changes[f.id] = newIDs.contains(f.id) ? "raised" : "cleared" }
            list.sort()
        }
        if let after, let key = Finding.cursor(after) {
            list = list.filter { ($0.seq, $0.kind.rawValue) > (key.seq, key.kind) }
        }
        return (list, changes)
    }

    /// Runs `body` on projections as they stood at `point`: the stored projection (brought up
    /// to date) for the head, a replay of the log's events inside the cut otherwise.
    /// - throws: ``EmptyCut`` when a historical cut holds no event.
    public func withProjections<T>(at point: QueryPoint, _ body: (any ProjectionSnapshot) throws -> T) throws -> T {
        if !point.isHistorical {
            // Bringing the stored projections up to date writes; when that fails (a full disk, a
            // quota), the query still answers, from a replay of the log in memory.
            if !readOnly {
                do { _ = try projector.catchUp() } catch let e as LMDBError where e.isOutOfSpace || e.isMapFull {}
            }
            let fresh: T? = try projector.read { snapshot in
                snapshot.checkpoint >= point.seq ? try body(snapshot) : nil
            }
            if let fresh { return fresh }
        }
        let snapshot = try projector.replay(through: point.seq, until: point.eventTime)
        if point.isHistorical { try requireEvents(at: point, seen: snapshot.events) }
        return try body(snapshot)
    }

    // MARK: Tickets

    /// One ticket as of `point` (folded from its own stream when historical), with its findings at the clock.
    public func ticket(_ id: String, at point: QueryPoint) throws -> (state: TicketState, findings: [Finding])? {
        let state: TicketState?
        if point.isHistorical {
            state = try projector.ticket(id, asOf: point.seq, until: point.eventTime)
        } else {
            state = try withProjections(at: point) { try $0.ticket(id) }
        }
        guard let state else { return nil }
        return (state, state.findings(clock: point.clock))
    }

    /// The ticket's events through `point`, as display lines (personal data as `view` shows it).
    public func ticketEvents(_ id: String, at point: QueryPoint, view: PersonalDataView = .masked) throws -> [DisplayEvent] {
        var out: [DisplayEvent] = []
        try forEachTicketEvent(id, at: point, view: view) { out.append($0) }
        return out
    }

    /// The ticket's events inside `point`'s cut after seq `after`, at most `limit`, given to `body`
    /// one by one and read in chunks of short read transactions: a ticket of a million events is
    /// shown in memory that does not grow with it.
    public func forEachTicketEvent(_ id: String, at point: QueryPoint, view: PersonalDataView = .masked, after: UInt64 = 0,
                                   limit: Int = .max, _ body: (DisplayEvent) throws -> Void) throws {
        let stream = "ticket:" + id
        var version: UInt64 = 1
        var given = 0
        while given < limit {
            var batch: [DisplayEvent] = []
            var read = 0
            try log.environment.read { txn in
                try log.scanStream(stream, from: version, asOf: point.seq, in: txn) { r in
                    read += 1
                    version = r.version + 1
                    if r.seq > after {
                        let stored = try EventDecoder(mode: .stored).decode(r.payload)
                        if point.eventTime.map({ stored.at <= $0 }) ?? true {
                            let record = r.copy(hash: try log.chainHash(r.seq, txn))
                            batch.append(try display(record, stored: stored, view, in: txn))
                        }
                    }
                    return read < 4096 && given + batch.count < limit
                }
            }
            for e in batch { try body(e) }
            given += batch.count
            if read < 4096 { return }
        }
    }

    // MARK: Display

    /// An event for people and scripts: the interchange line with personal data shown as the
    /// view allows (or `[erased]`), and the ledger's fields.
    public struct DisplayEvent: Sendable {
        public var record: RecordedEvent
        public var event: Event
        /// The interchange line with `seq`, `version`, `recordedAt` and `hash` added.
        public var json: [UInt8]
    }

    /// Decodes a stored event and shows its personal data as `view` allows.
    public func display(_ record: RecordedEvent, _ view: PersonalDataView = .masked) throws -> DisplayEvent {
        let stored = try EventDecoder(mode: .stored).decode(record.payload)
        return try log.environment.read { try display(record, stored: stored, view, in: $0) }
    }

    func display(_ record: RecordedEvent, stored: Event, _ view: PersonalDataView, in txn: ReadTransaction) throws -> DisplayEvent {
        let event = try present(stored, view, in: txn)
        var line = EventEncoder.encode(event)
        line.removeLast()
        var w = JSONWriter()
        w.field("seq", record.seq)
        w.field("version", record.version)
        w.field("recordedAt", Timestamp(microsecondsSinceEpoch: record.recordedAt).description)
        w.field("hash", record.hash.hex)
        line += [UInt8(ascii: ",")] + w.bytes + [UInt8(ascii: "}")]
        return DisplayEvent(record: record, event: event, json: line)
    }

    // MARK: Audit trail

    /// What to select from the audit trail.
    public struct AuditFilter: Sendable {
        public var ticket: String?
        /// As actor or as subject (any staff field).
        public var staff: String?
        /// `at` from (inclusive) and to (inclusive).
        public var from: Timestamp?
        public var to: Timestamp?
        public var channel: String?
        /// Only events after this seq (paging).
        public var afterSeq: UInt64 = 0
        /// The query's cut (`--as-of`, `--known-at`): nil for the whole log.
        public var point: QueryPoint?
        public init(ticket: String? = nil, staff: String? = nil, from: Timestamp? = nil, to: Timestamp? = nil, channel: String? = nil,
                    afterSeq: UInt64 = 0, point: QueryPoint? = nil) {
            self.ticket = ticket; self.staff = staff; self.from = from; self.to = to; self.channel = channel
            self.afterSeq = afterSeq; self.point = point
        }
    }

    /// One audit-trail entry (CONTRACT.md section 6).
    public struct AuditEntry: Sendable {
        public var seq: UInt64
        public var recordedAt: Timestamp
        public var at: Timestamp
        public var actor: String
        public var channel: String
        public var type: String
        public var ticket: String?
        public var summary: String
        public var hash: String
    }

    /// The audit trail, in seq order, personal data masked. By ticket it reads that ticket's
    /// stream; otherwise it scans the log.
    public func audit(_ filter: AuditFilter, limit: Int = .max) throws -> [AuditEntry] {
        var out: [AuditEntry] = []
        try audit(filter, limit: limit, revealing: [], customers: nil) { out.append($0) }
        return out
    }

    /// The audit trail given to `body` entry by entry, read in chunks of short read transactions,
    /// so memory does not grow with the log (and no reader pins the whole log while output is
    /// written). Personal data of the customers (pseudonyms) in `revealing` is shown in clear and
    /// everyone else's masked; `customers` is given the pseudonym of each live customer whose
    /// personal data an entry shows.
    func audit(_ filter: AuditFilter, limit: Int, revealing: Set<String>, customers: ((String) -> Void)?,
               _ body: (AuditEntry) throws -> Void) throws {
        // A long scan of the log is read in chunks of seqs prepared on every core, each in a
        // read transaction of its own, and given to `body` in order. A ticket's stream, or a
        // page of a few entries, is read chunk after chunk here.
        if filter.ticket == nil, limit >= Ledger.auditChunk {
            return try auditInParallel(filter, limit: limit, revealing: revealing, customers: customers, body)
        }
        let through = filter.point?.seq ?? .max
        var position = filter.afterSeq
        var emitted = 0
        while true {
            var batch: [AuditEntry] = []
            var scanned = 0
            var done = true
            try log.environment.read { txn in
                let reader = AuditReader(ledger: self, filter: filter, revealing: revealing, collectCustomers: customers != nil, txn: txn)
                func consider(_ r: RecordView) throws -> Bool {
                    if r.seq <= position { return true }
                    if r.seq > through { return false }
                    position = r.seq
                    scanned += 1
                    if let e = try reader.entry(r) {
                        batch.append(e)
                        if emitted + batch.count >= limit { return false }
                    }
                    if scanned >= Ledger.auditChunk { done = false; return false }
                    return true
                }
                if let t = filter.ticket {
                    try log.scanStream("ticket:" + t, in: txn, consider)
                } else {
                    try log.scan(from: position + 1, in: txn, consider)
                }
                if let customers { reader.live.forEach(customers) }
            }
            for e in batch { try body(e) }
            emitted += batch.count
            if done || emitted >= limit { return }
        }
    }

    /// Records an audit reads per read transaction.
    static let auditChunk = 4096

    /// The audit of the whole log (or from `afterSeq`), up to the head as it was when it began:
    /// seqs in chunks of ``auditChunk``, each read on one of the producer threads in a read
    /// transaction of its own (as the sequential audit reads each chunk in its own), handed to
    /// `body` in seq order. At most a few chunks are held at once; every 8 chunks a producer
    /// drops the pages of the memory map it has read, so resident memory stays small.
    private func auditInParallel(_ filter: AuditFilter, limit: Int, revealing: Set<String>, customers: ((String) -> Void)?,
                                 _ body: (AuditEntry) throws -> Void) throws {
        let first = filter.afterSeq + 1
        let last = min(filter.point?.seq ?? .max, try log.head().seq)
        guard last >= first else { return }
        let size = UInt64(Ledger.auditChunk)
        let chunks = Int((last - first) / size + 1)
        let collect = customers != nil
        var emitted = 0
        let workers = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
        try Parallel.ordered(count: chunks, workers: workers, window: 2 * workers, produce: { [self] k -> ([AuditEntry], [String]) in
            let from = first + UInt64(k) * size
            let through = min(last, from + size - 1)
            if k % 8 == 7 { log.environment.releaseMappedPages() }
            return try log.environment.read { txn in
                let reader = AuditReader(ledger: self, filter: filter, revealing: revealing, collectCustomers: collect, txn: txn)
                var batch: [AuditEntry] = []
                try log.scanWithHashes(from: from, through: through, in: txn) { r, chain, _ in
                    if let e = try reader.entry(r, chain: chain) { batch.append(e) }
                    return true
                }
                return (batch, reader.live)
            }
        }, consume: { chunk in
            if let customers { chunk.1.forEach(customers) }
            for e in chunk.0 {
                try body(e)
                emitted += 1
                if emitted >= limit { return false }
            }
            return true
        })
    }

    // MARK: Stats and verification

    /// What `ledger stats` reports.
    public struct Stats: Sendable {
        public var events: UInt64
        public var streams: UInt64
        public var lastSeq: UInt64
        public var headHash: String
        public var lastRecordedAt: Timestamp?
        public var bytes: Int
        public var mapSize: Int
        public var mapUsed: Int
        public var tickets: Int
        public var staff: Int
        public var customersWithKeys: Int
        public var projectionCheckpoint: UInt64
    }

    public func stats() throws -> Stats {
        let head = try log.head()
        let info = log.environment.info()
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path + "/log/data.mdb")[.size] as? Int) ?? 0
        let (tickets, staff) = try log.environment.read { txn in (try txn.count(rules.tickets), try txn.count(rules.staff)) }
        return Stats(events: head.seq, streams: head.streams, lastSeq: head.seq, headHash: head.hash.hex,
                     lastRecordedAt: head.seq > 0 ? Timestamp(microsecondsSinceEpoch: head.recordedAt) : nil,
                     bytes: bytes, mapSize: info.mapSize, mapUsed: info.usedBytes, tickets: tickets, staff: staff,
                     customersWithKeys: try log.environment.read { try vault.count(in: $0) },
                     projectionCheckpoint: try projector.checkpoint())
    }
}

extension Collection where Element == UInt8 {
    /// Lowercase hex.
    public var hex: String { Hex.encode(self) }
}

/// An audit entry for each record inside the cut that passes the filters, read in one
/// transaction: shared by the sequential and the parallel audit.
private final class AuditReader {
    let ledger: Ledger
    let filter: Ledger.AuditFilter
    let revealing: Set<String>
    let collectCustomers: Bool
    let txn: ReadTransaction
    let decoder = EventDecoder(mode: .stored)
    /// The live customers whose personal data the entries show, in order of first showing.
    private(set) var live: [String] = []

    init(ledger: Ledger, filter: Ledger.AuditFilter, revealing: Set<String>, collectCustomers: Bool, txn: ReadTransaction) {
        self.ledger = ledger; self.filter = filter; self.revealing = revealing; self.collectCustomers = collectCustomers; self.txn = txn
    }

    /// The entry of `r`, when it passes the filters; `chain` is its stored chain hash when the
    /// caller has read it already (else it is looked up).
    func entry(_ r: RecordView, chain: UnsafeRawBufferPointer? = nil) throws -> Ledger.AuditEntry? {
        let stored = try decoder.decode(r.payload)
        if let eventTime = filter.point?.eventTime, stored.at > eventTime { return nil }
        let customer = Ledger.customerPseudonym(stored)
        let e = try ledger.present(stored, customer.map(revealing.contains) == true ? .revealed : .masked, in: txn)
        if let c = filter.channel, e.channel != c { return nil }
        if let f = filter.from, e.at < f { return nil }
        if let t = filter.to, e.at > t { return nil }
        if let s = filter.staff, !e.names(s) { return nil }
        if collectCustomers, let customer, try ledger.vault.customer(pseudonym: customer, in: txn) != nil { live.append(customer) }
        return Ledger.AuditEntry(seq: r.seq, recordedAt: Timestamp(microsecondsSinceEpoch: r.recordedAt), at: e.at,
                                 actor: e.actor, channel: e.channel, type: e.type.rawValue, ticket: e.ticket,
                                 summary: e.summary, hash: try chain.map { Hex.encode($0) } ?? ledger.log.chainHash(r.seq, txn).hex)
    }
}
