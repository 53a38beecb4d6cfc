import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilSilences

/// `maintenance_windows:` in the configuration: loaded as schedules, refused with file:line:column.
@Suite struct MaintenanceWindowConfigTests {
    static let windows = """

        maintenance_windows:
          - name: nightly-backup
            matchers: ['component="db"', 'severity=~"P[34]"']
            weekly: {days: [mon, tuesday, Sun], start: "22:00", end: "02:30"}
            time_zone: Europe/Berlin
          - name: patch-sunday
            matchers: '{plugin="disk-watch"}'
            cron: "0 4 * * sun"
            duration: 2 hours
        """

    @Test func weeklyAndCronWindowsLoad() throws {
        let path = try writeConfig(try defaultConfigText() + Self.windows)
        let config = try ConfigLoader.load(path: path)
        #expect(config.maintenanceWindows.map(\.name) == ["nightly-backup", "patch-sunday"])
        let backup = config.maintenanceWindows[0]
        #expect(backup.schedule == .weekly(WeeklySchedule(days: [0, 1, 2], start: 22 * 60, end: 150)))
        #expect(backup.timeZone.identifier == "Europe/Berlin")
        #expect(backup.matchers.description == #"{component="db", severity=~"P[34]"}"#)
        guard case .cron(let cron, let duration) = config.maintenanceWindows[1].schedule else {
            Issue.record("patch-sunday is not a cron window")
            return
        }
        #expect(cron.description == "0 4 * * sun")
        #expect(duration == .seconds(7200))
    }

    /// Each window's error must point at `needle` (its line and column) and name `key`.
    @Test(arguments: [
        (#"weekly: {days: [mon], start: "25:00", end: "02:30"}"#, #""25:00""#, "start"),
        (#"weekly: {days: [someday], start: "22:00", end: "02:30"}"#, "someday", "days"),
        ("cron: \"61 * * * *\"\n    duration: 1h", #""61"#, "cron"),
        ("cron: \"0 4 * * sun\"\n    duration: 30 days", "30 days", "duration"),
        (#"weekly: {days: [mon], start: "01:00", end: "02:00"}"# + "\n    time_zone: Mars/Olympus", "Mars/Olympus",
         "time_zone"),
        (#"weekly: {days: [mon], start: "01:00", end: "02:00"}"# + "\n    cron: \"* * * * *\"", #""* * * * *""#, "cron"),
    ])
    func badWindowsAreRefusedWithTheirLocation(schedule: String, needle: String, key: String) throws {
        let text = try defaultConfigText() + """

            maintenance_windows:
              - name: w
                matchers: ['team="db"']
                \(schedule)
            """
        let found = try errors(of: text)
        #expect(found.count == 1, "\(found)")
        let error = try #require(found.first)
        let at = try #require(position(of: needle, in: text))
        #expect(error.location.line == at.line && error.location.column == at.column, "\(error) (expected \(at))")
        #expect(error.description.contains(key), "\(error)")
    }

    @Test(arguments: [#"['team=~"("']"#, #"['team=""']"#, "[]"])
    func badMatchersAreRefused(matchers: String) throws {
        let text = try defaultConfigText() + """

            maintenance_windows:
              - name: w
                matchers: \(matchers)
                weekly: {days: [mon], start: "01:00", end: "02:00"}
            """
        let found = try errors(of: text)
        let error = try #require(found.first)
        let at = try #require(position(of: "matchers: \(matchers)", in: text))
        #expect(error.location.line == at.line, "\(error)")
        #expect(error.description.contains("matchers"), "\(error)")
    }
}
