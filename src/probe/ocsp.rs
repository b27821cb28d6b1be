//! `--check-revocation`: whether a served certificate is revoked, by OCSP (RFC 6960).
//!
//! A stapled response (sent by the server in the handshake) is read first; else the responder
//! named in the leaf's Authority Information Access is asked, over plain http:// only (OCSP is
//! an http protocol; no other URL is ever contacted, and proxies from the environment are
//! not used). Every answer's signature is verified: by the issuer itself, or by a responder
//! certificate the issuer signed for id-kp-OCSPSigning. Each request is bounded by the
//! target's timeout and the answer by `MAX_RESPONSE` bytes. The request and response
//! encodings are RustCrypto's `x509-ocsp`; signatures are checked by x509-parser on aws-lc.

use std::time::Duration;

use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use serde::Serialize;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::timefmt;

/// The largest OCSP response read.
pub const MAX_RESPONSE: u64 = 64 * 1024;

const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// What OCSP says about the served leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationStatus {
    Good,
    Revoked,
    /// The responder does not know the certificate.
    Unknown,
    /// Nothing to ask: no OCSP URL (or not http://), or no issuer certificate served.
    NotChecked,
    /// The question could not be answered: unreachable responder, bad signature, stale or
    /// malformed answer.
    Error,
}

impl RevocationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Good => "good",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Unknown => "unknown",
            RevocationStatus::NotChecked => "not-checked",
            RevocationStatus::Error => "error",
        }
    }
}

/// The revocation verdict of one served leaf, with where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Revocation {
    pub status: RevocationStatus,
    /// `stapled` or `responder`.
    pub source: Option<&'static str>,
    /// The responder URL asked.
    pub responder: Option<String>,
    pub revoked_at: Option<String>,
    pub reason: Option<&'static str>,
    pub this_update: Option<String>,
    pub next_update: Option<String>,
    /// Why not checked, or what failed.
    pub detail: Option<String>,
}

impl Revocation {
    fn without(status: RevocationStatus, detail: String) -> Self {
        Revocation {
            status,
            source: None,
            responder: None,
            revoked_at: None,
            reason: None,
            this_update: None,
            next_update: None,
            detail: Some(detail),
        }
    }
}

/// Checks `leaf` (issued by `issuer`, when the server sent it): the stapled response if any,
/// else the responder in the leaf's AIA.
pub fn check(
    leaf: &[u8],
    issuer: Option<&[u8]>,
    stapled: &[u8],
    now: OffsetDateTime,
    timeout: Duration,
) -> Revocation {
    let err = |d: String| Revocation::without(RevocationStatus::Error, d);
    let Ok((_, leaf)) = X509Certificate::from_der(leaf) else {
        return err("the served certificate cannot be read".into());
    };
    let issuer = match issuer.map(X509Certificate::from_der) {
        Some(Ok((_, i))) if i.subject().as_raw() == leaf.issuer().as_raw() => i,
        _ => {
            return Revocation::without(
                RevocationStatus::NotChecked,
                "the server did not send the issuing CA certificate, which OCSP needs to name the certificate"
                    .into(),
            )
        }
    };
    let id = match cert_id(&leaf, &issuer) {
        Ok(id) => id,
        Err(e) => return err(e),
    };
    if !stapled.is_empty() {
        let mut r = judge(stapled, &id, &issuer, now);
        r.source = Some("stapled");
        return r;
    }
    let urls = ocsp_urls(&leaf);
    let Some(url) = urls.iter().find(|u| u.starts_with("http://")) else {
        return Revocation::without(
            RevocationStatus::NotChecked,
            match urls.first() {
                Some(u) => format!(
                    "the certificate's OCSP responder {u} is not an http:// URL: not contacted"
                ),
                None => {
                    "the certificate names no OCSP responder (and the server stapled none)".into()
                }
            },
        );
    };
    let mut r = match ask(url, &id, timeout) {
        Ok(body) => judge(&body, &id, &issuer, now),
        Err(e) => err(e),
    };
    r.source = Some("responder");
    r.responder = Some(url.clone());
    r
}

/// The verdict on an OCSP answer `body` for `leaf` issued by `issuer` (both DER), as for a
/// stapled answer: for the fuzz targets.
#[doc(hidden)]
pub fn fuzz_judge(body: &[u8], leaf: &[u8], issuer: &[u8], now: OffsetDateTime) -> Revocation {
    let (Ok((_, leaf)), Ok((_, issuer))) = (
        X509Certificate::from_der(leaf),
        X509Certificate::from_der(issuer),
    ) else {
        return Revocation::without(RevocationStatus::Error, "fixture".into());
    };
    match cert_id(&leaf, &issuer) {
        Ok(id) => judge(body, &id, &issuer, now),
        Err(e) => Revocation::without(RevocationStatus::Error, e),
    }
}

/// RFC 6960 §4.1.1: SHA-1 of the issuer's name and key, and the serial.
fn cert_id(leaf: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<CertId, String> {
    let bad = |e: der::Error| format!("cannot build the OCSP request: {e}");
    let name_hash = Sha1::digest(issuer.subject().as_raw());
    let key_hash = Sha1::digest(&issuer.public_key().subject_public_key.data);
    Ok(CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: ID_SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new(name_hash.to_vec()).map_err(bad)?,
        issuer_key_hash: OctetString::new(key_hash.to_vec()).map_err(bad)?,
        serial_number: x509_cert::serial_number::SerialNumber::new(leaf.raw_serial())
            .map_err(bad)?,
    })
}

/// The OCSP URLs in the leaf's Authority Information Access.
fn ocsp_urls(leaf: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in leaf.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1" {
                    if let GeneralName::URI(u) = desc.access_location {
                        out.push(u.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// POSTs the request (RFC 6960 appendix A.1) and returns the body.
fn ask(url: &str, id: &CertId, timeout: Duration) -> Result<Vec<u8>, String> {
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(|e| format!("cannot build the OCSP request: {e}"))?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!("certsweep/", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/ocsp-request")
        .send(&request[..])
        .map_err(|e| format!("the OCSP responder {url} could not be asked: {e}"))?;
    let status = response.status();
    if status != 200 {
        return Err(format!(
            "the OCSP responder {url} answered HTTP {}",
            status.as_u16()
        ));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_vec()
        .map_err(|e| format!("reading the answer of the OCSP responder {url} failed: {e}"))
}

/// Verifies an OCSP response for `id` and reads its verdict.
fn judge(
    body: &[u8],
    id: &CertId,
    issuer: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Revocation {
    match judge_inner(body, id, issuer, now) {
        Ok(r) => r,
        Err(e) => Revocation::without(RevocationStatus::Error, e),
    }
}

fn judge_inner(
    body: &[u8],
    id: &CertId,
    issuer: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<Revocation, String> {
    let response =
        OcspResponse::from_der(body).map_err(|e| format!("the OCSP answer cannot be read: {e}"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(format!(
            "the OCSP responder refused to answer ({})",
            match response.response_status {
                OcspResponseStatus::MalformedRequest => "malformedRequest",
                OcspResponseStatus::InternalError => "internalError",
                OcspResponseStatus::TryLater => "tryLater",
                OcspResponseStatus::SigRequired => "sigRequired",
                OcspResponseStatus::Unauthorized =>
                    "unauthorized: it does not answer for this issuer",
                OcspResponseStatus::Successful => "successful",
            }
        ));
    }
    let bytes = response.response_bytes.ok_or("the OCSP answer is empty")?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err("the OCSP answer is not a basic OCSP response".into());
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| format!("the OCSP answer cannot be read: {e}"))?;
    verify_signature(&basic, issuer, now)?;

    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|s| {
            s.cert_id.issuer_name_hash == id.issuer_name_hash
                && s.cert_id.issuer_key_hash == id.issuer_key_hash
                && s.cert_id.serial_number == id.serial_number
        })
        .ok_or("the OCSP answer does not mention the served certificate")?;
    let time = |t: &x509_ocsp::OcspGeneralizedTime| {
        OffsetDateTime::from_unix_timestamp(t.0.to_unix_duration().as_secs() as i64).ok()
    };
    let next_update = single.next_update.as_ref().and_then(time);
    if let Some(next) = next_update {
        if next < now {
            return Err(format!(
                "the OCSP answer is stale: its nextUpdate is {} (now is {})",
                timefmt::rfc3339(next),
                timefmt::rfc3339(now)
            ));
        }
    }
    let mut r = Revocation {
        status: RevocationStatus::Good,
        source: None,
        responder: None,
        revoked_at: None,
        reason: None,
        this_update: time(&single.this_update).map(timefmt::rfc3339),
        next_update: next_update.map(timefmt::rfc3339),
        detail: None,
    };
    match &single.cert_status {
        CertStatus::Good(_) => {}
        CertStatus::Unknown(_) => r.status = RevocationStatus::Unknown,
        CertStatus::Revoked(info) => {
            r.status = RevocationStatus::Revoked;
            r.revoked_at = time(&info.revocation_time).map(timefmt::rfc3339);
            r.reason = info.revocation_reason.map(reason_name);
        }
    }
    Ok(r)
}

fn reason_name(r: x509_cert::ext::pkix::CrlReason) -> &'static str {
    use x509_cert::ext::pkix::CrlReason as R;
    match r {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCRL => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
}

/// The response is signed by the issuer, or by a certificate in the response that the
/// issuer signed, that is valid at `now` and has the id-kp-OCSPSigning extended key usage.
fn verify_signature(
    basic: &BasicOcspResponse,
    issuer: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<(), String> {
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| format!("the OCSP answer cannot be read: {e}"))?;
    let alg_der = basic
        .signature_algorithm
        .to_der()
        .map_err(|e| format!("the OCSP answer cannot be read: {e}"))?;
    let (_, alg) = x509_parser::x509::AlgorithmIdentifier::from_der(&alg_der)
        .map_err(|_| "the OCSP answer's signature algorithm cannot be read".to_owned())?;
    let sig_bytes = basic.signature.raw_bytes();
    let sig = x509_parser::der_parser::asn1_rs::BitString::new(0, sig_bytes);
    let by = |spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>| {
        x509_parser::verify::verify_signature(spki, &alg, &sig, &tbs).is_ok()
    };
    if by(issuer.public_key()) {
        return Ok(());
    }
    let mut why =
        "it is not signed by the issuing CA and names no responder certificate".to_owned();
    for cert in basic.certs.iter().flatten() {
        let Ok(der) = cert.to_der() else { continue };
        let Ok((_, responder)) = X509Certificate::from_der(&der) else {
            continue;
        };
        if responder.issuer().as_raw() != issuer.subject().as_raw()
            || responder
                .verify_signature(Some(issuer.public_key()))
                .is_err()
        {
            why = format!(
                "its responder certificate ({}) is not signed by the issuing CA",
                responder.subject()
            );
            continue;
        }
        let ocsp_signing = responder
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|eku| eku.value.ocsp_signing);
        if !ocsp_signing {
            why = format!(
                "its responder certificate ({}) lacks the OCSPSigning extended key usage",
                responder.subject()
            );
            continue;
        }
        let validity = responder.validity();
        let (from, to) = (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        );
        if now.unix_timestamp() < from || now.unix_timestamp() > to {
            why = format!(
                "its responder certificate ({}) is not valid at {}",
                responder.subject(),
                timefmt::rfc3339(now)
            );
            continue;
        }
        if by(responder.public_key()) {
            return Ok(());
        }
        why = format!(
            "the signature does not verify with its responder certificate ({})",
            responder.subject()
        );
    }
    Err(format!("the OCSP answer is not trustworthy: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_the_rfc_ones() {
        assert_eq!(ID_SHA1.to_string(), "1.3.14.3.2.26");
        assert_eq!(ID_PKIX_OCSP_BASIC.to_string(), "1.3.6.1.5.5.7.48.1.1");
    }
}
