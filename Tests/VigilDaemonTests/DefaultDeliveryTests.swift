import Foundation
import Testing
import VigilTestSupport

/// Out of the box, a page reaches someone: the shipped configuration and the bundled plugins, a
/// fresh state folder, an incident declared — and its pages are in the local mail spool.
@Suite(.serialized, .enabled(if: isRoot, "needs root (the daemon's plugins run in their sandbox)"))
struct DefaultDeliveryTests {
    /// The Maildir messages under the email notifier's data folder, by recipient folder.
    static func spooled(_ state: String) -> [String: [String]] {
        let root = state + "/plugins/email/data/maildir"
        var out: [String: [String]] = [:]
        for box in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + box + "/new")) ?? []
            if !files.isEmpty { out[box] = files.map { root + "/" + box + "/new/" + $0 } }
        }
        return out
    }

    @Test(.timeLimit(.minutes(3)))
    func aDeclaredIncidentReachesTheDefaultDestinationWithinTwoSeconds() throws {
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        // Every notifier is up before the clock starts: the 2 s are the page's, not the plugins' start.
        #expect(try eventually(60) {
            let (status, out, _) = try vigil(["plugins", "list"], stateDirectory: daemon.stateDirectory)
            return status == 0 && out.split(separator: "\n").filter { $0.contains("email") }.allSatisfy { $0.contains("running") }
                && out.contains("email")
        })
        let declaredAt = Date()
        let (status, out, err) = try vigil(["incidents", "declare", "--title", "checkout is down", "--severity", "P1"],
                                           stateDirectory: daemon.stateDirectory)
        #expect(status == 0, "\(out)\(err)")
        var boxes: [String: [String]] = [:]
        #expect(eventually(10) { boxes = Self.spooled(daemon.stateDirectory); return !boxes.isEmpty })
        let elapsed = Date().timeIntervalSince(declaredAt)
        #expect(elapsed < 2, "the first page reached the spool after \(elapsed) s")
        // A person's page: an email address's Maildir, a message naming the incident.
        let person = try #require(boxes.keys.first { $0.contains("@") }, "\(boxes.keys)")
        let message = try String(contentsOfFile: try #require(boxes[person]?.first), encoding: .utf8)
        #expect(message.contains("checkout is down"))
        #expect(message.contains("X-Vigil-Incident: INC-"))
    }
}
