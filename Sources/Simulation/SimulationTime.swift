import EscalationDomain
/// A UTC instant for the simulation: microseconds since 1970-01-01T00:00:00Z.
///
///     let t = SimulationTime(rfc3339: "2026-03-02T08:00:00Z")!
///     t.description   // "2026-03-02T08:00:00Z"
public struct SimulationTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since the Unix epoch.
    public var microseconds: Int64

    /// The default start of a run: Monday 2026-03-02 08:00:00 UTC.
    public static let defaultStart = SimulationTime(unixSeconds: 1_772_438_400)

    /// The instant `microseconds` after the Unix epoch.
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The instant `unixSeconds` after the Unix epoch.
    public init(unixSeconds: Int64) { microseconds = unixSeconds * 1_000_000 }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (UTC only), or returns nil.
    public init?(rfc3339 string: String) {
        let b = Array(string.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z") || b.last == UInt8(ascii: "z") else { return nil }
        func num(_ from: Int, _ n: Int) -> Int? {
            var v = 0
            for i in from..<(from + n) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), b[4] == UInt8(ascii: "-"), let mo = num(5, 2), b[7] == UInt8(ascii: "-"),
              let d = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let h = num(11, 2), b[13] == UInt8(ascii: ":"), let mi = num(14, 2), b[16] == UInt8(ascii: ":"),
              let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60
        else { return nil }
        var micros = 0
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count - 1 {
                guard b[i] >= 48, b[i] <= 57, digits < 6 else { return nil }
                micros = micros * 10 + Int(b[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<6 { micros *= 10 }
        }
        guard i == b.count - 1 else { return nil }
        let days = Int64(Timestamp.daysFromCivil(y, mo, d))
        microseconds = (days * 86_400 + Int64(h * 3600 + mi * 60 + s)) * 1_000_000 + Int64(micros)
    }

    /// RFC 3339 in UTC, with a fraction only when there is one (trailing zeros trimmed).
    public var description: String {
        let w = ByteWriter(capacity: 40)
        var cache = DayCache()
        cache.put(microseconds, into: w)
        return String(decoding: UnsafeBufferPointer(start: w.base, count: w.count), as: UTF8.self)
    }

    /// Earlier first.
    public static func < (a: SimulationTime, b: SimulationTime) -> Bool { a.microseconds < b.microseconds }
}

/// Writes RFC 3339 times, remembering the last day's date digits.
struct DayCache {
    private var day = Int64.min
    private var date: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// Appends `YYYY-MM-DDTHH:MM:SS[.f]Z` for `micros` (at most 27 bytes).
    @inline(__always)
    mutating func put(_ micros: Int64, into w: ByteWriter) {
        var days = micros / 86_400_000_000
        var rest = micros % 86_400_000_000
        if rest < 0 { rest += 86_400_000_000; days -= 1 }
        if days != day {
            day = days
            let (y, m, d) = Timestamp.civilFromDays(Int(days))
            let year = max(0, min(9999, y))
            func digit(_ v: Int) -> UInt8 { UInt8(48 + v % 10) }
            date = (digit(year / 1000), digit(year / 100), digit(year / 10), digit(year), UInt8(ascii: "-"),
                    digit(m / 10), digit(m), UInt8(ascii: "-"), digit(d / 10), digit(d))
        }
        withUnsafeBytes(of: &date) { raw in
            w.put(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 10)
        }
        let second = Int(rest / 1_000_000)
        let fraction = Int(rest % 1_000_000)
        w.put(UInt8(ascii: "T"))
        w.put2(second / 3600)
        w.put(UInt8(ascii: ":"))
        w.put2(second / 60 % 60)
        w.put(UInt8(ascii: ":"))
        w.put2(second % 60)
        if fraction != 0 {
            w.put(UInt8(ascii: "."))
            var f = fraction
            var width = 6
            while f % 10 == 0 { f /= 10; width -= 1 }
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                w.put(UInt8(48 + f / divisor % 10))
                divisor /= 10
            }
        }
        w.put(UInt8(ascii: "Z"))
    }
}
