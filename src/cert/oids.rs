//! Names for the OIDs certsweep meets on every certificate, looked up by their DER bytes:
//! formatting each OID as a dotted string just to compare it dominated profiles.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use x509_parser::der_parser::asn1_rs::Oid;

/// A fixed set of (dotted OID, name) pairs, indexed by the OIDs' DER content bytes.
pub struct OidTable(HashMap<Vec<u8>, &'static str>);

impl OidTable {
    fn new(entries: &[(&str, &'static str)]) -> Self {
        OidTable(
            entries
                .iter()
                .map(|(dotted, name)| {
                    // The tables below are literals; a typo would fail every test at once.
                    let oid = Oid::from_str(dotted).expect("OID literal in the table is valid");
                    (oid.as_bytes().to_vec(), *name)
                })
                .collect(),
        )
    }

    pub fn get(&self, oid: &Oid<'_>) -> Option<&'static str> {
        self.0.get(oid.as_bytes()).copied()
    }
}

/// RFC 4514's short names; other attribute types are written as dotted OIDs.
pub fn attributes() -> &'static OidTable {
    static T: OnceLock<OidTable> = OnceLock::new();
    T.get_or_init(|| {
        OidTable::new(&[
            ("2.5.4.3", "CN"),
            ("2.5.4.7", "L"),
            ("2.5.4.8", "ST"),
            ("2.5.4.10", "O"),
            ("2.5.4.11", "OU"),
            ("2.5.4.6", "C"),
            ("2.5.4.9", "STREET"),
            ("0.9.2342.19200300.100.1.25", "DC"),
            ("0.9.2342.19200300.100.1.1", "UID"),
        ])
    })
}

/// Conventional names of signature algorithms.
pub fn signature_algorithms() -> &'static OidTable {
    static T: OnceLock<OidTable> = OnceLock::new();
    T.get_or_init(|| {
        OidTable::new(&[
            ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
            ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
            ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
            ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
            ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
            ("1.2.840.113549.1.1.10", "rsassaPss"),
            ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
            ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
            ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
            ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
            ("1.3.101.112", "Ed25519"),
            ("1.3.101.113", "Ed448"),
            ("1.2.840.10040.4.3", "dsa-with-SHA1"),
            ("2.16.840.1.101.3.4.3.2", "dsa-with-SHA256"),
        ])
    })
}

/// Public-key algorithms, by the names certsweep reports.
pub fn key_algorithms() -> &'static OidTable {
    static T: OnceLock<OidTable> = OnceLock::new();
    T.get_or_init(|| {
        OidTable::new(&[
            ("1.2.840.113549.1.1.1", "rsa"),
            ("1.2.840.113549.1.1.10", "rsa"),
            ("1.2.840.10045.2.1", "ec"),
            ("1.3.101.112", "ed25519"),
            ("1.3.101.113", "ed448"),
            ("1.2.840.10040.4.1", "dsa"),
            ("2.16.840.1.101.3.4.3.17", "ml-dsa-44"),
            ("2.16.840.1.101.3.4.3.18", "ml-dsa-65"),
            ("2.16.840.1.101.3.4.3.19", "ml-dsa-87"),
        ])
    })
}

/// Named elliptic curves.
pub fn curves() -> &'static OidTable {
    static T: OnceLock<OidTable> = OnceLock::new();
    T.get_or_init(|| {
        OidTable::new(&[
            ("1.2.840.10045.3.1.1", "P-192"),
            ("1.3.132.0.33", "P-224"),
            ("1.2.840.10045.3.1.7", "P-256"),
            ("1.3.132.0.34", "P-384"),
            ("1.3.132.0.35", "P-521"),
            ("1.3.132.0.10", "secp256k1"),
            ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
            ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
            ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_find_by_der_bytes() {
        let cn = Oid::from_str("2.5.4.3").unwrap();
        assert_eq!(attributes().get(&cn), Some("CN"));
        let unknown = Oid::from_str("2.5.4.97").unwrap();
        assert_eq!(attributes().get(&unknown), None);
        let p384 = Oid::from_str("1.3.132.0.34").unwrap();
        assert_eq!(curves().get(&p384), Some("P-384"));
    }
}
