//! STARTTLS: the plaintext prelude each protocol speaks before its TLS handshake (mail,
//! directory, database and chat servers), so `probe` sees the certificate they serve.
//!
//! Each prelude is a few lines (or one small binary packet) each way; every read and write
//! waits at most until the target's deadline, and a reply is read up to `MAX_REPLY` bytes.
//! A server that does not offer or refuses STARTTLS is a per-target error saying so.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use super::wire::{Replay, Wire};

/// The longest plaintext reply read from a server (an EHLO list, XMPP stream features).
const MAX_REPLY: usize = 64 * 1024;

/// The protocols whose STARTTLS prelude `probe` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Starttls {
    Smtp,
    Imap,
    Pop3,
    Ftp,
    Ldap,
    Postgres,
    Mysql,
    Xmpp,
}

impl Starttls {
    pub const ALL: [Starttls; 8] = [
        Starttls::Smtp,
        Starttls::Imap,
        Starttls::Pop3,
        Starttls::Ftp,
        Starttls::Ldap,
        Starttls::Postgres,
        Starttls::Mysql,
        Starttls::Xmpp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Starttls::Smtp => "smtp",
            Starttls::Imap => "imap",
            Starttls::Pop3 => "pop3",
            Starttls::Ftp => "ftp",
            Starttls::Ldap => "ldap",
            Starttls::Postgres => "postgres",
            Starttls::Mysql => "mysql",
            Starttls::Xmpp => "xmpp",
        }
    }

    /// The protocol usually spoken in plaintext first on `port`. Ports with implicit TLS
    /// (465 smtps, 993 imaps, 995 pop3s, 636 ldaps, 443) have none.
    pub fn by_port(port: u16) -> Option<Starttls> {
        Some(match port {
            25 | 587 => Starttls::Smtp,
            143 => Starttls::Imap,
            110 => Starttls::Pop3,
            21 => Starttls::Ftp,
            389 => Starttls::Ldap,
            5432 => Starttls::Postgres,
            3306 => Starttls::Mysql,
            5222 => Starttls::Xmpp,
            _ => return None,
        })
    }

    /// `smtp`, `imap`, …; `none` (or `tls`) means the handshake starts at once.
    pub fn parse(text: &str) -> Result<Option<Starttls>, String> {
        let t = text.trim().to_ascii_lowercase();
        if t == "none" || t == "tls" {
            return Ok(None);
        }
        Starttls::ALL
            .into_iter()
            .find(|p| p.as_str() == t)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "unknown STARTTLS protocol '{text}' (one of smtp, imap, pop3, ftp, ldap, postgres, mysql, xmpp, or none)"
                )
            })
    }
}

impl fmt::Display for Starttls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One connection's plaintext conversation, bounded by the target's deadline.
struct Talk<'a> {
    sock: &'a mut dyn Wire,
    proto: Starttls,
    deadline: Instant,
    total: Duration,
    buf: Vec<u8>,
}

/// Speaks `proto`'s prelude on `sock` until the server is ready for the TLS handshake.
/// `host` is the name the server is addressed by (XMPP's stream `to`).
pub(crate) fn prelude(
    proto: Starttls,
    sock: &mut dyn Wire,
    host: &str,
    deadline: Instant,
    total: Duration,
) -> Result<(), String> {
    let mut t = Talk {
        sock,
        proto,
        deadline,
        total,
        buf: Vec::with_capacity(512),
    };
    match proto {
        Starttls::Smtp => smtp(&mut t),
        Starttls::Imap => imap(&mut t),
        Starttls::Pop3 => pop3(&mut t),
        Starttls::Ftp => ftp(&mut t),
        Starttls::Ldap => ldap(&mut t),
        Starttls::Postgres => postgres(&mut t),
        Starttls::Mysql => mysql(&mut t),
        Starttls::Xmpp => xmpp(&mut t, host),
    }
}

/// `proto`'s prelude against a server that answers `server` (in reads of at most `chunk`
/// bytes) and closes: for the fuzz targets.
#[doc(hidden)]
pub fn fuzz_prelude(proto: Starttls, server: &[u8], chunk: usize) -> Result<(), String> {
    let mut wire = Replay {
        input: server,
        chunk,
    };
    let total = Duration::from_secs(3600);
    prelude(
        proto,
        &mut wire,
        "fuzz.example",
        Instant::now() + total,
        total,
    )
}

impl Talk<'_> {
    fn wait(&self, step: &str) -> Result<Duration, String> {
        let d = self.deadline.saturating_duration_since(Instant::now());
        if d.is_zero() {
            Err(self.timed_out(step))
        } else {
            Ok(d)
        }
    }

    fn timed_out(&self, step: &str) -> String {
        format!(
            "timed out after {}s in the {} STARTTLS prelude ({step})",
            self.total.as_secs_f64(),
            self.proto
        )
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let wait = self.wait("sending")?;
        self.sock.write_wait(wait);
        self.sock.write_all(bytes).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timed_out("sending"),
            _ => format!("{} STARTTLS: sending failed: {e}", self.proto),
        })
    }

    /// Reads more bytes into `buf`; an error when the server closes or the reply grows
    /// beyond `MAX_REPLY`.
    fn more(&mut self, step: &str) -> Result<(), String> {
        if self.buf.len() >= MAX_REPLY {
            return Err(format!(
                "{} STARTTLS: the server's reply is longer than {MAX_REPLY} bytes ({step})",
                self.proto
            ));
        }
        let wait = self.wait(step)?;
        self.sock.read_wait(wait);
        let mut chunk = [0u8; 2048];
        let room = chunk.len().min(MAX_REPLY - self.buf.len());
        match self.sock.read(&mut chunk[..room]) {
            Ok(0) => Err(format!(
                "the server closed the connection during the {} STARTTLS prelude ({step})",
                self.proto
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(self.timed_out(step))
            }
            Err(e) => Err(format!(
                "{} STARTTLS: reading failed ({step}): {e}",
                self.proto
            )),
        }
    }

    /// The next CRLF- (or LF-) terminated line, without the terminator.
    fn line(&mut self, step: &str) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            self.more(step)?;
        }
    }

    /// An SMTP/FTP reply: lines `CODE-text` until `CODE text`. Returns the code and the
    /// lines' texts.
    fn numbered_reply(&mut self, step: &str) -> Result<(u16, Vec<String>), String> {
        let mut lines = Vec::new();
        let mut size = 0;
        loop {
            let line = self.line(step)?;
            // Each line is drained from `buf`: the reply as a whole is bounded here.
            size += line.len() + 2;
            if size > MAX_REPLY {
                return Err(format!(
                    "{} STARTTLS: the server's reply is longer than {MAX_REPLY} bytes ({step})",
                    self.proto
                ));
            }
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| self.not_speaking(&line))?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if last {
                return Ok((code, lines));
            }
        }
    }

    fn not_speaking(&self, got: &str) -> String {
        format!(
            "the server does not speak {} (it sent '{}')",
            self.proto,
            shorten(got)
        )
    }

    fn refused(&self, got: &str) -> String {
        format!(
            "the server refused STARTTLS ({} answered '{}')",
            self.proto,
            shorten(got)
        )
    }
}

/// At most 120 characters of what a server said, for an error message (escaped later).
fn shorten(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// RFC 3207: greeting, EHLO, STARTTLS.
fn smtp(t: &mut Talk<'_>) -> Result<(), String> {
    let (code, lines) = t.numbered_reply("waiting for the greeting")?;
    if code != 220 {
        return Err(t.refused(&format!("{code} {}", lines.join(" "))));
    }
    t.send(b"EHLO certsweep.invalid\r\n")?;
    let (code, lines) = t.numbered_reply("waiting for the EHLO reply")?;
    if code != 250 {
        return Err(t.refused(&format!("{code} {}", lines.join(" "))));
    }
    if !lines.iter().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("STARTTLS"))
    }) {
        return Err("the server does not offer STARTTLS (its EHLO reply does not list it)".into());
    }
    t.send(b"STARTTLS\r\n")?;
    let (code, lines) = t.numbered_reply("waiting for the STARTTLS reply")?;
    if code != 220 {
        return Err(t.refused(&format!("{code} {}", lines.join(" "))));
    }
    Ok(())
}

/// RFC 3501 §6.2.1: greeting, `STARTTLS`, tagged OK.
fn imap(t: &mut Talk<'_>) -> Result<(), String> {
    let greeting = t.line("waiting for the greeting")?;
    if !greeting.starts_with("* OK") {
        return Err(if greeting.starts_with("* ") {
            t.refused(&greeting)
        } else {
            t.not_speaking(&greeting)
        });
    }
    t.send(b"cs1 STARTTLS\r\n")?;
    loop {
        let line = t.line("waiting for the STARTTLS reply")?;
        if let Some(rest) = line.strip_prefix("cs1 ") {
            return if rest.starts_with("OK") {
                Ok(())
            } else {
                Err(t.refused(&line))
            };
        }
    }
}

/// RFC 2595 §4: greeting, `STLS`.
fn pop3(t: &mut Talk<'_>) -> Result<(), String> {
    let greeting = t.line("waiting for the greeting")?;
    if !greeting.starts_with("+OK") {
        return Err(if greeting.starts_with("-ERR") {
            t.refused(&greeting)
        } else {
            t.not_speaking(&greeting)
        });
    }
    t.send(b"STLS\r\n")?;
    let line = t.line("waiting for the STLS reply")?;
    if line.starts_with("+OK") {
        Ok(())
    } else {
        Err(t.refused(&line))
    }
}

/// RFC 4217: greeting, `AUTH TLS`, 234.
fn ftp(t: &mut Talk<'_>) -> Result<(), String> {
    let (code, lines) = t.numbered_reply("waiting for the greeting")?;
    if code != 220 {
        return Err(t.refused(&format!("{code} {}", lines.join(" "))));
    }
    t.send(b"AUTH TLS\r\n")?;
    let (code, lines) = t.numbered_reply("waiting for the AUTH TLS reply")?;
    if code != 234 {
        return Err(t.refused(&format!("{code} {}", lines.join(" "))));
    }
    Ok(())
}

/// RFC 4511 §4.14: an ExtendedRequest for StartTLS (1.3.6.1.4.1.1466.20037), message 1.
const LDAP_STARTTLS: &[u8] = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x161.3.6.1.4.1.1466.20037";

/// Sends the StartTLS extended request and reads the ExtendedResponse's resultCode.
fn ldap(t: &mut Talk<'_>) -> Result<(), String> {
    t.send(LDAP_STARTTLS)?;
    let step = "waiting for the StartTLS response";
    // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp [APPLICATION 24] ... }
    let message = loop {
        match ber_tlv(&t.buf) {
            Some(Ok((0x30, body, _))) => break body.to_vec(),
            Some(Ok(_)) | Some(Err(())) => {
                return Err(
                    "the server does not speak LDAP (its answer is not an LDAP message)".into(),
                )
            }
            None => t.more(step)?,
        }
    };
    let bad = || "the server does not speak LDAP (its StartTLS answer cannot be read)".to_owned();
    let (_, _, rest) = ber_tlv(&message).and_then(Result::ok).ok_or_else(bad)?; // messageID
    let (tag, op, _) = ber_tlv(rest).and_then(Result::ok).ok_or_else(bad)?;
    if tag != 0x78 {
        return Err(format!(
            "the server refused STARTTLS (ldap answered with protocol operation {tag:#04x}, not an extended response)"
        ));
    }
    let (tag, code, rest) = ber_tlv(op).and_then(Result::ok).ok_or_else(bad)?;
    if tag != 0x0a || code.len() != 1 {
        return Err(bad());
    }
    if code[0] == 0 {
        return Ok(());
    }
    // matchedDN, then diagnosticMessage.
    let message = ber_tlv(rest)
        .and_then(Result::ok)
        .and_then(|(_, _, r)| ber_tlv(r).and_then(Result::ok))
        .map(|(_, m, _)| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_default();
    Err(t.refused(&format!("resultCode {} {message}", code[0])))
}

/// One BER TLV at the start of `b`: `(tag, value, rest)`; `None` when more bytes are needed,
/// `Err` when it cannot be BER (indefinite or oversized lengths).
#[allow(clippy::type_complexity)]
fn ber_tlv(b: &[u8]) -> Option<Result<(u8, &[u8], &[u8]), ()>> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, head) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return Some(Err(()));
        }
        let bytes = b.get(2..2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
            2 + n,
        )
    };
    if len > MAX_REPLY {
        return Some(Err(()));
    }
    let value = b.get(head..head + len)?;
    Some(Ok((tag, value, &b[head + len..])))
}

/// The PostgreSQL SSLRequest: length 8, code 80877103.
const PG_SSLREQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn postgres(t: &mut Talk<'_>) -> Result<(), String> {
    t.send(&PG_SSLREQUEST)?;
    t.more("waiting for the SSLRequest answer")?;
    match t.buf.first() {
        Some(b'S') if t.buf.len() == 1 => Ok(()),
        Some(b'N') => Err(
            "the server refused STARTTLS (postgres answered N: SSL is off on this server)".into(),
        ),
        Some(b'E') => Err(
            "the server refused STARTTLS (postgres answered with an error: a server before 7.2, or not PostgreSQL)"
                .into(),
        ),
        _ => Err("the server does not speak postgres (its SSLRequest answer is not S or N)".into()),
    }
}

/// MySQL client capability flags.
const CLIENT_PROTOCOL_41: u32 = 0x0200;
const CLIENT_SSL: u32 = 0x0800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;

/// Reads the server's Handshake packet and answers with an SSLRequest packet.
fn mysql(t: &mut Talk<'_>) -> Result<(), String> {
    let step = "waiting for the server's handshake packet";
    while t.buf.len() < 4 {
        t.more(step)?;
    }
    let len = usize::from(t.buf[0]) | usize::from(t.buf[1]) << 8 | usize::from(t.buf[2]) << 16;
    if len > MAX_REPLY {
        return Err("the server does not speak mysql (its first packet is too long)".into());
    }
    while t.buf.len() < 4 + len {
        t.more(step)?;
    }
    let p = &t.buf[4..4 + len];
    match p.first() {
        Some(10) => {}
        Some(0xff) => {
            let msg = String::from_utf8_lossy(p.get(3..).unwrap_or_default()).into_owned();
            return Err(t.refused(&msg));
        }
        _ => {
            return Err(
                "the server does not speak mysql (its first packet is not a protocol 10 handshake)"
                    .into(),
            )
        }
    }
    // protocol, server version (NUL-terminated), connection id (4), auth data (8), filler
    // (1), capability flags (lower 2 bytes), charset (1).
    let nul = p[1..].iter().position(|&b| b == 0).ok_or_else(|| {
        "the server does not speak mysql (its handshake packet is cut short)".to_owned()
    })?;
    let at = 1 + nul + 1 + 4 + 8 + 1;
    let caps = p
        .get(at..at + 2)
        .map(|c| u32::from(c[0]) | u32::from(c[1]) << 8)
        .ok_or("the server does not speak mysql (its handshake packet is cut short)")?;
    let charset = p.get(at + 2).copied().unwrap_or(33);
    if caps & CLIENT_SSL == 0 {
        return Err(
            "the server does not offer STARTTLS (mysql: its handshake lacks the SSL capability; TLS is not configured)"
                .into(),
        );
    }
    let flags = CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION;
    let mut packet = [0u8; 4 + 32];
    packet[0] = 32;
    packet[3] = 1; // sequence id
    packet[4..8].copy_from_slice(&flags.to_le_bytes());
    packet[8..12].copy_from_slice(&(16u32 << 20).to_le_bytes()); // max packet size
    packet[12] = charset;
    t.send(&packet)
}

/// RFC 6120 §5: open a stream, read its features, ask for STARTTLS, wait for `<proceed/>`.
fn xmpp(t: &mut Talk<'_>, host: &str) -> Result<(), String> {
    let open = format!(
        "<?xml version='1.0'?><stream:stream to='{host}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    );
    t.send(open.as_bytes())?;
    let step = "waiting for the stream features";
    loop {
        let text = String::from_utf8_lossy(&t.buf);
        if text.contains("</stream:features>") || text.contains("<stream:features/>") {
            if !text.contains("urn:ietf:params:xml:ns:xmpp-tls") {
                return Err(
                    "the server does not offer STARTTLS (its XMPP stream features do not list it)"
                        .into(),
                );
            }
            break;
        }
        if text.contains("</stream:stream>") || text.contains("<stream:error") {
            return Err(t.refused(&text));
        }
        t.more(step)?;
    }
    t.buf.clear();
    t.send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
    loop {
        let text = String::from_utf8_lossy(&t.buf);
        if text.contains("<proceed") {
            return Ok(());
        }
        if text.contains("<failure") || text.contains("</stream:stream>") {
            return Err(t.refused(&text));
        }
        t.more("waiting for <proceed/>")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports() {
        for p in Starttls::ALL {
            assert_eq!(Starttls::parse(p.as_str()), Ok(Some(p)));
        }
        assert_eq!(Starttls::parse("NONE"), Ok(None));
        assert!(Starttls::parse("gopher").unwrap_err().contains("gopher"));
        assert_eq!(Starttls::by_port(587), Some(Starttls::Smtp));
        assert_eq!(Starttls::by_port(5432), Some(Starttls::Postgres));
        for implicit in [465, 993, 995, 636, 443] {
            assert_eq!(Starttls::by_port(implicit), None);
        }
    }

    #[test]
    fn a_multi_line_reply_is_bounded_as_a_whole() {
        // An SMTP greeting of 100,000 continuation lines (each drained from the buffer on
        // its own) is refused at MAX_REPLY bytes instead of being kept whole.
        let mut server = "220-spam\r\n".repeat(100_000).into_bytes();
        server.extend_from_slice(b"220 ready\r\n250 STARTTLS\r\n220 go\r\n");
        let e = fuzz_prelude(Starttls::Smtp, &server, 2048).unwrap_err();
        assert!(e.contains("longer than 65536 bytes"), "{e}");
        // A short one still works.
        let ok = b"220-hello\r\n220 ready\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n";
        assert_eq!(fuzz_prelude(Starttls::Smtp, ok, 7), Ok(()));
    }

    #[test]
    fn ldap_request_is_well_formed() {
        let Some(Ok((0x30, body, rest))) = ber_tlv(LDAP_STARTTLS) else {
            panic!("not a sequence")
        };
        assert!(rest.is_empty());
        let Some(Ok((0x02, id, rest))) = ber_tlv(body) else {
            panic!("no message id")
        };
        assert_eq!(id, [1]);
        let Some(Ok((0x77, op, _))) = ber_tlv(rest) else {
            panic!("no extended request")
        };
        let Some(Ok((0x80, oid, _))) = ber_tlv(op) else {
            panic!("no OID")
        };
        assert_eq!(oid, b"1.3.6.1.4.1.1466.20037");
    }
}
