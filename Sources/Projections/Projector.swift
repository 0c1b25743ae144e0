import Crypto
import Foundation
import EscalationDomain
import EventLog
import LMDB

/// The stored projections: ticket states, the staff directory with scorecard
/// counts, and an index of who is accountable where, kept in LMDB beside the
/// log and brought up to date from a stored checkpoint.
///
/// Two generations of databases exist (`proj.0.*`, `proj.1.*`); readers use
/// the active one. ``rebuild(progress:)`` fills the other from the log alone
/// and flips `active` in the same transaction that finishes it, so a reader
/// never sees a half-built projection.
///
/// ```swift
/// let projector = try Projector(log: log)
/// try projector.catchUp()
/// let card = try projector.read { try $0.scorecards(clock: .now(), staff: "a-1") }
/// ```
public final class Projector: @unchecked Sendable {
    public let log: EventLog
    private let meta: Database
    private let generations: [Generation]
    /// Events applied per write transaction.
    public var chunkSize = 100_000
    /// A rebuild, or a catch-up of more than a chunk, reads and decodes its events ahead across
    /// its chunks (``SliceFeed``). False: each chunk reads its own (tests compare the two).
    var readsAhead = true
    /// Staff histories for as-of ticket views.
    let staffHistory = StaffHistory()
    /// Bump when the stored records' encoding or meaning changes: a mismatch forces a rebuild.
    public static let schemaVersion: UInt64 = 4  // 2: findings carry at and reason; 3: the scorecard index; 4: its settled counts

    struct Generation {
        let tickets: Database
        let staff: Database
        let accountable: Database
        let number: UInt8
    }

    public init(log: EventLog) throws {
        self.log = log
        let env = log.environment
        meta = try env.openDatabase("proj.meta")
        generations = try (0..<2).map { g in
            Generation(tickets: try env.openDatabase("proj.\(g).tickets"), staff: try env.openDatabase("proj.\(g).staff"),
                       accountable: try env.openDatabase("proj.\(g).accountable"), number: UInt8(g))
        }
        if !env.options.readOnly {
            let schema = try env.read { try getUInt(Array("schema".utf8), $0) }
            if schema != Projector.schemaVersion {
                try rebuild()
            } else {
                // Housekeeping only: a failure here (a full disk) must not stop the command.
                try? clearStoppedReplay()
            }
        }
    }

    /// Clears what a replay stopped before it finished (a crash, `kill -9`) left in the
    /// inactive generation, when no replay is running (``ReplayLock``). Nothing reads that
    /// generation, and a replay clears it before filling it: this only keeps it empty, as
    /// `verify --deep` expects it.
    private func clearStoppedReplay() throws {
        let env = log.environment
        let left = try env.read { txn -> Bool in
            let other = generations[1 - Int(try active(txn).number)]
            return try getUInt(checkpointKey(other), txn) ?? 0 != 0
                || txn.count(other.tickets) + txn.count(other.staff) + txn.count(other.accountable) > 0
        }
        guard left else { return }
        _ = try ReplayLock.ifFree(env) {
            try env.write { txn in try empty(generations[1 - Int(try active(txn).number)], txn) }
        }
    }

    // MARK: Meta

    private func getUInt(_ key: [UInt8], _ txn: ReadTransaction) throws -> UInt64? {
        try key.withUnsafeBytes { try txn.get(meta, key: $0) }.map { BigEndianKey.uint64($0) }
    }

    private func putUInt(_ key: [UInt8], _ value: UInt64, _ txn: WriteTransaction) throws {
        try txn.put(meta, key: key, value: BigEndianKey.bytes(value))
    }

    private func active(_ txn: ReadTransaction) throws -> Generation {
        generations[Int(try getUInt(Array("active".utf8), txn) ?? 0) & 1]
    }

    private func checkpointKey(_ g: Generation) -> [UInt8] { Array("checkpoint.\(g.number)".utf8) }

    /// Empties generation `g`: its three tables, and its checkpoint back to 0.
    private func empty(_ g: Generation, _ txn: WriteTransaction) throws {
        try txn.clear(g.tickets); try txn.clear(g.staff); try txn.clear(g.accountable)
        try putUInt(checkpointKey(g), 0, txn)
    }

    /// The last seq the active projection has applied.
    public func checkpoint() throws -> UInt64 {
        try log.environment.read { txn in try getUInt(checkpointKey(try active(txn)), txn) ?? 0 }
    }

    // MARK: Applying events

    /// Applies the log's events after the active checkpoint, a chunk per write transaction.
    /// - returns: how many events were applied.
    @discardableResult
    public func catchUp(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> UInt64 {
        let (from, head) = try log.environment.read { txn in ((try getUInt(checkpointKey(try active(txn)), txn) ?? 0) + 1, try log.head(in: txn).seq) }
        // Up to date already: no write transaction (no writer lock) for a query.
        if from > head { return 0 }
        // A lag of several chunks is read ahead across them (the checkpoint moves only here and
        // in a rebuild, which holds the writer lock while it swaps generations: a chunk that
        // finds it elsewhere reads its events itself).
        let feed = readsAhead && head - from >= UInt64(chunkSize) ? SliceFeed(log, from: from, through: head, chunkSize: chunkSize) : nil
        defer { feed?.close() }
        var applied: UInt64 = 0
        while true {
            let n = try log.environment.write { txn -> UInt64 in
                let g = try active(txn)
                return try applyChunk(into: g, txn: txn, limit: chunkSize, feed: feed)
            }
            applied += n
            log.environment.releaseMappedPages()
            if let progress { progress(try checkpoint(), try log.head().seq) }
            if n == 0 { return applied }
        }
    }

    /// Rebuilds every projection from the log alone into the inactive generation, then swaps it in.
    /// Holds ``ReplayLock`` while it runs (waiting for a replay of another process to finish first).
    public func rebuild(progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        try ReplayLock.holding(log.environment) { try rebuildHoldingLock(progress: progress) }
    }

    private func rebuildHoldingLock(progress: ((UInt64, UInt64) -> Void)?) throws {
        let target: Generation = try log.environment.write { txn in
            let g = generations[1 - Int(try active(txn).number)]
            try empty(g, txn)
            log.environment.releaseMappedPages()
            return g
        }
        let total = try log.head().seq
        // The target is empty: its chunks start at seq 1.
        let feed = readsAhead && total > UInt64(Projector.sliceSize) ? SliceFeed(log, from: 1, through: total, chunkSize: chunkSize) : nil
        defer { feed?.close() }
        while true {
            let (n, done) = try log.environment.write { txn -> (UInt64, Bool) in
                let n = try applyChunk(into: target, txn: txn, limit: chunkSize, feed: feed)
                // Finish (and swap) in the transaction that reaches the head, so no append slips between.
                if n < UInt64(chunkSize) {
                    try putUInt(Array("active".utf8), UInt64(target.number), txn)
                    try putUInt(Array("schema".utf8), Projector.schemaVersion, txn)
                    let old = generations[1 - Int(target.number)]
                    log.environment.releaseMappedPages()
                    try empty(old, txn)
                    log.environment.releaseMappedPages()
                    return (n, true)
                }
                return (n, false)
            }
            _ = n
            log.environment.releaseMappedPages()
            if let progress {
                let cp = try log.environment.read { try getUInt(checkpointKey(target), $0) ?? 0 }
                progress(cp, max(total, cp))
            }
            if done { return }
        }
    }

    /// Applies up to `limit` events after `g`'s checkpoint inside `txn`. Builds its in-memory
    /// state afresh from the transaction, so a retried transaction (map growth) starts clean.
    private func applyChunk(into g: Generation, txn: WriteTransaction, limit: Int, feed: SliceFeed? = nil) throws -> UInt64 {
        let chunk = try fold(g, in: txn, limit: limit, feed: feed)
        try write(chunk, in: txn)
        defer { Projector.releaseElsewhere(chunk) }
        return UInt64(chunk.count)
    }

    /// Frees `value` (a written chunk: its tens of thousands of tickets) on another thread, so
    /// that the rebuild's next chunk, its critical path, is folded meanwhile.
    static func releaseElsewhere<T>(_ value: consuming T) {
        let box = ReleaseBox(value)
        Workers.shared.detach { box.drop() }
    }

    /// A chunk of events folded over a generation's stored state, not written yet.
    struct FoldedChunk {
        let generation: Generation
        /// The checkpoint the fold started from, and the last seq it applied.
        let from: UInt64
        let last: UInt64
        let count: Int
        let store: LMDBTicketStore
        let engine: ProjectionEngine
    }

    /// Folds up to `limit` events after `g`'s checkpoint over `g`'s state as `txn` sees it,
    /// taking the slices `feed` has read ahead for them (what it has not, read here).
    private func fold(_ g: Generation, in txn: ReadTransaction, limit: Int, feed: SliceFeed? = nil) throws -> FoldedChunk {
        let from = (try getUInt(checkpointKey(g), txn) ?? 0) + 1
        let head = try log.head(in: txn).seq
        let pending = head >= from ? min(UInt64(limit), head - from + 1) : 0
        // Room for the chunk's tickets (about one in four events) without growing the cache.
        let store = LMDBTicketStore(tickets: g.tickets, accountable: g.accountable, reader: txn, expectedTickets: Int(pending / 3))
        let engine = ProjectionEngine(staff: try loadStaff(g, txn), tickets: store)
        var last: UInt64 = from - 1
        var count = 0
        // Keep resident memory to the working set, not the log's size (see releaseMappedPages).
        let releaseEvery = 8 * Projector.sliceSize
        func apply(_ event: consuming Event, _ seq: UInt64, _ version: UInt64) throws {
            try engine.apply(event, seq: seq, version: version)
            last = seq
            count += 1
            if count % releaseEvery == 0 { log.environment.releaseMappedPages() }
        }
        func apply(_ slice: DecodedSlice) throws {
            // Each event is moved off the end of the array (the slice holds them last first), not
            // copied: a subscript would copy it and retain its strings. Both arrays are taken out
            // of the slice first, so the events' array is this function's alone (taking one off
            // its end copies nothing) and neither is checked for exclusive access at each use, as
            // a class's arrays are; for the same reason the counts are kept once a slice.
            var events = slice.events
            slice.events = []
            let positions = slice.positions
            var i = positions.count
            while let event = events.popLast() {
                i -= 1
                try engine.apply(event, seq: positions[i].seq, version: positions[i].version)
            }
            guard let first = positions.first else { return }
            last = first.seq
            let applied = positions.count
            if (count + applied) / releaseEvery != count / releaseEvery { log.environment.releaseMappedPages() }
            count += applied
        }
        let through = from + pending - 1
        var next = from
        if pending > 0, let feed {
            while let (slice, end) = try feed.take(from: next, through: through) {
                try apply(slice)
                next = end + 1
            }
        }
        guard next <= through else {
            return FoldedChunk(generation: g, from: from - 1, last: last, count: count, store: store, engine: engine)
        }
        let rest = through - next + 1
        guard rest > UInt64(Projector.sliceSize) else {
            // A short catch-up (a few appends): read and decoded here.
            let decoder = EventDecoder(mode: .projection)
            try log.scan(from: next, through: through, in: txn) { r in
                try apply(try decoder.decode(r.payload), r.seq, r.version)
                return true
            }
            return FoldedChunk(generation: g, from: from - 1, last: last, count: count, store: store, engine: engine)
        }
        // Reading and decoding the records is about half the work and needs no order: slices of
        // the rest are read and decoded on producer threads, each in a read transaction of its
        // own (the records up to the head are committed and never change), while this thread
        // folds them in seq order.
        let ahead = SliceFeed(log, from: next, through: through, chunkSize: Int(rest), window: 2 * SliceFeed.producers)
        defer { ahead.close() }
        while let (slice, end) = try ahead.take(from: next, through: through) {
            try apply(slice)
            next = end + 1
        }
        return FoldedChunk(generation: g, from: from - 1, last: last, count: count, store: store, engine: engine)
    }

    /// Slices of `from...through` read and decoded ahead, on producer threads, across the
    /// chunks of a rebuild or a long catch-up: each chunk's slices are ready when its fold
    /// starts, and are decoded while the chunk before it is written and committed. The slices
    /// never straddle the chunks (`chunkSize` events from `from`), so a chunk takes whole ones.
    /// The records up to the head are committed and never change, so slices read in other
    /// transactions are the events the chunk's own transaction sees.
    final class SliceFeed {
        private let ranges: [(from: UInt64, through: UInt64)]
        private let feed: OrderedFeed<DecodedSlice>
        private var taken = 0

        /// The producer threads: two, or one on a single core.
        static var producers: Int { min(2, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

        /// - Parameter window: how many decoded slices may wait (the default covers a chunk's
        ///   write and commit, about a third of its time).
        init(_ log: EventLog, from: UInt64, through: UInt64, chunkSize: Int, window: Int = 8) {
            var ranges: [(from: UInt64, through: UInt64)] = []
            let size = UInt64(Projector.sliceSize), chunk = UInt64(max(1, chunkSize))
            var a = from
            while a <= through {
                let chunkEnd = from + ((a - from) / chunk + 1) * chunk - 1
                let b = min(a + size - 1, chunkEnd, through)
                ranges.append((a, b))
                a = b + 1
            }
            self.ranges = ranges
            let all = ranges
            feed = OrderedFeed(count: ranges.count, workers: SliceFeed.producers, window: window) { [log] k in
                try log.environment.read { rtxn in try Projector.decodeSlice(log, from: all[k].from, through: all[k].through, in: rtxn) }
            }
        }

        /// The next slice when it starts at `from` and ends by `through`; nil otherwise (the
        /// caller reads those events itself). Slices wholly before `from` (a chunk folded
        /// again, after its transaction was retried) are dropped.
        func take(from: UInt64, through: UInt64) throws -> (DecodedSlice, through: UInt64)? {
            while taken < ranges.count, ranges[taken].through < from {
                _ = try feed.next()
                taken += 1
            }
            guard taken < ranges.count, ranges[taken].from == from, ranges[taken].through <= through,
                  let slice = try feed.next()
            else { return nil }
            taken += 1
            return (slice, ranges[taken - 1].through)
        }

        func close() { feed.close() }
    }

    static let sliceSize = 4096

    /// A slice of the log decoded for the projections: positions and events, last first.
    /// A reference, so that whoever holds it changes its arrays in place.
    final class DecodedSlice: @unchecked Sendable {
        var positions: [(seq: UInt64, version: UInt64)] = []
        var events: [Event] = []
    }

    /// Reads and decodes the records `from...through`, last first: the fold takes the events
    /// off the end of the array, in seq order, without copying them.
    static func decodeSlice(_ log: EventLog, from: UInt64, through: UInt64, in txn: ReadTransaction) throws -> DecodedSlice {
        let decoder = EventDecoder(mode: .projection)
        // Filled as local arrays, then handed to the slice (a class's arrays are checked for
        // exclusive access at each use).
        var positions: [(seq: UInt64, version: UInt64)] = [], events: [Event] = []
        positions.reserveCapacity(Int(through - from + 1))
        events.reserveCapacity(Int(through - from + 1))
        // Read backwards, so that both come last first without reversing them (which copied
        // every event).
        try log.scanBackwards(from: from, through: through, in: txn) { r in
            positions.append((r.seq, r.version))
            events.append(try decoder.decode(r.payload))
            return true
        }
        let slice = DecodedSlice()
        slice.positions = positions
        slice.events = events
        return slice
    }

    /// Writes a folded chunk's tickets, staff and index changes, and its checkpoint.
    private func write(_ chunk: FoldedChunk, in txn: WriteTransaction) throws {
        guard chunk.count > 0 else { return }
        let g = chunk.generation
        try chunk.store.flush(staff: chunk.engine.staffIDs, in: txn)
        for s in chunk.engine.takeDirtyStaff() {
            try Array(s.info.staff.utf8).withUnsafeBytes { k in try s.encode().withUnsafeBytes { try txn.put(g.staff, key: k, value: $0) } }
        }
        try putUInt(checkpointKey(g), chunk.last, txn)
    }

    /// ``catchUp(progress:)`` holding the writer lock only to write: each chunk is folded in a
    /// read snapshot, then written in a short write transaction when the projection has not
    /// moved since (otherwise it is folded again from where it now is). So the projection can
    /// follow a long import on the other core, while the import's batches hold the lock.
    /// Folds only while at least `atLeast` events are pending (1: whatever is there).
    /// - returns: how many events were applied.
    @discardableResult
    public func catchUpBeside(until stop: () -> Bool = { false }, atLeast: UInt64 = 1) throws -> UInt64 {
        var applied: UInt64 = 0
        while !stop() {
            let chunk = try log.environment.read { txn -> FoldedChunk? in
                let g = try active(txn)
                let checkpoint = try getUInt(checkpointKey(g), txn) ?? 0, head = try log.head(in: txn).seq
                guard head > checkpoint, head - checkpoint >= max(1, atLeast) else { return nil }
                return try fold(g, in: txn, limit: chunkSize)
            }
            guard let chunk, chunk.count > 0 else { return applied }
            var attempted = false
            let written = try log.environment.write { txn -> Bool in
                // Writing consumes the chunk: a transaction run again (the map grew) folds it again.
                guard !attempted else { return false }
                attempted = true
                let g = try active(txn)
                guard g.number == chunk.generation.number, try getUInt(checkpointKey(g), txn) ?? 0 == chunk.from else { return false }
                try write(chunk, in: txn)
                return true
            }
            if written { applied += UInt64(chunk.count) }
        }
        return applied
    }

    private func loadStaff(_ g: Generation, _ txn: ReadTransaction) throws -> [String: StaffRecord] {
        var out: [String: StaffRecord] = [:]
        try txn.withCursor(g.staff) { c in
            var e = try c.first()
            while let entry = e {
                let r = try StaffRecord.decode(entry.value)
                out[r.info.staff] = r
                e = try c.next()
            }
        }
        return out
    }

    // MARK: Reading

    /// Runs `body` against the active stored projection in one read snapshot.
    /// Call ``catchUp(progress:)`` first for the latest state.
    public func read<T>(_ body: (StoredSnapshot) throws -> T) throws -> T {
        try log.environment.read { txn in
            let g = try active(txn)
            let checkpoint = try getUInt(checkpointKey(g), txn) ?? 0
            return try body(StoredSnapshot(txn: txn, generation: g, checkpoint: checkpoint, loadStaff: { try self.loadStaff(g, txn) }))
        }
    }

    /// A stored projection seen through one read transaction.
    public struct StoredSnapshot: ProjectionSnapshot {
        let txn: ReadTransaction
        let generation: Generation
        /// The last seq applied.
        public let checkpoint: UInt64
        let loadStaff: () throws -> [String: StaffRecord]

        public func staffRecords() throws -> [StaffRecord] { Array(try loadStaff().values) }

        public func ticket(_ id: String) throws -> TicketState? {
            try Array(id.utf8).withUnsafeBytes { try txn.get(generation.tickets, key: $0) }.map { try TicketState.decode($0) }
        }

        public func accountableTickets(_ staff: String) throws -> [TicketState] {
            let prefix = Array(staff.utf8) + [0]
            var ids: [String] = []
            try txn.withCursor(generation.accountable) { c in
                var e = try c.seek(atLeast: prefix)
                while let entry = e, entry.key.starts(with: prefix) {
                    ids.append(String(decoding: entry.key[prefix.count...], as: UTF8.self))
                    e = try c.next()
                }
            }
            return try ids.compactMap { try ticket($0) }
        }

        /// Scorecards from the scorecard index (``ScoreIndex``): per member, the counts of the
        /// findings that need no clock and range counts of the deadlines already past `clock`.
        public func scorecards(clock: Timestamp, staff only: String? = nil) throws -> [Scorecard] {
            let bound = ScoreIndex.timeBytes(clock)
            // Deadlines due before the settled time are counted already (at or after it, a clock
            // reads that count and walks the rest); an earlier clock walks from the first.
            let settled = try ScoreIndex.settledKey.withUnsafeBytes { try txn.get(generation.accountable, key: $0) }.map(Array.init)
            let fromSettled = settled.map { !bound.lexicographicallyPrecedes($0) } ?? false
            func stored(_ key: [UInt8]) throws -> Int {
                guard let v = try key.withUnsafeBytes({ try txn.get(generation.accountable, key: $0) }), v.count == 8 else { return 0 }
                return Int(BigEndianKey.uint64(v))
            }
            return try txn.withCursor(generation.accountable) { c in
                /// The member's deadlines of `kind` due before the clock.
                func count(_ id: String, _ kind: UInt8) throws -> Int {
                    let prefix = ScoreIndex.deadlinePrefix(id, kind)
                    guard fromSettled, let settled else { return try ScoreIndex.countDeadlines(c, prefix, from: nil, before: bound) }
                    return try stored(ScoreIndex.settledCountKey(id, kind)) + ScoreIndex.countDeadlines(c, prefix, from: settled, before: bound)
                }
                var out: [Scorecard] = []
                // One member: their record alone (the directory is not decoded).
                let records: [StaffRecord]
                if let only {
                    records = try Array(only.utf8).withUnsafeBytes { try txn.get(generation.staff, key: $0) }.map { [try StaffRecord.decode($0)] } ?? []
                } else {
                    records = try staffRecords().sorted(by: { $0.info.staff < $1.info.staff })
                }
                for record in records {
                    let id = record.info.staff
                    var findings: [Finding.Kind: Int] = [:]
                    for (i, kind) in Finding.Kind.allCases.enumerated() {
                        let n = try stored(ScoreIndex.countKey(id, UInt8(i)))
                        if n > 0 { findings[kind, default: 0] += n }
                    }
                    for kind in [Finding.Kind.callbackOverdue, .noDebrief, .followUpMissing] {
                        let n = try count(id, ScoreIndex.kindByte(kind))
                        if n > 0 { findings[kind, default: 0] += n }
                    }
                    let overdue = try count(id, ScoreIndex.openCallbackKind)
                    out.append(Scorecard(staff: id, name: record.info.name, role: record.info.role, counters: record.counters,
                                         callbacksOverdue: overdue, findings: findings))
                }
                return out
            }
        }

        public func forEachTicket(_ body: (TicketState) throws -> Void) throws {
            try txn.withCursor(generation.tickets) { c in
                var e = try c.first()
                while let entry = e {
                    try body(try TicketState.decode(entry.value))
                    e = try c.next()
                }
            }
        }
    }

    /// SHA-256 over the active projection's databases, in key order (two rebuilds give the same digest).
    public func digest() throws -> [UInt8] {
        try log.environment.read { txn in
            let g = try active(txn)
            var h = SHA256()
            for db in [g.tickets, g.staff, g.accountable] {
                try txn.withCursor(db) { c in
                    var e = try c.first()
                    while let entry = e {
                        h.update(data: BigEndianKey.bytes(UInt64(entry.key.count))); h.update(bufferPointer: entry.key)
                        h.update(data: BigEndianKey.bytes(UInt64(entry.value.count))); h.update(bufferPointer: entry.value)
                        e = try c.next()
                    }
                }
                h.update(data: [0xFF])
            }
            return Array(h.finalize())
        }
    }

    // MARK: As of a point

    /// Replays the log through `seq` into memory, keeping only the events whose `at` is no later
    /// than `eventTime` when one is given: whole projections as they stood then.
    /// Costs the whole log up to `seq`.
    public func replay(through seq: UInt64, until eventTime: Timestamp? = nil) throws -> MemorySnapshot {
        let store = MemoryTicketStore()
        let engine = ProjectionEngine(tickets: store)
        let decoder = EventDecoder(mode: .projection)
        var applied = 0
        try log.environment.read { txn in
            try log.scan(from: 1, through: seq, in: txn) { record in
                let event = try decoder.decode(record.payload)
                if let eventTime, event.at > eventTime { return true }
                try engine.apply(event, seq: record.seq, version: record.version)
                applied += 1
                return true
            }
        }
        var snapshot = MemorySnapshot(engine: engine, store: store)
        snapshot.events = applied
        return snapshot
    }

    /// One ticket as it stood at `seq` (and, given `eventTime`, of its events only those whose
    /// `at` is no later), folded from its own stream (cost: that ticket's events and the streams
    /// of the staff it names), with each staff member as they were at each event.
    public func ticket(_ id: String, asOf seq: UInt64, until eventTime: Timestamp? = nil) throws -> TicketState? {
        try log.environment.read { txn in
            let decoder = EventDecoder(mode: .projection)
            let staff = StreamStaffLookup(history: staffHistory, log: log, txn: txn, asOf: seq)
            var state: TicketState?
            try log.scanStream("ticket:" + id, asOf: seq, in: txn) { record in
                let event = try decoder.decode(record.payload)
                if let eventTime, event.at > eventTime { return true }
                if state == nil, case .callOpened(let b) = event.body {
                    state = TicketState(ticket: id, opened: b, at: event.at)
                }
                _ = try state?.apply(event, seq: record.seq, version: record.version, staff: staff)
                return true
            }
            return state
        }
    }
}

/// Staff members' histories, folded once and kept: staff events never change, so a member's
/// state after each of their events is cached and only extended when a view asks about a
/// point past what was read. An as-of view then costs the ticket's events, not the length of
/// the staff's histories.
final class StaffHistory: @unchecked Sendable {
    struct Member {
        /// The member's state after each of their events, in seq order.
        var states: [(seq: UInt64, info: StaffInfo?)] = []
        /// The log's head when the stream was last read: every event up to it is in `states`.
        var readThrough: UInt64 = 0
    }

    private let lock = NSLock()
    private var members: [String: Member] = [:]

    func member(_ id: String, through seq: UInt64, log: EventLog, txn: ReadTransaction) throws -> Member {
        lock.lock()
        let cached = members[id]
        lock.unlock()
        if let cached, cached.readThrough >= seq { return cached }
        var m = cached ?? Member()
        let head = try log.head(in: txn).seq
        let decoder = EventDecoder(mode: .projection)
        // A staff stream's versions run 1...n: continue after the ones already folded.
        try log.scanStream("staff:" + id, from: UInt64(m.states.count + 1), in: txn) { r in
            m.states.append((r.seq, StaffInfo.applying(try decoder.decode(r.payload), to: m.states.last?.info ?? nil)))
            return true
        }
        m.readThrough = head
        lock.lock()
        if members.count > 100_000 { members.removeAll() }  // bounded memory
        members[id] = m
        lock.unlock()
        return m
    }
}

/// Staff as they were at a seq, from their cached histories.
struct StreamStaffLookup: StaffLookup {
    let history: StaffHistory
    let log: EventLog
    let txn: ReadTransaction
    let asOf: UInt64

    func staff(_ id: String, atSeq seq: UInt64) throws -> StaffInfo? {
        let cut = min(seq, asOf)
        let m = try history.member(id, through: cut, log: log, txn: txn)
        var lo = 0, hi = m.states.count  // the last state at or before the cut
        while lo < hi {
            let mid = (lo + hi) / 2
            if m.states[mid].seq <= cut { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : m.states[lo - 1].info
    }
}

/// Tickets in LMDB behind a write-back cache: read through one transaction while events are
/// folded, written by ``flush(staff:in:)`` in a write transaction (the same one, or a later one
/// that finds the projection where the reading one did).
final class LMDBTicketStore: TicketStore {
    let tickets: Database
    let accountableDB: Database
    /// Valid while the fold runs; not used by `flush`.
    let reader: ReadTransaction
    /// A ticket this chunk has read or written. A reference in one dictionary, so that an event
    /// changes its ticket with one look-up of the id, in place.
    private final class Entry {
        var state: TicketState
        /// The ticket's scorecard index entries as the table held them (nil: not in the table).
        var origin: ScoreIndex?
        /// Changed since it was read or last flushed.
        var dirty = false

        init(state: consuming TicketState, origin: ScoreIndex?, dirty: Bool) {
            self.state = state; self.origin = origin; self.dirty = dirty
        }
    }
    /// Read and written several times an event, by this class's methods alone, none of which
    /// calls another while it changes it: no run-time exclusivity check (see ProjectionEngine).
    @exclusivity(unchecked) private var cache: [String: Entry] = [:]
    private var accountable: [[UInt8]] = []
    /// The latest event time applied in this chunk.
    private var latest: Timestamp?

    init(tickets: Database, accountable: Database, reader: ReadTransaction, expectedTickets: Int = 0) {
        self.tickets = tickets; self.accountableDB = accountable; self.reader = reader
        cache.reserveCapacity(expectedTickets)
    }

    /// The ticket as the table holds it, now in the cache (nil when it is not there).
    private func load(_ id: String) throws -> Entry? {
        guard let bytes = try Array(id.utf8).withUnsafeBytes({ try reader.get(tickets, key: $0) }) else { return nil }
        let t = try TicketState.decode(bytes)
        let e = Entry(state: t, origin: t.scoreIndex, dirty: false)
        cache[id] = e
        return e
    }

    func ticket(_ id: String) throws -> TicketState? {
        try (cache[id] ?? load(id))?.state
    }

    func insert(_ state: consuming TicketState) {
        if let e = cache[state.ticket] {
            e.state = consume state
            e.dirty = true
        } else {
            let id = state.ticket
            cache[id] = Entry(state: consume state, origin: nil, dirty: true)
        }
    }

    func update<R>(_ id: String, _ body: (inout TicketState) throws -> R) throws -> R? {
        guard let e = try cache[id] ?? load(id) else { return nil }
        e.dirty = true
        return try body(&e.state)
    }

    func noteAccountable(staff: String, ticket: String) {
        accountable.append(Array(staff.utf8) + [0] + Array(ticket.utf8))
    }

    func observe(at: Timestamp) {
        if latest.map({ at > $0 }) ?? true { latest = at }
    }

    /// Writes the chunk's tickets and index changes, then moves the settled time up to the
    /// latest event's hour, counting each member's deadlines it passes (`staff`: every member
    /// known so far, the chunk's included).
    func flush<S: Sequence>(staff: S, in txn: WriteTransaction) throws where S.Element == String {
        var counts: [[UInt8]: Int64] = [:]
        var removed = Set<[UInt8]>(), added = Set<[UInt8]>()
        // The dirty tickets, in key order.
        var dirty: [(String, Entry)] = []
        for (id, e) in cache where e.dirty { dirty.append((id, e)) }
        dirty.sort { $0.0 < $1.0 }
        // Each ticket's stored bytes and score index are computed on every core (they read its
        // state alone, which nothing changes meanwhile); the writes follow here, in key order.
        nonisolated(unsafe) let entries = dirty
        let encoded = Parallel.map(entries.count, parts: entries.count >= 1024 ? 2 : 1) { range in
            range.map { i in
                let state = entries[i].1.state
                return (value: state.encode(), after: state.scoreIndex)
            }
        }
        for ((id, e), (value, after)) in zip(dirty, encoded) {
            e.dirty = false
            try Array(id.utf8).withUnsafeBytes { k in try value.withUnsafeBytes { try txn.put(tickets, key: k, value: $0) } }
            let before = e.origin ?? ScoreIndex()
            guard before != after else { continue }
            for (k, n) in before.counts { counts[k, default: 0] -= Int64(n) }
            for (k, n) in after.counts { counts[k, default: 0] += Int64(n) }
            removed.formUnion(before.deadlines.subtracting(after.deadlines))
            added.formUnion(after.deadlines.subtracting(before.deadlines))
            e.origin = after
        }
        for key in accountable { try txn.put(accountableDB, key: key, value: []) }
        // Deadlines due before the settled time are counted: a key added or removed below it
        // changes its member's count.
        let settled = try ScoreIndex.settledKey.withUnsafeBytes { try txn.get(accountableDB, key: $0) }.map(Array.init)
        func settledCount(_ key: [UInt8]) -> [UInt8]? {
            guard let settled, let due = ScoreIndex.due(ofDeadline: key), due.lexicographicallyPrecedes(settled) else { return nil }
            return ScoreIndex.settledCountKey(ofDeadline: key)
        }
        for key in removed.subtracting(added).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            _ = try txn.delete(accountableDB, key: key)
            if let c = settledCount(key) { counts[c, default: 0] -= 1 }
        }
        for key in added.subtracting(removed).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            try txn.put(accountableDB, key: key, value: [])
            if let c = settledCount(key) { counts[c, default: 0] += 1 }
        }
        if let to = latest.map(ScoreIndex.settled(upTo:)), settled.map({ $0.lexicographicallyPrecedes(to) }) ?? true {
            try txn.withCursor(accountableDB) { c in
                for member in staff {
                    for kind in ScoreIndex.deadlineKinds {
                        let n = try ScoreIndex.countDeadlines(c, ScoreIndex.deadlinePrefix(member, kind), from: settled, before: to)
                        if n > 0 { counts[ScoreIndex.settledCountKey(member, kind), default: 0] += Int64(n) }
                    }
                }
            }
            try ScoreIndex.settledKey.withUnsafeBytes { k in try to.withUnsafeBytes { try txn.put(accountableDB, key: k, value: $0) } }
        }
        latest = nil
        for (key, delta) in counts.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) where delta != 0 {
            let stored = try key.withUnsafeBytes { try txn.get(accountableDB, key: $0) }.map { Int64(bitPattern: BigEndianKey.uint64($0)) } ?? 0
            let now = stored + delta
            precondition(now >= 0, "a finding count went below zero")
            if now == 0 { _ = try txn.delete(accountableDB, key: key) } else { try txn.put(accountableDB, key: key, value: BigEndianKey.bytes(UInt64(now))) }
        }
        accountable.removeAll()
    }
}

extension ScoreIndex {
    /// The deadline keys under `prefix` (one member and kind) due at or after `from` (from the
    /// first when nil) and before `to`; times compared as their 8 bytes after the prefix.
    static func countDeadlines(_ c: Cursor, _ prefix: [UInt8], from: [UInt8]?, before to: [UInt8]) throws -> Int {
        var n = 0
        var e = try c.seek(atLeast: prefix + (from ?? []))
        while let entry = e, entry.key.starts(with: prefix), entry.key.count >= prefix.count + 8,
              entry.key[prefix.count..<(prefix.count + 8)].lexicographicallyPrecedes(to) {
            n += 1
            e = try c.next()
        }
        return n
    }
}

/// Keeps a projection following its log on a thread of its own (``Projector/catchUpBeside(until:atLeast:)``)
/// until ``stop()``: while an import appends, its events are projected on the other core, and
/// the catch-up after it has little left to do.
public final class ProjectionFollower: @unchecked Sendable {
    private let projector: Projector
    /// Folds only once this many events are pending.
    private let atLeast: UInt64
    private let condition = NSCondition()
    private var stopping = false
    private var finished = false
    /// What stopped the thread early, if anything (the caller's own catch-up meets it again and reports it).
    public private(set) var failure: (any Error)?

    /// - parameter wholeChunks: fold only whole chunks (``Projector/chunkSize`` events), as an
    ///   import's follower does: each chunk written rewrites the pages of the tickets it changed,
    ///   and a ticket changed by several of the import's batches is then written once, not once
    ///   a batch. The caller's catch-up after ``stop()`` folds the rest.
    public init(_ projector: Projector, wholeChunks: Bool = false) {
        self.projector = projector
        atLeast = wholeChunks ? UInt64(max(1, projector.chunkSize)) : 1
        do {
            try Threads.start("projection follower") { [self] in run() }
        } catch {
            // Following is only a head start: without the thread the caller's own catch-up does it all.
            condition.lock(); finished = true; condition.unlock()
        }
    }

    private var shouldStop: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopping
    }

    private func run() {
        while !shouldStop {
            do {
                if try projector.catchUpBeside(until: { shouldStop }, atLeast: atLeast) == 0 {
                    condition.lock()
                    if !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: 0.05)) }
                    condition.unlock()
                }
            } catch {
                condition.lock(); failure = error; condition.unlock()
                break
            }
        }
        condition.lock(); finished = true; condition.broadcast(); condition.unlock()
    }

    /// Stops following and waits for the thread: the chunk it is folding is written or dropped first.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// Holds a value until ``drop()``, on whichever thread calls it.
private final class ReleaseBox<T>: @unchecked Sendable {
    private var value: T?
    init(_ value: consuming T) { self.value = consume value }
    func drop() { value = nil }
}
