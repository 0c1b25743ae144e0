import Compliance
import EscalationDomain
import EventLog
import Foundation
import LMDB
import Privacy

/// The result of an import (the `import --json` shape of CONTRACT.md section 8).
public struct ImportReport: Sendable {
    /// Lines read (blank lines included in the numbering, not here).
    public var lines = 0
    public var appended = 0
    public var duplicates = 0
    public var refused: [Refusal] = []
    /// True when `--atomic` was asked and nothing was appended because of a refusal.
    public var rolledBack = false

    public init() {}
}

extension ImportReport {
    /// The report of one line whose event had `outcome` (a compliance command, or one over HTTP).
    public init(line outcome: Ledger.Outcome) {
        self.init()
        lines = 1
        switch outcome {
        case .appended: appended = 1
        case .duplicate: duplicates = 1
        case .refused(let v): refused = [Refusal(line: 1, v)]
        }
    }
}

/// One refused line.
public struct Refusal: Sendable, Equatable {
    public var line: Int
    public var id: String?
    public var rule: String
    public var field: String?
    public var message: String

    public init(line: Int, _ v: RuleViolation) {
        self.line = line; id = v.eventID; rule = v.rule.rawValue; field = v.field; message = v.message
    }
}

extension Ledger {
    /// The longest line `import` reads (CONTRACT.md section 4: 16 MiB).
    public static let maxLineBytes = 16 << 20

    /// Lines an import appends in one transaction (fewer when they hold more than 64 MiB).
    /// Tables keyed at random (customers' look-ups, stream versions) take a batch's inserts on
    /// pages all over their trees, and each such page is written once a commit: twice the
    /// batch of 32,768 lines wrote 11% fewer bytes a line, in the same time (BENCHMARKS.md,
    /// fifteenth round).
    public static let importBatchLines = 65_536

    /// Imports a JSON Lines file (`-` for standard input), streaming: memory stays bounded
    /// by the batch size, whatever the file's size (except with `atomic`, which holds the file's
    /// lines, and then its events).
    /// - Parameters:
    ///   - atomic: all lines or none.
    ///   - progress: called after each batch with (bytes read, total bytes if known).
    public func importFile(_ path: String, atomic: Bool = false, batchSize: Int = Ledger.importBatchLines,
                           progress: ((Int, Int?) -> Void)? = nil) throws -> ImportReport {
        let handle: FileHandle
        var total: Int?
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else { throw LedgerError.notFound("file \(path)") }
            handle = h
            total = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        }
        defer { if path != "-" { try? handle.close() } }
        let importer = Importer(ledger: self, atomic: atomic, batchSize: batchSize)
        // Lines are found by scanning each byte once (a line spread over many chunks is not
        // rescanned), and a line over the limit is refused without being held: its bytes are
        // dropped as they come, until its newline.
        var pending = [UInt8]()
        var searched = 0        // bytes of `pending` already known to hold no newline
        var oversized = false   // the current line passed the limit and is being skipped
        var lineNumber = 0
        var read = 0
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            read += chunk.count
            var body = chunk[...]
            if oversized {
                guard let nl = chunk.withUnsafeBytes({ ByteSearch.first(0x0A, in: $0, from: 0) }) else { continue }
                lineNumber += 1
                importer.refuseOversized(line: lineNumber)
                oversized = false
                body = body[(body.startIndex + nl + 1)...]
            }
            pending.append(contentsOf: body)
            var start = 0
            try pending.withUnsafeBytes { buf in
                var from = searched
                while let nl = ByteSearch.first(0x0A, in: buf, from: from) {
                    lineNumber += 1
                    if nl - start > Ledger.maxLineBytes {
                        importer.refuseOversized(line: lineNumber)
                    } else {
                        try importer.add(UnsafeRawBufferPointer(rebasing: buf[start..<nl]), line: lineNumber)
                    }
                    start = nl + 1
                    from = start
                }
            }
            pending.removeFirst(start)
            searched = pending.count
            if pending.count > Ledger.maxLineBytes {
                oversized = true
                pending.removeAll(keepingCapacity: false)
                searched = 0
            }
            if importer.flushedSinceLastCheck() { progress?(read, total) }
        }
        if oversized {
            lineNumber += 1
            importer.refuseOversized(line: lineNumber)
        } else if !pending.isEmpty {
            lineNumber += 1
            try pending.withUnsafeBytes { try importer.add($0, line: lineNumber) }
        }
        let report = try importer.finish()
        progress?(read, total)
        return report
    }

    /// Imports lines given in memory or generated (the demo, benchmarks), in order, as `importFile` does.
    public func importLines<S: Sequence>(_ lines: S, atomic: Bool = false, batchSize: Int = Ledger.importBatchLines,
                                         progress: ((Int) -> Void)? = nil) throws -> ImportReport where S.Element == [UInt8] {
        let importer = Importer(ledger: self, atomic: atomic, batchSize: batchSize)
        var n = 0
        for line in lines {
            n += 1
            try line.withUnsafeBytes { try importer.add($0, line: n) }
            if importer.flushedSinceLastCheck() { progress?(n) }
        }
        return try importer.finish()
    }

    /// Imports lines as ``importLines(_:atomic:batchSize:progress:)`` does, without a thread
    /// waiting for the commit: the lines are decoded and checked on the calling thread, and
    /// `completion` runs on the log's writer thread once they are durable (or refused). Lines
    /// that make more than one batch are imported on the calling thread, which then waits.
    public func importLines(_ lines: [[UInt8]], atomic: Bool = false,
                            completion: @escaping @Sendable (Result<ImportReport, any Error>) -> Void) {
        let importer = Importer(ledger: self, atomic: atomic, batchSize: Ledger.importBatchLines)
        do {
            for (n, line) in lines.enumerated() { try line.withUnsafeBytes { try importer.add($0, line: n + 1) } }
        } catch {
            return completion(.failure(error))
        }
        importer.finish(then: completion)
    }
}

/// Reads lines into batches, decodes, checks and prepares each batch on every core, and keeps
/// one batch committing while the next is prepared.
final class Importer {
    let ledger: Ledger
    let atomic: Bool
    let batchSize: Int
    private var report = ImportReport()
    /// The batch's lines, back to back, as read: they are decoded when the batch is prepared,
    /// on every core. A batch is bounded by bytes as well as by lines, so that a file of large
    /// lines (eighty 8 MB notes) never holds more than ``maxBatchBytes`` at once.
    private var text: [UInt8] = []
    /// Where each of the batch's lines ends in `text`, and its number in the file.
    private var ends: [Int] = []
    private var numbers: [Int] = []
    private var batchBytes: Int { text.count }
    static let maxBatchBytes = 64 << 20
    /// The batch committing: its line numbers, what was prepared (held here so that its memory is
    /// freed on this thread, not on the writer's), and where its outcome arrives.
    private var inFlight: (lines: [Int], prepared: Ledger.PreparedBatch, latch: Latch<Result<AppendReport, any Error>>)?
    /// The lines' bytes of the batch in flight (it holds its memory until it has committed).
    private var inFlightBytes = 0
    private var flushed = false
    /// Under an address-space limit (`ulimit -v`), the batch's bytes at which to look at what is left.
    private let limited = AddressSpace.limit != nil
    private var nextMemoryCheck = 1 << 20
    /// A batch holds each line about this many times over while it is decoded, prepared and sealed.
    /// (LMDB's dirty pages of the commit included.)
    static let copiesPerLine = 12

    init(ledger: Ledger, atomic: Bool, batchSize: Int) {
        self.ledger = ledger; self.atomic = atomic; self.batchSize = batchSize
    }

    func flushedSinceLastCheck() -> Bool { defer { flushed = false }; return flushed }

    func add(_ bytes: UnsafeRawBufferPointer, line: Int) throws {
        var bytes = bytes
        if bytes.last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
        if bytes.isEmpty { return }  // blank lines are skipped (and keep their number)
        if bytes.count > Ledger.maxLineBytes { return refuseOversized(line: line) }
        report.lines += 1
        text.append(contentsOf: bytes)
        ends.append(text.count)
        numbers.append(line)
        if !atomic && (numbers.count >= batchSize || batchBytes >= Importer.maxBatchBytes) { return try flush() }
        // Under an address-space limit, a batch is cut short where what is left would not hold it
        // prepared: a failed allocation would abort the process, which Swift cannot catch.
        if limited && batchBytes >= nextMemoryCheck {
            nextMemoryCheck = batchBytes + (1 << 20)
            if !atomic, let room = AddressSpace.headroom, room < Importer.copiesPerLine * (2 * batchBytes + inFlightBytes) { try flush() }
        }
    }

    /// Refuses a line longer than ``Ledger/maxLineBytes`` (CONTRACT.md section 4, `schema`).
    func refuseOversized(line: Int) {
        report.lines += 1
        report.refused.append(Refusal(line: line, RuleViolation(.schema, message:
            "the line is longer than the ledger's limit of \(Ledger.maxLineBytes >> 20) MiB; it was not read")))
    }

    /// How many threads prepare a batch of `count` lines: every core but one, which is left to
    /// the log's writer, the import's bottleneck (on two cores, preparing on both slowed the
    /// writer more than it sped the preparing: BENCHMARKS.md, tenth round); one for a small
    /// batch, or when an address-space limit leaves little room for a thread's stack.
    static func parts(_ count: Int) -> Int {
        count >= 1024 && (AddressSpace.headroom.map { $0 > 256 << 20 } ?? true) ? preparingThreads : 1
    }
    static let preparingThreads = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)

    /// Decodes and checks the batch's lines on every core: the events that pass, with their
    /// line numbers, in the file's order; the refusals go to the report. Empties the batch.
    private func decodeBatch() -> (events: [Event], lines: [Int]) {
        // Decoded by a function of its own, so that no copy of the buffers is left once it
        // returns: emptied below, they keep their memory for the next batch.
        let decoded = Importer.decode(text, ends: ends, numbers: numbers, parts: Importer.parts(numbers.count))
        text.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        numbers.removeAll(keepingCapacity: true)
        if decoded.count == 1 {
            report.refused += decoded[0].refused
            return (decoded[0].events, decoded[0].lines)
        }
        var events: [Event] = [], lines: [Int] = []
        events.reserveCapacity(decoded.reduce(0) { $0 + $1.events.count })
        lines.reserveCapacity(events.capacity)
        for part in decoded {
            events += part.events
            lines += part.lines
            report.refused += part.refused
        }
        return (events, lines)
    }

    /// Decodes and checks lines (`text` cut at `ends`, numbered `numbers`) in `parts` parts at once.
    static func decode(_ text: [UInt8], ends: [Int], numbers: [Int], parts: Int) -> [(events: [Event], lines: [Int], refused: [Refusal])] {
        Parallel.mapParts(numbers.count, parts: parts) { _, range in
            let decoder = EventDecoder(mode: .interchange)
            var events: [Event] = [], lines: [Int] = [], refused: [Refusal] = []
            events.reserveCapacity(range.count)
            lines.reserveCapacity(range.count)
            text.withUnsafeBytes { all in
                for i in range {
                    let line = UnsafeRawBufferPointer(rebasing: all[(i == 0 ? 0 : ends[i - 1])..<ends[i]])
                    do throws(RuleViolation) {
                        let event = try decoder.decode(line)
                        try event.validateStandalone()
                        try Ledger.refuseLedgerOnlyTypes(event)
                        events.append(event)
                        lines.append(numbers[i])
                    } catch {
                        refused.append(Refusal(line: numbers[i], error))
                    }
                }
            }
            return (events, lines, refused)
        }
    }

    private func flush() throws {
        guard !numbers.isEmpty else { return }
        nextMemoryCheck = 1 << 20
        // The batch in flight still holds its memory while this one is prepared: wait for it
        // first when both would not fit.
        if limited, AddressSpace.shortfall(Importer.copiesPerLine * (batchBytes + inFlightBytes)) != nil { try collect() }
        if limited, let why = AddressSpace.shortfall(Importer.copiesPerLine * batchBytes) {
            try? collect()
            let first = numbers[0], last = numbers[numbers.count - 1]
            throw LedgerError.invalid("not enough memory to prepare lines \(first)–\(last): \(why). "
                + "Nothing from line \(first) on was appended (\(report.appended) events from earlier lines were); "
                + "the events already appended count as duplicates")
        }
        let bytes = batchBytes
        let (events, lines) = decodeBatch()
        // In an atomic import, one refused line means nothing is appended.
        if atomic && !report.refused.isEmpty { return }
        guard !events.isEmpty else { return }
        // What is sealed ahead is checked against the customers in the append transaction
        // (LedgerHook), so this batch is prepared while the previous one commits, whatever they hold.
        let prepared = Ledger.PreparedBatch(events, ledger: ledger, parts: Importer.parts(events.count),
                                            earlier: inFlight?.prepared.opened ?? [:])
        try collect()
        let latch = Latch<Result<AppendReport, any Error>>()
        send(prepared) { latch.set($0) }
        inFlight = (lines, prepared, latch)
        inFlightBytes = bytes
        flushed = true
    }

    /// Hands a prepared batch to the log's writer; `completion` runs on the writer's thread
    /// once it is committed (or refused, or failed).
    private func send(_ prepared: Ledger.PreparedBatch, then completion: @escaping @Sendable (Result<AppendReport, any Error>) -> Void) {
        ledger.log.appendDetached(prepared.drafts, mode: atomic ? .atomic : .eachAlone,
                                  hook: LedgerHook(prepared, ledger: ledger), completion: completion)
    }

    /// Waits for the batch in flight and records its outcomes.
    private func collect() throws {
        guard let f = inFlight else { return }
        inFlight = nil
        inFlightBytes = 0
        try Importer.record(f.latch.wait(), lines: f.lines, events: f.prepared.events, into: &report)
    }

    /// Adds a committed batch's outcomes to `report`.
    static func record(_ result: Result<AppendReport, any Error>, lines: [Int], events: [Event], into report: inout ImportReport) throws {
        switch result {
        case .success(let r):
            for ((line, event), outcome) in zip(zip(lines, events), r.outcomes) {
                switch Ledger.outcome(outcome, event: event) {
                case .appended: report.appended += 1
                case .duplicate: report.duplicates += 1
                case .refused(let v): report.refused.append(Refusal(line: line, v))
                }
            }
        case .failure(let refused as BatchRefused):
            report.refused.append(Refusal(line: lines[refused.index], Ledger.violation(refused.reason, event: events[refused.index])))
        case .failure(let error):
            // A storage failure (a full disk, an I/O error): the batch's transaction was rolled
            // back whole, and nothing after it was sent.
            throw LedgerError.invalid("the ledger could not be written (\(error)); nothing from line \(lines.first ?? 0) on "
                + "was appended (\(report.appended) events from earlier lines were). Import the file again once "
                + "this is fixed: the events already appended count as duplicates")
        }
    }

    func finish() throws -> ImportReport {
        if atomic && !report.refused.isEmpty {
            report.rolledBack = true
            return report
        }
        try flush()
        if atomic && !report.refused.isEmpty { return Importer.finalized(report, atomic: atomic) }
        try collect()
        return Importer.finalized(report, atomic: atomic)
    }

    static func finalized(_ report: ImportReport, atomic: Bool) -> ImportReport {
        var report = report
        if atomic && !report.refused.isEmpty { report.rolledBack = true; report.appended = 0; report.duplicates = 0 }
        report.refused.sort { $0.line < $1.line }
        return report
    }

    /// ``finish()`` without waiting, for lines that make one batch (a service request): the
    /// batch goes to the group committer and `completion` runs on its writer thread once the
    /// events are durable, so no thread waits for the commit. An importer that already sent a
    /// batch finishes as ``finish()`` does, on the calling thread.
    func finish(then completion: @escaping @Sendable (Result<ImportReport, any Error>) -> Void) {
        if inFlight != nil || (atomic && !report.refused.isEmpty) || numbers.isEmpty
            || (limited && AddressSpace.shortfall(Importer.copiesPerLine * batchBytes) != nil) {
            return completion(Result { try finish() })
        }
        let (events, lines) = decodeBatch()
        if (atomic && !report.refused.isEmpty) || events.isEmpty {
            return completion(.success(Importer.finalized(report, atomic: atomic)))
        }
        let prepared = Ledger.PreparedBatch(events, ledger: ledger, parts: Importer.parts(events.count))
        let sofar = report, atomic = atomic
        send(prepared) { result in
            completion(Result {
                var report = sofar
                try Importer.record(result, lines: lines, events: events, into: &report)
                return Importer.finalized(report, atomic: atomic)
            })
        }
    }
}
