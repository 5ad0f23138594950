//! A recording HTTP server on 127.0.0.1 whose answers a test scripts with a closure.
//! One thread per request, so a handler may block (the Runtime API's long poll does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status the stub answered with.
    pub answered: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct StubServer {
    pub port: u16,
    server: Arc<tiny_http::Server>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl StubServer {
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("binds a loopback port"));
        let port = server.server_addr().to_ip().unwrap().port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (srv, rec) = (server.clone(), recorded.clone());
        std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let (handler, rec) = (handler.clone(), rec.clone());
                std::thread::spawn(move || {
                    let mut body = Vec::new();
                    let _ = request.as_reader().read_to_end(&mut body);
                    let mut seen = Recorded {
                        method: request.method().as_str().to_string(),
                        url: request.url().to_string(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
                            .collect(),
                        body,
                        at: Instant::now(),
                        answered: 0,
                    };
                    let reply = handler(&seen);
                    seen.answered = reply.status;
                    rec.lock().unwrap().push(seen);
                    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
                    for (name, value) in reply.headers {
                        response.add_header(tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap());
                    }
                    let _ = request.respond(response);
                });
            }
        });
        Self { port, server, recorded }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request answered so far, in the order answered.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A ResponseURL receiver that answers 500 to the first `failures` PUTs and 200 afterwards.
pub fn response_receiver(failures: usize) -> StubServer {
    let count = Mutex::new(0usize);
    StubServer::start(move |request| {
        if request.method != "PUT" {
            return Reply::status(405);
        }
        let mut count = count.lock().unwrap();
        *count += 1;
        if *count <= failures { Reply::status(500) } else { Reply::status(200) }
    })
}

/// The VPC link id the scripted API Gateway knows.
pub const SCRIPTED_LINK: &str = "vl-scripted";

/// API Gateway (V1) whose VPC link [`SCRIPTED_LINK`] is PENDING for `pending_for`, then AVAILABLE:
/// the state moto cannot show. Every other id is NotFoundException.
pub fn scripted_apigateway(pending_for: std::time::Duration) -> StubServer {
    let started = Instant::now();
    StubServer::start(move |request| {
        if request.method == "GET" && request.path() == format!("/vpclinks/{SCRIPTED_LINK}") {
            let status = if started.elapsed() < pending_for { "PENDING" } else { "AVAILABLE" };
            Reply::json(
                200,
                &serde_json::json!({
                    "id": SCRIPTED_LINK, "name": "scripted", "status": status, "statusMessage": "",
                    "targetArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nlb/1"]
                }),
            )
        } else {
            Reply::json(404, &serde_json::json!({"message": "Invalid VPC link identifier specified"}))
                .header("x-amzn-ErrorType", "NotFoundException")
        }
    })
}
