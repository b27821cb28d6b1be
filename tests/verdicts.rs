//! Verdicts a user can trust (issue 10): an exposed key always wins, a lone CA certificate is
//! a leaf, keys/CSRs/public keys in their own files, one record per certificate however often
//! it was uploaded.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

const SHOP: &str = "fixtures/demo/uploads/shop.pem";
const FRESH: &str = "fixtures/demo/uploads/fresh.pem";
const ROOT_CA: &str = "fixtures/ca/root-ca.pem";

/// The PEM blocks of a fixture, each with its BEGIN and END lines.
fn blocks(rel: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
            if line.starts_with("-----END ") {
                out.push(current.take().unwrap());
            }
        }
    }
    out
}

/// shop.pem's certificates (leaf, issuing CA) and its private key, as separate texts.
fn shop_parts() -> (String, String) {
    let b = blocks(SHOP);
    let certs: String = b
        .iter()
        .filter(|x| x.contains("CERTIFICATE"))
        .cloned()
        .collect();
    let key: String = b
        .iter()
        .filter(|x| x.contains("PRIVATE KEY"))
        .cloned()
        .collect();
    assert!(!certs.is_empty() && !key.is_empty());
    (certs, key)
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn scan(args: &[&str]) -> Run {
    Test::new()
        .arg("scan")
        .args(args.iter().copied())
        .args(["--format", "json"])
        .run()
}

fn record<'a>(r: &'a serde_json::Value, subject_has: &str) -> &'a serde_json::Value {
    let found: Vec<_> = r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"].as_str().unwrap().contains(subject_has))
        .collect();
    assert_eq!(found.len(), 1, "one record for {subject_has}: {r:#}");
    found[0]
}

fn spki_of(rel: &str, subject_has: &str) -> String {
    let r = scan(&[rel]).json();
    record(&r, subject_has)["spki_sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

// ---- 1. An exposed key always wins -----------------------------------------------------

#[test]
fn an_exposed_keys_list_without_cutoff_makes_a_finding() {
    let dir = temp();
    let list = write(
        dir.path(),
        "exposed.txt",
        format!("# from another team\n{}\n", spki_of(FRESH, "fresh")),
    );
    // Without the list, a plain inventory: valid, nothing to do.
    let r = scan(&[FRESH]).code(0).json();
    assert_eq!(record(&r, "fresh")["status"], "valid");
    // With it, the certificate is on an exposed key: a finding, replace, exit 1.
    let r = scan(&[FRESH, "--exposed-keys", s(&list)]).code(1).json();
    let fresh = record(&r, "fresh");
    assert_eq!(fresh["status"], "key-reused");
    assert_eq!(fresh["action"], "replace");
    assert_eq!(fresh["key_exposed"], true);
    let reasons = fresh["reasons"].to_string();
    assert!(reasons.contains("exposed-keys list"), "{reasons}");
    assert!(
        !reasons.contains("before the cutoff"),
        "no cutoff was given: {reasons}"
    );
}

#[test]
fn a_ca_certificate_on_a_listed_key_is_never_chain() {
    // shop.pem holds its leaf and the Issuing CA: the CA is chain, until its key is listed.
    let dir = temp();
    let list = write(
        dir.path(),
        "exposed.txt",
        format!("{}\n", spki_of(SHOP, "Issuing CA")),
    );
    let args = ["--uploaded-at", "2017-01-01", "--cutoff", CUTOFF];
    let r = scan(&[&[SHOP][..], &args].concat()).code(0).json();
    let ca = record(&r, "Issuing CA");
    assert_eq!(ca["role"], "chain");
    assert_eq!(ca["status"], "not-affected");
    let r = scan(&[&[SHOP, "--exposed-keys", s(&list)][..], &args].concat())
        .code(1)
        .json();
    let ca = record(&r, "Issuing CA");
    assert_eq!(ca["role"], "leaf");
    assert_eq!(ca["status"], "key-reused");
    assert_eq!(ca["action"], "replace");
    // Uploaded before the cutoff beside its leaf: exposed, and the reasons say why it is a
    // leaf (not that it was alone).
    let r = scan(&[
        SHOP,
        "--exposed-keys",
        s(&list),
        "--uploaded-at",
        "2016-01-01",
        "--cutoff",
        CUTOFF,
    ])
    .code(1)
    .json();
    let ca = record(&r, "Issuing CA");
    assert_eq!(ca["role"], "leaf");
    assert_eq!(ca["status"], "exposed");
    let reasons = ca["reasons"].to_string();
    assert!(reasons.contains("key is exposed elsewhere"), "{reasons}");
    assert!(!reasons.contains("no leaf beside it"), "{reasons}");
}

#[test]
fn a_lone_self_signed_ca_certificate_is_a_leaf() {
    // Like `openssl req -x509` (CA:TRUE by default): one self-signed CA certificate, alone.
    let dir = temp();
    let lone = write(
        dir.path(),
        "lone.pem",
        std::fs::read(root().join(ROOT_CA)).unwrap(),
    );
    let r = scan(&[s(&lone), "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .json();
    let c = record(&r, "Root CA");
    assert_eq!(c["is_ca"], true);
    assert_eq!(c["role"], "leaf");
    assert_eq!(c["status"], "exposed");
    assert_eq!(c["action"], "replace");
    let reasons = c["reasons"].to_string();
    assert!(!reasons.contains("alongside a leaf"), "{reasons}");
    assert!(reasons.contains("no leaf beside it"), "{reasons}");
    assert_eq!(r["summary"]["exposed"], 1);
}

#[test]
fn openssl_req_x509_alone_is_an_exposed_leaf() {
    // The issue's exact case. Its notBefore is the day the test runs; the verdict does not
    // depend on it (uploaded 2016 by --uploaded-at, valid until 100 years later).
    let dir = temp();
    let cert = dir.path().join("self.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        s(&dir.path().join("self.key")),
        "-subj",
        "/CN=self.example.com",
        "-days",
        "36500",
        "-out",
        s(&cert),
    ]);
    let r = scan(&[s(&cert), "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .json();
    let c = record(&r, "self.example.com");
    assert_eq!(c["is_ca"], true, "openssl req -x509 sets CA:TRUE");
    assert_eq!(c["role"], "leaf");
    assert_eq!(c["status"], "exposed");
}

#[test]
fn a_ca_certificate_beside_its_leaf_is_still_chain() {
    let r = scan(&[SHOP, "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .json();
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["role"], "leaf");
    assert_eq!(leaf["status"], "exposed");
    let ca = record(&r, "Issuing CA");
    assert_eq!(ca["role"], "chain");
    assert_eq!(ca["status"], "not-affected");
    assert!(ca["reasons"]
        .to_string()
        .contains("alongside a leaf it is not"));
}

#[test]
fn uploaded_after_the_cutoff_with_no_exposed_key_is_still_not_affected() {
    let r = scan(&[FRESH, "--uploaded-at", "2017-01-01", "--cutoff", CUTOFF])
        .code(0)
        .json();
    assert_eq!(record(&r, "fresh")["status"], "not-affected");
}

// ---- 2. Keys and certificates in separate files ----------------------------------------

#[test]
fn a_key_in_its_own_file_is_read_and_reported_on_its_certificate() {
    let dir = temp();
    let (certs, key) = shop_parts();
    write(dir.path(), "shop.crt", certs);
    let key_path = write(dir.path(), "shop.key", key);
    let d = s(dir.path());
    let r = scan(&[d, "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .json();
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["private_keys"], 1);
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["status"], "exposed");
    assert_eq!(leaf["private_key_in_upload"], false, "not the same upload");
    assert_eq!(leaf["private_key_found_in"][0], s(&key_path));
    assert!(leaf["reasons"]
        .to_string()
        .contains(&format!("its private key was found in {}", s(&key_path))));
    // The CA beside it has no key: chain, no key found.
    let ca = record(&r, "Issuing CA");
    assert_eq!(ca["role"], "chain");
    assert_eq!(ca["private_key_found_in"].as_array().unwrap().len(), 0);
}

#[test]
fn private_key_in_upload_keeps_its_meaning() {
    let r = scan(&[SHOP, "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .json();
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["private_key_in_upload"], true);
    assert_eq!(leaf["private_key_found_in"][0], SHOP);
}

#[test]
fn a_key_found_elsewhere_makes_a_ca_certificate_the_leaf() {
    // The Root CA beside a leaf would be chain; its key found in another file makes it a leaf.
    let dir = temp();
    let mut both = std::fs::read_to_string(root().join(ROOT_CA)).unwrap();
    both.push_str(&blocks(FRESH)[0]);
    write(dir.path(), "bundle.pem", both);
    let args = ["--uploaded-at", "2016-01-01", "--cutoff", CUTOFF];
    let r = scan(&[&[s(dir.path())][..], &args].concat()).code(1).json();
    assert_eq!(record(&r, "Root CA")["role"], "chain");
    write(
        dir.path(),
        "root.key",
        std::fs::read(root().join("fixtures/ca/root-ca.key.pem")).unwrap(),
    );
    let r = scan(&[&[s(dir.path())][..], &args].concat()).code(1).json();
    let ca = record(&r, "Root CA");
    assert_eq!(ca["role"], "leaf");
    assert_eq!(ca["status"], "exposed");
}

#[test]
fn a_key_uploaded_before_the_cutoff_exposes_a_later_certificate() {
    let dir = temp();
    let (certs, key) = shop_parts();
    let crt = write(dir.path(), "shop.crt", certs);
    let key = write(dir.path(), "shop.key", key);
    let manifest = write(
        dir.path(),
        "m.json",
        format!(
            r#"[{{"id": "crt", "file": "{}", "uploaded_at": "2017-01-01"}},
               {{"id": "key", "file": "{}", "uploaded_at": "2016-01-01"}}]"#,
            s(&crt),
            s(&key)
        ),
    );
    let r = scan(&["--manifest", s(&manifest), "--cutoff", CUTOFF])
        .code(1)
        .json();
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["status"], "key-reused");
    assert!(leaf["reasons"].to_string().contains("a private key in"));
}

// ---- 3. Other PEM blocks ---------------------------------------------------------------

/// shop's key in a file, and a CSR and a public key made from it with openssl.
fn shop_key_material(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (_, key) = shop_parts();
    let key = write(dir, "shop.key", key);
    let csr = dir.join("renewal/shop.csr");
    std::fs::create_dir_all(csr.parent().unwrap()).unwrap();
    openssl(&[
        "req",
        "-new",
        "-key",
        s(&key),
        "-subj",
        "/CN=shop.example.com",
        "-out",
        s(&csr),
    ]);
    let public = dir.join("renewal/shop.pub");
    openssl(&["pkey", "-in", s(&key), "-pubout", "-out", s(&public)]);
    (key, csr, public)
}

#[test]
fn a_csr_and_a_public_key_on_an_exposed_key_are_findings() {
    let dir = temp();
    let (_, csr, public) = shop_key_material(dir.path());
    let renewal = dir.path().join("renewal");
    // A fresh CSR on a new key beside them is not a finding.
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        s(&dir.path().join("new.key")),
        "-subj",
        "/CN=new.example.com",
        "-out",
        s(&renewal.join("new.csr")),
    ]);
    let manifest = write(
        dir.path(),
        "m.json",
        format!(
            r#"[{{"id": "shop", "file": "{}", "uploaded_at": "2016-05-10"}}]"#,
            root().join(SHOP).display()
        ),
    );
    let r = scan(&["--manifest", s(&manifest), s(&renewal), "--cutoff", CUTOFF])
        .code(1)
        .json();
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["public_keys"], 3);
    let findings = r["key_findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    let req = findings
        .iter()
        .find(|f| f["key_kind"] == "certificate-request")
        .unwrap();
    assert_eq!(req["source"]["path"], s(&csr));
    assert_eq!(req["subject"], "CN=shop.example.com");
    assert_eq!(req["action"], "replace");
    assert!(req["reasons"].to_string().contains("do not submit it"));
    let pk = findings
        .iter()
        .find(|f| f["key_kind"] == "public-key")
        .unwrap();
    assert_eq!(pk["source"]["path"], s(&public));
    assert_eq!(r["summary"]["key_findings"], 2);
    // The certificate lists the CSR as another holder of its key.
    let leaf = record(&r, "shop.example.com");
    assert!(leaf["shares_key_with"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "certificate-request"));
}

#[test]
fn a_csr_on_a_key_that_is_not_exposed_is_read_quietly() {
    let dir = temp();
    let (_, csr, _) = shop_key_material(dir.path());
    // The CSR alone: a read input, nothing exposed, nothing to do.
    let r = scan(&[s(&csr), "--cutoff", CUTOFF]).code(0).json();
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["public_keys"], 1);
    assert_eq!(r["key_findings"].as_array().unwrap().len(), 0);
}

#[test]
fn a_crl_in_a_scanned_folder_is_named_by_type() {
    let dir = temp();
    std::fs::copy(root().join(FRESH), dir.path().join("fresh.pem")).unwrap();
    std::fs::copy(
        root().join("fixtures/demo/revocations.crl"),
        dir.path().join("ca.crl"),
    )
    .unwrap();
    let run = scan(&[s(dir.path())])
        .code(0)
        .stderr_has("an X509 CRL, not a certificate (revocation lists are read with --crl)");
    let r = run.json();
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["warnings"], 1);
    assert_eq!(r["warnings"][0]["path"], s(&dir.path().join("ca.crl")));
}

#[test]
fn encrypted_keys_are_read_with_the_passphrase_from_a_file_or_the_environment() {
    let dir = temp();
    let (certs, key) = shop_parts();
    let plain = write(dir.path(), "plain.key", key);
    let pass = write(dir.path(), "pass.txt", "correct horse\n");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    write(&files, "shop.crt", certs);
    let enc = files.join("shop.key");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        s(&plain),
        "-v2",
        "aes-256-cbc",
        "-passout",
        &format!("file:{}", s(&pass)),
        "-out",
        s(&enc),
    ]);
    assert!(std::fs::read_to_string(&enc)
        .unwrap()
        .contains("ENCRYPTED PRIVATE KEY"));
    let args = [s(&files), "--uploaded-at", "2017-01-01", "--cutoff", CUTOFF];
    let check = |run: Run| {
        let r = run.code(0).json();
        assert_eq!(r["summary"]["complete"], true, "{r:#}");
        let leaf = record(&r, "shop.example.com");
        assert_eq!(leaf["private_key_found_in"][0], s(&enc));
        assert_eq!(leaf["role"], "leaf");
    };
    check(scan(
        &[&args[..], &["--key-passphrase-file", s(&pass)]].concat(),
    ));
    check(
        Test::new()
            .arg("scan")
            .args(args)
            .args(["--format", "json"])
            .env("CERTSWEEP_KEY_PASSPHRASE", "correct horse")
            .run(),
    );
    // Without the passphrase, a key alone in its file may belong to any certificate:
    // the audit is incomplete, and the message says what it is and how to open it.
    let run = scan(&args)
        .code(2)
        .stderr_has("an ENCRYPTED PRIVATE KEY")
        .stderr_has("--key-passphrase-file");
    assert_eq!(run.json()["summary"]["errors"], 1);
    // A wrong passphrase says so.
    let wrong = write(dir.path(), "wrong.txt", "battery staple\n");
    scan(&[&args[..], &["--key-passphrase-file", s(&wrong)]].concat())
        .code(2)
        .stderr_has("wrong passphrase");
}

#[test]
fn an_unreadable_key_beside_its_certificate_is_a_warning() {
    let dir = temp();
    let (certs, key) = shop_parts();
    let plain = write(dir.path(), "plain.key", key);
    let pass = write(dir.path(), "pass.txt", "pw\n");
    let enc = dir.path().join("enc.key");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        s(&plain),
        "-v2",
        "aes-128-cbc",
        "-passout",
        &format!("file:{}", s(&pass)),
        "-out",
        s(&enc),
    ]);
    let both = write(
        dir.path(),
        "shop.pem",
        format!("{certs}{}", std::fs::read_to_string(&enc).unwrap()),
    );
    let run = scan(&[s(&both), "--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .code(1)
        .stderr_has("certsweep: warning:");
    let r = run.json();
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["warnings"], 1);
    assert_eq!(record(&r, "shop.example.com")["status"], "exposed");
}

#[test]
fn the_error_count_counts_inputs_not_messages() {
    let dir = temp();
    let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let two = write(dir.path(), "two-bad.pem", format!("{bad}{bad}"));
    let r = scan(&[s(&two), FRESH]).code(2).json();
    // Two broken blocks and "no certificate found": three messages about one input.
    assert_eq!(r["errors"].as_array().unwrap().len(), 3);
    assert_eq!(r["summary"]["errors"], 1);
}

// ---- 4. One certificate uploaded several times -----------------------------------------

/// A manifest that lists shop.pem twice (2017, then 2016) and fresh.pem once.
fn twice(dir: &Path, first: &str, second: &str) -> PathBuf {
    let shop = root().join(SHOP);
    let fresh = root().join(FRESH);
    write(
        dir,
        "m.json",
        format!(
            r#"[{{"id": "shop-again", "file": "{0}", {first} "host": "shop.example.com"}},
               {{"id": "shop", "file": "{0}", {second} "host": "shop.example.com"}},
               {{"id": "fresh", "file": "{1}", "uploaded_at": "2017-03-02"}}]"#,
            shop.display(),
            fresh.display()
        ),
    )
}

#[test]
fn one_certificate_uploaded_twice_is_one_record_decided_by_the_earliest_upload() {
    let dir = temp();
    let m = twice(
        dir.path(),
        r#""uploaded_at": "2017-06-01","#,
        r#""uploaded_at": "2016-05-10","#,
    );
    let r = scan(&["--manifest", s(&m), "--cutoff", CUTOFF])
        .code(1)
        .json();
    let certs = r["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 3, "shop, its CA, fresh");
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["status"], "exposed");
    assert_eq!(leaf["source"]["manifest_id"], "shop");
    assert_eq!(leaf["source"]["uploaded_at"], "2016-05-10T00:00:00Z");
    let also = leaf["also_uploaded"].as_array().unwrap();
    assert_eq!(also.len(), 1);
    assert_eq!(also[0]["manifest_id"], "shop-again");
    assert_eq!(also[0]["uploaded_at"], "2017-06-01T00:00:00Z");
    assert!(leaf["reasons"].to_string().contains("uploaded 2 times"));
    // The same certificate is not "another holder" of its own key.
    assert_eq!(leaf["shares_key_total"], 0);
    assert_eq!(r["summary"]["exposed"], 1);
}

#[test]
fn an_undated_second_upload_is_not_not_affected() {
    let dir = temp();
    let m = twice(dir.path(), "", r#""uploaded_at": "2017-06-01","#);
    let r = scan(&["--manifest", s(&m), "--cutoff", CUTOFF])
        .code(1)
        .json();
    let leaf = record(&r, "shop.example.com");
    assert_eq!(leaf["source"]["uploaded_at"], "2017-06-01T00:00:00Z");
    assert_eq!(leaf["status"], "unknown-upload");
}

#[test]
fn rotate_init_and_csr_from_a_scan_see_one_item_per_certificate() {
    let dir = temp();
    let m = twice(
        dir.path(),
        r#""uploaded_at": "2016-06-01","#,
        r#""uploaded_at": "2016-05-10","#,
    );
    let state = dir.path().join("plan.json");
    Test::new()
        .args(["rotate", "--state", s(&state), "init", "--manifest", s(&m)])
        .args(["--cutoff", CUTOFF])
        .env("USER", "alice")
        .run()
        .code(0)
        .stdout_has("1 new item(s)");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(plan["items"].as_array().unwrap().len(), 1);

    let report = write(
        dir.path(),
        "scan.json",
        scan(&["--manifest", s(&m), "--cutoff", CUTOFF])
            .code(1)
            .stdout,
    );
    let out = dir.path().join("csrs");
    let r = Test::new()
        .args(["csr", "--from-report", s(&report), "--out-dir", s(&out)])
        .args(["--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(r["csrs"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        2,
        "one CSR, one key"
    );
}

#[test]
fn rotate_init_shows_input_warnings_too() {
    let dir = temp();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(root().join(SHOP), inputs.join("shop.pem")).unwrap();
    std::fs::copy(
        root().join("fixtures/demo/revocations.crl"),
        inputs.join("ca.crl"),
    )
    .unwrap();
    let state = dir.path().join("plan.json");
    Test::new()
        .args(["rotate", "--state", s(&state), "init", s(&inputs)])
        .args(["--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .env("USER", "alice")
        .run()
        .code(0)
        .stdout_has("1 new item(s)")
        .stderr_has("warning: ")
        .stderr_has("an X509 CRL, not a certificate");
}
