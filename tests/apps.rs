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
    kind: String,
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

/// Credential values hidden in arrays and URLs of settings whose names say nothing.
const HIDDEN: &[&str] = &[
    "arr-api-key-value-0001",
    "s3cr3t-url-pass-0002",
    "query-token-value-0003",
    "query-apikey-value-0004",
    "listed-token-value-0005",
    "Bearer header-value-0006",
];

fn hidden_page(dir: &std::path::Path) -> std::path::PathBuf {
    write(
        dir,
        "hidden.json",
        r#"{"installations": [{"id": 1, "app_id": 2, "product": "support", "enabled": true,
            "created_at": "2015-01-01T00:00:00Z",
            "settings": {"name": "Sync", "connections": [{"host": "a.example", "api_key": "arr-api-key-value-0001"}],
              "webhook_url": "https://bot:s3cr3t-url-pass-0002@hooks.example.com/in",
              "callback": "https://cb.example.com/x?channel=ops&token=query-token-value-0003",
              "docs": "https://docs.example.com/?page=2"},
            "settings_objects": [{"name": "feed", "value": "https://feed.example.com/rss?api_key=query-apikey-value-0004"},
              {"name": "lists", "value": {"tokens": ["listed-token-value-0005"]}},
              {"name": "headers", "value": [{"name": "Authorization", "value": "Bearer header-value-0006"}]}]}],
          "next_page": null, "previous_page": null, "count": 1}"#,
    )
}

#[test]
fn credentials_in_arrays_and_urls_are_found_and_masked() {
    let dir = temp();
    let page = hidden_page(dir.path());
    let run = apps(&[page.to_str().unwrap()], "json").code(1);
    let r = run.json();
    assert_eq!(r["apps"][0]["status"], "rotate");
    let found: Vec<(String, String)> = r["apps"][0]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["masked"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("callback?token", "****0003 (22 chars)"),
        ("connections[0].api_key", "****0001 (22 chars)"),
        ("webhook_url@password", "****0002 (20 chars)"),
        ("feed?api_key", "****0004 (23 chars)"),
        ("lists.tokens[0]", "****0005 (23 chars)"),
        ("headers[0].Authorization", "****0006 (24 chars)"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, m)| (n.to_string(), m.to_string()))
        .collect();
    assert_eq!(found, want);
    for format in ["table", "json", "ndjson", "csv"] {
        let run = apps(&[page.to_str().unwrap()], format).code(1);
        for secret in HIDDEN {
            assert!(
                !run.stdout.contains(secret),
                "{format}: stdout shows {secret}"
            );
            assert!(
                !run.stderr.contains(secret),
                "{format}: stderr shows {secret}"
            );
        }
        assert!(run.stdout.contains("webhook_url@password"), "{format}");
        assert!(run.stdout.contains("****0002"), "{format}");
    }
}

fn offset_page(dir: &std::path::Path, n: u64, last: u64, ids: &[u64], count: u64) -> String {
    let url =
        |p: u64| format!("\"https://acme.zendesk.com/api/v2/apps/installations.json?page={p}\"");
    let link = |p: u64, ok: bool| if ok { url(p) } else { "null".to_owned() };
    let items: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id": {id}, "created_at": "2017-01-01T00:00:00Z", "settings": {{"api_token": "abcdefghijklmnop{id}"}}}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"installations": [{}], "next_page": {}, "previous_page": {}, "count": {count}}}"#,
        items.join(","),
        link(n + 1, n < last),
        link(n.saturating_sub(1), n > 1)
    );
    write(dir, &format!("page{n}.json"), body)
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_page_list_with_a_gap_is_incomplete_and_names_the_missing_page() {
    let dir = temp();
    let p1 = offset_page(dir.path(), 1, 3, &[1, 2], 6);
    let p2 = offset_page(dir.path(), 2, 3, &[3, 4], 6);
    let p3 = offset_page(dir.path(), 3, 3, &[5, 6], 6);
    // The whole list: clean (every installation is after the cutoff).
    apps(&[&p3, &p1, &p2], "json").code(0);
    // Page 2 left out: its last page is there, but the list is not whole.
    let run = apps(&[&p1, &p3], "json").code(2).stderr_has(&format!(
        "{p1}: page 2 of 3 of the list is missing, so its installations were not audited; \
         fetch https://acme.zendesk.com/api/v2/apps/installations.json?page=2"
    ));
    let r = run.json();
    assert_eq!(r["summary"]["complete"], false);
    assert_eq!(r["summary"]["installations"], 4);
    assert_eq!(r["errors"][0]["path"], p1.as_str());
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("page 2 of 3"));
    // Page 1 left out.
    apps(&[&p2, &p3], "table")
        .code(2)
        .stderr_has("page 1 of 3 of the list is missing")
        .stdout_has("INCOMPLETE");
    // One page that says it is the whole list, but count says more: the count is the gap.
    let short = offset_page(dir.path(), 1, 1, &[1, 2], 3);
    apps(&[&short], "json")
        .code(2)
        .stderr_has("the list's count is 3 but the pages given hold 2 installations");
}
