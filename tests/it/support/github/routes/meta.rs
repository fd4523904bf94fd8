//! `GET /rate_limit`: the caller's buckets. Free, as on GitHub.

use serde_json::json;

use super::super::render;
use super::super::state::{Bucket, State};
use super::{Call, Reply};

pub(in super::super) fn rate_limit(state: &mut State, call: &Call) -> Reply {
    let now = super::super::server::unix_now();
    let core = *state.bucket(call.caller, now);
    let (search_limit, graphql_limit) = if call.caller.authorized() {
        (30, 5000)
    } else {
        (10, 0)
    };
    let fresh = |limit| Bucket {
        limit,
        remaining: limit,
        reset: now + 60,
    };
    Reply::ok(json!({
        "resources": {
            "core": render::bucket(&core, "core"),
            "search": render::bucket(&fresh(search_limit), "search"),
            "graphql": render::bucket(&fresh(graphql_limit), "graphql"),
            "integration_manifest": render::bucket(&fresh(5000), "integration_manifest"),
            "code_search": render::bucket(&fresh(10), "code_search"),
        },
        "rate": render::bucket(&core, "core"),
    }))
}

/// `GET /user`: the token's user (`public-user`); 401 without a token, as
/// GitHub answers.
pub(in super::super) fn authenticated_user(state: &mut State, call: &Call) -> Reply {
    if !call.caller.authorized() {
        return Reply::error(401, "Requires authentication");
    }
    let login = state.login_of(call.caller);
    let user = state.user(&login);
    let mut json = render::user(&user, call.urls);
    let epoch = render::time(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    for (k, v) in [
        ("name", json!(null)),
        ("company", json!(null)),
        ("blog", json!("")),
        ("location", json!(null)),
        ("email", json!(null)),
        ("hireable", json!(null)),
        ("bio", json!(null)),
        ("public_repos", json!(0)),
        ("public_gists", json!(0)),
        ("followers", json!(0)),
        ("following", json!(0)),
        ("created_at", json!(epoch)),
        ("updated_at", json!(epoch)),
    ] {
        json[k] = v;
    }
    Reply::ok(json)
}

/// `GET /app` (with the app's JWT, checked by the server): the app.
pub(in super::super) fn authenticated_app(state: &mut State, call: &Call) -> Reply {
    let Some(app) = state.app.as_ref() else {
        return Reply::not_found();
    };
    let (id, slug) = (app.id, app.slug.clone());
    let owner = state.user(&slug);
    let epoch = render::time(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    Reply::ok(json!({
        "id": id,
        "slug": slug,
        "node_id": format!("A_kwDO{id:08}"),
        "client_id": format!("Iv1.{id:016x}"),
        "owner": render::user(&owner, call.urls),
        "name": slug,
        "description": null,
        "external_url": "https://example.com",
        "html_url": format!("{}/apps/{slug}", call.urls.web),
        "created_at": epoch,
        "updated_at": epoch,
        "permissions": {"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"},
        "events": ["push", "pull_request", "issues", "issue_comment"],
        "installations_count": 1,
    }))
}
