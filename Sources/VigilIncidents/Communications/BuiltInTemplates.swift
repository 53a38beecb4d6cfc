/// Built-in copies of `Config/templates/*.mustache`, used when the configured templates folder
/// lacks one (a test checks they stay identical to the files).
enum BuiltInTemplates {
    static let incidentCommunication = """
{{% CONTENT_TYPE: TEXT}}
# Incident Communication — {{id}}

**Incident Summary**: {{summary}}
**Status**: {{status}}
**Impact**: {{impact}}
**Timeline**: discovered {{discovered}}; {{contained}}; ETA for resolution: {{eta}}
**Next Update**: {{next_update}}

**Actions Taken**:
{{#actions}}
- {{.}}
{{/actions}}
{{^actions}}
- None yet.
{{/actions}}

**Customer Impact**: {{customer_impact}}

"""

    static let serviceRestoration = """
{{% CONTENT_TYPE: TEXT}}
# Service Restoration Announcement — {{id}}

**Incident Resolution Update**

**Status**: RESOLVED
**Resolution Time**: {{resolution_time}}
**Root Cause**: {{root_cause}}
**Resolution**: {{resolution}}

**What We Did**:
{{#actions}}
- {{.}}
{{/actions}}

**Service Status**: All services fully restored and operating normally
**Next Steps**: {{next_steps}}

"""
}
