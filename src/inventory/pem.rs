//! A streaming PEM reader: finds `-----BEGIN X-----` … `-----END X-----` blocks line by line.
//!
//! x509-parser's PEM iterator silently yields nothing for indented PEM, DER or garbage, so we
//! read blocks ourselves: text between blocks, CRLF, a UTF-8 BOM and indentation are accepted;
//! a block without its END line, a mismatched END, or broken base64 is reported per block.

use std::io::{self, BufRead};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use zeroize::Zeroizing;

/// Longest line kept whole; longer lines (in binary junk) are cut, as only their start matters.
const MAX_LINE: usize = 16 * 1024;

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One PEM block, decoded. `number` counts blocks in the file from 1.
pub struct PemBlock {
    pub number: usize,
    pub line: usize,
    pub label: String,
    /// RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mean legacy OpenSSL encryption.
    pub encrypted_headers: bool,
    pub der: Zeroizing<Vec<u8>>,
}

/// A block that could not be decoded, with the reason (never any of its content).
pub struct PemFault {
    pub number: usize,
    pub line: usize,
    pub reason: String,
}

pub enum PemItem {
    Block(PemBlock),
    Fault(PemFault),
}

pub struct PemReader<R> {
    reader: R,
    line_no: usize,
    blocks: usize,
    line: Vec<u8>,
    /// A BEGIN line met while inside another block: start of the next block.
    pending_begin: Option<(String, usize)>,
    /// When this reader sees one piece of a larger input: the line where the next piece's
    /// first block begins (a block cut off by the piece's end is missing its END line).
    next_begin_line: Option<usize>,
    done: bool,
}

impl<R: BufRead> PemReader<R> {
    pub fn new(reader: R) -> Self {
        Self::piece(reader, 0, 0, None)
    }

    /// A reader for one piece of an input that starts after `lines_before` lines and
    /// `blocks_before` blocks, so line and block numbers stay those of the whole input.
    pub fn piece(
        reader: R,
        lines_before: usize,
        blocks_before: usize,
        next_begin_line: Option<usize>,
    ) -> Self {
        PemReader {
            reader,
            line_no: lines_before,
            blocks: blocks_before,
            line: Vec::with_capacity(128),
            pending_begin: None,
            next_begin_line,
            done: false,
        }
    }

    /// Number of BEGIN lines seen so far.
    pub fn blocks_seen(&self) -> usize {
        self.blocks
    }

    /// Reads one line (without its end-of-line bytes) into `self.line`; false at EOF.
    fn next_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        let mut any = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            any = true;
            let (chunk, found_newline) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = chunk.len();
            self.reader.consume(used);
            if found_newline {
                break;
            }
        }
        if !any {
            return Ok(false);
        }
        self.line_no += 1;
        if self.line_no == 1 && self.line.starts_with(BOM) {
            self.line.drain(..3);
        }
        while matches!(self.line.last(), Some(b'\n' | b'\r')) {
            self.line.pop();
        }
        Ok(true)
    }

    fn trimmed(&self) -> &[u8] {
        self.line.trim_ascii()
    }

    fn read_block(&mut self, label: String, number: usize, line: usize) -> io::Result<PemItem> {
        let mut body: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
        let mut encrypted_headers = false;
        let fault = |reason: String| {
            PemItem::Fault(PemFault {
                number,
                line,
                reason,
            })
        };
        loop {
            if !self.next_line()? {
                self.done = true;
                return Ok(fault(match self.next_begin_line {
                    Some(next) => format!(
                        "'{label}' block has no END line (another block begins at line {next})"
                    ),
                    None => format!(
                        "'{label}' block has no END line (file ends at line {})",
                        self.line_no
                    ),
                }));
            }
            let t = self.trimmed();
            if let Some(end_label) = delimited(t, b"-----END ") {
                if end_label != label {
                    return Ok(fault(format!(
                        "'{label}' block ends with a mismatched 'END {end_label}' line at line {}",
                        self.line_no
                    )));
                }
                break;
            }
            if let Some(next_label) = delimited(t, b"-----BEGIN ") {
                self.pending_begin = Some((next_label, self.line_no));
                return Ok(fault(format!(
                    "'{label}' block has no END line (another block begins at line {})",
                    self.line_no
                )));
            }
            if t.contains(&b':') {
                // RFC 1421 header lines such as "Proc-Type: 4,ENCRYPTED" / "DEK-Info: ...".
                encrypted_headers |= t.starts_with(b"Proc-Type:") && t.ends_with(b"ENCRYPTED");
                continue;
            }
            body.extend(t.iter().filter(|b| !b.is_ascii_whitespace()));
        }
        match BASE64.decode(&body[..]) {
            Ok(der) => Ok(PemItem::Block(PemBlock {
                number,
                line,
                label,
                encrypted_headers,
                der: Zeroizing::new(der),
            })),
            Err(e) => Ok(fault(format!("'{label}' block has invalid base64: {e}"))),
        }
    }
}

impl<R: BufRead> Iterator for PemReader<R> {
    type Item = io::Result<PemItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (label, line) = match self.pending_begin.take() {
            Some(p) => p,
            None => loop {
                match self.next_line() {
                    Err(e) => return Some(Err(e)),
                    Ok(false) => {
                        self.done = true;
                        return None;
                    }
                    Ok(true) => {
                        if let Some(label) = delimited(self.trimmed(), b"-----BEGIN ") {
                            break (label, self.line_no);
                        }
                    }
                }
            },
        };
        self.blocks += 1;
        let number = self.blocks;
        Some(self.read_block(label, number, line))
    }
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Is this raw line (as split on `\n`) a BEGIN line? The same test the reader applies.
pub fn is_begin_line(raw: &[u8], first_line_of_input: bool) -> bool {
    let raw = if first_line_of_input {
        raw.strip_prefix(BOM).unwrap_or(raw)
    } else {
        raw
    };
    delimited(raw.trim_ascii(), b"-----BEGIN ").is_some()
}

/// `-----BEGIN LABEL-----` → `LABEL` (for the given prefix).
fn delimited(line: &[u8], prefix: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(prefix)?;
    let label = rest.strip_suffix(b"-----")?;
    std::str::from_utf8(label).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<(String, usize, Vec<u8>), String>;

    fn read(text: &str) -> Vec<Read> {
        PemReader::new(text.as_bytes())
            .map(|item| match item.expect("in-memory reads cannot fail") {
                PemItem::Block(b) => Ok((b.label, b.number, b.der.to_vec())),
                PemItem::Fault(f) => Err(format!("{}@{}: {}", f.number, f.line, f.reason)),
            })
            .collect()
    }

    #[test]
    fn reads_blocks_with_text_crlf_bom_and_indentation() {
        let text = "\u{feff}hello\r\n-----BEGIN A-----\r\nYWJj\r\n-----END A-----\r\nmid\n    -----BEGIN B-----\n    ZGVm\n    -----END B-----\n";
        assert_eq!(
            read(text),
            vec![
                Ok(("A".into(), 1, b"abc".to_vec())),
                Ok(("B".into(), 2, b"def".to_vec()))
            ]
        );
    }

    #[test]
    fn reports_missing_end_mismatch_and_bad_base64() {
        let r = read("-----BEGIN A-----\nYWJj\n");
        assert_eq!(r.len(), 1);
        assert!(r[0].as_ref().unwrap_err().contains("no END line"));

        let r = read("-----BEGIN A-----\nYWJj\n-----BEGIN B-----\nZGVm\n-----END B-----\n");
        assert!(r[0]
            .as_ref()
            .unwrap_err()
            .contains("another block begins at line 3"));
        assert_eq!(r[1], Ok(("B".into(), 2, b"def".to_vec())));

        let r = read("-----BEGIN A-----\nYWJj\n-----END B-----\n");
        assert!(r[0].as_ref().unwrap_err().contains("mismatched"));

        let r = read("-----BEGIN A-----\n!!!@@@\n-----END A-----\n");
        assert!(r[0].as_ref().unwrap_err().contains("invalid base64"));
    }

    #[test]
    fn long_binary_lines_are_bounded() {
        let junk = vec![b'x'; MAX_LINE * 3];
        let mut r = PemReader::new(&junk[..]);
        assert!(r.next().is_none());
        assert_eq!(r.blocks_seen(), 0);
    }
}
