//! Runs the real `certsweep` binary in a clean environment, from the crate root so fixture
//! paths are short and stable, and checks what a user would see.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `--now` every test passes: results never depend on today's date.
pub const NOW: &str = "2026-11-24T00:00:00Z";
pub const CUTOFF: &str = "2016-11-01";
/// `scan` of the bundled demo inventory against the incident's cutoff.
pub const DEMO_SCAN: [&str; 5] = [
    "scan",
    "--manifest",
    "fixtures/demo/manifest.json",
    "--cutoff",
    CUTOFF,
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Test {
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    now: bool,
    data_limit_kib: Option<u64>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Self {
        Test {
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            now: true,
            data_limit_kib: None,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// For the few tests about `--now` itself.
    pub fn without_now(mut self) -> Self {
        self.now = false;
        self
    }

    /// Runs under `ulimit -d` (RLIMIT_DATA: heap and private mappings): an allocation past it
    /// fails and the run aborts, so a test can prove memory stays bounded.
    pub fn data_limit_mib(mut self, mib: u64) -> Self {
        self.data_limit_kib = Some(mib * 1024);
        self
    }

    pub fn run(self) -> Run {
        let bin = env!("CARGO_BIN_EXE_certsweep");
        let mut cmd = match self.data_limit_kib {
            None => Command::new(bin),
            Some(kib) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", r#"ulimit -d "$1" && shift && exec "$@""#, "sh"])
                    .arg(kib.to_string())
                    .arg(bin);
                sh
            }
        };
        cmd.current_dir(root()).env_clear().args(&self.args);
        if self.now {
            cmd.args(["--now", NOW]);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn certsweep");
        if let Some(bytes) = self.stdin {
            let mut stdin = child.stdin.take().expect("piped stdin");
            // A writer thread: the child may exit before reading everything.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let out: Output = child.wait_with_output().expect("wait for certsweep");
        Run {
            code: out.status.code().expect("certsweep exited by signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// A scan of the demo inventory as JSON.
pub fn demo_json(extra: &[&str]) -> Run {
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
            "json",
        ])
        .args(extra.iter().copied())
        .run()
}

/// The certificate records whose `source.manifest_id` is `id`.
pub fn by_id<'a>(report: &'a serde_json::Value, id: &str) -> Vec<&'a serde_json::Value> {
    report["certificates"]
        .as_array()
        .expect("certificates array")
        .iter()
        .filter(|c| c["source"]["manifest_id"] == id)
        .collect()
}

/// The one leaf record of a manifest entry.
pub fn leaf<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    let found: Vec<_> = by_id(report, id)
        .into_iter()
        .filter(|c| c["role"] == "leaf")
        .collect();
    assert_eq!(found.len(), 1, "one leaf for {id}");
    found[0]
}

/// Kills `child` with SIGKILL at a pseudo-random instant under `span_us` microseconds (the
/// next xorshift of `seed`, so a test's instants are the same at each run). False when the
/// child had already ended by then: no kill.
pub fn kill_9_within(child: &mut std::process::Child, seed: &mut u64, span_us: u64) -> bool {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    std::thread::sleep(std::time::Duration::from_micros(*seed % span_us.max(1)));
    if child.try_wait().expect("child status").is_some() {
        return false;
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    true
}

pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures").join(rel)).expect("fixture exists")
}
