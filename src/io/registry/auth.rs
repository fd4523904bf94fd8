//! Registry authentication pieces: `WWW-Authenticate` challenges, the
//! credentials upkeep may send (Docker `config.json` format), and token
//! endpoint answers.
//!
//! Pure parsing, no network. Credentials and tokens are opaque here: their
//! `Debug` output is redacted and no error message quotes them (nor any part
//! of the text they came from).

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What a registry asks for in a 401's `WWW-Authenticate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// The token flow of Docker Hub, ghcr.io and Distribution's `token` auth.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// Plain basic auth (Distribution's `htpasswd` auth).
    Basic,
}

/// Parses the challenges of one or more `WWW-Authenticate` values; Bearer is
/// preferred when several are offered. `None` when none is understood.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let mut basic = false;
    for value in values {
        for (scheme, params) in split_challenges(value) {
            if scheme.eq_ignore_ascii_case("bearer") {
                let get = |key: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v.clone())
                };
                if let Some(realm) = get("realm").filter(|r| !r.is_empty()) {
                    return Some(Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scope: get("scope"),
                    });
                }
            } else if scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
    }
    basic.then_some(Challenge::Basic)
}

/// Splits a header value into `(scheme, [(key, value)])` challenges
/// (RFC 9110 §11.6.1: quoted strings may hold commas and `\"`).
fn split_challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let chars: Vec<char> = value.chars().collect();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_whitespace() || chars[*i] == ',') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && !chars[*i].is_whitespace() && !matches!(chars[*i], '=' | ',') {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let word = token(&mut i);
        // `key=value` continues the current challenge; a bare word starts one.
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' && !out.is_empty() {
            i = j + 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let value = if i < chars.len() && chars[i] == '"' {
                i += 1;
                let mut v = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    v.push(chars[i]);
                    i += 1;
                }
                i += 1; // closing quote (or end)
                v
            } else {
                token(&mut i)
            };
            if let Some(last) = out.last_mut() {
                last.1.push((word, value));
            }
        } else if !word.is_empty() {
            out.push((word, Vec::new()));
        } else {
            i += 1;
        }
    }
    out
}

/// A user name and password for one registry host.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The `Authorization` value for basic auth.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// Credentials per registry host (`ghcr.io`, `docker.io`, `127.0.0.1:5000`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialSet(HashMap<String, Credentials>);

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hosts: Vec<&String> = self.0.keys().collect();
        hosts.sort();
        f.debug_tuple("CredentialSet").field(&hosts).finish()
    }
}

impl CredentialSet {
    /// Adds credentials for `host` (a host, `host:port`, or a URL as Docker
    /// writes keys: `https://index.docker.io/v1/`).
    pub fn insert(&mut self, host: &str, credentials: Credentials) {
        self.0.insert(host_key(host), credentials);
    }

    pub fn get(&self, host: &str) -> Option<&Credentials> {
        self.0.get(&host_key(host))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads Docker's `config.json` format: `{"auths": {HOST: {"auth":
    /// base64("user:pass")}}}` or `username`/`password` fields. Entries with
    /// neither (identity tokens, credential helpers) are ignored. The error
    /// says where the text is wrong, never what it holds.
    pub fn from_docker_config(text: &str) -> Result<CredentialSet, String> {
        #[derive(serde::Deserialize)]
        struct Config {
            #[serde(default)]
            auths: HashMap<String, Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
        }
        let config: Config = serde_json::from_str(text).map_err(|e| {
            format!(
                "not in Docker's config.json format ({{\"auths\": {{HOST: {{\"auth\": BASE64}}}}}}) at line {} column {}",
                e.line(),
                e.column()
            )
        })?;
        let mut set = CredentialSet::default();
        for (host, entry) in config.auths {
            let pair = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    let decoded = STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    let Some((user, pass)) = decoded
                        .as_deref()
                        .and_then(|d| d.split_once(':'))
                        .map(|(u, p)| (u.to_string(), p.to_string()))
                    else {
                        return Err(format!(
                            "the `auth` of `{}` is not base64 of `user:password`",
                            host_key(&host)
                        ));
                    };
                    (user, pass)
                }
                (_, Some(user), Some(pass)) => (user, pass),
                _ => continue,
            };
            set.insert(&host, Credentials::new(pair.0, pair.1));
        }
        Ok(set)
    }
}

/// The host part of a credentials key, lower-cased, with Docker Hub's
/// aliases folded into `docker.io`.
pub fn host_key(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let host = k.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

/// A bearer token and how long it may be used.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub expires_in: std::time::Duration,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Reads a token endpoint's JSON answer (`token` or `access_token`,
/// `expires_in` in seconds, 60 when absent as the spec says).
pub fn parse_token(body: &[u8]) -> Option<Token> {
    #[derive(serde::Deserialize)]
    struct Answer {
        token: Option<String>,
        access_token: Option<String>,
        expires_in: Option<u64>,
    }
    let a: Answer = serde_json::from_slice(body).ok()?;
    let value = a
        .token
        .filter(|t| !t.is_empty())
        .or(a.access_token.filter(|t| !t.is_empty()))?;
    Some(Token {
        value,
        // At least a second, at most a day (no overflow on absurd answers).
        expires_in: std::time::Duration::from_secs(a.expires_in.unwrap_or(60).clamp(1, 86_400)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_challenge_with_commas_in_scope() {
        let c = parse_challenges([
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        ]);
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
    }

    #[test]
    fn basic_and_odd_challenges() {
        assert_eq!(
            parse_challenges([r#"Basic realm="Registry Realm""#]),
            Some(Challenge::Basic)
        );
        // Bearer wins over Basic, in either order and across header values
        let c = parse_challenges([r#"Basic realm="r""#, r#"bearer realm=http://x/t"#]);
        assert!(
            matches!(c, Some(Challenge::Bearer { realm, service: None, scope: None }) if realm == "http://x/t")
        );
        assert_eq!(parse_challenges(["Bearer"]), None, "no realm");
        assert_eq!(parse_challenges(["Negotiate", ""]), None);
        assert!(parse_challenges([r#"Bearer realm="unterminated"#]).is_some());
        assert_eq!(parse_challenges(["=,=\"\\"]), None);
    }

    #[test]
    fn docker_config_credentials() {
        let text = r#"{"auths": {
            "https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
            "GHCR.io": {"username": "bot", "password": "tok"},
            "quay.io": {"identitytoken": "x"}
        }, "credsStore": "desktop"}"#;
        let set = CredentialSet::from_docker_config(text).unwrap();
        assert_eq!(
            set.get("docker.io"),
            Some(&Credentials::new("user", "pa:ss"))
        );
        assert_eq!(set.get("registry-1.docker.io"), set.get("docker.io"));
        assert_eq!(set.get("ghcr.io"), Some(&Credentials::new("bot", "tok")));
        assert_eq!(set.get("quay.io"), None);
        assert!(!format!("{set:?}").contains("tok"));
        assert!(!format!("{:?}", set.get("ghcr.io")).contains("tok"));
    }

    #[test]
    fn config_errors_do_not_quote_the_text() {
        let e = CredentialSet::from_docker_config(r#"{"auths": "hunter2"}"#).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("line 1"), "{e}");
        let e = CredentialSet::from_docker_config(r#"{"auths": {"h": {"auth": "!!hunter2"}}}"#)
            .unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("`h`"), "{e}");
    }

    #[test]
    fn token_answers() {
        let t = parse_token(br#"{"token": "abc", "expires_in": 300}"#).unwrap();
        assert_eq!(t.value, "abc");
        assert_eq!(t.expires_in.as_secs(), 300);
        let t = parse_token(br#"{"access_token": "xyz"}"#).unwrap();
        assert_eq!((t.value.as_str(), t.expires_in.as_secs()), ("xyz", 60));
        assert!(parse_token(br#"{"token": ""}"#).is_none());
        assert!(parse_token(b"<html>").is_none());
        assert!(!format!("{t:?}").contains("xyz"));
    }

    #[test]
    fn basic_header() {
        assert_eq!(
            Credentials::new("user", "pass").basic_header(),
            "Basic dXNlcjpwYXNz"
        );
    }
}
