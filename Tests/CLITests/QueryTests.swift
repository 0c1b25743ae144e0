import Foundation
import Testing

/// A ledger holding `Fixture.good`, made afresh for each test.
struct FixtureLedger {
    let dir: TemporaryDirectory
    var path: String { dir.ledger }

    init(lines: [String] = Fixture.good) throws {
        dir = try TemporaryDirectory()
        let file = try dir.file("good.jsonl", lines)
        let r = try CLI.run(["--ledger", dir.ledger, "import", file])
        try #require(r.status == 0, "fixture import failed: \(r.stderr)")
    }

    func run(_ arguments: [String]) throws -> CLI.Result { try CLI.run(["--ledger", path] + arguments) }

    /// Runs a query with `--json`, expects exit 0 and returns the parsed output.
    func json(_ arguments: [String]) throws -> Any {
        let r = try run(arguments + ["--json"])
        try #require(r.status == 0, "\(arguments) exited \(r.status): \(r.stderr)")
        return try r.json()
    }
}

@Suite("queries and their --json shapes")
struct QueryTests {
    static let findingFields = ["id", "kind", "ticket", "staff", "seq", "at", "reason"]

    static func checkFinding(_ value: Any) throws {
        let f = try JSONCheck.object(value)
        #expect(Set(f.keys) == Set(findingFields))
        #expect(JSONCheck.isString(f["kind"]) && JSONCheck.isString(f["ticket"]) && JSONCheck.isString(f["staff"]))
        #expect(JSONCheck.isInteger(f["seq"]))
    }

    static func kinds(_ value: Any) throws -> [String] {
        try JSONCheck.array(value).map { try #require(JSONCheck.object($0)["kind"] as? String) }
    }

    @Test("ticket --json: the ticket object of section 6 with events")
    func ticketShape() throws {
        let ledger = try FixtureLedger()
        let t = try JSONCheck.object(try ledger.json(["ticket", "T-1"]))
        #expect(t["ticket"] as? String == "T-1")
        #expect(t["status"] as? String == "awaitingCallback")
        #expect(t["owner"] as? String == "sup-1")
        #expect(t["openedBy"] as? String == "a-1")
        #expect(t["level"] as? String == "supervisor")
        for key in ["asks", "escalations", "transfers", "version", "lastSeq"] {
            #expect(JSONCheck.isInteger(t[key]), "\(key) is an integer")
        }
        #expect(t["asks"] as? Int == 1)
        #expect(t["escalations"] as? Int == 1)
        #expect(t["transfers"] as? Int == 1)
        #expect(t["version"] as? Int == 5)
        #expect(t["lastSeq"] as? Int == 9)
        let callbacks = try JSONCheck.array(t["callbacks"])
        #expect(callbacks.count == 1)
        let callback = try JSONCheck.object(callbacks.first)
        #expect(callback["owner"] as? String == "sup-1")
        #expect(callback["dueBy"] as? String == "2026-03-03T09:00:00Z")
        #expect(JSONCheck.isNull(callback["completedAt"]))
        for f in try JSONCheck.array(t["findings"]) { try Self.checkFinding(f) }
        let events = try JSONCheck.array(t["events"])
        #expect(events.count == 5)
        let first = try JSONCheck.object(events.first)
        #expect(first["type"] as? String == "callOpened")
        #expect(JSONCheck.isInteger(first["seq"]) && JSONCheck.isString(first["hash"]) && JSONCheck.isString(first["recordedAt"]))
    }

    @Test("scorecard --json: every field of section 6, plus name and role")
    func scorecardShape() throws {
        let ledger = try FixtureLedger()
        let cards = try JSONCheck.array(try ledger.json(["scorecard"]))
        #expect(cards.count == 4)
        let counts = ["callsOpened", "escalationRequests", "deEscalationAttempts", "deEscalated", "transfersOut",
                      "callbacksOwed", "callbacksOnTime", "callbacksLate", "callbacksOverdue", "requestsDeclined",
                      "feedbackReceived", "sanctionsReceived", "debriefs", "supervisorLoad"]
        for card in cards {
            let c = try JSONCheck.object(card)
            #expect(JSONCheck.isString(c["staff"]) && JSONCheck.isString(c["name"]) && JSONCheck.isString(c["role"]))
            for key in counts { #expect(JSONCheck.isInteger(c[key]), "\(key) is an integer") }
            for key in ["deEscalationRate", "twoAskCompliance"] {
                #expect(JSONCheck.isNumber(c[key]) || JSONCheck.isNull(c[key]), "\(key) is a number or null")
            }
            #expect(JSONCheck.isNumber(c["escalationCost"]))
            let findings = try JSONCheck.object(c["findings"])
            for (_, n) in findings { #expect(JSONCheck.isInteger(n)) }
        }
        let agent = try JSONCheck.object(try JSONCheck.array(try ledger.json(["scorecard", "a-1"])).first)
        #expect(agent["staff"] as? String == "a-1")
        #expect(agent["role"] as? String == "agent")
        #expect(agent["callsOpened"] as? Int == 1)
        #expect(agent["transfersOut"] as? Int == 1)
        #expect(agent["deEscalationRate"] as? Double == 0)
        #expect(agent["twoAskCompliance"] as? Double == 0)
        #expect(try JSONCheck.object(agent["findings"])["transferBeforeTwoAsks"] as? Int == 1)
        // CSV: the findings object as one readable cell, kind=n;kind=n.
        let csv = try ledger.run(["scorecard", "a-1", "--format", "csv"]).stdout.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let column = try #require(csv.first?.firstIndex(of: "findings"))
        #expect(csv.count == 2 && csv[1][column] == "transferBeforeTwoAsks=1", "\(csv)")
        let director = try JSONCheck.object(try JSONCheck.array(try ledger.json(["scorecard", "dir-1"])).first)
        #expect(JSONCheck.isNull(director["deEscalationRate"]), "null with no requests")
        #expect(JSONCheck.isNull(director["twoAskCompliance"]), "null with no transfers")
    }

    @Test("findings --json: {id, kind, ticket, staff, seq, at, reason}, filtered by kind, staff and ticket")
    func findingsShape() throws {
        let ledger = try FixtureLedger()
        let all = try ledger.json(["findings"])
        for f in try JSONCheck.array(all) { try Self.checkFinding(f) }
        #expect(Set(try Self.kinds(all)) == ["transferBeforeTwoAsks", "callbackOverdue", "followUpMissing"])
        #expect(try Self.kinds(try ledger.json(["findings", "--kind", "callbackOverdue"])) == ["callbackOverdue"])
        let bySupervisor = try JSONCheck.array(try ledger.json(["findings", "--staff", "sup-1"]))
        #expect(try bySupervisor.allSatisfy { try JSONCheck.object($0)["staff"] as? String == "sup-1" })
        #expect(try JSONCheck.array(try ledger.json(["findings", "--ticket", "T-404"])).isEmpty)
    }

    @Test("--now moves the clock: the callback is overdue only once it passes dueBy")
    func nowChangesFindings() throws {
        let ledger = try FixtureLedger()
        let before = try Self.kinds(try ledger.json(["findings", "--ticket", "T-1", "--now", "2026-03-02T12:00:00Z"]))
        #expect(before == ["transferBeforeTwoAsks"])
        let after = try Self.kinds(try ledger.json(["findings", "--ticket", "T-1", "--now", "2026-03-04T00:00:00Z"]))
        #expect(after.contains("callbackOverdue"))
        #expect(!after.contains("followUpMissing"), "the 14-day follow-up deadline has not passed yet")
        let card = try JSONCheck.object(try JSONCheck.array(
            try ledger.json(["scorecard", "sup-1", "--now", "2026-03-04T00:00:00Z"])).first)
        #expect(card["callbacksOverdue"] as? Int == 1)
        let early = try JSONCheck.object(try JSONCheck.array(
            try ledger.json(["scorecard", "sup-1", "--now", "2026-03-02T12:00:00Z"])).first)
        #expect(early["callbacksOverdue"] as? Int == 0)
    }

    @Test("--as-of a seq: the ticket and its findings as they stood then")
    func asOfSeq() throws {
        let ledger = try FixtureLedger()
        let t = try JSONCheck.object(try ledger.json(["ticket", "T-1", "--as-of", "7"]))
        #expect(t["status"] as? String == "escalationRequested")
        #expect(t["owner"] as? String == "a-1")
        #expect(t["lastSeq"] as? Int == 7)
        #expect(try JSONCheck.array(t["events"]).count == 3)
        #expect(try JSONCheck.array(t["findings"]).isEmpty, "no transfer yet")
        #expect(try JSONCheck.array(try ledger.json(["findings", "--as-of", "7"])).isEmpty)
        let card = try JSONCheck.object(try JSONCheck.array(try ledger.json(["scorecard", "a-1", "--as-of", "7"])).first)
        #expect(card["transfersOut"] as? Int == 0)
    }

    @Test("--known-at a time cuts by recordedAt (what the ledger knew then); --as-of a time by event time")
    func asOfTime() throws {
        let ledger = try FixtureLedger(lines: Fixture.organisation + Fixture.opened)
        Thread.sleep(forTimeInterval: 0.05)
        let cut = Self.rfc3339(Date())
        Thread.sleep(forTimeInterval: 0.05)
        let rest = try ledger.dir.file("rest.jsonl", Fixture.transferAndCallback)
        #expect(try ledger.run(["import", rest]).status == 0)

        let then = try JSONCheck.object(try ledger.json(["ticket", "T-1", "--known-at", cut]))
        #expect(then["lastSeq"] as? Int == 7)
        #expect(then["transfers"] as? Int == 0)
        let now = try JSONCheck.object(try ledger.json(["ticket", "T-1"]))
        #expect(now["lastSeq"] as? Int == 9)
        #expect(now["transfers"] as? Int == 1)
        // As of that same moment in event time, the transfer (which happened in March 2026) is in.
        let asOf = try JSONCheck.object(try ledger.json(["ticket", "T-1", "--as-of", cut]))
        #expect(asOf["transfers"] as? Int == 1)
        let early = try ledger.run(["ticket", "T-1", "--as-of", "2020-01-01T00:00:00Z"])
        #expect(early.status == 5, "no ticket in 2020")
        let empty = try ledger.run(["findings", "--as-of", "2020-01-01T00:00:00Z", "--json"])
        #expect(empty.status == 5 && empty.stderr.contains("nothing is recorded as of 2020-01-01T00:00:00Z") && empty.stderr.contains("{\"error\":{\"kind\":\"notFound\""),
                "an empty cut never looks like a clean record: \(empty.stderr)")
        #expect(early.stderr.contains("no ticket T-1"))
    }

    @Test("audit --json: entries with seq, times, actor, channel, type, ticket, summary and hash")
    func auditShape() throws {
        let ledger = try FixtureLedger()
        let all = try JSONCheck.array(try ledger.json(["audit"]))
        #expect(all.count == 9)
        for entry in all {
            let e = try JSONCheck.object(entry)
            #expect(JSONCheck.isInteger(e["seq"]))
            for key in ["recordedAt", "at", "actor", "channel", "type", "summary", "hash"] {
                #expect(JSONCheck.isString(e[key]), "\(key) is a string")
            }
            #expect(JSONCheck.isString(e["ticket"]) || JSONCheck.isNull(e["ticket"]))
        }
        #expect(try JSONCheck.array(try ledger.json(["audit", "--ticket", "T-1"])).count == 5)
        let bySupervisor = try JSONCheck.array(try ledger.json(["audit", "--staff", "sup-1"]))
            .compactMap { try JSONCheck.object($0)["seq"] as? Int }
        #expect(bySupervisor == [2, 3, 8, 9], "enrolled, named as a superior, as transfer target, as actor and callback owner")
        #expect(try JSONCheck.array(try ledger.json(["audit", "--channel", "ask:org"])).count == 4)
        #expect(try JSONCheck.array(try ledger.json(["audit", "--from", "2026-03-02T09:02:00Z", "--to", "2026-03-02T09:03:00Z"])).count == 2)
    }

    @Test("stats --json: events, streams, lastSeq, headHash, bytes")
    func statsShape() throws {
        let ledger = try FixtureLedger()
        let s = try JSONCheck.object(try ledger.json(["stats"]))
        #expect(s["events"] as? Int == 9)
        #expect(s["lastSeq"] as? Int == 9)
        #expect(s["streams"] as? Int == 5, "four staff streams and one ticket")
        let hash = try #require(s["headHash"] as? String)
        #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit))
        #expect(JSONCheck.isInteger(s["bytes"]) && (s["bytes"] as? Int ?? 0) > 0)
    }

    @Test("verify: exit 0, and --json reports ok with the count checked")
    func verifyOK() throws {
        let ledger = try FixtureLedger()
        let text = try ledger.run(["verify"])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("ok: 9 events verified"))
        let v = try JSONCheck.object(try ledger.json(["verify"]))
        #expect(v["ok"] as? Bool == true && JSONCheck.isBool(v["ok"]))
        #expect(v["checked"] as? Int == 9)
        #expect(JSONCheck.isNull(v["firstBadSeq"]))
    }

    @Test("verify: exit 4 and the first bad seq after a stored event is altered in place")
    func verifyDamaged() throws {
        let ledger = try FixtureLedger()
        let file = URL(fileURLWithPath: ledger.path).appendingPathComponent("log/data.mdb")
        var bytes = [UInt8](try Data(contentsOf: file))
        let needle = Array(#""ticket":"T-1","type":"callOpened""#.utf8)
        let at = try #require((0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) },
                              "T-1's callOpened (seq 5) names its ticket in clear")
        bytes.replaceSubrange(at..<(at + needle.count), with: Array(#""ticket":"T-9","type":"callOpened""#.utf8))
        try Data(bytes).write(to: file)

        let text = try ledger.run(["verify"])
        #expect(text.status == 4)
        #expect(text.stdout.contains("DAMAGED at seq 5"))
        let r = try ledger.run(["verify", "--json"])
        #expect(r.status == 4)
        let v = try JSONCheck.object(try r.json())
        #expect(v["ok"] as? Bool == false)
        #expect(v["firstBadSeq"] as? Int == 5)
        #expect(v["checked"] as? Int == 4)
    }

    @Test("replay rebuilds the projections: the same answers after it")
    func replay() throws {
        let ledger = try FixtureLedger()
        let before = try ledger.run(["scorecard", "--json", "--now", "2026-03-04T00:00:00Z"])
        let r = try ledger.run(["replay"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("replayed 9 events"))
        let after = try ledger.run(["scorecard", "--json", "--now", "2026-03-04T00:00:00Z"])
        #expect(before.stdout == after.stdout)
    }

    @Test("--ledger may stand before or after the command")
    func ledgerOptionPlacement() throws {
        let ledger = try FixtureLedger()
        let before = try CLI.run(["--ledger", ledger.path, "stats", "--json"])
        let after = try CLI.run(["stats", "--ledger", ledger.path, "--json"])
        #expect(before.status == 0 && after.status == 0)
        #expect(before.stdout == after.stdout)
    }

    @Test("tables without --json are aligned and readable")
    func tables() throws {
        let ledger = try FixtureLedger()
        let t = try ledger.run(["ticket", "T-1", "--now", "2026-03-04T00:00:00Z"])
        #expect(t.status == 0)
        #expect(t.stdout.contains("OVERDUE"))
        #expect(t.stdout.contains("Timeline"))
        let f = try ledger.run(["findings"])
        let lines = f.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("seq") == true)
        #expect(lines.dropFirst().first?.allSatisfy { $0 == "-" || $0 == " " } == true)
    }
}

@Suite("failures: exit 1 with a reason on stderr")
struct FailureTests {
    @Test("a bad --as-of, --now, --kind or --from is refused before anything runs",
          arguments: [
              ["ticket", "T-1", "--as-of", "yesterday"],
              ["findings", "--as-of", "-3"],
              ["scorecard", "--now", "2026-13-01T00:00:00Z"],
              ["findings", "--kind", "rudeness"],
              ["audit", "--from", "last week"],
          ])
    func badValues(_ arguments: [String]) throws {
        let ledger = try FixtureLedger()
        let r = try ledger.run(arguments)
        #expect(r.status == 1, "\(arguments): \(r.stdout)")
        #expect(r.stderr.contains("Error:"))
        #expect(!r.stderr.contains("Fatal error"))
        #expect(r.stdout.isEmpty)
    }

    @Test("a query on a missing ledger fails clearly and creates nothing")
    func missingLedger() throws {
        let dir = try TemporaryDirectory()
        let r = try CLI.run(["--ledger", dir.ledger, "findings"])
        #expect(r.status == 5)
        #expect(r.stderr.contains("no ledger at \(dir.ledger)"))
        #expect(!FileManager.default.fileExists(atPath: dir.ledger))
    }

    @Test("an unknown ticket or staff member exits 5")
    func unknownIDs() throws {
        let ledger = try FixtureLedger()
        let t = try ledger.run(["ticket", "T-999"])
        #expect(t.status == 5 && t.stderr.contains("no ticket T-999"))
        let s = try ledger.run(["scorecard", "ghost"])
        #expect(s.status == 5 && s.stderr.contains("no staff member ghost"))
    }

    @Test("--help teaches: it exits 0 and lists the commands with examples")
    func help() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for command in ["import", "ticket", "scorecard", "findings", "audit", "verify", "replay", "stats", "demo"] {
            #expect(r.stdout.contains("  \(command) "), "\(command) is listed")
        }
        let sub = try CLI.run(["help", "findings"])
        #expect(sub.status == 0 && sub.stdout.contains("--kind"))
    }
}

extension QueryTests {
    static func rfc3339(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
        return f.string(from: date)
    }
}
