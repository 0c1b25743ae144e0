#!/usr/bin/env python3
"""Checks an escalation-ledger export bundle, a ticket proof or a consistency proof
with nothing but the files (docs/EXPORT.md, docs/VERIFY.md). An independent second
implementation of the ledger's BundleVerifier: Python's standard library, plus the
`cryptography` package for Ed25519 signatures when it is installed.

    verify_bundle.py BUNDLE_DIR [--public-key HEX]
    verify_bundle.py --proof PROOF.json [--old KEPT_CHECKPOINT] [--key VKEY | --public-key HEX]

  --public-key HEX     the ledger's Ed25519 public key (64 hex digits) you trust; without
                       it the signature only shows the files were not changed after whoever
                       holds the key in the manifest (or checkpoint) signed them.
  --key VKEY           the ledger's checkpoint verifier key (`ledger key`) for proof documents;
                       --public-key HEX also works there (the note's origin is then the name).
  --require-signature  treat a missing `cryptography` package as an error (exit 1)
                       instead of checking everything but the signature.

Prints one JSON line on stdout (a sentence about any problem goes to stderr):

  bundle:      {"ok":bool,"checked":N,"firstBadLine":N|null,"firstBadSeq":N|null,
                "problem":str|null,"signatureChecked":bool}
  proof:       {"ok":bool,"checked":N,"firstBadSeq":N|null,"problem":str|null,
                "kind":str|null,"signatureChecked":bool,"treeSize":N|null,"rootHash":hex|null}

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
# Checkpoints (C2SP tlog-checkpoint in a C2SP signed note) and proof documents

PROOF_FORMAT = "escalation-ledger-proof/1"
SIG_PREFIX = "\u2014 "


def key_id(name, algorithm, public_key):
    return sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key)[:4]


def parse_verifier_key(text):
    """`<name>+<hex key ID>+<base64(0x01 || key)>` -> (name, key ID, public key); raises ValueError."""
    import base64
    name, _, rest = text.strip().partition("+")
    kid, _, b64 = rest.partition("+")
    raw = base64.b64decode(b64, validate=True)
    if not name or len(kid) != 8 or len(raw) != 33 or raw[0] != 1:
        raise ValueError("a verifier key is <name>+<8 hex digits>+<base64 of 0x01 and a 32-byte Ed25519 key>")
    if key_id(name, 1, raw[1:]) != bytes.fromhex(kid):
        raise ValueError("the verifier key's key ID does not match its name and key")
    return name, bytes.fromhex(kid), raw[1:]


def open_checkpoint(note, trusted):
    """Checks a signed checkpoint note. `trusted` is (name, key ID, public key) or a bare public key
    (then the name is the origin). Returns (origin, size, root, signature checked: True/None)."""
    import base64
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in note):
        raise Damage("the checkpoint note holds a control character")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Damage("the checkpoint is not a signed note (text, blank line, signature lines)")
    text, block = note[:split + 1], note[split + 2:]
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[0]:
        raise Damage("the checkpoint body is not origin, size and root lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or str(int(size_text)) != size_text:
        raise Damage("the checkpoint size %r is not a decimal number" % size_text)
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        root = b""
    if len(root) != 32:
        raise Damage("the checkpoint root is not the base64 of 32 bytes")
    if isinstance(trusted, tuple):
        name, kid, key = trusted
        if name != origin:
            raise Damage("the checkpoint's origin %r is not the key's name %r" % (origin, name))
    else:
        name, key = origin, trusted
        kid = key_id(name, 1, key) if key is not None else None
    verdict = False
    for line in block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX) or " " not in line[2:]:
            raise Damage("malformed signature line %r" % line)
        sig_name, _, b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise Damage("malformed signature line %r" % line)
        if sig_name == name and (kid is None or raw[:4] == kid):
            if key is None:
                return origin, int(size_text), root, None  # nothing trusted: not checked
            verdict = signature_verdict(key, raw[4:], text.encode("utf-8"))
            if verdict is False:
                raise Damage("the checkpoint's signature by %s does not verify" % name)
            return origin, int(size_text), root, verdict
    raise Damage("the checkpoint carries no signature by the trusted key")


def load_document(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return parse_json(data.rstrip(b"\n"), integers_only=True)
    except (ValueError, RecursionError) as e:
        raise Damage("%s is not JSON (%s)" % (path, e))


def root_from_multileaf(n, indices, leaves, nodes):
    """Rebuilds MTH of n leaves from proved leaves (increasing indices) and the hashes of the
    maximal subtrees holding none of them, left to right; None when the nodes do not fit."""
    state = {"leaf": 0, "node": 0, "bad": False}

    def build(lo, hi):
        if state["bad"]:
            return b""
        i = state["leaf"]
        if i == len(indices) or indices[i] >= hi:
            if state["node"] == len(nodes):
                state["bad"] = True
                return b""
            state["node"] += 1
            return nodes[state["node"] - 1]
        if hi - lo == 1:
            state["leaf"] += 1
            return leaves[i]
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        left = build(lo, lo + k)
        return node_hash(left, build(lo + k, hi))

    root = build(0, n)
    if state["bad"] or state["node"] != len(nodes):
        return None
    return root


def _hash_list(doc, key):
    v = doc.get(key)
    if not isinstance(v, list) or not all(isinstance(h, str) and HASH_HEX.match(h) for h in v):
        raise Damage("%s must be a list of 32-byte hashes in lowercase hex" % key)
    return [bytes.fromhex(h) for h in v]


def _record(text, number):
    record = hex_bytes(text) if isinstance(text, str) and text == text.lower() else None
    fields = parse_record(record) if record is not None else None
    if fields is None:
        raise Damage("record %d is not a stored record in lowercase hex" % number, number)
    seq, _, version, id_bytes, stream, payload = fields
    try:
        event = parse_json(payload, integers_only=False)
        sound = (isinstance(event, dict) and canonical(event, ascii_only=False) == payload
                 and event.get("id") == str(uuid.UUID(bytes=id_bytes)) and stream_of(event).encode("utf-8") == stream)
    except (ValueError, RecursionError, UnicodeEncodeError):
        sound = False
    if not sound:
        raise Damage("record %d (seq %d): the payload is not its event in canonical form" % (number, seq), number, seq)
    return record, seq, version, stream


KIND_KEYS = {
    "inclusion": {"checkpoint", "format", "kind", "leafIndex", "path", "record", "seq"},
    "range": {"checkpoint", "format", "fromSeq", "kind", "nodes", "records", "toSeq"},
    "ticket": {"checkpoint", "format", "kind", "nodes", "records", "ticket"},
    "consistency": {"checkpoint", "format", "kind", "oldRoot", "oldSize", "proof"},
}


def verify_proof(path, trusted, old_path=None):
    out = {"ok": True, "checked": 0, "firstBadSeq": None, "problem": None, "kind": None,
           "signatureChecked": False, "treeSize": None, "rootHash": None}
    try:
        doc = load_document(path)
        if not isinstance(doc, dict) or doc.get("format") != PROOF_FORMAT:
            raise Damage("not a proof document of format %s" % PROOF_FORMAT)
        kind = doc.get("kind")
        if kind not in KIND_KEYS or set(doc) != KIND_KEYS[kind]:
            raise Damage("a proof document of kind %r has exactly the keys %s" % (kind, sorted(KIND_KEYS.get(kind, []))))
        out["kind"] = kind
        if not isinstance(doc["checkpoint"], str):
            raise Damage("the checkpoint must be the signed note as a string")
        _, n, root, verdict = open_checkpoint(doc["checkpoint"], trusted)
        out.update(treeSize=n, rootHash=root.hex(), signatureChecked=verdict is True)
        if kind == "inclusion":
            record, seq, _, _ = _record(doc["record"], 1)
            if seq != doc["seq"] or doc["leafIndex"] != seq - 1 or not 1 <= seq <= n:
                raise Damage("the record's seq, seq and leafIndex + 1 must agree and lie in the tree", None, seq)
            got = root_from_inclusion_path(seq - 1, n, leaf_hash(record), _hash_list(doc, "path"))
            if got != root:
                raise Damage("the audit path of seq %d does not lead to the checkpoint's root" % seq, None, seq)
            out["checked"] = 1
        elif kind in ("range", "ticket"):
            records = doc["records"]
            if not isinstance(records, list) or not records:
                raise Damage("records must be a non-empty list")
            indices, leaves = [], []
            for number, text in enumerate(records, start=1):
                record, seq, version, stream = _record(text, number)
                if not 1 <= seq <= n or (indices and seq - 1 <= indices[-1]):
                    raise Damage("record %d: seq %d is out of order or outside the tree of %d" % (number, seq, n), number, seq)
                if kind == "range" and seq != doc["fromSeq"] + number - 1:
                    raise Damage("record %d has seq %d, expected %d" % (number, seq, doc["fromSeq"] + number - 1), number, seq)
                if kind == "ticket":
                    if not isinstance(doc["ticket"], str) or stream != ("ticket:" + doc["ticket"]).encode("utf-8"):
                        raise Damage("record %d (seq %d) is not in the ticket's stream" % (number, seq), number, seq)
                    if version != number:
                        raise Damage("record %d (seq %d) is version %d, expected %d: an event is missing"
                                     % (number, seq, version, number), number, seq)
                indices.append(seq - 1)
                leaves.append(leaf_hash(record))
            if kind == "range" and (not is_int(doc["toSeq"]) or len(records) != doc["toSeq"] - doc["fromSeq"] + 1):
                raise Damage("the records do not cover the range %r..%r" % (doc["fromSeq"], doc["toSeq"]))
            got = root_from_multileaf(n, indices, leaves, _hash_list(doc, "nodes"))
            if got != root:
                raise Damage("the records and nodes do not rebuild the checkpoint's root")
            out["checked"] = len(records)
        else:
            old_size, old_root = doc["oldSize"], hex_bytes(doc["oldRoot"])
            if not is_int(old_size) or old_root is None or len(old_root) != 32:
                raise Damage("oldSize must be a whole number and oldRoot 32 bytes in hex")
            if old_path is not None:
                with open(old_path, "r", encoding="utf-8") as f:
                    kept = f.read()
                if kept.lstrip().startswith("{"):
                    kept = parse_json(kept.strip().encode(), integers_only=True)["checkpoint"]  # a kept proof document
                kept = kept.rstrip("\n") + "\n"  # a file may end in an extra newline
                _, kept_size, kept_root, _ = open_checkpoint(kept, trusted)
                if kept_size != old_size:
                    raise Damage("the kept checkpoint has size %d, the proof starts from size %d" % (kept_size, old_size))
                if kept_root != old_root:
                    raise Damage("the kept checkpoint (size %d) is not the proof's old tree (size %d, root %s): "
                                 "history was rewritten" % (kept_size, old_size, old_root.hex()))
            proof = _hash_list(doc, "proof")
            why = consistency_holds(old_size, n, old_root, root, proof)
            if why is not None:
                raise Damage(why)
            out["checked"] = len(proof)
    except Damage as d:
        out.update(ok=False, firstBadSeq=d.seq, problem=d.problem)
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
    parser.add_argument("--proof", metavar="PROOF.json", help="a proof document (ledger prove)")
    parser.add_argument("--consistency", metavar="PROOF.json", help="a consistency proof document (as --proof)")
    parser.add_argument("--old", metavar="CHECKPOINT", help="a kept checkpoint a consistency proof must start from")
    parser.add_argument("--public-key", metavar="HEX", help="the trusted Ed25519 public key, 64 hex digits")
    parser.add_argument("--key", metavar="VKEY", help="the trusted checkpoint verifier key (ledger key)")
    parser.add_argument("--require-signature", action="store_true",
                        help="fail (exit 1) rather than skip the signature when `cryptography` is missing")
    args = parser.parse_args(argv)

    modes = [m for m in (args.bundle, args.proof, args.consistency) if m is not None]
    if len(modes) != 1:
        parser.error("give exactly one of BUNDLE_DIR, --proof or --consistency")
    if args.old is not None and args.proof is None and args.consistency is None:
        parser.error("--old goes with --proof or --consistency")
    trusted = None
    if args.public_key is not None:
        trusted = hex_bytes(args.public_key)
        if trusted is None or len(trusted) != 32:
            parser.error("--public-key must be 64 hex digits (a raw Ed25519 public key)")
    note_key = trusted
    if args.key is not None:
        try:
            note_key = parse_verifier_key(args.key)
        except ValueError as e:
            parser.error("--key: %s" % e)
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
    else:
        result = verify_proof(args.proof or args.consistency, note_key, args.old)
        where = "seq %d" % result["firstBadSeq"] if result["firstBadSeq"] is not None else "proof document"
    print(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
    if not result["ok"]:
        print("DAMAGED (%s): %s" % (where, result["problem"]), file=sys.stderr)
        return EXIT_DAMAGED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
