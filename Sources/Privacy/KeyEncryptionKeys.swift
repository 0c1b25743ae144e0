import Foundation

/// The key-encryption key (KEK) files: `keys/kek.<generation>`, 32 random bytes each,
/// created 0600 in a 0700 directory kept apart from the log.
///
/// Every customer record in the log's environment is sealed under the current KEK.
/// An erasure deletes the customer's record and then *rotates* the KEK: every live
/// record is sealed again under a new one, and the old KEK file is overwritten with
/// zeros and unlinked once the rotation has committed. The deleted record may linger
/// in LMDB's free pages, but only sealed under a key that no longer exists anywhere.
///
/// Committed generations only grow. A generation's file is created (the committed one plus
/// one, by a rotation) or destroyed while it is not current only under LMDB's writer lock;
/// after a commit, only generations below the committed one are destroyed. So no process
/// can destroy a key that another process has committed.
struct KeyEncryptionKeys: Sendable {
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

    /// Creates generation `generation` with fresh random bytes, durably (file and directory synced).
    func create(_ generation: UInt64) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in key.indices { key[i] = rng.next() }
        let p = path(generation)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PrivacyError.io("cannot create \(p)", errno) }
        defer { close(fd) }
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        guard written == 32 else { throw PrivacyError.io("cannot write \(p)", errno) }
        guard fsync(fd) == 0 else { throw PrivacyError.io("cannot sync \(p)", errno) }
        try syncDirectory()
        return key
    }

    /// The key of `generation`.
    func read(_ generation: UInt64) throws -> [UInt8] {
        let p = path(generation)
        guard let data = FileManager.default.contents(atPath: p) else {
            throw PrivacyError.rotated("the key-encryption key \(p) is gone (rotated by an erasure?); retry")
        }
        guard data.count == 32, data.contains(where: { $0 != 0 }) else {
            throw PrivacyError.rotated("the key-encryption key \(p) was destroyed (rotated by an erasure?); retry")
        }
        return Array(data)
    }

    /// Overwrites `generation`'s key with zeros in place, syncs, and unlinks it.
    func destroy(_ generation: UInt64) throws {
        let p = path(generation)
        let fd = open(p, O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw PrivacyError.io("cannot open \(p) to destroy it", errno)
        }
        let zeros = [UInt8](repeating: 0, count: 32)
        let ok = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, 32, 0) } == 32 && fsync(fd) == 0
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
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        case .rotated(let why): return why
        case .corrupt(let why): return "the personal-data store is damaged: \(why)"
        }
    }
}
