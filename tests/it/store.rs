//! The state store's behaviour, one suite run on both backends: SQLite (a
//! file; "two processes" are two handles on it) and a real PostgreSQL
//! (a fresh database per test; two handles are two pools on it). Times are
//! given explicitly: lease expiry needs no sleeping. Also `upkeep state
//! migrate` from SQLite to PostgreSQL.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use upkeep::domain::release::Release;
use upkeep::io::store::Store;

use crate::support::postgres;

/// Where a test's stores live.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Backend {
    /// A handle on the test's store (a new one each call: another process).
    fn open(&self) -> Store {
        match self {
            Backend::Sqlite(dir) => Store::open(&dir.path().join("state.sqlite3")).unwrap(),
            Backend::Postgres(url) => Store::open_from(Some(url)).unwrap(),
        }
    }
}

fn sqlite() -> Option<Backend> {
    Some(Backend::Sqlite(tempfile::tempdir().unwrap()))
}

fn pg() -> Option<Backend> {
    postgres::database().map(Backend::Postgres)
}

/// Each test, on each backend.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { if let Some(b) = super::sqlite() { super::$name(b) } })*
        }
        mod on_postgres {
            $(#[test] fn $name() { if let Some(b) = super::pg() { super::$name(b) } })*
        }
    };
}

both!(
    releases_round_trip_and_first_seen_sticks,
    registry_answers_round_trip,
    deliveries_are_recorded_once_until_they_expire,
    slack_keys_are_claimed_once_across_processes,
    schedule_ticks_fire_once_across_processes,
    passes_are_requested_leased_and_released,
    an_expired_lease_is_taken_over_and_the_old_holder_cannot_release_it,
    jobs_are_kept_until_done_and_taken_over_with_the_lease,
    concurrent_claims_never_hand_out_a_repository_twice,
    merged_pulls_are_counted,
);

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn release(tag: &str) -> Release {
    Release {
        tag_name: tag.into(),
        name: None,
        body: Some("notes".into()),
        draft: false,
        prerelease: false,
        published_at: None,
        html_url: None,
    }
}

fn releases_round_trip_and_first_seen_sticks(b: Backend) {
    let a = b.open();
    assert!(a.cached_releases("sigp/lighthouse").unwrap().is_none());
    a.save_releases(
        "sigp/lighthouse",
        Some("\"e1\""),
        &[release("v1.0.0")],
        t(0),
    )
    .unwrap();
    let other = b.open();
    other
        .save_releases(
            "sigp/lighthouse",
            Some("\"e2\""),
            &[release("v1.1.0"), release("v1.0.0")],
            t(600),
        )
        .unwrap();
    let cached = a.cached_releases("sigp/lighthouse").unwrap().unwrap();
    assert_eq!(cached.etag.as_deref(), Some("\"e2\""));
    assert_eq!(cached.fetched_at, t(600));
    let tags: Vec<&str> = cached
        .releases
        .iter()
        .map(|r| r.tag_name.as_str())
        .collect();
    assert_eq!(tags, ["v1.1.0", "v1.0.0"]);
    assert_eq!(
        a.first_seen("sigp/lighthouse", "v1.0.0").unwrap(),
        Some(t(0))
    );
    assert_eq!(
        a.first_seen("sigp/lighthouse", "v1.1.0").unwrap(),
        Some(t(600))
    );
    assert_eq!(a.first_seen("sigp/lighthouse", "v9.9.9").unwrap(), None);
    a.touch_releases("sigp/lighthouse", t(900)).unwrap();
    let cached = other.cached_releases("sigp/lighthouse").unwrap().unwrap();
    assert_eq!(cached.fetched_at, t(900));
    assert_eq!(cached.etag.as_deref(), Some("\"e2\""));
}

fn registry_answers_round_trip(b: Backend) {
    let store = b.open();
    let ep = "https://registry-1.docker.io";
    assert_eq!(
        store
            .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
            .unwrap(),
        None
    );
    store
        .save_manifest(ep, "sigp/lighthouse", "v7.0.0", None, t(0))
        .unwrap();
    let missing = store
        .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
        .unwrap()
        .unwrap();
    assert_eq!(missing.manifest, None);
    assert_eq!(missing.checked_at, t(0));
    let digest = format!("sha256:{}", "a".repeat(64));
    let media = "application/vnd.oci.image.index.v1+json";
    store
        .save_manifest(
            ep,
            "sigp/lighthouse",
            "v7.0.0",
            Some((&digest, media)),
            t(5),
        )
        .unwrap();
    let found = b
        .open()
        .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
        .unwrap()
        .unwrap();
    assert_eq!(found.manifest, Some((digest, media.to_string())));
    assert_eq!(found.checked_at, t(5));
    assert_eq!(
        store
            .cached_manifest("http://127.0.0.1:5000", "sigp/lighthouse", "v7.0.0")
            .unwrap(),
        None
    );
}

fn deliveries_are_recorded_once_until_they_expire(b: Backend) {
    let (a, other) = (b.open(), b.open());
    let ttl = Duration::from_secs(3600);
    assert!(a.first_delivery("d-1", t(0), ttl).unwrap());
    assert!(!other.first_delivery("d-1", t(10), ttl).unwrap());
    assert!(other.first_delivery("d-2", t(10), ttl).unwrap());
    // Past the TTL the old delivery is forgotten.
    assert!(a.first_delivery("d-1", t(3601), ttl).unwrap());
    assert!(!a.first_delivery("d-2", t(3601), ttl).unwrap());
}

fn slack_keys_are_claimed_once_across_processes(b: Backend) {
    let keys: Vec<String> = (0..5).map(|i| format!("alert|a/b|v{i}")).collect();
    let stores: Vec<Arc<Store>> = (0..3).map(|_| Arc::new(b.open())).collect();
    // Six threads over three processes claim the same keys at once: each
    // key goes to exactly one of them.
    let claimed: Vec<BTreeSet<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let store = stores[i % 3].clone();
                let keys = keys.clone();
                s.spawn(move || store.claim_slack("ops", &keys, t(0)).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = claimed.iter().map(BTreeSet::len).sum();
    assert_eq!(total, keys.len(), "{claimed:?}");
    let all: BTreeSet<String> = claimed.into_iter().flatten().collect();
    assert_eq!(all, keys.iter().cloned().collect());
    assert_eq!(stores[0].slack_sent("ops", &keys).unwrap(), all);
    assert!(stores[1].slack_sent("default", &keys).unwrap().is_empty());
    // A message that did not arrive gives its keys back (only those it
    // claimed at that time).
    stores[2].unclaim_slack("ops", &keys[..2], t(0)).unwrap();
    stores[2].unclaim_slack("ops", &keys[2..], t(1)).unwrap();
    let again = stores[1].claim_slack("ops", &keys, t(2)).unwrap();
    assert_eq!(again, keys[..2].iter().cloned().collect());
    // record_slack_sent keeps a key's first time, and counts as claimed.
    stores[0]
        .record_slack_sent("ops", &["digest|x".to_string()], t(3))
        .unwrap();
    assert!(
        stores[1]
            .claim_slack("ops", &["digest|x".to_string()], t(4))
            .unwrap()
            .is_empty()
    );
}

fn schedule_ticks_fire_once_across_processes(b: Backend) {
    let stores: Vec<Arc<Store>> = (0..3).map(|_| Arc::new(b.open())).collect();
    let won: Vec<bool> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let store = store.clone();
                s.spawn(move || {
                    store
                        .claim_tick("poll", t(60), &format!("replica-{i}"), t(60))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    // Another schedule, or the next tick, is claimed anew.
    assert!(
        stores[0]
            .claim_tick("digest", t(60), "replica-0", t(60))
            .unwrap()
    );
    assert!(
        stores[1]
            .claim_tick("poll", t(120), "replica-1", t(120))
            .unwrap()
    );
    assert!(
        !stores[2]
            .claim_tick("poll", t(120), "replica-2", t(121))
            .unwrap()
    );
}

fn passes_are_requested_leased_and_released(b: Backend) {
    let (a, other) = (b.open(), b.open());
    let lease = Duration::from_secs(30);
    assert_eq!(a.claim_pass("a", t(0), lease).unwrap(), None);
    a.request_pass("acme/deploy", "push", t(0)).unwrap();
    a.request_pass("acme/deploy", "push", t(1)).unwrap();
    other.request_pass("acme/infra", "recheck", t(2)).unwrap();
    assert_eq!(a.pending_passes().unwrap(), 2);
    // Oldest request first; one repository per claim.
    let got = a.claim_pass("a", t(3), lease).unwrap().unwrap();
    assert_eq!(got.repository, "acme/deploy");
    assert_eq!(got.reason.as_deref(), Some("push"));
    let next = other.claim_pass("b", t(3), lease).unwrap().unwrap();
    assert_eq!(next.repository, "acme/infra");
    assert_eq!(other.claim_pass("b", t(4), lease).unwrap(), None);
    // A held repository cannot be locked by another, only by its holder.
    assert_eq!(
        other.lock_repo("acme/deploy", "b", t(4), lease).unwrap(),
        None
    );
    assert!(
        a.lock_repo("acme/deploy", "a", t(4), lease)
            .unwrap()
            .is_some()
    );
    // A push while the pass runs asks for another pass after it.
    other.request_pass("acme/deploy", "push", t(5)).unwrap();
    a.release_repo(&got, "a").unwrap();
    let again = other.claim_pass("b", t(6), lease).unwrap().unwrap();
    assert_eq!(again.repository, "acme/deploy");
    assert!(again.generation > got.generation);
    other.release_repo(&again, "b").unwrap();
    other.release_repo(&next, "b").unwrap();
    assert_eq!(a.pending_passes().unwrap(), 0);
    assert_eq!(a.claim_pass("a", t(7), lease).unwrap(), None);
    // A repository never requested can be locked (a scheduled poll), and
    // releasing that lock leaves nothing pending.
    let polled = a.lock_repo("acme/new", "a", t(8), lease).unwrap().unwrap();
    assert_eq!(polled.generation, 0);
    assert_eq!(other.lock_repo("acme/new", "b", t(8), lease).unwrap(), None);
    a.release_repo(&polled, "a").unwrap();
    assert!(
        other
            .lock_repo("acme/new", "b", t(9), lease)
            .unwrap()
            .is_some()
    );
    assert_eq!(a.pending_passes().unwrap(), 0);
}

fn an_expired_lease_is_taken_over_and_the_old_holder_cannot_release_it(b: Backend) {
    let (a, other) = (b.open(), b.open());
    let lease = Duration::from_secs(30);
    a.request_pass("acme/deploy", "push", t(0)).unwrap();
    let held = a.claim_pass("a", t(0), lease).unwrap().unwrap();
    // Renewed: still a's at 40 s.
    assert_eq!(a.renew_leases("a", t(20), lease).unwrap(), 1);
    assert_eq!(other.claim_pass("b", t(40), lease).unwrap(), None);
    // a stops renewing (it died): after its lease, b takes the pass over.
    let taken = other.claim_pass("b", t(51), lease).unwrap().unwrap();
    assert_eq!(taken.repository, "acme/deploy");
    assert_eq!(taken.generation, held.generation);
    // a's late release changes nothing: the pass is b's until b is done.
    a.release_repo(&held, "a").unwrap();
    assert_eq!(a.renew_leases("a", t(52), lease).unwrap(), 0);
    assert_eq!(a.lock_repo("acme/deploy", "a", t(52), lease).unwrap(), None);
    assert_eq!(a.pending_passes().unwrap(), 1);
    other.release_repo(&taken, "b").unwrap();
    assert_eq!(a.pending_passes().unwrap(), 0);
}

fn jobs_are_kept_until_done_and_taken_over_with_the_lease(b: Backend) {
    let (a, other) = (b.open(), b.open());
    let lease = Duration::from_secs(30);
    a.record_task("acme/deploy", "rollback#7", r#"{"n":1}"#, t(0))
        .unwrap();
    // Asked again while pending: one job, the latest payload.
    other
        .record_task("acme/deploy", "rollback#7", r#"{"n":2}"#, t(1))
        .unwrap();
    other
        .record_task("acme/deploy", "ignore#8", "{}", t(2))
        .unwrap();
    assert_eq!(a.pending_passes().unwrap(), 1, "one repository with work");
    // Claimed with the repository's lease; no pass is pending.
    let held = a.claim_pass("a", t(3), lease).unwrap().unwrap();
    assert_eq!(held.repository, "acme/deploy");
    assert!(!held.pass);
    assert_eq!(other.claim_pass("b", t(4), lease).unwrap(), None);
    let tasks = a.pending_tasks("acme/deploy").unwrap();
    let keys: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t.key.as_str(), t.payload.as_str()))
        .collect();
    assert_eq!(keys, [("rollback#7", r#"{"n":2}"#), ("ignore#8", "{}")]);
    // a does the first job, then dies: after its lease b redoes the rest.
    a.task_done(&tasks[0]).unwrap();
    assert_eq!(other.claim_pass("b", t(20), lease).unwrap(), None);
    let taken = other.claim_pass("b", t(40), lease).unwrap().unwrap();
    assert!(!taken.pass);
    let left = other.pending_tasks("acme/deploy").unwrap();
    assert_eq!(left, tasks[1..]);
    // Asked for again while b runs it: still pending after b is done.
    a.record_task("acme/deploy", "ignore#8", "{}", t(41))
        .unwrap();
    other.task_done(&left[0]).unwrap();
    other.release_repo(&taken, "b").unwrap();
    assert_eq!(a.pending_passes().unwrap(), 1);
    let again = a.claim_pass("a", t(42), lease).unwrap().unwrap();
    let last = a.pending_tasks("acme/deploy").unwrap();
    assert_eq!(last.len(), 1);
    assert!(last[0].generation > left[0].generation);
    a.task_done(&last[0]).unwrap();
    // A pass asked for meanwhile is claimed as one.
    other.request_pass("acme/deploy", "push", t(43)).unwrap();
    a.release_repo(&again, "a").unwrap();
    let pass = other.claim_pass("b", t(44), lease).unwrap().unwrap();
    assert!(pass.pass);
    assert!(other.pending_tasks("acme/deploy").unwrap().is_empty());
    other.release_repo(&pass, "b").unwrap();
    assert_eq!(a.pending_passes().unwrap(), 0);
    assert_eq!(a.claim_pass("a", t(45), lease).unwrap(), None);
}

fn concurrent_claims_never_hand_out_a_repository_twice(b: Backend) {
    let stores: Vec<Arc<Store>> = (0..3).map(|_| Arc::new(b.open())).collect();
    let repos: Vec<String> = (0..24).map(|i| format!("acme/r{i:02}")).collect();
    for (i, r) in repos.iter().enumerate() {
        stores[i % 3]
            .request_pass(r, "push", t(i64::try_from(i).unwrap()))
            .unwrap();
    }
    let lease = Duration::from_secs(30);
    let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let store = stores[i % 3].clone();
                s.spawn(move || {
                    let mut mine = Vec::new();
                    let holder = format!("worker-{i}");
                    while let Some(l) = store.claim_pass(&holder, t(100), lease).unwrap() {
                        mine.push(l.repository.clone());
                        store.release_repo(&l, &holder).unwrap();
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<String> = claimed.into_iter().flatten().collect();
    all.sort();
    assert_eq!(all, repos, "every pass claimed exactly once");
}

fn merged_pulls_are_counted(b: Backend) {
    let store = b.open();
    assert_eq!(store.merged_count().unwrap(), 0);
    store
        .record_merged("acme/deploy", 7, "upkeep/x", t(0))
        .unwrap();
    store
        .record_merged("acme/deploy", 7, "upkeep/x", t(5))
        .unwrap();
    store
        .record_merged("acme/deploy", 8, "upkeep/y", t(5))
        .unwrap();
    assert_eq!(b.open().merged_count().unwrap(), 2);
}

#[test]
fn postgres_replicas_starting_together_migrate_once() {
    let Some(url) = postgres::database() else {
        return;
    };
    let stores: Vec<Store> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Store::open_from(Some(&url)).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    stores[0]
        .save_releases("x/y", None, &[release("v1.0.0")], t(0))
        .unwrap();
    drop(stores);
    // Reopening finds the schema and the data.
    let again = Store::open_from(Some(&url)).unwrap();
    assert_eq!(
        again
            .cached_releases("x/y")
            .unwrap()
            .unwrap()
            .releases
            .len(),
        1
    );
}

#[test]
fn an_unreachable_postgres_fails_calls_and_recovers() {
    let Some(url) = postgres::database() else {
        return;
    };
    let store = Store::open_from(Some(&url)).unwrap();
    store.ping().unwrap();
    postgres::set_reachable(&url, false);
    let err = store.ping().unwrap_err().to_string();
    assert!(err.contains("127.0.0.1"), "{err}");
    postgres::set_reachable(&url, true);
    store.ping().unwrap();
    assert!(
        store
            .first_delivery("d", t(0), Duration::from_secs(60))
            .unwrap()
    );
}

#[test]
fn state_migrate_copies_sqlite_into_postgres_idempotently() {
    use crate::support::{stderr, stdout, upkeep_env};
    let Some(url) = postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite3");
    {
        let old = Store::open(&path).unwrap();
        old.save_releases(
            "sigp/lighthouse",
            Some("\"e1\""),
            &[release("v7.0.0")],
            t(0),
        )
        .unwrap();
        old.save_manifest(
            "https://r",
            "sigp/lighthouse",
            "v7.0.0",
            Some(("sha256:ab", "m")),
            t(1),
        )
        .unwrap();
        assert!(
            old.first_delivery("d-1", t(2), Duration::from_secs(3600))
                .unwrap()
        );
        old.record_merged("acme/deploy", 3, "upkeep/b", t(3))
            .unwrap();
        old.record_slack_sent("ops", &["alert|k".to_string()], t(4))
            .unwrap();
    }
    let from = format!("sqlite:{}", path.display());
    let migrate = || {
        let out = upkeep_env(
            dir.path(),
            &[
                "state", "migrate", "--from", &from, "--to", &url, "--format", "json",
            ],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let first = migrate();
    assert_eq!(first["copied"]["release_cache"], 1, "{first}");
    assert_eq!(first["copied"]["release_seen"], 1, "{first}");
    assert_eq!(first["copied"]["registry_cache"], 1, "{first}");
    assert_eq!(first["copied"]["webhook_delivery"], 1, "{first}");
    assert_eq!(first["copied"]["merged_pull"], 1, "{first}");
    assert_eq!(first["copied"]["slack_sent"], 1, "{first}");
    // Again: nothing new, nothing doubled.
    let second = migrate();
    assert_eq!(second["copied"]["release_cache"], 0, "{second}");
    assert_eq!(second["read"]["release_cache"], 1, "{second}");

    let pg = Store::open_from(Some(&url)).unwrap();
    let cached = pg.cached_releases("sigp/lighthouse").unwrap().unwrap();
    assert_eq!(cached.etag.as_deref(), Some("\"e1\""));
    assert_eq!(cached.releases[0].tag_name, "v7.0.0");
    assert_eq!(
        pg.first_seen("sigp/lighthouse", "v7.0.0").unwrap(),
        Some(t(0))
    );
    assert_eq!(
        pg.cached_manifest("https://r", "sigp/lighthouse", "v7.0.0")
            .unwrap()
            .unwrap()
            .manifest,
        Some(("sha256:ab".into(), "m".into()))
    );
    assert!(
        !pg.first_delivery("d-1", t(5), Duration::from_secs(3600))
            .unwrap()
    );
    assert_eq!(pg.merged_count().unwrap(), 1);
    assert_eq!(
        pg.slack_sent("ops", &["alert|k".to_string()])
            .unwrap()
            .len(),
        1
    );

    // A wrong pair is a usage error, and the password never shows.
    let out = upkeep_env(
        dir.path(),
        &[
            "state",
            "migrate",
            "--from",
            "postgres://u:hunter2@127.0.0.1:9/x",
            "--to",
            &url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
}
