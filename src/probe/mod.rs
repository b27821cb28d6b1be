//! `certsweep probe`: what live endpoints really serve, and whether it is exposed.
//!
//! Each target gets a TCP connection and a TLS 1.2/1.3 handshake (rustls, aws-lc-rs) whose
//! certificate check is done by `danger::CapturingVerifier`: it records the served chain and
//! the real verdict but lets the handshake finish. Targets run on a bounded pool of threads
//! with blocking sockets; every step is bounded by the target's deadline; results keep the
//! input order.

pub mod danger;
pub mod legacy;
pub mod ocsp;
pub mod report;
pub mod starttls;
pub mod targets;
mod wire;

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::audit::Prepared;
use crate::cert::{self, CertFacts, DigestMap, Sha256};
use crate::classify::{self, Classified, Status};
use crate::cli::ProbeArgs;
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::inventory::InputError;
use crate::progress::Progress;
use danger::{CapturingVerifier, NoClientCert, Verdicts};
use targets::{Host, Target};

/// Per-target time limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub connect: Duration,
    pub total: Duration,
}

/// What one target gave. `error` is set when the probe did not complete; whatever was
/// learnt before the failure (TLS version, chain) is kept.
#[derive(Debug)]
pub struct Probed {
    pub target: Target,
    pub address: Option<SocketAddr>,
    pub error: Option<String>,
    pub tls_version: Option<&'static str>,
    pub cipher_suite: Option<String>,
    pub client_certificate_requested: bool,
    /// The chain was captured by the legacy handshake (`legacy`): rustls could not
    /// negotiate with the server.
    pub legacy_tls: bool,
    pub chain: Vec<Arc<CertFacts>>,
    /// The served chain's DER, leaf first; kept only for `served_chain` (`rotate verify`).
    pub chain_der: Vec<CertificateDer<'static>>,
    /// `--check-revocation`: what OCSP says about the served leaf.
    pub revocation: Option<ocsp::Revocation>,
    /// `None` when no chain was received; `Some(None)` when it verifies.
    pub verify_error: Option<Option<String>>,
    pub elapsed: Duration,
}

impl Probed {
    /// A target not yet probed: nothing learnt.
    fn new(target: &Target) -> Self {
        Probed {
            target: target.clone(),
            address: None,
            error: None,
            tls_version: None,
            cipher_suite: None,
            client_certificate_requested: false,
            legacy_tls: false,
            chain: Vec::new(),
            chain_der: Vec::new(),
            revocation: None,
            verify_error: None,
            elapsed: Duration::ZERO,
        }
    }

    pub fn verified(&self) -> bool {
        matches!(self.verify_error, Some(None)) && !self.chain.is_empty()
    }
}

/// The probe verdict of a target. When several apply, the first in this order wins (see
/// `status`): what the chain received says comes before a handshake that then failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeStatus {
    /// The served leaf is exposed or key-reused, or its key is in the exposed set.
    ServingExposed,
    /// The served leaf is expired at `--now`.
    Expired,
    /// `--check-revocation`: OCSP says the served leaf is revoked.
    Revoked,
    /// Judged against an inventory: the served leaf is not in it and does not verify for
    /// the name.
    UnexpectedCertificate,
    /// The server speaks only TLS 1.0/1.1 or suites rustls refuses: its chain was captured
    /// by the legacy handshake.
    LegacyTls,
    /// `--strict`: the served chain does not verify for the name.
    VerifyFailed,
    /// The probe did not complete (and the chain, if any, showed none of the above).
    Error,
    /// Judged against an inventory: the served key is not in the exposed set.
    ServingReplaced,
    /// Probed, with no inventory to judge against.
    Ok,
}

impl ProbeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeStatus::ServingExposed => "serving-exposed",
            ProbeStatus::Expired => "expired",
            ProbeStatus::Revoked => "revoked",
            ProbeStatus::UnexpectedCertificate => "unexpected-certificate",
            ProbeStatus::LegacyTls => "legacy-tls",
            ProbeStatus::VerifyFailed => "verify-failed",
            ProbeStatus::Error => "error",
            ProbeStatus::ServingReplaced => "serving-replaced",
            ProbeStatus::Ok => "ok",
        }
    }

    /// A finding: exit 1.
    pub fn needs_action(self) -> bool {
        matches!(
            self,
            ProbeStatus::ServingExposed
                | ProbeStatus::Expired
                | ProbeStatus::Revoked
                | ProbeStatus::UnexpectedCertificate
                | ProbeStatus::LegacyTls
                | ProbeStatus::VerifyFailed
        )
    }
}

/// The status of a target, the first that applies:
/// 1. `serving-exposed`: the served key is exposed (judged from the chain received, even when
///    the handshake then failed, e.g. the server required a client certificate);
/// 2. `expired`: the served leaf is expired at `now`;
/// 3. `revoked`: with `--check-revocation`, OCSP says the served leaf is revoked;
/// 4. `unexpected-certificate`: with an inventory, the leaf is not in it and the chain does
///    not verify for the name;
/// 5. `legacy-tls`: only the legacy handshake reached the server (an exposed, expired or
///    revoked certificate served over legacy TLS keeps that status: the key is the news);
/// 6. `verify-failed`: with `--strict`, the chain does not verify for the name;
/// 7. `error`: the probe did not complete;
/// 8. `serving-replaced` (with an inventory) or `ok`.
///
/// Adds the reason for statuses 2 to 6 to the judgement (and the legacy one whenever the
/// server spoke only legacy TLS).
fn status(
    p: &Probed,
    j: &mut Judgement,
    judged: bool,
    strict: bool,
    now: time::OffsetDateTime,
) -> ProbeStatus {
    if p.legacy_tls {
        j.reasons.push(format!(
            "the server speaks only legacy TLS ({}, {}): it refused TLS 1.2 and 1.3 with current cipher suites, which clients now require; enable TLS 1.2 or later there",
            p.tls_version.unwrap_or("?"),
            p.cipher_suite.as_deref().unwrap_or("?")
        ));
    }
    if j.key_exposed == Some(true) {
        return ProbeStatus::ServingExposed;
    }
    if let Some(leaf) = p.chain.first() {
        if leaf.not_after < now {
            j.reasons.push(format!(
                "the served certificate expired at {} (now is {}): clients refuse it; install a valid certificate",
                crate::timefmt::rfc3339(leaf.not_after),
                crate::timefmt::rfc3339(now)
            ));
            return ProbeStatus::Expired;
        }
        if let Some(r) = p
            .revocation
            .as_ref()
            .filter(|r| r.status == ocsp::RevocationStatus::Revoked)
        {
            j.reasons.push(format!(
                "the served certificate is revoked{}{}, says OCSP ({}): clients that check refuse it; install its replacement",
                r.revoked_at.as_deref().map(|t| format!(" since {t}")).unwrap_or_default(),
                r.reason.map(|t| format!(" (reason {t})")).unwrap_or_default(),
                r.responder.as_deref().unwrap_or("stapled by the server"),
            ));
            return ProbeStatus::Revoked;
        }
        if let Some(Some(why)) = &p.verify_error {
            if judged && j.matched.is_none() {
                j.reasons.push(format!(
                    "the served certificate is not in the inventory and does not verify for the name ({why}): find out who installed it"
                ));
                return ProbeStatus::UnexpectedCertificate;
            }
        }
        if p.legacy_tls {
            return ProbeStatus::LegacyTls;
        }
        if let Some(Some(why)) = &p.verify_error {
            if strict {
                j.reasons.push(format!(
                    "--strict: the served chain does not verify for the name ({why})"
                ));
                return ProbeStatus::VerifyFailed;
            }
        }
    }
    if p.error.is_some() {
        ProbeStatus::Error
    } else if judged {
        ProbeStatus::ServingReplaced
    } else {
        ProbeStatus::Ok
    }
}

/// How the served leaf relates to the inventory.
#[derive(Debug, Default)]
pub struct Judgement {
    /// The inventory certificate with the same fingerprint, and its verdict.
    pub matched: Option<usize>,
    pub leaf_status: Option<Status>,
    /// `None` without an inventory.
    pub key_exposed: Option<bool>,
    pub reasons: Vec<String>,
}

/// Everything the renderers need.
pub struct ProbeReport<'a> {
    pub now: time::OffsetDateTime,
    pub limits: Limits,
    pub trust: String,
    pub inventory: Option<&'a Prepared>,
    pub results: Vec<(Probed, ProbeStatus, Judgement)>,
    pub errors: Vec<InputError>,
}

pub fn run(args: &ProbeArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let limits = Limits {
        connect: seconds("--connect-timeout", args.connect_timeout)?,
        total: seconds("--timeout", args.timeout)?,
    };
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".into()));
    }
    let starttls = args
        .starttls
        .as_deref()
        .map(starttls::Starttls::parse)
        .transpose()
        .map_err(|e| Error::Usage(format!("--starttls: {e}")))?;
    let mut errors = Vec::new();
    let mut list = Vec::new();
    for t in &args.targets {
        let mut target = targets::parse(t, args.sni.as_deref())
            .map_err(|e| Error::Usage(format!("target {e}")))?;
        if let Some(mode) = starttls {
            target.starttls = mode;
        }
        list.push(target);
    }
    for path in &args.targets_file {
        list.extend(targets::read_file(
            path,
            args.sni.as_deref(),
            starttls,
            &mut errors,
        ));
    }
    if list.is_empty() && errors.is_empty() {
        return Err(Error::Usage(
            "nothing to probe: give HOST[:PORT] targets or --targets FILE".into(),
        ));
    }

    let inv_args = &args.inventory;
    let has_inventory = !inv_args.paths.is_empty() || !inv_args.manifest.is_empty();
    if has_inventory && inv_args.cutoff.is_none() && inv_args.exposed_keys.is_empty() {
        return Err(Error::Usage(
            "an inventory (--manifest/--inventory) needs --cutoff (or --exposed-keys) to tell which keys are exposed"
                .into(),
        ));
    }
    let judge_exposure = inv_args.cutoff.is_some() || !inv_args.exposed_keys.is_empty();
    let prepared = if judge_exposure {
        Some(crate::audit::prepare(inv_args, ctx, 30, false)?)
    } else {
        None
    };
    let classified = prepared
        .as_ref()
        .map(|p| classify::classify(&p.inventory, &p.revocations, &p.exposed_list, &p.policy));

    let (roots, trust) = trust_anchors(&inv_args.roots)?;
    let provider = provider();
    let webpki = if roots.is_empty() {
        Err(
            "no trusted roots: the system trust store is empty or unreadable (give --roots FILE)"
                .to_owned(),
        )
    } else {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("cannot build the certificate verifier: {e}"))
    };
    let mut shared = Shared::new(provider, Verdicts::new(webpki, unix_time(ctx.now)), limits);
    shared.check_revocation = args.check_revocation;
    shared.now = ctx.now;

    let progress = Progress::new(ctx, list.len(), ("probed ", " targets"), true);
    let probed = probe_all(&list, &shared, args.concurrency, &progress);
    let judge = Judge::new(prepared.as_ref(), classified.as_ref());
    let results: Vec<_> = probed
        .into_iter()
        .map(|p| {
            let mut j = judge.judge(&p);
            let status = status(&p, &mut j, judge_exposure, args.strict, ctx.now);
            (p, status, j)
        })
        .collect();

    if let Some(p) = &prepared {
        errors.extend(p.inventory.errors.iter().cloned());
        crate::report::messages::report_warnings(&p.inventory.warnings);
    }
    let report = ProbeReport {
        now: ctx.now,
        limits,
        trust,
        inventory: prepared.as_ref(),
        results,
        errors,
    };
    crate::report::messages::report_errors(&report.errors);
    report_failures(&report);
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        report::write(&report, ctx.format, &ctx.style, &mut out)?;
        out.finish()?;
    }
    let s = report.summary();
    Ok(ExitCode::of(!s.complete, s.action_required))
}

fn seconds(flag: &str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
        .ok_or_else(|| {
            Error::Usage(format!(
                "{flag}: {value} is not a number of seconds in (0, 3600]"
            ))
        })
}

/// Every failed target, once, on stderr (escaped: reasons quote what servers sent).
fn report_failures(report: &ProbeReport<'_>) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for (p, _, _) in &report.results {
        let Some(r) = &p.revocation else { continue };
        if r.status == ocsp::RevocationStatus::Error {
            let target = crate::sanitize::escape(&p.target.to_string());
            let why = crate::sanitize::escape(r.detail.as_deref().unwrap_or(""));
            let _ = writeln!(
                err,
                "certsweep: error: {target}: revocation not checked: {why}"
            );
        }
    }
    for (p, status, _) in &report.results {
        let Some(e) = &p.error else { continue };
        let target = crate::sanitize::escape(&p.target.to_string());
        let e = crate::sanitize::escape(e);
        let _ = if *status == ProbeStatus::Error {
            writeln!(err, "certsweep: error: {target}: {e}")
        } else {
            writeln!(
                err,
                "certsweep: warning: {target}: {e} (judged {} from the certificate it sent first)",
                status.as_str()
            )
        };
    }
}

/// The trust anchors: `--roots` files if given (they replace the system store), else the
/// system store. Returns the store and how to describe it in the report.
fn trust_anchors(paths: &[PathBuf]) -> Result<(RootCertStore, String), Error> {
    let mut store = RootCertStore::empty();
    if paths.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
        return Ok((store, "system".into()));
    }
    for path in paths {
        let shown = path.display();
        // The shared loader: PEM, DER and PKCS#7 bundles alike.
        let opts = crate::inventory::ReadOptions {
            keep_der: true,
            ..Default::default()
        };
        let loaded = std::fs::File::open(path)
            .and_then(|f| crate::inventory::read_input_with(std::io::BufReader::new(f), &opts))
            .map_err(|e| {
                Error::Usage(format!(
                    "--roots {shown}: {}",
                    crate::inventory::describe_io(&e)
                ))
            })?;
        if let Some((_, reason)) = loaded.errors.first() {
            return Err(Error::Usage(format!("--roots {shown}: {reason}")));
        }
        let certs: Vec<CertificateDer<'static>> =
            loaded.ders.into_iter().map(CertificateDer::from).collect();
        if certs.is_empty() {
            return Err(Error::Usage(format!(
                "--roots {shown}: no certificates in the file"
            )));
        }
        let (_, bad) = store.add_parsable_certificates(certs);
        if bad > 0 {
            return Err(Error::Usage(format!(
                "--roots {shown}: {bad} certificate(s) could not be used as trust anchors"
            )));
        }
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Ok((store, names.join(", ")))
}

/// The chain `endpoint` (HOST:PORT) serves, leaf first, exactly as sent, for
/// `rotate uploaded/verify`, which judge it themselves (is it the imported certificate, does
/// it verify for the name against their roots).
pub fn served_chain(
    endpoint: &str,
    sni: Option<&str>,
    timeout: Duration,
    now: time::OffsetDateTime,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let target = targets::parse(endpoint, sni)?;
    let mut shared = Shared::new(
        provider(),
        Verdicts::new(
            Err("not checked here: the caller verifies the chain".into()),
            unix_time(now),
        ),
        Limits {
            connect: timeout.min(Duration::from_secs(5)),
            total: timeout,
        },
    );
    shared.keep_der = true;
    let probed = probe_one(&target, &shared, Client::new(&shared).as_ref());
    match (probed.chain_der.is_empty(), probed.error) {
        (false, _) => Ok(probed.chain_der),
        (true, Some(e)) => Err(e),
        (true, None) => Err("the endpoint sent no certificate".into()),
    }
}

/// What every probe shares: built once.
struct Shared {
    provider: Arc<CryptoProvider>,
    verdicts: Arc<Verdicts>,
    limits: Limits,
    /// `--check-revocation`, and `--now` for the freshness of OCSP answers.
    check_revocation: bool,
    now: time::OffsetDateTime,
    /// Responder answers by leaf fingerprint: a fleet serving one certificate asks once.
    revocations: Mutex<DigestMap<ocsp::Revocation>>,
    /// Served certificates already read, by fingerprint: a fleet serving one chain has it
    /// parsed once.
    facts: Mutex<DigestMap<Arc<CertFacts>>>,
    /// Keep each served chain's DER in `Probed::chain_der` (one endpoint, not a fleet).
    keep_der: bool,
}

impl Shared {
    fn new(provider: Arc<CryptoProvider>, verdicts: Verdicts, limits: Limits) -> Self {
        Shared {
            provider,
            verdicts: Arc::new(verdicts),
            limits,
            check_revocation: false,
            now: time::OffsetDateTime::UNIX_EPOCH,
            revocations: Mutex::default(),
            facts: Mutex::default(),
            keep_der: false,
        }
    }

    /// What OCSP says about the served leaf (`served[0]`): the staple if any, else the
    /// responder, asked once per certificate per run.
    fn revocation(&self, served: &[CertificateDer<'_>], stapled: &[u8]) -> ocsp::Revocation {
        let fingerprint = Sha256::of(&served[0]);
        let lock = || self.revocations.lock().unwrap_or_else(|p| p.into_inner());
        if stapled.is_empty() {
            if let Some(r) = lock().get(&fingerprint) {
                return r.clone();
            }
        }
        let r = ocsp::check(
            &served[0],
            served.get(1).map(|c| c.as_ref()),
            stapled,
            self.now,
            self.limits.total,
        );
        if stapled.is_empty() {
            lock().insert(fingerprint, r.clone());
        }
        r
    }

    /// The facts of one served certificate, parsed once per run.
    fn facts(&self, der: &[u8]) -> Result<Arc<CertFacts>, cert::CertError> {
        let fingerprint = Sha256::of(der);
        let lock = || self.facts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = lock().get(&fingerprint) {
            return Ok(f.clone());
        }
        let f = Arc::new(cert::parse_der(der)?);
        lock().insert(fingerprint, f.clone());
        Ok(f)
    }
}

/// One worker's TLS client, built once and used for one connection at a time: building a
/// rustls config costs more than a handshake's own bookkeeping. The verifier and the
/// client-certificate resolver are emptied after each connection.
struct Client {
    verifier: Arc<CapturingVerifier>,
    client_cert: Arc<NoClientCert>,
    with_sni: Arc<ClientConfig>,
    without_sni: Arc<ClientConfig>,
}

impl Client {
    fn new(shared: &Shared) -> Result<Self, String> {
        let verifier = Arc::new(CapturingVerifier::new(
            shared.verdicts.clone(),
            shared.provider.signature_verification_algorithms,
        ));
        let client_cert = Arc::new(NoClientCert::default());
        let config = |sni: bool| -> Result<Arc<ClientConfig>, String> {
            let mut config = ClientConfig::builder_with_provider(shared.provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| format!("TLS configuration: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone())
                .with_client_cert_resolver(client_cert.clone());
            // Every probe must see the certificate: a resumed session would skip it.
            config.resumption = Resumption::disabled();
            config.enable_sni = sni;
            Ok(Arc::new(config))
        };
        Ok(Client {
            with_sni: config(true)?,
            without_sni: config(false)?,
            verifier,
            client_cert,
        })
    }
}

/// aws-lc-rs, offering AES-128-GCM first within each TLS version (as browsers do): a server
/// that follows the client's order then runs the SHA-256 key schedule, which this CPU does
/// in hardware, instead of SHA-384. Every suite is still offered, and the one the server
/// picks is what the report shows.
fn provider() -> Arc<CryptoProvider> {
    use rustls::CipherSuite as S;
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    p.cipher_suites.sort_by_key(|s| {
        let aes128 = matches!(
            s.suite(),
            S::TLS13_AES_128_GCM_SHA256
                | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        );
        (
            s.version().version != rustls::ProtocolVersion::TLSv1_3,
            !aes128,
        )
    });
    Arc::new(p)
}

fn unix_time(t: time::OffsetDateTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(t.unix_timestamp()).unwrap_or(0),
    ))
}

/// Probes every target on at most `concurrency` threads; results are in input order.
fn probe_all(
    list: &[Target],
    shared: &Shared,
    concurrency: usize,
    progress: &Progress,
) -> Vec<Probed> {
    let slots: Vec<OnceLock<Probed>> = list.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let client = Client::new(shared);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(target) = list.get(i) else { break };
            let probed = probe_one(target, shared, client.as_ref());
            progress.one_done(probed.error.is_some());
            let _ = slots[i].set(probed);
        }
    };
    thread::scope(|s| {
        let workers = concurrency.min(list.len());
        let mut started = 0;
        for _ in 0..workers {
            // Small stacks: a worker only holds a socket and a rustls connection.
            if thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(s, work)
                .is_ok()
            {
                started += 1;
            }
        }
        if started == 0 {
            work();
        }
    });
    slots
        .into_iter()
        .zip(list)
        .map(|(slot, t)| {
            slot.into_inner().unwrap_or_else(|| Probed {
                error: Some("not probed (internal error: no worker took it)".into()),
                ..Probed::new(t)
            })
        })
        .collect()
}

fn probe_one(target: &Target, shared: &Shared, client: Result<&Client, &String>) -> Probed {
    let start = Instant::now();
    let mut p = Probed::new(target);
    let deadline = start + shared.limits.total;
    let (mut served, mut stapled) = (Vec::new(), Vec::new());
    let outcome = client.map_err(String::clone).and_then(|c| {
        session(
            target,
            shared,
            c,
            deadline,
            &mut p,
            &mut served,
            &mut stapled,
        )
    });
    if let Err(e) = outcome {
        p.error = Some(e);
    }
    if shared.check_revocation && !served.is_empty() {
        p.revocation = Some(shared.revocation(&served, &stapled));
    }
    if shared.keep_der {
        p.chain_der = served;
    }
    p.elapsed = start.elapsed();
    p
}

/// Time left before `deadline`, or a timeout error naming the step.
fn left(deadline: Instant, total: Duration, step: &str) -> Result<Duration, String> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(format!("timed out after {} {step}", secs(total)))
    } else {
        Ok(d)
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Probes one target; the served chain and any stapled OCSP response are handed back in
/// `served` and `stapled` (for `--check-revocation`, after the connection is done).
fn session(
    target: &Target,
    shared: &Shared,
    client: &Client,
    deadline: Instant,
    p: &mut Probed,
    served: &mut Vec<CertificateDer<'static>>,
    stapled: &mut Vec<u8>,
) -> Result<(), String> {
    let total = shared.limits.total;
    let addrs = match &target.host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, target.port)],
        Host::Dns(name) => resolve(name, target.port, deadline, total)?,
    };
    let (mut sock, peer) = connect(&addrs, shared.limits.connect, deadline, total)?;
    p.address = Some(peer);
    let _ = sock.set_nodelay(true);
    starttls_if_asked(target, &mut sock, deadline, total)?;

    let server_name = match target.server_name() {
        Some(n) => n,
        None => ServerName::IpAddress(peer.ip().into()),
    };
    let config = if target.sni.is_some() {
        &client.with_sni
    } else {
        &client.without_sni
    };
    let mut conn = ClientConnection::new(config.clone(), server_name)
        .map_err(|e| format!("TLS setup: {e}"))?;

    let mut refused = false;
    let outcome = handshake(&mut conn, &mut sock, deadline, total, &mut refused);
    let captured = client.verifier.take();
    p.client_certificate_requested = client.client_cert.take_asked();
    if let Some(c) = captured {
        p.verify_error = Some(c.verify_error);
        for (i, der) in c.chain.iter().enumerate() {
            match shared.facts(der) {
                Ok(f) => p.chain.push(f),
                Err(e) => {
                    return Err(format!(
                        "served certificate #{} could not be read: {e}",
                        i + 1
                    ))
                }
            }
        }
        *served = c.chain;
        *stapled = c.ocsp;
    }
    p.tls_version = conn.protocol_version().map(version_name);
    p.cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    if let (Err(e), true, true) = (&outcome, refused, p.chain.is_empty()) {
        return legacy_session(target, shared, peer, deadline, p, served)
            .map_err(|l| format!("{e}; a legacy TLS 1.0-1.2 handshake failed too: {l}"));
    }
    if let Err(e) = outcome {
        return Err(if p.client_certificate_requested {
            format!("the server requires a client certificate: {e}")
        } else {
            e
        });
    }
    if !p.client_certificate_requested {
        // Done: the close goes out with the last flight, in one write.
        conn.send_close_notify();
        return send_last_flight(&mut conn, &mut sock, deadline, total);
    }
    send_last_flight(&mut conn, &mut sock, deadline, total)?;
    // TLS 1.3: the client's handshake ends before the server judges the (empty) client
    // certificate; a server that requires one says so right after.
    after_client_cert_request(&mut conn, &mut sock, deadline)?;
    conn.send_close_notify();
    let _ = sock.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = conn.write_tls(&mut sock);
    Ok(())
}

/// A second connection for a server that refused every version and suite rustls offers:
/// the prelude again if any, then the legacy capture, judged like any other chain.
fn legacy_session(
    target: &Target,
    shared: &Shared,
    peer: SocketAddr,
    deadline: Instant,
    p: &mut Probed,
    served: &mut Vec<CertificateDer<'static>>,
) -> Result<(), String> {
    let total = shared.limits.total;
    let (mut sock, _) = connect(&[peer], shared.limits.connect, deadline, total)?;
    let _ = sock.set_nodelay(true);
    starttls_if_asked(target, &mut sock, deadline, total)?;
    let captured = legacy::capture(&mut sock, target.sni.as_deref(), deadline, total)?;
    p.legacy_tls = true;
    p.tls_version = Some(captured.version);
    p.cipher_suite = Some(captured.cipher_suite);
    let ders: Vec<CertificateDer<'static>> = captured
        .chain
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    for (i, der) in ders.iter().enumerate() {
        let f = shared
            .facts(der)
            .map_err(|e| format!("served certificate #{} could not be read: {e}", i + 1))?;
        p.chain.push(f);
    }
    let name = match target.server_name() {
        Some(n) => n,
        None => ServerName::IpAddress(peer.ip().into()),
    };
    p.verify_error = Some(shared.verdicts.verdict(&ders[0], &ders[1..], &name, &[]));
    *served = ders;
    Ok(())
}

fn version_name(v: rustls::ProtocolVersion) -> &'static str {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        _ => "other",
    }
}

/// Names under `.invalid` never resolve (RFC 6761 §6.4): answer at once, send no query.
fn resolve(
    name: &str,
    port: u16,
    deadline: Instant,
    total: Duration,
) -> Result<Vec<SocketAddr>, String> {
    if name == "invalid" || name.ends_with(".invalid") {
        return Err(format!(
            "cannot resolve {name}: the .invalid top-level domain never resolves"
        ));
    }
    // getaddrinfo cannot be cancelled: ask on a helper thread and stop waiting at the deadline.
    let (tx, rx) = mpsc::channel();
    let owned = name.to_owned();
    thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            let r = (owned.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(|e| format!("cannot resolve {name}: {e}"))?;
    let wait = left(deadline, total, &format!("resolving {name}"))?;
    match rx.recv_timeout(wait) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(format!("cannot resolve {name}: no addresses")),
        Ok(Err(e)) => Err(format!("cannot resolve {name}: {e}")),
        Err(_) => Err(format!("timed out after {} resolving {name}", secs(total))),
    }
}

/// Tries each address in turn, each within the connect timeout and the target's deadline.
/// Returns the connection and the address it reached.
fn connect(
    addrs: &[SocketAddr],
    limit: Duration,
    deadline: Instant,
    total: Duration,
) -> Result<(TcpStream, SocketAddr), String> {
    let mut last = String::new();
    for addr in addrs {
        let wait = left(deadline, total, &format!("connecting to {addr}"))?;
        let wait = wait.min(limit);
        match TcpStream::connect_timeout(addr, wait) {
            Ok(s) => return Ok((s, *addr)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                last = format!("connect to {addr}: no answer within {}", secs(wait));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                last =
                    format!("connect to {addr}: connection refused (nothing listens on that port)");
            }
            Err(e) => last = format!("connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// Drives the handshake with blocking I/O; each read and write waits at most until the
/// deadline, and the deadline is checked between steps (a server dripping bytes cannot
/// hold a worker longer).
///
/// `refused` is set when the server turned down every version and suite offered (an alert,
/// or a close before any answer): the cue for the legacy capture.
fn handshake(
    conn: &mut ClientConnection,
    sock: &mut TcpStream,
    deadline: Instant,
    total: Duration,
    refused: &mut bool,
) -> Result<(), String> {
    let mut received = 0usize;
    while conn.is_handshaking() {
        if conn.wants_write() {
            let wait = left(deadline, total, "sending the TLS handshake")?;
            let _ = sock.set_write_timeout(Some(wait));
            conn.write_tls(sock).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    format!("timed out after {} sending the TLS handshake", secs(total))
                }
                _ if closed(&e) => closed_during(received, &e),
                _ => format!("TLS handshake: sending failed: {e}"),
            })?;
            continue;
        }
        let step = if received == 0 {
            "waiting for the server's first TLS message (it accepted the connection and sent nothing)"
        } else {
            "during the TLS handshake"
        };
        let wait = left(deadline, total, step)?;
        let _ = sock.set_read_timeout(Some(wait));
        match conn.read_tls(sock) {
            Ok(0) => {
                *refused = received == 0;
                return Err(if received == 0 {
                    "the server closed the connection without a TLS response".into()
                } else {
                    format!("the server closed the connection during the TLS handshake (after {received} bytes)")
                });
            }
            Ok(n) => received += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("timed out after {} {step}", secs(total)));
            }
            Err(e) if closed(&e) => {
                *refused = received == 0;
                return Err(closed_during(received, &e));
            }
            Err(e) => return Err(format!("TLS handshake: reading failed: {e}")),
        }
        if let Err(e) = conn.process_new_packets() {
            use rustls::AlertDescription as A;
            *refused = matches!(
                e,
                rustls::Error::AlertReceived(
                    A::ProtocolVersion
                        | A::HandshakeFailure
                        | A::InsufficientSecurity
                        | A::IllegalParameter
                ) | rustls::Error::PeerIncompatible(_)
            );
            // Tell the server why (best effort), then report.
            let _ = sock.set_write_timeout(Some(Duration::from_millis(100)));
            let _ = conn.write_tls(sock);
            return Err(match e {
                rustls::Error::InvalidMessage(_) if received > 0 => {
                    format!("TLS handshake failed: {e} (is this a TLS port? the server sent something else)")
                }
                e => format!("TLS handshake failed: {e}"),
            });
        }
    }
    Ok(())
}

/// Whether an I/O error means the peer closed or reset the connection.
fn closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// A server that drops the connection: whether it answered anything first is the news
/// (a reset or a close are the same to the admin; which one comes first is a race).
fn closed_during(received: usize, e: &io::Error) -> String {
    if received == 0 {
        format!("the server closed the connection without a TLS response ({e})")
    } else {
        format!("the server closed the connection during the TLS handshake (after {received} bytes; {e})")
    }
}

/// The client's last flight (e.g. its Finished) must reach the server.
fn send_last_flight(
    conn: &mut ClientConnection,
    sock: &mut TcpStream,
    deadline: Instant,
    total: Duration,
) -> Result<(), String> {
    while conn.wants_write() {
        let wait = left(deadline, total, "sending the TLS handshake")?;
        let _ = sock.set_write_timeout(Some(wait));
        conn.write_tls(sock)
            .map_err(|e| format!("TLS handshake: sending failed: {e}"))?;
    }
    Ok(())
}

/// After a TLS 1.3 CertificateRequest answered with no certificate: waits (at most a
/// second, within the deadline) for the server's verdict. An alert or a close means it
/// requires a client certificate; any other record, or silence, means it went on without.
fn after_client_cert_request(
    conn: &mut ClientConnection,
    sock: &mut TcpStream,
    deadline: Instant,
) -> Result<(), String> {
    let wait = deadline
        .min(Instant::now() + Duration::from_secs(1))
        .saturating_duration_since(Instant::now());
    if wait.is_zero() {
        return Ok(());
    }
    let _ = sock.set_read_timeout(Some(wait));
    match conn.read_tls(sock) {
        Ok(0) => Err(
            "the server requires a client certificate: it closed the connection after the handshake"
                .into(),
        ),
        // A record that processes cleanly (a session ticket) means the server went on.
        Ok(_) => conn
            .process_new_packets()
            .map(|_| ())
            .map_err(|e| format!("the server requires a client certificate: {e}")),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(()),
        Err(e) => Err(format!(
            "the server requires a client certificate: reading failed: {e}"
        )),
    }
}

/// Matches served leaves against the inventory's verdicts and exposed keys.
struct Judge<'a> {
    prepared: Option<&'a Prepared>,
    classified: Option<&'a Classified<'a>>,
    by_fingerprint: DigestMap<usize>,
    exposed: HashSet<Sha256>,
}

impl<'a> Judge<'a> {
    fn new(prepared: Option<&'a Prepared>, classified: Option<&'a Classified<'a>>) -> Self {
        let mut by_fingerprint = DigestMap::default();
        if let Some(p) = prepared {
            for (i, c) in p.inventory.certs.iter().enumerate() {
                by_fingerprint.entry(c.facts.fingerprint).or_insert(i);
            }
        }
        let exposed = classified
            .map(|c| c.exposed_keys.iter().copied().collect())
            .unwrap_or_default();
        Judge {
            prepared,
            classified,
            by_fingerprint,
            exposed,
        }
    }

    fn judge(&self, p: &Probed) -> Judgement {
        let (Some(prepared), Some(classified), Some(leaf)) =
            (self.prepared, self.classified, p.chain.first())
        else {
            return Judgement::default();
        };
        let mut j = Judgement::default();
        if let Some(&i) = self.by_fingerprint.get(&leaf.fingerprint) {
            let entry = &prepared.inventory.certs[i];
            let verdict = &classified.verdicts[i];
            j.matched = Some(i);
            j.leaf_status = Some(verdict.status);
            j.reasons.push(format!(
                "the served certificate is {}{} in the inventory: {}",
                entry.upload.path,
                entry
                    .upload
                    .manifest_id
                    .as_deref()
                    .map(|id| format!(" (manifest id {id})"))
                    .unwrap_or_default(),
                verdict.status.as_str()
            ));
        }
        let leaf_exposed = matches!(j.leaf_status, Some(Status::Exposed | Status::KeyReused));
        let key_exposed = self.exposed.contains(&leaf.spki);
        if key_exposed {
            j.reasons.push(format!(
                "its public key (SPKI SHA-256 {}) is in the exposed set: whoever read the breached data can impersonate this endpoint",
                leaf.spki
            ));
        } else {
            j.reasons
                .push("its public key is not in the exposed set".into());
        }
        j.key_exposed = Some(key_exposed || leaf_exposed);
        j
    }
}

/// Speaks the target's STARTTLS prelude (if it has one) on a fresh connection, naming the
/// server by its SNI name or else its host.
fn starttls_if_asked(
    target: &Target,
    sock: &mut TcpStream,
    deadline: Instant,
    total: Duration,
) -> Result<(), String> {
    let Some(proto) = target.starttls else {
        return Ok(());
    };
    let host = target
        .sni
        .clone()
        .unwrap_or_else(|| target.host.to_string());
    starttls::prelude(proto, sock, &host, deadline, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_is_still_offered_with_aes_128_first_per_version() {
        let ours: Vec<_> = provider().cipher_suites.iter().map(|s| s.suite()).collect();
        let mut default: Vec<_> = rustls::crypto::aws_lc_rs::default_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        let mut sorted = ours.clone();
        sorted.sort_by_key(|s| u16::from(*s));
        default.sort_by_key(|s| u16::from(*s));
        assert_eq!(sorted, default);
        assert_eq!(ours[0], rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
        let first12 = ours
            .iter()
            .find(|s| !format!("{s:?}").starts_with("TLS13_"))
            .copied();
        assert_eq!(
            first12,
            Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
        );
    }
}
