import Foundation
import Simulation
import Testing
@testable import Ledger

/// An address-space limit (`ulimit -v`) during create, import, replay and export: the real
/// binary ends with success or a clear error, never a signal (a failed allocation aborts a Swift
/// process, and a failed map growth once left LMDB without a map); the ledger verifies; nothing
/// is left behind; the same command finishes once the limit is lifted.
@Suite(.serialized) struct AddressSpaceTests {
    /// Runs `ledger ARGS…` under `ulimit -v KIB` in a shell that reports a signal as 128 + its number.
    static func limited(_ kib: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try LedgerBinary.run([String(kib)] + arguments, shell: #"kib="$1"; shift; ulimit -v "$kib"; "$LEDGER" "$@"; exit $?"#)
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
