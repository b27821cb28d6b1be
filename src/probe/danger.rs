//! DANGER: a server-certificate verifier that lets the handshake finish when the chain does
//! NOT verify. It exists only so `probe` can see what an endpoint serves (an expired, exposed
//! or wrongly-named certificate is exactly what we look for). It must never be used for a
//! connection that carries data: the peer is not authenticated.
//!
//! What it still does: runs the real WebPKI verifier (roots, name, `--now`) and records the
//! verdict; and it really checks the handshake signatures with the provider's algorithms, so
//! the server proved it holds the private key of the certificate it served.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// What the verifier saw in one handshake.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    /// The served chain, leaf first, exactly as sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// `None`: the chain verifies for the name; else why not.
    pub verify_error: Option<String>,
}

/// Records the chain and the WebPKI verdict, then accepts. One per connection.
#[derive(Debug)]
pub struct CapturingVerifier {
    /// The real verifier; `Err` says why there is none (no trusted roots at all).
    inner: Result<Arc<WebPkiServerVerifier>, String>,
    algorithms: WebPkiSupportedAlgorithms,
    /// The verification time: `--now`, never the clock (the verifier's `now` is ignored).
    now: UnixTime,
    captured: Mutex<Option<Captured>>,
}

impl CapturingVerifier {
    pub fn new(
        inner: Result<Arc<WebPkiServerVerifier>, String>,
        algorithms: WebPkiSupportedAlgorithms,
        now: UnixTime,
    ) -> Self {
        CapturingVerifier {
            inner,
            algorithms,
            now,
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
        let verify_error = match &self.inner {
            Ok(inner) => inner
                .verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    self.now,
                )
                .err()
                .map(|e| describe(&e)),
            Err(why) => Some(why.clone()),
        };
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

/// Why a chain does not verify, in words an admin acts on.
fn describe(e: &Error) -> String {
    let Error::InvalidCertificate(c) = e else {
        return e.to_string();
    };
    match c {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("expired: {c}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("not yet valid: {c}")
        }
        CertificateError::UnknownIssuer => {
            "unknown issuer: the chain does not lead to a trusted root".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("name mismatch: {c}")
        }
        other => other.to_string(),
    }
}

/// Sends no client certificate, but remembers that the server asked for one.
#[derive(Debug, Default)]
pub struct NoClientCert {
    asked: Mutex<bool>,
}

impl NoClientCert {
    pub fn asked(&self) -> bool {
        *self.asked.lock().unwrap_or_else(|p| p.into_inner())
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
