//! `rotate walk`: the same steps as the other commands, asked for one at a time at a
//! terminal. Scripts use the commands; without a terminal this refuses.
//!
//! The clock is read again before each step (unless `--now` pinned it): a walk can wait at a
//! prompt while the CA issues, and the certificate it then gets is valid from that moment.

use std::collections::HashSet;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use super::state::Step;
use crate::cli::{
    AcmeArgs, EndpointArgs, KeyType, RotateArgs, RotateCsrArgs, RotateIssueArgs, RotateRevokeArgs,
    WalkAcmeArgs,
};
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::sanitize::escape;

/// An answer at a prompt.
enum Answer {
    Text(String),
    /// `s`: leave this item for now and go on to the next one.
    Skip,
    /// An empty answer: stops, except where "none" is an answer (the chain file).
    Empty,
    /// `q` or the end of input.
    Stop,
}

pub fn run(
    args: &RotateArgs,
    ctx: &Context,
    roots: &[PathBuf],
    acme: &WalkAcmeArgs,
) -> Result<ExitCode, Error> {
    let acme_args = |url: &str| AcmeArgs {
        acme_directory: url.to_owned(),
        acme_roots: acme.acme_roots.clone(),
        acme_account: acme.acme_account.clone(),
        timeout: 30,
    };
    // The walk's prompts hold the terminal: ACME issuing needs a challenge option.
    let can_issue =
        acme.http01_webroot.is_some() || acme.http01_listen.is_some() || acme.dns01_hook.is_some();
    if !super::interactive() {
        return Err(Error::Usage(
            "rotate walk is interactive and needs a terminal; in scripts use `rotate next`, then `rotate csr`, `import`, `uploaded`, `verify` and `revoked`".into(),
        ));
    }
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |prompt: &str| -> Answer {
        print!("{prompt}");
        let _ = io::stdout().flush();
        match lines.next() {
            Some(Ok(answer)) => match answer.trim() {
                "" => Answer::Empty,
                "q" => Answer::Stop,
                "s" => Answer::Skip,
                a => Answer::Text(a.to_owned()),
            },
            _ => Answer::Stop,
        }
    };
    let mut skipped: Vec<String> = Vec::new();
    loop {
        let plan = super::state::load(&args.state)?.ok_or_else(|| super::no_plan(&args.state))?;
        let seen: HashSet<&str> = skipped.iter().map(String::as_str).collect();
        let Some(item) = plan
            .items
            .iter()
            .find(|i| i.step != Step::Done && !seen.contains(i.id.as_str()))
            .cloned()
        else {
            if skipped.is_empty() {
                println!("Every item is done.");
                return Ok(ExitCode::Clean);
            }
            println!(
                "\nSkipped, still to do: {}. `certsweep rotate next --state {}` lists their next commands.",
                escape(&skipped.join(", ")),
                escape(&args.state.display().to_string())
            );
            return Ok(ExitCode::ActionRequired);
        };
        let name = item.host.as_deref().unwrap_or(&item.old.subject);
        println!(
            "\n{} ({}) is {}",
            escape(&item.id),
            escape(name),
            item.step.as_str()
        );
        let id = item.id.clone();
        // Every prompt: `s` skips this item, `q`, an empty answer or the end of input stops.
        let stop = |item: &super::state::Item| -> Result<ExitCode, Error> {
            println!("Stopped. To go on without the walk:");
            for line in super::next::commands(item, &args.state, acme.acme_directory.as_deref()) {
                println!("    {}", escape(&line));
            }
            Ok(ExitCode::ActionRequired)
        };
        macro_rules! answer {
            ($prompt:expr) => {
                match ask($prompt) {
                    Answer::Text(t) => t,
                    Answer::Skip => {
                        skipped.push(id.clone());
                        continue;
                    }
                    Answer::Empty | Answer::Stop => return stop(&item),
                }
            };
        }
        let result = match (item.step, acme.acme_directory.as_deref()) {
            (Step::CsrGenerated, Some(url)) if can_issue => {
                let prompt = format!("Get the certificate from the ACME CA at {url} now? [y/s/q] ");
                if answer!(&prompt) != "y" {
                    return stop(&item);
                }
                let issue = RotateIssueArgs {
                    item: Some(id.clone()),
                    all: false,
                    acme: acme_args(url),
                    eab_kid: None,
                    eab_hmac_file: None,
                    http01_webroot: acme.http01_webroot.clone(),
                    http01_listen: acme.http01_listen.clone(),
                    dns01_hook: acme.dns01_hook.clone(),
                    manual: false,
                    manual_dns01: false,
                    roots: roots.to_vec(),
                    wait: 120,
                };
                super::issue::issue(args, &issue, &ctx.at_this_step())
            }
            (Step::Verified, Some(url)) => {
                println!(
                    "The old certificate (serial {}, issuer {}) is revoked for keyCompromise at {}, signed by its own key.",
                    escape(&item.old.serial),
                    escape(&item.old.issuer),
                    escape(url)
                );
                let key =
                    answer!("Path of the OLD certificate's private key (s to skip, q to stop): ");
                let revoke = RotateRevokeArgs {
                    item: Some(id.clone()),
                    all: false,
                    acme: acme_args(url),
                    old_key: vec![PathBuf::from(key)],
                    with_account: false,
                    force: false,
                    reason: None,
                };
                super::issue::revoke(args, &revoke, &ctx.at_this_step())
            }
            (Step::Planned, _) => {
                if answer!("Make a new key and CSR now? [y/s/q] ") != "y" {
                    return stop(&item);
                }
                let csr = RotateCsrArgs {
                    item: Some(id.clone()),
                    all: false,
                    key_type: KeyType::EcdsaP256,
                    out_dir: None,
                    encrypt_key: false,
                    passphrase_file: None,
                };
                super::csr_step(args, &csr, &ctx.at_this_step())
            }
            (Step::CsrGenerated, _) => {
                if let Some(order) = super::next::acme_order_in_progress(&item, &args.state) {
                    println!("{}", escape(&order.note()));
                } else if let Some(url) = acme.acme_directory.as_deref() {
                    println!(
                        "To get it from the ACME CA at {} here, start the walk with --http01-webroot DIR, --http01-listen ADDR or --dns01-hook CMD; to answer the challenge by hand, stop (q) and run the `rotate issue` command printed then, with --manual (http-01) or --manual-dns01 (dns-01) in place of --http01-webroot DIR.",
                        escape(url)
                    );
                }
                let cert = answer!("Path of the issued certificate (s to skip, q to stop): ");
                let chain: Vec<PathBuf> =
                    match ask("Path of the chain file (empty for none, s to skip): ") {
                        Answer::Text(t) => vec![PathBuf::from(t)],
                        Answer::Skip => {
                            skipped.push(id.clone());
                            continue;
                        }
                        Answer::Empty => Vec::new(),
                        Answer::Stop => return stop(&item),
                    };
                super::import(
                    args,
                    &ctx.at_this_step(),
                    &id,
                    &PathBuf::from(cert),
                    &chain,
                    roots,
                )
            }
            (Step::Issued | Step::Uploaded, _) => {
                let endpoint =
                    answer!("Endpoint now serving it, HOST:PORT (s to skip, q to stop): ");
                let e = EndpointArgs {
                    item: id.clone(),
                    endpoint: Some(endpoint),
                    sni: item.host.clone(),
                    timeout: 10,
                    roots: roots.to_vec(),
                };
                super::uploaded(args, &ctx.at_this_step(), &e, item.step == Step::Uploaded)
            }
            (Step::Verified | Step::Revoked, _) => {
                println!(
                    "Ask the CA to revoke serial {} (issuer {}), reason keyCompromise.",
                    escape(&item.old.serial),
                    escape(&item.old.issuer)
                );
                let crl = answer!("Path of the issuer's CRL listing it (s to skip, q to stop): ");
                let issuer = answer!("Path of the issuer's certificate (s to skip, q to stop): ");
                let (crl, issuer) = (PathBuf::from(crl), PathBuf::from(issuer));
                super::revoked(
                    args,
                    &ctx.at_this_step(),
                    &id,
                    super::Confirm::Crl(std::slice::from_ref(&crl)),
                    &[issuer],
                    false,
                    None,
                )
            }
            (Step::Done, _) => continue,
        };
        if let Err(e) = result {
            println!("{}", escape(&e.to_string()));
            if answer!("Try again? [y/s/q] ") != "y" {
                return stop(&item);
            }
        }
    }
}
