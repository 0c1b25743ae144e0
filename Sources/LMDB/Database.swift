import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A named database inside an ``Environment``: a handle, valid for the
/// environment's lifetime, that transactions read and write through.
public struct Database: Sendable, Hashable {
    let dbi: MDB_dbi
    /// The name it was opened with.
    public let name: String

    /// How keys are compared.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Keys are native-endian unsigned integers (we use big-endian byte keys instead, so this is rarely needed).
        public static let integerKeys = Flags(rawValue: UInt32(MDB_INTEGERKEY))
    }
}

/// Flags of a single put.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The key sorts after every key in the database: LMDB appends without a search.
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    /// Fail with `isKeyExists` if the key is present.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
}

/// LMDB's default key order (bytes compared as unsigned, a prefix first), for writing a batch
/// of keys in the order the B-tree holds them.
public enum KeyOrder {
    /// `items` sorted by `key(item)`'s UTF-8 in LMDB's order. (Inlinable, so that it is
    /// specialised where it is used: unspecialised, sorting a commit's 26,000 keys took 18% of
    /// the writer's instructions.)
    @inlinable
    public static func sorted<T>(_ items: some Sequence<T>, by key: (T) -> String) -> [(key: [UInt8], item: T)] {
        var keyed = items.map { (key: Array(key($0).utf8), item: $0) }
        keyed.sort { less($0.key, $1.key) }
        return keyed
    }

    @inlinable
    public static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }
}

/// Big-endian fixed-width keys, which sort as integers under LMDB's default byte comparison.
public enum BigEndianKey {
    /// The 8 big-endian bytes of `value`.
    @inline(__always)
    public static func bytes(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Reads a big-endian UInt64 at `offset` of `buffer` (which must hold 8 bytes there).
    @inline(__always)
    public static func uint64(_ buffer: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        precondition(buffer.count >= offset + 8, "buffer too short for a UInt64 at \(offset)")
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 8])) }
        return UInt64(bigEndian: v)
    }

    /// Calls `body` with the 8 big-endian bytes of `value`, without allocating.
    @inline(__always)
    public static func with<R>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: value.bigEndian, body)
    }
}
