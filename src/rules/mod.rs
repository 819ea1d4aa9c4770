//! CI rules (`--rules FILE`): conditions on a comparison's result that pass or fail a pipeline, in the
//! manner of dive's `.dive-ci`. Each configured rule gives one [`RuleResult`]: PASS, FAIL with the
//! offending paths, or SKIP when the comparison cannot tell (packages not read, sizes unknown).
//!
//! The file is TOML (README: "CI rules"); unknown keys are errors, so a misspelt rule never passes
//! silently. Rules other than `unexplained` look at every difference of the view, whatever the ignore
//! options hide: `--ignore-mode` must not hide a file that became setuid.

use std::fmt;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;

use crate::explain::{RuleError, Verdict, located_error, package_change_kind, toml_error};
use crate::filter::{Presentation, Shown};
use crate::model::{
    ContextKind, DiffKind, Difference, EntryKind, EntryMeta, Report, escape_control,
};

/// A rules file larger than this is refused.
pub const MAX_RULES_FILE_BYTES: usize = 1 << 20;
/// Offending items listed per rule; the count says how many there are in all.
const MAX_LISTED: usize = 50;

/// The rules file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RulesFile {
    /// Fail when more than this many differences are left unexplained (usually 0).
    max_unexplained: Option<usize>,
    /// Fail when a file whose path matches one of these globs differs.
    #[serde(default)]
    denied_paths: Vec<Spanned<String>>,
    /// Fail when a file becomes setuid or setgid.
    #[serde(default)]
    no_new_setuid: bool,
    /// Fail when a file or directory becomes world-writable.
    #[serde(default)]
    no_new_world_writable: bool,
    packages: Option<PackageRules>,
    /// Fail when one of these config fields differs (`User`, `Entrypoint`, `Cmd`, `ExposedPorts`,
    /// `Env:NAME` for one variable, any other field of the config's `config` object).
    #[serde(default)]
    config_fields: Vec<String>,
    /// Fail when an image grows by more than this many bytes (compressed layers, per platform).
    max_growth_bytes: Option<u64>,
    /// ... or by more than this percentage.
    max_growth_percent: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PackageRules {
    #[serde(default)]
    no_downgrade: bool,
    #[serde(default)]
    no_added: bool,
    #[serde(default)]
    no_removed: bool,
    /// Packages (globs on the name, or `ECOSYSTEM NAME`) that may change anyway.
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

/// Parsed rules, ready to evaluate.
#[derive(Debug)]
pub struct Rules {
    file: RulesFile,
    denied: GlobSet,
    allowed: GlobSet,
}

/// How a rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        }
    }
}

/// One rule's result: its name (the rules file's key), the outcome, a line saying why, and what
/// offended it (paths, packages, fields; the first [`MAX_LISTED`], escaped for printing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    pub rule: &'static str,
    pub outcome: Outcome,
    pub detail: String,
    pub offending: Vec<String>,
    /// How many offending items there are in all.
    #[serde(rename = "offendingCount")]
    pub offending_count: usize,
}

/// Every configured rule's result, in the order of the README's table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RulesReport {
    pub results: Vec<RuleResult>,
}

impl RulesReport {
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| r.outcome == Outcome::Fail)
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({ "failed": self.failed(), "results": self.results })
    }
}

impl fmt::Display for RuleResult {
    /// `FAIL: denied-paths: 2 changed paths match (etc/ssl/**)` then one indented line per item.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.outcome.word(), self.rule, self.detail)?;
        for item in &self.offending {
            write!(f, "\n    {item}")?;
        }
        if self.offending_count > self.offending.len() {
            write!(
                f,
                "\n    … and {} more",
                self.offending_count - self.offending.len()
            )?;
        }
        Ok(())
    }
}

impl Rules {
    /// Parses a rules file; `file` names it in errors, which are one line naming the line.
    pub fn parse(file: &str, text: &str) -> Result<Rules, RuleError> {
        if text.len() > MAX_RULES_FILE_BYTES {
            return Err(RuleError::TooLarge {
                file: escape_control(file).into_owned(),
                size: text.len(),
                limit: MAX_RULES_FILE_BYTES,
            });
        }
        let parsed: RulesFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
        let globs = |patterns: &[Spanned<String>]| {
            let mut builder = GlobSetBuilder::new();
            for pattern in patterns {
                let trimmed = pattern.get_ref().trim_start_matches('/');
                let glob = Glob::new(trimmed).map_err(|e| {
                    let message = format!("bad glob {:?}: {}", pattern.get_ref(), e.kind());
                    located_error(file, text, Some(pattern.span()), &message)
                })?;
                builder.add(glob);
            }
            builder
                .build()
                .map_err(|e| located_error(file, text, None, &e.to_string()))
        };
        let denied = globs(&parsed.denied_paths)?;
        let allowed = globs(parsed.packages.as_ref().map_or(&[], |p| &p.allow))?;
        Ok(Rules {
            file: parsed,
            denied,
            allowed,
        })
    }

    /// Evaluates every configured rule. `shown` is what the filter shows (the verdict's basis).
    pub fn evaluate(
        &self,
        report: &Report,
        presentation: &Presentation<'_>,
        shown: &[Shown<'_>],
    ) -> RulesReport {
        let in_view: Vec<&Difference> = report
            .differences
            .iter()
            .filter(|d| presentation.in_view(d))
            .collect();
        let file = &self.file;
        let mut results = Vec::new();
        if let Some(max) = file.max_unexplained {
            results.push(unexplained(report, shown, max));
        }
        if !file.denied_paths.is_empty() {
            let patterns: Vec<&str> = file
                .denied_paths
                .iter()
                .map(|p| p.get_ref().as_str())
                .collect();
            let offending = files(&in_view, |d| self.denied.is_match(d.key()));
            let what = format!("changed paths match ({})", patterns.join(", "));
            results.push(listed("denied-paths", offending, &what));
        }
        if file.no_new_setuid {
            let offending = files(&in_view, |d| gained_bits(d, 0o6000));
            results.push(listed(
                "no-new-setuid",
                offending,
                "files became setuid or setgid",
            ));
        }
        if file.no_new_world_writable {
            let offending = files(&in_view, |d| gained_bits(d, 0o002));
            let what = "files became world-writable";
            results.push(listed("no-new-world-writable", offending, what));
        }
        if let Some(packages) = &file.packages {
            results.extend(self.package_rules(report, &in_view, packages));
        }
        if !file.config_fields.is_empty() {
            results.push(config_fields(&in_view, &file.config_fields));
        }
        if file.max_growth_bytes.is_some() || file.max_growth_percent.is_some() {
            results.push(growth(
                report,
                file.max_growth_bytes,
                file.max_growth_percent,
            ));
        }
        RulesReport { results }
    }

    fn package_rules(
        &self,
        report: &Report,
        in_view: &[&Difference],
        rules: &PackageRules,
    ) -> Vec<RuleResult> {
        let read = report
            .contexts
            .iter()
            .any(|c| c.kind == ContextKind::Packages);
        let checks = [
            (
                rules.no_downgrade,
                "no-downgrade",
                "downgraded",
                "packages downgraded",
            ),
            (
                rules.no_added,
                "no-added-packages",
                "added",
                "packages added outside the allow list",
            ),
            (
                rules.no_removed,
                "no-removed-packages",
                "removed",
                "packages removed outside the allow list",
            ),
        ];
        checks
            .into_iter()
            .filter(|(on, ..)| *on)
            .map(|(_, rule, kind, what)| {
                if !read && report.finished {
                    return skip(rule, "no package database was read (or --no-packages)");
                }
                let offending: Vec<String> = in_view
                    .iter()
                    .filter(|d| d.kind == DiffKind::Pkg && package_change_kind(d) == kind)
                    .filter(|d| kind == "downgraded" || !self.allows(d.key()))
                    .map(|d| escape_control(d.key()).into_owned())
                    .collect();
                listed(rule, offending, what)
            })
            .collect()
    }

    /// `dpkg libssl3` is allowed by `libssl*` (the name) or `dpkg libssl*` (with its ecosystem).
    fn allows(&self, key: &str) -> bool {
        let name = key.split_once(' ').map_or(key, |(_, name)| name);
        self.allowed.is_match(key) || self.allowed.is_match(name)
    }
}

fn unexplained(report: &Report, shown: &[Shown<'_>], max: usize) -> RuleResult {
    let rule = "max-unexplained";
    if !report.errors.is_empty() {
        return skip(rule, "the comparison did not finish: no verdict");
    }
    let verdict = Verdict::new(report, shown);
    let outcome = if verdict.unexplained > max {
        Outcome::Fail
    } else {
        Outcome::Pass
    };
    RuleResult {
        rule,
        outcome,
        detail: format!("{} unexplained (at most {max})", verdict.unexplained),
        offending: Vec::new(),
        offending_count: 0,
    }
}

/// The distinct keys of the file differences that `offends`, in report order.
fn files(in_view: &[&Difference], offends: impl Fn(&Difference) -> bool) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for d in in_view {
        if d.kind == DiffKind::File && offends(d) {
            let key = escape_control(d.key()).into_owned();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Whether input 1's entry has one of `bits` that input 0's (if any) has not. A symlink's mode means
/// nothing.
fn gained_bits(d: &Difference, bits: u32) -> bool {
    let Some(entries) = d.entries.as_ref() else {
        return false;
    };
    let has = |e: &Option<EntryMeta>| {
        e.as_ref()
            .filter(|e| e.kind() != EntryKind::Symlink)
            .map_or(0, |e| e.permissions() & bits)
    };
    has(&entries.input1) & !has(&entries.input0) != 0
}

fn config_fields(in_view: &[&Difference], wanted: &[String]) -> RuleResult {
    let mut offending = Vec::new();
    for d in in_view.iter().filter(|d| d.kind == DiffKind::Cfg) {
        for delta in d.deltas().iter() {
            if wanted
                .iter()
                .any(|w| field_matches(w, &delta.field, &delta.values))
            {
                let line = format!(
                    "{}: {} → {}",
                    delta.field,
                    short(&delta.values.input0.to_json()),
                    short(&delta.values.input1.to_json())
                );
                offending.push(escape_control(&line).into_owned());
            }
        }
    }
    listed(
        "config-fields",
        offending,
        &format!("changed config fields ({})", wanted.join(", ")),
    )
}

/// `User` matches `config.User`; `Cmd` matches `config.Cmd[1]`; `Env:PATH` matches an `Env` entry
/// whose variable is PATH on either side.
fn field_matches(
    wanted: &str,
    field: &str,
    values: &crate::model::Sides<crate::model::DeltaValue>,
) -> bool {
    let Some(rest) = field.strip_prefix("config.") else {
        return false;
    };
    if let Some(name) = wanted.strip_prefix("Env:") {
        let named = |v: &crate::model::DeltaValue| {
            v.as_str()
                .is_some_and(|s| s.split_once('=').map_or(s, |(n, _)| n) == name)
        };
        return rest.starts_with("Env") && (named(&values.input0) || named(&values.input1));
    }
    rest == wanted
        || rest
            .strip_prefix(wanted)
            .is_some_and(|tail| tail.starts_with('[') || tail.starts_with('.'))
}

fn short(value: &Value) -> String {
    match value {
        Value::Null => "absent".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Per platform: the sum of the layers' (compressed) sizes of each side.
fn growth(report: &Report, max_bytes: Option<u64>, max_percent: Option<f64>) -> RuleResult {
    let rule = "max-growth";
    let mut offending = Vec::new();
    let mut lines = Vec::new();
    for manifest in report
        .contexts
        .iter()
        .filter(|c| matches!(c.kind, ContextKind::Manifest { .. }))
    {
        let layers = report.contexts.iter().filter(|c| {
            c.parent == Some(manifest.id)
                && matches!(c.kind, ContextKind::Layer { .. } | ContextKind::Blob { .. })
        });
        let (mut size0, mut size1) = (0u64, 0u64);
        for layer in layers {
            size0 += layer.descriptors.input0.as_ref().map_or(0, |d| d.size);
            size1 += layer.descriptors.input1.as_ref().map_or(0, |d| d.size);
        }
        let grown = size1.saturating_sub(size0);
        let percent = if size0 == 0 {
            0.0
        } else {
            grown as f64 * 100.0 / size0 as f64
        };
        let line = format!(
            "{}: {size0} → {size1} bytes ({}{grown} bytes, {percent:.2}%)",
            escape_control(&manifest.label),
            if size1 >= size0 { "+" } else { "-" }
        );
        let over = max_bytes.is_some_and(|max| grown > max)
            || max_percent.is_some_and(|max| percent > max);
        if over {
            offending.push(line.clone());
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return skip(rule, "no platform pair was compared: sizes unknown");
    }
    let limits: Vec<String> = max_bytes
        .map(|b| format!("{b} bytes"))
        .into_iter()
        .chain(max_percent.map(|p| format!("{p}%")))
        .collect();
    let detail = format!("growth over {} (layers, compressed)", limits.join(" or "));
    let count = offending.len();
    let detail = match count {
        0 => format!("no {detail}: {}", lines.join("; ")),
        n => format!("{n} {detail}"),
    };
    failing_on(rule, offending, count, detail)
}

/// A rule that fails when anything offends it: `N what` and the first items.
fn listed(rule: &'static str, mut offending: Vec<String>, what: &str) -> RuleResult {
    let count = offending.len();
    offending.truncate(MAX_LISTED);
    failing_on(rule, offending, count, format!("{count} {what}"))
}

/// The result of a rule that fails when `count` items offend it (`offending`: those listed).
fn failing_on(
    rule: &'static str,
    offending: Vec<String>,
    count: usize,
    detail: String,
) -> RuleResult {
    RuleResult {
        rule,
        outcome: if count > 0 {
            Outcome::Fail
        } else {
            Outcome::Pass
        },
        detail,
        offending,
        offending_count: count,
    }
}

fn skip(rule: &'static str, why: &str) -> RuleResult {
    RuleResult {
        rule,
        outcome: Outcome::Skip,
        detail: why.to_owned(),
        offending: Vec::new(),
        offending_count: 0,
    }
}

#[cfg(test)]
mod tests;
