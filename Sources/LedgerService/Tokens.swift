import Compliance
import Crypto
import Foundation

/// What a bearer token may do (CONTRACT.md section 9). Each role includes the one before it
/// for reads: `auditor` reads; `compliance` reads and reveals, erases, holds and exports, acting
/// as its staff id; `admin` does everything. `writer` only appends.
public enum TokenRole: String, Sendable, CaseIterable, Codable {
    case writer, auditor, compliance, admin

    /// True when a token of this role may read the ledger (queries, log, feed, proofs).
    var reads: Bool { self != .writer }
    /// True when it may append interchange lines.
    var appends: Bool { self == .writer || self == .admin }
    /// True when it may reveal personal data, erase, hold and export (as its staff id).
    var compliance: Bool { self == .compliance || self == .admin }
}

/// One stored token: never the secret, only its SHA-256 hash.
public struct StoredToken: Sendable, Codable, Equatable {
    /// A short public id (shown by `token list`, used by `token revoke` and in logs).
    public var id: String
    public var name: String
    public var role: TokenRole
    /// The staff id the token acts as for reveals and compliance events.
    public var staff: String?
    /// Lowercase hex SHA-256 of the secret.
    public var sha256: String
    public var created: String
    public var revoked: String?
}

/// The service's bearer tokens, in `tokens.json` in the ledger directory (mode 0600).
///
/// A token is `lt_<id>_<secret>`: 32 random bytes, base64url; it is shown once, at creation,
/// and stored only as its SHA-256 hash. Checking compares the hash of the presented token with
/// every stored hash in constant time. The file is read again whenever it changes, so a
/// token revoked while the service runs is refused from its next request on.
public final class TokenStore: @unchecked Sendable {
    public static let fileName = "tokens.json"
    public static let formatVersion = 1
    let path: String
    private let lock = NSLock()
    /// The tokens as last read, each with its hash decoded, and the file's identity then.
    private var cached: [(token: StoredToken, hash: [UInt8])] = []
    private var cachedStamp: FileStamp?

    public init(ledgerPath: String) { path = ledgerPath + "/" + TokenStore.fileName }

    struct File: Codable {
        var version: Int
        var tokens: [StoredToken]
    }

    /// Every token, revoked ones included.
    public func list() throws -> [StoredToken] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let file = try JSONDecoder().decode(File.self, from: data)
        guard file.version == TokenStore.formatVersion else {
            throw TokenError("\(path) has token format version \(file.version); this ledger reads version \(TokenStore.formatVersion)")
        }
        return file.tokens
    }

    private func save(_ tokens: [StoredToken]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(version: TokenStore.formatVersion, tokens: tokens))
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw TokenError("cannot write \(tmp)")
        }
        _ = chmod(tmp, 0o600)
        if rename(tmp, path) != 0 { throw TokenError("cannot replace \(path): \(String(cString: strerror(errno)))") }
    }

    /// Creates a token and returns its secret (the only time it is seen) and its stored record.
    public func create(name: String, role: TokenRole, staff: String?) throws -> (secret: String, token: StoredToken) {
        var tokens = try list()
        var idBytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0.prefix(4)) }
        var id = idBytes.map { String(format: "%02x", $0) }.joined()
        while tokens.contains(where: { $0.id == id }) {
            idBytes = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0.prefix(4)) }
            id = idBytes.map { String(format: "%02x", $0) }.joined()
        }
        let random = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let secret = "lt_\(id)_" + random.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let token = StoredToken(id: id, name: name, role: role, staff: staff, sha256: TokenStore.hash(secret),
                                created: ISO8601DateFormatter().string(from: Date()), revoked: nil)
        tokens.append(token)
        try save(tokens)
        return (secret, token)
    }

    /// Revokes the token with this id; false when there is none.
    public func revoke(id: String) throws -> Bool {
        var tokens = try list()
        guard let i = tokens.firstIndex(where: { $0.id == id }) else { return false }
        if tokens[i].revoked == nil { tokens[i].revoked = ISO8601DateFormatter().string(from: Date()) }
        try save(tokens)
        return true
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The live (not revoked) token whose secret this is, or nil. Every stored hash is compared,
    /// each in constant time, so the answer's timing says nothing about which bytes matched.
    public func authenticate(_ secret: String) -> StoredToken? {
        let presented = Array(SHA256.hash(data: Data(secret.utf8)))
        var found: StoredToken?
        for (t, stored) in current() {
            if TokenStore.constantTimeEqual(presented, stored), t.revoked == nil { found = t }
        }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// The tokens as the file holds them now: read again when its inode, size or modification
    /// time changed (one `stat` per request; `token create` and `revoke` replace the file).
    private func current() -> [(token: StoredToken, hash: [UInt8])] {
        let stamp = FileStamp(path: path)
        lock.lock(); defer { lock.unlock() }
        if let c = cachedStamp, c == stamp { return cached }
        cached = ((try? list()) ?? []).map { ($0, Hex.decode($0.sha256) ?? []) }
        cachedStamp = stamp
        return cached
    }
}

/// What `stat(2)` says of a file, to tell that it changed (nil fields: it does not exist).
struct FileStamp: Equatable {
    var inode: UInt64 = 0, size: Int64 = -1, seconds = 0, nanoseconds = 0

    init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        inode = UInt64(st.st_ino); size = Int64(st.st_size)
        seconds = Int(st.st_mtim.tv_sec); nanoseconds = Int(st.st_mtim.tv_nsec)
    }
}

public struct TokenError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension TokenStore {
    /// The public id in an `Authorization: Bearer lt_<id>_<secret>` header, for logs; nil otherwise.
    static func publicID(_ header: String) -> String? {
        guard header.hasPrefix("Bearer lt_") else { return nil }
        let rest = header.dropFirst("Bearer lt_".count)
        guard let underscore = rest.firstIndex(of: "_") else { return nil }
        let id = rest[..<underscore]
        guard id.count == 8, id.allSatisfy(\.isHexDigit) else { return nil }
        return String(id)
    }
}
