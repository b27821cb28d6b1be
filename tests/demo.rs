//! The bundled demo inventory: every status and role, as DESIGN.md's table says.

use crate::harness::*;

#[test]
fn every_status_and_role_of_the_demo() {
    let run = demo_json(&[]).code(1);
    let r = run.json();
    let status = |id: &str| leaf(&r, id)["status"].as_str().unwrap().to_owned();
    assert_eq!(status("shop"), "exposed");
    assert_eq!(status("legacy"), "exposed");
    assert_eq!(status("mail"), "exposed");
    assert_eq!(status("inline"), "exposed");
    assert_eq!(status("tricky"), "exposed");
    assert_eq!(status("rsa3072"), "exposed"); // uploaded one second before the cutoff
    assert_eq!(status("edge"), "not-affected"); // uploaded exactly at the cutoff
    assert_eq!(status("old"), "expired");
    assert_eq!(status("new-same-key"), "key-reused");
    assert_eq!(status("api"), "key-reused"); // key uploaded alone before the cutoff
    assert_eq!(status("fresh"), "not-affected");
    assert_eq!(status("late"), "not-affected");
    assert_eq!(status("retired"), "expired");
    assert_eq!(status("unknown"), "unknown-upload");
    assert_eq!(status("revoked"), "revoked");

    // The intermediate uploaded with shop's leaf is listed as chain, not as a finding.
    let chain: Vec<_> = by_id(&r, "shop")
        .into_iter()
        .filter(|c| c["role"] == "chain")
        .collect();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0]["status"], "not-affected");
    assert_eq!(chain[0]["action"], "none");
    assert_eq!(chain[0]["is_ca"], true);

    // The key-only upload holds no certificate and is not an error (the manifest says so).
    assert!(by_id(&r, "api-key").is_empty());
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{}", run.stderr);
    assert_eq!(r["summary"]["complete"], true);
    assert_eq!(r["summary"]["action_required"], true);
    assert_eq!(r["summary"]["exposed"], 6);
    assert_eq!(r["summary"]["key_reused"], 2);
    assert_eq!(r["summary"]["unknown_upload"], 1);
    assert_eq!(r["summary"]["revoked"], 1);
    assert_eq!(r["summary"]["expired"], 2);
}

#[test]
fn actions_keys_and_exposure_flags() {
    let r = demo_json(&[]).code(1).json();
    let shop = leaf(&r, "shop");
    assert_eq!(shop["action"], "replace");
    assert_eq!(shop["private_key_in_upload"], true);
    assert_eq!(shop["key_exposed"], true);
    assert_eq!(shop["source"]["uploaded_at"], "2016-05-10T09:30:00Z");
    assert_eq!(shop["source"]["host"], "shop.example.com");
    assert_eq!(shop["source"]["account"], "acme");
    assert_eq!(
        shop["dns_names"],
        serde_json::json!(["shop.example.com", "www.shop.example.com"])
    );

    let mail = leaf(&r, "mail");
    assert_eq!(mail["private_key_in_upload"], false);
    assert_eq!(mail["key"]["curve"], "P-384");
    assert_eq!(mail["key"]["bits"], 384);

    let old = leaf(&r, "old");
    assert_eq!(old["action"], "none");
    assert_eq!(
        old["key_exposed"], true,
        "an expired cert still tells its key leaked"
    );
    assert_eq!(old["private_key_in_upload"], true, "SEC1 key matched");
    assert!(old["days_left"].as_i64().unwrap() < 0);

    let retired = leaf(&r, "retired");
    assert_eq!(retired["key_exposed"], false);

    assert_eq!(leaf(&r, "unknown")["action"], "review");
    assert_eq!(leaf(&r, "fresh")["action"], "none");
    assert_eq!(leaf(&r, "fresh")["private_key_in_upload"], true);
    assert_eq!(
        leaf(&r, "legacy")["private_key_in_upload"],
        true,
        "PKCS#1 key matched"
    );
    assert_eq!(leaf(&r, "legacy")["key"]["bits"], 2048);
    assert_eq!(leaf(&r, "rsa3072")["key"]["bits"], 3072);
    assert_eq!(leaf(&r, "api")["key"]["algorithm"], "ed25519");
}

#[test]
fn key_reuse_names_what_exposed_the_key() {
    let r = demo_json(&[]).code(1).json();
    let reused = leaf(&r, "new-same-key");
    assert_eq!(reused["spki_sha256"], leaf(&r, "old")["spki_sha256"]);
    let shares = reused["shares_key_with"].as_array().unwrap();
    assert!(shares
        .iter()
        .any(|s| s["manifest_id"] == "old" && s["kind"] == "certificate"));
    assert!(shares
        .iter()
        .any(|s| s["manifest_id"] == "old" && s["kind"] == "private-key"));
    let reasons = reused["reasons"].to_string();
    assert!(reasons.contains("old.pem"), "{reasons}");
    assert!(reasons.contains("2013-02-01T00:00:00Z"), "{reasons}");

    let api = leaf(&r, "api");
    let shares = api["shares_key_with"].as_array().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0]["kind"], "private-key");
    assert_eq!(shares[0]["manifest_id"], "api-key");
}

#[test]
fn reasons_cite_the_dates() {
    let r = demo_json(&[]).code(1).json();
    let reasons = |id: &str| leaf(&r, id)["reasons"].to_string();
    let shop = reasons("shop");
    assert!(
        shop.contains("uploaded 2016-05-10T09:30:00Z, before the cutoff 2016-11-01T00:00:00Z"),
        "{shop}"
    );
    assert!(shop.contains("valid until 2099-12-31"), "{shop}");
    let edge = reasons("edge");
    assert!(
        edge.contains("uploaded 2016-11-01T00:00:00Z, on or after the cutoff"),
        "{edge}"
    );
    let old = reasons("old");
    assert!(old.contains("expired 2016-12-31"), "{old}");
    let unknown = reasons("unknown");
    assert!(
        unknown.contains("upload date unknown and issued 2015-09-01"),
        "{unknown}"
    );
    let revoked = reasons("revoked");
    assert!(revoked.contains("keyCompromise"), "{revoked}");
    assert!(revoked.contains("revocations.crl"), "{revoked}");
}

#[test]
fn table_for_people_lists_findings_first_with_next_step() {
    let run = Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
        ])
        .args(["--crl", "fixtures/demo/revocations.crl"])
        .run()
        .code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("STATUS"), "{}", run.stdout);
    assert!(lines[1].starts_with("exposed"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("\x1b["),
        "no colour when not a terminal"
    );
    let run = run
        .stdout_has("shop.example.com")
        .stdout_has("6 exposed, 2 key-reused, 1 unknown-upload, 1 revoked, 2 expired")
        .stdout_has("Next: replace 8 certificate(s)");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn colour_on_request_and_never_with_no_color() {
    let base = DEMO_SCAN;
    let run = Test::new()
        .args(base)
        .args(["--color", "always"])
        .run()
        .code(1);
    assert!(run.stdout.contains("\x1b[1;31mexposed"), "{}", run.stdout);
    let run = Test::new().args(base).env("NO_COLOR", "1").run().code(1);
    assert!(!run.stdout.contains("\x1b["));
}

#[test]
fn csv_manifest_gives_the_same_verdicts_as_json() {
    let json = demo_json(&[]).code(1).json();
    let csv = Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.csv",
            "--cutoff",
            CUTOFF,
        ])
        .args(["--crl", "fixtures/demo/revocations.crl", "--format", "json"])
        .run()
        .code(1)
        .json();
    let verdicts = |r: &serde_json::Value| {
        let mut v: Vec<(String, String, String)> = r["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["source"]["manifest_id"] != "inline")
            .map(|c| {
                (
                    c["source"]["manifest_id"].as_str().unwrap().to_owned(),
                    c["fingerprint_sha256"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(verdicts(&json), verdicts(&csv));
    assert_eq!(verdicts(&csv).len(), 15);
}
