//! A recording HTTP server on 127.0.0.1 whose answers a test scripts with a closure.
//! One thread per connection, so a handler may block (the Runtime API's long poll does).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

    /// No answer at all: the connection is closed once the request has been read (a reply lost on
    /// the way back). Recorded with status 0.
    pub fn drop_connection() -> Self {
        Self::status(Self::DROPPED)
    }

    const DROPPED: u16 = 0;
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// One request per connection, answered with `Connection: close`: clients never hold idle
/// connections to a stub, so nothing waits behind them.
pub struct StubServer {
    pub port: u16,
    stopping: Arc<AtomicBool>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl StubServer {
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds a loopback port");
        let port = listener.local_addr().unwrap().port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (rec, stop) = (recorded.clone(), stopping.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, rec) = (handler.clone(), rec.clone());
                std::thread::spawn(move || serve(stream, &*handler, &rec));
            }
        });
        Self { port, stopping, recorded }
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
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Recorded>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Some(mut seen) = read_request(&mut stream) else { return };
    let reply = handler(&seen);
    seen.answered = reply.status;
    recorded.lock().unwrap().push(seen);
    if reply.status == Reply::DROPPED {
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ =
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&reply.body)).and_then(|()| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Reads one HTTP/1.1 request: head, then a Content-Length or chunked body.
fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let (head_len, method, url, headers) = loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut slots = [httparse::EMPTY_HEADER; 96];
        let mut request = httparse::Request::new(&mut slots);
        if let httparse::Status::Complete(len) = request.parse(&buffer).ok()? {
            let headers: HashMap<String, String> = request
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                .collect();
            break (len, request.method?.to_string(), request.path?.to_string(), headers);
        }
    };
    if headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let mut rest = buffer.split_off(head_len);
    let body = if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(stream, rest)?
    } else {
        let length: usize = headers.get("content-length").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        while rest.len() < length {
            let read = stream.read(&mut chunk).ok()?;
            if read == 0 {
                return None;
            }
            rest.extend_from_slice(&chunk[..read]);
        }
        rest.truncate(length);
        rest
    };
    Some(Recorded { method, url, headers, body, at: Instant::now(), answered: 0 })
}

fn read_chunked(stream: &mut TcpStream, mut data: Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // Enough buffered for the size line?
        if let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&data[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            let needed = line_end + 2 + size + 2;
            if size == 0 {
                return Some(body);
            }
            if data.len() >= needed {
                body.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
                data.drain(..needed);
                continue;
            }
        }
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..read]);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
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
