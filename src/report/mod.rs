//! Headless report writers: diffoci's text table, a versioned JSON document, an NDJSON event stream, a
//! self-contained HTML page, a Markdown summary, a one-line summary for stderr and the `--report-dir`
//! directory writer.

mod dir;
mod html;
mod json;
mod markdown;
mod ndjson;
mod summary;
mod table;

use std::io;
use std::path::PathBuf;

pub use dir::{
    Cause, EntryRef, Finished, NonEmpty, NotWritten, Notes, Renamed, ReportDir, WriteLimits,
    Written,
};
pub use html::{Contents, MAX_HTML_FILES, write_html};
pub use json::{JSON_FORMAT_VERSION, JsonReport, write_json};
pub use markdown::{DEFAULT_MARKDOWN_ROWS, write_markdown};
pub use ndjson::NdjsonWriter;
pub use summary::Summary;
pub use table::{
    Row, RowDetails, explanation_line, table_rows, write_detailed_table, write_table,
    write_verbose_table,
};

/// The output format of the headless mode (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// diffoci's table: `TYPE NAME INPUT-0 INPUT-1`.
    #[default]
    Table,
    /// One JSON document with every difference of the view and its filter state.
    Json,
    /// One event per line, as the comparison streams.
    Ndjson,
    /// One self-contained HTML page: verdict, summary, the comparison tree as collapsible sections.
    Html,
    /// A short Markdown report for merge requests and $GITHUB_STEP_SUMMARY.
    Markdown,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file-system operation on the report directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An entry from an image that cannot be written safely; `name` is already escaped for printing.
    #[error("refusing to write entry {name}: {reason}")]
    UnsafeEntry { name: String, reason: String },
    /// The report directory already holds something, and the caller did not say to overwrite it.
    #[error("{}: the directory is not empty", path.display())]
    NotEmpty { path: PathBuf },
    /// Writing to an output stream failed.
    #[error("writing report: {0}")]
    Write(#[from] io::Error),
    #[error("encoding JSON report: {0}")]
    Json(#[from] serde_json::Error),
}

/// A size for people: `512 B`, `6.7 KiB`, `64.0 MiB`, `1.0 GiB`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

impl ReportError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ReportError {
        let path = path.into();
        move |source| ReportError::Io { path, source }
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn formats_parse_from_their_command_line_names() {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(names, ["table", "json", "ndjson", "html", "markdown"]);
        assert_eq!(Format::from_str("ndjson", false), Ok(Format::Ndjson));
        assert_eq!(Format::default(), Format::Table);
    }

    #[test]
    fn unsafe_entry_errors_name_the_entry() {
        let e = ReportError::UnsafeEntry {
            name: "\"a/passwd\"".into(),
            reason: "r".into(),
        };
        assert_eq!(e.to_string(), "refusing to write entry \"a/passwd\": r");
    }
}
