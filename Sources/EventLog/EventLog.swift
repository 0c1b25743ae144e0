import Foundation
import Crypto
import LMDB
#if canImport(Glibc)
import Glibc
#endif

/// The append-only, hash-chained event log (see docs/FORMAT.md).
///
/// ```swift
/// let log = try EventLog(path: dir)
/// let report = try await log.append([draft])
/// try log.verify().ok
/// ```
///
/// Appends from any number of tasks are committed together by one writer
/// thread (group commit: one fsync for many); processes share the log
/// through LMDB's writer lock. Readers see only committed events and never
/// block the writer.
public final class EventLog: Sendable {
    /// The LMDB environment the log lives in (shared with the projections).
    public let environment: Environment
    let dbs: Databases
    /// The id index over `ids`, `id_runs` and `id_run_entries`.
    let idIndex: IdIndex
    let clock: @Sendable () -> Int64
    let committer: GroupCommitter
    private let observer = ObserverSlot()

    /// The log's named databases.
    struct Databases: Sendable {
        /// seq (u64 BE) → record.
        let events: Database
        /// seq (u64 BE) → chain hash (32) ‖ Merkle leaf hash (32).
        let hashes: Database
        /// event id (16) → seq (u64 BE) (‖ content digest (32), when format 4 wrote it): the id index's recent entries.
        let ids: Database
        /// The id index's runs: run number (u32 BE) → count ‖ filter.
        let idRuns: Database
        /// run number (u32 BE) ‖ event id (16) → seq (u64 BE) (‖ content digest (32), as in `ids`).
        let idRunEntries: Database
        /// stream name (UTF-8) → stream number (u64 BE) ‖ version (u64 BE) ‖ seq of its last event (u64 BE).
        let streams: Database
        /// seq (u64 BE) → seq of the previous event of the same stream (u64 BE; 0 for its first).
        let streamLinks: Database
        /// stream number (u64 BE) ‖ version (u64 BE) → seq (u64 BE), for every version that is a
        /// multiple of ``EventLog/markEvery``: where a walk along a long stream's links starts.
        let streamMarks: Database
        /// "head" → seq ‖ recordedAt ‖ stream count ‖ chain hash; "format" → format name.
        let meta: Database
    }

    /// The format this version writes and reads (docs/FORMAT.md). Version 2 moved personal
    /// data into sealed fields and the log's own transaction (docs/PRIVACY.md); version 3 splits the
    /// key-encryption key into 4,096 shard keys, so that an erasure re-seals one or two shards;
    /// version 4 adds the id index's runs (`id_runs`, `id_run_entries`); version 5 keeps no
    /// content digest in the id index's entries (new entries are the seq alone) and links each
    /// event to the previous one of its stream (`stream_links`, `stream_marks`) instead of
    /// indexing every stream position (`stream_events`).
    public static let formatName = "escalation-ledger/5"
    /// The previous formats: format 4 indexes stream positions in `stream_events` and keeps
    /// content digests in its id entries, format 3 also has no id runs. Both are upgraded in
    /// place, in one transaction, when opened writable (``upgrade(_:txn:)``), and refused read-only.
    public static let upgradableFormats = ["escalation-ledger/4", "escalation-ledger/3"]
    /// A stream's versions that have an entry in `stream_marks`: its multiples of this.
    public static let markEvery: UInt64 = 256

    /// Where the log stands.
    public struct Head: Sendable, Equatable {
        public var seq: UInt64
        public var recordedAt: Int64
        public var streams: UInt64
        public var hash: [UInt8]
        public static let empty = Head(seq: 0, recordedAt: 0, streams: 0, hash: [UInt8](repeating: 0, count: 32))
    }

    /// Opens the log in `environment` (creating its databases unless read-only).
    /// - Parameter clock: microseconds since the epoch; injectable for tests.
    public init(environment: Environment, clock: @escaping @Sendable () -> Int64 = EventLog.systemClock,
                idIndexPolicy: IdIndex.Policy = .standard) throws {
        self.environment = environment
        self.clock = clock
        let ro = environment.options.readOnly
        func open(_ name: String) throws -> Database { try environment.openDatabase(name) }
        if !ro {
            dbs = try environment.write { txn in
                // The format is checked before any table is created, so that a ledger of another
                // format is left exactly as it was.
                let meta = try txn.database("meta")
                let existing = try txn.get(meta, key: Array("format".utf8)).map { Array($0) }
                if let existing { try EventLog.checkFormat(existing) }
                let d = Databases(events: try txn.database("events"), hashes: try txn.database("hashes"),
                                  ids: try txn.database("ids"), idRuns: try txn.database("id_runs"),
                                  idRunEntries: try txn.database("id_run_entries"), streams: try txn.database("streams"),
                                  streamLinks: try txn.database("stream_links"), streamMarks: try txn.database("stream_marks"),
                                  meta: meta)
                if let existing, existing != Array(EventLog.formatName.utf8) {
                    try EventLog.upgrade(d, txn: txn)
                }
                if existing != Array(EventLog.formatName.utf8) {
                    try txn.put(d.meta, key: Array("format".utf8), value: Array(EventLog.formatName.utf8))
                }
                return d
            }
        } else {
            let meta = try open("meta")
            if let existing = try environment.read({ try $0.get(meta, key: Array("format".utf8)).map { Array($0) } }) {
                try EventLog.checkFormat(existing)
                if existing != Array(EventLog.formatName.utf8) { throw LogError.upgradeNeeded(EventLog.upgradeNeeded(existing)) }
            }
            dbs = Databases(events: try open("events"), hashes: try open("hashes"), ids: try open("ids"),
                            idRuns: try open("id_runs"), idRunEntries: try open("id_run_entries"),
                            streams: try open("streams"), streamLinks: try open("stream_links"), streamMarks: try open("stream_marks"),
                            meta: meta)
        }
        idIndex = IdIndex(recent: dbs.ids, runs: dbs.idRuns, runEntries: dbs.idRunEntries, policy: idIndexPolicy)
        committer = GroupCommitter()
        committer.log = self
    }

    /// Opens (or creates) a log in directory `path`.
    public convenience init(path: String, options: Environment.Options = Environment.Options(),
                            clock: @escaping @Sendable () -> Int64 = EventLog.systemClock,
                            idIndexPolicy: IdIndex.Policy = .standard) throws {
        try self.init(environment: try Environment(path: path, options: options), clock: clock, idIndexPolicy: idIndexPolicy)
    }

    deinit { committer.stop() }

    /// Refuses a log of another format, saying what to do.
    static func checkFormat(_ stored: [UInt8]) throws {
        guard !stored.elementsEqual(formatName.utf8), !upgradableFormats.contains(where: { stored.elementsEqual($0.utf8) }) else { return }
        let found = String(decoding: stored.prefix(64), as: UTF8.self)
        throw LogError.badFormat("this ledger is in format \(found); this version reads only \(formatName) (and \(upgradableFormats.joined(separator: " and ")), which it upgrades). Nothing was changed. "
            + "Open it with the version that wrote it and export its events (ledger export), or start a new ledger "
            + "(format 1 kept personal data in a way that cannot be erased physically; format 2 sealed every customer "
            + "under one key-encryption key, so that each erasure re-sealed them all; see docs/PRIVACY.md)")
    }

    /// Why a ledger of an earlier format that this version upgrades cannot be opened read-only.
    static func upgradeNeeded(_ stored: [UInt8]) -> String {
        "this ledger is in format \(String(decoding: stored.prefix(64), as: UTF8.self)); this version reads it once it has upgraded it "
            + "to \(formatName), which needs the ledger writable. Nothing was changed. Run any command that writes to it once, "
            + "for example `ledger --ledger DIR stats` (it upgrades the ledger in one transaction, keeping every event and hash), "
            + "or read it with the version that wrote it"
    }

    /// Upgrades a log of format 4 or 3 to this format, inside the transaction that opens it
    /// (docs/FORMAT.md, "Formats 4 and 3"): each event's link to the previous event of its
    /// stream is read from `stream_events`, which is then deleted; `streams` gains each
    /// stream's last seq; `stream_marks` is filled. The id index's entries are left as they
    /// are (their content digests go as they are rewritten). The events and hashes are not
    /// touched: 19.7 s for 10.9M events (BENCHMARKS.md, eighteenth round).
    static func upgrade(_ d: Databases, txn: WriteTransaction) throws {
        let old = try txn.database("stream_events")
        func positionSeq(_ number: UInt64, _ version: UInt64) throws -> UInt64? {
            try withUnsafeBytes(of: (number.bigEndian, version.bigEndian)) { k in
                try txn.get(old, key: k).map { v in
                    guard v.count == 8 else { throw LogError.corrupt(seq: 0, "stream_events: the entry of stream \(number) version \(version) is \(v.count) bytes") }
                    return BigEndianKey.uint64(v)
                }
            }
        }
        // Each stream's last seq, from its number and version.
        var heads: [([UInt8], [UInt8])] = []
        try txn.withCursor(d.streams) { c in
            var e = try c.first()
            while let entry = e {
                guard entry.value.count == 16 else {
                    throw LogError.corrupt(seq: 0, "streams: the entry \(ChainWalk.text(entry.key)) is \(entry.value.count) bytes, not 16")
                }
                let number = BigEndianKey.uint64(entry.value, at: 0), version = BigEndianKey.uint64(entry.value, at: 8)
                guard let last = try positionSeq(number, version) else {
                    throw LogError.corrupt(seq: 0, "stream_events: no entry for the last version of \(ChainWalk.text(entry.key))")
                }
                heads.append((Array(entry.key), Array(entry.value) + BigEndianKey.bytes(last)))
                e = try c.next()
            }
        }
        for (k, v) in heads { try txn.put(d.streams, key: k, value: v) }
        // Each event's link, in seq order (appended), and the marks.
        try txn.withCursor(d.events) { c in
            var e = try c.first()
            while let entry = e {
                guard let r = RecordView(entry.value) else { throw LogError.corrupt(seq: BigEndianKey.uint64(entry.key), "record layout") }
                guard let s = try txn.get(d.streams, key: r.streamBytes), let number = StreamHead(s)?.number else {
                    throw LogError.corrupt(seq: r.seq, "streams: no entry for the event's stream \(ChainWalk.text(r.streamBytes))")
                }
                var previous: UInt64 = 0
                if r.version > 1 {
                    guard let p = try positionSeq(number, r.version - 1), p < r.seq else {
                        throw LogError.corrupt(seq: r.seq, "stream_events: version \(r.version - 1) of \(ChainWalk.text(r.streamBytes)) does not come before it")
                    }
                    previous = p
                }
                try BigEndianKey.with(r.seq) { k in try BigEndianKey.with(previous) { try txn.put(d.streamLinks, key: k, value: $0, flags: .append) } }
                if r.version % markEvery == 0 {
                    try withUnsafeBytes(of: (number.bigEndian, r.version.bigEndian)) { k in
                        try BigEndianKey.with(r.seq) { try txn.put(d.streamMarks, key: k, value: $0) }
                    }
                }
                e = try c.next()
            }
        }
        try txn.drop(old)
    }

    /// Wakes live readers when this process commits (see ``CommitSignal``).
    public var commitSignal: CommitSignal { committer.signal }

    /// The observer of whole append transactions (the ledger's personal-data store).
    public var commitObserver: (any CommitObserver)? { observer.value }

    /// Sets the observer of whole append transactions; call before the first append.
    public func setCommitObserver(_ o: any CommitObserver) { observer.set(o) }

    /// Wall-clock microseconds since the epoch.
    public static let systemClock: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    // MARK: Head

    static let headKey = Array("head".utf8)

    func readHead(_ txn: ReadTransaction) throws -> Head {
        guard let v = try headKeyGet(txn) else { return .empty }
        return Head(seq: BigEndianKey.uint64(v, at: 0), recordedAt: Int64(bitPattern: BigEndianKey.uint64(v, at: 8)),
                    streams: BigEndianKey.uint64(v, at: 16), hash: Array(v[24..<56]))
    }

    private func headKeyGet(_ txn: ReadTransaction) throws -> UnsafeRawBufferPointer? {
        try EventLog.headKey.withUnsafeBytes { try txn.get(dbs.meta, key: $0) }
    }

    func writeHead(_ head: Head, _ txn: WriteTransaction) throws {
        var v = [UInt8](); v.reserveCapacity(56)
        v += BigEndianKey.bytes(head.seq); v += BigEndianKey.bytes(UInt64(bitPattern: head.recordedAt))
        v += BigEndianKey.bytes(head.streams); v += head.hash
        try txn.put(dbs.meta, key: EventLog.headKey, value: v)
    }

    /// The last seq, its recordedAt and chain hash, and the number of streams.
    public func head() throws -> Head { try environment.read { try readHead($0) } }

    /// The head as seen by a transaction the caller holds (for projections reading in the same snapshot).
    public func head(in txn: ReadTransaction) throws -> Head { try readHead(txn) }

    // MARK: Reads

    /// Runs `body` over records `from...through` (inclusive) in seq order, in one snapshot;
    /// `body` returns false to stop early.
    public func scan(from: UInt64 = 1, through: UInt64 = .max,
                     in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        try txn.withCursor(dbs.events) { c in
            var entry = try c.seek(atLeast: max(from, 1))
            while let e = entry {
                guard let r = RecordView(e.value) else { throw LogError.corrupt(seq: BigEndianKey.uint64(e.key), "record layout") }
                if r.seq > through { return }
                if try !body(r) { return }
                entry = try c.next()
            }
        }
    }

    /// The records `through` down to `from`, last first (``scan(from:through:in:_:)`` backwards).
    public func scanBackwards(from: UInt64, through: UInt64,
                              in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.events) { c in
            var entry = try c.seek(atMost: through)
            while let e = entry {
                guard let r = RecordView(e.value) else { throw LogError.corrupt(seq: BigEndianKey.uint64(e.key), "record layout") }
                if r.seq < from { return }
                if try !body(r) { return }
                entry = try c.previous()
            }
        }
    }

    /// Owned copies of up to `limit` events from seq `from`, cut at `through`.
    public func events(from: UInt64 = 1, through: UInt64 = .max, limit: Int = .max) throws -> [RecordedEvent] {
        try environment.read { txn in
            var out: [RecordedEvent] = []
            try scan(from: from, through: through, in: txn) { r in
                out.append(r.copy(hash: try chainHash(r.seq, txn)))
                return out.count < limit
            }
            return out
        }
    }

    /// The event at `seq`, if any.
    public func event(seq: UInt64) throws -> RecordedEvent? {
        try environment.read { txn in
            guard let v = try txn.get(dbs.events, key: seq), let r = RecordView(v) else { return nil }
            return r.copy(hash: try chainHash(seq, txn))
        }
    }

    /// The chain hash stored for `seq`.
    public func chainHash(_ seq: UInt64, _ txn: ReadTransaction) throws -> [UInt8] {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return Array(h[0..<32])
    }

    /// The Merkle leaf hash (SHA-256(0x00 ‖ record)) stored for `seq`.
    public func leafHash(_ seq: UInt64, _ txn: ReadTransaction) throws -> [UInt8] {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return Array(h[32..<64])
    }

    /// The chain hash and the Merkle leaf hash stored for `seq`, in one look-up.
    public func hashes(_ seq: UInt64, _ txn: ReadTransaction) throws -> (chain: [UInt8], leaf: [UInt8]) {
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else { throw LogError.corrupt(seq: seq, "missing hash") }
        return (Array(h[0..<32]), Array(h[32..<64]))
    }

    /// ``scan(from:through:in:_:)`` with each record's stored chain hash and leaf hash, read by a
    /// second cursor walking the hash table beside the first (a look-up of each seq searched
    /// the table from its root: a read path's most expensive LMDB call).
    /// - throws: ``LogError/corrupt(seq:_:)`` when a record has no hash entry.
    public func scanWithHashes(from: UInt64, through: UInt64, in txn: ReadTransaction,
                               _ body: (RecordView, _ chain: UnsafeRawBufferPointer, _ leaf: UnsafeRawBufferPointer) throws -> Bool) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.hashes) { h in
            var hash = try h.seek(atLeast: max(from, 1))
            try scan(from: from, through: through, in: txn) { r in
                guard let e = hash, e.value.count == 64, BigEndianKey.uint64(e.key) == r.seq else {
                    throw LogError.corrupt(seq: r.seq, "missing hash")
                }
                guard try body(r, UnsafeRawBufferPointer(rebasing: e.value[0..<32]), UnsafeRawBufferPointer(rebasing: e.value[32..<64]))
                else { return false }
                hash = try h.next()
                return true
            }
        }
    }

    /// Calls `body` with each stored (chain hash, leaf hash) pair for seqs `from...through`.
    public func scanHashes(from: UInt64, through: UInt64, in txn: ReadTransaction,
                           _ body: (UInt64, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        guard from <= through else { return }
        try txn.withCursor(dbs.hashes) { c in
            var entry = try c.seek(atLeast: from)
            while let e = entry {
                let seq = BigEndianKey.uint64(e.key)
                if seq > through { return }
                guard e.value.count == 64 else { throw LogError.corrupt(seq: seq, "hash entry") }
                try body(seq, UnsafeRawBufferPointer(rebasing: e.value[0..<32]), UnsafeRawBufferPointer(rebasing: e.value[32..<64]))
                entry = try c.next()
            }
        }
    }

    /// A stream's current version (0 when it has no events).
    public func streamVersion(_ stream: String, in txn: ReadTransaction) throws -> UInt64 {
        try Array(stream.utf8).withUnsafeBytes { try streamHead($0, in: txn)?.version } ?? 0
    }

    /// A stream's entry in `streams`: its number, current version and last event's seq.
    struct StreamHead {
        var number: UInt64, version: UInt64, last: UInt64
        /// The size of a `streams` value.
        static let size = 24

        /// The entry that `value` holds, or nil when it is not ``size`` bytes.
        init?(_ value: UnsafeRawBufferPointer) {
            guard value.count == StreamHead.size else { return nil }
            (number, version, last) = (BigEndianKey.uint64(value, at: 0), BigEndianKey.uint64(value, at: 8), BigEndianKey.uint64(value, at: 16))
        }
    }

    func streamHead(_ name: UnsafeRawBufferPointer, in txn: ReadTransaction) throws -> StreamHead? {
        guard let s = try txn.get(dbs.streams, key: name) else { return nil }
        guard let head = StreamHead(s) else {
            throw LogError.corrupt(seq: 0, "streams: the entry of \(ChainWalk.text(name)) is \(s.count) bytes, not \(StreamHead.size)")
        }
        return head
    }

    /// The seq of the event before `seq` in its stream (0 when it is the stream's first), read
    /// with a cursor on `stream_links`: a stream's links are often on the page of the last one
    /// read, and LMDB then looks there before it searches from the root.
    private func previousInStream(_ seq: UInt64, links: Cursor) throws -> UInt64 {
        guard let e = try BigEndianKey.with(seq, { try links.seek(exactly: $0) }), e.value.count == 8 else {
            throw LogError.corrupt(seq: seq, "stream_links: no 8-byte entry")
        }
        let previous = BigEndianKey.uint64(e.value)
        guard previous < seq else { throw LogError.corrupt(seq: seq, "stream_links: the entry leads forward, to seq \(previous)") }
        return previous
    }

    /// Where a walk back along a stream's links to `version` starts: its first mark at or after
    /// `version` (fewer than ``markEvery`` steps away), or its last event.
    private func anchor(_ version: UInt64, of head: StreamHead, in txn: ReadTransaction) throws -> (version: UInt64, seq: UInt64) {
        let firstMark = (version + EventLog.markEvery - 1) / EventLog.markEvery * EventLog.markEvery
        if firstMark < head.version {
            let seq = try withUnsafeBytes(of: (head.number.bigEndian, firstMark.bigEndian)) { try txn.get(dbs.streamMarks, key: $0) }
            guard let seq, seq.count == 8 else {
                throw LogError.corrupt(seq: head.last, "stream_marks: no entry for version \(firstMark) of stream \(head.number)")
            }
            return (firstMark, BigEndianKey.uint64(seq))
        }
        return (head.version, head.last)
    }

    /// The record at `seq`, which the links say is `version` of `name` (read with a cursor on
    /// `events`, for the same reason as the links).
    private func streamRecord(_ seq: UInt64, version: UInt64, of name: UnsafeRawBufferPointer, events: Cursor) throws -> RecordView {
        guard let e = try BigEndianKey.with(seq, { try events.seek(exactly: $0) }), let r = RecordView(e.value) else {
            throw LogError.corrupt(seq: seq, "a stream's link points nowhere")
        }
        guard r.version == version, r.streamBytes.elementsEqual(name) else {
            throw LogError.corrupt(seq: seq, "the stream links of \(ChainWalk.text(name)) lead to another stream's event or version")
        }
        return r
    }

    /// Reading direction in a stream.
    public enum Direction: Sendable { case forward, backward }

    /// Runs `body` over a stream's events in `direction`, starting at version `from`
    /// (forward: the first version >= from; backward: the last <= from), seeing only
    /// events with seq <= `asOf`. `body` returns false to stop.
    ///
    /// Each event links to the previous one of its stream (`stream_links`), and every
    /// ``markEvery``-th version is marked (`stream_marks`): a backward read follows the links
    /// from the first mark at or after `from`; a forward read takes the stream a segment of at
    /// most ``markEvery`` versions at a time, each found by walking back from its end. Memory
    /// and the steps to reach any version stay under ``markEvery``, however long the stream.
    public func scanStream(_ stream: String, from: UInt64? = nil, direction: Direction = .forward,
                           asOf: UInt64 = .max, in txn: ReadTransaction, _ body: (RecordView) throws -> Bool) throws {
        let nameBytes = Array(stream.utf8)
        try nameBytes.withUnsafeBytes { name in
            guard let head = try streamHead(name, in: txn), head.version > 0 else { return }
            try txn.withCursor(dbs.streamLinks) { links in try txn.withCursor(dbs.events) { events in
                switch direction {
                case .forward:
                    var version = max(from ?? 1, 1)
                    var segment: [UInt64] = []
                    while version <= head.version {
                        let end = try anchor(version, of: head, in: txn)
                        segment.removeAll(keepingCapacity: true)
                        var seq = end.seq
                        for v in stride(from: end.version, to: version, by: -1) {
                            segment.append(seq)
                            seq = try previousInStream(seq, links: links)
                            if seq == 0 { throw LogError.corrupt(seq: segment.last!, "stream_links: version \(v) of \(ChainWalk.text(name)) has no previous event") }
                        }
                        segment.append(seq)
                        for (i, seq) in segment.reversed().enumerated() {
                            if seq > asOf { return } // later versions have later seqs
                            if try !body(try streamRecord(seq, version: version + UInt64(i), of: name, events: events)) { return }
                        }
                        version = end.version + 1
                    }
                case .backward:
                    var version = min(from ?? .max, head.version)
                    guard version >= 1 else { return }
                    let start = try anchor(version, of: head, in: txn)
                    var seq = start.seq
                    for _ in version..<start.version { seq = try previousInStream(seq, links: links) }
                    while seq != 0 {
                        if seq <= asOf {
                            if try !body(try streamRecord(seq, version: version, of: name, events: events)) { return }
                        }
                        seq = try previousInStream(seq, links: links)
                        version -= 1
                        if (seq == 0) != (version == 0) {
                            throw LogError.corrupt(seq: seq, "stream_links: \(ChainWalk.text(name)) does not end at its version 1")
                        }
                    }
                }
            } }
        }
    }

    /// Owned copies of a stream's events (see ``scanStream(_:from:direction:asOf:in:_:)``).
    public func stream(_ stream: String, from: UInt64? = nil, direction: Direction = .forward,
                       asOf: UInt64 = .max, limit: Int = .max) throws -> [RecordedEvent] {
        try environment.read { txn in
            var out: [RecordedEvent] = []
            try scanStream(stream, from: from, direction: direction, asOf: asOf, in: txn) { r in
                out.append(r.copy(hash: try chainHash(r.seq, txn)))
                return out.count < limit
            }
            return out
        }
    }

    /// The last seq whose recordedAt is <= `time` (0 if none): what the ledger knew then.
    /// recordedAt never decreases along seq, so this is a binary search.
    public func seq(asOfTime time: Int64, in txn: ReadTransaction) throws -> UInt64 {
        let head = try readHead(txn)
        var lo: UInt64 = 0, hi = head.seq  // invariant: recordedAt(lo) <= time (lo = 0 is "before all")
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2
            guard let v = try txn.get(dbs.events, key: mid), let r = RecordView(v) else { throw LogError.corrupt(seq: mid, "missing event") }
            if r.recordedAt <= time { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    public func seq(asOfTime time: Int64) throws -> UInt64 { try environment.read { try seq(asOfTime: time, in: $0) } }

    /// The `events` database (record bytes by seq), for code that hands records on as they are.
    public var eventsDatabase: Database { dbs.events }

    /// The seq of an event id, if the log holds it.
    public func seq(of id: RecordID, in txn: ReadTransaction) throws -> UInt64? {
        try id.withBytes { k in try idIndex.find(k, in: txn).map { BigEndianKey.uint64($0) } }
    }
}

/// Failures of the log itself (not refusals of an event).
public enum LogError: Error, Sendable, CustomStringConvertible, Equatable {
    case badFormat(String)
    /// A format this version upgrades, opened read-only: what to do.
    case upgradeNeeded(String)
    case corrupt(seq: UInt64, String)
    case closed
    case streamNameTooLong(Int)
    /// The id index (`ids`, `id_runs`, `id_run_entries`) does not follow docs/FORMAT.md.
    case damagedIndex(String)

    public var description: String {
        switch self {
        case .badFormat(let m): return "not an escalation ledger: \(m)"
        case .upgradeNeeded(let m): return m
        case .corrupt(let seq, let m): return "log damaged at seq \(seq): \(m)"
        case .closed: return "the log is closed"
        case .streamNameTooLong(let n): return "stream name of \(n) bytes is longer than \(RecordLayout.maxStreamLength)"
        case .damagedIndex(let m): return "the id index is damaged: \(m)"
        }
    }
}

/// A lock-protected reference to the commit observer.
final class ObserverSlot: @unchecked Sendable {
    private let lock = NSLock()
    private weak var stored: (any CommitObserver)?
    var value: (any CommitObserver)? { lock.lock(); defer { lock.unlock() }; return stored }
    func set(_ o: any CommitObserver) { lock.lock(); stored = o; lock.unlock() }
}
