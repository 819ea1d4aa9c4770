//! The answer to the user's question in one line: of the differences shown, how many are explained
//! (by package changes, by known noise, by a rule that asks for review), how many are not, and how many
//! are findings that need attention. For example `4 differences: 4 noise (3 log: timestamps, build
//! paths; 1 cache) · 0 unexplained`, or `140 differences: 136 explained by 2 package changes (2
//! upgraded) · 2 noise (1 log; 1 package-db) · 2 unexplained`.
//!
//! A difference counts when it shows something of its own (a digest that only restates other
//! differences does not), and once: what differs inside a file counts with the file. It is explained
//! when every aspect it shows is accounted for by explanations that explain (noise or review), not by
//! facts (who owns it) or alerts (modified after install).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::filter::{Counts, Shown};
use crate::model::{AspectSet, Category, DiffKind, Difference, Explanation, Report, Severity};

/// The verdict on a presentation's shown differences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Differences counted (see the module's description).
    pub differences: usize,
    /// Explained by package changes (the files of a changed package, its database, the change itself).
    pub by_packages: usize,
    /// Explained as noise (every explanation that accounts for them is noise).
    pub noise: usize,
    /// Explained, by rules that ask a person to look.
    pub review: usize,
    pub unexplained: usize,
    /// Differences with a finding that needs attention (modified after install…), explained or not.
    pub alerts: usize,
    /// Package changes by kind (`upgraded` → 2).
    pub package_changes: BTreeMap<String, usize>,
    /// Noise by category, with what the changes were seen to be (`log` → {`timestamps` → 2}).
    pub noise_by_category: BTreeMap<String, BTreeMap<String, usize>>,
    /// The texts of the alerts, first ones.
    pub alert_texts: Vec<String>,
}

/// How many alert texts the verdict keeps.
const ALERT_TEXTS: usize = 5;

impl Verdict {
    pub fn new(report: &Report, shown: &[Shown<'_>]) -> Verdict {
        let counted = shown.iter().filter_map(|s| match Counts::of(report, s) {
            Counts::One { own, .. } => Some((s.difference, own)),
            Counts::Member { .. } | Counts::Restating(_) => None,
        });
        Verdict::of_counted(counted)
    }

    /// The verdict on the differences that count, each with the aspects it shows of its own (as
    /// [`tally`](crate::filter::tally) or [`Presentation::counted`](crate::filter::Presentation::counted) give them).
    pub fn of_counted<'d>(
        counted: impl IntoIterator<Item = (&'d Difference, AspectSet)>,
    ) -> Verdict {
        let mut verdict = Verdict::default();
        for (d, own) in counted {
            if d.kind == DiffKind::Pkg {
                let kind = package_change_kind(d);
                *verdict.package_changes.entry(kind).or_default() += 1;
            }
            verdict.differences += 1;
            verdict.count(d, own);
        }
        verdict
    }

    fn count(&mut self, d: &Difference, aspects: AspectSet) {
        let alerts: Vec<&Explanation> = d
            .explanations
            .iter()
            .filter(|e| e.severity == Severity::Alert)
            .collect();
        if !alerts.is_empty() {
            self.alerts += 1;
            if self.alert_texts.len() < ALERT_TEXTS {
                self.alert_texts
                    .push(format!("{}: {}", d.key(), alerts[0].text));
            }
        }
        match Standing::of(d, aspects) {
            Standing::Unexplained => self.unexplained += 1,
            Standing::ByPackages => self.by_packages += 1,
            Standing::Review => self.review += 1,
            Standing::Noise => {
                self.noise += 1;
                let explaining = explaining(d);
                // The path rule names the kind of file (a log); a content rule, what changed in it.
                let named = explaining
                    .iter()
                    .find(|e| e.evidence.is_none())
                    .unwrap_or(&explaining[0]);
                let kinds = self
                    .noise_by_category
                    .entry(category_name(named.category).to_owned())
                    .or_default();
                let seen = explaining
                    .iter()
                    .find_map(|e| e.evidence.as_deref())
                    .and_then(evidence_kind)
                    .unwrap_or("");
                *kinds.entry(seen.to_owned()).or_default() += 1;
            }
        }
    }

    /// Whether a difference shown is left unexplained (for `--fail-on unexplained`).
    pub fn has_unexplained(&self) -> bool {
        self.unexplained > 0
    }
}

/// How the verdict counts one difference, given the aspects it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Something it shows is accounted for by no explanation, or it carries an alert.
    Unexplained,
    /// Explained by package changes (a changed package's file, its database, the change itself).
    ByPackages,
    /// Explained, every explanation being noise.
    Noise,
    /// Explained, by a rule that asks a person to look.
    Review,
}

impl Standing {
    /// Explained when every aspect shown is accounted for by explanations that explain (noise or
    /// review), not by facts (who owns it) or alerts (modified after install).
    pub fn of(d: &Difference, aspects: AspectSet) -> Standing {
        let explaining = explaining(d);
        let covered = explaining
            .iter()
            .fold(AspectSet::empty(), |all, e| all | e.aspects);
        if has_alert(d) || !(aspects - covered).is_empty() || explaining.is_empty() {
            Standing::Unexplained
        } else if explaining
            .iter()
            .any(|e| matches!(e.category, Category::Package) || e.rule == "package-db")
        {
            Standing::ByPackages
        } else if explaining.iter().all(|e| e.severity == Severity::Noise) {
            Standing::Noise
        } else {
            Standing::Review
        }
    }
}

/// Whether a difference carries a finding that needs attention (modified after install…).
pub fn has_alert(d: &Difference) -> bool {
    d.explanations.iter().any(|e| e.severity == Severity::Alert)
}

/// The explanations that explain (noise or review), not facts or alerts.
fn explaining(d: &Difference) -> Vec<&Explanation> {
    d.explanations
        .iter()
        .filter(|e| matches!(e.severity, Severity::Noise | Severity::Review))
        .collect()
}

/// A package difference's kind of change: `added`, `removed`, `upgraded`, `downgraded`...
pub fn package_change_kind(d: &Difference) -> String {
    d.explanations
        .iter()
        .find(|e| e.rule == "package")
        .and_then(|e| {
            e.text
                .rsplit_once(" (")
                .map(|(_, k)| k.trim_end_matches(')').to_owned())
        })
        .unwrap_or_else(|| "changed".into())
}

/// `timestamps`, `build paths`, `timestamps and build paths` from an evidence line.
fn evidence_kind(evidence: &str) -> Option<&'static str> {
    let only = evidence.split("differ only in ").nth(1)?;
    Some(match only {
        o if o.starts_with("timestamps and build paths") => "timestamps, build paths",
        o if o.starts_with("timestamps") => "timestamps",
        o if o.starts_with("build paths") => "build paths",
        _ => return None,
    })
}

fn category_name(category: Category) -> &'static str {
    match category {
        Category::Log => "log",
        Category::Cache => "cache",
        Category::Timestamp => "timestamp",
        Category::BuildPath => "build-path",
        Category::RandomId => "random-id",
        Category::PackageDb => "package-db",
        Category::Backup => "backup",
        Category::BuildEnvironment => "build-environment",
        Category::Accounts => "accounts",
        Category::Package => "package",
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.differences;
        write!(f, "{n} {}:", plural(n, "difference"))?;
        let mut parts = Vec::new();
        if self.by_packages > 0 {
            let changes: usize = self.package_changes.values().sum();
            let kinds: Vec<String> = self
                .package_changes
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect();
            parts.push(format!(
                "{} explained by {changes} package {} ({})",
                self.by_packages,
                plural(changes, "change"),
                kinds.join(", ")
            ));
        }
        if self.noise > 0 {
            let categories: Vec<String> = self
                .noise_by_category
                .iter()
                .map(|(category, kinds)| {
                    let count: usize = kinds.values().sum();
                    let mut seen: Vec<&str> = kinds
                        .keys()
                        .flat_map(|k| k.split(", "))
                        .filter(|k| !k.is_empty())
                        .collect();
                    seen.sort_unstable();
                    seen.dedup();
                    match seen.is_empty() {
                        true => format!("{count} {category}"),
                        false => format!("{count} {category}: {}", seen.join(", ")),
                    }
                })
                .collect();
            parts.push(format!("{} noise ({})", self.noise, categories.join("; ")));
        }
        if self.review > 0 {
            parts.push(format!("{} explained, to review", self.review));
        }
        parts.push(format!("{} unexplained", self.unexplained));
        if self.alerts > 0 {
            let need = if self.alerts == 1 {
                "file needs"
            } else {
                "files need"
            };
            parts.push(format!(
                "{} {need} attention (modified after install or unexplained by their package)",
                self.alerts
            ));
        }
        write!(f, " {}", parts.join(" · "))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}
