//! The `--report-dir DIR` writer: extracts entries of both inputs under `DIR/input-<n>/<context>/<path>`
//! so that `diff -ur DIR/input-0 DIR/input-1` and diffoscope can be run on them.
//!
//! DIR must be new or empty unless the caller says to overwrite ([`NonEmpty`]); then only what a previous
//! report left (`input-0`, `input-1`, `report.json`, `README.md`) is removed.
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
//! What is written is bounded, and one entry never hides another:
//! - a regular file larger than the per-file limit, or one that would take the directory past its total
//!   limit ([`WriteLimits`]), is not written at all (a partial file would mislead `diff`), and its content
//!   is not read;
//! - an entry whose place an earlier entry took (one name twice in a layer, two names that escape alike, a
//!   file where a directory was made) is written as `<name>~2` (`~3`...), never over it.
//!
//! Every entry not written, or written under another name, is listed in `report.json` (`reportDir`) and in
//! `README.md`. Only concurrent tampering with `DIR` by another local process while the report is written
//! is out of scope (the checks and the creation are separate system calls).

use std::collections::{HashMap, HashSet};
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::summary::plural;
use super::{ReportError, human_size};
use crate::model::{EntryKind, EntryMeta, Side, Timestamp, escape_control};

const README: &str = "README.md";
const REPORT_JSON: &str = "report.json";
const ROOT_NAMES: [&str; 4] = [README, REPORT_JSON, "input-0", "input-1"];
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;
/// Entries listed in the directory's README under each heading; report.json lists them all.
const README_LIST_MAX: usize = 100;

/// Bounds on what a report directory receives; `--max-scale` multiplies both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteLimits {
    /// The largest regular file written (bytes).
    pub per_file: u64,
    /// The most file content written in all (bytes).
    pub total: u64,
}

impl WriteLimits {
    pub const DEFAULT: WriteLimits = WriteLimits {
        per_file: 64 << 20,
        total: 1 << 30,
    };

    /// Both limits multiplied by `factor` (`--max-scale`).
    pub fn scaled(factor: f64) -> WriteLimits {
        let scale = |limit: u64| (limit as f64 * factor).clamp(1.0, u64::MAX as f64) as u64;
        WriteLimits {
            per_file: scale(Self::DEFAULT.per_file),
            total: scale(Self::DEFAULT.total),
        }
    }
}

impl Default for WriteLimits {
    fn default() -> Self {
        WriteLimits::DEFAULT
    }
}

/// What [`ReportDir::create`] does with a directory that already holds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonEmpty {
    /// Refuse it with [`ReportError::NotEmpty`].
    Refuse,
    /// Write into it, replacing what a previous report left there; other files are kept.
    Overwrite,
}

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
    /// Not written (a device node, a fifo, a file over the limits), and why; listed in the notes.
    NotWritten {
        cause: Cause,
        reason: String,
    },
}

/// Why an entry is not in the report directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// A regular file larger than [`WriteLimits::per_file`].
    PerFileLimit,
    /// A regular file that would take the directory past [`WriteLimits::total`].
    TotalLimit,
    /// A device node, a fifo or an unknown type: never created.
    Kind,
    /// A name that cannot be written safely (`..`, a NUL byte, through a link, too long).
    Unsafe,
    /// Writing failed.
    Error,
    /// A member of a file compared inside (an archive's member, a compressed file's payload): the
    /// file is what the layer holds, and what is written; the member is not extracted from it.
    InsideAFile,
}

impl Cause {
    fn is_limit(self) -> bool {
        matches!(self, Cause::PerFileLimit | Cause::TotalLimit)
    }
}

/// An entry of one input, as the notes name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryRef {
    pub input: usize,
    pub context_path: String,
    /// The entry's name, as the report has it.
    pub name: String,
    /// Its position in its layer.
    pub index: u32,
    pub size: u64,
}

impl EntryRef {
    fn new(side: Side, context_path: &str, entry: &EntryMeta) -> EntryRef {
        EntryRef {
            input: side.index(),
            context_path: context_path.to_owned(),
            name: entry.name().to_string(),
            index: entry.index(),
            size: entry.size(),
        }
    }
}

impl std::fmt::Display for EntryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "input-{} {} entry {} {:?}",
            self.input,
            escape_control(&self.context_path),
            self.index,
            escape_control(&self.name)
        )
    }
}

/// An entry that is not in the report directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotWritten {
    #[serde(flatten)]
    pub entry: EntryRef,
    pub cause: Cause,
    pub reason: String,
}

/// An entry written under another name than its own, because an earlier entry took that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Renamed {
    #[serde(flatten)]
    pub entry: EntryRef,
    /// Where it is, relative to the report directory.
    pub written_as: String,
    pub reason: String,
}

/// The entries a report directory holds differently from the images, or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    pub not_written: Vec<NotWritten>,
    pub renamed: Vec<Renamed>,
}

impl Notes {
    /// Regular files left out by the size limits.
    pub fn over_limits(&self) -> usize {
        self.not_written
            .iter()
            .filter(|n| n.cause.is_limit())
            .count()
    }

    /// One line for each kind of note a user should know of after writing (size limits, renames).
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let over = self.over_limits();
        if over > 0 {
            lines.push(format!(
                "{over} {} not written (over the size limits), see report.json",
                plural(over, "file")
            ));
        }
        let members = (self.not_written.iter())
            .filter(|n| n.cause == Cause::InsideAFile)
            .count();
        if members > 0 {
            lines.push(format!(
                "{members} {} of files compared inside not written (see their file), see report.json",
                plural(members, "member")
            ));
        }
        let renamed = self.renamed.len();
        if renamed > 0 {
            lines.push(format!(
                "{renamed} {} written under another name (an earlier entry took it), see report.json",
                plural(renamed, "file")
            ));
        }
        lines
    }
}

/// A report directory once written.
#[derive(Debug)]
pub struct Finished {
    pub root: PathBuf,
    pub notes: Notes,
}

/// A report directory being written.
#[derive(Debug)]
pub struct ReportDir {
    root: PathBuf,
    limits: WriteLimits,
    /// Bytes of file content written so far.
    written: u64,
    /// Directories written for a directory entry, rather than made as the parent of other entries.
    entry_directories: HashSet<PathBuf>,
    /// For a path taken by an earlier entry, the next `~N` to try.
    next_suffix: HashMap<PathBuf, u32>,
    notes: Notes,
}

/// Where an entry goes, and the path it would have had if an earlier entry had not taken it.
struct Claim {
    path: PathBuf,
    taken: Option<PathBuf>,
}

impl ReportDir {
    /// Creates `dir` (and its parents) if needed. A directory that holds anything is refused
    /// ([`ReportError::NotEmpty`]), or with [`NonEmpty::Overwrite`] cleared of what a previous report left:
    /// `input-0`, `input-1`, `report.json` and `README.md` (a symlink in their place is removed itself,
    /// never followed).
    pub fn create(
        dir: &Path,
        non_empty: NonEmpty,
        limits: WriteLimits,
    ) -> Result<ReportDir, ReportError> {
        ReportDir::check(dir, non_empty)?;
        fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
        // The user chose DIR, links in it included; resolving it once pins everything below to it.
        let root = dir.canonicalize().map_err(ReportError::io(dir))?;
        if non_empty == NonEmpty::Overwrite {
            for name in ROOT_NAMES {
                remove_without_following(&root.join(name))?;
            }
        }
        for side in Side::BOTH {
            let path = root.join(side_dir(side));
            DirBuilder::new()
                .mode(0o755)
                .create(&path)
                .map_err(ReportError::io(path))?;
        }
        Ok(ReportDir {
            root,
            limits,
            written: 0,
            entry_directories: HashSet::new(),
            next_suffix: HashMap::new(),
            notes: Notes::default(),
        })
    }

    /// What [`ReportDir::create`] would refuse, without creating anything: a `dir` that is not empty
    /// (with [`NonEmpty::Refuse`]), or one that cannot be listed.
    pub fn check(dir: &Path, non_empty: NonEmpty) -> Result<(), ReportError> {
        let mut items = match fs::read_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(ReportError::io(dir))?,
        };
        if non_empty == NonEmpty::Refuse && items.next().is_some() {
            return Err(ReportError::NotEmpty {
                path: dir.to_owned(),
            });
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the limits let this entry be written now; a caller need not read the content of one
    /// that does not fit, [`ReportDir::write_entry`] will not.
    pub fn fits(&self, entry: &EntryMeta) -> bool {
        self.over_limits(entry).is_none()
    }

    /// Writes one tar entry of `side` under `input-<n>/<context_path>/`. Regular-file content is streamed
    /// from `content`, never more than the entry's size, and not read at all when the file is over the
    /// limits. An entry that cannot be written safely is refused with an error naming it. Every entry not
    /// written, and every entry written under another name, is noted.
    pub fn write_entry(
        &mut self,
        side: Side,
        context_path: &str,
        entry: &EntryMeta,
        content: Option<&mut dyn Read>,
    ) -> Result<Written, ReportError> {
        let result = self.place(side, context_path, entry, content);
        let not_written = match &result {
            Ok(Written::NotWritten { cause, reason }) => Some((*cause, reason.clone())),
            Ok(_) => None,
            Err(ReportError::UnsafeEntry { reason, .. }) => Some((Cause::Unsafe, reason.clone())),
            Err(error) => Some((Cause::Error, error.to_string())),
        };
        if let Some((cause, reason)) = not_written {
            self.notes.not_written.push(NotWritten {
                entry: EntryRef::new(side, context_path, entry),
                cause,
                reason,
            });
        }
        result
    }

    /// Lists an entry as not written, for a reason found by the caller (a member of a file compared
    /// inside, which the layer does not hold as an entry of its own).
    pub fn list_not_written(
        &mut self,
        side: Side,
        context_path: &str,
        entry: &EntryMeta,
        cause: Cause,
        reason: String,
    ) {
        self.notes.not_written.push(NotWritten {
            entry: EntryRef::new(side, context_path, entry),
            cause,
            reason,
        });
    }

    /// Writes `report.json` (the report given, a JSON object, with a `reportDir` member added; streamed
    /// to the file as it is serialised) and the `README.md` that explains the layout and lists the notes.
    pub fn finish(self, report: &impl Serialize) -> Result<Finished, ReportError> {
        let document = WithReportDir {
            report,
            report_dir: self.json(),
        };
        write_new_file(&self.root.join(REPORT_JSON), 0o644, |out| {
            serde_json::to_writer_pretty(out, &document).map_err(io::Error::from)
        })?;
        let readme = self.readme();
        write_new_file(&self.root.join(README), 0o444, |out| {
            out.write_all(readme.as_bytes())
        })?;
        Ok(Finished {
            root: self.root,
            notes: self.notes,
        })
    }

    fn place(
        &mut self,
        side: Side,
        context_path: &str,
        entry: &EntryMeta,
        content: Option<&mut dyn Read>,
    ) -> Result<Written, ReportError> {
        if let Some((cause, reason)) =
            unwritable_kind(entry.kind()).or_else(|| self.over_limits(entry))
        {
            return Ok(Written::NotWritten { cause, reason });
        }
        let context =
            safe_components(context_path).map_err(|reason| unsafe_entry(context_path, reason))?;
        let names =
            safe_components(entry.name()).map_err(|reason| unsafe_entry(entry.name(), reason))?;
        let mut relative: Vec<String> = vec![side_dir(side).to_owned()];
        relative.extend(context);
        relative.extend(names.iter().cloned());
        let total: usize =
            relative.iter().map(|c| c.len() + 1).sum::<usize>() + self.root.as_os_str().len();
        if total > PATH_MAX {
            return Err(unsafe_entry(entry.name(), "the path is too long".into()));
        }
        if names.is_empty() {
            // `.` or `/`: the layer's own root directory.
            return match entry.kind() {
                EntryKind::Directory => Ok(Written::Directory {
                    path: self.ensure_directories(&relative, entry.name())?,
                }),
                _ => Err(unsafe_entry(
                    entry.name(),
                    "a non-directory names the layer root".into(),
                )),
            };
        }
        let Some((last, parents)) = relative.split_last() else {
            return Err(unsafe_entry(entry.name(), "empty path".into()));
        };
        let parent = self.ensure_directories(parents, entry.name())?;
        let claim = self.claim(&parent, last, entry)?;
        let written = match entry.kind() {
            EntryKind::Directory => self.write_directory(&claim.path, entry)?,
            EntryKind::Symlink | EntryKind::Hardlink => write_link_note(&claim.path, entry)?,
            _ => self.write_file(&claim.path, entry, content)?,
        };
        if let Some(taken) = claim.taken {
            let reason = format!("{} was taken by an earlier entry", self.relative(&taken));
            self.notes.renamed.push(Renamed {
                entry: EntryRef::new(side, context_path, entry),
                written_as: self.relative(&claim.path),
                reason,
            });
        }
        Ok(written)
    }

    fn over_limits(&self, entry: &EntryMeta) -> Option<(Cause, String)> {
        if entry.kind() != EntryKind::File {
            return None;
        }
        let WriteLimits { per_file, total } = self.limits;
        if entry.size() > per_file {
            return Some((
                Cause::PerFileLimit,
                format!(
                    "larger than the per-file limit of {} (--max-scale raises it)",
                    human_size(per_file)
                ),
            ));
        }
        (entry.size() > total.saturating_sub(self.written)).then(|| {
            (
                Cause::TotalLimit,
                format!(
                    "the report directory's total limit of {} is reached (--max-scale raises it)",
                    human_size(total)
                ),
            )
        })
    }

    /// The path for an entry named `name` in `parent`: that one, or if an earlier entry took it, the
    /// first free `name~N`. A directory made as the parent of earlier entries is a directory entry's own.
    fn claim(
        &mut self,
        parent: &Path,
        name: &str,
        entry: &EntryMeta,
    ) -> Result<Claim, ReportError> {
        let wanted = parent.join(name);
        let free = match fs::symlink_metadata(&wanted) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(ReportError::io(&wanted)(e)),
            Ok(meta) => {
                meta.is_dir()
                    && entry.kind() == EntryKind::Directory
                    && !self.entry_directories.contains(&wanted)
            }
        };
        if free {
            return Ok(Claim {
                path: wanted,
                taken: None,
            });
        }
        let mut suffix = self.next_suffix.get(&wanted).copied().unwrap_or(2);
        let path = loop {
            let renamed = format!("{name}~{suffix}");
            if renamed.len() > NAME_MAX {
                let reason = format!(
                    "{} was taken by an earlier entry, and {NAME_MAX} bytes leave no room for a ~{suffix} suffix",
                    self.relative(&wanted)
                );
                return Err(unsafe_entry(entry.name(), reason));
            }
            let candidate = parent.join(renamed);
            suffix += 1;
            match fs::symlink_metadata(&candidate) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => break candidate,
                Err(e) => return Err(ReportError::io(&candidate)(e)),
                Ok(_) => {}
            }
        };
        self.next_suffix.insert(wanted.clone(), suffix);
        Ok(Claim {
            path,
            taken: Some(wanted),
        })
    }

    /// `path` relative to the report directory, for the notes.
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
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
                    let reason = format!(
                        "{} is not a directory (a link or file from an earlier entry)",
                        self.relative(&path)
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

    /// A directory made earlier as a parent is kept as it is; otherwise one is made with the entry's mode.
    fn write_directory(&mut self, path: &Path, entry: &EntryMeta) -> Result<Written, ReportError> {
        let made_as_parent = fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir());
        if !made_as_parent {
            let mode = (entry.mode() & 0o777) | 0o700;
            DirBuilder::new()
                .mode(mode)
                .create(path)
                .map_err(ReportError::io(path))?;
        }
        self.entry_directories.insert(path.to_owned());
        Ok(Written::Directory {
            path: path.to_owned(),
        })
    }

    fn write_file(
        &mut self,
        path: &Path,
        entry: &EntryMeta,
        content: Option<&mut dyn Read>,
    ) -> Result<Written, ReportError> {
        let mut file = create_new(path)?;
        let copied = match content {
            Some(reader) => io::copy(&mut reader.take(entry.size()), &mut file),
            None => Ok(0),
        };
        let bytes = match copied {
            Ok(bytes) => bytes,
            Err(e) => {
                // A partial file would mislead `diff`.
                let _ = fs::remove_file(path);
                return Err(ReportError::io(path)(e));
            }
        };
        self.written += bytes;
        let mode = (entry.mode() & 0o777) | 0o600;
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(ReportError::io(path))?;
        if let Some(mtime) = system_time(entry.mtime()) {
            file.set_modified(mtime).map_err(ReportError::io(path))?;
        }
        Ok(Written::File {
            path: path.to_owned(),
            bytes,
        })
    }

    /// The `reportDir` member, written from the notes as they are (a report directory of a million
    /// files not written has a million notes: a `Value` tree of them took 100 MB).
    fn json(&self) -> ReportDirJson<'_> {
        ReportDirJson {
            limits: LimitsJson {
                per_file: self.limits.per_file,
                total: self.limits.total,
            },
            written_bytes: self.written,
            not_written: &self.notes.not_written,
            renamed: &self.notes.renamed,
        }
    }

    fn readme(&self) -> String {
        let WriteLimits { per_file, total } = self.limits;
        let mut text = README_TEXT
            .replace("{per_file}", &human_size(per_file))
            .replace("{total}", &human_size(total));
        let not_written = self
            .notes
            .not_written
            .iter()
            .map(|n| format!("{}: {}", n.entry, escape_control(&n.reason)));
        append_list(&mut text, "Not written", not_written);
        let renamed = self.notes.renamed.iter().map(|r| {
            format!(
                "{} is {:?}: {}",
                r.entry,
                escape_control(&r.written_as),
                escape_control(&r.reason)
            )
        });
        append_list(&mut text, "Written under another name", renamed);
        text
    }
}

const README_TEXT: &str = "# ocidiff report directory
- input-0/: entries of input 0, at input-0/<context>/<path>, e.g. input-0/manifests-0/layers-0/etc/os-release
- input-1/: entries of input 1, laid out the same way
- report.json: the full report (`ocidiffReport` JSON format, version 2); its `reportDir` member lists the
  entries below

Compare with `diff -ur input-0 input-1`.

Entries are written so that they are inert:
- symlinks and hardlinks are regular text files holding `symlink to <target>` or `hardlink to <target>`;
- device nodes and fifos are not created;
- permissions keep the rwx bits only (no setuid, setgid or sticky), the owner can always read and write;
  owners are not set;
- control characters in names are escaped as `\\u{..}`;
- entries whose names hold `..`, a NUL byte, or lead through a file or a link are refused.

What is written is bounded: a file over {per_file}, or one that would take this directory past {total} in
all, is not written, not even in part (`--max-scale` raises both limits).

An entry whose name an earlier entry took (the same name twice in a layer, names that escape alike) is
written as <name>~2 (~3, ...), never over the earlier one.

What differs inside a file compared inside (an archive's member, a compressed file's payload: FILE!/MEMBER
in the table) is unpacked again from the file and written at <path of FILE>!/MEMBER, beside the file; a
member that cannot be (its file over the limits) is listed under Not written, naming its file.
";

/// Appends a `## heading (N)` section listing `items`, the first [`README_LIST_MAX`] of them.
fn append_list(text: &mut String, heading: &str, items: impl ExactSizeIterator<Item = String>) {
    let count = items.len();
    if count == 0 {
        return;
    }
    text.push_str(&format!("\n## {heading} ({count})\n"));
    for item in items.take(README_LIST_MAX) {
        text.push_str(&format!("- {item}\n"));
    }
    if count > README_LIST_MAX {
        let more = count - README_LIST_MAX;
        text.push_str(&format!("- and {more} more: see report.json\n"));
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

fn unwritable_kind(kind: EntryKind) -> Option<(Cause, String)> {
    match kind {
        EntryKind::File | EntryKind::Directory | EntryKind::Symlink | EntryKind::Hardlink => None,
        other => Some((
            Cause::Kind,
            format!("{} entries are not created", other.label()),
        )),
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

fn write_link_note(path: &Path, entry: &EntryMeta) -> Result<Written, ReportError> {
    let target = entry.link().unwrap_or("");
    let note = format!("{} to {}\n", entry.kind().label(), escape_control(target));
    write_new_file(path, 0o644, |out| out.write_all(note.as_bytes()))?;
    Ok(Written::LinkNote {
        path: path.to_owned(),
    })
}

/// `report.json`: the report given, with the directory's own member last.
#[derive(Serialize)]
struct WithReportDir<'a, R> {
    #[serde(flatten)]
    report: &'a R,
    #[serde(rename = "reportDir")]
    report_dir: ReportDirJson<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportDirJson<'a> {
    limits: LimitsJson,
    written_bytes: u64,
    not_written: &'a [NotWritten],
    renamed: &'a [Renamed],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitsJson {
    per_file: u64,
    total: u64,
}

/// Creates `path` (never over anything already there), writes it through a buffer, then sets `mode`.
fn write_new_file(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ReportError> {
    let file = create_new(path)?;
    let mut out = io::BufWriter::new(&file);
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(ReportError::io(path))?;
    drop(out);
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
