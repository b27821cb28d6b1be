//! `scan --stream`, `scan --summary-only` and `merge` (issue 17), through the real binary.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::harness::{temp, Test, CUTOFF, DEMO_SCAN};

/// fingerprint → (status, action), and the summary line, of an NDJSON scan output.
fn verdicts(stdout: &str) -> (BTreeMap<String, (String, String)>, Value) {
    let mut map = BTreeMap::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("certificate") => {
                let fp = v["fingerprint_sha256"].as_str().unwrap().to_owned();
                let sa = (
                    v["status"].as_str().unwrap().to_owned(),
                    v["action"].as_str().unwrap().to_owned(),
                );
                assert!(map.insert(fp, sa).is_none(), "one record per certificate");
            }
            Some("summary") => summary = v,
            _ => {}
        }
    }
    (map, summary)
}

/// The counting fields of a summary (what `merge` adds up), without stream-only fields.
fn counts(summary: &Value) -> BTreeMap<String, Value> {
    summary
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "type" | "schema_version" | "tool" | "policy" | "stream" | "merged_summaries"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

const NDJSON: [&str; 2] = ["--format", "ndjson"];

#[test]
fn stream_gives_the_in_memory_verdicts_on_the_demo_inventory() {
    let base = DEMO_SCAN;
    let mem = Test::new().args(base).args(NDJSON).run();
    let stream = Test::new().args(base).args(NDJSON).arg("--stream").run();
    assert_eq!(stream.code, mem.code, "{}", stream.stderr);
    let (m, ms) = verdicts(&mem.stdout);
    let (s, ss) = verdicts(&stream.stdout);
    assert!(m.len() > 10);
    assert_eq!(s, m);
    assert_eq!(counts(&ss), counts(&ms));
    assert_eq!(ss["stream"]["exposed_keys_from"], "first-pass");
}

/// A corpus with shared keys: 24 certificates on 5 keys, uploaded before and after the
/// cutoff or at an unknown time, and a private key uploaded alone before the cutoff.
struct Corpus {
    dir: tempfile::TempDir,
    /// NDJSON lines: one certificate each (the manifest's certificates, same dates).
    lines: Vec<String>,
}

fn corpus() -> Corpus {
    let dir = temp();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    let keys: Vec<rcgen::KeyPair> = (0..5)
        .map(|_| rcgen::KeyPair::generate().unwrap())
        .collect();
    let mut entries = Vec::new();
    let mut cert_entries = Vec::new();
    let mut lines = Vec::new();
    for i in 0..24usize {
        let mut p = rcgen::CertificateParams::new(vec![format!("host{i}.example")]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, format!("host{i}.example"));
        p.not_before = rcgen::date_time_ymd(2015, 1, 1) + time::Duration::days(30 * i as i64);
        p.not_after = if i == 7 {
            rcgen::date_time_ymd(2020, 1, 1) // expired by --now
        } else {
            rcgen::date_time_ymd(2099, 1, 1)
        };
        // Key 4 only on certificates of 2017 on (uploaded after the cutoff, or unknown).
        let key = if i >= 16 && i % 2 == 0 { 4 } else { i % 4 };
        let cert = p.self_signed(&keys[key]).unwrap();
        let file = format!("certs/{i:02}.pem");
        std::fs::write(dir.path().join(&file), cert.pem()).unwrap();
        let uploaded = (i % 5 != 0).then(|| {
            let d = rcgen::date_time_ymd(2016, 1, 1) + time::Duration::days(35 * i as i64);
            d.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        });
        let mut e = serde_json::json!({"id": format!("c{i}"), "file": file, "host": format!("host{i}.example")});
        let mut line = serde_json::json!({
            "id": format!("c{i}"),
            "der_b64": base64::engine::general_purpose::STANDARD.encode(cert.der()),
            "host": format!("host{i}.example"),
        });
        if let Some(u) = &uploaded {
            e["uploaded_at"] = u.clone().into();
            line["uploaded_at"] = u.clone().into();
        }
        entries.push(e.clone());
        cert_entries.push(e);
        lines.push(line.to_string());
    }
    // Key 3's private key, alone, before the cutoff: its certificates uploaded later are
    // key-reused.
    std::fs::write(dir.path().join("key3.pem"), keys[3].serialize_pem()).unwrap();
    entries.push(serde_json::json!({"id": "k3", "file": "key3.pem", "uploaded_at": "2016-03-01"}));
    let write = |name: &str, e: &Vec<Value>| {
        std::fs::write(
            dir.path().join(name),
            serde_json::json!({ "uploads": e }).to_string(),
        )
        .unwrap()
    };
    write("manifest.json", &entries);
    write("certs.json", &cert_entries);
    Corpus { dir, lines }
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn stream_gives_the_in_memory_verdicts_on_a_corpus_with_shared_keys() {
    let c = corpus();
    let d = c.dir.path();
    for manifest in ["manifest.json", "certs.json"] {
        let base = [
            "scan".to_owned(),
            "--manifest".into(),
            p(d, manifest),
            "--cutoff".into(),
            CUTOFF.into(),
        ];
        let mem = Test::new().args(&base).args(NDJSON).run();
        let (m, ms) = verdicts(&mem.stdout);
        assert_eq!(m.len(), 24);
        // The corpus exercises what crosses uploads.
        let statuses: Vec<&str> = m.values().map(|(s, _)| s.as_str()).collect();
        for s in [
            "exposed",
            "key-reused",
            "not-affected",
            "unknown-upload",
            "expired",
        ] {
            assert!(statuses.contains(&s), "{s} in {statuses:?}");
        }
        let stream = Test::new().args(&base).args(NDJSON).arg("--stream").run();
        assert_eq!(stream.code, mem.code, "{}", stream.stderr);
        let (s, ss) = verdicts(&stream.stdout);
        assert_eq!(s, m, "{manifest}");
        assert_eq!(counts(&ss), counts(&ms));
        if manifest == "certs.json" {
            // The same certificates as NDJSON lines on stdin (spooled for the first pass).
            let stdin = Test::new()
                .args(["scan", "--stream", "-", "--cutoff", CUTOFF])
                .args(NDJSON)
                .stdin(c.lines.join("\n") + "\n")
                .run();
            assert_eq!(stdin.code, mem.code, "{}", stdin.stderr);
            let (n, ns) = verdicts(&stdin.stdout);
            assert_eq!(n, m);
            assert_eq!(counts(&ns), counts(&ms));
            let rec: Value = serde_json::from_str(stdin.stdout.lines().next().unwrap()).unwrap();
            assert_eq!(rec["source"]["manifest_id"], "c0");
            assert_eq!(rec["source"]["path"], "-");
        }
    }
}

#[test]
fn bad_ndjson_lines_are_error_records_with_their_line_and_the_run_goes_on() {
    let c = corpus();
    let input = format!(
        "{}\nnot json\n{{\"id\":\"b64\",\"der_b64\":\"@@@\"}}\n\n{{\"id\":\"none\"}}\n{{\"id\":\"junk\",\"der_b64\":\"AAAA\"}}\n{}\n",
        c.lines[1], c.lines[2]
    );
    let run = Test::new()
        .args(["scan", "--stream", "-", "--cutoff", CUTOFF])
        .args(NDJSON)
        .stdin(input)
        .run();
    assert_eq!(run.code, 2, "incomplete: {}", run.stderr);
    let (v, summary) = verdicts(&run.stdout);
    assert_eq!(v.len(), 2, "both good lines judged");
    let errors: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "error")
        .collect();
    let reasons: Vec<&str> = errors
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].starts_with("line 2: not a JSON object"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("line 3: der_b64 is not base64"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with("line 5: no certificate"),
        "{reasons:?}"
    );
    assert!(reasons[3].starts_with("line 6: der_b64:"), "{reasons:?}");
    assert_eq!(summary["errors"], 4);
    assert_eq!(summary["certificates"], 2);
    assert_eq!(summary["complete"], false);
    assert!(
        run.stderr.contains("line 2: not a JSON object"),
        "{}",
        run.stderr
    );
}

#[test]
fn exposed_keys_given_is_the_join_and_no_first_pass_is_made() {
    let c = corpus();
    let d = c.dir.path();
    // The exposed-key set of the whole corpus, from the stream's first pass and from the
    // in-memory scan: the same keys.
    let list = p(d, "exposed.txt");
    let mem_list = p(d, "mem-exposed.txt");
    for (mode, out) in [(Some("--stream"), &list), (None, &mem_list)] {
        Test::new()
            .arg("scan")
            .args(mode)
            .args(["--manifest", &p(d, "certs.json"), "--cutoff", CUTOFF])
            .args(["--export-exposed-keys", out, "--summary-only"])
            .args(NDJSON)
            .run();
    }
    let keys = |f: &str| -> Vec<String> {
        std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    assert!(!keys(&list).is_empty());
    assert_eq!(keys(&list), keys(&mem_list));
    // The build side of a distributed join: the first pass only, the set on stdout.
    let only = Test::new()
        .args([
            "scan",
            "--stream",
            "--manifest",
            &p(d, "certs.json"),
            "--cutoff",
            CUTOFF,
        ])
        .args(["--exposed-keys-only"])
        .args(NDJSON)
        .run();
    assert_eq!(only.code, 0, "{}", only.stderr);
    let only: Vec<String> = only.stdout.lines().map(str::to_owned).collect();
    assert_eq!(only, keys(&mem_list));
    // Only the lines uploaded after the cutoff, joined with the list: still key-reused.
    let late: Vec<&String> = c
        .lines
        .iter()
        .filter(|l| l.contains("\"uploaded_at\":\"2017") || l.contains("\"uploaded_at\":\"2018"))
        .collect();
    assert!(late.len() > 5);
    let input = late.iter().map(|l| format!("{l}\n")).collect::<String>();
    let joined = Test::new()
        .args([
            "scan",
            "--stream",
            "-",
            "--cutoff",
            CUTOFF,
            "--exposed-keys",
            &list,
        ])
        .args(NDJSON)
        .stdin(input.clone())
        .run();
    let alone = Test::new()
        .args(["scan", "--stream", "-", "--cutoff", CUTOFF])
        .args(NDJSON)
        .stdin(input)
        .run();
    let (j, js) = verdicts(&joined.stdout);
    let (a, _) = verdicts(&alone.stdout);
    assert_eq!(js["stream"]["exposed_keys_from"], "exposed-keys");
    let reused = |m: &BTreeMap<String, (String, String)>| {
        m.values().filter(|(s, _)| s == "key-reused").count()
    };
    assert!(reused(&j) > 0, "{j:?}");
    assert_eq!(
        reused(&a),
        0,
        "without the list nothing in these lines is exposed"
    );
    // Against the whole corpus in memory: the same verdicts for these certificates.
    let mem = Test::new()
        .args([
            "scan",
            "--manifest",
            &p(d, "certs.json"),
            "--cutoff",
            CUTOFF,
        ])
        .args(NDJSON)
        .run();
    let (m, _) = verdicts(&mem.stdout);
    for (fp, sa) in &j {
        assert_eq!(&m[fp], sa, "{fp}");
    }
    let rec = joined
        .stdout
        .lines()
        .find(|l| l.contains("\"key-reused\""))
        .unwrap();
    assert!(rec.contains("exposed-keys list"), "{rec}");
}

#[test]
fn stream_refuses_other_formats_and_crl() {
    Test::new()
        .args([
            "scan",
            "--stream",
            "fixtures/demo/uploads",
            "--format",
            "table",
        ])
        .run()
        .code(2)
        .stderr_has("--format ndjson");
    Test::new()
        .args([
            "scan",
            "--stream",
            "fixtures/demo/uploads",
            "--format",
            "ndjson",
        ])
        .args(["--crl", "fixtures/demo/revocations.crl"])
        .run()
        .code(2)
        .stderr_has("not supported with --stream");
}

#[test]
fn summary_only_and_merge_add_shards_up_to_the_whole() {
    let c = corpus();
    let d = c.dir.path();
    let list = p(d, "exposed.txt");
    let whole = Test::new()
        .args([
            "scan",
            "--stream",
            "-",
            "--cutoff",
            CUTOFF,
            "--export-exposed-keys",
            &list,
        ])
        .args(NDJSON)
        .stdin(c.lines.join("\n"))
        .run();
    let (_, ws) = verdicts(&whole.stdout);
    // Three shards, each scanned alone with the broadcast list, summaries only.
    let mut files = Vec::new();
    for (i, shard) in c.lines.chunks(9).enumerate() {
        let run = Test::new()
            .args([
                "scan",
                "--stream",
                "-",
                "--cutoff",
                CUTOFF,
                "--exposed-keys",
                &list,
            ])
            .args(["--summary-only"])
            .args(NDJSON)
            .stdin(shard.join("\n"))
            .run();
        assert_eq!(
            run.stdout.lines().count(),
            1,
            "only the summary: {}",
            run.stdout
        );
        let f = p(d, &format!("s{i}.ndjson"));
        std::fs::write(&f, &run.stdout).unwrap();
        files.push(f);
    }
    let merged = Test::new().arg("merge").args(&files).args(NDJSON).run();
    assert_eq!(merged.code, whole.code, "{}", merged.stderr);
    assert_eq!(merged.code, 1, "action required");
    let m: Value = serde_json::from_str(merged.stdout.trim()).unwrap();
    assert_eq!(counts(&m), counts(&ws));
    assert_eq!(m["merged_summaries"], 3);
    assert_eq!(m["policy"], ws["policy"]);
    // A JSON report (in-memory scan) and --summary-only --format json merge too.
    let report = p(d, "report.json");
    let r = Test::new()
        .args([
            "scan",
            "--manifest",
            &p(d, "certs.json"),
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run();
    std::fs::write(&report, &r.stdout).unwrap();
    let obj = p(d, "summary.json");
    let o = Test::new()
        .args([
            "scan",
            "--manifest",
            &p(d, "certs.json"),
            "--cutoff",
            CUTOFF,
        ])
        .args(["--format", "json", "--summary-only"])
        .run();
    let ov: Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(ov["summary"]["certificates"] == 24 && ov.get("certificates").is_none());
    std::fs::write(&obj, &o.stdout).unwrap();
    let two = Test::new()
        .args(["merge", &report, &obj])
        .args(["--format", "json"])
        .run();
    let tv: Value = serde_json::from_str(&two.stdout).unwrap();
    assert_eq!(tv["summary"]["certificates"], 48);
    assert_eq!(
        tv["summary"]["exposed"],
        2 * ws["exposed"].as_u64().unwrap()
    );
    assert_eq!(two.code, 1);
}

#[test]
fn merge_ands_complete_and_refuses_mixed_policies_and_non_summaries() {
    let c = corpus();
    let d = c.dir.path();
    let good = p(d, "good.ndjson");
    let bad = p(d, "bad.ndjson");
    let g = Test::new()
        .args([
            "scan",
            "--stream",
            "-",
            "--cutoff",
            CUTOFF,
            "--summary-only",
        ])
        .args(NDJSON)
        .stdin(c.lines[1].clone())
        .run();
    std::fs::write(&good, &g.stdout).unwrap();
    let b = Test::new()
        .args([
            "scan",
            "--stream",
            "-",
            "--cutoff",
            CUTOFF,
            "--summary-only",
        ])
        .args(NDJSON)
        .stdin("nope\n")
        .run();
    assert_eq!(b.code, 2);
    std::fs::write(&bad, &b.stdout).unwrap();
    let m = Test::new().args(["merge", &good, &bad]).args(NDJSON).run();
    assert_eq!(m.code, 2, "incomplete: {}", m.stdout);
    let v: Value = serde_json::from_str(m.stdout.trim()).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["action_required"], true, "OR of the inputs");
    // Another cutoff cannot be added.
    let other = p(d, "other.ndjson");
    let o = Test::new()
        .args([
            "scan",
            "--stream",
            "-",
            "--cutoff",
            "2015-01-01",
            "--summary-only",
        ])
        .args(NDJSON)
        .stdin(c.lines[1].clone())
        .run();
    std::fs::write(&other, &o.stdout).unwrap();
    Test::new()
        .args(["merge", &good, &other])
        .run()
        .code(2)
        .stderr_has("different policy");
    let text = p(d, "text.txt");
    std::fs::write(&text, "hello\n").unwrap();
    Test::new()
        .args(["merge", &good, &text])
        .run()
        .code(2)
        .stderr_has("not JSON");
}
