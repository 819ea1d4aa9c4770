//! The layer phase: read every layer the comparison needs, in parallel across cores, and compare layer
//! pairs as soon as both sides are read. Blobs with equal digests and layers with equal diff_ids are not
//! read; a blob needed twice is read once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::model::{Event, Progress, Side, Sides, SkipReason};
use crate::oci::{Descriptor, Digest};

use super::MergedView;
use super::entries::{LayerEntries, compare_layer_entries, compare_merged, merge_layers};
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

type Entries = Arc<LayerEntries>;

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
            let merged = wants_merged(walker.options.merged, plan)
                && plan.layers.iter().any(|l| equal_reason(l).is_none());
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
    announce_reads(walker, &jobs);
    let results: Vec<OnceLock<Option<Entries>>> = jobs.iter().map(|_| OnceLock::new()).collect();
    let work = Work {
        walker,
        plans,
        needs: &needs,
        jobs: &jobs,
        results: &results,
        bytes_done: Arc::new(AtomicU64::new(0)),
        state: Mutex::new(Schedule::new(jobs.len())),
        wakeup: Condvar::new(),
    };
    work.execute();
}

/// Tells each input's source which of its blobs will be read, so remote ones can fetch ahead.
fn announce_reads(walker: &Walker<'_>, jobs: &[Job]) {
    for side in Side::BOTH {
        let blobs: Vec<Descriptor> = jobs
            .iter()
            .filter(|job| job.side == side)
            .map(|job| job.descriptor.clone())
            .collect();
        if !blobs.is_empty() {
            walker.images.get(side).source.prefetch(&blobs);
        }
    }
}

fn wants_merged(when: MergedView, plan: &ManifestPlan) -> bool {
    let split_differs = plan
        .layers
        .iter()
        .any(|l| l.descriptors.input0.is_none() || l.descriptors.input1.is_none());
    match when {
        MergedView::Never => false,
        MergedView::WhenLayerCountsDiffer => split_differs,
        MergedView::Always => true,
    }
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

/// A unit of work for the pool: reading a blob, or a comparison that became possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Task {
    Read(usize),
    ComparePair { plan: usize, layer: usize },
    CompareMerged { plan: usize },
}

/// The pool's shared state: queued tasks, how many are queued or running, what has been scheduled.
struct Schedule {
    queue: VecDeque<Task>,
    unfinished: usize,
    reads_done: usize,
    scheduled: HashSet<Task>,
}

impl Schedule {
    fn new(jobs: usize) -> Self {
        Schedule {
            queue: (0..jobs).map(Task::Read).collect(),
            unfinished: jobs,
            reads_done: 0,
            scheduled: HashSet::new(),
        }
    }
}

/// Reads layers and compares what can be compared, on a pool of threads: a layer pair as soon as both
/// sides are read, a merged view as soon as all of its manifest's layers are. Comparisons are tasks like
/// reads, so they run on whichever core is free.
struct Work<'w, 'a> {
    walker: &'w Walker<'a>,
    plans: &'w [ManifestPlan],
    needs: &'w [Vec<Need>],
    jobs: &'w [Job],
    results: &'w [OnceLock<Option<Entries>>],
    bytes_done: Arc<AtomicU64>,
    state: Mutex<Schedule>,
    wakeup: Condvar,
}

impl Work<'_, '_> {
    fn execute(&self) {
        let workers = self.walker.options.jobs.max(1);
        self.emit_progress(0);
        let (tick_tx, tick_rx) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tick_tx = tick_tx.clone();
                scope.spawn(move || {
                    while let Some(task) = self.next_task() {
                        self.run(task);
                        self.finish(task);
                        let _ = tick_tx.send(());
                    }
                });
            }
            drop(tick_tx);
            // Progress also moves inside a long read: report it a few times a second until every
            // worker has left (their senders are then gone).
            loop {
                match tick_rx.recv_timeout(Duration::from_millis(250)) {
                    Ok(()) => {}
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.emit_progress(self.lock().reads_done)
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next task, waiting while others run that may enable more; `None` when all is done.
    fn next_task(&self) -> Option<Task> {
        let mut state = self.lock();
        loop {
            if let Some(task) = state.queue.pop_front() {
                return Some(task);
            }
            if state.unfinished == 0 {
                return None;
            }
            state = self
                .wakeup
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn run(&self, task: Task) {
        match task {
            Task::Read(job) => {
                let entries = read_job(self.walker, &self.jobs[job], Arc::clone(&self.bytes_done));
                let _ = self.results[job].set(entries);
            }
            Task::ComparePair { plan, layer } => self.compare_pair(plan, layer),
            Task::CompareMerged { plan } => self.compare_merged(plan),
        }
    }

    /// Marks a task done and queues the comparisons it made possible.
    fn finish(&self, task: Task) {
        let mut state = self.lock();
        if let Task::Read(_) = task {
            state.reads_done += 1;
            let done = state.reads_done;
            drop(state);
            self.emit_progress(done);
            state = self.lock();
            for follow_up in self.ready_comparisons() {
                if state.scheduled.insert(follow_up) {
                    state.queue.push_back(follow_up);
                    state.unfinished += 1;
                }
            }
        }
        state.unfinished -= 1;
        drop(state);
        self.wakeup.notify_all();
    }

    fn ready_comparisons(&self) -> Vec<Task> {
        let mut ready = Vec::new();
        for (p, plan_needs) in self.needs.iter().enumerate() {
            for (l, need) in plan_needs.iter().enumerate() {
                if let Need::Pair(a, b) = *need
                    && self.ready(a)
                    && self.ready(b)
                {
                    ready.push(Task::ComparePair { plan: p, layer: l });
                }
            }
            if wants_merged(self.walker.options.merged, &self.plans[p]) && self.merged_ready(p) {
                ready.push(Task::CompareMerged { plan: p });
            }
        }
        ready
    }

    fn emit_progress(&self, reads_done: usize) {
        let bytes_total: u64 = self.jobs.iter().map(|j| j.descriptor.size).sum();
        self.walker.sink.emit(Event::Progress(Progress {
            layers_done: reads_done,
            layers_total: self.jobs.len(),
            bytes_done: self.bytes_done.load(Ordering::Relaxed).min(bytes_total),
            bytes_total,
        }));
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

    fn compare_pair(&self, plan: usize, layer_index: usize) {
        let layer = &self.plans[plan].layers[layer_index];
        let Need::Pair(a, b) = self.needs[plan][layer_index] else {
            return;
        };
        let (Some(x), Some(y)) = (self.entries(a), self.entries(b)) else {
            return;
        };
        let empty = LayerEntries::default();
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
        let merged = layers
            .as_ref()
            .map(|l| merge_layers(l.iter().map(|e| e.as_ref())));
        let context = self.plans[p].merged_context;
        let include_unchanged = self.walker.options.include_unchanged;
        for difference in compare_merged(context, &merged.input0, &merged.input1, include_unchanged)
        {
            self.walker.emit_difference(difference);
        }
    }
}

fn read_job(walker: &Walker<'_>, job: &Job, bytes_done: Arc<AtomicU64>) -> Option<Entries> {
    let source = walker.images.get(job.side).source.as_ref();
    match scan_layer(
        source,
        &job.descriptor,
        job.diff_id.as_ref(),
        Some(bytes_done),
        &walker.options.read_limits,
    ) {
        Ok(scan) => {
            for warning in scan.warnings {
                let spec = &walker.images.get(job.side).spec;
                walker.warn(
                    None,
                    format!("input {} ({spec}): {warning}", job.side.index()),
                );
            }
            Some(Arc::new(LayerEntries::new(scan.entries)))
        }
        Err(error) => {
            let error = walker.blob_error(job.side, "layer", &job.descriptor, &job.path, error);
            walker.error(None, error.to_string());
            None
        }
    }
}
