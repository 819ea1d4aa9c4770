//! Helpers shared by the end-to-end tests: run the real binary and read its `--format json` report.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One run of `ocidiff-tui`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--format json` document on stdout.
    pub fn json(&self) -> Report {
        let value: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        Report(value)
    }
}

/// Runs the binary with `args`, never letting a terminal get the TUI (nor `$DEBUG` turn on `--debug`).
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_command(
        Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"))
            .args(args)
            .env_remove("DEBUG"),
    )
}

/// Runs a prepared command of the binary (extra environment and the like), stdin closed.
pub fn run_command(command: &mut Command) -> Run {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ocidiff-tui");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs a prepared command of the binary like [`run_command`], killing it if it has not exited
/// within `limit` (a test of a hang then fails instead of hanging). Returns the run and how long
/// it took.
pub fn run_command_within(
    command: &mut Command,
    limit: std::time::Duration,
) -> (Run, std::time::Duration) {
    use std::io::Read;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ocidiff-tui");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ocidiff-tui") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}, killed; stderr: {}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    (run, elapsed)
}

/// Whether a program is on PATH.
pub fn have_program(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Checks that `--format json` ran (exit 0 or 1) with an error-free report, and returns it.
pub fn error_free_report(run: &Run, what: &dyn std::fmt::Debug) -> Report {
    assert!(
        run.code == 0 || run.code == 1,
        "exit {} for {what:?}:\n{}",
        run.code,
        run.stderr
    );
    let report = run.json();
    assert!(
        report.0["errors"].as_array().is_some_and(|e| e.is_empty()),
        "errors in report for {what:?}: {}",
        report.0["errors"]
    );
    report
}

/// Runs `--format json FLAGS A B`.
pub fn run_json(flags: &[&str], a: &str, b: &str) -> Run {
    let mut args: Vec<String> = vec!["--format".into(), "json".into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.push(a.to_owned());
    args.push(b.to_owned());
    run(&args)
}

/// Runs with `flags` and returns (exit code, the report).
pub fn compare(flags: &[&str], a: &str, b: &str) -> (i32, Report) {
    let run = run_json(flags, a, b);
    let report = error_free_report(&run, &(flags, a, b));
    (run.code, report)
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_owned()
}

/// One delta of the report: where, what, which field, which aspect.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    pub context: String,
    pub key: String,
    pub field: String,
    pub aspect: String,
}

impl Pair {
    pub fn new(context: &str, key: &str, field: &str, aspect: &str) -> Pair {
        Pair {
            context: context.into(),
            key: key.into(),
            field: field.into(),
            aspect: aspect.into(),
        }
    }
}

/// Derived aspects only restate others (see JSON-FORMAT.md).
pub fn is_derived(aspect: &str) -> bool {
    aspect == "digest" || aspect == "entry-count"
}

/// A parsed `--format json` report.
#[derive(Debug, Clone)]
pub struct Report(pub Value);

impl Report {
    fn differences(&self) -> &[Value] {
        self.0["differences"].as_array().expect("differences")
    }

    fn pairs(&self, only_shown: bool) -> BTreeSet<Pair> {
        let mut out = BTreeSet::new();
        for d in self.differences() {
            if only_shown && d["shown"] != Value::Bool(true) {
                continue;
            }
            for delta in d["deltas"].as_array().expect("deltas") {
                if only_shown && delta["shown"] != Value::Bool(true) {
                    continue;
                }
                out.insert(Pair {
                    context: d["contextPath"].as_str().unwrap().to_owned(),
                    key: d["key"].as_str().unwrap().to_owned(),
                    field: delta["field"].as_str().unwrap().to_owned(),
                    aspect: delta["aspect"].as_str().unwrap().to_owned(),
                });
            }
        }
        out
    }

    /// Every delta the filter shows.
    pub fn shown(&self) -> BTreeSet<Pair> {
        self.pairs(true)
    }

    /// Every delta of the view, shown or not.
    pub fn all(&self) -> BTreeSet<Pair> {
        self.pairs(false)
    }

    /// Shown deltas as `(key, field)`.
    pub fn shown_keys(&self) -> BTreeSet<(String, String)> {
        self.shown().into_iter().map(|p| (p.key, p.field)).collect()
    }

    /// The keys of shown `File` differences.
    pub fn shown_files(&self) -> BTreeSet<String> {
        self.differences()
            .iter()
            .filter(|d| d["shown"] == Value::Bool(true) && d["kind"] == "File")
            .map(|d| d["key"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The shown differences that count as one, as the hidden counts and the verdict count them, as
    /// `(contextPath, kind, key)`: not a member of a file compared inside (it counts with the file),
    /// not only restating others (a digest, an entry count).
    pub fn counted_differences(&self) -> BTreeSet<(String, String, String)> {
        let nested: BTreeSet<u64> = self.0["contexts"]
            .as_array()
            .expect("contexts")
            .iter()
            .filter(|c| c["kind"]["type"] == "nested")
            .filter_map(|c| c["id"].as_u64())
            .collect();
        let counts = |d: &Value| {
            let own = d["aspects"]
                .as_array()
                .expect("aspects")
                .iter()
                .any(|a| !is_derived(a.as_str().unwrap_or_default()));
            let inside_a_file = d["context"].as_u64().is_some_and(|c| nested.contains(&c));
            !inside_a_file && (own || !d["nested"].is_null())
        };
        self.shown_differences_where(counts)
    }

    /// The shown differences as `(contextPath, kind, key)`.
    pub fn shown_differences(&self) -> BTreeSet<(String, String, String)> {
        self.shown_differences_where(|_| true)
    }

    fn shown_differences_where(
        &self,
        keep: impl Fn(&Value) -> bool,
    ) -> BTreeSet<(String, String, String)> {
        self.differences()
            .iter()
            .filter(|d| d["shown"] == Value::Bool(true) && keep(d))
            .map(|d| {
                (
                    d["contextPath"].as_str().unwrap().to_owned(),
                    d["kind"].as_str().unwrap().to_owned(),
                    d["key"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// `hidden.by-option` as flag → count.
    pub fn hidden_by_option(&self) -> BTreeMap<String, u64> {
        self.0["hidden"]["by-option"]
            .as_object()
            .expect("hidden.by-option")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect()
    }

    pub fn hidden_by_path(&self) -> u64 {
        self.0["hidden"]["by-path"]
            .as_u64()
            .expect("hidden.by-path")
    }

    /// Rows shown (every shown difference, members and digest rows included).
    pub fn shown_count(&self) -> u64 {
        self.0["summary"]["rows"].as_u64().expect("summary.rows")
    }

    pub fn view(&self) -> &str {
        self.0["view"].as_str().expect("view")
    }
}

/// Formats a set of pairs one per line, for assertion messages.
pub fn show(pairs: &BTreeSet<Pair>) -> String {
    pairs
        .iter()
        .map(|p| format!("  {} {} {} ({})", p.context, p.key, p.field, p.aspect))
        .collect::<Vec<_>>()
        .join("\n")
}
