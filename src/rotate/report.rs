//! The walk as data: `rotate status` and `rotate next` in every format, and what a step
//! (`init`, `csr`, `import`, `uploaded`, `verify`, `revoked`) changed, for scripts.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::next::{AcmeOrderInProgress, StatusRow};
use super::state::{State, Step};
use crate::report::prometheus::Metrics;
use crate::report::{Tool, SCHEMA_VERSION, TOOL};

pub const STEPS: [Step; 7] = [
    Step::Planned,
    Step::CsrGenerated,
    Step::Issued,
    Step::Uploaded,
    Step::Verified,
    Step::Revoked,
    Step::Done,
];

#[derive(Serialize)]
pub struct StatusSummary {
    pub items: usize,
    pub done: usize,
    pub remaining: usize,
    /// Items per step, in walk order.
    pub steps: Vec<StepCount>,
    pub action_required: bool,
}

#[derive(Serialize)]
pub struct StepCount {
    pub step: Step,
    pub items: usize,
}

pub fn status_summary(rows: &[StatusRow]) -> StatusSummary {
    let done = rows.iter().filter(|r| r.step == Step::Done).count();
    StatusSummary {
        items: rows.len(),
        done,
        remaining: rows.len() - done,
        steps: STEPS
            .iter()
            .map(|s| StepCount {
                step: *s,
                items: rows.iter().filter(|r| r.step == *s).count(),
            })
            .collect(),
        action_required: done < rows.len(),
    }
}

#[derive(Serialize)]
struct StatusLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    row: &'a StatusRow,
}

/// The policy part of every rotate report: which plan, which cutoff.
#[derive(Serialize)]
pub struct PlanPolicy<'a> {
    pub state: String,
    pub cutoff: &'a str,
}

pub fn write_status_ndjson(
    plan: &State,
    state: &Path,
    rows: &[StatusRow],
    out: &mut dyn Write,
) -> io::Result<()> {
    for r in rows {
        serde_json::to_writer(
            &mut *out,
            &StatusLine {
                kind: "item",
                row: r,
            },
        )?;
        out.write_all(b"\n")?;
    }
    crate::report::write_ndjson_tail(
        &[],
        PlanPolicy {
            state: state.display().to_string(),
            cutoff: &plan.policy.cutoff,
        },
        status_summary(rows),
        out,
    )
}

pub const STATUS_CSV_COLUMNS: [&str; 9] = [
    "schema_version",
    "id",
    "step",
    "host",
    "old_not_after",
    "days_in_step",
    "waiting_for",
    "acme_order_in_progress",
    "acme_finalize_sent",
];

/// The two CSV cells of an ACME order in progress: its URL, and whether finalize was sent.
fn order_cells(order: Option<&AcmeOrderInProgress>) -> [String; 2] {
    match order {
        Some(o) => [o.order_url.clone(), o.finalize_sent.to_string()],
        None => [String::new(), String::new()],
    }
}

pub fn write_status_csv(rows: &[StatusRow], out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(STATUS_CSV_COLUMNS)?;
    for r in rows {
        let [order_url, finalize_sent] = order_cells(r.acme_order_in_progress.as_ref());
        crate::report::csv_record(
            &mut w,
            [
                SCHEMA_VERSION.to_string(),
                r.id.clone(),
                r.step.as_str().to_owned(),
                r.host.clone().unwrap_or_default(),
                r.old_not_after.clone(),
                r.days_in_step.map(|d| d.to_string()).unwrap_or_default(),
                r.blocked_by.clone(),
                order_url.clone(),
                finalize_sent.clone(),
            ],
        )?;
    }
    w.flush()
}

/// Prometheus: items per step, and one series per item (its step's position in the walk).
pub fn write_status_prometheus(rows: &[StatusRow], out: &mut dyn Write) -> io::Result<()> {
    let summary = status_summary(rows);
    let mut m = Metrics::new(out);
    m.family(
        "certsweep_rotation_items",
        "Rotation items per step of the walk.",
    )?;
    for c in &summary.steps {
        m.sample(
            "certsweep_rotation_items",
            &[("step", c.step.as_str())],
            c.items as f64,
        )?;
    }
    m.family(
        "certsweep_rotation_item_step",
        "Position of each item in the walk: 0 planned … 6 done.",
    )?;
    for r in rows {
        let pos = STEPS.iter().position(|s| *s == r.step).unwrap_or(0);
        m.sample(
            "certsweep_rotation_item_step",
            &[
                ("id", r.id.as_str()),
                ("host", r.host.as_deref().unwrap_or("")),
                ("step", r.step.as_str()),
            ],
            pos as f64,
        )?;
    }
    m.family(
        "certsweep_rotation_acme_order_in_progress",
        "1 for each item with an ACME order an interrupted `rotate issue` left to resume.",
    )?;
    for r in rows {
        if let Some(order) = &r.acme_order_in_progress {
            m.sample(
                "certsweep_rotation_acme_order_in_progress",
                &[
                    ("id", r.id.as_str()),
                    ("order_url", order.order_url.as_str()),
                    (
                        "finalize_sent",
                        if order.finalize_sent { "true" } else { "false" },
                    ),
                ],
                1.0,
            )?;
        }
    }
    m.single(
        "certsweep_rotation_items_remaining",
        "Items not done yet.",
        summary.remaining as f64,
    )?;
    m.single(
        "certsweep_action_required",
        "1 while an item is not done (the exit code would be 1).",
        if summary.action_required { 1.0 } else { 0.0 },
    )
}

/// HTML: one self-contained page, each item with its step drawn as a progress bar.
pub fn write_status_html(plan: &State, rows: &[StatusRow], out: &mut dyn Write) -> io::Result<()> {
    use crate::report::html::escape;
    let summary = status_summary(rows);
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>certsweep rotation</title><style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#212121}table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #e0e0e0;padding:.3em .6em;text-align:left}.bar{display:inline-block;width:14em;height:.8em;background:#eeeeee;border-radius:3px;vertical-align:middle}.fill{display:block;height:100%;border-radius:3px;background:#1565c0}.done .fill{background:#2e7d32}</style></head><body>\n");
    page.push_str(&format!(
        "<h1>certsweep rotation — cutoff {}</h1>\n<p>{} of {} item(s) done.</p>\n<table id=\"items\"><tr><th>item</th><th>host</th><th>step</th><th>progress</th><th>days in step</th><th>waiting for</th></tr>\n",
        escape(&plan.policy.cutoff),
        summary.done,
        summary.items
    ));
    for r in rows {
        let pos = STEPS.iter().position(|s| *s == r.step).unwrap_or(0);
        let pct = pos * 100 / (STEPS.len() - 1);
        page.push_str(&format!(
            "<tr class=\"{step}\" data-step=\"{step}\"><td>{id}</td><td>{host}</td><td>{step}</td><td><span class=\"bar\" title=\"step {n} of {total}\"><span class=\"fill\" style=\"width:{pct}%\"></span></span></td><td>{days}</td><td>{wait}</td></tr>\n",
            step = r.step.as_str(),
            id = escape(&r.id),
            host = escape(r.host.as_deref().unwrap_or("-")),
            n = pos + 1,
            total = STEPS.len(),
            days = r.days_in_step.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
            wait = escape(&r.blocked_by),
        ));
    }
    page.push_str("</table>\n");
    let orders: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.acme_order_in_progress.as_ref().map(|o| {
                format!(
                    "<li data-item=\"{id}\">{id}: {note}</li>\n",
                    id = escape(&r.id),
                    note = escape(&o.note())
                )
            })
        })
        .collect();
    if !orders.is_empty() {
        page.push_str("<h2>ACME orders in progress</h2>\n<ul id=\"acme-orders\">\n");
        page.push_str(&orders.concat());
        page.push_str("</ul>\n");
    }
    page.push_str("</body></html>\n");
    out.write_all(page.as_bytes())
}

/// One item's next action as data (`rotate next --format json|ndjson|csv`).
#[derive(Serialize)]
pub struct NextItem {
    pub id: String,
    pub host: Option<String>,
    pub step: Step,
    /// What to do, as the table prints it.
    pub instructions: Vec<String>,
    /// The exact `certsweep rotate …` commands among them.
    pub commands: Vec<String>,
    /// For a verified item: what the old certificate's CA needs to revoke it.
    pub revocation_request: Option<RevocationRequest>,
    /// The ACME order an interrupted `rotate issue` left in the plan, to be resumed.
    pub acme_order_in_progress: Option<AcmeOrderInProgress>,
}

#[derive(Serialize)]
pub struct RevocationRequest {
    pub serial: String,
    pub issuer: String,
    pub reason: &'static str,
    pub reason_code: u8,
    pub compromise_date: String,
    pub fingerprint_sha256: String,
}

#[derive(Serialize)]
struct NextReport<'a> {
    schema_version: u32,
    tool: &'a Tool,
    policy: PlanPolicy<'a>,
    items: &'a [NextItem],
    summary: NextSummary,
}

#[derive(Serialize)]
struct NextSummary {
    remaining: usize,
    action_required: bool,
}

pub fn write_next(
    format: crate::report::Format,
    plan: &State,
    state: &Path,
    items: &[NextItem],
    out: &mut dyn Write,
) -> io::Result<()> {
    use crate::report::Format;
    let policy = PlanPolicy {
        state: state.display().to_string(),
        cutoff: &plan.policy.cutoff,
    };
    let summary = NextSummary {
        remaining: items.len(),
        action_required: !items.is_empty(),
    };
    match format {
        Format::Ndjson => {
            #[derive(Serialize)]
            struct Line<'a> {
                #[serde(rename = "type")]
                kind: &'static str,
                #[serde(flatten)]
                item: &'a NextItem,
            }
            for item in items {
                serde_json::to_writer(&mut *out, &Line { kind: "item", item })?;
                out.write_all(b"\n")?;
            }
            crate::report::write_ndjson_tail(&[], policy, summary, out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "schema_version",
                "id",
                "host",
                "step",
                "next_command",
                "instructions",
                "revoke_serial",
                "revoke_issuer",
                "revoke_reason_code",
                "compromise_date",
                "acme_order_in_progress",
                "acme_finalize_sent",
            ])?;
            for i in items {
                let r = i.revocation_request.as_ref();
                let [order_url, finalize_sent] = order_cells(i.acme_order_in_progress.as_ref());
                crate::report::csv_record(
                    &mut w,
                    [
                        SCHEMA_VERSION.to_string(),
                        i.id.clone(),
                        i.host.clone().unwrap_or_default(),
                        i.step.as_str().to_owned(),
                        i.commands.first().cloned().unwrap_or_default(),
                        i.instructions.join(" | "),
                        r.map(|r| r.serial.clone()).unwrap_or_default(),
                        r.map(|r| r.issuer.clone()).unwrap_or_default(),
                        r.map(|r| r.reason_code.to_string()).unwrap_or_default(),
                        r.map(|r| r.compromise_date.clone()).unwrap_or_default(),
                        order_url,
                        finalize_sent,
                    ],
                )?;
            }
            w.flush()
        }
        _ => {
            serde_json::to_writer_pretty(
                &mut *out,
                &NextReport {
                    schema_version: SCHEMA_VERSION,
                    tool: &TOOL,
                    policy,
                    items,
                    summary,
                },
            )?;
            writeln!(out)
        }
    }
}

/// What a step changed: each item whose step moved, from and to.
#[derive(Serialize)]
pub struct Change {
    pub id: String,
    pub host: Option<String>,
    /// `None` for an item the step added to the plan.
    pub from: Option<Step>,
    pub to: Step,
    /// What else the step says about the item (`issue`: the ACME order was resumed, or why a
    /// new one was made); empty for most steps.
    pub notes: Vec<String>,
}

/// The steps of every item, to compare before and after a command.
pub fn snapshot(plan: Option<&State>) -> HashMap<String, Step> {
    plan.map(|p| p.items.iter().map(|i| (i.id.clone(), i.step)).collect())
        .unwrap_or_default()
}

pub fn changes(before: &HashMap<String, Step>, after: &State) -> Vec<Change> {
    after
        .items
        .iter()
        .filter(|i| before.get(&i.id) != Some(&i.step))
        .map(|i| Change {
            id: i.id.clone(),
            host: i.host.clone(),
            from: before.get(&i.id).copied(),
            to: i.step,
            notes: Vec::new(),
        })
        .collect()
}

#[derive(Serialize)]
struct StepReport<'a> {
    schema_version: u32,
    tool: &'a Tool,
    command: &'a str,
    policy: PlanPolicy<'a>,
    changes: &'a [Change],
    items: Vec<StepItem<'a>>,
    summary: StepSummary,
}

#[derive(Serialize)]
struct StepItem<'a> {
    id: &'a str,
    step: Step,
}

#[derive(Serialize)]
struct StepSummary {
    changed: usize,
    items: usize,
    done: usize,
    exit_code: i32,
}

/// A step's result as JSON, NDJSON (`change` lines, then the summary) or CSV (one row per
/// change).
pub fn write_step(
    format: crate::report::Format,
    command: &str,
    plan: &State,
    state: &Path,
    changes: &[Change],
    exit_code: i32,
    out: &mut dyn Write,
) -> io::Result<()> {
    use crate::report::Format;
    let policy = PlanPolicy {
        state: state.display().to_string(),
        cutoff: &plan.policy.cutoff,
    };
    let summary = StepSummary {
        changed: changes.len(),
        items: plan.items.len(),
        done: plan.items.iter().filter(|i| i.step == Step::Done).count(),
        exit_code,
    };
    match format {
        Format::Ndjson => {
            #[derive(Serialize)]
            struct Line<'a> {
                #[serde(rename = "type")]
                kind: &'static str,
                command: &'a str,
                #[serde(flatten)]
                change: &'a Change,
            }
            for change in changes {
                serde_json::to_writer(
                    &mut *out,
                    &Line {
                        kind: "change",
                        command,
                        change,
                    },
                )?;
                out.write_all(b"\n")?;
            }
            crate::report::write_ndjson_tail(&[], policy, summary, out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "schema_version",
                "command",
                "id",
                "host",
                "from",
                "to",
                "notes",
            ])?;
            for c in changes {
                crate::report::csv_record(
                    &mut w,
                    [
                        SCHEMA_VERSION.to_string(),
                        command.to_owned(),
                        c.id.clone(),
                        c.host.clone().unwrap_or_default(),
                        c.from.map(|s| s.as_str()).unwrap_or("").to_owned(),
                        c.to.as_str().to_owned(),
                        c.notes.join(" | "),
                    ],
                )?;
            }
            w.flush()
        }
        _ => {
            serde_json::to_writer_pretty(
                &mut *out,
                &StepReport {
                    schema_version: SCHEMA_VERSION,
                    tool: &TOOL,
                    command,
                    policy,
                    changes,
                    items: plan
                        .items
                        .iter()
                        .map(|i| StepItem {
                            id: &i.id,
                            step: i.step,
                        })
                        .collect(),
                    summary,
                },
            )?;
            writeln!(out)
        }
    }
}
