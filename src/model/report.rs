use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{
    Context, ContextId, ContextKind, DiffId, Difference, Event, LayerProof, Progress, Sides,
};

/// Everything a comparison produced, collected from its event stream. Reports and the explorer read this;
/// it is built incrementally with [`Report::apply`], so a partial report is always valid.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub contexts: Vec<Context>,
    pub differences: Vec<Difference>,
    /// Layer pairs proven equal without comparing their entries, and how.
    pub equal_layers: Vec<(ContextId, LayerProof)>,
    /// Entry counts of each layer pair that was read.
    pub layer_entries: Vec<(ContextId, Sides<Option<usize>>)>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub progress: Progress,
    pub finished: bool,
    /// Where each difference is in `differences`, kept by [`Report::apply`].
    #[serde(skip)]
    pub positions: Positions,
    #[serde(skip)]
    pub settling: Settling,
}

/// Which differences are still provisional, and the order the others were settled in: the finished
/// report lists each context's differences in that order, as the engine settled them.
#[derive(Debug, Clone, Default)]
pub struct Settling {
    provisional: HashSet<DiffId>,
    settled: HashMap<DiffId, u64>,
}

/// What applying an event did to [`Report::differences`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A difference was added at this index.
    Added(usize),
    /// The difference at this index was replaced by its settled form (same id, same key).
    Replaced(usize),
    /// The differences moved or some were taken back: each old index's new index, `None` if gone.
    Moved(Vec<Option<usize>>),
    /// The differences did not change.
    Unchanged,
}

/// Differences by id. A position found stale (the list was changed directly) is looked up again.
#[derive(Debug, Clone, Default)]
pub struct Positions(HashMap<DiffId, usize>);

impl Report {
    pub fn apply(&mut self, event: Event) -> Applied {
        match event {
            Event::Context(c) => self.contexts.push(*c),
            Event::Difference(d) => return self.settle(d),
            Event::Provisional(d) => {
                self.settling.provisional.insert(d.id);
                return self.push(d);
            }
            Event::Withdrawn { differences } => {
                let withdrawn: HashSet<DiffId> = differences.into_iter().collect();
                for id in &withdrawn {
                    self.settling.provisional.remove(id);
                }
                return self.reorder(|_, d| (!withdrawn.contains(&d.id)).then_some((0, 0)));
            }
            Event::Nested {
                difference,
                context,
            } => {
                if let Some(d) = self.difference_mut(difference) {
                    d.nested = Some(context);
                }
            }
            Event::Explained {
                difference,
                explanations,
            } => {
                if let Some(d) = self.difference_mut(difference) {
                    d.explanations.extend(explanations);
                }
            }
            Event::LayerEqual { context, proof } => self.equal_layers.push((context, proof)),
            Event::LayerCompared { context, entries } => {
                self.layer_entries.push((context, entries))
            }
            Event::Progress(p) => self.progress = p,
            Event::Warning { message, .. } => self.warnings.push(message),
            Event::Error { message, .. } => self.errors.push(message),
            Event::Finished => {
                self.finished = true;
                // Layers finish in any order; a finished report lists differences in tree order
                // (contexts are numbered as the tree is built), each context's as the engine settled
                // them. What was never settled (the engine stopped) is not a finding.
                let Settling {
                    provisional,
                    settled,
                } = std::mem::take(&mut self.settling);
                return self.reorder(|_, d| {
                    let order = settled.get(&d.id).copied().unwrap_or(u64::MAX);
                    (!provisional.contains(&d.id)).then_some((d.context.0, order))
                });
            }
        }
        Applied::Unchanged
    }

    fn push(&mut self, difference: Difference) -> Applied {
        let at = self.differences.len();
        self.positions.0.insert(difference.id, at);
        self.differences.push(difference);
        Applied::Added(at)
    }

    /// A settled difference: new, or the settled form of a provisional one, which it replaces.
    fn settle(&mut self, difference: Difference) -> Applied {
        let id = difference.id;
        let order = self.settling.settled.len() as u64;
        self.settling.settled.insert(id, order);
        if self.settling.provisional.remove(&id)
            && let Some(at) = self.position(id)
        {
            self.differences[at] = difference;
            return Applied::Replaced(at);
        }
        self.push(difference)
    }

    /// Keeps the differences `sort_key` gives a key, ordered by it (stable).
    fn reorder(&mut self, sort_key: impl Fn(usize, &Difference) -> Option<(u32, u64)>) -> Applied {
        let mut keyed: Vec<((u32, u64), usize)> = (self.differences.iter().enumerate())
            .filter_map(|(i, d)| Some((sort_key(i, d)?, i)))
            .collect();
        keyed.sort_by_key(|(key, _)| *key);
        let kept: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
        if kept.iter().copied().eq(0..self.differences.len()) {
            return Applied::Unchanged;
        }
        let mut moved = vec![None; self.differences.len()];
        let mut old: Vec<Option<Difference>> = std::mem::take(&mut self.differences)
            .into_iter()
            .map(Some)
            .collect();
        for (new, &at) in kept.iter().enumerate() {
            moved[at] = Some(new);
        }
        self.differences = kept.iter().filter_map(|&at| old[at].take()).collect();
        self.positions = Positions(
            self.differences
                .iter()
                .enumerate()
                .map(|(position, d)| (d.id, position))
                .collect(),
        );
        Applied::Moved(moved)
    }

    pub fn difference(&self, id: DiffId) -> Option<&Difference> {
        self.differences.get(self.position(id)?)
    }

    fn difference_mut(&mut self, id: DiffId) -> Option<&mut Difference> {
        let position = self.position(id)?;
        self.differences.get_mut(position)
    }

    fn position(&self, id: DiffId) -> Option<usize> {
        match self.positions.0.get(&id) {
            Some(&at) if self.differences.get(at).is_some_and(|d| d.id == id) => Some(at),
            _ => self.differences.iter().position(|d| d.id == id),
        }
    }

    pub fn context(&self, id: ContextId) -> Option<&Context> {
        // Ids are handed out in creation order, so the index usually is the id.
        match self.contexts.get(id.0 as usize) {
            Some(c) if c.id == id => Some(c),
            _ => self.contexts.iter().find(|c| c.id == id),
        }
    }

    /// The context and its ancestors, innermost first.
    pub fn ancestry(&self, id: ContextId) -> impl Iterator<Item = &Context> {
        std::iter::successors(self.context(id), |c| c.parent.and_then(|p| self.context(p)))
    }

    /// How the layer pair at `id` was proven equal, if it was without comparing entries.
    pub fn layer_proof(&self, id: ContextId) -> Option<LayerProof> {
        self.equal_layers
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, proof)| *proof)
    }

    /// Whether `id` lies inside the merged-filesystem view (as opposed to the per-layer view).
    pub fn in_merged_view(&self, id: ContextId) -> bool {
        self.ancestry(id).any(|c| c.kind == ContextKind::MergedFs)
    }

    /// Whether `id` lies inside a layer of the per-layer view.
    pub fn in_layer_view(&self, id: ContextId) -> bool {
        self.ancestry(id)
            .any(|c| matches!(c.kind, ContextKind::Layer { .. }))
    }
}
