//! Archives as real writers make them, read end to end by the binary: Docker 25+ with an index.json
//! that lists nothing, jib's docker archives, archives compressed with gzip, zstd or xz (with their
//! limits: a bomb, a full disk, a signal), and what skopeo, podman and containerd write.
//!
//! Each archive holds image A; it is compared with the layout of image B, which differs from A in
//! every layer (so every layer is read, none skipped as equal), and must show exactly what A's own
//! layout shows against B, with no error. The real-tool tests need root and the Debian packages
//! `skopeo podman containerd` (`.ci/run` installs them): without them they fail when `CI` is set and
//! are skipped otherwise.

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocidiff::fixture::{
    DockerStyle, FileTree, ImageBuilder, LayerBuilder, LayerCompression, gzip, zstd,
};
use support::{
    Pair, Report, Run, error_free_report, have_program, is_derived, path_str, run_command, show,
};
use tempfile::TempDir;

fn image(variant: &str) -> ImageBuilder {
    let base = LayerBuilder::new()
        .dir("etc")
        .file("etc/motd", format!("hello from {variant}\n"))
        .file("etc/os-release", "ID=testbed\n");
    let tools = LayerBuilder::new()
        .dir("usr")
        .file("usr/tool", format!("tool {variant}\n"));
    ImageBuilder::new()
        .layer(base.build(), LayerCompression::Gzip)
        .layer(tools.build(), LayerCompression::None)
}

/// A temporary directory with the layouts of A and B, and the differences between them.
struct Fixtures {
    dir: TempDir,
    a: String,
    b: String,
    expected: Report,
}

impl Fixtures {
    fn new() -> Fixtures {
        let dir = TempDir::new().unwrap();
        let a = path_str(&dir.path().join("a"));
        let b = path_str(&dir.path().join("b"));
        image("a").write_oci_layout(Path::new(&a), None).unwrap();
        image("b").write_oci_layout(Path::new(&b), None).unwrap();
        let expected = report(&dir.path().join("tmp"), &a, &b);
        let files = expected.shown_files();
        assert!(
            files.contains("etc/motd") && files.contains("usr/tool"),
            "A and B differ in both layers: {files:?}"
        );
        Fixtures {
            dir,
            a,
            b,
            expected,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `$TMPDIR` for the runs: decompressed copies go there, and must be gone after each run.
    fn tmp(&self) -> PathBuf {
        self.path("tmp")
    }

    /// `spec` holds image A: against B it shows what A's layout shows, and it equals A's layout
    /// under `--semantic`. Nothing is left in `$TMPDIR`.
    fn assert_reads_as_a(&self, spec: &str) {
        self.assert_reads_as_a_with(spec, || {});
    }

    /// [`Fixtures::assert_reads_as_a`], calling `before_each_run` before each run of the binary.
    fn assert_reads_as_a_with(&self, spec: &str, before_each_run: impl Fn()) {
        before_each_run();
        let got = report(&self.tmp(), spec, &self.b);
        assert_eq!(
            content_differences(&got),
            content_differences(&self.expected),
            "{spec} vs B: got\n{}\nexpected\n{}",
            show(&got.shown()),
            show(&self.expected.shown())
        );
        before_each_run();
        let same = run_in_tmp(
            &self.tmp(),
            &["--semantic", "--format", "json", spec, &self.a],
        );
        error_free_report(&same, &spec);
        assert_eq!(
            same.code, 0,
            "{spec} equals A under --semantic: {}",
            same.stdout
        );
        assert_tmp_is_empty(&self.tmp());
    }
}

/// The shown differences but those that only restate others (digests and sizes of blobs, which
/// differ between the ways of storing the same image).
fn content_differences(report: &Report) -> BTreeSet<Pair> {
    report
        .shown()
        .into_iter()
        .filter(|pair| !is_derived(&pair.aspect))
        .collect()
}

/// Runs the binary with `$TMPDIR` set to `tmp` (created).
fn run_in_tmp(tmp: &Path, args: &[&str]) -> Run {
    std::fs::create_dir_all(tmp).unwrap();
    run_command(
        Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"))
            .args(args)
            .env("TMPDIR", tmp)
            .env_remove("DEBUG"),
    )
}

/// `--semantic --format json A B`, error-free.
fn report(tmp: &Path, a: &str, b: &str) -> Report {
    let args = ["--semantic", "--format", "json", a, b];
    error_free_report(&run_in_tmp(tmp, &args), &args)
}

fn assert_tmp_is_empty(tmp: &Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(tmp)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in $TMPDIR: {left:?}");
}

/// Exit 2 and exactly one error line on stderr, containing every needle.
fn assert_one_error(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("ocidiff-tui: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {}", run.stderr);
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "{needle:?} not in {}",
            errors[0]
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    liblzma::read::XzEncoder::new(data, 6)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" => gzip(data),
        "zstd" => zstd(data),
        "xz" => xz(data),
        other => panic!("no compression {other}"),
    }
}

#[test]
fn docker25_archive_whose_index_lists_nothing_is_read_through_manifest_json() {
    let f = Fixtures::new();
    let built = image("a").build();
    let mut files = image("a").docker_files(Some("testbed/a:latest"), DockerStyle::Docker25);
    // As Docker 25+ wrote it for an image its store keeps only as a config and layers: the image
    // is in manifest.json alone, and the OCI blobs are in blobs/sha256/.
    files.insert_file(
        "index.json",
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}"#
            .to_vec(),
    );
    files.remove(&format!("blobs/sha256/{}", built.manifest.digest.hex()));
    let archive = path_str(&f.path("docker25.tar"));
    files.write_tar(Path::new(&archive)).unwrap();
    f.assert_reads_as_a(&archive);
    f.assert_reads_as_a(&format!("docker-archive:{archive}"));
    f.assert_reads_as_a(&format!("docker-archive:{archive}:testbed/a:latest"));
}

/// Jib's `jibBuildTar`: lowercase keys in manifest.json, config.json, `<digest>.tar.gz` layers.
fn jib_files(image: &ImageBuilder, repo_tag: &str) -> FileTree {
    let built = image.build();
    let mut files = FileTree::new();
    files.insert_file("config.json", built.config_bytes.clone());
    let mut layers = Vec::new();
    for layer in &built.layers {
        let (_, bytes) = built
            .blobs
            .iter()
            .find(|(digest, _)| *digest == layer.digest)
            .unwrap();
        let tar = ocidiff::fixture::gzip(&decompressed(bytes));
        let member = format!("{}.tar.gz", ocidiff::oci::Digest::sha256_of(&tar).hex());
        files.insert_file(&member, tar);
        layers.push(member);
    }
    let manifest =
        serde_json::json!([{"config": "config.json", "repoTags": [repo_tag], "layers": layers}]);
    files.insert_file("manifest.json", manifest.to_string().into_bytes());
    files
}

/// A layer blob's tar (gzip is decompressed, a plain tar is itself).
fn decompressed(blob: &[u8]) -> Vec<u8> {
    if !blob.starts_with(&[0x1f, 0x8b]) {
        return blob.to_vec();
    }
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(blob)
        .read_to_end(&mut tar)
        .unwrap();
    tar
}

#[test]
fn jib_docker_archive_with_lowercase_keys_and_gzip_layers_is_read() {
    let f = Fixtures::new();
    let archive = path_str(&f.path("jib.tar"));
    jib_files(&image("a"), "registry.example/app:1.0")
        .write_tar(Path::new(&archive))
        .unwrap();
    f.assert_reads_as_a(&archive);
    f.assert_reads_as_a(&format!(
        "docker-archive:{archive}:registry.example/app:1.0"
    ));
}

#[test]
fn compressed_archives_are_read_like_plain_ones() {
    let f = Fixtures::new();
    let forms: [(&str, Vec<u8>, &str); 3] = [
        (
            "legacy",
            image("a")
                .docker_files(Some("testbed/a:1"), DockerStyle::Legacy)
                .to_tar(),
            "docker-archive:",
        ),
        (
            "docker25",
            image("a")
                .docker_files(Some("testbed/a:1"), DockerStyle::Docker25)
                .to_tar(),
            "docker-archive:",
        ),
        (
            "oci",
            image("a").oci_files(Some("a")).to_tar(),
            "oci-archive:",
        ),
    ];
    for (name, tar, prefix) in forms {
        for kind in ["gzip", "zstd", "xz"] {
            let archive = path_str(&f.path(&format!("{name}.tar.{kind}")));
            std::fs::write(&archive, compress(kind, &tar)).unwrap();
            f.assert_reads_as_a(&archive);
            f.assert_reads_as_a(&format!("{prefix}{archive}"));
        }
    }
}

/// Writes `bytes` into the FIFO at `path` once a reader opens it.
fn serve_fifo(path: &Path, bytes: &[u8]) {
    let (path, bytes) = (path.to_owned(), bytes.to_vec());
    // Not joined: if the run does not read it all, the write fails and the thread ends.
    std::thread::spawn(move || {
        if let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = fifo.write_all(&bytes);
        }
    });
}

#[test]
fn archives_from_a_pipe_are_copied_then_read() {
    let f = Fixtures::new();
    let tar = image("a")
        .docker_files(Some("testbed/a:1"), DockerStyle::Legacy)
        .to_tar();
    for (name, bytes) in [("plain", tar.clone()), ("gzip", gzip(&tar))] {
        let fifo = f.path(&format!("{name}.fifo"));
        succeed(Command::new("mkfifo").arg(&fifo));
        f.assert_reads_as_a_with(&path_str(&fifo), || serve_fifo(&fifo, &bytes));
    }
}

/// A gzip stream of a tar holding one file of `size` zeros, written as it is made.
fn write_gzip_bomb(path: &Path, size: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let mut header = tar::Header::new_ustar();
    header.set_path("zeros").unwrap();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    encoder.write_all(header.as_bytes()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        encoder.write_all(&chunk[..n as usize]).unwrap();
        left -= n;
    }
    encoder.finish().unwrap();
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    let f = Fixtures::new();
    let bomb = f.path("bomb.tar.gz");
    write_gzip_bomb(&bomb, 64 << 20);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    // 64 GiB x 0.0001: 6871947 bytes.
    let run = run_in_tmp(&f.tmp(), &["--max-scale", "0.0001", &path_str(&bomb), &f.b]);
    assert_one_error(
        &run,
        &[
            "input 0",
            "its gzip content is larger than the limit of 6871947 bytes (--max-scale raises it)",
        ],
    );
    assert_tmp_is_empty(&f.tmp());
}

/// Runs the binary in a mount namespace of its own where `$TMPDIR` is a tmpfs of `size`, if this
/// machine allows it (root, util-linux's unshare).
fn run_with_small_tmpdir(tmp: &Path, size: &str, args: &[&str]) -> Option<Run> {
    std::fs::create_dir_all(tmp).unwrap();
    let allowed = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k tmpfs \"$0\"",
            &path_str(tmp),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !allowed {
        skip_or_fail("a tmpfs in a mount namespace of its own (needs root and unshare)");
        return None;
    }
    let script = "mount -t tmpfs -o size=\"$1\" tmpfs \"$TMPDIR\" && shift && exec \"$@\"";
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            size,
            env!("CARGO_BIN_EXE_ocidiff-tui"),
        ])
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("DEBUG");
    Some(run_command(&mut command))
}

fn skip_or_fail(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI needs {what}");
    }
    eprintln!("skipped: this machine does not allow {what}");
}

#[test]
fn a_full_temporary_directory_is_a_clear_error() {
    let f = Fixtures::new();
    let archive = f.path("big.tar.gz");
    // 4 MiB of content, 1 MiB of room.
    write_gzip_bomb(&archive, 4 << 20);
    let Some(run) = run_with_small_tmpdir(&f.tmp(), "1m", &[&path_str(&archive), &f.b]) else {
        return;
    };
    assert_one_error(
        &run,
        &[
            "input 0",
            &path_str(&archive),
            &format!("in {}", path_str(&f.tmp())),
            "of its temporary copy (set TMPDIR to a directory with more room)",
        ],
    );
    assert!(
        run.stderr.contains("no space left") || run.stderr.contains("bytes left free"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_signal_removes_the_decompressed_copy() {
    let f = Fixtures::new();
    let archive = f.path("a.tar.xz");
    std::fs::write(&archive, xz(&image("a").oci_files(None).to_tar())).unwrap();
    // Input 1 is a Docker engine that accepts the connection and never answers: the run waits
    // there, with input 0 already decompressed, until it is stopped.
    let socket = f.path("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::create_dir_all(f.tmp()).unwrap();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"))
        .args([
            "--format",
            "json",
            &path_str(&archive),
            "docker://testbed/a",
        ])
        .env("TMPDIR", f.tmp())
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .env_remove("DEBUG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let copy = loop {
        let found = std::fs::read_dir(f.tmp())
            .unwrap()
            .map(|e| e.unwrap().path().join("archive.tar"))
            .find(|p| p.exists());
        if let Some(copy) = found {
            break copy;
        }
        assert!(Instant::now() < deadline, "no decompressed copy appeared");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(copy.exists());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{stderr}");
    assert_tmp_is_empty(&f.tmp());
}

/// Root and these programs, or why not.
fn missing(programs: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("root".into());
    }
    programs
        .iter()
        .find(|p| !have_program(p))
        .map(|p| format!("{p} (apt-get install skopeo podman containerd)"))
}

fn succeed(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn skopeo_archives_are_read() {
    if let Some(why) = missing(&["skopeo"]) {
        return skip_or_fail(&why);
    }
    let f = Fixtures::new();
    let layout = format!("oci:{}", f.a);
    for (transport, name) in [
        ("docker-archive", "skopeo.docker.tar"),
        ("oci-archive", "skopeo.oci.tar"),
    ] {
        let archive = path_str(&f.path(name));
        succeed(Command::new("skopeo").args([
            "--insecure-policy",
            "copy",
            "-q",
            &layout,
            &format!("{transport}:{archive}:testbed/a:latest"),
        ]));
        f.assert_reads_as_a(&archive);
        f.assert_reads_as_a(&format!("{transport}:{archive}:testbed/a:latest"));
        // ... and gzipped afterwards, as people do.
        let gz = format!("{archive}.gz");
        std::fs::write(&gz, gzip(&std::fs::read(&archive).unwrap())).unwrap();
        f.assert_reads_as_a(&gz);
    }
}

#[test]
fn podman_save_archives_are_read() {
    if let Some(why) = missing(&["podman"]) {
        return skip_or_fail(&why);
    }
    let f = Fixtures::new();
    let root = tempfile::Builder::new()
        .prefix("ocw")
        .tempdir_in("/var/tmp")
        .unwrap();
    let r = root.path();
    let podman = || {
        let mut command = Command::new("podman");
        command
            .arg("--storage-driver=vfs")
            .arg(format!("--root={}", r.join("root").display()))
            .arg(format!("--runroot={}", r.join("run").display()))
            .arg(format!("--tmpdir={}", r.join("tmp").display()))
            .args(["--cgroup-manager=cgroupfs", "--events-backend=file"]);
        command
    };
    let input = f.path("in.tar");
    image("a")
        .write_docker_archive(&input, Some("testbed/a:latest"))
        .unwrap();
    succeed(podman().args(["load", "-q", "-i", &path_str(&input)]));
    for (format, name) in [
        ("docker-archive", "podman.docker.tar"),
        ("oci-archive", "podman.oci.tar"),
    ] {
        let archive = path_str(&f.path(name));
        succeed(podman().args([
            "save",
            "-q",
            "--format",
            format,
            "-o",
            &archive,
            "testbed/a:latest",
        ]));
        f.assert_reads_as_a(&archive);
        f.assert_reads_as_a(&format!("{format}:{archive}"));
    }
}

/// containerd on a socket under `root`, stopped (and its directory removed) on drop.
struct Containerd {
    root: TempDir,
    process: Child,
}

impl Containerd {
    fn start() -> Containerd {
        // Short: the socket path plus ".ttrpc" must stay under 104 bytes.
        let root = tempfile::Builder::new()
            .prefix("ocw")
            .tempdir_in("/var/tmp")
            .unwrap();
        let r = root.path().display();
        let config = format!(
            "version = 2\nroot = \"{r}/root\"\nstate = \"{r}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{r}/ctd.sock\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{r}/opt\"\n"
        );
        std::fs::write(root.path().join("config.toml"), config).unwrap();
        let log = std::fs::File::create(root.path().join("containerd.log")).unwrap();
        let process = Command::new("containerd")
            .arg("--config")
            .arg(root.path().join("config.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let containerd = Containerd { root, process };
        let deadline = Instant::now() + Duration::from_secs(10);
        while containerd
            .ctr(&["version"])
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "containerd not ready after 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        containerd
    }

    fn ctr(&self, args: &[&str]) -> Command {
        let mut command = Command::new("ctr");
        command
            .arg("-a")
            .arg(self.root.path().join("ctd.sock"))
            .args(["-n", "ocidiff-writers"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.process.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn ctr_export_archives_are_read() {
    if let Some(why) = missing(&["containerd", "ctr"]) {
        return skip_or_fail(&why);
    }
    let f = Fixtures::new();
    let containerd = Containerd::start();
    let input = path_str(&f.path("in.oci.tar"));
    image("a")
        .write_oci_archive(Path::new(&input), Some("testbed/a:latest"))
        .unwrap();
    succeed(&mut containerd.ctr(&["images", "import", "--no-unpack", &input]));
    let archive = path_str(&f.path("ctr.tar"));
    succeed(&mut containerd.ctr(&["images", "export", &archive, "testbed/a:latest"]));
    f.assert_reads_as_a(&archive);
    f.assert_reads_as_a(&format!("oci-archive:{archive}"));
    f.assert_reads_as_a(&format!("docker-archive:{archive}"));
}
