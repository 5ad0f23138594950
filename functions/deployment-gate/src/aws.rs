//! The gate's own reads (ECS's service revision and deployment); everything else is the doctor's
//! `Readers`.

use crate::decide::Revision;
use shared::sdk;

#[derive(Clone)]
pub struct Deployments {
    pub ecs: aws_sdk_ecs::Client,
}

impl Deployments {
    /// The new revision's target groups (DescribeServiceRevisions) and the tasks the deployment asks
    /// of it (DescribeServiceDeployments), read at once. The deployment read is best effort: without
    /// it one healthy task is required.
    pub async fn revision(&self, revision_arn: &str, deployment_arn: &str) -> Result<Revision, String> {
        let revision = self.ecs.describe_service_revisions().service_revision_arns(revision_arn).send();
        let deployment = async {
            if deployment_arn.is_empty() {
                return None;
            }
            let out = self.ecs.describe_service_deployments().service_deployment_arns(deployment_arn).send().await;
            match out {
                Ok(out) => out
                    .service_deployments()
                    .first()
                    .and_then(|d| d.target_service_revision())
                    .filter(|r| r.arn() == Some(revision_arn))
                    .map(|r| r.requested_task_count()),
                Err(err) => {
                    tracing::warn!(error = %sdk::describe(&err), "could not read the service deployment: one healthy task is required");
                    None
                }
            }
        };
        let (revision, requested_tasks) = tokio::join!(revision, deployment);
        let out = revision.map_err(|e| format!("read service revision {revision_arn}: {}", sdk::describe(&e)))?;
        let Some(found) = out.service_revisions().first() else {
            let why = out.failures().first().and_then(|f| f.reason()).unwrap_or("MISSING");
            return Err(format!("service revision {revision_arn} not found ({why})"));
        };
        // The resolved configuration names the group its tasks are in. Failing that, the declared group
        // only when it is unambiguous: a blue/green load balancer declares two, and which one holds
        // the new revision alternates from one deployment to the next.
        let mut target_groups: Vec<String> = found
            .resolved_configuration()
            .map(|c| c.load_balancers().iter().filter_map(|lb| lb.target_group_arn().map(str::to_string)).collect())
            .unwrap_or_default();
        if target_groups.is_empty() {
            target_groups = found
                .load_balancers()
                .iter()
                .filter(|lb| lb.advanced_configuration().is_none())
                .filter_map(|lb| lb.target_group_arn().map(str::to_string))
                .collect();
        }
        Ok(Revision { arn: revision_arn.to_string(), target_groups, requested_tasks })
    }
}
