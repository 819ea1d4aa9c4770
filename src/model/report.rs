use std::collections::HashMap;

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
}

/// Differences by id. A position found stale (the list was changed directly) is looked up again.
#[derive(Debug, Clone, Default)]
pub struct Positions(HashMap<DiffId, usize>);

impl Report {
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Context(c) => self.contexts.push(*c),
            Event::Difference(d) => {
                self.positions.0.insert(d.id, self.differences.len());
                self.differences.push(d);
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
                // Layers finish in any order; a finished report lists differences in tree order
                // (contexts are numbered as the tree is built), each context's as the engine gave them.
                self.differences.sort_by_key(|d| d.context);
                self.positions = Positions(
                    self.differences
                        .iter()
                        .enumerate()
                        .map(|(position, d)| (d.id, position))
                        .collect(),
                );
                self.finished = true;
            }
        }
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
