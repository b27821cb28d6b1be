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
    /// The terminal's width in columns (`$COLUMNS`, else the terminal's size); `None` when
    /// stdout is not a terminal: a pipe gets every character.
    pub width: Option<usize>,
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
/// columns, the last one unpadded. Shared by every table renderer. [`Columns::within`] fits
/// them to the terminal: wide columns are cut with `…`, a row is never wrapped.
pub struct Columns<const N: usize> {
    widths: [usize; N],
    /// The widths of the content before fitting; a cell wider than its column is cut.
    cut: bool,
}

/// The narrowest a column is cut to.
const MIN_COLUMN: usize = 8;

impl<const N: usize> Columns<N> {
    pub fn fit(headers: [&str; N], rows: &[[String; N]]) -> Self {
        let mut widths = headers.map(|h| h.chars().count());
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        Columns { widths, cut: false }
    }

    /// Narrows the widest columns (never those in `keep`, never below 8 characters) until a
    /// line fits in `width`; without a width the table is left as it is.
    pub fn within(mut self, width: Option<usize>, keep: &[usize]) -> Self {
        let Some(width) = width else { return self };
        let total = |w: &[usize; N]| w.iter().sum::<usize>() + 2 * N.saturating_sub(1);
        while total(&self.widths) > width {
            let widest = (0..N)
                .filter(|i| !keep.contains(i) && self.widths[*i] > MIN_COLUMN)
                .max_by_key(|i| (self.widths[*i], *i));
            match widest {
                Some(i) => {
                    self.widths[i] -= 1;
                    self.cut = true;
                }
                None => break,
            }
        }
        self
    }

    pub fn line(&self, cells: [&str; N]) -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(self.widths).enumerate() {
            let shown = if self.cut {
                cut(cell, w)
            } else {
                (*cell).into()
            };
            let len = shown.chars().count();
            s.push_str(&shown);
            if i + 1 < N {
                s.push_str(&" ".repeat(w.saturating_sub(len) + 2));
            }
        }
        s
    }

    /// A row of owned cells as a line.
    pub fn row(&self, row: &[String; N]) -> String {
        self.line(std::array::from_fn(|i| row[i].as_str()))
    }
}

/// `text` in at most `width` characters, its end replaced by `…` when cut.
fn cut(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s.into()
}

/// Writes a table the way every command does: the header in bold, each row fitted to the
/// terminal (columns in `keep` never cut) with its first cell painted `paint(i)`, then the
/// row's detail lines `details(i)`, escaped, indented and word-wrapped.
pub fn write_rows<'d, const N: usize>(
    out: &mut dyn Write,
    style: &Style,
    headers: [&str; N],
    rows: &[[String; N]],
    keep: &[usize],
    paint: impl Fn(usize) -> &'static str,
    details: impl Fn(usize) -> Vec<&'d str>,
) -> io::Result<()> {
    let columns = Columns::fit(headers, rows).within(style.width, keep);
    writeln!(out, "{}", style.paint("1", &columns.line(headers)))?;
    for (i, row) in rows.iter().enumerate() {
        let text = columns.row(row);
        // Colour only the first cell, after padding was computed on the plain text.
        let n = row[0].len().min(text.len());
        writeln!(out, "{}{}", style.paint(paint(i), &text[..n]), &text[n..])?;
        for detail in details(i) {
            for line in wrap(&escape(detail), "    ", style.width) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

/// A detail line under a row, word-wrapped to `width` with every line indented (a long
/// reason keeps all its dates; it is the table's rows that are cut, never these).
pub fn wrap(text: &str, indent: &str, width: Option<usize>) -> Vec<String> {
    let room = width.map(|w| w.saturating_sub(indent.len() + 2).max(20));
    let Some(room) = room else {
        return vec![format!("{indent}{text}")];
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > room {
            // Continuation lines are indented two more, so each reason still reads as one.
            let lead = if lines.is_empty() { "" } else { "  " };
            lines.push(format!("{indent}{lead}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let lead = if lines.is_empty() { "" } else { "  " };
    lines.push(format!("{indent}{lead}{line}"));
    lines
}

/// A paragraph under the table: word-wrapped to the width, each line painted.
fn para(out: &mut dyn Write, style: &Style, code: &str, text: &str) -> io::Result<()> {
    for line in wrap(text, "", style.width) {
        writeln!(out, "{}", style.paint(code, line.trim_start()))?;
    }
    Ok(())
}

/// A list of names for one cell: the first `shown`, then `+N` for the rest.
pub fn names(list: &[String], shown: usize) -> String {
    let mut s = list
        .iter()
        .take(shown)
        .map(|n| escape(n))
        .collect::<Vec<_>>()
        .join(",");
    if list.len() > shown {
        s.push_str(&format!(" +{}", list.len() - shown));
    }
    s
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
                    .or_else(|| (!r.dns_names.is_empty()).then(|| names(r.dns_names, 1)))
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
    write_rows(
        out,
        style,
        headers,
        &rows,
        &[0, 2, 3],
        |i| status_color(records[i].status),
        |i| {
            let r = &records[i];
            if r.action == crate::classify::Action::None {
                Vec::new()
            } else {
                r.reasons.iter().map(String::as_str).collect()
            }
        },
    )?;
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
            let n = s.count(*st);
            (n > 0).then(|| format!("{n} {}", st.as_str()))
        })
        .collect();
    writeln!(out)?;
    let summary = format!(
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
    );
    para(out, style, "", &summary)?;
    let replace = s.exposed + s.key_reused;
    if replace > 0 {
        para(out, style, "1;31", &format!("Next: replace {replace} certificate(s) with certificates on NEW keys, upload them, then revoke the old ones (reason keyCompromise)."))?;
    }
    if s.unknown_upload > 0 {
        para(out, style, "", &format!(
            "Review: {} certificate(s) issued before the cutoff have no upload date; add them to a manifest (or use --unknown-upload exposed).",
            s.unknown_upload
        ))?;
    }
    if s.expiring > 0 {
        para(
            out,
            style,
            "",
            &format!(
                "Renew: {} certificate(s) expire within {} days.",
                s.expiring, report.policy.expiring_within_days
            ),
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
        para(out, style, "1;33", &format!("INCOMPLETE: {} input(s) could not be read (listed on stderr); this audit is not complete.", s.errors))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{names, wrap, Columns};

    #[test]
    fn columns_are_cut_to_the_width_widest_first() {
        let rows = [["exposed".to_owned(), "a".repeat(40), "b".repeat(30)]];
        let c = Columns::fit(["STATUS", "NAME", "SOURCE"], &rows).within(Some(40), &[0]);
        let line = c.row(&rows[0]);
        assert_eq!(line.chars().count(), 40, "{line}");
        assert!(
            line.starts_with("exposed  "),
            "kept columns are whole: {line}"
        );
        assert!(line.contains('…'));
        // Without a width nothing is cut.
        let c = Columns::fit(["STATUS", "NAME", "SOURCE"], &rows).within(None, &[0]);
        assert!(!c.row(&rows[0]).contains('…'));
    }

    #[test]
    fn long_lists_and_reasons() {
        let list: Vec<String> = ["a.example", "b.example", "c.example"]
            .map(String::from)
            .into();
        assert_eq!(names(&list, 1), "a.example +2");
        assert_eq!(names(&list, 3), "a.example,b.example,c.example");
        let lines = wrap(
            "one two three four five six seven eight nine ten eleven twelve",
            "    ",
            Some(30),
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert!(
            lines[1].starts_with("      "),
            "continuations indented: {lines:?}"
        );
        assert_eq!(wrap("x y", "  ", None), vec!["  x y".to_owned()]);
    }
}
