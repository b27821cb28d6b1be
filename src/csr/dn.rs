//! Turns an RFC 4514 distinguished-name string (the form users copy from `openssl x509 -nameopt RFC2253` output) into the DER `Name` that a CSR subject needs.

use thiserror::Error;
use yasna::models::ObjectIdentifier;
use yasna::tags::TAG_PRINTABLESTRING;

/// Why an RFC 4514 string could not be turned into a DER `Name`.
///
/// Every `offset` is a 0-based byte offset into the text given to [`parse_rfc4514`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnError {
    #[error("distinguished name is empty")]
    Empty,
    #[error("empty attribute at byte offset {offset}: nothing between separators (',' or '+')")]
    EmptyAttribute { offset: usize },
    #[error("attribute \"{component}\" at byte offset {offset} has no '=' between type and value")]
    MissingEquals { offset: usize, component: String },
    #[error(
        "unknown attribute type \"{name}\" at byte offset {offset}; known types are CN, L, ST, O, OU, C, \
         STREET, DC, UID, SERIALNUMBER, emailAddress, or a dotted OID such as 2.5.4.97"
    )]
    UnknownAttributeType { offset: usize, name: String },
    #[error("attribute type \"{oid}\" at byte offset {offset} is not a valid dotted OID")]
    InvalidOid { offset: usize, oid: String },
    #[error(
        "invalid escape at byte offset {offset}: '\\' must be followed by one of , + \" \\ < > ; = # \
         or a space, or by two hex digits"
    )]
    BadEscape { offset: usize },
    #[error("character {ch:?} at byte offset {offset} must be escaped with '\\'")]
    UnescapedSpecial { offset: usize, ch: char },
    #[error(
        "value of {attribute} at byte offset {offset} starts with '#' but the rest is not an even number of hex digits"
    )]
    InvalidHex { offset: usize, attribute: String },
    #[error(
        "'#' value of {attribute} at byte offset {offset} is not exactly one complete DER element"
    )]
    InvalidDer { offset: usize, attribute: String },
    #[error(
        "value of {attribute} at byte offset {offset} decodes to bytes that are not valid UTF-8"
    )]
    InvalidUtf8 { offset: usize, attribute: String },
    #[error(
        "C (country) at byte offset {offset} must be exactly two ASCII letters, got \"{value}\""
    )]
    BadCountryCode { offset: usize, value: String },
    #[error("{attribute} at byte offset {offset} must be ASCII (IA5String), got \"{value}\"")]
    NotAscii {
        offset: usize,
        attribute: String,
        value: String,
    },
    #[error(
        "{attribute} at byte offset {offset} contains {ch:?}, which a PrintableString cannot hold"
    )]
    NotPrintable {
        offset: usize,
        attribute: String,
        ch: char,
    },
}

/// Parses an RFC 4514 string such as `CN=www.example.com,O=Example Ltd,C=GB` and
/// returns the DER encoding of the X.501 `Name`.
///
/// The string lists RDNs most-specific first; the DER `Name` holds them in the
/// reverse order (`C` first). Multi-valued RDNs (`CN=a+UID=b`) become one DER
/// `SET OF`, sorted by encoding. Unescaped spaces around types and values are
/// trimmed; escaped ones (`\ `) are kept. A value that begins with `#` is the
/// hex of a complete DER element and is inserted as is. Empty values are allowed.
pub fn parse_rfc4514(text: &str) -> Result<Vec<u8>, DnError> {
    if text.trim_matches(' ').is_empty() {
        return Err(DnError::Empty);
    }
    let mut rdns = Vec::new();
    for rdn in split_rdns(text) {
        let avas = rdn
            .iter()
            .map(|segment| parse_ava(*segment).and_then(|ava| encode_ava(&ava)))
            .collect::<Result<Vec<_>, _>>()?;
        rdns.push(avas);
    }
    Ok(yasna::construct_der(|writer| {
        writer.write_sequence_of(|writer| {
            for rdn in rdns.iter().rev() {
                writer.next().write_set_of(|writer| {
                    for ava in rdn {
                        writer.next().write_der(ava);
                    }
                });
            }
        });
    }))
}

/// One `type=value` piece of the input, not yet decoded.
#[derive(Clone, Copy)]
struct Segment<'a> {
    text: &'a str,
    offset: usize,
}

/// How an attribute's string value is encoded in DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StringKind {
    Utf8,
    Printable,
    Ia5,
    Country,
}

struct AttributeType {
    /// Name used in error messages: the canonical short name or the dotted OID.
    name: String,
    oid: ObjectIdentifier,
    kind: StringKind,
}

enum AvaValue {
    /// Raw DER from a `#hex` value, already checked to be one complete element.
    Der(Vec<u8>),
    Text(String),
}

struct Ava {
    attribute: AttributeType,
    value: AvaValue,
    value_offset: usize,
}

/// Attribute names accepted case-insensitively, with their OIDs and string types.
const KNOWN_ATTRIBUTES: &[(&str, &[u64], StringKind)] = &[
    ("CN", &[2, 5, 4, 3], StringKind::Utf8),
    ("L", &[2, 5, 4, 7], StringKind::Utf8),
    ("ST", &[2, 5, 4, 8], StringKind::Utf8),
    ("O", &[2, 5, 4, 10], StringKind::Utf8),
    ("OU", &[2, 5, 4, 11], StringKind::Utf8),
    ("C", &[2, 5, 4, 6], StringKind::Country),
    ("STREET", &[2, 5, 4, 9], StringKind::Utf8),
    ("DC", &[0, 9, 2342, 19_200_300, 100, 1, 25], StringKind::Ia5),
    (
        "UID",
        &[0, 9, 2342, 19_200_300, 100, 1, 1],
        StringKind::Utf8,
    ),
    ("SERIALNUMBER", &[2, 5, 4, 5], StringKind::Printable),
    (
        "emailAddress",
        &[1, 2, 840, 113_549, 1, 9, 1],
        StringKind::Ia5,
    ),
];

/// Splits the input at unescaped `,` (between RDNs) and `+` (inside an RDN).
/// Escapes are only skipped here; [`decode_value`] validates them.
fn split_rdns(text: &str) -> Vec<Vec<Segment<'_>>> {
    let mut rdns = Vec::new();
    let mut current = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ',' | '+' => {
                current.push(Segment {
                    text: &text[start..i],
                    offset: start,
                });
                start = i + 1;
                if c == ',' {
                    rdns.push(std::mem::take(&mut current));
                }
            }
            _ => {}
        }
    }
    current.push(Segment {
        text: &text[start..],
        offset: start,
    });
    rdns.push(current);
    rdns
}

fn parse_ava(segment: Segment<'_>) -> Result<Ava, DnError> {
    // Trailing spaces are not trimmed here: the value may end in an escaped
    // space (`\ `), which only `decode_value` can tell apart from a raw one.
    let trimmed = segment.text.trim_start_matches(' ');
    let offset = segment.offset + (segment.text.len() - trimmed.len());
    if trimmed.trim_end_matches(' ').is_empty() {
        return Err(DnError::EmptyAttribute { offset });
    }
    let Some(eq) = trimmed.find('=') else {
        return Err(DnError::MissingEquals {
            offset,
            component: trimmed.trim_end_matches(' ').to_owned(),
        });
    };
    let attribute = lookup_attribute(trimmed[..eq].trim_end_matches(' '), offset)?;

    let raw_value = &trimmed[eq + 1..];
    let value_leading = raw_value.len() - raw_value.trim_start_matches(' ').len();
    let raw_value = &raw_value[value_leading..];
    let value_offset = offset + eq + 1 + value_leading;

    let value = if let Some(hex_text) = raw_value.strip_prefix('#') {
        let der = hex::decode(hex_text.trim_end_matches(' ')).map_err(|_| DnError::InvalidHex {
            offset: value_offset,
            attribute: attribute.name.clone(),
        })?;
        if yasna::parse_der(&der, |reader| reader.read_der()).is_err() {
            return Err(DnError::InvalidDer {
                offset: value_offset,
                attribute: attribute.name.clone(),
            });
        }
        AvaValue::Der(der)
    } else {
        let bytes = decode_value(raw_value, value_offset)?;
        let text = String::from_utf8(bytes).map_err(|_| DnError::InvalidUtf8 {
            offset: value_offset,
            attribute: attribute.name.clone(),
        })?;
        AvaValue::Text(text)
    };
    Ok(Ava {
        attribute,
        value,
        value_offset,
    })
}

fn lookup_attribute(name: &str, offset: usize) -> Result<AttributeType, DnError> {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        let oid = parse_dotted_oid(name).ok_or_else(|| DnError::InvalidOid {
            offset,
            oid: name.to_owned(),
        })?;
        return Ok(AttributeType {
            name: name.to_owned(),
            oid,
            kind: StringKind::Utf8,
        });
    }
    KNOWN_ATTRIBUTES
        .iter()
        .find(|(known, _, _)| known.eq_ignore_ascii_case(name))
        .map(|(known, arcs, kind)| AttributeType {
            name: (*known).to_owned(),
            oid: ObjectIdentifier::from_slice(arcs),
            kind: *kind,
        })
        .ok_or_else(|| DnError::UnknownAttributeType {
            offset,
            name: name.to_owned(),
        })
}

/// Parses RFC 4512 `numericoid` and checks what yasna's OID writer would
/// otherwise panic on: at least two arcs, first arc 0..=2, second arc below 40
/// under 0 and 1, and no overflow when the first two arcs are combined.
fn parse_dotted_oid(text: &str) -> Option<ObjectIdentifier> {
    let mut arcs = Vec::new();
    for arc in text.split('.') {
        let well_formed = !arc.is_empty()
            && arc.bytes().all(|b| b.is_ascii_digit())
            && (arc == "0" || !arc.starts_with('0'));
        if !well_formed {
            return None;
        }
        arcs.push(arc.parse::<u64>().ok()?);
    }
    match arcs.as_slice() {
        [0 | 1, second, ..] if *second < 40 => {}
        [2, second, ..] if *second <= u64::MAX - 80 => {}
        _ => return None,
    }
    Some(ObjectIdentifier::new(arcs))
}

/// Decodes the escapes of an RFC 4514 string value and drops unescaped
/// trailing spaces (leading ones were trimmed by the caller).
fn decode_value(raw: &str, offset: usize) -> Result<Vec<u8>, DnError> {
    let mut bytes = Vec::with_capacity(raw.len());
    // Length of `bytes` up to the last byte that is not an unescaped space.
    let mut keep = 0;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let bad_escape = DnError::BadEscape { offset: offset + i };
                match chars.next() {
                    Some((_, e @ (',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | ' ' | '#'))) => {
                        bytes.push(e as u8);
                    }
                    Some((_, high)) if high.is_ascii_hexdigit() => {
                        let Some((_, low)) = chars.next_if(|(_, low)| low.is_ascii_hexdigit())
                        else {
                            return Err(bad_escape);
                        };
                        let pair = [high as u8, low as u8];
                        let mut byte = [0u8; 1];
                        hex::decode_to_slice(pair, &mut byte).expect(
                            "invariant: both characters were checked to be ASCII hex digits",
                        );
                        bytes.push(byte[0]);
                    }
                    _ => return Err(bad_escape),
                }
                keep = bytes.len();
            }
            '"' | ';' | '<' | '>' | '\0' => {
                return Err(DnError::UnescapedSpecial {
                    offset: offset + i,
                    ch: c,
                });
            }
            ' ' => bytes.push(b' '),
            _ => {
                let mut utf8 = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                keep = bytes.len();
            }
        }
    }
    bytes.truncate(keep);
    Ok(bytes)
}

/// Encodes one `AttributeTypeAndValue` SEQUENCE, checking the value fits its string type.
fn encode_ava(ava: &Ava) -> Result<Vec<u8>, DnError> {
    let attribute = &ava.attribute;
    let offset = ava.value_offset;
    if let AvaValue::Text(text) = &ava.value {
        match attribute.kind {
            StringKind::Utf8 => {}
            StringKind::Country => {
                if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(DnError::BadCountryCode {
                        offset,
                        value: text.clone(),
                    });
                }
            }
            StringKind::Ia5 => {
                if !text.is_ascii() {
                    return Err(DnError::NotAscii {
                        offset,
                        attribute: attribute.name.clone(),
                        value: text.clone(),
                    });
                }
            }
            StringKind::Printable => {
                if let Some(ch) = text.chars().find(|c| !is_printable_string_char(*c)) {
                    return Err(DnError::NotPrintable {
                        offset,
                        attribute: attribute.name.clone(),
                        ch,
                    });
                }
            }
        }
    }
    Ok(yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            writer.next().write_oid(&attribute.oid);
            let writer = writer.next();
            match (&ava.value, attribute.kind) {
                (AvaValue::Der(der), _) => writer.write_der(der),
                (AvaValue::Text(text), StringKind::Utf8) => writer.write_utf8_string(text),
                (AvaValue::Text(text), StringKind::Ia5) => writer.write_ia5_string(text),
                // Written by hand: yasna's write_printable_string rejects '?',
                // which X.680 allows in a PrintableString.
                (AvaValue::Text(text), StringKind::Printable | StringKind::Country) => writer
                    .write_tagged_implicit(TAG_PRINTABLESTRING, |writer| {
                        writer.write_bytes(text.as_bytes())
                    }),
            }
        });
    }))
}

/// The X.680 PrintableString alphabet.
fn is_printable_string_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// DER of a Name with one single-valued RDN holding a UTF8String.
    fn single(oid_der: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let mut ava = vec![0x06, oid_der.len() as u8];
        ava.extend_from_slice(oid_der);
        ava.extend_from_slice(&[tag, value.len() as u8]);
        ava.extend_from_slice(value);
        let mut seq = vec![0x30, ava.len() as u8];
        seq.extend_from_slice(&ava);
        let mut set = vec![0x31, seq.len() as u8];
        set.extend_from_slice(&seq);
        let mut name = vec![0x30, set.len() as u8];
        name.extend_from_slice(&set);
        name
    }

    const CN_OID: &[u8] = &[0x55, 0x04, 0x03];

    /// Reads a Name back as RDNs of (dotted OID, tag number, value bytes).
    fn decode(der: &[u8]) -> Vec<Vec<(String, u64, Vec<u8>)>> {
        yasna::parse_der(der, |reader| {
            reader.collect_sequence_of(|reader| {
                reader.collect_set_of(|reader| {
                    reader.read_sequence(|reader| {
                        let oid = reader.next().read_oid()?;
                        let value = reader.next().read_tagged_der()?;
                        Ok((
                            oid.to_string(),
                            value.tag().tag_number,
                            value.value().to_vec(),
                        ))
                    })
                })
            })
        })
        .unwrap()
    }

    #[test]
    fn simple_name_reverses_rdn_order() {
        let der = parse_rfc4514("CN=www.example.com,O=Example Ltd,C=GB").unwrap();
        let rdns = decode(&der);
        let flat: Vec<_> = rdns
            .iter()
            .map(|rdn| {
                assert_eq!(rdn.len(), 1);
                (rdn[0].0.as_str(), rdn[0].1, rdn[0].2.as_slice())
            })
            .collect();
        assert_eq!(
            flat,
            vec![
                ("2.5.4.6", 19, b"GB".as_slice()),
                ("2.5.4.10", 12, b"Example Ltd".as_slice()),
                ("2.5.4.3", 12, b"www.example.com".as_slice()),
            ]
        );
    }

    #[test]
    fn exact_bytes_for_single_cn() {
        assert_eq!(parse_rfc4514("CN=ab").unwrap(), single(CN_OID, 0x0c, b"ab"));
    }

    #[test]
    fn escapes_are_decoded() {
        let cases: &[(&str, &[u8])] = &[
            (r"CN=a\,b", b"a,b"),
            (r"CN=a\+b", b"a+b"),
            (r#"CN=a\"b"#, b"a\"b"),
            (r"CN=a\\b", b"a\\b"),
            (r"CN=\<a\>", b"<a>"),
            (r"CN=a\;b", b"a;b"),
            (r"CN=a\=b", b"a=b"),
            (r"CN=a=b", b"a=b"),
            (r"CN=\#hash", b"#hash"),
            (r"CN=a#b", b"a#b"),
            (r"CN=\ lead", b" lead"),
            (r"CN=trail\ ", b"trail "),
            (r"CN=Z\C3\BCrich", "Zürich".as_bytes()),
            (r"CN=\e2\82\ac", "€".as_bytes()),
            (r"CN=Zürich", "Zürich".as_bytes()),
            (r"CN=\41B", b"AB"),
            ("CN=", b""),
            ("CN=  ", b""),
            ("  CN = in side  ", b"in side"),
            (r"CN=x\\ ", b"x\\"),
            (r"CN=\  ", b" "),
        ];
        for (input, expected) in cases {
            let der = parse_rfc4514(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(der, single(CN_OID, 0x0c, expected), "input {input}");
        }
    }

    #[test]
    fn attribute_names_are_case_insensitive_and_typed() {
        let der = parse_rfc4514(
            "emailaddress=a@b.example,dc=example,serialNumber=12 34?,c=de,2.5.4.97=VATDE-1",
        )
        .unwrap();
        let rdns = decode(&der);
        let flat: Vec<_> = rdns
            .iter()
            .map(|rdn| (rdn[0].0.as_str(), rdn[0].1))
            .collect();
        assert_eq!(
            flat,
            vec![
                ("2.5.4.97", 12),
                ("2.5.4.6", 19),
                ("2.5.4.5", 19),
                ("0.9.2342.19200300.100.1.25", 22),
                ("1.2.840.113549.1.9.1", 22),
            ]
        );
        let all: Vec<_> = ["L", "ST", "OU", "STREET", "UID"]
            .iter()
            .map(|name| {
                let der = parse_rfc4514(&format!("{name}=v")).unwrap();
                decode(&der)[0][0].0.clone()
            })
            .collect();
        assert_eq!(
            all,
            [
                "2.5.4.7",
                "2.5.4.8",
                "2.5.4.11",
                "2.5.4.9",
                "0.9.2342.19200300.100.1.1"
            ]
        );
    }

    #[test]
    fn multi_valued_rdn_is_der_sorted() {
        // Elements compare as whole encodings, so the SEQUENCE length byte
        // decides first: CN=host is 30 0b ..., UID=u123 is 30 12 ...; CN sorts
        // first whatever the input order.
        let a = parse_rfc4514("UID=u123+CN=host,O=x").unwrap();
        let b = parse_rfc4514("CN=host+UID=u123,O=x").unwrap();
        assert_eq!(a, b);
        let rdns = decode(&a);
        assert_eq!(rdns.len(), 2);
        // The other way round when UID's encoding is the shorter one.
        let d = parse_rfc4514("CN=tricky.example.com+UID=u123").unwrap();
        let oids: Vec<_> = decode(&d)[0].iter().map(|ava| ava.0.clone()).collect();
        assert_eq!(oids, ["0.9.2342.19200300.100.1.1", "2.5.4.3"]);
        assert_eq!(rdns[0][0].0, "2.5.4.10");
        let oids: Vec<_> = rdns[1].iter().map(|ava| ava.0.as_str()).collect();
        assert_eq!(oids, ["2.5.4.3", "0.9.2342.19200300.100.1.1"]);
        // Same type twice: sorted by value encoding (shorter length byte first).
        let c = parse_rfc4514("OU=zz+OU=a").unwrap();
        let values: Vec<_> = decode(&c)[0].iter().map(|ava| ava.2.clone()).collect();
        assert_eq!(values, [b"a".to_vec(), b"zz".to_vec()]);
    }

    #[test]
    fn hex_values_are_inserted_as_is() {
        // PrintableString "ab" given as hex for CN: kept as PrintableString.
        let der = parse_rfc4514("CN=#13026162").unwrap();
        assert_eq!(der, single(CN_OID, 0x13, b"ab"));
        let der = parse_rfc4514("CN=#0C00 ").unwrap();
        assert_eq!(der, single(CN_OID, 0x0c, b""));
        // The country check applies to strings only, not to raw DER.
        let der = parse_rfc4514("C=#130455534121").unwrap();
        assert_eq!(decode(&der)[0][0].2, b"USA!");
    }

    #[test]
    fn errors_name_position_and_attribute() {
        let cases: &[(&str, DnError)] = &[
            ("", DnError::Empty),
            ("   ", DnError::Empty),
            ("CN=a,,O=b", DnError::EmptyAttribute { offset: 5 }),
            ("CN=a,", DnError::EmptyAttribute { offset: 5 }),
            ("CN=a+", DnError::EmptyAttribute { offset: 5 }),
            (
                "CN=a, O",
                DnError::MissingEquals {
                    offset: 6,
                    component: "O".into(),
                },
            ),
            (
                "XX=a",
                DnError::UnknownAttributeType {
                    offset: 0,
                    name: "XX".into(),
                },
            ),
            (
                "=a",
                DnError::UnknownAttributeType {
                    offset: 0,
                    name: String::new(),
                },
            ),
            (
                "CN=a,3.1=b",
                DnError::InvalidOid {
                    offset: 5,
                    oid: "3.1".into(),
                },
            ),
            (
                "1.40=b",
                DnError::InvalidOid {
                    offset: 0,
                    oid: "1.40".into(),
                },
            ),
            (
                "2.05.4=b",
                DnError::InvalidOid {
                    offset: 0,
                    oid: "2.05.4".into(),
                },
            ),
            (
                "2=b",
                DnError::InvalidOid {
                    offset: 0,
                    oid: "2".into(),
                },
            ),
            (r"CN=a\x", DnError::BadEscape { offset: 4 }),
            (r"CN=a\4", DnError::BadEscape { offset: 4 }),
            (r"CN=a\4g", DnError::BadEscape { offset: 4 }),
            (r"CN=a\", DnError::BadEscape { offset: 4 }),
            (r"CN=a\é", DnError::BadEscape { offset: 4 }),
            ("CN=a;b", DnError::UnescapedSpecial { offset: 4, ch: ';' }),
            (
                r#"CN="a""#,
                DnError::UnescapedSpecial { offset: 3, ch: '"' },
            ),
            (
                "O=x,CN=#zz",
                DnError::InvalidHex {
                    offset: 7,
                    attribute: "CN".into(),
                },
            ),
            (
                "CN=#0c0",
                DnError::InvalidHex {
                    offset: 3,
                    attribute: "CN".into(),
                },
            ),
            (
                "CN=#0c0561",
                DnError::InvalidDer {
                    offset: 3,
                    attribute: "CN".into(),
                },
            ),
            (
                "CN=#0c01610c0161",
                DnError::InvalidDer {
                    offset: 3,
                    attribute: "CN".into(),
                },
            ),
            (
                "CN=#",
                DnError::InvalidDer {
                    offset: 3,
                    attribute: "CN".into(),
                },
            ),
            (
                r"OU=\ff",
                DnError::InvalidUtf8 {
                    offset: 3,
                    attribute: "OU".into(),
                },
            ),
            (
                r"CN=\C3",
                DnError::InvalidUtf8 {
                    offset: 3,
                    attribute: "CN".into(),
                },
            ),
            (
                "C=USA",
                DnError::BadCountryCode {
                    offset: 2,
                    value: "USA".into(),
                },
            ),
            (
                "C=1A",
                DnError::BadCountryCode {
                    offset: 2,
                    value: "1A".into(),
                },
            ),
            (
                "C=",
                DnError::BadCountryCode {
                    offset: 2,
                    value: String::new(),
                },
            ),
            (
                "DC=bücher",
                DnError::NotAscii {
                    offset: 3,
                    attribute: "DC".into(),
                    value: "bücher".into(),
                },
            ),
            (
                "emailAddress=ü@x",
                DnError::NotAscii {
                    offset: 13,
                    attribute: "emailAddress".into(),
                    value: "ü@x".into(),
                },
            ),
            (
                "SERIALNUMBER=a*b",
                DnError::NotPrintable {
                    offset: 13,
                    attribute: "SERIALNUMBER".into(),
                    ch: '*',
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_rfc4514(input).as_ref(),
                Err(expected),
                "input {input:?}"
            );
        }
        // Messages state the facts.
        assert_eq!(
            DnError::BadCountryCode {
                offset: 2,
                value: "USA".into()
            }
            .to_string(),
            "C (country) at byte offset 2 must be exactly two ASCII letters, got \"USA\""
        );
    }

    // ---- checks against the real OpenSSL CLI ----

    /// Has OpenSSL write a CSR for `subj` (its `/A=b/C=d` syntax) and returns
    /// the DER `Name` inside it.
    fn openssl_subject(dir: &Path, subj: &str) -> Vec<u8> {
        let config = dir.join("req.cnf");
        std::fs::write(
            &config,
            "[req]\ndistinguished_name = dn\nstring_mask = utf8only\nutf8 = yes\n[dn]\n",
        )
        .unwrap();
        let key = dir.join("k.pem");
        let csr = dir.join("csr.der");
        let out = Command::new("openssl")
            .args(["req", "-new", "-newkey", "ed25519", "-nodes", "-keyout"])
            .arg(&key)
            .arg("-config")
            .arg(&config)
            .args([
                "-subj",
                subj,
                "-utf8",
                "-multivalue-rdn",
                "-outform",
                "DER",
                "-out",
            ])
            .arg(&csr)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl req failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csr = std::fs::read(csr).unwrap();
        // CertificationRequest ::= SEQUENCE { info SEQUENCE { version, subject Name, spki, [0] attributes }, alg, sig }
        yasna::parse_der(&csr, |reader| {
            reader.read_sequence(|reader| {
                let name = reader.next().read_sequence(|reader| {
                    assert_eq!(reader.next().read_i64()?, 0);
                    let name = reader.next().read_der()?;
                    reader.next().read_der()?;
                    reader.next().read_der()?;
                    Ok(name)
                })?;
                reader.next().read_der()?;
                reader.next().read_der()?;
                Ok(name)
            })
        })
        .unwrap()
    }

    #[test]
    fn simple_subject_matches_openssl_byte_for_byte() {
        crate::csr::test_support::require_openssl();
        let dir = tempfile::tempdir().expect("temp dir");
        let theirs = openssl_subject(dir.path(), "/C=GB/O=Example Ltd/CN=www.example.com");
        let ours = parse_rfc4514("CN=www.example.com,O=Example Ltd,C=GB").unwrap();
        assert_eq!(hex::encode(&ours), hex::encode(&theirs));
    }

    const TRICKY: &str = r"CN=tricky.example.com+UID=u123,OU=\#hash,OU=Platform\+Ops,OU=Web,O=Acme\, Inc.,L=Zürich,C=DE,DC=example,DC=com";

    #[test]
    fn tricky_subject_matches_openssl_byte_for_byte() {
        crate::csr::test_support::require_openssl();
        let dir = tempfile::tempdir().expect("temp dir");
        let theirs = openssl_subject(
            dir.path(),
            r"/DC=com/DC=example/C=DE/L=Zürich/O=Acme, Inc./OU=Web/OU=Platform\+Ops/OU=#hash/CN=tricky.example.com+UID=u123",
        );
        let ours = parse_rfc4514(TRICKY).unwrap();
        assert_eq!(hex::encode(&ours), hex::encode(&theirs));
    }

    #[test]
    fn tricky_subject_structure_per_openssl_asn1parse() {
        crate::csr::test_support::require_openssl();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("name.der");
        std::fs::write(&path, parse_rfc4514(TRICKY).unwrap()).unwrap();
        let out = Command::new("openssl")
            .args(["asn1parse", "-inform", "DER", "-in"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl asn1parse failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // Keep "SET", and "TYPE:value" of primitives, in document order.
        let items: Vec<String> = text
            .lines()
            .filter_map(|line| {
                let (_, rest) = line
                    .split_once("prim:")
                    .or_else(|| line.split_once("cons:"))?;
                let rest = rest.trim();
                if rest.starts_with("SET") {
                    return Some("SET".to_owned());
                }
                if rest.starts_with("SEQUENCE") {
                    return None;
                }
                let (kind, value) = rest.split_once(':')?;
                Some(format!("{}:{}", kind.trim(), value))
            })
            .collect();
        let expected = [
            "SET",
            "OBJECT:domainComponent",
            "IA5STRING:com",
            "SET",
            "OBJECT:domainComponent",
            "IA5STRING:example",
            "SET",
            "OBJECT:countryName",
            "PRINTABLESTRING:DE",
            "SET",
            "OBJECT:localityName",
            "UTF8STRING:Zürich",
            "SET",
            "OBJECT:organizationName",
            "UTF8STRING:Acme, Inc.",
            "SET",
            "OBJECT:organizationalUnitName",
            "UTF8STRING:Web",
            "SET",
            "OBJECT:organizationalUnitName",
            "UTF8STRING:Platform+Ops",
            "SET",
            "OBJECT:organizationalUnitName",
            "UTF8STRING:#hash",
            // DER sorts the SET OF by whole encodings, and the UID SEQUENCE's
            // length byte (0x12) is below the CN one's (0x19).
            "SET",
            "OBJECT:userId",
            "UTF8STRING:u123",
            "OBJECT:commonName",
            "UTF8STRING:tricky.example.com",
        ];
        assert_eq!(items, expected, "asn1parse output:\n{text}");
    }
}
