//! The HTTP side of the double: a loopback listener served by axum on the
//! double's own thread and tokio runtime (so it works from `#[tokio::test]`,
//! plain `#[test]` and for a subprocess alike), and the request pipeline
//! every route goes through:
//!
//! 1. record the request (never the token); strip the Enterprise `/api/v3`;
//! 2. route it, or answer 404 and record it as unexpected;
//! 3. refuse unknown tokens (401) when the test restricted them, and
//!    anonymous writes (401 "Requires authentication");
//! 4. armed faults: broken repository (502), next-N 5xx on a path,
//!    secondary rate limit (403/429 + `retry-after`), then for
//!    content-creating requests (POST, PATCH, PUT, DELETE) the next-N write
//!    limit and the writes-per-minute window (403 + `retry-after`);
//! 5. primary rate limit exhausted: 403 with GitHub's message;
//! 6. check the request body, run the handler, check the answer against
//!    GitHub's schema (a mismatch is a test failure, answered 500);
//! 7. `ETag` on 200 GETs, `If-None-Match` -> 304 (free with a token, as on
//!    GitHub; anonymous conditional requests still cost a point);
//! 8. charge the caller's bucket; `x-ratelimit-*` on every answer.
//!
//! Artificial latency is applied before all of it; a slow path
//! (`drip`/`hang`) answers its body one byte at a time, or never.

use std::collections::hash_map::DefaultHasher;
use std::future::IntoFuture;
use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{self, Request};
use axum::http::{HeaderMap, Method, Response, Uri, header};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::render::Urls;
use super::routes::{self, Call, Route};
use super::spec::spec;
use super::state::{CallerKey, Problem, Recorded, Slow, State, is_write_method, token_hash};

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// What the server thread and the test's handle share.
pub(super) struct Shared {
    state: Mutex<State>,
    pub urls: Urls,
    /// `""` on github.com, `"/api/v3"` on Enterprise Server.
    base_path: &'static str,
    request_ids: AtomicU64,
}

impl Shared {
    /// The state, even after a handler panicked while holding it.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running server; stops (and joins its thread) on drop.
pub(super) struct Server {
    pub shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves from a new thread. The
    /// socket listens before this returns, so no readiness wait is needed.
    pub fn start(base_path: &'static str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("GitHub double: bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("bound address");
        let web = format!("http://{addr}");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            urls: Urls {
                api: format!("{web}{base_path}"),
                web,
            },
            base_path,
            request_ids: AtomicU64::new(0),
        });
        let app = Router::new().fallback(entry).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("github-double-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("GitHub double: tokio runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        served = axum::serve(listener, app).into_future() => served.expect("GitHub double: serve"),
                        _ = stopped => {}
                    }
                });
            })
            .expect("GitHub double: spawn server thread");
        Server {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn entry(
    extract::State(shared): extract::State<Arc<Shared>>,
    request: Request,
) -> Response<Body> {
    let gate = {
        let mut state = shared.lock();
        let holds = &mut state.faults.holds;
        let path = request.uri().path();
        let method = request.method().as_str();
        holds
            .iter()
            .position(|(m, p, _)| m == method && p == path)
            .map(|i| holds.remove(i).2)
    };
    if let Some(gate) = gate {
        use std::sync::atomic::Ordering;
        gate.held.store(true, Ordering::SeqCst);
        while !gate.open.load(Ordering::SeqCst) {
            if gate.abandon.load(Ordering::SeqCst) {
                return Response::builder()
                    .status(502)
                    .body(Body::from("abandoned"))
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (latency, slow) = {
        let state = shared.lock();
        (state.faults.latency, state.faults.slow.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let slow = slow
        .filter(|(prefix, _)| request.uri().path().starts_with(prefix.as_str()))
        .map(|(_, how)| how);
    if slow == Some(Slow::Hang) {
        // Never answered; the connection is dropped with the server.
        std::future::pending::<()>().await;
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 32 << 20)
        .await
        .unwrap_or_default();
    let response = shared.handle(&parts.method, &parts.uri, &parts.headers, &body);
    match slow {
        Some(Slow::Drip(every)) => drip(response, every).await,
        _ => response,
    }
}

/// `response` with its status and headers at once and its body one byte
/// every `every`.
async fn drip(response: Response<Body>, every: Duration) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let (mut tx, channel) = http_body_util::channel::Channel::<bytes::Bytes>::new(1);
    tokio::spawn(async move {
        for i in 0..bytes.len() {
            tokio::time::sleep(every).await;
            if tx.send_data(bytes.slice(i..=i)).await.is_err() {
                break;
            }
        }
    });
    Response::from_parts(parts, Body::new(channel))
}

/// What the pipeline decided, before it becomes an HTTP response.
struct Outcome {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    /// Costs a point of the primary rate limit.
    charged: bool,
    /// The bucket whose `x-ratelimit-*` the answer shows.
    bucket_of: CallerKey,
}

impl Shared {
    fn handle(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Body> {
        let now = unix_now();
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let credentials = text(header::AUTHORIZATION)
            .map(|v| v.split_once(' ').map_or(v.clone(), |(_, c)| c.to_owned()));
        let caller = credentials
            .as_deref()
            .map_or(CallerKey::Anonymous, |c| CallerKey::Token(token_hash(c)));
        let mut record = Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            operation: None,
            authorized: credentials.is_some(),
            if_none_match: text(header::IF_NONE_MATCH),
            user_agent: text(header::USER_AGENT),
            accept: text(header::ACCEPT),
            body: serde_json::from_slice(body).ok(),
            status: 0,
            charged: false,
        };

        let mut state = self.lock();
        let credentials_for_app = credentials.clone();
        let api_path = uri
            .path()
            .strip_prefix(self.base_path)
            .filter(|p| p.starts_with('/'));
        let outcome = match api_path.and_then(|p| routes::find(method, p)) {
            Some((route, params)) => {
                record.operation = Some(route.operation);
                let call = Call {
                    params,
                    query: parse_query(uri.query()),
                    caller,
                    urls: &self.urls,
                    body: None,
                    installation: None,
                };
                let path = api_path.unwrap_or_default();
                let write_to = is_write_method(route.method.as_str())
                    .then(|| call.repo_key(&state))
                    .flatten();
                match super::apps::authenticate(
                    &mut state,
                    route.operation,
                    credentials_for_app.as_deref(),
                    write_to.as_deref(),
                ) {
                    Err((status, message)) => Outcome {
                        status,
                        body: Some(error_body(status, message, "https://docs.github.com/rest")),
                        headers: Vec::new(),
                        charged: false,
                        bucket_of: CallerKey::Anonymous,
                    },
                    Ok(app_caller) => {
                        let mut call = call;
                        let app_credential = !matches!(app_caller, super::apps::AppCaller::Other);
                        if let super::apps::AppCaller::Installation(id) = app_caller {
                            call.installation = Some(id);
                        }
                        self.serve(
                            &mut state,
                            route,
                            call,
                            path,
                            headers,
                            body,
                            now,
                            app_credential,
                        )
                    }
                }
            }
            None => Outcome {
                status: 404,
                body: Some(error_body(404, "Not Found", "https://docs.github.com/rest")),
                headers: Vec::new(),
                charged: true,
                bucket_of: caller,
            },
        };

        let bucket = state.bucket(outcome.bucket_of, now);
        let charged = outcome.charged && bucket.remaining > 0;
        if charged {
            bucket.remaining -= 1;
        }
        let bucket = *bucket;
        record.status = outcome.status;
        record.charged = charged;
        if record.operation.is_none() {
            state.problems.push(Problem::Unexpected(record.clone()));
        }
        state.requests.push(record);
        drop(state);

        let mut response = Response::builder().status(outcome.status);
        let request_id = self.request_ids.fetch_add(1, Ordering::Relaxed);
        let common = [
            ("x-ratelimit-limit", bucket.limit.to_string()),
            ("x-ratelimit-remaining", bucket.remaining.to_string()),
            ("x-ratelimit-reset", bucket.reset.to_string()),
            ("x-ratelimit-used", bucket.used().to_string()),
            ("x-ratelimit-resource", "core".to_owned()),
            ("x-github-api-version-selected", "2022-11-28".to_owned()),
            ("x-github-media-type", "github.v3; format=json".to_owned()),
            (
                "x-github-request-id",
                format!("D0B1:{request_id:04X}:{:06X}", now & 0xff_ffff),
            ),
        ];
        for (name, value) in common.into_iter().chain(outcome.headers) {
            response = response.header(name, value);
        }
        if !self.base_path.is_empty() {
            response = response.header("x-github-enterprise-version", "3.14.0");
        }
        match outcome.body {
            Some(body) => response
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(Body::from(serde_json::to_vec(&body).expect("JSON"))),
            None => response.body(Body::empty()),
        }
        .expect("valid response")
    }

    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        state: &mut State,
        route: &'static Route,
        mut call: Call,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        app_credential: bool,
    ) -> Outcome {
        let op = route.operation;
        let docs = spec()
            .docs_url(op)
            .unwrap_or("https://docs.github.com/rest")
            .to_owned();
        let refuse = |status: u16, message: &str, bucket_of: CallerKey| Outcome {
            status,
            body: Some(error_body(status, message, &docs)),
            headers: Vec::new(),
            charged: false,
            bucket_of,
        };

        // 3. Credentials.
        if let (CallerKey::Token(hash), Some(valid)) = (call.caller, &state.valid_tokens)
            && !app_credential
            && !valid.contains(&hash)
        {
            return refuse(401, "Bad credentials", CallerKey::Anonymous);
        }
        let write = is_write_method(route.method.as_str());
        if write && !call.caller.authorized() {
            return refuse(401, "Requires authentication", call.caller);
        }
        if write && state.faults.read_only && !app_credential {
            return refuse(
                403,
                "Resource not accessible by personal access token",
                call.caller,
            );
        }

        // 4. Faults.
        if call
            .repo_key(state)
            .is_some_and(|key| state.faults.broken_repos.contains(&key))
        {
            return refuse(502, "Server Error", call.caller);
        }
        if let Some(fault) = state
            .faults
            .server_errors
            .iter_mut()
            .find(|(p, _, left, only)| {
                p == path && *left > 0 && only.as_deref().is_none_or(|m| m == route.method.as_str())
            })
        {
            fault.2 -= 1;
            let status = fault.1;
            return refuse(status, "Server Error", call.caller);
        }
        if let Some((status, retry_after)) = state.faults.secondary.pop_front() {
            let mut out = refuse(status, SECONDARY_LIMIT, call.caller);
            out.body = Some(error_body(status, SECONDARY_LIMIT, SECONDARY_DOCS));
            out.headers.push(("retry-after", retry_after.to_string()));
            return out;
        }
        if write {
            let limited = match state.faults.secondary_writes.pop_front() {
                Some(retry_after) => Some(retry_after),
                None => admit_write(state),
            };
            if let Some(retry_after) = limited {
                let mut out = refuse(403, SECONDARY_LIMIT, call.caller);
                out.body = Some(error_body(403, SECONDARY_LIMIT, SECONDARY_DOCS));
                out.headers.push(("retry-after", retry_after.to_string()));
                return out;
            }
        }

        // 5. Primary rate limit (GET /rate_limit is always free).
        let free = op == "rate-limit/get";
        if !free && state.bucket(call.caller, now).remaining == 0 {
            let message = if call.caller.authorized() {
                "API rate limit exceeded for user ID 1.".to_owned()
            } else {
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)".to_owned()
            };
            let mut out = refuse(403, &message, call.caller);
            out.body = Some(error_body(403, &message, PRIMARY_DOCS));
            return out;
        }

        // 6. Request body, handler, response schema.
        if !body.is_empty() {
            let json: Value = match serde_json::from_slice(body) {
                Ok(json) => json,
                Err(_) => {
                    let mut out = refuse(400, "Problems parsing JSON", call.caller);
                    out.charged = true;
                    return out;
                }
            };
            if let Err(errors) = spec().check_request(op, &json) {
                state.problems.push(Problem::InvalidRequest {
                    operation: op,
                    errors: errors.clone(),
                });
                let mut out = refuse(422, &format!("Invalid request.\n\n{errors}"), call.caller);
                out.charged = true;
                return out;
            }
            call.body = Some(json);
        }
        let mut reply = match catch_unwind(AssertUnwindSafe(|| (route.handler)(state, &call))) {
            Ok(reply) => reply,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                state.problems.push(Problem::Panicked {
                    operation: op,
                    message: message.clone(),
                });
                return refuse(
                    500,
                    &format!("GitHub double: handler panicked: {message}"),
                    call.caller,
                );
            }
        };
        if reply.status >= 400
            && let Some(fields) = reply.body.as_object_mut()
        {
            fields
                .entry("documentation_url")
                .or_insert_with(|| json!(docs));
            fields
                .entry("status")
                .or_insert_with(|| json!(reply.status.to_string()));
        }
        if let Some(corrupt) = state.faults.corrupt_next.take() {
            corrupt(&mut reply.body);
        }
        if let Err(errors) = spec().check_response(op, reply.status, &reply.body) {
            let problem = Problem::InvalidResponse {
                operation: op,
                status: reply.status,
                errors,
            };
            let message = format!("GitHub double: {problem}");
            state.problems.push(problem);
            let mut out = refuse(500, &message, call.caller);
            out.charged = true;
            return out;
        }

        // 7. ETag and conditional requests.
        let mut out = Outcome {
            status: reply.status,
            body: Some(reply.body),
            headers: reply.headers,
            charged: !free,
            bucket_of: call.caller,
        };
        if route.method == Method::GET && out.status == 200 {
            let bytes = serde_json::to_vec(out.body.as_ref().expect("body")).expect("JSON");
            let etag = etag(&bytes, !state.strong_etags);
            let cache = if call.caller.authorized() {
                "private"
            } else {
                "public"
            };
            out.headers
                .push(("cache-control", format!("{cache}, max-age=60, s-maxage=60")));
            out.headers.push((
                "vary",
                "Accept, Authorization, Cookie, X-GitHub-OTP".to_owned(),
            ));
            out.headers.push(("etag", etag.clone()));
            let if_none_match = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            if if_none_match.is_some_and(|tags| etag_matches(tags, &etag)) {
                out.status = 304;
                out.body = None;
                out.headers.retain(|(name, _)| *name != "link");
                // GitHub: free only "while correctly authorized with an Authorization header".
                out.charged = !free && !call.caller.authorized();
            }
        }
        out
    }
}

/// The writes-per-minute window: `None` admits the write (and counts it),
/// `Some(seconds)` is the `retry-after` until the window has room.
fn admit_write(state: &mut State) -> Option<u64> {
    let limit = state.faults.writes_per_minute?;
    let now = Instant::now();
    let window = Duration::from_secs(60);
    let recent = &mut state.faults.recent_writes;
    while recent
        .front()
        .is_some_and(|at| now.duration_since(*at) >= window)
    {
        recent.pop_front();
    }
    if recent.len() >= limit {
        let oldest = *recent.front().expect("limit is at least 1");
        let wait = window.saturating_sub(now.duration_since(oldest));
        return Some(wait.as_secs_f64().ceil().max(1.0) as u64);
    }
    recent.push_back(now);
    None
}

const SECONDARY_LIMIT: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID D0B1:0000:000000:000000:00000000.";
const SECONDARY_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
const PRIMARY_DOCS: &str =
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits";

fn error_body(status: u16, message: &str, docs: &str) -> Value {
    json!({ "message": message, "documentation_url": docs, "status": status.to_string() })
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A 32-hex-digit tag over the body; `W/` when weak.
fn etag(body: &[u8], weak: bool) -> String {
    let mut first = DefaultHasher::new();
    body.hash(&mut first);
    let mut second = DefaultHasher::new();
    (body.len(), first.finish()).hash(&mut second);
    let tag = format!("\"{:016x}{:016x}\"", first.finish(), second.finish());
    if weak { format!("W/{tag}") } else { tag }
}

/// `If-None-Match` uses the weak comparison: `W/` is ignored, `*` matches.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == opaque(etag))
}
