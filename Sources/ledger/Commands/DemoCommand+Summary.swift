import EscalationDomain
import EventLog
import Foundation
import Ledger
import Projections

/// The manager's summary of a demo run.
struct DemoSummary {
    let path: String
    let calls: Int
    let seed: UInt64
    let report: ImportReport
    let recorder: DemoRecorder
    let head: EventLog.Head
    let verified: VerifyResult
    let importSeconds: Double
    let replaySeconds: Double
    let verifySeconds: Double

    var clock = Timestamp(microsecondsSinceEpoch: 0)
    var firstAt: Timestamp?
    var tickets = 0
    var byResolution: [String: Int] = [:]
    var byStatus: [String: Int] = [:]
    var escalated = 0
    var deEscalated = 0
    var reachedSupervisor = 0
    var findingsByKind: [Finding.Kind: Int] = [:]
    var cards: [Scorecard] = []
    var exampleTicket: String?

    init(path: String, calls: Int, seed: UInt64, report: ImportReport, recorder: DemoRecorder, head: EventLog.Head,
         verified: VerifyResult, importSeconds: Double, replaySeconds: Double, verifySeconds: Double) {
        self.path = path; self.calls = calls; self.seed = seed; self.report = report; self.recorder = recorder
        self.head = head; self.verified = verified; self.importSeconds = importSeconds
        self.replaySeconds = replaySeconds; self.verifySeconds = verifySeconds
    }

    /// One pass over the ticket projection, and the scorecards, at the end of the simulated period.
    mutating func measure(_ ledger: Ledger) throws {
        if head.seq > 0, let last = try ledger.log.event(seq: head.seq) {
            clock = try ledger.display(last).event.at
        }
        if head.seq > 0, let first = try ledger.log.event(seq: 1) { firstAt = try ledger.display(first).event.at }
        let point = try ledger.point(asOf: nil, now: clock)
        var summary = self
        try ledger.withProjections(at: point) { snapshot in
            try snapshot.forEachTicket { t in
                summary.tickets += 1
                summary.byStatus[t.status.rawValue, default: 0] += 1
                if let r = t.resolution, t.status == .resolved { summary.byResolution[r.rawValue, default: 0] += 1 }
                if t.escalations > 0 { summary.escalated += 1 }
                if t.isDeEscalated { summary.deEscalated += 1 }
                if t.reachedSupervisor { summary.reachedSupervisor += 1 }
                let found = t.findings(clock: point.clock)
                for f in found { summary.findingsByKind[f.kind, default: 0] += 1 }
                if summary.exampleTicket == nil, found.count >= 2, t.status == .resolved { summary.exampleTicket = t.ticket }
            }
            summary.cards = try snapshot.scorecards(clock: point.clock)
        }
        self = summary
    }

    func render() -> String {
        var out: [String] = []
        let tally = recorder.tally
        let lines = report.lines
        out.append("")
        out.append("Escalation ledger demo: \(Format.count(tally.calls)) calls, seed \(seed), ledger \(path)")
        if let firstAt {
            let days = Double(clock.microseconds(since: firstAt)) / 86_400_000_000
            out.append("Simulated period: \(firstAt) to \(clock) (\(String(format: "%.1f", days)) days); "
                       + "figures below are as of its end")
        }

        // Volumes and rates.
        out.append("")
        out.append("Volumes")
        var volumes = Table([Table.Column("what"), Table.Column("count", numeric: true), Table.Column("note")])
        volumes.add(["lines generated", Format.count(lines), String(format: "%.1f lines a call", Double(lines) / Double(max(1, tally.calls)))])
        volumes.add(["events appended", Format.count(report.appended),
                     "\(Format.count(Double(report.appended) / max(importSeconds, 0.001))) events/s (simulate + import, \(Format.seconds(importSeconds)))"])
        volumes.add(["duplicates", Format.count(report.duplicates), "same id, same content: stored once"])
        volumes.add(["lines refused", Format.count(report.refused.count),
                     Format.percent(Double(report.refused.count) / Double(max(1, lines)), decimals: 2) + " of lines"])
        volumes.add(["projections rebuilt", Format.count(head.seq),
                     "\(Format.count(Double(head.seq) / max(replaySeconds, 0.001))) events/s (\(Format.seconds(replaySeconds)))"])
        out.append(indent(volumes.render()))

        // Refusals against the simulator's intent.
        out.append("")
        out.append(contentsOf: refusals())

        // Outcomes.
        out.append("")
        out.append("Outcomes (\(Format.count(tickets)) tickets)")
        var outcomes = Table([Table.Column("resolution / status"), Table.Column("tickets", numeric: true), Table.Column("share", numeric: true)])
        for r in Resolution.allCases {
            let n = byResolution[r.rawValue] ?? 0
            outcomes.add([r.rawValue, Format.count(n), share(n, tickets)])
        }
        for s in ["open", "escalationRequested", "awaitingCallback", "transferred"] {
            let n = byStatus[s] ?? 0
            if n > 0 { outcomes.add(["still \(s)", Format.count(n), share(n, tickets)]) }
        }
        out.append(indent(outcomes.render()))
        out.append("  escalation requested on \(Format.count(escalated)) tickets (\(share(escalated, tickets))); "
                   + "de-escalated by the agent on \(Format.count(deEscalated)) (\(share(deEscalated, escalated)) of those); "
                   + "\(Format.count(reachedSupervisor)) reached a supervisor or above")
        out.append("  personal data: \(Format.count(tally.customersErased)) customers erased "
                   + "(\(Format.count(tally.callsAfterErasure)) later calls by an erased customer id started new records); "
                   + "\(Format.count(tally.customersWithIDAlone)) calls recorded the customer by id alone")

        // De-escalators.
        let agents = cards.filter { $0.role == .agent }
        let requests = agents.map(\.counters.ticketsWithRequest).reduce(0, +)
        let minSample = min(30, max(3, requests / max(1, agents.count) / 2))
        let ranked = agents.filter { $0.counters.ticketsWithRequest >= minSample }
            .sorted { ($0.deEscalationRate ?? 0, $1.staff) > ($1.deEscalationRate ?? 0, $0.staff) }
        out.append("")
        if ranked.isEmpty {
            out.append("De-escalators: no agent had \(minSample) or more tickets with a request")
        } else {
            let n = min(5, max(1, ranked.count / 2))
            out.append("Best de-escalators (agents with at least \(minSample) tickets with a request)")
            out.append(indent(deEscalatorTable(Array(ranked.prefix(n))).render()))
            out.append("")
            out.append("Worst de-escalators")
            out.append(indent(deEscalatorTable(Array(ranked.suffix(n).reversed())).render()))
        }

        // Findings.
        out.append("")
        let totalFindings = findingsByKind.values.reduce(0, +)
        out.append("Findings by kind (\(Format.count(totalFindings)) in all)")
        var findings = Table([Table.Column("kind"), Table.Column("findings", numeric: true), Table.Column("per 1,000 calls", numeric: true)])
        for k in Finding.Kind.allCases {
            let n = findingsByKind[k] ?? 0
            findings.add([k.rawValue, Format.count(n), String(format: "%.1f", Double(n) * 1000 / Double(max(1, tickets)))])
        }
        out.append(indent(findings.render()))

        // Costliest escalation sources.
        let costly = cards.filter { $0.counters.escalationCost > 0 }
            .sorted { ($0.counters.escalationCost, $1.staff) > ($1.counters.escalationCost, $0.staff) }
        out.append("")
        if costly.isEmpty {
            out.append("Costliest escalation sources: no senior time was spent")
        } else {
            let total = cards.map(\.counters.escalationCost).reduce(0, +)
            out.append("Costliest escalation sources (senior time on the tickets they opened; \(Format.money(total)) in all)")
            var table = Table([Table.Column("staff"), Table.Column("name"), Table.Column("calls", numeric: true),
                               Table.Column("reached sup.", numeric: true), Table.Column("cost", numeric: true),
                               Table.Column("share", numeric: true)], maxWidth: 28)
            for c in costly.prefix(5) {
                table.add([c.staff, c.name, Format.count(c.counters.callsOpened), Format.count(c.counters.supervisorLoad),
                           Format.money(c.counters.escalationCost), Format.percent(c.counters.escalationCost / max(total, 0.0001))])
            }
            out.append(indent(table.render()))
        }

        // Chain.
        out.append("")
        if verified.ok {
            out.append("Chain verified: \(Format.count(verified.checked)) events in \(Format.seconds(verifySeconds)); head hash \(head.hash.hex)")
        } else {
            out.append("CHAIN DAMAGED at seq \(verified.firstBadSeq.map(String.init) ?? "?"): \(verified.problem ?? "")")
        }

        // Next steps.
        let dir = path.contains(" ") ? "'\(path)'" : path
        out.append("")
        out.append("Try next:")
        if let t = exampleTicket { out.append("  ledger --ledger \(dir) ticket \(t) --now \(clock)") }
        if let worst = ranked.last { out.append("  ledger --ledger \(dir) scorecard \(worst.staff) --now \(clock)") }
        out.append("  ledger --ledger \(dir) findings --kind callbackOverdue --now \(clock)")
        out.append("  ledger --ledger \(dir) verify --json")
        return out.joined(separator: "\n")
    }

    /// Refused lines by rule, against the rules the simulator meant each line to break.
    func refusals() -> [String] {
        var out: [String] = []
        var refusedByRule: [String: Int] = [:]
        var matched = 0
        var mismatches: [String] = []
        for r in report.refused {
            refusedByRule[r.rule, default: 0] += 1
            if recorder.intended[r.line] == r.rule {
                matched += 1
            } else if mismatches.count < 5 {
                let meant = recorder.intended[r.line].map { "meant \($0)" } ?? "meant to be accepted"
                mismatches.append("line \(r.line): refused by \(r.rule) (\(meant)): \(Display.escaped(r.message))")
            }
        }
        let refusedLines = Set(report.refused.map(\.line))
        let missed = recorder.intended.keys.filter { !refusedLines.contains($0) }.sorted()
        let rules = Set(refusedByRule.keys).union(recorder.tally.refusedByRule.keys).sorted()
        out.append("Refused lines by rule")
        var table = Table([Table.Column("rule"), Table.Column("refused", numeric: true), Table.Column("intended", numeric: true),
                           Table.Column("check")])
        for rule in rules {
            let n = refusedByRule[rule] ?? 0
            let meant = recorder.tally.refusedByRule[rule] ?? 0
            table.add([rule, Format.count(n), Format.count(meant), n == meant ? "ok" : "DIFFERENT"])
        }
        if rules.isEmpty { out.append("  none (the simulation meant none)") } else { out.append(indent(table.render())) }
        let intended = recorder.intended.count
        if matched == report.refused.count && missed.isEmpty {
            out.append("  every refusal matched the simulator's intent: \(Format.count(matched)) lines, same line and rule")
        } else {
            out.append("  MISMATCH: \(Format.count(matched)) of \(Format.count(intended)) intended refusals matched; "
                       + "\(Format.count(report.refused.count - matched)) unexpected refusals, \(Format.count(missed.count)) intended lines accepted")
            for m in mismatches { out.append("    " + m) }
            for line in missed.prefix(5) { out.append("    line \(line): accepted, but meant to break \(recorder.intended[line]!)") }
        }
        return out
    }

    func deEscalatorTable(_ cards: [Scorecard]) -> Table {
        var t = Table([Table.Column("staff"), Table.Column("name"), Table.Column("rate", numeric: true),
                       Table.Column("de-escalated", numeric: true), Table.Column("with request", numeric: true),
                       Table.Column("2-ask", numeric: true)], maxWidth: 28)
        for c in cards {
            t.add([c.staff, c.name, Format.percent(c.deEscalationRate), Format.count(c.counters.deEscalated),
                   Format.count(c.counters.ticketsWithRequest), Format.percent(c.twoAskCompliance)])
        }
        return t
    }

    func share(_ n: Int, _ of: Int) -> String { Format.percent(Double(n) / Double(max(1, of))) }

    func indent(_ s: String) -> String { s.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") }
}
