//! Command-line definitions only (clap); `config` turns them into typed values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::classify::UnknownUpload;
use crate::report::Format;

#[derive(Parser, Debug)]
#[command(
    name = "certsweep",
    version,
    about = "Find, classify and replace TLS certificates whose private keys were exposed in a breach",
    long_about = "certsweep inventories uploaded certificates and classifies each against a breach's \
cutoff date: exposed (uploaded before the cutoff and still valid), key-reused, unknown-upload, \
revoked, expired or not-affected.\n\nExit codes: 0 nothing needs action and every input was read; \
1 something needs action; 2 the run was incomplete (an input failed) or a usage error.",
    after_help = "Example: certsweep scan --manifest fixtures/demo/manifest.json --cutoff 2016-11-01"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Reference time for validity (YYYY-MM-DD or RFC 3339) [default: the system clock]
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
    /// Output format [default: table]
    #[arg(long, global = true, value_enum, value_name = "F")]
    pub format: Option<Format>,
    /// Colour in the table output (auto: on a terminal, unless NO_COLOR is set)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print no data, only errors; the exit code tells the result
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inventory certificates and classify each against the exposure cutoff
    Scan(ScanArgs),
    /// Show every field of every certificate in the given files
    Inspect(InspectArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Certificate files or directories (recursive); `-` reads stdin
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// JSON or CSV manifest of uploads: id, file|pem, uploaded_at, host, account (repeatable)
    #[arg(long, value_name = "FILE")]
    pub manifest: Vec<PathBuf>,
    /// The breach cutoff: material uploaded before it may have been read (e.g. 2016-11-01)
    #[arg(long, value_name = "DATE")]
    pub cutoff: Option<String>,
    /// Upload time for every PATH given on the command line
    #[arg(long, value_name = "DATE")]
    pub uploaded_at: Option<String>,
    /// How to treat certificates with no upload date issued before the cutoff
    #[arg(long, value_enum, default_value_t = UnknownUpload::Review, value_name = "HOW")]
    pub unknown_upload: UnknownUpload,
    /// CRL (PEM or DER) listing revoked certificates; its signature must verify (repeatable)
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Extra CA certificates, used to check CRL signatures (repeatable)
    #[arg(long, value_name = "FILE")]
    pub roots: Vec<PathBuf>,
    /// Without --cutoff: certificates expiring within this many days are `expiring`
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub expiring_within: u32,
    /// Write the SHA-256 of every exposed public key to FILE (one per line)
    #[arg(long, value_name = "FILE")]
    pub export_exposed_keys: Option<PathBuf>,
    /// Read exposed public-key hashes (e.g. another team's export) into the key-reuse check
    #[arg(long, value_name = "FILE")]
    pub exposed_keys: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Certificate files (PEM, DER); `-` reads stdin
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}
