import Crypto
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy
import Projections

extension Ledger {
    /// What ``verifyDeep(scratchDirectory:progress:)`` is doing.
    public enum DeepVerifyPhase: String, Sendable {
        /// The chain and the log's own tables (plain `verify`).
        case chain = "verifying"
        /// Replaying the log into the scratch environment and looking every event's entries up.
        case rebuild = "rebuilding"
    }

    /// Every table of the log's environment, by name: a name not listed is damage (a table
    /// name changed in place), and a listed one missing makes the ledger fail to open.
    public static let tableNames: Set<String> = [
        "meta", "events", "hashes", "ids", "id_runs", "id_run_entries", "streams", "stream_links", "stream_marks",
        "rules.staff", "rules.tickets", "rules.holds",
        "privacy.meta", "privacy.customers", "privacy.lookup", "privacy.tickets",
        "proj.meta", "proj.0.tickets", "proj.0.staff", "proj.0.accountable", "proj.1.tickets", "proj.1.staff", "proj.1.accountable",
    ]

    /// `verify --deep`: everything ``EventLog/verify(progress:)`` checks, then every structure
    /// derived from the log rebuilt from the log alone and compared with what is stored, in
    /// one read snapshot (docs/VERIFY.md, "verify --deep"):
    ///
    /// 1. the environment holds exactly the ledger's tables;
    /// 2. the chain and the log's own tables (plain `verify`);
    /// 3. for every event, in seq order: its entries looked up as queries look them up (`events`,
    ///    `hashes`, `ids`, `streams`, `stream_links`, `stream_marks`, from the root of each B-tree); its payload
    ///    decodes, with the record's id and stream; a content digest that an entry of format 4
    ///    still keeps is the one its content gives; the rules accept it against the rules' state replayed so far; its sealed
    ///    fields name its ticket's customer;
    /// 4. the rules' state (`rules.staff`, `rules.tickets`, `rules.holds`) equals the replayed one;
    /// 5. `privacy.tickets` links every opened ticket to its customer's pseudonym and nothing else;
    ///    `privacy.customers` holds exactly the customers opened and not erased, each record opens
    ///    under the key-encryption key `privacy.meta` names, and its id leads back to it through
    ///    `privacy.lookup`, which holds nothing more;
    /// 6. `proj.meta` is sound, and the active generation's tables equal the projections rebuilt
    ///    through its checkpoint.
    ///
    /// The replay is kept in a scratch LMDB environment in `scratchDirectory` (default: the
    /// system's temporary directory), removed afterwards, so memory does not grow with the log.
    /// Returns the first divergence: the table, the key, what is stored and what the log gives,
    /// and the seq of the event it comes from when there is one.
    /// - throws: only failures that are not damage (no room for the scratch environment, the
    ///   ledger changed under the check in a way a snapshot cannot hide, I/O errors).
    public func verifyDeep(scratchDirectory: String? = nil,
                           progress: ((DeepVerifyPhase, UInt64, UInt64) -> Void)? = nil) throws -> VerifyResult {
        var reached: UInt64 = 0
        let verifier = try DeepVerifier(ledger: self, scratchDirectory: scratchDirectory, progress: progress)
        do {
            return try verifier.run(reached: &reached)
        } catch {
            guard let why = Ledger.damage(error) else { throw error }
            // Tie it to the event being replayed, if the replay had begun.
            if verifier.position > 0 { return .damaged(checked: verifier.position - 1, at: verifier.position, why) }
            return .damaged(checked: reached, at: nil, why)
        }
    }

    /// A one-line description of `error` when it shows that the ledger's files are damaged, nil otherwise.
    public static func damage(_ error: any Error) -> String? {
        if let why = EventLog.damage(error) { return why }
        switch error {
        case PrivacyError.corrupt, PrivacyError.missingKey: return "\(error)"
        default: return nil
        }
    }

    /// The content digest of a stored event, what a resubmitted draft's must be to be a
    /// duplicate (see ``draft(_:)``; format 4 kept it in the id index): SHA-256 of
    /// its canonical JSON, or, for an event with personal data, of the JSON with every personal
    /// value (customer id, sealed text) replaced by ``personalMarker`` and no sealed field.
    static func contentDigest(ofStored event: Event, payload: UnsafeRawBufferPointer) -> [UInt8] {
        guard event.customerID != nil || !event.personalText.isEmpty else { return Array(SHA256.hash(data: payload)) }
        var blank = event.replacingPersonalData(customer: { _ in Ledger.personalMarker }, text: { _, _ in Ledger.personalMarker })
        blank.sealed = nil
        return Array(SHA256.hash(data: EventEncoder.encode(blank)))
    }
}

/// One run of `verify --deep` (see ``Ledger/verifyDeep(scratchDirectory:progress:)``).
final class DeepVerifier {
    let ledger: Ledger
    let log: EventLog
    let progress: ((Ledger.DeepVerifyPhase, UInt64, UInt64) -> Void)?
    /// The seq of the event being replayed (0 before the replay).
    private(set) var position: UInt64 = 0
    /// Events replayed per scratch transaction.
    static let chunk: UInt64 = 16_384

    // The stored tables (handles opened before the snapshot).
    let privacyMeta: Database, customers: Database, lookup: Database, ticketLinks: Database
    let projections: Projector.StoredDatabases

    // The scratch environment and what is rebuilt there.
    let scratchPath: String
    let scratch: Environment
    let rules: RuleStore
    /// Table tag (1 staff, 2 tickets, 3 holds) ‖ key → seq of the last change.
    let ruleSeq: Database
    /// Ticket id → pseudonym; and ticket id → seq of its callOpened.
    let links: Database, linkSeq: Database
    /// Pseudonym of a customer opened and not erased → seq of their first callOpened.
    let live: Database
    let rebuild: ProjectionRebuild

    init(ledger: Ledger, scratchDirectory: String?, progress: ((Ledger.DeepVerifyPhase, UInt64, UInt64) -> Void)?) throws {
        self.ledger = ledger
        log = ledger.log
        self.progress = progress
        let env = log.environment
        privacyMeta = try env.openDatabase("privacy.meta")
        customers = try env.openDatabase("privacy.customers")
        lookup = try env.openDatabase("privacy.lookup")
        ticketLinks = try env.openDatabase("privacy.tickets")
        projections = try ledger.projector.storedDatabases()

        let base = scratchDirectory ?? FileManager.default.temporaryDirectory.path
        scratchPath = base + "/ledger-verify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratchPath, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        do {
            var options = Environment.Options()
            options.durability = .relaxed
            options.mapSize = 1 << 36  // address space only; the file grows as pages are written
            options.maxDatabases = 16
            scratch = try Environment(path: scratchPath, options: options)
            rules = try RuleStore(environment: scratch)
            ruleSeq = try scratch.openDatabase("rules.seq")
            links = try scratch.openDatabase("privacy.tickets")
            linkSeq = try scratch.openDatabase("privacy.tickets.seq")
            live = try scratch.openDatabase("privacy.customers")
            rebuild = try ProjectionRebuild(scratch: scratch)
        } catch {
            try? FileManager.default.removeItem(atPath: scratchPath)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: scratchPath) }

    func run(reached: inout UInt64) throws -> VerifyResult {
        try log.environment.read { txn in
            // 1. The tables.
            for name in try txn.databaseNames() where !Ledger.tableNames.contains(name) {
                return .damaged(checked: 0, at: nil, "the log's file holds a table \(DeepVerifier.quoted(Array(name.utf8))) "
                                + "that is not one of the ledger's (a table's name changed?)")
            }
            // 2. The chain and the log's own tables.
            let chain = try log.verify(in: txn, reached: &reached) { [progress] in progress?(.chain, $0, $1) }
            guard chain.ok else { return chain }
            let head = try log.head(in: txn).seq
            let stored: Projector.StoredTables
            switch try ledger.projector.storedTables(projections, in: txn, head: head) {
            case .failure(let p): return .damaged(checked: head, at: nil, p.description)
            case .success(let t): stored = t
            }
            // 3. Replay, chunk by chunk.
            if let bad = try replay(txn, head: head, projectionsThrough: stored.checkpoint) { return bad }
            position = 0
            // 4–6. Compare.
            return try scratch.read { s in
                try compareRules(txn, s) ?? comparePrivacy(txn, s) ?? compareProjections(stored, txn, s)
            }.map { VerifyResult.damaged(checked: head, at: $0.seq, $0.problem) }
                ?? VerifyResult(ok: true, checked: head, firstBadSeq: nil, problem: nil)
        }
    }

    // MARK: Replay

    private func replay(_ txn: ReadTransaction, head: UInt64, projectionsThrough checkpoint: UInt64) throws -> VerifyResult? {
        var state = EventLog.LookupState()
        let decoder = EventDecoder(mode: .stored)
        var next: UInt64 = 1
        var bad: VerifyResult?
        while next <= head, bad == nil {
            let through = min(head, next + DeepVerifier.chunk - 1)
            var attempts = 0
            let before = state
            do {
                try scratch.write { w in
                    attempts += 1
                    // The map is sized far beyond need: a retry would replay events twice.
                    guard attempts == 1 else { throw LedgerError.invalid("verify --deep: the scratch environment at \(scratchPath) ran out of room") }
                    try log.scan(from: next, through: through, in: txn) { r in
                        bad = try visit(r, txn, w, &state, decoder, projectionsThrough: checkpoint)
                        return bad == nil
                    }
                    try rebuild.flush(in: w)
                }
            } catch {
                state = before
                rebuild.discardChunk()
                throw error
            }
            next = through + 1
            progress?(.rebuild, through, head)
        }
        return bad
    }

    /// Checks one event and replays it into the scratch tables; returns the damage it shows.
    private func visit(_ r: RecordView, _ txn: ReadTransaction, _ w: WriteTransaction, _ state: inout EventLog.LookupState,
                       _ decoder: EventDecoder, projectionsThrough checkpoint: UInt64) throws -> VerifyResult? {
        let seq = r.seq
        position = seq
        func bad(_ why: String) -> VerifyResult { .damaged(checked: seq - 1, at: seq, why) }
        if let why = try log.lookUpEntries(of: r, in: txn, state: &state) { return bad(why) }
        let event: Event
        do {
            event = try decoder.decode(r.payload)
        } catch {
            return bad("events: the payload at seq \(seq) does not decode: \(error)")
        }
        let id = event.id.bytes.withUnsafeBytes { RecordID(bytes: $0) }
        guard id == r.id, event.stream == r.stream else {
            return bad("events: the record at seq \(seq) says id \(r.id.uuidString) and stream \(r.stream), its payload \(id.uuidString) and \(event.stream)")
        }
        // A content digest that an entry written by format 4 still keeps (what told a duplicate
        // from a different event then): it must be the event's. Format 5 keeps none.
        if let kept = try log.contentDigest(of: r.id, in: txn) {
            let digest = Ledger.contentDigest(ofStored: event, payload: r.payload)
            if kept != digest {
                return bad("ids: the content digest kept for id \(r.id.uuidString) is \(DeepVerifier.hex(kept)), "
                           + "the event at seq \(seq) gives \(DeepVerifier.hex(digest))")
            }
        }
        // The rules' state.
        let changes: [Rules.Change]
        do {
            changes = try Rules.check(event, against: TransactionRuleState(store: rules, txn: w))
        } catch {
            return bad("the rules refuse the event at seq \(seq) when the log is replayed: \(error)")
        }
        for change in changes {
            try rules.write(change, txn: w)
            let key: [UInt8]?
            switch change {
            case .staff(let s, _): key = [1] + Array(s.utf8)
            case .ticket(let t, _): key = [2] + Array(t.utf8)
            case .holds(let c, _): key = [3] + Array(c.utf8)
            case .erased: key = nil
            }
            if let key { try w.put(ruleSeq, key: key, value: BigEndianKey.bytes(seq)) }
        }
        // Personal data: the ticket's customer, live customers, sealed fields.
        var owner: String?
        switch event.body {
        case .callOpened(let b):
            let ticket = Array((event.ticket ?? "").utf8), p = Array(b.customer.id.utf8)
            try w.put(links, key: ticket, value: p)
            try w.put(linkSeq, key: ticket, value: BigEndianKey.bytes(seq))
            if try w.get(live, key: p) == nil { try w.put(live, key: p, value: BigEndianKey.bytes(seq)) }
            owner = b.customer.id
        case .personalDataErased(let b):
            try w.delete(live, key: Array(b.customer.utf8))
        default:
            if let t = event.ticket { owner = try w.get(links, key: Array(t.utf8)).map { String(decoding: $0, as: UTF8.self) } }
        }
        if let sealed = event.sealed {
            let named = PersonalDataVault.pseudonym(ofSealed: sealed)
            if named == nil || named != owner {
                return bad("the sealed fields of the event at seq \(seq) name \(named ?? "no customer"), "
                           + "but its ticket's customer is \(owner ?? "unknown")")
            }
        }
        // The projections, through their checkpoint.
        if seq <= checkpoint { try rebuild.apply(event, seq: seq, version: r.version, in: w) }
        return nil
    }

    // MARK: Comparing

    struct Divergence {
        var seq: UInt64?
        var problem: String
    }

    private func compareRules(_ txn: ReadTransaction, _ s: ReadTransaction) throws -> Divergence? {
        let tables: [(String, UInt8, Database, Database, ([UInt8]) -> String)] = [
            ("rules.staff", 1, ledger.rules.staff, rules.staff, DeepVerifier.describeStaffRule),
            ("rules.tickets", 2, ledger.rules.tickets, rules.tickets, DeepVerifier.describeTicketRule),
            ("rules.holds", 3, ledger.rules.holds, rules.holds, DeepVerifier.describeHolds),
        ]
        for (name, tag, storedDB, rebuiltDB, describe) in tables {
            guard let d = try txn.firstDifference(storedDB, from: rebuiltDB, in: s) else { continue }
            let seq = try s.get(ruleSeq, key: [tag] + d.key).flatMap { $0.count == 8 ? $0.withUnsafeBytes { BigEndianKey.uint64($0) } : nil }
            return Divergence(seq: seq, problem: DeepVerifier.message(name, d, describe: describe, seq: seq))
        }
        return nil
    }

    private func comparePrivacy(_ txn: ReadTransaction, _ s: ReadTransaction) throws -> Divergence? {
        // privacy.tickets
        if let d = try txn.firstDifference(ticketLinks, from: links, in: s) {
            let seq = try s.get(linkSeq, key: d.key).flatMap { $0.count == 8 ? $0.withUnsafeBytes { BigEndianKey.uint64($0) } : nil }
            return Divergence(seq: seq, problem: DeepVerifier.message("privacy.tickets", d, describe: { "customer " + DeepVerifier.quoted($0) }, seq: seq))
        }
        // privacy.meta: the key-encryption key's generation, whose key file must exist.
        var generation: UInt64?
        var problem: String?
        try txn.withCursor(privacyMeta) { c in
            var e = try c.first()
            while let entry = e {
                guard entry.key.elementsEqual("kek".utf8), entry.value.count == 8 else {
                    problem = "privacy.meta: an unexpected entry \(DeepVerifier.quoted(Array(entry.key))) of \(entry.value.count) bytes"
                    return
                }
                generation = BigEndianKey.uint64(entry.value)
                e = try c.next()
            }
        }
        if let problem { return Divergence(problem: problem) }
        guard let generation else { return Divergence(problem: "privacy.meta: no key-encryption key generation (kek)") }
        if ledger.vault.keyEncryptionKeyProblem(generation: generation) != nil {
            try refuseIfRotated(since: generation)
            return Divergence(problem: "privacy.meta: kek names generation \(generation), but keys/kek.\(generation) is missing "
                              + "or holds no key: no customer record can be opened")
        }
        // privacy.customers: exactly the customers opened and not erased.
        if let d = try txn.firstDifference(customers, from: live, in: s, valuesEqual: { _, _ in true }) {
            let seq: UInt64?
            let problem: String
            switch d {
            case .missing(let key, let v):
                seq = v.count == 8 ? v.withUnsafeBytes { BigEndianKey.uint64($0) } : nil
                problem = "privacy.customers: no record for \(DeepVerifier.quoted(key)), a customer the log opened at seq \(seq ?? 0) and never erased"
            case .unexpected(let key, _):
                seq = nil
                problem = "privacy.customers: a record for \(DeepVerifier.quoted(key)), whom no event opened, or whose data was erased"
            default:
                seq = nil
                problem = DeepVerifier.message("privacy.customers", d, describe: { _ in "a sealed record" }, seq: nil)
            }
            return Divergence(seq: seq, problem: problem)
        }
        // Each record opens under the key-encryption key, and its id leads back to it.
        var divergence: Divergence?
        try txn.withCursor(customers) { c in
            var e = try c.first()
            while let entry = e {
                let p = String(decoding: entry.key, as: UTF8.self)
                let firstSeq = try s.get(live, key: Array(entry.key)).flatMap { $0.count == 8 ? $0.withUnsafeBytes { BigEndianKey.uint64($0) } : nil }
                let record: PersonalDataVault.CustomerRecord?
                do {
                    record = try ledger.vault.customer(pseudonym: p, in: txn)
                } catch let error as PrivacyError {
                    guard case .corrupt = error else { throw error }
                    divergence = Divergence(seq: firstSeq, problem: "privacy.customers: the record of \(DeepVerifier.quoted(Array(entry.key))) "
                                            + "does not open under the key-encryption key")
                    return
                }
                guard let record else { divergence = Divergence(seq: firstSeq, problem: "privacy.customers: the record of \(p) cannot be read"); return }
                let back = try ledger.vault.pseudonym(forCustomer: record.id, in: txn)
                if back != p {
                    divergence = Divergence(seq: firstSeq, problem: "privacy.lookup: the entry for the customer of \(p) "
                                            + (back.map { "leads to \($0)" } ?? "is missing"))
                    return
                }
                e = try c.next()
            }
        }
        if let divergence { return divergence }
        let records = try txn.count(customers), entries = try txn.count(lookup)
        if entries != records {
            return Divergence(problem: "privacy.lookup: \(entries) entries for \(records) customer records (each record has exactly one)")
        }
        return nil
    }

    /// The key-encryption key of our snapshot is gone: damage, unless an erasure committed
    /// since and rotated it (then the check must be run again).
    private func refuseIfRotated(since generation: UInt64) throws {
        let now = try log.environment.read { t in
            try t.get(privacyMeta, key: Array("kek".utf8)).flatMap { $0.count == 8 ? $0.withUnsafeBytes { BigEndianKey.uint64($0) } : nil }
        }
        if let now, now != generation {
            throw LedgerError.invalid("an erasure rotated the key-encryption key while verify --deep ran; run it again")
        }
    }

    private func compareProjections(_ stored: Projector.StoredTables, _ txn: ReadTransaction, _ s: ReadTransaction) throws -> Divergence? {
        let prefix = "proj.\(stored.generation)."
        if let d = try txn.firstDifference(stored.tickets, from: rebuild.tickets, in: s) {
            var seq: UInt64?
            let problem: String
            if case .differs(let key, let a, let b) = d {
                let found = a.withUnsafeBytes { x in b.withUnsafeBytes { y in Projector.ticketDifference(stored: x, expected: y) } }
                seq = found?.1
                problem = prefix + "tickets: the state of \(DeepVerifier.quoted(key)): " + (found?.0 ?? "differs")
            } else {
                if case .missing(_, let b) = d {
                    seq = b.withUnsafeBytes { y in Projector.ticketDifference(stored: UnsafeRawBufferPointer(start: nil, count: 0), expected: y)?.1 }
                }
                problem = DeepVerifier.message(prefix + "tickets", d, describe: { _ in "a ticket state" }, seq: seq)
            }
            return Divergence(seq: seq, problem: problem)
        }
        if let d = try txn.firstDifference(stored.staff, from: rebuild.staff, in: s) {
            let seq = try s.get(rebuild.staffSeq, key: d.key).flatMap { $0.count == 8 ? $0.withUnsafeBytes { BigEndianKey.uint64($0) } : nil }
            let problem: String
            if case .differs(let key, let a, let b) = d {
                let why = a.withUnsafeBytes { x in b.withUnsafeBytes { y in Projector.staffDifference(stored: x, expected: y) } }
                problem = prefix + "staff: the record of \(DeepVerifier.quoted(key)): " + (why ?? "differs")
                    + (seq.map { " (last changed by the event at seq \($0))" } ?? "")
            } else {
                problem = DeepVerifier.message(prefix + "staff", d, describe: { _ in "a staff record" }, seq: seq)
            }
            return Divergence(seq: seq, problem: problem)
        }
        if let d = try txn.firstDifference(stored.accountable, from: rebuild.accountable, in: s) {
            let key = d.key.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            let what: String
            if let mark = d.key.firstIndex(where: { $0 < 0x02 }), d.key[mark] == 0x01 {
                what = "the scorecard index of \(DeepVerifier.quoted(Array(d.key[..<mark])))"  // docs/FORMAT.md: staff ‖ 0x01 ‖ …
            } else {
                what = key.count == 2 ? "\(key[0]) accountable on ticket \(key[1])" : DeepVerifier.quoted(d.key)
            }
            let problem: String
            switch d {
            case .missing: problem = prefix + "accountable: no entry for \(what), which the log gives"
            case .unexpected: problem = prefix + "accountable: an entry for \(what) that the log does not give"
            default: problem = DeepVerifier.message(prefix + "accountable", d, describe: { _ in "an entry" }, seq: nil)
            }
            return Divergence(problem: problem)
        }
        return nil
    }

    // MARK: Messages

    static func message(_ table: String, _ d: TableDifference, describe: ([UInt8]) -> String, seq: UInt64?) -> String {
        let at = seq.map { " (set by the event at seq \($0))" } ?? ""
        switch d {
        case .missing(let key, let expected):
            return "\(table): no entry for \(quoted(key)); the log gives \(describe(expected))\(at)"
        case .unexpected(let key, let stored):
            return "\(table): an entry for \(quoted(key)) that no event accounts for (stored: \(describe(stored)))"
        case .differs(let key, let stored, let expected):
            return "\(table): the entry for \(quoted(key)) is \(describe(stored)); the log gives \(describe(expected))\(at)"
        case .unreachable(let key):
            return "\(table): the entry for \(quoted(key)) is in the table but looking it up does not find it (an inner page is damaged)"
        }
    }

    static func describeStaffRule(_ v: [UInt8]) -> String {
        guard let role = v.first else { return "an empty value" }
        let name = Int(role) < RuleStore.roles.count ? RuleStore.roles[Int(role)].rawValue : "unknown role byte \(role)"
        return "role \(name), reports to \(v.count == 1 ? "nobody" : quoted(Array(v.dropFirst())))"
    }

    static func describeTicketRule(_ v: [UInt8]) -> String {
        guard let t = v.withUnsafeBytes({ RuleStore.StoredTicket($0) }) else { return "\(v.count) bytes (at least 17 expected)" }
        let resolved = t.resolvedByte == 1 ? "resolved" : t.resolvedByte == 0 ? "not resolved" : "resolved byte \(t.resolvedByte)"
        return "owner \(quoted(t.owner)), \(resolved), \(t.openCallbacks) open callbacks, latest at \(Timestamp(microsecondsSinceEpoch: t.lastAt))"
    }

    static func describeHolds(_ v: [UInt8]) -> String {
        var matters: [String] = []
        var i = 0
        while i + 8 <= v.count {
            let n = v.withUnsafeBytes { BigEndianKey.uint64($0, at: i) }
            guard n <= UInt64(v.count - i - 8) else { return "a malformed list of matters" }
            matters.append(quoted(Array(v[(i + 8)..<(i + 8 + Int(n))])))
            i += 8 + Int(n)
        }
        if i != v.count { return "a malformed list of matters" }
        return matters.isEmpty ? "no open matters" : "open matters " + matters.joined(separator: ", ")
    }

    /// A key for messages: quoted text when it is printable UTF-8, else hex.
    static func quoted(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self), !s.isEmpty, s.count <= 200,
           s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return "\"" + s + "\""
        }
        return "0x" + hex(bytes)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes.prefix(64) { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
