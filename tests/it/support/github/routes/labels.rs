//! Repository labels: list (by name, paginated), create (422
//! `already_exists` for a duplicate name ignoring case, `invalid` for a
//! colour that is not six hex digits without `#` or a description over 100
//! characters), get (by name, ignoring case).

use serde_json::Value;

use super::super::pulls::Label;
use super::super::render;
use super::super::state::State;
use super::page::Page;
use super::{Call, Reply};

pub(in super::super) fn list(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    let all = repo.labels_sorted();
    let page = Page::of(call);
    let items: Vec<Value> = page
        .slice(&all)
        .iter()
        .map(|l| render::label(repo, l, call.urls, false))
        .collect();
    page.reply(call, repo, "labels", all.len(), items)
}

pub(in super::super) fn create(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let name = call.text("name").unwrap_or_default().trim();
    if name.is_empty() {
        return Reply::invalid("Label", "name", "missing_field");
    }
    let color = call.text("color").unwrap_or("ededed");
    if color.len() != 6 || !color.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Reply::invalid("Label", "color", "invalid");
    }
    let description = call.text("description").filter(|d| !d.is_empty());
    if description.is_some_and(|d| d.chars().count() > 100) {
        return Reply::custom(
            "Label",
            Some("description"),
            "description is too long (maximum is 100 characters)",
        );
    }
    if state.repos[&key].label(name).is_some() {
        return Reply::invalid("Label", "name", "already_exists");
    }
    let mut label = Label::new(name).color(&color.to_ascii_lowercase());
    label.description = description.map(str::to_owned);
    label.id = state.next_id();
    let repo = state.repos.get_mut(&key).unwrap();
    repo.labels.push(label.clone());
    let json = render::label(repo, &label, call.urls, false);
    let location = json["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(json, location)
}

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    match repo.label(call.params.get("name").unwrap_or_default()) {
        Some(label) => Reply::ok(render::label(repo, label, call.urls, false)),
        None => Reply::not_found(),
    }
}
