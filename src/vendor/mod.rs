//! The vendor's REST API (Zendesk): which account, which credentials, and every page of a
//! list, with bounded retries, timeouts and size limits. Token values live only in the
//! `Authorization` header (zeroized on drop) and never reach a message.

mod auth;
mod origin;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use zeroize::Zeroizing;

use crate::apps::pages::PageLinks;
use crate::apps::Page;
use crate::error::Error;
pub use auth::{Auth, AUTH_ENV};
pub use origin::Origin;

/// Bounds on one run against the API.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Pages of one list; more is an error (the list is not whole).
    pub max_pages: usize,
    /// Bytes of one response body.
    pub max_page_bytes: u64,
    /// Retries of one request after a 429, a 5xx or a dropped connection.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one ends the list with an error.
    pub max_wait: Duration,
    /// One request, from connecting to the last byte.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: 1000,
            // A page parses to about 10 times its size (a 16 MiB page peaks at 171 MiB).
            max_page_bytes: 16 << 20,
            max_retries: 4,
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// The first wait after a 5xx or a dropped connection; it doubles on each retry.
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// An authenticated client for one account.
pub struct Client {
    agent: ureq::Agent,
    origin: Origin,
    authorization: Zeroizing<String>,
    limits: Limits,
}

impl Client {
    /// A client for `origin`, trusting `roots` (PEM/DER files) if given, else the system
    /// store; TLS by rustls on aws-lc-rs.
    pub fn new(
        origin: Origin,
        auth: &Auth,
        roots: &[PathBuf],
        limits: Limits,
    ) -> Result<Client, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(trust_anchors(roots)?)))
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // A redirect could carry the Authorization header elsewhere: never follow one.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(limits.timeout))
            .timeout_connect(Some(limits.timeout.min(Duration::from_secs(10))))
            .user_agent(concat!("certsweep/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            origin,
            authorization: auth.header(),
            limits,
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Every page of the list at `path` (e.g. `/api/v2/apps/installations.json`), following
    /// `next_page` (offset pagination) or `links.next` while `meta.has_more` (cursor). A page
    /// that cannot be fetched or parsed ends the list: it is returned as a page with an error,
    /// so the audit is incomplete. `scope` names what the token needs (for 403 errors).
    pub fn pages(&self, path: &str, scope: &str) -> Vec<Page> {
        let mut out = Vec::new();
        let _ = self.each_page(path, scope, &mut |_, page| {
            out.push(page);
            Ok(())
        });
        out
    }

    /// As [`Client::pages`], handing each page (numbered from 1) to `judge` as it arrives
    /// and dropping it then: a run holds one page (at most `--max-page-mib` and its parse),
    /// not the whole list. An error from `judge` ends the list and is returned.
    pub fn each_page(
        &self,
        path: &str,
        scope: &str,
        judge: &mut dyn FnMut(usize, Page) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut fetched = 0;
        let mut seen = HashSet::new();
        let mut url = self.origin.url(path);
        loop {
            if fetched >= self.limits.max_pages {
                return judge(
                    fetched + 1,
                    Page {
                        label: label(&url),
                        body: Err(format!(
                            "stopped after {} pages (--max-pages): the list goes on, so it was \
                             not audited in full; raise --max-pages",
                            self.limits.max_pages
                        )),
                    },
                );
            }
            seen.insert(url.clone());
            let body = self.get(&url, scope).and_then(|bytes| {
                serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
                    format!(
                        "the API sent a page that is not valid JSON ({}); run again later",
                        crate::inventory::limits::json_error(&e)
                    )
                })
            });
            let next = body.as_ref().ok().and_then(|page| {
                let links = PageLinks::of(page, 0);
                links.more().then_some(links.next).flatten()
            });
            fetched += 1;
            judge(
                fetched,
                Page {
                    label: label(&url),
                    body,
                },
            )?;
            let Some(next) = next else {
                return Ok(());
            };
            let problem = if !self.origin.same_origin(&next) {
                Some(format!(
                    "the next page is on another server ({}); it was not fetched, so no \
                     credentials are sent there",
                    label(&next)
                ))
            } else if seen.contains(&next) {
                Some(format!(
                    "the next page ({}) was already fetched: the API's pages loop, so the \
                     list cannot be read in full",
                    label(&next)
                ))
            } else {
                None
            };
            if let Some(reason) = problem {
                return judge(
                    fetched + 1,
                    Page {
                        label: label(&url),
                        body: Err(reason),
                    },
                );
            }
            url = next;
        }
    }

    /// One GET with retries: a 429 or 5xx waits for its `Retry-After` (bounded) or backs
    /// off, and is tried again up to `max_retries` times; a timeout or dropped connection
    /// once; anything else is final.
    fn get(&self, url: &str, scope: &str) -> Result<Vec<u8>, String> {
        let mut backoff = BACKOFF_START;
        let mut attempt = 0;
        loop {
            let (why, asked, tries) = match self.once(url, scope) {
                Attempt::Done(result) => return result,
                Attempt::Server { why, retry_after } => (why, retry_after, self.limits.max_retries),
                Attempt::Transport(why) => (why, None, TRANSPORT_RETRIES),
            };
            if attempt >= tries {
                return Err(format!(
                    "{why}, {} time(s) in a row; run again later",
                    attempt + 1
                ));
            }
            let wait = asked.unwrap_or(backoff);
            if wait > self.limits.max_wait {
                return Err(format!(
                    "{why} and asks to wait {} s (Retry-After), longer than the {} s this run \
                     waits; run again later",
                    wait.as_secs(),
                    self.limits.max_wait.as_secs()
                ));
            }
            std::thread::sleep(wait);
            backoff = (backoff * 2).min(BACKOFF_MAX);
            attempt += 1;
        }
    }

    /// One request and what it means.
    fn once(&self, url: &str, scope: &str) -> Attempt {
        let max = self.limits.max_page_bytes;
        let mut response = match self
            .agent
            .get(url)
            .header("Authorization", self.authorization.as_str())
            .header("Accept", "application/json")
            .call()
        {
            Ok(response) => response,
            Err(e) if retryable(&e) => return Attempt::Transport(describe(&e, max)),
            Err(e) => return Attempt::Done(Err(describe(&e, max))),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let fail = |why: String| Attempt::Done(Err(why));
        match status {
            200..=299 => Attempt::Done(
                response
                    .body_mut()
                    .with_config()
                    .limit(max)
                    .read_to_vec()
                    .map_err(|e| describe(&e, max)),
            ),
            429 => Attempt::Server {
                why: "the API is rate-limiting this account (429 Too Many Requests)".into(),
                retry_after,
            },
            500..=599 => Attempt::Server {
                why: format!("the server failed (HTTP {status})"),
                retry_after,
            },
            401 => fail(format!(
                "the API refused the credentials (401 Unauthorized): check {AUTH_ENV}; an API \
                 token needs ZENDESK_EMAIL to be its user's address"
            )),
            403 => fail(format!(
                "the API denied access (403 Forbidden): this needs an admin's credentials, and \
                 an OAuth token needs the scope {scope}"
            )),
            404 => {
                fail("the API answered 404 Not Found: check the account given to --zendesk".into())
            }
            _ => fail(format!(
                "the API answered with HTTP status {status}, not a page of the list"
            )),
        }
    }
}

/// A page's URL as shown in reports: any credential in it (a `?token=` the API put in a
/// next link) masked.
fn label(url: &str) -> String {
    crate::apps::detect::mask_urls(url)
}

/// What one request came to.
enum Attempt {
    /// Final: the body, or why there is none.
    Done(Result<Vec<u8>, String>),
    /// A 429 or 5xx: worth trying again after `retry_after` (if the server said).
    Server {
        why: String,
        retry_after: Option<Duration>,
    },
    /// A timeout or a dropped connection.
    Transport(String),
}

/// Retries after a timeout or a dropped connection (each costs up to --timeout).
const TRANSPORT_RETRIES: u32 = 1;

/// The TLS error inside a transport error, if it is one (rustls reports through `io::Error`).
fn tls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref()),
        _ => None,
    }
}

/// Whether trying again may help: a timeout or a dropped connection, not a TLS refusal.
fn retryable(e: &ureq::Error) -> bool {
    tls_error(e).is_none()
        && matches!(
            e,
            ureq::Error::Timeout(_) | ureq::Error::Io(_) | ureq::Error::ConnectionFailed
        )
}

/// A TLS failure as a sentence with its fix.
fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let why = match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not issued by a trusted CA"
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "the server's certificate is not valid for its host name",
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired"
        }
        rustls::Error::InvalidCertificate(_) => "the server's certificate was not accepted",
        _ => "the TLS handshake failed",
    };
    format!(
        "the TLS connection failed: {why}; for a private CA give its certificate with --roots FILE"
    )
}

/// A transport error as a sentence (ureq's own texts are terse: "io: …", "timeout: …").
fn describe(e: &ureq::Error, max_bytes: u64) -> String {
    if let Some(tls) = tls_error(e) {
        return describe_tls(tls);
    }
    match e {
        ureq::Error::Timeout(t) => {
            format!("the request timed out ({t}); check the network or raise --timeout")
        }
        ureq::Error::HostNotFound => {
            "the server's name could not be resolved; check --zendesk".into()
        }
        ureq::Error::ConnectionFailed => "the connection to the server failed".into(),
        ureq::Error::Io(e) => format!("the connection failed: {e}"),
        ureq::Error::BodyExceedsLimit(_) => format!(
            "the response is larger than the {} MiB allowed for one page",
            max_bytes >> 20
        ),
        other => format!("the request failed: {other}"),
    }
}

/// The trust anchors: the certificates of `--roots` files if given, else the system store.
fn trust_anchors(paths: &[PathBuf]) -> Result<Vec<Certificate<'static>>, Error> {
    if paths.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        return Ok(found
            .certs
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect());
    }
    let mut out = Vec::new();
    for path in paths {
        let shown = path.display();
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
        if loaded.ders.is_empty() {
            return Err(Error::Usage(format!(
                "--roots {shown}: no certificates in the file"
            )));
        }
        out.extend(
            loaded
                .ders
                .iter()
                .map(|d| Certificate::from_der(d).to_owned()),
        );
    }
    Ok(out)
}

/// A client for `--zendesk ACCOUNT` with the run's credentials, roots and bounds.
pub fn connect(account: &str, args: &crate::cli::ApiArgs) -> Result<Client, Error> {
    let origin = Origin::parse(account).map_err(Error::Usage)?;
    let auth = Auth::resolve(args.auth_file.as_deref())?;
    if args.max_pages == 0 {
        return Err(Error::Usage("--max-pages must be at least 1".into()));
    }
    let limits = Limits {
        max_pages: args.max_pages,
        max_page_bytes: args.max_page_mib.max(1) << 20,
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Limits::default()
    };
    Client::new(origin, &auth, &args.roots, limits)
}

/// With `--save-raw DIR`: page `number` (from 1) of the list `name`, as `NAME-001.json`…,
/// credential values masked as in the report (see [`crate::apps::detect::mask_json`]); a
/// page that failed is skipped.
pub fn save_raw_page(
    args: &crate::cli::ApiArgs,
    name: &str,
    number: usize,
    page: &Page,
) -> Result<(), Error> {
    let Some(dir) = &args.save_raw else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Usage(format!(
            "--save-raw {}: {}",
            dir.display(),
            crate::inventory::describe_io(&e)
        ))
    })?;
    let Ok(body) = &page.body else {
        return Ok(());
    };
    let saved = serde_json::json!({
        "url": page.label,
        "page": crate::apps::detect::mask_json(body),
    });
    let path = dir.join(format!("{name}-{number:03}.json"));
    let text = serde_json::to_vec_pretty(&saved).map_err(std::io::Error::other)?;
    std::fs::write(&path, text).map_err(|e| {
        Error::Usage(format!(
            "--save-raw {}: {}",
            path.display(),
            crate::inventory::describe_io(&e)
        ))
    })
}
