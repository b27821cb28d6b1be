//! The rotation plan file: its shape, its invariants, and how it is read and written.
//!
//! Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder)
//! and happen under an exclusive lock on a sidecar `.lock` file, so a crash or a second
//! concurrent command leaves either the old or the new plan, never a torn or lost one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::classify::UnknownUpload;
use crate::error::Error;

/// Version of the state file's shape; a file from a newer version is refused, not guessed at.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// The steps of DESIGN.md's walk, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Planned,
    CsrGenerated,
    Issued,
    Uploaded,
    Verified,
    Revoked,
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Planned => "planned",
            Step::CsrGenerated => "csr-generated",
            Step::Issued => "issued",
            Step::Uploaded => "uploaded",
            Step::Verified => "verified",
            Step::Revoked => "revoked",
            Step::Done => "done",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub schema_version: u32,
    pub policy: StatePolicy,
    pub created_at: String,
    /// Public-key hashes (SPKI SHA-256) exposed at init: a new key must differ from all.
    pub exposed_keys: Vec<String>,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatePolicy {
    pub cutoff: String,
    pub unknown_upload: UnknownUpload,
}

/// One certificate to rotate, with everything learnt along the way (never key bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub step: Step,
    pub host: Option<String>,
    pub manifest_id: Option<String>,
    pub old: OldCert,
    pub csr: Option<CsrRecord>,
    pub issued: Option<IssuedRecord>,
    pub upload: Option<UploadRecord>,
    pub verification: Option<VerificationRecord>,
    pub revocation: Option<RevocationRecord>,
    pub history: Vec<HistoryEntry>,
    /// `rotate csr` records the key and CSR it is about to write here, before writing them,
    /// and clears it once they are recorded in `csr`: a run killed in between leaves files
    /// the next run can recognise (see `recover.rs`). Absent from the file when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr_intent: Option<CsrRecord>,
    /// `rotate issue` records the ACME order it made here before finalizing it, and clears
    /// it when the certificate is recorded (or the order is dead): a run killed after the CA
    /// issued resumes that order instead of ordering a second certificate. Absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_intent: Option<AcmeIntent>,
}

/// An ACME order in progress for an item (see `Item::acme_intent`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeIntent {
    pub directory: String,
    pub order_url: String,
    /// The account file (relative to the plan's folder) that owns the order.
    pub account_path: String,
    /// The new key of the CSR the order is (to be) finalized with.
    pub new_spki_sha256: String,
    /// Finalize was about to be sent (the CA may have issued the certificate).
    pub finalize_sent: bool,
    pub at: String,
    /// The `--acme-roots` and `--roots` files the order was made with (stored like
    /// `account_path`): the printed resume command trusts the same CA. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acme_roots: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OldCert {
    pub status: String,
    pub source_path: String,
    pub source_index: usize,
    pub fingerprint_sha256: String,
    pub spki_sha256: String,
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    /// SHA-256 of the issuer name's DER: which CRL issuer must list the serial.
    pub issuer_name_sha256: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub not_after: String,
    /// The old certificate itself (public), so the plan does not depend on the inventory.
    pub pem: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrRecord {
    pub csr_path: String,
    pub key_path: String,
    pub key_type: String,
    pub new_spki_sha256: String,
    pub subject: String,
    pub sans: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedRecord {
    pub cert_path: String,
    pub fingerprint_sha256: String,
    pub serial: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// Set when `rotate issue` got the certificate from an ACME CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeOrder>,
}

/// Where an ACME-issued certificate came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeOrder {
    pub directory: String,
    pub order_url: String,
    /// The account file (relative to the plan's folder); never the key itself.
    pub account_path: String,
    pub challenge: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRecord {
    pub at: String,
    pub endpoint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    pub at: String,
    pub endpoint: String,
    pub sni: Option<String>,
    pub served_fingerprint_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationRecord {
    pub at: String,
    /// Set when the revocation was recorded with `--force` before verification.
    pub forced_reason: Option<String>,
    /// Set once a CRL signed by the old issuer lists the old serial.
    pub crl: Option<CrlEvidence>,
    /// Set when `rotate revoke` asked an ACME CA to revoke the old certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeRevocation>,
}

/// The evidence of an ACME revocation: who signed it, why, and what the CA answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeRevocation {
    pub directory: String,
    /// `certificate-key` (signed by the old certificate's own key) or `account`.
    pub signer: String,
    /// SHA-256 of the signing public key (SubjectPublicKeyInfo).
    pub signer_spki_sha256: String,
    /// RFC 5280 reason code: 1 is keyCompromise.
    pub reason_code: u8,
    pub reason: String,
    pub at: String,
    /// `revoked`, or `already-revoked` (the CA had revoked it before).
    pub outcome: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlEvidence {
    /// The CRL file (relative to the plan), or the OCSP responder's URL.
    pub path: String,
    pub crl_number: Option<String>,
    pub reason: Option<String>,
    pub revoked_at: Option<String>,
    /// Set when an OCSP answer, not a CRL, confirmed it (`rotate revoked --ocsp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_responder: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from: Step,
    pub to: Step,
    pub detail: String,
}

impl State {
    /// Checks what the type system cannot: each step has the evidence its position implies,
    /// and ids are unique. A hand-edited, impossible plan is refused, not repaired.
    pub fn validate(&self) -> Result<(), String> {
        if self.schema_version > STATE_SCHEMA_VERSION {
            return Err(format!(
                "written by a newer certsweep (schema_version {}; this one reads {STATE_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for item in &self.items {
            if !ids.insert(&item.id) {
                return Err(format!("item id '{}' appears twice", item.id));
            }
            let need = |ok: bool, what: &str| {
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "item '{}' is at step '{}' but has no {what} record: the file was edited into an impossible state",
                        item.id,
                        item.step.as_str()
                    ))
                }
            };
            // A forced revocation may skip any earlier step; it is recorded as such.
            let forced = item
                .revocation
                .as_ref()
                .is_some_and(|r| r.forced_reason.is_some());
            need(
                item.step < Step::CsrGenerated || item.csr.is_some() || forced,
                "csr",
            )?;
            need(
                item.step < Step::Issued || item.issued.is_some() || forced,
                "issued",
            )?;
            need(
                item.step < Step::Uploaded || item.upload.is_some() || forced,
                "upload",
            )?;
            need(
                item.step < Step::Verified || item.verification.is_some() || forced,
                "verification",
            )?;
            need(
                item.step < Step::Revoked || item.revocation.is_some(),
                "revocation",
            )?;
            need(
                item.step < Step::Done || item.revocation.as_ref().is_some_and(|r| r.crl.is_some()),
                "CRL confirmation",
            )?;
        }
        Ok(())
    }

    /// The item whose id is `id`, or the one item whose id starts with it (as the help
    /// promises); an ambiguous prefix is refused with the candidates.
    pub fn item_mut(&mut self, id: &str) -> Result<&mut Item, Error> {
        let n = self.find(id)?;
        Ok(&mut self.items[n])
    }

    /// The index of the item `id` names (whole id or unique prefix).
    pub fn find(&self, id: &str) -> Result<usize, Error> {
        if let Some(n) = self.items.iter().position(|i| i.id == id) {
            return Ok(n);
        }
        let matches: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| !id.is_empty() && i.id.starts_with(id))
            .map(|(n, _)| n)
            .collect();
        match matches[..] {
            [n] => Ok(n),
            [] => Err(Error::Usage(format!(
                "no item '{}' in the plan (see `certsweep rotate status`)",
                crate::sanitize::escape(id)
            ))),
            _ => {
                let names: Vec<&str> = matches.iter().map(|&n| self.items[n].id.as_str()).collect();
                Err(Error::Usage(format!(
                    "'{}' matches {} items: {}; give more of the id",
                    crate::sanitize::escape(id),
                    names.len(),
                    crate::sanitize::escape(&names.join(", "))
                )))
            }
        }
    }
}

/// Reads and checks the plan. `Ok(None)` if there is none yet.
pub fn load(path: &Path) -> Result<Option<State>, Error> {
    let bytes = match crate::inventory::limits::read_side_file(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(path, &crate::inventory::describe_io(&e))),
    };
    let text = String::from_utf8(bytes).map_err(|_| unreadable(path, "not UTF-8 text"))?;
    // The version first, so a newer file gets the right message, not a field error.
    let version = serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
        unreadable(
            path,
            &format!(
                "not valid JSON: {}",
                crate::inventory::limits::json_error(&e)
            ),
        )
    })?["schema_version"]
        .as_u64();
    match version {
        Some(v) if v > u64::from(STATE_SCHEMA_VERSION) => {
            return Err(unreadable(
                path,
                &format!("written by a newer certsweep (schema_version {v}; this one reads {STATE_SCHEMA_VERSION})"),
            ))
        }
        None => return Err(unreadable(path, "no schema_version: not a certsweep rotation plan")),
        _ => {}
    }
    let state: State = serde_json::from_str(&text).map_err(|e| unreadable(path, &e.to_string()))?;
    state.validate().map_err(|e| unreadable(path, &e))?;
    Ok(Some(state))
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::State(format!(
        "rotation plan {} is unreadable: {why}; it was left untouched",
        path.display()
    ))
}

/// Writes the plan atomically: a reader or a crash sees the old or the new file, whole.
pub fn save(path: &Path, state: &State) -> Result<(), Error> {
    state.validate().map_err(Error::State)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        serde_json::to_writer_pretty(&mut f, state).map_err(io::Error::from)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(|e| Error::State(format!("cannot write {}: {e}", path.display())))?;
    remove_stale_temps(&dir, &file_name);
    Ok(())
}

/// Temporary files left by writers that were killed mid-write. Writers hold the lock, which
/// the caller holds now, so none of these is anyone's work in progress.
fn remove_stale_temps(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// An exclusive lock on `STATE.lock`, held until dropped.
pub struct Lock {
    _file: File,
}

/// Takes the lock, waiting up to `timeout` for another certsweep to finish.
pub fn lock(path: &Path, timeout: Duration) -> Result<Lock, Error> {
    let lock_path = lock_path(path);
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A symlink planted at the lock path must not make us create or touch its target.
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    if fs::symlink_metadata(&lock_path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(planted_link(&lock_path));
    }
    let file = options.open(&lock_path).map_err(|e| {
        if lock_path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            planted_link(&lock_path)
        } else {
            Error::State(format!("cannot open {}: {e}", lock_path.display()))
        }
    })?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::State(format!(
                    "another certsweep holds the lock on {} (waited {} s; --lock-timeout)",
                    path.display(),
                    timeout.as_secs()
                )))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::State(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )))
            }
        }
    }
}

fn planted_link(lock_path: &Path) -> Error {
    Error::State(format!(
        "{} is a symbolic link; refusing to follow it (the lock file must be a plain file: \
         remove the link)",
        lock_path.display()
    ))
}

pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}
