//! Resolving raw flags into typed values: the clock (read once, here), format, colour.

use std::io::IsTerminal;

use time::OffsetDateTime;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::Error;
use crate::report::table::Style;
use crate::report::Format;
use crate::timefmt;

/// Everything a command needs from the global flags.
pub struct Context {
    /// The reference time: `--now`, or the system clock read once at start-up.
    pub now: OffsetDateTime,
    pub format: Format,
    pub style: Style,
    pub quiet: bool,
}

impl Context {
    pub fn resolve(g: &GlobalArgs) -> Result<Self, Error> {
        let now = match &g.now {
            Some(t) => parse_flag("--now", t)?,
            None => OffsetDateTime::now_utc(),
        };
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
            }
        };
        Ok(Context {
            now,
            format: g.format.unwrap_or(Format::Table),
            style: Style { color },
            quiet: g.quiet,
        })
    }
}

/// Parses a date flag, naming the flag in the error.
pub fn parse_flag(flag: &str, text: &str) -> Result<OffsetDateTime, Error> {
    timefmt::parse(text).map_err(|e| Error::Usage(format!("{flag}: {e}")))
}
