import Compliance
import Testing

/// Leaf hashes for property tests: leaf i is the 8-byte little-endian index.
func syntheticLeaves(_ count: Int) -> [MerkleHash] {
    (0..<count).map { i in
        withUnsafeBytes(of: UInt64(i).littleEndian) { MerkleTree.leafHash(Array($0)) }
    }
}

/// Roots of every perfect subtree of `leaves` (what a storage layer could
/// cache), for exercising the `cachedSubtreeRoot` path.
func perfectSubtreeCache(_ leaves: [MerkleHash]) -> [Range<Int>: MerkleHash] {
    var cache: [Range<Int>: MerkleHash] = [:]
    var level = leaves
    var width = 1
    while level.count >= 2 {
        var next: [MerkleHash] = []
        for j in stride(from: 0, to: level.count - 1, by: 2) {
            next.append(MerkleTree.nodeHash(level[j], level[j + 1]))
        }
        width *= 2
        for (j, h) in next.enumerated() { cache[(j * width)..<((j + 1) * width)] = h }
        level = next
    }
    return cache
}

@Suite("Merkle proof properties")
struct MerklePropertyTests {
    static let maxLeaves = 300
    static let leaves = syntheticLeaves(maxLeaves + 1)

    /// Every inclusion proof of a tree of `size` verifies; tampered ones fail.
    func checkAllInclusionProofs(size: Int, rng: inout SeededGenerator, cache: [Range<Int>: MerkleHash]?) throws {
        let leaves = Self.leaves
        let root = ReferenceTree.mth(leaves[0..<size])
        let nextRoot = ReferenceTree.mth(leaves[0...size])
        for index in 0..<size {
            let proof: [MerkleHash]
            if let cache {
                proof = try MerkleTree.inclusionProof(
                    leafIndex: index, treeSize: size, leafHash: { leaves[$0] }, cachedSubtreeRoot: { cache[$0] })
            } else {
                proof = try MerkleTree.inclusionProof(leafIndex: index, treeSize: size, leafHash: { leaves[$0] })
            }
            try MerkleTree.verifyInclusion(leafHash: leaves[index], leafIndex: index, treeSize: size, proof: proof, rootHash: root)

            // Tampered: a flipped bit in one proof element.
            if !proof.isEmpty {
                var bad = proof
                let k = Int.random(in: 0..<bad.count, using: &rng)
                bad[k] = flipped(bad[k], bit: Int.random(in: 0..<256, using: &rng))
                #expect(throws: MerkleVerificationError.self, "size \(size) index \(index) element \(k)") {
                    try MerkleTree.verifyInclusion(leafHash: leaves[index], leafIndex: index, treeSize: size, proof: bad, rootHash: root)
                }
                #expect(throws: MerkleVerificationError.self) {
                    try MerkleTree.verifyInclusion(
                        leafHash: leaves[index], leafIndex: index, treeSize: size, proof: Array(proof.dropLast()), rootHash: root)
                }
            }
            // Tampered: a different leaf, a different index, a different size.
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyInclusion(
                    leafHash: flipped(leaves[index], bit: Int.random(in: 0..<256, using: &rng)),
                    leafIndex: index, treeSize: size, proof: proof, rootHash: root)
            }
            if size > 1 {
                let other = (index + Int.random(in: 1..<size, using: &rng)) % size
                #expect(throws: MerkleVerificationError.self) {
                    try MerkleTree.verifyInclusion(leafHash: leaves[index], leafIndex: other, treeSize: size, proof: proof, rootHash: root)
                }
            }
            // (A wrong size must be paired with that size's root: with the
            // same root, sizes whose paths have the same shape verify alike.)
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyInclusion(
                    leafHash: leaves[index], leafIndex: index, treeSize: size + 1, proof: proof, rootHash: nextRoot)
            }
        }
    }

    /// Every consistency proof from `1...size` to `size` verifies; tampered ones fail.
    func checkAllConsistencyProofs(size: Int, rng: inout SeededGenerator, cache: [Range<Int>: MerkleHash]?) throws {
        let leaves = Self.leaves
        var accumulator = MerkleRootAccumulator()
        var roots: [MerkleHash] = [MerkleTree.emptyRoot]
        for leaf in leaves[0..<size] {
            accumulator.append(leafHash: leaf)
            roots.append(accumulator.root)
        }
        let newRoot = roots[size]
        for old in 1...size {
            let proof: [MerkleHash]
            if let cache {
                proof = try MerkleTree.consistencyProof(
                    oldSize: old, newSize: size, leafHash: { leaves[$0] }, cachedSubtreeRoot: { cache[$0] })
            } else {
                proof = try MerkleTree.consistencyProof(oldSize: old, newSize: size, leafHash: { leaves[$0] })
            }
            try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: newRoot, proof: proof)
            guard old < size else {
                #expect(proof.isEmpty)
                continue
            }
            var bad = proof
            let k = Int.random(in: 0..<bad.count, using: &rng)
            bad[k] = flipped(bad[k], bit: Int.random(in: 0..<256, using: &rng))
            #expect(throws: MerkleVerificationError.self, "\(old) -> \(size), element \(k)") {
                try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[old], newRoot: newRoot, proof: bad)
            }
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: old, newSize: size, oldRoot: flipped(roots[old], bit: 0), newRoot: newRoot, proof: proof)
            }
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: old, newSize: size, oldRoot: roots[old], newRoot: flipped(newRoot, bit: 255), proof: proof)
            }
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyConsistency(oldSize: old, newSize: size, oldRoot: newRoot, newRoot: roots[old], proof: proof)
            }
            // Claiming the proof links other sizes (with the matching honest roots) must fail too.
            if old + 1 < size {
                #expect(throws: MerkleVerificationError.self) {
                    try MerkleTree.verifyConsistency(oldSize: old + 1, newSize: size, oldRoot: roots[old + 1], newRoot: newRoot, proof: proof)
                }
            }
            #expect(throws: MerkleVerificationError.self) {
                try MerkleTree.verifyConsistency(oldSize: old, newSize: size - 1, oldRoot: roots[old], newRoot: roots[size - 1], proof: proof)
            }
        }
    }

    @Test("all proofs for every size 1...64 match the RFC definitions")
    func smallTreesMatchReference() throws {
        let leaves = Self.leaves
        for size in 1...64 {
            let d = leaves[0..<size]
            #expect(try MerkleTree.root(treeSize: size, leafHash: { leaves[$0] }) == ReferenceTree.mth(d))
            for index in 0..<size {
                #expect(try MerkleTree.inclusionProof(leafIndex: index, treeSize: size, leafHash: { leaves[$0] }) == ReferenceTree.path(index, d))
            }
            for old in 1...size {
                #expect(try MerkleTree.consistencyProof(oldSize: old, newSize: size, leafHash: { leaves[$0] }) == ReferenceTree.proof(old, d))
            }
        }
    }

    @Test("every proof verifies and tampered ones fail, sizes 1...64")
    func exhaustiveSmallSizes() throws {
        var rng = SeededGenerator(seed: 0x5EED_0001)
        for size in 1...64 {
            try checkAllInclusionProofs(size: size, rng: &rng, cache: nil)
            try checkAllConsistencyProofs(size: size, rng: &rng, cache: nil)
        }
    }

    @Test("every proof verifies and tampered ones fail, random sizes up to 300")
    func randomSizes() throws {
        var rng = SeededGenerator(seed: 0x5EED_0002)
        let fullCache = perfectSubtreeCache(Array(Self.leaves[0..<Self.maxLeaves]))
        var sizes: [Int] = [255, 256, 257, 299, 300]
        for _ in 0..<10 { sizes.append(Int.random(in: 65...Self.maxLeaves, using: &rng)) }
        for size in sizes {
            // The cache holds subtrees of the 300-leaf tree; only the ones
            // inside `size` may be used (a real cache knows its tree size).
            let cache = fullCache.filter { $0.key.upperBound <= size }
            try checkAllInclusionProofs(size: size, rng: &rng, cache: cache)
            try checkAllConsistencyProofs(size: size, rng: &rng, cache: cache)
        }
    }

    @Test("cached and streamed subtree roots give identical proofs")
    func cacheMatchesStreaming() throws {
        let leaves = Self.leaves
        let size = 300
        let cache = perfectSubtreeCache(Array(leaves[0..<size]))
        var cacheHits = 0
        for index in [0, 1, 127, 128, 150, 255, 256, 299] {
            let streamed = try MerkleTree.inclusionProof(leafIndex: index, treeSize: size, leafHash: { leaves[$0] })
            let cached = try MerkleTree.inclusionProof(
                leafIndex: index, treeSize: size, leafHash: { leaves[$0] },
                cachedSubtreeRoot: { range in
                    cacheHits += 1
                    return cache[range]
                })
            #expect(streamed == cached)
        }
        for old in [1, 2, 3, 100, 128, 200, 299] {
            let streamed = try MerkleTree.consistencyProof(oldSize: old, newSize: size, leafHash: { leaves[$0] })
            let cached = try MerkleTree.consistencyProof(
                oldSize: old, newSize: size, leafHash: { leaves[$0] }, cachedSubtreeRoot: { cache[$0] })
            #expect(streamed == cached)
        }
        #expect(cacheHits > 0)
    }

    @Test("accumulator matches the RFC definition at power-of-two boundaries and can be resumed")
    func accumulatorLargerSizes() throws {
        let leaves = syntheticLeaves(4100)
        var accumulator = MerkleRootAccumulator()
        var checkpoints: [Int: MerkleHash] = [:]
        for (i, leaf) in leaves.enumerated() {
            accumulator.append(leafHash: leaf)
            if [1023, 1024, 1025, 2047, 4096, 4097, 4100].contains(i + 1) { checkpoints[i + 1] = accumulator.root }
        }
        for (size, root) in checkpoints {
            #expect(root == ReferenceTree.mth(leaves[0..<size]), "size \(size)")
            #expect(accumulator.peaks.count <= 64)
        }
        // Save the state at 1025 leaves, restore it and continue.
        var first = MerkleRootAccumulator()
        for leaf in leaves[0..<1025] { first.append(leafHash: leaf) }
        #expect(first.peaks.count == 2)
        var resumed = try #require(MerkleRootAccumulator(size: first.size, peaks: first.peaks))
        for leaf in leaves[1025...] { resumed.append(leafHash: leaf) }
        #expect(resumed == accumulator)
        #expect(resumed.root == checkpoints[4100])
        #expect(MerkleRootAccumulator(size: 3, peaks: [first.peaks[0]]) == nil)
    }
}
