//! Building a PKCS#10 request by hand: rcgen's `DistinguishedName` cannot hold repeated
//! attribute types or multi-valued RDNs, so the old certificate's raw subject bytes go in as is.

use std::fmt;
use std::net::IpAddr;

use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SigningKey};
use yasna::models::ObjectIdentifier;
use yasna::Tag;

use crate::cli::KeyType;

/// A subjectAltName entry of a kind certsweep carries over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
    Email(String),
    Uri(String),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(n) => write!(f, "DNS:{n}"),
            San::Ip(a) => write!(f, "IP:{a}"),
            San::Email(e) => write!(f, "email:{e}"),
            San::Uri(u) => write!(f, "URI:{u}"),
        }
    }
}

/// Generates a brand-new key of the given type (aws-lc-rs through rcgen).
pub fn new_key(kind: KeyType) -> Result<KeyPair, rcgen::Error> {
    match kind {
        KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyType::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
        KeyType::Rsa3072 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072),
        KeyType::Rsa4096 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
    }
}

/// The signature AlgorithmIdentifier matching the key: ecdsa-with-SHA256/384, Ed25519, or
/// sha256WithRSAEncryption (which, unlike the others, carries a NULL parameter).
fn signature_algorithm(kind: KeyType) -> (&'static [u64], bool) {
    match kind {
        KeyType::EcdsaP256 => (&[1, 2, 840, 10045, 4, 3, 2], false),
        KeyType::EcdsaP384 => (&[1, 2, 840, 10045, 4, 3, 3], false),
        KeyType::Ed25519 => (&[1, 3, 101, 112], false),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            (&[1, 2, 840, 113549, 1, 1, 11], true)
        }
    }
}

/// DER of the GeneralNames for these SANs, in order.
fn general_names(sans: &[San]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for san in sans {
                match san {
                    San::Dns(n) => w
                        .next()
                        .write_tagged_implicit(Tag::context(2), |w| w.write_ia5_string(n)),
                    San::Email(e) => w
                        .next()
                        .write_tagged_implicit(Tag::context(1), |w| w.write_ia5_string(e)),
                    San::Uri(u) => w
                        .next()
                        .write_tagged_implicit(Tag::context(6), |w| w.write_ia5_string(u)),
                    San::Ip(IpAddr::V4(a)) => w
                        .next()
                        .write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&a.octets())),
                    San::Ip(IpAddr::V6(a)) => w
                        .next()
                        .write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&a.octets())),
                }
            }
        })
    })
}

/// Builds and signs a CSR: `subject_der` is a complete DER `Name`, used byte for byte.
/// SAN values must be ASCII (IA5String); callers check that first.
pub fn build_csr(
    subject_der: &[u8],
    sans: &[San],
    key: &KeyPair,
    kind: KeyType,
) -> Result<Vec<u8>, rcgen::Error> {
    let spki = key.subject_public_key_info();
    let info = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(0); // version v1
            w.next().write_der(subject_der);
            w.next().write_der(&spki);
            w.next().write_tagged_implicit(Tag::context(0), |w| {
                w.write_set(|w| {
                    if sans.is_empty() {
                        return;
                    }
                    // extensionRequest (PKCS#9) holding one subjectAltName extension.
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&ObjectIdentifier::from_slice(&[
                            1, 2, 840, 113549, 1, 9, 14,
                        ]));
                        w.next().write_set(|w| {
                            w.next().write_sequence(|w| {
                                w.next().write_sequence(|w| {
                                    w.next()
                                        .write_oid(&ObjectIdentifier::from_slice(&[2, 5, 29, 17]));
                                    w.next().write_bytes(&general_names(sans));
                                })
                            })
                        });
                    });
                })
            });
        })
    });
    let signature = key.sign(&info)?;
    let (oid, null_param) = signature_algorithm(kind);
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&info);
            w.next().write_sequence(|w| {
                w.next().write_oid(&ObjectIdentifier::from_slice(oid));
                if null_param {
                    w.next().write_null();
                }
            });
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::prelude::FromDer;

    #[test]
    fn csr_keeps_subject_bytes_and_verifies_for_every_fast_key_type() {
        // Subject with a repeated OU, built by hand: SEQUENCE { SET { OU=a }, SET { OU=b } }.
        let subject = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                for ou in ["a", "b"] {
                    w.next().write_set(|w| {
                        w.next().write_sequence(|w| {
                            w.next()
                                .write_oid(&ObjectIdentifier::from_slice(&[2, 5, 4, 11]));
                            w.next().write_utf8_string(ou);
                        })
                    })
                }
            })
        });
        let sans = vec![
            San::Dns("a.example".into()),
            San::Ip("192.0.2.1".parse().unwrap()),
            San::Email("x@a.example".into()),
            San::Uri("https://a.example/".into()),
        ];
        for kind in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let key = new_key(kind).unwrap();
            let der = build_csr(&subject, &sans, &key, kind).unwrap();
            let (rest, csr) = X509CertificationRequest::from_der(&der).unwrap();
            assert!(rest.is_empty());
            csr.verify_signature().unwrap();
            assert_eq!(
                csr.certification_request_info.subject.as_raw(),
                &subject[..]
            );
        }
    }
}
