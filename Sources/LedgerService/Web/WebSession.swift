import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A signed-in browser: the token it signed in with (checked again on every request, so a revoked
/// token ends the session), a CSRF token for its forms, and its time zone.
struct WebSessionState: Sendable {
    var secret: String
    var csrf: String
    var timeZone = "UTC"
    var created: Date
    var lastSeen: Date
}

/// What a page knows about its viewer.
struct WebUser: Sendable {
    var id: String
    var session: WebSessionState
    var token: StoredToken
    /// The page being shown (path and query), where a preference form returns to.
    var here = "/web/overview"
    var clock: WebClock { WebClock(session.timeZone) }
}

/// Sessions held in the service's memory (a restart signs everyone out). The cookie holds only
/// a random session id; the token's secret never goes back to the browser.
final class WebSessions: @unchecked Sendable {
    static let cookieName = "ledger_session"
    /// Idle this long, or older than `maxAge`, a session ends.
    static let idle: TimeInterval = 8 * 3600
    static let maxAge: TimeInterval = 24 * 3600
    private let lock = NSLock()
    private var sessions: [String: WebSessionState] = [:]

    static func random() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    func create(secret: String) -> (String, WebSessionState) {
        let id = WebSessions.random()
        let now = Date()
        let s = WebSessionState(secret: secret, csrf: WebSessions.random(), created: now, lastSeen: now)
        lock.lock(); defer { lock.unlock() }
        let expired = sessions.filter { now.timeIntervalSince($0.value.lastSeen) > WebSessions.idle || now.timeIntervalSince($0.value.created) > WebSessions.maxAge }
        for k in expired.keys { sessions[k] = nil }
        sessions[id] = s
        return (id, s)
    }

    func get(_ id: String) -> WebSessionState? {
        let now = Date()
        lock.lock(); defer { lock.unlock() }
        guard var s = sessions[id] else { return nil }
        if now.timeIntervalSince(s.lastSeen) > WebSessions.idle || now.timeIntervalSince(s.created) > WebSessions.maxAge {
            sessions[id] = nil
            return nil
        }
        s.lastSeen = now
        sessions[id] = s
        return s
    }

    func setTimeZone(_ id: String, _ zone: String) {
        lock.lock(); defer { lock.unlock() }
        sessions[id]?.timeZone = zone
    }

    func remove(_ id: String) {
        lock.lock(); defer { lock.unlock() }
        sessions[id] = nil
    }
}

/// A refusal shown as a page (the web view never answers a browser with JSON).
struct WebRefusal: Error {
    var status: HTTPResponse.Status
    var title: String
    var message: String
}

extension Request {
    /// The value of a cookie.
    func cookie(_ name: String) -> String? {
        for header in headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces)
                if let eq = kv.firstIndex(of: "="), kv[..<eq] == name { return String(kv[kv.index(after: eq)...]) }
            }
        }
        return nil
    }

    /// The query parameters (the last of a repeated one), empty values dropped.
    var webQuery: [String: String] {
        // As a form encodes them: `+` is a space, then percent-decoding.
        WebForm.parse(Array((uri.query ?? "").utf8)).filter { !$0.value.isEmpty }
    }
}

enum WebForm {
    /// Parses an `application/x-www-form-urlencoded` body.
    static func parse(_ bytes: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let key = decode(kv[0])
            out[key] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }

    /// Constant-time comparison of two strings' bytes.
    static func same(_ a: String, _ b: String) -> Bool { TokenStore.constantTimeEqual(Array(a.utf8), Array(b.utf8)) }
}
