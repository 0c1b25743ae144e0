import Crypto
import EscalationDomain
import EventLog
import Foundation

/// The export bundle's layout (docs/EXPORT.md): `events.jsonl`, `events.csv`,
/// `personal.jsonl` and a signed `manifest.json`.
public enum Bundle {
    public static let format = "escalation-ledger-bundle/1"
    public static let eventsFile = "events.jsonl"
    public static let csvFile = "events.csv"
    public static let personalFile = "personal.jsonl"
    public static let manifestFile = "manifest.json"

    /// One `events.jsonl` line (without the newline): canonical JSON with keys sorted, the
    /// stored payload embedded as it is under `event`.
    public static func line(payload: [UInt8], hash: [UInt8], id: String, prevHash: [UInt8], recordedAtMicros: Int64,
                            seq: UInt64, stream: String, version: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 320)
        func text(_ s: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        func string(_ s: String) { out.append(contentsOf: s.utf8) }
        func hex(_ bytes: [UInt8]) {
            let digits: StaticString = "0123456789abcdef"
            for b in bytes { out.append(digits.utf8Start[Int(b >> 4)]); out.append(digits.utf8Start[Int(b & 15)]) }
        }
        text(#"{"event":"#); out += payload
        text(#","hash":""#); hex(hash)
        text(#"","id":""#); string(id)
        text(#"","prevHash":""#); hex(prevHash)
        text(#"","recordedAt":""#); string(recordedAtText(recordedAtMicros))
        text(#"","recordedAtMicros":"#); string(String(recordedAtMicros))
        text(#","seq":"#); string(String(seq))
        text(#","stream":"#); appendJSONString(stream, to: &out)
        text(#","version":"#); string(String(version)); text("}")
        return out
    }

    /// RFC 3339 UTC with exactly six fraction digits.
    public static func recordedAtText(_ micros: Int64) -> String {
        let whole = micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000
        let t = Timestamp(microsecondsSinceEpoch: whole).description  // "...:SSZ"
        let digits = String(micros - whole)
        return String(t.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// A JSON string as Python's `json.dumps(..., ensure_ascii=False)` writes it.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) { JSONString.append(s, to: &out) }

    /// The manifest's signed bytes: its canonical JSON without `signature`.
    public static func signedBytes(_ manifest: [String: CanonicalJSON]) -> [UInt8] {
        var m = manifest
        m["signature"] = nil
        return CanonicalJSON.object(m).encoded
    }
}

/// The outcome of checking a bundle.
public struct BundleVerification: Sendable, Equatable {
    public var ok: Bool
    /// Events checked.
    public var checked: Int
    /// The first line of events.jsonl found bad (1-based), when a line is to blame.
    public var firstBadLine: Int?
    /// Its seq, when it could be read.
    public var firstBadSeq: UInt64?
    public var problem: String?
}

/// Checks a bundle with nothing but its files (and, optionally, the public key the auditor trusts):
/// the manifest's signature; each line's canonical form, record hash and chain step; the chain's
/// continuity for contiguous exports; the Merkle root; the count; and every file's SHA-256.
public enum BundleVerifier {
    public static func verify(directory: String, trustedPublicKey: [UInt8]? = nil) -> BundleVerification {
        var checked = 0
        func bad(_ line: Int?, _ seq: UInt64?, _ why: String) -> BundleVerification {
            BundleVerification(ok: false, checked: checked, firstBadLine: line, firstBadSeq: seq, problem: why)
        }
        let dir = URL(fileURLWithPath: directory)
        guard let manifestData = try? Data(contentsOf: dir.appendingPathComponent(Bundle.manifestFile)),
              let manifestJSON = try? CanonicalJSON.parse(Array(manifestData).trimmingTrailingNewline()),
              let manifest = manifestJSON.objectValue else {
            return bad(nil, nil, "manifest.json is missing or not JSON")
        }
        // 1. The signature.
        guard manifest["format"]?.stringValue == Bundle.format else { return bad(nil, nil, "manifest format is not \(Bundle.format)") }
        guard let keyHex = manifest["publicKey"]?.stringValue, let key = Hex.decode(keyHex),
              let sigHex = manifest["signature"]?.stringValue, let signature = Hex.decode(sigHex) else {
            return bad(nil, nil, "manifest lacks publicKey or signature")
        }
        if let trusted = trustedPublicKey, trusted != key { return bad(nil, nil, "manifest is signed by \(keyHex), not the trusted key") }
        guard SigningKeyFile.verify(publicKey: key, signature: signature, message: Bundle.signedBytes(manifest)) else {
            return bad(nil, nil, "manifest signature does not verify")
        }
        guard let count = manifest["count"]?.integerValue, let rootHex = manifest["merkleRoot"]?.stringValue,
              let beforeHex = manifest["chainBefore"]?.stringValue, let afterHex = manifest["chainAfter"]?.stringValue,
              case .bool(let contiguous)? = manifest["contiguous"], let files = manifest["files"]?.objectValue else {
            return bad(nil, nil, "manifest lacks count, merkleRoot, chainBefore, chainAfter, contiguous or files")
        }
        // 2. Each line.
        guard let events = try? Data(contentsOf: dir.appendingPathComponent(Bundle.eventsFile)) else {
            return bad(nil, nil, "events.jsonl is missing")
        }
        let decoder = EventDecoder(mode: .stored)
        var accumulator = MerkleRootAccumulator()
        var previousHash = Hex.decode(beforeHex) ?? []
        var previousSeq: UInt64?
        var lineNumber = 0
        let bytes = Array(events)
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let line = Array(bytes[start..<end])
            start = end + 1
            lineNumber += 1
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let hashHex = object["hash"] as? String, let hash = Hex.decode(hashHex),
                  let idText = object["id"] as? String, let id = EventID(idText),
                  let prevHex = object["prevHash"] as? String, let prev = Hex.decode(prevHex),
                  let micros = (object["recordedAtMicros"] as? NSNumber)?.int64Value,
                  let seq = (object["seq"] as? NSNumber)?.uint64Value, let stream = object["stream"] as? String,
                  let version = (object["version"] as? NSNumber)?.uint64Value,
                  let marker = line.lastRange(of: Array(#","hash":""#.utf8)), line.starts(with: Array(#"{"event":"#.utf8)) else {
                return bad(lineNumber, nil, "line \(lineNumber) is not a bundle line")
            }
            let payload = Array(line[9..<marker.lowerBound])
            guard let event = try? decoder.decode(payload), EventEncoder.encode(event) == payload else {
                return bad(lineNumber, seq, "line \(lineNumber): the event is not in canonical stored form")
            }
            guard event.id == id, idText == event.id.description, event.stream == stream else {
                return bad(lineNumber, seq, "line \(lineNumber): id or stream differs from the event's")
            }
            let rebuilt = Bundle.line(payload: payload, hash: hash, id: idText, prevHash: prev, recordedAtMicros: micros,
                                      seq: seq, stream: stream, version: version)
            guard rebuilt == line else { return bad(lineNumber, seq, "line \(lineNumber) is not in canonical form") }
            let record = RecordLayout.encode(seq: seq, recordedAt: micros, version: version,
                                             id: id.bytes.withUnsafeBytes { RecordID(bytes: $0) }, stream: Array(stream.utf8), payload: payload)
            var chain = SHA256(); chain.update(data: prev); chain.update(data: record)
            guard Array(chain.finalize()) == hash else {
                return bad(lineNumber, seq, "line \(lineNumber) (seq \(seq)): hash does not match its record")
            }
            if contiguous {
                if let p = previousSeq, seq != p + 1 { return bad(lineNumber, seq, "line \(lineNumber): seq \(seq) does not follow \(p)") }
                guard prev == previousHash else { return bad(lineNumber, seq, "line \(lineNumber) (seq \(seq)): chain broken (prevHash is not the previous line's hash)") }
            } else if let p = previousSeq, seq <= p {
                return bad(lineNumber, seq, "line \(lineNumber): seq \(seq) is out of order")
            }
            previousHash = hash
            previousSeq = seq
            accumulator.append(leaf: record)  // RFC 9162: SHA-256(0x00 ‖ record)
            checked += 1
        }
        // 3. The whole: count, last hash, Merkle root, file digests.
        guard Int64(checked) == count else {
            return bad(lineNumber + 1, nil, "events.jsonl has \(checked) events, the manifest says \(count)")
        }
        if checked > 0 && Hex.encode(previousHash) != afterHex {
            return bad(lineNumber, previousSeq, "the last event's hash is not the manifest's chainAfter")
        }
        guard accumulator.root.hex == rootHex else {
            return bad(nil, nil, "the Merkle root of the events is \(accumulator.root.hex), the manifest says \(rootHex)")
        }
        for (name, entry) in files.sorted(by: { $0.key < $1.key }) {
            guard !name.contains("/"), !name.hasPrefix(".") else { return bad(nil, nil, "manifest names a file outside the bundle: \(name)") }
            guard let digest = entry.objectValue?["sha256"]?.stringValue,
                  let data = try? Data(contentsOf: dir.appendingPathComponent(name)) else {
                return bad(nil, nil, "\(name) is missing")
            }
            if Hex.encode(Array(SHA256.hash(data: data))) != digest {
                return bad(nil, nil, "\(name) does not match its SHA-256 in the manifest")
            }
        }
        return BundleVerification(ok: true, checked: checked, firstBadLine: nil, firstBadSeq: nil, problem: nil)
    }
}

extension Array where Element == UInt8 {
    func trimmingTrailingNewline() -> [UInt8] {
        var a = self
        while let l = a.last, l == 0x0A || l == 0x0D || l == 0x20 { a.removeLast() }
        return a
    }

    func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard needle.count <= count else { return nil }
        var i = count - needle.count
        while i >= 0 {
            if self[i..<i + needle.count].elementsEqual(needle) { return i..<i + needle.count }
            i -= 1
        }
        return nil
    }
}
