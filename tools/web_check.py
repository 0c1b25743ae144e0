#!/usr/bin/env python3
"""Drives the web view of `ledger serve` (issue 14) in a real headless Chromium over the
DevTools protocol, and checks what it shows against `ledger`'s JSON for the same query.

Standard library only: a minimal WebSocket client (RFC 6455, client side) is below.

  python3 tools/web_check.py --base http://127.0.0.1:PORT --ledger DIR --ledger-bin .build/debug/ledger \
      --auditor lt_... --compliance lt_... --artifacts .build/web-artifacts

Exits 0 when every check passes; otherwise prints each failure and exits 1. Screenshots of
each page go to --artifacts.
"""
import argparse
import base64
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

# ---------------------------------------------------------------- WebSocket (client side)


class WebSocket:
    def __init__(self, url, timeout=60):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path + ("?" + u.query if u.query else "")
        req = (f"GET {path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("websocket handshake: connection closed")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: " + head.decode(errors="replace"))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        """The next whole text message (control frames handled here)."""
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise RuntimeError("websocket closed by peer")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- Chromium over CDP


class Browser:
    def __init__(self, chromium, artifacts):
        self.artifacts = artifacts
        self.profile = tempfile.mkdtemp(prefix="web-check-chromium-")
        args = [chromium, "--headless=new", "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--window-size=1280,900", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError("chromium exited before it listened")
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            raise RuntimeError("chromium did not say where DevTools listens")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.console_errors = []
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(method)

    def expect_refusal(self, url_part, status):
        """Drops the browser's report of a refusal the check asked for (a page answered with an error status)."""
        wanted = f"status of {status} "
        self.console_errors = [e for e in self.console_errors if not (wanted in e and url_part in e)]

    def _note(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append("console." + params["type"] + ": " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            e = params["entry"]
            self.console_errors.append(f"log: {e.get('text')} {e.get('url', '')}")
        self.events.append(message)

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == mid:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note(message)

    def wait_event(self, method, timeout=60):
        # Events already seen since the last wait count.
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    del self.events[: i + 1]
                    return m
            self._note(json.loads(self.ws.recv()))
        raise RuntimeError(f"timed out waiting for {method}")

    def goto(self, url):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate failed: " + json.dumps(r["exceptionDetails"])[:500])
        return r.get("result", {}).get("value")

    def act(self, expression):
        """Runs an expression that navigates (a click, a form submit) and waits for the new page."""
        self.events.clear()
        self.js(expression)
        self.wait_event("Page.loadEventFired")

    def url(self):
        return self.js("location.href")

    # What docs/WEB.md promises of every page ("accessible and plain"), checked on each page
    # before its screenshot: one h1 and a main; every control labelled (a <label>, or
    # aria-label/aria-labelledby); every button named; no positive tabindex (keyboard order is
    # the document's); at the browser's 1280 px the page itself never scrolls sideways (a wide
    # table scrolls inside its own box).
    AUDIT = """(() => {
        const bad = [];
        if (document.querySelectorAll('h1').length !== 1) bad.push('not exactly one h1');
        if (!document.querySelector('main')) bad.push('no main');
        for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
                bad.push('unlabelled ' + el.tagName.toLowerCase() + ' ' + (el.name || el.id));
        }
        for (const el of document.querySelectorAll('button')) {
            if (!el.textContent.trim() && !el.getAttribute('aria-label')) bad.push('a button without a name');
        }
        for (const el of document.querySelectorAll('[tabindex]')) {
            if (parseInt(el.getAttribute('tabindex'), 10) > 0) bad.push('positive tabindex');
        }
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
            bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
        return bad.join('; ');
    })()"""

    def screenshot(self, name):
        problems = self.js(self.AUDIT)
        check(problems == "", f"{name}: accessible and plain" + (f" ({problems})" if problems else ""))
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(os.path.join(self.artifacts, name + ".png"), "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        self.ws.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# ---------------------------------------------------------------- the checks

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def close(a, b, tol=1e-4):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--ledger", required=True)
    ap.add_argument("--ledger-bin", required=True)
    ap.add_argument("--auditor", required=True)
    ap.add_argument("--compliance", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    a = ap.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    base = a.base.rstrip("/")

    def cli(*args, json_out=True):
        r = subprocess.run([a.ledger_bin, "--ledger", a.ledger, *args], capture_output=True)  # bytes: CSV keeps its CRLF
        if r.returncode != 0:
            raise RuntimeError(f"ledger {' '.join(args)}: {r.returncode} {r.stderr.decode(errors='replace')}")
        return json.loads(r.stdout) if json_out else r.stdout.decode()

    now = "2027-01-01T00:00:00Z"  # a fixed deadline clock, after every demo deadline
    b = Browser(a.chromium, a.artifacts)
    try:
        # Signed out: every page leads to sign-in.
        b.goto(base + "/web/scorecards")
        check("/web/signin" in b.url(), "a signed-out browser asking for a page is sent to sign-in")
        check(b.js("document.querySelector('nav a[href=\"/web/findings\"]') === null"), "the sign-in page shows no navigation")
        check(b.js("document.querySelector('label[for=token]') !== null"), "the token field is labelled")
        b.screenshot("01-signin")

        def sign_in(token):
            b.goto(base + "/web/signin")
            b.js(f"document.getElementById('token').value = {json.dumps(token)}")
            b.act("document.querySelector('form[action=\"/web/signin\"]').submit()")

        sign_in("lt_00000000_not-a-token")
        check("not valid" in b.js("document.body.innerText"), "a wrong token is refused at sign-in")
        b.expect_refusal("/web/signin", 401)
        sign_in(a.auditor)
        check(b.url().endswith("/web/overview"), f"signing in as an auditor opens the overview (at {b.url()})")
        cookies = b.call("Network.getCookies", urls=[base + "/web/overview"])["cookies"]
        session = [c for c in cookies if c["name"] == "ledger_session"]
        check(len(session) == 1 and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict",
              "the session cookie is HttpOnly and SameSite=Strict")
        check(b.js("document.cookie.indexOf('ledger_session') === -1"), "page script cannot read the session cookie")
        check(b.js("document.querySelector('nav a[href=\"/web/compliance\"]') === null"), "an auditor is not offered the compliance page")
        jar = {"cookie": "ledger_session=" + session[0]["value"] if session else ""}

        def download(path):
            req = urllib.request.Request(base + path, headers={"Cookie": jar["cookie"]})
            with urllib.request.urlopen(req) as r:
                return r.headers.get("Content-Type", ""), r.headers.get("Content-Disposition", ""), r.read().decode()

        # ---- Overview: a week of the demo, against `ledger report --json`.
        whole = cli("report", "--json", "--now", now)
        weeks = whole["weeks"]
        week = weeks[1] if len(weeks) > 1 else weeks[0]
        start = week["week"]
        end_t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
            time.mktime(time.strptime(start, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone + 7 * 86400 - 1))
        report = cli("report", "--from", start, "--to", end_t, "--json")
        b.goto(base + "/web/overview?" + urllib.parse.urlencode({"from": start, "to": end_t}))
        shown = b.js("Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.dataset.value]))")
        check(int(shown["tickets"]) == report["tickets"], f"overview tickets {shown['tickets']} = report {report['tickets']}")
        for k in ("escalationRate", "deEscalationRate", "twoAskCompliance", "callbackOnTimeRate"):
            v = shown.get(k) or None
            check(close(v, report[k]), f"overview {k} {v} = report {report[k]}")
        kinds = b.js("Object.fromEntries([...document.querySelectorAll('[data-kind]')].map(e => [e.dataset.kind, +e.dataset.value]))")
        check(all(kinds.get(k) == f["count"] for k, f in report["findings"].items()), "overview findings by kind = report's counts")
        per = b.js("Object.fromEntries([...document.querySelectorAll('[data-per-thousand]')].map(e => [e.dataset.perThousand, e.textContent]))")
        check(all(abs(float(per[k]) - f["perThousandCalls"]) < 0.006 for k, f in report["findings"].items()), "overview findings per 1,000 calls = report's")
        outcomes = b.js("Object.fromEntries([...document.querySelectorAll('[data-outcome]')].map(e => [e.dataset.outcome, +e.textContent]))")
        check(outcomes == report["outcomes"], f"overview outcomes {outcomes} = report {report['outcomes']}")
        check(b.js("document.querySelectorAll('svg[role=img]').length") >= 2, "overview draws the trend and findings charts (inline SVG)")
        stats = cli("stats", "--json")
        check(int(shown["lastSeq"]) == stats["lastSeq"], "overview shows the chain's last seq")
        check(stats["headHash"] in b.js("document.body.innerText"), "overview shows the head hash")
        b.screenshot("02-overview")
        ctype, disp, body = download("/web/overview.csv?" + urllib.parse.urlencode({"from": start, "to": end_t}))
        rows = list(csv.reader(io.StringIO(body)))
        check(ctype.startswith("text/csv") and "attachment" in disp and ["volume", "tickets", str(report["tickets"])] in rows,
              "the overview downloads as CSV with the same figures")
        # Verify the chain from the page (a form with its CSRF token).
        b.act("document.querySelector('form[action=\"/web/verify\"]').submit()")
        check("intact" in b.js("document.getElementById('chain').innerText"), "verifying the chain from the overview shows it intact")

        # ---- Scorecards against `ledger scorecard --json`.
        cards = {c["staff"]: c for c in cli("scorecard", "--json", "--now", now)}
        b.goto(base + "/web/scorecards?" + urllib.parse.urlencode({"now": now}))
        table = b.js("""[...document.querySelectorAll('#scorecards tbody tr')].map(tr =>
            Object.fromEntries([...tr.querySelectorAll('[data-col]')].map(e => [e.dataset.col, e.dataset.value === undefined ? e.textContent : e.dataset.value])))""")
        check(len(table) == len(cards), f"scorecards list every staff member ({len(table)} of {len(cards)})")
        bad = []
        for row in table:
            c = cards.get(row["staff"])
            if c is None:
                bad.append(row["staff"]); continue
            for k in ("callsOpened", "escalationRequests", "deEscalated", "transfersOut", "callbacksOwed", "callbacksOverdue", "debriefs", "supervisorLoad"):
                if int(float(row[k])) != c[k]:
                    bad.append(f"{row['staff']}.{k}")
            for k in ("deEscalationRate", "twoAskCompliance", "escalationCost"):
                if not close(row[k] or None, c[k], 0.006):
                    bad.append(f"{row['staff']}.{k}")
            if int(float(row["findings"])) != sum(c["findings"].values()):
                bad.append(f"{row['staff']}.findings")
        check(not bad, "every scorecard figure equals `ledger scorecard --json`" + (f" (differ: {bad[:8]})" if bad else ""))
        b.screenshot("03-scorecards")
        b.act("document.querySelector('a[data-sort=callsOpened]').click()")
        values = b.js("[...document.querySelectorAll('#scorecards [data-col=callsOpened]')].map(e => +e.dataset.value)")
        check(values == sorted(values, reverse=True) and len(values) == len(cards), "sorting by calls opened puts the most first")
        check(b.js("document.querySelector('th[aria-sort]') && document.querySelector('th[aria-sort]').getAttribute('aria-sort')") == "descending",
              "the sorted column says so (aria-sort)")
        b.act("document.querySelector('a[data-sort=callsOpened]').click()")
        values = b.js("[...document.querySelectorAll('#scorecards [data-col=callsOpened]')].map(e => +e.dataset.value)")
        check(values == sorted(values), "sorting again puts the fewest first")
        b.js("document.querySelector('select[name=role]').value = 'agent'")
        b.act("document.querySelector('form[aria-label=\"Filter scorecards\"]').submit()")
        roles = b.js("[...document.querySelectorAll('#scorecards [data-col=role]')].map(e => e.textContent)")
        agents = [c for c in cards.values() if c["role"] == "agent"]
        check(roles and set(roles) == {"agent"} and len(roles) == len(agents), f"filtering by role shows the {len(agents)} agents only")
        lead = b.js("document.querySelector('select[name=reportsTo] option:nth-child(2)').value")
        b.js(f"document.querySelector('select[name=role]').value = ''; document.querySelector('select[name=reportsTo]').value = {json.dumps(lead)}")
        b.act("document.querySelector('form[aria-label=\"Filter scorecards\"]').submit()")
        team = b.js("[...document.querySelectorAll('#scorecards tbody tr')].map(tr => tr.cells[3].textContent)")
        check(team and set(team) == {lead}, f"filtering by team shows those reporting to {lead} only")
        ctype, disp, body = download("/web/scorecards.csv?" + urllib.parse.urlencode({"reportsTo": lead, "now": now}))
        rows = list(csv.reader(io.StringIO(body)))
        check(ctype.startswith("text/csv") and len(rows) == len(team) + 1 and rows[0][0] == "staff", "the filtered scorecards download as CSV")
        b.screenshot("04-scorecards-filtered")
        # A member's page.
        b.act("document.querySelector('#scorecards a[data-col=staff]').click()")
        member = b.js("document.querySelector('h1').textContent")
        check(member.startswith("Staff member "), f"a scorecard row leads to the member's page ({member})")
        sid = member.split()[-1]
        check(b.js("document.querySelector('#scorecard [data-col=callsOpened]').dataset.value") is not None
              and int(float(b.js("document.querySelector('#scorecard [data-col=callsOpened]').dataset.value"))) == cards[sid]["callsOpened"],
              "the member's page shows their scorecard")
        b.screenshot("05-staff")

        # ---- Findings against `ledger findings --json`.
        kind = "transferBeforeTwoAsks"
        found = cli("findings", "--kind", kind, "--now", now, "--json")
        b.goto(base + "/web/findings?" + urllib.parse.urlencode({"now": now}))
        b.js(f"document.querySelector('select[name=kind]').value = '{kind}'")
        b.act("document.querySelector('form[aria-label=\"Filter findings\"]').submit()")
        count = int(b.js("document.querySelector('[data-figure=findingsCount]').dataset.value"))
        check(count == len(found), f"findings filtered by kind: {count} = `ledger findings --kind {kind}` {len(found)}")
        ids = b.js("[...document.querySelectorAll('a[data-finding]')].map(e => e.dataset.finding)")
        check(ids == [f["id"] for f in found][:100], "the findings shown are the command's, in its order")
        if found:
            f0 = found[0]
            staff_found = cli("findings", "--staff", f0["staff"], "--now", now, "--json")
            b.goto(base + "/web/findings?" + urllib.parse.urlencode({"staff": f0["staff"], "now": now}))
            check(int(b.js("document.querySelector('[data-figure=findingsCount]').dataset.value")) == len(staff_found), "findings filtered by staff match the command")
            b.goto(base + "/web/findings?" + urllib.parse.urlencode({"ticket": f0["ticket"], "now": now}))
            tf = cli("findings", "--ticket", f0["ticket"], "--now", now, "--json")
            check(int(b.js("document.querySelector('[data-figure=findingsCount]').dataset.value")) == len(tf), "findings filtered by ticket match the command")
            b.screenshot("06-findings")
            ctype, disp, body = download("/web/findings.csv?" + urllib.parse.urlencode({"kind": kind, "now": now}))
            check(body == cli("findings", "--kind", kind, "--now", now, "--format", "csv", json_out=False),
                  "the findings CSV is byte for byte `ledger findings --format csv`")
            # Follow the finding to its ticket as it stood then.
            b.act(f"document.querySelector('a[data-finding={json.dumps(f0['id'])}]').click()")
            check(f"/web/tickets/{f0['ticket']}" in b.url() and "asOf=" in b.url(), "a finding links to its ticket as of its moment")
            check(b.js(f"[...document.querySelectorAll('#findings a[data-finding]')].some(e => e.dataset.finding === {json.dumps(f0['id'])})"),
                  "the ticket, as of the finding's moment, shows the finding")
            check(b.js("document.querySelectorAll('#timeline tr.mark').length") == 1, "the event that raised it is marked in the timeline")
            reason = f0["reason"]
            check(reason in b.js("document.body.innerText"), "the finding's reason is shown")
            b.screenshot("07-ticket-at-finding")
            ticket = f0["ticket"]
        else:
            ticket = cli("audit", "--json", "--limit", "50")[-1]["ticket"]

        # ---- Ticket now, then as of an earlier time and as known at an earlier seq.
        full = cli("ticket", ticket, "--json")
        b.goto(base + "/web/tickets/" + urllib.parse.quote(ticket))
        check(b.js("document.querySelectorAll('#timeline tbody tr').length") == len(full["events"]), "the ticket's timeline shows every event")
        check(b.js("document.querySelector('[data-field=status]').textContent") == full["status"], "the ticket's status is the command's")
        check("[masked]" in b.js("document.body.innerText") or full.get("customer", "") in b.js("document.body.innerText"),
              "personal data is masked for an auditor")
        b.screenshot("08-ticket")
        times = sorted(e["at"] for e in full["events"])
        earlier = times[len(times) // 2] if len(times) > 1 else times[0]
        past = cli("ticket", ticket, "--as-of", earlier, "--json")
        b.js(f"document.querySelector('input[name=asOf]').value = {json.dumps(earlier)}")
        b.act("document.querySelector('form[aria-label=\"See the ticket at another moment\"]').submit()")
        check(b.js("document.querySelectorAll('#timeline tbody tr').length") == len(past["events"])
              and b.js("document.querySelector('[data-field=version]').textContent") == str(past["version"])
              and b.js("document.querySelector('[data-field=status]').textContent") == past["status"],
              f"the ticket as of {earlier} is `ledger ticket --as-of` ({len(past['events'])} events, status {past['status']})")
        b.screenshot("09-ticket-as-of")
        # Times in a chosen zone: the page's times move, the instants (<time datetime>) do not, and a
        # time typed in that zone means that zone's local time.
        b.js("document.querySelector('header select[name=tz]').value = 'Europe/Berlin'")
        b.act("document.querySelector('form[action=\"/web/preferences\"]').submit()")
        check(f"/web/tickets/{urllib.parse.quote(ticket)}" in b.url() and "asOf=" in b.url(), "setting the time zone returns to the same page")
        instant, text = b.js("(() => { const t = document.querySelector('#timeline time'); return [t.dateTime, t.textContent]; })()")
        local = datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))
        check(text.startswith(local.strftime("%Y-%m-%d %H:%M:%S")), f"times are shown in Europe/Berlin ({instant} as {text})")
        berlin = datetime.fromisoformat(earlier.replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S")
        b.js(f"document.querySelector('input[name=asOf]').value = {json.dumps(berlin)}")
        b.act("document.querySelector('form[aria-label=\"See the ticket at another moment\"]').submit()")
        check(b.js("document.querySelectorAll('#timeline tbody tr').length") == len(past["events"]),
              f"a time typed in Europe/Berlin ({berlin}) is that zone's local time")
        b.js("document.querySelector('header select[name=tz]').value = 'UTC'")
        b.act("document.querySelector('form[action=\"/web/preferences\"]').submit()")
        seqs = sorted(e["seq"] for e in full["events"])
        known = cli("ticket", ticket, "--known-at", str(seqs[0]), "--json")
        b.goto(base + f"/web/tickets/{urllib.parse.quote(ticket)}?knownAt={seqs[0]}")
        check(b.js("document.querySelectorAll('#timeline tbody tr').length") == len(known["events"]) == 1,
              "the ticket as known at its first seq shows that one event")
        ctype, disp, body = download(f"/web/tickets/{urllib.parse.quote(ticket)}/csv")
        check(body == cli("ticket", ticket, "--format", "csv", json_out=False), "the ticket's CSV is byte for byte `ledger ticket --format csv`")

        # ---- Audit trail with paging.
        entries = cli("audit", "--ticket", ticket, "--json")
        b.goto(base + "/web/audit?" + urllib.parse.urlencode({"ticket": ticket}))
        check(b.js("document.querySelectorAll('#audit tbody tr').length") == len(entries), "the audit trail of a ticket is the command's")
        b.goto(base + "/web/audit")
        first = b.js("[...document.querySelectorAll('#audit tbody tr')].map(tr => +tr.cells[0].textContent)")
        check(first == list(range(1, 101)), "the audit trail's first page is seqs 1 to 100")
        b.screenshot("10-audit")
        b.act("document.querySelector('a[rel=next]').click()")
        second = b.js("[...document.querySelectorAll('#audit tbody tr')].map(tr => +tr.cells[0].textContent)")
        check(second[:1] == [101], "the next page starts at seq 101")
        ctype, disp, body = download("/web/audit.csv?" + urllib.parse.urlencode({"ticket": ticket}))
        check(body == cli("audit", "--ticket", ticket, "--format", "csv", json_out=False), "the audit CSV is byte for byte `ledger audit --format csv`")

        # ---- An auditor cannot reach compliance.
        b.goto(base + "/web/compliance")
        check("compliance or admin token" in b.js("document.body.innerText"), "an auditor opening the compliance page is refused")
        b.expect_refusal("/web/compliance", 403)
        before = cli("stats", "--json")["lastSeq"]
        b.act("document.querySelector('form[action=\"/web/signout\"]').submit()")
        check("/web/signin" in b.url(), "signing out returns to sign-in")
        b.goto(base + "/web/overview")
        check("/web/signin" in b.url(), "after signing out, pages lead to sign-in again")

        # ---- Compliance: reveal with a purpose, then find the personalDataRevealed event.
        sign_in(a.compliance)
        check(b.js("document.querySelector('nav a[href=\"/web/compliance\"]') !== null"), "a compliance officer is offered the compliance page")
        b.goto(base + "/web/compliance")
        b.screenshot("11-compliance")
        purpose = "web check: subject access request"
        b.js(f"document.querySelector('form[action=\"/web/compliance/reveal\"] input[name=ticket]').value = {json.dumps(ticket)};"
             f"document.querySelector('form[action=\"/web/compliance/reveal\"] input[name=purpose]').value = {json.dumps(purpose)}")
        b.act("document.querySelector('form[action=\"/web/compliance/reveal\"]').submit()")
        text = b.js("document.body.innerText")
        check("is on record" in text and "[masked]" not in text, "revealing shows the ticket's personal data in clear")
        b.screenshot("12-revealed")
        customer = b.js("document.querySelector('[data-field=customer]').textContent")
        check(bool(customer) and customer not in ("[masked]", "[erased]"), f"the revealed ticket shows its customer's id ({customer})")
        b.goto(base + "/web/audit?" + urllib.parse.urlencode({"after": before}))
        types = b.js("[...document.querySelectorAll('#audit [data-col=type]')].map(e => e.textContent)")
        check("personalDataRevealed" in types, "the audit trail shows the personalDataRevealed event")
        tail = [json.loads(l) for l in cli("tail", "--after", str(before), json_out=False).splitlines() if l.strip()]
        revealed = [t["event"] for t in tail if t["event"]["type"] == "personalDataRevealed"]
        check(len(revealed) == 1 and revealed[0].get("purpose") == purpose, "the ledger recorded one reveal, with the stated purpose")
        b.screenshot("13-audit-revealed")
        cookies = b.call("Network.getCookies", urls=[base + "/web/overview"])["cookies"]
        jar["cookie"] = "".join("ledger_session=" + c["value"] for c in cookies if c["name"] == "ledger_session")
        ctype, disp, body = download("/web/compliance/proof?ticket=" + urllib.parse.quote(ticket))
        check(ctype.startswith("application/json") and "attachment" in disp and json.loads(body),
              "a compliance officer downloads the ticket's proof")

        # ---- Compliance actions, through the page's forms: a legal hold, erasure, an export bundle.
        def compliance_form(action, fields, before_submit=""):
            b.goto(base + "/web/compliance")
            for name, value in fields.items():
                b.js(f"document.querySelector('form[action=\"{action}\"] [name={name}]').value = {json.dumps(value)}")
            if before_submit:
                b.js(before_submit)
            b.act(f"document.querySelector('form[action=\"{action}\"]').submit()")
            return b.js("document.body.innerText")

        def appended_since(seq):
            return [json.loads(l)["event"] for l in cli("tail", "--after", str(seq), json_out=False).splitlines() if l.strip()]

        # The customer's page (subject access): their tickets, masked, this one linked.
        b.goto(base + "/web/customers?" + urllib.parse.urlencode({"id": customer}))
        check(b.js(f"[...document.querySelectorAll('#tickets a[data-ticket]')].some(e => e.dataset.ticket === {json.dumps(ticket)})")
              and "[masked]" in b.js("document.body.innerText"), "the customer's page lists the ticket, masked")
        b.screenshot("13b-customer")

        matter = "WEB-CHECK-1"
        seq0 = cli("stats", "--json")["lastSeq"]
        text = compliance_form("/web/compliance/hold", {"customer": customer, "matter": matter})
        check("Hold placed on" in text, "placing a legal hold from the compliance page says it is placed")
        held = appended_since(seq0)
        check([e["type"] for e in held] == ["legalHoldPlaced"] and held[0].get("matter") == matter and held[0].get("actor") == "co-001",
              "the ledger recorded the hold (legalHoldPlaced, the matter, the officer as actor)")
        b.screenshot("14-hold-placed")
        seq1 = cli("stats", "--json")["lastSeq"]
        text = compliance_form("/web/compliance/erase", {"customer": customer, "confirm": customer})
        check("legalHold" in text and "Refused" in text, "erasing a customer under a legal hold is refused, and the page says why")
        b.expect_refusal("/web/compliance/erase", 422)
        check(cli("stats", "--json")["lastSeq"] == seq1, "nothing was appended for the refused erasure")
        text = compliance_form("/web/compliance/hold", {"customer": customer, "matter": matter},
                               "document.querySelector('form[action=\"/web/compliance/hold\"] input[name=action][value=release]').checked = true")
        check("Hold released for" in text, "releasing the hold from the compliance page says it is released")
        seq2 = cli("stats", "--json")["lastSeq"]
        text = compliance_form("/web/compliance/erase", {"customer": customer, "confirm": customer + "-typo"})
        check("type the customer id again" in text, "an erasure whose confirmation differs is refused")
        b.expect_refusal("/web/compliance/erase", 400)
        check(cli("stats", "--json")["lastSeq"] == seq2, "nothing was appended for the unconfirmed erasure")
        text = compliance_form("/web/compliance/erase", {"customer": customer, "confirm": customer, "reason": "web check: erasure request"})
        check("is erased" in text, "erasing the customer (the id typed twice) says it is erased")
        erased = appended_since(seq2)
        check([e["type"] for e in erased] == ["personalDataErased"] and erased[0].get("operator", erased[0].get("actor")) == "co-001",
              "the ledger recorded the erasure (personalDataErased by the officer)")
        b.screenshot("15-erased")
        b.goto(base + "/web/tickets/" + urllib.parse.quote(ticket))
        shown_customer = b.js("document.querySelector('[data-field=customer]').textContent")
        text = b.js("document.body.innerText")
        check(shown_customer == "[erased]" and "[erased]" in text and customer not in text,
              f"the ticket now shows its customer and personal fields as [erased] ({shown_customer})")
        after = cli("ticket", ticket, "--json")
        check(json.dumps(after).count("[erased]") >= 1 and customer not in json.dumps(after), "`ledger ticket --json` shows [erased] too")
        b.screenshot("16-ticket-erased")

        # An export bundle of the ticket, downloaded as the browser does (the form's answer is a .tar).
        downloads = tempfile.mkdtemp(prefix="web-check-downloads-")
        try:
            b.call("Browser.setDownloadBehavior", behavior="allowAndName", downloadPath=downloads, eventsEnabled=True)
            seq3 = cli("stats", "--json")["lastSeq"]
            b.goto(base + "/web/compliance")
            purpose = "web check: export for the regulator"
            for name, value in (("purpose", purpose), ("ticket", ticket)):
                b.js(f"document.querySelector('form[action=\"/web/compliance/export\"] [name={name}]').value = {json.dumps(value)}")
            b.events.clear()
            b.js("document.querySelector('form[action=\"/web/compliance/export\"]').submit()")
            begin = b.wait_event("Browser.downloadWillBegin")["params"]
            name = begin.get("suggestedFilename", "")
            state = None
            while state not in ("completed", "canceled"):
                progress = b.wait_event("Browser.downloadProgress")["params"]
                state = progress["state"]
            check(state == "completed" and re.fullmatch(r"ledger-export-\d+\.tar", name) is not None,
                  f"exporting from the compliance page downloads a bundle ({name}, {state})")
            b.screenshot("17-export")
            with tarfile.open(progress.get("filePath") or os.path.join(downloads, begin["guid"])) as tar:
                names = set(tar.getnames())
                top = name[:-len(".tar")]
                wanted = {top + "/" + f for f in ("events.jsonl", "events.csv", "personal.jsonl", "proof.json", "manifest.json", "checkpoint")}
                check(wanted <= names and all(n == top or n.startswith(top + "/") for n in names),
                      f"the download is a tar of {top}/ with the bundle's files ({sorted(names)})")
                out = tempfile.mkdtemp(prefix="web-check-bundle-", dir=downloads)
                tar.extractall(out, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(out)
            manifest = json.load(open(os.path.join(out, top, "manifest.json")))
            lines = open(os.path.join(out, top, "events.jsonl")).read().splitlines()
            ticket_events = [l for l in lines if json.loads(l)["event"].get("ticket") == ticket]
            check(manifest.get("range", {}).get("ticket") == ticket and len(ticket_events) == len(lines) == len(full["events"]),
                  f"the bundle holds the ticket's {len(full['events'])} events ({len(lines)} lines)")
            verdict = subprocess.run([a.ledger_bin, "verify", "--bundle", os.path.join(out, top),
                                      "--public-key", os.path.join(a.ledger, "checkpoint.vkey"), "--json"], capture_output=True)
            check(verdict.returncode == 0 and json.loads(verdict.stdout).get("ok") is True,
                  "the export bundle verifies (ledger verify --bundle with the ledger's key)")
            made = [e for e in appended_since(seq3) if e["type"] == "exportMade"]
            check(len(made) == 1 and made[0].get("purpose") == purpose and made[0].get("operator") == "co-001",
                  "the ledger recorded the export (exportMade with the purpose and the officer)")
        finally:
            shutil.rmtree(downloads, ignore_errors=True)
    finally:
        errors = list(b.console_errors)
        b.close()
    check(not errors, "no console error on any page" + (": " + "; ".join(errors[:5]) if errors else ""))
    print(f"{len(failures)} failure(s); screenshots in {a.artifacts}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
