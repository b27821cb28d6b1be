//! TLS servers for tests, on 127.0.0.1 port 0 (nothing leaves loopback).

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, ServerConnection};

use crate::harness::fixture;

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

pub fn pem_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The certificate(s) in `cert_pem` plus the fixture Issuing CA, with the key in `key_pem`.
pub fn certified_pem(cert_pem: &[u8], key_pem: &[u8]) -> Arc<CertifiedKey> {
    let mut chain = pem_certs(cert_pem);
    let ca = pem_certs(&fixture("ca/intermediate-ca.pem"));
    if !chain.contains(&ca[0]) {
        chain.extend(ca);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
    Arc::new(CertifiedKey::from_der(chain, key, &provider()).unwrap())
}

/// Accepts connections on `listener` for the life of the test process: handshake, then wait
/// for the client to go.
pub fn serve(listener: TcpListener, config: Arc<ServerConfig>) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                let conn = ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 64];
                let _ = tls.read(&mut buf);
            });
        }
    });
    addr
}
