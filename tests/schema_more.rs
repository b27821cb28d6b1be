//! Locks the JSON shapes of `inspect`, `csr` and `rotate` (status, next, a step) the way
//! `schema.rs` locks `scan`'s: mirror structs that reject unknown fields.

#![allow(dead_code)] // the mirrors exist to be deserialised into

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::harness::*;

fn locked<T: DeserializeOwned>(what: &str, json: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: {e}\n{json}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
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
struct ErrorRec {
    path: String,
    index: Option<usize>,
    kind: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inspect {
    schema_version: u32,
    tool: Tool,
    now: String,
    certificates: Vec<InspectCert>,
    private_keys: Vec<InspectKey>,
    certificate_requests: Vec<InspectCsr>,
    crls: Vec<InspectCrl>,
    errors: Vec<ErrorRec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectCert {
    path: String,
    index: usize,
    version: u32,
    serial: String,
    subject: String,
    issuer: String,
    self_issued: bool,
    not_before: String,
    not_after: String,
    days_left: i64,
    validity: String,
    fingerprint_sha256: String,
    fingerprint_sha1: String,
    spki_sha256: String,
    spki_pin_sha256: String,
    key: Key,
    signature_algorithm: String,
    is_ca: bool,
    path_len_constraint: Option<u32>,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    emails: Vec<String>,
    uris: Vec<String>,
    key_usage: Vec<String>,
    extended_key_usage: Vec<String>,
    subject_key_id: Option<String>,
    authority_key_id: Option<String>,
    crl_distribution_points: Vec<String>,
    ocsp: Vec<String>,
    ca_issuers: Vec<String>,
    policies: Vec<String>,
    extensions: Vec<Extension>,
    private_key_in_file: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    oid: String,
    name: String,
    critical: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectKey {
    path: String,
    index: usize,
    spki_sha256: String,
    spki_pin_sha256: String,
    matches_certificate: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectCsr {
    path: String,
    index: usize,
    subject: String,
    spki_sha256: String,
    spki_pin_sha256: String,
    key: Key,
    signature_algorithm: String,
    signature_valid: bool,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    emails: Vec<String>,
    uris: Vec<String>,
    requested_extensions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectCrl {
    path: String,
    index: usize,
    issuer: String,
    this_update: String,
    next_update: Option<String>,
    freshness: String,
    crl_number: Option<String>,
    signature_algorithm: String,
    revoked_count: usize,
    revoked: Vec<Revoked>,
    extensions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoked {
    serial: String,
    revocation_date: String,
    reason: Option<String>,
}

#[test]
fn inspect_json_shape_is_locked() {
    let run = Test::new()
        .args([
            "inspect",
            "fixtures/demo/uploads/shop.pem",
            "fixtures/demo/revocations.crl",
            "--format",
            "json",
        ])
        .run()
        .code(0);
    let r: Inspect = locked("inspect", &run.stdout);
    assert_eq!(r.certificates.len(), 2);
    assert_eq!(r.private_keys.len(), 1);
    assert_eq!(r.crls.len(), 1);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsrReport {
    schema_version: u32,
    tool: Tool,
    out_dir: String,
    csrs: Vec<Csr>,
    errors: Vec<ErrorRec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Csr {
    name: String,
    old: Old,
    subject: String,
    subject_unchanged: bool,
    sans: Vec<String>,
    changes: Vec<String>,
    key_type: String,
    new_spki_sha256: String,
    csr_path: String,
    key_path: String,
    key_encrypted: bool,
    written: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Old {
    path: String,
    index: usize,
    manifest_id: Option<String>,
    host: Option<String>,
    fingerprint_sha256: String,
    spki_sha256: String,
    subject: String,
}

#[test]
fn csr_json_shape_is_locked() {
    let dir = temp();
    let run = Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--out-dir",
        ])
        .arg(dir.path().join("out"))
        .args(["--format", "json"])
        .run()
        .code(0);
    let r: CsrReport = locked("csr", &run.stdout);
    assert_eq!(r.csrs.len(), 1);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanPolicy {
    state: String,
    cutoff: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    schema_version: u32,
    tool: Tool,
    command: String,
    policy: PlanPolicy,
    changes: Vec<Change>,
    items: Vec<StepItem>,
    summary: StepSummary,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    id: String,
    host: Option<String>,
    from: Option<String>,
    to: String,
    notes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepItem {
    id: String,
    step: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSummary {
    changed: usize,
    items: usize,
    done: usize,
    exit_code: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Status {
    schema_version: u32,
    tool: Tool,
    policy: PlanPolicy,
    items: Vec<StatusItem>,
    summary: StatusSummary,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusSummary {
    items: usize,
    done: usize,
    remaining: usize,
    steps: Vec<StepCount>,
    action_required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepCount {
    step: String,
    items: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusItem {
    id: String,
    step: String,
    host: Option<String>,
    old_not_after: String,
    days_in_step: Option<i64>,
    blocked_by: String,
    acme_order_in_progress: Option<AcmeOrderInProgress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcmeOrderInProgress {
    directory: String,
    order_url: String,
    finalize_sent: bool,
    at: String,
    resume_command: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Next {
    schema_version: u32,
    tool: Tool,
    policy: PlanPolicy,
    items: Vec<NextItem>,
    summary: NextSummary,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextItem {
    id: String,
    host: Option<String>,
    step: String,
    instructions: Vec<String>,
    commands: Vec<String>,
    revocation_request: Option<serde_json::Value>,
    acme_order_in_progress: Option<AcmeOrderInProgress>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextSummary {
    remaining: usize,
    action_required: bool,
}

#[test]
fn rotate_json_shapes_are_locked() {
    let dir = temp();
    let state = dir.path().join("plan.json");
    let rotate = |args: &[&str]| {
        Test::new()
            .args(["rotate", "--state", state.to_str().unwrap()])
            .args(args.iter().copied())
            .args(["--format", "json"])
            .run()
    };
    let run = rotate(&[
        "init",
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
    ]);
    let step: Step = locked("rotate init", &run.stdout);
    assert_eq!(step.summary.exit_code, run.code);
    let status: Status = locked("rotate status", &rotate(&["status"]).stdout);
    assert_eq!(status.items.len(), step.items.len());
    let next: Next = locked("rotate next", &rotate(&["next"]).stdout);
    assert_eq!(next.summary.remaining, next.items.len());
    assert!(status
        .items
        .iter()
        .all(|i| i.acme_order_in_progress.is_none()));

    // An ACME order an interrupted `rotate issue` left in the plan: its shape is locked too.
    let shop = step
        .items
        .iter()
        .find(|i| i.id.starts_with("shop."))
        .unwrap();
    let shop = shop.id.clone();
    rotate(&["csr", &shop]);
    crate::output::record_acme_order(
        &state,
        &shop,
        "acme-account-ca.example.test.json",
        true,
        "2026-11-23T10:00:00Z",
    );
    let status: Status = locked("rotate status", &rotate(&["status"]).stdout);
    let row = status.items.iter().find(|i| i.id == shop).unwrap();
    let order = row.acme_order_in_progress.as_ref().expect("the order");
    assert_eq!(order.order_url, "https://ca.example.test/order/7");
    assert!(order.finalize_sent);
    let next: Next = locked("rotate next", &rotate(&["next"]).stdout);
    let item = next.items.iter().find(|i| i.id == shop).unwrap();
    assert_eq!(
        item.acme_order_in_progress.as_ref().unwrap().resume_command,
        item.commands[0]
    );
}
