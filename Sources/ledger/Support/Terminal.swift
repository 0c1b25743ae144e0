import EscalationDomain
import Foundation

/// Standard output and error, written directly (no buffering surprises between the two).
///
/// Text for people (``print(_:)``, ``error(_:)``) never carries a raw control
/// character to the terminal: each line is passed through ``Display/escaped(_:)``
/// (`\u{1B}`, `\t`, ...), so only the line breaks the tool writes itself remain.
/// Values that must stay on one line (table cells, refusal and error messages)
/// are escaped whole before they are joined, so a newline in them shows as `\n`.
/// JSON output goes through ``printBytes(_:)`` untouched: its escaping is exact.
enum Terminal {
    /// True when standard error is a terminal: progress is shown only then.
    static let stderrIsTerminal = isatty(2) == 1

    /// Writes `text` and a newline to standard output, control characters escaped.
    static func print(_ text: String) { write(1, visible(text) + "\n") }

    /// `text` with every control character escaped except the line breaks between its lines.
    static func visible(_ text: String) -> String {
        guard Display.hasControl(text.replacingOccurrences(of: "\n", with: "")) else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { Display.escaped($0) }.joined(separator: "\n")
    }

    /// Writes UTF-8 bytes and a newline to standard output.
    static func printBytes(_ bytes: [UInt8]) {
        var b = bytes
        b.append(0x0A)
        writeAll(1, b)
    }

    /// Writes `text` and a newline to standard error, control characters escaped.
    static func error(_ text: String) {
        let text = visible(text)
        write(2, text.hasSuffix("\n") ? text : text + "\n")
    }

    static func write(_ fd: Int32, _ text: String) { writeAll(fd, Array(text.utf8)) }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var p = buf.baseAddress
            var left = buf.count
            while left > 0, let base = p {
                let n = Foundation.write(fd, base, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe: nothing more can be said
                }
                p = base + n
                left -= n
            }
        }
    }
}

/// A progress bar on standard error, drawn only when it is a terminal:
/// `label [#########.........]  45%  12,345 lines/s  0:12 left`.
/// Without a total it shows the count and the rate.
final class ProgressBar {
    let label: String
    let unit: String
    var total: Double?
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false
    private var lastText = ""

    /// - Parameters:
    ///   - unit: what is counted (`events`, `lines`, `MB`).
    ///   - total: the count at completion, when known.
    init(_ label: String, unit: String, total: Double? = nil, enabled: Bool = Terminal.stderrIsTerminal) {
        self.label = label
        self.unit = unit
        self.total = total
        self.enabled = enabled
    }

    /// Reports `done` units so far (redrawn at most ten times a second).
    func update(_ done: Double, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = done / elapsed
        var text = label.padding(toLength: max(label.count, 10), withPad: " ", startingAt: 0) + " "
        if let total, total > 0 {
            let fraction = min(max(done / total, 0), 1)
            let width = 28
            let filled = Int(fraction * Double(width))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            text += String(format: "%3d%%  ", Int(fraction * 100))
            text += Format.count(done) + " " + unit + "  " + Format.count(rate) + " " + unit + "/s"
            if fraction > 0 && fraction < 1 && rate > 0 {
                text += "  " + Format.duration((total - done) / rate) + " left"
            }
        } else {
            text += Format.count(done) + " " + unit + "  " + Format.count(rate) + " " + unit + "/s  " + Format.duration(elapsed)
        }
        let pad = max(0, lastText.count - text.count)
        Terminal.write(2, "\r" + text + String(repeating: " ", count: pad))
        lastText = text
        drawn = true
    }

    /// Clears the bar's line.
    func finish() {
        guard enabled, drawn else { return }
        Terminal.write(2, "\r" + String(repeating: " ", count: lastText.count) + "\r")
        drawn = false
    }

    /// Seconds since the bar was made.
    var elapsed: Double { Date().timeIntervalSince(start) }
}
