//! Private keys found in uploads: reduced at once to the SHA-256 of their public key.
//!
//! The key bytes are never stored, printed or logged; the caller passes them in a `Zeroizing`
//! buffer and only the public-key digest comes back.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
};

use super::Sha256;

/// The encodings of an unencrypted private key that PEM labels announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// `PRIVATE KEY` (RFC 5208/5958)
    Pkcs8,
    /// `RSA PRIVATE KEY`
    Pkcs1,
    /// `EC PRIVATE KEY` (RFC 5915)
    Sec1,
}

impl KeyFormat {
    pub fn label(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "PKCS#8",
            KeyFormat::Pkcs1 => "PKCS#1 RSA",
            KeyFormat::Sec1 => "SEC1 EC",
        }
    }
}

/// Why a private key's public half could not be derived (no key material in the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{format} private key could not be read (unsupported algorithm or malformed)")]
pub struct KeyError {
    pub format: &'static str,
}

/// SHA-256 of the SubjectPublicKeyInfo matching this private key.
pub fn public_key_digest(format: KeyFormat, der: &[u8]) -> Result<Sha256, KeyError> {
    let spki = match format {
        KeyFormat::Pkcs8 => pkcs8_spki(der),
        KeyFormat::Pkcs1 => RsaKeyPair::from_der(der)
            .ok()
            .and_then(|k| k.public_key().as_der().ok())
            .map(|d| d.as_ref().to_vec()),
        KeyFormat::Sec1 => sec1_spki(der),
    };
    spki.map(|d| Sha256::of(&d)).ok_or(KeyError {
        format: format.label(),
    })
}

fn pkcs8_spki(der: &[u8]) -> Option<Vec<u8>> {
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &ECDSA_P521_SHA512_ASN1_SIGNING,
    ] {
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(alg, der) {
            return k.public_key().as_der().ok().map(|d| d.as_ref().to_vec());
        }
    }
    if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return k.public_key().as_der().ok().map(|d| d.as_ref().to_vec());
    }
    RsaKeyPair::from_pkcs8(der)
        .ok()
        .and_then(|k| k.public_key().as_der().ok())
        .map(|d| d.as_ref().to_vec())
}

fn sec1_spki(der: &[u8]) -> Option<Vec<u8>> {
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
        &ECDSA_P521_SHA512_ASN1_SIGNING,
    ] {
        if let Ok(k) = EcdsaKeyPair::from_private_key_der(alg, der) {
            return k.public_key().as_der().ok().map(|d| d.as_ref().to_vec());
        }
    }
    None
}
