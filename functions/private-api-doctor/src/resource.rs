//! `Custom::PrivateApiCheck`: the doctor as a stack's last resource. Create/Update walk the chain; any
//! FAIL is a FAILED whose Reason names the first failing hop with its evidence and fix, so the stack
//! rolls back with a cause a person can act on. While targets are still `initial` (and
//! `WaitForHealthyTargets`), it walks again every 15 s, across invocations. Delete: no AWS call.
//!
//! Properties: `DomainName`, or `RestApiId` + `StageName`; `Path` (/), `Method` (GET), `ExpectStatus`
//! (any 2xx/3xx), `ExpectExecuteApiDisabled` (false), `WaitForHealthyTargets` (true), `TimeoutSeconds`
//! (900, 1..=3600), `Trigger` (any value; changing it re-runs the check).
//! Attributes: `Verdict`, `Warnings`, `LatencyMs`, `StatusCode`.

use crate::aws::Readers;
use crate::report::{Report, Verdict};
pub use crate::walk::Start;
use crate::walk::{Expect, walk_from};
use shared::custom_resource::{Ctx, CustomResource, Failure, FromProperties, PropertyReader, Success};
use std::task::Poll;
use std::time::Duration;

pub const POLL_INTERVAL: Duration = Duration::from_secs(15);

/// The methods a request may use (API Gateway's, but ANY, which is a method key, not a request).
pub const METHODS: &[&str] = &["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub start: Start,
    pub path: String,
    pub method: String,
    pub expect: Expect,
    pub wait_for_healthy_targets: bool,
    pub timeout: Duration,
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        let domain = p.string("DomainName");
        let api = p.string("RestApiId");
        let stage = p.string("StageName");
        let start = match (domain, api, stage) {
            (Some(domain), None, None) => Start::Domain(domain),
            (None, Some(rest_api_id), Some(stage)) => Start::Api { rest_api_id, stage },
            _ => {
                p.error("Properties DomainName, or RestApiId with StageName: expected exactly one of the two");
                Start::Domain(String::new())
            }
        };
        let path = p.string("Path").unwrap_or_else(|| "/".into());
        if !path.starts_with('/') {
            p.error(format!("Property Path: expected a path starting with /, got {path:?}"));
        }
        let status = p.string("ExpectStatus").and_then(|text| match text.parse::<u16>() {
            Ok(status @ 100..=599) => Some(status),
            _ => {
                p.error(format!("Property ExpectStatus: expected an HTTP status (100-599), got {text:?}"));
                None
            }
        });
        Properties {
            start,
            path,
            method: p.one_of("Method", METHODS).unwrap_or("GET").to_string(),
            expect: Expect { status, execute_api_off: p.bool_or("ExpectExecuteApiDisabled", false) },
            wait_for_healthy_targets: p.bool_or("WaitForHealthyTargets", true),
            timeout: Duration::from_secs(p.integer_in("TimeoutSeconds", 1..=3600, 900)),
        }
    }
}

/// Targets still in their first health checks, and nothing failing but the request (which fails
/// while no target is healthy): worth walking again.
fn still_starting(report: &Report) -> bool {
    report.targets_starting && report.hops.iter().all(|h| h.verdict != Verdict::Fail || h.hop == "request")
}

pub struct PrivateApiCheck {
    readers: Readers,
}

impl PrivateApiCheck {
    pub fn new(readers: Readers) -> Self {
        Self { readers }
    }

    async fn walk_once(&self, props: &Properties) -> Report {
        let (path, method) = (&props.path, &props.method);
        walk_from(&self.readers, &props.start, path, method, &props.expect, &Default::default()).await
    }

    async fn check(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        // The last walk, for a timeout's Reason: what the targets still were.
        let last = std::sync::Mutex::new(None::<Report>);
        let waited = ctx
            .poll_until("the targets to pass their first health checks", props.timeout, POLL_INTERVAL, || async {
                let report = self.walk_once(&props).await;
                Ok(if props.wait_for_healthy_targets && still_starting(&report) {
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
                    Poll::Pending
                } else {
                    Poll::Ready(report)
                })
            })
            .await;
        let report = match waited {
            Ok(report) => report,
            Err(failure) => {
                let last = last.into_inner().unwrap_or_else(|e| e.into_inner());
                let targets = last.as_ref().and_then(|r| r.hops.iter().find(|h| h.hop == "targets"));
                return Err(match targets {
                    Some(hop) => Failure::new(format!(
                        "{} Last seen: targets: {} Fix: {}",
                        failure.reason, hop.evidence, hop.fix
                    )),
                    None => failure,
                });
            }
        };
        if let Some(reason) = report.reason() {
            return Err(Failure::new(reason));
        }
        let id = match &props.start {
            Start::Domain(domain) => format!("{domain}{}", props.path),
            Start::Api { rest_api_id, stage } => format!("{rest_api_id}/{stage}{}", props.path),
        };
        // No FAIL means the request hop ran and passed: it always has an answer here.
        let (status, latency) =
            report.request.map(|r| (r.status.to_string(), r.latency_ms.to_string())).unwrap_or_default();
        Ok(Success::new(id)
            .with("Verdict", report.verdict.to_string())
            .with("Warnings", report.warnings())
            .with("StatusCode", status)
            .with("LatencyMs", latency))
    }
}

impl CustomResource for PrivateApiCheck {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.check(ctx, props).await
    }

    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.check(ctx, props).await
    }

    /// A check owns nothing: no AWS call.
    async fn delete(&self, ctx: &Ctx, _props: Properties) -> Result<Success, Failure> {
        Ok(Success::new(ctx.physical_resource_id().unwrap_or("private-api-check")))
    }
}
