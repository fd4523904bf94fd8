//! Container registries: does `image:tag` exist, and what is its digest? A
//! small OCI Distribution client on the shared HTTP layer
//! ([`crate::io::http`]: client, deadlines, pacing, retries, the loopback
//! rule); this module keeps what is the registry API's: names, mirrors, the
//! auth flow, `Accept` types, digests and caching.
//!
//! One question, [`Registry::manifest`]: `HEAD /v2/<name>/manifests/<tag>`
//! with the OCI and Docker `Accept` types (index, manifest list, manifest),
//! answered as exists (the `Docker-Content-Digest`: the index digest of a
//! multi-arch image, and the media type), missing (404) or a
//! [`RegistryError`].
//!
//! - Names resolve as Docker does ([`crate::domain::manifest::image::normalize`]):
//!   `sigp/lighthouse` is `docker.io/sigp/lighthouse`, `busybox` is
//!   `docker.io/library/busybox`; Docker Hub is reached at
//!   `registry-1.docker.io`.
//! - `registries.mirrors` maps a registry host to another endpoint; the
//!   repository path stays the same (as pull-through caches expect).
//!   Without a mirror every registry is reached over https, except loopback
//!   hosts (`localhost`, `127.0.0.1`, `[::1]`), which are reached over http.
//!   A mirror URL may say `http://` for any host (the user asked for it),
//!   but credentials are never sent over plain http to a non-loopback host:
//!   that is an [`RegistryError::Insecure`], not a silent downgrade.
//! - Auth: the anonymous Bearer flow (401 + `WWW-Authenticate: Bearer
//!   realm,service,scope` → token endpoint, with basic auth when credentials
//!   are configured → retry with the token); tokens are cached per
//!   (endpoint, scope) until they expire. Registries that ask for Basic get
//!   the configured credentials. Credentials come from
//!   `UPKEEP_REGISTRY_AUTH` / `UPKEEP_REGISTRY_AUTH_FILE` (Docker's
//!   `config.json` format), keyed by the host upkeep contacts (the mirror's
//!   host for a mirrored registry, so a registry's credentials never go to a
//!   mirror by accident).
//! - Each endpoint host is paced (a minimum interval between requests);
//!   429 and 5xx answers are retried with backoff (`Retry-After` honoured up
//!   to a limit); an endpoint that cannot be reached is marked down for the
//!   life of this `Registry` (one run), so a dead registry costs one timeout,
//!   not one per tag.
//! - Answers are cached in the state store: "exists, digest" for
//!   `UPKEEP_REGISTRY_TTL`, "missing" only briefly
//!   (`UPKEEP_REGISTRY_MISSING_TTL`) so that a tag pushed after its release
//!   is seen on the next run. Errors are never cached.
//!
//! Must not: GET a manifest when HEAD answers with a digest (Docker Hub
//! counts GETs against pull limits; GET is only the fallback for a registry
//! that omits `Docker-Content-Digest`), log or return credentials or tokens
//! (errors name the registry and the image, nothing from request headers),
//! or know anything about releases, findings or settings files.

mod auth;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use sha2::Digest as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use auth::{Challenge, CredentialSet, Credentials};

use crate::domain::manifest::image;
use crate::domain::settings::Registries;
use crate::io::http::{self as net, Response as Reply, authority, is_loopback};
use crate::io::store::Store;

/// The manifest types upkeep accepts, multi-arch first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Docker Hub's registry API host.
pub const DOCKER_HUB_ENDPOINT: &str = "https://registry-1.docker.io";

/// Redirects followed for one manifest request.
const MAX_REDIRECTS: u32 = 3;

/// The largest response body read (token answers, manifests).
const MAX_BODY: usize = 4 << 20;

/// A tag's manifest as the registry names it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    /// `sha256:…`: for a multi-arch image, the digest of the index.
    pub digest: String,
    /// The manifest's media type (`application/vnd.oci.image.index.v1+json`…).
    pub media_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid image reference `{0}`")]
    InvalidReference(String),
    #[error("registry settings: {0}")]
    Config(String),
    #[error("registry {registry} is unreachable: {message}")]
    Unreachable { registry: String, message: String },
    #[error(
        "registry {registry} rejected the credentials configured for {host} (401){for_image}; check UPKEEP_REGISTRY_AUTH",
        for_image = for_image(.image)
    )]
    BadCredentials {
        registry: String,
        host: String,
        image: Option<String>,
    },
    #[error(
        "registry {registry} requires credentials for {image} (401) and none are configured for {host}; set UPKEEP_REGISTRY_AUTH"
    )]
    NeedsCredentials {
        registry: String,
        host: String,
        image: String,
    },
    #[error(
        "registry {registry} denied access to {image} ({status}): the repository may not exist or may be private"
    )]
    Denied {
        registry: String,
        image: String,
        status: u16,
    },
    #[error("registry {registry} keeps answering 429 (too many requests) for {image}")]
    RateLimited { registry: String, image: String },
    #[error("registry {registry} answered {status} for {image}")]
    Status {
        registry: String,
        image: String,
        status: u16,
    },
    #[error("registry {registry}: {message}")]
    Protocol { registry: String, message: String },
    #[error("registry {registry}: {}", insecure(.host))]
    Insecure { registry: String, host: String },
}

/// The shared wording of the plain-http rule.
fn insecure(host: &str) -> net::TransportError {
    net::TransportError::Insecure {
        host: host.to_string(),
    }
}

fn for_image(image: &Option<String>) -> String {
    image
        .as_ref()
        .map_or_else(String::new, |i| format!(" for {i}"))
}

impl RegistryError {
    /// True when the registry could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RegistryError::Unreachable { .. })
    }
}

/// How the client paces, retries and caches.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Shortest time between two requests to one host.
    pub min_interval: Duration,
    /// How long an "exists" answer is reused from the state store.
    pub ttl: Duration,
    /// How long a "missing" answer is reused.
    pub missing_ttl: Duration,
    /// Attempts for one request on 429 and 5xx answers, the first included.
    /// Connection failures are tried twice at most.
    pub attempts: u32,
    /// First backoff; doubles each time.
    pub base_delay: Duration,
    /// The longest `Retry-After` honoured before giving up.
    pub max_wait: Duration,
    /// Connect timeout, and the timeout of one whole request.
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            min_interval: Duration::from_millis(100),
            ttl: Duration::from_secs(6 * 3600),
            missing_ttl: Duration::from_secs(60),
            attempts: 3,
            base_delay: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Counters for logs and tests.
#[derive(Debug, Default)]
pub struct RegistryStats {
    /// HTTP requests sent to registries and token endpoints.
    pub requests: AtomicU64,
    /// Token endpoint requests among them.
    pub token_requests: AtomicU64,
    /// Answers taken from the state store or this run's memory.
    pub cache_hits: AtomicU64,
}

/// Where one image lives and how it is reached.
#[derive(Clone, Debug)]
struct Target {
    /// The registry as named in the image (`docker.io`, `ghcr.io`).
    registry: String,
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    endpoint: String,
    /// `host[:port]` of the endpoint: pacing, credentials, "down" marks.
    host: String,
    /// https, or a loopback host: credentials may travel.
    safe_for_credentials: bool,
    /// The repository path (`library/busybox`).
    repository: String,
    /// The registry as shown in messages.
    shown: String,
}

/// The registry client. Cheap to share behind an `Arc`; one per run.
pub struct Registry {
    client: net::Client,
    mirrors: BTreeMap<String, String>,
    credentials: CredentialSet,
    store: Option<Arc<Store>>,
    options: RegistryOptions,
    /// Bearer tokens per (endpoint, scope), with their expiry.
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
    /// Endpoints that asked for Basic auth: send it up front next time.
    basic: Mutex<HashSet<String>>,
    /// Endpoints found unreachable in this run, with the reason.
    down: Mutex<HashMap<String, String>>,
    /// Answers of this run (without a store, or before it).
    memo: Mutex<HashMap<(String, String, String), Option<Manifest>>>,
    pub stats: RegistryStats,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("mirrors", &self.mirrors)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for the given settings and credentials, caching answers in
    /// `store` when given.
    pub fn new(
        settings: &Registries,
        credentials: CredentialSet,
        store: Option<Arc<Store>>,
        options: RegistryOptions,
    ) -> Result<Registry, RegistryError> {
        let client = net::Client::new(net::ClientOptions {
            connect_timeout: options.connect_timeout,
            request_timeout: options.request_timeout,
            max_body: MAX_BODY,
            min_interval: options.min_interval,
        })
        .map_err(|e| RegistryError::Config(e.to_string()))?;
        let mirrors = settings
            .mirrors
            .iter()
            .map(|(host, url)| (auth::host_key(host), url.trim_end_matches('/').to_string()))
            .collect();
        Ok(Registry {
            client,
            mirrors,
            credentials,
            store,
            options,
            tokens: Mutex::default(),
            basic: Mutex::default(),
            down: Mutex::default(),
            memo: Mutex::default(),
            stats: RegistryStats::default(),
        })
    }

    /// A client configured from the settings and the environment
    /// (`UPKEEP_REGISTRY_AUTH`, `UPKEEP_REGISTRY_AUTH_FILE`,
    /// `UPKEEP_REGISTRY_MIN_INTERVAL_MS`, `UPKEEP_REGISTRY_TTL`,
    /// `UPKEEP_REGISTRY_MISSING_TTL`; see [`crate::env`]).
    pub fn from_env(
        settings: &Registries,
        env: &HashMap<String, String>,
        store: Option<Arc<Store>>,
    ) -> Result<Registry, RegistryError> {
        use crate::env;
        let credentials = match (
            env.get(env::REGISTRY_AUTH),
            env.get(env::REGISTRY_AUTH_FILE),
        ) {
            (Some(text), _) if !text.trim().is_empty() => {
                CredentialSet::from_docker_config(text)
                    .map_err(|e| RegistryError::Config(format!("{}: {e}", env::REGISTRY_AUTH)))?
            }
            (_, Some(path)) if !path.is_empty() => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RegistryError::Config(format!("{} ({path}): {e}", env::REGISTRY_AUTH_FILE))
                })?;
                CredentialSet::from_docker_config(&text).map_err(|e| {
                    RegistryError::Config(format!("{} ({path}): {e}", env::REGISTRY_AUTH_FILE))
                })?
            }
            _ => CredentialSet::default(),
        };
        let number = |name: &str| -> Result<Option<u64>, RegistryError> {
            env.get(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        RegistryError::Config(format!("{name} must be a whole number, not `{v}`"))
                    })
                })
                .transpose()
        };
        let mut options = RegistryOptions::default();
        if let Some(ms) = number(env::REGISTRY_MIN_INTERVAL_MS)? {
            options.min_interval = Duration::from_millis(ms);
        }
        if let Some(s) = number(env::REGISTRY_TTL)? {
            options.ttl = Duration::from_secs(s);
        }
        if let Some(s) = number(env::REGISTRY_MISSING_TTL)? {
            options.missing_ttl = Duration::from_secs(s);
        }
        Registry::new(settings, credentials, store, options)
    }

    /// The manifest of `image:tag`, `image` as written in a deployment file
    /// (`sigp/lighthouse`, `ghcr.io/acme/node`, `busybox`). `Ok(None)`: the
    /// registry says the tag does not exist.
    pub async fn manifest(
        &self,
        image: &str,
        tag: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        if !image::is_valid_tag(tag) {
            return Err(RegistryError::InvalidReference(format!("{image}:{tag}")));
        }
        let target = self.resolve(image)?;
        let key = (
            target.endpoint.clone(),
            target.repository.clone(),
            tag.to_string(),
        );
        if let Some(known) = lock(&self.memo).get(&key).cloned() {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(known);
        }
        if let Some(cached) = self.cached(&target, tag) {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            lock(&self.memo).insert(key, cached.clone());
            return Ok(cached);
        }
        if let Some(message) = lock(&self.down).get(&target.endpoint).cloned() {
            return Err(RegistryError::Unreachable {
                registry: target.shown,
                message,
            });
        }
        let result = self.head(&target, tag).await;
        match &result {
            Ok(answer) => {
                lock(&self.memo).insert(key, answer.clone());
                if let Some(store) = &self.store {
                    let pair = answer
                        .as_ref()
                        .map(|m| (m.digest.as_str(), m.media_type.as_str()));
                    if let Err(e) = store.save_manifest(
                        &target.endpoint,
                        &target.repository,
                        tag,
                        pair,
                        Utc::now(),
                    ) {
                        tracing::warn!(error = %e, "cannot cache a registry answer");
                    }
                }
            }
            Err(RegistryError::Unreachable { message, .. }) => {
                lock(&self.down).insert(target.endpoint.clone(), message.clone());
            }
            Err(_) => {}
        }
        result
    }

    /// Many lookups, at most `concurrency` at a time; each `(image, tag)`
    /// with its answer.
    pub async fn manifests(
        self: &Arc<Self>,
        wanted: Vec<(String, String)>,
        concurrency: usize,
    ) -> Vec<((String, String), Result<Option<Manifest>, RegistryError>)> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (image, tag) in wanted {
            let (registry, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = registry.manifest(&image, &tag).await;
                ((image, tag), result)
            });
        }
        let mut out = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(pair) = done {
                out.push(pair);
            }
        }
        out
    }

    /// Where an image lives.
    fn resolve(&self, image: &str) -> Result<Target, RegistryError> {
        if !image::is_valid_name(image) {
            return Err(RegistryError::InvalidReference(image.to_string()));
        }
        let full = image::normalize(image);
        let Some((host, repository)) = full.split_once('/') else {
            return Err(RegistryError::InvalidReference(image.to_string()));
        };
        let registry = host.to_ascii_lowercase();
        let (endpoint, shown) = match self.mirrors.get(&registry) {
            Some(mirror) => (mirror.clone(), format!("{registry} (mirror {mirror})")),
            None if registry == "docker.io" => (DOCKER_HUB_ENDPOINT.to_string(), registry.clone()),
            None if is_loopback(&registry) => (format!("http://{registry}"), registry.clone()),
            None => (format!("https://{registry}"), registry.clone()),
        };
        let parsed = url::Url::parse(&endpoint).map_err(|_| {
            RegistryError::Config(format!("the endpoint of {registry} is not a valid URL"))
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(RegistryError::Config(format!(
                "the mirror of {registry} carries credentials in its URL; use UPKEEP_REGISTRY_AUTH instead"
            )));
        }
        let host = authority(&parsed).ok_or_else(|| {
            RegistryError::Config(format!("the endpoint of {registry} has no host"))
        })?;
        let safe_for_credentials = net::may_carry_credentials(&parsed);
        Ok(Target {
            registry,
            endpoint,
            host,
            safe_for_credentials,
            repository: repository.to_string(),
            shown,
        })
    }

    /// A fresh enough answer from the state store.
    fn cached(&self, target: &Target, tag: &str) -> Option<Option<Manifest>> {
        let store = self.store.as_ref()?;
        let row = store
            .cached_manifest(&target.endpoint, &target.repository, tag)
            .ok()
            .flatten()?;
        let age = (Utc::now() - row.checked_at).to_std().unwrap_or_default();
        let ttl = if row.manifest.is_some() {
            self.options.ttl
        } else {
            self.options.missing_ttl
        };
        if age >= ttl {
            return None;
        }
        Some(
            row.manifest
                .map(|(digest, media_type)| Manifest { digest, media_type }),
        )
    }

    /// The credentials for a target's host, if any, and if they may travel.
    fn credentials_for(&self, target: &Target) -> Result<Option<&Credentials>, RegistryError> {
        let key = if self.mirrors.contains_key(&target.registry) {
            target.host.as_str()
        } else {
            target.registry.as_str()
        };
        match self.credentials.get(key) {
            Some(_) if !target.safe_for_credentials => Err(RegistryError::Insecure {
                registry: target.shown.clone(),
                host: target.host.clone(),
            }),
            found => Ok(found),
        }
    }

    /// HEAD of a manifest, authenticating when challenged.
    async fn head(&self, target: &Target, tag: &str) -> Result<Option<Manifest>, RegistryError> {
        let scope = format!("repository:{}:pull", target.repository);
        let mut url = format!(
            "{}/v2/{}/manifests/{tag}",
            target.endpoint, target.repository
        );
        let what = format!("{}:{tag}", target.repository);
        let mut authorization = self.known_authorization(target, &scope)?;
        let mut challenged = false;
        let mut redirects = 0;
        let mut foreign = false;
        loop {
            let reply = self
                .send(target, Method::HEAD, &url, authorization.as_deref(), &what)
                .await?;
            match reply.status {
                s if s.is_success() => {
                    return match manifest_of(&reply.headers) {
                        Some(m) => Ok(Some(m)),
                        None => self
                            .get_manifest(target, &url, authorization.as_deref(), &what)
                            .await
                            .map(Some),
                    };
                }
                StatusCode::NOT_FOUND => return Ok(None),
                s if s.is_redirection() && redirects < MAX_REDIRECTS => {
                    // registry.k8s.io and some mirrors redirect manifest
                    // requests. Credentials stay with the registry's own
                    // host: another host gets no Authorization, and a
                    // challenge from it is not answered.
                    redirects += 1;
                    let next = reply
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|l| url::Url::parse(&url).ok()?.join(l).ok())
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| RegistryError::Protocol {
                            registry: target.shown.clone(),
                            message: format!("redirected {what} without a usable Location"),
                        })?;
                    if authority(&next).as_deref() != Some(target.host.as_str()) {
                        authorization = None;
                        challenged = true;
                        foreign = true;
                    }
                    url = next.to_string();
                }
                StatusCode::UNAUTHORIZED if !challenged => {
                    challenged = true;
                    let challenge = auth::parse_challenges(
                        reply
                            .headers
                            .get_all(header::WWW_AUTHENTICATE)
                            .iter()
                            .filter_map(|v| v.to_str().ok()),
                    );
                    authorization = Some(
                        self.answer_challenge(target, &scope, challenge, &what)
                            .await?,
                    );
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(match self.credentials_for(target)? {
                        Some(_) if !foreign => RegistryError::BadCredentials {
                            registry: target.shown.clone(),
                            host: target.host.clone(),
                            image: Some(what),
                        },
                        _ => RegistryError::Denied {
                            registry: target.shown.clone(),
                            image: what,
                            status: 401,
                        },
                    });
                }
                StatusCode::FORBIDDEN => {
                    return Err(RegistryError::Denied {
                        registry: target.shown.clone(),
                        image: what,
                        status: 403,
                    });
                }
                s => {
                    return Err(RegistryError::Status {
                        registry: target.shown.clone(),
                        image: what,
                        status: s.as_u16(),
                    });
                }
            }
        }
    }

    /// GET of a manifest, for registries that send no digest on HEAD: the
    /// digest is the sha256 of the bytes served.
    async fn get_manifest(
        &self,
        target: &Target,
        url: &str,
        authorization: Option<&str>,
        what: &str,
    ) -> Result<Manifest, RegistryError> {
        let reply = self
            .send(target, Method::GET, url, authorization, what)
            .await?;
        if !reply.status.is_success() {
            return Err(RegistryError::Status {
                registry: target.shown.clone(),
                image: what.to_string(),
                status: reply.status.as_u16(),
            });
        }
        let hex: String = sha2::Sha256::digest(&reply.body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Manifest {
            digest: format!("sha256:{hex}"),
            media_type: media_type(&reply.headers),
        })
    }

    /// The `Authorization` to send without waiting for a challenge: a cached
    /// token for this scope, or basic auth for an endpoint that asked for it.
    fn known_authorization(
        &self,
        target: &Target,
        scope: &str,
    ) -> Result<Option<String>, RegistryError> {
        let key = (target.endpoint.clone(), scope.to_string());
        if let Some((token, expiry)) = lock(&self.tokens).get(&key)
            && *expiry > Instant::now()
        {
            return Ok(Some(format!("Bearer {token}")));
        }
        if lock(&self.basic).contains(&target.endpoint) {
            return Ok(self.credentials_for(target)?.map(Credentials::basic_header));
        }
        Ok(None)
    }

    /// Turns a 401's challenge into an `Authorization` value.
    async fn answer_challenge(
        &self,
        target: &Target,
        scope: &str,
        challenge: Option<Challenge>,
        what: &str,
    ) -> Result<String, RegistryError> {
        match challenge {
            Some(Challenge::Bearer {
                realm,
                service,
                scope: asked,
            }) => {
                let asked = asked.unwrap_or_else(|| scope.to_string());
                let token = self
                    .token(target, &realm, service.as_deref(), &asked, scope)
                    .await?;
                Ok(format!("Bearer {token}"))
            }
            Some(Challenge::Basic) => match self.credentials_for(target)? {
                Some(c) => {
                    lock(&self.basic).insert(target.endpoint.clone());
                    Ok(c.basic_header())
                }
                None => Err(RegistryError::NeedsCredentials {
                    registry: target.shown.clone(),
                    host: target.host.clone(),
                    image: what.to_string(),
                }),
            },
            None => Err(RegistryError::Protocol {
                registry: target.shown.clone(),
                message: format!(
                    "answered 401 for {what} without a Bearer or Basic challenge upkeep understands"
                ),
            }),
        }
    }

    /// A bearer token for `scope` from the realm the registry named, with
    /// basic auth when credentials are configured; cached under
    /// (endpoint, `cache_scope`) until shortly before it expires.
    async fn token(
        &self,
        target: &Target,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        cache_scope: &str,
    ) -> Result<String, RegistryError> {
        let protocol = |message: String| RegistryError::Protocol {
            registry: target.shown.clone(),
            message,
        };
        let mut url = url::Url::parse(realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| protocol("its token realm is not an http(s) URL".into()))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(s) = service {
                query.append_pair("service", s);
            }
            query.append_pair("scope", scope);
        }
        let realm_host = authority(&url).unwrap_or_default();
        let credentials = self.credentials_for(target)?;
        if credentials.is_some() && !net::may_carry_credentials(&url) {
            return Err(RegistryError::Insecure {
                registry: target.shown.clone(),
                host: realm_host,
            });
        }
        self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
        let authorization = credentials.map(Credentials::basic_header);
        let reply = self
            .send(
                target,
                Method::GET,
                url.as_str(),
                authorization.as_deref(),
                "a token",
            )
            .await?;
        match reply.status {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if credentials.is_some() => {
                return Err(RegistryError::BadCredentials {
                    registry: target.shown.clone(),
                    host: target.host.clone(),
                    image: None,
                });
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(RegistryError::NeedsCredentials {
                    registry: target.shown.clone(),
                    host: target.host.clone(),
                    image: target.repository.clone(),
                });
            }
            s => {
                return Err(protocol(format!(
                    "its token endpoint {realm_host} answered {}",
                    s.as_u16()
                )));
            }
        }
        let token = auth::parse_token(&reply.body)
            .ok_or_else(|| protocol(format!("its token endpoint {realm_host} sent no token")))?;
        // Use it until 10 s (or half its life) before it expires.
        let margin = (token.expires_in / 2).min(Duration::from_secs(10));
        lock(&self.tokens).insert(
            (target.endpoint.clone(), cache_scope.to_string()),
            (
                token.value.clone(),
                Instant::now() + token.expires_in - margin,
            ),
        );
        Ok(token.value)
    }

    /// One request, paced and retried (429, 5xx, connection failures) by
    /// the shared client. Returns every other answer, and a 5xx once the
    /// retries are spent; the caller decides.
    async fn send(
        &self,
        target: &Target,
        method: Method,
        url: &str,
        authorization: Option<&str>,
        what: &str,
    ) -> Result<Reply, RegistryError> {
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(header::ACCEPT, MANIFEST_ACCEPT)
            .header(header::USER_AGENT, net::USER_AGENT);
        if let Some(a) = authorization {
            let mut value = HeaderValue::from_str(a).map_err(|_| RegistryError::Protocol {
                registry: target.shown.clone(),
                message: "the credentials cannot be sent as a header".into(),
            })?;
            value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request
            .body(Bytes::new())
            .map_err(|_| RegistryError::Protocol {
                registry: target.shown.clone(),
                message: format!("cannot request {what}: invalid URL"),
            })?;
        let retry = net::RetryPolicy {
            attempts: self.options.attempts.max(1),
            base_delay: self.options.base_delay,
            max_wait: self.options.max_wait,
            connect_attempts: Some(2),
            jitter: true,
        };
        match self.client.send(&retry, &request).await {
            Ok(sent) => {
                self.stats
                    .requests
                    .fetch_add(u64::from(sent.attempts), Ordering::Relaxed);
                if sent.response.status == StatusCode::TOO_MANY_REQUESTS {
                    return Err(RegistryError::RateLimited {
                        registry: target.shown.clone(),
                        image: what.to_string(),
                    });
                }
                Ok(sent.response)
            }
            Err(failed) => {
                self.stats
                    .requests
                    .fetch_add(u64::from(failed.attempts), Ordering::Relaxed);
                Err(RegistryError::Unreachable {
                    registry: target.shown.clone(),
                    message: failed.error.to_string(),
                })
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The manifest a successful HEAD describes, if it names its digest.
fn manifest_of(headers: &HeaderMap) -> Option<Manifest> {
    let digest = headers
        .get("docker-content-digest")?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    image::is_valid_digest(&digest).then(|| Manifest {
        digest,
        media_type: media_type(headers),
    })
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(mirrors: &[(&str, &str)]) -> Registry {
        let settings = Registries {
            mirrors: mirrors
                .iter()
                .map(|(h, u)| (h.to_string(), u.to_string()))
                .collect(),
            require_published: true,
            pin_digests: false,
        };
        Registry::new(
            &settings,
            CredentialSet::default(),
            None,
            RegistryOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn docker_names_resolve_to_docker_hub() {
        let r = registry(&[]);
        let t = r.resolve("busybox").unwrap();
        assert_eq!(t.endpoint, DOCKER_HUB_ENDPOINT);
        assert_eq!(t.repository, "library/busybox");
        assert_eq!(t.registry, "docker.io");
        let t = r.resolve("sigp/lighthouse").unwrap();
        assert_eq!(t.repository, "sigp/lighthouse");
        let t = r.resolve("index.docker.io/sigp/lighthouse").unwrap();
        assert_eq!(
            (t.endpoint.as_str(), t.repository.as_str()),
            (DOCKER_HUB_ENDPOINT, "sigp/lighthouse")
        );
        let t = r.resolve("ghcr.io/acme/node").unwrap();
        assert_eq!(
            (t.endpoint.as_str(), t.host.as_str()),
            ("https://ghcr.io", "ghcr.io")
        );
        assert!(t.safe_for_credentials);
        let t = r.resolve("localhost:5000/acme/node").unwrap();
        assert_eq!(t.endpoint, "http://localhost:5000");
        assert!(t.safe_for_credentials, "loopback");
        assert!(r.resolve("Not An Image").is_err());
    }

    #[test]
    fn mirrors_keep_the_repository_path() {
        let r = registry(&[
            ("docker.io", "http://127.0.0.1:5000/"),
            ("gcr.io", "http://mirror.example.internal"),
        ]);
        let t = r.resolve("busybox").unwrap();
        assert_eq!(t.endpoint, "http://127.0.0.1:5000");
        assert_eq!(t.repository, "library/busybox");
        assert_eq!(t.host, "127.0.0.1:5000");
        assert_eq!(t.shown, "docker.io (mirror http://127.0.0.1:5000)");
        let t = r.resolve("gcr.io/p/app").unwrap();
        assert!(!t.safe_for_credentials, "plain http to a remote host");
        let r = registry(&[("ghcr.io", "https://user:secret@mirror.example")]);
        let e = r.resolve("ghcr.io/a/b").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn credentials_never_travel_over_plain_http_to_remote_hosts() {
        let mut creds = CredentialSet::default();
        creds.insert("mirror.example.internal", Credentials::new("u", "p"));
        creds.insert("127.0.0.1:5000", Credentials::new("u", "p"));
        let settings = Registries {
            mirrors: [
                (
                    "gcr.io".to_string(),
                    "http://mirror.example.internal".to_string(),
                ),
                ("docker.io".to_string(), "http://127.0.0.1:5000".to_string()),
            ]
            .into(),
            require_published: true,
            pin_digests: false,
        };
        let r = Registry::new(&settings, creds, None, RegistryOptions::default()).unwrap();
        let e = r
            .credentials_for(&r.resolve("gcr.io/p/app").unwrap())
            .unwrap_err();
        assert!(matches!(e, RegistryError::Insecure { .. }), "{e}");
        assert!(
            r.credentials_for(&r.resolve("busybox").unwrap())
                .unwrap()
                .is_some()
        );
        // a registry's own credentials are not sent to its mirror
        let mut creds = CredentialSet::default();
        creds.insert("docker.io", Credentials::new("u", "p"));
        let r = Registry::new(&settings, creds, None, RegistryOptions::default()).unwrap();
        assert!(
            r.credentials_for(&r.resolve("busybox").unwrap())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn head_answers() {
        let mut h = HeaderMap::new();
        assert_eq!(manifest_of(&h), None);
        let digest = format!("sha256:{}", "ab".repeat(32));
        h.insert(
            "docker-content-digest",
            HeaderValue::from_str(&digest).unwrap(),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.oci.image.index.v1+json; charset=utf-8"),
        );
        assert_eq!(
            manifest_of(&h),
            Some(Manifest {
                digest,
                media_type: "application/vnd.oci.image.index.v1+json".into()
            })
        );
        h.insert(
            "docker-content-digest",
            HeaderValue::from_static("sha256:short"),
        );
        assert_eq!(manifest_of(&h), None);
    }

    #[test]
    fn environment_options() {
        let env: HashMap<String, String> = [
            ("UPKEEP_REGISTRY_MISSING_TTL".to_string(), "0".to_string()),
            (
                "UPKEEP_REGISTRY_MIN_INTERVAL_MS".to_string(),
                "5".to_string(),
            ),
        ]
        .into();
        let r = Registry::from_env(&Registries::default(), &env, None).unwrap();
        assert_eq!(r.options.missing_ttl, Duration::ZERO);
        assert_eq!(r.options.min_interval, Duration::from_millis(5));
        let env: HashMap<String, String> =
            [("UPKEEP_REGISTRY_TTL".to_string(), "soon".to_string())].into();
        assert!(Registry::from_env(&Registries::default(), &env, None).is_err());
        let env: HashMap<String, String> = [(
            "UPKEEP_REGISTRY_AUTH".to_string(),
            "{\"auths\": \"hunter2\"}".to_string(),
        )]
        .into();
        let e = Registry::from_env(&Registries::default(), &env, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("registry settings: UPKEEP_REGISTRY_AUTH: "),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
}
