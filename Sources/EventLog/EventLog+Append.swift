import Crypto
import LMDB

/// An event ready to append: its id, stream, canonical bytes and content digest.
public struct EventDraft: Sendable {
    public var id: RecordID
    public var stream: String
    /// The event's canonical JSON: stored, hashed and exported as it is.
    public var payload: [UInt8]
    /// 32 bytes identifying the content for idempotency: the same id with the same
    /// digest is a duplicate, with another digest a refusal. The log keeps no digest: it
    /// computes the stored event's again (``AppendHook/sameContent(_:draft:as:in:)``), by
    /// default SHA-256 of its payload, which is then what this must be.
    public var digest: [UInt8]
    /// Optimistic concurrency: the stream's version the writer has seen.
    public var expectedVersion: UInt64?

    public init(id: RecordID, stream: String, payload: [UInt8], digest: [UInt8], expectedVersion: UInt64? = nil) {
        self.id = id; self.stream = stream; self.payload = payload; self.digest = digest
        self.expectedVersion = expectedVersion
    }

    /// Whether ``digest`` is SHA-256 of `payload` (a stored event's, by default).
    public func hasDigest(ofPayload payload: UnsafeRawBufferPointer) -> Bool {
        SHA256.hash(data: payload).withUnsafeBytes { $0.elementsEqual(digest) }
    }
}

/// Where an appended event landed.
public struct Position: Sendable, Equatable {
    public var seq: UInt64
    public var version: UInt64
    public var recordedAt: Int64
}

/// Checks an event against state kept in the same transaction and records its effects there
/// (the domain's rules). Called in order for each draft, after the log's own checks.
///
/// For each draft that is not a duplicate, ``prepare(_:draft:in:)`` and then (unless the log
/// refuses it for a version conflict) ``admit(_:at:in:)`` are called back to back, with no
/// other draft in between.
public protocol AppendHook: Sendable {
    /// Called before the first draft of the request, in each attempt of the transaction (an
    /// attempt reruns after map growth): state kept from an earlier attempt must go.
    func begin(in txn: WriteTransaction) throws
    /// Checks draft `index` and may complete it (its stream and payload), before the log
    /// looks at its stream. It must not write anything: throwing refuses the draft.
    func prepare(_ index: Int, draft: inout EventDraft, in txn: WriteTransaction) throws
    /// Admits draft `index` of the batch at `position`, or throws to refuse it.
    /// It must throw before writing anything: a refused event changes nothing.
    func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws
    /// Draft `index` has the id of the event `stored`: whether it has the same content, that is
    /// whether `draft.digest` is the stored event's content digest, computed again from it (the
    /// id index keeps only seqs). The default: SHA-256 of the stored payload. Throw
    /// ``LogError/corrupt(seq:_:)`` when the stored event cannot be read.
    func sameContent(_ index: Int, draft: EventDraft, as stored: RecordView, in txn: WriteTransaction) throws -> Bool
    /// Draft `index` has the id and content digest of the event at `seq`: throw to refuse it
    /// as different content that the digest does not cover.
    func duplicate(_ index: Int, of seq: UInt64, in txn: WriteTransaction) throws
    /// Called after the request's last draft, before commit (e.g. to persist caches). In an
    /// atomic request it is not called when a draft is refused (nothing of it is kept).
    func finish(in txn: WriteTransaction) throws
}

extension AppendHook {
    public func begin(in txn: WriteTransaction) throws {}
    public func prepare(_ index: Int, draft: inout EventDraft, in txn: WriteTransaction) throws {}
    public func sameContent(_ index: Int, draft: EventDraft, as stored: RecordView, in txn: WriteTransaction) throws -> Bool {
        draft.hasDigest(ofPayload: stored.payload)
    }
    public func duplicate(_ index: Int, of seq: UInt64, in txn: WriteTransaction) throws {}
    public func finish(in txn: WriteTransaction) throws {}
}

/// Sees every append transaction of a log as a whole (set once, before the first append).
public protocol CommitObserver: AnyObject, Sendable {
    /// At the start of each attempt of an append transaction (an attempt reruns after map growth).
    func willBegin()
    /// After every request of the transaction ran, before it commits.
    func willCommit(_ txn: WriteTransaction) throws
    /// After the transaction committed.
    func didCommit()
    /// After the transaction failed and was discarded.
    func didAbort()
}

/// Why the log itself refused an event.
public struct LogRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case duplicateId, conflict }
    public let kind: Kind
    public let id: RecordID
    public let message: String
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// What happened to each draft of a batch.
public enum AppendOutcome: Sendable {
    case appended(Position)
    /// The same id with the same content was appended before, at this seq.
    case duplicate(seq: UInt64)
    /// Refused (by the log or the hook); nothing was written for it.
    case refused(any Error)
}

/// How a batch is applied.
public enum BatchMode: Sendable {
    /// Each draft stands alone: refusals are reported and the rest is appended.
    case eachAlone
    /// All or nothing: the first refusal is thrown and nothing is appended.
    case atomic
}

/// The error an atomic batch throws when one of its drafts is refused.
public struct BatchRefused: Error, Sendable, CustomStringConvertible {
    /// Index of the refused draft in the batch.
    public let index: Int
    public let reason: any Error
    public var description: String { "draft \(index) refused: \(reason)" }
}

/// One batch's outcomes, in draft order.
public struct AppendReport: Sendable {
    public var outcomes: [AppendOutcome]
    public var appended: Int { outcomes.reduce(0) { if case .appended = $1 { return $0 + 1 } else { return $0 } } }
    public var duplicates: Int { outcomes.reduce(0) { if case .duplicate = $1 { return $0 + 1 } else { return $0 } } }
    public var lastPosition: Position? {
        for o in outcomes.reversed() { if case .appended(let p) = o { return p } }
        return nil
    }
}

extension EventLog {
    /// Appends `drafts` and returns once committed (durably, in a durable environment).
    /// Concurrent calls are committed together.
    /// - throws: ``BatchRefused`` (atomic mode), ``LMDBError``, or what `hook` throws in atomic mode.
    public func append(_ drafts: [EventDraft], mode: BatchMode = .eachAlone, hook: (any AppendHook)? = nil) async throws -> AppendReport {
        try await withCheckedThrowingContinuation { cont in
            committer.submit(.init(drafts: drafts, mode: mode, hook: hook) { cont.resume(with: $0) })
        }
    }

    /// Blocking form of ``append(_:mode:hook:)`` for threads outside Swift concurrency.
    public func appendSync(_ drafts: [EventDraft], mode: BatchMode = .eachAlone, hook: (any AppendHook)? = nil) throws -> AppendReport {
        let latch = Latch<Result<AppendReport, any Error>>()
        committer.submit(.init(drafts: drafts, mode: mode, hook: hook) { latch.set($0) })
        return try latch.wait().get()
    }

    /// Submits `drafts` without waiting: `completion` runs on the writer thread once the
    /// batch is committed (or failed). Lets a producer prepare the next batch meanwhile.
    public func appendDetached(_ drafts: [EventDraft], mode: BatchMode = .eachAlone, hook: (any AppendHook)? = nil,
                               completion: @escaping @Sendable (Result<AppendReport, any Error>) -> Void) {
        committer.submit(.init(drafts: drafts, mode: mode, hook: hook, completion: completion))
    }

    /// Appends one batch inside `txn`, advancing `head`. Runs on the writer thread.
    func applyBatch(_ drafts: [EventDraft], mode: BatchMode, hook: (any AppendHook)?,
                    head: inout Head, scratch: inout Scratch, txn: WriteTransaction) throws -> AppendReport {
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(drafts.count)
        let now = clock()
        // The runs stay as they are until the transaction's end (``IdIndex/commit(_:txn:)``).
        let runs = try idIndex.loadRuns(txn)
        try hook?.begin(in: txn)
        for (index, draft) in drafts.enumerated() {
            do {
                outcomes.append(try appendOne(draft, index: index, hook: hook, now: now, runs: runs, head: &head, scratch: &scratch, txn: txn))
            } catch {
                // A storage failure is the transaction's, never one event's refusal: rethrown as
                // it is, so that MDB_MAP_FULL grows the map and retries, atomic batches included.
                if error is LMDBError { throw error }
                // So is a damaged id index: no event can be told new or seen before; and a
                // damaged record met while judging a duplicate.
                if case LogError.damagedIndex = error { throw error }
                if case LogError.corrupt = error { throw error }
                if mode == .atomic { throw BatchRefused(index: index, reason: error) }
                outcomes.append(.refused(error))
            }
        }
        try hook?.finish(in: txn)
        return AppendReport(outcomes: outcomes)
    }

    /// What a commit keeps while it runs: the hashes' buffer, reused for every event, and the
    /// ids and stream heads it writes at its end.
    struct Scratch {
        /// chain hash (32) ‖ leaf hash (32)
        var hashes = [UInt8](repeating: 0, count: 64)
        /// The ids this commit appended, written at its end (``IdIndex/commit(_:txn:)``).
        var ids = IdIndex.Staged()
        /// The heads (stream number, version, last seq) of the streams this commit appended to,
        /// written to `streams` once at its end (``writeStreams(_:txn:)``) rather than once an
        /// event: a ticket's events of one commit read and rewrite its head once.
        var streams: [String: (number: UInt64, version: UInt64, last: UInt64)] = [:]
    }

    /// Writes the stream heads a commit changed, in key order. Called once, before it commits.
    func writeStreams(_ scratch: Scratch, txn: WriteTransaction) throws {
        for (name, head) in KeyOrder.sorted(scratch.streams, by: \.key) {
            try name.withUnsafeBytes { n in
                try withUnsafeBytes(of: (head.value.number.bigEndian, head.value.version.bigEndian, head.value.last.bigEndian)) {
                    try txn.put(dbs.streams, key: n, value: $0)
                }
            }
        }
    }

    /// Checks and writes one draft. Returns its outcome; throws a refusal before writing anything.
    @inline(__always)
    private func appendOne(_ draft: EventDraft, index: Int, hook: (any AppendHook)?, now: Int64, runs: [IdIndex.Run],
                           head: inout Head, scratch: inout Scratch, txn: WriteTransaction) throws -> AppendOutcome {
        precondition(draft.digest.count == 32, "a content digest is 32 bytes")
        // 1. Idempotency: an id seen before is judged against the event stored under it.
        var seen = scratch.ids.find(draft.id)
        if seen == nil, let entry = try draft.id.withBytes({ try idIndex.find($0, runs: runs, in: txn) }) {
            seen = BigEndianKey.uint64(entry)
        }
        if let seq = seen {
            guard let value = try txn.get(dbs.events, key: seq), let stored = RecordView(value), stored.id == draft.id else {
                throw LogError.damagedIndex("the entry for id \(draft.id.uuidString) leads to seq \(seq), which does not hold that event")
            }
            if try hook?.sameContent(index, draft: draft, as: stored, in: txn) ?? draft.hasDigest(ofPayload: stored.payload) {
                try hook?.duplicate(index, of: seq, in: txn)
                return .duplicate(seq: seq)
            }
            throw LogRefusal(kind: .duplicateId, id: draft.id,
                             message: "id \(draft.id.uuidString) was appended before (seq \(seq)) with other content")
        }
        var draft = draft
        try hook?.prepare(index, draft: &draft, in: txn)
        var streamName = draft.stream
        return try streamName.withUTF8 { name in
            let name = UnsafeRawBufferPointer(name)
            guard name.count <= RecordLayout.maxStreamLength, !name.isEmpty else { throw LogError.streamNameTooLong(name.count) }
            // 2. Stream version and optimistic concurrency.
            var streamNumber: UInt64, version: UInt64, previous: UInt64
            if let cached = scratch.streams[draft.stream] {
                (streamNumber, version, previous) = cached
            } else if let s = try streamHead(name, in: txn) {
                (streamNumber, version, previous) = (s.number, s.version, s.last)
            } else {
                (streamNumber, version, previous) = (head.streams + 1, 0, 0)
            }
            if let expected = draft.expectedVersion, expected != version {
                throw LogRefusal(kind: .conflict, id: draft.id,
                                 message: "stream \(draft.stream) is at version \(version), the writer expected \(expected)")
            }
            let position = Position(seq: head.seq + 1, version: version + 1, recordedAt: max(now, head.recordedAt))
            // 3. The domain's rules.
            try hook?.admit(index, at: position, in: txn)
            // 4. Write: record, hashes, id, stream link (and mark), stream head. The record is written in
            // place in the page LMDB reserves for it (MDB_RESERVE), and hashed there: no buffer
            // of ours is allocated, filled and copied for each event.
            let size = RecordLayout.size(streamCount: name.count, payloadCount: draft.payload.count)
            try BigEndianKey.with(position.seq) { key in
                try txn.putReserved(dbs.events, key: key, size: size, flags: .append) { out in
                    draft.payload.withUnsafeBytes { p in
                        RecordLayout.write(into: out, seq: position.seq, recordedAt: position.recordedAt, version: position.version,
                                           id: draft.id, stream: name, payload: p)
                    }
                    let r = UnsafeRawBufferPointer(out)
                    var chain = SHA256()
                    chain.update(data: head.hash)
                    chain.update(bufferPointer: r)
                    var leaf = SHA256()
                    withUnsafeBytes(of: UInt8(0)) { leaf.update(bufferPointer: $0) }
                    leaf.update(bufferPointer: r)
                    scratch.hashes.withUnsafeMutableBytes { h in
                        chain.finalize().withUnsafeBytes { h.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 32) }
                        leaf.finalize().withUnsafeBytes { (h.baseAddress! + 32).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                    }
                }
                try scratch.hashes.withUnsafeBytes { try txn.put(dbs.hashes, key: key, value: $0, flags: .append) }
            }
            scratch.ids.add(draft.id, seq: position.seq)
            // The link is appended at the end of its table; only every markEvery-th version of a
            // stream puts an entry in the middle of one.
            try BigEndianKey.with(position.seq) { seq in
                try BigEndianKey.with(previous) { try txn.put(dbs.streamLinks, key: seq, value: $0, flags: .append) }
                if position.version % EventLog.markEvery == 0 {
                    try withUnsafeBytes(of: (streamNumber.bigEndian, position.version.bigEndian)) { try txn.put(dbs.streamMarks, key: $0, value: seq) }
                }
            }
            scratch.streams[draft.stream] = (streamNumber, position.version, position.seq)
            if version == 0 { head.streams += 1 }
            head.seq = position.seq
            head.recordedAt = position.recordedAt
            scratch.hashes.withUnsafeBytes { h in
                head.hash.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: h[0..<32])) }
            }
            return .appended(position)
        }
    }
}
