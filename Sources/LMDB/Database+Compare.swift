/// The first difference between two databases, walked side by side in key order.
public enum TableDifference: Sendable, Equatable {
    /// `key` is expected (with `expected`) but not stored.
    case missing(key: [UInt8], expected: [UInt8])
    /// `key` is stored (with `stored`) but not expected.
    case unexpected(key: [UInt8], stored: [UInt8])
    /// `key` is in both, with other values.
    case differs(key: [UInt8], stored: [UInt8], expected: [UInt8])
    /// The walk finds `key` but looking it up, from the root of the B-tree as readers do, does not
    /// find that entry (an inner page is damaged).
    case unreachable(key: [UInt8])

    /// The key the difference is about.
    public var key: [UInt8] {
        switch self {
        case .missing(let k, _), .unexpected(let k, _), .differs(let k, _, _), .unreachable(let k): return k
        }
    }
}

extension ReadTransaction {
    /// Walks `stored` (in this transaction) and `expected` (in `other`) side by side in key
    /// order and returns their first difference, or nil when they hold the same keys with
    /// equal values (`valuesEqual` decides; byte equality by default). Each stored entry is
    /// also looked up by its key, so that damage to the inner pages, which a walk does not
    /// read, is found too.
    public func firstDifference(_ stored: Database, from expected: Database, in other: ReadTransaction,
                                valuesEqual: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool = { $0.elementsEqual($1) })
        throws -> TableDifference? {
        let pageSize = try self.pageSize(), maxKey = maxKeySize
        return try withCursor(stored) { s in
            try other.withCursor(expected) { e in
                var a = try s.first()
                var b = try e.first()
                while true {
                    if let x = a, x.key.count > maxKey || !Plausible.value(x.value, pageSize: pageSize) {
                        throw Plausible.damaged("a node of \(stored.name) with a \(x.key.count)-byte key and a \(x.value.count)-byte value")
                    }
                    switch (a, b) {
                    case (nil, nil):
                        return nil
                    case (nil, let y?):
                        return .missing(key: Array(y.key), expected: Array(y.value))
                    case (let x?, nil):
                        return .unexpected(key: Array(x.key), stored: Array(x.value))
                    case (let x?, let y?):
                        if x.key.lexicographicallyPrecedes(y.key) { return .unexpected(key: Array(x.key), stored: Array(x.value)) }
                        if y.key.lexicographicallyPrecedes(x.key) { return .missing(key: Array(y.key), expected: Array(y.value)) }
                        guard let found = try get(stored, key: x.key), found.baseAddress == x.value.baseAddress else {
                            return .unreachable(key: Array(x.key))
                        }
                        if !valuesEqual(x.value, y.value) {
                            return .differs(key: Array(x.key), stored: Array(x.value), expected: Array(y.value))
                        }
                        a = try s.next()
                        b = try e.next()
                    }
                }
            }
        }
    }
}
