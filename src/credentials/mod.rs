//! `certsweep credentials`: the account's OAuth tokens and API tokens, from the vendor's API;
//! one created before the cutoff and still active may have been exposed and must be rotated.
//!
//! Token values are never shown: only the API's own masked hint, or our mask of a value
//! that does not look masked.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

mod render;

pub use render::{write, CSV_COLUMNS};

use crate::apps::pages::{gaps, PageLinks};
use crate::apps::{mask, Page, SourceRef};
use crate::cli::CredentialsArgs;
use crate::config::{parse_flag, Context};
use crate::error::{Error, ExitCode};
use crate::inventory::InputError;
use crate::sanitize::escape;
use crate::timefmt;

/// The two lists audited: path, the JSON key of the list, the kind, the scope needed.
const LISTS: [(&str, &str, TokenKind, &str); 2] = [
    (
        "/api/v2/oauth/tokens.json?all=true",
        "tokens",
        TokenKind::OauthToken,
        "read (an admin's token, to list every user's OAuth tokens)",
    ),
    (
        "/api/v2/api_tokens.json",
        "api_tokens",
        TokenKind::ApiToken,
        "read (an admin's token)",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    OauthToken,
    ApiToken,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::OauthToken => "oauth-token",
            TokenKind::ApiToken => "api-token",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenStatus {
    /// Created before the cutoff and still active: a finding.
    Rotate,
    NotAffected,
    /// Deactivated (API tokens).
    Inactive,
    /// Expired (OAuth tokens).
    Expired,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Rotate => "rotate",
            TokenStatus::NotAffected => "not-affected",
            TokenStatus::Inactive => "inactive",
            TokenStatus::Expired => "expired",
        }
    }
}

/// One token and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct TokenRecord {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub line: Option<&'static str>,
    pub source: SourceRef,
    pub kind: TokenKind,
    pub id: String,
    pub description: Option<String>,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    /// The API's own masked form of the value, or our mask of it; never the value.
    pub hint: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub active: Option<bool>,
    pub status: TokenStatus,
    pub reasons: Vec<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A token value as it may be shown: kept if the API already masked it (`*` with at most 4
/// other characters), else masked by us.
pub fn hint(value: &str) -> String {
    let visible = value.chars().filter(|c| !matches!(c, '*' | '•')).count();
    if value.contains(['*', '•']) && visible <= 4 {
        value.to_owned()
    } else {
        mask(value)
    }
}

/// Classifies one token; an error (for the record) if it has no usable `created_at`.
pub fn classify(
    token: &Value,
    kind: TokenKind,
    source: SourceRef,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<TokenRecord, String> {
    let id = text(token.get("id")).ok_or("token without an \"id\"")?;
    let what = format!("{} {id}", kind.as_str());
    let time = |key: &str| -> Result<Option<OffsetDateTime>, String> {
        match token.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(t)) => timefmt::parse(t)
                .map(Some)
                .map_err(|e| format!("{what}: {key}: {e}")),
            Some(_) => Err(format!("{what}: {key} is not a date")),
        }
    };
    let created = time("created_at")?.ok_or_else(|| {
        format!("{what}: no created_at, so it cannot be placed before or after the cutoff")
    })?;
    let used = match kind {
        TokenKind::OauthToken => time("used_at")?,
        TokenKind::ApiToken => match time("last_used_at")? {
            Some(t) => Some(t),
            None => time("last_used")?,
        },
    };
    let expires = time("expires_at")?;
    let active = token.get("active").and_then(Value::as_bool);
    let cutoff_text = timefmt::rfc3339(cutoff);
    let created_text = timefmt::rfc3339(created);
    let mut reasons = Vec::new();
    let status = if active == Some(false) {
        reasons.push("the token is deactivated".to_owned());
        TokenStatus::Inactive
    } else if let Some(e) = expires.filter(|e| *e <= now) {
        reasons.push(format!("the token expired {}", timefmt::rfc3339(e)));
        TokenStatus::Expired
    } else if created < cutoff {
        reasons.push(format!(
            "created {created_text}, before the cutoff {cutoff_text}, and still active"
        ));
        reasons.push(match used {
            Some(u) => format!("last used {}", timefmt::rfc3339(u)),
            None => "no use recorded".to_owned(),
        });
        reasons.push(match kind {
            TokenKind::OauthToken => {
                "revoke it and have its client authorise again (a new token)".to_owned()
            }
            TokenKind::ApiToken => {
                "make a new API token, move its users to it, then delete this one".to_owned()
            }
        });
        TokenStatus::Rotate
    } else {
        reasons.push(format!(
            "created {created_text}, on or after the cutoff {cutoff_text}"
        ));
        TokenStatus::NotAffected
    };
    Ok(TokenRecord {
        line: None,
        source,
        kind,
        id,
        description: text(token.get("description")),
        client_id: text(token.get("client_id")),
        user_id: text(token.get("user_id")),
        hint: token.get("token").and_then(Value::as_str).map(hint),
        created_at: created_text,
        last_used_at: used.map(timefmt::rfc3339),
        expires_at: expires.map(timefmt::rfc3339),
        active,
        status,
        reasons,
    })
}

#[derive(Serialize, Default, Debug, Clone)]
pub struct CredentialsSummary {
    pub tokens: usize,
    pub rotate: usize,
    pub not_affected: usize,
    pub inactive: usize,
    pub expired: usize,
    pub errors: usize,
    pub action_required: bool,
    pub complete: bool,
}

pub struct CredentialsReport {
    pub policy: crate::report::CutoffPolicy,
    pub tokens: Vec<TokenRecord>,
    pub errors: Vec<InputError>,
}

impl CredentialsReport {
    pub fn summary(&self) -> CredentialsSummary {
        let count = |s| self.tokens.iter().filter(|t| t.status == s).count();
        let rotate = count(TokenStatus::Rotate);
        CredentialsSummary {
            tokens: self.tokens.len(),
            rotate,
            not_affected: count(TokenStatus::NotAffected),
            inactive: count(TokenStatus::Inactive),
            expired: count(TokenStatus::Expired),
            errors: self.errors.len(),
            action_required: rotate > 0,
            complete: self.errors.is_empty(),
        }
    }
}

/// Classifies every token of every page of one list into `report`, and checks that the
/// pages are the whole list.
pub fn audit_list(
    report: &mut CredentialsReport,
    pages: &[Page],
    key: &str,
    kind: TokenKind,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
) {
    let mut list = ListAudit::new(key, kind, cutoff, now);
    for page in pages {
        list.page(report, page);
    }
    list.finish(report);
}

/// The audit of one list, fed a page at a time: what is kept of a page is its records and
/// its pagination, never its JSON.
pub struct ListAudit<'k> {
    key: &'k str,
    kind: TokenKind,
    cutoff: OffsetDateTime,
    now: OffsetDateTime,
    links: Vec<(String, PageLinks)>,
    seen: std::collections::HashSet<String>,
}

impl<'k> ListAudit<'k> {
    pub fn new(key: &'k str, kind: TokenKind, cutoff: OffsetDateTime, now: OffsetDateTime) -> Self {
        ListAudit {
            key,
            kind,
            cutoff,
            now,
            links: Vec::new(),
            seen: std::collections::HashSet::new(),
        }
    }

    /// Classifies the tokens of one page into `report`.
    pub fn page(&mut self, report: &mut CredentialsReport, page: &Page) {
        let (key, kind, cutoff, now) = (self.key, self.kind, self.cutoff, self.now);
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
        let Some(list) = body.get(key).and_then(Value::as_array) else {
            report.errors.push(error(
                None,
                format!(
                    "no \"{key}\" array: not the API's list of {}s",
                    kind.as_str()
                ),
            ));
            return;
        };
        self.links
            .push((page.label.clone(), PageLinks::of(body, list.len())));
        for (i, token) in list.iter().enumerate() {
            let source = SourceRef {
                path: page.label.clone(),
                index: i + 1,
            };
            match classify(token, kind, source, cutoff, now) {
                Ok(record) => {
                    if self.seen.insert(record.id.clone()) {
                        report.tokens.push(record);
                    }
                }
                Err(reason) => report.errors.push(error(Some(i + 1), reason)),
            }
        }
    }

    /// Adds the gaps in the list (pages missing between those read) to `report`.
    pub fn finish(self, report: &mut CredentialsReport) {
        let only: Vec<PageLinks> = self.links.iter().map(|(_, l)| l.clone()).collect();
        for gap in gaps(&only, "tokens") {
            report.errors.push(InputError {
                path: self.links[gap.page].0.clone(),
                index: None,
                reason: gap.reason,
            });
        }
    }
}

pub fn run(args: &CredentialsArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let cutoff = parse_flag("--cutoff", &args.cutoff)?;
    let account = args
        .api
        .zendesk
        .as_deref()
        .ok_or_else(|| Error::Usage("credentials needs --zendesk SUBDOMAIN|URL".into()))?;
    let client = crate::vendor::connect(account, &args.api)?;
    let mut report = CredentialsReport {
        policy: crate::report::CutoffPolicy::new(ctx.now, cutoff),
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    for (path, key, kind, scope) in LISTS {
        let mut list = ListAudit::new(key, kind, cutoff, ctx.now);
        client.each_page(path, scope, &mut |i, page| {
            crate::vendor::save_raw_page(&args.api, key, i, &page)?;
            list.page(&mut report, &page);
            Ok(())
        })?;
        list.finish(&mut report);
    }
    let stderr = io::stderr();
    for e in &report.errors {
        let text = match e.index {
            Some(i) => format!("{}: entry {i}: {}", e.path, e.reason),
            None => format!("{}: {}", e.path, e.reason),
        };
        let _ = writeln!(stderr.lock(), "certsweep: error: {}", escape(&text));
    }
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        write(&report, ctx.format, &ctx.style, &mut out)?;
        out.finish()?;
    }
    let s = report.summary();
    Ok(ExitCode::of(!s.complete, s.action_required))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> OffsetDateTime {
        timefmt::parse(t).unwrap()
    }

    #[test]
    fn verdicts_at_the_cutoff() {
        let (cutoff, now) = (at("2016-11-01"), at("2026-11-24"));
        let src = || SourceRef {
            path: "p".into(),
            index: 1,
        };
        let api = |created: &str, active: bool| {
            serde_json::json!({"id": 1, "created_at": created, "active": active,
                "token": "abcdefghijklmnopqrstuvwxyz0123456789", "last_used_at": "2026-01-02T03:04:05Z"})
        };
        for (created, active, want) in [
            ("2016-10-31T23:59:59Z", true, TokenStatus::Rotate),
            ("2016-11-01T00:00:00Z", true, TokenStatus::NotAffected),
            ("2015-01-01T00:00:00Z", false, TokenStatus::Inactive),
        ] {
            let r = classify(
                &api(created, active),
                TokenKind::ApiToken,
                src(),
                cutoff,
                now,
            )
            .unwrap();
            assert_eq!(r.status, want, "{created}");
            assert_eq!(r.hint.as_deref(), Some("****6789 (36 chars)"));
        }
        let oauth = serde_json::json!({"id": 2, "client_id": 9, "created_at": "2015-01-01T00:00:00Z",
            "expires_at": "2026-11-24T00:00:00Z", "token": "****ab"});
        let r = classify(&oauth, TokenKind::OauthToken, src(), cutoff, now).unwrap();
        assert_eq!(r.status, TokenStatus::Expired);
        assert_eq!(r.hint.as_deref(), Some("****ab"));
        assert!(classify(
            &serde_json::json!({"id": 3}),
            TokenKind::OauthToken,
            src(),
            cutoff,
            now
        )
        .unwrap_err()
        .contains("oauth-token 3: no created_at"));
    }
}
