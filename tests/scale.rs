//! Shapes of inventory that must stay linear: many certificates on one key.

use rcgen::{CertificateParams, KeyPair, SerialNumber};

use crate::harness::*;

/// `n` distinct certificates (different serials, so different fingerprints) on one key, as
/// one PEM bundle. Signatures are not checked by `scan`, so one certificate is signed and the
/// others are copies with the serial's bytes replaced.
fn one_key_bundle(n: u32) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["shared.example".to_owned()]).unwrap();
    let marker = [0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x01];
    params.serial_number = Some(SerialNumber::from_slice(&marker));
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let at = der
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("serial bytes in the DER");
    let mut pem = String::new();
    for i in 0..n {
        let mut copy = der.clone();
        copy[at + 4..at + 8].copy_from_slice(&(i + 1).to_be_bytes());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        use base64::Engine as _;
        pem.push_str(&base64::engine::general_purpose::STANDARD.encode(&copy));
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    pem
}

/// 8,000 certificates on one key: each record lists at most 4 others and counts the rest.
/// Collecting the whole key group per certificate needed 8,000 x 8,000 entries (1 GB); the
/// scan must fit in 256 MiB of data.
#[test]
fn one_key_on_many_certificates_stays_bounded() {
    let dir = temp();
    let bundle = write(dir.path(), "bundle.pem", one_key_bundle(8_000));
    let run = Test::new()
        .arg("scan")
        .arg(&bundle)
        .args(["--uploaded-at", "2016-01-01", "--cutoff", CUTOFF])
        .args(["--format", "ndjson"])
        .data_limit_mib(256)
        .run()
        .code(1);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let certs: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "certificate")
        .collect();
    assert_eq!(certs.len(), 8_000);
    for c in [certs[0], certs[4_321], certs[7_999]] {
        assert_eq!(c["shares_key_total"], 7_999);
        let shown = c["shares_key_with"].as_array().unwrap();
        assert_eq!(shown.len(), 4);
        assert!(
            shown
                .iter()
                .all(|s| s["fingerprint_sha256"] != c["fingerprint_sha256"]),
            "a record never lists itself"
        );
        let reasons = c["reasons"].to_string();
        assert!(
            reasons.contains("7999 other certificate(s)/key(s)"),
            "{reasons}"
        );
    }
}
