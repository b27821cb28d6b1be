//! Bounds on what one run reads, so hostile or mistaken input (a FIFO, `/dev/zero`, a 2 GiB
//! file, a million junk blocks) ends in a clear error record instead of a hang or an
//! out-of-memory kill.
//!
//! The two run-wide limits (`--max-input-size`, `--p12-iteration-budget`) are process-wide
//! settings, set once from the command line before any input is read: every reader (scan,
//! inspect, csr, probe, rotate, the vendor pages) honours them without each one threading a
//! new parameter through, and the PKCS#12 budget is by nature shared by all files of a run.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read from one input (a file, stdin, an inline manifest PEM) by default: far above
/// any real bundle (100,000 certificates are about 70 MB), far below what hurts.
pub const DEFAULT_MAX_INPUT: u64 = 1 << 30;
/// Key-derivation iterations all PKCS#12 files and encrypted keys of one run may ask for by
/// default: about 30,000 files as OpenSSL writes them (2,048 iterations per derivation), or
/// ten at the per-derivation cap, whose cost (seconds of CPU each) would otherwise add up.
pub const DEFAULT_P12_BUDGET: u64 = 100_000_000;
/// The largest side file read whole: a manifest, a CRL, an installations page, a rotation
/// plan, an exposed-keys list.
pub const MAX_SIDE_FILE: u64 = 256 << 20;
/// A line of PEM input longer than this is not read as a BEGIN line (it is reported).
pub const MAX_PEM_LINE: usize = 8 << 20;
/// Certificates kept from one input (a PEM file, a PKCS#7 bundle, a PKCS#12 file, stdin) by
/// default. Real bundles hold a chain or a trust store (tens to hundreds); 100,000 is a
/// large CA's whole export. Each certificate kept costs about 1.2 KiB (benches/README), so
/// one input stays near 120 MiB; the rest of an input past the cap is skipped with a record.
pub const DEFAULT_MAX_CERTS: u64 = 100_000;

/// A line of a CSV manifest or a `--targets` file longer than this is not read (a record
/// names it): a real line is under a kilobyte; a million-column header is 7 MB. The columns
/// of a line are bounded by its length (a CSV reader keeps 8 bytes per field).
pub const MAX_LINE: usize = 1 << 20;
/// JSON nesting read at most: serde_json's recursion limit, on in this build (its
/// `unbounded_depth` feature is not enabled), for manifests, pages, plans and summaries.
pub const MAX_JSON_DEPTH: usize = 128;

static MAX_INPUT: AtomicU64 = AtomicU64::new(DEFAULT_MAX_INPUT);
static MAX_CERTS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_CERTS);
static P12_LEFT: AtomicU64 = AtomicU64::new(DEFAULT_P12_BUDGET);
static P12_BUDGET: AtomicU64 = AtomicU64::new(DEFAULT_P12_BUDGET);

/// Sets the run's limits (from `--max-input-size`, `--max-certs-per-input` and
/// `--p12-iteration-budget`) and refills the PKCS#12 budget.
pub fn configure(max_input: u64, max_certs: u64, p12_budget: u64) {
    MAX_INPUT.store(max_input, Ordering::Relaxed);
    MAX_CERTS.store(max_certs, Ordering::Relaxed);
    P12_BUDGET.store(p12_budget, Ordering::Relaxed);
    P12_LEFT.store(p12_budget, Ordering::Relaxed);
}

/// Bytes read from one input at most.
pub fn max_input() -> u64 {
    MAX_INPUT.load(Ordering::Relaxed)
}

/// Certificates kept from one input at most.
pub fn max_certs() -> u64 {
    MAX_CERTS.load(Ordering::Relaxed)
}

/// The run's PKCS#12 iteration budget, as configured.
pub fn p12_budget() -> u64 {
    P12_BUDGET.load(Ordering::Relaxed)
}

/// Takes `count` iterations from the run-wide PKCS#12 budget; false (and nothing taken) if
/// fewer are left.
pub fn spend_p12_iterations(count: u64) -> bool {
    P12_LEFT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(count)
        })
        .is_ok()
}

/// Parses a size: bytes, or a number with K/M/G/T (powers of 1024; `KiB`, `MB`… accepted).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 64MiB, 1GiB, 500000)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "'{other}' is not a size unit (use KiB, MiB or GiB)"
            ))
        }
    };
    number
        .checked_mul(1 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{text}' is not a usable size (zero or too large)"))
}

/// A size for messages: "1 GiB", "64 MiB", "1000 bytes".
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// A JSON parse error in words: nesting past [`MAX_JSON_DEPTH`] says the limit.
pub fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        format!(
            "nested more than the limit of {MAX_JSON_DEPTH} levels deep (at line {}, column \
             {}); not read",
            e.line(),
            e.column()
        )
    } else {
        text
    }
}

/// The physical lines of `text` longer than [`MAX_LINE`]: (line number from 1, byte range
/// without its line end).
pub fn long_lines(text: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
    for (n, end) in ends.enumerate() {
        if start > text.len() {
            break;
        }
        if end - start > MAX_LINE {
            out.push((n + 1, start..end));
        }
        start = end + 1;
    }
    out
}

/// Reads `text` with the given byte ranges left out (long lines, their line ends kept, so
/// line numbers stay those of the file).
pub struct Without<'a> {
    text: &'a [u8],
    pos: usize,
    skip: std::collections::VecDeque<std::ops::Range<usize>>,
}

impl<'a> Without<'a> {
    pub fn new(text: &'a [u8], skip: impl IntoIterator<Item = std::ops::Range<usize>>) -> Self {
        Without {
            text,
            pos: 0,
            skip: skip.into_iter().collect(),
        }
    }
}

impl Read for Without<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while let Some(r) = self.skip.front() {
            if self.pos < r.start {
                break;
            }
            self.pos = self.pos.max(r.end);
            self.skip.pop_front();
        }
        let until = self.skip.front().map_or(self.text.len(), |r| r.start);
        let n = (until - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.text[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads the next line of `r` into `buf` (its line end dropped), keeping at most
/// [`MAX_LINE`] bytes: `None` at the end, `Some(true)` for a line that was longer (the rest
/// of it is read past, never held).
pub fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (part, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        if part.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(&part[..part.len().min(room)]);
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(too_long));
        }
    }
}

/// The record for a line over [`MAX_LINE`].
pub fn long_line_reason(line: usize, len: usize) -> String {
    format!(
        "line {line} is {} long, more than the limit of {} for one line; not read",
        show_size_rounded(len as u64),
        show_size(MAX_LINE as u64)
    )
}

/// A size rounded down to whole MiB/KiB for messages: "150 MiB".
fn show_size_rounded(bytes: u64) -> String {
    for (shift, unit) in [(20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Why a named input was not opened: it is not a regular file. Carried inside an
/// `io::Error` so every caller's `describe_io` says it plainly.
#[derive(Debug)]
pub struct NotRegular(pub &'static str);

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a regular file but {}: not read (name regular files or folders; to read a \
             stream, pipe it to `-`)",
            self.0
        )
    }
}

impl std::error::Error for NotRegular {}

/// A side file larger than its cap.
#[derive(Debug)]
pub struct TooLarge(pub u64);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "larger than the limit of {}; not read",
            show_size(self.0)
        )
    }
}

impl std::error::Error for TooLarge {}

/// What a non-regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        return "a folder";
    }
    "not a regular file"
}

/// Opens `path` for reading only if it is a regular file (after following symlinks). A FIFO
/// is opened without blocking (so a pipe with no writer cannot hang the run) and refused.
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_regular_sized(path).map(|(file, _)| file)
}

/// `open_regular`, with the file's size when it was opened.
pub fn open_regular_sized(path: &Path) -> io::Result<(File, u64)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO does not wait for a writer; regular files ignore it.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    #[cfg(not(target_os = "linux"))]
    {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::other(NotRegular(file_kind(&meta))));
        }
    }
    regular(options.open(path)?)
}

/// The file and its size, if it is a regular file.
fn regular(file: File) -> io::Result<(File, u64)> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(if meta.is_dir() {
            io::Error::from(io::ErrorKind::IsADirectory)
        } else {
            io::Error::other(NotRegular(file_kind(&meta)))
        });
    }
    Ok((file, meta.len()))
}

/// `open_regular_sized` for many files in few folders (a manifest's certificates): each
/// thread keeps the folder of the last file open and opens the next file of that folder
/// relative to it, so the kernel looks up one name per file instead of the whole path (path
/// lookups were 3-4 % of a 100,000-file manifest scan). Any other path, or a folder that
/// cannot be opened, goes through `open_regular_sized` and its errors.
pub fn open_regular_in_folder(path: &Path) -> io::Result<(File, u64)> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags};
        use std::cell::RefCell;
        use std::os::fd::OwnedFd;
        use std::path::PathBuf;
        thread_local! {
            static FOLDER: RefCell<Option<(PathBuf, OwnedFd)>> = const { RefCell::new(None) };
        }
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return open_regular_sized(path);
        };
        if folder.as_os_str().is_empty() {
            return open_regular_sized(path);
        }
        let opened = FOLDER.with_borrow_mut(|cached| {
            if cached.as_ref().is_none_or(|(at, _)| at != folder) {
                // O_PATH: only a place to look names up in (search permission, no read).
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                *cached = rustix::fs::open(folder, flags, Mode::empty())
                    .ok()
                    .map(|fd| (folder.to_owned(), fd));
            }
            let (_, fd) = cached.as_ref()?;
            let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
            Some(rustix::fs::openat(fd, name, flags, Mode::empty()))
        });
        match opened {
            // Straight to the kernel: std's `metadata` goes through libc's statx wrapper.
            Some(Ok(fd)) => match rustix::fs::fstat(&fd) {
                Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => {
                    Ok((File::from(fd), st.st_size as u64))
                }
                // Not a regular file, or fstat failed: std says which, as everywhere else.
                _ => regular(File::from(fd)),
            },
            Some(Err(e)) => Err(io::Error::from(e)),
            None => open_regular_sized(path),
        }
    }
    #[cfg(not(target_os = "linux"))]
    open_regular_sized(path)
}

/// Reads a whole side file (a manifest, CRL, page, plan), refusing non-regular files and
/// files over `MAX_SIDE_FILE` before reading them.
pub fn read_side_file(path: &Path) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular_sized(path)?;
    if len > MAX_SIDE_FILE {
        return Err(io::Error::other(TooLarge(MAX_SIDE_FILE)));
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    // The file may grow while it is read: never past the cap.
    file.take(MAX_SIDE_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SIDE_FILE {
        return Err(io::Error::other(TooLarge(MAX_SIDE_FILE)));
    }
    Ok(bytes)
}

/// A reader that stops after `limit` bytes and remembers whether more was there.
pub struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
    /// The input had more than `limit` bytes.
    pub hit: bool,
}

impl<R: BufRead> Capped<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Capped {
            inner,
            left: limit,
            limit,
            hit: false,
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl<R: BufRead> Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.left == 0 {
            if !self.hit && !self.inner.fill_buf()?.is_empty() {
                self.hit = true;
            }
            return Ok(&[]);
        }
        let buf = self.inner.fill_buf()?;
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        Ok(&buf[..n])
    }

    fn consume(&mut self, n: usize) {
        self.left -= n as u64;
        self.inner.consume(n);
    }
}

/// Collects problems of one input, keeping the first few of each kind and counting the rest,
/// so a million junk blocks or unknown columns make a dozen records, not a million.
#[derive(Default)]
pub struct Tally {
    /// Per shape (the reason with its numbers and quoted parts blanked): how many were seen,
    /// and the first reason of that shape.
    shapes: HashMap<String, (u64, String)>,
}

/// Records of one kind listed one by one, per input.
pub const KEEP_PER_KIND: u64 = 10;

impl Tally {
    /// Whether this problem should be listed (false: it is only counted).
    pub fn keep(&mut self, reason: &str) -> bool {
        let entry = self
            .shapes
            .entry(shape(reason))
            .or_insert_with(|| (0, reason.to_owned()));
        entry.0 += 1;
        entry.0 <= KEEP_PER_KIND
    }

    /// One summary line per kind with more problems than were listed, in a stable order.
    pub fn summaries(self) -> Vec<String> {
        let mut out: Vec<(String, u64)> = self
            .shapes
            .into_values()
            .filter(|(n, _)| *n > KEEP_PER_KIND)
            .map(|(n, first)| (first, n - KEEP_PER_KIND))
            .collect();
        out.sort();
        out.into_iter()
            .map(|(first, more)| {
                format!(
                    "{more} more problem(s) like \"{first}\" in this input were counted but \
                     not listed one by one"
                )
            })
            .collect()
    }
}

/// A reason with digit runs and quoted parts blanked: "unknown column 'x1'" and "unknown
/// column 'y'" share a shape.
fn shape(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len().min(256));
    let mut quoted = false;
    let mut last_digit = false;
    for c in reason.chars() {
        if c == '\'' {
            quoted = !quoted;
            out.push(c);
            continue;
        }
        if quoted {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_show() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500000"), Ok(500_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }

    #[test]
    fn capped_reader_stops_and_notices_more() {
        let data = [7u8; 100];
        let mut c = Capped::new(&data[..], 40);
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 40);
        assert!(c.hit);
        let mut exact = Capped::new(&data[..], 100);
        exact.read_to_end(&mut Vec::new()).unwrap();
        assert!(!exact.hit);
    }

    #[test]
    fn long_lines_are_found_and_left_out_keeping_line_ends() {
        let long = "x".repeat(MAX_LINE + 1);
        let text = format!("a,b\n{long}\nc,d\n{long}");
        let found = long_lines(text.as_bytes());
        assert_eq!(
            found.iter().map(|(n, r)| (*n, r.len())).collect::<Vec<_>>(),
            [(2, MAX_LINE + 1), (4, MAX_LINE + 1)]
        );
        let mut out = String::new();
        Without::new(text.as_bytes(), found.into_iter().map(|(_, r)| r))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "a,b\n\nc,d\n");
        assert!(long_lines(b"short\nlines\n").is_empty());
    }

    #[test]
    fn tally_keeps_ten_of_a_kind_and_counts_the_rest() {
        let mut t = Tally::default();
        let kept = (0..1000)
            .filter(|i| t.keep(&format!("unknown column 'c{i}'")))
            .count();
        assert!(t.keep("something else"));
        assert_eq!(kept, 10);
        let s = t.summaries();
        assert_eq!(s.len(), 1);
        assert!(s[0].starts_with("990 more problem(s) like \"unknown column 'c0'\""));
    }
}
