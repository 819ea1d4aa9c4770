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
    /// Present (0) for each provisional difference.
    provisional: ById,
    /// The order each settled difference was settled in.
    settled: ById,
    /// How many were settled.
    count: usize,
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
pub struct Positions(ById);

/// A number for some difference ids, in a list the ids index: the engine hands ids out one after the
/// other from 0, so a million differences cost 4 MB where a hash map took 35.
#[derive(Debug, Clone, Default)]
struct ById(Vec<u32>);

impl ById {
    const ABSENT: u32 = u32::MAX;

    fn get(&self, id: DiffId) -> Option<u32> {
        (self.0.get(id.0 as usize).copied()).filter(|&value| value != Self::ABSENT)
    }

    fn contains(&self, id: DiffId) -> bool {
        self.get(id).is_some()
    }

    fn insert(&mut self, id: DiffId, value: u32) {
        let at = id.0 as usize;
        if at >= self.0.len() {
            self.0.resize(at + 1, Self::ABSENT);
        }
        self.0[at] = value;
    }

    fn remove(&mut self, id: DiffId) -> Option<u32> {
        let value = self.get(id)?;
        self.0[id.0 as usize] = Self::ABSENT;
        Some(value)
    }
}

/// A position or an order among the differences, which ids number.
fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(ById::ABSENT)
}

impl Report {
    pub fn apply(&mut self, event: Event) -> Applied {
        match event {
            Event::Context(c) => self.contexts.push(*c),
            Event::Difference(d) => return self.settle(d),
            Event::Provisional(d) => {
                self.settling.provisional.insert(d.id, 0);
                return self.push(d);
            }
            Event::Withdrawn { differences } => {
                let withdrawn: HashSet<DiffId> = differences.into_iter().collect();
                for &id in &withdrawn {
                    self.settling.provisional.remove(id);
                }
                let kept = (self.differences.iter().enumerate())
                    .filter(|(_, d)| !withdrawn.contains(&d.id))
                    .map(|(i, _)| i)
                    .collect();
                return self.reorder(kept);
            }
            Event::Nested {
                difference,
                context,
            } => {
                if let Some(d) = self.difference_mut(difference) {
                    d.nested = Some(context).into();
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
                // them, and what differs inside a file right after the file. What was never settled
                // (the engine stopped) is not a finding.
                let Settling {
                    provisional,
                    settled,
                    ..
                } = std::mem::take(&mut self.settling);
                // Context, then settling order (the unsettled last).
                let key = |d: &Difference| {
                    let order = settled.get(d.id).unwrap_or(ById::ABSENT);
                    (u64::from(d.context.0) << 32) | u64::from(order)
                };
                let kept = |d: &&Difference| !provisional.contains(d.id);
                // Most often nothing moves: a million differences then take no list of them here.
                if self
                    .differences
                    .iter()
                    .all(|d| kept(&d) && d.nested.get().is_none())
                    && self.differences.iter().map(key).is_sorted()
                {
                    return Applied::Unchanged;
                }
                let mut keyed: Vec<(u64, u32)> = (self.differences.iter().enumerate())
                    .filter(|(_, d)| kept(d))
                    .map(|(i, d)| (key(d), as_u32(i)))
                    .collect();
                keyed.sort_unstable();
                let sorted: Vec<usize> = keyed.into_iter().map(|(_, i)| i as usize).collect();
                return self.reorder(self.members_after_their_files(sorted));
            }
        }
        Applied::Unchanged
    }

    fn push(&mut self, difference: Difference) -> Applied {
        let at = self.differences.len();
        self.positions.0.insert(difference.id, as_u32(at));
        self.differences.push(difference);
        Applied::Added(at)
    }

    /// A settled difference: new, or the settled form of a provisional one, which it replaces.
    fn settle(&mut self, difference: Difference) -> Applied {
        let id = difference.id;
        self.settling
            .settled
            .insert(id, as_u32(self.settling.count));
        self.settling.count += 1;
        if self.settling.provisional.remove(id).is_some()
            && let Some(at) = self.position(id)
        {
            self.differences[at] = difference;
            return Applied::Replaced(at);
        }
        self.push(difference)
    }

    /// `order` (indices of differences) with the differences of each nested context moved to right
    /// after the file they are the inside of, depth first. A nested context whose file is not in
    /// `order` keeps its place.
    fn members_after_their_files(&self, order: Vec<usize>) -> Vec<usize> {
        let files: HashMap<ContextId, usize> = order
            .iter()
            .filter_map(|&i| Some((self.differences[i].nested.get()?, i)))
            .collect();
        let mut members: HashMap<ContextId, Vec<usize>> = HashMap::new();
        let mut top = Vec::with_capacity(order.len());
        for i in order {
            let context = self.differences[i].context;
            if files.contains_key(&context) {
                members.entry(context).or_default().push(i);
            } else {
                top.push(i);
            }
        }
        let mut out = Vec::with_capacity(top.len());
        // Depth first without recursion: a hostile image decides how deep files nest.
        let mut stack: Vec<usize> = top.into_iter().rev().collect();
        while let Some(i) = stack.pop() {
            out.push(i);
            if let Some(inside) = self.differences[i]
                .nested
                .get()
                .and_then(|c| members.remove(&c))
            {
                stack.extend(inside.into_iter().rev());
            }
        }
        out
    }

    /// Keeps the differences at the indices of `kept`, in that order.
    fn reorder(&mut self, kept: Vec<usize>) -> Applied {
        if kept.iter().copied().eq(0..self.differences.len()) {
            return Applied::Unchanged;
        }
        let mut moved = vec![None; self.differences.len()];
        for (new, &at) in kept.iter().enumerate() {
            moved[at] = Some(new);
        }
        // Each difference's new place (those not kept after the others), reached by swaps: a million
        // differences are not copied into a second list.
        let mut dropped = kept.len()..;
        let mut place: Vec<usize> = (moved.iter())
            .map(|m| m.or_else(|| dropped.next()).unwrap_or_default())
            .collect();
        for at in 0..place.len() {
            while place[at] != at {
                let to = place[at];
                self.differences.swap(at, to);
                place.swap(at, to);
            }
        }
        self.differences.truncate(kept.len());
        self.differences.shrink_to_fit();
        let mut positions = ById::default();
        for (position, d) in self.differences.iter().enumerate() {
            positions.insert(d.id, as_u32(position));
        }
        self.positions = Positions(positions);
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
        match self.positions.0.get(id).map(|at| at as usize) {
            Some(at) if self.differences.get(at).is_some_and(|d| d.id == id) => Some(at),
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

    /// Whether a difference is about a member of a file compared inside (an archive's member).
    pub fn is_inside_a_file(&self, d: &Difference) -> bool {
        self.is_nested(d.context)
    }

    /// Whether a context is the inside of a file compared inside.
    pub fn is_nested(&self, id: ContextId) -> bool {
        self.context(id)
            .is_some_and(|c| matches!(c.kind, ContextKind::Nested { .. }))
    }

    /// For a context inside a file compared inside, the outermost such file's nested context (the
    /// inside of the layer entry the context lies in). `None` outside files.
    pub fn outermost_file(&self, id: ContextId) -> Option<ContextId> {
        self.ancestry(id)
            .filter(|c| matches!(c.kind, ContextKind::Nested { .. }))
            .last()
            .map(|c| c.id)
    }

    /// For the inside of a file (a nested context), the file as the model names it: the files it
    /// lies in, outermost first, joined by `!/` as the contexts' paths are (`srv/app.tar.gz!/lib/x.jar`).
    /// A member of it is `FILE!/MEMBER`. `None` for other contexts.
    pub fn nested_file_path(&self, id: ContextId) -> Option<String> {
        let mut files: Vec<&str> = self
            .ancestry(id)
            .map_while(|c| match &c.kind {
                ContextKind::Nested { file, .. } => Some(file.as_str()),
                _ => None,
            })
            .collect();
        if files.is_empty() {
            return None;
        }
        files.reverse();
        Some(files.join("!/"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DiffKind;

    fn difference(id: u32, context: u32) -> Difference {
        Difference {
            id: DiffId(id),
            context: ContextId(context),
            kind: DiffKind::File,
            key: format!("f{id}").into(),
            deltas: Default::default(),
            entries: Default::default(),
            origin: Default::default(),
            nested: Default::default(),
            explanations: Default::default(),
        }
    }

    fn keys(report: &Report) -> Vec<&str> {
        report.differences.iter().map(|d| d.key()).collect()
    }

    #[test]
    fn withdrawing_and_finishing_reorder_the_differences_in_place_and_say_where_each_went() {
        let mut report = Report::default();
        for (id, context) in [(0, 2), (1, 1), (2, 2), (3, 1), (4, 0), (5, 1)] {
            report.apply(Event::Provisional(difference(id, context)));
        }
        let withdrawn = report.apply(Event::Withdrawn {
            differences: vec![DiffId(2), DiffId(4)],
        });
        assert_eq!(
            withdrawn,
            Applied::Moved(vec![Some(0), Some(1), None, Some(2), None, Some(3)])
        );
        assert_eq!(keys(&report), ["f0", "f1", "f3", "f5"]);
        for id in [5, 0, 1, 3] {
            report.apply(Event::Difference(difference(
                id,
                if id == 0 { 2 } else { 1 },
            )));
        }
        let finished = report.apply(Event::Finished);
        // Context order first, then the order they were settled in.
        assert_eq!(keys(&report), ["f5", "f1", "f3", "f0"]);
        assert_eq!(
            finished,
            Applied::Moved(vec![Some(3), Some(1), Some(2), Some(0)])
        );
        assert_eq!(report.difference(DiffId(3)).map(|d| d.key()), Some("f3"));
        assert_eq!(report.differences.capacity(), 4);
    }
}
