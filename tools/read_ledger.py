#!/usr/bin/env python3
"""Reads an escalation ledger (format escalation-ledger/5, or 4 or 3) with nothing but Python,
the `lmdb` package and, to reveal personal data, the `cryptography` package,
following docs/FORMAT.md: recomputes the hash chain and the Merkle leaf hashes,
checks the id index (every event's id found the documented way, each run's filter
rebuilt and compared) and, in format 5, the streams (every event's link to the one
before it in its stream, the streams' heads and marks), and prints every event as a
JSON line.

    python3 tools/read_ledger.py LEDGER                      # verify, print a summary
    python3 tools/read_ledger.py LEDGER --events             # also each event, personal data masked
    python3 tools/read_ledger.py LEDGER --events --reveal    # personal data in clear (needs LEDGER/keys)
    python3 tools/read_ledger.py LEDGER --events --stored    # each event exactly as stored (sealed)

Options:
  --events      print each event: {"seq","version","recordedAtMicros","stream","hash","event"}
  --reveal      show customers' personal data in clear: the customer id, name and phone
                and the free text of their tickets (issue, goal, reason, text, lessons),
                opened with the key-encryption key in the keys directory. Unlike
                `ledger ... --reveal`, this reads the files and records nothing: whoever
                can read LEDGER/keys can read every live customer's data.
  --keys DIR    the key directory (default: LEDGER/keys), for --reveal
  --stored      print events as stored: pseudonyms, "[sealed]" and the sealed boxes

Without --reveal personal data is masked as the ledger's queries mask it: the customer
id as its pseudonym (cus_<32 hex>), the other fields as "[masked]". An erased
customer's fields read "[erased]" in every mode but --stored (no key is needed to
tell: an erased customer has no record in privacy.customers).

Exit status: 0 when the chain and the id index verify, 4 when they do not (naming the
first bad seq, or the problem), 1 on other errors.
"""
import base64
import hashlib
import json
import os
import struct
import sys

try:
    import lmdb
except ImportError:
    sys.exit("read_ledger.py needs the lmdb package: pip install lmdb")

# 4: id entries may carry a content digest; 3: also no id runs (docs/FORMAT.md, "Formats 4 and 3")
FORMATS = (b"escalation-ledger/5", b"escalation-ledger/4", b"escalation-ledger/3")
ID_VALUE_SIZES = (8, 40)  # seq, or (format 4) seq and content digest
SEALED, MASKED, ERASED = "[sealed]", "[masked]", "[erased]"

# The personal free-text fields of each event type, by path (docs/FORMAT.md,
# "Personal data"); the customer id (customer.id) is handled apart.
PERSONAL_TEXT = {
    "callOpened": ["customer.name", "customer.phone", "issue"],
    "escalationRequested": ["goal"],
    "requestDeclined": ["reason"],
    "noteLogged": ["text"],
    "ticketReopened": ["reason"],
    "debriefHeld": ["lessons"],
    "feedbackGiven": ["text"],
    "sanctionIssued": ["reason"],
}
COMPLIANCE = ("legalHoldPlaced", "legalHoldReleased", "personalDataErased")


def parse_record(value):
    """Splits a stored record (docs/FORMAT.md, 'The record') into its fields."""
    if len(value) < 43 or value[0] != 1:
        raise ValueError("not a record of layout 1")
    seq, recorded_at, version = struct.unpack(">QqQ", value[1:25])
    event_id = value[25:41]
    (stream_len,) = struct.unpack(">H", value[41:43])
    stream = value[43:43 + stream_len].decode("utf-8")
    payload = value[43 + stream_len:]
    return seq, recorded_at, version, event_id, stream, payload


class Vault:
    """The privacy tables (docs/FORMAT.md, 'Personal data'), opened with the KEK when revealing."""

    def __init__(self, env, txn, key_dir, reveal):
        self.txn = txn
        self.customers = env.open_db(b"privacy.customers", txn=txn, create=False)
        self.records = {}
        self.aesgcm = None
        if reveal:
            try:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            except ImportError:
                sys.exit("--reveal needs the cryptography package: pip install cryptography")
            self.aesgcm = AESGCM
            meta = env.open_db(b"privacy.meta", txn=txn, create=False)
            stored = txn.get(b"kek", db=meta)
            if stored is None or len(stored) != 8:
                sys.exit("the ledger has no key-encryption key generation (privacy.meta/kek)")
            (generation,) = struct.unpack(">Q", stored)
            path = "%s/kek.%d" % (key_dir, generation)
            try:
                with open(path, "rb") as f:
                    kek = f.read()
            except OSError as e:
                sys.exit("cannot read the key-encryption key %s: %s (rotated by an erasure? retry)" % (path, e.strerror))
            # salt (32) then 4,096 shard keys (32 each); a record's shard is the first three
            # hex digits of its pseudonym (docs/FORMAT.md, docs/PRIVACY.md).
            if len(kek) != 32 + 32 * 4096 or kek == b"\0" * len(kek):
                sys.exit("the key-encryption key %s was destroyed (rotated by an erasure?); retry" % path)
            self.kek = kek

    def record(self, pseudonym):
        """(customer key, real id) of a live customer, None once erased."""
        if pseudonym not in self.records:
            boxed = self.txn.get(pseudonym.encode(), db=self.customers)
            if boxed is None:
                self.records[pseudonym] = None
            elif self.aesgcm is None:
                self.records[pseudonym] = (None, None)
            else:
                shard = int(pseudonym[4:7], 16)
                wrap = self.aesgcm(self.kek[32 + 32 * shard:64 + 32 * shard])
                plain = wrap.decrypt(boxed[:12], boxed[12:], pseudonym.encode())
                self.records[pseudonym] = (self.aesgcm(plain[:32]), plain[32:].decode("utf-8"))
        return self.records[pseudonym]

    def open(self, sealed, event_id):
        """The sealed values {path: value} (None once erased; {} when not revealing)."""
        pseudonym, _, box = sealed.partition(":")
        record = self.record(pseudonym)
        if record is None:
            return None
        key, _ = record
        if key is None:
            return {}
        data = base64.b64decode(box)
        plain = key.decrypt(data[:12], data[12:], event_id + pseudonym.encode())
        return json.loads(plain.decode("utf-8"))  # the padding is trailing spaces


def get_path(event, path):
    head, _, tail = path.partition(".")
    if tail:
        return event.get(head, {}).get(tail)
    return event.get(head)


def set_path(event, path, value):
    head, _, tail = path.partition(".")
    if tail:
        event[head][tail] = value
    else:
        event[head] = value


def present(event, event_id, vault, reveal):
    """The stored event as the ledger shows it: revealed, masked, or [erased]."""
    kind = event.get("type")
    paths = [p for p in PERSONAL_TEXT.get(kind, []) if get_path(event, p) is not None]
    sealed = event.pop("sealed", None)
    if sealed is not None:
        values = vault.open(sealed, event_id)
        if values is None:
            if kind == "callOpened":
                event["customer"]["id"] = ERASED
            for p in paths:
                set_path(event, p, ERASED)
        elif reveal:
            if kind == "callOpened":
                event["customer"]["id"] = values.get("customer.id", event["customer"]["id"])
            for p in paths:
                set_path(event, p, values.get(p, get_path(event, p)))
        else:
            for p in paths:
                set_path(event, p, MASKED)
        return event
    if kind in COMPLIANCE:
        record = vault.record(event["customer"])
        if record is None:
            event["customer"] = ERASED
        elif reveal:
            event["customer"] = record[1]
        return event
    # Free text recorded on an erased customer's ticket is stored as [erased] already.
    if not reveal:
        for p in paths:
            if get_path(event, p) == SEALED:
                set_path(event, p, MASKED)
    return event


MASK64 = (1 << 64) - 1


def mix(z):
    """The SplitMix64 finalizer (docs/FORMAT.md, "The id index")."""
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK64
    return z ^ (z >> 31)


def filter_bits(event_id, blocks, salt):
    """The (byte, mask) pairs an id sets in a run's filter of `blocks` 64-byte blocks."""
    hi, lo = struct.unpack(">QQ", event_id)
    s = mix(hi ^ mix(lo ^ salt))
    w = mix(s)
    block = ((s >> 32) * blocks) >> 32
    return [(block * 64 + p // 8, 1 << (p % 8)) for p in ((w >> (9 * i)) & 511 for i in range(7))]


class IdIndex:
    """The id index (docs/FORMAT.md, "The id index"), checked from the document alone: the
    runs' descriptors and filters up front (each filter rebuilt from its run's ids), then
    each event's id looked up the documented way during the chain walk; memory stays one
    filter per run, whatever the number of events."""

    def __init__(self, env, txn):
        self.txn = txn
        self.ids_db = env.open_db(b"ids", txn=txn, create=False)
        try:
            self.runs_db = env.open_db(b"id_runs", txn=txn, create=False)
            self.entries_db = env.open_db(b"id_run_entries", txn=txn, create=False)
        except lmdb.NotFoundError:  # format 3: no runs
            self.runs_db = self.entries_db = None
        self.runs = {}
        self.entries = 0
        self.problem = None

    def check_runs(self):
        """Checks every descriptor, entry and filter; returns a problem or None."""
        for key, value in self.txn.cursor(db=self.ids_db):
            if len(key) != 16 or len(value) not in ID_VALUE_SIZES:
                return "ids: entry %s is malformed" % key.hex()
            self.entries += 1
        self.recent = self.entries
        if self.runs_db is None:
            return None
        for key, value in self.txn.cursor(db=self.runs_db):
            if len(key) != 4 or len(value) < 20:
                return "id_runs: malformed descriptor %s" % key.hex()
            (number,) = struct.unpack(">I", key)
            count, blocks, salt = struct.unpack(">QIQ", value[:20])
            if count == 0 or blocks != max(1, (count * 10 + 511) // 512) or len(value) != 20 + 64 * blocks:
                return "id_runs: the descriptor of run %d does not follow the format" % number
            self.runs[number] = (count, blocks, salt, bytes(value[20:]))
        rebuilt, counts = None, 0
        current = None
        seen = set()
        for key, value in self.txn.cursor(db=self.entries_db):
            if len(key) != 20 or len(value) not in ID_VALUE_SIZES:
                return "id_run_entries: entry %s is malformed" % key.hex()
            (number,) = struct.unpack(">I", key[:4])
            if number not in self.runs:
                return "id_run_entries: entry %s belongs to no described run" % key.hex()
            if number != current:
                problem = self._close(current, rebuilt, counts)
                if problem:
                    return problem
                current, rebuilt, counts = number, bytearray(64 * self.runs[number][1]), 0
                seen.add(number)
            for byte, mask in filter_bits(key[4:], self.runs[number][1], self.runs[number][2]):
                rebuilt[byte] |= mask
            counts += 1
            self.entries += 1
        problem = self._close(current, rebuilt, counts)
        if problem:
            return problem
        if len(seen) != len(self.runs):
            return "id_runs: a described run holds no entries"
        return None

    def _close(self, number, rebuilt, counts):
        if number is None:
            return None
        count, _, _, stored = self.runs[number]
        if counts != count:
            return "id_runs: run %d holds %d entries, not %d" % (number, counts, count)
        if bytes(rebuilt) != stored:
            return "id_runs: the filter of run %d is not the one its ids give" % number
        return None

    def leads_to(self, event_id, seq):
        """Whether the documented look-up of `event_id` finds `seq`: `ids`, then each run
        whose filter admits the id."""
        value = self.txn.get(event_id, db=self.ids_db)
        if value is None and self.entries_db is not None:
            for number, (_, blocks, salt, stored) in self.runs.items():
                if all(stored[byte] & mask for byte, mask in filter_bits(event_id, blocks, salt)):
                    value = self.txn.get(struct.pack(">I", number) + event_id, db=self.entries_db)
                    if value is not None:
                        break
        return value is not None and struct.unpack(">Q", value[:8])[0] == seq

    def layout(self):
        return {"recent": self.recent, "runs": len(self.runs), "runEntries": self.entries - self.recent}


class StreamLinks:
    """The streams of a format-5 ledger (docs/FORMAT.md, "Reading a stream" and "What `verify`
    checks" there), checked from the document alone, as `verify` checks them: as multisets,
    through sums of keyed hashes (BLAKE2b under a random key, modulo 2^61 - 1). Each event adds
    (stream, version, seq) to one side and its link (stream, version - 1, linked seq) to the
    other; each `streams` entry adds (stream, last version, last seq) to the second. Memory
    stays the same whatever the number of events or streams."""

    P = (1 << 61) - 1

    def __init__(self, env, txn):
        self.txn = txn
        self.links_db = env.open_db(b"stream_links", txn=txn, create=False)
        self.marks_db = env.open_db(b"stream_marks", txn=txn, create=False)
        self.streams_db = env.open_db(b"streams", txn=txn, create=False)
        self.key = os.urandom(32)
        self.events_side = self.links_side = 0
        self.numbers_expected = self.marks_expected = 0
        self.streams_met = 0
        self.links = txn.cursor(db=self.links_db)
        self.links.first()

    def h(self, tag, name, a, b):
        data = tag + struct.pack(">I", len(name)) + name + struct.pack(">QQ", a, b)
        return int.from_bytes(hashlib.blake2b(data, key=self.key, digest_size=8).digest(), "big") % self.P

    def event(self, seq, name, version):
        """Takes the event at `seq` (in seq order); returns a problem, or None."""
        if self.links.key() != struct.pack(">Q", seq) or len(self.links.value()) != 8:
            return "stream_links: no 8-byte entry for seq %d" % seq
        (link,) = struct.unpack(">Q", self.links.value())
        self.links.next()
        self.events_side = (self.events_side + self.h(b"L", name, version, seq)) % self.P
        if version == 1:
            if link != 0:
                return "stream_links: the event at seq %d, the first of its stream, links to seq %d" % (seq, link)
            self.streams_met += 1
            self.numbers_expected = (self.numbers_expected + self.h(b"N", name, self.streams_met, 0)) % self.P
        else:
            if link == 0 or link >= seq:
                return "stream_links: the event at seq %d (version %d) links to seq %d" % (seq, version, link)
            self.links_side = (self.links_side + self.h(b"L", name, version - 1, link)) % self.P
        if version % 256 == 0:
            self.marks_expected = (self.marks_expected + self.h(b"M", name, version, seq)) % self.P
        return None

    def finish(self, events_db):
        """After the last event: the heads, the numbers and the marks; returns a problem, or None."""
        if self.links.key():
            return "stream_links: an entry beyond the last event"
        numbers_found, heads = 0, 0
        for key, value in self.txn.cursor(db=self.streams_db):
            if len(value) != 24:
                return "streams: the entry %r is malformed" % bytes(key)
            number, version, last = struct.unpack(">QQQ", value)
            numbers_found = (numbers_found + self.h(b"N", bytes(key), number, 0)) % self.P
            self.links_side = (self.links_side + self.h(b"L", bytes(key), version, last)) % self.P
            heads += 1
        marks_found = 0
        for key, value in self.txn.cursor(db=self.marks_db):
            if len(key) != 16 or len(value) != 8:
                return "stream_marks: an entry is malformed"
            number, version = struct.unpack(">QQ", key)
            (seq,) = struct.unpack(">Q", value)
            record = self.txn.get(struct.pack(">Q", seq), db=events_db)
            if record is None:
                return "stream_marks: the entry of stream %d version %d leads to no event" % (number, version)
            _, _, record_version, _, stream, _ = parse_record(record)
            name = stream.encode("utf-8")
            head = self.txn.get(name, db=self.streams_db)
            if record_version != version or head is None or len(head) != 24 or struct.unpack(">Q", head[:8])[0] != number:
                return "stream_marks: the entry of stream %d version %d leads to another event" % (number, version)
            marks_found = (marks_found + self.h(b"M", name, version, seq)) % self.P
        if heads != self.streams_met or numbers_found != self.numbers_expected:
            return "streams: the entries do not name each stream once, numbered in order of first appearance"
        if self.links_side != self.events_side:
            return "stream_links, streams: the links and heads do not chain each stream's events"
        if marks_found != self.marks_expected:
            return "stream_marks: the marks are not exactly every 256th version of each stream"
        return None


def main(argv):
    args = argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 1
    directory = args[0]
    options = args[1:]
    known = {"--events", "--reveal", "--stored", "--keys"}
    for i, a in enumerate(options):
        if a.startswith("--") and a not in known:
            print("unknown option %s\n%s" % (a, __doc__), file=sys.stderr)
            return 1
    show, reveal, stored = "--events" in options, "--reveal" in options, "--stored" in options
    key_dir = directory + "/keys"
    if "--keys" in options:
        i = options.index("--keys")
        if i + 1 >= len(options):
            print("--keys needs a directory", file=sys.stderr)
            return 1
        key_dir = options[i + 1]
    if reveal and stored:
        print("--reveal and --stored exclude each other", file=sys.stderr)
        return 1
    env = lmdb.open(directory + "/log", readonly=True, lock=False, max_dbs=64, subdir=True)
    events_db = env.open_db(b"events", create=False)
    hashes_db = env.open_db(b"hashes", create=False)
    meta_db = env.open_db(b"meta", create=False)
    with env.begin() as txn:
        fmt = txn.get(b"format", db=meta_db)
        if fmt not in FORMATS:
            sys.exit("not an escalation ledger of format %s (found %r)" % (FORMATS[0].decode(), fmt))
        vault = Vault(env, txn, key_dir, reveal) if show and not stored else None
        head = txn.get(b"head", db=meta_db) or b"\0" * 56
        head_seq, _, _ = struct.unpack(">QqQ", head[:24])
        head_hash = head[24:56]
        previous = b"\0" * 32
        expected = 1
        index = IdIndex(env, txn)
        problem = index.check_runs()
        if problem:
            print(json.dumps({"ok": False, "checked": 0, "firstBadSeq": None, "problem": problem}))
            return 4
        links = StreamLinks(env, txn) if fmt == FORMATS[0] else None  # formats 4 and 3 index streams otherwise
        hashes = txn.cursor(db=hashes_db)
        hashes.first()
        for key, value in txn.cursor(db=events_db):
            (key_seq,) = struct.unpack(">Q", key)
            seq, recorded_at, version, event_id, stream, payload = parse_record(value)
            stored_hashes = hashes.value() if hashes.key() == key else None
            chain = hashlib.sha256(previous + value).digest()
            leaf = hashlib.sha256(b"\0" + value).digest()
            if key_seq != expected or seq != key_seq or stored_hashes is None \
                    or stored_hashes[:32] != chain or stored_hashes[32:] != leaf:
                print(json.dumps({"ok": False, "checked": expected - 1, "firstBadSeq": expected}))
                return 4
            if show:
                event = json.loads(payload)
                if vault is not None:
                    event = present(event, event_id, vault, reveal)
                print(json.dumps({"seq": seq, "version": version, "recordedAtMicros": recorded_at,
                                  "stream": stream, "hash": chain.hex(), "event": event}, ensure_ascii=False))
            previous = chain
            expected += 1
            hashes.next()
            if not index.leads_to(event_id, seq):
                print(json.dumps({"ok": False, "checked": seq - 1, "firstBadSeq": seq,
                                  "problem": "ids: the id of the event at seq %d is not found, or leads elsewhere" % seq}))
                return 4
            problem = links.event(seq, stream.encode("utf-8"), version) if links else None
            if problem:
                print(json.dumps({"ok": False, "checked": seq - 1, "firstBadSeq": seq, "problem": problem}))
                return 4
        if expected - 1 != head_seq or (head_seq and previous != head_hash):
            print(json.dumps({"ok": False, "checked": expected - 1, "firstBadSeq": expected}))
            return 4
        problem = links.finish(events_db) if links else None
        if problem:
            print(json.dumps({"ok": False, "checked": head_seq, "firstBadSeq": None, "problem": problem}))
            return 4
        # Every event found its own entry; as many entries as events leaves none for anything else.
        if index.entries != head_seq:
            print(json.dumps({"ok": False, "checked": head_seq, "firstBadSeq": None,
                              "problem": "the id index holds %d entries for %d events" % (index.entries, head_seq)}))
            return 4
        print(json.dumps({"ok": True, "checked": head_seq, "firstBadSeq": None, "headHash": previous.hex(),
                          "idIndex": index.layout()}))
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
