//! A one-line human summary for stderr, e.g.
//! `12 differences (content 10, mode 2); 2 digest rows follow from them; hidden:
//! --ignore-file-timestamps 6538, --ignore-path 3`.
//!
//! It counts differences as the verdict does ([`tally`]): what differs inside a file counts with the
//! file, and a row that only restates others (a layer's digest) does not count; such rows are named
//! apart, so that the table's row count and the verdict's count are never two answers to one question.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use crate::filter::{Counts, IgnoreOption, Presentation, Shown};
use crate::model::{Aspect, AspectSet, ContextId, Report};

/// Counts of what a presentation shows and hides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Differences shown, counted as the verdict counts them.
    pub differences: usize,
    /// For each aspect, how many of those show it, themselves or inside (a difference may count
    /// under several).
    pub by_aspect: BTreeMap<Aspect, usize>,
    /// Rows shown in all (the table's rows): the differences, and the rows below.
    pub rows: usize,
    /// Rows of what differs inside files (they count with their file).
    pub rows_inside_files: usize,
    /// Rows that only restate others, by aspect (`digest` → 2).
    pub restating_rows: BTreeMap<Aspect, usize>,
    /// For each active ignore option, how many differences it alone hides.
    #[serde(skip)]
    pub hidden_by_option: BTreeMap<IgnoreOption, usize>,
    /// How many file differences the `--ignore-path` patterns hide.
    #[serde(skip)]
    pub hidden_by_paths: usize,
    /// How many differences `--ignore-noise` hides.
    #[serde(skip)]
    pub hidden_by_noise: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Whether the comparison ran to its end.
    pub finished: bool,
}

impl Summary {
    /// The counts of `shown` (what `presentation` shows) and of what it hides.
    pub fn new(report: &Report, presentation: &Presentation<'_>, shown: &[Shown<'_>]) -> Summary {
        let mut summary = Summary::of_shown(report, shown);
        summary.hidden_by_option = presentation.hidden_by_option();
        summary.hidden_by_paths = presentation.hidden_by_paths();
        summary.hidden_by_noise = presentation.hidden_by_noise();
        summary
    }

    /// The counts for differences already selected, without the hidden counts.
    pub fn of_shown(report: &Report, shown: &[Shown<'_>]) -> Summary {
        // As `tally` counts, without its list of every counted difference: only the files compared
        // inside wait for their members' aspects.
        let mut by_aspect = BTreeMap::new();
        let mut add = |aspects: AspectSet| {
            for aspect in aspects {
                *by_aspect.entry(aspect).or_insert(0) += 1;
            }
        };
        let (mut differences, mut rows_inside_files) = (0, 0);
        let mut restating_rows = BTreeMap::new();
        let mut files: Vec<AspectSet> = Vec::new();
        let mut file_of: HashMap<ContextId, usize> = HashMap::new();
        for s in shown {
            match Counts::of(report, s) {
                Counts::One { own, inside } => {
                    differences += 1;
                    match inside {
                        Some(inside) => {
                            file_of.insert(inside, files.len());
                            files.push(own);
                        }
                        None => add(own),
                    }
                }
                Counts::Member { own, file } => {
                    rows_inside_files += 1;
                    if let Some(&i) = file.and_then(|c| file_of.get(&c)) {
                        files[i] |= own;
                    }
                }
                Counts::Restating(aspect) => *restating_rows.entry(aspect).or_default() += 1,
            }
        }
        files.into_iter().for_each(add);
        Summary {
            differences,
            by_aspect,
            rows: shown.len(),
            rows_inside_files,
            restating_rows,
            hidden_by_option: BTreeMap::new(),
            hidden_by_paths: 0,
            hidden_by_noise: 0,
            errors: report.errors.len(),
            warnings: report.warnings.len(),
            finished: report.finished,
        }
    }

    /// Aspects by decreasing count, ties in aspect order.
    fn aspects_by_count(&self) -> Vec<(Aspect, usize)> {
        let mut aspects: Vec<(Aspect, usize)> =
            self.by_aspect.iter().map(|(a, n)| (*a, *n)).collect();
        aspects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        aspects
    }

    /// Filters that hid something, with what each alone hid (`--ignore-file-timestamps`, 6538);
    /// filters that hid nothing are left out.
    pub fn hidden(&self) -> Vec<(String, usize)> {
        let mut hidden: Vec<(String, usize)> = self
            .hidden_by_option
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(option, n)| (format!("--{}", option.flag()), *n))
            .collect();
        if self.hidden_by_paths > 0 {
            hidden.push(("--ignore-path".into(), self.hidden_by_paths));
        }
        if self.hidden_by_noise > 0 {
            hidden.push(("--ignore-noise".into(), self.hidden_by_noise));
        }
        hidden
    }

    /// [`hidden`](Self::hidden) as `--flag count`.
    fn hidden_parts(&self) -> Vec<String> {
        let hidden = self.hidden().into_iter();
        hidden.map(|(flag, n)| format!("{flag} {n}")).collect()
    }
}

impl Summary {
    /// `3 rows inside files count with their file`, `2 digest rows follow from them`.
    fn other_rows(&self) -> Vec<String> {
        let mut parts = Vec::new();
        match self.rows_inside_files {
            0 => {}
            1 => parts.push("1 row inside a file counts with the file".to_owned()),
            n => parts.push(format!("{n} rows inside files count with their file")),
        }
        if !self.restating_rows.is_empty() {
            let rows: Vec<String> = self
                .restating_rows
                .iter()
                .map(|(aspect, n)| format!("{n} {} {}", aspect.name(), plural(*n, "row")))
                .collect();
            let total: usize = self.restating_rows.values().sum();
            let follow = if total == 1 { "follows" } else { "follow" };
            let from = match self.differences {
                0 => "(restating what is not shown)".to_owned(),
                1 => format!("{follow} from it"),
                _ => format!("{follow} from them"),
            };
            parts.push(format!("{} {from}", rows.join(" and ")));
        }
        parts
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.differences {
            0 => f.write_str("no differences")?,
            n => {
                let aspects: Vec<String> = self
                    .aspects_by_count()
                    .iter()
                    .map(|(a, n)| format!("{} {n}", a.name()))
                    .collect();
                write!(f, "{n} {}", plural(n, "difference"))?;
                if !aspects.is_empty() {
                    write!(f, " ({})", aspects.join(", "))?;
                }
            }
        }
        for part in self.other_rows() {
            write!(f, "; {part}")?;
        }
        let hidden = self.hidden_parts();
        if !hidden.is_empty() {
            write!(f, "; hidden: {}", hidden.join(", "))?;
        }
        if self.errors > 0 {
            write!(f, "; {} {}", self.errors, plural(self.errors, "error"))?;
        }
        if self.warnings > 0 {
            write!(
                f,
                "; {} {}",
                self.warnings,
                plural(self.warnings, "warning")
            )?;
        }
        if !self.finished {
            f.write_str("; incomplete")?;
        }
        Ok(())
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::{Filter, View};
    use crate::model::{DiffKind, Timestamp};
    use crate::report::fixtures::*;

    fn timed(name: &str, secs: i64) -> crate::model::Difference {
        let e0 = entry(name);
        let mut e1 = entry(name);
        e1.mtime = Timestamp::from_secs(secs);
        let mtime = delta(
            Aspect::FileTime,
            "mtime",
            json!(e0.mtime.rfc3339()),
            json!(e1.mtime.rfc3339()),
        );
        file_difference(LAYER0, Some(e0), Some(e1), vec![mtime])
    }

    fn sample_report() -> Report {
        let mut report = report_skeleton();
        report
            .differences
            .push(content_difference(LAYER0, "a", &hex_of('1'), &hex_of('2')));
        report
            .differences
            .push(content_difference(LAYER0, "b", &hex_of('3'), &hex_of('4')));
        let mut both = content_difference(LAYER0, "c", &hex_of('5'), &hex_of('6'));
        both.deltas_mut()
            .push(delta(Aspect::Mode, "mode", json!(0o644), json!(0o755)));
        report.differences.push(both);
        report.differences.push(timed("d", 5));
        report.differences.push(timed("e", 6));
        report.differences.push(content_difference(
            LAYER0,
            "var/log/x",
            &hex_of('7'),
            &hex_of('8'),
        ));
        report
    }

    fn summarise(report: &Report, filter: &Filter) -> Summary {
        let presentation = Presentation::new(report, filter, View::PerLayer);
        Summary::new(report, &presentation, &presentation.shown())
    }

    #[test]
    fn counts_shown_aspects_and_what_each_filter_hid() {
        let report = sample_report();
        let filter = Filter::new(
            &[IgnoreOption::FileTimestamps, IgnoreOption::Owner],
            &["var/log".into()],
        );
        let summary = summarise(&report, &filter.unwrap());
        assert_eq!(summary.differences, 3);
        assert_eq!(summary.by_aspect.get(&Aspect::Content), Some(&3));
        assert_eq!(summary.by_aspect.get(&Aspect::Mode), Some(&1));
        assert_eq!(
            summary.to_string(),
            "3 differences (content 3, mode 1); hidden: --ignore-file-timestamps 2, --ignore-path 1"
        );
    }

    #[test]
    fn strict_mode_hides_nothing_and_errors_are_counted() {
        let mut report = sample_report();
        report
            .errors
            .push("input 1: blob sha256:… truncated".into());
        report.finished = false;
        let summary = summarise(&report, &Filter::default());
        assert_eq!(
            summary.to_string(),
            "6 differences (content 4, file-time 2, mode 1); 1 error; incomplete"
        );
    }

    /// A tar in layer 0 whose two members differ (one in content, one in mtime), a layer file whose
    /// content differs, and layer 0's descriptor digest restating them.
    fn nested_report() -> Report {
        let mut report = report_skeleton();
        let inside = crate::model::ContextId(9);
        report.contexts.push(crate::model::Context {
            id: inside,
            parent: Some(LAYER0),
            kind: crate::model::ContextKind::Nested {
                file: "srv/app.tar".into(),
                format: "tar".into(),
            },
            path: "/manifests-0/layers-0/srv/app.tar!".into(),
            label: "srv/app.tar".into(),
            descriptors: crate::model::Sides::new(None, None),
        });
        let mut tar = content_difference(LAYER0, "srv/app.tar", &hex_of('1'), &hex_of('2'));
        tar.nested = Some(inside).into();
        report.differences.push(tar);
        report.differences.push(content_difference(
            inside,
            "lib/x",
            &hex_of('3'),
            &hex_of('4'),
        ));
        let mut timed = timed("lib/y", 7);
        timed.context = inside;
        report.differences.push(timed);
        report.differences.push(content_difference(
            LAYER0,
            "etc/z",
            &hex_of('5'),
            &hex_of('6'),
        ));
        report.differences.push(other_difference(
            LAYER0,
            DiffKind::Desc,
            "layer",
            delta(
                Aspect::Digest,
                "digest",
                json!(hex_of('7')),
                json!(hex_of('8')),
            ),
        ));
        report
    }

    #[test]
    fn counts_as_the_verdict_does_and_names_the_other_rows() {
        let report = nested_report();
        let strict = Filter::default();
        let presentation = Presentation::new(&report, &strict, View::PerLayer);
        let shown = presentation.shown();
        let summary = Summary::new(&report, &presentation, &shown);
        let verdict = crate::explain::Verdict::new(&report, &shown);
        assert_eq!(summary.rows, 5, "the table's rows");
        assert_eq!(summary.differences, 2);
        assert_eq!(summary.differences, verdict.differences);
        assert_eq!(
            summary.to_string(),
            "2 differences (content 2, file-time 1); 2 rows inside files count with their file; \
             1 digest row follows from them"
        );
        let semantic = Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap();
        let summary = summarise(&report, &semantic);
        assert_eq!(
            summary.to_string(),
            "2 differences (content 2); 1 row inside a file counts with the file; \
             1 digest row follows from them"
        );
    }

    #[test]
    fn nothing_shown_says_so() {
        let mut report = report_skeleton();
        report.differences.push(timed("d", 5));
        report.warnings.push("w".into());
        let filter = Filter::new(&[IgnoreOption::FileTimestamps], &[]).unwrap();
        let summary = summarise(&report, &filter);
        assert_eq!(
            summary.to_string(),
            "no differences; hidden: --ignore-file-timestamps 1; 1 warning"
        );
        let layer = other_difference(
            LAYER1,
            DiffKind::Layer,
            "entries",
            delta(Aspect::EntryCount, "entries", json!(2), json!(1)),
        );
        report.differences = vec![layer];
        assert_eq!(
            summarise(&report, &Filter::default()).to_string(),
            "no differences; 1 entry-count row (restating what is not shown); 1 warning",
            "a lone entry count is no difference of its own, as the verdict counts"
        );
    }
}
