//! GitHub Apps in the double: an app with an RSA public key, its
//! installations, the JWTs it signs and the installation tokens it is
//! issued.
//!
//! ```ignore
//! let keys = test_keys();                                   // openssl, once per process
//! gh.enable_app(AppModel::new(4242, "upkeep", &keys.public_pem));
//! gh.add_installation(77, "acme", &["acme/deploy"]);
//! gh.set_installation_token_lifetime(Duration::from_secs(301)); // refreshed almost at once
//! gh.fix_installation_token("tok");  // every token issued is "tok" (a git server's password)
//! let s = gh.app_stats();            // jwts_verified, tokens_issued, rejected
//! ```
//!
//! What is checked, as GitHub does: `/app/…` and
//! `GET /repos/{owner}/{repo}/installation` take only a JWT, whose RS256
//! signature must verify with the app's public key, `iss` be the app id,
//! `iat` not in the future (60 s of drift), `exp` not passed and at most ten
//! minutes after `iat`; anything else is 401 "A JSON web token could not be
//! decoded". Installation tokens work until `expires_at` (then 401 "Bad
//! credentials"), are refused on `/app/…` routes, and may write only to
//! their installation's repositories (403 "Resource not accessible by
//! integration").

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde_json::{Value, json};

use super::render;
use super::routes::{Call, Reply};
use super::server::unix_now;
use super::state::{CallerKey, State, token_hash};

/// A keypair for a test app, made with the openssl CLI.
pub struct TestKeys {
    pub private_pem: String,
    pub public_pem: String,
}

/// One RSA-2048 keypair per test process (PKCS#1 private key, as GitHub
/// hands them out).
pub fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(generate_keys)
}

/// A new RSA-2048 keypair (for a test that needs a second, wrong key).
pub fn generate_keys() -> TestKeys {
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("app.pem");
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl is needed for the GitHub App tests");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let key_path = key.to_str().expect("utf-8 path");
        run(&["genrsa", "-traditional", "-out", key_path, "2048"]);
        let public = run(&["rsa", "-in", key_path, "-pubout"]);
        TestKeys {
            private_pem: std::fs::read_to_string(&key).expect("key"),
            public_pem: String::from_utf8(public).expect("PEM"),
        }
    }
}

/// An app and what happened to it.
pub struct AppModel {
    pub id: u64,
    pub slug: String,
    public_pem: String,
    pub installations: Vec<AppInstallation>,
    pub token_lifetime: Duration,
    pub fixed_token: Option<String>,
    issued: HashMap<u64, Issued>,
    counter: u64,
    pub stats: AppStats,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Requests whose JWT verified.
    pub jwts_verified: u64,
    /// Installation tokens issued.
    pub tokens_issued: u64,
    /// Requests refused for their JWT or installation token.
    pub rejected: u64,
}

#[derive(Clone, Debug)]
pub struct AppInstallation {
    pub id: u64,
    pub account: String,
    /// `owner/name`s the installation may access.
    pub repos: Vec<String>,
}

#[derive(Clone, Copy)]
struct Issued {
    installation: u64,
    expires_at: u64,
}

impl AppModel {
    pub fn new(id: u64, slug: &str, public_pem: &str) -> AppModel {
        AppModel {
            id,
            slug: slug.to_owned(),
            public_pem: public_pem.to_owned(),
            installations: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            fixed_token: None,
            issued: HashMap::new(),
            counter: 0,
            stats: AppStats::default(),
        }
    }

    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.slug)
    }

    fn installation(&self, id: u64) -> Option<&AppInstallation> {
        self.installations.iter().find(|i| i.id == id)
    }
}

/// How a request authenticated, in App mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AppCaller {
    /// Not an app credential (a plain token, or none).
    Other,
    Jwt,
    Installation(u64),
}

/// Operations that take the app's JWT (and nothing else).
fn needs_jwt(operation: &str) -> bool {
    matches!(
        operation,
        "apps/get-authenticated"
            | "apps/list-installations"
            | "apps/create-installation-access-token"
            | "apps/get-repo-installation"
    )
}

fn looks_like_jwt(credential: &str) -> bool {
    credential.starts_with("eyJ") && credential.matches('.').count() == 2
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: Value,
    iat: u64,
    exp: u64,
}

/// Checks an app credential for `operation`; `Err` is the 401/403 message.
pub(super) fn authenticate(
    state: &mut State,
    operation: &str,
    credential: Option<&str>,
    write_to: Option<&str>,
) -> Result<AppCaller, (u16, &'static str)> {
    let Some(app) = state.app.as_mut() else {
        return Ok(AppCaller::Other);
    };
    let now = unix_now();
    const BAD_JWT: (u16, &str) = (401, "A JSON web token could not be decoded");
    if needs_jwt(operation) {
        let verified = credential.filter(|c| looks_like_jwt(c)).is_some_and(|jwt| {
            let key = match DecodingKey::from_rsa_pem(app.public_pem.as_bytes()) {
                Ok(key) => key,
                Err(e) => {
                    eprintln!("JWT refused: bad public key: {e}");
                    return false;
                }
            };
            let mut validation = Validation::new(Algorithm::RS256);
            validation.leeway = 0;
            validation.validate_aud = false;
            // `iss` is the app id as a number, which the crate cannot check: see below.
            validation.set_required_spec_claims(&["exp", "iat"]);
            match decode::<Claims>(jwt, &key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    let iss_ok = c.iss.as_u64() == Some(app.id)
                        || c.iss.as_str() == Some(app.id.to_string().as_str());
                    iss_ok && c.iat <= now + 60 && c.exp > now && c.exp <= c.iat + 660
                }
                Err(e) => {
                    eprintln!("JWT refused: {e}");
                    false
                }
            }
        });
        if !verified {
            app.stats.rejected += 1;
            return Err(BAD_JWT);
        }
        app.stats.jwts_verified += 1;
        return Ok(AppCaller::Jwt);
    }
    let Some(credential) = credential else {
        return Ok(AppCaller::Other);
    };
    if looks_like_jwt(credential) {
        app.stats.rejected += 1;
        return Err(BAD_JWT);
    }
    let Some(issued) = app.issued.get(&token_hash(credential)).copied() else {
        return Ok(AppCaller::Other);
    };
    if issued.expires_at <= now {
        app.stats.rejected += 1;
        return Err((401, "Bad credentials"));
    }
    if let Some(repo) = write_to {
        let inst = app.installation(issued.installation);
        let allowed = inst.is_some_and(|i| {
            i.repos.iter().any(|r| r.eq_ignore_ascii_case(repo))
                || repo.split('/').next().is_some_and(|owner| {
                    owner.eq_ignore_ascii_case(&i.account) && i.repos.is_empty()
                })
        });
        if !allowed {
            app.stats.rejected += 1;
            return Err((403, "Resource not accessible by integration"));
        }
    }
    Ok(AppCaller::Installation(issued.installation))
}

fn installation_json(
    state: &mut State,
    app_id: u64,
    slug: &str,
    inst: &AppInstallation,
    call: &Call,
) -> Value {
    let account = state.user(&inst.account);
    let api = &call.urls.api;
    // The description (23.0.2) gives `GET /app/installations` an account
    // that is `allOf: [simple-user, enterprise]`, so the enterprise's
    // required fields are added; they are harmless where `anyOf` applies.
    let mut account_json = render::user(&account, call.urls);
    account_json["name"] = json!(account.login);
    account_json["slug"] = json!(account.login.to_ascii_lowercase());
    account_json["created_at"] = json!("2025-01-01T00:00:00Z");
    account_json["updated_at"] = json!("2025-01-01T00:00:00Z");
    json!({
        "id": inst.id,
        "account": account_json,
        "repository_selection": if inst.repos.is_empty() { "all" } else { "selected" },
        "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", inst.id),
        "repositories_url": format!("{api}/installation/repositories"),
        "html_url": format!("{}/organizations/{}/settings/installations/{}", call.urls.web, inst.account, inst.id),
        "app_id": app_id,
        "app_slug": slug,
        "target_id": account.id,
        "target_type": if account.kind == "User" { "User" } else { "Organization" },
        "permissions": permissions(),
        "events": ["installation", "installation_repositories", "issue_comment", "pull_request", "push"],
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null,
    })
}

fn permissions() -> Value {
    json!({"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"})
}

/// `GET /app/installations`.
pub(super) fn list_installations(state: &mut State, call: &Call) -> Reply {
    let Some(app) = state.app.as_ref() else {
        return Reply::not_found();
    };
    let (id, slug, installations) = (app.id, app.slug.clone(), app.installations.clone());
    let list: Vec<Value> = installations
        .iter()
        .map(|i| installation_json(state, id, &slug, i, call))
        .collect();
    Reply::ok(Value::Array(list))
}

/// `GET /repos/{owner}/{repo}/installation`.
pub(super) fn repo_installation(state: &mut State, call: &Call) -> Reply {
    let (Some(owner), Some(repo)) = (call.params.get("owner"), call.params.get("repo")) else {
        return Reply::not_found();
    };
    let full = format!("{owner}/{repo}");
    let Some(app) = state.app.as_ref() else {
        return Reply::not_found();
    };
    let found = app
        .installations
        .iter()
        .find(|i| {
            i.repos.iter().any(|r| r.eq_ignore_ascii_case(&full))
                || (i.repos.is_empty() && i.account.eq_ignore_ascii_case(owner))
        })
        .cloned();
    let (id, slug) = (app.id, app.slug.clone());
    match found {
        Some(inst) => Reply::ok(installation_json(state, id, &slug, &inst, call)),
        None => Reply::not_found(),
    }
}

/// `POST /app/installations/{installation_id}/access_tokens`.
pub(super) fn create_token(state: &mut State, call: &Call) -> Reply {
    let id = call.number("installation_id").unwrap_or_default();
    let Some(app) = state.app.as_mut() else {
        return Reply::not_found();
    };
    if app.installation(id).is_none() {
        return Reply::not_found();
    }
    app.counter += 1;
    let token = app
        .fixed_token
        .clone()
        .unwrap_or_else(|| format!("ghs_{:08}{:028}", id % 100_000_000, app.counter));
    let expires_at = unix_now() + app.token_lifetime.as_secs();
    app.issued.insert(
        token_hash(&token),
        Issued {
            installation: id,
            expires_at,
        },
    );
    app.stats.tokens_issued += 1;
    let login = app.bot_login();
    state.user(&login);
    state
        .logins
        .insert(CallerKey::Token(token_hash(&token)), login);
    let expires = chrono::DateTime::from_timestamp(expires_at as i64, 0).expect("time");
    let mut reply = Reply::ok(json!({
        "token": token,
        "expires_at": render::time(expires),
        "permissions": permissions(),
        "repository_selection": "selected",
    }));
    reply.status = 201;
    reply
}

/// `GET /installation/repositories`: the calling installation's.
pub(super) fn installation_repos(state: &mut State, call: &Call) -> Reply {
    let Some(installation) = call.installation else {
        return Reply::error(
            403,
            "This endpoint requires you to authenticate as an installation",
        );
    };
    let Some(inst) = state
        .app
        .as_ref()
        .and_then(|a| a.installation(installation))
        .cloned()
    else {
        return Reply::not_found();
    };
    let repos: Vec<Value> = state
        .repos
        .values()
        .filter(|r| {
            inst.repos
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&r.full_name()))
                || (inst.repos.is_empty() && r.owner.eq_ignore_ascii_case(&inst.account))
        })
        .cloned()
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| {
            let owner = state.user(&r.owner);
            render::repo(&r, &owner, call.urls, true)
        })
        .collect();
    Reply::ok(json!({
        "total_count": repos.len(),
        "repositories": repos,
        "repository_selection": if inst.repos.is_empty() { "all" } else { "selected" },
    }))
}
