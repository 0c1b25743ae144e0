import LMDB

/// An event's id: 16 bytes (a UUID), the permanent idempotency key.
public struct RecordID: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    /// From 16 bytes, most significant first.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 16, "an event id is 16 bytes")
        high = BigEndianKey.uint64(bytes, at: 0)
        low = BigEndianKey.uint64(bytes, at: 8)
    }

    /// Calls `body` with the 16 bytes.
    @inline(__always)
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { try body($0) }
    }

    /// Lowercase hyphenated UUID text.
    public var uuidString: String {
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(36)
        withBytes { b in
            for (i, byte) in b.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The stored form of one event (the value under its seq in `events`; see docs/FORMAT.md):
///
/// ```
/// offset  size  field
/// 0       1     format (1)
/// 1       8     seq, u64 big-endian
/// 9       8     recordedAt, i64 big-endian, microseconds since 1970-01-01T00:00:00Z
/// 17      8     version in its stream, u64 big-endian
/// 25      16    event id (UUID bytes)
/// 41      2     stream name length L, u16 big-endian
/// 43      L     stream name, UTF-8
/// 43+L    rest  payload: the event's canonical JSON, UTF-8
/// ```
public enum RecordLayout {
    public static let format: UInt8 = 1
    public static let headerSize = 43
    public static let maxStreamLength = 400

    /// Size of a record with this stream and payload.
    @inline(__always)
    public static func size(streamCount: Int, payloadCount: Int) -> Int { headerSize + streamCount + payloadCount }

    /// Writes a record into `out` (exactly `size(...)` bytes).
    @inline(__always)
    static func write(into out: UnsafeMutableRawBufferPointer, seq: UInt64, recordedAt: Int64, version: UInt64,
                      id: RecordID, stream: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) {
        out[0] = format
        out.storeBytes(of: seq.bigEndian, toByteOffset: 1, as: UInt64.self)
        out.storeBytes(of: UInt64(bitPattern: recordedAt).bigEndian, toByteOffset: 9, as: UInt64.self)
        out.storeBytes(of: version.bigEndian, toByteOffset: 17, as: UInt64.self)
        out.storeBytes(of: id.high.bigEndian, toByteOffset: 25, as: UInt64.self)
        out.storeBytes(of: id.low.bigEndian, toByteOffset: 33, as: UInt64.self)
        out.storeBytes(of: UInt16(stream.count).bigEndian, toByteOffset: 41, as: UInt16.self)
        UnsafeMutableRawBufferPointer(rebasing: out[43..<43 + stream.count]).copyMemory(from: stream)
        UnsafeMutableRawBufferPointer(rebasing: out[(43 + stream.count)...]).copyMemory(from: payload)
    }
}

/// A zero-copy view of a stored record, valid while its transaction lives.
public struct RecordView {
    /// The whole record: what the chain hash and the Merkle leaf commit to.
    public let bytes: UnsafeRawBufferPointer

    /// Validates the layout (not the hash).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= RecordLayout.headerSize, bytes[0] == RecordLayout.format else { return nil }
        let l = Int(bytes[41]) << 8 | Int(bytes[42])
        guard bytes.count >= RecordLayout.headerSize + l else { return nil }
        self.bytes = bytes
    }

    public var seq: UInt64 { BigEndianKey.uint64(bytes, at: 1) }
    public var recordedAt: Int64 { Int64(bitPattern: BigEndianKey.uint64(bytes, at: 9)) }
    public var version: UInt64 { BigEndianKey.uint64(bytes, at: 17) }
    public var id: RecordID { RecordID(bytes: UnsafeRawBufferPointer(rebasing: bytes[25..<41])) }
    private var streamLength: Int { Int(bytes[41]) << 8 | Int(bytes[42]) }
    public var streamBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[43..<43 + streamLength]) }
    public var stream: String { String(decoding: streamBytes, as: UTF8.self) }
    /// The event's canonical JSON.
    public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[(43 + streamLength)...]) }

    /// An owned copy.
    public func copy(hash: [UInt8]) -> RecordedEvent {
        RecordedEvent(seq: seq, version: version, recordedAt: recordedAt, id: id, stream: stream,
                      payload: Array(payload), hash: hash)
    }
}

/// An event as the log recorded it (an owned copy).
public struct RecordedEvent: Sendable, Equatable {
    /// Global position, from 1, without gaps.
    public var seq: UInt64
    /// Position in its stream, from 1.
    public var version: UInt64
    /// The ledger's clock when it was appended (microseconds since the epoch); never decreases with seq.
    public var recordedAt: Int64
    public var id: RecordID
    public var stream: String
    /// The event's canonical JSON bytes, as stored.
    public var payload: [UInt8]
    /// The chain hash after this event.
    public var hash: [UInt8]
}

extension RecordLayout {
    /// The record bytes for these fields (what a verifier rebuilds from an exported line).
    public static func encode(seq: UInt64, recordedAt: Int64, version: UInt64, id: RecordID,
                              stream: [UInt8], payload: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size(streamCount: stream.count, payloadCount: payload.count))
        out.withUnsafeMutableBytes { o in
            stream.withUnsafeBytes { s in
                payload.withUnsafeBytes { p in write(into: o, seq: seq, recordedAt: recordedAt, version: version, id: id, stream: s, payload: p) }
            }
        }
        return out
    }
}
