import Crypto
import Foundation

/// C2SP `signed-note` (https://c2sp.org/signed-note) and `tlog-checkpoint`
/// (https://c2sp.org/tlog-checkpoint): the checkpoint format standard
/// transparency-log tooling reads (Go's `golang.org/x/mod/sumdb/note`, Sigsum,
/// Trillian Tessera, witnesses).
///
/// A note is UTF-8 text ending in a newline, a blank line, then one or more
/// signature lines `— <name> <base64(key ID ‖ signature)>` (U+2014, a space).
/// A checkpoint is a note whose text is
///
///     <origin>
///     <tree size, decimal>
///     <base64 of the RFC 6962 root hash>
///
/// (each line ending in a newline, optional extension lines after).
public enum SignedNote {
    /// Signature algorithm byte of an Ed25519 note signature.
    public static let ed25519: UInt8 = 0x01
    /// Signature algorithm byte of an Ed25519 `cosignature/v1` (C2SP tlog-cosignature).
    public static let cosignatureV1: UInt8 = 0x04

    /// The 4-byte key ID: SHA-256(name ‖ 0x0A ‖ algorithm ‖ public key)[:4].
    public static func keyID(name: String, algorithm: UInt8, publicKey: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: Array(name.utf8) + [0x0A, algorithm] + publicKey)
        return Array(h.finalize().prefix(4))
    }

    /// Whether `name` can name a key: non-empty, no whitespace, no `+`, no control character.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
    }

    /// The verifier key `<name>+<hex key ID>+<base64(algorithm ‖ public key)>`.
    public static func verifierKey(name: String, algorithm: UInt8 = ed25519, publicKey: [UInt8]) -> String {
        name + "+" + Hex.encode(keyID(name: name, algorithm: algorithm, publicKey: publicKey)) + "+"
            + Data([algorithm] + publicKey).base64EncodedString()
    }

    /// A parsed verifier key.
    public struct VerifierKey: Sendable, Hashable {
        public var name: String
        public var algorithm: UInt8
        public var publicKey: [UInt8]
        public var keyID: [UInt8]

        /// Parses `<name>+<hex key ID>+<base64 key>`; checks the key ID against the key.
        public init(_ text: String) throws(SignedNoteError) {
            let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, SignedNote.isValidName(String(parts[0])),
                  parts[1].count == 8, let id = Hex.decode(String(parts[1])),
                  let raw = Data(base64Encoded: String(parts[2])), raw.count == 33
            else { throw .malformed("a verifier key is <name>+<8 hex digits>+<base64 of 33 bytes>") }
            name = String(parts[0])
            algorithm = raw[raw.startIndex]
            publicKey = Array(raw.dropFirst())
            keyID = id
            guard algorithm == SignedNote.ed25519 || algorithm == SignedNote.cosignatureV1 else {
                throw .malformed("verifier key algorithm \(algorithm) is not Ed25519 (1) or cosignature/v1 (4)")
            }
            guard keyID == SignedNote.keyID(name: name, algorithm: algorithm, publicKey: publicKey) else {
                throw .malformed("the verifier key's key ID does not match its name and public key")
            }
        }

        public var text: String { SignedNote.verifierKey(name: name, algorithm: algorithm, publicKey: publicKey) }
    }

    /// One signature line.
    public struct Signature: Sendable, Hashable {
        public var name: String
        public var keyID: [UInt8]
        /// The bytes after the key ID (an Ed25519 signature; for a cosignature, u64 time ‖ signature).
        public var signature: [UInt8]

        public var line: String {
            "\u{2014} " + name + " " + Data(keyID + signature).base64EncodedString() + "\n"
        }
    }

    /// A note: its text (ending in a newline) and its signatures.
    public struct Note: Sendable, Hashable {
        public var text: String
        public var signatures: [Signature]

        /// The note as bytes: text, blank line, signature lines.
        public var encoded: String { text + "\n" + signatures.map(\.line).joined() }

        /// Parses a signed note (C2SP signed-note: UTF-8, no control characters but newlines,
        /// the text, a blank line, at least one signature line).
        public init(_ encoded: String) throws(SignedNoteError) {
            guard !encoded.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }) else {
                throw .malformed("a note holds no control character but newlines")
            }
            guard let split = encoded.range(of: "\n\n", options: .backwards) else {
                throw .malformed("no blank line before the signatures")
            }
            text = String(encoded[..<split.lowerBound]) + "\n"
            let block = String(encoded[split.upperBound...])
            guard block.hasSuffix("\n") else { throw .malformed("the last signature line does not end in a newline") }
            signatures = []
            for line in block.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
                guard line.hasPrefix("\u{2014} ") else { throw .malformed("a signature line must start with '\u{2014} '") }
                let rest = line.dropFirst(2)
                guard let space = rest.firstIndex(of: " ") else { throw .malformed("a signature line is '\u{2014} <name> <base64>'") }
                let name = String(rest[..<space])
                guard SignedNote.isValidName(name), let raw = Data(base64Encoded: String(rest[rest.index(after: space)...])), raw.count >= 5 else {
                    throw .malformed("bad signature line '\(line)'")
                }
                signatures.append(Signature(name: name, keyID: Array(raw.prefix(4)), signature: Array(raw.dropFirst(4))))
            }
            guard !signatures.isEmpty else { throw .malformed("no signature") }
        }

        public init(text: String, signatures: [Signature]) {
            self.text = text
            self.signatures = signatures
        }

        /// Checks the Ed25519 note signature by `key` (its name and key ID must appear).
        /// - throws: ``SignedNoteError/notSigned(_:)`` when no line is `key`'s, ``SignedNoteError/badSignature(_:)``
        ///   when its line does not verify.
        public func verify(_ key: VerifierKey) throws(SignedNoteError) {
            guard key.algorithm == SignedNote.ed25519 else { throw .malformed("\(key.name) is not an Ed25519 note key") }
            guard let s = signatures.first(where: { $0.name == key.name && $0.keyID == key.keyID }) else {
                throw .notSigned("the note carries no signature by \(key.name)+\(Hex.encode(key.keyID))")
            }
            guard SigningKeyFile.verify(publicKey: key.publicKey, signature: s.signature, message: Array(text.utf8)) else {
                throw .badSignature("the signature by \(key.name) does not verify: the note was changed or not signed by that key")
            }
        }

        /// Signs `text` with an Ed25519 note key named `name`.
        public static func sign(text: String, name: String, key: SigningKeyFile) throws -> Note {
            let sig = try key.sign(Array(text.utf8))
            return Note(text: text, signatures: [Signature(name: name, keyID: SignedNote.keyID(name: name, algorithm: SignedNote.ed25519, publicKey: key.publicKey), signature: sig)])
        }

        // MARK: Cosignatures (C2SP tlog-cosignature v1)

        /// The message a `cosignature/v1` signs: `cosignature/v1\ntime <t>\n` then the note text.
        public static func cosignedMessage(text: String, time: UInt64) -> [UInt8] {
            Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8)
        }

        /// Adds the cosignature of `name` (an Ed25519 cosigner key) made at `time` (POSIX seconds).
        public mutating func cosign(name: String, key: SigningKeyFile, time: UInt64) throws {
            let sig = try key.sign(Note.cosignedMessage(text: text, time: time))
            var t = [UInt8](repeating: 0, count: 8)
            for i in 0..<8 { t[i] = UInt8((time >> (56 - 8 * UInt64(i))) & 0xFF) }
            let id = SignedNote.keyID(name: name, algorithm: SignedNote.cosignatureV1, publicKey: key.publicKey)
            signatures.removeAll { $0.name == name && $0.keyID == id }
            signatures.append(Signature(name: name, keyID: id, signature: t + sig))
        }

        /// Checks the cosignature by `key` (a cosignature/v1 verifier key); returns its time.
        public func verifyCosignature(_ key: VerifierKey) throws(SignedNoteError) -> UInt64 {
            guard key.algorithm == SignedNote.cosignatureV1 else { throw .malformed("\(key.name) is not a cosignature/v1 key") }
            guard let s = signatures.first(where: { $0.name == key.name && $0.keyID == key.keyID }) else {
                throw .notSigned("the note carries no cosignature by \(key.name)+\(Hex.encode(key.keyID))")
            }
            guard s.signature.count == 72 else { throw .malformed("a cosignature is 8 bytes of time and 64 of signature") }
            let time = s.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard SigningKeyFile.verify(publicKey: key.publicKey, signature: s.signature.suffix(64), message: Note.cosignedMessage(text: text, time: time)) else {
                throw .badSignature("the cosignature by \(key.name) does not verify")
            }
            return time
        }
    }
}

/// A C2SP tlog-checkpoint body.
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var treeSize: Int
    public var rootHash: MerkleHash
    /// Extension lines (without their newlines); the ledger writes none.
    public var extensions: [String] = []

    public init(origin: String, treeSize: Int, rootHash: MerkleHash) {
        self.origin = origin
        self.treeSize = treeSize
        self.rootHash = rootHash
    }

    /// The note text: origin, size and base64 root, each ending in a newline.
    public var text: String {
        origin + "\n" + String(treeSize) + "\n" + Data(rootHash.bytes).base64EncodedString() + "\n"
            + extensions.map { $0 + "\n" }.joined()
    }

    /// Parses a checkpoint body (the text of a note).
    public init(text: String) throws(SignedNoteError) {
        guard text.hasSuffix("\n") else { throw .malformed("a checkpoint ends in a newline") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3 else { throw .malformed("a checkpoint has an origin, a size and a root line") }
        guard !lines[0].isEmpty else { throw .malformed("empty origin line") }
        guard let size = Int(lines[1]), size >= 0, String(size) == lines[1] else {
            throw .malformed("the size line '\(lines[1])' is not a decimal number without leading zeros")
        }
        guard let raw = Data(base64Encoded: lines[2]), raw.base64EncodedString() == lines[2], let root = MerkleHash(bytes: raw) else {
            throw .malformed("the root line is not the base64 of 32 bytes")
        }
        origin = lines[0]
        treeSize = size
        rootHash = root
        extensions = Array(lines.dropFirst(3))
        guard !extensions.contains(where: \.isEmpty) else { throw .malformed("empty extension line") }
    }

    /// Parses a signed checkpoint and checks its signature by `key`, whose name must be the origin.
    public static func open(_ encoded: String, key: SignedNote.VerifierKey) throws(SignedNoteError) -> (Checkpoint, SignedNote.Note) {
        let note = try SignedNote.Note(encoded)
        let checkpoint = try Checkpoint(text: note.text)
        guard checkpoint.origin == key.name else {
            throw .wrongOrigin("the checkpoint's origin is '\(checkpoint.origin)', the key's name is '\(key.name)'")
        }
        try note.verify(key)
        return (checkpoint, note)
    }
}

/// Why a note, checkpoint or verifier key was refused.
public enum SignedNoteError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case notSigned(String)
    case badSignature(String)
    case wrongOrigin(String)

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed note: \(why)"
        case .notSigned(let why), .badSignature(let why), .wrongOrigin(let why): return why
        }
    }
}
