//! Exit codes: 0 no difference under the active filters, 1 differences, 2 errors (also over
//! differences); `--help` and `--version` succeed.

mod common;

use common::{run, simple_image, write_layout};
use ocidiff::fixture::{Fault, ImageBuilder, LayerBuilder, LayerCompression};
use tempfile::TempDir;

/// One layer with `etc/hostname`, its mtime set.
fn image_with_mtime(mtime: u64) -> ImageBuilder {
    ImageBuilder::new().layer(
        LayerBuilder::new()
            .file("etc/hostname", "box\n")
            .mtime(mtime)
            .build(),
        LayerCompression::Gzip,
    )
}

#[test]
fn equal_images_exit_0() {
    let dir = TempDir::new().unwrap();
    let a = write_layout(dir.path(), "a", &simple_image("same\n"));
    let b = write_layout(dir.path(), "b", &simple_image("same\n"));
    for format in ["table", "json", "ndjson"] {
        run(["--format", format, &a, &b])
            .expect_code(0)
            .assert_sane();
    }
    run([&a, &a]).expect_code(0);
}

#[test]
fn different_images_exit_1() {
    let dir = TempDir::new().unwrap();
    let a = write_layout(dir.path(), "a", &simple_image("one\n"));
    let b = write_layout(dir.path(), "b", &simple_image("two\n"));
    for format in ["table", "json", "ndjson"] {
        let out = run(["--format", format, &a, &b]);
        out.expect_code(1).assert_sane();
        assert!(!out.stdout.is_empty(), "{format}");
    }
}

/// The exit code follows the filters: differences that are all hidden mean 0.
#[test]
fn hidden_differences_exit_0() {
    let dir = TempDir::new().unwrap();
    let a = write_layout(dir.path(), "a", &image_with_mtime(1_700_000_000));
    let b = write_layout(dir.path(), "b", &image_with_mtime(1_700_000_001));
    run([&a, &b]).expect_code(1);
    let out = run(["--ignore-file-timestamps", &a, &b]);
    out.expect_code(0);
    assert!(out.stdout.is_empty(), "{}", out.stdout());
    run(["--semantic", &a, &b]).expect_code(0);
    // Turned back off under --semantic.
    run(["--semantic", "--ignore-file-timestamps=false", &a, &b]).expect_code(1);
    run(["--ignore-path", "etc/**", &a, &b]).expect_code(0);
}

#[test]
fn errors_exit_2_even_with_differences() {
    let dir = TempDir::new().unwrap();
    let a = write_layout(dir.path(), "a", &simple_image("one\n"));
    let b = write_layout(
        dir.path(),
        "b",
        &simple_image("two\n").fault(Fault::OmitLayer(0)),
    );
    let out = run([&a, &b]);
    out.expect_code(2).assert_sane();
    assert!(
        out.stdout().contains("Desc "),
        "the differences found are printed"
    );
    let missing = dir.path().join("missing").display().to_string();
    run([&a, &missing]).expect_code(2);
    run(["--ignore-file", &missing, &a, &a]).expect_code(2);
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "-h"] {
        let out = run([flag]);
        out.expect_code(0);
        let text = out.stdout();
        assert!(text.contains("Usage:"), "{text}");
        assert!(text.contains("Exit status: 0"), "{text}");
        assert!(text.contains("--report-dir"), "{text}");
    }
    for flag in ["--version", "-V"] {
        let out = run([flag]);
        out.expect_code(0);
        assert_eq!(
            out.stdout().trim(),
            format!("ocidiff-tui {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let out = run(["make-example", "--help"]);
    out.expect_code(0);
    assert!(out.stdout().contains("DIR"));
}

#[test]
fn usage_errors_exit_2() {
    let out = run::<[&str; 0], &str>([]);
    out.expect_code(2);
    assert!(out.stderr().contains("Usage"), "{}", out.stderr());
    run(["a", "b", "c"]).expect_code(2);
    run(["--jobs", "many", "a", "b"]).expect_code(2);
    run(["--view", "sideways", "a", "b"]).expect_code(2);
}
