//! `certsweep rotate`: walks each exposed certificate through
//! planned → csr-generated → issued → uploaded → verified → revoked → done,
//! enforcing the safe order (upload and verify the new one before revoking the old one).

mod acme;
mod checks;
mod issue;
mod jws;
mod next;
pub mod plan;
mod recover;
pub mod report;
pub mod state;
mod walk;

#[doc(hidden)]
pub use acme::fuzz_ca_answer;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cert::Sha256;
use crate::classify::{self, Action};
use crate::cli::{EndpointArgs, InventoryArgs, RotateArgs, RotateCommand, RotateCsrArgs};
use crate::config::Context;
use crate::csr::{self, targets::OldRef, PlanOptions};
use crate::error::{Error, ExitCode};
use crate::inventory::{self, describe_io, InputError};
use crate::report::Format;
use crate::{crl, timefmt};
use plan::{Applied, Event};
use state::{
    CrlEvidence, CsrRecord, IssuedRecord, Item, OldCert, State, StatePolicy, Step, UploadRecord,
};

pub fn run(args: &RotateArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let steps = !matches!(
        args.command,
        RotateCommand::Status | RotateCommand::Next { .. } | RotateCommand::Walk { .. }
    );
    if steps && ctx.format != Format::Table {
        return step_as_data(args, ctx);
    }
    run_command(args, ctx)
}

/// A step (`init`, `csr`, `import`, …) with `--format json|ndjson|csv`: the command runs as
/// usual with its lines silenced, then what it changed is reported as data (every item whose
/// step moved, from and to), read from the plan before and after.
fn step_as_data(args: &RotateArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let before = report::snapshot(state::load(&args.state).ok().flatten().as_ref());
    let quiet = Context {
        quiet: true,
        output: None,
        ..ctx.clone()
    };
    let (code, notes) = match &args.command {
        RotateCommand::Issue(a) => issue::issue_noted(args, a, &quiet)?,
        _ => (run_command(args, &quiet)?, Vec::new()),
    };
    let Some(after) = state::load(&args.state)? else {
        return Ok(code);
    };
    let mut changes = report::changes(&before, &after);
    for (id, note) in notes {
        if let Some(change) = changes.iter_mut().find(|c| c.id == id) {
            change.notes.push(note);
        }
    }
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        report::write_step(
            ctx.format,
            rotate_command_name(&args.command),
            &after,
            &args.state,
            &changes,
            code as i32,
            &mut out,
        )?;
        out.finish()?;
    }
    Ok(code)
}

fn rotate_command_name(c: &RotateCommand) -> &'static str {
    match c {
        RotateCommand::Init(_) => "init",
        RotateCommand::Status => "status",
        RotateCommand::Next { .. } => "next",
        RotateCommand::Csr(_) => "csr",
        RotateCommand::Import { .. } => "import",
        RotateCommand::Uploaded(_) => "uploaded",
        RotateCommand::Verify(_) => "verify",
        RotateCommand::Revoked { .. } => "revoked",
        RotateCommand::Walk { .. } => "walk",
        RotateCommand::Issue(_) => "issue",
        RotateCommand::Revoke(_) => "revoke",
    }
}

fn run_command(args: &RotateArgs, ctx: &Context) -> Result<ExitCode, Error> {
    match &args.command {
        RotateCommand::Init(inv) => init(args, inv, ctx),
        RotateCommand::Status => status(args, ctx),
        RotateCommand::Next {
            compromised_at,
            acme_directory,
        } => next::run(
            args,
            ctx,
            compromised_at.as_deref(),
            acme_directory.as_deref(),
        ),
        RotateCommand::Csr(a) => csr_step(args, a, ctx),
        RotateCommand::Import {
            item,
            cert,
            chain,
            roots,
        } => import(args, ctx, item, cert, chain, roots),
        RotateCommand::Uploaded(e) => uploaded(args, ctx, e, false),
        RotateCommand::Verify(e) => uploaded(args, ctx, e, true),
        RotateCommand::Revoked {
            item,
            crl,
            issuer,
            ocsp,
            ocsp_timeout,
            force,
            reason,
        } => {
            let confirm = match (ocsp, crl.is_empty()) {
                (true, _) => Confirm::Ocsp(Duration::from_secs((*ocsp_timeout).max(1))),
                (false, false) => Confirm::Crl(crl),
                (false, true) => Confirm::Nothing,
            };
            revoked(args, ctx, item, confirm, issuer, *force, reason.as_deref())
        }
        RotateCommand::Walk { roots, acme } => walk::run(args, ctx, roots, acme),
        RotateCommand::Issue(a) => issue::issue(args, a, ctx),
        RotateCommand::Revoke(a) => issue::revoke(args, a, ctx),
    }
}

/// Who did it, for the history: `$USER`, else "unknown".
fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs `change` on the plan under the lock and saves it if anything changed.
fn with_plan<T>(
    args: &RotateArgs,
    change: impl FnOnce(&mut State) -> Result<(T, bool), Error>,
) -> Result<T, Error> {
    let _lock = state::lock(&args.state, Duration::from_secs(args.lock_timeout))?;
    let mut plan = state::load(&args.state)?.ok_or_else(|| no_plan(&args.state))?;
    let (out, changed) = change(&mut plan)?;
    if changed {
        state::save(&args.state, &plan)?;
    }
    Ok(out)
}

fn no_plan(path: &Path) -> Error {
    Error::State(format!(
        "no rotation plan at {}: run `certsweep rotate init --manifest ... --cutoff DATE` first",
        path.display()
    ))
}

/// Applies one event to one item and says what happened, on stdout.
/// `make` sees the item and the plan's exposed keys, and returns the event (or a refusal).
fn step_item(
    args: &RotateArgs,
    ctx: &Context,
    id: &str,
    make: impl FnOnce(&Item, &HashSet<String>) -> Result<Event, Error>,
) -> Result<ExitCode, Error> {
    let at = timefmt::rfc3339(ctx.now);
    let (item_id, applied) = with_plan(args, |plan| {
        let exposed: HashSet<String> = plan.exposed_keys.iter().cloned().collect();
        let item = plan.item_mut(id)?;
        let event = make(item, &exposed)?;
        let applied = plan::apply(item, event, &at, &actor()).map_err(Error::Refused)?;
        let changed = matches!(applied, Applied::Changed { .. });
        Ok(((item.id.clone(), applied), changed))
    })?;
    say(ctx, &[describe(&item_id, applied)])?;
    Ok(ExitCode::Clean)
}

/// What a step did, for people: to stdout or `--output` (nothing with `-q`).
pub(super) fn say(ctx: &Context, lines: &[String]) -> Result<(), Error> {
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.finish()?;
    }
    Ok(())
}

/// "ID: from -> to" or "ID: unchanged (why)".
fn describe(id: &str, applied: Applied) -> String {
    match applied {
        Applied::Changed { from, to } => format!("{id}: {} -> {}", from.as_str(), to.as_str()),
        Applied::Unchanged(why) => format!("{id}: unchanged ({why})"),
    }
}

fn init(args: &RotateArgs, inv_args: &InventoryArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if inv_args.cutoff.is_none() {
        return Err(Error::Usage("rotate init needs --cutoff DATE".into()));
    }
    if inv_args.paths.is_empty() && inv_args.manifest.is_empty() {
        return Err(Error::Usage(
            "rotate init needs PATHs or --manifest FILE".into(),
        ));
    }
    let prepared = crate::audit::prepare(inv_args, ctx, 30, true)?;
    let classified = classify::classify(
        &prepared.inventory,
        &prepared.revocations,
        &prepared.exposed_list,
        &prepared.policy,
    );
    let cutoff = timefmt::rfc3339(prepared.policy.cutoff.unwrap_or(ctx.now));
    let mut exposed: Vec<String> = classified
        .exposed_keys
        .iter()
        .map(Sha256::to_string)
        .collect();
    let mut candidates = Vec::new();
    let mut undated = Vec::new();
    for (entry, v) in prepared.inventory.certs.iter().zip(&classified.verdicts) {
        if v.status == classify::Status::UnknownUpload {
            undated.push(format!(
                "{}#{} ({})",
                entry.upload.path, entry.index, entry.facts.subject
            ));
        }
        if v.action != Action::Replace {
            continue;
        }
        let Some(der) = &entry.der else { continue };
        candidates.push((entry, v.status.as_str(), der));
    }
    // Certificates issued before the cutoff without an upload date cannot be judged: they are
    // not planned, and the run says so (exit 1), as `scan` does; never a quiet "0 new items".
    let undated_notice = (!undated.is_empty()).then(|| {
        format!(
            "{} certificate(s) issued before the cutoff have no upload date, so they were not planned: {}; give their upload dates in a manifest (uploaded_at) or with --uploaded-at DATE, or treat them as exposed with --unknown-upload exposed",
            undated.len(),
            undated.join(", ")
        )
    });
    let _lock = state::lock(&args.state, Duration::from_secs(args.lock_timeout))?;
    let existing = state::load(&args.state)?;
    if let (None, true, Some(notice)) = (&existing, candidates.is_empty(), &undated_notice) {
        crate::report::messages::report_errors(&prepared.inventory.errors);
        eprintln!("certsweep: {}", crate::sanitize::escape(notice));
        eprintln!(
            "certsweep: nothing to plan, so no plan was written to {}",
            args.state.display()
        );
        return Ok(ExitCode::of(!prepared.inventory.errors.is_empty(), true));
    }
    let mut plan = match existing {
        Some(existing) => {
            if existing.policy.cutoff != cutoff {
                return Err(Error::Refused(format!(
                    "the plan {} was made with cutoff {}, not {cutoff}; use another --state file",
                    args.state.display(),
                    existing.policy.cutoff
                )));
            }
            existing
        }
        None => State {
            schema_version: state::STATE_SCHEMA_VERSION,
            policy: StatePolicy {
                cutoff: cutoff.clone(),
                unknown_upload: prepared.policy.unknown_upload,
            },
            created_at: timefmt::rfc3339(ctx.now),
            exposed_keys: Vec::new(),
            items: Vec::new(),
        },
    };
    let known: HashSet<String> = plan
        .items
        .iter()
        .map(|i| i.old.fingerprint_sha256.clone())
        .collect();
    let mut added = 0;
    for (entry, status, der) in candidates {
        let f = &entry.facts;
        let fp = f.fingerprint.to_string();
        if known.contains(&fp) {
            continue;
        }
        let name = entry
            .upload
            .host
            .clone()
            .or_else(|| f.dns_names.first().cloned())
            .unwrap_or_else(|| f.subject.clone());
        // The plan keeps every name the replacement must cover, past what a scan lists.
        let (dns_names, ip_addresses) = match f.omitted_sans {
            0 => None,
            _ => crate::cert::all_names(der),
        }
        .unwrap_or_else(|| (f.dns_names.clone(), f.ip_addresses.clone()));
        let mut id = format!("{}-{}", csr::safe_name(&name), &fp[..6]);
        if plan.items.iter().any(|i| i.id == id) {
            id = format!("{}-{}", csr::safe_name(&name), &fp[..12]);
        }
        plan.items.push(Item {
            id,
            step: Step::Planned,
            host: entry.upload.host.clone(),
            manifest_id: entry.upload.manifest_id.clone(),
            old: OldCert {
                status: status.to_owned(),
                source_path: entry.upload.path.clone(),
                source_index: entry.index,
                fingerprint_sha256: fp,
                spki_sha256: f.spki.to_string(),
                serial: f.serial.clone(),
                subject: f.subject.clone(),
                issuer: f.issuer.to_string(),
                issuer_name_sha256: f.issuer_id.to_string(),
                dns_names,
                ip_addresses,
                not_after: timefmt::rfc3339(f.not_after),
                pem: csr::keyfile::pem("CERTIFICATE", der),
            },
            csr: None,
            issued: None,
            upload: None,
            verification: None,
            revocation: None,
            history: Vec::new(),
            csr_intent: None,
            acme_intent: None,
        });
        added += 1;
    }
    exposed.append(&mut plan.exposed_keys);
    exposed.sort();
    exposed.dedup();
    plan.exposed_keys = exposed;
    state::save(&args.state, &plan)?;
    crate::report::messages::report_warnings(&prepared.inventory.warnings);
    crate::report::messages::report_errors(&prepared.inventory.errors);
    say(
        ctx,
        &[format!(
            "{added} new item(s), {} already planned, in {}. Next: certsweep rotate next --state {}",
            plan.items.len() - added,
            args.state.display(),
            args.state.display()
        )],
    )?;
    if let Some(notice) = &undated_notice {
        eprintln!("certsweep: {}", crate::sanitize::escape(notice));
    }
    Ok(ExitCode::of(
        !prepared.inventory.errors.is_empty(),
        undated_notice.is_some(),
    ))
}

fn status(args: &RotateArgs, ctx: &Context) -> Result<ExitCode, Error> {
    let plan = state::load(&args.state)?.ok_or_else(|| no_plan(&args.state))?;
    let rows: Vec<next::StatusRow> = plan
        .items
        .iter()
        .map(|i| next::status_row(i, &args.state, &plan.created_at, ctx.now))
        .collect();
    if ctx.wants_report() {
        next::print_status(&plan, &args.state, &rows, ctx)?;
    }
    let all_done = plan.items.iter().all(|i| i.step == Step::Done);
    Ok(if all_done {
        ExitCode::Clean
    } else {
        ExitCode::ActionRequired
    })
}

fn csr_step(args: &RotateArgs, a: &RotateCsrArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if a.item.is_none() && !a.all {
        return Err(Error::Usage("which item? give ITEM or --all".into()));
    }
    let passphrase = if a.encrypt_key {
        Some(csr::read_passphrase_from(a.passphrase_file.as_deref())?)
    } else {
        None
    };
    let out_dir = a
        .out_dir
        .clone()
        .unwrap_or_else(|| plan_dir(&args.state).join("rotation-csrs"));
    let at = timefmt::rfc3339(ctx.now);
    let report = with_plan(args, |plan| {
        let wanted: Vec<usize> = match &a.item {
            Some(id) => {
                let item = plan.item_mut(id)?;
                let id = item.id.clone();
                if item.step != Step::Planned {
                    return Ok((vec![format!("{id}: unchanged (already has a CSR)")], false));
                }
                plan.items
                    .iter()
                    .position(|i| i.id == id)
                    .into_iter()
                    .collect()
            }
            None => plan
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.step == Step::Planned)
                .map(|(n, _)| n)
                .collect(),
        };
        if wanted.is_empty() {
            return Ok((vec!["no item is waiting for a CSR".into()], false));
        }
        let mut targets = Vec::new();
        for &n in &wanted {
            let item = &plan.items[n];
            let der = pem_der(&item.old.pem).ok_or_else(|| {
                Error::State(format!(
                    "item {}: its stored certificate is unreadable",
                    item.id
                ))
            })?;
            let old = OldRef {
                path: item.old.source_path.clone(),
                index: item.old.source_index,
                manifest_id: Some(item.id.clone()),
                host: item.host.clone(),
                fingerprint: Sha256::parse_hex(&item.old.fingerprint_sha256)
                    .unwrap_or(Sha256([0; 32])),
                spki: Sha256::parse_hex(&item.old.spki_sha256).unwrap_or(Sha256([0; 32])),
                subject: item.old.subject.clone(),
            };
            targets.push(
                csr::targets::target_from_der(&der, old)
                    .map_err(|e| Error::State(format!("item {}: {e}", item.id)))?,
            );
        }
        // A certificate csr refuses (a CN that names no host, no SAN) keeps its item planned,
        // with the reason; the other items go on.
        let (plans, refused): (Vec<_>, Vec<_>) = csr::plan(
            targets,
            &PlanOptions {
                out_dir: &out_dir,
                add_dns: &[],
                drop_dns: &[],
                subject_override: None,
            },
        )
        .into_iter()
        .partition(|p| p.refused.is_none());
        // Files an interrupted run left at an item's paths: adopted if they are the intent
        // it recorded, else moved aside (never overwritten, never deleted).
        let mut lines = Vec::new();
        let mut changed = false;
        let mut fresh = Vec::with_capacity(plans.len());
        for p in plans {
            let Some(id) = p.target.old.manifest_id.clone() else {
                fresh.push(p);
                continue;
            };
            let item = plan.item_mut(&id)?;
            let had_intent = item.csr_intent.is_some();
            match recover::recover(
                item,
                &p.key_path,
                &p.csr_path,
                |path| stored_path(&args.state, path),
                passphrase.as_ref(),
                &at,
                &actor(),
            )? {
                recover::Recovered::Adopted(line) => {
                    lines.push(line);
                    changed = true;
                }
                recover::Recovered::Fresh(notes) => {
                    changed |= had_intent || !notes.is_empty();
                    lines.extend(notes);
                    fresh.push(p);
                }
            }
        }
        let plans = fresh;
        if plans.is_empty() && refused.is_empty() {
            return Ok((lines, changed));
        }
        let mut errors: Vec<InputError> = refused
            .into_iter()
            .map(|p| InputError {
                path: p.target.old.path.clone(),
                index: Some(p.target.old.index),
                reason: format!(
                    "item {}: no CSR: {}; rotate csr cannot name a host for it: make its CSR with `certsweep csr --cert FILE --add-dns HOST` and replace it outside the walk",
                    p.target.old.manifest_id.as_deref().unwrap_or("?"),
                    p.refused.unwrap_or_default()
                ),
            })
            .collect();
        let existing = csr::existing_outputs(&out_dir, &plans);
        if !existing.is_empty() {
            return Err(Error::Refused(format!(
                "refusing to overwrite existing file(s): {}; nothing was written",
                existing.join(", ")
            )));
        }
        let made = csr::make_all(
            plans,
            a.key_type,
            passphrase.as_ref().map(|p| p.as_slice()),
            ctx,
        )?;
        let exposed: HashSet<Sha256> = plan
            .exposed_keys
            .iter()
            .filter_map(|k| Sha256::parse_hex(k))
            .collect();
        if let Some(m) = made
            .iter()
            .find(|m| csr::key_is_known(&m.new_spki, &m.plan.target.old.spki, &exposed))
        {
            return Err(Error::Refused(format!(
                "refusing: the new key for {} matches an exposed key; nothing was written",
                m.plan.name
            )));
        }
        let record = |m: &csr::Made| CsrRecord {
            csr_path: stored_path(&args.state, &m.plan.csr_path),
            key_path: stored_path(&args.state, &m.plan.key_path),
            key_type: a.key_type.name().to_owned(),
            new_spki_sha256: m.new_spki.to_string(),
            subject: m.plan.subject.clone(),
            sans: m.plan.sans.iter().map(ToString::to_string).collect(),
        };
        // The intent goes to disk before any key file: a kill from here on leaves files the
        // next run recognises.
        for m in &made {
            if let Some(id) = &m.plan.target.old.manifest_id {
                recover::record_intent(plan.item_mut(id)?, record(m));
            }
        }
        if !made.is_empty() {
            state::save(&args.state, plan)?;
        }
        let written = csr::output::write_all(&out_dir, &made, &mut errors);
        for (m, ok) in made.iter().zip(written) {
            let Some(id) = &m.plan.target.old.manifest_id else {
                continue;
            };
            if !ok {
                continue;
            }
            let item = plan.item_mut(id)?;
            item.csr_intent = None;
            let event = Event::CsrGenerated(record(m));
            plan::apply(item, event, &at, &actor()).map_err(Error::Refused)?;
            changed = true;
            lines.push(format!(
                "{id}: planned -> csr-generated ({}, key {} mode 0600)",
                m.plan.csr_path.display(),
                m.plan.key_path.display()
            ));
        }
        for e in &errors {
            lines.push(format!("error: {e}"));
        }
        if !errors.is_empty() {
            // Items whose files were written are saved; the rest stay planned.
            lines.push("some items got no CSR; they stay planned".into());
        }
        Ok((lines, changed))
    })?;
    say(ctx, &report)?;
    let failed = report.iter().any(|l| l.starts_with("error: "));
    Ok(ExitCode::of(failed, false))
}

/// The folder of the plan file: paths in the plan are relative to it.
fn plan_dir(state: &Path) -> &Path {
    state
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `path` (as given, from the current folder) as it is stored in the plan: relative to the
/// plan's folder, so the plan works from any folder. Absolute if they share nothing.
fn stored_path(state: &Path, path: &Path) -> String {
    let real = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (base, target) = (real(plan_dir(state)), real(path));
    let (b, t): (Vec<_>, Vec<_>) = (base.components().collect(), target.components().collect());
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return target.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c);
    }
    rel.display().to_string()
}

/// A path stored in the plan, as usable from the current folder.
pub fn shown_path(state: &Path, stored: &str) -> String {
    let p = Path::new(stored);
    if p.is_absolute() || plan_dir(state) == Path::new(".") {
        return stored.to_owned();
    }
    let beside = plan_dir(state).join(p);
    // Plans written before paths were stored this way hold paths relative to the folder the
    // step ran in: shown as they are when only that reading names an existing file.
    if !beside.exists() && p.exists() {
        return stored.to_owned();
    }
    beside.display().to_string()
}

/// The DER inside a PEM text (the stored old certificate).
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    inventory::pem::PemReader::new(pem.as_bytes()).find_map(|item| match item {
        inventory::pem::PemItem::Block(b) => Some(b.der.to_vec()),
        inventory::pem::PemItem::Fault(_) | inventory::pem::PemItem::LongBegin { .. } => None,
    })
}

/// Certificates (facts and DER) in the given files; any read problem refuses.
fn read_certs(
    paths: &[PathBuf],
    what: &str,
) -> Result<Vec<(crate::cert::CertFacts, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    for path in paths {
        let loaded = File::open(path)
            .and_then(|f| {
                let opts = inventory::ReadOptions {
                    keep_der: true,
                    ..Default::default()
                };
                inventory::read_input_with(BufReader::new(f), &opts)
            })
            .map_err(|e| {
                Error::Refused(format!("{what} {}: {}", path.display(), describe_io(&e)))
            })?;
        if let Some((_, reason)) = loaded.errors.first() {
            return Err(Error::Refused(format!(
                "{what} {}: {reason}",
                path.display()
            )));
        }
        out.extend(loaded.certs.into_iter().map(|(_, f)| *f).zip(loaded.ders));
    }
    Ok(out)
}

/// The trust anchors: every certificate in the `--roots` files and folders (a folder: each
/// file in it), else the system store. A file that cannot be read refuses, naming it.
fn trust_anchors(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, Error> {
    if paths.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        return Ok(found.certs.into_iter().map(|c| c.to_vec()).collect());
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                Error::Refused(format!("--roots {}: {}", path.display(), describe_io(&e)))
            })?;
            let mut inside: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            inside.sort();
            if inside.is_empty() {
                return Err(Error::Refused(format!(
                    "--roots {}: the folder holds no files",
                    path.display()
                )));
            }
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    let certs = read_certs(&files, "--roots")?;
    if certs.is_empty() {
        return Err(Error::Refused(format!(
            "--roots {}: no certificates in it",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(certs.into_iter().map(|(_, der)| der).collect())
}

fn import(
    args: &RotateArgs,
    ctx: &Context,
    id: &str,
    cert: &Path,
    chain: &[PathBuf],
    roots: &[PathBuf],
) -> Result<ExitCode, Error> {
    let issued = read_certs(&[cert.to_path_buf()], "--cert")?;
    let extra = read_certs(chain, "--chain")?;
    let anchors = trust_anchors(roots)?;
    step_item(args, ctx, id, |item, exposed| {
        let record = check_issued(item, exposed, &issued, &extra, &anchors, ctx.now, cert)?;
        Ok(Event::Imported(IssuedRecord {
            cert_path: stored_path(&args.state, cert),
            ..record
        }))
    })
}

/// The checks `rotate import` and `rotate issue` make before accepting an issued certificate
/// (`issued`: the file's certificates; `extra`: more intermediates): the CSR's new key (not
/// the old or an exposed one), the old names covered, valid now, chains to `anchors`.
fn check_issued(
    item: &Item,
    exposed: &HashSet<String>,
    issued: &[(crate::cert::CertFacts, Vec<u8>)],
    extra: &[(crate::cert::CertFacts, Vec<u8>)],
    anchors: &[Vec<u8>],
    now: time::OffsetDateTime,
    cert: &Path,
) -> Result<IssuedRecord, Error> {
    let Some(csr) = &item.csr else {
        return Err(Error::Refused("no CSR yet: run `rotate csr` first".into()));
    };
    // The leaf: the certificate on the CSR's key, else the first non-CA one.
    let leaf = issued
        .iter()
        .position(|(f, _)| f.spki.to_string() == csr.new_spki_sha256)
        .or_else(|| issued.iter().position(|(f, _)| !f.is_ca))
        .ok_or_else(|| {
            Error::Refused(format!(
                "--cert {}: no end-entity certificate in it",
                cert.display()
            ))
        })?;
    let (facts, der) = &issued[leaf];
    let candidate = checks::Candidate { facts, der };
    checks::key(
        &candidate,
        &csr.new_spki_sha256,
        &item.old.spki_sha256,
        exposed,
    )
    .map_err(Error::Refused)?;
    checks::names(&candidate, &item.old.dns_names, &item.old.ip_addresses)
        .map_err(Error::Refused)?;
    checks::validity(&candidate, now).map_err(Error::Refused)?;
    let intermediates: Vec<Vec<u8>> = issued
        .iter()
        .enumerate()
        .filter(|(n, _)| *n != leaf)
        .map(|(_, (_, d))| d.clone())
        .chain(extra.iter().map(|(_, d)| d.clone()))
        .collect();
    checks::chain(&candidate, &intermediates, anchors, now).map_err(Error::Refused)?;
    Ok(IssuedRecord {
        cert_path: cert.display().to_string(),
        fingerprint_sha256: facts.fingerprint.to_string(),
        serial: facts.serial.clone(),
        issuer: facts.issuer.to_string(),
        not_before: timefmt::rfc3339(facts.not_before),
        not_after: timefmt::rfc3339(facts.not_after),
        dns_names: facts.dns_names.clone(),
        ip_addresses: facts.ip_addresses.clone(),
        acme: None,
    })
}

fn uploaded(
    args: &RotateArgs,
    ctx: &Context,
    e: &EndpointArgs,
    verify_only: bool,
) -> Result<ExitCode, Error> {
    if verify_only && e.endpoint.is_none() {
        return Err(Error::Usage(
            "rotate verify needs --endpoint HOST:PORT".into(),
        ));
    }
    if e.endpoint.is_none() && !e.roots.is_empty() {
        return Err(Error::Usage(
            "--roots checks what an endpoint serves: give --endpoint HOST:PORT too".into(),
        ));
    }
    let at = timefmt::rfc3339(ctx.now);
    // What the endpoint serves and whether clients accept it, found before taking the lock:
    // network waits hold nothing. `Ok(fingerprint)` or `Err(why it fails)`.
    let checked = match &e.endpoint {
        Some(endpoint) => {
            let anchors = trust_anchors(&e.roots)?;
            let target = crate::probe::targets::parse(endpoint, e.sni.as_deref())
                .map_err(|why| Error::Usage(format!("--endpoint {why}")))?;
            let served = crate::probe::served_chain(
                endpoint,
                e.sni.as_deref(),
                Duration::from_secs(e.timeout),
                ctx.now,
            );
            Some(match served {
                Err(why) => Err(format!("could not check what it serves: {why}")),
                Ok(chain) => {
                    let fingerprint = chain
                        .first()
                        .map(|leaf| Sha256::of(leaf).to_string())
                        .unwrap_or_default();
                    let verdict = match target.server_name() {
                        Some(name) => checks::served(&chain, &name, &anchors, ctx.now),
                        None => {
                            Err("no name to check the certificate against: give --sni NAME".into())
                        }
                    };
                    Ok((fingerprint, verdict))
                }
            })
        }
        None => None,
    };
    // One transaction: the upload is recorded (unless only verifying), then the item is
    // verified if the endpoint serves the imported certificate and clients accept its chain;
    // otherwise a verified item goes back to uploaded. A failure is refused after saving.
    let (lines, refusal) = with_plan(args, |plan| {
        let item = plan.item_mut(&e.item)?;
        let mut lines = Vec::new();
        let mut changed = false;
        if !verify_only {
            let event = Event::Uploaded(UploadRecord {
                at: at.clone(),
                endpoint: e.endpoint.clone(),
            });
            let applied = plan::apply(item, event, &at, &actor()).map_err(Error::Refused)?;
            changed |= matches!(applied, Applied::Changed { .. });
            lines.push(describe(&item.id, applied));
        }
        let (Some(endpoint), Some(checked)) = (&e.endpoint, checked) else {
            return Ok(((lines, None), changed));
        };
        let expected = item
            .issued
            .as_ref()
            .map(|i| i.fingerprint_sha256.clone())
            .ok_or_else(|| {
                Error::Refused(format!(
                    "item {}: no issued certificate is recorded yet (`rotate import` first)",
                    item.id
                ))
            })?;
        let failure = match checked {
            Err(why) => Some(why),
            Ok((served, _)) if served != expected => Some(format!(
                "it still serves a different certificate (sha256 {served}), not the new one (sha256 {expected})"
            )),
            Ok((_, Err(why))) => Some(why),
            Ok((served, Ok(()))) => {
                let event = Event::Verified(state::VerificationRecord {
                    at: at.clone(),
                    endpoint: endpoint.clone(),
                    sni: e.sni.clone(),
                    served_fingerprint_sha256: served,
                });
                let applied = plan::apply(item, event, &at, &actor()).map_err(Error::Refused)?;
                changed |= matches!(applied, Applied::Changed { .. });
                lines.push(describe(&item.id, applied));
                None
            }
        };
        let Some(why) = failure else {
            return Ok(((lines, None), changed));
        };
        let event = Event::VerifyFailed {
            endpoint: endpoint.clone(),
            reason: why.clone(),
        };
        let applied = plan::apply(item, event, &at, &actor()).map_err(Error::Refused)?;
        let now = match &applied {
            Applied::Changed { to, .. } => {
                changed = true;
                lines.push(describe(&item.id, applied.clone()));
                format!(
                    "the item is back to {}, so the old certificate cannot be revoked yet",
                    to.as_str()
                )
            }
            Applied::Unchanged(_) => format!("the item stays {}", item.step.as_str()),
        };
        let refusal = if item.step >= Step::Revoked {
            format!("{endpoint}: {why}; {now}: fix the endpoint now")
        } else {
            let mut again = format!("certsweep rotate verify {} --endpoint {endpoint}", item.id);
            if let Some(sni) = &e.sni {
                again.push_str(&format!(" --sni {sni}"));
            }
            for r in &e.roots {
                again.push_str(&format!(" --roots {}", r.display()));
            }
            again.push_str(&format!(" --state {}", args.state.display()));
            format!("{endpoint}: {why}; {now}: fix the upload, then `{again}`")
        };
        Ok(((lines, Some(refusal)), changed))
    })?;
    say(ctx, &lines)?;
    match refusal {
        Some(why) => Err(Error::Refused(why)),
        None => Ok(ExitCode::Clean),
    }
}

/// How `rotate revoked` confirms the old certificate is revoked.
enum Confirm<'a> {
    /// Only the user's word (the CA said so).
    Nothing,
    /// A CRL signed by the old issuer lists the old serial.
    Crl(&'a [PathBuf]),
    /// The old certificate's OCSP responder answers `revoked` (the same check as `probe
    /// --check-revocation` and `scan --online`).
    Ocsp(Duration),
}

fn revoked(
    args: &RotateArgs,
    ctx: &Context,
    id: &str,
    confirm: Confirm<'_>,
    issuers: &[PathBuf],
    force: bool,
    reason: Option<&str>,
) -> Result<ExitCode, Error> {
    let forced_reason = if force {
        match reason {
            Some(r) if !r.trim().is_empty() => Some(r.to_owned()),
            _ => {
                return Err(Error::Usage(
                    "--force needs --reason TEXT (it is recorded)".into(),
                ))
            }
        }
    } else {
        None
    };
    let issuer_certs = read_certs(issuers, "--issuer")?;
    step_item(args, ctx, id, |item, _| {
        let crl = match confirm {
            Confirm::Nothing => None,
            Confirm::Crl(crls) => {
                let mut evidence = confirm_crl(item, crls, &issuer_certs)?;
                evidence.path = stored_path(&args.state, Path::new(&evidence.path));
                Some(evidence)
            }
            Confirm::Ocsp(timeout) => Some(confirm_ocsp(item, &issuer_certs, ctx, timeout)?),
        };
        Ok(Event::Revoked {
            crl,
            forced_reason: forced_reason.clone(),
        })
    })
}

/// The old certificate's OCSP responder, asked with the old issuer's certificate, must answer
/// `revoked` in a response signed by that issuer (or its delegated responder).
fn confirm_ocsp(
    item: &Item,
    issuers: &[(crate::cert::CertFacts, Vec<u8>)],
    ctx: &Context,
    timeout: Duration,
) -> Result<CrlEvidence, Error> {
    use crate::probe::ocsp::{self, RevocationStatus};
    let old = pem_der(&item.old.pem).ok_or_else(|| {
        Error::State(format!(
            "item {}: the old certificate in the plan cannot be read",
            item.id
        ))
    })?;
    let issuer_id = Sha256::parse_hex(&item.old.issuer_name_sha256).unwrap_or(Sha256([0; 32]));
    let Some((_, issuer)) = issuers.iter().find(|(f, _)| f.subject_id == issuer_id) else {
        return Err(Error::Refused(format!(
            "refused: none of the --issuer certificates is the old certificate's issuer {}",
            item.old.issuer
        )));
    };
    let answer = ocsp::check(&old, Some(issuer), &[], ctx.now, timeout);
    let responder = answer.responder.clone().unwrap_or_default();
    match answer.status {
        RevocationStatus::Revoked => Ok(CrlEvidence {
            path: responder.clone(),
            crl_number: None,
            reason: answer.reason.map(str::to_owned),
            revoked_at: answer.revoked_at,
            ocsp_responder: Some(responder),
        }),
        RevocationStatus::Good => Err(Error::Refused(format!(
            "refused: the OCSP responder {responder} says serial {} is good, not revoked; ask the CA, then retry",
            item.old.serial
        ))),
        status => Err(Error::Refused(format!(
            "refused: OCSP could not confirm the revocation ({}: {}); retry, or confirm with --crl",
            status.as_str(),
            answer.detail.as_deref().unwrap_or("no answer")
        ))),
    }
}

/// A CRL signed by the old issuer must list the old serial.
fn confirm_crl(
    item: &Item,
    paths: &[PathBuf],
    issuers: &[(crate::cert::CertFacts, Vec<u8>)],
) -> Result<CrlEvidence, Error> {
    let facts: Vec<&crate::cert::CertFacts> =
        issuers.iter().map(|(f, _)| f).filter(|f| f.is_ca).collect();
    let mut errors = Vec::new();
    let found = crl::load(paths, &facts, &mut errors);
    if let Some(e) = errors.first() {
        return Err(Error::Refused(format!(
            "{e} (give the old issuer's certificate with --issuer FILE)"
        )));
    }
    let issuer_id = Sha256::parse_hex(&item.old.issuer_name_sha256).unwrap_or(Sha256([0; 32]));
    if !found.crls.iter().any(|c| c.issuer_id == issuer_id) {
        let from: Vec<String> = found.crls.iter().map(|c| c.issuer.clone()).collect();
        return Err(Error::Refused(format!(
            "refused: the CRL is from {}, not from the old certificate's issuer {}",
            from.join(", "),
            item.old.issuer
        )));
    }
    match found.find(issuer_id, &item.old.serial) {
        Some(r) => Ok(CrlEvidence {
            path: r.crl_path.clone(),
            crl_number: r.crl_number.clone(),
            reason: r.reason.map(str::to_owned),
            revoked_at: r.revoked_at.map(timefmt::rfc3339),
            ocsp_responder: None,
        }),
        None => Err(Error::Refused(format!(
            "refused: the CRL from {} does not list the old serial {}; not revoked yet (ask the CA, then retry)",
            item.old.issuer, item.old.serial
        ))),
    }
}

/// Whether a person is at the terminal (`walk` needs one).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}
