//! Ignore options as predicates over aspects and paths, applied when results are presented.
//!
//! Nothing here reads an image: changing a filter only re-evaluates these predicates over a [`Report`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::model::{
    Aspect, AspectSet, Context, ContextId, ContextKind, Delta, DiffKind, Difference, Report,
    Severity,
};

/// One user-facing ignore option, with the aspects it hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IgnoreOption {
    FileTimestamps,
    ImageTimestamps,
    History,
    FileOrder,
    FileModeRedundantBits,
    ImageName,
    TarFormat,
    CanonicalPaths,
    MediaTypes,
    Owner,
    Mode,
}

impl IgnoreOption {
    pub const ALL: [IgnoreOption; 11] = [
        IgnoreOption::FileTimestamps,
        IgnoreOption::ImageTimestamps,
        IgnoreOption::History,
        IgnoreOption::FileOrder,
        IgnoreOption::FileModeRedundantBits,
        IgnoreOption::ImageName,
        IgnoreOption::TarFormat,
        IgnoreOption::CanonicalPaths,
        IgnoreOption::MediaTypes,
        IgnoreOption::Owner,
        IgnoreOption::Mode,
    ];

    /// What `--semantic` turns on: all of diffoci's options, plus media types (so that the same image
    /// stored as gzip vs zstd, or as OCI vs Docker types, compares equal).
    pub const SEMANTIC: [IgnoreOption; 9] = [
        IgnoreOption::FileTimestamps,
        IgnoreOption::ImageTimestamps,
        IgnoreOption::History,
        IgnoreOption::FileOrder,
        IgnoreOption::FileModeRedundantBits,
        IgnoreOption::ImageName,
        IgnoreOption::TarFormat,
        IgnoreOption::CanonicalPaths,
        IgnoreOption::MediaTypes,
    ];

    pub fn aspects(self) -> AspectSet {
        match self {
            IgnoreOption::FileTimestamps => Aspect::FileTime.into(),
            IgnoreOption::ImageTimestamps => Aspect::ImageTime.into(),
            IgnoreOption::History => Aspect::History.into(),
            IgnoreOption::FileOrder => Aspect::Order.into(),
            IgnoreOption::FileModeRedundantBits => Aspect::ModeTypeBits.into(),
            IgnoreOption::ImageName => Aspect::ImageName.into(),
            IgnoreOption::TarFormat => Aspect::TarFormat.into(),
            IgnoreOption::CanonicalPaths => Aspect::NameSpelling.into(),
            IgnoreOption::MediaTypes => Aspect::MediaType.into(),
            IgnoreOption::Owner => Aspect::Owner.into(),
            IgnoreOption::Mode => Aspect::Mode | Aspect::ModeTypeBits,
        }
    }

    /// The command-line flag, without `--`.
    pub fn flag(self) -> &'static str {
        match self {
            IgnoreOption::FileTimestamps => "ignore-file-timestamps",
            IgnoreOption::ImageTimestamps => "ignore-image-timestamps",
            IgnoreOption::History => "ignore-history",
            IgnoreOption::FileOrder => "ignore-file-order",
            IgnoreOption::FileModeRedundantBits => "ignore-file-mode-redundant-bits",
            IgnoreOption::ImageName => "ignore-image-name",
            IgnoreOption::TarFormat => "ignore-tar-format",
            IgnoreOption::CanonicalPaths => "treat-canonical-paths-equal",
            IgnoreOption::MediaTypes => "ignore-media-types",
            IgnoreOption::Owner => "ignore-owner",
            IgnoreOption::Mode => "ignore-mode",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bad ignore pattern {pattern:?}: {source}")]
pub struct PatternError {
    pub pattern: String,
    #[source]
    pub source: globset::Error,
}

/// The active ignore options and path patterns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    options: Vec<IgnoreOption>,
    ignored: AspectSet,
    patterns: Vec<String>,
    paths: GlobSet,
    /// `--ignore-noise`: hide what the noise rules explain as noise.
    ignore_noise: bool,
}

impl Filter {
    pub fn new(options: &[IgnoreOption], patterns: &[String]) -> Result<Filter, PatternError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            for variant in pattern_variants(pattern) {
                let glob = Glob::new(&variant).map_err(|source| PatternError {
                    pattern: pattern.clone(),
                    source,
                })?;
                builder.add(glob);
            }
        }
        let paths = builder.build().map_err(|source| PatternError {
            pattern: patterns.join(" "),
            source,
        })?;
        let mut options = options.to_vec();
        options.sort();
        options.dedup();
        let ignored = options
            .iter()
            .map(|o| o.aspects())
            .fold(AspectSet::empty(), |a, b| a | b);
        Ok(Filter {
            options,
            ignored,
            patterns: patterns.to_vec(),
            paths,
            ignore_noise: false,
        })
    }

    /// The same filter, hiding (or not) what the noise rules explain as noise.
    pub fn with_ignore_noise(mut self, ignore_noise: bool) -> Filter {
        self.ignore_noise = ignore_noise;
        self
    }

    pub fn ignores_noise(&self) -> bool {
        self.ignore_noise
    }

    pub fn options(&self) -> &[IgnoreOption] {
        &self.options
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn ignored_aspects(&self) -> AspectSet {
        self.ignored
    }

    /// Strict mode: nothing is ignored (diffoci without flags).
    pub fn is_strict(&self) -> bool {
        self.options.is_empty() && self.patterns.is_empty() && !self.ignore_noise
    }

    /// The same filter with one option toggled, as the explorer's keys do.
    pub fn toggled(&self, option: IgnoreOption) -> Filter {
        let mut options = self.options.clone();
        match options.iter().position(|o| *o == option) {
            Some(i) => {
                options.remove(i);
            }
            None => options.push(option),
        }
        Filter::new(&options, &self.patterns)
            .map(|f| f.with_ignore_noise(self.ignore_noise))
            .unwrap_or_else(|_| self.clone())
    }

    pub fn ignores_path(&self, path: &str) -> bool {
        !self.patterns.is_empty() && self.paths.is_match(path)
    }

    fn shows_aspect(&self, aspect: Aspect) -> bool {
        !self.ignored.contains(aspect)
    }
}

/// `usr/share/doc` matches itself and everything below it; a leading `/` is optional.
fn pattern_variants(pattern: &str) -> Vec<String> {
    let trimmed = pattern.trim_start_matches('/').trim_end_matches('/');
    let base = if trimmed.is_empty() {
        "**".to_owned()
    } else {
        trimmed.to_owned()
    };
    vec![base.clone(), format!("{base}/**")]
}

/// Which file view a presentation shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Layer i of each image, as diffoci does.
    PerLayer,
    /// Each image's final filesystem.
    Merged,
    /// Per-layer where the layer counts match, merged where they differ.
    Auto,
}

/// A difference with the deltas that survive the filter.
#[derive(Debug, Clone)]
pub struct Shown<'r> {
    pub difference: &'r Difference,
    /// The aspects whose deltas the filter shows. For one difference, whether a delta shows depends on
    /// its aspect alone: a set of 4 bytes, not a list of deltas (a `Shown` is 16 bytes, was 40).
    aspects: AspectSet,
}

impl<'r> Shown<'r> {
    /// `difference` as the filter shows it: the deltas whose aspects are among `aspects`.
    pub fn new(difference: &'r Difference, aspects: AspectSet) -> Shown<'r> {
        Shown {
            difference,
            aspects,
        }
    }

    /// Its difference's deltas as the filter shows them.
    pub fn deltas(&self) -> ShownDeltas<'r> {
        ShownDeltas {
            all: self.difference.deltas(),
            aspects: self.aspects,
        }
    }

    /// Whether the filter shows any of its deltas.
    pub fn shows_a_delta(&self) -> bool {
        !self.aspects.is_empty()
    }

    /// The aspects it shows of its own, not those that only restate others ([`is_derived`]).
    pub fn own_aspects(&self) -> AspectSet {
        (self.aspects.iter())
            .filter(|a| !is_derived(self.difference, *a))
            .collect()
    }
}

/// A shown difference's deltas: most are derived from its entries when asked, so they are held here
/// while they are read.
pub struct ShownDeltas<'r> {
    all: Cow<'r, [Delta]>,
    aspects: AspectSet,
}

impl ShownDeltas<'_> {
    /// The deltas the filter shows, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Delta> + Clone {
        let aspects = self.aspects;
        self.all.iter().filter(move |x| aspects.contains(x.aspect))
    }

    /// Each delta, in order, with whether the filter shows it.
    pub fn marked(&self) -> impl Iterator<Item = (&Delta, bool)> {
        let aspects = self.aspects;
        self.all
            .iter()
            .map(move |x| (x, aspects.contains(x.aspect)))
    }
}

/// Shown differences as every output counts them ([`counts_as_one`]), and the other shown rows.
#[derive(Debug, Default)]
pub struct Tally<'s, 'r> {
    /// The differences that count, in report order.
    pub counted: Vec<Counted<'s, 'r>>,
    /// Rows of what differs inside a file: they count with the file.
    pub member_rows: usize,
    /// Rows that only restate others, by what they restate with (`digest`, `entry-count`).
    pub restating_rows: BTreeMap<Aspect, usize>,
}

/// A shown difference that counts as one.
#[derive(Debug)]
pub struct Counted<'s, 'r> {
    pub shown: &'s Shown<'r>,
    /// The aspects it shows of its own ([`Shown::own_aspects`]).
    pub own: AspectSet,
    /// Its own aspects and those of what differs inside it (a file compared inside shows its
    /// members' changes).
    pub aspects: AspectSet,
}

impl Tally<'_, '_> {
    /// How many differences count.
    pub fn differences(&self) -> usize {
        self.counted.len()
    }
}

/// A shown difference that counts as one, by its place in the report: what [`tally`] counts,
/// worked out from a presentation's columns ([`Presentation::counted`]) without the shown deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedAt {
    /// Its index in the report's differences.
    pub index: usize,
    /// As [`Counted::own`].
    pub own: AspectSet,
    /// As [`Counted::aspects`].
    pub aspects: AspectSet,
}

/// How one shown difference counts ([`counts_as_one`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// As one difference, with the aspects it shows of its own and, for a file compared inside, the
    /// context of its members.
    One {
        own: AspectSet,
        inside: Option<ContextId>,
    },
    /// As a row of what differs inside a file (`file`: the outermost one's members context); its
    /// aspects count with that file.
    Member {
        own: AspectSet,
        file: Option<ContextId>,
    },
    /// As a row that only restates others, by what it restates with.
    Restating(Aspect),
}

impl Counts {
    pub fn of(report: &Report, shown: &Shown<'_>) -> Counts {
        let d = shown.difference;
        let own = shown.own_aspects();
        let inside_a_file = report.is_inside_a_file(d);
        if counts_as_one(inside_a_file, d.nested.is_some(), own) {
            Counts::One {
                own,
                inside: d.nested.get(),
            }
        } else if inside_a_file {
            Counts::Member {
                own,
                file: report.outermost_file(d.context),
            }
        } else {
            let restating = (shown.deltas().iter())
                .map(|x| x.aspect)
                .find(|a| a.is_derived());
            Counts::Restating(restating.unwrap_or(Aspect::Digest))
        }
    }
}

/// Sorts shown differences into those that count as one and the rows that do not.
pub fn tally<'s, 'r>(report: &Report, shown: &'s [Shown<'r>]) -> Tally<'s, 'r> {
    let mut tally = Tally::default();
    // The nested context of each counted file, to give its members' aspects to it.
    let mut file_of: HashMap<ContextId, usize> = HashMap::new();
    for s in shown {
        match Counts::of(report, s) {
            Counts::One { own, inside } => {
                if let Some(inside) = inside {
                    file_of.insert(inside, tally.counted.len());
                }
                tally.counted.push(Counted {
                    shown: s,
                    own,
                    aspects: own,
                });
            }
            Counts::Member { own, file } => {
                tally.member_rows += 1;
                if let Some(&i) = file.and_then(|c| file_of.get(&c)) {
                    tally.counted[i].aspects |= own;
                }
            }
            Counts::Restating(aspect) => *tally.restating_rows.entry(aspect).or_default() += 1,
        }
    }
    tally
}

/// A report seen through a filter and a view.
pub struct Presentation<'r> {
    report: &'r Report,
    filter: &'r Filter,
    /// Where each context sits, worked out once so that judging a difference takes no tree walk.
    places: HashMap<ContextId, Place>,
    view: View,
    /// Per difference: whether it belongs to the view (independent of the filter, so computed once).
    in_view: Cow<'r, [bool]>,
    /// Per difference: the aspects of its non-derived deltas, and of its derived ones. With these, a
    /// filter pass is bitset tests and does not touch the deltas.
    aspects: Cow<'r, [(AspectSet, AspectSet)]>,
    /// Per difference: the aspects its noise explanations account for (`--ignore-noise` hides them).
    noise: Cow<'r, [AspectSet]>,
    /// Per difference: whether it counts as one difference of its own ([`counts_as_one`]).
    counted: Cow<'r, [bool]>,
    /// Per difference: its context and the one that lights its derived deltas ([`lit_by`]), in a
    /// column, so that a filter pass does not walk the differences themselves.
    homes: Cow<'r, [(ContextId, ContextId)]>,
}

/// What a [`Presentation`] works out from the report and the view alone (which differences belong to
/// the view, the aspects of each), for a caller that changes filters often and keeps it: the
/// explorer, on every filter key ([`Presentation::with_basis`]).
#[derive(Debug, Clone, Default)]
pub struct Basis {
    in_view: Vec<bool>,
    aspects: Vec<(AspectSet, AspectSet)>,
    noise: Vec<AspectSet>,
    counted: Vec<bool>,
    homes: Vec<(ContextId, ContextId)>,
}

impl Basis {
    pub fn new(report: &Report, view: View) -> Basis {
        let filter = Filter::default();
        let presentation = Presentation::new(report, &filter, view);
        Basis {
            in_view: presentation.in_view.into_owned(),
            aspects: presentation.aspects.into_owned(),
            noise: presentation.noise.into_owned(),
            counted: presentation.counted.into_owned(),
            homes: presentation.homes.into_owned(),
        }
    }
}

/// A context's place in the tree, as the views need it.
#[derive(Debug, Clone, Copy, Default)]
struct Place {
    /// In a merged filesystem.
    merged: bool,
    /// In a layer of the per-layer view.
    layered: bool,
    /// Under a manifest whose layer counts differ.
    split_differs: bool,
    /// Inside a file compared inside: the outermost such file's nested context.
    outermost_file: Option<ContextId>,
}

impl<'r> Presentation<'r> {
    pub fn new(report: &'r Report, filter: &'r Filter, view: View) -> Self {
        let aspects = report
            .differences
            .iter()
            .map(|d| {
                // From the aspects alone: this runs for every difference each time the explorer's
                // filter changes.
                let aspects = d.aspects();
                let derived: AspectSet = (aspects.iter()).filter(|a| is_derived(d, *a)).collect();
                (aspects - derived, derived)
            })
            .collect::<Vec<_>>();
        let counted = report
            .differences
            .iter()
            .zip(&aspects)
            .map(|(d, (primary, _))| {
                counts_as_one(report.is_inside_a_file(d), d.nested.is_some(), *primary)
            })
            .collect();
        let mut presentation = Presentation {
            report,
            filter,
            places: places(report),
            view,
            in_view: Cow::Owned(Vec::new()),
            aspects: Cow::Owned(aspects),
            noise: Cow::Owned(report.differences.iter().map(noise_aspects).collect()),
            counted: Cow::Owned(counted),
            homes: Cow::Owned(
                report
                    .differences
                    .iter()
                    .map(|d| (d.context, lit_by(d)))
                    .collect(),
            ),
        };
        presentation.in_view = report
            .differences
            .iter()
            .map(|d| presentation.in_view(d))
            .collect();
        presentation
    }

    /// [`new`](Self::new) from a [`Basis`] made from this report, as it is now, and this view.
    pub fn with_basis(
        report: &'r Report,
        filter: &'r Filter,
        view: View,
        basis: &'r Basis,
    ) -> Self {
        Presentation {
            report,
            filter,
            places: places(report),
            view,
            in_view: Cow::Borrowed(&basis.in_view),
            aspects: Cow::Borrowed(&basis.aspects),
            noise: Cow::Borrowed(&basis.noise),
            counted: Cow::Borrowed(&basis.counted),
            homes: Cow::Borrowed(&basis.homes),
        }
    }

    fn place(&self, id: ContextId) -> Place {
        self.places.get(&id).copied().unwrap_or_default()
    }

    /// Whether a difference belongs to the chosen file view (non-file differences belong to both).
    pub fn in_view(&self, difference: &Difference) -> bool {
        let place = self.place(difference.context);
        let (merged, layered, split_differs) = (place.merged, place.layered, place.split_differs);
        // Where the layer counts differ, layer i of one image is not layer i of the other: what is said
        // about the layers (descriptors, entry counts, the count itself) belongs to the per-layer view.
        let layer_split = split_differs
            && (layered || (difference.kind == DiffKind::Mani && difference.key() == "layers"));
        let belongs_to_a_file_view =
            merged || (layered && difference.kind == DiffKind::File) || layer_split;
        if !belongs_to_a_file_view {
            return true;
        }
        let wants_merged = match self.view {
            View::PerLayer => false,
            View::Merged => true,
            View::Auto => split_differs,
        };
        if merged { wants_merged } else { !wants_merged }
    }

    /// The differences that survive the filter, in report order, with the deltas it shows.
    pub fn shown(&self) -> Vec<Shown<'r>> {
        let (flags, lit) = self.flags(self.filter);
        self.report
            .differences
            .iter()
            .zip(flags)
            .zip(self.noise.iter())
            .filter(|((_, shown), _)| *shown)
            .map(|((d, _), noise)| {
                let derived_allowed = self.filter.is_strict() || lit.contains(&lit_by(d));
                let hidden_noise = if self.filter.ignore_noise {
                    *noise
                } else {
                    AspectSet::empty()
                };
                let aspects = (d.aspects().iter())
                    .filter(|a| {
                        self.filter.shows_aspect(*a)
                            && !hidden_noise.contains(*a)
                            && (!is_derived(d, *a) || derived_allowed)
                    })
                    .collect();
                Shown::new(d, aspects)
            })
            .collect()
    }

    /// For each difference of the report, in report order, whether the filter shows it.
    pub fn shown_flags(&self) -> Vec<bool> {
        self.flags(self.filter).0
    }

    /// The shown differences that count, as [`tally`] of [`shown`](Self::shown) counts them, from
    /// the columns alone: the explorer counts after every filter key, and reading every
    /// difference's deltas took it 50 ms a pass at 170,000 differences.
    pub fn counted(&self) -> Vec<CountedAt> {
        let (flags, _) = self.flags(self.filter);
        let visible = !self.filter.ignored_aspects();
        let mut counted: Vec<CountedAt> = Vec::new();
        let mut file_of: HashMap<ContextId, usize> = HashMap::new();
        // Differences come grouped by context: where the last one lay is asked once per context.
        let mut last: Option<(ContextId, bool, Option<ContextId>)> = None;
        let columns = self
            .homes
            .iter()
            .zip(self.aspects.iter())
            .zip(self.noise.iter());
        for (index, ((&(context, lit_by), (primary, _)), noise)) in columns.enumerate() {
            if !flags[index] {
                continue;
            }
            let hidden_noise = if self.filter.ignore_noise {
                *noise
            } else {
                AspectSet::empty()
            };
            let own = (*primary & visible) - hidden_noise;
            let (inside_a_file, outermost_file) = match last {
                Some((c, inside, outer)) if c == context => (inside, outer),
                _ => {
                    let inside = self.report.is_nested(context);
                    let outer = self.report.outermost_file(context);
                    last = Some((context, inside, outer));
                    (inside, outer)
                }
            };
            // A file compared inside is the one difference whose derived deltas its nested
            // context lights (see `lit_by`).
            let nested = (lit_by != context).then_some(lit_by);
            if counts_as_one(inside_a_file, nested.is_some(), own) {
                if let Some(inside) = nested {
                    file_of.insert(inside, counted.len());
                }
                counted.push(CountedAt {
                    index,
                    own,
                    aspects: own,
                });
            } else if inside_a_file && let Some(&i) = outermost_file.and_then(|c| file_of.get(&c)) {
                counted[i].aspects |= own;
            }
        }
        counted
    }

    /// Whether a layer or merged-filesystem context belongs to the chosen view (others always do).
    pub fn context_in_view(&self, context: &Context) -> bool {
        let split_differs = self.place(context.id).split_differs;
        let wants_merged = match self.view {
            View::PerLayer => false,
            View::Merged => true,
            View::Auto => split_differs,
        };
        match context.kind {
            ContextKind::MergedFs => wants_merged,
            ContextKind::Layer { .. } => !wants_merged,
            _ => true,
        }
    }

    /// For each active option, how many differences it alone hides (shown if just that option were
    /// off), counted as [`counts_as_one`] says: a file whose inside is hidden counts once.
    pub fn hidden_by_option(&self) -> BTreeMap<IgnoreOption, usize> {
        let shown = self.flags(self.filter).0;
        self.filter
            .options()
            .iter()
            .map(|&option| {
                let without = self.flags(&self.filter.toggled(option)).0;
                (option, self.count_hidden(&without, &shown))
            })
            .collect()
    }

    /// How many differences `--ignore-noise` alone hides (0 when it is off).
    pub fn hidden_by_noise(&self) -> usize {
        if !self.filter.ignore_noise {
            return 0;
        }
        let shown = self.flags(self.filter).0;
        let without = self.flags(&self.filter.clone().with_ignore_noise(false)).0;
        self.count_hidden(&without, &shown)
    }

    /// How many differences shown `without` a filter are not shown with it, each counted only if it
    /// [`counts_as_one`].
    fn count_hidden(&self, without: &[bool], with: &[bool]) -> usize {
        without
            .iter()
            .zip(with)
            .zip(self.counted.iter())
            .filter(|((w, s), counted)| **w && !**s && **counted)
            .count()
    }

    /// How many file differences the path patterns hide (what differs inside them counts with them).
    pub fn hidden_by_paths(&self) -> usize {
        if self.filter.patterns().is_empty() {
            return 0;
        }
        self.report
            .differences
            .iter()
            .zip(self.in_view.iter())
            .zip(self.counted.iter())
            .filter(|((d, in_view), counted)| {
                **in_view && **counted && self.hides_by_path(self.filter, d)
            })
            .count()
    }

    /// Whether `filter`'s path patterns hide a file difference. A member of a file compared inside
    /// is judged by the path of the outermost file, so that it goes with it.
    fn hides_by_path(&self, filter: &Filter, d: &Difference) -> bool {
        if d.kind != DiffKind::File || filter.patterns().is_empty() {
            return false;
        }
        let outer_file = self.place(d.context).outermost_file.and_then(|id| {
            match &self.report.context(id)?.kind {
                ContextKind::Nested { file, .. } => Some(file.as_str()),
                _ => None,
            }
        });
        filter.ignores_path(outer_file.unwrap_or(d.key()))
    }

    /// Which differences `filter` shows, and the contexts lit by a shown non-derived delta (with their
    /// ancestors). A derived delta (a digest) is shown in strict mode or where its context is lit. No
    /// allocation per difference: this runs once per option for the counts.
    fn flags(&self, filter: &Filter) -> (Vec<bool>, HashSet<ContextId>) {
        let candidate: Vec<bool> = if filter.patterns().is_empty() {
            self.in_view.to_vec()
        } else {
            self.report
                .differences
                .iter()
                .zip(self.in_view.iter())
                .map(|(d, in_view)| *in_view && !self.hides_by_path(filter, d))
                .collect()
        };
        let visible = !filter.ignored_aspects();
        let mut lit = HashSet::new();
        // Differences come grouped by context: the last context lit saves a lookup per difference.
        let mut last_lit = None;
        let mut flags: Vec<bool> = self
            .homes
            .iter()
            .zip(&candidate)
            .zip(self.aspects.iter())
            .zip(self.noise.iter())
            .map(|((((context, _), candidate), (primary, _)), noise)| {
                let primary = if filter.ignore_noise {
                    *primary - *noise
                } else {
                    *primary
                };
                let shown = *candidate && !(primary & visible).is_empty();
                if shown && last_lit != Some(*context) {
                    // Once a context is lit, so are all its ancestors: no need to walk up again.
                    for c in self.report.ancestry(*context) {
                        if !lit.insert(c.id) {
                            break;
                        }
                    }
                    last_lit = Some(*context);
                }
                shown
            })
            .collect();
        let mut last_lookup: Option<(ContextId, bool)> = None;
        let mut is_lit = |context: ContextId| match last_lookup {
            Some((c, answer)) if c == context => answer,
            _ => {
                let answer = lit.contains(&context);
                last_lookup = Some((context, answer));
                answer
            }
        };
        let derived_candidates = self.homes.iter().zip(&candidate).zip(self.aspects.iter());
        for ((((_, lit_by), candidate), (_, derived)), flag) in
            derived_candidates.zip(flags.iter_mut())
        {
            if !*flag && *candidate && (filter.is_strict() || is_lit(*lit_by)) {
                *flag = !(*derived & visible).is_empty();
            }
        }
        (flags, lit)
    }
}

/// Whether a difference counts as one difference of its own, given the aspects it has of its own
/// (not derived): what differs inside a file counts with the file, and a difference that only
/// restates others (a digest, an entry count) does not count. The verdict and the hidden counts
/// count alike.
pub fn counts_as_one(inside_a_file: bool, compared_inside: bool, own: AspectSet) -> bool {
    !inside_a_file && (!own.is_empty() || compared_inside)
}

/// The aspects a difference's noise explanations account for; none when it has an alert (modified
/// after install…), which no noise rule explains away.
fn noise_aspects(difference: &Difference) -> AspectSet {
    let explanations = &difference.explanations;
    if explanations.iter().any(|e| e.severity == Severity::Alert) {
        return AspectSet::empty();
    }
    explanations
        .iter()
        .filter(|e| e.severity == Severity::Noise)
        .fold(AspectSet::empty(), |all, e| all | e.aspects)
}

/// Whether deltas of this aspect only restate others: a digest, an entry count, or the content of a file
/// whose inside was compared (its members' differences say what differs).
pub fn is_derived(difference: &Difference, aspect: Aspect) -> bool {
    aspect.is_derived() || (difference.nested.is_some() && aspect == Aspect::Content)
}

/// The context whose shown differences show a difference's derived deltas: its nested context for a
/// file compared inside, else its own.
fn lit_by(difference: &Difference) -> ContextId {
    difference.nested.get().unwrap_or(difference.context)
}

/// Manifest contexts whose layer counts differ: there the per-layer view is noise (diffoci #77).
fn manifests_with_layer_count_mismatch(report: &Report) -> HashSet<ContextId> {
    report
        .contexts
        .iter()
        .filter(|c| matches!(c.kind, ContextKind::Layer { .. }))
        .filter(|c| c.descriptors.input0.is_none() || c.descriptors.input1.is_none())
        .filter_map(|c| c.parent)
        .collect()
}

fn places(report: &Report) -> HashMap<ContextId, Place> {
    let split = manifests_with_layer_count_mismatch(report);
    report
        .contexts
        .iter()
        .map(|c| {
            let mut place = Place::default();
            for ancestor in report.ancestry(c.id) {
                place.merged |= ancestor.kind == ContextKind::MergedFs;
                place.layered |= matches!(ancestor.kind, ContextKind::Layer { .. });
                place.split_differs |= split.contains(&ancestor.id);
            }
            place.outermost_file = report.outermost_file(c.id);
            (c.id, place)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_match_the_path_and_everything_below() {
        let f = Filter::new(&[], &["/var/log".into(), "*.pyc".into()]).unwrap();
        assert!(f.ignores_path("var/log"));
        assert!(f.ignores_path("var/log/dpkg.log"));
        assert!(!f.ignores_path("var/logs"));
        assert!(f.ignores_path("usr/lib/x.pyc"));
        assert!(!f.ignores_path("etc/passwd"));
    }

    #[test]
    fn deltas_are_marked_shown_by_their_aspects() {
        let delta = |aspect, field: &'static str| {
            Delta::new(aspect, field, serde_json::json!(1), serde_json::json!(2))
        };
        let difference = Difference {
            id: Default::default(),
            context: ContextId(0),
            kind: DiffKind::File,
            key: "etc/a".into(),
            deltas: vec![
                delta(Aspect::Mode, "a"),
                delta(Aspect::FileTime, "b"),
                delta(Aspect::Owner, "c"),
                delta(Aspect::FileTime, "d"),
            ]
            .into(),
            entries: Default::default(),
            origin: Default::default(),
            nested: Default::default(),
            explanations: Default::default(),
        };
        let shown = Shown::new(&difference, Aspect::FileTime.into());
        let deltas = shown.deltas();
        let marks: Vec<(&str, bool)> = (deltas.marked())
            .map(|(d, shown)| (d.field.as_ref(), shown))
            .collect();
        assert_eq!(
            marks,
            [("a", false), ("b", true), ("c", false), ("d", true)]
        );
        let deltas = shown.deltas();
        let fields: Vec<&str> = deltas.iter().map(|d| d.field.as_ref()).collect();
        assert_eq!(fields, ["b", "d"]);
        let none = Shown::new(&difference, AspectSet::empty());
        assert!(none.deltas().marked().all(|(_, shown)| !shown));
        assert!(!none.shows_a_delta());
    }

    #[test]
    fn toggling_an_option_adds_and_removes_it() {
        let f = Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap();
        assert!(f.ignored_aspects().contains(Aspect::FileTime));
        let g = f.toggled(IgnoreOption::FileTimestamps);
        assert!(!g.ignored_aspects().contains(Aspect::FileTime));
        assert!(
            g.toggled(IgnoreOption::FileTimestamps)
                .ignored_aspects()
                .contains(Aspect::FileTime)
        );
    }
}
