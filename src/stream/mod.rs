//! `certsweep scan --stream`: memory bounded in the number of certificates.
//!
//! Each upload unit (a file, a manifest entry, or one NDJSON line) is loaded, judged and
//! written on its own; nothing of it is kept afterwards. What crosses uploads is the
//! exposed-key set: the SHA-256 of every public key exposed before the cutoff (32 bytes per
//! key), made by a first pass over the inputs (stdin is spooled to a temporary file for it) or
//! given with `--exposed-keys` (the broadcast side of a join, e.g. on Spark).
//!
//! Reduced against the in-memory scan, because they need the whole inventory at once: the
//! same certificate uploaded twice is two records (no cross-upload dedup), `shares_key_with`
//! and `private_key_found_in` list only the same upload (and the exposed-key set), and a CA
//! certificate whose private key is only in another upload stays `chain`.

pub mod exposed;
pub mod ndjson_in;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cert::{self, Sha256};
use crate::classify::{self, ExposedList, Policy, Role};
use crate::cli::ScanArgs;
use crate::config::{self, parse_flag, Context};
use crate::crl::Revocations;
use crate::error::{Error, ExitCode};
use crate::inventory::{self, describe_io, InputError, Inventory, Loaded, ReadOptions, Upload};
use crate::report::model::{ErrorRecord, PolicyOut, Summary};
use crate::report::{Format, ScanReport};
use crate::timefmt;
use exposed::{ExposedSet, Origin};

/// NDJSON lines judged per parallel batch.
const LINE_BATCH: usize = 4096;
/// Files judged per parallel batch (each is read whole, as in the in-memory scan).
const FILE_BATCH: usize = 64;
/// Bytes of input judged at a time (files, inline PEM, NDJSON lines), whatever their count.
const BATCH_BYTES: u64 = 32 << 20;

/// What `--help` and the summary say stream mode does not do.
pub const REDUCED: &str = "each upload is judged on its own with the exposed-key set: the same \
certificate uploaded twice is two records (no cross-upload dedup); shares_key_with and \
private_key_found_in list only the same upload (and the exposed-key set); a CA certificate whose \
private key is only in another upload stays chain; errors are written where they occur";

/// Where units come from.
enum Item {
    /// One upload: a file, a manifest entry, or stdin that is not NDJSON.
    Job(Upload, Body),
    /// NDJSON lines, one upload each.
    Ndjson { source: Source, shown: String },
}

enum Source {
    Path(PathBuf),
    Stdin,
}

#[derive(Clone)]
enum Body {
    File(PathBuf),
    Inline(String),
    Stdin,
    /// One NDJSON line and its number.
    Line(String, usize),
    /// A line that could not be read at all.
    Bad(String),
}

struct Unit {
    upload: Upload,
    body: Body,
}

struct Judge<'a> {
    policy: &'a Policy,
    set: &'a ExposedSet,
    opts: ReadOptions<'a>,
    revocations: Revocations,
    source_name: String,
    write_records: bool,
}

/// Units with more certificates than this are rendered when written, straight to the
/// output: their records as bytes (about 1.8 KiB each) would otherwise be held on top of the
/// certificates (a 100,000-certificate file peaked at 437 MiB).
const RENDER_INLINE: usize = 1000;

/// One unit's output.
#[derive(Default)]
struct Judged<'r> {
    out: Vec<u8>,
    /// A large unit, rendered when written (see [`RENDER_INLINE`]).
    deferred: Option<Box<Deferred<'r>>>,
    summary: Summary,
    errors: Vec<InputError>,
    warnings: Vec<InputError>,
}

#[derive(Serialize)]
struct StreamInfo {
    mode: &'static str,
    /// `first-pass`, `exposed-keys` or `none`.
    exposed_keys_from: &'static str,
    exposed_keys: usize,
    reduced: &'static str,
}

#[derive(Serialize)]
struct StreamSummary<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    stream: StreamInfo,
}

pub fn run(args: &ScanArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let inv_args = &args.inventory;
    if args.exposed_keys_only && (inv_args.cutoff.is_none() || !inv_args.exposed_keys.is_empty()) {
        return Err(Error::Usage(
            "--exposed-keys-only makes the exposed-key set from the inputs: it needs --cutoff \
             and cannot take --exposed-keys"
                .into(),
        ));
    }
    let json_summary = args.summary_only && ctx.format == Format::Json;
    if ctx.format != Format::Ndjson && !json_summary {
        return Err(Error::Usage(format!(
            "--stream writes NDJSON records as they are judged: give --format ndjson (or \
             --summary-only with --format json), not --format {}",
            ctx.format.name()
        )));
    }
    if !inv_args.crl.is_empty() || !inv_args.roots.is_empty() {
        return Err(Error::Usage(
            "--crl and --roots are not supported with --stream (CRLs are checked against \
             issuers from the whole inventory): scan without --stream"
                .into(),
        ));
    }
    let cutoff = inv_args
        .cutoff
        .as_deref()
        .map(|t| parse_flag("--cutoff", t))
        .transpose()?;
    if let Some(c) = cutoff {
        if c > ctx.now && !inv_args.allow_future_cutoff {
            return Err(Error::Usage(format!(
                "--cutoff {} is later than now ({}): check the date, give --now, or pass \
                 --allow-future-cutoff if it is meant",
                timefmt::rfc3339(c),
                timefmt::rfc3339(ctx.now)
            )));
        }
    }
    let uploaded_at = inv_args
        .uploaded_at
        .as_deref()
        .map(|t| parse_flag("--uploaded-at", t))
        .transpose()?;
    crate::input::stdin_once(
        inv_args
            .paths
            .iter()
            .map(|p| ("PATH", p.as_path()))
            .chain(
                inv_args
                    .manifest
                    .iter()
                    .map(|p| ("--manifest", p.as_path())),
            )
            .chain(
                inv_args
                    .exposed_keys
                    .iter()
                    .map(|p| ("--exposed-keys", p.as_path())),
            ),
    )
    .map_err(Error::Usage)?;
    let p12_password: Option<Zeroizing<Vec<u8>>> = config::p12_password(
        inv_args.p12_password_file.as_ref(),
        inv_args.p12_password.as_ref(),
    )?;
    let key_passphrase = config::key_passphrase(inv_args.key_passphrase_file.as_ref())?;
    let policy = Policy {
        now: ctx.now,
        cutoff,
        unknown_upload: inv_args.unknown_upload,
        expiring_within_days: i64::from(args.expiring_within),
        ignore_expired: args.ignore_expired,
    };

    // Plan: files, folders (walked now: paths only), manifests (entries held), stdin.
    let mut setup = Inventory::default();
    let mut plan = Vec::new();
    let stdin_in_paths = inv_args.paths.iter().any(|p| crate::input::is_stdin(p));
    let two_passes = cutoff.is_some() && inv_args.exposed_keys.is_empty();
    let spool = if stdin_in_paths && two_passes {
        Some(spool_stdin().map_err(|e| {
            Error::Usage(format!(
                "cannot copy stdin to a temporary file for the second pass: {}; set TMPDIR to \
                 a folder with space, or give --exposed-keys",
                describe_io(&e)
            ))
        })?)
    } else {
        None
    };
    for path in &inv_args.paths {
        let upload = Upload {
            uploaded_at,
            ..Upload::default()
        };
        if crate::input::is_stdin(path) {
            let ndjson = match &spool {
                Some(s) => {
                    let mut r = BufReader::new(File::open(s.path()).map_err(Error::Output)?);
                    ndjson_in::looks_like(r.fill_buf().map_err(Error::Output)?)
                }
                None => {
                    ndjson_in::looks_like(io::stdin().lock().fill_buf().map_err(Error::Output)?)
                }
            };
            let source = match &spool {
                Some(s) => Source::Path(s.path().to_path_buf()),
                None => Source::Stdin,
            };
            plan.push(match (ndjson, source) {
                (true, source) => Item::Ndjson {
                    source,
                    shown: "-".into(),
                },
                (false, Source::Path(p)) => Item::Job(
                    Upload {
                        path: "-".into(),
                        ..upload
                    },
                    Body::File(p),
                ),
                (false, Source::Stdin) => Item::Job(
                    Upload {
                        path: "-".into(),
                        ..upload
                    },
                    Body::Stdin,
                ),
            });
            continue;
        }
        let mut files = Vec::new();
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => inventory::walk::files_under(path, &mut files, &mut setup),
            Ok(_) => files.push(path.clone()),
            Err(e) => setup.error(path.display().to_string(), None, describe_io(&e)),
        }
        for file in files {
            let shown = file.display().to_string();
            let is_ndjson = file.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                e.eq_ignore_ascii_case("ndjson") || e.eq_ignore_ascii_case("jsonl")
            });
            plan.push(if is_ndjson {
                Item::Ndjson {
                    source: Source::Path(file),
                    shown,
                }
            } else {
                Item::Job(
                    Upload {
                        path: shown,
                        ..upload.clone()
                    },
                    Body::File(file),
                )
            });
        }
    }
    for m in &inv_args.manifest {
        for entry in inventory::manifest::read_confined(m, &mut setup, inv_args.confined_paths) {
            plan.push(Item::Job(
                entry.upload,
                match entry.source {
                    inventory::manifest::EntrySource::File(f) => Body::File(f),
                    inventory::manifest::EntrySource::Pem(t) => Body::Inline(t),
                },
            ));
        }
    }
    if inv_args.paths.is_empty() && inv_args.manifest.is_empty() {
        return Err(Error::Usage(
            "nothing to scan: give PATHs (files, directories, NDJSON files, - for stdin) or \
             --manifest FILE"
                .into(),
        ));
    }

    let opts = ReadOptions {
        key_only_ok: true,
        keep_der: false,
        p12_password: p12_password.as_ref(),
        key_passphrase: key_passphrase.as_ref(),
    };

    // The exposed-key set.
    let mut set;
    if !inv_args.exposed_keys.is_empty() {
        set = ExposedSet::new(Origin::Listed);
        for path in &inv_args.exposed_keys {
            let shown = if crate::input::is_stdin(path) {
                "(stdin)".to_owned()
            } else {
                path.display().to_string()
            };
            let read = if crate::input::is_stdin(path) {
                set.read_list(io::stdin().lock())
            } else {
                inventory::limits::open_regular(path)
                    .and_then(|f| set.read_list(BufReader::with_capacity(1 << 20, f)))
            };
            match read {
                Ok(bad) => {
                    for (line, reason) in bad {
                        let at = if line > 0 {
                            format!("line {line}: ")
                        } else {
                            String::new()
                        };
                        setup.error(shown.clone(), None, format!("exposed keys: {at}{reason}"));
                    }
                }
                Err(e) => setup.error(shown, None, format!("exposed keys: {}", describe_io(&e))),
            }
        }
    } else if cutoff.is_some() {
        set = ExposedSet::new(Origin::FirstPass);
        drive(&plan, &mut |batch: Vec<Unit>| {
            let found: Vec<Vec<Sha256>> = batch
                .into_par_iter()
                .map(|u| own_exposed_unit(u, &policy, &opts))
                .collect();
            for keys in found {
                set.add_upload(&keys);
            }
            Ok(())
        })?;
    } else {
        set = ExposedSet::new(Origin::None);
    }
    set.finish();

    if let Some(path) = &args.export_exposed_keys {
        let written = File::create(path).and_then(|f| {
            let mut w = io::BufWriter::new(f);
            writeln!(
                w,
                "# certsweep exposed public keys (SHA-256 of SubjectPublicKeyInfo)"
            )?;
            if let Some(c) = cutoff {
                writeln!(w, "# cutoff {}", timefmt::rfc3339(c))?;
            }
            set.write(&mut w)?;
            w.flush()
        });
        if let Err(e) = written {
            setup.error(
                path.display().to_string(),
                None,
                format!("cannot write exposed keys: {}", describe_io(&e)),
            );
        }
    }

    if args.exposed_keys_only {
        crate::report::messages::report_errors(&setup.errors);
        if ctx.wants_report() {
            let mut out = ctx.sink()?;
            set.write(&mut out)?;
            out.finish()?;
        }
        return Ok(ExitCode::of(!setup.errors.is_empty(), false));
    }

    let judge = Judge {
        policy: &policy,
        set: &set,
        opts,
        revocations: Revocations::default(),
        source_name: match set.origin {
            Origin::Listed => inv_args
                .exposed_keys
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            _ => "(stream first pass: keys exposed before the cutoff by other uploads)".into(),
        },
        write_records: !args.summary_only && ctx.wants_report(),
    };
    let mut total = Summary::default();
    // `-q`: no data on stdout (records nor summary), only the diagnostics on stderr; an
    // `--output` file is still written.
    let mut sink = if ctx.wants_report() {
        Some(ctx.sink()?)
    } else {
        None
    };
    let mut nowhere = io::sink();
    let mut out: &mut dyn Write = match &mut sink {
        Some(s) => s,
        None => &mut nowhere,
    };
    crate::report::messages::report_errors(&setup.errors);
    crate::report::messages::report_warnings(&setup.warnings);
    total.errors += count_paths(&setup.errors);
    total.warnings += count_paths(&setup.warnings);
    if judge.write_records {
        for (e, kind) in setup
            .warnings
            .iter()
            .map(|w| (w, "warning"))
            .chain(setup.errors.iter().map(|e| (e, "error")))
        {
            serde_json::to_writer(&mut out, &ErrorRecord::new(e, Some(kind)))
                .map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
    drive(&plan, &mut |batch: Vec<Unit>| {
        let judged: Vec<Judged> = batch.into_par_iter().map(|u| judge.unit(u)).collect();
        for j in judged {
            out.write_all(&j.out)?;
            if let Some(d) = &j.deferred {
                let report = ScanReport {
                    policy: &policy,
                    inventory: &d.inventory,
                    classified: &d.classified,
                    exposed_list: &d.list,
                };
                judge.render(&report, &mut *out)?;
            }
            crate::report::messages::report_errors(&j.errors);
            crate::report::messages::report_warnings(&j.warnings);
            add(&mut total, &j.summary);
        }
        Ok(())
    })?;
    total.action_required = total.needing_action > 0 || total.key_findings > 0;
    total.complete = total.errors == 0;
    let info = StreamInfo {
        mode: "stream",
        exposed_keys_from: match set.origin {
            Origin::None => "none",
            Origin::FirstPass => "first-pass",
            Origin::Listed => "exposed-keys",
        },
        exposed_keys: set.len(),
        reduced: REDUCED,
    };
    let line = StreamSummary {
        summary: &total,
        stream: info,
    };
    if json_summary {
        crate::report::write_summary_json(PolicyOut::from(&policy), &line, &mut out)?;
    } else {
        crate::report::write_ndjson_tail(&[], PolicyOut::from(&policy), &line, &mut out)?;
    }
    if let Some(s) = sink {
        s.finish()?;
    }
    drop(spool);
    Ok(ExitCode::of(!total.complete, total.action_required))
}

/// Copies stdin to a temporary file (0600, removed when dropped) for two passes. NDJSON is
/// copied whole (each line is one upload, capped when read); any other input is one upload,
/// so no more than `--max-input-size` (and one byte, to tell it was larger) is copied.
fn spool_stdin() -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::NamedTempFile::new()?;
    {
        let mut w = io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut stdin = io::stdin().lock();
        let limit = if ndjson_in::looks_like(stdin.fill_buf()?) {
            u64::MAX
        } else {
            inventory::limits::max_input().saturating_add(1)
        };
        io::copy(&mut io::Read::take(stdin, limit), &mut w)?;
        w.flush()?;
    }
    Ok(tmp)
}

/// Feeds the plan's units to `handle` in batches, in order.
fn drive(
    plan: &[Item],
    handle: &mut dyn FnMut(Vec<Unit>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut batch = Vec::new();
    // Bytes of input in the batch: its units are judged at once and held until written, so
    // a batch of large files is cut short (one 100,000-certificate file is about 70 MB).
    let mut batch_bytes = 0u64;
    for item in plan {
        match item {
            Item::Job(upload, body) => {
                batch_bytes += match body {
                    Body::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
                    Body::Inline(t) => t.len() as u64,
                    Body::Stdin => BATCH_BYTES,
                    Body::Line(..) | Body::Bad(_) => 0,
                };
                batch.push(Unit {
                    upload: upload.clone(),
                    body: body.clone(),
                });
                if batch.len() >= FILE_BATCH || batch_bytes >= BATCH_BYTES {
                    handle(std::mem::take(&mut batch))?;
                    batch_bytes = 0;
                }
            }
            Item::Ndjson { source, shown } => {
                let reader: Box<dyn BufRead> = match source {
                    Source::Stdin => Box::new(io::stdin().lock()),
                    Source::Path(p) => match inventory::limits::open_regular(p) {
                        Ok(f) => Box::new(BufReader::with_capacity(1 << 20, f)),
                        Err(e) => {
                            batch.push(Unit {
                                upload: Upload {
                                    path: shown.clone(),
                                    ..Upload::default()
                                },
                                body: Body::Bad(describe_io(&e)),
                            });
                            continue;
                        }
                    },
                };
                let mut lines = ndjson_in::Lines::new(reader, inventory::limits::max_input());
                let mut buf = Vec::new();
                loop {
                    let next = lines.next_line(&mut buf).map_err(|e| {
                        Error::Usage(format!("{shown}: cannot read: {}", describe_io(&e)))
                    })?;
                    let n = lines.number;
                    let body = match next {
                        None => break,
                        Some(ndjson_in::Next::Line(l)) if l.trim().is_empty() => continue,
                        Some(ndjson_in::Next::Line(l)) => {
                            batch_bytes += l.len() as u64;
                            Body::Line(l, n)
                        }
                        Some(ndjson_in::Next::TooLong) => {
                            Body::Bad(format!("line {n}: longer than --max-input-size; not read"))
                        }
                        Some(ndjson_in::Next::NotUtf8) => {
                            Body::Bad(format!("line {n}: not UTF-8 text"))
                        }
                    };
                    batch.push(Unit {
                        upload: Upload {
                            path: shown.clone(),
                            ..Upload::default()
                        },
                        body,
                    });
                    if batch.len() >= LINE_BATCH || batch_bytes >= BATCH_BYTES {
                        handle(std::mem::take(&mut batch))?;
                        batch_bytes = 0;
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        handle(batch)?;
    }
    Ok(())
}

/// Loads one unit into an inventory of its own (one upload).
fn load(unit: Unit, opts: &ReadOptions<'_>) -> Inventory {
    let mut inv = Inventory {
        uploads: 1,
        ..Inventory::default()
    };
    let Unit { mut upload, body } = unit;
    let read = |r: io::Result<Loaded>| r.unwrap_or_else(|e| loaded_error(describe_io(&e)));
    let loaded = match body {
        Body::File(p) => read(inventory::read_path(&p, opts)),
        Body::Inline(t) => read(inventory::read_input_with(Cursor::new(t.as_bytes()), opts)),
        Body::Stdin => read(inventory::read_input_with(io::stdin().lock(), opts)),
        Body::Bad(reason) => loaded_error(reason),
        Body::Line(text, n) => match ndjson_in::parse(&text) {
            Err((id, reason)) => {
                upload.manifest_id = id;
                loaded_error(format!("line {n}: {reason}"))
            }
            Ok(entry) => {
                upload.manifest_id = entry.id;
                if entry.uploaded_at.is_some() {
                    upload.uploaded_at = entry.uploaded_at;
                }
                upload.host = entry.host;
                upload.account = entry.account;
                match entry.body {
                    ndjson_in::Body::Der(der) => match cert::parse_der(&der) {
                        Ok(f) => {
                            let mut l = Loaded::default();
                            l.certs.push((1, Box::new(f)));
                            l
                        }
                        Err(e) => loaded_error(format!("line {n}: der_b64: {e}")),
                    },
                    ndjson_in::Body::Pem(pem) => {
                        let mut l = read(inventory::read_input_with(
                            Cursor::new(pem.as_bytes()),
                            opts,
                        ));
                        for (_, reason) in l.errors.iter_mut().chain(l.warnings.iter_mut()) {
                            *reason = format!("line {n}: {reason}");
                        }
                        l
                    }
                }
            }
        },
    };
    // The same absorption as the in-memory loader (certificates, keys, CSRs, notes).
    inventory::merge(&mut inv, vec![(Arc::new(upload), loaded)]);
    inv
}

fn loaded_error(reason: String) -> Loaded {
    let mut l = Loaded::default();
    l.errors.push((None, reason));
    l
}

/// The keys this upload exposes by itself (as the in-memory scan's exposers: leaf
/// certificates and private keys uploaded before the cutoff).
fn own_exposed(inv: &Inventory, policy: &Policy) -> Vec<Sha256> {
    if policy.cutoff.is_none() || (inv.certs.is_empty() && inv.keys.is_empty()) {
        return Vec::new();
    }
    let none = Revocations::default();
    classify::classify(inv, &none, &ExposedList::default(), policy).exposed_keys
}

/// First pass over one unit. An NDJSON line with DER uploaded on or after the cutoff is not
/// parsed; one before it is walked only as far as its public key.
fn own_exposed_unit(unit: Unit, policy: &Policy, opts: &ReadOptions<'_>) -> Vec<Sha256> {
    let Some(cutoff) = policy.cutoff else {
        return Vec::new();
    };
    if let Body::Line(text, _) = &unit.body {
        let Ok(entry) = ndjson_in::parse(text) else {
            return Vec::new();
        };
        let at = entry.uploaded_at.or(unit.upload.uploaded_at);
        if let (Some(t), ndjson_in::Body::Der(der)) = (at, &entry.body) {
            if t >= cutoff {
                return Vec::new();
            }
            if let Some(spki) = exposed::spki_of_cert(der) {
                return vec![spki];
            }
        }
    }
    own_exposed(&load(unit, opts), policy)
}

/// What a large unit's records are rendered from.
struct Deferred<'r> {
    inventory: Inventory,
    classified: classify::Classified<'r>,
    list: ExposedList,
}

impl Judge<'_> {
    fn unit(&self, unit: Unit) -> Judged<'_> {
        let inv = load(unit, &self.opts);
        let spkis: Vec<Sha256> = inv
            .certs
            .iter()
            .map(|c| c.facts.spki)
            .chain(inv.keys.iter().map(|k| k.spki))
            .chain(inv.public_keys.iter().map(|p| p.spki))
            .collect();
        let mut list = ExposedList {
            keys: HashMap::new(),
            sources: vec![self.source_name.clone()],
        };
        if spkis.iter().any(|k| self.set.contains(k)) {
            let own = if self.set.origin == Origin::FirstPass {
                own_exposed(&inv, self.policy)
            } else {
                Vec::new()
            };
            for k in &spkis {
                if self.set.elsewhere(k, own.contains(k)) {
                    list.keys.insert(*k, 0);
                }
            }
        }
        let classified = classify::classify(&inv, &self.revocations, &list, self.policy);
        let report = ScanReport {
            policy: self.policy,
            inventory: &inv,
            classified: &classified,
            exposed_list: &list,
        };
        let mut j = Judged {
            summary: report.summary(),
            ..Judged::default()
        };
        j.errors = inv.errors.clone();
        j.warnings = inv.warnings.clone();
        if self.write_records {
            if inv.certs.len() > RENDER_INLINE {
                j.deferred = Some(Box::new(Deferred {
                    inventory: inv,
                    classified,
                    list,
                }));
            } else {
                let _ = self.render(&report, &mut j.out);
            }
        }
        j
    }

    fn render(&self, report: &ScanReport<'_>, out: &mut dyn Write) -> io::Result<()> {
        for i in 0..report.inventory.certs.len() {
            let mut r = report.record(i);
            r.kind = Some("certificate");
            if r.role == Role::Chain {
                r.reasons
                    .push("stream mode: only this upload was searched for its private key".into());
            }
            serde_json::to_writer(&mut *out, &r).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        for mut f in report.key_findings() {
            f.kind = Some("key-finding");
            serde_json::to_writer(&mut *out, &f).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        for (e, kind) in report
            .inventory
            .warnings
            .iter()
            .map(|w| (w, "warning"))
            .chain(report.inventory.errors.iter().map(|e| (e, "error")))
        {
            serde_json::to_writer(&mut *out, &ErrorRecord::new(e, Some(kind)))
                .map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn count_paths(records: &[InputError]) -> usize {
    let mut paths: Vec<&str> = records.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    paths.len()
}

/// Adds one unit's counts to the total.
fn add(t: &mut Summary, s: &Summary) {
    t.certificates += s.certificates;
    t.private_keys += s.private_keys;
    t.public_keys += s.public_keys;
    t.uploads += s.uploads;
    t.errors += s.errors;
    t.warnings += s.warnings;
    t.key_findings += s.key_findings;
    t.exposed += s.exposed;
    t.key_reused += s.key_reused;
    t.unknown_upload += s.unknown_upload;
    t.expiring += s.expiring;
    t.revoked += s.revoked;
    t.expired += s.expired;
    t.not_affected += s.not_affected;
    t.valid += s.valid;
    t.needing_action += s.needing_action;
}
