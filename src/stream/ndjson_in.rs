//! NDJSON input for `scan --stream`: one certificate per line, one line per upload —
//! `{"id", "der_b64" | "pem", "uploaded_at", "host", "account"}` (other fields are ignored), the
//! shape a Certificate Transparency dump or a Spark RDD gives.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use base64::Engine;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    der_b64: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pem: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uploaded_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    account: Option<Cow<'a, str>>,
}

/// The certificate a line carries.
pub enum Body {
    Der(Vec<u8>),
    Pem(String),
}

/// One line, read: what is known about the upload, and its certificate.
pub struct Entry {
    pub id: Option<String>,
    pub uploaded_at: Option<OffsetDateTime>,
    pub host: Option<String>,
    pub account: Option<String>,
    pub body: Body,
}

/// Reads one line. `Err` is a sentence saying why it cannot be used (the line number is
/// added by the caller); the id, when it could be read, comes with it.
pub fn parse(text: &str) -> Result<Entry, (Option<String>, String)> {
    let line: Line<'_> = serde_json::from_str(text).map_err(|e| {
        (
            None,
            format!(
                "not a JSON object with string fields id, der_b64 or pem, uploaded_at, host, \
                 account ({})",
                json_reason(&e)
            ),
        )
    })?;
    let id = line.id.map(Cow::into_owned);
    let fail = |reason: String| (id.clone(), reason);
    let uploaded_at = match line.uploaded_at.as_deref() {
        None | Some("") => None,
        Some(t) => {
            // The parser's sentence quotes the text already.
            Some(crate::timefmt::parse(t).map_err(|e| fail(format!("uploaded_at: {e}")))?)
        }
    };
    let body = match (line.der_b64, line.pem) {
        (Some(b64), None) => Body::Der(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim().as_bytes())
                .map_err(|e| fail(format!("der_b64 is not base64: {e}")))?,
        ),
        (None, Some(pem)) => Body::Pem(pem.into_owned()),
        (Some(_), Some(_)) => {
            return Err(fail(
                "both der_b64 and pem are given; give one certificate per line".into(),
            ))
        }
        (None, None) => {
            return Err(fail(
                "no certificate: give der_b64 (base64 DER) or pem".into(),
            ))
        }
    };
    Ok(Entry {
        uploaded_at,
        host: line.host.map(Cow::into_owned),
        account: line.account.map(Cow::into_owned),
        id,
        body,
    })
}

/// serde_json's message without its " at line 1 column N" tail (the line is named already).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &text[..i], e.column()),
        None => text,
    }
}

/// Does this input hold NDJSON? Its first non-blank byte is `{`.
pub fn looks_like(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// Reads lines of at most `limit` bytes; a longer line is skipped to its end and reported.
pub struct Lines<R> {
    reader: R,
    limit: u64,
    pub number: usize,
}

pub enum Next {
    Line(String),
    TooLong,
    NotUtf8,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, limit: u64) -> Self {
        Lines {
            reader,
            limit,
            number: 0,
        }
    }

    /// The next line (without its end), or `None` at the end of the input.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Next>> {
        buf.clear();
        let n = (&mut self.reader)
            .take(self.limit + 1)
            .read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if buf.last() != Some(&b'\n') && buf.len() as u64 > self.limit {
            // Skip the rest of the line without keeping it.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let m = (&mut self.reader)
                    .take(1 << 20)
                    .read_until(b'\n', &mut sink)?;
                if m == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            return Ok(Some(Next::TooLong));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match std::str::from_utf8(buf) {
            Ok(s) => Ok(Some(Next::Line(s.to_owned()))),
            Err(_) => Ok(Some(Next::NotUtf8)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_upload_date_is_quoted_once() {
        let Err((id, reason)) =
            parse(r#"{"id": "u1", "der_b64": "AA==", "uploaded_at": "yester\nday"}"#)
        else {
            panic!("a bad date is an error")
        };
        assert_eq!(id.as_deref(), Some("u1"));
        assert!(
            reason.starts_with("uploaded_at: 'yester\nday' is not a date"),
            "{reason}"
        );
        assert_eq!(reason.matches("yester").count(), 1, "{reason}");
    }
}
