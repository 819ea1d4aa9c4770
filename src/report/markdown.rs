//! `--format markdown` / `--markdown FILE`: a short report for merge requests and
//! `$GITHUB_STEP_SUMMARY`: the verdict, counts per category, the rules, the first shown differences with
//! their explanations, and the package changes.
//!
//! Everything from an image is escaped for Markdown (and for the HTML that renderers let through):
//! control characters as `\n`, `\u{1b}`, and the characters that make inline markup (`|`, `` ` ``,
//! `*`, `_`, `[`, `]`, `<`, `>`, `&`, `~`, `$`, `\`) with a backslash, so a name can neither end a
//! table cell, open a code span, nor make emphasis, a link, a tag, an entity or math.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::explain::{Verdict, package_change_kind};
use crate::filter::{Presentation, Shown};
use crate::model::{DiffKind, Report, escape_control};
use crate::rules::RulesReport;

use super::Summary;
use super::table::{explanation_line, table_rows};

/// Differences listed at most (`--markdown-rows`); the rest are counted.
pub const DEFAULT_MARKDOWN_ROWS: usize = 50;

/// Writes the Markdown report.
pub fn write_markdown(
    out: &mut dyn Write,
    inputs: [&str; 2],
    report: &Report,
    presentation: &Presentation<'_>,
    rules: Option<&RulesReport>,
    max_rows: usize,
) -> io::Result<()> {
    out.write_all(markdown(inputs, report, presentation, rules, max_rows).as_bytes())
}

/// The Markdown report as a string.
pub fn markdown(
    inputs: [&str; 2],
    report: &Report,
    presentation: &Presentation<'_>,
    rules: Option<&RulesReport>,
    max_rows: usize,
) -> String {
    let shown = presentation.shown();
    let verdict = Verdict::new(report, &shown);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## ocidiff-tui: {} ↔ {}\n",
        escape(inputs[0]),
        escape(inputs[1])
    );
    let _ = writeln!(
        md,
        "**Verdict:** {}\n",
        escape(&verdict_line(report, &verdict))
    );
    let summary = Summary::new(report, presentation, &shown);
    let _ = writeln!(md, "{}\n", escape(&summary.to_string()));
    write_counts(&mut md, &verdict);
    write_hidden(&mut md, &summary);
    if let Some(rules) = rules {
        write_rules(&mut md, rules);
    }
    write_differences(&mut md, report, &shown, max_rows);
    write_packages(&mut md, report, &shown);
    for error in &report.errors {
        let _ = writeln!(md, "- **error:** {}", escape(error));
    }
    for warning in &report.warnings {
        let _ = writeln!(md, "- warning: {}", escape(warning));
    }
    md
}

/// The verdict's line, or why there is none.
pub(super) fn verdict_line(report: &Report, verdict: &Verdict) -> String {
    match (report.errors.len(), verdict.differences) {
        (0, 0) => "no differences".into(),
        (0, _) => verdict.to_string(),
        (n, _) => format!("incomplete: {n} error(s), no verdict"),
    }
}

fn write_counts(md: &mut String, verdict: &Verdict) {
    if verdict.differences == 0 {
        return;
    }
    md.push_str("| category | differences |\n|---|---:|\n");
    for (category, count) in [
        ("explained by package changes", verdict.by_packages),
        ("noise", verdict.noise),
        ("explained, to review", verdict.review),
        ("unexplained", verdict.unexplained),
        ("need attention", verdict.alerts),
    ] {
        let _ = writeln!(md, "| {category} | {count} |");
    }
    md.push('\n');
}

fn write_hidden(md: &mut String, summary: &Summary) {
    let hidden = summary.hidden();
    if hidden.is_empty() {
        return;
    }
    md.push_str("| hidden by | differences |\n|---|---:|\n");
    for (filter, count) in hidden {
        let _ = writeln!(md, "| {} | {count} |", escape(&filter));
    }
    md.push('\n');
}

fn write_rules(md: &mut String, rules: &RulesReport) {
    md.push_str("### Rules\n\n| rule | result | detail |\n|---|---|---|\n");
    for result in &rules.results {
        let mut detail = escape(&result.detail);
        for item in &result.offending {
            let _ = write!(detail, "<br>{}", escape(item));
        }
        if result.offending_count > result.offending.len() {
            let more = result.offending_count - result.offending.len();
            let _ = write!(detail, "<br>… and {more} more");
        }
        let _ = writeln!(
            md,
            "| {} | **{}** | {detail} |",
            result.rule,
            result.outcome.word()
        );
    }
    md.push('\n');
}

fn write_differences(md: &mut String, report: &Report, shown: &[Shown<'_>], max_rows: usize) {
    let listed: Vec<Shown<'_>> = shown
        .iter()
        .filter(|s| s.difference.kind != DiffKind::Pkg)
        .take(max_rows)
        .cloned()
        .collect();
    if listed.is_empty() {
        return;
    }
    let all = shown
        .iter()
        .filter(|s| s.difference.kind != DiffKind::Pkg)
        .count();
    // Rows, not differences: the rows that follow from others (digests, entry counts) are listed too.
    let _ = if listed.len() < all {
        writeln!(
            md,
            "### Differences: the first {} of {all} rows\n",
            listed.len()
        )
    } else {
        writeln!(md, "### Differences: {all} rows\n")
    };
    md.push_str("| type | name | input 0 | input 1 | explanation |\n|---|---|---|---|---|\n");
    for (row, s) in table_rows(report, &listed).iter().zip(&listed) {
        let explanations = s.difference.explanations.iter().map(explanation_line);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            row.kind,
            escape(&row.name),
            escape(&row.input0),
            escape(&row.input1),
            lines_cell(explanations)
        );
    }
    md.push('\n');
}

fn write_packages(md: &mut String, report: &Report, shown: &[Shown<'_>]) {
    let packages: Vec<Shown<'_>> = shown
        .iter()
        .filter(|s| s.difference.kind == DiffKind::Pkg)
        .cloned()
        .collect();
    if packages.is_empty() {
        return;
    }
    let _ = writeln!(md, "### Package changes ({})\n", packages.len());
    md.push_str("| package | input 0 | input 1 | change |\n|---|---|---|---|\n");
    for (row, s) in table_rows(report, &packages).iter().zip(&packages) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            escape(&row.name),
            escape(&row.input0),
            escape(&row.input1),
            package_change_kind(s.difference)
        );
    }
    md.push('\n');
}

/// Lines in one table cell, each escaped.
fn lines_cell(lines: impl Iterator<Item = String>) -> String {
    lines
        .map(|line| escape(&line))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Text from an image made inert in Markdown: control characters escaped, inline markup characters
/// backslash-escaped (CommonMark shows `\|` as `|` inside a table cell, `\<` as `<`).
pub fn escape(text: &str) -> String {
    let text = escape_control(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '$' | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::{Filter, IgnoreOption, View};
    use crate::model::{Aspect, Category, ContextId, ContextKind, Explanation, Severity};
    use crate::report::fixtures::*;
    use crate::rules::Rules;

    fn sample() -> Report {
        let mut report = report_skeleton();
        let mut logged = content_difference(LAYER0, "var/log/dpkg.log", &hex_of('1'), &hex_of('2'));
        logged.explanations.push(Explanation {
            rule: "common.var-log".into(),
            category: Category::Log,
            severity: Severity::Noise,
            text: "Log files record the build".into(),
            aspects: Aspect::Content.into(),
            evidence: Some("3 changed lines differ only in timestamps".into()),
        });
        report.differences.push(logged);
        report.differences.push(content_difference(
            LAYER0,
            "etc/a|b`<script>x</script>\u{1b}[31m",
            &hex_of('3'),
            &hex_of('4'),
        ));
        let env = delta(Aspect::Config, "config.Env[2]", json!(null), json!("A=1"));
        report
            .differences
            .push(other_difference(CONFIG, DiffKind::Cfg, "config", env));
        let mut packages = report.contexts[2].clone();
        packages.id = ContextId(5);
        packages.kind = ContextKind::Packages;
        packages.path = "/manifests-0/packages".into();
        report.contexts.push(packages);
        let mut pkg = other_difference(
            ContextId(5),
            DiffKind::Pkg,
            "dpkg tzdata",
            delta(
                Aspect::Package,
                "version",
                json!("2024a-1"),
                json!("2025b-1"),
            ),
        );
        pkg.explanations.push(Explanation {
            rule: "package".into(),
            category: Category::Package,
            severity: Severity::Review,
            text: "tzdata 2024a-1 → 2025b-1 (upgraded)".into(),
            aspects: Aspect::Package.into(),
            evidence: None,
        });
        report.differences.push(pkg);
        report
    }

    fn render(filter: &Filter, max_rows: usize) -> String {
        let report = sample();
        let presentation = Presentation::new(&report, filter, View::PerLayer);
        let rules =
            Rules::parse("r.toml", "max-unexplained = 0\ndenied-paths = [\"etc/**\"]").unwrap();
        let outcome = rules.evaluate(&report, &presentation, &presentation.shown());
        markdown(
            ["oci:a", "oci:b|`x`"],
            &report,
            &presentation,
            Some(&outcome),
            max_rows,
        )
    }

    #[test]
    fn markdown_snapshot() {
        insta::assert_snapshot!("markdown_report", render(&Filter::default(), 50));
    }

    #[test]
    fn markdown_snapshot_with_hidden_differences_and_a_row_limit() {
        let filter = Filter::new(&[IgnoreOption::Owner], &["var/log".into()]).unwrap();
        insta::assert_snapshot!("markdown_report_limited", render(&filter, 1));
    }

    #[test]
    fn names_cannot_break_a_table_cell_or_make_markup() {
        let md = render(&Filter::default(), 50);
        let row = md
            .lines()
            .find(|l| l.starts_with("| File | etc/a"))
            .expect("the hostile row");
        // 5 cells: 6 unescaped pipes.
        let unescaped = row
            .char_indices()
            .filter(|(i, c)| *c == '|' && !row[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 6, "{row}");
        assert!(!md.contains("<script>"), "{md}");
        assert!(!md.contains('\u{1b}'), "{md}");
        assert!(row.contains(r"\<script\>"), "{row}");
    }
}
