import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a signing key file could not be created or loaded.
public enum SigningKeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `create` refuses to overwrite an existing file (or symlink).
    case alreadyExists(path: String)
    /// No file at the path.
    case notFound(path: String)
    /// The path is not a regular file.
    case notARegularFile(path: String)
    /// The file is accessible by group or others; `mode` is the permission bits.
    case insecurePermissions(path: String, mode: UInt32)
    /// The file belongs to another user than the one running this process.
    case wrongOwner(path: String, owner: UInt32, expected: UInt32)
    /// The file's contents are not a hex-encoded 32-byte Ed25519 private key.
    case malformedKey(path: String, reason: String)
    /// A system call failed.
    case systemCall(path: String, operation: String, errno: Int32)
    /// Signing failed inside the crypto library.
    case signingFailed(String)

    public var description: String {
        switch self {
        case .alreadyExists(let path):
            return "signing key file \(path) already exists; refusing to overwrite it"
        case .notFound(let path):
            return "signing key file \(path) does not exist"
        case .notARegularFile(let path):
            return "signing key file \(path) is not a regular file"
        case .insecurePermissions(let path, let mode):
            return "signing key file \(path) has permissions \(String(mode, radix: 8).leftPadded(to: 4)); "
                + "it must not be readable or writable by group or others (run: chmod 600 \(path))"
        case .wrongOwner(let path, let owner, let expected):
            return "signing key file \(path) is owned by uid \(owner), not by the current user (uid \(expected))"
        case .malformedKey(let path, let reason):
            return "signing key file \(path) is malformed: \(reason)"
        case .systemCall(let path, let operation, let code):
            return "\(operation) failed for signing key file \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .signingFailed(let reason):
            return "Ed25519 signing failed: \(reason)"
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// An Ed25519 signing key kept in a file only its owner can read (mode 0600).
///
/// The file holds the 32-byte private key as 64 lowercase hex characters and a
/// newline. ``create(at:)`` makes a new file with `O_CREAT|O_EXCL` and mode
/// 0600 (never overwriting); ``load(from:)`` refuses a file that group or
/// others can access, or that another user owns.
public struct SigningKeyFile: Sendable {
    /// Where the key is stored.
    public let path: String
    private let privateKey: Curve25519.Signing.PrivateKey

    private init(path: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.path = path
        self.privateKey = privateKey
    }

    /// Generates a new key and writes it to a new file at `path` with mode 0600.
    /// Fails if anything (including a dangling symlink) already exists there.
    /// The file and its directory are fsynced before returning.
    public static func create(at path: String) throws(SigningKeyFileError) -> SigningKeyFile {
        let key = Curve25519.Signing.PrivateKey()
        var contents = Array((Hex.encode(key.rawRepresentation) + "\n").utf8)
        defer { zeroize(&contents) }

        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(0o600))
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw .alreadyExists(path: path) }
            throw .systemCall(path: path, operation: "open", errno: code)
        }
        var succeeded = false
        defer {
            close(fd)
            if !succeeded { unlink(path) }
        }
        // The umask can only remove bits; set the mode explicitly anyway.
        guard fchmod(fd, mode_t(0o600)) == 0 else { throw .systemCall(path: path, operation: "fchmod", errno: errno) }
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { raw in
                write(fd, raw.baseAddress! + written, raw.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .systemCall(path: path, operation: "write", errno: errno)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw .systemCall(path: path, operation: "fsync", errno: errno) }
        succeeded = true
        syncParentDirectory(of: path)
        return SigningKeyFile(path: path, privateKey: key)
    }

    /// Loads the key at `path`, refusing a file that is not a regular file,
    /// is accessible by group or others (any of mode bits 0077), or is owned
    /// by another user.
    public static func load(from path: String) throws(SigningKeyFileError) -> SigningKeyFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .notFound(path: path) }
            throw .systemCall(path: path, operation: "open", errno: code)
        }
        defer { close(fd) }

        // Check the file actually opened, not the path (no race with a rename).
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .systemCall(path: path, operation: "fstat", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(path: path) }
        let permissions = UInt32(info.st_mode & 0o7777)
        guard permissions & 0o077 == 0 else { throw .insecurePermissions(path: path, mode: permissions) }
        let owner = UInt32(info.st_uid)
        let me = UInt32(geteuid())
        guard owner == me else { throw .wrongOwner(path: path, owner: owner, expected: me) }

        var contents = [UInt8](repeating: 0, count: 256)
        defer { zeroize(&contents) }
        var total = 0
        while total < contents.count {
            let n = contents.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + total, raw.count - total)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .systemCall(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            total += n
        }
        guard total < contents.count else { throw .malformedKey(path: path, reason: "file is too large") }

        var end = total
        while end > 0, [0x0A, 0x0D, 0x20, 0x09].contains(contents[end - 1]) { end -= 1 }
        guard end == 64 else {
            throw .malformedKey(path: path, reason: "expected 64 hex characters, found \(end) characters")
        }
        guard var raw = Hex.decode(String(decoding: contents[0..<end], as: UTF8.self)) else {
            throw .malformedKey(path: path, reason: "not hexadecimal")
        }
        defer { zeroize(&raw) }
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            return SigningKeyFile(path: path, privateKey: key)
        } catch {
            throw .malformedKey(path: path, reason: "not an Ed25519 private key (\(error))")
        }
    }

    /// The 32-byte raw Ed25519 public key.
    public var publicKey: [UInt8] {
        Array(privateKey.publicKey.rawRepresentation)
    }

    /// The public key as 64 lowercase hex characters.
    public var publicKeyHex: String {
        Hex.encode(privateKey.publicKey.rawRepresentation)
    }

    /// The 64-byte Ed25519 signature of `message`.
    public func sign<D: DataProtocol>(_ message: D) throws(SigningKeyFileError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: message))
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by the raw
    /// 32-byte `publicKey`. Malformed keys or signatures give false.
    public static func verify<K: DataProtocol, S: DataProtocol, M: DataProtocol>(
        publicKey: K, signature: S, message: M
    ) -> Bool {
        guard publicKey.count == 32, signature.count == 64,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: Array(publicKey))
        else { return false }
        return key.isValidSignature(signature, for: message)
    }

    private static func zeroize(_ bytes: inout [UInt8]) {
        for i in bytes.indices { bytes[i] = 0 }
    }

    private static func syncParentDirectory(of path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}
