/// A growable byte buffer with unchecked appends, for building lines fast.
/// Call `reserve(_:)` with an upper bound before a run of appends.
final class ByteWriter {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    /// Bytes written so far.
    var count = 0

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: base, count: count)
        base.deallocate()
        base = p
        capacity = newCapacity
    }

    @inline(__always)
    func put(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func put(_ p: UnsafePointer<UInt8>, _ n: Int) {
        (base + count).update(from: p, count: n)
        count += n
    }

    @inline(__always)
    func put(_ entry: (UnsafePointer<UInt8>, Int)) { put(entry.0, entry.1) }

    @inline(__always)
    func put(_ s: StaticString) { put(s.utf8Start, s.utf8CodeUnitCount) }

    /// Decimal digits of `value`.
    @inline(__always)
    func putDecimal(_ value: UInt64) {
        var v = value
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        var i = count + digits - 1
        repeat {
            base[i] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
            v /= 10
            i -= 1
        } while v > 0
        count += digits
    }

    /// Decimal digits of `value`, left-padded with zeros to `width`.
    @inline(__always)
    func putPadded(_ value: UInt64, width: Int) {
        var digits = width
        var t = value
        for _ in 0..<width { t /= 10 }
        while t > 0 { t /= 10; digits += 1 }
        var v = value
        var i = count + digits - 1
        for _ in 0..<digits {
            base[i] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
            v /= 10
            i -= 1
        }
        count += digits
    }

    /// Two decimal digits.
    @inline(__always)
    func put2(_ v: Int) {
        base[count] = UInt8(truncatingIfNeeded: 48 + v / 10)
        base[count + 1] = UInt8(truncatingIfNeeded: 48 + v % 10)
        count += 2
    }

    /// A UUID from its two big-endian words, lowercase and hyphenated (36 bytes).
    @inline(__always)
    func putUUID(_ high: UInt64, _ low: UInt64) {
        let p = UnsafeMutableRawPointer(base + count)
        let h1 = hex8(UInt32(truncatingIfNeeded: high >> 32))
        let h2 = hex8(UInt32(truncatingIfNeeded: high))
        let l1 = hex8(UInt32(truncatingIfNeeded: low >> 32))
        let l2 = hex8(UInt32(truncatingIfNeeded: low))
        let dash = UInt8(ascii: "-")
        p.storeBytes(of: h1, as: UInt64.self)
        p.storeBytes(of: dash, toByteOffset: 8, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: h2), toByteOffset: 9, as: UInt32.self)
        p.storeBytes(of: dash, toByteOffset: 13, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: h2 >> 32), toByteOffset: 14, as: UInt32.self)
        p.storeBytes(of: dash, toByteOffset: 18, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: l1), toByteOffset: 19, as: UInt32.self)
        p.storeBytes(of: dash, toByteOffset: 23, as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: l1 >> 32), toByteOffset: 24, as: UInt32.self)
        p.storeBytes(of: l2, toByteOffset: 28, as: UInt64.self)
        count += 36
    }

    /// The bytes written, as an array.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

/// The eight lowercase hex digits of `v`, most significant first, packed so
/// that storing the word little-endian writes them in order.
@inline(__always)
func hex8(_ v: UInt32) -> UInt64 {
    var x = UInt64(v)
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F
    // Byte k now holds nibble k (least significant first): reverse, then to ASCII.
    x = x.byteSwapped
    let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
    let ascii = x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    return UInt64(littleEndian: ascii)
}
