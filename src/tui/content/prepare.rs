//! The heavy part, run on the worker thread: classify both sides' bytes (text, binary, nested archive)
//! and compute what to draw (diff ops and highlighted lines, hex window, inner archive listing) once.
//! Rendering that for a given mode and width is cheap (see `render`).

use std::borrow::Cow;
use std::io::{self, Read};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use similar::DiffOp;

use crate::engine::BlobError;
use crate::engine::entries::{LayerEntries, compare_layer_entries};
use crate::engine::layer::{ReadLimits, scan_tar_stream};
use crate::model::{Aspect, ContextId, DiffKind, EntryMeta, Side, Sides, escape_control};
use crate::tarball::is_header;
use crate::text_diff::{Budget, line_hunks};

use super::highlight::{HlLine, highlighted_lines, plain_lines};
use super::words::mark_changed_words;

/// Bytes read of each side at most; a larger file is not shown.
pub(crate) const MAX_READ: u64 = 8 << 20;
/// Lines and bytes of each side given to the diff.
const MAX_DIFF_LINES: usize = 20_000;
const MAX_DIFF_BYTES: usize = 1 << 20;
const DIFF_TIMEOUT: Duration = Duration::from_millis(200);
/// Time for highlighting both sides; the rest of a file is shown plain.
const HIGHLIGHT_BUDGET: Duration = Duration::from_secs(2);
/// Inner archive entries listed at most.
const MAX_ARCHIVE_ROWS: usize = 5_000;
/// Bytes a nested compressed archive may expand to before it is given up (decompression bombs).
const MAX_INNER_BYTES: u64 = 256 << 20;
/// Hex rows shown before and after the row of the first difference.
const HEX_ROWS_BEFORE: usize = 2;
const HEX_ROWS_AFTER: usize = 5;
pub(crate) const HEX_ROW: usize = 16;

/// One side's content as loaded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SideContent {
    /// No entry on this side (an added or removed file).
    Absent,
    /// The entry is not a regular file (its kind's label); shown as absent.
    NotRegular(&'static str),
    Bytes(Vec<u8>),
    /// Larger than [`MAX_READ`]: the size.
    TooLarge(u64),
    /// Reading failed: the message (not yet escaped).
    Error(String),
}

impl SideContent {
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            SideContent::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// What to draw for one difference's content, independent of mode and width.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub blocks: Vec<Block>,
}

impl Prepared {
    /// Whether it holds a text diff (which highlighting would colour).
    pub fn has_text(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::Text(_)))
    }
}

/// Whether text is highlighted: a first, plain preparation shows the hunks at once, the highlighted
/// one (up to [`HIGHLIGHT_BUDGET`]) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Highlighting {
    Plain,
    Syntax,
}

#[derive(Debug)]
pub(crate) enum Block {
    Note(Note),
    Text(TextBlock),
    Binary(BinaryBlock),
    Archive(ArchiveBlock),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoteKind {
    Info,
    Warning,
    Error,
}

/// A one-line message; its text is already escaped.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub kind: NoteKind,
    pub text: String,
}

/// A line diff: both sides highlighted whole, and the ops grouped into hunks.
#[derive(Debug)]
pub(crate) struct TextBlock {
    pub old: Vec<HlLine>,
    pub new: Vec<HlLine>,
    pub hunks: Vec<Vec<DiffOp>>,
    /// Whether each side's last line has no line ending.
    pub no_newline_at_end: Sides<bool>,
}

/// Sizes, digests and a hex window around the first differing byte.
#[derive(Debug)]
pub(crate) struct BinaryBlock {
    pub sizes: Sides<Option<usize>>,
    pub digests: Sides<Option<String>>,
    pub first_difference: Option<usize>,
    /// Offset of the window's first row (a multiple of [`HEX_ROW`]).
    pub start: usize,
    /// Each present side's bytes of the window (shorter where the side ends).
    pub windows: Sides<Option<Vec<u8>>>,
}

/// The differing entries of a nested archive.
#[derive(Debug)]
pub(crate) struct ArchiveBlock {
    /// Already escaped.
    pub summary: String,
    pub rows: Vec<ArchiveRow>,
    /// Rows left out past [`MAX_ARCHIVE_ROWS`].
    pub omitted: usize,
}

#[derive(Debug)]
pub(crate) struct ArchiveRow {
    /// `+`, `-` or `~`.
    pub status: char,
    /// Already escaped.
    pub path: String,
    /// What differs (`content, file-time`), or the kind of an added/removed entry.
    pub detail: String,
}

pub(crate) fn note(kind: NoteKind, text: impl Into<String>) -> Block {
    Block::Note(Note {
        kind,
        text: text.into(),
    })
}

/// Prepares the content section of one file difference.
pub(crate) fn prepare(path: &str, sides: &Sides<SideContent>) -> Prepared {
    prepare_with(path, sides, Highlighting::Syntax, &|| true)
}

/// [`prepare`], highlighting text or not; highlighting stops as soon as `wanted` says the content is
/// no longer wanted.
pub(crate) fn prepare_with(
    path: &str,
    sides: &Sides<SideContent>,
    highlighting: Highlighting,
    wanted: &dyn Fn() -> bool,
) -> Prepared {
    let mut blocks = Vec::new();
    for (side, content) in sides.iter() {
        match content {
            SideContent::Error(message) => blocks.push(note(
                NoteKind::Error,
                format!(
                    "{}: content could not be read: {}",
                    side.name(),
                    escape_control(message)
                ),
            )),
            SideContent::TooLarge(size) => blocks.push(note(
                NoteKind::Info,
                format!(
                    "{}: {size} bytes, too large to show (limit {} MiB)",
                    side.name(),
                    MAX_READ >> 20
                ),
            )),
            SideContent::NotRegular(kind) => blocks.push(note(
                NoteKind::Info,
                format!(
                    "{}: a {kind}, not a regular file; shown as absent",
                    side.name()
                ),
            )),
            SideContent::Absent | SideContent::Bytes(_) => {}
        }
    }
    if sides
        .iter()
        .any(|(_, c)| matches!(c, SideContent::Error(_) | SideContent::TooLarge(_)))
    {
        return Prepared { blocks };
    }
    let bytes = Sides::new(sides.input0.bytes(), sides.input1.bytes());
    if let (Some(a), Some(b)) = (bytes.input0, bytes.input1)
        && a == b
    {
        blocks.push(note(
            NoteKind::Info,
            "contents are identical (the difference is in the metadata)",
        ));
        return Prepared { blocks };
    }
    if bytes.input0.is_none() && bytes.input1.is_none() {
        return Prepared { blocks };
    }
    let present = || bytes.iter().filter_map(|(_, b)| *b);
    let archives: Vec<Option<ArchiveFormat>> = present().map(sniff_archive).collect();
    if archives.iter().all(Option::is_some) {
        match list_archive(&bytes) {
            Ok(block) => blocks.push(Block::Archive(block)),
            Err(message) => {
                blocks.push(note(
                    NoteKind::Warning,
                    format!(
                        "nested archive could not be read: {}",
                        escape_control(&message)
                    ),
                ));
                blocks.push(Block::Binary(binary_block(&bytes)));
            }
        }
    } else if let Some(texts) = decoded_texts(&bytes) {
        for (side, (_, encoding)) in texts.iter() {
            if let Some(encoding) = encoding {
                blocks.push(note(
                    NoteKind::Info,
                    format!("{} is {encoding} text, shown decoded", side.name()),
                ));
            }
        }
        let texts = texts.map(|(text, _)| text);
        let texts = texts.as_ref().map(|t| t.as_ref());
        text_blocks(path, &texts, (highlighting, wanted), &mut blocks);
    } else {
        blocks.push(Block::Binary(binary_block(&bytes)));
    }
    Prepared { blocks }
}

/// Both sides as text, if both are (an absent side is empty text), with the encoding of those that
/// were not UTF-8.
fn decoded_texts<'b>(
    bytes: &Sides<Option<&'b [u8]>>,
) -> Option<Sides<(Cow<'b, str>, Option<&'static str>)>> {
    let decode = |side: Option<&'b [u8]>| match side {
        None => Some((Cow::Borrowed(""), None)),
        Some(bytes) => decode_text(bytes),
    };
    Some(Sides::new(decode(bytes.input0)?, decode(bytes.input1)?))
}

/// difftastic's rule: valid UTF-8 without NUL bytes is text. So is UTF-16 that starts with a byte-order
/// mark and decodes (Windows tools write it), decoded without the mark.
fn decode_text(bytes: &[u8]) -> Option<(Cow<'_, str>, Option<&'static str>)> {
    if !bytes.contains(&0)
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return Some((Cow::Borrowed(text), None));
    }
    let (encoding, word): (_, fn([u8; 2]) -> u16) = match bytes {
        [0xFF, 0xFE, ..] => ("UTF-16LE", u16::from_le_bytes),
        [0xFE, 0xFF, ..] => ("UTF-16BE", u16::from_be_bytes),
        _ => return None,
    };
    let (units, rest) = bytes[2..].as_chunks::<2>();
    if !rest.is_empty() {
        return None;
    }
    let text = String::from_utf16(&units.iter().map(|u| word(*u)).collect::<Vec<_>>()).ok()?;
    (!text.contains('\0')).then_some((Cow::Owned(text), Some(encoding)))
}

/// At most [`MAX_DIFF_LINES`] lines and [`MAX_DIFF_BYTES`] bytes of `text`, cut at a line end when
/// possible; whether anything was cut.
fn capped(text: &str) -> (Vec<&str>, bool) {
    let mut lines = Vec::new();
    let mut bytes = 0;
    for line in text.split_inclusive('\n') {
        if lines.len() == MAX_DIFF_LINES || bytes + line.len() > MAX_DIFF_BYTES {
            if lines.is_empty() {
                // One huge first line: keep its start (at a character boundary).
                let mut end = MAX_DIFF_BYTES.min(line.len());
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                lines.push(&line[..end]);
            }
            return (lines, true);
        }
        bytes += line.len();
        lines.push(line);
    }
    (lines, false)
}

fn text_blocks(
    path: &str,
    text: &Sides<&str>,
    (highlighting, wanted): (Highlighting, &dyn Fn() -> bool),
    blocks: &mut Vec<Block>,
) {
    let (old, old_cut) = capped(text.input0);
    let (new, new_cut) = capped(text.input1);
    if old_cut || new_cut {
        blocks.push(note(
            NoteKind::Warning,
            format!(
                "large file: only the first {MAX_DIFF_LINES} lines or {} MiB of each side are compared",
                MAX_DIFF_BYTES >> 20
            ),
        ));
    }
    let hunks = line_hunks(&old, &new, DIFF_TIMEOUT);
    if hunks.is_empty() {
        let message = if old.is_empty() && new.is_empty() {
            "the file is empty"
        } else {
            "no differences in the part compared"
        };
        blocks.push(note(NoteKind::Info, message));
        return;
    }
    let budget = Budget::new(HIGHLIGHT_BUDGET, wanted);
    let highlight = |lines: &[&str]| {
        if lines.is_empty() {
            Vec::new()
        } else if highlighting == Highlighting::Syntax && !budget.spent() {
            highlighted_lines(path, lines, budget)
        } else {
            plain_lines(lines)
        }
    };
    let mut old_lines = highlight(&old);
    let mut new_lines = highlight(&new);
    if highlighting == Highlighting::Syntax {
        // Word marks can take long on many changed lines: they come with the colours.
        mark_changed_words(&hunks, &mut old_lines, &mut new_lines, budget);
    }
    if old_lines.iter().chain(&new_lines).any(|l| l.cut) {
        blocks.push(note(
            NoteKind::Info,
            format!(
                "long lines are cut at {} characters",
                super::highlight::MAX_LINE_CHARS
            ),
        ));
    }
    let no_newline =
        |lines: &[&str], cut: bool| !cut && lines.last().is_some_and(|l| !l.ends_with('\n'));
    blocks.push(Block::Text(TextBlock {
        no_newline_at_end: Sides::new(no_newline(&old, old_cut), no_newline(&new, new_cut)),
        old: old_lines,
        new: new_lines,
        hunks,
    }));
}

fn binary_block(bytes: &Sides<Option<&[u8]>>) -> BinaryBlock {
    let first_difference = match (bytes.input0, bytes.input1) {
        (Some(a), Some(b)) => a
            .iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len()))),
        _ => Some(0),
    };
    let row = first_difference.unwrap_or(0) / HEX_ROW;
    let start = row.saturating_sub(HEX_ROWS_BEFORE) * HEX_ROW;
    let end = (row + HEX_ROWS_AFTER + 1) * HEX_ROW;
    BinaryBlock {
        sizes: bytes.as_ref().map(|b| b.map(<[u8]>::len)),
        digests: bytes
            .as_ref()
            .map(|b| b.map(|b| hex::encode(Sha256::digest(b)))),
        first_difference,
        start,
        windows: bytes
            .as_ref()
            .map(|b| b.map(|b| b[start.min(b.len())..end.min(b.len())].to_vec())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveFormat {
    Tar,
    Gzip,
    Zstd,
}

impl ArchiveFormat {
    fn label(self) -> &'static str {
        match self {
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::Gzip => "tar.gz",
            ArchiveFormat::Zstd => "tar.zst",
        }
    }
}

/// A tar, or a gzip or zstd stream that decompresses to one. A compressed stream whose start cannot be
/// decoded counts as an archive (a corrupt one), so it is reported.
fn sniff_archive(bytes: &[u8]) -> Option<ArchiveFormat> {
    if is_header(bytes) {
        return Some(ArchiveFormat::Tar);
    }
    let format = match crate::oci::Compression::sniff(bytes)? {
        crate::oci::Compression::Gzip => ArchiveFormat::Gzip,
        crate::oci::Compression::Zstd => ArchiveFormat::Zstd,
        crate::oci::Compression::None => return None,
    };
    let mut start = Vec::with_capacity(512);
    let read = decoder(format, bytes).and_then(|d| d.take(512).read_to_end(&mut start));
    match read {
        Ok(_) if is_header(&start) => Some(format),
        Ok(_) => None,
        Err(_) => Some(format),
    }
}

fn decoder<'a>(format: ArchiveFormat, bytes: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match format {
        ArchiveFormat::Tar => Box::new(bytes),
        ArchiveFormat::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        ArchiveFormat::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(bytes)?),
    })
}

/// Fails a read that goes past the limit, so a small compressed file cannot make us read gigabytes.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => Err(io::Error::other(format!(
                "expands beyond {} MiB",
                MAX_INNER_BYTES >> 20
            ))),
        }
    }
}

fn scan_archive(bytes: &[u8]) -> Result<(Vec<EntryMeta>, ArchiveFormat), String> {
    let format = sniff_archive(bytes).unwrap_or(ArchiveFormat::Tar);
    let stream = decoder(format, bytes).map_err(|e| e.to_string())?;
    let bounded = Bounded {
        inner: stream,
        left: MAX_INNER_BYTES,
    };
    scan_tar_stream(bounded, &ReadLimits::DEFAULT)
        .map(|entries| (entries, format))
        .map_err(|e: BlobError| format!("{}: {e}", format.label()))
}

fn list_archive(bytes: &Sides<Option<&[u8]>>) -> Result<ArchiveBlock, String> {
    let mut formats = Vec::new();
    let mut scanned = Sides::<LayerEntries>::default();
    for (side, b) in bytes.iter() {
        if let Some(b) = b {
            let (entries, format) = scan_archive(b).map_err(|e| format!("{}: {e}", side.name()))?;
            formats.push(format.label());
            *scanned.get_mut(side) = LayerEntries::new(entries);
        }
    }
    formats.dedup();
    let differences = compare_layer_entries(ContextId(0), &scanned.input0, &scanned.input1, false);
    let mut rows = Vec::new();
    let mut omitted = 0;
    let mut only_times = true;
    for difference in differences.iter().filter(|d| d.kind == DiffKind::File) {
        if rows.len() == MAX_ARCHIVE_ROWS {
            omitted += 1;
            continue;
        }
        let aspects = difference.aspects();
        let entries = difference.entries.as_ref();
        let kind_of = |side: Side| {
            entries
                .and_then(|e| e.get(side).as_ref())
                .map(|e| e.kind().label())
                .unwrap_or("entry")
        };
        let (status, detail) = if aspects.contains(Aspect::Presence) {
            only_times = false;
            match entries.is_some_and(|e| e.input0.is_some()) {
                true => ('-', kind_of(Side::Input0).to_owned()),
                false => ('+', kind_of(Side::Input1).to_owned()),
            }
        } else {
            if aspects.iter().any(|a| a != Aspect::FileTime) {
                only_times = false;
            }
            let names: Vec<&str> = aspects.iter().map(Aspect::name).collect();
            ('~', names.join(", "))
        };
        rows.push(ArchiveRow {
            status,
            path: escape_control(difference.key()).into_owned(),
            detail,
        });
    }
    let count = |side: Side| {
        bytes
            .get(side)
            .map(|_| format!("{} entries", scanned.get(side).len()))
            .unwrap_or_else(|| "absent".to_owned())
    };
    let differing = rows.len() + omitted;
    let verdict = if differing == 0 {
        "inner entries are identical (the archives differ only in how they are stored)".to_owned()
    } else if only_times {
        format!("{differing} inner entries differ, only in file times")
    } else {
        format!("{differing} inner entries differ")
    };
    Ok(ArchiveBlock {
        summary: format!(
            "nested {} archive: {} → {}; {verdict}",
            formats.join("/"),
            count(Side::Input0),
            count(Side::Input1)
        ),
        rows,
        omitted,
    })
}
