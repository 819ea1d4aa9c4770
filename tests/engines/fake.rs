//! `docker://` against a scripted Docker API on a unix socket: what no engine on this machine does
//! (Docker ≥ 25's OCI-layout export, the `platform` parameter of API ≥ 1.48) and what a broken or
//! hostile engine does (garbage, a cut-off export, an error status, a dropped connection, silence,
//! a trickling export). The answers follow the Docker Engine API; `/version` is shaped as Docker
//! 28.2's. No root needed.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocidiff::fixture::{DockerStyle, FileTree, ImageBuilder, LayerBuilder, LayerCompression};

use super::{assert_one_line_error, report, run_env, run_env_within};

/// An HTTP answer: status line, body, the length to announce, then (if `trickle` is set) the rest
/// of that length one zero byte per `trickle`, and how long to keep the connection open after all
/// that (a stalled export). An empty status is no answer at all: the connection is held `hold`.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    body: Vec<u8>,
    announced: usize,
    trickle: Option<Duration>,
    hold: Duration,
}

impl Answer {
    fn ok(body: Vec<u8>) -> Answer {
        Answer::new("200 OK", body)
    }
    fn new(status: &'static str, body: Vec<u8>) -> Answer {
        let announced = body.len();
        Answer {
            status,
            body,
            announced,
            trickle: None,
            hold: Duration::ZERO,
        }
    }
    /// Not a byte, not even headers, for `hold`.
    fn silent(hold: Duration) -> Answer {
        Answer {
            hold,
            ..Answer::new("", Vec::new())
        }
    }
}

/// A server answering each request by `answer(request line)`, recording the request lines.
struct FakeEngine {
    dir: tempfile::TempDir,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeEngine {
    fn start(answer: impl Fn(&str) -> Option<Answer> + Send + 'static) -> FakeEngine {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = UnixListener::bind(dir.path().join("d.sock")).expect("bind");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                seen.lock().expect("lock").push(line.trim().to_owned());
                // None: drop the connection without answering.
                if let Some(a) = answer(line.trim()) {
                    respond(&mut stream, &a);
                    std::thread::sleep(a.hold);
                }
            }
        });
        FakeEngine { dir, requests }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("d.sock").display())
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

/// Writes `answer` (but for its `hold`); stops when the client goes away.
fn respond(stream: &mut std::os::unix::net::UnixStream, answer: &Answer) {
    if answer.status.is_empty() {
        return;
    }
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status, answer.announced
    );
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&answer.body).is_err() {
        return;
    }
    if let Some(interval) = answer.trickle {
        for _ in answer.body.len()..answer.announced {
            std::thread::sleep(interval);
            if stream.write_all(&[0]).is_err() {
                return;
            }
        }
    }
}

/// Docker 28.2's `/version` (trimmed to the fields clients read).
const VERSION_28: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Version":"28.2.2","ApiVersion":"1.50","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#;

fn image(motd: &str) -> ImageBuilder {
    let layer = LayerBuilder::new()
        .dir("etc")
        .file("etc/motd", motd)
        .build();
    ImageBuilder::new().layer(layer, LayerCompression::Gzip)
}

fn archive_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("a.tar"), dir.join("b.tar"));
    image("a\n")
        .write_docker_archive(&a, Some("testbed/a:latest"))
        .expect("write a");
    image("b\n")
        .write_docker_archive(&b, Some("testbed/b:latest"))
        .expect("write b");
    (a, b)
}

/// An engine that is Docker 28.2 and exports `testbed/a` and `testbed/b` (the images of
/// [`archive_pair`]) in `style`.
fn engine_with_pair(style: DockerStyle) -> FakeEngine {
    let export = |motd: &str, tag: &str| image(motd).docker_files(Some(tag), style).to_tar();
    let (a, b) = (
        export("a\n", "testbed/a:latest"),
        export("b\n", "testbed/b:latest"),
    );
    FakeEngine::start(move |request| {
        let path = request.split(' ').nth(1).unwrap_or("");
        Some(match path {
            "/version" => Answer::ok(VERSION_28.into()),
            p if p.starts_with("/images/testbed/a/get") => Answer::ok(a.clone()),
            p if p.starts_with("/images/testbed/b/get") => Answer::ok(b.clone()),
            _ => Answer::new("404 Not Found", br#"{"message":"No such image"}"#.to_vec()),
        })
    })
}

/// Docker ≥ 25 exports an OCI layout plus manifest.json; with one `--platform` and API ≥ 1.48 the
/// platform is sent, JSON-encoded, in the query.
#[test]
fn docker25_exports_and_the_platform_parameter() {
    let engine = engine_with_pair(DockerStyle::Docker25);
    let files = tempfile::tempdir().expect("temp dir");
    let (file_a, file_b) = archive_pair(files.path());
    let host = engine.host();
    let env = [("DOCKER_HOST", host.as_str())];
    let expected = report(
        &[],
        &[],
        &file_a.display().to_string(),
        &file_b.display().to_string(),
    );
    let got = report(
        &env,
        &["--platform", "linux/amd64"],
        "docker://testbed/a",
        "docker://testbed/b",
    );
    super::assert_same_differences(&expected, &got, "docker25 export");
    let platform = "platform=%7B%22os%22%3A%22linux%22%2C%22architecture%22%3A%22amd64%22%7D";
    let requests = engine.requests();
    assert!(
        requests.contains(&format!("GET /images/testbed/a/get?{platform} HTTP/1.1")),
        "{requests:?}"
    );
    let before = engine.requests().len();
    report(&env, &[], "docker://testbed/a", "docker://testbed/b");
    let mut plain = engine.requests().split_off(before);
    plain.sort();
    assert_eq!(
        plain,
        [
            "GET /images/testbed/a/get HTTP/1.1",
            "GET /images/testbed/b/get HTTP/1.1"
        ],
        "without --platform: no /version, no query"
    );
}

/// Whatever a broken engine answers: exit 2, one line, and the export's directory removed.
#[test]
fn broken_engine_answers_are_one_line_errors() {
    let good = image("a\n")
        .docker_files(Some("testbed/a:latest"), DockerStyle::Legacy)
        .to_tar();
    let cut = good[..good.len() / 2].to_vec();
    let escaping = export_with_escaping_layer();
    let cases: Vec<(Option<Answer>, &str)> = vec![
        (
            Some(Answer::ok(b"this is not a tar".to_vec())),
            "its export is not an image: not a tar archive",
        ),
        (
            Some(Answer {
                announced: good.len(),
                ..Answer::ok(good[..700].to_vec())
            }),
            "the export broke off",
        ),
        (
            Some(Answer::ok(cut)),
            "its export is not an image: it has neither manifest.json nor index.json",
        ),
        (
            Some(Answer::new(
                "500 Internal Server Error",
                br#"{"message":"disk on fire"}"#.to_vec(),
            )),
            "HTTP 500 Internal Server Error: disk on fire",
        ),
        (None, "the Docker engine at unix://"),
        (
            Some(Answer::ok(escaping)),
            "member evil/layer.tar links outside the archive",
        ),
    ];
    let cache = tempfile::tempdir().expect("temp dir");
    let cache_flag = format!("--cache-dir={}", cache.path().display());
    for (answer, needle) in cases {
        // Both inputs are opened at once: both get the same answer.
        let engine = FakeEngine::start(move |_| answer.clone());
        let host = engine.host();
        let run = run_env(
            &[("DOCKER_HOST", host.as_str())],
            &["--format", "json", &cache_flag, "docker://x", "docker://x"],
        );
        eprintln!("{}", run.stderr.trim());
        assert_one_line_error(&run, needle);
        let left: Vec<_> = std::fs::read_dir(cache.path())
            .expect("read")
            .flatten()
            .collect();
        assert!(left.is_empty(), "export left behind: {left:?}");
    }
}

/// A skopeo-style export whose layer is a symlink out of the archive: the export is read by offsets
/// within itself, so the link can only fail, never reach the filesystem.
fn export_with_escaping_layer() -> Vec<u8> {
    let built = image("a\n").build();
    let config = format!("{}.json", built.config.digest.hex());
    let mut tree = FileTree::new();
    tree.insert_file(&config, built.config_bytes.clone());
    tree.insert_symlink("evil/layer.tar", "../../../../../etc/passwd");
    let manifest =
        format!(r#"[{{"Config":"{config}","RepoTags":["x:latest"],"Layers":["evil/layer.tar"]}}]"#);
    tree.insert_file("manifest.json", manifest.into_bytes());
    tree.to_tar()
}

/// Writes a Docker context named `name` whose Docker endpoint is `host`, as `docker context create`
/// does, into the Docker config directory `config`.
fn write_context(config: &Path, name: &str, host: &str) {
    let dir = config
        .join("contexts/meta")
        .join(ocidiff::oci::Digest::sha256_of(name.as_bytes()).hex());
    std::fs::create_dir_all(&dir).expect("context dir");
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).expect("meta.json");
}

/// Without DOCKER_HOST the current Docker context is followed, as the Docker CLI does: DOCKER_CONTEXT,
/// else `currentContext` in config.json.
#[test]
fn docker_contexts_are_followed_when_docker_host_is_unset() {
    let engine = engine_with_pair(DockerStyle::Legacy);
    let config = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        config.path().join("config.json"),
        r#"{"auths": {}, "currentContext": "build-box"}"#,
    )
    .expect("config.json");
    write_context(config.path(), "build-box", &engine.host());
    write_context(config.path(), "remote", "ssh://builder@10.0.0.1");
    let config_dir = config.path().display().to_string();
    let files = tempfile::tempdir().expect("temp dir");
    let (file_a, file_b) = archive_pair(files.path());
    let expected = report(
        &[],
        &[],
        &file_a.display().to_string(),
        &file_b.display().to_string(),
    );
    let env = [("DOCKER_CONFIG", config_dir.as_str()), ("DOCKER_HOST", "")];
    let got = report(&env, &[], "docker://testbed/a", "docker://testbed/b");
    super::assert_same_differences(&expected, &got, "through the current context");
    assert_eq!(engine.requests().len(), 2, "{:?}", engine.requests());

    let args = [
        "--format",
        "json",
        "docker://testbed/a",
        "docker://testbed/b",
    ];
    let with = |extra: (&'static str, &'static str)| run_env(&[env[0], env[1], extra], &args);
    assert_one_line_error(
        &with(("DOCKER_CONTEXT", "remote")),
        "Docker context \"remote\" uses ssh://builder@10.0.0.1: only unix:// and tcp:// hosts are supported",
    );
    assert_one_line_error(
        &with(("DOCKER_CONTEXT", "gone")),
        "Docker context \"gone\": cannot read",
    );
    // DOCKER_HOST wins over any context.
    assert_one_line_error(
        &with(("DOCKER_HOST", "unix:///var/tmp/ocidiff-no-such.sock")),
        "cannot reach the Docker engine at unix:///var/tmp/ocidiff-no-such.sock",
    );
    // `default` is the default socket, whatever config.json says.
    let default = with(("DOCKER_CONTEXT", "default"));
    assert!(
        default.stderr.contains("unix:///var/run/docker.sock"),
        "{}",
        default.stderr
    );
}

/// Ctrl-C while an export is still arriving: exit 130 and the export's directory removed.
#[test]
fn an_interrupted_export_leaves_no_directory_behind() {
    let whole = image("a\n")
        .docker_files(Some("testbed/a:latest"), DockerStyle::Legacy)
        .to_tar();
    let stalled = Answer {
        announced: whole.len(),
        hold: Duration::from_secs(60),
        ..Answer::ok(whole[..700].to_vec())
    };
    let engine = FakeEngine::start(move |_| Some(stalled.clone()));
    let cache = tempfile::tempdir().expect("temp dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"))
        .args(["--format", "json", "docker://x", "docker://x"])
        .arg(format!("--cache-dir={}", cache.path().display()))
        .env("DOCKER_HOST", engine.host())
        .env("DOCKER_CONFIG", "/nonexistent/docker-config")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ocidiff-tui");
    let exports = || -> Vec<PathBuf> {
        std::fs::read_dir(cache.path())
            .expect("read cache dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.display().to_string().contains("ocidiff-docker-export-"))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while exports().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no export started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(exports(), Vec::<PathBuf>::new(), "export left behind");
}

/// An engine that never answers `/version` (asked with one `--platform`), one whose export trickles
/// a byte a second once started, and one whose export never starts: exit 2, one line naming what
/// stalled, within a bound derived from `OCIDIFF_NETWORK_TIMEOUT`, and no export left behind.
#[test]
fn a_stalled_engine_fails_in_bounded_time() {
    let good = image("a\n")
        .docker_files(Some("testbed/a:latest"), DockerStyle::Legacy)
        .to_tar();
    let trickling = Answer {
        announced: good.len(),
        trickle: Some(Duration::from_secs(1)),
        ..Answer::ok(good[..700].to_vec())
    };
    let silent = Answer::silent(Duration::from_secs(120));
    struct Case {
        answer: Answer,
        timeout: &'static str,
        flags: &'static [&'static str],
        needles: &'static [&'static str],
        /// Seconds: what the limits allow, plus the start of the process.
        bound: u64,
    }
    let cases = [
        Case {
            answer: silent.clone(),
            timeout: "1",
            flags: &["--platform", "linux/amd64"],
            needles: &[
                "GET /version: no response within 1 s (set --network-timeout to wait longer)",
            ],
            bound: 1 + 10,
        },
        Case {
            answer: trickling,
            timeout: "2",
            flags: &[],
            needles: &[
                "the export: stalled: ",
                " bytes in 2 s, under the minimum of 1024 bytes/s after 70",
                "(set --network-min-rate to accept slower transfers)",
            ],
            bound: 2 + 10,
        },
        Case {
            answer: silent,
            timeout: "0.5",
            flags: &[],
            needles: &[
                "the export: no response within 10 s (set --network-timeout to wait longer)",
            ],
            bound: 10 + 10,
        },
    ];
    let cache = tempfile::tempdir().expect("temp dir");
    let cache_flag = format!("--cache-dir={}", cache.path().display());
    for case in cases {
        let answer = case.answer;
        let engine = FakeEngine::start(move |_| Some(answer.clone()));
        let host = engine.host();
        let mut args = vec!["--format", "json", &cache_flag];
        args.extend_from_slice(case.flags);
        args.extend(["docker://x", "docker://x"]);
        let env = [
            ("DOCKER_HOST", host.as_str()),
            ("OCIDIFF_NETWORK_TIMEOUT", case.timeout),
        ];
        let (run, elapsed) = run_env_within(&env, &args, Duration::from_secs(60));
        eprintln!("{elapsed:.1?}: {}", run.stderr.trim());
        for needle in case.needles {
            assert_one_line_error(&run, needle);
        }
        assert_one_line_error(&run, &format!("the Docker engine at {host}: "));
        assert!(
            elapsed < Duration::from_secs(case.bound),
            "took {elapsed:?}: {}",
            run.stderr
        );
        let left: Vec<_> = std::fs::read_dir(cache.path())
            .expect("read")
            .flatten()
            .collect();
        assert!(left.is_empty(), "export left behind: {left:?}");
    }
}

/// containerd's socket accepting connections and never answering: one line naming the service
/// that did not answer, after the timeout.
#[cfg(feature = "containerd")]
#[test]
fn a_silent_containerd_fails_in_bounded_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("ctd.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(8).flatten().collect();
        std::thread::sleep(Duration::from_secs(120));
        drop(held);
    });
    let socket = socket.display().to_string();
    let args = [
        "--format",
        "json",
        "--containerd-address",
        &socket,
        "containerd://x",
        "containerd://x",
    ];
    let env = [("OCIDIFF_NETWORK_TIMEOUT", "1")];
    let (run, elapsed) = run_env_within(&env, &args, Duration::from_secs(60));
    eprintln!("{elapsed:.1?}: {}", run.stderr.trim());
    assert_one_line_error(&run, &format!("containerd at unix://{socket}"));
    assert_one_line_error(
        &run,
        "no response within 1 s (set --network-timeout to wait longer)",
    );
    assert!(elapsed < Duration::from_secs(1 + 10), "took {elapsed:?}");
}
