//! Renderers: commands return data; these turn it into table, JSON, NDJSON or CSV.

pub mod model;
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
            .map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    let line = SummaryLine {
        kind: "summary",
        schema_version: SCHEMA_VERSION,
        tool: &TOOL,
        policy,
        summary,
    };
    serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
    out.write_all(b"\n")
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
            serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
            writeln!(out)
        }
        Format::Ndjson => model::write_ndjson(report, out),
        Format::Csv => model::write_csv(report, out),
        Format::Table => table::write_scan(report, style, out),
    }
}
