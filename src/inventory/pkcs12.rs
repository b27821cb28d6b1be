//! PKCS#12 files (`.p12`, `.pfx`, RFC 7292): the certificates and private keys inside.
//!
//! The structure is walked here; the cryptography comes from maintained crates: aws-lc-rs
//! (PBKDF2, HMAC, AES-CBC), RustCrypto `pkcs12` (the RFC 7292 appendix B key derivation),
//! `des` and `rc2` with `cbc` (the legacy PBEs OpenSSL's `-legacy` writes). The MAC is
//! verified before anything is decrypted, every iteration count is checked against a cap
//! before any key is derived, and decrypted key bytes live only in `Zeroizing` buffers.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::{hmac, pbkdf2};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
use pkcs12::kdf::{derive_key, Pkcs12KeyType};
use zeroize::Zeroizing;

use super::der::{self, DerError, Reader, Tlv};

/// The most iterations one key derivation may ask for (PBKDF2 or the PKCS#12 KDF).
/// OpenSSL writes 2,048; a count above this is refused before deriving anything, so a
/// hostile file cannot make a scan hang.
pub const MAX_ITERATIONS: u64 = 10_000_000;
/// The most iterations all derivations of one file may ask for together.
const MAX_TOTAL_ITERATIONS: u64 = 5 * MAX_ITERATIONS;
/// SafeContents nested in SafeContents, at most this deep.
const MAX_DEPTH: usize = 4;

const PKCS: [u8; 6] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d];
const fn pkcs(tail: [u8; 3]) -> [u8; 9] {
    [
        PKCS[0], PKCS[1], PKCS[2], PKCS[3], PKCS[4], PKCS[5], tail[0], tail[1], tail[2],
    ]
}
const fn bag(n: u8) -> [u8; 11] {
    [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, n,
    ]
}
const fn pkcs12_pbe(n: u8) -> [u8; 10] {
    [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, n]
}
const fn nist(kind: u8, n: u8) -> [u8; 9] {
    [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, kind, n]
}

const DATA: [u8; 9] = pkcs([0x01, 0x07, 0x01]);
const ENCRYPTED_DATA: [u8; 9] = pkcs([0x01, 0x07, 0x06]);
const ENVELOPED_DATA: [u8; 9] = pkcs([0x01, 0x07, 0x03]);
const KEY_BAG: [u8; 11] = bag(1);
const SHROUDED_KEY_BAG: [u8; 11] = bag(2);
const CERT_BAG: [u8; 11] = bag(3);
const SAFE_CONTENTS_BAG: [u8; 11] = bag(6);
/// x509Certificate, 1.2.840.113549.1.9.22.1.
const X509_CERTIFICATE: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const PBES2: [u8; 9] = pkcs([0x01, 0x05, 0x0d]);
const PBKDF2: [u8; 9] = pkcs([0x01, 0x05, 0x0c]);
const HMAC_SHA1: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
const HMAC_SHA256: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
const HMAC_SHA384: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
const HMAC_SHA512: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
const AES128_CBC: [u8; 9] = nist(0x01, 0x02);
const AES192_CBC: [u8; 9] = nist(0x01, 0x16);
const AES256_CBC: [u8; 9] = nist(0x01, 0x2a);
const SHA1: [u8; 5] = [0x2b, 0x0e, 0x03, 0x02, 0x1a];
const SHA256: [u8; 9] = nist(0x02, 0x01);
const SHA384: [u8; 9] = nist(0x02, 0x02);
const SHA512: [u8; 9] = nist(0x02, 0x03);
const PBE_SHA_3DES: [u8; 10] = pkcs12_pbe(3);
const PBE_SHA_2DES: [u8; 10] = pkcs12_pbe(4);
const PBE_SHA_RC2_128: [u8; 10] = pkcs12_pbe(5);
const PBE_SHA_RC2_40: [u8; 10] = pkcs12_pbe(6);

/// What a PKCS#12 file held. Keys are PKCS#8 `PrivateKeyInfo` DER, to be reduced to their
/// public key digest at once and dropped (zeroized).
#[derive(Default)]
pub struct Contents {
    pub certificates: Vec<Vec<u8>>,
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Bags that were not read (CRLs, secrets, other certificate types), as notes.
    pub skipped: Vec<String>,
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
    let (epki, _) = der::read(der_bytes)?;
    let mut r = Reader::new(epki.expect(der::SEQUENCE, "EncryptedPrivateKeyInfo")?);
    let alg = r.next("key encryption algorithm")?;
    let data = r.take(der::OCTET_STRING, "encrypted key")?;
    decrypt(alg, data, &password, &mut budget)
}

impl From<DerError> for P12Error {
    fn from(e: DerError) -> Self {
        P12Error::Malformed(e.0)
    }
}

/// True if `der` is shaped like a PFX: SEQUENCE { INTEGER 3, SEQUENCE { OID … } … }.
pub fn looks_like(input: &[u8]) -> bool {
    let Ok((outer, _)) = der::read(input) else {
        return false;
    };
    if outer.tag != der::SEQUENCE {
        return false;
    }
    let mut r = outer.children();
    let version = r.optional(der::INTEGER).map(|t| t.content);
    let auth_safe = r.optional(der::SEQUENCE);
    version == Some(&[3][..])
        && auth_safe.is_some_and(|t| der::read(t.content).is_ok_and(|(f, _)| f.tag == der::OID))
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
    let (outer, _) = der::read(input)?;
    let mut pfx = Reader::new(outer.expect(der::SEQUENCE, "PFX")?);
    let version = der::unsigned(pfx.take(der::INTEGER, "PFX version")?, "PFX version")?;
    if version != 3 {
        return Err(P12Error::Unsupported(format!("PFX version {version}")));
    }
    let mut auth_safe = pfx.next("authSafe")?.expect(der::SEQUENCE, "authSafe")?;
    let mut ci = Reader::new(auth_safe);
    let content_type = ci.take(der::OID, "authSafe contentType")?;
    if content_type != DATA {
        return Err(P12Error::Unsupported(format!(
            "an authSafe of type {} (public-key integrity mode)",
            der::oid_text(content_type)
        )));
    }
    let explicit = ci.take(der::CONTEXT_0, "authSafe content")?;
    auth_safe = Reader::new(explicit).take(der::OCTET_STRING, "authSafe data")?;
    let mac = pfx.optional(der::SEQUENCE);

    let candidates: Vec<Password> = match password {
        Some(p) => vec![Password::new(p)?, Password::new(b"")?, Password::absent()],
        None => vec![Password::new(b"")?, Password::absent()],
    };
    let password = match mac {
        Some(mac) => {
            let mac = MacData::parse(mac)?;
            let mut found = None;
            for candidate in candidates {
                let count = budget.spend("MAC", mac.iterations)?;
                if mac.verify(&candidate, count, auth_safe)? {
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

    let mut contents = Contents::default();
    let mut safes = Reader::new(auth_safe);
    let mut authenticated = safes.next("AuthenticatedSafe")?.children();
    while !authenticated.is_empty() {
        let ci = authenticated.next("ContentInfo")?;
        let mut r = ci.children();
        let kind = r.take(der::OID, "ContentInfo contentType")?;
        let body = Reader::new(r.take(der::CONTEXT_0, "ContentInfo content")?);
        if kind == DATA {
            let data = body.first(der::OCTET_STRING, "data")?;
            read_safe_contents(data, &password, &mut budget, &mut contents, 0)?;
        } else if kind == ENCRYPTED_DATA {
            let plain = decrypt_encrypted_data(body, &password, &mut budget)?;
            read_safe_contents(&plain, &password, &mut budget, &mut contents, 0)?;
        } else if kind == ENVELOPED_DATA {
            return Err(P12Error::Unsupported(
                "public-key privacy mode (envelopedData)".into(),
            ));
        } else {
            return Err(P12Error::Unsupported(format!(
                "a ContentInfo of type {}",
                der::oid_text(kind)
            )));
        }
    }
    Ok(contents)
}

struct MacData<'a> {
    digest: &'a [u8],
    expected: &'a [u8],
    salt: &'a [u8],
    iterations: u64,
}

impl<'a> MacData<'a> {
    fn parse(t: Tlv<'a>) -> Result<Self, P12Error> {
        let mut r = t.children();
        let mut digest_info = Reader::new(r.take(der::SEQUENCE, "MAC DigestInfo")?);
        let mut alg = Reader::new(digest_info.take(der::SEQUENCE, "MAC algorithm")?);
        let digest = alg.take(der::OID, "MAC algorithm")?;
        let expected = digest_info.take(der::OCTET_STRING, "MAC digest")?;
        let salt = r.take(der::OCTET_STRING, "MAC salt")?;
        let iterations = match r.optional(der::INTEGER) {
            Some(t) => der::unsigned(t.content, "MAC iterations")?,
            None => 1,
        };
        Ok(MacData {
            digest,
            expected,
            salt,
            iterations,
        })
    }

    /// True if the MAC over `data` verifies with `password` (constant-time comparison).
    fn verify(&self, password: &Password, count: u32, data: &[u8]) -> Result<bool, P12Error> {
        let id = Pkcs12KeyType::Mac;
        let rounds = count as i32; // Invariant: count <= MAX_ITERATIONS < i32::MAX.
        let (alg, key) = match self.digest {
            d if d == SHA1 => (
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                derive_key::<sha1::Sha1>(&password.bmp, self.salt, id, rounds, 20),
            ),
            d if d == SHA256 => (
                hmac::HMAC_SHA256,
                derive_key::<sha2::Sha256>(&password.bmp, self.salt, id, rounds, 32),
            ),
            d if d == SHA384 => (
                hmac::HMAC_SHA384,
                derive_key::<sha2::Sha384>(&password.bmp, self.salt, id, rounds, 48),
            ),
            d if d == SHA512 => (
                hmac::HMAC_SHA512,
                derive_key::<sha2::Sha512>(&password.bmp, self.salt, id, rounds, 64),
            ),
            other => {
                return Err(P12Error::Unsupported(format!(
                    "the MAC digest {}",
                    der::oid_text(other)
                )))
            }
        };
        let key = Zeroizing::new(key);
        let key = hmac::Key::new(alg, &key);
        Ok(hmac::verify(&key, data, self.expected).is_ok())
    }
}

/// EncryptedData { version, EncryptedContentInfo { contentType, algorithm, [0] content } }.
fn decrypt_encrypted_data(
    mut body: Reader<'_>,
    password: &Password,
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    let mut ed = Reader::new(body.take(der::SEQUENCE, "EncryptedData")?);
    ed.take(der::INTEGER, "EncryptedData version")?;
    let mut eci = Reader::new(ed.take(der::SEQUENCE, "EncryptedContentInfo")?);
    eci.take(der::OID, "EncryptedContentInfo contentType")?;
    let alg = eci.next("content encryption algorithm")?;
    let data = match eci.optional(der::CONTEXT_0_PRIMITIVE) {
        Some(t) => t.content,
        None if eci.optional(der::CONTEXT_0).is_some() => {
            return Err(P12Error::Unsupported(
                "constructed (BER) encrypted content".into(),
            ))
        }
        None => return Err(P12Error::Malformed("encrypted content missing".into())),
    };
    decrypt(alg, data, password, budget)
}

/// Reads SafeContents: SEQUENCE OF SafeBag { bagId, [0] bagValue, attributes OPTIONAL }.
fn read_safe_contents(
    der_bytes: &[u8],
    password: &Password,
    budget: &mut Budget,
    contents: &mut Contents,
    depth: usize,
) -> Result<(), P12Error> {
    if depth > MAX_DEPTH {
        return Err(P12Error::Malformed("SafeContents nested too deeply".into()));
    }
    let (seq, _) = der::read(der_bytes)?;
    let mut bags = Reader::new(seq.expect(der::SEQUENCE, "SafeContents")?);
    while !bags.is_empty() {
        let mut b = bags.next("SafeBag")?.children();
        let id = b.take(der::OID, "SafeBag bagId")?;
        let value = b.take(der::CONTEXT_0, "SafeBag value")?;
        if id == KEY_BAG {
            let (key, _) = der::read(value)?;
            contents.keys.push(Zeroizing::new(key.raw.to_vec()));
        } else if id == SHROUDED_KEY_BAG {
            let (epki, _) = der::read(value)?;
            let mut r = Reader::new(epki.expect(der::SEQUENCE, "EncryptedPrivateKeyInfo")?);
            let alg = r.next("key encryption algorithm")?;
            let data = r.take(der::OCTET_STRING, "encrypted key")?;
            contents.keys.push(decrypt(alg, data, password, budget)?);
        } else if id == CERT_BAG {
            let (cert_bag, _) = der::read(value)?;
            let mut r = Reader::new(cert_bag.expect(der::SEQUENCE, "CertBag")?);
            let cert_type = r.take(der::OID, "CertBag certId")?;
            let inner = r.take(der::CONTEXT_0, "CertBag value")?;
            if cert_type == X509_CERTIFICATE {
                let cert = Reader::new(inner).first(der::OCTET_STRING, "certificate")?;
                contents.certificates.push(cert.to_vec());
            } else {
                contents.skipped.push(format!(
                    "a certificate of type {} (not X.509) was skipped",
                    der::oid_text(cert_type)
                ));
            }
        } else if id == SAFE_CONTENTS_BAG {
            read_safe_contents(value, password, budget, contents, depth + 1)?;
        }
        // CRL and secret bags hold nothing certsweep reads.
    }
    Ok(())
}

/// Decrypts `data` as `alg` (an AlgorithmIdentifier) says.
fn decrypt(
    alg: Tlv<'_>,
    data: &[u8],
    password: &Password,
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    let mut r = Reader::new(alg.expect(der::SEQUENCE, "AlgorithmIdentifier")?);
    let oid = r.take(der::OID, "algorithm")?;
    let params = r.next("algorithm parameters")?;
    if oid == PBES2 {
        return pbes2(params, data, password, budget);
    }
    let (key_len, kind) = match oid {
        o if o == PBE_SHA_3DES => (24, Legacy::Tdes3),
        o if o == PBE_SHA_2DES => (16, Legacy::Tdes2),
        o if o == PBE_SHA_RC2_128 => (16, Legacy::Rc2(128)),
        o if o == PBE_SHA_RC2_40 => (5, Legacy::Rc2(40)),
        other => {
            return Err(P12Error::Unsupported(format!(
                "the encryption algorithm {}",
                der::oid_text(other)
            )))
        }
    };
    let mut p = params.children();
    let salt = p.take(der::OCTET_STRING, "PBE salt")?;
    let iterations = der::unsigned(p.take(der::INTEGER, "PBE iterations")?, "PBE iterations")?;
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
    params: Tlv<'_>,
    data: &[u8],
    password: &Password,
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, P12Error> {
    let mut p = params.children();
    let mut kdf = Reader::new(p.take(der::SEQUENCE, "PBES2 keyDerivationFunc")?);
    let kdf_oid = kdf.take(der::OID, "PBES2 KDF")?;
    if kdf_oid != PBKDF2 {
        return Err(P12Error::Unsupported(format!(
            "the key derivation {}",
            der::oid_text(kdf_oid)
        )));
    }
    let mut kp = Reader::new(kdf.take(der::SEQUENCE, "PBKDF2 parameters")?);
    let salt = kp.take(der::OCTET_STRING, "PBKDF2 salt")?;
    let iterations = der::unsigned(
        kp.take(der::INTEGER, "PBKDF2 iterations")?,
        "PBKDF2 iterations",
    )?;
    let key_length = kp
        .optional(der::INTEGER)
        .map(|t| der::unsigned(t.content, "PBKDF2 keyLength"))
        .transpose()?;
    let prf = match kp.optional(der::SEQUENCE) {
        Some(t) => {
            let mut a = t.children();
            match a.take(der::OID, "PBKDF2 prf")? {
                o if o == HMAC_SHA1 => pbkdf2::PBKDF2_HMAC_SHA1,
                o if o == HMAC_SHA256 => pbkdf2::PBKDF2_HMAC_SHA256,
                o if o == HMAC_SHA384 => pbkdf2::PBKDF2_HMAC_SHA384,
                o if o == HMAC_SHA512 => pbkdf2::PBKDF2_HMAC_SHA512,
                other => {
                    return Err(P12Error::Unsupported(format!(
                        "the PBKDF2 PRF {}",
                        der::oid_text(other)
                    )))
                }
            }
        }
        None => pbkdf2::PBKDF2_HMAC_SHA1,
    };
    let mut enc = Reader::new(p.take(der::SEQUENCE, "PBES2 encryptionScheme")?);
    let (cipher, len) = match enc.take(der::OID, "PBES2 cipher")? {
        o if o == AES128_CBC => (&AES_128, 16),
        o if o == AES192_CBC => (&AES_192, 24),
        o if o == AES256_CBC => (&AES_256, 32),
        other => {
            return Err(P12Error::Unsupported(format!(
                "the cipher {}",
                der::oid_text(other)
            )))
        }
    };
    if key_length.is_some_and(|k| k != len as u64) {
        return Err(P12Error::Malformed(
            "PBKDF2 keyLength does not match the cipher".into(),
        ));
    }
    let iv = enc.take(der::OCTET_STRING, "PBES2 IV")?;
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| P12Error::Malformed("AES-CBC IV is not 16 bytes".into()))?;
    let count = budget.spend("PBKDF2", iterations)?;
    let count = NonZeroU32::new(count).ok_or(P12Error::DecryptionFailed)?;
    let mut key = Zeroizing::new(vec![0u8; len]);
    pbkdf2::derive(prf, count, salt, &password.utf8, &mut key);
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

    #[test]
    fn password_encodings() {
        let p = Password::new("añ".as_bytes()).unwrap();
        assert_eq!(&*p.bmp, &[0x00, 0x61, 0x00, 0xf1, 0x00, 0x00]);
        assert_eq!(&*p.utf8, "añ".as_bytes());
        assert!(Password::new(&[0xff]).is_err());
        assert!(Password::absent().bmp.is_empty());
    }
}
