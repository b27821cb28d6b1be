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

    /// A path stored in the plan (relative to the plan's folder), usable from here.
    fn file(&self, stored: &serde_json::Value) -> PathBuf {
        self.dir
            .path()
            .join(stored.as_str().expect("a stored path"))
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
    .code(1)
    .stdout_has("8 new item(s)")
    .stderr_has("1 certificate(s) issued before the cutoff have no upload date");
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
    let csr = w.file(&w.item("shop.example.com")["csr"]["csr_path"]);
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
    .code(1)
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
        let key = w.file(&item["csr"]["key_path"]);
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
    let csr = w.file(&w.item("shop.example.com")["csr"]["csr_path"]);
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
        "--roots",
        "fixtures/ca/root-ca.pem",
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
    let issued = std::fs::read(w.file(&item["issued"]["cert_path"])).unwrap();
    let key = std::fs::read(w.file(&item["csr"]["key_path"])).unwrap();
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

/// The new certificate alone, without the intermediate a client needs to build the chain.
fn leaf_only(cert_pem: &[u8], key_pem: &[u8]) -> std::sync::Arc<rustls::sign::CertifiedKey> {
    use rustls::pki_types::pem::PemObject;
    let chain = crate::tls::pem_certs(cert_pem);
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    std::sync::Arc::new(
        rustls::sign::CertifiedKey::from_der(chain, key, &crate::tls::provider()).unwrap(),
    )
}

/// Items 1 and 2 of issue 11: `verified` means clients accept the served chain for the name,
/// and a later failed check takes the item back to `uploaded`, so revocation is refused again.
#[test]
fn verified_needs_a_chain_clients_accept_and_a_failed_recheck_blocks_revocation() {
    let w = walk();
    let id = to_issued(&w);
    let item = w.item("shop.example.com");
    let issued = std::fs::read(w.file(&item["issued"]["cert_path"])).unwrap();
    let key = std::fs::read(w.file(&item["csr"]["key_path"])).unwrap();
    let (server, addr) = switchable_server(leaf_only(&issued, &key));
    let endpoint = addr.to_string();
    let with = |roots: &str, sni: &str| -> Vec<String> {
        let mut v: Vec<String> = ["--endpoint", &endpoint, "--sni", sni, "--timeout", "5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !roots.is_empty() {
            v.extend(["--roots".to_string(), roots.to_string()]);
        }
        v
    };
    let run = |cmd: &str, extra: Vec<String>| {
        let mut args = vec![cmd.to_string(), id.clone()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        w.run(&args)
    };

    // The new leaf, but no intermediate: clients cannot build the chain. Not verified.
    run(
        "uploaded",
        with("fixtures/ca/root-ca.pem", "shop.example.com"),
    )
    .code(2)
    .stdout_has("issued -> uploaded")
    .stderr_has("does not lead to a trusted root")
    .stderr_has("send the full chain")
    .stderr_has("the item stays uploaded");
    assert_eq!(w.item("shop.example.com")["step"], "uploaded");

    // The full chain, but the root is not in the system store (no --roots): not verified.
    *server.0.lock().unwrap() = crate::tls::certified_pem(&issued, &key);
    run("verify", with("", "shop.example.com"))
        .code(2)
        .stderr_has("does not lead to a trusted root");
    // The full chain for a name the certificate does not have: not verified.
    run(
        "verify",
        with("fixtures/ca/root-ca.pem", "other.example.com"),
    )
    .code(2)
    .stderr_has("not valid for other.example.com")
    .stderr_has("it names shop.example.com, www.shop.example.com");
    assert_eq!(w.item("shop.example.com")["step"], "uploaded");

    // The full chain, the name, and the root from a folder: verified.
    let roots = w.dir.path().join("roots");
    std::fs::create_dir(&roots).unwrap();
    std::fs::copy(
        root().join("fixtures/ca/root-ca.pem"),
        roots.join("root.pem"),
    )
    .unwrap();
    let roots = roots.to_str().unwrap().to_owned();
    run("verify", with(&roots, "shop.example.com"))
        .code(0)
        .stdout_has("uploaded -> verified");

    // The endpoint goes back to the old certificate: the re-check fails and the item is
    // uploaded again (in its history), so revocation is refused without --force.
    let old = fixture("demo/uploads/shop.pem");
    *server.0.lock().unwrap() = crate::tls::certified_pem(&old, &old);
    run("verify", with(&roots, "shop.example.com"))
        .code(2)
        .stdout_has("verified -> uploaded")
        .stderr_has("still serves a different certificate")
        .stderr_has("back to uploaded")
        .stderr_has(&format!(
            "certsweep rotate verify {id} --endpoint {endpoint}"
        ));
    let item = w.item("shop.example.com");
    assert_eq!(item["step"], "uploaded");
    assert!(item["verification"].is_null());
    let last = item["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["action"], &last["from"], &last["to"]),
        (&"verify".into(), &"verified".into(), &"uploaded".into())
    );
    assert!(last["detail"]
        .as_str()
        .unwrap()
        .contains("still serves a different certificate"));
    let before = std::fs::read(w.state()).unwrap();
    w.run(&["revoked", &id]).code(2).stderr_has("only uploaded");
    w.revoke_with_good_crl("shop.example.com", &[])
        .code(2)
        .stderr_has("only uploaded");
    assert_eq!(
        std::fs::read(w.state()).unwrap(),
        before,
        "refusals leave the plan untouched"
    );
}

/// Runs certsweep (with the tests' `--now`) in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .current_dir(cwd)
        .env_clear()
        .args(args)
        .args(["--now", NOW])
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Item 4: paths in the plan are relative to the plan's folder, shown usable from here.
#[test]
fn plan_paths_work_from_any_folder() {
    let dir = temp();
    let top = dir.path();
    std::fs::create_dir_all(top.join("sub")).unwrap();
    std::fs::create_dir_all(top.join("elsewhere")).unwrap();
    std::fs::create_dir_all(top.join("issued")).unwrap();
    let manifest = write(
        top,
        "one.json",
        format!(
            r#"[{{"id": "shop", "file": "{}", "uploaded_at": "2016-05-10", "host": "shop.example.com"}}]"#,
            root().join("fixtures/demo/uploads/shop.pem").display()
        ),
    );
    let rotate = |cwd: &Path, state: &str, rest: &[&str]| {
        let mut args = vec!["rotate", "--state", state];
        args.extend(rest);
        run_in(cwd, &args)
    };
    rotate(
        top,
        "sub/plan.json",
        &[
            "init",
            "--manifest",
            manifest.to_str().unwrap(),
            "--cutoff",
            CUTOFF,
        ],
    )
    .code(0);
    rotate(top, "sub/plan.json", &["csr", "shop"]).code(0);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(top.join("sub/plan.json")).unwrap()).unwrap();
    let csr = &plan["items"][0]["csr"];
    assert!(
        csr["csr_path"]
            .as_str()
            .unwrap()
            .starts_with("rotation-csrs/"),
        "{csr}"
    );

    // From another folder, `next` names the CSR as a path that exists from there.
    let elsewhere = top.join("elsewhere");
    let next = rotate(&elsewhere, "../sub/plan.json", &["next"]).code(1);
    let csr_shown = next
        .stdout
        .split("send ")
        .nth(1)
        .and_then(|t| t.split(" to your CA").next())
        .unwrap_or_else(|| panic!("no CSR path in:\n{}", next.stdout));
    assert!(elsewhere.join(csr_shown).is_file(), "{csr_shown}");

    // Import from the top folder; `next` from elsewhere shows the certificate and the key.
    sign(
        &elsewhere.join(csr_shown),
        &top.join("issued/new.pem"),
        None,
    );
    rotate(
        top,
        "sub/plan.json",
        &[
            "import",
            "shop",
            "--cert",
            "issued/new.pem",
            "--chain",
            root()
                .join("fixtures/ca/intermediate-ca.pem")
                .to_str()
                .unwrap(),
            "--roots",
            root().join("fixtures/ca/root-ca.pem").to_str().unwrap(),
        ],
    )
    .code(0);
    let next = rotate(&elsewhere, "../sub/plan.json", &["next"]).code(1);
    let line = next
        .stdout
        .lines()
        .find(|l| l.contains("upload "))
        .unwrap_or_else(|| panic!("no upload line in:\n{}", next.stdout));
    let words: Vec<&str> = line.split_whitespace().collect();
    let cert = words[words.iter().position(|w| *w == "upload").unwrap() + 1];
    let key = words[words.iter().position(|w| *w == "key").unwrap() + 1];
    assert!(elsewhere.join(cert).is_file(), "{line}");
    assert!(elsewhere.join(key).is_file(), "{line}");
}

/// Item 5: a unique prefix names an item; an ambiguous one is refused with the candidates.
#[test]
fn item_ids_by_unique_prefix() {
    let w = walk();
    let big = w.id("big.example.com");
    w.run(&["csr", "bi"])
        .code(0)
        .stdout_has(&format!("{big}: planned -> csr-generated"));

    let two = Walk { dir: temp() };
    let manifest = write(
        two.dir.path(),
        "two.json",
        format!(
            r#"[{{"id": "a", "file": "{}", "uploaded_at": "2016-05-10", "host": "big-shop.example.com"}},
               {{"id": "b", "file": "{}", "uploaded_at": "2016-05-10", "host": "big-mail.example.com"}}]"#,
            root().join("fixtures/demo/uploads/shop.pem").display(),
            root().join("fixtures/demo/uploads/mail.der").display()
        ),
    );
    two.run(&[
        "init",
        "--manifest",
        manifest.to_str().unwrap(),
        "--cutoff",
        CUTOFF,
    ])
    .code(0);
    let (shop, mail) = (
        two.id("big-shop.example.com"),
        two.id("big-mail.example.com"),
    );
    let before = std::fs::read(two.state()).unwrap();
    two.run(&["csr", "big"])
        .code(2)
        .stderr_has("'big' matches 2 items")
        .stderr_has(&shop)
        .stderr_has(&mail);
    assert_eq!(std::fs::read(two.state()).unwrap(), before);
    two.run(&["csr", "big-m"])
        .code(0)
        .stdout_has(&format!("{mail}: planned -> csr-generated"));
}

/// Item 6: certificates without an upload date are named, exit 1, never "0 new items".
#[test]
fn undated_certificates_are_named_not_silently_skipped() {
    let w = Walk { dir: temp() };
    let hint = "give their upload dates in a manifest (uploaded_at) or with --uploaded-at DATE, or treat them as exposed with --unknown-upload exposed";
    w.run(&["init", "fixtures/demo/uploads/shop.pem", "--cutoff", CUTOFF])
        .code(1)
        .stderr_has("1 certificate(s) issued before the cutoff have no upload date")
        .stderr_has("fixtures/demo/uploads/shop.pem#1 (CN=shop.example.com)")
        .stderr_has(hint)
        .stderr_has("no plan was written");
    assert!(!w.state().exists());
    w.run(&["csr", "--all"])
        .code(2)
        .stderr_has("no rotation plan");
    let out = w.dir.path().join("csrs");
    Test::new()
        .args(["csr", "fixtures/demo/uploads/shop.pem", "--cutoff", CUTOFF])
        .args(["--out-dir", out.to_str().unwrap()])
        .run()
        .code(1)
        .stderr_has("1 certificate(s) issued before the cutoff have no upload date")
        .stderr_has(hint);
    // With the date given, the certificate is planned.
    w.run(&[
        "init",
        "fixtures/demo/uploads/shop.pem",
        "--cutoff",
        CUTOFF,
        "--uploaded-at",
        "2016-05-10",
    ])
    .code(0)
    .stdout_has("1 new item(s)");
}

/// Signs `csr` with the fixture intermediate after `edit` changes the parameters.
fn sign_with(csr: &Path, out: &Path, edit: impl FnOnce(&mut rcgen::CertificateParams)) {
    let mut params =
        CertificateSigningRequestParams::from_pem(&std::fs::read_to_string(csr).unwrap()).unwrap();
    params.params.not_before = date("2026-01-01T00:00:00Z");
    params.params.not_after = date("2028-01-01T00:00:00Z");
    edit(&mut params.params);
    std::fs::write(out, params.signed_by(&intermediate()).unwrap().pem()).unwrap();
}

/// Item 7: path-validation failures are sentences with the real fix, not library dumps.
#[test]
fn import_explains_a_missing_server_auth_eku_and_a_ca_as_leaf() {
    let w = walk();
    let id = w.id("shop.example.com");
    w.run(&["csr", &id]).code(0);
    let csr = w.file(&w.item("shop.example.com")["csr"]["csr_path"]);
    let import = |cert: &Path| {
        w.run(&[
            "import",
            &id,
            "--cert",
            cert.to_str().unwrap(),
            "--chain",
            "fixtures/ca/intermediate-ca.pem",
            "--roots",
            "fixtures/ca/root-ca.pem",
        ])
    };
    let no_leak = |r: Run| {
        for leak in [
            "Eku",
            "Context",
            "Other(",
            "(UNIX)",
            "UnexpectedTag",
            "CaUsed",
        ] {
            assert!(!r.stderr.contains(leak), "{leak} in {}", r.stderr);
        }
    };

    let client_only = w.dir.path().join("client-only.pem");
    sign_with(&csr, &client_only, |p| {
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    });
    no_leak(
        import(&client_only)
            .code(2)
            .stderr_has("lacks serverAuth")
            .stderr_has("no --chain or --roots can fix that"),
    );

    let ca = w.dir.path().join("ca-as-leaf.pem");
    sign_with(&csr, &ca, |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    });
    no_leak(
        import(&ca)
            .code(2)
            .stderr_has("is a CA certificate (basicConstraints CA:TRUE), not a server certificate"),
    );

    // Not a certificate at all (a CSR's bytes as DER where a certificate belongs).
    let csr_der = w.dir.path().join("not-a-cert.der");
    let pem = std::fs::read_to_string(&csr).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    std::fs::write(
        &csr_der,
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    no_leak(import(&csr_der).code(2));

    assert_eq!(w.item("shop.example.com")["step"], "csr-generated");
}

/// `rotate walk` under a pseudo-terminal (util-linux `script`); `feed` writes the answers.
/// `now`: the `--now` to pin, or none (the walk reads the clock).
#[cfg(target_os = "linux")]
fn walk_at_terminal(
    w: &Walk,
    extra: &str,
    now: Option<&str>,
    feed: impl FnOnce(&mut std::process::ChildStdin),
) -> (String, Option<i32>) {
    let mut command = format!(
        "{} rotate walk --state {} {extra}",
        env!("CARGO_BIN_EXE_certsweep"),
        w.state().display()
    );
    if let Some(now) = now {
        command.push_str(&format!(" --now {now}"));
    }
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qec", &command, "/dev/null"])
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` (bsdutils) is installed");
    let mut stdin = child.stdin.take().unwrap();
    feed(&mut stdin);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        out.status.code(),
    )
}

/// Every long flag of `certsweep` and its `rotate` subcommands.
/// Checks the `certsweep rotate …` commands a walk's `screen` suggests: one starts with
/// `expected`, each parses, and every `--flag` on the screen is one a command takes.
fn check_suggestions(screen: &str, expected: &str) {
    use clap::Parser;
    let suggested: Vec<&str> = screen
        .lines()
        .filter_map(|l| l.find("certsweep rotate ").map(|at| &l[at..]))
        .map(|c| c.split('`').next().unwrap_or(c))
        .collect();
    assert!(
        suggested.iter().any(|c| c.starts_with(expected)),
        "{screen}"
    );
    for command in &suggested {
        certsweep::cli::Cli::try_parse_from(command.split_whitespace())
            .unwrap_or_else(|e| panic!("suggested `{command}` does not parse: {e}"));
    }
    let flags = known_flags();
    for word in screen.split(|c: char| c.is_whitespace() || c == '`' || c == ',') {
        if let Some(flag) = word.strip_prefix("--") {
            let flag = format!(
                "--{}",
                flag.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
            );
            assert!(
                flags.contains(&flag),
                "the walk names {flag}, which no command takes:\n{screen}"
            );
        }
    }
}

fn known_flags() -> std::collections::HashSet<String> {
    use clap::CommandFactory;
    fn collect(cmd: &clap::Command, out: &mut std::collections::HashSet<String>) {
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                out.insert(format!("--{l}"));
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut out = std::collections::HashSet::new();
    out.insert("--help".into());
    collect(&certsweep::cli::Cli::command(), &mut out);
    out
}

/// Item 3: `s` skips an item and the walk goes on; every command it suggests parses, and
/// every flag it names exists.
#[cfg(target_os = "linux")]
#[test]
fn walk_skips_items_and_suggests_only_what_parses() {
    use std::io::Write;
    let w = walk();
    let shop = w.id("shop.example.com");
    let legacy = w.id("legacy.example.com");
    w.run(&["csr", &shop]).code(0);
    let good = w.dir.path().join("good.pem");
    sign(
        &w.file(&w.item("shop.example.com")["csr"]["csr_path"]),
        &good,
        None,
    );
    // shop: the certificate without chain or roots (refused), then `s`; legacy: `q`.
    let answers = format!("{}\n\ns\nq\n", good.display());
    let (screen, code) = walk_at_terminal(&w, "", Some(NOW), |stdin| {
        stdin.write_all(answers.as_bytes()).unwrap()
    });
    assert!(
        screen.contains(&format!("{shop} (shop.example.com) is csr-generated")),
        "{screen}"
    );
    assert!(
        screen.contains("does not chain to a trusted root"),
        "{screen}"
    );
    assert!(screen.contains("Try again? [y/s/q]"), "{screen}");
    assert!(
        screen.contains(&format!("{legacy} (legacy.example.com) is planned")),
        "{screen}"
    );
    assert!(
        screen.contains("Stopped. To go on without the walk:"),
        "{screen}"
    );
    assert_eq!(code, Some(1), "{screen}");
    assert_eq!(w.item("shop.example.com")["step"], "csr-generated");
    assert_eq!(w.item("legacy.example.com")["step"], "planned");

    check_suggestions(&screen, &format!("certsweep rotate csr {legacy}"));

    // Skipping the only item left ends the walk with what remains (exit 1).
    let one = one_item_walk();
    let (screen, code) = walk_at_terminal(&one, "", Some(NOW), |stdin| {
        stdin.write_all(b"s\n").unwrap()
    });
    assert!(screen.contains("Skipped, still to do:"), "{screen}");
    assert_eq!(code, Some(1), "{screen}");
}

/// Item 3: the walk reads the clock at each step (no `--now` here; the test's certificate is
/// dated relative to the clock, not to any calendar date). A certificate that becomes valid
/// while the walk waits at a prompt is accepted.
#[cfg(target_os = "linux")]
#[test]
fn walk_reads_the_clock_at_each_step() {
    use std::io::Write;
    let w = one_item_walk();
    let id = w.id("shop.example.com");
    w.run(&["csr", &id]).code(0);
    let csr = w.file(&w.item("shop.example.com")["csr"]["csr_path"]);
    let starts = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let issued = w.dir.path().join("fresh.pem");
    let mut params =
        CertificateSigningRequestParams::from_pem(&std::fs::read_to_string(&csr).unwrap()).unwrap();
    params.params.not_before = starts;
    params.params.not_after = starts + time::Duration::days(90);
    std::fs::write(&issued, params.signed_by(&intermediate()).unwrap().pem()).unwrap();

    let answers = format!("{}\nfixtures/ca/intermediate-ca.pem\nq\n", issued.display());
    let (screen, _) = walk_at_terminal(&w, "--roots fixtures/ca/root-ca.pem", None, |stdin| {
        // The walk is at the first prompt well before the certificate's notBefore; the
        // answer comes after it.
        let wait = starts - time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
        std::thread::sleep(Duration::try_from(wait).unwrap_or_default());
        stdin.write_all(answers.as_bytes()).unwrap();
    });
    assert!(screen.contains("csr-generated -> issued"), "{screen}");
    assert_eq!(w.item("shop.example.com")["step"], "issued");
}

/// The walk at a csr-generated item with an ACME CA but no challenge option says how to
/// answer by hand (`--manual`, `--manual-dns01`), and when it stops it suggests the `issue`
/// command for that CA; with an order in progress it says how to resume it. Every command
/// it suggests parses and every flag it names exists.
#[cfg(target_os = "linux")]
#[test]
fn walk_names_manual_challenges_and_an_acme_order_in_progress() {
    use clap::Parser;
    use std::io::Write;
    let w = one_item_walk();
    let shop = w.id("shop.example.com");
    w.run(&["csr", &shop]).code(0);
    let issue =
        format!("certsweep rotate issue {shop} --acme-directory https://ca.example.test/dir ");
    let check = |screen: &str| check_suggestions(screen, &issue);
    let (screen, code) = walk_at_terminal(
        &w,
        "--acme-directory https://ca.example.test/dir",
        Some(NOW),
        |stdin| stdin.write_all(b"q\n").unwrap(),
    );
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("To get it from the ACME CA at https://ca.example.test/dir here, start the walk with --http01-webroot DIR, --http01-listen ADDR or --dns01-hook CMD; to answer the challenge by hand, stop (q) and run the `rotate issue` command printed then, with --manual (http-01) or --manual-dns01 (dns-01) in place of --http01-webroot DIR."),
        "{screen}"
    );
    check(&screen);
    // That command with --manual-dns01 in place of the webroot parses too.
    let issue = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("certsweep rotate issue "))
        .unwrap();
    let manual =
        format!("certsweep rotate issue {issue}").replace("--http01-webroot DIR", "--manual-dns01");
    certsweep::cli::Cli::try_parse_from(manual.split_whitespace())
        .unwrap_or_else(|e| panic!("`{manual}` does not parse: {e}"));

    crate::output::record_acme_order(
        &w.state(),
        &shop,
        "acme-account-ca.example.test.json",
        true,
        "2026-11-23T10:05:00Z",
    );
    let (screen, code) =
        walk_at_terminal(&w, "", Some(NOW), |stdin| stdin.write_all(b"q\n").unwrap());
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("an ACME order is in progress at https://ca.example.test/order/7 (finalize sent at 2026-11-23T10:05:00Z): run `certsweep rotate issue"),
        "{screen}"
    );
    check(&screen);
}
