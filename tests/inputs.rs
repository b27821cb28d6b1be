//! Input kinds: PEM mixes, CRLF+BOM, DER, indentation, directories, stdin, --uploaded-at.

use crate::harness::*;

fn scan_json(paths: &[&str], extra: &[&str]) -> Run {
    Test::new()
        .arg("scan")
        .args(paths.iter().copied())
        .args(["--format", "json"])
        .args(extra.iter().copied())
        .run()
}

#[test]
fn pem_with_text_chain_and_key_between_blocks() {
    let r = scan_json(&["fixtures/demo/uploads/shop.pem"], &[])
        .code(0)
        .json();
    let certs = r["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0]["role"], "leaf");
    assert_eq!(certs[0]["source"]["index"], 1);
    assert_eq!(certs[1]["role"], "chain");
    assert_eq!(certs[1]["source"]["index"], 2);
    assert_eq!(r["summary"]["private_keys"], 1);
    assert_eq!(certs[0]["private_key_in_upload"], true);
}

#[test]
fn crlf_and_bom_file_with_pkcs1_key() {
    let bytes = fixture("demo/uploads/legacy.pem");
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "fixture has a BOM");
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "fixture has CRLF");
    let r = scan_json(&["fixtures/demo/uploads/legacy.pem"], &[])
        .code(0)
        .json();
    assert_eq!(r["certificates"][0]["private_key_in_upload"], true);
    assert_eq!(r["certificates"][0]["subject"], "CN=legacy.example.com");
}

#[test]
fn der_certificate() {
    let r = scan_json(&["fixtures/demo/uploads/mail.der"], &[])
        .code(0)
        .json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(r["certificates"][0]["dns_names"][0], "mail.example.com");
}

#[test]
fn indented_pem_is_read() {
    let r = scan_json(&["fixtures/special/indented.pem"], &[])
        .code(0)
        .json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 1);
}

#[test]
fn der_with_trailing_bytes_is_read_and_reported() {
    let run = scan_json(&["fixtures/special/trailing.der"], &[]).code(2);
    let r = run.json();
    assert_eq!(r["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(r["errors"][0]["path"], "fixtures/special/trailing.der");
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("16 unexpected bytes"));
}

#[test]
fn stdin_dash() {
    let pem = fixture("demo/uploads/fresh.pem");
    let r = Test::new()
        .args([
            "scan",
            "-",
            "--format",
            "json",
            "--uploaded-at",
            "2015-01-01",
            "--cutoff",
            CUTOFF,
        ])
        .stdin(pem)
        .run()
        .code(1)
        .json();
    assert_eq!(r["certificates"][0]["source"]["path"], "-");
    assert_eq!(r["certificates"][0]["status"], "exposed");
}

#[test]
fn der_on_stdin() {
    let der = fixture("demo/uploads/mail.der");
    let r = Test::new()
        .args(["scan", "-", "--format", "json"])
        .stdin(der)
        .run()
        .code(0)
        .json();
    assert_eq!(r["certificates"][0]["dns_names"][0], "mail.example.com");
}

#[test]
fn uploaded_at_stamps_command_line_paths() {
    let r = scan_json(
        &[
            "fixtures/demo/uploads/fresh.pem",
            "fixtures/demo/uploads/late.pem",
        ],
        &[
            "--uploaded-at",
            "2015-06-01T08:00:00-04:00",
            "--cutoff",
            CUTOFF,
        ],
    )
    .code(1)
    .json();
    for c in r["certificates"].as_array().unwrap() {
        assert_eq!(c["source"]["uploaded_at"], "2015-06-01T12:00:00Z");
        assert_eq!(c["status"], "exposed");
    }
}

#[test]
fn directory_is_read_recursively_in_sorted_order() {
    let dir = temp();
    std::fs::create_dir_all(dir.path().join("b/nested")).unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    write(
        &dir.path().join("b/nested"),
        "fresh.pem",
        fixture("demo/uploads/fresh.pem"),
    );
    write(
        &dir.path().join("a"),
        "mail.der",
        fixture("demo/uploads/mail.der"),
    );
    write(dir.path(), ".hidden.pem", b"not read");
    let d = dir.path().to_str().unwrap();
    let r = scan_json(&[d], &[]).code(0).json();
    let paths: Vec<&str> = r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2);
    assert!(paths[0].ends_with("a/mail.der"), "{paths:?}");
    assert!(paths[1].ends_with("b/nested/fresh.pem"), "{paths:?}");
}

#[test]
fn the_whole_fixture_demo_folder_with_manifest_skipped() {
    // Scanning the folder that holds the manifest must not read the manifest as a certificate.
    let run = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads",
            "--manifest",
            "fixtures/demo/manifest.json",
        ])
        .args(["--format", "json", "--cutoff", CUTOFF])
        .run();
    let r = run.json();
    // uploads/ read directly (no dates) plus via the manifest (dated): one record per
    // certificate, the dated manifest upload deciding and the folder copy listed beside it.
    let certs = r["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 16);
    let shop = leaf(&r, "shop");
    assert_eq!(shop["source"]["path"], "fixtures/demo/uploads/shop.pem");
    assert_eq!(shop["source"]["manifest_id"], "shop");
    assert_eq!(
        shop["also_uploaded"][0]["manifest_id"],
        serde_json::Value::Null
    );
    assert_eq!(
        shop["also_uploaded"][0]["uploaded_at"],
        serde_json::Value::Null
    );
    // api-key.pem read from the folder is a key-only file: a read input, not an error.
    assert!(!r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("api-key.pem")));
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_not_followed() {
    let dir = temp();
    write(dir.path(), "fresh.pem", fixture("demo/uploads/fresh.pem"));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).unwrap();
    let d = dir.path().to_str().unwrap();
    let run = scan_json(&[d], &[]).code(2);
    let r = run.json();
    assert_eq!(
        r["certificates"].as_array().unwrap().len(),
        1,
        "the cert is still read"
    );
    let reason = r["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("symlink loop"), "{reason}");
    assert!(r["errors"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("sub/loop"));
    run.stderr_has("symlink loop");
}

#[test]
fn inline_pem_in_manifest() {
    let r = demo_json(&[]).code(1).json();
    let inline = leaf(&r, "inline");
    assert_eq!(
        inline["source"]["path"],
        "fixtures/demo/manifest.json#inline"
    );
    assert_eq!(inline["dns_names"][0], "inline.example.com");
}

#[test]
fn rfc4514_subject_with_repeated_and_multivalued_rdns() {
    let r = scan_json(&["fixtures/demo/uploads/tricky.pem"], &[])
        .code(0)
        .json();
    let leafs: Vec<_> = r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "leaf")
        .collect();
    assert_eq!(
        leafs[0]["subject"],
        "ST=\\ padded\\ ,CN=tricky.example.com+UID=u123,OU=\\#hash,OU=Platform\\+Ops,OU=Web,O=Acme\\, Inc.,L=Zürich,C=DE,DC=example,DC=com"
    );
    assert_eq!(
        leafs[0]["ip_addresses"],
        serde_json::json!(["192.0.2.10", "2001:db8::10"])
    );
    assert_eq!(
        leafs[0]["emails"],
        serde_json::json!(["admin@tricky.example.com"])
    );
    assert_eq!(
        leafs[0]["uris"],
        serde_json::json!(["https://tricky.example.com/"])
    );
    assert_eq!(
        leafs[0]["issuer"],
        "CN=Certsweep Demo Issuing CA 1,O=Certsweep Demo,C=US"
    );
}
