import Crypto
import Foundation

/// RFC 9162 (Certificate Transparency v2) section 2.1 Merkle tree hashing,
/// proof generation and proof verification, with SHA-256.
///
/// - Leaf hash: `SHA-256(0x00 || leaf)`.
/// - Node hash: `SHA-256(0x01 || left || right)`.
/// - The hash of the empty tree is `SHA-256("")`.
/// - A tree of `n > 1` leaves splits at the largest power of two smaller than `n`.
///
/// Leaf indices and tree sizes are `Int`s; negative values are rejected.
public enum MerkleTree {
    /// The root of the empty tree: SHA-256 of the empty string.
    public static let emptyRoot = MerkleHash(SHA256.hash(data: [UInt8]()))

    /// The leaf hash of `leaf`: SHA-256(0x00 || leaf).
    @inlinable  // specialised in callers: several times faster for small leaves
    public static func leafHash<D: DataProtocol>(_ leaf: D) -> MerkleHash {
        var hasher = SHA256()
        Swift.withUnsafeBytes(of: UInt8(0x00)) { hasher.update(bufferPointer: $0) }
        hasher.update(data: leaf)
        return MerkleHash(hasher.finalize())
    }

    /// The interior node hash: SHA-256(0x01 || left || right).
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        // 72 bytes on the stack: 7 bytes of padding, the 0x01 prefix, then the
        // two children, so that the 65 hashed bytes are contiguous.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            UInt64(1).bigEndian,
            left.storage.0, left.storage.1, left.storage.2, left.storage.3,
            right.storage.0, right.storage.1, right.storage.2, right.storage.3
        )
        return Swift.withUnsafeBytes(of: &buffer) { raw in
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[7...]))
            return MerkleHash(hasher.finalize())
        }
    }

    /// The largest power of two strictly smaller than `n` (`n >= 2`).
    @inline(__always)
    static func split(_ n: Int) -> Int {
        1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }

    // MARK: Roots

    /// The Merkle tree hash (root) of the given leaf hashes.
    public static func root(leafHashes: some Sequence<MerkleHash>) -> MerkleHash {
        var accumulator = MerkleRootAccumulator()
        for hash in leafHashes { accumulator.append(leafHash: hash) }
        return accumulator.root
    }

    /// The root of the tree of the first `treeSize` leaves, reading each leaf
    /// hash once through `leafHash` (indices `0..<treeSize`, in order) and
    /// keeping only O(log n) hashes in memory.
    public static func root(
        treeSize: Int,
        leafHash: (Int) throws -> MerkleHash
    ) throws -> MerkleHash {
        guard treeSize >= 0 else { throw MerkleProofGenerationError.negativeTreeSize(treeSize) }
        return try subtreeRoot(start: 0, count: treeSize, leafHash: leafHash, cachedSubtreeRoot: nil)
    }

    /// The same, with leaf hashes given as raw bytes (each must be 32 bytes).
    public static func root(
        treeSize: Int,
        leafHash: (Int) throws -> [UInt8]
    ) throws -> MerkleHash {
        try root(treeSize: treeSize, leafHash: { try checkedLeafHash(leafHash($0), index: $0) })
    }

    // MARK: Proof generation

    /// Inclusion proof (RFC 9162 2.1.3.1, `PATH(m, D[n])`) for the leaf at
    /// `leafIndex` in the tree of the first `treeSize` leaves, ordered from the
    /// leaf's sibling up to the child of the root.
    ///
    /// Each proof element is the root of a subtree; those are computed by
    /// streaming leaf hashes through `leafHash` (so the whole tree may be read,
    /// but only O(log n) hashes are held at once). When `cachedSubtreeRoot` is
    /// given, it is first asked for the root of every perfect subtree (a range
    /// whose length is a power of two, at least 2) the computation needs; it
    /// returns nil to have it computed from the leaves.
    public static func inclusionProof(
        leafIndex: Int,
        treeSize: Int,
        leafHash: (Int) throws -> MerkleHash,
        cachedSubtreeRoot: ((Range<Int>) throws -> MerkleHash?)? = nil
    ) throws -> [MerkleHash] {
        guard treeSize >= 0 else { throw MerkleProofGenerationError.negativeTreeSize(treeSize) }
        guard leafIndex >= 0, leafIndex < treeSize else {
            throw MerkleProofGenerationError.leafIndexOutOfRange(leafIndex: leafIndex, treeSize: treeSize)
        }
        var path: [MerkleHash] = []
        path.reserveCapacity(Int.bitWidth)
        var start = 0, m = leafIndex, n = treeSize
        while n > 1 {
            let k = split(n)
            if m < k {
                path.append(try subtreeRoot(start: start + k, count: n - k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot))
                n = k
            } else {
                path.append(try subtreeRoot(start: start, count: k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot))
                start += k
                m -= k
                n -= k
            }
        }
        path.reverse()
        return path
    }

    /// The same, with leaf hashes given as raw bytes (each must be 32 bytes).
    public static func inclusionProof(
        leafIndex: Int,
        treeSize: Int,
        leafHash: (Int) throws -> [UInt8],
        cachedSubtreeRoot: ((Range<Int>) throws -> MerkleHash?)? = nil
    ) throws -> [MerkleHash] {
        try inclusionProof(
            leafIndex: leafIndex, treeSize: treeSize,
            leafHash: { try checkedLeafHash(leafHash($0), index: $0) },
            cachedSubtreeRoot: cachedSubtreeRoot)
    }

    /// Consistency proof (RFC 9162 2.1.4.1, `PROOF(m, D[n])`) that the tree of
    /// the first `newSize` leaves extends the tree of the first `oldSize`
    /// leaves, ordered as the RFC's `SUBPROOF` lists it (deepest first).
    ///
    /// Requires `0 < oldSize <= newSize`; equal sizes give an empty proof.
    /// Leaf hashes are read, and `cachedSubtreeRoot` consulted, as for inclusion proofs.
    public static func consistencyProof(
        oldSize: Int,
        newSize: Int,
        leafHash: (Int) throws -> MerkleHash,
        cachedSubtreeRoot: ((Range<Int>) throws -> MerkleHash?)? = nil
    ) throws -> [MerkleHash] {
        guard oldSize > 0, oldSize <= newSize else {
            throw MerkleProofGenerationError.invalidConsistencySizes(oldSize: oldSize, newSize: newSize)
        }
        var path: [MerkleHash] = []
        path.reserveCapacity(Int.bitWidth + 1)
        var start = 0, m = oldSize, n = newSize
        var isWholeOldTree = true  // the RFC's `b`
        while m != n {
            let k = split(n)
            if m <= k {
                path.append(try subtreeRoot(start: start + k, count: n - k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot))
                n = k
            } else {
                path.append(try subtreeRoot(start: start, count: k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot))
                start += k
                m -= k
                n -= k
                isWholeOldTree = false
            }
        }
        if !isWholeOldTree {
            path.append(try subtreeRoot(start: start, count: n, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot))
        }
        path.reverse()
        return path
    }

    /// The same, with leaf hashes given as raw bytes (each must be 32 bytes).
    public static func consistencyProof(
        oldSize: Int,
        newSize: Int,
        leafHash: (Int) throws -> [UInt8],
        cachedSubtreeRoot: ((Range<Int>) throws -> MerkleHash?)? = nil
    ) throws -> [MerkleHash] {
        try consistencyProof(
            oldSize: oldSize, newSize: newSize,
            leafHash: { try checkedLeafHash(leafHash($0), index: $0) },
            cachedSubtreeRoot: cachedSubtreeRoot)
    }

    // MARK: Internals

    static func checkedLeafHash(_ bytes: [UInt8], index: Int) throws -> MerkleHash {
        guard let hash = MerkleHash(bytes: bytes) else {
            throw MerkleProofGenerationError.malformedLeafHash(leafIndex: index, length: bytes.count)
        }
        return hash
    }

    /// MTH(D[start ..< start+count]).
    static func subtreeRoot(
        start: Int,
        count: Int,
        leafHash: (Int) throws -> MerkleHash,
        cachedSubtreeRoot: ((Range<Int>) throws -> MerkleHash?)?
    ) throws -> MerkleHash {
        if count == 0 { return emptyRoot }
        if count == 1 { return try leafHash(start) }
        guard let cachedSubtreeRoot else {
            // Streaming: O(log count) hashes held, each leaf hash read once.
            var accumulator = MerkleRootAccumulator()
            for index in start..<(start + count) {
                accumulator.append(leafHash: try leafHash(index))
            }
            return accumulator.root
        }
        if count & (count - 1) == 0, let cached = try cachedSubtreeRoot(start..<(start + count)) {
            return cached
        }
        let k = split(count)
        let left = try subtreeRoot(start: start, count: k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot)
        let right = try subtreeRoot(start: start + k, count: count - k, leafHash: leafHash, cachedSubtreeRoot: cachedSubtreeRoot)
        return nodeHash(left, right)
    }
}

/// Why a proof or root could not be generated.
public enum MerkleProofGenerationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tree size is negative.
    case negativeTreeSize(Int)
    /// The leaf index is not in `0..<treeSize`.
    case leafIndexOutOfRange(leafIndex: Int, treeSize: Int)
    /// A consistency proof needs `0 < oldSize <= newSize`.
    case invalidConsistencySizes(oldSize: Int, newSize: Int)
    /// The leaf hash source returned something other than 32 bytes.
    case malformedLeafHash(leafIndex: Int, length: Int)

    public var description: String {
        switch self {
        case .negativeTreeSize(let size):
            return "tree size \(size) is negative"
        case .leafIndexOutOfRange(let index, let size):
            return "leaf index \(index) is outside a tree of size \(size)"
        case .invalidConsistencySizes(let old, let new):
            return "a consistency proof needs 0 < old size <= new size, got old size \(old), new size \(new)"
        case .malformedLeafHash(let index, let length):
            return "leaf hash \(index) has \(length) bytes, expected \(MerkleHash.byteCount)"
        }
    }
}

/// Streaming RFC 9162 root computation: append leaf hashes one at a time and
/// read ``root`` for the current size at any point.
///
/// Keeps one hash per set bit of the size (at most 64), so memory is O(log n)
/// and appending allocates nothing. Its state (``size`` and ``peaks``) can be
/// saved and restored with ``init(size:peaks:)`` to resume without rereading
/// the leaves.
public struct MerkleRootAccumulator: Sendable, Hashable {
    /// Number of leaves appended so far.
    public private(set) var size: Int

    /// Roots of the perfect subtrees that make up the tree, largest (leftmost)
    /// first; one per set bit of ``size``.
    public private(set) var peaks: [MerkleHash]

    /// An empty accumulator.
    public init() {
        size = 0
        peaks = []
        peaks.reserveCapacity(Int.bitWidth)
    }

    /// Restores an accumulator from saved ``size`` and ``peaks``; nil if the
    /// number of peaks does not match the size.
    public init?(size: Int, peaks: [MerkleHash]) {
        guard size >= 0, peaks.count == size.nonzeroBitCount else { return nil }
        self.size = size
        self.peaks = peaks
        self.peaks.reserveCapacity(Int.bitWidth)
    }

    /// Appends the leaf hash of the next leaf.
    public mutating func append(leafHash: MerkleHash) {
        var hash = leafHash
        var s = size
        while s & 1 == 1 {
            hash = MerkleTree.nodeHash(peaks.removeLast(), hash)
            s >>= 1
        }
        peaks.append(hash)
        size += 1
    }

    /// Hashes `leaf` as a leaf (0x00 prefix) and appends it.
    public mutating func append<D: DataProtocol>(leaf: D) {
        append(leafHash: MerkleTree.leafHash(leaf))
    }

    /// The Merkle tree hash of the leaves appended so far (``MerkleTree/emptyRoot`` when none).
    public var root: MerkleHash {
        guard var result = peaks.last else { return MerkleTree.emptyRoot }
        var i = peaks.count - 2
        while i >= 0 {
            result = MerkleTree.nodeHash(peaks[i], result)
            i -= 1
        }
        return result
    }
}
