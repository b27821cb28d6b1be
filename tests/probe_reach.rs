//! `probe` reaches the endpoints most likely to still serve an old key: STARTTLS (against
//! the real Postfix, Dovecot and PostgreSQL servers, started here on loopback in temp dirs),
//! legacy TLS 1.0 (`openssl s_server`) and OCSP (`openssl ocsp`).
//!
//! FTP, LDAP, MySQL and XMPP have no Debian server that starts quickly enough per test here:
//! their preludes are spoken by small fakes below that follow the RFCs (FTP RFC 4217, LDAP RFC
//! 4511 §4.14, MySQL's SSLRequest packet, XMPP RFC 6120 §5) and then hand the socket to a
//! real rustls server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::{ServerConfig, ServerConnection};

use crate::harness::*;
use crate::tls::{self, provider};

const LIMITS: [&str; 4] = ["--timeout", "5", "--connect-timeout", "2"];

/// The legacy.example.com upload (RSA, uploaded 2015: exposed) with its key, served by every
/// server here, so a probe that reaches the certificate reports `serving-exposed`.
const LEGACY: &str = "demo/uploads/legacy.pem";

fn inventory() -> [&'static str; 8] {
    [
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        "2016-11-01",
        "--roots",
        "fixtures/ca/root-ca.pem",
        "--sni",
        "legacy.example.com",
    ]
}

fn probe(args: &[&str]) -> Run {
    Test::new()
        .arg("probe")
        .args(args.iter().copied())
        .args(LIMITS)
        .run()
}

/// A port nothing listens on: bound, then released.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, stopped (SIGTERM, then SIGKILL) on drop.
struct Daemon {
    child: Child,
    name: &'static str,
}

impl Daemon {
    /// Starts `cmd` and waits until `port` accepts connections.
    fn start(name: &'static str, cmd: Command, port: u16, log: &Path) -> Daemon {
        Daemon::try_start(name, cmd, port, log).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_start(
        name: &'static str,
        cmd: Command,
        port: u16,
        log: &Path,
    ) -> Result<Daemon, String> {
        Daemon::start_when(name, cmd, log, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .map_err(|e| format!("{e} (port {port})"))
    }

    /// Starts `cmd` and waits until `ready` says so.
    fn start_when(
        name: &'static str,
        mut cmd: Command,
        log: &Path,
        ready: impl Fn() -> bool,
    ) -> Result<Daemon, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} is installed (.ci/run installs it): {e}"));
        let mut d = Daemon { child, name };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Some(status) = d.child.try_wait().unwrap() {
                return Err(format!(
                    "{name} exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            if ready() {
                return Ok(d);
            }
            thread::sleep(Duration::from_millis(50));
        }
        d.stop();
        Err(format!("{name} did not get ready within 20s"))
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM: killed", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A temp dir other users can enter (the servers drop privileges).
fn shared_temp() -> tempfile::TempDir {
    let dir = temp();
    Command::new("chmod")
        .arg("755")
        .arg(dir.path())
        .status()
        .unwrap();
    dir
}

/// The LEGACY certificate and key followed by the Issuing CA, as servers want them.
fn legacy_pem() -> Vec<u8> {
    let pem = fixture(LEGACY);
    // The fixture starts with a UTF-8 BOM (a case the inventory reader covers).
    let pem = pem.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&pem);
    [pem, &fixture("ca/intermediate-ca.pem")[..]].concat()
}

fn copy_legacy(dir: &Path) -> PathBuf {
    write(dir, "cert.pem", legacy_pem())
}

/// Postfix's master in the foreground with one smtpd on `port` and the tlsmgr it needs; no
/// mail is accepted (no destinations, relaying refused).
fn postfix(dir: &Path, port: u16, tls: bool) -> Daemon {
    let cert = copy_legacy(dir);
    let conf = dir.join("conf");
    let queue = dir.join("queue");
    for d in [&conf, &queue.join("pid"), &dir.join("data")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for d in ["public", "private"] {
        std::fs::create_dir_all(queue.join(d)).unwrap();
    }
    Command::new("chown")
        .args(["-R", "postfix"])
        .arg(queue.join("public"))
        .arg(queue.join("private"))
        .arg(dir.join("data"))
        .status()
        .unwrap();
    let d = dir.display();
    let c = cert.display();
    let level = if tls { "may" } else { "none" };
    std::fs::write(
        conf.join("main.cf"),
        format!(
            "compatibility_level = 3.6\nqueue_directory = {d}/queue\ndata_directory = {d}/data\n\
             mail_owner = postfix\nmyhostname = mail.example.com\ninet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\nsmtpd_tls_cert_file = {c}\nsmtpd_tls_key_file = {c}\n\
             smtpd_tls_security_level = {level}\nlocal_recipient_maps =\nmydestination =\n\
             alias_maps =\nsmtpd_relay_restrictions = reject\n"
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("master.cf"),
        format!("127.0.0.1:{port} inet n - n - - smtpd\ntlsmgr unix - - n 1000? 1 tlsmgr\n"),
    )
    .unwrap();
    let mut cmd = Command::new("/usr/lib/postfix/sbin/master");
    cmd.arg("-c").arg(&conf).arg("-d");
    Daemon::start("postfix", cmd, port, &dir.join("postfix.log"))
}

#[test]
fn smtp_starttls_against_postfix() {
    let dir = shared_temp();
    let port = free_port();
    let _pf = postfix(dir.path(), port, true);
    let target = format!("127.0.0.1:{port}");
    let mut args = vec![target.as_str(), "--starttls", "smtp", "--format", "json"];
    args.extend(inventory());
    let r = probe(&args).code(1).json();
    let t = &r["targets"][0];
    assert_eq!(t["target"]["starttls"], "smtp", "{t}");
    assert_eq!(t["status"], "serving-exposed", "{t}");
    assert_eq!(t["verified"], true, "{t}");
    assert_eq!(t["chain"][0]["subject"], "CN=legacy.example.com");
    assert!(t["tls_version"].as_str().unwrap().starts_with("TLSv1."));

    // The same port without the prelude: the server's banner is no TLS answer.
    let mut args = vec![target.as_str(), "--starttls", "none", "--format", "json"];
    args.extend(inventory());
    let r = probe(&args).code(2).json();
    assert_eq!(r["targets"][0]["status"], "error");
    assert!(r["targets"][0]["target"]["starttls"].is_null());
}

#[test]
fn smtp_server_without_starttls_is_a_clear_error() {
    let dir = shared_temp();
    let port = free_port();
    let _pf = postfix(dir.path(), port, false);
    let target = format!("127.0.0.1:{port}");
    let mut args = vec![target.as_str(), "--starttls", "smtp"];
    args.extend(inventory());
    probe(&args)
        .code(2)
        .stderr_has("the server does not offer STARTTLS (its EHLO reply does not list it)");
}

/// Dovecot with IMAP and POP3 (no implicit-TLS listeners) on the given ports.
fn dovecot(dir: &Path, imap: u16, pop3: u16) -> Daemon {
    let cert = copy_legacy(dir);
    let d = dir.display();
    let c = cert.display();
    let conf = dir.join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap pop3\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{c}\n\
             ssl_key = <{c}\npassdb {{\n  driver = static\n  args = nopassword=y\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  \
             inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = 0\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new("dovecot");
    cmd.arg("-c").arg(&conf).arg("-F");
    let daemon = Daemon::start("dovecot", cmd, imap, &dir.join("stderr.log"));
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", pop3)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "dovecot pop3");
        thread::sleep(Duration::from_millis(50));
    }
    daemon
}

#[test]
fn imap_and_pop3_starttls_against_dovecot_from_a_targets_file() {
    let dir = shared_temp();
    let (imap, pop3) = (free_port(), free_port());
    let _dv = dovecot(dir.path(), imap, pop3);
    let file = write(
        dir.path(),
        "targets.csv",
        format!(
            "host,port,sni,starttls\n127.0.0.1,{imap},legacy.example.com,imap\n\
             127.0.0.1,{pop3},legacy.example.com,pop3\n127.0.0.1,{pop3},legacy.example.com,imap\n"
        ),
    );
    let file = file.to_str().unwrap();
    let mut args = vec!["--targets", file, "--format", "json"];
    args.extend(inventory());
    let r = probe(&args).code(2).json();
    let t = &r["targets"];
    for (i, proto) in [(0, "imap"), (1, "pop3")] {
        assert_eq!(t[i]["target"]["starttls"], proto, "{}", t[i]);
        assert_eq!(t[i]["status"], "serving-exposed", "{}", t[i]);
        assert_eq!(t[i]["verified"], true);
    }
    // IMAP spoken to the POP3 port: the greeting says so.
    assert_eq!(t[2]["status"], "error");
    assert!(
        t[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("the server does not speak imap (it sent '+OK"),
        "{}",
        t[2]
    );

    // The CSV output has the column too.
    let mut args = vec!["--targets", file, "--format", "csv"];
    args.extend(inventory());
    let out = probe(&args).code(2).stdout;
    let mut rows = csv::Reader::from_reader(out.as_bytes());
    let col = rows
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "starttls")
        .unwrap();
    let got: Vec<String> = rows.records().map(|r| r.unwrap()[col].to_owned()).collect();
    assert_eq!(got, ["imap", "pop3", "imap"]);
}

/// PostgreSQL in a fresh cluster under `dir`, run as the `postgres` user.
struct Postgres {
    data: PathBuf,
    dir: PathBuf,
}

impl Postgres {
    fn bin(name: &str) -> PathBuf {
        let base = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<_> = std::fs::read_dir(base)
            .expect("postgresql is installed (.ci/run installs it)")
            .flatten()
            .map(|e| e.path())
            .collect();
        versions.sort();
        versions.last().unwrap().join("bin").join(name)
    }

    fn as_postgres(program: PathBuf) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        cmd
    }

    fn init(dir: &Path) -> Postgres {
        copy_legacy(dir);
        Command::new("chmod")
            .arg("600")
            .arg(dir.join("cert.pem"))
            .status()
            .unwrap();
        Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir)
            .status()
            .unwrap();
        let data = dir.join("data");
        let out = Postgres::as_postgres(Postgres::bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Postgres {
            data,
            dir: dir.to_owned(),
        }
    }

    fn start(&self, port: u16, ssl: bool) -> Daemon {
        let cert = self.dir.join("cert.pem");
        let mut cmd = Postgres::as_postgres(Postgres::bin("postgres"));
        cmd.arg("-D")
            .arg(&self.data)
            .args(["-c", "listen_addresses=127.0.0.1", "-c"])
            .arg(format!("port={port}"))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .arg("-c")
            .arg(format!("ssl={}", if ssl { "on" } else { "off" }))
            .arg("-c")
            .arg(format!("ssl_cert_file={}", cert.display()))
            .arg("-c")
            .arg(format!("ssl_key_file={}", cert.display()));
        Daemon::start("postgres", cmd, port, &self.dir.join("postgres.log"))
    }
}

#[test]
fn postgres_ssl_request_against_postgresql() {
    let dir = shared_temp();
    let pg = Postgres::init(dir.path());
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    {
        let _server = pg.start(port, true);
        let mut args = vec![
            target.as_str(),
            "--starttls",
            "postgres",
            "--format",
            "json",
        ];
        args.extend(inventory());
        let r = probe(&args).code(1).json();
        let t = &r["targets"][0];
        assert_eq!(t["status"], "serving-exposed", "{t}");
        assert_eq!(t["tls_version"], "TLSv1.3");
        assert_eq!(t["target"]["starttls"], "postgres");
    }
    let _server = pg.start(port, false);
    let mut args = vec![target.as_str(), "--starttls", "postgres"];
    args.extend(inventory());
    probe(&args)
        .code(2)
        .stderr_has("the server refused STARTTLS (postgres answered N: SSL is off on this server)");
}

/// A fake server: `prelude` speaks the plaintext part on each connection, then a rustls
/// server serving LEGACY takes over the socket (if the prelude returns true).
fn fake(prelude: fn(&mut TcpStream) -> bool) -> SocketAddr {
    let chain = tls::pem_certs(&legacy_pem());
    let key = PrivateKeyDer::from_pem_slice(&legacy_pem()).unwrap();
    let config = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                if !prelude(&mut sock) {
                    return;
                }
                let conn = ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 64];
                let _ = tls.read(&mut buf);
            });
        }
    });
    addr
}

fn read_line(sock: &mut TcpStream) -> String {
    let mut line = String::new();
    let _ = BufReader::new(sock).read_line(&mut line);
    line
}

fn ftp_ok(sock: &mut TcpStream) -> bool {
    let _ = sock.write_all(b"220-Welcome\r\n220 FTP ready\r\n");
    let ok = read_line(sock) == "AUTH TLS\r\n";
    let _ = sock.write_all(if ok {
        b"234 AUTH TLS OK.\r\n"
    } else {
        b"500 ?\r\n"
    });
    ok
}

fn ftp_refuses(sock: &mut TcpStream) -> bool {
    let _ = sock.write_all(b"220 FTP ready\r\n");
    read_line(sock);
    let _ = sock.write_all(b"534 Local policy on server does not allow TLS\r\n");
    false
}

/// Reads one small BER message (short lengths only, as the client sends).
fn ber_message(sock: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    sock.read_exact(&mut head).unwrap();
    let mut body = vec![0u8; usize::from(head[1])];
    sock.read_exact(&mut body).unwrap();
    [head.to_vec(), body].concat()
}

fn ldap_ok(sock: &mut TcpStream) -> bool {
    let req = ber_message(sock);
    if !req.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20037") {
        return false;
    }
    // ExtendedResponse, messageID 1: success, empty matchedDN and diagnosticMessage.
    let _ = sock.write_all(b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00");
    true
}

fn mysql_ok(sock: &mut TcpStream) -> bool {
    // Protocol 10 handshake: version, id, 8 bytes of auth data, filler, capabilities
    // (PROTOCOL_41 | SSL | SECURE_CONNECTION), charset, status, upper capabilities, ...
    let mut p = vec![10u8];
    p.extend_from_slice(b"8.0.36-fake\0");
    p.extend_from_slice(&7u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh\0");
    p.extend_from_slice(&(0x0200u16 | 0x0800 | 0x8000).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&[2, 0, 0, 0, 21]);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    let mut packet = vec![p.len() as u8, 0, 0, 0];
    packet.extend(p);
    let _ = sock.write_all(&packet);
    let mut ssl_request = [0u8; 36];
    if sock.read_exact(&mut ssl_request).is_err() {
        return false;
    }
    let caps = u32::from_le_bytes(ssl_request[4..8].try_into().unwrap());
    ssl_request[..4] == [32, 0, 0, 1] && caps & 0x0800 != 0
}

fn xmpp_ok(sock: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let n = sock.read(&mut buf).unwrap_or(0);
    let open = String::from_utf8_lossy(&buf[..n]).into_owned();
    if !open.contains("<stream:stream") || !open.contains("to='legacy.example.com'") {
        return false;
    }
    let _ = sock.write_all(
        b"<?xml version='1.0'?><stream:stream from='legacy.example.com' id='1' version='1.0' \
          xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
          <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
          </starttls></stream:features>",
    );
    let n = sock.read(&mut buf).unwrap_or(0);
    if !String::from_utf8_lossy(&buf[..n]).contains("<starttls") {
        return false;
    }
    let _ = sock.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    true
}

#[test]
fn ftp_ldap_mysql_xmpp_preludes_against_fakes() {
    let cases = [
        ("ftp", fake(ftp_ok)),
        ("ldap", fake(ldap_ok)),
        ("mysql", fake(mysql_ok)),
        ("xmpp", fake(xmpp_ok)),
    ];
    let dir = temp();
    let mut json = Vec::new();
    for (proto, addr) in &cases {
        json.push(serde_json::json!({
            "host": "127.0.0.1", "port": addr.port(), "starttls": proto
        }));
    }
    let refusing = fake(ftp_refuses);
    json.push(serde_json::json!({
        "host": "127.0.0.1", "port": refusing.port(), "starttls": "ftp"
    }));
    let file = write(
        dir.path(),
        "targets.json",
        serde_json::to_string(&json).unwrap(),
    );
    let mut args = vec!["--targets", file.to_str().unwrap(), "--format", "json"];
    args.extend(inventory());
    let r = probe(&args).code(2).json();
    let t = &r["targets"];
    for (i, (proto, _)) in cases.iter().enumerate() {
        assert_eq!(t[i]["target"]["starttls"], *proto, "{}", t[i]);
        assert_eq!(t[i]["status"], "serving-exposed", "{}", t[i]);
        assert_eq!(t[i]["verified"], true, "{}", t[i]);
    }
    assert_eq!(t[4]["status"], "error");
    assert_eq!(
        t[4]["error"],
        "the server refused STARTTLS (ftp answered '534 Local policy on server does not allow TLS')"
    );
}

fn silent(sock: TcpStream) {
    thread::sleep(Duration::from_secs(30));
    drop(sock);
}

#[test]
fn a_silent_starttls_server_times_out_within_the_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            thread::spawn(move || silent(sock));
        }
    });
    let target = addr.to_string();
    let start = Instant::now();
    Test::new()
        .arg("probe")
        .args([target.as_str(), "--starttls", "smtp", "--timeout", "1"])
        .run()
        .code(2)
        .stderr_has("timed out after 1s in the smtp STARTTLS prelude (waiting for the greeting)");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// `openssl s_server` on a free port with `extra` options, killed on drop.
fn s_server(dir: &Path, extra: &[&str]) -> (Daemon, u16) {
    let cert = copy_legacy(dir);
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-quiet", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&cert)
            .arg("-cert_chain")
            .arg(root().join("fixtures/ca/intermediate-ca.pem"))
            .args(extra);
        let log = dir.join(format!("s_server-{port}.log"));
        // A lost port race shows as an early exit: try another port.
        if let Ok(d) = Daemon::try_start("openssl s_server", cmd, port, &log) {
            return (d, port);
        }
    }
    panic!("openssl s_server did not start");
}

#[test]
fn a_tls_1_0_only_server_is_captured_and_judged_as_legacy_tls() {
    let dir = temp();
    let legacy = ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"];
    let (_s, port) = s_server(dir.path(), &legacy);
    let target = format!("127.0.0.1:{port}");

    // Judged against the inventory: the exposed key wins, the legacy version is recorded.
    let mut args = vec![target.as_str(), "--format", "json"];
    args.extend(inventory());
    let r = probe(&args).code(1).json();
    let t = &r["targets"][0];
    assert_eq!(t["status"], "serving-exposed", "{t}");
    assert_eq!(t["legacy_tls"], true);
    assert_eq!(t["tls_version"], "TLSv1.0");
    assert_eq!(t["verified"], true, "{t}");
    assert!(t["cipher_suite"].as_str().unwrap().contains("_CBC_"), "{t}");
    assert!(t["error"].is_null());
    assert_eq!(t["chain"].as_array().unwrap().len(), 2);
    let reasons = t["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r
        .as_str()
        .unwrap()
        .starts_with("the server speaks only legacy TLS (TLSv1.0, TLS_")));

    // Without an inventory the legacy protocol is the finding.
    let r = probe(&[
        target.as_str(),
        "--sni",
        "legacy.example.com",
        "--roots",
        "fixtures/ca/root-ca.pem",
        "--format",
        "json",
    ])
    .code(1)
    .json();
    assert_eq!(r["targets"][0]["status"], "legacy-tls");
    assert_eq!(r["summary"]["legacy_tls"], 1);
    assert_eq!(r["targets"][0]["verified"], true);
}

#[test]
fn a_server_refusing_the_legacy_handshake_too_says_both() {
    let dir = temp();
    // TLS 1.3 only with a suite rustls does not offer first but supports: reachable, so use
    // a TLS 1.2 server whose only suite is anonymous DH, which neither handshake offers.
    let (_s, port) = s_server(
        dir.path(),
        &["-tls1_2", "-cipher", "ADH-AES128-SHA:@SECLEVEL=0"],
    );
    let target = format!("127.0.0.1:{port}");
    probe(&[target.as_str()])
        .code(2)
        .stderr_has("; a legacy TLS 1.0-1.2 handshake failed too: the server refused the legacy TLS handshake too (alert handshake_failure)");
}

/// The fixture Issuing CA as an rcgen issuer.
fn issuing_ca() -> rcgen::Issuer<'static, rcgen::KeyPair> {
    let key = rcgen::KeyPair::from_pem(
        std::str::from_utf8(&fixture("ca/intermediate-ca.key.pem")).unwrap(),
    )
    .unwrap();
    rcgen::Issuer::from_ca_cert_pem(
        std::str::from_utf8(&fixture("ca/intermediate-ca.pem")).unwrap(),
        key,
    )
    .unwrap()
}

/// Authority Information Access naming one OCSP responder (RFC 5280 §4.2.2.1).
fn aia_ocsp(url: &str) -> rcgen::CustomExtension {
    let der = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(|w| {
                w.next()
                    .write_oid(&yasna::models::ObjectIdentifier::from_slice(&[
                        1, 3, 6, 1, 5, 5, 7, 48, 1,
                    ]));
                w.next()
                    .write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(url));
            })
        })
    });
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], der)
}

fn fixed(y: i32, m: time::Month, d: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(y, m, d)
        .unwrap()
        .midnight()
        .assume_utc()
}

/// Writes `name.pem` (certificate, then the Issuing CA) and `name.key` under `dir`: a
/// certificate from the Issuing CA with a fixed serial and validity (2026-01-01 to 2099).
fn issue(
    dir: &Path,
    name: &str,
    serial: u64,
    ocsp_url: Option<&str>,
    ocsp_signing: bool,
) -> (PathBuf, PathBuf) {
    let mut params = rcgen::CertificateParams::new(vec![format!("{name}.example.com")]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(serial));
    params.not_before = fixed(2026, time::Month::January, 1);
    params.not_after = fixed(2099, time::Month::January, 1);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name}.example.com"));
    if let Some(url) = ocsp_url {
        params.custom_extensions.push(aia_ocsp(url));
    }
    if ocsp_signing {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuing_ca()).unwrap();
    let chain = [
        cert.pem().as_bytes(),
        &fixture("ca/intermediate-ca.pem")[..],
    ]
    .concat();
    (
        write(dir, &format!("{name}.pem"), chain),
        write(dir, &format!("{name}.key"), key.serialize_pem()),
    )
}

/// `openssl s_server` serving `cert` (with its chain) and `key`, plus `extra` options.
fn s_server_with(dir: &Path, cert: &Path, key: &Path, extra: &[&str]) -> (Daemon, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-quiet", "-tls1_2", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .arg("-cert_chain")
            .arg(root().join("fixtures/ca/intermediate-ca.pem"))
            .args(extra);
        let log = dir.join(format!("s_server-{port}.log"));
        if let Ok(d) = Daemon::try_start("openssl s_server", cmd, port, &log) {
            return (d, port);
        }
    }
    panic!("openssl s_server did not start");
}

/// `openssl ocsp` answering for the Issuing CA from `index`, signing with `signer`/`key`.
fn responder(dir: &Path, port: u16, index: &Path, signer: &Path, key: &Path) -> Daemon {
    let mut cmd = Command::new("openssl");
    // OpenSSL 3.0's responder takes a port only (it listens on every address); it is
    // only ever asked on 127.0.0.1.
    cmd.args(["ocsp", "-port"])
        .arg(port.to_string())
        .arg("-index")
        .arg(index)
        .arg("-CA")
        .arg(root().join("fixtures/ca/intermediate-ca.pem"))
        .arg("-rsigner")
        .arg(signer)
        .arg("-rkey")
        .arg(key);
    // A connection that sends no request wedges this one-at-a-time responder: wait for its
    // log line instead of connecting.
    let log = dir.join(format!("ocsp-{port}.log"));
    let ready =
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("waiting for OCSP client"));
    Daemon::start_when("openssl ocsp", cmd, &log, ready).unwrap_or_else(|e| panic!("{e}"))
}

/// An `openssl ca` index: serial 0x1001 valid, 0x1002 revoked on 2026-03-15 for key
/// compromise.
fn ocsp_index(dir: &Path) -> PathBuf {
    write(
        dir,
        "index.txt",
        "V\t990101000000Z\t\t1001\tunknown\t/CN=good.example.com\n\
         R\t990101000000Z\t260315120000Z,keyCompromise\t1002\tunknown\t/CN=revoked.example.com\n",
    )
}

fn check_revocation(targets: &[(&str, u16)], code: i32) -> serde_json::Value {
    let dir = temp();
    let lines: String = targets
        .iter()
        .map(|(name, port)| format!("127.0.0.1:{port} {name}.example.com\n"))
        .collect();
    let file = write(dir.path(), "targets.txt", lines);
    probe(&[
        "--targets",
        file.to_str().unwrap(),
        "--check-revocation",
        "--roots",
        "fixtures/ca/root-ca.pem",
        "--format",
        "json",
    ])
    .code(code)
    .json()
}

#[test]
fn ocsp_good_and_revoked_from_a_delegated_responder() {
    let dir = temp();
    let d = dir.path();
    let ocsp_port = free_port();
    let url = format!("http://127.0.0.1:{ocsp_port}");
    let (good, good_key) = issue(d, "good", 0x1001, Some(&url), false);
    let (revoked, revoked_key) = issue(d, "revoked", 0x1002, Some(&url), false);
    let (none, none_key) = issue(d, "plain", 0x1003, None, false);
    let (stranger, stranger_key) = issue(d, "stranger", 0x1004, Some(&url), false);
    let (signer, signer_key) = issue(d, "responder", 0x2001, None, true);
    let _ocsp = responder(d, ocsp_port, &ocsp_index(d), &signer, &signer_key);
    let (_g, g) = s_server_with(d, &good, &good_key, &[]);
    let (_r, r) = s_server_with(d, &revoked, &revoked_key, &[]);
    let (_n, n) = s_server_with(d, &none, &none_key, &[]);
    let (_s, st) = s_server_with(d, &stranger, &stranger_key, &[]);

    let report = check_revocation(
        &[("good", g), ("revoked", r), ("plain", n), ("stranger", st)],
        1,
    );
    let t = &report["targets"];
    assert_eq!(t[0]["status"], "ok", "{}", t[0]);
    assert_eq!(t[0]["revocation"]["status"], "good");
    assert_eq!(t[0]["revocation"]["source"], "responder");
    assert_eq!(t[0]["revocation"]["responder"], url.as_str());
    assert_eq!(t[1]["status"], "revoked", "{}", t[1]);
    assert_eq!(t[1]["revocation"]["status"], "revoked");
    assert_eq!(t[1]["revocation"]["reason"], "keyCompromise");
    assert_eq!(t[1]["revocation"]["revoked_at"], "2026-03-15T12:00:00Z");
    assert_eq!(t[2]["status"], "ok");
    assert_eq!(t[2]["revocation"]["status"], "not-checked");
    // A serial the responder's index does not hold.
    assert_eq!(t[3]["status"], "ok");
    assert_eq!(t[3]["revocation"]["status"], "unknown");
    assert_eq!(report["summary"]["revoked"], 1);
    assert_eq!(report["summary"]["revocation_errors"], 0);
}

#[test]
fn ocsp_answer_signed_by_an_unrelated_key_is_not_trusted() {
    let dir = temp();
    let d = dir.path();
    let ocsp_port = free_port();
    let url = format!("http://127.0.0.1:{ocsp_port}");
    let (good, good_key) = issue(d, "good", 0x1001, Some(&url), false);
    // Another CA's certificate and key sign the answers: not the issuer, not delegated by it.
    let _ocsp = responder(
        d,
        ocsp_port,
        &ocsp_index(d),
        &root().join("fixtures/ca/other-ca.pem"),
        &root().join("fixtures/ca/other-ca.key.pem"),
    );
    let (_g, g) = s_server_with(d, &good, &good_key, &[]);
    let report = check_revocation(&[("good", g)], 2);
    let rev = &report["targets"][0]["revocation"];
    assert_eq!(rev["status"], "error", "{rev}");
    assert!(rev["detail"]
        .as_str()
        .unwrap()
        .starts_with("the OCSP answer is not trustworthy: its responder certificate"));
    assert_eq!(report["summary"]["revocation_errors"], 1);
    assert_eq!(report["summary"]["complete"], false);
}

#[test]
fn a_stapled_ocsp_response_is_read_without_asking_the_responder() {
    let dir = temp();
    let d = dir.path();
    let ocsp_port = free_port();
    let url = format!("http://127.0.0.1:{ocsp_port}");
    let (revoked, revoked_key) = issue(d, "revoked", 0x1002, Some(&url), false);
    let staple = d.join("staple.der");
    {
        // The issuing CA signs this answer itself.
        let _ocsp = responder(
            d,
            ocsp_port,
            &ocsp_index(d),
            &root().join("fixtures/ca/intermediate-ca.pem"),
            &root().join("fixtures/ca/intermediate-ca.key.pem"),
        );
        let out = Command::new("openssl")
            .args(["ocsp", "-noverify", "-url", &url, "-issuer"])
            .arg(root().join("fixtures/ca/intermediate-ca.pem"))
            .arg("-cert")
            .arg(&revoked)
            .arg("-respout")
            .arg(&staple)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The responder is gone: only the staple can tell.
    let staple_arg = staple.to_str().unwrap();
    let (_r, r) = s_server_with(d, &revoked, &revoked_key, &["-status_file", staple_arg]);
    let report = check_revocation(&[("revoked", r)], 1);
    let t = &report["targets"][0];
    assert_eq!(t["status"], "revoked", "{t}");
    assert_eq!(t["revocation"]["source"], "stapled");
    assert!(t["revocation"]["responder"].is_null());
    assert_eq!(t["revocation"]["reason"], "keyCompromise");
}

#[test]
fn scan_online_asks_ocsp_and_a_revoked_answer_is_the_revoked_status() {
    let dir = temp();
    let d = dir.path();
    let ocsp_port = free_port();
    let url = format!("http://127.0.0.1:{ocsp_port}");
    let (good, _) = issue(d, "good", 0x1001, Some(&url), false);
    let (revoked, _) = issue(d, "revoked", 0x1002, Some(&url), false);
    let (plain, _) = issue(d, "plain", 0x1003, None, false);
    let (signer, signer_key) = issue(d, "responder", 0x2001, None, true);
    let _ocsp = responder(d, ocsp_port, &ocsp_index(d), &signer, &signer_key);
    let scan = |extra: &[&str]| {
        Test::new()
            .arg("scan")
            .args([&good, &revoked, &plain])
            .args([
                "--uploaded-at",
                "2026-02-01",
                "--cutoff",
                "2026-06-01",
                "--roots",
                "fixtures/ca/intermediate-ca.pem",
                "--format",
                "json",
            ])
            .args(extra.iter().copied())
            .run()
    };
    // Offline: all three are exposed.
    let offline = scan(&[]).code(1).json();
    let leaves = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["role"] == "leaf")
            .cloned()
            .collect()
    };
    assert_eq!(leaves(&offline).len(), 3);
    assert!(leaves(&offline).iter().all(|c| c["status"] == "exposed"));
    // Online: the responder says 1002 is revoked (keyCompromise); the others stay exposed.
    let online = scan(&["--online"]).code(1).json();
    let status = |cn: &str| {
        online["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"] == format!("CN={cn}.example.com"))
            .unwrap()
            .clone()
    };
    assert_eq!(status("good")["status"], "exposed");
    assert_eq!(
        status("plain")["status"],
        "exposed",
        "no OCSP URL: left as it is"
    );
    let r = status("revoked");
    assert_eq!(r["status"], "revoked", "{r}");
    let reasons = r["reasons"].to_string();
    assert!(reasons.contains("says the OCSP responder"), "{reasons}");
    assert!(reasons.contains("keyCompromise"), "{reasons}");
    assert_eq!(online["summary"]["complete"], true);
}

#[test]
fn scan_online_with_an_unanswered_question_is_incomplete() {
    let dir = temp();
    let d = dir.path();
    // Nothing listens on this port: the question cannot be answered.
    let url = format!("http://127.0.0.1:{}", free_port());
    let (good, _) = issue(d, "good", 0x1001, Some(&url), false);
    let run = Test::new()
        .arg("scan")
        .arg(&good)
        .args([
            "--uploaded-at",
            "2026-02-01",
            "--cutoff",
            "2026-06-01",
            "--roots",
            "fixtures/ca/intermediate-ca.pem",
            "--online",
            "--online-timeout",
            "2",
            "--format",
            "json",
        ])
        .run()
        .code(2);
    let r = run.json();
    assert_eq!(
        r["certificates"][0]["status"], "exposed",
        "never looks clean"
    );
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("--online: the OCSP question"));
}

#[test]
fn rotate_revoked_confirms_with_ocsp_and_a_good_answer_is_refused() {
    let dir = temp();
    let d = dir.path();
    let ocsp_port = free_port();
    let url = format!("http://127.0.0.1:{ocsp_port}");
    let (good, _) = issue(d, "good", 0x1001, Some(&url), false);
    let (revoked, _) = issue(d, "revoked", 0x1002, Some(&url), false);
    let (signer, signer_key) = issue(d, "responder", 0x2001, None, true);
    let _ocsp = responder(d, ocsp_port, &ocsp_index(d), &signer, &signer_key);
    let state = d.join("plan.json");
    let rotate = |args: &[&str]| {
        Test::new()
            .args(["rotate", "--state"])
            .arg(&state)
            .args(args.iter().copied())
            .run()
    };
    Test::new()
        .args(["rotate", "--state"])
        .arg(&state)
        .arg("init")
        .args([&good, &revoked])
        .args(["--uploaded-at", "2026-02-01", "--cutoff", "2026-06-01"])
        .run()
        .code(0);
    let plan = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap()
    };
    let item = |host: &str| {
        plan()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["old"]["dns_names"][0] == host)
            .unwrap()
            .clone()
    };
    let ocsp = [
        "--ocsp",
        "--issuer",
        "fixtures/ca/intermediate-ca.pem",
        "--force",
        "--reason",
        "the endpoint is decommissioned",
    ];
    // The responder says 1001 is good: refused, and the plan is untouched.
    let before = std::fs::read(&state).unwrap();
    let good_id = item("good.example.com")["id"].as_str().unwrap().to_owned();
    rotate(&[&["revoked", good_id.as_str()][..], &ocsp[..]].concat())
        .code(2)
        .stderr_has("says serial 1001 is good");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "a refusal changes nothing"
    );
    // 1002 is revoked (keyCompromise): confirmed, with the responder as evidence.
    let id = item("revoked.example.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rotate(&[&["revoked", id.as_str()][..], &ocsp[..]].concat()).code(0);
    let it = item("revoked.example.com");
    assert_eq!(it["step"], "done", "{it}");
    let evidence = &it["revocation"]["crl"];
    assert_eq!(evidence["ocsp_responder"], url.as_str(), "{it}");
    assert_eq!(evidence["reason"], "keyCompromise");
    assert_eq!(evidence["revoked_at"], "2026-03-15T12:00:00Z");
}
