//! certsweep: find, classify and replace TLS certificates whose private keys were exposed.
//!
//! The binary is a thin shell over [`run`]; commands return data and `report` renders it.

pub mod apps;
pub mod audit;
pub mod cert;
pub mod classify;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod crl;
pub mod csr;
pub mod error;
pub mod input;
pub mod inspect;
pub mod inventory;
pub mod man;
pub mod merge;
pub mod probe;
pub mod progress;
pub mod report;
pub mod rotate;
pub mod sanitize;
pub mod scan;
pub mod stream;
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
            // Messages quote file names and certificate text: escaped like every diagnostic.
            let _ = writeln!(
                io::stderr(),
                "certsweep: error: {}",
                sanitize::escape(&e.to_string())
            );
            e.exit_code() as i32
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Scan(_) => "scan",
        Command::Inspect(_) => "inspect",
        Command::Csr(_) => "csr",
        Command::Probe(_) => "probe",
        Command::Rotate(_) => "rotate",
        Command::Apps(_) => "apps",
        Command::Credentials(_) => "credentials",
        Command::Merge(_) => "merge",
        Command::Completions { .. } => "completions",
        Command::Man { .. } => "man",
    }
}

fn dispatch(cli: &Cli) -> Result<ExitCode, Error> {
    let ctx = config::Context::resolve(&cli.global)?;
    inventory::limits::configure(
        (cli.global.max_input_size).unwrap_or(inventory::limits::DEFAULT_MAX_INPUT),
        (cli.global.max_certs_per_input).unwrap_or(inventory::limits::DEFAULT_MAX_CERTS),
        (cli.global.p12_iteration_budget).unwrap_or(inventory::limits::DEFAULT_P12_BUDGET),
    );
    if let (Command::Rotate(r), Some(_)) = (&cli.command, &ctx.output) {
        if matches!(r.command, cli::RotateCommand::Walk { .. }) {
            return Err(Error::Usage(
                "--output is not for `rotate walk`: the walk talks to the person at the terminal; \
                 use `rotate status --output FILE` for a report"
                    .into(),
            ));
        }
    }
    let formats = report::formats_of(&cli.command);
    if !formats.contains(&ctx.format) {
        let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
        return Err(Error::Usage(format!(
            "--format {} is not supported by `certsweep {}`; it writes {}",
            ctx.format.name(),
            command_name(&cli.command),
            names.join(", ")
        )));
    }
    match &cli.command {
        Command::Scan(args) => scan::run(args, &ctx),
        Command::Inspect(args) => inspect::run(args, &ctx),
        Command::Csr(args) => csr::run(args, &ctx),
        Command::Probe(args) => probe::run(args, &ctx),
        Command::Rotate(args) => rotate::run(args, &ctx),
        Command::Apps(args) => apps::run(args, &ctx),
        Command::Credentials(args) => credentials::run(args, &ctx),
        Command::Merge(args) => merge::run(args, &ctx),
        Command::Completions { shell } => {
            let mut out = ctx.sink()?;
            clap_complete::generate(*shell, &mut Cli::command(), "certsweep", &mut out);
            out.finish()?;
            Ok(ExitCode::Clean)
        }
        Command::Man { dir: None } => {
            let mut out = ctx.sink()?;
            man::render(Cli::command(), &mut out)?;
            out.finish()?;
            Ok(ExitCode::Clean)
        }
        Command::Man { dir: Some(dir) } => {
            let written = man::write_all(Cli::command(), dir).map_err(|e| {
                Error::Usage(format!(
                    "man --dir {}: {}",
                    dir.display(),
                    inventory::describe_io(&e)
                ))
            })?;
            if !ctx.quiet {
                let _ = writeln!(
                    io::stderr(),
                    "certsweep: wrote {} manual pages to {}",
                    written.len(),
                    dir.display()
                );
            }
            Ok(ExitCode::Clean)
        }
    }
}
