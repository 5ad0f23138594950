//! The three EC2 calls this function makes, on the SDK's own runtime: each is an aws-smithy-runtime
//! `Operation` (the orchestrator every SDK client runs on: SigV4 signing, standard retries with AWS's
//! throttling and transient error codes, timeouts, interceptors, the SDK's HTTP client), with its
//! request and response written here in EC2's query protocol.
//!
//! Why not the aws-sdk-ec2 crate: it models every EC2 operation (several hundred) and, measured on
//! the 2-core reference machine, took 162-176 s of one core to compile in each build profile, more
//! than every other SDK crate of the toolkit together: a fresh `make test` or `make demo` could not
//! meet its time goal with it (docs/testing.md, "The build's time"). This function needs three
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

/// The three operations, built once at init.
pub struct Client {
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
        let base = Base::new(config, interceptors);
        Self {
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
        }
    }

    /// The service's configuration; EC2 answers an unknown id with an error (see aws.rs).
    pub async fn describe_service(&self, service_id: &str) -> Ec2Result<Vec<ServiceConfiguration>> {
        self.describe.invoke(DescribeService { service_id: service_id.to_string() }).await
    }

    pub async fn set_private_dns_name(&self, service_id: &str, name: &str) -> Ec2Result<()> {
        let input = SetPrivateDnsName { service_id: service_id.to_string(), private_dns_name: name.to_string() };
        self.set_private_dns_name.invoke(input).await
    }

    pub async fn start_verification(&self, service_id: &str) -> Ec2Result<()> {
        self.start_verification.invoke(StartVerification { service_id: service_id.to_string() }).await
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
    fn new(config: &SdkConfig, interceptors: Vec<SharedInterceptor>) -> Self {
        let region = config.region().map(|r| r.as_ref().to_string()).unwrap_or_default();
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
        Self { endpoint: endpoint(config, &region), auth, config: config.clone(), interceptors }
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

/// EC2's endpoint, as the SDK resolves it: `AWS_ENDPOINT_URL_EC2`, then `AWS_ENDPOINT_URL` (both in the
/// config, see shared::sdk), then the region's: `ec2.<region>.amazonaws.com`, `ec2-fips.` with FIPS,
/// `ec2.<region>.api.aws` dual-stack; `amazonaws.com.cn` in the China regions (Amazon EC2 developer
/// guide, "Amazon EC2 service endpoints"; AWS General Reference, "FIPS endpoints").
fn endpoint(config: &SdkConfig, region: &str) -> String {
    let key = ServiceConfigKey::builder().service_id("EC2").env("AWS_ENDPOINT_URL").profile("endpoint_url").build();
    let service_url = key.ok().and_then(|key| config.service_config()?.load_config(key));
    if let Some(url) = service_url.or_else(|| config.endpoint_url().map(str::to_string)) {
        return url;
    }
    let host = if config.use_fips().unwrap_or(false) { "ec2-fips" } else { "ec2" };
    let dual_stack = config.use_dual_stack().unwrap_or(false);
    let domain = match (region.starts_with("cn-"), dual_stack) {
        (false, false) => "amazonaws.com",
        (false, true) => "api.aws",
        (true, false) => "amazonaws.com.cn",
        (true, true) => "api.amazonwebservices.com.cn",
    };
    format!("https://{host}.{region}.{domain}")
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
                    let part_name = part.start_el().local().to_string();
                    let value = Some(text(&mut part)?);
                    match part_name.as_str() {
                        "state" => config.state = value,
                        "type" => config.record_type = value,
                        "name" => config.name = value,
                        "value" => config.value = value,
                        _ => {}
                    }
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

    #[test]
    fn the_endpoint_is_the_regions_unless_configured() {
        let config =
            |vars: &[(&str, &str)]| shared::sdk::config_from(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(endpoint(&config(&[]), "eu-west-1"), "https://ec2.eu-west-1.amazonaws.com");
        assert_eq!(
            endpoint(&config(&[("AWS_USE_FIPS_ENDPOINT", "true")]), "us-east-1"),
            "https://ec2-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            endpoint(&config(&[("AWS_USE_DUALSTACK_ENDPOINT", "true")]), "eu-west-1"),
            "https://ec2.eu-west-1.api.aws"
        );
        assert_eq!(endpoint(&config(&[]), "cn-north-1"), "https://ec2.cn-north-1.amazonaws.com.cn");
        assert_eq!(
            endpoint(&config(&[("AWS_ENDPOINT_URL", "http://localhost:5000")]), "us-east-1"),
            "http://localhost:5000"
        );
        let both =
            config(&[("AWS_ENDPOINT_URL", "http://localhost:5000"), ("AWS_ENDPOINT_URL_EC2", "http://localhost:6000")]);
        assert_eq!(endpoint(&both, "us-east-1"), "http://localhost:6000");
    }
}
