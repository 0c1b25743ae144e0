#!/usr/bin/env python3
"""Drives a running `ledger serve` from docs/openapi.yaml and checks that it answers as documented.

    python3 tools/check_openapi.py --spec docs/openapi.yaml --url http://127.0.0.1:8080 --tokens tokens.json

tokens.json maps roles to tokens: {"writer": "lt_…", "auditor": "…", "compliance": "…", "admin": "…"}.
For every path and method of the spec it calls the server with the token of the operation's
x-role and the documented examples, and checks the status is documented and the content type is
one documented for it; for secured operations, that no token gives a documented 401 and a lower
role a documented 403, each a JSON refusal {"error":{"kind","message"}}. Exits 0 when everything
matches, 1 otherwise. Standard library and PyYAML only.
"""
import argparse
import http.client
import io
import json
import sys
import tarfile
import urllib.parse

import yaml

def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def call(base, method, path, token=None, body=None, content_type=None, headers=None):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        h["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
    data = b"" if ctype == "text/event-stream" else resp.read()  # a live feed never ends: headers only
    conn.close()
    return resp.status, ctype, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--tokens", required=True)
    args = ap.parse_args()
    spec = yaml.safe_load(open(args.spec, encoding="utf-8"))
    tokens = json.load(open(args.tokens, encoding="utf-8"))
    failures, checked = [], 0

    def expect(cond, what):
        nonlocal checked
        checked += 1
        if not cond:
            failures.append(what)

    def check_refusal(op, label, status, ctype, data, wanted):
        responses = op["responses"]
        expect(status == wanted, f"{label}: status {status}, expected {wanted}")
        expect(str(status) in responses, f"{label}: status {status} is not documented")
        expect(ctype == "application/json", f"{label}: refusal content type {ctype!r}")
        try:
            err = json.loads(data)["error"]
            expect(isinstance(err.get("kind"), str) and isinstance(err.get("message"), str), f"{label}: error shape {data[:200]!r}")
        except (ValueError, KeyError, TypeError):
            expect(False, f"{label}: not a JSON refusal: {data[:200]!r}")

    for template, item in spec["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {template}"
            params = [resolve(spec, p) for p in op.get("parameters", [])]
            path = template
            query = {}
            for p in params:
                if p["in"] == "path":
                    path = path.replace("{" + p["name"] + "}", urllib.parse.quote(str(p["example"]), safe="/."))
                elif p["in"] == "query" and "example" in p:
                    query[p["name"]] = str(p["example"])
            target = path + ("?" + urllib.parse.urlencode(query) if query else "")
            body, ctype_in = None, None
            if "requestBody" in op:
                ctype_in, media = next((k, v) for k, v in op["requestBody"]["content"].items() if "example" in v)
                body = media["example"].encode()
            secured = op.get("security", spec.get("security")) != []
            role = op.get("x-role")
            token = tokens[role] if secured else None
            status, ctype, data = call(args.url, method.upper(), target, token, body, ctype_in)
            responses = op["responses"]
            expect(str(status) in responses, f"{label}: status {status} is not documented ({data[:200]!r})")
            expect(status < 400 or status == 422, f"{label}: with a {role or 'no'} token and the examples: {status} {data[:200]!r}")
            if str(status) in responses:
                documented = resolve(spec, responses[str(status)]).get("content", {})
                expect(ctype in documented, f"{label}: content type {ctype!r} is not among {sorted(documented)}")
            if ctype == "application/x-tar" and status == 200:
                # An export: a tar archive holding one bundle directory with its manifest.
                try:
                    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
                    expect(any(n.endswith("/manifest.json") for n in names), f"{label}: no manifest.json in the archive: {names}")
                except tarfile.TarError as e:
                    expect(False, f"{label}: not a tar archive: {e}")
            if secured:
                s, c, d = call(args.url, method.upper(), target, None, body, ctype_in)
                check_refusal(op, f"{label} without a token", s, c, d, 401)
                # A role below the one needed: writer for reads, auditor for appends.
                weaker = "writer" if role in ("auditor", "compliance") else ("auditor" if role == "writer" and method != "get" else None)
                if weaker:
                    s, c, d = call(args.url, method.upper(), target, tokens[weaker], body, ctype_in)
                    check_refusal(op, f"{label} with a {weaker} token", s, c, d, 403)
            # Every documented list format answers in its documented content type.
            if "format" in [p["name"] for p in params] and status == 200:
                for fmt, wanted in (("jsonl", "application/jsonl"), ("csv", "text/csv")):
                    q = dict(query, format=fmt)
                    s, c, _ = call(args.url, "GET", path + "?" + urllib.parse.urlencode(q), token)
                    expect(s == 200 and c == wanted, f"{label} format={fmt}: {s} {c}")
    # An undocumented path is a JSON 404.
    s, c, d = call(args.url, "GET", "/v1/no-such-thing", tokens["admin"])
    expect(s == 404 and c == "application/json", f"GET /v1/no-such-thing: {s} {c}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked - len(failures)}/{checked} checks passed over {sum(len(v) for v in spec['paths'].values())} operations")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
