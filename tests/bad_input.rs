//! Bad input: each becomes an error record naming the file (and block) and the reason; the
//! rest is still classified; the exit code is 2; nothing panics or hangs.

use crate::harness::*;

/// Scans `bad` together with a good, exposed certificate and returns the JSON report.
fn with_good(bad: &str) -> (serde_json::Value, String) {
    let run = Test::new()
        .args(["scan", bad, "fixtures/demo/uploads/fresh.pem"])
        .args([
            "--uploaded-at",
            "2015-01-01",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run()
        .code(2);
    let r = run.json();
    let good: Vec<_> = r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"]["path"] == "fixtures/demo/uploads/fresh.pem")
        .collect();
    assert_eq!(good.len(), 1, "the good file is still classified");
    assert_eq!(good[0]["status"], "exposed", "findings are still reported");
    assert_eq!(r["summary"]["complete"], false);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    (r, run.stderr)
}

fn error_for(bad: &str) -> (Option<i64>, String) {
    let (r, stderr) = with_good(bad);
    let errors: Vec<_> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == bad)
        .collect();
    assert!(!errors.is_empty(), "an error names {bad}: {r}");
    assert!(stderr.contains(bad), "stderr names {bad}: {stderr}");
    (
        errors[0]["index"].as_i64(),
        errors[0]["reason"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn empty_file() {
    assert_eq!(error_for("fixtures/broken/empty.pem").1, "empty file");
}

#[test]
fn random_bytes() {
    let (_, reason) = error_for("fixtures/broken/random.bin");
    assert!(
        reason.contains("no certificate found") || reason.contains("not a DER certificate"),
        "{reason}"
    );
}

#[test]
fn truncated_der() {
    let (_, reason) = error_for("fixtures/broken/truncated.der");
    assert!(reason.contains("not a DER certificate"), "{reason}");
}

#[test]
fn broken_base64() {
    let (index, reason) = error_for("fixtures/broken/bad-base64.pem");
    assert_eq!(index, Some(1));
    assert!(reason.contains("invalid base64"), "{reason}");
}

#[test]
fn pem_without_end_line() {
    let (index, reason) = error_for("fixtures/broken/no-end.pem");
    assert_eq!(index, Some(1));
    assert!(reason.contains("no END line"), "{reason}");
}

#[test]
fn key_only_file_outside_a_manifest_is_a_read_input() {
    // shop.key beside shop.crt: a file of private keys alone is read, not an error.
    let r = Test::new()
        .args(["scan", "fixtures/broken/key-only.pem", "--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(r["errors"].as_array().unwrap().len(), 0);
    assert_eq!(r["summary"]["private_keys"], 1);
    assert_eq!(r["summary"]["complete"], true);
}

#[test]
fn unknown_pem_label_is_reported_and_the_cert_beside_it_read() {
    let (r, _) = with_good("fixtures/broken/wrong-label.pem");
    let e = &r["errors"][0];
    assert_eq!(e["index"], 2);
    assert!(e["reason"]
        .as_str()
        .unwrap()
        .contains("unexpected PEM block 'FOO'"));
    assert!(r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["source"]["path"] == "fixtures/broken/wrong-label.pem"));
}

#[test]
fn certificate_label_holding_something_else() {
    let (index, reason) = error_for("fixtures/broken/not-a-cert.pem");
    assert_eq!(index, Some(1));
    assert!(reason.contains("not a valid X.509 certificate"), "{reason}");
}

#[test]
fn plain_text_file() {
    let (_, reason) = error_for("fixtures/broken/text.txt");
    assert!(reason.contains("no certificate found"), "{reason}");
}

#[test]
fn missing_file() {
    assert_eq!(
        error_for("fixtures/broken/does-not-exist.pem").1,
        "file not found"
    );
}

#[test]
fn fifty_megabytes_of_random_bytes() {
    let dir = temp();
    // A fixed xorshift stream, so the test is the same every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(50 << 20);
    while bytes.len() < 50 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let big = write(dir.path(), "big.bin", &bytes);
    let (_, reason) = error_for(big.to_str().unwrap());
    assert!(reason.contains("no certificate found"), "{reason}");
    // And one that starts like DER.
    bytes[0] = 0x30;
    let der_like = write(dir.path(), "big.der", &bytes);
    let (_, reason) = error_for(der_like.to_str().unwrap());
    assert!(reason.contains("DER"), "{reason}");
}

#[test]
fn manifest_entry_whose_file_is_missing() {
    let dir = temp();
    write(dir.path(), "ok.pem", fixture("demo/uploads/shop.pem"));
    let m = write(
        dir.path(),
        "m.json",
        r#"[{"id": "gone", "file": "nowhere.pem", "uploaded_at": "2016-01-01"},
            {"id": "ok", "file": "ok.pem", "uploaded_at": "2016-01-01"}]"#,
    );
    let run = manifest_scan(&m).code(2);
    let r = run.json();
    assert_eq!(leaf(&r, "ok")["status"], "exposed");
    let e = &r["errors"][0];
    assert!(e["path"].as_str().unwrap().ends_with("nowhere.pem"), "{e}");
    assert_eq!(e["reason"], "file not found");
}

/// Same-named files in two folders with entries alternating between them, a folder reached
/// through a symlink, a folder that does not exist and a folder named as a file: each entry
/// is read from its own folder and its problems are its own.
#[test]
fn manifest_entries_in_many_folders_are_each_read_from_their_own() {
    let dir = temp();
    // (folder, file, demo upload it holds)
    let files = [
        ("a", "1.pem", "api"),
        ("b", "1.pem", "edge"),
        ("a", "2.pem", "late"),
        ("b", "2.pem", "retired"),
        ("link", "3.pem", "unknown"),
    ];
    for folder in ["a", "b"] {
        std::fs::create_dir(dir.path().join(folder)).unwrap();
    }
    std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("link")).unwrap();
    for (folder, file, upload) in files {
        let cert = fixture(&format!("demo/uploads/{upload}.pem"));
        write(&dir.path().join(folder), file, cert);
    }
    let entry = |id: &str, file: &str| {
        format!(r#"{{"id": "{id}", "file": "{file}", "uploaded_at": "2016-01-01"}}"#)
    };
    let mut entries: Vec<String> = files
        .iter()
        .map(|(folder, file, upload)| entry(upload, &format!("{folder}/{file}")))
        .collect();
    entries.insert(2, entry("gone", "nowhere/1.pem"));
    entries.insert(4, entry("folder", "b"));
    let m = write(dir.path(), "m.json", format!("[{}]", entries.join(",")));
    let r = manifest_scan(&m).code(2).json();
    for (_, _, upload) in files {
        assert_eq!(
            leaf(&r, upload)["subject"],
            format!("CN={upload}.example.com"),
            "{r}"
        );
    }
    let errors = errors(&r);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].0.ends_with("nowhere/1.pem"), "{errors:?}");
    assert_eq!(errors[0].1, "file not found");
    assert!(errors[1].0.ends_with("/b"), "{errors:?}");
    assert_eq!(
        errors[1].1,
        "is a directory (a manifest entry names one file)"
    );
}

/// A report's error records, as (path, reason).
fn errors(r: &serde_json::Value) -> Vec<(&str, &str)> {
    r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect()
}

fn manifest_scan(m: &std::path::Path) -> Run {
    Test::new()
        .args([
            "scan",
            "--manifest",
            m.to_str().unwrap(),
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run()
}

#[test]
fn manifest_bad_date_keeps_the_entry_as_unknown_upload() {
    let dir = temp();
    write(dir.path(), "ok.pem", fixture("demo/uploads/shop.pem"));
    let m = write(
        dir.path(),
        "m.json",
        r#"{"uploads": [{"id": "ok", "file": "ok.pem", "uploaded_at": "last spring"}]}"#,
    );
    let r = manifest_scan(&m).code(2).json();
    assert_eq!(leaf(&r, "ok")["status"], "unknown-upload");
    let reason = r["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("entry 1 (id 'ok'): bad uploaded_at"),
        "{reason}"
    );
    assert!(reason.contains("'last spring' is not a date"), "{reason}");
    assert!(r["errors"][0]["path"].as_str().unwrap().ends_with("m.json"));
}

#[test]
fn manifest_unknown_column_and_field() {
    let dir = temp();
    write(dir.path(), "ok.pem", fixture("demo/uploads/shop.pem"));
    let csv = write(
        dir.path(),
        "m.csv",
        "id,file,uploaded_at,colour\nok,ok.pem,2016-01-01,blue\n",
    );
    let r = manifest_scan(&csv).code(2).json();
    assert_eq!(
        leaf(&r, "ok")["status"],
        "exposed",
        "known columns still used"
    );
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("unknown column 'colour'"));

    let json = write(
        dir.path(),
        "m.json",
        r#"[{"id": "ok", "file": "ok.pem", "uploaded": "2016-01-01"}]"#,
    );
    let r = manifest_scan(&json).code(2).json();
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("unknown field 'uploaded'"));
    assert_eq!(leaf(&r, "ok")["status"], "unknown-upload");
}

#[test]
fn manifest_that_is_not_json() {
    let dir = temp();
    let m = write(dir.path(), "m.json", "{ not json");
    let r = manifest_scan(&m).code(2).json();
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[test]
fn a_manifest_found_unusable_at_its_end_adds_none_of_its_entries() {
    // Its files are read while it is parsed: a syntax error after thousands of entries must
    // still leave nothing of it but its error, in its place among the others.
    let dir = temp();
    write(dir.path(), "api.pem", fixture("demo/uploads/api.pem"));
    for i in 0..5000 {
        let name = ["edge", "late", "retired"][i % 3];
        write(
            dir.path(),
            &format!("{i}.pem"),
            fixture(&format!("demo/uploads/{name}.pem")),
        );
    }
    let good = write(
        dir.path(),
        "good.json",
        r#"[{"id": "api", "file": "api.pem", "uploaded_at": "2016-01-01"},
            {"id": "gone", "file": "gone.pem", "uploaded_at": "2016-01-01"},
            {"id": "note", "file": "api.pem", "uploaded_at": "outside"}]"#,
    );
    let entries: Vec<String> = (0..5000)
        .map(|i| format!(r#"{{"id": "b{i}", "file": "{i}.pem", "uploaded_at": "2015-01-01"}}"#))
        .collect();
    let bad = write(
        dir.path(),
        "bad.json",
        format!("[{}, {{\"id\": \"last\",}}]", entries.join(",\n")),
    );
    let missing = dir.path().join("missing.pem");
    let r = Test::new()
        .args(["scan", missing.to_str().unwrap()])
        .args(["--manifest", good.to_str().unwrap()])
        .args(["--manifest", bad.to_str().unwrap()])
        .args(["--cutoff", CUTOFF, "--format", "json"])
        .run()
        .code(2)
        .json();
    let subjects: Vec<&str> = r["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["CN=api.example.com"], "{r}");
    assert_eq!(
        r["summary"]["uploads"], 3,
        "the bad manifest's entries are not counted"
    );
    let errors = errors(&r);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].0.ends_with("missing.pem"), "{errors:?}");
    assert!(errors[1].0.ends_with("good.json"), "{errors:?}");
    assert!(
        errors[1]
            .1
            .starts_with("entry 3 (id 'note'): bad uploaded_at"),
        "{errors:?}"
    );
    assert!(errors[2].0.ends_with("bad.json"), "{errors:?}");
    assert!(
        errors[2].1.starts_with("manifest is not valid JSON: ")
            && errors[2].1.contains("line 5000"),
        "{errors:?}"
    );
    assert!(errors[3].0.ends_with("gone.pem"), "{errors:?}");
    assert_eq!(errors[3].1, "file not found");
}

#[test]
fn manifest_problems_name_the_entry_by_its_place_counting_skipped_ones() {
    let dir = temp();
    write(dir.path(), "api.pem", fixture("demo/uploads/api.pem"));
    let m = write(
        dir.path(),
        "m.json",
        r#"[5, {"id": "x", "file": "api.pem", "uploaded_at": "soon"}]"#,
    );
    let r = manifest_scan(&m).code(2).json();
    let reasons: Vec<&str> = errors(&r).into_iter().map(|e| e.1).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0], "entry 1: not a JSON object; skipped");
    assert!(
        reasons[1].starts_with("entry 2 (id 'x'): bad uploaded_at"),
        "{reasons:?}"
    );
    // CSV: the entry is the data row, a row that could not be read counted too.
    let csv = write(
        dir.path(),
        "m.csv",
        "id,file,uploaded_at\nshort,api.pem\nx,api.pem,soon\n",
    );
    let r = manifest_scan(&csv).code(2).json();
    let reasons: Vec<&str> = errors(&r).into_iter().map(|e| e.1).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("row 2: "), "{reasons:?}");
    assert!(
        reasons[1].starts_with("entry 2 (id 'x'): bad uploaded_at"),
        "{reasons:?}"
    );
}

#[test]
fn a_manifest_with_two_uploads_lists_is_refused_not_read_by_a_guess() {
    let dir = temp();
    write(dir.path(), "api.pem", fixture("demo/uploads/api.pem"));
    write(dir.path(), "edge.pem", fixture("demo/uploads/edge.pem"));
    let m = write(
        dir.path(),
        "m.json",
        r#"{"uploads": [{"file": "api.pem"}], "uploads": [{"file": "edge.pem"}]}"#,
    );
    let r = manifest_scan(&m).code(2).json();
    assert_eq!(r["certificates"], serde_json::json!([]), "{r}");
    let errors = errors(&r);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .1
            .starts_with("manifest has \"uploads\" more than once"),
        "{errors:?}"
    );
}
