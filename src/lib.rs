//! ocidiff: compare two Docker/OCI container images.
//!
//! The crate is layered so that each part knows only the ones below it:
//! - [`oci`]: the image data model (digests, descriptors, manifests);
//! - [`source`]: where images come from (layouts, archives);
//! - [`codec`]: decompressing gzip, zstd and xz streams;
//! - [`tarball`]: the one tar reader (layers, archives, nested archives), bounded against bombs;
//! - [`model`]: the comparison's results (contexts, differences, aspects, events);
//! - [`engine`]: walks two images and streams [`model::Event`]s;
//! - [`packages`]: package databases (dpkg, apk, rpm, Python, npm): owners, checksums, package changes;
//! - [`filter`]: ignore options, applied when results are presented;
//! - [`explain`]: known causes of non-reproducibility (a rule catalogue) and which explain a difference;
//! - [`text_diff`]: line diffs and syntax highlighting of texts, shared by the explorer and the HTML report;
//! - [`report`]: headless writers (table, JSON, NDJSON, report directory, summary);
//! - [`rules`]: CI rules (`--rules`) evaluated on a comparison's result;
//! - [`report_dir_export`]: writes a report directory for a set of differences (reads layers again);
//! - [`syntax`]: the highlighting the explorer and the HTML report share (syntaxes, the theme);
//! - [`cleanup`]: what a signal must not leave behind (temporary directories, a raw terminal).

pub mod cleanup;
pub mod codec;
pub mod engine;
pub mod explain;
pub mod filter;
pub mod fixture;
pub mod model;
pub mod oci;
pub mod packages;
pub mod report;
pub mod report_dir_export;
pub mod rules;
pub mod source;
pub mod syntax;
pub mod tarball;
pub mod text_diff;
pub mod tui;
