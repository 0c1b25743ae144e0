#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time: microseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Parsed from strict RFC 3339 (`2024-03-01T09:30:05.25+01:00`) and always
/// written in the canonical UTC form (`2024-03-01T08:30:05.25Z`): no fraction
/// when it is zero, otherwise trailing zeros trimmed. Years 0000–9999 only.
///
///     let t = Timestamp(rfc3339: "2024-03-01T09:30:05Z")!
///     t.adding(days: 7).description   // "2024-03-08T09:30:05Z"
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Microseconds since the Unix epoch, UTC.
    public var microsecondsSinceEpoch: Int64

    /// Wraps a count of microseconds since the Unix epoch.
    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Microseconds in one second.
    public static let microsecondsPerSecond: Int64 = 1_000_000
    /// Microseconds in one day.
    public static let microsecondsPerDay: Int64 = 86_400_000_000

    /// The earliest time the canonical form can write: 0000-01-01T00:00:00Z.
    public static let min = Timestamp(microsecondsSinceEpoch: Int64(daysFromCivil(0, 1, 1)) * microsecondsPerDay)
    /// The latest time the canonical form can write: 9999-12-31T23:59:59.999999Z.
    public static let max = Timestamp(
        microsecondsSinceEpoch: Int64(daysFromCivil(9999, 12, 31)) * microsecondsPerDay + microsecondsPerDay - 1)

    /// The current time of the system's real-time clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microsecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000)
    }

    /// Parses a strict RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`),
    /// or returns nil. `T` and `Z` may be lower case; seconds `60` (leap seconds)
    /// and more than six fraction digits are refused.
    public init?(rfc3339 string: String) {
        var string = string
        guard let t = string.withUTF8({ Timestamp.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = t
    }

    /// Parses a strict RFC 3339 time from UTF-8 bytes, or returns nil.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Timestamp? {
        let n = bytes.count
        guard n >= 20, let base = bytes.baseAddress else { return nil }
        let p = base.assumingMemoryBound(to: UInt8.self)

        @inline(__always) func digit(_ i: Int) -> Int? {
            let d = Int(p[i]) &- 48
            return d >= 0 && d <= 9 ? d : nil
        }
        @inline(__always) func two(_ i: Int) -> Int? {
            guard let a = digit(i), let b = digit(i + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), p[4] == UInt8(ascii: "-"),
              let month = two(5), p[7] == UInt8(ascii: "-"), let day = two(8),
              p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: "t"),
              let hour = two(11), p[13] == UInt8(ascii: ":"), let minute = two(14),
              p[16] == UInt8(ascii: ":"), let second = two(17)
        else { return nil }
        let year = y1 * 100 + y2
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var i = 19
        var micros = 0
        if p[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < n, let d = digit(i) {
                digits += 1
                guard digits <= 6 else { return nil }
                micros = micros * 10 + d
                i += 1
            }
            guard digits >= 1 else { return nil }
            for _ in digits..<6 { micros *= 10 }
        }
        guard i < n else { return nil }
        var offsetMinutes = 0
        switch p[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 <= n, let oh = two(i + 1), p[i + 3] == UInt8(ascii: ":"), let om = two(i + 4),
                  oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (p[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }

        let days = Int64(Self.daysFromCivil(year, month, day))
        let seconds = Int64(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
        let t = Timestamp(microsecondsSinceEpoch: days * microsecondsPerDay + seconds * microsecondsPerSecond + Int64(micros))
        guard t >= .min, t <= .max else { return nil }
        return t
    }

    /// The canonical form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the canonical form's UTF-8 bytes to `buffer`.
    public func write(into buffer: inout [UInt8]) {
        ByteSink.write(appendingTo: &buffer) { write(to: &$0) }
    }

    /// Stores the canonical form (at most 27 bytes).
    @inline(__always)
    func write(to sink: inout ByteSink) {
        let us = microsecondsSinceEpoch
        var days = us / Self.microsecondsPerDay
        var rest = us % Self.microsecondsPerDay
        if rest < 0 { rest += Self.microsecondsPerDay; days -= 1 }
        let (y, m, d) = Self.civilFromDays(Int(days))
        let secOfDay = Int(rest / Self.microsecondsPerSecond)
        let frac = Int(rest % Self.microsecondsPerSecond)
        let year = Swift.max(0, Swift.min(9999, y))
        sink.reserve(27)
        sink.put2(year / 100); sink.put2(year % 100)
        sink.put(UInt8(ascii: "-")); sink.put2(m)
        sink.put(UInt8(ascii: "-")); sink.put2(d)
        sink.put(UInt8(ascii: "T")); sink.put2(secOfDay / 3600)
        sink.put(UInt8(ascii: ":")); sink.put2(secOfDay / 60 % 60)
        sink.put(UInt8(ascii: ":")); sink.put2(secOfDay % 60)
        if frac != 0 {
            sink.put(UInt8(ascii: "."))
            var f = frac
            var width = 6
            while f % 10 == 0 { f /= 10; width -= 1 }
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                sink.put(UInt8(truncatingIfNeeded: 48 + f / divisor % 10))
                divisor /= 10
            }
        }
        sink.put(UInt8(ascii: "Z"))
    }

    /// This time moved by a number of days (negative moves back).
    public func adding(days: Int) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + Int64(days) * Self.microsecondsPerDay)
    }

    /// This time moved by a number of seconds (negative moves back).
    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + seconds * Self.microsecondsPerSecond)
    }

    /// This time moved by a number of microseconds (negative moves back).
    public func adding(microseconds: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + microseconds)
    }

    /// Microseconds from `other` to this time (negative when `other` is later).
    public func microseconds(since other: Timestamp) -> Int64 {
        microsecondsSinceEpoch - other.microsecondsSinceEpoch
    }

    /// Seconds from `other` to this time, with a fraction.
    public func seconds(since other: Timestamp) -> Double {
        Double(microseconds(since: other)) / 1_000_000
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        a.microsecondsSinceEpoch < b.microsecondsSinceEpoch
    }
}

// Proleptic Gregorian calendar helpers (Howard Hinnant's algorithms).

@inline(__always)
func isLeapYear(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

@inline(__always)
func daysInMonth(_ y: Int, _ m: Int) -> Int {
    switch m {
    case 2: return isLeapYear(y) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

extension Timestamp {
    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    public static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a count of days since 1970-01-01 (H. Hinnant's algorithm).
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
