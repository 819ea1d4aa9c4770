//! Registry inputs against real registries (Debian's `docker-registry`) on 127.0.0.1: anonymous,
//! Basic auth from a Docker config, Bearer tokens, TLS with a private CA, a two-platform index, the
//! blob cache, and streams cut mid-download (retried and resumed; or a clear error). Hostile
//! servers (silent, trickling, a silent token server, a hung credential helper, a lying CDN) are
//! faced with `OCIDIFF_NETWORK_TIMEOUT` of 1 or 2 s; each such run is killed after a minute, so a
//! hang fails the test instead of hanging the suite.
//!
//! Needs `docker-registry skopeo openssl apache2-utils python3` (`.ci/run` installs them): without
//! them the tests fail when `CI` is set and are skipped otherwise.

mod registry_support;
mod support;
mod tui_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ocidiff::fixture::{ImageBuilder, IndexBuilder, LayerBuilder, LayerCompression};
use registry_support::{
    BlobServer, Hold, IDENTITY_TOKEN, Lie, Mode, PASSWORD, Proxy, Registry, SilentServer, USER,
    noise, run, run_within, tools,
};
use support::{Pair, Report, path_str};

/// Two images that share a base layer and differ in the top layer and the config.
fn image(variant: &str, arch: &str) -> ImageBuilder {
    let base = LayerBuilder::new()
        .file("etc/base", noise(1, 48 * 1024))
        .build();
    let top = LayerBuilder::new()
        .file("etc/top", noise(variant.len() as u64 + 7, 40 * 1024))
        .file("etc/variant", format!("{variant}\n"))
        .file("etc/arch", format!("{arch}\n"))
        .build();
    ImageBuilder::new()
        .platform("linux", arch, None)
        .layer(base, LayerCompression::Gzip)
        .layer(top, LayerCompression::Gzip)
        .config(serde_json::json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": arch,
            "os": "linux",
            "config": {"Env": [format!("VARIANT={variant}")]},
            "rootfs": {"type": "layers", "diff_ids": []},
        }))
}

/// Layouts `a` and `b` (single images) under `dir`.
fn layouts(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    image("a", "amd64").write_oci_layout(&a, None).unwrap();
    image("bb", "amd64").write_oci_layout(&b, None).unwrap();
    (a, b)
}

/// A registry with `test/a:1` and `test/b:1` pushed, and the layouts they came from.
fn registry_with_pair(mode: Mode) -> (Registry, PathBuf, PathBuf) {
    let registry = Registry::start(mode);
    let (a, b) = layouts(registry.dir.path());
    registry.push(&a, "test/a:1");
    registry.push(&b, "test/b:1");
    (registry, a, b)
}

fn refs(host: &str) -> (String, String) {
    (format!("{host}/test/a:1"), format!("{host}/test/b:1"))
}

fn args(flags: &[&str], a: &str, b: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["--format".into(), "json".into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend([a.to_owned(), b.to_owned()]);
    args
}

/// Compares `a` and `b` expecting differences and no error; returns the report.
fn differs(flags: &[&str], a: &str, b: &str, env: &[(&str, &Path)]) -> Report {
    let run = run(&args(flags, a, b), env);
    assert_eq!(run.code, 1, "{a} vs {b}: {}", run.stderr);
    run.json()
}

/// Every delta except the image-name annotations, which name the inputs.
fn deltas(report: &Report) -> BTreeSet<Pair> {
    report
        .all()
        .into_iter()
        .filter(|p| !p.field.contains("image.name") && !p.field.contains("ref.name"))
        .collect()
}

fn cache_flag(dir: &Path) -> String {
    format!("--cache-dir={}", dir.join("cache").display())
}

#[test]
fn anonymous_pull_gives_the_report_of_the_local_layouts() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Plain);
    let (ra, rb) = refs(&registry.host());
    let cache = cache_flag(registry.dir.path());
    let remote = differs(&[&cache], &ra, &rb, &[]);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(deltas(&remote), deltas(&local));
    assert!(!deltas(&remote).is_empty());
    let semantic = ["--semantic", cache.as_str()];
    let remote = differs(&semantic, &ra, &rb, &[]);
    let local = differs(&["--semantic"], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(remote.shown(), local.shown());
}

fn docker_config(dir: &Path, registry: &str, user: &str, password: &str) -> PathBuf {
    let config = dir.join(format!("docker-{password}"));
    std::fs::create_dir_all(&config).unwrap();
    let auth = base64(format!("{user}:{password}").as_bytes());
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#),
    )
    .unwrap();
    config
}

/// A Docker config whose `credsStore` is a `docker-credential-test` program answering with the
/// test user, and the PATH that finds it.
fn credential_helper(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("docker-helper");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.json"), r#"{"credsStore": "test"}"#).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (config, PathBuf::from(path))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn basic_auth_comes_from_the_docker_config_and_the_password_never_shows() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Basic);
    let dir = registry.dir.path();
    let (ra, rb) = refs(&registry.host());
    let good = docker_config(dir, &registry.host(), USER, PASSWORD);
    let report_file = dir.join("report.json");
    let cache = cache_flag(dir);
    let flags = [
        cache.as_str(),
        "--report-file",
        report_file.to_str().unwrap(),
    ];
    let run_ok = run(&args(&flags, &ra, &rb), &[("DOCKER_CONFIG", &good)]);
    assert_eq!(run_ok.code, 1, "{}", run_ok.stderr);
    let wrong_password = "Wrong-7d1a-secret";
    let bad = docker_config(dir, &registry.host(), USER, wrong_password);
    let run_bad = run(&args(&["--no-cache"], &ra, &rb), &[("DOCKER_CONFIG", &bad)]);
    assert_eq!(run_bad.code, 2, "{}", run_bad.stderr);
    assert!(
        run_bad.stderr.contains("unauthorized"),
        "{}",
        run_bad.stderr
    );
    let (helper_config, path) = credential_helper(dir);
    let run_helper = run(
        &args(&["--no-cache"], &ra, &rb),
        &[("DOCKER_CONFIG", &helper_config), ("PATH", &path)],
    );
    assert_eq!(run_helper.code, 1, "{}", run_helper.stderr);
    let run_none = run(&args(&["--no-cache"], &ra, &rb), &[]);
    assert_eq!(run_none.code, 2, "{}", run_none.stderr);
    assert!(
        run_none.stderr.contains("no credentials for"),
        "{}",
        run_none.stderr
    );
    let report = std::fs::read_to_string(&report_file).unwrap();
    let encoded = base64(format!("{USER}:{PASSWORD}").as_bytes());
    for text in [
        &run_helper.stderr,
        &run_ok.stdout,
        &run_ok.stderr,
        &report,
        &run_bad.stdout,
        &run_bad.stderr,
    ] {
        for secret in [PASSWORD, wrong_password, encoded.as_str()] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

#[test]
fn bearer_tokens_are_fetched_from_the_token_server() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Token);
    let (ra, rb) = refs(&registry.host());
    let cache = cache_flag(registry.dir.path());
    let anonymous = differs(&[&cache], &ra, &rb, &[]);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(deltas(&anonymous), deltas(&local));
    let config = docker_config(registry.dir.path(), &registry.host(), USER, PASSWORD);
    let named = differs(&["--no-cache"], &ra, &rb, &[("DOCKER_CONFIG", &config)]);
    assert_eq!(deltas(&named), deltas(&local));
}

#[test]
fn identity_tokens_are_exchanged_for_access_tokens() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Token);
    let dir = registry.dir.path();
    let (ra, rb) = refs(&registry.host());
    let config = identity_config(dir, &registry.host(), IDENTITY_TOKEN);
    let exchanged = differs(&["--no-cache"], &ra, &rb, &[("DOCKER_CONFIG", &config)]);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(deltas(&exchanged), deltas(&local));
    let log = std::fs::read_to_string(dir.join("token-server.log")).unwrap();
    assert!(log.contains("\"POST /token HTTP/1.1\" 200"), "{log}");
    let wrong = "Idt-wrong-7c2e";
    let config = identity_config(dir, &registry.host(), wrong);
    let refused = run(
        &args(&["--no-cache"], &ra, &rb),
        &[("DOCKER_CONFIG", &config)],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refused the identity token"),
        "{}",
        refused.stderr
    );
    for text in [&exchanged.0.to_string(), &refused.stdout, &refused.stderr] {
        assert!(
            !text.contains(IDENTITY_TOKEN) && !text.contains(wrong),
            "{text}"
        );
    }
}

fn identity_config(dir: &Path, registry: &str, token: &str) -> PathBuf {
    let config = dir.join(format!("docker-{token}"));
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths": {{"{registry}": {{"identitytoken": "{token}"}}}}}}"#),
    )
    .unwrap();
    config
}

#[test]
fn tls_needs_the_private_ca_unless_the_registry_is_declared_insecure() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Tls);
    let (ra, rb) = refs(&registry.host());
    let ca = format!("--registry-ca={}", registry.ca().display());
    differs(&["--no-cache", &ca], &ra, &rb, &[]);
    let untrusted = run(&args(&["--no-cache"], &ra, &rb), &[]);
    assert_eq!(untrusted.code, 2, "{}", untrusted.stderr);
    let line = untrusted
        .stderr
        .lines()
        .find(|l| l.contains("--registry-ca"))
        .unwrap_or_else(|| panic!("no hint about --registry-ca: {}", untrusted.stderr));
    assert!(
        line.contains(&format!("registry {}", registry.host())),
        "{line}"
    );
    assert!(line.contains("certificate"), "{line}");
    // Docker's meaning of --insecure-registry: TLS without verification is accepted too.
    let insecure = format!("--insecure-registry={}", registry.host());
    differs(&["--no-cache", &insecure], &ra, &rb, &[]);
}

fn manifest_platforms(report: &Report) -> BTreeSet<String> {
    report.0["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"]["type"] == "manifest")
        .filter_map(|c| c["kind"]["platform"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn both_platforms_of_an_index_are_compared_and_platform_picks_one() {
    let Some(()) = tools() else { return };
    let registry = Registry::start(Mode::Plain);
    let dir = registry.dir.path();
    for (name, variant) in [("a", "a"), ("b", "bb")] {
        let layout = dir.join(format!("index-{name}"));
        IndexBuilder::new()
            .image(image(variant, "amd64"))
            .image(image(variant, "arm64"))
            .write_oci_layout(&layout, None)
            .unwrap();
        registry.push(&layout, &format!("test/{name}:multi"));
    }
    let host = registry.host();
    let (ra, rb) = (
        format!("{host}/test/a:multi"),
        format!("{host}/test/b:multi"),
    );
    let both = differs(&["--no-cache"], &ra, &rb, &[]);
    let expected: BTreeSet<String> = ["linux/amd64".into(), "linux/arm64".into()].into();
    assert_eq!(manifest_platforms(&both), expected);
    let before = registry.blob_gets();
    let one = differs(&["--no-cache", "--platform=linux/arm64"], &ra, &rb, &[]);
    assert_eq!(manifest_platforms(&one), ["linux/arm64".to_owned()].into());
    // One platform: its config and its differing top layer on each side; the shared base layer
    // is not read at all.
    assert_eq!(registry.blob_gets() - before, 4);
}

#[test]
fn cut_streams_are_retried_and_resumed() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Plain);
    let proxy = Proxy::start(registry.port, 3, 3000);
    let (ra, rb) = refs(&proxy.host());
    let remote = differs(&["--no-cache"], &ra, &rb, &[]);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(deltas(&remote), deltas(&local));
    // 2 configs and 2 differing layers, 3 of them cut once and resumed.
    let gets = proxy.blob_gets.load(std::sync::atomic::Ordering::SeqCst);
    assert!(gets >= 4 + 3, "{gets} blob requests");
    let log = std::fs::read_to_string(registry.dir.path().join("registry.log")).unwrap();
    assert!(log.contains("206"), "no range request was answered");
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Plain);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    for (path, object) in [
        ("/blobs/", ": blob sha256:"),
        ("/manifests/", ": manifest 1:"),
    ] {
        let proxy = Proxy::throttling(registry.port, path, 1, "2");
        let (ra, rb) = refs(&proxy.host());
        let started = std::time::Instant::now();
        let remote = differs(&["--no-cache"], &ra, &rb, &[]);
        // Without the header the first wait would be 1 s.
        assert!(
            started.elapsed().as_millis() >= 2000,
            "{path}: {:?}",
            started.elapsed()
        );
        assert_eq!(deltas(&remote), deltas(&local), "{path}");

        let proxy = Proxy::throttling(registry.port, path, usize::MAX, "3600");
        let (ra, rb) = refs(&proxy.host());
        let started = std::time::Instant::now();
        let failed = run(&args(&["--no-cache"], &ra, &rb), &[]);
        assert_eq!(failed.code, 2, "{}", failed.stderr);
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        let line = failed
            .stderr
            .lines()
            .find(|l| l.contains("retry after 3600 s"))
            .unwrap_or_else(|| panic!("no clear error: {}", failed.stderr));
        assert!(line.contains(object), "{line}");
    }
}

#[test]
fn a_missing_tag_is_named_with_the_registry_s_own_words() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let host = registry.host();
    let missing = run(
        &args(
            &["--no-cache"],
            &format!("{host}/test/a:nope"),
            &format!("{host}/test/b:1"),
        ),
        &[],
    );
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    let line = missing
        .stderr
        .lines()
        .find(|l| l.contains("manifest nope"))
        .unwrap_or_else(|| panic!("no error naming the tag: {}", missing.stderr));
    assert!(line.contains("HTTP 404: manifest unknown"), "{line}");
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
}

#[test]
fn a_registry_that_always_cuts_fails_with_one_clear_line() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let proxy = Proxy::start(registry.port, usize::MAX, 3000);
    let (ra, rb) = refs(&proxy.host());
    let started = std::time::Instant::now();
    let tmp = registry.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let failed = run(&args(&["--no-cache"], &ra, &rb), &[("TMPDIR", &tmp)]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "--no-cache left {left:?}");
    let line = failed
        .stderr
        .lines()
        .find(|l| l.contains("after 4 attempts"))
        .unwrap_or_else(|| panic!("no final error: {}", failed.stderr));
    let registry_part = format!("registry {}, repository test/", proxy.host());
    assert!(line.contains(&registry_part), "{line}");
    assert!(line.contains(": blob sha256:"), "{line}");
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    assert!(line.contains("connection lost after"), "{line}");
    assert!(
        !line.contains("corrupt"),
        "a failed download is not bad content: {line}"
    );
}

#[test]
fn the_cache_serves_a_second_run_and_never_keeps_a_bad_blob() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let proxy = Proxy::start(registry.port, 0, 0);
    let (ra, rb) = refs(&proxy.host());
    let dir = registry.dir.path();
    let cache = cache_flag(dir);
    let gets = || proxy.blob_gets.load(std::sync::atomic::Ordering::SeqCst);
    let first = differs(&[&cache], &ra, &rb, &[]);
    let downloaded = gets();
    assert_eq!(downloaded, 4, "2 configs and 2 differing layers");
    let second = differs(&[&cache], &ra, &rb, &[]);
    assert_eq!(gets(), downloaded, "the second run downloaded blobs");
    assert_eq!(deltas(&first), deltas(&second));

    // A corrupted cache file is noticed, replaced by a fresh download, and the run succeeds.
    let blobs = dir.join("cache/blobs/sha256");
    let layer = largest_file(&blobs);
    std::fs::write(&layer, b"corrupt").unwrap();
    let third = differs(&[&cache], &ra, &rb, &[]);
    assert_eq!(gets(), downloaded + 1);
    assert_eq!(deltas(&first), deltas(&third));
    let hex = layer.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(sha256_hex(&std::fs::read(&layer).unwrap()), hex);

    // A blob the registry serves with the wrong content fails the run and is not cached.
    let stored = registry.blob_data(&hex);
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, bytes).unwrap();
    let fresh = format!("--cache-dir={}", dir.join("fresh").display());
    let bad = run(&args(&[&fresh], &ra, &rb), &[]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let error = bad
        .stderr
        .lines()
        .find(|l| l.contains(&hex))
        .unwrap_or_default();
    assert!(
        error.contains("digest mismatch") || error.contains("corrupt"),
        "{}",
        bad.stderr
    );
    assert!(!dir.join("fresh/blobs/sha256").join(&hex).exists());
}

fn largest_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ocidiff::oci::Digest::sha256_of(bytes).hex()
}

#[test]
fn pull_missing_and_never_are_served_by_the_cache() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let proxy = Proxy::start(registry.port, 0, 0);
    let (ra, rb) = refs(&proxy.host());
    let kept = tempfile::TempDir::new().unwrap();
    let cache = cache_flag(kept.path());
    let gets = || proxy.blob_gets.load(std::sync::atomic::Ordering::SeqCst);
    let fails_with = |pull: &str, expected: &str| {
        let failed = run(&args(&[&cache, pull], &ra, &rb), &[]);
        assert_eq!(failed.code, 2, "{pull}: {}", failed.stderr);
        assert!(
            failed.stderr.contains(expected),
            "{pull}: {}",
            failed.stderr
        );
    };

    // Nothing cached yet: --pull=never asks nobody and says what is missing.
    fails_with("--pull=never", "manifest 127.0.0.1");
    fails_with(
        "--pull=never",
        "not in the cache, and --pull=never forbids downloading it",
    );
    assert_eq!(gets(), 0);
    let online = differs(&[&cache], &ra, &rb, &[]);
    assert_eq!(gets(), 4);

    // A blob gone from the cache: --pull=missing downloads just that one, --pull=never refuses.
    let layer = largest_file(&kept.path().join("cache/blobs/sha256"));
    let hex = layer.file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::remove_file(&layer).unwrap();
    let refetched = differs(&[&cache, "--pull=missing"], &ra, &rb, &[]);
    assert_eq!(gets(), 5);
    assert_eq!(deltas(&refetched), deltas(&online));
    std::fs::remove_file(&layer).unwrap();
    fails_with(
        "--pull=never",
        &format!("blob sha256:{hex}: not in the cache"),
    );
    assert_eq!(gets(), 5);
    differs(&[&cache, "--pull=missing"], &ra, &rb, &[]);

    // With the registry gone, both still give the same report; --pull=always needs the registry.
    drop(proxy);
    drop(registry);
    for pull in ["--pull=missing", "--pull=never"] {
        let offline = differs(&[&cache, pull], &ra, &rb, &[]);
        assert_eq!(deltas(&offline), deltas(&online), "{pull}");
    }
    let always = run(&args(&[&cache, "--pull=always"], &ra, &rb), &[]);
    assert_eq!(always.code, 2, "{}", always.stderr);
}

#[test]
fn prune_cache_removes_what_no_run_used_lately() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let (ra, rb) = refs(&registry.host());
    let cache = cache_flag(registry.dir.path());
    let online = differs(&[&cache], &ra, &rb, &[]);
    let prune = |days: &str| {
        let pruned = run(
            &[
                "prune-cache".to_owned(),
                cache.clone(),
                format!("--unused-for={days}"),
            ],
            &[],
        );
        assert_eq!(pruned.code, 0, "{}", pruned.stderr);
        pruned.stdout
    };
    // Everything was used just now.
    assert!(prune("1").contains(": removed 0 files"));
    let offline = differs(&[&cache, "--pull=never"], &ra, &rb, &[]);
    assert_eq!(deltas(&offline), deltas(&online));
    // 2 manifests, 2 configs, 2 differing layers and the 2 reference notes.
    let all = prune("0");
    assert!(
        all.contains(": removed 8 files") && all.contains("kept 0 files"),
        "{all}"
    );
    let blobs = registry.dir.path().join("cache/blobs/sha256");
    assert_eq!(std::fs::read_dir(blobs).unwrap().count(), 0);
    let emptied = run(&args(&[&cache, "--pull=never"], &ra, &rb), &[]);
    assert_eq!(emptied.code, 2, "{}", emptied.stderr);
}

#[test]
fn an_ipv6_literal_registry_is_reached() {
    let Some(()) = tools() else { return };
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let (registry, a, b) = registry_with_pair(Mode::Plain);
    let proxy = Proxy::ipv6(registry.port);
    let host = proxy.host();
    assert!(host.starts_with("[::1]:"), "{host}");
    let (ra, rb) = refs(&host);
    let remote = differs(&["--no-cache"], &ra, &rb, &[]);
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    assert_eq!(deltas(&remote), deltas(&local));
    assert_eq!(proxy.blob_gets.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// How long a run against a hostile server may take before it is killed and the test fails: what
/// today's limits must beat by far (a hang would otherwise hang the test suite).
const HARD_LIMIT: Duration = Duration::from_secs(60);

/// The most a run may take with `--network-timeout=SECS` when every try of a request fails at
/// that limit: 4 tries of at most 3 timeouts each (the token server's challenge, the response, a
/// window of the body), with the backoffs and the start of the process well inside the slack.
fn bound(timeout_secs: u64) -> Duration {
    Duration::from_secs(4 * 3 * timeout_secs + 10)
}

/// Runs `--format json --no-cache A B` with `OCIDIFF_NETWORK_TIMEOUT=SECS` (plus `env`), expecting
/// it to fail (exit 2) within [`bound`]; returns the one line that names `registry` (an error found
/// while comparing is followed by the summary).
fn fails_within(secs: u64, a: &str, b: &str, env: &[(&str, &Path)], registry: &str) -> String {
    let (run, elapsed) = run_limited(secs, a, b, env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let limit = bound(secs);
    assert!(
        elapsed < limit,
        "took {elapsed:?}, more than {limit:?}: {}",
        run.stderr
    );
    let named = format!("registry {registry}, repository test/");
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains(&named)).collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    eprintln!("{elapsed:.1?}: {}", lines[0]);
    lines[0].to_owned()
}

/// Runs `--format json --no-cache A B` with `OCIDIFF_NETWORK_TIMEOUT=SECS` plus `env`, killed
/// after [`HARD_LIMIT`].
fn run_limited(secs: u64, a: &str, b: &str, env: &[(&str, &Path)]) -> (support::Run, Duration) {
    let secs = secs.to_string();
    let mut env = env.to_vec();
    env.push(("OCIDIFF_NETWORK_TIMEOUT", Path::new(&secs)));
    run_within(&args(&["--no-cache"], a, b), &env, HARD_LIMIT)
}

fn assert_contains(line: &str, needles: &[&str]) {
    for needle in needles {
        assert!(line.contains(needle), "{needle:?} not in {line}");
    }
}

/// A registry that accepts connections and never answers (not the HTTPS probe, not `/v2/`), and
/// one whose manifests, or blobs, never get an answer: each ends in a one-line error naming what
/// got no response, after 4 tries of 1 s.
#[test]
fn a_registry_that_never_answers_fails_in_bounded_time() {
    let Some(()) = tools() else { return };
    let silent = SilentServer::start();
    let (ra, rb) = refs(&silent.host());
    let line = fails_within(1, &ra, &rb, &[], &silent.host());
    assert_contains(
        &line,
        &[
            ": manifest 1: no response within 1 s after 4 attempts",
            "(set --network-timeout to wait longer)",
        ],
    );

    let (registry, _, _) = registry_with_pair(Mode::Plain);
    for (path, object) in [
        ("/manifests/", ": manifest 1: "),
        ("/blobs/", ": blob sha256:"),
    ] {
        let proxy = Proxy::stalling(registry.port, path, Hold::Silence);
        let (ra, rb) = refs(&proxy.host());
        let line = fails_within(1, &ra, &rb, &[], &proxy.host());
        assert_contains(
            &line,
            &[
                object,
                "no response within 1 s after 4 attempts (set --network-timeout",
            ],
        );
    }
}

/// A registry that trickles manifests, or blobs, one byte a second: never silent for the 2 s
/// timeout, so only the minimum rate (1 KiB/s, the default) can tell, and it does within one
/// window per try. A blob's message says how far it got, counting what earlier tries brought.
#[test]
fn a_registry_that_trickles_fails_in_bounded_time() {
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Plain);
    let slow = Hold::Trickle(Duration::from_secs(1));
    for (path, object) in [
        ("/manifests/", ": manifest 1: "),
        ("/blobs/", ": blob sha256:"),
    ] {
        let proxy = Proxy::stalling(registry.port, path, slow);
        let (ra, rb) = refs(&proxy.host());
        let line = fails_within(2, &ra, &rb, &[], &proxy.host());
        assert_contains(
            &line,
            &[
                object,
                "stalled: ",
                " in 2 s, under the minimum of 1024 bytes/s",
                "after 4 attempts (set --network-min-rate to accept slower transfers)",
            ],
        );
        if path == "/blobs/" {
            let so_far = line.split(" bytes/s after ").nth(1).unwrap_or_default();
            let (written, size) = so_far
                .split_once(" of ")
                .unwrap_or_else(|| panic!("no progress in {line}"));
            let size: u64 = size.split(' ').next().unwrap_or("").parse().expect("size");
            let written: u64 = written.parse().expect("bytes written");
            assert!(written > 0 && written < size, "{line}");
        }
    }
}

/// A token server that accepts the request for a token and never answers it: the error names the
/// token server, after 4 tries.
#[test]
fn a_token_server_that_never_answers_fails_in_bounded_time() {
    let Some(()) = tools() else { return };
    let mut front = None;
    let registry = Registry::start_with_realm(Mode::Token, |token_port| {
        let proxy = Proxy::stalling(token_port, "/token", Hold::Silence);
        // Off while the test images are pushed.
        proxy.stall(false);
        let port = proxy.port;
        front = Some(proxy);
        port
    });
    let front = front.expect("the token server's proxy");
    let (a, b) = layouts(registry.dir.path());
    registry.push(&a, "test/a:1");
    registry.push(&b, "test/b:1");
    front.stall(true);
    let (ra, rb) = refs(&registry.host());
    let line = fails_within(1, &ra, &rb, &[], &registry.host());
    let token_part = format!(": manifest 1: token server 127.0.0.1:{}: ", front.port);
    assert_contains(
        &line,
        &[
            &token_part,
            "no response within 1 s after 4 attempts (set --network-timeout",
        ],
    );
}

/// A `docker-credential-*` helper that never exits is killed at the timeout: the run goes on
/// without credentials and the refusal says why there were none.
#[test]
fn a_credential_helper_that_never_exits_is_given_up_on() {
    use std::os::unix::fs::PermissionsExt;
    let Some(()) = tools() else { return };
    let (registry, _, _) = registry_with_pair(Mode::Basic);
    let dir = registry.dir.path();
    let bin = dir.join("hung-helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-hung");
    std::fs::write(&helper, "#!/bin/sh\nexec sleep 120\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("docker-hung");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.json"), r#"{"credsStore": "hung"}"#).unwrap();
    let path = PathBuf::from(format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    ));
    let (ra, rb) = refs(&registry.host());
    let env = [
        ("DOCKER_CONFIG", config.as_path()),
        ("PATH", path.as_path()),
    ];
    let line = fails_within(1, &ra, &rb, &env, &registry.host());
    let helper_part = format!(
        "the credential helper docker-credential-hung for {}: no response within 1 s",
        registry.host()
    );
    assert_contains(&line, &["unauthorized", &helper_part]);
}

/// A registry that sends blob downloads to another host (its CDN): the credentials stay with the
/// registry, and a CDN that lies about a body's length (announcing more than it sends, then going
/// silent; or less than the blob) still ends in the verified blob, resumed where it stopped.
#[test]
fn redirects_drop_credentials_and_lying_lengths_end_in_verified_blobs() {
    let Some(()) = tools() else { return };
    let (registry, a, b) = registry_with_pair(Mode::Basic);
    let dir = registry.dir.path();
    let local = differs(&[], &path_str(&a), &path_str(&b), &[]);
    for lie in [Lie::None, Lie::LongerThanSent, Lie::ShorterThanReal] {
        let cdn = BlobServer::start(&registry, lie);
        let proxy = Proxy::redirecting_blobs(registry.port, cdn.port);
        let config = docker_config(dir, &proxy.host(), USER, PASSWORD);
        let (ra, rb) = refs(&proxy.host());
        let env = [("DOCKER_CONFIG", config.as_path())];
        let (run, elapsed) = run_limited(1, &ra, &rb, &env);
        assert_eq!(run.code, 1, "{lie:?}: {}", run.stderr);
        assert!(elapsed < bound(1), "{lie:?}: took {elapsed:?}");
        assert_eq!(deltas(&run.json()), deltas(&local), "{lie:?}");
        let seen = cdn.seen();
        assert!(seen.len() >= 4, "{lie:?}: the CDN got {seen:?}");
        assert!(
            seen.iter().all(|request| !request.authorization),
            "{lie:?}: credentials reached the CDN: {seen:?}"
        );
        let resumed = seen
            .iter()
            .filter(|request| request.range.is_some())
            .count();
        match lie {
            Lie::None => assert_eq!(resumed, 0, "{seen:?}"),
            _ => assert!(resumed >= 4, "{lie:?}: not resumed: {seen:?}"),
        }
    }
}

/// One layer of `files` incompressible 4 KiB files (`data/f-0000`...); `changed` rewrites every 50th.
fn many_files_image(files: usize, changed: bool) -> ImageBuilder {
    let mut layer = LayerBuilder::new();
    for i in 0..files {
        let seed = if changed && i % 50 == 0 {
            100_000 + i
        } else {
            i
        };
        layer = layer.file(format!("data/f-{i:04}"), noise(seed as u64, 4096));
    }
    ImageBuilder::new()
        .platform("linux", "amd64", None)
        .layer(layer.build(), LayerCompression::Gzip)
        .config(serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
        }))
}

/// The explorer on a registry whose blob downloads stop after their first 256 KiB (of 1.6 MB): the
/// differences of what has arrived are listed while the layers are still being read, and when the
/// downloads go on and the scan ends, the rows and the selection stay where they were.
#[test]
fn the_explorer_lists_differences_while_a_layer_is_still_downloading() {
    let Some(()) = tools() else { return };
    if !tui_support::tmux_or_skip(module_path!()) {
        return;
    }
    let registry = Registry::start(Mode::Plain);
    let dir = registry.dir.path();
    for (name, changed) in [("a", false), ("b", true)] {
        let layout = dir.join(format!("many-{name}"));
        many_files_image(400, changed)
            .write_oci_layout(&layout, None)
            .unwrap();
        registry.push(&layout, &format!("test/many-{name}:1"));
    }
    let proxy = Proxy::stalling(registry.port, "/blobs/", Hold::PauseAfter(256 * 1024));
    let host = proxy.host();
    let command = format!(
        "{} --no-cache --semantic {host}/test/many-a:1 {host}/test/many-b:1; exec sleep 600",
        tui_support::sh_quote(tui_support::binary())
    );
    let tmux = tui_support::Tmux::start(&command, dir, 100, 30);
    let reading = tmux.wait_until("file differences while the layers download", |s| {
        !tui_support::status_bar(s).contains(" done ") && changed_under_data(s).is_some()
    });
    // Only what arrived: some of the 8 changed files, not all of them.
    let early = changed_under_data(&reading).unwrap_or_default();
    assert!(
        early < 8,
        "all differences before the downloads went on:\n{reading}"
    );
    let mut selected = reading;
    for _ in 0..4 {
        if tui_support::detail_title(&selected).is_some_and(|t| t.ends_with("f-0000")) {
            break;
        }
        tmux.keys(&["]"]);
        std::thread::sleep(Duration::from_millis(300));
        selected = tmux.screen();
    }
    assert!(
        tui_support::detail_title(&selected).is_some_and(|t| t.ends_with("f-0000")),
        "] did not reach data/f-0000 while reading:\n{selected}"
    );
    assert!(
        !tui_support::status_bar(&selected).contains(" done "),
        "{selected}"
    );
    proxy.stall(false);
    let done = tmux.wait_for_done();
    assert_eq!(changed_under_data(&done), Some(8), "{done}");
    assert_eq!(
        tui_support::detail_title(&done),
        tui_support::detail_title(&selected),
        "the selection moved when the scan ended:\n{done}"
    );
}

/// `N` of the tree row `~ data/ (N)`: how many changed files the explorer lists under `data/`.
fn changed_under_data(screen: &str) -> Option<usize> {
    let row = screen.lines().find_map(|l| l.split("~ data/ (").nth(1))?;
    row.split(')').next()?.parse().ok()
}
