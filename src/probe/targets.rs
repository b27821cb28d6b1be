//! Probe targets: `HOST[:PORT]` on the command line, and `--targets` files (text, CSV, JSON).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use rustls::pki_types::ServerName;
use serde::Serialize;

use super::starttls::Starttls;
use crate::inventory::{describe_io, InputError};

/// The port probed when a target gives none.
pub const DEFAULT_PORT: u16 = 443;

/// Where to connect: an IP literal, or a DNS name resolved at probe time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Dns(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Dns(name) => f.write_str(name),
        }
    }
}

/// One endpoint to probe, with the SNI to send and where it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
    /// The server name sent in SNI and verified; `None` for an IP literal without `--sni`.
    pub sni: Option<String>,
    /// Line (text, CSV) or entry number (JSON) in the `--targets` file; `None` for argv.
    pub input_line: Option<usize>,
    /// The plaintext prelude before the handshake: from the file, `--starttls`, else by port.
    pub starttls: Option<Starttls>,
}

impl Target {
    /// `host:port`, with brackets around IPv6 literals.
    pub fn address(&self) -> String {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            h => format!("{h}:{}", self.port),
        }
    }

    /// The name the certificate must be valid for: the SNI, else the IP literal.
    pub fn server_name(&self) -> Option<ServerName<'static>> {
        match (&self.sni, &self.host) {
            (Some(sni), _) => ServerName::try_from(sni.clone()).ok(),
            (None, Host::Ip(ip)) => Some(ServerName::IpAddress((*ip).into())),
            (None, Host::Dns(_)) => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())?;
        match (&self.sni, &self.host) {
            (Some(sni), Host::Dns(h)) if sni == h => {}
            (Some(sni), _) => write!(f, " (SNI {sni})")?,
            (None, _) => {}
        }
        match self.starttls {
            Some(p) => write!(f, " starttls={p}"),
            None => Ok(()),
        }
    }
}

/// The JSON shape of a target.
#[derive(Serialize)]
pub struct TargetOut<'a> {
    pub host: String,
    pub port: u16,
    pub sni: Option<&'a str>,
    pub input_line: Option<usize>,
    pub starttls: Option<Starttls>,
}

impl<'a> From<&'a Target> for TargetOut<'a> {
    fn from(t: &'a Target) -> Self {
        TargetOut {
            host: t.host.to_string(),
            port: t.port,
            sni: t.sni.as_deref(),
            input_line: t.input_line,
            starttls: t.starttls,
        }
    }
}

/// Parses `HOST`, `HOST:PORT`, `IPv4:PORT`, `[IPv6]:PORT`, `[IPv6]`, a bare IPv6 literal, or
/// an `https://` URL (its host and port; the path, query and fragment are ignored).
/// `sni` (from `--sni` or a file column) overrides the default, which is the host name
/// for a DNS host and none for an IP literal.
pub fn parse(text: &str, sni: Option<&str>) -> Result<Target, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty target".into());
    }
    let text = url_authority(text)?;
    if text.contains('/') {
        return Err(format!(
            "'{text}' is not HOST[:PORT] (give the host name or an https:// URL)"
        ));
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("'{text}': missing ']' after the IPv6 address"))?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| format!("'{text}': '{inside}' is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("'{text}': expected ':PORT' after ']'"))?,
            ),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else if text.matches(':').count() > 1 {
        let ip: Ipv6Addr = text.parse().map_err(|_| {
            format!("'{text}' is not HOST[:PORT] (write IPv6 with a port as [ADDRESS]:PORT)")
        })?;
        (Host::Ip(IpAddr::V6(ip)), None)
    } else {
        let (h, p) = match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        };
        (host_of(h).map_err(|e| format!("'{text}': {e}"))?, p)
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => parse_port(p).map_err(|e| format!("'{text}': {e}"))?,
    };
    let sni = match sni.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(check_sni(s)?),
        None => match &host {
            Host::Dns(name) => Some(name.clone()),
            Host::Ip(_) => None,
        },
    };
    Ok(Target {
        host,
        port,
        sni,
        input_line: None,
        starttls: Starttls::by_port(port),
    })
}

/// The `HOST[:PORT]` part of an `https://` URL; other text as it is. Other schemes are
/// refused (their default port is not 443), and so are credentials in the URL.
fn url_authority(text: &str) -> Result<&str, String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Ok(text);
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "'{text}': only https:// URLs can be probed (give HOST:PORT for other services)"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!(
            "'{text}': a URL with a user name or password is refused (give just the host)"
        ));
    }
    if authority.is_empty() {
        return Err(format!("'{text}': the URL has no host"));
    }
    Ok(authority)
}

fn host_of(h: &str) -> Result<Host, String> {
    if h.is_empty() {
        return Err("no host".into());
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let name = h.trim_end_matches('.').to_ascii_lowercase();
    match ServerName::try_from(name.as_str()) {
        Ok(ServerName::DnsName(_)) => Ok(Host::Dns(name)),
        _ => Err(format!("'{h}' is not a valid host name or IP address")),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("invalid port '{p}' (1-65535)")),
        Ok(n) => Ok(n),
    }
}

/// An SNI value must be a DNS name (RFC 6066 forbids IP literals in SNI).
fn check_sni(s: &str) -> Result<String, String> {
    let name = s.trim_end_matches('.').to_ascii_lowercase();
    match ServerName::try_from(name.as_str()) {
        Ok(ServerName::DnsName(_)) => Ok(name),
        _ => Err(format!("SNI '{s}' is not a DNS name")),
    }
}

/// Reads a `--targets` file: JSON (`.json`, or starting with `[`/`{`), CSV (`.csv`, or a
/// header line naming a `host` column), else one `HOST[:PORT] [SNI]` per line with `#`
/// comments. A bad entry becomes an error naming the file and line; the others are kept.
pub fn read_file(
    path: &Path,
    sni: Option<&str>,
    starttls: Option<Option<Starttls>>,
    errors: &mut Vec<InputError>,
) -> Vec<Target> {
    let shown = path.display().to_string();
    // `-` reads the list from stdin.
    let text = match crate::input::read_all(path, crate::inventory::limits::MAX_SIDE_FILE) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(_) => {
                errors.push(input_error(&shown, "--targets: not UTF-8 text".into()));
                return Vec::new();
            }
        },
        Err(e) => {
            errors.push(input_error(
                &shown,
                format!("--targets: {}", describe_io(&e)),
            ));
            return Vec::new();
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let first = text.trim_start().chars().next();
    let is_json = ext.as_deref() == Some("json") || matches!(first, Some('[') | Some('{'));
    // Lines over the limit are left out, with a record each (JSON is read as a whole).
    let long = if is_json {
        Vec::new()
    } else {
        crate::inventory::limits::long_lines(text.as_bytes())
    };
    for (line, range) in &long {
        errors.push(input_error(
            &shown,
            format!(
                "--targets: {}",
                crate::inventory::limits::long_line_reason(*line, range.len())
            ),
        ));
    }
    let mut out = Vec::new();
    let mut push = |line: usize, r: Result<(Target, bool), String>| match r {
        Ok((mut t, own_starttls)) => {
            t.input_line = Some(line);
            if let (Some(mode), false) = (starttls, own_starttls) {
                t.starttls = mode;
            }
            out.push(t);
        }
        Err(e) => errors.push(input_error(&shown, format!("--targets: line {line}: {e}"))),
    };
    if is_json {
        match json_entries(text) {
            Ok(entries) => {
                for (i, e) in entries.into_iter().enumerate() {
                    push(i + 1, e.and_then(|e| e.target(sni)));
                }
            }
            Err(e) => errors.push(input_error(&shown, format!("--targets: {e}"))),
        }
    } else if ext.as_deref() == Some("csv") || looks_like_csv_header(text) {
        match csv_entries(text, long.into_iter().map(|(_, r)| r)) {
            Ok(entries) => {
                for (line, e) in entries {
                    push(line, e.and_then(|e| e.target(sni)));
                }
            }
            Err(e) => errors.push(input_error(&shown, format!("--targets: {e}"))),
        }
    } else {
        for (n, line) in text.lines().enumerate() {
            if long.iter().any(|(l, _)| *l == n + 1) {
                continue;
            }
            let line = line.split('#').next().unwrap_or("");
            let (opts, words): (Vec<&str>, Vec<&str>) = line
                .split_whitespace()
                .partition(|w| w.starts_with("starttls="));
            let own_starttls = opts.first().map(|o| o["starttls=".len()..].to_owned());
            let mut words = words.into_iter();
            let Some(target) = words.next() else { continue };
            let own_sni = words.next();
            let r = match words.next() {
                Some(extra) => Err(format!(
                    "unexpected '{extra}' (HOST[:PORT] [SNI] [starttls=PROTO])"
                )),
                None => Entry {
                    target: target.to_owned(),
                    sni: own_sni.map(str::to_owned),
                    starttls: own_starttls,
                }
                .target(sni),
            };
            push(n + 1, r);
        }
    }
    out
}

fn input_error(path: &str, reason: String) -> InputError {
    InputError {
        path: path.to_owned(),
        index: None,
        reason,
    }
}

/// An entry, or why it cannot be read.
type EntryResult = Result<Entry, String>;

/// A target as written in a file: `HOST[:PORT]` text, an optional SNI and STARTTLS protocol.
struct Entry {
    target: String,
    sni: Option<String>,
    starttls: Option<String>,
}

impl Entry {
    /// The target, and whether it names its own STARTTLS protocol. Its own SNI wins over
    /// `--sni`, and its own STARTTLS protocol over `--starttls` (applied by the caller).
    fn target(self, sni: Option<&str>) -> Result<(Target, bool), String> {
        let mut t = parse(&self.target, self.sni.as_deref().or(sni))?;
        let own = self.starttls.as_deref().filter(|p| !p.trim().is_empty());
        if let Some(p) = own {
            t.starttls = Starttls::parse(p)?;
        }
        Ok((t, own.is_some()))
    }
}

fn looks_like_csv_header(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| {
            l.contains(',')
                && l.split(',')
                    .any(|c| c.trim().trim_matches('"').eq_ignore_ascii_case("host"))
        })
}

/// Joins a host and a port into `HOST:PORT` text (bracketing IPv6) for `parse`.
fn join(host: &str, port: Option<&str>) -> String {
    let host = host.trim();
    match port.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) if host.contains(':') && !host.starts_with('[') => format!("[{host}]:{p}"),
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

fn csv_entries(
    text: &str,
    skip: impl IntoIterator<Item = std::ops::Range<usize>>,
) -> Result<Vec<(usize, EntryResult)>, String> {
    let mut rd = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(crate::inventory::limits::Without::new(
            text.as_bytes(),
            skip,
        ));
    let headers = rd
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let host = col("host").ok_or("CSV header has no 'host' column")?;
    let (port, sni, starttls) = (col("port"), col("sni"), col("starttls"));
    let mut out = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| format!("CSV: {e}"))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).filter(|s| !s.is_empty());
        let entry = match cell(Some(host)) {
            Some(h) => Ok(Entry {
                target: join(h, cell(port)),
                sni: cell(sni).map(str::to_owned),
                starttls: cell(starttls).map(str::to_owned),
            }),
            None => Err("empty host".to_owned()),
        };
        out.push((line, entry));
    }
    Ok(out)
}

fn json_entries(text: &str) -> Result<Vec<EntryResult>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("JSON: {}", crate::inventory::limits::json_error(&e)))?;
    let items = match &value {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(o) => match o.get("targets") {
            Some(serde_json::Value::Array(a)) => a,
            _ => return Err("JSON: expected an array or {\"targets\": [...]}".into()),
        },
        _ => return Err("JSON: expected an array or {\"targets\": [...]}".into()),
    };
    Ok(items.iter().map(json_entry).collect())
}

fn json_entry(v: &serde_json::Value) -> EntryResult {
    use serde_json::Value;
    match v {
        Value::String(s) => Ok(Entry {
            target: s.clone(),
            sni: None,
            starttls: None,
        }),
        Value::Object(o) => {
            let host = match o.get("host") {
                Some(Value::String(h)) if !h.trim().is_empty() => h.clone(),
                _ => return Err("entry has no \"host\" string".into()),
            };
            let port = match o.get("port") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("\"port\" must be a number".into()),
            };
            let sni = match o.get("sni") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("\"sni\" must be a string".into()),
            };
            let starttls = match o.get("starttls") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("\"starttls\" must be a string".into()),
            };
            Ok(Entry {
                target: join(&host, port.as_deref()),
                sni,
                starttls,
            })
        }
        _ => Err(
            "entry must be an object {host, port, sni, starttls} or a \"HOST[:PORT]\" string"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        parse(text, None).unwrap()
    }

    #[test]
    fn host_port_forms() {
        let a = t("shop.example.com");
        assert_eq!(
            (a.address(), a.sni.as_deref()),
            ("shop.example.com:443".into(), Some("shop.example.com"))
        );
        let b = t("Shop.Example.com.:8443");
        assert_eq!(
            (b.address(), b.sni.as_deref()),
            ("shop.example.com:8443".into(), Some("shop.example.com"))
        );
        let c = t("127.0.0.1:8443");
        assert_eq!((c.address(), c.sni), ("127.0.0.1:8443".into(), None));
        assert_eq!(t("[::1]:8443").address(), "[::1]:8443");
        assert_eq!(t("[::1]").address(), "[::1]:443");
        assert_eq!(t("2001:db8::1").address(), "[2001:db8::1]:443");
        let u = t("https://Shop.Example.com/login?next=/");
        assert_eq!(
            (u.address(), u.sni.as_deref()),
            ("shop.example.com:443".into(), Some("shop.example.com"))
        );
        assert_eq!(t("HTTPS://127.0.0.1:8443/x#y").address(), "127.0.0.1:8443");
        assert_eq!(t("https://[::1]:8443/").address(), "[::1]:8443");
        assert_eq!(t("https://[::1]").address(), "[::1]:443");
        let d = parse("127.0.0.1:1", Some("api.example.com")).unwrap();
        assert_eq!(d.sni.as_deref(), Some("api.example.com"));
        assert_eq!(d.to_string(), "127.0.0.1:1 (SNI api.example.com)");
    }

    #[test]
    fn bad_targets_say_why() {
        for (text, want) in [
            ("host:0", "invalid port"),
            ("host:99999", "invalid port"),
            ("host:x", "invalid port"),
            ("[::1", "missing ']'"),
            ("[nope]:1", "not an IPv6"),
            ("ftp://x.example/", "only https://"),
            ("https:///x", "no host"),
            ("https://u:p@x.example/", "user name or password"),
            ("x.example/path", "not HOST[:PORT]"),
            ("bad_host!:1", "not a valid host"),
            (":443", "no host"),
            ("", "empty"),
        ] {
            let e = parse(text, None).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(parse("127.0.0.1", Some("10.0.0.1"))
            .unwrap_err()
            .contains("not a DNS name"));
    }

    #[test]
    fn file_formats() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("t.txt");
        std::fs::write(
            &txt,
            "# list\nshop.example.com\n\n127.0.0.1:8443 api.example.com # c\nbad:0\n",
        )
        .unwrap();
        let mut errors = Vec::new();
        let got = read_file(&txt, None, None, &mut errors);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].input_line, Some(4));
        assert_eq!(got[1].sni.as_deref(), Some("api.example.com"));
        assert!(
            errors[0].reason.contains("line 5: 'bad:0': invalid port"),
            "{errors:?}"
        );

        let csv = dir.path().join("t.csv");
        std::fs::write(
            &csv,
            "host,port,sni\n127.0.0.1,8443,shop.example.com\n::1,9,\n",
        )
        .unwrap();
        let got = read_file(&csv, None, None, &mut errors);
        assert_eq!(got[0].to_string(), "127.0.0.1:8443 (SNI shop.example.com)");
        assert_eq!(
            (got[1].address(), got[1].input_line),
            ("[::1]:9".into(), Some(3))
        );

        let json = dir.path().join("t.json");
        std::fs::write(&json, r#"{"targets": [{"host": "a.example.com", "port": 8443}, "b.example.com:1", {"port": 1}]}"#).unwrap();
        let before = errors.len();
        let got = read_file(&json, None, None, &mut errors);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].address(), "a.example.com:8443");
        assert_eq!(errors.len(), before + 1);
        assert!(errors[before].reason.contains("line 3"));
    }

    #[test]
    fn starttls_from_the_port_the_flag_and_the_file() {
        assert_eq!(t("mail.example.com:25").starttls, Some(Starttls::Smtp));
        assert_eq!(t("mail.example.com:465").starttls, None);
        assert_eq!(t("db.example.com:5432").starttls, Some(Starttls::Postgres));
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("t.txt");
        std::fs::write(
            &txt,
            "a.example.com:2525 starttls=smtp\nb.example.com:25\nc.example.com:25 starttls=none\nd.example.com:1 starttls=gopher\n",
        )
        .unwrap();
        let mut errors = Vec::new();
        let got = read_file(&txt, None, None, &mut errors);
        let modes: Vec<_> = got.iter().map(|t| t.starttls).collect();
        assert_eq!(modes, [Some(Starttls::Smtp), Some(Starttls::Smtp), None]);
        assert!(errors[0]
            .reason
            .contains("line 4: unknown STARTTLS protocol 'gopher'"));
        // --starttls applies to entries that name none; a file's own value wins.
        let mut errors = Vec::new();
        let got = read_file(&txt, None, Some(Some(Starttls::Imap)), &mut errors);
        let modes: Vec<_> = got.iter().map(|t| t.starttls).collect();
        assert_eq!(modes, [Some(Starttls::Smtp), Some(Starttls::Imap), None]);
        assert_eq!(got[1].to_string(), "b.example.com:25 starttls=imap");
    }
}
