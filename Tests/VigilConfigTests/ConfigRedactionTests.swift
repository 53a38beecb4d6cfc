import Testing
import VigilConfig

@Suite struct ConfigRedactionTests {
    @Test func secretsAreReplacedAndTheRestKept() {
        let shown = ConfigRedaction.redacted("""
            # a comment that is not shown
            roster:
              people:
                - id: alice
                  name: Alice Martin
                  contacts: { email: alice@example.org, phone: "+49 30 1234" }
            notify:
              smtp_password: hunter2
              api-token: vgl_abc
              nested: { ClientSecret: s3cr3t, list: [a, b] }
              webhook: https://user:pa55@hooks.example.org/x?y=1
              plain_url: https://hooks.example.org/a@b
            http:
              listen: 127.0.0.1:9093
            """)
        for secret in ["alice@example.org", "+49 30 1234", "hunter2", "vgl_abc", "s3cr3t", "pa55", "user:"] {
            #expect(!shown.contains(secret), "\(secret) shown in:\n\(shown)")
        }
        #expect(shown.contains("name: Alice Martin"))
        #expect(shown.contains("smtp_password: <secret>"))
        #expect(shown.contains("https://<secret>@hooks.example.org/x?y=1"))
        #expect(shown.contains("https://hooks.example.org/a@b"))  // an @ in the path is no user information
        #expect(shown.contains("listen: 127.0.0.1:9093"))
        #expect(!shown.contains("comment"))
    }

    @Test func theShippedConfigurationShowsNoAddresses() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        #expect(!config.sourceText.isEmpty)
        let shown = ConfigRedaction.redacted(config.sourceText)
        #expect(shown.contains("http:") && shown.contains("roster:"))
        #expect(!shown.contains("@example.org"))
    }

    @Test func unparseableTextShowsNothing() {
        #expect(ConfigRedaction.redacted("a: [unclosed") == "")
    }
}
