//! Locks the JSON, NDJSON and CSV shapes of `schema_version` 1: mirror structs that reject
//! unknown fields, so adding, renaming or removing a field fails here first.

#![allow(dead_code)] // the mirrors exist to be deserialised into

use serde::Deserialize;

use crate::harness::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema_version: u32,
    tool: Tool,
    policy: Policy,
    summary: Summary,
    certificates: Vec<Certificate>,
    key_findings: Vec<KeyFinding>,
    errors: Vec<ErrorRec>,
    warnings: Vec<ErrorRec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFinding {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    key_kind: String,
    source: Source,
    subject: Option<String>,
    spki_sha256: String,
    status: String,
    action: String,
    reasons: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    now: String,
    cutoff: Option<String>,
    unknown_upload: String,
    expiring_within_days: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    certificates: usize,
    private_keys: usize,
    public_keys: usize,
    uploads: usize,
    errors: usize,
    warnings: usize,
    key_findings: usize,
    exposed: usize,
    key_reused: usize,
    unknown_upload: usize,
    expiring: usize,
    revoked: usize,
    expired: usize,
    not_affected: usize,
    valid: usize,
    needing_action: usize,
    action_required: bool,
    complete: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    path: String,
    index: usize,
    manifest_id: Option<String>,
    host: Option<String>,
    account: Option<String>,
    uploaded_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    algorithm: String,
    bits: Option<u32>,
    curve: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shared {
    kind: String,
    path: String,
    index: Option<usize>,
    manifest_id: Option<String>,
    fingerprint_sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Certificate {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    source: Source,
    also_uploaded: Vec<Source>,
    fingerprint_sha256: String,
    spki_sha256: String,
    serial: String,
    subject: String,
    issuer: String,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    emails: Vec<String>,
    uris: Vec<String>,
    not_before: String,
    not_after: String,
    key: Key,
    signature_algorithm: String,
    is_ca: bool,
    role: String,
    private_key_in_upload: bool,
    private_key_found_in: Vec<String>,
    status: String,
    action: String,
    reasons: Vec<String>,
    days_left: i64,
    key_exposed: bool,
    shares_key_with: Vec<Shared>,
    shares_key_total: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorRec {
    #[serde(rename = "type", default)]
    line_type: Option<String>,
    path: String,
    index: Option<usize>,
    kind: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryLine {
    #[serde(rename = "type")]
    kind: String,
    schema_version: u32,
    tool: Tool,
    policy: Policy,
    certificates: usize,
    private_keys: usize,
    public_keys: usize,
    uploads: usize,
    errors: usize,
    warnings: usize,
    key_findings: usize,
    exposed: usize,
    key_reused: usize,
    unknown_upload: usize,
    expiring: usize,
    revoked: usize,
    expired: usize,
    not_affected: usize,
    valid: usize,
    needing_action: usize,
    action_required: bool,
    complete: bool,
}

fn demo_with_errors(format: &str) -> Run {
    Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
        ])
        .args([
            "--crl",
            "fixtures/demo/revocations.crl",
            "fixtures/broken/empty.pem",
        ])
        .args(["--format", format])
        .run()
        .code(2)
}

#[test]
fn json_shape_is_locked() {
    let run = demo_with_errors("json");
    let r: Report = serde_json::from_str(&run.stdout).expect("JSON matches schema 1");
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.tool.name, "certsweep");
    assert_eq!(r.certificates.len(), 16);
    assert_eq!(r.errors.len(), 1);
    assert!(report_kinds().contains(&r.errors[0].kind.as_str()));
    let valid_status = [
        "exposed",
        "key-reused",
        "unknown-upload",
        "expiring",
        "revoked",
        "expired",
        "not-affected",
        "valid",
    ];
    for c in &r.certificates {
        assert!(valid_status.contains(&c.status.as_str()), "{}", c.status);
        assert!(["leaf", "chain"].contains(&c.role.as_str()));
        assert!(["replace", "review", "renew", "none"].contains(&c.action.as_str()));
        assert_eq!(c.fingerprint_sha256.len(), 64);
        assert!(c
            .serial
            .chars()
            .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase()));
        assert!(c.not_after.ends_with('Z'));
        assert!(!c.reasons.is_empty());
        assert!(c.kind.is_none());
    }
}

#[test]
fn ndjson_lines_are_typed() {
    let run = demo_with_errors("ndjson");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 16 + 1 + 1);
    for line in &lines[..16] {
        let c: Certificate = serde_json::from_str(line).expect("certificate line");
        assert_eq!(c.kind.as_deref(), Some("certificate"));
    }
    let e: ErrorRec = serde_json::from_str(lines[16]).expect("error line");
    assert_eq!(e.line_type.as_deref(), Some("error"));
    assert!(
        report_kinds().contains(&e.kind.as_str()),
        "a documented kind: {}",
        e.kind
    );
    let s: SummaryLine = serde_json::from_str(lines[17]).expect("summary line");
    assert_eq!(s.kind, "summary");
    assert!(!s.complete);
}

#[test]
fn csv_header_and_rows() {
    let run = demo_with_errors("csv");
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header.join(","),
        "schema_version,path,index,manifest_id,host,account,uploaded_at,status,action,role,\
subject,issuer,serial,not_before,not_after,days_left,dns_names,ip_addresses,emails,uris,\
fingerprint_sha256,spki_sha256,key_algorithm,key_bits,key_curve,signature_algorithm,is_ca,\
private_key_in_upload,key_exposed,reasons"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 16);
    let shop = rows
        .iter()
        .find(|r| &r[3] == "shop" && &r[9] == "leaf")
        .unwrap();
    assert_eq!(&shop[7], "exposed");
    assert_eq!(&shop[16], "shop.example.com;www.shop.example.com");
    run.stderr_has("fixtures/broken/empty.pem: empty file");
}

/// The kinds the README documents for error records.
fn report_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&str> = certsweep::report::kinds::KINDS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    kinds.push("unreadable");
    kinds
}

#[test]
fn error_kinds_of_broken_inputs() {
    let run = Test::new()
        .args(["scan", "fixtures/broken", "--format", "json"])
        .run()
        .code(2);
    let r = run.json();
    let kind_of = |file: &str| -> Vec<String> {
        r["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"].as_str().unwrap().ends_with(file))
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kind_of("empty.pem"), ["empty"]);
    assert_eq!(kind_of("bad-base64.pem")[0], "bad-base64");
    assert_eq!(kind_of("no-end.pem")[0], "truncated");
    assert_eq!(kind_of("random.bin"), ["no-certificate"]);
    assert_eq!(kind_of("truncated.der"), ["truncated"]);
    let missing = Test::new()
        .args(["scan", "fixtures/nope.pem", "--format", "json"])
        .run()
        .code(2)
        .json();
    assert_eq!(missing["errors"][0]["kind"], "not-found");
}
