//! `certsweep apps`: installations before the cutoff with credentials, masked values, the
//! JSON shape, exit codes.

#![allow(dead_code)] // the mirrors exist to be deserialised into

use serde::Deserialize;

use crate::harness::*;

const PAGE1: &str = "fixtures/apps/installations-page1.json";
const PAGE2: &str = "fixtures/apps/installations-page2.json";

/// Every credential value in the fixtures: none may ever be printed whole.
const SECRETS: &[&str] = &[
    "sk_live_51HbillingSyncSecretValueA1b2",
    "cs-2f9a7e1d4b8c6a03e5f7",
    "hunter2!",
    "AKIAOLDCRMLINK7788",
    "Bearer eyJhbGciOiJIUzI1NiJ9.newTelephonyTokenZ9y8",
    "this-one-has-no-valid-date-1234",
    "correct-horse-battery-staple-docs",
    "oauthClientSecretQ7w8",
];

fn apps(files: &[&str], format: &str) -> Run {
    Test::new()
        .arg("apps")
        .args(files.iter().copied())
        .args(["--cutoff", CUTOFF, "--format", format])
        .run()
}

fn status_of<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    &r["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["installation_id"] == id)
        .unwrap_or_else(|| panic!("no installation {id}"))["status"]
}

#[test]
fn statuses_across_pages_and_the_bad_date_is_an_error() {
    let run = apps(&[PAGE1, PAGE2], "json").code(2);
    let r = run.json();
    for (id, want) in [
        ("360001", "rotate"),         // api_token in settings and settings_objects
        ("360002", "rotate"),         // clientSecret in settings_objects only
        ("360003", "rotate"),         // disabled, still rotate
        ("360004", "no-credentials"), // monkey, theme
        ("360005", "not-affected"),   // created exactly at the cutoff
        ("360007", "rotate"),         // one second before the cutoff, nested oauth secret
    ] {
        assert_eq!(status_of(&r, id), want, "{id}");
    }
    assert_eq!(r["summary"]["rotate"], 4);
    assert_eq!(r["summary"]["complete"], false);
    let e = &r["errors"][0];
    assert_eq!(e["path"], PAGE2);
    assert_eq!(e["index"], 2);
    assert!(e["reason"]
        .as_str()
        .unwrap()
        .contains("installation 360006: created_at"));
    assert!(
        run.stderr
            .contains("installations-page2.json: entry 2: installation 360006: created_at"),
        "{}",
        run.stderr
    );

    // The mirrored api_token is listed once; the names are those of the settings.
    let first = &r["apps"][0];
    assert_eq!(first["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(first["credentials"][0]["name"], "api_token");
    assert_eq!(first["credentials"][0]["masked"], "****A1b2 (37 chars)");
    let disabled = r["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["installation_id"] == "360003")
        .unwrap();
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "password" && c["masked"] == "(8 chars)"));
}

#[test]
fn no_secret_is_ever_printed_whole_in_any_format() {
    for format in ["table", "json", "ndjson", "csv"] {
        let run = apps(&[PAGE1, PAGE2], format).code(2);
        for secret in SECRETS {
            assert!(
                !run.stdout.contains(secret),
                "{format}: stdout shows {secret}"
            );
            assert!(
                !run.stderr.contains(secret),
                "{format}: stderr shows {secret}"
            );
        }
        assert!(run.stdout.contains("****A1b2"), "{format}");
    }
}

#[test]
fn exit_codes() {
    let dir = temp();
    let page = |created: &str| {
        format!(
            r#"{{"installations": [{{"id": 1, "app_id": 2, "product": "support", "enabled": true,
                "created_at": "{created}", "settings": {{"api_token": "abcdefghijklmnopqrstuvwxyz"}},
                "settings_objects": []}}], "next_page": null}}"#
        )
    };
    let before = write(dir.path(), "before.json", page("2015-01-01T00:00:00Z"));
    let after = write(dir.path(), "after.json", page("2017-01-01T00:00:00Z"));
    apps(&[before.to_str().unwrap()], "json").code(1);
    apps(&[after.to_str().unwrap()], "json").code(0);
    // A page that says more follow, alone: incomplete.
    apps(&[PAGE1], "json").code(2).stderr_has("next_page");
    // Not JSON, and not the list.
    let bad = write(dir.path(), "bad.json", "{ nope");
    let other = write(dir.path(), "other.json", "{\"users\": []}");
    apps(&[bad.to_str().unwrap(), other.to_str().unwrap()], "json")
        .code(2)
        .stderr_has("not JSON")
        .stderr_has("no \"installations\" array");
    // --cutoff is required; a bad one is a usage error.
    Test::new()
        .args(["apps", PAGE2])
        .run()
        .code(2)
        .stderr_has("--cutoff");
    Test::new()
        .args(["apps", PAGE2, "--cutoff", "soon"])
        .run()
        .code(2)
        .stderr_has("--cutoff");
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema_version: u32,
    tool: Tool,
    policy: Policy,
    summary: Summary,
    apps: Vec<App>,
    errors: Vec<ErrorRec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    now: String,
    cutoff: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    installations: usize,
    rotate: usize,
    not_affected: usize,
    no_credentials: usize,
    errors: usize,
    action_required: bool,
    complete: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    path: String,
    index: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct App {
    source: Source,
    installation_id: String,
    app_id: Option<String>,
    product: Option<String>,
    created_at: String,
    updated_at: Option<String>,
    enabled: Option<bool>,
    status: String,
    credentials: Vec<Credential>,
    reasons: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credential {
    name: String,
    source: String,
    masked: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorRec {
    path: String,
    index: Option<usize>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    App(App),
    Error(ErrorRec),
    Summary {
        schema_version: u32,
        tool: Tool,
        policy: Policy,
        installations: usize,
        rotate: usize,
        not_affected: usize,
        no_credentials: usize,
        errors: usize,
        action_required: bool,
        complete: bool,
    },
}

#[test]
fn json_and_ndjson_shapes_are_locked() {
    let run = apps(&[PAGE1, PAGE2], "json");
    let r: Report = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.apps.len(), 6);
    for a in &r.apps {
        assert!(["rotate", "not-affected", "no-credentials"].contains(&a.status.as_str()));
        for c in &a.credentials {
            assert!(["settings", "settings_objects"].contains(&c.source.as_str()));
        }
    }
    let run = apps(&[PAGE1, PAGE2], "ndjson");
    let lines: Vec<Line> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 6 + 1 + 1);
    assert!(matches!(lines.last(), Some(Line::Summary { .. })));
}

#[test]
fn csv_header() {
    let run = apps(&[PAGE1, PAGE2], "csv");
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        "schema_version,path,index,installation_id,app_id,product,created_at,enabled,status,credential_names,credentials_masked,reasons"
    );
    assert_eq!(run.stdout.lines().count(), 7);
}
