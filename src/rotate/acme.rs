//! `rotate issue` and `rotate revoke`: the two steps an ACME CA (RFC 8555) can do without a
//! person relaying files. Ordering uses instant-acme on a current-thread tokio runtime inside
//! this synchronous command; the revocation signed by the OLD certificate's own key is ours
//! (`jws.rs`). Every HTTP request goes through one ureq agent: TCP_NODELAY, timeouts, the
//! given roots, no redirects.

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    ExternalAccountKey, Identifier, NewAccount, NewOrder, OrderStatus, Problem, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ureq::http;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use zeroize::Zeroizing;

use crate::error::Error;

/// The ACME error types, without their URN prefix.
const URN: &str = "urn:ietf:params:acme:error:";

/// How many times a request refused for a bad nonce is sent again (with the fresh nonce).
const NONCE_RETRIES: usize = 5;

/// The HTTP client for every ACME request.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    /// The `Retry-After` of the last 429/503 answer (a rate limit, or the CA is busy).
    retry_after: Arc<Mutex<Option<String>>>,
    /// The HTTP status of the last answer.
    last_status: Arc<Mutex<u16>>,
}

impl Http {
    /// Trusting the certificates in `roots` (PEM/DER files) if given, else the system store.
    pub fn new(roots: &[PathBuf], timeout: Duration) -> Result<Http, Error> {
        let anchors: Vec<Certificate<'static>> = if roots.is_empty() {
            rustls_native_certs::load_native_certs()
                .certs
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect()
        } else {
            let certs = super::read_certs(roots, "--acme-roots")?;
            if certs.is_empty() {
                return Err(Error::Refused(format!(
                    "--acme-roots {}: no certificates in it",
                    roots[0].display()
                )));
            }
            certs
                .iter()
                .map(|(_, der)| Certificate::from_der(der).to_owned())
                .collect()
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(anchors)))
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .no_delay(true)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .user_agent(concat!("certsweep/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Http {
            agent,
            retry_after: Arc::default(),
            last_status: Arc::default(),
        })
    }

    fn note(&self, status: u16, headers: &http::HeaderMap) {
        if let Ok(mut last) = self.last_status.lock() {
            *last = status;
        }
        if status == 429 || status == 503 {
            if let Some(v) = headers.get("retry-after").and_then(|v| v.to_str().ok()) {
                if let Ok(mut slot) = self.retry_after.lock() {
                    *slot = Some(v.trim().to_owned());
                }
            }
        }
    }

    /// `reason` with the time the CA gave to try again, when it gave one (`Retry-After`).
    pub fn explain(&self, reason: String) -> String {
        let given = self.retry_after.lock().ok().and_then(|mut s| s.take());
        match given.and_then(|v| retry_at(&v, time::OffsetDateTime::now_utc())) {
            Some(at) => format!("{reason}; the CA asks to try again after {at}"),
            None => reason,
        }
    }
}

/// A `Retry-After` value (seconds, or an HTTP date) as an RFC 3339 time.
fn retry_at(value: &str, now: time::OffsetDateTime) -> Option<String> {
    let at = match value.parse::<u64>() {
        Ok(secs) => now + Duration::from_secs(secs.min(10 * 365 * 86_400)),
        Err(_) => {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822)
                .ok()?
        }
    };
    Some(crate::timefmt::rfc3339(at.replace_nanosecond(0).ok()?))
}

impl instant_acme::HttpClient for Http {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let agent = self.agent.clone();
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(never) => match never {},
            };
            let req = http::Request::from_parts(parts, body.to_vec());
            let url = req.uri().to_string();
            // Blocking is fine: the runtime has one thread and nothing else to do.
            let rsp = agent
                .run(req)
                .map_err(|e| instant_acme::Error::Other(transport(&url, &e).into()))?;
            let (parts, mut body) = rsp.into_parts();
            this.note(parts.status.as_u16(), &parts.headers);
            let bytes = body
                .read_to_vec()
                .map_err(|e| instant_acme::Error::Other(transport(&url, &e).into()))?;
            Ok(BytesResponse::from(http::Response::from_parts(
                parts,
                Full::new(Bytes::from(bytes)),
            )))
        })
    }
}

/// A transport failure as a sentence.
fn transport(url: &str, e: &ureq::Error) -> String {
    let why = match e {
        ureq::Error::Timeout(_) => "it did not answer in time (--timeout)".to_owned(),
        ureq::Error::HostNotFound => "the host name does not resolve".to_owned(),
        ureq::Error::ConnectionFailed => "the connection failed".to_owned(),
        ureq::Error::Io(io) => format!("the connection failed: {io}"),
        ureq::Error::Rustls(t) => format!(
            "its TLS certificate is not trusted or the handshake failed ({t}); give its root with --acme-roots FILE"
        ),
        other => other.to_string(),
    };
    format!("cannot talk to the ACME server at {url}: {why}")
}

/// An ACME problem document as a sentence that says what to do.
pub fn problem_text(p: &Problem) -> String {
    let kind = p
        .r#type
        .as_deref()
        .map(|t| t.strip_prefix(URN).unwrap_or(t))
        .unwrap_or("error");
    let detail = p.detail.as_deref().unwrap_or("no detail given");
    let mut sub: Vec<String> = p
        .subproblems
        .iter()
        .map(|s| s.detail.clone().unwrap_or_default())
        .filter(|d| !d.is_empty())
        .collect();
    sub.dedup();
    let detail = if sub.is_empty() {
        detail.to_owned()
    } else {
        format!("{detail} ({})", sub.join("; "))
    };
    problem_sentence(kind, &detail)
}

fn problem_sentence(kind: &str, detail: &str) -> String {
    let fix = match kind {
        "unauthorized" => {
            "the key does not match, or this CA did not issue the certificate or does not allow this account to act on it"
        }
        "malformed" if detail.contains("Unable to find specified certificate") => {
            "this CA did not issue the old certificate: revoke it at the CA that did (see its issuer)"
        }
        "externalAccountRequired" => {
            "this CA needs external account binding: give --eab-kid ID --eab-hmac-file FILE from the CA"
        }
        "accountDoesNotExist" => {
            "the CA does not know the account in the account file: give another --acme-account FILE"
        }
        "rateLimited" => "the CA's rate limit was hit: wait and run again",
        "rejectedIdentifier" => "the CA will not issue for one of the names",
        "caa" => "a CAA record of the domain forbids this CA",
        "dns" | "connection" | "incorrectResponse" | "tls" => {
            "the CA could not validate the challenge: check that the names point at the server that answers it"
        }
        "badNonce" => "the CA kept refusing nonces: run again",
        "serverInternal" => "the CA had an internal error: run again later",
        "badSignatureAlgorithm" => "the CA does not accept this key's signature algorithm",
        "badRevocationReason" => "the CA does not accept reason keyCompromise here",
        _ => "",
    };
    if fix.is_empty() {
        format!("the ACME server refused ({kind}): {detail}")
    } else {
        format!("the ACME server refused ({kind}: {detail}): {fix}")
    }
}

/// An instant-acme error as a sentence.
pub fn acme_error(e: &instant_acme::Error) -> String {
    match e {
        instant_acme::Error::Api(p) => problem_text(p),
        instant_acme::Error::Timeout(_) => {
            "the CA did not finish the order in time; run again (the order is retried)".into()
        }
        instant_acme::Error::Other(inner) => inner.to_string(),
        other => format!("the ACME exchange failed: {other}"),
    }
}

// ---- revocation signed by the old certificate's key ------------------------------------

/// What the CA said to a revocation request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Revoked,
    AlreadyRevoked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Revoked => "revoked",
            Outcome::AlreadyRevoked => "already-revoked",
        }
    }
}

/// The directory's URLs this module needs.
struct Directory {
    new_nonce: String,
    revoke_cert: String,
}

/// Checks that `url` is an ACME directory that can make accounts and orders, so a wrong URL
/// is named as such (instant-acme would only say its JSON did not parse).
pub fn check_directory(http: &Http, url: &str) -> Result<(), String> {
    let v = directory_json(http, url)?;
    for name in ["newNonce", "newAccount", "newOrder"] {
        if v[name].as_str().is_none() {
            return Err(format!(
                "{url} is not an ACME directory (it has no {name}); check --acme-directory"
            ));
        }
    }
    Ok(())
}

fn directory(http: &Http, url: &str) -> Result<Directory, String> {
    let v = directory_json(http, url)?;
    read_directory(url, &v)
}

/// The URLs this module needs from a directory document read from `url`.
fn read_directory(url: &str, v: &Value) -> Result<Directory, String> {
    let field = |name: &str| {
        v[name].as_str().map(str::to_owned).ok_or_else(|| {
            format!("{url} is not an ACME directory (it has no {name}); check --acme-directory")
        })
    };
    Ok(Directory {
        new_nonce: field("newNonce")?,
        revoke_cert: field("revokeCert")?,
    })
}

fn directory_json(http: &Http, url: &str) -> Result<Value, String> {
    let mut rsp = http.agent.get(url).call().map_err(|e| transport(url, &e))?;
    let status = rsp.status().as_u16();
    let body = rsp
        .body_mut()
        .read_to_vec()
        .map_err(|e| transport(url, &e))?;
    read_directory_json(url, status, &body)
}

/// The directory document in the CA's answer (`status`, `body`) to a GET of `url`.
fn read_directory_json(url: &str, status: u16, body: &[u8]) -> Result<Value, String> {
    if status != 200 {
        return Err(format!(
            "the ACME directory {url} answered HTTP {status}; check --acme-directory"
        ));
    }
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            format!(
                "{url} is not an ACME directory (its answer is not a JSON object); check --acme-directory"
            )
        })
}

fn replay_nonce(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("replay-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn fresh_nonce(http: &Http, url: &str) -> Result<String, String> {
    let rsp = http
        .agent
        .head(url)
        .call()
        .map_err(|e| transport(url, &e))?;
    replay_nonce(rsp.headers()).ok_or_else(|| format!("the ACME server gave no nonce at {url}"))
}

/// Sends revokeCert for `cert_der`, reason keyCompromise, signed by `key` (the certificate's
/// own key) with a `jwk` header. `alreadyRevoked` is success; a bad nonce is retried.
pub fn revoke_with_key(
    http: &Http,
    directory_url: &str,
    key: &super::jws::SigningKey,
    cert_der: &[u8],
) -> Result<Outcome, String> {
    let dir = directory(http, directory_url)?;
    let payload = json!({
        "certificate": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cert_der),
        "reason": 1,
    });
    let mut nonce = fresh_nonce(http, &dir.new_nonce)?;
    for _ in 0..NONCE_RETRIES {
        let body = key.jws(&nonce, &dir.revoke_cert, &payload)?;
        let mut rsp = http
            .agent
            .post(&dir.revoke_cert)
            .header("content-type", "application/jose+json")
            .send(body.as_bytes())
            .map_err(|e| transport(&dir.revoke_cert, &e))?;
        let status = rsp.status().as_u16();
        http.note(status, rsp.headers());
        let next = replay_nonce(rsp.headers());
        // A 200 body is not read (revocation_answer judges it by the status alone).
        let text = if status == 200 {
            Vec::new()
        } else {
            rsp.body_mut().read_to_vec().unwrap_or_default()
        };
        match revocation_answer(status, &text).map_err(|e| http.explain(e))? {
            Answer::Done(outcome) => return Ok(outcome),
            Answer::BadNonce => {
                nonce = match next {
                    Some(n) => n,
                    None => fresh_nonce(http, &dir.new_nonce)?,
                };
            }
        }
    }
    Err(problem_sentence(
        "badNonce",
        &format!("{NONCE_RETRIES} nonces in a row were refused"),
    ))
}

/// What a CA's answer to revokeCert means.
#[derive(Debug)]
enum Answer {
    Done(Outcome),
    /// Refused for a bad nonce: send it again with a fresh one.
    BadNonce,
}

/// Reads the CA's answer (`status`, `body`) to revokeCert: done, try again, or why not.
fn revocation_answer(status: u16, body: &[u8]) -> Result<Answer, String> {
    if status == 200 {
        return Ok(Answer::Done(Outcome::Revoked));
    }
    let problem: Problem = serde_json::from_slice(body).map_err(|_| {
        format!(
            "the ACME server answered HTTP {status} to the revocation, without a problem document"
        )
    })?;
    match problem.r#type.as_deref().and_then(|t| t.strip_prefix(URN)) {
        Some("alreadyRevoked") => Ok(Answer::Done(Outcome::AlreadyRevoked)),
        Some("badNonce") => Ok(Answer::BadNonce),
        _ => Err(problem_text(&problem)),
    }
}

/// Every reader of a CA's bytes on `body`: as the directory, as the answer to revokeCert
/// (HTTP `status`), as an instant-acme problem (its error, mapped), and as a CSR's names.
/// Returns each reader's sentence or result, for the fuzz targets.
#[doc(hidden)]
pub fn fuzz_ca_answer(status: u16, body: &[u8]) -> Vec<Result<String, String>> {
    const URL: &str = "https://ca.example/directory";
    let mut out = vec![
        read_directory_json(URL, status, body)
            .and_then(|v| read_directory(URL, &v))
            .map(|d| format!("{} {}", d.new_nonce, d.revoke_cert)),
        revocation_answer(status, body).map(|a| format!("{a:?}")),
    ];
    if let Ok(p) = serde_json::from_slice::<Problem>(body) {
        out.push(Err(acme_error(&instant_acme::Error::Api(p))));
    }
    out.push(csr_identifiers(body).map(|ids| format!("{} names", ids.len())));
    out
}

/// Revokes with the ACME account key (`--with-account`), when the old key is gone.
pub fn revoke_with_account(account: &Account, cert_der: &[u8]) -> Result<Outcome, String> {
    let rt = runtime()?;
    let der = rustls_pki_types::CertificateDer::from(cert_der.to_vec());
    let result = rt.block_on(account.revoke(&instant_acme::RevocationRequest {
        certificate: &der,
        reason: Some(instant_acme::RevocationReason::KeyCompromise),
    }));
    match result {
        Ok(()) => Ok(Outcome::Revoked),
        Err(instant_acme::Error::Api(p))
            if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyRevoked") =>
        {
            Ok(Outcome::AlreadyRevoked)
        }
        Err(instant_acme::Error::Api(p))
            if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:unauthorized") =>
        {
            Err(format!(
                "the CA refused the revocation signed by the account key (unauthorized: {}): this account did not order the certificate and holds no authorization for all of its names; sign with the old certificate's own key (--old-key FILE), or give the account that ordered it (--acme-account FILE)",
                p.detail.as_deref().unwrap_or("no detail given")
            ))
        }
        Err(e) => Err(acme_error(&e)),
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the ACME client: {e}"))
}

// ---- the account -----------------------------------------------------------------------

/// The account file: the directory it belongs to and instant-acme's credentials (which hold
/// the account's private key: the file is 0600 and never replaced).
#[derive(Serialize, Deserialize)]
struct AccountFile {
    directory: String,
    credentials: AccountCredentials,
}

/// `acme-account-HOST_PORT.json` beside the plan.
pub fn default_account_path(plan_dir: &Path, directory: &str) -> PathBuf {
    let authority = directory
        .split("://")
        .nth(1)
        .unwrap_or(directory)
        .split('/')
        .next()
        .unwrap_or("ca");
    plan_dir.join(format!(
        "acme-account-{}.json",
        crate::csr::safe_name(&authority.replace(':', "_"))
    ))
}

/// Reads the account file without following a symlink; refuses one others can read.
fn read_account_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(format!(
                "--acme-account {}: it is a symbolic link; give the file itself",
                path.display()
            ))
        }
        Err(e) => return Err(format!("--acme-account {}: {e}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = file.metadata().map(|m| m.mode()).unwrap_or(0);
        if mode & 0o077 != 0 {
            return Err(format!(
                "--acme-account {}: it holds the account's private key but others may read it (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    let mut bytes = Zeroizing::new(Vec::new());
    // An account file is a few KiB: never more than 1 MiB is read.
    const MAX_ACCOUNT_FILE: u64 = 1 << 20;
    (&mut file)
        .take(MAX_ACCOUNT_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("--acme-account {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_ACCOUNT_FILE {
        return Err(format!(
            "--acme-account {}: larger than the limit of 1 MiB for an account file; not read",
            path.display()
        ));
    }
    Ok(Some(bytes))
}

/// The account for `directory`: the one in `path`, else (if `create`) a new one (a new P-256
/// key, never the compromised one) saved to `path` 0600. Returns whether it was created.
pub fn account(
    rt: &tokio::runtime::Runtime,
    http: &Http,
    path: &Path,
    directory: &str,
    eab: Option<&ExternalAccountKey>,
    create: bool,
) -> Result<(Account, bool), String> {
    let bytes = read_account_file(path)?;
    check_directory(http, directory)?;
    if let Some(bytes) = bytes {
        let file: AccountFile = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "--acme-account {}: not a certsweep ACME account file ({e})",
                path.display()
            )
        })?;
        if file.directory != directory {
            return Err(format!(
                "--acme-account {}: the account belongs to {}, not {directory}; give another --acme-account FILE",
                path.display(),
                file.directory
            ));
        }
        let account = rt
            .block_on(
                Account::builder_with_http(Box::new(http.clone()))
                    .from_credentials(file.credentials),
            )
            .map_err(|e| http.explain(acme_error(&e)))?;
        return Ok((account, false));
    }
    if !create {
        return Err(format!(
            "--acme-account {}: no such account file (`rotate issue` creates it)",
            path.display()
        ));
    }
    let (account, credentials) = rt
        .block_on(Account::builder_with_http(Box::new(http.clone())).create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            directory.to_owned(),
            eab,
        ))
        .map_err(|e| http.explain(acme_error(&e)))?;
    let text = Zeroizing::new(
        serde_json::to_vec_pretty(&AccountFile {
            directory: directory.to_owned(),
            credentials,
        })
        .map_err(|e| format!("cannot encode the account: {e}"))?,
    );
    crate::csr::output::write_new(path, &text, 0o600).map_err(|(p, e)| {
        format!(
            "the new ACME account could not be saved to {}: {e}; nothing else was done",
            p.display()
        )
    })?;
    Ok((account, true))
}

/// The EAB key from the file the CA gave (base64url, as CAs print it).
pub fn eab_key(kid: &str, file: &Path) -> Result<ExternalAccountKey, String> {
    let raw = Zeroizing::new(
        crate::input::read_all(file, 64 << 10)
            .map_err(|e| crate::inventory::describe_io(&e))
            .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned()))
            .map_err(|e| format!("--eab-hmac-file {}: {e}", file.display()))?,
    );
    let text = raw.trim();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map_err(|_| {
            format!(
                "--eab-hmac-file {}: the HMAC key is not base64url text",
                file.display()
            )
        })?;
    Ok(ExternalAccountKey::new(
        kid.to_owned(),
        &Zeroizing::new(key),
    ))
}

// ---- challenges ------------------------------------------------------------------------

/// How challenges are answered.
pub enum Solver {
    Webroot {
        dir: PathBuf,
        written: Vec<PathBuf>,
    },
    Listen {
        tokens: Arc<Mutex<HashMap<String, String>>>,
        stop: Arc<AtomicBool>,
        addr: std::net::SocketAddr,
    },
    Hook {
        command: String,
        presented: Vec<(String, String)>,
    },
    /// A person (or a script) publishes the answer; `json` prints it as one JSON line.
    Manual {
        dns01: bool,
        json: bool,
    },
}

impl Solver {
    /// Starts the standalone listener now, so a busy port fails before anything is ordered.
    pub fn listen(addr: &str) -> Result<Solver, String> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| format!("--http01-listen {addr}: cannot listen there: {e}"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("--http01-listen {addr}: {e}"))?;
        let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (tokens.clone(), stop.clone());
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(sock) = sock else { continue };
                let t = t.clone();
                std::thread::spawn(move || answer_http01(sock, &t));
            }
        });
        Ok(Solver::Listen {
            tokens,
            stop,
            addr: local,
        })
    }

    fn kind(&self) -> ChallengeType {
        match self {
            Solver::Hook { .. } | Solver::Manual { dns01: true, .. } => ChallengeType::Dns01,
            _ => ChallengeType::Http01,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Solver::Webroot { .. } => "http-01 (webroot)",
            Solver::Listen { .. } => "http-01 (standalone listener)",
            Solver::Hook { .. } => "dns-01 (hook)",
            Solver::Manual { dns01: false, .. } => "http-01 (manual)",
            Solver::Manual { dns01: true, .. } => "dns-01 (manual)",
        }
    }

    /// Puts the answer where the CA will look.
    fn present(
        &mut self,
        name: &str,
        token: &str,
        key_auth: &str,
        dns_value: &str,
    ) -> Result<(), String> {
        match self {
            Solver::Webroot { dir, written } => {
                let folder = dir.join(".well-known").join("acme-challenge");
                std::fs::create_dir_all(&folder)
                    .map_err(|e| format!("--http01-webroot {}: {e}", folder.display()))?;
                let file = folder.join(token);
                std::fs::write(&file, key_auth)
                    .map_err(|e| format!("--http01-webroot {}: {e}", file.display()))?;
                written.push(file);
                Ok(())
            }
            Solver::Listen { tokens, .. } => {
                tokens
                    .lock()
                    .map_err(|_| "the challenge listener stopped".to_owned())?
                    .insert(token.to_owned(), key_auth.to_owned());
                Ok(())
            }
            Solver::Hook { command, presented } => {
                run_hook(command, "present", name, dns_value)?;
                presented.push((name.to_owned(), dns_value.to_owned()));
                Ok(())
            }
            Solver::Manual { dns01, json } => {
                let domain = name.trim_start_matches("*.");
                let txt_name = format!("_acme-challenge.{domain}");
                let url = format!("http://{name}/.well-known/acme-challenge/{token}");
                let text = match (*json, *dns01) {
                    (true, true) => json!({
                        "challenge": "dns-01",
                        "identifier": name,
                        "txt_name": txt_name,
                        "txt_value": dns_value,
                    })
                    .to_string(),
                    (true, false) => json!({
                        "challenge": "http-01",
                        "identifier": name,
                        "url": url,
                        "token": token,
                        "content": key_auth,
                    })
                    .to_string(),
                    (false, true) => format!(
                        "certsweep: for {name}, publish this DNS TXT record:\n{txt_name}. TXT \"{dns_value}\"\nthen press Enter once it is visible (Ctrl-D aborts; the order is kept and resumed by the next run)"
                    ),
                    (false, false) => format!(
                        "certsweep: for {name}, serve {url} with exactly this content:\n{key_auth}\nthen press Enter once it is served (Ctrl-D aborts; the order is kept and resumed by the next run)"
                    ),
                };
                let mut err = std::io::stderr().lock();
                writeln!(err, "{text}")
                    .and_then(|()| err.flush())
                    .map_err(|e| format!("--manual: {e}"))?;
                drop(err);
                let mut line = String::new();
                let n = std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("--manual: {e}"))?;
                if n == 0 {
                    return Err(format!(
                        "--manual: aborted (stdin ended before a line confirmed the answer for {name}); nothing was issued"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Removes what `present` put up.
    pub fn clean_up(&mut self) {
        match self {
            Solver::Webroot { written, .. } => {
                for f in written.drain(..) {
                    let _ = std::fs::remove_file(f);
                }
            }
            Solver::Listen { tokens, .. } => {
                if let Ok(mut t) = tokens.lock() {
                    t.clear();
                }
            }
            Solver::Hook { command, presented } => {
                for (name, value) in presented.drain(..) {
                    if let Err(e) = run_hook(command, "cleanup", &name, &value) {
                        eprintln!("certsweep: {e}");
                    }
                }
            }
            Solver::Manual { .. } => {}
        }
    }
}

impl Drop for Solver {
    fn drop(&mut self) {
        self.clean_up();
        if let Solver::Listen { stop, addr, .. } = self {
            stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag.
            let _ = std::net::TcpStream::connect_timeout(addr, Duration::from_millis(200));
        }
    }
}

/// One HTTP/1.x request to the standalone listener: the key authorization for a known token,
/// else 404.
fn answer_http01(mut sock: std::net::TcpStream, tokens: &Mutex<HashMap<String, String>>) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        match sock.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let path = text.split_whitespace().nth(1).unwrap_or("");
    let answer = path
        .strip_prefix("/.well-known/acme-challenge/")
        .and_then(|token| tokens.lock().ok()?.get(token).cloned());
    let reply = match answer {
        Some(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = sock.write_all(reply.as_bytes());
}

/// Runs the dns-01 hook: `sh -c COMMAND` with the record in the environment.
fn run_hook(command: &str, action: &str, name: &str, value: &str) -> Result<(), String> {
    let domain = name.trim_start_matches("*.");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("CERTSWEEP_ACME_ACTION", action)
        .env("CERTSWEEP_ACME_DOMAIN", domain)
        .env(
            "CERTSWEEP_ACME_TXT_NAME",
            format!("_acme-challenge.{domain}"),
        )
        .env("CERTSWEEP_ACME_TXT_VALUE", value)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("--dns01-hook could not be started: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "--dns01-hook failed ({status}) to {action} the TXT record for {domain}; fix the hook and run again"
        ))
    }
}

// ---- ordering --------------------------------------------------------------------------

/// The names a CSR asks for, exactly (subjectAltName; else the CN), as ACME identifiers.
pub fn csr_identifiers(csr_der: &[u8]) -> Result<Vec<Identifier>, String> {
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer;
    let (_, csr) = X509CertificationRequest::from_der(csr_der)
        .map_err(|_| "the CSR file is not a readable CSR".to_owned())?;
    let mut ids = Vec::new();
    for ext in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(d) => ids.push(Identifier::Dns((*d).to_owned())),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => ids.push(Identifier::Ip(
                            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())
                                .into(),
                        )),
                        16 => ids.push(Identifier::Ip(
                            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())
                                .into(),
                        )),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
    }
    if ids.is_empty() {
        if let Some(cn) = csr
            .certification_request_info
            .subject
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
        {
            ids.push(Identifier::Dns(cn.to_owned()));
        }
    }
    if ids.is_empty() {
        return Err("the CSR names no host (no subjectAltName, no CN)".into());
    }
    Ok(ids)
}

/// Whether the CA's answer to a request for a recorded order says it has no such order
/// (404/410, or a problem document), as opposed to a failure to reach it, after which the
/// order may still be there.
fn order_gone(http: &Http, e: &instant_acme::Error) -> bool {
    let status = http.last_status.lock().map(|s| *s).unwrap_or(0);
    match e {
        instant_acme::Error::Other(_) => false,
        instant_acme::Error::Api(p) => !matches!(
            p.r#type.as_deref().and_then(|t| t.strip_prefix(URN)),
            Some("rateLimited" | "serverInternal" | "badNonce")
        ),
        _ => status == 404 || status == 410,
    }
}

/// What `order` was told about an order an interrupted run recorded.
pub struct Resume<'a> {
    pub order_url: &'a str,
}

/// Where the certificate came from.
pub struct Issued {
    pub order_url: String,
    pub pem: String,
    /// What happened to a recorded order (resumed, or why a new one was made).
    pub notes: Vec<String>,
}

/// Why `order` failed, and whether the order it worked on may still give a certificate
/// (then its record is kept so that the next run resumes it).
pub struct OrderFailed {
    pub reason: String,
    /// The order (if one was made or resumed) and whether it is still usable.
    pub order: Option<(String, bool)>,
}

/// Orders a certificate for `ids` (or resumes the order in `resume`), answers the
/// challenges, finalizes with `csr_der` and returns the order URL and the PEM chain.
/// `record(url, finalize_sent)` is called with the order URL before anything is answered
/// and again just before finalize is sent: the caller writes it to the plan, so a run
/// killed after the CA issued resumes this order instead of making a second certificate.
#[allow(clippy::too_many_arguments)]
pub fn order(
    rt: &tokio::runtime::Runtime,
    http: &Http,
    account: &Account,
    ids: &[Identifier],
    csr_der: &[u8],
    solver: &mut Solver,
    wait: Duration,
    resume: Option<Resume<'_>>,
    record: &mut dyn FnMut(&str, bool) -> Result<(), String>,
) -> Result<Issued, OrderFailed> {
    let mut current: Option<String> = None;
    let mut notes = Vec::new();
    let result = rt.block_on(async {
        // instant-acme waits `initial_delay` before each first poll: short, doubling (a CA's
        // Retry-After wins), so a fast CA is not made to wait and a slow one is not hammered.
        let policy = RetryPolicy::new()
            .initial_delay(Duration::from_millis(10))
            .backoff(2.0)
            .timeout(wait);
        let mut order = None;
        if let Some(r) = resume {
            match account.order(r.order_url.to_owned()).await {
                Ok(mut o) => {
                    let status = o.state().status;
                    if status == OrderStatus::Invalid {
                        notes.push(format!(
                            "the order {} recorded by an interrupted run is invalid at the CA (expired or failed); a new order was made",
                            r.order_url
                        ));
                    } else {
                        notes.push(format!(
                            "resumed the order {} recorded by an interrupted run (the CA has it as {}); no new order was made",
                            r.order_url,
                            status_name(status)
                        ));
                        order = Some(o);
                    }
                }
                Err(e) if order_gone(http, &e) => notes.push(format!(
                    "the order {} recorded by an interrupted run is gone at the CA ({}); a new order was made",
                    r.order_url,
                    match &e {
                        instant_acme::Error::Api(p) =>
                            p.detail.as_deref().unwrap_or("no detail given").to_owned(),
                        _ => format!(
                            "HTTP {}",
                            http.last_status.lock().map(|s| *s).unwrap_or(0)
                        ),
                    }
                )),
                Err(e) => {
                    current = Some(r.order_url.to_owned());
                    return Err(acme_error(&e));
                }
            }
        }
        let mut order = match order {
            Some(o) => o,
            None => {
                let o = account
                    .new_order(&NewOrder::new(ids))
                    .await
                    .map_err(|e| acme_error(&e))?;
                record(o.url(), false)?;
                o
            }
        };
        let url = order.url().to_owned();
        current = Some(url.clone());
        let mut status = order.state().status;
        if status == OrderStatus::Pending {
            let kind = solver.kind();
            let mut auths = order.authorizations();
            while let Some(auth) = auths.next().await {
                let mut auth = auth.map_err(|e| acme_error(&e))?;
                match auth.status {
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    other => {
                        // RFC 8555's word for it ("invalid", "expired"…), as the CA sent it.
                        let word = serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_else(|| "not usable".to_owned());
                        return Err(format!(
                            "the CA's authorization for {} is {word}, not pending; run again for a new order",
                            auth.identifier()
                        ));
                    }
                }
                let name = auth.identifier().to_string();
                let mut challenge = auth.challenge(kind.clone()).ok_or_else(|| {
                    let kind = match kind {
                        ChallengeType::Dns01 => "dns-01",
                        _ => "http-01",
                    };
                    format!("the CA offers no {kind} challenge for {name}; use another challenge option")
                })?;
                let key_auth = challenge.key_authorization();
                solver.present(&name, &challenge.token, key_auth.as_str(), &key_auth.dns_value())?;
                challenge.set_ready().await.map_err(|e| acme_error(&e))?;
            }
            status = order
                .poll_ready(&policy)
                .await
                .map_err(|e| acme_error(&e))?;
            if status != OrderStatus::Ready {
                return Err(format!(
                    "the CA did not validate the names (order {url} is {}); check that the challenge is reachable",
                    status_name(status)
                ));
            }
        }
        if status == OrderStatus::Ready {
            record(&url, true)?;
            order
                .finalize_csr(csr_der)
                .await
                .map_err(|e| acme_error(&e))?;
        }
        let pem = order
            .poll_certificate(&policy)
            .await
            .map_err(|e| acme_error(&e))?;
        Ok((url, pem))
    });
    solver.clean_up();
    match result {
        Ok((order_url, pem)) => Ok(Issued {
            order_url,
            pem,
            notes,
        }),
        Err(reason) => {
            // Is the order still worth resuming? Ask the CA once; when it cannot say, keep it.
            let order = current.map(|url| {
                let alive = rt
                    .block_on(account.order(url.clone()))
                    .map(|mut o| o.state().status != OrderStatus::Invalid)
                    .unwrap_or_else(|e| !order_gone(http, &e));
                (url, alive)
            });
            Err(OrderFailed { reason, order })
        }
    }
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Ready => "ready",
        OrderStatus::Processing => "processing",
        OrderStatus::Valid => "valid",
        OrderStatus::Invalid => "invalid",
    }
}
