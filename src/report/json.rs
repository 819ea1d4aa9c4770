//! `--format json`: one versioned JSON document with every difference of the view, each marked with
//! whether the filter shows it, so that a consumer can re-filter. See `JSON-FORMAT.md` beside this file.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{ReportError, Summary};
use crate::explain::Verdict;
use crate::filter::{Filter, IgnoreOption, Presentation, Shown, View};
use crate::model::{Aspect, Context, Delta, Difference, LayerProof, Report};
use crate::rules::RulesReport;

/// The value of the document's `ocidiffReport` member; bumped on any incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 2;

/// The JSON document of a report, serialised straight from the report as it is written: nothing of the
/// report is copied into an intermediate tree, so writing a report of a million differences takes little
/// more memory than the report itself. `inputs` are the two image specs as the user gave them.
pub struct JsonReport<'a, 'r> {
    inputs: [&'a str; 2],
    report: &'a Report,
    filter: &'a Filter,
    view: View,
    rules: Option<&'a RulesReport>,
    /// The presentation and what its filter shows, when the caller has them already (else they are
    /// worked out to be written).
    shown: Option<(&'a Presentation<'r>, &'a [Shown<'r>])>,
}

impl<'a, 'r> JsonReport<'a, 'r> {
    pub fn new(inputs: [&'a str; 2], report: &'a Report, filter: &'a Filter, view: View) -> Self {
        JsonReport {
            inputs,
            report,
            filter,
            view,
            rules: None,
            shown: None,
        }
    }

    /// Writes `shown`, which the caller worked out with `presentation` of the same report, filter
    /// and view, instead of working both out again (at a million differences, 32 MB and 25 MB).
    pub fn with_shown(self, presentation: &'a Presentation<'r>, shown: &'a [Shown<'r>]) -> Self {
        JsonReport {
            shown: Some((presentation, shown)),
            ..self
        }
    }

    /// Adds the `rules` member (`--rules`), after all the others.
    pub fn with_rules(self, rules: Option<&'a RulesReport>) -> Self {
        JsonReport { rules, ..self }
    }
}

impl Serialize for JsonReport<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.shown {
            Some((presentation, shown)) => self.write(s, presentation, shown),
            None => {
                let presentation = Presentation::new(self.report, self.filter, self.view);
                self.write(s, &presentation, &presentation.shown())
            }
        }
    }
}

impl JsonReport<'_, '_> {
    fn write<S: Serializer>(
        &self,
        s: S,
        presentation: &Presentation<'_>,
        shown: &[Shown<'_>],
    ) -> Result<S::Ok, S::Error> {
        let report = self.report;
        let mut document = s.serialize_map(None)?;
        document.serialize_entry("ocidiffReport", &JSON_FORMAT_VERSION)?;
        document.serialize_entry("inputs", &self.inputs)?;
        document.serialize_entry("view", &self.view)?;
        document.serialize_entry("filter", &FilterJson::new(self.filter))?;
        document.serialize_entry("contexts", &ContextsJson(report))?;
        let differences = DifferencesJson {
            report,
            presentation,
            shown,
        };
        document.serialize_entry("differences", &differences)?;
        document.serialize_entry("hidden", &HiddenJson(presentation))?;
        document.serialize_entry("errors", &report.errors)?;
        document.serialize_entry("warnings", &report.warnings)?;
        document.serialize_entry("summary", &SummaryJson::new(report, shown))?;
        document.serialize_entry("verdict", &VerdictJson::new(report, shown))?;
        if let Some(rules) = self.rules {
            document.serialize_entry("rules", &rules.to_json())?;
        }
        document.end()
    }
}

/// Writes the report as one pretty-printed JSON document followed by a newline.
pub fn write_json(out: &mut dyn Write, document: &JsonReport<'_, '_>) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, document)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The verdict, its counts and its one-line form.
#[derive(Serialize)]
struct VerdictJson {
    #[serde(flatten)]
    verdict: Verdict,
    line: String,
}

impl VerdictJson {
    fn new(report: &Report, shown: &[Shown<'_>]) -> Self {
        let verdict = Verdict::new(report, shown);
        let line = verdict.to_string();
        VerdictJson { verdict, line }
    }
}

/// The contexts, each layer pair proven equal without comparing entries saying how (`proof`).
struct ContextsJson<'a>(&'a Report);

impl Serialize for ContextsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        s.collect_seq(report.contexts.iter().map(|context| ContextJson {
            context,
            proof: report.layer_proof(context.id),
        }))
    }
}

#[derive(Serialize)]
struct ContextJson<'a> {
    #[serde(flatten)]
    context: &'a Context,
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<LayerProof>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterJson<'a> {
    ignored: Vec<&'static str>,
    ignore_paths: &'a [String],
}

impl<'a> FilterJson<'a> {
    fn new(filter: &'a Filter) -> Self {
        FilterJson {
            ignored: filter.options().iter().map(|o| o.flag()).collect(),
            ignore_paths: filter.patterns(),
        }
    }
}

struct HiddenJson<'a, 'r>(&'a Presentation<'r>);

/// How many differences each ignore option alone hides, by its flag, in the options' order.
struct ByOption(BTreeMap<IgnoreOption, usize>);

impl Serialize for ByOption {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(option, n)| (option.flag(), n)))
    }
}

impl Serialize for HiddenJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let presentation = self.0;
        let mut hidden = s.serialize_map(Some(3))?;
        hidden.serialize_entry("by-option", &ByOption(presentation.hidden_by_option()))?;
        hidden.serialize_entry("by-path", &presentation.hidden_by_paths())?;
        hidden.serialize_entry("by-noise", &presentation.hidden_by_noise())?;
        hidden.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson {
    differences: usize,
    by_aspect: BTreeMap<Aspect, usize>,
    rows: usize,
    rows_inside_files: usize,
    restating_rows: BTreeMap<Aspect, usize>,
    skipped_layers: usize,
    verified_layers: usize,
    finished: bool,
}

impl SummaryJson {
    fn new(report: &Report, shown: &[Shown<'_>]) -> Self {
        let summary = Summary::of_shown(report, shown);
        let proven_by = |how: LayerProof| {
            let proofs = report.equal_layers.iter();
            proofs.filter(|(_, proof)| *proof == how).count()
        };
        SummaryJson {
            differences: summary.differences,
            by_aspect: summary.by_aspect,
            rows: summary.rows,
            rows_inside_files: summary.rows_inside_files,
            restating_rows: summary.restating_rows,
            skipped_layers: proven_by(LayerProof::SameDigest),
            verified_layers: proven_by(LayerProof::ContentVerified),
            finished: summary.finished,
        }
    }
}

/// The differences of the view, in report order, each with the deltas the filter shows marked.
struct DifferencesJson<'a, 'p, 's> {
    report: &'a Report,
    presentation: &'a Presentation<'p>,
    shown: &'a [Shown<'s>],
}

impl Serialize for DifferencesJson<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `shown` is in report order: walked alongside the differences, it gives each its shown deltas.
        let mut shown = self.shown.iter().peekable();
        let differences = self.report.differences.iter().filter_map(|difference| {
            let shown = shown.next_if(|s| std::ptr::eq(s.difference, difference));
            self.presentation
                .in_view(difference)
                .then_some(DifferenceJson {
                    report: self.report,
                    difference,
                    shown,
                })
        });
        s.collect_seq(differences)
    }
}

struct DifferenceJson<'a> {
    report: &'a Report,
    difference: &'a Difference,
    /// How the filter shows it, if it does.
    shown: Option<&'a Shown<'a>>,
}

impl Serialize for DifferenceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.difference;
        let mut object = s.serialize_map(None)?;
        object.serialize_entry("context", &d.context)?;
        let path = self.report.context(d.context).map(|c| c.path.as_str());
        object.serialize_entry("contextPath", &path)?;
        object.serialize_entry("kind", &d.kind)?;
        object.serialize_entry("key", d.key())?;
        object.serialize_entry("aspects", &d.aspects())?;
        let shown = self.shown.filter(|s| s.shows_a_delta());
        object.serialize_entry("shown", &shown.is_some())?;
        object.serialize_entry("deltas", &DeltasJson(d, shown))?;
        if let Some(entries) = d.entries.as_ref() {
            object.serialize_entry("entries", entries)?;
        }
        if let Some(origin) = &d.origin.get() {
            object.serialize_entry("origin", origin)?;
        }
        if let Some(nested) = d.nested.get() {
            object.serialize_entry("nested", &nested)?;
        }
        if !d.explanations.is_empty() {
            object.serialize_entry("explanations", &d.explanations)?;
        }
        object.end()
    }
}

/// A difference's deltas, each marked with whether the filter shows it.
struct DeltasJson<'a>(&'a Difference, Option<&'a Shown<'a>>);

impl Serialize for DeltasJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(shown) => s.collect_seq(
                (shown.deltas().marked()).map(|(delta, shown)| DeltaJson { delta, shown }),
            ),
            None => s.collect_seq(self.0.deltas().iter().map(|delta| DeltaJson {
                delta,
                shown: false,
            })),
        }
    }
}

#[derive(Serialize)]
struct DeltaJson<'a> {
    #[serde(flatten)]
    delta: &'a Delta,
    shown: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{DiffKind, Timestamp};
    use crate::report::fixtures::*;

    fn sample_report() -> Report {
        let mut report = report_skeleton();
        report.differences.push(content_difference(
            LAYER0,
            "etc/os-release",
            &hex_of('1'),
            &hex_of('2'),
        ));
        let e0 = entry("./etc/motd");
        let mut e1 = entry("./etc/motd");
        e1.mtime = Timestamp::from_secs(1700000000);
        let mtime = delta(
            Aspect::FileTime,
            "mtime",
            json!(e0.mtime.rfc3339()),
            json!(e1.mtime.rfc3339()),
        );
        report
            .differences
            .push(file_difference(LAYER0, Some(e0), Some(e1), vec![mtime]));
        let env = delta(
            Aspect::Config,
            "Env[2]",
            json!("LANG=C"),
            json!("LANG=C.UTF-8"),
        );
        report
            .differences
            .push(other_difference(CONFIG, DiffKind::Cfg, "config.Env", env));
        report.differences.push(content_difference(
            LAYER1,
            "var/log/dpkg.log",
            &hex_of('3'),
            &hex_of('4'),
        ));
        report.warnings.push("input 0: unknown media type".into());
        report
    }

    fn render(report: &Report) -> Value {
        let filter = Filter::new(&[IgnoreOption::FileTimestamps], &["var/log".into()]).unwrap();
        let mut out = Vec::new();
        let document = JsonReport::new(["oci:a", "oci:b"], report, &filter, View::PerLayer);
        write_json(&mut out, &document).unwrap();
        assert!(out.ends_with(b"}\n"));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn every_difference_in_view_is_listed_with_shown_flags() {
        let doc = render(&sample_report());
        assert_eq!(doc["ocidiffReport"], 2);
        let differences = doc["differences"].as_array().unwrap();
        assert_eq!(differences.len(), 4);
        let shown: Vec<(&str, bool)> = differences
            .iter()
            .map(|d| (d["key"].as_str().unwrap(), d["shown"] == true))
            .collect();
        assert_eq!(
            shown,
            [
                ("etc/os-release", true),
                ("etc/motd", false),
                ("config.Env", true),
                ("var/log/dpkg.log", false)
            ]
        );
        assert_eq!(differences[1]["deltas"][0]["shown"], false);
        assert_eq!(differences[1]["entries"][0]["name"], "./etc/motd");
        assert_eq!(doc["hidden"]["by-option"]["ignore-file-timestamps"], 1);
        assert_eq!(doc["hidden"]["by-path"], 1);
        assert_eq!(doc["summary"]["differences"], 2);
        assert_eq!(doc["summary"]["rows"], 2);
    }

    #[test]
    fn merged_view_differences_are_left_out_of_a_per_layer_report() {
        let mut report = sample_report();
        let mut merged = report.contexts[3].clone();
        merged.id = crate::model::ContextId(5);
        merged.kind = crate::model::ContextKind::MergedFs;
        merged.path = "/manifests-0/merged".into();
        report.contexts.push(merged);
        report.differences.push(content_difference(
            merged_id(),
            "etc/x",
            &hex_of('5'),
            &hex_of('6'),
        ));
        let doc = render(&report);
        assert_eq!(doc["differences"].as_array().unwrap().len(), 4);
        assert_eq!(
            doc["contexts"].as_array().unwrap().len(),
            6,
            "contexts are all listed"
        );
    }

    fn merged_id() -> crate::model::ContextId {
        crate::model::ContextId(5)
    }

    fn with_layer_proofs() -> Report {
        let mut report = sample_report();
        report
            .equal_layers
            .push((LAYER1, LayerProof::ContentVerified));
        report
    }

    #[test]
    fn layer_proofs_are_on_their_contexts_and_counted() {
        let doc = render(&with_layer_proofs());
        let proofs: Vec<(&Value, &Value)> = doc["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| Some((&c["id"], c.get("proof")?)))
            .collect();
        assert_eq!(proofs, [(&json!(LAYER1), &json!("content-verified"))]);
        assert_eq!(doc["summary"]["verifiedLayers"], 1);
        assert_eq!(doc["summary"]["skippedLayers"], 0);
    }

    #[test]
    fn the_format_document_describes_every_member_and_aspect() {
        let doc = include_str!("JSON-FORMAT.md");
        let report = render(&with_layer_proofs());
        let contexts = report["contexts"].as_array().unwrap().iter();
        let members = report.as_object().unwrap().keys();
        let context_members = contexts.flat_map(|c| c.as_object().unwrap().keys());
        let summary_members = report["summary"].as_object().unwrap().keys();
        for key in members.chain(context_members).chain(summary_members) {
            assert!(
                doc.contains(&format!("`{key}`")),
                "JSON-FORMAT.md does not describe `{key}`"
            );
        }
        for key in report["differences"][0].as_object().unwrap().keys() {
            assert!(
                doc.contains(&format!("`{key}`")),
                "JSON-FORMAT.md does not describe `{key}`"
            );
        }
        for aspect in crate::model::AspectSet::all() {
            assert!(
                doc.contains(&format!("`{}`", aspect.name())),
                "aspect {} undocumented",
                aspect.name()
            );
        }
    }

    #[test]
    fn a_document_given_what_the_filter_shows_is_the_one_worked_out_without_it() {
        let report = sample_report();
        let filter = Filter::new(&[IgnoreOption::FileTimestamps], &["var/log".into()]).unwrap();
        let write = |document: &JsonReport<'_, '_>| {
            let mut out = Vec::new();
            write_json(&mut out, document).unwrap();
            String::from_utf8(out).unwrap()
        };
        let presentation = Presentation::new(&report, &filter, View::PerLayer);
        let shown = presentation.shown();
        let document = || JsonReport::new(["oci:a", "oci:b"], &report, &filter, View::PerLayer);
        let given = write(&document().with_shown(&presentation, &shown));
        assert_eq!(given, write(&document()));
        assert!(given.contains("\"shown\": true"), "{given}");
    }

    #[test]
    fn json_snapshot() {
        insta::assert_json_snapshot!("json_report", render(&sample_report()));
    }
}
