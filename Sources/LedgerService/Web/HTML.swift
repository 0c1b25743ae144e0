import EscalationDomain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Server-rendered HTML for the auditors' web view (issue 14): escaping, the page frame, tables,
/// inline SVG charts and times in the viewer's time zone. Nothing is fetched from elsewhere: the
/// CSS is inline, there is no script, and every value from outside goes through ``HTML/escape(_:)``.
enum HTML {
    /// Escapes text for an element's content or a double-quoted attribute value.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (but tab and newline) are shown, not passed to the browser.
                if c.value < 0x20 && c != "\n" && c != "\t" || c.value == 0x7F {
                    out += String(format: "\\u%04x", c.value)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out
    }

    /// Percent-encodes a query parameter value or a path segment.
    static func url(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `path?k=v&…` with empty values left out, escaped for an attribute.
    static func link(_ path: String, _ params: [(String, String?)]) -> String {
        let q = params.compactMap { k, v in v.flatMap { $0.isEmpty ? nil : "\(url(k))=\(url($0))" } }
        return path + (q.isEmpty ? "" : "?" + q.joined(separator: "&"))
    }

    static let style = """
    :root{--fg:#1b1f24;--muted:#555e68;--line:#c9d1d9;--bg:#fff;--accent:#0a4fa6;--bad:#a4161a;--ok:#216e39;--band:#f3f5f8}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
    a{color:var(--accent)} a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid #f0b400;outline-offset:1px}
    .skip{position:absolute;left:-999px} .skip:focus{left:8px;top:8px;background:#fff;padding:4px;z-index:9}
    header{background:#12263f;color:#fff;padding:.4rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:center}
    header a{color:#fff} header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}
    header nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
    header .who{margin-left:auto;font-size:.9rem} header form{display:inline}
    header button,header select{font:inherit;font-size:.85rem}
    main{padding:1rem;max-width:1400px}
    h1{font-size:1.5rem;margin:.3rem 0 .8rem} h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
    table{border-collapse:collapse;margin:.3rem 0 .6rem;font-variant-numeric:tabular-nums}
    caption{text-align:left;font-weight:600;padding:.2rem 0}
    th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
    th{background:var(--band)} td.n,th.n{text-align:right} td:first-child,time{white-space:nowrap}
    .scroll{overflow-x:auto;max-width:100%}
    form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;background:var(--band);padding:.6rem;border-radius:4px;margin:.4rem 0 .8rem}
    form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}
    form.stack{display:grid;gap:.5rem;max-width:32rem;margin:.4rem 0 1rem}
    input,select,button,textarea{font:inherit;padding:.2rem .35rem}
    button{cursor:pointer}
    .muted{color:var(--muted)} .bad{color:var(--bad)} .ok{color:var(--ok)}
    .msg{padding:.5rem .8rem;border-left:4px solid var(--accent);background:var(--band);margin:.5rem 0}
    .msg.error{border-color:var(--bad)}
    .figures{display:flex;flex-wrap:wrap;gap:.8rem;margin:.3rem 0} .figure{border:1px solid var(--line);border-radius:4px;padding:.4rem .8rem;min-width:11rem}
    .figure .v{font-size:1.5rem;font-weight:600;display:block} .figure .of{display:block;font-size:.8rem;color:var(--muted)}
    code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
    tr.mark td{background:#fff6cc}
    pre{background:var(--band);padding:.6rem;overflow-x:auto}
    svg text{font:12px system-ui,sans-serif;fill:#1b1f24}
    @media (max-width:700px){header .who{margin-left:0}}
    """

    /// The whole page: head, navigation (what the role may see), the viewer and sign-out, the content.
    static func page(title: String, current: String?, user: WebUser?, body: String) -> String {
        var nav = ""
        if let user {
            var items: [(String, String)] = [("overview", "Overview"), ("scorecards", "Scorecards"), ("findings", "Findings"),
                                             ("tickets", "Ticket"), ("audit", "Audit trail")]
            if user.token.role.compliance { items.append(("compliance", "Compliance")) }
            nav = "<nav aria-label=\"Main\"><ul>" + items.map { key, label in
                "<li><a href=\"/web/\(key)\"\(key == current ? " aria-current=\"page\"" : "")>\(label)</a></li>"
            }.joined() + "</ul></nav>"
            let zones = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Los_Angeles",
                         "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney"]
            let zoneOptions = (zones.contains(user.session.timeZone) ? zones : [user.session.timeZone] + zones).map {
                "<option\($0 == user.session.timeZone ? " selected" : "")>\(escape($0))</option>"
            }.joined()
            nav += """
            <div class="who">Signed in as <strong>\(escape(user.token.name))</strong> (\(escape(user.token.role.rawValue))\
            \(user.token.staff.map { ", " + escape($0) } ?? ""))
            <form method="post" action="/web/preferences"><input type="hidden" name="csrf" value="\(escape(user.session.csrf))">\
            <input type="hidden" name="back" value="\(escape(user.here))">\
            <label>Times in <select name="tz">\(zoneOptions)</select></label> <button>Set</button></form>
            <form method="post" action="/web/signout"><input type="hidden" name="csrf" value="\(escape(user.session.csrf))">\
            <button>Sign out</button></form></div>
            """
        }
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>\(escape(title)) · Escalation ledger</title><link rel="icon" href="data:,"><style>\(style)</style></head>
        <body><a class="skip" href="#main">Skip to content</a>
        <header><strong><a href="/web/overview">Escalation ledger</a></strong>\(nav)</header>
        <main id="main"><h1>\(escape(title))</h1>
        \(body)
        </main></body></html>
        """
    }

    /// A table with a caption, column headers and cells that are already HTML.
    static func table(caption: String, id: String? = nil, headers: [(label: String, numeric: Bool)], rows: [[String]],
                      headerHTML: [String]? = nil, rowClasses: [String?]? = nil) -> String {
        // A wide table scrolls inside a region that the keyboard can reach and scroll.
        let label = caption.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        var s = "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"\(label)\"><table\(id.map { " id=\"\(escape($0))\"" } ?? "")><caption>\(caption)</caption><thead><tr>"
        for (i, h) in headers.enumerated() {
            s += "<th scope=\"col\"\(h.numeric ? " class=\"n\"" : "")>\(headerHTML?[i] ?? escape(h.label))</th>"
        }
        s += "</tr></thead><tbody>"
        for (r, row) in rows.enumerated() {
            let cls = rowClasses?[r].map { " class=\"\($0)\"" } ?? ""
            s += "<tr\(cls)>"
            for (i, cell) in row.enumerated() { s += i < headers.count && headers[i].numeric ? "<td class=\"n\">\(cell)</td>" : "<td>\(cell)</td>" }
            s += "</tr>"
        }
        if rows.isEmpty { s += "<tr><td colspan=\"\(headers.count)\" class=\"muted\">Nothing to show.</td></tr>" }
        return s + "</tbody></table></div>"
    }

    static func percent(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
    static func count(_ n: Int) -> String {
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.locale = Locale(identifier: "en_US")
        return f.string(from: NSNumber(value: n)) ?? String(n)
    }

    /// A vertical bar chart (the weekly trend); `series` share the x axis. Its text alternative is the table beside it.
    static func barChart(title: String, labels: [String], series: [(name: String, color: String, values: [Int])]) -> String {
        let width = 760, height = 240, left = 50, bottom = 40, top = 24
        let maxValue = max(1, series.flatMap(\.values).max() ?? 1)
        let groups = max(1, labels.count)
        let groupWidth = Double(width - left - 10) / Double(groups)
        let barWidth = max(1, groupWidth * 0.8 / Double(max(1, series.count)))
        var s = "<svg role=\"img\" aria-label=\"\(escape(title))\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" style=\"max-width:\(width)px\">"
        s += "<title>\(escape(title))</title>"
        let plot = Double(height - bottom - top)
        for tick in 0...4 {
            let v = Double(maxValue) * Double(tick) / 4
            let y = Double(top) + plot - plot * Double(tick) / 4
            s += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e1e4e8\"/>"
            s += "<text x=\"\(left - 4)\" y=\"\(y + 4)\" text-anchor=\"end\">\(Int(v.rounded()))</text>"
        }
        for (g, label) in labels.enumerated() {
            let x0 = Double(left) + groupWidth * Double(g) + groupWidth * 0.1
            for (k, serie) in series.enumerated() {
                let v = g < serie.values.count ? serie.values[g] : 0
                let h = plot * Double(v) / Double(maxValue)
                s += "<rect x=\"\(x0 + barWidth * Double(k))\" y=\"\(Double(top) + plot - h)\" width=\"\(barWidth)\" height=\"\(h)\" fill=\"\(serie.color)\"><title>\(escape(label)): \(escape(serie.name)) \(v)</title></rect>"
            }
            if groups <= 16 || g % ((groups + 15) / 16) == 0 {
                s += "<text x=\"\(x0 + groupWidth * 0.4)\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(escape(label))</text>"
            }
        }
        for (k, serie) in series.enumerated() {
            let x = left + k * 150
            s += "<rect x=\"\(x)\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(serie.color)\"/><text x=\"\(x + 16)\" y=\"14\">\(escape(serie.name))</text>"
        }
        return s + "</svg>"
    }

    /// A horizontal bar chart (findings by kind).
    static func hbarChart(title: String, items: [(label: String, value: Double, text: String)]) -> String {
        let width = 760, row = 24, left = 230
        let height = row * items.count + 10
        let maxValue = max(items.map(\.value).max() ?? 1, 0.000001)
        var s = "<svg role=\"img\" aria-label=\"\(escape(title))\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" style=\"max-width:\(width)px\">"
        s += "<title>\(escape(title))</title>"
        for (i, item) in items.enumerated() {
            let y = 5 + i * row
            let w = Double(width - left - 90) * item.value / maxValue
            s += "<text x=\"\(left - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(escape(item.label))</text>"
            s += "<rect x=\"\(left)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(row - 8)\" fill=\"#2f6fb3\"/>"
            s += "<text x=\"\(Double(left) + w + 6)\" y=\"\(y + 15)\">\(escape(item.text))</text>"
        }
        return s + "</svg>"
    }
}

/// Times for people: in the viewer's time zone, with the RFC 3339 instant in `<time datetime>`.
struct WebClock {
    let zone: TimeZone
    /// The zone's name as the viewer chose it ("UTC", not Foundation's "GMT").
    let name: String
    private let formatter: DateFormatter

    init(_ identifier: String) {
        zone = TimeZone(identifier: identifier) ?? TimeZone(identifier: "UTC")!
        name = TimeZone(identifier: identifier) == nil ? "UTC" : identifier
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    }

    static func date(_ t: Timestamp) -> Date { Date(timeIntervalSince1970: Double(t.microsecondsSinceEpoch) / 1_000_000) }

    func text(_ t: Timestamp) -> String {
        formatter.string(from: WebClock.date(t)) + " " + (name == "UTC" ? "UTC" : zone.abbreviation(for: WebClock.date(t)) ?? name)
    }

    func html(_ t: Timestamp) -> String { "<time datetime=\"\(t.description)\">\(HTML.escape(text(t)))</time>" }
    func html(_ t: Timestamp?) -> String { t.map(html) ?? "–" }

    /// A time typed by a person: RFC 3339, or a local date and time in the viewer's zone
    /// (`2026-03-05 17:00`, `2026-03-05T17:00:00`, `2026-03-05`).
    func parse(_ text: String) -> Timestamp? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let t = Timestamp(rfc3339: s) { return t }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = format
            if let d = f.date(from: s) { return Timestamp(microsecondsSinceEpoch: Int64((d.timeIntervalSince1970 * 1_000_000).rounded())) }
        }
        return nil
    }
}

extension Response {
    /// An HTML page with the headers every page carries: no caching, no framing, no script.
    static func html(_ text: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = WebHeaders.common
        headers[.contentType] = "text/html; charset=utf-8"
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = WebHeaders.common
        headers[.location] = location
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers, body: .init())
    }

    /// A download (CSV, a proof, a checkpoint).
    static func download(_ bytes: [UInt8], contentType: String, filename: String) -> Response {
        var headers = WebHeaders.common
        headers[.contentType] = contentType
        headers[.contentDisposition] = "attachment; filename=\"\(filename.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) })\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

enum WebHeaders {
    static let common: HTTPFields = {
        var h = HTTPFields()
        h[.cacheControl] = "no-store"
        h[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return h
    }()
}
