/// JSON string literals written exactly as Python's `json.dumps(..., ensure_ascii=False)`
/// writes them (the escaping the canonical form uses): the one escaper the ledger's
/// encoder, its machine output and its export lines share.
public enum JSONString {
    /// Appends `value` as a JSON string literal to `buffer`.
    public static func append(_ value: String, to buffer: inout [UInt8]) {
        // Most strings (keys, ids, times, hashes) need no escape: copy them as they are.
        var value = value
        let plain = value.withUTF8 { s -> Bool in
            guard !s.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
            buffer.append(UInt8(ascii: "\""))
            buffer.append(contentsOf: s)
            buffer.append(UInt8(ascii: "\""))
            return true
        }
        if !plain { ByteSink.write(appendingTo: &buffer) { $0.putJSONString(value) } }
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
