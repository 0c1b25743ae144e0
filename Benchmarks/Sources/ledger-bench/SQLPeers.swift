import Foundation
import GRDB
import LedgerBenchKit
import PostgresNIO

// The two SQL peers of the ledger (workloads 1, 4, 5, 6): SQLite through GRDB and PostgreSQL
// through PostgresNIO. Both parse each interchange line with JSONSerialization (``ParsedLine``),
// store it in `events` (seq, id, stream, version, type, at, actor, ticket, payload; unique id,
// unique (stream, version), index on actor) and maintain the same projections, event by event,
// in the same transaction:
//
// - `tickets`: one row per ticket opened by a `callOpened`: opener, owner, first and last seq,
//   event count, last type and time, escalation requests, declined asks since the last request,
//   transfers, callbacks, resolved and its resolution, whether a supervisor was reached, whether
//   it counts as de-escalated;
// - `callbacks`: one row per `callbackScheduled` (owner, due, when completed);
// - `staff`: name, role and superior from `staffEnrolled` / `staffReassigned`;
// - `scorecards`: per staff member, 15 of ours' ScoreCounters (see ``ScoreColumn``): what
//   Projections/ProjectionEngine.swift counts, with the same rules (opener vs actor, first
//   request, two declined asks before a transfer, first open callback of the completer else the
//   first open one, on time when completed at or before dueBy, supervisor reached by a transfer
//   or a callback owned by a supervisor or above, de-escalated = requested, resolved by the
//   agent or withdrawn, never transferred, no callback). Not kept: escalationCost (senior time
//   priced by hourly cost), callbacksOverdue (needs a clock) and findings.
//
// SQLite runs the per-event statements from Swift (in-process calls); PostgreSQL runs the same
// logic in PL/pgSQL (`import_batch` / `project_batch`), one call (one round trip) per batch of
// parsed lines, sent as arrays.

/// The scorecard counters both SQL peers keep, in ``ScoreCounters``' order (1-based ids are the
/// SQL functions' `k`).
enum ScoreColumn: Int, CaseIterable {
    case callsOpened = 1, escalationRequests, ticketsWithRequest, deEscalationAttempts, deEscalated,
         transfersOut, compliantTransfers, callbacksOwed, callbacksOnTime, callbacksLate,
         requestsDeclined, feedbackReceived, sanctionsReceived, debriefs, supervisorLoad

    var column: String {
        switch self {
        case .callsOpened: "calls_opened"
        case .escalationRequests: "escalation_requests"
        case .ticketsWithRequest: "tickets_with_request"
        case .deEscalationAttempts: "de_escalation_attempts"
        case .deEscalated: "de_escalated"
        case .transfersOut: "transfers_out"
        case .compliantTransfers: "compliant_transfers"
        case .callbacksOwed: "callbacks_owed"
        case .callbacksOnTime: "callbacks_on_time"
        case .callbacksLate: "callbacks_late"
        case .requestsDeclined: "requests_declined"
        case .feedbackReceived: "feedback_received"
        case .sanctionsReceived: "sanctions_received"
        case .debriefs: "debriefs"
        case .supervisorLoad: "supervisor_load"
        }
    }

    /// The field of ours' ScoreCounters.
    var field: String {
        let c = column.split(separator: "_")
        return String(c[0]) + c.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// `INSERT ... ON CONFLICT DO UPDATE` adding `n` to column `k` (parameters: staff, k, n).
    static func upsertSQL(staff: String, k: String, n: String, cast: String = "") -> String {
        let cols = allCases.map(\.column)
        let values = allCases.map { "(\(k) = \($0.rawValue))\(cast) * \(n)" }
        return "INSERT INTO scorecards AS s (staff, \(cols.joined(separator: ", "))) VALUES (\(staff), \(values.joined(separator: ", "))) "
            + "ON CONFLICT (staff) DO UPDATE SET " + cols.map { "\($0) = s.\($0) + excluded.\($0)" }.joined(separator: ", ")
    }
}

/// Types that are not a ticket's (ours applies these to the staff projection or to none).
private let nonTicketTypes: Set<String> = [
    "staffEnrolled", "staffReassigned", "legalHoldPlaced", "legalHoldReleased", "personalDataErased",
    "exportMade", "personalDataRevealed",
]

/// One interchange line as the SQL peers parse it (JSONSerialization), with what the projections need.
struct ParsedLine {
    var id: String, type: String, at: String
    var atMicros: Int64
    var actor: String?, ticket: String?
    var stream: String
    /// The staff member the type credits: agent, from, owner or by.
    var who: String?
    /// transferred: the new owner.
    var to: String?
    /// callbackScheduled: dueBy in µs since 1970.
    var dueMicros: Int64 = 0
    /// deEscalationAttempted with askPermission or offerHelp, declined.
    var askDeclined = false
    var resolution: String?
    /// staffEnrolled / staffReassigned.
    var staff: String?, name: String?, role: String?, reportsTo: String?

    /// True for the events ours folds into a ticket (a ticket's or discipline event with a ticket).
    var isTicketEvent: Bool { ticket != nil && !nonTicketTypes.contains(type) }

    static func parse(_ data: Data) -> ParsedLine? {
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let id = o["id"] as? String, let type = o["type"] as? String, let at = o["at"] as? String,
              let atMicros = micros(at)
        else { return nil }
        let ticket = o["ticket"] as? String
        let stream: String
        if let ticket { stream = "ticket:" + ticket }
        else if let staff = o["staff"] as? String { stream = "staff:" + staff }
        else { stream = "ledger" }
        var p = ParsedLine(id: id, type: type, at: at, atMicros: atMicros, actor: o["actor"] as? String, ticket: ticket, stream: stream)
        switch type {
        case "callOpened", "deEscalationAttempted", "feedbackGiven", "sanctionIssued", "debriefHeld":
            p.who = o["agent"] as? String
            if type == "deEscalationAttempted", let t = o["technique"] as? String, t == "askPermission" || t == "offerHelp",
               o["outcome"] as? String == "declined" { p.askDeclined = true }
        case "transferred":
            p.who = o["from"] as? String
            p.to = o["to"] as? String
        case "callbackScheduled":
            p.who = o["owner"] as? String
            guard let due = (o["dueBy"] as? String).flatMap(micros) else { return nil }
            p.dueMicros = due
        case "callbackCompleted", "requestDeclined":
            p.who = o["by"] as? String
        case "ticketResolved":
            p.resolution = o["resolution"] as? String
        case "staffEnrolled", "staffReassigned":
            p.staff = o["staff"] as? String
            p.name = o["name"] as? String
            p.role = o["role"] as? String
            p.reportsTo = o["reportsTo"] as? String
        default:
            break
        }
        return p
    }

    /// "YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM)" as µs since 1970 (compared as numbers, not strings).
    static func micros(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ i: Int, _ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + n) {
                guard b[k] >= 48 && b[k] <= 57 else { return nil }
                v = v * 10 + Int64(b[k] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let se = num(17, 2) else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                if digits < 6 { frac = frac * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            for _ in digits..<max(digits, 6) { frac *= 10 }
        }
        var offset: Int64 = 0
        if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
            guard let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return ((days * 86_400 + h * 3600 + mi * 60 + se) - offset) * 1_000_000 + frac
    }
}

struct ImportTally { var appended = 0, duplicates = 0, refused = 0 }

// MARK: - SQLite

/// The SQLite peer of `importLines`: each line parsed (``ParsedLine``), inserted into `events`
/// (id unique: a repeated id is skipped, as ours skips duplicates; version = the stream's next
/// version, read from the (stream, version) index as ours reads its stream head), then the
/// projections updated (see the top of this file). One write transaction per batch. WAL;
/// synchronous FULL when durable (fsync of the WAL at each commit, what ours' durable import
/// does), NORMAL when relaxed (used only to build the cache).
final class SQLiteLedger: @unchecked Sendable {
    let pool: DatabasePool

    static let projectionSchema = """
        CREATE TABLE IF NOT EXISTS tickets (
            ticket TEXT PRIMARY KEY,
            opened_by TEXT NOT NULL,
            owner TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            events INTEGER NOT NULL,
            last_type TEXT NOT NULL,
            last_at TEXT NOT NULL,
            escalations INTEGER NOT NULL DEFAULT 0,
            asks INTEGER NOT NULL DEFAULT 0,
            transfers INTEGER NOT NULL DEFAULT 0,
            callbacks INTEGER NOT NULL DEFAULT 0,
            resolved INTEGER NOT NULL DEFAULT 0,
            resolution TEXT,
            reached INTEGER NOT NULL DEFAULT 0,
            de_escalated INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS callbacks (
            ticket TEXT NOT NULL,
            seq INTEGER NOT NULL,
            owner TEXT NOT NULL,
            due_us INTEGER NOT NULL,
            done_us INTEGER,
            PRIMARY KEY (ticket, seq)
        );
        CREATE TABLE IF NOT EXISTS staff (
            staff TEXT PRIMARY KEY,
            name TEXT,
            role TEXT,
            reports_to TEXT
        );
        CREATE TABLE IF NOT EXISTS scorecards (
            staff TEXT PRIMARY KEY,
        \(ScoreColumn.allCases.map { "    \($0.column) INTEGER NOT NULL DEFAULT 0" }.joined(separator: ",\n"))
        );
        """

    init(path: String, durability: Durability, create: Bool = true) throws {
        pool = try DatabasePool(path: path)
        let synchronous = durability.sqliteSynchronous
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        guard create else { return }
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS events (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    at TEXT NOT NULL,
                    actor TEXT,
                    ticket TEXT,
                    payload BLOB NOT NULL
                );
                CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id);
                CREATE UNIQUE INDEX IF NOT EXISTS events_stream_version ON events(stream, version);
                CREATE INDEX IF NOT EXISTS events_actor ON events(actor);
                """ + SQLiteLedger.projectionSchema)
        }
    }

    /// Parses and inserts `lines` in one transaction, updating the projections.
    func importBatch(_ lines: ArraySlice<[UInt8]>, into tally: inout ImportTally) throws {
        var t = tally
        try pool.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO events (id, stream, version, type, at, actor, ticket, payload)
                VALUES (?1, ?2, (SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = ?2), ?3, ?4, ?5, ?6, ?7)
                """)
            let projector = try SQLiteProjector(db)
            for line in lines {
                let data = Data(line)
                guard let p = ParsedLine.parse(data) else { t.refused += 1; continue }
                try insert.execute(arguments: [p.id, p.stream, p.type, p.at, p.actor, p.ticket, data])
                guard db.changesCount == 1 else { t.duplicates += 1; continue }
                t.appended += 1
                try projector.apply(p, seq: db.lastInsertedRowID)
            }
        }
        tally = t
    }

    /// Empties the projections and folds every event again, in seq order, in one transaction
    /// (each payload parsed again, as ours decodes each record again). Returns the events read.
    func rebuildProjections() throws -> Int {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM tickets; DELETE FROM callbacks; DELETE FROM staff; DELETE FROM scorecards;")
            let projector = try SQLiteProjector(db)
            let rows = try GRDB.Row.fetchCursor(db, sql: "SELECT seq, payload FROM events ORDER BY seq")
            var n = 0
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                let payload: Data = row[1]
                n += 1
                guard let p = ParsedLine.parse(payload) else { continue }
                try projector.apply(p, seq: seq)
            }
            return n
        }
    }

    static let scorecardSQL = "SELECT st.staff, st.name, st.role, \(ScoreColumn.allCases.map { "sc." + $0.column }.joined(separator: ", ")) "
        + "FROM staff st LEFT JOIN scorecards sc ON sc.staff = st.staff WHERE st.staff = ?"

    /// Every counter summed over all staff (the cross-check against ours).
    func scoreTotals() throws -> [Int] {
        try pool.read { db in
            let row = try GRDB.Row.fetchOne(db, sql: "SELECT " + ScoreColumn.allCases.map { "coalesce(sum(\($0.column)), 0)" }.joined(separator: ", ") + " FROM scorecards")!
            return (0..<ScoreColumn.allCases.count).map { row[$0] as Int }
        }
    }

    func count() throws -> Int { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 } }

    /// A synchronous read (in async code, `pool.read` picks GRDB's async overload).
    func read<T>(_ body: (GRDB.Database) throws -> T) throws -> T { try pool.read(body) }
}

/// The per-event projection statements for SQLite (cached statements of one connection).
struct SQLiteProjector {
    let db: GRDB.Database
    let openTicket, updateTicket, score, supervisor, addCallback, openCallback, completeCallback, markReached, markDeEscalated,
        enroll, reassign: Statement

    init(_ db: GRDB.Database) throws {
        self.db = db
        openTicket = try db.cachedStatement(sql: """
            INSERT INTO tickets (ticket, opened_by, owner, first_seq, last_seq, events, last_type, last_at)
            VALUES (?1, ?2, ?2, ?3, ?3, 1, ?4, ?5) ON CONFLICT (ticket) DO NOTHING
            """)
        updateTicket = try db.cachedStatement(sql: """
            UPDATE tickets SET last_seq = ?2, events = events + 1, last_type = ?3, last_at = ?4,
                escalations = escalations + (?3 = 'escalationRequested'),
                asks = CASE WHEN ?3 = 'escalationRequested' THEN 0 WHEN ?5 THEN asks + 1 ELSE asks END,
                transfers = transfers + (?3 = 'transferred'),
                owner = CASE WHEN ?3 = 'transferred' THEN ?6 ELSE owner END,
                callbacks = callbacks + (?3 = 'callbackScheduled'),
                resolved = CASE ?3 WHEN 'ticketResolved' THEN 1 WHEN 'ticketReopened' THEN 0 WHEN 'escalationRequested' THEN 0 ELSE resolved END,
                resolution = CASE ?3 WHEN 'ticketResolved' THEN ?7 WHEN 'ticketReopened' THEN NULL ELSE resolution END
            WHERE ticket = ?1
            RETURNING opened_by, escalations, asks, transfers, callbacks, resolved, resolution, reached, de_escalated
            """)
        score = try db.cachedStatement(sql: ScoreColumn.upsertSQL(staff: "?1", k: "?2", n: "?3"))
        supervisor = try db.cachedStatement(sql: "SELECT role IN ('supervisor', 'manager', 'director') FROM staff WHERE staff = ?")
        addCallback = try db.cachedStatement(sql: "INSERT INTO callbacks (ticket, seq, owner, due_us) VALUES (?, ?, ?, ?)")
        openCallback = try db.cachedStatement(sql: """
            SELECT seq, owner, due_us FROM callbacks WHERE ticket = ?1 AND done_us IS NULL ORDER BY owner = ?2 DESC, seq LIMIT 1
            """)
        completeCallback = try db.cachedStatement(sql: "UPDATE callbacks SET done_us = ? WHERE ticket = ? AND seq = ?")
        markReached = try db.cachedStatement(sql: "UPDATE tickets SET reached = 1 WHERE ticket = ?")
        markDeEscalated = try db.cachedStatement(sql: "UPDATE tickets SET de_escalated = ? WHERE ticket = ?")
        enroll = try db.cachedStatement(sql: """
            INSERT INTO staff (staff, name, role, reports_to) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (staff) DO UPDATE SET name = excluded.name, role = excluded.role, reports_to = excluded.reports_to
            """)
        reassign = try db.cachedStatement(sql: "UPDATE staff SET reports_to = ?2, role = coalesce(?3, role) WHERE staff = ?1")
    }

    private func bump(_ staff: String?, _ k: ScoreColumn, _ n: Int = 1) throws {
        guard let staff else { return }
        try score.execute(arguments: [staff, k.rawValue, n])
    }

    private func isSupervisor(_ staff: String?) throws -> Bool {
        guard let staff else { return false }
        return try Bool.fetchOne(supervisor, arguments: [staff]) ?? false
    }

    func apply(_ p: ParsedLine, seq: Int64) throws {
        switch p.type {
        case "staffEnrolled":
            if let s = p.staff { try enroll.execute(arguments: [s, p.name, p.role, p.reportsTo]) }
            return
        case "staffReassigned":
            if let s = p.staff { try reassign.execute(arguments: [s, p.reportsTo, p.role]) }
            return
        default:
            guard p.isTicketEvent, p.ticket != nil else { return }
        }
        let ticket = p.ticket!
        if p.type == "callOpened" {
            guard let who = p.who else { return }
            try openTicket.execute(arguments: [ticket, who, seq, p.type, p.at])
            if db.changesCount == 1 { try bump(who, .callsOpened) }
            return
        }
        guard let t = try GRDB.Row.fetchOne(updateTicket, arguments: [ticket, seq, p.type, p.at, p.askDeclined, p.to, p.resolution]) else { return }
        let opener: String = t[0]
        let escalations: Int = t[1], asks: Int = t[2], transfers: Int = t[3], callbacks: Int = t[4]
        let resolved: Bool = t[5], resolution: String? = t[6], reached: Bool = t[7], deEscalated: Bool = t[8]
        var reaches = false
        switch p.type {
        case "escalationRequested":
            try bump(opener, .escalationRequests)
            if escalations == 1 { try bump(opener, .ticketsWithRequest) }
        case "deEscalationAttempted":
            try bump(p.who, .deEscalationAttempts)
        case "transferred":
            try bump(p.who, .transfersOut)
            if !(escalations > 0 && asks < 2) { try bump(p.who, .compliantTransfers) }
            reaches = try isSupervisor(p.to)
        case "callbackScheduled":
            if let owner = p.who { try addCallback.execute(arguments: [ticket, seq, owner, p.dueMicros]) }
            try bump(p.who, .callbacksOwed)
            reaches = try isSupervisor(p.who)
        case "callbackCompleted":
            if let c = try GRDB.Row.fetchOne(openCallback, arguments: [ticket, p.who]) {
                let cseq: Int64 = c[0], owner: String = c[1], due: Int64 = c[2]
                try completeCallback.execute(arguments: [p.atMicros, ticket, cseq])
                try bump(owner, p.atMicros <= due ? .callbacksOnTime : .callbacksLate)
            }
        case "requestDeclined": try bump(p.who, .requestsDeclined)
        case "feedbackGiven": try bump(p.who, .feedbackReceived)
        case "sanctionIssued": try bump(p.who, .sanctionsReceived)
        case "debriefHeld": try bump(p.who, .debriefs)
        default: break
        }
        if reaches && !reached {
            try markReached.execute(arguments: [ticket])
            try bump(opener, .supervisorLoad)
        }
        let now = escalations > 0 && resolved && (resolution == "resolvedByAgent" || resolution == "customerWithdrew")
            && transfers == 0 && callbacks == 0
        if now != deEscalated {
            try markDeEscalated.execute(arguments: [now, ticket])
            try bump(opener, .deEscalated, now ? 1 : -1)
        }
    }
}

// MARK: - PostgreSQL

/// The PostgreSQL peer of `importLines`: each line parsed in the client (``ParsedLine``, as the
/// SQLite peer does), a batch sent as arrays to `import_batch(...)`, a PL/pgSQL function that
/// inserts each event (`ON CONFLICT (id) DO NOTHING`: duplicates skipped; version = the stream's
/// next) and updates the same projections as the SQLite peer, in one transaction per batch (one
/// round trip). synchronous_commit on when durable (the commit waits for its WAL fsync), off
/// when relaxed (used only to build the cache); fsync is on either way.
enum PostgresLedger {
    static let schema = """
        CREATE TABLE events (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL,
            stream text NOT NULL,
            version bigint NOT NULL,
            type text NOT NULL,
            at text NOT NULL,
            actor text,
            ticket text,
            payload bytea NOT NULL
        );
        CREATE UNIQUE INDEX events_id ON events(id);
        CREATE UNIQUE INDEX events_stream_version ON events(stream, version);
        CREATE INDEX events_actor ON events(actor);
        CREATE TABLE tickets (
            ticket text PRIMARY KEY,
            opened_by text NOT NULL,
            owner text NOT NULL,
            first_seq bigint NOT NULL,
            last_seq bigint NOT NULL,
            events int NOT NULL,
            last_type text NOT NULL,
            last_at text NOT NULL,
            escalations int NOT NULL DEFAULT 0,
            asks int NOT NULL DEFAULT 0,
            transfers int NOT NULL DEFAULT 0,
            callbacks int NOT NULL DEFAULT 0,
            resolved boolean NOT NULL DEFAULT false,
            resolution text,
            reached boolean NOT NULL DEFAULT false,
            de_escalated boolean NOT NULL DEFAULT false
        );
        CREATE TABLE callbacks (
            ticket text NOT NULL,
            seq bigint NOT NULL,
            owner text NOT NULL,
            due_us bigint NOT NULL,
            done_us bigint,
            PRIMARY KEY (ticket, seq)
        );
        CREATE TABLE staff (
            staff text PRIMARY KEY,
            name text,
            role text,
            reports_to text
        );
        CREATE TABLE scorecards (
            staff text PRIMARY KEY,
        \(ScoreColumn.allCases.map { "    \($0.column) int NOT NULL DEFAULT 0" }.joined(separator: ",\n"))
        );

        CREATE FUNCTION score(p_staff text, k int, n int) RETURNS void LANGUAGE plpgsql AS $f$
        BEGIN
            IF p_staff IS NULL THEN RETURN; END IF;
            \(ScoreColumn.upsertSQL(staff: "p_staff", k: "k", n: "n", cast: "::int"));
        END $f$;

        CREATE FUNCTION project_event(p_seq bigint, p_type text, p_at text, p_at_us bigint, p_ticket text, p_who text,
                                      p_to text, p_due bigint, p_ask boolean, p_res text,
                                      p_staff text, p_name text, p_role text, p_reports text)
        RETURNS void LANGUAGE plpgsql AS $f$
        DECLARE
            t tickets%ROWTYPE;
            cb callbacks%ROWTYPE;
            reaches boolean := false;
            de boolean;
        BEGIN
            IF p_type = 'staffEnrolled' THEN
                IF p_staff IS NOT NULL THEN
                    INSERT INTO staff (staff, name, role, reports_to) VALUES (p_staff, p_name, p_role, p_reports)
                    ON CONFLICT (staff) DO UPDATE SET name = excluded.name, role = excluded.role, reports_to = excluded.reports_to;
                END IF;
                RETURN;
            ELSIF p_type = 'staffReassigned' THEN
                UPDATE staff SET reports_to = p_reports, role = coalesce(p_role, role) WHERE staff = p_staff;
                RETURN;
            ELSIF p_ticket IS NULL OR p_type IN (\(nonTicketTypes.sorted().map { "'\($0)'" }.joined(separator: ", "))) THEN
                RETURN;
            END IF;
            IF p_type = 'callOpened' THEN
                IF p_who IS NULL THEN RETURN; END IF;
                INSERT INTO tickets (ticket, opened_by, owner, first_seq, last_seq, events, last_type, last_at)
                VALUES (p_ticket, p_who, p_who, p_seq, p_seq, 1, p_type, p_at) ON CONFLICT (ticket) DO NOTHING;
                IF FOUND THEN PERFORM score(p_who, 1, 1); END IF;
                RETURN;
            END IF;
            UPDATE tickets SET last_seq = p_seq, events = events + 1, last_type = p_type, last_at = p_at,
                escalations = escalations + (p_type = 'escalationRequested')::int,
                asks = CASE WHEN p_type = 'escalationRequested' THEN 0 WHEN p_ask THEN asks + 1 ELSE asks END,
                transfers = transfers + (p_type = 'transferred')::int,
                owner = CASE WHEN p_type = 'transferred' THEN p_to ELSE owner END,
                callbacks = callbacks + (p_type = 'callbackScheduled')::int,
                resolved = CASE p_type WHEN 'ticketResolved' THEN true WHEN 'ticketReopened' THEN false
                                       WHEN 'escalationRequested' THEN false ELSE resolved END,
                resolution = CASE p_type WHEN 'ticketResolved' THEN p_res WHEN 'ticketReopened' THEN NULL ELSE resolution END
            WHERE ticket = p_ticket
            RETURNING * INTO t;
            IF NOT FOUND THEN RETURN; END IF;
            CASE p_type
                WHEN 'escalationRequested' THEN
                    PERFORM score(t.opened_by, 2, 1);
                    IF t.escalations = 1 THEN PERFORM score(t.opened_by, 3, 1); END IF;
                WHEN 'deEscalationAttempted' THEN PERFORM score(p_who, 4, 1);
                WHEN 'transferred' THEN
                    PERFORM score(p_who, 6, 1);
                    IF NOT (t.escalations > 0 AND t.asks < 2) THEN PERFORM score(p_who, 7, 1); END IF;
                    reaches := coalesce((SELECT role IN ('supervisor', 'manager', 'director') FROM staff WHERE staff = p_to), false);
                WHEN 'callbackScheduled' THEN
                    IF p_who IS NOT NULL THEN
                        INSERT INTO callbacks (ticket, seq, owner, due_us) VALUES (p_ticket, p_seq, p_who, p_due);
                    END IF;
                    PERFORM score(p_who, 8, 1);
                    reaches := coalesce((SELECT role IN ('supervisor', 'manager', 'director') FROM staff WHERE staff = p_who), false);
                WHEN 'callbackCompleted' THEN
                    SELECT * INTO cb FROM callbacks WHERE ticket = p_ticket AND done_us IS NULL
                    ORDER BY (owner = p_who) DESC, seq LIMIT 1;
                    IF FOUND THEN
                        UPDATE callbacks SET done_us = p_at_us WHERE ticket = p_ticket AND seq = cb.seq;
                        PERFORM score(cb.owner, CASE WHEN p_at_us <= cb.due_us THEN 9 ELSE 10 END, 1);
                    END IF;
                WHEN 'requestDeclined' THEN PERFORM score(p_who, 11, 1);
                WHEN 'feedbackGiven' THEN PERFORM score(p_who, 12, 1);
                WHEN 'sanctionIssued' THEN PERFORM score(p_who, 13, 1);
                WHEN 'debriefHeld' THEN PERFORM score(p_who, 14, 1);
                ELSE NULL;
            END CASE;
            IF reaches AND NOT t.reached THEN
                UPDATE tickets SET reached = true WHERE ticket = p_ticket;
                PERFORM score(t.opened_by, 15, 1);
            END IF;
            de := t.escalations > 0 AND t.resolved AND coalesce(t.resolution IN ('resolvedByAgent', 'customerWithdrew'), false)
                  AND t.transfers = 0 AND t.callbacks = 0;
            IF de <> t.de_escalated THEN
                UPDATE tickets SET de_escalated = de WHERE ticket = p_ticket;
                PERFORM score(t.opened_by, 5, CASE WHEN de THEN 1 ELSE -1 END);
            END IF;
        END $f$;

        CREATE FUNCTION import_batch(ids text[], streams text[], types text[], ats text[], at_us bigint[], actors text[],
                                     tickets_ text[], payloads bytea[], whos text[], tos text[], dues bigint[], asks boolean[],
                                     res text[], staffs text[], names text[], roles text[], reports text[])
        RETURNS int LANGUAGE plpgsql AS $f$
        DECLARE
            s bigint;
            appended int := 0;
        BEGIN
            FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
                s := NULL;
                INSERT INTO events (id, stream, version, type, at, actor, ticket, payload)
                VALUES (ids[i], streams[i], (SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = streams[i]),
                        types[i], ats[i], nullif(actors[i], ''), nullif(tickets_[i], ''), payloads[i])
                ON CONFLICT (id) DO NOTHING
                RETURNING seq INTO s;
                IF s IS NOT NULL THEN
                    appended := appended + 1;
                    PERFORM project_event(s, types[i], ats[i], at_us[i], nullif(tickets_[i], ''), nullif(whos[i], ''),
                                          nullif(tos[i], ''), dues[i], asks[i], nullif(res[i], ''),
                                          nullif(staffs[i], ''), nullif(names[i], ''), nullif(roles[i], ''), nullif(reports[i], ''));
                END IF;
            END LOOP;
            RETURN appended;
        END $f$;

        CREATE FUNCTION project_batch(seqs bigint[], types text[], ats text[], at_us bigint[], tickets_ text[], whos text[],
                                      tos text[], dues bigint[], asks boolean[], res text[],
                                      staffs text[], names text[], roles text[], reports text[])
        RETURNS void LANGUAGE plpgsql AS $f$
        BEGIN
            FOR i IN 1 .. coalesce(array_length(seqs, 1), 0) LOOP
                PERFORM project_event(seqs[i], types[i], ats[i], at_us[i], nullif(tickets_[i], ''), nullif(whos[i], ''),
                                      nullif(tos[i], ''), dues[i], asks[i], nullif(res[i], ''),
                                      nullif(staffs[i], ''), nullif(names[i], ''), nullif(roles[i], ''), nullif(reports[i], ''));
            END LOOP;
        END $f$;
        """

    /// Creates the schema and the functions in an empty database.
    static func create(_ c: PostgresConnection) async throws {
        try await PG.script(c, schema)
    }

    /// The projection inputs of parsed lines as the functions' array arguments (NULL as '').
    struct Columns {
        var types: [String] = [], ats: [String] = [], atUs: [Int64] = [], tickets: [String] = [], whos: [String] = []
        var tos: [String] = [], dues: [Int64] = [], asks: [Bool] = [], res: [String] = []
        var staffs: [String] = [], names: [String] = [], roles: [String] = [], reports: [String] = []

        init(capacity: Int) {
            types.reserveCapacity(capacity); ats.reserveCapacity(capacity); atUs.reserveCapacity(capacity)
            tickets.reserveCapacity(capacity); whos.reserveCapacity(capacity); tos.reserveCapacity(capacity)
            dues.reserveCapacity(capacity); asks.reserveCapacity(capacity); res.reserveCapacity(capacity)
            staffs.reserveCapacity(capacity); names.reserveCapacity(capacity); roles.reserveCapacity(capacity)
            reports.reserveCapacity(capacity)
        }

        mutating func append(_ p: ParsedLine) {
            types.append(p.type); ats.append(p.at); atUs.append(p.atMicros); tickets.append(p.ticket ?? "")
            whos.append(p.who ?? ""); tos.append(p.to ?? ""); dues.append(p.dueMicros); asks.append(p.askDeclined)
            res.append(p.resolution ?? ""); staffs.append(p.staff ?? ""); names.append(p.name ?? "")
            roles.append(p.role ?? ""); reports.append(p.reportsTo ?? "")
        }

        func bind(_ b: inout PostgresBindings) {
            b.append(types); b.append(ats); b.append(atUs); b.append(tickets); b.append(whos); b.append(tos)
            b.append(dues); b.append(asks); b.append(res); b.append(staffs); b.append(names); b.append(roles); b.append(reports)
        }
    }

    /// Parses `lines` and imports them with one `import_batch` call (its own transaction).
    static func importBatch(_ c: PostgresConnection, _ lines: ArraySlice<[UInt8]>, into tally: inout ImportTally) async throws {
        var ids: [String] = [], streams: [String] = [], actors: [String] = [], payloads: [ByteBuffer] = []
        ids.reserveCapacity(lines.count); streams.reserveCapacity(lines.count)
        actors.reserveCapacity(lines.count); payloads.reserveCapacity(lines.count)
        var cols = Columns(capacity: lines.count)
        var parsed = 0
        for line in lines {
            guard let p = ParsedLine.parse(Data(line)) else { tally.refused += 1; continue }
            parsed += 1
            ids.append(p.id); streams.append(p.stream); actors.append(p.actor ?? "")
            payloads.append(ByteBuffer(bytes: line))
            cols.append(p)
        }
        var b = PostgresBindings(capacity: 17)
        b.append(ids); b.append(streams); b.append(cols.types); b.append(cols.ats); b.append(cols.atUs); b.append(actors)
        b.append(cols.tickets); b.append(payloads); b.append(cols.whos); b.append(cols.tos); b.append(cols.dues)
        b.append(cols.asks); b.append(cols.res); b.append(cols.staffs); b.append(cols.names); b.append(cols.roles)
        b.append(cols.reports)
        let sql = """
            SELECT import_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bytea[],
                                $9::text[], $10::text[], $11::bigint[], $12::boolean[], $13::text[], $14::text[], $15::text[],
                                $16::text[], $17::text[])
            """
        var appended = 0
        for try await n in try await c.query(PostgresQuery(unsafeSQL: sql, binds: b), logger: PG.logger).decode(Int.self) { appended = n }
        tally.appended += appended
        tally.duplicates += parsed - appended
    }

    /// Empties the projections and folds every event again in seq order, in one transaction:
    /// pages of 8,192 events read back (`seq > last ORDER BY seq LIMIT`), parsed in the client,
    /// sent to `project_batch`. Returns the events read.
    static func rebuildProjections(_ c: PostgresConnection) async throws -> Int {
        try await PG.exec(c, "BEGIN")
        do {
            try await PG.exec(c, "TRUNCATE tickets, callbacks, staff, scorecards")
            var last: Int64 = 0, n = 0
            while true {
                var seqs: [Int64] = []
                var cols = Columns(capacity: 8192)
                var page = 0
                let rows = try await c.query("SELECT seq, payload FROM events WHERE seq > \(last) ORDER BY seq LIMIT 8192", logger: PG.logger)
                for try await (seq, payload) in rows.decode((Int64, ByteBuffer).self) {
                    last = seq
                    page += 1
                    guard let p = ParsedLine.parse(Data(payload.readableBytesView)) else { continue }
                    seqs.append(seq)
                    cols.append(p)
                }
                n += page
                if !seqs.isEmpty {
                    var b = PostgresBindings(capacity: 14)
                    b.append(seqs)
                    cols.bind(&b)
                    try await c.query(PostgresQuery(unsafeSQL: """
                        SELECT project_batch($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                                             $8::bigint[], $9::boolean[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
                        """, binds: b), logger: PG.logger)
                }
                if page < 8192 { break }
            }
            try await PG.exec(c, "COMMIT")
            return n
        } catch {
            try? await PG.exec(c, "ROLLBACK")
            throw error
        }
    }

    static let scorecardSQL = "SELECT st.staff, st.name, st.role, \(ScoreColumn.allCases.map { "sc." + $0.column }.joined(separator: ", ")) "
        + "FROM staff st LEFT JOIN scorecards sc ON sc.staff = st.staff WHERE st.staff = $1"

    static func scoreTotals(_ c: PostgresConnection) async throws -> [Int] {
        let sql = "SELECT ARRAY[" + ScoreColumn.allCases.map { "coalesce(sum(\($0.column)), 0)::bigint" }.joined(separator: ", ") + "] FROM scorecards"
        for try await v in try await c.query(PostgresQuery(unsafeSQL: sql), logger: PG.logger).decode([Int64].self) { return v.map { Int($0) } }
        return []
    }
}
