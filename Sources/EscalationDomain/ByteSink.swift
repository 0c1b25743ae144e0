/// An append-only byte buffer over raw memory, for the encoder's hot path:
/// writers reserve room once per field, then store bytes without checks.
/// Starts on a stack buffer and moves to the heap only for large events.
struct ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    private var owned = false

    private init(storage: UnsafeMutableBufferPointer<UInt8>) {
        base = storage.baseAddress!
        capacity = storage.count
    }

    /// Runs `body` on a fresh sink and appends what it wrote to `buffer`.
    @inline(__always)
    static func write(appendingTo buffer: inout [UInt8], _ body: (inout ByteSink) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { stack in
            var sink = ByteSink(storage: stack)
            body(&sink)
            buffer.append(contentsOf: UnsafeBufferPointer(start: sink.base, count: sink.count))
            if sink.owned { sink.base.deallocate() }
        }
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if _slowPath(count &+ extra > capacity) { grow(extra) }
    }

    @inline(never)
    private mutating func grow(_ extra: Int) {
        let newCapacity = Swift.max(capacity * 2, count + extra)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        if owned { base.deallocate() }
        base = newBase
        capacity = newCapacity
        owned = true
    }

    /// Stores one byte (room must have been reserved).
    @inline(__always)
    mutating func put(_ b: UInt8) {
        base[count] = b
        count &+= 1
    }

    /// Stores `n` bytes (room must have been reserved).
    @inline(__always)
    mutating func put(_ p: UnsafePointer<UInt8>, _ n: Int) {
        (base + count).update(from: p, count: n)
        count &+= n
    }

    /// Stores a literal's bytes (room must have been reserved).
    @inline(__always)
    mutating func put(_ s: StaticString) {
        put(s.utf8Start, s.utf8CodeUnitCount)
    }

    /// Stores two decimal digits of `v` (0...99).
    @inline(__always)
    mutating func put2(_ v: Int) {
        base[count] = UInt8(truncatingIfNeeded: 48 &+ v / 10)
        base[count &+ 1] = UInt8(truncatingIfNeeded: 48 &+ v % 10)
        count &+= 2
    }

    /// Reserves room for and stores the decimal digits of `value`.
    @inline(__always)
    mutating func putDecimal(_ value: UInt64) {
        reserve(20)
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor &*= 10 }
        while divisor > 0 {
            put(UInt8(truncatingIfNeeded: 48 &+ value / divisor % 10))
            divisor /= 10
        }
    }

    /// Reserves room for and stores `value` as a JSON string escaped exactly as
    /// Python's `json.dumps(..., ensure_ascii=False)` does.
    mutating func putJSONString(_ value: String) {
        var value = value
        value.withUTF8 { s in
            reserve(2 &+ 6 &* s.count)
            put(UInt8(ascii: "\""))
            guard let p = s.baseAddress else { put(UInt8(ascii: "\"")); return }
            let n = s.count
            var run = 0
            var j = 0
            while j < n {
                let c = p[j]
                if _fastPath(c >= 0x20 && c != 0x22 && c != 0x5C) { j &+= 1; continue }
                put(p + run, j &- run)
                put(UInt8(ascii: "\\"))
                switch c {
                case 0x22: put(0x22)
                case 0x5C: put(0x5C)
                case 0x0A: put(UInt8(ascii: "n"))
                case 0x0D: put(UInt8(ascii: "r"))
                case 0x09: put(UInt8(ascii: "t"))
                case 0x08: put(UInt8(ascii: "b"))
                case 0x0C: put(UInt8(ascii: "f"))
                default:
                    put("u00")
                    put(hexDigit(c >> 4))
                    put(hexDigit(c & 0xF))
                }
                j &+= 1
                run = j
            }
            put(p + run, n &- run)
            put(UInt8(ascii: "\""))
        }
    }
}

/// The lowercase hex digit of a nibble.
@inline(__always)
func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? 48 &+ nibble : 87 &+ nibble
}
