//! `certsweep inspect`: every field, for people and as JSON.

use crate::harness::*;

#[test]
fn inspect_json_has_every_field() {
    let r = Test::new()
        .args([
            "inspect",
            "fixtures/demo/uploads/tricky.pem",
            "--format",
            "json",
        ])
        .run()
        .code(0)
        .json();
    assert_eq!(r["schema_version"], 1);
    let c = &r["certificates"][0];
    assert_eq!(c["version"], 3);
    assert_eq!(c["serial"], "1014");
    assert_eq!(c["validity"], "valid");
    assert_eq!(c["is_ca"], false);
    assert_eq!(c["key_usage"], serde_json::json!(["Digital Signature"]));
    assert_eq!(c["extended_key_usage"], serde_json::json!(["serverAuth"]));
    assert_eq!(c["private_key_in_file"], true);
    assert_eq!(c["fingerprint_sha1"].as_str().unwrap().len(), 40);
    assert_eq!(c["dns_names"].as_array().unwrap().len(), 2);
    let exts: Vec<&str> = c["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(exts.contains(&"subjectAltName"), "{exts:?}");
    assert_eq!(r["private_keys"][0]["matches_certificate"], true);
    assert!(!r.to_string().contains("PRIVATE KEY"), "no key bytes");
}

#[test]
fn inspect_for_people_and_ca_details() {
    let run = Test::new()
        .args([
            "inspect",
            "fixtures/ca/intermediate-ca.pem",
            "fixtures/demo/uploads/old.pem",
        ])
        .run()
        .code(0);
    let run = run
        .stdout_has("Subject:          CN=Certsweep Demo Issuing CA 1,O=Certsweep Demo,C=US")
        .stdout_has("CA:               yes (path length 0)")
        .stdout_has("(expired, ");
    assert!(
        !run.stdout.contains("BEGIN"),
        "no key or cert bytes printed"
    );
}

#[test]
fn inspect_bad_file_exits_two_and_shows_the_rest() {
    let run = Test::new()
        .args([
            "inspect",
            "fixtures/broken/truncated.der",
            "fixtures/demo/uploads/mail.der",
        ])
        .run()
        .code(2)
        .stderr_has("fixtures/broken/truncated.der");
    run.stdout_has("mail.example.com");
}

#[test]
fn inspect_speaks_ndjson_and_csv_with_the_curl_pin() {
    let file = "fixtures/demo/uploads/shop.pem";
    let pin = openssl_pin(&format!("openssl x509 -in {file} -pubkey -noout"));

    let run = Test::new()
        .args(["inspect", file, "--format", "ndjson"])
        .run()
        .code(0);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["certificate", "certificate", "private-key", "summary"]
    );
    assert_eq!(lines[0]["spki_pin_sha256"], pin.as_str());
    assert_eq!(
        lines[2]["spki_pin_sha256"],
        pin.as_str(),
        "the key's pin too"
    );
    assert_eq!(lines[3]["certificates"], 2);
    assert_eq!(lines[3]["complete"], true);

    let run = Test::new()
        .args(["inspect", file, "--format", "csv"])
        .run()
        .code(0);
    let mut rows = csv::Reader::from_reader(run.stdout.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "one row per certificate");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("subject")], "CN=shop.example.com");
    assert_eq!(&rows[0][col("spki_pin_sha256")], pin.as_str());
    assert_eq!(&rows[0][col("private_key_in_file")], "true");
}

/// The pin as curl documents it, computed by OpenSSL: base64 of the SHA-256 of the DER public
/// key that `pubkey_cmd` (a shell command) prints as PEM.
fn openssl_pin(pubkey_cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{pubkey_cmd} | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64"
        ))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn openssl_out(args: &[&str]) -> String {
    openssl_in(&root(), args)
}

#[test]
fn inspect_reads_csrs_and_crls_in_pem_and_der_like_openssl() {
    let dir = temp();
    let key = dir.path().join("k.pem");
    let csr = dir.path().join("req.csr");
    openssl_out(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/CN=renew.example.com/O=Acme",
        "-addext",
        "subjectAltName=DNS:renew.example.com,DNS:www.renew.example.com,IP:192.0.2.7",
        "-out",
        csr.to_str().unwrap(),
    ]);
    let der = dir.path().join("req.der");
    openssl_out(&[
        "req",
        "-in",
        csr.to_str().unwrap(),
        "-outform",
        "der",
        "-out",
        der.to_str().unwrap(),
    ]);
    let pin = openssl_pin(&format!("openssl req -in {} -pubkey -noout", csr.display()));

    let crl = "fixtures/demo/revocations.crl";
    let run = Test::new()
        .args(["inspect", csr.to_str().unwrap(), der.to_str().unwrap(), crl])
        .args(["--format", "json"])
        .run()
        .code(0);
    assert!(
        run.stderr.is_empty(),
        "nothing to warn about: {}",
        run.stderr
    );
    let r = run.json();
    let reqs = r["certificate_requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "PEM and DER");
    for req in reqs {
        assert_eq!(req["subject"], "O=Acme,CN=renew.example.com");
        assert_eq!(req["key"]["curve"], "P-384");
        assert_eq!(req["signature_valid"], true);
        assert_eq!(req["spki_pin_sha256"], pin.as_str());
        assert_eq!(
            req["dns_names"],
            serde_json::json!(["renew.example.com", "www.renew.example.com"])
        );
        assert_eq!(req["ip_addresses"], serde_json::json!(["192.0.2.7"]));
    }
    let crls = r["crls"].as_array().unwrap();
    assert_eq!(crls.len(), 1);
    // What OpenSSL reads in the same CRL.
    let text = openssl_out(&["crl", "-in", crl, "-noout", "-text"]);
    assert!(text.contains("Serial Number: 1008"), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert_eq!(crls[0]["revoked"][0]["serial"], "1008");
    assert_eq!(crls[0]["revoked"][0]["reason"], "keyCompromise");
    assert_eq!(crls[0]["revoked_count"], 1);
    assert_eq!(
        crls[0]["issuer"],
        "CN=Certsweep Demo Issuing CA 1,O=Certsweep Demo,C=US"
    );
    assert_eq!(crls[0]["crl_number"], "7");
    assert!(
        text.contains("X509v3 CRL Number: \n                7"),
        "{text}"
    );

    // NDJSON and CSV carry them too.
    let run = Test::new()
        .args(["inspect", csr.to_str().unwrap(), crl, "--format", "ndjson"])
        .run()
        .code(0);
    let kinds: Vec<String> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].to_string())
        .collect();
    assert_eq!(kinds, ["\"certificate-request\"", "\"crl\"", "\"summary\""]);
    let run = Test::new()
        .args(["inspect", csr.to_str().unwrap(), crl, "--format", "csv"])
        .run()
        .code(0);
    let mut rows = csv::Reader::from_reader(run.stdout.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][col("record")], "certificate-request");
    // A base64 pin may start with '+': CSV neutralises such a cell with a leading "'".
    let csv_pin = if pin.starts_with('+') {
        format!("'{pin}")
    } else {
        pin.clone()
    };
    assert_eq!(&rows[0][col("spki_pin_sha256")], csv_pin.as_str());
    assert_eq!(&rows[1][col("record")], "crl");
    assert_eq!(&rows[1][col("revoked_serials")], "1008");

    // A damaged CSR is an error naming it; the CRL beside it is still shown.
    let bad = write(
        dir.path(),
        "bad.csr",
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n",
    );
    Test::new()
        .args(["inspect", bad.to_str().unwrap(), crl])
        .run()
        .code(2)
        .stderr_has("bad.csr")
        .stdout_has("CRL");
}

/// Runs the `openssl` CLI in `dir`; panics with its stderr when it fails.
fn openssl_in(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Keys x509-parser does not size (RSA-PSS, DSA, an explicit-parameter P-256 curve) and a
/// negative serial, made by the openssl CLI: sizes and serial as `openssl x509` prints them.
#[test]
fn key_sizes_and_negative_serial_match_openssl() {
    let dir = temp();
    let d = dir.path();
    let x509 = |key: &str, cert: &str, extra: &[&str]| {
        let mut args = vec!["req", "-x509", "-key", key, "-subj", "/CN=fidelity"];
        args.extend(["-days", "30", "-out", cert]);
        args.extend(extra);
        openssl_in(d, &args);
    };
    openssl_in(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA-PSS",
            "-pkeyopt",
            "rsa_keygen_bits:1535",
            "-out",
            "pss.key",
        ],
    );
    x509("pss.key", "pss.pem", &["-set_serial", "-18072387565"]);
    openssl_in(
        d,
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DSA",
            "-pkeyopt",
            "dsa_paramgen_bits:1024",
            "-out",
            "dsa.params",
        ],
    );
    openssl_in(
        d,
        &["genpkey", "-paramfile", "dsa.params", "-out", "dsa.key"],
    );
    x509("dsa.key", "dsa.pem", &[]);
    openssl_in(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-param_enc",
            "explicit",
            "-genkey",
            "-noout",
            "-out",
            "ecx.key",
        ],
    );
    x509("ecx.key", "ecx.pem", &[]);

    let cases = [
        ("pss.pem", "rsa", 1535, None),
        ("dsa.pem", "dsa", 1024, None),
        ("ecx.pem", "ec", 256, Some("P-256")),
    ];
    for (file, algorithm, bits, curve) in cases {
        let path = d.join(file);
        let text = openssl_in(d, &["x509", "-in", file, "-noout", "-text"]);
        assert!(
            text.contains(&format!("Public-Key: ({bits} bit)")),
            "{text}"
        );
        let r = Test::new()
            .args(["inspect", "--format", "json"])
            .arg(&path)
            .run()
            .code(0)
            .json();
        let c = &r["certificates"][0];
        assert_eq!(c["key"]["algorithm"], algorithm, "{file}");
        assert_eq!(c["key"]["bits"], bits, "{file}");
        assert_eq!(c["key"]["curve"].as_str(), curve, "{file}");
        let serial = openssl_in(d, &["x509", "-in", file, "-noout", "-serial"]);
        let serial = serial
            .trim()
            .strip_prefix("serial=")
            .unwrap()
            .to_lowercase();
        assert_eq!(c["serial"], serial, "{file}");
    }
    // The negative serial, in scan's records too.
    let r = Test::new()
        .args(["scan", "--format", "json"])
        .arg(d.join("pss.pem"))
        .run()
        .json();
    assert_eq!(r["certificates"][0]["serial"], "-043532bfed");
    assert_eq!(r["certificates"][0]["key"]["bits"], 1535);
}

/// A certificate with basicConstraints and subjectAltName twice (RFC 5280 forbids it; some CAs
/// did it): it is a CA because both copies say so, as OpenSSL reads it, and the names of both
/// SAN copies are listed. x509-parser's accessors report such extensions as absent.
#[test]
fn duplicated_extensions_are_read_like_openssl() {
    use rcgen::{BasicConstraints, CertificateParams, CustomExtension, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["one.example".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // basicConstraints { cA TRUE } and subjectAltName { dNSName "two.example" }, again.
    let bc = CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x03, 0x01, 0x01, 0xff]);
    let mut san = vec![0x30, 13, 0x82, 11];
    san.extend(b"two.example");
    let san = CustomExtension::from_oid_content(&[2, 5, 29, 17], san);
    params.custom_extensions = vec![bc, san];
    let dir = temp();
    let path = write(
        dir.path(),
        "dup.pem",
        params.self_signed(&key).unwrap().pem(),
    );

    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert_eq!(
        text.matches("X509v3 Basic Constraints").count(),
        2,
        "{text}"
    );

    let r = Test::new()
        .args(["inspect", "--format", "json"])
        .arg(&path)
        .run()
        .code(0)
        .json();
    let c = &r["certificates"][0];
    assert_eq!(c["is_ca"], true);
    assert_eq!(
        c["dns_names"],
        serde_json::json!(["one.example", "two.example"])
    );
}
