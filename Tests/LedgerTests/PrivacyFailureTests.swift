import Foundation
import Testing
@testable import Ledger

/// CONTRACT.md section 7 under real failures of the real `ledger import` (docs/PRIVACY.md):
/// a SIGKILL in the middle of an import that erases, and a full disk. After each, what a
/// committed erasure erased is nowhere in the ledger's files and no key there confirms it,
/// and an event that was not appended left no record, ticket link or look-up entry.
@Suite(.serialized) struct PrivacyFailureTests {
    /// The event id of an interchange line.
    static func id(_ line: String) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return object?["id"] as? String ?? ""
    }

    /// An import file in a scratch directory beside the ledger.
    static func file(_ lines: [String], _ name: String) throws -> String {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits (up to `seconds`) until `condition` holds or `process` has exited; true if it holds.
    static func wait(for process: Process, seconds: Double = 300, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(500)
        }
        return false
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// What one failure left, after a writable reopen: checked against every customer that any
    /// line named. `calls` and `erasures` are the lines of each customer's call and erasure.
    struct Outcome {
        var erased = 0, live = 0, notAppended = 0
    }

    static func check(_ dir: String, customers: [PrivacyCustomer], calls: [PrivacyCustomer: String],
                      erasures: [PrivacyCustomer: String]) throws -> Outcome {
        var outcome = Outcome()
        var erased: [PrivacyCustomer] = [], live: [PrivacyCustomer] = []
        do {
            let ledger = try Ledger.open(at: dir)  // writable: destroys any key a crash left behind
            #expect(try ledger.log.verify().ok)
            let ids = try ledger.eventIDs()
            try ledger.log.environment.read { txn in
                for c in customers {
                    let appended = calls[c].map { ids.contains(PrivacyFailureTests.id($0)) } ?? false
                    let erasedNow = erasures[c].map { ids.contains(PrivacyFailureTests.id($0)) } ?? false
                    let pseudonym = try ledger.vault.pseudonym(forCustomer: c.id, in: txn)
                    let link = try ledger.vault.customerOfTicket(c.ticket, in: txn)
                    if !appended {
                        outcome.notAppended += 1
                        #expect(pseudonym == nil, "\(c.id) was not appended but has a look-up entry")
                        #expect(link == nil, "\(c.ticket) was not appended but is linked to a customer")
                    } else if erasedNow {
                        erased.append(c)
                        #expect(pseudonym == nil, "erased \(c.id) still has a look-up entry")
                        let old = try #require(link, "the erased customer's ticket keeps its pseudonym")
                        #expect(try ledger.vault.customer(pseudonym: old, in: txn) == nil, "erased \(c.id) still has a record")
                    } else {
                        live.append(c)
                        #expect(pseudonym != nil && pseudonym == link, "live \(c.id) lost its record")
                    }
                }
            }
            outcome.erased = erased.count
            outcome.live = live.count
            // Nothing but the live customers' records, look-up entries and the appended tickets' links.
            #expect(try ledger.privacyTableCount("privacy.customers") == live.count)
            #expect(try ledger.privacyTableCount("privacy.lookup") == live.count)
            #expect(try ledger.privacyTableCount("privacy.tickets") == live.count + erased.count)
            // One key-encryption key on disk: the current generation's.
            let generation = try #require(try ledger.privacyTable("privacy.meta")[Array("kek".utf8).hex])
            let current = UInt64(generation, radix: 16)!
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/keys") == ["kek.\(current)"])
        }
        let files = try LedgerFiles(dir)
        // No personal value of anyone in clear anywhere, and no digest of a call in clear.
        var needles = customers.flatMap { $0.values.map { Array($0.utf8) } }
        needles += try calls.values.map(PrivacyCustomer.clearDigest)
        let hits = files.found(needles)
        #expect(hits.isEmpty, "\(hits.count) personal values or clear digests in the files, e.g. \(String(decoding: hits.first ?? [], as: UTF8.self))")
        // Every erased id among 10,000 candidates, with every key in the files: none confirmed,
        // while the live customers put among them are (the search works).
        let controls = live.prefix(20).map(\.id)
        var candidates = erased.map(\.id) + controls
        candidates += (0..<(10_000 - candidates.count)).map { "cust-\(String(format: "%06d", 900_000 + $0))-zq" }
        #expect(files.confirmed(candidates) == Set(controls))
        return outcome
    }

    // MARK: SIGKILL

    /// The first import: the organisation, customers 0..<300 (a call and a note each), and
    /// erasures of customers 0..<10 (so the ledger is at key generation 2).
    static func base(_ s: inout Script, _ calls: inout [PrivacyCustomer: String], _ erasures: inout [PrivacyCustomer: String]) -> [String] {
        var lines = s.organisation()
        for k in 0..<300 {
            let c = PrivacyCustomer(k: k)
            let l = c.lines(&s, at: Double(k))
            calls[c] = l.opened
            lines += [l.opened, l.note]
        }
        for k in 0..<10 {
            let c = PrivacyCustomer(k: k)
            erasures[c] = c.erasure(&s, at: 1_000)
            lines.append(erasures[c]!)
        }
        return lines
    }

    /// When the import is killed, by what the test sees of `keys/` (the first import left `kek.2`).
    enum Moment: String, CaseIterable, CustomTestStringConvertible {
        /// As soon as `kek.3` exists: the commit has begun rotating (usually before it commits).
        case rotationStarts
        /// 4 ms later: while it re-seals the records, commits, or destroys `kek.2`.
        case duringRotation
        /// As soon as `kek.2` is gone: committed, and the old key destroyed (the import is
        /// then catching its projections up).
        case afterCommit
        var testDescription: String { rawValue }
    }

    @Test("SIGKILL while an erasing import rotates the keys, at several moments", arguments: Moment.allCases)
    func killedWhileAnErasingImportRotatesTheKeys(at moment: Moment) throws {
        let dir = temporaryDirectory()
        var s = Script()
        var calls: [PrivacyCustomer: String] = [:], erasures: [PrivacyCustomer: String] = [:]
        let first = try LedgerBinary.run(["--ledger", dir, "import", try Self.file(Self.base(&s, &calls, &erasures), "base.jsonl")])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/keys") == ["kek.2"])
        // One commit: customers 300..<2,300, erasures of 20 earlier customers and of 10 of its
        // own (its projections take long enough to catch up to be killed after the commit).
        var lines: [String] = []
        for k in 300..<2_300 {
            let c = PrivacyCustomer(k: k)
            let l = c.lines(&s, at: Double(k))
            calls[c] = l.opened
            lines += [l.opened, l.note]
        }
        for k in Array(10..<30) + Array(300..<310) {
            let c = PrivacyCustomer(k: k)
            erasures[c] = c.erasure(&s, at: 9_000)
            lines.append(erasures[c]!)
        }
        let (p, _, _) = try LedgerBinary.start(["--ledger", dir, "import", try Self.file(lines, "erasing.jsonl")])
        let reached: Bool
        switch moment {
        case .rotationStarts:
            reached = Self.wait(for: p) { Self.exists(dir + "/keys/kek.3") }
        case .duringRotation:
            reached = Self.wait(for: p) { Self.exists(dir + "/keys/kek.3") }
            usleep(4_000)
        case .afterCommit:
            reached = Self.wait(for: p) { Self.exists(dir + "/keys/kek.3") && !Self.exists(dir + "/keys/kek.2") }
        }
        let running = p.isRunning
        if running { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(reached, "the import never reached \(moment)")
        #expect(running && p.terminationReason == .uncaughtSignal, "the import was not killed in the middle (it had exited \(p.terminationStatus))")

        let outcome = try Self.check(dir, customers: (0..<2_300).map(PrivacyCustomer.init), calls: calls, erasures: erasures)
        // The first import's erasures committed; the second import's commit is all or nothing.
        #expect(outcome.erased == 10 || outcome.erased == 40, "\(outcome)")
        #expect(outcome.notAppended == (outcome.erased == 10 ? 2_000 : 0), "\(outcome)")
        if moment == .afterCommit { #expect(outcome.erased == 40, "\(outcome)") }
    }

    @Test("SIGKILL after an erasing batch committed, with the next batch read but not appended")
    func killedAfterAnErasingBatchCommitted() throws {
        let dir = temporaryDirectory()
        var s = Script()
        var calls: [PrivacyCustomer: String] = [:], erasures: [PrivacyCustomer: String] = [:]
        // The importer commits every `importBatchLines` lines: the first batch holds calls, notes
        // and erasures; the lines after it wait in memory for the rest of standard input. (It
        // reads 1 MiB at a time, so more than 1 MiB follows the batch.)
        let batch = Ledger.importBatchLines
        var lines = s.organisation()
        var k = 0
        while lines.count < batch + 5_000 {
            let c = PrivacyCustomer(k: k)
            let l = c.lines(&s, at: Double(k))
            calls[c] = l.opened
            lines += [l.opened, l.note]
            if k % 100 == 99 {
                let erased = PrivacyCustomer(k: k - 50)
                erasures[erased] = erased.erasure(&s, at: Double(k) + 2)
                lines.append(erasures[erased]!)
            }
            k += 1
        }
        let input = Pipe()
        let (p, _, _) = try LedgerBinary.start(["--ledger", dir, "import", "-"], stdin: input)
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        // The first batch committed its rotation when the old key-encryption key is destroyed.
        let committed = Self.wait(for: p) { Self.exists(dir + "/keys/kek.2") && !Self.exists(dir + "/keys/kek.1") }
        let running = p.isRunning
        if running { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try? input.fileHandleForWriting.close()
        #expect(committed, "the first batch never committed")
        #expect(running && p.terminationReason == .uncaughtSignal, "the import was not killed in the middle")

        let outcome = try Self.check(dir, customers: (0..<k).map(PrivacyCustomer.init), calls: calls, erasures: erasures)
        let erasedInFirstBatch = lines[..<batch].filter { $0.contains("personalDataErased") }.count
        #expect(outcome.erased == erasedInFirstBatch && erasedInFirstBatch > 100, "\(outcome)")
        #expect(outcome.notAppended == lines[batch...].filter { $0.contains("callOpened") }.count && outcome.notAppended > 200, "\(outcome)")
    }

    // MARK: A full disk

    @Test("a full disk: the import fails with a clear error and keys/ and the privacy tables are as they were")
    func fullDiskLeavesKeysAndPrivacyTablesAsTheyWere() throws {
        let dir = temporaryDirectory()
        var s = Script()
        var calls: [PrivacyCustomer: String] = [:], erasures: [PrivacyCustomer: String] = [:]
        #expect(try LedgerBinary.run(["--ledger", dir, "import", try Self.file(Self.base(&s, &calls, &erasures), "base.jsonl")]).status == 0)
        let tables = ["privacy.meta", "privacy.customers", "privacy.lookup", "privacy.tickets"]
        func snapshot() throws -> (keys: [String: [UInt8]], tables: [[String: String]], head: UInt64) {
            var keys: [String: [UInt8]] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/keys") {
                keys[name] = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/keys/" + name)))
            }
            var options = Ledger.Options()
            options.readOnly = true  // changes nothing, destroys nothing
            let ledger = try Ledger.open(at: dir, options: options)
            return (keys, try tables.map(ledger.privacyTable), try ledger.log.head().seq)
        }
        let before = try snapshot()
        #expect(before.keys.keys.sorted() == ["kek.2"] && before.tables[1].count == 290)

        // 3,000 new customers and erasures (one rotation) in one commit, which cannot be written:
        // the file-size limit makes the log's writes fail (EFBIG, with SIGXFSZ ignored).
        var lines: [String] = []
        for k in 300..<3_300 {
            let c = PrivacyCustomer(k: k)
            let l = c.lines(&s, at: Double(k))
            calls[c] = l.opened
            lines += [l.opened, l.note]
        }
        for k in Array(10..<20) + Array(300..<305) {
            let c = PrivacyCustomer(k: k)
            erasures[c] = c.erasure(&s, at: 9_000)
            lines.append(erasures[c]!)
        }
        let file = try Self.file(lines, "big.jsonl")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/log/data.mdb")[.size] as? Int)
        let limit = size / 1024 + 64  // KiB: room to open the ledger, none for the commit
        let failed = try LedgerBinary.run([dir, file], shell: #"trap '' XFSZ; ulimit -f \#(limit); exec "$LEDGER" --ledger "$1" import "$2""#)
        #expect(failed.status == 1, "stdout: \(failed.stdout) stderr: \(failed.stderr)")
        #expect(failed.stderr.contains("could not be written") && failed.stderr.contains("nothing from line 1 on was appended"),
                "not a clear error: \(failed.stderr)")

        // Before any writable open: keys/ and every privacy table hold exactly what they held.
        let after = try snapshot()
        #expect(after.keys == before.keys, "keys/ changed: \(after.keys.keys.sorted())")
        for (i, name) in tables.enumerated() { #expect(after.tables[i] == before.tables[i], "\(name) changed") }
        #expect(after.head == before.head)

        // The ledger reopens and verifies; nothing of the failed import is anywhere.
        let outcome = try Self.check(dir, customers: (0..<3_300).map(PrivacyCustomer.init), calls: calls, erasures: erasures)
        #expect(outcome.erased == 10 && outcome.live == 290 && outcome.notAppended == 3_000, "\(outcome)")
        // Once there is room, the same file imports whole.
        let again = try LedgerBinary.run(["--ledger", dir, "import", file])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/keys") == ["kek.3"])
    }
}
