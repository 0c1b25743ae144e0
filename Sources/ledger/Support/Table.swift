import EscalationDomain
import Foundation

/// An aligned text table for people: a header row, a rule, then rows.
/// Columns are left-aligned unless marked numeric (right-aligned). Every cell
/// is shown with its control characters escaped (``Display/escaped(_:)``), so a
/// value can neither break the layout nor drive the terminal.
struct Table {
    struct Column {
        var title: String
        var numeric: Bool
        init(_ title: String, numeric: Bool = false) { self.title = title; self.numeric = numeric }
    }

    var columns: [Column]
    var rows: [[String]] = []
    /// Characters a cell may take before it is cut with `…` (0: no limit).
    var maxWidth = 0

    init(_ columns: [Column], maxWidth: Int = 0) {
        self.columns = columns
        self.maxWidth = maxWidth
    }

    mutating func add(_ cells: [String]) { rows.append(cells.map { Display.escaped($0) }) }

    var isEmpty: Bool { rows.isEmpty }

    func render() -> String {
        func cut(_ s: String) -> String {
            guard maxWidth > 0, s.count > maxWidth else { return s }
            return String(s.prefix(maxWidth - 1)) + "…"
        }
        let cells = rows.map { $0.map(cut) }
        var widths = columns.map { $0.title.count }
        for row in cells {
            for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
        }
        func line(_ row: [String]) -> String {
            var parts: [String] = []
            for (i, column) in columns.enumerated() {
                let c = i < row.count ? row[i] : ""
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                parts.append(column.numeric ? pad + c : (i == columns.count - 1 ? c : c + pad))
            }
            return parts.joined(separator: "  ")
        }
        var out = [line(columns.map(\.title)), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += cells.map(line)
        return out.joined(separator: "\n")
    }
}

/// Number and time formatting for people.
enum Format {
    /// `12,345` (rounded to a whole number).
    static func count(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        return count(Int(v.rounded()))
    }

    static func count<I: BinaryInteger>(_ v: I) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (v < 0 ? "-" : "") + out
    }

    /// `42.5%`, or `-` for nil.
    static func percent(_ v: Double?, decimals: Int = 1) -> String {
        guard let v, v.isFinite else { return "-" }
        return String(format: "%.\(decimals)f%%", v * 100)
    }

    /// The currency of `hourlyCost` and of every cost shown: the ledger's setting (the file
    /// `currency`, written by `ledger init --currency`), else `LEDGER_CURRENCY`, else USD.
    nonisolated(unsafe) static var currency = "USD"
    static let currencyFile = "currency"

    static func isCurrencyCode(_ s: String) -> Bool { s.utf8.count == 3 && s.utf8.allSatisfy { $0 >= 0x41 && $0 <= 0x5A } }

    /// Reads the ledger's currency setting (called when a ledger is opened).
    static func loadCurrency(ledger path: String) {
        let setting = (try? String(contentsOfFile: path + "/" + currencyFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let environment = ProcessInfo.processInfo.environment["LEDGER_CURRENCY"]
        currency = [setting, environment].compactMap { $0 }.first(where: isCurrencyCode) ?? "USD"
    }

    /// `1,234.50`.
    static func money(_ v: Double) -> String {
        let cents = Int((v * 100).rounded())
        return count(cents / 100) + "." + String(format: "%02d", abs(cents % 100))
    }

    /// `0:07`, `12:34`, `1:02:03`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) }
        return String(format: "%d:%02d", s / 60, s % 60)
    }

    /// `3.2 s` or `850 ms`.
    static func seconds(_ s: Double) -> String {
        s < 1 ? String(format: "%.0f ms", s * 1000) : String(format: "%.1f s", s)
    }

    /// `1.5 MB` style sizes.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }
}
