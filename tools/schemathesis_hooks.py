"""Schemathesis hooks for `ledger serve` (SCHEMATHESIS_HOOKS=schemathesis_hooks, tools/ on PYTHONPATH).

POST /v1/events takes JSON Lines (application/jsonl), a media type schemathesis does not know:
a generated body is sent as it is (a string) or, for any other value, as one JSON line.
"""
import json

import schemathesis


@schemathesis.serializer("application/jsonl")
def jsonl(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return (json.dumps(value) + "\n").encode("utf-8")
