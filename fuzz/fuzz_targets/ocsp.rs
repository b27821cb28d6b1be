//! OCSP responses (stapled or from a responder) as `probe` judges them, for a fixture leaf
//! and its Issuing CA. Each input is judged as sent, then once more re-signed by the Issuing
//! CA's key, so the fuzzer also reaches what is read after the signature check.
#![no_main]

use std::sync::OnceLock;

use certsweep::probe::ocsp::{self, RevocationStatus};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;
use rcgen::SigningKey;
use time::macros::datetime;
use x509_ocsp::{BasicOcspResponse, OcspResponse, OcspResponseStatus, ResponseBytes};

/// id-pkix-ocsp-basic
const BASIC: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// ecdsa-with-SHA256
const ECDSA_SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

struct Fixture {
    leaf: Vec<u8>,
    issuer: Vec<u8>,
    key: rcgen::KeyPair,
}

fn der_of(pem: &[u8]) -> Vec<u8> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).expect("fixture PEM");
    block.contents
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        leaf: der_of(include_bytes!("../../fixtures/demo/uploads/shop.pem")),
        issuer: der_of(include_bytes!("../../fixtures/ca/intermediate-ca.pem")),
        key: rcgen::KeyPair::from_pem(include_str!("../../fixtures/ca/intermediate-ca.key.pem"))
            .expect("fixture key"),
    })
}

/// `body` with its basic response signed again by the Issuing CA, if it decodes.
fn resigned(body: &[u8], key: &rcgen::KeyPair) -> Option<Vec<u8>> {
    let response = OcspResponse::from_der(body).ok()?;
    let bytes = response.response_bytes?;
    let mut basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).ok()?;
    let tbs = basic.tbs_response_data.to_der().ok()?;
    let sig = key.sign(&tbs).ok()?;
    basic.signature_algorithm = spki::AlgorithmIdentifierOwned {
        oid: ECDSA_SHA256,
        parameters: None,
    };
    basic.signature = BitString::from_bytes(&sig).ok()?;
    OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: BASIC,
            response: OctetString::new(basic.to_der().ok()?).ok()?,
        }),
    }
    .to_der()
    .ok()
}

fn check(r: &ocsp::Revocation) {
    // An error says why (names from the answer may hold any character: the report escapes
    // them where it prints them).
    match r.status {
        RevocationStatus::Error => {
            let d = r.detail.as_deref().expect("an error says why");
            assert!(!d.trim().is_empty(), "{d:?}");
        }
        _ => assert!(r.this_update.is_none() || r.this_update.as_deref().unwrap().ends_with('Z')),
    }
    if r.status != RevocationStatus::Revoked {
        assert!(r.revoked_at.is_none() && r.reason.is_none());
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let now = datetime!(2026-11-24 0:00 UTC);
    let r = ocsp::fuzz_judge(data, &f.leaf, &f.issuer, now);
    check(&r);
    // Forged: a raw input is never trusted unless the fixture CA signed it.
    if let Some(body) = resigned(data, &f.key) {
        let r = ocsp::fuzz_judge(&body, &f.leaf, &f.issuer, now);
        check(&r);
    }
});
