//! `certsweep inspect`: every field of every certificate, private key, certificate request
//! and CRL, for people or as data.

mod other;

#[doc(hidden)]
pub use other::{
    csv_rows as fuzz_other_csv_rows, read as fuzz_read_others, write_human as fuzz_write_others,
};

use std::io::{self, Cursor, Write};

use serde::Serialize;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cert::{self, CertFacts, KeyInfo, Sha256};
use crate::cli::InspectArgs;
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::inventory::{self, describe_io, InputError};
use crate::report::model::ErrorRecord;
use crate::report::{Format, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;
use crate::timefmt;

#[derive(Serialize)]
pub struct Extension {
    pub oid: String,
    pub name: String,
    pub critical: bool,
}

#[derive(Serialize)]
pub struct Inspected {
    pub path: String,
    pub index: usize,
    pub version: u32,
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub self_issued: bool,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub validity: &'static str,
    pub fingerprint_sha256: String,
    pub fingerprint_sha1: String,
    pub spki_sha256: String,
    /// The same hash in base64: curl's `--pinnedpubkey sha256//…`, HPKP's `pin-sha256`.
    pub spki_pin_sha256: String,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub is_ca: bool,
    pub path_len_constraint: Option<u32>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    pub crl_distribution_points: Vec<String>,
    pub ocsp: Vec<String>,
    pub ca_issuers: Vec<String>,
    pub policies: Vec<String>,
    pub extensions: Vec<Extension>,
    /// A private key in the same file matches this certificate's public key.
    pub private_key_in_file: bool,
}

#[derive(Serialize)]
struct InspectKey {
    path: String,
    index: usize,
    spki_sha256: Sha256,
    spki_pin_sha256: String,
    matches_certificate: bool,
}

#[derive(Serialize)]
struct InspectReport<'a> {
    schema_version: u32,
    tool: &'a crate::report::Tool,
    now: String,
    certificates: &'a [Inspected],
    private_keys: &'a [InspectKey],
    certificate_requests: &'a [other::InspectedCsr],
    crls: &'a [other::InspectedCrl],
    errors: Vec<ErrorRecord<'a>>,
}

pub fn run(args: &InspectArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    let mut errors: Vec<InputError> = Vec::new();
    let mut warnings: Vec<InputError> = Vec::new();
    let p12_password =
        crate::config::p12_password(args.p12_password_file.as_ref(), args.p12_password.as_ref())?;
    let opts = inventory::ReadOptions {
        key_passphrase: None,
        key_only_ok: true,
        keep_der: true,
        p12_password: p12_password.as_ref(),
    };
    let mut csrs = Vec::new();
    let mut crls = Vec::new();
    for path in &args.files {
        let shown = path.display().to_string();
        // Read once; certificates and keys, then CSRs and CRLs, come from the same bytes.
        let bytes = read_capped(path);
        let others = match &bytes {
            Ok(b) => other::read(b, &shown, ctx.now),
            Err(_) => other::Others::default(),
        };
        let loaded = bytes.and_then(|b| inventory::read_input_with(Cursor::new(b), &opts));
        let mut loaded = match loaded {
            Ok(l) => l,
            Err(e) => {
                errors.push(InputError {
                    path: shown,
                    index: None,
                    reason: describe_io(&e),
                });
                continue;
            }
        };
        let key_spkis: Vec<Sha256> = loaded.keys.iter().map(|(_, k)| *k).collect();
        for ((index, facts), der) in loaded.certs.iter().zip(&loaded.ders) {
            match X509Certificate::from_der(der) {
                Ok((_, x)) => certs.push(inspect(&shown, *index, facts, &x, &key_spkis, ctx)),
                Err(e) => errors.push(InputError {
                    path: shown.clone(),
                    index: Some(*index),
                    reason: e.to_string(),
                }),
            }
        }
        for (index, spki) in &loaded.keys {
            keys.push(InspectKey {
                path: shown.clone(),
                index: *index,
                spki_sha256: *spki,
                spki_pin_sha256: spki.pin(),
                matches_certificate: loaded.certs.iter().any(|(_, f)| f.spki == *spki),
            });
        }
        // CSRs and CRLs are shown here; the certificate reader's notes about them go, and so
        // does its "nothing found" when they were all the input held.
        let found_other = others.found();
        loaded.warnings.retain(|(i, text)| match i {
            Some(i) => !others.blocks.contains(i),
            None => !(found_other && (text.contains("X509 CRL") || text.contains("REQUEST"))),
        });
        loaded.errors.retain(|(i, _)| match i {
            Some(i) => !others.blocks.contains(i),
            None => !(found_other && loaded.certs.is_empty() && loaded.keys.is_empty()),
        });
        for (index, reason) in others.errors {
            errors.push(InputError {
                path: shown.clone(),
                index,
                reason,
            });
        }
        csrs.extend(others.csrs);
        crls.extend(others.crls);
        // Public keys are named by type (their hash is all there is to show).
        for (index, kind, spki, _) in &loaded.public {
            if others.blocks.contains(index) {
                continue;
            }
            warnings.push(InputError {
                path: shown.clone(),
                index: Some(*index),
                reason: format!(
                    "{}, not a certificate (spki sha256 {spki}, pin-sha256 {})",
                    kind.label(),
                    spki.pin()
                ),
            });
        }
        if loaded.certs.is_empty()
            && loaded.keys.is_empty()
            && loaded.errors.is_empty()
            && !found_other
        {
            errors.push(InputError {
                path: shown.clone(),
                index: None,
                reason: "no certificate or private key found".into(),
            });
        }
        for (index, reason) in loaded.warnings {
            warnings.push(InputError {
                path: shown.clone(),
                index,
                reason,
            });
        }
        for (index, reason) in loaded.errors {
            errors.push(InputError {
                path: shown.clone(),
                index,
                reason,
            });
        }
    }
    crate::report::messages::report_warnings(&warnings);
    crate::report::messages::report_errors(&errors);
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        match ctx.format {
            Format::Table => {
                write_human(&certs, &keys, &mut out)?;
                other::write_human(
                    &csrs,
                    &crls,
                    !certs.is_empty() || !keys.is_empty(),
                    &mut out,
                )?;
            }
            Format::Ndjson => write_ndjson(&certs, &keys, &csrs, &crls, &errors, ctx, &mut out)?,
            Format::Csv => write_csv(&certs, &csrs, &crls, &mut out)?,
            Format::Json | Format::Prometheus | Format::Html => {
                let report = InspectReport {
                    schema_version: SCHEMA_VERSION,
                    tool: &TOOL,
                    now: timefmt::rfc3339(ctx.now),
                    certificates: &certs,
                    private_keys: &keys,
                    certificate_requests: &csrs,
                    crls: &crls,
                    errors: errors.iter().map(|e| ErrorRecord::new(e, None)).collect(),
                };
                serde_json::to_writer_pretty(&mut out, &report).map_err(io::Error::from)?;
                writeln!(out)?;
            }
        }
        out.finish()?;
    }
    Ok(ExitCode::of(!errors.is_empty(), false))
}

/// The most `inspect` reads of one input (it is for looking at files, not bulk scans).
const MAX_INPUT: u64 = 64 << 20;

/// The whole input (`-` is stdin), at most [`MAX_INPUT`] bytes.
fn read_capped(path: &std::path::Path) -> io::Result<Vec<u8>> {
    crate::input::read_all(path, MAX_INPUT)
}

/// The NDJSON summary line of `inspect`.
#[derive(Serialize)]
struct InspectSummary {
    certificates: usize,
    private_keys: usize,
    certificate_requests: usize,
    crls: usize,
    errors: usize,
    complete: bool,
}

#[derive(Serialize)]
struct Line<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    record: &'a T,
}

/// NDJSON: a `certificate` line per certificate, a `private-key` line per key, then the
/// shared tail (error lines, the summary line).
fn write_ndjson(
    certs: &[Inspected],
    keys: &[InspectKey],
    csrs: &[other::InspectedCsr],
    crls: &[other::InspectedCrl],
    errors: &[InputError],
    ctx: &Context,
    out: &mut dyn Write,
) -> io::Result<()> {
    for c in certs {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "certificate",
                record: c,
            },
        )?;
        out.write_all(b"\n")?;
    }
    for k in keys {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "private-key",
                record: k,
            },
        )?;
        out.write_all(b"\n")?;
    }
    for c in csrs {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "certificate-request",
                record: c,
            },
        )?;
        out.write_all(b"\n")?;
    }
    for c in crls {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "crl",
                record: c,
            },
        )?;
        out.write_all(b"\n")?;
    }
    #[derive(Serialize)]
    struct Policy {
        now: String,
    }
    crate::report::write_ndjson_tail(
        errors,
        Policy {
            now: timefmt::rfc3339(ctx.now),
        },
        InspectSummary {
            certificates: certs.len(),
            private_keys: keys.len(),
            certificate_requests: csrs.len(),
            crls: crls.len(),
            errors: errors.len(),
            complete: errors.is_empty(),
        },
        out,
    )
}

/// The CSV columns of `inspect`, in order (lists are joined with `;`).
pub const CSV_COLUMNS: [&str; 33] = [
    "schema_version",
    "path",
    "index",
    "serial",
    "subject",
    "issuer",
    "not_before",
    "not_after",
    "days_left",
    "validity",
    "fingerprint_sha256",
    "spki_sha256",
    "spki_pin_sha256",
    "key_algorithm",
    "key_bits",
    "key_curve",
    "signature_algorithm",
    "is_ca",
    "dns_names",
    "ip_addresses",
    "emails",
    "uris",
    "key_usage",
    "extended_key_usage",
    "ocsp",
    "crl_distribution_points",
    "private_key_in_file",
    "record",
    "signature_valid",
    "this_update",
    "next_update",
    "revoked_count",
    "revoked_serials",
];

/// CSV: one row per certificate, then per CSR and CRL (`record` tells which; errors go to
/// stderr and the exit code).
fn write_csv(
    certs: &[Inspected],
    csrs: &[other::InspectedCsr],
    crls: &[other::InspectedCrl],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for c in certs {
        crate::report::csv_record(
            &mut w,
            [
                SCHEMA_VERSION.to_string(),
                c.path.clone(),
                c.index.to_string(),
                c.serial.clone(),
                c.subject.clone(),
                c.issuer.clone(),
                c.not_before.clone(),
                c.not_after.clone(),
                c.days_left.to_string(),
                c.validity.to_owned(),
                c.fingerprint_sha256.clone(),
                c.spki_sha256.clone(),
                c.spki_pin_sha256.clone(),
                c.key.algorithm.to_owned(),
                c.key.bits.map(|b| b.to_string()).unwrap_or_default(),
                c.key.curve.unwrap_or("").to_owned(),
                c.signature_algorithm.clone(),
                c.is_ca.to_string(),
                c.dns_names.join(";"),
                c.ip_addresses.join(";"),
                c.emails.join(";"),
                c.uris.join(";"),
                c.key_usage.join(";"),
                c.extended_key_usage.join(";"),
                c.ocsp.join(";"),
                c.crl_distribution_points.join(";"),
                c.private_key_in_file.to_string(),
                "certificate".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        )?;
    }
    for row in other::csv_rows(csrs, crls) {
        let cells = CSV_COLUMNS.map(|col| {
            if col == "schema_version" {
                return SCHEMA_VERSION.to_string();
            }
            row.iter()
                .find(|(name, _)| *name == col)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        });
        crate::report::csv_record(&mut w, cells)?;
    }
    w.flush()
}

fn inspect(
    path: &str,
    index: usize,
    f: &CertFacts,
    x: &X509Certificate<'_>,
    key_spkis: &[Sha256],
    ctx: &Context,
) -> Inspected {
    let tbs = &x.tbs_certificate;
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, x.as_raw());
    let validity = if f.not_after < ctx.now {
        "expired"
    } else if f.not_before > ctx.now {
        "not-yet-valid"
    } else {
        "valid"
    };
    let mut out = Inspected {
        path: path.to_owned(),
        index,
        version: tbs.version().0 + 1,
        serial: f.serial.clone(),
        subject: f.subject.clone(),
        issuer: f.issuer.to_string(),
        self_issued: f.subject_id == f.issuer_id,
        not_before: timefmt::rfc3339(f.not_before),
        not_after: timefmt::rfc3339(f.not_after),
        days_left: timefmt::days_between(ctx.now, f.not_after),
        validity,
        fingerprint_sha256: f.fingerprint.to_string(),
        fingerprint_sha1: hex::encode(sha1.as_ref()),
        spki_sha256: f.spki.to_string(),
        spki_pin_sha256: f.spki.pin(),
        key: f.key.clone(),
        signature_algorithm: f.signature_algorithm.to_string(),
        is_ca: f.is_ca,
        path_len_constraint: None,
        dns_names: f.dns_names.clone(),
        ip_addresses: f.ip_addresses.clone(),
        emails: f.emails.clone(),
        uris: f.uris.clone(),
        key_usage: Vec::new(),
        extended_key_usage: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        crl_distribution_points: Vec::new(),
        ocsp: Vec::new(),
        ca_issuers: Vec::new(),
        policies: Vec::new(),
        extensions: Vec::new(),
        private_key_in_file: key_spkis.contains(&f.spki),
    };
    for ext in tbs.extensions() {
        let oid = ext.oid.to_id_string();
        out.extensions.push(Extension {
            name: extension_name(&oid).to_owned(),
            oid,
            critical: ext.critical,
        });
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                out.path_len_constraint = bc.path_len_constraint
            }
            ParsedExtension::KeyUsage(ku) => {
                out.key_usage = ku
                    .to_string()
                    .split(", ")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let named = [
                    (eku.any, "anyExtendedKeyUsage"),
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                ];
                out.extended_key_usage = named
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| (*n).to_owned())
                    .collect();
                out.extended_key_usage
                    .extend(eku.other.iter().map(|o| o.to_id_string()));
            }
            ParsedExtension::SubjectKeyIdentifier(id) => {
                out.subject_key_id = Some(hex::encode(id.0))
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                out.authority_key_id = aki.key_identifier.as_ref().map(|k| hex::encode(k.0))
            }
            ParsedExtension::CRLDistributionPoints(dps) => {
                for dp in dps.iter() {
                    if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) =
                        &dp.distribution_point
                    {
                        out.crl_distribution_points
                            .extend(names.iter().map(general_name));
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for ad in aia.iter() {
                    let target = general_name(&ad.access_location);
                    match ad.access_method.to_id_string().as_str() {
                        "1.3.6.1.5.5.7.48.1" => out.ocsp.push(target),
                        "1.3.6.1.5.5.7.48.2" => out.ca_issuers.push(target),
                        _ => {}
                    }
                }
            }
            ParsedExtension::CertificatePolicies(p) => {
                out.policies = p.iter().map(|pi| pi.policy_id.to_id_string()).collect()
            }
            _ => {}
        }
    }
    out
}

fn general_name(gn: &GeneralName<'_>) -> String {
    match gn {
        GeneralName::URI(u) | GeneralName::DNSName(u) | GeneralName::RFC822Name(u) => {
            (*u).to_owned()
        }
        GeneralName::IPAddress(b) => cert::ip_string(b),
        other => format!("{other:?}"),
    }
}

fn extension_name(oid: &str) -> &'static str {
    match oid {
        "2.5.29.14" => "subjectKeyIdentifier",
        "2.5.29.15" => "keyUsage",
        "2.5.29.17" => "subjectAltName",
        "2.5.29.18" => "issuerAltName",
        "2.5.29.19" => "basicConstraints",
        "2.5.29.30" => "nameConstraints",
        "2.5.29.31" => "cRLDistributionPoints",
        "2.5.29.32" => "certificatePolicies",
        "2.5.29.35" => "authorityKeyIdentifier",
        "2.5.29.37" => "extKeyUsage",
        "1.3.6.1.5.5.7.1.1" => "authorityInfoAccess",
        "1.3.6.1.4.1.11129.2.4.2" => "ctPrecertificateSCTs",
        "1.3.6.1.5.5.7.1.24" => "tlsFeature",
        _ => "",
    }
}

fn write_human(certs: &[Inspected], keys: &[InspectKey], out: &mut dyn Write) -> io::Result<()> {
    for (n, c) in certs.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                escape(&v.join(", "))
            }
        };
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let key = format!(
            "{}{}{}",
            c.key.algorithm,
            c.key.curve.map(|cv| format!(" {cv}")).unwrap_or_default(),
            c.key
                .bits
                .map(|b| format!(" ({b} bits)"))
                .unwrap_or_default()
        );
        writeln!(out, "{} (block {})", escape(&c.path), c.index)?;
        let rows: Vec<(&str, String)> = vec![
            ("Subject", escape(&c.subject)),
            ("Issuer", escape(&c.issuer)),
            ("Serial", c.serial.clone()),
            ("Version", c.version.to_string()),
            ("Not before", c.not_before.clone()),
            (
                "Not after",
                format!(
                    "{} ({}, {} days left)",
                    c.not_after, c.validity, c.days_left
                ),
            ),
            ("Key", key),
            ("Signature", c.signature_algorithm.clone()),
            ("SHA-256", c.fingerprint_sha256.clone()),
            ("SHA-1", c.fingerprint_sha1.clone()),
            ("SPKI SHA-256", c.spki_sha256.clone()),
            (
                "CA",
                match (c.is_ca, c.path_len_constraint) {
                    (true, Some(p)) => format!("yes (path length {p})"),
                    (true, None) => "yes".into(),
                    (false, _) => "no".into(),
                },
            ),
            ("DNS names", list(&c.dns_names)),
            ("IP addresses", list(&c.ip_addresses)),
            ("Emails", list(&c.emails)),
            ("URIs", list(&c.uris)),
            ("Key usage", list(&c.key_usage)),
            ("Ext. key usage", list(&c.extended_key_usage)),
            ("Subject key id", opt(&c.subject_key_id)),
            ("Authority key id", opt(&c.authority_key_id)),
            ("CRL points", list(&c.crl_distribution_points)),
            ("OCSP", list(&c.ocsp)),
            ("CA issuers", list(&c.ca_issuers)),
            ("Policies", list(&c.policies)),
            ("Extensions", {
                let v: Vec<String> = c
                    .extensions
                    .iter()
                    .map(|e| {
                        let name = if e.name.is_empty() {
                            e.oid.clone()
                        } else {
                            e.name.clone()
                        };
                        if e.critical {
                            format!("{name} (critical)")
                        } else {
                            name
                        }
                    })
                    .collect();
                list(&v)
            }),
            (
                "Private key",
                if c.private_key_in_file {
                    "in the same file".into()
                } else {
                    "-".into()
                },
            ),
        ];
        for (label, value) in rows {
            writeln!(out, "  {:<17} {value}", format!("{label}:"))?;
        }
    }
    for k in keys {
        writeln!(
            out,
            "\n{} (block {}): private key, public key SHA-256 {}{}",
            escape(&k.path),
            k.index,
            k.spki_sha256,
            if k.matches_certificate {
                ""
            } else {
                " (no certificate in this file matches it)"
            }
        )?;
    }
    Ok(())
}
