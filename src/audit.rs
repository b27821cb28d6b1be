//! The inventory every command that judges certificates shares (`scan`, `csr`, `probe`,
//! `rotate init`): flags resolved into typed values, every input loaded, roots, exposed-key
//! lists and CRLs read; every failure an error record. No command calls another's code for it.

use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::cert::{CertFacts, Sha256};
use crate::classify::{ExposedList, Policy};
use crate::cli::InventoryArgs;
use crate::config::{self, parse_flag, Context};
use crate::error::Error;
use crate::inventory::{self, describe_io, Inventory, ReadOptions, Sources};
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
    crate::input::stdin_once(
        args.paths
            .iter()
            .map(|p| ("PATH", p.as_path()))
            .chain(args.manifest.iter().map(|p| ("--manifest", p.as_path())))
            .chain(
                args.exposed_keys
                    .iter()
                    .map(|p| ("--exposed-keys", p.as_path())),
            )
            .chain(args.crl.iter().map(|p| ("--crl", p.as_path()))),
    )
    .map_err(Error::Usage)?;
    let p12_password =
        config::p12_password(args.p12_password_file.as_ref(), args.p12_password.as_ref())?;
    let key_passphrase = config::key_passphrase(args.key_passphrase_file.as_ref())?;

    // `--online` needs each certificate's DER (and its issuer's) to ask OCSP.
    let keep_der = keep_der || args.online;
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
    let (roots, roots_der) = load_roots(&args.roots, p12_password.as_ref(), &mut inv);
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
    let mut revocations = revocations;
    if args.online {
        check_online(
            &mut inv,
            &roots_der,
            &mut revocations,
            ctx,
            args.online_timeout,
        );
    }

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

fn load_roots(
    paths: &[PathBuf],
    p12_password: Option<&Zeroizing<Vec<u8>>>,
    inv: &mut Inventory,
) -> (Vec<CertFacts>, Vec<Vec<u8>>) {
    let opts = ReadOptions {
        p12_password,
        keep_der: true,
        ..ReadOptions::default()
    };
    let (mut roots, mut ders) = (Vec::new(), Vec::new());
    for path in paths {
        let shown = path.display().to_string();
        match inventory::limits::open_regular(path)
            .and_then(|f| inventory::read_input_with(BufReader::new(f), &opts))
        {
            Ok(loaded) => {
                roots.extend(loaded.certs.into_iter().map(|(_, f)| *f));
                ders.extend(loaded.ders);
                for (index, reason) in loaded.errors {
                    inv.error(shown.clone(), index, format!("--roots: {reason}"));
                }
            }
            Err(e) => inv.error(shown, None, format!("--roots: {}", describe_io(&e))),
        }
    }
    (roots, ders)
}

/// `--online`: asks the OCSP responder of every certificate still valid at `now` whose
/// issuing CA is known (in the inventory or `--roots`); a revoked answer joins the CRL
/// revocations (status `revoked`), an unanswered question is an error record (the audit is
/// incomplete), a certificate with no http:// OCSP URL or no known issuer is left as it is.
fn check_online(
    inv: &mut Inventory,
    roots_der: &[Vec<u8>],
    revocations: &mut crl::Revocations,
    ctx: &Context,
    timeout_secs: u64,
) {
    use rayon::prelude::*;

    use crate::probe::ocsp::{self, RevocationStatus};
    let timeout = std::time::Duration::from_secs(timeout_secs.max(1));
    // Issuers by subject name digest: CA certificates of the inventory, then the roots.
    let mut issuers: std::collections::HashMap<Sha256, &[u8]> = std::collections::HashMap::new();
    for c in &inv.certs {
        if let (true, Some(der)) = (c.facts.is_ca, c.der.as_deref()) {
            issuers.entry(c.facts.subject_id).or_insert(der);
        }
    }
    for der in roots_der {
        if let Ok(f) = crate::cert::parse_der(der) {
            issuers.entry(f.subject_id).or_insert(der.as_slice());
        }
    }
    let answers: Vec<(usize, ocsp::Revocation)> = inv
        .certs
        .par_iter()
        .enumerate()
        .filter(|(_, c)| c.facts.not_after >= ctx.now)
        .filter_map(|(i, c)| {
            let der = c.der.as_deref()?;
            let issuer = issuers.get(&c.facts.issuer_id)?;
            Some((i, ocsp::check(der, Some(issuer), &[], ctx.now, timeout)))
        })
        .collect();
    for (i, answer) in answers {
        let c = &inv.certs[i];
        match answer.status {
            RevocationStatus::Revoked => revocations.add(
                c.facts.issuer_id,
                c.facts.serial.clone(),
                crl::Revocation {
                    crl_path: format!(
                        "OCSP {}",
                        answer.responder.as_deref().unwrap_or("responder")
                    ),
                    crl_issuer: c.facts.issuer.to_string(),
                    reason: answer.reason,
                    revoked_at: answer
                        .revoked_at
                        .as_deref()
                        .and_then(|t| timefmt::parse(t).ok()),
                    crl_number: None,
                },
            ),
            RevocationStatus::Error => {
                let (path, index) = (c.upload.path.clone(), Some(c.index));
                inv.error(
                    path,
                    index,
                    format!(
                        "--online: the OCSP question about {} could not be answered: {}",
                        c.facts.subject,
                        answer.detail.as_deref().unwrap_or("no answer")
                    ),
                );
            }
            _ => {}
        }
    }
}

/// Reads `--exposed-keys` files: one SHA-256 hex digest per line, `#` comments allowed.
fn read_exposed_lists(paths: &[PathBuf], inv: &mut Inventory) -> ExposedList {
    let mut list = ExposedList::default();
    for path in paths {
        let shown = if crate::input::is_stdin(path) {
            "(stdin)".to_owned()
        } else {
            path.display().to_string()
        };
        // `-` reads the list from stdin (e.g. piped from another team's run).
        let file: Box<dyn BufRead> = if crate::input::is_stdin(path) {
            Box::new(io::stdin().lock())
        } else {
            match inventory::limits::open_regular(path) {
                Ok(f) => Box::new(BufReader::new(f)),
                Err(e) => {
                    inv.error(shown, None, format!("exposed keys: {}", describe_io(&e)));
                    continue;
                }
            }
        };
        let source = list.sources.len();
        list.sources.push(shown.clone());
        // At most MAX_SIDE_FILE bytes, lines of at most MAX_LINE, and a dozen records for a
        // million bad lines; a list cut short says so (keys missing from it would hide
        // exposed certificates).
        let mut file = inventory::limits::Capped::new(file, inventory::limits::MAX_SIDE_FILE);
        let mut tally = inventory::limits::Tally::default();
        let mut line = Vec::new();
        let mut n = 0;
        let mut problem = |inv: &mut Inventory, reason: String| {
            if tally.keep(&reason) {
                inv.error(shown.clone(), None, reason);
            }
        };
        loop {
            let too_long = match inventory::limits::next_line(&mut file, &mut line) {
                Ok(None) => break,
                Ok(Some(too_long)) => too_long,
                Err(e) => {
                    problem(inv, format!("exposed keys: line {}: {e}", n + 1));
                    break;
                }
            };
            n += 1;
            if too_long {
                problem(
                    inv,
                    format!(
                        "exposed keys: line {n} is longer than the limit of {} for one line; \
                         not read",
                        inventory::limits::show_size(inventory::limits::MAX_LINE as u64)
                    ),
                );
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let token = exposed_key_token(&text);
            let Some(token) = token else { continue };
            match Sha256::parse_hex(token) {
                Some(d) => {
                    list.keys.entry(d).or_insert(source);
                }
                None => problem(
                    inv,
                    format!("exposed keys: line {n}: not a SHA-256 hex digest"),
                ),
            }
        }
        for summary in tally.summaries() {
            inv.error(shown.clone(), None, summary);
        }
        if file.hit {
            inv.error(
                shown.clone(),
                None,
                format!(
                    "exposed keys: only the first {} were read (the limit for one list); split \
                     the list into several files, each given with --exposed-keys",
                    inventory::limits::show_size(inventory::limits::MAX_SIDE_FILE)
                ),
            );
        }
    }
    list
}

/// The key digest on a line of an exposed-keys list: its first word, before any `#` comment.
pub(crate) fn exposed_key_token(line: &str) -> Option<&str> {
    line.split('#')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
}
