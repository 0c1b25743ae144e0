/// An event's id: a 128-bit UUID, written in canonical lowercase hyphenated
/// form (`8-4-4-4-12` hex digits). Any version is accepted.
///
///     let id = EventID("0B7C3E2A-1D4F-4A5B-9C6D-7E8F9A0B1C2D")!
///     id.description   // "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d"
///     id.bytes.count   // 16
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    // The 16 bytes, big-endian, as two words.
    @usableFromInline let high: UInt64
    @usableFromInline let low: UInt64

    /// Creates an id from its 16 raw bytes (network order); nil unless exactly 16.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }

    /// Creates an id from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the hyphenated form (either case), or returns nil.
    public init?(_ string: String) {
        var string = string
        guard let id = string.withUTF8({ EventID.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = id
    }

    /// Parses the hyphenated form (either case) from UTF-8 bytes, or returns nil.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> EventID? {
        guard bytes.count == 36, let base = bytes.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)
        guard p[8] == UInt8(ascii: "-"), p[13] == UInt8(ascii: "-"), p[18] == UInt8(ascii: "-"),
              p[23] == UInt8(ascii: "-")
        else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        var bad: UInt8 = 0
        @inline(__always) func nibble(_ c: UInt8) -> UInt64 {
            let d = c &- 48
            let a = (c | 0x20) &- 97
            if d < 10 { return UInt64(d) }
            if a < 6 { return UInt64(a &+ 10) }
            bad = 1
            return 0
        }
        for j in 0..<8 { h = h &<< 4 | nibble(p[j]) }
        for j in 9..<13 { h = h &<< 4 | nibble(p[j]) }
        for j in 14..<18 { h = h &<< 4 | nibble(p[j]) }
        for j in 19..<23 { l = l &<< 4 | nibble(p[j]) }
        for j in 24..<36 { l = l &<< 4 | nibble(p[j]) }
        return bad == 0 ? EventID(high: h, low: l) : nil
    }

    /// A random (version 4) id.
    public static func random() -> EventID {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }

    /// A random (version 4) id drawn from `generator` (seeded generators give reproducible ids).
    public static func random(using generator: inout some RandomNumberGenerator) -> EventID {
        let h = generator.next() as UInt64
        let l = generator.next() as UInt64
        return EventID(high: (h & ~0xF000) | 0x4000, low: (l & ~(0xC << 60)) | (0x8 << 60))
    }

    /// The 16 raw bytes, big-endian.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        append(to: &out)
        return out
    }

    /// Appends the 16 raw bytes to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
    }

    /// The canonical lowercase hyphenated form.
    public var description: String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the canonical form's UTF-8 bytes to `buffer`.
    public func write(into buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { write(to: &$0) }
    }

    /// Stores the canonical form (36 bytes).
    @inline(__always)
    func write(to sink: inout ByteSink) {
        sink.reserve(36)
        @inline(__always) func hex(_ word: UInt64, _ from: Int, _ to: Int, _ sink: inout ByteSink) {
            var shift = 60 - from * 4
            for _ in from..<to {
                sink.put(hexDigit(UInt8(truncatingIfNeeded: word &>> UInt64(shift)) & 0xF))
                shift -= 4
            }
        }
        hex(high, 0, 8, &sink); sink.put(UInt8(ascii: "-"))
        hex(high, 8, 12, &sink); sink.put(UInt8(ascii: "-"))
        hex(high, 12, 16, &sink); sink.put(UInt8(ascii: "-"))
        hex(low, 0, 4, &sink); sink.put(UInt8(ascii: "-"))
        hex(low, 4, 16, &sink)
    }

    public static func < (a: EventID, b: EventID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
    default: return nil
    }
}
