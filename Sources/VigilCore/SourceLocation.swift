/// Where a piece of input came from, for error messages people can act on.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// An error in input that knows where it is; rendered as `file:line:column: message`.
public protocol LocatedError: Error, CustomStringConvertible, Sendable {
    var location: SourceLocation { get }
    /// One sentence: what was expected and what was found.
    var message: String { get }
}

extension LocatedError {
    public var description: String { "\(location): \(message)" }
}

/// A generic located error for input checks that need no richer type.
public struct InputError: LocatedError, Equatable {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
}
