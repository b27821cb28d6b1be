//! Key sizes that x509-parser does not give: RSA-PSS moduli, DSA primes and elliptic curves
//! spelled out in full (explicit parameters) instead of named by OID.
//!
//! The sizes are the ones OpenSSL and pyca/cryptography report: the modulus for RSA and
//! RSA-PSS, the prime p for DSA, the group order for EC.

/// One DER element: (tag byte, content, rest). Definite lengths only (DER has no others).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

/// Reads one element that must have `tag`.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (t, content, rest) if t == tag => Some((content, rest)),
        _ => None,
    }
}

/// The bytes of an unsigned big-endian number without its leading zeros.
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Bits of an RSA public key (RSA or RSA-PSS SPKI): the `subjectPublicKey` BIT STRING's
/// content holds `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub fn rsa_bits(subject_public_key: &[u8]) -> Option<u32> {
    let (seq, _) = expect(subject_public_key, SEQUENCE)?;
    let (modulus, _) = expect(seq, INTEGER)?;
    Some(super::bit_length(modulus))
}

/// Bits of a DSA key: the size of p in `Dss-Parms ::= SEQUENCE { p, q, g INTEGER }` (the
/// algorithm parameters' content). `None` when the parameters are absent (inherited from the
/// issuer, RFC 3279 2.3.2).
pub fn dsa_bits(params_content: &[u8]) -> Option<u32> {
    let (p, _) = expect(params_content, INTEGER)?;
    Some(super::bit_length(p))
}

/// An elliptic curve given by its parameters, as a named one would be: (bits, name if known).
pub struct ExplicitCurve {
    pub bits: u32,
    pub name: Option<&'static str>,
}

/// Reads `SpecifiedECDomain` (RFC 3279 2.3.5; the content of the parameters SEQUENCE):
/// `{ version, fieldID { fieldType, p }, curve { a, b, seed? }, base, order, cofactor? }`.
/// The size is the order's; the curve is named only when p, a, b, the generator's x and the
/// order all equal a named curve's (a look-alike with another generator is not that curve).
pub fn explicit_curve(params_content: &[u8]) -> Option<ExplicitCurve> {
    let (_version, rest) = expect(params_content, INTEGER)?;
    let (field_id, rest) = expect(rest, SEQUENCE)?;
    let (_field_type, field_rest) = expect(field_id, OID)?;
    // A characteristic-two field has a SEQUENCE here instead of the prime.
    let prime = expect(field_rest, INTEGER).map(|(p, _)| p);
    let (curve, rest) = expect(rest, SEQUENCE)?;
    let (a, curve_rest) = expect(curve, OCTET_STRING)?;
    let (b, curve_rest) = expect(curve_rest, OCTET_STRING)?;
    if !curve_rest.is_empty() {
        expect(curve_rest, BIT_STRING)?;
    }
    let (base, rest) = expect(rest, OCTET_STRING)?;
    let (order, _) = expect(rest, INTEGER)?;
    let bits = super::bit_length(order);
    let name = prime.and_then(|p| {
        NAMED.iter().find_map(|c| {
            let field_len = c.p.len();
            let base_x = match base.split_first() {
                Some((2..=4, point)) if point.len() >= field_len => &point[..field_len],
                _ => return None,
            };
            let same = trim(p) == trim(c.p)
                && trim(a) == trim(c.a)
                && trim(b) == trim(c.b)
                && trim(base_x) == trim(c.gx)
                && trim(order) == trim(c.n);
            same.then_some(c.name)
        })
    });
    Some(ExplicitCurve { bits, name })
}

/// Bits of a named curve (the order's size), for the curves `oids::curves` names.
pub fn named_curve_bits(name: &str) -> Option<u32> {
    Some(match name {
        "P-192" => 192,
        "P-224" => 224,
        "P-256" | "secp256k1" | "brainpoolP256r1" => 256,
        "P-384" | "brainpoolP384r1" => 384,
        "brainpoolP512r1" => 512,
        "P-521" => 521,
        _ => return None,
    })
}

/// A named prime curve's parameters (big-endian, as in SEC 2 / FIPS 186-4).
struct Named {
    name: &'static str,
    p: &'static [u8],
    a: &'static [u8],
    b: &'static [u8],
    gx: &'static [u8],
    n: &'static [u8],
}

macro_rules! h {
    ($s:literal) => {
        &hex_literal::<{ $s.len() / 2 }>($s)
    };
}

/// Hex digits to bytes at compile time (the tables below are literals).
const fn hex_literal<const N: usize>(s: &str) -> [u8; N] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let bytes = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = digit(bytes[2 * i]) << 4 | digit(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

const NAMED: [Named; 4] = [
    Named {
        name: "P-256",
        p: h!("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
        a: h!("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
        b: h!("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
        gx: h!("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
        n: h!("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
    },
    Named {
        name: "P-384",
        p: h!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF"),
        a: h!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC"),
        b: h!("B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF"),
        gx: h!("AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7"),
        n: h!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"),
    },
    Named {
        name: "P-521",
        p: h!("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
        a: h!("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC"),
        b: h!("0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00"),
        gx: h!("00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66"),
        n: h!("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409"),
    },
    Named {
        name: "secp256k1",
        p: h!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"),
        a: h!("00"),
        b: h!("07"),
        gx: h!("79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"),
        n: h!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_in_long_form() {
        let mut der = vec![0x04, 0x81, 0x80];
        der.extend([7u8; 0x80]);
        der.push(0x05);
        let (tag, content, rest) = tlv(&der).unwrap();
        assert_eq!((tag, content.len(), rest), (0x04, 0x80, &[0x05][..]));
        assert!(tlv(&[0x04, 0x82, 0x01]).is_none(), "truncated length");
        assert!(tlv(&[0x04, 0x05, 0x01]).is_none(), "truncated content");
    }

    #[test]
    fn named_tables_decode() {
        assert_eq!(NAMED[0].p.len(), 32);
        assert_eq!(NAMED[2].n.len(), 66);
        assert_eq!(super::super::bit_length(NAMED[2].n), 521);
    }
}
