//! The AWS calls: reads of ELB, ECS and the tagging API, and paced, batched target writes.
//! Every read error aborts before any write.

use crate::decide::{AZ_TAG, Binding, PORT_TAG, SERVICE_TAG, ServiceView, TargetGroupView, TargetView, TaskView};
use crate::error::SyncError;
use aws_sdk_elasticloadbalancingv2::types::{Tag, TargetDescription};
use aws_sdk_resourcegroupstagging::types::TagFilter;
use shared::sdk;
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// ECS: ListTasks pages and DescribeTasks batches hold at most 100.
pub const ECS_BATCH: usize = 100;
/// DescribeTasks batches read at once.
pub const DESCRIBE_CONCURRENCY: usize = 5;
/// Register/DeregisterTargets per call, as the AWS Load Balancer Controller does.
pub const TARGET_BATCH: usize = 200;
/// At most 4 write calls per second.
pub const WRITE_PACE: Duration = Duration::from_millis(250);

pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
}

/// Spaces write calls by [`WRITE_PACE`].
#[derive(Default)]
pub struct Pacer {
    last: Option<Instant>,
}

impl Pacer {
    pub async fn wait(&mut self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + WRITE_PACE).await;
        }
        self.last = Some(Instant::now());
    }
}

impl Aws {
    /// The target group, or None when it does not exist.
    pub async fn target_group(&self, arn: &str) -> Result<Option<TargetGroupView>, SyncError> {
        match self.elb.describe_target_groups().target_group_arns(arn).send().await {
            Ok(out) => Ok(out.target_groups().first().map(|group| TargetGroupView {
                arn: arn.to_string(),
                target_type: group.target_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                port: group.port(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_target_group_not_found_exception()) => Ok(None),
            Err(err) => Err(SyncError::aws(format!("read target group {arn}"), sdk::describe(&err))),
        }
    }

    /// The group's `tg-sync:service` tag: the service it is bound to, if any.
    pub async fn bound_to(&self, arn: &str) -> Result<Option<String>, SyncError> {
        bound_to(&self.elb, arn).await
    }

    /// One task as ECS reports it now; None when ECS no longer knows it.
    pub async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskView>, SyncError> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|err| SyncError::aws(format!("read task {task_arn}"), sdk::describe(&err)))?;
        Ok(out.tasks().iter().map(task_view).find(|t| t.arn == task_arn))
    }

    pub async fn service(&self, cluster: &str, service: &str) -> Result<ServiceView, SyncError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|err| SyncError::aws(format!("read service {cluster}/{service}"), sdk::describe(&err)))?;
        let Some(found) = out.services().first() else {
            let why = out.failures().first().and_then(|f| f.reason()).unwrap_or("MISSING");
            return Err(SyncError::NotFound(format!("service {cluster}/{service} not found ({why})")));
        };
        Ok(ServiceView {
            status: found.status().unwrap_or_default().to_string(),
            // A blue/green service's alternate target groups are ECS's too: it registers the new
            // revision there and shifts traffic between the two.
            load_balancer_target_groups: found
                .load_balancers()
                .iter()
                .flat_map(|lb| {
                    let alternate = lb.advanced_configuration().and_then(|a| a.alternate_target_group_arn());
                    lb.target_group_arn().into_iter().chain(alternate)
                })
                .map(str::to_string)
                .collect(),
            desired_count: found.desired_count(),
        })
    }

    /// The service's tasks meant to run: ListTasks (pages of 100) and DescribeTasks (batches of 100).
    pub async fn service_tasks(&self, cluster: &str, service: &str) -> Result<Vec<TaskView>, SyncError> {
        service_tasks(&self.ecs, cluster, service).await
    }

    /// Of these task definitions, those whose containers define a health check (one
    /// DescribeTaskDefinition per distinct definition: one or two per service).
    pub async fn health_checked(&self, definitions: BTreeSet<&str>) -> Result<HashSet<String>, SyncError> {
        let mut checked = HashSet::new();
        for arn in definitions {
            let out = self
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(|err| SyncError::aws(format!("read task definition {arn}"), sdk::describe(&err)))?;
            let has_check = out
                .task_definition()
                .is_some_and(|d| d.container_definitions().iter().any(|c| c.health_check().is_some()));
            if has_check {
                checked.insert(arn.to_string());
            }
        }
        Ok(checked)
    }

    pub async fn targets(&self, arn: &str) -> Result<Vec<TargetView>, SyncError> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|err| SyncError::aws(format!("read the targets of {arn}"), sdk::describe(&err)))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let target = d.target()?;
                Some(TargetView {
                    ip: target.id()?.to_string(),
                    port: target.port().unwrap_or_default(),
                    availability_zone: target.availability_zone().map(str::to_string),
                    state: d
                        .target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                })
            })
            .collect())
    }

    /// `availability_zone`: None lets ELB detect it (IPs inside the group's VPC); `all` for IPs outside it.
    pub async fn register(
        &self,
        arn: &str,
        ips: &[String],
        port: i32,
        availability_zone: Option<&str>,
        pacer: &mut Pacer,
    ) -> Result<(), SyncError> {
        for batch in ips.chunks(TARGET_BATCH) {
            let targets = batch
                .iter()
                .map(|ip| {
                    TargetDescription::builder()
                        .id(ip)
                        .port(port)
                        .set_availability_zone(availability_zone.map(Into::into))
                        .build()
                })
                .collect();
            pacer.wait().await;
            self.elb
                .register_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send()
                .await
                .map_err(|err| SyncError::aws(format!("register targets in {arn}"), sdk::describe(&err)))?;
        }
        Ok(())
    }

    /// Names each target as registered, its AvailabilityZone included (ELB requires it for an IP
    /// outside the VPC).
    pub async fn deregister(&self, arn: &str, targets: &[TargetView], pacer: &mut Pacer) -> Result<(), SyncError> {
        for batch in targets.chunks(TARGET_BATCH) {
            let targets = batch
                .iter()
                .map(|t| {
                    TargetDescription::builder()
                        .id(&t.ip)
                        .port(t.port)
                        .set_availability_zone(t.availability_zone.clone())
                        .build()
                })
                .collect();
            pacer.wait().await;
            self.elb
                .deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send()
                .await
                .map_err(|err| SyncError::aws(format!("deregister targets from {arn}"), sdk::describe(&err)))?;
        }
        Ok(())
    }

    /// Bindings, from the target groups' tags: one tagging-API query (paginated), not a scan of every
    /// target group. With `service` (`cluster/service`), only that service's.
    pub async fn bindings(&self, service: Option<&str>) -> Result<(Vec<Binding>, Vec<String>), SyncError> {
        let mut filter = TagFilter::builder().key(SERVICE_TAG);
        if let Some(value) = service {
            filter = filter.values(value);
        }
        let filter = filter.build();
        let mappings = self
            .tagging
            .get_resources()
            .resource_type_filters("elasticloadbalancing:targetgroup")
            .tag_filters(filter)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| SyncError::aws("find the bindings", sdk::describe(&err)))?;
        let (mut bindings, mut problems) = (Vec::new(), Vec::new());
        for mapping in &mappings {
            let arn = mapping.resource_arn().unwrap_or_default();
            let tags: Vec<(String, String)> =
                mapping.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            match Binding::from_tags(arn, &tags) {
                Ok(Some(binding)) => bindings.push(binding),
                Ok(None) => {}
                Err(problem) => problems.push(problem),
            }
        }
        Ok((bindings, problems))
    }

    /// Writes the binding's tags (and drops the optional ones it no longer has).
    pub async fn tag(&self, binding: &Binding) -> Result<(), SyncError> {
        let arn = &binding.target_group_arn;
        let optional = [(PORT_TAG, binding.port.map(|p| p.to_string())), (AZ_TAG, binding.availability_zone.clone())];
        let mut add = self
            .elb
            .add_tags()
            .resource_arns(arn)
            .tags(Tag::builder().key(SERVICE_TAG).value(binding.service_tag()).build());
        for (key, value) in &optional {
            if let Some(value) = value {
                add = add.tags(Tag::builder().key(*key).value(value).build());
            }
        }
        add.send().await.map_err(|err| SyncError::aws(format!("tag {arn}"), sdk::describe(&err)))?;
        let dropped: Vec<&str> = optional.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
        if !dropped.is_empty() {
            self.untag(arn, &dropped).await?;
        }
        Ok(())
    }

    pub async fn untag(&self, arn: &str, keys: &[&str]) -> Result<(), SyncError> {
        let mut remove = self.elb.remove_tags().resource_arns(arn);
        for key in keys {
            remove = remove.tag_keys(*key);
        }
        remove.send().await.map(|_| ()).map_err(|err| SyncError::aws(format!("untag {arn}"), sdk::describe(&err)))
    }
}

/// The group's `tg-sync:service` tag: the service it is bound to, if any (the doctor reads it too).
pub async fn bound_to(elb: &aws_sdk_elasticloadbalancingv2::Client, arn: &str) -> Result<Option<String>, SyncError> {
    let out = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(|err| SyncError::aws(format!("read the tags of {arn}"), sdk::describe(&err)))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .find(|t| t.key() == Some(SERVICE_TAG))
        .and_then(|t| t.value())
        .map(str::to_string))
}

/// The service's tasks meant to run: ListTasks (pages of 100) and DescribeTasks (batches of 100).
/// The doctor's tasks hop reads them too.
pub async fn service_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Vec<TaskView>, SyncError> {
    let fail = |err: String| SyncError::aws(format!("read the tasks of {cluster}/{service}"), err);
    let arns: Vec<String> = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
        .max_results(ECS_BATCH as i32)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| fail(sdk::describe(&err)))?;
    // Up to DESCRIBE_CONCURRENCY batches in flight: latency adds up over 10 batches for 1,000 tasks.
    let mut tasks = Vec::with_capacity(arns.len());
    let mut in_flight = tokio::task::JoinSet::new();
    let mut batches = arns.chunks(ECS_BATCH).map(<[String]>::to_vec);
    loop {
        while in_flight.len() < DESCRIBE_CONCURRENCY {
            let Some(batch) = batches.next() else { break };
            let (ecs, cluster) = (ecs.clone(), cluster.to_string());
            in_flight.spawn(async move { ecs.describe_tasks().cluster(cluster).set_tasks(Some(batch)).send().await });
        }
        let Some(joined) = in_flight.join_next().await else { break };
        let out = joined.map_err(|err| fail(err.to_string()))?.map_err(|err| fail(sdk::describe(&err)))?;
        tasks.extend(out.tasks().iter().map(task_view));
    }
    Ok(tasks)
}

fn task_view(task: &aws_sdk_ecs::types::Task) -> TaskView {
    TaskView {
        arn: task.task_arn().unwrap_or_default().to_string(),
        private_ip: task
            .attachments()
            .iter()
            .filter(|a| a.r#type() == Some("ElasticNetworkInterface"))
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value())
            .map(str::to_string),
        last_status: task.last_status().unwrap_or_default().to_string(),
        desired_status: task.desired_status().unwrap_or_default().to_string(),
        health: task.health_status().map(|h| h.as_str().to_string()),
        task_definition_arn: task.task_definition_arn().unwrap_or_default().to_string(),
    }
}
