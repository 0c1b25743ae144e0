import Foundation
import Testing

/// Runs the by-hand scripts of docs/VERIFY.md ("By hand: a checkpoint and proofs"), exactly as
/// written there, on real output of the ledger and on tampered copies.
@Suite("docs/VERIFY.md scripts")
struct VerifyDocTests {
    /// The fenced blocks of the section, in order.
    static func scripts(from heading: String = "## By hand: a checkpoint and proofs", to next: String = "## What each check proves") throws -> [String] {
        let doc = try String(contentsOf: CLI.packageRoot.appendingPathComponent("docs/VERIFY.md"), encoding: .utf8)
        let start = try #require(doc.range(of: heading))
        let end = try #require(doc.range(of: next))
        let section = doc[start.upperBound..<end.lowerBound]
        return section.components(separatedBy: "```\n").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    }

    static func sh(_ script: String, in dir: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("the checkpoint, proof and consistency scripts accept real documents and refuse tampered ones")
    func byHandScripts() throws {
        let scripts = try VerifyDocTests.scripts()
        try #require(scripts.count == 3, "three scripts: signature, proof, consistency")
        let (signature, proof, consistency) = (scripts[0], scripts[1], scripts[2])
        let dir = try TemporaryDirectory()
        func ledger(_ args: [String]) throws -> String {
            let r = try CLI.run(["--ledger", dir.ledger] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            return r.stdout
        }
        _ = try ledger(["import", try dir.file("good.jsonl", Fixture.good)])
        func put(_ name: String, _ text: String) throws { try text.write(to: dir.url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try put("ledger.vkey", try ledger(["key"]))
        let kept = try ledger(["checkpoint"])
        try put("kept-checkpoint.txt", kept)
        _ = try ledger(["export", "--out", dir.url.appendingPathComponent("b").path, "--operator", "dir-1", "--purpose", "audit"])

        try put("checkpoint.txt", kept)
        #expect(try VerifyDocTests.sh(signature, in: dir.url).contains("Signature Verified Successfully"))
        let lines = kept.components(separatedBy: "\n")
        try put("checkpoint.txt", ([lines[0], String(Int(lines[1])! - 1)] + lines.dropFirst(2)).joined(separator: "\n"))
        #expect(try VerifyDocTests.sh(signature, in: dir.url).contains("Signature Verification Failure"))

        let n = Fixture.good.count + 2  // the clear export appended personalDataRevealed and exportMade
        for args in [["--seq", "1"], ["--seq", String(n)], ["--range", "2..6"], ["--ticket", "T-1"]] {
            let doc = try ledger(["prove"] + args)
            try put("proof.json", doc)
            let ok = try VerifyDocTests.sh(proof, in: dir.url)
            #expect(ok.contains(" PROVED against the tree of \(n)"), "\(args): \(ok)")
            var obj = try #require(try JSONSerialization.jsonObject(with: Data(doc.utf8)) as? [String: Any])
            if var records = obj["records"] as? [String] { records.removeLast(); obj["records"] = records } else {
                obj["seq"] = 2
            }
            try put("proof.json", String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self))
            #expect(try VerifyDocTests.sh(proof, in: dir.url).contains("NOT PROVED"), "tampered \(args)")
        }

        try put("consistency.json", try ledger(["prove", "--consistency", lines[1]]))
        #expect(try VerifyDocTests.sh(consistency, in: dir.url).contains("consistent"))
        try put("consistency.json", try ledger(["prove", "--consistency", String(Int(lines[1])! - 1)]))
        #expect(try VerifyDocTests.sh(consistency, in: dir.url).contains("NOT PROVED"), "a proof from another size")
    }

    @Test("the bundle scripts accept a real bundle and refuse tampered copies")
    func bundleScripts() throws {
        let scripts = try VerifyDocTests.scripts(from: "## By hand: a bundle", to: "## By hand: a checkpoint and proofs")
        try #require(scripts.count == 3, "three scripts: manifest signature, files, events")
        let (signature, files, events) = (scripts[0], scripts[1], scripts[2])
        let dir = try TemporaryDirectory()
        func ledger(_ args: [String]) throws -> String {
            let r = try CLI.run(["--ledger", dir.ledger] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            return r.stdout
        }
        _ = try ledger(["import", try dir.file("good.jsonl", Fixture.good)])
        let vkey = try ledger(["key"])
        for (name, filter) in [("all", [String]()), ("mid", ["--from", "3", "--to", "7"]), ("ticket", ["--ticket", "T-1"])] {
            let out = dir.url.appendingPathComponent(name)
            _ = try ledger(["export", "--out", out.path, "--operator", "dir-1", "--purpose", "audit"] + filter)
            try vkey.write(to: out.appendingPathComponent("ledger.vkey"), atomically: true, encoding: .utf8)
            #expect(try VerifyDocTests.sh(signature, in: out).contains("Signature Verified Successfully"), "\(name)")
            #expect(try VerifyDocTests.sh(files, in: out).contains("FILES OK"), "\(name)")
            #expect(try VerifyDocTests.sh(events, in: out).contains("EVENTS OK"), "\(name)")
        }
        // Tampered: two lines swapped; a file added; the manifest's count changed.
        let all = dir.url.appendingPathComponent("all")
        let url = all.appendingPathComponent("events.jsonl")
        let original = try Data(contentsOf: url)
        var lines = original.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Data($0) }
        lines.swapAt(1, 2)
        try Data(lines.map { $0 + [0x0A] }.joined()).write(to: url)
        let swapped = try VerifyDocTests.sh(events, in: all)
        #expect(swapped.contains("line 2") && !swapped.contains("EVENTS OK"), "\(swapped)")
        #expect(try VerifyDocTests.sh(files, in: all).contains("FILES DAMAGED"))
        try original.write(to: url)
        try "x".write(to: all.appendingPathComponent("extra.txt"), atomically: true, encoding: .utf8)
        #expect(try VerifyDocTests.sh(files, in: all).contains("FILES DAMAGED"))
        try FileManager.default.removeItem(at: all.appendingPathComponent("extra.txt"))
        let manifest = all.appendingPathComponent("manifest.json")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"count\":", with: "\"count\":1").write(to: manifest, atomically: true, encoding: .utf8)
        #expect(try VerifyDocTests.sh(signature, in: all).contains("Signature Verification Failure"))
    }
}
