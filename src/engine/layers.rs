//! The layer phase: read every layer the comparison needs, in parallel across cores, and compare layer
//! pairs as soon as both sides are read. A pair with equal blob digests is the same bytes and is not
//! read, only checked to be there (see [`super::presence`]); a pair of different blobs whose configs
//! claim the same diff_id is read to prove it, each side only hashed unless a view needs its entries.
//! A blob needed twice is read once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use crate::model::{DiffId, Difference, EntryMeta, Event, LayerProof, Progress, Side, Sides};
use crate::oci::{BlobKind, Descriptor, Digest};
use crate::packages::Inventory;

use super::blob::{check_stored, verify_blob};
use super::entries::{LayerEntries, compare_merged, layer_entry_differences, merge_layers};
use super::error::BlobError;
use super::findings::{self, Candidate, Candidates, EntryAt, PackagesRead, ReadLayers};
use super::held::{HeldContent, HeldContents, HeldWriter};
use super::layer::{
    Capture, ContentVisitor, EntryObserver, LayerScan, extract_from_layer, scan_layer, verify_layer,
};
use super::live::{LivePair, ProvisionalIds, pairing_of};
use super::presence::UnreadBlob;
use super::walk::{LayerPlan, ManifestPlan, Walker};
use super::{MergedView, lock};

/// One blob to read.
struct Job {
    side: Side,
    descriptor: Descriptor,
    diff_id: Option<Digest>,
    /// Where the blob is first used, for error messages.
    path: String,
    read: ReadKind,
    /// Whether failing to read it is an error; for an attestation's blobs it is a warning.
    required: bool,
}

/// What reading a blob must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadKind {
    /// Only the proof that its bytes (and its uncompressed tar, for a layer with a diff_id) are what
    /// its descriptor and config say.
    Verify,
    /// That proof and the layer's entries.
    List,
}

/// What a finished read gave.
enum Outcome {
    /// It failed; the error has been reported.
    Failed,
    Verified,
    Listed(Entries),
}

type Entries = Arc<LayerEntries>;

/// How each layer position of a manifest pair is settled.
#[derive(Clone, Copy)]
enum Need {
    /// Equal blob digests: the same bytes, equal without reading. `shared` reads one copy when the
    /// merged view needs its entries.
    SameBlob { shared: Option<usize> },
    /// Different blobs whose configs claim the same diff_id: both are read to prove it, the first
    /// listing its entries if the merged view needs them.
    ClaimedEqual(usize, usize),
    /// Different: one job per present side.
    Pair(Option<usize>, Option<usize>),
}

impl Need {
    /// The job whose listing gives `side`'s entries of this layer, if one lists it.
    fn listing(&self, side: Side) -> Option<usize> {
        match *self {
            Need::Pair(a, b) => *Sides::new(a, b).get(side),
            Need::ClaimedEqual(a, _) => Some(a),
            Need::SameBlob { shared } => shared,
        }
    }

    /// The jobs that must be done before `side`'s entries of this layer are known: for a claimed
    /// equal pair, both sides' proofs.
    fn side_jobs(&self, side: Side) -> impl Iterator<Item = usize> {
        let both = match *self {
            Need::ClaimedEqual(a, b) => [Some(a), Some(b)],
            _ => [self.listing(side), None],
        };
        both.into_iter().flatten()
    }
}

/// What the manifests and configs say about a layer pair.
enum Claim<'l> {
    SameBlob,
    SameDiffId(Sides<&'l Descriptor>, &'l Digest),
    Different,
}

/// The blobs to read: one job per blob of each side (and diff_id it is checked against).
#[derive(Default)]
struct Jobs {
    all: Vec<Job>,
    by_blob: HashMap<(Side, Digest, Option<Digest>), usize>,
}

impl Jobs {
    fn add(
        &mut self,
        side: Side,
        descriptor: &Descriptor,
        diff_id: Option<&Digest>,
        path: &str,
    ) -> usize {
        let key = (side, descriptor.digest.clone(), diff_id.cloned());
        if let Some(&id) = self.by_blob.get(&key) {
            return id;
        }
        self.all.push(Job {
            side,
            descriptor: descriptor.clone(),
            diff_id: diff_id.cloned(),
            path: path.to_owned(),
            read: ReadKind::Verify,
            required: true,
        });
        self.by_blob.insert(key, self.all.len() - 1);
        self.all.len() - 1
    }

    /// A job that lists the layer's entries.
    fn listing(&mut self, side: Side, layer: &LayerPlan) -> Option<usize> {
        let descriptor = layer.descriptors.get(side).as_ref()?;
        let id = self.add(
            side,
            descriptor,
            layer.diff_ids.get(side).as_ref(),
            &layer.path,
        );
        self.all[id].read = ReadKind::List;
        Some(id)
    }

    fn reads(&self, side: Side, digest: &Digest) -> bool {
        self.all
            .iter()
            .any(|job| job.side == side && job.descriptor.digest == *digest)
    }
}

pub(super) fn run(walker: &Walker<'_>, plans: &[ManifestPlan]) -> Leftovers {
    let mut jobs = Jobs::default();
    let mut unread = walker.unread.take();
    let needs: Vec<Vec<Need>> = plans
        .iter()
        .map(|plan| plan_needs(walker, plan, &mut jobs, &mut unread))
        .collect();
    check_unread(walker, unread, &mut jobs);
    for (plan, plan_needs) in plans.iter().zip(&needs) {
        for (layer, need) in plan.layers.iter().zip(plan_needs) {
            if let Need::SameBlob { .. } = need {
                walker.sink.emit(Event::LayerEqual {
                    context: layer.context,
                    proof: LayerProof::SameDigest,
                });
            }
        }
    }
    let jobs = jobs.all;
    announce_reads(walker, &jobs);
    let results: Vec<OnceLock<Outcome>> = jobs.iter().map(|_| OnceLock::new()).collect();
    let options = walker.options;
    let wants = findings::capture_wants(options.catalogue.as_deref(), options.packages);
    let spool = options.content_spool.as_deref();
    let capture = Capture {
        wants: &wants,
        spool,
    };
    let capturing = options.catalogue.is_some() || options.packages || spool.is_some();
    let mut work = Work {
        walker,
        plans,
        needs: &needs,
        jobs: &jobs,
        results: &results,
        bytes_done: Arc::new(AtomicU64::new(0)),
        state: Mutex::new(Schedule::new(jobs.len())),
        wakeup: Condvar::new(),
        capture: capturing.then_some(&capture),
        candidates: Candidates::default(),
        unlisted: Mutex::new(HashMap::new()),
        live: LivePairs::plan(walker, plans, &needs, jobs.len()),
        packages: PackagesRead::new(plans.len()),
    };
    work.execute();
    findings::run(walker, &work, &work.candidates);
    let packages = std::mem::take(&mut work.packages);
    drop(work);
    Leftovers {
        _results: results,
        _packages: packages,
    }
}

/// What the comparison read (every layer's entries, both images' packages), handed back to be freed
/// after its end is reported: freeing a big layer's entries takes milliseconds no caller need wait for.
pub(super) struct Leftovers {
    _results: Vec<OnceLock<Outcome>>,
    _packages: PackagesRead,
}

/// How each layer pair of a manifest pair is settled, adding the jobs that reads need; the blobs of
/// equal pairs go to `unread`, to be checked.
fn plan_needs(
    walker: &Walker<'_>,
    plan: &ManifestPlan,
    jobs: &mut Jobs,
    unread: &mut Vec<UnreadBlob>,
) -> Vec<Need> {
    let merged = wants_merged(walker.options.merged, plan)
        && plan
            .layers
            .iter()
            .any(|l| matches!(claim(l), Claim::Different));
    let mut need = |layer: &LayerPlan| match claim(layer) {
        Claim::SameBlob => {
            let shared = if merged {
                jobs.listing(Side::Input0, layer)
            } else {
                None
            };
            unread.extend(
                Side::BOTH
                    .into_iter()
                    .filter_map(|side| unread_layer(side, layer)),
            );
            Need::SameBlob { shared }
        }
        Claim::SameDiffId(descriptors, diff_id) => {
            let [a, b] = [Side::Input0, Side::Input1]
                .map(|side| jobs.add(side, descriptors.get(side), Some(diff_id), &layer.path));
            if merged {
                jobs.all[a].read = ReadKind::List;
            }
            Need::ClaimedEqual(a, b)
        }
        Claim::Different => Need::Pair(
            jobs.listing(Side::Input0, layer),
            jobs.listing(Side::Input1, layer),
        ),
    };
    plan.layers.iter().map(&mut need).collect()
}

fn unread_layer(side: Side, layer: &LayerPlan) -> Option<UnreadBlob> {
    Some(UnreadBlob {
        side,
        what: "layer",
        descriptor: layer.descriptors.get(side).clone()?,
        diff_id: layer.diff_ids.get(side).clone(),
        path: layer.path.clone(),
        required: true,
    })
}

/// Checks each blob the comparison does not read, once: that it is there with its descriptor's
/// size, or with `--verify` by reading it (layers are then read with the other jobs).
fn check_unread(walker: &Walker<'_>, unread: Vec<UnreadBlob>, jobs: &mut Jobs) {
    let mut checked = HashSet::new();
    for blob in unread {
        let (side, desc) = (blob.side, &blob.descriptor);
        if matches!(desc.kind(), BlobKind::ForeignLayer(_))
            || jobs.reads(side, &desc.digest)
            || !checked.insert((side, desc.digest.clone()))
        {
            continue;
        }
        if walker.options.verify && blob.what == "layer" {
            let id = jobs.add(side, desc, blob.diff_id.as_ref(), &blob.path);
            jobs.all[id].required = blob.required;
            continue;
        }
        let source = walker.images.get(side).source.as_ref();
        if let Err(error) = check_stored(source, desc) {
            let error = walker.blob_error(side, blob.what, desc, &blob.path, error);
            match blob.required {
                true => walker.error(None, error.to_string()),
                false => walker.warn(None, error.to_string()),
            }
        }
    }
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

/// Whether a layer pair can be settled without comparing entries. Equal digests are the same bytes;
/// equal diff_ids are only a claim, to be proven by reading both blobs. (A foreign layer's blob is
/// not in the image: nothing can prove it.)
fn claim(layer: &LayerPlan) -> Claim<'_> {
    let (Some(a), Some(b)) = (&layer.descriptors.input0, &layer.descriptors.input1) else {
        return Claim::Different;
    };
    if a.digest == b.digest {
        return Claim::SameBlob;
    }
    let foreign = [a, b]
        .iter()
        .any(|d| matches!(d.kind(), BlobKind::ForeignLayer(_)));
    match (&layer.diff_ids.input0, &layer.diff_ids.input1) {
        (Some(x), Some(y)) if x == y && !foreign => Claim::SameDiffId(Sides::new(a, b), x),
        _ => Claim::Different,
    }
}

/// A unit of work for the pool: reading a blob, or a comparison that became possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Task {
    Read(usize),
    ComparePair {
        plan: usize,
        layer: usize,
    },
    CompareMerged {
        plan: usize,
    },
    /// One image's packages, read as soon as its layers are: while the other image's layers are still
    /// read, or beside the last comparison, instead of after every layer.
    Inventory {
        plan: usize,
        side: Side,
    },
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
    results: &'w [OnceLock<Outcome>],
    bytes_done: Arc<AtomicU64>,
    state: Mutex<Schedule>,
    wakeup: Condvar,
    /// The contents scans keep (package databases, texts the rules read), if any.
    capture: Option<&'w Capture<'w>>,
    /// File differences whose packages and insides are looked at once every layer is read.
    candidates: Candidates,
    /// Layers equal on both sides that the comparison did not list, listed for the findings.
    unlisted: Mutex<HashMap<Digest, Option<Entries>>>,
    live: LivePairs,
    /// Each image's packages, read by a [`Task::Inventory`] or when the findings ask for them.
    packages: PackagesRead,
}

/// The layer pairs whose two sides are read: what is found in them while they are read, the
/// differences ([`super::Options::provisional`]) and the contents held for the findings.
#[derive(Default)]
struct LivePairs {
    /// By pair, if differences are reported while they are read.
    pairs: Vec<LivePair>,
    /// The contents of files that hold files, kept to compare inside them (when that is done).
    held: Option<HeldContents>,
    /// By (plan, layer).
    of_layer: HashMap<(usize, usize), usize>,
    /// Per read job: the pairs it is a side of.
    of_job: Vec<Vec<(usize, Side)>>,
}

impl LivePairs {
    fn plan(walker: &Walker<'_>, plans: &[ManifestPlan], needs: &[Vec<Need>], jobs: usize) -> Self {
        let mut live = LivePairs {
            of_job: vec![Vec::new(); jobs],
            ..LivePairs::default()
        };
        let options = walker.options;
        for (p, (plan, plan_needs)) in plans.iter().zip(needs).enumerate() {
            for (l, (layer, need)) in plan.layers.iter().zip(plan_needs).enumerate() {
                let Need::Pair(a, b) = *need else { continue };
                let at = live.of_layer.len();
                if options.provisional {
                    let present = Sides::new(a.is_some(), b.is_some());
                    let pair = LivePair::new(layer.context, options.include_unchanged, present);
                    live.pairs.push(pair);
                }
                live.of_layer.insert((p, l), at);
                for (job, side) in [(a, Side::Input0), (b, Side::Input1)] {
                    if let Some(job) = job {
                        live.of_job[job].push((at, side));
                    }
                }
            }
        }
        let nested = options.nested;
        let hold = options.hold_contents && nested.depth > 0 && nested.bytes > 0;
        live.held = (hold && !live.of_layer.is_empty())
            .then(|| HeldContents::new(live.of_layer.len(), nested.bytes));
        live
    }

    /// `job` was read to its end or failed.
    fn job_done(&self, job: usize, listed: bool, emit: impl Fn(Difference) -> DiffId) {
        for &(pair, side) in &self.of_job[job] {
            if let Some(held) = &self.held {
                held.side_complete(pair, side);
            }
            if let (true, Some(live)) = (listed, self.pairs.get(pair)) {
                live.side_complete(side, &emit);
            }
        }
    }
}

/// Hands the entries a read job reads to the layer pairs it is a side of.
struct JobObserver<'o, 'w, 'a> {
    work: &'o Work<'w, 'a>,
    job: usize,
}

impl EntryObserver for JobObserver<'_, '_, '_> {
    fn hold(&self, path: &str, size: u64) -> Option<HeldWriter> {
        let live = &self.work.live;
        live.held.as_ref()?.hold(&live.of_job[self.job], path, size)
    }

    fn entry(&self, entry: &EntryMeta, content: Option<HeldContent>) {
        let live = &self.work.live;
        let content = content.map(Arc::new);
        for &(pair, side) in &live.of_job[self.job] {
            if let Some(pair) = live.pairs.get(pair) {
                pair.entry(side, entry, |d| self.work.provisional(d));
            }
            if let (Some(held), Some(_)) = (&live.held, entry.nested()) {
                let at = EntryAt {
                    job: self.job,
                    index: entry.index(),
                };
                held.entry(pair, side, at, entry, content.clone());
            }
        }
    }
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
        lock(&self.state)
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
                let observer = JobObserver { work: self, job };
                let live = !self.live.of_job[job].is_empty();
                let outcome = read_job(
                    self.walker,
                    &self.jobs[job],
                    Arc::clone(&self.bytes_done),
                    self.capture,
                    live.then_some(&observer as &dyn EntryObserver),
                );
                let listed = matches!(outcome, Outcome::Listed(_));
                self.live.job_done(job, listed, |d| self.provisional(d));
                let _ = self.results[job].set(outcome);
            }
            Task::ComparePair { plan, layer } => self.compare_pair(plan, layer),
            Task::CompareMerged { plan } => self.compare_merged(plan),
            Task::Inventory { plan, side } => {
                self.inventory(plan, side);
            }
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
                let both_read = match *need {
                    Need::Pair(a, b) => self.ready(a) && self.ready(b),
                    Need::ClaimedEqual(a, b) => self.ready(Some(a)) && self.ready(Some(b)),
                    Need::SameBlob { .. } => false,
                };
                if both_read {
                    ready.push(Task::ComparePair { plan: p, layer: l });
                }
            }
            if wants_merged(self.walker.options.merged, &self.plans[p]) && self.merged_ready(p) {
                ready.push(Task::CompareMerged { plan: p });
            }
            if self.walker.options.packages
                && plan_needs.iter().any(|n| matches!(n, Need::Pair(..)))
            {
                let read = |side| {
                    plan_needs
                        .iter()
                        .all(|need| need.side_jobs(side).all(|j| self.ready(Some(j))))
                };
                ready.extend(
                    Side::BOTH
                        .into_iter()
                        .filter(|&side| read(side))
                        .map(|side| Task::Inventory { plan: p, side }),
                );
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

    /// A side's entries: `Some(None)` for an absent side, `None` if its read failed.
    fn entries(&self, job: Option<usize>) -> Option<Option<Entries>> {
        match job {
            None => Some(None),
            Some(j) => match self.results[j].get()? {
                Outcome::Listed(entries) => Some(Some(entries.clone())),
                Outcome::Verified | Outcome::Failed => None,
            },
        }
    }

    fn succeeded(&self, job: usize) -> bool {
        matches!(
            self.results[job].get(),
            Some(Outcome::Verified | Outcome::Listed(_))
        )
    }

    fn compare_pair(&self, plan: usize, layer_index: usize) {
        let layer = &self.plans[plan].layers[layer_index];
        match self.needs[plan][layer_index] {
            Need::Pair(a, b) => self.compare_entries(plan, layer_index, a, b),
            Need::ClaimedEqual(a, b) if self.succeeded(a) && self.succeeded(b) => {
                self.walker.sink.emit(Event::LayerEqual {
                    context: layer.context,
                    proof: LayerProof::ContentVerified,
                });
            }
            Need::ClaimedEqual(..) | Need::SameBlob { .. } => {}
        }
    }

    /// A provisional difference found while its layer pair is read, explained by the rules that need
    /// no content (the layer's end explains it again with the texts kept).
    fn provisional(&self, mut difference: Difference) -> DiffId {
        if let Some(catalogue) = &self.walker.options.catalogue {
            findings::explain_by_rules(catalogue, &mut difference, Sides::default());
        }
        self.walker.emit_provisional(difference)
    }

    /// The layer pair's end: the provisional differences found while it was read, by the entries
    /// they pair, to be settled.
    fn settle_live(&self, plan: usize, layer: usize) -> ProvisionalIds {
        let live = self.live.of_layer.get(&(plan, layer));
        live.and_then(|&at| self.live.pairs.get(at))
            .map(LivePair::settle)
            .unwrap_or_default()
    }

    fn compare_entries(&self, plan: usize, layer_index: usize, a: Option<usize>, b: Option<usize>) {
        let layer = &self.plans[plan].layers[layer_index];
        let mut provisional = self.settle_live(plan, layer_index);
        let (Some(x), Some(y)) = (self.entries(a), self.entries(b)) else {
            self.withdraw(provisional.into_remaining());
            return;
        };
        let empty = LayerEntries::default();
        let (xs, ys) = (
            x.as_deref().unwrap_or(&empty),
            y.as_deref().unwrap_or(&empty),
        );
        let include_unchanged = self.walker.options.include_unchanged;
        for difference in layer_entry_differences(layer.context, xs, ys, include_unchanged) {
            let layers = Sides::new((a, xs), (b, ys));
            let settles = (difference.entries.as_ref()).and_then(|entries| {
                provisional.take(pairing_of(entries.as_ref().map(Option::as_ref)))
            });
            self.found(plan, difference, settles, |side| {
                let (job, entries) = *layers.get(side);
                Some((job?, entries))
            });
        }
        // A provisional difference the whole layer does not confirm (none is expected).
        self.withdraw(provisional.into_remaining());
        let counts = Sides::new(x.map(|e| e.len()), y.map(|e| e.len()));
        self.walker.sink.emit(Event::LayerCompared {
            context: layer.context,
            entries: counts,
        });
    }

    fn withdraw(&self, mut differences: Vec<DiffId>) {
        if !differences.is_empty() {
            differences.sort();
            self.walker.sink.emit(Event::Withdrawn { differences });
        }
    }

    /// A difference found: explained by the catalogue's rules (reading the texts the scans kept),
    /// emitted (settling the provisional difference `settles`, if any), and kept for the findings if
    /// it is a file that came, went or changed content. `layer` gives each side's read job and
    /// entries.
    fn found<'l>(
        &self,
        plan: usize,
        mut difference: Difference,
        settles: Option<DiffId>,
        layer: impl Fn(Side) -> Option<(usize, &'l LayerEntries)>,
    ) {
        let at = Sides::from_fn(|side| {
            let (job, entries) = layer(side)?;
            let entry = difference.entries.as_ref()?.get(side).as_ref()?;
            Some((job, entries, entry.index()))
        });
        if let Some(catalogue) = &self.walker.options.catalogue {
            let texts = at.map(|a| a.and_then(|(_, entries, index)| entries.captured_whole(index)));
            findings::explain_by_rules(catalogue, &mut difference, texts);
        }
        let at = at.map(|a| a.map(|(job, _, index)| EntryAt { job, index }));
        let candidate = Candidate::of(&difference, plan, at);
        let id = self.walker.settle_difference(difference, settles);
        if let Some(mut candidate) = candidate {
            candidate.id = id;
            self.candidates.push(candidate);
        }
    }

    /// A layer equal on both sides that was not listed, listed now (once per blob).
    fn list_unlisted(&self, side: Side, layer: &LayerPlan) -> Option<Entries> {
        let descriptor = layer.descriptors.get(side).as_ref()?;
        let mut unlisted = lock(&self.unlisted);
        if let Some(done) = unlisted.get(&descriptor.digest) {
            return done.clone();
        }
        let source = self.walker.images.get(side).source.as_ref();
        // A layer both images share is read for its package databases when that is a local read;
        // it is not downloaded for them (the merged view, which lists every layer, has them).
        if !matches!(source.stat(&descriptor.digest), Ok(Some(_))) {
            unlisted.insert(descriptor.digest.clone(), None);
            return None;
        }
        let limits = &self.walker.options.read_limits;
        let diff_id = layer.diff_ids.get(side).as_ref();
        let scan = scan_layer(
            source,
            descriptor,
            diff_id,
            None,
            limits,
            self.capture,
            None,
        );
        let entries = match scan {
            Ok(scan) => Some(Arc::new(
                LayerEntries::new(scan.entries).with_captured(scan.captured),
            )),
            Err(error) => {
                let error = self
                    .walker
                    .blob_error(side, "layer", descriptor, &layer.path, error);
                self.walker
                    .warn(None, format!("packages not read: {error}"));
                None
            }
        };
        unlisted.insert(descriptor.digest.clone(), entries.clone());
        entries
    }

    fn merged_ready(&self, p: usize) -> bool {
        self.needs[p].iter().all(|need| match *need {
            Need::SameBlob { shared } => self.ready(shared),
            Need::ClaimedEqual(a, b) => self.ready(Some(a)) && self.ready(Some(b)),
            Need::Pair(a, b) => self.ready(a) && self.ready(b),
        })
    }

    fn compare_merged(&self, p: usize) {
        let mut layers: Sides<Vec<(usize, Entries)>> = Sides::default();
        for need in &self.needs[p] {
            let jobs = match *need {
                Need::SameBlob { shared: None } => return, // no layer differs: nothing to merge
                Need::SameBlob { shared: Some(job) } => Sides::new(Some(job), Some(job)),
                // Proven the same content: the listed side stands for both.
                Need::ClaimedEqual(a, b) if self.succeeded(b) => Sides::new(Some(a), Some(a)),
                Need::ClaimedEqual(..) => return, // the proof failed; its error was reported
                Need::Pair(a, b) => Sides::new(a, b),
            };
            for side in Side::BOTH {
                match (self.entries(*jobs.get(side)), *jobs.get(side)) {
                    (Some(Some(entries)), Some(job)) => layers.get_mut(side).push((job, entries)),
                    (Some(_), _) => {}
                    (None, _) => return, // a layer failed to read; its error was reported
                }
            }
        }
        let merged = layers
            .as_ref()
            .map(|l| merge_layers(l.iter().map(|(_, e)| e.as_ref())));
        let context = self.plans[p].merged_context;
        let include_unchanged = self.walker.options.include_unchanged;
        let found = |difference: Difference| {
            let origin = difference.origin.get().unwrap_or_default();
            self.found(p, difference, None, |side| {
                let (job, entries) = layers.get(side).get((*origin.get(side))? as usize)?;
                Some((*job, entries.as_ref()))
            });
        };
        compare_merged(
            context,
            &merged.input0,
            &merged.input1,
            include_unchanged,
            found,
        );
    }
}

fn read_job(
    walker: &Walker<'_>,
    job: &Job,
    bytes_done: Arc<AtomicU64>,
    capture: Option<&Capture<'_>>,
    observer: Option<&dyn EntryObserver>,
) -> Outcome {
    let image = walker.images.get(job.side);
    match read_blob(walker, job, bytes_done, capture, observer) {
        Ok(scan) => {
            for warning in scan.warnings {
                let spec = &image.spec;
                walker.warn(
                    None,
                    format!("input {} ({spec}): {warning}", job.side.index()),
                );
            }
            match job.read {
                ReadKind::List => Outcome::Listed(Arc::new(
                    LayerEntries::new(scan.entries).with_captured(scan.captured),
                )),
                ReadKind::Verify => Outcome::Verified,
            }
        }
        Err(error) => {
            let error = match (error, &job.diff_id) {
                (error @ BlobError::Decode { .. }, Some(diff_id)) => BlobError::Unverified {
                    diff_id: diff_id.clone(),
                    source: Box::new(error),
                },
                (error, _) => error,
            };
            let error = walker.blob_error(job.side, "layer", &job.descriptor, &job.path, error);
            match job.required {
                true => walker.error(None, error.to_string()),
                false => walker.warn(None, error.to_string()),
            }
            Outcome::Failed
        }
    }
}

fn read_blob(
    walker: &Walker<'_>,
    job: &Job,
    bytes_done: Arc<AtomicU64>,
    capture: Option<&Capture<'_>>,
    observer: Option<&dyn EntryObserver>,
) -> Result<LayerScan, BlobError> {
    let source = walker.images.get(job.side).source.as_ref();
    let (desc, limits) = (&job.descriptor, &walker.options.read_limits);
    let progress = Some(bytes_done);
    match (job.read, desc.kind(), &job.diff_id) {
        (ReadKind::List, ..) => scan_layer(
            source,
            desc,
            job.diff_id.as_ref(),
            progress,
            limits,
            capture,
            observer,
        ),
        (ReadKind::Verify, BlobKind::Layer(_), Some(diff_id)) => {
            verify_layer(source, desc, diff_id, progress, limits)
        }
        (ReadKind::Verify, ..) => {
            verify_blob(source, desc, progress).map(|()| LayerScan::default())
        }
    }
}

impl ReadLayers for Work<'_, '_> {
    fn plans(&self) -> &[ManifestPlan] {
        self.plans
    }

    fn side_layers(&self, plan: usize, side: Side) -> Vec<Option<Entries>> {
        let layers = &self.plans[plan].layers;
        self.needs[plan]
            .iter()
            .zip(layers)
            .map(|(need, layer)| {
                match (need, need.listing(side).map(|j| self.entries(Some(j)))) {
                    (_, Some(Some(Some(entries)))) => Some(entries),
                    // Absent on this side (a layer count that differs), or failed.
                    (Need::Pair(..), _) => None,
                    // Equal on both sides, or proven equal without a listing: list it now.
                    _ => self.list_unlisted(side, layer),
                }
            })
            .collect()
    }

    fn held(&self, at: EntryAt) -> Option<Vec<u8>> {
        self.live.held.as_ref()?.take(at)
    }

    fn inventory(&self, plan: usize, side: Side) -> Arc<Inventory> {
        let files = || findings::database_files(self, plan, side);
        self.packages.read(plan, side, files)
    }

    fn read_again(&self, job: usize, visitor: &mut dyn ContentVisitor) -> Result<(), String> {
        let job = &self.jobs[job];
        let source = self.walker.images.get(job.side).source.as_ref();
        let limits = &self.walker.options.read_limits;
        extract_from_layer(source, &job.descriptor, visitor, limits).map_err(|error| {
            self.walker
                .blob_error(job.side, "layer", &job.descriptor, &job.path, error)
                .to_string()
        })
    }
}
