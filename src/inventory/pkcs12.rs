//! PKCS#12 files (`.p12`, `.pfx`, RFC 7292): the certificates and private keys inside.
//!
//! The structure is decoded by RustCrypto's strict DER types (`pkcs12`'s Pfx, MacData,
//! CertBag and PBE parameters, `cms`'s ContentInfo and EncryptedData, `der`); the
//! cryptography comes from maintained crates too: aws-lc-rs (PBKDF2, HMAC, AES-CBC),
//! `pkcs12::kdf` (the RFC 7292 appendix B key derivation), `des` and `rc2` with `cbc` (the
//! legacy PBEs OpenSSL's `-legacy` writes). The MAC is verified before anything is
//! decrypted, every iteration count is checked against a cap before any key is derived,
//! and decrypted bags and key bytes live only in `Zeroizing` buffers (bags are read in
//! place, borrowed, never copied out).

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::{hmac, pbkdf2};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use der::asn1::{AnyRef, ObjectIdentifier as Oid, OctetStringRef};
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use pkcs12::cert_type::CertBag;
use pkcs12::kdf::{derive_key, Pkcs12KeyType};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pbes2Params, Pkcs12PbeParams};
use pkcs12::pfx::Pfx;
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};
use zeroize::Zeroizing;

use super::pkcs7::{first_tlv, reason, RawSet};

/// The most iterations one key derivation may ask for (PBKDF2 or the PKCS#12 KDF).
/// OpenSSL writes 2,048; a count above this is refused before deriving anything, so a
/// hostile file cannot make a scan hang.
pub const MAX_ITERATIONS: u64 = 10_000_000;
/// The most iterations all derivations of one file may ask for together.
const MAX_TOTAL_ITERATIONS: u64 = 5 * MAX_ITERATIONS;
/// SafeContents nested in SafeContents, at most this deep.
const MAX_DEPTH: usize = 4;

const fn oid(dotted: &str) -> Oid {
    Oid::new_unwrap(dotted)
}

const DATA: Oid = oid("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: Oid = oid("1.2.840.113549.1.7.6");
const ENVELOPED_DATA: Oid = oid("1.2.840.113549.1.7.3");
const PBES2: Oid = oid("1.2.840.113549.1.5.13");
const PBKDF2: Oid = oid("1.2.840.113549.1.5.12");
const HMAC_SHA1: Oid = oid("1.2.840.113549.2.7");
const HMAC_SHA256: Oid = oid("1.2.840.113549.2.9");
const HMAC_SHA384: Oid = oid("1.2.840.113549.2.10");
const HMAC_SHA512: Oid = oid("1.2.840.113549.2.11");
const AES128_CBC: Oid = oid("2.16.840.1.101.3.4.1.2");
const AES192_CBC: Oid = oid("2.16.840.1.101.3.4.1.22");
const AES256_CBC: Oid = oid("2.16.840.1.101.3.4.1.42");
const SHA1: Oid = oid("1.3.14.3.2.26");
const SHA256: Oid = oid("2.16.840.1.101.3.4.2.1");
const SHA384: Oid = oid("2.16.840.1.101.3.4.2.2");
const SHA512: Oid = oid("2.16.840.1.101.3.4.2.3");

/// SafeBag (RFC 7292 §4.2), borrowed from the buffer it is read from. `pkcs12::safe_bag::
/// SafeBag` copies each bag value into a plain `Vec` (a key bag's private key would outlive
/// the zeroized plaintext) and does not check the `[0]` tag.
#[derive(Sequence)]
struct SafeBagRef<'a> {
    bag_id: Oid,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: AnyRef<'a>,
    bag_attributes: Option<RawSet<'a>>,
}

/// PBKDF2-params (RFC 8018 appendix A.2). `pkcs12::pbe_params::Pbkdf2Params` makes the PRF
/// mandatory, but it defaults to HMAC-SHA1 and OpenSSL leaves it out then.
#[derive(Sequence)]
struct Pbkdf2Params<'a> {
    salt: OctetStringRef<'a>,
    iteration_count: u64,
    key_length: Option<u64>,
    prf: Option<AlgorithmIdentifierRef<'a>>,
}

/// What a PKCS#12 file held. Keys are PKCS#8 `PrivateKeyInfo` DER, to be reduced to their
/// public key digest at once and dropped (zeroized).
#[derive(Default)]
pub struct Contents {
    pub certificates: Vec<Vec<u8>>,
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Bags that were not read (CRLs, secrets, other certificate types), as notes.
    pub skipped: Vec<String>,
    /// Bytes after the PFX.
    pub trailing: usize,
}

/// Why a PKCS#12 file could not be read. The messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum P12Error {
    #[error("wrong password or corrupted file (MAC check failed)")]
    WrongPassword,
    #[error("wrong password or corrupted file (decryption failed)")]
    DecryptionFailed,
    #[error("PKCS#12 file needs a password: --p12-password-file FILE or CERTSWEEP_P12_PASSWORD (the empty password did not open it)")]
    NeedsPassword,
    #[error("PKCS#12 {what} asks for {count} iterations, more than the limit of {limit}; refused before deriving any key", limit = MAX_ITERATIONS)]
    TooManyIterations { what: &'static str, count: u64 },
    #[error("PKCS#12 key derivations together ask for more than {limit} iterations; refused", limit = MAX_TOTAL_ITERATIONS)]
    TooMuchWork,
    #[error("not decrypted: this run's PKCS#12 key-derivation budget of {budget} iterations is spent (raise --p12-iteration-budget to read more PKCS#12 files and encrypted keys)", budget = super::limits::p12_budget())]
    RunBudgetSpent,
    #[error("PKCS#12 uses {0}, which is not supported")]
    Unsupported(String),
    #[error("malformed PKCS#12: {0}")]
    Malformed(String),
    #[error("the PKCS#12 password is not valid UTF-8")]
    PasswordNotUtf8,
    #[error("PKCS#12 file in BER encoding (indefinite lengths), which is not supported: rewrite it as DER with `keytool -importkeystore -srckeystore FILE -srcstoretype PKCS12 -destkeystore NEW.p12 -deststoretype PKCS12` (Java reads BER and writes DER; the key stays encrypted)")]
    Ber,
}

impl P12Error {
    /// The reason, worded for an `ENCRYPTED PRIVATE KEY` block rather than a PKCS#12 file.
    pub fn for_key(&self) -> String {
        match self {
            P12Error::WrongPassword | P12Error::DecryptionFailed => {
                "wrong passphrase or corrupted key (decryption failed)".into()
            }
            P12Error::PasswordNotUtf8 => "the passphrase is not valid UTF-8".into(),
            P12Error::TooManyIterations { count, .. } => format!(
                "it asks for {count} key-derivation iterations, more than the limit of \
                 {MAX_ITERATIONS}; refused before deriving any key"
            ),
            P12Error::Unsupported(what) => format!("it uses {what}, which is not supported"),
            P12Error::Malformed(why) => format!("malformed: {why}"),
            P12Error::Ber => {
                "it is in BER encoding (indefinite lengths), which is not supported; DER is required"
                    .into()
            }
            other => other.to_string(),
        }
    }
}

/// Opens a PKCS#8 `EncryptedPrivateKeyInfo` (PBES2 or the PKCS#12 PBE schemes, the same
/// ciphers a PKCS#12 key bag uses) with `passphrase`; the plain PKCS#8 comes back zeroizing.
pub fn decrypt_pkcs8(der_bytes: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    let password = Password::new(passphrase)?;
    let mut budget = Budget {
        left: MAX_TOTAL_ITERATIONS,
    };
    let epki = EncryptedPrivateKeyInfo::from_der(der_bytes)?;
    decrypt(
        &epki.encryption_algorithm,
        epki.encrypted_data.as_bytes(),
        &password,
        &mut budget,
    )
}

impl From<der::Error> for P12Error {
    fn from(e: der::Error) -> Self {
        match e.kind() {
            der::ErrorKind::IndefiniteLength => P12Error::Ber,
            _ => P12Error::Malformed(reason(e)),
        }
    }
}

/// True if `input` starts like a PFX in BER with an indefinite outer length, as BouncyCastle
/// and EJBCA write them: SEQUENCE (indefinite) { INTEGER 3, … }. Refused with [`P12Error::Ber`].
pub fn looks_like_ber(input: &[u8]) -> bool {
    input.starts_with(&[0x30, 0x80, 0x02, 0x01, 0x03])
}

/// True if `der` is shaped like a PFX: SEQUENCE { INTEGER 3, SEQUENCE { OID … } … }.
pub fn looks_like(input: &[u8]) -> bool {
    let Some(outer) = first_tlv(input).filter(|t| t.tag() == Tag::Sequence) else {
        return false;
    };
    let Ok(mut r) = SliceReader::new(outer.value()) else {
        return false;
    };
    let version = AnyRef::decode(&mut r)
        .ok()
        .filter(|t| t.tag() == Tag::Integer);
    let auth_safe = AnyRef::decode(&mut r)
        .ok()
        .filter(|t| t.tag() == Tag::Sequence);
    version.is_some_and(|v| v.value() == [3])
        && auth_safe
            .and_then(|t| first_tlv(t.value()))
            .is_some_and(|f| f.tag() == Tag::ObjectIdentifier)
}

/// A password in the two encodings PKCS#12 uses: UTF-8 for PBES2/PBKDF2, and BMPString
/// (UTF-16BE with a two-byte terminator) for the RFC 7292 key derivation.
struct Password {
    utf8: Zeroizing<Vec<u8>>,
    bmp: Zeroizing<Vec<u8>>,
}

impl Password {
    fn new(utf8: &[u8]) -> Result<Self, P12Error> {
        let text = std::str::from_utf8(utf8).map_err(|_| P12Error::PasswordNotUtf8)?;
        let mut bmp = Zeroizing::new(Vec::with_capacity(text.len() * 2 + 2));
        for unit in text.encode_utf16() {
            bmp.extend_from_slice(&unit.to_be_bytes());
        }
        bmp.extend_from_slice(&[0, 0]);
        Ok(Password {
            utf8: Zeroizing::new(utf8.to_vec()),
            bmp,
        })
    }

    /// OpenSSL also writes an empty password as no password at all (no terminator).
    fn absent() -> Self {
        Password {
            utf8: Zeroizing::new(Vec::new()),
            bmp: Zeroizing::new(Vec::new()),
        }
    }
}

/// Bounds the key-derivation work one file may cause.
struct Budget {
    left: u64,
}

impl Budget {
    fn spend(&mut self, what: &'static str, count: u64) -> Result<u32, P12Error> {
        if count == 0 {
            return Err(P12Error::Malformed(format!("{what}: iteration count 0")));
        }
        if count > MAX_ITERATIONS {
            return Err(P12Error::TooManyIterations { what, count });
        }
        self.left = self.left.checked_sub(count).ok_or(P12Error::TooMuchWork)?;
        if !super::limits::spend_p12_iterations(count) {
            return Err(P12Error::RunBudgetSpent);
        }
        // Invariant: count <= MAX_ITERATIONS < u32::MAX.
        Ok(count as u32)
    }
}

/// Opens a PFX with `password`, or, without one, with the empty password.
pub fn decode(input: &[u8], password: Option<&[u8]>) -> Result<Contents, P12Error> {
    let mut budget = Budget {
        left: MAX_TOTAL_ITERATIONS,
    };
    let mut reader = SliceReader::new(input)?;
    let pfx = Pfx::decode(&mut reader)?;
    // Bytes after the PFX are outside the MAC: said, not read.
    let trailing = usize::try_from(u32::from(reader.remaining_len())).unwrap_or(usize::MAX);
    if pfx.auth_safe.content_type != DATA {
        return Err(P12Error::Unsupported(format!(
            "an authSafe of type {} (public-key integrity mode)",
            pfx.auth_safe.content_type
        )));
    }
    let auth_safe: OctetStringRef<'_> = pfx.auth_safe.content.decode_as()?;
    let auth_safe = auth_safe.as_bytes();

    let candidates: Vec<Password> = match password {
        Some(p) => vec![Password::new(p)?, Password::new(b"")?, Password::absent()],
        None => vec![Password::new(b"")?, Password::absent()],
    };
    let password = match &pfx.mac_data {
        Some(mac) => {
            let iterations = u64::try_from(mac.iterations).map_err(|_| {
                P12Error::Malformed("MAC iterations: not a non-negative INTEGER".into())
            })?;
            let mut found = None;
            for candidate in candidates {
                let count = budget.spend("MAC", iterations)?;
                if verify_mac(mac, &candidate, count, auth_safe)? {
                    found = Some(candidate);
                    break;
                }
            }
            match (found, password) {
                (Some(p), _) => p,
                (None, Some(_)) => return Err(P12Error::WrongPassword),
                (None, None) => return Err(P12Error::NeedsPassword),
            }
        }
        // No MAC (openssl -nomac): nothing to check the password against; a wrong one
        // shows as a decryption failure.
        None => candidates
            .into_iter()
            .next()
            .ok_or(P12Error::NeedsPassword)?,
    };

    let mut contents = Contents {
        trailing,
        ..Contents::default()
    };
    // AuthenticatedSafe ::= SEQUENCE OF ContentInfo
    for ci in Vec::<ContentInfo>::from_der(auth_safe)? {
        if ci.content_type == DATA {
            let data: OctetStringRef<'_> = ci.content.decode_as()?;
            let bags = Vec::<SafeBagRef<'_>>::from_der(data.as_bytes())?;
            read_safe_contents(bags, &password, &mut budget, &mut contents, 0)?;
        } else if ci.content_type == ENCRYPTED_DATA {
            let ed: EncryptedData = ci.content.decode_as()?;
            let eci = ed.enc_content_info;
            let data = eci
                .encrypted_content
                .ok_or_else(|| P12Error::Malformed("encrypted content missing".into()))?;
            let plain = decrypt(
                &eci.content_enc_alg,
                data.as_bytes(),
                &password,
                &mut budget,
            )?;
            let bags = Vec::<SafeBagRef<'_>>::from_der(&plain)?;
            read_safe_contents(bags, &password, &mut budget, &mut contents, 0)?;
        } else if ci.content_type == ENVELOPED_DATA {
            return Err(P12Error::Unsupported(
                "public-key privacy mode (envelopedData)".into(),
            ));
        } else {
            return Err(P12Error::Unsupported(format!(
                "a ContentInfo of type {}",
                ci.content_type
            )));
        }
    }
    Ok(contents)
}

/// `pkcs12::kdf::derive_key` for one digest: (password, salt, key type, rounds, length).
type DeriveKey = fn(&[u8], &[u8], Pkcs12KeyType, i32, usize) -> Vec<u8>;

/// True if the MAC over `data` verifies with `password` (constant-time comparison).
fn verify_mac(
    mac: &pkcs12::mac_data::MacData,
    password: &Password,
    count: u32,
    data: &[u8],
) -> Result<bool, P12Error> {
    let rounds = count as i32; // Invariant: count <= MAX_ITERATIONS < i32::MAX.
    let salt = mac.mac_salt.as_bytes();
    // The MAC key is as long as the digest's output (RFC 7292, appendix B.2).
    let mac_key = |alg: hmac::Algorithm, derive: DeriveKey| {
        let len = alg.digest_algorithm().output_len();
        (
            alg,
            derive(&password.bmp, salt, Pkcs12KeyType::Mac, rounds, len),
        )
    };
    let (alg, key) = match mac.mac.algorithm.oid {
        SHA1 => mac_key(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            derive_key::<sha1::Sha1>,
        ),
        SHA256 => mac_key(hmac::HMAC_SHA256, derive_key::<sha2::Sha256>),
        SHA384 => mac_key(hmac::HMAC_SHA384, derive_key::<sha2::Sha384>),
        SHA512 => mac_key(hmac::HMAC_SHA512, derive_key::<sha2::Sha512>),
        other => {
            return Err(P12Error::Unsupported(format!("the MAC digest {other}")));
        }
    };
    let key = Zeroizing::new(key);
    let key = hmac::Key::new(alg, &key);
    Ok(hmac::verify(&key, data, mac.mac.digest.as_bytes()).is_ok())
}

/// Reads SafeContents: SEQUENCE OF SafeBag { bagId, [0] bagValue, attributes OPTIONAL }.
fn read_safe_contents(
    bags: Vec<SafeBagRef<'_>>,
    password: &Password,
    budget: &mut Budget,
    contents: &mut Contents,
    depth: usize,
) -> Result<(), P12Error> {
    if depth > MAX_DEPTH {
        return Err(P12Error::Malformed("SafeContents nested too deeply".into()));
    }
    for bag in bags {
        let value = bag.bag_value;
        if bag.bag_id == pkcs12::PKCS_12_KEY_BAG_OID {
            // Encoded straight into the zeroizing buffer (one allocation of the exact size).
            let mut key = Zeroizing::new(Vec::new());
            value.encode_to_vec(&mut key)?;
            contents.keys.push(key);
        } else if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
            let epki: EncryptedPrivateKeyInfo = value.decode_as()?;
            let key = decrypt(
                &epki.encryption_algorithm,
                epki.encrypted_data.as_bytes(),
                password,
                budget,
            )?;
            contents.keys.push(key);
        } else if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID {
            let cert: CertBag = value.decode_as()?;
            if cert.cert_id == pkcs12::PKCS_12_X509_CERT_OID {
                contents.certificates.push(cert.cert_value.into_bytes());
            } else {
                contents.skipped.push(format!(
                    "a certificate of type {} (not X.509) was skipped",
                    cert.cert_id
                ));
            }
        } else if bag.bag_id == pkcs12::PKCS_12_SAFE_CONTENTS_BAG_OID {
            let inner: Vec<SafeBagRef<'_>> = value.decode_as()?;
            read_safe_contents(inner, password, budget, contents, depth + 1)?;
        }
        // CRL and secret bags hold nothing certsweep reads.
    }
    Ok(())
}

/// The parameters of an algorithm, which must be present.
fn params<'a, T: der::DecodeValue<'a> + der::FixedTag + 'a>(
    alg: &'a AlgorithmIdentifierOwned,
    what: &str,
) -> Result<T, P12Error> {
    alg.parameters
        .as_ref()
        .ok_or_else(|| P12Error::Malformed(format!("{what}: parameters missing")))?
        .decode_as()
        .map_err(P12Error::from)
}

/// Decrypts `data` as `alg` says.
fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    data: &[u8],
    password: &Password,
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    if alg.oid == PBES2 {
        return pbes2(params(alg, "PBES2")?, data, password, budget);
    }
    let (key_len, kind) = match alg.oid {
        pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC => (24, Legacy::Tdes3),
        pkcs12::PKCS_12_PBE_WITH_SHAAND2_KEY_TRIPLE_DES_CBC => (16, Legacy::Tdes2),
        pkcs12::PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC => (16, Legacy::Rc2(128)),
        pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC => (5, Legacy::Rc2(40)),
        other => {
            return Err(P12Error::Unsupported(format!(
                "the encryption algorithm {other}"
            )))
        }
    };
    let p: Pkcs12PbeParams = params(alg, "PBE")?;
    let salt = p.salt.as_bytes();
    let iterations = u64::try_from(p.iterations)
        .map_err(|_| P12Error::Malformed("PBE iterations: not a non-negative INTEGER".into()))?;
    let count = budget.spend("PBE", iterations)?;
    let rounds = count as i32; // Invariant: count <= MAX_ITERATIONS < i32::MAX.
    let key = Zeroizing::new(derive_key::<sha1::Sha1>(
        &password.bmp,
        salt,
        Pkcs12KeyType::EncryptionKey,
        rounds,
        key_len,
    ));
    budget.spend("PBE", iterations)?;
    let iv = derive_key::<sha1::Sha1>(&password.bmp, salt, Pkcs12KeyType::Iv, rounds, 8);
    let mut buf = Zeroizing::new(data.to_vec());
    let plain_len = match kind {
        Legacy::Tdes3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| P12Error::DecryptionFailed)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        Legacy::Tdes2 => cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
            .map_err(|_| P12Error::DecryptionFailed)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        Legacy::Rc2(bits) => {
            let cipher = rc2::Rc2::new_with_eff_key_len(&key, bits);
            let iv = cbc::cipher::generic_array::GenericArray::from_slice(&iv);
            cbc::Decryptor::<rc2::Rc2>::inner_iv_init(cipher, iv)
                .decrypt_padded_mut::<Pkcs7>(&mut buf)
                .map(|p| p.len())
        }
    }
    .map_err(|_| P12Error::DecryptionFailed)?;
    buf.truncate(plain_len);
    Ok(buf)
}

enum Legacy {
    Tdes3,
    Tdes2,
    Rc2(usize),
}

/// PBES2 (RFC 8018): PBKDF2 with an HMAC, then AES-CBC.
fn pbes2(
    p: Pbes2Params,
    data: &[u8],
    password: &Password,
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    if p.kdf.oid != PBKDF2 {
        return Err(P12Error::Unsupported(format!(
            "the key derivation {}",
            p.kdf.oid
        )));
    }
    let kp: Pbkdf2Params<'_> = params(&p.kdf, "PBKDF2")?;
    let prf = match kp.prf.map(|a| a.oid) {
        None | Some(HMAC_SHA1) => pbkdf2::PBKDF2_HMAC_SHA1,
        Some(HMAC_SHA256) => pbkdf2::PBKDF2_HMAC_SHA256,
        Some(HMAC_SHA384) => pbkdf2::PBKDF2_HMAC_SHA384,
        Some(HMAC_SHA512) => pbkdf2::PBKDF2_HMAC_SHA512,
        Some(other) => {
            return Err(P12Error::Unsupported(format!("the PBKDF2 PRF {other}")));
        }
    };
    let (cipher, len) = match p.encryption.oid {
        AES128_CBC => (&AES_128, 16),
        AES192_CBC => (&AES_192, 24),
        AES256_CBC => (&AES_256, 32),
        other => return Err(P12Error::Unsupported(format!("the cipher {other}"))),
    };
    if kp.key_length.is_some_and(|k| k != len as u64) {
        return Err(P12Error::Malformed(
            "PBKDF2 keyLength does not match the cipher".into(),
        ));
    }
    let iv: OctetStringRef<'_> = params(&p.encryption, "PBES2 cipher")?;
    let iv: [u8; 16] = iv
        .as_bytes()
        .try_into()
        .map_err(|_| P12Error::Malformed("AES-CBC IV is not 16 bytes".into()))?;
    let count = budget.spend("PBKDF2", kp.iteration_count)?;
    let count = NonZeroU32::new(count).ok_or(P12Error::DecryptionFailed)?;
    let mut key = Zeroizing::new(vec![0u8; len]);
    pbkdf2::derive(prf, count, kp.salt.as_bytes(), &password.utf8, &mut key);
    let key = PaddedBlockDecryptingKey::cbc_pkcs7(
        UnboundCipherKey::new(cipher, &key).map_err(|_| P12Error::DecryptionFailed)?,
    )
    .map_err(|_| P12Error::DecryptionFailed)?;
    let mut buf = Zeroizing::new(data.to_vec());
    let plain_len = key
        .decrypt(&mut buf, DecryptionContext::Iv128(iv.into()))
        .map_err(|_| P12Error::DecryptionFailed)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_counts_are_capped_before_any_derivation() {
        let mut b = Budget {
            left: MAX_TOTAL_ITERATIONS,
        };
        assert_eq!(b.spend("MAC", 2048).unwrap(), 2048);
        assert_eq!(
            b.spend("MAC", 2_000_000_000),
            Err(P12Error::TooManyIterations {
                what: "MAC",
                count: 2_000_000_000
            })
        );
        assert!(b.spend("PBE", 0).is_err());
        for _ in 0..4 {
            b.spend("PBKDF2", MAX_ITERATIONS).unwrap();
        }
        assert_eq!(
            b.spend("PBKDF2", MAX_ITERATIONS),
            Err(P12Error::TooMuchWork)
        );
    }

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        match body.len() {
            n if n < 0x80 => v.push(n as u8),
            n if n < 0x100 => v.extend([0x81, n as u8]),
            n => v.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        v.extend_from_slice(body);
        v
    }

    fn oid_der(o: Oid) -> Vec<u8> {
        o.to_der().unwrap()
    }

    /// PFX { 3, data { AuthenticatedSafe { data { safe_contents } } } }, without a MAC.
    fn pfx(safe_contents: &[u8]) -> Vec<u8> {
        let data = |body: &[u8]| {
            let mut ci = oid_der(DATA);
            ci.extend(tlv(0xa0, &tlv(0x04, body)));
            tlv(0x30, &ci)
        };
        let auth_safe = tlv(0x30, &data(safe_contents));
        let mut p = vec![0x02, 0x01, 0x03];
        p.extend(data(&auth_safe));
        tlv(0x30, &p)
    }

    fn bag(id: Oid, tag: u8, value: &[u8]) -> Vec<u8> {
        let mut b = oid_der(id);
        b.extend(tlv(tag, value));
        tlv(0x30, &b)
    }

    /// SafeContents holding a SafeContentsBag `depth` deep around an empty SafeContents.
    fn nested(depth: usize) -> Vec<u8> {
        let mut inner = tlv(0x30, &[]);
        for _ in 0..depth {
            inner = tlv(
                0x30,
                &bag(pkcs12::PKCS_12_SAFE_CONTENTS_BAG_OID, 0xa0, &inner),
            );
        }
        inner
    }

    #[test]
    fn structure_limits_and_hostile_encodings() {
        let key = tlv(0x30, &[0x02, 0x01, 0x00]);
        let plain = pfx(&tlv(0x30, &bag(pkcs12::PKCS_12_KEY_BAG_OID, 0xa0, &key)));
        assert!(looks_like(&plain));
        let contents = decode(&plain, None).unwrap();
        assert_eq!(contents.keys.len(), 1);
        assert_eq!(&contents.keys[0][..], &key[..]);
        assert_eq!(contents.trailing, 0);

        assert!(decode(&pfx(&nested(MAX_DEPTH)), None).is_ok());
        assert_eq!(
            decode(&pfx(&nested(MAX_DEPTH + 1)), None).err(),
            Some(P12Error::Malformed("SafeContents nested too deeply".into()))
        );
        // A bag value under [1] instead of [0].
        let wrong = pfx(&tlv(0x30, &bag(pkcs12::PKCS_12_KEY_BAG_OID, 0xa1, &key)));
        assert!(matches!(decode(&wrong, None), Err(P12Error::Malformed(_))));
        // BER inside: an indefinite-length SafeContents.
        let mut ber = vec![0x30, 0x80];
        ber.extend(bag(pkcs12::PKCS_12_KEY_BAG_OID, 0xa0, &key));
        ber.extend([0, 0]);
        assert_eq!(decode(&pfx(&ber), None).err(), Some(P12Error::Ber));
        // Truncated: the kind stays "truncated".
        let e = decode(&plain[..plain.len() - 3], None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("malformed PKCS#12: truncated"), "{e}");
        assert!(!looks_like(&plain[..plain.len() - 3]));
    }

    #[test]
    fn password_encodings() {
        let p = Password::new("añ".as_bytes()).unwrap();
        assert_eq!(&*p.bmp, &[0x00, 0x61, 0x00, 0xf1, 0x00, 0x00]);
        assert_eq!(&*p.utf8, "añ".as_bytes());
        assert!(Password::new(&[0xff]).is_err());
        assert!(Password::absent().bmp.is_empty());
    }
}
