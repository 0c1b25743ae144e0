import Foundation

/// Finding a byte in a buffer with `memchr`, for the line readers (`ledger import`, `verify
/// --bundle`): a 160 MB line is crossed in milliseconds, where a byte-by-byte search took seconds.
public enum ByteSearch {
    /// The offset of the first `byte` in `buffer` at or after `from`, or nil.
    public static func first(_ byte: UInt8, in buffer: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < buffer.count, let base = buffer.baseAddress,
              let hit = memchr(base + from, Int32(byte), buffer.count - from) else { return nil }
        return UnsafeRawPointer(hit) - base
    }
}
