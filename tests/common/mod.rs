//! Helpers shared by the end-to-end tests of the `ocidiff-tui` binary: running it, and writing small
//! images with `ocidiff::fixture`.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};

/// The binary under test (without a `$DEBUG` from the caller's environment, which turns on `--debug`).
pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
    command.env_remove("DEBUG");
    command
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The stderr lines that report errors (`ocidiff-tui: ...`, warnings excluded).
    pub fn error_lines(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.starts_with("ocidiff-tui: ") && !l.starts_with("ocidiff-tui: warning:"))
            .map(str::to_owned)
            .collect()
    }

    /// stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }

    /// Fails unless the run exited with `code`; prints everything otherwise.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// No panic, and no raw terminal control bytes on either stream (the table and the messages
    /// escape them).
    pub fn assert_sane(&self) -> &Self {
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "panic on stderr:\n{stderr}");
        assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
        assert!(
            !self.stderr.contains(&0x1b),
            "raw ESC byte on stderr:\n{stderr:?}"
        );
        assert!(
            !self.stdout.contains(&0x1b),
            "raw ESC byte on stdout:\n{:?}",
            self.stdout()
        );
        self
    }
}

/// Runs the binary with `args` in the current directory.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(None, args)
}

/// Runs the binary with `args`, in `cwd` if given.
pub fn run_in<I, S>(cwd: Option<&Path>, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = bin();
    command.args(args);
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    run_command(&mut command)
}

/// Runs a prepared command of the binary (see [`bin`]).
pub fn run_command(command: &mut Command) -> Run {
    let output = command.output().expect("run ocidiff-tui");
    Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: output.stdout,
        stderr: output.stderr,
    }
}

/// Writes `image` as an OCI layout at `dir/name` and returns the path as a string.
pub fn write_layout(dir: &Path, name: &str, image: &ImageBuilder) -> String {
    let path = dir.join(name);
    image
        .write_oci_layout(&path, None)
        .expect("write OCI layout");
    path_string(&path)
}

pub fn path_string(path: &Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_owned()
}

/// A small layer tar with one file.
pub fn one_file_layer(name: &str, content: &str) -> Vec<u8> {
    LayerBuilder::new().dir("etc/").file(name, content).build()
}

/// A one-layer gzip image holding `etc/hostname` with `content`.
pub fn simple_image(content: &str) -> ImageBuilder {
    ImageBuilder::new().layer(
        one_file_layer("etc/hostname", content),
        LayerCompression::Gzip,
    )
}

/// Runs `make-example` into `dir` and returns `dir`.
pub fn make_example(dir: &Path) -> PathBuf {
    run([OsStr::new("make-example"), dir.as_os_str()]).expect_code(0);
    dir.to_owned()
}

/// Every path below `root` (relative, sorted), symlinks not followed.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            out.push(path.strip_prefix(root).expect("below root").to_owned());
            if entry.file_type().expect("file type").is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}
