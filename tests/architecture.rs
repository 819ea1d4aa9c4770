//! The crate's layering, checked: the comparison (engine), its result model, the image sources, the tar
//! reader and the noise catalogue know nothing of the explorer, the report writers or the command line.

use std::path::{Path, PathBuf};

/// Rooms that must stay below the presentation layers.
const LOWER: [&str; 5] = [
    "src/engine",
    "src/model",
    "src/source",
    "src/tarball",
    "src/explain",
];

/// What a lower room may not name: the presentation modules and the terminal crates.
const FORBIDDEN: [&str; 8] = [
    "crate::tui",
    "crate::report",
    "crate::cli",
    "crate::export",
    "ocidiff::",
    "ratatui",
    "crossterm",
    "syntect",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// Each line of the sources under `room` that names one of `forbidden`, as `file:line: name`.
fn offences(room: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join(room));
    assert!(!files.is_empty(), "{room} has no sources: moved?");
    let mut offences = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for name in forbidden {
                if code.contains(name) {
                    offences.push(format!("{}:{}: {name}", file.display(), number + 1));
                }
            }
        }
    }
    offences
}

#[test]
fn engine_model_and_sources_do_not_reach_up() {
    let offences: Vec<String> = LOWER
        .iter()
        .flat_map(|room| offences(room, &FORBIDDEN))
        .collect();
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// What the explorer and the report writers share (the text diff and its highlighting) names neither.
#[test]
fn shared_presentation_helpers_do_not_reach_into_the_explorer_or_the_writers() {
    let forbidden = [
        "crate::tui",
        "crate::report",
        "crate::cli",
        "ratatui",
        "crossterm",
    ];
    let offences = offences("src/text_diff", &forbidden);
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// The check itself sees an offence (so it cannot pass by reading nothing).
#[test]
fn the_check_finds_what_it_looks_for() {
    let line = "use crate::report::json_report; // not allowed below";
    let code = line.split("//").next().unwrap_or("");
    assert!(FORBIDDEN.iter().any(|name| code.contains(name)));
}
