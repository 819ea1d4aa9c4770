//! Blobs that are not tar streams: an artifact's payload and config (SBOMs, attestations, signatures,
//! the empty descriptor), and foreign layers the image does not hold. Their descriptors are compared in
//! their contexts like any other; here their contents are: JSON field by field and text line by line
//! (both held in memory, so up to the JSON limit), anything else, or anything larger, by digest.

use serde_json::{Value, json};

use crate::model::{ContextId, Delta, DiffId, DiffKind, Difference, Side, Sides};
use crate::oci::{BlobKind, Descriptor, Payload};

use super::blob::read_small_blob;
use super::error::EngineError;
use super::json_diff::{self, Classifier};
use super::walk::Walker;

/// Two blobs to compare, and how.
pub(super) struct BlobPair<'p> {
    pub context: ContextId,
    /// `Cfg` for a config, `Layer` for a layer.
    pub kind: DiffKind,
    /// `config` or `layer`, for messages and the difference's key.
    pub what: &'static str,
    pub path: &'p str,
    pub descriptors: Sides<&'p Descriptor>,
    /// The aspect of each differing field; with an empty path, of the content as a whole.
    pub classify: Classifier,
    /// Absent blobs are a warning, not an error (attestations, which exports often leave out).
    pub absent_is_warning: bool,
}

/// A blob's content, as far as it can be compared.
enum Content {
    Json(Value),
    Text(String),
    /// Unreadable as either, or not read: compared by digest.
    Opaque,
}

impl Walker<'_> {
    /// Emits the differences between two blobs' contents (nothing if their digests are equal).
    pub(super) fn compare_blobs(&self, pair: &BlobPair<'_>) -> Result<(), EngineError> {
        let descs = &pair.descriptors;
        if descs.input0.digest == descs.input1.digest {
            return Ok(());
        }
        let deltas = match self.read_contents(pair)? {
            None => return Ok(()),
            Some(Sides {
                input0: Content::Json(a),
                input1: Content::Json(b),
            }) => json_diff::json_deltas(a, b, pair.classify),
            Some(Sides {
                input0: Content::Text(a),
                input1: Content::Text(b),
            }) => match json_diff::text_deltas(&a, &b, pair.classify) {
                // Texts that differ only in line endings or a final newline.
                deltas if deltas.is_empty() => vec![digest_delta(pair)],
                deltas => deltas,
            },
            Some(_) => vec![digest_delta(pair)],
        };
        if !deltas.is_empty() {
            self.emit_difference(Difference {
                context: pair.context,
                kind: pair.kind,
                key: pair.what.to_owned().into(),
                deltas: deltas.into(),
                entries: Default::default(),
                origin: Default::default(),
                id: DiffId::default(),
                nested: Default::default(),
                explanations: Default::default(),
            });
        }
        Ok(())
    }

    /// Both contents, read when they can be diffed; `None` if a blob is absent and that is a warning.
    fn read_contents(&self, pair: &BlobPair<'_>) -> Result<Option<Sides<Content>>, EngineError> {
        let descs = &pair.descriptors;
        let opaque = || Ok(Some(Sides::new(Content::Opaque, Content::Opaque)));
        let (Some(payload0), Some(payload1)) = (payload(descs.input0), payload(descs.input1))
        else {
            return opaque();
        };
        let limit = self.options.json_limit;
        if descs.iter().any(|(_, d)| d.size > limit) {
            self.warn(
                Some(pair.context),
                format!(
                    "{} at {}: larger than {limit} bytes, the limit for JSON and text contents \
                     (--max-scale raises it): compared by digest only",
                    pair.what, pair.path
                ),
            );
            return opaque();
        }
        let Some(input0) = self.read_content(pair, Side::Input0, payload0)? else {
            return Ok(None);
        };
        let Some(input1) = self.read_content(pair, Side::Input1, payload1)? else {
            return Ok(None);
        };
        Ok(Some(Sides::new(input0, input1)))
    }

    fn read_content(
        &self,
        pair: &BlobPair<'_>,
        side: Side,
        payload: Payload,
    ) -> Result<Option<Content>, EngineError> {
        let desc = *pair.descriptors.get(side);
        let source = self.images.get(side).source.as_ref();
        match read_small_blob(source, desc, self.options.json_limit) {
            Ok(bytes) => Ok(Some(decode(bytes, payload))),
            Err(error) => {
                let error = self.blob_error(side, pair.what, desc, pair.path, error);
                if pair.absent_is_warning && error.missing_in().is_some() {
                    self.warn(Some(pair.context), format!("{error}; not compared"));
                    return Ok(None);
                }
                Err(error)
            }
        }
    }
}

/// What a blob's media type says of its content; `None` for one that is not read (a tar stream here
/// is a foreign layer the image does not hold, or a tar facing a non-tar).
fn payload(desc: &Descriptor) -> Option<Payload> {
    match desc.kind() {
        BlobKind::Blob(payload) => Some(payload),
        BlobKind::Config | BlobKind::Index | BlobKind::Manifest => Some(Payload::Json),
        BlobKind::Layer(_) | BlobKind::ForeignLayer(_) => None,
    }
}

/// JSON if the media type says so or the bytes are JSON (an object or an array); text if the media
/// type says so and the bytes are UTF-8.
fn decode(bytes: Vec<u8>, payload: Payload) -> Content {
    if matches!(payload, Payload::Json | Payload::Unknown)
        && let Ok(value @ (Value::Object(_) | Value::Array(_))) =
            serde_json::from_slice::<Value>(&bytes)
    {
        return Content::Json(value);
    }
    if matches!(payload, Payload::Json | Payload::Text)
        && let Ok(text) = String::from_utf8(bytes)
    {
        return Content::Text(text);
    }
    Content::Opaque
}

/// The content as a whole differs: its digests.
fn digest_delta(pair: &BlobPair<'_>) -> Delta {
    let aspect = (pair.classify)(&[]).unwrap_or(crate::model::Aspect::Content);
    let digest = |side: Side| json!(pair.descriptors.get(side).digest);
    Delta::new(
        aspect,
        "content",
        digest(Side::Input0),
        digest(Side::Input1),
    )
}
