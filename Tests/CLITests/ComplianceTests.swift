import Foundation
import Testing

@Suite("ledger export, checkpoint, prove, verify --bundle")
struct ComplianceCLITests {
    /// A ledger with the fixture's good lines.
    func ledger() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let file = try dir.file("good.jsonl", Fixture.good)
        #expect(try CLI.run(["--ledger", dir.ledger, "import", file]).status == 0)
        return dir
    }

    @Test("export writes a bundle that verify --bundle accepts; a changed line exits 4 naming it; the export is recorded")
    func exportAndVerifyBundle() throws {
        let dir = try ledger()
        let out = dir.url.appendingPathComponent("bundle").path
        let before = try JSONCheck.object(try CLI.run(["--ledger", dir.ledger, "stats", "--json"]).json())["events"] as? Int
        let export = try CLI.run(["--ledger", dir.ledger, "export", "--out", out, "--operator", "dir-1", "--purpose", "audit", "--json"])
        #expect(export.status == 0, "stderr: \(export.stderr)")
        let summary = try JSONCheck.object(try export.json())
        #expect(summary["count"] as? Int == before)
        let after = try JSONCheck.object(try CLI.run(["--ledger", dir.ledger, "stats", "--json"]).json())["events"] as? Int
        #expect(after == (before ?? 0) + 2, "personalDataRevealed (the export shows a customer in clear), then exportMade")
        for name in ["events.jsonl", "events.csv", "personal.jsonl", "manifest.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name))
        }
        let untrusted = try CLI.run(["verify", "--bundle", out, "--json"])
        let untrustedJSON = try JSONCheck.object(try untrusted.json())
        #expect(untrusted.status == 4 && (untrustedJSON["problem"] as? String)?.contains("no trusted key") == true)
        let ok = try CLI.run(["--ledger", dir.ledger, "verify", "--bundle", out, "--json"])
        #expect(ok.status == 0)
        let okJSON = try JSONCheck.object(try ok.json())
        #expect(okJSON["ok"] as? Bool == true)
        #expect(okJSON["checked"] as? Int == before)
        // Change one byte of line 3.
        let events = URL(fileURLWithPath: out + "/events.jsonl")
        var lines = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\"version\":", with: "\"version\" :")
        try (lines.joined(separator: "\n") + "\n").write(to: events, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["--ledger", dir.ledger, "verify", "--bundle", out, "--json"])
        #expect(bad.status == 4)
        #expect(try JSONCheck.object(try bad.json())["firstBadLine"] as? Int == 3)
        // A second export into a non-empty directory is refused.
        #expect(try CLI.run(["--ledger", dir.ledger, "export", "--out", out, "--operator", "dir-1", "--purpose", "audit"]).status == 1)
    }

    /// `verify --bundle` checks lines on their own on two threads, 4,096 lines a chunk: a bundle
    /// of several chunks verifies, and a changed line is named exactly, wherever it falls (the
    /// first chunk's second half, a later chunk), with the first of two changed lines named.
    @Test("verify --bundle across chunks and threads: a sound bundle of ~5,000 events verifies; the first changed line is the one named")
    func bundleVerificationAcrossChunks() throws {
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "demo", "--calls", "1200"]).status == 0)
        let out = dir.url.appendingPathComponent("bundle").path
        #expect(try CLI.run(["--ledger", dir.ledger, "export", "--out", out, "--operator", "system", "--purpose", "test", "--pseudonymize"]).status != 0)
        let export = try CLI.run(["--ledger", dir.ledger, "export", "--out", out, "--operator", "mgr-001", "--purpose", "test", "--pseudonymize"])
        #expect(export.status == 0, "\(export.stderr)")
        let events = out + "/events.jsonl"
        let original = try String(contentsOfFile: events, encoding: .utf8)
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count > 4_500, "\(lines.count) lines: the test needs more than one chunk")
        func verdict() throws -> [String: Any] {
            let r = try CLI.run(["verify", "--bundle", out, "--ledger", dir.ledger, "--json"])
            return try JSONCheck.object(try r.json())
        }
        #expect(try verdict()["ok"] as? Bool == true)
        func damaged(_ numbers: [Int]) throws -> Int? {
            var copy = lines
            for n in numbers { copy[n - 1] = copy[n - 1].replacingOccurrences(of: "\"version\":", with: "\"version\": ") }
            try copy.joined(separator: "\n").write(toFile: events, atomically: true, encoding: .utf8)
            defer { try? original.write(toFile: events, atomically: true, encoding: .utf8) }
            let v = try verdict()
            #expect(v["ok"] as? Bool == false)
            return v["firstBadLine"] as? Int
        }
        #expect(try damaged([3_000]) == 3_000)         // the first chunk, the second thread's half
        #expect(try damaged([4_500]) == 4_500)         // the second chunk
        #expect(try damaged([4_200, 1_500]) == 1_500)  // two: the first is named
        #expect(try damaged([4_097, 4_096]) == 4_096)  // either side of the chunks' boundary
        lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(try verdict()["ok"] as? Bool == true)
    }

    /// Foundation's path methods trap on a one-character relative path on Linux (found by an
    /// export to `--out B`, which died with SIGILL): short names work like any other.
    @Test("export --out B and init --signing-key k (one-character relative names) work")
    func oneCharacterRelativePaths() throws {
        let dir = try ledger()
        let export = try CLI.run(["--ledger", dir.ledger, "export", "--out", "B", "--operator", "dir-1", "--purpose", "audit"], in: dir.url)
        #expect(export.status == 0, "stderr: \(export.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("B/manifest.json").path))
        #expect(try CLI.run(["verify", "--bundle", "B", "--ledger", dir.ledger], in: dir.url).status == 0)
        let made = try CLI.run(["--ledger", "L", "init", "--signing-key", "k"], in: dir.url)
        #expect(made.status == 0, "stderr: \(made.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("k").path))
    }

    @Test("checkpoint is a signed note; prove --ticket and --consistency print proofs the Python verifier accepts")
    func checkpointAndProofs() throws {
        let dir = try ledger()
        let cp = try CLI.run(["--ledger", dir.ledger, "checkpoint"])
        #expect(cp.status == 0)
        let lines = cp.stdout.components(separatedBy: "\n")
        #expect(lines.count == 6 && Int(lines[1]) == Fixture.good.count && lines[3].isEmpty && lines[4].hasPrefix("\u{2014} " + lines[0] + " "), "\(lines)")
        let key = try CLI.run(["--ledger", dir.ledger, "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let oldPath = dir.url.appendingPathComponent("old.txt").path
        try cp.stdout.write(toFile: oldPath, atomically: true, encoding: .utf8)
        // The log grows (an export is recorded), then prove.
        _ = try CLI.run(["--ledger", dir.ledger, "export", "--out", dir.url.appendingPathComponent("b").path, "--operator", "dir-1", "--purpose", "audit"])
        let proof = try CLI.run(["--ledger", dir.ledger, "prove", "--ticket", "T-1"])
        #expect(proof.status == 0, "stderr: \(proof.stderr)")
        #expect(!(try JSONCheck.array(try JSONCheck.object(try proof.json())["records"])).isEmpty)
        let consistency = try CLI.run(["--ledger", dir.ledger, "prove", "--consistency", lines[1]])
        #expect(consistency.status == 0)
        let proofPath = try dir.file("proof.json", [proof.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        let consistencyPath = try dir.file("consistency.json", [consistency.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        let script = CLI.packageRoot.appendingPathComponent("tools/verify_bundle.py").path
        #expect(try python([script, "--proof", proofPath, "--key", key]) == 0)
        #expect(try python([script, "--consistency", consistencyPath, "--old", oldPath, "--key", key]) == 0)
        #expect(try CLI.run(["--ledger", dir.ledger, "prove"]).status == 1, "prove needs --seq, --range, --ticket or --consistency")
    }

    func python(_ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
