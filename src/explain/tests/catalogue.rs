//! The built-in rules, one case at least for what each labels and one for what it must not, and the
//! user's rules files.

use std::collections::BTreeSet;

use super::super::*;
use crate::model::{Aspect, AspectSet};

/// What differs about a file, for the table.
#[derive(Clone, Copy)]
enum Facts {
    Aspects(AspectSet),
    /// Content differs, and here are both texts.
    Text(&'static str, &'static str),
}

use Facts::{Aspects, Text};

fn content() -> Facts {
    Aspects(Aspect::Content.into())
}

fn presence() -> Facts {
    Aspects(Aspect::Presence.into())
}

fn facts(facts: Facts) -> FileFacts<'static> {
    match facts {
        Aspects(aspects) => FileFacts::new(aspects),
        Text(old, new) => FileFacts::new(Aspect::Content | Aspect::FileTime)
            .with_text(TextChange::new(old.as_bytes(), new.as_bytes())),
    }
}

const DPKG_A: &str = "2026-12-02 00:26:29 startup archives install\n2026-12-02 00:26:29 install base-passwd:amd64 <none> 3.6.1\n";
const DPKG_B: &str = "2026-12-02 00:27:02 startup archives install\n2026-12-02 00:27:03 install base-passwd:amd64 <none> 3.6.1\n";
const DPKG_NEWER: &str = "2026-12-02 00:27:02 startup archives install\n2026-12-02 00:27:03 install base-passwd:amd64 <none> 3.6.2\n";
const BOOTSTRAP_A: &str = "2026-12-02 00:26:04 URL:http://deb.debian.org/x [1/1] -> \"/var/tmp/testbed/rootfs/a.tmp/var/lib/apt/lists/partial/x\" [1]\n";
const BOOTSTRAP_B: &str = "2026-12-02 00:26:53 URL:http://deb.debian.org/x [1/1] -> \"/var/tmp/testbed/rootfs/b.tmp/var/lib/apt/lists/partial/x\" [1]\n";
const SHADOW_A: &str = "root:*:20789:0:99999:7:::\ndaemon:*:20789:0:99999:7:::\n";
const SHADOW_B: &str = "root:*:20790:0:99999:7:::\ndaemon:*:20790:0:99999:7:::\n";
const SHADOW_PASSWORD: &str = "root:$y$j9T$abc:20790:0:99999:7:::\ndaemon:*:20790:0:99999:7:::\n";
const HSTS_A: &str =
    "# HSTS 1.0 Known Hosts database for GNU Wget.\ndeb.debian.org\t0\t1\t1700000000\t63072000\n";
const HSTS_B: &str =
    "# HSTS 1.0 Known Hosts database for GNU Wget.\ndeb.debian.org\t0\t1\t1712345678\t63072000\n";
const HSTS_OTHER_HOST: &str =
    "# HSTS 1.0 Known Hosts database for GNU Wget.\nexample.org\t0\t1\t1712345678\t63072000\n";
const DIRECT_URL_A: &str = r#"{"url": "file:///tmp/pip-req-build-abc123de", "dir_info": {}}"#;
const DIRECT_URL_B: &str = r#"{"url": "file:///tmp/pip-req-build-xyz789gh", "dir_info": {}}"#;
const DIRECT_URL_REMOTE: &str =
    r#"{"url": "https://example.org/foo-1.0.tar.gz", "archive_info": {}}"#;

/// A file and the exact set of built-in rules that explain it.
fn labelled() -> Vec<(&'static str, Facts, &'static [&'static str])> {
    vec![
        ("var/log/dpkg.log", content(), &["common.var-log"]),
        ("var/log/apt/eipp.log.xz", presence(), &["common.var-log"]),
        (
            "var/log/dpkg.log",
            Text(DPKG_A, DPKG_B),
            &["common.log-timestamps", "common.var-log"],
        ),
        (
            "var/log/bootstrap.log",
            Text(BOOTSTRAP_A, BOOTSTRAP_B),
            &["common.log-build-paths", "common.var-log"],
        ),
        ("etc/machine-id", content(), &["common.machine-id"]),
        (
            "var/lib/dbus/machine-id",
            presence(),
            &["common.machine-id"],
        ),
        (
            "var/lib/systemd/random-seed",
            content(),
            &["common.random-seed"],
        ),
        (
            "etc/ssh/ssh_host_ed25519_key",
            content(),
            &["common.ssh-host-keys"],
        ),
        (
            "etc/ssh/ssh_host_rsa_key.pub",
            content(),
            &["common.ssh-host-keys"],
        ),
        (
            "etc/resolv.conf",
            Aspects(Aspect::Kind | Aspect::LinkTarget),
            &["common.build-host-files"],
        ),
        ("etc/hosts", content(), &["common.build-host-files"]),
        ("etc/hostname", presence(), &["common.build-host-files"]),
        (
            "etc/shadow",
            Text(SHADOW_A, SHADOW_B),
            &["common.shadow-last-change"],
        ),
        ("etc/passwd-", content(), &["common.account-backups"]),
        ("etc/gshadow-", content(), &["common.account-backups"]),
        ("etc/passwd", content(), &["common.accounts"]),
        ("etc/group", content(), &["common.accounts"]),
        ("usr/share/info/dir", content(), &["common.info-dir"]),
        (
            "var/cache/fontconfig/e13b20fdb08344e0e664864cc2ede53d-le64.cache-8",
            content(),
            &["common.fontconfig-cache"],
        ),
        (
            "usr/lib/fontconfig/cache/CACHEDIR.TAG",
            presence(),
            &["common.fontconfig-cache"],
        ),
        ("root/.bash_history", presence(), &["common.shell-history"]),
        (
            "root/.wget-hsts",
            Text(HSTS_A, HSTS_B),
            &["common.wget-hsts"],
        ),
        (
            "var/cache/ldconfig/aux-cache",
            content(),
            &["glibc.ldconfig-aux-cache"],
        ),
        ("etc/ld.so.cache", content(), &["glibc.ld-so-cache"]),
        (
            "var/lib/dpkg/status-old",
            content(),
            &["debian.dpkg-backups"],
        ),
        (
            "var/lib/dpkg/diversions-old",
            content(),
            &["debian.dpkg-backups"],
        ),
        (
            "var/cache/debconf/templates.dat-old",
            content(),
            &["debian.debconf-backups"],
        ),
        (
            "var/cache/apt/pkgcache.bin",
            content(),
            &["debian.apt-binary-cache"],
        ),
        (
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            content(),
            &["debian.apt-lists"],
        ),
        (
            "var/lib/apt/extended_states",
            content(),
            &["debian.apt-extended-states"],
        ),
        ("var/cache/man/index.db", content(), &["debian.man-db"]),
        ("var/cache/man/fr/index.db", presence(), &["debian.man-db"]),
        (
            "etc/ssl/certs/java/cacerts",
            content(),
            &["debian.java-cacerts"],
        ),
        ("lib/apk/db/scripts.tar", content(), &["alpine.apk-scripts"]),
        (
            "var/cache/apk/APKINDEX.d8b2a6f4.tar.gz",
            presence(),
            &["alpine.apk-cache"],
        ),
        ("var/lib/rpm/__db.001", content(), &["rpm.db-environment"]),
        (
            "usr/lib/sysimage/rpm/.rpm.lock",
            presence(),
            &["rpm.db-environment"],
        ),
        ("var/lib/rpm/Packages", content(), &["rpm.database"]),
        (
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            content(),
            &["rpm.database"],
        ),
        (
            "var/lib/dnf/history.sqlite",
            content(),
            &["rpm.dnf-history"],
        ),
        (
            "var/lib/yum/history/history-2026-12-01.sqlite",
            content(),
            &["rpm.dnf-history"],
        ),
        (
            "var/cache/dnf/fedora-1a2b3c/repodata/repomd.xml",
            presence(),
            &["rpm.dnf-cache"],
        ),
        (
            "usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
            content(),
            &["python.bytecode"],
        ),
        (
            "usr/lib/python3/dist-packages/foo/__pycache__",
            presence(),
            &["python.bytecode"],
        ),
        ("app/module.pyc", content(), &["python.bytecode"]),
        (
            "usr/local/lib/python3.12/site-packages/foo-1.0.dist-info/direct_url.json",
            Text(DIRECT_URL_A, DIRECT_URL_B),
            &["python.direct-url"],
        ),
        (
            "root/.cache/pip/http-v2/a/b/c",
            presence(),
            &["python.pip-cache"],
        ),
        (
            "app/node_modules/.package-lock.json",
            content(),
            &["node.hidden-lockfile"],
        ),
        (
            "root/.npm/_logs/2026-12-02T00_26_29_123Z-debug-0.log",
            presence(),
            &["node.npm-cache"],
        ),
        (
            "usr/local/share/.cache/yarn/v6/npm-x/package.json",
            presence(),
            &["node.yarn-cache"],
        ),
    ]
}

/// A file close to what a rule names, which that rule must not label.
fn near_misses() -> Vec<(&'static str, &'static str, Facts)> {
    vec![
        ("common.var-log", "var/logs/x.log", content()),
        (
            "common.var-log",
            "var/log/dpkg.log",
            Aspects(Aspect::Mode.into()),
        ),
        (
            "common.log-timestamps",
            "var/log/dpkg.log",
            Text(DPKG_A, DPKG_NEWER),
        ),
        ("common.log-timestamps", "var/log/dpkg.log", content()),
        (
            "common.log-timestamps",
            "var/log/bootstrap.log",
            Text(BOOTSTRAP_A, BOOTSTRAP_B),
        ),
        (
            "common.log-build-paths",
            "var/log/dpkg.log",
            Text(DPKG_A, DPKG_B),
        ),
        (
            "common.log-timestamps",
            "etc/dpkg.log",
            Text(DPKG_A, DPKG_B),
        ),
        ("common.machine-id", "etc/machine-info", content()),
        (
            "common.random-seed",
            "var/lib/systemd/timesync/clock",
            content(),
        ),
        ("common.ssh-host-keys", "etc/ssh/sshd_config", content()),
        ("common.build-host-files", "etc/hosts.allow", content()),
        (
            "common.build-host-files",
            "etc/resolv.conf",
            Aspects(Aspect::Mode.into()),
        ),
        (
            "common.shadow-last-change",
            "etc/shadow",
            Text(SHADOW_A, SHADOW_PASSWORD),
        ),
        ("common.shadow-last-change", "etc/shadow", content()),
        (
            "common.shadow-last-change",
            "etc/gshadow",
            Text(SHADOW_A, SHADOW_B),
        ),
        ("common.account-backups", "etc/passwd", content()),
        ("common.accounts", "etc/passwd-", content()),
        ("common.accounts", "etc/shadow", content()),
        (
            "common.info-dir",
            "usr/share/info/coreutils.info.gz",
            content(),
        ),
        ("common.fontconfig-cache", "etc/fonts/fonts.conf", content()),
        ("common.shell-history", "root/.bashrc", content()),
        (
            "common.wget-hsts",
            "root/.wget-hsts",
            Text(HSTS_A, HSTS_OTHER_HOST),
        ),
        ("common.wget-hsts", "root/.wgetrc", Text(HSTS_A, HSTS_B)),
        (
            "glibc.ldconfig-aux-cache",
            "var/cache/ldconfig/other",
            content(),
        ),
        ("glibc.ld-so-cache", "etc/ld.so.conf", content()),
        ("debian.dpkg-backups", "var/lib/dpkg/status", content()),
        (
            "debian.dpkg-backups",
            "var/lib/dpkg/info/foo-old",
            content(),
        ),
        (
            "debian.debconf-backups",
            "var/cache/debconf/config.dat",
            content(),
        ),
        (
            "debian.apt-binary-cache",
            "var/cache/apt/archives/foo.bin",
            content(),
        ),
        (
            "debian.apt-lists",
            "var/lib/apt/periodic/update-success-stamp",
            content(),
        ),
        (
            "debian.apt-extended-states",
            "var/lib/aptitude/pkgstates",
            content(),
        ),
        ("debian.man-db", "usr/share/man/man1/ls.1.gz", content()),
        (
            "debian.java-cacerts",
            "etc/ssl/certs/ca-certificates.crt",
            content(),
        ),
        ("alpine.apk-scripts", "lib/apk/db/installed", content()),
        ("alpine.apk-cache", "etc/apk/world", content()),
        ("rpm.db-environment", "var/lib/rpm/Packages", content()),
        ("rpm.database", "var/lib/rpm/__db.001", content()),
        ("rpm.database", "var/lib/rpm/.rpm.lock", content()),
        (
            "rpm.dnf-history",
            "var/lib/dnf/modulefailsafe/x.yaml",
            content(),
        ),
        ("rpm.dnf-cache", "var/lib/dnf/history.sqlite", content()),
        ("python.bytecode", "usr/lib/python3/os.py", content()),
        ("python.bytecode", "usr/lib/python3/pycache/x", content()),
        (
            "python.direct-url",
            "usr/lib/foo-1.0.dist-info/direct_url.json",
            Text(DIRECT_URL_A, DIRECT_URL_REMOTE),
        ),
        (
            "python.direct-url",
            "usr/lib/foo-1.0.dist-info/direct_url.json",
            content(),
        ),
        ("python.pip-cache", "root/.cache/other/x", content()),
        ("node.hidden-lockfile", "app/package-lock.json", content()),
        ("node.npm-cache", "root/.npmrc", content()),
        (
            "node.yarn-cache",
            "usr/local/share/.config/yarn/global/package.json",
            content(),
        ),
    ]
}

fn ids(explanations: &[Explanation]) -> Vec<&str> {
    explanations.iter().map(|e| e.rule.as_str()).collect()
}

#[test]
fn each_built_in_rule_labels_what_it_names_and_nothing_else() {
    let catalogue = Catalogue::builtin();
    for (path, case, expected) in labelled() {
        let explained = catalogue.explain(path, &facts(case));
        assert_eq!(ids(&explained), expected, "{path}");
    }
    for (rule, path, case) in near_misses() {
        let explained = catalogue.explain(path, &facts(case));
        assert!(
            !ids(&explained).contains(&rule),
            "{rule} labels {path}: {explained:?}"
        );
    }
}

#[test]
fn every_built_in_rule_has_test_cases() {
    let catalogue = Catalogue::builtin();
    let built_in: BTreeSet<&str> = catalogue.rules().iter().map(|r| r.id.as_str()).collect();
    assert!(
        built_in.len() >= 30,
        "assets/noise.toml read whole: {built_in:?}"
    );
    let labels: BTreeSet<&str> = labelled()
        .iter()
        .flat_map(|(_, _, ids)| ids.iter().copied())
        .collect();
    let misses: BTreeSet<&str> = near_misses().iter().map(|(id, _, _)| *id).collect();
    let without_case: Vec<&&str> = built_in.difference(&labels).collect();
    let without_near_miss: Vec<&&str> = built_in.difference(&misses).collect();
    assert!(
        without_case.is_empty(),
        "rules with no case they label: {without_case:?}"
    );
    assert!(
        without_near_miss.is_empty(),
        "rules with no near miss: {without_near_miss:?}"
    );
    let unknown: Vec<&&str> = labels
        .union(&misses)
        .filter(|id| !built_in.contains(**id))
        .collect();
    assert!(
        unknown.is_empty(),
        "cases name rules that do not exist: {unknown:?}"
    );
}

/// A complete rule, as a user would write it.
fn rule(id: &str, paths: &str, severity: &str, extra: &str) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\npaths = {paths}\ncategory = \"log\"\nseverity = \"{severity}\"\nexplanation = \"Ours.\"\n{extra}"
    )
}

fn explain_ids(catalogue: &Catalogue, path: &str, case: Facts) -> Vec<String> {
    catalogue
        .explain(path, &facts(case))
        .into_iter()
        .map(|e| e.rule)
        .collect()
}

#[test]
fn a_user_rule_with_a_built_in_id_replaces_it() {
    let mut catalogue = Catalogue::builtin();
    let count = catalogue.rules().len();
    let text = rule("common.var-log", r#"["var/log/**"]"#, "review", "");
    catalogue.add_user_rules("ours.toml", &text).expect("valid");
    assert_eq!(catalogue.rules().len(), count, "replaced, not added");
    let explained = catalogue.explain("var/log/dpkg.log", &facts(content()));
    assert_eq!(explained.len(), 1);
    assert_eq!(explained[0].rule, "common.var-log");
    assert_eq!(explained[0].severity, Severity::Review);
    assert_eq!(explained[0].text, "Ours.");
    let replaced = catalogue.rules().iter().find(|r| r.id == "common.var-log");
    assert_eq!(replaced.map(|r| r.origin.as_str()), Some("ours.toml"));
}

#[test]
fn a_user_file_turns_built_in_rules_off_by_id_or_pattern() {
    let mut catalogue = Catalogue::builtin();
    catalogue
        .add_user_rules("off.toml", "disable = [\"common.var-log\", \"python.*\"]\n")
        .expect("valid");
    assert!(explain_ids(&catalogue, "var/log/dpkg.log", content()).is_empty());
    assert!(explain_ids(&catalogue, "app/x.pyc", content()).is_empty());
    assert!(
        catalogue
            .rules()
            .iter()
            .all(|r| !r.id.starts_with("python."))
    );
    // The rest stays, the proven log rule too.
    assert_eq!(
        explain_ids(&catalogue, "var/log/dpkg.log", Text(DPKG_A, DPKG_B)),
        ["common.log-timestamps"]
    );
    assert_eq!(
        explain_ids(&catalogue, "etc/ld.so.cache", content()),
        ["glibc.ld-so-cache"]
    );
}

#[test]
fn user_rules_add_labels_and_later_files_win() {
    let mut catalogue = Catalogue::builtin();
    let first = rule(
        "ours.app-log",
        r#"["srv/app/*.log"]"#,
        "noise",
        "content = { changes = [\"timestamps\"] }\n",
    );
    catalogue
        .add_user_rules("first.toml", &first)
        .expect("valid");
    assert!(catalogue.wants_text("srv/app/run.log"));
    assert!(!catalogue.wants_text("srv/app/run.txt"));
    assert_eq!(
        explain_ids(&catalogue, "/srv/app/run.log", Text(DPKG_A, DPKG_B)),
        ["ours.app-log"]
    );
    assert!(explain_ids(&catalogue, "srv/app/run.log", Text(DPKG_A, DPKG_NEWER)).is_empty());
    // A second file turns the first one's rule off.
    catalogue
        .add_user_rules("second.toml", "disable = [\"ours.app-log\"]\n")
        .expect("valid");
    assert!(explain_ids(&catalogue, "srv/app/run.log", Text(DPKG_A, DPKG_B)).is_empty());
}

#[test]
fn a_rule_explains_only_the_aspects_it_names() {
    let mut catalogue = Catalogue::default();
    let text = rule(
        "ours.mode",
        r#"["opt/x"]"#,
        "noise",
        "aspects = [\"mode\"]\n",
    );
    catalogue.add_user_rules("ours.toml", &text).expect("valid");
    let explained = catalogue.explain("opt/x", &facts(Aspects(Aspect::Mode | Aspect::Owner)));
    assert_eq!(explained.len(), 1);
    assert_eq!(explained[0].aspects, AspectSet::only(Aspect::Mode));
    assert!(catalogue.explain("opt/x", &facts(content())).is_empty());
    // Derived aspects (digests) neither need nor get explaining.
    let digest_only = facts(Aspects(Aspect::Digest.into()));
    assert!(catalogue.explain("opt/x", &digest_only).is_empty());
}

#[test]
fn a_content_rule_explains_the_content_with_evidence() {
    let catalogue = Catalogue::builtin();
    let dpkg = facts(Text(DPKG_A, DPKG_B));
    let explained = catalogue.explain("var/log/dpkg.log", &dpkg);
    let proven = &explained[0];
    assert_eq!(proven.rule, "common.log-timestamps");
    assert_eq!(proven.aspects, AspectSet::only(Aspect::Content));
    assert_eq!(
        proven.evidence.as_deref(),
        Some("2 changed lines differ only in timestamps")
    );
    let shadow = catalogue.explain("etc/shadow", &facts(Text(SHADOW_A, SHADOW_B)));
    assert_eq!(
        shadow[0].evidence.as_deref(),
        Some("2 changed lines differ only in field 3")
    );
    // The same text without a content difference in the facts proves nothing.
    let no_content = FileFacts::new(Aspect::Mode.into())
        .with_text(TextChange::new(DPKG_A.as_bytes(), DPKG_B.as_bytes()));
    assert!(
        catalogue
            .explain("var/log/dpkg.log", &no_content)
            .iter()
            .all(|e| e.rule != "common.log-timestamps")
    );
}

#[test]
fn malformed_rules_files_fail_in_one_line_naming_file_and_line() {
    let valid = rule("ours.x", r#"["a"]"#, "noise", "");
    let cases: Vec<(String, &str)> = vec![
        (
            "[[rule]\nid = \"x\"\n".to_owned(),
            "my.toml:1: unclosed array table, expected `]`",
        ),
        (
            valid.replace("category", "categroy"),
            "my.toml:4: unknown field `categroy`, expected one of `id`, `paths`, `category`, `severity`, `explanation`, `aspects`, `content`",
        ),
        (
            valid.replace("\"log\"", "\"logs\""),
            "my.toml:4: unknown variant `logs`, expected one of `log`, `cache`, `timestamp`, `build-path`, `random-id`, `package-db`, `backup`, `build-environment`, `accounts`, `package`",
        ),
        (
            format!("\n{}", valid.replace("severity = \"noise\"\n", "")),
            "my.toml:2: missing field `severity`",
        ),
        (
            valid.replace("[\"a\"]", "[\"a/[b\"]"),
            "my.toml:3: bad path pattern: error parsing glob 'a/[b': unclosed character class; missing ']'",
        ),
        (
            valid.replace("[\"a\"]", "[]"),
            "my.toml:3: `paths` is empty",
        ),
        (
            valid.replace("\"ours.x\"", "\"ours x\""),
            "my.toml:2: bad rule id \"ours x\": 1 to 64 letters, digits, `.`, `-` or `_`",
        ),
        (
            format!("{valid}\n{valid}"),
            "my.toml:9: rule \"ours.x\" is defined twice in this file",
        ),
        (
            format!("{valid}content = {{ changes = [\"other\"] }}\n"),
            "my.toml:7: unknown variant `other`, expected one of `timestamps`, `build-paths`, `timestamps-and-build-paths`",
        ),
        (
            format!("{valid}content = {{ changes = [\"timestamps\"], fields = [3] }}\n"),
            "my.toml:7: `content` takes either `changes` or `fields`, not both",
        ),
        (
            format!("{valid}content = {{ fields = [3], separator = \"::\" }}\n"),
            "my.toml:7: `fields` needs a `separator` of one ASCII character",
        ),
        (
            format!("{valid}content = {{ fields = [0], separator = \":\" }}\n"),
            "my.toml:7: `fields` lists field numbers, counted from 1",
        ),
        (
            format!("{valid}aspects = [\"content\"]\ncontent = {{ changes = [\"timestamps\"] }}\n"),
            "my.toml:7: a rule with a `content` condition explains the content only: remove `aspects`",
        ),
        (
            format!("{valid}aspects = [\"digest\"]\n"),
            "my.toml:7: `digest` only restates other differences and cannot be explained on its own",
        ),
        (
            valid.replace("\"Ours.\"", "\"\"\"\ntwo\nlines\"\"\""),
            "my.toml:6: `explanation` must be one line without control characters",
        ),
        (
            "disable = [\"nope.*\"]\n".to_owned(),
            "my.toml:1: `disable`: no rule in force has an id matching \"nope.*\"",
        ),
        (
            "rule = 3\n".to_owned(),
            "my.toml:1: invalid type: integer `3`, expected a sequence",
        ),
    ];
    for (text, expected) in cases {
        let mut catalogue = Catalogue::builtin();
        let before = catalogue.rules().len();
        let error = catalogue
            .add_user_rules("my.toml", &text)
            .expect_err(&text)
            .to_string();
        assert_eq!(error, expected, "{text}");
        assert!(!error.contains('\n'));
        assert_eq!(catalogue.rules().len(), before, "unchanged after an error");
    }
}

#[test]
fn hostile_file_names_and_sizes_stay_one_inert_line() {
    let mut catalogue = Catalogue::builtin();
    let error = catalogue
        .add_user_rules("evil\u{1b}[2J\n.toml", "rule = 3\n")
        .expect_err("invalid");
    assert_eq!(
        error.to_string(),
        "evil\\u{1b}[2J\\n.toml:1: invalid type: integer `3`, expected a sequence"
    );
    let big = "#".repeat(MAX_RULES_FILE_BYTES + 1);
    let error = catalogue
        .add_user_rules("big.toml", &big)
        .expect_err("too large");
    assert_eq!(
        error.to_string(),
        format!(
            "big.toml: too large for a rules file ({} bytes, limit {MAX_RULES_FILE_BYTES})",
            MAX_RULES_FILE_BYTES + 1
        )
    );
}

#[test]
fn the_format_documentation_example_is_a_valid_rules_file() {
    let doc = include_str!("../../../assets/NOISE-RULES.md");
    let example = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("NOISE-RULES.md has a ```toml example");
    let mut catalogue = Catalogue::builtin();
    catalogue
        .add_user_rules("NOISE-RULES.md", example)
        .expect("the documented example is valid");
    assert!(
        catalogue
            .rules()
            .iter()
            .any(|r| r.id == "acme.passwd-dates")
    );
    assert!(catalogue.rules().iter().all(|r| r.id != "common.var-log"));
}

#[test]
fn text_is_wanted_only_where_a_content_rule_could_use_it() {
    let catalogue = Catalogue::builtin();
    for path in [
        "var/log/dpkg.log",
        "/var/log/apt/term.log",
        "etc/shadow",
        "root/.wget-hsts",
    ] {
        assert!(catalogue.wants_text(path), "{path}");
    }
    for path in [
        "etc/passwd",
        "usr/bin/ls",
        "var/cache/ldconfig/aux-cache",
        "var/logs/x",
    ] {
        assert!(!catalogue.wants_text(path), "{path}");
    }
    assert!(!Catalogue::default().wants_text("var/log/dpkg.log"));
}

#[test]
fn evidence_counts_lines_in_plain_english() {
    let catalogue = Catalogue::builtin();
    let one_line = facts(Text(
        "2026-12-02 00:26:29 startup\n",
        "2026-12-02 00:27:29 startup\n",
    ));
    let explained = catalogue.explain("var/log/dpkg.log", &one_line);
    assert_eq!(
        explained[0].evidence.as_deref(),
        Some("1 changed line differs only in timestamps")
    );
}

#[test]
fn the_catalogue_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Catalogue>();
    shared::<Explanation>();
}
