//! `certsweep merge SUMMARY...`: the reduce step of a distributed scan. Reads scan summaries
//! (NDJSON `summary` lines, or JSON reports / `--summary-only` objects) and adds them up:
//! counts add, `complete` is AND, `action_required` is OR. The exit code is the merged one.

use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};

use crate::cli::MergeArgs;
use crate::config::Context;
use crate::error::{Error, ExitCode};
use crate::inventory::{self, describe_io};
use crate::report::Format;

/// Fields that describe a line rather than count anything.
const HEADER: [&str; 4] = ["type", "schema_version", "tool", "policy"];

pub fn run(args: &MergeArgs, ctx: &Context) -> Result<ExitCode, Error> {
    if ctx.format == Format::Csv {
        return Err(Error::Usage(
            "--format csv is not supported by `certsweep merge`; it writes table, json, ndjson"
                .into(),
        ));
    }
    crate::input::stdin_once(args.summaries.iter().map(|p| ("SUMMARY", p.as_path())))
        .map_err(Error::Usage)?;
    let mut merged = Merged::default();
    let mut problems = Vec::new();
    for path in &args.summaries {
        let shown = if crate::input::is_stdin(path) {
            "(stdin)".to_owned()
        } else {
            path.display().to_string()
        };
        // Over the cap is an error, not a silent cut (a cut NDJSON report would lose its
        // summary line, or a cut list of them some summaries).
        let text = crate::input::read_all(path, inventory::limits::MAX_SIDE_FILE)
            .map_err(|e| describe_io(&e))
            .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned()));
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        merged.absorb(&shown, &text, &mut problems);
    }
    for p in &problems {
        let _ = writeln!(
            io::stderr(),
            "certsweep: error: {}",
            crate::sanitize::escape(p)
        );
    }
    let mut summary = merged.summary;
    let complete = problems.is_empty() && summary.get("complete") != Some(&Value::Bool(false));
    summary.insert("complete".into(), Value::Bool(complete));
    let action = summary.get("action_required") == Some(&Value::Bool(true));
    summary.insert("action_required".into(), Value::Bool(action));
    summary.insert("merged_summaries".into(), Value::from(merged.count));
    let policy = merged.policy.unwrap_or(Value::Null);
    let mut out = ctx.sink()?;
    match ctx.format {
        Format::Json => {
            crate::report::write_summary_json(&policy, &summary, &mut out)?;
        }
        Format::Table => {
            for (k, v) in &summary {
                writeln!(out, "{k}: {v}")?;
            }
        }
        _ => crate::report::write_ndjson_tail(&[], &policy, &summary, &mut out)?,
    }
    out.finish()?;
    Ok(ExitCode::of(!complete, action))
}

#[derive(Default)]
struct Merged {
    policy: Option<Value>,
    summary: Map<String, Value>,
    count: u64,
}

/// The merged summary of `texts` (each as one SUMMARY file) and the problems found, for the
/// fuzz targets.
#[doc(hidden)]
pub fn fuzz_merge(texts: &[&str]) -> (Map<String, Value>, Vec<String>) {
    let mut merged = Merged::default();
    let mut problems = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        merged.absorb(&format!("summary-{i}"), text, &mut problems);
    }
    (merged.summary, problems)
}

impl Merged {
    /// Adds every summary in `text` (the file `shown`); problems are noted, not fatal.
    fn absorb(&mut self, shown: &str, text: &str, problems: &mut Vec<String>) {
        match summaries_in(text) {
            Ok(found) if found.is_empty() => problems.push(format!(
                "{shown}: no summary found (give the NDJSON output of `certsweep scan --format \
                 ndjson` or `--summary-only`, or a JSON report)"
            )),
            Ok(found) => {
                for (policy, summary) in found {
                    if let Err(reason) = self.add(policy, summary) {
                        problems.push(format!("{shown}: {reason}"));
                    }
                }
            }
            Err(reason) => problems.push(format!("{shown}: {reason}")),
        }
    }

    fn add(&mut self, policy: Value, summary: Map<String, Value>) -> Result<(), String> {
        match &self.policy {
            None => self.policy = Some(policy),
            Some(p) if *p == policy => {}
            Some(p) => {
                return Err(format!(
                    "made with a different policy ({policy}) than the first summary ({p}); \
                     summaries of different cutoffs or dates cannot be added"
                ))
            }
        }
        let too_big = |k: &str| {
            format!("its {k} added to the summaries before is more than a count can hold; it is not a scan summary")
        };
        let count = self
            .count
            .checked_add(
                summary
                    .get("merged_summaries")
                    .and_then(Value::as_u64)
                    .unwrap_or(1),
            )
            .ok_or_else(|| too_big("merged_summaries"))?;
        if self.summary.is_empty() {
            self.count = count;
            self.summary = summary;
            self.summary.remove("merged_summaries");
            return Ok(());
        }
        // Added into a copy: a summary that cannot be added leaves the total as it was.
        let mut next = self.summary.clone();
        for (k, v) in summary {
            if k == "merged_summaries" {
                continue;
            }
            let merged = match (k.as_str(), next.get(&k), &v) {
                ("complete", Some(Value::Bool(a)), Value::Bool(b)) => Value::Bool(*a && *b),
                (_, Some(Value::Bool(a)), Value::Bool(b)) => Value::Bool(*a || *b),
                (_, Some(Value::Number(a)), Value::Number(b)) => match (a.as_u64(), b.as_u64()) {
                    (Some(a), Some(b)) => Value::from(a.checked_add(b).ok_or_else(|| too_big(&k))?),
                    _ => Value::from(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0)),
                },
                (_, Some(a), b) if a == b => v.clone(),
                (_, Some(_), _) => {
                    // Differing descriptions (e.g. the stream's key-set size): dropped.
                    next.remove(&k);
                    continue;
                }
                (_, None, _) => v.clone(),
            };
            next.insert(k, merged);
        }
        self.summary = next;
        self.count = count;
        Ok(())
    }
}

/// A summary: its policy, and its counts.
type PolicyAndCounts = (Value, Map<String, Value>);

/// Every summary in a text: one JSON document (a report with `summary`, a `--summary-only`
/// object, or a summary line), or NDJSON whose `summary` lines are taken.
fn summaries_in(text: &str) -> Result<Vec<PolicyAndCounts>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(doc) => return Ok(summary_of(doc).into_iter().collect()),
        Err(e) if e.to_string().starts_with("recursion limit") => {
            return Err(inventory::limits::json_error(&e))
        }
        Err(_) => {}
    }
    let mut found = Vec::new();
    for (n, line) in text.as_bytes().lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| {
            if e.to_string().starts_with("recursion limit") {
                format!("line {}: {}", n + 1, inventory::limits::json_error(&e))
            } else {
                format!(
                    "line {}: not JSON (not a summary nor an NDJSON report)",
                    n + 1
                )
            }
        })?;
        if value.get("type").and_then(Value::as_str) == Some("summary") {
            found.extend(summary_of(value));
        }
    }
    Ok(found)
}

/// (policy, counts) of a summary line or a JSON report.
fn summary_of(doc: Value) -> Option<PolicyAndCounts> {
    let Value::Object(mut obj) = doc else {
        return None;
    };
    let policy = obj.remove("policy").unwrap_or(Value::Null);
    if let Some(Value::Object(s)) = obj.remove("summary") {
        return Some((policy, s));
    }
    if obj.get("type").and_then(Value::as_str) != Some("summary") {
        return None;
    }
    for h in HEADER {
        obj.remove(h);
    }
    Some((policy, obj))
}
