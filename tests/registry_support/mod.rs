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
        Registry::start_with_realm(mode, |token_port| token_port)
    }

    /// A registry whose Bearer challenge (in [`Mode::Token`]) names the port `front` returns for
    /// the token server's: a [`Proxy`] in front of it, say.
    pub fn start_with_realm(mode: Mode, front: impl FnOnce(u16) -> u16) -> Registry {
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
            let (yaml, child) = token_server(dir.path(), front);
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
        blob_file(self.dir.path(), hex)
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

/// Where a registry whose directory is `dir` stores the blob `hex`.
fn blob_file(dir: &Path, hex: &str) -> PathBuf {
    let prefix = hex.get(..2).unwrap_or_default();
    dir.join(format!(
        "data/docker/registry/v2/blobs/sha256/{prefix}/{hex}/data"
    ))
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

fn token_server(dir: &Path, front: impl FnOnce(u16) -> u16) -> (String, Child) {
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
    let port = front(port);
    let yaml = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    service: test-registry\n    \
         issuer: test-token-issuer\n    rootcertbundle: {}\n",
        cert.display()
    );
    (yaml, child)
}

/// A TCP proxy on 127.0.0.1 in front of a registry (or its token server). It counts blob GETs and
/// can: cut the responses of the next `cuts` blob GETs after `after` bytes; answer the next blob or
/// manifest GETs itself with "429 Too Many Requests" ([`Proxy::throttling`]); never answer, or
/// trickle the responses of, the requests for a path ([`Proxy::stalling`]); send blob GETs to
/// another server with a redirect ([`Proxy::redirecting_blobs`]).
pub struct Proxy {
    pub port: u16,
    /// `127.0.0.1:PORT`, or `[::1]:PORT` for [`Proxy::ipv6`].
    host: String,
    pub blob_gets: Arc<AtomicUsize>,
    faults: Arc<Faults>,
    stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct Faults {
    /// Blob responses still to cut, and after how many bytes.
    cuts: AtomicUsize,
    after: usize,
    throttle: Throttle,
    stall: Option<Stalling>,
    /// Blob GETs are answered with a redirect to `http://127.0.0.1:PORT/HEX`.
    redirect_blobs_to: Option<u16>,
}

/// How many GETs of paths containing `path` get a 429, and the Retry-After header sent with it.
#[derive(Default)]
struct Throttle {
    path: &'static str,
    left: AtomicUsize,
    retry_after: String,
}

/// How the requests whose request line holds `path` are answered while `on`.
struct Stalling {
    path: &'static str,
    hold: Hold,
    on: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Never answered: not even the headers come.
    Silence,
    /// The headers at once, then the body one byte per interval.
    Trickle(Duration),
    /// The headers and the body's first bytes at once, the rest only once [`Proxy::stall`] turns the
    /// stalling off: a download caught halfway.
    PauseAfter(usize),
}

impl Proxy {
    pub fn start(upstream: u16, cuts: usize, after: usize) -> Proxy {
        let faults = Faults {
            cuts: AtomicUsize::new(cuts),
            after,
            ..Faults::default()
        };
        Proxy::with_faults("127.0.0.1:0", upstream, faults)
    }

    /// A plain relay listening on IPv6's loopback, `[::1]`.
    pub fn ipv6(upstream: u16) -> Proxy {
        Proxy::with_faults("[::1]:0", upstream, Faults::default())
    }

    /// Answers the next `count` GETs of paths with `path` in them (`/blobs/`, `/manifests/`) with 429
    /// and `Retry-After: retry_after`.
    pub fn throttling(upstream: u16, path: &'static str, count: usize, retry_after: &str) -> Proxy {
        let throttle = Throttle {
            path,
            left: AtomicUsize::new(count),
            retry_after: retry_after.to_owned(),
        };
        let faults = Faults {
            throttle,
            ..Faults::default()
        };
        Proxy::with_faults("127.0.0.1:0", upstream, faults)
    }

    /// Holds every request whose request line contains `path` (`/manifests/`, `/blobs/`, `/token`)
    /// as `hold` says, until [`Proxy::stall`] turns that off.
    pub fn stalling(upstream: u16, path: &'static str, hold: Hold) -> Proxy {
        let stall = Stalling {
            path,
            hold,
            on: AtomicBool::new(true),
        };
        let faults = Faults {
            stall: Some(stall),
            ..Faults::default()
        };
        Proxy::with_faults("127.0.0.1:0", upstream, faults)
    }

    /// Turns the stalling of [`Proxy::stalling`] on or off, for requests from now on.
    pub fn stall(&self, on: bool) {
        if let Some(stall) = &self.faults.stall {
            stall.on.store(on, Ordering::SeqCst);
        }
    }

    /// Answers blob GETs with "307 Temporary Redirect" to `http://127.0.0.1:PORT/HEX`, another host
    /// as HTTP clients count hosts (the port differs), like a registry sending clients to its CDN.
    pub fn redirecting_blobs(upstream: u16, port: u16) -> Proxy {
        let faults = Faults {
            redirect_blobs_to: Some(port),
            ..Faults::default()
        };
        Proxy::with_faults("127.0.0.1:0", upstream, faults)
    }

    fn with_faults(bind: &str, upstream: u16, faults: Faults) -> Proxy {
        let listener = TcpListener::bind(bind).expect("bind proxy");
        let address = listener.local_addr().expect("addr");
        let proxy = Proxy {
            port: address.port(),
            host: address.to_string(),
            blob_gets: Arc::new(AtomicUsize::new(0)),
            faults: Arc::new(faults),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (gets, faults, stop) = (
            proxy.blob_gets.clone(),
            proxy.faults.clone(),
            proxy.stop.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (gets, faults) = (gets.clone(), faults.clone());
                std::thread::spawn(move || relay(client, upstream, &gets, &faults));
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

/// What the proxy does to the response of the request just relayed.
#[derive(Default)]
struct ResponseFault {
    /// Bytes to pass before cutting the connection (`usize::MAX`: no cut).
    cut_budget: AtomicUsize,
    /// How the response is held back, from its body on.
    hold: std::sync::Mutex<Option<Hold>>,
}

/// Relays one connection. Requests on a connection come one at a time, so the response bytes that
/// follow a request belong to it.
fn relay(client: TcpStream, upstream: u16, gets: &AtomicUsize, faults: &Faults) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let response = ResponseFault {
        cut_budget: AtomicUsize::new(usize::MAX),
        hold: std::sync::Mutex::new(None),
    };
    let (mut from_client, mut to_server, mut answer) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
        client.try_clone().expect("clone"),
    );
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = match from_client.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                let line = text.lines().next().unwrap_or_default();
                if let Some(reply) = answered_by_proxy(line, gets, faults) {
                    if answer.write_all(reply.as_bytes()).is_err() {
                        break;
                    }
                    continue;
                }
                match faults.stall.as_ref() {
                    Some(stall) if stall.on.load(Ordering::SeqCst) && line.contains(stall.path) => {
                        match stall.hold {
                            // The request never reaches the server: nothing will answer it.
                            Hold::Silence => continue,
                            hold => *response.hold.lock().expect("lock") = Some(hold),
                        }
                    }
                    _ => {}
                }
                if line.starts_with("GET /v2/") && line.contains("/blobs/sha256:") {
                    gets.fetch_add(1, Ordering::SeqCst);
                    let cut = faults.cuts.load(Ordering::SeqCst) > 0;
                    let budget = if cut { faults.after } else { usize::MAX };
                    response.cut_budget.store(budget, Ordering::SeqCst);
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
            // Copied out: the request side sets it again for the next request on this connection.
            let hold = *response.hold.lock().expect("lock");
            match hold {
                Some(Hold::Trickle(interval)) => {
                    trickle(&buf[..n], from_server, to_client, interval);
                    break;
                }
                Some(Hold::PauseAfter(body_bytes)) => {
                    let stall = faults.stall.as_ref().map(|s| &s.on);
                    pause(&buf[..n], from_server, to_client, body_bytes, stall);
                    break;
                }
                _ => {}
            }
            let budget = response.cut_budget.load(Ordering::SeqCst);
            let pass = n.min(budget);
            if to_client.write_all(&buf[..pass]).is_err() {
                break;
            }
            if budget != usize::MAX {
                response.cut_budget.store(budget - pass, Ordering::SeqCst);
                if pass < n || budget - pass == 0 {
                    // Only responses longer than `after` are cut, and only those count.
                    let _ = faults
                        .cuts
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1));
                    let _ = to_client.shutdown(Shutdown::Both);
                    let _ = from_server.shutdown(Shutdown::Both);
                    break;
                }
            }
        }
    });
}

/// The proxy's own answer to a request, if it answers it itself (a 429, a redirect).
fn answered_by_proxy(line: &str, gets: &AtomicUsize, faults: &Faults) -> Option<String> {
    let get = Some(line).filter(|l| l.starts_with("GET /v2/"))?;
    let throttle = &faults.throttle;
    let throttled = !throttle.path.is_empty()
        && get.contains(throttle.path)
        && throttle
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
            .is_ok();
    if throttled {
        return Some(format!(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {}\r\nContent-Length: 0\r\n\r\n",
            throttle.retry_after
        ));
    }
    let port = faults.redirect_blobs_to?;
    let (_, digest) = get.split_once("/blobs/sha256:")?;
    let hex = digest.split(' ').next().unwrap_or_default();
    gets.fetch_add(1, Ordering::SeqCst);
    Some(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/{hex}\r\nContent-Length: 0\r\n\r\n"
    ))
}

/// A response's bytes from `first` on, read up to the end of its headers at least, and where its body
/// starts; None if the server closes first.
fn read_head(first: &[u8], from_server: &mut TcpStream) -> Option<(Vec<u8>, usize)> {
    let mut head = first.to_vec();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((head, end + 4));
        }
        match from_server.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// Passes a response's headers (starting in `first`) at once, then everything else one byte per
/// `interval`, until either side closes.
fn trickle(first: &[u8], mut from_server: TcpStream, mut to_client: TcpStream, interval: Duration) {
    let mut buf = [0u8; 16 * 1024];
    let Some((mut pending, body_at)) = read_head(first, &mut from_server) else {
        return;
    };
    if to_client.write_all(&pending[..body_at]).is_err() {
        return;
    }
    let mut body = pending.split_off(body_at);
    loop {
        for byte in body.drain(..) {
            std::thread::sleep(interval);
            if to_client.write_all(&[byte]).is_err() {
                return;
            }
        }
        match from_server.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
}

/// Passes a response's headers (starting in `first`) and the first `body_bytes` of its body as they
/// come, waits while `stall` is on, then passes everything else. A shorter response passes whole.
fn pause(
    first: &[u8],
    mut from_server: TcpStream,
    mut to_client: TcpStream,
    body_bytes: usize,
    stall: Option<&AtomicBool>,
) {
    let mut buf = [0u8; 16 * 1024];
    let Some((head, body_at)) = read_head(first, &mut from_server) else {
        return;
    };
    let mut budget = body_at + body_bytes;
    let mut chunk = head;
    loop {
        let pass = chunk.len().min(budget);
        if to_client.write_all(&chunk[..pass]).is_err() {
            return;
        }
        budget -= pass;
        if budget == 0 {
            while stall.is_some_and(|on| on.load(Ordering::SeqCst)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            budget = usize::MAX;
            if to_client.write_all(&chunk[pass..]).is_err() {
                return;
            }
        }
        chunk = match from_server.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf[..n].to_vec(),
        };
    }
}

/// A server on 127.0.0.1 that accepts connections and never answers (nor reads) anything.
pub struct SilentServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                held.extend(client.ok());
            }
        });
        SilentServer { port, stop }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.host());
    }
}

/// How [`BlobServer`] answers the first GET of each blob; later ones (the client's retries) are
/// answered honestly, `Range` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    None,
    /// Announces 1000 bytes more than the blob, sends half of it and then nothing, holding the
    /// connection open.
    LongerThanSent,
    /// Announces and sends half of the blob, then closes.
    ShorterThanReal,
}

/// One request [`BlobServer`] got.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<u64>,
    pub authorization: bool,
}

/// A plain HTTP server on 127.0.0.1 serving a registry's blobs as `/HEX` from its storage, as a CDN
/// a registry redirects to; it notes every request and whether it carried credentials.
pub struct BlobServer {
    pub port: u16,
    pub seen: Arc<std::sync::Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl BlobServer {
    pub fn start(registry: &Registry, lie: Lie) -> BlobServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let root = registry.dir.path().to_owned();
        let (noted, stopped) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let lied = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
            for client in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (root, noted, lied) = (root.clone(), noted.clone(), lied.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&client) else {
                        return;
                    };
                    noted.lock().expect("lock").push(request.clone());
                    let hex = request.path.trim_start_matches('/');
                    let Ok(bytes) = std::fs::read(blob_file(&root, hex)) else {
                        let _ = (&client).write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        return;
                    };
                    let first = lied.lock().expect("lock").insert(hex.to_owned());
                    let lie = if first { lie } else { Lie::None };
                    serve_blob(client, &bytes, request.range, lie);
                });
            }
        });
        BlobServer { port, seen, stop }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for BlobServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The request line's path, the `Range` start and whether an `Authorization` header came.
fn read_request(client: &TcpStream) -> Option<Seen> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(client);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1)?.to_owned();
    let (mut range, mut authorization) = (None, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? <= 2 {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = true,
            "range" => {
                let start = value.trim().strip_prefix("bytes=")?.trim_end_matches('-');
                range = start.parse().ok();
            }
            _ => {}
        }
    }
    Some(Seen {
        path,
        range,
        authorization,
    })
}

fn serve_blob(mut client: TcpStream, bytes: &[u8], range: Option<u64>, lie: Lie) {
    let len = bytes.len();
    let half = len / 2;
    let (head, body) = match (lie, range) {
        (Lie::LongerThanSent, _) => (
            format!("200 OK\r\nContent-Length: {}", len + 1000),
            &bytes[..half],
        ),
        (Lie::ShorterThanReal, _) => (format!("200 OK\r\nContent-Length: {half}"), &bytes[..half]),
        (Lie::None, Some(start)) => {
            let start = (start as usize).min(len);
            let range = format!("bytes {start}-{}/{len}", len.saturating_sub(1));
            let head = format!(
                "206 Partial Content\r\nContent-Range: {range}\r\nContent-Length: {}",
                len - start
            );
            (head, &bytes[start..])
        }
        (Lie::None, None) => (format!("200 OK\r\nContent-Length: {len}"), bytes),
    };
    let head = format!(
        "HTTP/1.1 {head}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    if client.write_all(head.as_bytes()).is_err() || client.write_all(body).is_err() {
        return;
    }
    if lie == Lie::LongerThanSent {
        // Silent, until the client gives up and closes.
        let _ = client.read(&mut [0u8; 1]);
    }
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
    super::support::run_command(&mut command(args, env))
}

/// [`run`], killed (and the test failed) if it has not exited within `limit`; also how long it
/// took.
pub fn run_within(
    args: &[String],
    env: &[(&str, &Path)],
    limit: Duration,
) -> (super::support::Run, Duration) {
    super::support::run_command_within(&mut command(args, env), limit)
}

fn command(args: &[String], env: &[(&str, &Path)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocidiff-tui"));
    command
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .env("REGISTRY_AUTH_FILE", "/nonexistent")
        .env("XDG_CACHE_HOME", "/nonexistent")
        .env_remove("DEBUG")
        .env_remove("OCIDIFF_NETWORK_TIMEOUT")
        .env_remove("OCIDIFF_NETWORK_MIN_RATE")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}
