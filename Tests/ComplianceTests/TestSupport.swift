import Compliance
import Crypto
import Foundation

/// Bytes of a hex string; traps on malformed input (test data only).
func hexBytes(_ text: String) -> [UInt8] {
    precondition(text.count % 2 == 0, "odd-length hex")
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// A hash from 64 hex characters; traps on malformed input (test data only).
func hash(_ hex: String) -> MerkleHash {
    MerkleHash(hex: hex)!
}

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A copy of `hash` with bit `bit` (0 to 255) flipped.
func flipped(_ hash: MerkleHash, bit: Int) -> MerkleHash {
    var bytes = hash.bytes
    bytes[bit / 8] ^= UInt8(1 << (bit % 8))
    return MerkleHash(bytes: bytes)!
}

/// Reference implementation written straight from the RFC 9162 2.1.1 to 2.1.4
/// recursive definitions over an array, independent of the library's
/// iterative code.
enum ReferenceTree {
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    static func node(_ l: MerkleHash, _ r: MerkleHash) -> MerkleHash {
        MerkleHash(SHA256.hash(data: [0x01] + l.bytes + r.bytes))
    }

    static func mth(_ d: ArraySlice<MerkleHash>) -> MerkleHash {
        switch d.count {
        case 0: return MerkleHash(SHA256.hash(data: [UInt8]()))
        case 1: return d.first!
        default:
            let k = split(d.count)
            let s = d.startIndex
            return node(mth(d[s..<s + k]), mth(d[(s + k)...]))
        }
    }

    static func path(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] {
        if d.count <= 1 { return [] }
        let k = split(d.count)
        let s = d.startIndex
        if m < k { return path(m, d[s..<s + k]) + [mth(d[(s + k)...])] }
        return path(m - k, d[(s + k)...]) + [mth(d[s..<s + k])]
    }

    static func subproof(_ m: Int, _ d: ArraySlice<MerkleHash>, _ b: Bool) -> [MerkleHash] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = split(d.count)
        let s = d.startIndex
        if m <= k { return subproof(m, d[s..<s + k], b) + [mth(d[(s + k)...])] }
        return subproof(m - k, d[(s + k)...], false) + [mth(d[s..<s + k])]
    }

    static func proof(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] {
        subproof(m, d, true)
    }
}

/// A fresh private temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/compliance-tests-XXXXXX").utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard result != nil else { throw CocoaError(.fileWriteUnknown) }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
