import VigilCore

/// What the assessor is told besides the incident: seed 000's "estimated recovery time using
/// standard procedures" and the data-loss evidence, as a person gives them.
public struct RecoveryAssessmentInput: Sendable, Equatable {
    /// Time still needed to recover with standard incident response.
    public var estimate: Duration?
    /// Data lost, as a span of time before the outage.
    public var dataLoss: Duration?
    /// The newest good recovery point (backup, checkpoint, replica position) before the outage.
    public var recoveryPoint: Timestamp?

    public init(estimate: Duration? = nil, dataLoss: Duration? = nil, recoveryPoint: Timestamp? = nil) {
        self.estimate = estimate
        self.dataLoss = dataLoss
        self.recoveryPoint = recoveryPoint
    }
}

/// Seed 000's `assess_disaster_recovery_need` and `selectRecoveryPlan`, pure: severity against
/// the tier's threshold, elapsed outage plus the estimate against the RTO, data loss against the
/// RPO, the plans that fit; a Yes/No recommendation with every reason written down.
public struct RecoveryAssessor: Sendable {
    public let policy: DisasterRecoveryPolicy
    public let ladder: SeverityLadder

    public init(policy: DisasterRecoveryPolicy, ladder: SeverityLadder) {
        self.policy = policy
        self.ladder = ladder
    }

    /// The incident's components: its classification's affected components and its `component` label.
    public static func components(of incident: Incident) -> [String] {
        var out = incident.classification?.affectedComponents ?? []
        if let c = incident.labels["component"], !out.contains(c) { out.append(c) }
        return out
    }

    /// The most critical tier among the incident's components and its `tier` label, with why.
    /// Labels can come from outside (an alert's sender), so a label may make the incident more
    /// critical than its components but never less.
    public func tier(of incident: Incident) -> (tier: RecoveryTier, why: String)? {
        let components = Self.components(of: incident)
        var best: (index: Int, why: String)?
        for c in components {
            guard let name = policy.components[c], let index = policy.tiers.firstIndex(where: { $0.name == name }) else { continue }
            if best == nil || index < (best?.index ?? .max) { best = (index, "component \(c) is \(name)") }
        }
        if let label = incident.labels["tier"], let t = policy.tier(named: label),
           let index = policy.tiers.firstIndex(where: { $0.name == t.name }), index < (best?.index ?? .max) {
            best = (index, "its tier label says \(t.name)")
        }
        if let best { return (policy.tiers[best.index], best.why) }
        if let d = policy.defaultTier, let t = policy.tier(named: d) {
            return (t, components.isEmpty ? "no component named; the default tier is \(t.name)"
                                          : "no tier for \(components.joined(separator: ", ")); the default tier is \(t.name)")
        }
        return nil
    }

    /// The plans that fit, best first, each with why (more matching conditions rank higher; file order breaks ties).
    public func plans(for incident: Incident, tier: String?) -> [(plan: RecoveryPlan, why: String)] {
        let components = Set(Self.components(of: incident))
        var scored: [(score: Int, order: Int, plan: RecoveryPlan, why: String)] = []
        for (order, plan) in policy.plans.enumerated() {
            var score = 0
            var why: [String] = []
            if !plan.tiers.isEmpty {
                guard let tier, plan.tiers.contains(tier) else { continue }
                score += 1
                why.append("tier \(tier)")
            }
            if !plan.types.isEmpty {
                guard let type = incident.type, plan.types.contains(where: { $0.lowercased() == type.lowercased() }) else { continue }
                score += 1
                why.append("type \(type)")
            }
            if !plan.components.isEmpty {
                let hit = plan.components.filter(components.contains)
                guard !hit.isEmpty else { continue }
                score += 1
                why.append("component " + hit.joined(separator: ", "))
            }
            scored.append((score, order, plan, why.isEmpty ? "applies to every incident" : "matches " + why.joined(separator: ", ")))
        }
        return scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.order < $1.order }.map { ($0.plan, $0.why) }
    }

    /// The assessment at `now`. Throws when the input is impossible (a recovery point after the
    /// outage began or in the future).
    public func assess(_ incident: Incident, input: RecoveryAssessmentInput, actor: String,
                       at now: Timestamp) throws(WorkflowError) -> RecoveryAssessment {
        if let p = input.recoveryPoint {
            guard p <= now else {
                throw .invalidArgument(field: "recovery_point", reason: "\(p.rfc3339) is in the future (now is \(now.rfc3339))")
            }
            guard p <= incident.detectedAt else {
                throw .invalidArgument(field: "recovery_point", reason: "\(p.rfc3339) is after the outage began "
                    + "(\(incident.detectedAt.rfc3339)); a recovery point is the last good state before it")
            }
        }
        if input.dataLoss != nil, input.recoveryPoint != nil {
            throw .invalidArgument(field: "data_loss", reason: "give the data loss or the recovery point, not both")
        }
        var reasons: [String] = []
        let components = Self.components(of: incident)
        let found = tier(of: incident)
        let tier = found?.tier
        let elapsed = now >= incident.detectedAt ? now - incident.detectedAt : .zero

        // 1. Severity against the tier's threshold.
        let meets: Bool
        if let tier, let threshold = ladder.severity(named: tier.severityThreshold) {
            meets = incident.severity.rank <= threshold.rank
            reasons.append("Severity \(incident.severity.code) \(meets ? "meets" : "is below") the \(tier.name) threshold "
                + "(\(threshold.code) or worse triggers disaster recovery)")
        } else {
            meets = false
            reasons.append("No service tier: " + (components.isEmpty ? "the incident names no component" :
                "no tier for \(components.joined(separator: ", "))") + " and no default tier; standard response applies")
        }
        if let found { reasons.append("Tier \(found.tier.name): \(found.why)") }

        // 2. Recovery time against the RTO.
        var rtoAtRisk = false
        if let tier {
            let rto = tier.rto
            if elapsed >= rto {
                rtoAtRisk = true
                reasons.append("RTO already breached: down \(RecoveryClockText.span(elapsed)) against an RTO of \(DurationText.format(rto))")
            } else if let estimate = input.estimate {
                let (total, overflow) = elapsed.nanoseconds.addingReportingOverflow(estimate.nanoseconds)
                let projected = Duration.nanoseconds(overflow ? .max : total)
                rtoAtRisk = projected > rto
                reasons.append("Projected recovery with standard procedures: \(RecoveryClockText.span(elapsed)) down + "
                    + "\(DurationText.format(estimate)) estimated = \(RecoveryClockText.span(projected)), "
                    + (rtoAtRisk ? "beyond" : "within") + " the RTO of \(DurationText.format(rto))")
            } else {
                reasons.append("Down \(RecoveryClockText.span(elapsed)) of an RTO of \(DurationText.format(rto)) "
                    + "(\(RecoveryClockText.span(rto - elapsed)) left); no recovery estimate given (--estimate) to project from")
            }
        }

        // 3. Data loss against the RPO.
        var dataLoss = input.dataLoss
        var source: String? = input.dataLoss == nil ? nil : "given"
        if let p = input.recoveryPoint {
            dataLoss = incident.detectedAt - p
            source = "recovery point \(p.rfc3339)"
        }
        var rpoAtRisk = false
        if let tier {
            if let loss = dataLoss {
                rpoAtRisk = loss > tier.rpo
                reasons.append("Estimated data loss \(RecoveryClockText.span(loss)) (\(source ?? "given")) is "
                    + (rpoAtRisk ? "beyond" : "within") + " the RPO of \(DurationText.format(tier.rpo))")
            } else {
                reasons.append("Data loss unknown (give --data-loss or --recovery-point); RPO is \(DurationText.format(tier.rpo))")
            }
        }

        // 4. The plans that fit, and what they involve.
        let fitting = plans(for: incident, tier: tier?.name)
        if fitting.isEmpty {
            reasons.append("No recovery plan applies" + (policy.plans.isEmpty ? " (none configured)" : ""))
        } else {
            reasons.append("Plans that apply: " + fitting.map { "\($0.plan.name) (\($0.why))" }.joined(separator: "; "))
        }
        let restoration = rpoAtRisk || incident.classification?.dataIntegrity == true
        let failover = rtoAtRisk && fitting.first?.plan.failover == true
        if restoration { reasons.append("Data restoration from backups is required") }
        if failover { reasons.append("Failover is necessary: standard recovery does not meet the RTO and the best plan fails over") }

        // 5. The recommendation.
        let recommend = meets && (rtoAtRisk || rpoAtRisk)
        if recommend {
            reasons.append("Recommendation: YES — invoke disaster recovery" + (fitting.first.map { " with plan \($0.plan.name)" } ?? ""))
        } else if meets {
            reasons.append("Recommendation: NO — standard incident response is expected to meet the RTO and RPO; reassess if that changes")
        } else {
            reasons.append("Recommendation: NO — below the severity threshold for disaster recovery")
        }
        return RecoveryAssessment(
            incidentID: incident.id, assessedAt: now, assessedBy: actor, severity: incident.severity.code,
            severityThreshold: tier?.severityThreshold, severityMeetsThreshold: meets, components: components,
            tier: tier?.name, rto: tier?.rto, rpo: tier?.rpo, outageStart: incident.detectedAt, elapsed: elapsed,
            estimate: input.estimate, dataLoss: dataLoss, dataLossSource: source, rtoAtRisk: rtoAtRisk, rpoAtRisk: rpoAtRisk,
            plans: fitting.map(\.plan.name), failoverNeeded: failover, restorationNeeded: restoration,
            recommend: recommend, reasons: reasons)
    }
}
