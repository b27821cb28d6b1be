//! Parsing one DER certificate into owned facts (`CertFacts`) that outlive the input buffer.

pub mod explain;
pub mod key;
mod keysize;
pub mod name;
mod oids;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{
    BasicConstraints, GeneralName, ParsedExtension, SubjectAlternativeName,
};
use x509_parser::nom::Parser as _;
use x509_parser::oid_registry::{OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_SUBJECT_ALT_NAME};
use x509_parser::prelude::{FromDer, X509Certificate, X509CertificateParser, X509Result};
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

    /// The base64 form curl's `--pinnedpubkey sha256//…` and HPKP's `pin-sha256` use.
    pub fn pin(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
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

/// Hashes a `Sha256` key by its first 8 bytes: the digest is already uniform, so running
/// SipHash over all 32 bytes only costs time (classification builds maps of every key).
#[derive(Default, Clone, Copy)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Fold in whatever is written; for a Sha256 this is its 32 bytes, once.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

/// Map and set types keyed by digests.
pub type DigestBuild = std::hash::BuildHasherDefault<DigestHasher>;
pub type DigestMap<V> = std::collections::HashMap<Sha256, V, DigestBuild>;

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
    /// Lowercase hex of the serial number (`serial_hex`): magnitude without the sign byte,
    /// `-` first when negative.
    pub serial: String,
    pub subject: String,
    /// Shared by the certificates of one issuer (a 100,000-certificate scan has a handful).
    pub issuer: Arc<str>,
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
    pub signature_algorithm: Cow<'static, str>,
    pub is_ca: bool,
    /// The SubjectPublicKeyInfo DER, kept only for CA certificates (to check CRL signatures).
    pub ca_spki_der: Option<Vec<u8>>,
    /// Subject alternative names past [`MAX_SANS`], counted but not kept.
    pub omitted_sans: usize,
    /// The subject or issuer text was cut at [`name::MAX_NAME_TEXT`] (it says so itself).
    pub names_cut: bool,
}

/// Subject alternative names (DNS, IP, email, URI together) kept per certificate. Public
/// CAs issue at most a few hundred; a certificate with 100,000 would otherwise cost more
/// memory than its own DER (a short name costs a few bytes in DER, 30-40 as a `String`).
/// The rest are counted and a reason names the count; `csr` reads every name from the DER.
pub const MAX_SANS: usize = 1000;

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
    let (rest, cert) = shallow(der).map_err(|e| CertError::Malformed(explain::parse_error(&e)))?;
    if !rest.is_empty() {
        return Err(CertError::TrailingBytes(rest.len()));
    }
    facts_of(&cert)
}

/// Like `parse_der`, but returns the number of trailing bytes instead of failing on them.
pub fn parse_der_prefix(der: &[u8]) -> Result<(CertFacts, usize), CertError> {
    let (rest, cert) = shallow(der).map_err(|e| CertError::Malformed(explain::parse_error(&e)))?;
    Ok((facts_of(&cert)?, rest.len()))
}

/// Parses a certificate leaving its extensions as bytes: `facts_of` decodes the two it
/// reads (subjectAltName, basicConstraints); the others (SCT lists, policies, AIA…) would
/// cost a third of the parse for nothing.
fn shallow(der: &[u8]) -> X509Result<'_, X509Certificate<'_>> {
    X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
}

/// A CSR's public key digest (SHA-256 of its SubjectPublicKeyInfo) and subject (RFC 4514).
pub fn request_key(der: &[u8]) -> Result<(Sha256, String), String> {
    use x509_parser::certification_request::X509CertificationRequest;
    let (_, csr) = X509CertificationRequest::from_der(der).map_err(|e| e.to_string())?;
    let info = &csr.certification_request_info;
    Ok((
        Sha256::of(info.subject_pki.raw),
        name::rfc4514(&info.subject),
    ))
}

/// A `PUBLIC KEY` block's digest: the SHA-256 of the SubjectPublicKeyInfo, once it parses.
pub fn public_key_digest(der: &[u8]) -> Result<Sha256, String> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|e| e.to_string())?;
    Ok(Sha256::of(spki.raw))
}

pub fn facts_of(cert: &X509Certificate<'_>) -> Result<CertFacts, CertError> {
    let tbs = &cert.tbs_certificate;
    let spki = tbs.public_key();
    let not_before = to_datetime(tbs.validity().not_before.timestamp())?;
    let not_after = to_datetime(tbs.validity().not_after.timestamp())?;
    let (issuer, issuer_id) = issuer_of(tbs.issuer());
    let mut facts = CertFacts {
        fingerprint: Sha256::of(cert.as_raw()),
        spki: Sha256::of(spki.raw),
        serial: serial_hex(tbs.raw_serial()),
        subject: name::rfc4514(tbs.subject()),
        issuer,
        subject_id: Sha256::of(tbs.subject().as_raw()),
        issuer_id,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        emails: Vec::new(),
        uris: Vec::new(),
        not_before,
        not_after,
        key: key_info(spki),
        signature_algorithm: signature_algorithm_name(&cert.signature_algorithm.algorithm),
        is_ca: false,
        ca_spki_der: None,
        omitted_sans: 0,
        names_cut: false,
    };
    facts.names_cut =
        facts.subject.ends_with(name::CUT_MARK_END) || facts.issuer.ends_with(name::CUT_MARK_END);
    // Extensions read one by one rather than through x509-parser's `is_ca()` and
    // `subject_alternative_name()`: those give "no extension" when one appears twice (which
    // RFC 5280 forbids but certificates in the wild do), where OpenSSL shows both copies.
    // Names from every SAN copy are kept; the certificate is a CA only if every
    // basicConstraints copy says so.
    let mut ca_flags = (0usize, 0usize); // (copies, copies with cA TRUE)
    for ext in tbs.extensions() {
        // From a shallow parse the extension is still bytes; a malformed one reads as absent,
        // as it does from x509-parser's deep parse (and as OpenSSL shows it).
        let decoded;
        let parsed = match ext.parsed_extension() {
            ParsedExtension::Unparsed if ext.oid == OID_X509_EXT_SUBJECT_ALT_NAME => {
                decoded = SubjectAlternativeName::from_der(ext.value)
                    .map(|(_, san)| ParsedExtension::SubjectAlternativeName(san));
                decoded.as_ref().ok()
            }
            ParsedExtension::Unparsed if ext.oid == OID_X509_EXT_BASIC_CONSTRAINTS => {
                decoded = BasicConstraints::from_der(ext.value)
                    .map(|(_, bc)| ParsedExtension::BasicConstraints(bc));
                decoded.as_ref().ok()
            }
            other => Some(other),
        };
        match parsed {
            Some(ParsedExtension::SubjectAlternativeName(san)) => {
                for gn in &san.general_names {
                    let kept = facts.dns_names.len()
                        + facts.emails.len()
                        + facts.uris.len()
                        + facts.ip_addresses.len();
                    if kept >= MAX_SANS {
                        facts.omitted_sans += 1;
                        continue;
                    }
                    match gn {
                        GeneralName::DNSName(n) => facts.dns_names.push((*n).to_owned()),
                        GeneralName::RFC822Name(n) => facts.emails.push((*n).to_owned()),
                        GeneralName::URI(n) => facts.uris.push((*n).to_owned()),
                        GeneralName::IPAddress(b) => facts.ip_addresses.push(ip_string(b)),
                        _ => {}
                    }
                }
            }
            Some(ParsedExtension::BasicConstraints(bc)) => {
                ca_flags.0 += 1;
                ca_flags.1 += usize::from(bc.ca);
            }
            _ => {}
        }
    }
    // Kept for the whole run: no spare capacity (a push starts at four).
    for names in [
        &mut facts.dns_names,
        &mut facts.ip_addresses,
        &mut facts.emails,
        &mut facts.uris,
    ] {
        names.shrink_to_fit();
    }
    facts.is_ca = ca_flags.0 > 0 && ca_flags.0 == ca_flags.1;
    if facts.is_ca {
        facts.ca_spki_der = Some(spki.raw.to_vec());
    }
    Ok(facts)
}

/// The issuer's RFC 4514 name and digest, from a small per-thread cache of the issuers seen
/// last: most certificates in an inventory share a few issuers, and each would otherwise
/// carry its own copy of the same name.
fn issuer_of(name: &x509_parser::x509::X509Name<'_>) -> (Arc<str>, Sha256) {
    const ISSUERS: usize = 16;
    /// Raw issuer name bytes, its RFC 4514 text and its digest; the latest first.
    type Seen = Vec<(Box<[u8]>, Arc<str>, Sha256)>;
    thread_local! {
        static SEEN: RefCell<Seen> = const { RefCell::new(Vec::new()) };
    }
    let raw = name.as_raw();
    SEEN.with_borrow_mut(|seen| {
        if let Some(i) = seen.iter().position(|(r, _, _)| **r == *raw) {
            seen[..=i].rotate_right(1);
            return (seen[0].1.clone(), seen[0].2);
        }
        let found = (Arc::<str>::from(name::rfc4514(name)), Sha256::of(raw));
        seen.truncate(ISSUERS - 1);
        seen.insert(0, (raw.into(), found.0.clone(), found.1));
        found
    })
}

/// Every DNS name and IP address of a certificate (of every SAN extension copy), past
/// [`MAX_SANS`]: for the few places that must see them all (a rotation plan's names, which
/// the replacement must cover). `None` if `der` is not a certificate.
pub fn all_names(der: &[u8]) -> Option<(Vec<String>, Vec<String>)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for ext in cert.tbs_certificate.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for gn in &san.general_names {
                match gn {
                    GeneralName::DNSName(n) => dns.push((*n).to_owned()),
                    GeneralName::IPAddress(b) => ips.push(ip_string(b)),
                    _ => {}
                }
            }
        }
    }
    Some((dns, ips))
}

fn to_datetime(ts: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(ts).map_err(|e| CertError::BadTime(e.to_string()))
}

/// The serial number in lowercase hex, as `openssl x509 -serial` prints it (lowercased): whole
/// bytes of the magnitude, without DER's 0x00 sign byte, and a `-` before a negative serial
/// (RFC 5280 forbids them, but CAs have issued them; the DER bytes `fb ce 99 6c 13` are
/// -0x4316693ed and show as `-04316693ed`, not as their two's complement).
pub fn serial_hex(raw: &[u8]) -> String {
    if raw.first().is_some_and(|&b| b & 0x80 != 0) {
        // Two's complement: the magnitude is !raw + 1.
        let mut magnitude: Vec<u8> = raw.iter().map(|b| !b).collect();
        for b in magnitude.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
        return format!("-{}", magnitude_hex(&magnitude));
    }
    magnitude_hex(raw)
}

fn magnitude_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    let digits = hex::encode(&raw[start..]);
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
/// `key_size()` counts bytes, which is wrong for moduli with a leading zero or odd sizes), for
/// RSA-PSS keys too; DSA bits are those of p; EC bits are the group order's, for named curves
/// and for curves given by explicit parameters (named when they equal a known curve).
pub fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let algorithm = oids::key_algorithms()
        .get(&spki.algorithm.algorithm)
        .unwrap_or("unknown");
    let params = spki.algorithm.parameters.as_ref();
    let (bits, curve) = match algorithm {
        "rsa" => (keysize::rsa_bits(&spki.subject_public_key.data), None),
        "ec" => match params {
            Some(p) if p.header.tag() == Tag::Sequence => match keysize::explicit_curve(p.data) {
                Some(c) => (Some(c.bits), c.name),
                None => (None, None),
            },
            Some(p) => {
                let curve = p.as_oid().ok().and_then(|o| oids::curves().get(&o));
                (curve.and_then(keysize::named_curve_bits), curve)
            }
            None => (None, None),
        },
        "dsa" => (
            params
                .filter(|p| p.header.tag() == Tag::Sequence)
                .and_then(|p| keysize::dsa_bits(p.data)),
            None,
        ),
        "ed25519" => (Some(256), None),
        "ed448" => (Some(456), None),
        _ => (None, None),
    };
    KeyInfo {
        algorithm,
        bits,
        curve,
    }
}

/// Number of significant bits in a big-endian unsigned integer.
pub fn bit_length(bytes: &[u8]) -> u32 {
    match bytes.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i - 1) as u32 * 8 + (8 - bytes[i].leading_zeros()),
    }
}

/// The conventional name of a signature algorithm; the dotted OID for anything else.
pub fn signature_algorithm_name(
    oid: &x509_parser::der_parser::asn1_rs::Oid<'_>,
) -> Cow<'static, str> {
    match oids::signature_algorithms().get(oid) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(oid.to_id_string()),
    }
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
    fn negative_serial_shows_its_magnitude() {
        assert_eq!(serial_hex(&[0xfb, 0xce, 0x99, 0x6c, 0x13]), "-04316693ed");
        assert_eq!(serial_hex(&[0xff]), "-01");
        assert_eq!(serial_hex(&[0x80]), "-80");
        assert_eq!(serial_hex(&[0xff, 0x00]), "-0100");
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
