//! GitHub's own OpenAPI description, used to check every JSON body the double
//! answers (and every request body it receives) against the schema of the
//! operation it serves, so the double cannot drift from GitHub.
//!
//! Where it comes from: `tests/support/fetch-openapi.sh` packs npm
//! `@octokit/openapi` (pinned), prunes it to the operations upkeep uses and
//! writes `target/github-openapi/api.github.com.subset.json` (under
//! `$CARGO_TARGET_DIR` when set). Nothing is committed: [`spec`] runs the
//! script once per process (a `OnceLock`; a `flock` in the script across
//! processes). The script returns at once when the file is up to date and
//! regenerates it when its operation list, the pinned version or
//! `prune_spec.py` changed (a checksum in `….subset.json.stamp`), so a plain
//! `cargo test` works on a fresh machine with npm and python3, and a new
//! operation needs no manual step. Offline with a stale file, the old file is
//! used with a warning (routes naming missing operations still fail).
//!
//! OpenAPI 3.0 is not quite JSON Schema; on load, `nullable: true` becomes
//! `type: [T, "null"]` (or `anyOf: [{type: null}, …]` where there is no
//! `type`), and each operation's schema is validated as a draft-4 document
//! that carries the description's `components`, so `#/components/schemas/…`
//! references resolve. Formats (`uri`, `date-time`) are checked. Where the
//! description contradicts GitHub's documented behaviour, an erratum in
//! [`Spec::check_request`] says so (one so far: clearing labels with `[]`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// The loaded, adapted description.
pub struct Spec {
    components: Value,
    /// operationId -> operation object.
    operations: HashMap<String, Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static SPEC: OnceLock<Spec> = OnceLock::new();

/// The description, fetched first if needed. Panics with the reason (and the
/// fetch script's output) when it cannot be had.
pub fn spec() -> &'static Spec {
    SPEC.get_or_init(|| {
        let path = spec_path();
        if let Err(failure) = fetch(&path) {
            if !path.exists() {
                panic!("{failure}");
            }
            eprintln!("warning: using the existing {}: {failure}", path.display());
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("GitHub double: cannot read {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "GitHub double: {} is not JSON ({e}); delete it to refetch",
                path.display()
            )
        });
        Spec::new(doc)
    })
}

/// `target/github-openapi/api.github.com.subset.json`, honouring `CARGO_TARGET_DIR`.
pub fn spec_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    target.join("github-openapi/api.github.com.subset.json")
}

/// Runs the fetch script (a no-op when the file is up to date).
fn fetch(path: &Path) -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fetch-openapi.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(path)
        .output()
        .map_err(|e| format!("GitHub double: cannot run {}: {e}", script.display()))?;
    if !out.status.success() || !path.exists() {
        return Err(format!(
            "GitHub double: {} failed ({}); it needs npm (registry access), tar and python3.\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    Ok(())
}

impl Spec {
    fn new(mut doc: Value) -> Spec {
        adapt_nullable(&mut doc);
        let mut operations = HashMap::new();
        if let Some(paths) = doc["paths"].as_object() {
            for item in paths.values() {
                for op in item.as_object().into_iter().flat_map(|m| m.values()) {
                    if let Some(id) = op["operationId"].as_str() {
                        operations.insert(id.to_owned(), op.clone());
                    }
                }
            }
        }
        Spec {
            components: doc["components"].take(),
            operations,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Panics unless the description has this operation (a route names one
    /// the fetch script does not keep: add it there and delete the file).
    pub fn require(&self, operation: &str) {
        assert!(
            self.operations.contains_key(operation),
            "GitHub double: operation {operation} is not in {}; add it to OPERATIONS in tests/support/fetch-openapi.sh",
            spec_path().display()
        );
    }

    /// The operation's documentation page, as GitHub puts in error bodies.
    pub fn docs_url(&self, operation: &str) -> Option<&str> {
        self.operations.get(operation)?["externalDocs"]["url"].as_str()
    }

    /// Checks a response body against the schema of `operation` for `status`.
    /// Error statuses the operation does not document are checked as GitHub's
    /// `basic-error`; undocumented success statuses are an error.
    pub fn check_response(&self, operation: &str, status: u16, body: &Value) -> Result<(), String> {
        self.require(operation);
        let responses = &self.operations[operation]["responses"];
        let response = match responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
        {
            Some(r) => self.resolve(r),
            None if status >= 400 => &Value::Null,
            None => return Err(format!("{operation} documents no {status} response")),
        };
        let schema = match response["content"]["application/json"]["schema"] {
            Value::Null if status >= 400 => json!({"$ref": "#/components/schemas/basic-error"}),
            Value::Null => return Err(format!("{operation} documents no JSON body for {status}")),
            ref schema => schema.clone(),
        };
        self.check(&format!("{operation} {status}"), schema, body)
    }

    /// Checks a request body against the operation's `requestBody` schema;
    /// operations without one accept anything.
    pub fn check_request(&self, operation: &str, body: &Value) -> Result<(), String> {
        self.require(operation);
        // Erratum: GitHub documents (and accepts) an empty list to clear an
        // issue's labels, which the schema's `minItems: 1` forbids.
        if operation == "issues/set-labels" && *body == json!({ "labels": [] }) {
            return Ok(());
        }
        let request = self.resolve(&self.operations[operation]["requestBody"]);
        match &request["content"]["application/json"]["schema"] {
            Value::Null => Ok(()),
            schema => self.check(&format!("{operation} request"), schema.clone(), body),
        }
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        match node["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/"))
        {
            Some(path) => path.split('/').fold(&self.components, |n, key| &n[key]),
            None => node,
        }
    }

    fn check(&self, key: &str, schema: Value, body: &Value) -> Result<(), String> {
        let validator = self.validator(key, schema);
        let mut errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| match e.instance_path().as_str() {
                "" => format!("  at /: {e}"),
                path => format!("  at {path}: {e}"),
            })
            .collect();
        if errors.len() > 20 {
            let more = errors.len() - 20;
            errors.truncate(20);
            errors.push(format!("  … and {more} more"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }

    fn validator(&self, key: &str, schema: Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(key) {
            return v.clone();
        }
        let mut root = match schema {
            Value::Object(map) => map,
            other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
        };
        root.insert("components".to_owned(), self.components.clone());
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("GitHub double: schema for {key} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(key.to_owned(), validator.clone());
        validator
    }
}

/// OpenAPI 3.0 `nullable: true` -> JSON Schema, everywhere in the document.
fn adapt_nullable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for value in map.values_mut() {
                adapt_nullable(value);
            }
            match map.remove("nullable") {
                Some(Value::Bool(true)) => {}
                Some(other) => {
                    // `nullable: false`, or a property that happens to be named so.
                    if !other.is_boolean() {
                        map.insert("nullable".to_owned(), other);
                    }
                    return;
                }
                None => return,
            }
            if let Some(Value::String(ty)) = map.get("type") {
                let ty = ty.clone();
                map.insert("type".to_owned(), json!([ty, "null"]));
                if let Some(Value::Array(values)) = map.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
            } else {
                let inner = Value::Object(std::mem::take(map));
                map.insert("anyOf".to_owned(), json!([{"type": "null"}, inner]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(adapt_nullable),
        _ => {}
    }
}
