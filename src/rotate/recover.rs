//! Crash recovery for `rotate csr`: before key files are written the plan records the intent
//! (paths and new public key) of each item; a run that finds files at an item's paths adopts
//! them if they hold that key, and otherwise moves them aside (never overwrites or deletes a
//! key) and says so. A `kill -9` at any instant therefore needs no manual clean-up.

use std::fs;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::plan::{self, Event};
use super::state::{CsrRecord, Item};
use crate::error::Error;
use crate::inventory::{self, limits, PublicKind, ReadOptions};

/// What became of an item's leftovers.
pub enum Recovered {
    /// The files were the item's recorded intent: it is now `csr-generated`.
    Adopted(String),
    /// A fresh key and CSR are still needed; the notes say what was moved aside.
    Fresh(Vec<String>),
}

/// Looks at the files at `key_path` and `csr_path` (where this run would write the item's
/// new key and CSR) and the intent an interrupted run recorded. `stored` turns a path into
/// its form in the plan.
pub fn recover(
    item: &mut Item,
    key_path: &Path,
    csr_path: &Path,
    stored: impl Fn(&Path) -> String,
    passphrase: Option<&Zeroizing<Vec<u8>>>,
    at: &str,
    actor: &str,
) -> Result<Recovered, Error> {
    let intent = item.csr_intent.take();
    let (key_there, csr_there) = (is_regular(key_path), is_regular(csr_path));
    if let Some(intent) = intent {
        let same_place = intent.key_path == stored(key_path) && intent.csr_path == stored(csr_path);
        if same_place
            && key_there
            && csr_there
            && key_spki(key_path, passphrase).as_deref() == Some(&intent.new_spki_sha256)
            && csr_spki(csr_path).as_deref() == Some(&intent.new_spki_sha256)
        {
            let id = item.id.clone();
            plan::apply(item, Event::CsrGenerated(intent), at, actor).map_err(Error::Refused)?;
            return Ok(Recovered::Adopted(format!(
                "{id}: planned -> csr-generated (adopted {} and {}: an interrupted run wrote \
                 them for this item, with the new key recorded in the plan)",
                csr_path.display(),
                key_path.display()
            )));
        }
    }
    let mut notes = Vec::new();
    for (path, there) in [(key_path, key_there), (csr_path, csr_there)] {
        if !there {
            continue;
        }
        let aside = move_aside(path).map_err(|e| {
            Error::State(format!(
                "{} is in the way of item {} and could not be moved aside: {e}; nothing was \
                 written",
                path.display(),
                item.id
            ))
        })?;
        notes.push(format!(
            "{}: moved {} aside to {} (left by an interrupted run, it does not hold the new \
             key recorded for this item; kept, not deleted)",
            item.id,
            path.display(),
            aside.display()
        ));
    }
    Ok(Recovered::Fresh(notes))
}

/// The intent recorded before files are written: the same record `csr-generated` keeps.
pub fn record_intent(item: &mut Item, record: CsrRecord) {
    item.csr_intent = Some(record);
}

/// A regular file (not a symlink: a link planted there is left for the no-clobber check to
/// refuse).
fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// The SPKI SHA-256 (hex) of the one private key in `path`, if it can be read.
fn key_spki(path: &Path, passphrase: Option<&Zeroizing<Vec<u8>>>) -> Option<String> {
    let loaded = read(
        path,
        &ReadOptions {
            key_only_ok: true,
            key_passphrase: passphrase,
            ..ReadOptions::default()
        },
    )?;
    match loaded.keys.as_slice() {
        [(_, spki)] if loaded.errors.is_empty() => Some(spki.to_string()),
        _ => None,
    }
}

/// The SPKI SHA-256 (hex) of the one CSR in `path`, if it can be read.
pub(super) fn csr_spki(path: &Path) -> Option<String> {
    let loaded = read(
        path,
        &ReadOptions {
            key_only_ok: true,
            ..ReadOptions::default()
        },
    )?;
    match loaded.public.as_slice() {
        [(_, PublicKind::Request, spki, _)] if loaded.errors.is_empty() => Some(spki.to_string()),
        _ => None,
    }
}

fn read(path: &Path, opts: &ReadOptions<'_>) -> Option<inventory::Loaded> {
    let file = limits::open_regular(path).ok()?;
    inventory::read_input_with(BufReader::new(file), opts).ok()
}

/// Renames `path` to `path.interrupted-N` (the first N free), never replacing anything.
fn move_aside(path: &Path) -> io::Result<PathBuf> {
    for n in 1..1000 {
        let mut name = path.as_os_str().to_os_string();
        name.push(format!(".interrupted-{n}"));
        let aside = PathBuf::from(name);
        // A hard link fails if the name exists; then the old name is removed.
        match fs::hard_link(path, &aside) {
            Ok(()) => {
                fs::remove_file(path)?;
                return Ok(aside);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("1000 earlier copies are already there"))
}
