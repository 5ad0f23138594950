//! The three EC2 calls this function makes, on the SDK's own runtime: each is an aws-smithy-runtime
//! `Operation` (the orchestrator every SDK client runs on: SigV4 signing, standard retries with AWS's
//! throttling and transient error codes, timeouts, interceptors, the SDK's HTTP client), with its
//! request and response written here in EC2's query protocol.
//!
//! Why not the aws-sdk-ec2 crate: it models every EC2 operation (several hundred) and, measured on
//! the 2-core reference machine, took 162-176 s of one core to compile in each build profile, more
//! than every other SDK crate of the toolkit together: with it, a fresh `make test` or `make demo`
//! could not meet its goal of 15 or 4 minutes on 2 cores (docs/testing.md, "The build's time"). This function needs three
//! operations, whose wire format is small and stable (API version 2016-11-15).
//!
//! EC2's query protocol: a form-encoded POST to `/` carrying `Action`, `Version` and the parameters, a
//! list flattened as `Name.1`, `Name.2`; an XML answer whose elements are camelCase, lists as `item`
//! elements; errors as `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>`.
//! (Amazon EC2 API Reference, "Making requests to the Amazon EC2 API", "Error codes".)

use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_runtime::auth::sigv4::{SCHEME_ID as SIGV4, SigV4AuthScheme};
use aws_runtime::invocation_id::InvocationIdInterceptor;
use aws_runtime::recursion_detection::RecursionDetectionInterceptor;
use aws_runtime::request_info::RequestInfoInterceptor;
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_runtime::user_agent::{ApiMetadata, UserAgentInterceptor};
use aws_smithy_runtime::client::identity::IdentityCache;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{HttpStatusCodeClassifier, TransientErrorClassifier};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOptionResolverParams, SharedAuthScheme};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::{SharedRuntimePlugin, StaticRuntimePlugin};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};
use aws_types::SdkConfig;
use aws_types::SigningName;
use aws_types::region::{Region, SigningRegion};
use aws_types::service_config::ServiceConfigKey;
use std::fmt;

const API_VERSION: &str = "2016-11-15";

/// DescribeVpcEndpointServiceConfigurations for one service id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeService {
    pub service_id: String,
}

/// ModifyVpcEndpointServiceConfiguration: the service's private DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPrivateDnsName {
    pub service_id: String,
    pub private_dns_name: String,
}

/// StartVpcEndpointServicePrivateDnsVerification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartVerification {
    pub service_id: String,
}

/// What this function reads of an endpoint service's configuration (`ServiceConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceConfiguration {
    pub service_id: Option<String>,
    pub private_dns_name: Option<String>,
    pub private_dns_name_configuration: Option<PrivateDnsNameConfiguration>,
    pub network_load_balancer_arns: Vec<String>,
}

/// The record AWS asks for and the verification's state (`PrivateDnsNameConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateDnsNameConfiguration {
    pub state: Option<String>,
    pub record_type: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
}

/// An error EC2 answered with: its code and message (the request id when EC2 gave one).
#[derive(Debug)]
pub struct Ec2Error(ErrorMetadata);

impl Ec2Error {
    pub fn new(code: &str, message: &str) -> Self {
        Self(ErrorMetadata::builder().code(code).message(message).build())
    }
}

impl fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.code(), self.0.message()) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(text), None) | (None, Some(text)) => f.write_str(text),
            (None, None) => f.write_str("EC2 answered with an error that names no code"),
        }
    }
}

impl std::error::Error for Ec2Error {}

impl ProvideErrorMetadata for Ec2Error {
    fn meta(&self) -> &ErrorMetadata {
        &self.0
    }
}

pub type Ec2Result<T> = Result<T, SdkError<Ec2Error, HttpResponse>>;

/// The three operations, built once at init; none when the configuration has no endpoint (each call
/// then fails at once with the reason, as an SDK client's does).
pub struct Client {
    operations: Result<Operations, &'static str>,
}

struct Operations {
    describe: Operation<DescribeService, Vec<ServiceConfiguration>, Ec2Error>,
    set_private_dns_name: Operation<SetPrivateDnsName, (), Ec2Error>,
    start_verification: Operation<StartVerification, (), Ec2Error>,
}

impl Client {
    pub fn new(config: &SdkConfig) -> Self {
        Self::with_interceptors(config, Vec::new())
    }

    /// The same, with more interceptors (the tests': aws-smithy-mocks' `MockResponseInterceptor`).
    pub fn with_interceptors(config: &SdkConfig, interceptors: Vec<SharedInterceptor>) -> Self {
        let base = match Base::new(config, interceptors) {
            Ok(base) => base,
            Err(why) => return Self { operations: Err(why) },
        };
        let operations = Operations {
            describe: base
                .operation("DescribeVpcEndpointServiceConfigurations")
                .serializer(describe_request)
                .deserializer(|response| read(response, service_configurations))
                .build(),
            set_private_dns_name: base
                .operation("ModifyVpcEndpointServiceConfiguration")
                .serializer(set_private_dns_name_request)
                .deserializer(|response| read(response, |_| Ok(())))
                .build(),
            start_verification: base
                .operation("StartVpcEndpointServicePrivateDnsVerification")
                .serializer(start_verification_request)
                .deserializer(|response| read(response, |_| Ok(())))
                .build(),
        };
        Self { operations: Ok(operations) }
    }

    fn operations(&self) -> Result<&Operations, Box<SdkError<Ec2Error, HttpResponse>>> {
        self.operations.as_ref().map_err(|why| Box::new(SdkError::construction_failure(*why)))
    }

    /// The service's configuration; EC2 answers an unknown id with an error (see aws.rs).
    pub async fn describe_service(&self, service_id: &str) -> Ec2Result<Vec<ServiceConfiguration>> {
        self.operations().map_err(|e| *e)?.describe.invoke(DescribeService { service_id: service_id.to_string() }).await
    }

    pub async fn set_private_dns_name(&self, service_id: &str, name: &str) -> Ec2Result<()> {
        let input = SetPrivateDnsName { service_id: service_id.to_string(), private_dns_name: name.to_string() };
        self.operations().map_err(|e| *e)?.set_private_dns_name.invoke(input).await
    }

    pub async fn start_verification(&self, service_id: &str) -> Ec2Result<()> {
        let input = StartVerification { service_id: service_id.to_string() };
        self.operations().map_err(|e| *e)?.start_verification.invoke(input).await
    }
}

/// What every operation shares, as an SDK client sets it up: the endpoint, SigV4 for `ec2` in the
/// config's region, the config's retries, timeouts and HTTP client, and the SDK's request headers
/// (the user agent; amz-sdk-invocation-id and amz-sdk-request, which let AWS tell a retry from a new
/// call; X-Amzn-Trace-Id from Lambda's environment).
struct Base {
    endpoint: String,
    auth: SharedRuntimePlugin,
    config: SdkConfig,
    interceptors: Vec<SharedInterceptor>,
}

impl Base {
    fn new(config: &SdkConfig, interceptors: Vec<SharedInterceptor>) -> Result<Self, &'static str> {
        // SigV4 signs for a region: without one there is nothing to call (the SDK's "Missing Region").
        let region = config.region().map(|r| r.as_ref().to_string()).filter(|r| !r.is_empty());
        let region = region.ok_or("Invalid Configuration: Missing Region (AWS_REGION is not set)")?;
        let endpoint = endpoint(config, &region)?;
        let mut layer = Layer::new("ec2-sigv4");
        layer.store_put(AuthSchemeOptionResolverParams::new(()));
        // The user agent names the service and this crate's version (and AWS_SDK_UA_APP_ID's app id, as
        // for the SDK clients): what CloudTrail shows as the caller's userAgent.
        layer.store_put(ApiMetadata::new("ec2", env!("CARGO_PKG_VERSION")));
        if let Some(app_name) = config.app_name() {
            layer.store_put(app_name.clone());
        }
        layer.store_put(SigV4OperationSigningConfig {
            region: Some(SigningRegion::from(Region::new(region.clone()))),
            name: Some(SigningName::from_static("ec2")),
            ..Default::default()
        });
        let mut components = RuntimeComponentsBuilder::new("ec2-sigv4")
            .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![SIGV4])))
            .with_auth_scheme(SharedAuthScheme::new(SigV4AuthScheme::new()))
            // The credentials are Lambda's, read once from the environment (shared::sdk): nothing to refresh.
            .with_identity_cache(Some(IdentityCache::no_cache()));
        if let Some(credentials) = config.credentials_provider() {
            components = components.with_identity_resolver(SIGV4, credentials);
        }
        let auth = SharedRuntimePlugin::new(
            StaticRuntimePlugin::new().with_config(layer.freeze()).with_runtime_components(components),
        );
        Ok(Self { endpoint, auth, config: config.clone(), interceptors })
    }

    fn operation(&self, name: &'static str) -> aws_smithy_runtime::client::orchestrator::operation::OperationBuilder {
        let mut builder = Operation::builder()
            .service_name("ec2")
            .operation_name(name)
            .endpoint_url(&self.endpoint)
            .standard_retry(&self.config.retry_config().cloned().unwrap_or_else(RetryConfig::standard))
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<Ec2Error>::new())
            .retry_classifier(AwsErrorCodeClassifier::<Ec2Error>::new())
            .interceptor(UserAgentInterceptor::new())
            .interceptor(InvocationIdInterceptor::new())
            .interceptor(RequestInfoInterceptor::new())
            .interceptor(RecursionDetectionInterceptor::new())
            .runtime_plugin(self.auth.clone());
        if let Some(timeouts) = self.config.timeout_config() {
            builder = builder.timeout_config(timeouts.clone());
        }
        if let Some(http) = self.config.http_client() {
            builder = builder.http_client(http);
        }
        if let Some(sleep) = self.config.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = self.config.time_source() {
            builder = builder.time_source(time);
        }
        if let Some(version) = self.config.behavior_version() {
            builder = builder.behavior_version(version);
        }
        for interceptor in &self.interceptors {
            builder = builder.interceptor(interceptor.clone());
        }
        builder
    }
}

/// EC2's endpoint, by aws-sdk-ec2's endpoint rules (1.274.0): `AWS_ENDPOINT_URL_EC2`, then
/// `AWS_ENDPOINT_URL` (both in the config, see shared::sdk), refused with FIPS or dual-stack as the
/// SDK refuses them; else the region's: `ec2.<region>.<suffix>`, `ec2-fips.` with FIPS (but
/// `ec2.<region>.amazonaws.com` in GovCloud, by the SDK's rule), the partition's dual-stack suffix
/// with dual-stack. The suffixes are the SDK's partition table's (aws-sdk-* `endpoint_lib.rs`); a
/// region of no known partition is in `aws`, as there. (Amazon EC2 developer guide, "Amazon EC2
/// service endpoints"; AWS General Reference, "FIPS endpoints".)
fn endpoint(config: &SdkConfig, region: &str) -> Result<String, &'static str> {
    let fips = config.use_fips().unwrap_or(false);
    let dual_stack = config.use_dual_stack().unwrap_or(false);
    let key = ServiceConfigKey::builder().service_id("EC2").env("AWS_ENDPOINT_URL").profile("endpoint_url").build();
    let service_url = key.ok().and_then(|key| config.service_config()?.load_config(key));
    if let Some(url) = service_url.or_else(|| config.endpoint_url().map(str::to_string)) {
        return match (fips, dual_stack) {
            (true, _) => Err("Invalid Configuration: FIPS and custom endpoint are not supported"),
            (_, true) => Err("Invalid Configuration: Dualstack and custom endpoint are not supported"),
            _ => Ok(url),
        };
    }
    let (partition, suffix, dual_stack_suffix) = partition(region);
    let host = if fips { "ec2-fips" } else { "ec2" };
    Ok(match (fips, dual_stack) {
        (true, false) if partition == "aws-us-gov" => format!("https://ec2.{region}.amazonaws.com"),
        (_, true) => format!("https://{host}.{region}.{dual_stack_suffix}"),
        (_, false) => format!("https://{host}.{region}.{suffix}"),
    })
}

/// The region's partition: its id, DNS suffix and dual-stack DNS suffix (the SDK's partition table).
fn partition(region: &str) -> (&'static str, &'static str, &'static str) {
    const PARTITIONS: [(&str, &str, &str, &str); 7] = [
        ("cn-", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        ("us-gov-", "aws-us-gov", "amazonaws.com", "api.aws"),
        ("us-iso-", "aws-iso", "c2s.ic.gov", "api.aws.ic.gov"),
        ("us-isob-", "aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud"),
        ("us-isof-", "aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
        ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
        ("eusc-", "aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, ..)| region.starts_with(prefix))
        .map(|&(_, id, suffix, dual_stack)| (id, suffix, dual_stack))
        .unwrap_or(("aws", "amazonaws.com", "api.aws"))
}

fn describe_request(input: DescribeService) -> Result<HttpRequest, BoxError> {
    query("DescribeVpcEndpointServiceConfigurations", |w| {
        let mut ids = w.prefix("ServiceId").start_list(true, None);
        ids.entry().string(&input.service_id);
        ids.finish();
    })
}

fn set_private_dns_name_request(input: SetPrivateDnsName) -> Result<HttpRequest, BoxError> {
    query("ModifyVpcEndpointServiceConfiguration", |w| {
        w.prefix("ServiceId").string(&input.service_id);
        w.prefix("PrivateDnsName").string(&input.private_dns_name);
    })
}

fn start_verification_request(input: StartVerification) -> Result<HttpRequest, BoxError> {
    query("StartVpcEndpointServicePrivateDnsVerification", |w| {
        w.prefix("ServiceId").string(&input.service_id);
    })
}

/// A query-protocol request: `Action`, `Version`, then what `params` writes.
fn query(action: &str, params: impl FnOnce(&mut aws_smithy_query::QueryWriter<'_>)) -> Result<HttpRequest, BoxError> {
    let mut body = String::new();
    let mut writer = aws_smithy_query::QueryWriter::new(&mut body, action, API_VERSION);
    params(&mut writer);
    writer.finish();
    let length = body.len().to_string();
    let mut request = HttpRequest::new(SdkBody::from(body));
    request.set_method("POST")?;
    request.set_uri("/")?;
    request.headers_mut().insert("content-type", "application/x-www-form-urlencoded");
    request.headers_mut().insert("content-length", length);
    Ok(request)
}

/// A success read by `output`; an error answer read for its code and message.
fn read<O>(
    response: &HttpResponse,
    output: impl Fn(&[u8]) -> Result<O, XmlDecodeError>,
) -> Result<O, OrchestratorError<Ec2Error>> {
    let body = response.body().bytes().unwrap_or_default();
    if response.status().is_success() {
        return output(body).map_err(OrchestratorError::other);
    }
    // An answer that is not EC2's error XML (a proxy's page, a cut body) still fails as an answer with
    // its status: the retry classifiers look at the status, and the reason says what came back.
    let error = match error_metadata(body) {
        Ok(meta) if meta.code().is_some() => meta,
        _ => {
            let status = response.status().as_u16();
            ErrorMetadata::builder().message(format!("HTTP {status}, and a body that is not EC2's error XML")).build()
        }
    };
    Err(OrchestratorError::operation(Ec2Error(error)))
}

/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…`
fn error_metadata(body: &[u8]) -> Result<ErrorMetadata, XmlDecodeError> {
    let mut doc = Document::try_from(body)?;
    let mut root = doc.root_element()?;
    let mut meta = ErrorMetadata::builder();
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("Errors") {
            while let Some(mut error) = tag.next_tag() {
                if !error.start_el().matches("Error") {
                    continue;
                }
                while let Some(mut field) = error.next_tag() {
                    if field.start_el().matches("Code") {
                        meta = meta.code(try_data(&mut field)?);
                    } else if field.start_el().matches("Message") {
                        meta = meta.message(try_data(&mut field)?);
                    }
                }
            }
        } else if tag.start_el().matches("RequestID") {
            meta = meta.custom("request_id", try_data(&mut tag)?.into_owned());
        }
    }
    Ok(meta.build())
}

/// DescribeVpcEndpointServiceConfigurationsResponse's `serviceConfigurationSet`.
fn service_configurations(body: &[u8]) -> Result<Vec<ServiceConfiguration>, XmlDecodeError> {
    let mut doc = Document::try_from(body)?;
    let mut root = doc.root_element()?;
    let mut services = Vec::new();
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("serviceConfigurationSet") {
            while let Some(mut item) = tag.next_tag() {
                if item.start_el().matches("item") {
                    services.push(service_configuration(&mut item)?);
                }
            }
        }
    }
    Ok(services)
}

fn service_configuration(item: &mut ScopedDecoder<'_, '_>) -> Result<ServiceConfiguration, XmlDecodeError> {
    let mut service = ServiceConfiguration::default();
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_string();
        match name.as_str() {
            "serviceId" => service.service_id = Some(text(&mut field)?),
            "privateDnsName" => service.private_dns_name = Some(text(&mut field)?),
            "networkLoadBalancerArnSet" => {
                while let Some(mut arn) = field.next_tag() {
                    if arn.start_el().matches("item") {
                        service.network_load_balancer_arns.push(text(&mut arn)?);
                    }
                }
            }
            "privateDnsNameConfiguration" => {
                let mut config = PrivateDnsNameConfiguration::default();
                while let Some(mut part) = field.next_tag() {
                    // Only the four text parts are read: an element EC2 adds later is skipped whole.
                    let slot = match part.start_el().local() {
                        "state" => &mut config.state,
                        "type" => &mut config.record_type,
                        "name" => &mut config.name,
                        "value" => &mut config.value,
                        _ => continue,
                    };
                    *slot = Some(text(&mut part)?);
                }
                service.private_dns_name_configuration = Some(config);
            }
            _ => {}
        }
    }
    Ok(service)
}

fn text(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(request: Result<HttpRequest, BoxError>) -> String {
        let request = request.unwrap();
        assert_eq!((request.method(), request.uri()), ("POST", "/"));
        assert_eq!(request.headers().get("content-type"), Some("application/x-www-form-urlencoded"));
        std::str::from_utf8(request.body().bytes().unwrap()).unwrap().to_string()
    }

    #[test]
    fn requests_are_ec2_query_forms() {
        let id = "vpce-svc-0123456789abcdef0".to_string();
        assert_eq!(
            body(describe_request(DescribeService { service_id: id.clone() })),
            "Action=DescribeVpcEndpointServiceConfigurations&Version=2016-11-15&ServiceId.1=vpce-svc-0123456789abcdef0"
        );
        assert_eq!(
            body(set_private_dns_name_request(SetPrivateDnsName {
                service_id: id.clone(),
                private_dns_name: "service.example.com".into()
            })),
            "Action=ModifyVpcEndpointServiceConfiguration&Version=2016-11-15&ServiceId=vpce-svc-0123456789abcdef0\
             &PrivateDnsName=service.example.com"
        );
        assert_eq!(
            body(start_verification_request(StartVerification { service_id: id })),
            "Action=StartVpcEndpointServicePrivateDnsVerification&Version=2016-11-15&ServiceId=vpce-svc-0123456789abcdef0"
        );
    }

    #[test]
    fn an_error_answer_reads_as_its_code_and_message() {
        let meta = error_metadata(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
              <Message>Request limit exceeded.</Message></Error></Errors><RequestID>abc</RequestID></Response>",
        )
        .unwrap();
        assert_eq!((meta.code(), meta.message()), (Some("RequestLimitExceeded"), Some("Request limit exceeded.")));
        assert!(error_metadata(b"not xml <").is_err());
    }

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        shared::sdk::config_from(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_endpoint_is_the_regions_unless_configured() {
        // aws-sdk-ec2 1.274.0's own endpoint test cases (its config/endpoint.rs), and one per partition.
        let (fips, dual_stack) = (("AWS_USE_FIPS_ENDPOINT", "true"), ("AWS_USE_DUALSTACK_ENDPOINT", "true"));
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("eu-west-1", &[], "https://ec2.eu-west-1.amazonaws.com"),
            ("us-east-1", &[fips], "https://ec2-fips.us-east-1.amazonaws.com"),
            ("eu-west-1", &[dual_stack], "https://ec2.eu-west-1.api.aws"),
            ("us-east-1", &[fips, dual_stack], "https://ec2-fips.us-east-1.api.aws"),
            ("cn-north-1", &[], "https://ec2.cn-north-1.amazonaws.com.cn"),
            ("cn-north-1", &[fips], "https://ec2-fips.cn-north-1.amazonaws.com.cn"),
            ("cn-north-1", &[dual_stack], "https://ec2.cn-north-1.api.amazonwebservices.com.cn"),
            ("us-gov-east-1", &[], "https://ec2.us-gov-east-1.amazonaws.com"),
            ("us-gov-east-1", &[fips], "https://ec2.us-gov-east-1.amazonaws.com"),
            ("us-gov-east-1", &[fips, dual_stack], "https://ec2-fips.us-gov-east-1.api.aws"),
            ("us-gov-east-1", &[dual_stack], "https://ec2.us-gov-east-1.api.aws"),
            ("us-iso-east-1", &[], "https://ec2.us-iso-east-1.c2s.ic.gov"),
            ("us-iso-east-1", &[fips], "https://ec2-fips.us-iso-east-1.c2s.ic.gov"),
            ("us-isob-east-1", &[fips], "https://ec2-fips.us-isob-east-1.sc2s.sgov.gov"),
            ("us-isof-south-1", &[], "https://ec2.us-isof-south-1.csp.hci.ic.gov"),
            ("eu-isoe-west-1", &[], "https://ec2.eu-isoe-west-1.cloud.adc-e.uk"),
            ("eusc-de-east-1", &[], "https://ec2.eusc-de-east-1.amazonaws.eu"),
            ("il-central-1", &[], "https://ec2.il-central-1.amazonaws.com"),
        ];
        for (region, vars, url) in cases {
            assert_eq!(endpoint(&config(vars), region).as_deref(), Ok(*url), "{region} {vars:?}");
        }
        let custom = ("AWS_ENDPOINT_URL", "http://localhost:5000");
        assert_eq!(endpoint(&config(&[custom]), "us-east-1").as_deref(), Ok("http://localhost:5000"));
        // As aws-sdk-ec2's rules: a custom endpoint is neither FIPS nor dual-stack.
        assert_eq!(
            endpoint(&config(&[custom, fips]), "us-east-1"),
            Err("Invalid Configuration: FIPS and custom endpoint are not supported")
        );
        assert_eq!(
            endpoint(&config(&[custom, dual_stack]), "us-east-1"),
            Err("Invalid Configuration: Dualstack and custom endpoint are not supported")
        );
        let both =
            config(&[("AWS_ENDPOINT_URL", "http://localhost:5000"), ("AWS_ENDPOINT_URL_EC2", "http://localhost:6000")]);
        assert_eq!(endpoint(&both, "us-east-1").as_deref(), Ok("http://localhost:6000"));
    }

    #[tokio::test]
    async fn without_a_region_each_call_fails_at_once_naming_it() {
        let client = Client::new(&config(&[("AWS_ACCESS_KEY_ID", "AKIDTEST"), ("AWS_SECRET_ACCESS_KEY", "secret")]));
        let err = client.describe_service("vpce-svc-0123456789abcdef0").await.unwrap_err();
        assert!(matches!(err, SdkError::ConstructionFailure(_)), "{err:?}");
        let reason = shared::sdk::describe(&err);
        assert!(reason.contains("Missing Region (AWS_REGION is not set)"), "{reason}");
    }

    #[test]
    fn a_service_is_read_past_elements_this_function_does_not_know() {
        // Real answers carry more than the four fields read (sets of items, nested structures); an
        // element EC2 adds inside privateDnsNameConfiguration must not break the read either.
        let body = "<DescribeVpcEndpointServiceConfigurationsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
            <requestId>r1</requestId><serviceConfigurationSet><item>\
            <serviceType><item><serviceType>Interface</serviceType></item></serviceType>\
            <serviceId>vpce-svc-1</serviceId><tagSet><item><key>name</key><value>not this</value></item></tagSet>\
            <privateDnsNameConfiguration><state>pendingVerification</state><details><item><name>x</name></item>\
            </details><type>TXT</type><value>vpce:abc</value><name>_label</name></privateDnsNameConfiguration>\
            <networkLoadBalancerArnSet><item>arn:nlb</item></networkLoadBalancerArnSet>\
            <privateDnsName>service.example.com</privateDnsName></item></serviceConfigurationSet>\
            </DescribeVpcEndpointServiceConfigurationsResponse>";
        let services = service_configurations(body.as_bytes()).unwrap();
        assert_eq!(
            services,
            [ServiceConfiguration {
                service_id: Some("vpce-svc-1".into()),
                private_dns_name: Some("service.example.com".into()),
                private_dns_name_configuration: Some(PrivateDnsNameConfiguration {
                    state: Some("pendingVerification".into()),
                    record_type: Some("TXT".into()),
                    name: Some("_label".into()),
                    value: Some("vpce:abc".into()),
                }),
                network_load_balancer_arns: vec!["arn:nlb".into()],
            }]
        );
    }
}
