import Foundation
import Ledger
import Testing
@testable import Privacy

/// New pseudonyms (docs/FORMAT.md, "Personal data"): `cus_`, a shard shared by runs of 64
/// customers, the time in microseconds, 64 random bits.
@Suite struct PseudonymMintTests {
    static func micros() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }
    static let hex = Set("0123456789abcdef".utf8)
    /// `cus_` and 32 lowercase hex digits.
    static func wellFormed(_ p: String) -> Bool { p.hasPrefix("cus_") && p.utf8.count == 36 && p.utf8.dropFirst(4).allSatisfy(hex.contains) }

    @Test("runs of 64 share a shard, the next run takes the next shard, and within a shard the keys sort in the order they were made")
    func clusteredAndOrdered() throws {
        let mint = PseudonymMint()
        let before = Self.micros()
        let made = (0..<(64 * 70)).map { _ in mint.next() }
        let after = Self.micros()
        #expect(Set(made).count == made.count, "pseudonyms repeat")
        let first = try #require(Int(made[0].dropFirst(4).prefix(3), radix: 16))
        var previousTime: UInt64 = 0
        for (i, p) in made.enumerated() {
            #expect(Self.wellFormed(p), "\(p)")
            let shard = try #require(Int(p.dropFirst(4).prefix(3), radix: 16))
            #expect(shard == (first + i / 64) % 4096, "pseudonym \(i): shard \(shard)")
            let time = try #require(UInt64(p.dropFirst(7).prefix(13), radix: 16))
            #expect(time >= previousTime && time + 1 >= before && time <= after + 1, "pseudonym \(i): time \(time)")
            previousTime = time
        }
        // The 64 of a shard, as LMDB sorts keys (bytewise), are in the order they were made up to
        // the microsecond (equal times are ordered by their random digits).
        for run in stride(from: 0, to: made.count, by: 64) {
            let keys = Array(made[run..<(run + 64)])
            #expect(keys.map { $0.prefix(20) } == keys.map { $0.prefix(20) }.sorted())
        }
        // The random part is random: 4,480 values, no two alike, and each hex digit turns up.
        let tails = made.map { $0.suffix(16) }
        #expect(Set(tails).count == tails.count)
        #expect(Set(tails.joined().utf8) == Self.hex)
    }

    @Test("the first shard is random: two mints rarely start at the same one")
    func randomStart() {
        let starts = Set((0..<16).map { _ in PseudonymMint().next().dropFirst(4).prefix(3) })
        #expect(starts.count >= 8, "16 mints started at only \(starts.count) shards")
    }

    @Test("a ledger's new customers get minted pseudonyms: the shape docs/FORMAT.md gives, the time of their import")
    func aLedgersNewCustomers() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let before = Self.micros()
        #expect(try ledger.importStrings(s.organisation() + (0..<20).map { s.open("T\($0)", Double($0), customer: "mint-\($0)") }).refused.isEmpty)
        let after = Self.micros()
        let pseudonyms = try ledger.log.environment.read { txn in
            try (0..<20).map { try #require(try ledger.vault.customerOfTicket("T\($0)", in: txn)) }
        }
        for p in pseudonyms {
            #expect(Self.wellFormed(p), "\(p)")
            let time = try #require(UInt64(p.dropFirst(7).prefix(13), radix: 16))
            #expect(time + 1 >= before && time <= after + 1, "\(p): made outside the import")
        }
        #expect(Set(pseudonyms).count == 20)
    }
}
