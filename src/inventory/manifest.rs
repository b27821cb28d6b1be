//! Manifests (JSON or CSV) that say what was uploaded when. `uploaded_at` is the one fact a
//! certificate cannot tell about itself.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

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

/// One manifest row as typed, before checking. Its text is borrowed from the manifest where
/// it can be (a JSON string without escapes).
#[derive(Default)]
struct Raw<'t> {
    /// The entry's place in the manifest (1-based): in the JSON array, or the CSV data row,
    /// counting the entries that were skipped.
    number: usize,
    id: Option<Cow<'t, str>>,
    file: Option<Cow<'t, str>>,
    pem: Option<Cow<'t, str>>,
    uploaded_at: Option<Cow<'t, str>>,
    host: Option<Cow<'t, str>>,
    account: Option<Cow<'t, str>>,
}

/// Reads a manifest; problems become error records naming the manifest and the entry, and
/// every entry that can still be used is returned.
pub fn read(path: &Path, inv: &mut Inventory) -> Vec<Entry> {
    read_confined(path, inv, false)
}

/// As [`read`]; a `file` outside the manifest's folder (absolute, or climbing out with
/// `..`) is named in a warning, or with `confined` refused as an error.
pub fn read_confined(path: &Path, inv: &mut Inventory, confined: bool) -> Vec<Entry> {
    match crate::input::read_all(path, super::limits::MAX_SIDE_FILE) {
        Ok(bytes) => parse(path, bytes, inv, confined),
        Err(e) => {
            unreadable(&e).record(path, inv);
            Vec::new()
        }
    }
}

/// The manifest `path` whose bytes were read: its entries, problems into `inv` (the fuzz
/// target's entry point; `path` decides JSON or CSV by extension and the entries' folder).
pub fn parse(path: &Path, bytes: Vec<u8>, inv: &mut Inventory, confined: bool) -> Vec<Entry> {
    let mut entries = Vec::new();
    let findings = parse_each(path, bytes, confined, |e| entries.push(e));
    if !findings.usable {
        entries.clear();
    }
    findings.record(path, inv);
    entries
}

/// What reading a manifest found besides its entries: problems (errors) and warnings in
/// entry order, a few of each kind and then a count.
pub struct Findings {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// `false` when the manifest as a whole cannot be used (not JSON, the wrong shape…),
    /// found perhaps only at its end: every entry handed out before must then be dropped.
    pub usable: bool,
}

impl Findings {
    fn unusable(reason: String) -> Self {
        Findings {
            errors: vec![reason],
            warnings: Vec::new(),
            usable: false,
        }
    }

    /// Adds the findings to `inv` as records naming the manifest `path`.
    pub fn record(self, path: &Path, inv: &mut Inventory) {
        let (errors, warnings) = self.records(path);
        inv.errors.extend(errors);
        inv.warnings.extend(warnings);
    }

    /// The findings as error and warning records naming the manifest `path`.
    pub fn records(self, path: &Path) -> (Vec<InputError>, Vec<InputError>) {
        let shown = path.display().to_string();
        let record = |reason| InputError {
            path: shown.clone(),
            index: None,
            reason,
        };
        (
            self.errors.into_iter().map(record).collect(),
            self.warnings.into_iter().map(record).collect(),
        )
    }
}

/// Reads the manifest at `path` (`-`: stdin; its `file` paths are then relative to the
/// current folder), handing each usable entry to `sink` as soon as it is read: the loader
/// reads the first files while the rest of a large manifest is parsed.
pub fn read_each(path: &Path, confined: bool, sink: impl FnMut(Entry)) -> Findings {
    match crate::input::read_all(path, super::limits::MAX_SIDE_FILE) {
        Ok(bytes) => parse_each(path, bytes, confined, sink),
        Err(e) => unreadable(&e),
    }
}

/// A manifest that could not be read at all.
fn unreadable(e: &std::io::Error) -> Findings {
    Findings::unusable(format!("manifest: {}", describe_io(e)))
}

/// As [`read_each`], for the manifest `path` whose bytes were read.
fn parse_each(path: &Path, bytes: Vec<u8>, confined: bool, sink: impl FnMut(Entry)) -> Findings {
    let Ok(text) = String::from_utf8(bytes) else {
        return Findings::unusable("manifest is not UTF-8 text".into());
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_json = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => true,
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        _ => matches!(text.trim_start().chars().next(), Some('[' | '{')),
    };
    let mut rows = Checker {
        base: path.parent().unwrap_or(Path::new("")),
        shown: path.display().to_string(),
        confined,
        sink,
        tally: Tally::default(),
        findings: Findings {
            errors: Vec::new(),
            warnings: Vec::new(),
            usable: true,
        },
    };
    if is_json {
        if let Err(reason) = json_rows(text, &mut rows) {
            return Findings::unusable(reason);
        }
    } else {
        csv_rows(text, &mut rows);
    }
    let mut findings = rows.findings;
    findings.errors.extend(rows.tally.summaries());
    findings
}

/// Where rows go as they are read: each is checked and made an entry for the sink, its
/// problems kept in order through the tally (a million unknown columns or bad dates make a
/// dozen records and a count, not a million).
struct Checker<'p, S> {
    base: &'p Path,
    shown: String,
    confined: bool,
    sink: S,
    tally: Tally,
    findings: Findings,
}

/// What the JSON and CSV readers hand on, in manifest order.
trait Rows<'t> {
    fn row(&mut self, raw: Raw<'t>);
    fn problem(&mut self, reason: String);
}

impl<'t, S: FnMut(Entry)> Rows<'t> for Checker<'_, S> {
    fn row(&mut self, raw: Raw<'t>) {
        let mut notes = Vec::new();
        if let Some(entry) = entry(raw, self.base, &self.shown, self.confined, &mut notes) {
            (self.sink)(entry);
        }
        for note in notes {
            match note {
                Note::Error(reason) => self.problem(reason),
                Note::Warning(reason) if self.tally.keep(&reason) => {
                    self.findings.warnings.push(reason)
                }
                Note::Warning(_) => {}
            }
        }
    }

    fn problem(&mut self, reason: String) {
        if self.tally.keep(&reason) {
            self.findings.errors.push(reason);
        }
    }
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
    // Most are plainly inside: relative, and no `..` to climb with.
    if file.is_relative()
        && memchr::memmem::find(file.as_os_str().as_encoded_bytes(), b"..").is_none()
    {
        return None;
    }
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
    raw: Raw<'_>,
    base: &Path,
    shown: &str,
    confined: bool,
    notes: &mut Vec<Note>,
) -> Option<Entry> {
    let number = raw.number;
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
            if let Some(why) = outside_reason(Path::new(&*file)) {
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
            let p = base.join(&*file);
            // As `display()` shows it, without the formatting machinery (100,000 paths).
            let shown_path = p.to_string_lossy().into_owned();
            (EntrySource::File(p), shown_path)
        }
        (None, Some(pem)) => (
            EntrySource::Pem(pem.into_owned()),
            match &raw.id {
                Some(id) => format!("{shown}#{id}"),
                None => format!("{shown}#{number}"),
            },
        ),
    };
    Some(Entry {
        upload: Upload {
            id: 0,
            path,
            manifest_id: raw.id.map(Cow::into_owned),
            host: raw.host.map(Cow::into_owned),
            account: raw.account.map(Cow::into_owned),
            uploaded_at,
        },
        source,
    })
}

/// Reads a JSON manifest's rows into `rows`, each numbered by its place in the array, with
/// the problems of single rows; `Err` when the manifest as a whole is unusable (rows handed on
/// before that was found must then be dropped).
fn json_rows<'t>(text: &'t str, rows: &mut dyn Rows<'t>) -> Result<(), String> {
    // Typed and streaming, row by row: a 100,000-entry manifest as a `serde_json::Value`
    // tree cost more memory than the certificates it lists.
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = serde::de::DeserializeSeed::deserialize(Manifest(rows), &mut de)
        .and_then(|shape| de.end().map(|()| shape))
        .map_err(|e| {
            format!(
                "manifest is not valid JSON: {}",
                super::limits::json_error(&e)
            )
        })?;
    match shape {
        Shape::Rows => Ok(()),
        Shape::Wrong => {
            Err("manifest must be a JSON array or an object with an \"uploads\" array".into())
        }
        Shape::Twice => Err(
            "manifest has \"uploads\" more than once: which list is meant is unclear (JSON \
             readers differ); give one"
                .into(),
        ),
    }
}

/// The shape of a JSON manifest.
enum Shape {
    /// An array of uploads, or an object with one "uploads" array.
    Rows,
    Wrong,
    /// An object with "uploads" more than once.
    Twice,
}

/// The whole JSON manifest, its rows handed on as they are read.
struct Manifest<'a, 't>(&'a mut dyn Rows<'t>);

impl<'de> serde::de::DeserializeSeed<'de> for Manifest<'_, 'de> {
    type Value = Shape;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Manifest<'_, 'de> {
    type Value = Shape;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of uploads or an object with \"uploads\"")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Shape, A::Error> {
        Uploads(self.0).visit_seq(seq)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = None;
        while let Some(FieldName(key)) = map.next_key::<FieldName<'de>>()? {
            if key != "uploads" {
                map.next_value::<serde::de::IgnoredAny>()?;
            } else if shape.is_none() {
                shape = Some(map.next_value_seed(Uploads(&mut *self.0))?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
                shape = Some(Shape::Twice);
            }
        }
        Ok(shape.unwrap_or(Shape::Wrong))
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
}

/// The array of uploads (`null` in an object's "uploads" is the wrong shape).
struct Uploads<'a, 't>(&'a mut dyn Rows<'t>);

impl<'de> serde::de::DeserializeSeed<'de> for Uploads<'_, 'de> {
    type Value = Shape;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Uploads<'_, 'de> {
    type Value = Shape;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Wrong)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut number = 0;
        while let Some(row) = seq.next_element::<JsonRow<'de>>()? {
            number += 1;
            match row {
                JsonRow::Row(mut raw, problems) => {
                    for p in problems {
                        self.0.problem(format!("entry {number}: {p}"));
                    }
                    raw.number = number;
                    self.0.row(raw);
                }
                JsonRow::NotAnObject => self
                    .0
                    .problem(format!("entry {number}: not a JSON object; skipped")),
            }
        }
        Ok(Shape::Rows)
    }
}

/// One JSON entry, with the problems met reading its fields.
enum JsonRow<'t> {
    Row(Raw<'t>, Vec<String>),
    NotAnObject,
}

impl<'de> serde::Deserialize<'de> for JsonRow<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonRow<'de>;
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
                    let value = map.next_value::<JsonField<'de>>()?;
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
enum JsonField<'t> {
    Text(Option<Cow<'t, str>>),
    Wrong(&'static str),
}

impl<'de> serde::Deserialize<'de> for JsonField<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonField<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonField::Text((!v.trim().is_empty()).then_some(v.into())))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(
                    (!v.trim().is_empty()).then(|| v.to_owned().into()),
                ))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonField::Text((!v.trim().is_empty()).then_some(v.into())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string().into())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string().into())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Some(v.to_string().into())))
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

/// Reads a CSV manifest's rows into `rows`, each numbered by its data row, with the problems
/// met (a CSV manifest is read as far as it can be: none makes it unusable as a whole).
fn csv_rows<'t>(text: &'t str, rows: &mut dyn Rows<'t>) {
    // A line over the limit is left out (the CSV reader would hold it whole, and more).
    let long = super::limits::long_lines(text.as_bytes());
    for (line, range) in &long {
        rows.problem(format!(
            "manifest CSV: {}",
            super::limits::long_line_reason(*line, range.len())
        ));
        if *line == 1 {
            rows.problem("manifest CSV header unreadable: its first line was not read".into());
            return;
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
            rows.problem(format!("manifest CSV header unreadable: {e}"));
            return;
        }
    };
    for h in headers.iter() {
        if !FIELDS.contains(&h) {
            rows.problem(format!(
                "unknown column '{}' (known: {}); its values are ignored",
                crate::sanitize::escape(h),
                FIELDS.join(", ")
            ));
        }
    }
    if !headers.iter().any(|h| h == "file" || h == "pem") {
        rows.problem("manifest CSV has no 'file' or 'pem' column".into());
        return;
    }
    for (i, record) in reader.records().enumerate() {
        // The row's line in the file (a left-out line or a quoted line break shifts it).
        let row = |p: Option<&csv::Position>| p.map_or(i + 2, |p| p.line() as usize);
        match record {
            Ok(rec) => {
                let mut raw = Raw {
                    number: i + 1,
                    ..Raw::default()
                };
                for (h, v) in headers.iter().zip(rec.iter()) {
                    let v = (!v.is_empty()).then(|| v.to_owned().into());
                    set_field(&mut raw, h, v);
                }
                rows.row(raw);
            }
            Err(e) => rows.problem(format!("row {}: {e}; skipped", row(e.position()))),
        }
    }
}

fn set_field<'t>(raw: &mut Raw<'t>, key: &str, value: Option<Cow<'t, str>>) -> bool {
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

    /// The rows and problems of a JSON manifest, or the one reason it is unusable.
    fn rows(text: &str) -> (Vec<Raw<'_>>, Vec<String>) {
        struct Kept<'t>(Vec<Raw<'t>>, Vec<String>);
        impl<'t> Rows<'t> for Kept<'t> {
            fn row(&mut self, raw: Raw<'t>) {
                self.0.push(raw);
            }
            fn problem(&mut self, reason: String) {
                self.1.push(reason);
            }
        }
        let mut kept = Kept(Vec::new(), Vec::new());
        match json_rows(text, &mut kept) {
            Ok(()) => (kept.0, kept.1),
            Err(reason) => (Vec::new(), vec![reason]),
        }
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
