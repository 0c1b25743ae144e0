import Foundation
import Testing

@Suite("read-only copies")
struct ReadOnlyCopyTests {
    /// Runs the ledger as a user who may only read `dir` (nobody, when the tests run as root).
    static func runAsReader(_ args: [String]) throws -> CLI.Result {
        guard getuid() == 0 else { return try CLI.run(args) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try #require(CLI.binary).path] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func digests(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let fm = FileManager.default
        for path in try #require(fm.subpathsOfDirectory(atPath: dir) as [String]?) {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: dir + "/" + path, isDirectory: &isDir), !isDir.boolValue {
                out[path] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + path))
            }
        }
        return out
    }

    @Test("every query, verify and tail work on a copy whose files the user may only read, and write nothing")
    func queriesOnAReadOnlyCopy() throws {
        if getuid() == 0, !FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            Issue.record("setpriv (util-linux) is needed to run as another user")
            return
        }
        let dir = try TemporaryDirectory()
        #expect(try CLI.run(["--ledger", dir.ledger, "import", try dir.file("good.jsonl", Fixture.good)]).status == 0)
        let copy = dir.url.appendingPathComponent("copy.ledger").path
        try FileManager.default.copyItem(atPath: dir.ledger, toPath: copy)
        // The reader owns nothing it may write: files 0444, folders 0555 (owned by nobody when root runs the tests).
        let chmod = Process()
        chmod.executableURL = URL(fileURLWithPath: "/bin/sh")
        chmod.arguments = ["-c", (getuid() == 0 ? "chown -R 65534:65534 '\(copy)' && " : "") + "chmod -R a-w '\(copy)' && chmod 0755 '\(dir.url.path)'"]
        try chmod.run(); chmod.waitUntilExit()
        #expect(chmod.terminationStatus == 0)
        let before = try ReadOnlyCopyTests.digests(copy)
        for args in [["verify"], ["verify", "--json"], ["stats"], ["ticket", "T-1"], ["ticket", "T-1", "--json"], ["scorecard", "a-1"],
                     ["findings"], ["audit", "--ticket", "T-1"], ["key"], ["tail", "--limit", "2"]] {
            let r = try ReadOnlyCopyTests.runAsReader(["--ledger", copy] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!r.stdout.isEmpty, "\(args)")
        }
        // What needs writing says so, instead of failing obscurely.
        let reveal = try ReadOnlyCopyTests.runAsReader(["--ledger", copy, "ticket", "T-1", "--reveal", "--operator", "dir-1", "--purpose", "x"])
        #expect(reveal.status != 0 && !reveal.stderr.isEmpty)
        let after = try ReadOnlyCopyTests.digests(copy)
        #expect(before == after, "a read-only copy was changed")
        let restore = Process()
        restore.executableURL = URL(fileURLWithPath: "/bin/chmod")
        restore.arguments = ["-R", "u+w", copy]
        try restore.run(); restore.waitUntilExit()
    }
}
