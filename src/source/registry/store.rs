//! The blob store behind registry sources: a content-addressed cache directory
//! (`DIR/blobs/sha256/<hex>`, complete and verified blobs only), what each reference was last resolved
//! to (`DIR/refs/`, for `--pull=missing|never`), and the downloads in flight, which readers follow as
//! bytes arrive. One store per cache directory is shared by every input of the
//! process, so a blob wanted twice is downloaded once.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};

use sha2::{Digest as _, Sha256};
use tempfile::TempPath;

use super::super::{CacheSetting, ReadFailure, SourceError};
use crate::oci::Digest;

/// At most this many blobs download at once (all inputs together).
const PARALLEL_DOWNLOADS: usize = 4;
/// A temporary download file untouched this long belongs to no running process.
const STALE_DOWNLOAD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A source's hold on a store and, for `--no-cache`, on its temporary directory, which goes when the
/// last source does. Download tasks hold only the store, so a run that ends with downloads still
/// running (nobody reads them any more) does not leave the directory behind.
#[derive(Clone)]
pub(crate) struct StoreHandle {
    pub store: Arc<BlobStore>,
    _temp: Option<Arc<TempCache>>,
}

/// `--no-cache`'s directory: removed with the last source, or by the signal handler.
struct TempCache {
    _on_signal: crate::cleanup::Registration,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for StoreHandle {
    type Target = BlobStore;
    fn deref(&self) -> &BlobStore {
        &self.store
    }
}

fn upgrade((store, temp): &(Weak<BlobStore>, Option<Weak<TempCache>>)) -> Option<StoreHandle> {
    let temp = match temp {
        Some(weak) => Some(weak.upgrade()?),
        None => None,
    };
    Some(StoreHandle {
        store: store.upgrade()?,
        _temp: temp,
    })
}

pub(crate) struct BlobStore {
    root: PathBuf,
    inflight: Mutex<HashMap<Digest, Arc<Download>>>,
    /// Cache files hashed during this run: a hit is verified once before it is trusted.
    verified: Mutex<HashSet<Digest>>,
    pub permits: Arc<tokio::sync::Semaphore>,
}

/// What [`BlobStore::claim`] found.
pub(crate) enum Claim {
    Cached(File),
    /// Someone is downloading it: follow along.
    Running(Arc<Download>),
    /// The caller must download it into this and call [`BlobStore::finish`].
    Start(Arc<Download>),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlobStore {
    /// The store for a cache setting, shared with the other sources of this process that use it.
    pub fn for_setting(setting: &CacheSetting) -> Result<StoreHandle, SourceError> {
        type Held = (Weak<BlobStore>, Option<Weak<TempCache>>);
        static STORES: OnceLock<Mutex<HashMap<Option<PathBuf>, Held>>> = OnceLock::new();
        let key = match setting {
            CacheSetting::Disabled => None,
            CacheSetting::Dir(dir) => Some(dir.clone()),
            CacheSetting::Default => Some(default_cache_dir()?),
        };
        let mut stores = lock(STORES.get_or_init(Default::default));
        if let Some(handle) = stores.get(&key).and_then(upgrade) {
            return Ok(handle);
        }
        let handle = match &key {
            Some(dir) => StoreHandle {
                store: Arc::new(BlobStore::at(dir.clone())?),
                _temp: None,
            },
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("ocidiff-blobs-")
                    .tempdir()
                    .map_err(|e| io_error(&std::env::temp_dir(), e))?;
                StoreHandle {
                    store: Arc::new(BlobStore::at(temp.path().to_owned())?),
                    _temp: Some(Arc::new(TempCache {
                        _on_signal: crate::cleanup::remove_on_signal(temp.path()),
                        _dir: temp,
                    })),
                }
            }
        };
        let held = (
            Arc::downgrade(&handle.store),
            handle._temp.as_ref().map(Arc::downgrade),
        );
        stores.insert(key, held);
        Ok(handle)
    }

    fn at(root: PathBuf) -> Result<BlobStore, SourceError> {
        for dir in [
            root.join("blobs/sha256"),
            root.join("refs"),
            root.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        }
        remove_stale_downloads(&root.join("tmp"));
        Ok(BlobStore {
            root,
            inflight: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashSet::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(PARALLEL_DOWNLOADS)),
        })
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// The cached blob, a download of it in flight, or a new download for the caller to run.
    pub fn claim(&self, digest: &Digest) -> Result<Claim, SourceError> {
        if let Some(download) = lock(&self.inflight).get(digest) {
            return Ok(Claim::Running(download.clone()));
        }
        // Hashing a cache hit takes a while: not under the lock, which every open needs.
        if let Some(file) = self.cached(digest) {
            return Ok(Claim::Cached(file));
        }
        let mut inflight = lock(&self.inflight);
        if let Some(download) = inflight.get(digest) {
            return Ok(Claim::Running(download.clone()));
        }
        // Finished meanwhile: verified by then, so no hashing under the lock.
        if let Some(file) = self.cached(digest) {
            return Ok(Claim::Cached(file));
        }
        let download = Arc::new(Download::create(&self.root.join("tmp"))?);
        inflight.insert(digest.clone(), download.clone());
        Ok(Claim::Start(download))
    }

    /// A cached blob whose content matches its name; a file that does not is removed. A hit is marked
    /// as used (its mtime), which is what [`prune`] goes by.
    pub fn cached(&self, digest: &Digest) -> Option<File> {
        let path = self.blob_path(digest);
        let file = File::open(&path).ok()?;
        let _ = file.set_modified(std::time::SystemTime::now());
        if lock(&self.verified).contains(digest) {
            return Some(file);
        }
        if hash_file(&file).ok()? != *digest {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        lock(&self.verified).insert(digest.clone());
        File::open(&path).ok()
    }

    /// A small cached blob (a manifest) whole, see [`BlobStore::cached`].
    pub fn cached_bytes(&self, digest: &Digest) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        self.cached(digest)?.read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// Stores small verified bytes (manifests) under their digest.
    pub fn put(&self, digest: &Digest, bytes: &[u8]) {
        if Digest::sha256_of(bytes) == *digest && !self.blob_path(digest).exists() {
            self.write_whole(&self.blob_path(digest), bytes);
        }
    }

    /// Notes what a reference (its full name) resolved to. Losing the note only costs a request later.
    pub fn remember_reference(&self, name: &str, digest: &Digest) {
        let note = format!("{name}\n{digest}\n");
        self.write_whole(&self.reference_path(name), note.as_bytes());
    }

    /// Writes a small file by renaming a complete temporary one into place; a failure only loses it.
    fn write_whole(&self, path: &Path, bytes: &[u8]) {
        if let Ok(file) = Download::create(&self.root.join("tmp"))
            && file.append(bytes).is_ok()
        {
            let _ = file.persist(path);
        }
    }

    /// What an earlier run resolved a reference to.
    pub fn recorded_reference(&self, name: &str) -> Option<Digest> {
        let text = std::fs::read_to_string(self.reference_path(name)).ok()?;
        let mut lines = text.lines();
        // The file is named by a hash of the name; the name inside rules out a collision.
        if lines.next()? != name {
            return None;
        }
        lines.next()?.parse().ok()
    }

    fn reference_path(&self, name: &str) -> PathBuf {
        self.root
            .join("refs")
            .join(Digest::sha256_of(name.as_bytes()).hex())
    }

    /// Ends a download. `Ok` means the caller checked that the bytes hash to `digest`: the file moves
    /// into the cache. On `Err` it is deleted. Followers see the outcome.
    pub fn finish(&self, digest: &Digest, download: &Download, outcome: Result<(), String>) {
        // A failed rename only loses the caching: readers still have the open file.
        if outcome.is_ok() && download.persist(&self.blob_path(digest)).is_ok() {
            lock(&self.verified).insert(digest.clone());
        }
        let mut inflight = lock(&self.inflight);
        inflight.remove(digest);
        download.end(outcome);
    }
}

/// What [`prune`] removed and kept (files and bytes).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub removed: u64,
    pub freed: u64,
    pub kept: u64,
    pub kept_bytes: u64,
}

/// Removes the blobs and reference notes of the cache at `setting` that no run has used for `unused_for`
/// (by mtime, which a cache hit renews), and downloads left behind. Returns the directory and what
/// went. A blob removed is only downloaded again when needed: everything is named by its digest.
pub fn prune(
    setting: &CacheSetting,
    unused_for: std::time::Duration,
) -> Result<(PathBuf, Pruned), SourceError> {
    let root = match setting {
        CacheSetting::Dir(dir) => dir.clone(),
        CacheSetting::Default => default_cache_dir()?,
        CacheSetting::Disabled => return Ok((PathBuf::new(), Pruned::default())),
    };
    let mut pruned = Pruned::default();
    for dir in ["blobs/sha256", "refs", "tmp"] {
        let dir = root.join(dir);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&dir, e)),
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let unused = meta
                .modified()
                .and_then(|t| t.elapsed().map_err(io::Error::other))
                .is_ok_and(|age| age >= unused_for);
            if unused && std::fs::remove_file(entry.path()).is_ok() {
                pruned.removed += 1;
                pruned.freed += meta.len();
            } else {
                pruned.kept += 1;
                pruned.kept_bytes += meta.len();
            }
        }
    }
    Ok((root, pruned))
}

/// `$XDG_CACHE_HOME/ocidiff-tui`, else `~/.cache/ocidiff-tui`.
fn default_cache_dir() -> Result<PathBuf, SourceError> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let home = || std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache"));
    xdg.or_else(home)
        .map(|dir| dir.join("ocidiff-tui"))
        .ok_or_else(|| SourceError::Unsupported {
            spec: "registry cache".into(),
            reason: "neither XDG_CACHE_HOME nor HOME is set: use --cache-dir or --no-cache".into(),
        })
}

/// Removes what runs that ended mid-download left behind (the process exits without waiting for
/// downloads nobody reads any more). Only old files: another run may be downloading right now.
fn remove_stale_downloads(dir: &Path) {
    let stale = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_DOWNLOAD))
    };
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if stale(&entry) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn hash_file(mut file: &File) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Digest::from_sha256(hasher.finalize().into()))
}

fn io_error(path: &Path, cause: io::Error) -> SourceError {
    SourceError::Io {
        path: path.to_owned(),
        cause,
    }
}

/// A blob being written to a temporary file in the cache directory, readable while it grows.
pub(crate) struct Download {
    file: File,
    temp: Mutex<Option<TempPath>>,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    written: u64,
    /// `Some` once the download ended: `Err` holds the message readers fail with.
    outcome: Option<Result<(), String>>,
}

impl Download {
    fn create(dir: &Path) -> Result<Download, SourceError> {
        let (file, temp) = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| io_error(dir, e))?
            .into_parts();
        Ok(Download {
            file,
            temp: Mutex::new(Some(temp)),
            state: Mutex::new(State {
                written: 0,
                outcome: None,
            }),
            changed: Condvar::new(),
        })
    }

    pub fn written(&self) -> u64 {
        lock(&self.state).written
    }

    /// Appends bytes and wakes the readers waiting for them.
    pub fn append(&self, bytes: &[u8]) -> io::Result<()> {
        let at = self.written();
        self.file.write_all_at(bytes, at)?;
        lock(&self.state).written = at + bytes.len() as u64;
        self.changed.notify_all();
        Ok(())
    }

    fn persist(&self, path: &Path) -> io::Result<()> {
        match lock(&self.temp).take() {
            Some(temp) => temp.persist(path).map_err(|e| e.error),
            None => Ok(()),
        }
    }

    /// Tells the readers how the download ended (without caching it: see [`BlobStore::finish`]).
    pub fn end(&self, outcome: Result<(), String>) {
        if outcome.is_err() {
            // Dropping the path deletes the file; readers keep their open handle.
            lock(&self.temp).take();
        }
        lock(&self.state).outcome = Some(outcome);
        self.changed.notify_all();
    }

    /// A reader from the first byte, which waits for bytes not yet downloaded.
    pub fn reader(self: &Arc<Self>) -> DownloadReader {
        DownloadReader {
            download: self.clone(),
            position: 0,
        }
    }
}

pub(crate) struct DownloadReader {
    download: Arc<Download>,
    position: u64,
}

impl Read for DownloadReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let download = &self.download;
        let mut state = lock(&download.state);
        loop {
            if self.position < state.written {
                let available = (state.written - self.position).min(buf.len() as u64) as usize;
                drop(state);
                let n = download
                    .file
                    .read_at(&mut buf[..available], self.position)?;
                self.position += n as u64;
                return Ok(n);
            }
            match &state.outcome {
                Some(Ok(())) => return Ok(0),
                Some(Err(message)) => {
                    return Err(io::Error::other(ReadFailure(message.clone())));
                }
                None => {
                    state = download
                        .changed
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::at(dir.path().to_owned()).unwrap();
        (dir, store)
    }

    fn started(store: &BlobStore, digest: &Digest) -> Arc<Download> {
        match store.claim(digest).unwrap() {
            Claim::Start(download) => download,
            _ => panic!("expected a new download"),
        }
    }

    #[test]
    fn a_verified_download_is_cached_and_followers_read_it_as_it_grows() {
        let (_dir, store) = store();
        let digest = Digest::sha256_of(b"hello world");
        let download = started(&store, &digest);
        assert!(matches!(store.claim(&digest), Ok(Claim::Running(_))));
        let mut reader = download.reader();
        download.append(b"hello").unwrap();
        let mut first = [0u8; 16];
        assert_eq!(reader.read(&mut first).unwrap(), 5);
        let follower = std::thread::spawn(move || {
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).map(|_| rest)
        });
        download.append(b" world").unwrap();
        store.finish(&digest, &download, Ok(()));
        assert_eq!(follower.join().unwrap().unwrap(), b" world");
        assert_eq!(
            std::fs::read(store.blob_path(&digest)).unwrap(),
            b"hello world"
        );
        assert!(matches!(store.claim(&digest), Ok(Claim::Cached(_))));
    }

    #[test]
    fn a_failed_download_is_not_cached_and_readers_get_the_error() {
        let (dir, store) = store();
        let digest = Digest::sha256_of(b"x");
        let download = started(&store, &digest);
        download.append(b"y").unwrap();
        let mut reader = download.reader();
        store.finish(&digest, &download, Err("digest mismatch".into()));
        let mut all = Vec::new();
        let error = reader.read_to_end(&mut all).unwrap_err();
        assert_eq!(error.to_string(), "digest mismatch");
        assert!(!store.blob_path(&digest).exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert!(matches!(store.claim(&digest), Ok(Claim::Start(_))));
    }

    #[test]
    fn prune_removes_what_was_not_used_lately_and_a_hit_counts_as_use() {
        let (dir, store) = store();
        let (old, used, fresh) = (
            Digest::sha256_of(b"old"),
            Digest::sha256_of(b"used"),
            Digest::sha256_of(b"fresh"),
        );
        store.put(&old, b"old");
        store.put(&used, b"used");
        store.put(&fresh, b"fresh");
        store.remember_reference("r/x:1", &old);
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86400);
        for path in [
            store.blob_path(&old),
            store.blob_path(&used),
            store.reference_path("r/x:1"),
        ] {
            File::options()
                .append(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        assert!(store.cached(&used).is_some());
        let month = std::time::Duration::from_secs(30 * 86400);
        let setting = CacheSetting::Dir(dir.path().to_owned());
        let (root, pruned) = prune(&setting, month).unwrap();
        assert_eq!(root, dir.path());
        assert_eq!(
            pruned,
            Pruned {
                removed: 2,
                freed: 3 + "r/x:1\n".len() as u64 + old.to_string().len() as u64 + 1,
                kept: 2,
                kept_bytes: 4 + 5,
            }
        );
        assert!(!store.blob_path(&old).exists());
        assert!(store.cached(&used).is_some() && store.cached(&fresh).is_some());
        assert_eq!(store.recorded_reference("r/x:1"), None);
    }

    #[test]
    fn a_corrupted_cache_file_is_removed_not_served() {
        let (_dir, store) = store();
        let digest = Digest::sha256_of(b"good");
        store.put(&digest, b"good");
        std::fs::write(store.blob_path(&digest), b"evil").unwrap();
        assert!(store.cached(&digest).is_none());
        assert!(!store.blob_path(&digest).exists());
        store.put(&digest, b"bad!");
        assert!(
            !store.blob_path(&digest).exists(),
            "bytes not matching are never stored"
        );
    }
}
