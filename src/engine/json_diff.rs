//! Field-by-field comparison of JSON documents (configs, manifests, indexes, descriptors). Every field is
//! compared, including ones no schema here names (Docker's Healthcheck, Shell, OnBuild...); each
//! differing leaf becomes a [`Delta`] whose aspect comes from its path.

use std::ops::Range;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::model::{Aspect, Delta};
use crate::oci::annotation;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Decides the aspect of a differing field, or `None` to leave the field out of this comparison
/// (because another context compares it, like a manifest's layer descriptors).
pub type Classifier = fn(&[Segment]) -> Option<Aspect>;

/// How long aligning the arrays of one document may take: hostile documents (two 16 MiB arrays with
/// nothing in common) would take hours; past it, arrays align coarser (more deltas, none lost).
const ALIGN_BUDGET: Duration = Duration::from_secs(2);

/// The deltas between two documents. The documents are taken, not borrowed: each part is freed as soon
/// as it is compared, and a differing leaf moves into its delta, so a config of 100,000 history steps
/// is never held twice.
pub fn json_deltas(a: Value, b: Value, classify: Classifier) -> Vec<Delta> {
    let mut walk = Walk {
        classify,
        deadline: Instant::now() + ALIGN_BUDGET,
        out: Vec::new(),
    };
    walk.compare(&mut Vec::new(), Some(a), Some(b));
    walk.out
}

/// One comparison of two documents.
struct Walk {
    classify: Classifier,
    deadline: Instant,
    out: Vec<Delta>,
}

type Object = serde_json::Map<String, Value>;

impl Walk {
    fn compare(&mut self, path: &mut Vec<Segment>, a: Option<Value>, b: Option<Value>) {
        if a == b {
            return;
        }
        let Some(aspect) = (self.classify)(path) else {
            return;
        };
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => self.compare_objects(path, x, y),
            // An object on one side and nothing on the other compares key by key against an empty object,
            // so each key keeps its own aspect (a ref-name annotation stays an image-name difference).
            (Some(Value::Object(x)), None | Some(Value::Null)) => {
                self.compare_objects(path, x, Object::new())
            }
            (None | Some(Value::Null), Some(Value::Object(y))) => {
                self.compare_objects(path, Object::new(), y)
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => self.compare_arrays(path, x, y),
            (a, b) => self.out.push(Delta::new(
                aspect,
                format_path(path),
                a.unwrap_or(Value::Null),
                b.unwrap_or(Value::Null),
            )),
        }
    }

    /// `x`'s keys in its order, then the keys only `y` has in `y`'s order.
    fn compare_objects(&mut self, path: &mut Vec<Segment>, x: Object, mut y: Object) {
        let only_in_y: Vec<String> = y.keys().filter(|k| !x.contains_key(*k)).cloned().collect();
        for (key, left) in x {
            // Taken out in place (a `null` left behind), so that `y` keeps its order.
            let right = y.get_mut(&key).map(std::mem::take);
            path.push(Segment::Key(key));
            self.compare(path, Some(left), right);
            path.pop();
        }
        for key in only_in_y {
            let right = y.get_mut(&key).map(std::mem::take);
            path.push(Segment::Key(key));
            self.compare(path, None, right);
            path.pop();
        }
    }

    /// Arrays are aligned by a diff of their elements, so one inserted Env entry or history step is one
    /// delta, not a shift of every later element. Elements are aligned on everything but their times
    /// (history steps rebuilt later are the same steps), then paired elements are compared in full.
    fn compare_arrays(&mut self, path: &mut Vec<Segment>, mut x: Vec<Value>, mut y: Vec<Value>) {
        let take = |v: &mut Vec<Value>, i: usize, present: bool| {
            v.get_mut(i).filter(|_| present).map(std::mem::take)
        };
        for (old, new) in self.align(path, &x, &y) {
            let paired = old.len().min(new.len());
            for k in 0..old.len().max(new.len()) {
                let (i, j) = (old.start + k, new.start + k);
                let left = take(&mut x, i, k < old.len());
                let right = take(&mut y, j, k < new.len());
                let index = if k < paired || right.is_none() { i } else { j };
                path.push(Segment::Index(index));
                self.compare(path, left, right);
                path.pop();
            }
        }
    }

    /// The alignment of two arrays as (old, new) ranges in order: equal ranges pair their elements,
    /// the others are replaced, deleted or inserted. The elements' common prefix and suffix are found
    /// a pair at a time, so only the middle's keys are ever held (none for two histories of the same
    /// steps); Myers' diff (which trims them the same way) aligns the middle.
    fn align(
        &self,
        path: &mut Vec<Segment>,
        x: &[Value],
        y: &[Value],
    ) -> Vec<(Range<usize>, Range<usize>)> {
        let mut same =
            |i: usize, j: usize| self.key_of(path, i, &x[i]) == self.key_of(path, j, &y[j]);
        let shorter = x.len().min(y.len());
        let prefix = (0..shorter).take_while(|&i| same(i, i)).count();
        let suffix = (0..shorter - prefix)
            .take_while(|&k| same(x.len() - 1 - k, y.len() - 1 - k))
            .count();
        let middle = (prefix..x.len() - suffix, prefix..y.len() - suffix);
        let mut ranges = vec![(0..prefix, 0..prefix)];
        if !(middle.0.is_empty() && middle.1.is_empty()) {
            let mut keys = |v: &[Value], range: Range<usize>| -> Vec<String> {
                range.map(|i| self.key_of(path, i, &v[i])).collect()
            };
            let (kx, ky) = (keys(x, middle.0), keys(y, middle.1));
            let ops = similar::capture_diff_slices_deadline(
                similar::Algorithm::Myers,
                &kx,
                &ky,
                Some(self.deadline),
            );
            let shift = |r: Range<usize>| r.start + prefix..r.end + prefix;
            ranges.extend(
                ops.iter()
                    .map(|op| (shift(op.old_range()), shift(op.new_range()))),
            );
        }
        ranges.push((x.len() - suffix..x.len(), y.len() - suffix..y.len()));
        ranges
    }

    /// The alignment key of the element at `index`.
    fn key_of(&self, path: &mut Vec<Segment>, index: usize, element: &Value) -> String {
        let mut key = String::new();
        path.push(Segment::Index(index));
        self.alignment_key(path, element, &mut key);
        path.pop();
        key
    }
}

impl Walk {
    /// The element as JSON text without the fields its document calls times.
    fn alignment_key(&self, path: &mut Vec<Segment>, value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                out.push('{');
                for (key, field) in map {
                    path.push(Segment::Key(key.clone()));
                    if (self.classify)(path) != Some(Aspect::ImageTime) {
                        out.push_str(&Value::String(key.clone()).to_string());
                        out.push(':');
                        self.alignment_key(path, field, out);
                        out.push(',');
                    }
                    path.pop();
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    path.push(Segment::Index(i));
                    self.alignment_key(path, item, out);
                    path.pop();
                    out.push(',');
                }
                out.push(']');
            }
            leaf => out.push_str(&leaf.to_string()),
        }
    }
}

/// `config.Env[2]`, `annotations["org.opencontainers.image.created"]`.
pub fn format_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Key(k) if is_plain_key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Key(k) => out.push_str(&format!("[{}]", Value::String(k.clone()))),
        }
    }
    out
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn key_at(path: &[Segment], i: usize) -> Option<&str> {
    match path.get(i) {
        Some(Segment::Key(k)) => Some(k),
        _ => None,
    }
}

pub fn annotation_aspect(key: &str) -> Aspect {
    match key {
        annotation::CREATED => Aspect::ImageTime,
        annotation::REF_NAME | annotation::CONTAINERD_IMAGE_NAME => Aspect::ImageName,
        // zstd:chunked and eStargz tables of contents change with the compression, not the content.
        k if annotation::is_encoding(k) => Aspect::MediaType,
        _ => Aspect::Annotation,
    }
}

fn annotations_or(path: &[Segment], default: Aspect) -> Aspect {
    match (key_at(path, 0), key_at(path, 1)) {
        (Some("annotations"), Some(key)) => annotation_aspect(key),
        (Some("annotations"), None) => Aspect::Annotation,
        _ => default,
    }
}

/// Image configuration: times, history and platform have their own aspects; `rootfs.diff_ids`
/// restates the layers (derived); everything else is configuration.
pub fn config_aspect(path: &[Segment]) -> Option<Aspect> {
    Some(match key_at(path, 0) {
        None => Aspect::Config,
        Some("created") => Aspect::ImageTime,
        Some("history") if path.len() == 3 && key_at(path, 2) == Some("created") => {
            Aspect::ImageTime
        }
        Some("history") => Aspect::History,
        Some("rootfs") if key_at(path, 1) == Some("diff_ids") => Aspect::Digest,
        Some("rootfs") => Aspect::Structure,
        Some("architecture" | "os" | "variant" | "os.version" | "os.features") => Aspect::Platform,
        Some(_) => Aspect::Config,
    })
}

/// Manifest fields; the config and layer descriptors are compared in their own contexts. An artifact's
/// `subject` is a descriptor like any other.
pub fn manifest_aspect(path: &[Segment]) -> Option<Aspect> {
    match key_at(path, 0) {
        Some("config" | "layers") => None,
        Some("mediaType") => Some(Aspect::MediaType),
        Some("subject") => descriptor_aspect(&path[1..]),
        _ => Some(annotations_or(path, Aspect::Structure)),
    }
}

/// Index fields; the manifests it lists are paired by platform and compared in their own contexts.
pub fn index_aspect(path: &[Segment]) -> Option<Aspect> {
    match key_at(path, 0) {
        Some("manifests") => None,
        Some("mediaType") => Some(Aspect::MediaType),
        _ => Some(annotations_or(path, Aspect::Structure)),
    }
}

/// Descriptor fields. `platform` is left out: manifests are paired by platform, and the platform itself
/// is compared in the config (a descriptor may or may not repeat it, depending on where it was stored).
pub fn descriptor_aspect(path: &[Segment]) -> Option<Aspect> {
    Some(match key_at(path, 0) {
        Some("platform") => return None,
        Some("mediaType") => Aspect::MediaType,
        Some("digest" | "size") => Aspect::Digest,
        _ => annotations_or(path, Aspect::Structure),
    })
}

/// The content of a JSON blob (an SBOM, an attestation, a signature payload): every field is content,
/// except the times at which SBOMs and provenance say they were made, which are image times (SPDX
/// `creationInfo.created`, CycloneDX `metadata.timestamp`, SLSA `metadata.buildStartedOn`, `…startedOn`,
/// wherever they sit, e.g. in an in-toto statement's `predicate`).
pub fn payload_aspect(path: &[Segment]) -> Option<Aspect> {
    let parent = path.len().checked_sub(2).and_then(|i| key_at(path, i));
    let field = path.len().checked_sub(1).and_then(|i| key_at(path, i));
    let build_time = matches!(
        (parent, field),
        (Some("creationInfo"), Some("created"))
            | (
                Some("metadata"),
                Some(
                    "timestamp" | "buildStartedOn" | "buildFinishedOn" | "startedOn" | "finishedOn"
                )
            )
    );
    Some(if build_time {
        Aspect::ImageTime
    } else {
        Aspect::Content
    })
}

/// Line-by-line differences of two texts, aligned like array elements: `lines[i]` fields (0-based),
/// `null` where a line is absent.
pub fn text_deltas(a: &str, b: &str, classify: Classifier) -> Vec<Delta> {
    let lines = |text: &str| {
        let lines: Vec<Value> = text.lines().map(|l| Value::String(l.to_owned())).collect();
        Value::Object(
            [("lines".to_owned(), Value::Array(lines))]
                .into_iter()
                .collect(),
        )
    };
    json_deltas(lines(a), lines(b), classify)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(deltas: &[Delta]) -> Vec<(Aspect, String)> {
        deltas
            .iter()
            .map(|d| (d.aspect, d.field.to_string()))
            .collect()
    }

    #[test]
    fn config_fields_get_their_aspects_including_docker_only_fields() {
        let a = json!({"created": "2023", "config": {"Env": ["A=1", "B=2"], "Healthcheck": {"Test": ["x"]}},
            "history": [{"created": "1", "created_by": "x"}], "rootfs": {"type": "layers", "diff_ids": ["d1"]}});
        let b = json!({"created": "2024", "config": {"Env": ["A=1", "NEW=1", "B=2"], "Healthcheck": {"Test": ["y"]}},
            "history": [{"created": "2", "created_by": "y"}], "rootfs": {"type": "layers", "diff_ids": ["d2"]}});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), config_aspect)),
            [
                (Aspect::ImageTime, "created".into()),
                (Aspect::Config, "config.Env[1]".into()),
                (Aspect::Config, "config.Healthcheck.Test[0]".into()),
                (Aspect::ImageTime, "history[0].created".into()),
                (Aspect::History, "history[0].created_by".into()),
                (Aspect::Digest, "rootfs.diff_ids[0]".into()),
            ]
        );
    }

    #[test]
    fn an_inserted_array_element_is_one_delta_with_null_on_the_other_side() {
        let deltas = json_deltas(
            json!({"Env": ["A", "B"]}),
            json!({"Env": ["A", "X", "B"]}),
            config_aspect,
        );
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].values.input0, Value::Null);
        assert_eq!(deltas[0].values.input1, json!("X"));
    }

    #[test]
    fn history_steps_align_on_their_commands_when_every_time_changed() {
        let step = |created: &str, by: &str| json!({"created": created, "created_by": by});
        let a = json!({"history": [step("1", "FROM x"), step("1", "RUN a"), step("1", "RUN b")]});
        let b = json!({"history": [step("2", "FROM x"), step("2", "RUN new"), step("2", "RUN a"),
            step("2", "RUN b")]});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), config_aspect)),
            [
                (Aspect::ImageTime, "history[0].created".into()),
                // The inserted step, field by field; then the steps paired, named by input 0's index.
                (Aspect::ImageTime, "history[1].created".into()),
                (Aspect::History, "history[1].created_by".into()),
                (Aspect::ImageTime, "history[1].created".into()),
                (Aspect::ImageTime, "history[2].created".into()),
            ]
        );
    }

    #[test]
    fn a_hundred_thousand_history_steps_with_new_times_are_one_time_delta_each() {
        let history = |time: &str| -> Vec<Value> {
            (0..100_000)
                .map(|i| json!({"created": time, "created_by": format!("RUN step {i}")}))
                .collect()
        };
        let a = json!({"history": history("2024-01-01T00:00:00Z")});
        let b = json!({"history": history("2024-01-02T00:00:00Z")});
        let deltas = json_deltas(a.clone(), b.clone(), config_aspect);
        assert_eq!(deltas.len(), 100_000);
        assert!(deltas.iter().all(|d| d.aspect == Aspect::ImageTime));
        assert_eq!(deltas[99_999].field, "history[99999].created");
    }

    #[test]
    fn annotation_keys_are_quoted_and_classified() {
        let a = json!({"annotations": {"org.opencontainers.image.created": "1", "org.opencontainers.image.ref.name": "a", "x": "1"}});
        let b = json!({"annotations": {"org.opencontainers.image.created": "2", "org.opencontainers.image.ref.name": "b", "x": "2"}});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), descriptor_aspect)),
            [
                (
                    Aspect::ImageTime,
                    "annotations[\"org.opencontainers.image.created\"]".into()
                ),
                (
                    Aspect::ImageName,
                    "annotations[\"org.opencontainers.image.ref.name\"]".into()
                ),
                (Aspect::Annotation, "annotations.x".into()),
            ]
        );
    }

    #[test]
    fn an_object_missing_on_one_side_compares_key_by_key() {
        let a = json!({"mediaType": "m"});
        let b = json!({"mediaType": "m", "annotations": {"org.opencontainers.image.ref.name": "latest"}});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), descriptor_aspect)),
            [(
                Aspect::ImageName,
                "annotations[\"org.opencontainers.image.ref.name\"]".into()
            )]
        );
    }

    #[test]
    fn manifests_leave_layers_and_config_to_their_contexts() {
        let a = json!({"mediaType": "m1", "config": {"digest": "1"}, "layers": [1]});
        let b = json!({"mediaType": "m2", "config": {"digest": "2"}, "layers": [2, 3]});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), manifest_aspect)),
            [(Aspect::MediaType, "mediaType".into())]
        );
    }

    #[test]
    fn sbom_and_provenance_times_are_image_times_and_the_rest_content() {
        let a = json!({"creationInfo": {"created": "1"}, "metadata": {"timestamp": "1", "tools": ["a"]},
            "predicate": {"metadata": {"buildStartedOn": "1"}, "runDetails": {"metadata": {"finishedOn": "1"}}},
            "packages": [{"name": "x", "created": "1"}]});
        let b = json!({"creationInfo": {"created": "2"}, "metadata": {"timestamp": "2", "tools": ["b"]},
            "predicate": {"metadata": {"buildStartedOn": "2"}, "runDetails": {"metadata": {"finishedOn": "2"}}},
            "packages": [{"name": "x", "created": "2"}]});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), payload_aspect)),
            [
                (Aspect::ImageTime, "creationInfo.created".into()),
                (Aspect::ImageTime, "metadata.timestamp".into()),
                (Aspect::Content, "metadata.tools[0]".into()),
                (
                    Aspect::ImageTime,
                    "predicate.metadata.buildStartedOn".into()
                ),
                (
                    Aspect::ImageTime,
                    "predicate.runDetails.metadata.finishedOn".into()
                ),
                (Aspect::Content, "packages[0].created".into()),
            ]
        );
    }

    #[test]
    fn texts_differ_line_by_line() {
        let deltas = text_deltas("a\nb\nc\n", "a\nB\nc\nd\n", payload_aspect);
        assert_eq!(
            summary(&deltas),
            [
                (Aspect::Content, "lines[1]".into()),
                (Aspect::Content, "lines[3]".into())
            ]
        );
        assert_eq!(deltas[1].values.input0, Value::Null);
        assert_eq!(deltas[1].values.input1, json!("d"));
    }

    #[test]
    fn an_artifact_subject_is_a_descriptor_and_encoding_annotations_are_media_types() {
        let a =
            json!({"subject": {"mediaType": "m", "digest": "d1", "size": 1}, "artifactType": "x"});
        let b =
            json!({"subject": {"mediaType": "m", "digest": "d2", "size": 1}, "artifactType": "y"});
        assert_eq!(
            summary(&json_deltas(a.clone(), b.clone(), manifest_aspect)),
            [
                (Aspect::Digest, "subject.digest".into()),
                (Aspect::Structure, "artifactType".into())
            ]
        );
        let key = "io.github.containers.zstd-chunked.manifest-checksum";
        let a = json!({"annotations": {key: "sha256:1"}});
        assert_eq!(
            summary(&json_deltas(a.clone(), json!({}), descriptor_aspect)),
            [(Aspect::MediaType, format!("annotations[\"{key}\"]"))]
        );
    }
}
