import Compliance
import Crypto
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy
import Projections

/// The escalation ledger: a directory holding the event log and its
/// projections (`log/`, one LMDB environment, which also holds the customers'
/// sealed keys), the key-encryption key (`keys/`), the export and checkpoint signing key
/// (`signing.key`, 0600, unless it is kept elsewhere: ``Options/signingKeyPath``) and the
/// checkpoint verifier key (`checkpoint.vkey`).
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
    /// Customers' pseudonyms, keys and sealed personal data (docs/PRIVACY.md).
    public let vault: PersonalDataVault
    let rules: RuleStore
    public let readOnly: Bool
    /// The Merkle tree of the longest prefix of the log rooted so far by this process.
    let merklePrefix = MerklePrefix()
    private let observer: VaultCommitObserver
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
        let fm = FileManager.default
        let creating = !options.readOnly && options.create && !Ledger.exists(at: path)
        let folderExisted = fm.fileExists(atPath: path)
        do {
            return try Ledger(path: path, options: options)
        } catch {
            // A ledger that could not be created (a full disk, say) leaves nothing behind, so that
            // the same command can simply run again.
            if creating {
                if !folderExisted {
                    try? fm.removeItem(atPath: path)
                } else {
                    for made in ["log", "keys", "signing.key", "checkpoint.vkey", "currency"] { try? fm.removeItem(atPath: path + "/" + made) }
                }
            }
            throw error
        }
    }

    /// True when `path` holds a ledger: a log whose file is not empty (a creation that failed
    /// may leave an empty one behind when it could not clean up).
    public static func exists(at path: String) -> Bool {
        let size = (try? FileManager.default.attributesOfItem(atPath: path + "/log/data.mdb")[.size] as? Int) ?? nil
        return (size ?? 0) > 0
    }

    private init(path: String, options: Options) throws {
        self.path = path
        readOnly = options.readOnly
        externalSigningKeyPath = options.signingKeyPath
        let fm = FileManager.default
        let exists = Ledger.exists(at: path)
        if !exists {
            guard !options.readOnly, options.create else { throw LedgerError.notFound("ledger at \(path)") }
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var env = Environment.Options()
        env.readOnly = options.readOnly
        env.durability = options.durability
        env.mapSize = options.mapSize
        log = try EventLog(path: path + "/log", options: env)
        vault = try PersonalDataVault(environment: log.environment, keyDirectory: path + "/keys", readOnly: options.readOnly)
        observer = VaultCommitObserver(vault)
        log.setCommitObserver(observer)
        rules = try RuleStore(environment: log.environment)
        projector = try Projector(log: log)
        if !options.readOnly { try prepareSigningIdentity(options) }
    }

    var signingKeyPath: String { path + "/signing.key" }

    /// The export and checkpoint signing key: the file named when the ledger was opened, else `signing.key`.
    public func signingKey() throws -> SigningKeyFile { try loadSigningKey() }

    // MARK: Preparing events

    /// Events made ready to append, index for index: the events as submitted (personal data
    /// in clear, kept in memory only), the log's drafts, and what was sealed in advance for the
    /// events with personal data.
    ///
    /// The stored form of an event with personal data depends on its customer, which only the
    /// append transaction knows for certain (the customer may be new, or erased meanwhile).
    /// Preparing guesses it from the last committed snapshot and from the `callOpened`s of this
    /// batch and of the batch still committing, and seals and encodes the event for that customer on every core; the
    /// writer (``LedgerHook``) uses the result only when the transaction finds that same
    /// customer live, and seals the event itself otherwise.
    struct PreparedBatch {
        var events: [Event]
        var drafts: [EventDraft]
        var sealed: [Sealed?]

        /// The customer each `callOpened` of the batch was sealed for, by ticket: what the next
        /// batch, prepared while this one commits, guesses for those tickets (the snapshot it
        /// reads does not hold them yet).
        var opened: [String: PersonalDataVault.CustomerRecord] = [:]

        /// Prepares `events` on `parts` threads, writing each result in its place (no copies).
        /// - Parameter earlier: ``opened`` of the batch still committing, if any.
        init(_ events: [Event], ledger: Ledger, parts: Int = 1, earlier: [String: PersonalDataVault.CustomerRecord] = [:]) {
            self.events = events
            let n = events.count
            let parts = max(1, min(parts, n))
            let vault = ledger.vault, environment = ledger.log.environment
            // Pass 1: every draft, and each `callOpened` sealed for its customer (known, or new).
            var sealed = [Sealed?](repeating: nil, count: n)
            drafts = Array(unsafeUninitializedCapacity: n) { draftBuffer, initialized in
                sealed.withUnsafeMutableBufferPointer { sealedBuffer in
                    nonisolated(unsafe) let d = draftBuffer.baseAddress!, c = sealedBuffer.baseAddress!
                    Parallel.forEachPart(n, parts: parts) { range in
                        Ledger.inSnapshot(environment) { txn in
                            for i in range {
                                (d + i).initialize(to: Ledger.draft(events[i]))
                                if case .callOpened = events[i].body { c[i] = Ledger.sealCallAhead(events[i], vault: vault, txn: txn) }
                            }
                        }
                    }
                }
                initialized = n
            }
            // Pass 2: the other events with personal text, sealed for their ticket's customer: the
            // one its `callOpened` in this batch was sealed for, else the snapshot's.
            var opened: [String: Int] = [:]
            var rest: [Int] = []
            for (i, e) in events.enumerated() {
                if case .callOpened = e.body {
                    if sealed[i] != nil, let t = e.ticket { opened[t] = i }
                } else if e.type.hasPersonalText {
                    rest.append(i)
                }
            }
            if !rest.isEmpty {
                let opened = opened, rest = rest
                sealed.withUnsafeMutableBufferPointer { sealedBuffer in
                    nonisolated(unsafe) let c = sealedBuffer.baseAddress!
                    Parallel.forEachPart(rest.count, parts: rest.count >= 256 ? parts : 1) { range in
                        Ledger.inSnapshot(environment) { txn in
                            for r in range {
                                let i = rest[r], event = events[i]
                                var record: PersonalDataVault.CustomerRecord?
                                if let t = event.ticket, let j = opened[t], j < i {
                                    record = c[j]?.record
                                } else if let t = event.ticket, let r = earlier[t] {
                                    record = r
                                } else if let txn, let t = event.ticket, let p = try? vault.customerOfTicket(t, in: txn) {
                                    record = try? vault.customer(pseudonym: p, in: txn)
                                }
                                if let record { c[i] = Ledger.sealTextAhead(event, for: record, vault: vault) }
                            }
                        }
                    }
                }
            }
            self.sealed = sealed
            for (t, i) in opened { if let r = sealed[i]?.record { self.opened[t] = r } }
        }
    }

    /// An event with personal data as stored for one customer, made before the transaction.
    /// (A class: the writer takes it without copying what it holds.)
    final class Sealed: Sendable {
        /// The customer it was sealed for.
        let record: PersonalDataVault.CustomerRecord
        /// `callOpened` only: true when the snapshot did not know the customer, whose record
        /// (new pseudonym and key) was then made, and sealed for storing.
        let isNew: Bool
        let sealedRecord: PersonalDataVault.Computed?
        /// `callOpened` only: the customer id's look-up key.
        let lookupKey: PersonalDataVault.Computed?
        /// The event as stored, and its canonical bytes.
        let stored: Event
        let payload: [UInt8]

        init(record: PersonalDataVault.CustomerRecord, isNew: Bool = false, sealedRecord: PersonalDataVault.Computed? = nil,
             lookupKey: PersonalDataVault.Computed? = nil, stored: Event, payload: [UInt8]) {
            self.record = record; self.isNew = isNew; self.sealedRecord = sealedRecord; self.lookupKey = lookupKey
            self.stored = stored; self.payload = payload
        }
    }

    /// `body` with a read snapshot of the ledger (nil when none can be had: then nothing is
    /// guessed, and the writer does all the work).
    static func inSnapshot(_ environment: Environment, _ body: (ReadTransaction?) -> Void) {
        do {
            try environment.read { txn in body(txn) }
        } catch {
            body(nil)
        }
    }

    /// The log's draft for `event`: the content digest (over the event with its personal data
    /// blanked, so that no digest confirms a guess of personal data) and, for events without
    /// personal data, the stored bytes.
    static func draft(_ event: Event) -> EventDraft {
        let id = event.id.bytes.withUnsafeBytes { RecordID(bytes: $0) }
        if event.customerID == nil && !event.type.hasPersonalText {
            let plain = EventEncoder.encode(event)
            return EventDraft(id: id, stream: event.stream, payload: plain, digest: Array(SHA256.hash(data: plain)),
                              expectedVersion: event.expectedVersion)
        }
        let blank = EventEncoder.encode(event.replacingPersonalData(customer: { _ in Ledger.personalMarker },
                                                                    text: { _, _ in Ledger.personalMarker }))
        return EventDraft(id: id, stream: "", payload: [], digest: Array(SHA256.hash(data: blank)), expectedVersion: event.expectedVersion)
    }

    /// A `callOpened` sealed ahead for the customer the snapshot knows by its id, or for a new one.
    static func sealCallAhead(_ event: Event, vault: PersonalDataVault, txn: ReadTransaction?) -> Sealed? {
        guard case .callOpened(let b) = event.body else { return nil }
        var lookupKey: PersonalDataVault.Computed?
        var known: PersonalDataVault.CustomerRecord?
        if let txn, let key = try? vault.computeLookupKey(forCustomer: b.customer.id, in: txn) {
            lookupKey = key
            if let p = try? vault.pseudonym(lookupKey: key.bytes, in: txn) { known = try? vault.customer(pseudonym: p, in: txn) }
        }
        let record = known ?? vault.newCustomer(id: b.customer.id)
        guard let stored = try? sealCall(event, customer: b.customer.id, for: record, vault: vault) else { return nil }
        let sealedRecord = known == nil ? txn.flatMap { try? vault.sealRecord(record, in: $0) } : nil
        return Sealed(record: record, isNew: known == nil, sealedRecord: sealedRecord, lookupKey: lookupKey,
                      stored: stored, payload: EventEncoder.encode(stored))
    }

    /// An event's personal text sealed ahead for `record`.
    static func sealTextAhead(_ event: Event, for record: PersonalDataVault.CustomerRecord, vault: PersonalDataVault) -> Sealed? {
        guard let stored = try? sealText(event, for: record, vault: vault) else { return nil }
        return Sealed(record: record, stored: stored, payload: EventEncoder.encode(stored))
    }

    /// A `callOpened` as stored for the customer `record`: the customer named by pseudonym, the
    /// free text marked, and the real id and text sealed under the customer's key.
    static func sealCall(_ event: Event, customer id: String, for record: PersonalDataVault.CustomerRecord,
                         vault: PersonalDataVault) throws -> Event {
        var stored = event.replacingPersonalData(customer: { _ in record.pseudonym }, text: { _, _ in PersonalDataVault.sealedMarker })
        stored.sealed = try vault.seal([("customer.id", id)] + event.personalText, for: record, eventID: event.id.bytes)
        return stored
    }

    /// An event other than `callOpened` as stored for its ticket's customer `record`: the free
    /// text marked, and sealed under the customer's key.
    static func sealText(_ event: Event, for record: PersonalDataVault.CustomerRecord, vault: PersonalDataVault) throws -> Event {
        var stored = event.replacingPersonalData(customer: { $0 }, text: { _, _ in PersonalDataVault.sealedMarker })
        stored.sealed = try vault.seal(event.personalText, for: record, eventID: event.id.bytes)
        return stored
    }

    /// Stands for personal data in the digest's input.
    static let personalMarker = "[personal]"

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

    /// `exportMade` and `personalDataRevealed` record the ledger's own reads: nobody else may write one.
    static func refuseLedgerOnlyTypes(_ e: Event) throws(RuleViolation) {
        if e.type.category == .ledger {
            throw e.violation(.schema, field: "type", "\(e.type.rawValue) is appended by the ledger itself when it reads the log")
        }
    }

    func append(_ events: [Event], atomic: Bool, system: Bool) throws -> [Outcome] {
        guard !readOnly else { throw LedgerError.invalid("the ledger was opened read-only") }
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
        let ready = PreparedBatch(valid.map(\.1), ledger: self)
        do {
            let report = try log.appendSync(ready.drafts, mode: atomic ? .atomic : .eachAlone, hook: LedgerHook(ready, ledger: self))
            for ((i, e), o) in zip(valid, report.outcomes) { outcomes[i] = Ledger.outcome(o, event: e) }
        } catch let refused as BatchRefused {
            throw Ledger.violation(refused.reason, event: ready.events[refused.index])
        }
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

    /// Appends an event the ledger writes itself (actor `system`, e.g. `exportMade`).
    func appendSystemEvent(_ body: Event.Body) throws -> Position {
        let event = Event(id: .random(), at: .now(), actor: "system", channel: "ask:ledger", body: body)
        let outcome: Outcome
        do {
            outcome = try append([event], atomic: true, system: true)[0]
        } catch let v as RuleViolation {
            throw LedgerError.invalid("the ledger could not record its own \(event.type.rawValue) event: \(v)")
        }
        guard case .appended(let p) = outcome else {
            throw LedgerError.invalid("the ledger could not record its own \(event.type.rawValue) event")
        }
        return p
    }
}

/// Forwards the log's whole-transaction events to the personal-data vault (KEK rotation).
final class VaultCommitObserver: CommitObserver, @unchecked Sendable {
    let vault: PersonalDataVault
    init(_ vault: PersonalDataVault) { self.vault = vault }
    func willBegin() { vault.beginTransaction() }
    func willCommit(_ txn: WriteTransaction) throws { try vault.prepareCommit(txn) }
    func didCommit() {
        // A KEK that could not be destroyed now is destroyed by the next writable open.
        try? vault.didCommit()
    }
    func didAbort() { vault.didAbort() }
}

/// Failures of the ledger itself.
public enum LedgerError: Error, CustomStringConvertible, Sendable {
    case missing(String)
    case notFound(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .missing(let what): return "missing \(what)"
        case .notFound(let what): return "\(what) not found"
        case .invalid(let why): return why
        }
    }
}
