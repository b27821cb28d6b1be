//! `certsweep csr`: replacement CSRs with brand-new keys and the old certificate's identity.
//!
//! Targets come from `--cert`, a scan report, or an inventory classified on the spot. Every
//! new key is checked against the old key and the whole exposed set before anything is
//! written, and no existing file is ever overwritten.

pub mod dn;
pub mod keyfile;
pub mod output;
pub mod request;
pub mod targets;

use std::collections::HashSet;
use std::path::PathBuf;

use rayon::prelude::*;
use rcgen::PublicKeyData;
use zeroize::Zeroizing;

use crate::cert::Sha256;
use crate::cli::{CsrArgs, KeyType};
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::inventory::InputError;
use crate::progress::Progress;
use request::San;
use targets::Target;

/// One CSR to make: the target plus the identity after edits and where the files go.
pub struct Plan {
    pub target: Target,
    pub name: String,
    pub subject_der: Vec<u8>,
    pub subject: String,
    pub sans: Vec<San>,
    pub changes: Vec<String>,
    pub csr_path: PathBuf,
    pub key_path: PathBuf,
    /// Why no CSR can be made for this certificate (e.g. it names no host), if so.
    pub refused: Option<String>,
}

/// A CSR made, with its new key already serialised (and zeroized on drop).
pub struct Made {
    pub plan: Plan,
    pub csr_pem: String,
    pub key_pem: Zeroizing<String>,
    pub new_spki: Sha256,
}

pub fn run(args: &CsrArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if args.passphrase.is_some() {
        return Err(Error::Usage(
            "--passphrase is refused: secrets on the command line leak into shell history and \
             `ps`; use --passphrase-file FILE or the CERTSWEEP_KEY_PASSPHRASE environment variable"
                .into(),
        ));
    }
    let passphrase = if args.encrypt_key {
        Some(read_passphrase_from(args.passphrase_file.as_deref())?)
    } else {
        None
    };
    for name in args.add_dns.iter().chain(&args.drop_dns) {
        if !name.is_ascii() || name.is_empty() || name.contains(char::is_whitespace) {
            return Err(Error::Usage(format!(
                "'{}' is not a DNS name (use the ASCII/IDNA xn-- form)",
                crate::sanitize::escape(name)
            )));
        }
    }
    let subject_override = match &args.subject {
        Some(text) => {
            Some(dn::parse_rfc4514(text).map_err(|e| Error::Usage(format!("--subject: {e}")))?)
        }
        None => None,
    };

    let found = targets::collect(args, ctx)?;
    let mut errors = found.errors;
    let chosen = scope(found.targets, args)?;
    let options = PlanOptions {
        out_dir: &args.out_dir,
        add_dns: &args.add_dns,
        drop_dns: &args.drop_dns,
        subject_override: subject_override.as_ref(),
    };
    let undated = !found.undated.is_empty();
    if undated {
        eprintln!(
            "certsweep: {} certificate(s) issued before the cutoff have no upload date, so they got no CSR: {}; give their upload dates in a manifest (uploaded_at) or with --uploaded-at DATE, or treat them as exposed with --unknown-upload exposed",
            found.undated.len(),
            crate::sanitize::escape(&found.undated.join(", "))
        );
    }
    // A refused certificate is an error record; the others go on.
    let (mut plans, refused): (Vec<Plan>, Vec<Plan>) = plan(chosen, &options)
        .into_iter()
        .partition(|p| p.refused.is_none());
    for p in refused {
        errors.push(InputError {
            path: p.target.old.path.clone(),
            index: Some(p.target.old.index),
            reason: format!(
                "{}: no CSR: {}",
                p.target.old.subject,
                p.refused.unwrap_or_default()
            ),
        });
    }
    if plans.is_empty() {
        crate::report::messages::report_errors(&errors);
        if !ctx.quiet && !undated {
            if errors.is_empty() {
                eprintln!("certsweep: no certificate needs a replacement CSR");
            } else {
                eprintln!("certsweep: no CSR was written");
            }
        }
        return Ok(ExitCode::of(!errors.is_empty(), undated));
    }

    // Refuse before generating anything if any output path exists: change nothing.
    let existing = existing_outputs(&args.out_dir, &plans);
    if !existing.is_empty() {
        return Err(Error::Usage(format!(
            "refusing to overwrite existing file(s): {}; nothing was written",
            existing.join(", ")
        )));
    }

    let made = make_all(
        std::mem::take(&mut plans),
        args.key_type,
        passphrase.as_ref().map(|p| p.as_slice()),
        ctx,
    )?;
    // Every new key must be new: not the old key, not any exposed or inventoried key.
    let collisions: Vec<String> = made
        .iter()
        .filter(|m| key_is_known(&m.new_spki, &m.plan.target.old.spki, &found.exposed))
        .map(|m| m.plan.name.clone())
        .collect();
    if !collisions.is_empty() {
        return Err(Error::Usage(format!(
            "refusing: the new key for {} matches an exposed or existing key (SPKI SHA-256); nothing was written",
            collisions.join(", ")
        )));
    }

    let written = output::write_all(&args.out_dir, &made, &mut errors);
    crate::report::messages::report_errors(&errors);
    if !ctx.quiet {
        output::report(&made, &written, args, ctx, &errors)?;
    }
    Ok(ExitCode::of(!errors.is_empty(), undated))
}

/// `--only ITEM|HOST` keeps the certificates with that manifest id, host, DNS name or CN.
/// Identity edits (`--add-dns`, `--drop-dns`, `--subject`) are meant for one certificate:
/// with more than one left they are refused, before anything is made.
fn scope(mut found: Vec<Target>, args: &CsrArgs) -> Result<Vec<Target>, Error> {
    if let Some(only) = &args.only {
        let total = found.len();
        found.retain(|t| t.answers_to(only));
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "--only {}: none of the {total} certificate(s) to replace has that manifest id, host, DNS name or CN; nothing was written",
                crate::sanitize::escape(only)
            )));
        }
    }
    let edits: Vec<&str> = [
        (!args.add_dns.is_empty(), "--add-dns"),
        (!args.drop_dns.is_empty(), "--drop-dns"),
        (args.subject.is_some(), "--subject"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    if !edits.is_empty() && found.len() > 1 {
        let names: Vec<String> = found
            .iter()
            .map(|t| match &t.old.manifest_id {
                Some(id) => format!("{id} ({})", t.display_name()),
                None => t.display_name(),
            })
            .map(|n| crate::sanitize::escape(&n))
            .collect();
        return Err(Error::Usage(format!(
            "{} would change the identity of all {} certificates in this run ({}); pick one with --only ITEM|HOST; nothing was written",
            edits.join(", "),
            found.len(),
            names.join(", ")
        )));
    }
    Ok(found)
}

/// Output paths that already exist. One listing of the folder instead of a `stat` per file
/// (a bulk run plans thousands); `write_new` refuses to clobber regardless.
pub fn existing_outputs(out_dir: &std::path::Path, plans: &[Plan]) -> Vec<String> {
    let names: HashSet<std::ffi::OsString> = match std::fs::read_dir(out_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect(),
        Err(_) => HashSet::new(), // no folder yet: nothing to clobber
    };
    plans
        .iter()
        .flat_map(|p| [&p.csr_path, &p.key_path])
        .filter(|p| p.file_name().is_some_and(|n| names.contains(n)))
        .map(|p| p.display().to_string())
        .collect()
}

/// A "new" key that is the old key or any key already exposed or inventoried is refused.
/// It cannot happen by chance; the check proves it did not.
pub fn key_is_known(new: &Sha256, old: &Sha256, exposed: &HashSet<Sha256>) -> bool {
    new == old || exposed.contains(new)
}

/// The key passphrase: first line of `--passphrase-file`, else `CERTSWEEP_KEY_PASSPHRASE`.
pub fn read_passphrase_from(file: Option<&std::path::Path>) -> Result<Zeroizing<Vec<u8>>, Error> {
    let raw = match file {
        Some(path) => Zeroizing::new(std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "--passphrase-file {}: {}",
                path.display(),
                crate::inventory::describe_io(&e)
            ))
        })?),
        None => match std::env::var_os("CERTSWEEP_KEY_PASSPHRASE") {
            Some(v) => Zeroizing::new(v.into_encoded_bytes()),
            None => {
                return Err(Error::Usage(
                    "--encrypt-key needs --passphrase-file FILE or CERTSWEEP_KEY_PASSPHRASE".into(),
                ))
            }
        },
    };
    // The first line, without its line ending.
    let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Error::Usage("the key passphrase is empty".into()));
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// The identity edits and output folder of a CSR run.
pub struct PlanOptions<'a> {
    pub out_dir: &'a std::path::Path,
    pub add_dns: &'a [String],
    pub drop_dns: &'a [String],
    pub subject_override: Option<&'a Vec<u8>>,
}

/// Applies the identity edits and picks file names (host, else CN; manifest id on collision).
pub fn plan(targets: Vec<Target>, args: &PlanOptions<'_>) -> Vec<Plan> {
    let subject_override = args.subject_override;
    let bases: Vec<String> = targets
        .iter()
        .map(|t| safe_name(&t.display_name()))
        .collect();
    let mut used = HashSet::new();
    let mut plans = Vec::with_capacity(targets.len());
    for (i, target) in targets.into_iter().enumerate() {
        let base = &bases[i];
        let collides = bases.iter().filter(|b| *b == base).count() > 1;
        let mut name = match (&target.old.manifest_id, collides) {
            (Some(id), true) => format!("{base}-{}", safe_name(id)),
            (None, true) => format!("{base}-{}", i + 1),
            (_, false) => base.clone(),
        };
        while !used.insert(name.clone()) {
            name = format!("{name}-{}", i + 1);
        }
        let mut changes = Vec::new();
        let mut refused = None;
        let mut sans = target.sans.clone();
        if sans.is_empty() {
            match (&target.common_name, CnKind::of(target.common_name.as_deref())) {
                (Some(cn), CnKind::Ip(ip)) => {
                    changes.push(format!(
                        "the old certificate has no subjectAltName: its CN {cn} is an IP address, added as IP:{ip} (clients ignore the CN)"
                    ));
                    sans.push(San::Ip(ip));
                }
                (Some(cn), CnKind::Host) => {
                    changes.push(format!(
                        "the old certificate has no subjectAltName: its CN {cn} is added as DNS:{cn} (browsers ignore the CN)"
                    ));
                    sans.push(San::Dns(cn.clone()));
                }
                (cn, CnKind::NotAHost) if args.add_dns.is_empty() => {
                    let what = match cn {
                        Some(cn) => format!("its CN '{cn}' is not a host name"),
                        None => "it has no CN".into(),
                    };
                    refused = Some(format!(
                        "the old certificate has no subjectAltName and {what}: give the name clients connect to with --add-dns NAME (with --only to pick this certificate)"
                    ));
                }
                (Some(cn), CnKind::NotAHost) => changes.push(format!(
                    "the old certificate has no subjectAltName and its CN '{cn}' is not a host name: not carried over as a name"
                )),
                (None, _) => {}
            }
        }
        if target.unsupported_sans > 0 {
            changes.push(format!(
                "{} subjectAltName entr(y/ies) of other kinds (otherName, directoryName...) not carried over",
                target.unsupported_sans
            ));
        }
        for drop in args.drop_dns {
            let before = sans.len();
            let names: Vec<String> = sans
                .iter()
                .filter_map(|s| match s {
                    San::Dns(n) => Some(n.clone()),
                    _ => None,
                })
                .collect();
            sans.retain(|s| !matches!(s, San::Dns(n) if n.eq_ignore_ascii_case(drop)));
            if sans.len() < before {
                changes.push(format!("- DNS:{drop}"));
            } else if refused.is_none() {
                refused = Some(format!(
                    "--drop-dns {drop} is not a DNS name of the old certificate (its DNS names: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ));
            }
        }
        for add in args.add_dns {
            if sans
                .iter()
                .any(|s| matches!(s, San::Dns(n) if n.eq_ignore_ascii_case(add)))
            {
                changes.push(format!("DNS:{add} is already there"));
            } else {
                sans.push(San::Dns(add.clone()));
                changes.push(format!("+ DNS:{add}"));
            }
        }
        let (subject_der, subject) = match subject_override {
            Some(der) => {
                let text = dn_text(der).unwrap_or_else(|| "(unreadable)".into());
                if *der != target.subject_der {
                    changes.push(format!("subject: {} -> {text}", target.old.subject));
                }
                (der.clone(), text)
            }
            None => (target.subject_der.clone(), target.old.subject.clone()),
        };
        plans.push(Plan {
            csr_path: args.out_dir.join(format!("{name}.csr.pem")),
            key_path: args.out_dir.join(format!("{name}.key.pem")),
            name,
            subject_der,
            subject,
            sans,
            changes,
            target,
            refused,
        });
    }
    plans
}

/// What the CN of a certificate without subjectAltName can become.
enum CnKind {
    Ip(std::net::IpAddr),
    Host,
    NotAHost,
}

impl CnKind {
    fn of(cn: Option<&str>) -> Self {
        let Some(cn) = cn else {
            return CnKind::NotAHost;
        };
        if let Ok(ip) = cn.parse() {
            return CnKind::Ip(ip);
        }
        // A host name as certificates carry it: DNS labels, a wildcard only as the first.
        let rest = cn.strip_prefix("*.").unwrap_or(cn);
        match rustls::pki_types::DnsName::try_from(rest) {
            Ok(_) if cn.is_ascii() => CnKind::Host,
            _ => CnKind::NotAHost,
        }
    }
}

fn dn_text(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::FromDer;
    x509_parser::x509::X509Name::from_der(der)
        .ok()
        .map(|(_, n)| crate::cert::name::rfc4514(&n))
}

/// A file-name-safe version of a host or CN: `*.example.com` → `wildcard.example.com`.
pub fn safe_name(text: &str) -> String {
    let text = text.replace('*', "wildcard");
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out = out.trim_matches(|c| c == '.' || c == '_').to_owned();
    if out.is_empty() {
        out = "certificate".into();
    }
    out.truncate(100);
    out
}

/// Generates keys and CSRs on all cores; a progress counter on a terminal for long runs.
pub fn make_all(
    plans: Vec<Plan>,
    kind: KeyType,
    passphrase: Option<&[u8]>,
    ctx: &Context,
) -> Result<Vec<Made>, Error> {
    let progress = Progress::new(ctx, plans.len(), ("", " keys and CSRs"), false);
    let made: Result<Vec<Made>, String> = plans
        .into_par_iter()
        .map(|plan| {
            let made = make_one(plan, kind, passphrase);
            progress.one_done(made.is_err());
            made
        })
        .collect();
    made.map_err(Error::Usage)
}

fn make_one(plan: Plan, kind: KeyType, passphrase: Option<&[u8]>) -> Result<Made, String> {
    let key =
        request::new_key(kind).map_err(|e| format!("{}: key generation failed: {e}", plan.name))?;
    let new_spki = Sha256::of(&key.subject_public_key_info());
    let csr = request::build_csr(&plan.subject_der, &plan.sans, &key, kind)
        .map_err(|e| format!("{}: signing the CSR failed: {e}", plan.name))?;
    let pkcs8 = keyfile::pkcs8_v1(&Zeroizing::new(key.serialize_der()))
        .map_err(|e| format!("{}: {e}", plan.name))?;
    drop(key);
    let key_pem = match passphrase {
        Some(p) => {
            let enc = keyfile::encrypt_pkcs8(&pkcs8, p)
                .map_err(|e| format!("{}: key encryption failed: {e}", plan.name))?;
            Zeroizing::new(keyfile::pem("ENCRYPTED PRIVATE KEY", &enc))
        }
        None => Zeroizing::new(keyfile::pem("PRIVATE KEY", &pkcs8)),
    };
    Ok(Made {
        csr_pem: keyfile::pem("CERTIFICATE REQUEST", &csr),
        key_pem,
        new_spki,
        plan,
    })
}

/// Errors met while collecting targets (named like scan's error records).
pub struct Found {
    pub targets: Vec<Target>,
    pub exposed: HashSet<Sha256>,
    pub errors: Vec<InputError>,
    /// Certificates issued before the cutoff with no upload date: not judged, so no CSR.
    pub undated: Vec<String>,
}

/// Shared by unit tests that check our bytes against the real OpenSSL CLI.
#[cfg(test)]
pub(crate) mod test_support {
    /// CI installs openssl (.ci/run): a missing one fails the test rather than skipping it.
    pub fn require_openssl() {
        let found = std::process::Command::new("openssl")
            .arg("version")
            .output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "the openssl CLI is needed for this test (apt-get install openssl)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_equal_to_an_old_or_exposed_one_is_refused() {
        let fresh = Sha256::of(b"fresh");
        let old = Sha256::of(b"old");
        let exposed: HashSet<Sha256> = [Sha256::of(b"leaked")].into();
        assert!(!key_is_known(&fresh, &old, &exposed));
        assert!(key_is_known(&old, &old, &exposed));
        assert!(key_is_known(&Sha256::of(b"leaked"), &old, &exposed));
    }

    #[test]
    fn what_a_cn_can_become() {
        let kind = |cn: &str| match CnKind::of(Some(cn)) {
            CnKind::Ip(ip) => format!("ip {ip}"),
            CnKind::Host => "host".into(),
            CnKind::NotAHost => "none".into(),
        };
        assert_eq!(kind("10.0.0.5"), "ip 10.0.0.5");
        assert_eq!(kind("2001:db8::1"), "ip 2001:db8::1");
        assert_eq!(kind("www.example.com"), "host");
        assert_eq!(kind("*.example.com"), "host");
        assert_eq!(kind("intranet"), "host");
        for bad in [
            "Acme Web Server",
            "../x",
            "a.*.example.com",
            "",
            "x/y",
            "caf\u{e9}.example",
        ] {
            assert_eq!(kind(bad), "none", "{bad}");
        }
        assert!(matches!(CnKind::of(None), CnKind::NotAHost));
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("*.example.com"), "wildcard.example.com");
        assert_eq!(safe_name("../../etc/passwd"), "etc_passwd");
        assert_eq!(safe_name("CN with space"), "CN_with_space");
        assert_eq!(safe_name(""), "certificate");
    }
}
