//! The table for people: findings first, attacker-controlled text escaped, a summary and the
//! next step at the end.

use std::io::{self, Write};

use super::model::{CertRecord, ScanReport};
use crate::classify::{Role, Status};
use crate::sanitize::escape;
use crate::timefmt;

/// How to draw: colour only on a terminal (and not under `NO_COLOR`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub(crate) fn paint(&self, code: &str, text: &str) -> String {
        if self.color && !code.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn status_color(s: Status) -> &'static str {
    match s {
        Status::Exposed | Status::KeyReused => "1;31",
        Status::UnknownUpload | Status::Expiring => "33",
        Status::Valid | Status::NotAffected => "32",
        Status::Revoked | Status::Expired => "2",
    }
}

/// Column widths fitted to the widest cell (counted in characters); two spaces between
/// columns, the last one unpadded. Shared by every table renderer.
pub struct Columns<const N: usize> {
    widths: [usize; N],
}

impl<const N: usize> Columns<N> {
    pub fn fit(headers: [&str; N], rows: &[[String; N]]) -> Self {
        let mut widths = headers.map(|h| h.chars().count());
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        Columns { widths }
    }

    pub fn line(&self, cells: [&str; N]) -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(self.widths).enumerate() {
            s.push_str(cell);
            if i + 1 < N {
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        s
    }

    /// A row of owned cells as a line.
    pub fn row(&self, row: &[String; N]) -> String {
        self.line(std::array::from_fn(|i| row[i].as_str()))
    }
}

/// Findings first, in the order of the status list, then by expiry.
fn order(a: &CertRecord<'_>, b: &CertRecord<'_>) -> std::cmp::Ordering {
    a.status
        .cmp(&b.status)
        .then_with(|| a.not_after.cmp(&b.not_after))
}

pub fn write_scan(report: &ScanReport<'_>, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut records: Vec<CertRecord<'_>> = report.records().collect();
    records.sort_by(order);
    let rows: Vec<[String; 5]> = records
        .iter()
        .map(|r| {
            // A chain certificate is not the host's: show whose it is.
            let name = match r.role {
                Role::Chain => r.subject.to_owned(),
                Role::Leaf => r
                    .source
                    .host
                    .map(str::to_owned)
                    .or_else(|| r.dns_names.first().cloned())
                    .unwrap_or_else(|| r.subject.to_owned()),
            };
            let status = match r.role {
                Role::Chain => format!("{} (chain)", r.status.as_str()),
                Role::Leaf => r.status.as_str().to_owned(),
            };
            let source = match r.source.manifest_id {
                Some(id) => format!("{id}: {}#{}", r.source.path, r.source.index),
                None => format!("{}#{}", r.source.path, r.source.index),
            };
            [
                status,
                escape(&name),
                r.not_after[..10].to_owned(),
                r.days_left.to_string(),
                escape(&source),
            ]
        })
        .collect();
    let headers = ["STATUS", "NAME", "NOT AFTER", "DAYS", "SOURCE"];
    let columns = Columns::fit(headers, &rows);
    writeln!(out, "{}", style.paint("1", &columns.line(headers)))?;
    for (row, r) in rows.iter().zip(&records) {
        let text = columns.row(row);
        // Colour only the status cell, after padding was computed on the plain text.
        let status_len = row[0].len();
        writeln!(
            out,
            "{}{}",
            style.paint(status_color(r.status), &text[..status_len]),
            &text[status_len..]
        )?;
        if r.action != crate::classify::Action::None {
            for reason in &r.reasons {
                writeln!(out, "    {}", escape(reason))?;
            }
        }
    }
    for f in report.key_findings() {
        writeln!(
            out,
            "{}  {} {}#{}",
            style.paint(status_color(f.status), f.status.as_str()),
            f.key_kind,
            escape(f.source.path),
            f.source.index
        )?;
        for reason in &f.reasons {
            writeln!(out, "    {}", escape(reason))?;
        }
    }
    write_footer(report, style, out)
}

fn write_footer(report: &ScanReport<'_>, style: &Style, out: &mut dyn Write) -> io::Result<()> {
    let s = report.summary();
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter_map(|st| {
            let n = match st {
                Status::Exposed => s.exposed,
                Status::KeyReused => s.key_reused,
                Status::UnknownUpload => s.unknown_upload,
                Status::Expiring => s.expiring,
                Status::Revoked => s.revoked,
                Status::Expired => s.expired,
                Status::NotAffected => s.not_affected,
                Status::Valid => s.valid,
            };
            (n > 0).then(|| format!("{n} {}", st.as_str()))
        })
        .collect();
    writeln!(out)?;
    writeln!(
        out,
        "{} certificate(s) and {} private key(s) in {} upload(s) at {}{}: {}",
        s.certificates,
        s.private_keys,
        s.uploads,
        timefmt::rfc3339(report.policy.now),
        report
            .policy
            .cutoff
            .map(|c| format!(", cutoff {}", timefmt::rfc3339(c)))
            .unwrap_or_default(),
        if counts.is_empty() {
            "nothing found".into()
        } else {
            counts.join(", ")
        }
    )?;
    let replace = s.exposed + s.key_reused;
    if replace > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!("Next: replace {replace} certificate(s) with certificates on NEW keys, upload them, then revoke the old ones (reason keyCompromise).")
            )
        )?;
    }
    if s.unknown_upload > 0 {
        writeln!(
            out,
            "Review: {} certificate(s) issued before the cutoff have no upload date; add them to a manifest (or use --unknown-upload exposed).",
            s.unknown_upload
        )?;
    }
    if s.expiring > 0 {
        writeln!(
            out,
            "Renew: {} certificate(s) expire within {} days.",
            s.expiring, report.policy.expiring_within_days
        )?;
    }
    if s.key_findings > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;31",
                &format!(
                    "Do not use: {} certificate request(s)/public key(s) are on exposed keys.",
                    s.key_findings
                )
            )
        )?;
    }
    if s.warnings > 0 {
        writeln!(
            out,
            "Note: {} input(s) read with warnings (listed on stderr).",
            s.warnings
        )?;
    }
    if s.errors > 0 {
        writeln!(
            out,
            "{}",
            style.paint(
                "1;33",
                &format!("INCOMPLETE: {} input(s) could not be read (listed on stderr); this audit is not complete.", s.errors)
            )
        )?;
    }
    Ok(())
}
