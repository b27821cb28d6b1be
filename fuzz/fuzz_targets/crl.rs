//! CRLs (PEM or DER) as `--crl` reads them, checked against the fixture issuing CA.
#![no_main]

use std::sync::OnceLock;

use certsweep::cert::{self, CertFacts};
use certsweep::crl;
use libfuzzer_sys::fuzz_target;

fn issuer() -> &'static CertFacts {
    static ISSUER: OnceLock<CertFacts> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let pem = include_bytes!("../../fixtures/ca/intermediate-ca.pem");
        let (_, block) = x509_parser::pem::parse_x509_pem(pem).expect("fixture PEM");
        cert::parse_der(&block.contents).expect("fixture certificate")
    })
}

fuzz_target!(|data: &[u8]| {
    // `--crl` reads a file: the input goes through one, as in a real run.
    let path = std::env::temp_dir().join(format!("certsweep-fuzz-crl-{}", std::process::id()));
    std::fs::write(&path, data).expect("write the input");
    let mut errors = Vec::new();
    let _ = crl::load(&[path], &[issuer()], &mut errors);
});
