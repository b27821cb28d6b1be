//! Where a report goes: stdout, or `--output FILE` written atomically (temp file + fsync +
//! rename), so a collector such as node_exporter never reads half a file. A reader that closes
//! stdout early (`| head`) ends the output quietly: the command still finishes and exits by its
//! result, as `grep` and `rg` do.

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// The writer every command renders into.
pub struct Sink {
    target: Target,
    /// Set once stdout was closed by its reader: later writes are dropped.
    closed: bool,
}

enum Target {
    Stdout(BufWriter<Stdout>),
    File {
        temp: BufWriter<NamedTempFile>,
        path: PathBuf,
    },
}

impl Sink {
    /// Stdout, or a temporary file beside `output` that [`Sink::finish`] renames over it.
    pub fn open(output: Option<&Path>) -> io::Result<Self> {
        let target = match output {
            None => Target::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())),
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let temp = tempfile::Builder::new()
                    .prefix(".certsweep-output-")
                    .tempfile_in(dir)
                    .map_err(|e| with_path(e, path))?;
                Target::File {
                    temp: BufWriter::with_capacity(1 << 16, temp),
                    path: path.to_owned(),
                }
            }
        };
        Ok(Sink {
            target,
            closed: false,
        })
    }

    /// Flushes, and for `--output` syncs the file and puts it in place. Without this call an
    /// `--output` file is never created (a failed run leaves the old file as it was).
    pub fn finish(self) -> io::Result<()> {
        match self.target {
            Target::Stdout(mut out) => match out.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r,
            },
            Target::File { temp, path } => {
                let temp = temp.into_inner().map_err(|e| e.into_error())?;
                temp.as_file().sync_all()?;
                // Readable like any report file (tempfile creates 0600); the umask still applies.
                set_report_mode(temp.as_file())?;
                temp.persist(&path).map_err(|e| with_path(e.error, &path))?;
                sync_parent(&path);
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = match &mut self.target {
            Target::Stdout(out) => out.write(buf),
            Target::File { temp, .. } => temp.write(buf),
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File { temp, .. } => temp.flush(),
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(unix)]
fn set_report_mode(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // 0644 less the process umask, as a plain `>` redirection would give.
    let umask = current_umask();
    file.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))
}

#[cfg(not(unix))]
fn set_report_mode(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn current_umask() -> u32 {
    // Reading the umask means setting it; it is put back at once. This runs at the very end of
    // a command, when no other thread creates files.
    let old = rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o022));
    rustix::process::umask(old);
    old.bits()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn current_umask() -> u32 {
    0o022
}

/// Makes the rename durable; a failure here loses nothing already visible.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
