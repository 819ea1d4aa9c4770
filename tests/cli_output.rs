//! Output formats end to end: golden table and JSON for `make-example`'s pair (strict and `--semantic`),
//! NDJSON framing, `--report-file`, empty output for equal images, and hostile names escaped.

mod common;

use std::path::Path;

use common::{Run, make_example, path_string, run, run_command, run_in, walk, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};
use tempfile::TempDir;

/// Compares `make-example`'s `a` and `b` from inside `dir`, so that the inputs are named `a` and `b`
/// in the report (no temporary paths in the snapshots).
fn compare_example(dir: &Path, extra: &[&str]) -> Run {
    let mut args = extra.to_vec();
    args.extend(["a", "b"]);
    let out = run_in(Some(dir), &args);
    out.expect_code(1).assert_sane();
    assert!(out.error_lines().is_empty(), "{}", out.stderr());
    out
}

#[test]
fn make_example_is_deterministic() {
    let first = TempDir::new().unwrap();
    let second = TempDir::new().unwrap();
    make_example(first.path());
    make_example(second.path());
    let files = walk(first.path());
    assert_eq!(files, walk(second.path()));
    assert!(files.iter().any(|f| f.starts_with("a/blobs/sha256")));
    for file in files {
        let (x, y) = (first.path().join(&file), second.path().join(&file));
        if x.is_file() {
            assert_eq!(
                std::fs::read(&x).unwrap(),
                std::fs::read(&y).unwrap(),
                "{}",
                file.display()
            );
        }
    }
    // And so is the report.
    for extra in [&[][..], &["--format", "json"], &["--semantic"]] {
        assert_eq!(
            compare_example(first.path(), extra).stdout,
            compare_example(second.path(), extra).stdout,
            "{extra:?}"
        );
    }
}

#[test]
fn table_of_the_example_pair() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let strict = compare_example(dir.path(), &[]);
    insta::assert_snapshot!("example_table_strict", strict.stdout());
    // The summary counts what the verdict counts, and says what the table's other rows are.
    assert_eq!(
        strict.stderr().lines().collect::<Vec<_>>(),
        [
            "14 differences (file-time 12, content 2, presence 1, image-time 1, config 1); 4 digest \
             rows and 1 entry-count row follow from them",
            "verdict: 14 differences: 14 unexplained",
        ],
        "summary on stderr"
    );
    let semantic = compare_example(dir.path(), &["--semantic"]);
    assert!(
        semantic.stderr().starts_with(
            "4 differences (content 2, presence 1, config 1); 3 digest rows and 1 entry-count row \
             follow from them; hidden: --ignore-file-timestamps 10\nverdict: 4 differences:"
        ),
        "{}",
        semantic.stderr()
    );
    insta::assert_snapshot!("example_table_semantic", semantic.stdout());
    assert!(
        semantic
            .stderr()
            .contains("hidden: --ignore-file-timestamps"),
        "{}",
        semantic.stderr()
    );
    // Explicit `--format table` is the default.
    let explicit = compare_example(dir.path(), &["--format", "table", "--semantic"]);
    assert_eq!(explicit.stdout, semantic.stdout);
    // `--quiet` drops the summary, not the table.
    let quiet = compare_example(dir.path(), &["--quiet"]);
    assert_eq!(quiet.stdout, strict.stdout);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr());
}

#[test]
fn json_of_the_example_pair() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    for (name, extra) in [
        ("example_json_strict", &["--format", "json"][..]),
        ("example_json_semantic", &["--format", "json", "--semantic"]),
    ] {
        let out = compare_example(dir.path(), extra);
        assert!(out.stdout.ends_with(b"}\n"), "one document and a newline");
        let report = out.json();
        assert_eq!(report["ocidiffReport"], 2);
        assert_eq!(report["inputs"], serde_json::json!(["a", "b"]));
        assert_eq!(report["summary"]["finished"], true);
        insta::assert_json_snapshot!(name, report);
    }
}

#[test]
fn ndjson_is_one_event_object_per_line_ending_with_finished() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let out = compare_example(dir.path(), &["--format", "ndjson"]);
    let text = out.stdout();
    assert!(text.ends_with('\n'));
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON value ({e}): {line}"));
            assert!(value.is_object(), "{line}");
            assert!(value["event"].is_string(), "an event field: {line}");
            value
        })
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"finished"));
    assert_eq!(kinds.iter().filter(|k| **k == "finished").count(), 1);
    assert!(
        kinds.contains(&"context") && kinds.contains(&"difference"),
        "{kinds:?}"
    );
    // NDJSON is unfiltered (both views): it streams every difference the JSON report lists.
    let json = compare_example(dir.path(), &["--format", "json"]).json();
    let id = |d: &serde_json::Value| (d["context"].clone(), d["kind"].clone(), d["key"].clone());
    let streamed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "difference")
        .map(id)
        .collect();
    let listed = json["differences"].as_array().unwrap();
    assert!(!listed.is_empty());
    for difference in listed {
        assert!(streamed.contains(&id(difference)), "{difference:#}");
    }
}

#[test]
fn equal_images_print_nothing_and_exit_0() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let out = run_in(Some(dir.path()), ["a", "a"]);
    out.expect_code(0).assert_sane();
    assert!(
        out.stdout.is_empty(),
        "not even a header: {:?}",
        out.stdout()
    );
    assert_eq!(out.stderr().trim(), "no differences");
    // Two copies of the same image, not the same path.
    let copy = TempDir::new().unwrap();
    make_example(copy.path());
    let a = path_string(&dir.path().join("a"));
    let a_again = path_string(&copy.path().join("a"));
    let out = run([&a, &a_again]);
    out.expect_code(0);
    assert!(out.stdout.is_empty());
}

#[test]
fn report_file_holds_the_json_report() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let file = dir.path().join("out.json");
    for extra in [&[][..], &["--semantic"]] {
        let mut args = vec!["--report-file", "out.json"];
        args.extend_from_slice(extra);
        let table = compare_example(dir.path(), &args);
        assert!(
            table.stdout().starts_with("TYPE "),
            "the table still goes to stdout"
        );
        let written = std::fs::read(&file).unwrap();
        let mut json_args = vec!["--format", "json"];
        json_args.extend_from_slice(extra);
        let json = compare_example(dir.path(), &json_args);
        let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed, json.json(), "{extra:?}");
        assert_eq!(
            written.trim_ascii_end(),
            json.stdout.trim_ascii_end(),
            "byte for byte"
        );
    }
}

/// Names with an escape sequence, a bell, a carriage return, a newline and invalid UTF-8.
fn hostile_names_image(content: &str) -> ImageBuilder {
    let mut layer = LayerBuilder::new();
    for name in [
        &b"evil\x1b[2Jname"[..],
        b"bell\x07",
        b"cr\rname",
        b"nl\nname",
        b"bad\xffutf8",
        b"csi\xc2\x9b31m",
    ] {
        layer = layer.file(name, content);
    }
    ImageBuilder::new().layer(layer.build(), LayerCompression::Gzip)
}

/// No control character but the line feeds (C0, DEL and C1 with `c1`).
fn assert_no_controls(bytes: &[u8], what: &str) {
    assert_no_controls_but_c1_if(bytes, what, false);
}

fn assert_no_controls_but_c1_if(bytes: &[u8], what: &str, c1_allowed: bool) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .filter(|c| !(c1_allowed && ('\u{7f}'..='\u{9f}').contains(c)))
        .collect();
    assert!(
        bad.is_empty(),
        "{what} has raw control characters {bad:?}:\n{text:?}"
    );
}

#[test]
fn control_characters_in_names_are_escaped() {
    let dir = TempDir::new().unwrap();
    let a = write_layout(dir.path(), "a", &hostile_names_image("zero\n"));
    let b = write_layout(dir.path(), "b", &hostile_names_image("one\n"));

    let table = run([&a, &b]);
    table.expect_code(1).assert_sane();
    assert_no_controls(&table.stdout, "table");
    assert_no_controls(&table.stderr, "stderr");
    let text = table.stdout();
    for shown in [
        "evil\\u{1b}[2Jname",
        "bell\\u{7}",
        "cr\\rname",
        "nl\\nname",
        "bad\\xffutf8",
        "csi\\u{9b}31m",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("File ") && l.contains(shown)),
            "{shown} in the table:\n{text}"
        );
    }
    // Six file rows plus header, descriptor and config rows: one line per row, none split by `\n`.
    let file_rows = text.lines().filter(|l| l.starts_with("File ")).count();
    assert_eq!(file_rows, 6, "{text}");

    let json = run(["--format", "json", &a, &b]);
    json.expect_code(1).assert_sane();
    // JSON escapes C0 controls; DEL and C1 are left to consumers (see JSON-FORMAT.md).
    assert_no_controls_but_c1_if(&json.stdout, "JSON text", true);
    let report = json.json();
    let keys: Vec<&str> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "File")
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    for key in [
        "evil\u{1b}[2Jname",
        "bell\u{7}",
        "cr\rname",
        "nl\nname",
        "bad\\xffutf8",
        "csi\u{9b}31m",
    ] {
        assert!(keys.contains(&key), "{key:?} in {keys:?}");
    }

    let ndjson = run(["--format", "ndjson", &a, &b]);
    ndjson.expect_code(1).assert_sane();
    assert_no_controls_but_c1_if(&ndjson.stdout, "NDJSON text", true);
    for line in ndjson.stdout().lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("one event per line");
        assert!(event["event"].is_string(), "{line}");
    }
}

/// An error message naming a hostile entry is escaped on stderr too.
#[test]
fn hostile_name_in_an_error_is_escaped_on_stderr() {
    let dir = TempDir::new().unwrap();
    let good = ImageBuilder::new().layer(
        LayerBuilder::new().file("x", "x").build(),
        LayerCompression::Gzip,
    );
    let bad = ImageBuilder::new().layer(
        LayerBuilder::new()
            .file(b"evil\x1b]0;pwned\x07\x1b[2J", "y".repeat(4000))
            .truncated_to(1500)
            .build(),
        LayerCompression::Gzip,
    );
    let a = write_layout(dir.path(), "a", &good);
    let b = write_layout(dir.path(), "b", &bad);
    let out = run([&a, &b]);
    out.expect_code(2).assert_sane();
    assert_no_controls(&out.stderr, "stderr");
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr());
    assert!(errors[0].contains("evil"), "names the entry: {}", errors[0]);
}

#[test]
fn verbose_rows_are_followed_by_every_differing_field() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let plain = compare_example(dir.path(), &["--semantic"]);
    let verbose = compare_example(dir.path(), &["--semantic", "--verbose"]);
    insta::assert_snapshot!("example_table_semantic_verbose", verbose.stdout());
    let text = verbose.stdout();
    let (rows, details): (Vec<&str>, Vec<&str>) =
        text.lines().partition(|l| !l.starts_with("    "));
    // The rows are the plain table's, unchanged.
    assert_eq!(rows.join("\n") + "\n", plain.stdout());
    // The changed binary's mtime differs too, but --semantic hides it: listed and marked.
    assert!(
        details
            .iter()
            .any(|l| l.starts_with("    mtime: ") && l.ends_with("  (ignored)")),
        "{text}"
    );
    assert!(
        details
            .iter()
            .any(|l| l.starts_with("    content: sha256:")),
        "{text}"
    );
}

#[test]
fn debug_logs_the_steps_on_stderr_and_changes_nothing_else() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let plain = compare_example(dir.path(), &[]);
    let debug_lines = |run: &Run| -> Vec<String> {
        run.stderr()
            .lines()
            .filter(|l| l.starts_with("ocidiff-tui: debug: ["))
            .map(str::to_owned)
            .collect()
    };
    let flag = run_in(Some(dir.path()), ["--debug", "a", "b"]);
    flag.expect_code(1);
    assert_eq!(flag.stdout, plain.stdout);
    let lines = debug_lines(&flag);
    for expected in [
        "input 0 (a): application/vnd.oci.image.manifest.v1+json sha256:",
        "/layers-0: read and compared (7 entries | 7 entries)",
        "/layers-1: read and compared (5 entries | 6 entries)",
        "comparison finished",
        "19 differences, 19 shown",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(expected)),
            "{expected:?} not in\n{}",
            lines.join("\n")
        );
    }
    // As diffoci, $DEBUG turns it on when Go would parse it as true.
    let output = |value: &str| {
        run_command(
            common::bin()
                .current_dir(dir.path())
                .env("DEBUG", value)
                .args(["a", "b"]),
        )
    };
    assert_eq!(debug_lines(&output("1")).len(), lines.len());
    assert!(debug_lines(&output("0")).is_empty());
    assert!(debug_lines(&plain).is_empty());
}

/// The summary and the verdict answer one question with one number, in every output: the stderr
/// line, the JSON `summary` and `verdict`, the Markdown and the HTML report.
#[test]
fn every_output_counts_differences_as_the_verdict_does() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let table = compare_example(dir.path(), &[]);
    let summary = table.stderr().lines().next().unwrap_or_default().to_owned();
    assert!(
        summary.starts_with("14 differences") && summary.contains("4 digest rows"),
        "{summary}"
    );
    let json = compare_example(dir.path(), &["--format", "json"]).json();
    assert_eq!(json["summary"]["differences"], 14);
    assert_eq!(json["verdict"]["differences"], 14);
    assert_eq!(json["summary"]["rows"], 19, "the table's rows");
    assert_eq!(
        json["summary"]["restatingRows"],
        serde_json::json!({"digest": 4, "entry-count": 1})
    );
    let markdown = compare_example(dir.path(), &["--format", "markdown"]);
    assert!(
        markdown.stdout().contains(&format!("\n{summary}\n")),
        "{}",
        markdown.stdout()
    );
    let html = compare_example(dir.path(), &["--format", "html"]);
    assert!(
        html.stdout()
            .contains(&format!("<p id=\"summary\">{summary}</p>")),
        "the HTML page's summary"
    );
}

/// `ocidiff-tui --format json … | head` is not an error: a reader that goes away early ends the
/// report, not the run (the exit status still says the images differ).
#[test]
fn a_json_reader_that_goes_away_is_not_an_error() {
    let dir = TempDir::new().unwrap();
    make_example(dir.path());
    let mut child = common::bin()
        .current_dir(dir.path())
        .args(["--format", "json", "a", "b"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before anything is written: the first write meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
