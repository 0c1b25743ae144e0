/// A non-negative decimal kept exactly, with at most four fraction digits and
/// less than one billion (used for `hourlyCost`).
///
/// Stored as an integer count of ten-thousandths. Written without exponent and
/// without trailing zeros: `42.5`, `100`, `0.0001`.
///
///     let cost = ExactDecimal("42.50")!
///     cost.description   // "42.5"
///     cost.units         // 425_000
public struct ExactDecimal: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Units per one: values are kept as multiples of 1/10 000.
    public static let scale: Int64 = 10_000
    /// The exclusive upper bound, in units (one billion).
    public static let limitUnits: Int64 = 1_000_000_000 * scale

    /// The value times 10 000.
    public let units: Int64

    /// Wraps a count of ten-thousandths; nil when negative or not below one billion.
    public init?(units: Int64) {
        guard units >= 0, units < Self.limitUnits else { return nil }
        self.units = units
    }

    /// A whole number; nil when negative or not below one billion.
    public init?(_ integer: Int) {
        guard integer >= 0, Int64(integer) < Self.limitUnits / Self.scale else { return nil }
        units = Int64(integer) * Self.scale
    }

    /// Parses a JSON number (`42.5`, `100`, `4.25e1`); nil when it is negative,
    /// has more than four significant fraction digits, or is not below one billion.
    public init?(_ string: String) {
        var string = string
        guard let v = string.withUTF8({ ExactDecimal.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    /// Why a number could not be read as an `ExactDecimal`.
    enum ParseError: Error { case syntax, negative, tooPrecise, outOfRange }

    /// Parses JSON number syntax from bytes, or returns nil.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ExactDecimal? {
        try? parseDetailed(bytes).get()
    }

    static func parseDetailed(_ b: UnsafeRawBufferPointer) -> Result<ExactDecimal, ParseError> {
        let n = b.count
        var i = 0
        guard n > 0 else { return .failure(.syntax) }
        if b[0] == UInt8(ascii: "-") { return .failure(isJSONNumber(b) ? .negative : .syntax) }
        guard isJSONNumber(b) else { return .failure(.syntax) }
        // Significant digits, ignoring the point; `shift` = power of ten to apply.
        var mantissa: Int64 = 0
        var shift = 0
        var overflow = false
        @inline(__always) func push(_ d: UInt8) {
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(Int64(d))
            if o1 || o2 { overflow = true } else { mantissa = m2 }
        }
        while i < n, b[i] >= 48, b[i] <= 57 { push(b[i] - 48); i += 1 }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, b[i] >= 48, b[i] <= 57 { i += 1 }
            var last = i
            while last > start, b[last - 1] == UInt8(ascii: "0") { last -= 1 }  // trailing zeros change nothing
            for j in start..<last { push(b[j] - 48); shift -= 1 }
        }
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var negative = false
            if b[i] == UInt8(ascii: "+") { i += 1 } else if b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            var e = 0
            while i < n, b[i] >= 48, b[i] <= 57 {
                if e < 1000 { e = e * 10 + Int(b[i] - 48) }
                i += 1
            }
            shift += negative ? -e : e
        }
        if overflow { return .failure(.outOfRange) }
        if mantissa == 0 { return .success(ExactDecimal(units: 0)!) }
        var exponent = shift + 4  // to units
        while exponent < 0 {
            guard mantissa % 10 == 0 else { return .failure(.tooPrecise) }
            mantissa /= 10
            exponent += 1
        }
        while exponent > 0 {
            guard mantissa < Self.limitUnits else { return .failure(.outOfRange) }
            mantissa *= 10
            exponent -= 1
        }
        guard let v = ExactDecimal(units: mantissa) else { return .failure(.outOfRange) }
        return .success(v)
    }

    /// True when the value has no fraction.
    public var isInteger: Bool { units % Self.scale == 0 }

    /// The nearest `Double`.
    public var doubleValue: Double { Double(units) / Double(Self.scale) }

    /// The canonical form: no exponent, no trailing zeros.
    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the canonical form's UTF-8 bytes to `buffer`.
    public func write(into buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { write(to: &$0) }
    }

    /// Stores the canonical form.
    func write(to sink: inout ByteSink) {
        sink.putDecimal(UInt64(units / Self.scale))
        var frac = Int(units % Self.scale)
        guard frac != 0 else { return }
        sink.reserve(5)
        sink.put(UInt8(ascii: "."))
        var width = 4
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            sink.put(UInt8(truncatingIfNeeded: 48 + frac / divisor % 10))
            divisor /= 10
        }
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool { a.units < b.units }
}

/// True when `b` is exactly JSON number syntax.
func isJSONNumber(_ b: UnsafeRawBufferPointer) -> Bool {
    let n = b.count
    var i = 0
    @inline(__always) func isDigit(_ j: Int) -> Bool { j < n && b[j] >= 48 && b[j] <= 57 }
    if i < n, b[i] == UInt8(ascii: "-") { i += 1 }
    guard isDigit(i) else { return false }
    if b[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
    if i < n, b[i] == UInt8(ascii: ".") {
        i += 1
        guard isDigit(i) else { return false }
        while isDigit(i) { i += 1 }
    }
    if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
        i += 1
        if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return false }
        while isDigit(i) { i += 1 }
    }
    return i == n
}
