//! PKCS#7 bundles and PKCS#12 files (fixtures made by `fixtures/gen-p12.sh` with the
//! OpenSSL CLI) through every command that reads certificates.

use std::time::{Duration, Instant};

use crate::harness::*;

const F: &str = "fixtures/formats";
const PASSWORD: &str = "correct horse battery staple";
const PASSWORD_FILE: &str = "fixtures/formats/p12-password.txt";

fn scan_json(args: &[&str]) -> Run {
    Test::new()
        .arg("scan")
        .args(args.iter().copied())
        .args(["--format", "json"])
        .run()
}

fn subjects(r: &serde_json::Value) -> Vec<String> {
    r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn pkcs7_bundles_in_pem_and_der_give_every_certificate() {
    for file in ["bundle.p7b", "bundle.p7c"] {
        let r = scan_json(&[&format!("{F}/{file}")]).code(0).json();
        let s = subjects(&r);
        assert_eq!(s.len(), 3, "{file}: {s:?}");
        assert_eq!(s[0], "CN=shop.example.com");
        assert!(s[1].starts_with("CN=Certsweep Demo Issuing CA 1"), "{file}");
        assert!(s[2].starts_with("CN=Certsweep Demo Root CA"), "{file}");
        assert_eq!(r["certificates"][0]["role"], "leaf");
        assert_eq!(r["certificates"][1]["role"], "chain");
        assert_eq!(r["errors"].as_array().unwrap().len(), 0);
    }
    // DER: numbered by position in the bundle; PEM: the PKCS7 block's number.
    let der = scan_json(&[&format!("{F}/bundle.p7c")]).json();
    let idx: Vec<_> = der["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [1, 2, 3]);
}

#[test]
fn pkcs7_that_is_not_signed_data_is_a_clear_error() {
    let run = scan_json(&[&format!("{F}/data.p7m")]).code(2);
    let r = run.json();
    let reason = r["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("is not SignedData"), "{reason}");
    assert!(reason.contains("1.2.840.113549.1.7.1 (data)"), "{reason}");
}

/// Every way of giving the password, for every PKCS#12 flavour.
#[test]
fn pkcs12_modern_legacy_and_empty_password_are_read_and_the_key_matched() {
    let cases: [(&str, Vec<&str>, Option<&str>); 4] = [
        (
            "shop-modern.p12",
            vec!["--p12-password-file", PASSWORD_FILE],
            None,
        ),
        ("shop-legacy.p12", vec![], Some(PASSWORD)),
        ("shop-empty.p12", vec![], None),
        (
            "legacy-rsa.pfx",
            vec!["--p12-password-file", PASSWORD_FILE],
            None,
        ),
    ];
    for (file, flags, env) in cases {
        let mut t = Test::new()
            .args(["scan", &format!("{F}/{file}"), "--format", "json"])
            .args(["--uploaded-at", "2015-01-01", "--cutoff", CUTOFF])
            .args(flags.iter().copied());
        if let Some(p) = env {
            t = t.env("CERTSWEEP_P12_PASSWORD", p);
        }
        let run = t.run().code(1);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("PRIVATE KEY"), "{file}");
            assert!(!text.contains(PASSWORD), "{file}: password printed");
        }
        let r = run.json();
        assert_eq!(r["summary"]["private_keys"], 1, "{file}");
        let leaf = &r["certificates"][0];
        assert_eq!(leaf["private_key_in_upload"], true, "{file}");
        assert_eq!(leaf["status"], "exposed", "{file}");
        assert_eq!(leaf["role"], "leaf", "{file}");
        if file == "legacy-rsa.pfx" {
            assert_eq!(leaf["key"]["bits"], 2048);
            assert_eq!(r["certificates"].as_array().unwrap().len(), 1);
        } else {
            assert_eq!(r["certificates"].as_array().unwrap().len(), 2, "{file}");
            assert_eq!(r["certificates"][1]["role"], "chain", "{file}");
        }
    }
}

#[test]
fn wrong_password_is_a_per_file_error_and_the_rest_is_classified() {
    let run = Test::new()
        .args([
            "scan",
            &format!("{F}/shop-modern.p12"),
            &format!("{F}/bundle.p7c"),
        ])
        .args(["--format", "json"])
        .env("CERTSWEEP_P12_PASSWORD", "not the password")
        .run()
        .code(2)
        .stderr_has("shop-modern.p12: wrong password or corrupted file (MAC check failed)");
    assert!(!run.stderr.contains("not the password"));
    let r = run.json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 3);
    assert_eq!(r["errors"].as_array().unwrap().len(), 1);
    assert_eq!(r["errors"][0]["path"], format!("{F}/shop-modern.p12"));
}

#[test]
fn a_p12_without_a_password_says_how_to_give_one() {
    scan_json(&[&format!("{F}/shop-legacy.p12")])
        .code(2)
        .stderr_has("needs a password: --p12-password-file FILE or CERTSWEEP_P12_PASSWORD");
}

#[test]
fn truncated_and_huge_iteration_files_are_errors_quickly() {
    let start = Instant::now();
    let run = Test::new()
        .args([
            "scan",
            &format!("{F}/truncated.p12"),
            &format!("{F}/huge-iterations.p12"),
        ])
        .args(["--format", "json", "--p12-password-file", PASSWORD_FILE])
        .run()
        .code(2);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    let r = run.json();
    let reasons: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("truncated"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("asks for 2000000000 iterations, more than the limit of 10000000"),
        "{}",
        reasons[1]
    );
}

#[test]
fn unknown_der_names_the_formats_tried() {
    let dir = temp();
    // SEQUENCE { INTEGER 42 }: DER, but none of the formats.
    let p = write(dir.path(), "odd.der", [0x30, 0x03, 0x02, 0x01, 0x2a]);
    scan_json(&[p.to_str().unwrap()])
        .code(2)
        .stderr_has("not a DER certificate, PKCS#7 bundle, PKCS#12 file or private key");
}

#[test]
fn argv_password_is_refused() {
    for cmd in ["scan", "inspect"] {
        Test::new()
            .args([
                cmd,
                &format!("{F}/shop-modern.p12"),
                "--p12-password",
                "secret",
            ])
            .run()
            .code(2)
            .stderr_has("--p12-password is refused");
    }
}

#[test]
fn inspect_reads_p12_and_p7b() {
    let r = Test::new()
        .args([
            "inspect",
            &format!("{F}/shop-modern.p12"),
            &format!("{F}/bundle.p7b"),
        ])
        .args(["--format", "json", "--p12-password-file", PASSWORD_FILE])
        .run()
        .code(0)
        .json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 5);
    assert_eq!(r["certificates"][0]["private_key_in_file"], true);
    assert_eq!(r["private_keys"][0]["matches_certificate"], true);
}

#[test]
fn csr_from_a_p12_and_a_p7b() {
    for (file, env) in [("shop-modern.p12", Some(PASSWORD)), ("bundle.p7c", None)] {
        let dir = temp();
        let mut t = Test::new()
            .args([
                "csr",
                "--out-dir",
                dir.path().to_str().unwrap(),
                "--format",
                "json",
            ])
            .args(["--cert", &format!("{F}/{file}")]);
        if let Some(p) = env {
            t = t.env("CERTSWEEP_P12_PASSWORD", p);
        }
        let r = t.run().code(0).json();
        let csrs = r["csrs"].as_array().unwrap();
        assert_eq!(csrs.len(), 1, "{file}");
        assert!(
            csrs[0]["csr_path"]
                .as_str()
                .unwrap()
                .ends_with("shop.example.com.csr.pem"),
            "{file}"
        );
    }
}

#[test]
fn roots_may_be_a_pkcs7_bundle() {
    // The CRL's issuer (Issuing CA 1) is found only in the bundle given as --roots.
    let r = scan_json(&[
        "fixtures/demo/uploads/revoked.pem",
        "--crl",
        "fixtures/demo/revocations.crl",
        "--roots",
        &format!("{F}/bundle.p7c"),
    ])
    .code(0)
    .json();
    assert_eq!(r["certificates"][0]["status"], "revoked");
}
