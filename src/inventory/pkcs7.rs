//! PKCS#7 / CMS certificate bundles (`.p7b`, `.p7c`, PEM `PKCS7` or `CMS`): the certificates
//! of a SignedData (RFC 5652 §5.1, `certificates [0] IMPLICIT CertificateSet`). Signatures
//! and CRLs in the bundle are not read.

use super::der::{self, DerError, Reader};

/// id-signedData, 1.2.840.113549.1.7.2.
const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// The PKCS#7 content types (1.2.840.113549.1.7.x), named in messages.
const PKCS7_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

/// True if `der` is shaped like a ContentInfo: a SEQUENCE that starts with an OID.
pub fn looks_like(der: &[u8]) -> bool {
    der::read(der)
        .ok()
        .filter(|(t, _)| t.tag == der::SEQUENCE)
        .and_then(|(t, _)| der::read(t.content).ok())
        .is_some_and(|(first, _)| first.tag == der::OID)
}

/// What a bundle holds: each certificate's DER, and why any other entry was skipped.
#[derive(Debug, Default)]
pub struct Bundle<'a> {
    pub certificates: Vec<&'a [u8]>,
    pub skipped: Vec<String>,
    /// Bytes after the ContentInfo.
    pub trailing: usize,
}

/// Reads the certificates of a DER ContentInfo holding SignedData.
pub fn certificates(input: &[u8]) -> Result<Bundle<'_>, String> {
    parse(input).map_err(|e| format!("malformed PKCS#7: {e}"))?
}

fn parse(input: &[u8]) -> Result<Result<Bundle<'_>, String>, DerError> {
    let (content_info, after) = der::read(input)?;
    let mut ci = Reader::new(content_info.expect(der::SEQUENCE, "ContentInfo")?);
    let content_type = ci.take(der::OID, "contentType")?;
    if content_type != SIGNED_DATA {
        return Ok(Err(format!(
            "PKCS#7/CMS content type {} ({}) is not SignedData (1.2.840.113549.1.7.2): it holds no certificate list",
            der::oid_text(content_type),
            type_name(content_type)
        )));
    }
    let explicit = ci.take(der::CONTEXT_0, "content [0]")?;
    let (signed, _) = der::read(explicit)?;
    let mut sd = Reader::new(signed.expect(der::SEQUENCE, "SignedData")?);
    sd.take(der::INTEGER, "SignedData version")?;
    sd.take(der::SET, "digestAlgorithms")?;
    sd.take(der::SEQUENCE, "encapContentInfo")?;
    let mut bundle = Bundle {
        trailing: after.len(),
        ..Bundle::default()
    };
    let Some(set) = sd.optional(der::CONTEXT_0) else {
        return Ok(Ok(bundle));
    };
    let mut certs = set.children();
    let mut n = 0;
    while !certs.is_empty() {
        n += 1;
        let choice = certs.next("certificates")?;
        match choice.tag {
            der::SEQUENCE => bundle.certificates.push(choice.raw),
            // extendedCertificate [0], v1/v2 attribute certificates [1] [2], other [3].
            tag => bundle.skipped.push(format!(
                "entry {n} of the PKCS#7 certificate set is not an X.509 certificate (tag 0x{tag:02x}); skipped"
            )),
        }
    }
    Ok(Ok(bundle))
}

fn type_name(oid: &[u8]) -> &'static str {
    match oid.strip_prefix(PKCS7_PREFIX) {
        Some([1]) => "data",
        Some([3]) => "envelopedData",
        Some([5]) => "digestedData",
        Some([6]) => "encryptedData",
        _ => "not a PKCS#7 content type",
    }
}
