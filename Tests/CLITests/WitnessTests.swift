import Foundation
import Testing

@Suite("ledger witness")
struct WitnessCLITests {
    func save(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let path = dir.url.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a witness cosigns consistent checkpoints and refuses a split view (a rewritten log shown to one reader) and a rollback")
    func splitViewIsDetected() throws {
        let dir = try TemporaryDirectory()
        let l1 = dir.ledger, l2 = dir.url.appendingPathComponent("rewritten.ledger").path
        let state = dir.url.appendingPathComponent("auditor.witness").path
        #expect(try CLI.run(["--ledger", l1, "init", "--origin", "example.com/esc"]).status == 0)
        #expect(try CLI.run(["--ledger", l1, "import", try dir.file("org.jsonl", Fixture.organisation)]).status == 0)
        // The operator keeps a copy (same key, same origin) and will show it, rewritten, to someone.
        try FileManager.default.copyItem(atPath: l1, toPath: l2)
        let logKey = try CLI.run(["--ledger", l1, "key"]).stdout.trimmingCharacters(in: .newlines)

        let w = try CLI.run(["witness", "init", "--state", state, "--name", "auditor.example.com/w1"])
        #expect(w.status == 0, "\(w.stderr)")
        let witnessKey = w.stdout.trimmingCharacters(in: .newlines)
        #expect(witnessKey.hasPrefix("auditor.example.com/w1+") && Data(base64Encoded: String(witnessKey.split(separator: "+", maxSplits: 2)[2]))?.first == 0x04)
        #expect(try CLI.run(["witness", "key", "--state", state]).stdout.trimmingCharacters(in: .newlines) == witnessKey)

        // First sight: taken on trust.
        let cp0 = try save(dir, "cp0.txt", try CLI.run(["--ledger", l1, "checkpoint"]).stdout)
        let first = try CLI.run(["witness", "cosign", "--state", state, "--log-key", logKey, cp0])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("\u{2014} auditor.example.com/w1 ") }.count == 1)

        // The real log grows; the witness cosigns it with a consistency proof from what it saw.
        #expect(try CLI.run(["--ledger", l1, "import", try dir.file("opened.jsonl", Fixture.opened)]).status == 0)
        let n0 = Fixture.organisation.count
        let next = try save(dir, "next.json", try CLI.run(["--ledger", l1, "prove", "--consistency", String(n0)]).stdout)
        let second = try CLI.run(["witness", "cosign", "--state", state, next])
        #expect(second.status == 0, "\(second.stderr)")
        let cosigned = try save(dir, "cosigned.txt", second.stdout)
        let checked = try CLI.run(["witness", "verify", "--witness-key", witnessKey, "--log-key", logKey, cosigned])
        #expect(checked.status == 0 && checked.stdout.hasPrefix("ok: "), "\(checked.stdout) \(checked.stderr)")
        if let why = GoChecker.unavailable {
            print("skipping the Go cosignature check: \(why)")
        } else {
            // The Go checker reads the same note: x/mod's note.Open for the ledger's signature, then cosignature/v1 by hand.
            #expect(try GoChecker.run(["-key", logKey, "-witness", witnessKey, "cosigned", cosigned]) == 0)
            #expect(try GoChecker.run(["-key", logKey, "-witness", witnessKey, "cosigned", cp0]) == 4, "no cosignature")
        }

        // The rewritten copy: same size, another history. Its checkpoint is signed by the ledger's key,
        // but the witness refuses it.
        var rewritten = Fixture.opened
        rewritten[0] = rewritten[0].replacingOccurrences(of: "double charge", with: "nothing to see")
        #expect(try CLI.run(["--ledger", l2, "import", try dir.file("rewritten.jsonl", rewritten)]).status == 0)
        let forged = try save(dir, "forged.txt", try CLI.run(["--ledger", l2, "checkpoint"]).stdout)
        let splitView = try CLI.run(["witness", "cosign", "--state", state, forged])
        #expect(splitView.status == 4 && splitView.stderr.contains("split view"), "\(splitView.stderr)")
        // Grown further and proved from the size the witness saw: still refused.
        #expect(try CLI.run(["--ledger", l2, "import", try dir.file("more.jsonl", Fixture.transferAndCallback)]).status == 0)
        let n1 = n0 + Fixture.opened.count
        let forgedProof = try save(dir, "forged.json", try CLI.run(["--ledger", l2, "prove", "--consistency", String(n1)]).stdout)
        let refused = try CLI.run(["witness", "cosign", "--state", state, forgedProof])
        #expect(refused.status == 4 && refused.stderr.contains("not consistent"), "\(refused.stderr)")
        // A proof from another size cannot be checked (exit 1); an older checkpoint is a rollback (exit 4).
        #expect(try CLI.run(["witness", "cosign", "--state", state, try save(dir, "old.json", try CLI.run(["--ledger", l2, "prove", "--consistency", "2"]).stdout)]).status == 1)
        #expect(try CLI.run(["witness", "cosign", "--state", state, cp0]).status == 4)
        // The witness still stands by the real log, and a changed cosigned note does not verify.
        let state1 = try String(contentsOfFile: state, encoding: .utf8)
        #expect(state1.contains("\"treeSize\":\(n1)"))
        let edited = try save(dir, "edited.txt", try String(contentsOfFile: cosigned, encoding: .utf8).replacingOccurrences(of: "\n\(n1)\n", with: "\n\(n1 + 1)\n"))
        #expect(try CLI.run(["witness", "verify", "--witness-key", witnessKey, "--log-key", logKey, edited]).status == 4)
        if GoChecker.unavailable == nil {
            #expect(try GoChecker.run(["-key", logKey, "-witness", witnessKey, "cosigned", edited]) == 4)
        }
        #expect(try CLI.run(["witness", "cosign", "--state", dir.url.appendingPathComponent("none").path, cp0]).status == 5)
        for sub in ["init", "key", "cosign", "verify"] {
            #expect(try CLI.run(["witness", sub, "--help"]).status == 0)
        }
    }

    @Test("a witness cosigns a bundle's checkpoint in place; verify --bundle --witness-key then accepts it, and refuses it uncosigned")
    func bundleCheckpointCosigned() throws {
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("good.jsonl", Fixture.good)]).status == 0)
        let vkey = try save(dir, "ledger.vkey", try CLI.run(["--ledger", dir.ledger, "key"]).stdout)
        let bundle = dir.url.appendingPathComponent("bundle").path
        #expect(try CLI.run(["--ledger", dir.ledger, "export", "--out", bundle, "--operator", "dir-1", "--purpose", "audit"]).status == 0)
        let state = dir.url.appendingPathComponent("w.state").path
        let wkey = try save(dir, "w.vkey", try CLI.run(["witness", "init", "--state", state, "--name", "auditor.example"]).stdout)
        let check = ["verify", "--bundle", bundle, "--public-key", vkey, "--witness-key", wkey, "--json"]
        let uncosigned = try CLI.run(check)
        #expect(uncosigned.status == 4 && uncosigned.stdout.contains("no valid cosignature"), "\(uncosigned.stdout)")
        // --log-key takes the verifier key as text or, as here, the file holding it.
        let cosign = try CLI.run(["witness", "cosign", "--state", state, "--log-key", vkey, bundle + "/checkpoint"])
        #expect(cosign.status == 0, "\(cosign.stderr)")
        try cosign.stdout.write(toFile: bundle + "/checkpoint", atomically: true, encoding: .utf8)
        let cosigned = try CLI.run(check)
        #expect(cosigned.status == 0, "\(cosigned.stdout)")
    }
}
