//! DANGER: a server-certificate verifier that lets the handshake finish when the chain does
//! NOT verify. It exists only so `probe` can see what an endpoint serves (an expired, exposed
//! or wrongly-named certificate is exactly what we look for). It must never be used for a
//! connection that carries data: the peer is not authenticated.
//!
//! What it still does: runs the real WebPKI verifier (roots, name, `--now`) and records the
//! verdict; and it really checks the handshake signatures with the provider's algorithms, so
//! the server proved it holds the private key of the certificate it served.

use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, SignatureScheme};

use crate::cert::{DigestMap, Sha256};

/// What the verifier saw in one handshake.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    /// The served chain, leaf first, exactly as sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// `None`: the chain verifies for the name; else why not.
    pub verify_error: Option<String>,
    /// The stapled OCSP response, when the server sent one.
    pub ocsp: Vec<u8>,
}

/// The WebPKI verdicts reached so far in this run, by (chain, name, stapled OCSP): a fleet
/// of endpoints serving one certificate has its chain verified once. The verification time
/// is `--now`, fixed for the run, so a verdict never goes stale. (Each handshake's own
/// signature is still checked every time: that is what proves the server holds the key.)
#[derive(Debug)]
pub struct Verdicts {
    /// The real verifier; `Err` says why there is none (no trusted roots at all).
    inner: Result<Arc<WebPkiServerVerifier>, String>,
    /// The verification time: `--now`, never the clock (the verifier's `now` is ignored).
    now: UnixTime,
    seen: Mutex<DigestMap<Option<String>>>,
}

impl Verdicts {
    pub fn new(inner: Result<Arc<WebPkiServerVerifier>, String>, now: UnixTime) -> Self {
        Verdicts {
            inner,
            now,
            seen: Mutex::default(),
        }
    }

    /// `None` when the chain verifies for the name, else why not.
    pub(crate) fn verdict(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
    ) -> Option<String> {
        let inner = match &self.inner {
            Ok(inner) => inner,
            Err(why) => return Some(why.clone()),
        };
        let key = verdict_key(end_entity, intermediates, server_name, ocsp_response);
        if let Some(v) = self.lock().get(&key) {
            return v.clone();
        }
        let v = inner
            .verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                self.now,
            )
            .err()
            .map(|e| describe(&e));
        self.lock().insert(key, v.clone());
        v
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DigestMap<Option<String>>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One digest over every input of a verdict, each part length-prefixed so that no two
/// different inputs run together into the same bytes.
fn verdict_key(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp_response: &[u8],
) -> Sha256 {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let name = server_name.to_str();
    let parts = std::iter::once(name.as_bytes())
        .chain(std::iter::once(ocsp_response))
        .chain(std::iter::once(end_entity.as_ref()))
        .chain(intermediates.iter().map(|c| c.as_ref()));
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Sha256(out)
}

/// Records the chain and the WebPKI verdict, then accepts. Serves one connection at a time:
/// `take` empties it for the next.
#[derive(Debug)]
pub struct CapturingVerifier {
    verdicts: Arc<Verdicts>,
    algorithms: WebPkiSupportedAlgorithms,
    captured: Mutex<Option<Captured>>,
}

impl CapturingVerifier {
    pub fn new(verdicts: Arc<Verdicts>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        CapturingVerifier {
            verdicts,
            algorithms,
            captured: Mutex::new(None),
        }
    }

    /// The chain and verdict, once the server's Certificate message was processed.
    pub fn take(&self) -> Option<Captured> {
        self.captured
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verify_error =
            self.verdicts
                .verdict(end_entity, intermediates, server_name, ocsp_response);
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        *self
            .captured
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Captured {
            chain,
            verify_error,
            ocsp: ocsp_response.to_vec(),
        });
        // The point of this module: go on so we learn what the server serves.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Why a chain does not verify, in words an admin acts on (one mapping for every command).
fn describe(e: &Error) -> String {
    crate::cert::explain::tls_error(e)
}

/// Sends no client certificate, but remembers that the server asked for one.
#[derive(Debug, Default)]
pub struct NoClientCert {
    asked: Mutex<bool>,
}

impl NoClientCert {
    /// Whether the server asked since the last call (serves one connection at a time).
    pub fn take_asked(&self) -> bool {
        std::mem::take(&mut *self.asked.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        *self.asked.lock().unwrap_or_else(|p| p.into_inner()) = true;
        None
    }

    fn has_certs(&self) -> bool {
        // Only makes rustls keep the transcript for a client signature; `resolve` never
        // returns a key, so nothing is ever signed.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn a_verdict_is_reused_only_for_the_same_chain_name_and_ocsp() {
        let (a, b) = (
            CertificateDer::from(vec![1, 2]),
            CertificateDer::from(vec![3]),
        );
        let (just_a, just_b) = (std::slice::from_ref(&a), std::slice::from_ref(&b));
        let name = dns("a.example");
        let key = |ee: &CertificateDer<'_>, ims: &[CertificateDer<'_>], n: &str, ocsp: &[u8]| {
            verdict_key(ee, ims, &dns(n), ocsp)
        };
        let base = verdict_key(&a, just_b, &name, b"");
        assert_eq!(base, key(&a, just_b, "a.example", b""));
        assert_ne!(base, key(&a, just_b, "b.example", b""));
        assert_ne!(base, key(&a, &[], "a.example", b""));
        assert_ne!(base, key(&b, just_a, "a.example", b""));
        assert_ne!(base, key(&a, just_b, "a.example", b"x"));
        // Lengths are part of the key: moving a byte between parts changes it.
        let joined = CertificateDer::from(vec![1, 2, 3]);
        assert_ne!(base, key(&joined, &[], "a.example", b""));
        let split = CertificateDer::from(vec![1]);
        assert_ne!(
            base,
            key(
                &split,
                &[CertificateDer::from(vec![2, 3])],
                "a.example",
                b""
            )
        );
    }
}
