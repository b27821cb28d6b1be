//! Which certificates get a replacement CSR: `--cert`, `--from-report`, or an inventory.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::request::San;
use super::Found;
use crate::cert::Sha256;
use crate::classify::{self, Action};
use crate::cli::CsrArgs;
use crate::config::Context;
use crate::error::Error;
use crate::inventory::{self, describe_io, Inventory, Loaded, ReadOptions};

/// The old certificate a CSR replaces, as the output names it.
#[derive(Clone, Debug)]
pub struct OldRef {
    pub path: String,
    pub index: usize,
    pub manifest_id: Option<String>,
    pub host: Option<String>,
    pub fingerprint: Sha256,
    pub spki: Sha256,
    pub subject: String,
}

/// An old certificate's identity, read from its DER.
#[derive(Clone, Debug)]
pub struct Target {
    pub old: OldRef,
    pub subject_der: Vec<u8>,
    pub common_name: Option<String>,
    pub sans: Vec<San>,
    pub unsupported_sans: usize,
}

impl Target {
    /// Whether `--only NAME` picks this certificate: its manifest id, host, a DNS name or
    /// the CN (names compared case-insensitively).
    pub fn answers_to(&self, name: &str) -> bool {
        let same = |s: &str| s.eq_ignore_ascii_case(name.trim_end_matches('.'));
        self.old.manifest_id.as_deref() == Some(name)
            || self.old.host.as_deref().is_some_and(same)
            || self.common_name.as_deref().is_some_and(same)
            || self
                .sans
                .iter()
                .any(|s| matches!(s, San::Dns(n) if same(n)))
    }

    /// What the files are named after: the host, else the first DNS name, else the CN.
    pub fn display_name(&self) -> String {
        self.old
            .host
            .clone()
            .or_else(|| {
                self.sans.iter().find_map(|s| match s {
                    San::Dns(n) => Some(n.clone()),
                    _ => None,
                })
            })
            .or_else(|| self.common_name.clone())
            .unwrap_or_else(|| self.old.fingerprint.to_string()[..16].to_owned())
    }
}

/// Reads the identity (raw subject bytes, CN, SANs in order) from a certificate's DER.
pub fn target_from_der(der: &[u8], old: OldRef) -> Result<Target, String> {
    let (_, x) = X509Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
    let tbs = &x.tbs_certificate;
    let common_name = tbs
        .subject()
        .iter_common_name()
        .last()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    let mut sans = Vec::new();
    let mut unsupported_sans = 0;
    if let Ok(Some(ext)) = tbs.subject_alternative_name() {
        for gn in &ext.value.general_names {
            match gn {
                GeneralName::DNSName(n) => sans.push(San::Dns((*n).to_owned())),
                GeneralName::RFC822Name(n) => sans.push(San::Email((*n).to_owned())),
                GeneralName::URI(n) => sans.push(San::Uri((*n).to_owned())),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => sans.push(San::Ip(std::net::IpAddr::from([b[0], b[1], b[2], b[3]]))),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        sans.push(San::Ip(std::net::IpAddr::from(a)));
                    }
                    _ => unsupported_sans += 1,
                },
                _ => unsupported_sans += 1,
            }
        }
    }
    // IA5String can only carry ASCII; a non-ASCII SAN in an old certificate is malformed.
    let before = sans.len();
    sans.retain(|s| s.to_string().is_ascii());
    unsupported_sans += before - sans.len();
    Ok(Target {
        old,
        subject_der: tbs.subject().as_raw().to_vec(),
        common_name,
        sans,
        unsupported_sans,
    })
}

pub fn collect(args: &CsrArgs, ctx: &Context) -> Result<Found, Error> {
    let inv_args = &args.inventory;
    let from_inventory = !inv_args.paths.is_empty() || !inv_args.manifest.is_empty();
    if args.cert.is_empty() && args.from_report.is_none() && !from_inventory {
        return Err(Error::Usage(
            "what to replace? give --cert FILE, --from-report scan.json, or PATHs/--manifest with --cutoff".into(),
        ));
    }
    crate::input::stdin_once(
        args.cert
            .iter()
            .map(|p| ("--cert", p.as_path()))
            .chain(inv_args.paths.iter().map(|p| ("PATH", p.as_path())))
            .chain(
                inv_args
                    .manifest
                    .iter()
                    .map(|p| ("--manifest", p.as_path())),
            ),
    )
    .map_err(Error::Usage)?;
    if from_inventory && inv_args.cutoff.is_none() {
        return Err(Error::Usage(
            "a CSR from PATHs or --manifest needs --cutoff, to know which certificates were exposed".into(),
        ));
    }
    let mut found = Found {
        targets: Vec::new(),
        exposed: HashSet::new(),
        errors: Vec::new(),
        undated: Vec::new(),
    };
    // Exposed keys: everything the inventory, the report and the lists know, plus old keys.
    let mut scratch = Inventory::default();
    let prepared = crate::audit::prepare(inv_args, ctx, 30, true)?;
    found
        .exposed
        .extend(prepared.exposed_list.keys.keys().copied());
    found
        .errors
        .extend(prepared.inventory.errors.iter().cloned());
    crate::report::messages::report_warnings(&prepared.inventory.warnings);
    if from_inventory {
        let classified = classify::classify(
            &prepared.inventory,
            &prepared.revocations,
            &prepared.exposed_list,
            &prepared.policy,
        );
        found
            .exposed
            .extend(classified.exposed_keys.iter().copied());
        for c in &prepared.inventory.certs {
            found.exposed.insert(c.facts.spki);
        }
        for k in &prepared.inventory.keys {
            found.exposed.insert(k.spki);
        }
        for (entry, verdict) in prepared.inventory.certs.iter().zip(&classified.verdicts) {
            if verdict.status == classify::Status::UnknownUpload {
                let f = &entry.facts;
                let at = format!("{}#{} ({})", entry.upload.path, entry.index, f.subject);
                found.undated.push(at);
            }
            if verdict.action != Action::Replace {
                continue;
            }
            let Some(der) = &entry.der else { continue };
            let old = OldRef {
                path: entry.upload.path.clone(),
                index: entry.index,
                manifest_id: entry.upload.manifest_id.clone(),
                host: entry.upload.host.clone(),
                fingerprint: entry.facts.fingerprint,
                spki: entry.facts.spki,
                subject: entry.facts.subject.clone(),
            };
            match target_from_der(der, old) {
                Ok(t) => found.targets.push(t),
                Err(reason) => scratch.error(entry.upload.path.clone(), Some(entry.index), reason),
            }
        }
    }
    let opts = ReadOptions {
        key_only_ok: false,
        keep_der: true,
        p12_password: prepared.p12_password.as_ref(),
        key_passphrase: prepared.key_passphrase.as_ref(),
    };
    for path in &args.cert {
        from_cert_file(path, &opts, &mut found, &mut scratch);
    }
    if let Some(report) = &args.from_report {
        from_report(report, &opts, &mut found, &mut scratch)?;
    }
    found.errors.extend(scratch.errors);
    Ok(found)
}

/// One `--cert` file (`-`: stdin), at most 64 MiB.
fn load_file(path: &Path, opts: &ReadOptions<'_>) -> Result<Loaded, String> {
    crate::input::read_all(path, 64 << 20)
        .and_then(|bytes| inventory::read_input_with(std::io::Cursor::new(bytes), opts))
        .map_err(|e| describe_io(&e))
}

/// `--cert FILE`: its leaf (the certificate matching a key in the file, else the first non-CA).
fn from_cert_file(path: &Path, opts: &ReadOptions<'_>, found: &mut Found, scratch: &mut Inventory) {
    let shown = path.display().to_string();
    let loaded = match load_file(path, opts) {
        Ok(l) => l,
        Err(reason) => return scratch.error(shown, None, reason),
    };
    for (index, reason) in &loaded.errors {
        scratch.error(shown.clone(), *index, reason.clone());
    }
    found
        .exposed
        .extend(loaded.certs.iter().map(|(_, f)| f.spki));
    found.exposed.extend(loaded.keys.iter().map(|(_, k)| *k));
    let keys: HashSet<Sha256> = loaded.keys.iter().map(|(_, k)| *k).collect();
    let pick = loaded
        .certs
        .iter()
        .position(|(_, f)| keys.contains(&f.spki))
        .or_else(|| loaded.certs.iter().position(|(_, f)| !f.is_ca));
    let Some(i) = pick else {
        if !loaded.certs.is_empty() {
            scratch.error(
                shown,
                None,
                "no leaf certificate: only CA certificates and no matching key".into(),
            );
        }
        return;
    };
    let (index, facts) = &loaded.certs[i];
    let old = OldRef {
        path: shown.clone(),
        index: *index,
        manifest_id: None,
        host: None,
        fingerprint: facts.fingerprint,
        spki: facts.spki,
        subject: facts.subject.clone(),
    };
    match target_from_der(&loaded.ders[i], old) {
        Ok(t) => found.targets.push(t),
        Err(reason) => scratch.error(shown, Some(*index), reason),
    }
}

/// `--from-report scan.json`: every record whose action is `replace`, re-read from its file
/// and checked against the report's fingerprint (the file may have changed since).
fn from_report(
    report: &Path,
    opts: &ReadOptions<'_>,
    found: &mut Found,
    scratch: &mut Inventory,
) -> Result<(), Error> {
    let shown = report.display().to_string();
    let bytes = crate::input::read_all(report, crate::inventory::limits::MAX_SIDE_FILE)
        .map_err(|e| Error::Usage(format!("--from-report {shown}: {}", describe_io(&e))))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Usage(format!(
            "--from-report {shown}: not JSON: {e} (use scan --format json)"
        ))
    })?;
    if json["schema_version"] != 1 {
        return Err(Error::Usage(format!(
            "--from-report {shown}: expected a certsweep scan report with schema_version 1"
        )));
    }
    let Some(records) = json["certificates"].as_array() else {
        return Err(Error::Usage(format!(
            "--from-report {shown}: no \"certificates\" array"
        )));
    };
    let base = report.parent().unwrap_or(Path::new(""));
    let mut files: HashMap<String, Result<Loaded, String>> = HashMap::new();
    for r in records {
        if let Some(spki) = r["spki_sha256"].as_str().and_then(Sha256::parse_hex) {
            found.exposed.insert(spki);
        }
        if r["action"] != "replace" {
            continue;
        }
        let path = r["source"]["path"].as_str().unwrap_or_default().to_owned();
        let index = r["source"]["index"].as_u64().unwrap_or(0) as usize;
        let want = r["fingerprint_sha256"].as_str().and_then(Sha256::parse_hex);
        let loaded = files
            .entry(path.clone())
            .or_insert_with(|| load_report_source(&path, base, opts));
        let loaded = match loaded {
            Ok(l) => l,
            Err(reason) => {
                scratch.error(path.clone(), Some(index), reason.clone());
                continue;
            }
        };
        // A PKCS#7 block holds several certificates under one block number: prefer the one
        // with the report's fingerprint.
        let at_index = |(n, _): &(usize, Box<crate::cert::CertFacts>)| *n == index;
        let Some(i) = loaded
            .certs
            .iter()
            .position(|c| at_index(c) && Some(c.1.fingerprint) == want)
            .or_else(|| loaded.certs.iter().position(at_index))
        else {
            scratch.error(
                path.clone(),
                Some(index),
                format!("no certificate at block {index} any more (named in {shown})"),
            );
            continue;
        };
        let facts = &loaded.certs[i].1;
        if Some(facts.fingerprint) != want {
            scratch.error(
                path.clone(),
                Some(index),
                format!("the certificate changed since {shown} was written (fingerprint differs); scan again"),
            );
            continue;
        }
        let old = OldRef {
            path: path.clone(),
            index,
            manifest_id: r["source"]["manifest_id"].as_str().map(str::to_owned),
            host: r["source"]["host"].as_str().map(str::to_owned),
            fingerprint: facts.fingerprint,
            spki: facts.spki,
            subject: facts.subject.clone(),
        };
        match target_from_der(&loaded.ders[i], old) {
            Ok(t) => found.targets.push(t),
            Err(reason) => scratch.error(path, Some(index), reason),
        }
    }
    Ok(())
}

/// A report's `source.path`: a file, or `MANIFEST#id` for a certificate given inline in a
/// manifest. Relative paths are tried as given, then beside the report (where the scan that
/// wrote it usually ran).
fn load_report_source(path: &str, base: &Path, opts: &ReadOptions<'_>) -> Result<Loaded, String> {
    let found = |p: &str| {
        let direct = PathBuf::from(p);
        if direct.is_file() {
            return Some(direct);
        }
        Some(base.join(p)).filter(|b| b.is_file())
    };
    if let Some(file) = found(path) {
        return load_file(&file, opts);
    }
    if let Some((manifest, id)) = path.rsplit_once('#') {
        let Some(manifest) = found(manifest) else {
            return Err(format!(
                "manifest not found (tried {manifest} from the current folder and beside the report)"
            ));
        };
        let mut scratch = Inventory::default();
        for entry in inventory::manifest::read(&manifest, &mut scratch) {
            if entry.upload.manifest_id.as_deref() != Some(id) {
                continue;
            }
            if let inventory::manifest::EntrySource::Pem(text) = entry.source {
                return inventory::read_input_with(Cursor::new(text.into_bytes()), opts)
                    .map_err(|e| describe_io(&e));
            }
        }
        return Err(format!(
            "{} has no inline certificate with id {id} any more; scan again",
            manifest.display()
        ));
    }
    Err("file not found (tried from the current folder and beside the report)".into())
}
