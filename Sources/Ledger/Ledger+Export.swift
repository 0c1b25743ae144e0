import Compliance
import Crypto
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy

extension Ledger {
    /// What to export.
    public struct ExportRequest: Sendable {
        public var from: AsOf?
        public var to: AsOf?
        public var ticket: String?
        public var staff: String?
        /// Only this customer's events (their tickets and compliance events), by real id or pseudonym.
        public var customer: String?
        public var pseudonymize = false
        /// The staff member exporting, and why (both recorded in `exportMade`).
        public var `operator`: String
        public var purpose: String
        /// The selection as given, recorded in `exportMade` (the command line's options).
        public var filter: String
        public init(from: AsOf? = nil, to: AsOf? = nil, ticket: String? = nil, staff: String? = nil, customer: String? = nil,
                    pseudonymize: Bool = false, operator: String, purpose: String, filter: String = "") {
            self.from = from; self.to = to; self.ticket = ticket; self.staff = staff; self.customer = customer
            self.pseudonymize = pseudonymize; self.operator = `operator`; self.purpose = purpose; self.filter = filter
        }
    }

    /// What an export wrote.
    public struct ExportSummary: Sendable {
        public var directory: String
        public var count: Int
        public var fromSeq: UInt64
        public var toSeq: UInt64
        public var merkleRoot: String
        /// The `exportMade` event that recorded this export.
        public var recordedAt: Position
        /// Stale `*.partial` exports of dead processes, removed beside this one.
        public var staleRemoved: [String] = []
    }

    /// Resolves a range bound: a seq as it is, a time by `recordedAt`.
    func seqBounds(from: AsOf?, to: AsOf?) throws -> (UInt64, UInt64) {
        let head = try log.head().seq
        let lower: UInt64
        switch from {
        case nil: lower = 1
        case .seq(let s): lower = max(s, 1)
        case .time(let t): lower = try log.seq(asOfTime: t.microsecondsSinceEpoch - 1) + 1
        }
        let upper: UInt64
        switch to {
        case nil: upper = head
        case .seq(let s): upper = min(s, head)
        case .time(let t): upper = try log.seq(asOfTime: t.microsecondsSinceEpoch)
        }
        return (lower, upper)
    }

    /// Writes a bundle (docs/EXPORT.md) to `directory` (created; must be empty if it exists),
    /// signs its manifest, and appends an `exportMade` event recording the export.
    /// - Parameter progress: called with (events written, events in range) every 65,536 events.
    public func export(to directory: String, _ request: ExportRequest, progress: ((Int, Int) -> Void)? = nil) throws -> ExportSummary {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory), let items = try? fm.contentsOfDirectory(atPath: directory), !items.isEmpty {
            throw LedgerError.invalid("export directory \(directory) is not empty")
        }
        guard !readOnly else { throw LedgerError.invalid("an export is recorded in the ledger (exportMade): open it writable") }
        guard !request.purpose.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw LedgerError.invalid("an export needs a purpose (--purpose): it is recorded in exportMade")
        }
        // Showing personal data in clear takes a compliance officer; any enrolled member may
        // export pseudonymised data (the rules check the operator is enrolled).
        if !request.pseudonymize { try requireComplianceOperator(request.operator) }
        var customerStreams: (stream: String, tickets: Set<String>)?
        // The selection as recorded in exportMade: a customer is named by pseudonym, never by the
        // real id, so that erasing the customer leaves nothing of them in the log.
        var filter = request.filter
        if let c = request.customer {
            let p: String? = try log.environment.read { txn in
                if let p = try vault.pseudonym(forCustomer: c, in: txn) { return p }
                return try vault.customer(pseudonym: c, in: txn) != nil ? c : nil
            }
            guard let p else { throw LedgerError.notFound("customer \(c)") }
            filter += (filter.isEmpty ? "" : " ") + "--customer " + p
            customerStreams = ("customer:" + p, Set(try vault.tickets(of: p, in: log.environment).map { "ticket:" + $0 }))
        }
        // What the rules would refuse of the exportMade event (an operator who is not enrolled)
        // is refused now, before minutes of work are written and thrown away.
        let probe = Event(id: .random(), at: .now(), actor: "system", channel: "ask:ledger", body: .exportMade(.init(
            from: 1, to: 1, count: 1, root: String(repeating: "0", count: 64), operator: request.operator,
            purpose: request.purpose, filter: filter, pseudonymized: request.pseudonymize)))
        do {
            try probe.validateStandalone()
            _ = try log.environment.read { txn in try Rules.check(probe, against: TransactionRuleState(store: rules, txn: txn)) }
        } catch let v as RuleViolation {
            throw LedgerError.invalid("the export could not be recorded (exportMade): \(v); nothing was written")
        }
        // Written under DIR.partial (0700, files 0600: they may hold personal data) and renamed into
        // place only once the export is on record.
        let final = directory
        let directory = final + ".partial"
        let staleRemoved = Ledger.removeStalePartialExports(near: final)
        try? fm.removeItem(atPath: directory)
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Who is writing it (in a file beside it, never in the bundle), so that a later export can
        // tell a dead writer's leftovers from a live one's work.
        let owner = directory + Ledger.partialOwnerSuffix
        var onRecord = false
        defer {
            if !onRecord { try? fm.removeItem(atPath: directory) }  // a failed export leaves nothing behind
            try? fm.removeItem(atPath: owner)
        }
        let ownerFile = try BufferedFile(path: owner)
        try ownerFile.write(Array("\(getpid())\n".utf8))
        try ownerFile.close()
        let key = try signingKey()
        let (lower, upper) = try seqBounds(from: request.from, to: request.to)
        let contiguous = request.ticket == nil && request.staff == nil && request.customer == nil
        let view: PersonalDataView = request.pseudonymize ? .masked : .revealed
        let decoder = EventDecoder(mode: .stored)

        let events = try BufferedFile(path: directory + "/" + Bundle.eventsFile)
        let csv = try BufferedFile(path: directory + "/" + Bundle.csvFile)
        let personal = try BufferedFile(path: directory + "/" + Bundle.personalFile)
        let proof = try BufferedFile(path: directory + "/" + Bundle.proofFile)
        try csv.write(CSVRow.header)
        var signed: SignedCheckpoint?
        // The seqs of a filtered bundle, for its proof's nodes (a contiguous bundle's are its range).
        var selected: [UInt64] = []
        // The live customers whose personal data the export shows in clear (personalDataRevealed).
        var revealed: Set<String> = []
        var accumulator = MerkleRootAccumulator()
        var count = 0, firstSeq: UInt64 = 0, lastSeq: UInt64 = 0
        var chainBefore = [UInt8](repeating: 0, count: 32), chainAfter = chainBefore
        let total = upper >= lower ? Int(upper - lower + 1) : 0

        try log.environment.read { txn in
            if lower > 1, lower <= upper { chainBefore = try log.chainHash(lower - 1, txn) }
            var previous = chainBefore
            // Records are taken in slices: their hashes and the vault's answers are read here,
            // in the export's one snapshot; decoding them and rendering their lines runs on
            // every core (ExportSlice), a slice's rendering overlapping the reading of the next;
            // the lines are written here, in seq order.
            var slice: [ExportSlice.Item] = []
            slice.reserveCapacity(ExportSlice.size)
            var rendered: [ExportSlice.Lines] = []  // each part's lines, their memory kept from slice to slice
            // The slice being rendered on another thread while the next one is read here (at most
            // one). Its records point into this snapshot: it is always waited for before leaving.
            var inFlight: ExportRender?
            defer { _ = try? inFlight?.wait() }
            func writeOut() throws {
                guard let job = inFlight else { return }
                inFlight = nil
                rendered = try job.wait()
                for part in rendered {
                    try events.write(part.events)
                    try personal.write(part.personal)
                    try csv.write(part.csv)
                }
            }
            func emit(_ r: RecordView, _ hashes: (chain: [UInt8], leaf: [UInt8])) throws {
                let (chain, leaf) = hashes
                let prev = contiguous ? previous : (r.seq > 1 ? try log.chainHash(r.seq - 1, txn) : [UInt8](repeating: 0, count: 32))
                slice.append(ExportSlice.Item(record: r, chain: chain, leaf: leaf, prev: prev))
                previous = chain
                if slice.count == ExportSlice.size { try writeSlice() }
            }
            func writeSlice() throws {
                guard !slice.isEmpty else { return }
                let work = ExportSlice(items: slice, view: view)
                slice.removeAll(keepingCapacity: true)
                let parts = work.items.count >= 256 ? 2 : 1
                let stored = try work.decode(parts: parts)
                // What presenting them asks of the vault, looked up once per customer here.
                var live: [String: Bool] = [:], records: [String: PersonalDataVault.CustomerRecord?] = [:]
                for event in stored {
                    guard let (p, needsRecord) = Ledger.lookUp(event, view) else { continue }
                    if needsRecord {
                        if records[p] == nil { records[p] = .some(try vault.customer(pseudonym: p, in: txn)) }
                        // A revealed export shows this live customer in clear (personalDataRevealed).
                        if view == .revealed, case .some(.some) = records[p] { revealed.insert(p) }
                    } else if live[p] == nil {
                        live[p] = try vault.isLive(pseudonym: p, in: txn)
                    }
                }
                try writeOut()  // the previous slice, whose rendering overlapped the reading of this one
                inFlight = ExportRender.start(work, stored, parts: parts, live: live, records: records, into: rendered)
                rendered = []
                for item in work.items {
                    accumulator.append(leafHash: MerkleHash(bytes: item.leaf)!)
                    let seq = item.record.seq
                    if !contiguous { selected.append(seq) }
                    if count == 0 { firstSeq = seq }
                    lastSeq = seq
                    count += 1
                    chainAfter = item.chain
                    if count & 0xFFFF == 0 { progress?(count, total) }
                }
            }
            if let ticket = request.ticket {
                try log.scanStream("ticket:" + ticket, in: txn) { r in
                    if r.seq >= lower && r.seq <= upper, try request.staff.map({ try Ledger.names(r, $0, decoder) }) ?? true {
                        try emit(r, try log.hashes(r.seq, txn))
                    }
                    return r.seq <= upper
                }
            } else if lower <= upper {
                try log.scanWithHashes(from: lower, through: upper, in: txn) { r, chain, leaf in
                    if let c = customerStreams, r.stream != c.stream, !c.tickets.contains(r.stream) { return true }
                    if let s = request.staff, try !Ledger.names(r, s, decoder) { return true }
                    try emit(r, (Array(chain), Array(leaf)))
                    return true
                }
            }
            try writeSlice()
            try writeOut()
            // A contiguous bundle from seq 1 has hashed the tree's first leaves already, in this
            // snapshot: the checkpoint's root goes on from there instead of reading them again.
            if contiguous, lower == 1, count > 0, accumulator.size == Int(lastSeq) { merklePrefix.keep(accumulator) }
            // The checkpoint of the log as this snapshot holds it, and the nodes that, with the
            // bundle's events, rebuild its root (docs/EXPORT.md, "proof.json").
            let n = try log.head(in: txn).seq
            let checkpoint = try signCheckpoint(size: Int(n), root: try merkleRoot(size: n, in: txn))
            signed = checkpoint
            var out = ProofOutput(sink: { try proof.write($0) })
            out.append("{\"nodes\":[")
            if n > 0 {
                try writeNodes(n: n, reader: LeafReader(log: log, txn: txn), out: &out) { each in
                    if contiguous { if count > 0 { for s in firstSeq...lastSeq { try each(s) } } } else { for s in selected { try each(s) } }
                }
            }
            out.append("]}\n")
            try out.flush()
        }
        guard let signed else { throw LedgerError.invalid("the export read no checkpoint") }
        try Data(signed.text.utf8).write(to: URL(fileURLWithPath: directory + "/" + Bundle.checkpointFile))
        var files: [String: CanonicalJSON] = [:]
        for (name, file) in [(Bundle.eventsFile, events), (Bundle.csvFile, csv), (Bundle.personalFile, personal), (Bundle.proofFile, proof)] {
            let (digest, bytes) = try file.close()
            files[name] = .object(["bytes": .integer(Int64(bytes)), "sha256": .string(digest.hex)])
        }
        progress?(count, total)

        var range: [String: CanonicalJSON] = ["fromSeq": .integer(Int64(lower)), "toSeq": .integer(Int64(upper))]
        if let t = request.ticket { range["ticket"] = .string(t) }
        if let s = request.staff { range["staff"] = .string(s) }
        if let c = customerStreams { range["customer"] = .string(String(c.stream.dropFirst("customer:".count))) }
        var manifest: [String: CanonicalJSON] = [
            "format": .string(Bundle.format),
            "createdAt": .string(Timestamp.now().description),
            "range": .object(range),
            "contiguous": .bool(contiguous),
            "count": .integer(Int64(count)),
            "firstSeq": .integer(Int64(firstSeq)),
            "lastSeq": .integer(Int64(lastSeq)),
            "chainBefore": .string(chainBefore.hex),
            "chainAfter": .string(chainAfter.hex),
            "checkpoint": .object(["origin": .string(signed.checkpoint.origin), "rootHash": .string(signed.checkpoint.rootHash.hex),
                                   "treeSize": .integer(Int64(signed.checkpoint.treeSize))]),
            "merkleRoot": .string(accumulator.root.hex),
            "pseudonymized": .bool(request.pseudonymize),
            "publicKey": .string(key.publicKeyHex),
            "files": .object(files),
        ]
        manifest["signature"] = .string(try key.sign(Bundle.signedBytes(manifest)).hex)
        let manifestFile = try BufferedFile(path: directory + "/" + Bundle.manifestFile)
        try manifestFile.write(CanonicalJSON.object(manifest).encoded + [0x0A])
        try manifestFile.close()

        let position: Position
        do {
            if !revealed.isEmpty {
                try recordReveal(operator: request.operator, purpose: request.purpose, customers: revealed.sorted(),
                                 query: "export" + (filter.isEmpty ? "" : " " + filter))
            }
            position = try appendSystemEvent(.exportMade(.init(
                from: firstSeq, to: lastSeq, count: UInt64(count), root: accumulator.root.hex, operator: request.operator,
                purpose: request.purpose, filter: filter, pseudonymized: request.pseudonymize)))
        } catch {
            try? fm.removeItem(atPath: directory)
            throw error
        }
        onRecord = true
        if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }  // empty, checked above
        try fm.moveItem(atPath: directory, toPath: final)
        return ExportSummary(directory: final, count: count, fromSeq: lower, toSeq: upper,
                             merkleRoot: accumulator.root.hex, recordedAt: position, staleRemoved: staleRemoved)
    }

    /// `DIR.partial` + this names the process writing that export.
    static let partialOwnerSuffix = ".writer"

    /// Removes the `*.partial` exports beside `target` that a process which has since died left
    /// behind (a killed export): they may hold personal data. Returns their paths.
    static func removeStalePartialExports(near target: String) -> [String] {
        let fm = FileManager.default
        let folder = Paths.parent(of: target)
        guard let names = try? fm.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasSuffix(".partial" + partialOwnerSuffix) {
            let owner = folder + "/" + name
            guard let text = try? String(contentsOfFile: owner, encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // its writer is alive
            let partial = String(owner.dropLast(partialOwnerSuffix.count))
            if fm.fileExists(atPath: partial) {
                guard (try? fm.removeItem(atPath: partial)) != nil else { continue }
                removed.append(partial)
            }
            try? fm.removeItem(atPath: owner)
        }
        return removed
    }

    /// True when `staff` is the actor or a subject of the record's event.
    static func names(_ r: RecordView, _ staff: String, _ decoder: EventDecoder) throws -> Bool {
        try decoder.decode(r.payload).names(staff)
    }

    /// The `personal.jsonl` line of an event as shown (without its newline), or nil when it
    /// shows no personal field: those fields and `seq`, keys in code-point order.
    static func personalLine(_ shown: Event, seq: UInt64) -> [UInt8]? {
        let fields = personalFields(shown)
        return fields.isEmpty ? nil : Bundle.personalLine(sorted: fields, seq: seq)
    }

    /// The personal fields of an event as shown (`customer` for the customer id, then the
    /// free-text paths), in code-point order of their names.
    static func personalFields(_ event: Event) -> [(String, String)] {
        var out: [(String, String)] = []
        if let c = event.customerID { out.append(("customer", c)) }
        out += event.personalText.map { ($0.path, $0.value) }
        return out.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }
}

/// A file written through a large buffer, hashed (SHA-256) as it is written. Every failed
/// write throws, naming the file and what ran out (a full disk, a file-size limit).
///
/// Full buffers are hashed and written in order on a worker (``Workers``) while the caller fills
/// the next one (at most two in flight), so that copying a large export into the page cache
/// overlaps the work that renders it. A write that failed there is thrown by the next
/// ``write(_:)`` or by ``close()``.
final class BufferedFile: @unchecked Sendable {
    private let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Buffers the writing thread is done with, for `submit` to fill again: their memory is
    /// reused rather than taken fresh for every buffer (guarded by `condition`).
    private var spare: [Box] = []
    /// Full buffers waiting for the writing thread, in order, and whether one is writing them
    /// (one at a time, so the file and its hash see them in order).
    private var queued: [Box] = []
    private var draining = false
    /// Guards what the writing thread changes.
    private let condition = NSCondition()
    private var inFlight = 0
    private var failure: String?
    private var hasher = SHA256()
    private var written = 0
    private static let bufferSize = 1 << 20

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LedgerError.invalid("cannot create \(path): \(BufferedFile.describe(errno))") }
        buffer.reserveCapacity(BufferedFile.bufferSize)
    }

    deinit {
        condition.lock()
        while inFlight > 0 { condition.wait() }
        condition.unlock()
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// What an errno from writing a file means, for the person reading it.
    static func describe(_ code: Int32) -> String {
        switch code {
        case ENOSPC, EDQUOT: return "the disk is full: free space and run the same command again"
        case EFBIG: return "a file-size limit (ulimit -f) stops the file from growing: raise it and run the same command again"
        default: return String(cString: strerror(code))
        }
    }

    func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= BufferedFile.bufferSize { try submit() }
    }

    /// Hands the buffer to the writing thread (waiting while two are in flight).
    private func submit() throws {
        condition.lock()
        while inFlight >= 2 && failure == nil { condition.wait() }
        let failed = failure
        if failed == nil { inFlight += 1 }
        condition.unlock()
        if let failed { throw LedgerError.invalid(failed) }
        let full = Box(bytes: [])
        swap(&full.bytes, &buffer)
        condition.lock()
        if let reused = spare.popLast() { swap(&buffer, &reused.bytes) }
        queued.append(full)
        let start = !draining
        draining = true
        condition.unlock()
        if buffer.capacity < BufferedFile.bufferSize { buffer.reserveCapacity(BufferedFile.bufferSize) }
        if start { Workers.shared.detach { [self] in drain() } }
    }

    /// Writes the queued buffers out in order until none is left (on a worker).
    private func drain() {
        condition.lock()
        while !queued.isEmpty {
            let full = queued.removeFirst()
            condition.unlock()
            let problem = writeOut(full.bytes)
            full.bytes.removeAll(keepingCapacity: true)
            condition.lock()
            if failure == nil, let problem { failure = problem }
            inFlight -= 1
            spare.append(full)
            condition.broadcast()
        }
        draining = false
        condition.unlock()
    }

    /// A buffer handed from thread to thread without a copy.
    private final class Box: @unchecked Sendable {
        var bytes: [UInt8]
        init(bytes: [UInt8]) { self.bytes = bytes }
    }

    /// Hashes and writes one buffer, on the writing thread; returns what went wrong.
    private func writeOut(_ bytes: [UInt8]) -> String? {
        condition.lock()
        let failed = failure != nil
        condition.unlock()
        if failed { return nil }
        hasher.update(data: bytes)
        written += bytes.count
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return "cannot write \(path): \(BufferedFile.describe(n < 0 ? errno : ENOSPC))" }
            done += n
        }
        return nil
    }

    /// Flushes, syncs and closes; returns the file's SHA-256 and size.
    @discardableResult
    func close() throws -> (sha256: [UInt8], bytes: Int) {
        if !buffer.isEmpty { try submit() }
        condition.lock()
        while inFlight > 0 { condition.wait() }
        let failed = failure
        condition.unlock()
        if let failed { throw LedgerError.invalid(failed) }
        guard fsync(fd) == 0 else { throw LedgerError.invalid("cannot sync \(path): \(BufferedFile.describe(errno))") }
        let rc = Glibc.close(fd)
        fd = -1
        guard rc == 0 else { throw LedgerError.invalid("cannot close \(path): \(BufferedFile.describe(errno))") }
        return (Array(hasher.finalize()), written)
    }
}

/// One slice's lines rendered on a thread of their own (``ExportSlice/render(_:parts:live:records:into:)``),
/// while the export reads the next slice.
final class ExportRender: @unchecked Sendable {
    private var job: Workers.Job?
    private var lines: [ExportSlice.Lines]
    private var failure: (any Error)?

    private init(lines: [ExportSlice.Lines]) { self.lines = lines }

    static func start(_ work: ExportSlice, _ stored: [Event], parts: Int, live: [String: Bool],
                      records: [String: PersonalDataVault.CustomerRecord?], into lines: [ExportSlice.Lines]) -> ExportRender {
        let render = ExportRender(lines: lines)
        render.job = Workers.shared.detach {
            do { try work.render(stored, parts: parts, live: live, records: records, into: &render.lines) } catch { render.failure = error }
        }
        return render
    }

    /// Waits for the lines (rendering them here if no worker has started); throws what rendering threw.
    func wait() throws -> [ExportSlice.Lines] {
        job?.wait()
        if let failure { throw failure }
        return lines
    }
}

/// A slice of an export's records, decoded and rendered into the bundle's three line files
/// on several threads. Its records point into the export's read transaction, which outlives it.
struct ExportSlice: @unchecked Sendable {
    static let size = 2048

    struct Item {
        let record: RecordView
        let chain: [UInt8]
        let leaf: [UInt8]
        /// The chain hash before this record (the line's `prevHash`).
        let prev: [UInt8]
    }

    /// The lines of a contiguous part of the slice, for each file.
    struct Lines: Sendable {
        var events: [UInt8] = []
        var personal: [UInt8] = []
        var csv: [UInt8] = []

        /// Empties the three, keeping their memory.
        mutating func removeAll() {
            events.removeAll(keepingCapacity: true)
            personal.removeAll(keepingCapacity: true)
            csv.removeAll(keepingCapacity: true)
        }
    }

    let items: [Item]
    let view: PersonalDataView

    /// The stored events, in order; the first that cannot be decoded is thrown, as a loop would.
    func decode(parts: Int) throws -> [Event] {
        let decoded = Parallel.map(items.count, parts: parts) { range in
            let decoder = EventDecoder(mode: .stored)
            return range.map { i in Result { try decoder.decode(items[i].record.payload) } }
        }
        return try decoded.map { try $0.get() }
    }

    /// Each part's lines, in order: the events line, the personal line when the event shows
    /// personal data, and the CSV row (docs/EXPORT.md). They are written into `lines`, one
    /// element per part, emptied first: the caller keeps it from slice to slice, so that the
    /// memory is reused rather than taken fresh (and faulted in page by page) for every slice.
    func render(_ stored: [Event], parts: Int, live: [String: Bool], records: [String: PersonalDataVault.CustomerRecord?],
                into lines: inout [Lines]) throws {
        let view = view
        let parts = max(1, min(parts, stored.count))
        if lines.count < parts { lines += Array(repeating: Lines(), count: parts - lines.count) }
        let rendered = lines.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let base = buffer.baseAddress!
            return Parallel.mapParts(stored.count, parts: parts) { part, range in
                Result { () throws -> Void in
                    base[part].removeAll()
                    for i in range {
                        let r = items[i].record
                        base[part].events += Bundle.line(payload: Array(r.payload), hash: items[i].chain, id: r.id.uuidString,
                                                         prevHash: items[i].prev, recordedAtMicros: r.recordedAt, seq: r.seq,
                                                         stream: r.stream, version: r.version)
                        base[part].events.append(0x0A)
                        let event = try Ledger.present(stored[i], view, live: { p in
                            guard let l = live[p] else { throw LedgerError.invalid("export: customer \(p) was not looked up") }
                            return l
                        }, customer: { p in
                            guard let record = records[p] else { throw LedgerError.invalid("export: customer \(p) was not looked up") }
                            return record
                        })
                        if let line = Ledger.personalLine(event, seq: r.seq) {
                            base[part].personal += line
                            base[part].personal.append(0x0A)
                        }
                        base[part].csv += CSVRow.render(event, seq: r.seq, version: r.version, recordedAt: r.recordedAt, stream: r.stream,
                                                        hash: items[i].chain)
                    }
                }
            }
        }
        for p in parts..<lines.count { lines[p].removeAll() }  // nothing stale is written
        for r in rendered { try r.get() }
    }
}
