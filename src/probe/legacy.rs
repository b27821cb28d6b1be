//! Legacy TLS capture: for a server rustls cannot talk to (TLS 1.0/1.1 only, or only cipher
//! suites rustls does not implement), one hand-built ClientHello offering the old versions
//! and suites, then the ServerHello and the Certificate message are read — before TLS 1.3
//! they travel in clear — and the connection is closed. No key exchange is done and no data
//! is protected with legacy crypto: the capture stops after the certificates.

use std::io;
use std::time::{Duration, Instant};

use super::wire::{Replay, Wire};

/// What the server answered.
#[derive(Debug)]
pub struct Captured {
    /// `TLSv1.0`, `TLSv1.1`, `TLSv1.2`, `SSLv3`.
    pub version: &'static str,
    /// The suite the server chose: its IANA name when it is one we offered.
    pub cipher_suite: String,
    /// The chain as sent, leaf first.
    pub chain: Vec<Vec<u8>>,
}

/// The most handshake bytes read before the Certificate message is complete.
const MAX_HANDSHAKE: usize = 256 * 1024;

/// The suites offered, newest first: what old servers commonly have (RFC 5246, 4492, 5289).
const SUITES: [(u16, &str); 22] = [
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
];

/// Sends the legacy ClientHello on `sock` and reads up to the server's Certificate.
pub(crate) fn capture(
    sock: &mut dyn Wire,
    sni: Option<&str>,
    deadline: Instant,
    total: Duration,
) -> Result<Captured, String> {
    let hello = client_hello(sni);
    let wait = left(deadline, total)?;
    sock.write_wait(wait);
    sock.write_all(&hello)
        .map_err(|e| format!("legacy TLS: sending the ClientHello failed: {e}"))?;

    let mut handshake = Vec::new();
    let mut hello_seen: Option<(&'static str, String)> = None;
    loop {
        let (kind, body) = record(sock, deadline, total)?;
        match kind {
            0x15 => {
                let what = body.get(1).map_or("?".to_owned(), |d| alert_name(*d));
                return Err(format!(
                    "the server refused the legacy TLS handshake too (alert {what}): it offers none of TLS 1.0 to 1.2 with the usual suites"
                ));
            }
            0x16 => handshake.extend_from_slice(&body),
            _ => return Err("legacy TLS: the server sent something other than a handshake".into()),
        }
        if handshake.len() > MAX_HANDSHAKE {
            return Err(format!(
                "legacy TLS: no certificate within {MAX_HANDSHAKE} bytes of handshake"
            ));
        }
        // Every complete message so far.
        let mut at = 0;
        while let Some(header) = handshake.get(at..at + 4) {
            let len =
                usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
            let Some(msg) = handshake.get(at + 4..at + 4 + len) else {
                break;
            };
            match header[0] {
                2 => hello_seen = Some(server_hello(msg)?),
                11 => {
                    let (version, cipher_suite) = hello_seen.ok_or(
                        "legacy TLS: the server sent its certificate before its ServerHello",
                    )?;
                    let chain = certificates(msg)?;
                    sock.write_wait(Duration::from_millis(100));
                    // A fatal user_canceled alert: we go now (the version of the hello).
                    let _ = sock.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x5a]);
                    return Ok(Captured {
                        version,
                        cipher_suite,
                        chain,
                    });
                }
                14 => {
                    return Err(
                        "legacy TLS: the server sent no certificate (an anonymous suite)".into(),
                    )
                }
                _ => {}
            }
            at += 4 + len;
        }
    }
}

/// The capture of a server that answers `server` (in reads of at most `chunk` bytes) and
/// closes: for the fuzz targets.
#[doc(hidden)]
pub fn fuzz_capture(server: &[u8], chunk: usize) -> Result<Captured, String> {
    let mut wire = Replay {
        input: server,
        chunk,
    };
    let total = Duration::from_secs(3600);
    capture(
        &mut wire,
        Some("fuzz.example"),
        Instant::now() + total,
        total,
    )
}

fn left(deadline: Instant, total: Duration) -> Result<Duration, String> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(format!(
            "timed out after {}s during the legacy TLS handshake",
            total.as_secs_f64()
        ))
    } else {
        Ok(d)
    }
}

/// One TLS record: its content type and body.
fn record(
    sock: &mut dyn Wire,
    deadline: Instant,
    total: Duration,
) -> Result<(u8, Vec<u8>), String> {
    let mut header = [0u8; 5];
    read_exact(sock, &mut header, deadline, total)?;
    if header[1] != 3 {
        return Err("legacy TLS: the server's answer is not TLS (is this a TLS port?)".into());
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > 16384 + 2048 {
        return Err("legacy TLS: the server sent an oversized record".into());
    }
    let mut body = vec![0u8; len];
    read_exact(sock, &mut body, deadline, total)?;
    Ok((header[0], body))
}

fn read_exact(
    sock: &mut dyn Wire,
    mut buf: &mut [u8],
    deadline: Instant,
    total: Duration,
) -> Result<(), String> {
    while !buf.is_empty() {
        let wait = left(deadline, total)?;
        sock.read_wait(wait);
        match sock.read(buf) {
            Ok(0) => {
                return Err(
                    "the server closed the connection during the legacy TLS handshake too".into(),
                )
            }
            Ok(n) => buf = &mut buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "timed out after {}s during the legacy TLS handshake",
                    total.as_secs_f64()
                ))
            }
            Err(e) => return Err(format!("legacy TLS: reading failed: {e}")),
        }
    }
    Ok(())
}

fn version_name(v: [u8; 2]) -> Option<&'static str> {
    Some(match v {
        [3, 0] => "SSLv3",
        [3, 1] => "TLSv1.0",
        [3, 2] => "TLSv1.1",
        [3, 3] => "TLSv1.2",
        _ => return None,
    })
}

/// The version and suite in a ServerHello body.
fn server_hello(msg: &[u8]) -> Result<(&'static str, String), String> {
    let bad = || "legacy TLS: the server's ServerHello cannot be read".to_owned();
    let version = msg.get(..2).ok_or_else(bad)?;
    let version = version_name([version[0], version[1]]).ok_or_else(bad)?;
    let sid_len = usize::from(*msg.get(34).ok_or_else(bad)?);
    let suite = msg.get(35 + sid_len..37 + sid_len).ok_or_else(bad)?;
    let suite = u16::from_be_bytes([suite[0], suite[1]]);
    let name = SUITES
        .iter()
        .find(|(id, _)| *id == suite)
        .map_or_else(|| format!("0x{suite:04x}"), |(_, n)| (*n).to_owned());
    Ok((version, name))
}

/// The DER certificates in a Certificate message body (TLS 1.0-1.2 layout).
fn certificates(msg: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let bad = || "legacy TLS: the server's Certificate message cannot be read".to_owned();
    let u24 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
    let total = u24(msg.get(..3).ok_or_else(bad)?);
    let mut rest = msg.get(3..3 + total).ok_or_else(bad)?;
    let mut chain = Vec::new();
    while !rest.is_empty() {
        let len = u24(rest.get(..3).ok_or_else(bad)?);
        chain.push(rest.get(3..3 + len).ok_or_else(bad)?.to_vec());
        rest = &rest[3 + len..];
    }
    if chain.is_empty() {
        return Err("legacy TLS: the server sent an empty certificate list".into());
    }
    Ok(chain)
}

fn alert_name(code: u8) -> String {
    match code {
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        112 => "unrecognized_name".into(),
        c => format!("{c}"),
    }
}

/// A TLS 1.2 ClientHello (record version 1.0, as old servers expect) offering TLS 1.0 to 1.2
/// and the `SUITES`, with SNI, the usual curves and signature algorithms.
fn client_hello(sni: Option<&str>) -> Vec<u8> {
    let mut random = [0u8; 32];
    // Randomness is not needed for security here (no key exchange is completed), but a
    // fixed value would look like a replay to a careful server.
    let _ = aws_lc_rs::rand::fill(&mut random);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(0); // no session id
    body.extend_from_slice(&((SUITES.len() * 2) as u16).to_be_bytes());
    for (id, _) in SUITES {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let n = name.as_bytes();
        let mut list = vec![0u8]; // host_name
        list.extend_from_slice(&(n.len() as u16).to_be_bytes());
        list.extend_from_slice(n);
        push_ext(
            &mut ext,
            0x0000,
            &[&(list.len() as u16).to_be_bytes()[..], &list].concat(),
        );
    }
    // supported_groups: x25519, P-256, P-384, P-521.
    push_ext(
        &mut ext,
        0x000a,
        &[0, 8, 0, 0x1d, 0, 0x17, 0, 0x18, 0, 0x19],
    );
    push_ext(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
                                         // signature_algorithms: RSA PKCS#1 and ECDSA with SHA-256/384/512 and SHA-1, RSA-PSS.
    let algs: [u16; 11] = [
        0x0401, 0x0501, 0x0601, 0x0201, 0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806,
    ];
    let mut sig = ((algs.len() * 2) as u16).to_be_bytes().to_vec();
    for a in algs {
        sig.extend_from_slice(&a.to_be_bytes());
    }
    push_ext(&mut ext, 0x000d, &sig);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);

    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

fn push_ext(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hello_and_certificate_are_read() {
        let mut hello = vec![3, 1];
        hello.extend_from_slice(&[0; 32]);
        hello.extend_from_slice(&[2, 9, 9, 0xc0, 0x14, 0]);
        assert_eq!(
            server_hello(&hello).unwrap(),
            ("TLSv1.0", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA".into())
        );
        let msg = [0, 0, 8, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0];
        assert_eq!(certificates(&msg).unwrap(), vec![vec![0xaa, 0xbb], vec![]]);
        assert!(certificates(&[0, 0, 9, 0, 0, 2]).is_err());
    }

    #[test]
    fn client_hello_lengths_add_up() {
        let h = client_hello(Some("legacy.example.com"));
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        assert_eq!(h[5], 1);
        let hs_len = usize::from(h[7]) << 8 | usize::from(h[8]);
        assert_eq!(hs_len, h.len() - 9);
        assert!(h.windows(18).any(|w| w == b"legacy.example.com"));
    }
}
