//! What the comparison finds out about differing files beyond their metadata, once every layer has
//! been read:
//! - which packages each image has (read from the package databases the scan kept), which changed,
//!   and whether each differing file is explained by a package change, matches its package, was
//!   modified after install, or comes from no package;
//! - what differs inside files whose contents differ and that are archives or compressed files
//!   (compared by [`super::nested`]).
//!
//! Both need more than the scan kept only for a few files (the md5 dpkg records, the bytes of a nested
//! archive): those are read again, each layer once, only for the files that need it.
//! Rule explanations (the noise catalogue) need only the texts the scan kept: they are given when a
//! difference is found (see [`explain_by_rules`]).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};

use enumset::EnumSet;
use serde_json::json;

use crate::explain::{Catalogue, FileFacts, TextChange};
use crate::model::{
    Aspect, AspectSet, Category, ContextId, ContextKind, Delta, DiffId, DiffKind, Difference,
    EntryKind, EntryMeta, Event, Explanation, NestedFormat, Severity, Side, Sides, Whiteout,
};
use crate::packages::{
    self, Algorithm, ChangeKind, Check, Comparison, Content, ContentDigests, ContentHasher,
    DatabaseFiles, DatabaseVerdict, FileExplanation, Inventory, PackageChange, Verdict,
};

use super::entries::LayerEntries;
use super::layer::ContentVisitor;
use super::lock;
use super::nested::{NestedComparison, compare_files};
use super::walk::{ManifestPlan, Walker};

/// Where one side of a differing file was read: the layer's read job and the entry's index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct EntryAt {
    pub job: usize,
    pub index: u32,
}

/// A file difference whose package and inside are looked at once every layer is read.
#[derive(Debug)]
pub(super) struct Candidate {
    pub id: DiffId,
    /// The manifest pair it belongs to (index into the plans).
    pub plan: usize,
    pub context: ContextId,
    pub path: String,
    pub entries: Sides<Option<(EntryAt, EntryMeta)>>,
    /// Whether its content differs (else only presence: an added or removed file).
    pub content_differs: bool,
}

impl Candidate {
    /// A candidate for a file difference with a presence or content change; `None` otherwise.
    pub fn of(
        difference: &Difference,
        plan: usize,
        at: Sides<Option<EntryAt>>,
    ) -> Option<Candidate> {
        if difference.kind != DiffKind::File {
            return None;
        }
        let aspects = difference.aspects();
        let presence = aspects.contains(Aspect::Presence);
        // Deltas are only derived where the aspect says they may hold one.
        let content_differs = aspects.contains(Aspect::Content)
            && difference.deltas().iter().any(|d| d.field == "content");
        if !content_differs && !presence {
            return None;
        }
        let entries = difference.entries.as_ref()?;
        let sides = Sides::from_fn(|side| {
            let entry = entries.get(side).as_ref()?;
            Some((*at.get(side).as_ref()?, entry.clone()))
        });
        Some(Candidate {
            id: difference.id,
            plan,
            context: difference.context,
            path: difference.key().to_owned(),
            entries: sides,
            content_differs,
        })
    }

    fn nested_formats(&self) -> Option<Sides<NestedFormat>> {
        if !self.content_differs {
            return None;
        }
        Some(Sides::new(
            self.entries.input0.as_ref()?.1.nested()?,
            self.entries.input1.as_ref()?.1.nested()?,
        ))
    }
}

/// The candidates found while comparing, collected from the comparing threads.
#[derive(Debug, Default)]
pub(super) struct Candidates(Mutex<Vec<Candidate>>);

impl Candidates {
    pub fn push(&self, candidate: Candidate) {
        lock(&self.0).push(candidate);
    }

    fn take(&self) -> Vec<Candidate> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// The rules that explain `difference` (a log, a cache…), reading the two sides' texts when the scan
/// kept both whole.
pub(super) fn explain_by_rules(
    catalogue: &Catalogue,
    difference: &mut Difference,
    texts: Sides<Option<&[u8]>>,
) {
    if difference.kind != DiffKind::File {
        return;
    }
    let mut facts = FileFacts::new(difference.aspects());
    if let (Some(a), Some(b)) = (texts.input0, texts.input1) {
        facts = facts.with_text(TextChange::new(a, b));
    }
    difference
        .explanations
        .extend(catalogue.explain(difference.key(), &facts));
}

/// What a scan keeps: the package databases' files, and the texts the catalogue's content conditions
/// read. The limit returned is the most kept of one file (0: only note that it is there).
pub(super) fn capture_wants(
    catalogue: Option<&Catalogue>,
    packages: bool,
) -> impl Fn(&str) -> Option<u64> + Sync + '_ {
    move |path: &str| {
        let database =
            packages
                .then(|| packages::wanted(path))
                .flatten()
                .map(|wanted| match wanted {
                    packages::Wanted::Content { limit } => limit,
                    packages::Wanted::Presence => 0,
                });
        let text = catalogue
            .filter(|c| c.wants_text(path))
            .map(|_| crate::explain::MAX_TEXT_BYTES as u64);
        database.max(text)
    }
}

/// The layers a manifest pair's findings are drawn from, as the layer phase read them.
pub(super) trait ReadLayers: Sync {
    fn plans(&self) -> &[ManifestPlan];
    /// Each layer of plan `plan` as `side` has it, in order: its entries and kept files. A layer the
    /// comparison did not list (equal on both sides) is read now; `None` for one that failed.
    fn side_layers(&self, plan: usize, side: Side) -> Vec<Option<Arc<LayerEntries>>>;
    /// The content of the file at `at` if it was held from the first read (see [`super::held`]).
    fn held(&self, at: EntryAt) -> Option<Vec<u8>>;
    /// `side`'s packages, read once asked for ([`PackagesRead`]).
    fn inventory(&self, plan: usize, side: Side) -> Arc<Inventory>;
    /// Reads a job's layer again, handing the wanted entries' contents to `visitor`.
    fn read_again(&self, job: usize, visitor: &mut dyn ContentVisitor) -> Result<(), String>;
}

/// The findings phase, run once every layer pair is compared.
pub(super) fn run(walker: &Walker<'_>, layers: &dyn ReadLayers, candidates: &Candidates) {
    let mut candidates = candidates.take();
    if candidates.is_empty() {
        return;
    }
    // Found by several threads in any order; what is emitted from them must not depend on it.
    candidates.sort_by(|a, b| {
        let indexes = |c: &Candidate| {
            let index = |e: &Option<(EntryAt, EntryMeta)>| e.as_ref().map(|(at, _)| at.index);
            (index(&c.entries.input0), index(&c.entries.input1))
        };
        (a.plan, a.context, &a.path, indexes(a)).cmp(&(b.plan, b.context, &b.path, indexes(b)))
    });
    let mut by_plan: BTreeMap<usize, Vec<Candidate>> = BTreeMap::new();
    for candidate in candidates {
        by_plan.entry(candidate.plan).or_default().push(candidate);
    }
    for (plan, candidates) in by_plan {
        Findings::new(walker, layers, plan).run(candidates);
    }
}

/// The findings of one manifest pair.
struct Findings<'f, 'w> {
    walker: &'f Walker<'w>,
    layers: &'f dyn ReadLayers,
    plan: usize,
}

/// What the second reading gives of one entry.
#[derive(Debug, Default)]
struct Read2 {
    digests: Option<ContentDigests>,
    bytes: Option<Vec<u8>>,
    /// Why the bytes were not kept (larger than the limit).
    not_kept: Option<String>,
}

impl<'f, 'w> Findings<'f, 'w> {
    fn new(walker: &'f Walker<'w>, layers: &'f dyn ReadLayers, plan: usize) -> Self {
        Findings {
            walker,
            layers,
            plan,
        }
    }

    fn run(&self, candidates: Vec<Candidate>) {
        let packages = self.walker.options.packages;
        // Images without any package database have nothing to say about packages.
        let inventories = packages
            .then(|| self.inventories())
            .filter(|i| !(i.input0.is_empty() && i.input1.is_empty()));
        if packages && inventories.is_none() && self.missed_layers() {
            let plan = &self.layers.plans()[self.plan];
            self.walker.warn(
                Some(plan.context),
                "packages: none found in the layers read; a layer both images share was not \
                 downloaded to look (--view merged reads it)"
                    .into(),
            );
        }
        let comparison = inventories
            .as_ref()
            .map(|i| Comparison::new(&i.input0, &i.input1));
        if let Some(comparison) = &comparison {
            self.emit_package_changes(comparison, inventories.as_ref());
        }
        let wanted = self.wanted(&candidates, inventories.as_ref());
        let read = self.read_again(wanted);
        for candidate in &candidates {
            if let Some(comparison) = &comparison {
                self.explain_by_packages(candidate, comparison, &read);
            }
            self.compare_inside(candidate, &read);
        }
    }

    /// Whether a layer of this manifest pair could not be listed for its package databases.
    fn missed_layers(&self) -> bool {
        Side::BOTH.iter().any(|side| {
            self.layers
                .side_layers(self.plan, *side)
                .iter()
                .any(Option::is_none)
        })
    }

    /// Both images' packages. The pool read them as soon as each image's layers were read (a manifest
    /// pair with candidates has a layer pair, which schedules them): this takes them, or reads them.
    fn inventories(&self) -> Sides<Arc<Inventory>> {
        Sides::from_fn(|side| self.layers.inventory(self.plan, side))
    }

    fn emit_package_changes(
        &self,
        comparison: &Comparison<'_>,
        inventories: Option<&Sides<Arc<Inventory>>>,
    ) {
        let changes = comparison.changes();
        let notes: Vec<String> = inventories
            .into_iter()
            .flat_map(|i| {
                i.iter()
                    .flat_map(|(side, inv)| inv.notes().iter().map(move |n| (side, n)))
            })
            .map(|(side, note)| format!("input {}: packages: {note}", side.index()))
            .collect();
        if changes.is_empty() && notes.is_empty() {
            return;
        }
        let plan = &self.layers.plans()[self.plan];
        let context = self.walker.context(
            Some(plan.context),
            ContextKind::Packages,
            &format!("{}/packages", plan.path),
            "packages",
            Sides::default(),
        );
        for note in notes {
            self.walker.warn(Some(context), note);
        }
        for change in changes {
            self.walker
                .emit_difference(package_difference(context, change));
        }
    }

    /// What must be read again, per entry: the digests the packages record that the scan did not
    /// compute, and the bytes of nested files.
    fn wanted(
        &self,
        candidates: &[Candidate],
        inventories: Option<&Sides<Arc<Inventory>>>,
    ) -> BTreeMap<EntryAt, Wanted> {
        let nested = self.walker.options.nested;
        let mut wanted: BTreeMap<EntryAt, Wanted> = BTreeMap::new();
        // Added and removed files too: their package's record is checked on the side that has them.
        for candidate in candidates {
            let opened = nested.depth > 0 && candidate.nested_formats().is_some();
            for side in Side::BOTH {
                let Some((at, entry)) = candidate.entries.get(side) else {
                    continue;
                };
                if entry.kind() != EntryKind::File {
                    continue;
                }
                let algorithms = inventories
                    .map(|i| i.get(side).algorithms_for(&candidate.path))
                    .unwrap_or_default()
                    - Algorithm::Sha256;
                let slot = wanted.entry(*at).or_default();
                slot.algorithms |= algorithms;
                if opened {
                    slot.bytes_limit = nested.bytes;
                }
            }
        }
        wanted.retain(|_, w| !w.algorithms.is_empty() || w.bytes_limit > 0);
        wanted
    }

    /// The wanted entries' contents: those held from the first read, then the others by reading
    /// each layer that has them once more, on the engine's threads.
    fn read_again(&self, wanted: BTreeMap<EntryAt, Wanted>) -> HashMap<EntryAt, Read2> {
        let mut held = HashMap::new();
        let mut by_job: BTreeMap<usize, HashMap<u32, Wanted>> = BTreeMap::new();
        for (at, w) in wanted {
            match self.layers.held(at).filter(|_| w.bytes_limit > 0) {
                Some(bytes) => {
                    held.insert(at, Read2::of_held(&w, bytes));
                }
                None => {
                    by_job.entry(at.job).or_default().insert(at.index, w);
                }
            }
        }
        if by_job.is_empty() {
            return held;
        }
        let jobs: Vec<(usize, HashMap<u32, Wanted>)> = by_job.into_iter().collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Mutex<HashMap<EntryAt, Read2>> = Mutex::new(held);
        let workers = self.walker.options.jobs.clamp(1, jobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((job, wanted)) = jobs.get(i) else {
                            break;
                        };
                        let mut visitor = Rereader {
                            wanted,
                            found: HashMap::new(),
                        };
                        if let Err(error) = self.layers.read_again(*job, &mut visitor) {
                            self.walker
                                .warn(None, format!("files not checked: {error}"));
                        }
                        let mut results = lock(&results);
                        for (index, read) in visitor.found {
                            results.insert(EntryAt { job: *job, index }, read);
                        }
                    }
                });
            }
        });
        results.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn explain_by_packages(
        &self,
        candidate: &Candidate,
        comparison: &Comparison<'_>,
        read: &HashMap<EntryAt, Read2>,
    ) {
        let digests: Sides<Option<ContentDigests>> = Sides::from_fn(|side| {
            let (at, entry) = candidate.entries.get(side).as_ref()?;
            let sha256 = entry.content().as_ref()?.bytes();
            let mut digests = ContentDigests::from_sha256(sha256);
            if let Some(more) = read.get(at).and_then(|r| r.digests.as_ref()) {
                for algorithm in more.algorithms() {
                    if let Some(digest) = more.get(algorithm) {
                        digests = digests.with(algorithm, digest);
                    }
                }
            }
            Some(digests)
        });
        let content = Sides::from_fn(|side| match candidate.entries.get(side) {
            None => Content::Absent,
            Some((_, entry)) => match entry.kind() {
                EntryKind::File => match digests.get(side) {
                    Some(d) => Content::File(d),
                    None => Content::Other,
                },
                EntryKind::Symlink => Content::Symlink(entry.link().unwrap_or_default().as_bytes()),
                EntryKind::Directory => Content::Directory,
                _ => Content::Other,
            },
        });
        let explanation = comparison.explain(&candidate.path, content);
        let explanations = package_explanations(&explanation);
        if !explanations.is_empty() {
            self.walker.sink.emit(Event::Explained {
                difference: candidate.id,
                explanations,
            });
        }
    }

    /// Compares the inside of a candidate whose sides are nested files, and emits what differs there.
    fn compare_inside(&self, candidate: &Candidate, read: &HashMap<EntryAt, Read2>) {
        let limits = self.walker.options.nested;
        let Some(formats) = candidate.nested_formats().filter(|_| limits.depth > 0) else {
            return;
        };
        let bytes = Sides::from_fn(|side| {
            let (at, _) = candidate.entries.get(side).as_ref()?;
            read.get(at)
        });
        let (Some(a), Some(b)) = (bytes.input0, bytes.input1) else {
            return;
        };
        let (Some(x), Some(y)) = (&a.bytes, &b.bytes) else {
            let why = a.not_kept.as_ref().or(b.not_kept.as_ref());
            let message = format!(
                "{}: compared by digest only: {}",
                candidate.path,
                why.map_or("its content could not be read again", String::as_str)
            );
            self.walker.warn(Some(candidate.context), message);
            return;
        };
        match compare_files(&candidate.path, Sides::new(x, y), formats, &limits) {
            Ok(comparison) => {
                let path = format!(
                    "{}/{}",
                    candidate_context_path(self, candidate),
                    candidate.path
                );
                let context =
                    self.emit_nested(candidate.context, &path, &candidate.path, comparison);
                self.walker.sink.emit(Event::Nested {
                    difference: candidate.id,
                    context,
                });
            }
            Err(error) => self.walker.warn(
                Some(candidate.context),
                format!("{}: compared by digest only: {error}", candidate.path),
            ),
        }
    }

    /// Emits a nested comparison under `parent`: its context, differences and, recursively, those of
    /// the members compared in turn. Returns the context.
    fn emit_nested(
        &self,
        parent: ContextId,
        path: &str,
        file: &str,
        comparison: NestedComparison,
    ) -> ContextId {
        let format = if comparison.formats.differ() {
            format!(
                "{} vs {}",
                comparison.formats.input0.label(),
                comparison.formats.input1.label()
            )
        } else {
            comparison.formats.input0.label().to_owned()
        };
        let label = format!("{} ({format})", file.rsplit('/').next().unwrap_or(file));
        let context = self.walker.context(
            Some(parent),
            ContextKind::Nested {
                file: file.to_owned(),
                format,
            },
            &format!("{path}!"),
            &label,
            Sides::default(),
        );
        for note in comparison.notes {
            self.walker.warn(Some(context), note);
        }
        let mut ids = Vec::with_capacity(comparison.differences.len());
        let mut keys = Vec::with_capacity(comparison.differences.len());
        for mut difference in comparison.differences {
            difference.context = context;
            keys.push(difference.key().to_owned());
            ids.push(self.walker.emit_difference(difference));
        }
        for (index, child) in comparison.children {
            let (Some(&id), Some(key)) = (ids.get(index), keys.get(index)) else {
                continue;
            };
            let child_context = self.emit_nested(context, &format!("{path}!/{key}"), key, child);
            self.walker.sink.emit(Event::Nested {
                difference: id,
                context: child_context,
            });
        }
        context
    }
}

/// The path of the candidate's context (for the nested context's path).
fn candidate_context_path(findings: &Findings<'_, '_>, candidate: &Candidate) -> String {
    let plan = &findings.layers.plans()[findings.plan];
    if candidate.context == plan.merged_context {
        return format!("{}/merged", plan.path);
    }
    plan.layers
        .iter()
        .find(|l| l.context == candidate.context)
        .map_or_else(|| plan.path.clone(), |l| l.path.clone())
}

/// What to read again of one entry.
#[derive(Debug, Default, Clone, Copy)]
struct Wanted {
    algorithms: EnumSet<Algorithm>,
    /// Keep the bytes, up to this many (0: do not keep them).
    bytes_limit: u64,
}

/// The visitor of a second reading: hashes and keeps what is wanted of each entry.
struct Rereader<'w> {
    wanted: &'w HashMap<u32, Wanted>,
    found: HashMap<u32, Read2>,
}

impl ContentVisitor for Rereader<'_> {
    fn wants(&mut self, index: u32) -> bool {
        self.wanted.contains_key(&index)
    }

    fn visit(&mut self, entry: &EntryMeta, content: &mut dyn Read) -> std::io::Result<()> {
        let Some(wanted) = self.wanted.get(&entry.index()) else {
            return Ok(());
        };
        let read = Read2::of(wanted, entry.size(), content)?;
        self.found.insert(entry.index(), read);
        Ok(())
    }
}

impl Read2 {
    /// What is wanted of a file whose content was held from the first read (within the limit).
    fn of_held(wanted: &Wanted, bytes: Vec<u8>) -> Read2 {
        let mut hasher = ContentHasher::new(wanted.algorithms);
        hasher.update(&bytes);
        Read2 {
            digests: (!wanted.algorithms.is_empty()).then(|| hasher.finish()),
            bytes: Some(bytes),
            not_kept: None,
        }
    }

    /// What is wanted of a file of `size` bytes whose content `content` reads.
    fn of(wanted: &Wanted, size: u64, content: &mut dyn Read) -> std::io::Result<Read2> {
        let keep = wanted.bytes_limit > 0 && size <= wanted.bytes_limit;
        let mut hasher = ContentHasher::new(wanted.algorithms);
        let mut bytes = Vec::new();
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            let n = content.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            if keep {
                bytes.extend_from_slice(&buffer[..n]);
            }
        }
        let not_kept = (wanted.bytes_limit > 0 && !keep).then(|| {
            format!(
                "{size} bytes, more than the limit of {} for comparing inside files (--max-scale raises it)",
                wanted.bytes_limit
            )
        });
        Ok(Read2 {
            digests: (!wanted.algorithms.is_empty()).then(|| hasher.finish()),
            bytes: keep.then_some(bytes),
            not_kept,
        })
    }
}

/// A package change as a `Pkg` difference.
fn package_difference(context: ContextId, change: &PackageChange) -> Difference {
    let ecosystem = change.key.ecosystem.name();
    let version = |v: &Option<String>| json!(v);
    let deltas = vec![Delta::new(
        Aspect::Package,
        match change.kind {
            ChangeKind::Added | ChangeKind::Removed => "presence",
            _ => "version",
        },
        version(&change.versions.input0),
        version(&change.versions.input1),
    )];
    Difference {
        id: DiffId::default(),
        context,
        kind: DiffKind::Pkg,
        key: format!("{ecosystem} {}", change.key).into(),
        deltas: deltas.into(),
        entries: Default::default(),
        origin: Default::default(),
        nested: Default::default(),
        explanations: thin_vec::thin_vec![Explanation {
            rule: "package".into(),
            category: Category::Package,
            severity: Severity::Review,
            text: format!("{} ({})", change, change_word(change.kind)),
            aspects: AspectSet::only(Aspect::Package),
            evidence: None,
        }],
    }
}

fn change_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Upgraded => "upgraded",
        ChangeKind::Downgraded => "downgraded",
        ChangeKind::Rebuilt => "rebuilt",
        ChangeKind::VersionChanged => "version changed",
    }
}

/// The aspects a package change accounts for in one of its files: the file is there or not, and its
/// content, as the package delivers it; its times and metadata come with the new package too.
fn package_aspects() -> AspectSet {
    Aspect::Presence
        | Aspect::Content
        | Aspect::Kind
        | Aspect::LinkTarget
        | Aspect::Mode
        | Aspect::Owner
        | Aspect::FileTime
}

/// The sides whose content was checked against their package's record and matches it.
fn matching_sides(explanation: &FileExplanation) -> Vec<Side> {
    explanation
        .sides
        .iter()
        .filter(|(_, check)| check.check == Check::Matches)
        .map(|(side, _)| side)
        .collect()
}

/// The explanations a package verdict gives a file difference.
fn package_explanations(explanation: &FileExplanation) -> Vec<Explanation> {
    let owners = owners_text(explanation);
    let changes: Vec<String> = explanation.changes.iter().map(|c| c.to_string()).collect();
    let one = |rule: &str, category, severity, text: String, aspects| Explanation {
        rule: rule.into(),
        category,
        severity,
        text,
        aspects,
        evidence: None,
    };
    let explained = |text: String| {
        one(
            "package",
            Category::Package,
            Severity::Review,
            text,
            package_aspects(),
        )
    };
    match &explanation.verdict {
        Verdict::ExplainedByChange => {
            let proof = match matching_sides(explanation).as_slice() {
                [_, _] => " (matches the package on both sides)".to_owned(),
                [side] => format!(" (matches the package on input {})", side.index()),
                _ => String::new(),
            };
            vec![explained(format!(
                "explained by {}{proof}",
                changes.join(", ")
            ))]
        }
        Verdict::MatchesPackage => vec![one(
            "package",
            Category::Package,
            Severity::Info,
            format!("matches its package on both sides ({owners})"),
            AspectSet::empty(),
        )],
        Verdict::MatchesOneSide { matching } => vec![one(
            "package-modified",
            Category::Package,
            Severity::Alert,
            format!(
                "modified after install on input {} ({owners}; matches the package on input {} only)",
                matching.other().index(),
                matching.index()
            ),
            AspectSet::empty(),
        )],
        Verdict::ModifiedAfterInstall => vec![one(
            "package-modified",
            Category::Package,
            Severity::Alert,
            format!("modified after install: matches its package on neither side ({owners})"),
            AspectSet::empty(),
        )],
        Verdict::UnchangedPackageDiffers { .. } => vec![one(
            "package-unchanged",
            Category::Package,
            Severity::Alert,
            format!("differs although its package did not change ({owners})"),
            AspectSet::empty(),
        )],
        Verdict::ConfigurationChanged { .. } => vec![one(
            "package-configuration",
            Category::Package,
            Severity::Review,
            format!("configuration file changed locally ({owners})"),
            AspectSet::only(Aspect::Content),
        )],
        Verdict::OwnedUnverified if !changes.is_empty() => vec![explained(format!(
            "explained by {} (not verified: the package records no checksum for it)",
            changes.join(", ")
        ))],
        Verdict::OwnedUnverified => vec![one(
            "package",
            Category::Package,
            Severity::Info,
            format!("{owners}; no recorded checksum to check it against"),
            AspectSet::empty(),
        )],
        Verdict::NotFromPackage => vec![one(
            "package",
            Category::Package,
            Severity::Info,
            "not from a package".into(),
            AspectSet::empty(),
        )],
        Verdict::Database(DatabaseVerdict::Explained) => {
            let text = match changes.is_empty() {
                true => {
                    "package database: its records differ only for packages that changed".into()
                }
                false => format!("package database: explained by {}", changes.join(", ")),
            };
            vec![one(
                "package-db",
                Category::PackageDb,
                Severity::Review,
                text,
                AspectSet::only(Aspect::Content) | Aspect::Presence,
            )]
        }
        Verdict::Database(DatabaseVerdict::BackupOf { of }) => vec![one(
            "package-db",
            Category::PackageDb,
            Severity::Noise,
            format!("the backup dpkg keeps of input {}'s status", of.index()),
            AspectSet::only(Aspect::Content) | Aspect::Presence,
        )],
        Verdict::Database(DatabaseVerdict::Unexplained { packages }) => {
            let names: Vec<String> = packages.iter().map(|p| p.to_string()).collect();
            // A backup (`status-old`) holds an earlier state, not the installed one: a fact, not an
            // alarm.
            let backup = explanation.path.ends_with("-old");
            vec![one(
                "package-db",
                Category::PackageDb,
                if backup {
                    Severity::Info
                } else {
                    Severity::Alert
                },
                format!(
                    "package database: the records of {} differ although they did not change",
                    names.join(", ")
                ),
                AspectSet::empty(),
            )]
        }
        Verdict::Database(DatabaseVerdict::NotChecked) => Vec::new(),
    }
}

/// `owned by x 1.0 on input 0, y 2.0 on input 1`, or by one package on both.
fn owners_text(explanation: &FileExplanation) -> String {
    let owners = explanation
        .sides
        .as_ref()
        .map(|side| side.owner.as_ref().map(|o| o.to_string()));
    match (&owners.input0, &owners.input1) {
        (Some(a), Some(b)) if a == b => format!("owned by {a}"),
        (Some(a), Some(b)) => format!("owned by {a} on input 0, {b} on input 1"),
        (Some(a), None) => format!("owned by {a} on input 0"),
        (None, Some(b)) => format!("owned by {b} on input 1"),
        (None, None) => "not owned".into(),
    }
}

/// Each image's packages, by manifest pair, read once per side and once for two sides whose package
/// database files are the same bytes (as a rebuilt image's nearly always are).
#[derive(Default)]
pub(super) struct PackagesRead {
    by_plan: Vec<Mutex<PlanPackages>>,
    /// Told when a side's reading ends: the other side may be waiting for it.
    read_ended: Condvar,
}

#[derive(Default)]
struct PlanPackages {
    read: Sides<Option<Arc<Inventory>>>,
    /// The database files of the side read first, from when its reading starts until the other side
    /// is read: the other side, if its files are the same, waits for that reading.
    first: Option<(Side, Arc<DatabaseFiles>)>,
}

impl PackagesRead {
    pub fn new(plans: usize) -> PackagesRead {
        PackagesRead {
            by_plan: (0..plans).map(|_| Mutex::default()).collect(),
            read_ended: Condvar::new(),
        }
    }

    /// `side`'s packages, read from `files` (the side's database files) unless the other side's are
    /// the same bytes or this side's were read already. Two threads may ask for both sides at once:
    /// when the files are the same, the second waits for the first's reading instead of doing it again.
    pub fn read(
        &self,
        plan: usize,
        side: Side,
        files: impl FnOnce() -> DatabaseFiles,
    ) -> Arc<Inventory> {
        self.read_with(plan, side, files, packages::read_inventory)
    }

    fn read_with(
        &self,
        plan: usize,
        side: Side,
        files: impl FnOnce() -> DatabaseFiles,
        read: impl FnOnce(&DatabaseFiles) -> Inventory,
    ) -> Arc<Inventory> {
        let Some(slot) = self.by_plan.get(plan) else {
            return Arc::new(read(&files()));
        };
        if let Some(read) = lock(slot).read.get(side) {
            return Arc::clone(read);
        }
        let files = Arc::new(files());
        let mut state = lock(slot);
        loop {
            let first = match &state.first {
                Some((first, first_files)) if *first != side && **first_files == *files => *first,
                _ => break,
            };
            if let Some(inventory) = state.read.get(first).clone() {
                return state.settle(side, inventory);
            }
            state = self
                .read_ended
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.first.is_none() && state.read.get(side.other()).is_none() {
            state.first = Some((side, Arc::clone(&files)));
        }
        drop(state);
        // Told even if reading panics, so that a waiting side reads for itself instead of waiting on.
        let reading = Reading {
            slot,
            side,
            ended: &self.read_ended,
        };
        let inventory = Arc::new(read(&files));
        std::mem::forget(reading);
        let settled = lock(slot).settle(side, inventory);
        self.read_ended.notify_all();
        settled
    }
}

impl PlanPackages {
    fn settle(&mut self, side: Side, inventory: Arc<Inventory>) -> Arc<Inventory> {
        *self.read.get_mut(side) = Some(Arc::clone(&inventory));
        if self.read.get(side.other()).is_some() {
            self.first = None;
        }
        inventory
    }
}

/// A side's reading of its packages, while it runs.
struct Reading<'r> {
    slot: &'r Mutex<PlanPackages>,
    side: Side,
    ended: &'r Condvar,
}

impl Drop for Reading<'_> {
    /// Only when reading panicked: the other side stops waiting for it.
    fn drop(&mut self) {
        let mut state = lock(self.slot);
        if state
            .first
            .as_ref()
            .is_some_and(|(side, _)| *side == self.side)
        {
            state.first = None;
        }
        drop(state);
        self.ended.notify_all();
    }
}

/// One side's package database files as its final filesystem has them: each layer's kept files in
/// order, less what later layers delete, plus the top-level symlinks (`bin` → `usr/bin`).
pub(super) fn database_files(layers: &dyn ReadLayers, plan: usize, side: Side) -> DatabaseFiles {
    let mut files: BTreeMap<String, (Vec<u8>, u64)> = BTreeMap::new();
    let mut symlinks: BTreeMap<String, String> = BTreeMap::new();
    for layer in layers.side_layers(plan, side).into_iter().flatten() {
        for entry in &layer.entries {
            let path = entry.path();
            match Whiteout::of_path(&path) {
                Some(Whiteout::Removes { path: gone }) => {
                    files.retain(|p, _| p != &gone && !p.starts_with(&format!("{gone}/")));
                }
                Some(Whiteout::Opaque { dir }) => {
                    files.retain(|p, _| !p.starts_with(&format!("{dir}/")));
                }
                None if entry.kind() == EntryKind::Symlink && !path.contains('/') => {
                    symlinks.insert(path, entry.link().unwrap_or_default().to_owned());
                }
                None => {}
            }
        }
        for (index, content) in layer.captured() {
            let Some(entry) = layer.entries.get(index as usize) else {
                continue;
            };
            let path = entry.path();
            if packages::is_database_path(&path) {
                files.insert(path, (content.to_vec(), entry.size()));
            }
        }
    }
    let mut out = DatabaseFiles::new();
    for (path, (content, size)) in files {
        out.insert(path, content, size);
    }
    for (path, target) in symlinks {
        out.insert_symlink(path, target);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dpkg_files(version: &str) -> DatabaseFiles {
        let mut files = DatabaseFiles::new();
        let status = format!(
            "Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
        );
        files.insert_content("var/lib/dpkg/status", status.into_bytes());
        files.insert_content("var/lib/dpkg/info/tool.list", b"/usr/bin/tool\n".to_vec());
        files
    }

    #[test]
    fn a_side_asking_while_the_other_reads_the_same_files_waits_for_that_reading() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::mpsc;
        let packages = PackagesRead::new(1);
        let readings = AtomicUsize::new(0);
        let (asked, first_may_end) = mpsc::channel::<()>();
        let readings = &readings;
        let counted = move |files: &DatabaseFiles| {
            readings.fetch_add(1, Ordering::SeqCst);
            packages::read_inventory(files)
        };
        let packages = &packages;
        let (a, b) = std::thread::scope(|scope| {
            let first = scope.spawn(move || {
                packages.read_with(
                    0,
                    Side::Input0,
                    || dpkg_files("1.0"),
                    |files| {
                        // Still reading when the other side asks (and a while after, for it to look).
                        let _ = first_may_end.recv();
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        counted(files)
                    },
                )
            });
            // Once the first side is reading: its files are published before its reading starts
            // (looked for a few seconds at most, so that a build that does not publish them fails).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while lock(&packages.by_plan[0]).first.is_none() && std::time::Instant::now() < deadline
            {
                std::thread::yield_now();
            }
            let second = packages.read_with(
                0,
                Side::Input1,
                || {
                    let _ = asked.send(());
                    dpkg_files("1.0")
                },
                counted,
            );
            (first.join().expect("the first side reads"), second)
        });
        assert!(Arc::ptr_eq(&a, &b), "one reading for both sides");
        assert_eq!(readings.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn two_sides_with_the_same_database_files_share_one_reading() {
        let read = PackagesRead::new(2);
        let a = read.read(0, Side::Input0, || dpkg_files("1.0"));
        let b = read.read(0, Side::Input1, || dpkg_files("1.0"));
        assert!(Arc::ptr_eq(&a, &b), "the same bytes are read once");
        assert_eq!(a.packages().len(), 1);
        let c = read.read(1, Side::Input1, || dpkg_files("1.0"));
        let d = read.read(1, Side::Input0, || dpkg_files("2.0"));
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(
            (
                c.packages()[0].version.as_str(),
                d.packages()[0].version.as_str()
            ),
            ("1.0", "2.0")
        );
        let again = read.read(1, Side::Input0, || {
            panic!("a side's files are gathered once")
        });
        assert!(Arc::ptr_eq(&again, &d));
    }
}
