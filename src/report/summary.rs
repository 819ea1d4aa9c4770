//! A one-line human summary for stderr, e.g.
//! `12 differences (content 10, mode 2); hidden: --ignore-file-timestamps 6538, --ignore-path 3`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::filter::{IgnoreOption, Presentation, Shown};
use crate::model::{Aspect, Report};

/// Counts of what a presentation shows and hides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Differences shown.
    pub shown: usize,
    /// For each aspect, how many shown differences show it (a difference may count under several).
    pub by_aspect: BTreeMap<Aspect, usize>,
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
    pub fn new(report: &Report, presentation: &Presentation<'_>) -> Summary {
        let mut summary = Summary::of_shown(report, &presentation.shown());
        summary.hidden_by_option = presentation.hidden_by_option();
        summary.hidden_by_paths = presentation.hidden_by_paths();
        summary.hidden_by_noise = presentation.hidden_by_noise();
        summary
    }

    /// The counts for differences already selected, without the hidden counts.
    pub fn of_shown(report: &Report, shown: &[Shown<'_>]) -> Summary {
        let mut by_aspect = BTreeMap::new();
        for s in shown {
            let aspects: std::collections::BTreeSet<Aspect> =
                s.deltas.iter().map(|d| d.aspect).collect();
            for aspect in aspects {
                *by_aspect.entry(aspect).or_insert(0) += 1;
            }
        }
        Summary {
            shown: shown.len(),
            by_aspect,
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

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shown {
            0 => f.write_str("no differences")?,
            n => {
                let aspects: Vec<String> = self
                    .aspects_by_count()
                    .iter()
                    .map(|(a, n)| format!("{} {n}", a.name()))
                    .collect();
                write!(
                    f,
                    "{n} {} ({})",
                    plural(n, "difference"),
                    aspects.join(", ")
                )?;
            }
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
        both.deltas
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
        Summary::new(report, &Presentation::new(report, filter, View::PerLayer))
    }

    #[test]
    fn counts_shown_aspects_and_what_each_filter_hid() {
        let report = sample_report();
        let filter = Filter::new(
            &[IgnoreOption::FileTimestamps, IgnoreOption::Owner],
            &["var/log".into()],
        );
        let summary = summarise(&report, &filter.unwrap());
        assert_eq!(summary.shown, 3);
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
            "1 difference (entry-count 1); 1 warning"
        );
    }
}
