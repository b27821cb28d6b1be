//! Manifests (JSON or CSV) that say what was uploaded when. `uploaded_at` is the one fact a
//! certificate cannot tell about itself.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::limits::Tally;
use super::{describe_io, InputError, Inventory, Upload};
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
    read_confined(path, inv, false)
}

/// As [`read`]; a `file` outside the manifest's folder (absolute, or climbing out with
/// `..`) is named in a warning, or with `confined` refused as an error.
pub fn read_confined(path: &Path, inv: &mut Inventory, confined: bool) -> Vec<Entry> {
    // `-` reads the manifest from stdin; its `file` paths are then relative to the current
    // folder.
    match crate::input::read_all(path, super::limits::MAX_SIDE_FILE) {
        Ok(bytes) => parse(path, bytes, inv, confined),
        Err(e) => {
            let shown = path.display().to_string();
            inv.error(shown, None, format!("manifest: {}", describe_io(&e)));
            Vec::new()
        }
    }
}

/// The manifest `path` whose bytes were read: its entries, problems into `inv` (the fuzz
/// target's entry point; `path` decides JSON or CSV by extension and the entries' folder).
pub fn parse(path: &Path, bytes: Vec<u8>, inv: &mut Inventory, confined: bool) -> Vec<Entry> {
    let shown = path.display().to_string();
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            inv.error(shown, None, "manifest is not UTF-8 text".into());
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
    // A million unknown columns or bad dates make a dozen records and a count, not a million.
    let mut tally = Tally::default();
    for p in problems {
        if tally.keep(&p) {
            inv.error(shown.clone(), None, p);
        }
    }
    let base = path.parent().unwrap_or(Path::new(""));
    // Rows become entries on all cores (dates parsed, paths joined): done one by one, this
    // was a serial tenth of a 100,000-file scan. Problems are reported in row order, through
    // the tally.
    let checked: Vec<(Option<Entry>, Vec<Note>)> = rows
        .into_par_iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut notes = Vec::new();
            let entry = entry(raw, i + 1, base, &shown, confined, &mut notes);
            (entry, notes)
        })
        .collect();
    let mut entries = Vec::with_capacity(checked.len());
    for (entry, notes) in checked {
        for note in notes {
            match note {
                Note::Error(reason) if tally.keep(&reason) => {
                    inv.error(shown.clone(), None, reason)
                }
                Note::Warning(reason) if tally.keep(&reason) => inv.warnings.push(InputError {
                    path: shown.clone(),
                    index: None,
                    reason,
                }),
                _ => {}
            }
        }
        entries.extend(entry);
    }
    for summary in tally.summaries() {
        inv.error(shown.clone(), None, summary);
    }
    entries
}

/// A problem with one manifest entry: an error (the entry or its date is dropped) or a
/// warning (it is read anyway).
enum Note {
    Error(String),
    Warning(String),
}

/// Why a manifest `file` lies outside the manifest's folder, if it does: absolute, or more
/// `..` than folders before them.
fn outside_reason(file: &Path) -> Option<&'static str> {
    use std::path::Component;
    let mut depth = 0usize;
    for c in file.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Some("an absolute path"),
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return Some("it climbs out with '..'"),
            },
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    None
}

/// One manifest row as an entry; `confined` (`--confined-paths`) refuses a `file` outside
/// the manifest's folder.
fn entry(
    raw: Raw,
    number: usize,
    base: &Path,
    shown: &str,
    confined: bool,
    notes: &mut Vec<Note>,
) -> Option<Entry> {
    // Only formatted when there is something to say.
    let label = || match &raw.id {
        Some(id) => format!("entry {number} (id '{}')", crate::sanitize::escape(id)),
        None => format!("entry {number}"),
    };
    let uploaded_at = match raw.uploaded_at.as_deref() {
        None => None,
        Some(t) => match timefmt::parse(t) {
            Ok(t) => Some(t),
            Err(e) => {
                notes.push(Note::Error(format!(
                    "{}: bad uploaded_at: {e}; its certificates are treated as having no upload date",
                    label()
                )));
                None
            }
        },
    };
    let (source, path) = match (raw.file, raw.pem) {
        (Some(_), Some(_)) => {
            notes.push(Note::Error(format!(
                "{}: has both 'file' and 'pem'; give one",
                label()
            )));
            return None;
        }
        (None, None) => {
            notes.push(Note::Error(format!(
                "{}: has neither 'file' nor 'pem'",
                label()
            )));
            return None;
        }
        (Some(file), None) => {
            if let Some(why) = outside_reason(Path::new(&file)) {
                let file = crate::sanitize::escape(&file);
                let label = label();
                if confined {
                    notes.push(Note::Error(format!(
                        "{label}: file '{file}' is outside the manifest's folder ({why}); \
                         refused (--confined-paths)"
                    )));
                    return None;
                }
                notes.push(Note::Warning(format!(
                    "{label}: file '{file}' is outside the manifest's folder ({why}); read \
                     anyway (give --confined-paths to refuse such entries)"
                )));
            }
            let p = base.join(&file);
            // As `display()` shows it, without the formatting machinery (100,000 paths).
            let shown_path = p.to_string_lossy().into_owned();
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
        },
        source,
    })
}

fn json_rows(text: &str, problems: &mut Vec<String>) -> Vec<Raw> {
    // Typed and streaming: a 100,000-entry manifest as a `serde_json::Value` tree cost more
    // memory than the certificates it lists.
    let doc: JsonManifest = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            problems.push(format!(
                "manifest is not valid JSON: {}",
                super::limits::json_error(&e)
            ));
            return Vec::new();
        }
    };
    let Some(items) = doc.0 else {
        problems
            .push("manifest must be a JSON array or an object with an \"uploads\" array".into());
        return Vec::new();
    };
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            JsonRow::Row(raw, row_problems) => {
                for p in row_problems {
                    problems.push(format!("entry {}: {p}", i + 1));
                }
                rows.push(raw);
            }
            JsonRow::NotAnObject => {
                problems.push(format!("entry {}: not a JSON object; skipped", i + 1))
            }
        }
    }
    rows
}

/// The whole JSON manifest: the entries, or `None` if the shape is wrong.
struct JsonManifest(Option<Vec<JsonRow>>);

/// One JSON entry, with the problems met reading its fields.
enum JsonRow {
    Row(Raw, Vec<String>),
    NotAnObject,
}

impl<'de> serde::Deserialize<'de> for JsonManifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonManifest;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of uploads or an object with \"uploads\"")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut rows = Vec::new();
                while let Some(row) = seq.next_element()? {
                    rows.push(row);
                }
                Ok(JsonManifest(Some(rows)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut rows = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "uploads" {
                        rows = map.next_value::<Option<Vec<JsonRow>>>()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(JsonManifest(rows))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonManifest(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for JsonRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonRow;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an upload object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut raw = Raw::default();
                let mut problems = Vec::new();
                while let Some(FieldName(key)) = map.next_key::<FieldName<'de>>()? {
                    let value = map.next_value::<JsonField>()?;
                    let text = match value {
                        JsonField::Text(t) => t,
                        JsonField::Wrong(kind) => {
                            problems.push(format!(
                                "field '{}' must be a string, not {kind}",
                                crate::sanitize::escape(&key)
                            ));
                            continue;
                        }
                    };
                    if !set_field(&mut raw, &key, text) {
                        problems.push(format!(
                            "unknown field '{}' (known: {})",
                            crate::sanitize::escape(&key),
                            FIELDS.join(", ")
                        ));
                    }
                }
                Ok(JsonRow::Row(raw, problems))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(JsonRow::NotAnObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonRow::NotAnObject)
            }
        }
        d.deserialize_any(V)
    }
}

/// A field's name, borrowed from the manifest text when it has no escapes (five names per
/// entry: not worth an allocation each).
struct FieldName<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FieldName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FieldName(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FieldName(v.to_owned().into()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field's value: text (strings; numbers as their digits; null or blank as absent), or
/// the JSON kind that cannot be a field value.
enum JsonField {
    Text(Option<String>),
    Wrong(&'static str),
}

impl<'de> serde::Deserialize<'de> for JsonField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(
                    (!v.trim().is_empty()).then(|| v.to_owned()),
                ))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonField::Text((!v.trim().is_empty()).then_some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonField::Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JsonField::Wrong("a boolean"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(JsonField::Wrong("an array"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(JsonField::Wrong("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

fn csv_rows(text: &str, problems: &mut Vec<String>) -> Vec<Raw> {
    // A line over the limit is left out (the CSV reader would hold it whole, and more).
    let long = super::limits::long_lines(text.as_bytes());
    for (line, range) in &long {
        problems.push(format!(
            "manifest CSV: {}",
            super::limits::long_line_reason(*line, range.len())
        ));
        if *line == 1 {
            problems.push("manifest CSV header unreadable: its first line was not read".into());
            return Vec::new();
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(super::limits::Without::new(
            text.as_bytes(),
            long.into_iter().map(|(_, r)| r),
        ));
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
        // The row's line in the file (a left-out line or a quoted line break shifts it).
        let row = |p: Option<&csv::Position>| p.map_or(i + 2, |p| p.line() as usize);
        match record {
            Ok(rec) => {
                let mut raw = Raw::default();
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = (!v.is_empty()).then(|| v.to_owned());
                    set_field(&mut raw, h, v);
                }
                rows.push(raw);
            }
            Err(e) => problems.push(format!("row {}: {e}; skipped", row(e.position()))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> (Vec<Raw>, Vec<String>) {
        let mut problems = Vec::new();
        let rows = json_rows(text, &mut problems);
        (rows, problems)
    }

    #[test]
    fn json_shapes_fields_and_problems() {
        let (r, p) = rows(
            r#"{"uploads": [{"id": 7, "file": "a.pem", "host": null, "account": " "}], "note": 1}"#,
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(r[0].id.as_deref(), Some("7"));
        assert_eq!(r[0].file.as_deref(), Some("a.pem"));
        assert_eq!(r[0].host, None);
        assert_eq!(r[0].account, None, "blank is absent");

        let (r, p) = rows(r#"[{"file": "a.pem", "uploaded_at": ["x"], "colour": "red"}, 5, "x"]"#);
        assert_eq!(r.len(), 1);
        assert_eq!(
            p,
            [
                "entry 1: field 'uploaded_at' must be a string, not an array",
                "entry 1: unknown field 'colour' (known: id, file, pem, uploaded_at, host, account)",
                "entry 2: not a JSON object; skipped",
                "entry 3: not a JSON object; skipped",
            ]
        );

        for bad in [r#"{"files": []}"#, "42", r#""text""#] {
            let (r, p) = rows(bad);
            assert!(r.is_empty());
            assert!(p[0].contains("must be a JSON array"), "{bad}: {p:?}");
        }
        let (_, p) = rows("[{");
        assert!(p[0].starts_with("manifest is not valid JSON"));
    }
}
