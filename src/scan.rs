//! `certsweep scan`: load the inventory, check CRLs, classify, report.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::cert::{CertFacts, Sha256};
use crate::classify::{self, ExposedList, Policy};
use crate::cli::{InventoryArgs, ScanArgs};
use crate::config::{self, parse_flag, Context};
use crate::error::{Error, ExitCode};
use crate::inventory::{self, describe_io, InputError, Inventory, ReadOptions, Sources};
use crate::report::{self, ScanReport};
use crate::{crl, timefmt};

/// The loaded and checked inventory, ready to classify.
pub struct Prepared {
    pub inventory: Inventory,
    pub exposed_list: ExposedList,
    pub revocations: crl::Revocations,
    pub policy: Policy,
    /// The PKCS#12 password, for commands that read more files (`csr --cert`).
    pub p12_password: Option<Zeroizing<Vec<u8>>>,
    /// The passphrase for encrypted keys (`csr --cert` files).
    pub key_passphrase: Option<Zeroizing<Vec<u8>>>,
}

/// Loads every input of `args` (keeping each certificate's DER if asked), the roots, the
/// exposed-keys lists and the CRLs; every failure is an error record in the inventory.
pub fn prepare(
    args: &InventoryArgs,
    ctx: &Context,
    expiring_within_days: i64,
    keep_der: bool,
) -> Result<Prepared, Error> {
    let cutoff = args
        .cutoff
        .as_deref()
        .map(|t| parse_flag("--cutoff", t))
        .transpose()?;
    if let Some(c) = cutoff {
        if c > ctx.now && !args.allow_future_cutoff {
            return Err(Error::Usage(format!(
                "--cutoff {} is later than now ({}): nothing can have been uploaded after now, \
                 so this is probably a typo; check the date, give --now, or pass \
                 --allow-future-cutoff if it is meant",
                timefmt::rfc3339(c),
                timefmt::rfc3339(ctx.now)
            )));
        }
    }
    let uploaded_at = args
        .uploaded_at
        .as_deref()
        .map(|t| parse_flag("--uploaded-at", t))
        .transpose()?;
    let stdin_uses = args.paths.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_uses > 1 {
        return Err(Error::Usage("'-' (stdin) can be given only once".into()));
    }
    let p12_password =
        config::p12_password(args.p12_password_file.as_ref(), args.p12_password.as_ref())?;
    let key_passphrase = config::key_passphrase(args.key_passphrase_file.as_ref())?;

    let mut inv = inventory::load(&Sources {
        paths: &args.paths,
        manifests: &args.manifest,
        uploaded_at,
        skip: args.manifest.clone(),
        keep_der,
        p12_password: p12_password.as_ref(),
        key_passphrase: key_passphrase.as_ref(),
        confined_paths: args.confined_paths,
    });
    let roots = load_roots(&args.roots, p12_password.as_ref(), &mut inv);
    let exposed_list = read_exposed_lists(&args.exposed_keys, &mut inv);
    let mut crl_errors = Vec::new();
    let revocations = {
        let issuers: Vec<&CertFacts> = inv
            .certs
            .iter()
            .map(|c| &*c.facts)
            .chain(roots.iter())
            .filter(|f| f.is_ca)
            .collect();
        crl::load(&args.crl, &issuers, &mut crl_errors)
    };
    inv.errors.extend(crl_errors);

    let policy = Policy {
        now: ctx.now,
        cutoff,
        unknown_upload: args.unknown_upload,
        expiring_within_days,
        ignore_expired: false,
    };
    Ok(Prepared {
        inventory: inv,
        exposed_list,
        revocations,
        policy,
        p12_password,
        key_passphrase,
    })
}

pub fn run(args: &ScanArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let inv_args = &args.inventory;
    if inv_args.paths.is_empty() && inv_args.manifest.is_empty() {
        return Err(Error::Usage(
            "nothing to scan: give PATHs (files or directories, - for stdin) or --manifest FILE"
                .into(),
        ));
    }
    if args.export_exposed_keys.is_some() && inv_args.cutoff.is_none() {
        return Err(Error::Usage("--export-exposed-keys needs --cutoff".into()));
    }
    let Prepared {
        inventory: mut inv,
        exposed_list,
        revocations,
        mut policy,
        ..
    } = prepare(inv_args, ctx, i64::from(args.expiring_within), false)?;
    policy.ignore_expired = args.ignore_expired;
    let classified = classify::classify(&inv, &revocations, &exposed_list, &policy);
    if let Some(path) = &args.export_exposed_keys {
        if let Err(e) = export_keys(path, &classified.exposed_keys, &policy) {
            inv.error(
                path.display().to_string(),
                None,
                format!("cannot write exposed keys: {e}"),
            );
        }
    }

    let report = ScanReport {
        policy: &policy,
        inventory: &inv,
        classified: &classified,
        exposed_list: &exposed_list,
    };
    report_errors(&inv.errors);
    report_warnings(&inv.warnings);
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        report::write_scan(&report, ctx.format, &ctx.style, &mut out)?;
        out.finish()?;
    }
    let summary = report.summary();
    let incomplete = !inv.errors.is_empty();
    // `scan` is the last thing the process does: freeing 100,000 records one allocation at a
    // time measured ~5% of a large scan, so that memory is left to the OS at exit.
    std::mem::forget(classified);
    std::mem::forget(inv);
    Ok(ExitCode::of(incomplete, summary.action_required))
}

/// Every input error, once, on stderr (escaped: file names and reasons may hold anything).
pub fn report_errors(errors: &[InputError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for e in errors {
        let _ = writeln!(
            err,
            "certsweep: error: {}",
            crate::sanitize::escape(&e.to_string())
        );
    }
}

/// Every input warning, once, on stderr (escaped).
pub fn report_warnings(warnings: &[InputError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for w in warnings {
        let _ = writeln!(
            err,
            "certsweep: warning: {}",
            crate::sanitize::escape(&w.to_string())
        );
    }
}

fn load_roots(
    paths: &[PathBuf],
    p12_password: Option<&Zeroizing<Vec<u8>>>,
    inv: &mut Inventory,
) -> Vec<CertFacts> {
    let opts = ReadOptions {
        p12_password,
        ..ReadOptions::default()
    };
    let mut roots = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        match inventory::limits::open_regular(path)
            .and_then(|f| inventory::read_input_with(BufReader::new(f), &opts))
        {
            Ok(loaded) => {
                roots.extend(loaded.certs.into_iter().map(|(_, f)| *f));
                for (index, reason) in loaded.errors {
                    inv.error(shown.clone(), index, format!("--roots: {reason}"));
                }
            }
            Err(e) => inv.error(shown, None, format!("--roots: {}", describe_io(&e))),
        }
    }
    roots
}

/// Reads `--exposed-keys` files: one SHA-256 hex digest per line, `#` comments allowed.
fn read_exposed_lists(paths: &[PathBuf], inv: &mut Inventory) -> ExposedList {
    let mut list = ExposedList::default();
    for path in paths {
        let shown = path.display().to_string();
        let file = match inventory::limits::open_regular(path) {
            Ok(f) => std::io::Read::take(f, inventory::limits::MAX_SIDE_FILE),
            Err(e) => {
                inv.error(shown, None, format!("exposed keys: {}", describe_io(&e)));
                continue;
            }
        };
        let source = list.sources.len();
        list.sources.push(shown.clone());
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    inv.error(
                        shown.clone(),
                        None,
                        format!("exposed keys: line {}: {e}", n + 1),
                    );
                    break;
                }
            };
            let token = line
                .split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            let Some(token) = token else { continue };
            match Sha256::parse_hex(token) {
                Some(d) => {
                    list.keys.entry(d).or_insert(source);
                }
                None => inv.error(
                    shown.clone(),
                    None,
                    format!("exposed keys: line {}: not a SHA-256 hex digest", n + 1),
                ),
            }
        }
    }
    list
}

fn export_keys(path: &Path, keys: &[Sha256], policy: &Policy) -> io::Result<()> {
    let mut out = io::BufWriter::new(File::create(path)?);
    writeln!(
        out,
        "# certsweep exposed public keys (SHA-256 of SubjectPublicKeyInfo)"
    )?;
    if let Some(c) = policy.cutoff {
        writeln!(out, "# cutoff {}", timefmt::rfc3339(c))?;
    }
    for k in keys {
        writeln!(out, "{k}")?;
    }
    out.flush()
}
