//! Delivery to Slack incoming webhooks over the hyper stack upkeep already
//! uses for registries (hyper 1, hyper-util's pooled client, native-tls):
//! one JSON POST per message, retried with exponential backoff on 5xx and
//! connection failures, waiting out `429` answers for their `Retry-After`.
//!
//! A webhook URL is a secret: [`Webhook`] keeps it private, shows only its
//! host (in `Debug`, in errors, in reports), and refuses plain http except
//! to loopback addresses. No error or log line here holds the URL or any
//! part of its path. Knows nothing about findings or message contents.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_tls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::domain::notify::blocks::Payload;
pub use crate::domain::notify::webhook::{DeliveryError, Webhook};

/// The largest answer body read.
const MAX_ANSWER: usize = 64 * 1024;

/// How [`Sender`] retries.
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// Attempts per message, the first included.
    pub attempts: u32,
    /// First backoff; doubles after each failed attempt.
    pub base_delay: Duration,
    /// The longest `Retry-After` waited out; a longer one fails at once.
    pub max_wait: Duration,
    pub connect_timeout: Duration,
    /// The timeout of one whole request.
    pub request_timeout: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
        }
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Posts payloads to webhooks.
pub struct Sender {
    client: HttpClient,
    options: SendOptions,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("options", &self.options)
            .finish()
    }
}

impl Sender {
    /// A sender; call from within a tokio runtime.
    pub fn new(options: SendOptions) -> Result<Sender, DeliveryError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        let tls = native_tls::TlsConnector::new().map_err(|e| DeliveryError::Tls(e.to_string()))?;
        let https = HttpsConnector::from((http, tls.into()));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Sender { client, options })
    }

    /// Posts `payload` to `webhook`; `Ok(attempts)` once Slack said `ok`.
    pub async fn send(&self, webhook: &Webhook, payload: &Payload) -> Result<u32, DeliveryError> {
        let body = Bytes::from(serde_json::to_vec(payload).unwrap_or_default());
        let host = webhook.host().to_string();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt >= self.options.attempts.max(1);
            let wait = match self.once(webhook, body.clone()).await {
                Ok((status, _, _)) if status.is_success() => return Ok(attempt),
                Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, _)) => {
                    let wait = retry_after
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| self.backoff(attempt));
                    if last || wait > self.options.max_wait {
                        return Err(DeliveryError::RateLimited {
                            host,
                            attempts: attempt,
                            retry_after: retry_after
                                .filter(|s| Duration::from_secs(*s) > self.options.max_wait),
                        });
                    }
                    tracing::info!(host = %host, wait_s = wait.as_secs_f64(), "Slack rate limit; waiting");
                    wait
                }
                Ok((status, _, _)) if status.is_server_error() => {
                    if last {
                        return Err(DeliveryError::Server {
                            host,
                            status: status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    tracing::info!(host = %host, status = status.as_u16(), attempt, "Slack webhook failed; retrying");
                    self.backoff(attempt)
                }
                Ok((status, _, body)) => {
                    return Err(DeliveryError::Rejected {
                        host,
                        status: status.as_u16(),
                        reason: reason(&body),
                    });
                }
                Err(message) => {
                    if last {
                        return Err(DeliveryError::Unreachable {
                            host,
                            attempts: attempt,
                            message,
                        });
                    }
                    tracing::info!(host = %host, attempt, %message, "Slack webhook unreachable; retrying");
                    self.backoff(attempt)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One POST: `(status, Retry-After seconds, body)`, or a message that
    /// holds nothing of the URL.
    async fn once(
        &self,
        webhook: &Webhook,
        body: Bytes,
    ) -> Result<(StatusCode, Option<u64>, Bytes), String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(webhook.url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("upkeep/", env!("CARGO_PKG_VERSION"))),
            )
            .body(Full::new(body))
            .map_err(|_| "the webhook URL cannot be requested".to_string())?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport_message(&e))?;
            let (parts, body) = response.into_parts();
            let retry_after = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = Limited::new(body, MAX_ANSWER)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok((parts.status, retry_after, body))
        };
        tokio::time::timeout(self.options.request_timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {} s",
                    self.options.request_timeout.as_secs()
                ))
            })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.options
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(10))
    }
}

/// A transport error in words, without the URL (hyper's messages name no
/// URL; the source chain says what failed: refused, DNS, TLS).
fn transport_message(e: &hyper_util::client::legacy::Error) -> String {
    let mut parts = vec![if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    }];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.contains("://") && !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Slack's error code from an answer body (`invalid_payload`,
/// `no_service`, `channel_is_archived`): its first line, cut, as text.
fn reason(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or_default().trim();
    let cleaned: String = line.chars().filter(|c| !c.is_control()).take(100).collect();
    if cleaned.is_empty() {
        "no reason given".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_secret_and_checked() {
        let w = Webhook::parse("V", "https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(w.host(), "hooks.slack.com");
        assert!(!format!("{w:?}").contains("secret"));
        let local = Webhook::parse("V", "http://127.0.0.1:8080/services/x").unwrap();
        assert_eq!(local.host(), "127.0.0.1:8080");
        for bad in [
            "http://hooks.slack.com/services/T0/B0/secret",
            "ftp://hooks.slack.com/secret",
            "hooks.slack.com/services/secret",
            "https://user:secret@hooks.slack.com/x",
        ] {
            let e = Webhook::parse("UPKEEP_SLACK_WEBHOOK_URL", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("UPKEEP_SLACK_WEBHOOK_URL"), "{e}");
            assert!(!e.contains("secret") && !e.contains("services"), "{e}");
        }
    }

    #[test]
    fn reasons_are_short_text() {
        assert_eq!(reason(b"invalid_payload"), "invalid_payload");
        assert_eq!(reason(b""), "no reason given");
        assert_eq!(reason("x\u{1b}y\nz".as_bytes()), "xy");
        assert_eq!(reason(&[b'a'; 500]).len(), 100);
    }
}
