import Crypto
import EventLog
import Foundation
import LMDB

/// SplitMix64: a tiny, fast, seedable generator, so that every run, every
/// store and every child process sees the same events for the same seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One event, as every store under test receives it.
public struct CorpusEvent: Sendable {
    public var id: RecordID
    /// The stream (one per ticket).
    public var stream: String
    /// Version in its stream when the corpus is appended in order (what the log assigns then).
    public var version: UInt64
    /// The event's JSON, the bytes every store keeps.
    public var payload: [UInt8]
    /// SHA-256 of the payload: the idempotency digest of ``EventDraft``.
    public var digest: [UInt8]
    /// When it happened, microseconds since the epoch (never decreasing along the corpus).
    public var occurredAt: Int64

    public init(id: RecordID, stream: String, version: UInt64, payload: [UInt8], digest: [UInt8], occurredAt: Int64) {
        self.id = id; self.stream = stream; self.version = version
        self.payload = payload; self.digest = digest; self.occurredAt = occurredAt
    }
}

/// Where a corpus comes from. The synthetic JSON source below stands in until
/// the Simulation module writes interchange lines: add a source that turns
/// the simulator's lines into ``CorpusEvent``s to ``CorpusSource/all`` and
/// select it with `ledger-bench --source NAME`.
public struct CorpusSource: Sendable {
    public let name: String
    public let summary: String
    public let generate: @Sendable (_ count: Int, _ seed: UInt64) -> [CorpusEvent]

    public init(name: String, summary: String, generate: @escaping @Sendable (Int, UInt64) -> [CorpusEvent]) {
        self.name = name; self.summary = summary; self.generate = generate
    }

    /// Every source `--source` accepts; the first is the default.
    public static let all: [CorpusSource] = [.syntheticJSON]

    public static func named(_ name: String) -> CorpusSource? { all.first { $0.name == name } }
}

/// The events of one run and the forms each store takes them in, built before
/// any clock starts. Shared read-only between cases (and built once per size).
public final class Corpus: @unchecked Sendable {
    public let source: String
    public let seed: UInt64
    public let events: [CorpusEvent]

    private let lock = NSLock()
    private var _drafts: [EventDraft]?
    private var _records: [[UInt8]]?
    private var _rows: [SQLiteRow]?

    public init(source: CorpusSource, count: Int, seed: UInt64) {
        self.source = source.name
        self.seed = seed
        self.events = source.generate(count, seed)
        precondition(events.count == count, "source \(source.name) made \(events.count) events, asked for \(count)")
    }

    public var count: Int { events.count }
    public var payloadBytes: Int { events.reduce(0) { $0 + $1.payload.count } }

    /// Drafts for ``EventLog`` (no expected version: plain appends).
    public var drafts: [EventDraft] {
        lock.withLock {
            if let d = _drafts { return d }
            let d = events.map { EventDraft(id: $0.id, stream: $0.stream, payload: $0.payload, digest: $0.digest) }
            _drafts = d
            return d
        }
    }

    /// The records the log would store for these events, at seq = index + 1
    /// (``RecordLayout``): what the raw-LMDB baseline puts.
    public var records: [[UInt8]] {
        lock.withLock {
            if let r = _records { return r }
            let r = events.enumerated().map { i, e in
                RawRecord.encode(seq: UInt64(i + 1), recordedAt: e.occurredAt, version: e.version, event: e)
            }
            _records = r
            return r
        }
    }

    /// Rows for the SQLite peer.
    public var rows: [SQLiteRow] {
        lock.withLock {
            if let r = _rows { return r }
            let r = events.map { e in
                SQLiteRow(stream: e.stream, version: Int64(e.version),
                          id: e.id.withBytes { Data($0) }, payload: Data(e.payload))
            }
            _rows = r
            return r
        }
    }
}

/// The stored record layout of `EventLog` (docs/FORMAT.md; `RecordLayout` in
/// EventLog), rebuilt here because its writer is internal to the log.
public enum RawRecord {
    public static func encode(seq: UInt64, recordedAt: Int64, version: UInt64, event: CorpusEvent) -> [UInt8] {
        let stream = Array(event.stream.utf8)
        var out = [UInt8]()
        out.reserveCapacity(RecordLayout.size(streamCount: stream.count, payloadCount: event.payload.count))
        out.append(RecordLayout.format)
        func be<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        be(seq); be(UInt64(bitPattern: recordedAt)); be(version)
        be(event.id.high); be(event.id.low)
        be(UInt16(stream.count))
        out += stream
        out += event.payload
        return out
    }
}

// MARK: - Synthetic contact-centre events

extension CorpusSource {
    /// Ticket events of a contact centre as compact JSON of about 300 bytes:
    /// a few hundred tickets open at a time, each living through opened,
    /// assigned, commented, escalated, ... resolved, so streams interleave
    /// the way a real day's traffic does. Deterministic in (count, seed).
    public static let syntheticJSON = CorpusSource(
        name: "synthetic-json",
        summary: "deterministic ~300-byte JSON ticket events, ~16 per ticket, 400 tickets open at a time"
    ) { count, seed in
        SyntheticTickets.generate(count: count, seed: seed)
    }
}

enum SyntheticTickets {
    static let queues = ["billing", "technical", "onboarding", "retention", "complaints", "payments", "fraud", "shipping"]
    static let channels = ["phone", "chat", "email", "web", "social"]
    static let sites = ["lisbon", "krakow", "manila", "austin", "dublin", "cape-town"]
    static let priorities = ["low", "normal", "high", "urgent"]
    static let reasons = [
        "refund above agent limit", "customer asked for a supervisor", "repeat contact within 7 days",
        "service outage reported", "legal threat", "vulnerable customer flag", "sla at risk",
        "technical fault needs tier 2", "billing dispute over 500 EUR", "data protection request",
    ]
    static let words = [
        "customer", "called", "again", "about", "invoice", "router", "replacement", "delivery", "delayed",
        "promised", "callback", "not", "received", "account", "locked", "after", "password", "reset",
        "charged", "twice", "for", "the", "same", "order", "wants", "cancel", "contract", "escalate",
        "manager", "agreed", "credit", "note", "pending", "engineer", "visit", "tomorrow", "morning",
    ]
    static let kinds: [(name: String, weight: Int)] = [
        ("assigned", 3), ("commented", 6), ("customer_replied", 4), ("escalated", 2),
        ("priority_changed", 1), ("sla_warning", 1), ("transferred", 1),
    ]

    struct Ticket { var number: Int; var version: UInt64; var queue: String; var customer: Int; var channel: String }

    static func generate(count: Int, seed: UInt64) -> [CorpusEvent] {
        var rng = SplitMix64(seed: seed)
        var out = [CorpusEvent]()
        out.reserveCapacity(count)
        let open = max(1, min(400, count / 8))
        var nextTicket = 1
        func newTicket(_ rng: inout SplitMix64) -> Ticket {
            defer { nextTicket += 1 }
            return Ticket(number: nextTicket, version: 0, queue: queues.randomElement(using: &rng)!,
                          customer: Int.random(in: 1...999_999, using: &rng), channel: channels.randomElement(using: &rng)!)
        }
        var tickets = (0..<open).map { _ in newTicket(&rng) }
        var clock: Int64 = 1_772_323_200_000_000  // 2026-03-01T00:00:00Z in microseconds
        let totalWeight = kinds.reduce(0) { $0 + $1.weight }
        var json = [UInt8]()
        json.reserveCapacity(512)
        for _ in 0..<count {
            clock += Int64.random(in: 1...4_000_000, using: &rng)
            let slot = Int.random(in: 0..<open, using: &rng)
            var t = tickets[slot]
            t.version += 1
            let kind: String
            if t.version == 1 {
                kind = "opened"
            } else if t.version >= 4 && Int.random(in: 0..<12, using: &rng) == 0 {
                kind = "resolved"
            } else {
                var pick = Int.random(in: 0..<totalWeight, using: &rng)
                var k = kinds[0].name
                for (name, weight) in kinds { if pick < weight { k = name; break }; pick -= weight }
                kind = k
            }
            let id = RecordID(high: (rng.next() & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000, low: (rng.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
            let stream = "ticket-" + pad(t.number, 7)
            json.removeAll(keepingCapacity: true)
            func field(_ key: String, _ value: String, quoted: Bool = true, first: Bool = false) {
                json += Array((first ? "{\"" : ",\"").utf8) + Array(key.utf8) + Array("\":".utf8)
                if quoted { json.append(UInt8(ascii: "\"")); json += Array(value.utf8); json.append(UInt8(ascii: "\"")) } else { json += Array(value.utf8) }
            }
            field("agent", "A-" + pad(Int.random(in: 1...1200, using: &rng), 4), first: true)
            field("at", iso8601(clock))
            field("channel", t.channel)
            field("customer", "C-" + pad(t.customer, 7))
            field("id", id.uuidString)
            field("kind", kind)
            switch kind {
            case "opened":
                field("priority", priorities.randomElement(using: &rng)!)
                field("subject", sentence(&rng, 6...10))
            case "escalated":
                let from = Int.random(in: 1...2, using: &rng)
                field("from_tier", String(from), quoted: false)
                field("reason", reasons.randomElement(using: &rng)!)
                field("to_tier", String(from + 1), quoted: false)
            case "priority_changed":
                field("priority", priorities.randomElement(using: &rng)!)
            case "sla_warning":
                field("minutes_left", String(Int.random(in: 5...120, using: &rng)), quoted: false)
            case "transferred":
                field("to_queue", queues.randomElement(using: &rng)!)
            case "resolved":
                field("outcome", ["fixed", "refunded", "explained", "duplicate", "no_response"].randomElement(using: &rng)!)
            default:
                break
            }
            field("note", sentence(&rng, kind == "commented" || kind == "customer_replied" ? 7...13 : 2...6))
            field("queue", t.queue)
            field("site", sites.randomElement(using: &rng)!)
            field("ticket", "T-" + pad(t.number, 7))
            field("version", String(t.version), quoted: false)
            json.append(UInt8(ascii: "}"))
            let payload = json
            out.append(CorpusEvent(id: id, stream: stream, version: t.version, payload: payload,
                                   digest: Array(SHA256.hash(data: payload)), occurredAt: clock))
            tickets[slot] = kind == "resolved" ? newTicket(&rng) : t
        }
        return out
    }

    static func sentence(_ rng: inout SplitMix64, _ length: ClosedRange<Int>) -> String {
        (0..<Int.random(in: length, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microseconds since the epoch (civil-from-days, H. Hinnant).
    static func iso8601(_ micros: Int64) -> String {
        let secs = micros / 1_000_000, frac = micros % 1_000_000
        let days = secs / 86_400, rem = secs % 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return "\(y)-\(pad(Int(m), 2))-\(pad(Int(d), 2))T\(pad(Int(rem / 3600), 2)):\(pad(Int(rem % 3600 / 60), 2)):\(pad(Int(rem % 60), 2)).\(pad(Int(frac), 6))Z"
    }
}
