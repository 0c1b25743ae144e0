import Foundation
import Testing
@testable import EscalationDomain

/// The path of `python3` on PATH, if any.
private let python3: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/python3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

/// Checks each line of argv[1] against Python's canonical form, then writes
/// Python's own canonical lines for tricky texts to argv[2].
private let script = #"""
import json, sys
bad = 0
lines = open(sys.argv[1], "rb").read().split(b"\n")
for line in lines:
    if not line:
        continue
    again = json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if again != line:
        bad += 1
        sys.stderr.write("MISMATCH\n  swift:  %r\n  python: %r\n" % (line, again))
texts = ["", "a\"b\\c", "\x00\x01\x1f\x7f", "\u2028\u2029", "😀🇬🇧", "中文 é", "\t\n\r\b\f", "/</script>"]
costs = [0, 1, 100, 42.5, 0.0001, 999999999.9999, 12.34, 0.1]
with open(sys.argv[2], "wb") as out:
    for i, t in enumerate(texts):
        obj = {"id": "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c%02d" % i, "type": "noteLogged", "at": "2024-03-01T09:30:05.123Z",
               "actor": "a-1", "channel": "ask:x", "author": "a-1", "text": t,
               "ticket": "T-" + "".join(c for c in t if ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F)}
        out.write(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
    for i, c in enumerate(costs):
        obj = {"id": "0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1d%02d" % i, "type": "staffEnrolled", "at": "2024-03-01T09:30:05Z",
               "actor": "system", "channel": "ask:x", "staff": "s-%d" % i, "name": "N", "role": "agent", "hourlyCost": c}
        out.write(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
print("checked %d" % sum(1 for l in lines if l))
sys.exit(1 if bad else 0)
"""#

@Suite("Python reproduces the canonical bytes")
struct PythonCanonicalTests {
    @Test("json.dumps(json.loads(line), sort_keys, compact, ensure_ascii=False) == line",
          .enabled(if: python3 != nil, "python3 is not on PATH"))
    func pythonAgrees() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("escalation-domain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var events = Fixtures.full + Fixtures.minimal
        for (i, text) in ["\u{0}\u{1}\u{1F}\u{7F}", "😀 \u{2028} é 中", "\"\\/\n\r\t\u{8}\u{C}", "\u{10FFFF}"].enumerated() {
            events.append(Fixtures.event(UInt64(90 + i), .noteLogged(.init(author: "a-1", text: text))))
        }
        for (i, cost) in ["0", "1", "100", "42.5", "0.0001", "999999999.9999", "12.34", "0.1", "123456789.1234"].enumerated() {
            events.append(Fixtures.event(UInt64(100 + i), ticket: nil, actor: "system", .staffEnrolled(.init(
                staff: "s-\(i)", name: "N", role: .agent, hourlyCost: ExactDecimal(cost)))))
        }
        var file: [UInt8] = []
        for e in events {
            EventEncoder.encode(e, into: &file)
            file.append(0x0A)
        }
        let input = dir.appendingPathComponent("swift.jsonl")
        let output = dir.appendingPathComponent("python.jsonl")
        try Data(file).write(to: input)
        let scriptURL = dir.appendingPathComponent("check.py")
        try Data(script.utf8).write(to: scriptURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python3!)
        process.arguments = [scriptURL.path, input.path, output.path]
        let stderr = Pipe()
        let stdout = Pipe()
        process.standardError = stderr
        process.standardOutput = stdout
        try process.run()
        let errData = stderr.fileHandleForReading.readDataToEndOfFile()
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errText = String(decoding: errData, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(errText)")
        #expect(String(decoding: outData, as: UTF8.self) == "checked \(events.count)\n")

        // Python's canonical lines decode and re-encode to the same bytes here.
        let pythonLines = try Data(contentsOf: output).split(separator: 0x0A)
        #expect(pythonLines.count == 16)
        for line in pythonLines {
            let bytes = Array(line)
            let event = try EventDecoder().decode(bytes)
            #expect(EventEncoder.encode(event) == bytes, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
