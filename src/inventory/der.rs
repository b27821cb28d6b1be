//! A small, strict DER walker for the container formats (PKCS#7, PKCS#12): tag, length,
//! content, nothing more. Every read is bounds-checked, so hostile input gives an error.

use std::fmt;

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// `[0]` constructed: EXPLICIT tags and IMPLICIT SET OF.
pub const CONTEXT_0: u8 = 0xa0;
/// `[0]` primitive: an IMPLICIT OCTET STRING.
pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// Why a structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError(pub String);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(what: impl Into<String>) -> Result<T, DerError> {
    Err(DerError(what.into()))
}

/// One tag-length-value.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// The whole encoding, header included.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The content, if the tag is `tag`; else an error naming `what`.
    pub fn expect(self, tag: u8, what: &str) -> Result<&'a [u8], DerError> {
        if self.tag == tag {
            Ok(self.content)
        } else {
            err(format!(
                "{what}: expected tag 0x{tag:02x}, found 0x{:02x}",
                self.tag
            ))
        }
    }

    /// A reader over the content (for SEQUENCE, SET and EXPLICIT tags).
    pub fn children(self) -> Reader<'a> {
        Reader::new(self.content)
    }
}

/// Reads consecutive TLVs from a byte slice.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The content of the first TLV, which must have tag `tag` (what follows is ignored).
    pub fn first(mut self, tag: u8, what: &str) -> Result<&'a [u8], DerError> {
        self.take(tag, what)
    }

    /// The next TLV; an error at the end or on a malformed header.
    pub fn next(&mut self, what: &str) -> Result<Tlv<'a>, DerError> {
        let (tlv, rest) = read(self.rest).map_err(|e| DerError(format!("{what}: {e}")))?;
        self.rest = rest;
        Ok(tlv)
    }

    /// The next TLV, which must have tag `tag`; its content.
    pub fn take(&mut self, tag: u8, what: &str) -> Result<&'a [u8], DerError> {
        self.next(what)?.expect(tag, what)
    }

    /// The next TLV if it has tag `tag`.
    pub fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match read(self.rest) {
            Ok((tlv, rest)) if tlv.tag == tag => {
                self.rest = rest;
                Some(tlv)
            }
            _ => None,
        }
    }
}

/// Reads one TLV with a definite length; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let Some((&tag, after_tag)) = input.split_first() else {
        return err("unexpected end of data");
    };
    if tag & 0x1f == 0x1f {
        return err(format!("multi-byte tag 0x{tag:02x} is not expected here"));
    }
    let Some((&first, after_len)) = after_tag.split_first() else {
        return err("unexpected end of data in a length");
    };
    let (len, header_rest) = match first {
        0x80 => return err("indefinite length (BER) is not supported; DER is required"),
        n if n < 0x80 => (usize::from(n), after_len),
        n => {
            let count = usize::from(n & 0x7f);
            if count > 4 || after_len.len() < count {
                return err("length field too long or truncated");
            }
            let len = after_len[..count]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &after_len[count..])
        }
    };
    if header_rest.len() < len {
        return err(format!(
            "truncated: a value of {len} bytes but only {} left",
            header_rest.len()
        ));
    }
    let header = input.len() - header_rest.len();
    Ok((
        Tlv {
            tag,
            content: &header_rest[..len],
            raw: &input[..header + len],
        },
        &header_rest[len..],
    ))
}

/// An unsigned INTEGER that fits in a u64 (iteration counts, versions).
pub fn unsigned(content: &[u8], what: &str) -> Result<u64, DerError> {
    if content.is_empty() || content[0] & 0x80 != 0 {
        return err(format!("{what}: not a non-negative INTEGER"));
    }
    let digits = match content {
        [0, rest @ ..] => rest,
        all => all,
    };
    if digits.len() > 8 {
        return err(format!("{what}: INTEGER too large"));
    }
    Ok(digits
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// An OBJECT IDENTIFIER's content bytes as dotted text, for messages.
pub fn oid_text(content: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &b in content {
        value = value
            .saturating_mul(128)
            .saturating_add(u64::from(b & 0x7f));
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (value / 40).min(2);
                parts.push(first);
                parts.push(value - first * 40);
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_refuses_truncation() {
        let (t, rest) = read(&[0x04, 0x02, 0xaa, 0xbb, 0x05]).unwrap();
        assert_eq!(
            (t.tag, t.content, rest),
            (0x04, &[0xaa, 0xbb][..], &[0x05][..])
        );
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        assert_eq!(read(&long).unwrap().0.content.len(), 0x80);
        assert!(read(&[0x30, 0x05, 0x01]).is_err());
        assert!(read(&[0x30, 0x80, 0x00, 0x00]).is_err());
        assert!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(read(&[]).is_err());
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(unsigned(&[0x08, 0x00], "n").unwrap(), 2048);
        assert_eq!(unsigned(&[0x00, 0xff], "n").unwrap(), 255);
        assert!(unsigned(&[0xff], "n").is_err());
        assert!(unsigned(&[1; 9], "n").is_err());
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
            "1.2.840.113549.1.7.2"
        );
    }
}
