//! The exposed-key set of a stream scan: the SHA-256 of every public key exposed before the
//! cutoff, 32 bytes per key in one sorted vector (no per-key allocation, no hash table).
//!
//! A key exposed by two or more uploads is stored twice: a certificate whose key only its own
//! upload exposed is not "exposed elsewhere" (as in the in-memory scan, where a certificate
//! never exposes its own key to itself).

use std::io::{self, BufRead, Write};

use crate::cert::Sha256;

/// How the set was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// No cutoff and no list: nothing is exposed by upload date.
    None,
    /// The first pass over this stream's own uploads.
    FirstPass,
    /// Given with `--exposed-keys` (the broadcast side of a join): every key on it counts as
    /// exposed elsewhere.
    Listed,
}

pub struct ExposedSet {
    /// Sorted; a key appears once (exposed by one upload) or twice (by several, or listed).
    keys: Vec<Sha256>,
    /// Keys pushed since the last compaction start at `sorted`.
    sorted: usize,
    pub origin: Origin,
}

/// At least this many keys are collected between two compactions.
const MIN_PENDING: usize = 1 << 20;

impl ExposedSet {
    pub fn new(origin: Origin) -> Self {
        ExposedSet {
            keys: Vec::new(),
            sorted: 0,
            origin,
        }
    }

    /// Adds the keys one upload exposes (each once per upload).
    pub fn add_upload(&mut self, keys: &[Sha256]) {
        if self.keys.len() + keys.len() > self.keys.capacity() {
            self.compact();
            let pending = (self.keys.len() / 4).max(MIN_PENDING);
            self.keys.reserve_exact(pending.max(keys.len()));
        }
        self.keys.extend_from_slice(keys);
    }

    /// Sorts, and keeps at most two copies of every key.
    pub fn compact(&mut self) {
        if self.sorted == self.keys.len() {
            return;
        }
        self.keys.sort_unstable();
        let mut w = 0;
        for r in 0..self.keys.len() {
            let k = self.keys[r];
            if w >= 2 && self.keys[w - 1] == k && self.keys[w - 2] == k {
                continue;
            }
            self.keys[w] = k;
            w += 1;
        }
        self.keys.truncate(w);
        self.sorted = w;
    }

    /// Finishes collection: sorted, the spare capacity given back.
    pub fn finish(&mut self) {
        self.compact();
        self.keys.shrink_to_fit();
    }

    /// Distinct keys in the set.
    pub fn len(&self) -> usize {
        let mut n = 0;
        let mut prev: Option<&Sha256> = None;
        for k in &self.keys {
            if prev != Some(k) {
                n += 1;
            }
            prev = Some(k);
        }
        n
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains(&self, key: &Sha256) -> bool {
        self.count(key) > 0
    }

    /// 0, 1, or 2 (= two or more uploads, or listed).
    fn count(&self, key: &Sha256) -> usize {
        let lo = self.keys.partition_point(|k| k < key);
        self.keys[lo..].iter().take(2).filter(|k| *k == key).count()
    }

    /// Is `key` exposed by something other than the upload being judged? `self_exposes`:
    /// that upload itself exposes it (so one exposure is its own).
    pub fn elsewhere(&self, key: &Sha256, self_exposes: bool) -> bool {
        match self.origin {
            Origin::Listed => self.contains(key),
            _ => match self.count(key) {
                0 => false,
                1 => !self_exposes,
                _ => true,
            },
        }
    }

    /// Reads `--exposed-keys` lists: one SHA-256 hex digest per line, `#` comments allowed.
    /// Returns the reasons for lines that are not digests (line number first).
    /// Lines of at most `limits::MAX_LINE` bytes are read; the problems returned are the
    /// first ten (and the count of the rest), not one per bad line.
    pub fn read_list(&mut self, mut input: impl BufRead) -> io::Result<Vec<(usize, String)>> {
        let mut bad = Vec::new();
        let mut more_bad = 0usize;
        let mut line = Vec::new();
        let mut n = 0;
        while let Some(too_long) = crate::inventory::limits::next_line(&mut input, &mut line)? {
            n += 1;
            let problem = if too_long {
                Some(format!(
                    "longer than the limit of {} for one line; not read",
                    crate::inventory::limits::show_size(crate::inventory::limits::MAX_LINE as u64)
                ))
            } else {
                None
            };
            let text = String::from_utf8_lossy(&line);
            let token = crate::audit::exposed_key_token(&text);
            let problem = match (problem, token) {
                (Some(p), _) => Some(p),
                (None, None) => None,
                (None, Some(token)) => match Sha256::parse_hex(token) {
                    Some(d) => {
                        self.add_upload(&[d]);
                        None
                    }
                    None => Some("not a SHA-256 hex digest".to_owned()),
                },
            };
            if let Some(p) = problem {
                if bad.len() < 10 {
                    bad.push((n, p));
                } else {
                    more_bad += 1;
                }
            }
        }
        if more_bad > 0 {
            // Line 0: about the whole list.
            bad.push((
                0,
                format!("{more_bad} more bad line(s) were counted, not listed"),
            ));
        }
        Ok(bad)
    }

    /// Writes every key once, hex, one per line.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut prev: Option<&Sha256> = None;
        for k in &self.keys {
            if prev != Some(k) {
                writeln!(out, "{k}")?;
            }
            prev = Some(k);
        }
        Ok(())
    }
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo, found by walking the DER headers
/// without parsing the rest (the first pass needs only this). `None`: not a well-formed
/// certificate header; the caller falls back to the full parser.
pub fn spki_of_cert(der: &[u8]) -> Option<Sha256> {
    let (cert, _) = enter(der, 0x30)?;
    let (mut tbs, _) = enter(cert, 0x30)?;
    // [0] EXPLICIT version, optional.
    if tbs.first() == Some(&0xa0) {
        tbs = skip(tbs)?;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        tbs = skip(tbs)?;
    }
    let (hdr, len) = header(tbs)?;
    if tbs.first() != Some(&0x30) {
        return None;
    }
    Some(Sha256::of(tbs.get(..hdr + len)?))
}

/// (header length, content length) of the TLV at the start of `b` (definite lengths only).
fn header(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some((2, first as usize));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *b.get(2 + i)? as usize;
    }
    Some((2 + n, len))
}

/// The contents of the TLV at the start of `b` (which must have `tag`), and what follows it.
fn enter(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *b.first()? != tag {
        return None;
    }
    let (h, len) = header(b)?;
    Some((b.get(h..h + len)?, b.get(h + len..)?))
}

/// What follows the TLV at the start of `b`.
fn skip(b: &[u8]) -> Option<&[u8]> {
    let (h, len) = header(b)?;
    b.get(h + len..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_for_one_upload_two_for_more_and_listed_always_elsewhere() {
        let (a, b, c) = (Sha256([1; 32]), Sha256([2; 32]), Sha256([3; 32]));
        let mut s = ExposedSet::new(Origin::FirstPass);
        s.add_upload(&[a, b]);
        s.add_upload(&[b]);
        s.add_upload(&[b]);
        s.finish();
        assert_eq!(s.len(), 2);
        assert!(s.elsewhere(&a, false) && !s.elsewhere(&a, true));
        assert!(s.elsewhere(&b, true));
        assert!(!s.elsewhere(&c, false));
        let mut l = ExposedSet::new(Origin::Listed);
        l.add_upload(&[a]);
        l.finish();
        assert!(l.elsewhere(&a, true));
    }

    #[test]
    fn the_header_walk_finds_the_same_key_as_the_parser() {
        let pem = include_str!("../../fixtures/demo/uploads/fresh.pem");
        let first = pem.split("-----END").next().expect("a block");
        let b64: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        let facts = crate::cert::parse_der(&der).expect("a certificate");
        assert_eq!(spki_of_cert(&der), Some(facts.spki));
        assert_eq!(spki_of_cert(&der[..40]), None);
    }
}
