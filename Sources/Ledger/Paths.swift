/// File-path arithmetic done here rather than with Foundation's `NSString` path methods, whose
/// Linux implementation traps on a one-character relative path (`"B"`).
public enum Paths {
    /// The directory holding `path`: `"."` for a bare name, `"/"` for a name at the root.
    /// Trailing slashes are ignored (`"out/"` is in `"."`).
    public static func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        if slash == p.startIndex { return "/" }
        var parent = p[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return String(parent)
    }
}
