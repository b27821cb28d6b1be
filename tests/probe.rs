//! `probe` against real servers on 127.0.0.1 port 0, started here: a rustls server choosing
//! fixture chains by SNI, `openssl s_server` for interop, and hostile servers. No traffic
//! leaves loopback.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;

use crate::harness::*;
use crate::tls::{self, provider};

/// Fast limits: every hostile case must end within these.
const LIMITS: [&str; 4] = ["--timeout", "2", "--connect-timeout", "1"];

fn certs(rel: &str) -> Vec<CertificateDer<'static>> {
    tls::pem_certs(&fixture(rel))
}

/// A leaf file's certificate(s) plus the Issuing CA, with the key from `key_file`.
fn certified(cert_file: &str, key_file: &str) -> Arc<CertifiedKey> {
    tls::certified_pem(&fixture(cert_file), &fixture(key_file))
}

/// Chooses the chain by SNI; anything else gets the default.
#[derive(Debug)]
struct BySni {
    names: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            hello
                .server_name()
                .and_then(|n| self.names.get(n))
                .unwrap_or(&self.default)
                .clone(),
        )
    }
}

/// The demo uploads, served by name: shop (exposed), fresh (not affected), old (expired,
/// exposed key), new (key-reused: old's key); the default, fresh, for every other name.
fn demo_resolver() -> Arc<BySni> {
    let mut names = HashMap::new();
    let s = "demo/uploads/";
    for (name, cert, key) in [
        ("shop.example.com", "shop.pem", "shop.pem"),
        ("fresh.example.com", "fresh.pem", "fresh.pem"),
        ("old.example.com", "old.pem", "old.pem"),
        ("new.example.com", "new-same-key.pem", "old.pem"),
    ] {
        names.insert(
            name.to_owned(),
            certified(&format!("{s}{cert}"), &format!("{s}{key}")),
        );
    }
    Arc::new(BySni {
        names,
        default: certified("demo/uploads/fresh.pem", "demo/uploads/fresh.pem"),
    })
}

/// A rustls server on `bind` (port 0) for the life of the test process.
fn rustls_server(bind: &str, client_auth: bool) -> Option<SocketAddr> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .unwrap();
    let builder = if client_auth {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(certs("ca/root-ca.pem"));
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        builder.with_client_cert_verifier(v)
    } else {
        builder.with_no_client_auth()
    };
    let config = Arc::new(builder.with_cert_resolver(demo_resolver()));
    let listener = TcpListener::bind(bind).ok()?;
    Some(tls::serve(listener, config))
}

/// A TCP server that does `each` with every connection it accepts.
fn hostile(each: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            thread::spawn(move || each(sock));
        }
    });
    addr
}

fn silent(sock: TcpStream) {
    thread::sleep(Duration::from_secs(30));
    drop(sock);
}

fn garbage(mut sock: TcpStream) {
    let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    thread::sleep(Duration::from_secs(5));
}

fn close_at_once(sock: TcpStream) {
    drop(sock);
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server`, killed on drop.
struct OpenSsl {
    child: Child,
    port: u16,
}

impl OpenSsl {
    fn start(extra: &[&str]) -> OpenSsl {
        for _ in 0..5 {
            let port = closed_port();
            let mut child = Command::new("openssl")
                .current_dir(root().join("fixtures"))
                .args(["s_server", "-quiet", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed (.ci/run installs it)");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if child.try_wait().unwrap().is_some() {
                    break; // lost the port race: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return OpenSsl { child, port };
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for OpenSsl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn probe(args: &[&str]) -> Run {
    Test::new().arg("probe").args(args.iter().copied()).run()
}

fn inventory() -> [&'static str; 6] {
    [
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
        "--roots",
        "fixtures/ca/root-ca.pem",
    ]
}

#[test]
fn judges_what_each_name_serves_against_the_inventory() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let dir = temp();
    let list = format!(
        "# name-based virtual hosts on one port\n{addr} shop.example.com\n{addr} fresh.example.com\n\n{addr} old.example.com\n{addr} new.example.com\n{addr} wrong.example.com\n"
    );
    let file = write(dir.path(), "targets.txt", list);
    let run = Test::new()
        .args(["probe", "--format", "json", "--targets"])
        .arg(&file)
        .args(inventory())
        .args(LIMITS)
        .run()
        .code(1);
    let r = run.json();
    let t = r["targets"].as_array().unwrap();
    let got: Vec<(&str, &str, bool)> = t
        .iter()
        .map(|x| {
            (
                x["target"]["sni"].as_str().unwrap(),
                x["status"].as_str().unwrap(),
                x["verified"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("shop.example.com", "serving-exposed", true),
            ("fresh.example.com", "serving-replaced", true),
            ("old.example.com", "serving-exposed", false),
            ("new.example.com", "serving-exposed", true),
            ("wrong.example.com", "serving-replaced", false),
        ]
    );
    assert_eq!(t[0]["leaf_status"], "exposed");
    assert_eq!(t[0]["leaf_source"]["manifest_id"], "shop");
    assert_eq!(t[0]["chain"].as_array().unwrap().len(), 2);
    assert_eq!(t[0]["chain"][0]["serial"], "1001");
    assert_eq!(t[0]["target"]["input_line"], 2);
    assert_eq!(t[1]["leaf_status"], "not-affected");
    assert_eq!(t[1]["key_exposed"], false);
    assert_eq!(t[2]["leaf_status"], "expired");
    assert!(t[2]["verify_error"]
        .as_str()
        .unwrap()
        .starts_with("expired"));
    assert_eq!(t[3]["leaf_status"], "key-reused");
    assert!(t[4]["verify_error"]
        .as_str()
        .unwrap()
        .starts_with("name mismatch"));
    assert_eq!(t[0]["tls_version"], "TLSv1.3");
    // rustls servers follow the client's order, and AES-128-GCM is offered first.
    assert_eq!(t[0]["cipher_suite"], "TLS13_AES_128_GCM_SHA256");
    let s = &r["summary"];
    assert_eq!(
        (s["targets"].as_u64(), s["serving_exposed"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(s["action_required"], true);
    assert_eq!(r["policy"]["cutoff"], "2016-11-01T00:00:00Z");
}

#[test]
fn one_chain_served_under_many_names_is_judged_for_each_name() {
    // fresh.example.com and every unknown name get the same chain; a run verifies a chain
    // once per name, and one at a time makes the reuse certain.
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let dir = temp();
    let names = [
        "fresh.example.com",
        "wrong.example.com",
        "fresh.example.com",
        "other.example.com",
        "wrong.example.com",
    ];
    let list: String = names.iter().map(|n| format!("{addr} {n}\n")).collect();
    let file = write(dir.path(), "targets.txt", list);
    let run = Test::new()
        .args(["probe", "--format", "ndjson", "--concurrency", "1"])
        .args(["--roots", "fixtures/ca/root-ca.pem", "--targets"])
        .arg(&file)
        .args(LIMITS)
        .run()
        .code(0);
    let got: Vec<(String, bool)> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["type"] == "target")
        .map(|l| {
            assert_eq!(l["chain"][0]["subject"], "CN=fresh.example.com");
            (
                l["target"]["sni"].as_str().unwrap().to_owned(),
                l["verified"].as_bool().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, bool)> = names
        .iter()
        .map(|n| (n.to_string(), *n == "fresh.example.com"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn without_an_inventory_reports_what_is_served_and_verification() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let target = addr.to_string();
    // The demo root is not in the system store: the chain does not verify, exit 0.
    let r = probe(&[&target, "--sni", "shop.example.com", "--format", "json"])
        .code(0)
        .json();
    let t = &r["targets"][0];
    assert_eq!(t["status"], "ok");
    assert_eq!(t["verified"], false);
    assert!(t["verify_error"]
        .as_str()
        .unwrap()
        .starts_with("unknown issuer"));
    assert_eq!(t["key_exposed"], serde_json::Value::Null);
    // --roots replaces the system store.
    probe(&[
        &target,
        "--sni",
        "shop.example.com",
        "--roots",
        "fixtures/ca/root-ca.pem",
    ])
    .code(0)
    .stdout_has("ok      ")
    .stdout_has("TLSv1.3  yes       CN=shop.example.com  2099-12-31")
    .stdout_has("1 ok; 1 verified, 0 not verified");
    // Roots from a DER PKCS#7 bundle work the same (the shared loader reads it).
    probe(&[
        &target,
        "--sni",
        "shop.example.com",
        "--roots",
        "fixtures/formats/bundle.p7c",
    ])
    .code(0)
    .stdout_has("1 ok; 1 verified, 0 not verified");
    probe(&[&target, "--roots", "fixtures/broken/text.txt"])
        .code(2)
        .stderr_has("--roots fixtures/broken/text.txt: no certificate found");
}

#[test]
fn an_ip_target_sends_no_sni_and_is_verified_for_the_ip() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let r = probe(&[
        &addr.to_string(),
        "--roots",
        "fixtures/ca/root-ca.pem",
        "--format",
        "json",
    ])
    .code(0)
    .json();
    let t = &r["targets"][0];
    assert_eq!(t["target"]["sni"], serde_json::Value::Null);
    // No SNI: the server's default (fresh), which has no IP address SAN.
    assert_eq!(t["chain"][0]["subject"], "CN=fresh.example.com");
    assert!(t["verify_error"]
        .as_str()
        .unwrap()
        .contains("name mismatch"));
}

#[test]
fn ipv6_literal_with_port() {
    let Some(addr) = rustls_server("[::1]:0", false) else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let target = format!("[::1]:{}", addr.port());
    let r = probe(&[&target, "--sni", "shop.example.com", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(r["targets"][0]["address"], target);
    assert_eq!(r["targets"][0]["tls_version"], "TLSv1.3");
}

#[test]
fn openssl_interop_tls12_rsa_and_tls13_ecdsa() {
    let rsa = OpenSsl::start(&[
        "-tls1_2",
        "-cert",
        "demo/uploads/legacy.pem",
        "-key",
        "demo/uploads/legacy.pem",
        "-cert_chain",
        "ca/intermediate-ca.pem",
    ]);
    let ec = OpenSsl::start(&[
        "-tls1_3",
        "-cert",
        "demo/uploads/shop.pem",
        "-key",
        "demo/uploads/shop.pem",
        "-cert_chain",
        "ca/intermediate-ca.pem",
    ]);
    let rsa_t = format!("127.0.0.1:{}", rsa.port);
    let ec_t = format!("127.0.0.1:{}", ec.port);
    let mut args = vec![
        rsa_t.as_str(),
        ec_t.as_str(),
        "--sni",
        "legacy.example.com",
        "--format",
        "json",
    ];
    args.extend(LIMITS);
    args.extend(inventory());
    let r = probe(&args).code(1).json();
    let t = &r["targets"];
    assert_eq!(t[0]["tls_version"], "TLSv1.2");
    assert!(t[0]["cipher_suite"]
        .as_str()
        .unwrap()
        .starts_with("TLS_ECDHE_RSA_WITH_"));
    assert_eq!(t[0]["chain"][0]["key"]["algorithm"], "rsa");
    assert_eq!(t[0]["verified"], true);
    assert_eq!(t[0]["status"], "serving-exposed");
    assert_eq!(t[0]["leaf_status"], "exposed");
    assert_eq!(t[1]["tls_version"], "TLSv1.3");
    assert_eq!(t[1]["chain"][0]["key"]["curve"], "P-256");
    // s_server has one certificate: shop's, which is not valid for legacy.example.com.
    assert!(t[1]["verify_error"]
        .as_str()
        .unwrap()
        .starts_with("name mismatch"));
    assert_eq!(t[1]["status"], "serving-exposed");
}

#[test]
fn hostile_servers_fail_clearly_within_the_timeout_and_the_rest_is_probed() {
    let good = rustls_server("127.0.0.1:0", false).unwrap().to_string();
    let auth = rustls_server("127.0.0.1:0", true).unwrap().to_string();
    let silent = hostile(silent).to_string();
    let garbage = hostile(garbage).to_string();
    let closes = hostile(close_at_once).to_string();
    let refused = format!("127.0.0.1:{}", closed_port());
    let start = Instant::now();
    let run = probe(&[
        &silent,
        &garbage,
        &closes,
        &auth,
        "nonexistent.invalid",
        &refused,
        &good,
        "--sni",
        "shop.example.com",
        "--timeout",
        "2",
        "--connect-timeout",
        "1",
        "--format",
        "json",
    ])
    .code(2);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
    let r = run.json();
    let errors: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["error"].as_str().unwrap_or(""))
        .collect();
    let want = [
        "timed out after 2s waiting for the server's first TLS message",
        "is this a TLS port?",
        "the server closed the connection without a TLS response",
        "the server requires a client certificate",
        "cannot resolve nonexistent.invalid",
        "connection refused",
    ];
    for (got, want) in errors.iter().zip(want) {
        assert!(got.contains(want), "{got:?} lacks {want:?}");
    }
    let t = &r["targets"];
    assert_eq!(t[3]["client_certificate_requested"], true);
    assert_eq!(t[6]["status"], "ok");
    assert_eq!(t[6]["error"], serde_json::Value::Null);
    let s = &r["summary"];
    assert_eq!(
        (s["failed"].as_u64(), s["probed"].as_u64()),
        (Some(6), Some(1))
    );
    assert_eq!(s["complete"], false);
    // Each failure is also on stderr, naming the target.
    assert!(run.stderr.contains(&format!("certsweep: error: {refused}")));
}

#[test]
fn one_worker_carries_nothing_from_one_target_to_the_next() {
    // --concurrency 1: every target runs on the same worker, one after another.
    let good = rustls_server("127.0.0.1:0", false).unwrap().to_string();
    let auth = rustls_server("127.0.0.1:0", true).unwrap().to_string();
    let garbage = hostile(garbage).to_string();
    let mut args = vec![
        auth.as_str(),
        good.as_str(),
        garbage.as_str(),
        good.as_str(),
        "--sni",
        "shop.example.com",
        "--roots",
        "fixtures/ca/root-ca.pem",
        "--concurrency",
        "1",
        "--format",
        "json",
    ];
    args.extend(LIMITS);
    let r = probe(&args).code(2).json();
    let got: Vec<(bool, bool, usize, bool)> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["client_certificate_requested"].as_bool().unwrap(),
                t["verified"].as_bool().unwrap_or(false),
                t["chain"].as_array().map_or(0, Vec::len),
                t["error"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (true, true, 2, false),
            (false, true, 2, true),
            (false, false, 0, false),
            (false, true, 2, true),
        ]
    );
}

/// A long run at a terminal shows a counter on stderr; piped, it shows none.
#[cfg(target_os = "linux")]
#[test]
fn progress_at_a_terminal_only() {
    let good = rustls_server("127.0.0.1:0", false).unwrap();
    let refused = format!("127.0.0.1:{}", closed_port());
    let dir = temp();
    let mut list: String = (0..24)
        .map(|_| format!("{good} shop.example.com\n"))
        .collect();
    list.push_str(&format!("{refused}\n"));
    let file = write(dir.path(), "targets.txt", list);
    let command = format!(
        "{} probe --now {NOW} --targets {} --format ndjson -q",
        env!("CARGO_BIN_EXE_certsweep"),
        file.display()
    );
    // -q: nothing at all, not even the counter.
    let quiet = pty(&command);
    assert!(!quiet.contains("probed"), "{quiet}");
    let screen = pty(&command.replace(" -q", ""));
    assert!(
        screen.contains("certsweep: probed 25/25 targets, 1 failed"),
        "{screen}"
    );
    assert!(screen.contains("\rcertsweep: probed "), "{screen}");
    let piped = Test::new()
        .args(["probe", "--format", "ndjson", "--targets"])
        .arg(&file)
        .run()
        .code(2);
    assert!(!piped.stderr.contains("probed"), "{}", piped.stderr);
}

/// What `command` shows at a pseudo-terminal (util-linux `script`), stdout and stderr alike.
#[cfg(target_os = "linux")]
fn pty(command: &str) -> String {
    let out = Command::new("timeout")
        .args(["30", "script", "-qec", command, "/dev/null"])
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` (bsdutils) is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn failures_and_exposure_exit_2_incomplete_beats_findings() {
    let good = rustls_server("127.0.0.1:0", false).unwrap().to_string();
    let refused = format!("127.0.0.1:{}", closed_port());
    let mut args = vec![good.as_str(), refused.as_str(), "--sni", "shop.example.com"];
    args.extend(inventory());
    args.extend(LIMITS);
    probe(&args)
        .code(2)
        .stdout_has("serving-exposed")
        .stdout_has("INCOMPLETE: 1 target(s) failed");
}

#[test]
fn results_keep_input_order_under_concurrency() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let silent = hostile(silent);
    let dir = temp();
    // Slow (silent) targets first: fast ones finish earlier but must not move up.
    let mut csv = String::from("host,port,sni\n");
    for i in 0..12 {
        let a = if i % 4 == 0 { silent } else { addr };
        csv.push_str(&format!("{},{},shop.example.com\n", a.ip(), a.port()));
    }
    let file = write(dir.path(), "t.csv", csv);
    let run = Test::new()
        .args([
            "probe",
            "--format",
            "ndjson",
            "--concurrency",
            "4",
            "--timeout",
            "1",
            "--targets",
        ])
        .arg(&file)
        .run()
        .code(2);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 13);
    for (i, l) in lines[..12].iter().enumerate() {
        assert_eq!(l["type"], "target");
        assert_eq!(l["target"]["input_line"], i + 2);
        let want = if i % 4 == 0 { "error" } else { "ok" };
        assert_eq!(l["status"], want, "line {i}");
    }
    assert_eq!(lines[12]["type"], "summary");
    assert_eq!(lines[12]["failed"], 3);
}

#[test]
fn csv_output_has_one_row_per_target() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap().to_string();
    let mut args = vec![
        addr.as_str(),
        "--sni",
        "fresh.example.com",
        "--format",
        "csv",
    ];
    args.extend(inventory());
    let run = probe(&args).code(0);
    let mut rd = csv::Reader::from_reader(run.stdout.as_bytes());
    let headers = rd.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| &rows[0][headers.iter().position(|h| h == name).unwrap()];
    assert_eq!(col("schema_version"), "1");
    assert_eq!(col("status"), "serving-replaced");
    assert_eq!(col("leaf_subject"), "CN=fresh.example.com");
    assert_eq!(col("leaf_status"), "not-affected");
    assert_eq!(col("verified"), "true");
}

#[test]
fn usage_errors() {
    probe(&["host:0"]).code(2).stderr_has("invalid port '0'");
    probe(&[]).code(2).stderr_has("nothing to probe");
    probe(&["127.0.0.1:1", "--manifest", "fixtures/demo/manifest.json"])
        .code(2)
        .stderr_has("needs --cutoff");
    probe(&["127.0.0.1:1", "--timeout", "0"])
        .code(2)
        .stderr_has("--timeout");
    probe(&["127.0.0.1:1", "--roots", "fixtures/broken/text.txt"])
        .code(2)
        .stderr_has("--roots fixtures/broken/text.txt");
}

#[test]
fn a_bad_targets_line_is_an_error_record_and_the_rest_runs() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let dir = temp();
    let file = write(
        dir.path(),
        "t.txt",
        format!("{addr} shop.example.com\nnot:a:port:x\n"),
    );
    let run = Test::new()
        .args(["probe", "--format", "json", "--targets"])
        .arg(&file)
        .run()
        .code(2)
        .stderr_has("line 2");
    let r = run.json();
    assert_eq!(r["targets"].as_array().unwrap().len(), 1);
    assert_eq!(r["targets"][0]["status"], "ok");
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("line 2"));
}

#[test]
fn a_server_requiring_a_client_certificate_is_judged_from_the_chain_it_sent() {
    // TLS 1.3 (rustls: the refusal comes after the handshake) and TLS 1.2 (openssl
    // -Verify 1: the handshake itself fails), both serving shop's exposed certificate.
    let tls13 = rustls_server("127.0.0.1:0", true).unwrap().to_string();
    let tls12 = OpenSsl::start(&[
        "-tls1_2",
        "-Verify",
        "1",
        "-cert",
        "demo/uploads/shop.pem",
        "-key",
        "demo/uploads/shop.pem",
        "-cert_chain",
        "ca/intermediate-ca.pem",
    ]);
    let tls12 = format!("127.0.0.1:{}", tls12.port);
    let mut args = vec![
        tls13.as_str(),
        tls12.as_str(),
        "--sni",
        "shop.example.com",
        "--format",
        "json",
    ];
    args.extend(inventory());
    args.extend(LIMITS);
    let run = probe(&args).code(1);
    let r = run.json();
    for (t, version) in r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["TLSv1.3", "TLSv1.2"])
    {
        assert_eq!(t["status"], "serving-exposed", "{t}");
        assert_eq!(t["tls_version"], version);
        assert_eq!(t["client_certificate_requested"], true);
        assert_eq!(t["leaf_status"], "exposed");
        assert_eq!(t["chain"][0]["subject"], "CN=shop.example.com");
        // The failed handshake stays visible.
        assert!(
            t["error"]
                .as_str()
                .unwrap()
                .contains("the server requires a client certificate"),
            "{t}"
        );
    }
    assert_eq!(r["summary"]["serving_exposed"], 2);
    assert_eq!(r["summary"]["failed"], 0);
    assert!(
        run.stderr.contains(&format!(
            "certsweep: warning: {tls12} (SNI shop.example.com): the server requires"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("judged serving-exposed"));
}

/// A leaf for `name` valid `from`..`until`, and the key; self-signed or by the fixture
/// intermediate (then served with it).
fn made_leaf(name: &str, from: &str, until: &str, by_fixture_ca: bool) -> Arc<CertifiedKey> {
    use rustls::pki_types::PrivateKeyDer;
    let date = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.not_before = date(from);
    params.not_after = date(until);
    let mut chain = Vec::new();
    if by_fixture_ca {
        let ca_key = rcgen::KeyPair::from_pem(
            &String::from_utf8(fixture("ca/intermediate-ca.key.pem")).unwrap(),
        )
        .unwrap();
        let ca_pem = String::from_utf8(fixture("ca/intermediate-ca.pem")).unwrap();
        let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
        chain.push(params.signed_by(&key, &issuer).unwrap().der().clone());
        chain.extend(certs("ca/intermediate-ca.pem"));
    } else {
        chain.push(params.self_signed(&key).unwrap().der().clone());
    }
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Arc::new(CertifiedKey::from_der(chain, key, &provider()).unwrap())
}

#[test]
fn an_unexpected_or_expired_certificate_is_a_finding_and_strict_adds_verify_failures() {
    // Neither certificate is in the inventory; the expired one chains to the fixture root.
    let mut names = HashMap::new();
    names.insert(
        "stranger.example.com".to_owned(),
        made_leaf(
            "stranger.example.com",
            "2025-01-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            false,
        ),
    );
    names.insert(
        "lapsed.example.com".to_owned(),
        made_leaf(
            "lapsed.example.com",
            "2024-01-01T00:00:00Z",
            "2026-11-23T23:59:59Z",
            true,
        ),
    );
    let resolver = Arc::new(BySni {
        names,
        default: demo_resolver().default.clone(),
    });
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    let strangers = tls::serve(TcpListener::bind("127.0.0.1:0").unwrap(), Arc::new(config));
    let demo = rustls_server("127.0.0.1:0", false).unwrap();
    let dir = temp();
    let list = format!(
        "{strangers} stranger.example.com\n{strangers} lapsed.example.com\n{demo} fresh.example.com\n{demo} wrong.example.com\n"
    );
    let file = write(dir.path(), "targets.txt", list);
    let run_with = |strict: bool, code: i32| {
        let mut t = Test::new()
            .args(["probe", "--format", "json", "--targets"])
            .arg(&file)
            .args(inventory())
            .args(LIMITS);
        if strict {
            t = t.arg("--strict");
        }
        t.run().code(code).json()
    };
    let statuses = |r: &serde_json::Value| -> Vec<String> {
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = run_with(false, 1);
    assert_eq!(
        statuses(&r),
        [
            "unexpected-certificate",
            "expired",
            "serving-replaced",
            // In the inventory (fresh's certificate), not valid for this name: only --strict.
            "serving-replaced",
        ]
    );
    let t = &r["targets"];
    assert!(t[0]["reasons"].as_array().unwrap().iter().any(|x| x
        .as_str()
        .unwrap()
        .contains("not in the inventory and does not verify")));
    assert!(t[1]["reasons"].as_array().unwrap().iter().any(|x| x
        .as_str()
        .unwrap()
        .contains("expired at 2026-11-23T23:59:59Z")));
    let s = &r["summary"];
    assert_eq!(
        (
            s["unexpected_certificate"].as_u64(),
            s["expired"].as_u64(),
            s["serving_replaced"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(s["action_required"], true);

    let r = run_with(true, 1);
    assert_eq!(
        statuses(&r),
        [
            "unexpected-certificate",
            "expired",
            "serving-replaced",
            "verify-failed"
        ]
    );
    assert_eq!(r["summary"]["verify_failed"], 1);

    // The table says why and what to do.
    Test::new()
        .args(["probe", "--targets"])
        .arg(&file)
        .args(inventory())
        .args(LIMITS)
        .run()
        .code(1)
        .stdout_has("1 expired, 1 unexpected-certificate, 2 serving-replaced")
        .stdout_has("Next: 2 endpoint(s) serve a certificate that is expired, unexpected");
}

#[test]
fn https_url_targets_in_argv_and_in_a_targets_file() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap();
    let url = format!("https://{addr}/login?next=/x");
    let dir = temp();
    let file = write(
        dir.path(),
        "targets.txt",
        format!("https://{addr}/x shop.example.com\n"),
    );
    let r = Test::new()
        .args(["probe", &url, "--sni", "fresh.example.com", "--targets"])
        .arg(&file)
        .args(["--roots", "fixtures/ca/root-ca.pem", "--format", "json"])
        .args(LIMITS)
        .run()
        .code(0)
        .json();
    let t = r["targets"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    for x in t {
        assert_eq!(x["status"], "ok");
        assert_eq!(x["address"], addr.to_string());
        assert_eq!(x["target"]["port"], addr.port());
        assert_eq!(x["verified"], true);
    }
    // --sni applies to the argv URL; the file line gives its own.
    assert_eq!(t[0]["chain"][0]["subject"], "CN=fresh.example.com");
    assert_eq!(t[1]["chain"][0]["subject"], "CN=shop.example.com");
    // Port 443 unless given; other schemes are refused.
    let r = probe(&[
        "https://127.0.0.1/",
        "--connect-timeout",
        "0.2",
        "--format",
        "json",
    ])
    .code(2)
    .json();
    assert_eq!(r["targets"][0]["target"]["port"], 443);
    probe(&["http://127.0.0.1/"])
        .code(2)
        .stderr_has("only https:// URLs can be probed");
}

// --- The JSON shape of `probe`, schema_version 1 (mirrors that reject unknown fields). ---

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema_version: u32,
    tool: Tool,
    policy: Policy,
    summary: Summary,
    targets: Vec<TargetRec>,
    errors: Vec<ErrorRec>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    now: String,
    cutoff: Option<String>,
    unknown_upload: Option<String>,
    connect_timeout_ms: u64,
    timeout_ms: u64,
    trust: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    targets: usize,
    probed: usize,
    failed: usize,
    serving_exposed: usize,
    expired: usize,
    revoked: usize,
    unexpected_certificate: usize,
    legacy_tls: usize,
    verify_failed: usize,
    serving_replaced: usize,
    ok: usize,
    verified: usize,
    not_verified: usize,
    errors: usize,
    revocation_errors: usize,
    action_required: bool,
    complete: bool,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetRec {
    target: Target,
    address: Option<String>,
    status: String,
    error: Option<String>,
    tls_version: Option<String>,
    cipher_suite: Option<String>,
    legacy_tls: bool,
    verified: bool,
    verify_error: Option<String>,
    client_certificate_requested: bool,
    chain: Vec<ChainRec>,
    revocation: Option<serde_json::Value>,
    leaf_status: Option<String>,
    leaf_source: Option<LeafSource>,
    key_exposed: Option<bool>,
    reasons: Vec<String>,
    elapsed_ms: u64,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    host: String,
    port: u16,
    sni: Option<String>,
    input_line: Option<usize>,
    starttls: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainRec {
    fingerprint_sha256: String,
    spki_sha256: String,
    serial: String,
    subject: String,
    issuer: String,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    not_before: String,
    not_after: String,
    days_left: i64,
    key: Key,
    signature_algorithm: String,
    is_ca: bool,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    algorithm: String,
    bits: Option<u32>,
    curve: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeafSource {
    path: String,
    index: usize,
    manifest_id: Option<String>,
    host: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorRec {
    path: String,
    index: Option<usize>,
    kind: String,
    reason: String,
}

#[test]
fn json_shape_is_locked() {
    let addr = rustls_server("127.0.0.1:0", false).unwrap().to_string();
    let refused = format!("127.0.0.1:{}", closed_port());
    let mut args = vec![
        addr.as_str(),
        refused.as_str(),
        "--sni",
        "shop.example.com",
        "--format",
        "json",
    ];
    args.extend(inventory());
    args.extend(LIMITS);
    let run = probe(&args).code(2);
    let r: Report = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.targets.len(), 2);
    assert!(r.targets[0].leaf_source.is_some());
    assert_eq!(r.targets[0].chain.len(), 2);
}
