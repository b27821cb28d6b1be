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
    // The pin as curl documents it: sha256 of the DER public key, in base64.
    let pubkey = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in {file} -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64"
        ))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(pubkey.status.success());
    let pin = String::from_utf8(pubkey.stdout).unwrap().trim().to_owned();

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
