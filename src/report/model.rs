//! The scan report and its JSON shape (`schema_version` 1). Records are built while writing,
//! so a 100,000-certificate report is never held in memory as JSON values.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::{SCHEMA_VERSION, TOOL};
use crate::cert::{KeyInfo, Sha256};
use crate::classify::{Classified, ExposedList, KeyFinding, KeyRef, Policy, Role, Status, Verdict};
use crate::inventory::{CertEntry, InputError, Inventory, Upload};
use crate::timefmt;

pub struct ScanReport<'a> {
    pub policy: &'a Policy,
    pub inventory: &'a Inventory,
    pub classified: &'a Classified<'a>,
    pub exposed_list: &'a ExposedList,
}

#[derive(Serialize, Default, Debug, Clone)]
pub struct Summary {
    pub certificates: usize,
    pub private_keys: usize,
    /// CSRs and `PUBLIC KEY` blocks read (their keys join the key-reuse check).
    pub public_keys: usize,
    pub uploads: usize,
    /// Inputs that could not be read (or read only in part), not messages.
    pub errors: usize,
    /// Inputs read with a note that leaves the audit complete.
    pub warnings: usize,
    /// CSRs and public keys on exposed keys (each a finding: action replace).
    pub key_findings: usize,
    pub exposed: usize,
    pub key_reused: usize,
    pub unknown_upload: usize,
    pub expiring: usize,
    pub revoked: usize,
    pub expired: usize,
    pub not_affected: usize,
    pub valid: usize,
    /// Certificates whose action is `replace`, `review` or `renew`.
    pub needing_action: usize,
    pub action_required: bool,
    /// False when any input failed: the audit is incomplete (exit code 2).
    pub complete: bool,
}

impl Summary {
    /// How many certificates have `status`.
    pub fn count(&self, status: Status) -> usize {
        match status {
            Status::Exposed => self.exposed,
            Status::KeyReused => self.key_reused,
            Status::UnknownUpload => self.unknown_upload,
            Status::Expiring => self.expiring,
            Status::Revoked => self.revoked,
            Status::Expired => self.expired,
            Status::NotAffected => self.not_affected,
            Status::Valid => self.valid,
        }
    }

    fn count_mut(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Exposed => &mut self.exposed,
            Status::KeyReused => &mut self.key_reused,
            Status::UnknownUpload => &mut self.unknown_upload,
            Status::Expiring => &mut self.expiring,
            Status::Revoked => &mut self.revoked,
            Status::Expired => &mut self.expired,
            Status::NotAffected => &mut self.not_affected,
            Status::Valid => &mut self.valid,
        }
    }
}

impl ScanReport<'_> {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            certificates: self.inventory.certs.len(),
            private_keys: self.inventory.keys.len(),
            public_keys: self.inventory.public_keys.len(),
            uploads: self.inventory.uploads,
            errors: inputs(&self.inventory.errors),
            warnings: inputs(&self.inventory.warnings),
            key_findings: self.classified.key_findings.len(),
            complete: self.inventory.errors.is_empty(),
            ..Summary::default()
        };
        for v in &self.classified.verdicts {
            *s.count_mut(v.status) += 1;
            if v.action != crate::classify::Action::None {
                s.needing_action += 1;
            }
        }
        s.action_required = s.needing_action > 0 || s.key_findings > 0;
        s
    }

    /// The CSRs and public keys on exposed keys, as records.
    pub fn key_findings(&self) -> impl Iterator<Item = KeyFindingRecord<'_>> + '_ {
        self.classified
            .key_findings
            .iter()
            .map(move |f| KeyFindingRecord::new(self, f))
    }

    pub fn records(&self) -> impl Iterator<Item = CertRecord<'_>> + '_ {
        (0..self.inventory.certs.len()).map(move |i| self.record(i))
    }

    pub fn record(&self, i: usize) -> CertRecord<'_> {
        CertRecord::new(self, &self.inventory.certs[i], &self.classified.verdicts[i])
    }

    /// Renders records `render(record, buffer)` on all cores, in bounded groups of chunks, and
    /// writes the buffers in order: output order never depends on scheduling. The buffers are
    /// made once and reused by every group: fresh memory for each group would be zeroed by the
    /// kernel again and again (a fifth of a 100,000-certificate scan's time).
    fn write_parallel(
        &self,
        out: &mut dyn Write,
        render: impl Fn(CertRecord<'_>, &mut Vec<u8>) -> io::Result<()> + Sync,
    ) -> io::Result<()> {
        const CHUNK: usize = 256;
        let n = self.inventory.certs.len();
        let chunks = 4 * rayon::current_num_threads();
        let group = CHUNK * chunks;
        let mut buffers: Vec<Vec<u8>> = (0..chunks.min(n.div_ceil(CHUNK)))
            .map(|_| Vec::with_capacity(CHUNK * 1024))
            .collect();
        for start in (0..n).step_by(group) {
            let end = (start + group).min(n);
            buffers
                .par_iter_mut()
                .enumerate()
                .map(|(c, buf)| {
                    buf.clear();
                    let from = start + c * CHUNK;
                    for i in from..(from + CHUNK).min(end) {
                        render(self.record(i), buf)?;
                    }
                    Ok(())
                })
                .collect::<io::Result<()>>()?;
            for buf in &buffers {
                out.write_all(buf)?;
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
pub struct PolicyOut {
    pub now: String,
    pub cutoff: Option<String>,
    pub unknown_upload: crate::classify::UnknownUpload,
    pub expiring_within_days: i64,
}

impl From<&Policy> for PolicyOut {
    fn from(p: &Policy) -> Self {
        PolicyOut {
            now: timefmt::rfc3339(p.now),
            cutoff: p.cutoff.map(timefmt::rfc3339),
            unknown_upload: p.unknown_upload,
            expiring_within_days: p.expiring_within_days,
        }
    }
}

impl Serialize for ScanReport<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ScanReport", 8)?;
        st.serialize_field("schema_version", &SCHEMA_VERSION)?;
        st.serialize_field("tool", &TOOL)?;
        st.serialize_field("policy", &PolicyOut::from(self.policy))?;
        st.serialize_field("summary", &self.summary())?;
        st.serialize_field("certificates", &Records(self))?;
        let findings: Vec<KeyFindingRecord<'_>> = self.key_findings().collect();
        st.serialize_field("key_findings", &findings)?;
        let errors: Vec<ErrorRecord<'_>> = self
            .inventory
            .errors
            .iter()
            .map(|e| ErrorRecord::new(e, None))
            .collect();
        st.serialize_field("errors", &errors)?;
        let warnings: Vec<ErrorRecord<'_>> = self
            .inventory
            .warnings
            .iter()
            .map(|e| ErrorRecord::new(e, None))
            .collect();
        st.serialize_field("warnings", &warnings)?;
        st.end()
    }
}

struct Records<'r, 'a>(&'r ScanReport<'a>);

impl Serialize for Records<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.inventory.certs.len()))?;
        for r in self.0.records() {
            seq.serialize_element(&r)?;
        }
        seq.end()
    }
}

/// How many distinct inputs these messages are about.
fn inputs(records: &[InputError]) -> usize {
    let mut paths: Vec<&str> = records.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    paths.len()
}

#[derive(Serialize)]
pub struct SourceOut<'a> {
    pub path: &'a str,
    pub index: usize,
    pub manifest_id: Option<&'a str>,
    pub host: Option<&'a str>,
    pub account: Option<&'a str>,
    pub uploaded_at: Option<String>,
}

impl<'a> SourceOut<'a> {
    fn new(u: &'a Upload, index: usize) -> Self {
        SourceOut {
            path: &u.path,
            index,
            manifest_id: u.manifest_id.as_deref(),
            host: u.host.as_deref(),
            account: u.account.as_deref(),
            uploaded_at: u.uploaded_at.map(timefmt::rfc3339),
        }
    }
}

/// A CSR or public key on an exposed key (`key_findings[]`).
#[derive(Serialize)]
pub struct KeyFindingRecord<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// `certificate-request` or `public-key`.
    pub key_kind: &'static str,
    pub source: SourceOut<'a>,
    pub subject: Option<&'a str>,
    pub spki_sha256: Sha256,
    pub status: Status,
    pub action: crate::classify::Action,
    pub reasons: Vec<String>,
}

impl<'a> KeyFindingRecord<'a> {
    fn new(report: &'a ScanReport<'a>, f: &KeyFinding) -> Self {
        let p = &report.inventory.public_keys[f.public];
        let what = p.kind.label();
        let mut reasons = vec![format!(
            "{what} on an exposed key: its public key is the same as {}",
            describe(report, f.exposed_by)
        )];
        if p.kind == crate::inventory::PublicKind::Request {
            reasons.push(
                "do not submit it: a certificate issued for it would be on a leaked key; make a new key and CSR (certsweep csr)".into(),
            );
        } else {
            reasons.push("whatever uses this key must move to a NEW key".into());
        }
        KeyFindingRecord {
            kind: None,
            key_kind: p.kind.as_str(),
            source: SourceOut::new(&p.upload, p.index),
            subject: p.subject.as_deref(),
            spki_sha256: p.spki,
            status: Status::KeyReused,
            action: crate::classify::Action::Replace,
            reasons,
        }
    }
}

#[derive(Serialize)]
pub struct SharedKeyOut<'a> {
    pub kind: &'static str,
    pub path: &'a str,
    pub index: Option<usize>,
    pub manifest_id: Option<&'a str>,
    pub fingerprint_sha256: Option<Sha256>,
}

#[derive(Serialize)]
pub struct CertRecord<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The earliest upload (it decides).
    pub source: SourceOut<'a>,
    /// Every other upload of the same certificate (same fingerprint), earliest first.
    pub also_uploaded: Vec<SourceOut<'a>>,
    pub fingerprint_sha256: Sha256,
    pub spki_sha256: Sha256,
    pub serial: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [String],
    pub emails: &'a [String],
    pub uris: &'a [String],
    pub not_before: String,
    pub not_after: String,
    pub key: &'a KeyInfo,
    pub signature_algorithm: &'a str,
    pub is_ca: bool,
    pub role: Role,
    pub private_key_in_upload: bool,
    /// Where private keys with this certificate's public key were found, anywhere in the
    /// inventory (the first few paths).
    pub private_key_found_in: Vec<&'a str>,
    pub status: Status,
    pub action: crate::classify::Action,
    pub reasons: Vec<String>,
    pub days_left: i64,
    pub key_exposed: bool,
    pub shares_key_with: Vec<SharedKeyOut<'a>>,
    pub shares_key_total: usize,
}

impl<'a> CertRecord<'a> {
    fn new(report: &'a ScanReport<'a>, entry: &'a CertEntry, v: &'a Verdict<'a>) -> Self {
        let f = &entry.facts;
        let u = &entry.upload;
        CertRecord {
            kind: None,
            source: SourceOut::new(u, entry.index),
            also_uploaded: entry
                .also
                .iter()
                .map(|(u, index)| SourceOut::new(u, *index))
                .collect(),
            fingerprint_sha256: f.fingerprint,
            spki_sha256: f.spki,
            serial: &f.serial,
            subject: &f.subject,
            issuer: &f.issuer,
            dns_names: &f.dns_names,
            ip_addresses: &f.ip_addresses,
            emails: &f.emails,
            uris: &f.uris,
            not_before: timefmt::rfc3339(f.not_before),
            not_after: timefmt::rfc3339(f.not_after),
            key: &f.key,
            signature_algorithm: &f.signature_algorithm,
            is_ca: f.is_ca,
            role: v.role,
            private_key_in_upload: v.private_key_in_upload,
            private_key_found_in: v
                .private_keys
                .iter()
                .map(|&k| report.inventory.keys[k].upload.path.as_str())
                .collect(),
            status: v.status,
            action: v.action,
            reasons: reasons(report, entry, v),
            days_left: timefmt::days_between(report.policy.now, f.not_after),
            key_exposed: v.key_exposed,
            shares_key_with: v
                .shares_key_with
                .iter()
                .map(|r| shared(report, *r))
                .collect(),
            shares_key_total: v.shares_key_total,
        }
    }
}

fn shared<'a>(report: &'a ScanReport<'a>, r: KeyRef) -> SharedKeyOut<'a> {
    let inv = report.inventory;
    match r {
        KeyRef::Cert(i) => {
            let c = &inv.certs[i];
            SharedKeyOut {
                kind: "certificate",
                path: &c.upload.path,
                index: Some(c.index),
                manifest_id: c.upload.manifest_id.as_deref(),
                fingerprint_sha256: Some(c.facts.fingerprint),
            }
        }
        KeyRef::Key(i) => {
            let k = &inv.keys[i];
            SharedKeyOut {
                kind: "private-key",
                path: &k.upload.path,
                index: Some(k.index),
                manifest_id: k.upload.manifest_id.as_deref(),
                fingerprint_sha256: None,
            }
        }
        KeyRef::Public(i) => {
            let p = &inv.public_keys[i];
            SharedKeyOut {
                kind: p.kind.as_str(),
                path: &p.upload.path,
                index: Some(p.index),
                manifest_id: p.upload.manifest_id.as_deref(),
                fingerprint_sha256: None,
            }
        }
        KeyRef::Listed(line) => SharedKeyOut {
            kind: "exposed-keys-list",
            path: report
                .exposed_list
                .sources
                .get(line)
                .map(String::as_str)
                .unwrap_or(""),
            index: None,
            manifest_id: None,
            fingerprint_sha256: None,
        },
    }
}

/// Describes what else holds a key, for reasons: "the certificate in X (uploaded 2013-02-01)".
fn describe(report: &ScanReport<'_>, r: KeyRef) -> String {
    let inv = report.inventory;
    let when = |t: Option<time::OffsetDateTime>| match t {
        Some(t) => format!("uploaded {}", timefmt::rfc3339(t)),
        None => "upload date unknown".to_owned(),
    };
    match r {
        KeyRef::Cert(i) => {
            let c = &inv.certs[i];
            format!(
                "the certificate {} in {} ({})",
                c.facts.subject,
                c.upload.path,
                when(c.upload.uploaded_at)
            )
        }
        KeyRef::Key(i) => {
            let k = &inv.keys[i];
            format!(
                "a private key in {} ({})",
                k.upload.path,
                when(k.upload.uploaded_at)
            )
        }
        KeyRef::Public(i) => {
            let p = &inv.public_keys[i];
            let what = match p.kind {
                crate::inventory::PublicKind::Request => "a certificate request",
                crate::inventory::PublicKind::PublicKey => "a public key",
            };
            format!(
                "{what} in {} ({})",
                p.upload.path,
                when(p.upload.uploaded_at)
            )
        }
        KeyRef::Listed(line) => format!(
            "the exposed-keys list {}",
            report
                .exposed_list
                .sources
                .get(line)
                .map(String::as_str)
                .unwrap_or("?")
        ),
    }
}

/// Human-readable reasons that cite the dates behind each verdict.
pub fn reasons(report: &ScanReport<'_>, entry: &CertEntry, v: &Verdict<'_>) -> Vec<String> {
    let p = report.policy;
    let f = &entry.facts;
    let now = timefmt::rfc3339(p.now);
    let cutoff = p.cutoff.map(timefmt::rfc3339).unwrap_or_default();
    let days = timefmt::days_between(p.now, f.not_after);
    let uploaded = entry.upload.uploaded_at.map(timefmt::rfc3339);
    let valid_until = format!(
        "valid until {} ({days} days after {now})",
        timefmt::rfc3339(f.not_after)
    );
    let mut out = Vec::new();
    match v.status {
        Status::Expired => {
            out.push(format!(
                "expired {} ({} days before {now})",
                timefmt::rfc3339(f.not_after),
                -days
            ));
            if v.action == crate::classify::Action::Renew {
                out.push("renew it, or remove it from where it is installed (--ignore-expired: no action for expired certificates)".into());
            }
            if v.key_exposed {
                out.push("its key was exposed (uploaded before the cutoff, or on an exposed-keys list); no replacement needed, but do not reuse this key".into());
            }
        }
        Status::Revoked => {
            if let Some(r) = v.revocation {
                // `--online` answers are recorded as "OCSP <responder>".
                let source = match r.crl_path.strip_prefix("OCSP ") {
                    Some(responder) => format!("revoked, says the OCSP responder {responder} for"),
                    None => format!("listed in the CRL {} signed by", r.crl_path),
                };
                out.push(format!(
                    "serial {} is {source} {}{}{}",
                    f.serial,
                    r.crl_issuer,
                    r.reason
                        .map(|x| format!(", reason {x}"))
                        .unwrap_or_default(),
                    r.revoked_at
                        .map(|t| format!(", revoked {}", timefmt::rfc3339(t)))
                        .unwrap_or_default(),
                ));
            }
        }
        Status::Exposed => {
            match &uploaded {
                Some(u) => out.push(format!("uploaded {u}, before the cutoff {cutoff}")),
                None => out.push(format!(
                    "upload date unknown and issued {}, before the cutoff {cutoff}; treated as exposed (--unknown-upload exposed)",
                    timefmt::rfc3339(f.not_before)
                )),
            }
            out.push(valid_until);
            if v.private_key_in_upload {
                out.push("its private key was in the same upload".into());
            } else if v.lone_ca {
                out.push("a CA certificate with no leaf beside it in its upload: treated as the certificate whose key was uploaded (a lone self-signed certificate)".into());
            } else if f.is_ca && v.private_keys_total == 0 && v.key_exposed {
                out.push(
                    "a CA certificate whose key is exposed elsewhere: treated as a leaf, not chain"
                        .into(),
                );
            }
        }
        Status::KeyReused => {
            match v.exposed_by {
                Some(KeyRef::Listed(line)) => out.push(format!(
                    "its public key is on the exposed-keys list {}",
                    report
                        .exposed_list
                        .sources
                        .get(line)
                        .map(String::as_str)
                        .unwrap_or("?")
                )),
                Some(by) => out.push(format!(
                    "its public key is the same as {}, exposed before the cutoff {cutoff}",
                    describe(report, by)
                )),
                None => {}
            }
            out.push(valid_until);
            out.push("replace it with a certificate on a NEW key".into());
        }
        Status::UnknownUpload => {
            out.push(format!(
                "upload date unknown and issued {}, before the cutoff {cutoff}; give its upload date in a manifest or with --uploaded-at",
                timefmt::rfc3339(f.not_before)
            ));
            out.push(valid_until);
        }
        Status::NotAffected => {
            if v.role == Role::Chain {
                out.push("CA certificate uploaded alongside a leaf it is not; its private key was not found in the inventory".into());
            } else {
                match &uploaded {
                    Some(u) => out.push(format!("uploaded {u}, on or after the cutoff {cutoff}")),
                    None => out.push(format!(
                        "upload date unknown, but issued {}, on or after the cutoff {cutoff}",
                        timefmt::rfc3339(f.not_before)
                    )),
                }
            }
            out.push(valid_until);
        }
        Status::Expiring => out.push(format!(
            "expires {}, within {} days of {now} ({days} days left)",
            timefmt::rfc3339(f.not_after),
            p.expiring_within_days
        )),
        Status::Valid => out.push(valid_until),
    }
    if v.private_keys_total > 0 && !v.private_key_in_upload {
        let k = &report.inventory.keys[v.private_keys[0]];
        out.push(format!(
            "its private key was found in {} ({}){}",
            k.upload.path,
            k.upload
                .uploaded_at
                .map(|t| format!("uploaded {}", timefmt::rfc3339(t)))
                .unwrap_or_else(|| "upload date unknown".into()),
            match v.private_keys_total {
                1 => String::new(),
                n => format!(" and {} other place(s)", n - 1),
            }
        ));
    }
    if !entry.also.is_empty() {
        out.push(format!(
            "the same certificate was uploaded {} times; the earliest upload decides",
            entry.also.len() + 1
        ));
    }
    if v.shares_key_total > 0 && v.status != Status::KeyReused {
        out.push(format!(
            "{} other certificate(s)/key(s) in the inventory use the same public key",
            v.shares_key_total
        ));
    }
    if f.omitted_sans > 0 {
        out.push(format!(
            "it has {} subject alternative names: the first {} are listed, {} more are not \
             (certsweep keeps at most {} per certificate; `certsweep csr` copies them all)",
            f.omitted_sans + crate::cert::MAX_SANS,
            crate::cert::MAX_SANS,
            f.omitted_sans,
            crate::cert::MAX_SANS
        ));
    }
    if f.names_cut {
        out.push(format!(
            "its subject or issuer is longer than {} bytes as text: shown cut",
            crate::cert::name::MAX_NAME_TEXT
        ));
    }
    out
}

#[derive(Serialize)]
pub struct ErrorRecord<'a> {
    /// The NDJSON line type (`error`, `warning`); absent inside a JSON document.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub line_type: Option<&'static str>,
    pub path: &'a str,
    pub index: Option<usize>,
    /// What went wrong, for scripts: one of `report::kinds::KINDS`, or `unreadable`.
    pub kind: &'static str,
    /// What went wrong, for people.
    pub reason: &'a str,
}

impl<'a> ErrorRecord<'a> {
    pub fn new(e: &'a InputError, line_type: Option<&'static str>) -> Self {
        ErrorRecord {
            line_type,
            path: &e.path,
            index: e.index,
            kind: super::kinds::kind_of(&e.reason),
            reason: &e.reason,
        }
    }
}

/// NDJSON: one `certificate` object per line, then the `key-finding`s and `warning`s, then
/// the `error`s, then one `summary` line.
pub fn write_ndjson(report: &ScanReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    report.write_parallel(out, |mut r, buf| {
        r.kind = Some("certificate");
        serde_json::to_writer(&mut *buf, &r).map_err(io::Error::from)?;
        buf.push(b'\n');
        Ok(())
    })?;
    for mut f in report.key_findings() {
        f.kind = Some("key-finding");
        serde_json::to_writer(&mut *out, &f).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    for w in &report.inventory.warnings {
        serde_json::to_writer(&mut *out, &ErrorRecord::new(w, Some("warning")))
            .map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    super::write_ndjson_tail(
        &report.inventory.errors,
        PolicyOut::from(report.policy),
        report.summary(),
        out,
    )
}

/// The CSV columns, in order (lists are joined with `;`).
pub const CSV_COLUMNS: [&str; 30] = [
    "schema_version",
    "path",
    "index",
    "manifest_id",
    "host",
    "account",
    "uploaded_at",
    "status",
    "action",
    "role",
    "subject",
    "issuer",
    "serial",
    "not_before",
    "not_after",
    "days_left",
    "dns_names",
    "ip_addresses",
    "emails",
    "uris",
    "fingerprint_sha256",
    "spki_sha256",
    "key_algorithm",
    "key_bits",
    "key_curve",
    "signature_algorithm",
    "is_ca",
    "private_key_in_upload",
    "key_exposed",
    "reasons",
];

/// CSV: one row per certificate (errors go to stderr and the exit code).
pub fn write_csv(report: &ScanReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    {
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(CSV_COLUMNS)?;
        w.flush()?;
    }
    report.write_parallel(out, |r, buf| csv_row(&r, buf))
}

fn csv_row(r: &CertRecord<'_>, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(buf);
    {
        let opt = |o: Option<&str>| o.unwrap_or("").to_owned();
        super::csv_record(
            &mut w,
            [
                SCHEMA_VERSION.to_string(),
                r.source.path.to_owned(),
                r.source.index.to_string(),
                opt(r.source.manifest_id),
                opt(r.source.host),
                opt(r.source.account),
                r.source.uploaded_at.clone().unwrap_or_default(),
                r.status.as_str().to_owned(),
                r.action.as_str().to_owned(),
                match r.role {
                    Role::Leaf => "leaf".into(),
                    Role::Chain => "chain".into(),
                },
                r.subject.to_owned(),
                r.issuer.to_owned(),
                r.serial.to_owned(),
                r.not_before.clone(),
                r.not_after.clone(),
                r.days_left.to_string(),
                r.dns_names.join(";"),
                r.ip_addresses.join(";"),
                r.emails.join(";"),
                r.uris.join(";"),
                r.fingerprint_sha256.to_string(),
                r.spki_sha256.to_string(),
                r.key.algorithm.to_owned(),
                r.key.bits.map(|b| b.to_string()).unwrap_or_default(),
                r.key.curve.unwrap_or("").to_owned(),
                r.signature_algorithm.to_owned(),
                r.is_ca.to_string(),
                r.private_key_in_upload.to_string(),
                r.key_exposed.to_string(),
                r.reasons.join("; "),
            ],
        )?;
    }
    w.flush()
}
