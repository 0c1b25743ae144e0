import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// The address space this process may still take (`ulimit -v`, RLIMIT_AS), so that work that
/// would need more than is left fails with a clear error instead of a failed allocation, which
/// Swift cannot catch (it aborts the process), or a memory map LMDB could not re-create (which
/// leaves its environment without a map).
public enum AddressSpace {
    /// Under a limit, keeps glibc to one malloc arena: each thread's arena otherwise reserves
    /// 64 MiB of address space, which under `ulimit -v` is most of what there is. Called when an
    /// environment opens; harmless to call again.
    public static func adapt() {
        guard limit != nil else { return }
        _ = clmdb_single_malloc_arena()
    }

    /// What is kept free for the Swift runtime, threads and small allocations.
    public static let reserve = 64 << 20

    /// The limit in bytes, or nil when there is none.
    public static var limit: Int? {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: r.rlim_cur)
    }

    /// Bytes of address space the process has mapped now (`VmSize` of /proc/self/status).
    public static var used: Int? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }) else { return nil }
        let kib = Int(String(line.dropFirst(7).filter { $0.isASCII && $0.isNumber }))
        return kib.map { $0 * 1024 }
    }

    /// What is left under the limit, less ``reserve``; nil when there is no limit.
    public static var headroom: Int? {
        guard let limit else { return nil }
        return limit - (used ?? 0) - reserve
    }

    /// Why `bytes` more would not fit under the limit, or nil when they would (or there is no limit).
    public static func shortfall(_ bytes: Int) -> String? {
        guard let limit, let room = headroom, bytes > room else { return nil }
        return "the address-space limit (ulimit -v) of \(limit >> 20) MiB leaves \(max(room, 0) >> 20) MiB, and this needs "
            + "\(max(bytes >> 20, 1)) MiB more: raise the limit and run the same command again"
    }

    /// Throws when `bytes` more would not fit under the limit.
    /// - Parameter what: what needs them, for the message ("grow the ledger's map beyond 512 MiB").
    public static func ensure(_ bytes: Int, for what: @autoclosure () -> String) throws(LMDBError) {
        if let why = shortfall(bytes) { throw LMDBError(message: why + "; nothing of the failed step was kept", context: what()) }
    }
}
