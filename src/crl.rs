//! CRLs given with `--crl`: used only when their signature verifies with the issuer's key.

use std::collections::HashMap;
use std::path::Path;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::cert::{self, name, CertFacts, Sha256};
use crate::inventory::pem::{PemItem, PemReader};
use crate::inventory::{describe_io, InputError};

/// Where and why a certificate was found revoked.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub crl_path: String,
    pub crl_issuer: String,
    pub reason: Option<&'static str>,
    pub revoked_at: Option<OffsetDateTime>,
    pub crl_number: Option<String>,
}

/// A CRL that was read and whose signature verified.
#[derive(Debug, Clone)]
pub struct CheckedCrl {
    pub path: String,
    pub issuer: String,
    pub issuer_id: Sha256,
    pub crl_number: Option<String>,
}

/// Revoked serials, keyed by (issuer name digest, serial hex).
#[derive(Debug, Default)]
pub struct Revocations {
    /// Issuer name digest → serial → revocation (looked up per certificate: no allocation).
    entries: HashMap<Sha256, HashMap<String, Revocation>>,
    /// Every CRL used, in the order read.
    pub crls: Vec<CheckedCrl>,
}

impl Revocations {
    pub fn lookup(&self, facts: &CertFacts) -> Option<&Revocation> {
        self.find(facts.issuer_id, &facts.serial)
    }

    /// Records a revocation learnt elsewhere (an OCSP answer, `--online`).
    pub fn add(&mut self, issuer_id: Sha256, serial: String, revocation: Revocation) {
        self.entries
            .entry(issuer_id)
            .or_default()
            .insert(serial, revocation);
    }

    /// The revocation of `serial` (lowercase hex) by the issuer whose name digest is given.
    pub fn find(&self, issuer_id: Sha256, serial: &str) -> Option<&Revocation> {
        self.entries.get(&issuer_id)?.get(serial)
    }
}

/// Loads each CRL file; a CRL whose issuer is unknown or whose signature fails is reported
/// as an error and not used (a forged CRL must not hide an exposed certificate).
pub fn load(
    paths: &[impl AsRef<Path>],
    issuers: &[&CertFacts],
    errors: &mut Vec<InputError>,
) -> Revocations {
    let mut error = |path: String, index: Option<usize>, reason: String| {
        errors.push(InputError {
            path,
            index,
            reason,
        })
    };
    let mut out = Revocations::default();
    for path in paths {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = match crate::inventory::limits::read_side_file(path) {
            Ok(b) => b,
            Err(e) => {
                error(shown, None, format!("CRL: {}", describe_io(&e)));
                continue;
            }
        };
        let ders = crl_ders(&bytes);
        if ders.is_empty() {
            error(
                shown.clone(),
                None,
                "no CRL found (expected PEM 'X509 CRL' blocks or DER)".into(),
            );
        }
        for (n, der) in ders {
            if let Err(reason) = add_crl(&der, &shown, issuers, &mut out) {
                error(shown.clone(), n, reason);
            }
        }
    }
    out
}

/// The DER CRLs in a file: PEM `X509 CRL` blocks, or the whole file as DER.
fn crl_ders(bytes: &[u8]) -> Vec<(Option<usize>, Vec<u8>)> {
    if bytes.first() == Some(&0x30) {
        return vec![(None, bytes.to_vec())];
    }
    PemReader::new(bytes)
        .filter_map(|item| match item {
            PemItem::Block(b) if b.label == "X509 CRL" => Some((Some(b.number), b.der.to_vec())),
            _ => None,
        })
        .collect()
}

fn add_crl(
    der: &[u8],
    shown: &str,
    issuers: &[&CertFacts],
    out: &mut Revocations,
) -> Result<(), String> {
    let (_, crl) =
        CertificateRevocationList::from_der(der).map_err(|e| format!("not a valid CRL: {e}"))?;
    let issuer_id = Sha256::of(crl.issuer().as_raw());
    let issuer_name = name::rfc4514(crl.issuer());
    let candidates: Vec<&CertFacts> = issuers
        .iter()
        .copied()
        .filter(|c| c.subject_id == issuer_id && c.ca_spki_der.is_some())
        .collect();
    if candidates.is_empty() {
        return Err(format!(
            "cannot check this CRL's signature: its issuer '{}' is not in the inventory or --roots; CRL not used",
            crate::sanitize::escape(&issuer_name)
        ));
    }
    let verified = candidates.iter().any(|c| {
        let Some(spki_der) = c.ca_spki_der.as_deref() else {
            return false;
        };
        match SubjectPublicKeyInfo::from_der(spki_der) {
            Ok((_, spki)) => crl.verify_signature(&spki).is_ok(),
            Err(_) => false,
        }
    });
    if !verified {
        return Err(format!(
            "CRL signature does not verify with the key of its issuer '{}'; CRL not used",
            crate::sanitize::escape(&issuer_name)
        ));
    }
    let crl_number = crl.crl_number().map(|n| n.to_string());
    out.crls.push(CheckedCrl {
        path: shown.to_owned(),
        issuer: issuer_name.clone(),
        issuer_id,
        crl_number: crl_number.clone(),
    });
    for revoked in crl.iter_revoked_certificates() {
        let serial = cert::serial_hex(revoked.raw_serial());
        let reason = revoked.reason_code().map(|(_, code)| reason_name(code.0));
        let revoked_at =
            OffsetDateTime::from_unix_timestamp(revoked.revocation_date.timestamp()).ok();
        out.entries.entry(issuer_id).or_default().insert(
            serial,
            Revocation {
                crl_path: shown.to_owned(),
                crl_issuer: issuer_name.clone(),
                reason,
                revoked_at,
                crl_number: crl_number.clone(),
            },
        );
    }
    Ok(())
}

/// RFC 5280 CRLReason names.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}
