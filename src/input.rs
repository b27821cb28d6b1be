//! Reading one named input whole, with a size cap: a file, or stdin when the name is `-`
//! (for `inspect`, `csr --cert`, `apps` pages, `probe --targets`…).

use std::io::{self, Read};
use std::path::Path;

/// Whether `path` names stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The whole input, at most `limit` bytes; a larger one is an error that says the limit.
pub fn read_all(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = if is_stdin(path) {
        io::stdin().lock().take(limit + 1).read_to_end(&mut bytes)
    } else {
        // A regular file only: a FIFO or device named here would block or never end. One
        // already over the limit is refused before a byte is read.
        let (file, len) = crate::inventory::limits::open_regular_sized(path)?;
        if len > limit {
            return Err(too_large(limit));
        }
        // Sized once: growing by doubling would hold two copies while it moves (a 150 MiB
        // file cost 384 MiB).
        bytes.reserve_exact(len as usize + 1);
        file.take(limit + 1).read_to_end(&mut bytes)
    }?;
    if read as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::other(crate::inventory::limits::TooLarge(limit))
}

/// Refuses a run that names stdin (`-`) more than once: it can be read only once.
pub fn stdin_once<'a>(names: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Result<(), String> {
    let users: Vec<&str> = names
        .into_iter()
        .filter(|(_, p)| is_stdin(p))
        .map(|(flag, _)| flag)
        .collect();
    if users.len() > 1 {
        return Err(format!(
            "stdin (-) can be read only once, but {} all name it",
            users.join(", ")
        ));
    }
    Ok(())
}
