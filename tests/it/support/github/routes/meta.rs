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
