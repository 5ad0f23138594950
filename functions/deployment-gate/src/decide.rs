//! The gate's decisions, pure: what the reads mean for the deployment.
//!
//! A stage's proof is `Proven`, `Pending` (it may still come: targets in their first health checks,
//! not registered yet, or unhealthy) or `Broken` (a hop that will not mend itself: a listener gone, a
//! stage missing, the request refused). Pending answers IN_PROGRESS until MaxWaitSeconds have passed
//! since the stage's first invocation, then FAILED: ECS rolls the deployment back.

use crate::payload::{GateAnswer, StageClock};
use private_api_doctor::checks::{self, Target};
use private_api_doctor::report::{Hop, Report, Verdict};

/// How long ECS waits before asking again while a proof is pending (ECS's default is 30 s; targets'
/// first health checks take 2 intervals of 10-30 s).
pub const CALL_BACK_S: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Proven(String),
    Pending(String),
    Broken(String),
}

/// The new service revision, as its reads name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    pub arn: String,
    /// The target groups its tasks are registered in (ECS's resolved configuration).
    pub target_groups: Vec<String>,
    /// How many tasks the deployment asks of it; None when the deployment could not say.
    pub requested_tasks: Option<i32>,
}

/// The answer for a finding, given the stage's clock.
pub fn answer(finding: Finding, clock: &StageClock) -> GateAnswer {
    match finding {
        Finding::Proven(evidence) => GateAnswer::succeeded(evidence),
        Finding::Broken(reason) => GateAnswer::failed(reason),
        Finding::Pending(reason) => {
            let waited = clock.waited_s();
            if waited >= clock.max_wait_s {
                GateAnswer::failed(format!(
                    "{reason} (still so after {waited} s; MaxWaitSeconds is {})",
                    clock.max_wait_s
                ))
            } else {
                GateAnswer::in_progress(CALL_BACK_S, clock, reason)
            }
        }
    }
}

/// A read that failed: refused (AccessDenied) or answered "not there" will not mend itself; anything
/// else (throttling, a 5xx, a timeout, after the SDK's own retries) may, so it is asked again.
pub fn unreadable(reason: String) -> Finding {
    let definite = ["AccessDenied", "UnauthorizedOperation", "not found", "NotFound", "MISSING"];
    if definite.iter().any(|word| reason.contains(word)) { Finding::Broken(reason) } else { Finding::Pending(reason) }
}

/// POST_SCALE_UP: every task the revision runs registered and healthy in its target group.
pub fn scale_up(revision: &Revision, group_arn: &str, targets: &[Target]) -> (Hop, Finding) {
    if revision.requested_tasks == Some(0) {
        let evidence = format!("revision {} asks for no task: nothing to prove", short(&revision.arn));
        return (Hop::ok("targets", evidence.clone()), Finding::Proven(evidence));
    }
    let expected = revision.requested_tasks.unwrap_or(1).max(1) as usize;
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let judged = checks::targets(targets);
    let evidence = format!(
        "revision {} asks for {expected} task{}; target group {group_arn}: {}",
        short(&revision.arn),
        if expected == 1 { "" } else { "s" },
        judged.evidence
    );
    if healthy >= expected && judged.verdict == Verdict::Ok {
        return (Hop::ok("targets", evidence.clone()), Finding::Proven(format!("targets: {evidence}")));
    }
    let fix = if targets.is_empty() || targets.len() < expected {
        "the new tasks are not registered in the revision's target group: check the service's events and its \
         loadBalancers (container name and port)"
            .to_string()
    } else {
        judged.fix.clone()
    };
    let hop = Hop::fail("targets", evidence, fix);
    let reason = format!("targets: {} Fix: {}", hop.evidence, hop.fix);
    (hop, Finding::Pending(reason))
}

/// POST_TEST_TRAFFIC_SHIFT and POST_PRODUCTION_TRAFFIC_SHIFT: the walk's verdict, and whether the
/// request went to the new revision's target group. `route` says which way was meant, for the fix.
pub fn chain(report: &Report, revision: &Revision, route: Route) -> (Option<Hop>, Finding) {
    // A walk stopped by a failing hop names that hop below; a walk that got through without following
    // any target group (not a private integration) cannot show the request reaches the revision.
    let reaches = (!report.target_groups.is_empty() || report.first_failure().is_none())
        .then(|| reaches_revision(report, revision, route));
    // The wrong route first: waiting for targets on a route that does not lead to the revision is
    // waiting for nothing.
    if let Some(hop) = reaches.as_ref().filter(|h| h.verdict == Verdict::Fail) {
        return (reaches.clone(), Finding::Broken(format!("{}: {} Fix: {}", hop.hop, hop.evidence, hop.fix)));
    }
    if let Some(hop) = report.first_failure() {
        let reason = format!("{}: {} Fix: {}", hop.hop, hop.evidence, hop.fix);
        // Unhealthy targets may still pass their checks, and a read that failed may succeed next
        // time; anything else will not mend itself.
        let finding = if hop.hop == "targets" {
            Finding::Pending(reason)
        } else if hop.evidence.starts_with("could not be read") {
            unreadable(reason)
        } else {
            Finding::Broken(reason)
        };
        return (reaches, finding);
    }
    if report.targets_starting {
        return (reaches, Finding::Pending("targets: still in their first health checks (initial)".into()));
    }
    let answered = report.request.map(|r| format!(", the request answered {} in {} ms", r.status, r.latency_ms));
    let evidence = format!(
        "{} hops OK{}{}",
        report.hops.iter().filter(|h| h.verdict == Verdict::Ok).count(),
        if report.warnings() > 0 { format!(", {} warnings", report.warnings()) } else { String::new() },
        answered.unwrap_or_default()
    );
    (reaches, Finding::Proven(evidence))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Test,
    Production,
}

fn reaches_revision(report: &Report, revision: &Revision, route: Route) -> Hop {
    let walked = report.target_groups.join(", ");
    if report.target_groups.is_empty() {
        return Hop::fail(
            "revision",
            format!(
                "the request reaches no target group, so it cannot be shown to reach revision {}",
                short(&revision.arn)
            ),
            "the gate proves a private integration (VPC link to a load balancer) in front of the service",
        );
    }
    if revision.target_groups.is_empty() {
        return Hop::fail(
            "revision",
            format!(
                "revision {} names no target group its tasks are in; the request reaches {walked}",
                short(&revision.arn)
            ),
            "the gate proves blue/green services behind a load balancer: check the service's loadBalancers",
        );
    }
    if report.target_groups.iter().any(|tg| revision.target_groups.contains(tg)) {
        return Hop::ok("revision", format!("the request reaches {walked}, revision {}'s", short(&revision.arn)));
    }
    let fix = match route {
        Route::Test => {
            "the request must take the test route: set hookDetails.TestStageVariables so the integration goes \
             through the test listener (docs/deployment-gate.md)"
        }
        Route::Production => {
            "the production listener does not forward to the new revision: check the service's \
             AdvancedConfiguration.ProductionListenerRule and that the API's integration uses that listener"
        }
    };
    Hop::fail(
        "revision",
        format!(
            "the request reaches {walked}, but revision {}'s tasks are in {}",
            short(&revision.arn),
            revision.target_groups.join(", ")
        ),
        fix,
    )
}

/// A service revision's id (the ARN's last part) is enough in a reason.
fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::HookStatus;

    fn target(ip: &str, state: &str) -> Target {
        Target {
            id: ip.into(),
            port: 8443,
            state: state.into(),
            reason: (state == "initial").then(|| "Elb.InitialHealthChecking".into()),
            description: None,
        }
    }

    fn revision(tasks: i32) -> Revision {
        Revision {
            arn: "arn:aws:ecs:us-east-1:1:service-revision/prod/web/42".into(),
            target_groups: vec!["tg-green".into()],
            requested_tasks: Some(tasks),
        }
    }

    #[test]
    fn scale_up_is_proven_only_when_every_requested_task_is_healthy() {
        let healthy = [target("10.0.0.1", "healthy"), target("10.0.0.2", "healthy")];
        assert!(matches!(scale_up(&revision(2), "tg-green", &healthy).1, Finding::Proven(_)));
        let (hop, finding) = scale_up(&revision(3), "tg-green", &healthy);
        assert_eq!(hop.verdict, Verdict::Fail);
        let Finding::Pending(reason) = finding else { panic!("{finding:?}") };
        assert!(
            reason.starts_with("targets: revision 42 asks for 3 tasks; target group tg-green: 2 of 2 healthy"),
            "{reason}"
        );
        assert!(reason.contains("not registered"), "{reason}");
        let starting = [target("10.0.0.1", "healthy"), target("10.0.0.2", "initial")];
        assert!(
            matches!(scale_up(&revision(2), "tg-green", &starting).1, Finding::Pending(r) if r.contains("initial"))
        );
        assert!(
            matches!(scale_up(&revision(2), "tg-green", &[]).1, Finding::Pending(r) if r.contains("no target registered"))
        );
    }

    fn clock(started_at: i64, now: i64, max_wait_s: u64) -> StageClock {
        StageClock {
            stage: "POST_SCALE_UP".into(),
            deployment: "d1".into(),
            started_at,
            now,
            max_wait_s,
            config: Default::default(),
        }
    }

    #[test]
    fn pending_waits_until_max_wait_then_fails_and_broken_fails_at_once() {
        let pending = Finding::Pending("targets: 0 of 2 healthy".into());
        let waiting = answer(pending.clone(), &clock(1_000, 1_100, 300));
        assert_eq!((waiting.hook_status, waiting.call_back_delay), (HookStatus::InProgress, Some(CALL_BACK_S)));
        assert_eq!(waiting.hook_details["GateStartedAt"], 1_000);
        let late = answer(pending, &clock(1_000, 1_300, 300));
        assert_eq!(late.hook_status, HookStatus::Failed);
        assert_eq!(late.reason, "targets: 0 of 2 healthy (still so after 300 s; MaxWaitSeconds is 300)");
        let broken = answer(Finding::Broken("load-balancer: gone".into()), &clock(1_000, 1_000, 300));
        assert_eq!((broken.hook_status, broken.reason.as_str()), (HookStatus::Failed, "load-balancer: gone"));
        let zero = answer(Finding::Pending("x".into()), &clock(1_000, 1_000, 0));
        assert_eq!(zero.hook_status, HookStatus::Failed, "MaxWaitSeconds 0: no waiting at all");
    }

    #[test]
    fn a_read_that_failed_is_asked_again_unless_refused_or_missing() {
        assert!(matches!(unreadable("stage: could not be read: TooManyRequestsException".into()), Finding::Pending(_)));
        assert!(matches!(unreadable("stage: could not be read: service error (500)".into()), Finding::Pending(_)));
        assert!(matches!(unreadable("stage: could not be read: AccessDeniedException".into()), Finding::Broken(_)));
        assert!(matches!(unreadable("revision: service revision x not found (MISSING)".into()), Finding::Broken(_)));
        let throttled = walked(&[], vec![Hop::fail("stage", "could not be read: ThrottlingException", "retry")]);
        assert!(matches!(chain(&throttled, &revision(2), Route::Test).1, Finding::Pending(_)));
    }

    #[test]
    fn a_revision_that_asks_for_no_task_passes_scale_up() {
        assert!(
            matches!(scale_up(&revision(0), "tg-green", &[]).1, Finding::Proven(r) if r.contains("asks for no task"))
        );
    }

    fn walked(groups: &[&str], hops: Vec<Hop>) -> Report {
        Report { target_groups: groups.iter().map(|s| s.to_string()).collect(), ..Report::new(hops) }
    }

    #[test]
    fn a_chain_that_reaches_another_target_group_is_broken_with_the_route_s_fix() {
        let report = walked(&["tg-blue"], vec![Hop::ok("stage", "prod")]);
        let (hop, finding) = chain(&report, &revision(2), Route::Test);
        assert_eq!(hop.unwrap().verdict, Verdict::Fail);
        let Finding::Broken(reason) = finding else { panic!("{finding:?}") };
        assert!(
            reason.starts_with("revision: the request reaches tg-blue, but revision 42's tasks are in tg-green"),
            "{reason}"
        );
        assert!(reason.contains("TestStageVariables"), "{reason}");
        let (_, ok) = chain(&walked(&["tg-green"], vec![Hop::ok("stage", "prod")]), &revision(2), Route::Production);
        assert!(matches!(ok, Finding::Proven(_)), "{ok:?}");
    }

    #[test]
    fn a_walk_that_follows_no_target_group_proves_nothing() {
        let public = walked(&[], vec![Hop::warn("integration", "HTTP_PROXY over INTERNET", "not private")]);
        let (hop, finding) = chain(&public, &revision(2), Route::Production);
        assert_eq!(hop.unwrap().verdict, Verdict::Fail);
        assert!(
            matches!(finding, Finding::Broken(r) if r.starts_with("revision: the request reaches no target group"))
        );
        let nameless = Revision { target_groups: vec![], ..revision(2) };
        let (_, finding) = chain(&walked(&["tg-green"], vec![Hop::ok("stage", "prod")]), &nameless, Route::Test);
        assert!(matches!(finding, Finding::Broken(r) if r.contains("names no target group")), "no guessing");
    }

    #[test]
    fn a_broken_hop_is_named_and_unhealthy_or_starting_targets_are_pending() {
        let broken =
            walked(&[], vec![Hop::ok("stage", "prod"), Hop::fail("load-balancer", "no listener on 443", "add one")]);
        assert_eq!(
            chain(&broken, &revision(2), Route::Production).1,
            Finding::Broken("load-balancer: no listener on 443 Fix: add one".into())
        );
        let unhealthy = walked(&["tg-green"], vec![Hop::fail("targets", "0 of 2 healthy", "check the health check")]);
        assert!(matches!(chain(&unhealthy, &revision(2), Route::Production).1, Finding::Pending(_)));
        // Unhealthy targets on the wrong route: the route is named, at once.
        let wrong = walked(&["tg-blue"], vec![Hop::fail("targets", "0 of 2 healthy", "check the health check")]);
        assert!(
            matches!(chain(&wrong, &revision(2), Route::Test).1, Finding::Broken(r) if r.starts_with("revision: "))
        );
        let starting =
            Report { targets_starting: true, ..walked(&["tg-green"], vec![Hop::warn("targets", "initial", "wait")]) };
        assert!(
            matches!(chain(&starting, &revision(2), Route::Production).1, Finding::Pending(r) if r.contains("initial"))
        );
    }
}
