import Foundation
import GRDB
import VigilCore

// Hand-written row coding for the records read and written on every incident change. GRDB's
// Codable path builds a JSONEncoder or JSONDecoder for each JSON column of each row and goes
// through Encoder boxes for every column: measured under `make bench-plugins` (40 breaches at
// once), encoding and decoding incident rows was over a quarter of the time each new incident
// took. The stored text is the same JSON, so rows written either way read either way.

extension IncidentRecord {
    init(row: Row) throws {
        id = try row.decode(String.self, forColumn: "id")
        title = try row.decode(String.self, forColumn: "title")
        summary = try row.decode(String.self, forColumn: "summary")
        type = try row.decode(String?.self, forColumn: "type")
        severityCode = try row.decode(String.self, forColumn: "severityCode")
        severityRank = try row.decode(Int.self, forColumn: "severityRank")
        state = try row.decode(String.self, forColumn: "state")
        source = try row.decode(String.self, forColumn: "source")
        fingerprint = try row.decode(String?.self, forColumn: "fingerprint")
        occurrences = try row.decode(Int.self, forColumn: "occurrences")
        detectedAt = try row.decode(Int64.self, forColumn: "detectedAt")
        createdAt = try row.decode(Int64.self, forColumn: "createdAt")
        updatedAt = try row.decode(Int64.self, forColumn: "updatedAt")
        lastSeenAt = try row.decode(Int64.self, forColumn: "lastSeenAt")
        acknowledgedAt = try row.decode(Int64?.self, forColumn: "acknowledgedAt")
        resolvedAt = try row.decode(Int64?.self, forColumn: "resolvedAt")
        closedAt = try row.decode(Int64?.self, forColumn: "closedAt")
        responseDeadline = try row.decode(Int64?.self, forColumn: "responseDeadline")
        containmentCategory = try row.decode(String?.self, forColumn: "containmentCategory")
        runbook = try row.decode(String?.self, forColumn: "runbook")
        escalationLevel = try row.decode(Int.self, forColumn: "escalationLevel")
        classification = try RowJSON.decode(Classification.self, row, "classification", table: "incident")
        roles = try RowJSON.map(row, "roles", table: "incident")
        labels = try RowJSON.map(row, "labels", table: "incident")
        extra = try RowJSON.map(row, "extra", table: "incident")
        responderRole = try row.decode(String.self, forColumn: "responderRole")
        escalatedAt = try row.decode(Int64?.self, forColumn: "escalatedAt")
        slaBreachedAt = try row.decode(Int64?.self, forColumn: "slaBreachedAt")
        channel = try row.decode(String?.self, forColumn: "channel")
        nextStatusUpdateAt = try row.decode(Int64?.self, forColumn: "nextStatusUpdateAt")
        backlog = try row.decode(Bool.self, forColumn: "backlog")
        conditionClearedAt = try row.decode(Int64?.self, forColumn: "conditionClearedAt")
        flapCount = try row.decode(Int.self, forColumn: "flapCount")
        postMortemDueAt = try row.decode(Int64?.self, forColumn: "postMortemDueAt")
        resolution = try RowJSON.decode(IncidentResolution.self, row, "resolution", table: "incident")
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["title"] = title
        container["summary"] = summary
        container["type"] = type
        container["severityCode"] = severityCode
        container["severityRank"] = severityRank
        container["state"] = state
        container["source"] = source
        container["fingerprint"] = fingerprint
        container["occurrences"] = occurrences
        container["detectedAt"] = detectedAt
        container["createdAt"] = createdAt
        container["updatedAt"] = updatedAt
        container["lastSeenAt"] = lastSeenAt
        container["acknowledgedAt"] = acknowledgedAt
        container["resolvedAt"] = resolvedAt
        container["closedAt"] = closedAt
        container["responseDeadline"] = responseDeadline
        container["containmentCategory"] = containmentCategory
        container["runbook"] = runbook
        container["escalationLevel"] = escalationLevel
        container["classification"] = classification.map { RowJSON.text($0) }
        container["roles"] = CompactJSON.object(roles)
        container["labels"] = CompactJSON.object(labels)
        container["extra"] = CompactJSON.object(extra)
        container["responderRole"] = responderRole
        container["escalatedAt"] = escalatedAt
        container["slaBreachedAt"] = slaBreachedAt
        container["channel"] = channel
        container["nextStatusUpdateAt"] = nextStatusUpdateAt
        container["backlog"] = backlog
        container["conditionClearedAt"] = conditionClearedAt
        container["flapCount"] = flapCount
        container["postMortemDueAt"] = postMortemDueAt
        container["resolution"] = try RowJSON.text(resolution)
    }
}

extension TimelineRecord {
    init(row: Row) throws {
        incidentID = try row.decode(String.self, forColumn: "incidentID")
        sequence = try row.decode(Int.self, forColumn: "sequence")
        time = try row.decode(Int64.self, forColumn: "time")
        actor = try row.decode(String.self, forColumn: "actor")
        kind = try row.decode(String.self, forColumn: "kind")
        message = try row.decode(String.self, forColumn: "message")
        data = try RowJSON.map(row, "data", table: "timeline")
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["incidentID"] = incidentID
        container["sequence"] = sequence
        container["time"] = time
        container["actor"] = actor
        container["kind"] = kind
        container["message"] = message
        container["data"] = CompactJSON.object(data)
    }
}

extension NotificationRecord {
    // The outbox reads every pending notification at each pass and writes each outcome.
    public init(row: Row) throws {
        id = try row.decode(Int64?.self, forColumn: "id")
        incidentID = try row.decode(String?.self, forColumn: "incidentID")
        createdAt = try row.decode(Int64.self, forColumn: "createdAt")
        channel = try row.decode(String.self, forColumn: "channel")
        recipients = try RowJSON.strings(row, "recipients", table: "notification")
        people = try RowJSON.strings(row, "people", table: "notification")
        subject = try row.decode(String.self, forColumn: "subject")
        body = try row.decode(String.self, forColumn: "body")
        state = try row.decode(String.self, forColumn: "state")
        attempts = try row.decode(Int.self, forColumn: "attempts")
        nextAttemptAt = try row.decode(Int64?.self, forColumn: "nextAttemptAt")
        lastError = try row.decode(String?.self, forColumn: "lastError")
        purpose = try row.decode(String?.self, forColumn: "purpose")
        person = try row.decode(String?.self, forColumn: "person")
        fallbacks = try RowJSON.contactMethods(row, "fallbacks", table: "notification")
        chain = try row.decode(Int64?.self, forColumn: "chain")
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["incidentID"] = incidentID
        container["createdAt"] = createdAt
        container["channel"] = channel
        container["recipients"] = CompactJSON.array(recipients)
        container["people"] = CompactJSON.array(people)
        container["subject"] = subject
        container["body"] = body
        container["state"] = state
        container["attempts"] = attempts
        container["nextAttemptAt"] = nextAttemptAt
        container["lastError"] = lastError
        container["purpose"] = purpose
        container["person"] = person
        container["fallbacks"] = CompactJSON.contactMethods(fallbacks)
        container["chain"] = chain
    }
}

/// JSON columns of hand-coded records.
enum RowJSON {
    /// A `["a","b",…]` column (an absent or NULL one reads as empty): the flat reader first,
    /// JSONDecoder for anything it does not take.
    static func strings(_ row: Row, _ column: String, table: String) throws -> [String] {
        guard row.hasColumn(column), let text = try row.decode(String?.self, forColumn: column) else { return [] }
        if let items = FlatJSON.array(text) { return items }
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow(table: table, id: rowID(row), reason: "column \(column) is not a JSON array of strings")
        }
    }

    /// A `[{"address":…,"channel":…},…]` column (absent, NULL or `[]`: empty). Only the
    /// notifications of a person with several contact methods have one to decode.
    static func contactMethods(_ row: Row, _ column: String, table: String) throws -> [ContactMethod] {
        guard row.hasColumn(column), let text = try row.decode(String?.self, forColumn: column), text != "[]" else {
            return []
        }
        do {
            return try JSONDecoder().decode([ContactMethod].self, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow(table: table, id: rowID(row), reason: "column \(column) is not a list of contact methods")
        }
    }

    /// A `{"name":"value",…}` column: the flat reader first, JSONDecoder for anything it does not
    /// take (a row written by another tool with other spacing or escapes still reads).
    static func map(_ row: Row, _ column: String, table: String) throws -> [String: String] {
        guard let text = try row.decode(String?.self, forColumn: column) else { return [:] }
        if let map = FlatJSON.object(text) { return map }
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow(table: table, id: rowID(row), reason: "column \(column) is not a JSON object of strings")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ row: Row, _ column: String, table: String) throws -> T? {
        guard let text = try row.decode(String?.self, forColumn: column) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow(table: table, id: rowID(row), reason: "column \(column): \(error)")
        }
    }

    /// A classification as JSON text (sorted keys, absent optionals left out, as its Codable
    /// conformance writes it) without a JSONEncoder: one is written with every incident change.
    static func text(_ c: Classification) -> String {
        var o: [String: JSONValue] = [
            "affectedComponents": .array(c.affectedComponents.map { .string($0) }),
            "initialTeam": .array(c.initialTeam.map { .string($0) }),
            "rationale": .array(c.rationale.map { .string($0) }),
        ]
        if let v = c.impact { o["impact"] = .string(v) }
        if let v = c.userScope { o["userScope"] = .string(v) }
        if let v = c.serviceImpact { o["serviceImpact"] = .string(v) }
        if let v = c.security { o["security"] = .bool(v) }
        if let v = c.dataIntegrity { o["dataIntegrity"] = .bool(v) }
        if let v = c.userImpacting { o["userImpacting"] = .bool(v) }
        if let v = c.mobilisation { o["mobilisation"] = .string(v) }
        return JSONValue.object(o).description
    }

    /// The JSON text GRDB's Codable path stores for a nested value (sorted keys), NULL for nil.
    static func text<T: Encodable>(_ value: T?) throws -> String? {
        guard let value else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func rowID(_ row: Row) -> String {
        (try? row.decode(String?.self, forColumn: "id")).flatMap { $0 }
            ?? (try? row.decode(String?.self, forColumn: "incidentID")).flatMap { $0 } ?? "?"
    }
}

/// Reads `{"name":"value",…}` (JSON strings only, any JSON whitespace and escapes); nil for
/// anything else, duplicate names included, so the caller can fall back to a full decoder.
enum FlatJSON {
    static func object(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var p = Parser(bytes: bytes)
            return p.object()
        }
    }

    /// Reads `["a","b",…]` (JSON strings only); nil for anything else.
    static func array(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var p = Parser(bytes: bytes)
            return p.array()
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func array() -> [String]? {
            skipSpace()
            guard take(UInt8(ascii: "[")) else { return nil }
            var out: [String] = []
            skipSpace()
            if take(UInt8(ascii: "]")) { return end() ? out : nil }
            while true {
                skipSpace()
                guard let item = string() else { return nil }
                out.append(item)
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "]")) else { return nil }
                return end() ? out : nil
            }
        }

        mutating func object() -> [String: String]? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var out: [String: String] = [:]
            skipSpace()
            if take(UInt8(ascii: "}")) { return end() ? out : nil }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                guard let value = string(), out.updateValue(value, forKey: key) == nil else { return nil }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "}")) else { return nil }
                return end() ? out : nil
            }
        }

        private mutating func end() -> Bool {
            skipSpace()
            return i == bytes.count
        }

        private mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        private mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = i
            // The common case: no escapes, one copy of the bytes.
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            guard bytes[i] == UInt8(ascii: "\\") else { return nil }
            var scalars = String.UnicodeScalarView()
            guard let head = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self) else { return nil }
            scalars.append(contentsOf: head.unicodeScalars)
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return String(scalars)
                }
                if b < 0x20 { return nil }
                if b != UInt8(ascii: "\\") {
                    // One UTF-8 sequence up to the next quote or backslash.
                    let runStart = i
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
                    guard let run = String(validating: UnsafeBufferPointer(rebasing: bytes[runStart..<i]), as: UTF8.self) else { return nil }
                    scalars.append(contentsOf: run.unicodeScalars)
                    continue
                }
                i += 1
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(unit) {
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                              (0xDC00...0xDFFF).contains(low) else { return nil }
                        let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        guard let scalar = Unicode.Scalar(value) else { return nil }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(UInt32(unit)) else { return nil }
                        scalars.append(scalar)
                    }
                default: return nil
                }
            }
            return nil
        }

        private mutating func hex4() -> UInt16? {
            guard i + 4 <= bytes.count else { return nil }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let digit: UInt16
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt16(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt16(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt16(b - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
                i += 1
            }
            return value
        }
    }
}
