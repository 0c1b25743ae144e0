import Compliance
import Crypto
import Testing

// Test vectors from transparency-dev/merkle (proof/verify_test.go, the
// testdata/ generator in cmd/, and proof/proof_test.go), which are the
// RFC 6962 / RFC 9162 reference vectors, ported here as data.

/// The eight leaves of the reference tree (raw leaf data, hex).
let vectorLeaves: [[UInt8]] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
].map(hexBytes)

/// Roots of the trees made of the first n leaves, for n = 0...8.
let vectorRoots: [MerkleHash] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // empty tree: SHA-256("")
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map(hash)

struct InclusionVector: Sendable, CustomStringConvertible {
    let leafIndex: Int  // 0-based (upstream lists 1-based leaf numbers)
    let treeSize: Int
    let proof: [MerkleHash]
    var description: String { "leaf \(leafIndex) of \(treeSize)" }
}

struct ConsistencyVector: Sendable, CustomStringConvertible {
    let oldSize: Int
    let newSize: Int
    let proof: [MerkleHash]
    var description: String { "\(oldSize) -> \(newSize)" }
}

let inclusionVectors: [InclusionVector] = [
    InclusionVector(leafIndex: 0, treeSize: 1, proof: []),
    InclusionVector(leafIndex: 0, treeSize: 8, proof: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ].map(hash)),
    InclusionVector(leafIndex: 5, treeSize: 8, proof: [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ].map(hash)),
    InclusionVector(leafIndex: 2, treeSize: 3, proof: [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    ].map(hash)),
    InclusionVector(leafIndex: 1, treeSize: 5, proof: [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ].map(hash)),
]

let consistencyVectors: [ConsistencyVector] = [
    ConsistencyVector(oldSize: 1, newSize: 1, proof: []),
    ConsistencyVector(oldSize: 1, newSize: 8, proof: [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ].map(hash)),
    ConsistencyVector(oldSize: 6, newSize: 8, proof: [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ].map(hash)),
    ConsistencyVector(oldSize: 2, newSize: 5, proof: [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ].map(hash)),
    ConsistencyVector(oldSize: 6, newSize: 7, proof: [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ].map(hash)),
]

let sha256SomeHash = hexBytes("abacaba000000000000000000000000000000000000000000060061e00123456")
let sha256EmptyTreeHash = hexBytes("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

/// One verification attempt on raw bytes, as in upstream's testdata probes.
struct InclusionProbe: Sendable, CustomStringConvertible {
    let leafIndex: Int
    let treeSize: Int
    let root: [UInt8]
    let leafHash: [UInt8]
    let proof: [[UInt8]]
    let desc: String
    var description: String { desc }
}

struct ConsistencyProbe: Sendable, CustomStringConvertible {
    let oldSize: Int
    let newSize: Int
    let oldRoot: [UInt8]
    let newRoot: [UInt8]
    let proof: [[UInt8]]
    let desc: String
    var description: String { desc }
}

/// The corrupted variants upstream derives from each good inclusion proof (all must fail).
func corruptedInclusionProbes(_ v: InclusionVector) -> [InclusionProbe] {
    let root = vectorRoots[v.treeSize].bytes
    let leaf = MerkleTree.leafHash(vectorLeaves[v.leafIndex]).bytes
    let proof = v.proof.map(\.bytes)
    let i = v.leafIndex, n = v.treeSize
    var probes = [
        InclusionProbe(leafIndex: i - 1, treeSize: n, root: root, leafHash: leaf, proof: proof, desc: "leafIdx sub 1"),
        InclusionProbe(leafIndex: i + 1, treeSize: n, root: root, leafHash: leaf, proof: proof, desc: "leafIdx plus 1"),
        InclusionProbe(leafIndex: i ^ 2, treeSize: n, root: root, leafHash: leaf, proof: proof, desc: "leafIdx XOR 2"),
        InclusionProbe(leafIndex: i, treeSize: n * 2, root: root, leafHash: leaf, proof: proof, desc: "treeSize mul 2"),
        InclusionProbe(leafIndex: i, treeSize: n / 2, root: root, leafHash: leaf, proof: proof, desc: "treeSize div 2"),
        InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: Array("WrongLeaf".utf8), proof: proof, desc: "wrong leaf"),
        InclusionProbe(leafIndex: i, treeSize: n, root: sha256EmptyTreeHash, leafHash: leaf, proof: proof, desc: "empty root"),
        InclusionProbe(leafIndex: i, treeSize: n, root: sha256SomeHash, leafHash: leaf, proof: proof, desc: "random root"),
        InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: proof + [[]], desc: "trailing garbage"),
        InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: proof + [root], desc: "trailing root"),
        InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: [[]] + proof, desc: "preceding garbage"),
        InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: [root] + proof, desc: "preceding root"),
    ]
    for k in proof.indices {
        var wrong = proof
        wrong[k][0] ^= 8
        probes.append(InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: wrong, desc: "modified proof[\(k)] bit 3"))
    }
    if !proof.isEmpty {
        probes.append(InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: Array(proof.dropLast()), desc: "removed component"))
    }
    if proof.count > 1 {
        let inserted = [proof[0], sha256SomeHash] + proof[1...]
        probes.append(InclusionProbe(leafIndex: i, treeSize: n, root: root, leafHash: leaf, proof: inserted, desc: "inserted component"))
    }
    return probes
}

/// The corrupted variants upstream derives from each non-trivial consistency proof (all must fail).
func corruptedConsistencyProbes(_ v: ConsistencyVector) -> [ConsistencyProbe] {
    let r1 = vectorRoots[v.oldSize].bytes, r2 = vectorRoots[v.newSize].bytes
    let proof = v.proof.map(\.bytes)
    let m = v.oldSize, n = v.newSize
    let wrongRoot = Array("WrongRoot".utf8)
    var probes = [
        ConsistencyProbe(oldSize: m - 1, newSize: n, oldRoot: r1, newRoot: r2, proof: proof, desc: "size1 sub 1"),
        ConsistencyProbe(oldSize: m + 1, newSize: n, oldRoot: r1, newRoot: r2, proof: proof, desc: "size1 plus 1"),
        ConsistencyProbe(oldSize: m ^ 2, newSize: n, oldRoot: r1, newRoot: r2, proof: proof, desc: "size1 XOR 2"),
        ConsistencyProbe(oldSize: m, newSize: n * 2, oldRoot: r1, newRoot: r2, proof: proof, desc: "size2 mul 2"),
        ConsistencyProbe(oldSize: m, newSize: n / 2, oldRoot: r1, newRoot: r2, proof: proof, desc: "size2 div 2"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: wrongRoot, newRoot: r2, proof: proof, desc: "wrong root1"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: wrongRoot, proof: proof, desc: "wrong root2"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r2, newRoot: r1, proof: proof, desc: "swapped roots"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: [], desc: "empty proof"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: proof + [[]], desc: "trailing garbage"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: proof + [r1], desc: "trailing root1"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: proof + [r2], desc: "trailing root2"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: [[]] + proof, desc: "preceding garbage"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: [r1] + proof, desc: "preceding root1"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: [r2] + proof, desc: "preceding root2"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: [proof[0]] + proof, desc: "preceding proof[0]"),
        ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: Array(proof.dropLast()), desc: "truncated proof"),
    ]
    for k in proof.indices {
        var wrong = proof
        wrong[k][0] ^= 16
        probes.append(ConsistencyProbe(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: wrong, desc: "modified proof[\(k)] bit 4"))
    }
    return probes
}

@Suite("RFC 9162 / transparency-dev vectors")
struct MerkleVectorTests {
    @Test("empty tree root is SHA-256 of the empty string")
    func emptyRoot() {
        #expect(MerkleTree.emptyRoot == vectorRoots[0])
        #expect(MerkleRootAccumulator().root == vectorRoots[0])
        #expect(MerkleTree.root(leafHashes: []) == vectorRoots[0])
    }

    @Test("roots for sizes 0 to 8", arguments: 0...8)
    func roots(size: Int) throws {
        let leafHashes = vectorLeaves.prefix(size).map { MerkleTree.leafHash($0) }
        #expect(MerkleTree.root(leafHashes: leafHashes) == vectorRoots[size])
        #expect(try MerkleTree.root(treeSize: size, leafHash: { leafHashes[$0] }) == vectorRoots[size])
        #expect(try MerkleTree.root(treeSize: size, leafHash: { leafHashes[$0].bytes }) == vectorRoots[size])
        var accumulator = MerkleRootAccumulator()
        for leaf in vectorLeaves.prefix(size) { accumulator.append(leaf: leaf) }
        #expect(accumulator.size == size)
        #expect(accumulator.root == vectorRoots[size])
    }

    @Test("accumulator yields every intermediate root")
    func accumulatorIntermediateRoots() {
        var accumulator = MerkleRootAccumulator()
        for (i, leaf) in vectorLeaves.enumerated() {
            accumulator.append(leaf: leaf)
            #expect(accumulator.root == vectorRoots[i + 1])
        }
    }

    @Test("inclusion vectors: generation reproduces them and they verify", arguments: inclusionVectors)
    func inclusionHappyPath(v: InclusionVector) throws {
        let leafHashes = vectorLeaves.map { MerkleTree.leafHash($0) }
        let generated = try MerkleTree.inclusionProof(leafIndex: v.leafIndex, treeSize: v.treeSize, leafHash: { leafHashes[$0] })
        #expect(generated == v.proof)
        try MerkleTree.verifyInclusion(
            leafHash: leafHashes[v.leafIndex], leafIndex: v.leafIndex, treeSize: v.treeSize,
            proof: v.proof, rootHash: vectorRoots[v.treeSize])
        try MerkleTree.verifyInclusion(
            leafHash: leafHashes[v.leafIndex].bytes, leafIndex: v.leafIndex, treeSize: v.treeSize,
            proof: v.proof.map(\.bytes), rootHash: vectorRoots[v.treeSize].bytes)
        #expect(
            try MerkleTree.rootFromInclusionProof(
                leafHash: leafHashes[v.leafIndex], leafIndex: v.leafIndex, treeSize: v.treeSize, proof: v.proof)
                == vectorRoots[v.treeSize])
    }

    @Test("inclusion vectors: every corrupted probe fails", arguments: inclusionVectors)
    func inclusionCorrupted(v: InclusionVector) {
        for probe in corruptedInclusionProbes(v) {
            #expect(throws: MerkleVerificationError.self, "\(v): \(probe)") {
                try MerkleTree.verifyInclusion(
                    leafHash: probe.leafHash, leafIndex: probe.leafIndex, treeSize: probe.treeSize,
                    proof: probe.proof, rootHash: probe.root)
            }
        }
    }

    @Test("inclusion: the errors say what failed")
    func inclusionErrorKinds() {
        let v = inclusionVectors[1]  // leaf 0 of 8
        let leaf = MerkleTree.leafHash(vectorLeaves[0])
        let root = vectorRoots[8]
        #expect(throws: MerkleVerificationError.leafIndexOutOfRange(leafIndex: 8, treeSize: 8)) {
            try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: 8, treeSize: 8, proof: v.proof, rootHash: root)
        }
        #expect(throws: MerkleVerificationError.wrongProofLength(expected: 3, actual: 2)) {
            try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: 0, treeSize: 8, proof: Array(v.proof.prefix(2)), rootHash: root)
        }
        #expect(throws: MerkleVerificationError.rootMismatch(expected: vectorRoots[7], computed: root)) {
            try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: 0, treeSize: 8, proof: v.proof, rootHash: vectorRoots[7])
        }
        #expect(throws: MerkleVerificationError.malformedHash(role: .leafHash, length: 9)) {
            try MerkleTree.verifyInclusion(
                leafHash: Array("WrongLeaf".utf8), leafIndex: 0, treeSize: 8, proof: v.proof.map(\.bytes), rootHash: root.bytes)
        }
        #expect(throws: MerkleVerificationError.malformedHash(role: .proofElement(3), length: 0)) {
            try MerkleTree.verifyInclusion(
                leafHash: leaf.bytes, leafIndex: 0, treeSize: 8, proof: v.proof.map(\.bytes) + [[]], rootHash: root.bytes)
        }
        #expect(throws: MerkleVerificationError.negativeTreeSize(-1)) {
            try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: 0, treeSize: -1, proof: [], rootHash: root)
        }
    }

    @Test("inclusion: upstream's static probes on trees of size 0 and 1")
    func inclusionStaticProbes() {
        for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
            let attempts: [([UInt8], [UInt8])] = [
                ([], sha256SomeHash),  // (root, leaf): random leaf
                (sha256EmptyTreeHash, []),  // empty root
                (sha256EmptyTreeHash, sha256SomeHash),  // empty root and random leaf
            ]
            for (root, leaf) in attempts {
                #expect(throws: MerkleVerificationError.self) {
                    try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: index, treeSize: size, proof: [], rootHash: root)
                }
            }
        }
    }

    @Test("inclusion: single entry tree (root equals leaf hash)")
    func inclusionSingleEntry() throws {
        let h = MerkleTree.leafHash(Array("data".utf8)).bytes
        try MerkleTree.verifyInclusion(leafHash: h, leafIndex: 0, treeSize: 1, proof: [], rootHash: h)
        for (root, leaf) in [(h, []), ([], h), ([UInt8](), [UInt8]())] {
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyInclusion(leafHash: leaf, leafIndex: 0, treeSize: 1, proof: [], rootHash: root)
            }
        }
    }

    @Test("consistency vectors: generation reproduces them and they verify", arguments: consistencyVectors)
    func consistencyHappyPath(v: ConsistencyVector) throws {
        let leafHashes = vectorLeaves.map { MerkleTree.leafHash($0) }
        let generated = try MerkleTree.consistencyProof(oldSize: v.oldSize, newSize: v.newSize, leafHash: { leafHashes[$0] })
        #expect(generated == v.proof)
        try MerkleTree.verifyConsistency(
            oldSize: v.oldSize, newSize: v.newSize, oldRoot: vectorRoots[v.oldSize], newRoot: vectorRoots[v.newSize], proof: v.proof)
        try MerkleTree.verifyConsistency(
            oldSize: v.oldSize, newSize: v.newSize, oldRoot: vectorRoots[v.oldSize].bytes, newRoot: vectorRoots[v.newSize].bytes,
            proof: v.proof.map(\.bytes))
    }

    @Test("consistency vectors: every corrupted probe fails", arguments: consistencyVectors.filter { !$0.proof.isEmpty })
    func consistencyCorrupted(v: ConsistencyVector) {
        for probe in corruptedConsistencyProbes(v) {
            #expect(throws: MerkleVerificationError.self, "\(v): \(probe)") {
                try MerkleTree.verifyConsistency(
                    oldSize: probe.oldSize, newSize: probe.newSize, oldRoot: probe.oldRoot, newRoot: probe.newRoot, proof: probe.proof)
            }
        }
    }

    @Test("consistency: upstream's static probes")
    func consistencyStaticProbes() throws {
        // Upstream uses 12-byte "don't care" roots; this API insists on 32-byte
        // hashes, so those become SHA-256 of the same text (same meaning: two
        // arbitrary, different roots). With the 12-byte originals every probe
        // fails with malformedHash, including upstream's one success case.
        let dc1 = MerkleHash(SHA256.hash(data: Array("don't care 1".utf8))).bytes
        let dc2 = MerkleHash(SHA256.hash(data: Array("don't care 2".utf8))).bytes
        let e = sha256EmptyTreeHash
        let failing: [(Int, Int, [UInt8], [UInt8], [[UInt8]], String)] = [
            (0, 0, dc1, dc2, [], "sizes are equal (zero) but roots are not"),
            (1, 1, dc1, dc2, [], "sizes are equal (one) but roots are not"),
            (0, 0, dc1, dc1, [], "sizes are equal (zero) and proof is empty"),
            (0, 1, dc1, dc2, [], "size1 is zero and does not equal size2"),
            (1, 0, dc1, dc2, [], "size1 is greater than size2"),
            (2, 1, dc1, dc2, [], "size1 is greater than size2 again"),
            (1, 2, dc1, dc2, [], "sizes do not match and proof is empty"),
            (0, 0, e, dc2, [], "roots do not match and sizes are zero"),
            (1, 1, e, dc2, [], "roots do not match and sizes are one"),
            (0, 0, e, e, [e], "sizes match but proof is not empty and sizes are zero"),
            (1, 1, e, e, [e], "sizes match but proof is not empty and sizes are one"),
            (0, 1, e, dc2, [], "size1 is zero and size2 is not zero"),
            (0, 1, e, e, [e], "consistency check on empty tree (size1 is zero) is useless"),
        ]
        for (m, n, r1, r2, proof, desc) in failing {
            #expect(throws: MerkleVerificationError.self, "\(desc)") {
                try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: proof)
            }
        }
        // "sizes are equal (one) and proof is empty": always consistent.
        try MerkleTree.verifyConsistency(oldSize: 1, newSize: 1, oldRoot: dc2, newRoot: dc2, proof: [])
        #expect(throws: MerkleVerificationError.malformedHash(role: .oldRoot, length: 12)) {
            try MerkleTree.verifyConsistency(
                oldSize: 1, newSize: 1, oldRoot: Array("don't care 2".utf8), newRoot: Array("don't care 2".utf8), proof: [])
        }
    }

    @Test("consistency: the errors say what failed")
    func consistencyErrorKinds() {
        let v = consistencyVectors[2]  // 6 -> 8
        let r6 = vectorRoots[6], r8 = vectorRoots[8]
        #expect(throws: MerkleVerificationError.oldSizeExceedsNewSize(oldSize: 8, newSize: 6)) {
            try MerkleTree.verifyConsistency(oldSize: 8, newSize: 6, oldRoot: r8, newRoot: r6, proof: v.proof)
        }
        #expect(throws: MerkleVerificationError.emptyOldTree(newSize: 8)) {
            try MerkleTree.verifyConsistency(oldSize: 0, newSize: 8, oldRoot: vectorRoots[0], newRoot: r8, proof: [])
        }
        #expect(throws: MerkleVerificationError.emptyProof) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: r6, newRoot: r8, proof: [])
        }
        #expect(throws: MerkleVerificationError.wrongProofLength(expected: 3, actual: 4)) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: r6, newRoot: r8, proof: v.proof + [r8])
        }
        #expect(throws: MerkleVerificationError.nonEmptyProofForEqualSizes(proofLength: 3)) {
            try MerkleTree.verifyConsistency(oldSize: 8, newSize: 8, oldRoot: r8, newRoot: r8, proof: v.proof)
        }
        #expect(throws: MerkleVerificationError.equalSizesRootMismatch(oldRoot: r6, newRoot: r8)) {
            try MerkleTree.verifyConsistency(oldSize: 8, newSize: 8, oldRoot: r6, newRoot: r8, proof: [])
        }
        #expect(throws: MerkleVerificationError.oldRootMismatch(expected: vectorRoots[5], computed: r6)) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: vectorRoots[5], newRoot: r8, proof: v.proof)
        }
        #expect(throws: MerkleVerificationError.newRootMismatch(expected: vectorRoots[7], computed: r8)) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: r6, newRoot: vectorRoots[7], proof: v.proof)
        }
        #expect(throws: MerkleVerificationError.malformedHash(role: .proofElement(0), length: 0)) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: r6.bytes, newRoot: r8.bytes, proof: [[]] + v.proof.map(\.bytes))
        }
    }
}

// MARK: Proof structure (transparency-dev proof/proof_test.go, RFC 9162 2.1.5)

/// Each expected proof element, as the leaf range whose root it is.
struct StructureCase: Sendable, CustomStringConvertible {
    let a: Int  // leaf index, or old size
    let b: Int  // tree size, or new size
    let ranges: [Range<Int>]
    var description: String { "\(a), \(b)" }
}

/// Inclusion proofs: (leaf index, tree size) -> subtrees.
let inclusionStructure: [StructureCase] = [
    StructureCase(a: 0, b: 1, ranges: []),
    StructureCase(a: 0, b: 2, ranges: [1..<2]),
    StructureCase(a: 1, b: 2, ranges: [0..<1]),
    StructureCase(a: 1, b: 3, ranges: [0..<1, 2..<3]),
    StructureCase(a: 0, b: 7, ranges: [1..<2, 2..<4, 4..<7]),  // b h l
    StructureCase(a: 1, b: 7, ranges: [0..<1, 2..<4, 4..<7]),  // a h l
    StructureCase(a: 2, b: 7, ranges: [3..<4, 0..<2, 4..<7]),  // d g l
    StructureCase(a: 3, b: 7, ranges: [2..<3, 0..<2, 4..<7]),  // c g l
    StructureCase(a: 4, b: 7, ranges: [5..<6, 6..<7, 0..<4]),  // f j k
    StructureCase(a: 5, b: 7, ranges: [4..<5, 6..<7, 0..<4]),  // e j k
    StructureCase(a: 6, b: 7, ranges: [4..<6, 0..<4]),  // i k
    StructureCase(a: 2, b: 4, ranges: [3..<4, 0..<2]),
    StructureCase(a: 3, b: 5, ranges: [2..<3, 0..<2, 4..<5]),
    StructureCase(a: 3, b: 6, ranges: [2..<3, 0..<2, 4..<6]),
    StructureCase(a: 4, b: 6, ranges: [5..<6, 0..<4]),
    StructureCase(a: 10, b: 15, ranges: [11..<12, 8..<10, 12..<15, 0..<8]),
    StructureCase(a: 24, b: 31, ranges: [25..<26, 26..<28, 28..<31, 16..<24, 0..<16]),
    StructureCase(a: 81, b: 95, ranges: [80..<81, 82..<84, 84..<88, 88..<95, 64..<80, 0..<64]),
]

/// Consistency proofs: (old size, new size) -> subtrees.
let consistencyStructure: [StructureCase] = [
    StructureCase(a: 1, b: 2, ranges: [1..<2]),
    StructureCase(a: 1, b: 4, ranges: [1..<2, 2..<4]),
    StructureCase(a: 1, b: 6, ranges: [1..<2, 2..<4, 4..<6]),
    StructureCase(a: 2, b: 3, ranges: [2..<3]),
    StructureCase(a: 2, b: 8, ranges: [2..<4, 4..<8]),
    StructureCase(a: 3, b: 7, ranges: [2..<3, 3..<4, 0..<2, 4..<7]),  // c d g l (RFC 9162 2.1.5)
    StructureCase(a: 4, b: 7, ranges: [4..<7]),  // l
    StructureCase(a: 5, b: 7, ranges: [4..<5, 5..<6, 6..<7, 0..<4]),
    StructureCase(a: 6, b: 7, ranges: [4..<6, 6..<7, 0..<4]),  // i j k
    StructureCase(a: 7, b: 8, ranges: [6..<7, 7..<8, 4..<6, 0..<4]),
    StructureCase(a: 1, b: 1, ranges: []),
    StructureCase(a: 2, b: 2, ranges: []),
    StructureCase(a: 3, b: 3, ranges: []),
    StructureCase(a: 4, b: 4, ranges: []),
    StructureCase(a: 5, b: 5, ranges: []),
    StructureCase(a: 7, b: 7, ranges: []),
    StructureCase(a: 8, b: 8, ranges: []),
    StructureCase(a: 2, b: 4, ranges: [2..<4]),
    StructureCase(a: 3, b: 5, ranges: [2..<3, 3..<4, 0..<2, 4..<5]),
    StructureCase(a: 3, b: 6, ranges: [2..<3, 3..<4, 0..<2, 4..<6]),
    StructureCase(a: 4, b: 6, ranges: [4..<6]),
    StructureCase(a: 1, b: 7, ranges: [1..<2, 2..<4, 4..<7]),
    StructureCase(a: 10, b: 15, ranges: [8..<10, 10..<12, 12..<15, 0..<8]),
    StructureCase(a: 24, b: 31, ranges: [16..<24, 24..<31, 0..<16]),
    StructureCase(a: 81, b: 95, ranges: [80..<81, 81..<82, 82..<84, 84..<88, 88..<95, 64..<80, 0..<64]),
]

@Suite("Proof structure vectors")
struct ProofStructureTests {
    static let leaves: [MerkleHash] = (0..<100).map { MerkleTree.leafHash(Array("leaf \($0)".utf8)) }

    func subtree(_ range: Range<Int>) -> MerkleHash {
        ReferenceTree.mth(Self.leaves[range])
    }

    @Test("inclusion proofs consist of the expected subtrees", arguments: inclusionStructure)
    func inclusion(c: StructureCase) throws {
        let proof = try MerkleTree.inclusionProof(leafIndex: c.a, treeSize: c.b, leafHash: { Self.leaves[$0] })
        #expect(proof == c.ranges.map(subtree))
    }

    @Test("consistency proofs consist of the expected subtrees", arguments: consistencyStructure)
    func consistency(c: StructureCase) throws {
        let proof = try MerkleTree.consistencyProof(oldSize: c.a, newSize: c.b, leafHash: { Self.leaves[$0] })
        #expect(proof == c.ranges.map(subtree))
    }

    @Test("generation rejects bad parameters")
    func badParameters() {
        for (index, size) in [(0, 0), (1, 0), (2, 1), (3, 0), (8, 7), (-1, 4)] {
            #expect(throws: MerkleProofGenerationError.leafIndexOutOfRange(leafIndex: index, treeSize: size)) {
                try MerkleTree.inclusionProof(leafIndex: index, treeSize: size, leafHash: { Self.leaves[$0] })
            }
        }
        for (old, new) in [(5, 0), (9, 8), (0, 3), (0, 0)] {
            #expect(throws: MerkleProofGenerationError.invalidConsistencySizes(oldSize: old, newSize: new)) {
                try MerkleTree.consistencyProof(oldSize: old, newSize: new, leafHash: { Self.leaves[$0] })
            }
        }
        #expect(throws: MerkleProofGenerationError.malformedLeafHash(leafIndex: 0, length: 31)) {
            try MerkleTree.inclusionProof(leafIndex: 1, treeSize: 2, leafHash: { _ in [UInt8](repeating: 0, count: 31) })
        }
    }

    @Test("errors from the leaf source propagate")
    func leafSourceErrors() {
        struct StorageFailure: Error {}
        #expect(throws: StorageFailure.self) {
            try MerkleTree.inclusionProof(leafIndex: 0, treeSize: 10, leafHash: { i -> MerkleHash in
                if i == 7 { throw StorageFailure() }
                return Self.leaves[i]
            })
        }
    }
}
