import Crypto
import EscalationDomain
import EventLog
import Foundation

/// What an auditor trusts when checking a bundle: the ledger's key, obtained apart from the
/// bundle, and optionally a checkpoint kept earlier and the witnesses whose cosignatures the
/// bundle's checkpoint must carry.
public struct BundleTrust: Sendable {
    /// The ledger's Ed25519 public key.
    public var publicKey: [UInt8]
    /// The checkpoint origin, when the key was given as a note verifier key (`ledger key`).
    public var origin: String?
    /// A checkpoint note kept elsewhere: the bundle's checkpoint must be the same tree.
    public var keptCheckpoint: String?
    /// Witness verifier keys (`ledger witness key`) whose cosignatures the checkpoint must carry.
    public var witnesses: [SignedNote.VerifierKey]

    public init(publicKey: [UInt8], origin: String? = nil, keptCheckpoint: String? = nil, witnesses: [SignedNote.VerifierKey] = []) {
        self.publicKey = publicKey; self.origin = origin; self.keptCheckpoint = keptCheckpoint; self.witnesses = witnesses
    }
}

/// The outcome of checking a bundle.
public struct BundleVerification: Sendable, Equatable {
    public var ok: Bool
    /// Events checked.
    public var checked: Int
    /// The first line of events.jsonl found bad (1-based), when a line is to blame.
    public var firstBadLine: Int?
    /// Its seq, when it could be read.
    public var firstBadSeq: UInt64?
    public var problem: String?
}

/// Checks a bundle with nothing but its files and what the auditor trusts (docs/VERIFY.md,
/// "What `verify --bundle` checks"): every claim of the manifest, every file, every line, the
/// filter, and the proof that ties the events to a checkpoint signed by the trusted key. It never
/// says ok without a trusted key.
public enum BundleVerifier {
    struct Failure: Error { var problem: String; var line: Int? = nil; var seq: UInt64? = nil }

    static let manifestKeys: Set<String> = ["chainAfter", "chainBefore", "checkpoint", "contiguous", "count", "createdAt", "files",
                                            "firstSeq", "format", "lastSeq", "merkleRoot", "pseudonymized", "publicKey", "range", "signature"]
    static let rangeKeys: Set<String> = ["customer", "fromSeq", "staff", "ticket", "toSeq"]
    /// The fields that name a staff member (`Event.names`), by their key in the event.
    public static let staffFields = ["actor", "agent", "author", "by", "coach", "from", "operator", "owner", "party", "reportsTo",
                                     "staff", "supervisor", "to"]

    /// Checks the bundle trusting only the ledger's Ed25519 public key (nil: nothing is trusted, so it is never ok).
    public static func verify(directory: String, trustedPublicKey: [UInt8]?) -> BundleVerification {
        verify(directory: directory, trust: trustedPublicKey.map { BundleTrust(publicKey: $0) })
    }

    public static func verify(directory: String, trust: BundleTrust?) -> BundleVerification {
        var checked = 0
        do {
            try check(directory, trust, &checked)
            guard trust != nil else {
                return BundleVerification(ok: false, checked: checked, problem:
                    "every check passed, but no trusted key was given: anyone can sign a bundle, so pass the ledger's key (--public-key, or --ledger DIR)")
            }
            return BundleVerification(ok: true, checked: checked)
        } catch let f as Failure {
            return BundleVerification(ok: false, checked: checked, firstBadLine: f.line, firstBadSeq: f.seq, problem: f.problem)
        } catch {
            return BundleVerification(ok: false, checked: checked, problem: "\(error)")
        }
    }

    private static func read(_ dir: URL, _ name: String) throws -> [UInt8] {
        guard let data = try? Data(contentsOf: dir.appendingPathComponent(name)) else { throw Failure(problem: "\(name) is missing or unreadable") }
        return Array(data)
    }

    private static func lowerHex(_ value: CanonicalJSON?, bytes: Int, _ what: String) throws -> [UInt8] {
        guard let s = value?.stringValue, s.utf8.count == bytes * 2, s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
              let b = Hex.decode(s) else {
            throw Failure(problem: "manifest: \(what) is not \(bytes * 2) lowercase hex digits")
        }
        return b
    }

    private static func count(_ value: CanonicalJSON?, _ what: String) throws -> UInt64 {
        guard let v = value?.integerValue, v >= 0 else { throw Failure(problem: "manifest: \(what) is not a whole number >= 0") }
        return UInt64(v)
    }

    private static func check(_ directory: String, _ trust: BundleTrust?, _ checked: inout Int) throws {
        let dir = URL(fileURLWithPath: directory)
        // 1. The manifest: canonical bytes, exact keys, well-typed, signed by the trusted key.
        let manifestBytes = try read(dir, Bundle.manifestFile)
        guard let parsed = try? CanonicalJSON.parse(manifestBytes.dropLast()), let m = parsed.objectValue else {
            throw Failure(problem: "manifest.json is not a JSON object")
        }
        guard parsed.encoded + [0x0A] == manifestBytes else {
            throw Failure(problem: "manifest.json is not in canonical form (keys sorted, no whitespace, ASCII, one final newline)")
        }
        guard let format = m["format"]?.stringValue, Bundle.verifiedFormats.contains(format) else {
            throw Failure(problem: "manifest format is not \(Bundle.verifiedFormats.joined(separator: " or "))")
        }
        // Format 2 wrote events.csv without the formula guard; the format is signed with the rest.
        let guardFormulas = format != Bundle.unguardedFormat
        guard Set(m.keys) == manifestKeys else {
            throw Failure(problem: "manifest has the keys \(m.keys.sorted()); a \(format) manifest has exactly \(manifestKeys.sorted())")
        }
        let key = try lowerHex(m["publicKey"], bytes: 32, "publicKey")
        let signature = try lowerHex(m["signature"], bytes: 64, "signature")
        if let trust, trust.publicKey != key {
            throw Failure(problem: "manifest is signed by \(Hex.encode(key)), not the trusted key \(Hex.encode(trust.publicKey))")
        }
        guard SigningKeyFile.verify(publicKey: key, signature: signature, message: Bundle.signedBytes(m)) else {
            throw Failure(problem: "manifest signature does not verify")
        }
        let chainBefore = try lowerHex(m["chainBefore"], bytes: 32, "chainBefore")
        let chainAfter = try lowerHex(m["chainAfter"], bytes: 32, "chainAfter")
        let merkleRoot = try lowerHex(m["merkleRoot"], bytes: 32, "merkleRoot")
        let total = try count(m["count"], "count"), firstSeq = try count(m["firstSeq"], "firstSeq"), lastSeq = try count(m["lastSeq"], "lastSeq")
        guard case .bool(let contiguous)? = m["contiguous"], case .bool(let pseudonymized)? = m["pseudonymized"] else {
            throw Failure(problem: "manifest: contiguous and pseudonymized are not true or false")
        }
        guard let createdAt = m["createdAt"]?.stringValue, Timestamp(rfc3339: createdAt) != nil else {
            throw Failure(problem: "manifest: createdAt is not an RFC 3339 time")
        }
        guard let range = m["range"]?.objectValue, Set(range.keys).isSubset(of: rangeKeys), range["fromSeq"] != nil, range["toSeq"] != nil else {
            throw Failure(problem: "manifest: range is not an object of fromSeq, toSeq and the filters ticket, staff, customer")
        }
        let fromSeq = try count(range["fromSeq"], "range.fromSeq"), toSeq = try count(range["toSeq"], "range.toSeq")
        var filters: [String: String] = [:]
        for name in ["ticket", "staff", "customer"] where range[name] != nil {
            guard let v = range[name]?.stringValue, !v.isEmpty else { throw Failure(problem: "manifest: range.\(name) is not a non-empty string") }
            filters[name] = v
        }
        guard fromSeq >= 1 else { throw Failure(problem: "manifest: range.fromSeq is 0; seqs start at 1") }
        guard contiguous == filters.isEmpty else {
            throw Failure(problem: "manifest: contiguous is \(contiguous) but the range has \(filters.isEmpty ? "no filter" : "the filters \(filters.keys.sorted())")")
        }
        guard let cp = m["checkpoint"]?.objectValue, Set(cp.keys) == ["origin", "rootHash", "treeSize"], let origin = cp["origin"]?.stringValue else {
            throw Failure(problem: "manifest: checkpoint is not an object of exactly origin, rootHash and treeSize")
        }
        let treeRoot = try lowerHex(cp["rootHash"], bytes: 32, "checkpoint.rootHash")
        let treeSize = try count(cp["treeSize"], "checkpoint.treeSize")

        // 2. The directory holds exactly the listed files (their sizes and digests: step 6).
        guard let files = m["files"]?.objectValue, Set(files.keys) == Set(Bundle.listedFiles) else {
            throw Failure(problem: "manifest: files must list exactly \(Bundle.listedFiles)")
        }
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        let expected = Set(Bundle.listedFiles + [Bundle.manifestFile, Bundle.checkpointFile])
        if let extra = present.subtracting(expected).sorted().first { throw Failure(problem: "\(extra) is in the bundle but not in its manifest") }
        var stated: [String: (sha256: [UInt8], bytes: UInt64)] = [:]  // compared once the lines have named any damage
        for name in Bundle.listedFiles {
            guard let entry = files[name]?.objectValue, Set(entry.keys) == ["bytes", "sha256"] else {
                throw Failure(problem: "manifest: files.\(name) is not an object of exactly bytes and sha256")
            }
            stated[name] = (try lowerHex(entry["sha256"], bytes: 32, "files.\(name).sha256"), try count(entry["bytes"], "files.\(name).bytes"))
        }
        // The three line files are read as they are checked, a chunk at a time (memory does not
        // grow with the bundle), each hashed as it is read; proof.json is small and read whole.
        let lines = try FileLines(dir.appendingPathComponent(Bundle.eventsFile).path, name: Bundle.eventsFile)
        let personal = try FileLines(dir.appendingPathComponent(Bundle.personalFile).path, name: Bundle.personalFile)
        let csv = try FileLines(dir.appendingPathComponent(Bundle.csvFile).path, name: Bundle.csvFile, terminator: [0x0D, 0x0A])
        let proofBytes = try read(dir, Bundle.proofFile)

        // 3. The checkpoint: signed by the trusted key, the tree the manifest names, cosigned
        //    by every required witness, and the same tree as a kept checkpoint.
        guard let noteText = String(validating: try read(dir, Bundle.checkpointFile), as: UTF8.self) else {
            throw Failure(problem: "checkpoint is not UTF-8")
        }
        if let want = trust?.origin, want != origin {
            throw Failure(problem: "the bundle's checkpoint origin is \(origin), the trusted key's is \(want)")
        }
        guard SignedNote.isValidName(origin) else { throw Failure(problem: "manifest: checkpoint.origin is not a note key name") }
        let noteKey = try SignedNote.VerifierKey(SignedNote.verifierKey(name: origin, publicKey: key))
        let checkpoint: Checkpoint, note: SignedNote.Note
        do { (checkpoint, note) = try Checkpoint.open(noteText, key: noteKey) } catch { throw Failure(problem: "checkpoint: \(error)") }
        guard checkpoint.origin == origin, UInt64(checkpoint.treeSize) == treeSize, checkpoint.rootHash.bytes == treeRoot else {
            throw Failure(problem: "checkpoint (\(checkpoint.origin), \(checkpoint.treeSize), \(checkpoint.rootHash.hex)) is not the manifest's (\(origin), \(treeSize), \(Hex.encode(treeRoot)))")
        }
        for witness in trust?.witnesses ?? [] {
            do { _ = try note.verifyCosignature(witness) } catch {
                throw Failure(problem: "checkpoint: no valid cosignature by the witness \(witness.name): \(error)")
            }
        }
        if let kept = trust?.keptCheckpoint {
            let old: Checkpoint
            do { old = try Checkpoint.open(kept, key: noteKey).0 } catch { throw Failure(problem: "the kept checkpoint: \(error)") }
            guard old.treeSize == checkpoint.treeSize else {
                throw Failure(problem: "the kept checkpoint is of \(old.treeSize) events, the bundle's of \(checkpoint.treeSize): check their consistency with ledger prove --consistency and verify --proof --old")
            }
            guard old.rootHash == checkpoint.rootHash else {
                throw Failure(problem: "the kept checkpoint's root for \(old.treeSize) events is \(old.rootHash.hex), the bundle's \(checkpoint.rootHash.hex): the log was rewritten")
            }
        }

        // 4. Every line of events.jsonl, with its personal.jsonl line and its events.csv row.
        guard try csv.next().map({ $0 + [0x0D, 0x0A] }) == CSVRow.header else { throw Failure(problem: "events.csv does not start with the header row") }
        var accumulator = MerkleRootAccumulator()
        // A bundle of the whole tree (seqs 1 to the checkpoint's size) needs no proof: its events'
        // own root is the checkpoint's, so their leaf hashes are not kept (memory stays flat).
        let wholeTree = contiguous && fromSeq == 1 && toSeq == treeSize
        var leaves: [(index: Int, hash: MerkleHash)] = []
        var previousHash = chainBefore
        var previousSeq: UInt64?, firstLineSeq: UInt64?
        var previousVersion: UInt64?
        var lineNumber = 0
        // Every check of a line that needs nothing but the line, its CSV row and its personal line
        // runs on every core, a chunk of lines at a time (phase A: the line; phase B: its personal
        // line and the row that shows it); the checks that follow the lines' order run here, line
        // by line, and each line's own findings are thrown at the point a line-by-line check would
        // have met them, so the first bad line is still the one named. The lines and rows are read
        // (and their files hashed) a chunk or two ahead, on a thread of their own; the personal
        // lines are read here, as they are handed out.
        let reader = ChunkReader(lines: lines, csv: csv)
        try Parallel.ordered(count: .max, workers: 1, window: 2, produce: { _ in try reader.next() }, consume: { read in
            let (chunk, rows) = (read.lines, read.rows)
            if chunk.isEmpty { return false }
            let chunkFirstLine = lineNumber + 1
            let alone = BundleVerifier.checkAlone(chunk, firstLine: chunkFirstLine, guardFormulas: guardFormulas)
            var from = 0
            while from < chunk.count {
                // The personal lines of a window of the chunk (bounded by bytes), handed out in order
                // to the lines whose events have personal fields; a line whose own checks failed
                // ends the window, as nothing after it is looked at.
                var personalLines: [Int: Result<[UInt8]?, any Error>] = [:]
                var to = from, personalBytes = 0
                while to < chunk.count, personalBytes < 32 << 20 {
                    guard case .success(let a) = alone[to] else { to += 1; break }
                    if !a.fields.isEmpty {
                        let line = personal.nextResult()
                        if case .success(let l?) = line { personalBytes += l.count }
                        personalLines[to] = line
                    }
                    to += 1
                }
                let paired = BundleVerifier.checkPaired(alone, from..<to, personalLines, rows, firstLine: chunkFirstLine,
                                                        pseudonymized: pseudonymized, guardFormulas: guardFormulas)
                for k in from..<to {
                    let checkedAlone = try alone[k].get()
                    lineNumber += 1
                    func bad(_ why: String, _ seq: UInt64? = nil) -> Failure { Failure(problem: "line \(lineNumber): \(why)", line: lineNumber, seq: seq) }
                    let (event, seq, version, prev, hash, stream) = (checkedAlone.event, checkedAlone.seq, checkedAlone.version,
                                                                     checkedAlone.prev, checkedAlone.hash, checkedAlone.stream)
                    if seq == 1, prev != [UInt8](repeating: 0, count: 32) { throw bad("seq 1's prevHash is not 32 zero bytes", seq) }
                    // Place in the range and order.
                    guard seq >= fromSeq, seq <= toSeq else { throw bad("seq \(seq) is outside the manifest's range \(fromSeq)..\(toSeq)", seq) }
                    guard seq <= treeSize else { throw bad("seq \(seq) is beyond the checkpoint's \(treeSize) events", seq) }
                    if let p = previousSeq, seq <= p { throw bad("seq \(seq) is out of order", seq) }
                    if contiguous {
                        if seq != (previousSeq.map { $0 + 1 } ?? fromSeq) { throw bad("seq \(seq) is not the next seq of a contiguous range", seq) }
                        guard prev == previousHash else { throw bad("(seq \(seq)) chain broken: prevHash is not the previous hash", seq) }
                    }
                    // The filter.
                    if let t = filters["ticket"] {
                        guard stream == "ticket:" + t else { throw bad("stream \(stream) is not the ticket \(t)'s", seq) }
                        if filters["staff"] == nil {
                            if let v = previousVersion, version != v + 1 { throw bad("version \(version) follows \(v): an event of the ticket is missing", seq) }
                            if previousVersion == nil, fromSeq == 1, version != 1 { throw bad("the ticket's first event is version \(version), not 1", seq) }
                        }
                    }
                    if let s = filters["staff"], !event.names(s) { throw bad("the event does not name the staff member \(s)", seq) }
                    if let c = filters["customer"] {
                        guard stream == "customer:" + c || stream.hasPrefix("ticket:") else { throw bad("stream \(stream) is neither the customer's nor a ticket", seq) }
                        if let owner = event.customerID ?? event.sealed.map({ String($0.prefix(while: { $0 != ":" })) }), owner != c {
                            throw bad("the event is customer \(owner)'s, not \(c)'s", seq)
                        }
                    }
                    // Its personal.jsonl line and its events.csv row (phase B).
                    try paired[k - from].get()
                    previousHash = hash
                    previousSeq = seq
                    previousVersion = version
                    if firstLineSeq == nil { firstLineSeq = seq }
                    accumulator.append(leafHash: checkedAlone.leaf)
                    if !wholeTree { leaves.append((Int(seq) - 1, checkedAlone.leaf)) }
                    checked += 1
                }
                from = to
            }
            return true
        })
        if try personal.next() != nil { throw Failure(problem: "personal.jsonl has lines for no event of the bundle") }
        if try csv.next() != nil { throw Failure(problem: "events.csv has rows for no event of the bundle") }
        guard lines.endedWithNewline, personal.endedWithNewline, csv.endedWithNewline else {
            throw Failure(problem: "a file of the bundle does not end its last line with a newline")
        }

        // 5. The manifest's claims about the events.
        guard UInt64(checked) == total else { throw Failure(problem: "events.jsonl has \(checked) events, the manifest says \(total)") }
        guard (firstLineSeq ?? 0) == firstSeq, (previousSeq ?? 0) == lastSeq else {
            throw Failure(problem: "the manifest's firstSeq/lastSeq (\(firstSeq)/\(lastSeq)) are not the events' (\(firstLineSeq ?? 0)/\(previousSeq ?? 0))")
        }
        guard toSeq <= treeSize else { throw Failure(problem: "the range ends at \(toSeq), beyond the checkpoint's \(treeSize) events") }
        if contiguous {
            let expected = toSeq >= fromSeq ? toSeq - fromSeq + 1 : 0
            guard UInt64(checked) == expected else { throw Failure(problem: "a contiguous export of seqs \(fromSeq)..\(toSeq) holds \(expected) events, this one \(checked)") }
        }
        guard (checked == 0 ? [UInt8](repeating: 0, count: 32) : previousHash) == chainAfter else {
            throw Failure(problem: "the manifest's chainAfter is not the last event's hash")
        }
        if fromSeq == 1 || toSeq < fromSeq, chainBefore != [UInt8](repeating: 0, count: 32) {
            throw Failure(problem: "the manifest's chainBefore is not 32 zero bytes, as it is for a range from seq 1 or an empty one")
        }
        guard accumulator.root.bytes == merkleRoot else {
            throw Failure(problem: "the Merkle root of the events is \(accumulator.root.hex), the manifest says \(Hex.encode(merkleRoot))")
        }

        // 6. Each file is of the size and SHA-256 the manifest states.
        var read: [String: (sha256: [UInt8], bytes: UInt64)] = [Bundle.proofFile: (Array(SHA256.hash(data: proofBytes)), UInt64(proofBytes.count))]
        read[Bundle.eventsFile] = try lines.digest()
        read[Bundle.personalFile] = try personal.digest()
        read[Bundle.csvFile] = try csv.digest()
        for name in Bundle.listedFiles {
            let got = read[name]!, want = stated[name]!
            guard got.bytes == want.bytes else { throw Failure(problem: "\(name) has \(got.bytes) bytes, the manifest says \(want.bytes)") }
            guard got.sha256 == want.sha256 else { throw Failure(problem: "\(name) does not match its SHA-256 in the manifest") }
        }

        // 7. proof.json: its nodes and the events rebuild the checkpoint's root.
        guard let proof = try? CanonicalJSON.parse(proofBytes.dropLast()), case .array(let items)? = proof.objectValue?["nodes"],
              proof.objectValue?.count == 1, proof.encoded + [0x0A] == proofBytes else {
            throw Failure(problem: "proof.json is not {\"nodes\":[…]} in canonical form")
        }
        let nodes = try items.map { item -> MerkleHash in
            guard let s = item.stringValue, s.utf8.count == 64, s == s.lowercased(), let h = MerkleHash(hex: s) else {
                throw Failure(problem: "proof.json: a node is not 64 lowercase hex digits")
            }
            return h
        }
        let rebuilt: MerkleHash
        if treeSize == 0 {
            guard nodes.isEmpty, checked == 0 else { throw Failure(problem: "proof.json: an empty tree has no nodes") }
            rebuilt = MerkleTree.emptyRoot
        } else if wholeTree {
            guard nodes.isEmpty else { throw Failure(problem: "proof.json: a bundle of the whole tree (seqs 1 to \(treeSize)) has no proof nodes") }
            rebuilt = accumulator.root
        } else {
            do { rebuilt = try MerkleTree.rootFromMultiLeafProof(treeSize: Int(treeSize), leaves: leaves, nodes: nodes) } catch {
                throw Failure(problem: "proof.json: the events and nodes do not rebuild a tree of \(treeSize): \(error)")
            }
        }
        guard rebuilt == checkpoint.rootHash else {
            throw Failure(problem: "proof.json: the events and nodes rebuild root \(rebuilt.hex), not the checkpoint's \(checkpoint.rootHash.hex): the events are not the log's")
        }
    }
}

/// Reads `events.jsonl` and `events.csv` a chunk of lines at a time, each line with its row:
/// at most 4,096 lines, and 32 MiB of lines and rows (a line or row may be megabytes). Used by one
/// thread at a time.
final class ChunkReader: @unchecked Sendable {
    struct Chunk {
        var lines: [[UInt8]] = []
        /// Each line's row; one that could not be read is a finding of its line.
        var rows: [Result<[UInt8]?, any Error>] = []
    }

    private let lines: FileLines, csv: FileLines

    init(lines: FileLines, csv: FileLines) { self.lines = lines; self.csv = csv }

    /// The next chunk; empty at the end of `events.jsonl`.
    func next() throws -> Chunk {
        var chunk = Chunk(), bytes = 0
        while chunk.lines.count < 4096, bytes < 32 << 20, let l = try lines.next() {
            chunk.lines.append(l)
            bytes += l.count
            let row = csv.nextResult()
            if case .success(let r?) = row { bytes += r.count }
            chunk.rows.append(row)
        }
        return chunk
    }
}

/// What the checks of one `events.jsonl` line on its own found (``BundleVerifier/checkAlone``).
struct LineAlone {
    var event: Event
    var seq: UInt64, version: UInt64, micros: Int64
    var prev: [UInt8], hash: [UInt8], stream: String
    var leaf: MerkleHash
    /// Its personal fields (``Bundle/personalPaths(_:)``): each has a `personal.jsonl` line.
    var fields: [String]
    /// Its `events.csv` row, for an event with no personal field (the row needs nothing else).
    var row: [UInt8]
}

extension BundleVerifier {
    /// Checks each line of `lines` on its own, on two threads (order kept): it is a bundle line
    /// in canonical form, its event is in canonical stored form and agrees with the line, and its
    /// hash is that of its record after `prevHash`. Also renders the CSV row of an event without
    /// personal fields and hashes the Merkle leaf.
    static func checkAlone(_ lines: [[UInt8]], firstLine: Int, guardFormulas: Bool) -> [Result<LineAlone, Failure>] {
        Parallel.map(lines.count, parts: lines.count >= 256 ? 2 : 1) { range in
            let decoder = EventDecoder(mode: .stored)
            return range.map { i in
                Result { () throws(Failure) in try checkAlone(lines[i], number: firstLine + i, decoder: decoder, guardFormulas: guardFormulas) }
            }
        }
    }

    private static let eventOpening = Array(#"{"event":"#.utf8), hashMarker = Array(#","hash":""#.utf8)

    private static func checkAlone(_ line: [UInt8], number: Int, decoder: EventDecoder, guardFormulas: Bool) throws(Failure) -> LineAlone {
        func bad(_ why: String, _ seq: UInt64? = nil) -> Failure { Failure(problem: "line \(number): \(why)", line: number, seq: seq) }
        // The fields after the event are parsed on their own (the event is decoded strictly
        // below), and the whole line is then required to be exactly what they render to.
        guard line.starts(with: eventOpening), let marker = line.lastRange(of: hashMarker),
              let tail = LineTail(plain: line[marker.lowerBound...]) ?? LineTail(parsing: line[marker.lowerBound...]),
              let id = EventID(tail.id) else {
            throw bad("not a bundle line")
        }
        let (hash, idText, prev, micros, seq, stream, version) = (tail.hash, tail.id, tail.prevHash, tail.micros, tail.seq, tail.stream,
                                                                  tail.version)
        let payload = Array(line[9..<marker.lowerBound])
        guard let event = try? decoder.decode(payload), EventEncoder.encode(event).sameBytes(payload) else {
            throw bad("the event is not in canonical stored form", seq)
        }
        guard event.id == id, idText == event.id.description, event.stream == stream else { throw bad("id or stream differs from the event's", seq) }
        guard Bundle.line(payload: payload, hash: hash, id: idText, prevHash: prev, recordedAtMicros: micros, seq: seq, stream: stream,
                          version: version).sameBytes(line) else {
            throw bad("not in canonical form", seq)
        }
        let record = RecordLayout.encode(seq: seq, recordedAt: micros, version: version,
                                         id: id.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: Array(stream.utf8), payload: payload)
        var chain = SHA256(); chain.update(data: prev); chain.update(data: record)
        guard chain.finalize().withUnsafeBytes({ hash.sameBytes($0) }) else { throw bad("(seq \(seq)) hash does not match its record", seq) }
        var row: [UInt8] = []
        let fields = Bundle.personalPaths(event)
        if fields.isEmpty {
            var shown = event
            shown.sealed = nil
            row = CSVRow.render(shown, seq: seq, version: version, recordedAt: micros, stream: stream, hash: hash, guardFormulas: guardFormulas)
        }
        return LineAlone(event: event, seq: seq, version: version, micros: micros, prev: prev, hash: hash, stream: stream,
                         leaf: MerkleTree.leafHash(record), fields: fields, row: row)
    }

    /// Checks the lines `range` of a chunk whose own checks (``checkAlone(_:firstLine:guardFormulas:)``)
    /// passed against their `personal.jsonl` lines and `events.csv` rows, on two threads (order
    /// kept): the personal line is the event's, in canonical form, with exactly its personal
    /// fields (in a pseudonymised bundle none of them in clear), and the row is the event shown
    /// with them. `alone`, `personal` and `rows` are indexed by the line's place in the chunk.
    static func checkPaired(_ alone: [Result<LineAlone, Failure>], _ range: Range<Int>, _ personal: [Int: Result<[UInt8]?, any Error>],
                            _ rows: [Result<[UInt8]?, any Error>], firstLine: Int, pseudonymized: Bool,
                            guardFormulas: Bool) -> [Result<Void, any Error>] {
        Parallel.map(range.count, parts: range.count >= 256 ? 2 : 1) { part in
            part.map { i in
                let k = range.lowerBound + i
                guard case .success(let line) = alone[k] else { return .success(()) }  // thrown by the caller first
                return Result {
                    try checkPaired(line, personal: personal[k], row: rows[k], number: firstLine + k, pseudonymized: pseudonymized,
                                    guardFormulas: guardFormulas)
                }
            }
        }
    }

    private static func checkPaired(_ line: LineAlone, personal: Result<[UInt8]?, any Error>?, row: Result<[UInt8]?, any Error>,
                                    number: Int, pseudonymized: Bool, guardFormulas: Bool) throws {
        let (event, seq, fields) = (line.event, line.seq, line.fields)
        func bad(_ why: String) -> Failure { Failure(problem: "line \(number): \(why)", line: number, seq: seq) }
        var expectedRow = line.row
        if !fields.isEmpty {
            guard let p = try personal?.get(), let values = PersonalValues(plain: p) ?? PersonalValues(parsing: p),
                  values.seq == Int64(seq) else {
                throw bad("personal.jsonl has no line for seq \(seq)")
            }
            guard Set(values.keys) == Set(fields + ["seq"]) else {
                throw bad("personal.jsonl's line for seq \(seq) has \(values.keys.sorted()), not \((fields + ["seq"]).sorted())")
            }
            var strings: [String: String] = [:]
            for f in fields {
                guard let v = values.strings[f] else { throw bad("personal.jsonl: \(f) of seq \(seq) is not a string") }
                strings[f] = v
            }
            guard Bundle.personalLine(strings, seq: seq).sameBytes(p) else { throw bad("personal.jsonl's line for seq \(seq) is not in canonical form") }
            if pseudonymized {
                for (f, v) in strings {
                    let allowed = f == "customer" ? [event.customerID ?? "", Bundle.erased] : [Bundle.masked, Bundle.erased]
                    guard allowed.contains(v) else { throw bad("a pseudonymised export shows \(f) of seq \(seq) in clear") }
                }
            }
            var shown = event
            shown.sealed = nil
            shown = shown.replacingPersonalData(customer: { strings["customer"] ?? $0 }, text: { path, old in strings[path] ?? old })
            expectedRow = CSVRow.render(shown, seq: seq, version: line.version, recordedAt: line.micros, stream: line.stream, hash: line.hash,
                                        guardFormulas: guardFormulas)
        }
        guard let got = try row.get(), expectedRow.count == got.count + 2, got.sameBytes(expectedRow[..<got.count]) else {  // the row ends CRLF
            throw bad("events.csv's row for seq \(seq) is not the event's")
        }
    }
}

/// A `personal.jsonl` line read as a JSON object: its keys, those of its values that are
/// strings, and its `seq` when that is an integer. The line is then required to be exactly what
/// ``Bundle/personalLine(_:seq:)`` renders, so the fast reader needs no checks the general one makes.
struct PersonalValues {
    var keys: [String] = [], strings: [String: String] = [:], seq: Int64?

    /// Reads `{"key":"value",…,"seq":N}` with no escape in any string and no value other than a
    /// string or `seq`'s digits: every line a ledger exports. Nil for anything else.
    init?(plain line: [UInt8]) {
        var i = 0
        let n = line.count
        func text() -> String? {  // from the opening quote to the closing one, which are consumed
            guard i < n, line[i] == 0x22, let end = plainStringEnd(line[...], from: i + 1) else { return nil }
            defer { i = end + 1 }
            return String(validating: line[i + 1..<end], as: UTF8.self)
        }
        guard n >= 2, line[0] == UInt8(ascii: "{") else { return nil }
        i = 1
        while true {
            guard let key = text(), i < n, line[i] == UInt8(ascii: ":"), strings[key] == nil, key == "seq" ? seq == nil : true else { return nil }
            i += 1
            if key == "seq" {
                let start = i
                var v: Int64 = 0
                while i < n, line[i] >= 0x30, line[i] <= 0x39, i - start < 18 { v = v * 10 + Int64(line[i] - 0x30); i += 1 }
                guard i > start, line[start] != 0x30 || i == start + 1 else { return nil }  // no leading zero
                seq = v
            } else {
                guard let value = text() else { return nil }
                strings[key] = value
            }
            keys.append(key)
            guard i < n else { return nil }
            if line[i] == UInt8(ascii: "}") { guard i == n - 1 else { return nil }; return }
            guard line[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    /// Reads any JSON object. Nil when the line is not one.
    init?(parsing line: [UInt8]) {
        guard case .object(let values)? = try? CanonicalJSON.parse(line) else { return nil }
        keys = Array(values.keys)
        strings = values.compactMapValues(\.stringValue)
        seq = values["seq"]?.integerValue
    }
}

/// Where the text of a JSON string that starts at `start` (just after its opening quote) ends,
/// when it holds no escape and no control byte: the index of its closing quote. Nil otherwise,
/// or when the bytes end first. The fast readers of bundle lines read only such strings.
private func plainStringEnd(_ t: ArraySlice<UInt8>, from start: Int) -> Int? {
    var i = start
    while i < t.endIndex, t[i] != 0x22 { if t[i] == 0x5C || t[i] < 0x20 { return nil }; i += 1 }
    return i < t.endIndex ? i : nil
}

/// The fields of an `events.jsonl` line after its event. Read by either initialiser, the line is
/// then required to be exactly what ``Bundle/line(payload:hash:id:prevHash:recordedAtMicros:seq:stream:version:)``
/// renders from them, so the fast reader needs no checks the general one makes.
struct LineTail {
    var hash: [UInt8], id: String, prevHash: [UInt8], micros: Int64, seq: UInt64, stream: String, version: UInt64

    /// Reads `,"hash":"…","id":"…",…,"version":N}` in the order and form the exporter writes it,
    /// with no escape in any string: every line a ledger exports. Nil for anything else.
    init?(plain t: ArraySlice<UInt8>) {
        var i = t.startIndex
        func literal(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard t.endIndex - i >= n, t[i..<i + n].elementsEqual(UnsafeBufferPointer(start: s.utf8Start, count: n)) else { return false }
            i += n
            return true
        }
        func text() -> ArraySlice<UInt8>? {  // up to the closing quote, which is consumed
            guard let end = plainStringEnd(t, from: i) else { return nil }
            defer { i = end + 1 }
            return t[i..<end]
        }
        func hex() -> [UInt8]? {
            guard let h = text(), h.count == 64 else { return nil }
            return Hex.decode(h)
        }
        func number(allowingMinus: Bool) -> Int64? {
            var negative = false
            if allowingMinus, i < t.endIndex, t[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            let start = i
            var v: Int64 = 0
            while i < t.endIndex, t[i] >= 0x30, t[i] <= 0x39, i - start < 18 { v = v * 10 + Int64(t[i] - 0x30); i += 1 }
            guard i > start, i < t.endIndex, t[i] < 0x30 || t[i] > 0x39, t[start] != 0x30 || i == start + 1 else { return nil }
            return negative ? -v : v
        }
        guard literal(#","hash":""#), let hash = hex(),
              literal(#","id":""#), let id = text(),
              literal(#","prevHash":""#), let prev = hex(),
              literal(#","recordedAt":""#), text() != nil,
              literal(#","recordedAtMicros":"#), let micros = number(allowingMinus: true),
              literal(#","seq":"#), let seq = number(allowingMinus: false),
              literal(#","stream":""#), let stream = text(),
              literal(#","version":"#), let version = number(allowingMinus: false),
              literal("}"), i == t.endIndex,
              let idText = String(validating: id, as: UTF8.self), let streamText = String(validating: stream, as: UTF8.self) else { return nil }
        self.init(hash: hash, id: idText, prevHash: prev, micros: micros, seq: UInt64(seq), stream: streamText, version: UInt64(version))
    }

    /// Reads the fields as any JSON object holding exactly them (`t` starts after the event's
    /// closing brace, at the comma). Nil when it is not one.
    init?(parsing t: ArraySlice<UInt8>) {
        guard case .object(let object)? = try? CanonicalJSON.parse([0x7B] + t.dropFirst()),
              object.count == Bundle.lineKeys.count - 1,  // and each is read below; the line is then rendered again and compared
              let hashHex = object["hash"]?.stringValue, let hash = Hex.decode(hashHex),
              let id = object["id"]?.stringValue,
              let prevHex = object["prevHash"]?.stringValue, let prev = Hex.decode(prevHex),
              let micros = object["recordedAtMicros"]?.integerValue,
              let seq = object["seq"]?.integerValue, seq >= 0, let stream = object["stream"]?.stringValue,
              let version = object["version"]?.integerValue, version >= 0 else { return nil }
        self.init(hash: hash, id: id, prevHash: prev, micros: micros, seq: UInt64(seq), stream: stream, version: UInt64(version))
    }

    private init(hash: [UInt8], id: String, prevHash: [UInt8], micros: Int64, seq: UInt64, stream: String, version: UInt64) {
        self.hash = hash; self.id = id; self.prevHash = prevHash; self.micros = micros; self.seq = seq; self.stream = stream
        self.version = version
    }
}

extension Bundle {
    /// The keys of an `events.jsonl` line.
    public static let lineKeys: Set<String> = ["event", "hash", "id", "prevHash", "recordedAt", "recordedAtMicros", "seq", "stream", "version"]
    /// What an export shows for personal data it may not show, and for erased data.
    public static let masked = "[masked]", erased = "[erased]"

    /// The personal fields of a stored event, as `personal.jsonl` names them: `customer` when it
    /// carries a customer id, then each free-text path stored sealed or erased.
    public static func personalPaths(_ stored: Event) -> [String] {
        var out: [String] = []
        if stored.customerID != nil { out.append("customer") }
        out += stored.personalText.filter { $0.value == "[sealed]" || $0.value == erased }.map(\.path)
        return out
    }

    /// A `personal.jsonl` line: canonical JSON (keys sorted, UTF-8) of the fields and `seq`.
    public static func personalLine(_ fields: [String: String], seq: UInt64) -> [UInt8] {
        personalLine(sorted: fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) }, seq: seq)
    }

    /// The same, from fields already in code-point order of their names (a field named `seq` is
    /// left out: the line's own `seq` takes its place).
    public static func personalLine(sorted fields: [(String, String)], seq: UInt64) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        func key(_ k: String) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            JSONString.append(k, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        var seqWritten = false
        func writeSeq() { key("seq"); DecimalText.append(seq, to: &out); seqWritten = true }
        for (k, v) in fields where k != "seq" {
            if !seqWritten, "seq".utf8.lexicographicallyPrecedes(k.utf8) { writeSeq() }
            key(k)
            JSONString.append(v, to: &out)
        }
        if !seqWritten { writeSeq() }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// The lines of a bundle file, without their terminators, read a chunk at a time; the file's
/// SHA-256 and size are computed as it is read. `endedWithNewline` tells, at the end, whether
/// the last line had its terminator.
final class FileLines {
    private let fd: Int32
    private let name: String
    private let terminator: [UInt8]
    private var buffer: [UInt8] = []
    private var start = 0
    private var searched = 0  // where to look for the next newline (before it: none ends a line)
    private var eof = false
    private var hasher = SHA256()
    private var size: UInt64 = 0
    private(set) var endedWithNewline = true
    private var failed: (any Error)?  // what stopped `nextResult`
    /// A line longer than this is not held: a ledger's line is at most 16 MiB, its bundle line a few hundred bytes more.
    static let maxLine = 64 << 20

    init(_ path: String, name: String, terminator: [UInt8] = [0x0A]) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BundleVerifier.Failure(problem: "\(name) is missing or unreadable") }
        self.name = name
        self.terminator = terminator
    }

    deinit { close(fd) }

    private func fill() throws {
        if start > 0 { buffer.removeFirst(start); searched -= start; start = 0 }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var n: Int
        repeat { n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunk) } } while n < 0 && errno == EINTR
        guard n >= 0 else { throw BundleVerifier.Failure(problem: "\(name) is missing or unreadable") }
        buffer.removeLast(chunk - n)
        if n == 0 { eof = true; return }
        buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[old...])) }
        size += UInt64(n)
    }

    func next() throws -> [UInt8]? {
        while true {
            // The terminator ends in a newline: find each newline (memchr), and for CRLF check the byte before it.
            let newline = terminator[terminator.count - 1]
            let end: Int? = buffer.withUnsafeBytes { raw in
                var from = max(start, searched)
                while let j = ByteSearch.first(newline, in: raw, from: from) {
                    if terminator.count == 1 { return j }
                    if j > start, raw[j - 1] == terminator[0] { return j - 1 }
                    from = j + 1
                }
                return nil
            }
            if let end {
                let line = Array(buffer[start..<end])
                start = end + terminator.count
                searched = start
                return line
            }
            searched = buffer.count
            if eof {
                guard start < buffer.count else { return nil }
                endedWithNewline = false
                defer { start = buffer.count; searched = start }
                return Array(buffer[start...])
            }
            if buffer.count - start > FileLines.maxLine {
                throw BundleVerifier.Failure(problem: "\(name) has a line longer than \(FileLines.maxLine >> 20) MiB")
            }
            try fill()
        }
    }

    /// The next line, or what stopped it being read: a line's finding, thrown when its turn
    /// comes. After a failure nothing more is read, and each call returns that failure.
    func nextResult() -> Result<[UInt8]?, any Error> {
        if let failed { return .failure(failed) }
        let line = Result { try next() }
        if case .failure(let error) = line { failed = error }
        return line
    }

    /// The whole file's SHA-256 and size (what was not read yet is read now).
    func digest() throws -> (sha256: [UInt8], bytes: UInt64) {
        while !eof { start = buffer.count; try fill() }
        return (Array(hasher.finalize()), size)
    }
}
