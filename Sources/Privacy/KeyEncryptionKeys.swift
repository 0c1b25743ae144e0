import Foundation

/// The key-encryption key (KEK) files: `keys/kek.<generation>`, created 0600 in a 0700
/// directory kept apart from the log. A file holds a 32-byte *salt* and then
/// ``shardCount`` shard keys of 32 bytes each (``fileSize`` bytes in all), all random.
///
/// Every customer record in the log's environment is sealed under the key of its shard
/// (the first three hex digits of its pseudonym), and every look-up entry is keyed under
/// the key of its own shard (from the salted hash of the real id). An erasure deletes the
/// customer's record and look-up entry and then *rotates* the two shards they were in: the
/// next generation's file is the current one with those shard keys replaced by fresh
/// random ones, the shards' live records and look-up entries are sealed again, and the old
/// file is overwritten with zeros and unlinked once the rotation has committed. What the
/// erasure deleted may linger in LMDB's free pages, but only under shard keys that no
/// longer exist anywhere. The cost of an erasure is two shards' worth of customers, not all
/// of them (format 2 rotated one key for every customer).
///
/// Committed generations only grow. A generation's file is created (the committed one plus
/// one, by a rotation) or destroyed while it is not current only under LMDB's writer lock;
/// after a commit, only generations below the committed one are destroyed. So no process
/// can destroy a key that another process has committed.
struct KeyEncryptionKeys: Sendable {
    /// Shards of customers, each with its own key: 4,096 (the first three hex digits of a pseudonym).
    static let shardCount = 4096
    /// Salt (32) ‖ 4,096 shard keys (32 each).
    static let fileSize = 32 + 32 * shardCount

    let directory: String

    init(directory: String, create: Bool) throws {
        self.directory = directory
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard create else { throw PrivacyError.missingKey("the key directory \(directory)") }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
    }

    func path(_ generation: UInt64) -> String { directory + "/kek.\(generation)" }

    /// Creates generation `generation`, durably (file and directory synced): a copy of
    /// `previous` with the keys of `shards` replaced by fresh random ones, or all fresh
    /// (salt included) without `previous`.
    func create(_ generation: UInt64, from previous: [UInt8]? = nil, rotating shards: Set<Int> = []) throws -> [UInt8] {
        var key: [UInt8]
        if let previous {
            precondition(previous.count == Self.fileSize)
            key = previous
            for s in shards { key.replaceSubrange((32 + 32 * s)..<(64 + 32 * s), with: RandomPool.shared.take(32)) }
        } else {
            key = []
            key.reserveCapacity(Self.fileSize)
            while key.count < Self.fileSize { key += RandomPool.shared.take(min(4096, Self.fileSize - key.count)) }
        }
        let p = path(generation)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PrivacyError.io("cannot create \(p)", errno) }
        defer { close(fd) }
        var done = 0
        while done < key.count {
            let n = key.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = n < 0 ? errno : ENOSPC  // a short write's cause is the next write's error
                _ = unlink(p)
                throw PrivacyError.io("cannot write \(p)", code)
            }
            done += n
        }
        guard fsync(fd) == 0 else { let code = errno; _ = unlink(p); throw PrivacyError.io("cannot sync \(p)", code) }
        try syncDirectory()
        return key
    }

    /// The key of `generation`.
    func read(_ generation: UInt64) throws -> [UInt8] {
        let p = path(generation)
        guard let data = FileManager.default.contents(atPath: p) else {
            throw PrivacyError.rotated("the key-encryption key \(p) is gone (rotated by an erasure?); retry")
        }
        guard data.count == Self.fileSize, data.contains(where: { $0 != 0 }) else {
            throw PrivacyError.rotated("the key-encryption key \(p) was destroyed (rotated by an erasure?); retry")
        }
        return Array(data)
    }

    /// Overwrites `generation`'s keys with zeros in place, syncs, and unlinks the file.
    func destroy(_ generation: UInt64) throws {
        let p = path(generation)
        let fd = open(p, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw PrivacyError.io("cannot open \(p) to destroy it", errno)
        }
        var size = stat()
        let length = fstat(fd, &size) == 0 ? max(Int(size.st_size), 0) : Self.fileSize
        let zeros = [UInt8](repeating: 0, count: length)
        let ok = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, length, 0) } == length && fsync(fd) == 0
        close(fd)
        guard ok else { throw PrivacyError.io("cannot overwrite \(p)", errno) }
        guard unlink(p) == 0 || errno == ENOENT else { throw PrivacyError.io("cannot remove \(p)", errno) }
        try syncDirectory()
    }

    /// Every generation present on disk.
    func generations() throws -> [UInt64] {
        try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name in
            name.hasPrefix("kek.") ? UInt64(name.dropFirst(4)) : nil
        }
    }

    private func syncDirectory() throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw PrivacyError.io("cannot open \(directory)", errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw PrivacyError.io("cannot sync \(directory)", errno) }
    }
}

/// Failures of the personal-data store.
public enum PrivacyError: Error, CustomStringConvertible, Sendable {
    case missingKey(String)
    case io(String, Int32)
    /// Another process rotated the key-encryption key under this reader: retry.
    case rotated(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .missingKey(let what): return "missing \(what)"
        case .io(let what, let code) where code == ENOSPC || code == EDQUOT:
            return "\(what): the disk is full: free space and run the same command again"
        case .io(let what, let code) where code == EFBIG:
            return "\(what): a file-size limit (ulimit -f) stops the file from growing: raise it and run the same command again"
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        case .rotated(let why): return why
        case .corrupt(let why): return "the personal-data store is damaged: \(why)"
        }
    }
}
