import Testing
import VigilConfig
import VigilCore

@Suite struct HTTPSettingsTests {
    /// The default configuration without its `http:` section, with `section` in its place.
    static func config(_ section: String) throws -> String {
        let text = try defaultConfigText()
        guard let r = text.range(of: "\nhttp:\n") else { throw ConfigErrors([]) }
        let rest = text[r.upperBound...]
        // The section ends at the next top-level key (or the end of the file).
        let end = rest.range(of: "\n[a-z_]+:", options: .regularExpression)?.lowerBound ?? rest.endIndex
        return String(text[..<r.lowerBound]) + "\n" + section + "\n" + String(rest[end...])
    }

    @Test func defaultsWhenAbsent() throws {
        let config = try ConfigLoader.load(path: writeConfig(try Self.config("")))
        #expect(config.http.enabled)
        #expect(config.http.listen == HTTPListenAddress(host: "127.0.0.1", port: 9093))
        #expect(config.http.maxBodyBytes == 4 << 20)
        #expect(config.http.resolveTimeout == .seconds(300))
        #expect(config.http.tls == nil)
        #expect(config.http.loopbackAnonymous == "sender")
    }

    @Test func consoleSettingsAreReadAndChecked() throws {
        let plain = try ConfigLoader.load(path: writeConfig(try Self.config("")))
        #expect(plain.http.console == HTTPConsoleSettings())
        #expect(plain.http.console.enabled && plain.http.console.statusPage && plain.http.console.title == "Vigil")
        let set = try ConfigLoader.load(path: writeConfig(try Self.config(
            "http:\n  console:\n    enabled: false\n    status_page: false\n    title: Acme ops\n    components: [api, web]")))
        #expect(!set.http.console.enabled && !set.http.console.statusPage)
        #expect(set.http.console.title == "Acme ops")
        #expect(set.http.console.components == ["api", "web"])
        let errs = try errors(of: try Self.config("http:\n  console:\n    title: \"\"\n    colour: red"))
        #expect(errs.contains { $0.description.contains("title") }, "\(errs)")
        #expect(errs.contains { $0.description.contains("colour") }, "\(errs)")
    }

    @Test func loopbackAnonymousIsSenderOrNone() throws {
        let none = try ConfigLoader.load(path: writeConfig(try Self.config("http:\n  auth:\n    loopback_anonymous: none")))
        #expect(none.http.loopbackAnonymous == "none")
        let errs = try errors(of: try Self.config("http:\n  auth:\n    loopback_anonymous: viewer"))
        #expect(errs.contains { $0.description.contains("loopback_anonymous") && $0.description.contains("sender or none") }, "\(errs)")
    }

    @Test func externalURLIsWhereLinksPoint() throws {
        let config = try ConfigLoader.load(path: writeConfig(try Self.config("http:\n  external_url: https://vigil.example.com/")))
        #expect(config.http.externalURL == "https://vigil.example.com/")
        #expect(config.http.linkBase(hostName: "h") == "https://vigil.example.com")
        var s = HTTPSettings()
        #expect(s.linkBase(hostName: "h") == "http://127.0.0.1:9093", "the listen address by default")
        s.listen = HTTPListenAddress(host: "0.0.0.0", port: 80)
        #expect(s.linkBase(hostName: "box1") == "http://box1:80", "a wildcard address becomes the host's name")
        s.listen = HTTPListenAddress(host: "::1", port: 9093)
        s.tls = HTTPTLSFiles(certificate: "/c", key: "/k")
        #expect(s.linkBase(hostName: "h") == "https://[::1]:9093")
        for bad in ["ftp://x", "https://", "https://a b", "https://x/?q=1", "https://x/#f", "https://u@x", "vigil.example.com"] {
            let errs = try errors(of: try Self.config("http:\n  external_url: \"\(bad)\""))
            #expect(errs.contains { $0.description.contains("external_url") }, "\(bad): \(errs)")
        }
        #expect(!HTTPSettings.isValidExternalURL("https://x/\u{1B}[2J") && !HTTPSettings.isValidExternalURL("https://x/a\tb"))
        #expect(HTTPSettings.isValidExternalURL("http://10.0.0.5:9093/vigil"))
    }

    @Test func theShippedConfigurationListensOnAlertmanagersPort() throws {
        let config = try ConfigLoader.load(path: defaultConfigPath)
        #expect(config.http.enabled)
        #expect(config.http.listen.description == "127.0.0.1:9093")
        #expect(config.http.listen.isLoopback)
    }

    @Test func readsEveryKey() throws {
        let path = try writeConfig(try Self.config("""
            http:
              enabled: false
              listen: "[::1]:0"
              max_body_bytes: 2048
              resolve_timeout: 90 seconds
              tls: { certificate: /etc/c.pem, key: /etc/k.pem }
            """))
        let config = try ConfigLoader.load(path: path)
        #expect(!config.http.enabled)
        #expect(config.http.listen == HTTPListenAddress(host: "::1", port: 0))
        #expect(config.http.maxBodyBytes == 2048)
        #expect(config.http.resolveTimeout == .seconds(90))
        #expect(config.http.tls == HTTPTLSFiles(certificate: "/etc/c.pem", key: "/etc/k.pem"))
    }

    @Test func errorsNameLineAndColumn() throws {
        let text = try Self.config("""
            http:
              listen: localhost
              max_body_bytes: 12
              resolve_timeout: 5 mins
              tls: { certificate: a.pem }
              port: 80
            """)
        let errs = try errors(of: text)
        // Position of the value after `prefix` on the first line holding both.
        func at(_ needle: String, after prefix: String = "") throws -> (Int, Int) {
            let p = try #require(position(of: prefix + needle, in: text))
            return (p.line, p.column + prefix.count)
        }
        let listen = try #require(errs.first { $0.message.contains("\"listen\" must be HOST:PORT") })
        #expect((listen.location.line, listen.location.column) == (try at("localhost", after: "listen: ")))
        let size = try #require(errs.first { $0.message.contains("\"max_body_bytes\" must be a whole number from 1024") })
        #expect((size.location.line, size.location.column) == (try at("12", after: "max_body_bytes: ")))
        #expect(errs.contains { $0.message.contains("5 mins") && $0.location.line == (try? at("5 mins", after: "resolve_timeout: "))?.0 })
        #expect(errs.contains { $0.message == "missing required key \"key\"" })
        let port = try #require(errs.first { $0.message.hasPrefix("unknown key \"port\"") })
        #expect((port.location.line, port.location.column) == (try at("port: 80")))
    }

    @Test(arguments: [
        ("127.0.0.1:9093", "127.0.0.1", 9093), ("0.0.0.0:0", "0.0.0.0", 0), ("[::]:9093", "::", 9093),
        ("localhost:65535", "localhost", 65535),
    ])
    func listenAddressesParse(text: String, host: String, port: Int) {
        #expect(HTTPListenAddress.parse(text) == HTTPListenAddress(host: host, port: port))
    }

    @Test(arguments: ["9093", ":9093", "host:", "host:65536", "host:-1", "::1:9093", "[::1]9093", "a b:80", "h:+80",
                      "h:99999999999999999999"])
    func badListenAddressesAreRefused(text: String) {
        #expect(HTTPListenAddress.parse(text) == nil)
    }
}
