#!/usr/bin/env python3
"""Checks an escalation-ledger export bundle, a ticket proof or a consistency proof
with nothing but the files (docs/EXPORT.md, docs/VERIFY.md). An independent second
implementation of the ledger's BundleVerifier: Python's standard library, plus the
`cryptography` package for Ed25519 signatures when it is installed.

    verify_bundle.py BUNDLE_DIR [--public-key HEX]
    verify_bundle.py --proof PROOF.json [--public-key HEX]
    verify_bundle.py --consistency PROOF.json --old CHECKPOINT.json [--public-key HEX]

  --public-key HEX     the ledger's Ed25519 public key (64 hex digits) you trust; without
                       it the signature only shows the files were not changed after whoever
                       holds the key in the manifest (or checkpoint) signed them.
  --require-signature  treat a missing `cryptography` package as an error (exit 1)
                       instead of checking everything but the signature.

Prints one JSON line on stdout (a sentence about any problem goes to stderr):

  bundle:      {"ok":bool,"checked":N,"firstBadLine":N|null,"firstBadSeq":N|null,
                "problem":str|null,"signatureChecked":bool}
  proof:       {"ok":bool,"checked":N,"firstBadProof":N|null,"firstBadSeq":N|null,
                "problem":str|null,"signatureChecked":bool,"ticket":str|null,
                "treeSize":N|null,"rootHash":hex|null}
  consistency: {"ok":bool,"oldSize":N|null,"newSize":N|null,"oldRoot":hex|null,
                "newRoot":hex|null,"problem":str|null,"signatureChecked":bool}

Exit status: 0 when everything checked is sound, 4 on damage (the first problem is
named), 1 on usage errors (or --require-signature without `cryptography`).

Without the `cryptography` package the Ed25519 signatures are NOT checked: a warning
says so on stderr, "signatureChecked" is false, and every other check still runs; the
exit status is then 0 unless something else is wrong.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import struct
import sys
import uuid

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    HAVE_ED25519 = True
except ImportError:
    HAVE_ED25519 = False

BUNDLE_FORMAT = "escalation-ledger-bundle/1"
EVENTS, CSV, PERSONAL, MANIFEST = "events.jsonl", "events.csv", "personal.jsonl", "manifest.json"
LINE_KEYS = {"event", "hash", "id", "prevHash", "recordedAt", "recordedAtMicros", "seq", "stream", "version"}
STH_KEYS = {"treeSize", "rootHash", "timestamp", "publicKey", "signature"}
HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")
HASH_HEX = re.compile(r"\A[0-9a-f]{64}\Z")
UUID_TEXT = re.compile(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
EXIT_OK, EXIT_USAGE, EXIT_DAMAGED = 0, 1, 4
U64, I64 = 1 << 64, 1 << 63


# ---------------------------------------------------------------------------------------------
# Encodings

def canonical(value, ascii_only):
    """Canonical JSON bytes: keys sorted by code point, no whitespace. The manifest and signed
    tree heads use the ASCII-only form; events.jsonl lines and payloads keep UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ascii_only).encode("utf-8")


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r" % k)
        obj[k] = v
    return obj


def _refuse(text):
    raise ValueError("%s is not allowed here" % text)


def parse_json(data, integers_only):
    """Strict JSON: valid UTF-8, no duplicate keys, no NaN/Infinity, and (when asked) no fractions."""
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse,
                      parse_float=_refuse if integers_only else float)


def is_int(v):
    return type(v) is int  # bool is a subclass of int: not accepted


def hex_bytes(v):
    """The bytes of a hex string (either case, even length), else None."""
    return bytes.fromhex(v) if isinstance(v, str) and HEX.match(v) else None


def file_digest(path):
    """(SHA-256 hex, size) of a file, read in chunks; None when it cannot be read."""
    h, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    return h.hexdigest(), size


def recorded_at_text(micros):
    """RFC 3339 UTC with exactly six fraction digits (the line's `recordedAt`)."""
    seconds, fraction = divmod(micros, 1_000_000)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (t.year, t.month, t.day, t.hour, t.minute, t.second, fraction)


def stream_of(event):
    """The stream an event belongs to (docs/FORMAT.md): staff events by staff, compliance events
    by customer pseudonym, exportMade in `ledger`, everything else by ticket."""
    kind = event.get("type")
    if kind in ("staffEnrolled", "staffReassigned"):
        return "staff:%s" % event.get("staff")
    if kind in ("legalHoldPlaced", "legalHoldReleased", "personalDataErased"):
        return "customer:%s" % event.get("customer")
    if kind == "exportMade":
        return "ledger"
    return "ticket:%s" % (event.get("ticket") or "")


def build_record(seq, micros, version, id_bytes, stream, payload):
    """The stored record (docs/FORMAT.md, "The record"), all integers big-endian."""
    return struct.pack(">BQqQ", 1, seq, micros, version) + id_bytes + struct.pack(">H", len(stream)) + stream + payload


def parse_record(record):
    """(seq, recordedAt, version, id bytes, stream bytes, payload) of a stored record, or None."""
    if len(record) < 43 or record[0] != 1:
        return None
    seq, micros, version = struct.unpack(">QqQ", record[1:25])
    (length,) = struct.unpack(">H", record[41:43])
    if len(record) < 43 + length:
        return None
    return seq, micros, version, record[25:41], record[43:43 + length], record[43 + length:]


# ---------------------------------------------------------------------------------------------
# RFC 9162 section 2.1 Merkle trees, written from the RFC's text.

def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(record):
    return sha256(b"\x00" + record)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


class MerkleRoot:
    """MTH (RFC 9162 2.1.1) of leaves given one at a time.

    MTH splits n leaves at the largest power of two k < n, so the tree of n leaves is a row of
    perfect subtrees, one per set bit of n, largest first, and its root folds them from the
    right: MTH = node(P1, node(P2, ... node(Pj-1, Pj))). Appending a leaf works like adding 1 to
    a binary counter: while the lowest bits of the old size are set, the new leaf's subtree merges
    with the equal-sized subtree on its left. Memory: one hash per set bit of n.
    """

    def __init__(self):
        self.size = 0
        self.peaks = []

    def append(self, leaf):
        h, n = leaf, self.size
        while n & 1:
            h = node_hash(self.peaks.pop(), h)
            n >>= 1
        self.peaks.append(h)
        self.size += 1

    def root(self):
        if not self.peaks:
            return sha256(b"")  # MTH({}) = HASH()
        r = self.peaks[-1]
        for p in reversed(self.peaks[:-1]):
            r = node_hash(p, r)
        return r


def root_from_inclusion_path(leaf_index, tree_size, leaf, path):
    """RFC 9162 2.1.3.2: the root an audit path leads to, or None when the path cannot be one for
    this index and size (fn walks the leaf's index up the tree, sn the last leaf's: where they
    meet the sibling is on the left; a left child on the tree's right edge has no sibling at that
    level and rises until it becomes a right child)."""
    if not 0 <= leaf_index < tree_size:
        return None
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return None  # more hashes than levels
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None  # sn != 0: too few hashes


def consistency_holds(old_size, new_size, old_root, new_root, proof):
    """RFC 9162 2.1.4.2: None when the tree (new_size, new_root) extends (old_size, old_root)
    by `proof`, else the reason it does not. The proof rebuilds both roots from the same hashes:
    fr only from those left of the old tree's edge, sr from all of them."""
    if old_size <= 0:
        return "a consistency proof from the empty tree proves nothing"
    if old_size > new_size:
        return "the old tree (%d) is larger than the new one (%d)" % (old_size, new_size)
    if old_size == new_size:
        if proof:
            return "the sizes are equal, so the proof must be empty"
        return None if old_root == new_root else "the sizes are equal but the roots differ"
    if not proof:
        return "the sizes differ but the proof is empty"
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)  # the old tree is a perfect subtree: its root is the seed
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return "the proof has more hashes than these sizes allow"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "the proof has fewer hashes than these sizes need"
    if fr != old_root:
        return "the proof does not lead to the old root (computed %s)" % fr.hex()
    if sr != new_root:
        return "the proof does not lead to the new root (computed %s)" % sr.hex()
    return None


# ---------------------------------------------------------------------------------------------
# Ed25519

def signature_verdict(public_key, signature, message):
    """True or False when checked; None when the `cryptography` package is absent."""
    if public_key is None or signature is None or len(public_key) != 32 or len(signature) != 64:
        return False
    if not HAVE_ED25519:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


class Damage(Exception):
    def __init__(self, problem, line=None, seq=None):
        super().__init__(problem)
        self.problem, self.line, self.seq = problem, line, seq


# ---------------------------------------------------------------------------------------------
# Bundles: the same checks, in the same order, as BundleVerifier (Sources/Compliance/Bundle.swift),
# then a few more that only a wrongly made manifest can fail (marked "beyond BundleVerifier").

def verify_bundle(directory, trusted_key):
    out = {"ok": True, "checked": 0, "firstBadLine": None, "firstBadSeq": None, "problem": None,
           "signatureChecked": False}
    try:
        _verify_bundle(directory, trusted_key, out)
    except Damage as d:
        out.update(ok=False, firstBadLine=d.line, firstBadSeq=d.seq, problem=d.problem)
    return out


def _verify_bundle(directory, trusted_key, out):
    # 1. The manifest and its signature.
    try:
        with open(os.path.join(directory, MANIFEST), "rb") as f:
            manifest = parse_json(f.read().rstrip(b"\n\r "), integers_only=True)
    except (OSError, ValueError, RecursionError):
        manifest = None
    if not isinstance(manifest, dict):
        raise Damage("manifest.json is missing or not JSON")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise Damage("manifest format is not %s" % BUNDLE_FORMAT)
    key, signature = hex_bytes(manifest.get("publicKey")), hex_bytes(manifest.get("signature"))
    if key is None or signature is None:
        raise Damage("manifest lacks publicKey or signature")
    if trusted_key is not None and trusted_key != key:
        raise Damage("manifest is signed by %s, not the trusted key" % manifest["publicKey"])
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    verdict = signature_verdict(key, signature, canonical(unsigned, ascii_only=True))
    if verdict is False:
        raise Damage("manifest signature does not verify")
    out["signatureChecked"] = verdict is True
    count, root_hex = manifest.get("count"), manifest.get("merkleRoot")
    before_hex, after_hex = manifest.get("chainBefore"), manifest.get("chainAfter")
    contiguous, files = manifest.get("contiguous"), manifest.get("files")
    if not (is_int(count) and isinstance(root_hex, str) and isinstance(before_hex, str) and isinstance(after_hex, str)
            and isinstance(contiguous, bool) and isinstance(files, dict)):
        raise Damage("manifest lacks count, merkleRoot, chainBefore, chainAfter, contiguous or files")

    # 2. Each line of events.jsonl, read one at a time (a bundle may hold millions).
    try:
        events = open(os.path.join(directory, EVENTS), "rb")
    except OSError:
        raise Damage("events.jsonl is missing")
    with events:
        number, previous_hash, previous_seq, first_seq, tree, oddities = _check_lines(events, manifest, before_hex,
                                                                                     contiguous, out)

    # 3. The whole: count, last hash, Merkle root, file digests.
    checked = out["checked"]
    if checked != count:
        raise Damage("events.jsonl has %d events, the manifest says %d" % (checked, count), number + 1)
    if checked > 0 and previous_hash.hex() != after_hex:
        raise Damage("the last event's hash is not the manifest's chainAfter", number, previous_seq)
    root = tree.root().hex()
    if root != root_hex:
        raise Damage("the Merkle root of the events is %s, the manifest says %s" % (root, root_hex))
    for name in sorted(files):
        entry = files[name]
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise Damage("the manifest names %r, which is not a file of the bundle" % name)  # beyond BundleVerifier
        actual = file_digest(os.path.join(directory, name))
        if not isinstance(digest, str) or actual is None:
            raise Damage("%s is missing" % name)
        if actual[0] != digest:
            raise Damage("%s does not match its SHA-256 in the manifest" % name)
        if entry.get("bytes") is not None and entry.get("bytes") != actual[1]:  # beyond BundleVerifier
            raise Damage("%s has %d bytes, the manifest says %r" % (name, actual[1], entry.get("bytes")))

    # 4. Beyond BundleVerifier: the manifest's other claims match the lines.
    for name in (EVENTS, CSV, PERSONAL):
        if name not in files:
            raise Damage("the manifest does not list %s" % name)
    if checked > 0 and (manifest.get("firstSeq") != first_seq or manifest.get("lastSeq") != previous_seq):
        raise Damage("the manifest's firstSeq/lastSeq (%r/%r) are not the first and last lines' seqs (%d/%d)"
                     % (manifest.get("firstSeq"), manifest.get("lastSeq"), first_seq, previous_seq))
    rng = manifest.get("range")
    if not (isinstance(rng, dict) and is_int(rng.get("fromSeq")) and is_int(rng.get("toSeq"))):
        raise Damage("the manifest lacks range.fromSeq and range.toSeq")
    low, high = rng["fromSeq"], rng["toSeq"]
    if "range" in oddities:
        n, seq = oddities["range"]
        raise Damage("line %d: seq %d is outside the manifest's range %d..%d" % (n, seq, low, high), n, seq)
    if contiguous and checked != max(0, high - low + 1):
        raise Damage("a contiguous export of seqs %d..%d must hold %d events, it holds %d"
                     % (low, high, max(0, high - low + 1), checked))
    if "stream" in oddities:
        n, seq, stream = oddities["stream"]
        raise Damage("line %d: stream %s is not the exported ticket's" % (n, stream), n, seq)


def _check_lines(events, manifest, before_hex, contiguous, out):
    """Checks each line (step 2); returns the last line number, hash and seq, the first seq, the
    Merkle accumulator, and what the checks beyond BundleVerifier need to know (the first line
    outside the manifest's range, and the first line of another stream in a ticket bundle)."""
    tree = MerkleRoot()
    previous_hash = hex_bytes(before_hex) or b""
    previous_seq = first_seq = None
    rng = manifest.get("range") if isinstance(manifest.get("range"), dict) else {}
    low, high, ticket = rng.get("fromSeq"), rng.get("toSeq"), rng.get("ticket")
    oddities = {}
    number = 0
    for number, line in enumerate(events, start=1):
        if line.endswith(b"\n"):
            line = line[:-1]
        obj = _bundle_line(line)
        if obj is None:
            raise Damage("line %d is not a bundle line" % number, number)
        seq, micros, version, stream = obj["seq"], obj["recordedAtMicros"], obj["version"], obj["stream"]
        event = obj["event"]
        # The stored payload is the event in canonical form (docs/FORMAT.md); the whole line is too.
        try:
            payload = canonical(event, ascii_only=False)
            line_is_canonical = canonical(obj, ascii_only=False) == line
        except (UnicodeEncodeError, ValueError):
            line_is_canonical = False  # e.g. a lone surrogate written as \udXXX
        if not line_is_canonical:
            raise Damage("line %d is not in canonical form" % number, number, seq)
        if event.get("id") != obj["id"] or stream_of(event) != stream:
            raise Damage("line %d: id or stream differs from the event's" % number, number, seq)
        ident = uuid.UUID(obj["id"])
        if (str(ident) != obj["id"] or not HASH_HEX.match(obj["hash"]) or not HASH_HEX.match(obj["prevHash"])
                or obj["recordedAt"] != recorded_at_text(micros)):
            raise Damage("line %d is not in canonical form" % number, number, seq)
        prev, stream_bytes = bytes.fromhex(obj["prevHash"]), stream.encode("utf-8")
        if len(stream_bytes) > 0xFFFF:
            raise Damage("line %d is not a bundle line" % number, number)
        record = build_record(seq, micros, version, ident.bytes, stream_bytes, payload)
        if sha256(prev + record).hex() != obj["hash"]:
            raise Damage("line %d (seq %d): hash does not match its record" % (number, seq), number, seq)
        if contiguous:
            if previous_seq is not None and seq != previous_seq + 1:
                raise Damage("line %d: seq %d does not follow %d" % (number, seq, previous_seq), number, seq)
            if prev != previous_hash:
                raise Damage("line %d (seq %d): chain broken (prevHash is not the previous line's hash)" % (number, seq),
                             number, seq)
        elif previous_seq is not None and seq <= previous_seq:
            raise Damage("line %d: seq %d is out of order" % (number, seq), number, seq)
        previous_hash, previous_seq = bytes.fromhex(obj["hash"]), seq
        tree.append(leaf_hash(record))
        if first_seq is None:
            first_seq = seq
        if "range" not in oddities and not (is_int(low) and is_int(high) and low <= seq <= high):
            oddities["range"] = (number, seq)
        if ticket is not None and "stream" not in oddities and stream != "ticket:" + str(ticket):
            oddities["stream"] = (number, seq, stream)
        out["checked"] += 1
    return number, previous_hash, previous_seq, first_seq, tree, oddities


def _bundle_line(line):
    """The line as a JSON object with fields of the right types, else None."""
    try:
        obj = parse_json(line, integers_only=False)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or set(obj) != LINE_KEYS or not line.startswith(b'{"event":'):
        return None
    ok = (isinstance(obj["event"], dict) and isinstance(obj["stream"], str) and isinstance(obj["recordedAt"], str)
          and hex_bytes(obj["hash"]) is not None and hex_bytes(obj["prevHash"]) is not None
          and is_int(obj["seq"]) and 0 <= obj["seq"] < U64 and is_int(obj["version"]) and 0 <= obj["version"] < U64
          and is_int(obj["recordedAtMicros"]) and 0 <= obj["recordedAtMicros"] < I64
          and isinstance(obj["id"], str) and UUID_TEXT.match(obj["id"]) is not None)
    return obj if ok else None


# ---------------------------------------------------------------------------------------------
# Signed tree heads and proof documents

def parse_checkpoint(value, what):
    """A signed tree head object (docs/EXPORT.md) -> dict with decoded fields; raises Damage."""
    if not isinstance(value, dict) or set(value) != STH_KEYS:
        raise Damage("%s is not a signed tree head (fields %s)" % (what, sorted(STH_KEYS)))
    size, timestamp = value["treeSize"], value["timestamp"]
    root, key, sig = hex_bytes(value["rootHash"]), hex_bytes(value["publicKey"]), hex_bytes(value["signature"])
    if not (is_int(size) and size >= 0 and is_int(timestamp) and root is not None and len(root) == 32
            and key is not None and sig is not None):
        raise Damage("%s has a malformed field" % what)
    return {"treeSize": size, "timestamp": timestamp, "rootHash": root, "publicKey": key, "signature": sig}


def check_checkpoint(sth, what, trusted_key):
    """Checks the head's key and signature; returns True when verified, None when not checked."""
    if trusted_key is not None and sth["publicKey"] != trusted_key:
        raise Damage("%s is signed by %s, not the trusted key" % (what, sth["publicKey"].hex()))
    signed = canonical({"publicKey": sth["publicKey"].hex(), "rootHash": sth["rootHash"].hex(),
                        "timestamp": sth["timestamp"], "treeSize": sth["treeSize"]}, ascii_only=True)
    verdict = signature_verdict(sth["publicKey"], sth["signature"], signed)
    if verdict is False:
        raise Damage("the signature of %s does not verify" % what)
    return verdict


def load_document(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return parse_json(data.strip(), integers_only=True)
    except (ValueError, RecursionError) as e:
        raise Damage("%s is not JSON (%s)" % (path, e))


def verify_ticket_proof(path, trusted_key):
    out = {"ok": True, "checked": 0, "firstBadProof": None, "firstBadSeq": None, "problem": None,
           "signatureChecked": False, "ticket": None, "treeSize": None, "rootHash": None}
    try:
        doc = load_document(path)
        if not isinstance(doc, dict) or set(doc) != {"checkpoint", "proofs", "ticket"}:
            raise Damage("not a ticket proof document (fields checkpoint, proofs, ticket)")
        ticket, proofs = doc["ticket"], doc["proofs"]
        if not isinstance(ticket, str) or not isinstance(proofs, list) or not proofs:
            raise Damage("the ticket must be a string and proofs a non-empty list")
        out["ticket"] = ticket
        sth = parse_checkpoint(doc["checkpoint"], "the checkpoint")
        out.update(treeSize=sth["treeSize"], rootHash=sth["rootHash"].hex())
        out["signatureChecked"] = check_checkpoint(sth, "the checkpoint", trusted_key) is True
        previous_seq = 0
        for number, proof in enumerate(proofs, start=1):
            _check_inclusion(number, proof, ticket, sth, previous_seq)
            previous_seq = proof["seq"]
            out["checked"] += 1
    except Damage as d:
        out.update(ok=False, firstBadProof=d.line, firstBadSeq=d.seq, problem=d.problem)
    return out


def _check_inclusion(number, proof, ticket, sth, previous_seq):
    keys = {"leafHash", "leafIndex", "path", "record", "seq"}
    if not isinstance(proof, dict) or set(proof) != keys:
        raise Damage("proof %d is not an inclusion proof (fields %s)" % (number, sorted(keys)), number)
    seq, index, path = proof["seq"], proof["leafIndex"], proof["path"]
    record, leaf = hex_bytes(proof["record"]), hex_bytes(proof["leafHash"])
    if not (is_int(seq) and is_int(index) and record is not None and leaf is not None and len(leaf) == 32
            and isinstance(path, list) and all(hex_bytes(p) is not None and len(hex_bytes(p)) == 32 for p in path)):
        raise Damage("proof %d has a malformed field" % number, number, seq if is_int(seq) else None)
    fields = parse_record(record)
    if fields is None or fields[0] != seq or index != seq - 1:
        raise Damage("proof %d: the record, seq and leafIndex do not agree" % number, number, seq)
    if leaf_hash(record) != leaf:
        raise Damage("proof %d (seq %d): leafHash is not SHA-256(0x00 || record)" % (number, seq), number, seq)
    root = root_from_inclusion_path(index, sth["treeSize"], leaf, [bytes.fromhex(p) for p in path])
    if root is None:
        raise Damage("proof %d (seq %d): the path has the wrong length for leaf %d of %d"
                     % (number, seq, index, sth["treeSize"]), number, seq)
    if root != sth["rootHash"]:
        raise Damage("proof %d (seq %d): the path leads to %s, not the checkpoint's root" % (number, seq, root.hex()),
                     number, seq)
    # The event is the ticket's, in order, and stored in canonical form.
    _, _, version, id_bytes, stream, payload = fields
    if stream != ("ticket:" + ticket).encode("utf-8"):
        raise Damage("proof %d (seq %d): the record is in stream %r, not the ticket's" % (number, seq, stream), number, seq)
    if seq <= previous_seq or version != number:
        raise Damage("proof %d (seq %d): the ticket's events must be listed in order from version 1 without gaps "
                     "(this is version %d)" % (number, seq, version), number, seq)
    try:
        event = parse_json(payload, integers_only=False)
        sound = (isinstance(event, dict) and canonical(event, ascii_only=False) == payload
                 and event.get("id") == str(uuid.UUID(bytes=id_bytes)) and stream_of(event) == "ticket:" + ticket)
    except (ValueError, RecursionError, UnicodeEncodeError):
        sound = False
    if not sound:
        raise Damage("proof %d (seq %d): the record's payload is not its event in canonical form" % (number, seq),
                     number, seq)


def verify_consistency(path, old_path, trusted_key):
    out = {"ok": True, "oldSize": None, "newSize": None, "oldRoot": None, "newRoot": None, "problem": None,
           "signatureChecked": False}
    try:
        doc = load_document(path)
        if not isinstance(doc, dict) or set(doc) != {"checkpoint", "oldSize", "proof"}:
            raise Damage("not a consistency proof document (fields checkpoint, oldSize, proof)")
        old_doc = load_document(old_path)
        if isinstance(old_doc, dict) and "checkpoint" in old_doc:
            old_doc = old_doc["checkpoint"]  # a kept proof document serves as well as a bare checkpoint
        old = parse_checkpoint(old_doc, "the old checkpoint")
        new = parse_checkpoint(doc["checkpoint"], "the new checkpoint")
        out.update(oldSize=old["treeSize"], newSize=new["treeSize"], oldRoot=old["rootHash"].hex(),
                   newRoot=new["rootHash"].hex())
        verdicts = [check_checkpoint(old, "the old checkpoint", trusted_key),
                    check_checkpoint(new, "the new checkpoint", trusted_key)]
        out["signatureChecked"] = all(v is True for v in verdicts)
        if old["publicKey"] != new["publicKey"]:
            raise Damage("the two checkpoints are signed by different keys")
        proof = doc["proof"]
        if not is_int(doc["oldSize"]) or doc["oldSize"] != old["treeSize"]:
            raise Damage("the proof starts from size %r, the old checkpoint has %d" % (doc["oldSize"], old["treeSize"]))
        if not isinstance(proof, list) or not all(hex_bytes(p) is not None and len(hex_bytes(p)) == 32 for p in proof):
            raise Damage("the proof must be a list of 32-byte hashes in hex")
        why = consistency_holds(old["treeSize"], new["treeSize"], old["rootHash"], new["rootHash"],
                                [bytes.fromhex(p) for p in proof])
        if why is not None:
            raise Damage(why)
    except Damage as d:
        out.update(ok=False, problem=d.problem)
    return out


# ---------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("%s: error: %s" % (self.prog, message), file=sys.stderr)
        sys.exit(EXIT_USAGE)


def main(argv):
    parser = _Parser(prog="verify_bundle.py", description="Checks an export bundle or a proof document.",
                     epilog="See docs/VERIFY.md. Exit status: 0 sound, 4 damaged, 1 usage error.")
    parser.add_argument("bundle", nargs="?", metavar="BUNDLE_DIR", help="an export bundle's directory")
    parser.add_argument("--proof", metavar="PROOF.json", help="a ticket proof document")
    parser.add_argument("--consistency", metavar="PROOF.json", help="a consistency proof document")
    parser.add_argument("--old", metavar="CHECKPOINT.json", help="the old checkpoint (with --consistency)")
    parser.add_argument("--public-key", metavar="HEX", help="the trusted Ed25519 public key, 64 hex digits")
    parser.add_argument("--require-signature", action="store_true",
                        help="fail (exit 1) rather than skip the signature when `cryptography` is missing")
    args = parser.parse_args(argv)

    modes = [m for m in (args.bundle, args.proof, args.consistency) if m is not None]
    if len(modes) != 1:
        parser.error("give exactly one of BUNDLE_DIR, --proof or --consistency")
    if (args.consistency is None) != (args.old is None):
        parser.error("--old goes with --consistency, and --consistency needs --old")
    trusted = None
    if args.public_key is not None:
        trusted = hex_bytes(args.public_key)
        if trusted is None or len(trusted) != 32:
            parser.error("--public-key must be 64 hex digits (a raw Ed25519 public key)")
    for path in (args.proof, args.consistency, args.old):
        if path is not None and not os.path.isfile(path):
            parser.error("%s is not a file" % path)
    if args.bundle is not None and not os.path.isdir(args.bundle):
        parser.error("%s is not a directory" % args.bundle)
    if not HAVE_ED25519:
        if args.require_signature:
            print("verify_bundle.py: the Python package `cryptography` is needed to check Ed25519 signatures "
                  "(pip install cryptography)", file=sys.stderr)
            return EXIT_USAGE
        print("verify_bundle.py: WARNING: the Python package `cryptography` is not installed, so the Ed25519 "
              "signature was NOT checked; every other check was made.", file=sys.stderr)

    if args.bundle is not None:
        result = verify_bundle(args.bundle, trusted)
        where = "line %d" % result["firstBadLine"] if result["firstBadLine"] is not None else "bundle"
    elif args.proof is not None:
        result = verify_ticket_proof(args.proof, trusted)
        where = "proof %d" % result["firstBadProof"] if result["firstBadProof"] is not None else "proof document"
    else:
        result = verify_consistency(args.consistency, args.old, trusted)
        where = "consistency proof"
    print(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
    if not result["ok"]:
        print("DAMAGED (%s): %s" % (where, result["problem"]), file=sys.stderr)
        return EXIT_DAMAGED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
