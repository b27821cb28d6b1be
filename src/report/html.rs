//! `--format html`: one self-contained page (no scripts, fonts or URLs; works offline) with the
//! summary, the findings first, and an SVG validity timeline — a bar per certificate from
//! notBefore to notAfter, coloured by status, with the cutoff, now and each upload marked.
//! Every string from a certificate or a file name is escaped: subjects are attacker-controlled.

use std::fmt::Write as _;
use std::io::{self, Write};

use time::OffsetDateTime;

use super::model::{CertRecord, ScanReport};
use crate::classify::{Role, Status};
use crate::timefmt;

/// Bars drawn per status group; past this the group says how many were left out (the table
/// below still lists every certificate).
const MAX_BARS_PER_GROUP: usize = 2_000;
const WIDTH: f64 = 1000.0;
/// How far past now the timeline reaches.
const HORIZON_YEARS: i64 = 12;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Exposed => "#c62828",
        Status::KeyReused => "#ad1457",
        Status::UnknownUpload => "#ef6c00",
        Status::Expiring => "#f9a825",
        Status::Revoked => "#6d4c41",
        Status::Expired => "#9e9e9e",
        Status::NotAffected => "#2e7d32",
        Status::Valid => "#1565c0",
    }
}

/// The time axis: from the earliest notBefore (or cutoff) to the latest notAfter (or now).
struct Axis {
    from: i64,
    to: i64,
}

impl Axis {
    fn x(&self, t: OffsetDateTime) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        ((t.unix_timestamp() - self.from) as f64 / span * WIDTH).clamp(0.0, WIDTH)
    }
}

pub fn write_scan(report: &ScanReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let inv = report.inventory;
    let verdicts = &report.classified.verdicts;
    let summary = report.summary();
    let policy = report.policy;

    let mut order: Vec<usize> = (0..inv.certs.len()).collect();
    order.sort_by_key(|&i| (verdicts[i].status, inv.certs[i].facts.not_after));
    // Each record (reasons formatted) is built once, for the timeline and the table.
    let records: Vec<CertRecord<'_>> = report.records().collect();

    let mut from = policy.now.unix_timestamp();
    let mut to = from;
    if let Some(c) = policy.cutoff {
        from = from.min(c.unix_timestamp());
    }
    for c in &inv.certs {
        from = from.min(c.facts.not_before.unix_timestamp());
        to = to.max(c.facts.not_after.unix_timestamp());
    }
    // A certificate valid for 80 years would squeeze every other bar into a sliver: the axis
    // ends at most HORIZON_YEARS after now (longer bars run off the edge; their tooltip and
    // the table give the real date).
    to = to.min(policy.now.unix_timestamp() + HORIZON_YEARS * 365 * 86_400);
    let axis = Axis { from, to };

    let mut page = String::with_capacity(4096 + inv.certs.len() * 600);
    let title = match policy.cutoff {
        Some(c) => format!("certsweep scan — cutoff {}", timefmt::rfc3339(c)),
        None => "certsweep scan — inventory".to_owned(),
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>{}</style></head><body>\n",
        escape(&title),
        STYLE
    );
    let _ = writeln!(page, "<h1>{}</h1>", escape(&title));
    let verdict_text = if !summary.complete {
        "<p class=\"verdict bad\">INCOMPLETE: some inputs could not be read (see Errors). This audit must not be taken as clean.</p>"
    } else if summary.action_required {
        "<p class=\"verdict bad\">Action required: some certificates must be replaced.</p>"
    } else {
        "<p class=\"verdict ok\">Nothing needs action, and every input was read.</p>"
    };
    page.push_str(verdict_text);
    let _ = writeln!(
        page,
        "<p>Reference time (now): <b>{}</b>{}. {} certificates, {} private keys, {} input errors.</p>",
        escape(&timefmt::rfc3339(policy.now)),
        policy
            .cutoff
            .map(|c| format!("; cutoff: <b>{}</b>", escape(&timefmt::rfc3339(c))))
            .unwrap_or_default(),
        summary.certificates,
        summary.private_keys,
        summary.errors
    );

    // Counts per status, with the legend colours.
    page.push_str(
        "<table class=\"counts\" id=\"summary\"><tr><th>status</th><th>certificates</th></tr>",
    );
    for s in Status::ALL {
        let n = summary.count(s);
        if n == 0 {
            continue;
        }
        let _ = write!(
            page,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{n}</td></tr>",
            colour(s),
            s.as_str()
        );
    }
    page.push_str("</table>\n");

    // The timeline, one group per status (findings first, open; the rest folded).
    page.push_str("<h2>Validity timeline</h2>\n<p class=\"hint\">Each bar runs from notBefore to notAfter; the red line is the cutoff, the dashed line now, a dot the upload date. Hover a bar for its subject, serial and reasons.</p>\n");
    let mut start = 0;
    while start < order.len() {
        let status = verdicts[order[start]].status;
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| verdicts[i].status == status)
                .count();
        write_group(
            &mut page,
            report,
            &records,
            &axis,
            status,
            &order[start..end],
        );
        start = end;
    }

    // Every certificate, findings first.
    page.push_str("<h2>Certificates</h2>\n<div class=\"scroll\"><table class=\"certs\" id=\"certificates\"><thead><tr><th>status</th><th>action</th><th>role</th><th>subject</th><th>names</th><th>not after</th><th>days left</th><th>uploaded</th><th>source</th><th>reasons</th></tr></thead><tbody>\n");
    for &i in &order {
        let r = &records[i];
        let names: Vec<&str> = r
            .dns_names
            .iter()
            .chain(r.ip_addresses.iter())
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            page,
            "<tr class=\"{status}\"><td><span class=\"swatch\" style=\"background:{col}\"></span>{status}</td><td>{action}</td><td>{role}</td><td>{subject}</td><td>{names}</td><td>{na}</td><td>{days}</td><td>{up}</td><td>{src}</td><td>{reasons}</td></tr>",
            status = r.status.as_str(),
            col = colour(r.status),
            action = r.action.as_str(),
            role = role(r.role),
            subject = escape(r.subject),
            names = escape(&names.join(", ")),
            na = escape(&r.not_after),
            days = r.days_left,
            up = escape(r.source.uploaded_at.as_deref().unwrap_or("unknown")),
            src = escape(&format!("{} #{}", r.source.path, r.source.index)),
            reasons = escape(&r.reasons.join("; ")),
        );
    }
    page.push_str("</tbody></table></div>\n");

    if !inv.errors.is_empty() {
        page.push_str("<h2>Errors</h2>\n<table class=\"errors\" id=\"errors\"><tr><th>input</th><th>reason</th></tr>\n");
        for e in &inv.errors {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&e.path),
                escape(&e.reason)
            );
        }
        page.push_str("</table>\n");
    }
    let _ = writeln!(
        page,
        "<footer>certsweep {} · schema_version {}</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        super::SCHEMA_VERSION
    );
    out.write_all(page.as_bytes())
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Leaf => "leaf",
        Role::Chain => "chain",
    }
}

fn write_group(
    page: &mut String,
    report: &ScanReport<'_>,
    records: &[CertRecord<'_>],
    axis: &Axis,
    status: Status,
    certs: &[usize],
) {
    let inv = report.inventory;
    let policy = report.policy;
    let finding = matches!(
        status,
        Status::Exposed | Status::KeyReused | Status::UnknownUpload | Status::Expiring
    );
    let drawn = &certs[..certs.len().min(MAX_BARS_PER_GROUP)];
    let bar = if drawn.len() > 200 { 4.0 } else { 12.0 };
    let gap = if drawn.len() > 200 { 1.0 } else { 4.0 };
    let top = 22.0;
    let height = top + drawn.len() as f64 * (bar + gap) + 4.0;
    let _ = writeln!(
        page,
        "<details class=\"group\" data-status=\"{s}\"{open}><summary><span class=\"swatch\" style=\"background:{c}\"></span>{s}: {n}</summary>",
        s = status.as_str(),
        c = colour(status),
        n = certs.len(),
        open = if finding { " open" } else { "" },
    );
    let _ = writeln!(
        page,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"validity of {n} {s} certificates\">",
        n = certs.len(),
        s = status.as_str()
    );
    // Year ticks.
    let first_year = OffsetDateTime::from_unix_timestamp(axis.from)
        .map(|t| t.year())
        .unwrap_or(1970);
    let last_year = OffsetDateTime::from_unix_timestamp(axis.to)
        .map(|t| t.year())
        .unwrap_or(1970);
    let step = ((last_year - first_year) / 10).max(1);
    let mut year = first_year + 1;
    while year <= last_year {
        if let Ok(t) = time::Date::from_calendar_date(year, time::Month::January, 1) {
            let x = axis.x(t.midnight().assume_utc());
            let _ = writeln!(
                page,
                "<line class=\"tick\" x1=\"{x:.1}\" y1=\"14\" x2=\"{x:.1}\" y2=\"{height}\"/><text class=\"year\" x=\"{x:.1}\" y=\"11\">{year}</text>"
            );
        }
        year += step;
    }
    for (row, &i) in drawn.iter().enumerate() {
        let c = &inv.certs[i];
        let f = &c.facts;
        let y = top + row as f64 * (bar + gap);
        let x1 = axis.x(f.not_before);
        let x2 = axis.x(f.not_after).max(x1 + 1.0);
        let r = &records[i];
        let tip = format!(
            "{}\nserial {}\n{} → {}\nuploaded {}\n{}: {}",
            r.subject,
            r.serial,
            r.not_before,
            r.not_after,
            r.source.uploaded_at.as_deref().unwrap_or("unknown"),
            r.status.as_str(),
            r.reasons.join("; ")
        );
        let _ = write!(
            page,
            "<g class=\"cert\" data-status=\"{s}\"><title>{tip}</title><rect class=\"bar\" x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{c}\"/>",
            s = status.as_str(),
            tip = escape(&tip),
            w = x2 - x1,
            c = colour(status),
        );
        if let Some(up) = c.upload.uploaded_at {
            let xu = axis.x(up);
            let _ = write!(
                page,
                "<circle class=\"upload\" cx=\"{xu:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\"/>",
                cy = y + bar / 2.0,
                r = (bar / 2.0 - 0.5).max(1.5)
            );
        }
        page.push_str("</g>\n");
    }
    if let Some(cutoff) = policy.cutoff {
        let x = axis.x(cutoff);
        let _ = writeln!(
            page,
            "<line id=\"cutoff-{s}\" class=\"cutoff\" x1=\"{x:.1}\" y1=\"14\" x2=\"{x:.1}\" y2=\"{height}\"><title>cutoff {t}</title></line>",
            s = status.as_str(),
            t = escape(&timefmt::rfc3339(cutoff))
        );
    }
    let x = axis.x(policy.now);
    let _ = write!(
        page,
        "<line class=\"now\" x1=\"{x:.1}\" y1=\"14\" x2=\"{x:.1}\" y2=\"{height}\"><title>now {t}</title></line>\n</svg>\n",
        t = escape(&timefmt::rfc3339(policy.now))
    );
    if certs.len() > drawn.len() {
        let _ = writeln!(
            page,
            "<p class=\"hint\">{} more {} certificates are not drawn; the table below lists them all.</p>",
            certs.len() - drawn.len(),
            status.as_str()
        );
    }
    page.push_str("</details>\n");
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#212121}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\
.verdict{padding:.5em .8em;border-radius:4px;font-weight:600}.verdict.bad{background:#ffebee;color:#b71c1c}.verdict.ok{background:#e8f5e9;color:#1b5e20}\
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:-1px}\
table{border-collapse:collapse;font-size:.85em}td,th{border-bottom:1px solid #e0e0e0;padding:.25em .5em;text-align:left;vertical-align:top}\
table.certs td:nth-child(4){min-width:10em;max-width:22em;overflow-wrap:anywhere}table.certs td:nth-child(10){min-width:24em;max-width:40em}table.certs td:nth-child(5){min-width:12em;max-width:20em;overflow-wrap:anywhere}.scroll{overflow-x:auto}table.certs td:nth-child(6),table.certs td:nth-child(8){white-space:nowrap}\
details.group{margin:.4em 0}details.group summary{cursor:pointer;font-weight:600}\
svg.timeline{display:block;background:#fafafa;border:1px solid #e0e0e0;margin:.3em 0}\
.tick{stroke:#e0e0e0;stroke-width:1}.year{font-size:10px;fill:#757575;text-anchor:middle}\
.cutoff{stroke:#d50000;stroke-width:2}.now{stroke:#212121;stroke-width:2;stroke-dasharray:4 3}\
.upload{fill:#212121;stroke:#fff;stroke-width:1}g.cert:hover rect{stroke:#000;stroke-width:1}\
.hint{color:#616161;font-size:.85em}footer{margin-top:2em;color:#9e9e9e;font-size:.8em}";
