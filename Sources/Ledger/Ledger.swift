import Compliance
import Crypto
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Projections

/// The escalation ledger: a directory holding the event log and its
/// projections (`log/`, one LMDB environment), the customers' keys (`keys/`,
/// another), the export and checkpoint signing key (`signing.key`, 0600, unless it is kept
/// elsewhere: ``Options/signingKeyPath``) and the checkpoint verifier key (`checkpoint.vkey`).
///
/// ```swift
/// let ledger = try Ledger.open(at: "escalations.ledger")
/// let report = try ledger.importLines(from: "calls.jsonl")
/// try ledger.projector.catchUp()
/// ```
///
/// Every event passes, in order: strict decoding (`schema`), the checks that
/// need only the line (`directMessage`, `callbackInPast`), personal-data
/// sealing, then the log's idempotency and version checks and the rules, in
/// the append transaction. A refused event changes nothing.
public final class Ledger: @unchecked Sendable {
    public let path: String
    public let log: EventLog
    public let projector: Projector
    public let keys: CustomerKeys
    let rules: RuleStore
    public let readOnly: Bool
    /// ``Options/signingKeyPath``.
    let externalSigningKeyPath: String?

    /// How a ledger is opened.
    public struct Options: Sendable {
        /// Open for reading only (auditors, reporting jobs): every write fails.
        public var readOnly = false
        /// `.durable` (fsync per commit, the default) or `.relaxed` (see ``Environment/Durability``).
        public var durability: Environment.Durability = .durable
        /// Initial map size of the log; it grows by itself.
        public var mapSize = 64 << 20
        /// Create the ledger when the directory holds none.
        public var create = true
        /// The checkpoint origin of a ledger being created (default: ``Ledger/defaultOrigin()``).
        public var origin: String?
        /// A signing key file kept outside the ledger directory (created there when a new ledger
        /// names a file that does not exist); nil for `signing.key` in the directory.
        public var signingKeyPath: String?
        public init() {}
    }

    /// Opens the ledger in `path`, creating it (with its signing key) unless read-only.
    /// - throws: ``LedgerError/notFound(_:)`` when there is no ledger and creation is off.
    public static func open(at path: String, options: Options = Options()) throws -> Ledger {
        try Ledger(path: path, options: options)
    }

    private init(path: String, options: Options) throws {
        self.path = path
        readOnly = options.readOnly
        externalSigningKeyPath = options.signingKeyPath
        let fm = FileManager.default
        let exists = fm.fileExists(atPath: path + "/log/data.mdb")
        if !exists {
            guard !options.readOnly, options.create else { throw LedgerError.notFound("ledger at \(path)") }
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var env = Environment.Options()
        env.readOnly = options.readOnly
        env.durability = options.durability
        env.mapSize = options.mapSize
        log = try EventLog(path: path + "/log", options: env)
        keys = try CustomerKeys(path: path + "/keys", readOnly: options.readOnly)
        rules = try RuleStore(environment: log.environment)
        projector = try Projector(log: log)
        if !options.readOnly {
            try prepareSigningIdentity(options)
            try destroyErasedKeys()
        }
    }

    var signingKeyPath: String { path + "/signing.key" }

    /// The export and checkpoint signing key: the file named when the ledger was opened, else `signing.key`.
    public func signingKey() throws -> SigningKeyFile { try loadSigningKey() }

    // MARK: Preparing events

    /// An event made ready to append: its stored form and the log's draft.
    struct Prepared {
        var stored: Event
        var draft: EventDraft
    }

    /// Seals personal data, pseudonymises the customer and encodes the stored bytes.
    /// Customer keys must exist (see ``ensureKeys(for:)``).
    func prepare(_ event: Event) throws -> Prepared {
        let plain = EventEncoder.encode(event)
        let digest = keys.digest(plain)
        var stored = event
        switch event.body {
        case .callOpened(var b):
            let p = keys.pseudonym(b.customer.id)
            var sealed: String?
            if b.customer.name != nil || b.customer.phone != nil {
                var w = JSONWriter()
                w.beginObject()
                if let n = b.customer.name { w.field("name", n) }
                if let ph = b.customer.phone { w.field("phone", ph) }
                w.endObject()
                sealed = try keys.seal(w.bytes, pseudonym: p, eventID: event.id.bytes)
            }
            b.customer = Customer(id: p, sealed: sealed)
            stored.body = .callOpened(b)
        case .legalHoldPlaced(var b):
            b.customer = keys.pseudonym(b.customer); stored.body = .legalHoldPlaced(b)
        case .legalHoldReleased(var b):
            b.customer = keys.pseudonym(b.customer); stored.body = .legalHoldReleased(b)
        case .personalDataErased(var b):
            b.customer = keys.pseudonym(b.customer); stored.body = .personalDataErased(b)
        default:
            // Nothing personal: the stored bytes are the canonical line itself.
            let draft = EventDraft(id: event.id.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: event.stream, payload: plain,
                                   digest: digest, expectedVersion: event.expectedVersion)
            return Prepared(stored: event, draft: draft)
        }
        let draft = EventDraft(id: event.id.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: stored.stream, payload: EventEncoder.encode(stored),
                               digest: digest, expectedVersion: event.expectedVersion)
        return Prepared(stored: stored, draft: draft)
    }

    /// Creates keys for the customers of `events` that carry personal data.
    func ensureKeys(for events: [Event]) throws {
        var needed: [(String, String)] = []
        var seen: Set<String> = []
        for e in events {
            if case .callOpened(let b) = e.body, b.customer.name != nil || b.customer.phone != nil, seen.insert(b.customer.id).inserted {
                needed.append((keys.pseudonym(b.customer.id), b.customer.id))
            }
        }
        if !needed.isEmpty { try keys.ensureKeys(needed, after: try log.head().seq) }
    }

    // MARK: Appending

    /// What happened to one event.
    public enum Outcome: Sendable {
        case appended(Position)
        case duplicate(seq: UInt64)
        case refused(RuleViolation)
    }

    /// Appends validated events (each alone, or all or nothing).
    /// - throws: when `atomic` and one is refused: the ``RuleViolation``; storage failures.
    @discardableResult
    public func append(_ events: [Event], atomic: Bool = false) throws -> [Outcome] {
        try append(events, atomic: atomic, system: false)
    }

    /// `exportMade` records the ledger's own exports: nobody else may write one.
    static func refuseLedgerOnlyTypes(_ e: Event) throws(RuleViolation) {
        if e.type == .exportMade {
            throw e.violation(.schema, field: "type", "exportMade is appended by the ledger itself when it exports")
        }
    }

    func append(_ events: [Event], atomic: Bool, system: Bool) throws -> [Outcome] {
        var outcomes = [Outcome?](repeating: nil, count: events.count)
        var valid: [(Int, Event)] = []
        for (i, e) in events.enumerated() {
            do {
                try e.validateStandalone()
                if !system { try Ledger.refuseLedgerOnlyTypes(e) }
            } catch {
                if atomic { throw error }
                outcomes[i] = .refused(error)
                continue
            }
            valid.append((i, e))
        }
        try ensureKeys(for: valid.map(\.1))  // one key-store transaction for the batch
        let ready = try valid.map { ($0.0, try prepare($0.1)) }
        let hook = RuleHook(events: ready.map(\.1.stored), store: rules)
        do {
            let report = try log.appendSync(ready.map(\.1.draft), mode: atomic ? .atomic : .eachAlone, hook: hook)
            for ((i, p), o) in zip(ready, report.outcomes) { outcomes[i] = Ledger.outcome(o, event: p.stored) }
        } catch let refused as BatchRefused {
            throw Ledger.violation(refused.reason, event: ready[refused.index].1.stored)
        }
        try afterAppend(ready.map(\.1.stored))
        return outcomes.map { $0! }
    }

    static func outcome(_ o: AppendOutcome, event: Event) -> Outcome {
        switch o {
        case .appended(let p): return .appended(p)
        case .duplicate(let s): return .duplicate(seq: s)
        case .refused(let e): return .refused(violation(e, event: event))
        }
    }

    /// A refusal as a ``RuleViolation`` naming the rule, the event and the field.
    static func violation(_ error: any Error, event: Event) -> RuleViolation {
        switch error {
        case let v as RuleViolation: return v
        case let r as LogRefusal:
            return event.violation(r.kind == .conflict ? .conflict : .duplicateId,
                                   field: r.kind == .conflict ? "expectedVersion" : "id", r.message)
        default:
            return event.violation(Rule(rawValue: "storage"), "\(error)")
        }
    }

    /// Destroys the keys of customers erased by these events (after their commit), and of any
    /// erasure an earlier crash left pending.
    func afterAppend(_ events: [Event]) throws {
        if events.contains(where: { $0.type == .personalDataErased }) { try destroyErasedKeys() }
    }

    func destroyErasedKeys() throws {
        let pending: [(String, UInt64)] = try log.environment.read { txn in
            var out: [(String, UInt64)] = []
            try txn.withCursor(rules.shredQueue) { c in
                var e = try c.first()
                while let entry = e {
                    out.append((String(decoding: entry.key, as: UTF8.self), BigEndianKey.uint64(entry.value)))
                    e = try c.next()
                }
            }
            return out
        }
        guard !pending.isEmpty else { return }
        for (p, seq) in pending { try keys.destroy(p, erasedSeq: seq) }
        try log.environment.write { txn in
            for (p, seq) in pending {
                // Only dequeue what was destroyed: a later erasure of the same customer stays queued.
                if let v = try txn.get(rules.shredQueue, key: Array(p.utf8)), v.withUnsafeBytes({ BigEndianKey.uint64($0) }) == seq {
                    try txn.delete(rules.shredQueue, key: Array(p.utf8))
                }
            }
        }
    }

    /// Appends an event the ledger writes itself (actor `system`, e.g. `exportMade`).
    func appendSystemEvent(_ body: Event.Body) throws -> Position {
        let event = Event(id: .random(), at: .now(), actor: "system", channel: "ask:ledger", body: body)
        guard case .appended(let p) = try append([event], atomic: true, system: true)[0] else {
            throw LedgerError.invalid("the ledger could not record its own \(event.type.rawValue) event")
        }
        return p
    }
}
