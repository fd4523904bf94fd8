//! Delivery to Slack incoming webhooks on the shared HTTP layer
//! ([`crate::io::http`]: client, deadlines, retries, `Retry-After`): one
//! JSON POST per message, retried with backoff on 5xx and connection
//! failures, waiting out `429` answers for their `Retry-After`.
//!
//! A webhook URL is a secret: [`Webhook`] keeps it private, shows only its
//! host (in `Debug`, in errors, in reports), and refuses plain http except
//! to loopback addresses. No error or log line here holds the URL or any
//! part of its path. Knows nothing about findings or message contents;
//! keeps only what is Slack's: the payload, and what its answers mean.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};

use crate::domain::notify::blocks::Payload;
pub use crate::domain::notify::webhook::{DeliveryError, Webhook};
use crate::io::http as net;

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

/// Posts payloads to webhooks.
#[derive(Debug)]
pub struct Sender {
    client: net::Client,
    retry: net::RetryPolicy,
}

impl Sender {
    /// A sender; call from within a tokio runtime.
    pub fn new(options: SendOptions) -> Result<Sender, DeliveryError> {
        let client = net::Client::new(net::ClientOptions {
            connect_timeout: options.connect_timeout,
            request_timeout: options.request_timeout,
            max_body: MAX_ANSWER,
            min_interval: Duration::ZERO,
        })
        .map_err(|e| match e {
            net::TransportError::Tls { cause } => DeliveryError::Tls(cause),
            e => DeliveryError::Tls(e.to_string()),
        })?;
        let retry = net::RetryPolicy {
            attempts: options.attempts.max(1),
            base_delay: options.base_delay,
            max_wait: options.max_wait,
            connect_attempts: None,
            jitter: true,
        };
        Ok(Sender { client, retry })
    }

    /// Posts `payload` to `webhook`; `Ok(attempts)` once Slack said `ok`.
    pub async fn send(&self, webhook: &Webhook, payload: &Payload) -> Result<u32, DeliveryError> {
        let body = Bytes::from(serde_json::to_vec(payload).unwrap_or_default());
        let host = webhook.host().to_string();
        let request = Request::builder()
            .method(Method::POST)
            .uri(webhook.url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, net::USER_AGENT)
            .body(body)
            .map_err(|_| DeliveryError::Unreachable {
                host: host.clone(),
                attempts: 0,
                message: "the webhook URL cannot be requested".into(),
            })?;
        let sent = match self.client.send(&self.retry, &request).await {
            Ok(sent) => sent,
            Err(failed) => {
                return Err(DeliveryError::Unreachable {
                    host,
                    attempts: failed.attempts,
                    message: failed.error.reason(),
                });
            }
        };
        let (response, attempts) = (sent.response, sent.attempts);
        match response.status {
            s if s.is_success() => Ok(attempts),
            StatusCode::TOO_MANY_REQUESTS => Err(DeliveryError::RateLimited {
                host,
                attempts,
                retry_after: net::retry_after(&response.headers)
                    .filter(|wait| *wait > self.retry.max_wait)
                    .map(|wait| wait.as_secs()),
            }),
            s if s.is_server_error() => Err(DeliveryError::Server {
                host,
                status: s.as_u16(),
                attempts,
            }),
            s => Err(DeliveryError::Rejected {
                host,
                status: s.as_u16(),
                reason: reason(&response.body),
            }),
        }
    }
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
