//! `rotate walk`: the same steps as the other commands, asked for one at a time at a
//! terminal. Scripts use the commands; without a terminal this refuses.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use super::state::Step;
use crate::cli::{EndpointArgs, KeyType, RotateArgs, RotateCsrArgs};
use crate::config::Context;
use crate::error::{Error, ExitCode};

pub fn run(args: &RotateArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if !super::interactive() {
        return Err(Error::Usage(
            "rotate walk is interactive and needs a terminal; in scripts use `rotate next`, then `rotate csr`, `import`, `uploaded`, `verify` and `revoked`".into(),
        ));
    }
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    // Every prompt: an empty answer, `q` or the end of input stops the walk (exit 1).
    let mut ask = |prompt: &str| -> Option<String> {
        print!("{prompt}");
        let _ = io::stdout().flush();
        let answer = lines.next()?.ok()?;
        let answer = answer.trim();
        (!answer.is_empty() && answer != "q").then(|| answer.to_owned())
    };
    let stop = Ok(ExitCode::ActionRequired);
    loop {
        let plan = super::state::load(&args.state)?.ok_or_else(|| super::no_plan(&args.state))?;
        let Some(item) = plan.items.iter().find(|i| i.step != Step::Done).cloned() else {
            println!("Every item is done.");
            return Ok(ExitCode::Clean);
        };
        let name = item.host.as_deref().unwrap_or(&item.old.subject);
        println!("\n{} ({name}) is {}", item.id, item.step.as_str());
        let id = item.id.clone();
        let result = match item.step {
            Step::Planned => {
                if ask("Make a new key and CSR now? [y/q] ").as_deref() != Some("y") {
                    return stop;
                }
                let csr = RotateCsrArgs {
                    item: Some(id),
                    all: false,
                    key_type: KeyType::EcdsaP256,
                    out_dir: None,
                    encrypt_key: false,
                    passphrase_file: None,
                };
                super::csr_step(args, &csr, ctx)
            }
            Step::CsrGenerated => {
                let Some(cert) = ask("Path of the issued certificate (q to stop): ") else {
                    return stop;
                };
                let chain: Vec<PathBuf> = ask("Path of the chain file (empty for none): ")
                    .map(PathBuf::from)
                    .into_iter()
                    .collect();
                super::import(args, ctx, &id, &PathBuf::from(cert), &chain, &[])
            }
            Step::Issued | Step::Uploaded => {
                let Some(endpoint) = ask("Endpoint now serving it, HOST:PORT (q to stop): ") else {
                    return stop;
                };
                let e = EndpointArgs {
                    item: id,
                    endpoint: Some(endpoint),
                    sni: None,
                    timeout: 10,
                };
                super::uploaded(args, ctx, &e, item.step == Step::Uploaded)
            }
            Step::Verified | Step::Revoked => {
                println!(
                    "Ask the CA to revoke serial {} (issuer {}), reason keyCompromise.",
                    item.old.serial, item.old.issuer
                );
                let Some(crl) = ask("Path of the issuer's CRL listing it (q to stop): ") else {
                    return stop;
                };
                let Some(issuer) = ask("Path of the issuer's certificate (q to stop): ") else {
                    return stop;
                };
                let (crl, issuer) = (PathBuf::from(crl), PathBuf::from(issuer));
                super::revoked(args, ctx, &id, &[crl], &[issuer], false, None)
            }
            Step::Done => continue,
        };
        if let Err(e) = result {
            println!("{e}");
            if ask("Try again? [y/q] ").as_deref() != Some("y") {
                return stop;
            }
        }
    }
}
