//! Where a file comes from: each layer's `created_by` (read again from the two configs, verified) and,
//! for a path, every layer that added, changed or removed it on each side (from the per-layer
//! comparison, which the explorer runs with unchanged entries kept).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use serde::Deserialize;

use crate::engine::blob::read_small_blob;
use crate::model::{ContextId, ContextKind, LayerProof, Report, Side, Sides};
use crate::source::Image;

use super::swap::swapped;
use super::tree::Tree;

/// `created_by` of each layer, per manifest context and side, loaded on threads of their own.
pub struct CreatedBy {
    loaded: HashMap<ContextId, Sides<Commands>>,
    requested: HashSet<ContextId>,
    sender: Sender<Loaded>,
    results: Receiver<Loaded>,
    swapped: bool,
}

/// One config's history: the `created_by` of each non-empty layer, in layer order, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Commands {
    Known(Vec<String>),
    Unreadable(String),
}

struct Loaded {
    manifest: ContextId,
    commands: Sides<Commands>,
    /// Whether the sides were swapped when the configs were asked for.
    swapped: bool,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

#[derive(Deserialize)]
struct HistoryEntry {
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    empty_layer: bool,
}

impl Default for CreatedBy {
    fn default() -> Self {
        let (sender, results) = channel();
        CreatedBy {
            loaded: HashMap::new(),
            requested: HashSet::new(),
            sender,
            results,
            swapped: false,
        }
    }
}

impl CreatedBy {
    /// Starts reading the configs of the manifests not asked for yet (non-blocking).
    pub fn want(&mut self, report: &Report, images: &Arc<Sides<Image>>, limit: u64) {
        for config in report
            .contexts
            .iter()
            .filter(|c| c.kind == ContextKind::Config)
        {
            let Some(manifest) = config.parent else {
                continue;
            };
            if !self.requested.insert(manifest) {
                continue;
            }
            let descriptors = config.descriptors.clone();
            let images = Arc::clone(images);
            let sender = self.sender.clone();
            let swapped = self.swapped;
            let spawned = std::thread::Builder::new()
                .name("ocidiff-config".into())
                .spawn(move || {
                    let commands = Sides::from_fn(|side| {
                        let image = images.get(side);
                        match descriptors.get(side) {
                            None => Commands::Known(Vec::new()),
                            Some(desc) => read_commands(image, desc, limit),
                        }
                    });
                    let _ = sender.send(Loaded {
                        manifest,
                        commands,
                        swapped,
                    });
                });
            if spawned.is_err() {
                self.requested.remove(&manifest);
            }
        }
    }

    /// Takes in what was read; true if anything arrived.
    pub fn poll(&mut self) -> bool {
        let mut any = false;
        while let Ok(loaded) = self.results.try_recv() {
            let commands = if loaded.swapped == self.swapped {
                loaded.commands
            } else {
                swapped(loaded.commands)
            };
            self.loaded.insert(loaded.manifest, commands);
            any = true;
        }
        any
    }

    /// For tests: what the configs say, as if read.
    pub fn insert(&mut self, manifest: ContextId, commands: Sides<Commands>) {
        self.requested.insert(manifest);
        self.loaded.insert(manifest, commands);
    }

    pub fn swap(&mut self) {
        self.swapped = !self.swapped;
        for commands in self.loaded.values_mut() {
            let both = std::mem::replace(
                commands,
                Sides::new(Commands::Known(Vec::new()), Commands::Known(Vec::new())),
            );
            *commands = swapped(both);
        }
    }

    /// What created layer `index` of a manifest on one side: `None` while the configs are read or
    /// when the history does not say.
    pub fn of(&self, manifest: ContextId, index: usize, side: Side) -> Option<Result<&str, &str>> {
        match self.loaded.get(&manifest)?.get(side) {
            Commands::Known(commands) => commands.get(index).map(|c| Ok(c.as_str())),
            Commands::Unreadable(why) => Some(Err(why.as_str())),
        }
    }
}

fn read_commands(image: &Image, desc: &crate::oci::Descriptor, limit: u64) -> Commands {
    let bytes = match read_small_blob(image.source.as_ref(), desc, limit) {
        Ok(bytes) => bytes,
        Err(error) => return Commands::Unreadable(format!("config {}: {error}", desc.digest)),
    };
    match serde_json::from_slice::<Config>(&bytes) {
        Ok(config) => Commands::Known(
            config
                .history
                .into_iter()
                .filter(|h| !h.empty_layer)
                .map(|h| h.created_by)
                .collect(),
        ),
        Err(error) => Commands::Unreadable(format!("config {}: {error}", desc.digest)),
    }
}

/// What one layer did to a path on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    Added,
    Changed,
    /// Written, after a layer that was not read: added or changed, it cannot be said.
    Written,
    /// A whiteout of the path, or of a directory above it (`.wh..wh..opq`).
    Removed,
}

impl Touch {
    pub fn words(self) -> &'static str {
        match self {
            Touch::Added => "added",
            Touch::Changed => "changed",
            Touch::Written => "written",
            Touch::Removed => "removed",
        }
    }
}

/// One layer that touches the path on at least one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub layer: usize,
    pub touch: Sides<Option<Touch>>,
    /// Both sides touch it the same way and their entries compare equal.
    pub same: bool,
}

/// A path's history across the layers of one manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileHistory {
    pub manifest: Option<ContextId>,
    pub steps: Vec<Step>,
    /// Layers not read (identical on both sides): they may touch the path too.
    pub not_read: Vec<(usize, LayerProof)>,
    /// Layers still being read.
    pub pending: Vec<usize>,
}

/// Every layer of the manifest above `context` that adds, changes or removes `path`, side by side.
pub fn file_history(report: &Report, tree: &Tree, context: ContextId, path: &str) -> FileHistory {
    let manifest = report.context(context).and_then(|c| c.parent);
    let mut layers: Vec<(usize, ContextId)> = report
        .contexts
        .iter()
        .filter(|c| c.parent == manifest)
        .filter_map(|c| match c.kind {
            ContextKind::Layer { index } => Some((index, c.id)),
            _ => None,
        })
        .collect();
    layers.sort();
    let mut history = FileHistory {
        manifest,
        ..FileHistory::default()
    };
    // Whether each side has the path so far; unknown after a layer that was not read.
    let mut present: Sides<Option<bool>> = Sides::new(Some(false), Some(false));
    for (index, layer) in layers {
        if let Some(proof) = report.layer_proof(layer) {
            history.not_read.push((index, proof));
            present = Sides::new(None, None);
            continue;
        }
        if !report.layer_entries.iter().any(|(c, _)| *c == layer) {
            history.pending.push(index);
            continue;
        }
        let entry = tree
            .find_path(layer, path)
            .and_then(|n| tree.difference_of(n))
            .and_then(|d| report.differences.get(d));
        let removed = Sides::from_fn(|side| removes(report, tree, layer, path, side));
        let touch = Sides::from_fn(|side| {
            let has = entry
                .and_then(|d| d.entries.as_ref())
                .is_some_and(|e| e.get(side).is_some());
            let was = *present.get(side);
            if has {
                Some(match was {
                    Some(true) => Touch::Changed,
                    Some(false) => Touch::Added,
                    None => Touch::Written,
                })
            } else if *removed.get(side) && was != Some(false) {
                Some(Touch::Removed)
            } else {
                None
            }
        });
        for side in Side::BOTH {
            match touch.get(side) {
                Some(Touch::Added | Touch::Changed | Touch::Written) => {
                    *present.get_mut(side) = Some(true)
                }
                Some(Touch::Removed) => *present.get_mut(side) = Some(false),
                None => {}
            }
        }
        if touch.input0.is_some() || touch.input1.is_some() {
            let same = touch.input0 == touch.input1 && entry.is_none_or(|d| d.deltas().is_empty());
            history.steps.push(Step {
                layer: index,
                touch,
                same,
            });
        }
    }
    history
}

/// Whether a layer holds a whiteout of `path` (or of a directory above it) on one side.
fn removes(report: &Report, tree: &Tree, layer: ContextId, path: &str, side: Side) -> bool {
    let has_entry = |key: &str| {
        tree.find_path(layer, key)
            .and_then(|n| tree.difference_of(n))
            .and_then(|d| report.differences.get(d))
            .and_then(|d| d.entries.as_ref())
            .is_some_and(|e| e.get(side).as_ref().is_some_and(|e| e.whiteout().is_some()))
    };
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let own = if dir.is_empty() {
        format!(".wh.{name}")
    } else {
        format!("{dir}/.wh.{name}")
    };
    if has_entry(&own) {
        return true;
    }
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if has_entry(&format!("{parent}/.wh..wh..opq")) {
            return true;
        }
        dir = parent;
    }
    has_entry(".wh..wh..opq")
}
