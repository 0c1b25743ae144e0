import Foundation

/// Writes a POSIX ustar archive (POSIX.1-1988, as `tar` reads it) to a sink as it goes: a
/// 512-byte header per entry, the file's bytes padded to 512, and two zero blocks at the end.
/// Sizes of 8 GiB and more are written in the base-256 form GNU and POSIX.1-2001 tars read.
struct TarWriter {
    let sink: ([UInt8]) throws -> Void
    var mtime = Int(Date().timeIntervalSince1970)

    init(sink: @escaping ([UInt8]) throws -> Void) { self.sink = sink }

    enum Failure: Error, CustomStringConvertible {
        case nameTooLong(String), shortRead(String)
        var description: String {
            switch self {
            case .nameTooLong(let n): return "tar: the name \(n) does not fit a ustar header"
            case .shortRead(let n): return "tar: \(n) changed size while it was archived"
            }
        }
    }

    /// A directory entry (`name` without a trailing slash).
    func directory(_ name: String, mode: Int = 0o700) throws {
        try sink(try TarWriter.header(name: name + "/", size: 0, mode: mode, type: UInt8(ascii: "5"), mtime: mtime))
    }

    /// A regular file, read from `path` in chunks of 64 KiB.
    func file(_ name: String, path: String, mode: Int = 0o600) throws {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        try sink(try TarWriter.header(name: name, size: size, mode: mode, type: UInt8(ascii: "0"), mtime: mtime))
        var left = size
        while left > 0 {
            guard let data = try handle.read(upToCount: min(left, 1 << 16)), !data.isEmpty else { throw Failure.shortRead(name) }
            try sink(Array(data))
            left -= data.count
        }
        let pad = (512 - size % 512) % 512
        if pad > 0 { try sink([UInt8](repeating: 0, count: pad)) }
    }

    /// The end of the archive: two zero blocks.
    func finish() throws { try sink([UInt8](repeating: 0, count: 1024)) }

    /// One ustar header block.
    static func header(name: String, size: Int, mode: Int, type: UInt8, mtime: Int) throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        var nameBytes = Array(name.utf8), prefix: [UInt8] = []
        if nameBytes.count > 100 {
            // Split at a slash: prefix (up to 155 bytes) / name (up to 100).
            guard let cut = nameBytes.indices.reversed().first(where: { nameBytes[$0] == UInt8(ascii: "/") && $0 <= 155 && nameBytes.count - $0 - 1 <= 100 })
            else { throw Failure.nameTooLong(name) }
            prefix = Array(nameBytes[..<cut])
            nameBytes = Array(nameBytes[(cut + 1)...])
        }
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { block[offset + i] = b } }
        /// `value` in octal, zero-padded to `width - 1` digits and a NUL.
        func octal(_ value: Int, _ width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(nameBytes, at: 0)
        put(octal(mode, 8), at: 100)
        put(octal(0, 8), at: 108)   // uid
        put(octal(0, 8), at: 116)   // gid
        if size < 0o77777777777 {
            put(octal(size, 12), at: 124)
        } else {  // base-256: the high bit of the first byte set, the size big-endian in the rest
            var v = UInt64(size)
            for i in stride(from: 135, through: 125, by: -1) { block[i] = UInt8(v & 0xFF); v >>= 8 }
            block[124] = 0x80
        }
        put(octal(mtime, 12), at: 136)
        block[156] = type
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(Array("ledger".utf8), at: 265)  // uname
        put(Array("ledger".utf8), at: 297)  // gname
        put(prefix, at: 345)
        // The checksum: the header's bytes summed with the checksum field as eight spaces.
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(Array((String(repeating: "0", count: max(0, 6 - String(sum, radix: 8).count)) + String(sum, radix: 8)).utf8) + [0, 0x20], at: 148)
        return block
    }
}
