//! Real registries for the tests: Debian's `docker-registry` (distribution) started on
//! `127.0.0.1:<free port>` only, with a scrubbed environment so nothing overrides the bind address,
//! storage in a temporary directory, killed on drop. Modes: plain HTTP, Basic auth (htpasswd), TLS
//! with a private CA, Bearer tokens (`token-server.py`, this project's testbed token server). Also a
//! TCP proxy that counts blob requests and can cut blob responses short.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const USER: &str = "tester";
pub const PASSWORD: &str = "Pw-9f3c1e-unique";
/// The identity token the token server accepts as an OAuth2 refresh token.
pub const IDENTITY_TOKEN: &str = "Idt-51b0a7-unique";

/// Whether the tools exist; `None` (after a message) to skip, a panic in CI.
pub fn tools() -> Option<()> {
    let missing: Vec<&str> = [
        "docker-registry",
        "skopeo",
        "openssl",
        "htpasswd",
        "python3",
    ]
    .into_iter()
    .filter(|tool| !super::support::have_program(tool))
    .collect();
    if missing.is_empty() {
        return Some(());
    }
    let why = format!(
        "missing {} (apt-get install docker-registry skopeo openssl apache2-utils python3)",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("registry tests need these in CI: {why}");
    }
    eprintln!("skipping: {why}");
    None
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Basic,
    Tls,
    Token,
}

pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub mode: Mode,
    child: Child,
    token_server: Option<Child>,
}

fn must(command: &mut Command) {
    let output = command.output().expect("run a tool");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Registry {
    pub fn start(mode: Mode) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let auth = match mode {
            Mode::Basic => basic_auth(dir.path()),
            Mode::Token => String::new(),
            _ => String::new(),
        };
        let tls = if mode == Mode::Tls {
            tls(dir.path())
        } else {
            String::new()
        };
        let (auth, token_server) = if mode == Mode::Token {
            let (yaml, child) = token_server(dir.path());
            (yaml, Some(child))
        } else {
            (auth, None)
        };
        let config = dir.path().join("config.yml");
        let data = dir.path().join("data");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: 127.0.0.1:{port}\n  secret: test-not-a-secret\n{tls}{auth}",
                data.display()
            ),
        )
        .expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("env")
            .args([
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/nonexistent",
            ])
            .arg("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            port,
            dir,
            mode,
            child,
            token_server,
        };
        wait_for_port(port, &registry.dir.path().join("registry.log"));
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("certs/ca.crt")
    }

    /// Pushes `oci:LAYOUT` (its only image or index) as `REPO:TAG`; `all` copies every platform.
    pub fn push(&self, layout: &Path, repo_tag: &str) {
        let mut skopeo = Command::new("skopeo");
        skopeo.args(["copy", "--all", "--quiet", "--insecure-policy"]);
        match self.mode {
            Mode::Tls => {
                // Only the CA: skopeo takes any *.key in the directory for a client key.
                let trust = self.dir.path().join("skopeo-certs");
                std::fs::create_dir_all(&trust).expect("mkdir");
                std::fs::copy(self.ca(), trust.join("ca.crt")).expect("copy ca");
                skopeo.arg(format!("--dest-cert-dir={}", trust.display()));
            }
            _ => {
                skopeo.arg("--dest-tls-verify=false");
            }
        }
        if matches!(self.mode, Mode::Basic | Mode::Token) {
            skopeo.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        skopeo
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .env(
                "REGISTRY_AUTH_FILE",
                self.dir.path().join("skopeo-auth.json"),
            );
        must(&mut skopeo);
    }

    /// The registry's storage file of a blob.
    pub fn blob_data(&self, hex: &str) -> PathBuf {
        self.dir.path().join(format!(
            "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }

    /// GET requests for blobs in the access log.
    pub fn blob_gets(&self) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/sha256:"))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(token) = &mut self.token_server {
            let _ = token.kill();
            let _ = token.wait();
        }
    }
}

fn wait_for_port(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "nothing listens on 127.0.0.1:{port}; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn basic_auth(dir: &Path) -> String {
    let htpasswd = dir.join("htpasswd");
    must(
        Command::new("htpasswd")
            .arg("-Bbc")
            .arg(&htpasswd)
            .args([USER, PASSWORD]),
    );
    format!(
        "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
        htpasswd.display()
    )
}

/// A private CA and a server certificate for 127.0.0.1 signed by it.
fn tls(dir: &Path) -> String {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).expect("certs dir");
    let at = |name: &str| certs.join(name).display().to_string();
    must(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        &at("ca.key"),
        "-out",
        &at("ca.crt"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    must(Command::new("openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &at("server.key"),
        "-out",
        &at("server.csr"),
    ]));
    std::fs::write(
        certs.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    must(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &at("server.csr"),
        "-CA",
        &at("ca.crt"),
        "-CAkey",
        &at("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &at("server.ext"),
        "-out",
        &at("server.crt"),
    ]));
    format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        at("server.crt"),
        at("server.key")
    )
}

fn token_server(dir: &Path) -> (String, Child) {
    let token = dir.join("token");
    std::fs::create_dir_all(&token).expect("token dir");
    let (key, cert) = (token.join("key.pem"), token.join("cert.pem"));
    must(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=test-token-issuer", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let port = free_port();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry_support/token-server.py");
    let log = std::fs::File::create(dir.join("token-server.log")).expect("log");
    let child = Command::new("env")
        .args(["-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        .arg("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--issuer", "test-token-issuer"])
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .args(["--user", USER, "--password", PASSWORD])
        .args(["--refresh-token", IDENTITY_TOKEN])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the token server");
    wait_for_port(port, &dir.join("token-server.log"));
    let yaml = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: test-registry\n    \
         issuer: test-token-issuer\n    rootcertbundle: {}\n",
        cert.display()
    );
    (yaml, child)
}

/// A TCP proxy on 127.0.0.1 in front of a registry. It counts blob GETs and cuts the responses of
/// the next `cuts` blob GETs after `after` bytes, or answers the next blob or manifest GETs itself
/// with "429 Too Many Requests" (see [`Proxy::throttling`]).
pub struct Proxy {
    pub port: u16,
    /// `127.0.0.1:PORT`, or `[::1]:PORT` for [`Proxy::ipv6`].
    host: String,
    pub blob_gets: Arc<AtomicUsize>,
    cuts: Arc<AtomicUsize>,
    throttle: Arc<Throttle>,
    stop: Arc<AtomicBool>,
}

/// How many GETs of paths containing `path` get a 429, and the Retry-After header sent with it.
#[derive(Default)]
struct Throttle {
    path: &'static str,
    left: AtomicUsize,
    retry_after: String,
}

impl Proxy {
    pub fn start(upstream: u16, cuts: usize, after: usize) -> Proxy {
        Proxy::with_faults("127.0.0.1:0", upstream, cuts, after, Throttle::default())
    }

    /// A plain relay listening on IPv6's loopback, `[::1]`.
    pub fn ipv6(upstream: u16) -> Proxy {
        Proxy::with_faults("[::1]:0", upstream, 0, 0, Throttle::default())
    }

    /// Answers the next `count` GETs of paths with `path` in them (`/blobs/`, `/manifests/`) with 429
    /// and `Retry-After: retry_after`.
    pub fn throttling(upstream: u16, path: &'static str, count: usize, retry_after: &str) -> Proxy {
        let throttle = Throttle {
            path,
            left: AtomicUsize::new(count),
            retry_after: retry_after.to_owned(),
        };
        Proxy::with_faults("127.0.0.1:0", upstream, 0, 0, throttle)
    }

    fn with_faults(
        bind: &str,
        upstream: u16,
        cuts: usize,
        after: usize,
        throttle: Throttle,
    ) -> Proxy {
        let listener = TcpListener::bind(bind).expect("bind proxy");
        let address = listener.local_addr().expect("addr");
        let port = address.port();
        let proxy = Proxy {
            port,
            host: address.to_string(),
            blob_gets: Arc::new(AtomicUsize::new(0)),
            cuts: Arc::new(AtomicUsize::new(cuts)),
            throttle: Arc::new(throttle),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (gets, cuts, throttle, stop) = (
            proxy.blob_gets.clone(),
            proxy.cuts.clone(),
            proxy.throttle.clone(),
            proxy.stop.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (gets, cuts, throttle) = (gets.clone(), cuts.clone(), throttle.clone());
                std::thread::spawn(move || relay(client, upstream, &gets, &cuts, after, &throttle));
            }
        });
        proxy
    }

    pub fn host(&self) -> String {
        self.host.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(&self.host);
    }
}

/// Relays one connection. Requests on a connection come one at a time, so the response bytes that
/// follow a blob GET belong to it.
fn relay(
    client: TcpStream,
    upstream: u16,
    gets: &AtomicUsize,
    cuts: &AtomicUsize,
    after: usize,
    throttle: &Throttle,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let cut_budget = Arc::new(AtomicUsize::new(usize::MAX));
    let (mut from_client, mut to_server, mut answer) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
        client.try_clone().expect("clone"),
    );
    let budget = cut_budget.clone();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match from_client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                let get = text
                    .lines()
                    .next()
                    .filter(|l| l.starts_with("GET /v2/"))
                    .unwrap_or_default();
                let throttled = !throttle.path.is_empty()
                    && get.contains(throttle.path)
                    && throttle
                        .left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                        .is_ok();
                if throttled {
                    let reply = format!(
                        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {}\r\nContent-Length: 0\r\n\r\n",
                        throttle.retry_after
                    );
                    if answer.write_all(reply.as_bytes()).is_err() {
                        break;
                    }
                    continue;
                }
                if get.contains("/blobs/sha256:") {
                    gets.fetch_add(1, Ordering::SeqCst);
                    let cut = cuts.load(Ordering::SeqCst) > 0;
                    budget.store(if cut { after } else { usize::MAX }, Ordering::SeqCst);
                }
                if to_server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to_server.shutdown(Shutdown::Write);
        });
        let (mut from_server, mut to_client) = (server, client);
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from_server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let budget = cut_budget.load(Ordering::SeqCst);
            let pass = n.min(budget);
            if to_client.write_all(&buf[..pass]).is_err() {
                break;
            }
            if budget != usize::MAX {
                cut_budget.store(budget - pass, Ordering::SeqCst);
                if pass < n || budget - pass == 0 {
                    // Only responses longer than `after` are cut, and only those count.
                    let _ =
                        cuts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1));
                    let _ = to_client.shutdown(Shutdown::Both);
                    let _ = from_server.shutdown(Shutdown::Both);
                    break;
                }
            }
        }
    });
}

/// Bytes that do not compress, so layers keep their size and a cut lands inside the body.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// Runs the binary with a clean credential and cache environment plus `env`.
pub fn run(args: &[String], env: &[(&str, &Path)]) -> super::support::Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
    command
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .env("REGISTRY_AUTH_FILE", "/nonexistent")
        .env("XDG_CACHE_HOME", "/nonexistent")
        .env_remove("DEBUG")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy");
    for (key, value) in env {
        command.env(key, value);
    }
    super::support::run_command(&mut command)
}
