//! Usage: errors exit 2 with a clear message; help, version, completions and man exit 0.

use crate::harness::*;

#[test]
fn usage_errors_exit_two() {
    Test::new()
        .arg("scan")
        .run()
        .code(2)
        .stderr_has("nothing to scan");
    Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--cutoff",
            "soon",
        ])
        .run()
        .code(2)
        .stderr_has("--cutoff: 'soon' is not a date");
    Test::new()
        .without_now()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--now",
            "2016-02-30",
        ])
        .run()
        .code(2)
        .stderr_has("--now:");
    Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--format",
            "yaml",
        ])
        .run()
        .code(2)
        .stderr_has("invalid value 'yaml'");
    Test::new()
        .args([
            "scan",
            "fixtures/demo/uploads/fresh.pem",
            "--export-exposed-keys",
            "x",
        ])
        .run()
        .code(2)
        .stderr_has("--export-exposed-keys needs --cutoff");
    Test::new().arg("frobnicate").run().code(2);
}

#[test]
fn help_version_completions_man() {
    Test::new()
        .arg("--help")
        .run()
        .code(0)
        .stdout_has("Exit codes: 0");
    Test::new()
        .args(["scan", "--help"])
        .run()
        .code(0)
        .stdout_has("--unknown-upload");
    Test::new()
        .arg("--version")
        .run()
        .code(0)
        .stdout_has("certsweep 0.1.0");
    Test::new()
        .args(["completions", "bash"])
        .run()
        .code(0)
        .stdout_has("_certsweep");
    Test::new()
        .arg("man")
        .run()
        .code(0)
        .stdout_has(".TH certsweep");
}

#[test]
fn quiet_prints_no_data_but_keeps_the_exit_code() {
    let run = Test::new()
        .args([
            "-q",
            "scan",
            "--manifest",
            "fixtures/demo/manifest.json",
            "--cutoff",
            CUTOFF,
        ])
        .run()
        .code(1);
    assert!(run.stdout.is_empty());
}

#[test]
fn attacker_controlled_names_are_escaped_in_the_table() {
    let dir = temp();
    let evil = dir.path().join("evil\u{202e}gnp.pem");
    std::fs::write(&evil, fixture("demo/uploads/fresh.pem")).unwrap();
    let run = Test::new()
        .args(["scan", evil.to_str().unwrap()])
        .run()
        .code(0);
    assert!(!run.stdout.contains('\u{202e}'), "{}", run.stdout);
    assert!(run.stdout.contains("\\u{202e}"), "{}", run.stdout);
}

#[test]
fn man_dir_writes_a_page_per_subcommand_with_environment_and_exit_status() {
    let dir = temp();
    Test::new()
        .args(["man", "--dir", dir.path().to_str().unwrap()])
        .run()
        .code(0)
        .stderr_has("manual pages");
    for page in [
        "certsweep.1",
        "certsweep-scan.1",
        "certsweep-inspect.1",
        "certsweep-csr.1",
        "certsweep-probe.1",
        "certsweep-apps.1",
        "certsweep-rotate.1",
        "certsweep-rotate-init.1",
        "certsweep-rotate-walk.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".SH ENVIRONMENT"), "{page}");
        assert!(text.contains("CERTSWEEP_P12_PASSWORD"), "{page}");
        assert!(text.contains("CERTSWEEP_KEY_PASSPHRASE"), "{page}");
        assert!(text.contains("NO_COLOR"), "{page}");
        assert!(text.contains(".SH \"EXIT STATUS\""), "{page}");
    }
    let scan = std::fs::read_to_string(dir.path().join("certsweep-scan.1")).unwrap();
    assert!(
        scan.contains("cutoff"),
        "the scan page documents its own flags"
    );
    // The page on stdout has the same sections.
    Test::new()
        .arg("man")
        .run()
        .code(0)
        .stdout_has(".SH ENVIRONMENT");
    // A folder that does not exist: a clear error, exit 2.
    Test::new()
        .args(["man", "--dir", dir.path().join("nope").to_str().unwrap()])
        .run()
        .code(2)
        .stderr_has("nope");
}
