import Crypto
import Foundation
import EventLog
import LMDB
import Testing
@testable import Ledger
@testable import Privacy

/// A new customer's sealed record and a real id's look-up key are made before the append
/// transaction, off the writer thread (`PersonalDataVault.Early`). They depend on shard keys,
/// which an erasure committed in between replaces: the writer must use them only while their
/// shards keep their keys, and seal again otherwise (else a record would be written under a
/// destroyed key, and lost).
@Suite struct EarlySealingTests {
    @Test func workDoneBeforeTheTransactionIsUsedOnlyWhileItsShardsKeepTheirKeys() throws {
        let dir = temporaryDirectory()
        var s = Script()
        let organisation = s.organisation()
        let erase = s.line("personalDataErased", 60, actor: "m1", channel: "ask:compliance", ["customer": "gone-1"])
        var moved = PersonalDataVault.CustomerRecord(pseudonym: "", key: .init(size: .bits256), id: "moved-1")
        var kept = moved, earlyMoved: PersonalDataVault.Early.Record?, earlyKept: PersonalDataVault.Early.Record?
        do {
            let ledger = try Ledger.open(at: dir)
            #expect(try ledger.importStrings(organisation + [s.open("T0", 1, customer: "gone-1")]).refused.isEmpty)
            let vault = ledger.vault, environment = ledger.log.environment
            let early = try vault.early()
            let gone = try environment.read { txn in try #require(try vault.customerOfTicket("T0", in: txn)) }
            let goneLookUp = early.lookUp("gone-1")
            let rotated = Set([PersonalDataVault.Keys.shard(ofPseudonym: Array(gone.utf8)), goneLookUp.shard])
            // One customer whose record is in a shard the erasure below rotates; one whose
            // record and look-up entry are in shards it leaves alone.
            func customer(_ id: String, rotatedShard: Bool) -> PersonalDataVault.CustomerRecord {
                while true {
                    let r = vault.newCustomer(id: id)
                    let shard = PersonalDataVault.Keys.shard(ofPseudonym: Array(r.pseudonym.utf8))
                    if rotatedShard ? shard == PersonalDataVault.Keys.shard(ofPseudonym: Array(gone.utf8))
                                    : !rotated.contains(shard) && !rotated.contains(early.lookUp(id).shard) { return r }
                }
            }
            moved = customer("moved-1", rotatedShard: true)
            kept = customer("kept-1", rotatedShard: false)
            earlyMoved = try early.record(moved, lookUp: early.lookUp(moved.id))
            earlyKept = try early.record(kept, lookUp: early.lookUp(kept.id))
            // The erasure commits first, as a batch before could, rotating its shards.
            #expect(try ledger.importStrings([erase]).appended == 1)
            try environment.write { txn in
                try vault.store(moved, in: txn, early: earlyMoved)
                try vault.store(kept, in: txn, early: earlyKept)
            }
            let customers = try environment.openDatabase("privacy.customers")
            let stored = try environment.read { txn in
                try [moved, kept].map { r in try Array(r.pseudonym.utf8).withUnsafeBytes { try txn.get(customers, key: $0).map(Array.init) } }
            }
            #expect(stored[0] != nil && stored[0] != earlyMoved?.sealed, "sealed again: its shard's key was replaced")
            #expect(stored[1] == earlyKept?.sealed, "written as made: its shards kept their keys")
        }
        // Opened afresh (no cached record): both records open under the current keys, and
        // both customers are found by their real ids.
        let ledger = try Ledger.open(at: dir)
        try ledger.log.environment.read { (txn) throws -> Void in
            for r in [moved, kept] {
                #expect(try ledger.vault.pseudonym(forCustomer: r.id, in: txn) == r.pseudonym)
                #expect(try ledger.vault.customer(pseudonym: r.pseudonym, in: txn)?.id == r.id)
            }
        }
    }
}

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
}
