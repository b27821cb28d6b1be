//! `rotate walk`: the same steps as the other commands, asked for one at a time at a
//! terminal. Scripts use the commands; without a terminal this refuses.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use super::state::Step;
use crate::cli::{EndpointArgs, RotateArgs, RotateCsrArgs};
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
    let mut ask = |prompt: &str| -> Option<String> {
        print!("{prompt}");
        let _ = io::stdout().flush();
        lines
            .next()
            .and_then(Result::ok)
            .map(|l| l.trim().to_owned())
    };
    loop {
        let plan = super::state::load(&args.state)?.ok_or_else(|| super::no_plan(&args.state))?;
        let Some(item) = plan.items.iter().find(|i| i.step != Step::Done).cloned() else {
            println!("Every item is done.");
            return Ok(ExitCode::Clean);
        };
        println!(
            "\n{} ({}) is {}",
            item.id,
            item.host.as_deref().unwrap_or(&item.old.subject),
            item.step.as_str()
        );
        let id = item.id.clone();
        let result = match item.step {
            Step::Planned => match ask("Make a new key and CSR now? [y/N/q] ").as_deref() {
                Some("y") => super::csr_step(
                    args,
                    &RotateCsrArgs {
                        item: Some(id),
                        all: false,
                        key_type: crate::cli::KeyType::EcdsaP256,
                        out_dir: None,
                        encrypt_key: false,
                        passphrase_file: None,
                    },
                    ctx,
                ),
                Some("q") | None => return Ok(ExitCode::ActionRequired),
                _ => continue,
            },
            Step::CsrGenerated => match ask("Path of the issued certificate (empty to stop): ") {
                Some(p) if !p.is_empty() => {
                    let chain =
                        ask("Path of the chain file (empty for none): ").filter(|c| !c.is_empty());
                    super::import(
                        args,
                        ctx,
                        &id,
                        &PathBuf::from(p),
                        &chain.map(PathBuf::from).into_iter().collect::<Vec<_>>(),
                        &[],
                    )
                }
                _ => return Ok(ExitCode::ActionRequired),
            },
            Step::Issued | Step::Uploaded => {
                match ask("Endpoint now serving it, HOST:PORT (empty to stop): ") {
                    Some(e) if !e.is_empty() => super::uploaded(
                        args,
                        ctx,
                        &EndpointArgs {
                            item: id,
                            endpoint: Some(e),
                            sni: None,
                            timeout: 10,
                        },
                        item.step == Step::Uploaded,
                    ),
                    _ => return Ok(ExitCode::ActionRequired),
                }
            }
            Step::Verified | Step::Revoked => {
                println!(
                    "Ask the CA to revoke serial {} (issuer {}), reason keyCompromise.",
                    item.old.serial, item.old.issuer
                );
                match ask("Path of the issuer's CRL listing it (empty to stop): ") {
                    Some(c) if !c.is_empty() => {
                        let issuer = ask("Path of the issuer's certificate: ").unwrap_or_default();
                        super::revoked(
                            args,
                            ctx,
                            &id,
                            &[PathBuf::from(c)],
                            &[PathBuf::from(issuer)],
                            false,
                            None,
                        )
                    }
                    _ => return Ok(ExitCode::ActionRequired),
                }
            }
            Step::Done => continue,
        };
        if let Err(e) = result {
            println!("{e}");
            if ask("Try again? [y/N] ").as_deref() != Some("y") {
                return Ok(ExitCode::ActionRequired);
            }
        }
    }
}
