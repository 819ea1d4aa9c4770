//! `--debug`: a line on stderr for each step of a headless run (inputs opened, contexts walked, layer
//! pairs read or skipped, the end), with the time since the run started.

use std::collections::HashMap;
use std::time::Instant;

use ocidiff::model::{ContextId, Event, escape_control};
use ocidiff::source::Image;

pub struct DebugLog {
    enabled: bool,
    started: Instant,
    /// Context paths by id, so later events can name their context.
    paths: HashMap<ContextId, String>,
}

impl DebugLog {
    pub fn new(enabled: bool) -> DebugLog {
        DebugLog {
            enabled,
            started: Instant::now(),
            paths: HashMap::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn opened(&self, input: usize, image: &Image) {
        self.line(&format!(
            "input {input} ({}): {} {}",
            image.spec, image.root.media_type, image.root.digest
        ));
    }

    pub fn event(&mut self, event: &Event) {
        if !self.enabled {
            return;
        }
        match event {
            Event::Context(context) => {
                let digests = context.descriptors.as_ref().map(|d| {
                    d.as_ref()
                        .map_or("missing".into(), |d| d.digest.to_string())
                });
                self.line(&format!(
                    "{} ({}): {} | {}",
                    context.path, context.label, digests.input0, digests.input1
                ));
                self.paths.insert(context.id, context.path.clone());
            }
            Event::LayerEqual { context, proof } => {
                self.line(&format!("{}: {}", self.path(*context), proof.description()));
            }
            Event::LayerCompared { context, entries } => {
                let count =
                    |n: Option<usize>| n.map_or("no layer".into(), |n| format!("{n} entries"));
                self.line(&format!(
                    "{}: read and compared ({} | {})",
                    self.path(*context),
                    count(entries.input0),
                    count(entries.input1)
                ));
            }
            Event::Nested { context, .. } => {
                self.line(&format!("{}: compared inside", self.path(*context)));
            }
            Event::Finished => self.line("comparison finished"),
            Event::Explained { .. }
            | Event::Difference(_)
            | Event::Provisional(_)
            | Event::Withdrawn { .. }
            | Event::Progress(_)
            | Event::Warning { .. }
            | Event::Error { .. } => {}
        }
    }

    fn path(&self, context: ContextId) -> &str {
        self.paths.get(&context).map_or("?", String::as_str)
    }

    pub fn line(&self, message: &str) {
        if self.enabled {
            let seconds = self.started.elapsed().as_secs_f64();
            eprintln!(
                "ocidiff-tui: debug: [{seconds:7.3}s] {}",
                escape_control(message)
            );
        }
    }
}
