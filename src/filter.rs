//! Ignore options as predicates over aspects and paths, applied when results are presented.
//!
//! Nothing here reads an image: changing a filter only re-evaluates these predicates over a [`Report`].

use std::collections::{BTreeMap, HashSet};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::model::{
    Aspect, AspectSet, Context, ContextId, ContextKind, Delta, DiffKind, Difference, Report,
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
        })
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
        self.options.is_empty() && self.patterns.is_empty()
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
        Filter::new(&options, &self.patterns).unwrap_or_else(|_| self.clone())
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
    pub deltas: Vec<&'r Delta>,
}

/// A report seen through a filter and a view.
pub struct Presentation<'r> {
    report: &'r Report,
    filter: &'r Filter,
    merged_manifests: HashSet<ContextId>,
    view: View,
}

impl<'r> Presentation<'r> {
    pub fn new(report: &'r Report, filter: &'r Filter, view: View) -> Self {
        Presentation {
            report,
            filter,
            merged_manifests: manifests_with_layer_count_mismatch(report),
            view,
        }
    }

    /// Whether a difference belongs to the chosen file view (non-file differences belong to both).
    pub fn in_view(&self, difference: &Difference) -> bool {
        let id = difference.context;
        let merged = self.report.in_merged_view(id);
        let layered = self.report.in_layer_view(id);
        let split_differs = self
            .report
            .ancestry(id)
            .any(|c| self.merged_manifests.contains(&c.id));
        // Where the layer counts differ, layer i of one image is not layer i of the other: what is said
        // about the layers (descriptors, entry counts, the count itself) belongs to the per-layer view.
        let layer_split = split_differs
            && (layered || (difference.kind == DiffKind::Mani && difference.key == "layers"));
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

    /// The differences that survive the filter, in report order.
    pub fn shown(&self) -> Vec<Shown<'r>> {
        let (primary, lit) = self.primary_pass(self.filter);
        self.with_derived(self.filter, primary, &lit)
    }

    /// For each difference of the report, in report order, whether the filter shows it.
    pub fn shown_flags(&self) -> Vec<bool> {
        let shown: HashSet<*const Difference> = self
            .shown()
            .iter()
            .map(|s| s.difference as *const _)
            .collect();
        self.report
            .differences
            .iter()
            .map(|d| shown.contains(&(d as *const _)))
            .collect()
    }

    /// Whether a layer or merged-filesystem context belongs to the chosen view (others always do).
    pub fn context_in_view(&self, context: &Context) -> bool {
        let split_differs = self
            .report
            .ancestry(context.id)
            .any(|c| self.merged_manifests.contains(&c.id));
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

    /// For each active option, how many differences it alone hides (shown if just that option were off).
    pub fn hidden_by_option(&self) -> BTreeMap<IgnoreOption, usize> {
        let shown: HashSet<*const Difference> = self
            .shown()
            .iter()
            .map(|s| s.difference as *const _)
            .collect();
        let mut counts = BTreeMap::new();
        for &option in self.filter.options() {
            let without = self.filter.toggled(option);
            let (primary, lit) = self.primary_pass(&without);
            let count = self
                .with_derived(&without, primary, &lit)
                .iter()
                .filter(|s| !shown.contains(&(s.difference as *const _)))
                .count();
            counts.insert(option, count);
        }
        counts
    }

    /// How many differences the path patterns hide.
    pub fn hidden_by_paths(&self) -> usize {
        if self.filter.patterns().is_empty() {
            return 0;
        }
        self.report
            .differences
            .iter()
            .filter(|d| {
                d.kind == DiffKind::File && self.in_view(d) && self.filter.ignores_path(&d.key)
            })
            .count()
    }

    /// First pass: non-derived deltas; returns them per difference and the contexts they light up
    /// (with all their ancestors).
    fn primary_pass(&self, filter: &Filter) -> (Vec<Vec<&'r Delta>>, HashSet<ContextId>) {
        let mut lit = HashSet::new();
        let primary: Vec<Vec<&Delta>> = self
            .report
            .differences
            .iter()
            .map(|d| {
                if !self.in_view(d) || (d.kind == DiffKind::File && filter.ignores_path(&d.key)) {
                    return Vec::new();
                }
                let deltas: Vec<&Delta> = d
                    .deltas
                    .iter()
                    .filter(|x| !x.aspect.is_derived() && filter.shows_aspect(x.aspect))
                    .collect();
                if !deltas.is_empty() {
                    lit.extend(self.report.ancestry(d.context).map(|c| c.id));
                }
                deltas
            })
            .collect();
        (primary, lit)
    }

    fn with_derived(
        &self,
        filter: &Filter,
        primary: Vec<Vec<&'r Delta>>,
        lit: &HashSet<ContextId>,
    ) -> Vec<Shown<'r>> {
        self.report
            .differences
            .iter()
            .zip(primary)
            .filter_map(|(d, mut deltas)| {
                let derived_allowed = self.in_view(d)
                    && !(d.kind == DiffKind::File && filter.ignores_path(&d.key))
                    && (filter.is_strict() || lit.contains(&d.context));
                if derived_allowed {
                    let derived = d
                        .deltas
                        .iter()
                        .filter(|x| x.aspect.is_derived() && filter.shows_aspect(x.aspect));
                    deltas.extend(derived);
                    deltas.sort_by_key(|x| d.deltas.iter().position(|y| std::ptr::eq(*x, y)));
                }
                (!deltas.is_empty()).then_some(Shown {
                    difference: d,
                    deltas,
                })
            })
            .collect()
    }
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
