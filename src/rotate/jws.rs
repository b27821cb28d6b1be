//! The one JWS certsweep signs itself: an ACME revokeCert request signed by the OLD
//! certificate's own key (RFC 8555 §7.6), with a `jwk` header (no account). ES256 / ES384
//! signatures are the raw r||s form (RFC 7518 §3.4); RSA keys sign RS256.
//!
//! The key bytes stay in this module (zeroized buffers); only public facts leave it.

use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::cert::Sha256;
use crate::inventory::pem::{PemItem, PemReader};

enum Inner {
    Ec {
        key: EcdsaKeyPair,
        alg: &'static str,
        crv: &'static str,
    },
    Rsa(RsaKeyPair),
}

/// A private key that can sign a JWS. Never printed (no Debug).
pub struct SigningKey {
    inner: Inner,
    spki: Vec<u8>,
}

impl SigningKey {
    /// Reads an unencrypted PEM (PKCS#8, SEC1 EC or PKCS#1 RSA) or DER PKCS#8 key file.
    /// The error names the file and says what to do; it never holds key bytes.
    pub fn load(path: &Path) -> Result<SigningKey, String> {
        let raw = Zeroizing::new(crate::input::read_all(path, 1 << 20).map_err(|e| {
            format!(
                "--old-key {}: {}",
                path.display(),
                crate::inventory::describe_io(&e)
            )
        })?);
        let blocks: Vec<(String, Zeroizing<Vec<u8>>)> = PemReader::new(&raw)
            .filter_map(|item| match item {
                PemItem::Block(b) => Some((b.label.clone(), b.der)),
                PemItem::Fault(_) | PemItem::LongBegin { .. } => None,
            })
            .collect();
        let found = blocks
            .iter()
            .find(|(label, _)| label.ends_with("PRIVATE KEY"));
        let key = match found {
            Some((label, _)) if label == "ENCRYPTED PRIVATE KEY" => {
                return Err(format!(
                    "--old-key {}: the key is encrypted; write a decrypted copy (`openssl pkey -in {} -out PLAIN.key`, mode 0600) and give that",
                    path.display(),
                    path.display()
                ))
            }
            Some((label, der)) => Self::from_der(label, der),
            None if blocks.is_empty() => Self::from_der("PRIVATE KEY", &raw),
            None => None,
        };
        key.ok_or_else(|| {
            if blocks.is_empty() {
                format!(
                    "--old-key {}: it is neither a PEM nor a DER private key (give the old certificate's private key file)",
                    path.display()
                )
            } else if found.is_none() {
                format!(
                    "--old-key {}: there is no private key in it (give the old certificate's private key file)",
                    path.display()
                )
            } else {
                format!(
                    "--old-key {}: the key is not one certsweep can sign an ACME revocation with (it reads unencrypted P-256, P-384 and RSA keys, PEM or DER; CAs do not take Ed25519 here); use --with-account instead",
                    path.display()
                )
            }
        })
    }

    fn from_der(label: &str, der: &[u8]) -> Option<SigningKey> {
        let ec = |alg: &'static str, crv: &'static str, key: EcdsaKeyPair| {
            let spki = key.public_key().as_der().ok()?.as_ref().to_vec();
            Some(SigningKey {
                inner: Inner::Ec { key, alg, crv },
                spki,
            })
        };
        let rsa = |key: RsaKeyPair| {
            let spki = key.public_key().as_der().ok()?.as_ref().to_vec();
            Some(SigningKey {
                inner: Inner::Rsa(key),
                spki,
            })
        };
        let curves = [
            (&ECDSA_P256_SHA256_FIXED_SIGNING, "ES256", "P-256"),
            (&ECDSA_P384_SHA384_FIXED_SIGNING, "ES384", "P-384"),
        ];
        match label {
            "EC PRIVATE KEY" => curves.iter().find_map(|(alg, name, crv)| {
                EcdsaKeyPair::from_private_key_der(alg, der)
                    .ok()
                    .and_then(|k| ec(name, crv, k))
            }),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der).ok().and_then(rsa),
            _ => curves
                .iter()
                .find_map(|(alg, name, crv)| {
                    EcdsaKeyPair::from_pkcs8(alg, der)
                        .ok()
                        .and_then(|k| ec(name, crv, k))
                })
                .or_else(|| RsaKeyPair::from_pkcs8(der).ok().and_then(rsa)),
        }
    }

    /// SHA-256 of the public key (SubjectPublicKeyInfo), as the plan stores keys.
    pub fn spki_sha256(&self) -> String {
        Sha256::of(&self.spki).to_string()
    }

    pub fn alg(&self) -> &'static str {
        match &self.inner {
            Inner::Ec { alg, .. } => alg,
            Inner::Rsa(_) => "RS256",
        }
    }

    /// The public key as a JWK (RFC 7517/7518).
    pub fn jwk(&self) -> Result<Value, String> {
        use x509_parser::prelude::FromDer;
        use x509_parser::public_key::PublicKey;
        let (_, info) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&self.spki)
            .map_err(|_| "the public key could not be encoded".to_owned())?;
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match (&self.inner, info.parsed()) {
            (Inner::Ec { crv, .. }, Ok(PublicKey::EC(point))) => {
                let p = point.data();
                if p.first() != Some(&4) || p.len() % 2 == 0 {
                    return Err("the EC public key is not in uncompressed form".into());
                }
                let half = (p.len() - 1) / 2;
                Ok(
                    json!({"crv": crv, "kty": "EC", "x": b64(&p[1..1 + half]), "y": b64(&p[1 + half..])}),
                )
            }
            (Inner::Rsa(_), Ok(PublicKey::RSA(rsa))) => {
                let trim = |b: &[u8]| {
                    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
                    b64(&b[start..])
                };
                Ok(json!({"e": trim(rsa.exponent), "kty": "RSA", "n": trim(rsa.modulus)}))
            }
            _ => Err("the public key could not be encoded as a JWK".into()),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec { key, .. } => key
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "signing failed".to_owned()),
            Inner::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| "signing failed".to_owned())?;
                Ok(sig)
            }
        }
    }

    /// A flattened JWS (RFC 7515 §7.2.2) of `payload` for `url`, with a `jwk` header.
    pub fn jws(&self, nonce: &str, url: &str, payload: &Value) -> Result<String, String> {
        let protected = json!({"alg": self.alg(), "jwk": self.jwk()?, "nonce": nonce, "url": url});
        let protected = URL_SAFE_NO_PAD.encode(protected.to_string());
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signature = self.sign(format!("{protected}.{payload}").as_bytes())?;
        Ok(json!({
            "protected": protected,
            "payload": payload,
            "signature": URL_SAFE_NO_PAD.encode(signature),
        })
        .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED,
        RSA_PKCS1_2048_8192_SHA256,
    };
    use rcgen::PublicKeyData;

    fn parts(jws: &str) -> (Value, Vec<u8>, Vec<u8>) {
        let v: Value = serde_json::from_str(jws).unwrap();
        let protected = v["protected"].as_str().unwrap();
        let payload = v["payload"].as_str().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(protected).unwrap()).unwrap();
        let sig = URL_SAFE_NO_PAD
            .decode(v["signature"].as_str().unwrap())
            .unwrap();
        (header, format!("{protected}.{payload}").into_bytes(), sig)
    }

    #[test]
    fn each_key_type_signs_a_verifiable_jws_with_its_jwk() {
        let cases: [(&rcgen::SignatureAlgorithm, &str, usize); 3] = [
            (&rcgen::PKCS_ECDSA_P256_SHA256, "ES256", 64),
            (&rcgen::PKCS_ECDSA_P384_SHA384, "ES384", 96),
            (&rcgen::PKCS_RSA_SHA256, "RS256", 256),
        ];
        for (alg, name, sig_len) in cases {
            let kp = rcgen::KeyPair::generate_for(alg).unwrap();
            let key = SigningKey::from_der("PRIVATE KEY", &kp.serialize_der()).unwrap();
            assert_eq!(
                key.spki_sha256(),
                Sha256::of(&kp.subject_public_key_info()).to_string()
            );
            let jws = key
                .jws("n0nce", "https://ca/revoke", &json!({"reason": 1}))
                .unwrap();
            let (header, signed, sig) = parts(&jws);
            assert_eq!(header["alg"], name);
            assert_eq!(header["nonce"], "n0nce");
            assert!(header.get("kid").is_none());
            assert_eq!(sig.len(), sig_len, "{name}: raw signature, not DER");
            let verify = match name {
                "ES256" => {
                    &ECDSA_P256_SHA256_FIXED as &dyn aws_lc_rs::signature::VerificationAlgorithm
                }
                "ES384" => &ECDSA_P384_SHA384_FIXED,
                _ => &RSA_PKCS1_2048_8192_SHA256,
            };
            // The key inside the SPKI: the EC point, or PKCS#1 RSAPublicKey.
            use x509_parser::prelude::FromDer;
            let spki = kp.subject_public_key_info();
            let (_, info) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&spki).unwrap();
            let public = info.subject_public_key.data.to_vec();
            UnparsedPublicKey::new(verify, &public)
                .verify(&signed, &sig)
                .unwrap();
        }
    }
}
