//! The output pipeline: a closed stdout, `--output` files, CSV injection, Prometheus parsed by
//! `prometheus_client`, and the HTML report loaded in headless Chromium.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType, SerialNumber};

use crate::harness::*;

/// A PEM bundle of `n` self-signed certificates on one key, valid 2015-2099, with `cn(i)` as
/// the common name and (when it is ASCII) the SAN of certificate `i`.
fn bundle(n: usize, cn: impl Fn(usize) -> String) -> String {
    let key = KeyPair::generate().unwrap();
    let mut pem = String::new();
    for i in 0..n {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn(i));
        p.distinguished_name = dn;
        if cn(i).is_ascii() {
            p.subject_alt_names = vec![SanType::DnsName(cn(i).try_into().unwrap())];
        }
        p.serial_number = Some(SerialNumber::from((i as u64 + 1).to_be_bytes().to_vec()));
        p.not_before = rcgen::date_time_ymd(2015, 3, 1);
        p.not_after = rcgen::date_time_ymd(2099, 12, 31);
        pem.push_str(&p.self_signed(&key).unwrap().pem());
    }
    pem
}

fn scan_args(file: &Path, format: &str) -> Vec<String> {
    [
        "scan",
        file.to_str().unwrap(),
        "--uploaded-at",
        "2015-06-01",
        "--cutoff",
        CUTOFF,
        "--format",
        format,
        "--now",
        NOW,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_the_result_as_exit_code() {
    let dir = temp();
    // ~600 records: far more than a pipe buffer in every format.
    let file = write(
        dir.path(),
        "many.pem",
        bundle(600, |i| format!("host{i}.example.com")),
    );
    for format in ["json", "ndjson", "csv", "table", "prometheus", "html"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .args(scan_args(&file, format))
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 16];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout); // the reader goes away, like `| head -c 16`
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(1),
            "{format}: exit by the result (exposed certificates), stderr: {stderr}"
        );
        assert_eq!(stderr, "", "{format}: nothing on stderr");
    }
}

#[test]
fn output_file_is_written_whole_and_nothing_else_is_left() {
    let dir = temp();
    let file = write(
        dir.path(),
        "two.pem",
        bundle(2, |i| format!("h{i}.example.com")),
    );
    let out = dir.path().join("reports").join("scan.json");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    std::fs::write(&out, "old report").unwrap();
    let mut args = scan_args(&file, "json");
    args.extend(["--output".into(), out.to_str().unwrap().into()]);
    let run = Test::new().args(args).without_now().run().code(1);
    assert_eq!(run.stdout, "", "the report went to the file");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["exposed"], 2);
    let left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("scan.json")],
        "no temp file left"
    );

    // A folder that does not exist: a clear error naming it, exit 2.
    let mut args = scan_args(&file, "json");
    args.extend([
        "--output".into(),
        dir.path().join("nope/scan.json").to_str().unwrap().into(),
    ]);
    Test::new()
        .args(args)
        .without_now()
        .run()
        .code(2)
        .stderr_has("nope");
}

#[test]
fn csv_cells_cannot_run_in_a_spreadsheet_or_rewrite_a_terminal() {
    let dir = temp();
    let names = [
        "=1+2.example.com",
        "+cmd.example.com",
        "-x.example.com",
        "@sum.example.com",
        "esc\x1b[31m.example.com",
        "bidi\u{202e}moc.example.com",
    ];
    let file = write(
        dir.path(),
        "evil.pem",
        bundle(names.len(), |i| names[i].to_owned()),
    );
    let run = Test::new()
        .args(scan_args(&file, "csv"))
        .without_now()
        .run()
        .code(1);
    assert!(!run.stdout.contains('\x1b') && !run.stdout.contains('\u{202e}'));
    let mut rows = csv::Reader::from_reader(run.stdout.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut cells = std::collections::HashSet::new();
    for row in rows.records() {
        let row = row.unwrap();
        for cell in row.iter() {
            let numeric = cell.parse::<i64>().is_ok();
            assert!(
                numeric || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "cell {cell:?} would be evaluated by a spreadsheet"
            );
            cells.insert(cell.to_owned());
        }
        assert!(
            row[col("days_left")].parse::<i64>().is_ok(),
            "numbers stay numbers"
        );
    }
    for want in [
        "'=1+2.example.com", // the dns_names cell, neutralised
        "'+cmd.example.com",
        "'-x.example.com",
        "'@sum.example.com",
        "CN=esc\\u{1b}[31m.example.com", // escaped as in the table
        "CN=bidi\\u{202e}moc.example.com",
    ] {
        assert!(cells.contains(want), "{want:?} not in {cells:?}");
    }
}

#[test]
fn prometheus_textfile_parses_with_the_reference_parser() {
    let dir = temp();
    let prom = dir.path().join("certsweep.prom");
    Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
            "--crl",
            "fixtures/demo/revocations.crl",
            "--format",
            "prometheus",
            "--output",
            prom.to_str().unwrap(),
        ])
        .run()
        .code(1);
    let text = std::fs::read_to_string(&prom).unwrap();
    // prometheus_client's parser is the reference implementation of the text format.
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    assert fam.type == "gauge", fam
    out[fam.name] = [[s.labels, s.value, s.timestamp] for s in fam.samples]
print(json.dumps(out))
"#;
    let parsed = python(script, &text);
    let families: serde_json::Value = serde_json::from_str(&parsed).unwrap();
    let certs = families["certsweep_certificate_not_after_seconds"]
        .as_array()
        .unwrap();
    assert_eq!(certs.len(), 16, "one series per demo certificate");
    assert!(certs.iter().all(|s| s[2].is_null()), "no timestamps");
    let shop = certs
        .iter()
        .find(|s| s[0]["cn"] == "shop.example.com")
        .unwrap();
    assert_eq!(shop[0]["status"], "exposed");
    assert_eq!(shop[0]["role"], "leaf");
    assert_eq!(shop[0]["host"], "shop.example.com");
    assert_eq!(shop[1], 4102444799.0, "notAfter 2099-12-31T23:59:59Z");
    let exposed = families["certsweep_certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[0]["status"] == "exposed")
        .unwrap()
        .clone();
    assert_eq!(exposed[1], 6.0);
    assert_eq!(families["certsweep_scan_complete"][0][1], 1.0);
    assert_eq!(families["certsweep_action_required"][0][1], 1.0);
}

fn python(script: &str, stdin: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with prometheus_client: .ci/run installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn formats_a_command_does_not_speak_are_refused_before_it_runs() {
    let dir = temp();
    Test::new()
        .args([
            "inspect",
            "fixtures/demo/uploads/shop.pem",
            "--format",
            "html",
        ])
        .run()
        .code(2)
        .stderr_has("--format html is not supported by `certsweep inspect`");
    let out = dir.path().join("csrs");
    let run = Test::new()
        .args([
            "csr",
            "--cert",
            "fixtures/demo/uploads/shop.pem",
            "--out-dir",
            out.to_str().unwrap(),
            "--format",
            "prometheus",
        ])
        .run()
        .code(2);
    assert!(run.stdout.is_empty());
    assert!(!out.exists(), "no key or CSR was made");
}

/// Headless Chromium: the system's, installed by `.ci/run` (Debian `chromium`).
fn chromium(args: &[&str]) -> String {
    let profile = temp();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium (Debian package `chromium`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn html_report_in_a_real_browser() {
    let dir = temp();
    // A hostile subject that would run if it reached the page as markup.
    let evil = "<script>document.body.setAttribute('data-pwned','1')</script>.example.com";
    let evil_file = write(dir.path(), "evil.pem", bundle(1, |_| evil.to_owned()));
    let page = dir.path().join("report.html");
    Test::new()
        .args([
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            evil_file.to_str().unwrap(),
            "--uploaded-at",
            "2015-06-01",
            "--cutoff",
            CUTOFF,
            "--crl",
            "fixtures/demo/revocations.crl",
            "--format",
            "html",
            "--output",
            page.to_str().unwrap(),
        ])
        .run()
        .code(1);
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["http://", "https://", "src=", "<link", "@import", "url("] {
        let allowed = external == "http://"
            && html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert!(
            allowed || !html.contains(external),
            "self-contained: found {external}"
        );
    }
    let url = format!("file://{}", page.display());
    let dom = chromium(&["--dump-dom", &url]);
    // 16 demo certificates + the hostile one: one bar each.
    assert_eq!(
        dom.matches("<rect class=\"bar\"").count(),
        17,
        "one bar per certificate"
    );
    assert!(dom.contains("class=\"cutoff\""), "the cutoff line is drawn");
    assert!(dom.contains("class=\"now\""), "the now line is drawn");
    assert!(
        !dom.contains("data-pwned=\"1\""),
        "the injected script did not run"
    );
    assert!(!dom.contains("<script"), "no script element at all");
    assert!(
        dom.contains("&lt;script&gt;document.body"),
        "the subject is shown as text"
    );

    // A screenshot for people to look at (kept as a build artifact).
    let shot: PathBuf = root().join("target").join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        "--window-size=1300,1100",
        &format!("--screenshot={}", shot.display()),
        &url,
    ]);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real picture"
    );
}

#[test]
fn tables_fit_the_terminal_width_and_pipes_get_everything() {
    let args = [
        "scan",
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
    ];
    let narrow = Test::new().args(args).env("COLUMNS", "60").run().code(1);
    for line in narrow.stdout.lines() {
        assert!(
            line.chars().count() <= 60,
            "{} chars: {line}",
            line.chars().count()
        );
    }
    assert!(
        narrow.stdout.contains('…'),
        "long cells are cut: {}",
        narrow.stdout
    );
    // Every date of every reason is still there, wrapped rather than cut.
    let wide = Test::new().args(args).run().code(1);
    assert!(!wide.stdout.contains('…'), "a pipe gets every character");
    let dates = |s: &str| s.matches("T00:00:00Z").count();
    assert_eq!(dates(&narrow.stdout), dates(&wide.stdout));
}

/// Checks that `stdout` is really `format` (parsing it), or that the format was refused.
fn check_format(what: &str, format: &str, run: &Run, supported: bool) {
    if !supported {
        assert_eq!(run.code, 2, "{what} --format {format} must be refused");
        assert!(
            run.stdout.is_empty(),
            "{what} --format {format}: nothing on stdout"
        );
        assert!(
            run.stderr
                .contains(&format!("--format {format} is not supported")),
            "{what}: {}",
            run.stderr
        );
        return;
    }
    // Inputs may be incomplete on purpose (exit 2); the format itself must not be refused.
    assert!(
        !run.stderr.contains("is not supported"),
        "{what} --format {format}: {}",
        run.stderr
    );
    let out = &run.stdout;
    match format {
        "json" => {
            let v: serde_json::Value =
                serde_json::from_str(out).unwrap_or_else(|e| panic!("{what} json: {e}\n{out}"));
            assert_eq!(v["schema_version"], 1, "{what}");
        }
        "ndjson" => {
            let lines: Vec<serde_json::Value> = out
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
                .collect();
            assert_eq!(lines.last().unwrap()["type"], "summary", "{what}");
            assert!(lines.iter().all(|l| l["type"].is_string()), "{what}");
        }
        "csv" => {
            let mut r = csv::Reader::from_reader(out.as_bytes());
            let width = r.headers().unwrap().len();
            assert!(width > 3, "{what}: a real header");
            assert_eq!(&r.headers().unwrap()[0], "schema_version", "{what}");
            for row in r.records() {
                assert_eq!(row.unwrap().len(), width, "{what}");
            }
            assert!(!out.trim_start().starts_with('{'), "{what}: not JSON");
        }
        "prometheus" => {
            assert!(out.starts_with("# HELP certsweep_"), "{what}: {out}");
            python(
                "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\nlist(p(sys.stdin.read()))",
                out,
            );
        }
        "html" => assert!(out.starts_with("<!DOCTYPE html>"), "{what}"),
        _ => {
            assert!(!out.trim().is_empty(), "{what} table");
            assert!(
                !out.trim_start().starts_with('{'),
                "{what}: a table, not JSON"
            );
        }
    }
}

const FORMATS: [&str; 6] = ["table", "json", "ndjson", "csv", "prometheus", "html"];

#[test]
fn every_command_speaks_every_format_or_refuses_it() {
    let dir = temp();
    let demo = [
        "--manifest",
        "fixtures/demo/manifest.json",
        "--cutoff",
        CUTOFF,
    ];
    for format in FORMATS {
        let run = Test::new()
            .arg("scan")
            .args(demo)
            .args(["--format", format])
            .run();
        check_format("scan", format, &run, true);

        let run = Test::new()
            .args([
                "inspect",
                "fixtures/demo/uploads/shop.pem",
                "--format",
                format,
            ])
            .run();
        check_format("inspect", format, &run, FORMATS[..4].contains(&format));

        let out = dir.path().join(format!("csr-{format}"));
        let run = Test::new()
            .args([
                "csr",
                "--cert",
                "fixtures/demo/uploads/shop.pem",
                "--out-dir",
            ])
            .arg(&out)
            .args(["--format", format])
            .run();
        check_format("csr", format, &run, FORMATS[..4].contains(&format));

        // Nothing listens on port 1: the probe fails (exit 2) but still reports in full.
        let run = Test::new()
            .args(["probe", "127.0.0.1:1", "--timeout", "2", "--format", format])
            .run();
        check_format("probe", format, &run, format != "html");

        let run = Test::new()
            .args([
                "apps",
                "fixtures/apps/installations-page1.json",
                "fixtures/apps/installations-page2.json",
                "--cutoff",
                CUTOFF,
                "--format",
                format,
            ])
            .run();
        check_format("apps", format, &run, format != "html");

        let run = Test::new()
            .args(["completions", "bash", "--format", format])
            .run();
        check_format("completions", format, &run, format == "table");
        let run = Test::new().args(["man", "--format", format]).run();
        check_format("man", format, &run, format == "table");
    }
}

/// `rotate init` of the demo inventory.
const DEMO_INIT: [&str; 5] = [
    "init",
    "--manifest",
    "fixtures/demo/manifest.json",
    "--cutoff",
    CUTOFF,
];

/// `rotate --state STATE ARGS --format FORMAT`.
fn rotate_as(state: &str, args: &[&str], format: &str) -> Run {
    Test::new()
        .args(["rotate", "--state", state])
        .args(args.iter().copied())
        .args(["--format", format])
        .run()
}

#[test]
fn rotate_speaks_every_format_and_reports_steps_as_data() {
    let dir = temp();
    let state = dir.path().join("plan.json");
    let state = state.to_str().unwrap();
    let rotate = |args: &[&str], format: &str| rotate_as(state, args, format);
    // init as JSON: every planned item is a change from nothing to `planned`.
    let run = rotate(&DEMO_INIT, "json");
    assert_eq!(
        run.code, 1,
        "one demo certificate has no upload date: {}",
        run.stderr
    );
    let init = run.json();
    assert_eq!(init["command"], "init");
    let changes = init["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 9, "{init}");
    assert!(changes
        .iter()
        .all(|c| c["from"].is_null() && c["to"] == "planned"));

    // csr for one item as CSV: one row, planned -> csr-generated.
    let run = rotate(&["csr", "shop"], "csv");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut rows = csv::Reader::from_reader(run.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][4], "planned");
    assert_eq!(&rows[0][5], "csr-generated");

    // next as JSON: data, with the exact command for the shop item.
    let next = rotate(&["next"], "json").code(1).json();
    let shop = next["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["host"] == "shop.example.com")
        .unwrap()
        .clone();
    assert_eq!(shop["step"], "csr-generated");
    assert!(shop["commands"][0]
        .as_str()
        .unwrap()
        .starts_with("certsweep rotate import shop.example.com-"));

    for format in FORMATS {
        let run = rotate(&["status"], format);
        check_format("rotate status", format, &run, true);
        let run = rotate(&["next"], format);
        check_format("rotate next", format, &run, FORMATS[..4].contains(&format));
        // The walk is for a person at a terminal: any data format is refused.
        if format != "table" {
            check_format("rotate walk", format, &rotate(&["walk"], format), false);
        }
    }
    // The status page in Prometheus counts items per step.
    let prom = rotate(&["status"], "prometheus").stdout;
    assert!(
        prom.contains("certsweep_rotation_items{step=\"csr-generated\"} 1"),
        "{prom}"
    );
    assert!(
        prom.contains("certsweep_rotation_items{step=\"planned\"} 8"),
        "{prom}"
    );
}

#[test]
fn dash_reads_stdin_for_apps_pages_and_csr_cert_once() {
    let page1 = fixture("apps/installations-page1.json");
    let from_file = Test::new()
        .args([
            "apps",
            "fixtures/apps/installations-page1.json",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .run();
    let from_stdin = Test::new()
        .args(["apps", "-", "--cutoff", CUTOFF, "--format", "json"])
        .stdin(page1.clone())
        .run();
    assert_eq!(from_stdin.code, from_file.code);
    // The same audit from stdin; only the source path differs.
    let strip = |mut v: serde_json::Value| {
        for a in v["apps"].as_array_mut().unwrap() {
            assert!(a["source"]["path"].is_string());
            a["source"]["path"] = serde_json::Value::Null;
        }
        v["apps"].clone()
    };
    assert_eq!(from_stdin.json()["apps"][0]["source"]["path"], "-");
    assert_eq!(strip(from_stdin.json()), strip(from_file.json()));
    Test::new()
        .args(["apps", "-", "-", "--cutoff", CUTOFF])
        .stdin(page1)
        .run()
        .code(2)
        .stderr_has("stdin (-) can be read only once");

    let dir = temp();
    let out = dir.path().join("csrs");
    let run = Test::new()
        .args(["csr", "--cert", "-", "--out-dir"])
        .arg(&out)
        .args(["--format", "json"])
        .stdin(fixture("demo/uploads/shop.pem"))
        .run()
        .code(0);
    let csrs = run.json()["csrs"].as_array().unwrap().clone();
    assert_eq!(csrs.len(), 1);
    assert_eq!(csrs[0]["old"]["subject"], "CN=shop.example.com");
    assert!(out.join("shop.example.com.csr.pem").exists());
}

#[test]
fn exposed_keys_list_from_stdin() {
    // The shop certificate's key, as another team's `--export-exposed-keys` would list it.
    let shop = Test::new()
        .args([
            "inspect",
            "fixtures/demo/uploads/shop.pem",
            "--format",
            "json",
        ])
        .run()
        .code(0)
        .json();
    let spki = shop["certificates"][0]["spki_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/shop.pem",
            "--exposed-keys",
            "-",
            "--format",
            "json",
        ])
        .stdin(format!("# from the other team\n{spki}\n"))
        .run()
        .code(1);
    let r = run.json();
    assert_eq!(r["certificates"][0]["status"], "key-reused");
    let reasons = r["certificates"][0]["reasons"].to_string();
    assert!(reasons.contains("exposed-keys list (stdin)"), "{reasons}");
    // stdin cannot feed two inputs.
    Test::new()
        .args(["scan", "-", "--exposed-keys", "-"])
        .stdin(spki)
        .run()
        .code(2)
        .stderr_has("stdin (-) can be read only once");
}

#[test]
fn output_is_honoured_or_refused_by_every_command() {
    let dir = temp();
    let completions = dir.path().join("certsweep.bash");
    Test::new()
        .args(["completions", "bash", "--output"])
        .arg(&completions)
        .run()
        .code(0);
    assert!(std::fs::read_to_string(&completions)
        .unwrap()
        .contains("certsweep"));
    let man = dir.path().join("certsweep.1");
    let run = Test::new()
        .args(["man", "--output"])
        .arg(&man)
        .run()
        .code(0);
    assert!(run.stdout.is_empty());
    assert!(std::fs::read_to_string(&man)
        .unwrap()
        .contains(".SH ENVIRONMENT"));
    let inspect = dir.path().join("inspect.csv");
    Test::new()
        .args([
            "inspect",
            "fixtures/demo/uploads/shop.pem",
            "--format",
            "csv",
        ])
        .arg("--output")
        .arg(&inspect)
        .run()
        .code(0);
    assert!(std::fs::read_to_string(&inspect)
        .unwrap()
        .starts_with("schema_version,"));
    // rotate's steps and `next` write their lines to --output too.
    let state = dir.path().join("plan.json");
    let init_out = dir.path().join("init.txt");
    let run = Test::new()
        .args(["rotate", "--state"])
        .arg(&state)
        .args([
            "init",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
            "--output",
        ])
        .arg(&init_out)
        .run();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(std::fs::read_to_string(&init_out)
        .unwrap()
        .contains("9 new item(s)"));
    let next_out = dir.path().join("next.txt");
    let run = Test::new()
        .args(["rotate", "--state"])
        .arg(&state)
        .args(["next", "--output"])
        .arg(&next_out)
        .run()
        .code(1);
    assert!(run.stdout.is_empty());
    assert!(std::fs::read_to_string(&next_out)
        .unwrap()
        .contains("certsweep rotate csr"));
    Test::new()
        .args(["rotate", "walk", "--output"])
        .arg(dir.path().join("walk.txt"))
        .run()
        .code(2)
        .stderr_has("--output is not for `rotate walk`");
}

#[test]
fn manifest_and_targets_from_stdin() {
    let manifest = r#"{"uploads": [
        {"id": "shop", "file": "fixtures/demo/uploads/shop.pem", "uploaded_at": "2016-05-10T09:30:00Z", "host": "shop.example.com"}
    ]}"#;
    let r = Test::new()
        .args([
            "scan",
            "--manifest",
            "-",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .stdin(manifest)
        .run()
        .code(1)
        .json();
    let shop = leaf(&r, "shop");
    assert_eq!(shop["status"], "exposed");
    assert_eq!(shop["source"]["uploaded_at"], "2016-05-10T09:30:00Z");
    // Nothing listens on port 1: the one target from stdin is probed (and fails, exit 2).
    let r = Test::new()
        .args([
            "probe",
            "--targets",
            "-",
            "--timeout",
            "2",
            "--format",
            "json",
        ])
        .stdin("127.0.0.1:1 closed.example.com\n")
        .run()
        .code(2)
        .json();
    assert_eq!(r["targets"].as_array().unwrap().len(), 1);
    assert_eq!(r["targets"][0]["target"]["input_line"], 1);
}

#[test]
fn errors_at_the_top_are_escaped() {
    let run = Test::new()
        .args(["man", "--dir", "nope\u{1b}[31m\u{202e}"])
        .run()
        .code(2);
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{202e}'));
    assert!(run.stderr.contains("\\u{1b}"), "{}", run.stderr);
}

/// Writes into the plan at `state` the ACME order an interrupted `rotate issue` leaves for
/// item `id` (its `acme_intent`, as `rotate issue` records it).
pub fn record_acme_order(state: &Path, id: &str, account: &str, finalize_sent: bool, at: &str) {
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    let item = plan["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["id"] == id)
        .unwrap();
    item["acme_intent"] = serde_json::json!({
        "directory": "https://ca.example.test/dir",
        "order_url": "https://ca.example.test/order/7",
        "account_path": account,
        "new_spki_sha256": item["csr"]["new_spki_sha256"],
        "finalize_sent": finalize_sent,
        "at": at,
    });
    std::fs::write(state, plan.to_string()).unwrap();
}

#[test]
fn rotate_status_and_next_tell_about_an_acme_order_in_progress_in_every_format() {
    use clap::Parser;
    let dir = temp();
    let state = dir.path().join("plan.json");
    let st = state.to_str().unwrap();
    let rotate = |args: &[&str], format: &str| rotate_as(st, args, format);
    let init = rotate(&DEMO_INIT, "json").json();
    let shop = init["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["host"] == "shop.example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rotate(&["csr", &shop], "table").code(0);
    // Ordered with another account file, killed before finalize.
    record_acme_order(
        &state,
        &shop,
        "accounts/ops.json",
        false,
        "2026-11-23T10:00:00Z",
    );
    let url = "https://ca.example.test/order/7";
    let command = format!(
        "certsweep rotate issue {shop} --acme-directory https://ca.example.test/dir --acme-account {}/accounts/ops.json --http01-webroot DIR --state {st}",
        dir.path().display()
    );
    let sentence = format!(
        "an ACME order is in progress at {url} (ordered at 2026-11-23T10:00:00Z, finalize not sent yet)"
    );
    certsweep::cli::Cli::try_parse_from(command.split_whitespace())
        .unwrap_or_else(|e| panic!("`{command}` does not parse: {e}"));

    for format in FORMATS {
        let run = rotate(&["status"], format);
        check_format("rotate status", format, &run, true);
        let out = &run.stdout;
        match format {
            "table" => {
                assert!(
                    out.contains(&format!(
                        "{shop}: {sentence}: run `{command}` again to resume it (no new order is made)"
                    )),
                    "{out}"
                );
                assert!(out.contains("the ACME order in progress to be resumed"), "{out}");
            }
            "json" => {
                let v = run.json();
                let row = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|i| i["id"] == shop.as_str())
                    .unwrap();
                let order = &row["acme_order_in_progress"];
                assert_eq!(order["order_url"], url, "{v}");
                assert_eq!(order["directory"], "https://ca.example.test/dir");
                assert_eq!(order["finalize_sent"], false);
                assert_eq!(order["at"], "2026-11-23T10:00:00Z");
                assert_eq!(order["resume_command"], command.as_str());
                let others = v["items"].as_array().unwrap().iter();
                assert!(others
                    .filter(|i| i["id"] != shop.as_str())
                    .all(|i| i["acme_order_in_progress"].is_null()));
            }
            "ndjson" => {
                let line: serde_json::Value = out
                    .lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                    .find(|l| l["id"] == shop.as_str())
                    .unwrap();
                assert_eq!(line["acme_order_in_progress"]["order_url"], url, "{out}");
            }
            "csv" => {
                let mut r = csv::Reader::from_reader(out.as_bytes());
                let h = r.headers().unwrap().clone();
                let col = |name: &str| h.iter().position(|c| c == name).unwrap();
                let row = r
                    .records()
                    .map(Result::unwrap)
                    .find(|row| row[col("id")] == shop)
                    .unwrap();
                assert_eq!(&row[col("acme_order_in_progress")], url, "{out}");
                assert_eq!(&row[col("acme_finalize_sent")], "false", "{out}");
            }
            "prometheus" => assert!(
                out.contains(&format!(
                    "certsweep_rotation_acme_order_in_progress{{id=\"{shop}\",order_url=\"{url}\",finalize_sent=\"false\"}} 1"
                )),
                "{out}"
            ),
            _ => {
                assert!(out.contains("<ul id=\"acme-orders\">"), "{out}");
                assert!(out.contains(&sentence), "{out}");
            }
        }
    }

    // `next`: the order and the command that resumes it, first, in the formats it speaks.
    let table = rotate(&["next"], "table").code(1).stdout;
    assert!(table.contains(&sentence), "{table}");
    assert!(table.contains(&format!("    {command}\n")), "{table}");
    let next = rotate(&["next"], "json").code(1).json();
    let item = next["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == shop.as_str())
        .unwrap();
    assert_eq!(item["commands"][0], command.as_str(), "{item}");
    assert_eq!(item["acme_order_in_progress"]["order_url"], url);
    let ndjson = rotate(&["next"], "ndjson").code(1).stdout;
    assert!(
        ndjson
            .lines()
            .any(|l| l.contains(&shop) && l.contains(&format!("\"order_url\":\"{url}\""))),
        "{ndjson}"
    );
    let csv_out = rotate(&["next"], "csv").code(1).stdout;
    let mut r = csv::Reader::from_reader(csv_out.as_bytes());
    let h = r.headers().unwrap().clone();
    let row = r
        .records()
        .map(Result::unwrap)
        .find(|row| &row[1] == shop.as_str())
        .unwrap();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    assert_eq!(&row[col("acme_order_in_progress")], url, "{csv_out}");
    assert_eq!(&row[col("next_command")], command.as_str(), "{csv_out}");

    // Finalize sent with the default account of that CA: no --acme-account to give.
    record_acme_order(
        &state,
        &shop,
        "acme-account-ca.example.test.json",
        true,
        "2026-11-23T10:05:00Z",
    );
    let table = rotate(&["status"], "table").code(1).stdout;
    assert!(
        table.contains(&format!(
            "{shop}: an ACME order is in progress at {url} (finalize sent at 2026-11-23T10:05:00Z): run `certsweep rotate issue {shop} --acme-directory https://ca.example.test/dir --http01-webroot DIR --state {st}` again to resume it"
        )),
        "{table}"
    );
}

/// The hints of `rotate next` name every challenge option of `rotate issue` (`--manual-dns01`
/// too), and every command they suggest parses.
#[test]
fn rotate_next_hints_name_every_challenge_option_and_parse() {
    use clap::Parser;
    let dir = temp();
    let state = dir.path().join("plan.json");
    let st = state.to_str().unwrap();
    let rotate = |args: &[&str]| {
        Test::new()
            .args(["rotate", "--state", st])
            .args(args.iter().copied())
            .run()
    };
    rotate(&DEMO_INIT);
    rotate(&["csr", "--all"]).code(0);
    let next = rotate(&[
        "next",
        "--acme-directory",
        "https://ca.example.test/dir",
        "--format",
        "json",
    ])
    .code(1)
    .json();
    let items = next["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        let text = item["instructions"].to_string();
        for flag in [
            "--http01-webroot",
            "--http01-listen",
            "--dns01-hook",
            "--manual ",
            "--manual-dns01",
        ] {
            assert!(text.contains(flag), "{flag} missing: {text}");
        }
        for command in item["commands"].as_array().unwrap() {
            let command = command.as_str().unwrap();
            certsweep::cli::Cli::try_parse_from(command.split_whitespace())
                .unwrap_or_else(|e| panic!("suggested `{command}` does not parse: {e}"));
            // With --manual-dns01 instead of the webroot, the command parses too.
            let manual = command.replace("--http01-webroot DIR", "--manual-dns01");
            certsweep::cli::Cli::try_parse_from(manual.split_whitespace())
                .unwrap_or_else(|e| panic!("`{manual}` does not parse: {e}"));
        }
    }
}
