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

/// Runs a tool (openssl, keytool) in `dir`; the test fails if it does.
fn tool(dir: &std::path::Path, program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the PKCS#12 layouts real tools produce, in `dir`, from the shop upload (leaf, CA,
/// P-256 key): OpenSSL 3 in each of its modes, and Java's keytool (modern and legacy).
fn real_world_p12s(dir: &std::path::Path) -> Vec<(&'static str, usize, usize)> {
    let shop = root().join("fixtures/demo/uploads/shop.pem");
    let shop = shop.to_str().unwrap();
    write(dir, "pass.txt", format!("{PASSWORD}\n"));
    let openssl: [(&str, &[&str]); 9] = [
        ("default.p12", &[]),
        ("legacy.p12", &["-legacy"]),
        ("nomac.p12", &["-nomac"]),
        ("nomac-legacy.p12", &["-legacy", "-nomac"]),
        ("plain-bags.p12", &["-keypbe", "NONE", "-certpbe", "NONE"]),
        (
            "sha512-aes128.p12",
            &[
                "-macalg",
                "sha512",
                "-keypbe",
                "AES-128-CBC",
                "-certpbe",
                "AES-192-CBC",
            ],
        ),
        ("descert.p12", &["-descert"]),
        ("one-iteration.p12", &["-noiter", "-nomaciter"]),
        ("sha384-mac.p12", &["-macalg", "sha384"]),
    ];
    let mut files = Vec::new();
    for (name, flags) in openssl {
        let mut args = vec!["pkcs12", "-export", "-in", shop, "-name", "shop"];
        args.extend(["-passout", "file:pass.txt", "-out", name]);
        args.extend(flags);
        tool(dir, "openssl", &args);
        files.push((name, 2, 1));
    }
    // keytool rewrites a store in Java's own layout (PBES2/AES-256 and an HMAC-SHA256 MAC; with
    // keystore.pkcs12.legacy, RC2-40 and 3DES) and writes trusted-certificate-only stores.
    let store = |legacy: bool, dest: &'static str| {
        let mut args = vec![];
        if legacy {
            args.push("-J-Dkeystore.pkcs12.legacy");
        }
        args.extend([
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "default.p12",
        ]);
        args.extend(["-srcstoretype", "PKCS12", "-srcstorepass", PASSWORD]);
        args.extend(["-destkeystore", dest, "-deststoretype", "PKCS12"]);
        args.extend(["-deststorepass", PASSWORD]);
        tool(dir, "keytool", &args);
    };
    store(false, "keytool.p12");
    store(true, "keytool-legacy.p12");
    files.extend([("keytool.p12", 2, 1), ("keytool-legacy.p12", 2, 1)]);
    tool(dir, "openssl", &["x509", "-in", shop, "-out", "leaf.pem"]);
    tool(
        dir,
        "keytool",
        &[
            "-importcert",
            "-noprompt",
            "-alias",
            "leaf",
            "-file",
            "leaf.pem",
            "-keystore",
            "keytool-trust.p12",
            "-storetype",
            "PKCS12",
            "-storepass",
            PASSWORD,
        ],
    );
    files.push(("keytool-trust.p12", 1, 0));
    files
}

/// The strict DER reader (RustCrypto `der`) reads what OpenSSL and keytool really write: none
/// of these layouts is BER, and each one's certificates and key come out, the key matched.
#[test]
fn pkcs12_as_openssl_and_keytool_write_them_load_and_the_key_is_matched() {
    let dir = temp();
    let files = real_world_p12s(dir.path());
    let pass = dir.path().join("pass.txt").display().to_string();
    // One run per file: the report lists a certificate seen in several files once.
    for (file, certs, keys) in files {
        let r = Test::new()
            .args(["scan", dir.path().join(file).to_str().unwrap()])
            .args(["--format", "json", "--p12-password-file", &pass])
            .run()
            .code(0)
            .json();
        assert_eq!(
            r["errors"].as_array().unwrap().len(),
            0,
            "{file}: {}",
            r["errors"]
        );
        assert_eq!(r["certificates"].as_array().unwrap().len(), certs, "{file}");
        assert_eq!(r["summary"]["private_keys"], keys, "{file}");
        let leaf = &r["certificates"][0];
        assert_eq!(leaf["subject"], "CN=shop.example.com", "{file}");
        assert_eq!(leaf["private_key_in_upload"], keys == 1, "{file}");
    }
}

/// A PKCS#12 in BER (indefinite lengths, as BouncyCastle and EJBCA write) is named as such
/// with the way to rewrite it, and the run goes on. It used to be "not a DER certificate,
/// PKCS#7 bundle, PKCS#12 file or private key".
#[test]
fn a_ber_pkcs12_is_named_with_the_keytool_fix_and_the_run_goes_on() {
    let dir = temp();
    let der = fixture("formats/shop-empty.p12");
    assert_eq!(&der[..2], [0x30, 0x82]);
    let mut ber = vec![0x30, 0x80];
    ber.extend(&der[4..]);
    ber.extend([0, 0]);
    let p = write(dir.path(), "ber.p12", ber);
    let run = scan_json(&[p.to_str().unwrap(), &format!("{F}/bundle.p7c")]).code(2);
    let r = run.json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 3);
    let e = &r["errors"][0];
    assert_eq!(e["kind"], "unsupported");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "PKCS#12 file in BER encoding (indefinite lengths), which is not supported"
        ) && reason.contains("keytool -importkeystore"),
        "{reason}"
    );
    // keytool's rewrite of it is DER and loads.
    tool(
        dir.path(),
        "keytool",
        &[
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            "ber.p12",
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            "",
            "-destkeystore",
            "der.p12",
            "-deststoretype",
            "PKCS12",
            "-deststorepass",
            PASSWORD,
        ],
    );
    let pass = write(dir.path(), "pass.txt", PASSWORD);
    let r = Test::new()
        .args(["scan", dir.path().join("der.p12").to_str().unwrap()])
        .args([
            "--format",
            "json",
            "--p12-password-file",
            pass.to_str().unwrap(),
        ])
        .run()
        .json();
    assert_eq!(r["summary"]["private_keys"], 1, "{}", r["errors"]);
}

/// Bytes after a PFX are outside its MAC: the file is read and the junk is named, as after a
/// PKCS#7 bundle or a DER certificate (they used to be ignored silently).
#[test]
fn bytes_after_a_pkcs12_are_named() {
    let dir = temp();
    let mut bytes = fixture("formats/shop-empty.p12");
    bytes.extend(b"junk");
    let p = write(dir.path(), "junk.p12", bytes);
    let r = scan_json(&[p.to_str().unwrap()]).code(2).json();
    assert_eq!(r["summary"]["private_keys"], 1);
    assert_eq!(r["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(
        r["errors"][0]["reason"],
        "4 unexpected bytes after the PKCS#12 file"
    );
}

/// PBES2 with the PBKDF2 PRF left out (it defaults to HMAC-SHA1; OpenSSL omits it then):
/// RustCrypto's `Pbkdf2Params` requires it, ours does not.
#[test]
fn an_encrypted_key_with_the_default_prf_is_opened() {
    let dir = temp();
    let shop = root().join("fixtures/demo/uploads/shop.pem");
    write(dir.path(), "pass.txt", format!("{PASSWORD}\n"));
    tool(
        dir.path(),
        "openssl",
        &["pkey", "-in", shop.to_str().unwrap(), "-out", "key.pem"],
    );
    tool(
        dir.path(),
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "key.pem",
            "-v2",
            "aes-128-cbc",
            "-v2prf",
            "hmacWithSHA1",
            "-passout",
            "file:pass.txt",
            "-out",
            "enc.pem",
        ],
    );
    let enc = std::fs::read_to_string(dir.path().join("enc.pem")).unwrap();
    assert!(enc.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let r = Test::new()
        .args(["scan", dir.path().join("enc.pem").to_str().unwrap()])
        .args(["--format", "json", "--key-passphrase-file"])
        .arg(dir.path().join("pass.txt"))
        .run()
        .json();
    assert_eq!(r["summary"]["private_keys"], 1, "{}", r["errors"]);
}
