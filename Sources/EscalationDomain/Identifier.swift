// The NFC test uses the standard library's own normaliser (the one `String`
// comparison and hashing use), reached through its `_Unicode` SPI: the
// domain module stays free of Foundation, and "is NFC" is decided by the same
// Unicode tables that decide `String` equality. A test pins its behaviour
// (IdentifierTests), so a toolchain that changed it would fail there.
@_spi(_Unicode) import Swift

/// The identifier rule of CONTRACT.md section 4: staff, ticket and customer
/// ids, channel names and matters are 1 to 200 bytes of UTF-8, in Unicode
/// normalisation form NFC, with no control character (U+0000-U+001F,
/// U+007F-U+009F).
///
/// Two identifiers are the same only when their bytes are. Because NFC is
/// unique within a canonical-equivalence class, two different valid
/// identifiers are never canonically equivalent, so `String` equality and
/// hashing (which compare canonical equivalence) agree with byte equality for
/// every identifier the ledger accepts.
///
///     Identifier.problem(of: "a-17")            // nil
///     Identifier.problem(of: "e\u{301}")        // .notNFC
///     Identifier.problem(of: "x\u{1B}[2J")      // .controlCharacter
public enum Identifier {
    /// The longest identifier, in UTF-8 bytes.
    public static let maxLength = 200

    /// Why a value is not an identifier.
    public enum Problem: Sendable, Hashable {
        case empty
        case tooLong(bytes: Int)
        case controlCharacter
        case notNFC

        /// For messages: "must not be empty", "is 512 bytes long (at most 200)", ...
        public var explanation: String {
            switch self {
            case .empty: "must not be empty"
            case .tooLong(let n): "is \(n) bytes long; identifiers are 1 to \(Identifier.maxLength) bytes"
            case .controlCharacter: "holds a control character (U+0000-U+001F, U+007F-U+009F)"
            case .notNFC: "is not in Unicode normalization form NFC"
            }
        }
    }

    /// Why `value` is not an identifier, or nil when it is one.
    public static func problem(of value: String) -> Problem? {
        var value = value
        return value.withUTF8 { problem(ofUTF8: $0) }
    }

    /// True when every byte is printable ASCII (0x20-0x7E): such bytes are an identifier.
    @inline(__always)
    static func isPrintableASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        var flagged: UInt64 = 0
        var j = 0
        // A byte is flagged when it is below 0x20, 0x7F (0x7F + 1 sets its high bit) or 0x80 and
        // above. Borrows and carries only run upwards, and a word with a flag is refused whole,
        // so a false flag above a real one changes nothing.
        while j &+ 8 <= n {
            let w = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
            flagged |= ((w &- ones &* 0x20) | (w &+ ones) | w) & high
            j &+= 8
        }
        while j < n {
            let b = base[j]
            if b < 0x20 || b >= 0x7F { return false }
            j &+= 1
        }
        return flagged == 0
    }

    /// Why these (valid UTF-8) bytes are not an identifier, or nil when they are one.
    public static func problem(ofUTF8 bytes: UnsafeBufferPointer<UInt8>) -> Problem? {
        if bytes.isEmpty { return .empty }
        if bytes.count > maxLength { return .tooLong(bytes: bytes.count) }
        if isPrintableASCII(bytes) { return nil }  // the common case, eight bytes at a time
        var ascii = true
        var previous: UInt8 = 0
        for b in bytes {
            if b < 0x20 || b == 0x7F { return .controlCharacter }
            // U+0080-U+009F are encoded C2 80 ... C2 9F.
            if previous == 0xC2, b <= 0x9F { return .controlCharacter }
            if b >= 0x80 { ascii = false }
            previous = b
        }
        if ascii { return nil }  // ASCII is always NFC
        let string = String(decoding: bytes, as: UTF8.self)
        return string._nfcCodeUnits.elementsEqual(bytes) ? nil : .notNFC
    }
}
