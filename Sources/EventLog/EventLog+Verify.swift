import Crypto
import LMDB

/// The result of walking the chain.
public struct VerifyResult: Sendable, Equatable {
    public var ok: Bool
    /// Events checked (all of them when ok; those before the first bad one otherwise).
    public var checked: UInt64
    /// The first seq whose record, hash or position is wrong.
    public var firstBadSeq: UInt64?
    /// What was wrong there.
    public var problem: String?

    public init(ok: Bool, checked: UInt64, firstBadSeq: UInt64?, problem: String?) {
        self.ok = ok
        self.checked = checked
        self.firstBadSeq = firstBadSeq
        self.problem = problem
    }

    /// Damage found after `checked` events, at `seq` when it can be tied to one.
    public static func damaged(checked: UInt64, at seq: UInt64?, _ problem: String) -> VerifyResult {
        VerifyResult(ok: false, checked: checked, firstBadSeq: seq, problem: problem)
    }
}

extension EventLog {
    /// Walks the whole log in one snapshot and checks every entry of its own tables
    /// (docs/VERIFY.md, "What `verify` checks"):
    ///
    /// - `events` and `hashes`: every seq from 1 to the head, once, under its own key; each
    ///   record well formed and at its own seq; chain hash = SHA-256(previous ‖ record); leaf
    ///   hash = SHA-256(0x00 ‖ record); recordedAt never decreasing;
    /// - `ids` and the runs: exactly one entry per event, its id leading to its seq (8-byte values,
    ///   or 40 as format 4 wrote them);
    /// - `stream_links`: one entry per event, leading to the previous event of its stream (0
    ///   for its first), so that each stream's versions run 1, 2, … without gaps in seq order;
    ///   `streams`: exactly one entry per stream, with its number (its rank of first
    ///   appearance), its last version and its last event's seq; `stream_marks`: exactly the
    ///   (stream number, version) → seq of every version that is a multiple of
    ///   ``EventLog/markEvery``;
    /// - `meta`: the format, and a head naming the last event, its time, its chain hash and
    ///   the number of streams, and nothing else.
    ///
    /// The indexes are walked in their own key order and compared with the events as
    /// multisets (sums of keyed hashes, ``IndexSums``), which costs far less than looking
    /// every event up; when they differ, a second walk looks every event up to name the
    /// first one whose entry is wrong. Damage is reported, never thrown: a malformed entry,
    /// an LMDB error that says the file is damaged (``LMDBError/isDamage``) or a missing
    /// table give `ok == false`.
    /// - Parameter progress: called every 65,536 events with the seq reached and the head.
    /// - throws: only failures that are not damage (e.g. no reader slot, an I/O error).
    public func verify(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerifyResult {
        var reached: UInt64 = 0
        do {
            return try environment.read { txn in try verify(in: txn, reached: &reached, progress: progress) }
        } catch {
            guard let why = EventLog.damage(error) else { throw error }
            return .damaged(checked: reached, at: reached + 1, why)
        }
    }

    /// ``verify(progress:)`` in a snapshot the caller holds (to check derived tables in the
    /// same one). `reached` is the last seq whose record and hashes were checked, also when it throws.
    public func verify(in txn: ReadTransaction, reached: inout UInt64,
                       progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerifyResult {
        var walk = ChainWalk(log: self, txn: txn)
        return try walk.run(reached: &reached, progress: progress)
    }

    /// A one-line description of `error` when it shows that the ledger's files are damaged
    /// (an LMDB error of a damaged file, a missing table, a log entry that cannot be read),
    /// nil for other failures.
    public static func damage(_ error: any Error) -> String? {
        switch error {
        case let e as LMDBError where e.isMissingDatabase:
            return "the table \(e.databaseName ?? "?") is missing from the log's file"
        case let e as LMDBError where e.isSpoiledTransaction:
            // LMDB spoils a snapshot when a page read fails, sometimes without saying so at once.
            return "LMDB reports the log's file damaged: a page read failed and spoiled the snapshot (then \(e.context): \(e.message))"
        case let e as LMDBError where e.isDamage:
            return "LMDB reports the log's file damaged in \(e.context): \(e.message)"
        case LogError.corrupt(let seq, let why):
            return "seq \(seq): \(why)"
        default:
            return nil
        }
    }

    /// The format name stored in the log at `path` (a directory holding `data.mdb`), read
    /// without opening the log; nil when there is none.
    public static func storedFormat(path: String) throws -> String? {
        var options = Environment.Options()
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        let meta = try env.openDatabase("meta")
        return try env.read { txn in try txn.get(meta, key: Array("format".utf8)).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Formats that earlier versions of this software wrote: refused with a message, not damage.
    public static let earlierFormats: Set<String> = ["escalation-ledger/1", "escalation-ledger/2", "escalation-ledger/3", "escalation-ledger/4"]

    // MARK: Looking entries up

    /// What ``lookUpEntries(of:in:state:)`` carries from one event to the next.
    public struct LookupState {
        /// Streams met so far (a stream's number is its rank of first appearance).
        public var streams: UInt64 = 0
        /// The id index's runs, read at the first event (valid in that transaction).
        var runs: [IdIndex.Run]?
        public init() {}
    }

    /// Looks up, the way queries do (from the root of each B-tree), the event's own entry
    /// in `events` and `hashes`, its id in `ids`, its stream in `streams`, its link in
    /// `stream_links` (and the event it leads to) and its mark in `stream_marks`, and returns
    /// what is wrong, or nil. Call it for every event in seq order with one `state`.
    public func lookUpEntries(of r: RecordView, in txn: ReadTransaction, state: inout LookupState) throws -> String? {
        let seq = r.seq
        guard let stored = try txn.get(dbs.events, key: seq),
              stored.baseAddress == r.bytes.baseAddress || (stored.count == r.bytes.count && stored.elementsEqual(r.bytes)) else {
            return "events: looking seq \(seq) up finds no event (the table's inner pages are damaged)"
        }
        guard let h = try txn.get(dbs.hashes, key: seq), h.count == 64 else {
            return "hashes: looking seq \(seq) up finds no 64-byte entry"
        }
        let idBytes = UnsafeRawBufferPointer(rebasing: r.bytes[25..<41])
        let found: UnsafeRawBufferPointer?
        do {
            if state.runs == nil { state.runs = try idIndex.loadRuns(txn) }
            found = try idIndex.find(idBytes, runs: state.runs!, in: txn)
        } catch LogError.damagedIndex(let why) {
            return why
        }
        guard let idValue = found else {
            return "ids: no entry for the id \(r.id.uuidString) of the event at seq \(seq)"
        }
        // `find` hands back only 8- or 40-byte entries (another size is the error caught above).
        guard BigEndianKey.uint64(idValue) == seq else {
            return "ids: the id \(r.id.uuidString) of the event at seq \(seq) leads to seq \(BigEndianKey.uint64(idValue))"
        }
        let name = r.streamBytes
        guard !name.isEmpty, let s = try txn.get(dbs.streams, key: name) else {
            return "streams: no entry for the stream \(ChainWalk.text(name)) of the event at seq \(seq)"
        }
        guard let streamHead = StreamHead(s) else {
            return "streams: the entry of \(ChainWalk.text(name)) is \(s.count) bytes, not \(StreamHead.size)"
        }
        let (number, current, last) = (streamHead.number, streamHead.version, streamHead.last)
        if r.version == 0 || r.version > current {
            return "streams: \(ChainWalk.text(name)) is at version \(current) but the event at seq \(seq) has version \(r.version)"
        }
        if (r.version == current) != (last == seq) {
            return "streams: \(ChainWalk.text(name)) says its last event (version \(current)) is at seq \(last), but the event at seq \(seq) has version \(r.version)"
        }
        if r.version == 1 {
            state.streams += 1
            if number != state.streams {
                return "streams: \(ChainWalk.text(name)) has number \(number); it first appears at seq \(seq), as stream \(state.streams)"
            }
        }
        guard let link = try txn.get(dbs.streamLinks, key: seq), link.count == 8 else {
            return "stream_links: looking seq \(seq) up finds no 8-byte entry"
        }
        let previous = BigEndianKey.uint64(link)
        if r.version == 1 {
            if previous != 0 { return "stream_links: the event at seq \(seq), the first of \(ChainWalk.text(name)), links to seq \(previous)" }
        } else {
            let before = previous < seq ? try txn.get(dbs.events, key: previous).flatMap { RecordView($0) } : nil
            guard let before, before.version == r.version - 1, before.streamBytes.elementsEqual(name) else {
                return "stream_links: the event at seq \(seq) (version \(r.version) of \(ChainWalk.text(name))) links to seq \(previous), "
                    + "which is not version \(r.version - 1) of its stream before it"
            }
        }
        if r.version % EventLog.markEvery == 0 {
            let mark = try withUnsafeBytes(of: (number.bigEndian, r.version.bigEndian)) { try txn.get(dbs.streamMarks, key: $0) }
            guard let mark, mark.count == 8, BigEndianKey.uint64(mark) == seq else {
                let found = mark.map { $0.count == 8 ? "leads to seq \(BigEndianKey.uint64($0))" : "is \($0.count) bytes" } ?? "is missing"
                return "stream_marks: the entry of stream \(number) version \(r.version) (\(ChainWalk.text(name))) \(found), not seq \(seq)"
            }
        }
        return nil
    }

    /// The content digest that the id index's entry for `id` still keeps (32 bytes) when format 4
    /// wrote it; nil when the entry is the seq alone, or when there is none.
    public func contentDigest(of id: RecordID, in txn: ReadTransaction) throws -> [UInt8]? {
        try id.withBytes { k in
            try idIndex.find(k, in: txn).flatMap { $0.count == IdIndex.legacyValueSize ? Array($0[8..<40]) : nil }
        }
    }
}

/// Order-independent sums that compare an index with the events it indexes: each side adds
/// a keyed hash of every entry it expects or finds, so that the two sums are equal when
/// the two multisets are and differ, but with a chance of about 2⁻⁶¹, when they are not.
/// The key is Swift's per-process random hashing seed, so a change cannot be made to
/// cancel out without knowing it.
struct IndexSums {
    /// The prime 2⁶¹ − 1: the sums live in the field of integers modulo it.
    static let p: UInt64 = (1 << 61) - 1

    @inline(__always)
    static func reduce(_ x: UInt64) -> UInt64 {
        let r = (x & p) &+ (x >> 61)
        return r >= p ? r - p : r
    }

    @inline(__always)
    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 { reduce(a &+ b) }

    @inline(__always)
    static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)  // < 2¹²²
        return reduce((lo & p) &+ reduce((lo >> 61) | (hi << 3)))
    }

    /// A keyed hash of `bytes` in family `tag`, reduced into the field.
    @inline(__always)
    static func hash(_ tag: UInt8, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = Hasher()
        h.combine(tag)
        h.combine(bytes: bytes)
        return reduce(UInt64(UInt(bitPattern: h.finalize())))
    }

    @inline(__always)
    static func hash(_ tag: UInt8, _ a: UInt64, _ b: UInt64) -> UInt64 {
        var h = Hasher()
        h.combine(tag)
        h.combine(a)
        h.combine(b)
        return reduce(UInt64(UInt(bitPattern: h.finalize())))
    }

    @inline(__always)
    static func hash(_ tag: UInt8, _ bytes: UnsafeRawBufferPointer, _ a: UInt64, _ b: UInt64) -> UInt64 {
        var h = Hasher()
        h.combine(tag)
        h.combine(bytes: bytes)
        h.combine(a)
        h.combine(b)
        return reduce(UInt64(UInt(bitPattern: h.finalize())))
    }

    static let idTag: UInt8 = 1, streamNameTag: UInt8 = 2, positionTag: UInt8 = 3, streamHeadTag: UInt8 = 4, markTag: UInt8 = 5
}

/// One walk over the log's tables (see ``EventLog/verify(progress:)``).
struct ChainWalk {
    let log: EventLog
    let txn: ReadTransaction
    var dbs: EventLog.Databases { log.dbs }

    init(log: EventLog, txn: ReadTransaction) {
        self.log = log
        self.txn = txn
    }

    /// Lowercase hex of a key for messages (at most 64 bytes shown).
    static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes.prefix(64) { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self) + (bytes.count > 64 ? "…" : "")
    }

    /// A stream name or key for messages: quoted text when it is printable UTF-8, else hex.
    static func text(_ bytes: some Collection<UInt8>) -> String {
        if bytes.count <= 200, let s = String(validating: bytes, as: UTF8.self), !s.isEmpty,
           s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return "\"" + s + "\""
        }
        return "0x" + hex(bytes)
    }

    mutating func run(reached: inout UInt64, progress: ((UInt64, UInt64) -> Void)?) throws -> VerifyResult {
        // meta: the format, then the head.
        guard let format = try txn.get(dbs.meta, key: Array("format".utf8)) else {
            return .damaged(checked: 0, at: nil, "meta: the format entry is missing")
        }
        guard format == Array(EventLog.formatName.utf8) || EventLog.upgradableFormats.contains(where: { format == Array($0.utf8) }) else {
            return .damaged(checked: 0, at: nil, "meta: the format reads \(ChainWalk.text(format)), not \(EventLog.formatName)")
        }
        let headValue = try txn.get(dbs.meta, key: EventLog.headKey)
        if let v = headValue, v.count != 56 {
            return .damaged(checked: 0, at: nil, "meta: the head entry is \(v.count) bytes, not 56")
        }
        let head = try log.readHead(txn)
        let metaEntries = try txn.count(dbs.meta)
        if metaEntries != 1 + (headValue == nil ? 0 : 1) {
            return .damaged(checked: 0, at: nil, try unexpectedMetaKey() ?? "meta: \(metaEntries) entries, expected the format and the head only")
        }

        let pageSize = try txn.pageSize()
        var previous = [UInt8](repeating: 0, count: 32)
        var expected: UInt64 = 1
        var lastRecordedAt = Int64.min
        var streamsSeen: UInt64 = 0
        var bad: (UInt64?, String)?
        // Expected and found sums (IndexSums) of ids, stream links, stream numbers and marks.
        // Links: every event e of stream S adds K(S)·L(version, seq) to `linksExpected`; its link
        // p adds K(S)·L(version − 1, p) to `linksFound` (version > 1), and each `streams` entry
        // adds K(S)·L(last version, last seq). The two are equal exactly when each stream's links
        // lead from every event but the first to the one version before it, and the head names
        // the last.
        var idsExpected: UInt64 = 0
        var linksExpected: UInt64 = 0, linksFound: UInt64 = 0
        var numbersExpected: UInt64 = 0, marksExpected: UInt64 = 0
        try txn.withCursor(dbs.events) { ec in
            try txn.withCursor(dbs.hashes) { hc in
                try txn.withCursor(dbs.streamLinks) { lc in
                    var entry = try ec.first()
                    var hashEntry = try hc.first()
                    var linkEntry = try lc.first()
                    while let e = entry {
                        let seq = expected
                        if seq > head.seq {
                            bad = (seq, "events: an event at seq \(seq) after the head (seq \(head.seq))"); return
                        }
                        guard e.key.count == 8, BigEndianKey.uint64(e.key) == seq else {
                            bad = (seq, "events: the entry for seq \(seq) is under the key 0x\(ChainWalk.hex(e.key))"); return
                        }
                        guard Plausible.value(e.value, pageSize: pageSize), let r = RecordView(e.value) else {
                            bad = (seq, "events: the record at seq \(seq) is malformed (\(e.value.count) bytes; see docs/FORMAT.md)"); return
                        }
                        if r.seq != seq { bad = (seq, "record claims seq \(r.seq)"); return }
                        guard let h = hashEntry, h.key.count == 8, BigEndianKey.uint64(h.key) == seq else {
                            bad = (seq, "hash entry missing"); return
                        }
                        guard h.value.count == 64 else {
                            bad = (seq, "hashes: the entry at seq \(seq) is \(h.value.count) bytes, not 64"); return
                        }
                        var chain = SHA256(); chain.update(data: previous); chain.update(bufferPointer: r.bytes)
                        let c = chain.finalize()
                        let chainOK = c.withUnsafeBytes { $0.elementsEqual(UnsafeRawBufferPointer(rebasing: h.value[0..<32])) }
                        if !chainOK { bad = (seq, "chain hash does not match the record"); return }
                        var leaf = SHA256(); leaf.update(data: [0]); leaf.update(bufferPointer: r.bytes)
                        let l = leaf.finalize()
                        if !l.withUnsafeBytes({ $0.elementsEqual(UnsafeRawBufferPointer(rebasing: h.value[32..<64])) }) {
                            bad = (seq, "leaf hash does not match the record"); return
                        }
                        if r.recordedAt < lastRecordedAt {
                            bad = (seq, "recordedAt goes back in time at seq \(seq)"); return
                        }
                        let name = r.streamBytes
                        if name.isEmpty || r.version == 0 {
                            bad = (seq, "events: the record at seq \(seq) has no stream or version 0"); return
                        }
                        // ids: (id, seq) expected once.
                        idsExpected = IndexSums.add(idsExpected, IndexSums.hash(IndexSums.idTag, UnsafeRawBufferPointer(rebasing: r.bytes[25..<41]), seq, 0))
                        guard let l = linkEntry, l.key.count == 8, BigEndianKey.uint64(l.key) == seq else {
                            bad = (seq, "stream_links: no entry for seq \(seq)"); return
                        }
                        guard l.value.count == 8 else {
                            bad = (seq, "stream_links: the entry at seq \(seq) is \(l.value.count) bytes, not 8"); return
                        }
                        let link = BigEndianKey.uint64(l.value)
                        let k = IndexSums.hash(IndexSums.streamNameTag, name)
                        linksExpected = IndexSums.add(linksExpected, IndexSums.multiply(k, IndexSums.hash(IndexSums.positionTag, r.version, seq)))
                        if r.version == 1 {
                            // A stream's number is its rank of first appearance.
                            if link != 0 {
                                bad = (seq, "stream_links: the event at seq \(seq), the first of \(ChainWalk.text(name)), links to seq \(link)"); return
                            }
                            streamsSeen += 1
                            numbersExpected = IndexSums.add(numbersExpected, IndexSums.hash(IndexSums.streamHeadTag, name, streamsSeen, 0))
                        } else {
                            if link == 0 || link >= seq {
                                bad = (seq, "stream_links: the event at seq \(seq) (version \(r.version) of \(ChainWalk.text(name))) links to seq \(link)"); return
                            }
                            linksFound = IndexSums.add(linksFound, IndexSums.multiply(k, IndexSums.hash(IndexSums.positionTag, r.version - 1, link)))
                        }
                        if r.version % EventLog.markEvery == 0 {
                            marksExpected = IndexSums.add(marksExpected, IndexSums.multiply(k, IndexSums.hash(IndexSums.markTag, r.version, seq)))
                        }
                        previous = Array(c)
                        lastRecordedAt = r.recordedAt
                        reached = seq
                        expected += 1
                        entry = try ec.next()
                        hashEntry = try hc.next()
                        linkEntry = try lc.next()
                        if seq & 0xFFFF == 0 { progress?(seq, head.seq) }
                    }
                    if bad == nil, let h = hashEntry {
                        let key = h.key.count == 8 ? "seq \(BigEndianKey.uint64(h.key))" : "key 0x\(ChainWalk.hex(h.key))"
                        bad = (expected, "hashes: an entry for \(key) beyond the last event")
                    }
                    if bad == nil, let l = linkEntry {
                        let key = l.key.count == 8 ? "seq \(BigEndianKey.uint64(l.key))" : "key 0x\(ChainWalk.hex(l.key))"
                        bad = (expected, "stream_links: an entry for \(key) beyond the last event")
                    }
                }
            }
        }
        progress?(expected - 1, head.seq)
        if let (seq, why) = bad { return .damaged(checked: expected - 1, at: seq, why) }
        let last = expected - 1
        if last != head.seq {
            return .damaged(checked: last, at: min(last + 1, head.seq), "log ends at seq \(last) but its head says \(head.seq)")
        }
        if head.hash != previous { return .damaged(checked: last, at: head.seq, "head hash does not match the last event") }
        if head.seq > 0, head.recordedAt != lastRecordedAt {
            return .damaged(checked: last, at: head.seq, "meta: the head's recordedAt is not the last event's")
        }
        if head.streams != streamsSeen {
            return .damaged(checked: last, at: nil, "meta: the head counts \(head.streams) streams, the log has \(streamsSeen)")
        }
        // ids and streams, each in its own key order.
        var idsFound: UInt64 = 0, idEntries = 0
        var malformed: String?
        try txn.withCursor(dbs.ids) { c in
            var e = try c.first()
            while let entry = e {
                guard entry.key.count == 16, IdIndex.isValueSize(entry.value.count) else {
                    malformed = "ids: the entry 0x\(ChainWalk.hex(entry.key)) is malformed (\(entry.key.count)-byte key, \(entry.value.count)-byte value)"
                    return
                }
                idsFound = IndexSums.add(idsFound, IndexSums.hash(IndexSums.idTag, entry.key, BigEndianKey.uint64(entry.value), 0))
                idEntries += 1
                e = try c.next()
            }
        }
        if let malformed { return .damaged(checked: last, at: nil, malformed) }
        if let problem = try checkRuns(found: &idsFound, entries: &idEntries) { return .damaged(checked: last, at: nil, problem) }
        var numbersFound: UInt64 = 0, streamEntries = 0
        try txn.withCursor(dbs.streams) { c in
            var e = try c.first()
            while let entry = e {
                guard !entry.key.isEmpty, let head = EventLog.StreamHead(entry.value) else {
                    malformed = "streams: the entry \(ChainWalk.text(entry.key)) is malformed (\(entry.value.count)-byte value)"
                    return
                }
                let k = IndexSums.hash(IndexSums.streamNameTag, entry.key)
                numbersFound = IndexSums.add(numbersFound, IndexSums.hash(IndexSums.streamHeadTag, entry.key, head.number, 0))
                linksFound = IndexSums.add(linksFound, IndexSums.multiply(k, IndexSums.hash(IndexSums.positionTag, head.version, head.last)))
                streamEntries += 1
                e = try c.next()
            }
        }
        if let malformed { return .damaged(checked: last, at: nil, malformed) }
        // stream_marks: each entry's event (looked up: marks are one event in markEvery at most)
        // must be of the stream that number names and at the marked version.
        var marksFound: UInt64 = 0
        try txn.withCursor(dbs.streamMarks) { c in
            var e = try c.first()
            while let entry = e {
                guard entry.key.count == 16, entry.value.count == 8 else {
                    malformed = "stream_marks: the entry 0x\(ChainWalk.hex(entry.key)) is malformed (\(entry.value.count)-byte value)"
                    return
                }
                let number = BigEndianKey.uint64(entry.key, at: 0), version = BigEndianKey.uint64(entry.key, at: 8)
                let seq = BigEndianKey.uint64(entry.value)
                guard version > 0, version % EventLog.markEvery == 0 else {
                    malformed = "stream_marks: an entry for version \(version) of stream \(number), which is not a multiple of \(EventLog.markEvery)"
                    return
                }
                guard let r = try record(seq), r.version == version,
                      let s = try txn.get(dbs.streams, key: r.streamBytes), EventLog.StreamHead(s)?.number == number else {
                    malformed = "stream_marks: the entry of stream \(number) version \(version) leads to seq \(seq), which is not that event"
                    return
                }
                let k = IndexSums.hash(IndexSums.streamNameTag, r.streamBytes)
                marksFound = IndexSums.add(marksFound, IndexSums.multiply(k, IndexSums.hash(IndexSums.markTag, version, seq)))
                e = try c.next()
            }
        }
        if let malformed { return .damaged(checked: last, at: nil, malformed) }
        if idsFound != idsExpected || idEntries != Int(last) || linksFound != linksExpected || numbersFound != numbersExpected
            || marksFound != marksExpected || streamEntries != Int(streamsSeen) {
            return try locate(through: last)
        }
        return VerifyResult(ok: true, checked: head.seq, firstBadSeq: nil, problem: nil)
    }

    /// The indexes do not match the events: looks every event up to name the first whose
    /// entry is wrong, then every index entry to name one that no event accounts for.
    private func locate(through last: UInt64) throws -> VerifyResult {
        var state = EventLog.LookupState()
        var found: VerifyResult?
        try log.scan(from: 1, through: last, in: txn) { r in
            if let why = try log.lookUpEntries(of: r, in: txn, state: &state) {
                found = .damaged(checked: r.seq - 1, at: r.seq, why)
                return false
            }
            return true
        }
        if let found { return found }
        return try strayIdEntry(last) ?? strayStream(last)
            ?? .damaged(checked: last, at: nil, "the indexes (ids, streams, stream_links, stream_marks) do not match the events")
    }

    /// The record at `seq`, if it is there and readable.
    private func record(_ seq: UInt64) throws -> RecordView? {
        try txn.get(dbs.events, key: seq).flatMap { RecordView($0) }
    }

    private func unexpectedMetaKey() throws -> String? {
        try txn.withCursor(dbs.meta) { c in
            var e = try c.first()
            while let entry = e {
                let k = Array(entry.key)
                if k != Array("format".utf8) && k != EventLog.headKey { return "meta: an unexpected entry \(ChainWalk.text(entry.key))" }
                e = try c.next()
            }
            return nil
        }
    }

    /// The run entries and their descriptors (docs/FORMAT.md, "The id index"): every entry
    /// belongs to a described run, each run holds as many entries as its descriptor says, and
    /// its filter is exactly the one its ids give (a filter missing an id would let that id be
    /// appended twice). Adds each entry's (id, seq) to `found`.
    private func checkRuns(found: inout UInt64, entries: inout Int) throws -> String? {
        let runEntries = dbs.idRunEntries
        let runs: [IdIndex.Run]
        do { runs = try log.idIndex.loadRuns(txn) } catch let e as LogError { return "\(e)" }
        var byNumber: [UInt32: Int] = [:]
        for (i, run) in runs.enumerated() { byNumber[run.number] = i }
        var counted = [UInt64](repeating: 0, count: runs.count)
        var current: (index: Int, filter: IdFilter)?
        func close() -> String? {
            guard let (i, filter) = current else { return nil }
            current = nil
            let run = runs[i]
            if counted[i] != run.count { return "id_runs: run \(run.number) is described with \(run.count) entries and holds \(counted[i])" }
            if !filter.bits.elementsEqual(run.filter) { return "id_runs: the filter of run \(run.number) is not the one its ids give" }
            return nil
        }
        var problem: String?
        try txn.withCursor(runEntries) { c in
            var e = try c.first()
            while let entry = e {
                guard entry.key.count == IdIndex.runKeySize, IdIndex.isValueSize(entry.value.count) else {
                    problem = "id_run_entries: the entry 0x\(ChainWalk.hex(entry.key)) is malformed (\(entry.key.count)-byte key, \(entry.value.count)-byte value)"
                    return
                }
                let number = entry.key.loadUnaligned(as: UInt32.self).bigEndian
                guard let i = byNumber[number] else {
                    problem = "id_run_entries: the entry 0x\(ChainWalk.hex(entry.key)) belongs to run \(number), which id_runs does not describe"
                    return
                }
                if current?.index != i {
                    if let p = close() { problem = p; return }
                    current = (i, IdFilter(count: runs[i].count, salt: runs[i].salt))
                }
                let id = UnsafeRawBufferPointer(rebasing: entry.key[4..<20])
                current!.filter.insert(id)
                counted[i] += 1
                found = IndexSums.add(found, IndexSums.hash(IndexSums.idTag, id, BigEndianKey.uint64(entry.value), 0))
                entries += 1
                e = try c.next()
            }
            problem = close()
        }
        if let problem { return problem }
        for (i, run) in runs.enumerated() where counted[i] == 0 {
            return "id_runs: run \(run.number) is described with \(run.count) entries and holds none"
        }
        return nil
    }

    /// The first `ids` or `id_run_entries` entry that no event accounts for.
    private func strayIdEntry(_ checked: UInt64) throws -> VerifyResult? {
        func stray(_ db: Database, idAt offset: Int) throws -> VerifyResult? {
            try txn.withCursor(db) { c in
                var e = try c.first()
                while let entry = e {
                    let key = UnsafeRawBufferPointer(rebasing: entry.key[offset...])
                    let seq = BigEndianKey.uint64(entry.value)
                    let r = try record(seq)
                    if r == nil || !r!.bytes[25..<41].elementsEqual(key) {
                        let id = RecordID(bytes: key).uuidString
                        return .damaged(checked: checked, at: r == nil ? nil : seq,
                                        "\(db.name): the entry for id \(id) leads to seq \(seq), " + (r == nil ? "which holds no event" : "whose event has another id"))
                    }
                    e = try c.next()
                }
                return nil
            }
        }
        return try stray(dbs.ids, idAt: 0) ?? stray(dbs.idRunEntries, idAt: 4)
    }

    /// The first `streams` entry whose last version and seq are not its last event's.
    private func strayStream(_ checked: UInt64) throws -> VerifyResult? {
        try txn.withCursor(dbs.streams) { c in
            var e = try c.first()
            while let entry = e {
                // The walk of `streams` before this one found every entry well formed.
                guard let head = EventLog.StreamHead(entry.value) else { e = try c.next(); continue }
                let (version, seq) = (head.version, head.last)
                let r = try record(seq)
                if r == nil || !r!.streamBytes.elementsEqual(entry.key) || r!.version != version {
                    return .damaged(checked: checked, at: r == nil ? nil : seq,
                                    "streams: \(ChainWalk.text(entry.key)) says its last event is version \(version) at seq \(seq), "
                                        + (r == nil ? "which holds no event" : "which is not"))
                }
                e = try c.next()
            }
            return nil
        }
    }
}
