//! Parsing one DER certificate into owned facts (`CertFacts`) that outlive the input buffer.

pub mod key;
pub mod name;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

/// A SHA-256 digest; shown and serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub fn of(bytes: &[u8]) -> Self {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Sha256(out)
    }

    /// Parses 64 hex digits (upper or lower case), optionally prefixed `sha256:`.
    pub fn parse_hex(text: &str) -> Option<Self> {
        let text = text.strip_prefix("sha256:").unwrap_or(text);
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Sha256(out))
    }
}

impl Sha256 {
    /// Lowercase hex digits, without allocating (table lookup: this runs for every record).
    pub fn hex(&self) -> HexDigest {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        HexDigest(out)
    }
}

/// The 64 hex digits of a `Sha256`.
pub struct HexDigest([u8; 64]);

impl HexDigest {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into the buffer.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex().as_str())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.hex().as_str())
    }
}

/// The public key's algorithm and size, as read from the SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub algorithm: &'static str,
    pub bits: Option<u32>,
    pub curve: Option<&'static str>,
}

/// Everything certsweep needs to know about one certificate, owned.
#[derive(Clone, Debug)]
pub struct CertFacts {
    pub fingerprint: Sha256,
    pub spki: Sha256,
    /// Lowercase hex of the serial number's magnitude (no sign byte).
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    /// Digest of the raw subject and issuer names, for issuer matching (CRLs, chains).
    pub subject_id: Sha256,
    pub issuer_id: Sha256,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// The SubjectPublicKeyInfo DER, kept only for CA certificates (to check CRL signatures).
    pub ca_spki_der: Option<Vec<u8>>,
}

/// Why a block could not be read as a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("not a valid X.509 certificate: {0}")]
    Malformed(String),
    #[error("certificate followed by {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    #[error("certificate has an invalid validity time: {0}")]
    BadTime(String),
}

/// Parses one DER certificate. Trailing bytes after it are an error (x509-parser returns them
/// as a remainder, which would otherwise hide a truncated or concatenated file).
pub fn parse_der(der: &[u8]) -> Result<CertFacts, CertError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::TrailingBytes(rest.len()));
    }
    facts_of(&cert)
}

/// Like `parse_der`, but returns the number of trailing bytes instead of failing on them.
pub fn parse_der_prefix(der: &[u8]) -> Result<(CertFacts, usize), CertError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    Ok((facts_of(&cert)?, rest.len()))
}

pub fn facts_of(cert: &X509Certificate<'_>) -> Result<CertFacts, CertError> {
    let tbs = &cert.tbs_certificate;
    let spki = tbs.public_key();
    let not_before = to_datetime(tbs.validity().not_before.timestamp())?;
    let not_after = to_datetime(tbs.validity().not_after.timestamp())?;
    let mut facts = CertFacts {
        fingerprint: Sha256::of(cert.as_raw()),
        spki: Sha256::of(spki.raw),
        serial: serial_hex(tbs.raw_serial()),
        subject: name::rfc4514(tbs.subject()),
        issuer: name::rfc4514(tbs.issuer()),
        subject_id: Sha256::of(tbs.subject().as_raw()),
        issuer_id: Sha256::of(tbs.issuer().as_raw()),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        emails: Vec::new(),
        uris: Vec::new(),
        not_before,
        not_after,
        key: key_info(spki),
        signature_algorithm: algorithm_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: tbs.is_ca(),
        ca_spki_der: None,
    };
    if facts.is_ca {
        facts.ca_spki_der = Some(spki.raw.to_vec());
    }
    if let Ok(Some(san)) = tbs.subject_alternative_name() {
        for gn in &san.value.general_names {
            match gn {
                GeneralName::DNSName(n) => facts.dns_names.push((*n).to_owned()),
                GeneralName::RFC822Name(n) => facts.emails.push((*n).to_owned()),
                GeneralName::URI(n) => facts.uris.push((*n).to_owned()),
                GeneralName::IPAddress(b) => facts.ip_addresses.push(ip_string(b)),
                _ => {}
            }
        }
    }
    Ok(facts)
}

fn to_datetime(ts: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(ts).map_err(|e| CertError::BadTime(e.to_string()))
}

/// The serial's magnitude in lowercase hex: DER adds a 0x00 byte before a high bit, which is
/// not part of the number users compare with their CA's records.
pub fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    let digits = hex::encode(&raw[start.min(raw.len())..]);
    if digits.is_empty() {
        "00".to_owned()
    } else {
        digits
    }
}

/// IP SAN bytes as text; an odd length is shown as hex so nothing is silently dropped.
pub fn ip_string(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => Ipv4Addr::from([bytes[0], bytes[1], bytes[2], bytes[3]]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            Ipv6Addr::from(a).to_string()
        }
        _ => format!("invalid:{}", hex::encode(bytes)),
    }
}

/// Key algorithm, size and curve. RSA bits are counted from the modulus (x509-parser's
/// `key_size()` counts bytes, which is wrong for moduli with a leading zero or odd sizes).
pub fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(bit_length(rsa.modulus)),
                _ => None,
            };
            KeyInfo {
                algorithm: "rsa",
                bits,
                curve: None,
            }
        }
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            let (curve, bits) = match curve_oid.as_deref() {
                Some("1.2.840.10045.3.1.7") => (Some("P-256"), Some(256)),
                Some("1.3.132.0.34") => (Some("P-384"), Some(384)),
                Some("1.3.132.0.35") => (Some("P-521"), Some(521)),
                Some("1.3.132.0.10") => (Some("secp256k1"), Some(256)),
                _ => (None, None),
            };
            KeyInfo {
                algorithm: "ec",
                bits,
                curve,
            }
        }
        "1.3.101.112" => KeyInfo {
            algorithm: "ed25519",
            bits: Some(256),
            curve: None,
        },
        "1.3.101.113" => KeyInfo {
            algorithm: "ed448",
            bits: Some(456),
            curve: None,
        },
        "1.2.840.10040.4.1" => KeyInfo {
            algorithm: "dsa",
            bits: None,
            curve: None,
        },
        _ => KeyInfo {
            algorithm: "unknown",
            bits: None,
            curve: None,
        },
    }
}

/// Number of significant bits in a big-endian unsigned integer.
pub fn bit_length(bytes: &[u8]) -> u32 {
    match bytes.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i - 1) as u32 * 8 + (8 - bytes[i].leading_zeros()),
    }
}

/// Conventional names for signature algorithms; the dotted OID for anything else.
pub fn algorithm_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-SHA256",
        other => other,
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01, 0xff]), 9);
        assert_eq!(bit_length(&[0, 0]), 0);
    }

    #[test]
    fn serial_drops_sign_byte_only() {
        assert_eq!(serial_hex(&[0x00, 0x9a, 0x01]), "9a01");
        assert_eq!(serial_hex(&[0x10, 0x01]), "1001");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn sha256_hex_roundtrip() {
        let d = Sha256::of(b"abc");
        assert_eq!(
            d.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::parse_hex(&d.to_string()), Some(d));
        assert_eq!(Sha256::parse_hex(&format!("sha256:{d}")), Some(d));
        assert_eq!(Sha256::parse_hex("zz"), None);
    }
}
