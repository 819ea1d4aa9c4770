//! The structure phase: index → platform manifests → config → layer contexts. Small JSON blobs are read
//! here, sequentially; layers are only planned, and read later in parallel (see [`super::layers`]).

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::model::{
    Aspect, Context, ContextId, ContextKind, Delta, DiffId, DiffKind, Difference, Event, Side,
    Sides,
};
use crate::oci::{BlobKind, Descriptor, Digest, ImageConfig, Manifest};
use crate::source::{Image, SourceError};

use super::blob::read_small_blob;
use super::blobs::BlobPair;
use super::error::{BlobError, EngineError};
use super::json_diff::{self, Classifier};
use super::platforms::{Entry, Pair, is_unknown};
use super::presence::{UnreadBlobs, diff_ids_per_layer};
use super::{EventSink, Options};

/// What the layer phase needs to know about one manifest pair.
#[derive(Debug)]
pub struct ManifestPlan {
    /// The manifest pair's context and path (`""` for single-manifest images).
    pub context: ContextId,
    pub path: String,
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
    next_difference: AtomicU32,
}

/// A manifest pair to walk.
struct ManifestPair<'p> {
    context: ContextId,
    /// `""` for single-manifest images, else `/manifests-N`.
    path: &'p str,
    descriptors: &'p Sides<Descriptor>,
    /// Exports often leave attestations out: their absent blobs are warnings.
    attestation: bool,
}

/// What became of the index entries both inputs list: compared, or not held by an input.
#[derive(Default)]
struct Tally {
    compared: usize,
    absent: usize,
    /// The platforms each input holds, for the message when none is held by both.
    held: Sides<Vec<String>>,
}

impl Tally {
    /// Notes a pair (attestations aside) as compared if both inputs hold it, else as absent.
    fn note(&mut self, pair: &Pair, held: &Sides<bool>, keys: &Sides<&str>) {
        if pair.is_attestation() {
            return;
        }
        if held.input0 && held.input1 {
            self.compared += 1;
        } else {
            self.absent += 1;
        }
        for side in Side::BOTH.into_iter().filter(|s| *held.get(*s)) {
            self.held.get_mut(side).push(keys.get(side).to_string());
        }
    }
}

impl<'a> Walker<'a> {
    pub fn new(images: &'a Sides<Image>, options: &'a Options, sink: &'a dyn EventSink) -> Self {
        Walker {
            images,
            options,
            sink,
            unread: UnreadBlobs::default(),
            next_id: AtomicU32::new(0),
            next_difference: AtomicU32::new(0),
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
        if roots.input0.digest == roots.input1.digest && !self.walks_equal_roots(&roots) {
            self.record_unread(root, &roots, "/", true);
            return Vec::new();
        }
        let mut plans = Vec::new();
        if let Err(error) = self.walk_root(root, &roots, &mut plans) {
            self.error(Some(root), error.to_string());
        }
        plans
    }

    /// Equal roots are the same image, unless the inputs hold different parts of one index (exports
    /// of some of its platforms) or two platforms of it are compared.
    fn walks_equal_roots(&self, roots: &Sides<Descriptor>) -> bool {
        roots.input0.kind() == BlobKind::Index || self.options.platform_pair.is_some()
    }

    fn walk_root(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let kinds = roots.as_ref().map(|d| d.kind());
        match (kinds.input0, kinds.input1) {
            (BlobKind::Manifest, BlobKind::Manifest) => self.walk_single(root, roots, plans),
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

    /// Two single manifests: compared whatever their platforms (as diffoci does), unless a platform
    /// is asked for that one of them is not.
    fn walk_single(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let keys = Sides::new(
            self.manifest_key(Side::Input0, &roots.input0, "/")?,
            self.manifest_key(Side::Input1, &roots.input1, "/")?,
        );
        let listed = Sides::from_fn(|side| {
            vec![Entry {
                key: keys.get(side).clone(),
                position: 0,
                descriptor: roots.get(side).clone(),
            }]
        });
        let label = match self.pair_entries(&listed)?.as_slice() {
            [pair] => pair.label.clone(),
            _ => keys.input0.clone(),
        };
        let context = self.context(
            Some(root),
            ContextKind::Manifest {
                platform: label.clone(),
            },
            "/",
            &label,
            roots.clone().map(Some),
        );
        self.platform_difference(context, keys.as_ref().map(String::as_str));
        let pair = ManifestPair {
            context,
            path: "",
            descriptors: roots,
            attestation: false,
        };
        self.walk_manifest(&pair, plans)
    }

    /// Index vs index (or index vs single manifest): pair manifests by platform. Platforms an input
    /// lists but does not hold (an export of other platforms) are not compared, and said so.
    fn walk_indexes(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let listed = self.list_entries(root, roots)?;
        let pairs = self.pair_entries(&listed)?;
        let held: Vec<Option<Sides<bool>>> = pairs.iter().map(|pair| self.held(pair)).collect();
        for (pair, held) in pairs.iter().zip(&held) {
            if let Some(held) = held
                .as_ref()
                .filter(|h| pair.requested && !(h.input0 && h.input1))
            {
                return Err(self.not_held_error(pair, held));
            }
        }
        let mut tally = Tally::default();
        let count0 = listed.input0.len();
        for (pair, held) in pairs.iter().zip(held) {
            self.walk_pair(root, pair, held, count0, &mut tally, plans)?;
        }
        if tally.compared == 0 && tally.absent > 0 {
            let holds = |side: Side| match tally.held.get(side).as_slice() {
                [] => "nothing".to_owned(),
                list => list.join(", "),
            };
            return Err(EngineError::Platform(format!(
                "no platform is in both inputs: input 0 ({}) holds {}; input 1 ({}) holds {} \
                 (--platform0 and --platform1 compare two platforms)",
                self.images.input0.spec,
                holds(Side::Input0),
                self.images.input1.spec,
                holds(Side::Input1)
            )));
        }
        Ok(())
    }

    /// Both inputs' entries, and the difference between the indexes themselves.
    fn list_entries(
        &self,
        root: ContextId,
        roots: &Sides<Descriptor>,
    ) -> Result<Sides<Vec<Entry>>, EngineError> {
        let mut entries = Sides::new(Vec::new(), Vec::new());
        let mut documents = Sides::new(None, None);
        for side in Side::BOTH {
            let desc = roots.get(side);
            if desc.kind() == BlobKind::Index {
                let doc = self.read_json(side, "index", desc, "/")?;
                *entries.get_mut(side) = self.index_entries(side, &doc, desc)?;
                *documents.get_mut(side) = Some(doc);
            } else {
                let key = self.manifest_key(side, desc, "/")?;
                *entries.get_mut(side) = vec![Entry {
                    key,
                    position: 0,
                    descriptor: desc.clone(),
                }];
            }
        }
        if let Sides {
            input0: Some(a),
            input1: Some(b),
        } = documents
        {
            let docs = Sides::new(a, b);
            self.json_difference(root, DiffKind::Idx, "index", docs, json_diff::index_aspect);
        } else {
            self.warn(
                Some(root),
                "comparing a multi-platform index with a single-platform manifest".into(),
            );
        }
        Ok(entries)
    }

    /// Whether each input holds the manifest of a pair both list (`None` for a one-sided pair).
    fn held(&self, pair: &Pair) -> Option<Sides<bool>> {
        let (Some(a), Some(b)) = (&pair.entries.input0, &pair.entries.input1) else {
            return None;
        };
        Some(Sides::new(
            self.holds(Side::Input0, &a.descriptor),
            self.holds(Side::Input1, &b.descriptor),
        ))
    }

    /// Whether an input holds a blob, as its source can tell without reading it (a stat, an archive's
    /// member index; a registry cannot tell and counts as holding it). Only the source saying the blob is
    /// missing means it is not held: any other failure is left to the read that needs the blob.
    fn holds(&self, side: Side, desc: &Descriptor) -> bool {
        !matches!(
            self.images.get(side).source.stat(&desc.digest),
            Err(SourceError::BlobMissing { .. })
        )
    }

    fn not_held_error(&self, pair: &Pair, held: &Sides<bool>) -> EngineError {
        let side = if held.input0 {
            Side::Input1
        } else {
            Side::Input0
        };
        let digest = pair
            .entries
            .get(side)
            .as_ref()
            .map(|e| e.descriptor.digest.to_string())
            .unwrap_or_default();
        EngineError::Platform(format!(
            "{} is not in input {} ({}): its index lists manifest {digest}, which the archive does \
             not hold",
            pair.name(),
            side.index(),
            self.images.get(side).spec
        ))
    }

    /// One index entry pair: its context, then presence, platform, descriptor and manifest.
    fn walk_pair(
        &self,
        root: ContextId,
        pair: &Pair,
        held: Option<Sides<bool>>,
        count0: usize,
        tally: &mut Tally,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let position = match (&pair.entries.input0, &pair.entries.input1) {
            (Some(e), _) => e.position,
            (None, Some(e)) => count0 + e.position,
            (None, None) => return Ok(()),
        };
        let path = format!("/manifests-{position}");
        let descs = pair
            .entries
            .as_ref()
            .map(|e| e.as_ref().map(|e| e.descriptor.clone()));
        let platform = pair.label.clone();
        let kind = if pair.is_attestation() {
            ContextKind::Attestation { platform }
        } else {
            ContextKind::Manifest { platform }
        };
        let context = self.context(Some(root), kind, &path, &pair.label, descs.clone());
        let (Some(a), Some(b), Some(held)) = (descs.input0, descs.input1, held) else {
            self.presence_difference(context, pair);
            return Ok(());
        };
        let descs = Sides::new(a, b);
        let keys = pair
            .entries
            .as_ref()
            .map(|e| e.as_ref().map_or("", |e| e.key.as_str()));
        if !(held.input0 && held.input1) {
            self.warn_not_held(context, pair, &descs, &held);
            tally.note(pair, &held, &keys);
            return Ok(());
        }
        self.platform_difference(context, keys);
        self.descriptor_difference(context, "manifest", descs.as_ref().map(Some));
        if descs.input0.digest == descs.input1.digest {
            self.record_unread(context, &descs, &path, !pair.is_attestation());
        } else {
            let manifest = ManifestPair {
                context,
                path: &path,
                descriptors: &descs,
                attestation: pair.is_attestation(),
            };
            match self.walk_manifest(&manifest, plans) {
                Ok(()) => {}
                // A config the archive does not hold: the platform is not in it either.
                Err(error) if !pair.requested && error.missing_in().is_some() => {
                    let message = format!(
                        "{}: not in this archive ({error}); not compared",
                        pair.name()
                    );
                    self.warn(Some(context), message);
                    let held = Sides::from_fn(|side| error.missing_in() != Some(side.index()));
                    tally.note(pair, &held, &keys);
                    return Ok(());
                }
                Err(error) => self.error(Some(context), error.to_string()),
            }
        }
        tally.note(pair, &Sides::new(true, true), &keys);
        Ok(())
    }

    /// An entry only one index lists.
    fn presence_difference(&self, context: ContextId, pair: &Pair) {
        let listed = |entry: &Option<Entry>| json!(entry.is_some().then_some(&pair.label));
        self.emit_difference(Difference {
            context,
            kind: DiffKind::Idx,
            key: format!("platform {}", pair.label).into(),
            deltas: vec![Delta::new(
                Aspect::Presence,
                "platform",
                listed(&pair.entries.input0),
                listed(&pair.entries.input1),
            )]
            .into(),
            entries: Default::default(),
            origin: Default::default(),
            id: DiffId::default(),
            nested: Default::default(),
            explanations: Default::default(),
        });
    }

    /// A warning for each input that lists a manifest but does not hold it.
    fn warn_not_held(
        &self,
        context: ContextId,
        pair: &Pair,
        descs: &Sides<Descriptor>,
        held: &Sides<bool>,
    ) {
        for side in Side::BOTH.into_iter().filter(|s| !held.get(*s)) {
            self.warn(
                Some(context),
                format!(
                    "{}: not in input {} ({}): its index lists manifest {}, which the archive \
                     does not hold; not compared",
                    pair.name(),
                    side.index(),
                    self.images.get(side).spec,
                    descs.get(side).digest
                ),
            );
        }
    }

    /// The paired manifests are of two platforms (`--platform0`/`--platform1`, or two single-platform
    /// images): that is a difference of its own.
    fn platform_difference(&self, context: ContextId, keys: Sides<&str>) {
        if keys.differ() {
            self.emit_difference(Difference {
                context,
                kind: DiffKind::Mani,
                key: "platform".into(),
                deltas: vec![Delta::new(
                    Aspect::Platform,
                    "platform",
                    json!(keys.input0),
                    json!(keys.input1),
                )]
                .into(),
                entries: Default::default(),
                origin: Default::default(),
                id: DiffId::default(),
                nested: Default::default(),
                explanations: Default::default(),
            });
        }
    }

    /// One platform's manifest pair: manifest fields, config, layer contexts.
    fn walk_manifest(
        &self,
        pair: &ManifestPair<'_>,
        plans: &mut Vec<ManifestPlan>,
    ) -> Result<(), EngineError> {
        let at = or_root(pair.path);
        let docs = self.read_both_json("manifest", pair.descriptors, at)?;
        let manifests: Sides<Manifest> =
            self.parse_both(pair.descriptors, &docs, "manifest", at)?;
        self.json_difference(
            pair.context,
            DiffKind::Mani,
            "manifest",
            docs,
            json_diff::manifest_aspect,
        );
        let counts = manifests.as_ref().map(|m| m.layers.len());
        if counts.differ() {
            self.emit_difference(Difference {
                context: pair.context,
                kind: DiffKind::Mani,
                key: "layers".into(),
                deltas: vec![Delta::new(
                    Aspect::Structure,
                    "layers",
                    json!(counts.input0),
                    json!(counts.input1),
                )]
                .into(),
                entries: Default::default(),
                origin: Default::default(),
                id: DiffId::default(),
                nested: Default::default(),
                explanations: Default::default(),
            });
        }
        let configs = self.walk_config(pair, &manifests)?;
        if let Some(plan) = self.plan_layers(pair, &manifests, &configs) {
            plans.push(plan);
        }
        Ok(())
    }

    /// The config pair: context, descriptors and contents. Returns what reading the layers needs (an
    /// artifact's config, often the empty descriptor, has nothing for them).
    fn walk_config(
        &self,
        pair: &ManifestPair<'_>,
        manifests: &Sides<Manifest>,
    ) -> Result<Sides<ImageConfig>, EngineError> {
        let descs = manifests.as_ref().map(|m| m.config.clone());
        let path = format!("{}/config", pair.path);
        let context = self.context(
            Some(pair.context),
            ContextKind::Config,
            &path,
            "config",
            descs.clone().map(Some),
        );
        self.descriptor_difference(context, "config", descs.as_ref().map(Some));
        if descs.iter().any(|(_, d)| d.kind() != BlobKind::Config) {
            self.compare_blobs(&BlobPair {
                context,
                kind: DiffKind::Cfg,
                what: "config",
                path: &path,
                descriptors: descs.as_ref(),
                classify: json_diff::config_aspect,
                absent_is_warning: pair.attestation,
            })?;
            return Ok(Sides::default());
        }
        let configs = self.read_both_json("config", &descs, &path)?;
        let parsed: Sides<ImageConfig> = self.parse_both(&descs, &configs, "config", &path)?;
        if descs.input0.digest != descs.input1.digest {
            self.json_difference(
                context,
                DiffKind::Cfg,
                "config",
                configs,
                json_diff::config_aspect,
            );
        }
        for side in Side::BOTH {
            let desc = descs.get(side);
            diff_ids_per_layer(manifests.get(side), desc.kind(), parsed.get(side))
                .map_err(|e| self.blob_error(side, "config", desc, &path, e))?;
        }
        Ok(parsed)
    }

    /// Layer contexts; tar layers are planned for the layer phase, other blobs compared here. `None`
    /// if there is no tar layer to read.
    fn plan_layers(
        &self,
        pair: &ManifestPair<'_>,
        manifests: &Sides<Manifest>,
        configs: &Sides<ImageConfig>,
    ) -> Option<ManifestPlan> {
        let count = manifests
            .input0
            .layers
            .len()
            .max(manifests.input1.layers.len());
        let mut layers = Vec::with_capacity(count);
        for i in 0..count {
            let descriptors = manifests.as_ref().map(|m| m.layers.get(i).cloned());
            let path = format!("{}/layers-{i}", pair.path);
            let tar = self.reads_as_tar(&descriptors, &path);
            let kind = if tar {
                ContextKind::Layer { index: i }
            } else {
                ContextKind::Blob { index: i }
            };
            let label = format!("layer {i}");
            let context =
                self.context(Some(pair.context), kind, &path, &label, descriptors.clone());
            self.descriptor_difference(context, "layer", descriptors.as_ref().map(Option::as_ref));
            if !tar {
                self.compare_blob_layers(pair, context, &path, &descriptors);
                continue;
            }
            let diff_ids = configs.as_ref().map(|c| c.rootfs.diff_ids.get(i).cloned());
            layers.push(LayerPlan {
                context,
                path,
                descriptors,
                diff_ids,
            });
        }
        if layers.is_empty() {
            return None;
        }
        let merged_context = self.context(
            Some(pair.context),
            ContextKind::MergedFs,
            &format!("{}/merged", pair.path),
            "merged filesystem",
            Sides::default(),
        );
        Some(ManifestPlan {
            context: pair.context,
            path: pair.path.to_owned(),
            merged_context,
            layers,
        })
    }

    /// A layer position that is not read as tar streams: its blobs' contents (a failure is this
    /// layer's error; the other layers are still compared).
    fn compare_blob_layers(
        &self,
        pair: &ManifestPair<'_>,
        context: ContextId,
        path: &str,
        descriptors: &Sides<Option<Descriptor>>,
    ) {
        let (Some(a), Some(b)) = (&descriptors.input0, &descriptors.input1) else {
            return;
        };
        let blobs = BlobPair {
            context,
            kind: DiffKind::Layer,
            what: "layer",
            path,
            descriptors: Sides::new(a, b),
            classify: json_diff::payload_aspect,
            absent_is_warning: pair.attestation,
        };
        if let Err(error) = self.compare_blobs(&blobs) {
            self.error(Some(context), error.to_string());
        }
    }

    /// Whether a layer position is read as tar streams: every descriptor there is a tar its input
    /// holds. A foreign layer is often not held (its content is at its URLs): it is then compared by
    /// descriptor, and said so.
    fn reads_as_tar(&self, descriptors: &Sides<Option<Descriptor>>, path: &str) -> bool {
        let mut tar = true;
        for (side, desc) in descriptors.iter() {
            let Some(desc) = desc else { continue };
            tar &= match desc.kind() {
                BlobKind::Layer(_) => true,
                BlobKind::ForeignLayer(_) if self.holds(side, desc) => true,
                BlobKind::ForeignLayer(_) => {
                    self.warn(
                        None,
                        format!(
                            "input {} ({}): foreign layer {} at {path} is not in the image (its \
                             content is at its URLs): compared by descriptor",
                            side.index(),
                            self.images.get(side).spec,
                            desc.digest
                        ),
                    );
                    false
                }
                _ => false,
            };
        }
        tar
    }

    /// What a manifest pairs by: its platform, from its descriptor or else from its config. An
    /// artifact (no image config) pairs as `artifact <artifactType>`.
    fn manifest_key(
        &self,
        side: Side,
        desc: &Descriptor,
        path: &str,
    ) -> Result<String, EngineError> {
        if let Some(p) = desc.platform.as_ref().filter(|p| !is_unknown(p)) {
            return Ok(p.key());
        }
        let manifest: Manifest = self.read_parsed(side, "manifest", desc, path)?;
        if manifest.config.kind() != BlobKind::Config {
            let kind = manifest
                .artifact_type
                .as_deref()
                .unwrap_or(&manifest.config.media_type);
            return Ok(format!("artifact {kind}"));
        }
        let config: ImageConfig = self.read_parsed(side, "config", &manifest.config, path)?;
        Ok(config.platform().key())
    }

    /// Reads a JSON blob, verified. An index or a manifest must be of schema version 2.
    fn read_json(
        &self,
        side: Side,
        what: &'static str,
        desc: &Descriptor,
        path: &str,
    ) -> Result<Value, EngineError> {
        let image = self.images.get(side);
        let fail = |e| self.blob_error(side, what, desc, path, e);
        let bytes =
            read_small_blob(image.source.as_ref(), desc, self.options.json_limit).map_err(fail)?;
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| fail(BlobError::Json(e)))?;
        if matches!(desc.kind(), BlobKind::Index | BlobKind::Manifest) {
            check_schema_version(&doc).map_err(fail)?;
        }
        Ok(doc)
    }

    fn read_parsed<T: serde::de::DeserializeOwned>(
        &self,
        side: Side,
        what: &'static str,
        desc: &Descriptor,
        path: &str,
    ) -> Result<T, EngineError> {
        let shape = |e| self.blob_error(side, what, desc, path, BlobError::Shape(e));
        if matches!(desc.kind(), BlobKind::Index | BlobKind::Manifest) {
            let doc = self.read_json(side, what, desc, path)?;
            return T::deserialize(&doc).map_err(shape);
        }
        // Straight into the few fields wanted: a config may hold megabytes of history.
        let image = self.images.get(side);
        let bytes = read_small_blob(image.source.as_ref(), desc, self.options.json_limit)
            .map_err(|e| self.blob_error(side, what, desc, path, e))?;
        serde_json::from_slice(&bytes).map_err(|e: serde_json::Error| match e.classify() {
            serde_json::error::Category::Data => shape(e),
            _ => self.blob_error(side, what, desc, path, BlobError::Json(e)),
        })
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
            T::deserialize(docs.get(side)).map_err(|e| {
                self.blob_error(side, what, descs.get(side), path, BlobError::Shape(e))
            })
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
                json_diff::json_deltas(to_value(a), to_value(b), json_diff::descriptor_aspect)
            }
            (None, None) => return,
            (a, b) => vec![Delta::new(
                Aspect::Presence,
                key.to_owned(),
                json!(a.map(to_value)),
                json!(b.map(to_value)),
            )],
        };
        if !deltas.is_empty() {
            self.emit_difference(Difference {
                context: ctx,
                kind: DiffKind::Desc,
                key: key.into(),
                deltas: deltas.into(),
                entries: Default::default(),
                origin: Default::default(),
                id: DiffId::default(),
                nested: Default::default(),
                explanations: Default::default(),
            });
        }
    }

    fn json_difference(
        &self,
        ctx: ContextId,
        kind: DiffKind,
        key: &str,
        docs: Sides<Value>,
        classify: Classifier,
    ) {
        let deltas = json_diff::json_deltas(docs.input0, docs.input1, classify);
        if !deltas.is_empty() {
            self.emit_difference(Difference {
                context: ctx,
                kind,
                key: key.into(),
                deltas: deltas.into(),
                entries: Default::default(),
                origin: Default::default(),
                id: DiffId::default(),
                nested: Default::default(),
                explanations: Default::default(),
            });
        }
    }

    /// Emits a difference under a new id, which it returns.
    pub fn emit_difference(&self, difference: Difference) -> DiffId {
        self.settle_difference(difference, None)
    }

    /// Emits a settled difference under the id of the provisional one it settles, if any, else under
    /// a new id; returns the id.
    pub fn settle_difference(
        &self,
        mut difference: Difference,
        provisional: Option<DiffId>,
    ) -> DiffId {
        difference.id = provisional.unwrap_or_else(|| self.new_difference_id());
        let id = difference.id;
        self.sink.emit(Event::Difference(difference));
        id
    }

    /// Emits a provisional difference (see [`Event::Provisional`]) under a new id, which it returns.
    pub fn emit_provisional(&self, mut difference: Difference) -> DiffId {
        difference.id = self.new_difference_id();
        let id = difference.id;
        self.sink.emit(Event::Provisional(difference));
        id
    }

    fn new_difference_id(&self) -> DiffId {
        DiffId(self.next_difference.fetch_add(1, Ordering::Relaxed))
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

/// Indexes and manifests of schema version 2 are read; 1 is Docker's old signed format.
fn check_schema_version(doc: &Value) -> Result<(), BlobError> {
    match doc.get("schemaVersion") {
        None => Ok(()),
        Some(v) if *v == 2 => Ok(()),
        Some(v) if *v == 1 => Err(BlobError::SchemaV1),
        Some(v) => Err(BlobError::SchemaVersion(v.to_string())),
    }
}
