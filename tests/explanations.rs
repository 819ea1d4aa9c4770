//! Explanations end to end (issue 10): the real binary on image pairs made by test code, read through
//! `--format json` and the table. Nested archives and compressed files, package databases (apk, dpkg,
//! rpm written by the real `rpm`, Python), files modified after install, the nesting limits, and the
//! flags that drive explanations and the verdict.

mod rpm_support;
mod support;

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression, gzip};
use serde_json::Value;
use support::{Report, compare, path_str, run, run_command_within, run_json};

/// The md5 dpkg records for `bytes`.
fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(bytes))
}

// ---------------------------------------------------------------------------- helpers

/// One image of one gzip layer.
fn image(layer: &LayerBuilder) -> ImageBuilder {
    ImageBuilder::new().layer(layer.build(), LayerCompression::Gzip)
}

/// Writes the two layers as images `a` and `b` under `dir`.
fn pair(dir: &Path, a: &LayerBuilder, b: &LayerBuilder) -> (String, String) {
    let write = |name: &str, layer: &LayerBuilder| {
        let path = dir.join(name);
        image(layer)
            .write_oci_layout(&path, None)
            .expect("write layout");
        path_str(&path)
    };
    (write("a", a), write("b", b))
}

fn differences(report: &Report) -> &[Value] {
    report.0["differences"].as_array().expect("differences")
}

/// The top-level `File` difference of `key` (not one inside a nested file).
fn file<'r>(report: &'r Report, key: &str) -> &'r Value {
    differences(report)
        .iter()
        .find(|d| {
            d["kind"] == "File"
                && d["key"] == key
                && !d["contextPath"].as_str().unwrap_or_default().contains('!')
        })
        .unwrap_or_else(|| panic!("no difference {key}: {}", report.0["differences"]))
}

/// A difference inside a file: key, fields, aspects.
type InnerRow = (String, Vec<String>, Vec<String>);

/// The differences inside a file's nested context.
fn inner_rows(report: &Report, parent: &Value) -> Vec<InnerRow> {
    let context = parent["nested"]
        .as_u64()
        .unwrap_or_else(|| panic!("{} has no nested context: {parent}", parent["key"]));
    let strings = |v: &Value, name: &str| -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| {
                x[name]
                    .as_str()
                    .or(x.as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    differences(report)
        .iter()
        .filter(|d| d["context"].as_u64() == Some(context))
        .map(|d| {
            (
                d["key"].as_str().unwrap_or_default().to_owned(),
                strings(&d["deltas"], "field"),
                strings(&d["aspects"], ""),
            )
        })
        .collect()
}

/// The rules of a difference's explanations.
fn rules(difference: &Value) -> Vec<String> {
    difference["explanations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["rule"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The explanation of `rule` on a difference.
fn explanation<'d>(difference: &'d Value, rule: &str) -> &'d Value {
    difference["explanations"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["rule"] == rule))
        .unwrap_or_else(|| panic!("no {rule} explanation: {difference}"))
}

/// What `--semantic` hid is counted under `--ignore-file-timestamps` and under no other option.
fn assert_hidden_by_file_timestamps_only(report: &Report) {
    let by_option = report.hidden_by_option();
    assert!(
        by_option
            .get("ignore-file-timestamps")
            .is_some_and(|n| *n > 0),
        "{by_option:?}"
    );
    assert!(
        by_option
            .iter()
            .all(|(option, n)| option == "ignore-file-timestamps" || *n == 0),
        "{by_option:?}"
    );
}

fn verdict(report: &Report) -> &Value {
    &report.0["verdict"]
}

fn warnings(report: &Report) -> Vec<String> {
    report.0["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Runs the table output with `flags`.
fn table(flags: &[&str], a: &str, b: &str) -> support::Run {
    let mut args: Vec<&str> = flags.to_vec();
    args.extend([a, b]);
    run(&args)
}

/// A gzip stream whose header records `mtime`.
fn gzip_at(mtime: u32, payload: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(payload).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

/// A zip (jar) of deflated members, every one with the DOS time `(y, mo, d, h, mi, s)`.
fn jar(members: &[(&str, &[u8])], (y, mo, d, h, mi, s): (u16, u8, u8, u8, u8, u8)) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let time = zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).expect("a DOS time");
    for (name, content) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(time)
            .unix_permissions(0o644);
        writer.start_file(*name, options).expect("zip member");
        writer.write_all(content).expect("zip member");
    }
    writer.finish().expect("zip").into_inner()
}

/// A CPython 3.11 .pyc: magic, flags 0 (timestamp-based), source mtime and size, then `code`.
fn pyc(source_mtime: u32, code: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0xa7, 0x0d, b'\r', b'\n'];
    bytes.extend(0u32.to_le_bytes());
    bytes.extend(source_mtime.to_le_bytes());
    bytes.extend(120u32.to_le_bytes());
    bytes.extend(code);
    bytes
}

// ---------------------------------------------------------------------------- apk

const APK_INSTALLED: &str = "C:Q1abcdefghijklmnopqrstuvwxyz0=\nP:busybox\nV:1.36.1-r5\nA:x86_64\n\
    o:busybox\nF:bin\nR:busybox\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n";

/// An Alpine-like image whose `scripts.tar` holds the install scripts with times `mtime`.
fn alpine(scripts_mtime: u64) -> LayerBuilder {
    let scripts = LayerBuilder::new()
        .file(
            "busybox-1.36.1-r5.Q1abc.post-install",
            "#!/bin/sh\nexit 0\n",
        )
        .mtime(scripts_mtime)
        .file("busybox-1.36.1-r5.Q1abc.trigger", "#!/bin/sh\n")
        .mtime(scripts_mtime)
        .build();
    LayerBuilder::new()
        .dir("lib/")
        .dir("lib/apk/")
        .dir("lib/apk/db/")
        .file("lib/apk/db/installed", APK_INSTALLED)
        .file("lib/apk/db/scripts.tar", scripts)
}

#[test]
fn apk_scripts_tar_differing_in_inner_times_is_hidden_by_semantic_and_shown_strict_with_its_members()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &alpine(1_700_000_000), &alpine(1_750_000_000));

    let (code, semantic) = compare(&["--semantic"], &a, &b);
    assert_eq!(semantic.shown_count(), 0, "{}", semantic.0["differences"]);
    assert_eq!(code, 0, "nothing shown: equal under --semantic");
    assert_hidden_by_file_timestamps_only(&semantic);
    let scripts = file(&semantic, "lib/apk/db/scripts.tar");
    assert_eq!(scripts["shown"], false);
    assert!(rules(scripts).contains(&"alpine.apk-scripts".to_owned()));

    let (code, strict) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    let scripts = file(&strict, "lib/apk/db/scripts.tar");
    assert_eq!(scripts["shown"], true);
    let inner = inner_rows(&strict, scripts);
    let keys: Vec<&str> = inner.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "busybox-1.36.1-r5.Q1abc.post-install",
            "busybox-1.36.1-r5.Q1abc.trigger"
        ]
    );
    assert!(
        inner
            .iter()
            .all(|(_, _, aspects)| aspects == &["file-time"]),
        "{inner:?}"
    );
    let context = strict.0["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .find(|c| c["id"] == scripts["nested"])
        .expect("the nested context");
    assert_eq!(context["kind"]["type"], "nested");
    assert_eq!(context["kind"]["format"], "tar");
    assert_eq!(context["kind"]["file"], "lib/apk/db/scripts.tar");

    // the table names each member under its file and lists it right after the file's row
    let names = [
        "lib/apk/db/scripts.tar",
        "lib/apk/db/scripts.tar!/busybox-1.36.1-r5.Q1abc.post-install",
        "lib/apk/db/scripts.tar!/busybox-1.36.1-r5.Q1abc.trigger",
    ];
    let strict_table = table(&[], &a, &b);
    assert_eq!(file_row_names(&strict_table.stdout), names);
    let verbose = table(&["--verbose"], &a, &b);
    assert_eq!(verbose.code, 1, "{}", verbose.stderr);
    assert_eq!(file_row_names(&verbose.stdout), names);
}

#[test]
fn a_file_whose_inside_is_all_hidden_counts_once_in_every_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &alpine(1_700_000_000), &alpine(1_750_000_000));
    // scripts.tar, its two members and the digests restating them are one hidden difference
    let (_, semantic) = compare(&["--semantic"], &a, &b);
    let hidden = semantic.hidden_by_option();
    assert_eq!(hidden.get("ignore-file-timestamps"), Some(&1), "{hidden:?}");
    assert_eq!(hidden.values().sum::<u64>(), 1, "{hidden:?}");
    let out = table(&["--semantic"], &a, &b);
    assert!(
        out.stderr.contains("hidden: --ignore-file-timestamps 1\n"),
        "{}",
        out.stderr
    );
    let markdown = table(&["--semantic", "--format", "markdown"], &a, &b);
    assert!(
        markdown.stdout.contains("| --ignore-file-timestamps | 1 |"),
        "{}",
        markdown.stdout
    );
    let html = table(&["--semantic", "--format", "html"], &a, &b);
    assert!(
        html.stdout
            .contains("<tr><th>--ignore-file-timestamps</th><td>1</td></tr>"),
        "{}",
        html.stdout
    );

    // an ignored path hides the file with its inside, and counts it once
    let (_, ignored) = compare(&["--ignore-path", "lib/apk/db/scripts.tar"], &a, &b);
    assert_eq!(ignored.hidden_by_path(), 1, "{}", ignored.0["hidden"]);
    assert!(
        !differences(&ignored)
            .iter()
            .any(|d| d["shown"] == true
                && d["contextPath"].as_str().unwrap_or_default().contains('!')),
        "no member is shown without its file: {}",
        ignored.0["differences"]
    );
}

/// The NAME of each `File` row of a table, in order (rows of `--verbose` and `--explain` included,
/// their indented detail lines not).
fn file_row_names(table: &str) -> Vec<String> {
    table
        .lines()
        .filter_map(|line| line.strip_prefix("File "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn members_are_named_under_their_file_and_listed_right_after_it_depth_first() {
    let app = |class: &[u8]| {
        jar(
            &[
                ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
                ("com/example/App.class", class),
            ],
            (2024, 1, 2, 3, 4, 6),
        )
    };
    let bundle = |class: &[u8], note: &str| {
        LayerBuilder::new()
            .file("lib/app.jar", app(class))
            .file("z.txt", note)
            .build()
    };
    let side = |class: &[u8], note: &str, config: &str| {
        LayerBuilder::new()
            .dir("srv/")
            .file("srv/bundle.tar", bundle(class, note))
            .file("srv/config", config)
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(
        dir.path(),
        &side(b"\xca\xfe\xba\xbe one", "1\n", "a\n"),
        &side(b"\xca\xfe\xba\xbe two", "2\n", "b\n"),
    );
    let expected = [
        "srv/bundle.tar",
        "srv/bundle.tar!/lib/app.jar",
        "srv/bundle.tar!/lib/app.jar!/com/example/App.class",
        "srv/bundle.tar!/z.txt",
        "srv/config",
    ];
    for flags in [&[][..], &["--semantic"], &["--verbose"]] {
        let out = table(flags, &a, &b);
        assert_eq!(out.code, 1, "{flags:?}: {}", out.stderr);
        assert_eq!(
            file_row_names(&out.stdout),
            expected,
            "{flags:?}:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------- gzip, jar, pyc

#[test]
fn a_gz_changelog_differing_only_in_its_gzip_header_mtime_is_a_file_time_difference() {
    let changelog = b"x (1.0-1) unstable; urgency=low\n\n  * Initial release.\n".repeat(10);
    let layer = |mtime| {
        LayerBuilder::new().file(
            "usr/share/doc/x/changelog.Debian.gz",
            gzip_at(mtime, &changelog),
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &layer(1_700_000_000), &layer(1_750_000_000));

    let (code, strict) = compare(&[], &a, &b);
    assert_eq!(code, 1);
    let gz = file(&strict, "usr/share/doc/x/changelog.Debian.gz");
    assert_eq!(
        inner_rows(&strict, gz),
        [(
            "(gzip header)".to_owned(),
            vec!["gzip:mtime".to_owned()],
            vec!["file-time".to_owned()]
        )]
    );
    let (code, semantic) = compare(&["--semantic"], &a, &b);
    assert_eq!((code, semantic.shown_count()), (0, 0));
    assert_hidden_by_file_timestamps_only(&semantic);
    // --ignore-file-timestamps alone is what hides it
    let (code, _) = compare(&["--ignore-file-timestamps"], &a, &b);
    assert_eq!(code, 0);
}

#[test]
fn a_jar_whose_entries_differ_only_in_zip_times_is_a_file_time_difference() {
    let members: &[(&str, &[u8])] = &[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("com/example/App.class", b"\xca\xfe\xba\xbe\0\0\0\x41 class"),
    ];
    let layer = |time| LayerBuilder::new().file("opt/app/app.jar", jar(members, time));
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(
        dir.path(),
        &layer((2024, 1, 2, 3, 4, 6)),
        &layer((2025, 6, 7, 8, 9, 10)),
    );

    let (_, strict) = compare(&[], &a, &b);
    let jar_difference = file(&strict, "opt/app/app.jar");
    let inner = inner_rows(&strict, jar_difference);
    let keys: Vec<&str> = inner.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["META-INF/MANIFEST.MF", "com/example/App.class"]);
    assert!(
        inner
            .iter()
            .all(|(_, _, aspects)| aspects == &["file-time"]),
        "{inner:?}"
    );
    let (code, semantic) = compare(&["--semantic"], &a, &b);
    assert_eq!((code, semantic.shown_count()), (0, 0));

    // a real change inside stays shown under --semantic, named by its member
    let changed = LayerBuilder::new().file(
        "opt/app/app.jar",
        jar(
            &[
                members[0],
                ("com/example/App.class", b"\xca\xfe\xba\xbe other"),
            ],
            (2025, 6, 7, 8, 9, 10),
        ),
    );
    let (_, c) = pair(
        &dir.path().join("changed"),
        &layer((2024, 1, 2, 3, 4, 6)),
        &changed,
    );
    let (code, semantic) = compare(&["--semantic"], &a, &c);
    assert_eq!(code, 1);
    let inner = inner_rows(&semantic, file(&semantic, "opt/app/app.jar"));
    assert!(
        inner
            .iter()
            .any(|(k, f, _)| k == "com/example/App.class" && f.contains(&"content".to_owned())),
        "{inner:?}"
    );
}

#[test]
fn a_pyc_whose_header_source_mtime_alone_differs_is_a_file_time_difference() {
    let name = "usr/lib/python3/dist-packages/m/__pycache__/m.cpython-311.pyc";
    let layer = |mtime| LayerBuilder::new().file(name, pyc(mtime, b"\xe3code object"));
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &layer(1_700_000_000), &layer(1_700_000_100));
    let (_, strict) = compare(&[], &a, &b);
    let difference = file(&strict, name);
    assert_eq!(
        inner_rows(&strict, difference),
        [(
            "(pyc header)".to_owned(),
            vec!["pyc:source-mtime".to_owned()],
            vec!["file-time".to_owned()]
        )]
    );
    assert!(rules(difference).contains(&"python.bytecode".to_owned()));
    let (code, semantic) = compare(&["--semantic"], &a, &b);
    assert_eq!((code, semantic.shown_count()), (0, 0));
}

// ---------------------------------------------------------------------------- packages

/// A package's files: path and the content its md5sums record.
type PackageFiles<'a> = &'a [(&'a str, &'a [u8])];

/// A dpkg database holding `packages` (name, version, files with their recorded contents).
fn dpkg(layer: LayerBuilder, packages: &[(&str, &str, PackageFiles<'_>)]) -> LayerBuilder {
    let mut status = String::new();
    let mut layer = layer
        .dir("var/")
        .dir("var/lib/")
        .dir("var/lib/dpkg/")
        .dir("var/lib/dpkg/info/");
    for (name, version, files) in packages {
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\
             Description: {name}\n\n"
        ));
        let list: String = files.iter().map(|(path, _)| format!("/{path}\n")).collect();
        let md5sums: String = files
            .iter()
            .map(|(path, content)| format!("{}  {path}\n", md5_hex(content)))
            .collect();
        layer = layer
            .file(format!("var/lib/dpkg/info/{name}.list"), list)
            .file(format!("var/lib/dpkg/info/{name}.md5sums"), md5sums);
    }
    // dpkg's `available` holds the same paragraphs (apt tells dpkg what it installs)
    let available = status.replace("Status: install ok installed\n", "");
    layer
        .file("var/lib/dpkg/status", status)
        .file("var/lib/dpkg/available", available)
}

#[test]
fn a_file_modified_after_install_is_flagged_not_explained_away() {
    let dir = tempfile::tempdir().expect("temp dir");
    let side = |version: &str, delivered: &[u8], on_disk: &[u8]| {
        dpkg(
            LayerBuilder::new()
                .dir("usr/")
                .dir("usr/bin/")
                .file("usr/bin/tool", on_disk)
                .file("usr/bin/helper", delivered),
            &[(
                "tool",
                version,
                &[("usr/bin/tool", delivered), ("usr/bin/helper", delivered)],
            )],
        )
    };
    let (a, b) = pair(
        dir.path(),
        &side("1.0-1", b"tool 1.0\n", b"tool 1.0 patched\n"),
        &side("1.1-1", b"tool 1.1\n", b"tool 1.1 patched\n"),
    );
    let (code, report) = compare(&["--semantic", "--ignore-noise"], &a, &b);
    assert_eq!(code, 1);
    let tool = file(&report, "usr/bin/tool");
    assert_eq!(tool["shown"], true);
    let flagged = explanation(tool, "package-modified");
    assert_eq!(flagged["severity"], "alert");
    assert!(
        flagged["text"]
            .as_str()
            .unwrap_or_default()
            .contains("modified after install: matches its package on neither side"),
        "{flagged}"
    );
    assert!(
        !rules(tool).contains(&"package".to_owned()),
        "not explained by the upgrade: {tool}"
    );
    let helper = file(&report, "usr/bin/helper");
    assert!(
        explanation(helper, "package")["text"]
            .as_str()
            .unwrap_or_default()
            .ends_with("(matches the package on both sides)"),
        "{helper}"
    );
    let v = verdict(&report);
    assert_eq!(v["alerts"], 1, "{v}");
    assert_eq!(v["unexplained"], 1, "{v}");
    assert!(
        v["alertTexts"][0]
            .as_str()
            .unwrap_or_default()
            .contains("usr/bin/tool"),
        "{v}"
    );
    let code = run_json(&["--semantic", "--fail-on", "unexplained"], &a, &b).code;
    assert_eq!(code, 1, "an alert is never explained away");

    // shown prominently: in the table's explanations and in the verdict line on stderr
    let out = table(&["--semantic", "--explain"], &a, &b);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.starts_with("File") && l.contains("usr/bin/tool"))
        .unwrap_or_else(|| panic!("no row:\n{}", out.stdout));
    assert!(
        lines[row + 1..]
            .iter()
            .take_while(|l| l.starts_with(' '))
            .any(|l| l.contains("modified after install")),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("· 1 file needs attention (modified after install"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_file_that_differs_although_its_package_did_not_change_is_an_alert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let side = |on_disk: &[u8]| {
        dpkg(
            LayerBuilder::new()
                .dir("usr/")
                .dir("usr/bin/")
                .file("usr/bin/tool", on_disk),
            &[("tool", "1.0-1", &[("usr/bin/tool", b"tool 1.0\n")])],
        )
    };
    let (a, b) = pair(
        dir.path(),
        &side(b"tool 1.0\n"),
        &side(b"tool 1.0 backdoor\n"),
    );
    let (_, report) = compare(&["--semantic"], &a, &b);
    let tool = file(&report, "usr/bin/tool");
    assert_eq!(explanation(tool, "package-unchanged")["severity"], "alert");
    assert_eq!(verdict(&report)["unexplained"], 1);
    assert_eq!(verdict(&report)["alerts"], 1);
}

#[test]
fn ignore_noise_never_hides_an_alert() {
    let dir = tempfile::tempdir().expect("temp dir");
    // a noise rule (glibc.ld-so-cache) names the file, but its package says it was changed after install
    let side = |on_disk: &[u8]| {
        dpkg(
            LayerBuilder::new()
                .dir("etc/")
                .file("etc/ld.so.cache", on_disk),
            &[("libc-bin", "2.36-9", &[("etc/ld.so.cache", b"as shipped")])],
        )
    };
    let (a, b) = pair(dir.path(), &side(b"changed once"), &side(b"changed twice"));
    let (code, report) = compare(&["--semantic", "--ignore-noise"], &a, &b);
    let cache = file(&report, "etc/ld.so.cache");
    assert!(
        rules(cache).contains(&"glibc.ld-so-cache".to_owned()),
        "{cache}"
    );
    assert_eq!(explanation(cache, "package-unchanged")["severity"], "alert");
    assert_eq!(cache["shown"], true, "{cache}");
    assert_eq!(code, 1);
    assert_eq!(report.0["hidden"]["by-noise"], 0);
}

#[test]
fn files_added_with_a_package_are_owned_by_it_and_checked_against_its_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = || LayerBuilder::new().dir("usr/").dir("usr/bin/");
    let a = dpkg(base(), &[]);
    let b = dpkg(
        base().file("usr/bin/new", "new 2.0\n"),
        &[("newpkg", "2.0-1", &[("usr/bin/new", b"new 2.0\n")])],
    );
    let (a, b) = pair(dir.path(), &a, &b);
    let (_, report) = compare(&["--semantic"], &a, &b);
    let package = differences(&report)
        .iter()
        .find(|d| d["kind"] == "Pkg")
        .expect("a Pkg row");
    assert_eq!(package["key"], "dpkg newpkg:amd64");
    let added = file(&report, "usr/bin/new");
    assert_eq!(
        explanation(added, "package")["text"],
        "explained by newpkg:amd64 2.0-1 added (matches the package on input 1)",
        "{added}"
    );
    for database in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
        let explained = explanation(file(&report, database), "package-db");
        assert_eq!(
            explained["text"],
            "package database: its records differ only for packages that changed",
            "{database}: {explained}"
        );
    }
}

/// The packages of an image are read once all of its layers are, while the other image's may still be
/// read: here from a base layer both images share (not read by the comparison) and an upper layer that
/// upgrades one package; input 1's upper layer is the slower to read (16 MiB that do not compress).
#[test]
fn packages_are_read_from_every_layer_of_their_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dpkg(
        LayerBuilder::new()
            .dir("usr/")
            .dir("usr/bin/")
            .file("usr/bin/tool", "tool 1.0\n"),
        &[("tool", "1.0-1", &[("usr/bin/tool", b"tool 1.0\n")])],
    );
    let upper = |version: &str, content: &[u8], data: &[u8]| {
        dpkg(
            LayerBuilder::new()
                .file("usr/bin/extra", content)
                .file("usr/bin/extra-data", data),
            &[
                ("tool", "1.0-1", &[("usr/bin/tool", b"tool 1.0\n")]),
                (
                    "extra",
                    version,
                    &[("usr/bin/extra", content), ("usr/bin/extra-data", data)],
                ),
            ],
        )
    };
    let write = |name: &str, upper: &LayerBuilder| {
        let path = dir.path().join(name);
        ImageBuilder::new()
            .layer(base.build(), LayerCompression::Gzip)
            .layer(upper.build(), LayerCompression::Gzip)
            .write_oci_layout(&path, None)
            .expect("write layout");
        path_str(&path)
    };
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let noise: Vec<u8> = (0..16 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let a = write("a", &upper("1.0-1", b"extra 1.0\n", b"data 1.0\n"));
    let b = write("b", &upper("2.0-1", b"extra 2.0\n", &noise));
    let (_, report) = compare(&["--semantic"], &a, &b);
    let packages: Vec<&Value> = differences(&report)
        .iter()
        .filter(|d| d["kind"] == "Pkg")
        .collect();
    assert_eq!(packages.len(), 1, "{packages:?}");
    assert_eq!(packages[0]["key"], "dpkg extra:amd64");
    assert_eq!(
        packages[0]["deltas"][0]["values"],
        serde_json::json!(["1.0-1", "2.0-1"])
    );
    for path in ["usr/bin/extra", "usr/bin/extra-data"] {
        assert_eq!(
            explanation(file(&report, path), "package")["text"],
            "explained by extra:amd64 1.0-1 → 2.0-1 (matches the package on both sides)",
            "{path}"
        );
    }
    assert_eq!(verdict(&report)["unexplained"], 0, "{}", verdict(&report));
}

/// A Python package upgraded in site-packages: METADATA, RECORD (sha256 of each file) and the module.
#[test]
fn a_python_dist_info_upgrade_explains_its_files() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let site = "usr/lib/python3.11/site-packages";
    let side = |version: &str| {
        let module = format!("__version__ = \"{version}\"\n");
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(module.as_bytes()));
        let info = format!("{site}/demo-{version}.dist-info");
        LayerBuilder::new()
            .file(format!("{site}/demo/__init__.py"), &module)
            .file(
                format!("{info}/METADATA"),
                format!("Metadata-Version: 2.1\nName: demo\nVersion: {version}\n"),
            )
            .file(
                format!("{info}/RECORD"),
                format!(
                    "demo/__init__.py,sha256={digest},{}\ndemo-{version}.dist-info/METADATA,,\n\
                     demo-{version}.dist-info/RECORD,,\n",
                    module.len()
                ),
            )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &side("1.0"), &side("1.1"));
    let (_, report) = compare(&["--semantic"], &a, &b);
    let package = differences(&report)
        .iter()
        .find(|d| d["kind"] == "Pkg")
        .unwrap_or_else(|| panic!("no Pkg row: {}", report.0["differences"]));
    assert_eq!(package["key"], format!("python demo at {site}"));
    assert_eq!(
        package["deltas"][0]["values"],
        serde_json::json!(["1.0", "1.1"])
    );
    let module = file(&report, &format!("{site}/demo/__init__.py"));
    assert_eq!(
        explanation(module, "package")["text"],
        format!("explained by demo at {site} 1.0 → 1.1 (matches the package on both sides)")
    );
    assert_eq!(verdict(&report)["unexplained"], 0, "{}", verdict(&report));
}

// ---- rpm, written by the real tools

/// `rpmdb.sqlite` with hello 1.0 installed, and with hello upgraded to 1.1, written by rpm itself.
fn rpm_databases(work: &Path) -> (Vec<u8>, Vec<u8>) {
    let (old, new) = rpm_support::write_databases(work);
    // the write-ahead log folded in, as an image build leaves the database
    let read = |db: &Path| {
        let db_path = db.to_string_lossy();
        let output = Command::new("rpm")
            .args(["--dbpath", &db_path, "--rebuilddb"])
            .output()
            .expect("rpm");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read(db.join("rpmdb.sqlite")).expect("rpmdb.sqlite")
    };
    (read(&old), read(&new))
}

#[test]
fn an_rpm_sqlite_database_with_an_upgraded_package_is_a_pkg_row_with_both_versions() {
    if !rpm_support::have("rpm") || !rpm_support::have("rpmbuild") {
        eprintln!("skipping: rpm or rpmbuild not installed (Debian package: rpm)");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let (old_db, new_db) = rpm_databases(work.path());
    let side = |db: &[u8], greeting: &str| {
        LayerBuilder::new()
            .dir("usr/")
            .dir("usr/share/")
            .dir("usr/share/hello/")
            .file("usr/share/hello/greeting", greeting)
            .dir("var/")
            .dir("var/lib/")
            .dir("var/lib/rpm/")
            .file("var/lib/rpm/rpmdb.sqlite", db)
    };
    let (a, b) = pair(
        work.path(),
        &side(&old_db, "hello 1.0\n"),
        &side(&new_db, "hello 1.1\n"),
    );
    let (_, report) = compare(&["--semantic"], &a, &b);
    let package = differences(&report)
        .iter()
        .find(|d| d["kind"] == "Pkg")
        .unwrap_or_else(|| panic!("no Pkg row: {}", report.0["differences"]));
    assert_eq!(package["key"], "rpm hello:noarch");
    assert_eq!(package["contextPath"], "/packages");
    assert_eq!(
        package["deltas"][0]["values"],
        serde_json::json!(["1.0-1", "1.1-1"])
    );
    let greeting = file(&report, "usr/share/hello/greeting");
    assert_eq!(
        explanation(greeting, "package")["text"],
        "explained by hello:noarch 1.0-1 → 1.1-1 (matches the package on both sides)"
    );
    let database = file(&report, "var/lib/rpm/rpmdb.sqlite");
    assert!(
        rules(database).contains(&"package-db".to_owned()),
        "{database}"
    );

    let out = table(&["--semantic"], &a, &b);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Pkg"))
        .unwrap_or_else(|| panic!("no Pkg row in the table:\n{}", out.stdout));
    assert!(
        row.contains("rpm hello:noarch") && row.contains("1.0-1") && row.contains("1.1-1"),
        "{row}"
    );
}

// ---------------------------------------------------------------------------- limits

/// Runs `--format json` on a pair with a time bound (a limit that does not hold hangs or thrashes).
fn bounded_json(flags: &[&str], a: &str, b: &str) -> support::Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
    command.arg("--format").arg("json").args(flags).args([a, b]);
    command.env_remove("DEBUG");
    run_command_within(&mut command, Duration::from_secs(120)).0
}

fn assert_compared_by_digest(run: &support::Run, path: &str, why: &str) -> Report {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let report = run.json();
    let difference = file(&report, path);
    assert!(
        difference["nested"].is_null(),
        "not compared inside: {difference}"
    );
    let fields: Vec<&str> = difference["deltas"]
        .as_array()
        .expect("deltas")
        .iter()
        .map(|d| d["field"].as_str().unwrap_or_default())
        .collect();
    assert!(
        fields.contains(&"content"),
        "a content digest row: {fields:?}"
    );
    let said = warnings(&report);
    assert!(
        said.iter()
            .any(|w| w.contains(path) && w.contains("compared by digest only") && w.contains(why)),
        "{said:?}"
    );
    report
}

/// Gzip of `megabytes` MiB of zeros, compressed as it is generated (nothing big is held).
fn zeros_gzip(megabytes: usize, last: u8) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..megabytes {
        encoder.write_all(&chunk).expect("gzip to memory");
    }
    encoder.write_all(&[last]).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

#[test]
fn a_gzip_bomb_is_compared_by_digest_only_and_said_so() {
    let (x, y) = (zeros_gzip(200, 1), zeros_gzip(200, 2));
    assert!(x.len() < 1 << 20, "the bomb is small: {}", x.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(
        dir.path(),
        &LayerBuilder::new().file("srv/zeros.gz", x),
        &LayerBuilder::new().file("srv/zeros.gz", y),
    );
    let run = bounded_json(&[], &a, &b);
    assert_compared_by_digest(&run, "srv/zeros.gz", "unpacks to more than 67108864 bytes");
    // --max-scale raises the limit: then its inside is compared
    let run = bounded_json(&["--max-scale", "4"], &a, &b);
    let report = run.json();
    assert!(file(&report, "srv/zeros.gz")["nested"].is_u64());
}

#[test]
fn a_tar_of_more_members_than_the_limit_is_compared_by_digest_only_and_said_so() {
    let members = |last: &str| {
        let mut tar = LayerBuilder::new();
        for i in 0..10_000 {
            tar = tar.file(format!("m/{i}"), "");
        }
        tar.file("m/last", last).build()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(
        dir.path(),
        &LayerBuilder::new().file("srv/many.tar", members("1")),
        &LayerBuilder::new().file("srv/many.tar", members("2")),
    );
    let run = bounded_json(&[], &a, &b);
    assert_compared_by_digest(&run, "srv/many.tar", "holds more than 10000 members");
}

#[test]
fn ten_levels_of_nesting_stop_at_depth_three_and_say_so() {
    let nest = |core: &[u8]| (0..10).fold(core.to_vec(), |inner, _| gzip(&inner));
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(
        dir.path(),
        &LayerBuilder::new().file("srv/deep.gz", nest(b"a")),
        &LayerBuilder::new().file("srv/deep.gz", nest(b"b")),
    );
    let run = bounded_json(&[], &a, &b);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let nested: Vec<&Value> = report.0["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .filter(|c| c["kind"]["type"] == "nested")
        .collect();
    assert_eq!(nested.len(), 3, "three levels compared: {nested:?}");
    let said = warnings(&report);
    assert!(
        said.iter().any(|w| w.contains("deeper than 3 levels")),
        "{said:?}"
    );
    // on stderr too, for the table
    let out = table(&[], &a, &b);
    assert!(
        out.stderr.contains("deeper than 3 levels"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------- flags

/// A pair with one noise difference (a log differing in timestamps only), one unexplained file, and
/// a gzip whose header mtime alone differs.
fn flag_pair(dir: &Path, unexplained: bool) -> (String, String) {
    let side = |stamp: &str, config: &str, gz_mtime: u32| {
        LayerBuilder::new()
            .dir("var/")
            .dir("var/log/")
            .file(
                "var/log/build.log",
                format!("{stamp} INFO start\n{stamp} INFO done\n"),
            )
            .dir("etc/")
            .file("etc/app.conf", config)
            .file(
                "usr/share/doc/app/changelog.gz",
                gzip_at(gz_mtime, b"changes\n"),
            )
    };
    let second = if unexplained {
        "port = 2\n"
    } else {
        "port = 1\n"
    };
    pair(
        dir,
        &side("2026-01-01 10:00:00", "port = 1\n", 1_700_000_000),
        &side("2026-02-03 11:12:13", second, 1_700_000_999),
    )
}

#[test]
fn fail_on_any_and_unexplained_decide_the_exit_status() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = flag_pair(&dir.path().join("noise"), false);
    assert_eq!(run_json(&["--semantic"], &a, &b).code, 1, "default: any");
    assert_eq!(
        run_json(&["--semantic", "--fail-on", "any"], &a, &b).code,
        1
    );
    let run = run_json(&["--semantic", "--fail-on", "unexplained"], &a, &b);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(verdict(&run.json())["unexplained"], 0);

    let (a, b) = flag_pair(&dir.path().join("real"), true);
    let run = run_json(&["--semantic", "--fail-on", "unexplained"], &a, &b);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(verdict(&report)["unexplained"], 1);
    assert!(
        verdict(&report)["line"]
            .as_str()
            .unwrap_or_default()
            .ends_with("· 1 unexplained"),
        "{}",
        verdict(&report)
    );
    let bad = support::run(&["--fail-on", "sometimes", &a, &b]);
    assert_eq!(bad.code, 2);
}

#[test]
fn ignore_noise_hides_what_noise_rules_explain_and_the_summary_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = flag_pair(dir.path(), true);
    let (_, plain) = compare(&["--semantic"], &a, &b);
    assert!(plain.shown_files().contains("var/log/build.log"));
    let (code, quiet) = compare(&["--semantic", "--ignore-noise"], &a, &b);
    assert_eq!(code, 1);
    let shown = quiet.shown_files();
    assert!(!shown.contains("var/log/build.log"), "{shown:?}");
    assert!(
        shown.contains("etc/app.conf"),
        "real changes stay: {shown:?}"
    );
    assert_eq!(quiet.0["hidden"]["by-noise"], 1, "{}", quiet.0["hidden"]);
    let out = table(&["--semantic", "--ignore-noise"], &a, &b);
    assert!(
        out.stderr.contains("--ignore-noise 1"),
        "the summary names the flag with its count:\n{}",
        out.stderr
    );
    // not part of --semantic
    assert!(plain.0["hidden"]["by-noise"].is_null() || plain.0["hidden"]["by-noise"] == 0);
}

#[test]
fn a_noise_file_adds_rules_turns_built_in_ones_off_and_malformed_ones_are_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = flag_pair(&dir.path().join("pair"), true);
    let rules_file = dir.path().join("rules.toml");
    std::fs::write(
        &rules_file,
        "disable = [\"common.var-log\", \"common.log-timestamps\"]\n\n[[rule]]\nid = \"acme.conf\"\n\
         paths = [\"etc/app.conf\"]\ncategory = \"build-environment\"\nseverity = \"noise\"\n\
         explanation = \"The port is chosen by the build host.\"\n",
    )
    .expect("write rules");
    let rules_path = path_str(&rules_file);
    let (_, before) = compare(&["--semantic"], &a, &b);
    assert!(rules(file(&before, "var/log/build.log")).contains(&"common.var-log".to_owned()));
    assert!(!rules(file(&before, "etc/app.conf")).contains(&"acme.conf".to_owned()));

    let (_, after) = compare(&["--semantic", "--noise-file", &rules_path], &a, &b);
    let conf = file(&after, "etc/app.conf");
    assert_eq!(explanation(conf, "acme.conf")["severity"], "noise");
    let log_rules = rules(file(&after, "var/log/build.log"));
    assert!(
        !log_rules.iter().any(|r| r.starts_with("common.")),
        "turned off: {log_rules:?}"
    );
    assert_eq!(
        verdict(&after)["unexplained"],
        1,
        "the log is unexplained now"
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[[rule]]\nid = \"x\"\npaths = [\"a\"]\ncategroy = \"log\"\n",
    )
    .expect("write rules");
    let out = run(&["--noise-file", &path_str(&broken), &a, &b]);
    assert_eq!(out.code, 2);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("broken.toml:4:") && lines[0].contains("categroy"),
        "{}",
        lines[0]
    );
    let missing = run(&["--noise-file", "/nonexistent/rules.toml", &a, &b]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/rules.toml"),
        "{}",
        missing.stderr
    );
}

/// The differences as `[contextPath, kind, key, [[field, aspect, values]…]]`, to compare runs exactly.
fn rows_of(report: &Report) -> Vec<Value> {
    differences(report)
        .iter()
        .map(|d| {
            let deltas: Vec<Value> = d["deltas"]
                .as_array()
                .expect("deltas")
                .iter()
                .map(|x| serde_json::json!([x["field"], x["aspect"], x["values"]]))
                .collect();
            serde_json::json!([d["contextPath"], d["kind"], d["key"], deltas])
        })
        .collect()
}

#[test]
fn no_deep_and_deep_0_restore_diffocis_digest_rows_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(dir.path(), &alpine(1_700_000_000), &alpine(1_750_000_000));
    let (_, deep) = compare(&[], &a, &b);
    assert!(file(&deep, "lib/apk/db/scripts.tar")["nested"].is_u64());
    let (_, no_deep) = compare(&["--no-deep"], &a, &b);
    let (_, deep0) = compare(&["--deep=0"], &a, &b);
    assert_eq!(rows_of(&no_deep), rows_of(&deep0));
    // the rows are the strict rows without anything inside files: the file's digest row
    let outer = |report: &Report| {
        rows_of(report)
            .into_iter()
            .filter(|row| !row[0].as_str().unwrap_or_default().contains('!') && row[1] != "Pkg")
            .collect::<Vec<_>>()
    };
    assert_eq!(outer(&no_deep), outer(&deep));
    assert_eq!(rows_of(&no_deep), outer(&deep), "nothing inside files");
    let scripts = file(&no_deep, "lib/apk/db/scripts.tar");
    assert!(scripts["nested"].is_null());
    assert_eq!(scripts["shown"], true);
    // …and so --semantic shows it again, as diffoci does
    let (code, semantic) = compare(&["--semantic", "--no-deep"], &a, &b);
    assert_eq!(code, 1);
    assert!(semantic.shown_files().contains("lib/apk/db/scripts.tar"));
    let out = table(&["--no-deep"], &a, &b);
    let deep_table = table(&["--deep", "0"], &a, &b);
    assert_eq!(out.stdout, deep_table.stdout);
}

#[test]
fn no_packages_reads_no_package_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let side = |version: &str, content: &[u8]| {
        dpkg(
            LayerBuilder::new()
                .dir("usr/")
                .dir("usr/bin/")
                .file("usr/bin/tool", content),
            &[("tool", version, &[("usr/bin/tool", content)])],
        )
    };
    let (a, b) = pair(
        dir.path(),
        &side("1.0-1", b"1.0\n"),
        &side("1.1-1", b"1.1\n"),
    );
    let (_, with) = compare(&["--semantic"], &a, &b);
    assert!(differences(&with).iter().any(|d| d["kind"] == "Pkg"));
    assert!(rules(file(&with, "usr/bin/tool")).contains(&"package".to_owned()));
    let (_, without) = compare(&["--semantic", "--no-packages"], &a, &b);
    assert!(!differences(&without).iter().any(|d| d["kind"] == "Pkg"));
    assert!(
        !without.0["contexts"]
            .as_array()
            .expect("contexts")
            .iter()
            .any(|c| c["kind"]["type"] == "packages")
    );
    assert!(rules(file(&without, "usr/bin/tool")).is_empty());
    assert!(verdict(&without)["byPackages"] == 0);
}

#[test]
fn explain_adds_each_rows_explanations_to_the_table_and_verbose_turns_it_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = flag_pair(dir.path(), false);
    let explanation_line = "= noise [common.log-timestamps]";
    let plain = table(&["--semantic"], &a, &b);
    assert!(!plain.stdout.contains(explanation_line), "{}", plain.stdout);
    for flags in [
        &["--semantic", "--explain"][..],
        &["--semantic", "--verbose"],
    ] {
        let out = table(flags, &a, &b);
        let lines: Vec<&str> = out.stdout.lines().collect();
        let row = lines
            .iter()
            .position(|l| l.starts_with("File") && l.contains("var/log/build.log"))
            .unwrap_or_else(|| panic!("{flags:?}:\n{}", out.stdout));
        assert!(
            lines[row + 1..]
                .iter()
                .take_while(|l| l.starts_with(' '))
                .any(|l| l.trim_start().starts_with(explanation_line)),
            "{flags:?}:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------- golden output

/// One pair with every kind of answer: a package upgrade whose files match it (one of them a
/// changelog compared inside), a file modified after install, a log differing in timestamps only, and a
/// configuration file nothing explains.
fn golden_pair(dir: &Path) {
    let side = |version: &str, stamp: &str, helper: &[u8], port: &str| {
        let tool = format!("tool {version}\n");
        let changelog = gzip_at(0, format!("tool ({version}) unstable\n").as_bytes());
        let files: Vec<(&str, &[u8])> = vec![
            ("usr/bin/tool", tool.as_bytes()),
            ("usr/bin/tool-helper", b"helper as shipped\n"),
            ("usr/share/doc/tool/changelog.gz", &changelog),
        ];
        let layer = LayerBuilder::new()
            .dir("etc/")
            .file("etc/app.conf", format!("port = {port}\n"))
            .dir("usr/")
            .dir("usr/bin/")
            .file("usr/bin/tool", &tool)
            .file("usr/bin/tool-helper", helper)
            .dir("usr/share/")
            .dir("usr/share/doc/")
            .dir("usr/share/doc/tool/")
            .file("usr/share/doc/tool/changelog.gz", &changelog)
            .dir("var/")
            .dir("var/log/")
            .file(
                "var/log/build.log",
                format!("{stamp} start\n{stamp} installed tool\n"),
            );
        dpkg(layer, &[("tool", version, &files)])
    };
    let write = |name: &str, layer: LayerBuilder| {
        image(&layer)
            .write_oci_layout(&dir.join(name), None)
            .expect("write layout");
    };
    write(
        "a",
        side("1.0-1", "2026-01-01 10:00:00", b"helper patched\n", "80"),
    );
    write(
        "b",
        side(
            "1.1-1",
            "2026-02-03 11:12:13",
            b"helper patched again\n",
            "8080",
        ),
    );
}

#[test]
fn golden_json_and_table_with_explanations_and_the_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    golden_pair(dir.path());
    let run_here = |flags: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
        command
            .current_dir(dir.path())
            .env_remove("DEBUG")
            .args(flags)
            .args(["a", "b"]);
        support::run_command(&mut command)
    };
    let json = run_here(&["--format", "json", "--semantic"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        report["verdict"]["line"],
        "9 differences: 6 explained by 1 package change (1 upgraded) · 1 noise (1 log: timestamps) · \
         2 unexplained · 1 file needs attention (modified after install or unexplained by their package)"
    );
    insta::assert_json_snapshot!("explained_pair_json", report);
    let table = run_here(&["--semantic", "--explain"]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    insta::assert_snapshot!(
        "explained_pair_table",
        format!("{}--- stderr\n{}", table.stdout, table.stderr)
    );
}
