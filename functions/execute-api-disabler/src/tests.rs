//! The disabler's decisions against SDK-level mocks: throttling, already-set flags, unknown stages,
//! HTTP APIs (moto lacks their deployments), and the restore on Delete (moto ignores a patch to "False").

use super::*;
use aws_sdk_apigateway::config::retry::RetryConfig;
use aws_sdk_apigateway::error::ErrorMetadata;
use aws_sdk_apigateway::operation::create_deployment::{CreateDeploymentError, CreateDeploymentOutput};
use aws_sdk_apigateway::operation::get_rest_api::{GetRestApiError, GetRestApiOutput};
use aws_sdk_apigateway::operation::get_stages::GetStagesOutput;
use aws_sdk_apigateway::operation::update_rest_api::{UpdateRestApiError, UpdateRestApiOutput};
use aws_sdk_apigateway::operation::update_stage::{UpdateStageError, UpdateStageOutput};
use aws_sdk_apigateway::types::Stage;
use aws_sdk_apigateway::types::error::{BadRequestException, NotFoundException, TooManyRequestsException};
use aws_sdk_apigatewayv2::operation::create_deployment::CreateDeploymentOutput as CreateDeploymentOutputV2;
use aws_sdk_apigatewayv2::operation::get_api::GetApiOutput;
use aws_sdk_apigatewayv2::operation::get_stages::GetStagesOutput as GetStagesOutputV2;
use aws_sdk_apigatewayv2::operation::update_api::UpdateApiOutput;
use aws_sdk_apigatewayv2::types::Stage as StageV2;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::{Value, json};
use shared::custom_resource::{Request, properties, testing};
use tokio::time::Instant;

fn rest_api(disabled: bool) -> GetRestApiOutput {
    GetRestApiOutput::builder().id("api1").name("private").disable_execute_api_endpoint(disabled).build()
}

fn stages(names: &[&str]) -> GetStagesOutput {
    let mut out = GetStagesOutput::builder();
    for name in names {
        out = out.item(Stage::builder().stage_name(*name).deployment_id(format!("old-{name}")).build());
    }
    out.build()
}

fn throttled() -> CreateDeploymentError {
    CreateDeploymentError::TooManyRequestsException(
        TooManyRequestsException::builder()
            .message("Too Many Requests")
            .meta(ErrorMetadata::builder().code("TooManyRequestsException").build())
            .build(),
    )
}

/// GetRestApi answers `before` until the flag is patched, `after` from then on.
fn get_rest_api(before: bool, after: bool) -> Rule {
    mock!(aws_sdk_apigateway::Client::get_rest_api)
        .sequence()
        .output(move || rest_api(before))
        .output(move || rest_api(after))
        .repeatedly()
        .build()
}

fn deployments(ids: &'static [&'static str]) -> Rule {
    let next = std::sync::atomic::AtomicUsize::new(0);
    mock!(aws_sdk_apigateway::Client::create_deployment).then_compute_output(move |_| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        CreateDeploymentOutput::builder().id(ids[n % ids.len()]).build()
    })
}

fn rest_disabler(rules: &[&Rule]) -> ExecuteApiDisabler {
    let rest = mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3)));
    let http = mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, &[]);
    ExecuteApiDisabler::from_clients(rest, http)
}

fn http_disabler(rules: &[&Rule]) -> ExecuteApiDisabler {
    let rest = mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, &[]);
    let http = mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, rules);
    ExecuteApiDisabler::from_clients(rest, http)
}

fn ctx(kind: RequestType, props: Value) -> (Ctx, Properties) {
    testing::ctx(include_str!("../../../events/execute-api-disabler/create.json"), kind, Some("api1"), props)
}

#[test]
fn properties_need_exactly_one_api() {
    let parse = |v: Value| properties::parse::<Properties>(v.as_object().unwrap()).map_err(|e| e.to_string());
    assert_eq!(
        parse(json!({"RestApiId": "a", "HttpApiId": "b"})).unwrap_err(),
        "Properties RestApiId and HttpApiId exclude each other: set exactly one"
    );
    assert_eq!(parse(json!({})).unwrap_err(), "Property RestApiId (REST API) or HttpApiId (HTTP API) is required");
    let props = parse(json!({"HttpApiId": "h1", "StageNames": ["prod"], "Disabled": "false"})).unwrap();
    assert_eq!(props.api, Api::Http("h1".into()));
    assert_eq!(props.stage_names, Some(vec!["prod".to_string()]));
    assert!(!props.disabled);
    assert!(!props.restore_on_delete, "a teardown does not re-open the endpoint unless asked");
    assert!(!props.redeploy, "stages are updated in place unless asked");
}

#[tokio::test(start_paused = true)]
async fn throttled_redeploy_is_retried_until_it_succeeds() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    // 5 throttled answers: the SDK's 3 attempts of the first call, 2 of the second, then success.
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .sequence()
        .error(throttled)
        .times(5)
        .output(|| CreateDeploymentOutput::builder().id("dep-new").build())
        .build();
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true"}));
    let started = Instant::now();
    let success = disabler.create(&ctx, props).await.unwrap();
    let took = started.elapsed();
    assert_eq!(deploy.num_calls(), 6);
    assert_eq!(update.num_calls(), 1);
    // SDK backoff (up to 1 + 2 s), our 5-6 s pause, SDK backoff again (up to 1 + 2 s).
    assert!(took >= DEPLOY_PACE && took <= Duration::from_secs(12), "throttled redeploy took {took:?}");
    eprintln!("throttled redeploy: 5 throttled answers, 6 CreateDeployment calls, {took:?}");
    assert_eq!(success.data["DeploymentIds"], "dep-new");
    assert_eq!(success.data["DisableExecuteApiEndpoint"], "true");
    assert!(ctx.active_wait().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_flag_already_set_is_not_patched_but_still_redeployed() {
    let get = get_rest_api(true, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = deployments(&["dep-dev", "dep-prod"]);
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true"}));
    let started = Instant::now();
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!(update.num_calls(), 0, "no patch");
    assert_eq!(deploy.num_calls(), 2, "still redeployed");
    assert_eq!(started.elapsed(), DEPLOY_PACE, "the second deployment waits CreateDeployment's pace");
    assert_eq!(success.physical_resource_id, "api1");
    assert_eq!(success.data["ApiId"], "api1");
    assert_eq!(success.data["Stages"], "dev,prod");
    assert_eq!(success.data["DeploymentIds"], "dep-dev,dep-prod");
}

#[tokio::test(start_paused = true)]
async fn stage_names_pick_stages_in_the_given_order() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod", "test"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .match_requests(|req| req.stage_name() == Some("prod") || req.stage_name() == Some("test"))
        .then_compute_output(|req| {
            CreateDeploymentOutput::builder().id(format!("dep-{}", req.stage_name().unwrap())).build()
        });
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) =
        ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true", "StageNames": ["test", "prod"]}));
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["Stages"], "test,prod");
    assert_eq!(success.data["DeploymentIds"], "dep-test,dep-prod");
}

#[tokio::test(start_paused = true)]
async fn an_unknown_stage_fails_naming_it_and_the_stages_there_are() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = deployments(&["x"]);
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "StageNames": ["prod", "staging"]}));
    let failure = disabler.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, "Stage staging not found in REST API api1 (its stages: dev, prod)");
    assert_eq!(failure.physical_resource_id, None, "nothing changed: the failed-create marker applies");
    assert_eq!((update.num_calls(), deploy.num_calls()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn an_api_without_stages_fails_with_what_to_do() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&[]));
    let disabler = rest_disabler(&[&get, &get_stages]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1"}));
    let failure = disabler.create(&ctx, props).await.unwrap_err();
    assert!(
        failure.reason.starts_with("REST API api1 has no stages, so the change cannot take effect"),
        "{}",
        failure.reason
    );
}

#[tokio::test(start_paused = true)]
async fn an_api_without_methods_fails_keeping_its_id_for_the_rollback() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment).then_error(|| {
        CreateDeploymentError::BadRequestException(
            BadRequestException::builder()
                .message("The REST API doesn't contain any methods")
                .meta(
                    ErrorMetadata::builder()
                        .code("BadRequestException")
                        .message("The REST API doesn't contain any methods")
                        .build(),
                )
                .build(),
        )
    });
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true"}));
    let failure = disabler.create(&ctx, props).await.unwrap_err();
    assert_eq!(
        failure.reason,
        "CreateDeployment for stage prod of REST API api1 was refused: BadRequestException: The REST API doesn't \
         contain any methods. Add at least one method with an integration to the API (and make this resource \
         depend on it) first."
    );
    assert_eq!(failure.physical_resource_id.as_deref(), Some("api1"), "the flag was patched: Delete must restore it");
}

#[tokio::test(start_paused = true)]
async fn create_for_a_missing_api_fails_naming_it() {
    let get = mock!(aws_sdk_apigateway::Client::get_rest_api).then_error(not_found);
    let disabler = rest_disabler(&[&get]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "gone1"}));
    assert_eq!(disabler.create(&ctx, props).await.unwrap_err().reason, "REST API gone1 not found");
}

fn not_found() -> GetRestApiError {
    GetRestApiError::NotFoundException(
        NotFoundException::builder()
            .message("Invalid Rest API Id specified")
            .meta(ErrorMetadata::builder().code("NotFoundException").build())
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn delete_of_an_api_that_is_gone_succeeds() {
    let get = mock!(aws_sdk_apigateway::Client::get_rest_api).then_error(not_found);
    let deploy = deployments(&["x"]);
    let disabler = rest_disabler(&[&get, &deploy]);
    let (ctx, props) = ctx(RequestType::Delete, json!({"RestApiId": "api1", "RestoreOnDelete": "true"}));
    let success = disabler.delete(&ctx, props).await.unwrap();
    assert_eq!(success.physical_resource_id, "api1");
    assert_eq!((get.num_calls(), deploy.num_calls()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn delete_restores_the_endpoint_and_redeploys_the_same_stages() {
    let get = get_rest_api(true, false);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod"]));
    let update = mock!(aws_sdk_apigateway::Client::update_rest_api)
        .match_requests(|req| {
            let ops = req.patch_operations();
            ops.len() == 1
                && ops[0].op() == Some(&aws_sdk_apigateway::types::Op::Replace)
                && ops[0].path() == Some("/disableExecuteApiEndpoint")
                && ops[0].value() == Some("False")
        })
        .then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .match_requests(|req| req.stage_name() == Some("prod"))
        .then_output(|| CreateDeploymentOutput::builder().id("dep-restored").build());
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    // "gone" no longer exists: a restore passes over it rather than block the stack's deletion.
    let (ctx, props) = ctx(
        RequestType::Delete,
        json!({"RestApiId": "api1", "RestoreOnDelete": "true", "Redeploy": "true", "StageNames": ["prod", "gone"]}),
    );
    let success = disabler.delete(&ctx, props).await.unwrap();
    assert_eq!(success.physical_resource_id, "api1");
    assert_eq!((update.num_calls(), deploy.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn delete_without_restore_makes_no_call() {
    let get = get_rest_api(true, true);
    let disabler = rest_disabler(&[&get]);
    let (ctx, props) = ctx(RequestType::Delete, json!({"RestApiId": "api1", "RestoreOnDelete": "false"}));
    assert_eq!(disabler.delete(&ctx, props).await.unwrap().physical_resource_id, "api1");
    assert_eq!(get.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_continuation_does_not_redeploy_stages_already_done() {
    let get = get_rest_api(true, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod"]));
    let deploy = mock!(aws_sdk_apigateway::Client::create_deployment)
        .match_requests(|req| req.stage_name() == Some("prod"))
        .then_output(|| CreateDeploymentOutput::builder().id("dep-prod").build());
    let disabler = rest_disabler(&[&get, &get_stages, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true"}));
    ctx.save_progress(&json!({"deployed": [["dev", "dep-dev-earlier"]]}));
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!(deploy.num_calls(), 1);
    assert_eq!(success.data["DeploymentIds"], "dep-dev-earlier,dep-prod");
}

fn http_api(disabled: bool) -> GetApiOutput {
    GetApiOutput::builder().api_id("h1").name("http").disable_execute_api_endpoint(disabled).build()
}

/// GetApi answers `before` once, `after` from then on.
fn get_http_api(before: bool, after: bool) -> Rule {
    mock!(aws_sdk_apigatewayv2::Client::get_api)
        .sequence()
        .output(move || http_api(before))
        .output(move || http_api(after))
        .repeatedly()
        .build()
}

#[tokio::test(start_paused = true)]
async fn http_api_stages_with_auto_deploy_are_not_redeployed() {
    let get = get_http_api(false, true);
    let get_stages = mock!(aws_sdk_apigatewayv2::Client::get_stages).then_output(|| {
        GetStagesOutputV2::builder()
            .items(StageV2::builder().stage_name("$default").auto_deploy(true).build())
            .items(StageV2::builder().stage_name("prod").auto_deploy(false).build())
            .build()
    });
    let update = mock!(aws_sdk_apigatewayv2::Client::update_api)
        .match_requests(|req| req.api_id() == Some("h1") && req.disable_execute_api_endpoint() == Some(true))
        .then_output(|| UpdateApiOutput::builder().build());
    let deploy = mock!(aws_sdk_apigatewayv2::Client::create_deployment)
        .match_requests(|req| req.stage_name() == Some("prod"))
        .then_output(|| CreateDeploymentOutputV2::builder().deployment_id("hdep-1").build());
    let disabler = http_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"HttpApiId": "h1"}));
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!((update.num_calls(), deploy.num_calls()), (1, 1));
    assert_eq!(success.data["Stages"], "$default,prod");
    assert_eq!(success.data["DeploymentIds"], "auto,hdep-1");
}

#[tokio::test(start_paused = true)]
async fn http_api_with_only_auto_deploy_stages_makes_no_deployment() {
    let get = get_http_api(false, true);
    let get_stages = mock!(aws_sdk_apigatewayv2::Client::get_stages).then_output(|| {
        GetStagesOutputV2::builder().items(StageV2::builder().stage_name("$default").auto_deploy(true).build()).build()
    });
    let update = mock!(aws_sdk_apigatewayv2::Client::update_api).then_output(|| UpdateApiOutput::builder().build());
    let deploy = mock!(aws_sdk_apigatewayv2::Client::create_deployment)
        .then_output(|| CreateDeploymentOutputV2::builder().deployment_id("never").build());
    let disabler = http_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"HttpApiId": "h1"}));
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!(deploy.num_calls(), 0);
    assert_eq!(success.data["DeploymentIds"], "auto");
}

#[tokio::test(start_paused = true)]
async fn a_flag_that_does_not_change_fails_the_confirmation() {
    let get = get_rest_api(false, false);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = deployments(&["dep"]);
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1", "Redeploy": "true"}));
    let failure = disabler.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, "REST API api1 still reports disableExecuteApiEndpoint=false after the update to true");
}

#[tokio::test(start_paused = true)]
async fn an_unconfirmed_restore_does_not_block_the_deletion() {
    let get = get_rest_api(true, true); // the flag reads back unchanged
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let deploy = deployments(&["dep"]);
    let disabler = rest_disabler(&[&get, &get_stages, &update, &deploy]);
    let (ctx, props) =
        ctx(RequestType::Delete, json!({"RestApiId": "api1", "RestoreOnDelete": "true", "Redeploy": "true"}));
    assert_eq!(disabler.delete(&ctx, props).await.unwrap().physical_resource_id, "api1");
    assert_eq!((update.num_calls(), deploy.num_calls()), (1, 1));
}

#[test]
fn sample_events_parse() {
    for event in [
        include_str!("../../../events/execute-api-disabler/create.json"),
        include_str!("../../../events/execute-api-disabler/update.json"),
        include_str!("../../../events/execute-api-disabler/delete.json"),
    ] {
        let request: Request = serde_json::from_str(event).unwrap();
        properties::parse::<Properties>(&request.resource_properties).unwrap();
        if let Some(old) = &request.old_resource_properties {
            properties::parse::<Properties>(old).unwrap();
        }
    }
}

fn update_stage_in_place() -> Rule {
    mock!(aws_sdk_apigateway::Client::update_stage)
        .match_requests(|req| {
            let ops = req.patch_operations();
            let name = req.stage_name().unwrap_or_default();
            ops.len() == 1
                && ops[0].op() == Some(&aws_sdk_apigateway::types::Op::Replace)
                && ops[0].path() == Some("/deploymentId")
                && ops[0].value() == Some(format!("old-{name}").as_str())
        })
        .then_output(|| UpdateStageOutput::builder().build())
}

#[tokio::test(start_paused = true)]
async fn rest_stages_take_the_change_by_an_update_in_place_without_a_new_deployment() {
    let get = get_rest_api(false, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["dev", "prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let touch = update_stage_in_place();
    let deploy = deployments(&["never"]);
    let disabler = rest_disabler(&[&get, &get_stages, &update, &touch, &deploy]);
    let (ctx, props) = ctx(RequestType::Create, json!({"RestApiId": "api1"}));
    let success = disabler.create(&ctx, props).await.unwrap();
    assert_eq!(deploy.num_calls(), 0, "nothing undeployed is shipped to the stages");
    assert_eq!(touch.num_calls(), 2, "each stage re-pointed at the deployment it already serves");
    assert_eq!(success.data["DeploymentIds"], "old-dev,old-prod", "the stages keep their deployments");
    assert_eq!(success.data["StageUpdates"], "dev:UpdateStage,prod:UpdateStage");
}

#[tokio::test(start_paused = true)]
async fn a_failing_restore_never_blocks_the_deletion() {
    let get = get_rest_api(true, true);
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let refused = mock!(aws_sdk_apigateway::Client::update_rest_api).then_error(|| {
        UpdateRestApiError::BadRequestException(
            BadRequestException::builder()
                .message("Invalid patch")
                .meta(ErrorMetadata::builder().code("BadRequestException").build())
                .build(),
        )
    });
    let disabler = rest_disabler(&[&get, &get_stages, &refused]);
    let (ctx, props) = ctx(RequestType::Delete, json!({"RestApiId": "api1", "RestoreOnDelete": "true"}));
    let success = disabler.delete(&ctx, props).await.expect("a Delete always succeeds");
    assert_eq!(success.physical_resource_id, "api1");
    assert_eq!(refused.num_calls(), 1, "the restore was tried");
}

#[tokio::test(start_paused = true)]
async fn an_update_to_another_api_that_fails_after_patching_reports_the_new_api() {
    // The resource was on api1 (its PhysicalResourceId); the Update names api2, whose stage update fails.
    let get = mock!(aws_sdk_apigateway::Client::get_rest_api)
        .sequence()
        .output(|| GetRestApiOutput::builder().id("api2").disable_execute_api_endpoint(false).build())
        .output(|| GetRestApiOutput::builder().id("api2").disable_execute_api_endpoint(true).build())
        .repeatedly()
        .build();
    let get_stages = mock!(aws_sdk_apigateway::Client::get_stages).then_output(|| stages(&["prod"]));
    let update =
        mock!(aws_sdk_apigateway::Client::update_rest_api).then_output(|| UpdateRestApiOutput::builder().build());
    let broken = mock!(aws_sdk_apigateway::Client::update_stage).then_error(|| {
        UpdateStageError::BadRequestException(
            BadRequestException::builder()
                .message("Stage is being updated")
                .meta(ErrorMetadata::builder().code("BadRequestException").build())
                .build(),
        )
    });
    let disabler = rest_disabler(&[&get, &get_stages, &update, &broken]);
    let (ctx, props) = ctx(RequestType::Update, json!({"RestApiId": "api2"}));
    assert_eq!(ctx.physical_resource_id(), Some("api1"));
    let failure = disabler.update(&ctx, props, None).await.unwrap_err();
    assert_eq!(update.num_calls(), 1, "api2 was patched");
    assert_eq!(
        failure.physical_resource_id.as_deref(),
        Some("api2"),
        "the rollback's Delete must reach api2, the API that changed: {}",
        failure.reason
    );
}
