import EscalationDomain
import Foundation
import Projections

/// The manager's summary of a period (`ledger report`, CONTRACT.md section 8): outcomes,
/// escalation and de-escalation rates, two-ask compliance, callbacks on time, findings per 1,000
/// calls, the best and worst de-escalators, the costliest escalation sources and a weekly trend.
public struct Report: Sendable {
    public struct Agent: Sendable, Equatable {
        public var staff: String
        public var ticketsWithRequest: Int
        public var deEscalated: Int
        public var rate: Double { ticketsWithRequest == 0 ? 0 : Double(deEscalated) / Double(ticketsWithRequest) }
        public init(staff: String, ticketsWithRequest: Int, deEscalated: Int) {
            self.staff = staff; self.ticketsWithRequest = ticketsWithRequest; self.deEscalated = deEscalated
        }
    }
    public struct Source: Sendable, Equatable {
        public var staff: String
        public var tickets: Int
        public var reachedSupervisor: Int
        public var cost: Double
        public init(staff: String, tickets: Int, reachedSupervisor: Int, cost: Double) {
            self.staff = staff; self.tickets = tickets; self.reachedSupervisor = reachedSupervisor; self.cost = cost
        }
    }
    public struct Week: Sendable, Equatable {
        /// Monday 00:00 UTC.
        public var start: Timestamp
        public var tickets = 0, escalated = 0, deEscalated = 0, findings = 0
        public init(start: Timestamp) { self.start = start }
    }

    /// Tickets opened in [from, to] (either bound open when nil), judged at `clock`.
    public var from: Timestamp?, to: Timestamp?, clock: Timestamp
    public var tickets = 0
    public var resolutions: [String: Int] = [:]
    public var unresolved: [String: Int] = [:]
    public var escalated = 0
    public var deEscalated = 0
    /// Transfers on escalated tickets, and those made after two declined asks.
    public var transfersAfterRequest = 0, compliantTransfers = 0
    /// Callbacks whose `dueBy` has passed at the clock, and those completed by then.
    public var callbacksDue = 0, callbacksOnTime = 0
    public var findings: [Finding.Kind: Int] = [:]
    /// Agents with at least `minimumRequests` tickets with a request, best de-escalation rate first.
    public var deEscalators: [Agent] = []
    public var minimumRequests = 0
    /// Openers by the senior time their tickets cost, costliest first.
    public var sources: [Source] = []
    public var weeks: [Week] = []

    public var escalationRate: Double? { tickets == 0 ? nil : Double(escalated) / Double(tickets) }
    public var deEscalationRate: Double? { escalated == 0 ? nil : Double(deEscalated) / Double(escalated) }
    public var twoAskCompliance: Double? { transfersAfterRequest == 0 ? nil : Double(compliantTransfers) / Double(transfersAfterRequest) }
    public var callbackOnTimeRate: Double? { callbacksDue == 0 ? nil : Double(callbacksOnTime) / Double(callbacksDue) }
    public func perThousandCalls(_ kind: Finding.Kind) -> Double { tickets == 0 ? 0 : Double(findings[kind] ?? 0) * 1000 / Double(tickets) }

    public init(from: Timestamp?, to: Timestamp?, clock: Timestamp) { self.from = from; self.to = to; self.clock = clock }
}

extension Ledger {
    /// The report of the tickets opened in [`from`, `to`] as the ledger stands at `point`, with
    /// deadlines judged at `point.clock`. Agents need `minimumRequests` tickets with a request to
    /// be ranked (nil: the demo's rule, half the average, between 3 and 30).
    public func report(from: Timestamp?, to: Timestamp?, at point: QueryPoint, minimumRequests: Int? = nil) throws -> Report {
        var r = Report(from: from, to: to, clock: point.clock)
        var requests: [String: Int] = [:], deEscalated: [String: Int] = [:]
        var sources: [String: Report.Source] = [:]
        var weeks: [Int64: Report.Week] = [:]
        try withProjections(at: point) { snapshot in
            try snapshot.forEachTicket { t in
                if let from, t.openedAt < from { return }
                if let to, t.openedAt > to { return }
                r.tickets += 1
                if t.status == .resolved, let res = t.resolution { r.resolutions[res.rawValue, default: 0] += 1 } else { r.unresolved[t.status.rawValue, default: 0] += 1 }
                let found = t.findings(clock: point.clock)
                for f in found { r.findings[f.kind, default: 0] += 1 }
                if t.escalations > 0 {
                    r.escalated += 1
                    requests[t.openedBy, default: 0] += 1
                    r.transfersAfterRequest += t.transfers.count
                    r.compliantTransfers += t.transfers.count - found.filter { $0.kind == .transferBeforeTwoAsks }.count
                }
                if t.isDeEscalated { r.deEscalated += 1; deEscalated[t.openedBy, default: 0] += 1 }
                for c in t.callbacks where c.dueBy <= point.clock {
                    r.callbacksDue += 1
                    if let done = c.completedAt, done <= c.dueBy { r.callbacksOnTime += 1 }
                }
                var s = sources[t.openedBy] ?? Report.Source(staff: t.openedBy, tickets: 0, reachedSupervisor: 0, cost: 0)
                s.tickets += 1
                if t.reachedSupervisor { s.reachedSupervisor += 1 }
                s.cost += t.contributedCost
                sources[t.openedBy] = s
                let start = Ledger.weekStart(t.openedAt)
                var w = weeks[start.microsecondsSinceEpoch] ?? Report.Week(start: start)
                w.tickets += 1
                if t.escalations > 0 { w.escalated += 1 }
                if t.isDeEscalated { w.deEscalated += 1 }
                w.findings += found.count
                weeks[start.microsecondsSinceEpoch] = w
            }
        }
        let average = requests.isEmpty ? 0 : requests.values.reduce(0, +) / requests.count
        r.minimumRequests = minimumRequests ?? min(30, max(3, average / 2))
        r.deEscalators = requests.filter { $0.value >= r.minimumRequests }
            .map { Report.Agent(staff: $0.key, ticketsWithRequest: $0.value, deEscalated: deEscalated[$0.key] ?? 0) }
            .sorted { ($0.rate, $1.staff) > ($1.rate, $0.staff) }
        r.sources = sources.values.filter { $0.cost > 0 }.sorted { ($0.cost, $1.staff) > ($1.cost, $0.staff) }
        r.weeks = weeks.values.sorted { $0.start < $1.start }
        return r
    }

    /// Monday 00:00 UTC of the week holding `t`.
    static func weekStart(_ t: Timestamp) -> Timestamp {
        let day: Int64 = 86_400_000_000
        let days = t.microsecondsSinceEpoch >= 0 ? t.microsecondsSinceEpoch / day : (t.microsecondsSinceEpoch - day + 1) / day
        let weekday = ((days % 7) + 7 + 3) % 7  // 1970-01-01 was a Thursday: Monday is 0
        return Timestamp(microsecondsSinceEpoch: (days - weekday) * day)
    }
}

extension Report {
    /// The CSV rows (`section,name,value`, header first) that every CSV of a report begins
    /// with: the period, volume, outcomes, rates and findings by kind. `ledger report --format csv`
    /// and the web view's overview download add their own sections after these.
    public var summaryCSVRows: [[String]] {
        var rows: [[String]] = [["section", "name", "value"]]
        func num(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "" }
        rows.append(["period", "from", from?.description ?? ""]); rows.append(["period", "to", to?.description ?? ""])
        rows.append(["period", "clock", clock.description]); rows.append(["volume", "tickets", String(tickets)])
        for k in resolutions.keys.sorted() { rows.append(["outcome", k, String(resolutions[k]!)]) }
        for k in unresolved.keys.sorted() { rows.append(["outcome", k, String(unresolved[k]!)]) }
        rows += [["rate", "escalationRate", num(escalationRate)], ["rate", "deEscalationRate", num(deEscalationRate)],
                 ["rate", "twoAskCompliance", num(twoAskCompliance)], ["rate", "callbackOnTimeRate", num(callbackOnTimeRate)]]
        for k in Finding.Kind.allCases {
            rows.append(["findings", k.rawValue, String(findings[k] ?? 0)])
            rows.append(["findingsPerThousandCalls", k.rawValue, String(format: "%.2f", perThousandCalls(k))])
        }
        return rows
    }
}
