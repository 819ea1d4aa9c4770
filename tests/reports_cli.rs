//! The CI side of the reports, end to end through the binary: `--rules` (exit status, PASS/FAIL/SKIP
//! lines, the rules in JSON), malformed rules and config files, `--markdown`, `--html` beside another
//! format, the config file's precedence (the theme too, as the HTML page shows it), `completions` and
//! `man`.

mod common;

use std::path::Path;

use common::{bin, run, run_command, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};

/// Two images: input 1 has `etc/ssl/cert.pem` changed and `usr/bin/tool` setuid.
fn pair(dir: &Path) -> [String; 2] {
    let image = |cert: &str, mode: u32| {
        let layer = LayerBuilder::new()
            .dir("etc/")
            .file("etc/ssl/cert.pem", cert)
            .file("usr/bin/tool", "#!/bin/sh\n")
            .mode(mode)
            .build();
        ImageBuilder::new().layer(layer, LayerCompression::Gzip)
    };
    [
        write_layout(dir, "a", &image("one", 0o755)),
        write_layout(dir, "b", &image("two", 0o4755)),
    ]
}

fn rules_file(dir: &Path, text: &str) -> String {
    let file = dir.join("rules.toml");
    std::fs::write(&file, text).expect("write rules");
    file.display().to_string()
}

#[test]
fn a_failing_rule_exits_1_with_its_line_and_passing_rules_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = pair(dir.path());
    let rules = rules_file(
        dir.path(),
        "denied-paths = [\"etc/ssl/**\"]\nno-new-setuid = true\n",
    );
    let failed = run(["--quiet", "--rules", &rules, &a, &b]);
    failed.expect_code(1).assert_sane();
    let stderr = failed.stderr();
    assert!(
        stderr.contains(
            "FAIL: denied-paths: 1 changed paths match (etc/ssl/**)\n    etc/ssl/cert.pem\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL: no-new-setuid: 1 files became setuid or setgid\n    usr/bin/tool\n"),
        "{stderr}"
    );
    let rules = rules_file(dir.path(), "denied-paths = [\"var/**\"]\n");
    // The images differ (exit 1 without rules), but no rule fails: 0.
    let passed = run(["--quiet", "--rules", &rules, &a, &b]);
    passed.expect_code(0);
    assert!(
        passed
            .stderr()
            .contains("PASS: denied-paths: 0 changed paths match (var/**)")
    );
    run(["--quiet", &a, &b]).expect_code(1);
}

#[test]
fn rule_results_are_in_the_json_and_the_markdown_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = pair(dir.path());
    let rules = rules_file(dir.path(), "no-new-setuid = true\n");
    let markdown = dir.path().join("summary.md");
    let html = dir.path().join("report.html");
    let run = run_command(
        bin()
            .args([
                "--quiet",
                "--format",
                "json",
                "--rules",
                &rules,
                "--markdown",
            ])
            .arg(&markdown)
            .arg("--html")
            .arg(&html)
            .args([&a, &b]),
    );
    run.expect_code(1);
    let json = run.json();
    assert_eq!(json["rules"]["failed"], true);
    assert_eq!(json["rules"]["results"][0]["rule"], "no-new-setuid");
    assert_eq!(json["rules"]["results"][0]["outcome"], "fail");
    assert_eq!(json["rules"]["results"][0]["offending"][0], "usr/bin/tool");
    let md = std::fs::read_to_string(&markdown).expect("markdown written");
    assert!(
        md.contains(
            "| no-new-setuid | **FAIL** | 1 files became setuid or setgid<br>usr/bin/tool |"
        ),
        "{md}"
    );
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(
        page.contains("<tr class=\"fail\"><td>no-new-setuid</td><td>FAIL</td>"),
        "{page}"
    );
}

#[test]
fn malformed_rules_files_are_one_line_naming_the_line_and_exit_2_before_reading_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, expected) in [
        (
            "no-new-setuid = true\nno-such-rule = 1\n",
            ":2: unknown field `no-such-rule`",
        ),
        ("max-growth-bytes = -5\n", ":1: "),
        ("denied-paths = [\"a/[b\"]\n", ":1: bad glob"),
    ] {
        let rules = rules_file(dir.path(), text);
        let run = run([
            "--rules",
            &rules,
            "oci:/nonexistent/a",
            "oci:/nonexistent/b",
        ]);
        run.expect_code(2);
        let lines = run.error_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(&format!("ocidiff-tui: {rules}")),
            "{lines:?}"
        );
        assert!(lines[0].contains(expected), "{lines:?}");
    }
    let missing = run(["--rules", "/nonexistent/rules.toml", "a", "b"]);
    missing.expect_code(2);
    assert!(
        missing
            .stderr()
            .starts_with("ocidiff-tui: --rules /nonexistent/rules.toml: ")
    );
}

#[test]
fn markdown_goes_to_stdout_with_format_markdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = pair(dir.path());
    let run = run(["--quiet", "--format", "markdown", &a, &b]);
    run.expect_code(1);
    let md = run.stdout();
    assert!(md.starts_with("## ocidiff-tui: "), "{md}");
    assert!(md.contains("| File | etc/ssl/cert.pem |"), "{md}");
    assert!(md.contains("| unexplained | "), "{md}");
}

/// Runs with `XDG_CONFIG_HOME` pointing at a directory holding `config`.
fn with_config(dir: &Path, config: &str, args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let home = dir.join("xdg");
    std::fs::create_dir_all(home.join("ocidiff-tui")).expect("mkdir");
    std::fs::write(home.join("ocidiff-tui/config.toml"), config).expect("write config");
    let mut command = bin();
    command
        .env("XDG_CONFIG_HOME", &home)
        .env_remove("OCIDIFF_RULES")
        .env_remove("OCIDIFF_CONFIG")
        .env_remove("OCIDIFF_THEME");
    for (key, value) in env {
        command.env(key, value);
    }
    run_command(command.args(args))
}

#[test]
fn the_config_file_gives_defaults_that_env_and_flags_override() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = pair(dir.path());
    let fail = rules_file(dir.path(), "no-new-setuid = true\n");
    let pass_file = dir.path().join("pass.toml");
    std::fs::write(&pass_file, "denied-paths = [\"var/**\"]\n").expect("write");
    let pass = pass_file.display().to_string();
    let config = format!("rules = {fail:?}\nignore-paths = [\"etc/ssl\"]\n");
    let from_file = with_config(
        dir.path(),
        &config,
        &["--quiet", "--format", "json", &a, &b],
        &[],
    );
    from_file.expect_code(1);
    let json = from_file.json();
    assert_eq!(json["rules"]["results"][0]["rule"], "no-new-setuid");
    assert_eq!(json["filter"]["ignorePaths"][0], "etc/ssl");
    let from_env = with_config(
        dir.path(),
        &config,
        &["--quiet", &a, &b],
        &[("OCIDIFF_RULES", &pass)],
    );
    from_env.expect_code(0);
    let from_flag = with_config(
        dir.path(),
        &config,
        &[
            "--quiet",
            "--rules",
            &fail,
            "--ignore-path",
            "nothing",
            "--format",
            "json",
            &a,
            &b,
        ],
        &[("OCIDIFF_RULES", &pass)],
    );
    from_flag.expect_code(1);
    assert_eq!(from_flag.json()["filter"]["ignorePaths"][0], "nothing");
    let none = with_config(
        dir.path(),
        &config,
        &["--quiet", "--no-config", &a, &b],
        &[],
    );
    assert!(
        !none.stderr().contains("PASS") && !none.stderr().contains("FAIL"),
        "{}",
        none.stderr()
    );
}

/// The one error line of a run under this config file (exit 2).
fn config_error(config: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = with_config(dir.path(), config, &["a", "b"], &[]);
    run.expect_code(2);
    let lines = run.error_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0].clone()
}

#[test]
fn a_malformed_config_file_is_one_line_naming_the_line() {
    let line = config_error("ignore-paths = [\"a\"]\ncolour = \"red\"\n");
    assert!(line.starts_with("ocidiff-tui: config file "), "{line}");
    assert!(
        line.contains("config.toml:2: unknown field `colour`"),
        "{line}"
    );
}

#[test]
fn a_bad_view_in_the_config_file_is_one_line_naming_the_line() {
    let line = config_error("theme = \"Nord\"\nview = \"sideways\"\n");
    assert!(
        line.contains("config.toml:2: view = \"sideways\": expected auto, per-layer or merged"),
        "{line}"
    );
}

/// The `<pre>` of the HTML page's text hunks: the theme's background and text colours.
fn hunks_style(run: &common::Run) -> String {
    let page = run.stdout();
    let start = page
        .find("<pre class=\"hunks")
        .expect("a text hunk in the page");
    let end = start + page[start..].find('>').expect("the tag's end");
    page[start..=end].to_owned()
}

#[test]
fn the_theme_from_flag_env_or_config_file_colours_the_html_hunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = pair(dir.path());
    let html = ["--quiet", "--format", "html"];
    let args = |extra: &[&'static str]| -> Vec<String> {
        html.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .chain([a.clone(), b.clone()])
            .collect()
    };
    let with = |config: &str, extra: &[&'static str], env: &[(&str, &str)]| {
        let args = args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = with_config(dir.path(), config, &args, env);
        run.expect_code(1);
        hunks_style(&run)
    };
    // Monokai Extended by default: dark, and so is the page's own style for hunks.
    let default = with("", &[], &[]);
    assert_eq!(
        default,
        "<pre class=\"hunks\" style=\"background:#222222;color:#f8f8f2;\">"
    );
    let github = "<pre class=\"hunks light\" style=\"background:#ffffff;color:#333333;\">";
    assert_eq!(with("theme = \"GitHub\"\n", &[], &[]), github);
    assert_eq!(with("", &["--theme", "github"], &[]), github);
    // Flag over environment over file.
    assert_eq!(
        with("theme = \"Nord\"\n", &[], &[("OCIDIFF_THEME", "GitHub")]),
        github
    );
    assert_eq!(
        with(
            "theme = \"Nord\"\n",
            &["--theme", "GitHub"],
            &[("OCIDIFF_THEME", "Nord")]
        ),
        github
    );
    assert_ne!(with("theme = \"Nord\"\n", &[], &[]), default);
    let unknown = with_config(dir.path(), "", &["--theme", "Monokai Purple", &a, &b], &[]);
    unknown.expect_code(2);
    let lines = unknown.error_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "ocidiff-tui: --theme: unknown theme \"Monokai Purple\": expected one of "
        ),
        "{lines:?}"
    );
    assert!(lines[0].contains("Solarized (dark)"), "{lines:?}");
}

#[test]
fn a_bad_key_binding_in_the_config_file_is_one_line_naming_the_line() {
    let line = config_error("theme = \"Nord\"\n[keys]\nquit = \"Q\"\nsearch = \"n\"\n");
    assert!(
        line.contains("config.toml:4: keys: n is bound to both next-match and search"),
        "{line}"
    );
}

#[test]
fn completions_for_every_shell_and_the_man_page_name_the_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = run(["completions", shell]);
        run.expect_code(0);
        let script = run.stdout();
        for flag in ["semantic", "rules", "html", "markdown", "ignore-path"] {
            assert!(script.contains(flag), "{shell}: no {flag}");
        }
    }
    let man = run(["man"]);
    man.expect_code(0);
    let page = man.stdout();
    assert!(
        page.starts_with(".ie") || page.contains(".TH ocidiff-tui"),
        "{page}"
    );
    for flag in ["\\-\\-rules", "\\-\\-html", "\\-\\-semantic", "completions"] {
        assert!(page.contains(flag), "man page without {flag}");
    }
    let help = run(["--help"]).stdout();
    assert!(
        help.contains("Examples:") && help.contains("CI: fail on rules"),
        "{help}"
    );
}
