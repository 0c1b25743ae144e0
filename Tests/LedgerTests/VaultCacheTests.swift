import EventLog
import Foundation
import LMDB
import Ledger
import Privacy
import Testing

/// The vault caches opened customer records. Readers work on snapshots, so a reader that
/// began before an erasure committed still finds the record; it must not leave it in the
/// cache for the readers after the commit (nor for the erasing transaction itself).
@Suite struct VaultCacheTests {
    @Test func aReaderOfAnOlderSnapshotDoesNotBringAnErasedCustomerBack() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        #expect(try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: "c1")]).refused.isEmpty)
        let vault = ledger.vault, environment = ledger.log.environment
        let p = try environment.read { txn in try #require(try vault.customerOfTicket("T1", in: txn)) }
        try environment.write { txn in
            vault.beginTransaction()
            try vault.erase(pseudonym: p, in: txn)
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "erased in this transaction")
            // Another thread reads its own snapshot, taken before this commit: the customer is still there.
            let seen = Latch<Bool>()
            let reader = Thread {
                seen.set((try? environment.read { try vault.customer(pseudonym: p, in: $0) }) != nil)
            }
            reader.start()
            #expect(seen.wait(), "a snapshot from before the commit still holds the record")
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "still erased in this transaction, whatever readers cached")
            #expect(try !vault.isLive(pseudonym: p, in: txn))
            try vault.prepareCommit(txn)
        }
        try vault.didCommit()
        try environment.read { (txn) throws -> Void in
            #expect(try vault.customer(pseudonym: p, in: txn) == nil, "erased for every reader after the commit")
            #expect(try !vault.isLive(pseudonym: p, in: txn))
        }
    }

    /// Look-up keys and sealed records computed ahead of the append transaction (in a read
    /// snapshot) are used there only while the keys they depend on are unchanged: an erasure
    /// rotates the shards it touched, and what was computed under a rotated shard's old key
    /// must be computed again, what was computed under any other shard's key still holds.
    @Test func whatWasComputedAheadHoldsOnlyWhileItsShardsKeyIsUnchanged() throws {
        let directory = temporaryDirectory()
        // Returns the records stored from what was sealed ahead; the ledger is closed on return.
        func computeAheadEraseAndStore() throws -> [PersonalDataVault.CustomerRecord] {
            let ledger = try Ledger.open(at: directory)
            var s = Script()
            let customers = (0..<40).map { "cust-\($0)" }
            #expect(try ledger.importStrings(s.organisation() + customers.enumerated().map { s.open("T\($0.offset)", 1, customer: $0.element) })
                .refused.isEmpty)
            let vault = ledger.vault, environment = ledger.log.environment
            let ids = customers + (0..<200).map { "other-\($0)" }
            // Ahead: every id's look-up key, and records (new customers) sealed for storing, one of
            // them in the record shard (the pseudonym's first three hex digits) of a customer erased below.
            let erased = try environment.read { txn in
                try (0..<12).map { try #require(try vault.customerOfTicket("T\($0)", in: txn)) }
            }
            // New customers share a shard in runs (PseudonymMint): mint until one is in an erased
            // customer's shard and one in another (at worst once round the 4,096 shards).
            let shards = Set(erased.map { $0.prefix(7) })
            func inErasedShard(_ r: PersonalDataVault.CustomerRecord) -> Bool { shards.contains(r.pseudonym.prefix(7)) }
            var records = (0..<63).map { vault.newCustomer(id: "new-\($0)") }
            for wanted in [true, false] where !records.contains(where: { inErasedShard($0) == wanted }) {
                while true {
                    let r = vault.newCustomer(id: "new-\(records.count)")
                    if inErasedShard(r) == wanted { records.append(r); break }
                }
            }
            let (lookups, sealed) = try environment.read { txn in
                (try ids.map { try vault.computeLookupKey(forCustomer: $0, in: txn) }, try records.map { try vault.sealRecord($0, in: txn) })
            }
            // Erasures rotate some shards (a new KEK generation each).
            for c in customers.prefix(12) {
                #expect(try ledger.importStrings([s.line("personalDataErased", 2, actor: "m1", channel: "ask:compliance", ["customer": c])]).appended == 1)
            }
            try environment.write { txn in
                for (id, ahead) in zip(ids, lookups) {
                    #expect(try vault.lookupKey(forCustomer: id, computed: ahead, in: txn) == vault.lookupKey(forCustomer: id, in: txn), "\(id)")
                }
                vault.beginTransaction()
                for (r, ahead) in zip(records, sealed) { try vault.store(r, sealed: ahead, in: txn) }
                try vault.prepareCommit(txn)
            }
            try vault.didCommit()
            return records
        }
        let records = try computeAheadEraseAndStore()
        // Opened again (nothing cached): every record stored from what was sealed ahead opens
        // under the current keys, found by its id.
        let ledger = try Ledger.open(at: directory)
        try ledger.log.environment.read { txn in
            for r in records {
                let p = try #require(try ledger.vault.pseudonym(forCustomer: r.id, in: txn))
                let opened = try ledger.vault.customer(pseudonym: p, in: txn)
                #expect(p == r.pseudonym && opened?.id == r.id)
            }
        }
    }

    /// A key-encryption key file is overwritten with zeros once a later generation commits. A
    /// reader of an older snapshot that reads it meanwhile may get it half destroyed; keys derived
    /// from that sealed an import's new customers under zeros (records nobody could open again)
    /// and missed customers' look-up entries. Such a read is refused as a rotation ("retry").
    @Test func keysAreNeverDerivedFromTheFileOfAGenerationThatWasRotatedMeanwhile() throws {
        let directory = temporaryDirectory()
        let ledger = try Ledger.open(at: directory)
        var s = Script()
        #expect(try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: "c1"), s.open("T2", 1, customer: "c2")])
            .refused.isEmpty)
        let vault = ledger.vault, environment = ledger.log.environment
        let kek1 = directory + "/keys/kek.1"
        let oldKEK = try #require(FileManager.default.contents(atPath: kek1))
        let p1 = try environment.read { txn in try #require(try vault.customerOfTicket("T1", in: txn)) }
        // A reader takes its snapshot (generation 1) and waits while an erasure commits generation 2.
        let snapshotTaken = Latch<Bool>(), rotated = Latch<Bool>()
        let outcome = Latch<Result<PersonalDataVault.CustomerRecord?, any Error>>()
        let reader = Thread {
            outcome.set(Result {
                try environment.read { txn in
                    snapshotTaken.set(true)
                    _ = rotated.wait()
                    return try vault.customer(pseudonym: p1, in: txn)
                }
            })
        }
        reader.start()
        _ = snapshotTaken.wait()
        #expect(try ledger.importStrings([s.line("personalDataErased", 2, actor: "m1", channel: "ask:compliance", ["customer": "c2"])])
            .appended == 1)
        #expect(!FileManager.default.fileExists(atPath: kek1), "generation 1 was destroyed once generation 2 committed")
        // What the reader would read in the middle of that destruction: zeros but for the last byte.
        var torn = [UInt8](repeating: 0, count: oldKEK.count)
        torn[torn.count - 1] = oldKEK.last!
        #expect(FileManager.default.createFile(atPath: kek1, contents: Data(torn)))
        rotated.set(true)
        switch outcome.wait() {
        case .success(let record): Issue.record("keys were derived from a destroyed generation's file (record: \(String(describing: record)))")
        case .failure(let error):
            guard case PrivacyError.rotated = error else { Issue.record("\(error)"); return }
        }
        // The current generation still opens every live customer.
        let live = try environment.read { txn in try vault.customer(pseudonym: p1, in: txn) }
        #expect(live?.id == "c1")
    }
}
