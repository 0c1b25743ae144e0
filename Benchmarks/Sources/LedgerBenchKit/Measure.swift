import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds.
public enum Now {
    @inline(__always)
    public static func ns() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

public enum Stats {
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Nearest-rank percentile (`p` in 0...100) of unsorted samples.
    public static func percentile(_ values: [UInt64], _ p: Double) -> UInt64 {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let rank = Int((p / 100 * Double(s.count)).rounded(.up))
        return s[min(max(rank, 1), s.count) - 1]
    }
}

/// Peak resident memory.
///
/// In-process: ``reset()`` then work then ``highWaterMarkBytes()`` (Linux keeps
/// VmHWM; writing 5 to /proc/self/clear_refs resets it). Across processes:
/// ``ChildProcess/run(_:)`` reports the child's ru_maxrss from wait4, which
/// is the clean way to measure one workload alone (the parent's corpus and
/// heap never count).
public enum PeakMemory {
    /// VmHWM of this process, in bytes (nil where /proc is missing).
    public static func highWaterMarkBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            var usage = rusage()
            #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports the enum
            return Int(usage.ru_maxrss) * 1024
            #else
            getrusage(RUSAGE_SELF, &usage)
            return Int(usage.ru_maxrss)
            #endif
        }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }

    /// Resets VmHWM to the current RSS (Linux ≥ 4.0); false where unsupported.
    @discardableResult
    public static func reset() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }
}

/// Runs a command and reports its exit status and peak RSS (wait4's ru_maxrss).
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var peakRSSBytes: Int
        public var seconds: Double
    }

    /// `arguments[0]` is the executable path; stdout and stderr are inherited.
    public static func run(_ arguments: [String]) throws -> Result {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let start = Now.ns()
        let rc = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError("wait4: \(String(cString: strerror(errno)))") }
        }
        let seconds = Double(Now.ns() - start) / 1e9
        #if os(Linux)
        let peak = Int(usage.ru_maxrss) * 1024
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        #else
        let peak = Int(usage.ru_maxrss)
        let code = status
        #endif
        return Result(status: code, peakRSSBytes: peak, seconds: seconds)
    }

    /// This executable's path.
    public static var selfPath: String {
        #if os(Linux)
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return CommandLine.arguments[0]
    }
}

/// The machine a run happened on, for the report.
public struct MachineInfo: Codable, Sendable {
    public var cores: Int
    public var memoryGiB: Double
    public var cpu: String
    public var kernel: String
    public var disk: String
    public var scratchFileSystem: String
    public var swift: String
    public var date: String
    public var loadAverage: String

    public static func read(scratch: String) -> MachineInfo {
        func file(_ p: String) -> String { (try? String(contentsOfFile: p, encoding: .utf8)) ?? "" }
        let cpu = file("/proc/cpuinfo").split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let mountLine = bestMount(for: scratch, mounts: file("/proc/mounts"))
        var fs = statvfs()
        let freeGiB = statvfs(scratch, &fs) == 0 ? Double(fs.f_bavail) * Double(fs.f_frsize) / 1_073_741_824 : .nan
        let sizeGiB = statvfs(scratch, &fs) == 0 ? Double(fs.f_blocks) * Double(fs.f_frsize) / 1_073_741_824 : .nan
        let formatter = ISO8601DateFormatter()
        return MachineInfo(
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryGiB: (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
            cpu: cpu, kernel: kernel,
            disk: String(format: "%@ (%.0f GiB, %.0f GiB free)", mountLine, sizeGiB, freeGiB),
            scratchFileSystem: scratch,
            swift: swiftVersion,
            date: formatter.string(from: Date()),
            loadAverage: loadAverageNow())
    }

    /// The 1, 5 and 15 minute load averages ("?" where /proc is missing).
    public static func loadAverageNow() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "Swift 6.3+"
        #else
        return "Swift < 6.3"
        #endif
    }

    /// "device on mountpoint type fstype" of the mount holding `path`.
    static func bestMount(for path: String, mounts: String) -> String {
        var best: (len: Int, text: String) = (-1, "?")
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            let mp = String(f[1])
            let prefix = mp == "/" ? "/" : mp + "/"
            if (path == mp || path.hasPrefix(prefix)) && mp.count > best.len {
                best = (mp.count, "\(f[0]) on \(mp) (\(f[2]))")
            }
        }
        return best.text
    }
}

/// How long the scratch disk takes to make an append durable right now: the
/// floor under every durable commit, and on a shared machine the main source
/// of noise in the durable workloads.
public enum FsyncProbe {
    public struct Result: Codable, Sendable {
        public var samples: Int
        public var p50Ms: Double
        public var p99Ms: Double
    }

    /// Appends 4 KiB to a new file in `directory` and fdatasyncs it, `count` times.
    public static func measure(directory: String, count: Int = 100) throws -> Result {
        let scratch = try Scratch(base: directory, label: "fsync-probe")
        defer { scratch.remove() }
        let fd = open(scratch.file("probe"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw BenchError("fsync probe: cannot create a file in \(directory)") }
        defer { close(fd) }
        let page = [UInt8](repeating: 0xA5, count: 4096)
        var ns: [UInt64] = []
        for i in 0..<count {
            let t0 = Now.ns()
            let written = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(i * 4096)) }
            guard written == 4096, fdatasync(fd) == 0 else { throw BenchError("fsync probe: write or fdatasync failed") }
            ns.append(Now.ns() - t0)
        }
        return Result(samples: count, p50Ms: Double(Stats.percentile(ns, 50)) / 1e6, p99Ms: Double(Stats.percentile(ns, 99)) / 1e6)
    }
}

/// Wall clock, CPU time of the whole process (every thread: the log's writer,
/// GRDB's queues, LMDB callers) and bytes written, over one timed section.
/// CPU time is the figure least disturbed by other tenants of a shared machine.
public struct Meter {
    public struct Reading: Sendable {
        public var seconds: Double
        public var cpuSeconds: Double
        /// Bytes passed to write(2)/pwrite(2)-like calls (/proc/self/io wchar).
        public var writtenBytes: Int?
    }

    private let wall: UInt64
    private let cpu: Double
    private let written: Int?

    public static func start() -> Meter { Meter(wall: Now.ns(), cpu: processCPUSeconds(), written: writtenBytes()) }

    public func stop() -> Reading {
        let w = Now.ns()
        let c = Meter.processCPUSeconds()
        let b = Meter.writtenBytes()
        return Reading(seconds: Double(w - wall) / 1e9, cpuSeconds: c - cpu,
                       writtenBytes: b.flatMap { now in written.map { now - $0 } })
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func writtenBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
