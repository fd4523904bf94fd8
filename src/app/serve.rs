//! `upkeep serve`: the GitHub App server.
//!
//! ```text
//!  POST /webhook ──verify──> Event ──de-dup──> Job ─┐
//!  cron (schedule.poll) ─────────────────────> Poll ─┼─> queue ─> one Worker ─> pipeline::run
//!  cron (slack.digest) ─────────────────────> Digest ─┤                    └──> notify::run
//!  next rollout wave opens (Worker::wake) ──> Poll ─┤
//!  start ───────────────────────────────> Discover ─┘
//! ```
//!
//! - `POST /webhook` checks `X-Hub-Signature-256` against every configured
//!   secret (401 and no work otherwise), refuses bodies over the limit
//!   (413), drops deliveries already seen (`X-GitHub-Delivery`, kept in the
//!   state store for [`ServeOptions::delivery_ttl`]), and answers at once:
//!   202 when work was queued, 204 when the event is of no interest.
//! - One worker takes jobs in order, so passes never race on a branch or a
//!   pull request ([`worker`]). After a poll it sends the Slack alerts and
//!   reminders due; a digest job sends what `upkeep notify` sends. Slack
//!   failures are logged and counted, and never stop pull-request work.
//! - After each pass the worker says when a pending rollout wave next may
//!   open (its maintenance window opens, an earlier wave's soak ends): a
//!   poll is queued then too, so the wave opens on time between polls.
//! - `GET /healthz` (the process serves), `GET /readyz` (installations
//!   known, not shutting down), `GET /metrics` ([`metrics`]).
//! - On SIGTERM or ctrl-c: stop accepting, finish the current job, drop the
//!   rest (the next poll redoes it; GitHub is the source of truth).
//! - Replicas on a shared (PostgreSQL) store ([`replicas`]): a delivery is
//!   handled by the first replica to record it; `push`/`recheck` passes
//!   are requested in the store and run by whichever replica claims them
//!   first, one replica per repository at a time, under a lease it renews;
//!   each schedule tick fires on one replica; `/readyz` fails while the
//!   database does not answer.

pub mod metrics;
pub mod replicas;
pub mod webhook;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use tokio::sync::{mpsc, watch};

pub use metrics::Metrics;
pub use webhook::{Command, Event, Secrets, SignatureError};
pub use worker::{Job, Worker};

use crate::app::context::Context;
use crate::domain::render::Templates;
use crate::domain::settings::Cron;
use crate::io::forge::Forge;
use crate::io::store::Store;

/// Largest webhook body accepted by default: GitHub's own cap (25 MB).
/// Safe because at most [`DEFAULT_WEBHOOK_CONCURRENCY`] bodies are read at
/// once, each within [`DEFAULT_WEBHOOK_TIMEOUT`].
pub const DEFAULT_MAX_BODY: usize = 25 << 20;
/// Deliveries read at once; more get 503 at once (GitHub redelivers).
pub const DEFAULT_WEBHOOK_CONCURRENCY: usize = 8;
/// Time for one delivery, its body included; slower ones get 408.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(20);
/// Time for a request's headers (on every route): a connection that sends
/// none, or only part of them, is closed after it. An idle keep-alive
/// connection is closed after it too.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The webhook events upkeep reads: the only values of the `event` label
/// of its metrics (anything else is `other`, and an unverified request is
/// `unverified`), so a request cannot add series or break the exposition.
const EVENTS: &[&str] = &[
    "installation",
    "installation_repositories",
    "issue_comment",
    "issues",
    "ping",
    "pull_request",
    "push",
];

/// The metrics label for an event name.
fn event_label(event: &str, verified: bool) -> &'static str {
    if !verified {
        return "unverified";
    }
    EVENTS
        .iter()
        .find(|e| **e == event)
        .copied()
        .unwrap_or("other")
}

/// How `upkeep serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub secrets: Secrets,
    /// Larger webhook bodies get 413.
    pub max_body: usize,
    /// How long a delivery id is remembered for de-duplication.
    pub delivery_ttl: Duration,
    /// Jobs waiting at most; more get 503.
    pub queue: usize,
    /// Deliveries read at once; more get 503.
    pub webhook_concurrency: usize,
    /// Time for one delivery, body included; slower ones get 408.
    pub webhook_timeout: Duration,
    /// Time for a request's headers; slower connections are closed.
    pub header_timeout: Duration,
}

impl ServeOptions {
    pub fn new(listen: SocketAddr, secrets: Secrets) -> ServeOptions {
        ServeOptions {
            listen,
            secrets,
            max_body: DEFAULT_MAX_BODY,
            delivery_ttl: Duration::from_secs(7 * 24 * 3600),
            queue: 1000,
            webhook_concurrency: DEFAULT_WEBHOOK_CONCURRENCY,
            webhook_timeout: DEFAULT_WEBHOOK_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    secrets: Arc<Secrets>,
    store: Arc<Store>,
    queue: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
    forge: Option<Arc<Forge>>,
    ready: Arc<AtomicBool>,
    delivery_ttl: Duration,
    /// Deliveries being read or handled now.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Shared with the worker: repositories with a pass queued.
    queued_repos: Arc<std::sync::Mutex<std::collections::BTreeSet<crate::domain::repo::RepoName>>>,
    webhook_timeout: Duration,
    /// Set when the store is shared with other replicas.
    shared: Option<Arc<replicas::Shared>>,
}

impl AppState {
    pub fn new(
        secrets: Secrets,
        store: Arc<Store>,
        queue: mpsc::Sender<Job>,
        metrics: Arc<Metrics>,
    ) -> AppState {
        AppState {
            secrets: Arc::new(secrets),
            store,
            queue,
            metrics,
            forge: None,
            ready: Arc::new(AtomicBool::new(true)),
            delivery_ttl: ServeOptions::new(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                Secrets::default(),
            )
            .delivery_ttl,
            in_flight: Arc::new(tokio::sync::Semaphore::new(DEFAULT_WEBHOOK_CONCURRENCY)),
            queued_repos: Arc::default(),
            webhook_timeout: DEFAULT_WEBHOOK_TIMEOUT,
            shared: None,
        }
    }

    /// At most `concurrency` deliveries at once, each within `timeout`.
    pub fn with_webhook_limits(mut self, concurrency: usize, timeout: Duration) -> AppState {
        self.in_flight = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        self.webhook_timeout = timeout;
        self
    }

    /// The forge whose counters `/metrics` shows and which learns
    /// installations from webhooks.
    pub fn with_forge(mut self, forge: Arc<Forge>) -> AppState {
        self.forge = Some(forge);
        self
    }

    /// The flag `/readyz` reports.
    pub fn with_ready(mut self, ready: Arc<AtomicBool>) -> AppState {
        self.ready = ready;
        self
    }
}

/// The HTTP routes.
pub fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route("/webhook", post(webhook))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), bounded))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Bounds `/webhook` before its body is read: at most so many deliveries
/// at once (503 beyond, at once), each read and handled within the timeout
/// (408 after it), so slow or oversized uploads cannot pile up memory or
/// connections.
async fn bounded(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        state.metrics.webhook("unverified", "busy");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many deliveries in flight\n",
        )
            .into_response();
    };
    let large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_none_or(|n| n >= LARGE_BODY);
    let answered = tokio::time::timeout(state.webhook_timeout, next.run(request)).await;
    if large {
        // The body is gone by now: hand its memory back to the system.
        release_memory();
    }
    match answered {
        Ok(response) => response,
        Err(_) => {
            state.metrics.webhook("unverified", "timeout");
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                "the delivery took too long\n",
            )
                .into_response()
        }
    }
}

/// A delivery body at least this large (or of unknown length) is followed
/// by [`release_memory`].
const LARGE_BODY: u64 = 1 << 20;

/// Returns freed heap memory to the system (glibc keeps it otherwise, so
/// that after a burst of large deliveries the process would stay at its
/// peak). Elsewhere a no-op.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    if let Some(forge) = &state.forge {
        state.metrics.sync_forge(forge);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let event = text(&headers, "x-github-event").unwrap_or_default();
    if let Err(e) = state
        .secrets
        .verify(text(&headers, "x-hub-signature-256").as_deref(), &body)
    {
        state
            .metrics
            .webhook(event_label(&event, false), "rejected");
        tracing::warn!(event = %event.escape_debug(), reason = %e, "webhook refused");
        return (StatusCode::UNAUTHORIZED, format!("{e}\n")).into_response();
    }
    let label = event_label(&event, true);
    let parsed = match webhook::parse(&event, &body) {
        Ok(p) => p,
        Err(e) => {
            state.metrics.webhook(label, "invalid");
            return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
        }
    };
    let Some(parsed) = parsed else {
        state.metrics.webhook(label, "ignored");
        return StatusCode::NO_CONTENT.into_response();
    };
    if let Some(delivery) = text(&headers, "x-github-delivery") {
        match state.store.first_delivery(
            &delivery,
            crate::app::context::clock(),
            state.delivery_ttl,
        ) {
            Ok(true) => {}
            Ok(false) => {
                state.metrics.webhook(label, "duplicate");
                return (StatusCode::OK, "duplicate delivery ignored\n").into_response();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot record a webhook delivery; handling it anyway")
            }
        }
    }
    let installation = parsed.installation();
    let job = to_job(&state, parsed);
    let Some(job) = job else {
        state.metrics.webhook(label, "ignored");
        return StatusCode::NO_CONTENT.into_response();
    };
    // Shared store: the other per-repository jobs are kept there until
    // done, so that a replica dying mid-job does not lose it.
    if let Some(shared) = &state.shared {
        let tasks = worker::Durable::of(&job, installation);
        if !tasks.is_empty() {
            match shared.record(tasks).await {
                Ok(()) => {
                    queue_claim(shared, &state.queue);
                    state.metrics.webhook(label, "accepted");
                    return (StatusCode::ACCEPTED, "requested\n").into_response();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot keep a job in the shared store; running it here")
                }
            }
        }
    }
    // Shared store: any replica may run the pass (one at a time).
    if let (Some(shared), Job::Repos { repos, reason }) = (&state.shared, &job)
        && reason != "installation"
    {
        let names = repos.iter().map(ToString::to_string).collect();
        match shared.request(names, reason.clone()).await {
            Ok(()) => {
                queue_claim(shared, &state.queue);
                state.metrics.webhook(label, "accepted");
                return (StatusCode::ACCEPTED, "requested\n").into_response();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot request a pass in the shared store; running it here")
            }
        }
    }
    // A pass already queued for these repositories absorbs this trigger.
    if let Job::Repos { repos, .. } = &job {
        let mut queued = state.queued_repos.lock().unwrap_or_else(|e| e.into_inner());
        if !repos.is_empty() && repos.iter().all(|r| queued.contains(r)) {
            state.metrics.webhook(label, "coalesced");
            return (StatusCode::ACCEPTED, "already queued\n").into_response();
        }
        queued.extend(repos.iter().cloned());
    }
    match state.queue.try_send(job) {
        Ok(()) => {
            state.metrics.webhook(label, "accepted");
            (StatusCode::ACCEPTED, "queued\n").into_response()
        }
        Err(_) => {
            state.metrics.webhook(label, "dropped");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "queue full or shutting down\n",
            )
                .into_response()
        }
    }
}

/// The worker's job for an event; `None` when nothing needs doing.
fn to_job(state: &AppState, event: Event) -> Option<Job> {
    if let (Some(forge), Some(id)) = (&state.forge, event.installation()) {
        let owner = match &event {
            Event::Installed { account, .. } => account.clone(),
            Event::Push { repo, .. }
            | Event::PullClosed { repo, .. }
            | Event::DashboardEdited { repo, .. }
            | Event::Command { repo, .. } => repo.owner.clone(),
        };
        forge.remember_installation(&owner, id);
    }
    match event {
        Event::Installed { repositories, .. } => Some(Job::Repos {
            repos: repositories,
            reason: "installation".into(),
        }),
        Event::Push { repo, .. } => Some(Job::Repos {
            repos: vec![repo],
            reason: "push".into(),
        }),
        Event::PullClosed {
            repo,
            number,
            branch,
            merged: true,
            ..
        } => Some(Job::Merged {
            repo,
            number,
            branch,
        }),
        // Closed unmerged: the publisher finds it closed and skips that
        // version on the next pass.
        Event::PullClosed { merged: false, .. } => {
            state.metrics.pull("closed_unmerged");
            None
        }
        // The pass reads the ticked boxes at its start and acts on them.
        Event::DashboardEdited { repo, .. } => Some(Job::Repos {
            repos: vec![repo],
            reason: "dashboard".into(),
        }),
        Event::Command {
            repo,
            command: Command::Recheck,
            ..
        } => Some(Job::Repos {
            repos: vec![repo],
            reason: "recheck".into(),
        }),
        Event::Command {
            repo,
            number,
            command: Command::Ignore,
            user,
            ..
        } => Some(Job::Ignore { repo, number, user }),
        Event::Command {
            repo,
            number,
            command: Command::Rollback,
            user,
            ..
        } => Some(Job::Rollback { repo, number, user }),
    }
}

/// Runs the server until `shutdown` completes, then finishes the current
/// job and returns. `on_listen` is told the bound address (useful with port 0).
pub async fn run(
    ctx: Context,
    templates: Templates,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Http)?;
    let poll = ctx.settings.schedule.poll.clone();
    let metrics = Arc::new(Metrics::new());
    let forge = ctx.forge.clone();
    let store = ctx.store.clone();
    let mut worker = Worker::new(ctx, templates, metrics.clone());
    let ready = worker.ready.clone();
    let poll_queued = worker.poll_queued.clone();
    let digest = worker.settings.slack.digest.clone();
    let digest_queued = worker.digest_queued.clone();
    let wake = worker.wake.subscribe();
    let shared = replicas::Shared::new(store.clone());
    worker.shared = shared.clone();
    if let Some(s) = &shared {
        tracing::info!(replica = %s.holder, store = %store.location(), "sharing work with other replicas through the store");
    }

    let (tx, mut rx) = mpsc::channel::<Job>(options.queue.max(1));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });

    let serving = Arc::new(AtomicBool::new(true));
    let state = AppState {
        delivery_ttl: options.delivery_ttl,
        ..AppState::new(options.secrets.clone(), store, tx.clone(), metrics.clone())
    }
    .with_forge(forge)
    .with_ready(Arc::new(AtomicBool::new(false)))
    .with_webhook_limits(options.webhook_concurrency, options.webhook_timeout);
    let state = AppState {
        queued_repos: worker.queued_repos.clone(),
        shared: shared.clone(),
        ..state
    };
    let ready_view = state.ready.clone();
    // A shared store: ready only while the database answers.
    let store_ok = Arc::new(AtomicBool::new(true));
    let pinger = shared.as_ref().map(|shared| {
        let (shared, ok, mut stop) = (shared.clone(), store_ok.clone(), stop_rx.clone());
        tokio::spawn(async move {
            loop {
                let store = shared.store.clone();
                let answer = tokio::task::spawn_blocking(move || store.ping()).await;
                let up = matches!(answer, Ok(Ok(())));
                if ok.swap(up, Ordering::SeqCst) != up {
                    if up {
                        tracing::info!("the state store answers again: ready");
                    } else {
                        tracing::warn!("the state store does not answer: not ready");
                    }
                }
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        })
    });
    // Shared store: look for passes requested through other replicas.
    let claimer = shared.as_ref().map(|shared| {
        let (shared, queue, mut stop) = (shared.clone(), tx.clone(), stop_rx.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(shared.claim_every) => {}
                }
                queue_claim(&shared, &queue);
            }
        })
    });
    // /readyz: installations known, the store answers, not shutting down.
    {
        let (ready, serving, view) = (ready.clone(), serving.clone(), ready_view.clone());
        let store_ok = store_ok.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                view.store(
                    ready.load(Ordering::SeqCst)
                        && serving.load(Ordering::SeqCst)
                        && store_ok.load(Ordering::SeqCst),
                    Ordering::SeqCst,
                );
                tokio::select! {
                    _ = stop.changed() => {
                        serving.store(false, Ordering::SeqCst);
                        view.store(false, Ordering::SeqCst);
                        return;
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
    }

    let _ = tx.try_send(Job::Discover);
    let scheduler = tokio::spawn(schedule(
        poll,
        Job::Poll,
        tx.clone(),
        poll_queued,
        stop_rx.clone(),
        shared.clone(),
    ));
    let waker = tokio::spawn(wake_up(
        wake,
        tx.clone(),
        worker.poll_queued.clone(),
        stop_rx.clone(),
        shared.clone(),
    ));
    let digests = digest.map(|cron| {
        tokio::spawn(schedule(
            cron,
            Job::Digest,
            tx.clone(),
            digest_queued,
            stop_rx.clone(),
            shared.clone(),
        ))
    });
    drop(tx);

    let app = router(state, options.max_body);
    let http = tokio::spawn(serve_http(
        listener,
        app,
        options.header_timeout,
        stop_rx.clone(),
    ));
    on_listen(addr);

    let mut stop = stop_rx.clone();
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            job = rx.recv() => match job {
                Some(job) => {
                    // A panic in a job fails that job only; the worker goes on.
                    let subject = format!("{job:?}");
                    let done = crate::app::isolate::caught(
                        &subject,
                        worker.handle(job, crate::app::context::clock()),
                    )
                    .await;
                    if done.is_err() {
                        metrics.error();
                    }
                }
                None => break,
            },
        }
    }
    rx.close();
    let mut dropped = 0;
    while rx.try_recv().is_ok() {
        dropped += 1;
    }
    if dropped > 0 {
        tracing::info!(
            dropped,
            "shutting down: queued jobs dropped (the next poll redoes them)"
        );
    }
    scheduler.abort();
    waker.abort();
    for task in [pinger, claimer].into_iter().flatten() {
        task.abort();
    }
    if let Some(digests) = digests {
        digests.abort();
    }
    match http.await {
        Ok(result) => result.map_err(ServeError::Http),
        Err(_) => Ok(()),
    }
}

/// Serves `app` on `listener` over HTTP/1.1 until `stop`, then lets the
/// open connections finish (idle ones are closed at once). Each connection
/// must send a request's headers within `header_timeout` or is closed, so
/// that half-open connections cannot pile up; bodies are bounded by the
/// `/webhook` limits ([`router`]).
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let socket = tokio::select! {
            () = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = socket.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(socket), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = stopped(&mut stop) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Completes once `stop` is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Queues `job` ([`Job::Poll`], [`Job::Digest`]) at each time of `cron`,
/// unless one is waiting (`queued`) or, with replicas, another replica
/// claimed that tick.
async fn schedule(
    cron: Cron,
    job: Job,
    queue: mpsc::Sender<Job>,
    queued: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
    shared: Option<Arc<replicas::Shared>>,
) {
    let name = match job {
        Job::Digest => "digest",
        _ => "poll",
    };
    loop {
        let Some(next) = cron.schedule().upcoming(Utc).next() else {
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // One waiting already: leave the tick to another replica.
        if shared.is_some() && queued.load(Ordering::SeqCst) {
            continue;
        }
        if let Some(shared) = &shared
            && !shared.claim_tick(name, next).await
        {
            continue;
        }
        if !queued.swap(true, Ordering::SeqCst) && queue.try_send(job.clone()).is_err() {
            queued.store(false, Ordering::SeqCst);
        }
    }
}

/// Queues a [`Job::Poll`] when the time in `wake` comes (a little after,
/// so the window is open by then), unless a poll is waiting; each time
/// once. A new time replaces the one waited for.
async fn wake_up(
    mut wake: watch::Receiver<Option<chrono::DateTime<Utc>>>,
    queue: mpsc::Sender<Job>,
    queued: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
    shared: Option<Arc<replicas::Shared>>,
) {
    let mut fired: Option<chrono::DateTime<Utc>> = None;
    loop {
        let next = *wake.borrow_and_update();
        match next.filter(|t| fired.is_none_or(|f| *t > f)) {
            None => {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    changed = wake.changed() => if changed.is_err() { return },
                }
            }
            Some(at) => {
                let wait = (at - crate::app::context::clock())
                    .to_std()
                    .unwrap_or_default()
                    + Duration::from_secs(1);
                let due = tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    changed = wake.changed() => if changed.is_err() { return } else { false },
                    _ = tokio::time::sleep(wait) => true,
                };
                if !due {
                    continue;
                }
                fired = Some(at);
                if let Some(shared) = &shared
                    && !shared.claim_tick("wave", at).await
                {
                    continue;
                }
                tracing::info!(%at, "a rollout wave may open now: poll queued");
                if !queued.swap(true, Ordering::SeqCst) && queue.try_send(Job::Poll).is_err() {
                    queued.store(false, Ordering::SeqCst);
                }
            }
        }
    }
}

/// SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing the current job");
}

/// Queues one [`Job::Claim`] unless one is waiting already (a full queue
/// leaves it to the next trigger).
fn queue_claim(shared: &replicas::Shared, queue: &mpsc::Sender<Job>) {
    if !shared.claim_queued.swap(true, Ordering::SeqCst) && queue.try_send(Job::Claim).is_err() {
        shared.claim_queued.store(false, Ordering::SeqCst);
    }
}
