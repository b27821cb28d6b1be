//! `certsweep rotate`: the walk with real parts — fixture inventory, CSRs signed by the
//! fixture CA (rcgen), CRLs, refusals, a corrupt plan, crashes and concurrent runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    CertificateRevocationListParams, CertificateSigningRequestParams, Issuer, KeyIdMethod, KeyPair,
    RevocationReason, RevokedCertParams, SerialNumber,
};

use crate::harness::*;

struct Walk {
    dir: tempfile::TempDir,
}

impl Walk {
    fn state(&self) -> PathBuf {
        self.dir.path().join("plan.json")
    }

    fn run(&self, args: &[&str]) -> Run {
        Test::new()
            .args(["rotate", "--state", self.state().to_str().unwrap()])
            .args(args.iter().copied())
            .env("USER", "alice")
            .run()
    }

    fn plan(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.state()).unwrap()).unwrap()
    }

    fn item(&self, host: &str) -> serde_json::Value {
        self.plan()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["host"] == host)
            .cloned()
            .unwrap_or_else(|| panic!("no item for {host}"))
    }

    fn id(&self, host: &str) -> String {
        self.item(host)["id"].as_str().unwrap().to_owned()
    }

    /// `rotate revoked` for `host`'s item with a CRL from the fixture Issuing CA that lists
    /// its old serial (and `extra` arguments).
    fn revoke_with_good_crl(&self, host: &str, extra: &[&str]) -> Run {
        let id = self.id(host);
        let serial = self.item(host)["old"]["serial"]
            .as_str()
            .unwrap()
            .to_owned();
        let good = self.dir.path().join("good.crl");
        crl(&intermediate(), &serial, &good);
        let mut args = vec!["revoked", id.as_str(), "--crl", good.to_str().unwrap()];
        args.extend(["--issuer", "fixtures/ca/intermediate-ca.pem"]);
        args.extend(extra);
        self.run(&args)
    }
}

/// A plan with one item: shop, uploaded 2016-05-10.
fn one_item_walk() -> Walk {
    let w = Walk { dir: temp() };
    let one = write(
        w.dir.path(),
        "one.json",
        format!(
            r#"[{{"id": "shop", "file": "{}", "uploaded_at": "2016-05-10", "host": "shop.example.com"}}]"#,
            root().join("fixtures/demo/uploads/shop.pem").display()
        ),
    );
    w.run(&[
        "init",
        "--manifest",
        one.to_str().unwrap(),
        "--cutoff",
        CUTOFF,
    ])
    .code(0)
    .stdout_has("1 new item(s)");
    w
}

/// A plan from the demo inventory (8 items).
fn walk() -> Walk {
    let w = Walk { dir: temp() };
    w.run(&[
        "init",
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
        "--crl",
        "fixtures/demo/revocations.crl",
    ])
    .code(0)
    .stdout_has("8 new item(s)");
    w
}

fn intermediate() -> Issuer<'static, KeyPair> {
    let key = KeyPair::from_pem(&String::from_utf8(fixture("ca/intermediate-ca.key.pem")).unwrap())
        .unwrap();
    Issuer::from_ca_cert_pem(
        &String::from_utf8(fixture("ca/intermediate-ca.pem")).unwrap(),
        key,
    )
    .unwrap()
}

fn other_ca() -> Issuer<'static, KeyPair> {
    let key =
        KeyPair::from_pem(&String::from_utf8(fixture("ca/other-ca.key.pem")).unwrap()).unwrap();
    Issuer::from_ca_cert_pem(&String::from_utf8(fixture("ca/other-ca.pem")).unwrap(), key).unwrap()
}

fn date(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Signs a CSR file with the fixture intermediate: valid 2026-01-01 → 2028-01-01 (around
/// the tests' --now), SANs as in the CSR unless `drop` names one to leave out.
fn sign(csr: &Path, out: &Path, drop: Option<&str>) {
    let mut params =
        CertificateSigningRequestParams::from_pem(&std::fs::read_to_string(csr).unwrap()).unwrap();
    params.params.not_before = date("2026-01-01T00:00:00Z");
    params.params.not_after = date("2028-01-01T00:00:00Z");
    params.params.serial_number = Some(SerialNumber::from(0x7001u64));
    if let Some(d) = drop {
        params
            .params
            .subject_alt_names
            .retain(|s| !matches!(s, rcgen::SanType::DnsName(n) if n.as_str() == d));
    }
    let cert = params.signed_by(&intermediate()).unwrap();
    std::fs::write(out, cert.pem()).unwrap();
}

/// A CRL by `issuer` listing `serial_hex`.
fn crl(issuer: &Issuer<'_, KeyPair>, serial_hex: &str, out: &Path) {
    let params = CertificateRevocationListParams {
        this_update: date("2026-11-01T00:00:00Z"),
        next_update: date("2027-11-01T00:00:00Z"),
        crl_number: SerialNumber::from(42u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&hex::decode(serial_hex).unwrap()),
            revocation_time: date("2026-11-02T00:00:00Z"),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    };
    std::fs::write(out, params.signed_by(issuer).unwrap().pem().unwrap()).unwrap();
}

/// Takes shop's item to `issued` and returns its id.
fn to_issued(w: &Walk) -> String {
    let id = w.id("shop.example.com");
    w.run(&["csr", &id])
        .code(0)
        .stdout_has("planned -> csr-generated");
    let csr = PathBuf::from(
        w.item("shop.example.com")["csr"]["csr_path"]
            .as_str()
            .unwrap(),
    );
    let issued = w.dir.path().join("issued.pem");
    sign(&csr, &issued, None);
    w.run(&[
        "import",
        &id,
        "--cert",
        issued.to_str().unwrap(),
        "--chain",
        "fixtures/ca/intermediate-ca.pem",
        "--roots",
        "fixtures/ca/root-ca.pem",
    ])
    .code(0)
    .stdout_has("csr-generated -> issued");
    id
}

#[test]
fn init_plans_every_certificate_to_replace_and_rerun_keeps_progress() {
    let w = one_item_walk();
    let id = w.id("shop.example.com");
    w.run(&["csr", &id]).code(0);
    w.run(&[
        "init",
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
        "--crl",
        "fixtures/demo/revocations.crl",
    ])
    .code(0)
    .stdout_has("7 new item(s), 1 already planned");
    let plan = w.plan();
    assert_eq!(plan["items"].as_array().unwrap().len(), 8);
    assert_eq!(
        w.item("shop.example.com")["step"],
        "csr-generated",
        "progress kept"
    );
    let new = w.item("new.example.com");
    assert_eq!(new["old"]["status"], "key-reused");
    assert!(new["old"]["pem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        !std::fs::read_to_string(w.state())
            .unwrap()
            .contains("PRIVATE KEY"),
        "no key material in the plan"
    );
    w.run(&[
        "init",
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        "2017-01-01",
        "--crl",
        "fixtures/demo/revocations.crl",
    ])
    .code(2)
    .stderr_has("was made with cutoff 2016-11-01T00:00:00Z");
}

#[test]
fn the_walk_up_to_revocation_with_refusals_on_the_way() {
    let w = walk();
    let id = w.id("shop.example.com");
    w.run(&["status"]).code(1).stdout_has("0 of 8 item(s) done");
    w.run(&["next"])
        .code(1)
        .stdout_has(&format!("certsweep rotate csr {id}"));

    // Import before a CSR; revoke before verification: refused, plan unchanged.
    let before = std::fs::read(w.state()).unwrap();
    w.run(&["import", &id, "--cert", "fixtures/demo/uploads/shop.pem"])
        .code(2)
        .stderr_has("rotate csr");
    w.run(&["revoked", &id])
        .code(2)
        .stderr_has("can take the site down");
    assert_eq!(
        std::fs::read(w.state()).unwrap(),
        before,
        "refusals change nothing"
    );

    let id = to_issued(&w);
    let item = w.item("shop.example.com");
    assert_eq!(item["issued"]["serial"], "7001");
    assert_eq!(item["csr"]["new_spki_sha256"].as_str().unwrap().len(), 64);
    assert_ne!(item["csr"]["new_spki_sha256"], item["old"]["spki_sha256"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = item["csr"]["key_path"].as_str().unwrap();
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    w.run(&["uploaded", &id])
        .code(0)
        .stdout_has("issued -> uploaded");
    w.run(&["uploaded", &id]).code(0).stdout_has("unchanged");
    w.run(&["revoked", &id]).code(2).stderr_has("only uploaded");
    w.run(&["next"]).code(1).stdout_has(&format!(
        "certsweep rotate verify {id} --endpoint shop.example.com:443"
    ));

    // Forced revocation is recorded with its reason and the actor.
    w.run(&["revoked", &id, "--force", "--reason", "CA deadline today"])
        .code(0)
        .stdout_has("uploaded -> revoked");
    let last = w.item("shop.example.com")["history"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last["actor"], "alice");
    assert!(last["detail"]
        .as_str()
        .unwrap()
        .contains("FORCED before verification: CA deadline today"));

    // Confirmation: a CRL from the wrong issuer, one without the serial, then the right one.
    let serial = w.item("shop.example.com")["old"]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = w.dir.path().join("wrong.crl");
    crl(&other_ca(), &serial, &wrong);
    w.run(&[
        "revoked",
        &id,
        "--crl",
        wrong.to_str().unwrap(),
        "--issuer",
        "fixtures/ca/other-ca.pem",
    ])
    .code(2)
    .stderr_has("not from the old certificate's issuer");
    w.run(&[
        "revoked",
        &id,
        "--crl",
        "fixtures/demo/revocations.crl",
        "--issuer",
        "fixtures/ca/intermediate-ca.pem",
    ])
    .code(2)
    .stderr_has(&format!("does not list the old serial {serial}"));
    let forged = w.dir.path().join("forged.crl");
    std::fs::copy(root().join("fixtures/broken/forged.crl"), &forged).unwrap();
    w.run(&[
        "revoked",
        &id,
        "--crl",
        forged.to_str().unwrap(),
        "--issuer",
        "fixtures/ca/intermediate-ca.pem",
    ])
    .code(2)
    .stderr_has("signature does not verify");
    w.revoke_with_good_crl("shop.example.com", &[])
        .code(0)
        .stdout_has("revoked -> done");
    let rev = &w.item("shop.example.com")["revocation"]["crl"];
    assert_eq!(rev["reason"], "keyCompromise");
    assert_eq!(rev["crl_number"], "42");
    w.run(&["status"]).code(1).stdout_has("1 of 8 item(s) done");
}

#[test]
fn next_after_a_forced_revocation_asks_for_the_crl() {
    let w = walk();
    let id = w.id("shop.example.com");
    w.run(&["revoked", &id, "--force", "--reason", "test"])
        .code(0);
    w.run(&["next", "--compromised-at", "2016-10-15"])
        .code(1)
        .stdout_has(&format!(
            "confirm with the issuer's CRL: certsweep rotate revoked {id}"
        ))
        .stdout_has("Never revoke an old certificate before its replacement is verified");
}

#[test]
fn import_refusals() {
    let w = walk();
    let id = w.id("shop.example.com");
    w.run(&["csr", &id]).code(0);
    let csr = PathBuf::from(
        w.item("shop.example.com")["csr"]["csr_path"]
            .as_str()
            .unwrap(),
    );
    let before = std::fs::read(w.state()).unwrap();
    let chain = [
        "--chain",
        "fixtures/ca/intermediate-ca.pem",
        "--roots",
        "fixtures/ca/root-ca.pem",
    ];

    // Renewed on the old key.
    w.run(&["import", &id, "--cert", "fixtures/demo/uploads/shop.pem"])
        .code(2)
        .stderr_has("uses the OLD (exposed) key");

    // Issued for another CSR (a different new key).
    let other_dir = w.dir.path().join("other");
    Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--out-dir",
            other_dir.to_str().unwrap(),
        ])
        .run()
        .code(0);
    let other = w.dir.path().join("other.pem");
    sign(&other_dir.join("shop.example.com.csr.pem"), &other, None);
    let mut args = vec!["import", id.as_str(), "--cert", other.to_str().unwrap()];
    args.extend(chain);
    w.run(&args)
        .code(2)
        .stderr_has("is not the key of this item's CSR");

    // Missing a name of the old certificate.
    let short = w.dir.path().join("short.pem");
    sign(&csr, &short, Some("www.shop.example.com"));
    let mut args = vec!["import", id.as_str(), "--cert", short.to_str().unwrap()];
    args.extend(chain);
    w.run(&args)
        .code(2)
        .stderr_has("does not cover DNS:www.shop.example.com");

    // Right key and names, but not trusted / not valid at --now.
    let good = w.dir.path().join("good.pem");
    sign(&csr, &good, None);
    w.run(&[
        "import",
        &id,
        "--cert",
        good.to_str().unwrap(),
        "--roots",
        "fixtures/ca/other-ca.pem",
    ])
    .code(2)
    .stderr_has("does not chain to a trusted root");
    Test::new()
        .without_now()
        .args([
            "rotate",
            "--state",
            w.state().to_str().unwrap(),
            "--now",
            "2025-06-01",
        ])
        .args(["import", id.as_str(), "--cert", good.to_str().unwrap()])
        .args(chain)
        .run()
        .code(2)
        .stderr_has("not valid yet");
    assert_eq!(
        std::fs::read(w.state()).unwrap(),
        before,
        "every refusal left the plan unchanged"
    );
}

#[test]
fn csr_all_and_no_clobber() {
    let w = walk();
    w.run(&["csr", "--all", "--key-type", "ed25519"]).code(0);
    let plan = w.plan();
    for item in plan["items"].as_array().unwrap() {
        assert_eq!(item["step"], "csr-generated");
        assert_eq!(item["csr"]["key_type"], "ed25519");
    }
    w.run(&["csr", "--all"])
        .code(0)
        .stdout_has("no item is waiting for a CSR");
}

#[test]
fn a_plan_that_cannot_be_trusted_is_refused_and_left_untouched() {
    let w = walk();
    let original = std::fs::read_to_string(w.state()).unwrap();
    let cases = [
        (
            "newer",
            original.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1),
            "newer certsweep",
        ),
        (
            "corrupt",
            original[..original.len() / 2].to_owned(),
            "not valid JSON",
        ),
        (
            "impossible",
            original.replacen("\"step\": \"planned\"", "\"step\": \"verified\"", 1),
            "impossible state",
        ),
        (
            "unknown step",
            original.replacen("\"step\": \"planned\"", "\"step\": \"teleported\"", 1),
            "unreadable",
        ),
    ];
    for (what, text, message) in cases {
        std::fs::write(w.state(), &text).unwrap();
        w.run(&["status"]).code(2).stderr_has(message);
        let id = w.id_unchecked();
        w.run(&["csr", &id]).code(2).stderr_has(message);
        assert_eq!(
            std::fs::read_to_string(w.state()).unwrap(),
            text,
            "{what}: untouched"
        );
    }
}

impl Walk {
    /// Any item id, read as text (works on a broken plan too).
    fn id_unchecked(&self) -> String {
        "shop".into()
    }
}

#[test]
fn all_done_exits_zero() {
    let w = one_item_walk();
    w.revoke_with_good_crl("shop.example.com", &["--force", "--reason", "drill"])
        .code(0)
        .stdout_has("planned -> done");
    w.run(&["status", "--format", "json"]).code(0);
    w.run(&["next"]).code(0).stdout_has("Every item is done");
}

/// `rotate walk` at a real terminal: util-linux `script` gives it a pseudo-terminal.
#[cfg(target_os = "linux")]
#[test]
fn walk_at_a_terminal_makes_a_csr_then_stops_on_q() {
    let w = walk();
    let command = format!(
        "{} rotate walk --state {} --now {NOW}",
        env!("CARGO_BIN_EXE_certsweep"),
        w.state().display()
    );
    // `timeout`: a walk that waits for input it will never get fails the test, not hangs it.
    let mut child = Command::new("timeout")
        .args(["30", "script", "-qec", &command, "/dev/null"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` (bsdutils) is installed");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"y\nq\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("Make a new key and CSR now?"), "{screen}");
    assert!(screen.contains("planned -> csr-generated"), "{screen}");
    assert!(
        screen.contains("Path of the issued certificate"),
        "{screen}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "stopped with work remaining: {screen}"
    );
    assert_eq!(w.item("shop.example.com")["step"], "csr-generated");
}

#[test]
fn walk_needs_a_terminal() {
    let w = walk();
    w.run(&["walk"]).code(2).stderr_has("needs a terminal");
}

#[test]
fn a_held_lock_times_out_clearly() {
    let w = walk();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(w.dir.path().join("plan.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let start = Instant::now();
    w.run(&["--lock-timeout", "1", "csr", "--all"])
        .code(2)
        .stderr_has("another certsweep holds the lock");
    assert!(start.elapsed() < Duration::from_secs(8));
    drop(lock);
    w.run(&["csr", "--all"]).code(0);
}

#[test]
fn two_commands_at_once_lose_nothing() {
    let w = walk();
    let a = w.id("shop.example.com");
    let b = w.id("mail.example.com");
    let spawn = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .current_dir(root())
            .env_clear()
            .args([
                "rotate",
                "--state",
                w.state().to_str().unwrap(),
                "--now",
                NOW,
                "csr",
                id,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    let (oa, ob) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    assert!(
        oa.status.success(),
        "{}",
        String::from_utf8_lossy(&oa.stderr)
    );
    assert!(
        ob.status.success(),
        "{}",
        String::from_utf8_lossy(&ob.stderr)
    );
    assert_eq!(w.item("shop.example.com")["step"], "csr-generated");
    assert_eq!(w.item("mail.example.com")["step"], "csr-generated");
}

#[cfg(unix)]
#[test]
fn sigkill_mid_write_never_tears_the_plan_or_loses_a_step() {
    let w = walk();
    let id = w.id("shop.example.com");
    w.run(&["csr", &id]).code(0);
    for i in 0..40u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .current_dir(root())
            .env_clear()
            .args([
                "rotate",
                "--state",
                w.state().to_str().unwrap(),
                "--now",
                NOW,
            ])
            .args([
                "init",
                "--manifest",
                "fixtures/demo/manifest.json",
                "--cutoff",
                CUTOFF,
                "--crl",
                "fixtures/demo/revocations.crl",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different moment each time, from right away to after the write.
        std::thread::sleep(Duration::from_micros((i * 7919) % 60_000));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let plan = w.plan(); // always parses
        assert_eq!(plan["items"].as_array().unwrap().len(), 8, "iteration {i}");
        assert_eq!(
            w.item("shop.example.com")["step"],
            "csr-generated",
            "iteration {i}: step kept"
        );
    }
    w.run(&["status"]).code(1);
}

/// A TLS server whose certificate the test can switch (the "upload" at the endpoint).
#[derive(Debug)]
struct Switchable(std::sync::Mutex<std::sync::Arc<rustls::sign::CertifiedKey>>);

impl rustls::server::ResolvesServerCert for Switchable {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.lock().unwrap().clone())
    }
}

fn switchable_server(
    first: std::sync::Arc<rustls::sign::CertifiedKey>,
) -> (std::sync::Arc<Switchable>, std::net::SocketAddr) {
    let resolver = std::sync::Arc::new(Switchable(std::sync::Mutex::new(first)));
    let config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = crate::tls::serve(listener, std::sync::Arc::new(config));
    (resolver, addr)
}

#[test]
fn the_whole_walk_with_a_live_endpoint_that_serves_old_then_new() {
    let w = walk();
    let id = to_issued(&w);
    let old = fixture("demo/uploads/shop.pem");
    let (server, addr) = switchable_server(crate::tls::certified_pem(&old, &old));
    let endpoint = addr.to_string();
    let ep = [
        "--endpoint",
        endpoint.as_str(),
        "--sni",
        "shop.example.com",
        "--timeout",
        "5",
    ];

    // Uploaded, but the endpoint still serves the old certificate: recorded, not verified.
    let mut args = vec!["uploaded", id.as_str()];
    args.extend(ep);
    w.run(&args)
        .code(2)
        .stdout_has("issued -> uploaded")
        .stderr_has("still serves a different certificate");
    assert_eq!(w.item("shop.example.com")["step"], "uploaded");
    w.run(&["revoked", &id])
        .code(2)
        .stderr_has("can take the site down");

    // The new certificate goes live; `verify` sees it.
    let item = w.item("shop.example.com");
    let issued = std::fs::read(item["issued"]["cert_path"].as_str().unwrap()).unwrap();
    let key = std::fs::read(item["csr"]["key_path"].as_str().unwrap()).unwrap();
    *server.0.lock().unwrap() = crate::tls::certified_pem(&issued, &key);
    let mut args = vec!["verify", id.as_str()];
    args.extend(ep);
    w.run(&args).code(0).stdout_has("uploaded -> verified");
    let v = &w.item("shop.example.com")["verification"];
    assert_eq!(
        v["served_fingerprint_sha256"],
        item["issued"]["fingerprint_sha256"]
    );
    assert_eq!(v["endpoint"], endpoint);

    // What to tell the CA, then the revocation confirmed by the old issuer's CRL.
    let serial = item["old"]["serial"].as_str().unwrap().to_owned();
    w.run(&["next"])
        .code(1)
        .stdout_has(&format!("serial {serial}"))
        .stdout_has("issuer CN=Certsweep Demo Issuing CA 1,O=Certsweep Demo,C=US")
        .stdout_has("reason keyCompromise (1)")
        .stdout_has("compromise date 2016-11-01T00:00:00Z");
    w.revoke_with_good_crl("shop.example.com", &[])
        .code(0)
        .stdout_has("verified -> done");
    let history: Vec<String> = w.item("shop.example.com")["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{}->{}",
                h["from"].as_str().unwrap(),
                h["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            "planned->csr-generated",
            "csr-generated->issued",
            "issued->uploaded",
            "uploaded->verified",
            "verified->done"
        ]
    );
}

#[test]
fn an_unreachable_endpoint_leaves_the_item_uploaded() {
    let w = walk();
    let id = to_issued(&w);
    w.run(&[
        "uploaded",
        &id,
        "--endpoint",
        "nonexistent.invalid:443",
        "--timeout",
        "2",
    ])
    .code(2)
    .stderr_has("could not check what it serves");
    assert_eq!(w.item("shop.example.com")["step"], "uploaded");
}
