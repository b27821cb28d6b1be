//! Loopback servers for `benches/probe.sh`: `tls` serves the demo `shop` chain (ECDSA P-256,
//! TLS 1.2/1.3) from a fixed pool of threads; `silent` accepts and never answers.
//! Prints the port, then serves until killed.
//!
//! Usage: probe-server tls|silent  (run from the crate root: reads fixtures/)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// Serving threads: more than the benchmark's 64 concurrent clients, so none waits for a
/// thread.
const POOL: usize = 96;

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("bound address").port();
    println!("{port}");
    std::io::stdout().flush().expect("stdout");
    match mode.as_str() {
        "silent" => {
            let mut held = Vec::new();
            for sock in listener.incoming().flatten() {
                held.push(sock); // never read, never answer, never close
            }
        }
        "tls" => {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let pem = std::fs::read("fixtures/demo/uploads/shop.pem").expect("fixture");
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<_, _>>()
                .expect("certificates");
            let key = PrivateKeyDer::from_pem_slice(&pem).expect("key");
            let config = Arc::new(
                ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("versions")
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .expect("certificate and key match"),
            );
            // A fixed pool of threads that each accept and serve one connection at a time
            // (the classic pre-forked design): no thread is created per connection.
            let listener = Arc::new(listener);
            let pool: Vec<_> = (0..POOL)
                .map(|_| {
                    let (listener, config) = (listener.clone(), config.clone());
                    thread::spawn(move || loop {
                        if let Ok((sock, _)) = listener.accept() {
                            serve(sock, config.clone());
                        }
                    })
                })
                .collect();
            for t in pool {
                let _ = t.join();
            }
        }
        _ => {
            eprintln!("usage: probe-server tls|silent");
            std::process::exit(2);
        }
    }
}

/// One TLS connection: handshake, then read until the client closes.
fn serve(sock: TcpStream, config: Arc<ServerConfig>) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut buf = [0u8; 256];
    while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
}
