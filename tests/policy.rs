//! Policy flags: no cutoff, --unknown-upload, --exposed-keys import/export, --now.

use crate::harness::*;

#[test]
fn without_cutoff_a_plain_inventory() {
    let run = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "fixtures/demo/uploads/old.pem",
        ])
        .args(["fixtures/demo/uploads/new-same-key.pem", "--format", "json"])
        .arg("--ignore-expired")
        .run()
        .code(0);
    let r = run.json();
    let certs = r["certificates"].as_array().unwrap();
    assert_eq!(certs[0]["status"], "valid");
    assert_eq!(certs[1]["status"], "expired");
    assert_eq!(certs[1]["action"], "none");
    assert_eq!(certs[2]["status"], "valid");
    // Key reuse across the inventory is still shown.
    assert_eq!(certs[2]["shares_key_total"], 2, "old's certificate and key");
    assert_eq!(r["policy"]["cutoff"], serde_json::Value::Null);
}

#[test]
fn plain_inventory_an_expired_certificate_needs_action_unless_ignored() {
    // Like `step certificate needs-renewal`: expired is at least as urgent as expiring.
    let scan = |extra: &[&str]| {
        Test::new()
            .args(["scan", "fixtures/demo/uploads/old.pem", "--format", "json"])
            .args(extra.iter().copied())
            .run()
    };
    let r = scan(&[]).code(1).json();
    let old = &r["certificates"][0];
    assert_eq!(old["status"], "expired");
    assert_eq!(old["action"], "renew");
    assert_eq!(r["summary"]["action_required"], true);
    assert!(old["reasons"].to_string().contains("--ignore-expired"));
    let r = scan(&["--ignore-expired"]).code(0).json();
    assert_eq!(r["certificates"][0]["action"], "none");
    // With a cutoff the classification table rules: an expired certificate needs no action.
    let run = scan(&["--cutoff", CUTOFF]).code(0);
    assert_eq!(run.json()["certificates"][0]["action"], "none");
}

#[test]
fn a_cutoff_after_now_is_refused_unless_allowed() {
    let run = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--cutoff",
            "2030-01-01",
        ])
        .run()
        .code(2)
        .stderr_has("2030-01-01T00:00:00Z")
        .stderr_has(NOW)
        .stderr_has("--allow-future-cutoff");
    assert!(run.stdout.is_empty());
    // Allowed, it classifies as asked: fresh.pem was not uploaded with a date.
    Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--cutoff",
            "2030-01-01",
        ])
        .args(["--allow-future-cutoff", "--format", "json"])
        .run()
        .code(1);
    // A cutoff equal to now is fine.
    Test::new()
        .args(["scan", "fixtures/demo/uploads/fresh.pem", "--cutoff", NOW])
        .args(["--uploaded-at", NOW, "--format", "json"])
        .run()
        .code(0);
}

#[test]
fn expiring_within_days_needs_action() {
    // fresh expires 2099-12-31T23:59:59Z: 30 days before is expiring, 31 is not.
    let scan = |now: &str, days: &str| {
        Test::new()
            .without_now()
            .args([
                "scan",
                "fixtures/demo/uploads/fresh.pem",
                "--format",
                "json",
            ])
            .args(["--now", now, "--expiring-within", days])
            .run()
    };
    let r = scan("2099-12-01T23:59:59Z", "30").code(1).json();
    assert_eq!(r["certificates"][0]["status"], "expiring");
    assert_eq!(r["certificates"][0]["action"], "renew");
    let r = scan("2099-11-30T23:59:59Z", "30").code(0).json();
    assert_eq!(r["certificates"][0]["status"], "valid");
    let r = scan("2099-11-30T23:59:59Z", "31").code(1).json();
    assert_eq!(r["certificates"][0]["status"], "expiring");
}

#[test]
fn unknown_upload_exposed_policy() {
    let r = demo_json(&["--unknown-upload", "exposed"]).code(1).json();
    let unknown = leaf(&r, "unknown");
    assert_eq!(unknown["status"], "exposed");
    assert_eq!(unknown["action"], "replace");
    assert!(unknown["reasons"]
        .to_string()
        .contains("--unknown-upload exposed"));
    assert_eq!(r["policy"]["unknown_upload"], "exposed");
}

#[test]
fn nothing_to_do_exits_zero() {
    let run = Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            "2010-01-01",
        ])
        .args(["--format", "json"])
        .run();
    // With a cutoff before every upload, nothing is exposed; still-valid certs are fine.
    let r = run.json();
    assert_eq!(r["summary"]["exposed"], 0);
    assert_eq!(r["summary"]["key_reused"], 0);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn exported_exposed_keys_flag_reuse_in_another_run() {
    let dir = temp();
    let keys = dir.path().join("exposed.txt");
    demo_json(&["--export-exposed-keys", keys.to_str().unwrap()]).code(1);
    let text = std::fs::read_to_string(&keys).unwrap();
    assert!(text.starts_with("# certsweep exposed public keys"));
    let r = demo_json(&[]).json();
    let shop_spki = leaf(&r, "shop")["spki_sha256"].as_str().unwrap().to_owned();
    let old_spki = leaf(&r, "old")["spki_sha256"].as_str().unwrap().to_owned();
    let fresh_spki = leaf(&r, "fresh")["spki_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&shop_spki));
    assert!(
        text.contains(&old_spki),
        "expired certificates' keys count too"
    );
    assert!(!text.contains(&fresh_spki));
    assert!(!text.contains("PRIVATE"), "no key material");

    // Another team's inventory: new-same-key alone, no dates at all, after the cutoff.
    let r = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/new-same-key.pem",
            "--cutoff",
            CUTOFF,
        ])
        .args(["--uploaded-at", "2018-01-05", "--format", "json"])
        .args(["--exposed-keys", keys.to_str().unwrap()])
        .run()
        .code(1)
        .json();
    let c = &r["certificates"][0];
    assert_eq!(c["status"], "key-reused");
    assert!(c["reasons"].to_string().contains("exposed-keys list"));
}

#[test]
fn bad_line_in_exposed_keys_is_an_error_record() {
    let dir = temp();
    let keys = write(dir.path(), "keys.txt", "# comment\n\nnot-a-hash\n");
    let run = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--format",
            "json",
        ])
        .args(["--exposed-keys", keys.to_str().unwrap()])
        .run()
        .code(2);
    assert!(run.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("line 3: not a SHA-256 hex digest"));
}

#[test]
fn now_decides_expiry_not_the_clock() {
    let at = |now: &str| {
        Test::new()
            .without_now()
            .args([
                "scan",
                "fixtures/demo/uploads/retired.pem",
                "--format",
                "json",
                "--now",
                now,
            ])
            .run()
            .json()["certificates"][0]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(at("2017-12-31T23:59:59Z"), "expiring");
    assert_eq!(at("2018-01-01T00:00:00Z"), "expiring");
    assert_eq!(at("2018-01-01T00:00:01Z"), "expired");
}
