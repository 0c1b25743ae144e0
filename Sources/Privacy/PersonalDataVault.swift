import Crypto
import EscalationDomain
import Foundation
import LMDB

/// Customers' personal data: pseudonyms, a key per customer, sealing, and
/// erasure that is physical (docs/PRIVACY.md).
///
/// Its tables live in the log's LMDB environment, so that a customer's key, look-up
/// entry and ticket links are written in the very transaction that appends the event
/// needing them: an event that is not appended leaves nothing behind. Every record is
/// sealed under the key of its shard in the key-encryption key file (``KeyEncryptionKeys``),
/// kept apart in `keys/`; the log's environment alone holds no usable key.
///
/// | database | key | value |
/// |---|---|---|
/// | `privacy.meta` | `"kek"` | current KEK generation, u64 |
/// | `privacy.customers` | pseudonym | AES-GCM(K[shard of pseudonym], customer key (32) ‖ real id), AAD = pseudonym |
/// | `privacy.lookup` | shard (u16) ‖ HMAC-SHA256(HMAC-SHA256(K[shard], "lookup"), real id), shard = first 12 bits of HMAC-SHA256(salt, real id) | pseudonym |
/// | `privacy.tickets` | ticket id | the pseudonym of the ticket's customer |
public final class PersonalDataVault: @unchecked Sendable {
    /// A live customer: their pseudonym, key and real id.
    public struct CustomerRecord: Sendable {
        public let pseudonym: String
        let key: SymmetricKey
        public let id: String
    }

    /// What a sealed value opens to.
    public enum Opened: Sendable, Equatable {
        /// The clear values by field path (`customer.id`, `issue`, …).
        case values([String: String])
        /// The customer's key is gone: the values are erased.
        case erased
    }

    /// Stored in place of a sealed value in the log.
    public static let sealedMarker = "[sealed]"
    /// Shown in place of erased personal data, everywhere.
    public static let erasedMarker = "[erased]"

    let environment: Environment
    let kek: KeyEncryptionKeys
    private let meta: Database
    private let customers: Database
    private let lookup: Database
    private let tickets: Database

    /// The keys of one KEK generation: the salt, each shard's key, and each shard's look-up key.
    /// Derived once per generation (a rotation derives only the shards it replaced).
    final class Keys: Sendable {
        let generation: UInt64
        let file: [UInt8]
        private let salt: HMAC<SHA256>
        private let wraps: [SymmetricKey]
        private let lookups: [HMAC<SHA256>]
        /// For each shard, the generation since which this process has known its key unchanged:
        /// two generations' keys of a shard are the same when these agree (a rotation replaces
        /// only the shards it names, and keeps the salt). Keys read from a file start at their
        /// own generation, since what came before is not known.
        let unchangedSince: [UInt64]

        init(generation: UInt64, file: [UInt8], previous: Keys? = nil, rotated: Set<Int> = []) {
            precondition(file.count == KeyEncryptionKeys.fileSize)
            self.generation = generation
            self.file = file
            salt = HMAC<SHA256>(key: SymmetricKey(data: file[0..<32]))
            func derive(_ shard: Int) -> (SymmetricKey, HMAC<SHA256>) {
                let k = SymmetricKey(data: file[(32 + 32 * shard)..<(64 + 32 * shard)])
                let l = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array("lookup".utf8), using: k)))
                return (k, HMAC<SHA256>(key: l))
            }
            if let previous {
                var w = previous.wraps, l = previous.lookups, since = previous.unchangedSince
                for s in rotated { (w[s], l[s]) = derive(s); since[s] = generation }
                wraps = w; lookups = l; unchangedSince = since
            } else {
                let all = (0..<KeyEncryptionKeys.shardCount).map(derive)
                wraps = all.map(\.0); lookups = all.map(\.1)
                unchangedSince = Array(repeating: generation, count: KeyEncryptionKeys.shardCount)
            }
        }

        /// The shard of a record: the first three hex digits of its pseudonym (`cus_` + 32 hex digits).
        static func shard(ofPseudonym p: some Collection<UInt8>) -> Int {
            var shard = 0
            for c in p.dropFirst(4).prefix(3) {
                let digit: Int
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(c) - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(c) - 87
                default: digit = 0
                }
                shard = shard << 4 | digit
            }
            return shard
        }

        /// The record-sealing key of `shard`.
        func wrap(_ shard: Int) -> SymmetricKey { wraps[shard] }

        /// The look-up entry's key for a real id: its shard (u16) ‖ its HMAC under the shard's look-up key.
        func lookupKey(_ id: String) -> [UInt8] {
            // The id's bytes are hashed where they are, and the key is written into one array
            // (copies of the id and of the code, and their concatenation, were four allocations a call).
            var id = id
            return id.withUTF8 { utf8 in
                let bytes = UnsafeRawBufferPointer(utf8)
                var s = salt
                s.update(data: bytes)
                let shard = s.finalize().withUnsafeBytes { Int($0[0]) << 4 | Int($0[1] >> 4) }
                var mac = lookups[shard]
                mac.update(data: bytes)
                let code = mac.finalize()
                return [UInt8](unsafeUninitializedCapacity: 34) { out, count in
                    out[0] = UInt8(shard >> 8)
                    out[1] = UInt8(shard & 0xFF)
                    code.withUnsafeBytes { c in UnsafeMutableRawPointer(out.baseAddress! + 2).copyMemory(from: c.baseAddress!, byteCount: 32) }
                    count = 34
                }
            }
        }
    }

    private let lock = NSLock()
    /// Held while a generation's keys are derived (never while `lock` is).
    private let derivation = NSLock()
    /// Keys by generation (the current one, and a rotation's new one).
    private var keys: [UInt64: Keys] = [:]
    /// Open records, each with the generation it was read under.
    private var cache: [String: CustomerRecord] = [:]
    /// The KEK generation the cache is true for: a reader that sees another one (another
    /// process erased someone) starts again from an empty cache.
    private var cacheGeneration: UInt64 = 0
    /// Set in a write transaction by erasures: the shards to rotate before it commits.
    private var rotationNeeded: Set<Int> = []
    /// Set in a write transaction by erasures: pseudonyms the cache must neither give nor take
    /// until it commits (a reader whose snapshot predates the commit still finds their record).
    private var erasedInTransaction: Set<String> = []
    /// During a rotating commit: the generation to destroy once committed, and the new one.
    private var rotation: (old: UInt64, new: UInt64)?
    /// The KEK generation last read in a write transaction, and its transaction id (``generation(_:)``).
    private var generationSeen: (txn: Int, generation: UInt64)?
    /// The KEK generation of the newest read snapshot that asked, by its transaction id: a
    /// snapshot's id names the commit it sees, so this never goes stale (readers of the batch
    /// being prepared and the writer used to take turns at one slot, and both read it again).
    private var generationSnapshot: (txn: Int, generation: UInt64)?

    /// Opens the vault's tables in `environment` and its KEK directory `keyDirectory`,
    /// creating both for a new ledger.
    public init(environment: Environment, keyDirectory: String, readOnly: Bool) throws {
        self.environment = environment
        kek = try KeyEncryptionKeys(directory: keyDirectory, create: !readOnly)
        meta = try environment.openDatabase("privacy.meta")
        customers = try environment.openDatabase("privacy.customers")
        lookup = try environment.openDatabase("privacy.lookup")
        tickets = try environment.openDatabase("privacy.tickets")
        guard !readOnly else { return }
        // The first KEK of a new ledger; and the KEK files a crash left behind (a rotation that
        // never committed, or an old generation not yet destroyed) are destroyed. Under the
        // writer lock, so that no other process is in the middle of a rotation.
        let current = try environment.read { try Self.currentGeneration($0, meta) }
        guard try current == nil || kek.generations().contains(where: { $0 != current }) else { return }
        try environment.write { txn in
            var g = try Self.currentGeneration(txn, meta)
            if g == nil {
                _ = try kek.create(1)
                try txn.put(meta, key: Array("kek".utf8), value: BigEndianKey.bytes(1))
                g = 1
            }
            for old in try kek.generations() where old != g { try kek.destroy(old) }
        }
    }

    private static func currentGeneration(_ txn: ReadTransaction, _ meta: Database) throws -> UInt64? {
        try Array("kek".utf8).withUnsafeBytes { k in try txn.get(meta, key: k).map { BigEndianKey.uint64($0) } }
    }

    /// The KEK generation `txn` sees. The writer asks once an event or more: the answer is kept
    /// for the transaction id it was read in (``LMDB/ReadTransaction/id``). Only a rotation
    /// changes it inside a write transaction, and a rotation forgets it.
    private func generation(_ txn: ReadTransaction) throws -> UInt64? {
        let id = txn.id, writing = txn is WriteTransaction
        lock.lock()
        let known = writing ? generationSeen : generationSnapshot
        lock.unlock()
        if let known, known.txn == id { return known.generation }
        let g = try Self.currentGeneration(txn, meta)
        if let g {
            func keep(_ slot: inout (txn: Int, generation: UInt64)?) { if slot.map({ $0.txn <= id }) ?? true { slot = (id, g) } }
            lock.lock()
            if writing { keep(&generationSeen) } else { keep(&generationSnapshot) }
            lock.unlock()
        }
        return g
    }

    /// The keys of the KEK generation `txn` sees (another process may have rotated it).
    private func keys(_ txn: ReadTransaction) throws -> Keys {
        guard let g = try generation(txn) else { throw PrivacyError.missingKey("the key-encryption key generation") }
        lock.lock()
        let known = keys[g]
        lock.unlock()
        if let known { return known }
        // Deriving a generation's keys costs tens of milliseconds: threads that miss together
        // (an audit's readers starting at once) wait for one derivation instead of each making it.
        derivation.lock()
        defer { derivation.unlock() }
        lock.lock()
        let derived = keys[g]
        lock.unlock()
        if let derived { return derived }
        let file = try kek.read(g)
        // A generation's file is overwritten with zeros once a later one commits (``didCommit()``,
        // or another process's): a reader of an older snapshot may have read it half destroyed,
        // and keys derived from that would seal under zeros and fail to open what is sealed.
        // What was read is trusted only if `g` was still the newest committed generation after
        // the read (destruction starts after that commit). A write transaction needs no check:
        // no other commit can happen while it is open.
        if !(txn is WriteTransaction), try environment.read({ try Self.currentGeneration($0, meta) }) != g {
            throw PrivacyError.rotated("the key-encryption key generation \(g) was rotated by an erasure while it was read; retry")
        }
        let k = Keys(generation: g, file: file)
        lock.lock()
        keys = keys.filter { $0.key > g }  // older generations are gone for good
        keys[g] = k
        lock.unlock()
        return k
    }

    private static func openRecord(pseudonym: [UInt8], sealed: [UInt8], _ keys: Keys) throws -> CustomerRecord {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
              let plain = try? AES.GCM.open(box, using: keys.wrap(Keys.shard(ofPseudonym: pseudonym)), authenticating: pseudonym),
              plain.count >= 32 else {
            throw PrivacyError.corrupt("the record of \(String(decoding: pseudonym, as: UTF8.self)) does not open under the key-encryption key")
        }
        let bytes = Array(plain)
        return CustomerRecord(pseudonym: String(decoding: pseudonym, as: UTF8.self), key: SymmetricKey(data: bytes[0..<32]),
                              id: String(decoding: bytes[32...], as: UTF8.self))
    }

    // MARK: Reads

    /// The live customer behind `pseudonym`, or nil once erased (or never known).
    public func customer(pseudonym: String, in txn: ReadTransaction) throws -> CustomerRecord? {
        let k = try keys(txn)
        lock.lock()
        // The cache holds the newest generation seen; a reader of an older snapshot neither
        // uses it nor fills it (what it reads may have been erased since).
        if k.generation > cacheGeneration { cache.removeAll(keepingCapacity: true); cacheGeneration = k.generation }
        let cacheable = cacheGeneration == k.generation && !erasedInTransaction.contains(pseudonym)
        let cached = cacheable ? cache[pseudonym] : nil
        lock.unlock()
        if let cached { return cached }
        let p = Array(pseudonym.utf8)
        guard let sealed = try p.withUnsafeBytes({ try txn.get(customers, key: $0) }).map(Array.init) else { return nil }
        let record = try Self.openRecord(pseudonym: p, sealed: sealed, k)
        lock.lock()
        if cache.count >= 100_000 { cache.removeAll(keepingCapacity: true) }
        if cacheGeneration == k.generation && !erasedInTransaction.contains(pseudonym) { cache[pseudonym] = record }
        lock.unlock()
        return record
    }

    /// True while the customer behind `pseudonym` is live (not erased): what a masked view needs
    /// to know, without opening their record.
    public func isLive(pseudonym: String, in txn: ReadTransaction) throws -> Bool {
        let k = try keys(txn)
        lock.lock()
        let cached = cacheGeneration == k.generation && !erasedInTransaction.contains(pseudonym) && cache[pseudonym] != nil
        lock.unlock()
        if cached { return true }
        return try Array(pseudonym.utf8).withUnsafeBytes { try txn.get(customers, key: $0) } != nil
    }

    /// The pseudonym of the live customer with this real id, or nil (never seen, or erased).
    public func pseudonym(forCustomer id: String, in txn: ReadTransaction) throws -> String? {
        try pseudonym(lookupKey: lookupKey(forCustomer: id, in: txn), in: txn)
    }

    /// The look-up entry's key for a real id, under the key-encryption key `txn` sees: two HMACs,
    /// which a writer computes once per event and hands to ``pseudonym(lookupKey:in:)`` and
    /// ``store(_:lookupKey:in:)`` in the same transaction.
    public func lookupKey(forCustomer id: String, in txn: ReadTransaction) throws -> [UInt8] {
        try keys(txn).lookupKey(id)
    }

    /// A look-up key or a sealed customer record computed ahead of the append transaction (on
    /// any thread, in a read snapshot), with the KEK generation it was computed under: the
    /// writer uses it only while that generation is still the current one.
    public struct Computed: Sendable {
        let generation: UInt64
        /// The shard whose key it depends on, and since when that key was unchanged.
        let shard: Int
        let since: UInt64
        public let bytes: [UInt8]

        init(_ keys: Keys, shard: Int, bytes: [UInt8]) {
            generation = keys.generation; self.shard = shard; since = keys.unchangedSince[shard]; self.bytes = bytes
        }

        /// True when `keys` would compute the same: the same generation, or the same key of the shard.
        func holds(under keys: Keys) -> Bool {
            generation == keys.generation || keys.unchangedSince[shard] == since
        }
    }

    /// ``lookupKey(forCustomer:in:)``, computed ahead.
    public func computeLookupKey(forCustomer id: String, in txn: ReadTransaction) throws -> Computed {
        let k = try keys(txn)
        let key = k.lookupKey(id)
        return Computed(k, shard: Int(key[0]) << 8 | Int(key[1]), bytes: key)
    }

    /// ``lookupKey(forCustomer:in:)``: `computed` when the keys `txn` sees give the same.
    public func lookupKey(forCustomer id: String, computed: Computed?, in txn: ReadTransaction) throws -> [UInt8] {
        let k = try keys(txn)
        if let computed, computed.holds(under: k) { return computed.bytes }
        return k.lookupKey(id)
    }

    /// `record` sealed under its shard's key, as ``store(_:lookupKey:sealed:in:)`` writes it.
    public func sealRecord(_ record: CustomerRecord, in txn: ReadTransaction) throws -> Computed {
        let k = try keys(txn)
        return Computed(k, shard: Keys.shard(ofPseudonym: record.pseudonym.utf8), bytes: try Self.sealRecord(record, k))
    }

    /// ``pseudonym(forCustomer:in:)`` by the look-up key ``lookupKey(forCustomer:in:)`` gave in this transaction.
    public func pseudonym(lookupKey: [UInt8], in txn: ReadTransaction) throws -> String? {
        try lookupKey.withUnsafeBytes { k in try txn.get(lookup, key: k).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The pseudonym of the customer whose call opened `ticket`.
    public func customerOfTicket(_ ticket: String, in txn: ReadTransaction) throws -> String? {
        try Array(ticket.utf8).withUnsafeBytes { k in try txn.get(tickets, key: k).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// How many live customers the vault holds.
    public func count(in txn: ReadTransaction) throws -> Int { try txn.count(customers) }

    // MARK: Writes (inside the append transaction, on the writer thread)

    /// A new customer with a fresh pseudonym (``PseudonymMint``) and a random key, in memory only
    /// until ``store(_:in:)``.
    public func newCustomer(id: String) -> CustomerRecord {
        CustomerRecord(pseudonym: PseudonymMint.shared.next(), key: SymmetricKey(data: RandomPool.shared.take(32)), id: id)
    }

    /// Writes `record` and its look-up entry (under `lookupKey`, when ``lookupKey(forCustomer:in:)``
    /// gave it for the record's id in this transaction).
    public func store(_ record: CustomerRecord, lookupKey: [UInt8]? = nil, sealed: Computed? = nil, in txn: WriteTransaction) throws {
        let k = try keys(txn)
        if let sealed, sealed.holds(under: k) {
            try txn.put(customers, key: Array(record.pseudonym.utf8), value: sealed.bytes)
        } else {
            try putRecord(record, k, in: txn)
        }
        try txn.put(lookup, key: lookupKey ?? k.lookupKey(record.id), value: Array(record.pseudonym.utf8))
        lock.lock()
        if cacheGeneration == k.generation { cache[record.pseudonym] = record }
        lock.unlock()
    }

    private func putRecord(_ record: CustomerRecord, _ keys: Keys, in txn: WriteTransaction) throws {
        try txn.put(customers, key: Array(record.pseudonym.utf8), value: Self.sealRecord(record, keys))
    }

    /// A `privacy.customers` value: nonce ‖ ciphertext ‖ tag of customer key ‖ real id, under the
    /// shard's key, the pseudonym authenticated (docs/FORMAT.md).
    private static func sealRecord(_ record: CustomerRecord, _ keys: Keys) throws -> [UInt8] {
        let plain = record.key.withUnsafeBytes { Array($0) } + Array(record.id.utf8)
        let p = Array(record.pseudonym.utf8)
        let box = try AES.GCM.seal(plain, using: keys.wrap(Keys.shard(ofPseudonym: p)),
                                   nonce: try AES.GCM.Nonce(data: RandomPool.shared.take(12)), authenticating: p)
        return Array(box.combined!)
    }

    /// Records that `ticket` belongs to the customer `pseudonym`.
    public func link(ticket: String, to pseudonym: String, in txn: WriteTransaction) throws {
        try txn.put(tickets, key: Array(ticket.utf8), value: Array(pseudonym.utf8))
    }

    /// Deletes the customer's record and look-up entry; the transaction then rotates the
    /// shards they were in before it commits (``prepareCommit(_:)``).
    public func erase(pseudonym: String, in txn: WriteTransaction) throws {
        guard let record = try customer(pseudonym: pseudonym, in: txn) else { return }
        _ = try txn.delete(customers, key: Array(pseudonym.utf8))
        let k = try keys(txn).lookupKey(record.id)
        if let current = try txn.get(lookup, key: k), current == Array(pseudonym.utf8) { _ = try txn.delete(lookup, key: k) }
        lock.lock()
        cache[pseudonym] = nil
        erasedInTransaction.insert(pseudonym)
        rotationNeeded.insert(Keys.shard(ofPseudonym: Array(pseudonym.utf8)))
        rotationNeeded.insert(Int(k[0]) << 8 | Int(k[1]))
        lock.unlock()
    }

    /// Called at the start of every attempt of an append transaction.
    public func beginTransaction() {
        lock.lock(); rotationNeeded = []; erasedInTransaction = []; rotation = nil; generationSeen = nil; lock.unlock()
    }

    /// Called last in an append transaction, before its commit: after erasures, replaces the
    /// keys of the shards they touched (in a new KEK file, durable before the commit) and seals
    /// those shards' live records and look-up entries again, so that what the erasures deleted
    /// is left, in free pages, only under keys that are destroyed once the commit is durable.
    public func prepareCommit(_ txn: WriteTransaction) throws {
        lock.lock(); let shards = rotationNeeded; lock.unlock()
        guard !shards.isEmpty else { return }
        let old = try keys(txn)
        // 1. The rotated shards' look-up entries: each leads to a record, whose real id keys the new entry.
        var relink: [CustomerRecord] = []
        for shard in shards.sorted() {
            let prefix = [UInt8(shard >> 8), UInt8(shard & 0xFF)]
            var doomed: [[UInt8]] = []
            try txn.withCursor(lookup) { c in
                var e = try c.seek(atLeast: prefix)
                while let entry = e, entry.key.starts(with: prefix) {
                    doomed.append(Array(entry.key))
                    let p = String(decoding: entry.value, as: UTF8.self)
                    guard let record = try customer(pseudonym: p, in: txn) else {
                        throw PrivacyError.corrupt("a look-up entry leads to \(p), who has no record")
                    }
                    relink.append(record)
                    e = try c.next()
                }
            }
            for k in doomed { _ = try txn.delete(lookup, key: k) }
        }
        // 2. The rotated shards' records, opened under the old shard keys.
        var reseal: [CustomerRecord] = []
        for shard in shards.sorted() {
            let digits = Array("0123456789abcdef".utf8)
            let prefix = Array("cus_".utf8) + [digits[shard >> 8], digits[(shard >> 4) & 15], digits[shard & 15]]
            try txn.withCursor(customers) { c in
                var e = try c.seek(atLeast: prefix)
                while let entry = e, entry.key.starts(with: prefix) {
                    reseal.append(try Self.openRecord(pseudonym: Array(entry.key), sealed: Array(entry.value), old))
                    e = try c.next()
                }
            }
        }
        // 3. The new generation: the old file with those shards' keys replaced.
        let fresh = Keys(generation: old.generation + 1,
                         file: try kek.create(old.generation + 1, from: old.file, rotating: shards), previous: old, rotated: shards)
        lock.lock()
        keys[fresh.generation] = fresh
        rotation = (old.generation, fresh.generation)
        lock.unlock()
        for r in reseal { try putRecord(r, fresh, in: txn) }
        for r in relink { try txn.put(lookup, key: fresh.lookupKey(r.id), value: Array(r.pseudonym.utf8)) }
        try txn.put(meta, key: Array("kek".utf8), value: BigEndianKey.bytes(fresh.generation))
        lock.lock()
        generationSeen = nil
        lock.unlock()
    }

    /// Called after the append transaction committed: destroys the retired KEK.
    public func didCommit() throws {
        lock.lock()
        let r = rotation
        rotation = nil
        rotationNeeded = []
        erasedInTransaction = []
        // The records' contents (keys and ids) do not change with a rotation, and the erased
        // ones left the cache when they were erased: what is cached stays true under the new generation.
        if let r {
            keys[r.old] = nil
            if cacheGeneration == r.old { cacheGeneration = r.new }
        }
        lock.unlock()
        guard let r else { return }
        // The commit that names the new KEK must be on disk before the old KEK goes: with relaxed
        // durability (no fsync per commit) an OS crash could otherwise bring back a log needing it.
        if environment.options.durability == .relaxed { try environment.sync() }
        try kek.destroy(r.old)
    }

    /// Called when the append transaction did not commit (a full disk, an I/O error): forget
    /// the rotation's keys and destroy its new KEK file, which protects nothing committed, so
    /// that `keys/` holds what it held before. If that fails too, the next writable open does it.
    public func didAbort() {
        lock.lock()
        // What the failed transaction read is not what the next one with its id will see.
        generationSeen = nil
        let r = rotation
        // The failed transaction's new customers are in the cache but not in the tables.
        if let r { keys[r.new] = nil }
        cache.removeAll()
        rotation = nil
        rotationNeeded = []
        erasedInTransaction = []
        lock.unlock()
        if let r { try? destroyUncommitted(r.new) }
    }

    /// Destroys KEK `generation` unless a commit made it current. Under the writer lock (an
    /// empty write transaction), so that no other process is rotating to that generation.
    private func destroyUncommitted(_ generation: UInt64) throws {
        try environment.write { txn in
            if let current = try Self.currentGeneration(txn, meta), current >= generation { return }
            try kek.destroy(generation)
        }
    }

    // MARK: Sealing

    /// Seals `values` (field path → clear value) for `record`, bound to the event id:
    /// `<pseudonym>:<base64 of nonce (12) ‖ ciphertext ‖ tag (16)>`. The plaintext is the
    /// canonical JSON object of the values, padded with spaces to a multiple of 64 bytes
    /// so that its length says little about them.
    public func seal(_ values: [(path: String, value: String)], for record: CustomerRecord, eventID: [UInt8]) throws -> String {
        var plain: [UInt8] = [UInt8(ascii: "{")]
        for (i, (path, value)) in values.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }).enumerated() {
            if i > 0 { plain.append(UInt8(ascii: ",")) }
            JSONString.append(path, to: &plain)
            plain.append(UInt8(ascii: ":"))
            JSONString.append(value, to: &plain)
        }
        plain.append(UInt8(ascii: "}"))
        let padded = (plain.count + 63) / 64 * 64
        plain += [UInt8](repeating: 0x20, count: padded - plain.count)
        let box = try AES.GCM.seal(plain, using: record.key, nonce: try AES.GCM.Nonce(data: RandomPool.shared.take(12)),
                                   authenticating: eventID + Array(record.pseudonym.utf8))
        return record.pseudonym + ":" + box.combined!.base64EncodedString()
    }

    /// Opens a sealed value: the clear values while the customer's key exists, `.erased` after.
    public func open(_ sealed: String, eventID: [UInt8], in txn: ReadTransaction) throws -> Opened {
        guard let pseudonym = Self.pseudonym(ofSealed: sealed) else { throw PrivacyError.corrupt("a sealed value without its pseudonym") }
        return try Self.open(sealed, eventID: eventID, record: try customer(pseudonym: pseudonym, in: txn))
    }

    /// Opens a sealed value with its customer's record as already looked up (nil: erased);
    /// needs no transaction, so it runs on any thread.
    public static func open(_ sealed: String, eventID: [UInt8], record: CustomerRecord?) throws -> Opened {
        guard let pseudonym = Self.pseudonym(ofSealed: sealed) else { throw PrivacyError.corrupt("a sealed value without its pseudonym") }
        guard let record else { return .erased }
        guard record.pseudonym == pseudonym else { throw PrivacyError.corrupt("a sealed value of \(pseudonym) given the record of \(record.pseudonym)") }
        let afterColon = sealed.utf8.index(sealed.startIndex, offsetBy: pseudonym.utf8.count + 1)
        guard let data = Data(base64Encoded: String(sealed[afterColon...])),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: record.key, authenticating: eventID + Array(pseudonym.utf8)),
              let object = try? JSONSerialization.jsonObject(with: plain) as? [String: String] else {
            throw PrivacyError.corrupt("a sealed value of \(pseudonym) does not open under its key")
        }
        return .values(object)
    }

    /// The pseudonym a sealed value names.
    public static func pseudonym(ofSealed sealed: String) -> String? {
        // On the bytes: the Character view's grapheme breaking made this a tenth of the audit
        // trail's time, and the UTF-8 view's index walk still about a thousand instructions.
        var s = sealed
        return s.withUTF8 { u in u.firstIndex(of: UInt8(ascii: ":")).map { String(decoding: u[..<$0], as: UTF8.self) } }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

extension PersonalDataVault {
    /// The tickets opened for `pseudonym` (a scan of the ticket links).
    public func tickets(of pseudonym: String, in environment: Environment) throws -> [String] {
        try environment.read { txn in
            var out: [String] = []
            let p = Array(pseudonym.utf8)
            try txn.withCursor(tickets) { c in
                var e = try c.first()
                while let entry = e {
                    if entry.value.elementsEqual(p) { out.append(String(decoding: entry.key, as: UTF8.self)) }
                    e = try c.next()
                }
            }
            return out
        }
    }
}
