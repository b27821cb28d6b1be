//! Recursive directory walk that follows symlinks but reports loops instead of looping.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{describe_io, Inventory};

/// Appends every regular file under `dir` (sorted, dot-files skipped) to `files`; anything
/// else that is not a folder (a FIFO, a device) becomes an error record.
pub fn files_under(dir: &Path, files: &mut Vec<PathBuf>, inv: &mut Inventory) {
    let mut ancestors = Vec::new();
    let mut visited = HashSet::new();
    walk(dir, &mut ancestors, &mut visited, files, inv);
}

fn walk(
    dir: &Path,
    ancestors: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    inv: &mut Inventory,
) {
    let real = match dir.canonicalize() {
        Ok(r) => r,
        Err(e) => return inv.error(dir.display().to_string(), None, describe_io(&e)),
    };
    if let Some(a) = ancestors.iter().find(|a| **a == real) {
        return inv.error(
            dir.display().to_string(),
            None,
            format!(
                "symlink loop: this directory is {}, which contains it; not followed",
                a.display()
            ),
        );
    }
    if !visited.insert(real.clone()) {
        return; // reached again through another link: already read once
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return inv.error(dir.display().to_string(), None, describe_io(&e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    ancestors.push(real);
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, ancestors, visited, files, inv),
            Ok(m) if m.is_file() => files.push(path),
            // A FIFO, device or socket in an upload folder is not read (it could block or
            // never end), and the audit must not look complete without it.
            Ok(m) => inv.error(
                path.display().to_string(),
                None,
                super::limits::NotRegular(super::limits::file_kind(&m)).to_string(),
            ),
            Err(_) if path.symlink_metadata().is_ok() => inv.error(
                path.display().to_string(),
                None,
                "broken symlink: its target does not exist".into(),
            ),
            Err(e) => inv.error(path.display().to_string(), None, describe_io(&e)),
        }
    }
    ancestors.pop();
}
