import Crypto
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import LMDB
import NIOCore

extension LedgerService {
    /// `GET /checkpoint` (a fresh C2SP signed checkpoint, text/plain) and the C2SP tlog-tiles read
    /// API: `/tile/<L>/<N>[.p/<W>]` (hashes; public, like the checkpoint: they reveal nothing but
    /// hashes) and `/tile/entries/<N>[.p/<W>]` (the leaves' records; an auditor token).
    /// `GET /v1/proofs?seq=N|range=A..B|ticket=T|consistency=N`: a proof document (docs/EXPORT.md).
    func addTransparencyRoutes(_ router: Router<ServiceRequestContext>) {
        router.get("/checkpoint") { _, _ -> Response in
            let text = try await Blocking.run { [ledger = self.ledger] in try ledger.checkpoint().text }
            return .text(text)
        }
        router.get("/tile/**") { request, context -> Response in
            let path = context.parameters.getCatchAll().joined(separator: "/")
            guard let tile = TilePath(path) else {
                throw ServiceError.notFound("'/tile/\(path)' is not a C2SP tlog-tiles path (/tile/<L>/<N>[.p/<W>] or /tile/entries/<N>[.p/<W>])")
            }
            if tile.entries { _ = try self.authorize(request, .read) }
            let bytes = try await Blocking.run { [tiles = self.tiles] in try tiles.tile(tile) }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            if tile.width == 256 { headers[.cacheControl] = "public, max-age=31536000, immutable" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/v1/proofs") { request, _ -> Response in
            _ = try self.authorize(request, .read)
            let q = try request.query(allowing: ["seq", "range", "ticket", "consistency"])
            guard q.count == 1, let (name, value) = q.first else {
                throw ServiceError.badRequest("a proof takes exactly one of seq=N, range=A..B, ticket=T, consistency=N")
            }
            let subject: Ledger.ProofSubject
            switch name {
            case "seq": subject = .seq(try LedgerService.seq(value, name: "seq")!)
            case "consistency": subject = .consistency(oldSize: try LedgerService.seq(value, name: "consistency")!)
            case "ticket": subject = .ticket(value)
            default:
                let parts = value.components(separatedBy: "..")
                guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]) else {
                    throw ServiceError.badRequest("range takes A..B (seqs), not '\(value)'")
                }
                subject = .range(from: a, to: b)
            }
            return try await .streamed(contentType: "application/json") { [ledger = self.ledger] pipe in
                var out = ListWriter(.jsonl, columns: [], pipe: pipe)
                try ledger.writeProof(subject) { try out.write($0) }
                try out.flush()
            }
        }
    }
}

/// A parsed tiles path: level (or entries), index and width (256 for a full tile).
struct TilePath: Sendable, Hashable {
    var entries: Bool
    var level: Int
    var index: UInt64
    var width: Int

    /// `0/x001/234`, `2/000.p/17`, `entries/005`.
    init?(_ path: String) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        let head = parts.removeFirst()
        if head == "entries" {
            entries = true; level = 0
        } else {
            guard let l = Int(head), (0...63).contains(l), String(l) == head else { return nil }
            entries = false; level = l
        }
        width = 256
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let w = Int(parts.removeLast()), (1...255).contains(w) else { return nil }
            parts[parts.count - 1].removeLast(2)
            width = w
        }
        // N in groups of three digits, every group but the last prefixed with x.
        var n: UInt64 = 0
        for (i, p) in parts.enumerated() {
            let last = i == parts.count - 1
            let digits = last ? p : (p.hasPrefix("x") ? String(p.dropFirst()) : "")
            guard digits.count == 3, digits.allSatisfy(\.isASCII), let v = UInt64(digits), digits.allSatisfy(\.isNumber) else { return nil }
            n = n * 1000 + v
        }
        index = n
        guard TilePath.encode(n) == parts.joined(separator: "/") else { return nil }  // the one spelling of N
    }

    static func encode(_ n: UInt64) -> String {
        var groups: [String] = []
        var v = n
        repeat {
            groups.insert(String(format: "%03llu", v % 1000), at: 0)
            v /= 1000
        } while v > 0
        return groups.enumerated().map { $0.offset < groups.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
    }
}

/// Tiles computed from the log's leaf hashes; full tiles of level 1 and up are kept (they never change).
final class TileStore: @unchecked Sendable {
    let ledger: Ledger
    private let lock = NSLock()
    private var cache: [TilePath: [UInt8]] = [:]

    init(ledger: Ledger) { self.ledger = ledger }

    func tile(_ t: TilePath) throws -> [UInt8] {
        let log = ledger.log
        return try log.environment.read { txn in
            let size = try log.head(in: txn).seq
            // The tile exists once the last node it holds is complete in the tree.
            let span = t.entries ? 1 : TileStore.leavesPerNode(t.level)
            let (needed, overflow) = (t.index * 256 + UInt64(t.width)).multipliedReportingOverflow(by: span)
            guard !overflow, needed <= size else {
                throw ServiceError.notFound("the tree holds \(size) leaves: that tile is not complete (yet)")
            }
            if t.entries {
                var out: [UInt8] = []
                for i in 0..<UInt64(t.width) {
                    let seq = t.index * 256 + i + 1
                    guard let r = try txn.get(log.eventsDatabase, key: seq) else { throw LogError.corrupt(seq: seq, "missing event") }
                    guard r.count <= 0xFFFF else {
                        throw ServiceError(.unprocessableContent, "entryTooLarge", "the entry at seq \(seq) is \(r.count) bytes, more than a "
                                           + "tlog-tiles entry bundle can carry (65535); prove it with /v1/proofs?seq=\(seq)")
                    }
                    out += [UInt8(r.count >> 8), UInt8(r.count & 0xFF)] + Array(r)
                }
                return out
            }
            return try hashes(level: t.level, from: t.index * 256, count: t.width, txn).flatMap { $0 }
        }
    }

    static func leavesPerNode(_ level: Int) -> UInt64 { level >= 8 ? .max : UInt64(1) << (8 * level) }

    /// The hashes of `count` nodes at tree height 8·`level`, from node `from` on.
    private func hashes(level: Int, from: UInt64, count: Int, _ txn: ReadTransaction) throws -> [[UInt8]] {
        if level == 0 {
            return try (0..<UInt64(count)).map { try ledger.log.leafHash(from + $0 + 1, txn) }
        }
        let key = TilePath(entries: false, level: level, index: from / 256, width: 256)
        if count == 256, from % 256 == 0 {
            lock.lock()
            let cached = cache[key]
            lock.unlock()
            if let cached { return stride(from: 0, to: cached.count, by: 32).map { Array(cached[$0..<$0 + 32]) } }
        }
        let nodes = try (0..<UInt64(count)).map { k in TileStore.root(try hashes(level: level - 1, from: (from + k) * 256, count: 256, txn)) }
        if count == 256, from % 256 == 0 {
            lock.lock()
            cache[key] = nodes.flatMap { $0 }
            lock.unlock()
        }
        return nodes
    }

    /// The RFC 6962 root of a perfect tree of these node hashes.
    static func root(_ nodes: [[UInt8]]) -> [UInt8] {
        var level = nodes
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { i in
                Array(SHA256.hash(data: [0x01] + level[i] + level[i + 1]))
            }
        }
        return level[0]
    }
}

extension TilePath {
    init(entries: Bool, level: Int, index: UInt64, width: Int) {
        self.entries = entries; self.level = level; self.index = index; self.width = width
    }
}
