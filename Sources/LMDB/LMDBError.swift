import CLMDB

/// A failure reported by LMDB (or by this layer's use of it).
///
/// Carries LMDB's return code, its message and what this layer was doing, so
/// that no caller ever sees a raw C return code.
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// LMDB's (or errno's) return code.
    public let code: Int32
    /// LMDB's message for the code.
    public let message: String
    /// What was being done: `"mdb_put(events)"`, `"open /path"`.
    public let context: String

    public init(code: Int32, context: String) {
        self.code = code
        self.message = String(cString: mdb_strerror(code))
        self.context = context
    }

    init(message: String, context: String) {
        self.code = -1
        self.message = message
        self.context = context
    }

    public var description: String {
        // code -1: this layer's own refusal, not LMDB's (its message says everything).
        code == -1 ? "\(context): \(message)" : "LMDB error \(code) in \(context): \(message)" + (hint.map { " (\($0))" } ?? "")
    }

    /// What usually lies behind an operating-system error from a write, for the person reading it.
    public var hint: String? {
        switch code {
        case 28: return "the disk is full: free space and run the same command again; nothing of the failed batch was kept"
        case 27: return "a file-size limit (ulimit -f) stops the ledger's file from growing"
        case 5: return "the write failed: usually a full disk or a file-size limit, else a failing device; nothing of the failed batch was kept"
        case 12: return "out of memory"
        case 122: return "the disk quota is exhausted"
        default: return nil
        }
    }

    /// The disk (or a quota or file-size limit) refused a write.
    public var isOutOfSpace: Bool { code == 28 || code == 27 || code == 5 || code == 122 }

    /// The map is full: the write must be retried with a larger map.
    public var isMapFull: Bool { code == MDB_MAP_FULL }
    /// Another process grew the map beyond ours.
    public var isMapResized: Bool { code == MDB_MAP_RESIZED }
    /// The key was absent (only surfaced by calls that do not map it to `nil`).
    public var isNotFound: Bool { code == MDB_NOTFOUND }
    /// A put with `noOverwrite` met an existing key.
    public var isKeyExists: Bool { code == MDB_KEYEXIST }
    /// Write attempted in a read-only environment.
    public var isReadOnly: Bool { code == 13 /* EACCES */ }
    /// The environment has no more reader slots.
    public var isReadersFull: Bool { code == MDB_READERS_FULL }
}

@inline(__always)
func check(_ rc: Int32, _ context: @autoclosure () -> String) throws(LMDBError) {
    if rc != 0 { throw LMDBError(code: rc, context: context()) }
}
