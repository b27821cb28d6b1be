//! Resolving raw flags into typed values: the clock (read once, here), format, colour.

use std::io::IsTerminal;
use std::path::PathBuf;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::Error;
use crate::report::sink::Sink;
use crate::report::table::Style;
use crate::report::Format;
use crate::timefmt;

/// Everything a command needs from the global flags.
#[derive(Clone)]
pub struct Context {
    /// The reference time: `--now`, or the system clock read once at start-up.
    pub now: OffsetDateTime,
    /// `--now` fixed the time; otherwise a long interactive command may read the clock again.
    pub pinned: bool,
    pub format: Format,
    pub style: Style,
    pub quiet: bool,
    /// `--output FILE`: the report goes there, atomically, instead of stdout.
    pub output: Option<PathBuf>,
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
                g.output.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
            }
        };
        Ok(Context {
            now,
            pinned: g.now.is_some(),
            format: g.format.unwrap_or(Format::Table),
            style: Style {
                color,
                width: terminal_width(g.output.is_none()),
            },
            quiet: g.quiet,
            output: g.output.clone(),
        })
    }

    /// Whether to render the report at all: `-q` silences stdout, but an `--output` file is
    /// still written.
    pub fn wants_report(&self) -> bool {
        !self.quiet || self.output.is_some()
    }

    /// Where the report is written: stdout or `--output`; call [`Sink::finish`] at the end.
    pub fn sink(&self) -> std::io::Result<Sink> {
        Sink::open(self.output.as_deref())
    }
}

/// The width tables are fitted to: `$COLUMNS` when set, else the terminal's when stdout is one
/// (and the report goes there); `None` for a pipe or a file, which get every character.
fn terminal_width(to_stdout: bool) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if !to_stdout || !std::io::stdout().is_terminal() {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        rustix::termios::tcgetwinsize(std::io::stdout())
            .ok()
            .map(|w| usize::from(w.ws_col))
            .filter(|n| *n > 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

impl Context {
    /// The same context with the clock read again (unless `--now` pinned it): for each step
    /// of `rotate walk`, which can wait at a prompt for as long as a CA takes to issue.
    pub fn at_this_step(&self) -> Context {
        Context {
            now: if self.pinned {
                self.now
            } else {
                OffsetDateTime::now_utc()
            },
            ..self.clone()
        }
    }
}

/// Parses a date flag, naming the flag in the error.
pub fn parse_flag(flag: &str, text: &str) -> Result<OffsetDateTime, Error> {
    timefmt::parse(text).map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

/// The environment variable holding the PKCS#12 password.
pub const P12_PASSWORD_ENV: &str = "CERTSWEEP_P12_PASSWORD";

/// The PKCS#12 password: the first line of `--p12-password-file`, else the environment
/// variable, else none (the empty password is then tried). A password given on the command
/// line (`--p12-password`) is refused.
pub fn p12_password(
    file: Option<&PathBuf>,
    argv: Option<&String>,
) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    if argv.is_some() {
        return Err(Error::Usage(format!(
            "--p12-password is refused: secrets on the command line leak into shell history \
             and `ps`; use --p12-password-file FILE or the {P12_PASSWORD_ENV} environment variable"
        )));
    }
    let raw = match file {
        Some(path) => {
            Zeroizing::new(crate::inventory::limits::read_side_file(path).map_err(|e| {
                Error::Usage(format!(
                    "--p12-password-file {}: {}",
                    path.display(),
                    crate::inventory::describe_io(&e)
                ))
            })?)
        }
        None => match std::env::var_os(P12_PASSWORD_ENV) {
            Some(v) => Zeroizing::new(v.into_encoded_bytes()),
            None => return Ok(None),
        },
    };
    // The first line, without its line ending (an empty line is the empty password).
    let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Some(Zeroizing::new(line.to_vec())))
}

/// The environment variable holding the passphrase of encrypted private keys in the inventory
/// (also the passphrase `csr --encrypt-key` uses for new keys).
pub const KEY_PASSPHRASE_ENV: &str = "CERTSWEEP_KEY_PASSPHRASE";

/// The passphrase for encrypted private keys found in the inventory: the first line of
/// `--key-passphrase-file`, else the environment variable, else none.
pub fn key_passphrase(file: Option<&PathBuf>) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    let raw = match file {
        Some(path) => {
            Zeroizing::new(crate::inventory::limits::read_side_file(path).map_err(|e| {
                Error::Usage(format!(
                    "--key-passphrase-file {}: {}",
                    path.display(),
                    crate::inventory::describe_io(&e)
                ))
            })?)
        }
        None => match std::env::var_os(KEY_PASSPHRASE_ENV) {
            Some(v) => Zeroizing::new(v.into_encoded_bytes()),
            None => return Ok(None),
        },
    };
    let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Some(Zeroizing::new(line.to_vec())))
}
