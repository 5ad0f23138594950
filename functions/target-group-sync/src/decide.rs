//! The decisions, as pure functions of what was read: which IPs should be registered, what to change,
//! and whether it is safe to change anything at all.

use std::collections::{BTreeSet, HashSet};

/// Tag on an `ip` target group naming the ECS service that owns it: `<cluster-name>/<service-name>`.
pub const SERVICE_TAG: &str = "tg-sync:service";
/// Optional tag: the port to register targets on (default: the target group's port).
pub const PORT_TAG: &str = "tg-sync:port";

/// A target group bound to an ECS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub target_group_arn: String,
    pub cluster: String,
    pub service: String,
    pub port: Option<i32>,
}

impl Binding {
    /// The binding a target group's tags declare, if they declare one.
    pub fn from_tags(target_group_arn: &str, tags: &[(String, String)]) -> Result<Option<Self>, String> {
        let tag = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let Some(value) = tag(SERVICE_TAG) else { return Ok(None) };
        let Some((cluster, service)) = value.split_once('/').filter(|(c, s)| !c.is_empty() && !s.is_empty()) else {
            return Err(format!(
                "{target_group_arn}: tag {SERVICE_TAG}={value:?} is not <cluster-name>/<service-name>"
            ));
        };
        let port = match tag(PORT_TAG) {
            None => None,
            Some(text) => Some(
                text.parse::<i32>()
                    .ok()
                    .filter(|p| (1..=65535).contains(p))
                    .ok_or_else(|| format!("{target_group_arn}: tag {PORT_TAG}={text:?} is not a port"))?,
            ),
        };
        Ok(Some(Binding {
            target_group_arn: target_group_arn.into(),
            cluster: cluster.into(),
            service: service.into(),
            port,
        }))
    }

    pub fn service_tag(&self) -> String {
        format!("{}/{}", self.cluster, self.service)
    }
}

impl std::fmt::Display for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}/{}", self.target_group_arn, self.cluster, self.service)
    }
}

/// The last segment of an ECS ARN, or the name itself (`arn:...:cluster/prod` → `prod`,
/// `arn:...:service/prod/web` → `web`).
pub fn ecs_name(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// What was read of one task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskView {
    pub arn: String,
    pub private_ip: Option<String>,
    pub last_status: String,
    pub desired_status: String,
    /// The task's own health (HEALTHY, UNHEALTHY, UNKNOWN), when reported.
    pub health: Option<String>,
    pub task_definition_arn: String,
}

/// The private IPs of the tasks that should receive traffic: RUNNING and meant to stay RUNNING, and
/// HEALTHY where their task definition defines container health checks.
pub fn qualifying_ips(tasks: &[TaskView], health_checked_definitions: &HashSet<String>) -> BTreeSet<String> {
    tasks
        .iter()
        .filter(|t| t.last_status == "RUNNING" && t.desired_status == "RUNNING")
        .filter(|t| {
            !health_checked_definitions.contains(&t.task_definition_arn) || t.health.as_deref() == Some("HEALTHY")
        })
        .filter_map(|t| t.private_ip.clone())
        .collect()
}

/// What was read of one registered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    pub ip: String,
    pub port: i32,
    pub state: String,
}

impl TargetView {
    /// Already leaving: neither counted nor touched.
    pub fn is_draining(&self) -> bool {
        matches!(self.state.as_str(), "draining" | "unhealthy.draining")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub register: Vec<String>,
    pub deregister: Vec<(String, i32)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.register.is_empty() && self.deregister.is_empty()
    }
}

/// Registers what is missing (on `port`) and deregisters what is extra, draining targets aside.
pub fn diff(desired: &BTreeSet<String>, current: &[TargetView], port: i32) -> Diff {
    let active: Vec<&TargetView> = current.iter().filter(|t| !t.is_draining()).collect();
    let register =
        desired.iter().filter(|ip| !active.iter().any(|t| &&t.ip == ip && t.port == port)).cloned().collect();
    let deregister = active
        .iter()
        .filter(|t| !(desired.contains(&t.ip) && t.port == port))
        .map(|t| (t.ip.clone(), t.port))
        .collect();
    Diff { register, deregister }
}

/// What was read of the target group and the service, for the safety rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupView {
    pub arn: String,
    pub target_type: String,
    pub port: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    pub status: String,
    pub load_balancer_target_groups: Vec<String>,
    pub running_count: i32,
}

/// The binding may be acted on only if none of these holds. None of them is ever fixed by writing.
pub fn check_safety(binding: &Binding, group: &TargetGroupView, service: &ServiceView) -> Result<(), String> {
    if group.target_type != "ip" {
        return Err(format!(
            "target group {} is of type {}, not ip: only ip target groups can be bound to task IPs",
            group.arn, group.target_type
        ));
    }
    if service.status != "ACTIVE" {
        return Err(format!(
            "service {}/{} is {}, not ACTIVE: no change",
            binding.cluster, binding.service, service.status
        ));
    }
    if service.load_balancer_target_groups.iter().any(|arn| arn == &group.arn) {
        return Err(format!(
            "service {}/{} already names target group {} in its loadBalancers, so ECS registers its tasks there \
             itself: refusing to manage it too",
            binding.cluster, binding.service, group.arn
        ));
    }
    Ok(())
}

/// Never empty a target group because of a misconfiguration: when the service reports running tasks
/// but none qualified, something is wrong with what was read, not with the targets.
pub fn check_not_emptying(
    binding: &Binding,
    service: &ServiceView,
    desired: &BTreeSet<String>,
    diff: &Diff,
    current_active: usize,
) -> Result<(), String> {
    let empties = desired.is_empty() && diff.deregister.len() == current_active && current_active > 0;
    if empties && service.running_count > 0 {
        return Err(format!(
            "service {}/{} reports {} running tasks but none qualified (no task IP: is the network mode awsvpc?): \
             not emptying target group {}",
            binding.cluster, binding.service, service.running_count, binding.target_group_arn
        ));
    }
    Ok(())
}
