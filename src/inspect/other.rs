//! What `inspect` shows besides certificates and keys: certificate requests (CSRs) and CRLs,
//! every field, from PEM blocks or a whole DER file.

use std::collections::HashSet;

use serde::Serialize;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{CertificateRevocationList, FromDer, X509CertificationRequest};

use crate::cert::{self, name, KeyInfo, Sha256};
use crate::inventory::pem::{PemItem, PemReader};
use crate::timefmt;

#[derive(Serialize)]
pub struct InspectedCsr {
    pub path: String,
    pub index: usize,
    pub subject: String,
    pub spki_sha256: Sha256,
    pub spki_pin_sha256: String,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    /// The request is signed by the key it carries (proof of possession).
    pub signature_valid: bool,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    /// Requested extensions by name (or OID).
    pub requested_extensions: Vec<String>,
}

#[derive(Serialize)]
pub struct RevokedEntry {
    pub serial: String,
    pub revocation_date: String,
    pub reason: Option<&'static str>,
}

#[derive(Serialize)]
pub struct InspectedCrl {
    pub path: String,
    pub index: usize,
    pub issuer: String,
    pub this_update: String,
    pub next_update: Option<String>,
    /// `overdue` when nextUpdate is before now: a relying party should not trust it.
    pub freshness: &'static str,
    pub crl_number: Option<String>,
    pub signature_algorithm: String,
    pub revoked_count: usize,
    pub revoked: Vec<RevokedEntry>,
    pub extensions: Vec<String>,
}

/// The CSRs and CRLs of one input, and which PEM blocks they were (so the certificate
/// reader's "not a certificate" notes for them can be dropped).
#[derive(Default)]
pub struct Others {
    pub csrs: Vec<InspectedCsr>,
    pub crls: Vec<InspectedCrl>,
    pub blocks: HashSet<usize>,
    /// Problems with a CSR or CRL block: (block, reason).
    pub errors: Vec<(Option<usize>, String)>,
}

impl Others {
    pub fn found(&self) -> bool {
        !self.csrs.is_empty() || !self.crls.is_empty()
    }
}

/// Reads every CSR and CRL in `bytes` (PEM blocks, or the whole input as DER).
pub fn read(bytes: &[u8], path: &str, now: time::OffsetDateTime) -> Others {
    let mut others = Others::default();
    let mut any_block = false;
    for item in PemReader::new(bytes) {
        let PemItem::Block(b) = item else { continue };
        any_block = true;
        let kind = match b.label.as_str() {
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Kind::Csr,
            "X509 CRL" => Kind::Crl,
            _ => continue,
        };
        others.blocks.insert(b.number);
        if let Err(reason) = read_one(kind, &b.der, path, b.number, now, &mut others) {
            others.errors.push((Some(b.number), reason));
        }
    }
    if !any_block && bytes.first() == Some(&0x30) {
        // A DER file: a CSR or a CRL, else not ours (the certificate reader judges it).
        if read_one(Kind::Csr, bytes, path, 1, now, &mut others).is_err() {
            let _ = read_one(Kind::Crl, bytes, path, 1, now, &mut others);
        }
    }
    others
}

#[derive(Clone, Copy)]
enum Kind {
    Csr,
    Crl,
}

fn read_one(
    kind: Kind,
    der: &[u8],
    path: &str,
    index: usize,
    now: time::OffsetDateTime,
    others: &mut Others,
) -> Result<(), String> {
    match kind {
        Kind::Csr => {
            let (_, csr) = X509CertificationRequest::from_der(der).map_err(|e| {
                format!(
                    "a CERTIFICATE REQUEST that cannot be read: {}",
                    cert::explain::parse_error(&e)
                )
            })?;
            others.csrs.push(csr_record(&csr, path, index));
        }
        Kind::Crl => {
            let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| {
                format!(
                    "an X509 CRL that cannot be read: {}",
                    cert::explain::parse_error(&e)
                )
            })?;
            others.crls.push(crl_record(&crl, path, index, now));
        }
    }
    Ok(())
}

fn csr_record(csr: &X509CertificationRequest<'_>, path: &str, index: usize) -> InspectedCsr {
    let info = &csr.certification_request_info;
    let spki = Sha256::of(info.subject_pki.raw);
    let mut out = InspectedCsr {
        path: path.to_owned(),
        index,
        subject: name::rfc4514(&info.subject),
        spki_sha256: spki,
        spki_pin_sha256: spki.pin(),
        key: cert::key_info(&info.subject_pki),
        signature_algorithm: cert::signature_algorithm_name(&csr.signature_algorithm.algorithm)
            .into_owned(),
        signature_valid: csr.verify_signature().is_ok(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        emails: Vec::new(),
        uris: Vec::new(),
        requested_extensions: Vec::new(),
    };
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            out.requested_extensions.push(extension_name(ext));
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for n in &san.general_names {
                    match n {
                        GeneralName::DNSName(d) => out.dns_names.push((*d).to_owned()),
                        GeneralName::IPAddress(ip) => out.ip_addresses.push(cert::ip_string(ip)),
                        GeneralName::RFC822Name(e) => out.emails.push((*e).to_owned()),
                        GeneralName::URI(u) => out.uris.push((*u).to_owned()),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

fn extension_name(ext: &ParsedExtension<'_>) -> String {
    match ext {
        ParsedExtension::SubjectAlternativeName(_) => "subjectAltName".into(),
        ParsedExtension::KeyUsage(_) => "keyUsage".into(),
        ParsedExtension::ExtendedKeyUsage(_) => "extendedKeyUsage".into(),
        ParsedExtension::BasicConstraints(_) => "basicConstraints".into(),
        ParsedExtension::SubjectKeyIdentifier(_) => "subjectKeyIdentifier".into(),
        ParsedExtension::UnsupportedExtension { oid } => oid.to_id_string(),
        ParsedExtension::ParseError { error } => format!("unreadable extension ({error})"),
        // The variant's name, as RFC 5280 spells it (`authorityKeyIdentifier`, `cRLNumber`).
        other => {
            let debug = format!("{other:?}");
            let name = debug.split(['(', ' ', '{']).next().unwrap_or("extension");
            let mut chars = name.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => "extension".into(),
            }
        }
    }
}

fn crl_record(
    crl: &CertificateRevocationList<'_>,
    path: &str,
    index: usize,
    now: time::OffsetDateTime,
) -> InspectedCrl {
    let this_update = crl.last_update().to_datetime();
    let next_update = crl.next_update().map(|t| t.to_datetime());
    let revoked: Vec<RevokedEntry> = crl
        .iter_revoked_certificates()
        .map(|r| RevokedEntry {
            serial: cert::serial_hex(r.raw_serial()),
            revocation_date: timefmt::rfc3339(r.revocation_date.to_datetime()),
            reason: r
                .reason_code()
                .map(|(_, code)| crate::crl::reason_name(code.0)),
        })
        .collect();
    InspectedCrl {
        path: path.to_owned(),
        index,
        issuer: name::rfc4514(crl.issuer()),
        this_update: timefmt::rfc3339(this_update),
        next_update: next_update.map(timefmt::rfc3339),
        freshness: match next_update {
            Some(n) if n < now => "overdue",
            _ if this_update > now => "not-yet-valid",
            _ => "current",
        },
        crl_number: crl.crl_number().map(|n| n.to_str_radix(16)),
        signature_algorithm: cert::signature_algorithm_name(&crl.signature_algorithm.algorithm)
            .into_owned(),
        revoked_count: revoked.len(),
        revoked,
        extensions: crl
            .extensions()
            .iter()
            .map(|e| extension_name(e.parsed_extension()))
            .collect(),
    }
}

/// The table for people: one block per CSR and per CRL.
pub fn write_human(
    csrs: &[InspectedCsr],
    crls: &[InspectedCrl],
    after_other_output: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut gap = after_other_output;
    let mut heading = |out: &mut dyn std::io::Write, text: String| {
        let sep = if gap { "\n" } else { "" };
        gap = true;
        writeln!(out, "{sep}{text}")
    };
    use crate::sanitize::escape;
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            escape(&v.join(", "))
        }
    };
    for c in csrs {
        heading(
            out,
            format!(
                "{} (block {}): certificate request",
                escape(&c.path),
                c.index
            ),
        )?;
        let key = format!(
            "{}{}{}",
            c.key.algorithm,
            c.key.curve.map(|cv| format!(" {cv}")).unwrap_or_default(),
            c.key
                .bits
                .map(|b| format!(" ({b} bits)"))
                .unwrap_or_default()
        );
        let rows = [
            ("Subject", escape(&c.subject)),
            ("Key", key),
            (
                "Signature",
                format!(
                    "{} ({})",
                    c.signature_algorithm,
                    if c.signature_valid {
                        "valid: made with this key"
                    } else {
                        "INVALID"
                    }
                ),
            ),
            ("SPKI SHA-256", c.spki_sha256.to_string()),
            ("pin-sha256", c.spki_pin_sha256.clone()),
            ("DNS names", list(&c.dns_names)),
            ("IP addresses", list(&c.ip_addresses)),
            ("Emails", list(&c.emails)),
            ("URIs", list(&c.uris)),
            ("Extensions", list(&c.requested_extensions)),
        ];
        for (label, value) in rows {
            writeln!(out, "  {:<17} {value}", format!("{label}:"))?;
        }
    }
    for c in crls {
        heading(out, format!("{} (block {}): CRL", escape(&c.path), c.index))?;
        let rows = [
            ("Issuer", escape(&c.issuer)),
            ("This update", c.this_update.clone()),
            (
                "Next update",
                format!(
                    "{} ({})",
                    c.next_update.as_deref().unwrap_or("-"),
                    c.freshness
                ),
            ),
            (
                "CRL number",
                c.crl_number.clone().unwrap_or_else(|| "-".into()),
            ),
            ("Signature", c.signature_algorithm.clone()),
            ("Extensions", list(&c.extensions)),
            ("Revoked", c.revoked_count.to_string()),
        ];
        for (label, value) in rows {
            writeln!(out, "  {:<17} {value}", format!("{label}:"))?;
        }
        for r in &c.revoked {
            writeln!(
                out,
                "    serial {}  {}{}",
                r.serial,
                r.revocation_date,
                r.reason.map(|x| format!("  {x}")).unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

/// CSV rows for CSRs and CRLs, in `inspect`'s columns (`record` tells the kind).
pub fn csv_rows(csrs: &[InspectedCsr], crls: &[InspectedCrl]) -> Vec<Vec<(&'static str, String)>> {
    let mut rows = Vec::new();
    for c in csrs {
        rows.push(vec![
            ("record", "certificate-request".to_owned()),
            ("path", c.path.clone()),
            ("index", c.index.to_string()),
            ("subject", c.subject.clone()),
            ("spki_sha256", c.spki_sha256.to_string()),
            ("spki_pin_sha256", c.spki_pin_sha256.clone()),
            ("key_algorithm", c.key.algorithm.to_owned()),
            (
                "key_bits",
                c.key.bits.map(|b| b.to_string()).unwrap_or_default(),
            ),
            ("key_curve", c.key.curve.unwrap_or("").to_owned()),
            ("signature_algorithm", c.signature_algorithm.clone()),
            ("signature_valid", c.signature_valid.to_string()),
            ("dns_names", c.dns_names.join(";")),
            ("ip_addresses", c.ip_addresses.join(";")),
            ("emails", c.emails.join(";")),
            ("uris", c.uris.join(";")),
        ]);
    }
    for c in crls {
        rows.push(vec![
            ("record", "crl".to_owned()),
            ("path", c.path.clone()),
            ("index", c.index.to_string()),
            ("issuer", c.issuer.clone()),
            ("signature_algorithm", c.signature_algorithm.clone()),
            ("this_update", c.this_update.clone()),
            ("next_update", c.next_update.clone().unwrap_or_default()),
            ("validity", c.freshness.to_owned()),
            ("revoked_count", c.revoked_count.to_string()),
            (
                "revoked_serials",
                c.revoked
                    .iter()
                    .map(|r| r.serial.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
        ]);
    }
    rows
}
