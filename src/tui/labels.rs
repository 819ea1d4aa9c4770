//! The explorer's words: status markers, badges, context and property labels, option and view names.
//! One table each, read by the rows, the detail pane, the status bar and the legend alike, so what a
//! marker means on screen is what the legend says.

use crate::explain::{Standing, has_alert};
use crate::filter::{IgnoreOption, View, is_derived};
use crate::model::{
    Aspect, AspectSet, Context, ContextKind, Delta, DiffKind, Difference, Severity,
};

use super::tree::{Status, StatusCounts};

/// A status: its marker in the tree, its name, and what it means.
pub struct StatusWords {
    pub status: Status,
    pub marker: char,
    pub name: &'static str,
    pub meaning: &'static str,
}

pub const STATUSES: [StatusWords; 5] = [
    StatusWords {
        status: Status::Added,
        marker: '+',
        name: "added",
        meaning: "only in input 1",
    },
    StatusWords {
        status: Status::Removed,
        marker: '-',
        name: "removed",
        meaning: "only in input 0",
    },
    StatusWords {
        status: Status::TypeChanged,
        marker: '!',
        name: "type changed",
        meaning: "file ↔ dir ↔ link…",
    },
    StatusWords {
        status: Status::Modified,
        marker: '~',
        name: "modified",
        meaning: "see the badges",
    },
    StatusWords {
        status: Status::Unchanged,
        marker: '=',
        name: "unchanged",
        meaning: "same, or filtered out",
    },
];

pub fn status_words(status: Status) -> &'static StatusWords {
    &STATUSES[status as usize]
}

/// The marker of a row: its own status if it is a listed difference, else what is inside it (one
/// status if all inside share it, `~` if mixed), else `=` for a listed unchanged entry, else none.
pub fn row_marker(own: Option<Status>, inside: StatusCounts) -> Option<char> {
    match own {
        Some(status) if status != Status::Unchanged => Some(status_words(status).marker),
        _ if inside.total() > 0 => Some(inside.single().map_or('~', |s| status_words(s).marker)),
        Some(status) => Some(status_words(status).marker),
        None => None,
    }
}

/// A badge: the letter shown after a row for an aspect that differs, and what it means.
pub struct Badge {
    pub aspect: Option<Aspect>,
    pub letter: char,
    pub meaning: &'static str,
}

/// In the order they are shown. `W` (a whiteout) is not an aspect: it is read from the entries.
pub const BADGES: [Badge; 13] = [
    badge(Aspect::Content, 'C', "content"),
    badge(Aspect::Mode, 'M', "mode (permissions)"),
    badge(Aspect::ModeTypeBits, 'm', "file-type bits in the mode"),
    badge(Aspect::Owner, 'O', "owner (uid, gid, names)"),
    badge(Aspect::FileTime, 'T', "time (mtime, atime, ctime)"),
    badge(Aspect::LinkTarget, 'L', "link target"),
    badge(Aspect::Xattr, 'X', "extended attributes"),
    badge(Aspect::PaxRecord, 'P', "other PAX records"),
    badge(Aspect::Device, 'D', "device numbers"),
    badge(Aspect::Order, '#', "position in the layer"),
    badge(Aspect::NameSpelling, 'N', "name spelling (./a, /a, a)"),
    badge(Aspect::TarFormat, 'F', "tar header format"),
    Badge {
        aspect: None,
        letter: 'W',
        meaning: "whiteout (deletes below)",
    },
];

const fn badge(aspect: Aspect, letter: char, meaning: &'static str) -> Badge {
    Badge {
        aspect: Some(aspect),
        letter,
        meaning,
    }
}

/// The badges of a difference, for the deltas a filter shows (in [`BADGES`] order).
pub fn badges(shown: &[Delta], difference: &Difference) -> String {
    let whiteout = difference.entries.as_ref().is_some_and(|e| {
        e.iter()
            .any(|(_, e)| e.as_ref().is_some_and(|e| e.whiteout().is_some()))
    });
    BADGES
        .iter()
        .filter(|b| match b.aspect {
            Some(aspect) => shown.iter().any(|d| d.aspect == aspect),
            None => whiteout,
        })
        .map(|b| b.letter)
        .collect()
}

/// A word after a row saying how its difference is explained (as the verdict counts it).
pub struct ExplanationBadge {
    pub text: &'static str,
    pub meaning: &'static str,
    /// Drawn in the alert colour.
    pub alert: bool,
}

pub const ATTENTION: ExplanationBadge = ExplanationBadge {
    text: "!!",
    meaning: "fails its package check: look",
    alert: true,
};
pub const BY_PACKAGE: ExplanationBadge = ExplanationBadge {
    text: "pkg",
    meaning: "explained by a package change",
    alert: false,
};
pub const NOISE: ExplanationBadge = ExplanationBadge {
    text: "noise",
    meaning: "known noise: log, cache…",
    alert: false,
};
pub const REVIEW: ExplanationBadge = ExplanationBadge {
    text: "review",
    meaning: "explained, worth a look",
    alert: false,
};

/// In the order the legend lists them.
pub const EXPLANATION_BADGES: [&ExplanationBadge; 4] = [&ATTENTION, &BY_PACKAGE, &NOISE, &REVIEW];

/// The explanation badges of a difference, for the deltas a filter shows: `!!` if it needs
/// attention, then how it is explained if it is (nothing for what is left unexplained).
pub fn explanation_badges(shown: &[Delta], d: &Difference) -> Vec<&'static ExplanationBadge> {
    let mut out = Vec::new();
    if has_alert(d) {
        out.push(&ATTENTION);
    }
    let aspects: AspectSet = shown
        .iter()
        .filter(|x| !is_derived(d, x.aspect))
        .map(|x| x.aspect)
        .collect();
    if aspects.is_empty() && d.nested.is_none() {
        return out;
    }
    match Standing::of(d, aspects) {
        Standing::Unexplained => {}
        Standing::ByPackages => out.push(&BY_PACKAGE),
        Standing::Noise => out.push(&NOISE),
        Standing::Review => out.push(&REVIEW),
    }
    out
}

/// How an explanation's severity reads at the start of its line in the detail pane.
pub fn severity_words(severity: Severity) -> &'static str {
    match severity {
        Severity::Noise => "noise",
        Severity::Review => "explained",
        Severity::Alert => "attention",
        Severity::Info => "fact",
    }
}

/// A package change: the ecosystem, the name (with its architecture), both versions (`None`
/// where absent) and what the change is (`upgraded`…).
pub struct PackageChange {
    pub ecosystem: String,
    pub name: String,
    pub versions: crate::model::Sides<Option<String>>,
    pub change: String,
}

impl PackageChange {
    pub fn of(d: &Difference) -> PackageChange {
        let (ecosystem, name) = d.key().split_once(' ').unwrap_or(("", d.key()));
        let version = |v: &crate::model::DeltaValue| v.as_str().map(str::to_owned);
        let versions = d
            .deltas()
            .first()
            .map(|x| x.values.as_ref().map(version))
            .unwrap_or_default();
        let change = d
            .explanations
            .iter()
            .find(|e| e.rule == "package")
            .and_then(|e| e.text.rsplit_once(" ("))
            .map_or("changed", |(_, kind)| kind.trim_end_matches(')'))
            .to_owned();
        PackageChange {
            ecosystem: ecosystem.to_owned(),
            name: name.to_owned(),
            versions,
            change,
        }
    }

    /// `foo:amd64 1.0-1 → 1.1-1`, `-` where absent.
    pub fn row(&self) -> String {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        format!(
            "{} {} → {}",
            self.name,
            v(&self.versions.input0),
            v(&self.versions.input1)
        )
    }

    /// The text file explanations name it by: `foo:amd64 1.0-1 → 1.1-1` (the package's own
    /// explanation without its kind).
    pub fn explained_by(d: &Difference) -> Option<&str> {
        let text = &d.explanations.iter().find(|e| e.rule == "package")?.text;
        Some(
            text.rsplit_once(" (")
                .map_or(text.as_str(), |(change, _)| change),
        )
    }
}

/// What a context's row is called: the inside of a file by its format, others by their label.
pub fn context_name(context: &Context) -> String {
    match &context.kind {
        ContextKind::Nested { format, .. } => format!("inside ({format})"),
        _ => context.label.clone(),
    }
}

/// The row label of a difference of a context itself.
pub fn property_label(kind: DiffKind, key: &str) -> String {
    match (kind, key) {
        (DiffKind::Desc, key) => format!("{key} descriptor"),
        (DiffKind::Idx, "index") => "index fields".into(),
        (DiffKind::Mani, "manifest") => "manifest fields".into(),
        (DiffKind::Mani, "layers") => "layer count".into(),
        (DiffKind::Cfg, "config") => "config fields".into(),
        (DiffKind::Layer, "entries") => "entry count".into(),
        (DiffKind::Idx, key) => key.to_owned(),
        (DiffKind::Pkg, key) => match key.split_once(' ') {
            Some((ecosystem, name)) => format!("{name} ({ecosystem})"),
            None => key.to_owned(),
        },
        (kind, key) => format!("{} {key}", kind_words(kind)),
    }
}

/// What a difference's level is called (diffoci's `TYPE` column in words).
pub fn kind_words(kind: DiffKind) -> &'static str {
    match kind {
        DiffKind::Desc => "descriptor",
        DiffKind::Idx => "index",
        DiffKind::Mani => "manifest",
        DiffKind::Cfg => "config",
        DiffKind::Layer => "layer",
        DiffKind::File => "file",
        DiffKind::Pkg => "package",
    }
}

/// A short note after a context's label.
pub fn context_note(context: &Context) -> Option<String> {
    match &context.kind {
        ContextKind::Layer { .. } => {
            let size = |side: &Option<crate::oci::Descriptor>| {
                side.as_ref()
                    .map_or("-".to_owned(), |d| crate::report::human_size(d.size))
            };
            Some(format!(
                "{} / {}",
                size(&context.descriptors.input0),
                size(&context.descriptors.input1)
            ))
        }
        _ => None,
    }
}

pub fn view_words(view: View) -> &'static str {
    match view {
        View::Auto => "auto",
        View::PerLayer => "per layer",
        View::Merged => "merged",
    }
}

/// The `--view` value.
pub fn view_flag(view: View) -> &'static str {
    match view {
        View::Auto => "auto",
        View::PerLayer => "per-layer",
        View::Merged => "merged",
    }
}

/// What an ignore option hides, in a few words.
pub fn option_words(option: IgnoreOption) -> &'static str {
    match option {
        IgnoreOption::FileTimestamps => "file timestamps",
        IgnoreOption::ImageTimestamps => "image timestamps",
        IgnoreOption::History => "history",
        IgnoreOption::FileOrder => "file order",
        IgnoreOption::FileModeRedundantBits => "redundant mode bits",
        IgnoreOption::ImageName => "image names",
        IgnoreOption::TarFormat => "tar formats",
        IgnoreOption::CanonicalPaths => "path spellings",
        IgnoreOption::MediaTypes => "media types",
        IgnoreOption::Owner => "owners",
        IgnoreOption::Mode => "modes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_badges_never_share_a_letter() {
        for status in &STATUSES {
            assert!(
                BADGES.iter().all(|b| b.letter != status.marker),
                "{} is a status and a badge",
                status.marker
            );
        }
        for (i, status) in STATUSES.iter().enumerate() {
            assert_eq!(status.status as usize, i, "STATUSES in Status order");
        }
    }

    #[test]
    fn a_row_is_marked_by_itself_or_by_what_it_holds() {
        let mut inside = StatusCounts::default();
        assert_eq!(row_marker(None, inside), None);
        inside.add(Status::Added);
        assert_eq!(row_marker(None, inside), Some('+'));
        inside.add(Status::Modified);
        assert_eq!(row_marker(None, inside), Some('~'));
        assert_eq!(row_marker(Some(Status::Removed), inside), Some('-'));
        assert_eq!(row_marker(Some(Status::TypeChanged), inside), Some('!'));
        assert_eq!(row_marker(Some(Status::Unchanged), inside), Some('~'));
        assert_eq!(
            row_marker(Some(Status::Unchanged), StatusCounts::default()),
            Some('=')
        );
    }
}
