import Testing
import VigilCore
import VigilPluginProtocol

/// Frames a hostile plugin can send: each must be refused with a protocol error, never trap or hang.
@Suite struct HostileInputTests {
    func decode(_ json: String) throws(ProtocolError) -> PluginMessage {
        try PluginMessage.decode(Array(json.utf8), frame: 1)
    }

    func events(_ json: String) throws(ProtocolError) -> [WireEvent] {
        guard case .events(let batch) = try decode(json) else { return [] }
        return batch.events()
    }

    /// The crash of issue 16: one `time` after 2262 overflowed `secs * 1_000_000_000` in vigild.
    @Test(arguments: ["2263-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"])
    func eventTimeOutsideTheRangeIsRefused(time: String) {
        let frame = #"{"type":"events","events":[{"name":"x","value":1,"time":"\#(time)"}]}"#
        #expect(throws: ProtocolError.self) { try events(frame) }
    }

    @Test func eventTimeInsideTheRangeIsRead() throws {
        let e = try events(#"{"type":"events","events":[{"name":"x","value":1,"time":"2262-04-11T23:47:16Z"}]}"#)
        #expect(e.first?.time == Timestamp(nanoseconds: 9_223_372_036_000_000_000))
    }

    @Test(arguments: ["1e10", "-1e10", "1e308"])
    func numericTimeOutsideTheRangeIsRefused(time: String) {
        #expect(throws: ProtocolError.self) {
            try events(#"{"type":"events","events":[{"name":"x","time":\#(time)}]}"#)
        }
    }

    /// A `\u` escape cut by the end of the frame made the scanner loop forever (a `break` that left
    /// only the switch).
    @Test(.timeLimit(.minutes(1)), arguments: [#""\u12"#, #"{"a":"\u"#, #"["\u123"#, #"{"type":"log","message":"\u00"#])
    func truncatedUnicodeEscapeIsAnError(text: String) {
        #expect(throws: JSONScanError.self) { try JSONValue.parse(Array(text.utf8)) }
        #expect(throws: ProtocolError.self) { try PluginMessage.decode(Array(text.utf8), frame: 1) }
    }

    /// `1e400` became infinity: not a value any consumer expects, and JSON cannot write it back.
    @Test(arguments: ["1e400", "-1e400", "123456789012345678901234567890e300"])
    func numbersBeyondDoubleAreRefused(number: String) {
        #expect(throws: JSONScanError.self) { try JSONValue.parse(Array(number.utf8)) }
        #expect(throws: ProtocolError.self) {
            try events(#"{"type":"events","events":[{"name":"x","value":\#(number)}]}"#)
        }
        #expect(throws: ProtocolError.self) { try decode(#"{"type":"ping","seq":\#(number)}"#) }
    }

    @Test func tinyNumbersUnderflowToZero() throws {
        #expect(try JSONValue.parse(Array("1e-400".utf8)) == .number(0))
    }

    /// A unit with a lone surrogate decoded to "" silently; it is refused like a bad name.
    @Test func unitThatIsNotTextIsRefused() {
        #expect(throws: ProtocolError.self) {
            try events(#"{"type":"events","events":[{"name":"x","value":1,"unit":"\ud800"}]}"#)
        }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ProtocolError.self) { try decode(#"{"type":"log","message":"m","x":\#(deep)}"#) }
        #expect(throws: ProtocolError.self) {
            try events(#"{"type":"events","events":[{"name":"x","extra":\#(deep)}]}"#)
        }
    }

    @Test func wholeNumberFieldsOutOfRangeAreRefused() {
        #expect(throws: ProtocolError.self) { try decode(#"{"type":"ping","seq":1e19}"#) }
        #expect(throws: ProtocolError.self) { try decode(#"{"type":"hello","protocol":1.5,"plugin":"p"}"#) }
        #expect(throws: ProtocolError.self) { try decode(#"{"type":"result","id":1e300,"ok":true}"#) }
    }

    @Test func oversizedHeaderCostsNoMemory() throws {
        var d = FrameDecoder(maximumFrameBytes: 1024, initialCapacity: 16)
        d.append([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: ProtocolError.self) { try d.nextFrame() }
        #expect(d.bufferedByteCount == 4)
    }

    /// Frames split at every byte come out exactly as when delivered whole.
    @Test func framesSplitAnywhereDecodeTheSame() throws {
        let messages: [PluginMessage] = [
            .hello(Hello(plugin: "p", version: "1")), .ping(seq: 7),
            .log(LogLine(level: "info", message: "a\u{0}b\"\\")), .pong(seq: -3),
        ]
        let stream = messages.flatMap { $0.encodedFrame() }
        var d = FrameDecoder(maximumFrameBytes: 1024, initialCapacity: 16)
        var out: [PluginMessage] = []
        for b in stream {
            d.append([b])
            while let m = try d.nextMessage() { out.append(m) }
        }
        #expect(out == messages)
        #expect(d.bufferedByteCount == 0)
    }
}

/// A plugin's message type or field name in a protocol error cannot forge a log line or drive a
/// terminal (found by an attack pass: a `type` holding a newline and a fake `vigild` line).
@Suite struct ProtocolErrorTextTests {
    @Test func pluginChosenTextIsEscapedAndCut() {
        let forged = "\n2026-12-06T01:11:33+0000 critical vigild: plugin quarantined\u{1b}[2J\u{202e}\\"
        let text = ProtocolError.unknownType(frame: 2, type: forged).description
        #expect(!text.contains("\n") && !text.contains("\u{1b}") && !text.contains("\u{202e}"), "\(text)")
        #expect(text.contains("\\u{a}2026-12-06T01:11:33+0000 critical vigild"))
        #expect(ProtocolError.unknownType(frame: 1, type: String(repeating: "x", count: 500)).description.count < 120)
        #expect(ProtocolError.unknownType(frame: 1, type: "pong").description == #"frame 1: unknown message type "pong""#)
    }
}
