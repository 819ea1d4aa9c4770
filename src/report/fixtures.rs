//! Hand-built reports for the writers' tests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{
    Aspect, Context, ContextId, ContextKind, Delta, DiffId, DiffKind, Difference, EntryFields,
    EntryMeta, Report, Sides, Timestamp,
};
use crate::oci::{Descriptor, Digest, media_type};

pub const ROOT: ContextId = ContextId(0);
pub const MANIFEST: ContextId = ContextId(1);
pub const CONFIG: ContextId = ContextId(2);
pub const LAYER0: ContextId = ContextId(3);
pub const LAYER1: ContextId = ContextId(4);

pub fn digest(hex: &str) -> Digest {
    let text = format!("sha256:{hex}");
    text.parse().unwrap_or_else(|e| panic!("{e}"))
}

pub fn hex_of(byte: char) -> String {
    byte.to_string().repeat(64)
}

pub fn descriptor(media_type: &str, hex: &str) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest(hex),
        size: 100,
        urls: None,
        annotations: BTreeMap::new(),
        platform: None,
        artifact_type: None,
    }
}

fn context(id: ContextId, parent: Option<ContextId>, kind: ContextKind, path: &str) -> Context {
    Context {
        id,
        parent,
        kind,
        path: path.into(),
        label: path.into(),
        descriptors: Sides::new(None, None),
    }
}

/// A single-platform image pair: root, manifest, config and two layers.
pub fn report_skeleton() -> Report {
    let layer = |i: usize| {
        let mut c = context(
            ContextId(3 + i as u32),
            Some(MANIFEST),
            ContextKind::Layer { index: i },
            &format!("/manifests-0/layers-{i}"),
        );
        let d = descriptor(media_type::OCI_LAYER_GZIP, &hex_of('a'));
        c.descriptors = Sides::new(Some(d.clone()), Some(d));
        c
    };
    let mut manifest = context(
        MANIFEST,
        Some(ROOT),
        ContextKind::Manifest {
            platform: "linux/amd64".into(),
        },
        "/manifests-0",
    );
    manifest.descriptors = Sides::new(
        Some(descriptor(media_type::OCI_MANIFEST, &hex_of('1'))),
        Some(descriptor(media_type::OCI_MANIFEST, &hex_of('2'))),
    );
    Report {
        contexts: vec![
            context(ROOT, None, ContextKind::Images, "/"),
            manifest,
            context(
                CONFIG,
                Some(MANIFEST),
                ContextKind::Config,
                "/manifests-0/config",
            ),
            layer(0),
            layer(1),
        ],
        finished: true,
        ..Report::default()
    }
}

pub fn entry(name: &str) -> EntryFields {
    EntryFields {
        index: 12,
        size: 164,
        mtime: Timestamp::from_secs(1691446152),
        content: Some(digest(&hex_of('0'))),
        ..EntryFields::test_file(name)
    }
}

pub fn file_difference(
    context: ContextId,
    input0: Option<EntryFields>,
    input1: Option<EntryFields>,
    deltas: Vec<Delta>,
) -> Difference {
    let (input0, input1) = (input0.map(EntryMeta::from), input1.map(EntryMeta::from));
    let key = input0
        .as_ref()
        .or(input1.as_ref())
        .map(EntryMeta::path)
        .unwrap_or_default();
    Difference {
        context,
        kind: DiffKind::File,
        key: key.into(),
        deltas: deltas.into(),
        entries: Some(Sides::new(input0, input1)).into(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    }
}

/// A file whose content differs, with these two digests.
pub fn content_difference(context: ContextId, name: &str, hex0: &str, hex1: &str) -> Difference {
    let mut e0 = entry(name);
    let mut e1 = entry(name);
    e0.content = Some(digest(hex0));
    e1.content = Some(digest(hex1));
    let delta = Delta::new(
        Aspect::Content,
        "content",
        json!(format!("sha256:{hex0}")),
        json!(format!("sha256:{hex1}")),
    );
    file_difference(context, Some(e0), Some(e1), vec![delta])
}

pub fn other_difference(context: ContextId, kind: DiffKind, key: &str, delta: Delta) -> Difference {
    Difference {
        context,
        kind,
        key: key.into(),
        deltas: vec![delta].into(),
        entries: Default::default(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    }
}

pub fn delta(aspect: Aspect, field: &str, input0: Value, input1: Value) -> Delta {
    Delta::new(aspect, field.to_owned(), input0, input1)
}
