import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a signed tree head could not be decoded or did not verify.
public enum SignedTreeHeadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The JSON is not valid or lacks, duplicates or adds fields.
    case malformed(String)
    /// The embedded public key is not 32 bytes.
    case malformedPublicKey(length: Int)
    /// The signature is not 64 bytes.
    case malformedSignature(length: Int)
    /// The head was signed by another key than the trusted one.
    case untrustedPublicKey(expected: String, actual: String)
    /// The signature does not match the signed fields.
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let reason): return "malformed signed tree head: \(reason)"
        case .malformedPublicKey(let length): return "signed tree head public key has \(length) bytes, expected 32"
        case .malformedSignature(let length): return "signed tree head signature has \(length) bytes, expected 64"
        case .untrustedPublicKey(let expected, let actual):
            return "signed tree head is signed by key \(actual), not by the trusted key \(expected)"
        case .badSignature: return "signed tree head signature does not verify"
        }
    }
}

/// A signed statement of the ledger's Merkle tree: its size, root and time,
/// signed with Ed25519.
///
/// The signature covers the canonical JSON (see ``CanonicalJSON``) of the
/// other four fields, binary values in lowercase hex:
///
///     {"publicKey":"<hex>","rootHash":"<hex>","timestamp":<int>,"treeSize":<int>}
///
/// which is what Python writes with `json.dumps(obj, sort_keys=True,
/// separators=(",", ":"))`. The full head (``canonicalJSON``) adds
/// `"signature":"<hex>"` in sorted position.
public struct SignedTreeHead: Sendable, Hashable {
    /// Number of leaves in the tree.
    public var treeSize: Int
    /// Root hash of the tree of `treeSize` leaves.
    public var rootHash: MerkleHash
    /// When the head was made: microseconds since the Unix epoch (UTC).
    public var timestamp: Int64
    /// Raw 32-byte Ed25519 public key of the signer.
    public var publicKey: [UInt8]
    /// Raw 64-byte Ed25519 signature over ``signedBytes``.
    public var signature: [UInt8]

    /// A head from its fields, as decoded from storage (not checked; call ``verify(trustedPublicKey:)``).
    public init(treeSize: Int, rootHash: MerkleHash, timestamp: Int64, publicKey: [UInt8], signature: [UInt8]) {
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.timestamp = timestamp
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Signs a head for the given tree with `key`; `timestamp` defaults to now.
    /// `treeSize` must not be negative (checked with a precondition).
    public static func sign(
        treeSize: Int,
        rootHash: MerkleHash,
        timestamp: Int64 = SignedTreeHead.currentTimestamp(),
        key: SigningKeyFile
    ) throws(SigningKeyFileError) -> SignedTreeHead {
        precondition(treeSize >= 0, "tree size must not be negative")
        var head = SignedTreeHead(treeSize: treeSize, rootHash: rootHash, timestamp: timestamp, publicKey: key.publicKey, signature: [])
        head.signature = try key.sign(head.signedBytes)
        return head
    }

    /// The current time in microseconds since the Unix epoch.
    public static func currentTimestamp() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    /// The bytes the signature covers: canonical JSON of every field but `signature`.
    public var signedBytes: [UInt8] {
        CanonicalJSON.object(unsignedMembers).encoded
    }

    /// The whole head, signature included, as canonical JSON.
    public var canonicalJSON: [UInt8] {
        var members = unsignedMembers
        members["signature"] = .string(Hex.encode(signature))
        return CanonicalJSON.object(members).encoded
    }

    private var unsignedMembers: [String: CanonicalJSON] {
        [
            "treeSize": .integer(Int64(treeSize)),
            "rootHash": .string(rootHash.hex),
            "timestamp": .integer(timestamp),
            "publicKey": .string(Hex.encode(publicKey)),
        ]
    }

    /// Decodes a head from JSON with exactly the five fields (whitespace and
    /// key order may differ from canonical; hex may be either case). Does not
    /// verify the signature.
    public init<C: Collection>(json: C) throws(SignedTreeHeadError) where C.Element == UInt8 {
        let value: CanonicalJSON
        do {
            value = try CanonicalJSON.parse(json)
        } catch {
            throw .malformed(error.description)
        }
        guard let members = value.objectValue else { throw .malformed("not a JSON object") }
        let expectedKeys: Set<String> = ["treeSize", "rootHash", "timestamp", "publicKey", "signature"]
        guard Set(members.keys) == expectedKeys else {
            let missing = expectedKeys.subtracting(members.keys).sorted()
            let extra = Set(members.keys).subtracting(expectedKeys).sorted()
            throw .malformed("fields differ: missing \(missing), unexpected \(extra)")
        }
        guard let size = members["treeSize"]?.integerValue, size >= 0, let treeSize = Int(exactly: size) else {
            throw .malformed("treeSize must be a non-negative integer")
        }
        guard let timestamp = members["timestamp"]?.integerValue else {
            throw .malformed("timestamp must be an integer (microseconds since the Unix epoch)")
        }
        guard let rootText = members["rootHash"]?.stringValue, let rootHash = MerkleHash(hex: rootText) else {
            throw .malformed("rootHash must be 64 hex characters")
        }
        guard let keyText = members["publicKey"]?.stringValue, let publicKey = Hex.decode(keyText) else {
            throw .malformed("publicKey must be a hex string")
        }
        guard let signatureText = members["signature"]?.stringValue, let signature = Hex.decode(signatureText) else {
            throw .malformed("signature must be a hex string")
        }
        self.init(treeSize: treeSize, rootHash: rootHash, timestamp: timestamp, publicKey: publicKey, signature: signature)
    }

    /// Checks that the head is signed by `trustedPublicKey` (raw 32 bytes) and
    /// that the signature covers these exact fields.
    public func verify(trustedPublicKey: [UInt8]) throws(SignedTreeHeadError) {
        guard publicKey == trustedPublicKey else {
            throw .untrustedPublicKey(expected: Hex.encode(trustedPublicKey), actual: Hex.encode(publicKey))
        }
        try verifySignature()
    }

    /// Checks the signature against the head's own ``publicKey``. This only
    /// shows the head is intact; who signed it is established by comparing
    /// the key with a trusted one (``verify(trustedPublicKey:)``).
    public func verifySignature() throws(SignedTreeHeadError) {
        guard publicKey.count == 32 else { throw .malformedPublicKey(length: publicKey.count) }
        guard signature.count == 64 else { throw .malformedSignature(length: signature.count) }
        guard SigningKeyFile.verify(publicKey: publicKey, signature: signature, message: signedBytes) else {
            throw .badSignature
        }
    }
}

/// Encoded with the same field names and hex strings as ``SignedTreeHead/canonicalJSON``
/// (the byte layout then depends on the encoder).
extension SignedTreeHead: Codable {
    private enum CodingKeys: String, CodingKey {
        case treeSize, rootHash, timestamp, publicKey, signature
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let treeSize = try container.decode(Int.self, forKey: .treeSize)
        guard treeSize >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .treeSize, in: container, debugDescription: "negative tree size")
        }
        func hex(_ key: CodingKeys) throws -> [UInt8] {
            guard let bytes = Hex.decode(try container.decode(String.self, forKey: key)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a hex string")
            }
            return bytes
        }
        self.init(
            treeSize: treeSize,
            rootHash: try container.decode(MerkleHash.self, forKey: .rootHash),
            timestamp: try container.decode(Int64.self, forKey: .timestamp),
            publicKey: try hex(.publicKey),
            signature: try hex(.signature))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(treeSize, forKey: .treeSize)
        try container.encode(rootHash, forKey: .rootHash)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(Hex.encode(publicKey), forKey: .publicKey)
        try container.encode(Hex.encode(signature), forKey: .signature)
    }
}
