//! `deployment-gate`: an ECS blue/green lifecycle hook that proves the new service revision through
//! the private API before production traffic moves, and rolls the deployment back when it cannot.
//!
//! - `payload`: ECS's event and hookDetails in, the answer out.
//! - `decide`: what the reads mean (pure); `aws`: the service revision's reads.
//! - The chain itself is private-api-doctor's walk and checks, not a copy.
//!
//! POST_SCALE_UP: the revision's tasks healthy in its target group. POST_TEST_TRAFFIC_SHIFT: the walk
//! with hookDetails.TestStageVariables (the test route) and one real request, reaching the revision's
//! target group. POST_PRODUCTION_TRAFFIC_SHIFT: the production walk and request. Any other stage:
//! SUCCEEDED with no AWS call (a gate must never hold up a rollback).

pub mod aws;
pub mod decide;
pub mod payload;

use decide::{Finding, Route};
use payload::{GateAnswer, GatedStage, LifecycleEvent, Proof};
use private_api_doctor::aws::Readers;
use private_api_doctor::report::Hop;
use private_api_doctor::walk::{self, Expect};
use serde_json::Value;
use shared::bounded::{self, Bounded};
use shared::clock::Clock;
use shared::sdk::SdkConfig;
use std::sync::Arc;
use std::time::Duration;

/// Kept between the answer and the invocation's end: the answer must reach ECS before Lambda's timeout.
pub const MARGIN: Duration = Duration::from_millis(1500);

/// One invocation: the answer ECS reads, within the invocation's time whatever happens, and one log
/// line with the stage, the answer and every hop's verdict.
pub async fn handle(gate: Arc<Gate>, payload: Value, deadline_ms: u64) -> Value {
    let clock = Clock::system();
    let now = (clock.now_ms() / 1000) as i64;
    // What the answer would be if the work cannot finish: known before any call is made.
    let event = LifecycleEvent::read(&payload).unwrap_or_default();
    let proof = Proof::from_hook_details(&event.hook_details).ok();
    let deadline = clock.instant_at(deadline_ms.saturating_sub(MARGIN.as_millis() as u64));
    let work = {
        let gate = gate.clone();
        async move { gate.judge(payload, now).await }
    };
    let stage = event.lifecycle_stage.clone();
    let judged = match bounded::until(deadline, work).await {
        Bounded::Done(judged) => judged,
        Bounded::Panicked(message) => {
            tracing::error!(panic = %message, "the gate panicked");
            Judged {
                answer: GateAnswer::failed(format!("Internal error: the gate panicked: {message}")),
                stage,
                hops: Vec::new(),
            }
        }
        Bounded::TimedOut => {
            // AWS did not answer in time: ask again later, within MaxWaitSeconds, rather than roll back.
            let reason = "the reads did not finish within the function's time: AWS answered slowly".to_string();
            let answer = match (&proof, GatedStage::parse(&stage)) {
                (Some(proof), Some(_)) => {
                    decide::answer(Finding::Pending(reason), &proof.clock(&stage, &event.resource_arn, now))
                }
                // A stage the gate proves nothing at passes, whatever the time: never hold up a rollback.
                (_, None) if !stage.is_empty() => GateAnswer::succeeded(format!("{stage} is not gated")),
                _ => GateAnswer::failed(reason),
            };
            Judged { answer, stage, hops: Vec::new() }
        }
    };
    let hops: Vec<String> = judged.hops.iter().map(|h| format!("{}={}", h.hop, h.verdict)).collect();
    tracing::info!(
        stage = %judged.stage,
        hook_status = ?judged.answer.hook_status,
        call_back_delay = judged.answer.call_back_delay,
        hops = %hops.join(" "),
        reason = %judged.answer.reason,
        "gate answered"
    );
    serde_json::to_value(&judged.answer).expect("an answer serialises")
}

pub struct Gate {
    readers: Readers,
    deployments: aws::Deployments,
}

/// One answer and the hops behind it (logged as one line).
#[derive(Debug)]
pub struct Judged {
    pub answer: GateAnswer,
    pub stage: String,
    pub hops: Vec<Hop>,
}

impl Gate {
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_readers(Readers::new(config))
    }

    /// ECS's revision reads share the doctor's ECS client.
    pub fn with_readers(readers: Readers) -> Self {
        let deployments = aws::Deployments { ecs: readers.ecs.clone() };
        Self { readers, deployments }
    }

    /// Judges one lifecycle event at `now` (epoch seconds). Never fails: what it cannot read or use
    /// is a FAILED with the reason.
    pub async fn judge(&self, payload: Value, now: i64) -> Judged {
        let event = match LifecycleEvent::read(&payload) {
            Ok(event) => event,
            Err(why) => return Judged { answer: GateAnswer::failed(why), stage: String::new(), hops: Vec::new() },
        };
        let stage = event.lifecycle_stage.clone();
        let judged = |answer, hops| Judged { answer, stage: stage.clone(), hops };
        let Some(gated) = GatedStage::parse(&stage) else {
            let answer = if stage.is_empty() {
                GateAnswer::failed("the event has no lifecycleStage: not an ECS lifecycle hook payload")
            } else {
                GateAnswer::succeeded(format!("{stage} is not a stage the gate proves anything at"))
            };
            return judged(answer, Vec::new());
        };
        let proof = match Proof::from_hook_details(&event.hook_details) {
            Ok(proof) => proof,
            Err(why) => return judged(GateAnswer::failed(why), Vec::new()),
        };
        let revision_arn = &event.target_service_revision_arn;
        if revision_arn.is_empty() {
            return judged(
                GateAnswer::failed(
                    "executionDetails.targetServiceRevisionArn is missing: expected the new revision's ARN",
                ),
                Vec::new(),
            );
        }
        let clock = proof.clock(&stage, &event.resource_arn, now);
        let (hops, finding) = self.prove(gated, &proof, revision_arn, &event.resource_arn).await;
        judged(decide::answer(finding, &clock), hops)
    }

    async fn prove(
        &self,
        stage: GatedStage,
        proof: &Proof,
        revision_arn: &str,
        deployment_arn: &str,
    ) -> (Vec<Hop>, Finding) {
        let route = match stage {
            GatedStage::PostScaleUp => return self.scale_up(revision_arn, deployment_arn).await,
            GatedStage::PostTestTrafficShift => Route::Test,
            GatedStage::PostProductionTrafficShift => Route::Production,
        };
        let variables = if route == Route::Test { proof.test_stage_variables.clone() } else { Default::default() };
        let expect = Expect { status: proof.expect_status, execute_api_off: false };
        let walk = walk::walk_from(&self.readers, &proof.start, &proof.path, &proof.method, &expect, &variables);
        let (report, revision) = tokio::join!(walk, self.deployments.revision(revision_arn, deployment_arn));
        let revision = match revision {
            Ok(revision) => revision,
            Err(why) => return (report.hops, decide::unreadable(format!("revision: could not be read: {why}"))),
        };
        let (reaches, finding) = decide::chain(&report, &revision, route);
        let mut hops = report.hops;
        hops.extend(reaches);
        (hops, finding)
    }

    async fn scale_up(&self, revision_arn: &str, deployment_arn: &str) -> (Vec<Hop>, Finding) {
        let revision = match self.deployments.revision(revision_arn, deployment_arn).await {
            Ok(revision) => revision,
            Err(why) => return (Vec::new(), decide::unreadable(format!("revision: could not be read: {why}"))),
        };
        let Some(group) = revision.target_groups.first() else {
            return (
                Vec::new(),
                Finding::Broken(format!(
                    "revision: {revision_arn} names no target group its tasks are in (no resolved load balancer \
                     configuration): the gate proves blue/green services behind a load balancer"
                )),
            );
        };
        match self.readers.targets(group).await {
            Ok(targets) => {
                let (hop, finding) = decide::scale_up(&revision, group, &targets);
                (vec![hop], finding)
            }
            Err(why) => (Vec::new(), decide::unreadable(format!("target-group: {group} could not be read: {why}"))),
        }
    }
}

#[cfg(test)]
mod tests;
