//! The `apps` report as table, JSON, NDJSON or CSV.

use std::io::{self, Write};

use serde::Serialize;

use super::{AppRecord, AppStatus, AppsReport, AppsSummary};
use crate::report::CutoffPolicy;
use crate::report::{ErrorRecord, Format, Tool, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: &'a Tool,
    policy: &'a CutoffPolicy,
    summary: AppsSummary,
    apps: &'a [AppRecord],
    errors: Vec<ErrorRecord<'a>>,
}

/// The CSV columns, in order (lists joined with `;`).
pub const CSV_COLUMNS: [&str; 12] = [
    "schema_version",
    "path",
    "index",
    "installation_id",
    "app_id",
    "product",
    "created_at",
    "enabled",
    "status",
    "credential_names",
    "credentials_masked",
    "reasons",
];

pub fn write(
    report: &AppsReport,
    format: Format,
    style: &crate::report::table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Prometheus => crate::report::prometheus::write_apps(report, out),
        // Refused before the audit runs (`lib::dispatch`): apps has no HTML page.
        Format::Html => Err(crate::report::unsupported(Format::Html, "apps")),
        Format::Json => {
            let json = JsonReport {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                policy: &report.policy,
                summary: report.summary(),
                apps: &report.apps,
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
            for a in &report.apps {
                let mut line = a.clone();
                line.kind = Some("app");
                serde_json::to_writer(&mut *out, &line).map_err(io::Error::from)?;
                writeln!(out)?;
            }
            crate::report::write_ndjson_tail(&report.errors, &report.policy, report.summary(), out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_COLUMNS)?;
            for a in &report.apps {
                let names: Vec<&str> = a.credentials.iter().map(|c| c.name.as_str()).collect();
                let masked: Vec<String> = a
                    .credentials
                    .iter()
                    .map(|c| format!("{}={}", c.name, c.masked))
                    .collect();
                crate::report::csv_record(
                    &mut w,
                    [
                        SCHEMA_VERSION.to_string(),
                        a.source.path.clone(),
                        a.source.index.to_string(),
                        a.installation_id.clone(),
                        a.app_id.clone().unwrap_or_default(),
                        a.product.clone().unwrap_or_default(),
                        a.created_at.clone(),
                        a.enabled.map(|e| e.to_string()).unwrap_or_default(),
                        a.status.as_str().to_owned(),
                        names.join(";"),
                        masked.join(";"),
                        a.reasons.join("; "),
                    ],
                )?;
            }
            w.flush()
        }
        Format::Table => write_table(report, style, out),
    }
}

fn write_table(
    report: &AppsReport,
    style: &crate::report::table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut apps: Vec<&AppRecord> = report.apps.iter().collect();
    let rank = |s: AppStatus| match s {
        AppStatus::Rotate => 0,
        AppStatus::NotAffected => 1,
        AppStatus::NoCredentials => 2,
    };
    apps.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then_with(|| a.created_at.cmp(&b.created_at))
    });
    let headers = [
        "STATUS",
        "PRODUCT",
        "APP",
        "INSTALLATION",
        "CREATED",
        "CREDENTIALS",
    ];
    let rows: Vec<[String; 6]> = apps
        .iter()
        .map(|a| {
            let creds: Vec<String> = a
                .credentials
                .iter()
                .map(|c| format!("{} {}", c.name, c.masked))
                .collect();
            [
                a.status.as_str().to_owned(),
                escape(a.product.as_deref().unwrap_or("-")),
                escape(a.app_id.as_deref().unwrap_or("-")),
                escape(&a.installation_id),
                a.created_at[..10.min(a.created_at.len())].to_owned(),
                escape(&if creds.is_empty() {
                    "-".to_owned()
                } else {
                    creds.join(", ")
                }),
            ]
        })
        .collect();
    crate::report::table::write_rows(
        out,
        style,
        headers,
        &rows,
        &[0],
        |i| match apps[i].status {
            AppStatus::Rotate => "1;31",
            _ => "32",
        },
        |i| match apps[i].status {
            AppStatus::Rotate => apps[i].reasons.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        },
    )?;
    let s = report.summary();
    writeln!(out)?;
    writeln!(
        out,
        "{} installation(s) at {}, cutoff {}: {} rotate, {} not-affected, {} no-credentials",
        s.installations,
        report.policy.now,
        report.policy.cutoff,
        s.rotate,
        s.not_affected,
        s.no_credentials
    )?;
    if s.rotate > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: rotate the credentials of {} installation(s) where they were issued, then update each installation.", s.rotate)
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
