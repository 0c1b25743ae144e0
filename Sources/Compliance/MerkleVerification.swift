/// Which input of a verification a malformed hash was given for.
public enum MerkleHashRole: Equatable, Sendable, CustomStringConvertible {
    /// The leaf hash being proven.
    case leafHash
    /// The root of the tree (inclusion proofs).
    case rootHash
    /// The root of the older tree (consistency proofs).
    case oldRoot
    /// The root of the newer tree (consistency proofs).
    case newRoot
    /// The proof element at this position.
    case proofElement(Int)

    public var description: String {
        switch self {
        case .leafHash: return "leaf hash"
        case .rootHash: return "root hash"
        case .oldRoot: return "old root"
        case .newRoot: return "new root"
        case .proofElement(let i): return "proof element \(i)"
        }
    }
}

/// Why an inclusion or consistency proof did not verify.
public enum MerkleVerificationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A tree size is negative.
    case negativeTreeSize(Int)
    /// The leaf index is not in `0..<treeSize` (this includes every index of an empty tree).
    case leafIndexOutOfRange(leafIndex: Int, treeSize: Int)
    /// A hash given as bytes is not 32 bytes long.
    case malformedHash(role: MerkleHashRole, length: Int)
    /// The proof has the wrong number of elements for the sizes (and index) given.
    case wrongProofLength(expected: Int, actual: Int)
    /// The inclusion proof leads to a different root than the one given.
    case rootMismatch(expected: MerkleHash, computed: MerkleHash)
    /// The old tree is larger than the new one.
    case oldSizeExceedsNewSize(oldSize: Int, newSize: Int)
    /// Consistency with an empty old tree proves nothing and is refused (RFC 9162 defines proofs for `0 < m`).
    case emptyOldTree(newSize: Int)
    /// The two sizes are equal, so the proof must be empty, but it is not.
    case nonEmptyProofForEqualSizes(proofLength: Int)
    /// The two sizes are equal but the roots differ.
    case equalSizesRootMismatch(oldRoot: MerkleHash, newRoot: MerkleHash)
    /// The sizes differ but the consistency proof is empty.
    case emptyProof
    /// The consistency proof does not reproduce the old root.
    case oldRootMismatch(expected: MerkleHash, computed: MerkleHash)
    /// The consistency proof does not reproduce the new root.
    case newRootMismatch(expected: MerkleHash, computed: MerkleHash)

    public var description: String {
        switch self {
        case .negativeTreeSize(let size):
            return "tree size \(size) is negative"
        case .leafIndexOutOfRange(let index, let size):
            return "leaf index \(index) is outside a tree of size \(size)"
        case .malformedHash(let role, let length):
            return "\(role) has \(length) bytes, expected \(MerkleHash.byteCount)"
        case .wrongProofLength(let expected, let actual):
            return "proof has \(actual) hashes, expected \(expected) for these sizes"
        case .rootMismatch(let expected, let computed):
            return "inclusion proof leads to root \(computed), expected \(expected)"
        case .oldSizeExceedsNewSize(let old, let new):
            return "old tree size \(old) is larger than new tree size \(new)"
        case .emptyOldTree(let new):
            return "consistency from the empty tree to size \(new) proves nothing and is refused"
        case .nonEmptyProofForEqualSizes(let length):
            return "tree sizes are equal, so the proof must be empty, but it has \(length) hashes"
        case .equalSizesRootMismatch(let old, let new):
            return "tree sizes are equal but the roots differ: old \(old), new \(new)"
        case .emptyProof:
            return "tree sizes differ but the consistency proof is empty"
        case .oldRootMismatch(let expected, let computed):
            return "consistency proof leads to old root \(computed), expected \(expected)"
        case .newRootMismatch(let expected, let computed):
            return "consistency proof leads to new root \(computed), expected \(expected)"
        }
    }
}

extension MerkleTree {
    // MARK: Proof lengths

    /// Number of hashes in the inclusion proof for `leafIndex` in a tree of
    /// `treeSize` leaves (requires `0 <= leafIndex < treeSize`).
    static func inclusionProofLength(leafIndex: Int, treeSize: Int) -> Int {
        let index = UInt64(leafIndex), last = UInt64(treeSize - 1)
        // Levels below the point where the paths to `index` and to the last
        // leaf part, then one hash per left sibling above it.
        let inner = UInt64.bitWidth - (index ^ last).leadingZeroBitCount
        let border = (index >> UInt64(inner)).nonzeroBitCount
        return inner + border
    }

    /// Number of hashes in the consistency proof between sizes
    /// `0 < oldSize < newSize`.
    static func consistencyProofLength(oldSize: Int, newSize: Int) -> Int {
        let lastOld = UInt64(oldSize - 1), lastNew = UInt64(newSize - 1)
        let inner = UInt64.bitWidth - (lastOld ^ lastNew).leadingZeroBitCount
        let border = (lastOld >> UInt64(inner)).nonzeroBitCount
        let shift = oldSize.trailingZeroBitCount
        // When oldSize is a power of two its root is the seed and is not sent.
        let seed = oldSize == 1 << shift ? 0 : 1
        return seed + (inner - shift) + border
    }

    // MARK: Inclusion (RFC 9162 2.1.3.2)

    /// The root that `proof` leads to from `leafHash` at `leafIndex` in a tree
    /// of `treeSize` leaves (RFC 9162 2.1.3.2 steps 1 to 4), after checking the
    /// index and the proof length.
    public static func rootFromInclusionProof(
        leafHash: MerkleHash,
        leafIndex: Int,
        treeSize: Int,
        proof: [MerkleHash]
    ) throws(MerkleVerificationError) -> MerkleHash {
        guard treeSize >= 0 else { throw .negativeTreeSize(treeSize) }
        guard leafIndex >= 0, leafIndex < treeSize else {
            throw .leafIndexOutOfRange(leafIndex: leafIndex, treeSize: treeSize)
        }
        let expected = inclusionProofLength(leafIndex: leafIndex, treeSize: treeSize)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }

        var fn = UInt64(leafIndex)
        var sn = UInt64(treeSize - 1)
        var r = leafHash
        for p in proof {
            // Step 4a (cannot trigger after the length check; kept as the RFC has it).
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        return r
    }

    /// Verifies that `leafHash` is the leaf at `leafIndex` of the tree of
    /// `treeSize` leaves whose root is `rootHash` (RFC 9162 2.1.3.2).
    public static func verifyInclusion(
        leafHash: MerkleHash,
        leafIndex: Int,
        treeSize: Int,
        proof: [MerkleHash],
        rootHash: MerkleHash
    ) throws(MerkleVerificationError) {
        let computed = try rootFromInclusionProof(leafHash: leafHash, leafIndex: leafIndex, treeSize: treeSize, proof: proof)
        guard computed == rootHash else { throw .rootMismatch(expected: rootHash, computed: computed) }
    }

    /// The same for hashes given as bytes (as read off the wire); a hash that is not 32
    /// bytes fails with ``MerkleVerificationError/malformedHash(role:length:)``.
    public static func verifyInclusion(
        leafHash: [UInt8],
        leafIndex: Int,
        treeSize: Int,
        proof: [[UInt8]],
        rootHash: [UInt8]
    ) throws(MerkleVerificationError) {
        try verifyInclusion(
            leafHash: parse(leafHash, .leafHash),
            leafIndex: leafIndex,
            treeSize: treeSize,
            proof: parseProof(proof),
            rootHash: parse(rootHash, .rootHash))
    }

    // MARK: Consistency (RFC 9162 2.1.4.2)

    /// Verifies that the tree of `newSize` leaves with root `newRoot` extends
    /// the tree of `oldSize` leaves with root `oldRoot` (RFC 9162 2.1.4.2).
    ///
    /// Equal sizes need an empty proof and equal roots; an empty old tree is
    /// refused (``MerkleVerificationError/emptyOldTree(newSize:)``).
    public static func verifyConsistency(
        oldSize: Int,
        newSize: Int,
        oldRoot: MerkleHash,
        newRoot: MerkleHash,
        proof: [MerkleHash]
    ) throws(MerkleVerificationError) {
        guard oldSize >= 0 else { throw .negativeTreeSize(oldSize) }
        guard newSize >= 0 else { throw .negativeTreeSize(newSize) }
        guard oldSize <= newSize else { throw .oldSizeExceedsNewSize(oldSize: oldSize, newSize: newSize) }
        guard oldSize > 0 else { throw .emptyOldTree(newSize: newSize) }
        if oldSize == newSize {
            guard proof.isEmpty else { throw .nonEmptyProofForEqualSizes(proofLength: proof.count) }
            guard oldRoot == newRoot else { throw .equalSizesRootMismatch(oldRoot: oldRoot, newRoot: newRoot) }
            return
        }
        // Step 1.
        guard !proof.isEmpty else { throw .emptyProof }
        let expected = consistencyProofLength(oldSize: oldSize, newSize: newSize)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }

        // Step 2: a power-of-two old size means the old root is the first element.
        let oldIsPowerOfTwo = oldSize & (oldSize - 1) == 0
        var remaining = proof[...]
        let seed: MerkleHash
        if oldIsPowerOfTwo {
            seed = oldRoot
        } else {
            seed = remaining.removeFirst()
        }
        // Steps 3 and 4.
        var fn = UInt64(oldSize - 1)
        var sn = UInt64(newSize - 1)
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // Step 5.
        var fr = seed
        var sr = seed
        // Step 6.
        for c in remaining {
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        guard fr == oldRoot else { throw .oldRootMismatch(expected: oldRoot, computed: fr) }
        guard sr == newRoot else { throw .newRootMismatch(expected: newRoot, computed: sr) }
    }

    /// The same for hashes given as bytes; a hash that is not 32 bytes fails with
    /// ``MerkleVerificationError/malformedHash(role:length:)``.
    public static func verifyConsistency(
        oldSize: Int,
        newSize: Int,
        oldRoot: [UInt8],
        newRoot: [UInt8],
        proof: [[UInt8]]
    ) throws(MerkleVerificationError) {
        try verifyConsistency(
            oldSize: oldSize,
            newSize: newSize,
            oldRoot: parse(oldRoot, .oldRoot),
            newRoot: parse(newRoot, .newRoot),
            proof: parseProof(proof))
    }

    private static func parse(_ bytes: [UInt8], _ role: MerkleHashRole) throws(MerkleVerificationError) -> MerkleHash {
        guard let hash = MerkleHash(bytes: bytes) else { throw .malformedHash(role: role, length: bytes.count) }
        return hash
    }

    private static func parseProof(_ proof: [[UInt8]]) throws(MerkleVerificationError) -> [MerkleHash] {
        var hashes: [MerkleHash] = []
        hashes.reserveCapacity(proof.count)
        for (i, element) in proof.enumerated() {
            hashes.append(try parse(element, .proofElement(i)))
        }
        return hashes
    }
}
