//! The one HTTP layer every client in [`crate::io`] stands on: how a
//! request travels, not what it says.
//!
//! Owns:
//! - the shared hyper client (hyper 1, hyper-util's pooled client,
//!   native-tls) with a connect timeout, a **total deadline per request**
//!   (connect, headers and the whole body; a server that stalls or drips the
//!   body is cut off) and a limit on the body read ([`Client`]);
//! - optional pacing per host: a minimum interval between two requests to
//!   one `host[:port]` ([`ClientOptions::min_interval`]);
//! - the retry policy ([`RetryPolicy`]): attempts, exponential backoff with
//!   ±25 % jitter, and what is worth retrying (5xx, 429, timeouts, failed
//!   connections), with `Retry-After` (seconds or an HTTP-date) honoured up
//!   to [`RetryPolicy::max_wait`] ([`retry_after`], [`parse_retry_after`]);
//! - the transport rule "plain `http://` only to loopback hosts" for
//!   anything secret ([`is_loopback`], [`may_carry_credentials`],
//!   [`refuse_plain_http`]);
//! - the transport errors ([`TransportError`]), worded one way for every
//!   client: `{host} could not be reached: {cause}`, `{host} timed out after
//!   {secs}s`, `{host} answered {status}`. They name the host (with its
//!   port) only: never a path, a query, userinfo or a header, so never a
//!   token or a webhook secret.
//!
//! Must not know: GitHub, registries, Slack or Prometheus. No API paths,
//! auth flows, media types, payloads or rate-limit headers beyond the
//! standard `Retry-After`; the clients keep those, and decide what a status
//! means for their API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, Utc};
use http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_tls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

/// The `User-Agent` upkeep sends.
pub const USER_AGENT: &str = concat!("upkeep/", env!("CARGO_PKG_VERSION"));

/// Why an exchange did not produce an answer, or why it was not attempted.
/// Holds the host (`host[:port]`) and a cause, nothing from the request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection: refused, DNS, TLS handshake.
    #[error("{host} could not be reached: {cause}")]
    Unreachable { host: String, cause: String },
    /// Connected, but the exchange broke off (reset, malformed answer).
    #[error("{host} broke off the exchange: {cause}")]
    Broken { host: String, cause: String },
    /// No complete answer (headers and body) within the request deadline.
    #[error("{host} timed out after {}s", seconds(*.after))]
    Timeout { host: String, after: Duration },
    /// An answer the caller did not want, for clients that need no more.
    #[error("{host} answered {status}")]
    Status { host: String, status: u16 },
    /// The answer's body is larger than the client reads.
    #[error("{host} sent an answer larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    /// Credentials would travel over plain http to a remote host.
    #[error(
        "refusing to send credentials over plain http to {host}; use https (credentials travel over http only to loopback hosts)"
    )]
    Insecure { host: String },
    /// The request could not be built (a URL hyper cannot send, a header
    /// value that is not one).
    #[error("{host}: the request cannot be sent ({cause})")]
    InvalidRequest { host: String, cause: String },
    #[error("cannot set up TLS: {cause}")]
    Tls { cause: String },
}

impl TransportError {
    /// The host the error is about, when there is one.
    pub fn host(&self) -> Option<&str> {
        match self {
            TransportError::Unreachable { host, .. }
            | TransportError::Broken { host, .. }
            | TransportError::Timeout { host, .. }
            | TransportError::Status { host, .. }
            | TransportError::TooLarge { host, .. }
            | TransportError::Insecure { host }
            | TransportError::InvalidRequest { host, .. } => Some(host),
            TransportError::Tls { .. } => None,
        }
    }

    /// Worth another attempt: timeouts and failed or broken connections.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. }
                | TransportError::Broken { .. }
                | TransportError::Timeout { .. }
        )
    }

    /// No connection could be made (see [`RetryPolicy::connect_attempts`]).
    pub fn is_connect(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. })
    }

    /// What happened, without the host: for messages that name it already
    /// (`hooks.slack.com could not be reached after 3 attempt(s): {reason}`).
    pub fn reason(&self) -> String {
        match self {
            TransportError::Unreachable { cause, .. } => cause.clone(),
            TransportError::Broken { cause, .. } => format!("the exchange broke off: {cause}"),
            TransportError::Timeout { after, .. } => {
                format!("timed out after {}s", seconds(*after))
            }
            TransportError::Status { status, .. } => format!("answered {status}"),
            TransportError::TooLarge { limit, .. } => {
                format!("an answer larger than {limit} bytes")
            }
            TransportError::Insecure { .. } => {
                "refusing to send credentials over plain http; use https".into()
            }
            TransportError::InvalidRequest { cause, .. } => {
                format!("the request cannot be sent ({cause})")
            }
            TransportError::Tls { cause } => format!("cannot set up TLS: {cause}"),
        }
    }
}

/// `20` for 20 s, `0.3` for 300 ms.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

/// How a [`Client`] connects and reads.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The deadline of one whole exchange: connect, headers and body.
    pub request_timeout: Duration,
    /// The largest body read; a larger one is [`TransportError::TooLarge`].
    pub max_body: usize,
    /// Shortest time between two requests to one host; zero: no pacing.
    pub min_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body: 4 << 20,
            min_interval: Duration::ZERO,
        }
    }
}

/// How a request is retried. The default is the forge's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts for one request, the first included.
    pub attempts: u32,
    /// First backoff; doubles after each failed attempt.
    pub base_delay: Duration,
    /// The longest wait between two attempts: a `Retry-After` (or a reset)
    /// further away ends the retries at once; backoff never exceeds it.
    pub max_wait: Duration,
    /// Attempts when the host cannot be reached at all (no connection), if
    /// fewer than `attempts`: a dead host costs less.
    pub connect_attempts: Option<u32>,
    /// ±25 % on each backoff, so that clients do not retry in step. Off:
    /// deterministic backoff (tests).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_wait: Duration::from_secs(60),
            connect_attempts: None,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The backoff after failed attempt `attempt` (1-based):
    /// base × 2^(attempt-1), ±25 % with jitter, at most `max_wait`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        let wait = if self.jitter {
            use std::hash::{BuildHasher as _, Hasher as _};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(attempt);
            let unit = (h.finish() % 10_000) as f64 / 10_000.0;
            base.mul_f64(0.75 + unit * 0.5)
        } else {
            base
        };
        wait.min(self.max_wait)
    }

    /// The wait before the attempt after `attempt`, or `None` when there is
    /// none: the attempts are spent, or the server asked (`retry_after`)
    /// for longer than `max_wait`. Without `retry_after`, the backoff.
    pub fn next_wait(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.attempts.max(1) {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_wait => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff(attempt)),
        }
    }

    /// Attempts allowed for a failure like `error`.
    fn limit_for(&self, error: &TransportError) -> u32 {
        let attempts = self.attempts.max(1);
        match self.connect_attempts {
            Some(c) if error.is_connect() => c.clamp(1, attempts),
            _ => attempts,
        }
    }
}

/// Statuses worth another attempt: 429 and 5xx.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The `Retry-After` of an answer, from now.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, Utc::now())
}

/// A `Retry-After` value: delay seconds (`120`) or an HTTP-date (`Wed, 21
/// Oct 2015 07:28:00 GMT`, and the obsolete RFC 850 and asctime forms),
/// as a wait from `now` (zero for a date in the past). `None` for
/// anything else.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let words = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = DateTime::parse_from_rfc2822(&words)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(&words, f).ok())
                .map(|n| n.and_utc())
        })?;
    Some((at - now).to_std().unwrap_or_default())
}

/// True for `localhost`, `127.0.0.0/8` and `::1`, with or without a port
/// (`localhost:5000`, `[::1]:5000`, bare `::1`).
pub fn is_loopback(host: &str) -> bool {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `host[:port]` of a URL (IPv6 hosts bracketed); never its userinfo.
pub fn authority(url: &url::Url) -> Option<String> {
    let host = match url.host()? {
        url::Host::Ipv6(a) => format!("[{a}]"),
        h => h.to_string(),
    };
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// `host[:port]` of a request URI; never its userinfo, path or query.
pub fn uri_host(uri: &Uri) -> String {
    match (uri.host(), uri.port_u16()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "the server".to_string(),
    }
}

/// Whether secrets may travel to `url`: https, or plain http to a loopback
/// host.
pub fn may_carry_credentials(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => authority(url).is_some_and(|h| is_loopback(&h)),
        _ => false,
    }
}

/// `Ok` when secrets may travel to `url` ([`may_carry_credentials`]), else
/// [`TransportError::Insecure`]. Call before attaching a token, a password
/// or a secret URL.
pub fn refuse_plain_http(url: &url::Url) -> Result<(), TransportError> {
    if may_carry_credentials(url) {
        Ok(())
    } else {
        Err(TransportError::Insecure {
            host: authority(url).unwrap_or_else(|| "the server".into()),
        })
    }
}

/// An answer with its body read (empty for HEAD).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An answer after retries, and how many attempts it took.
#[derive(Debug)]
pub struct Sent {
    /// The last answer: a success, an answer not worth retrying, or a 429
    /// or 5xx once the policy was spent. The caller decides what it means.
    pub response: Response,
    pub attempts: u32,
}

/// No answer after retries.
#[derive(Debug)]
pub struct Failed {
    pub error: TransportError,
    pub attempts: u32,
}

type HyperClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The shared HTTP client: pooled connections, deadlines, body limit,
/// pacing. Call [`Client::new`] within a tokio runtime.
pub struct Client {
    inner: HyperClient,
    options: ClientOptions,
    /// Next free request slot per host.
    pacing: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, TransportError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        let tls = native_tls::TlsConnector::new().map_err(|e| TransportError::Tls {
            cause: e.to_string(),
        })?;
        let https = HttpsConnector::from((http, tls.into()));
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Client {
            inner,
            options,
            pacing: Mutex::default(),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `request` with retries under `policy`: 429 and 5xx answers, timeouts
    /// and connection failures are tried again (after `Retry-After` when the
    /// answer says, else the backoff) until the policy is spent. Every other
    /// answer returns at once.
    pub async fn send(
        &self,
        policy: &RetryPolicy,
        request: &Request<Bytes>,
    ) -> Result<Sent, Failed> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let host = uri_host(request.uri());
            let wait = match self.once(copy(request)).await {
                Ok(response) if is_retryable_status(response.status) => {
                    match policy.next_wait(attempt, retry_after(&response.headers)) {
                        Some(wait) => {
                            tracing::info!(%host, status = response.status.as_u16(), attempt, wait_s = wait.as_secs_f64(), "busy; retrying");
                            wait
                        }
                        None => {
                            return Ok(Sent {
                                response,
                                attempts: attempt,
                            });
                        }
                    }
                }
                Ok(response) => {
                    return Ok(Sent {
                        response,
                        attempts: attempt,
                    });
                }
                Err(error) => {
                    let wait = (error.is_retryable() && attempt < policy.limit_for(&error))
                        .then(|| policy.next_wait(attempt, None))
                        .flatten();
                    match wait {
                        Some(wait) => {
                            tracing::info!(%host, attempt, %error, "request failed; retrying");
                            wait
                        }
                        None => {
                            return Err(Failed {
                                error,
                                attempts: attempt,
                            });
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One exchange, paced, within the request deadline, its body read up
    /// to the limit (not for HEAD).
    pub async fn once(&self, request: Request<Full<Bytes>>) -> Result<Response, TransportError> {
        let host = uri_host(request.uri());
        self.pace(&host).await;
        let head = request.method() == Method::HEAD;
        let exchange = async {
            let response = self.inner.request(request).await.map_err(|e| {
                let cause = cause(&e);
                if e.is_connect() {
                    TransportError::Unreachable {
                        host: host.clone(),
                        cause,
                    }
                } else {
                    TransportError::Broken {
                        host: host.clone(),
                        cause,
                    }
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = if head {
                Bytes::new()
            } else {
                Limited::new(body, self.options.max_body)
                    .collect()
                    .await
                    .map_err(|e| {
                        if e.downcast_ref::<LengthLimitError>().is_some() {
                            TransportError::TooLarge {
                                host: host.clone(),
                                limit: self.options.max_body,
                            }
                        } else {
                            TransportError::Broken {
                                host: host.clone(),
                                cause: innermost(&*e),
                            }
                        }
                    })?
                    .to_bytes()
            };
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.options.request_timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::Timeout {
                    host: host.clone(),
                    after: self.options.request_timeout,
                })
            })
    }

    /// Waits for the host's next request slot.
    async fn pace(&self, host: &str) {
        if self.options.min_interval.is_zero() {
            return;
        }
        let wait = {
            let mut slots = self.pacing.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = slots.get(host).copied().filter(|t| *t > now).unwrap_or(now);
            let next = slot.checked_add(self.options.min_interval).unwrap_or(slot);
            slots.insert(host.to_string(), next);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A fresh request with the method, URI, headers and body of `request`.
fn copy(request: &Request<Bytes>) -> Request<Full<Bytes>> {
    let mut out = Request::new(Full::new(request.body().clone()));
    *out.method_mut() = request.method().clone();
    *out.uri_mut() = request.uri().clone();
    *out.version_mut() = request.version();
    *out.headers_mut() = request.headers().clone();
    out
}

/// A hyper error's cause in words: the innermost source, the most telling
/// ("Connection refused (os error 111)", "failed to lookup address
/// information: …"), never a text that holds a URL.
fn cause(e: &hyper_util::client::legacy::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => innermost(source),
        None if e.is_connect() => "connection failed".into(),
        None => "request failed".into(),
    }
}

/// The innermost error of a source chain that holds no URL.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut found = None;
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.contains("://") && !text.is_empty() {
            found = Some(text);
        }
        next = err.source();
    }
    found.unwrap_or_else(|| "request failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn policy(jitter: bool) -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_wait: Duration::from_secs(1),
            connect_attempts: Some(2),
            jitter,
        }
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_the_max_wait() {
        let fixed = policy(false);
        assert_eq!(fixed.backoff(1), Duration::from_millis(100));
        assert_eq!(fixed.backoff(2), Duration::from_millis(200));
        assert_eq!(fixed.backoff(3), Duration::from_millis(400));
        assert_eq!(fixed.backoff(5), Duration::from_secs(1), "capped");
        assert_eq!(fixed.backoff(u32::MAX), Duration::from_secs(1));
        let jittered = policy(true);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            for attempt in 1..=3 {
                let base = fixed.backoff(attempt);
                let b = jittered.backoff(attempt);
                assert!(
                    b >= base.mul_f64(0.75) && b <= base.mul_f64(1.25),
                    "{attempt}: {b:?}"
                );
                seen.insert(b);
            }
        }
        assert!(seen.len() > 10, "jitter varies: {}", seen.len());
    }

    #[test]
    fn next_wait_ends_when_spent_or_asked_too_long() {
        let p = policy(false);
        assert_eq!(p.next_wait(1, None), Some(Duration::from_millis(100)));
        assert_eq!(
            p.next_wait(1, Some(Duration::from_millis(700))),
            Some(Duration::from_millis(700))
        );
        assert_eq!(p.next_wait(1, Some(Duration::from_secs(2))), None);
        assert_eq!(p.next_wait(5, None), None);
        let unreachable = TransportError::Unreachable {
            host: "h".into(),
            cause: "refused".into(),
        };
        assert_eq!(p.limit_for(&unreachable), 2);
        let timeout = TransportError::Timeout {
            host: "h".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(p.limit_for(&timeout), 5);
    }

    #[test]
    fn retry_after_in_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        for date in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(60)),
                "{date}"
            );
        }
        assert_eq!(
            parse_retry_after("Wed Oct  7 07:28:00 2015", now),
            Some(Duration::ZERO),
            "a date in the past: at once"
        );
        for garbage in [
            "",
            "soon",
            "-5",
            "1.5",
            "12 s",
            "Wed, 99 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        // capped by the policy: a longer wait is no wait but the end
        let p = policy(false);
        assert_eq!(p.next_wait(1, retry_after(&headers)), None);
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST:5000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]:5000",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1:5000",
            "localhost.example.com",
            "127.0.0.1.evil.com",
            "[::2]",
            "",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn credentials_travel_only_over_https_or_to_loopback() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        for ok in [
            "https://registry.example/v2/",
            "http://127.0.0.1:5000/x",
            "http://localhost/x",
            "http://[::1]:8080/x",
        ] {
            assert!(refuse_plain_http(&url(ok)).is_ok(), "{ok}");
        }
        let e = refuse_plain_http(&url(
            "http://user:hunter2@mirror.example:8080/p?token=s3cret",
        ))
        .unwrap_err();
        assert_eq!(
            e,
            TransportError::Insecure {
                host: "mirror.example:8080".into()
            }
        );
        let text = e.to_string();
        assert_eq!(
            text,
            "refusing to send credentials over plain http to mirror.example:8080; use https (credentials travel over http only to loopback hosts)"
        );
        assert!(!text.contains("hunter2") && !text.contains("s3cret") && !text.contains("user"));
        assert!(refuse_plain_http(&url("ftp://127.0.0.1/x")).is_err());
    }

    #[test]
    fn errors_name_the_host_only() {
        let uri: Uri = "https://user:pw@hooks.example:8443/services/secret?token=t"
            .parse()
            .unwrap();
        assert_eq!(uri_host(&uri), "hooks.example:8443");
        let e = TransportError::Timeout {
            host: uri_host(&uri),
            after: Duration::from_secs(20),
        };
        assert_eq!(e.to_string(), "hooks.example:8443 timed out after 20s");
        assert_eq!(e.reason(), "timed out after 20s");
        let e = TransportError::Status {
            host: "h".into(),
            status: 503,
        };
        assert_eq!(e.to_string(), "h answered 503");
    }

    /// A server on 127.0.0.1 that answers every connection with `head`,
    /// then drips `drip` one byte at a time, 100 ms apart.
    async fn serve(head: &'static str, drip: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    if drip == 0 {
                        return;
                    }
                    for _ in 0..drip {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if socket.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(30)).await;
                });
            }
        });
        format!("http://{addr}/slow?token=secret")
    }

    fn get(url: &str) -> Request<Bytes> {
        Request::get(url).body(Bytes::new()).unwrap()
    }

    #[tokio::test]
    async fn a_dripping_body_hits_the_total_deadline() {
        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n", 1000).await;
        let client = Client::new(ClientOptions {
            request_timeout: Duration::from_millis(500),
            ..ClientOptions::default()
        })
        .unwrap();
        let started = std::time::Instant::now();
        let failed = client
            .send(
                &RetryPolicy {
                    attempts: 1,
                    ..RetryPolicy::default()
                },
                &get(&url),
            )
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
        let host = url.trim_start_matches("http://").split('/').next().unwrap();
        assert_eq!(
            failed.error,
            TransportError::Timeout {
                host: host.to_string(),
                after: Duration::from_millis(500)
            }
        );
        assert_eq!(
            failed.error.to_string(),
            format!("{host} timed out after 0.5s")
        );
        assert!(failed.error.is_retryable());
    }

    #[tokio::test]
    async fn bodies_are_limited_and_dead_hosts_retried_as_the_policy_says() {
        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 64\r\n\r\n", 64).await;
        let client = Client::new(ClientOptions {
            max_body: 16,
            ..ClientOptions::default()
        })
        .unwrap();
        let failed = client.send(&policy(false), &get(&url)).await.unwrap_err();
        assert!(
            matches!(failed.error, TransportError::TooLarge { limit: 16, .. }),
            "{:?}",
            failed.error
        );
        assert_eq!(failed.attempts, 1, "not worth retrying");

        // a closed port: a connect failure, tried connect_attempts times
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let failed = client
            .send(
                &policy(false),
                &get(&format!("http://127.0.0.1:{closed}/x?token=secret")),
            )
            .await
            .unwrap_err();
        assert_eq!(failed.attempts, 2);
        let text = failed.error.to_string();
        assert!(
            text.starts_with(&format!("127.0.0.1:{closed} could not be reached: ")),
            "{text}"
        );
        assert!(!text.contains("secret") && !text.contains("/x"), "{text}");
    }

    #[tokio::test]
    async fn busy_answers_are_retried_then_returned() {
        let url = serve(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 0\r\n\r\n",
            0,
        )
        .await;
        let client = Client::new(ClientOptions::default()).unwrap();
        let sent = client.send(&policy(false), &get(&url)).await.unwrap();
        assert_eq!(sent.response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(sent.attempts, 5);
    }
}
