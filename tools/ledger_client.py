#!/usr/bin/env python3
"""A small client of `ledger serve` (docs/API.md), standard library only.

    from ledger_client import LedgerClient
    c = LedgerClient("http://127.0.0.1:8080", token="lt_…")
    report = c.append([{"id": "…", "type": "noteLogged", …}])      # the import report, once durable
    findings = c.query("findings", kind="callbackOverdue", now="2026-04-01T00:00:00Z")
    for seq, event in c.feed(after=0):                              # live, resumable
        print(seq, event["event"]["type"])

Or from a shell: python3 tools/ledger_client.py --url URL --token TOKEN findings kind=callbackOverdue
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class LedgerError(Exception):
    """A refusal: the HTTP status and the service's {"error":{"kind","message"}}."""

    def __init__(self, status, kind, message, body=None):
        super().__init__(f"{status} {kind}: {message}")
        self.status, self.kind, self.message, self.body = status, kind, message, body


class LedgerClient:
    def __init__(self, url, token, timeout=60):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def _request(self, method, path, params=None, body=None, content_type=None, headers=None):
        q = {k: ("true" if v is True else str(v)) for k, v in (params or {}).items() if v is not None}
        url = self.url + path + ("?" + urllib.parse.urlencode(q) if q else "")
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            data = e.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                raise LedgerError(e.code, "http", data.decode("utf-8", "replace")) from None
            if "error" in parsed:
                raise LedgerError(e.code, parsed["error"]["kind"], parsed["error"]["message"], parsed) from None
            raise LedgerError(e.code, "refused", "a line was refused", parsed) from None

    def append(self, events, atomic=False):
        """Appends interchange lines (dicts or JSON strings); returns the import report.
        Raises LedgerError (kind "refused", .body the report) when a line was refused."""
        lines = [e if isinstance(e, str) else json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
        body = ("\n".join(lines) + "\n").encode("utf-8")
        with self._request("POST", "/v1/events", {"atomic": atomic or None}, body, "application/jsonl") as r:
            return json.load(r)

    def query(self, name, path_id=None, **params):
        """A query (tickets, findings, scorecards, audit, customers, stats) as parsed JSON."""
        path = f"/v1/{name}" + (f"/{urllib.parse.quote(path_id, safe='')}" if path_id else "")
        with self._request("GET", path, params) as r:
            return json.load(r)

    def log(self, after=0, limit=1000):
        """The log's events after a seq, as parsed tail lines."""
        with self._request("GET", "/v1/log", {"after": after, "limit": limit}) as r:
            return [json.loads(line) for line in r.read().splitlines() if line]

    def feed(self, after=0):
        """Yields (seq, tail line) from the live feed, reconnecting with Last-Event-ID when the
        connection drops, so that nothing is lost or repeated."""
        last = after
        while True:
            try:
                with self._request("GET", "/v1/feed", headers={"Last-Event-ID": str(last)}) as r:
                    seq, data = None, []
                    for raw in r:
                        line = raw.decode("utf-8").rstrip("\n")
                        if line.startswith("id: "):
                            seq = int(line[4:])
                        elif line.startswith("data: "):
                            data.append(line[6:])
                        elif line == "" and seq is not None:
                            last = seq
                            yield seq, json.loads("\n".join(data))
                            seq, data = None, []
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                continue

    def checkpoint(self):
        with self._request("GET", "/checkpoint") as r:
            return r.read().decode("utf-8")


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="Query a ledger service: QUERY [ID] [name=value …]")
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", required=True)
    ap.add_argument("query", help="tickets, findings, scorecards, audit, customers or stats")
    ap.add_argument("rest", nargs="*", help="an id (tickets, customers), then name=value parameters")
    a = ap.parse_args(argv)
    ident = a.rest[0] if a.rest and "=" not in a.rest[0] else None
    params = dict(p.split("=", 1) for p in a.rest if "=" in p)
    try:
        print(json.dumps(LedgerClient(a.url, a.token).query(a.query, ident, **params), indent=2, ensure_ascii=False))
    except LedgerError as e:
        print(e, file=sys.stderr)
        return 5 if e.status == 404 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
