import Foundation
import Testing
import VigilConfig
import VigilCore

/// `http.callbacks`: the Slack and PagerDuty secrets, read from files at load, never shown.
@Suite struct CallbackSettingsTests {
    static func secretFile(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-secret-\(UUID().uuidString)").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func offUntilASecretIsGiven() throws {
        let config = try ConfigLoader.load(path: writeConfig(try HTTPSettingsTests.config("http:\n  enabled: true")))
        #expect(config.http.callbacks == HTTPCallbackSettings())
        #expect(config.http.callbacks.slack == nil && config.http.callbacks.pagerDuty == nil)
    }

    @Test func secretsAreReadFromFilesAndTrimmed() throws {
        let slack = try Self.secretFile("8f742231b10e8888abcd99yyyzzz85a5\n")
        let pagerDuty = try Self.secretFile("  whsec-pd-secret \r\n")
        let path = try writeConfig(try HTTPSettingsTests.config("""
            http:
              callbacks:
                slack: { signing_secret_file: \(slack), team_id: T0123ABCD }
                pagerduty: { webhook_secret_file: \(pagerDuty) }
            """))
        let config = try ConfigLoader.load(path: path)
        #expect(config.http.callbacks.slack == SlackCallbackSettings(signingSecret: CallbackSecret(Array("8f742231b10e8888abcd99yyyzzz85a5".utf8)),
                                                                    teamID: "T0123ABCD"))
        #expect(config.http.callbacks.pagerDuty?.webhookSecret.bytes == Array("whsec-pd-secret".utf8))
        // Neither a log line, an interpolation nor a dump shows a secret.
        var dumped = ""
        dump(config.http, to: &dumped)
        for shown in ["\(config.http)", String(reflecting: config.http.callbacks), dumped] {
            #expect(!shown.contains("8f742231") && !shown.contains("whsec"), "\(shown)")
        }
        #expect("\(config.http.callbacks.slack!.signingSecret)" == "<secret>")
        // /api/v2/status shows the configuration redacted: the file names are hidden too.
        let shown = ConfigRedaction.redacted(try String(contentsOfFile: path, encoding: .utf8))
        #expect(!shown.contains(slack) && !shown.contains(pagerDuty) && shown.contains("signing_secret_file: <secret>"), "\(shown)")
    }

    /// A relative file is found beside the configuration, like every other file it names.
    @Test func relativeSecretFilesAreBesideTheConfiguration() throws {
        let path = try writeConfig(try HTTPSettingsTests.config("http:\n  callbacks:\n    pagerduty:\n      webhook_secret_file: pd.secret"))
        try "relative-secret\n".write(toFile: (path as NSString).deletingLastPathComponent + "/pd.secret", atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.load(path: path).http.callbacks.pagerDuty?.webhookSecret.bytes == Array("relative-secret".utf8))
    }

    @Test func anInlineSecretWorksAndIsRedacted() throws {
        let text = try HTTPSettingsTests.config("http:\n  callbacks:\n    slack:\n      signing_secret: inline-signing-secret")
        let config = try ConfigLoader.load(path: writeConfig(text))
        #expect(config.http.callbacks.slack?.signingSecret.bytes == Array("inline-signing-secret".utf8))
        #expect(!ConfigRedaction.redacted(text).contains("inline-signing-secret"))
    }

    /// Every problem names the file, line and key, and never the secret.
    @Test func errorsNameTheKeyNeverTheSecret() throws {
        let empty = try Self.secretFile("\n\n")
        let directory = FileManager.default.temporaryDirectory.path
        let large = try Self.secretFile(String(repeating: "s", count: CallbackSecret.maximumBytes + 1))
        let text = try HTTPSettingsTests.config("""
            http:
              callbacks:
                slack:
                  signing_secret: do-not-show-me
                  signing_secret_file: /nonexistent/slack.secret
                  team_id: "not a team"
                pagerduty:
                  webhook_secret_file: /nonexistent/pagerduty.secret
            """)
        let errs = try errors(of: text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func line(_ needle: String) -> Int { (lines.firstIndex { $0.contains(needle) } ?? -2) + 1 }
        let both = try #require(errs.first { $0.message.contains("either signing_secret or signing_secret_file") })
        #expect(both.location.line == line("signing_secret: do-not-show-me"))
        let missing = try #require(errs.first { $0.message.contains("/nonexistent/pagerduty.secret") })
        #expect(missing.location.line == line("webhook_secret_file:") && missing.message.contains("No such file"), "\(missing)")
        #expect(errs.contains { $0.message.contains("team_id") && $0.location.line == line("team_id:") })
        #expect(!errs.contains { $0.description.contains("do-not-show-me") }, "\(errs)")

        for (file, expected) in [(empty, "the secret of 1 to 4096 bytes"), (directory, "a regular file"), (large, "found \"4097 bytes\"")] {
            let errs = try errors(of: try HTTPSettingsTests.config("http:\n  callbacks:\n    pagerduty: { webhook_secret_file: \(file) }"))
            #expect(errs.contains { $0.message.contains("webhook_secret_file") && $0.message.contains(expected) }, "\(file): \(errs)")
        }
        let neither = try errors(of: try HTTPSettingsTests.config("http:\n  callbacks:\n    slack: { team_id: T1 }"))
        #expect(neither.contains { $0.message == "missing required key \"signing_secret_file\"" }, "\(neither)")
        let unknown = try errors(of: try HTTPSettingsTests.config("http:\n  callbacks:\n    teams: {}"))
        #expect(unknown.contains { $0.message.hasPrefix("unknown key \"teams\"") }, "\(unknown)")
    }
}
