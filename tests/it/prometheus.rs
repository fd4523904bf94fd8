//! The Prometheus client (`io::prometheus`) against a real Prometheus
//! scraping a target the test controls, and against small servers of the
//! test's own for what Prometheus does not do here (auth, outages).

use std::collections::HashMap;
use std::io::Write as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use upkeep::io::prometheus::{Auth, Prometheus, PrometheusError, PrometheusOptions, QueryResult};

use crate::support::prometheus::{
    JOB, PrometheusServer, kube_pod_container_info, read_head, samples,
};
use crate::support::registry::closed_port;

const GETH_ID: &str = "docker-pullable://ethereum/client-go@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const GETH_NEXT_ID: &str = "docker-pullable://ethereum/client-go@sha256:2222222222222222222222222222222222222222222222222222222222222222";
const LIGHTHOUSE_ID: &str = "docker-pullable://sigp/lighthouse@sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn quick() -> PrometheusOptions {
    PrometheusOptions {
        base_delay: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
        ..PrometheusOptions::default()
    }
}

fn vector(result: QueryResult) -> Vec<upkeep::domain::live::Sample> {
    match result {
        QueryResult::Vector(samples) => samples,
        other => panic!("not a vector: {other:?}"),
    }
}

/// One Prometheus for every assertion: starting one costs seconds.
#[tokio::test]
async fn the_client_reads_what_prometheus_scraped() {
    let started = Instant::now();
    let prom = PrometheusServer::start();
    let up = started.elapsed();
    prom.target().set(&format!(
        "{}{}",
        kube_pod_container_info(
            "eth",
            "geth-0",
            "geth",
            "ethereum/client-go:v1.14.0",
            GETH_ID
        ),
        kube_pod_container_info(
            "eth",
            "lighthouse-0",
            "beacon",
            "sigp/lighthouse:v7.0.0",
            LIGHTHOUSE_ID
        ),
    ));
    prom.wait_for(
        "kube_pod_container_info",
        |r| samples(r).len() == 2,
        Duration::from_secs(40),
    );
    let first_sample = started.elapsed();
    let client = Prometheus::new(&prom.url(), Auth::None, quick()).unwrap();

    // a vector, with the scraped labels and the job's
    let mut found = vector(
        client
            .query(r#"kube_pod_container_info{namespace="eth"}"#)
            .await
            .unwrap(),
    );
    found.sort_by(|a, b| a.labels["pod"].cmp(&b.labels["pod"]));
    assert_eq!(found.len(), 2, "{found:?}");
    let geth = &found[0];
    assert_eq!(geth.labels["__name__"], "kube_pod_container_info");
    assert_eq!(geth.labels["pod"], "geth-0");
    assert_eq!(geth.labels["container"], "geth");
    assert_eq!(geth.labels["image"], "ethereum/client-go:v1.14.0");
    assert_eq!(geth.labels["image_id"], GETH_ID);
    assert_eq!(geth.labels["job"], JOB);
    assert_eq!(geth.labels["instance"], prom.target().address());
    assert_eq!(geth.labels["uid"].len(), 36);
    assert_eq!(geth.value, 1.0);
    let age = chrono::Utc::now() - geth.at;
    assert!(
        age < chrono::Duration::seconds(30) && age > chrono::Duration::seconds(-5),
        "current data: {age}"
    );
    assert_eq!(found[1].labels["image"], "sigp/lighthouse:v7.0.0");

    // one value, scalars, NaN and infinities as Prometheus computes them
    let count = client
        .query("count(kube_pod_container_info)")
        .await
        .unwrap();
    assert_eq!(count.single_value(), Some(2.0));
    assert_eq!(
        client.query("scalar(count(kube_pod_container_info))").await,
        Ok(QueryResult::Scalar(2.0))
    );
    assert_eq!(
        client.query("1/0").await.unwrap().single_value(),
        Some(f64::INFINITY)
    );
    assert!(
        client
            .query("0/0")
            .await
            .unwrap()
            .single_value()
            .is_some_and(f64::is_nan)
    );
    let matrix = client.query("kube_pod_container_info[1m]").await.unwrap();
    assert!(
        matches!(&matrix, QueryResult::Matrix(s) if s.len() == 2 && !matrix.is_empty()),
        "{matrix:?}"
    );

    // no data: neither healthy nor unhealthy
    let none = client
        .query(r#"kube_pod_container_info{namespace="nowhere"}"#)
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(none.single_value(), None);

    // a bad query: Prometheus' own message
    let e = client
        .query("sum(kube_pod_container_info")
        .await
        .unwrap_err();
    let PrometheusError::BadQuery {
        host,
        error_type,
        message,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(host, &prom.url()["http://".len()..]);
    assert_eq!(error_type, "bad_data");
    assert!(message.contains("parse error"), "{message}");
    assert!(
        e.to_string().starts_with(&format!(
            "Prometheus at {host} rejected the query (bad_data): "
        )),
        "{e}"
    );

    // a change of the served text: the new image replaces the old one
    let changed_at = Instant::now();
    prom.target().set(&format!(
        "{}{}",
        kube_pod_container_info(
            "eth",
            "geth-0",
            "geth",
            "ethereum/client-go:v1.14.1",
            GETH_NEXT_ID
        ),
        kube_pod_container_info(
            "eth",
            "lighthouse-0",
            "beacon",
            "sigp/lighthouse:v7.0.0",
            LIGHTHOUSE_ID
        ),
    ));
    prom.wait_for(
        r#"kube_pod_container_info{pod="geth-0",image="ethereum/client-go:v1.14.1"}"#,
        |r| samples(r).len() == 1,
        Duration::from_secs(20),
    );
    let change = changed_at.elapsed();
    let geth = vector(
        client
            .query(r#"kube_pod_container_info{pod="geth-0"}"#)
            .await
            .unwrap(),
    );
    assert_eq!(geth.len(), 1, "the old series went stale: {geth:?}");
    assert_eq!(geth[0].labels["image"], "ethereum/client-go:v1.14.1");
    assert_eq!(geth[0].labels["image_id"], GETH_NEXT_ID);
    eprintln!(
        "prometheus ready after {up:?}, first sample after {first_sample:?}, a change seen after {change:?}"
    );
}

/// What a small server of the test's own received, and answers with.
struct Capture {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

/// Answers every request with `status` and `body` (JSON), keeping each
/// request head.
fn capture(status: &'static str, body: &'static str) -> Capture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let kept = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            kept.lock().unwrap().push(read_head(&mut stream));
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    Capture { port, heads }
}

const ONE: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1767225600,"1"]}]}}"#;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn credentials_from_the_environment_are_sent() {
    let server = capture("200 OK", ONE);
    let url = format!("http://127.0.0.1:{}", server.port);
    let bearer =
        Prometheus::from_env(&url, &env(&[("UPKEEP_PROMETHEUS_TOKEN", "s3cret-token")])).unwrap();
    let result = bearer.query(r#"up{job="a b"} == 1"#).await.unwrap();
    assert_eq!(result.single_value(), Some(1.0));
    let basic = Prometheus::from_env(
        &format!("{url}/prom/"),
        &env(&[
            ("UPKEEP_PROMETHEUS_USERNAME", "ci"),
            ("UPKEEP_PROMETHEUS_PASSWORD", "hunter2"),
        ]),
    )
    .unwrap();
    basic.query("up").await.unwrap();
    let anonymous = Prometheus::from_env(&url, &env(&[])).unwrap();
    anonymous.query("up").await.unwrap();

    let heads = server.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    let lower: Vec<String> = heads.iter().map(|h| h.to_ascii_lowercase()).collect();
    assert!(
        heads[0]
            .starts_with("GET /api/v1/query?query=up%7Bjob%3D%22a+b%22%7D+%3D%3D+1 HTTP/1.1\r\n"),
        "an instant query, URL-encoded, without `time`: {}",
        heads[0]
    );
    assert!(
        lower[0].contains("\r\nauthorization: bearer s3cret-token\r\n"),
        "{}",
        heads[0]
    );
    assert!(lower[0].contains("\r\nuser-agent: upkeep/"), "{}", heads[0]);
    assert!(
        heads[1].starts_with("GET /prom/api/v1/query?query=up HTTP/1.1\r\n"),
        "under the base path: {}",
        heads[1]
    );
    // base64("ci:hunter2")
    assert!(
        lower[1].contains("\r\nauthorization: basic y2k6ahvudgvymg==\r\n"),
        "{}",
        heads[1]
    );
    assert!(!lower[2].contains("authorization"), "{}", heads[2]);
}

#[tokio::test]
async fn refused_credentials_and_unavailable_servers() {
    let secret = env(&[("UPKEEP_PROMETHEUS_TOKEN", "s3cret-token")]);

    // nothing listens: the host, no credential, two connection attempts
    let port = closed_port();
    let client = Prometheus::new(
        &format!("http://127.0.0.1:{port}"),
        Auth::from_env(&secret).unwrap(),
        quick(),
    )
    .unwrap();
    let e = client.query("up").await.unwrap_err();
    assert!(
        matches!(&e, PrometheusError::Unavailable { attempts: 2, .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "Prometheus at 127.0.0.1:{port} could not be reached: "
        )),
        "{text}"
    );
    assert!(
        !text.contains("s3cret") && !format!("{e:?}").contains("s3cret"),
        "{text}"
    );
    assert_eq!(e.host(), Some(format!("127.0.0.1:{port}").as_str()));

    // a server that is not ready: 503, retried, then unavailable
    let starting = capture("503 Service Unavailable", "Service Unavailable");
    let client = Prometheus::new(
        &format!("http://127.0.0.1:{}", starting.port),
        Auth::from_env(&secret).unwrap(),
        quick(),
    )
    .unwrap();
    let e = client.query("up").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Prometheus at 127.0.0.1:{} answered 503 (after 3 attempts)",
            starting.port
        )
    );
    assert_eq!(starting.heads.lock().unwrap().len(), 3);

    // credentials refused: said so, without them
    let guarded = capture("401 Unauthorized", r#"{"error":"no"}"#);
    let client = Prometheus::new(
        &format!("http://127.0.0.1:{}", guarded.port),
        Auth::from_env(&secret).unwrap(),
        quick(),
    )
    .unwrap();
    let e = client.query("up").await.unwrap_err();
    assert!(
        matches!(
            e,
            PrometheusError::Denied {
                status: 401,
                configured: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("s3cret"), "{e}");
}
