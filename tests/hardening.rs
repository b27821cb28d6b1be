//! Hostile and mistaken input through the real binary: FIFOs, devices, endless streams, huge
//! files and lines, repeated junk. Each run must end within its timeout, with a clear error
//! record, and with a peak memory under 256 MiB.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// The ceiling every bounded run must stay under.
const MAX_RSS_KIB: u64 = 256 * 1024;

/// What to feed the binary on stdin.
enum Input {
    Nothing,
    /// `0x30` then zeros for ever (until the binary stops reading).
    EndlessDer,
    /// This file's bytes.
    File(std::path::PathBuf),
}

struct Bounded {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: u64,
    took: Duration,
}

/// Runs certsweep (with `--now`) under `/usr/bin/time` when it exists (exact peak RSS), else
/// sampling `VmHWM` from /proc; kills it after `timeout` and fails the test if it had to.
fn bounded(args: &[&str], input: Input, timeout: Duration) -> Bounded {
    let bin = env!("CARGO_BIN_EXE_certsweep");
    let dir = temp();
    let time_out = dir.path().join("rss");
    let use_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.current_dir(root())
        .env_clear()
        .args(["--now", NOW])
        .args(args)
        .stdin(match &input {
            Input::Nothing => Stdio::null(),
            Input::EndlessDer => Stdio::piped(),
            Input::File(path) => File::open(path).expect("stdin file").into(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn certsweep");
    if let Input::EndlessDer = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let zeros = vec![0u8; 1 << 20];
            if stdin.write_all(&[0x30]).is_err() {
                return;
            }
            while stdin.write_all(&zeros).is_ok() {}
        });
    }
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read_all = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let (out_t, err_t) = (read_all(Box::new(stdout)), read_all(Box::new(stderr)));
    let mut sampled = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if !use_time {
            sampled = sampled.max(vm_hwm(child.id()).unwrap_or(0));
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("certsweep {args:?} did not end within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    let peak_kib = if use_time {
        std::fs::read_to_string(&time_out)
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .expect("GNU time wrote the peak RSS")
    } else {
        sampled
    };
    let run = Bounded {
        code: status.code().expect("certsweep exited by a signal"),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
        peak_kib,
        took,
    };
    assert!(
        run.peak_kib < MAX_RSS_KIB,
        "peak RSS {} KiB for {args:?}",
        run.peak_kib
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Bounded {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// stdout as NDJSON: one value a line.
    fn ndjson(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn stdout_has(&self, needle: &str) {
        assert!(self.stdout.contains(needle), "{}", self.stdout);
    }

    fn stderr_has(&self, needle: &str) {
        assert!(self.stderr.contains(needle), "{}", self.stderr);
    }

    /// The reasons of the error records naming `path`.
    fn errors_for(&self, path: &str) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"] == path)
            .map(|e| e["reason"].as_str().unwrap().to_owned())
            .collect()
    }
}

const GOOD: &str = "fixtures/demo/uploads/fresh.pem";
const SECS: Duration = Duration::from_secs(60);

/// A bounded run with nothing on stdin that must end within `SECS`, incomplete (exit 2).
fn incomplete(args: &[&str]) -> Bounded {
    let run = bounded(args, Input::Nothing, SECS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    run
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// A sparse file: `head`, then zeros up to `len` bytes (costs no disk).
fn sparse(dir: &Path, name: &str, head: &[u8], len: u64) -> String {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(len).unwrap();
    path.display().to_string()
}

fn scan_json<'a>(paths: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["scan"];
    v.extend_from_slice(paths);
    v.extend_from_slice(&["--format", "json"]);
    v.extend_from_slice(extra);
    v
}

#[test]
fn a_fifo_named_on_the_command_line_is_an_error_not_a_hang() {
    let dir = temp();
    let fifo = dir.path().join("upload.pem");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    let run = bounded(&scan_json(&[&fifo, GOOD], &[]), Input::Nothing, SECS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.errors_for(&fifo),
        [
            "not a regular file but a named pipe (FIFO): not read (name regular files or \
          folders; to read a stream, pipe it to `-`)"
        ]
    );
    assert_eq!(run.json()["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(run.json()["summary"]["complete"], false);
}

#[test]
fn a_device_named_on_the_command_line_or_in_a_manifest_is_refused() {
    let dir = temp();
    let manifest = write(
        dir.path(),
        "m.json",
        r#"[{"id": "z", "file": "/dev/zero", "uploaded_at": "2015-01-01"}]"#,
    );
    let manifest = manifest.display().to_string();
    let run = bounded(
        &scan_json(&["/dev/zero", GOOD], &["--manifest", &manifest]),
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for("/dev/zero");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors
        .iter()
        .all(|e| e.starts_with("not a regular file but a character device")));
}

#[test]
fn fifos_inside_a_scanned_folder_get_a_record() {
    let dir = temp();
    std::fs::copy(root().join(GOOD), dir.path().join("fresh.pem")).unwrap();
    let fifo = dir.path().join("pipe.pem");
    mkfifo(&fifo);
    let folder = dir.path().display().to_string();
    let run = bounded(&scan_json(&[&folder], &[]), Input::Nothing, SECS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for(&fifo.display().to_string());
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("named pipe (FIFO)"), "{errors:?}");
    assert_eq!(run.json()["summary"]["complete"], false);
    assert_eq!(run.json()["certificates"].as_array().unwrap().len(), 1);
}

#[test]
fn endless_der_looking_stdin_stops_at_the_input_cap() {
    let run = bounded(
        &scan_json(&["-"], &["--max-input-size", "24MiB"]),
        Input::EndlessDer,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for("-");
    assert!(
        errors.iter().any(|e| e
            == "only the first 24 MiB were read: the input is larger than --max-input-size \
                (raise it to read the rest)"),
        "{errors:?}"
    );
}

#[test]
fn a_huge_file_starting_like_der_is_streamed_not_read_whole() {
    let dir = temp();
    // 2 GiB of 0x30 then zeros: the old code read all of it into memory after the DER
    // attempt gave up at 16 MiB.
    let big = sparse(dir.path(), "big.der", &[0x30], 2 << 30);
    let run = bounded(
        &scan_json(&[&big, GOOD], &["--max-input-size", "40MiB"]),
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for(&big);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("only the first 40 MiB were read")),
        "{errors:?}"
    );
    assert!(run.took < SECS);
}

#[test]
fn side_files_over_their_cap_or_not_regular_are_refused_unread() {
    let dir = temp();
    let huge = sparse(dir.path(), "huge.json", b"[", 1 << 30);
    for flag in ["--manifest", "--crl"] {
        for file in [huge.as_str(), "/dev/zero"] {
            let run = bounded(&scan_json(&[GOOD], &[flag, file]), Input::Nothing, SECS);
            assert_eq!(run.code, 2, "{flag} {file}: {}", run.stderr);
            let errors = run.errors_for(file);
            assert_eq!(errors.len(), 1, "{flag} {file}: {errors:?}");
            let want = if file == "/dev/zero" {
                "not a regular file but a character device"
            } else {
                "larger than the limit of 256 MiB; not read"
            };
            assert!(errors[0].contains(want), "{flag} {file}: {errors:?}");
        }
    }
    // The installations pages of `apps`.
    let run = bounded(
        &["apps", &huge, "--cutoff", CUTOFF, "--format", "json"],
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    // (An installations file is a page: --max-page-mib, 16 MiB by default.)
    assert!(
        run.stdout
            .contains("larger than the limit of 16 MiB; not read"),
        "{}",
        run.stdout
    );
    // The rotation plan.
    let run = bounded(
        &["rotate", "--state", &huge, "status"],
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("larger than the limit of 256 MiB; not read"),
        "{}",
        run.stderr
    );
    let run = bounded(
        &["rotate", "--state", "/dev/zero", "status"],
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("character device"), "{}", run.stderr);
}

#[test]
fn a_begin_line_too_long_to_be_one_gets_a_short_record() {
    let dir = temp();
    let good = std::fs::read(root().join(GOOD)).unwrap();
    let lines = good.iter().filter(|&&b| b == b'\n').count();
    let mut long = b"-----BEGIN ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 9 << 20));
    long.extend_from_slice(b"-----\nTUlJQg==\n-----END CERTIFICATE-----\n");
    // After a certificate (read whole, as one piece), and first in the file (longer than
    // a piece, so it is split while read).
    for (name, text, line, cert) in [
        ("after.pem", [&good[..], &long[..]].concat(), lines + 1, 1),
        ("first.pem", [&long[..], &good[..]].concat(), 1, 1),
    ] {
        let path = write(dir.path(), name, &text).display().to_string();
        let run = bounded(&scan_json(&[&path], &[]), Input::Nothing, SECS);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let errors = run.errors_for(&path);
        assert!(
            errors.iter().all(|e| e.len() < 300),
            "{name}: short records"
        );
        let wanted = format!("line {line}: a line starting '-----BEGIN ' is ");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&wanted) && e.ends_with("not read as a PEM block")),
            "{name}: {errors:?}"
        );
        let certs = run.json()["certificates"].as_array().unwrap().len();
        assert_eq!(certs, cert, "{name}");
    }
}

#[test]
fn a_hundred_thousand_unknown_csv_columns_are_summarised() {
    let dir = temp();
    // 100,000 columns (a 590 KB header): a million would make a line over the 1 MiB limit,
    // refused whole (`csv_and_targets_lines_over_the_limit_are_left_out`).
    let mut header = String::from("id,file,uploaded_at");
    for i in 0..100_000 {
        header.push_str(&format!(",c{i}"));
    }
    header.push('\n');
    let fresh = root().join(GOOD).display().to_string();
    let manifest = write(
        dir.path(),
        "m.csv",
        format!("{header}one,{fresh},2015-01-01{}\n", ",".repeat(100_000)),
    )
    .display()
    .to_string();
    let run = bounded(
        &scan_json(&[], &["--manifest", &manifest]),
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.len() + run.stderr.len() < 64 * 1024,
        "output is {} + {} bytes",
        run.stdout.len(),
        run.stderr.len()
    );
    let errors = run.errors_for(&manifest);
    assert_eq!(errors.len(), 11, "{errors:?}");
    assert_eq!(
        errors[10],
        "99990 more problem(s) like \"unknown column 'c0' (known: id, file, pem, \
         uploaded_at, host, account); its values are ignored\" in this input were counted \
         but not listed one by one"
    );
    assert_eq!(run.json()["certificates"].as_array().unwrap().len(), 1);
}

#[test]
fn repeated_junk_blocks_are_summarised() {
    let dir = temp();
    let mut text = std::fs::read_to_string(root().join(GOOD)).unwrap();
    for _ in 0..100_000 {
        text.push_str("-----BEGIN JUNK-----\nYWJj\n-----END JUNK-----\n");
    }
    let path = write(dir.path(), "junk.pem", &text).display().to_string();
    let run = bounded(&scan_json(&[&path], &[]), Input::Nothing, SECS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for(&path);
    assert_eq!(errors.len(), 11, "{errors:?}");
    assert!(
        errors[10].starts_with("99990 more problem(s) like \"unexpected PEM block 'JUNK'\""),
        "{errors:?}"
    );
}

#[test]
fn the_pkcs12_iteration_budget_is_run_wide() {
    let dir = temp();
    let mut files = Vec::new();
    for i in 0..3 {
        let p = dir.path().join(format!("copy{i}.p12"));
        std::fs::copy(root().join("fixtures/formats/shop-empty.p12"), &p).unwrap();
        files.push(p.display().to_string());
    }
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    // Every file alone is well within the budget; together they are not.
    let run = bounded(
        &scan_json(&paths, &["--p12-iteration-budget", "10000"]),
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let spent: usize = files
        .iter()
        .map(|f| {
            run.errors_for(f)
                .iter()
                .filter(|e| {
                    e.as_str()
                        == "not decrypted: this run's PKCS#12 key-derivation budget of 10000 \
                            iterations is spent (raise --p12-iteration-budget to read more \
                            PKCS#12 files and encrypted keys)"
                })
                .count()
        })
        .sum();
    // Files are read in parallel, so which ones the budget still covered varies.
    assert!(spent >= 1, "{}", run.stdout);
    // The default budget reads all three.
    let run = bounded(&scan_json(&paths, &[]), Input::Nothing, SECS);
    assert_eq!(
        run.json()["errors"].as_array().unwrap().len(),
        0,
        "{}",
        run.stdout
    );
}

#[test]
fn manifest_paths_outside_its_folder_are_named_and_can_be_refused() {
    let dir = temp();
    let inner = dir.path().join("manifests");
    std::fs::create_dir(&inner).unwrap();
    std::fs::copy(root().join(GOOD), dir.path().join("fresh.pem")).unwrap();
    let absolute = root().join(GOOD).display().to_string();
    let manifest = write(
        &inner,
        "m.json",
        format!(
            r#"[{{"id": "up", "file": "../fresh.pem", "uploaded_at": "2015-01-01"}},
                {{"id": "abs", "file": "{absolute}", "uploaded_at": "2015-01-01"}}]"#
        ),
    )
    .display()
    .to_string();
    let run = bounded(
        &scan_json(&[], &["--manifest", &manifest]),
        Input::Nothing,
        SECS,
    );
    let warnings: Vec<String> = run.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        warnings[..2],
        [
            "entry 1 (id 'up'): file '../fresh.pem' is outside the manifest's folder (it climbs \
             out with '..'); read anyway (give --confined-paths to refuse such entries)"
                .to_string(),
            format!(
                "entry 2 (id 'abs'): file '{absolute}' is outside the manifest's folder (an \
                 absolute path); read anyway (give --confined-paths to refuse such entries)"
            ),
        ]
    );
    assert_eq!(run.json()["certificates"].as_array().unwrap().len(), 1);

    let run = bounded(
        &scan_json(&[], &["--manifest", &manifest, "--confined-paths"]),
        Input::Nothing,
        SECS,
    );
    assert_eq!(run.code, 2);
    let errors = run.errors_for(&manifest);
    assert!(
        errors[0].ends_with("(it climbs out with '..'); refused (--confined-paths)"),
        "{errors:?}"
    );
    assert!(
        errors[1].ends_with("(an absolute path); refused (--confined-paths)"),
        "{errors:?}"
    );
    assert_eq!(run.json()["certificates"].as_array().unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------
// Output paths: no planted symlink is followed, keys are 0600 whatever the umask.
// ---------------------------------------------------------------------------------------

/// A rotation plan with one item (shop.example.com) in a fresh folder.
fn one_item_plan() -> (tempfile::TempDir, String) {
    let dir = temp();
    let manifest = write(
        dir.path(),
        "one.json",
        format!(
            r#"[{{"id": "shop", "file": "{}", "uploaded_at": "2016-05-10", "host": "shop.example.com"}}]"#,
            root().join("fixtures/demo/uploads/shop.pem").display()
        ),
    );
    let state = init_plan(dir.path(), &manifest);
    (dir, state)
}

/// `rotate init` from `manifest` of a plan in `dir`; the plan's path.
fn init_plan(dir: &Path, manifest: &Path) -> String {
    let state = dir.join("plan.json").display().to_string();
    Test::new()
        .args(["rotate", "--state", &state, "init", "--manifest"])
        .arg(manifest)
        .args(["--cutoff", CUTOFF])
        .run()
        .code(0);
    state
}

fn rotate(state: &str, args: &[&str]) -> Run {
    Test::new()
        .args(["rotate", "--state", state])
        .args(args.iter().copied())
        .run()
}

fn plan_item(state: &str) -> serde_json::Value {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    plan["items"][0].clone()
}

#[cfg(unix)]
#[test]
fn no_output_path_follows_a_planted_symlink() {
    use std::os::unix::fs::symlink;
    let outside = temp();
    let victim = write(outside.path(), "victim.txt", "untouched\n");
    let missing = outside.path().join("created-through-link");

    // Where `rotate csr` writes the key and the CSR, learnt from a first plan.
    let (probe_dir, probe_state) = one_item_plan();
    let id = plan_item(&probe_state)["id"].as_str().unwrap().to_owned();
    rotate(&probe_state, &["csr", &id]).code(0);
    let csr = plan_item(&probe_state)["csr"].clone();
    let key_rel = csr["key_path"].as_str().unwrap().to_owned();
    let csr_rel = csr["csr_path"].as_str().unwrap().to_owned();
    drop(probe_dir);

    for (what, rel, target) in [
        ("key", &key_rel, &missing),
        ("key", &key_rel, &victim),
        ("CSR", &csr_rel, &victim),
    ] {
        let (dir, state) = one_item_plan();
        let link = dir.path().join(rel);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(target, &link).unwrap();
        let run = rotate(&state, &["csr", &id]);
        assert_eq!(run.code, 2, "{what} link: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("refusing to overwrite"),
            "{}",
            run.stderr
        );
        assert!(
            !missing.exists(),
            "{what}: nothing created through the link"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
        assert_eq!(plan_item(&state)["step"], "planned");
    }

    // The lock file beside the plan.
    let (dir, state) = one_item_plan();
    let lock = dir.path().join("plan.json.lock");
    let _ = std::fs::remove_file(&lock); // left by init
    symlink(&missing, &lock).unwrap();
    rotate(&state, &["csr", &id])
        .code(2)
        .stderr_has("plan.json.lock is a symbolic link; refusing to follow it");
    assert!(!missing.exists(), "the lock's target was not created");

    // The plan itself: a link to a plan elsewhere is replaced, never written through.
    let (dir, state) = one_item_plan();
    let elsewhere = outside.path().join("plan-elsewhere.json");
    std::fs::rename(&state, &elsewhere).unwrap();
    symlink(&elsewhere, &state).unwrap();
    let before = std::fs::read(&elsewhere).unwrap();
    rotate(&state, &["csr", &id]).code(0);
    assert_eq!(
        std::fs::read(&elsewhere).unwrap(),
        before,
        "target unchanged"
    );
    assert!(!std::fs::symlink_metadata(&state)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(plan_item(&state)["step"], "csr-generated");
    drop(dir);

    // A report written with --output.
    let out_dir = temp();
    let out = out_dir.path().join("report.json");
    symlink(&victim, &out).unwrap();
    Test::new()
        .args(["scan", GOOD, "--format", "json", "--output"])
        .arg(&out)
        .run()
        .code(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    assert!(!std::fs::symlink_metadata(&out)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("\"certificates\""));
}

#[cfg(unix)]
#[test]
fn key_files_are_0600_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    for umask in ["0277", "0000"] {
        let (dir, state) = one_item_plan();
        let id = plan_item(&state)["id"].as_str().unwrap().to_owned();
        let out_dir = dir.path().join("csrs");
        std::fs::create_dir(&out_dir).unwrap();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_certsweep"))
            .args([
                "--now",
                NOW,
                "rotate",
                "--state",
                &state,
                "csr",
                &id,
                "--out-dir",
            ])
            .arg(&out_dir)
            .current_dir(root())
            .env_clear()
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "umask {umask}");
        let key = dir
            .path()
            .join(plan_item(&state)["csr"]["key_path"].as_str().unwrap());
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "umask {umask}: key mode {mode:o}");
    }
}

// ---------------------------------------------------------------------------------------
// Crash recovery: `rotate csr` killed at any instant needs no manual step.
// ---------------------------------------------------------------------------------------

/// The demo plan (8 items), made once, copied into a fresh folder per kill.
fn demo_plan(dir: &Path) -> String {
    let state = dir.join("plan.json").display().to_string();
    Test::new()
        .args(["rotate", "--state", &state, "init", "--manifest"])
        .args(["fixtures/demo/manifest.json", "--cutoff", CUTOFF])
        .args(["--crl", "fixtures/demo/revocations.crl"])
        .run()
        .code(1);
    state
}

#[cfg(unix)]
#[test]
fn rotate_csr_survives_a_hundred_kill_9s_and_the_walk_goes_on() {
    let pristine_dir = temp();
    let pristine = std::fs::read(demo_plan(pristine_dir.path())).unwrap();
    let spawn = |state: &str| {
        Command::new(env!("CARGO_BIN_EXE_certsweep"))
            .current_dir(root())
            .env_clear()
            .args(["--now", NOW, "rotate", "--state", state, "csr", "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long an uninterrupted run takes: kills land anywhere in it.
    let timing = temp();
    let state = timing.path().join("plan.json");
    std::fs::write(&state, &pristine).unwrap();
    let start = Instant::now();
    assert!(spawn(state.to_str().unwrap()).wait().unwrap().success());
    let span = start.elapsed().as_micros() as u64;

    let (mut killed_mid_run, mut adopted, mut moved_aside) = (0, 0, 0);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut tries = 0;
    while killed_mid_run < 100 {
        tries += 1;
        assert!(
            tries < 400,
            "only {killed_mid_run} kills landed mid-run in {tries} tries"
        );
        let i = killed_mid_run;
        let dir = temp();
        let state = dir.path().join("plan.json");
        std::fs::write(&state, &pristine).unwrap();
        let state = state.display().to_string();
        let mut child = spawn(&state);
        if !kill_9_within(&mut child, &mut seed, span) {
            continue; // it had finished: not a kill
        }
        killed_mid_run += 1;
        let keys_before = count_keys(dir.path());

        // The next run finishes the step with no manual clean-up.
        let run = rotate(&state, &["csr", "--all"]);
        assert!(
            run.code == 0,
            "kill {i}: the next run failed:\n{}{}",
            run.stdout,
            run.stderr
        );
        adopted += run.stdout.matches("adopted").count();
        moved_aside += run.stdout.matches("aside to").count();
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        for item in plan["items"].as_array().unwrap() {
            assert_eq!(item["step"], "csr-generated", "kill {i}: {item}");
            assert!(item.get("csr_intent").is_none(), "kill {i}: intent cleared");
            // The key on disk is the one recorded: its public key is the CSR's.
            let key = dir.path().join(item["csr"]["key_path"].as_str().unwrap());
            let csr = dir.path().join(item["csr"]["csr_path"].as_str().unwrap());
            if i % 25 == 0 {
                let want = item["csr"]["new_spki_sha256"].clone();
                assert_eq!(key_spki(&key), want, "kill {i}: key");
                assert_eq!(csr_spki(&csr), want, "kill {i}: CSR");
            } else {
                assert!(key.is_file() && csr.is_file(), "kill {i}");
            }
        }
        // Nothing was deleted: every key written before the kill is still there.
        assert!(count_keys(dir.path()) >= keys_before, "kill {i}");
        // And the walk goes on: the next step is the CA's, not another CSR.
        let next = rotate(&state, &["next"]);
        assert!(
            !next.stdout.contains("rotate csr"),
            "kill {i}: {}",
            next.stdout
        );
    }
    eprintln!(
        "kill -9: {killed_mid_run} kills mid-run in {tries} tries, {adopted} item(s) adopted, \
         {moved_aside} file(s) moved aside"
    );
    assert!(
        adopted + moved_aside > 0,
        "some kills landed between files and plan"
    );
}

/// Private-key files under `dir` (moved-aside ones included).
fn count_keys(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir.join("rotation-csrs")) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".key"))
        .count()
}

fn sha256_hex(bytes: &[u8]) -> serde_json::Value {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes)).into()
}

/// The SPKI SHA-256 of a PKCS#8 PEM key file, computed by rcgen.
fn key_spki(path: &Path) -> serde_json::Value {
    let pem = std::fs::read_to_string(path).unwrap();
    use rcgen::PublicKeyData;
    sha256_hex(
        &rcgen::KeyPair::from_pem(&pem)
            .unwrap()
            .subject_public_key_info(),
    )
}

/// The SPKI SHA-256 of a CSR file, parsed by x509-parser.
fn csr_spki(path: &Path) -> serde_json::Value {
    use x509_parser::prelude::FromDer;
    let pem = std::fs::read(path).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents)
            .unwrap();
    sha256_hex(csr.certification_request_info.subject_pki.raw)
}

#[cfg(unix)]
#[test]
fn unknown_leftovers_are_moved_aside_never_deleted_and_the_run_says_so() {
    let (dir, state) = one_item_plan();
    let id = plan_item(&state)["id"].as_str().unwrap().to_owned();
    // Files at the item's key and CSR paths that no recorded intent explains (e.g. left by
    // a version without intents, or by hand).
    let out = dir.path().join("rotation-csrs");
    std::fs::create_dir(&out).unwrap();
    let key = out.join("shop.example.com.key.pem");
    std::fs::write(&key, "not our key\n").unwrap();
    let run = rotate(&state, &["csr", &id]).code(0);
    let aside = out.join("shop.example.com.key.pem.interrupted-1");
    assert!(
        run.stdout.contains(&format!(
            "{id}: moved {} aside to {} (left by an interrupted run, it does not hold the new \
             key recorded for this item; kept, not deleted)",
            key.display(),
            aside.display()
        )),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), "not our key\n");
    let item = plan_item(&state);
    assert_eq!(item["step"], "csr-generated");
    assert_eq!(key_spki(&key), item["csr"]["new_spki_sha256"]);
}

#[test]
fn an_empty_der_bundle_is_not_called_pem() {
    let dir = temp();
    let p7b = dir.path().join("empty.p7b");
    let ok = Command::new("openssl")
        .args(["crl2pkcs7", "-nocrl", "-outform", "DER", "-out"])
        .arg(&p7b)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl crl2pkcs7");
    let path = p7b.display().to_string();
    let run = bounded(&scan_json(&[&path], &[]), Input::Nothing, SECS);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.errors_for(&path),
        ["no certificate or key found: the DER PKCS#7 bundle or PKCS#12 file holds none"]
    );
}

/// `copies` times the one-certificate PEM `fixture`, in `dir/name`.
fn repeated(dir: &Path, name: &str, fixture: &str, copies: usize) -> String {
    let one = std::fs::read(root().join(fixture)).unwrap();
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
    for _ in 0..copies {
        f.write_all(&one).unwrap();
    }
    f.flush().unwrap();
    path.display().to_string()
}

/// A DER PKCS#7 bundle of every certificate in the PEM file `pem`, made by OpenSSL.
fn p7b_of(pem: &str, out: &Path) -> String {
    let ok = Command::new("openssl")
        .args([
            "crl2pkcs7",
            "-nocrl",
            "-outform",
            "DER",
            "-certfile",
            pem,
            "-out",
        ])
        .arg(out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl crl2pkcs7");
    out.display().to_string()
}

const ONE_CERT: &str = "fixtures/demo/uploads/api.pem";

fn cap_record(kept: u64, skipped: u64, rest: bool) -> String {
    format!(
        "more than the limit of {kept} certificates in one input: the first {kept} were kept, \
         {skipped} more were skipped{} (raise --max-certs-per-input to read them)",
        if rest {
            " and the rest of the input was not read"
        } else {
            ""
        }
    )
}

#[test]
fn certificates_past_the_per_input_cap_are_skipped_with_a_record() {
    let dir = temp();
    let pem = repeated(dir.path(), "many.pem", ONE_CERT, 3000);
    let p7b = p7b_of(&pem, &dir.path().join("many.p7b"));
    let run = incomplete(&scan_json(
        &[&pem, &p7b, GOOD],
        &["--max-certs-per-input", "1000"],
    ));
    // Each input has its own cap; the good file is read whole.
    assert_eq!(run.errors_for(&pem), [cap_record(1000, 2000, false)]);
    assert_eq!(run.errors_for(&p7b), [cap_record(1000, 2000, false)]);
    assert_eq!(run.errors_for(GOOD), Vec::<String>::new());
    let json = run.json();
    assert_eq!(json["summary"]["complete"], false);
    // One certificate (uploaded 2,000 times: 1,000 kept per file) and the good one.
    let certs = json["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    let api = certs
        .iter()
        .find(|c| c["source"]["path"] == pem.as_str())
        .unwrap();
    assert_eq!(api["also_uploaded"].as_array().unwrap().len(), 1999);
    // `inspect` reads through the same cap.
    let run = incomplete(&[
        "inspect",
        &pem,
        "--format",
        "json",
        "--max-certs-per-input",
        "10",
    ]);
    run.stderr_has(&cap_record(10, 2990, false));
}

#[test]
fn the_default_certificate_cap_bounds_one_input() {
    let dir = temp();
    // 102,000 certificates (68 MB): past the default cap of 100,000 in the second 8 MiB
    // piece read, so the rest of the file is not read.
    let pem = repeated(dir.path(), "ct-dump.pem", ONE_CERT, 102_000);
    let run = bounded(
        &scan_json(&[&pem], &[]),
        Input::Nothing,
        Duration::from_secs(180),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = run.errors_for(&pem);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "more than the limit of 100000 certificates in one input: the first 100000 were \
             kept, "
        ) && errors[0].ends_with(
            " more were skipped and the rest of the input was not read (raise \
             --max-certs-per-input to read them)"
        ),
        "{errors:?}"
    );
    let json = run.json();
    assert_eq!(
        json["certificates"][0]["also_uploaded"]
            .as_array()
            .unwrap()
            .len(),
        99_999
    );
    // Stream mode: the same cap, and the records of a large upload are written as they are
    // rendered (held as bytes they took the run to 437 MiB).
    let run = bounded(
        &["scan", "--stream", &pem, "--format", "ndjson"],
        Input::Nothing,
        Duration::from_secs(300),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines = run.ndjson();
    let certs = lines.iter().filter(|l| l["type"] == "certificate").count();
    assert_eq!(certs, 100_000);
    let stream_errors: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "error").collect();
    assert_eq!(stream_errors.len(), 1);
    assert_eq!(stream_errors[0]["reason"], errors[0].as_str());
}

#[test]
fn stream_mode_caps_each_upload_and_the_spooled_stdin() {
    let dir = temp();
    let pem = repeated(dir.path(), "many.pem", ONE_CERT, 3000);
    // A file upload, and the same as stdin (spooled for the two passes of --cutoff).
    for (paths, input, shown) in [
        (vec![pem.as_str()], Input::Nothing, pem.as_str()),
        (vec!["-"], Input::File(pem.clone().into()), "-"),
    ] {
        let mut args = vec!["scan", "--stream"];
        args.extend(&paths);
        args.extend([
            "--cutoff",
            CUTOFF,
            "--uploaded-at",
            "2015-01-01",
            "--format",
            "ndjson",
            "--max-certs-per-input",
            "1000",
        ]);
        let run = bounded(&args, input, SECS);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let lines = run.ndjson();
        let certs = lines.iter().filter(|l| l["type"] == "certificate").count();
        assert_eq!(certs, 1000, "{shown}");
        let errors: Vec<&serde_json::Value> =
            lines.iter().filter(|l| l["type"] == "error").collect();
        assert_eq!(errors.len(), 1, "{shown}: {errors:?}");
        assert_eq!(errors[0]["path"], shown);
        assert_eq!(errors[0]["reason"], cap_record(1000, 2000, false).as_str());
        let summary = lines.last().unwrap();
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["complete"], false);
    }
    // An endless stdin is spooled no further than --max-input-size (it was copied to a
    // temporary file until the disk was full).
    let run = bounded(
        &[
            "scan",
            "--stream",
            "-",
            "--cutoff",
            CUTOFF,
            "--format",
            "ndjson",
            "--max-input-size",
            "24MiB",
        ],
        Input::EndlessDer,
        SECS,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    run.stdout_has("only the first 24 MiB were read: the input is larger than --max-input-size");
}

#[test]
fn quiet_stream_mode_prints_no_data_only_errors() {
    for extra in [
        &[][..],
        &["--summary-only"][..],
        &["--cutoff", CUTOFF, "--exposed-keys-only"][..],
    ] {
        let format = if extra.contains(&"--summary-only") {
            "json"
        } else {
            "ndjson"
        };
        let mut args = vec![
            "scan",
            "--stream",
            GOOD,
            "missing.pem",
            "--format",
            format,
            "-q",
        ];
        args.extend(extra);
        let run = Test::new().args(&args).run().code(2);
        assert_eq!(run.stdout, "", "{extra:?}");
        assert_eq!(
            run.stderr, "certsweep: error: missing.pem: file not found\n",
            "{extra:?}"
        );
    }
    // An --output file is still written.
    let dir = temp();
    let out = dir.path().join("report.ndjson");
    let out_s = out.display().to_string();
    let run = Test::new()
        .args([
            "scan", "--stream", GOOD, "--format", "ndjson", "-q", "--output", &out_s,
        ])
        .run()
        .code(0);
    assert_eq!(run.stdout, "");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written
        .lines()
        .last()
        .unwrap()
        .contains("\"type\":\"summary\""));
}

/// rcgen's default certificate, naming the `n` hosts n0.example.com, n1.example.com, ….
fn naming_hosts(n: usize) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = (0..n)
        .map(|i| rcgen::SanType::DnsName(format!("n{i}.example.com").try_into().unwrap()))
        .collect();
    params
}

#[test]
fn a_certificate_with_100000_sans_and_rdns_is_listed_cut_and_says_so() {
    use rcgen::{DnType, KeyPair};
    let mut params = naming_hosts(100_000);
    params
        .distinguished_name
        .push(DnType::CommonName, "huge.example.com");
    // 100,000 attributes of distinct (private) types: rcgen keeps one per type.
    for i in 0..100_000u64 {
        params.distinguished_name.push(
            DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 99999, i]),
            format!("v{i}"),
        );
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dir = temp();
    let path = write(dir.path(), "huge.pem", cert.pem())
        .display()
        .to_string();
    // Many copies in one file: what each costs in memory is what is kept of it, not what
    // it holds.
    let many = repeated(dir.path(), "many.pem", &path, 3);
    // Debug builds parse 200,000 names per copy slowly, more so on a loaded machine.
    let run = bounded(
        &scan_json(&[&many], &[]),
        Input::Nothing,
        Duration::from_secs(240),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let c = &json["certificates"][0];
    let dns = c["dns_names"].as_array().unwrap();
    assert_eq!(dns.len(), 1000);
    assert_eq!(dns[999], "n999.example.com");
    let subject = c["subject"].as_str().unwrap();
    assert!(subject.len() < 4200, "{}", subject.len());
    assert!(
        subject.ends_with(" more attribute(s) not shown)") && subject.contains("… (name of "),
        "{subject}"
    );
    let reasons: Vec<&str> = c["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(
            &"it has 100000 subject alternative names: the first 1000 are listed, 99000 more \
              are not (certsweep keeps at most 1000 per certificate; `certsweep csr` copies \
              them all)"
        ),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"its subject or issuer is longer than 4096 bytes as text: shown cut"),
        "{reasons:?}"
    );
}

/// A file of `before`, then one line of `len` bytes of `fill`, then `after`.
fn with_long_line(
    dir: &Path,
    name: &str,
    before: &str,
    fill: u8,
    len: usize,
    after: &str,
) -> String {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
    f.write_all(before.as_bytes()).unwrap();
    let chunk = vec![fill; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    f.write_all(b"\n").unwrap();
    f.write_all(after.as_bytes()).unwrap();
    f.flush().unwrap();
    path.display().to_string()
}

#[test]
fn csv_and_targets_lines_over_the_limit_are_left_out() {
    let dir = temp();
    std::fs::copy(root().join(GOOD), dir.path().join("fresh.pem")).unwrap();
    std::fs::copy(root().join(ONE_CERT), dir.path().join("api.pem")).unwrap();
    let (fresh, api) = ("fresh.pem", "api.pem");
    // A 150 MiB line of commas between two good rows: the CSV reader held it whole (and a
    // field boundary per comma) before.
    let manifest = with_long_line(
        dir.path(),
        "m.csv",
        &format!("id,file,uploaded_at\none,{fresh},2015-01-01\n"),
        b',',
        150 << 20,
        &format!("two,{api},2015-01-01\n"),
    );
    let run = incomplete(&scan_json(&[], &["--manifest", &manifest]));
    assert_eq!(
        run.errors_for(&manifest),
        [
            "manifest CSV: line 3 is 150 MiB long, more than the limit of 1 MiB for one line; \
          not read"
        ]
    );
    let json = run.json();
    let ids: Vec<&str> = json["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"]["manifest_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["one", "two"]);
    assert_eq!(json["errors"][0]["kind"], "too-large");
    // A header over the limit: the manifest is not read.
    let header = with_long_line(dir.path(), "h.csv", "", b'c', 2 << 20, "one,x,2015-01-01\n");
    let run = incomplete(&scan_json(&[], &["--manifest", &header]));
    assert_eq!(
        run.errors_for(&header),
        [
            "manifest CSV: line 1 is 2 MiB long, more than the limit of 1 MiB for one line; \
             not read",
            "manifest CSV header unreadable: its first line was not read"
        ]
    );
    // A --targets list: one line of 150 MiB of words (each would be a slice in a list).
    let targets = with_long_line(
        dir.path(),
        "targets.txt",
        "# hosts\n",
        b'a',
        150 << 20,
        "127.0.0.1:1\n",
    );
    let run = incomplete(&[
        "probe",
        "--targets",
        &targets,
        "--format",
        "json",
        "--connect-timeout",
        "2",
    ]);
    run.stderr_has(&format!(
        "{targets}: --targets: line 2 is 150 MiB long, more than the limit of 1 MiB for one \
         line; not read"
    ));
    // The target after it is still probed (and refused: nothing listens on port 1).
    assert_eq!(run.json()["summary"]["targets"], 1, "{}", run.stdout);
}

#[test]
fn json_nested_past_the_depth_limit_is_refused_by_name() {
    let dir = temp();
    let deep = "[".repeat(100_000);
    let deep_closed = format!("{deep}{}", "]".repeat(100_000));
    let want = "nested more than the limit of 128 levels deep (at line 1, column 128); not read";
    let page = write(dir.path(), "page.json", &deep).display().to_string();
    let plan = write(dir.path(), "plan.json", &deep).display().to_string();
    let summary = write(dir.path(), "summary.json", &deep)
        .display()
        .to_string();
    let targets = write(dir.path(), "targets.json", &deep)
        .display()
        .to_string();
    let run = incomplete(&["apps", &page, "--cutoff", CUTOFF, "--format", "json"]);
    assert_eq!(run.errors_for(&page), [format!("not JSON: {want}")]);
    let run = incomplete(&["rotate", "--state", &plan, "status"]);
    run.stderr_has(&format!("{plan} is unreadable: not valid JSON: {want}"));
    let run = incomplete(&["merge", &summary]);
    run.stderr_has(&format!("{summary}: {want}"));
    let run = incomplete(&["probe", "--targets", &targets, "--format", "json"]);
    run.stderr_has(&format!("{targets}: --targets: JSON: {want}"));
    // A manifest entry's deep value is skipped without being built (the manifest reader
    // never keeps an unknown value), and the entry is reported.
    let manifest = write(
        dir.path(),
        "m.json",
        format!(r#"[{{"id": {deep_closed}, "file": "x.pem"}}]"#),
    )
    .display()
    .to_string();
    let run = incomplete(&scan_json(&[], &["--manifest", &manifest]));
    let errors = run.errors_for(&manifest);
    assert!(
        errors.contains(&"entry 1: field 'id' must be a string, not an array".to_owned()),
        "{errors:?}"
    );
}

/// An installations page of about `mib` MiB: one installation (created before the cutoff)
/// listed over and over.
fn installations_page(mib: usize) -> String {
    let item = r#"{"id": 7, "app_id": 5, "product": "support", "enabled": true, "settings": {"name": "App", "title": "App", "api_key": "secret-value-0001"}, "settings_objects": [{"name": "api_key", "value": "secret-value-0001"}], "created_at": "2015-01-01T00:00:00Z", "updated_at": "2015-01-01T00:00:00Z"}"#;
    let n = (mib << 20) / (item.len() + 1);
    format!(
        r#"{{"installations": [{}], "next_page": null}}"#,
        vec![item; n].join(",")
    )
}

#[test]
fn apps_pages_are_judged_one_at_a_time() {
    let dir = temp();
    // Six pages of 8 MiB: each parses to about 80 MiB, so all six held until judged (as
    // before) passed 256 MiB.
    let page = installations_page(8);
    let files: Vec<String> = (1..=6)
        .map(|i| {
            write(dir.path(), &format!("page{i}.json"), &page)
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["apps", "--cutoff", CUTOFF, "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let run = bounded(&args, Input::Nothing, Duration::from_secs(180));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["summary"]["installations"], 1);
    assert_eq!(json["summary"]["complete"], true);
    // A page over --max-page-mib is not read.
    let run = incomplete(&[
        "apps",
        "--cutoff",
        CUTOFF,
        "--format",
        "json",
        "--max-page-mib",
        "4",
        &files[0],
    ]);
    assert_eq!(
        run.errors_for(&files[0]),
        ["larger than the limit of 4 MiB; not read"]
    );
}

#[test]
fn exposed_key_lists_bound_their_lines_and_records() {
    let dir = temp();
    let mut text = format!("# keys\n{}\n", "ab".repeat(32));
    for i in 0..200_000 {
        text.push_str(&format!("junk{i}\n"));
    }
    text.push_str(&"x".repeat(3 << 20));
    text.push('\n');
    let list = write(dir.path(), "keys.txt", &text).display().to_string();
    // In memory: ten records of a kind and a count; the long line named.
    let run = incomplete(&scan_json(&[GOOD], &["--exposed-keys", &list]));
    let errors = run.errors_for(&list);
    assert_eq!(errors.len(), 12, "{errors:?}");
    assert_eq!(errors[0], "exposed keys: line 3: not a SHA-256 hex digest");
    assert!(errors.contains(
        &"exposed keys: line 200003 is longer than the limit of 1 MiB for one line; not read"
            .to_owned()
    ));
    assert!(
        errors[11].starts_with(
            "199990 more problem(s) like \"exposed keys: line 3: not a SHA-256 hex digest\""
        ),
        "{errors:?}"
    );
    // Stream mode: the same list, ten lines listed and the rest counted.
    let run = incomplete(&[
        "scan",
        "--stream",
        GOOD,
        "--exposed-keys",
        &list,
        "--format",
        "ndjson",
    ]);
    let errors: Vec<String> = run
        .ndjson()
        .into_iter()
        .filter(|l| l["type"] == "error" && l["path"] == list.as_str())
        .map(|l| l["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(errors.len(), 11, "{errors:?}");
    assert_eq!(
        errors[10],
        "exposed keys: 199991 more bad line(s) were counted, not listed"
    );
    // A list of 1 GiB without a line end: one line, and the list is cut at 256 MiB, saying
    // so (it was cut silently, and the line held whole).
    let zeros = sparse(dir.path(), "zeros.txt", b"", 1 << 30);
    let run = incomplete(&scan_json(&[GOOD], &["--exposed-keys", &zeros]));
    assert_eq!(
        run.errors_for(&zeros),
        [
            "exposed keys: line 1 is longer than the limit of 1 MiB for one line; not read",
            "exposed keys: only the first 256 MiB were read (the limit for one list); split \
             the list into several files, each given with --exposed-keys"
        ]
    );
}

#[test]
fn a_rotation_plan_keeps_every_name_past_the_san_cap() {
    use rcgen::KeyPair;
    let mut params = naming_hosts(1500);
    params.not_before = rcgen::date_time_ymd(2015, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dir = temp();
    write(dir.path(), "many-names.pem", cert.pem());
    let manifest = write(
        dir.path(),
        "m.json",
        r#"[{"id": "many", "file": "many-names.pem", "uploaded_at": "2015-06-01"}]"#,
    );
    let state = init_plan(dir.path(), &manifest);
    // The scan lists 1,000; the plan, which the replacement must cover, has all 1,500.
    let names = plan_item(&state)["old"]["dns_names"].clone();
    let names = names.as_array().unwrap();
    assert_eq!(names.len(), 1500);
    assert_eq!(names[1499], "n1499.example.com");
}

#[test]
fn stream_mode_judges_large_files_a_few_at_a_time() {
    let dir = temp();
    // Six files of 40,000 certificates (27 MB each): judged together, as one batch of up to
    // 64 files was, they took the run past 256 MiB (four: 225 MiB); batches are now cut at
    // 32 MiB of input.
    let files: Vec<String> = (0..6)
        .map(|i| repeated(dir.path(), &format!("part{i}.pem"), ONE_CERT, 40_000))
        .collect();
    // The records (430 MB) go to a file; each large upload's records are held as its
    // certificates until written.
    let out = dir.path().join("records.ndjson").display().to_string();
    let mut args = vec!["scan", "--stream"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--format", "ndjson", "--output", &out]);
    let run = bounded(&args, Input::Nothing, Duration::from_secs(300));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = std::fs::read_to_string(&out).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(records.lines().next_back().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["certificates"], 240_000);
    assert_eq!(summary["complete"], true);
}

#[test]
fn merge_refuses_counts_that_overflow_instead_of_wrapping() {
    // Found by the `merge` fuzz target's review: two summaries whose counts add past u64 (the
    // old code panicked in debug builds and wrapped to a small number in release ones).
    let dir = temp();
    let policy = r#""policy":{"now":"2026-11-24T00:00:00Z","cutoff":"2016-11-01T00:00:00Z"}"#;
    let line = |n: u64| {
        format!(
            r#"{{"type":"summary",{policy},"certificates":{n},"complete":true,"action_required":false}}"#
        )
    };
    let a = write(dir.path(), "a.ndjson", line(u64::MAX - 10));
    let b = write(dir.path(), "b.ndjson", line(20));
    let c = write(dir.path(), "c.ndjson", line(3));
    let run = Test::new()
        .args(["merge", "--format", "json"])
        .args([a, b, c])
        .run()
        .code(2)
        .stderr_has("b.ndjson: its certificates added to the summaries before is more than a count can hold");
    let out = run.json();
    // The refused summary is left out whole; the others add up.
    assert_eq!(
        out["summary"]["certificates"],
        u64::MAX - 10 + 3,
        "{}",
        run.stdout
    );
    assert_eq!(out["summary"]["complete"], false);
    assert_eq!(out["summary"]["merged_summaries"], 2);
}
