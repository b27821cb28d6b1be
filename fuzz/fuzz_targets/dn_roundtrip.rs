//! The CSR writer round trip: a subject given as RFC 4514 text becomes DER bytes; the CSR
//! written with them must parse back with exactly those subject bytes and the same key.
#![no_main]

use std::sync::OnceLock;

use certsweep::cli::KeyType;
use certsweep::csr::{dn, request};
use libfuzzer_sys::fuzz_target;
use x509_parser::prelude::FromDer;

fn key() -> &'static rcgen::KeyPair {
    static KEY: OnceLock<rcgen::KeyPair> = OnceLock::new();
    KEY.get_or_init(|| request::new_key(KeyType::EcdsaP256).expect("a P-256 key"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(subject) = dn::parse_rfc4514(text) else {
        return;
    };
    let csr = request::build_csr(&subject, &[], key(), KeyType::EcdsaP256).expect("signs");
    let (rest, parsed) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&csr)
            .expect("the CSR we write parses");
    assert!(rest.is_empty());
    assert_eq!(
        parsed.certification_request_info.subject.as_raw(),
        &subject[..],
        "subject bytes kept"
    );
    use rcgen::PublicKeyData;
    assert_eq!(
        parsed.certification_request_info.subject_pki.raw,
        &key().subject_public_key_info()[..]
    );
});
