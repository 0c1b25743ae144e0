import Foundation
import Testing

/// Damages ledgers the way someone with write access to the files could (with the ledger
/// closed): one bit flipped in `log/data.mdb` where an entry's key or value lies, or an entry
/// rewritten through LMDB (Python's `lmdb` package), and checks that `verify` or
/// `verify --deep` exits 4 with the JSON of CONTRACT.md section 8 naming the problem.
enum Damage {
    static let pythonHasLMDB: Bool = {
        (try? Damage.python(["-c", "import lmdb"]).status) == 0
    }()

    /// A directory for the whole run, removed when the test process exits.
    static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-deep-verify-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Damage.root) }
        return url
    }()

    /// The helper below, written once.
    static let script: String = {
        let path = root.appendingPathComponent("damage.py").path
        try? helper.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// A demo ledger of 1,000 calls (seed 42): customers erased, a legal hold still open, the
    /// projections caught up. Made once; each test damages its own copy.
    static let fixture: Result<String, CLIFailure> = {
        let path = root.appendingPathComponent("fixture.ledger").path
        // One import of ~4,400 lines would move its ids to a run; kept in `ids` so that every table has entries to damage.
        guard let r = try? CLI.run(["demo", "--calls", "1000", "--seed", "42", "--ledger", path],
                                   environment: ["LEDGER_ID_INDEX_BATCH_FLUSH_AT": "65536"]), r.status == 0 else {
            return .failure(CLIFailure(message: "ledger demo failed"))
        }
        return .success(path)
    }()

    /// The same 1,000 calls (4,409 lines) imported in parts of 200 lines with
    /// `LEDGER_ID_INDEX_FLUSH_AT=100` and `LEDGER_ID_INDEX_BATCH_FLUSH_AT=50`, so that the id
    /// index has merged runs (two of about 1,600 entries: eight flushed runs each), six runs as
    /// flushed, and the last part's nine entries in `ids` (docs/FORMAT.md, "The id index").
    /// Made once.
    static let runsFixture: Result<String, CLIFailure> = {
        let lines = root.appendingPathComponent("fixture.jsonl").path
        let path = root.appendingPathComponent("runs.ledger").path
        guard let r = try? CLI.run(["demo", "--calls", "1000", "--seed", "42", "--lines-out", lines]), r.status == 0,
              let text = try? String(contentsOfFile: lines, encoding: .utf8) else {
            return .failure(CLIFailure(message: "ledger demo --lines-out failed"))
        }
        let all = text.split(separator: "\n", omittingEmptySubsequences: true)
        for (i, start) in stride(from: 0, to: all.count, by: 200).enumerated() {
            let part = root.appendingPathComponent("part-\(i).jsonl").path
            let chunk = all[start..<min(start + 200, all.count)].joined(separator: "\n") + "\n"
            // The corpus has lines the rules refuse (exit 3); anything else is a failure.
            guard (try? chunk.write(toFile: part, atomically: true, encoding: .utf8)) != nil,
                  let r = try? CLI.run(["--ledger", path, "import", part], environment: ["LEDGER_ID_INDEX_FLUSH_AT": "100", "LEDGER_ID_INDEX_BATCH_FLUSH_AT": "50"]),
                  r.status == 0 || r.status == 3 else {
                return .failure(CLIFailure(message: "importing part \(i) failed"))
            }
        }
        return .success(path)
    }()

    struct CLIFailure: Error { let message: String }

    /// tools/read_ledger.py, the reader written from docs/FORMAT.md alone.
    static let readLedger = CLI.packageRoot.appendingPathComponent("tools/read_ledger.py").path

    /// A fresh copy of the fixture, in `dir`.
    static func copy(into dir: TemporaryDirectory) throws -> String {
        let target = dir.ledger
        try FileManager.default.copyItem(atPath: try fixture.get(), toPath: target)
        return target
    }

    static func python(_ arguments: [String]) throws -> CLI.Result {
        let scratch = root.appendingPathComponent("py-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + arguments
        let o = try FileHandle(forWritingTo: out), e = try FileHandle(forWritingTo: err)
        p.standardOutput = o
        p.standardError = e
        try p.run()
        p.waitUntilExit()
        try o.close(); try e.close()
        return CLI.Result(status: p.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                          stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// Runs a helper command, which must succeed; its standard output parsed as JSON.
    @discardableResult
    static func tool(_ arguments: [String]) throws -> Any {
        let r = try python([script] + arguments)
        try #require(r.status == 0, "damage.py \(arguments.joined(separator: " ")): \(r.stderr)")
        return try r.json()
    }

    /// `ledger verify [--deep] --json`: the exit status and the JSON object, whose shape is checked.
    static func verify(_ ledger: String, deep: Bool, _ extra: [String] = []) throws -> (status: Int32, json: [String: Any]) {
        let r = try CLI.run(["--ledger", ledger, "verify"] + (deep ? ["--deep"] : []) + extra + ["--json"])
        let json = try JSONCheck.object(try r.json(), "verify printed no JSON: \(r.stdout) \(r.stderr)")
        #expect(Set(json.keys) == ["ok", "checked", "firstBadSeq", "problem"])
        #expect(JSONCheck.isBool(json["ok"]))
        #expect(JSONCheck.isInteger(json["checked"]))
        #expect(JSONCheck.isInteger(json["firstBadSeq"]) || JSONCheck.isNull(json["firstBadSeq"]))
        #expect(JSONCheck.isString(json["problem"]) || JSONCheck.isNull(json["problem"]))
        return (r.status, json)
    }

    /// A table's entries in key order: [key hex, value hex].
    static func entries(_ ledger: String, _ table: String) throws -> [[String]] {
        try JSONCheck.array(try tool(["entries", ledger, table])).compactMap { $0 as? [String] }
    }

    /// The active projection generation of a ledger (0 or 1).
    static func activeGeneration(_ ledger: String) throws -> Int {
        let active = try entries(ledger, "proj.meta").first { $0[0] == hex("active") }
        return active.flatMap { Int($0[1], radix: 16) }.map { $0 & 1 } ?? 0
    }

    /// Python: finds entries in `log/data.mdb` and damages them (see each command).
    static let helper = #"""
    import json, lmdb, struct, sys

    def env(ledger, write=False):
        return lmdb.open(ledger + '/log', max_dbs=64, readonly=not write, lock=write, map_size=1 << 32)

    def entries(ledger, name):
        e = env(ledger)
        d = e.open_db(name.encode(), create=False)
        with e.begin() as t:
            out = [(bytes(k), bytes(v)) for k, v in t.cursor(d)]
        e.close()
        return out

    def table_names(ledger):
        e = env(ledger)
        with e.begin() as t:
            out = [bytes(k) for k, _ in t.cursor()]
        e.close()
        return out

    def flip_live(ledger, pattern, where, changed):
        """Flips bit 0 of pattern-start + where at each occurrence of pattern in data.mdb until changed() says
        the table as LMDB reads it is different (other occurrences are stale copies in free pages)."""
        path = ledger + '/log/data.mdb'
        data = bytearray(open(path, 'rb').read())
        i = data.find(pattern)
        while i >= 0:
            for bit in (1,):
                data[i + where] ^= bit
                with open(path, 'r+b') as f:
                    f.seek(i + where); f.write(bytes([data[i + where]]))
                if changed():
                    return i + where
                data[i + where] ^= bit
                with open(path, 'r+b') as f:
                    f.seek(i + where); f.write(bytes([data[i + where]]))
            i = data.find(pattern, i + 1)
        sys.exit('no live copy of the pattern')

    cmd, ledger = sys.argv[1], sys.argv[2]
    if cmd == 'entries':                       # entries LEDGER DB -> [[key hex, value hex], ...]
        print(json.dumps([[k.hex(), v.hex()] for k, v in entries(ledger, sys.argv[3])]))
    elif cmd == 'flip':                        # flip LEDGER DB INDEX|nonempty key|value OFFSET
        name, index, part, offset = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
        before = entries(ledger, name)
        if index == 'nonempty':
            index = next(i for i, (k, v) in enumerate(before) if len(v) >= 8)
        k, v = before[int(index)]
        # A leaf node: data size (lo, hi), flags 0, key size, then the key and the value.
        node = struct.pack('<HHHH', len(v) & 0xFFFF, len(v) >> 16, 0, len(k)) + k + v[:16]
        where = 8 + (len(k) - 1 if part == 'key' else len(k) + min(offset, len(v) - 1))
        at = flip_live(ledger, node, where, lambda: entries(ledger, name) != before)
        print(json.dumps({'key': k.hex(), 'value': v.hex(), 'offset': at}))
    elif cmd == 'rename':                      # rename LEDGER TABLE: flips a bit of its name in LMDB's main database
        name = sys.argv[3].encode()
        before = table_names(ledger)
        at = flip_live(ledger, struct.pack('<H', len(name)) + name, 2 + len(name) - 1, lambda: table_names(ledger) != before)
        print(json.dumps({'offset': at}))
    elif cmd == 'root':                        # root LEDGER TABLE: points the table's root page far past the file's end
        name = sys.argv[3].encode()
        e = env(ledger)
        with e.begin() as t:
            record = bytes(t.get(name))        # the table's MDB_db record in the main database (48 bytes)
        e.close()
        node = struct.pack('<HHHH', len(record), 0, 2, len(name)) + name + record   # F_SUBDATA
        def unreadable():
            try:
                e = env(ledger); d = e.open_db(name, create=False)
                with e.begin() as t:
                    list(t.cursor(d))
                e.close()
                return False
            except lmdb.Error:
                return True
        at = flip_live(ledger, node, 8 + len(name) + 40 + 6, unreadable)   # md_root, byte 6 of 8
        print(json.dumps({'offset': at}))
    elif cmd == 'pageflag':                    # pageflag LEDGER DB INDEX: marks the leaf page holding the entry a branch page
        name, index = sys.argv[3], int(sys.argv[4])
        k, v = entries(ledger, name)[index]
        node = struct.pack('<HHHH', len(v) & 0xFFFF, len(v) >> 16, 0, len(k)) + k + v[:16]
        path = ledger + '/log/data.mdb'
        data = bytearray(open(path, 'rb').read())
        psize = 4096
        def unreadable():
            try:
                e = env(ledger); d = e.open_db(name.encode(), create=False)
                with e.begin() as t:
                    ok = t.get(k, db=d) == v
                e.close()
                return not ok
            except lmdb.Error:
                return True
        i = data.find(node)
        while i >= 0:
            page = i // psize * psize
            data[page + 10] ^= 0x01          # mp_flags: P_BRANCH
            open(path, 'r+b').write(data)
            if unreadable():
                print(json.dumps({'page': page // psize})); sys.exit(0)
            data[page + 10] ^= 0x01
            open(path, 'r+b').write(data)
            i = data.find(node, i + 1)
        sys.exit('no live page holds the entry')
    elif cmd in ('put', 'delete', 'drop', 'newtable'):
        e = env(ledger, write=True)
        d = e.open_db(sys.argv[3].encode(), create=(cmd == 'newtable'))
        with e.begin(write=True) as t:
            if cmd == 'put':
                t.put(bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5]), db=d)
            elif cmd == 'delete':
                assert t.delete(bytes.fromhex(sys.argv[4]), db=d)
            elif cmd == 'drop':
                t.drop(d, delete=True)
            else:
                t.put(b'k', b'v', db=d)
        e.close()
        print('{}')
    elif cmd == 'record':                      # record LEDGER SEQ -> {"stream": ..., "payload": {...}}
        e = env(ledger)
        d = e.open_db(b'events', create=False)
        with e.begin() as t:
            r = bytes(t.get(int(sys.argv[3]).to_bytes(8, 'big'), db=d))
        n = int.from_bytes(r[41:43], 'big')
        print(json.dumps({'stream': r[43:43 + n].decode(), 'payload': json.loads(r[43 + n:])}))
    elif cmd == 'count':                       # count LEDGER TYPE -> events of that type
        print(sum(1 for k, v in entries(ledger, 'events') if b'"type":"' + sys.argv[3].encode() + b'"' in v))
    """#
}

private func hex(_ s: String) -> String { s.utf8.map { String(format: "%02x", $0) }.joined() }

@Suite(.enabled(if: Damage.pythonHasLMDB, "needs python3 with the lmdb package (tools/test installs it)"))
struct DeepVerifyTests {
    /// One bit flipped in one entry's key or value, as stored in `data.mdb`.
    struct Flip: CustomTestStringConvertible, Sendable {
        /// The table; `{g}` stands for the active projection generation.
        var table: String
        /// The entry, in key order (`nil`: the first whose value has 8 bytes or more).
        var index: Int?
        var key: Bool
        /// Byte of the value to flip (bit 0), clamped to the value's length.
        var offset = 0
        /// Whether the plain `verify` must catch it too (the log's own tables), or only `--deep`.
        var plain: Bool
        /// What the problem must say.
        var says: String

        var testDescription: String { "\(table) \(key ? "key" : "value") #\(index.map(String.init) ?? "nonempty")" }
    }

    static let flips: [Flip] = [
        // The log's own tables: plain verify.
        Flip(table: "meta", index: 0, key: false, offset: 5, plain: true, says: "meta: the format reads"),
        Flip(table: "meta", index: 1, key: true, plain: true, says: "meta: an unexpected entry"),
        Flip(table: "meta", index: 1, key: false, offset: 7, plain: true, says: "head says"),
        Flip(table: "events", index: 30, key: true, plain: true, says: "events: the entry for seq"),
        Flip(table: "events", index: 31, key: false, offset: 8, plain: true, says: "record claims seq"),
        Flip(table: "events", index: 31, key: false, offset: 200, plain: true, says: "chain hash does not match"),
        Flip(table: "hashes", index: 40, key: true, plain: true, says: "hash entry missing"),
        Flip(table: "hashes", index: 30, key: false, offset: 40, plain: true, says: "leaf hash does not match"),
        Flip(table: "ids", index: 100, key: true, plain: true, says: "ids: no entry for the id"),
        Flip(table: "ids", index: 100, key: false, offset: 7, plain: true, says: "ids: the id"),
        Flip(table: "streams", index: 10, key: true, plain: true, says: "streams:"),
        Flip(table: "streams", index: 10, key: false, offset: 15, plain: true, says: "streams:"),
        Flip(table: "stream_links", index: 60, key: true, plain: true, says: "stream_links:"),
        Flip(table: "stream_links", index: 60, key: false, offset: 7, plain: true, says: "stream_links:"),
        // The derived tables: --deep.
        Flip(table: "rules.staff", index: 3, key: true, plain: false, says: "rules.staff:"),
        Flip(table: "rules.staff", index: 3, key: false, offset: 0, plain: false, says: "rules.staff:"),
        Flip(table: "rules.tickets", index: 5, key: true, plain: false, says: "rules.tickets:"),
        Flip(table: "rules.tickets", index: 5, key: false, offset: 8, plain: false, says: "rules.tickets:"),
        Flip(table: "rules.holds", index: 0, key: true, plain: false, says: "rules.holds:"),
        Flip(table: "rules.holds", index: nil, key: false, offset: 9, plain: false, says: "rules.holds:"),
        Flip(table: "privacy.meta", index: 0, key: true, plain: false, says: "privacy.meta:"),
        Flip(table: "privacy.meta", index: 0, key: false, offset: 7, plain: false, says: "privacy.meta: kek names generation"),
        Flip(table: "privacy.customers", index: 2, key: true, plain: false, says: "privacy.customers:"),
        Flip(table: "privacy.customers", index: 2, key: false, offset: 20, plain: false, says: "does not open under the key-encryption key"),
        Flip(table: "privacy.lookup", index: 4, key: true, plain: false, says: "privacy.lookup:"),
        Flip(table: "privacy.lookup", index: 4, key: false, offset: 10, plain: false, says: "privacy.lookup:"),
        Flip(table: "privacy.tickets", index: 7, key: true, plain: false, says: "privacy.tickets:"),
        Flip(table: "privacy.tickets", index: 7, key: false, offset: 20, plain: false, says: "privacy.tickets:"),
        Flip(table: "proj.meta", index: 3, key: true, plain: false, says: "proj.meta: an unexpected entry"),
        Flip(table: "proj.meta", index: -1, key: false, offset: 5, plain: false, says: "beyond the log's head"),
        Flip(table: "proj.{g}.tickets", index: 9, key: true, plain: false, says: "proj.{g}.tickets:"),
        Flip(table: "proj.{g}.tickets", index: 9, key: false, offset: 12, plain: false, says: "proj.{g}.tickets:"),
        Flip(table: "proj.{g}.staff", index: 4, key: true, plain: false, says: "proj.{g}.staff:"),
        Flip(table: "proj.{g}.staff", index: 4, key: false, offset: 6, plain: false, says: "proj.{g}.staff:"),
        Flip(table: "proj.{g}.accountable", index: 3, key: true, plain: false, says: "proj.{g}.accountable:"),
    ]

    @Test(arguments: flips)
    func aBitFlipInAnyTableIsCaught(_ flip: Flip) throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let g = try Damage.activeGeneration(ledger)
        let table = flip.table.replacingOccurrences(of: "{g}", with: "\(g)")
        // proj.meta's keys: active, checkpoint.0, checkpoint.1, schema; -1 is the active checkpoint.
        let index = flip.index.map { $0 == -1 ? 1 + g : $0 }.map(String.init) ?? "nonempty"
        try Damage.tool(["flip", ledger, table, index, flip.key ? "key" : "value", String(flip.offset)])

        let says = flip.says.replacingOccurrences(of: "{g}", with: "\(g)")
        let plain = try Damage.verify(ledger, deep: false)
        if flip.plain {
            #expect(plain.status == 4)
            #expect(plain.json["ok"] as? Bool == false)
            #expect((plain.json["problem"] as? String)?.contains(says) == true, "\(plain.json)")
        } else {
            // Not the log's own tables: the chain and its indexes are intact.
            #expect(plain.status == 0, "\(plain.json)")
        }
        let deep = try Damage.verify(ledger, deep: true)
        #expect(deep.status == 4)
        #expect(deep.json["ok"] as? Bool == false)
        #expect((deep.json["problem"] as? String)?.contains(says) == true, "\(deep.json)")
    }

    /// The id index's runs (docs/FORMAT.md, "The id index") and the streams, in the fixture imported in parts.
    static let runFlips: [Flip] = [
        Flip(table: "id_run_entries", index: 100, key: true, plain: true, says: "id_runs: the filter of run"),
        Flip(table: "id_run_entries", index: 2000, key: false, offset: 7, plain: true, says: "ids: the id"),
        Flip(table: "id_run_entries", index: 4000, key: false, offset: 0, plain: true, says: "ids: the id"),
        // (Runs 0 and 1 are merged runs whose descriptors, over 2 KiB, sit on overflow pages the
        // flip tool does not edit; runs 2 and 3 were flushed and are stored in the leaf.)
        Flip(table: "id_runs", index: 2, key: true, plain: true, says: "which id_runs does not describe"),
        Flip(table: "id_runs", index: 3, key: false, offset: 7, plain: true, says: "entries and holds"),
        Flip(table: "id_runs", index: 3, key: false, offset: 11, plain: true, says: "does not follow docs/FORMAT.md"),
        Flip(table: "id_runs", index: 2, key: false, offset: 100, plain: true, says: "id_runs: the filter of run"),
        Flip(table: "ids", index: 3, key: false, offset: 7, plain: true, says: "ids: the id"),
        // The streams, which the reader in Python checks too (docs/FORMAT.md, "Reading a stream").
        Flip(table: "stream_links", index: 500, key: false, offset: 7, plain: true, says: "stream_links:"),
        Flip(table: "stream_links", index: 700, key: true, plain: true, says: "stream_links:"),
        Flip(table: "streams", index: 5, key: false, offset: 23, plain: true, says: "streams:"),
    ]

    @Test(arguments: runFlips)
    func aBitFlipInTheIdIndexRunsIsCaught(_ flip: Flip) throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.ledger
        try FileManager.default.copyItem(atPath: try Damage.runsFixture.get(), toPath: ledger)
        #expect(try Damage.entries(ledger, "id_runs").count >= 3)
        #expect(try Damage.entries(ledger, "ids").count > 3)
        try Damage.tool(["flip", ledger, flip.table, String(flip.index ?? 0), flip.key ? "key" : "value", String(flip.offset)])
        let plain = try Damage.verify(ledger, deep: false)
        if flip.plain {
            #expect(plain.status == 4)
            #expect((plain.json["problem"] as? String)?.contains(flip.says) == true, "\(plain.json)")
        } else {
            #expect(plain.status == 0, "\(plain.json)")
        }
        let deep = try Damage.verify(ledger, deep: true)
        #expect(deep.status == 4)
        #expect((deep.json["problem"] as? String)?.contains(flip.says) == true, "\(deep.json)")
        // The reader in Python (docs/FORMAT.md alone) catches what plain verify catches.
        let python = try Damage.python([Damage.readLedger, ledger])
        #expect(python.status == (flip.plain ? 4 : 0), "\(python.stdout)")
    }

    @Test func theRunsFixtureVerifiesHereAndInPython() throws {
        let dir = try TemporaryDirectory()
        let ledger = dir.ledger
        try FileManager.default.copyItem(atPath: try Damage.runsFixture.get(), toPath: ledger)
        for deep in [false, true] {
            let r = try Damage.verify(ledger, deep: deep)
            #expect(r.status == 0, "\(r.json)")
        }
        let python = try Damage.python([Damage.readLedger, ledger])
        #expect(python.status == 0)
        let last = String(python.stdout.split(separator: "\n").last ?? "")
        let summary = try JSONCheck.object(try JSONSerialization.jsonObject(with: Data(last.utf8)))
        let index = try #require(summary["idIndex"] as? [String: Any])
        #expect((index["runs"] as? Int ?? 0) >= 3)
        #expect((index["recent"] as? Int ?? 0) > 0)
        #expect((index["runEntries"] as? Int ?? 0) + (index["recent"] as? Int ?? 0) == summary["checked"] as? Int)
    }

    @Test func cleanDemoWithErasuresPassesBothChecks() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let erasures = try #require(Damage.tool(["count", ledger, "personalDataErased"]) as? Int)
        #expect(erasures > 0)
        let events = try #require(try JSONCheck.object(try CLI.run(["--ledger", ledger, "stats", "--json"]).json())["events"] as? Int)
        for deep in [false, true] {
            let r = try Damage.verify(ledger, deep: deep)
            #expect(r.status == 0, "\(r.json)")
            #expect(r.json["ok"] as? Bool == true)
            #expect(r.json["checked"] as? Int == events)
            #expect(JSONCheck.isNull(r.json["firstBadSeq"]))
            #expect(JSONCheck.isNull(r.json["problem"]))
        }
        // The scratch environment is gone afterwards.
        let text = try CLI.run(["--ledger", ledger, "verify", "--deep"], environment: ["TMPDIR": dir.url.path])
        #expect(text.status == 0)
        #expect(text.stdout.contains("the projections agree with the log"))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("ledger-verify-") }
        #expect(left.isEmpty)
    }

    /// The issue's case: a flipped key in `events` made `ticket` fail ("stream index points
    /// nowhere") while `verify` passed.
    @Test func aFlippedEventKeyFailsVerifyAtItsSeq() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let seq = 120
        let record = try JSONCheck.object(try Damage.tool(["record", ledger, String(seq)]))
        let stream = try #require(record["stream"] as? String)
        try #require(stream.hasPrefix("ticket:"))
        try Damage.tool(["flip", ledger, "events", String(seq - 1), "key", "0"])

        let ticket = try CLI.run(["--ledger", ledger, "ticket", String(stream.dropFirst("ticket:".count))])
        #expect(ticket.status != 0)
        let r = try Damage.verify(ledger, deep: false)
        #expect(r.status == 4)
        #expect(r.json["firstBadSeq"] as? Int == seq)
        #expect(r.json["checked"] as? Int == seq - 1)
    }

    @Test func anEditedProjectionIsCaughtByDeep() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let g = try Damage.activeGeneration(ledger)
        let tickets = try Damage.entries(ledger, "proj.\(g).tickets")
        // Ticket 10 is given the state of ticket 11.
        try Damage.tool(["put", ledger, "proj.\(g).tickets", tickets[10][0], tickets[11][1]])
        let victim = String(decoding: Array(hexBytes: tickets[10][0]), as: UTF8.self)

        #expect(try Damage.verify(ledger, deep: false).status == 0)
        let r = try Damage.verify(ledger, deep: true)
        #expect(r.status == 4)
        let problem = try #require(r.json["problem"] as? String)
        #expect(problem.hasPrefix("proj.\(g).tickets: the state of \"\(victim)\""))
        #expect(JSONCheck.isInteger(r.json["firstBadSeq"]))
    }

    @Test func editedRulesStateIsCaughtByDeep() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let tickets = try Damage.entries(ledger, "rules.tickets")
        // An open ticket marked resolved, with a new owner: its rule checks would refuse the next events.
        let open = try #require(tickets.first { $0[1].hasPrefix("00") })
        try Damage.tool(["put", ledger, "rules.tickets", open[0], "01" + String(repeating: "0", count: 32) + hex("intruder")])
        let name = String(decoding: Array(hexBytes: open[0]), as: UTF8.self)

        #expect(try Damage.verify(ledger, deep: false).status == 0)
        let r = try Damage.verify(ledger, deep: true)
        #expect(r.status == 4)
        let problem = try #require(r.json["problem"] as? String)
        #expect(problem.hasPrefix("rules.tickets: the entry for \"\(name)\" is owner \"intruder\", resolved"))
        #expect(JSONCheck.isInteger(r.json["firstBadSeq"]))
    }

    @Test func anEditedIdIndexIsCaught() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let ids = try Damage.entries(ledger, "ids")
        let entry = ids[200]
        let seq = Int(entry[1].prefix(16), radix: 16)!
        // The entry as format 4 wrote it (seq ‖ content digest), with a digest that is not the
        // event's: a ledger upgraded from format 4 still holds such entries, and --deep checks them.
        try Damage.tool(["put", ledger, "ids", entry[0], String(entry[1].prefix(16)) + String(repeating: "ab", count: 32)])
        #expect(try Damage.verify(ledger, deep: false).status == 0)
        let r = try Damage.verify(ledger, deep: true)
        #expect(r.status == 4)
        #expect(r.json["firstBadSeq"] as? Int == seq)
        #expect((r.json["problem"] as? String)?.hasPrefix("ids: the content digest kept for id") == true)

        // The entry removed: the same event would be appended twice.
        let other = try TemporaryDirectory()
        let second = try Damage.copy(into: other)
        try Damage.tool(["delete", second, "ids", entry[0]])
        for deep in [false, true] {
            let d = try Damage.verify(second, deep: deep)
            #expect(d.status == 4)
            #expect(d.json["firstBadSeq"] as? Int == seq)
            #expect((d.json["problem"] as? String)?.hasPrefix("ids: no entry for the id") == true)
        }
    }

    @Test func entriesNoEventAccountsForAreCaughtByDeep() throws {
        // A look-up entry for a customer who has no record.
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let records = try Damage.entries(ledger, "privacy.customers").count
        try Damage.tool(["put", ledger, "privacy.lookup", String(repeating: "11", count: 32), hex("cus_00000000000000000000000000000000")])
        let r = try Damage.verify(ledger, deep: true)
        #expect(r.status == 4)
        #expect(r.json["problem"] as? String == "privacy.lookup: \(records + 1) entries for \(records) customer records (each record has exactly one)")

        // A ticket state in the generation of the projections that is not active, with no
        // replay's checkpoint: no replay writes entries without moving its checkpoint.
        let other = try TemporaryDirectory()
        let second = try Damage.copy(into: other)
        let inactive = 1 - (try Damage.activeGeneration(second))
        try Damage.tool(["put", second, "proj.\(inactive).tickets", hex("T-9999999"), "00"])
        #expect(try Damage.verify(second, deep: false).status == 0)
        let d = try Damage.verify(second, deep: true)
        #expect(d.status == 4)
        #expect((d.json["problem"] as? String)?.hasPrefix("proj.\(inactive).tickets: generation \(inactive) is not active but holds 1 entries, and no replay's checkpoint") == true)
    }

    /// A replay stopped before it finished (a crash, `kill -9`) leaves its chunks and their
    /// checkpoint in the inactive generation. While a replay holds `log/replay.lock` that is a
    /// replay running, and `--deep` says to verify again; with no replay running it is a stopped
    /// one's, which nothing reads: `--deep` passes, and the next writable open clears it.
    @Test func aStoppedReplaysChunksAreNotDamageAndAreCleared() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let inactive = 1 - (try Damage.activeGeneration(ledger))
        try Damage.tool(["put", ledger, "proj.\(inactive).tickets", hex("T-9999999"), "00"])
        try Damage.tool(["put", ledger, "proj.meta", hex("checkpoint.\(inactive)"), "0000000000000005"])
        #expect(try Damage.verify(ledger, deep: true).status == 0)

        // The same while a replay runs: the lock held (here by this process).
        let lockPath = ledger + "/log/replay.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o600)
        try #require(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let running = try Damage.verify(ledger, deep: true)
        #expect(running.status == 4)
        #expect(running.json["problem"] as? String == "proj.meta: checkpoint.\(inactive) of the inactive generation is 5: a replay is running (verify again once it finishes)")
        // A writable open leaves a running replay's chunks alone.
        #expect(try CLI.run(["--ledger", ledger, "stats"]).status == 0)
        #expect(try Damage.entries(ledger, "proj.\(inactive).tickets").count == 1)
        close(fd)

        // Once the replay is gone, the next writable open clears what it left.
        #expect(try CLI.run(["--ledger", ledger, "stats"]).status == 0)
        #expect(try Damage.entries(ledger, "proj.\(inactive).tickets").isEmpty)
        let meta = try Damage.entries(ledger, "proj.meta")
        #expect(meta.first { $0[0] == hex("checkpoint.\(inactive)") }?[1] == "0000000000000000")
        #expect(try Damage.verify(ledger, deep: true).status == 0)

        // A replay waits while another holds the lock, then runs.
        let held = open(lockPath, O_RDWR)
        try #require(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0)
        let replay = Process()
        replay.executableURL = try #require(CLI.binary)
        replay.arguments = ["--ledger", ledger, "replay"]
        replay.standardOutput = FileHandle.nullDevice
        replay.standardError = FileHandle.nullDevice
        try replay.run()
        usleep(1_500_000)
        #expect(replay.isRunning, "a replay went ahead while another held the lock")
        close(held)
        replay.waitUntilExit()
        #expect(replay.terminationStatus == 0)
        #expect(try Damage.verify(ledger, deep: true).status == 0)
    }

    @Test func aMalformedRecordIsExit4WithJSON() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        try Damage.tool(["put", ledger, "events", "0000000000000005", "01020304050607080910"])
        for deep in [false, true] {
            let r = try Damage.verify(ledger, deep: deep)
            #expect(r.status == 4)
            #expect(r.json["firstBadSeq"] as? Int == 5)
            #expect(r.json["checked"] as? Int == 4)
            #expect((r.json["problem"] as? String)?.contains("is malformed") == true)
        }
    }

    @Test func aKeyOfTheWrongLengthIsExit4() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        try Damage.tool(["put", ledger, "ids", String(repeating: "7f", count: 15), "0000000000000003" + String(repeating: "00", count: 32)])
        for deep in [false, true] {
            let r = try Damage.verify(ledger, deep: deep)
            #expect(r.status == 4)
            #expect((r.json["problem"] as? String)?.contains("is malformed (15-byte key") == true)
        }
    }

    @Test func missingOrRenamedTablesAreExit4WithJSON() throws {
        let dir = try TemporaryDirectory()
        let dropped = try Damage.copy(into: dir)
        try Damage.tool(["drop", dropped, "rules.tickets"])
        for deep in [false, true] {
            let r = try Damage.verify(dropped, deep: deep)
            #expect(r.status == 4)
            #expect(r.json["problem"] as? String == "the ledger cannot be opened: the table rules.tickets is missing from the log's file")
        }

        let other = try TemporaryDirectory()
        let renamed = try Damage.copy(into: other)
        try Damage.tool(["rename", renamed, "stream_links"])
        for deep in [false, true] {
            let r = try Damage.verify(renamed, deep: deep)
            #expect(r.status == 4)
            #expect((r.json["problem"] as? String)?.contains("the table stream_links is missing") == true)
        }

        let third = try TemporaryDirectory()
        let extra = try Damage.copy(into: third)
        try Damage.tool(["newtable", extra, "rules.shadow"])
        #expect(try Damage.verify(extra, deep: false).status == 0)
        let d = try Damage.verify(extra, deep: true)
        #expect(d.status == 4)
        #expect((d.json["problem"] as? String)?.contains("a table \"rules.shadow\" that is not one of the ledger's") == true)
    }

    @Test func anLMDBErrorWhileReadingIsExit4WithJSON() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        // The events table's root page number pointed past the end of the file: MDB_PAGE_NOTFOUND.
        try Damage.tool(["root", ledger, "events"])
        for deep in [false, true] {
            let r = try Damage.verify(ledger, deep: deep)
            #expect(r.status == 4)
            let problem = try #require(r.json["problem"] as? String)
            #expect(problem.hasPrefix("LMDB reports the log's file damaged"), "\(problem)")
            #expect(problem.contains("MDB_PAGE_NOTFOUND") || problem.contains("MDB_BAD_TXN"), "\(problem)")
        }
    }

    @Test func aDamagedInnerPageIsCaughtByDeep() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        // A leaf page of events marked a branch page: a walk from page to page still reads its
        // entries, but looking them up from the root (as queries do) no longer finds them.
        try Damage.tool(["pageflag", ledger, "events", "300"])
        let r = try Damage.verify(ledger, deep: true)
        #expect(r.status == 4)
        let problem = try #require(r.json["problem"] as? String)
        #expect(problem.hasPrefix("events: looking seq") || problem.hasPrefix("LMDB reports the log's file damaged"), "\(problem)")
        let seq = try #require(r.json["firstBadSeq"] as? Int)
        #expect((250...350).contains(seq))
    }

    @Test func deepWithACheckpointChecksBoth() throws {
        let dir = try TemporaryDirectory()
        let ledger = try Damage.copy(into: dir)
        let cp = try CLI.run(["--ledger", ledger, "checkpoint"])
        try #require(cp.status == 0)
        let file = dir.url.appendingPathComponent("kept.txt").path
        try cp.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let clean = try Damage.verify(ledger, deep: true, ["--checkpoint", file])
        #expect(clean.status == 0, "\(clean.json)")

        try Damage.tool(["flip", ledger, "rules.staff", "2", "value", "0"])
        let damaged = try Damage.verify(ledger, deep: true, ["--checkpoint", file])
        #expect(damaged.status == 4)
        #expect((damaged.json["problem"] as? String)?.hasPrefix("rules.staff:") == true)
    }
}

extension Array where Element == UInt8 {
    init(hexBytes: String) {
        var out: [UInt8] = []
        var it = hexBytes.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        self = out
    }
}
