//! Slack incoming webhooks as data: a validated URL that only ever shows its
//! host, and why a message did not arrive. Sending is [`crate::io::slack`].

/// An incoming-webhook URL. Only its host is ever shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub(crate) url: String,
    host: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("host", &self.host).finish()
    }
}

impl Webhook {
    /// Reads a webhook URL taken from the variable `var` (named in the
    /// error, which never holds the value): `https://`, or `http://` to a
    /// loopback host.
    pub fn parse(var: &str, value: &str) -> Result<Webhook, DeliveryError> {
        let invalid = |why: &str| DeliveryError::InvalidUrl {
            var: var.to_string(),
            why: why.to_string(),
        };
        let url = url::Url::parse(value.trim()).map_err(|_| invalid("not a URL"))?;
        // The rule of `io::http::is_loopback` (`localhost`, 127.0.0.0/8,
        // `::1`), on the parsed host: the core cannot call the I/O layer.
        let (host, loopback) = match url.host() {
            Some(url::Host::Ipv6(a)) => (format!("[{a}]"), a.is_loopback()),
            Some(url::Host::Ipv4(a)) => (a.to_string(), a.is_loopback()),
            Some(url::Host::Domain(d)) => (d.to_string(), d.eq_ignore_ascii_case("localhost")),
            None => return Err(invalid("no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(invalid(
                    "plain http is allowed only to loopback hosts; use https",
                ));
            }
            _ => return Err(invalid("expected an https:// URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are not supported"));
        }
        let shown = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        Ok(Webhook {
            url: url.to_string(),
            host: shown,
        })
    }

    /// `hooks.slack.com` (with the port when one is given).
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Why a message did not reach its channel. Never holds the webhook URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("{var} is not set")]
    NotConfigured { var: String },
    #[error("the webhook URL in {var} is not usable: {why}")]
    InvalidUrl { var: String, why: String },
    #[error("{host} refused the message ({status} {reason})")]
    Rejected {
        host: String,
        status: u16,
        reason: String,
    },
    #[error("{host} kept answering 429 (rate limited) after {attempts} attempt(s){}", wait_note(*.retry_after))]
    RateLimited {
        host: String,
        attempts: u32,
        retry_after: Option<u64>,
    },
    #[error("{host} answered {status} after {attempts} attempt(s)")]
    Server {
        host: String,
        status: u16,
        attempts: u32,
    },
    #[error("{host} could not be reached after {attempts} attempt(s): {message}")]
    Unreachable {
        host: String,
        attempts: u32,
        message: String,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

fn wait_note(retry_after: Option<u64>) -> String {
    retry_after.map_or_else(String::new, |s| {
        format!("; it asked to wait {s} s, longer than upkeep waits")
    })
}
