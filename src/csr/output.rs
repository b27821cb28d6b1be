//! Writing CSR and key files without ever clobbering one, and reporting what was written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Made;
use crate::cli::CsrArgs;
use crate::config::Context;
use crate::error::Error;
use crate::inventory::InputError;
use crate::report::model::ErrorRecord;
use crate::report::{Format, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;

/// Writes every CSR (0644) and key (0600); returns, per `made`, whether both landed.
pub fn write_all(out_dir: &Path, made: &[Made], errors: &mut Vec<InputError>) -> Vec<bool> {
    if let Err(e) = fs::create_dir_all(out_dir) {
        errors.push(InputError {
            path: out_dir.display().to_string(),
            index: None,
            reason: format!("cannot create the output folder: {e}"),
        });
        return vec![false; made.len()];
    }
    // Sequential on purpose: creating files in one folder from two threads measured slower
    // (the folder's lock), not faster.
    let written: Vec<Result<(), (PathBuf, io::Error)>> = made
        .iter()
        .map(|m| {
            let key = write_new(&m.plan.key_path, m.key_pem.as_bytes(), 0o600);
            key.and_then(|()| write_new(&m.plan.csr_path, m.csr_pem.as_bytes(), 0o644))
        })
        .collect();
    // One flush for every file instead of an fsync per file (each costs ~0.1 ms here, more
    // than making the key): nothing is reported written before it is on disk.
    if let Err(e) = sync_folder(out_dir) {
        errors.push(InputError {
            path: out_dir.display().to_string(),
            index: None,
            reason: format!("cannot flush the new files to disk: {e}"),
        });
        return vec![false; made.len()];
    }
    written
        .into_iter()
        .map(|r| match r {
            Ok(()) => true,
            Err((path, e)) => {
                errors.push(InputError {
                    path: path.display().to_string(),
                    index: None,
                    reason: format!("not written: {e}"),
                });
                false
            }
        })
        .collect()
}

/// Makes the new files' data and names durable: `syncfs` on Linux (one call for all files),
/// else an fsync of each file and of the folder.
fn sync_folder(dir: &Path) -> io::Result<()> {
    let folder = File::open(dir)?;
    #[cfg(target_os = "linux")]
    {
        rustix::fs::syncfs(&folder)?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        for entry in fs::read_dir(dir)? {
            File::open(entry?.path())?.sync_all()?;
        }
    }
    folder.sync_all()
}

/// Creates `path` with `mode` from the first byte and never replaces an existing file: the
/// content is written to an unnamed file (Linux `O_TMPFILE`) or a temporary name, then
/// hard-linked into place, which fails if the name exists. A reader never sees a half-written
/// key. `sync_folder` makes it durable.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), (PathBuf, io::Error)> {
    let fail = |e| (path.to_path_buf(), e);
    #[cfg(target_os = "linux")]
    match write_new_unnamed(path, bytes, mode) {
        // O_TMPFILE is unsupported on some filesystems: fall back to a temporary name.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::ISDIR.raw_os_error()) => {}
        other => return other.map_err(fail),
    }
    write_new_named(path, bytes, mode).map_err(fail)
}

#[cfg(target_os = "linux")]
fn write_new_unnamed(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use rustix::fs::{linkat, openat, AtFlags, Mode, OFlags, CWD};
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let fd = openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )?;
    let mut file = File::from(fd);
    exact_mode(&file, mode)?;
    file.write_all(bytes)?;
    // Linking an unnamed file by its /proc path needs no privilege (AT_EMPTY_PATH would).
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    linkat(
        CWD,
        proc_path.as_str(),
        CWD,
        dir.join(name),
        AtFlags::SYMLINK_FOLLOW,
    )?;
    Ok(())
}

fn write_new_named(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = options.open(&temp)?;
        exact_mode(&f, mode)?;
        f.write_all(bytes)?;
        fs::hard_link(&temp, path)
    })();
    let _ = fs::remove_file(&temp);
    result
}

/// Sets `mode` exactly, before any byte is written: the creation mode is narrowed by the
/// umask (a umask of 0277 would make a key 0400), and key files are 0600 whatever it is.
fn exact_mode(file: &File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (file, mode);
    Ok(())
}

#[derive(Serialize)]
struct OldOut<'a> {
    path: &'a str,
    index: usize,
    manifest_id: Option<&'a str>,
    host: Option<&'a str>,
    fingerprint_sha256: String,
    spki_sha256: String,
    subject: &'a str,
}

#[derive(Serialize)]
struct CsrOut<'a> {
    name: &'a str,
    old: OldOut<'a>,
    subject: &'a str,
    subject_unchanged: bool,
    sans: Vec<String>,
    changes: &'a [String],
    key_type: &'static str,
    new_spki_sha256: String,
    csr_path: String,
    key_path: String,
    key_encrypted: bool,
    written: bool,
}

#[derive(Serialize)]
struct CsrReport<'a> {
    schema_version: u32,
    tool: &'a crate::report::Tool,
    out_dir: String,
    csrs: Vec<CsrOut<'a>>,
    errors: Vec<ErrorRecord<'a>>,
}

pub fn report(
    made: &[Made],
    written: &[bool],
    args: &CsrArgs,
    ctx: &Context,
    errors: &[InputError],
) -> Result<(), Error> {
    let key_type = args.key_type.name();
    let csrs: Vec<CsrOut<'_>> = made
        .iter()
        .zip(written)
        .map(|(m, &w)| CsrOut {
            name: &m.plan.name,
            old: OldOut {
                path: &m.plan.target.old.path,
                index: m.plan.target.old.index,
                manifest_id: m.plan.target.old.manifest_id.as_deref(),
                host: m.plan.target.old.host.as_deref(),
                fingerprint_sha256: m.plan.target.old.fingerprint.to_string(),
                spki_sha256: m.plan.target.old.spki.to_string(),
                subject: &m.plan.target.old.subject,
            },
            subject: &m.plan.subject,
            subject_unchanged: m.plan.subject_der == m.plan.target.subject_der,
            sans: m.plan.sans.iter().map(ToString::to_string).collect(),
            changes: &m.plan.changes,
            key_type,
            new_spki_sha256: m.new_spki.to_string(),
            csr_path: m.plan.csr_path.display().to_string(),
            key_path: m.plan.key_path.display().to_string(),
            key_encrypted: args.encrypt_key,
            written: w,
        })
        .collect();
    let mut out = ctx.sink()?;
    match ctx.format {
        Format::Table => write_table(&csrs, args, &mut out)?,
        Format::Csv => write_csv(&csrs, &mut out)?,
        Format::Ndjson => write_ndjson(&csrs, args, errors, &mut out)?,
        // Refused before any key is made (`lib::dispatch`).
        f @ (Format::Prometheus | Format::Html) => {
            return Err(crate::report::unsupported(f, "csr").into())
        }
        Format::Json => {
            let report = CsrReport {
                schema_version: SCHEMA_VERSION,
                tool: &TOOL,
                out_dir: args.out_dir.display().to_string(),
                csrs,
                errors: errors.iter().map(|e| ErrorRecord::new(e, None)).collect(),
            };
            serde_json::to_writer_pretty(&mut out, &report).map_err(io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.finish()?;
    Ok(())
}

/// NDJSON: one `csr` line per CSR, then the error lines and the summary line.
fn write_ndjson(
    csrs: &[CsrOut<'_>],
    args: &CsrArgs,
    errors: &[InputError],
    out: &mut dyn Write,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Line<'r, 'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        csr: &'r CsrOut<'a>,
    }
    #[derive(Serialize)]
    struct Policy {
        out_dir: String,
        key_type: &'static str,
    }
    #[derive(Serialize)]
    struct Summary {
        csrs: usize,
        written: usize,
        errors: usize,
        complete: bool,
    }
    for c in csrs {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "csr",
                csr: c,
            },
        )?;
        out.write_all(b"\n")?;
    }
    crate::report::write_ndjson_tail(
        errors,
        Policy {
            out_dir: args.out_dir.display().to_string(),
            key_type: args.key_type.name(),
        },
        Summary {
            csrs: csrs.len(),
            written: csrs.iter().filter(|c| c.written).count(),
            errors: errors.len(),
            complete: errors.is_empty(),
        },
        out,
    )
}

/// The CSV columns of `csr`, in order (lists are joined with `;`).
pub const CSV_COLUMNS: [&str; 18] = [
    "schema_version",
    "name",
    "old_path",
    "old_index",
    "old_manifest_id",
    "old_host",
    "old_fingerprint_sha256",
    "old_spki_sha256",
    "subject",
    "subject_unchanged",
    "sans",
    "changes",
    "key_type",
    "new_spki_sha256",
    "csr_path",
    "key_path",
    "key_encrypted",
    "written",
];

/// CSV: one row per CSR (errors go to stderr and the exit code).
fn write_csv(csrs: &[CsrOut<'_>], out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for c in csrs {
        crate::report::csv_record(
            &mut w,
            [
                SCHEMA_VERSION.to_string(),
                c.name.to_owned(),
                c.old.path.to_owned(),
                c.old.index.to_string(),
                c.old.manifest_id.unwrap_or("").to_owned(),
                c.old.host.unwrap_or("").to_owned(),
                c.old.fingerprint_sha256.clone(),
                c.old.spki_sha256.clone(),
                c.subject.to_owned(),
                c.subject_unchanged.to_string(),
                c.sans.join(";"),
                c.changes.join("; "),
                c.key_type.to_owned(),
                c.new_spki_sha256.clone(),
                c.csr_path.clone(),
                c.key_path.clone(),
                c.key_encrypted.to_string(),
                c.written.to_string(),
            ],
        )?;
    }
    w.flush()
}

fn write_table(csrs: &[CsrOut<'_>], args: &CsrArgs, out: &mut dyn Write) -> io::Result<()> {
    for c in csrs {
        let note = if c.written { "" } else { "  (NOT WRITTEN)" };
        writeln!(out, "{}{note}", escape(c.name))?;
        writeln!(out, "    csr       {}", escape(&c.csr_path))?;
        writeln!(
            out,
            "    key       {} (mode 0600{})",
            escape(&c.key_path),
            if c.key_encrypted { ", encrypted" } else { "" }
        )?;
        writeln!(
            out,
            "    new key   {} spki sha256 {}",
            c.key_type, c.new_spki_sha256
        )?;
        writeln!(
            out,
            "    replaces  {} block {} (sha256 {})",
            escape(c.old.path),
            c.old.index,
            c.old.fingerprint_sha256
        )?;
        writeln!(
            out,
            "    subject   {}{}",
            escape(c.subject),
            if c.subject_unchanged {
                " (byte-identical to the old certificate)"
            } else {
                ""
            }
        )?;
        writeln!(out, "    SANs      {}", escape(&c.sans.join(", ")))?;
        for change in c.changes {
            writeln!(out, "    change    {}", escape(change))?;
        }
    }
    let n = csrs.iter().filter(|c| c.written).count();
    writeln!(
        out,
        "\n{n} CSR(s) and {n} new key(s) written to {}. Send each CSR to your CA; upload the new certificate before revoking the old one (reason keyCompromise).",
        escape(&args.out_dir.display().to_string())
    )
}
