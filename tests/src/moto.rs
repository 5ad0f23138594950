//! A real moto server on 127.0.0.1, one per test, stopped when dropped.

use crate::{free_port, repo_root};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

/// moto_server from the pinned virtual environment (`make venv`), or `MOTO_SERVER`.
fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let path = repo_root().join(".venv/bin/moto_server");
    assert!(
        path.is_file(),
        "moto_server not found at {}: run `make venv` (installs the pinned moto from tests/requirements.txt \
         into .venv), or set MOTO_SERVER to a moto_server binary",
        path.display()
    );
    path
}

impl MotoServer {
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts moto with settings it reads at start, e.g. `MOTO_ACM_VALIDATION_WAIT`.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(moto_binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "moto_server did not listen on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// SDK configuration pointing every client at this server.
    pub fn sdk_config(&self) -> SdkConfig {
        self.sdk_config_in("us-east-1")
    }

    /// The same, for another region.
    pub fn sdk_config_in(&self, region: &'static str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_apigateway::config::SharedCredentialsProvider::new(
                aws_sdk_apigateway::config::Credentials::new("test", "test", None, None, "moto"),
            ))
            .build()
    }

    /// Creates an S3 bucket that stands in for CloudFormation's response bucket.
    pub async fn create_bucket(&self, bucket: &str) {
        let answer = reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)).send().await.unwrap();
        assert!(answer.status().is_success(), "create bucket: {}", answer.status());
    }

    /// A presigned-looking ResponseURL into that bucket (moto does not check signatures).
    pub fn response_url(&self, bucket: &str, key: &str) -> String {
        format!("{}/{bucket}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=do-not-log-me", self.endpoint)
    }

    /// The response CloudFormation would read, if one was PUT.
    pub async fn read_response(&self, bucket: &str, key: &str) -> Option<serde_json::Value> {
        // moto refuses anonymous reads; it does not check signatures, so a presigned-style query will do.
        let url = format!("{}/{bucket}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=test", self.endpoint);
        let answer = reqwest::Client::new().get(url).send().await.unwrap();
        if !answer.status().is_success() {
            return None;
        }
        Some(serde_json::from_slice(&answer.bytes().await.unwrap()).expect("the response body is JSON"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private REST API as the toolkit's users build it: `ANY /{proxy+}` through a VPC link to an
/// NLB, deployed to `stages`. Returns the API id and its proxy resource id.
pub async fn private_rest_api(apigw: &aws_sdk_apigateway::Client, stages: &[&str]) -> (String, String) {
    let api = apigw.create_rest_api().name("private-api").send().await.unwrap();
    let api_id = api.id().unwrap().to_string();
    let resources = apigw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let root = resources.items().iter().find(|r| r.path() == Some("/")).unwrap().id().unwrap().to_string();
    let proxy =
        apigw.create_resource().rest_api_id(&api_id).parent_id(root).path_part("{proxy+}").send().await.unwrap();
    let proxy_id = proxy.id().unwrap().to_string();
    apigw
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&proxy_id)
        .http_method("ANY")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    let link = apigw
        .create_vpc_link()
        .name("nlb-link")
        .target_arns("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/1")
        .send()
        .await
        .unwrap();
    apigw
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(&proxy_id)
        .http_method("ANY")
        .r#type(aws_sdk_apigateway::types::IntegrationType::HttpProxy)
        .integration_http_method("ANY")
        .uri("http://internal-nlb.example/{proxy}")
        .connection_type(aws_sdk_apigateway::types::ConnectionType::VpcLink)
        .connection_id(link.id().unwrap())
        .send()
        .await
        .unwrap();
    for stage in stages {
        apigw.create_deployment().rest_api_id(&api_id).stage_name(*stage).send().await.unwrap();
    }
    (api_id, proxy_id)
}
