//! Distinguished names as RFC 4514 strings (x509-parser's `Display` uses its own order and escaping).

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag, ToDer};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Renders a name as RFC 4514 requires: RDNs in reverse order of their encoding, `+` between the
/// values of a multi-valued RDN, short names only for the types RFC 4514 lists, and escaping.
/// Inside a multi-valued RDN RFC 4514 allows any order; we reverse it too, as OpenSSL's
/// `-nameopt RFC2253` does, so admins can compare the two outputs directly.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    let total: usize = rdns.iter().map(|rdn| rdn.iter().count()).sum();
    let mut shown = 0;
    'rdns: for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().collect::<Vec<_>>().into_iter().rev().enumerate() {
            if out.len() >= MAX_NAME_TEXT {
                break 'rdns;
            }
            if j > 0 {
                out.push('+');
            }
            push_attribute(&mut out, atv);
            shown += 1;
        }
    }
    if out.len() > MAX_NAME_TEXT || shown < total {
        cut(&mut out, total - shown, name.as_raw().len());
    }
    out
}

/// Text kept of one name (subject or issuer): real names are under 200 bytes; one with
/// 100,000 attributes, or one value of megabytes, is shown cut, saying so.
pub const MAX_NAME_TEXT: usize = 4096;
/// How a cut name's text ends.
pub const CUT_MARK_END: &str = " not shown)";

/// Cuts a name's text at [`MAX_NAME_TEXT`] bytes (on a character boundary) and says what
/// was left out.
fn cut(out: &mut String, attributes_left: usize, der_len: usize) {
    let mut end = out.len().min(MAX_NAME_TEXT);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out.push_str(&format!(
        "… (name of {der_len} bytes cut at {MAX_NAME_TEXT}: {attributes_left} more \
         attribute(s){CUT_MARK_END}"
    ));
}

fn push_attribute(out: &mut String, atv: &AttributeTypeAndValue<'_>) {
    match super::oids::attributes().get(atv.attr_type()) {
        Some(short) => out.push_str(short),
        None => out.push_str(&atv.attr_type().to_id_string()),
    }
    out.push('=');
    match decode_string(atv.attr_value()) {
        Some(text) => escape_value(out, &text),
        None => {
            // x509-parser keeps the value's header and content; asn1-rs writes them back as
            // DER (identifier, definite length, content).
            out.push('#');
            out.push_str(&hex::encode(
                atv.attr_value().to_der_vec().unwrap_or_default(),
            ));
        }
    }
}

/// Decodes the directory string types; `None` for anything else (written as `#hex` instead).
fn decode_string(value: &Any<'_>) -> Option<String> {
    if value.class() != Class::Universal {
        return None;
    }
    let data = value.data;
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        // T61String in practice carries Latin-1; every byte maps to one code point.
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 section 2.4: escape the special characters, a leading space or `#`, a trailing
/// space, and NUL.
fn escape_value(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        escape_value(&mut out, value);
        out
    }

    #[test]
    fn escapes_specials_and_edges() {
        assert_eq!(escaped("Acme, Inc."), "Acme\\, Inc.");
        assert_eq!(escaped("#hash"), "\\#hash");
        assert_eq!(escaped("a#b"), "a#b");
        assert_eq!(escaped(" padded "), "\\ padded\\ ");
        assert_eq!(escaped("x+y;z<>\"\\"), "x\\+y\\;z\\<\\>\\\"\\\\");
        assert_eq!(escaped("nul\0"), "nul\\00");
        assert_eq!(escaped(""), "");
    }

    #[test]
    fn values_that_are_not_strings_are_written_as_der_hex() {
        use x509_parser::prelude::FromDer;
        // Name { RDN { CN = OCTET STRING of 200 bytes (a two-byte length) },
        //        RDN { 1.2.3.4 = [APPLICATION 40] (a multi-byte tag) 0x2a } }.
        let mut cn = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x04, 0x81, 200];
        cn.extend([0xab; 200]);
        let mut rdn1 = vec![0x31, 0x81, cn.len() as u8 + 3, 0x30, 0x81, cn.len() as u8];
        rdn1.extend(&cn);
        let rdn2 = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x5f, 0x28, 0x01, 0x2a,
        ];
        let body_len = rdn1.len() + rdn2.len();
        let mut name = vec![0x30, 0x82, (body_len >> 8) as u8, body_len as u8];
        name.extend(&rdn1);
        name.extend(rdn2);
        let (_, parsed) = X509Name::from_der(&name).unwrap();
        let text = rfc4514(&parsed);
        assert_eq!(
            text,
            format!("1.2.3.4=#5f28012a,CN=#0481c8{}", "ab".repeat(200))
        );
    }
}
