//! Renderers: commands return data; these turn it into table, JSON, NDJSON or CSV.

pub mod html;
pub mod kinds;
pub mod messages;
pub mod model;
pub mod prometheus;
pub mod sink;
pub mod table;

use std::io::{self, Write};

use serde::Serialize;

use crate::inventory::InputError;
pub use model::{ErrorRecord, ScanReport};

/// The output format, resolved from `--format` (table on a terminal, else table too unless set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
    /// node_exporter textfile format (scan)
    Prometheus,
    /// One self-contained page with a validity timeline (scan)
    Html,
}

impl Format {
    /// The four formats every command speaks.
    pub const TABULAR: &'static [Format] =
        &[Format::Table, Format::Json, Format::Ndjson, Format::Csv];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Prometheus => "prometheus",
            Format::Html => "html",
        }
    }
}

/// Version of every JSON/NDJSON/CSV shape certsweep writes; bumped on any breaking change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

pub const TOOL: Tool = Tool {
    name: "certsweep",
    version: env!("CARGO_PKG_VERSION"),
};

/// The policy of the vendor audits (`apps`, `credentials`): the reference time and the cutoff.
#[derive(Serialize)]
pub struct CutoffPolicy {
    pub now: String,
    pub cutoff: String,
}

impl CutoffPolicy {
    pub fn new(now: time::OffsetDateTime, cutoff: time::OffsetDateTime) -> Self {
        CutoffPolicy {
            now: crate::timefmt::rfc3339(now),
            cutoff: crate::timefmt::rfc3339(cutoff),
        }
    }
}

/// The last line of every NDJSON report: the policy, then the summary's fields.
#[derive(Serialize)]
struct SummaryLine<P, S> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    tool: &'static Tool,
    policy: P,
    #[serde(flatten)]
    summary: S,
}

/// The end of every NDJSON report: one `error` line per input that could not be read, then
/// one `summary` line.
pub fn write_ndjson_tail(
    errors: &[InputError],
    policy: impl Serialize,
    summary: impl Serialize,
    out: &mut dyn Write,
) -> io::Result<()> {
    for e in errors {
        serde_json::to_writer(&mut *out, &ErrorRecord::new(e, Some("error")))
            .map_err(io::Error::from)?;
        out.write_all(b"\n")?;
    }
    let line = SummaryLine {
        kind: "summary",
        schema_version: SCHEMA_VERSION,
        tool: &TOOL,
        policy,
        summary,
    };
    serde_json::to_writer(&mut *out, &line).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `--summary-only` with `--format json` (and `merge --format json`): one object with the
/// policy and the summary.
pub fn write_summary_json(
    policy: impl Serialize,
    summary: impl Serialize,
    out: &mut dyn Write,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct SummaryObject<P, S> {
        schema_version: u32,
        tool: &'static Tool,
        policy: P,
        summary: S,
    }
    let doc = SummaryObject {
        schema_version: SCHEMA_VERSION,
        tool: &TOOL,
        policy,
        summary,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from)?;
    writeln!(out)
}

/// The formats each command speaks; anything else is refused before the command runs.
pub fn formats_of(command: &crate::cli::Command) -> &'static [Format] {
    use crate::cli::{Command, RotateCommand};
    const SCAN: &[Format] = &[
        Format::Table,
        Format::Json,
        Format::Ndjson,
        Format::Csv,
        Format::Prometheus,
        Format::Html,
    ];
    const WITH_PROMETHEUS: &[Format] = &[
        Format::Table,
        Format::Json,
        Format::Ndjson,
        Format::Csv,
        Format::Prometheus,
    ];
    match command {
        Command::Scan(_) => SCAN,
        Command::Probe(_) | Command::Apps(_) => WITH_PROMETHEUS,
        Command::Rotate(r) => match r.command {
            RotateCommand::Status => SCAN,
            // An interactive walk prints for the person at the terminal.
            RotateCommand::Walk { .. } => &[Format::Table],
            _ => Format::TABULAR,
        },
        // A completion script and a manual page have one form each.
        Command::Completions { .. } | Command::Man { .. } => &[Format::Table],
        _ => Format::TABULAR,
    }
}

/// The error for a format a command does not speak (a usage error, exit 2).
pub fn unsupported(format: Format, command: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "--format {} is not supported by `certsweep {command}`",
            format.name()
        ),
    )
}

/// Writes one CSV row with every cell passed through [`crate::sanitize::csv_cell`]: certificate
/// subjects, SANs, file names and API strings are attacker-controlled.
pub fn csv_record<W: Write, I, S>(w: &mut csv::Writer<W>, cells: I) -> csv::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    w.write_record(
        cells
            .into_iter()
            .map(|c| match crate::sanitize::csv_cell(c.as_ref()) {
                std::borrow::Cow::Borrowed(_) => Cell::Kept(c),
                std::borrow::Cow::Owned(changed) => Cell::Changed(changed),
            }),
    )
}

/// A CSV cell as given (no copy in the common case) or its neutralised form.
enum Cell<S> {
    Kept(S),
    Changed(String),
}

impl<S: AsRef<str>> AsRef<[u8]> for Cell<S> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Cell::Kept(s) => s.as_ref().as_bytes(),
            Cell::Changed(s) => s.as_bytes(),
        }
    }
}

/// Renders a scan report to `out` in `format`.
pub fn write_scan(
    report: &ScanReport<'_>,
    format: Format,
    style: &table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
            writeln!(out)
        }
        Format::Ndjson => model::write_ndjson(report, out),
        Format::Csv => model::write_csv(report, out),
        Format::Table => table::write_scan(report, style, out),
        Format::Prometheus => prometheus::write_scan(report, out),
        Format::Html => html::write_scan(report, out),
    }
}
