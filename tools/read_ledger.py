#!/usr/bin/env python3
"""Reads an escalation ledger with nothing but Python and the `lmdb` package,
following docs/FORMAT.md: prints every event as a JSON line and recomputes the
hash chain and the Merkle leaf hashes.

    python3 tools/read_ledger.py escalations.ledger            # verify, print a summary
    python3 tools/read_ledger.py escalations.ledger --events   # also print each event

Exit status: 0 when the chain verifies, 4 when it does not (naming the first bad seq),
1 on other errors.
"""
import hashlib
import json
import struct
import sys

try:
    import lmdb
except ImportError:
    sys.exit("read_ledger.py needs the lmdb package: pip install lmdb")


def parse_record(value):
    """Splits a stored record (docs/FORMAT.md, 'The record') into its fields."""
    if len(value) < 43 or value[0] != 1:
        raise ValueError("not a format-1 record")
    seq, recorded_at, version = struct.unpack(">QqQ", value[1:25])
    event_id = value[25:41]
    (stream_len,) = struct.unpack(">H", value[41:43])
    stream = value[43:43 + stream_len].decode("utf-8")
    payload = value[43 + stream_len:]
    return seq, recorded_at, version, event_id, stream, payload


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 1
    directory, show = argv[1], "--events" in argv[2:]
    env = lmdb.open(directory + "/log", readonly=True, lock=False, max_dbs=32, subdir=True)
    events_db = env.open_db(b"events", create=False)
    hashes_db = env.open_db(b"hashes", create=False)
    meta_db = env.open_db(b"meta", create=False)
    with env.begin() as txn:
        fmt = txn.get(b"format", db=meta_db)
        if fmt != b"escalation-ledger/2":
            sys.exit("not an escalation ledger (format %r)" % fmt)
        head = txn.get(b"head", db=meta_db) or b"\0" * 56
        head_seq, _, _ = struct.unpack(">QqQ", head[:24])
        head_hash = head[24:56]
        previous = b"\0" * 32
        expected = 1
        hashes = txn.cursor(db=hashes_db)
        hashes.first()
        for key, value in txn.cursor(db=events_db):
            (key_seq,) = struct.unpack(">Q", key)
            seq, recorded_at, version, event_id, stream, payload = parse_record(value)
            stored = hashes.value() if hashes.key() == key else None
            chain = hashlib.sha256(previous + value).digest()
            leaf = hashlib.sha256(b"\0" + value).digest()
            if key_seq != expected or seq != key_seq or stored is None or stored[:32] != chain or stored[32:] != leaf:
                print(json.dumps({"ok": False, "checked": expected - 1, "firstBadSeq": expected}))
                return 4
            if show:
                event = json.loads(payload)
                print(json.dumps({"seq": seq, "version": version, "recordedAtMicros": recorded_at,
                                  "stream": stream, "hash": chain.hex(), "event": event}, ensure_ascii=False))
            previous = chain
            expected += 1
            hashes.next()
        if expected - 1 != head_seq or (head_seq and previous != head_hash):
            print(json.dumps({"ok": False, "checked": expected - 1, "firstBadSeq": expected}))
            return 4
        print(json.dumps({"ok": True, "checked": head_seq, "firstBadSeq": None, "headHash": previous.hex()}))
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
