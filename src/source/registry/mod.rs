//! Images in a registry: any input without a transport prefix that is not a path.
//!
//! The reference is resolved once (its manifest or index is fetched and its digest checked, or, with
//! `--pull=missing|never`, what an earlier run resolved it to is taken from the cache) and becomes the
//! root descriptor. After that the source serves blobs by digest: manifests (small, kept in memory)
//! from the manifest endpoint, everything else through the [`store::BlobStore`], which downloads in
//! the background, a few blobs at a time, into a verified content-addressed cache that readers follow
//! as the bytes arrive. The registry is contacted only when something is not in the cache.

mod auth;
mod fetch;
mod reference;
mod store;

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::runtime::runtime;
use super::{BlobSource, Opened, PullPolicy, SourceError, SourceOptions};
use crate::oci::{Descriptor, Digest, annotation, media_type};

use fetch::Remote;
use reference::Target;
use store::{BlobStore, Claim, Download, StoreHandle};
pub use store::{Pruned, prune};

pub(super) fn open(spec: &str, options: &SourceOptions) -> Result<Opened, SourceError> {
    let target = Target::parse(spec)?;
    let store = BlobStore::for_setting(&options.cache)?;
    let remote = LazyRemote {
        target: target.clone(),
        options: options.clone(),
        connected: OnceLock::new(),
    };
    let recorded = match options.pull {
        PullPolicy::Always => None,
        PullPolicy::Missing | PullPolicy::Never => recorded_root(&target, &store),
    };
    let (bytes, digest) = match recorded {
        Some(found) => found,
        None => {
            let what = format!("manifest {}", target.full_name());
            let (bytes, digest) = runtime().block_on(remote.get(&what)?.manifest(None))?;
            store.put(&digest, &bytes);
            store.remember_reference(&target.full_name(), &digest);
            (bytes, digest)
        }
    };
    let root = root_descriptor(&target, &bytes, digest);
    let source = RegistrySource {
        remote,
        store,
        known: Mutex::new(Known::default()),
    };
    source.store.put(&root.digest, &bytes);
    source.learn(&root.digest, bytes);
    Ok((Arc::new(source), root))
}

/// What an earlier run resolved the reference to (a digest reference names it itself), if the cache
/// still holds that manifest.
fn recorded_root(target: &Target, store: &BlobStore) -> Option<(Vec<u8>, Digest)> {
    let digest = match target.reference.digest() {
        Some(pinned) => pinned.parse().ok()?,
        None => store.recorded_reference(&target.full_name())?,
    };
    Some((store.cached_bytes(&digest)?, digest))
}

/// The registry, connected when first needed, so that a run served by the cache makes no request.
struct LazyRemote {
    target: Target,
    options: SourceOptions,
    connected: OnceLock<Arc<Remote>>,
}

impl LazyRemote {
    /// The connection, to fetch `what`; refused under `--pull=never`.
    fn get(&self, what: &str) -> Result<Arc<Remote>, SourceError> {
        if self.options.pull == PullPolicy::Never {
            let problem = "not in the cache, and --pull=never forbids downloading it";
            return Err(fetch::registry_error(&self.target, what, problem));
        }
        if let Some(remote) = self.connected.get() {
            return Ok(remote.clone());
        }
        let remote = runtime().block_on(Remote::connect(self.target.clone(), &self.options))?;
        Ok(self.connected.get_or_init(|| Arc::new(remote)).clone())
    }
}

/// The root descriptor: what the reference names, with the name annotations local sources carry,
/// so that `--ignore-image-name` treats registry and local inputs alike.
fn root_descriptor(target: &Target, bytes: &[u8], digest: Digest) -> Descriptor {
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(
        annotation::CONTAINERD_IMAGE_NAME.to_owned(),
        target.full_name(),
    );
    if let Some(tag) = target.tag() {
        annotations.insert(annotation::REF_NAME.to_owned(), tag.to_owned());
    }
    Descriptor {
        media_type: manifest_media_type(bytes),
        digest,
        size: bytes.len() as u64,
        urls: None,
        annotations,
        platform: None,
        artifact_type: None,
    }
}

/// The `mediaType` a manifest or index declares; without one, what its fields say it is.
fn manifest_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Head>(bytes) {
        Ok(Head {
            media_type: Some(declared),
            ..
        }) => declared,
        Ok(Head {
            manifests: Some(_), ..
        }) => media_type::OCI_INDEX.to_owned(),
        _ => media_type::OCI_MANIFEST.to_owned(),
    }
}

/// A registry input's blobs.
struct RegistrySource {
    remote: LazyRemote,
    store: StoreHandle,
    known: Mutex<Known>,
}

/// What the manifests seen so far say about digests.
#[derive(Default)]
struct Known {
    /// Manifests fetched, by digest.
    manifests: HashMap<Digest, Arc<[u8]>>,
    /// Digests that index entries name: fetched from the manifest endpoint.
    manifest_digests: HashSet<Digest>,
    /// Sizes of blobs from descriptors, so a download knows when it is complete.
    sizes: HashMap<Digest, u64>,
}

#[derive(serde::Deserialize)]
struct Listing {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

impl RegistrySource {
    fn known(&self) -> MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps a manifest's bytes and notes what its descriptors say.
    fn learn(&self, digest: &Digest, bytes: Vec<u8>) -> Arc<[u8]> {
        let listing = serde_json::from_slice::<Listing>(&bytes).ok();
        let bytes: Arc<[u8]> = Arc::from(bytes);
        let mut known = self.known();
        known.manifests.insert(digest.clone(), bytes.clone());
        if let Some(listing) = listing {
            for entry in &listing.manifests {
                known.manifest_digests.insert(entry.digest.clone());
            }
            for blob in listing.config.iter().chain(&listing.layers) {
                known.sizes.insert(blob.digest.clone(), blob.size);
            }
        }
        bytes
    }

    fn manifest(&self, digest: &Digest) -> Result<Arc<[u8]>, SourceError> {
        if let Some(bytes) = self.store.cached_bytes(digest) {
            return Ok(self.learn(digest, bytes));
        }
        let remote = self.remote.get(&format!("manifest {digest}"))?;
        let (bytes, _) = runtime().block_on(remote.manifest(Some(digest)))?;
        self.store.put(digest, &bytes);
        Ok(self.learn(digest, bytes))
    }

    /// Starts downloading a blob on the shared runtime. The task does not keep the store alive: once
    /// the sources are dropped, a download nobody reads any more ends without caching anything.
    /// Without a registry to ask, the download ends at once with the reason, which readers get.
    fn start(&self, digest: &Digest, download: Arc<Download>) -> Result<(), SourceError> {
        let remote = match self.remote.get(&format!("blob {digest}")) {
            Ok(remote) => remote,
            Err(e) => {
                self.store.finish(digest, &download, Err(e.to_string()));
                return Err(e);
            }
        };
        let store = Arc::downgrade(&self.store.store);
        let permits = self.store.permits.clone();
        let digest = digest.clone();
        let size = self.known().sizes.get(&digest).copied();
        runtime().spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = remote.download(&digest, size, &download).await;
            match store.upgrade() {
                Some(store) => store.finish(&digest, &download, outcome),
                None => download.end(outcome),
            }
        });
        Ok(())
    }
}

impl BlobSource for RegistrySource {
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        let (in_memory, is_manifest) = {
            let known = self.known();
            (
                known.manifests.get(digest).cloned(),
                known.manifest_digests.contains(digest),
            )
        };
        if let Some(bytes) = in_memory {
            return Ok(Box::new(Cursor::new(bytes)));
        }
        if is_manifest {
            return Ok(Box::new(Cursor::new(self.manifest(digest)?)));
        }
        match self.store.claim(digest)? {
            Claim::Cached(file) => Ok(Box::new(file)),
            Claim::Running(download) => Ok(Box::new(download.reader())),
            Claim::Start(download) => {
                let reader = download.reader();
                self.start(digest, download)?;
                Ok(Box::new(reader))
            }
        }
    }

    /// Not asked (a HEAD per blob would cost a round trip): every blob is verified when read.
    fn stat(&self, _digest: &Digest) -> Result<Option<u64>, SourceError> {
        Ok(None)
    }

    /// Starts the downloads of the blobs not cached yet, in the order given; at most a few run at once.
    fn prefetch(&self, blobs: &[Descriptor]) {
        {
            let mut known = self.known();
            for blob in blobs {
                known.sizes.insert(blob.digest.clone(), blob.size);
            }
        }
        for blob in blobs {
            if self.store.blob_path(&blob.digest).exists() {
                continue;
            }
            if let Ok(Claim::Start(download)) = self.store.claim(&blob.digest)
                && self.start(&blob.digest, download).is_err()
            {
                // The read of this blob will say why; there is no registry for the rest either.
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_descriptors_carry_the_type_and_the_name() {
        let target = Target::parse("127.0.0.1:5000/test/a:v1").unwrap();
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        let root = root_descriptor(&target, index, Digest::sha256_of(index));
        assert_eq!(root.media_type, media_type::OCI_INDEX);
        assert_eq!(root.size, index.len() as u64);
        assert_eq!(
            root.annotations[annotation::CONTAINERD_IMAGE_NAME],
            "127.0.0.1:5000/test/a:v1"
        );
        assert_eq!(root.annotations[annotation::REF_NAME], "v1");
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}"}}"#,
            media_type::DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type(docker.as_bytes()),
            media_type::DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type(b"{\"layers\":[]}"),
            media_type::OCI_MANIFEST
        );
    }
}
