//! EventBridge events this function acts on, read into typed details of our own (aws_lambda_events
//! has no ECS types). Unknown fields are ignored; duplicates and reordering are harmless because every
//! trigger ends in a level-triggered reconcile.

use crate::decide::{StoppingTask, ecs_name};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskStateChange {
    pub cluster_arn: String,
    pub task_arn: String,
    pub group: Option<String>,
    pub last_status: Option<String>,
    pub desired_status: Option<String>,
    pub started_by: Option<String>,
    pub attachments: Vec<Attachment>,
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    pub details: Vec<NameValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

impl TaskStateChange {
    /// The service that started the task (`group` is `service:NAME`), or None for a standalone task.
    pub fn service(&self) -> Option<&str> {
        self.group.as_deref()?.strip_prefix("service:").filter(|s| !s.is_empty())
    }

    pub fn cluster(&self) -> &str {
        ecs_name(&self.cluster_arn)
    }

    /// The task's private IPv4 address from its ENI attachment.
    pub fn private_ip(&self) -> Option<&str> {
        self.attachments
            .iter()
            .filter(|a| a.kind.eq_ignore_ascii_case("eni") || a.kind == "ElasticNetworkInterface")
            .flat_map(|a| a.details.iter())
            .find(|d| d.name == "privateIPv4Address" && !d.value.is_empty())
            .map(|d| d.value.as_str())
    }

    pub fn is_stopping(&self) -> bool {
        self.desired_status.as_deref() == Some("STOPPED")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentStateChange {
    pub event_type: Option<String>,
    pub event_name: Option<String>,
    pub deployment_id: Option<String>,
    pub reason: Option<String>,
}

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A service's task changed: reconcile; a task told to stop may first be drained early (see
    /// [`crate::decide::early_drain`]).
    Task { cluster: String, service: String, stopping: Option<StoppingTask>, task_arn: String },
    /// A service's deployment changed: reconcile its bindings.
    Deployment { cluster: Option<String>, service: String, event_name: String },
    /// Reconcile every binding (drift repair).
    Schedule,
    /// Nothing to do, and why.
    Ignore(String),
}

/// The decision, given an EventBridge event.
pub fn trigger(event: Value) -> Result<Trigger, String> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(event).map_err(|err| format!("not an EventBridge event: {err}"))?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.ecs", "ECS Task State Change") => {
            let task: TaskStateChange = serde_json::from_value(event.detail)
                .map_err(|err| format!("unreadable ECS Task State Change: {err}"))?;
            let Some(service) = task.service() else {
                return Ok(Trigger::Ignore(format!("task {} was not started by a service", task.task_arn)));
            };
            // An event without a time counts as infinitely old: never drained early.
            let event_time_ms = event.time.map_or(0, |t| t.timestamp_millis().max(0) as u64);
            let stopping = match (task.is_stopping(), task.private_ip()) {
                (true, Some(ip)) => {
                    Some(StoppingTask { task_arn: task.task_arn.clone(), ip: ip.to_string(), event_time_ms })
                }
                _ => None,
            };
            Ok(Trigger::Task {
                cluster: task.cluster().to_string(),
                service: service.to_string(),
                stopping,
                task_arn: task.task_arn.clone(),
            })
        }
        ("aws.ecs", "ECS Deployment State Change") => {
            let detail: DeploymentStateChange = serde_json::from_value(event.detail).unwrap_or_default();
            // arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE (or the old service/SERVICE form).
            let Some(service_arn) = event.resources.iter().flatten().find(|r| r.contains(":service/")) else {
                return Ok(Trigger::Ignore("deployment event without a service ARN".into()));
            };
            let path = service_arn.split(":service/").nth(1).unwrap_or_default();
            let (cluster, service) = match path.split_once('/') {
                Some((cluster, service)) => (Some(cluster.to_string()), service.to_string()),
                None => (None, path.to_string()),
            };
            Ok(Trigger::Deployment { cluster, service, event_name: detail.event_name.unwrap_or_default() })
        }
        ("aws.events", "Scheduled Event") => Ok(Trigger::Schedule),
        (source, detail_type) => {
            Ok(Trigger::Ignore(format!("not an event this function acts on ({source}: {detail_type})")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str) -> Value {
        let text = match name {
            "task-running" => include_str!("../../../events/target-group-sync/task-state-change-running.json"),
            "task-stopping" => include_str!("../../../events/target-group-sync/task-state-change-stopping.json"),
            "deployment" => include_str!("../../../events/target-group-sync/deployment-state-change.json"),
            "schedule" => include_str!("../../../events/target-group-sync/scheduled-event.json"),
            _ => unreachable!(),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_running_service_task_triggers_its_service_without_early_draining() {
        assert_eq!(
            trigger(event("task-running")).unwrap(),
            Trigger::Task {
                cluster: "prod".into(),
                service: "web".into(),
                stopping: None,
                task_arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/6a3b2f0c9d8e4f1aa1b2c3d4e5f60718".into(),
            }
        );
    }

    #[test]
    fn a_task_told_to_stop_carries_its_ip_for_early_draining() {
        let Trigger::Task { stopping, service, .. } = trigger(event("task-stopping")).unwrap() else { panic!() };
        let stopping = stopping.expect("a stopping task");
        assert_eq!(stopping.ip, "10.0.1.25");
        assert_eq!(stopping.task_arn, "arn:aws:ecs:us-east-1:123456789012:task/prod/6a3b2f0c9d8e4f1aa1b2c3d4e5f60718");
        assert_eq!(stopping.event_time_ms, 1_795_350_600_000, "the event's time, 2026-11-22T12:30:00Z");
        assert_eq!(service, "web");
    }

    #[test]
    fn standalone_tasks_are_ignored() {
        let mut standalone = event("task-running");
        standalone["detail"]["group"] = json!("family:batch-job");
        assert!(matches!(trigger(standalone).unwrap(), Trigger::Ignore(_)));
    }

    #[test]
    fn unknown_fields_and_duplicates_are_tolerated() {
        let mut noisy = event("task-stopping");
        noisy["detail"]["someFutureField"] = json!({"nested": [1, 2, 3]});
        noisy["detail"]["attachments"][0]["brandNew"] = json!(true);
        noisy["newTopLevel"] = json!("x");
        let first = trigger(noisy.clone()).unwrap();
        assert_eq!(first, trigger(noisy).unwrap(), "the same event twice asks for the same thing");
        assert!(matches!(first, Trigger::Task { stopping: Some(_), .. }));
    }

    #[test]
    fn a_deployment_event_names_its_service_from_the_resources() {
        assert_eq!(
            trigger(event("deployment")).unwrap(),
            Trigger::Deployment {
                cluster: Some("prod".into()),
                service: "web".into(),
                event_name: "SERVICE_DEPLOYMENT_COMPLETED".into()
            }
        );
        let mut old_arn = event("deployment");
        old_arn["resources"] = json!(["arn:aws:ecs:us-east-1:123456789012:service/web"]);
        assert!(matches!(trigger(old_arn).unwrap(), Trigger::Deployment { cluster: None, .. }));
    }

    #[test]
    fn the_schedule_reconciles_everything_and_other_events_are_ignored() {
        assert_eq!(trigger(event("schedule")).unwrap(), Trigger::Schedule);
        let mut other = event("schedule");
        other["source"] = json!("aws.s3");
        assert!(matches!(trigger(other).unwrap(), Trigger::Ignore(_)));
        assert!(trigger(json!({"not": "an event"})).is_err());
    }
}
