//! `rotate issue` (csr-generated → issued through ACME) and `rotate revoke` (verified →
//! revoked through ACME, signed by the old certificate's own key).

use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::acme::{self, Http, Outcome, Solver};
use super::jws::SigningKey;
use super::plan::{self, Applied, Event};
use super::state::{self, AcmeIntent, AcmeOrder, AcmeRevocation, IssuedRecord, Item, Step};
use super::{
    actor, check_issued, describe, no_plan, pem_der, plan_dir, shown_path, stored_path,
    trust_anchors, with_plan,
};
use crate::cli::{RotateArgs, RotateIssueArgs, RotateRevokeArgs};
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::{inventory, timefmt};

pub fn issue(args: &RotateArgs, a: &RotateIssueArgs, ctx: &Context) -> Result<ExitCode, Error> {
    issue_noted(args, a, ctx).map(|(code, _)| code)
}

/// `issue`, also returning what happened to each item's ACME order (resumed, or why a new one
/// was made) as (item id, note): the data formats report them with the item's change.
pub fn issue_noted(
    args: &RotateArgs,
    a: &RotateIssueArgs,
    ctx: &Context,
) -> Result<(ExitCode, Vec<(String, String)>), Error> {
    if a.item.is_none() && !a.all {
        return Err(Error::Usage("which item? give ITEM or --all".into()));
    }
    let plan = state::load(&args.state)?.ok_or_else(|| no_plan(&args.state))?;
    let items: Vec<Item> = match &a.item {
        Some(id) => {
            let item = &plan.items[plan.find(id)?];
            match item.step {
                Step::Planned => {
                    return Err(Error::Refused(format!(
                        "item {} has no CSR yet: run `certsweep rotate csr {} --state {}` first",
                        item.id,
                        item.id,
                        args.state.display()
                    )))
                }
                Step::CsrGenerated => vec![item.clone()],
                step => {
                    super::say(
                        ctx,
                        &[format!(
                            "{}: unchanged (already {}; its certificate was issued)",
                            item.id,
                            step.as_str()
                        )],
                    )?;
                    return Ok((ExitCode::Clean, Vec::new()));
                }
            }
        }
        None => plan
            .items
            .iter()
            .filter(|i| i.step == Step::CsrGenerated)
            .cloned()
            .collect(),
    };
    if items.is_empty() {
        super::say(ctx, &["no item is waiting for the CA".to_owned()])?;
        return Ok((ExitCode::Clean, Vec::new()));
    }
    let directory = a.acme.acme_directory.as_str();
    let anchors = trust_anchors(&a.roots)?;
    let http = Http::new(&a.acme.acme_roots, Duration::from_secs(a.acme.timeout))?;
    let eab = match (&a.eab_kid, &a.eab_hmac_file) {
        (Some(kid), Some(file)) => Some(acme::eab_key(kid, file).map_err(Error::Refused)?),
        _ => None,
    };
    let mut solver = if let Some(dir) = &a.http01_webroot {
        Solver::Webroot {
            dir: dir.clone(),
            written: Vec::new(),
        }
    } else if let Some(addr) = &a.http01_listen {
        Solver::listen(addr).map_err(Error::Refused)?
    } else if let Some(command) = &a.dns01_hook {
        Solver::Hook {
            command: command.clone(),
            presented: Vec::new(),
        }
    } else {
        Solver::Manual {
            dns01: a.manual_dns01,
            json: ctx.format != crate::report::Format::Table,
        }
    };
    let rt = acme::runtime().map_err(Error::Refused)?;
    let account_path = a
        .acme
        .acme_account
        .clone()
        .unwrap_or_else(|| acme::default_account_path(plan_dir(&args.state), directory));
    let (account, created) =
        acme::account(&rt, &http, &account_path, directory, eab.as_ref(), true)
            .map_err(Error::Refused)?;
    let mut lines = Vec::new();
    if created {
        lines.push(format!(
            "new ACME account at {directory}, its key saved to {} (mode 0600; reused next time)",
            account_path.display()
        ));
    }
    let single = a.item.is_some();
    let mut failed = false;
    let mut noted = Vec::new();
    for item in &items {
        let result = (|| {
            let csr = item
                .csr
                .as_ref()
                .ok_or_else(|| Error::Refused("no CSR yet: run `rotate csr` first".into()))?;
            let csr_path = PathBuf::from(shown_path(&args.state, &csr.csr_path));
            // A regular file of at most 1 MiB (a CSR is a few KiB; a device or FIFO planted
            // there must not hang the run).
            let text = crate::input::read_all(&csr_path, 1 << 20)
                .map_err(|e| crate::inventory::describe_io(&e))
                .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned()))
                .map_err(|e| Error::Refused(format!("the CSR {}: {e}", csr_path.display())))?;
            let der = pem_der(&text).ok_or_else(|| {
                Error::Refused(format!(
                    "the CSR {}: no PEM block in it",
                    csr_path.display()
                ))
            })?;
            let ids = acme::csr_identifiers(&der)
                .map_err(|e| Error::Refused(format!("{}: {e}", csr_path.display())))?;
            let csr_spki = super::recover::csr_spki(&csr_path).ok_or_else(|| {
                Error::Refused(format!(
                    "the CSR {}: not one readable CSR",
                    csr_path.display()
                ))
            })?;
            let account_stored = stored_path(&args.state, &account_path);
            let stored_paths =
                |ps: &[PathBuf]| ps.iter().map(|p| stored_path(&args.state, p)).collect();
            // An order an interrupted run recorded: resumed if it is for this CA, account
            // and CSR; otherwise replaced (and said so).
            let mut notes = Vec::new();
            let resume = match &item.acme_intent {
                Some(i)
                    if i.directory == directory
                        && i.account_path == account_stored
                        && i.new_spki_sha256 == csr_spki =>
                {
                    Some(i.order_url.clone())
                }
                Some(i) => {
                    let other = if i.directory != directory {
                        format!("another CA ({})", i.directory)
                    } else if i.account_path != account_stored {
                        format!("another account ({})", i.account_path)
                    } else {
                        "another CSR".to_owned()
                    };
                    notes.push(format!(
                        "the order {} recorded by an interrupted run is for {other}; a new order was made",
                        i.order_url
                    ));
                    None
                }
                None => None,
            };
            let mut record = |url: &str, finalize_sent: bool| -> Result<(), String> {
                let intent = AcmeIntent {
                    directory: directory.to_owned(),
                    order_url: url.to_owned(),
                    account_path: account_stored.clone(),
                    new_spki_sha256: csr_spki.clone(),
                    finalize_sent,
                    at: timefmt::rfc3339(ctx.at_this_step().now),
                    acme_roots: stored_paths(&a.acme.acme_roots),
                    roots: stored_paths(&a.roots),
                };
                set_intent(args, &item.id, Some(intent)).map_err(|e| {
                    format!("the order {url} could not be recorded in the plan ({e}); nothing was finalized")
                })
            };
            let issued = acme::order(
                &rt,
                &http,
                &account,
                &ids,
                &der,
                &mut solver,
                Duration::from_secs(a.wait),
                resume
                    .as_deref()
                    .map(|order_url| acme::Resume { order_url }),
                &mut record,
            );
            let issued = match issued {
                Ok(i) => i,
                Err(failed) => {
                    let kept = match &failed.order {
                        Some((url, true)) => format!(
                            "; the order {url} is kept in the plan: run the same command again to resume it"
                        ),
                        _ => {
                            set_intent(args, &item.id, None)?;
                            String::new()
                        }
                    };
                    return Err(Error::Refused(format!(
                        "{}{kept}",
                        http.explain(failed.reason)
                    )));
                }
            };
            notes.extend(issued.notes.iter().cloned());
            let (order_url, pem) = (issued.order_url, issued.pem);
            let certs = certs_in(pem.as_bytes());
            // The clock after the CA answered (unless --now pinned it): the certificate is
            // valid from the moment it was signed.
            let ctx = &ctx.at_this_step();
            let at = timefmt::rfc3339(ctx.now);
            let outcome = with_plan(args, |plan| {
                let issued = certs?;
                let exposed: HashSet<String> = plan.exposed_keys.iter().cloned().collect();
                let item = plan.item_mut(&item.id)?;
                let (cert_path, existing) = place(&csr_path, pem.as_bytes());
                let record = check_issued(item, &exposed, &issued, &[], &anchors, ctx.now, &cert_path)
                    .map_err(|e| {
                        Error::Refused(format!(
                            "{e}; the CA's certificate (order {order_url}) was not accepted and the item is unchanged"
                        ))
                    })?;
                if !existing {
                    crate::csr::output::write_new(&cert_path, pem.as_bytes(), 0o644).map_err(
                        |(p, e)| Error::Refused(format!("cannot write {}: {e}", p.display())),
                    )?;
                }
                let event = Event::Imported(IssuedRecord {
                    cert_path: stored_path(&args.state, &cert_path),
                    acme: Some(AcmeOrder {
                        directory: directory.to_owned(),
                        order_url: order_url.clone(),
                        account_path: account_stored.clone(),
                        challenge: solver.name().to_owned(),
                    }),
                    ..record
                });
                let applied = plan::apply(item, event, &at, &actor()).map_err(|e| {
                    if !existing {
                        let _ = std::fs::remove_file(&cert_path);
                    }
                    Error::Refused(e)
                })?;
                let had_intent = item.acme_intent.take().is_some();
                let changed = matches!(applied, Applied::Changed { .. }) || had_intent;
                Ok((
                    format!(
                        "{} (certificate and chain in {}; order {order_url})",
                        describe(&item.id, applied),
                        cert_path.display()
                    ),
                    changed,
                ))
            });
            match outcome {
                Ok(line) => Ok((notes, line)),
                Err(e) => {
                    // The CA's certificate is refused: the order is of no further use.
                    set_intent(args, &item.id, None)?;
                    Err(e)
                }
            }
        })();
        match result {
            Ok((notes, line)) => {
                lines.extend(notes.iter().map(|n| format!("{}: {n}", item.id)));
                lines.push(line);
                noted.extend(notes.into_iter().map(|n| (item.id.clone(), n)));
            }
            Err(e) if single => {
                super::say(ctx, &lines)?;
                return Err(named(&item.id, e));
            }
            Err(e) => {
                failed = true;
                eprintln!("certsweep: {}: {e}", item.id);
            }
        }
    }
    if failed {
        lines.push("some items got no certificate; they stay csr-generated".to_owned());
    }
    super::say(ctx, &lines)?;
    Ok((ExitCode::of(failed, false), noted))
}

/// The certificates (facts and DER) in PEM text the CA sent.
fn certs_in(pem: &[u8]) -> Result<Vec<(crate::cert::CertFacts, Vec<u8>)>, Error> {
    let opts = inventory::ReadOptions {
        keep_der: true,
        ..Default::default()
    };
    let loaded = inventory::read_input_with(BufReader::new(pem), &opts)
        .map_err(|e| Error::Refused(format!("the CA's certificate chain is unreadable: {e}")))?;
    if let Some((_, reason)) = loaded.errors.first() {
        return Err(Error::Refused(format!(
            "the CA's certificate chain is unreadable: {reason}"
        )));
    }
    Ok(loaded
        .certs
        .into_iter()
        .map(|(_, f)| *f)
        .zip(loaded.ders)
        .collect())
}

/// The error of one item, naming it (`--all` names items as it reports them).
fn named(id: &str, e: Error) -> Error {
    match e {
        Error::Refused(m) => Error::Refused(format!("item {id}: {m}")),
        Error::State(m) => Error::State(format!("item {id}: {m}")),
        other => other,
    }
}

/// Records (or with `None` clears) the ACME order in progress for item `id`.
fn set_intent(args: &RotateArgs, id: &str, intent: Option<AcmeIntent>) -> Result<(), Error> {
    with_plan(args, |plan| {
        let item = plan.item_mut(id)?;
        let changed = item.acme_intent != intent;
        item.acme_intent = intent;
        Ok(((), changed))
    })
}

/// Where the CA's chain goes: `NAME.issued.pem` beside the CSR, or `NAME.issued-2.pem`, ...:
/// never over another file. A file there with exactly these bytes (written by a run killed
/// before it saved the plan) is taken as it is (`true`).
fn place(csr_path: &Path, pem: &[u8]) -> (PathBuf, bool) {
    let stem = csr_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "certificate".into());
    let dir = csr_path.parent().unwrap_or(Path::new("."));
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.issued.pem")
        } else {
            format!("{stem}.issued-{n}.pem")
        };
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Err(_) => return (path, false),
            Ok(m) if m.file_type().is_file() && m.len() == pem.len() as u64 => {
                if std::fs::read(&path).is_ok_and(|b| b == pem) {
                    return (path, true);
                }
            }
            Ok(_) => {}
        }
        n += 1;
    }
}

pub fn revoke(args: &RotateArgs, a: &RotateRevokeArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if a.item.is_none() && !a.all {
        return Err(Error::Usage("which item? give ITEM or --all".into()));
    }
    let forced_reason = if a.force {
        match &a.reason {
            Some(r) if !r.trim().is_empty() => Some(r.clone()),
            _ => {
                return Err(Error::Usage(
                    "--force needs --reason TEXT (it is recorded)".into(),
                ))
            }
        }
    } else {
        None
    };
    let keys: Vec<(PathBuf, SigningKey)> = a
        .old_key
        .iter()
        .map(|p| SigningKey::load(p).map(|k| (p.clone(), k)))
        .collect::<Result<_, _>>()
        .map_err(Error::Refused)?;
    let plan = state::load(&args.state)?.ok_or_else(|| no_plan(&args.state))?;
    let items: Vec<Item> = match &a.item {
        Some(id) => vec![plan.items[plan.find(id)?].clone()],
        None => plan
            .items
            .iter()
            .filter(|i| i.step == Step::Verified)
            .cloned()
            .collect(),
    };
    if items.is_empty() {
        super::say(
            ctx,
            &["no verified item is waiting for revocation".to_owned()],
        )?;
        return Ok(ExitCode::Clean);
    }
    let directory = a.acme.acme_directory.as_str();
    let http = Http::new(&a.acme.acme_roots, Duration::from_secs(a.acme.timeout))?;
    let account = if a.with_account {
        let rt = acme::runtime().map_err(Error::Refused)?;
        let path = a
            .acme
            .acme_account
            .clone()
            .unwrap_or_else(|| acme::default_account_path(plan_dir(&args.state), directory));
        let (account, _) =
            acme::account(&rt, &http, &path, directory, None, false).map_err(Error::Refused)?;
        Some(account)
    } else {
        None
    };
    let single = a.item.is_some();
    let mut failed = false;
    let mut lines = Vec::new();
    for item in &items {
        let result = revoke_one(
            args,
            ctx,
            item,
            &keys,
            account.as_ref(),
            &http,
            directory,
            &forced_reason,
        );
        match result {
            Ok(line) => lines.push(line),
            Err(e) if single => {
                super::say(ctx, &lines)?;
                return Err(named(&item.id, e));
            }
            Err(e) => {
                failed = true;
                eprintln!("certsweep: {}: {e}", item.id);
            }
        }
    }
    super::say(ctx, &lines)?;
    Ok(ExitCode::of(failed, false))
}

#[allow(clippy::too_many_arguments)]
fn revoke_one(
    args: &RotateArgs,
    ctx: &Context,
    item: &Item,
    keys: &[(PathBuf, SigningKey)],
    account: Option<&instant_acme::Account>,
    http: &Http,
    directory: &str,
    forced_reason: &Option<String>,
) -> Result<String, Error> {
    let at = timefmt::rfc3339(ctx.now);
    if let Some(done) = item.revocation.as_ref().and_then(|r| r.acme.as_ref()) {
        return Ok(format!(
            "{}: unchanged (already {}: {} answered {} at {})",
            item.id,
            item.step.as_str(),
            done.directory,
            done.outcome,
            done.at
        ));
    }
    // The walk's gate first, on a copy: nothing is sent to the CA if the plan refuses.
    let key = match account {
        Some(_) => None,
        None => Some(
            keys.iter()
                .find(|(_, k)| k.spki_sha256() == item.old.spki_sha256)
                .map(|(_, k)| k)
                .ok_or_else(|| {
                    let given: Vec<String> = keys
                        .iter()
                        .map(|(p, k)| format!("{} (spki sha256 {})", p.display(), k.spki_sha256()))
                        .collect();
                    Error::Refused(format!(
                        "refused: {} is not the old certificate's key (its spki sha256 is {}); nothing was sent to the CA. Give the old certificate's private key with --old-key FILE, or --with-account",
                        given.join(", "),
                        item.old.spki_sha256
                    ))
                })?,
        ),
    };
    let evidence = |outcome: Outcome| AcmeRevocation {
        directory: directory.to_owned(),
        signer: if key.is_some() {
            "certificate-key".into()
        } else {
            "account".into()
        },
        signer_spki_sha256: key
            .map(SigningKey::spki_sha256)
            .unwrap_or_else(|| "account key".into()),
        reason_code: 1,
        reason: "keyCompromise".into(),
        at: at.clone(),
        outcome: outcome.as_str().into(),
    };
    let mut trial = item.clone();
    plan::apply(
        &mut trial,
        Event::AcmeRevoked {
            evidence: evidence(Outcome::Revoked),
            forced_reason: forced_reason.clone(),
        },
        &at,
        &actor(),
    )
    .map_err(|e| Error::Refused(format!("{e}; nothing was sent to the CA")))?;
    let der = pem_der(&item.old.pem).ok_or_else(|| {
        Error::State(format!(
            "item {}: its stored certificate is unreadable",
            item.id
        ))
    })?;
    let outcome = match (key, account) {
        (Some(key), _) => acme::revoke_with_key(http, directory, key, &der),
        (None, Some(account)) => acme::revoke_with_account(account, &der),
        (None, None) => Err("no key to sign with".into()),
    }
    .map_err(|e| Error::Refused(format!("{}; the item is unchanged", http.explain(e))))?;
    with_plan(args, |plan| {
        let item = plan.item_mut(&item.id)?;
        let applied = plan::apply(
            item,
            Event::AcmeRevoked {
                evidence: evidence(outcome),
                forced_reason: forced_reason.clone(),
            },
            &at,
            &actor(),
        )
        .map_err(Error::Refused)?;
        let changed = matches!(applied, Applied::Changed { .. });
        let note = match outcome {
            Outcome::Revoked => "the CA revoked the old certificate for keyCompromise",
            Outcome::AlreadyRevoked => "the CA had already revoked the old certificate",
        };
        Ok((format!("{} ({note})", describe(&item.id, applied)), changed))
    })
}
