//! `--format html` / `--html FILE`: one self-contained static page (inline CSS and a little JS, nothing
//! fetched) that a person opens later, e.g. as a CI artifact. Readable without JS: the comparison tree
//! is nested `<details>` (images → platforms → config / packages / layers or merged filesystem →
//! directories → files), closed below the platforms; the script only adds "open all", "close all" and a
//! path filter.
//!
//! Everything from an image is escaped ([`escape`]: `&<>"'` as entities, control characters as
//! `\u{…}`), and a Content-Security-Policy allows no script but the page's own (by its sha256), no
//! network, no forms: a name that escaping missed still could not run.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::explain::Verdict;
use crate::filter::{Counts, Presentation, Shown};
use crate::model::{
    Context, ContextId, ContextKind, DiffKind, Difference, EntryMeta, Report, escape_control,
};
use crate::rules::{Outcome, RulesReport};

mod contents;

pub use contents::Contents;

use super::Summary;
use super::markdown::verdict_line;
use super::table::explanation_line;

/// File differences written at most; the rest are counted in a note (the page stays tens of MB).
pub const MAX_HTML_FILES: usize = 50_000;

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/script.js");

/// Writes the HTML report.
pub fn write_html(
    out: &mut dyn Write,
    inputs: [&str; 2],
    report: &Report,
    presentation: &Presentation<'_>,
    shown: &[Shown<'_>],
    rules: Option<&RulesReport>,
    contents: Option<&Contents>,
) -> io::Result<()> {
    let page = PageSetup {
        inputs,
        report,
        presentation,
        shown,
        rules,
        contents,
        max_files: MAX_HTML_FILES,
    };
    page.write(out)
}

/// What a page is made of.
struct PageSetup<'a, 'r> {
    inputs: [&'a str; 2],
    report: &'r Report,
    presentation: &'a Presentation<'r>,
    /// What `presentation` shows.
    shown: &'a [Shown<'r>],
    rules: Option<&'a RulesReport>,
    contents: Option<&'a Contents>,
    /// File differences written at most (the rest counted in a note).
    max_files: usize,
}

impl PageSetup<'_, '_> {
    /// Writes the page to `out` as it is made (the whole page was 34 MB of one string on the README's
    /// host pair).
    fn write(self, out: &mut dyn Write) -> io::Result<()> {
        let PageSetup {
            inputs,
            report,
            presentation,
            shown,
            rules,
            contents,
            max_files,
        } = self;
        let verdict = Verdict::new(report, shown);
        let summary = Summary::new(report, presentation, shown);
        let mut counted: HashMap<ContextId, usize> = HashMap::new();
        for s in shown {
            if let Counts::One { .. } = Counts::of(report, s) {
                *counted.entry(s.difference.context).or_default() += 1;
            }
        }
        let mut page = Page {
            report,
            presentation,
            contents,
            by_context: HashMap::new(),
            counted,
            files_written: 0,
            files_left_out: 0,
            max_files,
            html: String::with_capacity(Page::PASS_ON),
            out,
            failed: None,
        };
        for s in shown {
            page.by_context
                .entry(s.difference.context)
                .or_default()
                .push(s);
        }
        let title = format!("ocidiff-tui: {} ↔ {}", inputs[0], inputs[1]);
        let script_hash = Sha256::digest(SCRIPT.as_bytes());
        let script_hash = base64::engine::general_purpose::STANDARD.encode(script_hash);
        let _ = writeln!(
            page.html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src 'none'; \
         form-action 'none'; base-uri 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style></head>\n<body>",
            escape(&title)
        );
        let _ = writeln!(
            page.html,
            "<header><h1>ocidiff-tui report</h1>\n<p class=\"inputs\"><span class=\"side0\">{}</span> \
         ↔ <span class=\"side1\">{}</span></p>",
            escape(inputs[0]),
            escape(inputs[1])
        );
        let failed = rules.is_some_and(RulesReport::failed);
        let verdict_class = match (
            report.errors.is_empty(),
            verdict.differences,
            verdict.unexplained,
        ) {
            (false, _, _) => "error",
            (true, 0, _) => "equal",
            (true, _, 0) if !failed => "explained",
            _ => "different",
        };
        let _ = writeln!(
            page.html,
            "<p id=\"verdict\" class=\"verdict {verdict_class}\">{}</p>\n<p id=\"summary\">{}</p>",
            escape(&verdict_line(report, &verdict)),
            escape(&summary.to_string())
        );
        page.counts(&verdict, &summary);
        page.html.push_str("</header>\n");
        if let Some(rules) = rules {
            page.rules(rules);
        }
        page.messages();
        page.html.push_str(
            "<nav id=\"tools\" hidden><button type=\"button\" id=\"open-all\">open all</button> \
         <button type=\"button\" id=\"close-all\">close all</button> \
         <input id=\"path-filter\" type=\"search\" placeholder=\"paths containing…\"></nav>\n\
         <main id=\"tree\">\n",
        );
        let roots: Vec<&Context> = report
            .contexts
            .iter()
            .filter(|c| c.parent.is_none())
            .collect();
        for root in roots {
            page.context(root, 0);
        }
        page.html.push_str("</main>\n");
        if page.files_left_out > 0 {
            let _ = writeln!(
                page.html,
                "<p class=\"note\" id=\"left-out\">{} more file differences are not in this page (limit \
             {}); the JSON report lists every one.</p>",
                page.files_left_out, page.max_files
            );
        }
        let _ = writeln!(page.html, "<script>{SCRIPT}</script>\n</body></html>");
        page.finish()
    }
}

struct Page<'a, 'r> {
    report: &'r Report,
    presentation: &'a Presentation<'r>,
    contents: Option<&'a Contents>,
    /// Shown differences by context, in report order.
    by_context: HashMap<ContextId, Vec<&'a Shown<'r>>>,
    /// How many of them count as differences of their own, as the verdict counts.
    counted: HashMap<ContextId, usize>,
    files_written: usize,
    files_left_out: usize,
    max_files: usize,
    /// What is made and not yet written to `out`.
    html: String,
    out: &'a mut dyn Write,
    /// The first error writing to `out`; nothing is written after it.
    failed: Option<io::Error>,
}

impl Page<'_, '_> {
    /// Bytes made past which they are written out.
    const PASS_ON: usize = 256 << 10;

    /// Writes out what is made if it is [`Self::PASS_ON`] bytes or more.
    fn pass_on(&mut self) {
        if self.html.len() >= Self::PASS_ON {
            self.write_out();
        }
    }

    fn write_out(&mut self) {
        if self.failed.is_none()
            && let Err(error) = self.out.write_all(self.html.as_bytes())
        {
            self.failed = Some(error);
        }
        self.html.clear();
    }

    fn finish(mut self) -> io::Result<()> {
        self.write_out();
        match self.failed {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Files and directories below a context, by path component.
#[derive(Default)]
struct Dir<'a, 'r> {
    dirs: BTreeMap<&'r str, Dir<'a, 'r>>,
    /// Named by what follows the directories' names in their keys.
    files: Vec<&'a Shown<'r>>,
    count: usize,
}

impl<'a, 'r> Dir<'a, 'r> {
    /// Files under `path` (the difference's key or a part of it).
    fn insert(&mut self, path: &'r str, shown: &'a Shown<'r>) {
        self.count += 1;
        match path.split_once('/') {
            Some((dir, rest)) if !rest.is_empty() => {
                self.dirs.entry(dir).or_default().insert(rest, shown)
            }
            _ => self.files.push(shown),
        }
    }
}

impl<'a, 'r> Page<'a, 'r> {
    fn counts(&mut self, verdict: &Verdict, summary: &Summary) {
        self.html
            .push_str("<table class=\"counts\" id=\"counts\"><tbody>\n");
        for (category, count) in [
            ("differences", verdict.differences),
            ("explained by package changes", verdict.by_packages),
            ("noise", verdict.noise),
            ("explained, to review", verdict.review),
            ("unexplained", verdict.unexplained),
            ("need attention", verdict.alerts),
        ] {
            let _ = writeln!(self.html, "<tr><th>{category}</th><td>{count}</td></tr>");
        }
        self.html.push_str("</tbody></table>\n");
        let hidden = summary.hidden();
        if !hidden.is_empty() {
            self.html
                .push_str("<table class=\"counts\" id=\"hidden\"><thead><tr><th>hidden by</th><th>differences</th></tr></thead><tbody>\n");
            for (filter, count) in hidden {
                let _ = writeln!(
                    self.html,
                    "<tr><th>{}</th><td>{count}</td></tr>",
                    escape(&filter)
                );
            }
            self.html.push_str("</tbody></table>\n");
        }
    }

    fn rules(&mut self, rules: &RulesReport) {
        self.html.push_str(
            "<section id=\"rules\"><h2>Rules</h2><table><thead><tr><th>rule</th><th>result</th>\
             <th>detail</th></tr></thead><tbody>\n",
        );
        for result in &rules.results {
            let class = match result.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "fail",
                Outcome::Skip => "skip",
            };
            let _ = write!(
                self.html,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}",
                result.rule,
                result.outcome.word(),
                escape(&result.detail)
            );
            if !result.offending.is_empty() {
                self.html.push_str("<ul>");
                for item in &result.offending {
                    let _ = write!(self.html, "<li>{}</li>", escape(item));
                }
                self.html.push_str("</ul>");
            }
            self.html.push_str("</td></tr>\n");
        }
        self.html.push_str("</tbody></table></section>\n");
    }

    fn messages(&mut self) {
        let report = self.report;
        for (class, messages) in [("error", &report.errors), ("warning", &report.warnings)] {
            for message in messages.iter() {
                let _ = writeln!(
                    self.html,
                    "<p class=\"{class}\">{class}: {}</p>",
                    escape(message)
                );
            }
        }
    }

    /// In this context and below it: the differences the verdict counts, and the shown rows (those
    /// and the rows that follow from them: digests, entry counts).
    fn count_below(&self, context: &Context) -> (usize, usize) {
        let differences = self.counted.get(&context.id).copied().unwrap_or(0);
        let rows = self.by_context.get(&context.id).map_or(0, Vec::len);
        self.children(context.id)
            .iter()
            .map(|c| self.count_below(c))
            .fold((differences, rows), |(d, r), (cd, cr)| (d + cd, r + cr))
    }

    /// The contexts below `id` that the view shows, nested archives left to their files.
    fn children(&self, id: ContextId) -> Vec<&'r Context> {
        self.report
            .contexts
            .iter()
            .filter(|c| c.parent == Some(id))
            .filter(|c| !matches!(c.kind, ContextKind::Nested { .. }))
            .filter(|c| self.presentation.context_in_view(c))
            .collect()
    }

    fn context(&mut self, context: &'r Context, depth: usize) {
        let (count, rows) = self.count_below(context);
        let open = if depth < 2 { " open" } else { "" };
        let _ = write!(
            self.html,
            "<details class=\"ctx {kind}\" data-count=\"{count}\"{open}><summary><span class=\"kind\">{kind}</span> \
             {label} <span class=\"count\">{count} {differences}</span>",
            kind = kind_name(&context.kind),
            label = escape(&context.label),
            differences = if count == 1 {
                "difference"
            } else {
                "differences"
            },
        );
        if rows > count {
            let _ = write!(
                self.html,
                " <span class=\"rows\">(+{} {} from them)</span>",
                rows - count,
                if rows - count == 1 {
                    "row that follows"
                } else {
                    "rows that follow"
                }
            );
        }
        if let Some(proof) = self.report.layer_proof(context.id) {
            let _ = write!(
                self.html,
                " <span class=\"proof\">{}</span>",
                proof.description()
            );
        }
        self.html.push_str("</summary>\n");
        self.descriptors(context);
        // Each context is written once, after its count (and its ancestors') was taken.
        let own: Vec<&'a Shown<'r>> = self.by_context.remove(&context.id).unwrap_or_default();
        // In place: a layer's million files are one list, not two.
        let mut files = own;
        let others: Vec<&Shown> =
            (files.extract_if(.., |s| s.difference.kind != DiffKind::File)).collect();
        if context.kind == ContextKind::Packages {
            self.packages(&others);
        } else if !others.is_empty() {
            self.fields(&others);
        }
        if !files.is_empty() {
            let mut root = Dir::default();
            for s in &files {
                root.insert(s.difference.key(), s);
            }
            self.dir(&root, 0);
        }
        for child in self.children(context.id) {
            self.context(child, depth + 1);
        }
        self.html.push_str("</details>\n");
    }

    /// A context's descriptors, one row per side, when it has any.
    fn descriptors(&mut self, context: &Context) {
        let sides = [&context.descriptors.input0, &context.descriptors.input1];
        if sides.iter().all(|d| d.is_none()) {
            return;
        }
        self.html.push_str(
            "<table class=\"descriptors\"><thead><tr><th></th><th>media type</th><th>digest</th>\
             <th>size</th></tr></thead><tbody>\n",
        );
        for (side, descriptor) in sides.into_iter().enumerate() {
            match descriptor {
                Some(d) => {
                    let _ = writeln!(
                        self.html,
                        "<tr><th>input {side}</th><td>{}</td><td class=\"digest\">{}</td><td>{}</td></tr>",
                        escape(&d.media_type),
                        escape(&d.digest.to_string()),
                        d.size
                    );
                }
                None => {
                    let _ = writeln!(
                        self.html,
                        "<tr><th>input {side}</th><td colspan=\"3\">absent</td></tr>"
                    );
                }
            }
        }
        self.html.push_str("</tbody></table>\n");
    }

    /// Config, manifest, descriptor and layer differences: one row per field.
    fn fields(&mut self, shown: &[&Shown<'_>]) {
        self.html.push_str(
            "<table class=\"fields\"><thead><tr><th>what</th><th>field</th><th>input 0</th>\
             <th>input 1</th></tr></thead><tbody>\n",
        );
        for s in shown {
            for delta in s.deltas().iter() {
                let _ = writeln!(
                    self.html,
                    "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    s.difference.kind.label(),
                    escape(s.difference.key()),
                    escape(&delta.field),
                    value(&delta.values.input0.to_json()),
                    value(&delta.values.input1.to_json())
                );
            }
            self.explanations(s.difference, "tr");
        }
        self.html.push_str("</tbody></table>\n");
    }

    fn packages(&mut self, shown: &[&Shown<'_>]) {
        self.html.push_str(
            "<table class=\"packages\"><thead><tr><th>package</th><th>input 0</th><th>input 1</th>\
             <th>change</th></tr></thead><tbody>\n",
        );
        for s in shown {
            let d = s.difference;
            let (v0, v1) = d
                .deltas()
                .first()
                .map(|x| {
                    (
                        value(&x.values.input0.to_json()),
                        value(&x.values.input1.to_json()),
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                self.html,
                "<tr><td>{}</td><td>{v0}</td><td>{v1}</td><td>{}</td></tr>",
                escape(d.key()),
                escape(&crate::explain::package_change_kind(d))
            );
        }
        self.html.push_str("</tbody></table>\n");
    }

    /// Writes `dir`, whose files' keys start with `prefix` bytes of directory names.
    fn dir(&mut self, dir: &Dir<'a, 'r>, prefix: usize) {
        for (name, sub) in &dir.dirs {
            let _ = writeln!(
                self.html,
                "<details class=\"dir\"><summary>{}/ <span class=\"count\">{}</span></summary>",
                escape(name),
                sub.count
            );
            self.dir(sub, prefix + name.len() + 1);
            self.html.push_str("</details>\n");
        }
        for shown in &dir.files {
            if self.files_written >= self.max_files {
                self.files_left_out += 1;
                continue;
            }
            self.files_written += 1;
            let name = shown.difference.key().get(prefix..).unwrap_or_default();
            self.file(name, shown);
            self.pass_on();
        }
    }

    fn file(&mut self, name: &str, shown: &Shown<'_>) {
        let d = shown.difference;
        let (status, mark) = file_status(d);
        let _ = write!(
            self.html,
            "<details class=\"file {status}\"><summary><span class=\"mark\">{mark}</span> {}",
            escape(name)
        );
        let mut aspects: Vec<&str> = shown.deltas().iter().map(|x| x.aspect.name()).collect();
        aspects.dedup();
        for aspect in aspects {
            let _ = write!(self.html, " <span class=\"badge\">{aspect}</span>");
        }
        if !d.explanations.is_empty() {
            self.html
                .push_str(" <span class=\"badge explained\">explained</span>");
        }
        // The path as text, not an attribute: nothing from an image goes into an attribute.
        let _ = writeln!(
            self.html,
            "</summary>\n<p class=\"path\">{}</p>\n<table class=\"fields\"><thead><tr><th>field</th>\
             <th>input 0</th><th>input 1</th></tr></thead><tbody>",
            escape(d.key())
        );
        for (delta, is_shown) in shown.deltas().marked() {
            let hidden = !is_shown;
            let class = if hidden { " class=\"ignored\"" } else { "" };
            let _ = writeln!(
                self.html,
                "<tr{class}><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                escape(&delta.field),
                if hidden { " (ignored)" } else { "" },
                value(&delta.values.input0.to_json()),
                value(&delta.values.input1.to_json())
            );
        }
        if let Some(entries) = d.entries.as_ref() {
            let _ = writeln!(
                self.html,
                "<tr class=\"entry\"><td>entry</td><td>{}</td><td>{}</td></tr>",
                entry(entries.input0.as_ref()),
                entry(entries.input1.as_ref())
            );
        }
        self.html.push_str("</tbody></table>\n");
        self.explanations(d, "ul");
        if let Some(section) = self.contents.and_then(|c| c.section(d)) {
            self.html.push_str(section);
        }
        if let Some(nested) = d.nested.get().and_then(|id| self.report.context(id)) {
            self.nested(nested);
        }
        self.html.push_str("</details>\n");
    }

    /// A nested archive's members, as their own section inside the file.
    fn nested(&mut self, context: &'r Context) {
        let format = match &context.kind {
            ContextKind::Nested { format, .. } => format.as_str(),
            _ => "",
        };
        let _ = writeln!(
            self.html,
            "<section class=\"nested\"><h4>inside ({})</h4>",
            escape(format)
        );
        // Each context is written once, after its count (and its ancestors') was taken.
        let own: Vec<&'a Shown<'r>> = self.by_context.remove(&context.id).unwrap_or_default();
        let mut root = Dir::default();
        for s in &own {
            root.insert(s.difference.key(), s);
        }
        self.dir(&root, 0);
        if own.is_empty() {
            self.html
                .push_str("<p class=\"note\">no member differs under the filters</p>\n");
        }
        self.html.push_str("</section>\n");
    }

    fn explanations(&mut self, d: &Difference, as_: &str) {
        if d.explanations.is_empty() {
            return;
        }
        let lines: Vec<String> = d
            .explanations
            .iter()
            .map(|e| {
                format!(
                    "<li class=\"{:?}\">{}</li>",
                    e.severity,
                    escape(&explanation_line(e))
                )
            })
            .collect();
        match as_ {
            "tr" => {
                let _ = writeln!(
                    self.html,
                    "<tr class=\"explanations\"><td colspan=\"4\"><ul>{}</ul></td></tr>",
                    lines.concat()
                );
            }
            _ => {
                let _ = writeln!(
                    self.html,
                    "<ul class=\"explanations\">{}</ul>",
                    lines.concat()
                );
            }
        }
    }
}

fn kind_name(kind: &ContextKind) -> &'static str {
    match kind {
        ContextKind::Images => "images",
        ContextKind::Manifest { .. } => "platform",
        ContextKind::Attestation { .. } => "attestation",
        ContextKind::Config => "config",
        ContextKind::Layer { .. } => "layer",
        ContextKind::Blob { .. } => "blob",
        ContextKind::MergedFs => "merged",
        ContextKind::Nested { .. } => "nested",
        ContextKind::Packages => "packages",
    }
}

/// `added`, `removed`, `type-changed` or `modified`, and its one-character mark.
fn file_status(d: &Difference) -> (&'static str, char) {
    let entries = d.entries.as_ref();
    match entries.map(|e| (e.input0.is_some(), e.input1.is_some())) {
        Some((false, true)) => ("added", '+'),
        Some((true, false)) => ("removed", '-'),
        _ if d
            .deltas()
            .iter()
            .any(|x| x.aspect == crate::model::Aspect::Kind) =>
        {
            ("type-changed", '!')
        }
        _ => ("modified", '~'),
    }
}

/// A tar entry in one line: kind, mode, owner, size, link.
fn entry(entry: Option<&EntryMeta>) -> String {
    let Some(e) = entry else {
        return "<em>absent</em>".into();
    };
    let mut text = format!(
        "{} {:04o} {}:{} {} bytes",
        e.kind().label(),
        e.permissions(),
        e.owner().uid,
        e.owner().gid,
        e.size()
    );
    if let Some(link) = &e.link() {
        let _ = write!(text, " → {link}");
    }
    escape(&text)
}

/// A delta's value: strings as they are, `absent` for null, other JSON compact; escaped.
fn value(value: &Value) -> String {
    match value {
        Value::Null => "<em>absent</em>".into(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// Text made inert in HTML (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let text = escape_control(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::{Filter, View};
    use crate::model::Aspect;
    use crate::report::fixtures::*;

    fn setup<'a, 'r>(
        report: &'r Report,
        presentation: &'a Presentation<'r>,
        shown: &'a [Shown<'r>],
        max_files: usize,
    ) -> PageSetup<'a, 'r> {
        PageSetup {
            inputs: ["a", "b"],
            report,
            presentation,
            shown,
            rules: None,
            contents: None,
            max_files,
        }
    }

    /// The page of `report` with at most `max_files` file differences.
    fn page_of_at_most(
        report: &Report,
        presentation: &Presentation<'_>,
        max_files: usize,
    ) -> String {
        let mut out = Vec::new();
        let shown = presentation.shown();
        (setup(report, presentation, &shown, max_files).write(&mut out))
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_file_is_named_by_what_follows_its_directories_in_its_path() {
        let paths = ["usr/share/doc/é/changelog.gz", "usr/bin/ü", "top"];
        let report = files_report(paths.len(), |i| paths[i].to_owned());
        let filter = Filter::default();
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let page = page_of_at_most(&report, &presentation, MAX_HTML_FILES);
        for name in ["changelog.gz", "ü", "top"] {
            let summary = format!("<span class=\"mark\">~</span> {name}");
            assert_eq!(page.matches(&summary).count(), 1, "{name}: {page}");
        }
        for dir in ["usr/ ", "share/ ", "doc/ ", "é/ ", "bin/ "] {
            assert!(page.contains(&format!("<summary>{dir}")), "{dir}: {page}");
        }
    }

    /// A report of `count` files whose contents differ, at the paths `path` gives.
    fn files_report(count: usize, path: impl Fn(usize) -> String) -> Report {
        let mut report = report_skeleton();
        for i in 0..count {
            let difference = content_difference(LAYER0, &path(i), &hex_of('1'), &hex_of('2'));
            report.differences.push(difference);
        }
        report
    }

    #[test]
    fn escape_leaves_no_markup_and_no_control_characters() {
        assert_eq!(
            escape("<script>\"a\" & 'b'\u{1b}[31m"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;\\u{1b}[31m"
        );
    }

    #[test]
    fn the_page_lists_contexts_files_and_the_hidden_names_escaped() {
        let mut report = report_skeleton();
        report.differences.push(content_difference(
            LAYER0,
            "etc/<img src=x onerror=alert(1)>",
            &hex_of('1'),
            &hex_of('2'),
        ));
        let filter = Filter::default();
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let page = page_of_at_most(&report, &presentation, MAX_HTML_FILES);
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
        assert!(!page.contains("<img"), "{page}");
        assert_eq!(page.matches("<details class=\"file modified\"").count(), 1);
        assert!(
            page.contains("<details class=\"dir\"><summary>etc/ <span class=\"count\">1</span>")
        );
    }

    #[test]
    fn sections_count_differences_as_the_verdict_does_and_name_the_rows_that_follow() {
        let mut report = report_skeleton();
        report.differences.push(content_difference(
            LAYER0,
            "etc/app.conf",
            &hex_of('1'),
            &hex_of('2'),
        ));
        report.differences.push(other_difference(
            LAYER0,
            DiffKind::Layer,
            "digest",
            delta(
                Aspect::Digest,
                "digest",
                json!(format!("sha256:{}", hex_of('3'))),
                json!(format!("sha256:{}", hex_of('4'))),
            ),
        ));
        let filter = Filter::default();
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let page = page_of_at_most(&report, &presentation, MAX_HTML_FILES);
        assert!(
            page.contains("<tr><th>differences</th><td>1</td></tr>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<span class=\"count\">1 difference</span> <span class=\"rows\">(+1 row that follows from them)</span>"
            ),
            "{page}"
        );
        assert!(!page.contains("2 differences"), "{page}");
    }

    #[test]
    fn files_past_the_limit_are_counted_in_a_note_not_written() {
        let report = files_report(5, |i| format!("etc/f{i}"));
        let filter = Filter::default();
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let page = page_of_at_most(&report, &presentation, 3);
        assert_eq!(page.matches("<details class=\"file ").count(), 3);
        assert!(
            page.contains("2 more file differences are not in this page (limit 3)"),
            "{page}"
        );
        let whole = page_of_at_most(&report, &presentation, MAX_HTML_FILES);
        assert_eq!(whole.matches("<details class=\"file ").count(), 5);
        assert!(!whole.contains("id=\"left-out\""));
    }

    /// Records the length of each write.
    struct Pieces(Vec<usize>);

    impl Write for Pieces {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.push(bytes.len());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_page_is_written_as_it_is_made() {
        let report = files_report(3000, |i| format!("usr/share/doc/package-{i}/changelog.gz"));
        let filter = Filter::default();
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let whole = page_of_at_most(&report, &presentation, MAX_HTML_FILES);
        assert!(whole.len() > 4 * Page::PASS_ON, "{}", whole.len());
        let mut pieces = Pieces(Vec::new());
        let shown = presentation.shown();
        (setup(&report, &presentation, &shown, MAX_HTML_FILES).write(&mut pieces))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pieces.0.iter().sum::<usize>(), whole.len());
        assert!(pieces.0.len() >= 4, "{:?}", pieces.0);
        assert!(
            pieces.0.iter().all(|&len| len < 2 * Page::PASS_ON),
            "{:?}",
            pieces.0
        );
    }
}
