import Compliance
import EscalationDomain
import Foundation
import Testing
@testable import Ledger

/// Issue 12's resource exhaustion: what a full disk (here a file-size limit, which makes the
/// log's writes fail as a full disk does) leaves queries able to do.
@Suite struct ResourceTests {
    @Test func queriesAnswerFromTheLogWhenTheProjectionsCannotBeWritten() throws {
        let dir = temporaryDirectory()
        var s = Script()
        // The events are appended in-process: the stored projections lag behind the log.
        do {
            let ledger = try Ledger.open(at: dir)
            var lines = s.organisation()
            for t in 0..<400 { lines += [s.open("B\(t)", Double(t)), s.line("noteLogged", Double(t) + 0.5, actor: "a1", ticket: "B\(t)", ["author": "a1", "text": "n"])] }
            lines += ProjectionTests.scenario(&s).filter { !$0.contains("staffEnrolled") }
            #expect(try ledger.importStrings(lines).refused.isEmpty)
            #expect(try ledger.projector.checkpoint() < (try ledger.log.head().seq))
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/log/data.mdb")[.size] as? Int)
        let limited = #"trap '' XFSZ; ulimit -f \#(size / 1024); exec "$LEDGER" --ledger "$1" "$2" --json --now 2026-06-01T00:00:00Z"#
        for query in ["findings", "scorecard"] {
            let starved = try LedgerBinary.run([dir, query], shell: limited)
            #expect(starved.status == 0, "\(query) under a file-size limit: \(starved.stderr)")
            // Once space is back the projections catch up and give the very same answer.
            let free = try LedgerBinary.run([dir, query], shell: #"exec "$LEDGER" --ledger "$1" "$2" --json --now 2026-06-01T00:00:00Z"#)
            #expect(free.status == 0 && free.stdout == starved.stdout && free.stdout.count > 10, "\(query)")
        }
        #expect(try LedgerBinary.run([dir], shell: #"exec "$LEDGER" --ledger "$1" verify"#).status == 0)
    }
}

@Suite struct StalePartialExportTests {
    @Test func aKilledExportsLeftoversAreRemovedByTheNextExportAndALiveOnesAreNot() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let parent = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        // A process that died mid-export, and one that is still writing (this test's own pid).
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run(); dead.waitUntilExit()
        for (name, pid) in [("old", dead.processIdentifier), ("busy", getpid())] {
            try FileManager.default.createDirectory(atPath: parent + "/\(name).partial", withIntermediateDirectories: true)
            try Data("personal".utf8).write(to: URL(fileURLWithPath: parent + "/\(name).partial/personal.jsonl"))
            try Data("\(pid)\n".utf8).write(to: URL(fileURLWithPath: parent + "/\(name).partial.writer"))
        }
        let summary = try ledger.export(to: parent + "/new", .init(to: .seq(10), operator: "m1", purpose: "test"))
        #expect(summary.staleRemoved == [parent + "/old.partial"])
        let left = try FileManager.default.contentsOfDirectory(atPath: parent).sorted()
        #expect(left == ["busy.partial", "busy.partial.writer", "new"], "\(left)")
        #expect(BundleVerifier.verify(directory: parent + "/new", trustedPublicKey: try ledger.signingKey().publicKey).ok)
    }

    @Test func aFailedExportLeavesNothingBehind() throws {
        let (ledger, _) = try ExportTests.ledgerWithHistory()
        let parent = temporaryDirectory()
        // An operator who may not export in clear: refused before any file; a purpose missing: the same.
        #expect(throws: (any Error).self) { try ledger.export(to: parent + "/a", .init(operator: "a1", purpose: "x")) }
        #expect(throws: (any Error).self) { try ledger.export(to: parent + "/b", .init(operator: "m1", purpose: " ")) }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        #expect(left.filter { $0.contains("partial") }.isEmpty, "\(left)")
    }
}

/// A real full disk: a small tmpfs (mounting needs root; elsewhere the test says it is skipped).
@Suite struct FullDiskTests {
    static func sh(_ script: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func aFullDiskGivesAClearErrorLeavesNothingAndTheSameCommandResumes() throws {
        let mount = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard getuid() == 0, FullDiskTests.sh("mount -t tmpfs -o size=1m tmpfs '\(mount)'") == 0 else {
            print("skipping the full-disk test: mounting a tmpfs needs root (the file-size-limit tests still run)")
            return
        }
        defer { _ = FullDiskTests.sh("umount '\(mount)'") }
        let fill = mount + "/fill"
        // Nearly full: creating a ledger fails, clearly, and leaves nothing.
        #expect(FullDiskTests.sh("dd if=/dev/zero of='\(fill)' bs=1k count=1010") == 0)
        let created = try LedgerBinary.run([mount + "/l"], shell: #"exec "$LEDGER" --ledger "$1" init"#)
        #expect(created.status == 1 && created.stderr.contains("the disk is full"), "\(created.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mount + "/l"))
        // Whatever little room is left, creating a ledger ends in success or a clear error, never a
        // signal (the red team saw SIGBUS in liblmdb), and a failure leaves nothing.
        for kib in stride(from: 1_010, through: 880, by: -10) {
            try? FileManager.default.removeItem(atPath: fill)
            #expect(FullDiskTests.sh("dd if=/dev/zero of='\(fill)' bs=1k count=\(kib)") == 0)
            let r = try LedgerBinary.run([mount + "/l\(kib)"], shell: #"exec "$LEDGER" --ledger "$1" init"#)
            #expect(r.status == 0 || (r.status == 1 && (r.stderr.contains("disk is full") || r.stderr.contains("full disk"))), "\(kib) KiB filled: exit \(r.status) \(r.stderr)")
            if r.status != 0 { #expect(!FileManager.default.fileExists(atPath: mount + "/l\(kib)")) }
            try? FileManager.default.removeItem(atPath: mount + "/l\(kib)")
        }
        // Room for the ledger but not for the import: the import fails clearly; the ledger verifies.
        try FileManager.default.removeItem(atPath: fill)
        #expect(try LedgerBinary.run([mount + "/l"], shell: #"exec "$LEDGER" --ledger "$1" init"#).status == 0)
        var s = Script()
        var lines = s.organisation()
        for t in 0..<3_000 { lines += [s.open("T\(t)", Double(t)), s.line("noteLogged", Double(t) + 0.5, actor: "a1", ticket: "T\(t)", ["author": "a1", "text": String(repeating: "n", count: 200)])] }
        let file = temporaryDirectory() + ".jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let starved = try LedgerBinary.run([mount + "/l", file], shell: #"exec "$LEDGER" --ledger "$1" import "$2""#)
        #expect(starved.status == 1 && (starved.stderr.contains("disk is full") || starved.stderr.contains("full disk")), "\(starved.stderr)")
        #expect(try LedgerBinary.run([mount + "/l"], shell: #"exec "$LEDGER" --ledger "$1" verify"#).status == 0)
        // Space is back (a bigger disk): the same command finishes the job.
        #expect(FullDiskTests.sh("mount -o remount,size=64m '\(mount)'") == 0)
        let resumed = try LedgerBinary.run([mount + "/l", file], shell: #"exec "$LEDGER" --ledger "$1" import "$2" --json"#)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect((report["appended"] as? Int ?? 0) + (report["duplicates"] as? Int ?? 0) == lines.count)
        #expect(try LedgerBinary.run([mount + "/l"], shell: #"exec "$LEDGER" --ledger "$1" verify --deep"#).status == 0)
        // The disk full again: replay and export end in success or a clear error, never a signal,
        // and leave nothing half written.
        _ = FullDiskTests.sh("dd if=/dev/zero of='\(mount)/fill2' bs=64k")
        let full = { (s: String) in s.contains("disk is full") || s.contains("full disk") || s.contains("No space left") }
        let replay = try LedgerBinary.run([mount + "/l"], shell: #""$LEDGER" --ledger "$1" replay; exit $?"#)
        #expect(replay.status == 0 || (replay.status == 1 && full(replay.stderr)), "replay: exit \(replay.status) \(replay.stderr)")
        let export = try LedgerBinary.run([mount + "/l", mount + "/bundle"],
                                          shell: #""$LEDGER" --ledger "$1" export --out "$2" --operator m1 --purpose audit; exit $?"#)
        #expect(export.status == 1 && full(export.stderr), "export: exit \(export.status) \(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mount + "/bundle") && !FileManager.default.fileExists(atPath: mount + "/bundle.partial"))
        #expect(try LedgerBinary.run([mount + "/l"], shell: #"exec "$LEDGER" --ledger "$1" verify"#).status == 0)
    }
}

/// A file-size limit (`ulimit -f`) during create, replay and export (import: PrivacyFailureTests):
/// a clear error, never a signal (SIGXFSZ is ignored as a shell would have it, so writes fail with
/// EFBIG), nothing left half written, and the same command works once the limit is lifted.
@Suite struct FileSizeLimitTests {
    @Test func createReplayAndExportUnderAFileSizeLimit() throws {
        let tooBig = { (s: String) in s.contains("ulimit -f") || s.contains("File too large") || s.contains("file-size limit") }
        // Create: a 64 KiB limit is less than a ledger's first file.
        let fresh = temporaryDirectory()
        let created = try LedgerBinary.run([fresh], shell: #"trap '' XFSZ; ulimit -f 64; "$LEDGER" --ledger "$1" init; exit $?"#)
        #expect(created.status == 1 && tooBig(created.stderr), "init: exit \(created.status) \(created.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fresh + "/log/data.mdb"))
        #expect(try LedgerBinary.run(["--ledger", fresh, "init"]).status == 0)

        // A ledger, then replay and export with no room to grow any file.
        let dir = temporaryDirectory()
        var s = Script()
        var lines = s.organisation()
        for t in 0..<1_500 { lines += [s.open("T\(t)", Double(t)), s.line("noteLogged", Double(t) + 0.5, actor: "a1", ticket: "T\(t)", ["author": "a1", "text": String(repeating: "n", count: 300)])] }
        let file = temporaryDirectory() + ".jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try LedgerBinary.run(["--ledger", dir, "import", file]).status == 0)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/log/data.mdb")[.size] as? Int)
        let limit = size / 1024 + 4
        let replay = try LedgerBinary.run([dir], shell: #"trap '' XFSZ; ulimit -f \#(limit); "$LEDGER" --ledger "$1" replay; exit $?"#)
        #expect(replay.status == 0 || (replay.status == 1 && tooBig(replay.stderr)), "replay: exit \(replay.status) \(replay.stderr)")
        let out = temporaryDirectory()
        let export = try LedgerBinary.run([dir, out], shell: #"trap '' XFSZ; ulimit -f 16; "$LEDGER" --ledger "$1" export --out "$2" --operator m1 --purpose audit; exit $?"#)
        #expect(export.status == 1 && tooBig(export.stderr), "export: exit \(export.status) \(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + ".partial"))
        #expect(try LedgerBinary.run(["--ledger", dir, "verify", "--deep"]).status == 0)
        // Lifted: both work.
        #expect(try LedgerBinary.run(["--ledger", dir, "replay"]).status == 0)
        #expect(try LedgerBinary.run(["--ledger", dir, "export", "--out", out, "--operator", "m1", "--purpose", "audit"]).status == 0)
    }
}

@Suite struct RandomnessTests {
    @Test func pseudonymsKeysAndNoncesNeverRepeatAcrossThePoolsRefills() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        // 48 random bytes a customer (pseudonym and key): a 4 KiB pool is refilled about every 85.
        let records = (0..<5_000).map { ledger.vault.newCustomer(id: "c\($0)") }
        #expect(Set(records.map(\.pseudonym)).count == records.count)
        // Two seals of the same values under the same key differ (fresh nonces).
        var s = Script()
        #expect(try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: "same"), s.open("T2", 2, customer: "same")]).refused.isEmpty)
        let decoder = EventDecoder(mode: .stored)
        let head = try ledger.log.head().seq
        let a = try decoder.decode(try #require(try ledger.log.event(seq: head - 1)).payload).sealed
        let b = try decoder.decode(try #require(try ledger.log.event(seq: head)).payload).sealed
        #expect(a != nil && b != nil && a != b)
    }
}
