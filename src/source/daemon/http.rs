//! GET requests to an engine's HTTP API with reqwest (the client registries use too): over a unix
//! socket, or over TCP, with TLS and a client certificate where the Docker CLI would use them.

use std::error::Error as _;
use std::io;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use super::super::network::{NetError, NetworkLimits, Stall, within};
use super::super::{clean_message, first_line};

/// The most of a JSON answer or an error message that is read.
const SMALL_BODY_LIMIT: usize = 1 << 20;

/// Why a request failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// Nothing answers there.
    Connect(io::Error),
    /// Something answered, but not with a usable HTTP response.
    Protocol(String),
}

/// Where an engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Address {
    Unix(PathBuf),
    /// `host:port`, with the TLS files when TLS is used.
    Tcp {
        authority: String,
        tls: Option<Tls>,
    },
}

/// The Docker CLI's TLS files (`$DOCKER_CERT_PATH`: `ca.pem`, `cert.pem`, `key.pem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tls {
    pub ca: PathBuf,
    /// `cert.pem` and `key.pem`, when present: the client's identity.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl Address {
    /// As the Docker CLI writes it: `unix:///var/run/docker.sock`, `tcp://host:2376`.
    pub(super) fn show(&self) -> String {
        match self {
            Address::Unix(socket) => format!("unix://{}", socket.display()),
            Address::Tcp { authority, .. } => format!("tcp://{authority}"),
        }
    }
}

/// A client for one engine, whose requests are bounded by the network limits.
pub(super) struct Connection {
    client: reqwest::Client,
    /// What request paths are appended to.
    base: String,
    limits: NetworkLimits,
}

impl Connection {
    pub(super) fn new(address: &Address, limits: NetworkLimits) -> Result<Connection, Failure> {
        // An engine is local or on the build network: never reached through $HTTP_PROXY.
        let builder = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(limits.timeout);
        let (builder, base) = match address {
            Address::Unix(socket) => (
                builder.unix_socket(socket.as_path()),
                "http://localhost".into(),
            ),
            Address::Tcp {
                authority,
                tls: None,
            } => (builder, format!("http://{authority}")),
            Address::Tcp {
                authority,
                tls: Some(tls),
            } => (with_tls(builder, tls)?, format!("https://{authority}")),
        };
        let client = builder
            .build()
            .map_err(|e| Failure::Protocol(clean_message(&e)))?;
        Ok(Connection {
            client,
            base,
            limits,
        })
    }

    fn request(&self, path: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.base)).query(query)
    }

    /// A small response: its status and at most [`SMALL_BODY_LIMIT`] bytes of its body.
    pub(super) async fn get_small(&self, path: &str) -> Result<(StatusCode, Vec<u8>), Failure> {
        let what = format!("GET {path}");
        let response = self
            .limits
            .send(self.request(path, &[]))
            .await
            .map_err(|e| failure(&what, e))?;
        let status = response.status();
        Ok((status, self.read_small(&what, response).await?))
    }

    /// Streams a 200 response's body into `file`, chunk by chunk; any other status comes back with
    /// the start of its body (the engine's error message). The export may take
    /// [`NetworkLimits::export_start`] to start, as engines prepare it first; once it flows, the
    /// usual limits apply.
    pub(super) async fn get_into(
        &self,
        path: &str,
        query: &[(&str, String)],
        file: &mut tokio::fs::File,
    ) -> Result<Result<u64, (StatusCode, Vec<u8>)>, Failure> {
        let what = "the export";
        let start = self.limits.export_start();
        let sent = tokio::time::Instant::now();
        let response = within(start, self.request(path, query).send())
            .await
            .map_err(|stall| failure(what, stall.into()))?
            .map_err(|e| failure(what, NetError::Failed(e)))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Ok(Err((status, self.read_small(what, response).await?)));
        }
        let mut written = 0u64;
        let broke_off = |e: reqwest::Error| {
            Failure::Protocol(format!("the export broke off: {}", clean_message(&e)))
        };
        let mut body = response.bytes_stream();
        let mut progress = self.limits.body().first_byte_within(sent, start);
        while let Some(data) = progress
            .chunk(body.next())
            .await
            .map_err(|stall| stalled(what, &stall, written))?
        {
            let data = data.map_err(broke_off)?;
            file.write_all(&data)
                .await
                .map_err(|e| Failure::Protocol(format!("writing the export: {e}")))?;
            written += data.len() as u64;
        }
        file.flush()
            .await
            .map_err(|e| Failure::Protocol(format!("writing the export: {e}")))?;
        Ok(Ok(written))
    }

    async fn read_small(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> Result<Vec<u8>, Failure> {
        let (body, _) = self
            .limits
            .read_small(response, SMALL_BODY_LIMIT)
            .await
            .map_err(|e| failure(what, e))?;
        Ok(body)
    }
}

/// A request that failed: nothing answers there, or it answered too slowly or not with HTTP.
fn failure(what: &str, error: NetError) -> Failure {
    match error {
        NetError::Stalled(stall) => {
            Failure::Protocol(format!("{what}: {stall} ({})", stall.hint()))
        }
        NetError::Failed(e) => match connect_error(&e) {
            Some(error) if e.is_connect() => Failure::Connect(error),
            _ => Failure::Protocol(clean_message(&e)),
        },
    }
}

/// A body that stalled after `written` bytes.
fn stalled(what: &str, stall: &Stall, written: u64) -> Failure {
    Failure::Protocol(format!(
        "{what}: {stall} after {written} bytes ({})",
        stall.hint()
    ))
}

fn with_tls(builder: reqwest::ClientBuilder, tls: &Tls) -> Result<reqwest::ClientBuilder, Failure> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| Failure::Protocol(format!("{}: {e}", path.display())))
    };
    let unusable = |path: &Path, e: reqwest::Error| {
        Failure::Protocol(format!("{}: {}", path.display(), clean_message(&e)))
    };
    let ca = reqwest::Certificate::from_pem(&read(&tls.ca)?).map_err(|e| unusable(&tls.ca, e))?;
    // Only the CA of DOCKER_CERT_PATH is trusted, as the Docker CLI does.
    let mut builder = builder
        .tls_certs_only([ca])
        .min_tls_version(reqwest::tls::Version::TLS_1_2);
    if let Some((cert, key)) = &tls.identity {
        let mut pem = read(cert)?;
        pem.extend(read(key)?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| unusable(cert, e))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

/// The operating system's error under a failed connection (`No such file or directory`).
fn connect_error(error: &reqwest::Error) -> Option<io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
    let mut found = None;
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<io::Error>() {
            found = Some(io::Error::new(io.kind(), io.to_string()));
        }
        cause = current.source();
    }
    found
}

/// The `message` of an engine's JSON error body, else the body's first line, for one-line errors.
pub(super) fn error_message(status: StatusCode, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| first_line(&String::from_utf8_lossy(body)).to_owned());
    match message.trim() {
        "" => format!("HTTP {status}"),
        message => format!("HTTP {status}: {message}"),
    }
}
