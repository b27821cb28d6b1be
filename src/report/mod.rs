//! Renderers: commands return data; these turn it into table, JSON, NDJSON or CSV.

pub mod model;
pub mod table;

use std::io::{self, Write};

use serde::Serialize;

pub use model::ScanReport;

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
