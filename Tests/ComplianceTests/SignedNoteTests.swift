import Compliance
import Foundation
import Testing

/// C2SP signed-note and tlog-checkpoint, against the published vector of golang.org/x/mod/sumdb/note
/// (key "PeterNeumann", its verifier key, and the signed note Go's note.Sign makes).
@Suite struct SignedNoteTests {
    static let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let seedBase64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  // 0x01 ‖ Ed25519 seed
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let signed = text + "\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    func keyFile() throws -> SigningKeyFile {
        let path = NSTemporaryDirectory() + "note-\(UUID().uuidString).key"
        let seed = Array(Data(base64Encoded: SignedNoteTests.seedBase64)!.dropFirst())
        #expect(FileManager.default.createFile(atPath: path, contents: Data((Hex.encode(seed) + "\n").utf8), attributes: [.posixPermissions: 0o600]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try SigningKeyFile.load(from: path)
    }

    @Test func goVectorVerifiesAndSigningReproducesIt() throws {
        let key = try SignedNote.VerifierKey(SignedNoteTests.vkey)
        #expect(key.name == "PeterNeumann" && Hex.encode(key.keyID) == "c74f20a3" && key.text == SignedNoteTests.vkey)
        let note = try SignedNote.Note(SignedNoteTests.signed)
        #expect(note.text == SignedNoteTests.text)
        try note.verify(key)
        // Ed25519 is deterministic: our signer writes Go's bytes exactly.
        let file = try keyFile()
        #expect(SignedNote.verifierKey(name: "PeterNeumann", publicKey: file.publicKey) == SignedNoteTests.vkey)
        #expect(try SignedNote.Note.sign(text: SignedNoteTests.text, name: "PeterNeumann", key: file).encoded == SignedNoteTests.signed)
        // A changed text, another key ID, a mangled key: refused.
        let changed = try SignedNote.Note(SignedNoteTests.signed.replacingOccurrences(of: "answer", with: "solution"))
        #expect(throws: SignedNoteError.self) { try changed.verify(key) }
        for bad in ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10", "PeterNeumann+c74f20a3"] {
            #expect(throws: SignedNoteError.self, "\(bad)") { try SignedNote.VerifierKey(bad) }
        }
        for bad in ["no blank line\n\u{2014} PeterNeumann AAAA\n", SignedNoteTests.text + "\n", SignedNoteTests.text + "\n- PeterNeumann x08go/ZJ=\n",
                    "a\u{7}b\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG\n"] {
            #expect(throws: SignedNoteError.self, "\(bad)") { try SignedNote.Note(bad) }
        }
    }

    @Test func checkpointBodyAndCosignature() throws {
        let root = MerkleTree.leafHash([1, 2, 3])
        let body = Checkpoint(origin: "example.com/log", treeSize: 20852163, rootHash: root)
        #expect(body.text == "example.com/log\n20852163\n" + Data(root.bytes).base64EncodedString() + "\n")
        #expect(try Checkpoint(text: body.text) == body)
        for bad in ["example.com/log\n012\n" + Data(root.bytes).base64EncodedString() + "\n", "example.com/log\n12\nAAAA\n", "example.com/log\n12\n", "\n1\n\n"] {
            #expect(throws: SignedNoteError.self, "\(bad)") { try Checkpoint(text: bad) }
        }
        let file = try keyFile()
        var note = try SignedNote.Note.sign(text: body.text, name: "example.com/log", key: file)
        let logKey = try SignedNote.VerifierKey(SignedNote.verifierKey(name: "example.com/log", publicKey: file.publicKey))
        #expect(throws: SignedNoteError.self, "another key, another origin") { try Checkpoint.open(note.encoded, key: try SignedNote.VerifierKey(SignedNoteTests.vkey)) }
        #expect(try Checkpoint.open(note.encoded, key: logKey).0 == body)
        // cosignature/v1: key ID with algorithm 0x04, 8 bytes of time, then the signature of the prefixed text.
        try note.cosign(name: "witness.example/w1", key: file, time: 1_679_315_147)
        let witness = try SignedNote.VerifierKey(SignedNote.verifierKey(name: "witness.example/w1", algorithm: SignedNote.cosignatureV1, publicKey: file.publicKey))
        let reread = try SignedNote.Note(note.encoded)
        #expect(try reread.verifyCosignature(witness) == 1_679_315_147)
        try reread.verify(logKey)  // the log's signature still stands beside it
        #expect(SigningKeyFile.verify(publicKey: file.publicKey, signature: reread.signatures[1].signature.suffix(64),
                                      message: Array("cosignature/v1\ntime 1679315147\n".utf8) + Array(body.text.utf8)))
        #expect(reread.signatures[1].keyID != reread.signatures[0].keyID || reread.signatures[1].name != reread.signatures[0].name)
    }

    @Test func multiLeafProofsRebuildTheRootForEverySubset() throws {
        for n in 1...13 {
            let leaves = (0..<n).map { MerkleTree.leafHash([UInt8($0)]) }
            let root = MerkleTree.root(leafHashes: leaves)
            for mask in 1..<(1 << n) where n <= 9 || mask % 37 == 1 {
                let proved = (0..<n).filter { mask & (1 << $0) != 0 }
                // The nodes: the maximal subtrees without a proved leaf, left to right.
                var nodes: [MerkleHash] = []
                func collect(_ lo: Int, _ hi: Int) {
                    if !proved.contains(where: { $0 >= lo && $0 < hi }) { nodes.append(MerkleTree.root(leafHashes: leaves[lo..<hi])); return }
                    if hi - lo == 1 { return }
                    let k = MerkleTree.splitPoint(hi - lo)
                    collect(lo, lo + k); collect(lo + k, hi)
                }
                collect(0, n)
                let got = try MerkleTree.rootFromMultiLeafProof(treeSize: n, leaves: proved.map { ($0, leaves[$0]) }, nodes: nodes)
                #expect(got == root, "n \(n) mask \(mask)")
                if !nodes.isEmpty {
                    #expect(throws: MerkleVerificationError.self) {
                        try MerkleTree.rootFromMultiLeafProof(treeSize: n, leaves: proved.map { ($0, leaves[$0]) }, nodes: nodes + [root])
                    }
                    #expect(throws: MerkleVerificationError.self) {
                        try MerkleTree.rootFromMultiLeafProof(treeSize: n, leaves: proved.map { ($0, leaves[$0]) }, nodes: Array(nodes.dropLast()))
                    }
                }
            }
        }
    }
}
