import CLMDB

extension LMDBError {
    /// LMDB found the file inconsistent: a page it points to is missing or of the wrong
    /// kind, a meta page or a node is invalid, a tree is too deep, or the transaction was
    /// spoiled by such an error earlier. What a damaged `data.mdb` gives, never a busy or
    /// misconfigured environment.
    public var isDamage: Bool {
        switch code {
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC, MDB_INVALID, MDB_VERSION_MISMATCH, MDB_INCOMPATIBLE,
             MDB_BAD_TXN, MDB_BAD_VALSIZE, MDB_BAD_DBI, MDB_CURSOR_FULL, MDB_PAGE_FULL:
            return true
        default:
            return false
        }
    }

    /// The transaction was spoiled by an earlier failure (LMDB does not always report a failed
    /// page read at once, e.g. when a cursor is opened).
    public var isSpoiledTransaction: Bool { code == MDB_BAD_TXN }

    /// A named database that should exist was not found (opened without creating it).
    public var isMissingDatabase: Bool { code == MDB_NOTFOUND && context.hasPrefix("mdb_dbi_open(") }

    /// The database named in the context (`mdb_get(ids)` → `ids`), when there is one.
    public var databaseName: String? {
        guard let open = context.firstIndex(of: "("), let close = context.lastIndex(of: ")"), open < close else { return nil }
        return String(context[context.index(after: open)..<close])
    }
}

extension ReadTransaction {
    /// The names of the environment's named databases (the keys of LMDB's main database), in order.
    public func databaseNames() throws -> [String] {
        ensureLive()
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn, nil, 0, &dbi), "mdb_dbi_open(main)")
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open(main)")
        defer { mdb_cursor_close(cursor) }
        var names: [String] = []
        var k = MDB_val(), v = MDB_val()
        var op = MDB_FIRST
        while true {
            let rc = mdb_cursor_get(cursor, &k, &v, op)
            if rc == MDB_NOTFOUND { break }
            try check(rc, "mdb_cursor_get(main)")
            names.append(String(decoding: UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), as: UTF8.self))
            op = MDB_NEXT
        }
        return names
    }
}

extension ReadTransaction {
    /// The environment's page size.
    public func pageSize() throws -> Int {
        ensureLive()
        var stat = MDB_stat()
        try check(mdb_env_stat(mdb_txn_env(txn), &stat), "mdb_env_stat")
        return Int(stat.ms_psize)
    }

    /// The longest key the environment stores.
    public var maxKeySize: Int { Int(mdb_env_get_maxkeysize(mdb_txn_env(txn))) }
}

/// Checks on buffers LMDB hands back, for code that walks a possibly damaged file: a damaged
/// node can claim a size that runs far past its page, and reading it would fault.
public enum Plausible {
    /// A value longer than a page must sit on pages of its own (an overflow page's data starts
    /// right after its 16-byte header); a shorter one sits inside its leaf page.
    @inline(__always)
    public static func value(_ v: UnsafeRawBufferPointer, pageSize: Int) -> Bool {
        guard v.count > pageSize / 2 else { return true }
        guard let base = v.baseAddress else { return false }
        return (UInt(bitPattern: base) &- 16) % UInt(pageSize) == 0 && v.count < Int.max / 4
    }

    /// The error for a buffer that fails these checks.
    public static func damaged(_ what: String) -> LMDBError {
        LMDBError(code: MDB_CORRUPTED, context: what)
    }
}
