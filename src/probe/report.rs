//! The probe report: JSON (`schema_version` 1), NDJSON, CSV and the table for people.

use std::io::{self, Write};

use serde::Serialize;

use super::ocsp::Revocation;
use super::targets::TargetOut;
use super::{Judgement, ProbeReport, ProbeStatus, Probed};
use crate::cert::{CertFacts, KeyInfo, Sha256};
use crate::classify::{Status, UnknownUpload};
use crate::report::model::ErrorRecord;
use crate::report::table::Style;
use crate::report::{Format, Tool, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;
use crate::timefmt;

#[derive(Serialize, Default, Debug, Clone)]
pub struct Summary {
    pub targets: usize,
    /// Targets whose probe completed.
    pub probed: usize,
    pub failed: usize,
    pub serving_exposed: usize,
    pub expired: usize,
    pub revoked: usize,
    pub unexpected_certificate: usize,
    pub legacy_tls: usize,
    pub verify_failed: usize,
    pub serving_replaced: usize,
    pub ok: usize,
    /// Completed probes whose chain verifies for the name.
    pub verified: usize,
    pub not_verified: usize,
    /// Unreadable inputs (targets file lines, inventory files).
    pub errors: usize,
    /// `--check-revocation` asked and got no usable answer (exit 2).
    pub revocation_errors: usize,
    pub action_required: bool,
    /// False when a target or an input failed (exit code 2).
    pub complete: bool,
}

impl ProbeReport<'_> {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            targets: self.results.len(),
            errors: self.errors.len(),
            ..Summary::default()
        };
        for (p, status, _) in &self.results {
            match status {
                ProbeStatus::ServingExposed => s.serving_exposed += 1,
                ProbeStatus::Expired => s.expired += 1,
                ProbeStatus::Revoked => s.revoked += 1,
                ProbeStatus::UnexpectedCertificate => s.unexpected_certificate += 1,
                ProbeStatus::LegacyTls => s.legacy_tls += 1,
                ProbeStatus::VerifyFailed => s.verify_failed += 1,
                ProbeStatus::ServingReplaced => s.serving_replaced += 1,
                ProbeStatus::Ok => s.ok += 1,
                ProbeStatus::Error => s.failed += 1,
            }
            if p.revocation
                .as_ref()
                .is_some_and(|r| r.status == super::ocsp::RevocationStatus::Error)
            {
                s.revocation_errors += 1;
            }
            if *status != ProbeStatus::Error {
                if p.verified() {
                    s.verified += 1;
                } else {
                    s.not_verified += 1;
                }
            }
        }
        s.probed = s.targets - s.failed;
        s.action_required = self.results.iter().any(|(_, st, _)| st.needs_action());
        s.complete = s.failed == 0 && s.errors == 0 && s.revocation_errors == 0;
        s
    }

    fn records(&self) -> impl Iterator<Item = TargetRecord<'_>> {
        self.results
            .iter()
            .map(move |(p, status, j)| TargetRecord::new(self, p, *status, j))
    }
}

#[derive(Serialize)]
pub struct PolicyOut {
    pub now: String,
    pub cutoff: Option<String>,
    pub unknown_upload: Option<UnknownUpload>,
    pub connect_timeout_ms: u128,
    pub timeout_ms: u128,
    /// `system`, or the `--roots` files.
    pub trust: String,
}

impl PolicyOut {
    fn of(r: &ProbeReport<'_>) -> Self {
        PolicyOut {
            now: timefmt::rfc3339(r.now),
            cutoff: r
                .inventory
                .and_then(|p| p.policy.cutoff)
                .map(timefmt::rfc3339),
            unknown_upload: r.inventory.map(|p| p.policy.unknown_upload),
            connect_timeout_ms: r.limits.connect.as_millis(),
            timeout_ms: r.limits.total.as_millis(),
            trust: r.trust.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct ChainCert<'a> {
    pub fingerprint_sha256: Sha256,
    pub spki_sha256: Sha256,
    pub serial: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [String],
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub key: &'a KeyInfo,
    pub signature_algorithm: &'a str,
    pub is_ca: bool,
}

impl<'a> ChainCert<'a> {
    fn new(f: &'a CertFacts, now: time::OffsetDateTime) -> Self {
        ChainCert {
            fingerprint_sha256: f.fingerprint,
            spki_sha256: f.spki,
            serial: &f.serial,
            subject: &f.subject,
            issuer: &f.issuer,
            dns_names: &f.dns_names,
            ip_addresses: &f.ip_addresses,
            not_before: timefmt::rfc3339(f.not_before),
            not_after: timefmt::rfc3339(f.not_after),
            days_left: timefmt::days_between(now, f.not_after),
            key: &f.key,
            signature_algorithm: &f.signature_algorithm,
            is_ca: f.is_ca,
        }
    }
}

#[derive(Serialize)]
pub struct LeafSource<'a> {
    pub path: &'a str,
    pub index: usize,
    pub manifest_id: Option<&'a str>,
    pub host: Option<&'a str>,
}

#[derive(Serialize)]
pub struct TargetRecord<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub target: TargetOut<'a>,
    /// The address connected to (`IP:PORT`), once connected.
    pub address: Option<String>,
    pub status: ProbeStatus,
    pub error: Option<&'a str>,
    pub tls_version: Option<&'static str>,
    pub cipher_suite: Option<&'a str>,
    /// The chain came from the legacy handshake: rustls could not negotiate.
    pub legacy_tls: bool,
    pub verified: bool,
    pub verify_error: Option<&'a str>,
    pub client_certificate_requested: bool,
    pub chain: Vec<ChainCert<'a>>,
    /// `--check-revocation` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<&'a Revocation>,
    /// The inventory verdict of the served leaf, when it is in the inventory.
    pub leaf_status: Option<Status>,
    pub leaf_source: Option<LeafSource<'a>>,
    /// With an inventory: whether the served key is exposed.
    pub key_exposed: Option<bool>,
    pub reasons: &'a [String],
    pub elapsed_ms: u128,
}

impl<'a> TargetRecord<'a> {
    fn new(r: &'a ProbeReport<'a>, p: &'a Probed, status: ProbeStatus, j: &'a Judgement) -> Self {
        TargetRecord {
            kind: None,
            target: (&p.target).into(),
            address: p.address.map(|a| a.to_string()),
            status,
            error: p.error.as_deref(),
            tls_version: p.tls_version,
            cipher_suite: p.cipher_suite.as_deref(),
            legacy_tls: p.legacy_tls,
            verified: p.verified(),
            verify_error: match &p.verify_error {
                Some(e) => e.as_deref(),
                None if p.error.is_none() => Some("no certificate received"),
                None => None,
            },
            client_certificate_requested: p.client_certificate_requested,
            chain: p.chain.iter().map(|f| ChainCert::new(f, r.now)).collect(),
            revocation: p.revocation.as_ref(),
            leaf_status: j.leaf_status,
            leaf_source: j.matched.and_then(|i| {
                let c = &r.inventory?.inventory.certs[i];
                Some(LeafSource {
                    path: &c.upload.path,
                    index: c.index,
                    manifest_id: c.upload.manifest_id.as_deref(),
                    host: c.upload.host.as_deref(),
                })
            }),
            key_exposed: j.key_exposed,
            reasons: &j.reasons,
            elapsed_ms: p.elapsed.as_millis(),
        }
    }
}

struct Records<'r, 'a>(&'r ProbeReport<'a>);

impl Serialize for Records<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.records())
    }
}

#[derive(Serialize)]
struct JsonReport<'r, 'a> {
    schema_version: u32,
    tool: &'r Tool,
    policy: PolicyOut,
    summary: Summary,
    targets: Records<'r, 'a>,
    errors: Vec<ErrorRecord<'r>>,
}

pub fn write(
    report: &ProbeReport<'_>,
    format: Format,
    style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Prometheus => crate::report::prometheus::write_probe(report, out),
        // Refused before the probe runs (`lib::dispatch`): probe has no HTML page yet.
        Format::Html => Err(crate::report::unsupported(Format::Html, "probe")),
        Format::Json => {
            let doc = JsonReport {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                policy: PolicyOut::of(report),
                summary: report.summary(),
                targets: Records(report),
                errors: report
                    .errors
                    .iter()
                    .map(|e| ErrorRecord::new(e, None))
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from)?;
            writeln!(out)
        }
        Format::Ndjson => write_ndjson(report, out),
        Format::Csv => write_csv(report, out),
        Format::Table => write_table(report, style, out),
    }
}

/// NDJSON: one `target` object per line, then the `error`s, then one `summary` line.
fn write_ndjson(report: &ProbeReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    for mut r in report.records() {
        r.kind = Some("target");
        serde_json::to_writer(&mut *out, &r).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    crate::report::write_ndjson_tail(&report.errors, PolicyOut::of(report), report.summary(), out)
}

/// The CSV columns, in order: one row per target, the leaf's facts flattened.
pub const CSV_COLUMNS: [&str; 26] = [
    "schema_version",
    "input_line",
    "host",
    "port",
    "sni",
    "starttls",
    "address",
    "status",
    "error",
    "tls_version",
    "cipher_suite",
    "verified",
    "verify_error",
    "chain_length",
    "leaf_subject",
    "leaf_dns_names",
    "leaf_not_after",
    "leaf_fingerprint_sha256",
    "leaf_spki_sha256",
    "leaf_status",
    "key_exposed",
    "revocation",
    "revoked_at",
    "revocation_reason",
    "reasons",
    "elapsed_ms",
];

fn write_csv(report: &ProbeReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for r in report.records() {
        let leaf = r.chain.first();
        let opt = |o: Option<&str>| o.unwrap_or("").to_owned();
        crate::report::csv_record(
            &mut w,
            [
                SCHEMA_VERSION.to_string(),
                r.target
                    .input_line
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                r.target.host.clone(),
                r.target.port.to_string(),
                opt(r.target.sni),
                opt(r.target.starttls.map(|p| p.as_str())),
                r.address.clone().unwrap_or_default(),
                r.status.as_str().to_owned(),
                opt(r.error),
                opt(r.tls_version),
                opt(r.cipher_suite),
                r.verified.to_string(),
                opt(r.verify_error),
                r.chain.len().to_string(),
                opt(leaf.map(|l| l.subject)),
                leaf.map(|l| l.dns_names.join(";")).unwrap_or_default(),
                leaf.map(|l| l.not_after.clone()).unwrap_or_default(),
                leaf.map(|l| l.fingerprint_sha256.to_string())
                    .unwrap_or_default(),
                leaf.map(|l| l.spki_sha256.to_string()).unwrap_or_default(),
                opt(r.leaf_status.map(Status::as_str)),
                r.key_exposed.map(|b| b.to_string()).unwrap_or_default(),
                opt(r.revocation.map(|v| v.status.as_str())),
                opt(r.revocation.and_then(|v| v.revoked_at.as_deref())),
                opt(r.revocation.and_then(|v| v.reason)),
                r.reasons.join("; "),
                r.elapsed_ms.to_string(),
            ],
        )?;
    }
    w.flush()
}

fn status_color(s: ProbeStatus) -> &'static str {
    match s {
        ProbeStatus::ServingExposed
        | ProbeStatus::Expired
        | ProbeStatus::Revoked
        | ProbeStatus::UnexpectedCertificate
        | ProbeStatus::LegacyTls
        | ProbeStatus::VerifyFailed => "1;31",
        ProbeStatus::Error => "1;33",
        ProbeStatus::ServingReplaced | ProbeStatus::Ok => "32",
    }
}

/// The table: one line per target in input order, then why (errors, verification, exposure).
fn write_table(report: &ProbeReport<'_>, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let records: Vec<TargetRecord<'_>> = report.records().collect();
    let rows: Vec<[String; 6]> = records
        .iter()
        .zip(&report.results)
        .map(|(r, (p, _, _))| {
            let leaf = r.chain.first();
            [
                r.status.as_str().to_owned(),
                escape(&p.target.to_string()),
                r.tls_version.unwrap_or("-").to_owned(),
                match (r.verified, leaf) {
                    (true, _) => "yes".into(),
                    (false, Some(_)) => "NO".into(),
                    (false, None) => "-".into(),
                },
                leaf.map(|l| escape(l.subject))
                    .unwrap_or_else(|| "-".into()),
                leaf.map(|l| l.not_after[..10].to_owned())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let headers = ["STATUS", "TARGET", "TLS", "VERIFIED", "LEAF", "NOT AFTER"];
    let columns =
        crate::report::table::Columns::fit(headers, &rows).within(style.width, &[0, 2, 3, 5]);
    writeln!(out, "{}", style.paint("1", &columns.line(headers)))?;
    for (row, r) in rows.iter().zip(&records) {
        let text = columns.row(row);
        let n = row[0].len();
        writeln!(
            out,
            "{}{}",
            style.paint(status_color(r.status), &text[..n]),
            &text[n..]
        )?;
        if let Some(e) = r.error {
            writeln!(out, "    error: {}", escape(e))?;
        }
        if let (Some(e), false) = (r.verify_error, r.chain.is_empty()) {
            writeln!(out, "    does not verify: {}", escape(e))?;
        }
        if let Some(v) = r.revocation {
            let mut line = format!("    revocation (OCSP): {}", v.status.as_str());
            if let Some(t) = &v.revoked_at {
                line.push_str(&format!(" since {t}"));
            }
            if let Some(why) = v.reason {
                line.push_str(&format!(" ({why})"));
            }
            match (v.source, &v.responder) {
                (_, Some(url)) => line.push_str(&format!(", from {url}")),
                (Some(src), None) => line.push_str(&format!(", {src}")),
                _ => {}
            }
            if let Some(d) = &v.detail {
                line.push_str(&format!(": {d}"));
            }
            writeln!(out, "{}", escape(&line))?;
        }
        if r.status.needs_action() || r.leaf_status.is_some() {
            for reason in r.reasons {
                writeln!(out, "    {}", escape(reason))?;
            }
        }
    }
    let s = report.summary();
    writeln!(out)?;
    let mut counts = Vec::new();
    for (n, what) in [
        (s.serving_exposed, "serving-exposed"),
        (s.expired, "expired"),
        (s.revoked, "revoked"),
        (s.unexpected_certificate, "unexpected-certificate"),
        (s.legacy_tls, "legacy-tls"),
        (s.verify_failed, "verify-failed"),
        (s.serving_replaced, "serving-replaced"),
        (s.ok, "ok"),
        (s.failed, "failed"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {what}"));
        }
    }
    writeln!(
        out,
        "{} target(s) probed at {}: {}; {} verified, {} not verified",
        s.targets,
        timefmt::rfc3339(report.now),
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        },
        s.verified,
        s.not_verified
    )?;
    if s.serving_exposed > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: {} endpoint(s) still serve an exposed key: install certificates on NEW keys there, then revoke the old ones (reason keyCompromise).", s.serving_exposed)
            )
        )?;
    }
    if s.legacy_tls > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: {} endpoint(s) speak only legacy TLS (1.0/1.1 or old cipher suites): enable TLS 1.2 or later there.", s.legacy_tls)
            )
        )?;
    }
    if s.revoked > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: {} endpoint(s) serve a revoked certificate (see the reasons above): install its replacement there.", s.revoked)
            )
        )?;
    }
    let others = s.expired + s.unexpected_certificate + s.verify_failed;
    if others > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: {others} endpoint(s) serve a certificate that is expired, unexpected or does not verify (see the reasons above): install a valid certificate on a NEW key there.")
            )
        )?;
    }
    if s.revocation_errors > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;33",
                &format!("INCOMPLETE: the revocation of {} served certificate(s) could not be checked (see above).", s.revocation_errors)
            )
        )?;
    }
    if s.failed > 0 || s.errors > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;33",
                &format!("INCOMPLETE: {} target(s) failed and {} input(s) could not be read (listed on stderr); this check is not complete.", s.failed, s.errors)
            )
        )?;
    }
    Ok(())
}
