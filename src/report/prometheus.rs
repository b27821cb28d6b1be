//! `--format prometheus`: the node_exporter textfile format (text exposition 0.0.4): gauges
//! only, no timestamps, so a cron job can write `--output /var/lib/node_exporter/x.prom` and
//! alert on it.

use std::collections::HashSet;
use std::io::{self, Write};

use super::model::ScanReport;
use crate::classify::{Role, Status};

/// Writes metric families: `# HELP`/`# TYPE` once per family, then its samples.
pub struct Metrics<'w> {
    out: &'w mut dyn Write,
}

impl<'w> Metrics<'w> {
    pub fn new(out: &'w mut dyn Write) -> Self {
        Metrics { out }
    }

    /// Starts a gauge family.
    pub fn family(&mut self, name: &str, help: &str) -> io::Result<()> {
        writeln!(self.out, "# HELP {name} {}", escape_help(help))?;
        writeln!(self.out, "# TYPE {name} gauge")
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> io::Result<()> {
        self.out.write_all(name.as_bytes())?;
        if !labels.is_empty() {
            self.out.write_all(b"{")?;
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.write_all(b",")?;
                }
                write!(self.out, "{k}=\"{}\"", escape_label(v))?;
            }
            self.out.write_all(b"}")?;
        }
        writeln!(self.out, " {}", number(value))
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, help: &str, value: f64) -> io::Result<()> {
        self.family(name, help)?;
        self.sample(name, &[], value)
    }
}

/// Label values escape `\`, `"` and newline (the exposition format's three escapes).
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escapes `\` and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The first CN of an RFC 4514 name (most specific first), unescaped; empty when none.
pub fn common_name(rfc4514: &str) -> String {
    let mut attr_start = true;
    let mut chars = rfc4514.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if attr_start && rfc4514[i..].starts_with("CN=") {
            let mut value = String::new();
            let mut rest = rfc4514[i + 3..].chars();
            while let Some(c) = rest.next() {
                match c {
                    '\\' => {
                        if let Some(n) = rest.next() {
                            value.push(n);
                        }
                    }
                    ',' | '+' => break,
                    c => value.push(c),
                }
            }
            return value;
        }
        attr_start = false;
        match c {
            '\\' => {
                chars.next();
            }
            ',' | '+' => attr_start = true,
            _ => {}
        }
    }
    String::new()
}

/// Scan metrics: one `certsweep_certificate_not_after_seconds` series per certificate, counts
/// per status, and whether the run was complete and needs action.
pub fn write_scan(report: &ScanReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let summary = report.summary();
    let mut m = Metrics::new(out);
    m.family(
        "certsweep_certificate_not_after_seconds",
        "notAfter of each certificate as Unix seconds, labelled with its scan status.",
    )?;
    let mut seen = HashSet::new();
    for (entry, verdict) in report
        .inventory
        .certs
        .iter()
        .zip(&report.classified.verdicts)
    {
        let f = &entry.facts;
        // One series per certificate: the same certificate read twice is one series.
        if !seen.insert(f.fingerprint) {
            continue;
        }
        let fingerprint = f.fingerprint.to_string();
        let spki = f.spki.to_string();
        let cn = common_name(&f.subject);
        let labels = [
            ("status", verdict.status.as_str()),
            (
                "role",
                match verdict.role {
                    Role::Leaf => "leaf",
                    Role::Chain => "chain",
                },
            ),
            ("host", entry.upload.host.as_deref().unwrap_or("")),
            ("cn", cn.as_str()),
            ("serial", f.serial.as_str()),
            ("fingerprint_sha256", fingerprint.as_str()),
            ("spki_sha256", spki.as_str()),
        ];
        m.sample(
            "certsweep_certificate_not_after_seconds",
            &labels,
            f.not_after.unix_timestamp() as f64,
        )?;
    }
    m.family("certsweep_certificates", "Certificates per scan status.")?;
    for status in Status::ALL {
        m.sample(
            "certsweep_certificates",
            &[("status", status.as_str())],
            summary.count(status) as f64,
        )?;
    }
    m.single(
        "certsweep_certificates_needing_action",
        "Certificates whose action is replace, review or renew.",
        summary.needing_action as f64,
    )?;
    m.single(
        "certsweep_input_errors",
        "Inputs that could not be read; non-zero means the audit is incomplete.",
        summary.errors as f64,
    )?;
    m.single(
        "certsweep_scan_complete",
        "1 when every input was read, 0 when the audit is incomplete.",
        if summary.complete { 1.0 } else { 0.0 },
    )?;
    m.single(
        "certsweep_action_required",
        "1 when a certificate needs action (the exit code would be 1).",
        if summary.action_required { 1.0 } else { 0.0 },
    )?;
    m.single(
        "certsweep_scan_now_seconds",
        "The reference time of the scan (--now, else the clock) as Unix seconds.",
        report.policy.now.unix_timestamp() as f64,
    )?;
    if let Some(cutoff) = report.policy.cutoff {
        m.single(
            "certsweep_cutoff_seconds",
            "The exposure cutoff as Unix seconds.",
            cutoff.unix_timestamp() as f64,
        )?;
    }
    Ok(())
}

/// Probe metrics: one `certsweep_probe_up` series per target (1 when the probe completed), the
/// served leaf's notAfter, counts per probe status.
pub fn write_probe(report: &crate::probe::ProbeReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let summary = report.summary();
    let mut m = Metrics::new(out);
    m.family(
        "certsweep_probe_up",
        "1 when the probe of the target completed, 0 when it failed; labelled with its status.",
    )?;
    for (p, status, _) in &report.results {
        let port = p.target.port.to_string();
        let address = p.target.address();
        m.sample(
            "certsweep_probe_up",
            &[
                ("target", address.as_str()),
                ("port", port.as_str()),
                ("status", status.as_str()),
            ],
            if p.error.is_none() { 1.0 } else { 0.0 },
        )?;
    }
    m.family(
        "certsweep_probe_leaf_not_after_seconds",
        "notAfter of the leaf certificate each target served, as Unix seconds.",
    )?;
    for (p, status, _) in &report.results {
        let Some(leaf) = p.chain.first() else {
            continue;
        };
        let address = p.target.address();
        let cn = common_name(&leaf.subject);
        let fingerprint = leaf.fingerprint.to_string();
        let spki = leaf.spki.to_string();
        m.sample(
            "certsweep_probe_leaf_not_after_seconds",
            &[
                ("target", address.as_str()),
                ("status", status.as_str()),
                ("cn", cn.as_str()),
                ("serial", leaf.serial.as_str()),
                ("fingerprint_sha256", fingerprint.as_str()),
                ("spki_sha256", spki.as_str()),
                ("verified", if p.verified() { "true" } else { "false" }),
            ],
            leaf.not_after.unix_timestamp() as f64,
        )?;
    }
    m.single(
        "certsweep_probe_targets_serving_exposed",
        "Targets serving an exposed certificate or key.",
        summary.serving_exposed as f64,
    )?;
    m.single(
        "certsweep_probe_targets_failed",
        "Targets whose probe did not complete.",
        summary.failed as f64,
    )?;
    m.single(
        "certsweep_probe_complete",
        "1 when every target was probed and every input read.",
        if summary.complete { 1.0 } else { 0.0 },
    )?;
    m.single(
        "certsweep_action_required",
        "1 when a target needs action (the exit code would be 1).",
        if summary.action_required { 1.0 } else { 0.0 },
    )
}

/// App-credential metrics: one series per installation (its creation time), counts per status.
pub fn write_apps(report: &crate::apps::AppsReport, out: &mut dyn Write) -> io::Result<()> {
    let summary = report.summary();
    let mut m = Metrics::new(out);
    m.family(
        "certsweep_app_installation_created_seconds",
        "Creation time of each app installation as Unix seconds, labelled with its status.",
    )?;
    for a in &report.apps {
        let created = crate::timefmt::parse(&a.created_at)
            .map(|t| t.unix_timestamp() as f64)
            .unwrap_or(f64::NAN);
        let credentials = a.credentials.len().to_string();
        m.sample(
            "certsweep_app_installation_created_seconds",
            &[
                ("installation_id", a.installation_id.as_str()),
                ("app_id", a.app_id.as_deref().unwrap_or("")),
                ("product", a.product.as_deref().unwrap_or("")),
                ("status", a.status.as_str()),
                ("credentials", credentials.as_str()),
            ],
            created,
        )?;
    }
    m.single(
        "certsweep_app_installations_to_rotate",
        "Installations created before the cutoff whose settings hold credentials.",
        summary.rotate as f64,
    )?;
    m.single(
        "certsweep_apps_complete",
        "1 when every input was read.",
        if summary.complete { 1.0 } else { 0.0 },
    )?;
    m.single(
        "certsweep_action_required",
        "1 when an installation needs action (the exit code would be 1).",
        if summary.action_required { 1.0 } else { 0.0 },
    )
}

#[cfg(test)]
mod tests {
    use super::{common_name, escape_label};

    #[test]
    fn common_name_is_found_and_unescaped() {
        assert_eq!(
            common_name("CN=shop.example.com,O=Shop"),
            "shop.example.com"
        );
        assert_eq!(common_name("O=x,CN=a\\,b"), "a,b");
        assert_eq!(common_name("OU=CN=fake,CN=real"), "real");
        assert_eq!(common_name("O=none"), "");
        assert_eq!(common_name("CN=a+UID=1"), "a");
    }

    #[test]
    fn label_values_escape_the_three_specials() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
