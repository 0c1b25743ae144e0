import EscalationDomain
import EventLog
import Projections

/// The `--json` shapes of CONTRACT.md section 8, field names as in section 6.
/// Each writes one value into a ``JSONWriter``. Shared by the command line and the service
/// (Sources/LedgerService), so that both give the same answer in the same shape.
public enum JSONShape {
    /// `{"id","kind","ticket","staff","seq","at","reason"}` (section 5).
    public static func finding(_ f: Finding, change: String? = nil, into w: inout JSONWriter) {
        w.beginObject()
        if let change { w.field("change", change) }
        w.field("id", f.id)
        w.field("kind", f.kind.rawValue)
        w.field("ticket", f.ticket)
        w.field("staff", f.staff)
        w.field("seq", f.seq)
        w.field("at", f.at)
        w.field("reason", f.reason)
        w.endObject()
    }

    public static func findings(_ list: [Finding], into w: inout JSONWriter) {
        w.beginArray()
        for f in list { finding(f, into: &w) }
        w.endArray()
    }

    /// The ticket object of section 6; `events` (display lines, each a JSON object) when given.
    ///
    /// `transfers` is the number of transfers, like `escalations`; each transfer's
    /// details (from, to, mode, announced name and extension) are in `events`.
    public static func ticket(_ t: TicketState, findings: [Finding], events: [Ledger.DisplayEvent]?, into w: inout JSONWriter) {
        w.beginObject()
        w.field("ticket", t.ticket)
        w.field("status", t.status.rawValue)
        w.field("owner", t.owner)
        w.field("openedBy", t.openedBy)
        w.field("level", t.level?.rawValue)
        w.field("asks", t.asks)
        w.field("escalations", t.escalations)
        w.field("transfers", t.transfers.count)
        w.key("callbacks")
        w.beginArray()
        for c in t.callbacks {
            w.beginObject()
            w.field("owner", c.owner)
            w.field("dueBy", c.dueBy)
            w.field("completedAt", c.completedAt)
            w.endObject()
        }
        w.endArray()
        w.key("findings")
        JSONShape.findings(findings, into: &w)
        w.field("version", t.version)
        w.field("lastSeq", t.lastSeq)
        w.field("openedAt", t.openedAt)
        w.field("resolution", t.resolution?.rawValue)
        w.field("resolvedAt", t.resolvedAt)
        if let events {
            w.key("events")
            w.beginArray()
            for e in events { w.raw(e.json) }
            w.endArray()
        }
        w.endObject()
    }

    /// One scorecard object: every field of section 6, plus `name` and `role`.
    public static func scorecard(_ s: Scorecard, into w: inout JSONWriter) {
        let c = s.counters
        w.beginObject()
        w.field("staff", s.staff)
        w.field("name", s.name)
        w.field("role", s.role.rawValue)
        w.field("callsOpened", c.callsOpened)
        w.field("escalationRequests", c.escalationRequests)
        w.field("deEscalationAttempts", c.deEscalationAttempts)
        w.field("deEscalated", c.deEscalated)
        w.field("deEscalationRate", s.deEscalationRate)
        w.field("transfersOut", c.transfersOut)
        w.field("twoAskCompliance", s.twoAskCompliance)
        w.field("callbacksOwed", c.callbacksOwed)
        w.field("callbacksOnTime", c.callbacksOnTime)
        w.field("callbacksLate", c.callbacksLate)
        w.field("callbacksOverdue", s.callbacksOverdue)
        w.field("requestsDeclined", c.requestsDeclined)
        w.field("feedbackReceived", c.feedbackReceived)
        w.field("sanctionsReceived", c.sanctionsReceived)
        w.field("debriefs", c.debriefs)
        w.key("findings")
        w.beginObject()
        for kind in s.findings.keys.sorted() { w.field(kind.rawValue, s.findings[kind]!) }
        w.endObject()
        w.field("supervisorLoad", c.supervisorLoad)
        w.field("escalationCost", c.escalationCost, decimals: 2)
        w.endObject()
    }

    /// One audit-trail entry (section 6).
    public static func audit(_ e: Ledger.AuditEntry, into w: inout JSONWriter) {
        w.beginObject()
        w.field("seq", e.seq)
        w.field("recordedAt", e.recordedAt)
        w.field("at", e.at)
        w.field("actor", e.actor)
        w.field("channel", e.channel)
        w.field("type", e.type)
        w.field("ticket", e.ticket)
        w.field("summary", e.summary)
        w.field("hash", e.hash)
        w.endObject()
    }

    /// `{"appended","duplicates","refused":[{"line","id","rule","field","message"}]}` and the lines read.
    public static func importReport(_ r: ImportReport, atomic: Bool, into w: inout JSONWriter) {
        w.beginObject()
        w.field("appended", r.appended)
        w.field("duplicates", r.duplicates)
        w.key("refused")
        w.beginArray()
        for f in r.refused {
            w.beginObject()
            w.field("line", f.line)
            w.field("id", f.id)
            w.field("rule", f.rule)
            w.field("field", f.field)
            w.field("message", f.message)
            w.endObject()
        }
        w.endArray()
        w.field("lines", r.lines)
        w.field("atomic", atomic)
        w.field("rolledBack", r.rolledBack)
        w.endObject()
    }

    /// `{"ok","checked","firstBadSeq"}` and, when damaged, `problem`.
    public static func verify(_ r: VerifyResult, into w: inout JSONWriter) {
        w.beginObject()
        w.field("ok", r.ok)
        w.field("checked", r.checked)
        w.key("firstBadSeq")
        if let s = r.firstBadSeq { w.int(s) } else { w.null() }
        w.field("problem", r.problem)
        w.endObject()
    }

    /// `{"events","streams","lastSeq","headHash","bytes"}` and more.
    public static func stats(_ s: Ledger.Stats, into w: inout JSONWriter) {
        w.beginObject()
        w.field("events", s.events)
        w.field("streams", s.streams)
        w.field("lastSeq", s.lastSeq)
        w.field("headHash", s.headHash)
        w.field("bytes", s.bytes)
        w.field("lastRecordedAt", s.lastRecordedAt)
        w.field("mapSize", s.mapSize)
        w.field("mapUsed", s.mapUsed)
        w.field("tickets", s.tickets)
        w.field("staff", s.staff)
        w.field("customersWithKeys", s.customersWithKeys)
        w.field("projectionCheckpoint", s.projectionCheckpoint)
        w.endObject()
    }
}
