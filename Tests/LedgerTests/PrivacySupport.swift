import Crypto
import EscalationDomain
import Foundation
import LMDB
import Testing
@testable import Ledger

/// Every byte of every file under a ledger's directory, and searches of them: what someone
/// holding the files (free pages included) can find or confirm (CONTRACT.md section 7).
struct LedgerFiles {
    let directory: String
    /// Path (relative to the directory) and contents.
    let files: [(path: String, bytes: [UInt8])]

    init(_ directory: String) throws {
        self.directory = directory
        var files: [(String, [UInt8])] = []
        let walker = FileManager.default.enumerator(atPath: directory)!
        while let name = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDir), !isDir.boolValue {
                files.append((name, Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))))
            }
        }
        self.files = files
    }

    /// The needles (8 bytes or more each) found anywhere in the files, in one pass: a filter
    /// on each offset's 8-byte word, then a comparison of the needles that start with it.
    func found(_ needles: [[UInt8]]) -> Set<[UInt8]> {
        precondition(needles.allSatisfy { $0.count >= 8 }, "a needle of fewer than 8 bytes")
        func word(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(as: UInt64.self) }
        func slot(_ w: UInt64) -> Int { Int(truncatingIfNeeded: (w &* 0x9E37_79B9_7F4A_7C15) >> 40) }  // 24 bits
        var byHead: [UInt64: [[UInt8]]] = [:]
        var filter = [UInt64](repeating: 0, count: 1 << 18)
        for n in needles {
            let w = n.withUnsafeBytes { word($0.baseAddress!) }
            byHead[w, default: []].append(n)
            filter[slot(w) >> 6] |= 1 << UInt64(slot(w) & 63)
        }
        var hits = Set<[UInt8]>()
        for f in files where f.bytes.count >= 8 {
            f.bytes.withUnsafeBytes { h in
                filter.withUnsafeBufferPointer { bits in
                    let base = h.baseAddress!, end = h.count
                    var i = 0
                    while i <= end - 8 {
                        let w = word(base + i)
                        let s = slot(w)
                        if bits[s >> 6] & (1 << UInt64(s & 63)) != 0, let candidates = byHead[w] {
                            for n in candidates where i + n.count <= end {
                                if n.withUnsafeBytes({ memcmp(base + i, $0.baseAddress!, n.count) }) == 0 { hits.insert(n) }
                            }
                        }
                        i += 1
                    }
                }
            }
        }
        return hits
    }

    func contains(_ needle: [UInt8]) -> Bool { !found([needle]).isEmpty }

    /// The key-encryption key files left in `keys/`, by name.
    var keyFiles: [(name: String, bytes: [UInt8])] {
        files.filter { $0.path.hasPrefix("keys/") }.map { (String($0.path.dropFirst(5)), $0.bytes) }.sorted { $0.name < $1.name }
    }

    /// The look-up entry a key-encryption key file gives a customer id (docs/FORMAT.md): the
    /// shard (u16, the first 12 bits of HMAC-SHA256(salt, id)) ‖ HMAC-SHA256(HMAC-SHA256(K[shard], "lookup"), id).
    static func lookupEntry(_ id: String, kek file: [UInt8]) -> [UInt8] {
        guard file.count == 32 + 32 * 4096 else { return [] }
        let salted = Array(HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: SymmetricKey(data: file[0..<32])))
        let shard = Int(salted[0]) << 4 | Int(salted[1] >> 4)
        let k = SymmetricKey(data: file[(32 + 32 * shard)..<(64 + 32 * shard)])
        let lookup = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array("lookup".utf8), using: k)))
        return [UInt8(shard >> 8), UInt8(shard & 0xFF)] + Array(HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: lookup))
    }

    /// The candidate ids that some key file in `keys/` confirms: a look-up entry for the
    /// candidate under that key is somewhere in the files.
    func confirmed(_ candidates: [String]) -> Set<String> {
        var entries: [[UInt8]: String] = [:]
        for k in keyFiles { for c in candidates { entries[LedgerFiles.lookupEntry(c, kek: k.bytes)] = c } }
        return Set(found(Array(entries.keys)).compactMap { entries[$0] })
    }
}

/// The built `ledger` binary (in `$LEDGER_BIN_DIR`, else `.build/debug`), run in a child process.
enum LedgerBinary {
    static let url: URL? = {
        var dirs: [URL] = []
        if let d = ProcessInfo.processInfo.environment["LEDGER_BIN_DIR"], !d.isEmpty { dirs.append(URL(fileURLWithPath: d)) }
        dirs.append(CrossLanguageTests.packageRoot.appendingPathComponent(".build/debug"))
        return dirs.map { $0.appendingPathComponent("ledger") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// A started child: `/bin/bash -c SCRIPT` with `$LEDGER` the binary, or the binary itself.
    static func start(_ arguments: [String], shell script: String? = nil, stdin: Pipe? = nil) throws -> (Process, stdout: URL, stderr: URL) {
        let binary = try #require(url, "the ledger binary was not found: swift build, or set LEDGER_BIN_DIR")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        if let script {
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", script, "bash"] + arguments
            p.environment = ProcessInfo.processInfo.environment.merging(["LEDGER": binary.path]) { _, new in new }
        } else {
            p.executableURL = binary
            p.arguments = arguments
        }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    /// Runs to the end: exit status, standard output and standard error.
    static func run(_ arguments: [String], shell script: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let (p, out, err) = try start(arguments, shell: script)
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }
}

/// Customers whose every personal value is found nowhere else (fixed width, so that no value
/// is a prefix of another), and the lines of their tickets.
struct PrivacyCustomer: Hashable {
    let k: Int
    var number: String { String(format: "%06d", k) }
    var id: String { "cust-\(number)-zq" }
    var name: String { "Zelda Quist \(number)" }
    var phone: String { "+44 7700 9\(number)" }
    var issue: String { "refund for order \(number)x" }
    var note: String { "her card ends \(number) 99" }
    var ticket: String { "T-\(number)" }
    /// Every personal value recorded for the customer.
    var values: [String] { [id, name, phone, issue, note] }

    /// The call (every personal field) and a note on it, at minute `t`.
    func lines(_ s: inout Script, at t: Double) -> (opened: String, note: String) {
        (s.line("callOpened", t, actor: "a1", ticket: ticket, ["agent": "a1", "issue": issue,
                                                              "customer": ["id": id, "name": name, "phone": phone]]),
         s.line("noteLogged", t + 1, actor: "a1", ticket: ticket, ["author": "a1", "text": note]))
    }

    func erasure(_ s: inout Script, at t: Double) -> String {
        s.line("personalDataErased", t, actor: "m1", channel: "ask:compliance", ["customer": id])
    }

    /// The SHA-256 of the customer's call line with its personal data in clear: the digest a
    /// keyless idempotency scheme over clear data would store (it must be nowhere).
    static func clearDigest(_ line: String) throws -> [UInt8] {
        let event = try EventDecoder(mode: .interchange).decode(Array(line.utf8))
        return Array(SHA256.hash(data: EventEncoder.encode(event)))
    }
}

extension Ledger {
    /// The number of entries of a privacy table (`privacy.customers`, `privacy.lookup`, `privacy.tickets`).
    func privacyTableCount(_ name: String) throws -> Int {
        let db = try log.environment.openDatabase(name)
        return try log.environment.read { try $0.count(db) }
    }

    /// Every entry of a privacy table, as hex key → hex value.
    func privacyTable(_ name: String) throws -> [String: String] {
        let db = try log.environment.openDatabase(name)
        return try log.environment.read { txn in
            var out: [String: String] = [:]
            try txn.withCursor(db) { c in
                var e = try c.first()
                while let entry = e {
                    out[Array(entry.key).hex] = Array(entry.value).hex
                    e = try c.next()
                }
            }
            return out
        }
    }

    /// The ids of every event in the log.
    func eventIDs() throws -> Set<String> {
        Set(try log.events().map(\.id.uuidString))
    }
}

extension Ledger {
    /// Decodes `lines` and appends them as one batch prepared on `parts` threads (what an import
    /// does on a machine with `parts + 1` cores); returns how many were appended.
    func appendPrepared(_ lines: [String], parts: Int) throws -> Int {
        let decoder = EventDecoder(mode: .interchange)
        let events = try lines.map { line in try Array(line.utf8).withUnsafeBytes { try decoder.decode($0) } }
        let prepared = PreparedBatch(events, ledger: self, parts: parts)
        return try log.appendSync(prepared.drafts, hook: LedgerHook(prepared, ledger: self)).appended
    }
}
