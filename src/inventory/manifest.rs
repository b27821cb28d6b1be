//! Manifests (JSON or CSV) that say what was uploaded when. `uploaded_at` is the one fact a
//! certificate cannot tell about itself.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{describe_io, Inventory, Upload};
use crate::timefmt;

const FIELDS: [&str; 6] = ["id", "file", "pem", "uploaded_at", "host", "account"];

pub enum EntrySource {
    File(PathBuf),
    Pem(String),
}

pub struct Entry {
    pub upload: Upload,
    pub source: EntrySource,
}

/// One manifest row as typed, before checking.
#[derive(Default)]
struct Raw {
    id: Option<String>,
    file: Option<String>,
    pem: Option<String>,
    uploaded_at: Option<String>,
    host: Option<String>,
    account: Option<String>,
}

/// Reads a manifest; problems become error records naming the manifest and the entry, and
/// every entry that can still be used is returned.
pub fn read(path: &Path, inv: &mut Inventory) -> Vec<Entry> {
    let shown = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                inv.error(shown, None, "manifest is not UTF-8 text".into());
                return Vec::new();
            }
        },
        Err(e) => {
            inv.error(shown, None, format!("manifest: {}", describe_io(&e)));
            return Vec::new();
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_json = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => true,
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        _ => matches!(text.trim_start().chars().next(), Some('[' | '{')),
    };
    let mut problems = Vec::new();
    let rows = if is_json {
        json_rows(text, &mut problems)
    } else {
        csv_rows(text, &mut problems)
    };
    for p in problems {
        inv.error(shown.clone(), None, p);
    }
    let base = path.parent().unwrap_or(Path::new(""));
    rows.into_iter()
        .enumerate()
        .filter_map(|(i, raw)| entry(raw, i + 1, base, &shown, inv))
        .collect()
}

fn entry(raw: Raw, number: usize, base: &Path, shown: &str, inv: &mut Inventory) -> Option<Entry> {
    let label = match &raw.id {
        Some(id) => format!("entry {number} (id '{}')", crate::sanitize::escape(id)),
        None => format!("entry {number}"),
    };
    let uploaded_at = match raw.uploaded_at.as_deref() {
        None => None,
        Some(t) => match timefmt::parse(t) {
            Ok(t) => Some(t),
            Err(e) => {
                inv.error(
                    shown,
                    None,
                    format!("{label}: bad uploaded_at: {e}; its certificates are treated as having no upload date"),
                );
                None
            }
        },
    };
    let (source, path) = match (raw.file, raw.pem) {
        (Some(_), Some(_)) => {
            inv.error(
                shown,
                None,
                format!("{label}: has both 'file' and 'pem'; give one"),
            );
            return None;
        }
        (None, None) => {
            inv.error(
                shown,
                None,
                format!("{label}: has neither 'file' nor 'pem'"),
            );
            return None;
        }
        (Some(file), None) => {
            let p = base.join(&file);
            let shown_path = p.display().to_string();
            (EntrySource::File(p), shown_path)
        }
        (None, Some(pem)) => (
            EntrySource::Pem(pem),
            format!(
                "{shown}#{}",
                raw.id.clone().unwrap_or_else(|| number.to_string())
            ),
        ),
    };
    Some(Entry {
        upload: Upload {
            id: 0,
            path,
            manifest_id: raw.id,
            host: raw.host,
            account: raw.account,
            uploaded_at,
            key_only_ok: true,
        },
        source,
    })
}

fn json_rows(text: &str, problems: &mut Vec<String>) -> Vec<Raw> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("manifest is not valid JSON: {e}"));
            return Vec::new();
        }
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("uploads") {
            Some(Value::Array(items)) => items,
            _ => {
                problems.push(
                    "manifest must be a JSON array or an object with an \"uploads\" array".into(),
                );
                return Vec::new();
            }
        },
        _ => {
            problems.push(
                "manifest must be a JSON array or an object with an \"uploads\" array".into(),
            );
            return Vec::new();
        }
    };
    let mut rows = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(map) = item else {
            problems.push(format!("entry {}: not a JSON object; skipped", i + 1));
            continue;
        };
        let mut raw = Raw::default();
        for (key, value) in map {
            let text = match value {
                Value::Null => None,
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                other => {
                    problems.push(format!(
                        "entry {}: field '{key}' must be a string, not {other}",
                        i + 1
                    ));
                    continue;
                }
            };
            if !set_field(&mut raw, &key, text) {
                problems.push(format!(
                    "entry {}: unknown field '{}' (known: {})",
                    i + 1,
                    crate::sanitize::escape(&key),
                    FIELDS.join(", ")
                ));
            }
        }
        rows.push(raw);
    }
    rows
}

fn csv_rows(text: &str, problems: &mut Vec<String>) -> Vec<Raw> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(format!("manifest CSV header unreadable: {e}"));
            return Vec::new();
        }
    };
    for h in headers.iter() {
        if !FIELDS.contains(&h) {
            problems.push(format!(
                "unknown column '{}' (known: {}); its values are ignored",
                crate::sanitize::escape(h),
                FIELDS.join(", ")
            ));
        }
    }
    if !headers.iter().any(|h| h == "file" || h == "pem") {
        problems.push("manifest CSV has no 'file' or 'pem' column".into());
        return Vec::new();
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(rec) => {
                let mut raw = Raw::default();
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = (!v.is_empty()).then(|| v.to_owned());
                    set_field(&mut raw, h, v);
                }
                rows.push(raw);
            }
            Err(e) => problems.push(format!("row {}: {e}; skipped", i + 2)),
        }
    }
    rows
}

fn set_field(raw: &mut Raw, key: &str, value: Option<String>) -> bool {
    let slot = match key {
        "id" => &mut raw.id,
        "file" => &mut raw.file,
        "pem" => &mut raw.pem,
        "uploaded_at" => &mut raw.uploaded_at,
        "host" => &mut raw.host,
        "account" => &mut raw.account,
        _ => return false,
    };
    *slot = value;
    true
}
