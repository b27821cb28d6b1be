//! Writes newly generated private keys as passphrase-encrypted PKCS#8 (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) so replacement keys never touch disk in the clear, in a form OpenSSL and other tools read.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey, AES_256};
use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use thiserror::Error;
use yasna::models::ObjectIdentifier;
use zeroize::Zeroizing;

/// PBKDF2-HMAC-SHA256 iteration count for every key this module encrypts.
///
/// The cost is paid once per key written and once per passphrase guess.
/// 100,000 iterations take about 30 ms on one core of the development machine
/// (measured with `openssl kdf`), so a bulk run that re-keys a thousand
/// certificates spends about 30 s of CPU on it, while an offline brute-force
/// attacker pays 100,000 HMAC-SHA256 pairs per guess: about 50 times OpenSSL
/// 3.0's `pkcs8 -topk8` default of 2,048. It is below OWASP's 600,000 for
/// stored user passwords, which would cost 6x more per key in a bulk run; a
/// weak, human-chosen passphrase is not made safe by either number.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// Salt length in bytes (RFC 8018 asks for at least 8; NIST SP 800-132 for 16).
const SALT_LEN: usize = 16;
/// AES block size: the CBC IV length.
const IV_LEN: usize = 16;
/// AES-256 key length.
const KEY_LEN: usize = 32;

/// id-PBES2, RFC 8018 appendix A.4.
const OID_PBES2: &[u64] = &[1, 2, 840, 113_549, 1, 5, 13];
/// id-PBKDF2, RFC 8018 appendix A.2.
const OID_PBKDF2: &[u64] = &[1, 2, 840, 113_549, 1, 5, 12];
/// id-hmacWithSHA256, RFC 8018 appendix B.1.2.
const OID_HMAC_WITH_SHA256: &[u64] = &[1, 2, 840, 113_549, 2, 9];
/// id-aes256-CBC, NIST CSOR.
const OID_AES256_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 42];

/// Why a private key could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFileError {
    #[error("the passphrase is empty; an encrypted key file needs a non-empty passphrase")]
    EmptyPassphrase,
    #[error("the key is not DER-encoded PKCS#8: expected exactly one ASN.1 SEQUENCE")]
    NotPkcs8,
    #[error("the system random number generator failed to produce the salt and IV")]
    Random,
    #[error("AES-256-CBC encryption of the private key failed in aws-lc")]
    Encryption,
}

/// Encrypts a DER PKCS#8 `PrivateKeyInfo` (v1 or v2) under `passphrase` and
/// returns the DER `EncryptedPrivateKeyInfo` (RFC 5958 section 3) using PBES2
/// (RFC 8018): PBKDF2-HMAC-SHA256 with a random 16-byte salt and
/// [`PBKDF2_ITERATIONS`], then AES-256-CBC with a random IV and PKCS#7 padding.
///
/// The derived key and the plaintext copy are wiped before returning.
pub fn encrypt_pkcs8(pkcs8_der: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, KeyFileError> {
    if passphrase.is_empty() {
        return Err(KeyFileError::EmptyPassphrase);
    }
    let is_sequence =
        yasna::parse_ber(pkcs8_der, |reader| reader.read_tagged_der()).is_ok_and(|tlv| {
            tlv.tag() == yasna::tags::TAG_SEQUENCE && tlv.pcbit() == yasna::PCBit::Constructed
        });
    if !is_sequence {
        return Err(KeyFileError::NotPkcs8);
    }

    let mut salt = [0u8; SALT_LEN];
    let mut iv = [0u8; IV_LEN];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyFileError::Random)?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| KeyFileError::Random)?;

    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(PBKDF2_ITERATIONS).expect("invariant: PBKDF2_ITERATIONS is not zero"),
        &salt,
        passphrase,
        key.as_mut_slice(),
    );
    let cipher = UnboundCipherKey::new(&AES_256, key.as_slice())
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| KeyFileError::Encryption)?;

    // Room for the padding up front, so the plaintext is never reallocated
    // (which would leave an unwiped copy behind).
    let mut data = Zeroizing::new(Vec::with_capacity(pkcs8_der.len() + IV_LEN));
    data.extend_from_slice(pkcs8_der);
    cipher
        .less_safe_encrypt(&mut *data, EncryptionContext::Iv128(iv.into()))
        .map_err(|_| KeyFileError::Encryption)?;

    Ok(yasna::construct_der(|writer| {
        writer.write_sequence(|writer| {
            writer.next().write_sequence(|writer| {
                writer
                    .next()
                    .write_oid(&ObjectIdentifier::from_slice(OID_PBES2));
                writer.next().write_sequence(|writer| {
                    writer.next().write_sequence(|writer| {
                        writer
                            .next()
                            .write_oid(&ObjectIdentifier::from_slice(OID_PBKDF2));
                        writer.next().write_sequence(|writer| {
                            writer.next().write_bytes(&salt);
                            writer.next().write_u32(PBKDF2_ITERATIONS);
                            writer.next().write_sequence(|writer| {
                                writer
                                    .next()
                                    .write_oid(&ObjectIdentifier::from_slice(OID_HMAC_WITH_SHA256));
                                writer.next().write_null();
                            });
                        });
                    });
                    writer.next().write_sequence(|writer| {
                        writer
                            .next()
                            .write_oid(&ObjectIdentifier::from_slice(OID_AES256_CBC));
                        writer.next().write_bytes(&iv);
                    });
                });
            });
            writer.next().write_bytes(&data);
        });
    }))
}

/// Wraps DER in PEM armour (RFC 7468): `-----BEGIN {label}-----`, standard
/// base64 in 64-column lines, `-----END {label}-----`, LF line endings and a
/// final LF. Use the label `ENCRYPTED PRIVATE KEY` for [`encrypt_pkcs8`] output.
pub fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 64 + 2 * label.len() + 34);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("invariant: base64 output is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Rewrites a PKCS#8 key as version 1 (no embedded public key). aws-lc-rs writes Ed25519
/// keys as v2 (OneAsymmetricKey), which OpenSSL 3.0 cannot read; v1 is what OpenSSL itself
/// writes. EC and RSA keys come out unchanged.
pub fn pkcs8_v1(pkcs8_der: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let (algorithm, private_key) = yasna::parse_der(pkcs8_der, |r| {
        r.read_sequence(|r| {
            r.next().read_u8()?;
            let algorithm = r.next().read_der()?;
            let private_key = Zeroizing::new(r.next().read_der()?);
            // Optional [0] attributes and [1] publicKey are dropped.
            r.read_optional(|r| r.read_der())?;
            r.read_optional(|r| r.read_der())?;
            Ok((algorithm, private_key))
        })
    })
    .map_err(|_| KeyFileError::NotPkcs8)?;
    Ok(Zeroizing::new(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(0);
            w.next().write_der(&algorithm);
            w.next().write_der(&private_key);
        })
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::cipher::{DecryptionContext, PaddedBlockDecryptingKey};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use std::path::Path;
    use std::process::Command;

    const PASSPHRASE: &[u8] = b"correct horse battery staple";

    fn p256_pkcs8() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    fn ed25519_pkcs8() -> Vec<u8> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// The fields of an `EncryptedPrivateKeyInfo` as parsed back.
    #[derive(Debug)]
    struct Parsed {
        pbes2: ObjectIdentifier,
        pbkdf2: ObjectIdentifier,
        salt: Vec<u8>,
        iterations: u64,
        prf: ObjectIdentifier,
        cipher: ObjectIdentifier,
        iv: Vec<u8>,
        encrypted: Vec<u8>,
    }

    fn parse(der: &[u8]) -> Parsed {
        yasna::parse_der(der, |reader| {
            reader.read_sequence(|reader| {
                let (pbes2, pbkdf2, salt, iterations, prf, cipher, iv) =
                    reader.next().read_sequence(|reader| {
                        let pbes2 = reader.next().read_oid()?;
                        reader.next().read_sequence(|reader| {
                            let (pbkdf2, salt, iterations, prf) =
                                reader.next().read_sequence(|reader| {
                                    let pbkdf2 = reader.next().read_oid()?;
                                    let (salt, iterations, prf) =
                                        reader.next().read_sequence(|reader| {
                                            let salt = reader.next().read_bytes()?;
                                            let iterations = reader.next().read_u64()?;
                                            let prf = reader.next().read_sequence(|reader| {
                                                let prf = reader.next().read_oid()?;
                                                reader.next().read_null()?;
                                                Ok(prf)
                                            })?;
                                            Ok((salt, iterations, prf))
                                        })?;
                                    Ok((pbkdf2, salt, iterations, prf))
                                })?;
                            let (cipher, iv) = reader.next().read_sequence(|reader| {
                                Ok((reader.next().read_oid()?, reader.next().read_bytes()?))
                            })?;
                            Ok((pbes2, pbkdf2, salt, iterations, prf, cipher, iv))
                        })
                    })?;
                let encrypted = reader.next().read_bytes()?;
                Ok(Parsed {
                    pbes2,
                    pbkdf2,
                    salt,
                    iterations,
                    prf,
                    cipher,
                    iv,
                    encrypted,
                })
            })
        })
        .unwrap()
    }

    /// Decrypts with aws-lc-rs alone, from the parameters stored in the DER.
    fn decrypt(der: &[u8], passphrase: &[u8]) -> Vec<u8> {
        let parsed = parse(der);
        let mut key = [0u8; KEY_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(u32::try_from(parsed.iterations).unwrap()).unwrap(),
            &parsed.salt,
            passphrase,
            &mut key,
        );
        let cipher =
            PaddedBlockDecryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, &key).unwrap())
                .unwrap();
        let iv: [u8; IV_LEN] = parsed.iv.as_slice().try_into().unwrap();
        let mut data = parsed.encrypted.clone();
        let plain = cipher
            .decrypt(&mut data, DecryptionContext::Iv128(iv.into()))
            .unwrap();
        plain.to_vec()
    }

    #[test]
    fn parameters_parse_back() {
        let plain = p256_pkcs8();
        let der = encrypt_pkcs8(&plain, PASSPHRASE).unwrap();
        let parsed = parse(&der);
        assert_eq!(parsed.pbes2.to_string(), "1.2.840.113549.1.5.13");
        assert_eq!(parsed.pbkdf2.to_string(), "1.2.840.113549.1.5.12");
        assert_eq!(parsed.prf.to_string(), "1.2.840.113549.2.9");
        assert_eq!(parsed.cipher.to_string(), "2.16.840.1.101.3.4.1.42");
        assert_eq!(parsed.iterations, u64::from(PBKDF2_ITERATIONS));
        assert_eq!(parsed.iterations, 100_000);
        assert_eq!(parsed.salt.len(), 16);
        assert_eq!(parsed.iv.len(), 16);
        // PKCS#7 always adds 1..=16 bytes.
        assert_eq!(parsed.encrypted.len() % 16, 0);
        assert!(parsed.encrypted.len() > plain.len());
        assert!(parsed.encrypted.len() <= plain.len() + 16);
        assert!(!der.windows(plain.len()).any(|w| w == plain.as_slice()));
    }

    #[test]
    fn round_trips_through_aws_lc_and_salt_iv_are_fresh() {
        for plain in [p256_pkcs8(), ed25519_pkcs8()] {
            let first = encrypt_pkcs8(&plain, PASSPHRASE).unwrap();
            let second = encrypt_pkcs8(&plain, PASSPHRASE).unwrap();
            assert_eq!(decrypt(&first, PASSPHRASE), plain);
            assert_eq!(decrypt(&second, PASSPHRASE), plain);
            let (a, b) = (parse(&first), parse(&second));
            assert_ne!(a.salt, b.salt);
            assert_ne!(a.iv, b.iv);
            assert_ne!(a.encrypted, b.encrypted);
        }
    }

    #[test]
    fn short_and_binary_passphrases_work() {
        let plain = ed25519_pkcs8();
        for passphrase in [b"x".as_slice(), &[0xff, 0x00, 0x80]] {
            let der = encrypt_pkcs8(&plain, passphrase).unwrap();
            assert_eq!(decrypt(&der, passphrase), plain);
        }
    }

    #[test]
    fn empty_passphrase_is_refused() {
        assert_eq!(
            encrypt_pkcs8(&p256_pkcs8(), b""),
            Err(KeyFileError::EmptyPassphrase)
        );
        assert_eq!(
            KeyFileError::EmptyPassphrase.to_string(),
            "the passphrase is empty; an encrypted key file needs a non-empty passphrase"
        );
    }

    #[test]
    fn non_pkcs8_input_is_refused() {
        let mut trailing = p256_pkcs8();
        trailing.push(0);
        for bad in [
            Vec::new(),
            b"-----BEGIN PRIVATE KEY-----".to_vec(),
            vec![0x04, 0x01, 0x00],
            trailing,
        ] {
            assert_eq!(
                encrypt_pkcs8(&bad, PASSPHRASE),
                Err(KeyFileError::NotPkcs8),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pem_has_64_column_lines_and_lf_endings() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = pem("ENCRYPTED PRIVATE KEY", &der);
        assert!(!text.contains('\r'));
        assert!(text.ends_with("-----END ENCRYPTED PRIVATE KEY-----\n"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN ENCRYPTED PRIVATE KEY-----");
        assert_eq!(
            lines[lines.len() - 1],
            "-----END ENCRYPTED PRIVATE KEY-----"
        );
        let body = &lines[1..lines.len() - 1];
        // 256 bytes -> 344 base64 characters -> 5 full lines and one of 24.
        assert_eq!(
            body.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [64, 64, 64, 64, 64, 24]
        );
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body.concat())
            .unwrap();
        assert_eq!(decoded, der);
        assert_eq!(
            pem("X", b"hi"),
            "-----BEGIN X-----\naGk=\n-----END X-----\n"
        );
        assert_eq!(pem("X", b""), "-----BEGIN X-----\n-----END X-----\n");
        assert_eq!(pem("X", &[0u8; 48]).lines().nth(1).map(str::len), Some(64));
        assert_eq!(pem("X", &[0u8; 48]).lines().count(), 3);
    }

    // ---- checks against the real OpenSSL CLI ----

    /// Runs `openssl pkcs8` to decrypt `enc.pem` with the passphrase in a file;
    /// returns the decrypted DER PKCS#8, or OpenSSL's stderr on failure.
    fn openssl_decrypt(dir: &Path, passphrase: &[u8]) -> Result<Vec<u8>, String> {
        let pass = dir.join("pass.txt");
        std::fs::write(&pass, passphrase).unwrap();
        let out_path = dir.join("dec.der");
        let _ = std::fs::remove_file(&out_path);
        let mut passin = std::ffi::OsString::from("file:");
        passin.push(&pass);
        let out = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-inform", "PEM", "-in"])
            .arg(dir.join("enc.pem"))
            .arg("-passin")
            .arg(passin)
            .args(["-outform", "DER", "-out"])
            .arg(&out_path)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(std::fs::read(out_path).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn check_with_openssl(plain: &[u8]) {
        crate::csr::test_support::require_openssl();
        let dir = tempfile::tempdir().expect("temp dir");
        let der = encrypt_pkcs8(plain, PASSPHRASE).unwrap();
        std::fs::write(
            dir.path().join("enc.pem"),
            pem("ENCRYPTED PRIVATE KEY", &der),
        )
        .unwrap();

        let decrypted = openssl_decrypt(dir.path(), PASSPHRASE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hex::encode(decrypted), hex::encode(plain));

        let wrong = openssl_decrypt(dir.path(), b"correct horse battery stapler");
        assert!(wrong.is_err(), "openssl accepted a wrong passphrase");
    }

    #[test]
    fn openssl_decrypts_p256_key_to_the_same_bytes() {
        check_with_openssl(&p256_pkcs8());
    }

    #[test]
    fn openssl_decrypts_ed25519_v1_key_to_the_same_bytes() {
        let v1 = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new()).unwrap();
        check_with_openssl(v1.as_ref());
    }

    /// aws-lc's `Ed25519KeyPair::generate_pkcs8` writes PKCS#8 v2 (with the
    /// `[1]` public key), which OpenSSL 3.0 cannot parse even unencrypted, so
    /// `openssl pkcs8` cannot be the judge here. Instead OpenSSL's own PBKDF2
    /// (`openssl kdf`) and AES-256-CBC (`openssl enc`) are run on the salt,
    /// iteration count and IV read from our DER.
    #[test]
    fn openssl_primitives_decrypt_ed25519_v2_key_to_the_same_bytes() {
        crate::csr::test_support::require_openssl();
        let plain = ed25519_pkcs8();
        assert_eq!(plain[4], 1, "expected a PKCS#8 v2 key from aws-lc");
        let parsed = parse(&encrypt_pkcs8(&plain, PASSPHRASE).unwrap());
        let dir = tempfile::tempdir().expect("temp dir");

        let kdf = Command::new("openssl")
            .args([
                "kdf",
                "-binary",
                "-keylen",
                "32",
                "-kdfopt",
                "digest:SHA256",
            ])
            .arg("-kdfopt")
            .arg(format!("hexpass:{}", hex::encode(PASSPHRASE)))
            .arg("-kdfopt")
            .arg(format!("hexsalt:{}", hex::encode(&parsed.salt)))
            .arg("-kdfopt")
            .arg(format!("iter:{}", parsed.iterations))
            .arg("PBKDF2")
            .output()
            .unwrap();
        assert!(
            kdf.status.success(),
            "{}",
            String::from_utf8_lossy(&kdf.stderr)
        );
        assert_eq!(kdf.stdout.len(), 32);

        let encrypted = dir.path().join("data.bin");
        let decrypted = dir.path().join("plain.bin");
        std::fs::write(&encrypted, &parsed.encrypted).unwrap();
        let enc = Command::new("openssl")
            .args(["enc", "-d", "-aes-256-cbc", "-K"])
            .arg(hex::encode(&kdf.stdout))
            .arg("-iv")
            .arg(hex::encode(&parsed.iv))
            .arg("-in")
            .arg(&encrypted)
            .arg("-out")
            .arg(&decrypted)
            .output()
            .unwrap();
        assert!(
            enc.status.success(),
            "{}",
            String::from_utf8_lossy(&enc.stderr)
        );
        assert_eq!(
            hex::encode(std::fs::read(decrypted).unwrap()),
            hex::encode(plain)
        );
    }
}
