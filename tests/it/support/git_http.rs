//! A git smart-HTTP server for tests: `git http-backend` (CGI) behind basic
//! auth, served by axum on 127.0.0.1 on its own thread, so that clones,
//! shallow fetches and pushes go through the same protocol as on GitHub.
//!
//! ```ignore
//! let server = GitServer::start("x-access-token", "tok123");
//! let url = server.create_repo("deploy", &[("values.yaml", "image: nginx:1.27\n")]);
//! // url = http://127.0.0.1:PORT/deploy.git ; wrong credentials get 401
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

pub struct GitServer {
    addr: SocketAddr,
    root: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    hang_pushes: Arc<AtomicBool>,
    hang_fetches: Arc<AtomicBool>,
}

impl GitServer {
    /// Starts a server that accepts exactly `user:password`.
    pub fn start(user: &str, password: &str) -> GitServer {
        let root = tempfile::tempdir().unwrap();
        let project_root = root.path().to_path_buf();
        let expected = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let hang_pushes = Arc::new(AtomicBool::new(false));
        let hang_fetches = Arc::new(AtomicBool::new(false));
        let (hang_push, hang_fetch) = (hang_pushes.clone(), hang_fetches.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let (root, expected) = (project_root.clone(), expected.clone());
                        let service =
                            |name: &str| method == Method::POST && uri.path().ends_with(name);
                        let hang = if hang_push.load(Ordering::SeqCst)
                            && service("/git-receive-pack")
                        {
                            Some("application/x-git-receive-pack-result")
                        } else if hang_fetch.load(Ordering::SeqCst) && service("/git-upload-pack") {
                            Some("application/x-git-upload-pack-result")
                        } else {
                            None
                        };
                        async move {
                            if let Some(content_type) = hang {
                                return dripping(content_type);
                            }
                            cgi(&root, &expected, method, uri, headers, body).await
                        }
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
        GitServer {
            addr,
            root,
            shutdown: Some(tx),
            thread: Some(thread),
            hang_pushes,
            hang_fetches,
        }
    }

    /// From now on every push hangs: receive-pack reads the pack, answers
    /// 200 and then drips its result one byte at a time (5 a second, for up
    /// to two minutes) and never completes it, so that neither a socket
    /// timeout nor a progress callback ends the push; only a total deadline
    /// does. Fetches still work.
    pub fn hang_pushes(&self) {
        self.hang_pushes.store(true, Ordering::SeqCst);
    }

    /// From now on every fetch hangs the same way: the references are
    /// listed, then upload-pack answers 200 and drips its pack.
    pub fn hang_fetches(&self) {
        self.hang_fetches.store(true, Ordering::SeqCst);
    }

    /// `http://127.0.0.1:PORT/<name>.git`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}.git", self.addr)
    }

    /// The bare repository behind `name`.
    pub fn bare_path(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("{name}.git"))
    }

    /// Creates a bare repository with one commit on `main` holding `files`.
    pub fn create_repo(&self, name: &str, files: &[(&str, &str)]) -> String {
        let bare = self.bare_path(name);
        run(
            Path::new("."),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
        self.commit(name, files, "initial");
        self.url(name)
    }

    /// Commits `files` (path, content) on top of `main` and pushes them.
    pub fn commit(&self, name: &str, files: &[(&str, &str)], message: &str) {
        self.commit_on(name, "main", files, message);
    }

    /// Commits `files` on top of `branch` (created from `main` if missing),
    /// pushes, and returns the new tip's SHA.
    pub fn commit_on(
        &self,
        name: &str,
        branch: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        let work = tempfile::tempdir().unwrap();
        let bare = self.bare_path(name);
        run(work.path(), &["clone", "-q", bare.to_str().unwrap(), "."]);
        let remote = format!("refs/remotes/origin/{branch}");
        let exists = Command::new("git")
            .current_dir(work.path())
            .args(["rev-parse", "-q", "--verify", &remote])
            .output()
            .unwrap()
            .status
            .success();
        if exists {
            run(work.path(), &["checkout", "-q", "-B", branch, &remote]);
        } else {
            run(work.path(), &["checkout", "-q", "-B", branch]);
        }
        for (path, content) in files {
            let p = work.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        run(work.path(), &["add", "-A"]);
        run(
            work.path(),
            &[
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
                "commit",
                "-q",
                "-m",
                message,
            ],
        );
        run(work.path(), &["push", "-q", "origin", branch]);
        let head = Command::new("git")
            .current_dir(work.path())
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&head.stdout).trim().to_owned()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer of a hanging receive-pack or upload-pack: a side-band
/// pkt-line announced as 65,520 bytes long whose bytes arrive one every
/// 200 ms.
fn dripping(content_type: &'static str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(Body::from_stream(Drip {
            sent: 0,
            tick: tokio::time::interval(std::time::Duration::from_millis(200)),
        }))
        .unwrap()
}

struct Drip {
    sent: usize,
    tick: tokio::time::Interval,
}

impl futures_core::Stream for Drip {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.sent >= 600 {
            return std::task::Poll::Ready(None);
        }
        match self.tick.poll_tick(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(_) => {
                let chunk: &'static [u8] = if self.sent == 0 { b"fff0\x02" } else { b"." };
                self.sent += 1;
                std::task::Poll::Ready(Some(Ok(Bytes::from_static(chunk))))
            }
        }
    }
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn cgi(
    root: &Path,
    expected: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if header("authorization") != expected {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("www-authenticate", "Basic realm=\"git\"")
            .body(Body::from("auth required\n"))
            .unwrap();
    }
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", "git")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await.unwrap();
    let _ = writer.await;
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(out.stdout.len());
    let head = String::from_utf8_lossy(&out.stdout[..split]).into_owned();
    let payload = out.stdout.get(split + 4..).unwrap_or_default().to_vec();
    let mut response = Response::builder();
    let mut status = StatusCode::OK;
    for line in head.split("\r\n") {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                status = v
                    .trim()
                    .split(' ')
                    .next()
                    .and_then(|c| c.parse().ok())
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            } else {
                response = response.header(k.trim(), v.trim());
            }
        }
    }
    response.status(status).body(Body::from(payload)).unwrap()
}
