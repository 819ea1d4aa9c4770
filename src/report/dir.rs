//! The `--report-dir DIR` writer: extracts entries of both inputs under `DIR/input-<n>/<context>/<path>`
//! so that `diff -ur DIR/input-0 DIR/input-1` and diffoscope can be run on them.
//!
//! Entry names come from the images and are hostile. Nothing is ever written outside `DIR`:
//! - a name is split into components; empty and `.` components are dropped (so `/abs/x` lands at
//!   `abs/x`), a `..` component, a NUL byte or a component over 255 bytes refuses the entry;
//! - control characters in names are escaped (`\u{1b}`), so listing the directory cannot drive a terminal;
//! - every directory below `DIR/input-<n>` is created by this writer, and every existing component is
//!   checked with `symlink_metadata` to be a real directory: a path through a file or a symlink is refused;
//! - files are opened with `create_new` (`O_CREAT|O_EXCL`, which never follows a symlink);
//! - symlinks and hardlinks are written as small text files (`symlink to <target>`), so that neither this
//!   writer nor `diff -r` ever follows a link planted by an image;
//! - device nodes and fifos are skipped; permissions keep only the `rwx` bits with the owner's `rw`
//!   (`rwx` for directories) always set so the report can be removed; owners are never changed.
//!
//! Only concurrent tampering with `DIR` by another local process while the report is written is out of
//! scope (the checks and the creation are separate system calls).

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::ReportError;
use crate::model::{EntryKind, EntryMeta, Side, Timestamp, escape_control};

const README: &str = "README.md";
const REPORT_JSON: &str = "report.json";
const ROOT_NAMES: [&str; 4] = [README, REPORT_JSON, "input-0", "input-1"];
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;

const README_TEXT: &str = "# ocidiff report directory
- input-0/: entries of input 0, at input-0/<context>/<path>, e.g. input-0/manifests-0/layers-0/etc/os-release
- input-1/: entries of input 1, laid out the same way
- report.json: the full report (`ocidiffReport` JSON format, version 1)

Compare with `diff -ur input-0 input-1`.

Entries are written so that they are inert:
- symlinks and hardlinks are regular text files holding `symlink to <target>` or `hardlink to <target>`;
- device nodes and fifos are not created;
- permissions keep the rwx bits only (no setuid, setgid or sticky), the owner can always read and write;
  owners are not set;
- control characters in names are escaped as `\\u{..}`;
- entries whose names hold `..`, a NUL byte, or lead through a file or a link are refused (see report.json).
";

/// What [`ReportDir::write_entry`] did with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A regular file with its content.
    File {
        path: PathBuf,
        bytes: u64,
    },
    Directory {
        path: PathBuf,
    },
    /// A symlink or hardlink, written as a text file naming its target.
    LinkNote {
        path: PathBuf,
    },
    /// Not written, and why (device nodes, fifos, unknown types).
    Skipped(String),
}

/// A report directory being written.
#[derive(Debug)]
pub struct ReportDir {
    root: PathBuf,
}

impl ReportDir {
    /// Creates `dir` (and its parents) and clears what a previous report left: `input-0`, `input-1`,
    /// `report.json` and `README.md`. A symlink in their place is removed itself, never followed.
    pub fn create(dir: &Path) -> Result<ReportDir, ReportError> {
        fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
        // The user chose DIR, links in it included; resolving it once pins everything below to it.
        let root = dir.canonicalize().map_err(ReportError::io(dir))?;
        for name in ROOT_NAMES {
            remove_without_following(&root.join(name))?;
        }
        for side in Side::BOTH {
            let path = root.join(side_dir(side));
            DirBuilder::new()
                .mode(0o755)
                .create(&path)
                .map_err(ReportError::io(path))?;
        }
        Ok(ReportDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes one tar entry of `side` under `input-<n>/<context_path>/`. Regular-file content is streamed
    /// from `content`. An entry that cannot be written safely is refused with an error naming it.
    pub fn write_entry(
        &mut self,
        side: Side,
        context_path: &str,
        entry: &EntryMeta,
        content: Option<&mut dyn Read>,
    ) -> Result<Written, ReportError> {
        if let Some(reason) = unwritable_kind(entry.kind) {
            return Ok(Written::Skipped(reason));
        }
        let context =
            safe_components(context_path).map_err(|reason| unsafe_entry(context_path, reason))?;
        let names =
            safe_components(&entry.name).map_err(|reason| unsafe_entry(&entry.name, reason))?;
        let mut relative: Vec<String> = vec![side_dir(side).to_owned()];
        relative.extend(context);
        relative.extend(names.iter().cloned());
        let total: usize =
            relative.iter().map(|c| c.len() + 1).sum::<usize>() + self.root.as_os_str().len();
        if total > PATH_MAX {
            return Err(unsafe_entry(&entry.name, "the path is too long".into()));
        }
        let Some((last, parents)) = relative.split_last() else {
            return Err(unsafe_entry(&entry.name, "empty path".into()));
        };
        let parent = self.ensure_directories(parents, &entry.name)?;
        let target = parent.join(last);
        if names.is_empty() {
            // `.` or `/`: the layer's own root directory, which exists now.
            return match entry.kind {
                EntryKind::Directory => Ok(Written::Directory { path: target }),
                _ => Err(unsafe_entry(
                    &entry.name,
                    "a non-directory names the layer root".into(),
                )),
            };
        }
        match entry.kind {
            EntryKind::Directory => write_directory(&target, entry),
            EntryKind::Symlink | EntryKind::Hardlink => write_link_note(&target, entry),
            _ => write_file(&target, entry, content),
        }
    }

    /// Writes `report.json` and the `README.md` that explains the layout; returns the directory.
    pub fn finish(self, report_json: &[u8]) -> Result<PathBuf, ReportError> {
        write_new_file(&self.root.join(REPORT_JSON), report_json, 0o644)?;
        write_new_file(&self.root.join(README), README_TEXT.as_bytes(), 0o444)?;
        Ok(self.root)
    }

    /// Walks `components` from the root, creating missing directories and refusing anything that is not
    /// a real directory (a symlink or a file planted by an earlier entry).
    fn ensure_directories(
        &self,
        components: &[String],
        entry_name: &str,
    ) -> Result<PathBuf, ReportError> {
        let mut path = self.root.clone();
        for component in components {
            path.push(component);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    let shown = path
                        .strip_prefix(&self.root)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    let reason = format!(
                        "{shown} is not a directory (a link or file from an earlier entry)"
                    );
                    return Err(unsafe_entry(entry_name, reason));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    DirBuilder::new()
                        .mode(0o755)
                        .create(&path)
                        .map_err(ReportError::io(&path))?;
                }
                Err(e) => return Err(ReportError::Io { path, source: e }),
            }
        }
        Ok(path)
    }
}

fn side_dir(side: Side) -> &'static str {
    match side {
        Side::Input0 => "input-0",
        Side::Input1 => "input-1",
    }
}

fn unsafe_entry(name: &str, reason: String) -> ReportError {
    ReportError::UnsafeEntry {
        name: format!("{:?}", escape_control(name)),
        reason,
    }
}

fn unwritable_kind(kind: EntryKind) -> Option<String> {
    match kind {
        EntryKind::File | EntryKind::Directory | EntryKind::Symlink | EntryKind::Hardlink => None,
        other => Some(format!("{} entries are not created", other.label())),
    }
}

/// The name's components, safe to join below a directory we own.
fn safe_components(name: &str) -> Result<Vec<String>, String> {
    if name.contains('\0') {
        return Err("the name holds a NUL byte".into());
    }
    let mut components = Vec::new();
    for part in name.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err("the name holds a `..` component".into());
        }
        let part = escape_control(part);
        if part.len() > NAME_MAX {
            return Err(format!("a component is longer than {NAME_MAX} bytes"));
        }
        components.push(part.into_owned());
    }
    Ok(components)
}

/// Removes a file, a symlink (the link itself) or a whole directory tree; absent is fine.
fn remove_without_following(path: &Path) -> Result<(), ReportError> {
    let result = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        // std's remove_dir_all does not follow symlinks inside the tree.
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    result.map_err(ReportError::io(path))
}

/// A later entry with the same name replaces an earlier file; an existing directory is kept, never
/// emptied.
fn make_room_for_file(path: &Path, entry_name: &str) -> Result<(), ReportError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReportError::Io {
            path: path.to_owned(),
            source: e,
        }),
        Ok(meta) if meta.is_dir() => Err(unsafe_entry(
            entry_name,
            "a directory of that name was written before".into(),
        )),
        Ok(_) => fs::remove_file(path).map_err(ReportError::io(path)),
    }
}

fn write_directory(path: &Path, entry: &EntryMeta) -> Result<Written, ReportError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Ok(Written::Directory {
                path: path.to_owned(),
            });
        }
        Ok(_) => fs::remove_file(path).map_err(ReportError::io(path))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ReportError::Io {
                path: path.to_owned(),
                source: e,
            });
        }
    }
    let mode = (entry.mode & 0o777) | 0o700;
    DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(ReportError::io(path))?;
    Ok(Written::Directory {
        path: path.to_owned(),
    })
}

fn write_link_note(path: &Path, entry: &EntryMeta) -> Result<Written, ReportError> {
    make_room_for_file(path, &entry.name)?;
    let target = entry.link.as_deref().unwrap_or("");
    let note = format!("{} to {}\n", entry.kind.label(), escape_control(target));
    write_new_file(path, note.as_bytes(), 0o644)?;
    Ok(Written::LinkNote {
        path: path.to_owned(),
    })
}

fn write_file(
    path: &Path,
    entry: &EntryMeta,
    content: Option<&mut dyn Read>,
) -> Result<Written, ReportError> {
    make_room_for_file(path, &entry.name)?;
    let mut file = create_new(path)?;
    let bytes = match content {
        Some(reader) => io::copy(reader, &mut file).map_err(ReportError::io(path))?,
        None => 0,
    };
    let mode = (entry.mode & 0o777) | 0o600;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(ReportError::io(path))?;
    if let Some(mtime) = system_time(entry.mtime) {
        file.set_modified(mtime).map_err(ReportError::io(path))?;
    }
    Ok(Written::File {
        path: path.to_owned(),
        bytes,
    })
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ReportError> {
    make_room_for_file(path, &path.display().to_string())?;
    let mut file = create_new(path)?;
    file.write_all(bytes).map_err(ReportError::io(path))?;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(ReportError::io(path))
}

/// `O_CREAT|O_EXCL`: fails on anything already there, a dangling symlink included.
fn create_new(path: &Path) -> Result<File, ReportError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(ReportError::io(path))
}

fn system_time(t: Timestamp) -> Option<SystemTime> {
    let whole = Duration::from_secs(t.secs.unsigned_abs());
    let base = if t.secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(whole)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(whole)
    }?;
    base.checked_add(Duration::from_nanos(u64::from(t.nanos)))
}

#[cfg(test)]
mod tests;
