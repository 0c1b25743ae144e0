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
        guard bytes.count == 36, let p = bytes.baseAddress else { return nil }
        let dash = UInt8(ascii: "-")
        guard p.load(fromByteOffset: 8, as: UInt8.self) == dash, p.load(fromByteOffset: 13, as: UInt8.self) == dash,
              p.load(fromByteOffset: 18, as: UInt8.self) == dash, p.load(fromByteOffset: 23, as: UInt8.self) == dash
        else { return nil }
        // Eight digits at a time (four where a group has four), as words.
        @inline(__always) func eight(_ at: Int) -> UInt64? { HexDigits.eight(p.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        @inline(__always) func four(_ at: Int) -> UInt64? {
            // Four digits, then four "0"s: the value of the eight, shifted down.
            let w = UInt64(p.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian) | 0x3030_3030_0000_0000
            return HexDigits.eight(UInt64(littleEndian: w)).map { $0 >> 16 }
        }
        guard let a = eight(0), let b = four(9), let c = four(14), let d = four(19), let e = four(24), let f = eight(28)
        else { return nil }
        return EventID(high: a << 32 | b << 16 | c, low: d << 48 | e << 32 | f)
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

/// Hex digits read eight at a time (event ids, and the hashes of export bundles).
public enum HexDigits {
    /// The value of eight hex digits (either case), the first the most significant, from the
    /// word they were loaded into (the first in its lowest byte); nil unless all are digits.
    @inline(__always)
    public static func eight(_ word: UInt64) -> UInt64? {
        let w = UInt64(littleEndian: word)
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        guard w & high == 0 else { return nil }
        // A byte's high bit after adding 0x80 - n: set when the byte (below 0x80) is at least n.
        @inline(__always) func atLeast(_ x: UInt64, _ n: UInt64) -> UInt64 { (x &+ (0x80 &- n) &* ones) & high }
        let lower = w | (0x20 &* ones)
        let digit = atLeast(w, 0x30) & ~atLeast(w, 0x3A)
        let letter = atLeast(lower, 0x61) & ~atLeast(lower, 0x67)
        guard digit | letter == high else { return nil }
        // 0-9 from "0"-"9"; letters have bit 6 set and 1-6 in their low bits: add 9.
        var x = (w & (0x0F &* ones)) &+ ((w >> 6) & ones) &* 9
        // Byte-swapped, the first digit is the top byte; then pairs, quads and octets join.
        x = x.byteSwapped
        x = ((x >> 4) | x) & 0x00FF_00FF_00FF_00FF
        x = ((x >> 8) | x) & 0x0000_FFFF_0000_FFFF
        x = ((x >> 16) | x) & 0x0000_0000_FFFF_FFFF
        return x
    }

    /// The bytes of even-length hex text (either case), sixteen digits at a time; nil if malformed.
    public static func decode(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = text.count
        guard n % 2 == 0 else { return nil }
        guard n > 0, let p = text.baseAddress else { return [] }
        var ok = true
        let out = [UInt8](unsafeUninitializedCapacity: n / 2) { buffer, count in
            let o = buffer.baseAddress!
            var i = 0
            while i + 16 <= n {
                guard let a = eight(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                      let b = eight(p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                else { ok = false; return }
                UnsafeMutableRawPointer(o + i / 2).storeBytes(of: (a << 32 | b).bigEndian, as: UInt64.self)
                i += 16
            }
            while i < n {
                // The rest, two digits at a time, padded with "0"s to a word.
                let pair = UInt64(p.load(fromByteOffset: i, as: UInt8.self)) | UInt64(p.load(fromByteOffset: i + 1, as: UInt8.self)) << 8
                guard let v = eight(UInt64(littleEndian: pair | 0x3030_3030_3030_0000)) else { ok = false; return }
                o[i / 2] = UInt8(truncatingIfNeeded: v >> 24)
                i += 2
            }
            count = n / 2
        }
        return ok ? out : nil
    }
}
