/// A compiled ``RE2Syntax`` expression, run as a Thompson NFA: time linear in the text times the
/// program's size, whatever the pattern (no backtracking), memory bounded by the program's size.
public struct RE2Program: Sendable {
    /// Programs larger than this are refused ("expression too large"); Go's limit is higher, but a
    /// silence's regex runs against every incident and alert, so Vigil keeps it small.
    public static let maxInstructions = 20_000

    enum Test: Sendable {
        case scalar(UInt32)
        case folded(UInt32)
        case any
        case anyButNewline
        case set(RE2Syntax.CharClass)
    }

    enum Instruction: Sendable {
        case consume(Test)
        case split(Int, Int)
        case jump(Int)
        case assert(RE2Syntax.Assertion)
        case match
    }

    let instructions: [Instruction]

    /// Compiles `pattern` exactly as Go's `regexp.Compile` reads it (no implicit anchors).
    public init(pattern: String) throws(RE2Syntax.Error) {
        let node = try RE2Syntax.parse(pattern)
        var compiler = Compiler()
        guard compiler.emit(node) else {
            throw RE2Syntax.Error(code: "expression too large", expression: pattern)
        }
        compiler.code.append(.match)
        instructions = compiler.code
    }

    struct Compiler {
        var code: [Instruction] = []

        /// False once the program grows past the limit.
        mutating func emit(_ n: RE2Syntax.Node) -> Bool {
            guard code.count < RE2Program.maxInstructions else { return false }
            switch n {
            case .empty: return true
            case .literal(let v, let fold):
                code.append(.consume(fold ? .folded(RE2Program.fold(v)) : .scalar(v)))
            case .anyChar(let nl): code.append(.consume(nl ? .any : .anyButNewline))
            case .charClass(let c): code.append(.consume(.set(c)))
            case .assertion(let a): code.append(.assert(a))
            case .group(let sub): return emit(sub)
            case .concat(let xs):
                for x in xs where !emit(x) { return false }
            case .alternate(let xs):
                // split L1, next; L1: x0; jmp end; next: split L2, next2; ...
                var jumps: [Int] = []
                for (k, x) in xs.enumerated() {
                    if k < xs.count - 1 {
                        let split = code.count
                        code.append(.split(split + 1, -1))
                        guard emit(x) else { return false }
                        jumps.append(code.count)
                        code.append(.jump(-1))
                        code[split] = .split(split + 1, code.count)
                    } else {
                        guard emit(x) else { return false }
                    }
                }
                for j in jumps { code[j] = .jump(code.count) }
            case .repeat(let sub, let lo, let hi):
                for _ in 0..<lo where !emit(sub) { return false }
                if let hi {
                    // Optional copies, nested: (x(x(x)?)?)?
                    var splits: [Int] = []
                    for _ in lo..<max(lo, hi) {
                        splits.append(code.count)
                        code.append(.split(code.count + 1, -1))
                        guard emit(sub) else { return false }
                    }
                    for sp in splits { code[sp] = .split(sp + 1, code.count) }
                } else {
                    let loop = code.count
                    code.append(.split(loop + 1, -1))
                    guard emit(sub) else { return false }
                    code.append(.jump(loop))
                    code[loop] = .split(loop + 1, code.count)
                }
            }
            return code.count <= RE2Program.maxInstructions
        }
    }

    /// Go's simple case folding, approximated by Unicode's single-scalar case mappings.
    static func fold(_ v: UInt32) -> UInt32 {
        guard let s = Unicode.Scalar(v) else { return v }
        let upper = s.properties.uppercaseMapping.unicodeScalars
        let base = upper.count == 1 ? upper.first ?? s : s
        let lower = base.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? (lower.first ?? base).value : base.value
    }

    static func isWord(_ v: UInt32?) -> Bool {
        guard let v else { return false }
        return (48...57).contains(v) || (65...90).contains(v) || v == 95 || (97...122).contains(v)
    }

    /// Whether the expression matches anywhere in `text` (Go's `MatchString`).
    public func matches(_ text: String) -> Bool {
        let input = text.unicodeScalars.map(\.value)
        let n = instructions.count
        var current = ThreadSet(capacity: n), next = ThreadSet(capacity: n)
        var stack: [Int] = []
        stack.reserveCapacity(16)
        var position = 0
        while true {
            let previous: UInt32? = position > 0 ? input[position - 1] : nil
            let here: UInt32? = position < input.count ? input[position] : nil
            // A new thread at every position: Go's MatchString is unanchored.
            if add(0, to: &current, previous: previous, here: here, stack: &stack) { return true }
            guard let c = here else { return false }
            next.clear()
            let after: UInt32? = position + 1 < input.count ? input[position + 1] : nil
            for k in 0..<current.count {
                let pc = current.dense[k]
                guard case .consume(let test) = instructions[pc], Self.accepts(test, c) else { continue }
                if add(pc + 1, to: &next, previous: c, here: after, stack: &stack) { return true }
            }
            swap(&current, &next)
            position += 1
        }
    }

    /// Follows the empty transitions from `pc`; true when it reaches `match`.
    private func add(_ pc: Int, to set: inout ThreadSet, previous: UInt32?, here: UInt32?,
                     stack: inout [Int]) -> Bool {
        stack.append(pc)
        while let at = stack.popLast() {
            guard set.insert(at) else { continue }
            switch instructions[at] {
            case .match: stack.removeAll(keepingCapacity: true); return true
            case .consume: break
            case .jump(let to): stack.append(to)
            case .split(let a, let b):
                stack.append(b)
                stack.append(a)
            case .assert(let a):
                let holds: Bool
                switch a {
                case .beginText: holds = previous == nil
                case .endText: holds = here == nil
                case .beginLine: holds = previous == nil || previous == 10
                case .endLine: holds = here == nil || here == 10
                case .wordBoundary: holds = Self.isWord(previous) != Self.isWord(here)
                case .notWordBoundary: holds = Self.isWord(previous) == Self.isWord(here)
                }
                if holds { stack.append(at + 1) }
            }
        }
        return false
    }

    static func accepts(_ test: Test, _ c: UInt32) -> Bool {
        switch test {
        case .scalar(let v): return c == v
        case .folded(let v): return fold(c) == v
        case .any: return true
        case .anyButNewline: return c != 10
        case .set(let cls):
            var hit = contains(cls, c)
            if !hit, cls.foldCase, let s = Unicode.Scalar(c) {
                for m in [s.properties.lowercaseMapping, s.properties.uppercaseMapping, s.properties.titlecaseMapping]
                where m.unicodeScalars.count == 1 {
                    if let v = m.unicodeScalars.first?.value, v != c, contains(cls, v) { hit = true; break }
                }
                if !hit { let f = fold(c); hit = f != c && contains(cls, f) }
            }
            return hit != cls.negated
        }
    }

    static func contains(_ cls: RE2Syntax.CharClass, _ c: UInt32) -> Bool {
        for item in cls.items {
            switch item {
            case .ranges(let rs, let negated):
                if rs.contains(where: { $0.contains(c) }) != negated { return true }
            case .categories(let cats, let negated):
                let inside = Unicode.Scalar(c).map { cats.contains($0.properties.generalCategory) } ?? cats.contains(.surrogate)
                if inside != negated { return true }
            }
        }
        return false
    }
}

/// A sparse set of program counters: O(1) insert, clear and membership, no hashing.
struct ThreadSet {
    var dense: [Int]
    var sparse: [Int]
    var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    /// False when `pc` was already there.
    mutating func insert(_ pc: Int) -> Bool {
        let k = sparse[pc]
        if k < count, dense[k] == pc { return false }
        sparse[pc] = count
        dense[count] = pc
        count += 1
        return true
    }

    mutating func clear() { count = 0 }
}
