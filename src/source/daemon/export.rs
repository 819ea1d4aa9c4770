//! An engine's export, kept in a temporary directory while its image is read, then removed.
//!
//! `manifest.json` may be the last member of an export, so nothing can be read from the stream as it
//! arrives: it is written to disk, then read in place by offsets like any `docker save` archive.

use std::path::PathBuf;
use std::sync::Arc;

use super::super::archive::TarFile;
use super::super::{
    BlobSource, CacheSetting, Opened, SourceError, SourceOptions, docker_archive,
    open_docker_archive, open_oci_archive,
};
use super::names;
use crate::oci::{Descriptor, Digest};

/// A temporary directory holding one export, `image.tar`; removed on drop, or by the signal handler.
pub(super) struct ExportDir {
    _on_signal: crate::cleanup::Registration,
    dir: tempfile::TempDir,
}

impl ExportDir {
    /// In `--cache-dir` when one is given (exports can be large), else in the temporary directory.
    pub(super) fn new(options: &SourceOptions, tag: &str) -> Result<ExportDir, SourceError> {
        let base = match &options.cache {
            CacheSetting::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir.clone(), e))?;
                dir.clone()
            }
            CacheSetting::Default | CacheSetting::Disabled => std::env::temp_dir(),
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("ocidiff-{tag}-export-"))
            .tempdir_in(&base)
            .map_err(|e| io_error(base, e))?;
        Ok(ExportDir {
            _on_signal: crate::cleanup::remove_on_signal(dir.path()),
            dir,
        })
    }

    pub(super) fn archive(&self) -> PathBuf {
        self.dir.path().join("image.tar")
    }
}

fn io_error(path: PathBuf, source: std::io::Error) -> SourceError {
    SourceError::Io {
        path,
        cause: source,
    }
}

/// Opens the exported archive, selecting the image named `wanted` (see [`names::tag_matches`]);
/// an export of one image is that image. What is wrong with the archive is said of the export, not
/// of its temporary file.
pub(super) fn open(
    export: ExportDir,
    wanted: &str,
    no_such_image: impl FnOnce() -> SourceError,
    failed: impl Fn(String) -> SourceError,
) -> Result<Opened, SourceError> {
    let (source, root) = open_archive(&export, wanted, no_such_image).map_err(|e| match e {
        SourceError::NotAnImage { reason, .. } => {
            failed(format!("its export is not an image: {reason}"))
        }
        SourceError::BadJson { what, cause, .. } => {
            failed(format!("its export's {what} is not valid JSON: {cause}"))
        }
        other => other,
    })?;
    Ok((
        Arc::new(Exported {
            inner: source,
            _export: export,
        }),
        root,
    ))
}

fn open_archive(
    export: &ExportDir,
    wanted: &str,
    no_such_image: impl FnOnce() -> SourceError,
) -> Result<Opened, SourceError> {
    let tar = Arc::new(TarFile::scan(&export.archive())?);
    match docker_archive::read_manifest_json(&tar)? {
        Some(images) => {
            let tags = images.iter().flat_map(|i| i.repo_tags.iter().flatten());
            let tag = tags.clone().find(|t| names::tag_matches(t, wanted));
            if tag.is_none() && images.len() != 1 {
                return Err(no_such_image());
            }
            open_docker_archive(tar, tag.map(String::as_str))
        }
        None if tar.contains("index.json") => open_oci_archive(tar, None),
        None => Err(SourceError::NotAnImage {
            path: export.archive(),
            reason: "it has neither manifest.json nor index.json".into(),
        }),
    }
}

/// The export's blobs, with the directory that holds them kept until they are no longer needed.
struct Exported {
    inner: Arc<dyn BlobSource>,
    _export: ExportDir,
}

impl BlobSource for Exported {
    fn open(&self, digest: &Digest) -> Result<Box<dyn std::io::Read + Send>, SourceError> {
        self.inner.open(digest)
    }

    fn stat(&self, digest: &Digest) -> Result<Option<u64>, SourceError> {
        self.inner.stat(digest)
    }

    fn prefetch(&self, blobs: &[Descriptor]) {
        self.inner.prefetch(blobs);
    }
}
