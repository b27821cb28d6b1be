//! Loading what was uploaded: files, directories, stdin and manifests → certificates, keys and
//! error records. A bad input never stops the run; it becomes an `InputError`.

pub mod limits;
pub mod manifest;
pub mod pem;
pub mod pkcs12;
pub mod pkcs7;
pub mod walk;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::cert::key::{self, KeyFormat};
use crate::cert::{self, CertFacts, Sha256};
use pem::{PemBlock, PemItem, PemReader};

/// A file that starts like DER (a certificate, PKCS#7 or PKCS#12) but is larger than this is refused.
const MAX_DER: u64 = 16 * 1024 * 1024;

/// One upload: a file (or inline PEM, or stdin) with what is known about when it was uploaded.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub id: u32,
    pub path: String,
    pub manifest_id: Option<String>,
    pub host: Option<String>,
    pub account: Option<String>,
    pub uploaded_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct CertEntry {
    pub upload: Arc<Upload>,
    /// The block's position in its file, from 1 (1 for DER).
    pub index: usize,
    /// Boxed: loading moves 100,000s of these between vectors; a pointer moves cheaply.
    pub facts: Box<CertFacts>,
    /// The certificate's DER, kept only when `Sources::keep_der` asked for it (`csr`).
    pub der: Option<Vec<u8>>,
    /// The same certificate (same fingerprint) uploaded again: every other upload and block
    /// number. `upload` is the earliest upload with a known date, which decides.
    pub also: Vec<(Arc<Upload>, usize)>,
}

impl CertEntry {
    /// Every upload of this certificate, the deciding one first.
    pub fn uploads(&self) -> impl Iterator<Item = &Arc<Upload>> + '_ {
        std::iter::once(&self.upload).chain(self.also.iter().map(|(u, _)| u))
    }
}

/// What kind of public material a `PublicEntry` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKind {
    /// A `CERTIFICATE REQUEST`: someone is about to get a certificate on this key.
    Request,
    /// A `PUBLIC KEY` (SubjectPublicKeyInfo).
    PublicKey,
}

impl PublicKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PublicKind::Request => "certificate-request",
            PublicKind::PublicKey => "public-key",
        }
    }

    /// The block type, as a user would name it.
    pub fn label(self) -> &'static str {
        match self {
            PublicKind::Request => "a CERTIFICATE REQUEST",
            PublicKind::PublicKey => "a PUBLIC KEY",
        }
    }
}

/// A CSR or a public key found in an upload: it exposes nothing, but its key joins the
/// key-reuse check (a CSR made on an exposed key is a finding).
#[derive(Debug, Clone)]
pub struct PublicEntry {
    pub upload: Arc<Upload>,
    pub index: usize,
    pub kind: PublicKind,
    pub spki: Sha256,
    /// The CSR's subject (RFC 4514).
    pub subject: Option<String>,
}

/// A private key found in an upload, reduced to its public key digest.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    pub upload: Arc<Upload>,
    pub index: usize,
    pub spki: Sha256,
}

/// An input that could not be read, and why. `index` is the PEM block number when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: String,
    pub index: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}: block {i}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub certs: Vec<CertEntry>,
    pub keys: Vec<KeyEntry>,
    /// CSRs and public keys.
    pub public_keys: Vec<PublicEntry>,
    pub errors: Vec<InputError>,
    /// Inputs read, with something worth knowing that leaves the audit complete (an
    /// encrypted key next to its certificate, a CRL in a scanned folder).
    pub warnings: Vec<InputError>,
    pub uploads: usize,
}

impl Inventory {
    pub fn error(&mut self, path: impl Into<String>, index: Option<usize>, reason: String) {
        self.errors.push(InputError {
            path: path.into(),
            index,
            reason,
        });
    }
}

/// What to read.
pub struct Sources<'a> {
    pub paths: &'a [PathBuf],
    pub manifests: &'a [PathBuf],
    /// `--uploaded-at`: stamps every PATH given on the command line.
    pub uploaded_at: Option<OffsetDateTime>,
    /// Files never to read as inputs (the manifests themselves, when inside a scanned folder).
    pub skip: Vec<PathBuf>,
    /// Keep each certificate's DER (costs memory; `scan` does not need it).
    pub keep_der: bool,
    /// The password for PKCS#12 files (`--p12-password-file` or `CERTSWEEP_P12_PASSWORD`).
    pub p12_password: Option<&'a Zeroizing<Vec<u8>>>,
    /// The passphrase for encrypted PKCS#8 keys (`--key-passphrase-file`).
    pub key_passphrase: Option<&'a Zeroizing<Vec<u8>>>,
    /// `--confined-paths`: manifest `file` paths outside the manifest's folder are refused.
    pub confined_paths: bool,
}

/// How to read one input.
#[derive(Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// Keys, CSRs or public keys alone are a read input (`shop.key` beside `shop.crt`);
    /// false where a certificate is required (`csr --cert FILE`).
    pub key_only_ok: bool,
    /// Keep each certificate's DER (`inspect`, `csr`).
    pub keep_der: bool,
    /// The password for PKCS#12 files; without one the empty password is tried.
    pub p12_password: Option<&'a Zeroizing<Vec<u8>>>,
    /// The passphrase for encrypted PKCS#8 keys; without one they are noted as unreadable.
    pub key_passphrase: Option<&'a Zeroizing<Vec<u8>>>,
}

enum Input {
    File(PathBuf),
    Stdin,
    Inline(String),
}

struct Job {
    upload: Upload,
    input: Input,
}

/// Reads every source. Files are read in parallel; results keep the order of the arguments,
/// then manifest order, then sorted directory order. Manifests are parsed on a thread of
/// their own while the files they name are read: parsed first, a 100,000-entry manifest kept
/// the scan from opening its first file for a tenth of the run.
pub fn load(sources: &Sources<'_>) -> Inventory {
    let mut inv = Inventory::default();
    let mut path_jobs = Vec::new();
    for path in sources.paths {
        let upload = Upload {
            uploaded_at: sources.uploaded_at,
            ..Upload::default()
        };
        if path.as_os_str() == "-" {
            path_jobs.push(Job {
                upload: Upload {
                    path: "-".into(),
                    ..upload
                },
                input: Input::Stdin,
            });
            continue;
        }
        expand_path(path, &upload, sources, &mut path_jobs, &mut inv);
    }
    // A manifest's problems come after those of the paths and before those of any file read.
    let (errors_at, warnings_at) = (inv.errors.len(), inv.warnings.len());
    let mut settled = Settled {
        from_manifests: None,
        below: path_jobs.len() as u32,
        dropped: Vec::new(),
        manifests: Vec::new(),
    };
    let mut feed = Feed {
        paths: path_jobs.into_iter(),
        entries: Vec::new().into_iter(),
        from_manifests: None,
        next_id: 0,
    };
    std::thread::scope(|scope| {
        if !sources.manifests.is_empty() {
            let (entries, done) = (std::sync::mpsc::channel(), std::sync::mpsc::channel());
            feed.from_manifests = Some(entries.1);
            settled.from_manifests = Some(done.1);
            // Unbounded: the parser runs ahead and is done early, so that what was read
            // can be merged while the rest is read.
            scope.spawn(move || read_manifests(sources, &entries.0, &done.0));
        }
        read_jobs(&mut inv, &mut feed, &mut settled, sources);
    });
    let dropped: u32 = settled.dropped.iter().map(|r| r.end - r.start).sum();
    inv.uploads = (feed.next_id - dropped) as usize;
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for (i, findings) in settled.manifests {
        let (e, w) = findings.records(&sources.manifests[i]);
        errors.extend(e);
        warnings.extend(w);
    }
    inv.errors.splice(errors_at..errors_at, errors);
    inv.warnings.splice(warnings_at..warnings_at, warnings);
    merge_duplicates(&mut inv);
    inv
}

/// Runs every job from `feed`, in batches so that the per-job results of a 100,000-file
/// manifest never all exist at once; a batch is merged into `inv` while the next is read
/// (merging between batches left the pool idle), once the manifests it came from have been
/// read to their end.
fn read_jobs(inv: &mut Inventory, feed: &mut Feed, settled: &mut Settled, sources: &Sources<'_>) {
    // Batches read, with the id after their last job.
    let mut pending: std::collections::VecDeque<(u32, BatchRead)> = Default::default();
    let mut reserved = false;
    loop {
        let mut batch = Vec::with_capacity(JOB_BATCH);
        batch.extend(std::iter::from_fn(|| feed.next()).take(JOB_BATCH));
        if batch.is_empty() {
            break;
        }
        settled.update();
        if !reserved && settled.manifests.len() == sources.manifests.len() {
            // Every job is known now, and most uploads hold one certificate: room for that
            // at once, not by doubling.
            reserved = true;
            let jobs = settled.below as usize;
            inv.certs
                .reserve_exact(jobs.saturating_sub(inv.certs.len()));
        }
        let ready = pending
            .iter()
            .take_while(|(end, _)| *end <= settled.below)
            .count();
        let ready: Vec<_> = pending.drain(..ready).map(|(_, r)| r).collect();
        let dropped = &settled.dropped;
        let (results, ()) = rayon::join(
            || {
                batch
                    .into_par_iter()
                    .map(|job| {
                        let loaded = run_job(&job, sources);
                        (Arc::new(job.upload), loaded)
                    })
                    .collect()
            },
            || ready.into_iter().for_each(|r| merge_kept(inv, r, dropped)),
        );
        pending.push_back((feed.next_id, results));
    }
    // The feed is empty: every manifest was read to its end and said so.
    settled.update();
    for (_, r) in pending {
        merge_kept(inv, r, &settled.dropped);
    }
}

/// What a batch of jobs read, in job order.
type BatchRead = Vec<(Arc<Upload>, Loaded)>;

/// Merges what was read, except what came from a manifest found unusable at its end.
fn merge_kept(inv: &mut Inventory, results: BatchRead, dropped: &[std::ops::Range<u32>]) {
    if dropped.is_empty() {
        return merge(inv, results);
    }
    let kept = results
        .into_iter()
        .filter(|(u, _)| !dropped.iter().any(|r| r.contains(&u.id)))
        .collect();
    merge(inv, kept);
}

/// The jobs to run, in order: the paths', then each manifest's entries as its thread parses
/// them. Each job gets the next upload id.
struct Feed {
    paths: std::vec::IntoIter<Job>,
    entries: std::vec::IntoIter<manifest::Entry>,
    from_manifests: Option<std::sync::mpsc::Receiver<Vec<manifest::Entry>>>,
    next_id: u32,
}

impl Feed {
    fn next(&mut self) -> Option<Job> {
        let mut job = loop {
            if let Some(job) = self.paths.next() {
                break job;
            }
            if let Some(entry) = self.entries.next() {
                break Job {
                    upload: entry.upload,
                    input: match entry.source {
                        // No stat here (one per entry, serial): a missing file or a folder
                        // is reported by the job that opens it.
                        manifest::EntrySource::File(file) => Input::File(file),
                        manifest::EntrySource::Pem(text) => Input::Inline(text),
                    },
                };
            }
            // Closed once every manifest was read.
            match self.from_manifests.as_ref()?.recv() {
                Ok(chunk) => self.entries = chunk.into_iter(),
                Err(_) => {
                    self.from_manifests = None;
                    return None;
                }
            }
        };
        job.upload.id = self.next_id;
        self.next_id += 1;
        Some(job)
    }
}

/// Which jobs came from the paths or from a manifest read to its end: what they read can be
/// merged, or dropped when their manifest turned out unusable.
struct Settled {
    /// Each manifest read to its end: its place in `--manifest`, findings and entry count.
    from_manifests: Option<std::sync::mpsc::Receiver<(usize, manifest::Findings, u32)>>,
    /// Jobs with an id below this are settled.
    below: u32,
    /// The ids of entries from manifests that turned out unusable.
    dropped: Vec<std::ops::Range<u32>>,
    manifests: Vec<(usize, manifest::Findings)>,
}

impl Settled {
    /// Takes note of the manifests read to their end since the last call. Ids go to the
    /// entries in manifest order, so each manifest's are the next `count`.
    fn update(&mut self) {
        let Some(done) = &self.from_manifests else {
            return;
        };
        while let Ok((i, findings, count)) = done.try_recv() {
            let ids = self.below..self.below + count;
            if !findings.usable {
                self.dropped.push(ids.clone());
            }
            self.below = ids.end;
            self.manifests.push((i, findings));
        }
    }
}

/// Entries are sent on in chunks of this many.
const MANIFEST_CHUNK: usize = 1024;

/// Parses each manifest in turn, sending its entries as they are read, then what else it
/// found and how many entries it had.
fn read_manifests(
    sources: &Sources<'_>,
    entries: &std::sync::mpsc::Sender<Vec<manifest::Entry>>,
    done: &std::sync::mpsc::Sender<(usize, manifest::Findings, u32)>,
) {
    for (i, path) in sources.manifests.iter().enumerate() {
        let mut chunk = Vec::with_capacity(MANIFEST_CHUNK);
        let mut count = 0;
        let findings = manifest::read_each(path, sources.confined_paths, |entry| {
            count += 1;
            chunk.push(entry);
            if chunk.len() == MANIFEST_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(MANIFEST_CHUNK));
                // Only fails when the loader is gone (it panicked): nothing left to do.
                let _ = entries.send(full);
            }
        });
        if !chunk.is_empty() {
            let _ = entries.send(chunk);
        }
        if done.send((i, findings, count)).is_err() {
            return;
        }
    }
}

/// One certificate uploaded several times (same fingerprint) becomes one record, at the
/// place of its first appearance; the earliest dated upload decides (`upload`), the others
/// are listed in `also`.
fn merge_duplicates(inv: &mut Inventory) {
    use std::collections::hash_map::Entry;
    let mut seen: cert::DigestMap<usize> =
        cert::DigestMap::with_capacity_and_hasher(inv.certs.len(), cert::DigestBuild::default());
    // Usually there is no duplicate: then nothing moves.
    let duplicates = inv
        .certs
        .iter()
        .enumerate()
        .any(|(i, c)| *seen.entry(c.facts.fingerprint).or_insert(i) != i);
    if !duplicates {
        return;
    }
    seen.clear();
    let mut kept: Vec<CertEntry> = Vec::with_capacity(inv.certs.len());
    for entry in std::mem::take(&mut inv.certs) {
        match seen.entry(entry.facts.fingerprint) {
            Entry::Vacant(v) => {
                v.insert(kept.len());
                kept.push(entry);
            }
            Entry::Occupied(o) => {
                let first = &mut kept[*o.get()];
                let (mut upload, mut index) = (entry.upload, entry.index);
                if earlier(upload.uploaded_at, first.upload.uploaded_at) {
                    std::mem::swap(&mut upload, &mut first.upload);
                    std::mem::swap(&mut index, &mut first.index);
                }
                first.also.push((upload, index));
                if first.der.is_none() {
                    first.der = entry.der;
                }
            }
        }
    }
    for entry in &mut kept {
        entry
            .also
            .sort_by(|a, b| match (a.0.uploaded_at, b.0.uploaded_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
    }
    inv.certs = kept;
}

/// Is upload time `a` earlier than `b`? A known date comes before an unknown one.
fn earlier(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Jobs run in parallel at a time.
const JOB_BATCH: usize = 4096;

/// Adds what each upload yielded to the inventory (its certificates, keys, CSRs and public
/// keys, errors and warnings), in order; used by the in-memory loader and by stream mode.
pub fn merge(inv: &mut Inventory, results: Vec<(Arc<Upload>, Loaded)>) {
    // One bundle of 100,000 certificates is one result: room for all at once, not doubling.
    inv.certs
        .reserve(results.iter().map(|(_, l)| l.certs.len()).sum::<usize>());
    for (upload, loaded) in results {
        let mut ders = loaded.ders.into_iter();
        for (index, facts) in loaded.certs {
            inv.certs.push(CertEntry {
                upload: upload.clone(),
                index,
                facts,
                der: ders.next(),
                also: Vec::new(),
            });
        }
        for (index, spki) in loaded.keys {
            inv.keys.push(KeyEntry {
                upload: upload.clone(),
                index,
                spki,
            });
        }
        for (index, kind, spki, subject) in loaded.public {
            inv.public_keys.push(PublicEntry {
                upload: upload.clone(),
                index,
                kind,
                spki,
                subject,
            });
        }
        for (index, reason) in loaded.errors {
            inv.error(upload.path.clone(), index, reason);
        }
        for (index, reason) in loaded.warnings {
            inv.warnings.push(InputError {
                path: upload.path.clone(),
                index,
                reason,
            });
        }
    }
}

/// A file becomes one job; a directory becomes one job per file found in it.
fn expand_path(
    path: &Path,
    upload: &Upload,
    sources: &Sources<'_>,
    jobs: &mut Vec<Job>,
    inv: &mut Inventory,
) {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Err(e) => inv.error(shown, None, describe_io(&e)),
        // A FIFO or device would block or never end; only `-` reads a stream.
        Ok(meta) if !meta.is_dir() && !meta.is_file() => inv.error(
            shown,
            None,
            limits::NotRegular(limits::file_kind(&meta)).to_string(),
        ),
        Ok(meta) if meta.is_dir() => {
            let mut files = Vec::new();
            walk::files_under(path, &mut files, inv);
            let skip: Vec<PathBuf> = sources
                .skip
                .iter()
                .filter_map(|p| p.canonicalize().ok())
                .collect();
            for file in files {
                if file
                    .canonicalize()
                    .map(|c| skip.contains(&c))
                    .unwrap_or(false)
                {
                    continue;
                }
                jobs.push(Job {
                    upload: Upload {
                        path: file.display().to_string(),
                        ..upload.clone()
                    },
                    input: Input::File(file),
                });
            }
        }
        Ok(_) => jobs.push(Job {
            upload: Upload {
                path: shown,
                ..upload.clone()
            },
            input: Input::File(path.to_path_buf()),
        }),
    }
}

pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "file not found".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory (a manifest entry names one file)".into(),
        _ => match e.get_ref() {
            Some(inner) if inner.is::<limits::NotRegular>() || inner.is::<limits::TooLarge>() => {
                inner.to_string()
            }
            _ => format!("cannot read: {e}"),
        },
    }
}

/// What one input yielded.
#[derive(Default)]
pub struct Loaded {
    pub certs: Vec<(usize, Box<CertFacts>)>,
    /// The certificates' DER, in the same order, when asked for (`inspect`).
    pub ders: Vec<Vec<u8>>,
    keep_der: bool,
    pub keys: Vec<(usize, Sha256)>,
    /// CSRs and public keys: (block, kind, SPKI digest, CSR subject).
    pub public: Vec<(usize, PublicKind, Sha256, Option<String>)>,
    pub errors: Vec<(Option<usize>, String)>,
    /// Read, with a note that leaves the audit complete.
    pub warnings: Vec<(Option<usize>, String)>,
    /// Encrypted private keys that could not be opened: warnings when the input also holds a
    /// certificate (the key is presumably its own), else errors.
    unreadable_keys: Vec<(Option<usize>, String)>,
    /// Blocks that are not certificates, named by type ("CERTIFICATE REQUEST"), for the
    /// message of an input with no certificate.
    other_blocks: Vec<&'static str>,
    /// Problems of this input by kind: past a few of a kind they are only counted.
    tally: limits::Tally,
    /// Certificates not kept: past `--max-certs-per-input`.
    skipped_certs: u64,
    /// Reading stopped at the certificate cap, before the input's end.
    stopped_at_cap: bool,
}

impl Loaded {
    /// Keeps a certificate (and its DER, when kept), unless the input already gave
    /// `--max-certs-per-input` of them: then it is only counted.
    fn push_cert(&mut self, index: usize, facts: Box<CertFacts>, der: Option<Vec<u8>>) {
        if self.certs.len() as u64 >= limits::max_certs() {
            self.skipped_certs += 1;
            return;
        }
        self.certs.push((index, facts));
        self.ders.extend(der);
    }

    /// The record for certificates past the cap, if any were.
    fn cap_record(&self) -> Option<String> {
        if self.skipped_certs == 0 && !self.stopped_at_cap {
            return None;
        }
        Some(format!(
            "more than the limit of {} certificates in one input: the first {} were kept, {} \
             more were skipped{} (raise --max-certs-per-input to read them)",
            limits::max_certs(),
            self.certs.len(),
            self.skipped_certs,
            if self.stopped_at_cap {
                " and the rest of the input was not read"
            } else {
                ""
            }
        ))
    }

    /// Records a problem with a block, unless many of its kind were listed already.
    fn error(&mut self, index: Option<usize>, reason: String) {
        if self.tally.keep(&reason) {
            self.errors.push((index, reason));
        }
    }
}

fn run_job(job: &Job, sources: &Sources<'_>) -> Loaded {
    let opts = ReadOptions {
        key_only_ok: true,
        keep_der: sources.keep_der,
        p12_password: sources.p12_password,
        key_passphrase: sources.key_passphrase,
    };
    let result = match &job.input {
        Input::File(path) => read_path(path, &opts),
        Input::Stdin => read_input_with(io::stdin().lock(), &opts),
        Input::Inline(text) => read_input_with(Cursor::new(text.as_bytes()), &opts),
    };
    result.unwrap_or_else(|e| Loaded {
        errors: vec![(None, describe_io(&e))],
        ..Loaded::default()
    })
}

/// Reads the input in the file at `path` (in-memory and stream mode alike).
pub fn read_path(path: &Path, opts: &ReadOptions<'_>) -> io::Result<Loaded> {
    limits::open_regular_in_folder(path).and_then(|(f, len)| read_file(f, len, opts))
}

/// Reads one file of `len` bytes (its size when opened). Most files (a manifest's one
/// certificate each) fit in one read into a buffer kept per thread; a larger one streams
/// through a `BufReader`. A 256 KiB `BufReader` per file, as before, cost more in allocation
/// and page faults than the reading itself on a 100,000-file manifest. A small file is read
/// to its size without the read that finds its end (a file that grows meanwhile is read as
/// it was when opened).
fn read_file(file: File, len: u64, opts: &ReadOptions<'_>) -> io::Result<Loaded> {
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    const SMALL_FILE: usize = 64 * 1024;
    // Taken out of the cell, not borrowed: a parse that waits on the pool may run another
    // file's job on this thread, which then finds the cell empty and uses a new buffer.
    let mut buf = BUFFER.take();
    buf.resize(SMALL_FILE, 0);
    let mut filled = 0;
    let result = loop {
        // A raw read(2): libc's wrapper (a cancellation point) cost more than the read.
        match rustix::io::read(&file, &mut buf[filled..]).map_err(io::Error::from) {
            Ok(0) => break read_input_bytes(&buf[..filled], opts),
            Ok(n) if (filled + n) as u64 == len => {
                break read_input_bytes(&buf[..len as usize], opts)
            }
            Ok(n) if filled + n == SMALL_FILE => {
                let head = Cursor::new(buf[..SMALL_FILE].to_vec());
                let rest = BufReader::with_capacity(256 * 1024, file);
                break read_input_with(BufReader::new(head.chain(rest)), opts);
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    BUFFER.set(buf);
    result
}

/// Reads one input. If it starts like an ASN.1 SEQUENCE it is tried as DER: a certificate,
/// then a PKCS#7 bundle, then a PKCS#12 file (PFX version 3), then a private key; else PEM.
/// At most `--max-input-size` bytes are read; a larger input keeps what was found in the
/// part read, with an error saying the rest was not read.
pub fn read_input_with(reader: impl BufRead, opts: &ReadOptions<'_>) -> io::Result<Loaded> {
    let mut capped = limits::Capped::new(reader, limits::max_input());
    let mut loaded = read_capped(&mut capped, opts)?;
    summarise(&mut loaded);
    if capped.hit {
        loaded.errors.push((
            None,
            format!(
                "only the first {} were read: the input is larger than --max-input-size \
                 (raise it to read the rest)",
                limits::show_size(capped.limit())
            ),
        ));
    }
    Ok(loaded)
}

/// As [`read_input_with`], for a text input held whole in memory (most files of a manifest,
/// read in one go): its PEM is parsed where it lies, not copied through a reader first.
fn read_input_bytes(bytes: &[u8], opts: &ReadOptions<'_>) -> io::Result<Loaded> {
    let whole_pem = bytes.first().is_some_and(|&b| b != 0x30)
        && bytes.len() < SIZES.piece
        && bytes.len() as u64 <= limits::max_input();
    if !whole_pem {
        return read_input_with(Cursor::new(bytes), opts);
    }
    let mut loaded = Loaded {
        keep_der: opts.keep_der,
        ..Loaded::default()
    };
    // The one piece of `read_pem_sized`, at the input's end.
    let position = Position {
        lines_before: 0,
        blocks_before: 0,
        first_piece: true,
        more_follows: false,
    };
    let (_, blocks) = parse_piece(bytes, position, SIZES.sub_piece, opts, &mut loaded);
    let mut loaded = finish(loaded, Some(blocks), opts.key_only_ok);
    summarise(&mut loaded);
    Ok(loaded)
}

/// Ends an input's problems with the counts of those left out, and the certificate cap's
/// record if it was reached.
fn summarise(loaded: &mut Loaded) {
    for summary in std::mem::take(&mut loaded.tally).summaries() {
        loaded.errors.push((None, summary));
    }
    if let Some(record) = loaded.cap_record() {
        loaded.errors.push((None, record));
    }
}

fn read_capped(mut reader: impl BufRead, opts: &ReadOptions<'_>) -> io::Result<Loaded> {
    let keep_der = opts.keep_der;
    let head = reader.fill_buf()?;
    if head.is_empty() {
        return Ok(Loaded {
            errors: vec![(None, "empty file".into())],
            ..Loaded::default()
        });
    }
    let mut loaded = Loaded {
        keep_der,
        ..Loaded::default()
    };
    let blocks_seen = if head[0] == 0x30 {
        let mut bytes = Vec::new();
        reader.by_ref().take(MAX_DER + 1).read_to_end(&mut bytes)?;
        match read_der(&bytes, &mut loaded, opts) {
            DerKind::Read => return Ok(finish(loaded, None, opts.key_only_ok)),
            // A bundle that was recognised but failed has said why; no second error.
            DerKind::ContainerFailed => return Ok(loaded),
            DerKind::Neither => {}
        }
        // Not DER after all (a text file may start with "0"): try it as PEM, streaming
        // what follows the bytes already read (never the whole input at once).
        let der_error = std::mem::take(&mut loaded.errors);
        let chained = Cursor::new(bytes).chain(reader);
        let seen = read_pem(BufReader::new(chained), &mut loaded, opts)?;
        if seen == 0 {
            loaded.errors = der_error;
            return Ok(loaded);
        }
        seen
    } else {
        read_pem(reader, &mut loaded, opts)?
    };
    Ok(finish(loaded, Some(blocks_seen), opts.key_only_ok))
}

/// Settles what an input that was read amounts to. Private keys, CSRs and public keys are
/// read inputs (`shop.key` beside `shop.crt`); a key that could not be opened is a warning
/// when the input also holds a certificate (presumably its own, judged anyway), else an error
/// (it may be the key of a certificate elsewhere). Anything else without a certificate is
/// named by type, and an input with nothing we understand is an error.
/// `blocks_seen` is the number of PEM blocks, `None` for a DER input.
fn finish(mut loaded: Loaded, blocks_seen: Option<usize>, key_only_ok: bool) -> Loaded {
    let unreadable = std::mem::take(&mut loaded.unreadable_keys);
    let has_unreadable = !unreadable.is_empty();
    if loaded.certs.is_empty() {
        loaded.errors.extend(unreadable);
    } else {
        loaded.warnings.extend(unreadable);
    }
    let read_keys = !loaded.keys.is_empty() || !loaded.public.is_empty();
    if read_keys && loaded.certs.is_empty() && !key_only_ok {
        loaded.errors.push((
            None,
            format!(
                "no certificate found ({} private key(s) and {} CSR(s)/public key(s) only)",
                loaded.keys.len(),
                loaded.public.len()
            ),
        ));
        return loaded;
    }
    if !loaded.certs.is_empty() || read_keys || has_unreadable {
        return loaded;
    }
    let others = std::mem::take(&mut loaded.other_blocks);
    if let Some(first) = others.first() {
        if loaded.errors.is_empty() {
            let hint = match *first {
                "X509 CRL" => " (revocation lists are read with --crl)",
                _ => "",
            };
            loaded.warnings.push((
                None,
                format!(
                    "{} {first}{}, not a certificate{hint}",
                    article(first),
                    if others.len() > 1 {
                        format!(" and {} other block(s)", others.len() - 1)
                    } else {
                        String::new()
                    }
                ),
            ));
            return loaded;
        }
    }
    let reason = match blocks_seen {
        None => "no certificate or key found: the DER PKCS#7 bundle or PKCS#12 file holds none".into(),
        Some(0) => "no certificate found: not PEM (no -----BEGIN line), nor DER (tried: certificate, PKCS#7, PKCS#12, private key)".into(),
        Some(n) => format!("no certificate found in {n} PEM block(s)"),
    };
    loaded.errors.push((None, reason));
    loaded
}

/// "a" or "an" before a PEM label read aloud ("an X509 CRL", "an EC PARAMETERS").
fn article(label: &str) -> &'static str {
    match label.as_bytes().first() {
        Some(b'A' | b'E' | b'I' | b'O' | b'U' | b'X') => "an",
        _ => "a",
    }
}

/// What a DER input turned out to be.
enum DerKind {
    /// A certificate, key, or container with certificates or keys.
    Read,
    /// A PKCS#7 or PKCS#12 container that could not be read; `loaded.errors` says why.
    ContainerFailed,
    /// None of the DER forms: maybe PEM after all.
    Neither,
}

/// Tries `bytes` as one DER certificate, then as PKCS#7, PKCS#12 and a DER private key.
fn read_der(bytes: &[u8], loaded: &mut Loaded, opts: &ReadOptions<'_>) -> DerKind {
    if bytes.len() as u64 > MAX_DER {
        loaded.errors.push((
            None,
            "not a certificate: starts like DER but is larger than 16 MiB".into(),
        ));
        return DerKind::Neither;
    }
    let cert_error = match cert::parse_der_prefix(bytes) {
        Ok((facts, trailing)) => {
            loaded.certs.push((1, Box::new(facts)));
            if loaded.keep_der {
                loaded.ders.push(bytes[..bytes.len() - trailing].to_vec());
            }
            if trailing > 0 {
                loaded.errors.push((
                    Some(1),
                    format!("{trailing} unexpected bytes after the DER certificate"),
                ));
            }
            return DerKind::Read;
        }
        Err(e) => e,
    };
    if pkcs7::looks_like(bytes) {
        return match pkcs7::certificates(bytes) {
            Ok(bundle) => {
                if bundle.trailing > 0 {
                    loaded.errors.push((
                        None,
                        format!(
                            "{} unexpected bytes after the PKCS#7 bundle",
                            bundle.trailing
                        ),
                    ));
                }
                add_bundle(loaded, None, &bundle);
                DerKind::Read
            }
            Err(reason) => {
                loaded.errors.push((None, reason));
                DerKind::ContainerFailed
            }
        };
    }
    if pkcs12::looks_like(bytes) {
        let password = opts.p12_password.map(|p| p.as_slice());
        return match pkcs12::decode(bytes, password) {
            Ok(contents) => {
                add_pkcs12(loaded, contents);
                DerKind::Read
            }
            Err(e) => {
                loaded.errors.push((None, e.to_string()));
                DerKind::ContainerFailed
            }
        };
    }
    if pkcs12::looks_like_ber(bytes) {
        loaded
            .errors
            .push((None, pkcs12::P12Error::Ber.to_string()));
        return DerKind::ContainerFailed;
    }
    for format in [KeyFormat::Pkcs8, KeyFormat::Pkcs1, KeyFormat::Sec1] {
        if let Ok(spki) = key::public_key_digest(format, bytes) {
            loaded.keys.push((1, spki));
            return DerKind::Read;
        }
    }
    let structure = pkcs7::structure_error(bytes)
        .map(|e| format!("; {e}"))
        .unwrap_or_default();
    loaded.errors.push((
        None,
        format!(
            "not a DER certificate, PKCS#7 bundle, PKCS#12 file or private key: {cert_error}{structure}"
        ),
    ));
    DerKind::Neither
}

/// The certificates of a PKCS#7 bundle. In a DER file (`block` None) each is numbered by
/// its position in the bundle; in PEM, all carry the number of their `PKCS7` block.
fn add_bundle(loaded: &mut Loaded, block: Option<usize>, bundle: &pkcs7::Bundle<'_>) {
    for (i, der) in bundle.certificates.iter().enumerate() {
        let index = block.unwrap_or(i + 1);
        match cert::parse_der(der) {
            Ok(facts) => {
                let der = loaded.keep_der.then(|| der.to_vec());
                loaded.push_cert(index, Box::new(facts), der);
            }
            Err(e) => loaded.error(
                Some(index),
                format!("certificate {} of the PKCS#7 bundle: {e}", i + 1),
            ),
        }
    }
    for note in &bundle.skipped {
        loaded.error(block, note.clone());
    }
}

/// The certificates (numbered 1..) and keys (numbered 1..) of a PKCS#12 file. Each key is
/// reduced to its public key digest here and its bytes are dropped (zeroized).
fn add_pkcs12(loaded: &mut Loaded, contents: pkcs12::Contents) {
    for (i, der) in contents.certificates.into_iter().enumerate() {
        match cert::parse_der(&der) {
            Ok(facts) => {
                let der = loaded.keep_der.then_some(der);
                loaded.push_cert(i + 1, Box::new(facts), der);
            }
            Err(e) => loaded.error(
                Some(i + 1),
                format!("certificate {} of the PKCS#12 file: {e}", i + 1),
            ),
        }
    }
    for (i, pkcs8) in contents.keys.iter().enumerate() {
        match key::public_key_digest(KeyFormat::Pkcs8, pkcs8) {
            Ok(spki) => loaded.keys.push((i + 1, spki)),
            Err(e) => loaded.errors.push((
                None,
                format!("private key {} of the PKCS#12 file: {e}", i + 1),
            )),
        }
    }
    for note in contents.skipped {
        loaded.errors.push((None, note));
    }
    if contents.trailing > 0 {
        loaded.errors.push((
            None,
            format!(
                "{} unexpected bytes after the PKCS#12 file",
                contents.trailing
            ),
        ));
    }
}

/// How PEM input is cut for parallel parsing.
#[derive(Clone, Copy)]
struct Sizes {
    /// Bytes read at a time, cut at a BEGIN line so no block is split.
    piece: usize,
    /// Target size of the sub-pieces parsed in parallel.
    sub_piece: usize,
    /// A piece grows past `piece` only while one block is unfinished, up to this.
    max_piece: usize,
}

const SIZES: Sizes = Sizes {
    piece: 2 << 20,
    sub_piece: 256 << 10,
    max_piece: 64 << 20,
};

/// Reads PEM in pieces; each piece is split at BEGIN lines into sub-pieces that are decoded
/// and parsed on all cores. Block and line numbers are those of the whole input.
/// Returns the number of blocks seen.
fn read_pem(
    reader: impl BufRead,
    loaded: &mut Loaded,
    opts: &ReadOptions<'_>,
) -> io::Result<usize> {
    read_pem_sized(reader, loaded, SIZES, opts)
}

fn read_pem_sized(
    mut reader: impl BufRead,
    loaded: &mut Loaded,
    sizes: Sizes,
    opts: &ReadOptions<'_>,
) -> io::Result<usize> {
    // As much as the reader holds already (all of a small file read whole): no regrowing.
    // A reader whose buffer is full holds a large input: one piece's room at once, not
    // doubling from 8 KiB (each doubling copies into fresh memory the kernel must zero).
    let held = reader.fill_buf()?.len();
    let mut buf: Vec<u8> = Vec::with_capacity(if held >= 8 << 10 {
        sizes.piece + 1
    } else {
        held + 1
    });
    let (mut lines_before, mut blocks_before) = (0usize, 0usize);
    let mut eof = false;
    // The previous piece ended inside a line (one longer than a piece).
    let mut mid_line = false;
    loop {
        while !eof && buf.len() < sizes.piece {
            let want = (sizes.piece - buf.len()) as u64;
            if reader.by_ref().take(want).read_to_end(&mut buf)? == 0 {
                eof = true;
            }
        }
        let first_piece = lines_before == 0;
        let cut = match cut_point(&buf, first_piece, eof) {
            Some(cut) => cut,
            None if buf.len() < sizes.max_piece => {
                // One unfinished block fills the buffer: read on.
                let want = sizes.piece as u64;
                if reader.by_ref().take(want).read_to_end(&mut buf)? == 0 {
                    eof = true;
                }
                continue;
            }
            None => buf.len(),
        };
        let ends_mid_line = !eof && cut == buf.len() && buf.last() != Some(&b'\n');
        if ends_mid_line && !mid_line && memchr::memchr(b'\n', &buf).is_none() {
            // One line fills the whole piece. A BEGIN line that long cannot be read as one
            // (its label never ends): say so rather than pass over it in silence.
            let line = if first_piece {
                buf.strip_prefix(pem::BOM).unwrap_or(&buf)
            } else {
                &buf[..]
            };
            if line.trim_ascii_start().starts_with(BEGIN) {
                loaded.error(
                    None,
                    format!(
                        "line {}: a line starting '-----BEGIN ' is longer than {}: not read as \
                         a PEM block",
                        lines_before + 1,
                        limits::show_size(sizes.piece as u64)
                    ),
                );
            }
        }
        mid_line = ends_mid_line;
        let piece = &buf[..cut];
        let more = !(eof && cut == buf.len());
        let position = Position {
            lines_before,
            blocks_before,
            first_piece,
            more_follows: more,
        };
        let (lines, blocks) = parse_piece(piece, position, sizes.sub_piece, opts, loaded);
        lines_before += lines;
        blocks_before += blocks;
        buf.drain(..cut);
        if loaded.skipped_certs > 0 {
            // Past the certificate cap: what follows is not read (memory and time stay
            // bounded; the record says so).
            loaded.stopped_at_cap = !(eof && buf.is_empty());
            return Ok(blocks_before);
        }
        if eof && buf.is_empty() {
            return Ok(blocks_before);
        }
    }
}

/// Where to end this piece: before the last BEGIN line (so blocks stay whole), or at the
/// last line end if there is no block at all. `None`: an unfinished block needs more bytes.
fn cut_point(buf: &[u8], first_piece: bool, eof: bool) -> Option<usize> {
    if eof {
        return Some(buf.len());
    }
    let finder = memchr::memmem::FinderRev::new(BEGIN);
    for hit in finder.rfind_iter(buf) {
        if let Some(start) = begin_line_at(buf, hit, first_piece) {
            return (start > 0).then_some(start);
        }
    }
    Some(
        buf.iter()
            .rposition(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1),
    )
}

const BEGIN: &[u8] = b"-----BEGIN ";

/// Where `-----BEGIN ` occurs in `bytes`. The searcher is built once: building one per call
/// (once per file of a manifest) was 0.4 % of a 100,000-file manifest scan.
fn begin_hits(bytes: &[u8]) -> memchr::memmem::FindIter<'_, 'static> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(BEGIN));
    FINDER.find_iter(bytes)
}

/// Line ends in `bytes`. (A byte-by-byte filter and count compiled to a loop that widens two
/// bytes at a time: 3 % of a 100,000-file manifest scan's instructions.)
fn count_lines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// If the `-----BEGIN ` found at `hit` is a BEGIN line, the offset where that line starts.
fn begin_line_at(bytes: &[u8], hit: usize, first_piece: bool) -> Option<usize> {
    let start = bytes[..hit]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = bytes[hit..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| hit + i);
    pem::is_begin_line(&bytes[start..end], first_piece && start == 0).then_some(start)
}

/// Offsets of the BEGIN lines in `bytes`.
fn begin_line_starts(bytes: &[u8], first_piece: bool) -> Vec<usize> {
    begin_hits(bytes)
        .filter_map(|hit| begin_line_at(bytes, hit, first_piece))
        .collect()
}

/// The first BEGIN line starting at or after `from`.
fn next_begin_line(bytes: &[u8], from: usize, first_piece: bool) -> Option<usize> {
    begin_hits(&bytes[from..])
        .filter_map(|hit| begin_line_at(bytes, from + hit, first_piece))
        .find(|&start| start >= from)
}

/// Where a piece sits in the whole input.
struct Position {
    lines_before: usize,
    blocks_before: usize,
    first_piece: bool,
    more_follows: bool,
}

/// Parses one piece (on all cores when it holds several sub-pieces); returns its (lines,
/// blocks).
fn parse_piece(
    piece: &[u8],
    position: Position,
    sub_piece: usize,
    opts: &ReadOptions<'_>,
    loaded: &mut Loaded,
) -> (usize, usize) {
    let Position {
        lines_before,
        blocks_before,
        first_piece,
        more_follows,
    } = position;
    if piece.len() <= sub_piece {
        // One sub-piece (a small file: most uploads hold one certificate): parse it here, on
        // this worker, without fanning out to the pool for one item.
        let lines = count_lines(piece);
        let blocks = begin_hits(piece)
            .filter(|&hit| begin_line_at(piece, hit, first_piece).is_some())
            .count();
        let next_begin = more_follows.then_some(lines_before + lines + 1);
        let result = parse_sub(piece, lines_before, blocks_before, next_begin, opts);
        absorb(loaded, [result]);
        return (lines, blocks);
    }
    // Sub-piece boundaries: the first BEGIN line at or after every `sub_piece` bytes.
    let mut bounds = vec![0];
    loop {
        let from = bounds[bounds.len() - 1] + sub_piece;
        if from >= piece.len() {
            break;
        }
        match next_begin_line(piece, from, first_piece) {
            Some(next) => bounds.push(next),
            None => break,
        }
    }
    bounds.push(piece.len());
    let subs: Vec<&[u8]> = bounds.windows(2).map(|w| &piece[w[0]..w[1]]).collect();
    // Each sub-piece's line and block counts give the next one's numbering.
    let counts: Vec<(usize, usize)> = subs
        .par_iter()
        .enumerate()
        .map(|(i, sub)| {
            let lines = count_lines(sub);
            (lines, begin_line_starts(sub, first_piece && i == 0).len())
        })
        .collect();
    let mut offsets = Vec::with_capacity(subs.len());
    let (mut lines, mut blocks) = (lines_before, blocks_before);
    for &(l, b) in &counts {
        offsets.push((lines, blocks));
        lines += l;
        blocks += b;
    }
    let results: Vec<io::Result<SubResult>> = subs
        .par_iter()
        .enumerate()
        .map(|(i, sub)| {
            let last = i + 1 == subs.len();
            // A block cut off by this sub-piece's end: the next one begins right after.
            let next_begin =
                (!last || more_follows).then(|| offsets.get(i + 1).map_or(lines, |o| o.0) + 1);
            let (l, b) = offsets[i];
            parse_sub(sub, l, b, next_begin, opts)
        })
        .collect();
    absorb(loaded, results);
    (lines - lines_before, blocks - blocks_before)
}

/// Adds the sub-pieces' outcomes to what the input yielded, in order.
fn absorb<R>(loaded: &mut Loaded, results: R)
where
    R: AsRef<[io::Result<SubResult>]> + IntoIterator<Item = io::Result<SubResult>>,
{
    loaded.certs.reserve(
        results
            .as_ref()
            .iter()
            .map(|r| r.as_ref().map_or(0, |s| s.outcomes.len()))
            .sum(),
    );
    for r in results {
        match r {
            Ok(sub) => {
                for note in sub.notes {
                    loaded.error(None, note);
                }
                for (n, outcome) in sub.outcomes {
                    match outcome {
                        BlockOutcome::Cert(facts, der) => loaded.push_cert(n, facts, der),
                        BlockOutcome::Key(spki) => loaded.keys.push((n, spki)),
                        BlockOutcome::Bundle(certs, errors) => {
                            for (facts, der) in certs {
                                loaded.push_cert(n, facts, der);
                            }
                            for e in errors {
                                loaded.error(Some(n), e);
                            }
                        }
                        BlockOutcome::Public(kind, spki, subject) => {
                            loaded.public.push((n, kind, spki, subject))
                        }
                        BlockOutcome::Other(label) => loaded.other_blocks.push(label),
                        BlockOutcome::Unreadable(reason) => {
                            if loaded.tally.keep(&reason) {
                                loaded.unreadable_keys.push((Some(n), reason))
                            }
                        }
                        BlockOutcome::Error(reason) => loaded.error(Some(n), reason),
                    }
                }
            }
            Err(e) => loaded.errors.push((None, format!("cannot read: {e}"))),
        }
    }
}

struct SubResult {
    outcomes: Vec<(usize, BlockOutcome)>,
    /// Problems with lines that are not blocks.
    notes: Vec<String>,
}

fn parse_sub(
    sub: &[u8],
    lines_before: usize,
    blocks_before: usize,
    next_begin_line: Option<usize>,
    opts: &ReadOptions<'_>,
) -> io::Result<SubResult> {
    let mut outcomes = Vec::new();
    let mut notes = Vec::new();
    for item in PemReader::piece(sub, lines_before, blocks_before, next_begin_line) {
        match item {
            PemItem::Block(b) => outcomes.push((b.number, read_block(&b, opts))),
            PemItem::LongBegin { line, label_len } => notes.push(format!(
                "line {line}: a line starting '-----BEGIN ' is too long to be a BEGIN line (a \
                 label of {label_len} bytes, at most {}): not read as a PEM block",
                pem::MAX_LABEL
            )),
            PemItem::Fault(f) => outcomes.push((
                f.number,
                BlockOutcome::Error(format!("{} (block starts at line {})", f.reason, f.line)),
            )),
        }
    }
    Ok(SubResult { outcomes, notes })
}

enum BlockOutcome {
    Cert(Box<CertFacts>, Option<Vec<u8>>),
    Key(Sha256),
    /// A PKCS#7 block: its certificates, and why any entry could not be read.
    Bundle(Vec<(Box<CertFacts>, Option<Vec<u8>>)>, Vec<String>),
    /// A CSR or public key: its key joins the key-reuse check.
    Public(PublicKind, Sha256, Option<String>),
    /// Understood, but not inventory (a CRL, parameters): named by type.
    Other(&'static str),
    /// A private key we could not open (encrypted, no or wrong passphrase).
    Unreadable(String),
    Error(String),
}

/// Every label is checked: certificates are parsed, keys reduced to their public key digest,
/// CSRs and public keys read for their key, other known blocks named, anything else reported.
fn read_block(b: &PemBlock, opts: &ReadOptions<'_>) -> BlockOutcome {
    let keep_der = opts.keep_der;
    let der = || keep_der.then(|| b.der.to_vec());
    let key_format = match b.label.as_str() {
        "CERTIFICATE" | "X509 CERTIFICATE" => {
            return match cert::parse_der(&b.der) {
                Ok(f) => BlockOutcome::Cert(Box::new(f), der()),
                Err(e) => BlockOutcome::Error(e.to_string()),
            }
        }
        // OpenSSL's trusted form appends trust settings after the certificate.
        "TRUSTED CERTIFICATE" => {
            return match cert::parse_der_prefix(&b.der) {
                Ok((f, _)) => BlockOutcome::Cert(Box::new(f), der()),
                Err(e) => BlockOutcome::Error(e.to_string()),
            }
        }
        "PRIVATE KEY" => KeyFormat::Pkcs8,
        "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
        "EC PRIVATE KEY" => KeyFormat::Sec1,
        "ENCRYPTED PRIVATE KEY" => return read_encrypted_key(&b.der, opts),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
            return match cert::request_key(&b.der) {
                Ok((spki, subject)) => {
                    BlockOutcome::Public(PublicKind::Request, spki, Some(subject))
                }
                Err(e) => BlockOutcome::Error(format!("a CERTIFICATE REQUEST, not readable: {e}")),
            }
        }
        "PUBLIC KEY" => {
            return match cert::public_key_digest(&b.der) {
                Ok(spki) => BlockOutcome::Public(PublicKind::PublicKey, spki, None),
                Err(e) => BlockOutcome::Error(format!("a PUBLIC KEY, not readable: {e}")),
            }
        }
        "X509 CRL" => return BlockOutcome::Other("X509 CRL"),
        "EC PARAMETERS" => return BlockOutcome::Other("EC PARAMETERS"),
        "DH PARAMETERS" => return BlockOutcome::Other("DH PARAMETERS"),
        "PKCS7" | "CMS" => return read_pkcs7_block(b, keep_der),
        other => {
            return BlockOutcome::Error(format!(
                "unexpected PEM block '{}'",
                crate::sanitize::escape(other)
            ))
        }
    };
    if b.encrypted_headers {
        return BlockOutcome::Unreadable(format!(
            "an encrypted {} private key (legacy OpenSSL 'Proc-Type: 4,ENCRYPTED' form, not \
             supported): its public key cannot be matched; convert it with \
             `openssl pkcs8 -topk8` and give --key-passphrase-file",
            key_format.label()
        ));
    }
    match key::public_key_digest(key_format, &b.der) {
        Ok(spki) => BlockOutcome::Key(spki),
        Err(e) => BlockOutcome::Error(e.to_string()),
    }
}

/// An `ENCRYPTED PRIVATE KEY` (PKCS#8 EncryptedPrivateKeyInfo): opened with the passphrase
/// when there is one, reduced to its public key digest; the decrypted bytes are zeroized.
fn read_encrypted_key(der: &[u8], opts: &ReadOptions<'_>) -> BlockOutcome {
    let Some(passphrase) = opts.key_passphrase else {
        return BlockOutcome::Unreadable(
            "an ENCRYPTED PRIVATE KEY: its public key cannot be matched without the passphrase \
             (give --key-passphrase-file FILE or CERTSWEEP_KEY_PASSPHRASE)"
                .into(),
        );
    };
    let plain = match pkcs12::decrypt_pkcs8(der, passphrase) {
        Ok(p) => p,
        Err(e) => {
            return BlockOutcome::Unreadable(format!(
                "an ENCRYPTED PRIVATE KEY that could not be opened: {}",
                e.for_key()
            ))
        }
    };
    match key::public_key_digest(KeyFormat::Pkcs8, &plain) {
        Ok(spki) => BlockOutcome::Key(spki),
        Err(e) => BlockOutcome::Error(format!("an ENCRYPTED PRIVATE KEY, decrypted: {e}")),
    }
}

/// A PEM `PKCS7`/`CMS` block: every certificate of its SignedData.
fn read_pkcs7_block(b: &PemBlock, keep_der: bool) -> BlockOutcome {
    let bundle = match pkcs7::certificates(&b.der) {
        Ok(bundle) => bundle,
        Err(reason) => return BlockOutcome::Error(reason),
    };
    let mut certs = Vec::with_capacity(bundle.certificates.len());
    let mut errors = bundle.skipped.clone();
    for (i, der) in bundle.certificates.iter().enumerate() {
        match cert::parse_der(der) {
            Ok(f) => certs.push((Box::new(f), keep_der.then(|| der.to_vec()))),
            Err(e) => errors.push(format!("certificate {} of the PKCS#7 bundle: {e}", i + 1)),
        }
    }
    if bundle.trailing > 0 {
        errors.push(format!(
            "{} unexpected bytes after the PKCS#7 bundle",
            bundle.trailing
        ));
    }
    BlockOutcome::Bundle(certs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../../fixtures/demo/uploads/fresh.pem");

    /// An input mixing good blocks, keys, text and broken blocks, many times over.
    fn mixed_input() -> String {
        let mut text = String::from("\u{feff}leading text\n");
        for i in 0..12 {
            text.push_str(CERT);
            text.push_str(&format!("note {i}\n"));
            if i % 3 == 0 {
                text.push_str("-----BEGIN CERTIFICATE-----\nMIIB\n"); // no END line
            }
            if i % 4 == 1 {
                text.push_str("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
            }
            if i % 5 == 2 {
                text.push_str("    -----BEGIN FOO-----\n    YWJj\n    -----END FOO-----\n");
            }
        }
        text
    }

    fn summary(l: &Loaded) -> Vec<String> {
        let mut v: Vec<String> = l
            .certs
            .iter()
            .map(|(n, f)| format!("cert {n} {}", f.fingerprint))
            .chain(l.keys.iter().map(|(n, k)| format!("key {n} {k}")))
            .chain(l.errors.iter().map(|(n, r)| format!("error {n:?} {r}")))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn tiny_pieces_give_the_same_blocks_lines_and_errors_as_one_piece() {
        let text = mixed_input();
        let mut whole = Loaded::default();
        let opts = ReadOptions::default();
        let n_whole = read_pem(text.as_bytes(), &mut whole, &opts).unwrap();
        assert_eq!(whole.certs.len(), 12);
        assert!(whole
            .errors
            .iter()
            .any(|(_, r)| r.contains("another block begins at line")));
        for (piece, sub) in [(600, 100), (1500, 1), (4096, 700), (50_000, 2000)] {
            let sizes = Sizes {
                piece,
                sub_piece: sub,
                max_piece: piece * 4,
            };
            let mut cut = Loaded::default();
            let n_cut = read_pem_sized(text.as_bytes(), &mut cut, sizes, &opts).unwrap();
            assert_eq!(n_cut, n_whole, "piece {piece}");
            assert_eq!(summary(&cut), summary(&whole), "piece {piece}, sub {sub}");
        }
    }

    #[test]
    fn a_block_larger_than_a_piece_is_read_whole() {
        let text = format!("{CERT}{CERT}");
        let sizes = Sizes {
            piece: 64,
            sub_piece: 16,
            max_piece: 1 << 20,
        };
        let mut l = Loaded::default();
        read_pem_sized(text.as_bytes(), &mut l, sizes, &ReadOptions::default()).unwrap();
        assert_eq!(l.certs.len(), 2);
        assert!(l.errors.is_empty());
    }
}
