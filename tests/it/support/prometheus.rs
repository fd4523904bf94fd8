//! A real Prometheus for tests: Debian's `prometheus` (2.42) on 127.0.0.1
//! with a free port and a temporary TSDB directory, scraping one target
//! every second: a [`MetricsTarget`], a tiny HTTP server the test controls
//! (`GET /metrics` answers whatever text it was last given). Stopped (by
//! its PID) when the handle is dropped.
//!
//! ```ignore
//! use crate::support::prometheus::{PrometheusServer, kube_pod_container_info};
//!
//! let prom = PrometheusServer::start();  // several seconds: start once per test
//! prom.target().set(&kube_pod_container_info(
//!     "eth", "geth-0", "geth", "ethereum/client-go:v1.14.0", "docker-pullable://ethereum/client-go@sha256:…",
//! ));
//! // Never sleep: poll the API until the scrape shows up (the first sample
//! // takes a few seconds, a change about one scrape, ~1 s).
//! let result = prom.wait_for(
//!     r#"kube_pod_container_info{pod="geth-0"}"#,
//!     |r| samples(r).len() == 1,
//!     Duration::from_secs(30),
//! );
//! let client = Prometheus::new(&prom.url(), Auth::None, PrometheusOptions::default())?;
//! ```
//!
//! Scrapes run every second (`scrape_interval`, `evaluation_interval`,
//! `scrape_timeout`: 1s), job `upkeep-test`, so every series also carries
//! `job="upkeep-test"` and `instance="127.0.0.1:PORT"`. A series the target
//! stops serving is marked stale at the next scrape and leaves instant
//! queries at once.
//!
//! [`PrometheusServer::wait_for`] and [`PrometheusServer::query`] read the
//! HTTP API with their own minimal client (plain TCP, `serde_json`), not
//! upkeep's, and hand predicates the raw `data.result` JSON; [`samples`]
//! turns a vector result into `(labels, value)` pairs.
//!
//! When `prometheus` is missing the test fails and says to install Debian's
//! `prometheus` package: `.ci/run` installs it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest as _;

/// The scrape job's name.
pub const JOB: &str = "upkeep-test";

/// A `/metrics` endpoint on 127.0.0.1 serving the text it was last given
/// (Prometheus text format 0.0.4). Stops its thread when dropped.
pub struct MetricsTarget {
    port: u16,
    text: Arc<Mutex<String>>,
    scrapes: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsTarget {
    /// Serves `text` (a final newline is added when missing).
    pub fn start(text: &str) -> MetricsTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the metrics target");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(with_newline(text)));
        let scrapes = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (text, scrapes, stop) = (shared.clone(), scrapes.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let head = read_head(&mut stream);
                    let answer = if head.starts_with("GET /metrics ") {
                        scrapes.fetch_add(1, Ordering::SeqCst);
                        let body = text.lock().unwrap().clone();
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_string()
                    };
                    let _ = stream.write_all(answer.as_bytes());
                }
            })
        };
        MetricsTarget {
            port,
            text: shared,
            scrapes,
            stop,
            thread: Some(thread),
        }
    }

    /// Replaces the served text; the next scrape (within about a second)
    /// sees it.
    pub fn set(&self, text: &str) {
        *self.text.lock().unwrap() = with_newline(text);
    }

    /// `127.0.0.1:PORT`: the `instance` label of every scraped series.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// How many times `/metrics` was fetched.
    pub fn scrapes(&self) -> usize {
        self.scrapes.load(Ordering::SeqCst)
    }
}

impl Drop for MetricsTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accept loop so that it sees the flag
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// Reads a request head (up to the blank line) and returns it as text.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") && raw.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}

/// A running `prometheus` scraping its [`MetricsTarget`].
pub struct PrometheusServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
    target: MetricsTarget,
}

impl PrometheusServer {
    /// A server scraping a target that serves nothing yet (set it with
    /// [`PrometheusServer::target`]).
    pub fn start() -> PrometheusServer {
        PrometheusServer::start_with("")
    }

    /// A server scraping a target that serves `text` from the start.
    pub fn start_with(text: &str) -> PrometheusServer {
        let found = Command::new("sh")
            .args(["-c", "command -v prometheus"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`prometheus` is not installed: the Prometheus tests need it (apt-get install -y prometheus; .ci/run does this)"
        );
        let target = MetricsTarget::start(text);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{}']\n",
                target.address()
            ),
        )
        .unwrap();
        let log_path = dir.path().join("prometheus.log");
        // A freshly released port can be taken before prometheus binds it:
        // try a few.
        for _ in 0..5 {
            let port = {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start prometheus");
            if wait_ready(&mut child, port) {
                return PrometheusServer {
                    port,
                    dir,
                    child,
                    target,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "prometheus did not start; its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`: the base URL for the client.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The scraped target.
    pub fn target(&self) -> &MetricsTarget {
        &self.target
    }

    /// An instant query through the HTTP API: `data.result` of a success,
    /// or the error text (status and body).
    pub fn query(&self, promql: &str) -> Result<Value, String> {
        let encoded: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let (status, body) = get(self.port, &format!("/api/v1/query?query={encoded}"))
            .map_err(|e| format!("GET failed: {e}"))?;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|_| format!("{status}: {}", String::from_utf8_lossy(&body)))?;
        if status == 200 && json["status"] == "success" {
            Ok(json["data"]["result"].clone())
        } else {
            Err(format!("{status}: {json}"))
        }
    }

    /// Polls `promql` (every 100 ms) until `ready` holds for its
    /// `data.result`, and returns that result. Fails after `timeout` with
    /// the last result or error, the target's scrape count and the server's
    /// log.
    pub fn wait_for(
        &self,
        promql: &str,
        ready: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        let started = Instant::now();
        let mut last;
        loop {
            last = self.query(promql);
            if let Ok(result) = &last
                && ready(result)
            {
                return result.clone();
            }
            if started.elapsed() >= timeout {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "`{promql}` did not give the expected result within {timeout:?}; last: {last:?}; the target was scraped {} time(s); prometheus log:\n{}",
            self.target.scrapes(),
            std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
        );
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A vector result's samples as `(labels, value text)`; empty for anything
/// else.
pub fn samples(result: &Value) -> Vec<(BTreeMap<String, String>, String)> {
    result
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let labels = item["metric"]
                        .as_object()?
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect();
                    let value = item["value"][1].as_str()?.to_string();
                    Some((labels, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One `kube_pod_container_info` line as kube-state-metrics writes it
/// (value 1, a `uid` derived from namespace and pod), ending in a newline
/// so that lines concatenate into a scrape body.
pub fn kube_pod_container_info(
    namespace: &str,
    pod: &str,
    container: &str,
    image: &str,
    image_id: &str,
) -> String {
    let hash = sha2::Sha256::digest(format!("{namespace}/{pod}").as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let uid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    format!(
        "kube_pod_container_info{{namespace=\"{}\",pod=\"{}\",container=\"{}\",image=\"{}\",image_id=\"{}\",uid=\"{uid}\"}} 1\n",
        escape(namespace),
        escape(pod),
        escape(container),
        escape(image),
        escape(image_id)
    )
}

/// A label value in the text format: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Ready when `/-/ready` answers 200; false if the process exits or 20 s
/// pass.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if get(port, "/-/ready").is_ok_and(|(status, _)| status == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `GET path` over HTTP/1.0 (no chunking, the server closes): status and
/// body.
fn get(port: u16, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(
        format!(
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: upkeep-tests\r\n\r\n"
        )
        .as_bytes(),
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP answer"))?;
    let status = String::from_utf8_lossy(&raw[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    Ok((status, raw[split + 4..].to_vec()))
}
