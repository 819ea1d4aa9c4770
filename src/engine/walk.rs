//! The structure phase: index → platform manifests → config → layer contexts. Small JSON blobs are read
//! here, sequentially; layers are only planned, and read later in parallel (see [`super::layers`]).

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::model::{
    Aspect, Context, ContextId, ContextKind, Delta, DiffKind, Difference, Event, Side, Sides,
};
use crate::oci::{BlobKind, Descriptor, Digest, ImageConfig, Platform, annotation};
use crate::source::Image;

use super::blob::read_small_blob;
use super::error::{BlobError, EngineError};
use super::json_diff::{self, Classifier};
use super::presence::{UnreadBlobs, diff_ids_per_layer};
use super::{EventSink, Options};

/// What the layer phase needs to know about one manifest pair.
#[derive(Debug)]
pub struct ManifestPlan {
    pub merged_context: ContextId,
    pub layers: Vec<LayerPlan>,
}

#[derive(Debug)]
pub struct LayerPlan {
    pub context: ContextId,
    pub path: String,
    pub descriptors: Sides<Option<Descriptor>>,
    pub diff_ids: Sides<Option<Digest>>,
}

pub struct Walker<'a> {
    pub images: &'a Sides<Image>,
    pub options: &'a Options,
    pub sink: &'a dyn EventSink,
    /// Blobs below equal digests, not compared but checked (see [`super::presence`]).
    pub unread: UnreadBlobs,
    next_id: AtomicU32,
}

/// An index entry (or a lone manifest) with the key it pairs by.
pub(super) struct Entry {
    pub key: String,
    pub position: usize,
    pub descriptor: Descriptor,
}

impl<'a> Walker<'a> {
    pub fn new(images: &'a Sides<Image>, options: &'a Options, sink: &'a dyn EventSink) -> Self {
        Walker {
            images,
            options,
            sink,
            unread: UnreadBlobs::default(),
            next_id: AtomicU32::new(0),
        }
    }

    /// Walks both images' structure, emitting contexts and non-layer differences; returns the layer plan.
    pub fn plan(&self) -> Vec<ManifestPlan> {
        let roots = Sides::from_fn(|s| self.images.get(s).root.clone());
        let root = self.context(
            None,
            ContextKind::Images,
            "/",
            "images",
            roots.clone().map(Some),
        );
        self.descriptor_difference(root, "image", roots.as_ref().map(Some));
        if roots.input0.digest == roots.input1.digest {
            self.record_unread(root, &roots, "/", true);
            return Vec::new();
        }
        let mut plans = Vec::new();
        if let Err(error) = self.walk_root(root, &roots, &mut plans) {
            self.error(Some(root), error.to_string());
        }
        plans
    }

    fn walk_root(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let kinds = roots.as_ref().map(|d| d.kind());
        match (kinds.input0, kinds.input1) {
            (BlobKind::Manifest, BlobKind::Manifest) => {
                let label = self.platform_label(roots)?;
                self.check_requested_platform(roots, &label)?;
                let ctx = self.context(
                    Some(root),
                    ContextKind::Manifest {
                        platform: label.clone(),
                    },
                    "/",
                    &label,
                    roots.clone().map(Some),
                );
                self.walk_manifest(ctx, "", roots, plans)
            }
            (BlobKind::Index | BlobKind::Manifest, BlobKind::Index | BlobKind::Manifest) => {
                self.walk_indexes(root, roots, plans)
            }
            _ => {
                let side = if matches!(kinds.input0, BlobKind::Index | BlobKind::Manifest) {
                    Side::Input1
                } else {
                    Side::Input0
                };
                let desc = roots.get(side);
                Err(self.blob_error(
                    side,
                    "image",
                    desc,
                    "/",
                    BlobError::UnsupportedMediaType(desc.media_type.clone()),
                ))
            }
        }
    }

    /// Index vs index (or index vs single manifest): pair manifests by platform.
    fn walk_indexes(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let mut entries = Sides::new(Vec::new(), Vec::new());
        let mut documents = Sides::new(None, None);
        for side in Side::BOTH {
            let desc = roots.get(side);
            if desc.kind() == BlobKind::Index {
                let doc = self.read_json(side, "index", desc, "/")?;
                *entries.get_mut(side) = self.index_entries(side, &doc)?;
                *documents.get_mut(side) = Some(doc);
            } else {
                let key = self.manifest_platform(side, desc, "/")?.key();
                *entries.get_mut(side) = vec![Entry {
                    key,
                    position: 0,
                    descriptor: desc.clone(),
                }];
            }
        }
        if let (Some(a), Some(b)) = (&documents.input0, &documents.input1) {
            self.json_difference(root, DiffKind::Idx, "index", a, b, json_diff::index_aspect);
        } else {
            self.warn(
                Some(root),
                "comparing a multi-platform index with a single-platform manifest".into(),
            );
        }
        let pairs = self.pair_entries(&entries)?;
        let count0 = entries.input0.len();
        for pair in pairs {
            let position = match (&pair.input0, &pair.input1) {
                (Some(e), _) => e.position,
                (None, Some(e)) => count0 + e.position,
                (None, None) => continue,
            };
            let key = pair
                .input0
                .as_ref()
                .or(pair.input1.as_ref())
                .map(|e| e.key.clone())
                .unwrap_or_default();
            let path = format!("/manifests-{position}");
            let descs = pair
                .as_ref()
                .map(|e| e.as_ref().map(|e| e.descriptor.clone()));
            let kind = if key.starts_with("attestation ") {
                ContextKind::Attestation {
                    platform: key.clone(),
                }
            } else {
                ContextKind::Manifest {
                    platform: key.clone(),
                }
            };
            let ctx = self.context(Some(root), kind, &path, &key, descs.clone());
            match (descs.input0, descs.input1) {
                (Some(a), Some(b)) => {
                    self.descriptor_difference(ctx, "manifest", Sides::new(Some(&a), Some(&b)));
                    let both = Sides::new(a, b);
                    if both.input0.digest == both.input1.digest {
                        let required = !key.starts_with("attestation ");
                        self.record_unread(ctx, &both, &path, required);
                        continue;
                    }
                    if let Err(error) = self.walk_manifest(ctx, &path, &both, plans) {
                        self.error(Some(ctx), error.to_string());
                    }
                }
                (a, b) => self.emit_difference(Difference {
                    context: ctx,
                    kind: DiffKind::Idx,
                    key: format!("platform {key}"),
                    deltas: vec![Delta::new(
                        Aspect::Presence,
                        "platform",
                        json!(a.is_some().then_some(&key)),
                        json!(b.is_some().then_some(&key)),
                    )],
                    entries: None,
                    origin: None,
                }),
            }
        }
        Ok(())
    }

    pub(super) fn index_entries(
        &self,
        side: Side,
        index: &Value,
    ) -> Result<Vec<Entry>, EngineError> {
        let descriptors: Vec<Descriptor> = match index.get("manifests") {
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| {
                let root = &self.images.get(side).root;
                self.blob_error(side, "index", root, "/", BlobError::Json(e))
            })?,
            None => Vec::new(),
        };
        let mut entries = Vec::new();
        for (position, descriptor) in descriptors.iter().enumerate() {
            if descriptor.kind() == BlobKind::Index {
                self.warn(
                    None,
                    format!(
                        "input {}: nested index {} is not compared",
                        side.index(),
                        descriptor.digest
                    ),
                );
                continue;
            }
            let key = match &descriptor.platform {
                Some(p) if !is_unknown(p) => p.key(),
                _ => self
                    .attestation_key(descriptor, &descriptors)
                    .unwrap_or_else(|| format!("entry {position}")),
            };
            entries.push(Entry {
                key,
                position,
                descriptor: descriptor.clone(),
            });
        }
        Ok(entries)
    }

    /// BuildKit attestation manifests name the manifest they describe; they pair through its platform.
    fn attestation_key(&self, desc: &Descriptor, all: &[Descriptor]) -> Option<String> {
        if desc
            .annotations
            .get(annotation::DOCKER_REFERENCE_TYPE)
            .map(String::as_str)
            != Some(annotation::ATTESTATION_MANIFEST)
        {
            return None;
        }
        let target = desc.annotations.get(annotation::DOCKER_REFERENCE_DIGEST)?;
        let described = all.iter().find(|d| d.digest.to_string() == *target)?;
        Some(format!(
            "attestation {}",
            described.platform.as_ref()?.key()
        ))
    }

    /// Pairs entries by key (platform), keeps the requested platforms, and orders the pairs by input 0.
    fn pair_entries(
        &self,
        entries: &Sides<Vec<Entry>>,
    ) -> Result<Vec<Sides<Option<Entry>>>, EngineError> {
        let wanted: Vec<String> = self.options.platforms.iter().map(Platform::key).collect();
        let mut pairs: Vec<Sides<Option<Entry>>> = Vec::new();
        for e in entries.input0.iter().filter(|e| self.selects(&e.key)) {
            let other = entries.input1.iter().find(|o| o.key == e.key);
            pairs.push(Sides::new(Some(clone_entry(e)), other.map(clone_entry)));
        }
        for e in entries.input1.iter().filter(|e| self.selects(&e.key)) {
            if !entries.input0.iter().any(|o| o.key == e.key) {
                pairs.push(Sides::new(None, Some(clone_entry(e))));
            }
        }
        for w in &wanted {
            if !self.options.all_platforms
                && !pairs.iter().any(|p| {
                    p.iter()
                        .any(|(_, e)| e.as_ref().is_some_and(|e| &e.key == w))
                })
            {
                return Err(EngineError::Platform(format!(
                    "platform {w} is in neither image (input 0 has: {}; input 1 has: {})",
                    keys(&entries.input0),
                    keys(&entries.input1)
                )));
            }
        }
        Ok(pairs)
    }

    /// Whether the index entry with this pairing key is compared (`--platform`, `--all-platforms`).
    pub(super) fn selects(&self, key: &str) -> bool {
        let wanted = || self.options.platforms.iter().map(Platform::key);
        self.options.all_platforms
            || self.options.platforms.is_empty()
            || wanted().any(|w| key == w || key.strip_prefix("attestation ") == Some(w.as_str()))
    }

    /// One platform's manifest pair: manifest fields, config, layer contexts.
    fn walk_manifest(
        &self,
        ctx: ContextId,
        path: &str,
        descs: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let docs = self.read_both_json("manifest", descs, or_root(path))?;
        self.json_difference(
            ctx,
            DiffKind::Mani,
            "manifest",
            &docs.input0,
            &docs.input1,
            json_diff::manifest_aspect,
        );
        let manifests = self.parse_both(descs, &docs, "manifest", or_root(path))?;
        let counts = manifests
            .as_ref()
            .map(|m: &crate::oci::Manifest| m.layers.len());
        if counts.differ() {
            self.emit_difference(Difference {
                context: ctx,
                kind: DiffKind::Mani,
                key: "layers".into(),
                deltas: vec![Delta::new(
                    Aspect::Structure,
                    "layers",
                    json!(counts.input0),
                    json!(counts.input1),
                )],
                entries: None,
                origin: None,
            });
        }
        let config_descs = manifests.as_ref().map(|m| m.config.clone());
        let config_path = format!("{path}/config");
        let config_ctx = self.context(
            Some(ctx),
            ContextKind::Config,
            &config_path,
            "config",
            config_descs.clone().map(Some),
        );
        self.descriptor_difference(config_ctx, "config", config_descs.as_ref().map(Some));
        let configs = self.read_both_json("config", &config_descs, &config_path)?;
        if config_descs.input0.digest != config_descs.input1.digest {
            self.json_difference(
                config_ctx,
                DiffKind::Cfg,
                "config",
                &configs.input0,
                &configs.input1,
                json_diff::config_aspect,
            );
        }
        let parsed = self.parse_both(&config_descs, &configs, "config", &config_path)?;
        for side in Side::BOTH {
            let (manifest, config) = (manifests.get(side), parsed.get(side));
            let config_desc = config_descs.get(side);
            diff_ids_per_layer(manifest, config_desc.kind(), config)
                .map_err(|e| self.blob_error(side, "config", config_desc, &config_path, e))?;
        }
        let plan = self.plan_layers(ctx, path, &manifests, &parsed);
        plans.push(plan);
        Ok(())
    }

    fn plan_layers(
        &self,
        ctx: ContextId,
        path: &str,
        manifests: &Sides<crate::oci::Manifest>,
        configs: &Sides<ImageConfig>,
    ) -> ManifestPlan {
        let count = manifests
            .input0
            .layers
            .len()
            .max(manifests.input1.layers.len());
        let mut layers = Vec::with_capacity(count);
        for i in 0..count {
            let descriptors = manifests.as_ref().map(|m| m.layers.get(i).cloned());
            let diff_ids = configs.as_ref().map(|c| c.rootfs.diff_ids.get(i).cloned());
            let layer_path = format!("{path}/layers-{i}");
            let context = self.context(
                Some(ctx),
                ContextKind::Layer { index: i },
                &layer_path,
                &format!("layer {i}"),
                descriptors.clone(),
            );
            self.descriptor_difference(context, "layer", descriptors.as_ref().map(Option::as_ref));
            layers.push(LayerPlan {
                context,
                path: layer_path,
                descriptors,
                diff_ids,
            });
        }
        let merged_context = self.context(
            Some(ctx),
            ContextKind::MergedFs,
            &format!("{path}/merged"),
            "merged filesystem",
            Sides::default(),
        );
        ManifestPlan {
            merged_context,
            layers,
        }
    }

    /// Two single-platform manifests are compared whatever their platforms, but a `--platform` that
    /// neither has is an error, as it is for indexes.
    fn check_requested_platform(
        &self,
        roots: &Sides<Descriptor>,
        label0: &str,
    ) -> Result<(), EngineError> {
        if self.options.all_platforms || self.options.platforms.is_empty() {
            return Ok(());
        }
        let label1 = self
            .manifest_platform(Side::Input1, &roots.input1, "/")?
            .key();
        let wanted: Vec<String> = self.options.platforms.iter().map(Platform::key).collect();
        if wanted.iter().any(|w| *w == label0 || *w == label1) {
            return Ok(());
        }
        Err(EngineError::Platform(format!(
            "platform {} is in neither image (input 0 has: {label0}; input 1 has: {label1})",
            wanted.join(", ")
        )))
    }

    fn platform_label(&self, roots: &Sides<Descriptor>) -> Result<String, EngineError> {
        let platform = match &roots.input0.platform {
            Some(p) => p.clone(),
            None => self.manifest_platform(Side::Input0, &roots.input0, "/")?,
        };
        Ok(platform.key())
    }

    /// A manifest's platform, from its config (read for this; it is small).
    fn manifest_platform(
        &self,
        side: Side,
        desc: &Descriptor,
        path: &str,
    ) -> Result<Platform, EngineError> {
        if let Some(p) = desc.platform.as_ref().filter(|p| !is_unknown(p)) {
            return Ok(p.clone());
        }
        let doc = self.read_json(side, "manifest", desc, path)?;
        let manifest: crate::oci::Manifest = serde_json::from_value(doc)
            .map_err(|e| self.blob_error(side, "manifest", desc, path, BlobError::Json(e)))?;
        let config = self.read_json(side, "config", &manifest.config, path)?;
        let config: ImageConfig = serde_json::from_value(config).map_err(|e| {
            self.blob_error(side, "config", &manifest.config, path, BlobError::Json(e))
        })?;
        Ok(config.platform())
    }

    fn read_json(
        &self,
        side: Side,
        what: &'static str,
        desc: &Descriptor,
        path: &str,
    ) -> Result<Value, EngineError> {
        let image = self.images.get(side);
        let bytes = read_small_blob(image.source.as_ref(), desc, self.options.json_limit)
            .map_err(|e| self.blob_error(side, what, desc, path, e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| self.blob_error(side, what, desc, path, BlobError::Json(e)))
    }

    fn read_both_json(
        &self,
        what: &'static str,
        descs: &Sides<Descriptor>,
        path: &str,
    ) -> Result<Sides<Value>, EngineError> {
        Ok(Sides::new(
            self.read_json(Side::Input0, what, &descs.input0, path)?,
            self.read_json(Side::Input1, what, &descs.input1, path)?,
        ))
    }

    fn parse_both<T: serde::de::DeserializeOwned>(
        &self,
        descs: &Sides<Descriptor>,
        docs: &Sides<Value>,
        what: &'static str,
        path: &str,
    ) -> Result<Sides<T>, EngineError> {
        let parse = |side: Side| {
            serde_json::from_value::<T>(docs.get(side).clone())
                .map_err(|e| self.blob_error(side, what, descs.get(side), path, BlobError::Json(e)))
        };
        Ok(Sides::new(parse(Side::Input0)?, parse(Side::Input1)?))
    }

    pub fn blob_error(
        &self,
        side: Side,
        what: &'static str,
        desc: &Descriptor,
        path: &str,
        source: BlobError,
    ) -> EngineError {
        EngineError::Blob {
            input: side.index(),
            spec: self.images.get(side).spec.clone(),
            what,
            digest: desc.digest.clone(),
            context: path.to_owned(),
            source: Box::new(source),
        }
    }

    pub fn context(
        &self,
        parent: Option<ContextId>,
        kind: ContextKind,
        path: &str,
        label: &str,
        descriptors: Sides<Option<Descriptor>>,
    ) -> ContextId {
        let id = ContextId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let context = Context {
            id,
            parent,
            kind,
            path: path.to_owned(),
            label: label.to_owned(),
            descriptors,
        };
        self.sink.emit(Event::Context(Box::new(context)));
        id
    }

    fn descriptor_difference(&self, ctx: ContextId, key: &str, descs: Sides<Option<&Descriptor>>) {
        let deltas = match (descs.input0, descs.input1) {
            (Some(a), Some(b)) => {
                let (a, b) = (to_value(a), to_value(b));
                json_diff::json_deltas(&a, &b, json_diff::descriptor_aspect)
            }
            (None, None) => return,
            (a, b) => vec![Delta::new(
                Aspect::Presence,
                key,
                json!(a.map(to_value)),
                json!(b.map(to_value)),
            )],
        };
        if !deltas.is_empty() {
            self.emit_difference(Difference {
                context: ctx,
                kind: DiffKind::Desc,
                key: key.into(),
                deltas,
                entries: None,
                origin: None,
            });
        }
    }

    fn json_difference(
        &self,
        ctx: ContextId,
        kind: DiffKind,
        key: &str,
        a: &Value,
        b: &Value,
        classify: Classifier,
    ) {
        let deltas = json_diff::json_deltas(a, b, classify);
        if !deltas.is_empty() {
            self.emit_difference(Difference {
                context: ctx,
                kind,
                key: key.into(),
                deltas,
                entries: None,
                origin: None,
            });
        }
    }

    pub fn emit_difference(&self, difference: Difference) {
        self.sink.emit(Event::Difference(difference));
    }

    pub fn warn(&self, context: Option<ContextId>, message: String) {
        self.sink.emit(Event::Warning { context, message });
    }

    pub fn error(&self, context: Option<ContextId>, message: String) {
        self.sink.emit(Event::Error { context, message });
    }
}

fn to_value(desc: &Descriptor) -> Value {
    serde_json::to_value(desc).unwrap_or(Value::Null)
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn is_unknown(p: &Platform) -> bool {
    p.os == "unknown" || p.architecture == "unknown"
}

fn clone_entry(e: &Entry) -> Entry {
    Entry {
        key: e.key.clone(),
        position: e.position,
        descriptor: e.descriptor.clone(),
    }
}

fn keys(entries: &[Entry]) -> String {
    let list: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    if list.is_empty() {
        "nothing".into()
    } else {
        list.join(", ")
    }
}
