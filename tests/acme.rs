//! `rotate issue` and `rotate revoke` against a real ACME server: Let's Encrypt's pebble,
//! started here on loopback ports with its own TLS certificate made at test time.
//!
//! Pebble signs with the real clock and does not backdate, so these tests pass `--now` = the
//! real time 30 s after each command starts (a time by which it has finished): the
//! certificates pebble issues during the command are valid then.
//!
//! Without the `pebble` binary the tests are skipped, unless `CERTSWEEP_REQUIRE_PEBBLE=1`
//! (set by `.ci/run`), which makes a missing pebble a failure.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::harness::*;

const NAME: &str = "shop.example.test";

/// A running pebble (killed on drop).
pub struct Pebble {
    child: Child,
    extra: Vec<Child>,
    pub dir: tempfile::TempDir,
    pub directory: String,
    mgmt: String,
    /// pebble-challtestsrv's management port, when challenges are really validated.
    pub challtest: Option<u16>,
    /// The CA of pebble's own TLS certificate (for --acme-roots).
    pub tls_ca: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in self
            .extra
            .iter_mut()
            .chain(std::iter::once(&mut self.child))
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "port {port} never answered"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn have(binary: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// How pebble should run.
#[derive(Default)]
pub struct Options {
    /// `externalAccountBindingRequired` with these (kid, base64url key) pairs.
    pub eab: Vec<(String, String)>,
    /// Really validate challenges: pebble-challtestsrv answers DNS (every name → 127.0.0.1),
    /// http-01 is fetched from this port.
    pub validate_http_port: Option<u16>,
}

impl Pebble {
    /// Starts pebble, or None (skip) if it is not installed and not required.
    pub fn start(opts: Options) -> Option<Pebble> {
        if !have("pebble") {
            assert!(
                std::env::var("CERTSWEEP_REQUIRE_PEBBLE").as_deref() != Ok("1"),
                "pebble is not installed but CERTSWEEP_REQUIRE_PEBBLE=1: apt-get install pebble"
            );
            eprintln!("skipped: pebble is not installed (apt-get install pebble)");
            return None;
        }
        let dir = temp();
        // Pebble's own TLS certificate: a CA and a 127.0.0.1/localhost leaf.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "certsweep test pebble TLS CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let tls_ca = write(dir.path(), "pebble-tls-ca.pem", ca_cert.pem());
        let cert = write(dir.path(), "pebble-cert.pem", leaf_cert.pem());
        let key = write(dir.path(), "pebble-key.pem", leaf_key.serialize_pem());
        let (port, mgmt_port) = (free_port(), free_port());
        let mut config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": cert,
            "privateKey": key,
            "httpPort": opts.validate_http_port.unwrap_or(5002),
            "tlsPort": 5001,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": !opts.eab.is_empty(),
        }});
        if !opts.eab.is_empty() {
            config["pebble"]["externalAccountMACKeys"] = opts
                .eab
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        let config_path = write(dir.path(), "pebble.json", config.to_string());
        let mut extra = Vec::new();
        let mut challtest = None;
        // Pebble's log ("Issued certificate serial S for order O") is kept: tests count on it.
        let log = std::fs::File::create(dir.path().join("pebble.log")).unwrap();
        let mut cmd = Command::new("pebble");
        cmd.arg("-config")
            .arg(&config_path)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        match opts.validate_http_port {
            None => {
                cmd.env("PEBBLE_VA_ALWAYS_VALID", "1");
            }
            Some(_) => {
                let (dns, mgmt) = (free_port(), free_port());
                let srv = Command::new("pebble-challtestsrv")
                    .args(["-dns01", &format!("127.0.0.1:{dns}")])
                    .args(["-management", &format!("127.0.0.1:{mgmt}")])
                    .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
                    .args(["-defaultIPv6", ""])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start pebble-challtestsrv");
                extra.push(srv);
                wait_for_port(mgmt);
                challtest = Some(mgmt);
                cmd.args(["-dnsserver", &format!("127.0.0.1:{dns}")]);
            }
        }
        let child = cmd.spawn().expect("start pebble");
        let p = Pebble {
            child,
            extra,
            dir,
            directory: format!("https://127.0.0.1:{port}/dir"),
            mgmt: format!("https://127.0.0.1:{mgmt_port}"),
            challtest,
            tls_ca,
        };
        wait_for_port(port);
        wait_for_port(mgmt_port);
        Some(p)
    }

    fn agent(&self) -> ureq::Agent {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        let ca = CertificateDer::from_pem_file(&self.tls_ca).unwrap();
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(vec![Certificate::from_der(
                &ca,
            )
            .to_owned()])))
            .unversioned_rustls_crypto_provider(crate::tls::provider())
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .build()
            .new_agent()
    }

    /// GET on the management interface.
    pub fn manage(&self, path: &str) -> (u16, String) {
        let mut rsp = self
            .agent()
            .get(format!("{}{path}", self.mgmt))
            .call()
            .unwrap();
        (
            rsp.status().as_u16(),
            rsp.body_mut().read_to_string().unwrap(),
        )
    }

    /// The orders pebble issued a certificate for, in its log's order ("Issued certificate
    /// serial S for order O" lines: O is the last part of the order URL).
    pub fn issued_orders(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("pebble.log"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.split_once("Issued certificate serial ")?
                    .1
                    .split_once(" for order ")
            })
            .map(|(_, order)| order.trim().to_owned())
            .collect()
    }

    /// Pebble's issuing root (it makes a new one at each start), written to a file.
    pub fn root_file(&self) -> PathBuf {
        let path = self.dir.path().join("pebble-root.pem");
        if !path.exists() {
            let (code, pem) = self.manage("/roots/0");
            assert_eq!(code, 200);
            std::fs::write(&path, pem).unwrap();
        }
        path
    }

    /// `/cert-status-by-serial/SERIAL` as JSON.
    pub fn status(&self, serial: &str) -> serde_json::Value {
        let hex: String = serial
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
            .trim_start_matches('0')
            .to_lowercase();
        let (code, body) = self.manage(&format!("/cert-status-by-serial/{hex}"));
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The common ACME arguments.
    pub fn acme_args(&self) -> Vec<String> {
        vec![
            "--acme-directory".into(),
            self.directory.clone(),
            "--acme-roots".into(),
            self.tls_ca.display().to_string(),
        ]
    }

    /// The ACME arguments and pebble's issuing root as `--roots`.
    pub fn trust_args(&self) -> Vec<String> {
        let mut args = self.acme_args();
        args.extend(["--roots".into(), self.root_file().display().to_string()]);
        args
    }

    /// `issue TARGET` (an item id or `--all`) through pebble, then `more`.
    pub fn issue_args(&self, target: &str, more: &[&str]) -> Vec<String> {
        let mut args = vec!["issue".to_owned(), target.to_owned()];
        args.extend(self.trust_args());
        args.extend(more.iter().map(|s| s.to_string()));
        args
    }
}

/// Pebble that really validates challenges, and the port it fetches http-01 answers from;
/// None (skip) when pebble is not installed.
pub fn validating_pebble() -> Option<(Pebble, u16)> {
    let port = free_port();
    let p = Pebble::start(Options {
        validate_http_port: Some(port),
        ..Options::default()
    })?;
    Some((p, port))
}

/// The real time: pebble signs with it (and does not backdate).
pub fn real_now() -> String {
    at(time::OffsetDateTime::now_utc())
}

fn at(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A plan in its own folder; commands run with `--now` = the real time.
pub struct Plan {
    pub dir: tempfile::TempDir,
}

impl Plan {
    pub fn new() -> Plan {
        Plan { dir: temp() }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("plan.json")
    }

    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Run {
        Test::new()
            .without_now()
            .args(["rotate", "--state", self.state().to_str().unwrap()])
            .args(args.iter().map(|s| s.as_ref().to_owned()))
            .args([
                "--now".to_owned(),
                at(time::OffsetDateTime::now_utc() + Duration::from_secs(30)),
            ])
            .env("USER", "alice")
            .run()
    }

    pub fn plan_text(&self) -> String {
        std::fs::read_to_string(self.state()).unwrap()
    }

    pub fn item(&self) -> serde_json::Value {
        let plan: serde_json::Value = serde_json::from_str(&self.plan_text()).unwrap();
        plan["items"][0].clone()
    }

    pub fn id(&self) -> String {
        self.item()["id"].as_str().unwrap().to_owned()
    }

    pub fn file(&self, stored: &serde_json::Value) -> PathBuf {
        self.dir
            .path()
            .join(stored.as_str().expect("a stored path"))
    }

    /// The folder http-01 answers are written to (`--http01-webroot`).
    pub fn webroot(&self) -> String {
        self.dir.path().join("www").display().to_string()
    }

    /// The serial number of the one item's old certificate.
    pub fn old_serial(&self) -> String {
        self.item()["old"]["serial"].as_str().unwrap().to_owned()
    }

    /// `init` from a JSON manifest of `entries`.
    pub fn init_manifest(&self, entries: serde_json::Value, cutoff: &str) -> Run {
        let manifest = write(self.dir.path(), "manifest.json", entries.to_string());
        self.run(&[
            "init",
            "--manifest",
            manifest.to_str().unwrap(),
            "--cutoff",
            cutoff,
        ])
    }

    /// `init` with one item `id`: the certificate file `cert` for `host`, uploaded at
    /// `uploaded_at`.
    pub fn init_one(&self, id: &str, host: &str, cert: &Path, uploaded_at: &str, cutoff: &str) {
        let entry =
            serde_json::json!([{"id": id, "file": cert, "uploaded_at": uploaded_at, "host": host}]);
        self.init_manifest(entry, cutoff)
            .code(0)
            .stdout_has("1 new item(s)");
    }

    /// `init` with one certificate file for `NAME`, uploaded at `uploaded_at`.
    pub fn init(&self, cert: &Path, uploaded_at: &str, cutoff: &str) {
        self.init_one("shop", NAME, cert, uploaded_at, cutoff);
    }

    /// A plan whose one item `id` is a self-signed certificate for `host` valid since 2016
    /// (`old.pem` in the plan's folder), uploaded 2016-05-10, before the cutoff; and that
    /// certificate's key.
    pub fn with_old_cert(id: &str, host: &str) -> (Plan, KeyPair) {
        let plan = Plan::new();
        let (old, key) = old_cert(plan.dir.path(), "old.pem", host);
        plan.init_one(id, host, &old, "2016-05-10", CUTOFF);
        (plan, key)
    }

    /// `with_old_cert(id, host)` taken to csr-generated.
    pub fn at_csr_generated(id: &str, host: &str) -> Plan {
        let (plan, _) = Plan::with_old_cert(id, host);
        plan.run(&["csr", "--all"]).code(0);
        plan
    }
}

/// A certificate for `host` valid from 2016 (before the cutoff) to 2099.
fn since_2016(host: &str) -> CertificateParams {
    let mut params = CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.not_before = time::macros::datetime!(2016-01-01 0:00 UTC);
    params.not_after = time::macros::datetime!(2099-01-01 0:00 UTC);
    params
}

/// `since_2016(host)` self-signed with a new key, written to `dir/file`; and that key.
fn old_cert(dir: &Path, file: &str, host: &str) -> (PathBuf, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let pem = since_2016(host).self_signed(&key).unwrap().pem();
    (write(dir, file, pem), key)
}

/// A certificate pebble issued for `NAME` with a key of `key_type`, and that key: made by a
/// first walk (self-signed 2016 certificate → csr → issue), so the revocation tests have an
/// old certificate that pebble knows.
pub fn pebble_issued(p: &Pebble, key_type: &str) -> (PathBuf, PathBuf) {
    let boot = Plan::new();
    let key = KeyPair::generate().unwrap();
    let mut params = since_2016(NAME);
    params.distinguished_name.push(DnType::CommonName, NAME);
    let old = write(
        boot.dir.path(),
        "self-signed.pem",
        params.self_signed(&key).unwrap().pem(),
    );
    boot.init(&old, "2016-05-10", CUTOFF);
    boot.run(&["csr", "--all", "--key-type", key_type]).code(0);
    boot.run(&issue_from_webroot(p, &boot, "--all"))
        .code(0)
        .stdout_has("csr-generated -> issued");
    let item = boot.item();
    let cert = boot.file(&item["issued"]["cert_path"]);
    let key = boot.file(&item["csr"]["key_path"]);
    // Keep the files: the boot folder goes away with `boot`.
    let keep = p.dir.path().join(format!("old-{key_type}"));
    std::fs::create_dir_all(&keep).unwrap();
    let (c, k) = (keep.join("old.pem"), keep.join("old.key"));
    std::fs::copy(cert, &c).unwrap();
    std::fs::copy(key, &k).unwrap();
    (c, k)
}

/// Pebble started, and a certificate it issued for `NAME` on a new key of `key_type` with
/// that key (`pebble_issued`); None (skip) when pebble is not installed.
pub fn pebble_with_issued(key_type: &str) -> Option<(Pebble, PathBuf, PathBuf)> {
    let p = Pebble::start(Options::default())?;
    let (old, old_key) = pebble_issued(&p, key_type);
    Some((p, old, old_key))
}

/// A plan whose one item is the pebble-issued `old` certificate, exposed by a breach after
/// it was issued.
pub fn plan_around(old: &Path) -> Plan {
    let plan = Plan::new();
    std::thread::sleep(Duration::from_millis(1100));
    let uploaded = real_now();
    std::thread::sleep(Duration::from_millis(1100));
    plan.init(old, &uploaded, &real_now());
    plan
}

/// `plan_around(old)` taken to verified (`walk_to_verified`).
pub fn verified_around(p: &Pebble, old: &Path) -> Plan {
    let plan = plan_around(old);
    walk_to_verified(p, &plan);
    plan
}

/// Serves `chain_pem` with `key_pem` on 127.0.0.1 (a port of its own).
pub fn serve_tls(chain_pem: &[u8], key_pem: &[u8]) -> std::net::SocketAddr {
    let chain = crate::tls::pem_certs(chain_pem);
    let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    crate::tls::serve(TcpListener::bind("127.0.0.1:0").unwrap(), Arc::new(config))
}

/// csr → issue through pebble (http-01 from a webroot; pebble validates nothing).
pub fn walk_to_issued(p: &Pebble, plan: &Plan) {
    plan.run(&["csr", "--all"]).code(0);
    plan.run(&issue_from_webroot(p, plan, &plan.id()))
        .code(0)
        .stdout_has("csr-generated -> issued");
}

/// `issue TARGET` through pebble, the http-01 answers written to the plan's webroot.
fn issue_from_webroot(p: &Pebble, plan: &Plan, target: &str) -> Vec<String> {
    p.issue_args(target, &["--http01-webroot", &plan.webroot()])
}

/// `uploaded ID` of the one item, checked against a loopback TLS server serving its new
/// chain and key.
fn upload(p: &Pebble, plan: &Plan) -> Run {
    let item = plan.item();
    let chain = std::fs::read(plan.file(&item["issued"]["cert_path"])).unwrap();
    let key = std::fs::read(plan.file(&item["csr"]["key_path"])).unwrap();
    let addr = serve_tls(&chain, &key);
    plan.run(&[
        "uploaded",
        &plan.id(),
        "--endpoint",
        &addr.to_string(),
        "--sni",
        NAME,
        "--roots",
        p.root_file().to_str().unwrap(),
    ])
}

/// csr → issue → uploaded/verified against a loopback TLS server serving the new chain.
pub fn walk_to_verified(p: &Pebble, plan: &Plan) {
    walk_to_issued(p, plan);
    upload(p, plan).code(0).stdout_has("uploaded -> verified");
}

fn revoke_args(p: &Pebble, plan: &Plan, key: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["revoke".into(), plan.id()];
    args.extend(p.acme_args());
    args.extend(["--old-key".into(), key.display().to_string()]);
    args
}

/// `revoke ID` signed by the ACME account in the file `account`.
fn revoke_with_account_args(p: &Pebble, plan: &Plan, account: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["revoke".into(), plan.id()];
    args.extend(p.acme_args());
    args.extend([
        "--with-account".into(),
        "--acme-account".into(),
        account.display().to_string(),
    ]);
    args
}

#[test]
fn the_whole_walk_with_an_acme_ca_revokes_the_old_certificate_for_key_compromise() {
    let Some((p, old, old_key)) = pebble_with_issued("ecdsa-p256") else {
        return;
    };
    let plan = plan_around(&old);
    let serial = plan.old_serial();
    assert_eq!(p.status(&serial)["Status"], "Valid");

    // Before verification: refused, nothing sent, the plan untouched.
    plan.run(&["csr", "--all"]).code(0);
    plan.run(&["next", "--acme-directory", &p.directory])
        .code(1)
        .stdout_has(&format!(
            "certsweep rotate issue {} --acme-directory {} --http01-webroot DIR",
            plan.id(),
            p.directory
        ));
    let before = plan.plan_text();
    plan.run(&revoke_args(&p, &plan, &old_key))
        .code(2)
        .stderr_has("only csr-generated")
        .stderr_has("nothing was sent to the CA");
    assert_eq!(plan.plan_text(), before);
    assert_eq!(p.status(&serial)["Status"], "Valid");

    // issue: the order URL is in the history, the account file is 0600 beside the plan.
    let args = issue_from_webroot(&p, &plan, &plan.id());
    plan.run(&args)
        .code(0)
        .stdout_has("csr-generated -> issued")
        .stdout_has("new ACME account");
    let item = plan.item();
    assert!(item["issued"]["acme"]["order_url"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    let history = item["history"].to_string();
    assert!(
        history.contains("by ACME order https://127.0.0.1:"),
        "{history}"
    );
    let account = plan.file(&item["issued"]["acme"]["account_path"]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&account).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!plan.plan_text().contains("PRIVATE KEY"));
    // A second issue for the same item changes nothing.
    plan.run(&args).code(0).stdout_has("unchanged");

    upload(&p, &plan).code(0).stdout_has("uploaded -> verified");

    // `next` now names the revocation through the CA the new certificate came from.
    plan.run(&["next"]).code(1).stdout_has(&format!(
        "certsweep rotate revoke {} --acme-directory {} --old-key OLD.key",
        plan.id(),
        p.directory
    ));

    // A key that is not the old certificate's: refused before anything is sent.
    let wrong = write(
        plan.dir.path(),
        "wrong.key",
        KeyPair::generate().unwrap().serialize_pem(),
    );
    let before = plan.plan_text();
    plan.run(&revoke_args(&p, &plan, &wrong))
        .code(2)
        .stderr_has("is not the old certificate's key")
        .stderr_has("nothing was sent to the CA");
    assert_eq!(plan.plan_text(), before);
    assert_eq!(p.status(&serial)["Status"], "Valid");

    plan.run(&revoke_args(&p, &plan, &old_key))
        .code(0)
        .stdout_has("verified -> revoked")
        .stdout_has("keyCompromise");
    let status = p.status(&serial);
    assert_eq!(status["Status"], "Revoked", "{status}");
    assert_eq!(status["Reason"], 1, "{status}");
    let item = plan.item();
    assert_eq!(item["step"], "revoked");
    let evidence = &item["revocation"]["acme"];
    assert_eq!(evidence["signer"], "certificate-key");
    assert_eq!(evidence["reason_code"], 1);
    assert_eq!(evidence["outcome"], "revoked");
    assert_eq!(evidence["directory"], p.directory.as_str());
    assert_eq!(evidence["signer_spki_sha256"], item["old"]["spki_sha256"]);

    // Re-run: unchanged, exit 0.
    plan.run(&revoke_args(&p, &plan, &old_key))
        .code(0)
        .stdout_has("unchanged");
    // status and next know the step.
    plan.run(&["status"])
        .code(1)
        .stdout_has("a CRL confirming the revocation the CA accepted");
    plan.run(&["next"])
        .code(1)
        .stdout_has("the CA accepted the revocation");
}

/// The revocation signed by the old key, for each key type pebble accepts.
fn revoke_with_old_key_of_type(key_type: &str) {
    let Some((p, old, old_key)) = pebble_with_issued(key_type) else {
        return;
    };
    let plan = plan_around(&old);
    let serial = plan.old_serial();
    walk_to_verified(&p, &plan);
    plan.run(&revoke_args(&p, &plan, &old_key))
        .code(0)
        .stdout_has("verified -> revoked");
    let status = p.status(&serial);
    assert_eq!(
        (status["Status"].as_str(), status["Reason"].as_i64()),
        (Some("Revoked"), Some(1)),
        "{key_type}: {status}"
    );
}

#[test]
fn a_p384_old_key_signs_its_own_revocation() {
    revoke_with_old_key_of_type("ecdsa-p384");
}

#[test]
fn an_rsa_old_key_signs_its_own_revocation() {
    revoke_with_old_key_of_type("rsa-2048");
}

#[test]
fn revoked_already_at_the_ca_counts_as_success_and_with_account_revokes_too() {
    let Some((p, old, old_key)) = pebble_with_issued("ecdsa-p256") else {
        return;
    };
    // Two plans around the same old certificate: the second finds it already revoked.
    let first = verified_around(&p, &old);
    let second = verified_around(&p, &old);
    first
        .run(&revoke_args(&p, &first, &old_key))
        .code(0)
        .stdout_has("verified -> revoked");
    second
        .run(&revoke_args(&p, &second, &old_key))
        .code(0)
        .stdout_has("verified -> revoked")
        .stdout_has("had already revoked");
    assert_eq!(
        second.item()["revocation"]["acme"]["outcome"],
        "already-revoked"
    );

    // --with-account: the account that issued the NEW certificate revokes it (here: the
    // new certificate of a third plan, to have something pebble lets that account revoke).
    let third = verified_around(&p, &old);
    let new_serial = third.item()["issued"]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_cert = third.file(&third.item()["issued"]["cert_path"]);
    let fourth = verified_around(&p, &new_cert);
    let account = third.file(&third.item()["issued"]["acme"]["account_path"]);
    fourth
        .run(&revoke_with_account_args(&p, &fourth, &account))
        .code(0)
        .stdout_has("verified -> revoked");
    assert_eq!(fourth.item()["revocation"]["acme"]["signer"], "account");
    assert_eq!(p.status(&new_serial)["Status"], "Revoked");
}

#[test]
fn a_certificate_this_ca_did_not_issue_is_a_clear_refusal() {
    let Some(p) = Pebble::start(Options::default()) else {
        return;
    };
    // The self-signed 2016 certificate: pebble never saw it.
    let (plan, key) = Plan::with_old_cert("shop", NAME);
    let old_key = write(plan.dir.path(), "old.key", key.serialize_pem());
    walk_to_verified(&p, &plan);
    let before = plan.plan_text();
    plan.run(&revoke_args(&p, &plan, &old_key))
        .code(2)
        .stderr_has("this CA did not issue the old certificate")
        .stderr_has("the item is unchanged");
    assert_eq!(plan.plan_text(), before);
}

#[test]
fn eab_is_sent_when_the_ca_requires_it() {
    let kid = "kid-1";
    let hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    let Some(p) = Pebble::start(Options {
        eab: vec![(kid.into(), hmac.into())],
        ..Options::default()
    }) else {
        return;
    };
    let plan = Plan::at_csr_generated("shop", NAME);
    let mut args = issue_from_webroot(&p, &plan, &plan.id());
    let before = plan.plan_text();
    plan.run(&args)
        .code(2)
        .stderr_has("external account binding")
        .stderr_has("--eab-kid");
    assert_eq!(plan.plan_text(), before);
    let hmac_file = write(plan.dir.path(), "eab.hmac", hmac);
    args.extend([
        "--eab-kid".into(),
        kid.into(),
        "--eab-hmac-file".into(),
        hmac_file.display().to_string(),
    ]);
    plan.run(&args)
        .code(0)
        .stdout_has("csr-generated -> issued");
}

#[test]
fn real_http01_validation_through_the_standalone_listener() {
    let Some((p, port)) = validating_pebble() else {
        return;
    };
    let plan = Plan::at_csr_generated("shop", NAME);
    // Nothing answers on the port: pebble really validates, so the order fails.
    let wrong = p.issue_args(
        &plan.id(),
        &["--http01-webroot", &plan.webroot(), "--wait", "10"],
    );
    let before = plan.plan_text();
    plan.run(&wrong)
        .code(2)
        .stderr_has("the ACME server refused");
    assert_eq!(plan.plan_text(), before);
    let listen = format!("127.0.0.1:{port}");
    plan.run(&p.issue_args(&plan.id(), &["--http01-listen", &listen]))
        .code(0)
        .stdout_has("csr-generated -> issued");
    assert_eq!(
        plan.item()["issued"]["acme"]["challenge"],
        "http-01 (standalone listener)"
    );
}

#[test]
fn real_dns01_validation_through_a_hook() {
    let Some((p, _)) = validating_pebble() else {
        return;
    };
    let mgmt = p.challtest.unwrap();
    let plan = Plan::at_csr_generated("shop", NAME);
    let hook = write(
        plan.dir.path(),
        "hook.py",
        format!(
            r#"import json, os, urllib.request
action = os.environ["CERTSWEEP_ACME_ACTION"]
host = os.environ["CERTSWEEP_ACME_TXT_NAME"] + "."
body = {{"host": host}}
if action == "present":
    body["value"] = os.environ["CERTSWEEP_ACME_TXT_VALUE"]
path = "/set-txt" if action == "present" else "/clear-txt"
with open(os.path.join(os.path.dirname(__file__), "hook.log"), "a") as log:
    log.write(action + " " + host + "\n")
urllib.request.urlopen("http://127.0.0.1:{mgmt}" + path, json.dumps(body).encode())
"#
        ),
    );
    let hook = format!("python3 {}", hook.display());
    plan.run(&p.issue_args(&plan.id(), &["--dns01-hook", &hook]))
        .code(0)
        .stdout_has("csr-generated -> issued");
    let log = std::fs::read_to_string(plan.dir.path().join("hook.log")).unwrap();
    assert_eq!(
        log,
        format!("present _acme-challenge.{NAME}.\ncleanup _acme-challenge.{NAME}.\n")
    );
}

/// `rotate walk --acme-directory ...` at a pseudo-terminal (util-linux `script`), reading the
/// clock itself; `answers` are typed at its prompts.
fn walk_at_terminal(plan: &Plan, extra: &[String], answers: &str) -> String {
    use std::io::Write;
    let command = format!(
        "{} rotate walk --state {} {}",
        env!("CARGO_BIN_EXE_certsweep"),
        plan.state().display(),
        extra.join(" ")
    );
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
    stdin.write_all(answers.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn walk_offers_the_acme_steps() {
    let Some((p, old, old_key)) = pebble_with_issued("ecdsa-p256") else {
        return;
    };
    let plan = plan_around(&old);
    plan.run(&["csr", "--all"]).code(0);
    let mut extra = p.trust_args();
    extra.extend(["--http01-webroot".into(), plan.webroot()]);
    let out = walk_at_terminal(&plan, &extra, "y\nq\n");
    assert!(
        out.contains("Get the certificate from the ACME CA at"),
        "{out}"
    );
    assert!(out.contains("csr-generated -> issued"), "{out}");
    assert_eq!(plan.item()["step"], "issued");

    upload(&p, &plan).code(0);
    let out = walk_at_terminal(&plan, &extra, &format!("{}\nq\n", old_key.display()));
    assert!(out.contains("signed by its own key"), "{out}");
    assert!(out.contains("verified -> revoked"), "{out}");
    let serial = plan.old_serial();
    assert_eq!(p.status(&serial)["Reason"], 1);
}

/// A minimal ACME server on loopback (plain HTTP) for what pebble cannot be made to do on
/// demand: refuse a good nonce. It answers the directory, nonces and revokeCert; the first
/// revokeCert gets `badNonce` with a fresh nonce, the next is accepted. It keeps the bodies.
fn fake_acme() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let posts: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = posts.clone();
    let json = || "Content-Type: application/json\r\n".to_owned();
    let base = scripted_ca(move |b, method, path, body| match (method, path) {
        ("GET", "/dir") => (
            "200 OK",
            json(),
            format!(r#"{{"newNonce": "{b}/nonce", "revokeCert": "{b}/revoke"}}"#),
        ),
        ("HEAD", "/nonce") => ("200 OK", json(), String::new()),
        ("POST", "/revoke") => {
            let mut seen = seen.lock().unwrap();
            seen.push(String::from_utf8(body.to_vec()).unwrap());
            if seen.len() == 1 {
                (
                    "400 Bad Request",
                    json(),
                    r#"{"type": "urn:ietf:params:acme:error:badNonce", "detail": "JWS has an invalid anti-replay nonce"}"#.to_owned(),
                )
            } else {
                ("200 OK", json(), String::new())
            }
        }
        _ => ("404 Not Found", json(), String::new()),
    });
    (base, posts)
}

#[test]
fn a_refused_nonce_is_retried_and_the_request_is_signed_by_the_old_key() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let (base, posts) = fake_acme();
    // The fixture shop certificate with its key in the same file.
    let (plan, shop) = shop_planned();
    let id = plan.id();
    plan.run(&[
        "revoke",
        &id,
        "--acme-directory",
        &format!("{base}/dir"),
        "--old-key",
        shop.to_str().unwrap(),
        "--force",
        "--reason",
        "the CA asked for it today",
    ])
    .code(0)
    .stdout_has("planned -> revoked");
    let posts = posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "one refused, one accepted");
    let decode = |s: &serde_json::Value| URL_SAFE_NO_PAD.decode(s.as_str().unwrap()).unwrap();
    let mut nonces = Vec::new();
    for post in &posts {
        let jws: serde_json::Value = serde_json::from_str(post).unwrap();
        let header: serde_json::Value = serde_json::from_slice(&decode(&jws["protected"])).unwrap();
        nonces.push(header["nonce"].as_str().unwrap().to_owned());
        assert_eq!(header["url"], format!("{base}/revoke"));
        assert_eq!(header["alg"], "ES256");
        assert!(header.get("kid").is_none(), "{header}");
        let payload: serde_json::Value = serde_json::from_slice(&decode(&jws["payload"])).unwrap();
        assert_eq!(payload["reason"], 1);
        let old_der =
            crate::tls::pem_certs(plan.item()["old"]["pem"].as_str().unwrap().as_bytes()).remove(0);
        assert_eq!(decode(&payload["certificate"]), old_der.as_ref());
        // The signature verifies with the public key of the old certificate (raw r||s).
        let (_, cert) = x509_parser::parse_x509_certificate(old_der.as_ref()).unwrap();
        let point = cert.public_key().subject_public_key.data.to_vec();
        let jwk = &header["jwk"];
        assert_eq!(
            [&[4u8][..], &decode(&jwk["x"]), &decode(&jwk["y"])].concat(),
            point
        );
        let signed = format!(
            "{}.{}",
            jws["protected"].as_str().unwrap(),
            jws["payload"].as_str().unwrap()
        );
        let sig = decode(&jws["signature"]);
        assert_eq!(sig.len(), 64);
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            &point,
        )
        .verify(signed.as_bytes(), &sig)
        .unwrap();
    }
    // The retry used the nonce the refusal carried, not the first one again.
    assert_ne!(nonces[0], nonces[1]);
    let item = plan.item();
    assert_eq!(
        item["revocation"]["forced_reason"],
        "the CA asked for it today"
    );
    assert_eq!(item["revocation"]["acme"]["outcome"], "revoked");
    assert!(item["history"]
        .to_string()
        .contains("FORCED before verification: the CA asked for it today"));
}

#[test]
fn the_account_file_is_not_read_through_a_symlink_or_when_others_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let (plan, _) = shop_plan();
    let closed = format!("https://127.0.0.1:{}/dir", free_port());
    let issue = |account: &Path| {
        plan.run(&[
            "issue",
            &plan.id(),
            "--acme-directory",
            &closed,
            "--acme-account",
            account.to_str().unwrap(),
            "--http01-webroot",
            plan.dir.path().join("www").to_str().unwrap(),
        ])
    };
    let before = plan.plan_text();
    let real = write(plan.dir.path(), "real-account.json", "{}");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = plan.dir.path().join("account.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    issue(&link).code(2).stderr_has("it is a symbolic link");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    issue(&real)
        .code(2)
        .stderr_has("others may read it (mode 644)")
        .stderr_has("chmod 600");
    // No account file: one would be made, but the server is not there: a sentence, no file.
    let missing = plan.dir.path().join("new-account.json");
    issue(&missing)
        .code(2)
        .stderr_has(&format!("cannot talk to the ACME server at {closed}"));
    assert!(!missing.exists());
    assert_eq!(plan.plan_text(), before);
}

#[test]
fn an_old_key_file_that_cannot_sign_is_named_with_the_reason() {
    let (plan, _) = shop_planned();
    let ed = write(
        plan.dir.path(),
        "ed.key",
        KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .unwrap()
            .serialize_pem(),
    );
    for (file, why) in [
        (
            root().join("fixtures/demo/uploads/api.pem"),
            "there is no private key in it",
        ),
        (
            root().join("README.md"),
            "neither a PEM nor a DER private key",
        ),
        (ed, "CAs do not take Ed25519 here"),
    ] {
        let revoke = plan.run(&[
            "revoke",
            &plan.id(),
            "--acme-directory",
            "https://127.0.0.1:1/dir",
            "--old-key",
            file.to_str().unwrap(),
        ]);
        revoke
            .code(2)
            .stderr_has(&format!("--old-key {}: ", file.display()))
            .stderr_has(why);
    }
}

#[test]
fn issue_all_goes_on_past_an_item_that_fails_and_says_so() {
    let Some(p) = Pebble::start(Options::default()) else {
        return;
    };
    let plan = Plan::new();
    let mut entries = Vec::new();
    for host in ["a.example.test", "b.example.test"] {
        let (file, _) = old_cert(plan.dir.path(), &format!("{host}.pem"), host);
        entries.push(serde_json::json!({"id": host, "file": file, "uploaded_at": "2016-05-10", "host": host}));
    }
    plan.init_manifest(entries.into(), CUTOFF).code(0);
    plan.run(&["csr", "--all"]).code(0);
    let plan_json: serde_json::Value = serde_json::from_str(&plan.plan_text()).unwrap();
    let items = plan_json["items"].as_array().unwrap().clone();
    let gone = plan.file(&items[0]["csr"]["csr_path"]);
    std::fs::remove_file(&gone).unwrap();
    plan.run(&issue_from_webroot(&p, &plan, "--all"))
        .code(2)
        .stderr_has(&format!("the CSR {}", gone.display()))
        .stdout_has(&format!(
            "{}: csr-generated -> issued",
            items[1]["id"].as_str().unwrap()
        ))
        .stdout_has("some items got no certificate; they stay csr-generated");
    let after: serde_json::Value = serde_json::from_str(&plan.plan_text()).unwrap();
    assert_eq!(after["items"][0]["step"], "csr-generated");
    assert_eq!(after["items"][1]["step"], "issued");
}

#[test]
fn a_certificate_the_ca_issued_on_the_old_key_is_refused_and_the_item_stays() {
    let Some((p, old, old_key)) = pebble_with_issued("ecdsa-p256") else {
        return;
    };
    let plan = plan_around(&old);
    plan.run(&["csr", "--all"]).code(0);
    // The CSR on disk swapped for one on the OLD key (pebble does not block compromised keys).
    let csr = plan.file(&plan.item()["csr"]["csr_path"]);
    std::fs::remove_file(&csr).unwrap();
    let made = Command::new("openssl")
        .args(["req", "-new", "-key"])
        .arg(&old_key)
        .args(["-subj", &format!("/CN={NAME}")])
        .args(["-addext", &format!("subjectAltName=DNS:{NAME}")])
        .arg("-out")
        .arg(&csr)
        .status()
        .unwrap();
    assert!(made.success());
    let before = plan.plan_text();
    plan.run(&issue_from_webroot(&p, &plan, &plan.id()))
        .code(2)
        .stderr_has("uses the OLD (exposed) key")
        .stderr_has("was not accepted and the item is unchanged");
    assert_eq!(plan.plan_text(), before);
    let written: Vec<_> = std::fs::read_dir(csr.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".issued"))
        .collect();
    assert!(written.is_empty(), "no certificate file is kept");
}

/// A copy of the folder `from` (one level of sub-folders: the plan, its CSR folder, the
/// account file), permissions kept.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn spki_of_cert(pem: &[u8]) -> String {
    use sha2::Digest;
    let der = crate::tls::pem_certs(pem).remove(0);
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    hex::encode(sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw))
}

#[cfg(unix)]
#[test]
fn a_kill_9_at_any_instant_of_issue_never_makes_a_second_certificate() {
    let Some(p) = Pebble::start(Options::default()) else {
        return;
    };
    // A plan at csr-generated, copied fresh for each try.
    let pristine = Plan::at_csr_generated("shop", NAME);
    let issue_args = |plan: &Plan| issue_from_webroot(&p, plan, &plan.id());
    let spawn = |plan: &Plan| {
        Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .args(["rotate", "--state", plan.state().to_str().unwrap()])
            .args(issue_args(plan))
            .args([
                "--now",
                &at(time::OffsetDateTime::now_utc() + Duration::from_secs(30)),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let fresh = || {
        let plan = Plan::new();
        copy_tree(pristine.dir.path(), plan.dir.path());
        plan
    };
    // How long an uninterrupted run takes (account, order, finalize, download): kills land
    // anywhere in it.
    let timing = fresh();
    let start = Instant::now();
    assert!(spawn(&timing).wait().unwrap().success());
    let span = start.elapsed().as_micros() as u64;
    assert_eq!(timing.item()["step"], "issued");

    let (mut kills, mut ordered, mut finalizing, mut resumed) = (0, 0, 0, 0);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut tries = 0;
    // At least 40 kills, and at least 3 of them after finalize was recorded (the window in
    // which the CA may have issued), wherever the random instants fall.
    while kills < 40 || finalizing < 3 {
        tries += 1;
        assert!(
            tries < 400,
            "only {kills} kills landed mid-run ({finalizing} after finalize) in {tries} tries"
        );
        let plan = fresh();
        let issued_before = p.issued_orders().len();
        let mut child = spawn(&plan);
        if !kill_9_within(&mut child, &mut seed, span) {
            continue; // it had finished: not a kill
        }
        kills += 1;
        let i = kills;
        let intent = plan.item().get("acme_intent").cloned();
        if let Some(intent) = &intent {
            ordered += 1;
            if intent["finalize_sent"] == true {
                finalizing += 1;
            }
        }

        // The next run finishes the step with no manual clean-up.
        let run = plan.run(&issue_args(&plan)).code(0);
        let item = plan.item();
        assert_eq!(item["step"], "issued", "kill {i}: {item}");
        assert!(
            item.get("acme_intent").is_none(),
            "kill {i}: intent cleared"
        );
        let order_url = item["issued"]["acme"]["order_url"].as_str().unwrap();
        if let Some(intent) = &intent {
            // The recorded order was resumed, not replaced.
            assert_eq!(intent["order_url"], order_url, "kill {i}: {}", run.stdout);
            assert!(
                run.stdout.contains("resumed the order"),
                "kill {i}: {}",
                run.stdout
            );
            resumed += 1;
        }
        // Pebble issued exactly one certificate for this item, on the recorded order.
        let issued = p.issued_orders()[issued_before..].to_vec();
        assert_eq!(issued.len(), 1, "kill {i}: pebble issued for {issued:?}");
        assert!(order_url.ends_with(&format!("/{}", issued[0])), "kill {i}");
        // The certificate is on the new key of the CSR, and there is one certificate file.
        let cert = std::fs::read(plan.file(&item["issued"]["cert_path"])).unwrap();
        assert_eq!(
            spki_of_cert(&cert),
            item["csr"]["new_spki_sha256"],
            "kill {i}"
        );
        let csr_dir = plan.file(&item["csr"]["csr_path"]);
        let files: Vec<_> = std::fs::read_dir(csr_dir.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".issued"))
            .collect();
        assert_eq!(files.len(), 1, "kill {i}: {files:?}");
    }
    eprintln!(
        "{kills} kills in {tries} tries over a {span} µs run: {ordered} after the order was recorded \
         ({finalizing} of them after finalize was recorded), {resumed} resumed"
    );
    assert!(
        ordered > 0 && finalizing > 0,
        "no kill landed after the order was made"
    );
}

#[test]
fn an_account_the_ca_does_not_let_revoke_is_a_clear_refusal_and_the_plan_stays() {
    let Some((p, old, _old_key)) = pebble_with_issued("ecdsa-p256") else {
        return;
    };
    let plan = verified_around(&p, &old);
    let serial = plan.old_serial();
    // An account that never ordered (nor validated) the old certificate's name: the account
    // of a walk for another host.
    let (other, _) = Plan::with_old_cert("other", "other.example.test");
    walk_to_issued(&p, &other);
    let account = other.file(&other.item()["issued"]["acme"]["account_path"]);

    let before = plan.plan_text();
    // The item, the CA's problem type and detail, and the fix.
    let run = plan
        .run(&revoke_with_account_args(&p, &plan, &account))
        .code(2)
        .stderr_has(&format!("item {}: ", plan.id()))
        .stderr_has("(unauthorized: The certificate being revoked is not associated with account")
        .stderr_has("--old-key FILE")
        .stderr_has("the item is unchanged");
    assert!(!run.stderr.contains("Problem {"), "{}", run.stderr);
    assert_eq!(plan.plan_text(), before);
    assert_eq!(p.status(&serial)["Status"], "Valid");
    // The walk still offers the revocation.
    plan.run(&["next"]).code(1).stdout_has(&format!(
        "certsweep rotate revoke {} --acme-directory {} --old-key OLD.key",
        plan.id(),
        p.directory
    ));
}

/// Serves the files under `webroot` over plain HTTP on 127.0.0.1:`port` (GET PATH →
/// webroot/PATH, else 404), as a web server in front of a site would.
fn serve_webroot(port: u16, webroot: PathBuf) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = sock.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let file = webroot.join(path.trim_start_matches('/'));
            let reply = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => [
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes(),
                    body,
                ]
                .concat(),
                _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = sock.write_all(&reply);
        }
    });
}

/// `rotate issue --manual…` as a script drives it: stdin and stderr are pipes; `publish`
/// gets each instruction certsweep prints (the lines up to the one that asks to press
/// Enter, or a JSON line) and publishes it, then a line on stdin confirms; if it returns
/// false, stdin is closed instead (the script gives up).
fn issue_manually(
    plan: &Plan,
    args: &[String],
    mut publish: impl FnMut(&str) -> bool,
) -> (i32, String, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .args(["rotate", "--state", plan.state().to_str().unwrap()])
        .args(args)
        .args([
            "--now",
            &at(time::OffsetDateTime::now_utc() + Duration::from_secs(30)),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut all, mut block) = (String::new(), String::new());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        all.push_str(&line);
        block.push_str(&line);
        if line.contains("then press Enter") || line.starts_with('{') {
            if publish(&block) {
                let pipe = stdin.as_mut().unwrap();
                pipe.write_all(b"\n").unwrap();
                pipe.flush().unwrap();
            } else {
                stdin = None;
            }
            block.clear();
        }
        line.clear();
    }
    drop(stdin);
    let code = child.wait().unwrap().code().unwrap();
    (code, out.join().unwrap(), all)
}

/// `issue --manual` given up at the prompt (exit 2): the plan then, its pending order
/// recorded, and that order's URL.
fn abandon_manual_issue(p: &Pebble, plan: &Plan) -> (String, String) {
    let args = p.issue_args(&plan.id(), &["--manual"]);
    let (code, _, err) = issue_manually(plan, &args, |_| false);
    assert_eq!(code, 2, "{err}");
    let recorded = plan.plan_text();
    let order = plan.item()["acme_intent"]["order_url"]
        .as_str()
        .unwrap()
        .to_owned();
    (recorded, order)
}

#[test]
fn manual_http01_and_dns01_answered_by_a_script_with_real_validation() {
    let Some((p, port)) = validating_pebble() else {
        return;
    };
    let webroot = p.dir.path().join("site");
    std::fs::create_dir_all(&webroot).unwrap();
    serve_webroot(port, webroot.clone());
    let new_plan = |host: &str| Plan::at_csr_generated("x", host);
    let args = |plan: &Plan, how: &str| p.issue_args(&plan.id(), &[how]);

    // http-01, as a person reads it. First the script gives up (stdin ends): nothing issued,
    // the order is kept; the next run resumes it and the script serves the file it is told.
    let plan = new_plan(NAME);
    let (code, _, err) = issue_manually(&plan, &args(&plan, "--manual"), |_| false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--manual: aborted"), "{err}");
    assert!(
        err.contains("is kept in the plan: run the same command again"),
        "{err}"
    );
    let order = plan.item()["acme_intent"]["order_url"].clone();
    assert!(
        order.is_string(),
        "the pending order is recorded: {}",
        plan.plan_text()
    );
    assert_eq!(plan.item()["step"], "csr-generated");
    let mut served = 0;
    let (code, out, err) = issue_manually(&plan, &args(&plan, "--manual"), |text| {
        let url = text
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL to serve");
        let path = url.splitn(4, '/').nth(3).unwrap();
        assert_eq!(url, format!("http://{NAME}/{path}"));
        // The content is the line after the instruction.
        let content = text.lines().nth(1).unwrap().trim();
        let file = webroot.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
        served += 1;
        true
    });
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(served, 1);
    assert!(out.contains("resumed the order"), "{out}");
    assert!(out.contains("csr-generated -> issued"), "{out}");
    let item = plan.item();
    assert_eq!(item["issued"]["acme"]["challenge"], "http-01 (manual)");
    assert_eq!(item["issued"]["acme"]["order_url"], order);

    // dns-01 as JSON for a script, which publishes the TXT record in pebble-challtestsrv.
    let mgmt = p.challtest.unwrap();
    let host = "mail.example.test";
    let plan = new_plan(host);
    let mut json_args = args(&plan, "--manual-dns01");
    json_args.extend(["--format".into(), "json".into()]);
    let mut published = Vec::new();
    let (code, out, err) = issue_manually(&plan, &json_args, |text| {
        let v: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(v["challenge"], "dns-01");
        assert_eq!(v["identifier"], host);
        let name = v["txt_name"].as_str().unwrap();
        let (code, body) = {
            let mut rsp = ureq::post(format!("http://127.0.0.1:{mgmt}/set-txt"))
                .send(
                    serde_json::json!({"host": format!("{name}."), "value": v["txt_value"]})
                        .to_string(),
                )
                .unwrap();
            (
                rsp.status().as_u16(),
                rsp.body_mut().read_to_string().unwrap(),
            )
        };
        assert_eq!(code, 200, "{body}");
        published.push(name.to_owned());
        true
    });
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(published, [format!("_acme-challenge.{host}")]);
    // stdout is the step as data, one JSON document.
    let report: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert!(report.to_string().contains("issued"), "{report}");
    assert_eq!(
        plan.item()["issued"]["acme"]["challenge"],
        "dns-01 (manual)"
    );
}

/// A plain-HTTP server on loopback answering each request with
/// `answer(base, method, path, request body)`: (status line, extra header lines, body).
/// Every answer carries a fresh Replay-Nonce.
fn scripted_ca(
    answer: impl Fn(&str, &str, &str, &[u8]) -> (&'static str, String, String) + Send + 'static,
) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    std::thread::spawn(move || {
        let mut nonce = 0;
        for sock in listener.incoming().flatten() {
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut sock = sock;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut words = line.split_whitespace();
                let method = words.next().unwrap_or("").to_owned();
                let path = words.next().unwrap_or("").to_owned();
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    break;
                }
                nonce += 1;
                let (status, headers, text) = answer(&b, &method, &path, &body);
                let text = if method == "HEAD" {
                    String::new()
                } else {
                    text
                };
                let _ = write!(
                    sock,
                    "HTTP/1.1 {status}\r\nReplay-Nonce: n{nonce}\r\n{headers}Content-Length: {}\r\n\r\n{text}",
                    text.len()
                );
            }
        }
    });
    base
}

/// `revoke ID --force` (before verification, reason "test") through the ACME `directory`,
/// signed by the old key in `old_key`.
fn forced_revoke(plan: &Plan, directory: &str, old_key: &Path) -> Run {
    plan.run(&[
        "revoke",
        &plan.id(),
        "--acme-directory",
        directory,
        "--old-key",
        old_key.to_str().unwrap(),
        "--force",
        "--reason",
        "test",
    ])
}

/// A plan whose one item is the demo shop certificate (its key is in the same file), at
/// csr-generated.
fn shop_plan() -> (Plan, PathBuf) {
    let (plan, shop) = shop_planned();
    plan.run(&["csr", "--all"]).code(0);
    (plan, shop)
}

/// A plan whose one item is the demo shop certificate (its key is in the same file),
/// planned.
fn shop_planned() -> (Plan, PathBuf) {
    let plan = Plan::new();
    let shop = root().join("fixtures/demo/uploads/shop.pem");
    plan.init(&shop, "2016-05-10", CUTOFF);
    (plan, shop)
}

#[test]
fn a_url_that_is_not_an_acme_directory_is_named_as_such() {
    let base = scripted_ca(|_, _, path, _| match path {
        "/html" => (
            "200 OK",
            "Content-Type: text/html\r\n".into(),
            "<html><body>Welcome</body></html>".into(),
        ),
        "/json" => (
            "200 OK",
            "Content-Type: application/json\r\n".into(),
            r#"{"status": "ok"}"#.into(),
        ),
        _ => ("404 Not Found", String::new(), String::new()),
    });
    let (plan, shop) = shop_plan();
    let before = plan.plan_text();
    for (url, why) in [
        (format!("{base}/html"), "(its answer is not a JSON object)"),
        (format!("{base}/json"), "(it has no newNonce)"),
        (format!("{base}/gone"), "answered HTTP 404"),
    ] {
        plan.run(&[
            "issue",
            &plan.id(),
            "--acme-directory",
            &url,
            "--http01-webroot",
            plan.dir.path().join("www").to_str().unwrap(),
        ])
        .code(2)
        .stderr_has(&url)
        .stderr_has(why)
        .stderr_has("check --acme-directory");
        forced_revoke(&plan, &url, &shop)
            .code(2)
            .stderr_has(why)
            .stderr_has("check --acme-directory");
    }
    // No account was made, nothing changed.
    assert_eq!(plan.plan_text(), before);
    let accounts = std::fs::read_dir(plan.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("acme-account"))
        .count();
    assert_eq!(accounts, 0);
}

#[test]
fn a_rate_limit_is_reported_with_the_time_the_ca_gives() {
    let problem = r#"{"type": "urn:ietf:params:acme:error:rateLimited", "detail": "too many certificates already issued"}"#;
    let base = scripted_ca(move |b, method, path, _| {
        match (method, path) {
        ("GET", "/dir") => (
            "200 OK",
            "Content-Type: application/json\r\n".into(),
            serde_json::json!({
                "newNonce": format!("{b}/nonce"),
                "newAccount": format!("{b}/new-acct"),
                "newOrder": format!("{b}/new-order"),
                "revokeCert": format!("{b}/revoke"),
            })
            .to_string(),
        ),
        ("HEAD", "/nonce") => ("200 OK", String::new(), String::new()),
        // An HTTP date for the account, seconds for the revocation.
        ("POST", "/new-acct") => (
            "429 Too Many Requests",
            "Content-Type: application/problem+json\r\nRetry-After: Wed, 02 Dec 2026 10:00:00 GMT\r\n".into(),
            problem.into(),
        ),
        ("POST", "/revoke") => (
            "429 Too Many Requests",
            "Content-Type: application/problem+json\r\nRetry-After: 3600\r\n".into(),
            problem.into(),
        ),
        _ => ("404 Not Found", String::new(), String::new()),
    }
    });
    let (plan, shop) = shop_plan();
    let before = plan.plan_text();
    let directory = format!("{base}/dir");
    plan.run(&[
        "issue",
        &plan.id(),
        "--acme-directory",
        &directory,
        "--http01-webroot",
        plan.dir.path().join("www").to_str().unwrap(),
    ])
    .code(2)
    .stderr_has("(rateLimited: too many certificates already issued)")
    .stderr_has("the CA asks to try again after 2026-12-02T10:00:00Z");
    let start = time::OffsetDateTime::now_utc();
    let run = forced_revoke(&plan, &directory, &shop)
        .code(2)
        .stderr_has("(rateLimited: too many certificates already issued)")
        .stderr_has("the item is unchanged");
    let after = run
        .stderr
        .split("the CA asks to try again after ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no retry time in: {}", run.stderr));
    let at =
        time::OffsetDateTime::parse(after, &time::format_description::well_known::Rfc3339).unwrap();
    let wait = (at - start).whole_seconds();
    assert!((3590..=3660).contains(&wait), "{wait} s in: {}", run.stderr);
    assert_eq!(plan.plan_text(), before);
}

#[test]
fn a_recorded_order_that_is_dead_or_for_another_ca_is_replaced_and_the_run_says_so() {
    let Some((p, port)) = validating_pebble() else {
        return;
    };
    let (plan, _) = shop_plan();
    let args = |how: &[&str]| p.issue_args(&plan.id(), how);
    // A run that gives up at the prompt leaves its pending order recorded.
    let (recorded, order) = abandon_manual_issue(&p, &plan);
    // The next run resumes it, is told the answer is served when it is not: pebble's
    // validation fails, the order is invalid, and its record is dropped.
    let (code, _, err) = issue_manually(&plan, &args(&["--manual"]), |_| true);
    assert_eq!(code, 2, "{err}");
    assert!(
        plan.item().get("acme_intent").is_none(),
        "{}",
        plan.plan_text()
    );
    assert_eq!(plan.item()["step"], "csr-generated");

    // A plan from before (as after a crash) still names that order: it is invalid now.
    std::fs::write(plan.state(), &recorded).unwrap();
    let listen = format!("127.0.0.1:{port}");
    plan.run(&args(&["--http01-listen", &listen]))
        .code(0)
        .stdout_has(&format!(
            "the order {order} recorded by an interrupted run is invalid at the CA (expired or failed); a new order was made"
        ))
        .stdout_has("csr-generated -> issued");
    assert_ne!(plan.item()["issued"]["acme"]["order_url"], order.as_str());

    // An order the CA does not know, and one recorded for another CA.
    for (edit, says) in [
        (format!("{order}-unknown"), "is gone at the CA (".to_owned()),
        (
            order.clone(),
            "is for another CA (https://ca.invalid/dir); a new order was made".to_owned(),
        ),
    ] {
        let mut plan_json: serde_json::Value = serde_json::from_str(&recorded).unwrap();
        let intent = &mut plan_json["items"][0]["acme_intent"];
        intent["order_url"] = edit.clone().into();
        if edit == order {
            intent["directory"] = "https://ca.invalid/dir".into();
        }
        std::fs::write(plan.state(), plan_json.to_string()).unwrap();
        plan.run(&args(&["--http01-listen", &listen]))
            .code(0)
            .stdout_has(&says)
            .stdout_has("csr-generated -> issued");
    }
}

/// An order a run left (`--manual` given up at the prompt) shows in `status` and `next`;
/// the command they print resumes it, and `issue --format json` says so in the change's
/// `notes` — as it says why a new order was made for an order recorded for another CA.
#[test]
fn an_order_in_progress_shows_in_status_and_issue_as_json_notes_the_resume() {
    let Some(p) = Pebble::start(Options::default()) else {
        return;
    };
    let (plan, _) = shop_plan();
    let root = p.root_file();
    let (recorded, order) = abandon_manual_issue(&p, &plan);

    let status = plan.run(&["status", "--format", "json"]).code(1).json();
    let shown = &status["items"][0]["acme_order_in_progress"];
    assert_eq!(shown["order_url"], order.as_str(), "{status}");
    assert_eq!(shown["directory"], p.directory.as_str());
    assert_eq!(shown["finalize_sent"], false);
    let resume = shown["resume_command"].as_str().unwrap().to_owned();
    plan.run(&["status"])
        .code(1)
        .stdout_has(&format!(
            "an ACME order is in progress at {order} (ordered at "
        ))
        .stdout_has(&format!("run `{resume}` again to resume it"));
    plan.run(&["next"])
        .code(1)
        .stdout_has(&format!("    {resume}\n"));

    // The printed command carries the trust the order was made with (this test CA's TLS
    // root and its issuing root): only DIR is filled in.
    let words: Vec<&str> = resume.split_whitespace().collect();
    for (flag, file) in [("--acme-roots", &p.tls_ca), ("--roots", &root)] {
        let named = words
            .windows(2)
            .find(|w| w[0] == flag)
            .unwrap_or_else(|| panic!("{flag} missing in {resume}"))[1];
        let same = |f: &Path| std::fs::canonicalize(f).unwrap();
        assert_eq!(same(Path::new(named)), same(file), "{resume}");
    }
    let webroot = plan.dir.path().join("www");
    let issue_json = |command: &str| {
        let mut words: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(|w| match w {
                "DIR" => webroot.display().to_string(),
                w => w.to_owned(),
            })
            .collect();
        words.extend([
            "--format".into(),
            "json".into(),
            "--now".into(),
            at(time::OffsetDateTime::now_utc() + Duration::from_secs(30)),
        ]);
        Test::new()
            .without_now()
            .args(words)
            .env("USER", "alice")
            .run()
            .code(0)
            .json()
    };
    let report = issue_json(&resume);
    let change = &report["changes"][0];
    assert_eq!(change["from"], "csr-generated", "{report}");
    assert_eq!(change["to"], "issued", "{report}");
    let notes = change["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.starts_with(&format!(
            "resumed the order {order} recorded by an interrupted run"
        )) && note.ends_with("; no new order was made"),
        "{report}"
    );
    assert_eq!(plan.item()["issued"]["acme"]["order_url"], order.as_str());
    assert!(plan.item()["acme_intent"].is_null());
    let status = plan.run(&["status", "--format", "json"]).code(1).json();
    assert!(status["items"][0]["acme_order_in_progress"].is_null());

    // The plan from before, its order recorded for another CA: a new order, and why.
    let mut before: serde_json::Value = serde_json::from_str(&recorded).unwrap();
    before["items"][0]["acme_intent"]["directory"] = "https://ca.invalid/dir".into();
    std::fs::write(plan.state(), before.to_string()).unwrap();
    let command = format!(
        "certsweep rotate issue {} --acme-directory {} --acme-roots {} --roots {} --http01-webroot DIR --state {}",
        plan.id(),
        p.directory,
        p.tls_ca.display(),
        root.display(),
        plan.state().display()
    );
    let report = issue_json(&command);
    assert_eq!(
        report["changes"][0]["notes"],
        serde_json::json!([format!(
            "the order {order} recorded by an interrupted run is for another CA (https://ca.invalid/dir); a new order was made"
        )]),
        "{report}"
    );
    assert_ne!(plan.item()["issued"]["acme"]["order_url"], order.as_str());
}
