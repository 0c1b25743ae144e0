import Foundation
import Simulation
import Testing
@testable import Ledger

/// An address-space limit (`ulimit -v`) during create, import, replay and export: the real
/// binary ends with success or a clear error, never a signal (a failed allocation aborts a Swift
/// process, and a failed map growth once left LMDB without a map); the ledger verifies; nothing
/// is left behind; the same command finishes once the limit is lifted.
@Suite(.serialized) struct AddressSpaceTests {
    /// Runs `ledger ARGS…` under `ulimit -v KIB` (and `ulimit -s STACK` KiB when given) in a
    /// shell that reports a signal as 128 + its number; a run that hangs is killed after ten minutes.
    static func limited(_ kib: Int, stack: Int? = nil, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try LedgerBinary.run([String(kib), stack.map(String.init) ?? "-"] + arguments, shell: #"""
            kib="$1"; stack="$2"; shift 2
            if [ "$stack" != - ]; then ulimit -s "$stack" || exit 99; fi
            ulimit -v "$kib"; timeout -s KILL 600 "$LEDGER" "$@"; exit $?
            """#)
    }

    static func clear(_ r: (status: Int32, stdout: String, stderr: String)) -> Bool {
        r.status == 0 || (r.status == 1 && (r.stderr.contains("address-space limit (ulimit -v)") || r.stderr.contains("out of memory")))
    }

    static func corpus(lines: Int) throws -> (path: String, count: Int) {
        let path = temporaryDirectory() + ".jsonl"
        var data = Data()
        var count = 0
        for line in Simulator(seed: 5, calls: lines / 4 + 16).prefix(lines) { data.append(contentsOf: line); data.append(0x0A); count += 1 }
        try data.write(to: URL(fileURLWithPath: path))
        return (path, count)
    }

    @Test func importReplayAndExportUnderALimitEndCleanlyAndResume() throws {
        // About 90 MB of ledger: more than 300,000 KiB of address space leaves room for.
        let (file, count) = try AddressSpaceTests.corpus(lines: 90_000)
        for kib in [300_000] {
            let dir = temporaryDirectory()
            let starved = try AddressSpaceTests.limited(kib, ["--ledger", dir, "import", file, "--json"])
            #expect(starved.status < 128, "ulimit -v \(kib): killed by signal \(starved.status - 128)")
            #expect(starved.status == 1 && AddressSpaceTests.clear(starved), "ulimit -v \(kib): exit \(starved.status): \(starved.stderr.suffix(400))")
            #expect(starved.stderr.contains("was appended"), "the message says where to resume")
            // The ledger verifies, and without the limit the same command finishes the job.
            #expect(try LedgerBinary.run(["--ledger", dir, "verify"]).status == 0)
            let resumed = try LedgerBinary.run(["--ledger", dir, "import", file, "--json"])
            #expect(resumed.status == 3, "\(resumed.stderr.suffix(300))")  // the simulation's deliberate refusals
            let report = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
            let refused = (report["refused"] as? [Any])?.count ?? -1
            #expect((report["appended"] as? Int ?? 0) + (report["duplicates"] as? Int ?? 0) + refused == count)
            // Replay and export under the same limit: success or a clear error, never a signal, no `.partial` left.
            let replay = try AddressSpaceTests.limited(kib, ["--ledger", dir, "replay"])
            #expect(replay.status < 128 && AddressSpaceTests.clear(replay), "replay under \(kib): exit \(replay.status) \(replay.stderr.suffix(300))")
            let out = temporaryDirectory()
            let export = try AddressSpaceTests.limited(kib, ["--ledger", dir, "export", "--out", out, "--operator", "dir-001", "--purpose", "audit"])
            #expect(export.status < 128 && AddressSpaceTests.clear(export), "export under \(kib): exit \(export.status) \(export.stderr.suffix(300))")
            #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
            if export.status != 0 { #expect(!FileManager.default.fileExists(atPath: out)) }
            #expect(try LedgerBinary.run(["--ledger", dir, "verify", "--deep"]).status == 0)
        }
    }

    /// A thread the system refuses (here: a stack, `ulimit -s`, larger than what `ulimit -v`
    /// leaves) once hung the command for ever: Foundation's `Thread` and libdispatch never say
    /// that a thread could not be made. The writer's refusal is now the command's clear error, and
    /// work meant for other cores runs on the main thread.
    @Test func threadsTheSystemRefusesEndInAClearErrorNotAHang() throws {
        let (file, count) = try AddressSpaceTests.corpus(lines: 9_000)  // several parts per batch: workers wanted
        let dir = temporaryDirectory()
        #expect(try LedgerBinary.run(["--ledger", dir, "init"]).status == 0)
        let keys = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys").sorted().map { try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + $0)) }
        let (kib, stack) = (2_500_000, 3_000_000)
        let starved = try AddressSpaceTests.limited(kib, stack: stack, ["--ledger", dir, "import", file, "--json"])
        #expect(starved.status == 1, "exit \(starved.status): \(starved.stderr.suffix(400))")
        #expect(starved.stderr.contains("start a thread (ledger-writer)") && starved.stderr.contains("address-space limit (ulimit -v)"), "\(starved.stderr.suffix(400))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/keys").sorted().map { try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + $0)) } == keys)
        let verified = try LedgerBinary.run(["--ledger", dir, "verify"])
        #expect(verified.status == 0 && verified.stdout.contains("ok: 0 events"), "\(verified.stdout)")
        // Without the limit the same command does the job; reading needs no writer and no worker.
        let resumed = try LedgerBinary.run(["--ledger", dir, "import", file, "--json"])
        #expect(resumed.status == 3, "\(resumed.stderr.suffix(300))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect((report["appended"] as? Int ?? 0) + ((report["refused"] as? [Any])?.count ?? 0) == count)
        let replay = try AddressSpaceTests.limited(kib, stack: stack, ["--ledger", dir, "replay"])
        #expect(replay.status == 0, "replay: exit \(replay.status) \(replay.stderr.suffix(300))")
        // The audit's chunks, read on producer threads when there are any, are read on the
        // calling thread when the system gives none: the same entries.
        let audit = try AddressSpaceTests.limited(kib, stack: stack, ["--ledger", dir, "audit", "--format", "jsonl"])
        let unlimited = try LedgerBinary.run(["--ledger", dir, "audit", "--format", "jsonl"])
        #expect(audit.status == 0, "audit: exit \(audit.status) \(audit.stderr.suffix(300))")
        #expect(unlimited.status == 0 && audit.stdout == unlimited.stdout && audit.stdout.split(separator: "\n").count == report["appended"] as? Int)
        // An export records who saw the personal data, which needs the writer: a clear error, nothing left.
        let out = temporaryDirectory()
        let export = try AddressSpaceTests.limited(kib, stack: stack, ["--ledger", dir, "export", "--out", out, "--operator", "dir-001", "--purpose", "audit"])
        #expect(export.status == 1 && export.stderr.contains("start a thread (ledger-writer)"), "export: exit \(export.status) \(export.stderr.suffix(300))")
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + ".partial"))
        let deep = try LedgerBinary.run(["--ledger", dir, "verify", "--deep"])
        #expect(deep.status == 0, "\(deep.stderr.suffix(300))")
    }

    @Test func largeLinesUnderALimitEndCleanly() throws {
        // Ten notes of 8 MB under 400,000 KiB (the red team's case was eighty under 900,000 KiB,
        // which aborted; both hold far more than the limit leaves).
        var lines = [
            #"{"id":"00000000-0000-4000-8000-000000000001","type":"staffEnrolled","at":"2026-03-01T08:00:00Z","actor":"system","channel":"ask:org","staff":"a1","name":"Ann","role":"agent"}"#,
            #"{"id":"00000000-0000-4000-8000-000000000002","type":"callOpened","at":"2026-03-02T08:00:00Z","actor":"a1","channel":"ask:billing","ticket":"T1","agent":"a1","customer":{"id":"c1"},"issue":"x"}"#,
        ]
        let note = String(repeating: "n", count: 8_000_000)
        for i in 0..<10 {
            lines.append(#"{"id":"00000000-0000-4000-8000-0000000001\#(String(format: "%02d", i))","type":"noteLogged","at":"2026-03-02T08:\#(String(format: "%02d", i + 1)):00Z","actor":"a1","channel":"ask:billing","ticket":"T1","author":"a1","text":"\#(note)"}"#)
        }
        let file = temporaryDirectory() + ".jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let dir = temporaryDirectory()
        let starved = try AddressSpaceTests.limited(400_000, ["--ledger", dir, "import", file, "--json"])
        #expect(starved.status < 128, "killed by signal \(starved.status - 128)")
        #expect(starved.status == 1 && AddressSpaceTests.clear(starved), "exit \(starved.status): \(starved.stderr.suffix(400))")
        #expect(try LedgerBinary.run(["--ledger", dir, "verify"]).status == 0)
        let resumed = try LedgerBinary.run(["--ledger", dir, "import", file, "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(300))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect((report["appended"] as? Int ?? 0) + (report["duplicates"] as? Int ?? 0) == lines.count)
    }

    @Test func creatingALedgerUnderATightLimitEndsCleanlyAndLeavesNothing() throws {
        for kib in [150_000, 175_000, 200_000, 250_000] {
            let dir = temporaryDirectory()
            let r = try AddressSpaceTests.limited(kib, ["--ledger", dir, "init"])
            #expect(r.status < 128, "ulimit -v \(kib): killed by signal \(r.status - 128): \(r.stderr.suffix(300))")
            if r.status != 0 {
                #expect(r.status == 1 && !r.stderr.isEmpty)
                #expect(!FileManager.default.fileExists(atPath: dir + "/log/data.mdb") || (try? LedgerBinary.run(["--ledger", dir, "verify"]).status) == 0)
            }
        }
    }
}
