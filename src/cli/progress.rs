//! A one-line progress display on stderr, for headless runs on a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use ocidiff::model::Progress;
use ocidiff::source::Preparation;

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

/// "exporting docker://a from the engine, decompressing b.tar.gz to a temporary file…" on a terminal
/// while inputs are prepared before the comparison can start (seconds for a large image); cleared
/// once the inputs are open.
pub struct OpeningNote {
    shown: bool,
}

impl OpeningNote {
    pub fn show(wanted: bool, specs: &[String]) -> Self {
        if !wanted || !std::io::stderr().is_terminal() {
            return OpeningNote { shown: false };
        }
        let steps = preparation_steps(specs);
        let shown = !steps.is_empty();
        if shown {
            let text = ocidiff::model::escape_control(&steps.join(", ")).into_owned();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{text}…");
            let _ = err.flush();
        }
        OpeningNote { shown }
    }

    pub fn clear(self) {
        if self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// What opening the inputs will take time for, in words (unescaped).
fn preparation_steps(specs: &[String]) -> Vec<String> {
    let mut exported = Vec::new();
    let mut steps = Vec::new();
    for spec in specs {
        match Preparation::of(spec) {
            Some(Preparation::Export) => exported.push(spec.as_str()),
            Some(Preparation::Decompress(compression)) => steps.push(format!(
                "decompressing {spec} ({}) to a temporary file",
                compression.name()
            )),
            Some(Preparation::Copy) => steps.push(format!("copying {spec} to a temporary file")),
            None => {}
        }
    }
    match exported.as_slice() {
        [] => {}
        [one] => steps.insert(0, format!("exporting {one} from the engine")),
        several => steps.insert(
            0,
            format!("exporting {} from their engines", several.join(", ")),
        ),
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_exports_and_decompressions() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("img.tar.gz");
        std::fs::write(&gz, ocidiff::fixture::gzip(b"not read here")).unwrap();
        let plain = dir.path().join("img.tar");
        std::fs::write(&plain, [0u8; 1024]).unwrap();
        let gz = gz.display().to_string();
        let specs =
            |specs: &[&str]| -> Vec<String> { specs.iter().map(|s| s.to_string()).collect() };
        assert_eq!(
            preparation_steps(&specs(&["docker://a", &format!("docker-archive:{gz}:x:1")])),
            [
                "exporting docker://a from the engine".to_owned(),
                format!("decompressing docker-archive:{gz}:x:1 (gzip) to a temporary file"),
            ]
        );
        assert_eq!(
            preparation_steps(&specs(&["docker://a", "podman://b"])),
            ["exporting docker://a, podman://b from their engines"]
        );
        let plain = plain.display().to_string();
        assert!(preparation_steps(&specs(&[&plain, "containerd://c", "alpine:3.18"])).is_empty());
        // A pipe is not read to tell (its bytes can be read only once).
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()));
        let fifo = fifo.display().to_string();
        assert_eq!(
            preparation_steps(&specs(&[&fifo])),
            [format!("copying {fifo} to a temporary file")]
        );
    }
}
