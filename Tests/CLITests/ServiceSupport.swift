import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `ledger serve` child process on a free loopback port.
final class ServerProcess {
    let process: Process
    let port: Int
    let stderrPath: String
    let stdoutPipe: Pipe

    /// Starts `ledger --ledger LEDGER serve --listen 127.0.0.1:0 EXTRA` and waits for its "listening on" line.
    init(ledger: String, extra: [String] = [], logDirectory: URL, environment: [String: String] = [:]) throws {
        process = Process()
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.executableURL = try #require(CLI.binary)
        process.arguments = ["--ledger", ledger, "serve", "--listen", "127.0.0.1:0"] + extra
        stderrPath = logDirectory.appendingPathComponent("serve-\(UUID().uuidString).log").path
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        stdoutPipe = Pipe()
        process.standardOutput = stdoutPipe
        try process.run()
        var seen = ""
        var found: Int?
        while found == nil {
            let data = stdoutPipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let r = seen.range(of: #"listening on https?://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                found = Int(seen[r].split(separator: ":").last!)
            }
        }
        guard let found else {
            process.waitUntilExit()
            throw ServiceTestError("the server did not start: \(seen) \(try String(contentsOfFile: stderrPath, encoding: .utf8))")
        }
        port = found
    }

    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}

struct ServiceTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A minimal HTTP/1.1 client over a real socket (Connection: close), so that tests control
/// every byte: bodies, chunked answers, slow senders and dropped connections.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
        /// The `{"error":{"kind"}}` of a refusal.
        var errorKind: String? {
            ((try? json()) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }?["kind"] as? String
        }
    }

    /// A connection to 127.0.0.1:`port`, from the loopback address `source` when given (e.g.
    /// 127.0.0.2: another client address, as the server sees it).
    static func connect(_ port: Int, timeout: Int = 30, source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServiceTestError("socket failed") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let b = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard b == 0 else { close(fd); throw ServiceTestError("bind to \(source) failed: errno \(errno)") }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw ServiceTestError("connect to \(port) failed: errno \(errno)") }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ServiceTestError("send failed: errno \(errno)") }
            offset += n
        }
    }

    static func head(_ method: String, _ path: String, headers: [String: String], bodyLength: Int?) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if let bodyLength { text += "Content-Length: \(bodyLength)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    static func request(_ port: Int, _ method: String, _ path: String, token: String? = nil, headers: [String: String] = [:],
                        body: [UInt8]? = nil, source: String? = nil) throws -> Response {
        var headers = headers
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let fd = try connect(port, source: source)
        defer { close(fd) }
        try send(fd, head(method, path, headers: headers, bodyLength: body?.count ?? (method == "POST" ? 0 : nil)) + (body ?? []))
        var raw: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            raw += buffer[0..<n]
        }
        return try parse(raw)
    }

    static func parse(_ raw: [UInt8]) throws -> Response {
        guard let end = find([13, 10, 13, 10], in: raw, from: 0) else { throw ServiceTestError("no HTTP head in \(raw.count) bytes") }
        let headText = String(decoding: raw[0..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ServiceTestError("bad status line") }
        var headers: [String: String] = [:]
        for l in lines { if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) } }
        var body = Array(raw[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body).body }
        return Response(status: status, headers: headers, body: body)
    }

    /// Decodes as many whole chunks as `raw` holds; `consumed` is how many bytes they took, `done` whether the last chunk came.
    static func dechunk(_ raw: [UInt8]) -> (body: [UInt8], consumed: Int, done: Bool) {
        var body: [UInt8] = []
        var i = 0
        while let lineEnd = find([13, 10], in: raw, from: i) {
            let sizeText = String(decoding: raw[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { break }
            if size == 0 { return (body, raw.count, true) }
            let start = lineEnd + 2
            guard raw.count >= start + size + 2 else { break }
            body += raw[start..<start + size]
            i = start + size + 2
        }
        return (body, i, false)
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// A Server-Sent Events reader on a real socket.
final class SSEClient {
    let fd: Int32
    private var raw: [UInt8] = []
    private var body: [UInt8] = []
    private var headerDone = false
    private(set) var status = 0

    init(port: Int, path: String, token: String, lastEventID: String? = nil) throws {
        fd = try HTTP.connect(port, timeout: 2)
        var headers = ["Authorization": "Bearer \(token)", "Accept": "text/event-stream"]
        if let lastEventID { headers["Last-Event-ID"] = lastEventID }
        try HTTP.send(fd, HTTP.head("GET", path, headers: headers, bodyLength: nil))
    }

    func close() { Glibc.close(fd) }

    /// The next event (its id and data), waiting up to `seconds`; nil if none came.
    func next(within seconds: Double = 20) throws -> (id: String, data: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let event = takeEvent() { return event }
            if Date() > deadline { return nil }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { throw ServiceTestError("the feed closed") }
            if n < 0 { continue }  // the 2 s receive timeout
            raw += buffer[0..<n]
            if !headerDone, let end = HTTP.find([13, 10, 13, 10], in: raw, from: 0) {
                let head = try HTTP.parse(Array(raw[0..<end + 4]) + [48, 13, 10, 13, 10])
                status = head.status
                raw.removeFirst(end + 4)
                headerDone = true
            }
            if headerDone {
                let d = HTTP.dechunk(raw)
                body += d.body
                raw.removeFirst(d.consumed)
            }
        }
    }

    private func takeEvent() -> (id: String, data: String)? {
        while let end = HTTP.find([10, 10], in: body, from: 0) {
            let block = String(decoding: body[0..<end], as: UTF8.self)
            body.removeFirst(end + 2)
            var id: String?, data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            if let id { return (id, data.joined(separator: "\n")) }
        }
        return nil
    }
}

/// A ledger with the fixture's organisation and a token of each role.
struct ServiceFixture {
    let dir: TemporaryDirectory
    var tokens: [String: String] = [:]
    var ids: [String: String] = [:]

    init(lines: [String] = Fixture.organisation) throws {
        dir = try TemporaryDirectory()
        if lines.isEmpty {
            #expect(try CLI.run(["--ledger", dir.ledger, "init"]).status == 0)
        } else {
            #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("setup.jsonl", lines)]).status == 0)
        }
        for (role, staff) in [("writer", nil), ("auditor", nil), ("compliance", "dir-1"), ("admin", "dir-1")] as [(String, String?)] {
            let r = try CLI.run(["--ledger", dir.ledger, "token", "create", "--role", role, "--name", "test " + role, "--json"]
                                + (staff.map { ["--staff", $0] } ?? []))
            #expect(r.status == 0, "\(r.stderr)")
            let object = try JSONCheck.object(try r.json())
            tokens[role] = object["token"] as? String
            ids[role] = object["id"] as? String
        }
    }

    func start(_ extra: [String] = [], environment: [String: String] = [:]) throws -> ServerProcess {
        try ServerProcess(ledger: dir.ledger, extra: extra, logDirectory: dir.url, environment: environment)
    }
}

/// Runs a tool (tar, openssl, curl, python3, schemathesis, a Go checker) and returns its status
/// and output (standard output and error together). `executable` defaults to `/usr/bin/env`,
/// which finds the first argument on the PATH; `environment` is added to the test's own;
/// `stdin` is written to its standard input, then closed.
func runTool(_ arguments: [String], executable: String = "/usr/bin/env", in directory: URL? = nil,
             environment: [String: String] = [:], stdin: String? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let input = Pipe(), pipe = Pipe()
    if stdin != nil { p.standardInput = input }
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    if let stdin {
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, output)
}
