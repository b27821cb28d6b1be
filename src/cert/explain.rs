//! Library errors in words a user acts on: x509-parser's parse errors and rustls-webpki's
//! path-validation errors become sentences with RFC 3339 dates and the real fix. This is the
//! one place such errors turn into text; no `Debug` dump of them reaches a user.

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;
use x509_parser::der_parser::error::BerError;
use x509_parser::error::X509Error;
use x509_parser::nom;

use crate::timefmt;

/// Where the chain being judged came from: the fix differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainSource {
    /// Files the user gave (`rotate import --cert/--chain/--roots`).
    Files,
    /// What a TLS server sent (`rotate uploaded/verify --endpoint`).
    Server,
}

/// Why a certificate path does not validate for server authentication, as one sentence
/// (without a trailing period) that ends with what to do.
// The deprecated variants are still returned by older paths of rustls-webpki: matched too.
#[allow(deprecated)]
pub fn path_error(e: &webpki::Error, source: ChainSource) -> String {
    use webpki::Error as E;
    let served = source == ChainSource::Server;
    match e {
        E::UnknownIssuer => {
            if served {
                "the served chain does not lead to a trusted root: the server sends no intermediate certificate that links the leaf to a root, or the root is not trusted here; configure the server to send the full chain (leaf, then its intermediates), or give the right root with --roots FILE".into()
            } else {
                "it does not chain to a trusted root: its issuer is not among the given certificates; give the intermediate certificate(s) with --chain FILE and, if the root is not in the system store, the root with --roots FILE|DIR".into()
            }
        }
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            "it is not allowed for TLS servers: its extended key usage lacks serverAuth (1.3.6.1.5.5.7.3.1); no --chain or --roots can fix that: have the CA issue a TLS server certificate from the same CSR".into()
        }
        E::CaUsedAsEndEntity => {
            "it is a CA certificate (basicConstraints CA:TRUE), not a server certificate: was a CA or intermediate certificate given where the issued leaf belongs? Give the leaf the CA issued for this CSR".into()
        }
        E::EndEntityUsedAsCa => {
            "the chain uses an end-entity certificate as an issuer: an intermediate certificate is missing or the chain is in the wrong order; give the CA's real intermediate certificate(s)".into()
        }
        E::CertExpired { time, not_after } => format!(
            "a certificate in the chain expired at {} (checked at {}); {}",
            unix(*not_after),
            unix(*time),
            if served {
                "the server must send a current chain"
            } else {
                "get a current certificate (or intermediate) from the CA"
            }
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "a certificate in the chain is not valid before {} (checked at {}); wait until then, or check this machine's clock",
            unix(*not_before),
            unix(*time)
        ),
        E::CertNotValidForName(ctx) => {
            let names = if ctx.presented.is_empty() {
                "no DNS or IP names".to_owned()
            } else {
                let names: Vec<String> = ctx.presented.iter().map(|n| general_name(n)).collect();
                names.join(", ")
            };
            format!(
                "it is not valid for {} (it names {names}); give the name clients use with --sni NAME, or have the certificate issued for that name",
                ctx.expected.to_str()
            )
        }
        E::InvalidSignatureForPublicKey
        | E::SignatureAlgorithmMismatch
        | E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a signature in the chain does not verify with the issuer's key (or uses an unsupported algorithm): the intermediate given is not the one that signed it; use the intermediate the CA sent with this certificate".into()
        }
        E::PathLenConstraintViolated | E::NameConstraintViolation | E::MaximumPathDepthExceeded => {
            "the chain breaks a constraint of an issuing CA (path length or name constraints); ask the CA for a chain that allows this name".into()
        }
        E::CertDistrusted | E::CertRevoked => {
            "a certificate in the chain is distrusted or revoked; ask the CA for a new chain".into()
        }
        E::BadDer | E::BadDerTime | E::TrailingData(_) | E::MalformedExtensions | E::ExtensionValueInvalid | E::InvalidCertValidity | E::InvalidSerialNumber | E::UnsupportedCertVersion => {
            "a certificate in the chain is malformed (its DER encoding does not follow X.509); ask the CA to reissue it".into()
        }
        E::UnsupportedCriticalExtension => {
            "a certificate in the chain has a critical extension that TLS clients do not understand, so they reject it; ask the CA to reissue it without that extension".into()
        }
        _ => "the chain is rejected by path validation for a reason this version does not describe; check the chain with `certsweep inspect` and ask the CA".into(),
    }
}

/// Why rustls rejected a served chain (its verifier's error), as "kind: sentence" with the
/// kind first (`expired`, `not yet valid`, `unknown issuer`, `name mismatch`, ...).
#[allow(deprecated)] // deprecated unit variants are matched with their Context twins
pub fn tls_error(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    use webpki::Error as W;
    let rustls::Error::InvalidCertificate(c) = e else {
        return format!("the handshake failed: {e}");
    };
    let served = |w: W| path_error(&w, ChainSource::Server);
    match c {
        C::Expired => "expired: a certificate in the served chain has expired".into(),
        C::ExpiredContext { time, not_after } => format!(
            "expired: {}",
            served(W::CertExpired {
                time: *time,
                not_after: *not_after
            })
        ),
        C::NotValidYet => "not yet valid: a certificate in the served chain is not valid yet".into(),
        C::NotValidYetContext { time, not_before } => format!(
            "not yet valid: {}",
            served(W::CertNotValidYet {
                time: *time,
                not_before: *not_before
            })
        ),
        C::UnknownIssuer => format!("unknown issuer: {}", served(W::UnknownIssuer)),
        C::NotValidForName => {
            "name mismatch: the certificate is not valid for the name asked for".into()
        }
        C::NotValidForNameContext { expected, presented } => format!(
            "name mismatch: {}",
            served(W::CertNotValidForName(webpki::InvalidNameContext {
                expected: expected.clone(),
                presented: presented.clone(),
            }))
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            format!("wrong purpose: {}", served(W::EmptyEkuExtension))
        }
        C::BadEncoding => format!("malformed: {}", served(W::BadDer)),
        C::Revoked => "revoked: the served certificate is revoked".into(),
        C::UnhandledCriticalExtension => format!(
            "unsupported extension: {}",
            served(W::UnsupportedCriticalExtension)
        ),
        C::Other(other) => match other.0.downcast_ref::<W>() {
            Some(w) => served(w.clone()),
            None => "the served chain is rejected for a reason this version does not describe; check it with `certsweep inspect`".into(),
        },
        C::BadSignature
        | C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            format!("bad signature: {}", served(W::InvalidSignatureForPublicKey))
        }
        _ => "the served chain is rejected for a reason this version does not describe; check it with `certsweep inspect`".into(),
    }
}

/// Why x509-parser could not read a certificate, as a sentence fragment.
pub fn parse_error(e: &nom::Err<X509Error>) -> String {
    match e {
        nom::Err::Incomplete(_) => "the data ends before the certificate does (truncated)".into(),
        nom::Err::Error(e) | nom::Err::Failure(e) => match e {
            X509Error::Der(BerError::UnexpectedTag { .. })
            | X509Error::Der(BerError::UnexpectedClass { .. })
            | X509Error::Der(BerError::InvalidTag) => {
                "the bytes do not have the structure of an X.509 certificate (is it a key, a CSR or another format?)".into()
            }
            X509Error::Der(BerError::InvalidLength) | X509Error::Der(BerError::Incomplete(_)) => {
                "a length in its DER encoding is wrong or the data is truncated".into()
            }
            X509Error::Der(_) => "its DER encoding is invalid".into(),
            X509Error::NomError(_) | X509Error::Generic => "its DER encoding is invalid".into(),
            other => other.to_string(),
        },
    }
}

/// One of webpki's presented names (its `Debug` of a GeneralName) as a plain name:
/// `DnsName("a.example")` → `a.example`, `IpAddress(192.0.2.1)` → `IP 192.0.2.1`.
fn general_name(debug: &str) -> String {
    let inner = |prefix: &str| {
        debug
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(|r| r.trim_matches('"').to_owned())
    };
    if let Some(dns) = inner("DnsName(") {
        dns
    } else if let Some(ip) = inner("IpAddress(") {
        format!("IP {ip}")
    } else if let Some(uri) = inner("UniformResourceIdentifier(") {
        format!("URI {uri}")
    } else {
        "a name of another type".into()
    }
}

fn unix(t: UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map(timefmt::rfc3339)
        .unwrap_or_else(|| format!("{} seconds after 1970", t.as_secs()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    /// Every mapped error: the key words, RFC 3339 dates, and never a Rust type name.
    #[test]
    #[allow(deprecated)] // the unit variant stands for its Context twin (same arm)
    fn webpki_errors_become_sentences_with_the_fix() {
        use webpki::Error as E;
        let cases: Vec<(E, ChainSource, &[&str])> = vec![
            (
                E::UnknownIssuer,
                ChainSource::Files,
                &[
                    "does not chain to a trusted root",
                    "--chain FILE",
                    "--roots",
                ],
            ),
            (
                E::UnknownIssuer,
                ChainSource::Server,
                &["send the full chain", "--roots"],
            ),
            (
                E::RequiredEkuNotFound,
                ChainSource::Files,
                &["lacks serverAuth", "no --chain or --roots can fix"],
            ),
            (
                E::CaUsedAsEndEntity,
                ChainSource::Files,
                &["is a CA certificate", "Give the leaf"],
            ),
            (
                E::CertExpired {
                    time: t(1_796_057_461),
                    not_after: t(1_795_000_000),
                },
                ChainSource::Files,
                &[
                    "expired at 2026-11-18T11:06:40Z",
                    "checked at 2026-11-30T16:51:01Z",
                ],
            ),
            (
                E::CertNotValidYet {
                    time: t(1_796_057_461),
                    not_before: t(1_800_000_000),
                },
                ChainSource::Server,
                &["not valid before 2027-01-15T08:00:00Z", "clock"],
            ),
            (
                E::CertNotValidForName(webpki::InvalidNameContext {
                    expected: rustls_pki_types::ServerName::try_from("a.example")
                        .unwrap()
                        .to_owned(),
                    presented: vec![
                        "DnsName(\"b.example\")".into(),
                        "IpAddress(192.0.2.1)".into(),
                    ],
                }),
                ChainSource::Server,
                &[
                    "not valid for a.example",
                    "names b.example, IP 192.0.2.1",
                    "--sni",
                ],
            ),
            (E::BadDer, ChainSource::Files, &["malformed"]),
            (E::CertRevoked, ChainSource::Files, &["revoked"]),
        ];
        for (e, source, wants) in cases {
            let text = path_error(&e, source);
            for want in wants {
                assert!(text.contains(want), "{e:?}: {text:?} lacks {want:?}");
            }
            for leak in ["(UNIX)", "Context", "Some(", "{", "Error", "1796057461"] {
                assert!(!text.contains(leak), "{e:?}: {text:?} leaks {leak:?}");
            }
        }
    }

    #[test]
    fn rustls_verifier_errors_keep_their_kind_and_lose_the_dump() {
        use rustls::CertificateError as C;
        let other = |w: webpki::Error| C::Other(rustls::OtherError(std::sync::Arc::new(w)));
        let cases = [
            (
                C::ExpiredContext {
                    time: t(1_796_057_461),
                    not_after: t(1_795_000_000),
                },
                "expired: a certificate in the chain expired at 2026-11-18T11:06:40Z (checked at 2026-11-30T16:51:01Z)",
            ),
            (C::UnknownIssuer, "unknown issuer: the served chain does not lead"),
            (other(webpki::Error::CaUsedAsEndEntity), "it is a CA certificate"),
            (
                other(webpki::Error::EmptyEkuExtension),
                "lacks serverAuth",
            ),
        ];
        for (c, want) in cases {
            let text = tls_error(&rustls::Error::InvalidCertificate(c.clone()));
            assert!(
                text.starts_with(want) || text.contains(want),
                "{c:?}: {text}"
            );
            for leak in ["(UNIX)", "Other(", "OtherError", "CaUsedAsEndEntity"] {
                assert!(!text.contains(leak), "{c:?}: {text}");
            }
        }
    }

    #[test]
    fn parse_errors_are_not_debug_dumps() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        // A SEQUENCE holding an INTEGER where the TBSCertificate SEQUENCE belongs.
        let e = X509Certificate::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
        let text = parse_error(&e);
        assert!(!text.contains("UnexpectedTag"), "{text}");
        assert!(!text.contains("Der("), "{text}");
        assert!(text.contains("structure of an X.509 certificate"), "{text}");
        let truncated = X509Certificate::from_der(&[0x30, 0x82, 0x01]).unwrap_err();
        let text = parse_error(&truncated);
        assert!(text.contains("truncated"), "{text}");
        assert!(!text.contains("Incomplete"), "{text}");
    }
}
