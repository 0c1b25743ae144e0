import Compliance
import EscalationDomain
import Foundation
import Hummingbird
import Ledger
import Projections

/// `format=json|jsonl|csv` (CONTRACT.md section 8; tables are for terminals only).
enum ListFormat: String, Sendable {
    case json, jsonl, csv

    var contentType: String {
        switch self {
        case .json: return "application/json"
        case .jsonl: return "application/jsonl"
        case .csv: return "text/csv; charset=utf-8"
        }
    }
}

/// The parameters every query takes, as `ledger`'s options: `asOf`, `knownAt`, `now`, `format`,
/// `limit`, `after`, and `reveal` + `purpose` (a compliance token, acting as its staff id).
struct QueryParameters: Sendable {
    static let common: Set<String> = ["asOf", "knownAt", "now", "format", "limit", "after"]
    static let reveal: Set<String> = ["reveal", "purpose"]

    var values: [String: String]
    var asOf: AsOf?
    var knownAt: AsOf?
    var now: Timestamp?
    var format: ListFormat
    var limit: Int?
    var after: String?
    var reveal: Ledger.RevealRequest?

    init(_ request: Request, extra: Set<String>, token: StoredToken, revealable: Bool = false) throws {
        values = try request.query(allowing: QueryParameters.common.union(extra).union(revealable ? QueryParameters.reveal : []))
        for name in ["asOf", "knownAt"] {
            if let v = values[name], AsOf(v) == nil {
                throw ServiceError.badRequest("\(name) '\(v)' is neither a seq (a whole number) nor an RFC 3339 time such as 2026-03-05T17:00:00Z")
            }
        }
        asOf = values["asOf"].flatMap(AsOf.init)
        knownAt = values["knownAt"].flatMap(AsOf.init)
        now = try QueryParameters.time(values["now"], "now")
        guard let f = ListFormat(rawValue: values["format"] ?? "json") else {
            throw ServiceError.badRequest("format '\(values["format"]!)' is not one of json, jsonl, csv")
        }
        format = f
        if let l = values["limit"] {
            guard let n = Int(l), n >= 1 else { throw ServiceError.badRequest("limit must be a whole number, at least 1") }
            limit = n
        }
        after = values["after"]
        if try LedgerService.flag(values["reveal"], name: "reveal") {
            guard token.role.compliance else {
                throw ServiceError(.forbidden, "forbidden", "revealing personal data needs a compliance or admin token")
            }
            guard let staff = token.staff else {
                throw ServiceError(.forbidden, "forbidden", "this token acts as no staff member; a reveal is recorded with its operator "
                                   + "(ledger token create --staff STAFF)")
            }
            guard let purpose = values["purpose"], !purpose.isEmpty else {
                throw ServiceError.badRequest("reveal needs purpose: revealing personal data is recorded with why")
            }
            reveal = Ledger.RevealRequest(operator: staff, purpose: purpose)
        }
    }

    static func time(_ value: String?, _ name: String) throws -> Timestamp? {
        guard let value else { return nil }
        guard let t = Timestamp(rfc3339: value) else {
            throw ServiceError.badRequest("\(name) '\(value)' is not an RFC 3339 time such as 2026-03-05T17:00:00Z")
        }
        return t
    }

    func point(_ ledger: Ledger) throws -> QueryPoint { try ledger.point(asOf: asOf, knownAt: knownAt, now: now) }
}

/// Writes a list as its items come, in the chosen format (as `ledger`'s list output does for
/// json, jsonl and csv), into a ``ChunkPipe``.
struct ListWriter {
    let format: ListFormat
    let pipe: ChunkPipe
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(_ format: ListFormat, columns: [String], pipe: ChunkPipe) {
        self.format = format
        self.pipe = pipe
        switch format {
        case .json: buffer = Array("[".utf8)
        case .csv: buffer = CSVRow.line(columns)
        case .jsonl: break
        }
    }

    mutating func add(cells: @autoclosure () -> [String], json: (inout JSONWriter) -> Void) throws {
        switch format {
        case .csv: buffer += CSVRow.line(cells())
        case .json, .jsonl:
            var w = JSONWriter()
            json(&w)
            if format == .json, count > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer += w.bytes
            if format == .jsonl { buffer.append(0x0A) }
        }
        count += 1
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// A display event (a timeline's): its JSON, or its events.csv row.
    mutating func add(_ e: Ledger.DisplayEvent) throws {
        try add(cells: CSVRow.cells(e.event, seq: e.record.seq, version: e.record.version, recordedAt: e.record.recordedAt,
                                    stream: e.record.stream, hash: e.record.hash)) { $0.raw(e.json) }
    }

    mutating func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 16 { try flush() }
    }

    mutating func flush() throws {
        try pipe.put(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func finish() throws {
        if format == .json { buffer += Array("]\n".utf8) }
        try flush()
    }
}

extension LedgerService {
    func addQueryRoutes(_ router: Router<ServiceRequestContext>) {
        router.get("/v1/tickets/:id") { request, context -> Response in
            let token = try self.authorize(request, .read)
            let id = try context.parameters.require("id")
            let q = try QueryParameters(request, extra: [], token: token, revealable: true)
            if let after = q.after, UInt64(after) == nil { throw ServiceError.badRequest("after takes an event's seq for a ticket") }
            return try await .streamed(contentType: q.format.contentType) { [ledger = self.ledger] pipe in try LedgerService.ticket(ledger, id, q, pipe) }
        }
        router.get("/v1/findings") { request, _ -> Response in
            let token = try self.authorize(request, .read)
            let q = try QueryParameters(request, extra: ["kind", "staff", "ticket", "changedSince"], token: token)
            return try await .streamed(contentType: q.format.contentType) { [ledger = self.ledger] pipe in try LedgerService.findings(ledger, q, pipe) }
        }
        router.get("/v1/scorecards") { request, _ -> Response in
            let token = try self.authorize(request, .read)
            let q = try QueryParameters(request, extra: ["staff", "role", "reportsTo", "sort", "columns"], token: token)
            return try await .streamed(contentType: q.format.contentType) { [ledger = self.ledger] pipe in try LedgerService.scorecards(ledger, q, pipe) }
        }
        router.get("/v1/audit") { request, _ -> Response in
            let token = try self.authorize(request, .read)
            let q = try QueryParameters(request, extra: ["ticket", "staff", "from", "to", "channel"], token: token, revealable: true)
            return try await .streamed(contentType: q.format.contentType) { [ledger = self.ledger] pipe in try LedgerService.audit(ledger, q, pipe) }
        }
        router.get("/v1/customers/:id") { request, context -> Response in
            let token = try self.authorize(request, .compliance)
            let id = try context.parameters.require("id")
            let q = try QueryParameters(request, extra: [], token: token, revealable: true)
            return try await .streamed(contentType: q.format.contentType) { [ledger = self.ledger] pipe in try LedgerService.customer(ledger, id, q, pipe) }
        }
        router.get("/v1/stats") { request, _ -> Response in
            _ = try self.authorize(request, .read)
            _ = try request.query(allowing: [])
            let stats = try await Blocking.run { [ledger = self.ledger] in try ledger.stats() }
            var w = JSONWriter()
            JSONShape.stats(stats, into: &w)
            return .json(w.bytes + [0x0A])
        }
    }

    // MARK: The queries (each as `ledger COMMAND --format json|jsonl|csv` answers)

    static func ticket(_ ledger: Ledger, _ id: String, _ q: QueryParameters, _ pipe: ChunkPipe) throws {
        let point = try q.point(ledger)
        guard let (state, findings) = try ledger.ticket(id, at: point) else {
            throw ServiceError.notFound("no ticket \(id)" + (point.isHistorical ? " " + point.description : ""))
        }
        let view = try ledger.revealTicket(id, q.reveal)
        let after = q.after.flatMap(UInt64.init) ?? 0
        switch q.format {
        case .json:
            var w = JSONWriter()
            JSONShape.ticket(state, findings: findings, events: nil, into: &w)
            var out = ListWriter(.jsonl, columns: [], pipe: pipe)
            var head = w.bytes
            head.removeLast()
            try out.write(head + Array(",\"events\":[".utf8))
            var first = true
            try ledger.forEachTicketEvent(id, at: point, view: view, after: after, limit: q.limit ?? .max) { e in
                try out.write((first ? [] : [UInt8(ascii: ",")]) + e.json)
                first = false
            }
            try out.write(Array("]}\n".utf8))
            try out.flush()
        case .jsonl, .csv:
            var out = ListWriter(q.format, columns: CSVRow.columns, pipe: pipe)
            try ledger.forEachTicketEvent(id, at: point, view: view, after: after, limit: q.limit ?? .max) { try out.add($0) }
            try out.finish()
        }
    }

    static func findings(_ ledger: Ledger, _ q: QueryParameters, _ pipe: ChunkPipe) throws {
        let v = q.values
        if let kind = v["kind"], Finding.Kind(rawValue: kind) == nil {
            throw ServiceError.badRequest("kind '\(kind)' is not a finding kind; use one of: " + Finding.Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let after = q.after, Finding.cursor(after) == nil { throw ServiceError.badRequest("after '\(after)' is not a finding id (<ticket>/<seq>/<kind>)") }
        var changedSince: UInt64?
        if let c = v["changedSince"] {
            guard let n = UInt64(c) else { throw ServiceError.badRequest("changedSince takes a seq") }
            changedSince = n
        }
        let point = try q.point(ledger)
        let k = v["kind"].flatMap(Finding.Kind.init)
        let (staff, ticket) = (v["staff"], v["ticket"])
        var (list, changes) = try ledger.findings(at: point, kind: k, staff: staff, ticket: ticket,
                                                  changedSince: changedSince, after: q.after)
        if let limit = q.limit { list = Array(list.prefix(limit)) }
        var columns = ["seq", "at", "kind", "ticket", "accountable", "reason", "id"]
        if changedSince != nil { columns.insert("change", at: 0) }
        var out = ListWriter(q.format, columns: columns, pipe: pipe)
        for f in list {
            var cells = [String(f.seq), f.at.description, f.kind.rawValue, f.ticket, f.staff, f.reason, f.id]
            if let c = changes[f.id] { cells.insert(c, at: 0) }
            try out.add(cells: cells) { JSONShape.finding(f, change: changes[f.id], into: &$0) }
        }
        try out.finish()
    }

    /// The scorecard's fields in `ledger scorecard`'s column order.
    static let scorecardColumns = ["staff", "name", "role", "callsOpened", "escalationRequests", "deEscalationAttempts", "deEscalated",
                                   "deEscalationRate", "transfersOut", "twoAskCompliance", "callbacksOwed", "callbacksOnTime", "callbacksLate",
                                   "callbacksOverdue", "requestsDeclined", "feedbackReceived", "sanctionsReceived", "debriefs", "findings",
                                   "supervisorLoad", "escalationCost"]

    static func scorecards(_ ledger: Ledger, _ q: QueryParameters, _ pipe: ChunkPipe) throws {
        let v = q.values
        if let role = v["role"], EscalationDomain.Role(rawValue: role) == nil {
            throw ServiceError.badRequest("role '\(role)' is not a role; use one of: " + EscalationDomain.Role.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let keys = Set(scorecardColumns)
        if let sort = v["sort"], !keys.contains(sort) { throw ServiceError.badRequest("sort '\(sort)' is not a column; columns: " + scorecardColumns.joined(separator: ", ")) }
        for c in (v["columns"] ?? "").split(separator: ",") where !keys.contains(String(c)) {
            throw ServiceError.badRequest("columns: '\(c)' is not a column; columns: " + scorecardColumns.joined(separator: ", "))
        }
        let point = try q.point(ledger)
        let staff = v["staff"]
        var reporting: [String: String?] = [:]
        var cards = try ledger.withProjections(at: point) { snapshot in
            for r in try snapshot.staffRecords() { reporting[r.info.staff] = r.info.reportsTo }
            return try snapshot.scorecards(clock: point.clock, staff: staff)
        }
        if let staff, cards.isEmpty { throw ServiceError.notFound("no staff member \(staff)" + (point.isHistorical ? " " + point.description : "")) }
        if let role = v["role"] { cards = cards.filter { $0.role.rawValue == role } }
        if let reportsTo = v["reportsTo"] { cards = cards.filter { reporting[$0.staff] == .some(reportsTo) } }
        cards.sort { $0.staff < $1.staff }
        // Each card's JSON object, whose values are the CSV cells and the sort keys.
        func fields(_ c: Scorecard) -> [String: Any] {
            var w = JSONWriter()
            JSONShape.scorecard(c, into: &w)
            return (try? JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any]) ?? [:]
        }
        if let sort = v["sort"] {
            let objects = Dictionary(uniqueKeysWithValues: cards.map { ($0.staff, fields($0)) })
            func number(_ c: Scorecard) -> Double? {
                if sort == "findings" { return Double(c.findingsTotal) }
                guard let n = objects[c.staff]?[sort] as? NSNumber, !(objects[c.staff]?[sort] is String) else { return nil }
                return ["staff", "name", "role"].contains(sort) ? nil : n.doubleValue
            }
            func text(_ c: Scorecard) -> String { (objects[c.staff]?[sort] as? String) ?? "" }
            cards.sort { a, b in
                if let x = number(a), let y = number(b), x != y { return x > y }
                if number(a) != nil, number(b) == nil { return true }
                if number(a) == nil, number(b) != nil { return false }
                let (x, y) = (text(a), text(b))
                return x != y ? x < y : a.staff < b.staff
            }
        }
        if let after = q.after {
            guard let at = cards.firstIndex(where: { $0.staff == after }) else {
                throw ServiceError.badRequest("after \(after): no such staff member in this listing")
            }
            cards = Array(cards[(at + 1)...])
        }
        if let limit = q.limit { cards = Array(cards.prefix(limit)) }
        let shown = v["columns"].map { $0.split(separator: ",").map(String.init) } ?? scorecardColumns
        var out = ListWriter(q.format, columns: shown, pipe: pipe)
        for c in cards {
            try out.add(cells: {
                let object = fields(c)
                return shown.map { key in
                    if key == "findings" { return c.findingsCell }  // as `ledger scorecard --format csv`: kind=n;kind=n
                    switch object[key] {
                    case let s as String: return s
                    case let n as NSNumber: return n.stringValue
                    default: return ""
                    }
                }
            }()) { JSONShape.scorecard(c, into: &$0) }
        }
        try out.finish()
    }

    static func audit(_ ledger: Ledger, _ q: QueryParameters, _ pipe: ChunkPipe) throws {
        let v = q.values
        let from = try QueryParameters.time(v["from"], "from"), to = try QueryParameters.time(v["to"], "to")
        if let from, let to, to < from { throw ServiceError.badRequest("to \(to) is before from \(from)") }
        if let after = q.after, UInt64(after) == nil { throw ServiceError.badRequest("after takes the seq of the last entry shown") }
        let point = try q.point(ledger)
        let filter = Ledger.AuditFilter(ticket: v["ticket"], staff: v["staff"], from: from, to: to, channel: v["channel"],
                                        afterSeq: q.after.flatMap(UInt64.init) ?? 0, point: point.isHistorical ? point : nil)
        var out = ListWriter(q.format, columns: ["seq", "recordedAt", "at", "actor", "channel", "type", "ticket", "hash", "summary"], pipe: pipe)
        try ledger.audit(filter, reveal: q.reveal, limit: q.limit ?? .max) { e in
            try out.add(cells: [String(e.seq), e.recordedAt.description, e.at.description, e.actor, e.channel, e.type,
                                e.ticket ?? "", e.hash, e.summary]) { JSONShape.audit(e, into: &$0) }
        }
        try out.finish()
    }

    static func customer(_ ledger: Ledger, _ id: String, _ q: QueryParameters, _ pipe: ChunkPipe) throws {
        if let after = q.after, UInt64(after) == nil { throw ServiceError.badRequest("after takes an event's seq") }
        let point = try q.point(ledger)
        guard let history = try ledger.customerHistory(id, reveal: q.reveal) else {
            throw ServiceError.notFound("no live customer \(id) (never recorded, or erased)")
        }
        var events = history.events.filter { point.includes(seq: $0.record.seq, at: $0.event.at) }
        if let after = q.after.flatMap(UInt64.init) { events = events.filter { $0.record.seq > after } }
        if let limit = q.limit { events = Array(events.prefix(limit)) }
        var out = ListWriter(q.format == .json ? .jsonl : q.format, columns: CSVRow.columns, pipe: pipe)
        if q.format == .json {
            var head = Array("{\"customer\":".utf8)
            JSONString.append(history.pseudonym, to: &head)
            try out.write(head + Array(",\"events\":[".utf8))
            for (i, e) in events.enumerated() { try out.write((i > 0 ? [UInt8(ascii: ",")] : []) + e.json) }
            try out.write(Array("]}\n".utf8))
            try out.flush()
        } else {
            for e in events { try out.add(e) }
            try out.finish()
        }
    }
}
