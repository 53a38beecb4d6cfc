import Foundation

/// Encodes an `Encodable` value straight into a ``JSONValue``, with the same result as
/// `JSONEncoder` (default strategies) followed by decoding the text as a `JSONValue` — without
/// the text: every page handed to a notifier is an incident view turned into a `JSONValue`, and
/// the round trip through JSON text cost about a tenth of the daemon's CPU while paging.
///
/// Default `JSONEncoder` strategies are reproduced: `Date` as seconds since 2001-01-01, `Data`
/// as Base64, `URL` as its absolute string, non-finite numbers refused, absent optionals left out.
struct JSONValueEncoder {
    func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let node = EncodingNode()
        try node.encode(value, codingPath: [])
        return node.resolved()
    }
}

/// One value under construction; containers hold their children as nodes until the end.
private final class EncodingNode {
    var value: JSONValue?
    var array: [EncodingNode]?
    var object: [String: EncodingNode]?

    func resolved() -> JSONValue {
        if let array { return .array(array.map { $0.resolved() }) }
        if let object { return .object(object.mapValues { $0.resolved() }) }
        // A value that asked for no container at all encodes as `{}` (as JSONEncoder does).
        return value ?? .object([:])
    }

    func set(_ v: JSONValue) {
        value = v
        array = nil
        object = nil
    }

    func encode<T: Encodable>(_ v: T, codingPath: [any CodingKey]) throws {
        switch v {
        case let j as JSONValue: set(j)
        case let s as String: set(.string(s))
        case let b as Bool: set(.bool(b))
        case let d as Double: set(try Self.number(d, codingPath))
        case let f as Float: set(try Self.number(Double(f), codingPath))
        // Every integer type: the containers' own integer methods default to the generic one.
        case let i as any BinaryInteger: set(.number(Double(i)))
        case let d as Date: set(try Self.number(d.timeIntervalSinceReferenceDate, codingPath))
        case let d as Data: set(.string(d.base64EncodedString()))
        case let u as URL: set(.string(u.absoluteString))
        case let d as Decimal: set(.number(NSDecimalNumber(decimal: d).doubleValue))
        default: try v.encode(to: NodeEncoder(node: self, codingPath: codingPath))
        }
    }

    static func number(_ d: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(codingPath: codingPath, debugDescription: "\(d) is not valid in JSON"))
        }
        return .number(d)
    }

    func child(forKey key: String) -> EncodingNode {
        if object == nil { object = [:] }
        let child = EncodingNode()
        object?[key] = child
        return child
    }

    func appended() -> EncodingNode {
        if array == nil { array = [] }
        let child = EncodingNode()
        array?.append(child)
        return child
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) { stringValue = "Index \(index)"; intValue = index }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.init(intValue) }
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.object == nil {
            node.value = nil
            node.array = nil
            node.object = [:]
        }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.array == nil {
            node.value = nil
            node.object = nil
            node.array = []
        }
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.child(forKey: key.stringValue).set(.null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.child(forKey: key.stringValue).set(.bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { node.child(forKey: key.stringValue).set(.string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        node.child(forKey: key.stringValue).set(try EncodingNode.number(value, codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        node.child(forKey: key.stringValue).set(try EncodingNode.number(Double(value), codingPath + [key]))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.child(forKey: key.stringValue).set(.number(Double(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { node.child(forKey: key.stringValue).set(.number(Double(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { node.child(forKey: key.stringValue).set(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.child(forKey: key.stringValue).encode(value, codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                         forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.child(forKey: "super"), codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var count: Int { node.array?.count ?? 0 }

    private var nextKey: IndexKey { IndexKey(count) }
    mutating func encodeNil() throws { node.appended().set(.null) }
    mutating func encode(_ value: Bool) throws { node.appended().set(.bool(value)) }
    mutating func encode(_ value: String) throws { node.appended().set(.string(value)) }
    mutating func encode(_ value: Double) throws {
        let key = nextKey
        node.appended().set(try EncodingNode.number(value, codingPath + [key]))
    }
    mutating func encode(_ value: Int) throws { node.appended().set(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { node.appended().set(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let key = nextKey
        try node.appended().encode(value, codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let key = nextKey
        return NodeEncoder(node: node.appended(), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let key = nextKey
        return NodeEncoder(node: node.appended(), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let key = nextKey
        return NodeEncoder(node: node.appended(), codingPath: codingPath + [key])
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.set(.null) }
    mutating func encode(_ value: Bool) throws { node.set(.bool(value)) }
    mutating func encode(_ value: String) throws { node.set(.string(value)) }
    mutating func encode(_ value: Double) throws { node.set(try EncodingNode.number(value, codingPath)) }
    mutating func encode(_ value: Float) throws { node.set(try EncodingNode.number(Double(value), codingPath)) }
    mutating func encode(_ value: Int) throws { node.set(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { node.set(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { node.set(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.encode(value, codingPath: codingPath) }
}
