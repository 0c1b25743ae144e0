import Crypto

/// A 32-byte SHA-256 value used as a leaf hash, node hash or root hash of an
/// RFC 9162 Merkle tree.
///
/// Stored inline (no heap allocation), so streaming millions of them costs
/// nothing beyond the hashing itself.
public struct MerkleHash: Sendable, Hashable, CustomStringConvertible {
    /// Number of bytes in a hash (SHA-256).
    public static let byteCount = 32

    typealias Storage = (UInt64, UInt64, UInt64, UInt64)

    /// The 32 bytes, in order, as four machine words (memory order, not numeric order).
    var storage: Storage

    init(storage: Storage) {
        self.storage = storage
    }

    /// Wraps a SHA-256 digest from swift-crypto.
    public init(_ digest: SHA256Digest) {
        var s: Storage = (0, 0, 0, 0)
        digest.withUnsafeBytes { src in
            Swift.withUnsafeMutableBytes(of: &s) { dst in dst.copyMemory(from: src) }
        }
        self.storage = s
    }

    /// Creates a hash from exactly 32 bytes; returns nil for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == MerkleHash.byteCount else { return nil }
        var s: Storage = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &s) { dst in dst.copyBytes(from: bytes) }
        self.storage = s
    }

    /// Parses 64 hex characters (either case); returns nil if malformed.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The 32 bytes as an array.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Lowercase hex of the 32 bytes.
    public var hex: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    /// Calls `body` with the 32 raw bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    /// Lowercase hex.
    public var description: String { hex }

    public static func == (lhs: MerkleHash, rhs: MerkleHash) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }
}

/// Encoded as a lowercase hex string.
extension MerkleHash: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let hash = MerkleHash(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected 64 hex characters for a SHA-256 hash, got \(text.count) characters")
        }
        self = hash
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
