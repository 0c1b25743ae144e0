/// JSON string literals written exactly as Python's `json.dumps(..., ensure_ascii=False)`
/// writes them (the escaping the canonical form uses): the one escaper the ledger's
/// encoder, its machine output and its export lines share.
public enum JSONString {
    /// Appends `value` as a JSON string literal to `buffer`.
    public static func append(_ value: String, to buffer: inout [UInt8]) {
        // Most strings (keys, ids, times, hashes) need no escape: copy them as they are.
        var value = value
        let plain = value.withUTF8 { s -> Bool in
            guard isPlain(s) else { return false }
            buffer.append(UInt8(ascii: "\""))
            buffer.append(contentsOf: s)
            buffer.append(UInt8(ascii: "\""))
            return true
        }
        if !plain { ByteSink.write(appendingTo: &buffer) { $0.putJSONString(value) } }
    }

    /// Whether no byte of `bytes` is escaped in a JSON string (below 0x20, `"` or `\`), checked
    /// eight bytes at a time.
    static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let quotes = ones &* 0x22, backslashes = ones &* 0x5C
        var flagged: UInt64 = 0
        var j = 0
        // A byte below 0x20 borrows from `b - 0x20` (`& ~w` leaves out bytes of 0x80 and above,
        // which are UTF-8 and plain); a byte equal to `"` or `\` is a zero byte of `w ^ c`, which
        // borrows from `t - 1`. A borrow runs only upwards and starts only at a byte that is
        // really flagged, so a word is flagged exactly when one of its bytes is.
        while j &+ 8 <= n {
            let w = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            let q = w ^ quotes, b = w ^ backslashes
            flagged |= ((w &- ones &* 0x20) & ~w) | ((q &- ones) & ~q) | ((b &- ones) & ~b)
            j &+= 8
        }
        guard flagged & high == 0 else { return false }
        while j < n {
            let b = base[j]
            if b < 0x20 || b == 0x22 || b == 0x5C { return false }
            j &+= 1
        }
        return true
    }
}

/// Decimal digits of integers appended to byte buffers, without the `String` that
/// `String(value).utf8` would make per number (export lines, machine output).
public enum DecimalText {
    /// Appends the decimal digits of `value` to `buffer`.
    public static func append(_ value: UInt64, to buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { $0.putDecimal(value) }
    }

    /// Appends `value` in decimal, with a leading `-` when negative.
    public static func append(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        append(value.magnitude, to: &buffer)
    }
}

/// Byte searches eight bytes at a time, for the text written most often.
public enum ByteScan {
    /// Whether any byte of `bytes` is one of `a`, `b`, `c` or `d`.
    public static func containsAny(_ bytes: UnsafeBufferPointer<UInt8>, _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let n = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let wa = ones &* UInt64(a), wb = ones &* UInt64(b), wc = ones &* UInt64(c), wd = ones &* UInt64(d)
        var flagged: UInt64 = 0
        var j = 0
        // A byte equal to the value is a zero byte of `w ^ value`, which borrows from `t - 1`; a
        // borrow starts only at such a byte and runs upwards, so a word is flagged exactly when
        // one of its bytes is one of the values.
        while j &+ 8 <= n {
            let w = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            let ta = w ^ wa, tb = w ^ wb, tc = w ^ wc, td = w ^ wd
            flagged |= ((ta &- ones) & ~ta) | ((tb &- ones) & ~tb) | ((tc &- ones) & ~tc) | ((td &- ones) & ~td)
            j &+= 8
        }
        if flagged & high != 0 { return true }
        while j < n {
            let x = base[j]
            if x == a || x == b || x == c || x == d { return true }
            j &+= 1
        }
        return false
    }
}
