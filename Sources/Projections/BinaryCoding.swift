/// A small, fixed binary encoding for projection records kept in LMDB
/// (little-endian varints, length-prefixed strings). Internal: projections
/// are rebuilt from the log, so their encoding may change with the code
/// (``ProjectionStore/schemaVersion`` forces a rebuild when it does).
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    mutating func uint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func int(_ v: Int64) { uint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    mutating func int(_ v: Int) { int(Int64(v)) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in uint(UInt64(u.count)); bytes.append(contentsOf: u) }
    }
    mutating func optionalString(_ s: String?) {
        bool(s != nil); if let s { string(s) }
    }
    mutating func optionalInt(_ v: Int64?) {
        bool(v != nil); if let v { int(v) }
    }
    mutating func double(_ v: Double) { uint(v.bitPattern) }
}

struct BinaryReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    struct Truncated: Error {}

    mutating func uint() throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw Truncated() }
            let b = bytes[offset]; offset += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }
    mutating func int() throws -> Int64 { let u = try uint(); return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))) }
    mutating func intValue() throws -> Int { Int(try int()) }
    mutating func bool() throws -> Bool {
        guard offset < bytes.count else { throw Truncated() }
        defer { offset += 1 }
        return bytes[offset] != 0
    }
    mutating func string() throws -> String {
        let n = Int(try uint())
        guard offset + n <= bytes.count else { throw Truncated() }
        defer { offset += n }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]), as: UTF8.self)
    }
    mutating func optionalString() throws -> String? { try bool() ? try string() : nil }
    mutating func optionalInt() throws -> Int64? { try bool() ? try int() : nil }
    mutating func double() throws -> Double { Double(bitPattern: try uint()) }
}
