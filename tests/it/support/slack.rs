//! A Slack incoming-webhook double for tests, and a typed schema of the
//! Block Kit upkeep sends.
//!
//! The server runs on 127.0.0.1 on its own thread and tokio runtime (like
//! `git_http.rs`), records every request, and answers as Slack does:
//! `200 ok` for a JSON body with `text` or `blocks`, `400 invalid_payload`
//! otherwise; answers can be programmed per webhook.
//!
//! ```ignore
//! let slack = SlackDouble::start();
//! let url = slack.webhook("ops");             // http://127.0.0.1:PORT/services/T0/ops/secret-ops
//! slack.answer_next("ops", [Answer::RateLimited { retry_after: 1 }]);
//! slack.answer_always("ops", Answer::Status(500, "internal_error"));
//! let payloads = slack.payloads("ops");       // bodies Slack accepted, parsed
//! for p in &payloads { blockkit::check(p); }  // typed + Slack's limits
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};

/// A programmed answer.
#[derive(Clone, Debug)]
pub enum Answer {
    /// What Slack answers to a valid message.
    Ok,
    /// `429` with `Retry-After` (seconds).
    RateLimited { retry_after: u64 },
    /// Any status with a text body (`400 invalid_payload`, `500 …`).
    Status(u16, &'static str),
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Captured {
    pub method: String,
    /// The webhook's name (the path segment after `/services/T0/`).
    pub webhook: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: String,
    pub at: Instant,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    captured: Vec<Captured>,
    next: HashMap<String, VecDeque<Answer>>,
    always: HashMap<String, Answer>,
}

pub struct SlackDouble {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SlackDouble {
    pub fn start() -> SlackDouble {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = shared.clone();
                        async move { answer(&state, method, uri, headers, body) }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        SlackDouble {
            addr,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The webhook URL of channel `name`; its path holds a "secret" that
    /// upkeep must never print: `secret-<name>`.
    pub fn webhook(&self, name: &str) -> String {
        format!("http://{}/services/T0/{name}/secret-{name}", self.addr)
    }

    /// `127.0.0.1:PORT`, as upkeep shows the webhook.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The next requests to `name`'s webhook get these answers, in order.
    pub fn answer_next(&self, name: &str, answers: impl IntoIterator<Item = Answer>) {
        let mut s = self.state.lock().unwrap();
        s.next.entry(name.to_string()).or_default().extend(answers);
    }

    /// Every request to `name`'s webhook gets this answer (after any
    /// queued with [`answer_next`]).
    pub fn answer_always(&self, name: &str, answer: Answer) {
        self.state
            .lock()
            .unwrap()
            .always
            .insert(name.to_string(), answer);
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.state.lock().unwrap().captured.clone()
    }

    /// Requests to `name`'s webhook.
    pub fn requests(&self, name: &str) -> Vec<Captured> {
        self.captured()
            .into_iter()
            .filter(|c| c.webhook == name)
            .collect()
    }

    /// The messages `name`'s webhook accepted, parsed as JSON.
    pub fn payloads(&self, name: &str) -> Vec<serde_json::Value> {
        self.requests(name)
            .into_iter()
            .filter(|c| c.status == 200)
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .collect()
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().captured.clear();
    }
}

impl Drop for SlackDouble {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(
    state: &Mutex<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_string();
    let webhook = path
        .strip_prefix("/services/T0/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut s = state.lock().unwrap();
    let programmed = s
        .next
        .get_mut(&webhook)
        .and_then(VecDeque::pop_front)
        .or_else(|| s.always.get(&webhook).cloned());
    let (status, retry_after, reply) = if webhook.is_empty() || method != Method::POST {
        (404, None, "no_service")
    } else {
        match programmed.unwrap_or(Answer::Ok) {
            Answer::RateLimited { retry_after } => (429, Some(retry_after), "rate_limited"),
            Answer::Status(code, reply) => (code, None, reply),
            Answer::Ok => {
                let valid = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .is_some_and(|o| o.contains_key("text") || o.contains_key("blocks"));
                if valid {
                    (200, None, "ok")
                } else {
                    (400, None, "invalid_payload")
                }
            }
        }
    };
    s.captured.push(Captured {
        method: method.to_string(),
        webhook,
        path,
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: text,
        at: Instant::now(),
        status,
    });
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "text/plain");
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(Body::from(reply)).unwrap()
}

/// A typed schema of the Block Kit blocks upkeep uses: every field known,
/// nothing else allowed; and Slack's limits.
pub mod blockkit {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Message {
        pub text: String,
        pub blocks: Vec<Block>,
        #[serde(default)]
        pub unfurl_links: Option<bool>,
        #[serde(default)]
        pub unfurl_media: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    pub enum Block {
        Header { text: Text },
        Section { text: Text },
        Context { elements: Vec<Text> },
        Divider,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    pub enum Text {
        PlainText {
            text: String,
            #[serde(default)]
            #[allow(dead_code)] // part of the schema; any bool is fine
            emoji: Option<bool>,
        },
        Mrkdwn {
            text: String,
            #[serde(default)]
            #[allow(dead_code)] // part of the schema; any bool is fine
            verbatim: Option<bool>,
        },
    }

    impl Text {
        pub fn text(&self) -> &str {
            match self {
                Text::PlainText { text, .. } | Text::Mrkdwn { text, .. } => text,
            }
        }
    }

    pub const MAX_BLOCKS: usize = 50;
    pub const MAX_TEXT: usize = 3000;
    pub const MAX_HEADER: usize = 150;
    pub const MAX_MESSAGE_TEXT: usize = 40_000;

    /// Parses `value` as a message and checks Slack's limits and escaping;
    /// panics with the reason.
    pub fn check(value: &serde_json::Value) -> Message {
        let m: Message = serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("not a Block Kit message ({e}):\n{value:#}"));
        assert!(m.blocks.len() <= MAX_BLOCKS, "{} blocks", m.blocks.len());
        // pull request links stay links, not previews
        assert_ne!(m.unfurl_links, Some(true));
        assert_ne!(m.unfurl_media, Some(true));
        assert!(!m.text.is_empty(), "no fallback text");
        check_text(
            usize::MAX,
            &Text::Mrkdwn {
                text: m.text.clone(),
                verbatim: None,
            },
        );
        let mut total = m.text.chars().count();
        for (i, b) in m.blocks.iter().enumerate() {
            match b {
                Block::Header { text } => {
                    assert!(
                        matches!(text, Text::PlainText { .. }),
                        "block {i}: a header takes plain_text"
                    );
                    assert!(
                        text.text().chars().count() <= MAX_HEADER,
                        "block {i}: header too long"
                    );
                    total += text.text().chars().count();
                }
                Block::Section { text } => {
                    check_text(i, text);
                    total += text.text().chars().count();
                }
                Block::Context { elements } => {
                    assert!(!elements.is_empty() && elements.len() <= 10, "block {i}");
                    for t in elements {
                        check_text(i, t);
                        total += t.text().chars().count();
                    }
                }
                Block::Divider => {}
            }
        }
        assert!(total <= MAX_MESSAGE_TEXT, "{total} characters in all");
        m
    }

    fn check_text(i: usize, t: &Text) {
        let s = t.text();
        assert!(!s.is_empty(), "block {i}: empty text");
        assert!(
            s.chars().count() <= MAX_TEXT,
            "block {i}: {} characters",
            s.chars().count()
        );
        if let Text::Mrkdwn { .. } = t {
            // `<` only opens a link `<url|label>`; `&` only starts an entity.
            let links = regex::Regex::new(r"<https?://[^|<>\s]+\|[^<>]*>").unwrap();
            let rest = links.replace_all(s, "");
            assert!(
                !rest.contains('<') && !rest.contains('>'),
                "block {i}: raw < or > in {s:?}"
            );
            let entities = regex::Regex::new(r"&(amp|lt|gt);").unwrap();
            assert!(
                !entities.replace_all(&rest, "").contains('&'),
                "block {i}: raw & in {s:?}"
            );
        }
    }

    /// Every mrkdwn and plain text of a message, in order, one per line.
    pub fn texts(m: &Message) -> String {
        let mut out = Vec::new();
        for b in &m.blocks {
            match b {
                Block::Header { text } | Block::Section { text } => {
                    out.push(text.text().to_string())
                }
                Block::Context { elements } => {
                    out.extend(elements.iter().map(|t| t.text().to_string()))
                }
                Block::Divider => out.push("---".into()),
            }
        }
        out.join("\n")
    }
}
