import Crypto
import Foundation
import LMDB

/// Per-customer keys for personal data, held apart from the log (in its own
/// LMDB environment, `keys/`, files 0600), so that erasing a customer destroys
/// the key while the log stays immutable and verifiable.
///
/// - A customer id is stored in the log only as its pseudonym,
///   `cus_` + the first 16 bytes (hex) of HMAC-SHA256(pseudonym secret, id).
/// - `customer.name` and `customer.phone` are sealed with AES-256-GCM under the
///   customer's key, the event id as associated data.
/// - Content digests for idempotency are HMAC-SHA256(digest secret, canonical plaintext),
///   so a retried line is recognised without keeping personal data in clear.
public final class CustomerKeys: @unchecked Sendable {
    let environment: Environment
    private let secrets: Database
    private let customers: Database
    var customersDatabase: Database { customers }
    /// Keyed HMAC states, copied per message (re-keying HMAC for every event costs two SHA-256 blocks).
    private let pseudonymMAC: HMAC<SHA256>
    private let digestMAC: HMAC<SHA256>
    private let lock = NSLock()
    private var cache: [String: SymmetricKey] = [:]
    private var pseudonyms: [String: String] = [:]
    /// pseudonym → real id, for keys that exist (dropped on destruction).
    private var ids: [String: String] = [:]

    init(path: String, readOnly: Bool) throws {
        var options = Environment.Options()
        options.readOnly = readOnly
        options.mapSize = 16 << 20
        let environment = try Environment(path: path, options: options)
        let secrets = try environment.openDatabase("secrets")
        self.environment = environment
        self.secrets = secrets
        customers = try environment.openDatabase("customers")
        func secret(_ name: String) throws -> SymmetricKey {
            let key = Array(name.utf8)
            if let existing = try environment.read({ try $0.get(secrets, key: key) }) { return SymmetricKey(data: existing) }
            guard !readOnly else { throw LedgerError.missing("the ledger's \(name) secret") }
            return try environment.write { txn in
                if let raced = try txn.get(secrets, key: key) { return SymmetricKey(data: raced) }
                let fresh = SymmetricKey(size: .bits256)
                try txn.put(secrets, key: key, value: fresh.withUnsafeBytes { Array($0) })
                return fresh
            }
        }
        pseudonymMAC = HMAC<SHA256>(key: try secret("pseudonym"))
        digestMAC = HMAC<SHA256>(key: try secret("digest"))
    }

    /// The stable pseudonym of a customer id.
    public func pseudonym(_ customerID: String) -> String {
        lock.lock()
        let known = pseudonyms[customerID]
        lock.unlock()
        if let known { return known }
        var mac = pseudonymMAC
        mac.update(data: Array(customerID.utf8))
        let p = "cus_" + Array(mac.finalize()).prefix(16).hex
        lock.lock()
        if pseudonyms.count >= 200_000 { pseudonyms.removeAll(keepingCapacity: true) }  // bounded memory
        pseudonyms[customerID] = p
        lock.unlock()
        return p
    }

    /// HMAC-SHA256 of an event's canonical plaintext bytes.
    public func digest(_ bytes: [UInt8]) -> [UInt8] {
        var mac = digestMAC
        mac.update(data: bytes)
        return Array(mac.finalize())
    }

    /// Creates keys for the customers that have none (one durable transaction).
    /// - Parameter after: the log's head seq now; an erasure with a later seq destroys these keys.
    func ensureKeys(_ customers: [(pseudonym: String, id: String)], after seq: UInt64) throws {
        let missing = try environment.read { txn in
            try customers.filter { try Array($0.pseudonym.utf8).withUnsafeBytes { try txn.get(self.customers, key: $0) } == nil }
        }
        guard !missing.isEmpty else { return }
        try environment.write { txn in
            for c in missing {
                let k = Array(c.pseudonym.utf8)
                if try txn.get(self.customers, key: k) != nil { continue }
                let key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
                try txn.put(self.customers, key: k, value: key + BigEndianKey.bytes(seq) + Array(c.id.utf8))
            }
        }
    }

    private func record(_ pseudonym: String) throws -> (key: SymmetricKey, createdAfter: UInt64, id: String)? {
        try environment.read { txn in
            guard let v = try Array(pseudonym.utf8).withUnsafeBytes({ try txn.get(customers, key: $0) }), v.count >= 40 else { return nil }
            return (SymmetricKey(data: Array(v[0..<32])), BigEndianKey.uint64(v, at: 32), String(decoding: v[40...], as: UTF8.self))
        }
    }

    /// The customer's real id, or nil once erased.
    public func customerID(_ pseudonym: String) throws -> String? {
        lock.lock(); let known = ids[pseudonym]; lock.unlock()
        if let known { return known }
        guard let r = try record(pseudonym) else { return nil }
        lock.lock()
        if ids.count >= 200_000 { ids.removeAll(keepingCapacity: true) }
        ids[pseudonym] = r.id
        if cache.count >= 200_000 { cache.removeAll(keepingCapacity: true) }
        cache[pseudonym] = r.key
        lock.unlock()
        return r.id
    }

    /// Seals `plaintext` for the customer (whose key must exist).
    func seal(_ plaintext: [UInt8], pseudonym: String, eventID: [UInt8]) throws -> String {
        guard let key = try key(pseudonym) else { throw LedgerError.missing("a key for customer \(pseudonym)") }
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: eventID)
        return box.combined!.base64EncodedString()
    }

    /// Opens a sealed value, or nil when the key is gone (erased) or the value does not authenticate.
    public func unseal(_ sealed: String, pseudonym: String, eventID: [UInt8]) throws -> [UInt8]? {
        guard let key = try key(pseudonym), let data = Data(base64Encoded: sealed),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: key, authenticating: eventID) else { return nil }
        return Array(plain)
    }

    private func key(_ pseudonym: String) throws -> SymmetricKey? {
        lock.lock(); let cached = cache[pseudonym]; lock.unlock()
        if let cached { return cached }
        guard let r = try record(pseudonym) else { return nil }
        lock.lock(); cache[pseudonym] = r.key; lock.unlock()
        return r.key
    }

    /// Destroys the customer's key if it existed before the erasure at `erasedSeq`.
    func destroy(_ pseudonym: String, erasedSeq: UInt64) throws {
        try environment.write { txn in
            let k = Array(pseudonym.utf8)
            guard let v = try txn.get(customers, key: k), v.count >= 40 else { return }
            if BigEndianKey.uint64(v.withUnsafeBytes { $0 }, at: 32) < erasedSeq { try txn.delete(customers, key: k) }
        }
        try environment.sync()
        lock.lock(); cache[pseudonym] = nil; ids[pseudonym] = nil; lock.unlock()
    }
}

/// Failures of the ledger itself.
public enum LedgerError: Error, CustomStringConvertible, Sendable {
    case missing(String)
    case notFound(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .missing(let what): return "missing \(what)"
        case .notFound(let what): return "\(what) not found"
        case .invalid(let why): return why
        }
    }
}
