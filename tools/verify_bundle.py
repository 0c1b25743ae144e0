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

BUNDLE_FORMAT = "escalation-ledger-bundle/3"
# Format 2 is format 3 without the formula guard in events.csv; both are verified, each by its rule.
UNGUARDED_FORMAT = "escalation-ledger-bundle/2"
BUNDLE_FORMATS = (UNGUARDED_FORMAT, BUNDLE_FORMAT)
# A cell starting with one of these is read as a formula by a spreadsheet (OWASP "CSV Injection"),
# or starts with the guard itself: from format 3 on it is written with a ' in front, quoted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
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
    if kind in ("exportMade", "personalDataRevealed"):
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
# Bundles (docs/EXPORT.md "The bundle", docs/VERIFY.md "What verify --bundle checks"). Written
# from the docs; the checks follow the same order as the ledger's BundleVerifier, but only the
# verdict is meant to agree, not the wording.

MANIFEST_KEYS = {"chainAfter", "chainBefore", "checkpoint", "contiguous", "count", "createdAt", "files", "firstSeq",
                 "format", "lastSeq", "merkleRoot", "pseudonymized", "publicKey", "range", "signature"}
RANGE_KEYS = {"customer", "fromSeq", "staff", "ticket", "toSeq"}
LISTED = ["events.csv", "events.jsonl", "personal.jsonl", "proof.json"]
CHECKPOINT = "checkpoint"
ZERO = bytes(32)
STAFF_FIELDS = ("actor", "agent", "author", "by", "coach", "from", "operator", "owner", "party", "reportsTo", "staff",
                "supervisor", "to")
PERSONAL_PATHS = {
    "callOpened": ("customer.name", "customer.phone", "issue"), "escalationRequested": ("goal",),
    "requestDeclined": ("reason",), "ticketReopened": ("reason",), "sanctionIssued": ("reason",),
    "noteLogged": ("text",), "feedbackGiven": ("text",), "debriefHeld": ("lessons",),
}
CSV_COLUMNS = ("seq version recordedAt stream id type at actor channel ticket expectedVersion staff name role reportsTo "
               "extension hourlyCost agent customer customerName customerPhone issue repeatOf requestedBy scenario reason "
               "level goal technique outcome supervisor available kind party accepted by from to mode announcedName "
               "announcedExtension owner dueBy reached author text resolution satisfied coach lessons severity matter count "
               "root operator purpose filter pseudonymized customers query hash").split()
MASKED, ERASED, SEALED = "[masked]", "[erased]", "[sealed]"
LOWER_HEX = re.compile(r"\A[0-9a-f]*\Z")


def verify_bundle(directory, trust):
    """trust: None, or {"key": 32 bytes, "origin": str|None, "kept": note text|None, "witnesses": [(name, kid, key)]}."""
    out = {"ok": False, "checked": 0, "firstBadLine": None, "firstBadSeq": None, "problem": None,
           "signatureChecked": False}
    try:
        _verify_bundle(directory, trust, out)
        if trust is None:
            out["problem"] = ("every check passed, but no trusted key was given: anyone can sign a bundle, "
                              "so pass the ledger's key (--public-key or --key)")
        else:
            out["ok"] = True
    except Damage as d:
        out.update(ok=False, firstBadLine=d.line, firstBadSeq=d.seq, problem=d.problem)
    return out


def _lower_hex(value, size, what):
    if not isinstance(value, str) or len(value) != 2 * size or not LOWER_HEX.match(value):
        raise Damage("manifest: %s is not %d lowercase hex digits" % (what, 2 * size))
    return bytes.fromhex(value)


def _count(value, what):
    if not is_int(value) or value < 0:
        raise Damage("manifest: %s is not a whole number >= 0" % what)
    return value


def _read(directory, name):
    try:
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    except OSError:
        raise Damage("%s is missing or unreadable" % name)


def _lines(data, terminator=b"\n"):
    """The lines of a file and whether the last one ended with the terminator."""
    if not data:
        return [], True
    parts = data.split(terminator)
    if parts[-1] == b"":
        return parts[:-1], True
    return parts, False


def canonical_time(micros):
    """RFC 3339 UTC, the fraction's trailing zeros removed (none when whole): how the CSV writes times."""
    seconds, fraction = divmod(micros, 1_000_000)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)
    if fraction:
        text += "." + ("%06d" % fraction).rstrip("0")
    return text + "Z"


def customer_of(event):
    c = event.get("customer")
    return c.get("id") if isinstance(c, dict) else c


def personal_paths(event):
    """personal.jsonl's keys for a stored event (without seq): customer, then sealed or erased text."""
    paths = ["customer"] if customer_of(event) is not None else []
    for path in PERSONAL_PATHS.get(event.get("type"), ()):
        head, _, tail = path.partition(".")
        value = event.get(head)
        if tail:
            value = value.get(tail) if isinstance(value, dict) else None
        if value in (SEALED, ERASED):
            paths.append(path)
    return paths


def csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def csv_row(event, seq, version, micros, stream, hash_hex, guard_formulas=True):
    """The events.csv row of an event as the export shows it (docs/EXPORT.md "events.csv")."""
    customer = event.get("customer")
    cells = []
    for column in CSV_COLUMNS:
        if column == "seq":
            v = seq
        elif column == "version":
            v = version
        elif column == "recordedAt":
            v = canonical_time(micros)
        elif column == "stream":
            v = stream
        elif column == "hash":
            v = hash_hex
        elif column == "customer":
            v = customer.get("id") if isinstance(customer, dict) else customer
        elif column in ("customerName", "customerPhone"):
            v = customer.get(column[8:].lower()) if isinstance(customer, dict) else None
        else:
            v = event.get(column)
        cell = csv_cell(v)
        guarded = guard_formulas and cell.startswith(FORMULA_STARTS)
        if guarded or any(c in cell for c in ',"\r\n'):
            cell = '"' + ("'" if guarded else "") + cell.replace('"', '""') + '"'
        cells.append(cell)
    return (",".join(cells) + "\r\n").encode("utf-8")


def names_staff(event, staff):
    return any(isinstance(event.get(f), str) and event.get(f) == staff for f in STAFF_FIELDS)


def cosignature_verdict(note, witness):
    """True when the note carries a valid cosignature/v1 by witness (name, key ID, key)."""
    import base64
    name, kid, key = witness
    split = note.rfind("\n\n")
    text, block = note[:split + 1], note[split + 2:]
    for line in block[:-1].split("\n"):
        sig_name, _, b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            continue
        if line.startswith(SIG_PREFIX) and sig_name == name and raw[:4] == kid and len(raw) == 76:
            time = int.from_bytes(raw[4:12], "big")
            message = ("cosignature/v1\ntime %d\n" % time).encode() + text.encode("utf-8")
            return signature_verdict(key, raw[12:], message) is True
    return False


def _verify_bundle(directory, trust, out):
    # 1. The manifest: canonical bytes, exact keys, types, lowercase hex, the signature.
    data = _read(directory, MANIFEST)
    try:
        manifest = parse_json(data[:-1], integers_only=True)
    except (ValueError, RecursionError):
        manifest = None
    if not isinstance(manifest, dict):
        raise Damage("manifest.json is not a JSON object")
    if canonical(manifest, ascii_only=True) + b"\n" != data:
        raise Damage("manifest.json is not in canonical form (keys sorted, no whitespace, ASCII, one final newline)")
    if manifest.get("format") not in BUNDLE_FORMATS:
        raise Damage("manifest format is not %s" % " or ".join(BUNDLE_FORMATS))
    guard_formulas = manifest["format"] != UNGUARDED_FORMAT
    if set(manifest) != MANIFEST_KEYS:
        raise Damage("manifest has the keys %s; a %s manifest has exactly %s" % (sorted(manifest), manifest["format"], sorted(MANIFEST_KEYS)))
    key = _lower_hex(manifest["publicKey"], 32, "publicKey")
    signature = _lower_hex(manifest["signature"], 64, "signature")
    if trust is not None and trust["key"] != key:
        raise Damage("manifest is signed by %s, not the trusted key %s" % (key.hex(), trust["key"].hex()))
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    if signature_verdict(key, signature, canonical(unsigned, ascii_only=True)) is not True:
        raise Damage("manifest signature does not verify")
    out["signatureChecked"] = True
    chain_before = _lower_hex(manifest["chainBefore"], 32, "chainBefore")
    chain_after = _lower_hex(manifest["chainAfter"], 32, "chainAfter")
    merkle_root = _lower_hex(manifest["merkleRoot"], 32, "merkleRoot")
    total, first_seq, last_seq = (_count(manifest[k], k) for k in ("count", "firstSeq", "lastSeq"))
    contiguous, pseudonymized = manifest["contiguous"], manifest["pseudonymized"]
    if not isinstance(contiguous, bool) or not isinstance(pseudonymized, bool):
        raise Damage("manifest: contiguous and pseudonymized are not true or false")
    created = manifest["createdAt"]
    if not isinstance(created, str) or not re.match(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z\Z", created):
        raise Damage("manifest: createdAt is not an RFC 3339 time")
    rng = manifest["range"]
    if not isinstance(rng, dict) or not set(rng) <= RANGE_KEYS or "fromSeq" not in rng or "toSeq" not in rng:
        raise Damage("manifest: range is not an object of fromSeq, toSeq and the filters ticket, staff, customer")
    from_seq, to_seq = _count(rng["fromSeq"], "range.fromSeq"), _count(rng["toSeq"], "range.toSeq")
    filters = {}
    for name in ("ticket", "staff", "customer"):
        if name in rng:
            if not isinstance(rng[name], str) or not rng[name]:
                raise Damage("manifest: range.%s is not a non-empty string" % name)
            filters[name] = rng[name]
    if from_seq < 1:
        raise Damage("manifest: range.fromSeq is 0; seqs start at 1")
    if contiguous != (not filters):
        raise Damage("manifest: contiguous is %s but the range has %s" % (contiguous, sorted(filters) or "no filter"))
    cp = manifest["checkpoint"]
    if not isinstance(cp, dict) or set(cp) != {"origin", "rootHash", "treeSize"} or not isinstance(cp["origin"], str):
        raise Damage("manifest: checkpoint is not an object of exactly origin, rootHash and treeSize")
    origin = cp["origin"]
    tree_root = _lower_hex(cp["rootHash"], 32, "checkpoint.rootHash")
    tree_size = _count(cp["treeSize"], "checkpoint.treeSize")

    # 2. Exactly the listed files (their sizes and digests: step 6).
    files = manifest["files"]
    if not isinstance(files, dict) or set(files) != set(LISTED):
        raise Damage("manifest: files must list exactly %s" % LISTED)
    extra = sorted(set(os.listdir(directory)) - set(LISTED) - {MANIFEST, CHECKPOINT})
    if extra:
        raise Damage("%s is in the bundle but not in its manifest" % extra[0])
    contents, stated = {}, {}  # sizes and digests are compared in step 6, once the lines have named any damage
    for name in LISTED:
        entry = files[name]
        if not isinstance(entry, dict) or set(entry) != {"bytes", "sha256"}:
            raise Damage("manifest: files.%s is not an object of exactly bytes and sha256" % name)
        stated[name] = (_lower_hex(entry["sha256"], 32, "files.%s.sha256" % name), _count(entry["bytes"], "files.%s.bytes" % name))
        contents[name] = _read(directory, name)

    # 3. The checkpoint: the trusted key's signature, the manifest's tree, witnesses, a kept one.
    try:
        note = _read(directory, CHECKPOINT).decode("utf-8")
    except UnicodeDecodeError:
        raise Damage("checkpoint is not UTF-8")
    if trust is not None and trust["origin"] is not None and trust["origin"] != origin:
        raise Damage("the bundle's checkpoint origin is %s, the trusted key's is %s" % (origin, trust["origin"]))
    got_origin, size, root, verdict = open_checkpoint(note, (origin, key_id(origin, 1, key), key))
    if verdict is not True:
        raise Damage("the checkpoint's signature could not be checked")
    if (got_origin, size, root) != (origin, tree_size, tree_root):
        raise Damage("the checkpoint is not the tree the manifest names")
    if trust is not None:
        for witness in trust["witnesses"]:
            if not cosignature_verdict(note, witness):
                raise Damage("checkpoint: no valid cosignature by the witness %s" % witness[0])
        if trust["kept"] is not None:
            _, kept_size, kept_root, _ = open_checkpoint(trust["kept"], (origin, key_id(origin, 1, key), key))
            if kept_size != tree_size:
                raise Damage("the kept checkpoint is of %d events, the bundle's of %d" % (kept_size, tree_size))
            if kept_root != tree_root:
                raise Damage("the kept checkpoint's root differs from the bundle's: the log was rewritten")

    # 4. Each line, with its personal.jsonl line and its events.csv row.
    lines, lines_end = _lines(contents[EVENTS])
    personal, personal_end = _lines(contents[PERSONAL])
    rows, rows_end = _lines(contents[CSV], b"\r\n")
    if not rows or rows[0] != ",".join(CSV_COLUMNS).encode():
        raise Damage("events.csv does not start with the header row")
    rows = rows[1:]
    tree, indices, leaves = MerkleRoot(), [], []
    previous_hash, previous_seq, previous_version, first_line_seq = chain_before, None, None, None
    p_at = r_at = 0
    for number, line in enumerate(lines, start=1):
        obj = _bundle_line(line)
        if obj is None:
            raise Damage("line %d: not a bundle line" % number, number)
        seq, micros, version, stream, event = obj["seq"], obj["recordedAtMicros"], obj["version"], obj["stream"], obj["event"]
        try:
            payload = canonical(event, ascii_only=False)
            line_is_canonical = canonical(obj, ascii_only=False) == line
        except (UnicodeEncodeError, ValueError):
            line_is_canonical = False
        if not line_is_canonical:
            raise Damage("line %d: not in canonical form" % number, number, seq)
        if event.get("id") != obj["id"] or stream_of(event) != stream:
            raise Damage("line %d: id or stream differs from the event's" % number, number, seq)
        ident = uuid.UUID(obj["id"])
        if (str(ident) != obj["id"] or not HASH_HEX.match(obj["hash"]) or not HASH_HEX.match(obj["prevHash"])
                or obj["recordedAt"] != recorded_at_text(micros)):
            raise Damage("line %d: not in canonical form" % number, number, seq)
        prev, stream_bytes = bytes.fromhex(obj["prevHash"]), stream.encode("utf-8")
        record = build_record(seq, micros, version, ident.bytes, stream_bytes, payload)
        if sha256(prev + record).hex() != obj["hash"]:
            raise Damage("line %d: (seq %d) hash does not match its record" % (number, seq), number, seq)
        if seq == 1 and prev != ZERO:
            raise Damage("line %d: seq 1's prevHash is not 32 zero bytes" % number, number, seq)
        if not from_seq <= seq <= to_seq:
            raise Damage("line %d: seq %d is outside the manifest's range %d..%d" % (number, seq, from_seq, to_seq), number, seq)
        if seq > tree_size:
            raise Damage("line %d: seq %d is beyond the checkpoint's %d events" % (number, seq, tree_size), number, seq)
        if previous_seq is not None and seq <= previous_seq:
            raise Damage("line %d: seq %d is out of order" % (number, seq), number, seq)
        if contiguous:
            if seq != (previous_seq + 1 if previous_seq is not None else from_seq):
                raise Damage("line %d: seq %d is not the next seq of a contiguous range" % (number, seq), number, seq)
            if prev != previous_hash:
                raise Damage("line %d: (seq %d) chain broken: prevHash is not the previous hash" % (number, seq), number, seq)
        if "ticket" in filters:
            if stream != "ticket:" + filters["ticket"]:
                raise Damage("line %d: stream %s is not the ticket %s's" % (number, stream, filters["ticket"]), number, seq)
            if "staff" not in filters:
                if previous_version is not None and version != previous_version + 1:
                    raise Damage("line %d: version %d follows %d: an event of the ticket is missing"
                                 % (number, version, previous_version), number, seq)
                if previous_version is None and from_seq == 1 and version != 1:
                    raise Damage("line %d: the ticket's first event is version %d, not 1" % (number, version), number, seq)
        if "staff" in filters and not names_staff(event, filters["staff"]):
            raise Damage("line %d: the event does not name the staff member %s" % (number, filters["staff"]), number, seq)
        if "customer" in filters:
            c = filters["customer"]
            if stream != "customer:" + c and not stream.startswith("ticket:"):
                raise Damage("line %d: stream %s is neither the customer's nor a ticket" % (number, stream), number, seq)
            owner = customer_of(event)
            if owner is None and isinstance(event.get("sealed"), str):
                owner = event["sealed"].split(":", 1)[0]
            if owner is not None and owner != c:
                raise Damage("line %d: the event is customer %s's, not %s's" % (number, owner, c), number, seq)
        # personal.jsonl
        shown = {k: v for k, v in event.items() if k != "sealed"}
        paths = personal_paths(event)
        if paths:
            values = None
            if p_at < len(personal):
                try:
                    values = parse_json(personal[p_at], integers_only=True)
                except (ValueError, RecursionError):
                    values = None
            if not isinstance(values, dict) or values.get("seq") != seq:
                raise Damage("line %d: personal.jsonl has no line for seq %d" % (number, seq), number, seq)
            p_at += 1
            if set(values) != set(paths) | {"seq"}:
                raise Damage("line %d: personal.jsonl's line for seq %d has the wrong fields" % (number, seq), number, seq)
            if not all(isinstance(values[f], str) for f in paths):
                raise Damage("line %d: personal.jsonl: a field of seq %d is not a string" % (number, seq), number, seq)
            if canonical(values, ascii_only=False) != personal[p_at - 1]:
                raise Damage("line %d: personal.jsonl's line for seq %d is not in canonical form" % (number, seq), number, seq)
            if pseudonymized:
                for f in paths:
                    allowed = (customer_of(event), ERASED) if f == "customer" else (MASKED, ERASED)
                    if values[f] not in allowed:
                        raise Damage("line %d: a pseudonymised export shows %s of seq %d in clear" % (number, f, seq), number, seq)
            if "customer" in paths:
                if isinstance(shown.get("customer"), dict):
                    shown["customer"] = dict(shown["customer"], id=values["customer"])
                else:
                    shown["customer"] = values["customer"]
            for f in paths:
                if f.startswith("customer."):
                    shown["customer"] = dict(shown["customer"], **{f[9:]: values[f]})
                elif f != "customer":
                    shown[f] = values[f]
        if r_at >= len(rows) or rows[r_at] + b"\r\n" != csv_row(shown, seq, version, micros, stream, obj["hash"], guard_formulas):
            raise Damage("line %d: events.csv's row for seq %d is not the event's" % (number, seq), number, seq)
        r_at += 1
        previous_hash, previous_seq, previous_version = bytes.fromhex(obj["hash"]), seq, version
        if first_line_seq is None:
            first_line_seq = seq
        tree.append(leaf_hash(record))
        indices.append(seq - 1)
        leaves.append(leaf_hash(record))
        out["checked"] += 1
    if p_at != len(personal):
        raise Damage("personal.jsonl has lines for no event of the bundle")
    if r_at != len(rows):
        raise Damage("events.csv has rows for no event of the bundle")
    if not (lines_end and personal_end and rows_end):
        raise Damage("a file of the bundle does not end its last line with a newline")

    # 5. The manifest's claims about the events.
    checked = out["checked"]
    if checked != total:
        raise Damage("events.jsonl has %d events, the manifest says %d" % (checked, total))
    if (first_line_seq or 0, previous_seq or 0) != (first_seq, last_seq):
        raise Damage("the manifest's firstSeq/lastSeq are not the events'")
    if to_seq > tree_size:
        raise Damage("the range ends at %d, beyond the checkpoint's %d events" % (to_seq, tree_size))
    if contiguous and checked != max(0, to_seq - from_seq + 1):
        raise Damage("a contiguous export of seqs %d..%d holds %d events, this one %d"
                     % (from_seq, to_seq, max(0, to_seq - from_seq + 1), checked))
    if (ZERO if checked == 0 else previous_hash) != chain_after:
        raise Damage("the manifest's chainAfter is not the last event's hash")
    if (from_seq == 1 or to_seq < from_seq) and chain_before != ZERO:
        raise Damage("the manifest's chainBefore is not 32 zero bytes, as it is for a range from seq 1 or an empty one")
    if tree.root() != merkle_root:
        raise Damage("the Merkle root of the events is %s, the manifest says %s" % (tree.root().hex(), merkle_root.hex()))

    # 6. Each file is of the size and SHA-256 the manifest states.
    for name in LISTED:
        body, (digest, size) = contents[name], stated[name]
        if len(body) != size:
            raise Damage("%s has %d bytes, the manifest says %d" % (name, len(body), size))
        if sha256(body) != digest:
            raise Damage("%s does not match its SHA-256 in the manifest" % name)

    # 7. proof.json: its nodes and the events rebuild the checkpoint's root.
    body = contents["proof.json"]
    try:
        proof = parse_json(body[:-1], integers_only=True)
    except (ValueError, RecursionError):
        proof = None
    if (not isinstance(proof, dict) or set(proof) != {"nodes"} or not isinstance(proof["nodes"], list)
            or canonical(proof, ascii_only=True) + b"\n" != body):
        raise Damage('proof.json is not {"nodes":[...]} in canonical form')
    if not all(isinstance(h, str) and HASH_HEX.match(h) for h in proof["nodes"]):
        raise Damage("proof.json: a node is not 64 lowercase hex digits")
    nodes = [bytes.fromhex(h) for h in proof["nodes"]]
    if tree_size == 0:
        rebuilt = sha256(b"") if not nodes and checked == 0 else None
    else:
        rebuilt = root_from_multileaf(tree_size, indices, leaves, nodes)
    if rebuilt is None:
        raise Damage("proof.json: the events and nodes do not rebuild a tree of %d" % tree_size)
    if rebuilt != tree_root:
        raise Damage("proof.json: the events and nodes rebuild another root than the checkpoint's: the events are not the log's")


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
          and isinstance(obj["id"], str) and UUID_TEXT.match(obj["id"]) is not None
          and len(obj["stream"].encode("utf-8", "surrogatepass")) <= 0xFFFF)
    return obj if ok else None


# ---------------------------------------------------------------------------------------------
# Checkpoints (C2SP tlog-checkpoint in a C2SP signed note) and proof documents

PROOF_FORMAT = "escalation-ledger-proof/1"
SIG_PREFIX = "\u2014 "


def key_id(name, algorithm, public_key):
    return sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key)[:4]


def parse_verifier_key(text, algorithm=1):
    """`<name>+<hex key ID>+<base64(algorithm || key)>` -> (name, key ID, public key); raises ValueError.
    Algorithm 1 is a signed-note Ed25519 key, 4 a tlog-cosignature/v1 witness key."""
    import base64
    name, _, rest = text.strip().partition("+")
    kid, _, b64 = rest.partition("+")
    raw = base64.b64decode(b64, validate=True)
    if not name or len(kid) != 8 or len(raw) != 33 or raw[0] != algorithm:
        raise ValueError("a verifier key is <name>+<8 hex digits>+<base64 of 0x%02x and a 32-byte Ed25519 key>" % algorithm)
    if key_id(name, algorithm, raw[1:]) != bytes.fromhex(kid):
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

def _key_text(value):
    """A key given as text, or the text of the file it names."""
    if value is not None and "+" not in value and os.path.isfile(value):
        with open(value, encoding="utf-8") as f:
            return f.read().strip()
    return value


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
    parser.add_argument("--checkpoint", metavar="KEPT", help="with a bundle: a checkpoint you kept; the bundle's must be the same tree")
    parser.add_argument("--witness-key", metavar="WVKEY", action="append", default=[],
                        help="with a bundle: a witness key whose cosignature the bundle's checkpoint must carry (repeatable)")
    parser.add_argument("--require-signature", action="store_true",
                        help="fail (exit 1) rather than skip the signature when `cryptography` is missing")
    args = parser.parse_args(argv)
    args.key = _key_text(args.key)
    args.witness_key = [_key_text(k) for k in args.witness_key]

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
    if args.bundle is None and (args.checkpoint is not None or args.witness_key):
        parser.error("--checkpoint and --witness-key go with a bundle")
    if args.bundle is not None and not HAVE_ED25519:
        print("verify_bundle.py: the Python package `cryptography` is needed to check a bundle's Ed25519 signatures "
              "(pip install cryptography)", file=sys.stderr)
        return EXIT_USAGE
    if not HAVE_ED25519:
        if args.require_signature:
            print("verify_bundle.py: the Python package `cryptography` is needed to check Ed25519 signatures "
                  "(pip install cryptography)", file=sys.stderr)
            return EXIT_USAGE
        print("verify_bundle.py: WARNING: the Python package `cryptography` is not installed, so the Ed25519 "
              "signature was NOT checked; every other check was made.", file=sys.stderr)

    if args.bundle is not None:
        trust = None
        if trusted is not None or args.key is not None:
            try:
                witnesses = [parse_verifier_key(k, algorithm=4) for k in args.witness_key]
            except ValueError as e:
                parser.error("--witness-key: %s" % e)
            kept = None
            if args.checkpoint is not None:
                try:
                    with open(args.checkpoint, "rb") as f:
                        kept = f.read().decode("utf-8").rstrip("\n") + "\n"
                except (OSError, UnicodeDecodeError) as e:
                    parser.error("--checkpoint: %s" % e)
            trust = {"key": note_key[2] if isinstance(note_key, tuple) else trusted,
                     "origin": note_key[0] if isinstance(note_key, tuple) else None, "kept": kept, "witnesses": witnesses}
        elif args.checkpoint is not None or args.witness_key:
            parser.error("--checkpoint and --witness-key need the ledger's key (--public-key or --key)")
        result = verify_bundle(args.bundle, trust)
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
