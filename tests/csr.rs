//! `certsweep csr`: new keys, the exact old identity, never clobbering a file.

use std::path::Path;
use std::process::Command;

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::harness::*;

/// The DER inside the first PEM block of a file.
fn pem_der(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .take_while(|l| !l.contains("-----"))
        .collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn cert_der(fixture_path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(root().join(fixture_path)).unwrap();
    let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    pem_der_text(&text[start..])
}

fn pem_der_text(text: &str) -> Vec<u8> {
    let body: String = text
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap()
}

/// SAN strings of a CSR, in order.
fn csr_sans(csr: &X509CertificationRequest<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for gn in &san.general_names {
                out.push(match gn {
                    GeneralName::DNSName(n) => format!("DNS:{n}"),
                    GeneralName::RFC822Name(n) => format!("email:{n}"),
                    GeneralName::URI(n) => format!("URI:{n}"),
                    GeneralName::IPAddress(b) => format!("IP:{b:?}"),
                    other => format!("{other:?}"),
                });
            }
        }
    }
    out
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)")
}

fn csr_json(out: &Path, extra: &[&str]) -> Run {
    Test::new()
        .args([
            "csr",
            "--out-dir",
            out.to_str().unwrap(),
            "--format",
            "json",
        ])
        .args(extra.iter().copied())
        .run()
}

#[test]
fn every_key_type_keeps_the_exact_identity_and_verifies() {
    let old_der = cert_der("fixtures/demo/uploads/tricky.pem");
    let (_, old) = X509Certificate::from_der(&old_der).unwrap();
    let kinds = [
        ("ecdsa-p256", "ecdsa-with-SHA256"),
        ("ecdsa-p384", "ecdsa-with-SHA384"),
        ("ed25519", "ED25519"),
        ("rsa-2048", "sha256WithRSAEncryption"),
        ("rsa-3072", "sha256WithRSAEncryption"),
        ("rsa-4096", "sha256WithRSAEncryption"),
    ];
    for (kind, sig_name) in kinds {
        let dir = temp();
        let r = csr_json(
            dir.path(),
            &[
                "--cert",
                "fixtures/demo/uploads/tricky.pem",
                "--key-type",
                kind,
            ],
        )
        .code(0)
        .json();
        let c = &r["csrs"][0];
        assert_eq!(c["key_type"], kind);
        assert_eq!(c["subject_unchanged"], true);
        let csr_path = Path::new(c["csr_path"].as_str().unwrap()).to_path_buf();
        let key_path = Path::new(c["key_path"].as_str().unwrap()).to_path_buf();
        assert!(
            csr_path.ends_with("tricky.example.com.csr.pem"),
            "{csr_path:?}"
        );

        // x509-parser: parses, signature verifies, subject byte-identical, SANs in order.
        let der = pem_der(&csr_path);
        let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
        csr.verify_signature()
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let info = &csr.certification_request_info;
        assert_eq!(
            info.subject.as_raw(),
            old.tbs_certificate.subject().as_raw(),
            "{kind}"
        );
        assert_eq!(
            csr_sans(&csr),
            [
                "DNS:tricky.example.com",
                "DNS:www.tricky.example.com",
                "IP:[192, 0, 2, 10]",
                "IP:[32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16]",
                "email:admin@tricky.example.com",
                "URI:https://tricky.example.com/"
            ]
        );
        // The reported new SPKI hash is the CSR's key, and not the old one.
        let spki = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, info.subject_pki.raw);
        assert_eq!(c["new_spki_sha256"], hex::encode(spki.as_ref()));
        assert_ne!(c["new_spki_sha256"], c["old"]["spki_sha256"]);

        // OpenSSL agrees: the self-signature verifies, with the expected algorithm.
        let out = openssl(&[
            "req",
            "-in",
            csr_path.to_str().unwrap(),
            "-noout",
            "-verify",
            "-text",
        ]);
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(sig_name), "{kind}: {text}");

        // The key is PKCS#8, 0600, readable by OpenSSL, and matches the CSR.
        let key_text = std::fs::read_to_string(&key_path).unwrap();
        assert!(key_text.starts_with("-----BEGIN PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{kind}");
        }
        let from_key = openssl(&["pkey", "-in", key_path.to_str().unwrap(), "-pubout"]);
        let from_csr = openssl(&[
            "req",
            "-in",
            csr_path.to_str().unwrap(),
            "-noout",
            "-pubkey",
        ]);
        assert!(from_key.status.success());
        assert_eq!(from_key.stdout, from_csr.stdout, "{kind}: key matches CSR");
        assert!(
            !r.to_string().contains("PRIVATE KEY"),
            "no key bytes in the output"
        );
    }
}

#[test]
fn refuses_to_overwrite_and_changes_nothing() {
    let dir = temp();
    let existing = write(dir.path(), "shop.example.com.key.pem", b"precious");
    let report = dir.path().join("scan.json");
    let scan = demo_json(&[]).code(1);
    std::fs::write(&report, &scan.stdout).unwrap();
    let run = Test::new()
        .args([
            "csr",
            "--from-report",
            report.to_str().unwrap(),
            "--out-dir",
        ])
        .arg(dir.path())
        .run()
        .code(2)
        .stderr_has("refusing to overwrite");
    assert!(run.stderr.contains("shop.example.com.key.pem"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["scan.json", "shop.example.com.key.pem"],
        "no other file written"
    );
}

#[test]
fn from_report_end_to_end() {
    let dir = temp();
    let report = dir.path().join("scan.json");
    std::fs::write(&report, demo_json(&[]).code(1).stdout).unwrap();
    let out = dir.path().join("csrs");
    let r = Test::new()
        .args([
            "csr",
            "--from-report",
            report.to_str().unwrap(),
            "--out-dir",
        ])
        .arg(&out)
        .args(["--format", "json"])
        .run()
        .code(0)
        .json();
    let mut names: Vec<&str> = r["csrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "api.example.com",
            "big.example.com",
            "inline.example.com",
            "legacy.example.com",
            "mail.example.com",
            "new.example.com",
            "shop.example.com",
            "tricky.example.com"
        ]
    );
    assert_eq!(r["errors"].as_array().unwrap().len(), 0);
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, 16, "a CSR and a key each");
    // The same from the manifest directly.
    let out2 = dir.path().join("direct");
    let r2 = Test::new()
        .args([
            "csr",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
        ])
        .args([
            "--crl",
            "fixtures/demo/revocations.crl",
            "--format",
            "json",
            "--out-dir",
        ])
        .arg(&out2)
        .run()
        .code(1) // the demo's undated certificate is named, not silently skipped
        .stderr_has("fixtures/demo/uploads/unknown.pem#1")
        .json();
    assert_eq!(r2["csrs"].as_array().unwrap().len(), 8);
}

#[test]
fn report_that_no_longer_matches_its_files() {
    let dir = temp();
    write(dir.path(), "a.pem", fixture("demo/uploads/shop.pem"));
    let scan = Test::new()
        .args(["scan", dir.path().join("a.pem").to_str().unwrap()])
        .args([
            "--uploaded-at",
            "2015-01-01",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run()
        .code(1);
    let report = write(dir.path(), "scan.json", scan.stdout);
    write(dir.path(), "a.pem", fixture("demo/uploads/fresh.pem"));
    Test::new()
        .args([
            "csr",
            "--from-report",
            report.to_str().unwrap(),
            "--out-dir",
        ])
        .arg(dir.path().join("out"))
        .run()
        .code(2)
        .stderr_has("changed since");
}

#[test]
fn san_edits_are_shown_and_a_cn_only_cert_gets_its_cn_as_san() {
    let dir = temp();
    let r = csr_json(
        dir.path(),
        &[
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--add-dns",
            "api.shop.example.com",
            "--drop-dns",
            "www.shop.example.com",
        ],
    )
    .code(0)
    .json();
    let c = &r["csrs"][0];
    assert_eq!(
        c["sans"],
        serde_json::json!(["DNS:shop.example.com", "DNS:api.shop.example.com"])
    );
    assert_eq!(
        c["changes"],
        serde_json::json!(["- DNS:www.shop.example.com", "+ DNS:api.shop.example.com"])
    );

    let key = dir.path().join("k.pem");
    let cert = dir.path().join("nosan.pem");
    let out = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-subj",
        "/CN=nosan.example.com",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
    ]);
    assert!(out.status.success());
    let out_dir = dir.path().join("o2");
    let r = csr_json(&out_dir, &["--cert", cert.to_str().unwrap()])
        .code(0)
        .json();
    let c = &r["csrs"][0];
    assert_eq!(c["sans"], serde_json::json!(["DNS:nosan.example.com"]));
    assert!(c["changes"][0]
        .as_str()
        .unwrap()
        .contains("browsers ignore the CN"));
}

#[test]
fn subject_override_is_a_visible_change() {
    let dir = temp();
    let r = csr_json(
        dir.path(),
        &[
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--subject",
            "CN=shop.example.com,O=Acme\\, Inc.,C=US",
        ],
    )
    .code(0)
    .json();
    let c = &r["csrs"][0];
    assert_eq!(c["subject"], "CN=shop.example.com,O=Acme\\, Inc.,C=US");
    assert_eq!(c["subject_unchanged"], false);
    assert!(c["changes"][0]
        .as_str()
        .unwrap()
        .starts_with("subject: CN=shop.example.com -> "));
}

#[test]
fn encrypted_key_with_passphrase_from_file_or_env_never_argv() {
    let dir = temp();
    let pass = write(dir.path(), "pass.txt", "correct horse\n");
    let out = dir.path().join("o");
    let r = csr_json(
        &out,
        &[
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--encrypt-key",
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
    )
    .code(0)
    .json();
    let key = r["csrs"][0]["key_path"].as_str().unwrap().to_owned();
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let ok = openssl(&[
        "pkey",
        "-in",
        &key,
        "-passin",
        &format!("file:{}", pass.display()),
        "-noout",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let wrong = write(dir.path(), "wrong.txt", "nope\n");
    let bad = openssl(&[
        "pkey",
        "-in",
        &key,
        "-passin",
        &format!("file:{}", wrong.display()),
        "-noout",
    ]);
    assert!(!bad.status.success());

    let out2 = dir.path().join("o2");
    Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--encrypt-key",
            "--out-dir",
        ])
        .arg(&out2)
        .env("CERTSWEEP_KEY_PASSPHRASE", "from the environment")
        .run()
        .code(0);

    Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--passphrase",
            "hunter2",
        ])
        .run()
        .code(2)
        .stderr_has("--passphrase is refused");
    Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--encrypt-key",
            "--out-dir",
        ])
        .arg(dir.path().join("o3"))
        .run()
        .code(2)
        .stderr_has("CERTSWEEP_KEY_PASSPHRASE");
}

#[test]
fn csr_usage_errors() {
    Test::new()
        .arg("csr")
        .run()
        .code(2)
        .stderr_has("what to replace?");
    Test::new()
        .args(["csr", "--manifest", "fixtures/demo/manifest.json"])
        .run()
        .code(2)
        .stderr_has("needs --cutoff");
    Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--add-dns",
            "bücher.example",
        ])
        .run()
        .code(2)
        .stderr_has("xn--");
}
