//! `certsweep apps`: app installations set up before the cutoff whose settings hold
//! credentials (API tokens, keys, secrets, passwords) that the breach may have exposed.
//!
//! Input: the vendor's app-installation list, `{"installations": [...], "next_page": ...}`,
//! one file per page, or every page fetched from the vendor's API (`--zendesk`, see
//! [`crate::vendor`]). Credentials are found and masked at once ([`detect`]), never printed
//! whole; [`pages`] checks the pages are the whole list; [`render`] prints the report.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

pub mod detect;
pub mod pages;
mod render;

pub use detect::{credentials, is_credential_name, mask, Credential, SettingSource};
pub use render::{write, CSV_COLUMNS};

use crate::cli::AppsArgs;
use crate::config::{parse_flag, Context};
use crate::error::{Error, ExitCode};
use crate::inventory::{describe_io, InputError};
use crate::sanitize::escape;
use crate::timefmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppStatus {
    Rotate,
    NotAffected,
    NoCredentials,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Rotate => "rotate",
            AppStatus::NotAffected => "not-affected",
            AppStatus::NoCredentials => "no-credentials",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceRef {
    pub path: String,
    /// The installation's position in its page, from 1.
    pub index: usize,
}

/// One installation and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct AppRecord {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub source: SourceRef,
    pub installation_id: String,
    pub app_id: Option<String>,
    pub product: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub enabled: Option<bool>,
    pub status: AppStatus,
    pub credentials: Vec<Credential>,
    pub reasons: Vec<String>,
}

/// Ids and names as text: vendors use numbers or strings.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Classifies one installation; an error (for the record) if it has no usable `created_at`.
pub fn classify(
    installation: &Value,
    source: SourceRef,
    cutoff: OffsetDateTime,
) -> Result<AppRecord, String> {
    let installation_id = installation
        .get("id")
        .and_then(id_text)
        .ok_or("installation without an \"id\"")?;
    let created = match installation.get("created_at") {
        Some(Value::String(t)) => timefmt::parse(t)
            .map_err(|e| format!("installation {installation_id}: created_at: {e}"))?,
        _ => {
            return Err(format!(
                "installation {installation_id}: no created_at, so it cannot be placed before or after the cutoff"
            ))
        }
    };
    let updated = installation
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|t| timefmt::parse(t).ok());
    let enabled = installation.get("enabled").and_then(Value::as_bool);
    let credentials = credentials(installation);
    let cutoff_text = timefmt::rfc3339(cutoff);
    let created_text = timefmt::rfc3339(created);
    let mut reasons = Vec::new();
    let status = if credentials.is_empty() {
        reasons.push(
            "no setting is named like a credential (token, key, secret, password, passphrase, credential, auth)"
                .to_owned(),
        );
        AppStatus::NoCredentials
    } else if created < cutoff {
        reasons.push(format!(
            "installed {created_text}, before the cutoff {cutoff_text}"
        ));
        let names: Vec<&str> = credentials.iter().map(|c| c.name.as_str()).collect();
        reasons.push(format!(
            "its settings hold {} credential(s): {}",
            credentials.len(),
            names.join(", ")
        ));
        if enabled == Some(false) {
            reasons.push(
                "the installation is disabled, but its credentials may still be valid where they were issued"
                    .to_owned(),
            );
        }
        if let Some(u) = updated.filter(|u| *u >= cutoff) {
            reasons.push(format!(
                "settings were updated {}, after the cutoff: credentials changed then are not exposed; check which",
                timefmt::rfc3339(u)
            ));
        }
        reasons.push(
            "rotate these credentials where they were issued, then update the installation"
                .to_owned(),
        );
        AppStatus::Rotate
    } else {
        reasons.push(format!(
            "installed {created_text}, on or after the cutoff {cutoff_text}"
        ));
        AppStatus::NotAffected
    };
    Ok(AppRecord {
        kind: None,
        source,
        installation_id,
        app_id: installation.get("app_id").and_then(id_text),
        product: installation
            .get("product")
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_at: created_text,
        updated_at: updated.map(timefmt::rfc3339),
        enabled,
        status,
        credentials,
        reasons,
    })
}

#[derive(Serialize, Default, Debug, Clone)]
pub struct AppsSummary {
    pub installations: usize,
    pub rotate: usize,
    pub not_affected: usize,
    pub no_credentials: usize,
    pub errors: usize,
    pub action_required: bool,
    pub complete: bool,
}

/// The audit's result; renderers turn it into table, JSON, NDJSON or CSV.
pub struct AppsReport {
    pub policy: crate::report::CutoffPolicy,
    pub apps: Vec<AppRecord>,
    pub errors: Vec<InputError>,
}

impl AppsReport {
    pub fn summary(&self) -> AppsSummary {
        let count = |s| self.apps.iter().filter(|a| a.status == s).count();
        let rotate = count(AppStatus::Rotate);
        AppsSummary {
            installations: self.apps.len(),
            rotate,
            not_affected: count(AppStatus::NotAffected),
            no_credentials: count(AppStatus::NoCredentials),
            errors: self.errors.len(),
            action_required: rotate > 0,
            complete: self.errors.is_empty(),
        }
    }
}

/// The vendor's list of app installations, and what an OAuth token needs to read it.
pub const INSTALLATIONS_PATH: &str = "/api/v2/apps/installations.json";
pub const INSTALLATIONS_SCOPE: &str = "read (or apps:read)";

/// One page of the installation list as read: where it came from (a file or a URL) and its
/// JSON, or why it could not be read.
pub struct Page {
    pub label: String,
    pub body: Result<Value, String>,
}

/// Reads every page and classifies every installation, collecting errors as records.
/// Pages are read, judged and dropped one at a time: a run holds one page, not all of them
/// (1,000 pages of up to 256 MiB each would not fit).
/// A file over `max_bytes` (`--max-page-mib`, as a fetched page) is not read.
pub fn audit(
    files: &[PathBuf],
    max_bytes: u64,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
) -> AppsReport {
    let mut audit = Audit::new(cutoff, now);
    for path in files {
        audit.page(&read_page(path, max_bytes));
    }
    audit.finish()
}

/// One installations file (`-` is stdin), parsed.
fn read_page(path: &std::path::Path, max_bytes: u64) -> Page {
    Page {
        label: path.display().to_string(),
        body: crate::input::read_all(path, max_bytes)
            .map_err(|e| describe_io(&e))
            .and_then(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|e| format!("not JSON: {}", crate::inventory::limits::json_error(&e)))
            }),
    }
}

/// Classifies every installation of every page (an installation on several pages counts
/// once) and checks that the pages are the whole list (see [`pages::gaps`]).
pub fn audit_pages(pages: &[Page], cutoff: OffsetDateTime, now: OffsetDateTime) -> AppsReport {
    let mut audit = Audit::new(cutoff, now);
    for page in pages {
        audit.page(page);
    }
    audit.finish()
}

/// An audit of one installations list, fed a page at a time: what is kept of a page is its
/// records and its pagination, never its JSON.
pub struct Audit {
    report: AppsReport,
    cutoff: OffsetDateTime,
    seen: HashSet<String>,
    /// The pagination of each page that was read, with the page's label.
    links: Vec<(String, pages::PageLinks)>,
}

impl Audit {
    pub fn new(cutoff: OffsetDateTime, now: OffsetDateTime) -> Self {
        Audit {
            report: AppsReport {
                policy: crate::report::CutoffPolicy::new(now, cutoff),
                apps: Vec::new(),
                errors: Vec::new(),
            },
            cutoff,
            seen: HashSet::new(),
            links: Vec::new(),
        }
    }

    /// Judges one page.
    pub fn page(&mut self, page: &Page) {
        let (report, seen, cutoff) = (&mut self.report, &mut self.seen, self.cutoff);
        let error = |index: Option<usize>, reason: String| InputError {
            path: page.label.clone(),
            index,
            reason,
        };
        let body = match &page.body {
            Ok(body) => body,
            Err(reason) => {
                report.errors.push(error(None, reason.clone()));
                return;
            }
        };
        let Some(list) = body.get("installations").and_then(Value::as_array) else {
            report.errors.push(error(
                None,
                "no \"installations\" array: expected the vendor's app-installation list".into(),
            ));
            return;
        };
        self.links
            .push((page.label.clone(), pages::PageLinks::of(body, list.len())));
        for (i, installation) in list.iter().enumerate() {
            let source = SourceRef {
                path: page.label.clone(),
                index: i + 1,
            };
            match classify(installation, source, cutoff) {
                Ok(record) => {
                    if seen.insert(record.installation_id.clone()) {
                        report.apps.push(record);
                    }
                }
                Err(reason) => report.errors.push(error(Some(i + 1), reason)),
            }
        }
    }

    /// The report, with the gaps in the list (pages missing between those read).
    pub fn finish(mut self) -> AppsReport {
        let only_links: Vec<pages::PageLinks> = self.links.iter().map(|(_, l)| l.clone()).collect();
        for gap in pages::gaps(&only_links, "installations") {
            self.report.errors.push(InputError {
                path: self.links[gap.page].0.clone(),
                index: None,
                reason: gap.reason,
            });
        }
        self.report
    }
}

pub fn run(args: &AppsArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let cutoff = parse_flag("--cutoff", &args.cutoff)?;
    crate::input::stdin_once(
        args.files
            .iter()
            .map(|f| ("INSTALLATIONS.json", f.as_path())),
    )
    .map_err(Error::Usage)?;
    let report = match &args.api.zendesk {
        Some(account) => {
            let client = crate::vendor::connect(account, &args.api)?;
            let mut audit = Audit::new(cutoff, ctx.now);
            client.each_page(INSTALLATIONS_PATH, INSTALLATIONS_SCOPE, &mut |i, page| {
                crate::vendor::save_raw_page(&args.api, "installations", i, &page)?;
                audit.page(&page);
                Ok(())
            })?;
            audit.finish()
        }
        None => audit(
            &args.files,
            args.api.max_page_mib.max(1) << 20,
            cutoff,
            ctx.now,
        ),
    };
    report_errors(&report.errors);
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        write(&report, ctx.format, &ctx.style, &mut out)?;
        out.finish()?;
    }
    let s = report.summary();
    Ok(ExitCode::of(!s.complete, s.action_required))
}

/// Every error once on stderr, escaped; `index` is the installation's place in its page.
fn report_errors(errors: &[InputError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for e in errors {
        let text = match e.index {
            Some(i) => format!("{}: entry {i}: {}", e.path, e.reason),
            None => format!("{}: {}", e.path, e.reason),
        };
        let _ = writeln!(err, "certsweep: error: {}", escape(&text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> OffsetDateTime {
        timefmt::parse(t).unwrap()
    }

    #[test]
    fn cutoff_is_strict_and_credentials_decide() {
        let cutoff = at("2016-11-01");
        let src = || SourceRef {
            path: "p".into(),
            index: 1,
        };
        let inst = |created: &str| {
            serde_json::json!({"id": 7, "app_id": 9, "created_at": created,
                "settings": {"api_token": "0123456789abcdefXYZW", "subdomain": "acme"}})
        };
        for (created, want) in [
            ("2016-10-31T23:59:59Z", AppStatus::Rotate),
            ("2016-11-01T00:00:00Z", AppStatus::NotAffected),
            ("2016-11-01T00:00:01Z", AppStatus::NotAffected),
        ] {
            let r = classify(&inst(created), src(), cutoff).unwrap();
            assert_eq!(r.status, want, "{created}");
            assert_eq!(r.credentials.len(), 1);
            assert_eq!(r.credentials[0].masked, "****XYZW (20 chars)");
        }
        let plain = serde_json::json!({"id": 8, "created_at": "2015-01-01T00:00:00Z",
            "settings": {"subdomain": "acme", "use_key": true, "token": ""}});
        assert_eq!(
            classify(&plain, src(), cutoff).unwrap().status,
            AppStatus::NoCredentials
        );
        let bad = serde_json::json!({"id": 9, "created_at": "yesterday"});
        assert!(classify(&bad, src(), cutoff)
            .unwrap_err()
            .contains("installation 9: created_at"));
    }
}
