//! `certsweep man`: the manual page on stdout, or one page per command and subcommand in a
//! folder (`certsweep.1`, `certsweep-scan.1`, `certsweep-rotate-init.1`, …), each with the
//! ENVIRONMENT and EXIT STATUS sections clap does not write.

use std::io::{self, Write};
use std::path::Path;

use clap_mangen::Man;

/// The environment variables certsweep reads, and what for.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        crate::config::P12_PASSWORD_ENV,
        "Password of PKCS#12 (.p12/.pfx) inputs, instead of --p12-password-file. Never on the command line.",
    ),
    (
        "CERTSWEEP_KEY_PASSPHRASE",
        "Passphrase that encrypts new private keys (csr --encrypt-key, rotate csr --encrypt-key), instead of --passphrase-file; also read for encrypted keys in scanned inputs.",
    ),
    (
        "ZENDESK_EMAIL, ZENDESK_API_TOKEN",
        "API token authentication for apps --zendesk and credentials --zendesk (Basic email/token:TOKEN), instead of --auth-file.",
    ),
    (
        "ZENDESK_OAUTH_TOKEN",
        "OAuth bearer token for apps --zendesk and credentials --zendesk, instead of --auth-file.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, tables are not coloured (--color auto).",
    ),
    (
        "COLUMNS",
        "Width that tables are fitted to; wide cells are cut with an ellipsis. Without it, the terminal's width; a pipe or --output file gets every character.",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Nothing needs action, and every input was read."),
    ("1", "Something needs action (an exposed certificate, a step to take)."),
    (
        "2",
        "The run was incomplete or wrong: a usage error, or at least one input or target failed. Findings are still reported in full.",
    ),
];

/// Writes the top-level page to `out`.
pub fn render(cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    page(&cmd, out)
}

/// Writes one page per command and subcommand into `dir`; returns the files written.
pub fn write_all(cmd: clap::Command, dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_tree(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> io::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    page(cmd, &mut bytes)?;
    std::fs::write(&path, bytes)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub, dir, written)?;
    }
    Ok(())
}

fn page(cmd: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        man.render_extra_section(out)?;
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    for (name, what) in ENVIRONMENT {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(name), roff(what))?;
    }
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for (code, what) in EXIT_STATUS {
        writeln!(out, ".TP\n\\fB{code}\\fR\n{}", roff(what))?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Escapes text for roff: backslashes, hyphens (so they stay hyphens), and a leading dot or
/// quote that roff would read as a request.
fn roff(text: &str) -> String {
    let s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}
