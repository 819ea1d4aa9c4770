//! `docker://`, `podman://` and `containerd://` against real engines that this test binary starts
//! (Debian's dockerd 20.10, podman 4.3 and containerd 1.6, as root, on unix sockets under a short
//! temporary directory in /var/tmp), loaded with small fixture images.
//!
//! The engines are started once, by `tests/engines/run-engines.sh`, which stops them by PID and
//! removes their directory when this process exits (its stdin closes). Without root or the packages
//! `docker.io podman containerd` (`.ci/run` installs them), the tests that need engines fail when
//! `CI` is set and are skipped otherwise. The error-path tests need no engine and always run.

#[path = "engines/fake.rs"]
mod fake;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};
use support::{
    Report, Run, error_free_report, have_program, run_command, run_command_within, show,
};

/// The namespace the fixtures are imported into in containerd (not `default`, so the flag is tested).
const NAMESPACE: &str = "ocidiff-test";

/// The running engines and the fixture archives they were loaded with.
struct Engines {
    root: PathBuf,
    /// dockerd's TLS port on 127.0.0.1 (client certificate required; files in `root/tls`).
    tls_port: u16,
    /// The supervisor, and its stdin: closing it (at exit) makes it stop the engines.
    _supervisor: Mutex<(Child, ChildStdin)>,
}

impl Engines {
    fn docker_host(&self) -> String {
        format!("unix://{}", self.root.join("docker.sock").display())
    }
    fn podman_host(&self) -> String {
        format!("unix://{}", self.root.join("podman.sock").display())
    }
    fn containerd_socket(&self) -> String {
        self.root.join("ctd.sock").display().to_string()
    }
    fn fixture(&self, name: &str) -> String {
        self.root.join("fixtures").join(name).display().to_string()
    }
}

fn engines() -> Option<&'static Engines> {
    static STARTED: OnceLock<Result<Engines, String>> = OnceLock::new();
    match STARTED.get_or_init(start) {
        Ok(engines) => Some(engines),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("container engines are required in CI but cannot run: {why}")
        }
        Err(why) => {
            eprintln!("skipping: container engines cannot run here: {why}");
            None
        }
    }
}

/// Why the engines cannot run here, if they cannot (not root, a package missing).
fn missing_prerequisite() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_owned();
    if uid != "0" {
        return Some(format!("needs root (uid {uid})"));
    }
    ["containerd", "ctr", "dockerd", "podman"]
        .into_iter()
        .find(|tool| !have_program(tool))
        .map(|tool| format!("{tool} not found (apt-get install docker.io podman containerd)"))
}

/// Starts the engines and loads the fixtures. Engines that can run but fail are test failures.
fn start() -> Result<Engines, String> {
    if let Some(why) = missing_prerequisite() {
        return Err(why);
    }
    // Short: containerd's socket path (plus ".ttrpc") must stay under 104 bytes.
    let root = tempfile::Builder::new()
        .prefix("ocd")
        .tempdir_in("/var/tmp")
        .expect("temp dir in /var/tmp")
        .keep();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/run-engines.sh");
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new("sh")
        .arg(&script)
        .arg(&root)
        .arg(tls_port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run run-engines.sh");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout).read_line(&mut line).expect("read");
    assert!(line.starts_with("started"), "run-engines.sh: {line:?}");
    let stdin = child.stdin.take().expect("piped stdin");
    let engines = Engines {
        _supervisor: Mutex::new((child, stdin)),
        root,
        tls_port,
    };
    let started = Instant::now();
    wait_until("dockerd", &engines.root, || {
        ping(&engines.root.join("docker.sock"))
    });
    wait_until("podman", &engines.root, || {
        ping(&engines.root.join("podman.sock"))
    });
    wait_until("containerd", &engines.root, || {
        ctr(&engines, &["version"]).is_ok()
    });
    eprintln!("engines ready in {:.2?}", started.elapsed());
    load_fixtures(&engines);
    eprintln!("engines loaded in {:.2?}", started.elapsed());
    Ok(engines)
}

fn wait_until(engine: &str, root: &Path, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        if Instant::now() > deadline {
            let log =
                std::fs::read_to_string(root.join(format!("{engine}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            panic!(
                "{engine} not ready after 10 s; log tail:\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.0 request on a unix socket: (status line, body).
fn http(socket: &Path, method: &str, path: &str, body: &[u8]) -> std::io::Result<(String, String)> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: d\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or("").to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

fn ping(socket: &Path) -> bool {
    http(socket, "GET", "/_ping", b"")
        .is_ok_and(|(status, body)| status.contains(" 200 ") && body.trim() == "OK")
}

fn ctr(engines: &Engines, args: &[&str]) -> Result<String, String> {
    let output = Command::new("ctr")
        .args(["-a", &engines.containerd_socket(), "-n", NAMESPACE])
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The fixture images, by tag.
fn fixture_images() -> Vec<(&'static str, &'static str, ImageBuilder)> {
    let base = || {
        LayerBuilder::new()
            .dir("etc")
            .file("etc/os-release", "ID=testbed\n")
            .dir("srv")
    };
    let a = base()
        .file("etc/motd", "hello\n")
        .file("srv/run.sh", "#!/bin/sh\n")
        .mode(0o644);
    let b = base()
        .file("etc/motd", "hello, world\n")
        .file("etc/added.conf", "x=1\n")
        .file("srv/run.sh", "#!/bin/sh\n")
        .mode(0o755);
    let tools = LayerBuilder::new().dir("usr").file("usr/tool", "v1\n");
    let hostile = LayerBuilder::new()
        .file("etc/\x1b[31mred\x1b[0m", "escape sequences in a name\n")
        .symlink("etc/shadow-link", "../../../../../etc/shadow")
        .file("etc/motd", "hello\n");
    let image = |layers: Vec<Vec<u8>>| {
        layers
            .into_iter()
            .fold(ImageBuilder::new(), |image, layer| {
                image.layer(layer, LayerCompression::None)
            })
    };
    vec![
        (
            "a.tar",
            "testbed/a:latest",
            image(vec![a.build(), tools.build()]),
        ),
        (
            "b.tar",
            "testbed/b:latest",
            image(vec![b.build(), tools.build()]),
        ),
        (
            "hostile.tar",
            "testbed/hostile:latest",
            image(vec![hostile.build()]),
        ),
    ]
}

fn load_fixtures(engines: &Engines) {
    let dir = engines.root.join("fixtures");
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    for (file, tag, image) in fixture_images() {
        let path = dir.join(file);
        image
            .write_docker_archive(&path, Some(tag))
            .expect("write fixture");
        let bytes = std::fs::read(&path).expect("read fixture");
        for socket in ["docker.sock", "podman.sock"] {
            let (status, body) = http(&engines.root.join(socket), "POST", "/images/load", &bytes)
                .unwrap_or_else(|e| panic!("load {file} into {socket}: {e}"));
            assert!(
                status.contains(" 200 ") && !body.contains("\"error"),
                "load {file} into {socket}: {status} {body}"
            );
        }
        let path = path.display().to_string();
        ctr(engines, &["images", "import", "--no-unpack", &path])
            .unwrap_or_else(|e| panic!("ctr import {file}: {e}"));
    }
}

/// Runs the binary with extra environment variables (and no Docker context of the caller's).
fn run_env(env: &[(&str, &str)], args: &[&str]) -> Run {
    run_command(&mut command(env, args))
}

/// [`run_env`], killed (and the test failed) if it has not exited within `limit`; also how long it
/// took.
fn run_env_within(env: &[(&str, &str)], args: &[&str], limit: Duration) -> (Run, Duration) {
    run_command_within(&mut command(env, args), limit)
}

fn command(env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
    command
        .args(args)
        .env_remove("CONTAINER_HOST")
        .env_remove("DEBUG")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("OCIDIFF_NETWORK_TIMEOUT")
        .env_remove("OCIDIFF_NETWORK_MIN_RATE")
        .env("DOCKER_CONFIG", "/nonexistent/docker-config")
        .envs(env.iter().copied());
    command
}

/// `--format json A B` must succeed (0 or 1) with an error-free report.
fn report(env: &[(&str, &str)], flags: &[&str], a: &str, b: &str) -> Report {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(flags);
    args.extend([a, b]);
    error_free_report(&run_env(env, &args), &args)
}

/// The differences found between the two fixture archives themselves.
fn archive_differences(engines: &Engines) -> Report {
    let a = format!("docker-archive:{}", engines.fixture("a.tar"));
    let b = format!("docker-archive:{}", engines.fixture("b.tar"));
    report(&[], &[], &a, &b)
}

fn assert_same_differences(expected: &Report, got: &Report, what: &str) {
    assert!(!expected.shown().is_empty(), "the fixtures differ");
    assert_eq!(
        got.shown(),
        expected.shown(),
        "{what}: got\n{}\nexpected\n{}",
        show(&got.shown()),
        show(&expected.shown())
    );
}

/// Exactly one line on stderr, exit 2, and it says `needle`.
fn assert_one_line_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "stderr: {:?}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "{needle:?} not in {:?}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn docker_images_compare_as_their_archives() {
    let Some(engines) = engines() else { return };
    let host = engines.docker_host();
    let cache = engines.root.join("cache-docker");
    let cache_flag = format!("--cache-dir={}", cache.display());
    let env = [("DOCKER_HOST", host.as_str())];
    let expected = archive_differences(engines);
    let got = report(
        &env,
        &[&cache_flag],
        "docker://testbed/a",
        "docker://docker.io/testbed/b:latest",
    );
    assert_same_differences(&expected, &got, "docker://");
    // dockerd 20.10 (API 1.41) exports one platform; --platform is checked against it, not sent.
    let got = report(
        &env,
        &["--platform", "linux/amd64"],
        "docker://testbed/a:latest",
        "docker://testbed/b:latest",
    );
    assert_same_differences(&expected, &got, "docker:// --platform");
    // By image id (short, then full): the export has no RepoTags, so there is no name to compare.
    let ids: Vec<ocidiff::oci::Digest> = fixture_images()
        .iter()
        .take(2)
        .map(|(_, _, image)| image.build().config.digest)
        .collect();
    let short = format!("docker://{}", &ids[0].hex()[..12]);
    let full = format!("docker://{}", ids[1]);
    let ignore = ["--ignore-image-name"];
    let a = format!("docker-archive:{}", engines.fixture("a.tar"));
    let b = format!("docker-archive:{}", engines.fixture("b.tar"));
    let got = report(&env, &ignore, &short, &full);
    assert_same_differences(&report(&[], &ignore, &a, &b), &got, "docker://ID");
    let left: Vec<_> = std::fs::read_dir(&cache).map_or(vec![], |d| d.flatten().collect());
    assert!(left.is_empty(), "exports left in the cache dir: {left:?}");
}

/// dockerd on TCP with TLS, a client certificate required: as the Docker CLI with DOCKER_HOST,
/// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (GitLab's docker:dind service is set up this way).
#[test]
fn docker_over_tcp_with_tls_and_a_client_certificate() {
    let Some(engines) = engines() else { return };
    let host = format!("tcp://127.0.0.1:{}", engines.tls_port);
    let certs = engines.root.join("tls").display().to_string();
    let env = [
        ("DOCKER_HOST", host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", certs.as_str()),
    ];
    let expected = archive_differences(engines);
    let got = report(&env, &[], "docker://testbed/a", "docker://testbed/b");
    assert_same_differences(&expected, &got, "docker:// over TLS");
    let args = [
        "--format",
        "json",
        "docker://testbed/a",
        "docker://testbed/b",
    ];
    // Without TLS the daemon's TLS port cannot be spoken to.
    let plain = run_env(&env[..1], &args);
    assert_eq!(plain.code, 2, "{}", plain.stderr);
    assert_eq!(plain.stderr.lines().count(), 1, "{}", plain.stderr);
    // Without the client certificate the daemon refuses the handshake.
    let no_identity = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        engines.root.join("tls/ca.pem"),
        no_identity.path().join("ca.pem"),
    )
    .expect("copy ca.pem");
    let no_identity = no_identity.path().display().to_string();
    let refused = run_env(
        &[env[0], env[1], ("DOCKER_CERT_PATH", no_identity.as_str())],
        &args,
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains(&host), "{}", refused.stderr);
}

#[test]
fn podman_images_compare_as_their_archives_through_the_socket() {
    let Some(engines) = engines() else { return };
    let host = engines.podman_host();
    let env = [
        ("CONTAINER_HOST", host.as_str()),
        ("PODMAN", "/nonexistent/podman"),
    ];
    let got = report(&env, &[], "podman://testbed/a", "podman://testbed/b:latest");
    assert_same_differences(&archive_differences(engines), &got, "podman:// (socket)");
}

#[test]
fn podman_falls_back_to_podman_save_without_a_socket() {
    let Some(engines) = engines() else { return };
    let wrapper = engines.root.join("podman-cli").display().to_string();
    let env = [
        (
            "CONTAINER_HOST",
            "unix:///var/tmp/ocidiff-no-such-podman.sock",
        ),
        ("PODMAN", wrapper.as_str()),
    ];
    // A docker-archive tagged `testbed/b:latest` loads into Podman as `localhost/testbed/b:latest`.
    let got = report(
        &env,
        &[],
        "podman://testbed/a",
        "podman://localhost/testbed/b",
    );
    assert_same_differences(
        &archive_differences(engines),
        &got,
        "podman:// (podman save)",
    );
    let run = run_env(
        &env,
        &[
            "--format",
            "json",
            "podman://testbed/nope",
            "podman://testbed/a",
        ],
    );
    assert_one_line_error(
        &run,
        "podman://testbed/nope: no such image in Podman through",
    );
}

#[cfg(feature = "containerd")]
#[test]
fn containerd_images_compare_as_their_archives() {
    let Some(engines) = engines() else { return };
    let socket = engines.containerd_socket();
    let flags = [
        "--containerd-address",
        &socket,
        "--containerd-namespace",
        NAMESPACE,
    ];
    let got = report(
        &[],
        &flags,
        "containerd://testbed/a",
        "containerd://docker.io/testbed/b:latest",
    );
    assert_same_differences(&archive_differences(engines), &got, "containerd://");
    let env = [
        ("CONTAINERD_ADDRESS", socket.as_str()),
        ("CONTAINERD_NAMESPACE", NAMESPACE),
    ];
    let got = report(
        &env,
        &[],
        "containerd://testbed/a",
        "containerd://testbed/b",
    );
    assert_same_differences(&archive_differences(engines), &got, "containerd:// (env)");
}

#[test]
fn missing_images_are_one_line_errors() {
    let Some(engines) = engines() else { return };
    let docker = engines.docker_host();
    let podman = engines.podman_host();
    #[cfg(feature = "containerd")]
    let socket = engines.containerd_socket();
    let cases = [
        (
            "DOCKER_HOST",
            docker.as_str(),
            "docker://testbed/nope",
            "no such image in the Docker engine at unix://",
        ),
        (
            "CONTAINER_HOST",
            podman.as_str(),
            "podman://testbed/nope",
            "no such image in Podman at unix://",
        ),
        #[cfg(feature = "containerd")]
        (
            "CONTAINERD_ADDRESS",
            socket.as_str(),
            "containerd://testbed/nope",
            "no such image in containerd at unix://",
        ),
    ];
    for (var, value, spec, needle) in cases {
        let env = [(var, value), ("CONTAINERD_NAMESPACE", NAMESPACE)];
        let run = run_env(&env, &["--format", "json", spec, spec]);
        assert_one_line_error(&run, &format!("{spec}: {needle}"));
    }
}

#[test]
fn hostile_names_from_an_engine_stay_inert() {
    let Some(engines) = engines() else { return };
    let host = engines.docker_host();
    let env = [("DOCKER_HOST", host.as_str())];
    let a = format!("docker-archive:{}", engines.fixture("a.tar"));
    let hostile = format!("docker-archive:{}", engines.fixture("hostile.tar"));
    let expected = report(&[], &[], &a, &hostile);
    let got = report(&env, &[], "docker://testbed/a", "docker://testbed/hostile");
    assert_same_differences(&expected, &got, "docker:// hostile");
    let table = run_env(
        &env,
        &[
            "--format",
            "table",
            "docker://testbed/a",
            "docker://testbed/hostile",
        ],
    );
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(
        !table.stdout.contains('\x1b'),
        "raw escape in the table: {:?}",
        table.stdout
    );
}

/// How the binary is run for one unreachable engine, and what its one line must say.
struct Unreachable<'a> {
    env: &'a [(&'a str, &'a str)],
    flags: &'a [&'a str],
    spec: &'a str,
    needle: &'a str,
}

/// No engine needed: every way of not reaching one is one line and exit 2.
#[test]
fn unreachable_engines_are_one_line_errors() {
    let none = "/var/tmp/ocidiff-no-such.sock";
    let unix = format!("unix://{none}");
    let cases = [
        Unreachable {
            env: &[("DOCKER_HOST", &unix)],
            flags: &[],
            spec: "docker://x",
            needle: "cannot reach the Docker engine at unix:///var/tmp/ocidiff-no-such.sock: No such file or directory (is dockerd running? set DOCKER_HOST)",
        },
        Unreachable {
            env: &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
            flags: &[],
            spec: "docker://x",
            needle: "cannot reach the Docker engine at tcp://127.0.0.1:1: Connection refused (is dockerd running? set DOCKER_HOST)",
        },
        Unreachable {
            env: &[("DOCKER_HOST", "ssh://builder@127.0.0.1")],
            flags: &[],
            spec: "docker://x",
            needle: "DOCKER_HOST=ssh://builder@127.0.0.1: only unix:// and tcp:// hosts are supported",
        },
        Unreachable {
            env: &[("CONTAINER_HOST", &unix), ("PODMAN", "/nonexistent/podman")],
            flags: &[],
            spec: "podman://x",
            needle: "cannot reach Podman at unix:///var/tmp/ocidiff-no-such.sock: No such file or directory",
        },
        #[cfg(feature = "containerd")]
        Unreachable {
            env: &[],
            flags: &["--containerd-address", none],
            spec: "containerd://x",
            needle: "cannot reach containerd at unix:///var/tmp/ocidiff-no-such.sock: No such file or directory",
        },
        #[cfg(not(feature = "containerd"))]
        Unreachable {
            env: &[],
            flags: &["--containerd-address", none],
            spec: "containerd://x",
            needle: "containerd://x: this build has no containerd support (build with `--features containerd`",
        },
        Unreachable {
            env: &[],
            flags: &[],
            spec: "docker://a/../b",
            needle: "docker://a/../b: not an image name",
        },
    ];
    for case in cases {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(case.flags);
        args.extend([case.spec, case.spec]);
        assert_one_line_error(&run_env(case.env, &args), case.needle);
    }
}
