import Foundation
import Testing

/// Runs the built `ledger` binary in a child process.
///
/// The binary is found, in order: in `$LEDGER_BIN_DIR`; beside the running test
/// bundle (the build that built these tests); in `<package>/.build/debug`; in
/// `<package>/.build-cli/debug`.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// Standard output parsed as JSON.
        func json() throws -> Any {
            try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
        }
    }

    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let binary: URL? = {
        var candidates: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["LEDGER_BIN_DIR"], !dir.isEmpty {
            candidates.append(URL(fileURLWithPath: dir))
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        candidates.append(exe.deletingLastPathComponent())
        if let bundle = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(bundle.deletingLastPathComponent())
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        candidates.append(packageRoot.appendingPathComponent(".build-cli/debug"))
        return candidates.map { $0.appendingPathComponent("ledger") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `ledger ARGS` with `stdin` on standard input and `environment` added to the test's own; waits for it to exit.
    static func run(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        guard let binary else {
            Issue.record("the ledger binary was not found: build it (swift build --product ledger) or set LEDGER_BIN_DIR")
            throw CLIError.noBinary
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
    }

    enum CLIError: Error { case noBinary }
}

/// A temporary directory removed when the test is done with it.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    var ledger: String { url.appendingPathComponent("test.ledger").path }

    /// Writes `lines` as a JSON Lines file and returns its path.
    func file(_ name: String, _ lines: [String]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Checks on parsed JSON values.
enum JSONCheck {
    static func object(_ value: Any?, _ comment: Comment? = nil) throws -> [String: Any] {
        try #require(value as? [String: Any], comment)
    }

    static func array(_ value: Any?, _ comment: Comment? = nil) throws -> [Any] {
        try #require(value as? [Any], comment)
    }

    static func isInteger(_ value: Any?) -> Bool {
        guard let n = value as? NSNumber, !isBool(n) else { return false }
        return n.doubleValue == n.doubleValue.rounded()
    }

    static func isNumber(_ value: Any?) -> Bool {
        guard let n = value as? NSNumber else { return false }
        return !isBool(n)
    }

    static func isBool(_ value: Any?) -> Bool {
        guard let n = value as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"  // how Foundation marks true and false
    }

    static func isNull(_ value: Any?) -> Bool { value is NSNull }

    static func isString(_ value: Any?) -> Bool { value is String }
}
