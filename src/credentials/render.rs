//! The `credentials` report as table, JSON, NDJSON or CSV.

use std::io::{self, Write};

use serde::Serialize;

use super::{CredentialsReport, CredentialsSummary, TokenRecord, TokenStatus};
use crate::report::{ErrorRecord, Format, Tool, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: &'a Tool,
    policy: &'a crate::report::CutoffPolicy,
    summary: CredentialsSummary,
    credentials: &'a [TokenRecord],
    errors: Vec<ErrorRecord<'a>>,
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 14] = [
    "schema_version",
    "path",
    "index",
    "kind",
    "id",
    "description",
    "client_id",
    "user_id",
    "hint",
    "created_at",
    "last_used_at",
    "expires_at",
    "status",
    "reasons",
];

pub fn write(
    report: &CredentialsReport,
    format: Format,
    style: &crate::report::table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        // Refused before anything is fetched (`lib::dispatch`).
        f @ (Format::Prometheus | Format::Html) => {
            Err(crate::report::unsupported(f, "credentials"))
        }
        Format::Json => {
            let json = JsonReport {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                policy: &report.policy,
                summary: report.summary(),
                credentials: &report.tokens,
                errors: report
                    .errors
                    .iter()
                    .map(|e| ErrorRecord::new(e, None))
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &json).map_err(io::Error::from)?;
            writeln!(out)
        }
        Format::Ndjson => {
            for t in &report.tokens {
                let mut line = t.clone();
                line.line = Some("credential");
                serde_json::to_writer(&mut *out, &line).map_err(io::Error::from)?;
                writeln!(out)?;
            }
            crate::report::write_ndjson_tail(&report.errors, &report.policy, report.summary(), out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_COLUMNS)?;
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            for t in &report.tokens {
                crate::report::csv_record(
                    &mut w,
                    [
                        SCHEMA_VERSION.to_string(),
                        t.source.path.clone(),
                        t.source.index.to_string(),
                        t.kind.as_str().to_owned(),
                        t.id.clone(),
                        opt(&t.description),
                        opt(&t.client_id),
                        opt(&t.user_id),
                        opt(&t.hint),
                        t.created_at.clone(),
                        t.last_used_at.clone().unwrap_or_default(),
                        t.expires_at.clone().unwrap_or_default(),
                        t.status.as_str().to_owned(),
                        t.reasons.join("; "),
                    ],
                )?;
            }
            w.flush()
        }
        Format::Table => write_table(report, style, out),
    }
}

fn write_table(
    report: &CredentialsReport,
    style: &crate::report::table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rank = |s: TokenStatus| match s {
        TokenStatus::Rotate => 0,
        TokenStatus::NotAffected => 1,
        TokenStatus::Inactive => 2,
        TokenStatus::Expired => 3,
    };
    let mut tokens: Vec<&TokenRecord> = report.tokens.iter().collect();
    tokens.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then_with(|| a.created_at.cmp(&b.created_at))
    });
    let headers = [
        "STATUS",
        "KIND",
        "ID",
        "NAME",
        "HINT",
        "CREATED",
        "LAST USED",
    ];
    let day = |t: &str| t[..10.min(t.len())].to_owned();
    let rows: Vec<[String; 7]> = tokens
        .iter()
        .map(|t| {
            [
                t.status.as_str().to_owned(),
                t.kind.as_str().to_owned(),
                escape(&t.id),
                escape(&match (&t.description, &t.client_id) {
                    (Some(d), _) => d.clone(),
                    (None, Some(c)) => format!("client {c}"),
                    (None, None) => "-".to_owned(),
                }),
                escape(t.hint.as_deref().unwrap_or("-")),
                day(&t.created_at),
                t.last_used_at.as_deref().map_or("never".to_owned(), day),
            ]
        })
        .collect();
    crate::report::table::write_rows(
        out,
        style,
        headers,
        &rows,
        &[0],
        |i| match tokens[i].status {
            TokenStatus::Rotate => "1;31",
            _ => "32",
        },
        |i| match tokens[i].status {
            TokenStatus::Rotate => tokens[i].reasons.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        },
    )?;
    let s = report.summary();
    writeln!(out)?;
    writeln!(
        out,
        "{} token(s) at {}, cutoff {}: {} rotate, {} not-affected, {} inactive, {} expired",
        s.tokens,
        report.policy.now,
        report.policy.cutoff,
        s.rotate,
        s.not_affected,
        s.inactive,
        s.expired
    )?;
    if s.rotate > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!(
                    "Next: rotate {} token(s) created before the cutoff: issue new ones, move their users, then revoke the old.",
                    s.rotate
                )
            )
        )?;
    }
    if s.errors > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;33",
                &format!(
                    "INCOMPLETE: {} error(s) (listed on stderr); this audit is not complete.",
                    s.errors
                )
            )
        )?;
    }
    Ok(())
}
