import CYaml

/// How many nodes a YAML text expands to, counting each alias as the whole node it names.
///
/// Yams shares an aliased node instead of copying it, but everything that walks the tree (its own
/// duplicate-key check hashes whole keys; loaders turn nodes into values) pays for every use, so
/// a few hundred bytes of nested aliases ("billion laughs") cost 10^9 node visits. This pass reads
/// libyaml's events only — no tree — and stops as soon as the count passes `limit`.
enum YAMLExpansion {
    /// Most nodes one file may expand to; the largest real configuration has a few thousand.
    static let maximumNodes = 1_000_000

    /// The expanded node count, or nil when it exceeds `limit`. Syntax errors end the count
    /// early (Yams reports them with their position when it parses the text afterwards).
    static func nodeCount(_ text: String, limit: Int = maximumNodes) -> Int? {
        var bytes = Array(text.utf8)
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1, let base = buffer.baseAddress else { return 0 }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, base, buffer.count - 1)
            var anchors: [String: Int] = [:]
            // The open collections: their anchor and the nodes counted inside them so far.
            var open: [(anchor: String?, size: Int)] = []
            var total = 0
            func add(_ size: Int, anchor: String?) -> Bool {
                if let anchor { anchors[anchor] = size }
                if open.isEmpty {
                    total = min(limit + 1, total + size)
                    return total <= limit
                }
                open[open.count - 1].size = min(limit + 1, open[open.count - 1].size + size)
                return open[open.count - 1].size <= limit
            }
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                var withinLimit = true
                switch event.type {
                case YAML_SCALAR_EVENT:
                    withinLimit = add(1, anchor: name(event.data.scalar.anchor))
                case YAML_SEQUENCE_START_EVENT:
                    open.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    open.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let done = open.popLast() else { return total }
                    withinLimit = add(done.size, anchor: done.anchor)
                case YAML_ALIAS_EVENT:
                    withinLimit = add(name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1, anchor: nil)
                case YAML_STREAM_END_EVENT:
                    return total
                default:
                    break
                }
                if !withinLimit { return nil }
            }
            return total
        }
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}
