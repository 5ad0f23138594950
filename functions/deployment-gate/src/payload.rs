//! What ECS sends a Lambda lifecycle hook, and what it reads back (AWS, "Lambda hooks for Amazon ECS
//! service deployments": https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html).
//!
//! - The event: `executionId`, `lifecycleStage`, `resourceArn` (the service deployment),
//!   `executionDetails` (`serviceArn`, `targetServiceRevisionArn`, `testTrafficWeights`,
//!   `productionTrafficWeights`) and `hookDetails` (the hook's configured HookDetails, merged with what
//!   an IN_PROGRESS answer returned).
//! - The answer: `hookStatus` SUCCEEDED | FAILED | IN_PROGRESS; with IN_PROGRESS, `callBackDelay`
//!   (seconds, default 30) and `hookDetails`, passed back on the next invocation. FAILED, an error or
//!   an answer without a valid hookStatus rolls the deployment back.
//!
//! Parsed leniently (every field defaults), so a payload it cannot use becomes a FAILED with a reason,
//! never an invocation error.

use private_api_doctor::resource::METHODS;
use private_api_doctor::walk::Start;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What the gate reads of ECS's event. Only these fields; the others (executionId, the traffic weights)
/// are not needed, so no value of theirs can make an event unreadable.
#[derive(Debug, Clone, Default)]
pub struct LifecycleEvent {
    pub lifecycle_stage: String,
    /// The service deployment's ARN.
    pub resource_arn: String,
    /// executionDetails.targetServiceRevisionArn: the new (green) revision.
    pub target_service_revision_arn: String,
    /// An object; CloudFormation's HookDetails is "a JSON object as a string", so a string is parsed.
    pub hook_details: Value,
}

impl LifecycleEvent {
    /// Leniently: a field missing, null or of another type is empty. Only a payload that is not an
    /// object at all is refused.
    pub fn read(payload: &Value) -> Result<Self, String> {
        let Some(map) = payload.as_object() else {
            return Err(format!("the event is {}: expected an ECS lifecycle hook payload (an object)", kind(payload)));
        };
        let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().trim().to_string();
        Ok(Self {
            lifecycle_stage: text(map.get("lifecycleStage")),
            resource_arn: text(map.get("resourceArn")),
            target_service_revision_arn: text(
                map.get("executionDetails").and_then(|d| d.get("targetServiceRevisionArn")),
            ),
            hook_details: map.get("hookDetails").cloned().unwrap_or(Value::Null),
        })
    }
}

/// The stages the gate proves something at; every other stage is answered SUCCEEDED at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatedStage {
    /// The new revision's tasks are running: they must be healthy in its target group.
    PostScaleUp,
    /// Test traffic goes to the new revision: the chain through the test route, and one request.
    PostTestTrafficShift,
    /// Production traffic goes to the new revision: the production chain, and one request.
    PostProductionTrafficShift,
}

impl GatedStage {
    pub fn parse(stage: &str) -> Option<Self> {
        match stage {
            "POST_SCALE_UP" => Some(Self::PostScaleUp),
            "POST_TEST_TRAFFIC_SHIFT" => Some(Self::PostTestTrafficShift),
            "POST_PRODUCTION_TRAFFIC_SHIFT" => Some(Self::PostProductionTrafficShift),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

/// The function's answer, as ECS reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateAnswer {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u32>,
    /// With IN_PROGRESS: when this stage's proof began, so that MaxWaitSeconds spans invocations.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub hook_details: Map<String, Value>,
    /// Not read by ECS; in the answer for the person reading the function's logs or the console.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl GateAnswer {
    pub fn succeeded(reason: impl Into<String>) -> Self {
        Self {
            hook_status: HookStatus::Succeeded,
            call_back_delay: None,
            hook_details: Map::new(),
            reason: reason.into(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Self { hook_status: HookStatus::Failed, call_back_delay: None, hook_details: Map::new(), reason: reason.into() }
    }

    /// ECS merges `hookDetails` into the next event's; the hook's own keys are sent back too, so that
    /// even a replacing (not merging) ECS would still find them.
    pub fn in_progress(delay_s: u32, clock: &StageClock, reason: impl Into<String>) -> Self {
        let mut details = clock.config.clone();
        details.insert(STARTED_AT.into(), Value::from(clock.started_at));
        details.insert(STAGE.into(), Value::from(clock.stage.clone()));
        details.insert(DEPLOYMENT.into(), Value::from(clock.deployment.clone()));
        Self {
            hook_status: HookStatus::InProgress,
            call_back_delay: Some(delay_s),
            hook_details: details,
            reason: reason.into(),
        }
    }
}

/// When a stage's proof began and how long it may take: what MaxWaitSeconds is measured with.
#[derive(Debug, Clone, PartialEq)]
pub struct StageClock {
    pub stage: String,
    pub deployment: String,
    pub started_at: i64,
    pub now: i64,
    pub max_wait_s: u64,
    /// The hook's configured hookDetails (without the gate's own keys), echoed with IN_PROGRESS.
    pub config: Map<String, Value>,
}

impl StageClock {
    pub fn waited_s(&self) -> u64 {
        self.now.saturating_sub(self.started_at).max(0) as u64
    }
}

/// The keys the gate adds to hookDetails with IN_PROGRESS (ECS merges them into the next event's).
pub const STARTED_AT: &str = "GateStartedAt";
pub const STAGE: &str = "GateStage";
pub const DEPLOYMENT: &str = "GateDeployment";

/// What the hook's HookDetails asks the gate to prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Where the walk starts: the custom domain, or the API's stage.
    pub start: Start,
    pub path: String,
    pub method: String,
    /// None: any 2xx or 3xx.
    pub expect_status: Option<u16>,
    /// How long a stage may stay unproven (targets starting, unregistered or unhealthy) before FAILED.
    pub max_wait_s: u64,
    /// Set over the stage's variables at POST_TEST_TRAFFIC_SHIFT, so the request takes the test route.
    pub test_stage_variables: BTreeMap<String, String>,
    /// Set by an earlier IN_PROGRESS answer: (when, stage, deployment).
    pub started: Option<(i64, String, String)>,
    /// hookDetails as configured (the gate's own keys left out).
    pub config: Map<String, Value>,
}

pub const DEFAULT_MAX_WAIT_S: u64 = 300;
/// ECS's own default timeout for a hook is 24 hours; an hour is longer than any health check needs.
pub const MAX_MAX_WAIT_S: u64 = 3600;

impl Proof {
    /// Reads HookDetails; the error names the key and what was expected.
    pub fn from_hook_details(details: &Value) -> Result<Proof, String> {
        let parsed;
        let details = match details {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("hookDetails is a string that is not JSON ({e}): expected a JSON object"))?;
                &parsed
            }
            other => other,
        };
        let Some(map) = details.as_object() else {
            return Err(format!(
                "hookDetails is {}: expected an object with DomainName (or RestApiId and StageName), Path and \
                 the other keys in docs/deployment-gate.md",
                kind(details)
            ));
        };
        let text = |key: &str| -> Result<Option<String>, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(other) => Err(format!("hookDetails.{key} is {}: expected a string", kind(other))),
            }
        };
        let number = |key: &str| -> Result<Option<u64>, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => {
                    n.as_u64().map(Some).ok_or_else(|| format!("hookDetails.{key} is {n}: expected a whole number ≥ 0"))
                }
                Some(Value::String(s)) => s
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("hookDetails.{key} is {s:?}: expected a whole number ≥ 0")),
                Some(other) => Err(format!("hookDetails.{key} is {}: expected a whole number", kind(other))),
            }
        };
        let start = match (text("DomainName")?, text("RestApiId")?, text("StageName")?) {
            (Some(domain), None, None) => Start::Domain(domain.to_ascii_lowercase()),
            (None, Some(rest_api_id), Some(stage)) => Start::Api { rest_api_id, stage },
            (Some(_), _, _) => {
                return Err("hookDetails names DomainName and RestApiId/StageName: expected one of the two".into());
            }
            _ => {
                return Err("hookDetails has no API to prove: expected DomainName, or RestApiId and StageName".into());
            }
        };
        let path = text("Path")?.unwrap_or_else(|| "/".into());
        if !path.starts_with('/') {
            return Err(format!("hookDetails.Path is {path:?}: expected a path starting with /"));
        }
        let method = text("Method")?.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(format!("hookDetails.Method is {method:?}: expected an HTTP method such as GET"));
        }
        let expect_status = match number("ExpectStatus")? {
            None => None,
            Some(code @ 100..=599) => Some(code as u16),
            Some(code) => return Err(format!("hookDetails.ExpectStatus is {code}: expected an HTTP status, 100-599")),
        };
        let max_wait_s = number("MaxWaitSeconds")?.unwrap_or(DEFAULT_MAX_WAIT_S);
        if max_wait_s > MAX_MAX_WAIT_S {
            return Err(format!("hookDetails.MaxWaitSeconds is {max_wait_s}: expected at most {MAX_MAX_WAIT_S}"));
        }
        let test_stage_variables = match map.get("TestStageVariables") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(vars)) => vars
                .iter()
                .map(|(name, value)| match value {
                    Value::String(s) => Ok((name.clone(), s.clone())),
                    other => {
                        Err(format!("hookDetails.TestStageVariables.{name} is {}: expected a string", kind(other)))
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "hookDetails.TestStageVariables is {}: expected an object of stage variable names to values",
                    kind(other)
                ));
            }
        };
        // A number, or a number in a string: ECS passes back what it was given, but a string costs
        // nothing to accept.
        let at = match map.get(STARTED_AT) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let text_of = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let started = at.map(|at| (at, text_of(STAGE), text_of(DEPLOYMENT)));
        let config = map
            .iter()
            .filter(|(k, _)| ![STARTED_AT, STAGE, DEPLOYMENT].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Proof { start, path, method, expect_status, max_wait_s, test_stage_variables, started, config })
    }

    /// The clock of `stage` of `deployment` at `now`: an earlier IN_PROGRESS answer's start when it was
    /// for the same stage of the same deployment, else now.
    pub fn clock(&self, stage: &str, deployment: &str, now: i64) -> StageClock {
        let started_at = match &self.started {
            Some((at, seen_stage, seen_deployment))
                if seen_stage == stage && seen_deployment == deployment && *at <= now =>
            {
                *at
            }
            _ => now,
        };
        StageClock {
            stage: stage.to_string(),
            deployment: deployment.to_string(),
            started_at,
            now,
            max_wait_s: self.max_wait_s,
            config: self.config.clone(),
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_event_parses() {
        let payload: Value =
            serde_json::from_str(include_str!("../../../events/deployment-gate/post-test-traffic-shift.json")).unwrap();
        let event = LifecycleEvent::read(&payload).unwrap();
        assert_eq!(event.lifecycle_stage, "POST_TEST_TRAFFIC_SHIFT");
        assert_eq!(GatedStage::parse(&event.lifecycle_stage), Some(GatedStage::PostTestTrafficShift));
        assert!(event.resource_arn.contains(":service-deployment/"));
        assert!(event.target_service_revision_arn.contains(":service-revision/"));
        let proof = Proof::from_hook_details(&event.hook_details).unwrap();
        assert_eq!(proof.start, Start::Domain("api.example.com".into()));
        assert_eq!(
            proof.test_stage_variables.get("backendAuthority").map(String::as_str),
            Some("api.internal.example.com:9443")
        );
    }

    #[test]
    fn fields_the_gate_does_not_use_cannot_make_an_event_unreadable() {
        let odd = json!({"lifecycleStage": "PRE_SCALE_UP", "executionId": null, "executionDetails": {
            "testTrafficWeights": null, "productionTrafficWeights": "?", "targetServiceRevisionArn": 7}});
        let event = LifecycleEvent::read(&odd).unwrap();
        assert_eq!((event.lifecycle_stage.as_str(), event.target_service_revision_arn.as_str()), ("PRE_SCALE_UP", ""));
        assert_eq!(
            LifecycleEvent::read(&json!([1])).unwrap_err(),
            "the event is an array: expected an ECS lifecycle hook payload (an object)"
        );
    }

    #[test]
    fn hook_details_as_cloudformation_passes_them_a_json_string_parse_too() {
        let proof = Proof::from_hook_details(&json!(
            r#"{"RestApiId": "a1b2c3", "StageName": "prod", "Path": "/health", "ExpectStatus": "200", "MaxWaitSeconds": 60}"#
        ))
        .unwrap();
        assert_eq!(proof.start, Start::Api { rest_api_id: "a1b2c3".into(), stage: "prod".into() });
        assert_eq!(
            (proof.path.as_str(), proof.method.as_str(), proof.expect_status, proof.max_wait_s),
            ("/health", "GET", Some(200), 60)
        );
    }

    #[test]
    fn unreadable_hook_details_name_the_key_and_what_was_expected() {
        let cases = [
            (json!(null), "hookDetails is null: expected an object"),
            (json!("{not json"), "hookDetails is a string that is not JSON"),
            (json!({"Path": "/x"}), "hookDetails has no API to prove: expected DomainName, or RestApiId and StageName"),
            (json!({"DomainName": "a.example.com", "RestApiId": "x", "StageName": "p"}), "expected one of the two"),
            (
                json!({"DomainName": "a.example.com", "Path": "x"}),
                "hookDetails.Path is \"x\": expected a path starting with /",
            ),
            (
                json!({"DomainName": "a.example.com", "ExpectStatus": 700}),
                "hookDetails.ExpectStatus is 700: expected an HTTP status",
            ),
            (
                json!({"DomainName": "a.example.com", "MaxWaitSeconds": "soon"}),
                "hookDetails.MaxWaitSeconds is \"soon\": expected a whole number",
            ),
            (json!({"DomainName": "a.example.com", "MaxWaitSeconds": 7200}), "expected at most 3600"),
            (
                json!({"DomainName": "a.example.com", "TestStageVariables": ["x"]}),
                "hookDetails.TestStageVariables is an array",
            ),
            (
                json!({"DomainName": "a.example.com", "TestStageVariables": {"port": 8443}}),
                "hookDetails.TestStageVariables.port is a number: expected a string",
            ),
            (json!({"DomainName": 5}), "hookDetails.DomainName is a number: expected a string"),
        ];
        for (details, expected) in cases {
            let error = Proof::from_hook_details(&details).unwrap_err();
            assert!(error.contains(expected), "{details}: {error}");
        }
    }

    #[test]
    fn a_stage_s_start_is_kept_only_for_that_stage_of_that_deployment() {
        let details =
            json!({"DomainName": "a.example.com", STARTED_AT: "1000", STAGE: "POST_SCALE_UP", DEPLOYMENT: "d1"});
        let proof = Proof::from_hook_details(&details).unwrap();
        assert_eq!(proof.clock("POST_SCALE_UP", "d1", 1_100).started_at, 1_000, "a number in a string is read too");
        assert_eq!(proof.clock("POST_SCALE_UP", "d1", 1_100).waited_s(), 100);
        assert_eq!(
            proof.clock("POST_TEST_TRAFFIC_SHIFT", "d1", 1_100).started_at,
            1_100,
            "another stage starts its own clock"
        );
        assert_eq!(
            proof.clock("POST_SCALE_UP", "d2", 1_100).started_at,
            1_100,
            "another deployment starts its own clock"
        );
        assert_eq!(proof.clock("POST_SCALE_UP", "d1", 900).started_at, 900, "a start in the future is not believed");
        assert_eq!(
            proof.config,
            json!({"DomainName": "a.example.com"}).as_object().unwrap().clone(),
            "the gate's keys are not config"
        );
    }

    #[test]
    fn answers_have_ecs_field_names_and_in_progress_echoes_the_configuration() {
        let proof = Proof::from_hook_details(&json!({"DomainName": "a.example.com"})).unwrap();
        let clock = proof.clock("POST_SCALE_UP", "d1", 1_000);
        assert_eq!(
            serde_json::to_value(GateAnswer::in_progress(15, &clock, "targets starting")).unwrap(),
            json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 15,
                   "hookDetails": {"DomainName": "a.example.com", "GateStartedAt": 1_000, "GateStage": "POST_SCALE_UP",
                                   "GateDeployment": "d1"},
                   "reason": "targets starting"})
        );
        assert_eq!(serde_json::to_value(GateAnswer::succeeded("")).unwrap(), json!({"hookStatus": "SUCCEEDED"}));
        assert_eq!(
            serde_json::to_value(GateAnswer::failed("targets: none")).unwrap(),
            json!({"hookStatus": "FAILED", "reason": "targets: none"})
        );
    }
}
