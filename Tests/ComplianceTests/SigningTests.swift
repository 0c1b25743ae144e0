import Compliance
import Foundation
import Testing

@Suite("Signing key file and signed tree heads")
struct SigningTests {
    func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o7777
    }

    @Test("create writes a 0600 file and refuses to overwrite it")
    func createMode() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ledger.key")
        let previous = umask(0)  // even with a permissive umask the file is 0600
        defer { umask(previous) }
        let key = try SigningKeyFile.create(at: path)
        #expect(try permissions(path) == 0o600)
        #expect(key.publicKey.count == 32)
        #expect(key.publicKeyHex.count == 64)
        #expect(key.publicKeyHex == key.publicKey.map { String(format: "%02x", $0) }.joined())
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        #expect(contents.count == 65 && contents.hasSuffix("\n"))

        #expect(throws: SigningKeyFileError.alreadyExists(path: path)) { try SigningKeyFile.create(at: path) }
        // The failed create left the original intact.
        #expect(try SigningKeyFile.load(from: path).publicKey == key.publicKey)
    }

    @Test("load returns the same key")
    func loadRoundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ledger.key")
        let created = try SigningKeyFile.create(at: path)
        let loaded = try SigningKeyFile.load(from: path)
        #expect(loaded.publicKey == created.publicKey)
        let message = Array("checkpoint".utf8)
        #expect(SigningKeyFile.verify(publicKey: created.publicKey, signature: try loaded.sign(message), message: message))
    }

    @Test("load refuses a key file readable by group or others", arguments: [0o644, 0o640, 0o604, 0o660, 0o606])
    func refusesLooseModes(mode: Int) throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ledger.key")
        _ = try SigningKeyFile.create(at: path)
        #expect(chmod(path, mode_t(mode)) == 0)
        let error = #expect(throws: SigningKeyFileError.insecurePermissions(path: path, mode: UInt32(mode))) {
            try SigningKeyFile.load(from: path)
        }
        #expect(error?.description.contains("chmod 600") == true)
        #expect(error?.description.contains(String(mode, radix: 8)) == true)
        // Owner-only modes are accepted.
        #expect(chmod(path, 0o400) == 0)
        _ = try SigningKeyFile.load(from: path)
    }

    @Test("load reports missing, non-regular and malformed files")
    func loadErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let missing = dir.file("missing.key")
        #expect(throws: SigningKeyFileError.notFound(path: missing)) { try SigningKeyFile.load(from: missing) }

        let sub = dir.file("directory.key")
        #expect(mkdir(sub, 0o700) == 0)
        #expect(throws: SigningKeyFileError.notARegularFile(path: sub)) { try SigningKeyFile.load(from: sub) }

        for (name, text) in [("short.key", "abcd\n"), ("nothex.key", String(repeating: "zz", count: 32) + "\n")] {
            let path = dir.file(name)
            #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
            #expect(throws: SigningKeyFileError.self) { try SigningKeyFile.load(from: path) }
        }
    }

    @Test("create refuses a dangling symlink in the way")
    func createRefusesSymlink() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("ledger.key")
        #expect(symlink(dir.file("elsewhere"), path) == 0)
        #expect(throws: SigningKeyFileError.alreadyExists(path: path)) { try SigningKeyFile.create(at: path) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("elsewhere")))
    }

    @Test("signatures verify; a flipped byte anywhere fails")
    func signVerify() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let key = try SigningKeyFile.create(at: dir.file("a.key"))
        let other = try SigningKeyFile.create(at: dir.file("b.key"))
        let message = Array("tree head 42".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        #expect(SigningKeyFile.verify(publicKey: key.publicKey, signature: signature, message: message))

        for i in message.indices {
            var bad = message
            bad[i] ^= 0x01
            #expect(!SigningKeyFile.verify(publicKey: key.publicKey, signature: signature, message: bad))
        }
        for i in signature.indices {
            var bad = signature
            bad[i] ^= 0x80
            #expect(!SigningKeyFile.verify(publicKey: key.publicKey, signature: bad, message: message))
        }
        var badKey = key.publicKey
        badKey[0] ^= 0x01
        #expect(!SigningKeyFile.verify(publicKey: badKey, signature: signature, message: message))
        #expect(!SigningKeyFile.verify(publicKey: other.publicKey, signature: signature, message: message))
        #expect(!SigningKeyFile.verify(publicKey: key.publicKey.dropLast(), signature: signature, message: message))
        #expect(!SigningKeyFile.verify(publicKey: key.publicKey, signature: signature.dropLast(), message: message))
    }

    // MARK: Signed tree heads

    @Test("signed bytes are the canonical JSON of the unsigned fields")
    func canonicalForm() throws {
        let head = SignedTreeHead(
            treeSize: 42,
            rootHash: hash(String(repeating: "cd", count: 32)),
            timestamp: 1_700_000_000_123_456,
            publicKey: [UInt8](repeating: 0xab, count: 32),
            signature: [UInt8](repeating: 0x01, count: 64))
        // Python: json.dumps({...}, sort_keys=True, separators=(",", ":"))
        let expected = #"{"publicKey":"abababababababababababababababababababababababababababababababab","rootHash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","timestamp":1700000000123456,"treeSize":42}"#
        #expect(String(decoding: head.signedBytes, as: UTF8.self) == expected)
        let full = String(decoding: head.canonicalJSON, as: UTF8.self)
        #expect(full == expected.replacingOccurrences(
            of: #","timestamp""#, with: #","signature":"\#(String(repeating: "01", count: 64))","timestamp""#))
    }

    @Test("sign, encode, decode and verify; tampering fails")
    func signedTreeHeads() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let key = try SigningKeyFile.create(at: dir.file("ledger.key"))
        let other = try SigningKeyFile.create(at: dir.file("other.key"))
        let root = MerkleTree.root(leafHashes: syntheticLeaves(10))
        let head = try SignedTreeHead.sign(treeSize: 10, rootHash: root, timestamp: 1_700_000_000_000_001, key: key)
        #expect(head.publicKey == key.publicKey)
        try head.verify(trustedPublicKey: key.publicKey)
        try head.verifySignature()

        let decoded = try SignedTreeHead(json: head.canonicalJSON)
        #expect(decoded == head)
        try decoded.verify(trustedPublicKey: key.publicKey)

        // Codable (e.g. inside an export bundle) round-trips too.
        let viaCodable = try JSONDecoder().decode(SignedTreeHead.self, from: JSONEncoder().encode(head))
        #expect(viaCodable == head)

        var tampered = head
        tampered.treeSize = 11
        #expect(throws: SignedTreeHeadError.badSignature) { try tampered.verify(trustedPublicKey: key.publicKey) }
        tampered = head
        tampered.timestamp += 1
        #expect(throws: SignedTreeHeadError.badSignature) { try tampered.verify(trustedPublicKey: key.publicKey) }
        tampered = head
        tampered.rootHash = flipped(root, bit: 7)
        #expect(throws: SignedTreeHeadError.badSignature) { try tampered.verify(trustedPublicKey: key.publicKey) }
        tampered = head
        tampered.signature[10] ^= 0x01
        #expect(throws: SignedTreeHeadError.badSignature) { try tampered.verify(trustedPublicKey: key.publicKey) }
        tampered = head
        tampered.signature.removeLast()
        #expect(throws: SignedTreeHeadError.malformedSignature(length: 63)) { try tampered.verify(trustedPublicKey: key.publicKey) }

        // Signed by someone else: the signature is fine, the signer is not trusted.
        let forged = try SignedTreeHead.sign(treeSize: 10, rootHash: root, timestamp: head.timestamp, key: other)
        try forged.verifySignature()
        #expect(throws: SignedTreeHeadError.self) { try forged.verify(trustedPublicKey: key.publicKey) }
        // Swapping in the trusted key does not help the forger.
        var relabelled = forged
        relabelled.publicKey = key.publicKey
        #expect(throws: SignedTreeHeadError.badSignature) { try relabelled.verify(trustedPublicKey: key.publicKey) }

        // A flipped byte in the encoded JSON (here: a hex digit of the root) fails.
        var json = head.canonicalJSON
        let rootStart = json.firstRange(of: Array(root.hex.utf8))!.lowerBound
        json[rootStart] = json[rootStart] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(throws: SignedTreeHeadError.badSignature) { try SignedTreeHead(json: json).verify(trustedPublicKey: key.publicKey) }
    }

    @Test("decoding rejects malformed heads", arguments: [
        #"{"publicKey":"ab","rootHash":"00","signature":"","timestamp":1,"treeSize":1}"#,  // short root
        #"{"rootHash":"\#(String(repeating: "0", count: 64))","signature":"","timestamp":1,"treeSize":1}"#,  // missing key
        #"{"extra":1,"publicKey":"","rootHash":"\#(String(repeating: "0", count: 64))","signature":"","timestamp":1,"treeSize":1}"#,
        #"{"publicKey":"","rootHash":"\#(String(repeating: "0", count: 64))","signature":"","timestamp":1,"treeSize":-1}"#,
        #"{"publicKey":"","rootHash":"\#(String(repeating: "0", count: 64))","signature":"","timestamp":"1","treeSize":1}"#,
        #"{"publicKey":"xyz","rootHash":"\#(String(repeating: "0", count: 64))","signature":"","timestamp":1,"treeSize":1}"#,
        "[]", "not json",
    ])
    func malformedHeads(json: String) {
        #expect(throws: SignedTreeHeadError.self) { try SignedTreeHead(json: Array(json.utf8)) }
    }
}
