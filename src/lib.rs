//! certsweep: find, classify and replace TLS certificates whose private keys were exposed.
//!
//! The binary is a thin shell over [`run`]; commands return data and `report` renders it.

pub mod apps;
pub mod cert;
pub mod classify;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod crl;
pub mod csr;
pub mod error;
pub mod inspect;
pub mod inventory;
pub mod probe;
pub mod progress;
pub mod report;
pub mod rotate;
pub mod sanitize;
pub mod scan;
pub mod timefmt;
pub mod vendor;

use std::ffi::OsString;
use std::io::{self, Write};

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use error::{Error, ExitCode};

/// Runs certsweep with these arguments and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version exit 0; usage errors exit 2, as DESIGN.md requires.
            let _ = e.print();
            return e.exit_code();
        }
    };
    match dispatch(&cli) {
        Ok(code) => code as i32,
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(io::stderr(), "certsweep: error: {e}");
            e.exit_code() as i32
        }
    }
}

fn dispatch(cli: &Cli) -> Result<ExitCode, Error> {
    let ctx = config::Context::resolve(&cli.global)?;
    match &cli.command {
        Command::Scan(args) => scan::run(args, &ctx),
        Command::Inspect(args) => inspect::run(args, &ctx),
        Command::Csr(args) => csr::run(args, &ctx),
        Command::Probe(args) => probe::run(args, &ctx),
        Command::Rotate(args) => rotate::run(args, &ctx),
        Command::Apps(args) => apps::run(args, &ctx),
        Command::Credentials(args) => credentials::run(args, &ctx),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "certsweep", &mut io::stdout());
            Ok(ExitCode::Clean)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut io::stdout())?;
            Ok(ExitCode::Clean)
        }
    }
}
