/// How text from events is shown to people (tables, summaries, refusal and
/// error messages): control characters escaped, so that no value can move the
/// cursor, clear the screen or forge a line; long values cut.
///
/// Control characters are U+0000-U+001F and U+007F-U+009F (CONTRACT.md
/// section 4). They are written in Swift string-literal style: `\n`, `\r`,
/// `\t`, and `\u{1B}` (uppercase hex, at least two digits) for the others.
/// The backslash itself is not escaped, so ids such as `CORP\jdoe` read as
/// written; JSON output (which escapes everything exactly) is the record to
/// use when the difference between `\n` typed and a newline matters.
///
///     Display.escaped("a\u{1B}[2Jb\n")   // "a\u{1B}[2Jb\n" as 14 visible characters
///     Display.quoted(String(repeating: "x", count: 10_000))   // "'xxxx…x…'" (40 x's)
public enum Display {
    /// True for U+0000-U+001F and U+007F-U+009F.
    @inline(__always)
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
    }

    /// True when `text` holds a control character.
    public static func hasControl(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.contains(where: isControl)
    }

    /// `text` with every control character escaped (see the type's documentation).
    public static func escaped(_ text: some StringProtocol) -> String {
        guard hasControl(text) else { return String(text) }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { append(scalar, to: &out) }
        return String(out)
    }

    /// A value quoted for a message: `'…'`, at most `limit` Unicode scalars of
    /// it, control characters escaped, and `…` after the quote when it was cut.
    /// A value of any length (a 10 MB id) gives a short message.
    public static func quoted(_ text: some StringProtocol, limit: Int = 40) -> String {
        var out = String.UnicodeScalarView()
        out.append("'")
        var count = 0
        var cut = false
        for scalar in text.unicodeScalars {
            if count == limit { cut = true; break }
            append(scalar, to: &out)
            count += 1
        }
        out.append("'")
        if cut { out.append("…") }
        return String(out)
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String.UnicodeScalarView) {
        guard isControl(scalar) else { out.append(scalar); return }
        switch scalar {
        case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
        case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
        case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out.append(contentsOf: (#"\u{"# + (hex.count < 2 ? "0" : "") + hex + "}").unicodeScalars)
        }
    }
}
