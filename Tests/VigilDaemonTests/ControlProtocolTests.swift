import VigilControl
import Testing
import VigilCore
import VigilDaemon

/// Request lines of the control socket, decoded by ``ControlRequest/decode(line:)``.
@Suite struct ControlProtocolTests {
    func decode(_ text: String) throws(ControlFailure) -> ControlRequest {
        try ControlRequest.decode(line: Array(text.utf8))
    }

    @Test func readsCommandAndArgs() throws {
        let r = try decode(#"{"command":"incidents.ack","args":{"id":"INC-1","n":2,"tags":["a"]},"extra":null}"#)
        #expect(r.command == "incidents.ack")
        #expect(r.args["id"] == .string("INC-1"))
        #expect(r.args["n"] == .number(2))
        #expect(r.args["tags"] == .array([.string("a")]))
    }

    @Test(arguments: ["", "null", "[]", #"{"command":"x"}"#, #"{"args":{}}"#, #"{"command":1,"args":{}}"#,
                      #"{"command":"x","args":[]}"#, #"{"command":"x","args":{}} junk"#, #"{"command":"\ud800","args":{}}"#,
                      #"{"command":"x","args":{"n":1e400}}"#])
    func refusesMalformedLines(line: String) {
        #expect(throws: ControlFailure.self) { try decode(line) }
    }

    /// Nesting is bounded by the scanner, whatever the line holds.
    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(throws: ControlFailure.self) { try decode(#"{"command":"x","args":{"a":\#(deep)}}"#) }
    }

    @Test func refusesLinesOverTheLimit() {
        let long = String(repeating: " ", count: ControlRequest.maximumLineBytes)
        #expect(throws: ControlFailure.self) { try decode(#"{"command":"x","args":{}}"# + long) }
    }

    @Test func aRequestRoundTripsThroughItsEncoding() throws {
        let r = ControlRequest(command: "status", args: ["since": .string("1h"), "all": .bool(true)])
        let line = Array(try JSONValue.encoding(r).description.utf8)
        let back = try ControlRequest.decode(line: line)
        #expect(back.command == r.command && back.args == r.args)
    }
}
