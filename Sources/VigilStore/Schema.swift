import GRDB

/// The store's schema as named, append-only migrations. Never edit a registered step:
/// add a new one (`v3-…`) so every existing database upgrades the same way.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-incidents") { db in
            try db.create(table: "incident_counter") { t in
                t.primaryKey("year", .integer)
                t.column("last", .integer).notNull()
            }
            try db.create(table: "incident") { t in
                t.primaryKey("id", .text)
                t.column("title", .text).notNull()
                t.column("summary", .text).notNull()
                t.column("type", .text)
                t.column("severityCode", .text).notNull()
                t.column("severityRank", .integer).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("source", .text).notNull()
                t.column("fingerprint", .text).indexed()
                t.column("occurrences", .integer).notNull()
                t.column("detectedAt", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
                t.column("lastSeenAt", .integer).notNull()
                t.column("acknowledgedAt", .integer)
                t.column("resolvedAt", .integer)
                t.column("closedAt", .integer)
                t.column("responseDeadline", .integer)
                t.column("containmentCategory", .text)
                t.column("runbook", .text)
                t.column("escalationLevel", .integer).notNull()
                t.column("classification", .jsonText)
                t.column("roles", .jsonText).notNull()
                t.column("labels", .jsonText).notNull()
                t.column("extra", .jsonText).notNull().defaults(to: "{}")
            }
            try db.create(table: "timeline") { t in
                t.autoIncrementedPrimaryKey("rowid")
                t.column("incidentID", .text).notNull().references("incident", onDelete: .cascade)
                t.column("sequence", .integer).notNull()
                t.column("time", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("message", .text).notNull()
                t.column("data", .jsonText).notNull()
                t.uniqueKey(["incidentID", "sequence"])
            }
            try db.create(table: "evidence") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentID", .text).notNull().references("incident", onDelete: .cascade).indexed()
                t.column("time", .integer).notNull()
                t.column("source", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("content", .text).notNull()
                t.column("sha256", .text)
            }
            try db.create(table: "action") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentID", .text).references("incident", onDelete: .setNull).indexed()
                t.column("name", .text).notNull()
                t.column("mode", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("dryRun", .boolean).notNull()
                t.column("requestedAt", .integer).notNull()
                t.column("deadline", .integer)
                t.column("completedAt", .integer)
                t.column("params", .jsonText).notNull()
                t.column("result", .jsonText)
                t.column("undo", .jsonText)
            }
            try db.create(table: "actionItem") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentID", .text).references("incident", onDelete: .setNull).indexed()
                t.column("kind", .text).notNull()
                t.column("title", .text).notNull()
                t.column("owner", .text)
                t.column("dueAt", .integer)
                t.column("state", .text).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(table: "plugin") { t in
                t.primaryKey("name", .text)
                t.column("uid", .integer).notNull().unique()
                t.column("enabled", .boolean).notNull()
                t.column("state", .text).notNull()
                t.column("quarantineReason", .text)
                t.column("quarantinedAt", .integer)
                t.column("restarts", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.create(table: "notification") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentID", .text).references("incident", onDelete: .cascade).indexed()
                t.column("createdAt", .integer).notNull()
                t.column("channel", .text).notNull()
                t.column("recipients", .jsonText).notNull()
                t.column("subject", .text).notNull()
                t.column("body", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("attempts", .integer).notNull()
                t.column("nextAttemptAt", .integer)
                t.column("lastError", .text)
            }
        }
        m.registerMigration("v2-incident-response") { db in
            // Escalation timing, SLA breach, status-update cadence, backlog, flapping and resolution:
            // everything the incident manager's clocks are computed from after a restart.
            try db.alter(table: "incident") { t in
                t.add(column: "responderRole", .text).notNull().defaults(to: "on_call_engineer")
                t.add(column: "escalatedAt", .integer)
                t.add(column: "slaBreachedAt", .integer)
                t.add(column: "channel", .text)
                t.add(column: "nextStatusUpdateAt", .integer)
                t.add(column: "backlog", .boolean).notNull().defaults(to: false)
                t.add(column: "conditionClearedAt", .integer)
                t.add(column: "flapCount", .integer).notNull().defaults(to: 0)
                t.add(column: "postMortemDueAt", .integer)
                t.add(column: "resolution", .jsonText)
            }
            try db.create(index: "incident_fingerprint_created", on: "incident", columns: ["fingerprint", "createdAt"])
        }
        m.registerMigration("v3-incident-plugin-index") { db in
            // Every firing signal about a plugin looks up the open incident about that plugin
            // (one cause, one incident): an index on the same expression, not a scan of every
            // incident ever stored.
            try db.execute(sql: "CREATE INDEX incident_plugin ON incident(json_extract(labels, '$.plugin'))")
        }
        m.registerMigration("v3-alerts") { db in
            // Alerts posted to the Alertmanager API, by fingerprint: stored before the sender is
            // answered, so a crash after the 200 loses none (Alertmanager keeps them in memory only).
            try db.create(table: "alert") { t in
                t.primaryKey("fingerprint", .text)
                t.column("labels", .jsonText).notNull()
                t.column("annotations", .jsonText).notNull()
                t.column("startsAt", .integer).notNull()
                t.column("endsAt", .integer).notNull().indexed()
                t.column("updatedAt", .integer).notNull()
                t.column("generatorURL", .text).notNull()
                // Counted as firing into its group's incident (and not yet as resolved).
                t.column("counted", .boolean).notNull().defaults(to: false)
            }
        }
        m.registerMigration("v3-access-tokens") { db in
            // API tokens (only their SHA-256 is kept) and the nonces of acknowledgement links already
            // used, kept until the link would have expired anyway: what makes a link single use.
            try db.create(table: "api_token") { t in
                t.primaryKey("id", .text)
                t.column("hash", .text).notNull()
                t.column("role", .text).notNull()
                t.column("person", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("createdBy", .text).notNull()
                t.column("expiresAt", .integer)
                t.column("revokedAt", .integer)
            }
            try db.create(table: "ack_link_use") { t in
                t.primaryKey("nonce", .text)
                t.column("incidentID", .text).notNull()
                t.column("person", .text).notNull()
                t.column("usedAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull().indexed()
            }
        }
        SilenceSchema.register(in: &m)
        HeartbeatSchema.register(in: &m)
        m.registerMigration("v4-notification-people") { db in
            // The roster ids a notification is for: what its signed acknowledgement links name.
            try db.alter(table: "notification") { t in
                t.add(column: "people", .jsonText).notNull().defaults(to: "[]")
            }
        }
        m.registerMigration("v5-notification-routing") { db in
            // Why each notification is sent, the person it tries to reach, their methods still to
            // try should it fail, and the chain of fallbacks it belongs to: what a restart needs
            // to carry a person's fallback on, and to know when every method failed for good.
            try db.alter(table: "notification") { t in
                t.add(column: "purpose", .text)
                t.add(column: "person", .text)
                t.add(column: "fallbacks", .jsonText).notNull().defaults(to: "[]")
                t.add(column: "chain", .integer)
            }
            try db.create(index: "notification_chain", on: "notification", columns: ["chain"])
        }
        m.registerMigration("v6-incident-browsing") { db in
            // The console pages through every incident ever stored (``IncidentFilter``): newest
            // first, a page's ids come from walking this index instead of sorting the table…
            try db.create(index: "incident_created", on: "incident", columns: ["createdAt", "id"])
            // …and open first, from sorting this narrow index instead of the wide rows
            // (10,000 incidents, debug build: the last page in 8 ms instead of 15).
            try db.create(index: "incident_state_created", on: "incident", columns: ["state", "createdAt", "id"])
        }
        OnCallOverrideSchema.register(in: &m)
        m.registerMigration("v6-response-metrics") { db in
            // Response metrics look up when each incident was contained (``Store/responseTimes``):
            // one entry per incident here, not a walk of every line of every timeline.
            try db.execute(sql: """
                CREATE INDEX timeline_contained ON timeline(incidentID, time)
                WHERE kind = 'transition' AND json_extract(data, '$.to') = 'contained'
                """)
        }
        m.registerMigration("v7-action-items") { db in
            // Action items as seed 004's Phase 5 tracks them: a lifecycle, a category, success
            // criteria, dependencies on other items, an issue-tracker link.
            try db.alter(table: "actionItem") { t in
                t.add(column: "category", .text)
                t.add(column: "successCriteria", .text)
                t.add(column: "dependsOn", .jsonText).notNull().defaults(to: "[]")
                t.add(column: "trackerURL", .text)
                t.add(column: "note", .text)
                t.add(column: "updatedAt", .integer)
                t.add(column: "updatedBy", .text)
            }
            try db.create(index: "actionItem_owner", on: "actionItem", columns: ["owner", "state"])
        }
        m.registerMigration("v8-action-item-reminders") { db in
            // When the owner was reminded before the due date, and when an overdue item was
            // escalated: each is sent once.
            try db.alter(table: "actionItem") { t in
                t.add(column: "remindedAt", .integer)
                t.add(column: "escalatedAt", .integer)
            }
        }
        m.registerMigration("v9-post-mortems") { db in
            // Post-mortem documents, one row per version (an edit never overwrites one).
            try db.create(table: "postMortem") { t in
                t.column("incidentID", .text).notNull().references("incident", onDelete: .cascade)
                t.column("version", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("sections", .jsonText).notNull()
                t.column("author", .text).notNull()
                t.column("updatedAt", .integer).notNull()
                t.column("approvedBy", .text)
                t.column("note", .text)
                t.primaryKey(["incidentID", "version"])
            }
        }
        m.registerMigration("v10-recovery-watch") { db in
            // Seed 004 Phase 4: a resolved rule incident's lowered rule, watched until `until`.
            try db.create(table: "recoveryWatch") { t in
                t.primaryKey("incidentID", .text).references("incident", onDelete: .cascade)
                t.column("ruleID", .text).notNull()
                t.column("expression", .text).notNull()
                t.column("original", .text).notNull()
                t.column("startedAt", .integer).notNull()
                t.column("until", .integer).notNull()
                t.column("endedAt", .integer)
                t.column("outcome", .text)
            }
            try db.create(index: "recoveryWatch_active", on: "recoveryWatch", columns: ["until"],
                          condition: Column("endedAt") == nil)
        }
        m.registerMigration("v11-disaster-recovery") { db in
            // Disaster-recovery assessments (every one kept) and one recovery per incident:
            // the plan's steps with their progress and the RTO/RPO clock notices, as JSON.
            try db.create(table: "drAssessment") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("incidentID", .text).notNull().references("incident", onDelete: .cascade).indexed()
                t.column("assessedAt", .integer).notNull()
                t.column("recommend", .boolean).notNull()
                t.column("document", .jsonText).notNull()
            }
            try db.create(table: "drRecovery") { t in
                t.primaryKey("incidentID", .text).references("incident", onDelete: .cascade)
                t.column("status", .text).notNull().indexed()
                t.column("plan", .text).notNull()
                t.column("startedAt", .integer).notNull()
                t.column("document", .jsonText).notNull()
                t.column("report", .jsonText)
            }
        }
        ChangeSchema.register(in: &m)
        RuleSampleSchema.register(in: &m) // v13-rule-samples
        AgentSchema.register(in: &m) // v14-agents
        return m
    }
}
