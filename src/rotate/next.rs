//! What to do next, per item: `rotate status` (a table) and `rotate next` (exact commands,
//! and for revocation everything the CA asks for).

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use super::state::{Item, State, Step};
use crate::cli::RotateArgs;
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::report::{Format, SCHEMA_VERSION, TOOL};
use crate::sanitize::escape;
use crate::timefmt;

#[derive(Serialize)]
pub struct StatusRow {
    pub id: String,
    pub step: Step,
    pub host: Option<String>,
    pub old_not_after: String,
    /// Whole days since the item last moved (or since it was planned).
    pub days_in_step: Option<i64>,
    pub blocked_by: String,
    /// The ACME order an interrupted `rotate issue` left in the plan, to be resumed.
    pub acme_order_in_progress: Option<AcmeOrderInProgress>,
}

/// An ACME order in progress (`Item::acme_intent`), as `status` and `next` report it.
#[derive(Serialize)]
pub struct AcmeOrderInProgress {
    pub directory: String,
    pub order_url: String,
    /// The CSR was (about to be) sent to be finalized: the CA may have issued already.
    pub finalize_sent: bool,
    /// When the order was recorded, or when finalize was sent.
    pub at: String,
    /// The command that resumes it (the same CA and account).
    pub resume_command: String,
}

impl AcmeOrderInProgress {
    /// "an ACME order is in progress at URL (finalize sent at T)", without the command.
    pub fn sentence(&self) -> String {
        let when = if self.finalize_sent {
            format!("finalize sent at {}", self.at)
        } else {
            format!("ordered at {}, finalize not sent yet", self.at)
        };
        format!(
            "an ACME order is in progress at {} ({when})",
            self.order_url
        )
    }

    /// The sentence with the command that resumes the order, for people.
    pub fn note(&self) -> String {
        format!(
            "{}: run `{}` again to resume it (no new order is made)",
            self.sentence(),
            self.resume_command
        )
    }
}

/// The ACME order in progress for `item`, if an interrupted `rotate issue` recorded one.
pub fn acme_order_in_progress(item: &Item, state_path: &Path) -> Option<AcmeOrderInProgress> {
    let intent = item.acme_intent.as_ref()?;
    // The order is resumed only with the account that made it: named unless it is the
    // default one for that CA.
    let default = super::acme::default_account_path(super::plan_dir(state_path), &intent.directory);
    let account = if super::stored_path(state_path, &default) == intent.account_path {
        String::new()
    } else {
        format!(
            " --acme-account {}",
            super::shown_path(state_path, &intent.account_path)
        )
    };
    // The same trust as the run that made the order: without it a private CA's resume fails.
    let trust: String = [
        ("--acme-roots", &intent.acme_roots),
        ("--roots", &intent.roots),
    ]
    .into_iter()
    .flat_map(|(flag, paths)| paths.iter().map(move |p| (flag, p)))
    .map(|(flag, p)| format!(" {flag} {}", super::shown_path(state_path, p)))
    .collect();
    Some(AcmeOrderInProgress {
        directory: intent.directory.clone(),
        order_url: intent.order_url.clone(),
        finalize_sent: intent.finalize_sent,
        at: intent.at.clone(),
        resume_command: format!(
            "certsweep rotate issue {} --acme-directory {}{account}{trust} --http01-webroot DIR --state {}",
            item.id,
            intent.directory,
            state_path.display()
        ),
    })
}

pub fn status_row(item: &Item, state: &Path, created_at: &str, now: OffsetDateTime) -> StatusRow {
    let since = item
        .history
        .last()
        .map(|h| h.at.as_str())
        .or(Some(created_at))
        .and_then(|at| timefmt::parse(at).ok())
        .map(|t| timefmt::days_between(t, now));
    StatusRow {
        id: item.id.clone(),
        step: item.step,
        host: item.host.clone(),
        old_not_after: item.old.not_after.clone(),
        days_in_step: since,
        blocked_by: waiting_for(item).to_owned(),
        acme_order_in_progress: acme_order_in_progress(item, state),
    }
}

/// What the item waits for, in a few words.
fn waiting_for(item: &Item) -> &'static str {
    match item.step {
        Step::Planned => "a new key and CSR",
        Step::CsrGenerated if item.acme_intent.is_some() => {
            "the ACME order in progress to be resumed"
        }
        Step::CsrGenerated => "the CA to issue the certificate",
        Step::Issued => "the new certificate to be uploaded",
        Step::Uploaded => "verification that the endpoint serves it",
        Step::Verified => "revocation of the old certificate",
        Step::Revoked if item.revocation.as_ref().is_some_and(|r| r.acme.is_some()) => {
            "a CRL confirming the revocation the CA accepted"
        }
        Step::Revoked => "a CRL confirming the revocation",
        Step::Done => "nothing",
    }
}

#[derive(Serialize)]
struct StatusReport<'a> {
    schema_version: u32,
    tool: &'a crate::report::Tool,
    policy: super::report::PlanPolicy<'a>,
    items: &'a [StatusRow],
    summary: super::report::StatusSummary,
}

pub fn print_status(
    plan: &State,
    state: &Path,
    rows: &[StatusRow],
    ctx: &Context,
) -> Result<(), Error> {
    let mut out = ctx.sink()?;
    write_status(plan, state, rows, ctx.format, &ctx.style, &mut out)?;
    out.finish()?;
    Ok(())
}

fn write_status(
    plan: &State,
    state: &Path,
    rows: &[StatusRow],
    format: Format,
    style: &crate::report::table::Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    use super::report as r;
    match format {
        Format::Ndjson => return r::write_status_ndjson(plan, state, rows, out),
        Format::Csv => return r::write_status_csv(rows, out),
        Format::Prometheus => return r::write_status_prometheus(rows, out),
        Format::Html => return r::write_status_html(plan, rows, out),
        Format::Json | Format::Table => {}
    }
    let done = rows.iter().filter(|r| r.step == Step::Done).count();
    if format == Format::Json {
        let report = StatusReport {
            schema_version: SCHEMA_VERSION,
            tool: &TOOL,
            policy: super::report::PlanPolicy {
                state: state.display().to_string(),
                cutoff: &plan.policy.cutoff,
            },
            items: rows,
            summary: super::report::status_summary(rows),
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        return writeln!(out);
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                escape(&r.id),
                r.step.as_str().to_owned(),
                escape(r.host.as_deref().unwrap_or("-")),
                r.days_in_step
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.blocked_by.clone(),
            ]
        })
        .collect();
    crate::report::table::write_rows(
        out,
        style,
        ["ITEM", "STEP", "HOST", "DAYS", "WAITING FOR"],
        &cells,
        &[1, 3],
        |_| "",
        |_| Vec::new(),
    )?;
    for r in rows {
        if let Some(order) = &r.acme_order_in_progress {
            writeln!(out, "\n{}: {}", escape(&r.id), escape(&order.note()))?;
        }
    }
    writeln!(out, "\n{done} of {} item(s) done.", rows.len())
}

/// The exact next command for each item that is not done.
pub fn run(
    args: &RotateArgs,
    ctx: &Context,
    compromised_at: Option<&str>,
    acme_directory: Option<&str>,
) -> Result<ExitCode, Error> {
    let plan = super::state::load(&args.state)?.ok_or_else(|| super::no_plan(&args.state))?;
    let compromise = match compromised_at {
        Some(t) => timefmt::rfc3339(crate::config::parse_flag("--compromised-at", t)?),
        None => plan.policy.cutoff.clone(),
    };
    if ctx.format != Format::Table {
        let items: Vec<super::report::NextItem> = plan
            .items
            .iter()
            .filter(|i| i.step != Step::Done)
            .map(|i| next_item(i, &args.state, &compromise, acme_directory))
            .collect();
        let remaining = items.len();
        if ctx.wants_report() {
            let mut out = ctx.sink()?;
            super::report::write_next(ctx.format, &plan, &args.state, &items, &mut out)?;
            out.finish()?;
        }
        return Ok(ExitCode::of(false, remaining > 0));
    }
    let remaining = plan.items.iter().filter(|i| i.step != Step::Done).count();
    if ctx.wants_report() {
        let mut out = ctx.sink()?;
        write_next_table(&plan, &args.state, &compromise, acme_directory, &mut out)?;
        out.finish()?;
    }
    Ok(if remaining == 0 {
        ExitCode::Clean
    } else {
        ExitCode::ActionRequired
    })
}

/// `rotate next` for people: each item not done, what to do, the exact commands.
fn write_next_table(
    plan: &State,
    state: &Path,
    compromise: &str,
    acme_directory: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut remaining = 0;
    for item in plan.items.iter().filter(|i| i.step != Step::Done) {
        remaining += 1;
        writeln!(
            out,
            "{} ({}, {})",
            escape(&item.id),
            escape(item.host.as_deref().unwrap_or(&item.old.subject)),
            item.step.as_str()
        )?;
        for line in actions(item, state, compromise, acme_directory) {
            writeln!(out, "    {}", escape(&line))?;
        }
        writeln!(out)?;
    }
    if remaining == 0 {
        writeln!(out, "Every item is done.")
    } else {
        writeln!(out, "Never revoke an old certificate before its replacement is verified as served: `rotate revoked` refuses it unless --force.")
    }
}

/// One item's next action as data: the instructions, the exact commands among them, and for a
/// verified item what its CA needs to revoke the old certificate.
fn next_item(
    item: &Item,
    state: &Path,
    compromise: &str,
    acme_directory: Option<&str>,
) -> super::report::NextItem {
    let instructions = actions(item, state, compromise, acme_directory);
    super::report::NextItem {
        id: item.id.clone(),
        host: item.host.clone(),
        step: item.step,
        acme_order_in_progress: acme_order_in_progress(item, state),
        commands: instructions
            .iter()
            .filter_map(|line| {
                line.find("certsweep rotate ")
                    .map(|at| line[at..].to_owned())
            })
            .collect(),
        instructions,
        revocation_request: (item.step == Step::Verified).then(|| {
            super::report::RevocationRequest {
                serial: item.old.serial.clone(),
                issuer: item.old.issuer.clone(),
                reason: "keyCompromise",
                reason_code: 1,
                compromise_date: compromise.to_owned(),
                fingerprint_sha256: item.old.fingerprint_sha256.clone(),
            }
        }),
    }
}

/// The exact `certsweep rotate ...` commands that move `item` on (for `walk` when it stops).
pub fn commands(item: &Item, state: &Path, acme_directory: Option<&str>) -> Vec<String> {
    actions(item, state, "", acme_directory)
        .into_iter()
        .filter_map(|line| {
            line.find("certsweep rotate ")
                .map(|at| line[at..].to_owned())
        })
        .collect()
}

/// The challenge options of `rotate issue`, for the hints.
const CHALLENGES: &str = "answer http-01 from DIR, or use --http01-listen ADDR, --dns01-hook CMD, --manual (http-01 by hand) or --manual-dns01 (a TXT record by hand)";

/// What to do next for `item`, as sentences and exact commands. Paths are shown as usable
/// from the current folder.
fn actions(
    item: &Item,
    state_path: &Path,
    compromise: &str,
    acme_directory: Option<&str>,
) -> Vec<String> {
    let state = &format!("--state {}", state_path.display());
    // The ACME CA: the one asked for, else the one the new certificate came from.
    let acme = acme_directory.map(str::to_owned).or_else(|| {
        item.issued
            .as_ref()
            .and_then(|i| i.acme.as_ref())
            .map(|a| a.directory.clone())
    });
    let shown = |stored: &str| super::shown_path(state_path, stored);
    let id = &item.id;
    let host = item.host.clone().unwrap_or_else(|| {
        item.old
            .dns_names
            .first()
            .cloned()
            .unwrap_or_else(|| "HOST".into())
    });
    match item.step {
        Step::Planned => vec![format!("certsweep rotate csr {id} {state}")],
        Step::CsrGenerated => {
            let csr = item.csr.as_ref().map(|c| shown(&c.csr_path)).unwrap_or("?".into());
            if let Some(order) = acme_order_in_progress(item, state_path) {
                return vec![
                    format!("{}; resume it with the same CA and account (no new order is made; {CHALLENGES}):", order.sentence()),
                    order.resume_command,
                ];
            }
            if let Some(url) = &acme {
                return vec![
                    format!("get the certificate from the ACME CA ({CHALLENGES}):"),
                    format!("certsweep rotate issue {id} --acme-directory {url} --http01-webroot DIR {state}"),
                ];
            }
            vec![
                format!("send {csr} to your CA, then:"),
                format!("certsweep rotate import {id} --cert ISSUED.pem --chain CHAIN.pem {state}"),
                format!("or, if your CA speaks ACME: certsweep rotate issue {id} --acme-directory URL --http01-webroot DIR {state}"),
            ]
        }
        Step::Issued => {
            let cert = item.issued.as_ref().map(|c| shown(&c.cert_path)).unwrap_or("?".into());
            let key = item.csr.as_ref().map(|c| shown(&c.key_path)).unwrap_or("?".into());
            vec![
                format!("upload {cert} with its key {key} where {host} is served, then:"),
                format!("certsweep rotate uploaded {id} --endpoint {host}:443 {state}"),
            ]
        }
        Step::Uploaded => vec![format!(
            "once {host} serves the new certificate: certsweep rotate verify {id} --endpoint {host}:443 {state}"
        )],
        Step::Verified => {
            if let Some(url) = &acme {
                return vec![
                    format!("revoke the old certificate (serial {}, issuer {}) for keyCompromise, signed by its own key, at the ACME CA that issued it:", item.old.serial, item.old.issuer),
                    format!("certsweep rotate revoke {id} --acme-directory {url} --old-key OLD.key {state}"),
                    "(without the old key: --with-account, if this account may revoke it)".to_owned(),
                ];
            }
            let mut lines = vec![
                "ask the old issuer to revoke the old certificate:".to_owned(),
                format!("  serial {}", item.old.serial),
                format!("  issuer {}", item.old.issuer),
                "  reason keyCompromise (1)".to_owned(),
                format!("  compromise date {compromise}"),
            ];
            if item.old.issuer.contains("Let's Encrypt") {
                lines.push(format!(
                    "  ACME: certbot revoke --cert-path {} --reason keycompromise",
                    item.old.source_path
                ));
            }
            lines.push(format!(
                "then, with the issuer's CRL: certsweep rotate revoked {id} --crl ISSUER.crl --issuer ISSUER.pem {state}"
            ));
            lines
        }
        Step::Revoked if item.revocation.as_ref().is_some_and(|r| r.acme.is_some()) => vec![format!(
            "the CA accepted the revocation; to close the item, confirm it with the issuer's CRL: certsweep rotate revoked {id} --crl ISSUER.crl --issuer ISSUER.pem {state}"
        )],
        Step::Revoked => vec![format!(
            "confirm with the issuer's CRL: certsweep rotate revoked {id} --crl ISSUER.crl --issuer ISSUER.pem {state}"
        )],
        Step::Done => Vec::new(),
    }
}
