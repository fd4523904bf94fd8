//! `GET /repos/{owner}/{repo}` (and `/repositories/{id}`).

use super::super::render;
use super::super::state::State;
use super::{Call, Reply};

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo.clone(),
        Err(reply) => return reply,
    };
    let owner = state.user(&repo.owner);
    Reply::ok(render::repo(
        &repo,
        &owner,
        call.urls,
        call.caller.authorized(),
    ))
}
