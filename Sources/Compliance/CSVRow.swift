import EscalationDomain

/// `events.csv`: one row per event, every field of the catalogue flattened into a fixed set
/// of columns (RFC 4180 quoting), for spreadsheets. The exporter writes these rows and the
/// bundle verifier rebuilds them from `events.jsonl` and `personal.jsonl` (docs/EXPORT.md).
public enum CSVRow {
    /// The columns, in their order: the case names are the column titles.
    enum Column: Int, CaseIterable {
        case seq, version, recordedAt, stream, id, type, at, actor, channel, ticket, expectedVersion
        case staff, name, role, reportsTo, `extension`, hourlyCost
        case agent, customer, customerName, customerPhone, issue, repeatOf
        case requestedBy, scenario, reason, level, goal, technique, outcome, supervisor, available
        case kind, party, accepted, by, from, to, mode, announcedName, announcedExtension
        case owner, dueBy, reached, author, text, resolution, satisfied, coach, lessons, severity
        case matter, count, root, `operator`, purpose, filter, pseudonymized, customers, query, hash
    }
    public static let columns = Column.allCases.map { String(describing: $0) }

    /// The header row.
    public static var header: [UInt8] { Array((columns.joined(separator: ",") + "\r\n").utf8) }

    /// One row for `e`, an event as the export shows it (personal data revealed, masked or erased).
    /// `guardFormulas` is false only to rebuild the rows of a bundle of format 2, which had no guard.
    public static func render(_ e: Event, seq: UInt64, version: UInt64, recordedAt: Int64, stream: String, hash: [UInt8],
                              guardFormulas: Bool = true) -> [UInt8] {
        line(cells(e, seq: seq, version: version, recordedAt: recordedAt, stream: stream, hash: hash), guardFormulas: guardFormulas)
    }

    /// The row's cells, unquoted, in the order of ``columns``.
    public static func cells(_ e: Event, seq: UInt64, version: UInt64, recordedAt: Int64, stream: String, hash: [UInt8]) -> [String] {
        var cells = [String](repeating: "", count: columns.count)
        func set(_ k: Column, _ v: String?) { if let v { cells[k.rawValue] = v } }
        func set(_ k: Column, _ v: Bool?) { if let v { cells[k.rawValue] = v ? "true" : "false" } }
        set(.seq, String(seq)); set(.version, String(version))
        set(.recordedAt, Timestamp(microsecondsSinceEpoch: recordedAt).description); set(.stream, stream)
        set(.id, e.id.description); set(.type, e.type.rawValue); set(.at, e.at.description); set(.actor, e.actor)
        set(.channel, e.channel); set(.ticket, e.ticket); set(.expectedVersion, e.expectedVersion.map { String($0) })
        set(.hash, Hex.encode(hash))
        switch e.body {
        case .staffEnrolled(let b):
            set(.staff, b.staff); set(.name, b.name); set(.role, b.role.rawValue); set(.reportsTo, b.reportsTo)
            set(.`extension`, b.extension); set(.hourlyCost, b.hourlyCost?.description)
        case .staffReassigned(let b): set(.staff, b.staff); set(.reportsTo, b.reportsTo); set(.role, b.role?.rawValue)
        case .callOpened(let b):
            set(.agent, b.agent); set(.customer, b.customer.id); set(.customerName, b.customer.name)
            set(.customerPhone, b.customer.phone); set(.issue, b.issue); set(.repeatOf, b.repeatOf)
        case .escalationRequested(let b):
            set(.requestedBy, b.requestedBy.rawValue); set(.scenario, b.scenario.rawValue); set(.reason, b.reason.rawValue)
            set(.level, b.level.rawValue); set(.goal, b.goal)
        case .deEscalationAttempted(let b): set(.agent, b.agent); set(.technique, b.technique.rawValue); set(.outcome, b.outcome.rawValue)
        case .supervisorAvailability(let b): set(.supervisor, b.supervisor); set(.available, b.available)
        case .alternativeOffered(let b): set(.agent, b.agent); set(.kind, b.kind.rawValue); set(.party, b.party); set(.accepted, b.accepted)
        case .requestDeclined(let b): set(.by, b.by); set(.reason, b.reason)
        case .transferred(let b):
            set(.from, b.from); set(.to, b.to); set(.mode, b.mode.rawValue)
            set(.announcedName, b.announcedName); set(.announcedExtension, b.announcedExtension)
        case .callbackScheduled(let b): set(.owner, b.owner); set(.dueBy, b.dueBy.description)
        case .callbackCompleted(let b): set(.by, b.by); set(.reached, b.reached)
        case .noteLogged(let b): set(.author, b.author); set(.text, b.text)
        case .ticketResolved(let b): set(.by, b.by); set(.resolution, b.resolution.rawValue); set(.satisfied, b.satisfied)
        case .ticketReopened(let b): set(.by, b.by); set(.reason, b.reason)
        case .debriefHeld(let b): set(.agent, b.agent); set(.coach, b.coach); set(.lessons, b.lessons)
        case .feedbackGiven(let b): set(.agent, b.agent); set(.by, b.by); set(.text, b.text)
        case .sanctionIssued(let b): set(.agent, b.agent); set(.by, b.by); set(.severity, b.severity.rawValue); set(.reason, b.reason)
        case .legalHoldPlaced(let b), .legalHoldReleased(let b): set(.customer, b.customer); set(.matter, b.matter)
        case .personalDataErased(let b): set(.customer, b.customer); set(.reason, b.reason)
        case .exportMade(let b):
            set(.from, String(b.from)); set(.to, String(b.to)); set(.count, String(b.count)); set(.root, b.root)
            set(.`operator`, b.operator); set(.purpose, b.purpose); set(.filter, b.filter); set(.pseudonymized, b.pseudonymized)
        case .personalDataRevealed(let b):
            set(.`operator`, b.operator); set(.purpose, b.purpose); set(.customers, b.customers.joined(separator: " ")); set(.query, b.query)
        }
        return cells
    }

    /// The first characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a
    /// cell as a formula: `=`, `+`, `-`, `@`, TAB and CR (OWASP, "CSV Injection"); and `'`, the
    /// guard itself, so that guarding can be undone without doubt.
    ///
    /// True when `cell` is written with the guard: it starts with one of them.
    public static func needsGuard(_ cell: String) -> Bool { cell.utf8.first.map(startsFormula) ?? false }

    /// True for a first byte that ``needsGuard(_:)`` guards (a switch: this runs for every cell written).
    @inline(__always)
    static func startsFormula(_ b: UInt8) -> Bool {
        switch b {
        case 0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D, 0x27: return true
        default: return false
        }
    }

    /// One RFC 4180 line: a cell is quoted when it holds a comma, a quote, CR or LF (a quote
    /// inside doubled); CRLF at the end. With `guardFormulas` (every CSV the software writes for
    /// people: each query's `--format csv`, the service's and the web view's CSV, a bundle's
    /// `events.csv` from format 3 on), a cell that starts with `=`, `+`, `-`, `@`, TAB, CR or `'`
    /// gets a `'` in front and is quoted: `=HYPERLINK("x")` is written `"'=HYPERLINK(""x"")"`, which
    /// a spreadsheet shows as text instead of running it. Numbers and times the ledger writes
    /// never start with one of them, so they are never changed; dropping one leading `'` from a
    /// cell that starts with one gives the value back.
    public static func line(_ cells: [String]) -> [UInt8] { line(cells, guardFormulas: true) }

    /// One RFC 4180 line, with or without the formula guard (without: only a bundle of format 2).
    public static func line(_ cells: [String], guardFormulas: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(cells.count + 256)
        for i in cells.indices {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            var c = cells[i]
            if c.isEmpty { continue }
            c.withUTF8 { u in
                let guarded = guardFormulas && startsFormula(u[0])
                if guarded || ByteScan.containsAny(u, 0x2C, 0x22, 0x0A, 0x0D) {
                    out.append(0x22)
                    if guarded { out.append(0x27) }
                    for b in u { if b == 0x22 { out.append(0x22) }; out.append(b) }
                    out.append(0x22)
                } else {
                    out.append(contentsOf: u)
                }
            }
        }
        out.append(0x0D); out.append(0x0A)
        return out
    }
}
