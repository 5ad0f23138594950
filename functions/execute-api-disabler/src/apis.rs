//! The API Gateway calls, for REST APIs (apigateway) and HTTP APIs (apigatewayv2) alike.

use crate::{Api, ApiState, StageInfo};
use aws_sdk_apigateway::types::{Op, PatchOperation};
use shared::custom_resource::Failure;
use shared::sdk;

/// One CreateDeployment's outcome, when the call did not fail outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deploy {
    Deployed(String),
    /// Still throttled after the SDK's own retries (CreateDeployment allows 1 call per 5 s per account).
    Throttled(String),
}

pub struct Apis {
    pub rest: aws_sdk_apigateway::Client,
    pub http: aws_sdk_apigatewayv2::Client,
}

impl Apis {
    /// The API's flag and stages; None when the API does not exist.
    pub async fn read(&self, api: &Api) -> Result<Option<ApiState>, Failure> {
        match api {
            Api::Rest(id) => {
                let rest_api = match self.rest.get_rest_api().rest_api_id(id).send().await {
                    Ok(found) => found,
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => return Ok(None),
                    Err(err) => return Err(unreadable(api, &sdk::describe(&err))),
                };
                let stages = self
                    .rest
                    .get_stages()
                    .rest_api_id(id)
                    .send()
                    .await
                    .map_err(|err| unreadable(api, &sdk::describe(&err)))?;
                Ok(Some(ApiState {
                    disabled: rest_api.disable_execute_api_endpoint(),
                    stages: stages
                        .item()
                        .iter()
                        .filter_map(|s| {
                            Some(StageInfo {
                                name: s.stage_name()?.to_string(),
                                auto_deploy: false,
                                deployment_id: s.deployment_id().map(str::to_string),
                            })
                        })
                        .collect(),
                }))
            }
            Api::Http(id) => {
                let http_api = match self.http.get_api().api_id(id).send().await {
                    Ok(found) => found,
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => return Ok(None),
                    Err(err) => return Err(unreadable(api, &sdk::describe(&err))),
                };
                let mut stages = Vec::new();
                let mut next_token: Option<String> = None;
                loop {
                    let page = self
                        .http
                        .get_stages()
                        .api_id(id)
                        .set_next_token(next_token.take())
                        .send()
                        .await
                        .map_err(|err| unreadable(api, &sdk::describe(&err)))?;
                    stages.extend(page.items().iter().filter_map(|s| {
                        Some(StageInfo {
                            name: s.stage_name()?.to_string(),
                            auto_deploy: s.auto_deploy().unwrap_or(false),
                            deployment_id: s.deployment_id().map(str::to_string),
                        })
                    }));
                    match page.next_token() {
                        Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                        _ => break,
                    }
                }
                Ok(Some(ApiState { disabled: http_api.disable_execute_api_endpoint().unwrap_or(false), stages }))
            }
        }
    }

    /// Sets the API's disableExecuteApiEndpoint flag (effective only once stages are redeployed).
    pub async fn set_disabled(&self, api: &Api, disabled: bool) -> Result<(), Failure> {
        let result = match api {
            Api::Rest(id) => {
                let patch = PatchOperation::builder()
                    .op(Op::Replace)
                    .path("/disableExecuteApiEndpoint")
                    .value(if disabled { "True" } else { "False" })
                    .build();
                self.rest
                    .update_rest_api()
                    .rest_api_id(id)
                    .patch_operations(patch)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| sdk::describe(&e))
            }
            Api::Http(id) => self
                .http
                .update_api()
                .api_id(id)
                .disable_execute_api_endpoint(disabled)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk::describe(&e)),
        };
        result.map_err(|why| Failure::new(format!("Could not update {api}: {why}")))
    }

    /// Points a REST stage at `deployment_id`, the deployment it already serves: an update of the
    /// stage that ships nothing new.
    pub async fn touch_stage(&self, api: &Api, stage: &str, deployment_id: &str) -> Result<(), Failure> {
        let Api::Rest(id) = api else {
            return Err(Failure::new(format!("Internal error: an in-place stage update of {api}")));
        };
        let patch = PatchOperation::builder().op(Op::Replace).path("/deploymentId").value(deployment_id).build();
        self.rest
            .update_stage()
            .rest_api_id(id)
            .stage_name(stage)
            .patch_operations(patch)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| Failure::new(format!("Could not update stage {stage} of {api}: {}", sdk::describe(&err))))
    }

    /// Deploys the API's current configuration to `stage`.
    pub async fn create_deployment(&self, api: &Api, stage: &str) -> Result<Deploy, Failure> {
        let refused = |why: String, no_methods: bool| {
            let hint = if no_methods {
                " Add at least one method with an integration to the API (and make this resource depend on it) first."
            } else {
                ""
            };
            Failure::new(format!("CreateDeployment for stage {stage} of {api} was refused: {why}.{hint}"))
        };
        match api {
            Api::Rest(id) => match self.rest.create_deployment().rest_api_id(id).stage_name(stage).send().await {
                Ok(deployment) => Ok(Deploy::Deployed(deployment.id().unwrap_or_default().to_string())),
                Err(err) if sdk::is_throttling(&err) => Ok(Deploy::Throttled(sdk::describe(&err))),
                Err(err) => {
                    let bad_request = err.as_service_error().is_some_and(|e| e.is_bad_request_exception());
                    Err(refused(sdk::describe(&err), bad_request))
                }
            },
            Api::Http(id) => match self.http.create_deployment().api_id(id).stage_name(stage).send().await {
                Ok(deployment) => Ok(Deploy::Deployed(deployment.deployment_id().unwrap_or_default().to_string())),
                Err(err) if sdk::is_throttling(&err) => Ok(Deploy::Throttled(sdk::describe(&err))),
                Err(err) => {
                    let bad_request = err.as_service_error().is_some_and(|e| e.is_bad_request_exception());
                    Err(refused(sdk::describe(&err), bad_request))
                }
            },
        }
    }
}

fn unreadable(api: &Api, why: &str) -> Failure {
    Failure::new(format!("Could not read {api}: {why}"))
}
