//! A one-line progress display on stderr, for headless runs on a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use ocidiff::model::Progress;

pub struct ProgressLine {
    enabled: bool,
    last_drawn: Option<Instant>,
    started: Instant,
}

impl ProgressLine {
    pub fn new(wanted: bool) -> Self {
        ProgressLine {
            enabled: wanted && std::io::stderr().is_terminal(),
            last_drawn: None,
            started: Instant::now(),
        }
    }

    pub fn update(&mut self, progress: &Progress) {
        if !self.enabled || progress.layers_total == 0 {
            return;
        }
        let due = self
            .last_drawn
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if !due {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let mb = |b: u64| b as f64 / 1e6;
        let line = format!(
            "reading layers {}/{}  {:.1}/{:.1} MB  {:.1} MB/s",
            progress.layers_done,
            progress.layers_total,
            mb(progress.bytes_done),
            mb(progress.bytes_total),
            mb(progress.bytes_done) / secs
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
    }

    pub fn clear(&mut self) {
        if self.enabled && self.last_drawn.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// "exporting docker://a, podman://b from their engines…" on a terminal while engine exports run
/// (seconds for a large image); cleared once the inputs are open.
pub struct ExportNote {
    shown: bool,
}

impl ExportNote {
    pub fn show(wanted: bool, specs: &[String]) -> Self {
        let exported: Vec<&str> = specs
            .iter()
            .map(String::as_str)
            .filter(|s| s.starts_with("docker://") || s.starts_with("podman://"))
            .collect();
        let shown = wanted && !exported.is_empty() && std::io::stderr().is_terminal();
        if shown {
            let joined = exported.join(", ");
            let names = ocidiff::model::escape_control(&joined);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "exporting {names} from the engine…");
            let _ = err.flush();
        }
        ExportNote { shown }
    }

    pub fn clear(self) {
        if self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}
