//! The decisions, as pure functions of what was read: which IPs should be registered, what to change,
//! and whether it is safe to change anything at all.

use crate::error::SyncError;
use std::collections::{BTreeSet, HashSet};

/// Tag on an `ip` target group naming the ECS service that owns it: `<cluster-name>/<service-name>`.
pub const SERVICE_TAG: &str = "tg-sync:service";
/// Optional tag: the port to register targets on (default: the target group's port).
pub const PORT_TAG: &str = "tg-sync:port";
/// Optional tag: the AvailabilityZone to register targets with. `all` is needed when the tasks run
/// outside the target group's VPC (e.g. a peered VPC): ELB requires an AvailabilityZone for IP targets
/// outside the VPC (RegisterTargets, TargetDescription.AvailabilityZone).
pub const AZ_TAG: &str = "tg-sync:availability-zone";
/// Every tag a binding writes (and the only ones the template lets the function add or remove).
pub const BINDING_TAGS: [&str; 3] = [SERVICE_TAG, PORT_TAG, AZ_TAG];
/// A stopping task's event older than this is not acted on early (the reconcile that follows still
/// repairs everything): events can reach the function hours late (retries, MaximumEventAgeInSeconds),
/// and by then the task's IP may belong to a new task.
pub const MAX_EARLY_DRAIN_AGE_MS: u64 = 5 * 60 * 1000;

/// A target group bound to an ECS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub target_group_arn: String,
    pub cluster: String,
    pub service: String,
    pub port: Option<i32>,
    /// TargetDescription.AvailabilityZone for every registration (`all` for IPs outside the VPC).
    pub availability_zone: Option<String>,
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
            availability_zone: tag(AZ_TAG).filter(|az| !az.is_empty()).map(str::to_string),
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

impl TaskView {
    /// RUNNING and meant to stay RUNNING.
    pub fn is_running(&self) -> bool {
        self.last_status == "RUNNING" && self.desired_status == "RUNNING"
    }

    /// Its own verdict, when ECS gave one: HEALTHY or UNHEALTHY (UNKNOWN is no verdict).
    pub fn has_health_verdict(&self) -> bool {
        matches!(self.health.as_deref(), Some("HEALTHY") | Some("UNHEALTHY"))
    }
}

/// The private IPs of the tasks that should receive traffic: RUNNING and meant to stay RUNNING, never
/// UNHEALTHY, and HEALTHY where their task definition defines container health checks.
pub fn qualifying_ips(tasks: &[TaskView], health_checked_definitions: &HashSet<String>) -> BTreeSet<String> {
    tasks
        .iter()
        .filter(|t| t.is_running())
        .filter(|t| match t.health.as_deref() {
            Some("HEALTHY") => true,
            Some("UNHEALTHY") => false,
            _ => !health_checked_definitions.contains(&t.task_definition_arn),
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
    /// As registered (`all` for an IP outside the VPC): a deregistration names it again.
    pub availability_zone: Option<String>,
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
    pub deregister: Vec<TargetView>,
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
    let deregister =
        active.iter().filter(|t| !(desired.contains(&t.ip) && t.port == port)).map(|t| (*t).clone()).collect();
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
    pub desired_count: i32,
}

/// A binding may take a target group only if the group is unbound or already bound to the same
/// service: two bindings of one group would overwrite each other's tags, and either's Delete would
/// unbind both. `bound_to` is the group's current `tg-sync:service` tag.
pub fn check_owner(binding: &Binding, bound_to: Option<&str>) -> Result<(), SyncError> {
    match bound_to {
        Some(owner) if owner != binding.service_tag() => Err(SyncError::Refused(format!(
            "target group {} is already bound to {owner} (tag {SERVICE_TAG}): one target group can follow one \
             service; remove that binding first, or bind another target group",
            binding.target_group_arn
        ))),
        _ => Ok(()),
    }
}

/// The binding may be acted on only if none of these holds. None of them is ever fixed by writing.
pub fn check_safety(binding: &Binding, group: &TargetGroupView, service: &ServiceView) -> Result<(), SyncError> {
    if group.target_type != "ip" {
        return Err(SyncError::Refused(format!(
            "target group {} is of type {}, not ip: only ip target groups can be bound to task IPs",
            group.arn, group.target_type
        )));
    }
    if service.status != "ACTIVE" {
        return Err(SyncError::Refused(format!(
            "service {}/{} is {}, not ACTIVE: no change",
            binding.cluster, binding.service, service.status
        )));
    }
    if service.load_balancer_target_groups.iter().any(|arn| arn == &group.arn) {
        return Err(SyncError::Refused(format!(
            "service {}/{} already names target group {} in its loadBalancers (as its target group or, for a \
             blue/green deployment, its alternate one), so ECS registers its tasks there itself: refusing to \
             manage it too",
            binding.cluster, binding.service, group.arn
        )));
    }
    Ok(())
}

/// Never empty a target group because of a misread: emptying is right when nothing is meant to run
/// (scaled to zero) and when what is meant to run is not ready yet (a deployment that stops the old
/// tasks first: their targets are leaving anyway). It is refused only when the reads contradict each
/// other: a task RUNNING and meant to stay RUNNING, with no health verdict against it, has no IP to
/// register (a service not in awsvpc network mode, or an unreadable ENI attachment).
///
/// The service's runningCount is not consulted: it still counts tasks already told to stop.
pub fn check_not_emptying(
    binding: &Binding,
    service: &ServiceView,
    tasks: &[TaskView],
    desired: &BTreeSet<String>,
    diff: &Diff,
    current_active: usize,
) -> Result<(), SyncError> {
    let empties = desired.is_empty() && current_active > 0 && diff.deregister.len() == current_active;
    if !empties {
        return Ok(());
    }
    let without_ip: Vec<&str> = tasks
        .iter()
        .filter(|t| t.is_running() && t.health.as_deref() != Some("UNHEALTHY") && t.private_ip.is_none())
        .map(|t| t.arn.as_str())
        .collect();
    if without_ip.is_empty() {
        return Ok(());
    }
    Err(SyncError::Refused(format!(
        "service {}/{} (desiredCount {}) has {} running task(s) without a private IP ({}; is the network mode \
         awsvpc?): not emptying target group {}",
        binding.cluster,
        binding.service,
        service.desired_count,
        without_ip.len(),
        without_ip.join(", "),
        binding.target_group_arn
    )))
}

/// A task state change that asks for early draining: the task was told to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoppingTask {
    pub task_arn: String,
    pub ip: String,
    /// The event's `time`, in milliseconds since the epoch.
    pub event_time_ms: u64,
}

/// Whether a stopping task's IP may be deregistered now, before the reconcile: only for a recent
/// event, and only if the task, read again now, is still the one holding that IP and is still on its
/// way out (told to stop, not yet STOPPED: once STOPPED its IP is free for another task). A retried or
/// late event must never drain a new task that has since been given the same IP.
pub fn early_drain(stopping: &StoppingTask, now_ms: u64, task_now: Option<&TaskView>) -> Result<(), String> {
    let age_ms = now_ms.saturating_sub(stopping.event_time_ms);
    if age_ms > MAX_EARLY_DRAIN_AGE_MS {
        return Err(format!("the event is {} s old (limit {} s)", age_ms / 1000, MAX_EARLY_DRAIN_AGE_MS / 1000));
    }
    let Some(task) = task_now else {
        return Err(format!("task {} is no longer known to ECS", stopping.task_arn));
    };
    if task.desired_status != "STOPPED" {
        return Err(format!("task {} is now desired {}", task.arn, task.desired_status));
    }
    if task.last_status == "STOPPED" {
        return Err(format!("task {} has already stopped, so its IP may belong to another task", task.arn));
    }
    if task.private_ip.as_deref() != Some(stopping.ip.as_str()) {
        return Err(format!(
            "task {} now reports IP {}, not {}",
            task.arn,
            task.private_ip.as_deref().unwrap_or("none"),
            stopping.ip
        ));
    }
    Ok(())
}
