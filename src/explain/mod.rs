//! Known causes of non-reproducibility, and which of them explain a difference.
//!
//! Two builds of the same image differ in logs, caches, timestamps, build paths and random ids. The
//! [`Catalogue`] holds rules naming such files (the built-in ones in `assets/noise.toml`, more from the
//! user in the same format, see `assets/NOISE-RULES.md`). Given what differs about a file
//! ([`FileFacts`]: its differing aspects and, for text, the change itself), it says which rules explain
//! the difference ([`Explanation`]). A rule with a content condition labels a file only when the change
//! proves it, e.g. "every changed line differs only in date/time tokens" ([`TextChange`]).
//!
//! Facts in, labels out: nothing here reads an image, a file or a terminal.

mod rules;
mod text;
mod timestamp;
mod verdict;

#[cfg(test)]
mod tests;

use globset::{GlobSet, GlobSetBuilder};

pub use crate::model::{Category, Explanation, Severity};
pub use rules::{Condition, MAX_RULES_FILE_BYTES, Rule, RuleError, located_error, toml_error};
pub use text::{ChangeKind, Classification, MAX_TEXT_BYTES, Recognise, TextChange};
pub use timestamp::timestamp_ranges;
pub use verdict::{Standing, Verdict, has_alert, package_change_kind};

use crate::model::{Aspect, AspectSet};

/// The built-in rules.
pub const BUILTIN_RULES: &str = include_str!("../../assets/noise.toml");
const BUILTIN_ORIGIN: &str = "built-in";

/// What the comparison knows about a file that differs.
#[derive(Debug, Clone, Default)]
pub struct FileFacts<'a> {
    /// The aspects that differ (derived ones are ignored).
    pub aspects: AspectSet,
    /// Both sides' text, when the content differs and is text.
    pub text: Option<TextChange<'a>>,
}

impl<'a> FileFacts<'a> {
    pub fn new(aspects: AspectSet) -> FileFacts<'a> {
        FileFacts {
            aspects,
            text: None,
        }
    }

    pub fn with_text(mut self, text: TextChange<'a>) -> FileFacts<'a> {
        self.text = Some(text);
        self
    }
}

/// The rules in force: the built-in ones, less those turned off, plus the user's.
#[derive(Debug, Clone)]
pub struct Catalogue {
    rules: Vec<Rule>,
    /// All rules' path globs, and for each glob the rule it belongs to.
    globs: GlobSet,
    glob_rule: Vec<usize>,
    /// The globs of the rules with a content condition: the files whose texts a scan keeps.
    text_globs: GlobSet,
}

impl Default for Catalogue {
    /// No rules at all.
    fn default() -> Catalogue {
        Catalogue {
            rules: Vec::new(),
            globs: GlobSet::empty(),
            glob_rule: Vec::new(),
            text_globs: GlobSet::empty(),
        }
    }
}

impl Catalogue {
    /// The rules of `assets/noise.toml`.
    pub fn builtin() -> Catalogue {
        // The asset is part of the program, and tests load it.
        rules::parse(BUILTIN_ORIGIN, BUILTIN_RULES)
            .ok()
            .and_then(|parsed| Catalogue::from_rules(parsed.rules).ok())
            .expect("assets/noise.toml is a valid rules file")
    }

    /// Applies a user rules file named `name`: its `disable` list turns off rules already in force (an
    /// id pattern that matches none is an error), then each of its rules is added, replacing a rule
    /// already in force with the same id. On error the catalogue is unchanged.
    pub fn add_user_rules(&mut self, name: &str, text: &str) -> Result<(), RuleError> {
        let rules = rules::apply(name, text, self.rules.clone())?;
        *self = Catalogue::from_rules(rules)
            .map_err(|e| RuleError::unlocated(name, format!("path patterns: {e}")))?;
        Ok(())
    }

    fn from_rules(rules: Vec<Rule>) -> Result<Catalogue, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        let mut text_builder = GlobSetBuilder::new();
        let mut glob_rule = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            for glob in &rule.globs {
                builder.add(glob.clone());
                glob_rule.push(index);
                if rule.condition.is_some() {
                    text_builder.add(glob.clone());
                }
            }
        }
        Ok(Catalogue {
            rules,
            globs: builder.build()?,
            glob_rule,
            text_globs: text_builder.build()?,
        })
    }

    /// The rules in force, built-in ones first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules whose paths match `path`, in catalogue order.
    fn matching(&self, path: &str) -> Vec<&Rule> {
        let path = path.trim_start_matches('/');
        let mut indices: Vec<usize> = self
            .globs
            .matches(path)
            .into_iter()
            .filter_map(|glob| self.glob_rule.get(glob).copied())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices.iter().filter_map(|&i| self.rules.get(i)).collect()
    }

    /// Whether a rule could use the text of `path` if its content differs: the comparison keeps both
    /// sides' text (bounded) only for such files.
    pub fn wants_text(&self, path: &str) -> bool {
        self.text_globs.is_match(path.trim_start_matches('/'))
    }

    /// The rules that explain what differs about the file at `path` (a canonical path; a leading `/`
    /// is ignored): rules with a content condition that the change satisfies first, then rules that
    /// label by path, each in catalogue order.
    pub fn explain(&self, path: &str, facts: &FileFacts<'_>) -> Vec<Explanation> {
        let primary: AspectSet = facts.aspects.iter().filter(|a| !a.is_derived()).collect();
        let matching = self.matching(path);
        let (proven, by_path): (Vec<&Rule>, Vec<&Rule>) =
            matching.into_iter().partition(|r| r.condition.is_some());
        proven
            .into_iter()
            .chain(by_path)
            .filter_map(|rule| explain_with(rule, primary, facts))
            .collect()
    }
}

fn explain_with(rule: &Rule, primary: AspectSet, facts: &FileFacts<'_>) -> Option<Explanation> {
    let (aspects, evidence) = match &rule.condition {
        Some(condition) => {
            if !primary.contains(Aspect::Content) {
                return None;
            }
            let evidence = condition.evidence(facts.text.as_ref()?)?;
            (AspectSet::only(Aspect::Content), Some(evidence))
        }
        None => (primary & rule.aspects, None),
    };
    (!aspects.is_empty()).then(|| Explanation {
        rule: rule.id.clone(),
        category: rule.category,
        severity: rule.severity,
        text: rule.explanation.clone(),
        aspects,
        evidence,
    })
}
