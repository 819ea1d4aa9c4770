//! Driving the real `ocidiff-tui` binary inside tmux: one private tmux server per test (its own
//! socket, so tests run in parallel), keys in with `send-keys`, the screen out with `capture-pane`,
//! and polling with a deadline instead of fixed sleeps. The server is killed when the [`Tmux`] guard
//! drops, also when the test fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};

/// How long a screen may take to show what a test waits for (generous: CI has 2 cores and runs the
/// tests in parallel with a debug build).
pub const TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_ocidiff-tui")
}

/// Whether tmux can be used. Without it: a failure on CI (`CI` set), a skip (with a note) elsewhere.
pub fn tmux_or_skip(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is not installed, and CI is set: .ci/run installs it");
        }
        eprintln!("skipping {test}: tmux is not installed");
    }
    ok
}

/// Quotes a string for `sh`.
pub fn sh_quote(s: impl AsRef<str>) -> String {
    format!("'{}'", s.as_ref().replace('\'', r"'\''"))
}

/// A tmux server of its own with one session running one shell command.
pub struct Tmux {
    socket: String,
    target: String,
    /// The socket file, removed after the server is killed (tmux leaves it behind).
    socket_path: Option<PathBuf>,
}

impl Tmux {
    /// Starts `command` (a `sh` command line) in a detached `width`x`height` session, in `cwd`.
    pub fn start(command: &str, cwd: &Path, width: u16, height: u16) -> Tmux {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "ocidiff-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut tmux = Tmux {
            socket,
            target: "e2e".to_owned(),
            socket_path: None,
        };
        // The guard exists before the server does: whatever fails from here on, Drop kills it.
        let out = Command::new("tmux")
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", &tmux.target, "-x", &width.to_string()])
            .args(["-y", &height.to_string(), "-c"])
            .arg(cwd)
            .arg(command)
            // The pane's shell runs `command`: make it a POSIX one whatever the user's is.
            .env("SHELL", "/bin/sh")
            .env_remove("TMUX")
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = tmux.display("#{socket_path}");
        tmux.socket_path = Some(PathBuf::from(path)).filter(|p| p.is_absolute());
        tmux
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Sends tmux key names (`j`, `Enter`, `BSpace`, `C-c`, `Down`...), one after the other.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.target];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Sends one key `count` times.
    pub fn key_times(&self, key: &str, count: usize) {
        self.tmux(&[
            "send-keys",
            "-t",
            &self.target,
            "-N",
            &count.to_string(),
            key,
        ]);
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.target, "-l", text]);
    }

    /// Runs a tmux command on this server (e.g. `set-option -g set-clipboard on`).
    pub fn command(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.tmux(args).stdout).into_owned()
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.target]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its attributes and colours as escape sequences (`capture-pane -e`).
    pub fn screen_with_escapes(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e", "-t", &self.target]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format for the pane, e.g. `#{alternate_on}`.
    pub fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.target, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            &self.target,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Polls the screen until `ready` holds; fails with the last screen after [`TIMEOUT`]. A frame
    /// can be captured half written: `ready` must hold on two captures in a row, the second is
    /// returned.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                std::thread::sleep(Duration::from_millis(20));
                let again = self.screen();
                if ready(&again) {
                    return again;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {TIMEOUT:?} waiting for {what}; the screen:\n{screen}\n(end of screen)"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Polls until the screen contains `text`.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Polls until the detail pane's title is `title`.
    pub fn wait_for_title(&self, title: &str) -> String {
        self.wait_until(&format!("detail pane titled {title:?}"), |s| {
            detail_title(s).as_deref() == Some(title)
        })
    }

    /// Polls until the explorer has drawn its first frame and the comparison is done, and the
    /// screen has settled (what each filter hides, and the hint, are counted in the frame after).
    pub fn wait_for_done(&self) -> String {
        let mut screen = self.wait_until("the status bar to say done", |s| {
            status_bar(s).contains(" done ")
        });
        let deadline = Instant::now() + TIMEOUT;
        loop {
            std::thread::sleep(Duration::from_millis(150));
            let again = self.screen();
            if again == screen || Instant::now() > deadline {
                return again;
            }
            screen = again;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The detail pane's title: the top border's second title, `┐┌ TITLE ─…`.
pub fn detail_title(screen: &str) -> Option<String> {
    let top = screen.lines().next()?;
    let (_, right) = top.split_once("┐┌")?;
    let title = right.strip_prefix(' ')?;
    let end = title.find(" ─").or_else(|| title.find(" ┐"))?;
    Some(title[..end].to_owned())
}

/// The explorer's two status lines (the last two non-empty lines of the screen), joined.
pub fn status_bar(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(2)..].join("\n")
}

/// `N` of "N rows differ" (or "1 row differs") in the status bar: the rows `]` visits.
pub fn differences_shown(screen: &str) -> Option<usize> {
    let bar = status_bar(screen);
    let (before, _) = bar
        .split_once(" rows differ")
        .or_else(|| bar.split_once(" row differs"))?;
    before.rsplit(' ').next()?.parse().ok()
}

/// A fixture pair in a temporary directory: `dir/a` and `dir/b` (OCI layouts).
pub struct Images {
    pub dir: tempfile::TempDir,
}

impl Images {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The shell command line that runs the explorer on `a` and `b` (relative to the session's cwd),
    /// prints a marker first and the exit status and the terminal mode afterwards, then stays.
    pub fn explorer_command(env: &str) -> String {
        format!(
            "echo BEFORE-EXPLORER; {env} {bin} a b; echo EXIT=$?; \
             if stty -a | grep -q -- -icanon; then echo TTY=raw; else echo TTY=cooked; fi; \
             exec sleep 600",
            bin = sh_quote(binary())
        )
    }
}

/// The pair `ocidiff-tui make-example` writes (a rebuild: every mtime moves, plus real changes).
pub fn example_images() -> Images {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(binary())
        .arg("make-example")
        .arg(dir.path())
        .output()
        .expect("running make-example");
    assert!(
        out.status.success(),
        "make-example failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("a/index.json").is_file());
    assert!(dir.path().join("b/index.json").is_file());
    Images { dir }
}

/// Two one-layer images whose only differing file has a name with an escape sequence in it.
pub fn hostile_images(name: &[u8]) -> Images {
    let dir = tempfile::tempdir().expect("temp dir");
    for (side, content) in [("a", "one\n"), ("b", "two\n")] {
        let layer = LayerBuilder::new()
            .dir("etc/")
            .mtime(1_700_000_000)
            .file("etc/plain.conf", "same\n")
            .mtime(1_700_000_000)
            .file(name, content)
            .mtime(1_700_000_000)
            .build();
        ImageBuilder::new()
            .layer(layer, LayerCompression::Gzip)
            .write_oci_layout(&dir.path().join(side), Some("hostile"))
            .expect("writing an OCI layout");
    }
    Images { dir }
}

/// Two one-layer images whose only difference is the end of one long line of `var/log/build.log`:
/// a build path past column 200.
pub fn long_line_images() -> Images {
    let dir = tempfile::tempdir().expect("temp dir");
    for side in ["a", "b"] {
        let log = format!(
            "start\nfetched {} into /build/{side}.tmp/cache/END\nend\n",
            "x".repeat(200)
        );
        let layer = LayerBuilder::new()
            .dir("var/")
            .mtime(1_700_000_000)
            .dir("var/log/")
            .mtime(1_700_000_000)
            .file("var/log/build.log", log)
            .mtime(1_700_000_000)
            .build();
        ImageBuilder::new()
            .layer(layer, LayerCompression::Gzip)
            .write_oci_layout(&dir.path().join(side), Some("long"))
            .expect("writing an OCI layout");
    }
    Images { dir }
}

/// The lines of the screen from the first `└` of a pane's bottom border (the panes' last line).
pub fn bottom_border_row(screen: &str) -> Option<usize> {
    screen.lines().position(|l| l.starts_with('└'))
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The parameter lists of the SGR sequences (`ESC [ … m`) in text captured with `capture-pane -e`.
pub fn sgr_sequences(captured: &str) -> Vec<Vec<u32>> {
    let mut found = Vec::new();
    let mut rest = captured;
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            found.push(
                after[..end]
                    .split([';', ':'])
                    .map(|p| p.parse().unwrap_or(0))
                    .collect(),
            );
        }
        rest = &after[end..];
    }
    found
}

/// The foreground colours (SGR 30–37, 90–97, 38;…) set in text captured with `capture-pane -e`.
pub fn foreground_colours(captured: &str) -> Vec<Vec<u32>> {
    let mut colours = Vec::new();
    for params in sgr_sequences(captured) {
        let mut i = 0;
        while i < params.len() {
            match params[i] {
                30..=37 | 90..=97 => colours.push(vec![params[i]]),
                38 => {
                    colours.push(params[i..].to_vec());
                    break;
                }
                // A background colour's own parameters follow it.
                48 => break,
                _ => {}
            }
            i += 1;
        }
    }
    colours
}

/// Whether any SGR sequence of the capture turns on reverse video (7).
pub fn has_reverse_video(captured: &str) -> bool {
    sgr_sequences(captured).iter().any(|p| p.contains(&7))
}
