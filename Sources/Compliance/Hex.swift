import EscalationDomain

/// Lowercase hexadecimal encoding and decoding, shared by the Compliance types, the ledger and its tool.
public enum Hex {
    /// Lowercase hex of `bytes` (two characters per byte, no separators).
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) { return fast }
        return encode(Array(bytes))
    }

    /// Lowercase hex of raw bytes, written straight into the string's storage (hashes are shown
    /// once per event by the audit trail, exports and proofs, so this is on their hot paths).
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            appendHex(bytes, to: out.baseAddress!)
            return bytes.count * 2
        }
    }

    /// Appends the lowercase hex of `bytes` to `out`.
    public static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bytes.count * 2))
        out.withUnsafeMutableBufferPointer { appendHex(bytes, to: $0.baseAddress! + start) }
    }

    @inline(__always)
    private static func appendHex(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        let d = digits.utf8Start
        var i = 0
        for b in bytes {
            out[i] = d[Int(b >> 4)]
            out[i + 1] = d[Int(b & 0x0f)]
            i += 2
        }
    }

    /// Bytes of an even-length hex string (either case); nil if malformed.
    public static func decode(_ string: String) -> [UInt8]? { decode(Array(string.utf8)) }

    /// Bytes of even-length hex text given as its UTF-8 bytes (either case); nil if malformed.
    public static func decode<C: RandomAccessCollection>(_ utf8: C) -> [UInt8]? where C.Element == UInt8 {
        // Contiguous text (nearly always): sixteen digits at a time.
        if let fast = utf8.withContiguousStorageIfAvailable({ HexDigits.decode(UnsafeRawBufferPointer($0)) }) { return fast }
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let j = utf8.index(after: i)
            guard let hi = value(utf8[i]), let lo = value(utf8[j]) else { return nil }
            out.append(hi << 4 | lo)
            i = utf8.index(after: j)
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
