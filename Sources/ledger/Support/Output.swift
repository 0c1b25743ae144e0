import ArgumentParser
import Compliance
import Foundation
import Ledger

/// `--format table|json|jsonl|csv` (CONTRACT.md section 8).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, jsonl, csv
}

/// `--format`, its `--json` shorthand, and `--limit N` / `--after CURSOR` paging, shared by
/// every query that lists things.
struct OutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("table (for people), json (one array), jsonl (one object a line) or csv (RFC 4180, a header row; "
                               + "a cell starting with = + - @ TAB CR or ' gets a ' in front, so that a spreadsheet shows it as text).",
                               valueName: "format"))
    var format: OutputFormat?

    @Flag(name: .customLong("json"), help: "The same as --format json.")
    var json = false

    @Option(help: ArgumentHelp("At most this many items (a page; a table shows 1,000 by default).", valueName: "n"))
    var limit: Int?

    @Option(help: ArgumentHelp("Start after this item: the last item's cursor of the previous page (a finding's id, a "
                               + "staff id, an event's seq), as printed at the end of a table page.", valueName: "cursor"))
    var after: String?

    var resolved: OutputFormat { json ? .json : format ?? .table }

    /// Rows a table shows when no --limit is given: a table is for people (and is held in memory
    /// for its widths), so a long listing is paged; the other formats stream everything.
    static let tablePage = 1_000

    /// The page size: --limit, else ``tablePage`` rows for a table, else everything.
    var pageLimit: Int? { limit ?? (resolved == .table ? OutputOptions.tablePage : nil) }

    func validate() throws {
        if json, let format, format != .json { throw ValidationError("--json and --format \(format.rawValue) disagree") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }
}

/// Writes a list in the chosen format as its items come: JSON, JSON Lines and CSV stream (memory
/// does not grow with the list); a table is collected, since it needs the columns' widths.
final class ListOutput {
    let format: OutputFormat
    let columns: [Table.Column]
    private var table: Table
    private var buffer: [UInt8] = []
    /// Each item's JSON is written here, its memory reused from item to item.
    private var writer = JSONWriter()
    private(set) var count = 0
    /// The cursor of the last row of a table (the next page starts after it).
    private(set) var lastCursor: String?

    init(_ format: OutputFormat, columns: [Table.Column], maxWidth: Int = 0) {
        self.format = format
        self.columns = columns
        table = Table(columns, maxWidth: maxWidth)
        switch format {
        case .json: buffer += Array("[".utf8)
        case .csv: buffer += ListOutput.csvLine(columns.map(\.title))
        case .table, .jsonl: break
        }
    }

    /// One item: its JSON object, its cells (in the columns' order, for tables and CSV), and its cursor.
    /// The cells and the cursor are made only when the format shows them (a table; CSV).
    func add(cursor: @autoclosure () -> String, cells: @autoclosure () -> [String], json: (inout JSONWriter) -> Void) throws {
        switch format {
        case .table: table.add(cells()); lastCursor = cursor()
        case .csv: buffer += ListOutput.csvLine(cells())
        case .json, .jsonl:
            writer.reset()
            json(&writer)
            if format == .json, count > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer += writer.bytes
            if format == .jsonl { buffer.append(0x0A) }
        }
        count += 1
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        try writeStdout(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends the list. A table gets `empty` when nothing was listed, else `footer`, and a hint to
    /// the next page when `more` is true.
    func finish(empty: String, footer: String = "", more: Bool = false) throws {
        switch format {
        case .json: buffer += Array("]\n".utf8)
        case .jsonl, .csv: break
        case .table:
            var text = count == 0 ? empty : table.render()
            if count > 0, !footer.isEmpty { text += "\n\n" + footer }
            if more, let lastCursor { text += "\n(more: --after \(lastCursor))" }
            Terminal.print(text)
        }
        try flush()
    }

    /// One RFC 4180 line (``CSVRow/line(_:)``).
    static func csvLine(_ cells: [String]) -> [UInt8] { CSVRow.line(cells) }

    /// An event of a timeline (a ticket's, a customer's): its display JSON, or its events.csv row.
    func add(_ e: Ledger.DisplayEvent) throws {
        let cells = format == .csv ? CSVRow.cells(e.event, seq: e.record.seq, version: e.record.version, recordedAt: e.record.recordedAt,
                                                  stream: e.record.stream, hash: e.record.hash) : []
        try add(cursor: String(e.record.seq), cells: cells) { $0.raw(e.json) }
    }
}
