//! What to do, given what AWS reports: pure decisions, no AWS call.

use serde::{Deserialize, Serialize};

/// An endpoint service's private DNS name as read (DescribeVpcEndpointServiceConfigurations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDns {
    pub service_id: String,
    pub private_dns_name: Option<String>,
    /// PrivateDnsNameConfiguration: what to publish, and where verification stands.
    pub verification: Option<Verification>,
    pub network_load_balancer_arns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `TXT`.
    pub record_type: String,
    /// The record's subdomain label, e.g. `_6e86v84tqgqubxbwii1m`.
    pub name: String,
    pub value: String,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    PendingVerification,
    Verified,
    Failed,
    Other(String),
}

impl State {
    pub fn parse(text: &str) -> Self {
        match text {
            "pendingVerification" => State::PendingVerification,
            "verified" => State::Verified,
            "failed" => State::Failed,
            other => State::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            State::PendingVerification => "pendingVerification",
            State::Verified => "verified",
            State::Failed => "failed",
            State::Other(other) => other,
        }
    }
}

pub use shared::dns::{normalise as dns, zone_holds};

/// The TXT record's full name: AWS's label under the zone's domain. Verifying the domain lets the
/// service use it "or a subdomain" (PrivateLink guide, "Manage DNS names for VPC endpoint services":
/// after `_6e86v84tqgqubxbwii1m.example.com` is verified, "service consumers can use example.com or a
/// subdomain"), so the label goes under the zone's apex, which holds the name.
pub fn record_name(label: &str, zone: &str) -> String {
    format!("{}.{}", label.trim_end_matches('.'), dns(zone))
}

/// The VPC link V1 (id) that targets one of the service's load balancers (ARN), if any. AWS refuses
/// that pairing: "NLB is already associated with another VPC Endpoint Service" (API Gateway developer
/// guide, "Set up a VPC link with the AWS CLI").
pub fn v1_link_on<'a>(load_balancers: &'a [String], links: &'a [(String, Vec<String>)]) -> Option<(&'a str, &'a str)> {
    links.iter().find_map(|(id, targets)| {
        targets.iter().find(|t| load_balancers.contains(t)).map(|nlb| (id.as_str(), nlb.as_str()))
    })
}

/// How long a `failed` state left by an earlier attempt may stay after this request started a new
/// verification before it counts as this attempt's answer (AWS may not show the new attempt pending
/// between two reads).
pub const FAILED_GRACE_SECS: u64 = 120;

/// What this request has done so far (kept across invocations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// ModifyVpcEndpointServiceConfiguration was called: not again while a read still lags.
    pub name_set: bool,
    /// The record written (name, quoted value) and its Route 53 change id.
    pub written: Option<(String, String)>,
    pub change_id: Option<String>,
    pub in_sync: bool,
    /// StartVpcEndpointServicePrivateDnsVerification was called after the record was in sync.
    pub verification_started: bool,
    /// The state was `failed` (an earlier attempt) when this request started verifying: a `failed`
    /// read is then final only once AWS has shown the new attempt pending.
    pub failed_at_start: bool,
    pub pending_since_start: bool,
    /// When the verification was started, in seconds since the request's first invocation.
    pub started_at_secs: u64,
}

/// The next step, given the service as read now, the progress so far and the seconds since the
/// request's first invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The service has another private DNS name (or none): set ours.
    SetName,
    /// Write (or rewrite: AWS changed it) the TXT record `(name, quoted value)`.
    WriteRecord(String, String),
    /// Follow the record's change until INSYNC.
    AwaitRecord(String),
    StartVerification,
    /// AWS is verifying: read again later.
    Wait,
    Verified,
    /// Verification failed after this request started it.
    Failed,
}

pub fn next_step(wanted: &str, zone: &str, service: &ServiceDns, progress: &Progress, elapsed_secs: u64) -> Step {
    if service.private_dns_name.as_deref().map(dns) != Some(dns(wanted)) {
        // Set once; a read that still shows the old name lags behind the write.
        return if progress.name_set { Step::Wait } else { Step::SetName };
    }
    let Some(verification) = &service.verification else {
        // The name is set but AWS has not published what to verify yet.
        return Step::Wait;
    };
    match verification.state {
        State::Verified => return Step::Verified,
        // A failure is final only for a verification this request started; an earlier one (a
        // previous attempt, or before the record existed) is retried with the record written.
        State::Failed
            if progress.verification_started
                && (!progress.failed_at_start
                    || progress.pending_since_start
                    || elapsed_secs >= progress.started_at_secs + FAILED_GRACE_SECS) =>
        {
            return Step::Failed;
        }
        _ => {}
    }
    let record = (record_name(&verification.name, zone), shared::dns::txt_value(&verification.value));
    if progress.written.as_ref() != Some(&record) {
        return Step::WriteRecord(record.0, record.1);
    }
    match (&progress.change_id, progress.in_sync, progress.verification_started) {
        (Some(change), false, _) => Step::AwaitRecord(change.clone()),
        (_, _, false) => Step::StartVerification,
        _ => Step::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: Option<&str>, state: Option<State>) -> ServiceDns {
        ServiceDns {
            service_id: "vpce-svc-0123456789abcdef0".into(),
            private_dns_name: name.map(str::to_string),
            verification: state.map(|state| Verification {
                record_type: "TXT".into(),
                name: "_6e86v84tqgqubxbwii1m".into(),
                value: "vpce:l6p0ERxlTDkzRUHqdYQv".into(),
                state,
            }),
            network_load_balancer_arns: vec!["arn:nlb".into()],
        }
    }

    #[test]
    fn the_record_goes_under_the_zone_apex() {
        assert_eq!(record_name("_abc", "Example.com."), "_abc.example.com");
    }

    #[test]
    fn the_steps_from_a_new_name_to_verified() {
        let wanted = "service.example.com";
        let zone = "example.com";
        let mut progress = Progress::default();
        assert_eq!(next_step(wanted, zone, &service(None, None), &progress, 0), Step::SetName);
        assert_eq!(next_step(wanted, zone, &service(Some("old.example.com"), None), &progress, 0), Step::SetName);
        let pending = service(Some("SERVICE.example.com."), Some(State::PendingVerification));
        let record = ("_6e86v84tqgqubxbwii1m.example.com".to_string(), "\"vpce:l6p0ERxlTDkzRUHqdYQv\"".to_string());
        assert_eq!(
            next_step(wanted, zone, &pending, &progress, 0),
            Step::WriteRecord(record.0.clone(), record.1.clone())
        );
        progress.written = Some(record);
        progress.change_id = Some("C1".into());
        assert_eq!(next_step(wanted, zone, &pending, &progress, 0), Step::AwaitRecord("C1".into()));
        progress.in_sync = true;
        assert_eq!(next_step(wanted, zone, &pending, &progress, 0), Step::StartVerification);
        progress.verification_started = true;
        assert_eq!(next_step(wanted, zone, &pending, &progress, 0), Step::Wait);
        let verified = service(Some(wanted), Some(State::Verified));
        assert_eq!(next_step(wanted, zone, &verified, &progress, 0), Step::Verified);
    }

    #[test]
    fn a_failure_is_final_only_after_this_request_started_verifying() {
        let failed = service(Some("service.example.com"), Some(State::Failed));
        let fresh = Progress::default();
        assert!(matches!(next_step("service.example.com", "example.com", &failed, &fresh, 0), Step::WriteRecord(..)));
        let started = Progress { verification_started: true, ..fresh.clone() };
        assert_eq!(next_step("service.example.com", "example.com", &failed, &started, 0), Step::Failed);
        // Failed already when this request started: final only once the new attempt was seen pending.
        let written = ("_6e86v84tqgqubxbwii1m.example.com".to_string(), "\"vpce:l6p0ERxlTDkzRUHqdYQv\"".to_string());
        let restarted = Progress {
            written: Some(written),
            change_id: Some("C1".into()),
            in_sync: true,
            verification_started: true,
            failed_at_start: true,
            pending_since_start: false,
            started_at_secs: 30,
            ..Progress::default()
        };
        assert_eq!(next_step("service.example.com", "example.com", &failed, &restarted, 60), Step::Wait);
        // ... or once the grace has passed without AWS showing it pending.
        assert_eq!(next_step("service.example.com", "example.com", &failed, &restarted, 150), Step::Failed);
        let seen = Progress { pending_since_start: true, ..restarted };
        assert_eq!(next_step("service.example.com", "example.com", &failed, &seen, 60), Step::Failed);
    }

    #[test]
    fn the_name_is_set_once_while_reads_lag() {
        let lagging = service(Some("old.example.com"), Some(State::Verified));
        let set = Progress { name_set: true, ..Progress::default() };
        assert_eq!(next_step("service.example.com", "example.com", &lagging, &set, 0), Step::Wait);
    }

    #[test]
    fn a_changed_value_is_written_again() {
        let pending = service(Some("service.example.com"), Some(State::PendingVerification));
        let progress = Progress {
            written: Some(("_6e86v84tqgqubxbwii1m.example.com".into(), "\"an-older-value\"".into())),
            change_id: Some("C1".into()),
            in_sync: true,
            verification_started: true,
            ..Progress::default()
        };
        assert!(matches!(
            next_step("service.example.com", "example.com", &pending, &progress, 0),
            Step::WriteRecord(..)
        ));
    }

    #[test]
    fn a_v1_link_on_the_service_s_load_balancer_is_found() {
        let links =
            vec![("l1".to_string(), vec!["arn:other".to_string()]), ("l2".to_string(), vec!["arn:nlb".to_string()])];
        assert_eq!(v1_link_on(&["arn:nlb".to_string()], &links), Some(("l2", "arn:nlb")));
        assert_eq!(v1_link_on(&["arn:none".to_string()], &links), None);
    }
}
