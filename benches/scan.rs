//! Scanning throughput over a generated tree of 10,000 manifest files (Helm
//! values, Kubernetes manifests, compose files, .env files and Dockerfiles).
//!
//! `cargo bench --bench scan` prints time per scan with files/s and bytes/s.
//! `UPKEEP_BENCH_FILES` changes the tree size; `UPKEEP_BENCH_KEEP=DIR` writes
//! the tree to DIR and keeps it (to compare with `rg -c image DIR`).
//!
//! It first guards against time quadratic in line length: a 3 MB minified
//! (single-line) JSON manifest is scanned and timed against the same
//! manifest broken into one line per container (a fully pretty-printed copy
//! would pass the 4 MiB file cap); the ratio is printed, and more than
//! [`MAX_LINE_RATIO`] fails the bench.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::counter::{BytesCount, ItemsCount};

/// How much slower one long line may scan than the same content on many
/// lines: generous, the point is linear against quadratic (which was
/// ~100x at this size).
const MAX_LINE_RATIO: f64 = 4.0;

fn main() {
    single_line_ratio();
    divan::main();
}

/// A Kubernetes manifest of `n` containers, minified (one line) or with
/// one container per line.
fn json_manifest(n: usize, pretty: bool) -> String {
    let containers: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"name": format!("c{i}"), "image": format!("ghcr.io/acme/app-{i}:v1.{i}.0"),
                "args": ["--http", format!("--port={i}")], "env": [{"name": "X", "value": "é"}]})
        })
        .collect();
    let doc = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": containers}}}});
    let text = serde_json::to_string(&doc).unwrap();
    if pretty {
        text.replace(r#"},{"args""#, "},\n{\"args\"")
    } else {
        text
    }
}

fn single_line_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let time = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let report = upkeep::domain::manifest::scan(&path);
            best = best.min(start.elapsed().as_secs_f64());
            assert!(report.problems.is_empty(), "{:?}", report.problems);
        }
        best
    };
    let minified = json_manifest(25_000, false);
    let pretty = json_manifest(25_000, true);
    assert!(pretty.lines().count() >= 25_000);
    let (one, many) = (time("min.json", &minified), time("pretty.json", &pretty));
    let ratio = one / many;
    println!(
        "single-line JSON: {:.1} MB on one line {one:.3} s, one container a line ({:.1} MB) {many:.3} s: ratio {ratio:.2} (limit {MAX_LINE_RATIO})",
        minified.len() as f64 / 1e6,
        pretty.len() as f64 / 1e6,
    );
    assert!(
        ratio < MAX_LINE_RATIO,
        "scan time grows with line length: ratio {ratio:.2}"
    );
}

struct Tree {
    root: PathBuf,
    files: usize,
    bytes: usize,
    _dir: Option<tempfile::TempDir>,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let files: usize = std::env::var("UPKEEP_BENCH_FILES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let (dir, root) = match std::env::var("UPKEEP_BENCH_KEEP") {
            Ok(keep) => (None, PathBuf::from(keep)),
            Err(_) => {
                let d = tempfile::tempdir().unwrap();
                let r = d.path().to_path_buf();
                (Some(d), r)
            }
        };
        let bytes = generate(&root, files);
        Tree {
            root,
            files,
            bytes,
            _dir: dir,
        }
    })
}

/// Writes `n` files spread over 100 directories; returns the total size.
fn generate(root: &Path, n: usize) -> usize {
    let mut total = 0;
    for i in 0..n {
        let dir = root.join(format!("envs/env-{:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let (name, text) = match i % 5 {
            0 => (format!("values-{i}.yaml"), helm(i)),
            1 => (format!("deployment-{i}.yaml"), kubernetes(i)),
            2 => (format!("docker-compose-{i}.yml"), compose(i)),
            3 => (format!("node-{i}.env"), dotenv(i)),
            _ => (format!("app-{i}.Dockerfile"), dockerfile(i)),
        };
        total += text.len();
        std::fs::write(dir.join(name), text).unwrap();
    }
    total
}

fn helm(i: usize) -> String {
    format!(
        "# values for node {i}\nreplicaCount: 1\nimage:\n  repository: sigp/lighthouse\n  tag: v5.{}.0\n  pullPolicy: IfNotPresent\n\
         resources:\n  limits: {{cpu: 2, memory: 8Gi}}\nexporter:\n  image: quay.io/prometheus/node-exporter:v1.8.{}\n\
         extraArgs:\n  - --http\n  - --metrics\npersistence:\n  enabled: true\n  size: 1Ti\n",
        i % 7,
        i % 3
    )
}

fn kubernetes(i: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: geth-{i}\n  labels: {{app: geth}}\nspec:\n  replicas: 1\n  template:\n    spec:\n\
         \x20     initContainers:\n        - name: init\n          image: busybox:1.36\n      containers:\n        - name: geth\n\
         \x20         image: ethereum/client-go:v1.14.{}\n          args: [\"--http\", \"--syncmode=snap\"]\n          ports:\n\
         \x20           - containerPort: 8545\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: geth-{i}\nspec:\n  ports: [{{port: 8545}}]\n",
        i % 13
    )
}

fn compose(i: usize) -> String {
    format!(
        "services:\n  execution:\n    image: ${{GETH_IMAGE:-ethereum/client-go}}:${{GETH_TAG:-v1.14.{}}}\n    restart: unless-stopped\n\
         \x20   volumes: [\"geth:/data\"]\n  consensus:\n    image: sigp/lighthouse:v5.3.0\n    command: [lighthouse, bn]\nvolumes:\n  geth: {{}}\n",
        i % 13
    )
}

fn dotenv(i: usize) -> String {
    format!(
        "# node {i}\nCOMPOSE_FILE=geth.yml:lighthouse.yml\nGETH_DOCKER_REPO=ethereum/client-go\nGETH_DOCKER_TAG=v1.14.{}\n\
         LH_DOCKER_REPO=sigp/lighthouse\nLH_DOCKER_TAG=v5.3.0\nNETWORK=mainnet\n",
        i % 13
    )
}

fn dockerfile(i: usize) -> String {
    format!(
        "ARG GETH_VERSION=v1.14.{}\nFROM ethereum/client-go:${{GETH_VERSION}} AS geth\nFROM debian:bookworm-slim\n\
         COPY --from=geth /usr/local/bin/geth /usr/local/bin/\nENTRYPOINT [\"geth\"]\n",
        i % 13
    )
}

#[divan::bench(sample_count = 10)]
fn scan_tree(bencher: divan::Bencher) {
    let t = tree();
    bencher
        .counter(ItemsCount::new(t.files))
        .counter(BytesCount::new(t.bytes))
        .bench(|| {
            let report = upkeep::domain::manifest::scan(divan::black_box(&t.root));
            assert!(report.references.len() >= t.files);
            report
        });
}
