//! What the explorer shows, apart from how: the comparison as it streams in, the lens it is seen
//! through (ignore options and paths, view, status keys, tree filter, sides swapped) and what that lens
//! lists. The panes read it; keys change the lens; nothing here re-reads an image.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::explain::{Standing, Verdict};
use crate::filter::{Basis, CountedAt, Filter, IgnoreOption, Presentation, View, is_derived};
use crate::model::{Applied, AspectSet, ContextId, ContextKind, Difference, Event, Report};

use super::history::CreatedBy;
use super::labels::option_words;
use super::swap::swap_report;
use super::tree::{Listing, Status, StatusCounts, StatusToggles, Tree, Visibility};

/// While the comparison streams, new data is taken into the filter results at most this often...
const STREAMING_REFRESH: Duration = Duration::from_millis(300);
/// ... and, as a refresh costs time in the number of differences, never more than one part in this
/// of the time: a million differences would otherwise be refreshed back to back, each refresh longer
/// than the last.
const STREAMING_REFRESH_SHARE: u32 = 4;

/// Whether new data may be taken in while streaming, the last refresh having started and taken
/// `last`.
fn refresh_due(last: Option<(Instant, Duration)>, now: Instant) -> bool {
    last.is_none_or(|(started, cost)| {
        now.duration_since(started) >= STREAMING_REFRESH.max(cost * STREAMING_REFRESH_SHARE)
    })
}

/// What changed in the session since the panes last looked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// New nodes, or nodes left the tree.
    pub tree: bool,
    /// Difference indexes changed (the finished report sorts them): cached contents are stale.
    /// Node ids do not change.
    pub indexes: bool,
    /// Anything arrived (progress alone changes the status bar).
    pub progress: bool,
}

pub struct Session {
    specs: [String; 2],
    report: Report,
    tree: Tree,
    started: Instant,
    swapped: bool,
    filter: Filter,
    /// `--ignore-path` patterns (and `--ignore-file`'s) from the command line.
    base_patterns: Vec<String>,
    /// Paths marked with `i` in this session, as glob patterns.
    ignored_paths: Vec<String>,
    /// The options the session started with (the hint speaks only while they are still the ones).
    initial_options: Vec<IgnoreOption>,
    view: View,
    toggles: StatusToggles,
    /// Lower case.
    tree_filter: Option<String>,
    pub created_by: CreatedBy,
    /// What the filter passes need from the report and the view, kept while neither changes.
    basis: Basis,
    // What the lens lists, recomputed by `refresh` when it is stale.
    shown: Vec<bool>,
    /// Per difference: its status under the filter.
    statuses: Vec<Status>,
    /// Per difference: its status if the filter shows it (fixed by the difference itself), so that
    /// a filter change does not look into every difference again.
    shapes: Vec<Status>,
    hidden_by_option: BTreeMap<IgnoreOption, usize>,
    hidden_by_paths: usize,
    hidden_contexts: HashSet<ContextId>,
    listing: Listing,
    /// Shown differences by status, before the status keys and the tree filter.
    shown_counts: StatusCounts,
    hint: Option<String>,
    /// Per difference: explained, as the verdict counts (while only unexplained ones are listed).
    explained: Vec<bool>,
    /// The verdict line on what the filter shows, once the comparison is done.
    verdict: Option<String>,
    stale: Stale,
    /// When the last refresh of new data started, and how long it took.
    last_refresh: Option<(Instant, Duration)>,
}

#[derive(Debug, Clone, Copy)]
struct Stale {
    /// New data arrived: the filter results must take it in (throttled while streaming).
    data: bool,
    /// The filter or view changed: everything is redone now.
    lens: bool,
    /// Only the status keys or the tree filter changed: the listing is redone, not the filter.
    listing: bool,
    /// The per-option counts and the hint (one filter pass per option: not redone for new data
    /// while streaming, and done after the frame that shows the new listing).
    counts: bool,
    /// The view changed, or the report was reordered: the filter passes' basis must be redone.
    basis: bool,
}

impl Session {
    pub fn new(specs: [String; 2], filter: Filter, view: View) -> Session {
        Session {
            specs,
            report: Report::default(),
            tree: Tree::default(),
            started: Instant::now(),
            swapped: false,
            base_patterns: filter.patterns().to_vec(),
            ignored_paths: Vec::new(),
            initial_options: filter.options().to_vec(),
            filter,
            view,
            toggles: StatusToggles::default(),
            tree_filter: None,
            created_by: CreatedBy::default(),
            basis: Basis::default(),
            shown: Vec::new(),
            statuses: Vec::new(),
            shapes: Vec::new(),
            hidden_by_option: BTreeMap::new(),
            hidden_by_paths: 0,
            hidden_contexts: HashSet::new(),
            listing: Listing::default(),
            shown_counts: StatusCounts::default(),
            hint: None,
            explained: Vec::new(),
            verdict: None,
            stale: Stale {
                data: true,
                lens: true,
                listing: true,
                counts: true,
                basis: true,
            },
            last_refresh: None,
        }
    }

    /// Takes in one engine event. A difference goes into the tree in its place; a settled one
    /// replaces its provisional form in place; the end of the comparison reorders the report's
    /// differences, and the tree follows them without being rebuilt.
    pub fn on_event(&mut self, event: Event) -> Changed {
        let finished = matches!(event, Event::Finished);
        let new_context = matches!(event, Event::Context(_));
        let mut event = event;
        if self.swapped {
            event = super::swap::swap_event(event);
        }
        let before = self.tree.len();
        let applied = self.report.apply(event);
        let moved = matches!(applied, Applied::Moved(_));
        let changed = !matches!(applied, Applied::Unchanged);
        match applied {
            Applied::Added(_) => self.tree.sync(&self.report),
            Applied::Replaced(at) => {
                if let (Some(shape), Some(d)) =
                    (self.shapes.get_mut(at), self.report.differences.get(at))
                {
                    *shape = Status::of(d, true);
                }
            }
            Applied::Moved(new_places) => {
                self.tree.remap(&new_places);
                self.shapes.clear();
            }
            Applied::Unchanged if new_context => self.tree.sync(&self.report),
            Applied::Unchanged => {}
        }
        self.stale.data |= new_context || changed;
        // The end is taken in at once, counts included.
        self.stale.lens |= finished || moved;
        self.stale.counts |= finished;
        self.stale.basis |= finished || moved;
        Changed {
            tree: moved || self.tree.len() != before,
            indexes: moved,
            progress: true,
        }
    }

    /// Recomputes what the lens lists if anything it depends on changed; true if the listing changed
    /// (the rows must be redone).
    pub fn refresh(&mut self) -> bool {
        let only_new_data = !self.stale.lens && !self.stale.listing && !self.report.finished;
        if !self.stale.data && !self.stale.lens && !self.stale.listing {
            return false;
        }
        if only_new_data && !refresh_due(self.last_refresh, Instant::now()) {
            return false;
        }
        let started = Instant::now();
        let refreshes_data = self.stale.data || self.stale.lens;
        if refreshes_data {
            if self.stale.data || self.stale.basis {
                // The old one goes first: at two million differences each takes 45 MB.
                self.basis = Basis::default();
                self.basis = Basis::new(&self.report, self.view);
                self.stale.basis = false;
            }
            let presentation =
                Presentation::with_basis(&self.report, &self.filter, self.view, &self.basis);
            self.shown = presentation.shown_flags();
            self.hidden_contexts = self
                .report
                .contexts
                .iter()
                .filter(|c| !presentation.context_in_view(c))
                .map(|c| c.id)
                .collect();
            self.update_shapes();
            self.statuses = self
                .shapes
                .iter()
                .zip(&self.shown)
                .map(|(shape, shown)| if *shown { *shape } else { Status::Unchanged })
                .collect();
            self.shown_counts = StatusCounts::default();
            for status in &self.statuses {
                if *status != Status::Unchanged {
                    self.shown_counts.add(*status);
                }
            }
        }
        self.tree.refresh_order();
        let matching = self.tree_filter.as_deref().map(|f| self.tree.matching(f));
        self.explained = if self.toggles.unexplained_only {
            explained_flags(&self.report, &self.filter)
        } else {
            Vec::new()
        };
        let rules = Visibility {
            statuses: &self.statuses,
            toggles: self.toggles,
            hidden_contexts: &self.hidden_contexts,
            path_filter: matching.as_deref(),
            explained: &self.explained,
        };
        self.listing = self.tree.listing(&rules);
        if refreshes_data {
            self.last_refresh = Some((started, started.elapsed()));
        }
        self.stale.data = false;
        self.stale.lens = false;
        self.stale.listing = false;
        true
    }

    /// Starts reading the configs' history of the manifests not asked for yet.
    pub fn read_created_by(
        &mut self,
        images: &std::sync::Arc<crate::model::Sides<crate::source::Image>>,
        limit: u64,
    ) {
        self.created_by.want(&self.report, images, limit);
    }

    /// What each option hides and the hint, if the filter or view changed or the comparison ended
    /// since they were counted: a filter pass per active option, so the event loop runs it after
    /// the frame that shows the new listing. True if it counted.
    pub fn refresh_counts(&mut self) -> bool {
        if !self.stale.counts || self.stale.lens {
            return false;
        }
        let presentation =
            Presentation::with_basis(&self.report, &self.filter, self.view, &self.basis);
        self.hidden_by_option = presentation.hidden_by_option();
        self.hidden_by_paths = presentation.hidden_by_paths();
        let counted = presentation.counted();
        self.hint = self.semantic_hint(&counted);
        let differences = &self.report.differences;
        self.verdict = self.report.finished.then(|| {
            Verdict::of_counted(counted.iter().map(|c| (&differences[c.index], c.own))).to_string()
        });
        self.stale.counts = false;
        true
    }

    fn presentation<'s>(&'s self, filter: &'s Filter) -> Presentation<'s> {
        Presentation::with_basis(&self.report, filter, self.view, &self.basis)
    }

    /// Whether the per-option counts wait for [`refresh_counts`](Self::refresh_counts).
    pub fn counts_pending(&self) -> bool {
        self.stale.counts
    }

    pub fn specs(&self) -> &[String; 2] {
        &self.specs
    }

    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn view(&self) -> View {
        self.view
    }

    pub fn toggles(&self) -> StatusToggles {
        self.toggles
    }

    pub fn tree_filter(&self) -> Option<&str> {
        self.tree_filter.as_deref()
    }

    pub fn listing(&self) -> &Listing {
        &self.listing
    }

    /// Whether the filter shows this difference (before the status keys).
    pub fn is_shown(&self, difference: usize) -> bool {
        self.shown.get(difference).copied().unwrap_or(false)
    }

    /// The deltas of a difference the filter shows.
    pub fn shown_deltas(&self, index: usize, difference: &Difference) -> Vec<crate::model::Delta> {
        if !self.is_shown(index) {
            return Vec::new();
        }
        let ignored = self.filter.ignored_aspects();
        let mut deltas = difference.deltas().into_owned();
        deltas.retain(|x| !ignored.contains(x.aspect));
        deltas
    }

    /// The shown differences by status, before the status keys and the tree filter.
    pub fn shown_counts(&self) -> StatusCounts {
        self.shown_counts
    }

    /// The differences `]` can reach: shown, listed by the status keys and the tree filter.
    pub fn listed_counts(&self) -> StatusCounts {
        self.listing.total(&self.tree)
    }

    /// All shown differences (what the exit status is about).
    pub fn shown_total(&self) -> usize {
        self.shown.iter().filter(|s| **s).count()
    }

    pub fn hidden_by_option(&self) -> &BTreeMap<IgnoreOption, usize> {
        &self.hidden_by_option
    }

    pub fn hidden_by_paths(&self) -> usize {
        self.hidden_by_paths
    }

    /// "845 of 853 differences are file timestamps" (the status bar adds the key for --semantic),
    /// while it is true and the options are still the ones the session started with.
    pub fn hint(&self) -> Option<&str> {
        let unchanged = self.filter.options() == self.initial_options.as_slice();
        self.hint.as_deref().filter(|_| unchanged)
    }

    /// The verdict on what the filter shows (the headless `verdict:` line), once the comparison is
    /// done and counted.
    pub fn verdict(&self) -> Option<&str> {
        self.verdict.as_deref()
    }

    /// Lists only the differences left unexplained, or everything again.
    pub fn toggle_unexplained_only(&mut self) {
        self.toggles.unexplained_only = !self.toggles.unexplained_only;
        self.stale.listing = true;
    }

    /// Layer pairs compared or skipped, of those in the tree.
    pub fn layer_progress(&self) -> (usize, usize) {
        let report = &self.report;
        let layers: Vec<ContextId> = report
            .contexts
            .iter()
            .filter(|c| matches!(c.kind, ContextKind::Layer { .. }))
            .map(|c| c.id)
            .collect();
        let done = layers
            .iter()
            .filter(|id| {
                report.layer_entries.iter().any(|(c, _)| c == *id)
                    || report.layer_proof(**id).is_some()
            })
            .count();
        (done, layers.len())
    }

    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.stale.lens = true;
        self.stale.counts = true;
    }

    pub fn toggle_option(&mut self, option: IgnoreOption) {
        self.set_filter(self.filter.toggled(option));
    }

    /// All of `--semantic` on, or (if they all are) off.
    pub fn toggle_semantic(&mut self) {
        let all_on = IgnoreOption::SEMANTIC
            .iter()
            .all(|o| self.filter.options().contains(o));
        let mut options: Vec<IgnoreOption> = self.filter.options().to_vec();
        if all_on {
            options.retain(|o| !IgnoreOption::SEMANTIC.contains(o));
        } else {
            options.extend(IgnoreOption::SEMANTIC);
        }
        if let Ok(filter) = Filter::new(&options, self.filter.patterns()) {
            self.set_filter(filter);
        }
    }

    pub fn cycle_view(&mut self) {
        self.view = match self.view {
            View::Auto => View::PerLayer,
            View::PerLayer => View::Merged,
            View::Merged => View::Auto,
        };
        self.stale.lens = true;
        self.stale.basis = true;
        self.stale.counts = true;
    }

    pub fn toggle_status(&mut self, status: Status) {
        let t = &mut self.toggles;
        match status {
            Status::Added => t.added = !t.added,
            Status::Removed => t.removed = !t.removed,
            Status::TypeChanged | Status::Modified => t.modified = !t.modified,
            Status::Unchanged => t.unchanged = !t.unchanged,
        }
        self.stale.listing = true;
    }

    /// Lists only paths containing `text` (any case); empty lists everything again.
    pub fn set_tree_filter(&mut self, text: &str) {
        let filter = Some(text.to_lowercase()).filter(|t| !t.is_empty());
        if filter != self.tree_filter {
            self.tree_filter = filter;
            self.stale.listing = true;
        }
    }

    /// Ignores a path (and what is below it) for this session, as `--ignore-path` would.
    pub fn ignore_path(&mut self, path: &str) -> Result<(), crate::filter::PatternError> {
        let pattern = glob_escape(path);
        if self.ignored_paths.contains(&pattern) {
            return Ok(());
        }
        let mut ignored = self.ignored_paths.clone();
        ignored.push(pattern);
        self.set_patterns(ignored)
    }

    /// Forgets the paths ignored in this session.
    pub fn forget_ignored_paths(&mut self) -> usize {
        let count = self.ignored_paths.len();
        if count > 0 {
            let _ = self.set_patterns(Vec::new());
        }
        count
    }

    fn set_patterns(&mut self, ignored: Vec<String>) -> Result<(), crate::filter::PatternError> {
        let patterns: Vec<String> = self.base_patterns.iter().chain(&ignored).cloned().collect();
        let filter = Filter::new(self.filter.options(), &patterns)?;
        self.ignored_paths = ignored;
        self.set_filter(filter);
        Ok(())
    }

    /// Input 0 becomes input 1 and the other way round; everything is redone from memory.
    pub fn swap(&mut self) {
        self.swapped = !self.swapped;
        self.specs.swap(0, 1);
        swap_report(&mut self.report);
        self.created_by.swap();
        self.shapes.clear();
        // The filter is symmetric; statuses (added, removed) are not.
        self.stale.lens = true;
        self.stale.counts = true;
    }

    /// The hint for a strict-looking first screen: how many of the shown differences `--semantic`
    /// would hide, and what they are when one option covers nearly all of them.
    /// `counted`: what the current filter counts ([`Presentation::counted`]).
    fn semantic_hint(&self, counted: &[CountedAt]) -> Option<String> {
        let semantic_on = IgnoreOption::SEMANTIC
            .iter()
            .all(|o| self.filter.options().contains(o));
        let initial = self.filter.options() == self.initial_options.as_slice();
        if semantic_on || !initial || !self.report.finished {
            return None;
        }
        let mut options = self.filter.options().to_vec();
        options.extend(IgnoreOption::SEMANTIC);
        let semantic = Filter::new(&options, self.filter.patterns()).ok()?;
        // Counted as the verdict counts: what differs inside a file counts with the file, and
        // digest rows do not count.
        let still_shown = self.presentation(&semantic).shown_flags();
        let total = counted.len();
        let mut hidden = 0usize;
        let mut by_option: BTreeMap<IgnoreOption, usize> = BTreeMap::new();
        for c in counted {
            if still_shown.get(c.index).copied().unwrap_or(false) {
                continue;
            }
            hidden += 1;
            if let Some(option) = sole_option(c.aspects) {
                *by_option.entry(option).or_default() += 1;
            }
        }
        let dominant = by_option.iter().max_by_key(|(_, n)| **n);
        match dominant {
            Some((option, n)) if *n * 2 > total => Some(format!(
                "{n} of {total} differences are {} only",
                option_words(*option)
            )),
            _ if hidden * 2 > total => {
                let mut named: Vec<(&IgnoreOption, &usize)> = by_option.iter().collect();
                named.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
                let words: Vec<String> = named
                    .iter()
                    .take(3)
                    .map(|(o, n)| format!("{} {n}", option_words(**o)))
                    .collect();
                Some(format!(
                    "{hidden} of {total} differences are rebuild noise ({})",
                    words.join(", ")
                ))
            }
            _ => None,
        }
    }
}

/// Per difference: whether it is explained as the verdict counts it, on the aspects the filter
/// shows. What is inside a file stands with the file; a difference that only restates others (a
/// digest) is not left unexplained.
fn explained_flags(report: &Report, filter: &Filter) -> Vec<bool> {
    let ignored = filter.ignored_aspects();
    let mut file_of: HashMap<ContextId, usize> = HashMap::new();
    let mut flags = Vec::with_capacity(report.differences.len());
    for (index, d) in report.differences.iter().enumerate() {
        if let Some(inside) = d.nested.get() {
            file_of.insert(inside, index);
        }
        let flag = match file_of.get(&d.context) {
            Some(&file) => flags.get(file).copied().unwrap_or(false),
            None => {
                let aspects: AspectSet = (d.aspects().iter())
                    .filter(|a| !is_derived(d, *a) && !ignored.contains(*a))
                    .collect();
                (aspects.is_empty() && d.nested.is_none())
                    || Standing::of(d, aspects) != Standing::Unexplained
            }
        };
        flags.push(flag);
    }
    flags
}

/// The semantic option that alone covers every aspect a difference shows now, if there is one.
fn sole_option(shown_aspects: AspectSet) -> Option<IgnoreOption> {
    if shown_aspects.is_empty() {
        return None;
    }
    IgnoreOption::SEMANTIC
        .into_iter()
        .find(|o| o.aspects().is_superset(shown_aspects))
}

impl Session {
    /// Takes in the shapes of the differences that arrived since.
    fn update_shapes(&mut self) {
        let known = self.shapes.len();
        self.shapes.extend(
            self.report.differences[known..]
                .iter()
                .map(|d| Status::of(d, true)),
        );
    }
}

/// A path as a glob that matches only itself (and, as `--ignore-path` does, what is below it).
pub fn glob_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_path_matches_itself_and_not_what_its_glob_characters_would() {
        let path = "usr/share/[x]*?{a,b}\\!";
        let filter = Filter::new(&[], &[glob_escape(path)]).unwrap();
        assert!(filter.ignores_path(path));
        assert!(filter.ignores_path(&format!("{path}/below")));
        assert!(!filter.ignores_path("usr/share/x"));
        assert!(!filter.ignores_path("usr/share/[x]zz{a,b}\\!"));
    }

    #[test]
    fn streaming_refreshes_take_at_most_a_share_of_the_time() {
        let started = Instant::now();
        let at = |ms| started + Duration::from_millis(ms);
        assert!(refresh_due(None, at(0)));
        let cheap = Some((started, Duration::from_millis(5)));
        assert!(!refresh_due(cheap, at(299)));
        assert!(refresh_due(cheap, at(300)));
        // A refresh of a second (a million differences) waits four.
        let costly = Some((started, Duration::from_secs(1)));
        assert!(!refresh_due(costly, at(2_000)));
        assert!(refresh_due(costly, at(4_000)));
    }
}
