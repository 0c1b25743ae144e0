import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// Open it once per process (a second open of the same directory throws),
/// then read and write through closures:
///
/// ```swift
/// let env = try Environment(path: dir, options: .init())
/// let events = try env.openDatabase("events")
/// try env.write { txn in try txn.put(events, key: k, value: v) }
/// let n = try env.read { txn in try txn.count(events) }
/// ```
///
/// The map grows by itself: before a write that might not fit (``write(reserving:_:)``),
/// and when a write meets `MDB_MAP_FULL` anyway: it is aborted, the map is doubled
/// and the whole closure runs again (so a write closure must have no effects
/// outside its transaction, or tolerate running twice). A map grown by another
/// process is adopted (`MDB_MAP_RESIZED`). Stale reader
/// slots left by dead processes are cleared at open.
public final class Environment: @unchecked Sendable {
    /// How an environment is opened.
    public struct Options: Sendable {
        /// Initial map size in bytes; it grows on demand.
        public var mapSize: Int = 64 << 20
        /// How many named databases may exist.
        public var maxDatabases: UInt32 = 32
        /// Reader slots (concurrent read transactions across all processes).
        public var maxReaders: UInt32 = 126
        /// Open read-only: every write fails with an error.
        public var readOnly: Bool = false
        /// Durability of commits.
        public var durability: Durability = .durable
        /// Permissions of created files.
        public var fileMode: mode_t = 0o600
        public init() {}
    }

    /// What a commit promises.
    public enum Durability: Sendable {
        /// A commit returns once its data and meta page are on disk (fsync).
        case durable
        /// No fsync at commit (`MDB_NOSYNC`): a process crash loses nothing
        /// committed, but an OS crash or power loss may lose the last commits
        /// (LMDB keeps the database consistent only where the file system
        /// preserves write order). Call ``sync()`` to make everything durable.
        case relaxed
    }

    let env: OpaquePointer
    /// The directory.
    public let path: String
    public let options: Options
    /// Held shared by every transaction of this process, exclusively while the map is resized.
    private var resizeLock = pthread_rwlock_t()
    private let sizeLock = NSLockLite()
    private var currentMapSize: Int
    /// The most any write transaction of this process took past the file's last page, in bytes.
    private var largestTaken = 0
    /// LMDB's page size (`mdb_env_stat`).
    private let pageSize: Int

    private static let registryLock = NSLockLite()
    nonisolated(unsafe) private static var openPaths: Set<String> = []
    private let registryKey: String

    /// Opens (or creates, unless read-only) the environment in directory `path`.
    /// - throws: ``LMDBError`` when the directory cannot be opened, or when
    ///   this process has it open already.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        if !options.readOnly { mkdir(path, 0o700) }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(path, &resolved) != nil else {
            throw LMDBError(code: errno, context: "open environment \(path)")
        }
        let key = String(decoding: resolved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try Environment.registryLock.withLock { () throws(LMDBError) in
            if Environment.openPaths.contains(key) {
                throw LMDBError(message: "this process already has the environment open; share that instance", context: "open environment \(path)")
            }
            Environment.openPaths.insert(key)
        }
        registryKey = key
        AddressSpace.adapt()
        var envp: OpaquePointer?
        do {
            try check(mdb_env_create(&envp), "mdb_env_create")
            try check(mdb_env_set_maxdbs(envp, MDB_dbi(options.maxDatabases)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(envp, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(envp, Environment.mapSizeWithin(options.mapSize, path: path)), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if options.readOnly {
                flags |= UInt32(MDB_RDONLY)
                // A copy the user may only read (no write permission on lock.mdb, or no lock file
                // and a read-only directory): read it without LMDB's lock file, as LMDB allows for
                // read-only media. Nothing may be writing such a copy (docs/DECISIONS.md).
                let lock = path + "/lock.mdb"
                if access(lock, F_OK) == 0 ? access(lock, W_OK) != 0 : access(path, W_OK) != 0 { flags |= UInt32(MDB_NOLOCK) }
            }
            if options.durability == .relaxed { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(envp, path, flags, options.fileMode), "mdb_env_open \(path)")
            var dead: Int32 = 0
            try check(mdb_reader_check(envp, &dead), "mdb_reader_check")
        } catch {
            if let envp { mdb_env_close(envp) }
            Environment.registryLock.withLock { _ = Environment.openPaths.remove(key) }
            throw error
        }
        env = envp!
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        currentMapSize = info.me_mapsize
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        pageSize = Int(stat.ms_psize)
        pthread_rwlock_init(&resizeLock, nil)
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(&resizeLock)
        Environment.registryLock.withLock { _ = Environment.openPaths.remove(registryKey) }
    }

    /// The current map size in bytes.
    public var mapSize: Int { sizeLock.withLock { currentMapSize } }

    /// Opens (creating it unless read-only) a named database.
    public func openDatabase(_ name: String, flags: Database.Flags = []) throws -> Database {
        if options.readOnly {
            // A handle opened in a read transaction survives only if that transaction commits.
            pthread_rwlock_rdlock(&resizeLock)
            defer { pthread_rwlock_unlock(&resizeLock) }
            let txn = try begin(flags: UInt32(MDB_RDONLY))
            let handle = ReadTransaction(txn: txn)
            let db: Database
            do { db = try handle.openDatabase(name, flags: flags, create: false) } catch {
                handle.finish(); mdb_txn_abort(txn); throw error
            }
            handle.finish()
            try check(mdb_txn_commit(txn), "mdb_txn_commit(open \(name))")
            return db
        }
        return try write { txn in try txn.openDatabase(name, flags: flags, create: true) }
    }

    /// Runs `body` in a read-only snapshot transaction, then ends it.
    /// Readers never block the writer and see only committed data.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        pthread_rwlock_rdlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        let txn = try begin(flags: UInt32(MDB_RDONLY))
        let handle = ReadTransaction(txn: txn)
        defer { handle.finish(); mdb_txn_abort(txn) }
        return try body(handle)
    }

    /// Runs `body` in the write transaction (one at a time per environment,
    /// across processes) and commits when it returns; aborts when it throws.
    /// On `MDB_MAP_FULL` the map is doubled and `body` runs again.
    ///
    /// The map is grown *before* the transaction when what is left past the file's last page
    /// is less than `bytes`, or less than twice what the largest write transaction so far took
    /// there: a large transaction that met `MDB_MAP_FULL` would be done twice (an import of
    /// 1.1M lines redid a tenth of its writer's work that way; BENCHMARKS.md, sixteenth round).
    /// - Parameter bytes: what `body` may add to the file, as far as the caller can tell (0: unknown).
    /// - throws: what `body` throws, or ``LMDBError`` (read-only: `isReadOnly`).
    public func write<T>(reserving bytes: Int = 0, _ body: (WriteTransaction) throws -> T) throws -> T {
        if options.readOnly {
            throw LMDBError(code: 13, context: "write to read-only environment \(path)")
        }
        growAhead(bytes)
        while true {
            do {
                let before = lastPage()
                let result = try writeOnce(body)
                let took = (lastPage() - before) * pageSize
                sizeLock.withLock { largestTaken = max(largestTaken, took) }
                return result
            } catch let error as LMDBError where error.isMapFull {
                try grow()
            }
        }
    }

    /// The last page the file uses, as the newest committed meta page says.
    private func lastPage() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_last_pgno
    }

    /// Grows the map before a write transaction that might not fit (see ``write(reserving:_:)``).
    /// Best effort: when the map cannot grow now (an address-space limit), the transaction runs
    /// and meets `MDB_MAP_FULL`, which grows it as far as allowed or fails with a clear error.
    private func growAhead(_ bytes: Int) {
        let wanted = max(bytes, 2 * sizeLock.withLock { largestTaken })
        guard wanted > 0 else { return }
        let used = (lastPage() + 1) * pageSize
        guard mapSize - used < wanted else { return }
        try? grow(toAtLeast: used + wanted)
    }

    private func writeOnce<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        pthread_rwlock_rdlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        let txn = try begin(flags: 0)
        let handle = WriteTransaction(txn: txn)
        let result: T
        do {
            result = try body(handle)
        } catch {
            handle.finish()
            mdb_txn_abort(txn)
            throw error
        }
        handle.finish()
        // A failed commit has already freed the transaction.
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
        return result
    }

    private func begin(flags: UInt32) throws(LMDBError) -> OpaquePointer {
        var attempts = 0
        while true {
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, flags, &txn)
            if rc == 0, let txn { return txn }
            if rc == MDB_MAP_RESIZED, attempts < 3 {
                attempts += 1
                adoptResizedMap()
                continue
            }
            throw LMDBError(code: rc, context: "mdb_txn_begin")
        }
    }

    /// Another process grew the map: adopt its size. Needs no transaction of
    /// ours to be active, so it briefly upgrades to the exclusive lock.
    private func adoptResizedMap() {
        pthread_rwlock_unlock(&resizeLock)
        pthread_rwlock_wrlock(&resizeLock)
        mdb_env_set_mapsize(env, 0)
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        sizeLock.withLock { currentMapSize = info.me_mapsize }
        pthread_rwlock_unlock(&resizeLock)
        pthread_rwlock_rdlock(&resizeLock)
    }

    /// The map size to open with: `wanted`, but under an address-space limit no more than it
    /// leaves (and never less than the data file, which LMDB maps whole).
    static func mapSizeWithin(_ wanted: Int, path: String) throws(LMDBError) -> Int {
        guard let room = AddressSpace.headroom else { return wanted }
        var st = stat()
        let file = stat(path + "/data.mdb", &st) == 0 ? Int(st.st_size) : 0
        if max(wanted, file) <= room { return wanted }
        try AddressSpace.ensure(file, for: "map the ledger's \(file >> 20) MiB file (\(path))")
        return max(file, room / (1 << 20) * (1 << 20))
    }

    /// Grows the map by one step, and to at least `minimum` bytes.
    private func grow(toAtLeast minimum: Int = 0) throws {
        pthread_rwlock_wrlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        // Double, but by at least 1 MiB and at most 1 GiB at a time (or to `minimum`); under an
        // address-space limit, only as far as it allows. A failed mmap inside mdb_env_set_mapsize
        // would leave the environment without a map (LMDB sets it to NULL), so that is never attempted.
        let current = info.me_mapsize
        if minimum > 0 && current >= minimum { return }  // another thread grew it meanwhile
        var step = max(min(max(current, 1 << 20), 1 << 30), (minimum - current + (1 << 20) - 1) / (1 << 20) * (1 << 20))
        // (Half of what is left at most: the other half is for the work that fills the map.)
        if let room = AddressSpace.headroom, step > room / 2 {
            step = room / 2 / (1 << 20) * (1 << 20)
            if step < 1 << 20 {
                try AddressSpace.ensure(1 << 20, for: "grow the ledger's map beyond \(current >> 20) MiB (\(path))")
            }
        }
        let next = current + step
        try check(mdb_env_set_mapsize(env, next), "grow map to \(next) bytes")
        mdb_env_info(env, &info)
        sizeLock.withLock { currentMapSize = info.me_mapsize }
    }

    /// Drops this process's resident pages of the read-only memory map (they stay in the
    /// kernel's page cache and fault back in when read). Long scans call it so that their
    /// resident memory reflects their working set, not the size of the file.
    public func releaseMappedPages() {
        // The map must not move while it is found and dropped: a map grown meanwhile is mapped
        // elsewhere, and what the old range then holds (the heap, say) would be zeroed.
        pthread_rwlock_rdlock(&resizeLock)
        defer { pthread_rwlock_unlock(&resizeLock) }
        // LMDB does not expose its map's address (me_mapaddr is only set with MDB_FIXEDMAP):
        // find the mapping of data.mdb in /proc/self/maps. Where that is unavailable, do nothing.
        guard let maps = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(maps) }
        let suffix = registryKey + "/data.mdb"
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), maps) != nil {
            let text = String(decoding: line.prefix(while: { $0 != 0 && $0 != 10 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasSuffix(suffix), let dash = text.firstIndex(of: "-"), let space = text.firstIndex(of: " "),
                  let start = UInt(text[..<dash], radix: 16), let end = UInt(text[text.index(after: dash)..<space], radix: 16),
                  let base = UnsafeMutableRawPointer(bitPattern: start), end > start else { continue }
            madvise(base, Int(end - start), MADV_DONTNEED)
        }
    }

    /// Flushes buffers to disk (needed after relaxed commits; `force` even when `MDB_NOSYNC`).
    public func sync(force: Bool = true) throws {
        try check(mdb_env_sync(env, force ? 1 : 0), "mdb_env_sync")
    }

    /// Statistics of the environment.
    public struct Info: Sendable {
        public var mapSize: Int
        public var lastPageNumber: Int
        public var pageSize: Int
        public var usedBytes: Int { (lastPageNumber + 1) * pageSize }
        public var maxReaders: Int
        public var readersInUse: Int
    }

    public func info() -> Info {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return Info(mapSize: info.me_mapsize, lastPageNumber: info.me_last_pgno,
                    pageSize: pageSize, maxReaders: Int(info.me_maxreaders),
                    readersInUse: Int(info.me_numreaders))
    }
}

/// A minimal mutex (Foundation's NSLock would pull Foundation into the storage layer).
final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
