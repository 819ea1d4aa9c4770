//! `--format json`: one versioned JSON document with every difference of the view, each marked with
//! whether the filter shows it, so that a consumer can re-filter. See `JSON-FORMAT.md` beside this file.

use std::collections::HashSet;
use std::io::Write;

use serde_json::{Map, Value, json};

use super::{ReportError, Summary};
use crate::explain::Verdict;
use crate::filter::{Filter, Presentation, Shown, View};
use crate::model::{Delta, Difference, LayerProof, Report};

/// The value of the document's `ocidiffReport` member; bumped on any incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 2;

/// The report as a JSON value. `inputs` are the two image specs as the user gave them.
pub fn json_report(inputs: [&str; 2], report: &Report, filter: &Filter, view: View) -> Value {
    let presentation = Presentation::new(report, filter, view);
    let shown = presentation.shown();
    let shown_deltas: HashSet<*const Delta> = shown
        .iter()
        .flat_map(|s| s.deltas.iter().map(|d| *d as *const Delta))
        .collect();
    let differences: Vec<Value> = report
        .differences
        .iter()
        .filter(|d| presentation.in_view(d))
        .map(|d| difference_json(report, d, &shown_deltas))
        .collect();
    json!({
        "ocidiffReport": JSON_FORMAT_VERSION,
        "inputs": inputs,
        "view": view,
        "filter": filter_json(filter),
        "contexts": contexts_json(report),
        "differences": differences,
        "hidden": hidden_json(&presentation),
        "errors": report.errors,
        "warnings": report.warnings,
        "summary": summary_json(report, &shown),
        "verdict": verdict_json(report, &shown),
    })
}

/// The verdict, its counts and its one-line form.
fn verdict_json(report: &Report, shown: &[Shown<'_>]) -> Value {
    let verdict = Verdict::new(report, shown);
    let mut value = json!(verdict);
    value["line"] = json!(verdict.to_string());
    value
}

/// Writes the report as one pretty-printed JSON document followed by a newline.
pub fn write_json(
    out: &mut dyn Write,
    inputs: [&str; 2],
    report: &Report,
    filter: &Filter,
    view: View,
) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, &json_report(inputs, report, filter, view))?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The contexts, each layer pair proven equal without comparing entries saying how (`proof`).
fn contexts_json(report: &Report) -> Vec<Value> {
    report
        .contexts
        .iter()
        .map(|context| {
            let mut value = json!(context);
            if let (Some(proof), Some(object)) =
                (report.layer_proof(context.id), value.as_object_mut())
            {
                object.insert("proof".into(), json!(proof));
            }
            value
        })
        .collect()
}

fn filter_json(filter: &Filter) -> Value {
    let flags: Vec<&str> = filter.options().iter().map(|o| o.flag()).collect();
    json!({ "ignored": flags, "ignorePaths": filter.patterns() })
}

fn hidden_json(presentation: &Presentation<'_>) -> Value {
    let by_option: Map<String, Value> = presentation
        .hidden_by_option()
        .into_iter()
        .map(|(option, n)| (option.flag().to_owned(), json!(n)))
        .collect();
    json!({
        "by-option": by_option,
        "by-path": presentation.hidden_by_paths(),
        "by-noise": presentation.hidden_by_noise(),
    })
}

fn summary_json(report: &Report, shown: &[Shown<'_>]) -> Value {
    let summary = Summary::of_shown(report, shown);
    let proven_by = |how: LayerProof| {
        let proofs = report.equal_layers.iter();
        proofs.filter(|(_, proof)| *proof == how).count()
    };
    json!({
        "differences": summary.differences,
        "byAspect": summary.by_aspect,
        "rows": summary.rows,
        "rowsInsideFiles": summary.rows_inside_files,
        "restatingRows": summary.restating_rows,
        "skippedLayers": proven_by(LayerProof::SameDigest),
        "verifiedLayers": proven_by(LayerProof::ContentVerified),
        "finished": summary.finished,
    })
}

fn difference_json(report: &Report, d: &Difference, shown_deltas: &HashSet<*const Delta>) -> Value {
    let deltas: Vec<Value> = d
        .deltas
        .iter()
        .map(|delta| {
            json!({
                "aspect": delta.aspect,
                "field": delta.field,
                "values": delta.values,
                "shown": shown_deltas.contains(&(delta as *const Delta)),
            })
        })
        .collect();
    let mut object = Map::new();
    object.insert("context".into(), json!(d.context));
    let path = report.context(d.context).map(|c| c.path.as_str());
    object.insert("contextPath".into(), json!(path));
    object.insert("kind".into(), json!(d.kind));
    object.insert("key".into(), json!(d.key));
    object.insert("aspects".into(), json!(d.aspects()));
    object.insert(
        "shown".into(),
        json!(deltas.iter().any(|x| x["shown"] == true)),
    );
    object.insert("deltas".into(), Value::Array(deltas));
    if let Some(entries) = &d.entries {
        object.insert("entries".into(), json!(entries));
    }
    if let Some(origin) = &d.origin {
        object.insert("origin".into(), json!(origin));
    }
    if let Some(nested) = d.nested {
        object.insert("nested".into(), json!(nested));
    }
    if !d.explanations.is_empty() {
        object.insert("explanations".into(), json!(d.explanations));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::IgnoreOption;
    use crate::model::{Aspect, DiffKind, Timestamp};
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
        write_json(
            &mut out,
            ["oci:a", "oci:b"],
            report,
            &filter,
            View::PerLayer,
        )
        .unwrap();
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
    fn json_snapshot() {
        insta::assert_json_snapshot!("json_report", render(&sample_report()));
    }
}
