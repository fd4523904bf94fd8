//! Prometheus' HTTP API on the shared HTTP layer ([`crate::io::http`]:
//! client, total deadline per request, retries with jittered backoff,
//! `Retry-After`, the loopback rule). This module keeps what is
//! Prometheus': the query endpoint, its JSON envelope, its value encoding,
//! what its statuses mean, and its credentials.
//!
//! One question, [`Prometheus::query`]: an instant query, `GET
//! /api/v1/query?query=…` (URL-encoded, no `time`: the server's current
//! data), answered as a [`QueryResult`] (the pure core's type, from
//! [`crate::domain::live`]) or a [`PrometheusError`]:
//!
//! - `400`/`422` with Prometheus' error envelope: [`PrometheusError::BadQuery`]
//!   with its `errorType` and `error` (a parse error, a query that cannot
//!   run), never retried;
//! - `5xx` and `429` are retried under the policy; still failing, or no
//!   answer at all (refused, timed out, a server that is not ready and
//!   answers `503`): [`PrometheusError::Unavailable`];
//! - `401`/`403`: [`PrometheusError::Denied`];
//! - an answer that is not Prometheus' envelope: [`PrometheusError::Protocol`].
//!
//! `warnings` (and `infos`) of a successful answer are logged, not
//! returned.
//!
//! Credentials come from the environment ([`Auth::from_env`]:
//! `UPKEEP_PROMETHEUS_TOKEN` as a bearer token, or
//! `UPKEEP_PROMETHEUS_USERNAME` + `UPKEEP_PROMETHEUS_PASSWORD` as basic
//! auth). They travel only over https or to a loopback host (the HTTP
//! layer's rule, checked when the client is built), and never appear in a
//! log line, an error or `Debug`: errors name the Prometheus host (with its
//! port) and nothing from the URL's path, query or headers.
//!
//! Must not know: deployments, rollouts or what a value means for a health
//! gate (that is the core's, on [`QueryResult`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, Request, StatusCode, header};

pub use crate::domain::live::{QueryResult, Sample, Series};
use crate::env;
use crate::io::http as net;

/// Why a query brought no result. Every message names the Prometheus host
/// (`host[:port]`) and never a credential.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PrometheusError {
    /// The client cannot be set up: a bad URL, incomplete credentials.
    #[error("Prometheus settings: {0}")]
    Config(String),
    /// Credentials would travel over plain http to a remote host.
    #[error("Prometheus: {0}")]
    Insecure(net::TransportError),
    /// Prometheus rejected the query (`400` bad_data, `422` execution).
    #[error("Prometheus at {host} rejected the query ({error_type}): {message}")]
    BadQuery {
        host: String,
        error_type: String,
        message: String,
    },
    /// No usable answer after the retries: no connection, a timeout, or a
    /// `5xx`/`429` answer (a server still starting answers `503`). The
    /// transport error names the host.
    #[error("Prometheus at {error}{}", after(*.attempts))]
    Unavailable {
        error: net::TransportError,
        attempts: u32,
    },
    /// `401`/`403`: the credentials were refused, or are needed.
    #[error(
        "Prometheus at {host} {} ({status}); {}",
        if *.configured { "refused the configured credentials" } else { "requires credentials" },
        if *.configured { "check UPKEEP_PROMETHEUS_TOKEN or UPKEEP_PROMETHEUS_USERNAME/UPKEEP_PROMETHEUS_PASSWORD" } else { "set UPKEEP_PROMETHEUS_TOKEN or UPKEEP_PROMETHEUS_USERNAME/UPKEEP_PROMETHEUS_PASSWORD" }
    )]
    Denied {
        host: String,
        status: u16,
        configured: bool,
    },
    /// An answer that is not Prometheus' API envelope.
    #[error("Prometheus at {host} sent an unexpected answer: {message}")]
    Protocol { host: String, message: String },
}

fn after(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl PrometheusError {
    /// The Prometheus host the error is about, when there is one.
    pub fn host(&self) -> Option<&str> {
        match self {
            PrometheusError::BadQuery { host, .. }
            | PrometheusError::Denied { host, .. }
            | PrometheusError::Protocol { host, .. } => Some(host),
            PrometheusError::Unavailable { error, .. } | PrometheusError::Insecure(error) => {
                error.host()
            }
            PrometheusError::Config(_) => None,
        }
    }
}

/// How Prometheus is authenticated. `Debug` shows the kind, never the
/// secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl Auth {
    /// From `UPKEEP_PROMETHEUS_TOKEN`, or `UPKEEP_PROMETHEUS_USERNAME` and
    /// `UPKEEP_PROMETHEUS_PASSWORD` (empty values count as unset); none of
    /// them: [`Auth::None`]. Both kinds, or half a pair, are errors that
    /// name the variables only.
    pub fn from_env(vars: &HashMap<String, String>) -> Result<Auth, PrometheusError> {
        let get = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        let token = get(env::PROMETHEUS_TOKEN);
        let username = get(env::PROMETHEUS_USERNAME);
        let password = get(env::PROMETHEUS_PASSWORD);
        match (token, username, password) {
            (None, None, None) => Ok(Auth::None),
            (Some(token), None, None) => Ok(Auth::Bearer(token.trim().to_string())),
            (None, Some(username), Some(password)) => Ok(Auth::Basic { username, password }),
            (Some(_), _, _) => Err(PrometheusError::Config(format!(
                "set either {} or {} and {}, not both",
                env::PROMETHEUS_TOKEN,
                env::PROMETHEUS_USERNAME,
                env::PROMETHEUS_PASSWORD
            ))),
            (None, Some(_), None) => Err(PrometheusError::Config(format!(
                "{} is set without {}",
                env::PROMETHEUS_USERNAME,
                env::PROMETHEUS_PASSWORD
            ))),
            (None, None, Some(_)) => Err(PrometheusError::Config(format!(
                "{} is set without {}",
                env::PROMETHEUS_PASSWORD,
                env::PROMETHEUS_USERNAME
            ))),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Auth::None)
    }

    /// The `Authorization` value, marked sensitive.
    fn header(&self) -> Result<Option<HeaderValue>, PrometheusError> {
        let text = match self {
            Auth::None => return Ok(None),
            Auth::Bearer(token) => format!("Bearer {token}"),
            Auth::Basic { username, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            PrometheusError::Config(format!(
                "{} holds characters that cannot be sent in a header",
                match self {
                    Auth::Bearer(_) => env::PROMETHEUS_TOKEN,
                    _ => env::PROMETHEUS_USERNAME,
                }
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

/// How [`Prometheus`] connects and retries.
#[derive(Clone, Debug)]
pub struct PrometheusOptions {
    /// Attempts per query on `5xx`/`429` answers and timeouts, the first
    /// included. A host that refuses connections is tried twice at most.
    pub attempts: u32,
    /// First backoff; doubles after each failed attempt (±25 % jitter).
    pub base_delay: Duration,
    /// The longest `Retry-After` waited out; a longer one ends the retries.
    pub max_wait: Duration,
    pub connect_timeout: Duration,
    /// The deadline of one whole exchange (connect, headers, body).
    pub request_timeout: Duration,
    /// The largest answer read.
    pub max_body: usize,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        PrometheusOptions {
            attempts: 3,
            base_delay: Duration::from_millis(250),
            max_wait: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body: 8 << 20,
        }
    }
}

/// A client of one Prometheus server (or anything serving its HTTP API:
/// Thanos, Mimir, VictoriaMetrics, behind a path prefix if need be).
pub struct Prometheus {
    client: net::Client,
    retry: net::RetryPolicy,
    /// The base URL, without query or fragment.
    base: url::Url,
    /// `host[:port]`, for errors and logs.
    host: String,
    authorization: Option<HeaderValue>,
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus")
            .field("host", &self.host)
            .field("authenticated", &self.authorization.is_some())
            .finish_non_exhaustive()
    }
}

impl Prometheus {
    /// A client for the server at `base_url` (`https://prometheus.example`,
    /// `http://127.0.0.1:9090`, `https://host/prometheus`: the API is under
    /// `<base_url>/api/v1/`). Refuses a URL that holds credentials itself,
    /// and `auth` over plain http to a non-loopback host. Call from within
    /// a tokio runtime.
    pub fn new(
        base_url: &str,
        auth: Auth,
        options: PrometheusOptions,
    ) -> Result<Prometheus, PrometheusError> {
        let mut base = url::Url::parse(base_url.trim())
            .map_err(|_| PrometheusError::Config("the Prometheus URL is not a valid URL".into()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(PrometheusError::Config(
                "the Prometheus URL must be an http:// or https:// URL with a host".into(),
            ));
        }
        let host = net::authority(&base).unwrap_or_else(|| "the server".into());
        if !base.username().is_empty() || base.password().is_some() {
            return Err(PrometheusError::Config(format!(
                "the Prometheus URL for {host} holds credentials; set {} or {} and {} instead",
                env::PROMETHEUS_TOKEN,
                env::PROMETHEUS_USERNAME,
                env::PROMETHEUS_PASSWORD
            )));
        }
        if !auth.is_none() {
            net::refuse_plain_http(&base).map_err(PrometheusError::Insecure)?;
        }
        base.set_query(None);
        base.set_fragment(None);
        let authorization = auth.header()?;
        let client = net::Client::new(net::ClientOptions {
            connect_timeout: options.connect_timeout,
            request_timeout: options.request_timeout,
            max_body: options.max_body,
            min_interval: Duration::ZERO,
        })
        .map_err(|e| PrometheusError::Config(e.to_string()))?;
        let retry = net::RetryPolicy {
            attempts: options.attempts.max(1),
            base_delay: options.base_delay,
            max_wait: options.max_wait,
            connect_attempts: Some(2),
            jitter: true,
        };
        Ok(Prometheus {
            client,
            retry,
            base,
            host,
            authorization,
        })
    }

    /// A client for `base_url` with credentials from the environment
    /// ([`Auth::from_env`]) and default options.
    pub fn from_env(
        base_url: &str,
        vars: &HashMap<String, String>,
    ) -> Result<Prometheus, PrometheusError> {
        Prometheus::new(
            base_url,
            Auth::from_env(vars)?,
            PrometheusOptions::default(),
        )
    }

    /// `host[:port]` of the server.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The instant-query URL for `promql`.
    fn query_url(&self, promql: &str) -> url::Url {
        let mut url = self.base.clone();
        let path = format!("{}/api/v1/query", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().append_pair("query", promql);
        url
    }

    /// Evaluates `promql` at the server's current time.
    pub async fn query(&self, promql: &str) -> Result<QueryResult, PrometheusError> {
        let url = self.query_url(promql);
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, net::USER_AGENT);
        if let Some(value) = &self.authorization {
            request = request.header(header::AUTHORIZATION, value.clone());
        }
        let request = request.body(Bytes::new()).map_err(|_| {
            PrometheusError::Config(format!("{}: the query cannot be sent", self.host))
        })?;
        let sent = self
            .client
            .send(&self.retry, &request)
            .await
            .map_err(|failed| PrometheusError::Unavailable {
                error: failed.error,
                attempts: failed.attempts,
            })?;
        let response = sent.response;
        let status = response.status;
        if net::is_retryable_status(status) {
            return Err(PrometheusError::Unavailable {
                error: net::TransportError::Status {
                    host: self.host.clone(),
                    status: status.as_u16(),
                },
                attempts: sent.attempts,
            });
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(PrometheusError::Denied {
                host: self.host.clone(),
                status: status.as_u16(),
                configured: self.authorization.is_some(),
            });
        }
        let answer = parse_answer(&self.host, status, &response.body)?;
        if !answer.warnings.is_empty() {
            tracing::warn!(host = %self.host, warnings = ?answer.warnings, "Prometheus warned about a query");
        }
        if !answer.infos.is_empty() {
            tracing::debug!(host = %self.host, infos = ?answer.infos, "Prometheus notes on a query");
        }
        Ok(answer.result)
    }
}

/// A successful answer: the result, and what Prometheus remarked.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub result: QueryResult,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

/// One element of a vector or matrix result.
#[derive(serde::Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Option<(f64, String)>,
    values: Option<Vec<(f64, String)>>,
    histogram: Option<serde_json::Value>,
    histograms: Option<serde_json::Value>,
}

/// What an answer of `status` with `body` says: the result of a successful
/// query, or the error it stands for. For answers that are not `5xx`,
/// `429`, `401` or `403` (the client decides those before).
pub fn parse_answer(
    host: &str,
    status: StatusCode,
    body: &[u8],
) -> Result<Answer, PrometheusError> {
    let protocol = |message: String| PrometheusError::Protocol {
        host: host.to_string(),
        message,
    };
    let envelope = serde_json::from_slice::<Envelope>(body);
    if matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
    ) || (status.is_success() && envelope.as_ref().is_ok_and(|e| e.status == "error"))
    {
        return match envelope {
            Ok(Envelope {
                status: s,
                error_type,
                error: Some(message),
                ..
            }) if s == "error" => Err(PrometheusError::BadQuery {
                host: host.to_string(),
                error_type: error_type.unwrap_or_else(|| "unknown".into()),
                message: clean(&message),
            }),
            _ => Err(protocol(format!(
                "answered {} without Prometheus' error envelope",
                status.as_u16()
            ))),
        };
    }
    if !status.is_success() {
        let hint = if status == StatusCode::NOT_FOUND {
            " (is the URL the server's base URL, without /api/v1?)"
        } else {
            ""
        };
        return Err(protocol(format!("answered {}{hint}", status.as_u16())));
    }
    let envelope =
        envelope.map_err(|e| protocol(format!("not Prometheus' JSON envelope ({e})")))?;
    if envelope.status != "success" {
        return Err(protocol(format!(
            "status `{}`, not `success`",
            clean(&envelope.status)
        )));
    }
    let data = envelope
        .data
        .ok_or_else(|| protocol("a success without `data`".into()))?;
    let result = match data.result_type.as_str() {
        "vector" => {
            let items: Vec<RawSeries> = serde_json::from_value(data.result)
                .map_err(|e| protocol(format!("a vector that is not one ({e})")))?;
            let mut samples = Vec::with_capacity(items.len());
            for item in items {
                let Some((t, v)) = item.value else {
                    return Err(protocol(if item.histogram.is_some() {
                        "a native histogram sample; query a float series (e.g. histogram_quantile(…))".into()
                    } else {
                        "a vector sample without a value".into()
                    }));
                };
                samples.push(Sample {
                    labels: item.metric,
                    value: value(&v).ok_or_else(|| protocol(bad_value(&v)))?,
                    at: timestamp(t).ok_or_else(|| protocol(format!("a bad timestamp {t}")))?,
                });
            }
            QueryResult::Vector(samples)
        }
        "matrix" => {
            let items: Vec<RawSeries> = serde_json::from_value(data.result)
                .map_err(|e| protocol(format!("a matrix that is not one ({e})")))?;
            let mut series = Vec::with_capacity(items.len());
            for item in items {
                if item.values.is_none() && item.histograms.is_some() {
                    return Err(protocol(
                        "a native histogram series; query a float series".into(),
                    ));
                }
                let mut points = Vec::new();
                for (t, v) in item.values.unwrap_or_default() {
                    points.push((
                        timestamp(t).ok_or_else(|| protocol(format!("a bad timestamp {t}")))?,
                        value(&v).ok_or_else(|| protocol(bad_value(&v)))?,
                    ));
                }
                series.push(Series {
                    labels: item.metric,
                    points,
                });
            }
            QueryResult::Matrix(series)
        }
        "scalar" => {
            let (_, v): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| protocol(format!("a scalar that is not one ({e})")))?;
            QueryResult::Scalar(value(&v).ok_or_else(|| protocol(bad_value(&v)))?)
        }
        "string" => {
            let (_, s): (f64, String) = serde_json::from_value(data.result)
                .map_err(|e| protocol(format!("a string that is not one ({e})")))?;
            QueryResult::String(s)
        }
        other => {
            return Err(protocol(format!(
                "an unknown result type `{}`",
                clean(other)
            )));
        }
    };
    Ok(Answer {
        result,
        warnings: envelope.warnings.iter().map(|w| clean(w)).collect(),
        infos: envelope.infos.iter().map(|w| clean(w)).collect(),
    })
}

/// A sample value as Prometheus writes it: a decimal, `NaN`, `+Inf`,
/// `-Inf`.
fn value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            text.parse().ok()
        }
        _ => None,
    }
}

fn bad_value(text: &str) -> String {
    format!("a value that is not a number: `{}`", clean(text))
}

/// A Unix timestamp in seconds (milliseconds in the fraction).
fn timestamp(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
}

/// Text from the server, for a message: one line, no control characters,
/// at most 300 characters.
fn clean(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > 300 {
        format!("{}…", trimmed.chars().take(300).collect::<String>())
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    const HOST: &str = "prom.example:9090";

    fn ok(body: &str) -> Answer {
        parse_answer(HOST, StatusCode::OK, body.as_bytes()).unwrap()
    }

    fn err(status: u16, body: &str) -> PrometheusError {
        parse_answer(HOST, StatusCode::from_u16(status).unwrap(), body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_vector_with_labels() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"kube_pod_container_info","namespace":"eth","pod":"geth-0","image":"ethereum/client-go:v1.14.0"},"value":[1767225600.5,"1"]},
            {"metric":{},"value":[1767225600,"0.25"]}]}}"#,
        );
        let QueryResult::Vector(samples) = &answer.result else {
            panic!("{:?}", answer.result)
        };
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["pod"], "geth-0");
        assert_eq!(samples[0].labels["__name__"], "kube_pod_container_info");
        assert_eq!(samples[0].value, 1.0);
        assert_eq!(
            samples[0].at,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::milliseconds(500)
        );
        assert!(samples[1].labels.is_empty());
        assert_eq!(samples[1].value, 0.25);
        assert!(answer.warnings.is_empty());
        assert!(!answer.result.is_empty());
        assert_eq!(answer.result.single_value(), None);
    }

    #[test]
    fn no_data_scalars_and_warnings() {
        let empty = ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert!(empty.result.is_empty());
        let scalar = ok(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1767225600.123,"42"]},"warnings":["PromQL warning: x"],"infos":["PromQL info: y"]}"#,
        );
        assert_eq!(scalar.result, QueryResult::Scalar(42.0));
        assert_eq!(scalar.result.single_value(), Some(42.0));
        assert_eq!(scalar.warnings, ["PromQL warning: x"]);
        assert_eq!(scalar.infos, ["PromQL info: y"]);
        let string =
            ok(r#"{"status":"success","data":{"resultType":"string","result":[1767225600,"hi"]}}"#);
        assert_eq!(string.result, QueryResult::String("hi".into()));
        let matrix = ok(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"a"},"values":[[1767225600,"1"],[1767225601,"2"]]}]}}"#,
        );
        let QueryResult::Matrix(series) = &matrix.result else {
            panic!()
        };
        assert_eq!(series[0].labels["job"], "a");
        assert_eq!(series[0].points.len(), 2);
        assert_eq!(series[0].points[1].1, 2.0);
    }

    #[test]
    fn nan_and_infinities() {
        let answer = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"k":"nan"},"value":[1,"NaN"]},
            {"metric":{"k":"inf"},"value":[1,"+Inf"]},
            {"metric":{"k":"-inf"},"value":[1,"-Inf"]},
            {"metric":{"k":"exp"},"value":[1,"1e-05"]},
            {"metric":{"k":"neg"},"value":[1,"-3.5"]}]}}"#,
        );
        let QueryResult::Vector(s) = answer.result else {
            panic!()
        };
        assert!(s[0].value.is_nan());
        assert_eq!(s[1].value, f64::INFINITY);
        assert_eq!(s[2].value, f64::NEG_INFINITY);
        assert_eq!(s[3].value, 1e-5);
        assert_eq!(s[4].value, -3.5);
        let scalar =
            ok(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}"#);
        assert!(scalar.result.single_value().unwrap().is_nan());
    }

    #[test]
    fn error_envelopes_are_bad_queries() {
        let e = err(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <op:*>"}"#,
        );
        assert_eq!(
            e,
            PrometheusError::BadQuery {
                host: HOST.into(),
                error_type: "bad_data".into(),
                message: "invalid parameter \"query\": 1:5: parse error: unexpected <op:*>".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "Prometheus at prom.example:9090 rejected the query (bad_data): invalid parameter \"query\": 1:5: parse error: unexpected <op:*>"
        );
        let e = err(
            422,
            r#"{"status":"error","errorType":"execution","error":"found duplicate series\nfor the match group"}"#,
        );
        assert!(
            matches!(&e, PrometheusError::BadQuery { error_type, message, .. } if error_type == "execution" && message == "found duplicate series for the match group"),
            "{e:?}"
        );
        assert_eq!(e.host(), Some(HOST));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        for (status, body, says) in [
            (200, "<html>login</html>", "not Prometheus' JSON envelope"),
            (200, "", "not Prometheus' JSON envelope"),
            (200, r#"{"status":"success"}"#, "without `data`"),
            (
                200,
                r#"{"status":"weird","data":{"resultType":"vector","result":[]}}"#,
                "status `weird`",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":{}}}"#,
                "a vector that is not one",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"one"]}]}}"#,
                "not a number: `one`",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"inf"]}]}}"#,
                "not a number",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}"#,
                "native histogram",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"scalar","result":"1"}}"#,
                "a scalar that is not one",
            ),
            (
                200,
                r#"{"status":"success","data":{"resultType":"table","result":[]}}"#,
                "unknown result type `table`",
            ),
            (
                400,
                "bad request",
                "answered 400 without Prometheus' error envelope",
            ),
            (404, "404 page not found", "answered 404 (is the URL"),
        ] {
            let e = err(status, body);
            assert!(
                matches!(e, PrometheusError::Protocol { .. }),
                "{body}: {e:?}"
            );
            let text = e.to_string();
            assert!(
                text.starts_with("Prometheus at prom.example:9090 sent an unexpected answer: "),
                "{text}"
            );
            assert!(text.contains(says), "{body}: {text}");
        }
        assert!(
            matches!(
                err(
                    200,
                    r#"{"status":"error","errorType":"bad_data","error":"x"}"#
                ),
                PrometheusError::BadQuery { .. }
            ),
            "an error envelope is one whatever the status"
        );
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn credentials_from_the_environment_never_shown() {
        assert_eq!(Auth::from_env(&vars(&[])).unwrap(), Auth::None);
        let bearer = Auth::from_env(&vars(&[("UPKEEP_PROMETHEUS_TOKEN", "t0ken")])).unwrap();
        assert_eq!(bearer, Auth::Bearer("t0ken".into()));
        assert!(!format!("{bearer:?}").contains("t0ken"));
        let basic = Auth::from_env(&vars(&[
            ("UPKEEP_PROMETHEUS_USERNAME", "ci"),
            ("UPKEEP_PROMETHEUS_PASSWORD", "hunter2"),
            ("UPKEEP_PROMETHEUS_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(
            basic,
            Auth::Basic {
                username: "ci".into(),
                password: "hunter2".into()
            }
        );
        assert!(!format!("{basic:?}").contains("hunter2"));
        for bad in [
            vec![
                ("UPKEEP_PROMETHEUS_TOKEN", "t0ken"),
                ("UPKEEP_PROMETHEUS_USERNAME", "ci"),
            ],
            vec![("UPKEEP_PROMETHEUS_USERNAME", "ci")],
            vec![("UPKEEP_PROMETHEUS_PASSWORD", "hunter2")],
        ] {
            let e = Auth::from_env(&vars(&bad)).unwrap_err().to_string();
            assert!(e.starts_with("Prometheus settings: "), "{e}");
            assert!(e.contains("UPKEEP_PROMETHEUS_"), "{e}");
            assert!(!e.contains("t0ken") && !e.contains("hunter2"), "{e}");
        }
    }

    #[tokio::test]
    async fn urls_and_the_plain_http_rule() {
        let token = vars(&[("UPKEEP_PROMETHEUS_TOKEN", "t0ken")]);
        let e = Prometheus::from_env("http://prom.example:9090", &token).unwrap_err();
        assert!(matches!(e, PrometheusError::Insecure(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(
                "Prometheus: refusing to send credentials over plain http to prom.example:9090"
            ),
            "{text}"
        );
        assert!(!text.contains("t0ken"));
        // without credentials, plain http anywhere is the user's choice
        Prometheus::from_env("http://prom.example:9090", &vars(&[])).unwrap();
        // loopback and https carry them
        let p = Prometheus::from_env("http://127.0.0.1:9090/", &token).unwrap();
        assert!(!format!("{p:?}").contains("t0ken"));
        assert_eq!(p.host(), "127.0.0.1:9090");
        assert_eq!(
            p.query_url("up{job=\"a b\"} > 0 & 1").as_str(),
            "http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22a+b%22%7D+%3E+0+%26+1"
        );
        let p = Prometheus::from_env("https://host.example/prometheus/?x=1", &token).unwrap();
        assert_eq!(
            p.query_url("up").as_str(),
            "https://host.example/prometheus/api/v1/query?query=up"
        );
        for bad in [
            "prom.example:9090",
            "ftp://prom.example",
            "not a url",
            "https://user:s3cret@prom.example",
        ] {
            let e = Prometheus::from_env(bad, &vars(&[])).unwrap_err();
            assert!(matches!(e, PrometheusError::Config(_)), "{bad}: {e:?}");
            assert!(!e.to_string().contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn unavailable_and_denied_wording() {
        let e = PrometheusError::Unavailable {
            error: net::TransportError::Status {
                host: HOST.into(),
                status: 503,
            },
            attempts: 3,
        };
        assert_eq!(
            e.to_string(),
            "Prometheus at prom.example:9090 answered 503 (after 3 attempts)"
        );
        assert_eq!(e.host(), Some(HOST));
        let e = PrometheusError::Denied {
            host: HOST.into(),
            status: 401,
            configured: true,
        };
        assert!(
            e.to_string().starts_with(
                "Prometheus at prom.example:9090 refused the configured credentials (401)"
            ),
            "{e}"
        );
    }
}
