import Compliance
import Crypto
import EscalationDomain
import EventLog
import Foundation
import Testing
@testable import Ledger

/// The tamper suite of docs/VERIFY.md: distinct damages to real bundles, most of them made by
/// someone holding the ledger's own signing key (the manifest re-signed after the lie), each run
/// through both verifiers (`BundleVerifier` and `tools/verify_bundle.py`), which must give the
/// expected verdict.
@Suite struct TamperSuiteTests {
    /// A bundle being damaged: its directory, and the means to lie consistently.
    struct Work {
        let dir: String
        let key: SigningKeyFile
        var trusted: [UInt8]
        var origin: String?
        var kept: String?
        var witnesses: [String] = []

        func path(_ name: String) -> String { dir + "/" + name }
        func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }
        func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }
        func lines(_ name: String = Bundle.eventsFile) throws -> [[UInt8]] { try read(name).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init) }
        func setLines(_ l: [[UInt8]], _ name: String = Bundle.eventsFile) throws { try write(name, l.flatMap { $0 + [0x0A] }) }
        func csvRows() throws -> [[UInt8]] {
            var rows: [[UInt8]] = [], current: [UInt8] = []
            let bytes = try read(Bundle.csvFile)
            var i = 0
            while i < bytes.count {
                if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { rows.append(current); current = []; i += 2; continue }
                current.append(bytes[i]); i += 1
            }
            return rows
        }
        func setCSVRows(_ rows: [[UInt8]]) throws { try write(Bundle.csvFile, rows.flatMap { $0 + [0x0D, 0x0A] }) }

        func manifest() throws -> [String: CanonicalJSON] { try CanonicalJSON.parse(try read(Bundle.manifestFile).dropLast()).objectValue! }
        func setManifest(_ m: [String: CanonicalJSON], sign: Bool = true) throws {
            var m = m
            if sign { m["signature"] = .string(try key.sign(Bundle.signedBytes(m)).hex) }
            try write(Bundle.manifestFile, CanonicalJSON.object(m).encoded + [0x0A])
        }
        func edit(_ change: (inout [String: CanonicalJSON]) -> Void) throws {
            var m = try manifest()
            change(&m)
            try setManifest(m)
        }

        /// Brings the manifest in line with the files: sizes and digests, and (with `claims`) the
        /// count, first and last seq, chain end and Merkle root; then signs it with the real key.
        func reseal(claims: Bool = false) throws {
            var m = try manifest()
            var files = m["files"]!.objectValue!
            for name in Bundle.listedFiles {
                let data = try read(name)
                files[name] = .object(["bytes": .integer(Int64(data.count)), "sha256": .string(Array(SHA256.hash(data: data)).hex)])
            }
            m["files"] = .object(files)
            if claims {
                let parsed = try lines().map(TamperSuiteTests.parse)
                var acc = MerkleRootAccumulator()
                for p in parsed { acc.append(leaf: p.record) }
                m["count"] = .integer(Int64(parsed.count))
                m["firstSeq"] = .integer(Int64(parsed.first?.seq ?? 0))
                m["lastSeq"] = .integer(Int64(parsed.last?.seq ?? 0))
                m["chainAfter"] = .string((parsed.last?.hash ?? [UInt8](repeating: 0, count: 32)).hex)
                m["merkleRoot"] = .string(acc.root.hex)
            }
            try setManifest(m)
        }

        /// Removes events (by line index) and their personal.jsonl lines and CSV rows.
        func drop(_ indices: [Int]) throws {
            var l = try lines(), rows = try csvRows()
            let seqs = Set(indices.map { try! TamperSuiteTests.parse(l[$0]).seq })
            for i in indices.sorted(by: >) { l.remove(at: i); rows.remove(at: i + 1) }
            try setLines(l)
            try setCSVRows(rows)
            let personal = try lines(Bundle.personalFile).filter { line in
                let seq = ((try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any])?["seq"] as? Int
                return !seqs.contains(UInt64(seq ?? 0))
            }
            try setLines(personal, Bundle.personalFile)
        }
    }

    struct Parsed { var seq: UInt64; var version: UInt64; var stream: String; var hash: [UInt8]; var prev: [UInt8]; var micros: Int64; var id: String; var payload: [UInt8]; var record: [UInt8] }

    static func parse(_ line: [UInt8]) throws -> Parsed {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let marker = try #require(line.lastRange(of: Array(#","hash":""#.utf8)))
        let payload = Array(line[9..<marker.lowerBound])
        let id = o["id"] as! String, stream = o["stream"] as! String
        let seq = (o["seq"] as! NSNumber).uint64Value, version = (o["version"] as! NSNumber).uint64Value
        let micros = (o["recordedAtMicros"] as! NSNumber).int64Value
        let record = RecordLayout.encode(seq: seq, recordedAt: micros, version: version,
                                         id: EventID(id)!.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: Array(stream.utf8), payload: payload)
        return Parsed(seq: seq, version: version, stream: stream, hash: Hex.decode(o["hash"] as! String)!, prev: Hex.decode(o["prevHash"] as! String)!,
                      micros: micros, id: id, payload: payload, record: record)
    }

    /// The line for `p` with its payload replaced and its hash recomputed from `prev`.
    static func line(_ p: Parsed, payload: [UInt8], prev: [UInt8], seq: UInt64? = nil) -> (line: [UInt8], hash: [UInt8]) {
        let s = seq ?? p.seq
        let record = RecordLayout.encode(seq: s, recordedAt: p.micros, version: p.version,
                                         id: EventID(p.id)!.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: Array(p.stream.utf8), payload: payload)
        var h = SHA256(); h.update(data: prev); h.update(data: record)
        let hash = Array(h.finalize())
        return (Bundle.line(payload: payload, hash: hash, id: p.id, prevHash: prev, recordedAtMicros: p.micros, seq: s, stream: p.stream, version: p.version), hash)
    }

    /// Rewrites every line's prevHash and hash from `start` on, as a consistent liar would.
    static func rechain(_ w: Work, from start: Int) throws {
        var l = try w.lines()
        var prev = start == 0 ? try parse(l[0]).prev : try parse(l[start - 1]).hash
        for i in start..<l.count {
            let p = try parse(l[i])
            let (line, hash) = TamperSuiteTests.line(p, payload: p.payload, prev: prev)
            l[i] = line
            prev = hash
        }
        try w.setLines(l)
    }

    /// Replaces `old` with `new` (same length or not) in the first line that has it, keeping the line
    /// canonical; the event's CSV row is rebuilt, its hash and the chain after it recomputed.
    static func rewriteEvent(_ w: Work, index: Int, _ old: String, _ new: String) throws {
        var l = try w.lines()
        let p = try parse(l[index])
        let payload = Array(String(decoding: p.payload, as: UTF8.self).replacingOccurrences(of: old, with: new).utf8)
        try #require(payload != p.payload, "the rewrite changed nothing")
        l[index] = line(p, payload: payload, prev: p.prev).line
        try w.setLines(l)
        try rechain(w, from: index)
        let q = try parse(try w.lines()[index])
        let event = try EventDecoder(mode: .stored).decode(q.payload)
        var rows = try w.csvRows()
        rows[index + 1] = Array(CSVRow.render(event, seq: q.seq, version: q.version, recordedAt: q.micros, stream: q.stream, hash: q.hash).dropLast(2))
        try w.setCSVRows(rows)
    }

    struct Case: @unchecked Sendable { var name: String; var bundle: String; var ok: Bool; var damage: (inout Work) throws -> Void }

    static func flipHex(_ s: String) -> String { (s.first == "0" ? "1" : "0") + s.dropFirst() }

    nonisolated(unsafe) static let cases: [Case] = {
        var c: [Case] = []
        func lie(_ name: String, _ bundle: String = "full", ok: Bool = false, _ f: @escaping (inout Work) throws -> Void) { c.append(Case(name: name, bundle: bundle, ok: ok, damage: f)) }
        func claim(_ name: String, _ bundle: String = "full", _ change: @escaping (inout [String: CanonicalJSON]) -> Void) {
            lie(name, bundle) { w in try w.edit(change) }
        }
        func range(_ m: inout [String: CanonicalJSON], _ key: String, _ v: CanonicalJSON?) {
            var r = m["range"]!.objectValue!; r[key] = v; m["range"] = .object(r)
        }
        func file(_ m: inout [String: CanonicalJSON], _ name: String, _ key: String, _ v: CanonicalJSON) {
            var f = m["files"]!.objectValue!; var e = f[name]!.objectValue!; e[key] = v; f[name] = .object(e); m["files"] = .object(f)
        }
        // Sound bundles, and the honest limits: what only the ledger's word covers.
        for b in ["full", "mid", "ticket", "staff", "customer", "pseudo"] { lie("sound \(b) bundle", b, ok: true) { _ in } }
        lie("a witness cosignature added to the checkpoint, and required", ok: true) { w in try TamperSuiteTests.cosign(&w, require: true) }
        lie("the kept checkpoint is the bundle's own", ok: true) { w in w.kept = String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self) }
        lie("the trusted key given as raw hex, without the origin", ok: true) { w in w.origin = nil }

        // The manifest lies, re-signed with the ledger's real key.
        claim("firstSeq moved") { $0["firstSeq"] = .integer($0["firstSeq"]!.integerValue! + 1) }
        claim("lastSeq moved") { $0["lastSeq"] = .integer($0["lastSeq"]!.integerValue! - 1) }
        claim("count + 1") { $0["count"] = .integer($0["count"]!.integerValue! + 1) }
        claim("range.toSeq + 1 on a contiguous bundle") { range(&$0, "toSeq", .integer($0["range"]!.objectValue!["toSeq"]!.integerValue! + 1)) }
        claim("range.toSeq - 1 (the last event outside it)") { range(&$0, "toSeq", .integer($0["range"]!.objectValue!["toSeq"]!.integerValue! - 1)) }
        claim("range.fromSeq - 1 on a mid-range bundle", "mid") { range(&$0, "fromSeq", .integer(4)) }
        claim("range.fromSeq 0") { range(&$0, "fromSeq", .integer(0)) }
        claim("range.toSeq beyond the checkpoint", "ticket") { range(&$0, "toSeq", .integer(1_000)) }
        claim("range.fromSeq as a string") { range(&$0, "fromSeq", .string("1")) }
        claim("range with an unknown filter") { range(&$0, "channel", .string("ask:x")) }
        claim("files: events.csv bytes + 1") { file(&$0, Bundle.csvFile, "bytes", .integer(1)) }
        claim("files: events.jsonl sha256 of other bytes") { file(&$0, Bundle.eventsFile, "sha256", .string(Array(SHA256.hash(data: [1])).hex)) }
        claim("files: an upper-case sha256") { m in
            let v = m["files"]!.objectValue![Bundle.proofFile]!.objectValue!["sha256"]!.stringValue!
            file(&m, Bundle.proofFile, "sha256", .string(v.uppercased()))
        }
        claim("files lists only events.jsonl") { m in m["files"] = .object([Bundle.eventsFile: m["files"]!.objectValue![Bundle.eventsFile]!]) }
        claim("files lists a name outside the bundle") { m in
            var f = m["files"]!.objectValue!; f["../manifest.json"] = f[Bundle.eventsFile]; m["files"] = .object(f)
        }
        claim("files entry with an extra key") { file(&$0, Bundle.csvFile, "mode", .string("0600")) }
        claim("merkleRoot of other events") { $0["merkleRoot"] = .string(TamperSuiteTests.flipHex($0["merkleRoot"]!.stringValue!)) }
        claim("chainAfter changed") { $0["chainAfter"] = .string(TamperSuiteTests.flipHex($0["chainAfter"]!.stringValue!)) }
        claim("chainBefore changed on a mid-range bundle", "mid") { $0["chainBefore"] = .string(TamperSuiteTests.flipHex($0["chainBefore"]!.stringValue!)) }
        claim("chainBefore not zero for a range from seq 1", "ticket") { $0["chainBefore"] = .string(String(repeating: "1", count: 64)) }
        claim("contiguous false on a contiguous bundle") { $0["contiguous"] = .bool(false) }
        claim("contiguous true on a ticket bundle", "ticket") { $0["contiguous"] = .bool(true) }
        claim("pseudonymized true on a plain bundle") { $0["pseudonymized"] = .bool(true) }
        claim("range.ticket names another ticket", "ticket") { range(&$0, "ticket", .string("T1")) }
        claim("range.ticket removed from a ticket bundle", "ticket") { range(&$0, "ticket", nil) }
        claim("range.staff names another member", "staff") { range(&$0, "staff", .string("a2")) }
        claim("range.customer names another customer", "customer") { range(&$0, "customer", .string("cus_00000000000000000000000000000000")) }
        claim("checkpoint.treeSize changed") { m in
            var cp = m["checkpoint"]!.objectValue!; cp["treeSize"] = .integer(cp["treeSize"]!.integerValue! + 1); m["checkpoint"] = .object(cp)
        }
        claim("checkpoint.rootHash changed") { m in
            var cp = m["checkpoint"]!.objectValue!; cp["rootHash"] = .string(TamperSuiteTests.flipHex(cp["rootHash"]!.stringValue!)); m["checkpoint"] = .object(cp)
        }
        claim("checkpoint.origin changed") { m in
            var cp = m["checkpoint"]!.objectValue!; cp["origin"] = .string("example.com/other"); m["checkpoint"] = .object(cp)
        }
        claim("format of version 1") { $0["format"] = .string("escalation-ledger-bundle/1") }
        claim("an unknown key added") { $0["note"] = .string("trust me") }
        claim("createdAt not a time") { $0["createdAt"] = .string("yesterday") }
        claim("an upper-case chainAfter") { $0["chainAfter"] = .string($0["chainAfter"]!.stringValue!.uppercased()) }
        lie("an upper-case signature") { w in
            var m = try w.manifest(); m["signature"] = .string(m["signature"]!.stringValue!.uppercased()); try w.setManifest(m, sign: false)
        }
        lie("manifest not canonical: spaces after commas (same signature)") { w in
            let text = String(decoding: try w.read(Bundle.manifestFile), as: UTF8.self)
            try w.write(Bundle.manifestFile, Array(text.replacingOccurrences(of: ",\"count\"", with: ", \"count\"").utf8))
        }
        lie("manifest without its final newline") { w in try w.write(Bundle.manifestFile, Array(try w.read(Bundle.manifestFile).dropLast())) }
        lie("manifest with a duplicated key") { w in
            let text = String(decoding: try w.read(Bundle.manifestFile), as: UTF8.self)
            try w.write(Bundle.manifestFile, Array(text.replacingOccurrences(of: "{\"chainAfter\"", with: "{\"count\":0,\"chainAfter\"").utf8))
        }

        // Keys and signatures.
        lie("re-signed by another key") { w in
            let other = try SigningKeyFile.create(at: temporaryDirectory() + ".key")
            var m = try w.manifest(); m["publicKey"] = .string(other.publicKeyHex); m["signature"] = .string(try other.sign(Bundle.signedBytes(m)).hex)
            try w.setManifest(m, sign: false)
        }
        lie("a bit of the signature flipped") { w in
            var m = try w.manifest(); m["signature"] = .string(TamperSuiteTests.flipHex(m["signature"]!.stringValue!)); try w.setManifest(m, sign: false)
        }
        lie("verified against another trusted key") { w in w.trusted = try SigningKeyFile.create(at: temporaryDirectory() + ".key").publicKey; w.origin = nil }
        lie("the trusted key's origin is another log's") { w in w.origin = "example.com/other" }

        // Files changed, digests fixed and the manifest re-signed with the real key.
        lie("a CSV cell edited") { w in
            var rows = try w.csvRows()
            rows[3] = Array(String(decoding: rows[3], as: UTF8.self).replacingOccurrences(of: "system", with: "sysadm").utf8)
            try w.setCSVRows(rows); try w.reseal()
        }
        lie("a CSV row removed") { w in var rows = try w.csvRows(); rows.remove(at: 4); try w.setCSVRows(rows); try w.reseal() }
        lie("a CSV row added") { w in var rows = try w.csvRows(); rows.append(rows[2]); try w.setCSVRows(rows); try w.reseal() }
        lie("the CSV header changed") { w in
            var rows = try w.csvRows(); rows[0] = Array(String(decoding: rows[0], as: UTF8.self).replacingOccurrences(of: "actor", with: "agent_").utf8)
            try w.setCSVRows(rows); try w.reseal()
        }
        lie("the CSV's personal column differs from personal.jsonl") { w in
            var rows = try w.csvRows()
            let i = rows.firstIndex { String(decoding: $0, as: UTF8.self).contains("Jane Roe") }!
            rows[i] = Array(String(decoding: rows[i], as: UTF8.self).replacingOccurrences(of: "Jane Roe", with: "John Doe").utf8)
            try w.setCSVRows(rows); try w.reseal()
        }
        lie("personal.jsonl edited, digest not updated") { w in
            try w.write(Bundle.personalFile, Array(String(decoding: try w.read(Bundle.personalFile), as: UTF8.self).replacingOccurrences(of: "Jane", with: "Joan").utf8))
        }
        lie("a clear name in a pseudonymised bundle", "pseudo") { w in
            var p = try w.lines(Bundle.personalFile)
            let i = p.firstIndex { String(decoding: $0, as: UTF8.self).contains("[masked]") }!
            p[i] = Array(String(decoding: p[i], as: UTF8.self).replacingOccurrences(of: "[masked]", with: "Jane Roe").utf8)
            try w.setLines(p, Bundle.personalFile)
            var rows = try w.csvRows()
            let r = rows.firstIndex { String(decoding: $0, as: UTF8.self).contains("[masked]") }!
            rows[r] = Array(String(decoding: rows[r], as: UTF8.self).replacingOccurrences(of: "[masked]", with: "Jane Roe").utf8)
            try w.setCSVRows(rows); try w.reseal()
        }
        lie("a real customer id in a pseudonymised bundle", "pseudo") { w in
            var p = try w.lines(Bundle.personalFile)
            let i = p.firstIndex { String(decoding: $0, as: UTF8.self).contains("\"customer\":\"cus_") }!
            let text = String(decoding: p[i], as: UTF8.self)
            let pseudonym = String(text[text.range(of: "cus_")!.lowerBound...].prefix(36))
            p[i] = Array(text.replacingOccurrences(of: pseudonym, with: "c1").utf8)
            try w.setLines(p, Bundle.personalFile)
            var rows = try w.csvRows()
            let r = rows.firstIndex { String(decoding: $0, as: UTF8.self).contains(",\(pseudonym),") }!
            rows[r] = Array(String(decoding: rows[r], as: UTF8.self).replacingOccurrences(of: ",\(pseudonym),", with: ",c1,").utf8)
            try w.setCSVRows(rows); try w.reseal()
        }
        lie("a personal.jsonl line removed") { w in var p = try w.lines(Bundle.personalFile); p.remove(at: 1); try w.setLines(p, Bundle.personalFile); try w.reseal() }
        lie("a personal.jsonl line with an extra field") { w in
            var p = try w.lines(Bundle.personalFile)
            p[0] = Array(String(decoding: p[0], as: UTF8.self).replacingOccurrences(of: "{", with: "{\"age\":\"40\",").utf8)
            try w.setLines(p, Bundle.personalFile); try w.reseal()
        }
        lie("a personal.jsonl line not canonical") { w in
            var p = try w.lines(Bundle.personalFile)
            p[0] = Array(String(decoding: p[0], as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
            try w.setLines(p, Bundle.personalFile); try w.reseal()
        }
        lie("an extra file in the bundle") { w in try w.write("README.txt", Array("nothing to see".utf8)) }
        lie("the checkpoint file removed") { w in try FileManager.default.removeItem(atPath: w.path(Bundle.checkpointFile)) }
        lie("manifest.json removed") { w in try FileManager.default.removeItem(atPath: w.path(Bundle.manifestFile)) }
        lie("proof.json removed") { w in try FileManager.default.removeItem(atPath: w.path(Bundle.proofFile)) }

        // events.jsonl.
        lie("one byte of an event changed, digest fixed") { w in
            var l = try w.lines(); l[5] = Array(String(decoding: l[5], as: UTF8.self).replacingOccurrences(of: "\"actor\":\"", with: "\"actor\":\"x").utf8)
            try w.setLines(l); try w.reseal()
        }
        lie("a line's hash changed") { w in
            var l = try w.lines(); let p = try TamperSuiteTests.parse(l[3])
            l[3] = Bundle.line(payload: p.payload, hash: Array(SHA256.hash(data: [7])), id: p.id, prevHash: p.prev, recordedAtMicros: p.micros, seq: p.seq, stream: p.stream, version: p.version)
            try w.setLines(l); try w.reseal()
        }
        lie("an event rewritten and the whole chain, root, CSV and digests recomputed") { w in
            try TamperSuiteTests.rewriteEvent(w, index: 2, "\"channel\":\"", "\"channel\":\"ask:hr/"); try w.reseal(claims: true)
        }
        lie("a mid-range event rewritten consistently", "mid") { w in
            try TamperSuiteTests.rewriteEvent(w, index: 3, "\"channel\":\"", "\"channel\":\"x"); try w.reseal(claims: true)
        }
        lie("the last event dropped, range and everything recomputed") { w in
            let n = try w.lines().count
            try w.drop([n - 1]); try w.edit { range(&$0, "toSeq", .integer($0["range"]!.objectValue!["toSeq"]!.integerValue! - 1)) }; try w.reseal(claims: true)
        }
        lie("a middle event dropped from a contiguous bundle, chain recomputed") { w in
            try w.drop([6]); try TamperSuiteTests.rechain(w, from: 6); try w.reseal(claims: true)
        }
        lie("a middle event dropped from a ticket bundle", "ticket") { w in try w.drop([3]); try w.reseal(claims: true) }
        lie("the first event dropped from a ticket bundle", "ticket") { w in try w.drop([0]); try w.reseal(claims: true) }
        lie("a middle event dropped from a staff bundle", "staff") { w in try w.drop([2]); try w.reseal(claims: true) }
        lie("another ticket's genuine event added to a ticket bundle", "ticket") { w in
            let full = try TamperSuiteTests.bundle("full")
            let other = try Work(dir: full, key: w.key, trusted: w.trusted).lines().first { String(decoding: $0, as: UTF8.self).contains("\"stream\":\"ticket:T1\"") }!
            let otherRow = try Work(dir: full, key: w.key, trusted: w.trusted).csvRows().first { String(decoding: $0, as: UTF8.self).contains(",ticket:T1,") }!
            var l = try w.lines(); l.append(other); try w.setLines(l)
            var rows = try w.csvRows(); rows.append(otherRow); try w.setCSVRows(rows)
            try w.reseal(claims: true)
        }
        lie("an event that does not name the staff member added", "staff") { w in
            let full = try TamperSuiteTests.bundle("full")
            let fw = Work(dir: full, key: w.key, trusted: w.trusted)
            let last = try TamperSuiteTests.parse(try w.lines().last!).seq
            let fl = try fw.lines(), rows = try fw.csvRows()
            let i = try #require(try fl.firstIndex { l in let p = try TamperSuiteTests.parse(l); return p.seq > last && !String(decoding: p.payload, as: UTF8.self).contains("\"s1\"") })
            var l = try w.lines(); l.append(fl[i]); try w.setLines(l)
            var r = try w.csvRows(); r.append(rows[i + 1]); try w.setCSVRows(r)
            try w.reseal(claims: true)
        }
        lie("another customer's event in a customer bundle", "customer") { w in
            try w.edit { range(&$0, "customer", .string("cus_" + String(repeating: "0", count: 32))) }
        }
        lie("two lines swapped, digests fixed") { w in var l = try w.lines(); l.swapAt(2, 3); try w.setLines(l); try w.reseal(claims: true) }
        lie("a line repeated, digests fixed") { w in var l = try w.lines(); l.insert(l[4], at: 5); try w.setLines(l); try w.reseal(claims: true) }
        lie("an upper-case hash in a line") { w in
            var l = try w.lines(); let p = try TamperSuiteTests.parse(l[3])
            l[3] = Array(String(decoding: l[3], as: UTF8.self).replacingOccurrences(of: p.hash.hex, with: p.hash.hex.uppercased()).utf8)
            try w.setLines(l); try w.reseal()
        }
        lie("a line not canonical (space after a colon)") { w in
            var l = try w.lines(); l[2] = Array(String(decoding: l[2], as: UTF8.self).replacingOccurrences(of: "\"version\":", with: "\"version\": ").utf8)
            try w.setLines(l); try w.reseal()
        }
        lie("an empty line added") { w in var l = try w.lines(); l.insert([], at: 3); try w.setLines(l); try w.reseal() }
        lie("the last newline removed") { w in try w.write(Bundle.eventsFile, Array(try w.read(Bundle.eventsFile).dropLast())); try w.reseal() }
        lie("events.jsonl cut in the middle of a line") { w in let b = try w.read(Bundle.eventsFile); try w.write(Bundle.eventsFile, Array(b.prefix(b.count - 40))); try w.reseal() }
        lie("a line's seq renumbered (hash recomputed)") { w in
            var l = try w.lines(); let p = try TamperSuiteTests.parse(l[4])
            l[4] = TamperSuiteTests.line(p, payload: p.payload, prev: p.prev, seq: p.seq + 100).line
            try w.setLines(l); try w.reseal(claims: true)
        }
        lie("seq 1's prevHash not zero, hash recomputed", "ticket") { w in
            var l = try w.lines(); let p = try TamperSuiteTests.parse(l[0])
            l[0] = TamperSuiteTests.line(p, payload: p.payload, prev: [UInt8](repeating: 9, count: 32)).line
            try w.setLines(l); try w.reseal(claims: true)
        }

        // proof.json and the checkpoint.
        lie("a proof node changed", "mid") { w in
            let text = String(decoding: try w.read(Bundle.proofFile), as: UTF8.self)
            let r = try #require(text.range(of: "[\""))
            var t = text; let at = r.upperBound
            t.replaceSubrange(at...at, with: text[at] == "0" ? "1" : "0")
            try w.write(Bundle.proofFile, Array(t.utf8)); try w.reseal()
        }
        lie("a proof node added", "mid") { w in
            try w.write(Bundle.proofFile, Array(String(decoding: try w.read(Bundle.proofFile), as: UTF8.self).replacingOccurrences(of: "[", with: "[\"" + String(repeating: "a", count: 64) + "\",").utf8))
            try w.reseal()
        }
        lie("a proof node added to a bundle of the whole tree (which needs none)") { w in
            let text = String(decoding: try w.read(Bundle.proofFile), as: UTF8.self)
            #expect(text.contains("[]"), "the full bundle is of the whole tree: no proof nodes")
            try w.write(Bundle.proofFile, Array(text.replacingOccurrences(of: "[]", with: "[\"" + String(repeating: "a", count: 64) + "\"]").utf8))
            try w.reseal()
        }
        lie("a proof node removed", "mid") { w in
            let text = String(decoding: try w.read(Bundle.proofFile), as: UTF8.self)
            try w.write(Bundle.proofFile, Array(text.replacingOccurrences(of: #"\[\"[0-9a-f]{64}\",?"#, with: "[", options: .regularExpression).utf8)); try w.reseal()
        }
        lie("proof.json not canonical") { w in
            try w.write(Bundle.proofFile, Array(String(decoding: try w.read(Bundle.proofFile), as: UTF8.self).replacingOccurrences(of: ":", with: ": ").utf8)); try w.reseal()
        }
        lie("the checkpoint's root changed (its signature then fails)") { w in
            var lines = String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self).components(separatedBy: "\n")
            lines[2] = String(lines[2].reversed()); try w.write(Bundle.checkpointFile, Array(lines.joined(separator: "\n").utf8))
        }
        lie("a later genuine checkpoint of the same log") { w in try w.write(Bundle.checkpointFile, Array(TamperSuiteTests.later.utf8)) }
        lie("the checkpoint signed by another key") { w in
            let other = try SigningKeyFile.create(at: temporaryDirectory() + ".key")
            let cp = try Checkpoint(text: try SignedNote.Note(String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self)).text)
            try w.write(Bundle.checkpointFile, Array(try SignedNote.Note.sign(text: cp.text, name: cp.origin, key: other).encoded.utf8))
        }
        lie("a required witness has not cosigned") { w in
            try TamperSuiteTests.cosign(&w, require: true)
            try w.write(Bundle.checkpointFile, Array(TamperSuiteTests.original(w).utf8))
        }
        lie("a witness cosignature with a flipped bit") { w in
            try TamperSuiteTests.cosign(&w, require: true)
            var text = String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self)
            let lastLine = String(text.split(separator: "\n").last!)
            var chars = Array(lastLine)
            let at = lastLine.count - 40  // inside the signature's base64, far from the padding
            chars[at] = chars[at] == "A" ? "B" : "A"
            text = text.replacingOccurrences(of: lastLine, with: String(chars))
            try w.write(Bundle.checkpointFile, Array(text.utf8))
        }
        lie("a kept checkpoint of another size") { w in w.kept = TamperSuiteTests.later }
        lie("a kept checkpoint of the same size with another root (a rewritten log)") { w in
            let cp = try Checkpoint(text: try SignedNote.Note(String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self)).text)
            let forged = Checkpoint(origin: cp.origin, treeSize: cp.treeSize, rootHash: MerkleTree.leafHash([1]))
            w.kept = try SignedNote.Note.sign(text: forged.text, name: cp.origin, key: w.key).encoded
        }
        lie("a kept checkpoint signed by another key") { w in
            let other = try SigningKeyFile.create(at: temporaryDirectory() + ".key")
            let cp = try Checkpoint(text: try SignedNote.Note(String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self)).text)
            w.kept = try SignedNote.Note.sign(text: cp.text, name: cp.origin, key: other).encoded
        }
        return c
    }()

    // MARK: The ledger and its bundles, made once

    nonisolated(unsafe) static var ledger: Ledger!
    nonisolated(unsafe) static var sources: [String: String] = [:]
    /// A checkpoint of the log after every export: genuine, but of more events than any bundle's.
    nonisolated(unsafe) static var later = ""
    static let setUp: Void = {
        let (l, _) = try! ExportTests.ledgerWithHistory()
        ledger = l
        let customer = try! l.log.environment.read { try l.vault.pseudonym(forCustomer: "c1", in: $0) }!
        for (name, request) in [("full", Ledger.ExportRequest(operator: "m1", purpose: "audit")),
                                ("mid", .init(from: .seq(5), to: .seq(20), operator: "m1", purpose: "audit")),
                                ("ticket", .init(ticket: "T3", operator: "m1", purpose: "audit")),
                                ("staff", .init(staff: "s1", operator: "m1", purpose: "audit")),
                                ("customer", .init(customer: customer, operator: "m1", purpose: "audit")),
                                ("pseudo", .init(pseudonymize: true, operator: "m1", purpose: "audit"))] {
            let dir = temporaryDirectory()
            _ = try! l.export(to: dir, request)
            sources[name] = dir
        }
        later = try! l.checkpoint().text
    }()

    static func bundle(_ name: String) throws -> String {
        _ = setUp
        let dir = temporaryDirectory()
        try FileManager.default.copyItem(atPath: sources[name]!, toPath: dir)
        return dir
    }

    /// The bundle's checkpoint as exported (before any cosignature).
    static func original(_ w: Work) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: sources["full"]! + "/" + Bundle.checkpointFile)), as: UTF8.self)
    }

    static func cosign(_ w: inout Work, require: Bool) throws {
        let key = try SigningKeyFile.create(at: temporaryDirectory() + ".witness.key")
        var note = try SignedNote.Note(String(decoding: try w.read(Bundle.checkpointFile), as: UTF8.self))
        try note.cosign(name: "witness.example", key: key, time: 1_796_000_000)
        try w.write(Bundle.checkpointFile, Array(note.encoded.utf8))
        if require { w.witnesses.append(SignedNote.verifierKey(name: "witness.example", algorithm: SignedNote.cosignatureV1, publicKey: key.publicKey)) }
    }

    @Test func theSuiteHasSixtyDistinctDamages() {
        #expect(TamperSuiteTests.cases.filter { !$0.ok }.count >= 60)
        #expect(Set(TamperSuiteTests.cases.map(\.name)).count == TamperSuiteTests.cases.count)
    }

    @Test(arguments: TamperSuiteTests.cases.map(\.name))
    func bothVerifiersGiveTheExpectedVerdict(_ name: String) throws {
        let c = TamperSuiteTests.cases.first { $0.name == name }!
        _ = TamperSuiteTests.setUp
        let vkey = try TamperSuiteTests.ledger.verifierKey()
        var w = Work(dir: try TamperSuiteTests.bundle(c.bundle), key: try TamperSuiteTests.ledger.signingKey(), trusted: vkey.publicKey, origin: vkey.name)
        try c.damage(&w)
        let trust = BundleTrust(publicKey: w.trusted, origin: w.origin, keptCheckpoint: w.kept,
                                witnesses: try w.witnesses.map { try SignedNote.VerifierKey($0) })
        let swift = BundleVerifier.verify(directory: w.dir, trust: trust)
        #expect(swift.ok == c.ok, "\(name): swift says \(swift)")
        var args = [w.dir, w.origin == nil ? "--public-key" : "--key", w.origin == nil ? w.trusted.hex : SignedNote.verifierKey(name: w.origin!, publicKey: w.trusted)]
        if let kept = w.kept { args += ["--checkpoint", try PythonVerifierTests.write(Array(kept.utf8))] }
        for k in w.witnesses { args += ["--witness-key", k] }
        if let py = try PythonVerifierTests.python(args) {
            #expect(py.ok == c.ok && py.status == (c.ok ? 0 : 4), "\(name): python says \(py)")
        }
    }
}
