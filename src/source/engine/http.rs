//! GET requests to an engine's HTTP API over a unix socket, with hyper's HTTP/1 client connection.
//! One connection per request: an engine socket is local, and an export is one long response.

use std::io;
use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

/// How long a small request (`/version`) may take.
const SMALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an export may take to start: dockerd 20.10 and Podman prepare the whole export before
/// the first byte (here 0.7 s of 0.8 s for a 122 MB image).
const EXPORT_START_TIMEOUT: Duration = Duration::from_secs(600);
/// The most of a JSON answer or an error message that is read.
const SMALL_BODY_LIMIT: usize = 1 << 20;

/// Why a request failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// Nothing answers on the socket.
    Connect(io::Error),
    /// Something answered, but not with a usable HTTP response.
    Protocol(String),
}

async fn send(socket: &Path, uri: &str) -> Result<Response<Incoming>, Failure> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(Failure::Connect)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Protocol(e.to_string()))?;
    // Drives the connection until the response body has been read (or dropped).
    tokio::spawn(connection);
    let request = Request::get(uri)
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .map_err(|e| Failure::Protocol(e.to_string()))?;
    sender
        .send_request(request)
        .await
        .map_err(|e| Failure::Protocol(e.to_string()))
}

async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let late = || Failure::Protocol(format!("no answer within {} s", limit.as_secs()));
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(late()))
}

/// A small response: its status and at most [`SMALL_BODY_LIMIT`] bytes of its body.
pub(super) async fn get_small(socket: &Path, uri: &str) -> Result<(StatusCode, Vec<u8>), Failure> {
    let answer = async {
        let response = send(socket, uri).await?;
        let status = response.status();
        Ok((status, read_limited(response.into_body()).await?))
    };
    within(SMALL_TIMEOUT, answer).await
}

/// Streams a 200 response's body into `file`, chunk by chunk; any other status comes back with the
/// start of its body (the engine's error message).
pub(super) async fn get_into(
    socket: &Path,
    uri: &str,
    file: &mut tokio::fs::File,
) -> Result<Result<u64, (StatusCode, Vec<u8>)>, Failure> {
    let response = within(EXPORT_START_TIMEOUT, send(socket, uri)).await?;
    let status = response.status();
    let mut body = response.into_body();
    if status != StatusCode::OK {
        return Ok(Err((status, read_limited(body).await?)));
    }
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::Protocol(format!("the export broke off: {e}")))?;
        if let Ok(data) = frame.into_data() {
            file.write_all(&data)
                .await
                .map_err(|e| Failure::Protocol(format!("writing the export: {e}")))?;
            written += data.len() as u64;
        }
    }
    file.flush()
        .await
        .map_err(|e| Failure::Protocol(format!("writing the export: {e}")))?;
    Ok(Ok(written))
}

async fn read_limited(mut body: Incoming) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::Protocol(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            let room = SMALL_BODY_LIMIT.saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
            if room <= data.len() {
                break;
            }
        }
    }
    Ok(out)
}

/// The `message` of an engine's JSON error body, else the body's first line, for one-line errors.
pub(super) fn error_message(status: StatusCode, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect()
        });
    match message.trim() {
        "" => format!("HTTP {status}"),
        message => format!("HTTP {status}: {message}"),
    }
}
