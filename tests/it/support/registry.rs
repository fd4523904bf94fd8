//! A real OCI registry for tests: Debian's `docker-registry` (Distribution
//! 2.8) on 127.0.0.1 with a free port and a temporary storage directory,
//! stopped (by its PID) when the handle is dropped.
//!
//! ```ignore
//! let reg = RegistryServer::start();                       // anonymous
//! let reg = RegistryServer::start_basic("ci", "s3cret");   // htpasswd
//! let reg = RegistryServer::start_token(None);             // Docker Hub style token flow
//! let reg = RegistryServer::start_token(Some(("ci", "s3cret"))); // token endpoint wants basic auth
//! let digest = reg.push("sigp/lighthouse", "v7.0.0");              // one OCI manifest
//! let index = reg.push_multiarch("sigp/lighthouse", "v7.1.0", &["amd64", "arm64"]);
//! reg.url();      // http://127.0.0.1:PORT, for `registries.mirrors`
//! reg.requests(); // access log: [("HEAD", "/v2/…/manifests/v7.0.0", 200, "upkeep/0.1.0")]
//! ```
//! The token flow runs `tests/support/registry_token_server.py` (stdlib and
//! the `openssl` CLI: RS256 tokens signed with a throwaway key whose
//! certificate the registry trusts). Images are pushed through the registry
//! API by this module (blobs, manifests, an OCI index), over plain TCP.
//!
//! When `docker-registry` (or `htpasswd`, `openssl`, `python3`) is missing the
//! test fails and says what to install: `.ci/run` installs them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::Digest as _;

/// How the registry authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Auth {
    Anonymous,
    Basic(String, String),
    Token(Option<(String, String)>),
}

pub struct RegistryServer {
    port: u16,
    dir: tempfile::TempDir,
    registry: Child,
    token_server: Option<(Child, u16)>,
    auth: Auth,
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn require(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{program}` is not installed: the registry tests need it (apt-get install -y {package}; .ci/run does this)"
    );
}

impl RegistryServer {
    /// An anonymous registry (pull and push for anyone).
    pub fn start() -> RegistryServer {
        RegistryServer::launch(Auth::Anonymous)
    }

    /// A registry behind htpasswd basic auth.
    pub fn start_basic(user: &str, password: &str) -> RegistryServer {
        RegistryServer::launch(Auth::Basic(user.into(), password.into()))
    }

    /// A registry with Docker Hub's token flow; the token endpoint wants
    /// `credentials` as basic auth when given, else serves anyone.
    pub fn start_token(credentials: Option<(&str, &str)>) -> RegistryServer {
        RegistryServer::launch(Auth::Token(
            credentials.map(|(u, p)| (u.to_string(), p.to_string())),
        ))
    }

    fn launch(auth: Auth) -> RegistryServer {
        require("docker-registry", "docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let auth_section = match &auth {
            Auth::Anonymous => String::new(),
            Auth::Basic(user, password) => {
                require("htpasswd", "apache2-utils");
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("run htpasswd");
                assert!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).unwrap();
                format!(
                    "auth: {{htpasswd: {{realm: test-realm, path: {}}}}}\n",
                    file.display()
                )
            }
            Auth::Token(_) => String::new(), // below, once the token server runs
        };
        let mut token_server = None;
        let auth_section = if let Auth::Token(credentials) = &auth {
            let (child, port) = start_token_server(dir.path(), credentials.as_ref());
            token_server = Some((child, port));
            format!(
                "auth: {{token: {{realm: \"http://127.0.0.1:{port}/token\", service: test-registry, issuer: test-issuer, rootcertbundle: {}}}}}\n",
                dir.path().join("cert.pem").display()
            )
        } else {
            auth_section
        };
        // A freshly released port can be taken by someone else before the
        // registry binds it: try a few.
        for _ in 0..5 {
            let port = closed_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: 127.0.0.1:{port}, secret: test-secret}}\n{auth_section}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut registry = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            if wait_ready(&mut registry, port, "/v2/") {
                return RegistryServer {
                    port,
                    dir,
                    registry,
                    token_server,
                    auth,
                };
            }
            let _ = registry.kill();
            let _ = registry.wait();
        }
        panic!(
            "docker-registry did not start; its log:\n{}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`: the key for credentials of a mirrored registry.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes a one-platform OCI image (content unique to `repo:tag`) and
    /// returns its manifest digest as the registry reports it.
    pub fn push(&self, repo: &str, tag: &str) -> String {
        let (manifest, _) = self.image_manifest(repo, tag, "amd64");
        self.put_manifest(
            repo,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        )
    }

    /// Pushes one image per architecture and an OCI index over them under
    /// `tag`; returns the index digest.
    pub fn push_multiarch(&self, repo: &str, tag: &str, architectures: &[&str]) -> String {
        let mut entries = Vec::new();
        for arch in architectures {
            let (manifest, digest) = self.image_manifest(repo, &format!("{tag}-{arch}"), arch);
            let put = self.put_manifest(
                repo,
                &digest,
                "application/vnd.oci.image.manifest.v1+json",
                &manifest,
            );
            assert_eq!(put, digest);
            entries.push(format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{},"platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
                manifest.len()
            ));
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        );
        let digest = self.put_manifest(
            repo,
            tag,
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
        );
        assert_eq!(
            digest,
            sha256(index.as_bytes()),
            "the index digest is its bytes' sha256"
        );
        digest
    }

    /// Deletes a tag's manifest (by digest, as the API wants).
    pub fn delete(&self, repo: &str, digest: &str) {
        let auth = self.push_auth(repo);
        let (status, _, _) = http(
            "DELETE",
            &format!("{}/v2/{repo}/manifests/{digest}", self.url()),
            &auth,
            b"",
        );
        assert_eq!(status, 202, "delete {repo}@{digest}");
    }

    /// Requests from the access log: (method, path, status, user agent).
    pub fn requests(&self) -> Vec<(String, String, u16, String)> {
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| {
                // 127.0.0.1 - - [date] "HEAD /v2/x HTTP/1.1" 200 0 "" "agent"
                let mut quoted = l.split('"').skip(1).step_by(2);
                let request = quoted.next()?;
                let mut parts = request.split(' ');
                let method = parts.next()?.to_string();
                let path = parts.next()?.to_string();
                let rest = l.split('"').nth(2)?;
                let status = rest.split_whitespace().next()?.parse().ok()?;
                let agent = l.split('"').nth(5).unwrap_or_default().to_string();
                Some((method, path, status, agent))
            })
            .collect()
    }

    /// The access log lines upkeep's client sent.
    pub fn upkeep_requests(&self) -> Vec<(String, String, u16)> {
        self.requests()
            .into_iter()
            .filter(|r| r.3.starts_with("upkeep/"))
            .map(|(m, p, s, _)| (m, p, s))
            .collect()
    }

    /// Token-endpoint requests so far (token flow only).
    pub fn token_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("token.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The manifest of one architecture's image, and its digest; its config
    /// and layer blobs are uploaded.
    fn image_manifest(&self, repo: &str, unique: &str, arch: &str) -> (Vec<u8>, String) {
        let layer = format!("{repo}:{unique}\n").into_bytes();
        let layer_digest = sha256(&layer);
        let config = format!(
            r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}}}}"#
        )
        .into_bytes();
        let config_digest = sha256(&config);
        self.upload(repo, &layer, &layer_digest);
        self.upload(repo, &config, &config_digest);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        )
        .into_bytes();
        let digest = sha256(&manifest);
        (manifest, digest)
    }

    fn upload(&self, repo: &str, blob: &[u8], digest: &str) {
        let auth = self.push_auth(repo);
        let (status, headers, _) = http(
            "POST",
            &format!("{}/v2/{repo}/blobs/uploads/", self.url()),
            &auth,
            b"",
        );
        assert_eq!(status, 202, "start upload to {repo}");
        let location = header(&headers, "location").expect("upload location");
        let location = if location.starts_with("http") {
            location
        } else {
            format!("{}{location}", self.url())
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let mut put_headers = auth.clone();
        put_headers.push(("Content-Type".into(), "application/octet-stream".into()));
        let (status, _, body) = http(
            "PUT",
            &format!("{location}{sep}digest={digest}"),
            &put_headers,
            blob,
        );
        assert_eq!(
            status,
            201,
            "upload {digest}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> String {
        let mut headers = self.push_auth(repo);
        headers.push(("Content-Type".into(), media_type.into()));
        let (status, h, answer) = http(
            "PUT",
            &format!("{}/v2/{repo}/manifests/{reference}", self.url()),
            &headers,
            body,
        );
        assert_eq!(
            status,
            201,
            "put manifest {repo}:{reference}: {}",
            String::from_utf8_lossy(&answer)
        );
        header(&h, "docker-content-digest").expect("Docker-Content-Digest")
    }

    /// Headers that let the test push to `repo`.
    fn push_auth(&self, repo: &str) -> Vec<(String, String)> {
        match &self.auth {
            Auth::Anonymous => Vec::new(),
            Auth::Basic(user, password) => vec![(
                "Authorization".into(),
                format!("Basic {}", BASE64.encode(format!("{user}:{password}"))),
            )],
            Auth::Token(credentials) => {
                let (_, port) = self.token_server.as_ref().unwrap();
                let mut headers = Vec::new();
                if let Some((u, p)) = credentials {
                    headers.push((
                        "Authorization".into(),
                        format!("Basic {}", BASE64.encode(format!("{u}:{p}"))),
                    ));
                }
                let (status, _, body) = http(
                    "GET",
                    &format!(
                        "http://127.0.0.1:{port}/token?service=test-registry&scope=repository:{repo}:pull,push"
                    ),
                    &headers,
                    b"",
                );
                assert_eq!(status, 200, "token for pushing");
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                vec![(
                    "Authorization".into(),
                    format!("Bearer {}", json["token"].as_str().unwrap()),
                )]
            }
        }
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
        if let Some((child, _)) = &mut self.token_server {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the token server with a fresh key and certificate in `dir`.
fn start_token_server(dir: &Path, credentials: Option<&(String, String)>) -> (Child, u16) {
    require("openssl", "openssl");
    require("python3", "python3");
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "30", "-subj", "/CN=test-issuer"])
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(der.status.success());
    let cert_b64 = dir.join("cert.b64");
    std::fs::write(&cert_b64, BASE64.encode(&der.stdout)).unwrap();
    let script: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/registry_token_server.py");
    for _ in 0..5 {
        let port = closed_port();
        let log = std::fs::File::create(dir.join("token-server.log")).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg(port.to_string())
            .arg(&key)
            .arg(&cert_b64)
            .arg("test-issuer");
        if let Some((u, p)) = credentials {
            cmd.arg(format!("{u}:{p}"));
        }
        cmd.env("TOKEN_LOG", dir.join("token.log"));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the token server");
        if wait_ready(&mut child, port, "/token") {
            return (child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "the token server did not start; its log:\n{}",
        std::fs::read_to_string(dir.join("token-server.log")).unwrap_or_default()
    );
}

/// Polls `path` until the server answers anything; false when the process
/// exits or 10 s pass.
fn wait_ready(child: &mut Child, port: u16, path: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if try_http("GET", &format!("http://127.0.0.1:{port}{path}"), &[], b"").is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A minimal HTTP/1.1 exchange over plain TCP (`Connection: close`):
/// (status, headers, body). Panics on transport errors.
fn http(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    try_http(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn try_http(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Answer> {
    let bad = |what: &str| std::io::Error::other(what.to_string());
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("not a plain http URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: upkeep-tests\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    if header(&headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Ok((status, headers, body))
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}
