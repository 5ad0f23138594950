//! Reading the chain from AWS: one call (or one page set) per hop, nothing written. Each read returns
//! the `checks` input, or a description of why it could not be read (which the walk reports as that
//! hop's FAIL with the AWS error as evidence).

use crate::checks::{
    Domain, Integration, Link, Listener, LoadBalancer, Mapping, Record, RestApi, Stage, Target, TargetGroup, TestInvoke,
};
use crate::routes::Resource;
use shared::sdk::{self, SdkConfig};

pub struct Readers {
    pub apigw: aws_sdk_apigateway::Client,
    pub apigw_v2: aws_sdk_apigatewayv2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub route53: aws_sdk_route53::Client,
    /// ACM in each certificate's own region (certificate-validator's reader).
    pub acm: certificate_validator::aws::Acm,
    /// The region the chain is in: where a regional or private domain's certificate must be.
    pub region: String,
}

/// A custom domain as read, with what the next hops need.
#[derive(Debug, Clone)]
pub struct DomainRead {
    pub domain: Domain,
    /// A private domain's id (its mappings are read with it).
    pub domain_name_id: Option<String>,
    /// The certificate and the usage it is judged for.
    pub certificate: Option<(String, certificate_validator::checks::Usage)>,
}

impl Readers {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            apigw: aws_sdk_apigateway::Client::new(config),
            apigw_v2: aws_sdk_apigatewayv2::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            acm: certificate_validator::aws::Acm::new(config),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
        }
    }

    /// The VPC link, from V1 first, then V2 (a REST API's private integration may use either).
    pub async fn link(&self, id: &str) -> Result<Option<Link>, String> {
        match self.apigw.get_vpc_link().vpc_link_id(id).send().await {
            Ok(link) => {
                return Ok(Some(Link {
                    id: id.to_string(),
                    version: "V1",
                    status: link.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    message: link.status_message().map(str::to_string),
                    target_arns: link.target_arns().to_vec(),
                }));
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {}
            Err(err) => return Err(sdk::describe(&err)),
        }
        match self.apigw_v2.get_vpc_link().vpc_link_id(id).send().await {
            Ok(link) => Ok(Some(Link {
                id: id.to_string(),
                version: "V2",
                status: link.vpc_link_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                message: link.vpc_link_status_message().map(str::to_string),
                target_arns: vec![],
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => Ok(None),
            Err(err) => Err(sdk::describe(&err)),
        }
    }

    /// The load balancer and its listeners, read together.
    pub async fn load_balancer(&self, arn: &str) -> Result<(LoadBalancer, Vec<Listener>), String> {
        let (lbs, listeners) = tokio::join!(
            self.elb.describe_load_balancers().load_balancer_arns(arn).send(),
            self.elb.describe_listeners().load_balancer_arn(arn).send()
        );
        let lbs = lbs.map_err(|e| sdk::describe(&e))?;
        let lb = lbs.load_balancers().first().ok_or_else(|| format!("load balancer {arn} not found"))?;
        let load_balancer = LoadBalancer {
            name: lb.load_balancer_name().unwrap_or_default().to_string(),
            kind: lb.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            state: lb.state().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default(),
            scheme: lb.scheme().map(|s| s.as_str().to_string()).unwrap_or_default(),
        };
        let listeners = listeners
            .map_err(|e| sdk::describe(&e))?
            .listeners()
            .iter()
            .map(|l| Listener {
                port: l.port().unwrap_or_default() as u16,
                protocol: l.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                certificate_arns: l
                    .certificates()
                    .iter()
                    .filter_map(|c| c.certificate_arn().map(str::to_string))
                    .collect(),
                target_group_arns: forwarded_groups(l.default_actions()),
            })
            .collect();
        Ok((load_balancer, listeners))
    }

    /// A target group and the health of its targets, read together.
    pub async fn target_group(&self, arn: &str) -> Result<(TargetGroup, Vec<Target>), String> {
        let (groups, targets) =
            tokio::join!(self.elb.describe_target_groups().target_group_arns(arn).send(), self.targets(arn));
        let groups = groups.map_err(|e| sdk::describe(&e))?;
        let tg = groups.target_groups().first().ok_or_else(|| format!("target group {arn} not found"))?;
        let health_check = format!(
            "{} {} on {}",
            tg.health_check_protocol().map(|p| p.as_str()).unwrap_or("?"),
            tg.health_check_path().unwrap_or(""),
            tg.health_check_port().unwrap_or("traffic-port")
        );
        let group = TargetGroup {
            name: tg.target_group_name().unwrap_or_default().to_string(),
            protocol: tg.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
            port: tg.port().unwrap_or_default() as u16,
            health_check: health_check.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        Ok((group, targets?))
    }

    /// The health of a target group's targets (DescribeTargetHealth alone).
    pub async fn targets(&self, arn: &str) -> Result<Vec<Target>, String> {
        let health = self.elb.describe_target_health().target_group_arn(arn).send().await;
        let targets = health
            .map_err(|e| sdk::describe(&e))?
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                Target {
                    id: d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                    port: d.target().and_then(|t| t.port()).unwrap_or_default() as u16,
                    state: health.and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default(),
                    reason: health.and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
                    description: health.and_then(|h| h.description()).map(str::to_string),
                }
            })
            .collect();
        Ok(targets)
    }

    /// A stage, None when the API has no such stage.
    pub async fn stage(&self, api_id: &str, name: &str) -> Result<Option<Stage>, String> {
        match self.apigw.get_stage().rest_api_id(api_id).stage_name(name).send().await {
            Ok(stage) => Ok(Some(Stage {
                name: name.to_string(),
                deployment_id: stage.deployment_id().map(str::to_string),
                last_updated: stage
                    .last_updated_date()
                    .and_then(|at| at.fmt(aws_sdk_apigateway::primitives::DateTimeFormat::DateTime).ok()),
                variables: stage.variables().map(|v| v.clone().into_iter().collect()).unwrap_or_default(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => Ok(None),
            Err(err) => Err(sdk::describe(&err)),
        }
    }

    /// The API's execute-api flag and endpoint type.
    pub async fn rest_api(&self, api_id: &str) -> Result<RestApi, String> {
        let api = self.apigw.get_rest_api().rest_api_id(api_id).send().await.map_err(|e| sdk::describe(&e))?;
        Ok(RestApi {
            execute_api_disabled: api.disable_execute_api_endpoint(),
            endpoint_type: api
                .endpoint_configuration()
                .and_then(|c| c.types().first())
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "EDGE".into()),
        })
    }

    /// Every resource of the API with its methods (all pages), and each resource's id by path.
    pub async fn resources(&self, api_id: &str) -> Result<Vec<(String, Resource)>, String> {
        let items = self
            .apigw
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(500)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk::describe(&e))?;
        Ok(items
            .into_iter()
            .map(|r| {
                let mut methods: Vec<String> =
                    r.resource_methods().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                methods.sort();
                (
                    r.id().unwrap_or_default().to_string(),
                    Resource { path: r.path().unwrap_or_default().to_string(), methods },
                )
            })
            .collect())
    }

    /// A method's integration, None when the method has none.
    pub async fn integration(
        &self,
        api_id: &str,
        resource_id: &str,
        method: &str,
    ) -> Result<Option<Integration>, String> {
        match self.apigw.get_integration().rest_api_id(api_id).resource_id(resource_id).http_method(method).send().await
        {
            Ok(i) => Ok(Some(Integration {
                integration_type: i.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                connection_type: i
                    .connection_type()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "INTERNET".into()),
                connection_id: i.connection_id().map(str::to_string),
                integration_target: i.integration_target().map(str::to_string),
                uri: i.uri().map(str::to_string),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => Ok(None),
            Err(err) => Err(sdk::describe(&err)),
        }
    }

    /// The domain's base path mappings (a private domain is named with its id as well).
    pub async fn mappings(&self, domain: &str, domain_name_id: Option<&str>) -> Result<Vec<Mapping>, String> {
        let items = self
            .apigw
            .get_base_path_mappings()
            .domain_name(domain)
            .set_domain_name_id(domain_name_id.map(str::to_string))
            .limit(500)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk::describe(&e))?;
        Ok(items
            .iter()
            .map(|m| Mapping {
                base_path: m.base_path().unwrap_or("(none)").to_string(),
                rest_api_id: m.rest_api_id().unwrap_or_default().to_string(),
                stage: m.stage().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// One real request through the method (TestInvokeMethod runs the method's current
    /// configuration, skipping the custom domain, the resource policy and the VPC endpoint).
    pub async fn test_invoke(
        &self,
        api_id: &str,
        resource_id: &str,
        method: &str,
        path: &str,
        stage_variables: &std::collections::BTreeMap<String, String>,
    ) -> Result<TestInvoke, String> {
        // TestInvokeMethod runs the API's current configuration, not a stage's: the stage's variables
        // (and a test's own) are passed, or an integration that names one would not resolve.
        let variables = (!stage_variables.is_empty())
            .then(|| stage_variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        let answer = self
            .apigw
            .test_invoke_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method(method)
            .path_with_query_string(path)
            .set_stage_variables(variables)
            .send()
            .await
            .map_err(|e| sdk::describe(&e))?;
        Ok(TestInvoke {
            status: answer.status() as u16,
            latency_ms: answer.latency(),
            log: answer.log().unwrap_or_default().to_string(),
        })
    }

    /// The ECS service a target group is bound to by target-group-sync's tag (`cluster/service`),
    /// read as target-group-sync reads it.
    pub async fn binding(&self, target_group_arn: &str) -> Result<Option<(String, String)>, String> {
        let owner = target_group_sync::aws::bound_to(&self.elb, target_group_arn).await.map_err(|e| e.to_string())?;
        Ok(owner.and_then(|v| v.split_once('/').map(|(cluster, service)| (cluster.to_string(), service.to_string()))))
    }

    /// The private IPs of a service's RUNNING tasks (target-group-sync's read of the service's tasks).
    pub async fn running_ips(&self, cluster: &str, service: &str) -> Result<Vec<String>, String> {
        let tasks =
            target_group_sync::aws::service_tasks(&self.ecs, cluster, service).await.map_err(|e| e.to_string())?;
        Ok(tasks.into_iter().filter(|t| t.last_status == "RUNNING").filter_map(|t| t.private_ip).collect())
    }

    /// A custom domain: a public one by its name, else a private one (DomainNameV2) by its name
    /// among the account's domains.
    pub async fn domain(&self, name: &str) -> Result<Option<DomainRead>, String> {
        use certificate_validator::checks::Usage;
        let output = match self.apigw.get_domain_name().domain_name(name).send().await {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {
                let all = self
                    .apigw
                    .get_domain_names()
                    .resource_owner(aws_sdk_apigateway::types::ResourceOwner::SelfValue)
                    .limit(500)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| sdk::describe(&e))?;
                let Some(id) = all
                    .iter()
                    .find(|d| d.domain_name() == Some(name) && d.domain_name_id().is_some())
                    .and_then(|d| d.domain_name_id())
                else {
                    return Ok(None);
                };
                self.apigw
                    .get_domain_name()
                    .domain_name(name)
                    .domain_name_id(id)
                    .send()
                    .await
                    .map_err(|e| sdk::describe(&e))?
            }
            Err(err) => return Err(sdk::describe(&err)),
        };
        let types: Vec<String> = output
            .endpoint_configuration()
            .map(|c| c.types().iter().map(|t| t.as_str().to_string()).collect())
            .unwrap_or_default();
        let endpoint_type = types.first().cloned().unwrap_or_else(|| "EDGE".into());
        let (target, certificate) = match endpoint_type.as_str() {
            "REGIONAL" => (
                output.regional_domain_name().map(str::to_string),
                output.regional_certificate_arn().map(|arn| (arn.to_string(), Usage::ApiGatewayRegional)),
            ),
            "PRIVATE" => (None, output.certificate_arn().map(|arn| (arn.to_string(), Usage::ApiGatewayPrivate))),
            _ => (
                output.distribution_domain_name().map(str::to_string),
                output.certificate_arn().map(|arn| (arn.to_string(), Usage::ApiGatewayEdge)),
            ),
        };
        Ok(Some(DomainRead {
            domain: Domain { name: name.to_string(), endpoint_type, target },
            domain_name_id: output.domain_name_id().map(str::to_string),
            certificate,
        }))
    }

    /// The A, AAAA and CNAME records for `name` in every hosted zone of this account that holds it
    /// (the zone for the name itself or any parent, public or private). ListHostedZones, not
    /// ListHostedZonesByName: the latter lists from the name onwards, and a parent zone sorts before it.
    pub async fn records(&self, name: &str) -> Result<Vec<Record>, String> {
        let wanted = format!("{}.", name.trim_end_matches('.').to_ascii_lowercase());
        let zones = self
            .route53
            .list_hosted_zones()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk::describe(&e))?;
        let holding: Vec<String> = zones
            .iter()
            .filter(|z| shared::dns::zone_holds(z.name(), name))
            .map(|z| shared::dns::zone_id(z.id()).to_string())
            .collect();
        // One read per holding zone (a public and a private one, typically), concurrently.
        let mut reads = tokio::task::JoinSet::new();
        for (n, zone_id) in holding.iter().enumerate() {
            let read = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(&wanted)
                // the name's sets of every type (weighted, latency ... sets share a name)
                .max_items(100);
            reads.spawn(async move { (n, read.send().await) });
        }
        let mut answers = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let (n, answer) = joined.map_err(|e| format!("a Route 53 read stopped: {e}"))?;
            answers.push((n, answer.map_err(|e| sdk::describe(&e))?));
        }
        answers.sort_by_key(|(n, _)| *n);
        let mut records = Vec::new();
        for (n, sets) in answers {
            let zone_id = &holding[n];
            for set in sets.resource_record_sets().iter().filter(|s| s.name().eq_ignore_ascii_case(&wanted)) {
                let record_type = set.r#type().as_str().to_string();
                if !matches!(record_type.as_str(), "A" | "AAAA" | "CNAME") {
                    continue;
                }
                let points: Vec<String> = match set.alias_target() {
                    Some(alias) => vec![alias.dns_name().to_string()],
                    None => set.resource_records().iter().map(|r| r.value().to_string()).collect(),
                };
                for points_to in points {
                    records.push(Record { zone: zone_id.clone(), record_type: record_type.clone(), points_to });
                }
            }
        }
        Ok(records)
    }
}

/// The target groups a listener's default actions forward traffic to, each once. A forward action may
/// carry its group twice (TargetGroupArn, and ForwardConfig's list): the list wins when present. A
/// group weighted 0 receives nothing (ECS blue/green shifts traffic by setting weights 100/0 and
/// leaves both groups in the action), so it is not followed.
fn forwarded_groups(actions: &[aws_sdk_elasticloadbalancingv2::types::Action]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for action in actions {
        let weighted: Vec<(&str, Option<i32>)> = action
            .forward_config()
            .map(|f| f.target_groups().iter().filter_map(|t| Some((t.target_group_arn()?, t.weight()))).collect())
            .unwrap_or_default();
        let listed: Vec<&str> = weighted.iter().filter(|(_, weight)| *weight != Some(0)).map(|(arn, _)| *arn).collect();
        if listed.is_empty() && !weighted.is_empty() {
            continue; // every group weighted 0: this action sends nothing anywhere
        }
        let arns = if listed.is_empty() { action.target_group_arn().into_iter().collect() } else { listed };
        for arn in arns {
            if !groups.iter().any(|g| g == arn) {
                groups.push(arn.to_string());
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::forwarded_groups;
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple};

    fn forward(groups: &[(&str, Option<i32>)]) -> Action {
        let mut config = ForwardActionConfig::builder();
        for (arn, weight) in groups {
            config =
                config.target_groups(TargetGroupTuple::builder().target_group_arn(*arn).set_weight(*weight).build());
        }
        Action::builder().r#type(ActionTypeEnum::Forward).forward_config(config.build()).build()
    }

    #[test]
    fn a_group_weighted_zero_is_not_followed() {
        // ECS blue/green after a production shift: the old group stays in the action at weight 0.
        assert_eq!(forwarded_groups(&[forward(&[("tg-blue", Some(0)), ("tg-green", Some(100))])]), ["tg-green"]);
        assert_eq!(forwarded_groups(&[forward(&[("tg-blue", Some(1)), ("tg-green", None)])]), ["tg-blue", "tg-green"]);
        let plain = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn("tg-web").build();
        assert_eq!(forwarded_groups(&[plain]), ["tg-web"]);
        assert!(forwarded_groups(&[forward(&[("tg-blue", Some(0))])]).is_empty());
    }
}
