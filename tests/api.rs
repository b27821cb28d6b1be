//! `apps --zendesk` and `credentials` against a loopback HTTPS server that answers as the
//! vendor's API documents: both paginations, 429 and 5xx retries, refusals, bad pages.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::harness::*;

const EMAIL: &str = "admin@acme.test";
const API_TOKEN: &str = "zdApiTokenValue-9f8e7d6c5b4a";
const OAUTH_TOKEN: &str = "zdOAuthBearerValue-0a1b2c3d4e5f";
const INSTALLATIONS: &str = "/api/v2/apps/installations.json";

/// One canned answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Time to wait before answering.
    delay: Duration,
}

fn ok(body: impl Into<String>) -> Reply {
    Reply {
        status: 200,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn status(code: u16, headers: &[(&str, &str)]) -> Reply {
    Reply {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: "{\"error\": \"canned\"}".into(),
        delay: Duration::ZERO,
    }
}

type Routes = Arc<Mutex<HashMap<String, VecDeque<Reply>>>>;

/// A loopback HTTPS server with a CA of its own: answers each path (with its query) from a
/// queue of replies (the last one repeats), and records every request's path and
/// Authorization header.
struct Api {
    url: String,
    ca: PathBuf,
    routes: Routes,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    _dir: tempfile::TempDir,
}

impl Api {
    fn start() -> Api {
        let dir = temp();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "certsweep test API CA");
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let ca_path = write(dir.path(), "api-ca.pem", ca.pem());
        let config = ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        thread::spawn(move || {
            for sock in listener.incoming().flatten() {
                let (config, routes, seen) = (config.clone(), r.clone(), s.clone());
                thread::spawn(move || {
                    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                    let conn = ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, sock);
                    let _ = answer(&mut tls, &routes, &seen);
                });
            }
        });
        Api {
            url,
            ca: ca_path,
            routes,
            seen,
            _dir: dir,
        }
    }

    fn route(&self, path: &str, replies: Vec<Reply>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), replies.into());
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// `certsweep ARGS --zendesk URL --roots CA` with API-token credentials in the env.
    fn run(&self, args: &[&str]) -> Test {
        Test::new()
            .args(args.iter().copied())
            .args(["--zendesk", &self.url, "--roots", self.ca.to_str().unwrap()])
            .env("ZENDESK_EMAIL", EMAIL)
            .env("ZENDESK_API_TOKEN", API_TOKEN)
    }
}

/// Reads one GET request and writes the next reply for its path (404 if none).
fn answer(
    tls: &mut (impl Read + Write),
    routes: &Routes,
    seen: &Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tls.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_owned();
    let auth = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    seen.lock().unwrap().push((path.clone(), auth));
    let reply = {
        let mut routes = routes.lock().unwrap();
        match routes.get_mut(&path) {
            Some(q) if q.len() > 1 => q.pop_front().unwrap(),
            Some(q) => q.front().unwrap().clone(),
            None => status(404, &[]),
        }
    };
    thread::sleep(reply.delay);
    let mut out = format!(
        "HTTP/1.1 {} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    tls.write_all(out.as_bytes())?;
    tls.flush()
}

/// A fixture page with its next/previous links pointing at `url` (the test server).
fn fixture_page(name: &str, url: &str) -> String {
    String::from_utf8(fixture(&format!("apps/{name}")))
        .unwrap()
        .replace("https://acme.example.com", url)
}

fn basic() -> String {
    let raw = format!("{EMAIL}/token:{API_TOKEN}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn no_secret(run: &Run, extra: &[&str]) {
    for secret in [API_TOKEN, OAUTH_TOKEN, &basic()[6..]].iter().chain(extra) {
        assert!(!run.stdout.contains(secret), "stdout shows {secret}");
        assert!(!run.stderr.contains(secret), "stderr shows {secret}");
    }
}

/// The verdicts without where they were read from (a file or a URL).
fn verdicts(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("source");
            a
        })
        .collect()
}

const FIXTURE_SECRETS: &[&str] = &[
    "sk_live_51HbillingSyncSecretValueA1b2",
    "cs-2f9a7e1d4b8c6a03e5f7",
    "hunter2!",
    "AKIAOLDCRMLINK7788",
    "eyJhbGciOiJIUzI1NiJ9.newTelephonyTokenZ9y8",
    "correct-horse-battery-staple-docs",
    "oauthClientSecretQ7w8",
];

#[test]
fn offset_pages_with_a_429_and_a_500_give_the_same_audit_as_the_files() {
    let api = Api::start();
    api.route(
        INSTALLATIONS,
        vec![
            status(429, &[("Retry-After", "1")]),
            ok(fixture_page("installations-page1.json", &api.url)),
        ],
    );
    api.route(
        &format!("{INSTALLATIONS}?page=2"),
        vec![
            status(500, &[]),
            ok(fixture_page("installations-page2.json", &api.url)),
        ],
    );
    let dir = temp();
    let raw = dir.path().join("raw");
    let run = api
        .run(&["apps", "--cutoff", CUTOFF, "--format", "json"])
        .args(["--save-raw", raw.to_str().unwrap()])
        .run()
        .code(2);
    no_secret(&run, FIXTURE_SECRETS);
    let from_api = run.json();
    let from_files = Test::new()
        .args([
            "apps",
            "fixtures/apps/installations-page1.json",
            "fixtures/apps/installations-page2.json",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run()
        .code(2)
        .json();
    assert_eq!(verdicts(&from_api), verdicts(&from_files));
    assert_eq!(from_api["summary"], from_files["summary"]);
    assert_eq!(
        from_api["apps"][0]["source"]["path"],
        format!("{}{INSTALLATIONS}", api.url)
    );
    // The bad created_at of the fixture is the one error, named by the page's URL.
    assert_eq!(from_api["errors"].as_array().unwrap().len(), 1);
    assert_eq!(
        from_api["errors"][0]["path"],
        format!("{}{INSTALLATIONS}?page=2", api.url)
    );
    // Each page was asked twice (429, 500 then success), each time with the API token.
    let seen = api.requests();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            INSTALLATIONS,
            INSTALLATIONS,
            "/api/v2/apps/installations.json?page=2",
            "/api/v2/apps/installations.json?page=2"
        ]
    );
    assert!(seen.iter().all(|(_, auth)| *auth == basic()), "{seen:?}");
    // The saved pages are the API's, with every credential masked.
    let mut saved: Vec<_> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2);
    for path in &saved {
        let text = std::fs::read_to_string(path).unwrap();
        for secret in FIXTURE_SECRETS {
            assert!(!text.contains(secret), "{} holds {secret}", path.display());
        }
        assert!(text.contains("\"created_at\""));
    }
    assert!(std::fs::read_to_string(&saved[0])
        .unwrap()
        .contains("****A1b2 (37 chars)"));
}

fn cursor_page(url: &str, ids: &[u64], next: Option<&str>) -> String {
    let items: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id": {id}, "app_id": 5, "product": "support", "enabled": true,
                   "settings": {{"name": "App {id}", "title": "App {id}", "api_key": "cursor-secret-value-{id:04}"}},
                   "settings_objects": [{{"name": "api_key", "value": "cursor-secret-value-{id:04}"}}],
                   "created_at": "2015-0{id}-01T00:00:00Z", "updated_at": "2015-0{id}-01T00:00:00Z"}}"#
            )
        })
        .collect();
    let (more, link) = match next {
        Some(n) => (
            "true",
            format!("\"{url}{INSTALLATIONS}?page[after]={n}&page[size]=100\""),
        ),
        None => ("false", "null".to_owned()),
    };
    format!(
        r#"{{"installations": [{}], "meta": {{"has_more": {more}, "after_cursor": "x"}}, "links": {{"next": {link}, "prev": null}}}}"#,
        items.join(",")
    )
}

#[test]
fn cursor_pages_with_an_oauth_bearer_token() {
    let api = Api::start();
    api.route(
        INSTALLATIONS,
        vec![ok(cursor_page(&api.url, &[1, 2], Some("c2")))],
    );
    api.route(
        &format!("{INSTALLATIONS}?page[after]=c2&page[size]=100"),
        vec![ok(cursor_page(&api.url, &[3], None))],
    );
    for format in ["table", "json", "ndjson", "csv"] {
        let run = Test::new()
            .args(["apps", "--cutoff", CUTOFF, "--format", format])
            .args(["--zendesk", &api.url, "--roots", api.ca.to_str().unwrap()])
            .env("ZENDESK_OAUTH_TOKEN", OAUTH_TOKEN)
            .run()
            .code(1);
        no_secret(
            &run,
            &["cursor-secret-value-0001", "cursor-secret-value-0003"],
        );
        assert!(run.stdout.contains("****0003"), "{format}");
        if format == "json" {
            assert_eq!(run.json()["summary"]["installations"], 3);
            assert_eq!(run.json()["summary"]["rotate"], 3);
            assert_eq!(run.json()["summary"]["complete"], true);
        }
    }
    let seen = api.requests();
    assert!(seen
        .iter()
        .all(|(_, auth)| *auth == format!("Bearer {OAUTH_TOKEN}")));
}

#[test]
fn refusals_bad_pages_and_loops_are_incomplete_with_a_clear_reason() {
    let api = Api::start();
    let cases: Vec<(Vec<Reply>, &str)> = vec![
        (
            vec![status(401, &[])],
            "the API refused the credentials (401 Unauthorized): check ZENDESK_EMAIL and ZENDESK_API_TOKEN",
        ),
        (
            vec![status(403, &[])],
            "the API denied access (403 Forbidden): this needs an admin's credentials, and an OAuth token needs the scope read (or apps:read)",
        ),
        (
            vec![ok("{\"installations\": [{\"id\": 1,")],
            "the API sent a page that is not valid JSON",
        ),
        (
            vec![status(429, &[("Retry-After", "120")])],
            "asks to wait 120 s (Retry-After), longer than the 60 s this run waits",
        ),
        (
            vec![ok(format!(
                r#"{{"installations": [], "next_page": "{}{INSTALLATIONS}", "count": 0}}"#,
                api.url
            ))],
            "was already fetched: the API's pages loop",
        ),
        (
            vec![ok(
                r#"{"installations": [], "next_page": "https://evil.example/api/v2/apps/installations.json?page=2", "count": 0}"#,
            )],
            "the next page is on another server (https://evil.example/",
        ),
    ];
    for (replies, want) in cases {
        api.route(INSTALLATIONS, replies);
        let run = api
            .run(&["apps", "--cutoff", CUTOFF, "--format", "json"])
            .run()
            .code(2)
            .stderr_has(want);
        no_secret(&run, &[]);
        assert_eq!(run.json()["summary"]["complete"], false, "{want}");
    }
    // Every request carried the API token, and only to the test server.
    assert!(api.requests().iter().all(|(_, auth)| *auth == basic()));
}

#[test]
fn credentials_come_from_env_or_file_and_https_only() {
    let api = Api::start();
    api.route(
        INSTALLATIONS,
        vec![ok(
            r#"{"installations": [], "next_page": null, "count": 0}"#,
        )],
    );
    // No credentials: a usage error naming the variables.
    Test::new()
        .args(["apps", "--cutoff", CUTOFF, "--zendesk", &api.url])
        .run()
        .code(2)
        .stderr_has(
            "no API credentials in the environment: set ZENDESK_EMAIL and ZENDESK_API_TOKEN",
        );
    Test::new()
        .args(["apps", "--cutoff", CUTOFF, "--zendesk", &api.url])
        .env("ZENDESK_EMAIL", EMAIL)
        .run()
        .code(2)
        .stderr_has("ZENDESK_API_TOKEN is not");
    // There is no flag for a token.
    for flag in ["--token", "--api-token", "--oauth-token"] {
        Test::new()
            .args(["apps", "--cutoff", CUTOFF, "--zendesk", &api.url, flag, "x"])
            .run()
            .code(2)
            .stderr_has(&format!("unexpected argument '{flag}'"));
    }
    // Plain http only to loopback.
    Test::new()
        .args([
            "apps",
            "--cutoff",
            CUTOFF,
            "--zendesk",
            "http://acme.zendesk.com",
        ])
        .env("ZENDESK_OAUTH_TOKEN", OAUTH_TOKEN)
        .run()
        .code(2)
        .stderr_has("plain http is refused");
    // From a file, and the server's CA must be trusted (no --roots: refused).
    let dir = temp();
    let file = write(
        dir.path(),
        "zendesk.env",
        format!("# acme\nZENDESK_EMAIL={EMAIL}\nexport ZENDESK_API_TOKEN=\"{API_TOKEN}\"\n"),
    );
    // Readable by others: refused, as ssh refuses such keys.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    Test::new()
        .args([
            "apps",
            "--cutoff",
            CUTOFF,
            "--zendesk",
            &api.url,
            "--auth-file",
        ])
        .arg(&file)
        .run()
        .code(2)
        .stderr_has("other users can read it (mode 0644); run chmod 600");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    Test::new()
        .args(["apps", "--cutoff", CUTOFF, "--zendesk", &api.url])
        .args(["--roots", api.ca.to_str().unwrap(), "--auth-file"])
        .arg(&file)
        .run()
        .code(0);
    assert_eq!(api.requests().last().unwrap().1, basic());
    let run = Test::new()
        .args([
            "apps",
            "--cutoff",
            CUTOFF,
            "--zendesk",
            &api.url,
            "--auth-file",
        ])
        .arg(&file)
        .run()
        .code(2)
        .stderr_has("the TLS connection failed")
        .stderr_has("--roots");
    no_secret(&run, &[]);
}

#[test]
fn credentials_lists_tokens_created_before_the_cutoff() {
    let api = Api::start();
    api.route(
        "/api/v2/oauth/tokens.json?all=true",
        vec![ok(format!(
            r#"{{"tokens": [
                {{"id": 11, "client_id": 501, "user_id": 9, "token": "oauthTokenValueOld-0011", "scopes": ["read"],
                  "created_at": "2015-06-01T00:00:00Z", "used_at": "2026-11-20T10:00:00Z", "expires_at": null}},
                {{"id": 12, "client_id": 502, "user_id": 9, "token": "****0012",
                  "created_at": "2016-12-01T00:00:00Z", "used_at": null, "expires_at": null}}],
              "next_page": "{}/api/v2/oauth/tokens.json?all=true&page=2", "previous_page": null, "count": 3}}"#,
            api.url
        ))],
    );
    api.route(
        "/api/v2/oauth/tokens.json?all=true&page=2",
        vec![ok(
            r#"{"tokens": [
                {"id": 13, "client_id": 503, "token": "oauthTokenValueExpired-0013",
                 "created_at": "2014-01-01T00:00:00Z", "used_at": "2015-01-01T00:00:00Z", "expires_at": "2016-01-01T00:00:00Z"}],
              "next_page": null, "previous_page": "x?page=1", "count": 3}"#,
        )],
    );
    api.route(
        "/api/v2/api_tokens.json",
        vec![ok(
            r#"{"api_tokens": [
                {"id": 21, "description": "Billing sync", "token": "apiTokenValueOld-0021", "active": true,
                 "created_at": "2016-10-31T23:59:59Z", "last_used_at": "2026-11-01T00:00:00Z"},
                {"id": 22, "description": "Old import", "token": "apiTokenValueOff-0022", "active": false,
                 "created_at": "2014-01-01T00:00:00Z"},
                {"id": 23, "description": "New", "active": true, "created_at": "2016-11-01T00:00:00Z"}],
              "next_page": null, "previous_page": null, "count": 3}"#,
        )],
    );
    let secrets = [
        "oauthTokenValueOld-0011",
        "oauthTokenValueExpired-0013",
        "apiTokenValueOld-0021",
        "apiTokenValueOff-0022",
    ];
    let run = api
        .run(&["credentials", "--cutoff", CUTOFF, "--format", "json"])
        .run()
        .code(1);
    no_secret(&run, &secrets);
    let r = run.json();
    let by_id = |id: &str| {
        r["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("no token {id}"))
            .clone()
    };
    for (id, kind, want) in [
        ("11", "oauth-token", "rotate"),
        ("12", "oauth-token", "not-affected"),
        ("13", "oauth-token", "expired"),
        ("21", "api-token", "rotate"),
        ("22", "api-token", "inactive"),
        ("23", "api-token", "not-affected"),
    ] {
        assert_eq!(by_id(id)["status"], want, "{id}");
        assert_eq!(by_id(id)["kind"], kind, "{id}");
    }
    let old = by_id("11");
    assert_eq!(old["last_used_at"], "2026-11-20T10:00:00Z");
    assert_eq!(old["client_id"], "501");
    assert_eq!(old["hint"], "****0011 (23 chars)");
    assert!(old["reasons"][1]
        .as_str()
        .unwrap()
        .contains("last used 2026-11-20T10:00:00Z"));
    assert_eq!(by_id("12")["hint"], "****0012");
    assert_eq!(by_id("21")["last_used_at"], "2026-11-01T00:00:00Z");
    assert_eq!(r["summary"]["rotate"], 2);
    assert_eq!(r["summary"]["complete"], true);
    for format in ["table", "ndjson", "csv"] {
        let run = api
            .run(&["credentials", "--cutoff", CUTOFF, "--format", format])
            .run()
            .code(1);
        no_secret(&run, &secrets);
        assert!(run.stdout.contains("****0021"), "{format}");
        if format == "table" {
            assert!(run.stdout.contains("client 501"), "{}", run.stdout);
            assert!(run.stdout.contains("last used 2026-11-20T10:00:00Z"));
        }
    }
    // A token list the account cannot read makes the audit incomplete, the rest still shown.
    api.route("/api/v2/api_tokens.json", vec![status(403, &[])]);
    api.run(&["credentials", "--cutoff", CUTOFF, "--format", "table"])
        .run()
        .code(2)
        .stderr_has("403 Forbidden")
        .stdout_has("oauth-token")
        .stdout_has("INCOMPLETE");
}

#[test]
fn bounds_on_pages_size_and_time_make_the_audit_incomplete() {
    let api = Api::start();
    let page = |n: u64, next: bool| {
        let next = if next {
            format!("\"{}{INSTALLATIONS}?page={}\"", api.url, n + 1)
        } else {
            "null".to_owned()
        };
        ok(format!(
            r#"{{"installations": [{{"id": {n}, "created_at": "2017-01-01T00:00:00Z", "settings": {{}}}}],
                "next_page": {next}, "count": 2}}"#
        ))
    };
    api.route(INSTALLATIONS, vec![page(1, true)]);
    api.route(&format!("{INSTALLATIONS}?page=2"), vec![page(2, false)]);
    api.run(&["apps", "--cutoff", CUTOFF]).run().code(0);
    // Fewer pages allowed than the list has.
    api.run(&["apps", "--cutoff", CUTOFF, "--max-pages", "1"])
        .run()
        .code(2)
        .stderr_has("stopped after 1 pages (--max-pages)");
    // A count larger than what the pages hold (the list changed while it was read).
    api.route(
        &format!("{INSTALLATIONS}?page=2"),
        vec![ok(
            r#"{"installations": [], "next_page": null, "previous_page": "x?page=1", "count": 2}"#,
        )],
    );
    api.run(&["apps", "--cutoff", CUTOFF])
        .run()
        .code(2)
        .stderr_has("the list's count is 2 but the pages given hold 1 installations");
    // A page larger than the bound.
    let big = format!(
        r#"{{"installations": [], "padding": "{}", "next_page": null}}"#,
        "x".repeat(1_100_000)
    );
    api.route(INSTALLATIONS, vec![ok(big)]);
    api.run(&["apps", "--cutoff", CUTOFF, "--max-page-mib", "1"])
        .run()
        .code(2)
        .stderr_has("the response is larger than the 1 MiB allowed for one page");
    // A server that does not answer in time: tried twice, then given up.
    let mut slow = page(1, false);
    slow.delay = Duration::from_secs(3);
    api.route(INSTALLATIONS, vec![slow]);
    let started = std::time::Instant::now();
    api.run(&["apps", "--cutoff", CUTOFF, "--timeout", "1"])
        .run()
        .code(2)
        .stderr_has("the request timed out")
        .stderr_has("2 time(s) in a row");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the mirror exists to be deserialised into
struct CredentialsReport {
    schema_version: u32,
    tool: serde_json::Value,
    policy: Policy,
    summary: CredentialsSummary,
    credentials: Vec<Token>,
    errors: Vec<serde_json::Value>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Policy {
    now: String,
    cutoff: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CredentialsSummary {
    tokens: usize,
    rotate: usize,
    not_affected: usize,
    inactive: usize,
    expired: usize,
    errors: usize,
    action_required: bool,
    complete: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Token {
    #[serde(rename = "type", default)]
    line: Option<String>,
    source: serde_json::Value,
    kind: String,
    id: String,
    description: Option<String>,
    client_id: Option<String>,
    user_id: Option<String>,
    hint: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    active: Option<bool>,
    status: String,
    reasons: Vec<String>,
}

#[test]
fn credentials_json_ndjson_and_csv_shapes_are_locked() {
    let api = Api::start();
    api.route(
        "/api/v2/oauth/tokens.json?all=true",
        vec![ok(
            r#"{"tokens": [{"id": 1, "client_id": 2, "token": "****abcd", "created_at": "2015-01-01T00:00:00Z",
                "used_at": null, "expires_at": null}], "next_page": null, "count": 1}"#,
        )],
    );
    api.route(
        "/api/v2/api_tokens.json",
        vec![ok(
            r#"{"api_tokens": [{"id": 3, "description": "x", "active": true,
                "created_at": "2017-01-01T00:00:00Z"}], "next_page": null, "count": 1}"#,
        )],
    );
    let run = api
        .run(&["credentials", "--cutoff", CUTOFF, "--format", "json"])
        .run()
        .code(1);
    let r: CredentialsReport = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.credentials.len(), 2);
    assert_eq!(r.policy.now, NOW);
    assert!(r.credentials.iter().all(|t| t.line.is_none()));
    assert_eq!(r.credentials[0].reasons[1], "no use recorded");
    let run = api
        .run(&["credentials", "--cutoff", CUTOFF, "--format", "ndjson"])
        .run()
        .code(1);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines[..2] {
        assert_eq!(l["type"], "credential");
        let _: Token = serde_json::from_value(l.clone()).unwrap();
    }
    assert_eq!(lines[2]["type"], "summary");
    assert_eq!(lines[2]["rotate"], 1);
    let run = api
        .run(&["credentials", "--cutoff", CUTOFF, "--format", "csv"])
        .run()
        .code(1);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        "schema_version,path,index,kind,id,description,client_id,user_id,hint,created_at,last_used_at,expires_at,status,reasons"
    );
    assert_eq!(run.stdout.lines().count(), 3);
}

#[test]
fn fetched_pages_are_judged_one_at_a_time_in_bounded_memory() {
    let api = Api::start();
    // Six pages of 8 MiB (one installation listed over and over): each parses to about
    // 80 MiB, so holding them all until judged (as before) passed the 256 MiB data limit.
    let item = r#"{"id": 7, "app_id": 5, "product": "support", "enabled": true, "settings": {"name": "App", "title": "App", "api_key": "secret-value-0001"}, "settings_objects": [{"name": "api_key", "value": "secret-value-0001"}], "created_at": "2015-01-01T00:00:00Z", "updated_at": "2015-01-01T00:00:00Z"}"#;
    let items = vec![item; (8 << 20) / (item.len() + 1)].join(",");
    for n in 1..=6u32 {
        let next = if n < 6 {
            format!("\"{}{INSTALLATIONS}?page={}\"", api.url, n + 1)
        } else {
            "null".to_owned()
        };
        let path = if n == 1 {
            INSTALLATIONS.to_owned()
        } else {
            format!("{INSTALLATIONS}?page={n}")
        };
        api.route(
            &path,
            vec![ok(format!(
                r#"{{"installations": [{items}], "next_page": {next}}}"#
            ))],
        );
    }
    let run = api
        .run(&["apps", "--cutoff", CUTOFF, "--format", "json"])
        .data_limit_mib(256)
        .run()
        .code(1);
    assert_eq!(run.json()["summary"]["installations"], 1);
    assert_eq!(run.json()["summary"]["complete"], true);
    assert_eq!(api.requests().len(), 6);
}
