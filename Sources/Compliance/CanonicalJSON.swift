/// A JSON value that encodes to canonical bytes: exactly what Python writes
/// with `json.dumps(value, sort_keys=True, separators=(",", ":"))`.
///
/// That is: no whitespace, object keys sorted by Unicode code point, strings
/// ASCII-only (other characters as lowercase `\uXXXX` escapes, with surrogate
/// pairs above U+FFFF), integers in plain decimal. Floating-point numbers are
/// deliberately not supported, since their text form is not portable.
///
/// Note: Swift treats canonically equivalent strings (for example a
/// precomposed and a decomposed "é") as the same dictionary key, while Python
/// keeps them apart; use normalized keys.
public enum CanonicalJSON: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number, written in decimal.
    case integer(Int64)
    /// A string, written ASCII-only with escapes.
    case string(String)
    /// An array, in order.
    case array([CanonicalJSON])
    /// An object, written with keys sorted by Unicode code point.
    case object([String: CanonicalJSON])

    /// The canonical UTF-8 (in fact ASCII) bytes.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    /// The canonical text.
    public var encodedString: String {
        String(decoding: encoded, as: UTF8.self)
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, if this is an integer.
    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [String: CanonicalJSON]? {
        if case .object(let o) = self { return o }
        return nil
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i):
            out.append(contentsOf: String(i).utf8)
        case .string(let s):
            CanonicalJSON.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { a, b in
                a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
            }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                CanonicalJSON.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: out.append(contentsOf: "\\\"".utf8)
            case 0x5C: out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case 0x20...0x7E: out.append(UInt8(v))
            case 0x10000...:
                let u = v - 0x10000
                writeUnicodeEscape(0xD800 + (u >> 10), to: &out)
                writeUnicodeEscape(0xDC00 + (u & 0x3FF), to: &out)
            default:
                writeUnicodeEscape(v, to: &out)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeUnicodeEscape(_ unit: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((unit >> UInt32(shift)) & 0xF)])
        }
    }
}

/// Why bytes could not be parsed as JSON by ``CanonicalJSON/parse(_:)``.
public struct CanonicalJSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Byte offset where parsing failed.
    public let offset: Int
    /// What was wrong.
    public let reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension CanonicalJSON {
    /// Parses JSON text strictly: integers only (no fractions or exponents),
    /// no duplicate object keys, no unpaired surrogates, at most 256 levels of
    /// nesting. Whitespace between tokens is allowed, so the input need not be
    /// canonical.
    public static func parse<C: Collection>(_ bytes: C) throws(CanonicalJSONParseError) -> CanonicalJSON where C.Element == UInt8 {
        var parser = Parser(bytes: Array(bytes))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else { throw parser.error("unexpected data after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ reason: String) -> CanonicalJSONParseError {
            CanonicalJSONParseError(offset: position, reason: reason)
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ literal: String) throws(CanonicalJSONParseError) {
            for b in literal.utf8 {
                guard position < bytes.count, bytes[position] == b else { throw error("expected \(literal)") }
                position += 1
            }
        }

        mutating func parseValue(depth: Int) throws(CanonicalJSONParseError) -> CanonicalJSON {
            guard depth < 256 else { throw error("nesting deeper than 256 levels") }
            guard position < bytes.count else { throw error("unexpected end of input") }
            switch bytes[position] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try parseInteger())
            case UInt8(ascii: "["):
                position += 1
                var items: [CanonicalJSON] = []
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(items)
                }
                while true {
                    skipWhitespace()
                    items.append(try parseValue(depth: depth + 1))
                    skipWhitespace()
                    guard position < bytes.count else { throw error("unterminated array") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                    throw error("expected , or ] in array")
                }
            case UInt8(ascii: "{"):
                position += 1
                var members: [String: CanonicalJSON] = [:]
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                }
                while true {
                    skipWhitespace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let keyOffset = position
                    let key = try parseString()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    let value = try parseValue(depth: depth + 1)
                    guard members.updateValue(value, forKey: key) == nil else {
                        throw CanonicalJSONParseError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
                    }
                    skipWhitespace()
                    guard position < bytes.count else { throw error("unterminated object") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                    throw error("expected , or } in object")
                }
            default:
                throw error("unexpected character")
            }
        }

        mutating func parseInteger() throws(CanonicalJSONParseError) -> Int64 {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            let digitsStart = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            guard position > digitsStart else { throw error("expected digits") }
            if bytes[digitsStart] == UInt8(ascii: "0"), position - digitsStart > 1 {
                throw CanonicalJSONParseError(offset: digitsStart, reason: "leading zero in a number")
            }
            if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
                throw error("only integers are supported")
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            guard let value = Int64(text) else {
                throw CanonicalJSONParseError(offset: start, reason: "integer out of the 64-bit range")
            }
            return value
        }

        mutating func parseHex4() throws(CanonicalJSONParseError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[position]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("bad hex digit in \\u escape")
                }
                v = v << 4 | d
                position += 1
            }
            return v
        }

        mutating func parseString() throws(CanonicalJSONParseError) -> String {
            let start = position
            position += 1  // opening quote
            var utf8: [UInt8] = []
            while true {
                guard position < bytes.count else { throw CanonicalJSONParseError(offset: start, reason: "unterminated string") }
                let c = bytes[position]
                switch c {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let s = String(validating: utf8, as: UTF8.self) else {
                        throw CanonicalJSONParseError(offset: start, reason: "string is not valid UTF-8")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw error("unterminated escape") }
                    let e = bytes[position]
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""): utf8.append(0x22)
                    case UInt8(ascii: "\\"): utf8.append(0x5C)
                    case UInt8(ascii: "/"): utf8.append(0x2F)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalarValue = try parseHex4()
                        if (0xD800...0xDBFF).contains(scalarValue) {
                            guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                bytes[position + 1] == UInt8(ascii: "u")
                            else { throw error("unpaired surrogate in \\u escape") }
                            position += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("unpaired surrogate in \\u escape") }
                        utf8.append(contentsOf: String(Character(scalar)).utf8)
                    default:
                        throw error("unknown escape")
                    }
                case 0x00..<0x20:
                    throw error("control character in string")
                default:
                    utf8.append(c)
                    position += 1
                }
            }
        }
    }
}
