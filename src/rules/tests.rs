use serde_json::{Value, json};

use super::*;
use crate::filter::{Filter, IgnoreOption, View};
use crate::model::{Aspect, Category, ContextId, Explanation, Severity};
use crate::report::fixtures::*;

fn evaluate(rules: &str, report: &Report, filter: &Filter) -> RulesReport {
    let rules = Rules::parse("rules.toml", rules).unwrap_or_else(|e| panic!("{e}"));
    let presentation = Presentation::new(report, filter, View::PerLayer);
    rules.evaluate(report, &presentation, &presentation.shown())
}

fn only(rules: &str, report: &Report) -> RuleResult {
    let mut results = evaluate(rules, report, &Filter::default()).results;
    assert_eq!(results.len(), 1, "{results:?}");
    results.remove(0)
}

fn moded(name: &str, mode0: Option<u32>, mode1: u32) -> Difference {
    let side = |mode: u32| {
        let mut e = entry(name);
        e.mode = mode;
        e
    };
    let d = delta(Aspect::Mode, "mode", json!(mode0), json!(mode1));
    file_difference(LAYER0, mode0.map(side), Some(side(mode1)), vec![d])
}

fn noise(mut d: Difference) -> Difference {
    d.explanations.push(Explanation {
        rule: "common.var-log".into(),
        category: Category::Log,
        severity: Severity::Noise,
        text: "logs".into(),
        aspects: d.aspects(),
        evidence: None,
    });
    d
}

#[test]
fn unexplained_differences_fail_and_explained_ones_pass() {
    let mut report = report_skeleton();
    report.differences.push(noise(content_difference(
        LAYER0,
        "var/log/a",
        &hex_of('1'),
        &hex_of('2'),
    )));
    let pass = only("max-unexplained = 0", &report);
    assert_eq!(pass.outcome, Outcome::Pass, "{pass}");
    report.differences.push(content_difference(
        LAYER0,
        "usr/bin/x",
        &hex_of('3'),
        &hex_of('4'),
    ));
    let fail = only("max-unexplained = 0", &report);
    assert_eq!(fail.outcome, Outcome::Fail);
    assert_eq!(
        fail.to_string(),
        "FAIL: max-unexplained: 1 unexplained (at most 0)"
    );
    assert_eq!(only("max-unexplained = 1", &report).outcome, Outcome::Pass);
}

#[test]
fn denied_paths_fail_with_the_matching_paths() {
    let mut report = report_skeleton();
    report.differences.push(content_difference(
        LAYER0,
        "etc/motd",
        &hex_of('1'),
        &hex_of('2'),
    ));
    let rules = r#"denied-paths = ["etc/ssl/**", "/usr/bin/sudo"]"#;
    assert_eq!(only(rules, &report).outcome, Outcome::Pass);
    report.differences.push(content_difference(
        LAYER1,
        "etc/ssl/certs/ca.pem",
        &hex_of('3'),
        &hex_of('4'),
    ));
    let fail = only(rules, &report);
    assert_eq!(fail.outcome, Outcome::Fail);
    assert_eq!(fail.offending, ["etc/ssl/certs/ca.pem"]);
    assert_eq!(
        fail.to_string(),
        "FAIL: denied-paths: 1 changed paths match (etc/ssl/**, /usr/bin/sudo)\n    etc/ssl/certs/ca.pem"
    );
}

#[test]
fn a_file_that_becomes_setuid_fails_even_when_modes_are_ignored() {
    let mut report = report_skeleton();
    report
        .differences
        .push(moded("usr/bin/su", Some(0o4755), 0o4750));
    report
        .differences
        .push(moded("usr/bin/x", Some(0o755), 0o700));
    assert_eq!(only("no-new-setuid = true", &report).outcome, Outcome::Pass);
    report.differences.push(moded("usr/bin/new", None, 0o4755));
    report
        .differences
        .push(moded("usr/bin/passwd", Some(0o755), 0o4755));
    report
        .differences
        .push(moded("usr/bin/sg", Some(0o4755), 0o6755));
    let ignoring = Filter::new(&[IgnoreOption::Mode], &[]).unwrap();
    let results = evaluate("no-new-setuid = true", &report, &ignoring).results;
    assert_eq!(results[0].outcome, Outcome::Fail);
    assert_eq!(
        results[0].offending,
        ["usr/bin/new", "usr/bin/passwd", "usr/bin/sg"]
    );
}

#[test]
fn a_file_that_becomes_world_writable_fails() {
    let mut report = report_skeleton();
    report.differences.push(moded("tmp", Some(0o1777), 0o1777));
    report.differences.push(moded("etc/x", Some(0o644), 0o640));
    let rules = "no-new-world-writable = true";
    assert_eq!(only(rules, &report).outcome, Outcome::Pass);
    report
        .differences
        .push(moded("etc/shadow", Some(0o640), 0o666));
    let fail = only(rules, &report);
    assert_eq!(
        (fail.outcome, fail.offending.as_slice()),
        (Outcome::Fail, &["etc/shadow".to_owned()][..])
    );
}

fn package(name: &str, kind: &str, v0: Option<&str>, v1: Option<&str>) -> Difference {
    let mut d = other_difference(
        ContextId(5),
        DiffKind::Pkg,
        &format!("dpkg {name}"),
        delta(Aspect::Package, "version", json!(v0), json!(v1)),
    );
    d.explanations.push(Explanation {
        rule: "package".into(),
        category: Category::Package,
        severity: Severity::Review,
        text: format!("{name} ({kind})"),
        aspects: Aspect::Package.into(),
        evidence: None,
    });
    d
}

fn with_packages() -> Report {
    let mut report = report_skeleton();
    let mut packages = report.contexts[2].clone();
    packages.id = ContextId(5);
    packages.kind = ContextKind::Packages;
    report.contexts.push(packages);
    report
        .differences
        .push(package("tzdata", "upgraded", Some("1"), Some("2")));
    report
}

#[test]
fn package_rules_fail_outside_the_allow_list() {
    let rules = "[packages]\nno-downgrade = true\nno-added = true\nno-removed = true\nallow = [\"ca-*\", \"dpkg libssl3\"]";
    let outcomes = |report: &Report| -> Vec<(&'static str, Outcome, Vec<String>)> {
        let results = evaluate(rules, report, &Filter::default()).results;
        results
            .into_iter()
            .map(|r| (r.rule, r.outcome, r.offending))
            .collect()
    };
    let mut report = with_packages();
    report
        .differences
        .push(package("ca-certificates", "added", None, Some("1")));
    report
        .differences
        .push(package("libssl3", "removed", Some("3"), None));
    assert!(
        outcomes(&report)
            .iter()
            .all(|(_, o, _)| *o == Outcome::Pass),
        "{:?}",
        outcomes(&report)
    );
    report
        .differences
        .push(package("curl", "added", None, Some("8")));
    report
        .differences
        .push(package("bash", "removed", Some("5"), None));
    report
        .differences
        .push(package("ca-x", "downgraded", Some("2"), Some("1")));
    assert_eq!(
        outcomes(&report),
        [
            ("no-downgrade", Outcome::Fail, vec!["dpkg ca-x".to_owned()]),
            (
                "no-added-packages",
                Outcome::Fail,
                vec!["dpkg curl".to_owned()]
            ),
            (
                "no-removed-packages",
                Outcome::Fail,
                vec!["dpkg bash".to_owned()]
            ),
        ]
    );
}

#[test]
fn package_rules_skip_when_no_database_was_read() {
    let result = only("[packages]\nno-downgrade = true", &report_skeleton());
    assert_eq!(result.outcome, Outcome::Skip);
}

/// A report whose config differs in these fields (path as the engine spells it, both values).
fn config_report(fields: Vec<(&str, Value, Value)>) -> Report {
    let mut report = report_skeleton();
    for (field, input0, input1) in fields {
        let delta = delta(Aspect::Config, field, input0, input1);
        report
            .differences
            .push(other_difference(CONFIG, DiffKind::Cfg, "config", delta));
    }
    report
}

#[test]
fn config_field_rules_match_fields_and_env_variables_by_name() {
    let report = config_report(vec![
        ("config.Env[2]", json!(null), json!("APP_DEBUG=1")),
        ("config.Cmd[0]", json!("sh"), json!("bash")),
    ]);
    let rules = |fields: &str| format!("config-fields = {fields}");
    assert_eq!(
        only(&rules(r#"["User", "Env:PATH", "Entry"]"#), &report).outcome,
        Outcome::Pass
    );
    let fail = only(&rules(r#"["Env:APP_DEBUG", "Cmd"]"#), &report);
    assert_eq!(fail.outcome, Outcome::Fail);
    assert_eq!(
        fail.offending,
        [
            "config.Env[2]: absent → APP_DEBUG=1",
            "config.Cmd[0]: sh → bash"
        ]
    );
}

#[test]
fn config_field_rules_match_user_entrypoint_and_exposed_ports_as_the_engine_spells_them() {
    let report = config_report(vec![
        ("config.User", json!("app"), json!("root")),
        ("config.Entrypoint[0]", json!("/app"), json!("/bin/sh")),
        (r#"config.ExposedPorts["80/tcp"]"#, json!(null), json!({})),
        ("config.UserNamespace", json!("a"), json!("b")),
    ]);
    let rules = |fields: &str| format!("config-fields = {fields}");
    assert_eq!(
        only(&rules(r#"["Cmd", "Env:PATH", "WorkingDir"]"#), &report).outcome,
        Outcome::Pass
    );
    let expectations = [
        ("User", "config.User: app → root"),
        ("Entrypoint", "config.Entrypoint[0]: /app → /bin/sh"),
        (
            "ExposedPorts",
            r#"config.ExposedPorts["80/tcp"]: absent → {}"#,
        ),
    ];
    for (field, line) in expectations {
        let fail = only(&rules(&format!("[\"{field}\"]")), &report);
        assert_eq!(fail.outcome, Outcome::Fail, "{field}");
        // `User` is not a prefix match: `config.UserNamespace` is another field.
        assert_eq!(fail.offending, [line], "{field}");
    }
}

#[test]
fn growth_rules_compare_the_layer_sizes_per_platform() {
    let mut report = report_skeleton();
    let grown = report.contexts[4].descriptors.input1.as_mut().unwrap();
    grown.size = 150; // 200 → 250 bytes: +50, 25%
    assert_eq!(
        only("max-growth-bytes = 50", &report).outcome,
        Outcome::Pass
    );
    assert_eq!(
        only("max-growth-percent = 25.0", &report).outcome,
        Outcome::Pass
    );
    let fail = only("max-growth-bytes = 49\nmax-growth-percent = 30.0", &report);
    assert_eq!(fail.outcome, Outcome::Fail);
    assert_eq!(
        fail.offending,
        ["/manifests-0: 200 → 250 bytes (+50 bytes, 25.00%)"]
    );
    assert_eq!(
        only("max-growth-percent = 24.9", &report).outcome,
        Outcome::Fail
    );
}

#[test]
fn malformed_rules_files_are_one_line_naming_the_line() {
    for (text, expected) in [
        (
            "max-unexplained = 0\nno-such-rule = true\n",
            "rules.toml:2: unknown field `no-such-rule`",
        ),
        ("max-unexplained = \"none\"\n", "rules.toml:1: invalid type"),
        (
            "\n\ndenied-paths = [\"etc/[ssl\"]\n",
            "rules.toml:3: bad glob \"etc/[ssl\"",
        ),
        ("[packages\n", "rules.toml:1: "),
    ] {
        let error = Rules::parse("rules.toml", text).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
}
