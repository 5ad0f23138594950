//! `Custom::ExecuteApiEndpoint`: turns off an API's default `execute-api` endpoint and makes the
//! change take effect on its stages (CloudFormation sets the flag on an existing API but does not
//! touch its stages for it).
//!
//! How a stage takes the change (docs/execute-api-endpoint.md has the sources):
//! - REST API stage: an UpdateStage that points the stage at the deployment it already serves. AWS:
//!   the setting "takes effect when you update any setting on any stage, such as updating the
//!   deployment on the stage". Nothing undeployed is shipped and the stage keeps its deployment.
//!   `Redeploy: true` asks for a new deployment (CreateDeployment) instead.
//! - HTTP API stage without autoDeploy: a new deployment (AWS: "you must redeploy your API").
//! - HTTP API stage with autoDeploy: nothing (API Gateway redeploys it).
//!
//! Properties: `RestApiId` or `HttpApiId` (exactly one), `StageNames` (default: every stage),
//! `Disabled` (default true), `Redeploy` (default false), `RestoreOnDelete` (default false).
//! Attributes: `ApiId`, `DisableExecuteApiEndpoint`, `Stages`, `DeploymentIds`, `StageUpdates`.

mod apis;

pub use apis::{Apis, Deploy};
use serde::{Deserialize, Serialize};
use shared::custom_resource::{Ctx, CustomResource, Failure, FromProperties, PropertyReader, RequestType, Success};
use shared::sdk::SdkConfig;
use std::fmt;
use std::time::Duration;

/// CreateDeployment is limited to one call per 5 s per account: successive redeploys keep that pace,
/// and a throttled one waits at least that long before trying again.
pub const DEPLOY_PACE: Duration = Duration::from_secs(5);
/// The longest a throttled backoff grows to.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long the redeploys may keep being throttled before the request fails (ServiceTimeout, when
/// shorter, bounds it too).
pub const REDEPLOY_LIMIT: Duration = Duration::from_secs(900);
/// `DeploymentIds` entry of an HTTP API stage with autoDeploy, which API Gateway redeploys itself.
pub const AUTO_DEPLOYED: &str = "auto";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    Rest(String),
    Http(String),
}

impl Api {
    pub fn id(&self) -> &str {
        match self {
            Api::Rest(id) | Api::Http(id) => id,
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Api::Rest(id) => write!(f, "REST API {id}"),
            Api::Http(id) => write!(f, "HTTP API {id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub api: Api,
    pub stage_names: Option<Vec<String>>,
    pub disabled: bool,
    pub redeploy: bool,
    pub restore_on_delete: bool,
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        let rest = p.string("RestApiId");
        let http = p.string("HttpApiId");
        let api = match (rest, http) {
            (Some(id), None) => Api::Rest(id),
            (None, Some(id)) => Api::Http(id),
            (Some(_), Some(_)) => {
                p.error("Properties RestApiId and HttpApiId exclude each other: set exactly one");
                Api::Rest(String::new())
            }
            (None, None) => {
                p.error("Property RestApiId (REST API) or HttpApiId (HTTP API) is required");
                Api::Rest(String::new())
            }
        };
        Properties {
            api,
            stage_names: p.string_list("StageNames"),
            disabled: p.bool_or("Disabled", true),
            redeploy: p.bool_or("Redeploy", false),
            // Off by default: a teardown would otherwise re-open the public endpoint and deploy an API
            // that is about to be deleted (docs/execute-api-endpoint.md).
            restore_on_delete: p.bool_or("RestoreOnDelete", false),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInfo {
    pub name: String,
    pub auto_deploy: bool,
    pub deployment_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiState {
    pub disabled: bool,
    pub stages: Vec<StageInfo>,
}

/// What to do to an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Whether the flag must change.
    pub patch: bool,
    /// Target stages in order, each either redeployed by us or auto-deployed by API Gateway.
    pub stages: Vec<(String, StageAction)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageAction {
    /// UpdateStage re-pointing the stage at the deployment it already serves (REST).
    Touch { deployment_id: String },
    /// CreateDeployment to the stage.
    Redeploy,
    /// Nothing: API Gateway redeploys the stage itself (HTTP, autoDeploy).
    AutoDeployed,
}

impl StageAction {
    /// The `StageUpdates` entry: how the stage took the change.
    pub fn label(&self) -> &'static str {
        match self {
            StageAction::Touch { .. } => "UpdateStage",
            StageAction::Redeploy => "CreateDeployment",
            StageAction::AutoDeployed => "AutoDeploy",
        }
    }
}

/// The decision, given the API as it is: which flag value to write and how each stage takes it.
/// On Delete (restore), stages that no longer exist are passed over instead of failing the deletion.
pub fn plan(
    api: &Api,
    state: &ApiState,
    stage_names: Option<&[String]>,
    disabled: bool,
    redeploy: bool,
    restoring: bool,
) -> Result<Plan, Failure> {
    let known: Vec<&str> = state.stages.iter().map(|s| s.name.as_str()).collect();
    let targets: Vec<&StageInfo> = match stage_names {
        None => state.stages.iter().collect(),
        Some(names) => {
            let missing: Vec<&str> = names.iter().map(String::as_str).filter(|name| !known.contains(name)).collect();
            if !missing.is_empty() && !restoring {
                let stages = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                return Err(Failure::new(format!(
                    "Stage{} {} not found in {api} (its stages: {stages})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                )));
            }
            names.iter().filter_map(|name| state.stages.iter().find(|s| &s.name == name)).collect()
        }
    };
    if targets.is_empty() && !restoring {
        return Err(Failure::new(format!(
            "{api} has no stages, so the change cannot take effect: deploy the API to a stage first (an \
             AWS::ApiGateway::Stage or a Deployment with StageName) and make this resource depend on it"
        )));
    }
    let action = |stage: &StageInfo| match (api, &stage.deployment_id) {
        (Api::Http(_), _) if stage.auto_deploy => StageAction::AutoDeployed,
        (Api::Rest(_), Some(id)) if !redeploy => StageAction::Touch { deployment_id: id.clone() },
        _ => StageAction::Redeploy,
    };
    Ok(Plan {
        patch: state.disabled != disabled,
        stages: targets.iter().map(|s| (s.name.clone(), action(s))).collect(),
    })
}

/// Where a request got to, kept across invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    /// (stage, deployment id) of the stages redeployed so far.
    deployed: Vec<(String, String)>,
}

pub struct ExecuteApiDisabler {
    apis: Apis,
}

impl ExecuteApiDisabler {
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(aws_sdk_apigateway::Client::new(config), aws_sdk_apigatewayv2::Client::new(config))
    }

    pub fn from_clients(rest: aws_sdk_apigateway::Client, http: aws_sdk_apigatewayv2::Client) -> Self {
        Self { apis: Apis { rest, http } }
    }

    /// Sets the flag to `disabled` and redeploys the target stages so that it takes effect.
    async fn apply(&self, ctx: &Ctx, props: &Properties, disabled: bool, restoring: bool) -> Result<Success, Failure> {
        let api = &props.api;
        let Some(state) = self.apis.read(api).await? else {
            if restoring {
                tracing::info!(%api, "API is gone: nothing to restore");
                return Ok(Success::new(api.id()));
            }
            return Err(Failure::new(format!("{api} not found")));
        };
        let plan = plan(api, &state, props.stage_names.as_deref(), disabled, props.redeploy, restoring)?;
        if plan.patch {
            tracing::info!(%api, disabled, "setting disableExecuteApiEndpoint");
            self.apis.set_disabled(api, disabled).await?;
        }
        // From here on the API has changed: a failed Create, or a failed Update to another API, reports
        // this API's id, so the Delete that CloudFormation sends on rollback restores this API.
        let new_api = ctx.request_type() == RequestType::Create || ctx.physical_resource_id() != Some(api.id());
        let keep_id = |failure: Failure| if new_api { failure.with_physical_id(api.id()) } else { failure };
        let deployment_ids = self.redeploy(ctx, api, &plan).await.map_err(keep_id)?;

        let confirmed = self.apis.read(api).await.map_err(keep_id)?;
        let now = confirmed.as_ref().map(|s| s.disabled);
        if now != Some(disabled) {
            let problem = format!(
                "{api} still reports disableExecuteApiEndpoint={} after the update to {disabled}",
                now.map_or("(API gone)".to_string(), |v| v.to_string())
            );
            // A restore must not keep the stack from being deleted: say so, and let it go.
            if restoring {
                tracing::warn!(%problem, "restore not confirmed");
            } else {
                return Err(keep_id(Failure::new(problem)));
            }
        }
        let names: Vec<&str> = plan.stages.iter().map(|(name, _)| name.as_str()).collect();
        let updates: Vec<String> =
            plan.stages.iter().map(|(name, action)| format!("{name}:{}", action.label())).collect();
        Ok(Success::new(api.id())
            .with("ApiId", api.id())
            .with("DisableExecuteApiEndpoint", disabled)
            .with("Stages", names.join(","))
            .with("DeploymentIds", deployment_ids.join(","))
            .with("StageUpdates", updates.join(",")))
    }

    /// Makes each stage take the change: UpdateStage, or CreateDeployment one after another at its
    /// pace, retrying throttled calls. Progress is saved after each redeploy: a continuation picks up
    /// where this one stopped. Returns each stage's deployment id.
    async fn redeploy(&self, ctx: &Ctx, api: &Api, plan: &Plan) -> Result<Vec<String>, Failure> {
        let mut progress: Progress = ctx.progress().unwrap_or_default();
        let to_redeploy = plan.stages.iter().filter(|(_, action)| *action == StageAction::Redeploy).count();
        if to_redeploy > 0 {
            ctx.begin_wait(format!("{to_redeploy} stage(s) of {api} to redeploy"), REDEPLOY_LIMIT);
        }
        let mut ids = Vec::with_capacity(plan.stages.len());
        let mut deployed_here = false;
        for (stage, action) in &plan.stages {
            match action {
                StageAction::AutoDeployed => {
                    ids.push(AUTO_DEPLOYED.to_string());
                    continue;
                }
                StageAction::Touch { deployment_id } => {
                    self.apis.touch_stage(api, stage, deployment_id).await?;
                    tracing::info!(%api, stage, %deployment_id, "stage updated in place");
                    ids.push(deployment_id.clone());
                    continue;
                }
                StageAction::Redeploy => {}
            }
            if let Some((_, id)) = progress.deployed.iter().find(|(done, _)| done == stage) {
                ids.push(id.clone());
                continue;
            }
            if deployed_here {
                tokio::time::sleep(DEPLOY_PACE).await;
            }
            let id = self.deploy_stage(ctx, api, stage).await?;
            tracing::info!(%api, stage, deployment_id = %id, "stage redeployed");
            deployed_here = true;
            progress.deployed.push((stage.clone(), id.clone()));
            ctx.save_progress(&progress);
            ids.push(id);
        }
        ctx.end_wait();
        Ok(ids)
    }

    async fn deploy_stage(&self, ctx: &Ctx, api: &Api, stage: &str) -> Result<String, Failure> {
        let mut backoff = DEPLOY_PACE;
        loop {
            match self.apis.create_deployment(api, stage).await? {
                Deploy::Deployed(id) => return Ok(id),
                Deploy::Throttled(why) => {
                    if ctx.wait_expired() {
                        return Err(
                            ctx.wait_timed_out(&format!("CreateDeployment of stage {stage} ({why})"), REDEPLOY_LIMIT)
                        );
                    }
                    let jitter = Duration::from_millis(fastrand::u64(0..=1000));
                    tracing::warn!(%api, stage, %why, backoff_s = backoff.as_secs(), "CreateDeployment throttled; retrying");
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

impl CustomResource for ExecuteApiDisabler {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.apply(ctx, &props, props.disabled, false).await
    }

    /// A new API id means a new PhysicalResourceId: CloudFormation then sends Delete for the old API,
    /// which restores it.
    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.apply(ctx, &props, props.disabled, false).await
    }

    /// Never blocks a stack's deletion: a restore that fails (read, patch, deploy) is logged, and the
    /// Delete succeeds.
    async fn delete(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        let id = ctx.physical_resource_id().unwrap_or(props.api.id()).to_string();
        if props.restore_on_delete
            && let Err(failure) = self.apply(ctx, &props, false, true).await
        {
            tracing::warn!(api = %props.api, reason = %failure.reason, "restore on delete failed; the deletion goes on");
        }
        Ok(Success::new(id))
    }
}

#[cfg(test)]
mod tests;
