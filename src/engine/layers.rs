//! The layer phase: read every layer the comparison needs, in parallel across cores, and compare layer
//! pairs as soon as both sides are read. Blobs with equal digests and layers with equal diff_ids are not
//! read; a blob needed twice is read once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::model::{EntryMeta, Event, Progress, Side, Sides, SkipReason};
use crate::oci::{Descriptor, Digest};

use super::entries::{compare_layer_entries, compare_merged, merge_layers};
use super::layer::scan_layer;
use super::walk::{LayerPlan, ManifestPlan, Walker};

/// One blob to read.
struct Job {
    side: Side,
    descriptor: Descriptor,
    diff_id: Option<Digest>,
    /// Where the blob is first used, for error messages.
    path: String,
}

type Entries = Arc<Vec<EntryMeta>>;

/// How each layer position of a manifest pair gets its entries.
#[derive(Clone, Copy)]
enum Need {
    /// Equal on both sides, not needed by any view.
    Skip(SkipReason),
    /// Equal on both sides but needed by the merged view: read one copy.
    Shared(SkipReason, usize),
    /// Different: one job per present side.
    Pair(Option<usize>, Option<usize>),
}

pub fn run(walker: &Walker<'_>, plans: &[ManifestPlan]) {
    let mut jobs: Vec<Job> = Vec::new();
    let mut by_digest: HashMap<Digest, usize> = HashMap::new();
    let mut job_for = |side: Side, layer: &LayerPlan| -> Option<usize> {
        let descriptor = layer.descriptors.get(side).clone()?;
        let id = *by_digest
            .entry(descriptor.digest.clone())
            .or_insert_with(|| {
                let diff_id = layer.diff_ids.get(side).clone();
                jobs.push(Job {
                    side,
                    descriptor,
                    diff_id,
                    path: layer.path.clone(),
                });
                jobs.len() - 1
            });
        Some(id)
    };
    let needs: Vec<Vec<Need>> = plans
        .iter()
        .map(|plan| {
            let merged =
                walker.options.merged && plan.layers.iter().any(|l| equal_reason(l).is_none());
            plan.layers
                .iter()
                .map(|layer| match equal_reason(layer) {
                    Some(reason) if merged => {
                        Need::Shared(reason, job_for(Side::Input0, layer).unwrap_or(0))
                    }
                    Some(reason) => Need::Skip(reason),
                    None => Need::Pair(job_for(Side::Input0, layer), job_for(Side::Input1, layer)),
                })
                .collect()
        })
        .collect();
    for (plan, plan_needs) in plans.iter().zip(&needs) {
        for (layer, need) in plan.layers.iter().zip(plan_needs) {
            if let Need::Skip(reason) | Need::Shared(reason, _) = need {
                walker.sink.emit(Event::LayerSkipped {
                    context: layer.context,
                    reason: *reason,
                });
            }
        }
    }
    let results: Vec<OnceLock<Option<Entries>>> = jobs.iter().map(|_| OnceLock::new()).collect();
    let mut coordinator = Coordinator {
        walker,
        plans,
        needs: &needs,
        results: &results,
        pairs_done: HashMap::new(),
        merged_done: vec![false; plans.len()],
    };
    execute(walker, &jobs, &results, |done| {
        coordinator.on_job_done(done)
    });
}

/// Why a layer pair needs no reading, if it does not.
fn equal_reason(layer: &LayerPlan) -> Option<SkipReason> {
    let (a, b) = (
        layer.descriptors.input0.as_ref()?,
        layer.descriptors.input1.as_ref()?,
    );
    if a.digest == b.digest {
        return Some(SkipReason::EqualDigest);
    }
    match (&layer.diff_ids.input0, &layer.diff_ids.input1) {
        (Some(x), Some(y)) if x == y => Some(SkipReason::EqualDiffId),
        _ => None,
    }
}

/// Runs the jobs on a pool of threads; `on_done` runs on this thread after each job, in completion order.
fn execute(
    walker: &Walker<'_>,
    jobs: &[Job],
    results: &[OnceLock<Option<Entries>>],
    mut on_done: impl FnMut(usize),
) {
    let bytes_total: u64 = jobs.iter().map(|j| j.descriptor.size).sum();
    let bytes_done = Arc::new(AtomicU64::new(0));
    let next_job = AtomicUsize::new(0);
    let workers = walker.options.jobs.max(1).min(jobs.len().max(1));
    let (done_tx, done_rx) = mpsc::channel::<usize>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (next_job, bytes_done) = (&next_job, Arc::clone(&bytes_done));
            scope.spawn(move || {
                while let Some(job_id) = claim(next_job, jobs.len()) {
                    let entries = read_job(walker, &jobs[job_id], Arc::clone(&bytes_done));
                    let _ = results[job_id].set(entries);
                    if done_tx.send(job_id).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut finished = 0;
        let progress = |finished| Progress {
            layers_done: finished,
            layers_total: jobs.len(),
            bytes_done: bytes_done.load(Ordering::Relaxed).min(bytes_total),
            bytes_total,
        };
        walker.sink.emit(Event::Progress(progress(0)));
        loop {
            match done_rx.recv_timeout(Duration::from_millis(250)) {
                Ok(job_id) => {
                    finished += 1;
                    walker.sink.emit(Event::Progress(progress(finished)));
                    on_done(job_id);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    walker.sink.emit(Event::Progress(progress(finished)))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
}

fn claim(next: &AtomicUsize, len: usize) -> Option<usize> {
    let id = next.fetch_add(1, Ordering::Relaxed);
    (id < len).then_some(id)
}

fn read_job(walker: &Walker<'_>, job: &Job, bytes_done: Arc<AtomicU64>) -> Option<Entries> {
    let source = walker.images.get(job.side).source.as_ref();
    match scan_layer(
        source,
        &job.descriptor,
        job.diff_id.as_ref(),
        Some(bytes_done),
    ) {
        Ok(scan) => {
            for warning in scan.warnings {
                walker.warn(
                    None,
                    format!(
                        "input {} ({}): {warning}",
                        job.side.index(),
                        walker.images.get(job.side).spec
                    ),
                );
            }
            Some(Arc::new(scan.entries))
        }
        Err(error) => {
            let error = walker.blob_error(job.side, "layer", &job.descriptor, &job.path, error);
            walker.error(None, error.to_string());
            None
        }
    }
}

/// Compares what can be compared as jobs finish: a layer pair once both its sides are read, a merged
/// view once all of its manifest's layers are.
struct Coordinator<'w, 'a> {
    walker: &'w Walker<'a>,
    plans: &'w [ManifestPlan],
    needs: &'w [Vec<Need>],
    results: &'w [OnceLock<Option<Entries>>],
    pairs_done: HashMap<(usize, usize), ()>,
    merged_done: Vec<bool>,
}

impl Coordinator<'_, '_> {
    fn on_job_done(&mut self, _job: usize) {
        for (p, plan) in self.plans.iter().enumerate() {
            for (l, layer) in plan.layers.iter().enumerate() {
                if let Need::Pair(a, b) = self.needs[p][l]
                    && !self.pairs_done.contains_key(&(p, l))
                    && self.ready(a)
                    && self.ready(b)
                {
                    self.pairs_done.insert((p, l), ());
                    self.compare_pair(layer, a, b);
                }
            }
            if !self.merged_done[p] && self.walker.options.merged && self.merged_ready(p) {
                self.merged_done[p] = true;
                self.compare_merged(p);
            }
        }
    }

    fn ready(&self, job: Option<usize>) -> bool {
        job.is_none_or(|j| self.results[j].get().is_some())
    }

    fn entries(&self, job: Option<usize>) -> Option<Option<Entries>> {
        match job {
            None => Some(None),
            Some(j) => self.results[j].get()?.clone().map(Some),
        }
    }

    fn compare_pair(&self, layer: &LayerPlan, a: Option<usize>, b: Option<usize>) {
        let (Some(x), Some(y)) = (self.entries(a), self.entries(b)) else {
            return;
        };
        let empty = Vec::new();
        let (xs, ys) = (
            x.as_deref().unwrap_or(&empty),
            y.as_deref().unwrap_or(&empty),
        );
        let include_unchanged = self.walker.options.include_unchanged;
        for difference in compare_layer_entries(layer.context, xs, ys, include_unchanged) {
            self.walker.emit_difference(difference);
        }
        let counts = Sides::new(x.map(|e| e.len()), y.map(|e| e.len()));
        self.walker.sink.emit(Event::LayerCompared {
            context: layer.context,
            entries: counts,
        });
    }

    fn merged_ready(&self, p: usize) -> bool {
        self.needs[p].iter().all(|need| match *need {
            Need::Skip(_) => true,
            Need::Shared(_, job) => self.ready(Some(job)),
            Need::Pair(a, b) => self.ready(a) && self.ready(b),
        })
    }

    fn compare_merged(&self, p: usize) {
        if self.needs[p].iter().all(|n| matches!(n, Need::Skip(_))) {
            return;
        }
        let mut layers: Sides<Vec<Entries>> = Sides::default();
        for need in &self.needs[p] {
            let jobs = match *need {
                Need::Skip(_) => return,
                Need::Shared(_, job) => Sides::new(Some(job), Some(job)),
                Need::Pair(a, b) => Sides::new(a, b),
            };
            for side in Side::BOTH {
                match self.entries(*jobs.get(side)) {
                    Some(Some(entries)) => layers.get_mut(side).push(entries),
                    Some(None) => {}
                    None => return, // a layer failed to read; its error was reported
                }
            }
        }
        let merged = layers.map(|l| merge_layers(l.iter().map(|e| e.as_slice())));
        let context = self.plans[p].merged_context;
        let include_unchanged = self.walker.options.include_unchanged;
        for difference in compare_merged(context, &merged.input0, &merged.input1, include_unchanged)
        {
            self.walker.emit_difference(difference);
        }
    }
}
