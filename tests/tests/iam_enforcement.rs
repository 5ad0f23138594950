//! The tests' IAM enforcement can fail: calls outside template.yaml's policies are answered
//! AccessDenied, as AWS answers them, and never reach moto. (Every other moto and end-to-end test
//! runs its function under the same enforcement.)

use aws_sdk_elasticloadbalancingv2::types::{Tag, TargetDescription, TargetTypeEnum};
use toolkit_tests::ecs;
use toolkit_tests::moto::MotoServer;

/// The AWS error code (the same trait serves every SDK crate).
fn code<E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata>(err: &E) -> Option<&str> {
    err.code()
}

#[tokio::test]
async fn target_writes_need_the_binding_tag_at_the_moment_of_the_call() {
    let moto = MotoServer::start();
    let service = ecs::service(&moto, "prod", "web").await;
    let tg = service.target_group("web-ip", TargetTypeEnum::Ip).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.function_config("TargetGroupSyncFunction"));
    let register = || {
        elb.register_targets()
            .target_group_arn(&tg)
            .targets(TargetDescription::builder().id("10.0.0.9").port(80).build())
            .send()
    };

    // Untagged: WriteBoundTargetGroupsOnly does not apply, and nothing else allows it.
    let err = register().await.expect_err("an untagged group is not the function's to write");
    let service_error = err.as_service_error().expect("a service error");
    assert_eq!(code(service_error), Some("AccessDenied"), "{service_error:?}");
    assert!(service.targets(&tg).await.is_empty(), "a denied call never reaches moto");

    // Bound (tagged by the fixture): allowed.
    service.tag_binding(&tg, "prod/web").await;
    register().await.expect("a bound group's targets are the function's to write");
    assert_eq!(service.targets(&tg).await, vec![("10.0.0.9".to_string(), 80)]);

    // The old Delete order: untag first, then deregister. The deregistration is denied.
    elb.remove_tags()
        .resource_arns(&tg)
        .tag_keys("tg-sync:service")
        .send()
        .await
        .expect("the binding tags are its own");
    let err = elb
        .deregister_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id("10.0.0.9").port(80).build())
        .send()
        .await
        .expect_err("deregistering from an untagged group is denied");
    assert_eq!(code(err.as_service_error().unwrap()), Some("AccessDenied"));

    // Tags other than the binding's are not the function's to write.
    let err = elb
        .add_tags()
        .resource_arns(&tg)
        .tags(Tag::builder().key("owner").value("someone-else").build())
        .send()
        .await
        .expect_err("another tag key is denied");
    assert_eq!(code(err.as_service_error().unwrap()), Some("AccessDenied"));
}

#[tokio::test]
async fn a_function_reaches_only_what_its_own_policies_name() {
    let moto = MotoServer::start();
    let (api_id, _) =
        toolkit_tests::moto::private_rest_api(&aws_sdk_apigateway::Client::new(&moto.sdk_config()), &["prod"]).await;
    // The VPC-link waiter may read VPC links, not REST APIs.
    let waiter = aws_sdk_apigateway::Client::new(&moto.function_config("VpcLinkWaiterFunction"));
    let err = waiter.get_rest_api().rest_api_id(&api_id).send().await.expect_err("not the waiter's to read");
    let service_error = err.as_service_error().expect("a service error");
    assert_eq!(code(service_error), Some("AccessDeniedException"), "{service_error:?}");
    waiter.get_vpc_links().send().await.expect_err("GetVpcLinks (/vpclinks) is not in its policy either");

    // The disabler may read that API.
    let disabler = aws_sdk_apigateway::Client::new(&moto.function_config("ExecuteApiDisablerFunction"));
    disabler.get_rest_api().rest_api_id(&api_id).send().await.expect("the disabler's to read");
}

#[tokio::test]
async fn the_doctor_reads_and_test_invokes_but_changes_nothing() {
    let moto = MotoServer::start();
    let apigw_fixture = aws_sdk_apigateway::Client::new(&moto.sdk_config());
    let (api_id, proxy_id) = toolkit_tests::moto::private_rest_api(&apigw_fixture, &["prod"]).await;
    moto.answer_test_invoke(serde_json::json!({"status": 200, "latency": 5, "log": ""}));
    let doctor = aws_sdk_apigateway::Client::new(&moto.function_config("PrivateApiDoctorFunction"));
    doctor.get_rest_api().rest_api_id(&api_id).send().await.expect("reading the API is its job");
    let invoked = doctor
        .test_invoke_method()
        .rest_api_id(&api_id)
        .resource_id(&proxy_id)
        .http_method("ANY")
        .path_with_query_string("/orders")
        .send()
        .await
        .expect("TestInvokeMethod (apigateway:POST on the method) is allowed");
    assert_eq!(invoked.status(), 200);

    // A POST elsewhere (CreateDeployment) and any PATCH are not its to make.
    let err = doctor.create_deployment().rest_api_id(&api_id).stage_name("prod").send().await.expect_err("read-only");
    assert_eq!(code(err.as_service_error().unwrap()), Some("AccessDeniedException"));
    let err = doctor
        .update_rest_api()
        .rest_api_id(&api_id)
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/disableExecuteApiEndpoint")
                .value("True")
                .build(),
        )
        .send()
        .await
        .expect_err("read-only");
    assert_eq!(code(err.as_service_error().unwrap()), Some("AccessDeniedException"));
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.function_config("PrivateApiDoctorFunction"));
    let err = elb
        .deregister_targets()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1")
        .targets(TargetDescription::builder().id("10.0.0.9").port(80).build())
        .send()
        .await
        .expect_err("read-only");
    assert_eq!(code(err.as_service_error().unwrap()), Some("AccessDenied"));
}
