import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// A read-only snapshot. Lives only inside ``Environment/read(_:)`` (or as
/// the read side of a ``WriteTransaction``); it must not escape the closure.
///
/// Buffers it returns point into the memory map and are valid only until the
/// closure returns: copy what you keep.
public class ReadTransaction {
    let txn: OpaquePointer
    private(set) var isLive = true

    init(txn: OpaquePointer) { self.txn = txn }

    func finish() { isLive = false }

    /// LMDB's transaction id (`mdb_txn_id`): a read transaction has the id of the last commit it
    /// sees, a write transaction the id its commit will have. Two read transactions with the same
    /// id see the same data.
    public var id: Int {
        ensureLive()
        return mdb_txn_id(txn)
    }

    @inline(__always)
    func ensureLive() {
        precondition(isLive, "an LMDB transaction was used after its closure returned")
    }

    /// Opens a named database inside this transaction.
    func openDatabase(_ name: String, flags: Database.Flags, create: Bool) throws -> Database {
        ensureLive()
        var dbi: MDB_dbi = 0
        let f = flags.rawValue | (create ? UInt32(MDB_CREATE) : 0)
        try check(mdb_dbi_open(txn, name, f, &dbi), "mdb_dbi_open(\(name))")
        return Database(dbi: dbi, name: name)
    }

    /// The value stored under `key`, or nil; valid until the transaction ends.
    @inline(__always)
    public func get(_ db: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        ensureLive()
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get(\(db.name))")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// The value under `key`, copied out.
    public func get(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { k in try get(db, key: k).map { Array($0) } }
    }

    /// The value under the big-endian integer key `key`.
    @inline(__always)
    public func get(_ db: Database, key: UInt64) throws -> UnsafeRawBufferPointer? {
        try BigEndianKey.with(key) { try get(db, key: $0) }
    }

    /// Number of entries in `db`.
    public func count(_ db: Database) throws -> Int {
        ensureLive()
        var stat = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &stat), "mdb_stat(\(db.name))")
        return Int(stat.ms_entries)
    }

    /// Pages used by `db` (branch + leaf + overflow) and the page size.
    public func pages(_ db: Database) throws -> (pages: Int, pageSize: Int) {
        ensureLive()
        var stat = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &stat), "mdb_stat(\(db.name))")
        return (Int(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages), Int(stat.ms_psize))
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed afterwards.
    public func withCursor<T>(_ db: Database, _ body: (Cursor) throws -> T) throws -> T {
        ensureLive()
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &cursor), "mdb_cursor_open(\(db.name))")
        let c = Cursor(cursor: cursor!, db: db)
        defer { c.isLive = false; mdb_cursor_close(cursor) }
        return try body(c)
    }
}

/// The single write transaction. A write transaction can be used wherever a
/// read one is expected; it sees its own uncommitted writes.
public final class WriteTransaction: ReadTransaction {
    /// Stores `value` under `key`.
    /// - throws: ``LMDBError`` (`isKeyExists` with `.noOverwrite`, `isMapFull` when the map is full
    ///   — ``Environment/write(_:)`` handles that by growing and retrying).
    @inline(__always)
    public func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        ensureLive()
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue), "mdb_put(\(db.name))")
    }

    public func put(_ db: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(db, key: k, value: v, flags: flags) } }
    }

    public func put(_ db: Database, key: UInt64, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        try BigEndianKey.with(key) { k in try put(db, key: k, value: value, flags: flags) }
    }

    /// Reserves `size` bytes under `key` and lets `fill` write them in place (no copy).
    public func putReserved(_ db: Database, key: UnsafeRawBufferPointer, size: Int, flags: PutFlags = [],
                            fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        ensureLive()
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: size, mv_data: nil)
        try check(mdb_put(txn, db.dbi, &k, &v, flags.rawValue | UInt32(MDB_RESERVE)), "mdb_put(\(db.name), reserve)")
        try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
    }

    /// Deletes `key`; returns false if it was absent.
    @discardableResult
    public func delete(_ db: Database, key: UnsafeRawBufferPointer) throws -> Bool {
        ensureLive()
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(txn, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del(\(db.name))")
        return true
    }

    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { try delete(db, key: $0) }
    }

    /// Removes every entry of `db`, keeping the database.
    public func clear(_ db: Database) throws {
        ensureLive()
        try check(mdb_drop(txn, db.dbi, 0), "mdb_drop(\(db.name))")
    }

    /// Deletes `db` itself from the environment; its handle must not be used afterwards.
    public func drop(_ db: Database) throws {
        ensureLive()
        try check(mdb_drop(txn, db.dbi, 1), "mdb_drop(\(db.name), delete)")
    }

    /// Opens (creating) a named database inside this transaction.
    public func database(_ name: String, flags: Database.Flags = []) throws -> Database {
        try openDatabase(name, flags: flags, create: true)
    }
}

/// A position in a database. Lives only inside ``ReadTransaction/withCursor(_:_:)``.
public final class Cursor {
    let cursor: OpaquePointer
    let db: Database
    var isLive = true

    init(cursor: OpaquePointer, db: Database) {
        self.cursor = cursor
        self.db = db
    }

    /// A key and value pointing into the map, valid until the transaction ends.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        precondition(isLive, "an LMDB cursor was used after its closure returned")
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(db.name))")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    public func first() throws -> Entry? { try move(MDB_FIRST) }
    public func last() throws -> Entry? { try move(MDB_LAST) }
    public func next() throws -> Entry? { try move(MDB_NEXT) }
    public func previous() throws -> Entry? { try move(MDB_PREV) }
    public func current() throws -> Entry? { try move(MDB_GET_CURRENT) }
    /// The first entry whose key is >= `key`.
    public func seek(atLeast key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_RANGE, key: key) }
    public func seek(atLeast key: [UInt8]) throws -> Entry? { try key.withUnsafeBytes { try seek(atLeast: $0) } }
    public func seek(atLeast key: UInt64) throws -> Entry? { try BigEndianKey.with(key) { try seek(atLeast: $0) } }
    /// The entry whose key equals `key`.
    public func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_KEY, key: key) }

    /// The last entry whose key is <= `key`.
    public func seek(atMost key: UnsafeRawBufferPointer) throws -> Entry? {
        if let e = try seek(atLeast: key) {
            if e.key.elementsEqual(key) { return e }
            return try previous()
        }
        return try last()
    }
    public func seek(atMost key: UInt64) throws -> Entry? { try BigEndianKey.with(key) { try seek(atMost: $0) } }

    /// Deletes the entry at the cursor and returns the one after it (nil at the end of the database).
    public func deleteCurrent() throws -> Entry? {
        precondition(isLive, "an LMDB cursor was used after its closure returned")
        try check(mdb_cursor_del(cursor, 0), "mdb_cursor_del(\(db.name))")
        // LMDB leaves the cursor on the following entry; once the database is empty it is no
        // longer positioned at all (EINVAL), which is the end too.
        var k = MDB_val(), v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, MDB_GET_CURRENT)
        if rc == MDB_NOTFOUND || rc == EINVAL { return nil }
        try check(rc, "mdb_cursor_get(\(db.name))")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Puts at the cursor (with `.append` for sorted bulk loads).
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        precondition(isLive, "an LMDB cursor was used after its closure returned")
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_cursor_put(cursor, &k, &v, flags.rawValue), "mdb_cursor_put(\(db.name))")
    }
}

@available(*, unavailable, message: "LMDB transactions belong to one thread and one closure")
extension ReadTransaction: Sendable {}

@available(*, unavailable, message: "LMDB cursors belong to their transaction")
extension Cursor: Sendable {}

extension WriteTransaction {
    /// Runs `body` in a nested transaction: its writes join this transaction
    /// when it returns and are discarded when it throws (this transaction
    /// stays usable either way). Do not use `self` inside `body`.
    public func nested<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        ensureLive()
        var child: OpaquePointer?
        try check(mdb_txn_begin(mdb_txn_env(txn), txn, 0, &child), "mdb_txn_begin(nested)")
        let handle = WriteTransaction(txn: child!)
        let result: T
        do {
            result = try body(handle)
        } catch {
            handle.finish()
            mdb_txn_abort(child)
            throw error
        }
        handle.finish()
        try check(mdb_txn_commit(child), "mdb_txn_commit(nested)")
        return result
    }
}
