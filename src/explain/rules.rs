//! The rules file format (assets/NOISE-RULES.md describes it for users), read into [`Rule`]s. Every
//! error names the file and the line.

use std::ops::Range;

use globset::{Glob, GlobBuilder};
use serde::Deserialize;
use toml::Spanned;

use super::text::{ChangeKind, Recognise, TextChange, changed_lines_differ};
use crate::model::{Aspect, AspectSet, Category, Severity, escape_control};

/// A user rules file larger than this is refused (the built-in catalogue is about 15 KB).
pub const MAX_RULES_FILE_BYTES: usize = 1 << 20;
const MAX_ID_CHARS: usize = 64;
const MAX_EXPLANATION_CHARS: usize = 240;

/// Why a rule or a rules file was refused. One line, naming the file and (when known) the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Unlocated { file: String, message: String },
    #[error("{file}: too large for a rules file ({size} bytes, limit {limit})")]
    TooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
}

impl RuleError {
    /// An error about a whole file, its name made printable.
    pub(super) fn unlocated(file: &str, message: String) -> RuleError {
        RuleError::Unlocated {
            file: escape_control(file).into_owned(),
            message,
        }
    }
}

/// A rule of the catalogue.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub paths: Vec<String>,
    pub category: Category,
    pub severity: Severity,
    pub explanation: String,
    /// The aspects of a difference the rule can explain (a content condition explains content only).
    pub aspects: AspectSet,
    pub condition: Option<Condition>,
    /// Where the rule comes from: `built-in` or the name of a user rules file.
    pub origin: String,
    /// Its path patterns, compiled together with every rule's into the catalogue's one set.
    pub(super) globs: Vec<Glob>,
}

/// What a rule requires of a text file's change before it labels the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The change must be of one of these kinds.
    Changes {
        kinds: Vec<ChangeKind>,
        recognise: Recognise,
    },
    /// Every changed line must differ only in these fields (1-based, sorted) when cut at `separator`.
    Fields { separator: u8, fields: Vec<usize> },
}

impl Condition {
    /// The evidence that the change satisfies the condition, or `None` if it does not.
    pub fn evidence(&self, change: &TextChange<'_>) -> Option<String> {
        match self {
            Condition::Changes { kinds, recognise } => {
                let classification = change.classify(*recognise);
                kinds
                    .contains(&classification.kind)
                    .then(|| classification.evidence())
            }
            Condition::Fields { separator, fields } => {
                let changed = change.only_fields_differ(*separator, fields)?;
                let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
                let noun = if fields.len() == 1 { "field" } else { "fields" };
                Some(format!(
                    "{} only in {noun} {}",
                    changed_lines_differ(changed),
                    fields.join(", ")
                ))
            }
        }
    }
}

/// A rules file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    id: Spanned<String>,
    paths: Spanned<Vec<Spanned<String>>>,
    category: Category,
    severity: Severity,
    explanation: Spanned<String>,
    aspects: Option<Spanned<Vec<Aspect>>>,
    content: Option<Spanned<RawContent>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawContent {
    changes: Option<Vec<AllowedChange>>,
    #[serde(default)]
    epoch_seconds: bool,
    fields: Option<Vec<usize>>,
    separator: Option<String>,
}

/// The change kinds a condition may allow.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum AllowedChange {
    Timestamps,
    BuildPaths,
    TimestampsAndBuildPaths,
}

impl AllowedChange {
    fn kind(&self) -> ChangeKind {
        match self {
            AllowedChange::Timestamps => ChangeKind::Timestamps,
            AllowedChange::BuildPaths => ChangeKind::BuildPaths,
            AllowedChange::TimestampsAndBuildPaths => ChangeKind::TimestampsAndBuildPaths,
        }
    }
}

/// Reads a rules file and applies it to the rules in force: its `disable` patterns turn rules off (a
/// pattern that matches none is an error), then its rules are added, each replacing a rule with the
/// same id. `file` names the file in errors and becomes its rules' origin.
pub(super) fn apply(file: &str, text: &str, mut rules: Vec<Rule>) -> Result<Vec<Rule>, RuleError> {
    let parsed = parse(file, text)?;
    let located = Locator { file, text };
    for pattern in parsed.disable {
        let span = pattern.span();
        let matcher = Glob::new(pattern.get_ref())
            .map_err(|e| located.error(Some(span.clone()), &format!("bad id pattern: {e}")))?
            .compile_matcher();
        let before = rules.len();
        rules.retain(|rule| !matcher.is_match(&rule.id));
        if rules.len() == before {
            let message = format!(
                "`disable`: no rule in force has an id matching {:?}",
                pattern.get_ref()
            );
            return Err(located.error(Some(span), &message));
        }
    }
    for rule in parsed.rules {
        match rules.iter_mut().find(|r| r.id == rule.id) {
            Some(existing) => *existing = rule,
            None => rules.push(rule),
        }
    }
    Ok(rules)
}

/// A rules file, read and checked: the id patterns it disables and its rules.
pub(super) struct Parsed {
    disable: Vec<Spanned<String>>,
    pub rules: Vec<Rule>,
}

pub(super) fn parse(file: &str, text: &str) -> Result<Parsed, RuleError> {
    let located = Locator { file, text };
    if text.len() > MAX_RULES_FILE_BYTES {
        return Err(RuleError::TooLarge {
            file: located.file_name(),
            size: text.len(),
            limit: MAX_RULES_FILE_BYTES,
        });
    }
    let raw: RulesFile = toml::from_str(text).map_err(|e| located.error(e.span(), e.message()))?;
    let mut rules: Vec<Rule> = Vec::new();
    for raw_rule in raw.rule {
        let span = raw_rule.id.span();
        let rule = compile(raw_rule, file, &located)?;
        if rules.iter().any(|other| other.id == rule.id) {
            let message = format!("rule {:?} is defined twice in this file", rule.id);
            return Err(located.error(Some(span), &message));
        }
        rules.push(rule);
    }
    Ok(Parsed {
        disable: raw.disable,
        rules,
    })
}

fn compile(raw: RawRule, origin: &str, located: &Locator<'_>) -> Result<Rule, RuleError> {
    let id = checked_id(&raw.id, located)?;
    let paths_span = raw.paths.span();
    let paths = raw.paths.into_inner();
    if paths.is_empty() {
        return Err(located.error(Some(paths_span), "`paths` is empty"));
    }
    let mut globs = Vec::with_capacity(paths.len());
    let mut patterns = Vec::with_capacity(paths.len());
    for path in paths {
        let pattern = path.get_ref().trim_start_matches('/');
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| located.error(Some(path.span()), &format!("bad path pattern: {e}")))?;
        globs.push(glob);
        patterns.push(pattern.to_owned());
    }
    let explanation = checked_explanation(&raw.explanation, located)?;
    let condition = raw
        .content
        .map(|content| condition(content, located))
        .transpose()?;
    let aspects = match (raw.aspects, &condition) {
        (Some(aspects), Some(_)) => {
            let message =
                "a rule with a `content` condition explains the content only: remove `aspects`";
            return Err(located.error(Some(aspects.span()), message));
        }
        (Some(aspects), None) => checked_aspects(aspects, located)?,
        (None, Some(_)) => Aspect::Content.into(),
        (None, None) => Aspect::Presence | Aspect::Content,
    };
    Ok(Rule {
        id,
        paths: patterns,
        category: raw.category,
        severity: raw.severity,
        explanation,
        aspects,
        condition,
        origin: origin.to_owned(),
        globs,
    })
}

fn checked_id(id: &Spanned<String>, located: &Locator<'_>) -> Result<String, RuleError> {
    let text = id.get_ref();
    let valid_chars = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if text.is_empty() || text.len() > MAX_ID_CHARS || !valid_chars {
        let message = format!(
            "bad rule id {:?}: 1 to {MAX_ID_CHARS} letters, digits, `.`, `-` or `_`",
            escape_control(text)
        );
        return Err(located.error(Some(id.span()), &message));
    }
    Ok(text.clone())
}

fn checked_explanation(
    explanation: &Spanned<String>,
    located: &Locator<'_>,
) -> Result<String, RuleError> {
    let text = explanation.get_ref().trim();
    let problem = if text.is_empty() {
        Some("`explanation` is empty")
    } else if text.chars().any(char::is_control) {
        Some("`explanation` must be one line without control characters")
    } else if text.chars().count() > MAX_EXPLANATION_CHARS {
        Some("`explanation` is longer than 240 characters")
    } else {
        None
    };
    match problem {
        Some(message) => Err(located.error(Some(explanation.span()), message)),
        None => Ok(text.to_owned()),
    }
}

fn checked_aspects(
    aspects: Spanned<Vec<Aspect>>,
    located: &Locator<'_>,
) -> Result<AspectSet, RuleError> {
    let span = aspects.span();
    let list = aspects.into_inner();
    if list.is_empty() {
        return Err(located.error(Some(span), "`aspects` is empty"));
    }
    if let Some(derived) = list.iter().find(|a| a.is_derived()) {
        let message = format!(
            "`{}` only restates other differences and cannot be explained on its own",
            derived.name()
        );
        return Err(located.error(Some(span), &message));
    }
    Ok(list.into_iter().collect())
}

fn condition(content: Spanned<RawContent>, located: &Locator<'_>) -> Result<Condition, RuleError> {
    let span = content.span();
    let fail = |message: &str| Err(located.error(Some(span.clone()), message));
    let content = content.into_inner();
    match (content.changes, content.fields) {
        (Some(changes), None) => {
            if content.separator.is_some() {
                return fail("`separator` goes with `fields`, not with `changes`");
            }
            if changes.is_empty() {
                return fail("`changes` is empty");
            }
            Ok(Condition::Changes {
                kinds: changes.iter().map(AllowedChange::kind).collect(),
                recognise: Recognise {
                    epoch_seconds: content.epoch_seconds,
                },
            })
        }
        (None, Some(fields)) => {
            if content.epoch_seconds {
                return fail("`epoch-seconds` goes with `changes`, not with `fields`");
            }
            let separator = match content.separator.as_deref().map(str::as_bytes) {
                Some([byte]) if byte.is_ascii() => *byte,
                _ => return fail("`fields` needs a `separator` of one ASCII character"),
            };
            if fields.is_empty() || fields.contains(&0) {
                return fail("`fields` lists field numbers, counted from 1");
            }
            let mut fields = fields;
            fields.sort_unstable();
            fields.dedup();
            Ok(Condition::Fields { separator, fields })
        }
        (Some(_), Some(_)) => fail("`content` takes either `changes` or `fields`, not both"),
        (None, None) => fail("`content` needs `changes` or `fields`"),
    }
}

/// A TOML file's parse error as one line naming the file and the line (for the other TOML files the
/// binary reads: CI rules, the config file).
pub fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> RuleError {
    located_error(file, text, error.span(), error.message())
}

/// An error about bytes `span` of a TOML file `file` whose content is `text`, naming the line.
pub fn located_error(
    file: &str,
    text: &str,
    span: Option<Range<usize>>,
    message: &str,
) -> RuleError {
    Locator { file, text }.error(span, message)
}

/// Turns byte offsets of a rules file into line numbers for errors.
struct Locator<'t> {
    file: &'t str,
    text: &'t str,
}

impl Locator<'_> {
    fn file_name(&self) -> String {
        escape_control(self.file).into_owned()
    }

    fn error(&self, span: Option<Range<usize>>, message: &str) -> RuleError {
        let message = one_line(message);
        match span {
            Some(span) => RuleError::Invalid {
                file: self.file_name(),
                line: line_of(self.text, span.start),
                message,
            },
            None => RuleError::unlocated(self.file, message),
        }
    }
}

/// The 1-based line that byte `offset` of `text` is on.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A message on one line: the TOML parser's messages may span several.
fn one_line(message: &str) -> String {
    let joined: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    escape_control(&joined.join("; ")).into_owned()
}
