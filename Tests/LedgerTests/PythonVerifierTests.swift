import Compliance
import EscalationDomain
import Foundation
import Testing
@testable import Ledger

/// tools/verify_bundle.py is a second verifier written independently from the documents (Python's
/// standard library, plus `cryptography` for Ed25519): on every bundle it must reach BundleVerifier's
/// verdict and name the same first bad line; it checks the proof documents the ledger writes.
/// The Python half of each test is skipped only when python3 is not installed.
@Suite struct PythonVerifierTests {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()
    static let script = packageRoot.appendingPathComponent("tools/verify_bundle.py").path
    static let python3Present = (try? run(["python3", "-c", "pass"]).status) == 0
    static let cryptographyPresent =
        (try? run(["python3", "-c", "import cryptography.hazmat.primitives.asymmetric.ed25519"]).status) == 0

    /// Runs `/usr/bin/env args…`; stdout and stderr go through files (no pipe can fill up).
    static func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = temporaryDirectory() + ".out", err = temporaryDirectory() + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: err) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOfFile: out, encoding: .utf8), try String(contentsOfFile: err, encoding: .utf8))
    }

    /// What verify_bundle.py said: its exit status, its JSON line and its stderr.
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var json: [String: Any]
        var stderr: String
        var ok: Bool? { json["ok"] as? Bool }
        func int(_ key: String) -> Int? { json[key] as? Int }
        var problem: String? { json["problem"] as? String }
        var description: String { "exit \(status): \(json) \(stderr)" }
    }

    /// Runs the Python verifier; nil when python3 is absent. `withoutCryptography` hides the
    /// `cryptography` package from it, as on a machine that lacks it.
    static func python(_ args: [String], withoutCryptography: Bool = false) throws -> Outcome? {
        guard python3Present else { return nil }
        let command = withoutCryptography
            ? ["python3", "-c", "import runpy, sys; sys.modules['cryptography'] = None; path = sys.argv[1]; "
                + "sys.argv = sys.argv[1:]; runpy.run_path(path, run_name='__main__')", script] + args
            : ["python3", script] + args
        let r = try run(command)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
        return Outcome(status: r.status, json: json, stderr: r.stderr)
    }

    /// Runs both verifiers on `dir` and expects the same verdict, count and first bad line and seq.
    @discardableResult
    static func verifyBoth(_ dir: String, key: [UInt8]?, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (swift: BundleVerification, python: Outcome?)
    {
        let swift = BundleVerifier.verify(directory: dir, trustedPublicKey: key)
        let py = try python([dir] + (key.map { ["--public-key", $0.hex] } ?? []))
        if let py {
            #expect(py.ok == swift.ok, "swift: \(swift); python: \(py)", sourceLocation: sourceLocation)
            #expect(py.status == (swift.ok ? 0 : 4), "\(py)", sourceLocation: sourceLocation)
            #expect(py.int("checked") == swift.checked, "swift: \(swift); python: \(py)", sourceLocation: sourceLocation)
            #expect(py.int("firstBadLine") == swift.firstBadLine, "swift: \(swift); python: \(py)", sourceLocation: sourceLocation)
            #expect(py.int("firstBadSeq") == swift.firstBadSeq.map { Int($0) }, "swift: \(swift); python: \(py)",
                    sourceLocation: sourceLocation)
            if swift.ok { #expect(py.json["signatureChecked"] as? Bool == cryptographyPresent, sourceLocation: sourceLocation) }
        }
        return (swift, py)
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = temporaryDirectory() + ".json"
        try Data(bytes + [0x0A]).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: Bundles

    @Test func goodBundlesVerifyWithBoth() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let key = try ledger.signingKey().publicKey
        for request in [Ledger.ExportRequest(operator: "m1", purpose: "test"), .init(from: .seq(5), to: .seq(20), operator: "m1", purpose: "test"), .init(ticket: "T3", operator: "m1", purpose: "test"), .init(staff: "s1", operator: "m1", purpose: "test"),
                        .init(from: .seq(10_000), operator: "m1", purpose: "test")] {
            let dir = temporaryDirectory()
            let summary = try ledger.export(to: dir, request)
            let (swift, _) = try PythonVerifierTests.verifyBoth(dir, key: key)
            #expect(swift.ok && swift.checked == summary.count, "\(request): \(swift)")
            try PythonVerifierTests.verifyBoth(dir, key: nil)
        }
    }

    @Test func damageIsNamedAtTheSameLineByBoth() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let key = try ledger.signingKey().publicKey
        func fresh() throws -> String { let d = temporaryDirectory(); _ = try ledger.export(to: d, .init(to: .seq(20), operator: "m1", purpose: "test")); return d }
        func damaged(_ change: (inout [[UInt8]]) -> Void) throws -> String {
            let dir = try fresh()
            try ExportTests.mutate(dir, change)
            return dir
        }
        // One byte changed inside line 12's event, in a value (the line stays canonical), in its hash.
        let cases: [(String, String, Int?)] = [
            ("key byte", try damaged { l in let i = l[11].firstIndex(of: UInt8(ascii: "a"))!; l[11][i] = UInt8(ascii: "b") }, 12),
            ("value byte", try damaged { l in
                let marker = Array(#""actor":""#.utf8)
                let at = l[11].firstRange(of: marker)!.upperBound
                l[11][at] = l[11][at] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
            }, 12),
            ("hash byte", try damaged { l in
                let at = l[11].firstRange(of: Array(#""hash":""#.utf8))!.upperBound
                l[11][at] = l[11][at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            }, 12),
            ("line 7 removed", try damaged { $0.remove(at: 6) }, 7),
            ("lines 3 and 4 swapped", try damaged { $0.swapAt(2, 3) }, 3),
            ("last line removed", try damaged { $0.removeLast() }, nil),  // its CSV row is left over
            ("line 5 repeated", try damaged { $0.insert($0[4], at: 5) }, 6),
            ("empty line", try damaged { $0.insert([], at: 9) }, 10),
        ]
        for (name, dir, line) in cases {
            let (swift, py) = try PythonVerifierTests.verifyBoth(dir, key: key)
            #expect(!swift.ok && swift.firstBadLine == line, "\(name): \(swift)")
            if let py { #expect(py.stderr.contains("DAMAGED"), "\(name): \(py)") }
        }

        // Files covered only by their digest in the signed manifest.
        for file in [Bundle.csvFile, Bundle.personalFile] {
            let dir = try fresh()
            let url = URL(fileURLWithPath: dir + "/" + file)
            var bytes = Array(try Data(contentsOf: url))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: url)
            let (swift, py) = try PythonVerifierTests.verifyBoth(dir, key: key)
            // A changed personal value no longer matches the CSV row rebuilt from it.
            #expect(!swift.ok && [file, Bundle.csvFile].contains { swift.problem?.contains($0) == true }, "\(swift)")
            #expect(py.map { p in [file, Bundle.csvFile].contains { p.problem?.contains($0) == true } } ?? true, "\(String(describing: py))")
        }

        // The manifest: a changed claim breaks the signature; another key is not the trusted one.
        let manifest = try fresh()
        let url = URL(fileURLWithPath: manifest + "/" + Bundle.manifestFile)
        let text = try String(contentsOf: url, encoding: .utf8)
        try text.replacingOccurrences(of: #""count":20"#, with: #""count":19"#).write(to: url, atomically: true, encoding: .utf8)
        let (m, pm) = try PythonVerifierTests.verifyBoth(manifest, key: key)
        #expect(!m.ok && m.problem?.contains("signature") == true, "\(m)")
        if let pm, PythonVerifierTests.cryptographyPresent { #expect(pm.problem?.contains("signature") == true, "\(pm)") }
        let (other, _) = try PythonVerifierTests.verifyBoth(try fresh(), key: [UInt8](repeating: 7, count: 32))
        #expect(!other.ok)
    }

    /// Escaping and numbers are where two JSON implementations part: non-ASCII (the manifest escapes
    /// it, the lines keep UTF-8), characters outside the BMP, control characters, quotes, U+2028, and
    /// hourly costs with four fraction digits (Python reads them as floats).
    @Test func unusualTextVerifiesWithBoth() throws {
        let (ledger, s0) = try ExportTests.ledgerWithHistory()
        var s = s0
        let key = try ledger.signingKey().publicKey
        let ticket = "Tü☃😀 \"q\" \\ \u{2028}é"  // an identifier: no control characters
        let text = "line\nbreak\r\u{01}\u{1F}\u{2029} ☃ 😀 \\ \" </script>"
        let costs = ["12.3456", "999999999.9999", "0.0001", "7.5"]
        var lines = costs.enumerated().map { i, cost in
            s.line("staffEnrolled", 700, actor: "system", ["staff": "x\(i)", "name": "Ünï \(i)", "role": "agent", "reportsTo": "tl1", "hourlyCost": 7777])
                .replacingOccurrences(of: "7777", with: cost)
        }
        lines += [s.open(ticket, 701, agent: "a1", customer: "c-ü"),
                  s.line("noteLogged", 702, actor: "a1", ticket: ticket, ["author": "a1", "text": text])]
        let report = try ledger.importStrings(lines)
        #expect(report.refused.isEmpty, "\(report.refused)")
        for request in [Ledger.ExportRequest(operator: "m1", purpose: "test"), .init(ticket: ticket, operator: "m1", purpose: "test"), .init(ticket: ticket, pseudonymize: true, operator: "m1", purpose: "test")] {
            let dir = temporaryDirectory()
            _ = try ledger.export(to: dir, request)
            let (swift, _) = try PythonVerifierTests.verifyBoth(dir, key: key)
            #expect(swift.ok, "\(request): \(swift)")
        }
        let events = try String(contentsOfFile: try { let d = temporaryDirectory(); _ = try ledger.export(to: d, .init(operator: "m1", purpose: "test")); return d }()
                                + "/" + Bundle.eventsFile, encoding: .utf8)
        #expect(events.contains("999999999.9999") && events.contains("12.3456") && events.contains("0.0001"))
        let proof = try #require(try PythonVerifierTests.python(["--proof", try PythonVerifierTests.write(try ledger.proofDocument(.ticket(ticket))),
                                                                 "--key", try ledger.verifierKey().text]))
        #expect(proof.status == 0 && proof.int("checked") == 2 && proof.json["kind"] as? String == "ticket", "\(proof)")
    }

    @Test func pseudonymisedBundleVerifiesWithBoth() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let dir = temporaryDirectory()
        _ = try ledger.export(to: dir, .init(pseudonymize: true, operator: "m1", purpose: "test"))
        let (swift, _) = try PythonVerifierTests.verifyBoth(dir, key: try ledger.signingKey().publicKey)
        #expect(swift.ok, "\(swift)")
        let personal = try String(contentsOfFile: dir + "/" + Bundle.personalFile, encoding: .utf8)
        #expect(personal.contains("cus_") && !personal.contains("Jane"))
    }

    @Test(.enabled(if: PythonVerifierTests.python3Present, "python3 is not installed"))
    func withoutCryptographyABundleIsNotChecked() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let key = try ledger.signingKey().publicKey.hex
        let dir = temporaryDirectory()
        _ = try ledger.export(to: dir, .init(to: .seq(20), operator: "m1", purpose: "test"))
        // A bundle is only as good as its signature: without the package nothing is said to be ok.
        let r = try #require(try PythonVerifierTests.python([dir, "--public-key", key], withoutCryptography: true))
        #expect(r.status == 1 && r.stderr.contains("cryptography"), "\(r)")
    }

    @Test(.enabled(if: PythonVerifierTests.python3Present, "python3 is not installed"))
    func usageErrorsExitOne() throws {
        let missing = temporaryDirectory()
        for args in [[String](), [missing], ["--proof", missing], ["--consistency", missing], [NSTemporaryDirectory(), "--public-key", "abc"]] {
            let r = try PythonVerifierTests.run(["python3", PythonVerifierTests.script] + args)
            #expect(r.status == 1, "\(args): \(r)")
        }
    }

    // MARK: Proof documents

    @Test(.enabled(if: PythonVerifierTests.python3Present, "python3 is not installed"))
    func proofDocumentsVerify() throws {
        let (ledger, s0) = try ExportTests.ledgerWithHistory()
        var s = s0
        let key = try ledger.verifierKey()
        let kept = try ledger.checkpoint()
        let keptPath = try PythonVerifierTests.write(Array(kept.text.utf8))
        _ = try ledger.export(to: temporaryDirectory(), .init(operator: "m1", purpose: "test"))  // the log grows past the ticket
        #expect(try ledger.importStrings([s.open("T20", 600), s.open("T21", 601)]).refused.isEmpty)
        let n = UInt64(try ledger.checkpoint().checkpoint.treeSize)
        func check(_ doc: [UInt8], old: String? = nil, key k: String = key.text) throws -> Outcome {
            try #require(try PythonVerifierTests.python(["--proof", try PythonVerifierTests.write(doc), "--key", k] + (old.map { ["--old", $0] } ?? [])))
        }
        let subjects: [Ledger.ProofSubject] = [.ticket("T2"), .seq(1), .seq(n), .seq(n / 2), .range(from: 1, to: n), .range(from: 3, to: 7),
                                               .consistency(oldSize: UInt64(kept.checkpoint.treeSize)), .consistency(oldSize: n)]
        for subject in subjects {
            let doc = try ledger.proofDocument(subject)
            let old = subject == .consistency(oldSize: UInt64(kept.checkpoint.treeSize)) ? keptPath : nil
            let r = try check(doc, old: old)
            #expect(r.status == 0 && r.ok == true, "\(subject): \(r.description)")
            #expect(ProofDocument.verify(doc, key: key, kept: old.map { _ in kept.text }).ok)
            let canonical = try PythonVerifierTests.run(["python3", "-c",
                "import json, sys; d = open(sys.argv[1], 'rb').read().rstrip(b'\\n'); "
                + "sys.exit(0 if json.dumps(json.loads(d), sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode() == d else 3)",
                try PythonVerifierTests.write(doc)])
            #expect(canonical.status == 0, "\(subject) is canonical: \(canonical)")
        }
        #expect(try check(try ledger.proofDocument(.ticket("T2"))).int("checked") == 5)

        // Tampering: both verifiers refuse each changed document.
        func tampered(_ subject: Ledger.ProofSubject, _ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var doc = try #require(try JSONSerialization.jsonObject(with: Data(try ledger.proofDocument(subject))) as? [String: Any])
            change(&doc)
            return Array(try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes]))
        }
        func flip(_ hex: String) -> String { (hex.first == "0" ? "1" : "0") + hex.dropFirst() }
        let bad: [(String, [UInt8])] = [
            ("a changed node", try tampered(.ticket("T2")) { d in var a = d["nodes"] as! [String]; a[0] = flip(a[0]); d["nodes"] = a }),
            ("a dropped record", try tampered(.ticket("T2")) { d in var a = d["records"] as! [String]; a.remove(at: 1); d["records"] = a }),
            ("a dropped range record", try tampered(.range(from: 3, to: 7)) { d in var a = d["records"] as! [String]; a.removeLast(); d["records"] = a }),
            ("a changed path", try tampered(.seq(3)) { d in var a = d["path"] as! [String]; a[0] = flip(a[0]); d["path"] = a }),
            ("another seq", try tampered(.seq(3)) { d in d["seq"] = 4; d["leafIndex"] = 3 }),
            ("a changed checkpoint", try tampered(.seq(3)) { d in d["checkpoint"] = (d["checkpoint"] as! String).replacingOccurrences(of: "\n\(n)\n", with: "\n\(n + 1)\n") }),
            ("a changed consistency proof", try tampered(.consistency(oldSize: 2)) { d in var a = d["proof"] as! [String]; a[0] = flip(a[0]); d["proof"] = a }),
            ("another old root", try tampered(.consistency(oldSize: 2)) { d in d["oldRoot"] = flip(d["oldRoot"] as! String) }),
        ]
        for (what, doc) in bad {
            let r = try check(doc)
            #expect(r.status == 4 && r.ok == false, "Python, \(what): \(r)")
            #expect(!ProofDocument.verify(doc, key: key).ok, "Swift, \(what)")
        }
        // Another key, and a kept checkpoint the proof does not start from.
        let other = SignedNote.verifierKey(name: key.name, publicKey: [UInt8](repeating: 7, count: 32))
        #expect(try check(try ledger.proofDocument(.seq(1)), key: other).status == 4)
        let wrongOld = try check(try ledger.proofDocument(.consistency(oldSize: 2)), old: keptPath)
        #expect(wrongOld.status == 4 && wrongOld.problem?.contains("size") == true, "\(wrongOld)")
    }

    /// The Python RFC 9162 verifiers accept every inclusion and consistency proof the Swift generator
    /// makes for trees of 1 to 40 leaves, and refuse each proof with one hash changed or dropped.
    @Test(.enabled(if: PythonVerifierTests.python3Present, "python3 is not installed"))
    func pythonMerkleVerificationMatchesTheSwiftProofsForSmallTrees() throws {
        let leaves = (0..<40).map { MerkleTree.leafHash([UInt8($0)]) }
        var w = JSONWriter()
        w.beginObject()
        w.key("leaves"); w.beginArray(); for l in leaves { w.string(l.hex) }; w.endArray()
        w.key("roots"); w.beginArray(); for n in 0...leaves.count { w.string(MerkleTree.root(leafHashes: leaves.prefix(n)).hex) }; w.endArray()
        w.key("inclusion"); w.beginArray()
        for n in 1...leaves.count {
            for i in 0..<n {
                let p = try MerkleTree.inclusionProof(leafIndex: i, treeSize: n, leafHash: { leaves[$0] })
                w.beginArray(); w.int(i); w.int(n); for h in p { w.string(h.hex) }; w.endArray()
            }
        }
        w.endArray()
        w.key("consistency"); w.beginArray()
        for n in 1...leaves.count {
            for m in 1...n {
                let p = try MerkleTree.consistencyProof(oldSize: m, newSize: n, leafHash: { leaves[$0] })
                w.beginArray(); w.int(m); w.int(n); for h in p { w.string(h.hex) }; w.endArray()
            }
        }
        w.endArray()
        w.endObject()
        let data = try PythonVerifierTests.write(w.bytes)
        let program = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import verify_bundle as v
        d = json.load(open(sys.argv[2]))
        leaves = [bytes.fromhex(h) for h in d["leaves"]]
        roots = [bytes.fromhex(h) for h in d["roots"]]
        wrong, n_inc, n_con = [], 0, 0
        assert v.MerkleRoot().root() == roots[0]
        acc = v.MerkleRoot()
        for n, leaf in enumerate(leaves, start=1):
            acc.append(leaf)
            if acc.root() != roots[n]: wrong.append(("root", n))
        for i, n, *path in d["inclusion"]:
            path = [bytes.fromhex(h) for h in path]
            if v.root_from_inclusion_path(i, n, leaves[i], path) != roots[n]: wrong.append(("inclusion", i, n))
            for k in range(len(path)):
                bad = list(path); bad[k] = b"\\x00" * 32
                if v.root_from_inclusion_path(i, n, leaves[i], bad) == roots[n]: wrong.append(("changed", i, n, k))
            if path and v.root_from_inclusion_path(i, n, leaves[i], path[:-1]) == roots[n]: wrong.append(("short", i, n))
            if v.root_from_inclusion_path(i, n, leaves[i], path + [leaves[0]]) == roots[n]: wrong.append(("long", i, n))
            if n > 1 and v.root_from_inclusion_path((i + 1) % n, n, leaves[i], path) == roots[n]: wrong.append(("index", i, n))
            n_inc += 1
        for m, n, *proof in d["consistency"]:
            proof = [bytes.fromhex(h) for h in proof]
            if v.consistency_holds(m, n, roots[m], roots[n], proof) is not None: wrong.append(("consistency", m, n))
            for k in range(len(proof)):
                bad = list(proof); bad[k] = b"\\x00" * 32
                if v.consistency_holds(m, n, roots[m], roots[n], bad) is None: wrong.append(("changed", m, n, k))
            if proof and v.consistency_holds(m, n, roots[m], roots[n], proof[:-1]) is None: wrong.append(("short", m, n))
            if m > 1 and v.consistency_holds(m - 1, n, roots[m - 1], roots[n], proof) is None: wrong.append(("size", m, n))
            if v.consistency_holds(m, n, roots[m], b"\\x00" * 32, proof) is None: wrong.append(("newroot", m, n))
            n_con += 1
        print(json.dumps({"inclusion": n_inc, "consistency": n_con, "wrong": wrong[:10]}))
        """
        let r = try PythonVerifierTests.run(["python3", "-c", program, PythonVerifierTests.packageRoot.appendingPathComponent("tools").path, data])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
        #expect(summary["inclusion"] as? Int == 40 * 41 / 2 && summary["consistency"] as? Int == 40 * 41 / 2)
        #expect((summary["wrong"] as? [Any])?.isEmpty == true, "\(summary)")
    }
}
