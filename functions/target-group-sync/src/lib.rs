//! target-group-sync: keeps IP target groups in step with the ECS tasks actually running, the way the
//! AWS Load Balancer Controller's TargetGroupBinding does: level-triggered (compare the desired set of
//! task IPs with the registered targets and fix the difference), never trusting a single event.
//!
//! - EventBridge "ECS Task State Change" / "ECS Deployment State Change": reconcile that service's
//!   bindings (a task told to stop is deregistered at once first); "Scheduled Event": every binding.
//! - `Custom::TargetGroupBinding`: declares a binding in a stack (tags, reconcile, optional wait for healthy).
//!
//! Concurrency: the function runs with reserved concurrency 1, so reconciles never overlap; each one
//! reads everything afresh before it writes (see docs/target-group-sync-events.md).

pub mod aws;
pub mod decide;
pub mod error;
pub mod events;

pub use error::SyncError;

use aws::{Aws, Pacer};
use decide::{
    BINDING_TAGS, Binding, Diff, PORT_TAG, StoppingTask, TargetView, check_not_emptying, check_owner, check_safety,
    diff, early_drain, ecs_name, qualifying_ips,
};
use events::Trigger;
use serde_json::{Value, json};
use shared::custom_resource::{
    Ctx, CustomResource, EventHandler, Failure, FromProperties, PropertyReader, RequestType, Success,
};
use shared::sdk::SdkConfig;
use std::collections::BTreeSet;
use std::task::Poll;
use std::time::Duration;

/// DescribeTargetHealth every 10 s while waiting for healthy targets.
pub const HEALTH_POLL: Duration = Duration::from_secs(10);

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub registered: usize,
    pub deregistered: usize,
    /// Targets in the group after the reconcile, draining ones aside.
    pub targets: usize,
}

pub struct TargetGroupSync {
    aws: Aws,
}

impl TargetGroupSync {
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(
            aws_sdk_ecs::Client::new(config),
            aws_sdk_elasticloadbalancingv2::Client::new(config),
            aws_sdk_resourcegroupstagging::Client::new(config),
        )
    }

    pub fn from_clients(
        ecs: aws_sdk_ecs::Client,
        elb: aws_sdk_elasticloadbalancingv2::Client,
        tagging: aws_sdk_resourcegroupstagging::Client,
    ) -> Self {
        Self { aws: Aws { ecs, elb, tagging } }
    }

    /// One binding: read everything, decide, then write. Any failed read, and any safety rule broken,
    /// returns an error before the first write.
    pub async fn reconcile(&self, binding: &Binding) -> Result<Reconciled, SyncError> {
        let arn = &binding.target_group_arn;
        // Independent reads at once; all of them complete (or the reconcile stops) before any write.
        let (group, service, tasks, current) = tokio::try_join!(
            self.aws.target_group(arn),
            self.aws.service(&binding.cluster, &binding.service),
            self.aws.service_tasks(&binding.cluster, &binding.service),
            self.aws.targets(arn),
        )?;
        let group = group.ok_or_else(|| SyncError::NotFound(format!("target group {arn} not found")))?;
        check_safety(binding, &group, &service)?;
        // Only tasks without a verdict of their own need their definition's health checks looked up.
        let without_verdict: BTreeSet<&str> =
            tasks.iter().filter(|t| !t.has_health_verdict()).map(|t| t.task_definition_arn.as_str()).collect();
        let health_checked = self.aws.health_checked(without_verdict).await?;
        let port = binding
            .port
            .or(group.port)
            .ok_or_else(|| SyncError::Refused(format!("target group {arn} has no port; set {PORT_TAG}")))?;

        let desired = qualifying_ips(&tasks, &health_checked);
        let diff = diff(&desired, &current, port);
        let active = current.iter().filter(|t| !t.is_draining()).count();
        check_not_emptying(binding, &service, &tasks, &desired, &diff, active)?;
        self.apply(binding, &diff, port).await?;
        tracing::info!(
            binding = %binding, tasks = tasks.len(), desired = desired.len(),
            registered = diff.register.len(), deregistered = diff.deregister.len(), "reconciled"
        );
        Ok(Reconciled { registered: diff.register.len(), deregistered: diff.deregister.len(), targets: desired.len() })
    }

    /// Registers first (new tasks take traffic before old ones leave), then deregisters.
    async fn apply(&self, binding: &Binding, diff: &Diff, port: i32) -> Result<(), SyncError> {
        let mut pacer = Pacer::default();
        let zone = binding.availability_zone.as_deref();
        self.aws.register(&binding.target_group_arn, &diff.register, port, zone, &mut pacer).await?;
        self.aws.deregister(&binding.target_group_arn, &diff.deregister, &mut pacer).await
    }

    /// Reconciles each binding; one failing does not stop the others. Errors are returned together.
    async fn reconcile_all(&self, bindings: &[Binding], mut problems: Vec<String>) -> Result<Value, SyncError> {
        let total = bindings.len() + problems.len(); // unreadable binding tags count as failed bindings
        let mut done = Vec::new();
        for binding in bindings {
            match self.reconcile(binding).await {
                Ok(result) => done.push(json!({
                    "TargetGroupArn": binding.target_group_arn, "Registered": result.registered,
                    "Deregistered": result.deregistered, "Targets": result.targets
                })),
                Err(problem) => {
                    tracing::error!(binding = %binding, %problem, "reconcile failed");
                    problems.push(problem.to_string());
                }
            }
        }
        if problems.is_empty() { Ok(json!({"Reconciled": done})) } else { Err(SyncError::Bindings { total, problems }) }
    }

    /// Deregisters a stopping task's IP at once wherever it is still registered (early draining), once
    /// the task, read again, confirms it (see [`early_drain`]). Returns how many targets it deregistered.
    async fn drain_early(
        &self,
        bindings: &[Binding],
        cluster: &str,
        stopping: &StoppingTask,
    ) -> Result<usize, SyncError> {
        if bindings.is_empty() {
            return Ok(0);
        }
        // Unconfirmed is not drained; the reconcile that follows still runs.
        let task_now = match self.aws.task(cluster, &stopping.task_arn).await {
            Ok(task) => task,
            Err(problem) => {
                tracing::warn!(task_arn = %stopping.task_arn, %problem, "no early drain: the task could not be read");
                return Ok(0);
            }
        };
        if let Err(why) = early_drain(stopping, shared::clock::Clock::system().now_ms(), task_now.as_ref()) {
            tracing::info!(task_arn = %stopping.task_arn, ip = %stopping.ip, %why, "no early drain; the reconcile decides");
            return Ok(0);
        }
        let mut drained = 0;
        for binding in bindings {
            let registered: Vec<TargetView> = self
                .aws
                .targets(&binding.target_group_arn)
                .await?
                .into_iter()
                .filter(|t| t.ip == stopping.ip && !t.is_draining())
                .collect();
            if !registered.is_empty() {
                tracing::info!(binding = %binding, ip = %stopping.ip, "task told to stop: deregistering it now");
                self.aws.deregister(&binding.target_group_arn, &registered, &mut Pacer::default()).await?;
                drained += registered.len();
            }
        }
        Ok(drained)
    }

    /// Waits until every registered target (draining ones aside) is healthy.
    async fn wait_for_healthy(&self, ctx: &Ctx, arn: &str, timeout: Duration) -> Result<usize, Failure> {
        let what = format!("the targets of {arn} to be healthy");
        ctx.poll_until(&what, timeout, HEALTH_POLL, || async {
            let targets = self.aws.targets(arn).await.map_err(Failure::from)?;
            let active: Vec<_> = targets.iter().filter(|t| !t.is_draining()).collect();
            let unhealthy: Vec<String> = active
                .iter()
                .filter(|t| t.state != "healthy")
                .map(|t| format!("{}:{} {}", t.ip, t.port, t.state))
                .collect();
            if unhealthy.is_empty() {
                Ok(Poll::Ready(active.len()))
            } else {
                tracing::info!(waiting_for = ?unhealthy, "targets not healthy yet");
                Ok(Poll::Pending)
            }
        })
        .await
    }

    async fn bind(&self, ctx: &Ctx, props: &Properties) -> Result<Success, Failure> {
        let binding = props.binding();
        let arn = &binding.target_group_arn;
        // Validate before writing anything, the tags included.
        let group = self
            .aws
            .target_group(arn)
            .await
            .map_err(Failure::from)?
            .ok_or_else(|| Failure::new(format!("target group {arn} not found")))?;
        let (service, bound_to) =
            tokio::try_join!(self.aws.service(&binding.cluster, &binding.service), self.aws.bound_to(arn))
                .map_err(Failure::from)?;
        check_safety(&binding, &group, &service).map_err(Failure::from)?;
        // An Update of this same group (its PhysicalResourceId) may change the service it follows.
        let ours = ctx.request_type() == RequestType::Update && ctx.physical_resource_id() == Some(arn.as_str());
        if !ours {
            check_owner(&binding, bound_to.as_deref()).map_err(Failure::from)?;
        }
        self.aws.tag(&binding).await.map_err(Failure::from)?;
        // Tagged from here on: a failed Create, or a failed Update to another group, reports this
        // group's ARN, so the Delete CloudFormation sends on rollback unbinds it.
        let keep_id = |failure: Failure| if ours { failure } else { failure.with_physical_id(arn.as_str()) };
        let mut result = self.reconcile(&binding).await.map_err(|e| keep_id(Failure::from(e)))?;
        if props.wait_for_healthy {
            result.targets = self.wait_for_healthy(ctx, arn, props.timeout).await.map_err(keep_id)?;
        }
        Ok(Success::new(arn.as_str()).with("TargetGroupArn", arn).with("RegisteredTargets", result.targets))
    }

    /// Deregisters the group's targets while it is still tagged (the template lets the function
    /// change targets only in tagged groups), then removes the tags: a Delete that stops in between
    /// is simply done again. A group bound to another service, or no longer bound, is left alone.
    async fn unbind(&self, props: &Properties) -> Result<(), Failure> {
        let binding = props.binding();
        let arn = &binding.target_group_arn;
        if self.aws.target_group(arn).await.map_err(Failure::from)?.is_none() {
            tracing::info!(%arn, "target group is gone: nothing to unbind");
            return Ok(());
        }
        match self.aws.bound_to(arn).await.map_err(Failure::from)? {
            Some(owner) if owner == binding.service_tag() => {}
            other => {
                tracing::warn!(%arn, bound_to = ?other, "target group is not bound to this binding's service: left alone");
                return Ok(());
            }
        }
        let targets: Vec<TargetView> =
            self.aws.targets(arn).await.map_err(Failure::from)?.into_iter().filter(|t| !t.is_draining()).collect();
        self.aws.deregister(arn, &targets, &mut Pacer::default()).await.map_err(Failure::from)?;
        self.aws.untag(arn, &BINDING_TAGS).await.map_err(Failure::from)
    }
}

impl EventHandler for TargetGroupSync {
    /// An error fails the invocation, so Lambda retries the event and its on-failure destination keeps it.
    async fn handle_event(&self, event: Value) -> Result<Value, String> {
        self.handle(event).await.map_err(|err| err.to_string())
    }
}

impl From<SyncError> for Failure {
    fn from(err: SyncError) -> Self {
        Failure::new(err.to_string())
    }
}

impl TargetGroupSync {
    /// One EventBridge event: what it triggers, then the reconciles.
    pub async fn handle(&self, event: Value) -> Result<Value, SyncError> {
        match events::trigger(event).map_err(SyncError::Event)? {
            Trigger::Ignore(why) => {
                tracing::info!(%why, "event ignored");
                Ok(json!({"Ignored": why}))
            }
            Trigger::Task { cluster, service, stopping, task_arn } => {
                let (bindings, problems) = self.aws.bindings(Some(&format!("{cluster}/{service}"))).await?;
                tracing::info!(%task_arn, bindings = bindings.len(), "task state change");
                let drained = match &stopping {
                    Some(stopping) => self.drain_early(&bindings, &cluster, stopping).await?,
                    None => 0,
                };
                let mut result = self.reconcile_all(&bindings, problems).await?;
                result["DrainedEarly"] = json!(drained);
                Ok(result)
            }
            Trigger::Deployment { cluster, service, event_name } => {
                tracing::info!(%service, %event_name, "deployment state change");
                let (bindings, problems) = match &cluster {
                    Some(cluster) => self.aws.bindings(Some(&format!("{cluster}/{service}"))).await?,
                    // An old-format service ARN has no cluster: take every binding of that service name.
                    None => {
                        let (all, problems) = self.aws.bindings(None).await?;
                        (all.into_iter().filter(|b| b.service == service).collect(), problems)
                    }
                };
                self.reconcile_all(&bindings, problems).await
            }
            Trigger::Schedule => {
                let (bindings, problems) = self.aws.bindings(None).await?;
                tracing::info!(bindings = bindings.len(), "scheduled drift repair");
                self.reconcile_all(&bindings, problems).await
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub target_group_arn: String,
    pub cluster: String,
    pub service: String,
    pub port: Option<i32>,
    pub availability_zone: Option<String>,
    pub wait_for_healthy: bool,
    pub timeout: Duration,
}

impl Properties {
    fn binding(&self) -> Binding {
        Binding {
            target_group_arn: self.target_group_arn.clone(),
            cluster: ecs_name(&self.cluster).to_string(),
            service: ecs_name(&self.service).to_string(),
            port: self.port,
            availability_zone: self.availability_zone.clone(),
        }
    }
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        let target_group_arn = p.required_string("TargetGroupArn");
        if !target_group_arn.is_empty() && !target_group_arn.contains(":targetgroup/") {
            p.error(format!("Property TargetGroupArn: expected a target group ARN (arn:...:targetgroup/NAME/ID), got {target_group_arn:?}"));
        }
        Properties {
            target_group_arn,
            cluster: p.required_string("Cluster"),
            service: p.required_string("Service"),
            port: p.optional_integer_in("Port", 1..=65535).map(|port| port as i32),
            availability_zone: p.string("AvailabilityZone"),
            wait_for_healthy: p.bool_or("WaitForHealthy", false),
            timeout: Duration::from_secs(p.integer_in("TimeoutSeconds", 1..=3600, 600)),
        }
    }
}

impl CustomResource for TargetGroupSync {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.bind(ctx, &props).await
    }

    /// A new TargetGroupArn means a new PhysicalResourceId: CloudFormation then deletes the old binding.
    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.bind(ctx, &props).await
    }

    async fn delete(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.unbind(&props).await?;
        Ok(Success::new(ctx.physical_resource_id().unwrap_or(&props.target_group_arn)))
    }
}

#[cfg(test)]
mod tests;
