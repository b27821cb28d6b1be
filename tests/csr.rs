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

/// A self-signed certificate with only `CN=cn` (no subjectAltName), written to `dir/file`.
fn cn_only(dir: &Path, file: &str, cn: &str) -> std::path::PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    write(dir, file, cert.pem())
}

/// File names in `dir`, sorted (none when it does not exist).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_cn_without_sans_becomes_an_ip_san_or_the_item_is_refused_unless_add_dns_names_the_host() {
    let dir = temp();
    let ip = cn_only(dir.path(), "ip.pem", "10.0.0.5");
    let acme = cn_only(dir.path(), "acme.pem", "Acme Web Server");
    let dots = cn_only(dir.path(), "dots.pem", "../x");
    let out = dir.path().join("out");
    let run = csr_json(
        &out,
        &[
            "--cert",
            ip.to_str().unwrap(),
            "--cert",
            acme.to_str().unwrap(),
            "--cert",
            dots.to_str().unwrap(),
            "--cert",
            "fixtures/demo/uploads/shop.pem",
        ],
    )
    .code(2)
    .stderr_has("its CN 'Acme Web Server' is not a host name: give the name clients connect to with --add-dns NAME")
    .stderr_has("its CN '../x' is not a host name");
    let r = run.json();
    let csrs = r["csrs"].as_array().unwrap();
    let got: Vec<(&str, &serde_json::Value)> = csrs
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), &c["sans"]))
        .collect();
    assert_eq!(
        got,
        [
            ("10.0.0.5", &serde_json::json!(["IP:10.0.0.5"])),
            (
                "shop.example.com",
                &serde_json::json!(["DNS:shop.example.com", "DNS:www.shop.example.com"])
            ),
        ]
    );
    assert!(csrs[0]["changes"][0]
        .as_str()
        .unwrap()
        .contains("is an IP address, added as IP:10.0.0.5"));
    // The CSR itself carries the IP address.
    let der = pem_der(&out.join("10.0.0.5.csr.pem"));
    let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
    assert_eq!(csr_sans(&csr), ["IP:[10, 0, 0, 5]"]);
    let errors: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(errors, [acme.to_str().unwrap(), dots.to_str().unwrap()]);
    // Nothing written for the refused ones.
    assert_eq!(
        listing(&out),
        [
            "10.0.0.5.csr.pem",
            "10.0.0.5.key.pem",
            "shop.example.com.csr.pem",
            "shop.example.com.key.pem"
        ]
    );

    // --add-dns names the host: the subject stays, the SAN is the given name.
    let out2 = dir.path().join("out2");
    let r = csr_json(
        &out2,
        &[
            "--cert",
            acme.to_str().unwrap(),
            "--add-dns",
            "web.example.com",
        ],
    )
    .code(0)
    .json();
    let c = &r["csrs"][0];
    assert_eq!(c["subject"], "CN=Acme Web Server");
    assert_eq!(c["sans"], serde_json::json!(["DNS:web.example.com"]));
}

#[test]
fn identity_edits_need_one_certificate_and_a_drop_must_match() {
    let dir = temp();
    let report = write(
        dir.path(),
        "scan.json",
        demo_json(&[]).code(1).stdout.into_bytes(),
    );
    let report = report.to_str().unwrap();
    let out = dir.path().join("out");
    // Eight certificates to replace: an edit would hit all of them.
    for edit in [
        &["--add-dns", "x.example.com"][..],
        &["--drop-dns", "www.shop.example.com"],
        &["--subject", "CN=x.example.com"],
    ] {
        let mut args = vec!["--from-report", report];
        args.extend(edit);
        csr_json(&out, &args)
            .code(2)
            .stderr_has("certificates in this run (")
            .stderr_has("shop (shop.example.com)")
            .stderr_has("pick one with --only ITEM|HOST; nothing was written");
        assert!(!out.exists(), "nothing written");
    }
    // Scoped to one item (manifest id, or host) it goes ahead, for that one only.
    for only in ["shop", "SHOP.example.com"] {
        let out = dir.path().join(format!("only-{only}"));
        let r = csr_json(
            &out,
            &[
                "--from-report",
                report,
                "--only",
                only,
                "--add-dns",
                "x.example.com",
            ],
        )
        .code(0)
        .json();
        assert_eq!(r["csrs"].as_array().unwrap().len(), 1);
        assert_eq!(
            r["csrs"][0]["sans"],
            serde_json::json!([
                "DNS:shop.example.com",
                "DNS:www.shop.example.com",
                "DNS:x.example.com"
            ])
        );
        assert_eq!(listing(&out).len(), 2);
    }
    csr_json(
        &out,
        &["--from-report", report, "--only", "nowhere.example.com"],
    )
    .code(2)
    .stderr_has("--only nowhere.example.com: none of the 8 certificate(s)");
    // A drop that matches nothing is an error; nothing is written.
    csr_json(
        &out,
        &[
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--drop-dns",
            "ww.shop.example.com",
        ],
    )
    .code(2)
    .stderr_has("--drop-dns ww.shop.example.com is not a DNS name of the old certificate (its DNS names: shop.example.com, www.shop.example.com)")
    .stderr_has("no CSR was written");
    assert!(!out.exists(), "nothing written");
}

/// Runs certsweep in `dir` (the harness always runs from the crate root).
fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_certsweep"))
        .current_dir(dir)
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

#[test]
fn from_report_finds_inline_manifest_certificates_from_another_folder() {
    // The scan runs in one folder and writes its report there; csr runs in another.
    let dir = temp();
    let demo = dir.path().join("demo");
    std::fs::create_dir_all(demo.join("uploads")).unwrap();
    for f in ["manifest.json", "revocations.crl"] {
        std::fs::copy(root().join("fixtures/demo").join(f), demo.join(f)).unwrap();
    }
    for e in std::fs::read_dir(root().join("fixtures/demo/uploads")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), demo.join("uploads").join(e.file_name())).unwrap();
    }
    let scan = run_in(
        dir.path(),
        &[
            "scan",
            "--manifest",
            "demo/manifest.json",
            "--cutoff",
            CUTOFF,
            "--crl",
            "demo/revocations.crl",
            "--format",
            "json",
        ],
    )
    .code(1);
    write(dir.path(), "scan.json", scan.stdout);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let r = run_in(
        &elsewhere,
        &[
            "csr",
            "--from-report",
            "../scan.json",
            "--out-dir",
            "out",
            "--format",
            "json",
        ],
    )
    .code(0)
    .json();
    assert_eq!(r["errors"], serde_json::json!([]));
    let names: Vec<&str> = r["csrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"inline.example.com"), "{names:?}");
    assert!(elsewhere.join("out/inline.example.com.csr.pem").is_file());
}
