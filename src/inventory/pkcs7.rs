//! PKCS#7 / CMS certificate bundles (`.p7b`, `.p7c`, PEM `PKCS7` or `CMS`): the certificates
//! of a SignedData (RFC 5652 §5.1, `certificates [0] IMPLICIT CertificateSet`). Signatures
//! and CRLs in the bundle are not read.
//!
//! The encoding is read by RustCrypto's strict DER decoder (`der`, `cms`): indefinite
//! lengths, non-minimal lengths, wrong tags and truncation are errors. Each certificate is
//! kept as its raw DER and parsed later by x509-parser, so one bad entry of a bundle is
//! reported on its own and does not lose the others.

use cms::content_info::CmsVersion;
use der::asn1::{AnyRef, ObjectIdentifier, SequenceRef};
use der::{
    Decode, DecodeValue, EncodeValue, ErrorKind, FixedTag, Header, Length, Reader, Sequence,
    SliceReader, Tag, Tagged, Writer,
};

/// id-signedData, 1.2.840.113549.1.7.2.
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

/// True if `der` is shaped like a ContentInfo: a SEQUENCE that starts with an OID.
pub fn looks_like(der: &[u8]) -> bool {
    first_tlv(der)
        .filter(|t| t.tag() == Tag::Sequence)
        .and_then(|t| first_tlv(t.value()))
        .is_some_and(|first| first.tag() == Tag::ObjectIdentifier)
}

/// What a bundle holds: each certificate's DER, and why any other entry was skipped.
#[derive(Debug, Default)]
pub struct Bundle<'a> {
    pub certificates: Vec<&'a [u8]>,
    pub skipped: Vec<String>,
    /// Bytes after the ContentInfo.
    pub trailing: usize,
}

/// ContentInfo (RFC 5652 §3) borrowed from the input: `cms::content_info::ContentInfo` owns
/// a copy of its content, and a hostile bundle of millions of tiny entries would then cost
/// a copy of each too.
#[derive(Sequence)]
struct ContentInfoRef<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: AnyRef<'a>,
}

/// SignedData as far as certsweep reads it. `cms::signed_data::SignedData` would parse every
/// certificate, CRL and SignerInfo with x509-cert and refuse a set holding the same
/// certificate twice; here the sets stay raw elements in their encoded order.
#[derive(Sequence)]
struct SignedDataCertificates<'a> {
    version: CmsVersion,
    digest_algorithms: RawSet<'a>,
    encap_content_info: SequenceRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<RawSet<'a>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<RawSet<'a>>,
    signer_infos: RawSet<'a>,
}

/// Reads the certificates of a DER ContentInfo holding SignedData.
pub fn certificates(input: &[u8]) -> Result<Bundle<'_>, String> {
    let malformed = |e: der::Error| format!("malformed PKCS#7: {}", reason(e));
    let mut reader = SliceReader::new(input).map_err(malformed)?;
    let info = ContentInfoRef::decode(&mut reader).map_err(malformed)?;
    let trailing = usize::try_from(u32::from(reader.remaining_len())).unwrap_or(usize::MAX);
    if info.content_type != SIGNED_DATA {
        return Err(format!(
            "PKCS#7/CMS content type {} ({}) is not SignedData (1.2.840.113549.1.7.2): it holds no certificate list",
            info.content_type,
            type_name(&info.content_type)
        ));
    }
    let signed: SignedDataCertificates<'_> = info.content.decode_as().map_err(malformed)?;
    let mut bundle = Bundle {
        trailing,
        ..Bundle::default()
    };
    for (n, entry) in signed.certificates.iter().flat_map(|s| &s.0).enumerate() {
        match entry.first() {
            Some(0x30) => bundle.certificates.push(entry),
            // extendedCertificate [0], v1/v2 attribute certificates [1] [2], other [3].
            tag => bundle.skipped.push(format!(
                "entry {} of the PKCS#7 certificate set is not an X.509 certificate (tag 0x{:02x}); skipped",
                n + 1,
                tag.copied().unwrap_or_default()
            )),
        }
    }
    Ok(bundle)
}

fn type_name(oid: &ObjectIdentifier) -> &'static str {
    match oid.to_string().strip_prefix("1.2.840.113549.1.7.") {
        Some("1") => "data",
        Some("3") => "envelopedData",
        Some("5") => "digestedData",
        Some("6") => "encryptedData",
        _ => "not a PKCS#7 content type",
    }
}

/// A SET OF whose elements are kept undecoded, as their whole DER encodings, in the order
/// of the encoding (der's `SetOfVec` sorts and refuses duplicates).
pub(super) struct RawSet<'a>(pub Vec<&'a [u8]>);

impl<'a> DecodeValue<'a> for RawSet<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_nested(header.length, |r| {
            let mut elements = Vec::new();
            while !r.is_finished() {
                elements.push(r.tlv_bytes()?);
            }
            Ok(RawSet(elements))
        })
    }
}

impl EncodeValue for RawSet<'_> {
    fn value_len(&self) -> der::Result<Length> {
        self.0
            .iter()
            .try_fold(Length::ZERO, |sum, e| sum + Length::try_from(e.len())?)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.iter().try_for_each(|e| writer.write(e))
    }
}

impl FixedTag for RawSet<'_> {
    const TAG: Tag = Tag::Set;
}

/// The first TLV of `bytes` (what follows it is ignored), if it is well formed.
pub(super) fn first_tlv(bytes: &[u8]) -> Option<AnyRef<'_>> {
    let mut reader = SliceReader::new(bytes).ok()?;
    AnyRef::decode(&mut reader).ok()
}

/// A decoding error as a sentence fragment, in certsweep's words: der's own texts say
/// "unsupported" or "DER" for plain malformations, which would give the record the wrong
/// kind (see `report::kinds`). Truncation says "truncated", BER says "not supported".
pub(super) fn reason(e: der::Error) -> String {
    let what = match e.kind() {
        ErrorKind::Incomplete {
            expected_len,
            actual_len,
        } => {
            return format!("truncated: {expected_len} bytes needed but only {actual_len} present")
        }
        ErrorKind::IndefiniteLength => {
            return "indefinite length (BER) is not supported; DER is required".into()
        }
        ErrorKind::TagUnexpected {
            expected: Some(expected),
            actual,
        } => format!("expected {expected}, found {actual}"),
        ErrorKind::TagUnexpected {
            expected: None,
            actual,
        } => format!("unexpected {actual}"),
        ErrorKind::TagUnknown { byte } => format!("unknown tag 0x{byte:02x}"),
        ErrorKind::TagNumberInvalid => "a tag number out of range".into(),
        ErrorKind::TrailingData { remaining, .. } => {
            format!("{remaining} unexpected bytes after a structure")
        }
        ErrorKind::Length { tag } => format!("wrong length for {tag}"),
        ErrorKind::Noncanonical { tag } => format!("{tag} not in its canonical encoding"),
        ErrorKind::Value { tag } => format!("malformed {tag} value"),
        ErrorKind::Overflow | ErrorKind::Overlength => "a length or number too large".into(),
        ErrorKind::OidMalformed => "malformed OBJECT IDENTIFIER".into(),
        ErrorKind::OidUnknown { oid } => format!("unknown OBJECT IDENTIFIER {oid}"),
        ErrorKind::SetDuplicate | ErrorKind::SetOrdering => "a SET OF out of order".into(),
        ErrorKind::Utf8(_) => "a string that is not UTF-8".into(),
        _ => "a structure that cannot be read".into(),
    };
    match e.position() {
        Some(at) => format!("{what} at byte {at}"),
        None => what,
    }
}

/// Why `bytes` is not even one well-formed TLV, if it is not: for the message naming the
/// formats tried.
pub(super) fn structure_error(bytes: &[u8]) -> Option<String> {
    let mut reader = match SliceReader::new(bytes) {
        Ok(r) => r,
        Err(e) => return Some(reason(e)),
    };
    let header = match Header::decode(&mut reader) {
        Ok(h) => h,
        Err(e) => return Some(reason(e)),
    };
    let left = reader.remaining_len();
    (header.length > left).then(|| {
        format!(
            "truncated: a value of {} bytes but only {left} left",
            header.length
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ContentInfo { signedData, [0] SignedData { 1, {}, { data }, [0] { certs }, {} } }.
    fn signed_data(certs: &[u8]) -> Vec<u8> {
        let tlv = |tag: u8, body: &[u8]| {
            let mut v = vec![tag];
            let len = body.len();
            if len < 0x80 {
                v.push(len as u8);
            } else if len < 0x100 {
                v.extend([0x81, len as u8]);
            } else {
                v.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            v.extend_from_slice(body);
            v
        };
        let data_oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
        ];
        let mut sd = vec![0x02, 0x01, 0x01, 0x31, 0x00];
        sd.extend(tlv(0x30, &data_oid));
        sd.extend(tlv(0xa0, certs));
        sd.extend([0x31, 0x00]);
        let mut ci = vec![
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ];
        ci.extend(tlv(0xa0, &tlv(0x30, &sd)));
        tlv(0x30, &ci)
    }

    #[test]
    fn entries_keep_their_order_and_duplicates_and_others_are_skipped() {
        // Two identical "certificates" (a SET OF that DER would forbid), then a [1] entry.
        let certs = [0x30, 0x00, 0x30, 0x00, 0xa1, 0x00, 0x30, 0x01, 0x05];
        let input = signed_data(&certs);
        let bundle = certificates(&input).unwrap();
        assert_eq!(
            bundle.certificates,
            [vec![0x30, 0x00], vec![0x30, 0x00], vec![0x30, 0x01, 0x05]]
        );
        assert_eq!(bundle.skipped.len(), 1);
        assert!(bundle.skipped[0].contains("entry 3 ") && bundle.skipped[0].contains("0xa1"));
        assert_eq!(bundle.trailing, 0);
    }

    #[test]
    fn hostile_encodings_are_clean_errors() {
        let good = signed_data(&[0x30, 0x00]);
        assert!(looks_like(&good));
        let mut trailing = good.clone();
        trailing.extend([0, 0, 0]);
        assert_eq!(certificates(&trailing).unwrap().trailing, 3);
        // Indefinite length on the outer SEQUENCE.
        let mut ber = good.clone();
        ber[1] = 0x80;
        ber.extend([0, 0]);
        let e = certificates(&ber).unwrap_err();
        assert!(
            e.starts_with("malformed PKCS#7: indefinite length (BER)"),
            "{e}"
        );
        // A wrong tag where the certificate set's [0] is.
        let mut wrong = good.clone();
        let at = wrong.iter().rposition(|&b| b == 0xa0).unwrap();
        wrong[at] = 0xa5;
        assert!(certificates(&wrong)
            .unwrap_err()
            .starts_with("malformed PKCS#7: "));
        // Truncated.
        let e = certificates(&good[..good.len() - 4]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        assert!(!looks_like(&good[..good.len() - 4]));
        // Non-minimal length.
        assert!(!looks_like(&[0x30, 0x81, 0x02, 0x06, 0x00]));
        assert_eq!(
            structure_error(&[0x30, 0x05, 0x01]).as_deref(),
            Some("truncated: a value of 5 bytes but only 1 left")
        );
        assert_eq!(structure_error(&[0x30, 0x01, 0x01]), None);
    }

    /// der's own texts say "unsupported" and "DER" for plain malformations; ours keep the kinds
    /// the hand-written reader's messages had (unreadable, truncated; BER unsupported).
    #[test]
    fn decoding_errors_keep_their_kinds() {
        use crate::report::kinds::kind_of;
        let good = signed_data(&[0x30, 0x00]);
        let mut cases: Vec<(Vec<u8>, &str)> = vec![(good[..good.len() - 2].to_vec(), "truncated")];
        let mut ber = good.clone();
        ber[1] = 0x80;
        ber.extend([0, 0]);
        cases.push((ber, "unsupported"));
        for (at, byte) in [
            (0, 0x00),
            (0, 0x31),
            (2, 0x1f),
            (13, 0x00),
            (15, 0x02),
            (17, 0xff),
        ] {
            let mut bad = good.clone();
            bad[at] = byte;
            cases.push((bad, "unreadable"));
        }
        for (input, kind) in cases {
            let e = certificates(&input).unwrap_err();
            assert_eq!(kind_of(&e), kind, "{e}");
        }
    }
}
