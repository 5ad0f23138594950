//! `private-api-doctor`: walks a private API's chain hop by hop (domain, certificate, mapping, stage,
//! integration, VPC link, load balancer, target group, targets, tasks, one real request, execute-api)
//! and names the hop that breaks it.
//!
//! Work in progress (issue 12): the pure decisions only (`report`, `routes`, `checks`). Next:
//! - `aws.rs`: one read per hop. Concurrent where independent: GetDomainName(V2) with the Route 53
//!   records, then GetBasePathMappings; GetStage, GetResources and GetRestApi together; then the
//!   integration; then the link, DescribeLoadBalancers + DescribeListeners, DescribeTargetGroups +
//!   DescribeTargetHealth + the binding tags / ECS service, and TestInvokeMethod (apigateway:POST on
//!   the method) in parallel.
//! - the certificate hop reuses certificate-validator's `checks::check` (usage
//!   API_GATEWAY_REGIONAL/EDGE/PRIVATE for the domain, API_GATEWAY_BACKEND_NLB/ALB for the listener,
//!   with the integration URI's host as the name to cover).
//! - `execute-api`: the flag as configured (GetRestApi) against as deployed (a stage change after it).
//! - main.rs: AWS_LAMBDA_RUNTIME_API set -> `Custom::PrivateApiCheck` on shared's runtime (Delete: no
//!   call; FAILED Reason = `Report::reason()`); otherwise a clap command line (`--domain`, `--path`,
//!   `--method`, `--rest-api-id`, `--stage`, `--json`; exit 0, 2 on a FAIL, 1 on usage/credentials).
//!   The CLI needs the usual credential chain (aws-config), which the Lambda build leaves out:
//!   a `cli` feature.

pub mod aws;
pub mod checks;
#[cfg(feature = "cli")]
pub mod cli;
pub mod report;
pub mod resource;
pub mod routes;
pub mod walk;

#[cfg(test)]
mod tests;
