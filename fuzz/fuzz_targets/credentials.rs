//! Vendor API pages for `credentials` (OAuth tokens and API tokens): one page per line, each
//! classified, checked for gaps and rendered in every format. No token value longer than a
//! hint is ever written out whole.
#![no_main]

use certsweep::apps::pages::PageLinks;
use certsweep::apps::Page;
use certsweep::credentials::{self, CredentialsReport, TokenKind};
use certsweep::report::{self, Format};
use certsweep::vendor::Origin;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let origin = Origin::parse("https://acme.zendesk.com").expect("origin");
    let pages: Vec<Page> = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let body = serde_json::from_slice::<Value>(line).map_err(|e| e.to_string());
            if let Ok(v) = &body {
                let links = PageLinks::of(v, 0);
                if let Some(next) = links.next.as_deref().filter(|_| links.more()) {
                    let _ = origin.same_origin(next);
                }
            }
            Page {
                label: format!("page-{i}"),
                body,
            }
        })
        .collect();
    let mut secrets = Vec::new();
    for p in &pages {
        let Ok(v) = &p.body else { continue };
        for key in ["tokens", "api_tokens"] {
            for t in v.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(s) = t.get("token").and_then(Value::as_str) {
                    if s.len() >= 16 && !s.contains(['*', '•']) {
                        secrets.push(s.to_owned());
                    }
                }
            }
        }
    }
    let (cutoff, now) = (datetime!(2016-11-01 0:00 UTC), datetime!(2026-11-24 0:00 UTC));
    let mut rep = CredentialsReport {
        policy: report::CutoffPolicy::new(now, cutoff),
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    credentials::audit_list(&mut rep, &pages, "tokens", TokenKind::OauthToken, cutoff, now);
    credentials::audit_list(&mut rep, &pages, "api_tokens", TokenKind::ApiToken, cutoff, now);
    let style = report::table::Style::default();
    for format in [Format::Json, Format::Ndjson, Format::Csv, Format::Table] {
        let mut out = Vec::new();
        credentials::write(&rep, format, &style, &mut out).expect("render to memory");
        let text = String::from_utf8_lossy(&out);
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a token value is printed whole");
        }
    }
});
