//! `Custom::VpcLinkReady`: waits until an API Gateway VPC link is AVAILABLE, so that the integration
//! and deployment that depend on it are not created against a PENDING link.
//!
//! Properties: `VpcLinkId` (required), `VpcLinkVersion` (V1 | V2; default: V1, then V2 when V1 does
//! not know the id), `TimeoutSeconds` (1..=3600, default 1800).
//! Attributes: `VpcLinkId`, `VpcLinkVersion`, `Status`, `TargetArns`, `WaitedSeconds`.

use serde::{Deserialize, Serialize};
use shared::custom_resource::{Ctx, CustomResource, Failure, FromProperties, PropertyReader, Success};
use shared::sdk;
use shared::sdk::SdkConfig;
use std::fmt;
use std::task::Poll;
use std::time::Duration;

/// One GetVpcLink every 4 s: AVAILABLE is seen within 5 s of happening, and the wait costs 0.25 calls
/// per second of the account's shared API Gateway control-plane quota (10 rps).
pub const POLL_INTERVAL: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    V1,
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "V1",
            Version::V2 => "V2",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub vpc_link_id: String,
    pub version: Option<Version>,
    pub timeout: Duration,
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        Properties {
            vpc_link_id: p.required_string("VpcLinkId"),
            version: p
                .one_of("VpcLinkVersion", &["V1", "V2"])
                .map(|v| if v == "V1" { Version::V1 } else { Version::V2 }),
            timeout: Duration::from_secs(p.integer_in("TimeoutSeconds", 1..=3600, 1800)),
        }
    }
}

/// What one read of the link showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLookup {
    Found(Link),
    /// Neither API (or, with a version given, that API) knows the id.
    NotFound,
    /// AWS did not answer this time (throttled, server error, timeout) after the SDK's retries.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub version: Version,
    pub status: String,
    pub status_message: Option<String>,
    pub target_arns: Vec<String>,
}

/// The decision, given one read: done, keep waiting, or fail.
pub fn link_verdict(vpc_link_id: &str, version: Option<Version>, lookup: LinkLookup) -> Result<Poll<Link>, Failure> {
    match lookup {
        LinkLookup::Found(link) => match link.status.as_str() {
            "AVAILABLE" => Ok(Poll::Ready(link)),
            "PENDING" => Ok(Poll::Pending),
            // FAILED, DELETING, INACTIVE (V2, idle 60 days) and anything new will not become AVAILABLE by waiting.
            status => Err(Failure::new(format!(
                "VPC link {vpc_link_id} ({}) is {status}: {}",
                link.version,
                link.status_message.as_deref().filter(|m| !m.is_empty()).unwrap_or("no status message")
            ))),
        },
        LinkLookup::NotFound => Err(Failure::new(match version {
            Some(Version::V1) => format!("VPC link {vpc_link_id} not found in API Gateway (V1, REST API VPC links)"),
            Some(Version::V2) => format!("VPC link {vpc_link_id} not found in API Gateway V2 (apigatewayv2 VPC links)"),
            None => format!(
                "VPC link {vpc_link_id} not found in API Gateway V1 (REST API VPC links) nor V2 (apigatewayv2 VPC links)"
            ),
        })),
        LinkLookup::Unknown(why) => {
            tracing::warn!(%why, "VPC link status unknown this round; still waiting");
            Ok(Poll::Pending)
        }
    }
}

pub struct VpcLinkWaiter {
    v1: aws_sdk_apigateway::Client,
    v2: aws_sdk_apigatewayv2::Client,
}

impl VpcLinkWaiter {
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(aws_sdk_apigateway::Client::new(config), aws_sdk_apigatewayv2::Client::new(config))
    }

    pub fn from_clients(v1: aws_sdk_apigateway::Client, v2: aws_sdk_apigatewayv2::Client) -> Self {
        Self { v1, v2 }
    }

    /// Reads the link from the API `version` names, or V1 then V2 when it names none.
    pub async fn look_up(&self, vpc_link_id: &str, version: Option<Version>) -> Result<LinkLookup, Failure> {
        let unreadable = |why: String| Failure::new(format!("Could not read VPC link {vpc_link_id}: {why}"));
        if version != Some(Version::V2) {
            match self.v1.get_vpc_link().vpc_link_id(vpc_link_id).send().await {
                Ok(link) => {
                    return Ok(LinkLookup::Found(Link {
                        version: Version::V1,
                        status: link.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                        status_message: link.status_message().map(str::to_string),
                        target_arns: link.target_arns().to_vec(),
                    }));
                }
                Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => {
                    if version == Some(Version::V1) {
                        return Ok(LinkLookup::NotFound);
                    }
                }
                Err(err) if sdk::is_transient(&err) => return Ok(LinkLookup::Unknown(sdk::describe(&err))),
                Err(err) => return Err(unreadable(sdk::describe(&err))),
            }
        }
        match self.v2.get_vpc_link().vpc_link_id(vpc_link_id).send().await {
            Ok(link) => Ok(LinkLookup::Found(Link {
                version: Version::V2,
                status: link.vpc_link_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                status_message: link.vpc_link_status_message().map(str::to_string),
                // V2 links attach to subnets, not to load balancers: there are no target ARNs.
                target_arns: Vec::new(),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found_exception()) => Ok(LinkLookup::NotFound),
            Err(err) if sdk::is_transient(&err) => Ok(LinkLookup::Unknown(sdk::describe(&err))),
            Err(err) => Err(unreadable(sdk::describe(&err))),
        }
    }

    async fn wait_until_available(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        let id = props.vpc_link_id.as_str();
        let what = format!("VPC link {id} to become AVAILABLE");
        let link = ctx
            .poll_until(&what, props.timeout, POLL_INTERVAL, || async {
                // Once found, a continuation asks the API that knows the link straight away.
                let version = props.version.or_else(|| ctx.progress::<Version>());
                let lookup = self.look_up(id, version).await?;
                if let LinkLookup::Found(link) = &lookup {
                    ctx.save_progress(&link.version);
                    tracing::info!(status = %link.status, version = %link.version, "VPC link read");
                }
                link_verdict(id, props.version, lookup)
            })
            .await?;
        Ok(Success::new(id)
            .with("VpcLinkId", id)
            .with("VpcLinkVersion", link.version)
            .with("Status", &link.status)
            .with("TargetArns", link.target_arns.join(","))
            .with("WaitedSeconds", ctx.elapsed().as_secs()))
    }
}

impl CustomResource for VpcLinkWaiter {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.wait_until_available(ctx, props).await
    }

    /// A new VpcLinkId means a new PhysicalResourceId: CloudFormation then deletes the old one (a no-op).
    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.wait_until_available(ctx, props).await
    }

    /// The link belongs to the stack that made it: nothing to undo, no AWS call.
    async fn delete(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        Ok(Success::new(ctx.physical_resource_id().unwrap_or(&props.vpc_link_id)))
    }
}

#[cfg(test)]
mod tests;
