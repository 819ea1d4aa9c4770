//! diffoci's text table (`TYPE NAME INPUT-0 INPUT-1`), laid out exactly as Go's `text/tabwriter` with
//! minwidth 4, padding 4 and spaces: every cell but the last of a line is padded to its column's width,
//! which is the widest cell of the column plus 4.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::Value;
use smallvec::SmallVec;

use crate::filter::Shown;
use crate::model::{
    Context, ContextId, Delta, DiffKind, EntryKind, EntryMeta, Explanation, Report, Severity,
    Sides, escape_control,
};

const HEADER: [&str; 4] = ["TYPE", "NAME", "INPUT-0", "INPUT-1"];
const MIN_WIDTH: usize = 4;
const PADDING: usize = 4;

/// One line of the table, before escaping and alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: &'static str,
    pub name: String,
    pub input0: String,
    pub input1: String,
}

/// Writes one row per shown difference; nothing at all (not even the header) when there is none.
pub fn write_table(out: &mut dyn Write, report: &Report, shown: &[Shown<'_>]) -> io::Result<()> {
    write_detailed_table(out, report, shown, RowDetails::default())
}

/// The rows for the shown differences, in the order given.
pub fn table_rows(report: &Report, shown: &[Shown<'_>]) -> Vec<Row> {
    shown.iter().map(|s| row(report, s)).collect()
}

/// What is written under each row of the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowDetails {
    /// Every field that differs about it, with both values (`--verbose`).
    pub deltas: bool,
    /// What explains it (`--explain`, and `--verbose`).
    pub explanations: bool,
}

/// `--verbose`: the table, each row followed by every field that differs about it with both values,
/// marked `(ignored)` where the filters hide it, then what explains it. (diffoci's `--verbose` prints
/// every event instead.)
pub fn write_verbose_table(
    out: &mut dyn Write,
    report: &Report,
    shown: &[Shown<'_>],
) -> io::Result<()> {
    let details = RowDetails {
        deltas: true,
        explanations: true,
    };
    write_detailed_table(out, report, shown, details)
}

/// The table, each row followed by the details asked for.
pub fn write_detailed_table(
    out: &mut dyn Write,
    report: &Report,
    shown: &[Shown<'_>],
    details: RowDetails,
) -> io::Result<()> {
    if shown.is_empty() {
        return Ok(());
    }
    // Two passes over the rows, the first for the columns' widths: a row is rebuilt rather than kept,
    // so the table costs one row of memory, not one per difference.
    let widths = column_widths(shown.iter().map(|s| row(report, s)));
    write_line(out, &HEADER.map(Cow::Borrowed), widths)?;
    for shown in shown {
        write_line(out, &escaped_cells(&row(report, shown)), widths)?;
        if details.deltas {
            write_deltas(out, shown)?;
        }
        if details.explanations {
            for explanation in &shown.difference.explanations {
                writeln!(
                    out,
                    "    {}",
                    escape_control(&explanation_line(explanation))
                )?;
            }
        }
    }
    Ok(())
}

fn write_deltas(out: &mut dyn Write, shown: &Shown<'_>) -> io::Result<()> {
    for (delta, is_shown) in shown.deltas().marked() {
        let hidden = !is_shown;
        let detail = format!(
            "{}: {} -> {}",
            delta.field,
            plain(&delta.values.input0.to_json()),
            plain(&delta.values.input1.to_json())
        );
        let mark = if hidden { "  (ignored)" } else { "" };
        writeln!(out, "    {}{mark}", escape_control(&detail))?;
    }
    Ok(())
}

/// `= noise [common.var-log] Log files record… (678 changed lines differ only in timestamps)`: `=` for
/// an explanation, `!` for an alert, `·` for a fact.
pub fn explanation_line(explanation: &Explanation) -> String {
    let mark = match explanation.severity {
        Severity::Noise | Severity::Review => "=",
        Severity::Alert => "!",
        Severity::Info => "·",
    };
    let severity = match explanation.severity {
        Severity::Noise => "noise",
        Severity::Review => "explained, review",
        Severity::Alert => "attention",
        Severity::Info => "fact",
    };
    let evidence = explanation
        .evidence
        .as_ref()
        .map_or(String::new(), |e| format!(" ({e})"));
    format!(
        "{mark} {severity} [{}] {}{evidence}",
        explanation.rule, explanation.text
    )
}

/// A row's cells as written: control characters escaped.
fn escaped_cells(row: &Row) -> [Cow<'_, str>; 4] {
    [row.kind, &row.name, &row.input0, &row.input1].map(escape_control)
}

/// Writes one line: each cell but the last padded to its column's width.
fn write_line(
    out: &mut dyn Write,
    cells: &[Cow<'_, str>; 4],
    widths: [usize; 3],
) -> io::Result<()> {
    for (cell, width) in cells.iter().zip(widths) {
        write!(out, "{cell}{:1$}", "", width - cell_width(cell))?;
    }
    writeln!(out, "{}", cells[3])
}

/// Widths of the three padded columns (the last column is never padded), the header's cells included.
fn column_widths(rows: impl Iterator<Item = Row>) -> [usize; 3] {
    let [kind, name, input0, _] = HEADER.map(|cell| MIN_WIDTH.max(cell_width(cell) + PADDING));
    let mut widths = [kind, name, input0];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(escaped_cells(&row).iter()) {
            *width = (*width).max(cell_width(cell) + PADDING);
        }
    }
    widths
}

/// tabwriter counts runes.
fn cell_width(cell: &str) -> usize {
    cell.chars().count()
}

fn row(report: &Report, shown: &Shown<'_>) -> Row {
    let difference = shown.difference;
    let context = report.context(difference.context);
    let kind = difference.kind.label();
    let all = shown.deltas();
    let deltas: SmallVec<[&Delta; 2]> = all.iter().collect();
    let Some(first) = deltas.first() else {
        return Row {
            kind,
            name: context_name(context, false),
            input0: "?".into(),
            input1: "?".into(),
        };
    };
    match difference.kind {
        DiffKind::File => {
            let entries = difference.entries.as_ref();
            let (input0, input1) = file_cells(entries, &deltas);
            Row {
                kind,
                name: member_name(
                    report,
                    difference.context,
                    file_name(entries, difference.key()),
                ),
                input0,
                input1,
            }
        }
        DiffKind::Desc => {
            let (name, input0, input1) = descriptor_cells(context, &deltas);
            Row {
                kind,
                name,
                input0,
                input1,
            }
        }
        DiffKind::Layer => {
            let (input0, input1) = layer_cells(difference.key(), first);
            Row {
                kind,
                name: context_name(context, true),
                input0,
                input1,
            }
        }
        DiffKind::Pkg => {
            let (input0, input1) = field_cells(first);
            Row {
                kind,
                name: difference.key().to_owned(),
                input0,
                input1,
            }
        }
        DiffKind::Idx | DiffKind::Mani | DiffKind::Cfg => {
            let (input0, input1) = field_cells(first);
            Row {
                kind,
                name: context_name(context, false),
                input0,
                input1,
            }
        }
    }
}

/// `ctx:<path>`, with diffoci's `/layer` container suffix for layer rows.
fn context_name(context: Option<&Context>, layer: bool) -> String {
    let path = context.map_or("/", |c| c.path.as_str());
    match (layer, path.ends_with('/')) {
        (false, _) => format!("ctx:{path}"),
        (true, true) => format!("ctx:{path}layer"),
        (true, false) => format!("ctx:{path}/layer"),
    }
}

/// Input 0's name as written in its tar, else input 1's, else the canonical path.
fn file_name(entries: Option<&Sides<Option<EntryMeta>>>, key: &str) -> String {
    entries
        .and_then(|e| e.input0.as_ref().or(e.input1.as_ref()))
        .map_or_else(|| key.to_owned(), |e| e.name().to_string())
}

/// A member of a file compared inside is named under the file: `FILE!/MEMBER`.
fn member_name(report: &Report, context: ContextId, name: String) -> String {
    match report.nested_file_path(context) {
        Some(file) => format!("{file}!/{name}"),
        None => name,
    }
}

fn file_cells(entries: Option<&Sides<Option<EntryMeta>>>, deltas: &[&Delta]) -> (String, String) {
    if let Some(entries) = entries
        && (entries.input0.is_none() || entries.input1.is_none())
    {
        return (
            presence_cell(entries.input0.as_ref()),
            presence_cell(entries.input1.as_ref()),
        );
    }
    let Some(delta) = deltas.iter().min_by_key(|d| file_field_rank(&d.field)) else {
        return ("?".into(), "?".into());
    };
    let entry = |side: Option<&EntryMeta>, value: &Value| match side {
        Some(e) => entry_cell(&delta.field, e),
        None => format!("{} {}", delta.field, plain(value)),
    };
    let (e0, e1) = match entries {
        Some(e) => (e.input0.as_ref(), e.input1.as_ref()),
        None => (None, None),
    };
    (
        entry(e0, &delta.values.input0.to_json()),
        entry(e1, &delta.values.input1.to_json()),
    )
}

/// diffoci prints `?` opposite `missing`; we say what is there instead.
fn presence_cell(entry: Option<&EntryMeta>) -> String {
    match entry {
        None => "missing".into(),
        Some(e) => match (e.kind(), &e.content(), &e.link()) {
            (EntryKind::File, Some(digest), _) => digest.hex(),
            (EntryKind::Symlink | EntryKind::Hardlink, _, Some(link)) => format!("Linkname {link}"),
            (kind, _, _) => format!("Type {}", kind.label()),
        },
    }
}

/// diffoci's order of precedence, then the fields it prints as `?`.
fn file_field_rank(field: &str) -> usize {
    match field {
        "name" => 0,
        "link" => 1,
        "mode" | "mode-type-bits" => 2,
        "uid" => 3,
        "gid" => 4,
        "uname" => 5,
        "gname" => 6,
        "device" => 7,
        "content" => 8,
        "mtime" => 9,
        "atime" => 10,
        "ctime" => 11,
        "index" => 12,
        "format" => 13,
        "kind" => 14,
        "size" => 15,
        f if f.starts_with("xattr:") => 16,
        f if f.starts_with("pax:") => 17,
        _ => 18,
    }
}

fn entry_cell(field: &str, e: &EntryMeta) -> String {
    let optional_time = |label: &str, t: &Option<crate::model::Timestamp>| match t {
        Some(t) => format!("{label} {}", t.go_string()),
        None => format!("{label} none"),
    };
    match field {
        "name" => e.name().to_string(),
        "link" => format!("Linkname {}", e.link().unwrap_or("")),
        "mode" | "mode-type-bits" => format!("Mode 0x{:x}", e.mode()),
        "uid" => format!("Uid {}", e.owner().uid),
        "gid" => format!("Gid {}", e.owner().gid),
        "uname" => format!("Uname {}", e.owner().uname),
        "gname" => format!("Gname {}", e.owner().gname),
        "device" => {
            let (major, minor) = e.extras().device.unwrap_or((0, 0));
            format!("Dev {major}:{minor}")
        }
        "content" => e
            .content()
            .as_ref()
            .map_or_else(|| "none".into(), |d| d.hex()),
        "mtime" => e.mtime().go_string(),
        "atime" => optional_time("Atime", &e.extras().atime),
        "ctime" => optional_time("Ctime", &e.extras().ctime),
        "index" => format!("Index {}", e.index()),
        "format" => format!("Format {}", e.format().go_label()),
        "kind" => format!("Type {}", e.kind().label()),
        "size" => format!("Size {}", e.size()),
        _ => record_cell(field, e),
    }
}

/// `Xattr key=value` / `Pax key=value`, `(none)` where the entry lacks the record.
fn record_cell(field: &str, e: &EntryMeta) -> String {
    let (label, key, records) = if let Some(key) = field.strip_prefix("xattr:") {
        ("Xattr", key, &e.extras().xattrs)
    } else if let Some(key) = field.strip_prefix("pax:") {
        ("Pax", key, &e.extras().pax)
    } else {
        return "?".into();
    };
    match records.get(key) {
        Some(value) => format!("{label} {key}={value}"),
        None => format!("{label} {key} (none)"),
    }
}

/// NAME is the media type; the cells show media types if they differ, else digests, else the first
/// shown field.
fn descriptor_cells(context: Option<&Context>, deltas: &[&Delta]) -> (String, String, String) {
    let descriptors = context.map(|c| &c.descriptors);
    let media_type_delta = deltas.iter().find(|d| d.field == "mediaType");
    let name = descriptors
        .and_then(|d| d.input0.as_ref().or(d.input1.as_ref()))
        .map(|d| d.media_type.clone())
        .or_else(|| media_type_delta.map(|d| first_present(&d.values)))
        .unwrap_or_else(|| "?".into());
    if let Some(d) = descriptors
        && (d.input0.is_none() != d.input1.is_none())
    {
        let cell = |side: &Option<crate::oci::Descriptor>| {
            side.as_ref()
                .map_or_else(|| "missing".into(), |d| d.digest.hex())
        };
        return (name, cell(&d.input0), cell(&d.input1));
    }
    if let Some(delta) = media_type_delta {
        return (
            name,
            plain(&delta.values.input0.to_json()),
            plain(&delta.values.input1.to_json()),
        );
    }
    if let Some(delta) = deltas.iter().find(|d| d.field == "digest") {
        let hex = |v: &Value| plain(v).trim_start_matches("sha256:").to_owned();
        return (
            name,
            hex(&delta.values.input0.to_json()),
            hex(&delta.values.input1.to_json()),
        );
    }
    let Some(delta) = deltas.first() else {
        return (name, "?".into(), "?".into());
    };
    let cell = |v: &Value| format!("{} {}", delta.field, plain(v));
    (
        name,
        cell(&delta.values.input0.to_json()),
        cell(&delta.values.input1.to_json()),
    )
}

fn first_present(values: &Sides<crate::model::DeltaValue>) -> String {
    if values.input0.is_null() {
        plain(&values.input1.to_json())
    } else {
        plain(&values.input0.to_json())
    }
}

/// diffoci's layer notes: entry-count and name-count mismatches, in INPUT-0 with INPUT-1 empty.
fn layer_cells(key: &str, delta: &Delta) -> (String, String) {
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let (a, b) = (
        count(&delta.values.input0.to_json()),
        count(&delta.values.input1.to_json()),
    );
    let note = match &*delta.field {
        "entries" => format!("length mismatch ({a} vs {b})"),
        "count" if b == 0 => format!("name {key:?} only appears in input 0"),
        "count" if a == 0 => format!("name {key:?} only appears in input 1"),
        "count" => format!("name {key:?} appears {a} times in input 0, {b} times in input 1"),
        _ => return field_cells(delta),
    };
    (note, String::new())
}

/// `field: value` on each side.
fn field_cells(delta: &Delta) -> (String, String) {
    let cell = |v: &Value| format!("{}: {}", delta.field, plain(v));
    (
        cell(&delta.values.input0.to_json()),
        cell(&delta.values.input1.to_json()),
    )
}

/// Strings unquoted, absent values as `missing`, anything else as compact JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => "missing".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
