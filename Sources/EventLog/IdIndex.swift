import Foundation
import LMDB

/// The index from event id to seq (docs/FORMAT.md, "The id index").
///
/// Event ids are UUIDs, usually random, so a single B-tree keyed by them takes its inserts
/// all over its pages: once it has more leaves than a batch has events, every insert dirties
/// (and the commit writes) a 4 KiB page of its own. The index is therefore split like a
/// log-structured store:
///
/// - `ids`, the **recent** entries, a B-tree that appends put into and that stays small;
/// - **runs**: when `ids` reaches ``Policy/flushAt`` entries at the end of an append
///   transaction, or that transaction alone appended ``Policy/batchFlushAt`` events or more,
///   its entries, already in id order, are appended as a new run to `id_run_entries` (key: run
///   number u32 ‖ id) and `ids` is emptied. Each run has a Bloom filter in `id_runs`, so that
///   looking an id up reads the B-tree of a run only when its filter says the id may be there.
///   Runs of the same size class are merged, a few at a time, until they reach
///   ``Policy/mergeBelow`` entries; larger runs are left as they are.
///
/// A transaction's ids are kept in memory (``Staged``) and written at its end: a large
/// transaction's straight into the new run, so they never pass through `ids`. (Before, an
/// import's batches of 32,768 random ids each rewrote most of `ids`' pages: 194 bytes a line of
/// the 1,493 the import wrote, BENCHMARKS.md, fifteenth round; then they were put in `ids` and
/// taken out again in the same transaction, three B-tree operations an id, sixteenth round.)
///
/// Every write happens in the append transaction, so a crash leaves either the old or the
/// new layout. An id is in at most one place: the log looks it up everywhere before it
/// appends it.
public struct IdIndex: Sendable {
    /// When the recent entries move to a run, and which runs are merged.
    public struct Policy: Sendable, Equatable {
        /// `ids` is moved to a run once it holds this many entries.
        public var flushAt: Int
        /// `ids` is also moved to a run, together with the transaction's own ids, at the end of
        /// a transaction that appended this many events or more: those ids never pass through
        /// `ids`. Runs' size classes start here too.
        public var batchFlushAt: Int
        /// How many runs of one size class are merged into one. Each entry is written once
        /// when its run is made and once more per merge: with 8, an import of 1M lines writes
        /// each about twice (with 4, two and a half times).
        public var fanIn: Int = 8
        /// Runs with this many entries or more are never merged.
        public var mergeBelow: Int

        /// A policy scaled on `flushAt`: `batchFlushAt` a sixteenth of it (at least 2),
        /// `mergeBelow` sixteen times it (the tests' small policies).
        public init(flushAt: Int) {
            precondition(flushAt >= 1)
            self.flushAt = flushAt
            batchFlushAt = max(2, flushAt / 16)
            mergeBelow = flushAt * 16
        }

        public init(flushAt: Int, batchFlushAt: Int, mergeBelow: Int) {
            precondition(flushAt >= 1 && batchFlushAt >= 1 && mergeBelow >= 1)
            self.flushAt = flushAt
            self.batchFlushAt = batchFlushAt
            self.mergeBelow = mergeBelow
        }

        /// 8,192 recent entries, 4,096 appended by one transaction, runs merged below 1,048,576
        /// entries. `ids` is kept small because every commit writes each of its pages that the
        /// commit's ids land on: with 65,536, appends of 1,000 events a transaction wrote 3.3 KB
        /// an event, with 8,192 1.6 KB (BENCHMARKS.md, fifteenth round).
        /// `LEDGER_ID_INDEX_FLUSH_AT` gives the scaled policy of another number (the tests of the
        /// runs set it low, so that small ledgers have runs and merges);
        /// `LEDGER_ID_INDEX_BATCH_FLUSH_AT` then sets ``batchFlushAt`` (the damage tests set it
        /// high, so that one import leaves recent entries).
        public static let standard: Policy = {
            let environment = ProcessInfo.processInfo.environment
            var policy = Policy(flushAt: 8_192, batchFlushAt: 4_096, mergeBelow: 1 << 20)
            if let text = environment["LEDGER_ID_INDEX_FLUSH_AT"], let n = Int(text), n >= 1 { policy = Policy(flushAt: n) }
            if let text = environment["LEDGER_ID_INDEX_BATCH_FLUSH_AT"], let n = Int(text), n >= 1 { policy.batchFlushAt = n }
            return policy
        }()

        /// The size class of a run of `count` entries: 0 below `batchFlushAt × fanIn`, then one
        /// more per factor of `fanIn`.
        func sizeClass(_ count: UInt64) -> Int {
            var limit = UInt64(batchFlushAt) * UInt64(fanIn), c = 0
            while count >= limit { c += 1; limit *= UInt64(fanIn) }
            return c
        }
    }

    /// One run as its descriptor in `id_runs` gives it.
    struct Run {
        let number: UInt32
        let count: UInt64
        /// The filter's hash salt, random per run: ids cannot be chosen to pass filters.
        let salt: UInt64
        /// The Bloom filter's bytes (64 per block), pointing into the map: valid in the
        /// transaction that read them, until that transaction changes `id_runs`.
        let filter: UnsafeRawBufferPointer
        var blocks: Int { filter.count / IdFilter.blockBytes }
    }

    /// `ids`: id (16) → seq (8; 40 with a content digest after it when written by format 4).
    let recent: Database
    /// `id_runs`: run number (u32) → entry count (u64) ‖ filter blocks (u32) ‖ salt (u64) ‖ filter.
    let runs: Database
    /// `id_run_entries`: run number (u32) ‖ id (16) → seq (8, or 40 as in `ids`).
    let runEntries: Database
    let policy: Policy

    /// An entry's value: the seq. Format 4 kept the event's content digest after it
    /// (``legacyValueSize``); a ledger upgraded from it holds both sizes until its entries are
    /// rewritten (a merge, or `ids` moved to a run, writes the seq alone).
    static let valueSize = 8
    static let legacyValueSize = 40
    /// Whether `count` is the size of an entry's value, in either format.
    @inline(__always)
    static func isValueSize(_ count: Int) -> Bool { count == valueSize || count == legacyValueSize }
    static let runKeySize = 20
    static let descriptorHeader = 20

    // MARK: Looking up

    /// Every run, in run-number order. Throws if a descriptor is malformed.
    func loadRuns(_ txn: ReadTransaction) throws -> [Run] {
        var found: [Run] = []
        try txn.withCursor(runs) { c in
            var e = try c.first()
            while let entry = e {
                found.append(try IdIndex.run(entry.key, entry.value))
                e = try c.next()
            }
        }
        return found
    }

    /// Decodes a descriptor, or throws naming what is wrong with it.
    static func run(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Run {
        guard key.count == 4 else {
            throw LogError.damagedIndex("id_runs: the key 0x\(ChainWalk.hex(key)) is not a 4-byte run number")
        }
        let number = key.loadUnaligned(as: UInt32.self).bigEndian
        guard value.count >= descriptorHeader else {
            throw LogError.damagedIndex("id_runs: the descriptor of run \(number) is \(value.count) bytes")
        }
        let count = BigEndianKey.uint64(value, at: 0)
        let blocks = Int(value.loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian)
        // A count beyond 2⁴⁰ ids cannot be real; refusing it first keeps the arithmetic below from overflowing.
        guard count > 0, count <= 1 << 40, blocks == IdFilter.blocks(forCount: count),
              value.count == descriptorHeader + blocks * IdFilter.blockBytes else {
            throw LogError.damagedIndex("id_runs: the descriptor of run \(number) (\(count) entries, \(blocks) filter blocks, "
                                        + "\(value.count) bytes) does not follow docs/FORMAT.md")
        }
        return Run(number: number, count: count, salt: BigEndianKey.uint64(value, at: 12),
                   filter: UnsafeRawBufferPointer(rebasing: value[descriptorHeader...]))
    }

    /// The entry of `id` (16 bytes; its first 8 bytes are the seq), looking in `ids` and then in
    /// each run whose filter may hold it; valid until the transaction ends.
    func find(_ id: UnsafeRawBufferPointer, runs list: [Run], in txn: ReadTransaction) throws -> UnsafeRawBufferPointer? {
        precondition(id.count == 16, "an event id is 16 bytes")
        if let v = try txn.get(recent, key: id) { return try IdIndex.checked(v, id, in: recent) }
        return try findInRuns(id, runs: list, in: txn)
    }

    /// The entry of `id`, reading the runs' descriptors only when `ids` does not hold it (for
    /// single look-ups).
    func find(_ id: UnsafeRawBufferPointer, in txn: ReadTransaction) throws -> UnsafeRawBufferPointer? {
        precondition(id.count == 16, "an event id is 16 bytes")
        if let v = try txn.get(recent, key: id) { return try IdIndex.checked(v, id, in: recent) }
        return try findInRuns(id, runs: try loadRuns(txn), in: txn)
    }

    /// The entry of `id` in the first run (newest first) whose filter admits it and whose B-tree holds it.
    private func findInRuns(_ id: UnsafeRawBufferPointer, runs list: [Run], in txn: ReadTransaction) throws -> UnsafeRawBufferPointer? {
        guard !list.isEmpty else { return nil }
        var key = (UInt32(0), UInt64(0), UInt64(0))
        return try withUnsafeMutableBytes(of: &key) { k in
            // The tuple is 24 bytes with padding after the u32; the key is written packed.
            let base = k.baseAddress!
            (base + 4).copyMemory(from: id.baseAddress!, byteCount: 16)
            let packed = UnsafeRawBufferPointer(start: base, count: IdIndex.runKeySize)
            for run in list.reversed() where IdFilter.Probe(id, salt: run.salt).mayContain(in: run.filter) {
                base.storeBytes(of: run.number.bigEndian, as: UInt32.self)
                if let v = try txn.get(runEntries, key: packed) { return try IdIndex.checked(v, id, in: runEntries) }
            }
            return nil
        }
    }


    /// `value` if it is the 8 (or, written by format 4, 40) bytes an entry holds; a damaged
    /// entry is an error, never a crash.
    @inline(__always)
    static func checked(_ value: UnsafeRawBufferPointer, _ id: UnsafeRawBufferPointer, in db: Database) throws -> UnsafeRawBufferPointer {
        guard isValueSize(value.count) else {
            throw LogError.damagedIndex("\(db.name): the entry for id \(RecordID(bytes: id).uuidString) is \(value.count) bytes, not \(valueSize)")
        }
        return value
    }

    // MARK: Maintenance

    /// The ids an append transaction appended, kept in memory until its end (``commit(_:txn:)``),
    /// so that a large transaction puts none of them in `ids` only to move them out again.
    struct Staged {
        struct Entry {
            let id: RecordID
            let seq: UInt64
        }
        private(set) var entries: [Entry] = []
        private var index: [RecordID: Int] = [:]

        /// The seq of `id`, if this transaction appended it.
        func find(_ id: RecordID) -> UInt64? { index[id].map { entries[$0].seq } }

        mutating func add(_ id: RecordID, seq: UInt64) {
            index[id] = entries.count
            entries.append(Entry(id: id, seq: seq))
        }

        /// The index's key order: the ids' 16 bytes compared as LMDB does.
        static func precedes(_ a: RecordID, _ b: RecordID) -> Bool { (a.high, a.low) < (b.high, b.low) }
    }

    /// At the end of an append transaction, writes the ids it appended (`staged`): into `ids`,
    /// or, once `ids` would hold ``Policy/flushAt`` entries or when the transaction appended
    /// ``Policy/batchFlushAt`` events or more, together with `ids`' entries as a new run (`ids`
    /// is then emptied). Then merges runs while a size class holds `fanIn` of them. Does
    /// nothing more than the puts after most small transactions.
    func commit(_ staged: Staged, txn: WriteTransaction) throws {
        guard !staged.entries.isEmpty else { return }
        let sorted = staged.entries.sorted { Staged.precedes($0.id, $1.id) }
        let pending = try txn.count(recent)
        guard pending + sorted.count >= policy.flushAt || sorted.count >= policy.batchFlushAt else {
            for e in sorted {
                try e.id.withBytes { id in try BigEndianKey.with(e.seq) { try txn.put(recent, key: id, value: $0) } }
            }
            return
        }
        let number = try nextRunNumber(txn, runs: runs, entries: runEntries)
        let total = UInt64(pending + sorted.count)
        var filter = IdFilter(count: total, salt: .random(in: 0 ... .max))
        var written: UInt64 = 0
        try txn.withCursor(runEntries) { out in
            try txn.withCursor(recent) { c in
                var e = try c.first()
                var next = 0
                var key = [UInt8](repeating: 0, count: IdIndex.runKeySize)
                key.withUnsafeMutableBytes { $0.storeBytes(of: number.bigEndian, as: UInt32.self) }
                // `ids` and the staged ids, merged in id order (an id is in one of them at most).
                while e != nil || next < sorted.count {
                    var fromRecent = false
                    if let entry = e {
                        guard entry.key.count == 16, IdIndex.isValueSize(entry.value.count) else {
                            throw LogError.damagedIndex("ids: the entry 0x\(ChainWalk.hex(entry.key)) is malformed")
                        }
                        fromRecent = next == sorted.count || Staged.precedes(RecordID(bytes: entry.key), sorted[next].id)
                    }
                    if fromRecent, let entry = e {
                        key.withUnsafeMutableBytes { k in (k.baseAddress! + 4).copyMemory(from: entry.key.baseAddress!, byteCount: 16) }
                        // The seq alone, whatever format wrote the entry.
                        try key.withUnsafeBytes { try out.put(key: $0, value: UnsafeRawBufferPointer(rebasing: entry.value.prefix(IdIndex.valueSize)), flags: .append) }
                        filter.insert(entry.key)
                        e = try c.next()
                    } else {
                        let s = sorted[next]
                        s.id.withBytes { id in key.withUnsafeMutableBytes { k in (k.baseAddress! + 4).copyMemory(from: id.baseAddress!, byteCount: 16) } }
                        try key.withUnsafeBytes { k in try BigEndianKey.with(s.seq) { try out.put(key: k, value: $0, flags: .append) } }
                        s.id.withBytes { filter.insert($0) }
                        next += 1
                    }
                    written += 1
                }
            }
        }
        // The filter was sized from mdb_stat's count; a walk that finds another number is damage.
        guard written == total else {
            throw LogError.damagedIndex("ids: mdb_stat counts \(pending) entries and a walk finds \(written - UInt64(sorted.count))")
        }
        // Emptied whole: none of its pages was dirtied by this transaction (its own ids went
        // straight to the run), so mdb_drop frees them without reading or copying a leaf.
        if pending > 0 { try txn.clear(recent) }
        try putDescriptor(number, count: written, filter: filter, txn: txn, runs: runs)
        try mergeRuns(txn, runs: runs, entries: runEntries)
    }

    private func nextRunNumber(_ txn: WriteTransaction, runs: Database, entries: Database) throws -> UInt32 {
        let lastRun = try txn.withCursor(runs) { c in try c.last().map { $0.key.count == 4 ? $0.key.loadUnaligned(as: UInt32.self).bigEndian : UInt32.max } }
        let lastEntry = try txn.withCursor(entries) { c in try c.last().map { $0.key.count >= 4 ? $0.key.loadUnaligned(as: UInt32.self).bigEndian : UInt32.max } }
        let last = max(lastRun ?? 0, lastEntry ?? 0)
        guard last < UInt32.max else { throw LogError.damagedIndex("id_runs: no run number is left after \(last)") }
        return last + 1
    }

    private func putDescriptor(_ number: UInt32, count: UInt64, filter: IdFilter, txn: WriteTransaction, runs: Database) throws {
        var value = [UInt8](); value.reserveCapacity(IdIndex.descriptorHeader + filter.bits.count)
        value += BigEndianKey.bytes(count)
        withUnsafeBytes(of: UInt32(filter.blocks).bigEndian) { value += $0 }
        value += BigEndianKey.bytes(filter.salt)
        value += filter.bits
        try withUnsafeBytes(of: number.bigEndian) { k in try value.withUnsafeBytes { try txn.put(runs, key: k, value: $0, flags: .append) } }
    }

    /// Merges the runs of the smallest size class that has `fanIn` of them, until none has.
    private func mergeRuns(_ txn: WriteTransaction, runs: Database, entries: Database) throws {
        while true {
            let all = try loadRuns(txn).filter { $0.count < UInt64(policy.mergeBelow) }
            var byClass: [Int: [Run]] = [:]
            for run in all { byClass[policy.sizeClass(run.count), default: []].append(run) }
            guard let (_, group) = byClass.filter({ $0.value.count >= policy.fanIn }).min(by: { $0.key < $1.key }) else { return }
            try merge(Array(group.prefix(policy.fanIn)), txn: txn, runs: runs, entries: entries)
        }
    }

    /// Writes the entries of `inputs` as one new run, in id order, then deletes the inputs.
    private func merge(_ inputs: [Run], txn: WriteTransaction, runs: Database, entries: Database) throws {
        let number = try nextRunNumber(txn, runs: runs, entries: entries)
        let total = inputs.reduce(0) { $0 + $1.count }
        var filter = IdFilter(count: total, salt: .random(in: 0 ... .max))
        let numbers = inputs.map(\.number)
        var written: UInt64 = 0
        try txn.withCursor(entries) { out in
            try withCursors(txn, entries, count: inputs.count) { cursors in
                var heads: [Cursor.Entry?] = []
                for (i, c) in cursors.enumerated() { heads.append(try IdIndex.seekRun(c, numbers[i])) }
                var key = [UInt8](repeating: 0, count: IdIndex.runKeySize)
                key.withUnsafeMutableBytes { $0.storeBytes(of: number.bigEndian, as: UInt32.self) }
                while true {
                    var best = -1
                    for i in heads.indices {
                        guard let h = heads[i] else { continue }
                        if best < 0 || IdIndex.idLess(h.key, heads[best]!.key) { best = i }
                    }
                    guard best >= 0, let h = heads[best] else { break }
                    guard IdIndex.isValueSize(h.value.count) else {
                        throw LogError.damagedIndex("id_run_entries: the entry 0x\(ChainWalk.hex(h.key)) is malformed")
                    }
                    let id = UnsafeRawBufferPointer(rebasing: h.key[4..<20])
                    key.withUnsafeMutableBytes { k in (k.baseAddress! + 4).copyMemory(from: id.baseAddress!, byteCount: 16) }
                    try key.withUnsafeBytes { try out.put(key: $0, value: UnsafeRawBufferPointer(rebasing: h.value.prefix(IdIndex.valueSize)), flags: .append) }
                    filter.insert(id)
                    written += 1
                    heads[best] = try IdIndex.nextInRun(cursors[best], numbers[best])
                }
            }
        }
        guard written == total else {
            throw LogError.damagedIndex("id_run_entries: runs \(numbers) hold \(written) entries, their descriptors say \(total)")
        }
        try putDescriptor(number, count: total, filter: filter, txn: txn, runs: runs)
        for n in numbers {
            try txn.withCursor(entries) { c in
                var e = try IdIndex.seekRun(c, n)
                while e != nil { e = try c.deleteCurrent().flatMap { IdIndex.inRun($0, n) ? $0 : nil } }
            }
            _ = try withUnsafeBytes(of: n.bigEndian) { try txn.delete(runs, key: $0) }
        }
    }

    private func withCursors<T>(_ txn: WriteTransaction, _ db: Database, count: Int, _ body: ([Cursor]) throws -> T) throws -> T {
        func open(_ acc: [Cursor]) throws -> T {
            if acc.count == count { return try body(acc) }
            return try txn.withCursor(db) { try open(acc + [$0]) }
        }
        return try open([])
    }

    static func inRun(_ e: Cursor.Entry, _ number: UInt32) -> Bool {
        e.key.count == runKeySize && e.key.loadUnaligned(as: UInt32.self).bigEndian == number
    }

    /// The first entry of run `number`, or nil.
    static func seekRun(_ c: Cursor, _ number: UInt32) throws -> Cursor.Entry? {
        try withUnsafeBytes(of: number.bigEndian) { try c.seek(atLeast: $0) }.flatMap { inRun($0, number) ? $0 : nil }
    }

    static func nextInRun(_ c: Cursor, _ number: UInt32) throws -> Cursor.Entry? {
        try c.next().flatMap { inRun($0, number) ? $0 : nil }
    }

    /// Orders two run keys by their ids (bytes 4..<20).
    static func idLess(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        memcmp(a.baseAddress! + 4, b.baseAddress! + 4, 16) < 0
    }
}

/// A blocked Bloom filter over event ids (docs/FORMAT.md, "The id index"): 512-bit blocks,
/// 7 bits per id, all in one block; about 10 bits per id, so about 1% false positives. The hash
/// is salted per run with a random value kept in the descriptor, so that a client choosing its
/// event ids cannot make them pass every run's filter (each such id would cost a B-tree read per run).
struct IdFilter {
    static let blockBytes = 64
    static let bitsPerId: UInt64 = 10

    /// The number of 64-byte blocks for a run of `count` ids: ⌈count × 10 / 512⌉, at least 1.
    static func blocks(forCount count: UInt64) -> Int {
        Int(max(1, (count * bitsPerId + 511) / 512))
    }

    private(set) var bits: [UInt8]
    let blocks: Int
    let salt: UInt64

    init(count: UInt64, salt: UInt64) {
        blocks = IdFilter.blocks(forCount: count)
        self.salt = salt
        bits = [UInt8](repeating: 0, count: blocks * IdFilter.blockBytes)
    }

    mutating func insert(_ id: UnsafeRawBufferPointer) {
        let p = Probe(id, salt: salt)
        let block = p.block(of: blocks) * IdFilter.blockBytes
        for i in 0..<7 {
            let bit = Int((p.bits >> (9 * UInt64(i))) & 511)
            bits[block + (bit >> 3)] |= UInt8(1) << UInt8(bit & 7)
        }
    }

    /// An id's hashes under one run's salt.
    struct Probe {
        /// Picks the block (its top 32 bits).
        let select: UInt64
        /// Seven 9-bit positions in the block (bits 0–62).
        let bits: UInt64

        @inline(__always)
        init(_ id: UnsafeRawBufferPointer, salt: UInt64) {
            let high = id.loadUnaligned(as: UInt64.self).bigEndian
            let low = id.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian
            select = Probe.mix(high ^ Probe.mix(low ^ salt))
            bits = Probe.mix(select)
        }

        /// The SplitMix64 finalizer.
        @inline(__always)
        static func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }

        @inline(__always)
        func block(of blocks: Int) -> Int { Int(((select >> 32) &* UInt64(blocks)) >> 32) }

        @inline(__always)
        func mayContain(in filter: UnsafeRawBufferPointer) -> Bool {
            let base = block(of: filter.count / IdFilter.blockBytes) * IdFilter.blockBytes
            for i in 0..<7 {
                let bit = Int((bits >> (9 * UInt64(i))) & 511)
                if filter[base + (bit >> 3)] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
            }
            return true
        }
    }
}
