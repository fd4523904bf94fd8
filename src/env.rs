//! Every environment variable upkeep reads, in one place, with its meaning.
//! Settings overrides (`UPKEEP_<SECTION>__<KEY>`) are handled by the
//! settings module and are not listed here.

/// The time every command takes as now (RFC 3339, e.g.
/// `2026-12-08T09:00:00Z`): soaks, windows, deadlines and release ages are
/// all measured from it. For simulating a schedule and for tests.
pub const NOW: &str = "UPKEEP_NOW";
/// GitHub REST base URL (default `https://api.github.com`; GitHub Enterprise
/// Server's `https://HOST/api/v3`, or a local test double).
pub const GITHUB_API_URL: &str = "UPKEEP_GITHUB_API_URL";
/// Token for job and CLI mode. A secret: never logged.
pub const GITHUB_TOKEN: &str = "UPKEEP_GITHUB_TOKEN";
/// Read when `UPKEEP_GITHUB_TOKEN` is not set (as GitHub Actions provides it).
pub const GITHUB_TOKEN_FALLBACK: &str = "GITHUB_TOKEN";
/// State store: a SQLite path (default under the user's state directory).
pub const STATE: &str = "UPKEEP_STATE";
/// Where fetched deployment repositories are cached (default under the
/// user's cache directory).
pub const CACHE_DIR: &str = "UPKEEP_CACHE_DIR";
/// A `tracing` filter for logs (e.g. `upkeep=debug`); overrides `-v`.
pub const LOG: &str = "UPKEEP_LOG";
/// Registry credentials, inline: JSON in the format of Docker's
/// `config.json` (`{"auths": {"HOST": {"auth": "base64(user:pass)"}}}`, or
/// `username`/`password` instead of `auth`). HOST is the host (and port)
/// upkeep contacts: the registry's own (`ghcr.io`, `docker.io`) or, for a
/// mirrored registry, the mirror's. A secret: never logged.
pub const REGISTRY_AUTH: &str = "UPKEEP_REGISTRY_AUTH";
/// A file in the same format (e.g. `~/.docker/config.json`); read when
/// `UPKEEP_REGISTRY_AUTH` is not set.
pub const REGISTRY_AUTH_FILE: &str = "UPKEEP_REGISTRY_AUTH_FILE";
/// Shortest time between two requests to one registry host, in
/// milliseconds (default 100).
pub const REGISTRY_MIN_INTERVAL_MS: &str = "UPKEEP_REGISTRY_MIN_INTERVAL_MS";
/// How long a registry answer "this tag exists, with this digest" is reused
/// from the state store, in seconds (default 21600: six hours).
pub const REGISTRY_TTL: &str = "UPKEEP_REGISTRY_TTL";
/// How long a "this tag is missing" answer is reused, in seconds (default
/// 60), so that a tag pushed after a release is seen on the next run.
pub const REGISTRY_MISSING_TTL: &str = "UPKEEP_REGISTRY_MISSING_TTL";
/// GitHub App mode: the app's numeric id. With
/// `UPKEEP_GITHUB_APP_PRIVATE_KEY`, upkeep authenticates as the app (RS256
/// JWT, then installation tokens) instead of with a token.
pub const GITHUB_APP_ID: &str = "UPKEEP_GITHUB_APP_ID";
/// GitHub App mode: the app's private key, as PEM text or the path of the
/// `.pem` file GitHub hands out. A secret: never logged.
pub const GITHUB_APP_PRIVATE_KEY: &str = "UPKEEP_GITHUB_APP_PRIVATE_KEY";
/// `upkeep serve`: the webhook secret(s), comma-separated so that a new
/// secret can be added before the old one is removed (rotation). A delivery
/// is accepted when its `X-Hub-Signature-256` matches any of them. Secrets:
/// never logged.
pub const GITHUB_WEBHOOK_SECRET: &str = "UPKEEP_GITHUB_WEBHOOK_SECRET";
/// `upkeep serve`: the address to listen on when `--listen` is not given
/// (default `0.0.0.0:8080`).
pub const LISTEN: &str = "UPKEEP_LISTEN";
/// `upkeep serve`: webhook deliveries read at once (default 8); more get
/// 503 at once and GitHub redelivers them.
pub const WEBHOOK_CONCURRENCY: &str = "UPKEEP_WEBHOOK_CONCURRENCY";
/// `upkeep serve`: seconds one delivery may take, its body included
/// (default 20); slower ones get 408.
pub const WEBHOOK_TIMEOUT: &str = "UPKEEP_WEBHOOK_TIMEOUT";
/// `upkeep serve`: seconds a connection may take to send a request's
/// headers (default 10); a connection that sends none or only part of them
/// (or stays idle that long between requests) is closed.
pub const WEBHOOK_HEADER_TIMEOUT: &str = "UPKEEP_WEBHOOK_HEADER_TIMEOUT";
/// The Slack incoming-webhook URL of the default channel (`upkeep notify`,
/// alerts, reminders). A secret: never logged; reports show only its host.
/// Routes in `slack.routes` name other variables (`webhook_env`) that hold
/// their channels' URLs, under the same rules.
pub const SLACK_WEBHOOK_URL: &str = "UPKEEP_SLACK_WEBHOOK_URL";
/// Prometheus (live verification, health gates): a bearer token sent as
/// `Authorization: Bearer …` to the Prometheus HTTP API. Set either it or
/// the username and password, not both. A secret: never logged, never in
/// an error; sent only over https or to a loopback host.
pub const PROMETHEUS_TOKEN: &str = "UPKEEP_PROMETHEUS_TOKEN";
/// Prometheus: the username for basic auth, with
/// `UPKEEP_PROMETHEUS_PASSWORD` (e.g. behind a reverse proxy, or a hosted
/// Prometheus). Sent only over https or to a loopback host.
pub const PROMETHEUS_USERNAME: &str = "UPKEEP_PROMETHEUS_USERNAME";
/// Prometheus: the password for basic auth, with
/// `UPKEEP_PROMETHEUS_USERNAME`. A secret: never logged, never in an error.
pub const PROMETHEUS_PASSWORD: &str = "UPKEEP_PROMETHEUS_PASSWORD";
/// The total deadline of one git fetch or push, in seconds (default 300).
/// Also the longest a remote may stay silent. A transfer past it is
/// aborted and reported as that repository's failure.
pub const GIT_TIMEOUT: &str = "UPKEEP_GIT_TIMEOUT";
/// **Test-only** fail point: `panic:<stage>=<owner/name>` makes upkeep
/// panic while it handles that repository (`repository`: publishing it,
/// `check`: opening it), to prove that a panic is caught at the repository
/// boundary. Never set it in production.
pub const FAILPOINT: &str = "UPKEEP_FAILPOINT";
/// `serve` on a shared (PostgreSQL) state store: how long a replica holds a
/// repository's lease without renewing it, in milliseconds (default
/// 60000); a replica that dies mid-pass loses it after this long and
/// another replica redoes the pass.
pub const LEASE_MS: &str = "UPKEEP_LEASE_MS";
/// `serve` on a shared state store: how often a replica looks for passes
/// requested through another replica, in milliseconds (default 2000).
pub const CLAIM_INTERVAL_MS: &str = "UPKEEP_CLAIM_INTERVAL_MS";
/// The total deadline of one attempt of one GitHub API request, in seconds
/// (default 30; fractions allowed): connect, headers and the whole body. A
/// server that answers slowly or drips its body is cut off, and the request
/// retried or reported like any other transport failure.
pub const GITHUB_TIMEOUT: &str = "UPKEEP_GITHUB_TIMEOUT";
/// `upkeep serve`: requests of a GitHub rate budget (per App installation,
/// or the token's) kept in reserve, default 200. A pass over an
/// installation's repositories whose last known budget is below it is
/// postponed until GitHub's reset time.
pub const GITHUB_RATE_RESERVE: &str = "UPKEEP_GITHUB_RATE_RESERVE";
