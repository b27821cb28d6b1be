//! A PEM reader over bytes in memory: finds `-----BEGIN X-----` … `-----END X-----` blocks line by line.
//!
//! x509-parser's PEM iterator silently yields nothing for indented PEM, DER or garbage, so we
//! read blocks ourselves: text between blocks, CRLF, a UTF-8 BOM and indentation are accepted;
//! a block without its END line, a mismatched END, or broken base64 is reported per block.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use zeroize::Zeroizing;

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
    /// A line that starts like a BEGIN line but whose label is too long to be one: not a
    /// block (block numbers do not count it), reported by line.
    LongBegin {
        line: usize,
        label_len: usize,
    },
}

/// The longest label a BEGIN line may carry (real ones are under 40 bytes).
pub const MAX_LABEL: usize = 256;

/// Reads PEM blocks from bytes in memory, line by line, without copying lines.
pub struct PemReader<'a> {
    data: &'a [u8],
    pos: usize,
    line_no: usize,
    blocks: usize,
    /// A BEGIN line met while inside another block: start of the next block.
    pending_begin: Option<(String, usize)>,
    /// When this reader sees one piece of a larger input: the line where the next piece's
    /// first block begins (a block cut off by the piece's end is missing its END line).
    next_begin_line: Option<usize>,
    done: bool,
}

impl<'a> PemReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self::piece(data, 0, 0, None)
    }

    /// A reader for one piece of an input that starts after `lines_before` lines and
    /// `blocks_before` blocks, so line and block numbers stay those of the whole input.
    pub fn piece(
        data: &'a [u8],
        lines_before: usize,
        blocks_before: usize,
        next_begin_line: Option<usize>,
    ) -> Self {
        PemReader {
            data,
            pos: 0,
            line_no: lines_before,
            blocks: blocks_before,
            pending_begin: None,
            next_begin_line,
            done: false,
        }
    }

    /// Number of BEGIN lines seen so far (including those of earlier pieces).
    pub fn blocks_seen(&self) -> usize {
        self.blocks
    }

    /// The next line, trimmed of its line ending and surrounding white space.
    fn next_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.pos..];
        let (line, used) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += used;
        self.line_no += 1;
        let line = if self.line_no == 1 {
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        Some(line.trim_ascii())
    }

    fn read_block(&mut self, label: String, number: usize, line: usize) -> PemItem {
        let mut body: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(2048));
        let mut encrypted_headers = false;
        let fault = |reason: String| {
            PemItem::Fault(PemFault {
                number,
                line,
                reason,
            })
        };
        loop {
            let Some(t) = self.next_line() else {
                self.done = true;
                return fault(match self.next_begin_line {
                    Some(next) => format!(
                        "'{label}' block has no END line (another block begins at line {next})"
                    ),
                    None => format!(
                        "'{label}' block has no END line (file ends at line {})",
                        self.line_no
                    ),
                });
            };
            if let Some(end_label) = delimited(t, b"-----END ") {
                if end_label != label {
                    return fault(format!(
                        "'{label}' block ends with a mismatched 'END {end_label}' line at line {}",
                        self.line_no
                    ));
                }
                break;
            }
            if let Some(next_label) = delimited(t, b"-----BEGIN ") {
                self.pending_begin = Some((next_label, self.line_no));
                return fault(format!(
                    "'{label}' block has no END line (another block begins at line {})",
                    self.line_no
                ));
            }
            if t.contains(&b':') {
                // RFC 1421 header lines such as "Proc-Type: 4,ENCRYPTED" / "DEK-Info: ...".
                encrypted_headers |= t.starts_with(b"Proc-Type:") && t.ends_with(b"ENCRYPTED");
                continue;
            }
            if t.iter().any(u8::is_ascii_whitespace) {
                body.extend(t.iter().filter(|b| !b.is_ascii_whitespace()));
            } else {
                body.extend_from_slice(t);
            }
        }
        match BASE64.decode(&body[..]) {
            Ok(der) => PemItem::Block(PemBlock {
                number,
                line,
                label,
                encrypted_headers,
                der: Zeroizing::new(der),
            }),
            Err(e) => fault(format!("'{label}' block has invalid base64: {e}")),
        }
    }
}

impl Iterator for PemReader<'_> {
    type Item = PemItem;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (label, line) = match self.pending_begin.take() {
            Some(p) => p,
            None => loop {
                let Some(t) = self.next_line() else {
                    self.done = true;
                    return None;
                };
                if let Some(label) = delimited(t, b"-----BEGIN ") {
                    break (label, self.line_no);
                }
                if t.len() > MAX_LABEL && t.starts_with(b"-----BEGIN ") {
                    return Some(PemItem::LongBegin {
                        line: self.line_no,
                        label_len: t.len() - b"-----BEGIN ".len(),
                    });
                }
            },
        };
        self.blocks += 1;
        let number = self.blocks;
        Some(self.read_block(label, number, line))
    }
}

pub const BOM: &[u8] = b"\xef\xbb\xbf";

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
    if label.len() > MAX_LABEL {
        return None;
    }
    std::str::from_utf8(label).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = Result<(String, usize, Vec<u8>), String>;

    fn read(text: &str) -> Vec<Read> {
        PemReader::new(text.as_bytes())
            .map(|item| match item {
                PemItem::Block(b) => Ok((b.label, b.number, b.der.to_vec())),
                PemItem::Fault(f) => Err(format!("{}@{}: {}", f.number, f.line, f.reason)),
                PemItem::LongBegin { line, label_len } => Err(format!("long@{line}: {label_len}")),
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
    fn long_binary_lines_are_passed_over() {
        let junk = vec![b'x'; 1 << 20];
        let mut r = PemReader::new(&junk[..]);
        assert!(r.next().is_none());
        assert_eq!(r.blocks_seen(), 0);
    }
}
