import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// Threads whose creation is checked.
///
/// Foundation's `Thread.start()` says nothing when the system will not create the thread (under
/// `ulimit -v` its stack may not fit): the body never runs, and whoever waits for it waits for
/// ever. Every thread the ledger waits on is started here instead, so that the failure becomes
/// an error its caller reports.
public enum Threads {
    /// Runs `body` on a new detached thread named `name` (shortened to the 15 bytes Linux keeps).
    /// - Parameter stackSize: the thread's stack in bytes; nil for the system's default (`ulimit -s`).
    /// - Throws: an error naming the thread and what ran out when the system refuses it;
    ///   `body` then never runs.
    public static func start(_ name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) throws(LMDBError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN))) }
        let context = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            _ = clmdb_name_thread(start.name)
            start.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(context).release()
            throw LMDBError(message: refusal(rc, stack: stackSize ?? Threads.stackSize), context: "start a thread (\(name))")
        }
    }

    /// Why the system refused a thread, for the person reading it.
    static func refusal(_ rc: Int32, stack: Int?) -> String {
        if rc == EAGAIN, let limit = AddressSpace.limit {
            let stack = stack.map { " of \(max($0 >> 20, 1)) MiB" } ?? ""
            return "the address-space limit (ulimit -v) of \(limit >> 20) MiB leaves \(max(AddressSpace.headroom ?? 0, 0) >> 20) MiB, "
                + "too little for the thread's stack\(stack): raise the limit and run the same command again"
        }
        if rc == EAGAIN { return "the system refused another thread (a process or thread limit, or out of memory): \(String(cString: strerror(rc)))" }
        return String(cString: strerror(rc))
    }

    /// The stack a thread gets by default: `ulimit -s`, when it is set.
    static var stackSize: Int? {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_STACK.rawValue), &r) == 0, r.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: r.rlim_cur)
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
    }
}
