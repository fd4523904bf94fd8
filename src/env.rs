//! Every environment variable upkeep reads, in one place, with its meaning.
//! Settings overrides (`UPKEEP_<SECTION>__<KEY>`) are handled by the
//! settings module and are not listed here.

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
