//! Talking to one registry for one repository: connecting (HTTPS or, where allowed, plain HTTP),
//! authenticating (Basic, or a Bearer token from the token server the registry's challenge names),
//! manifests, and blob downloads with retries that resume where the bytes stopped.
//!
//! Every request goes through reqwest under the [`NetworkLimits`]: a server that does not answer,
//! goes silent or trickles fails in bounded time, and such a stall is retried like a cut connection.

use std::error::Error as _;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sha2::{Digest as _, Sha256};

use super::auth::{Credential, bearer_challenge, parse_token, refused_what, token_request};
use super::reference::Target;
use super::store::Download;
use crate::oci::{Digest, media_type};
use crate::source::archive::MAX_JSON_SIZE;
use crate::source::network::{NetError, NetworkLimits, Stall};
use crate::source::{SourceError, SourceOptions, clean_message, first_line};

/// Tries per request, the first included.
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Backoff for "429 Too Many Requests" without a Retry-After header: longer than for other failures.
const FIRST_RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);
/// The longest Retry-After waited for; a registry asking for more gets a clear error instead.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The most of a token server's answer that is read (tokens are a few KiB).
const MAX_TOKEN_ANSWER: usize = 1 << 20;
/// The most of an error body that is read for its message.
const MAX_ERROR_BODY: usize = 64 << 10;

const MANIFEST_TYPES: &[&str] = &[
    media_type::OCI_INDEX,
    media_type::DOCKER_MANIFEST_LIST,
    media_type::OCI_MANIFEST,
    media_type::DOCKER_MANIFEST,
];

/// A blob response's body, how many of its leading bytes are already written, and its length.
type BlobBody = (
    BoxStream<'static, std::io::Result<bytes::Bytes>>,
    u64,
    Option<u64>,
);

/// One input's registry and repository, connected.
pub(crate) struct Remote {
    pub target: Target,
    http: reqwest::Client,
    limits: NetworkLimits,
    /// `scheme://host` of the registry's API.
    base_url: String,
    /// The bearer token, once asked for (`Some(None)`: the registry wants none).
    token: tokio::sync::Mutex<Option<Option<String>>>,
    credential: Credential,
}

/// How a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Worth another try (connection trouble, 5xx, truncated body).
    Transient(String),
    /// No answer, or a body that stalled: worth another try; the final message names the setting
    /// that would have waited longer.
    Stalled(String, &'static str),
    /// 429: worth another try, later (after what the registry's Retry-After says, if it did).
    RateLimited(String, Option<Duration>),
    Fatal(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Transient(m)
            | Failure::Stalled(m, _)
            | Failure::RateLimited(m, _)
            | Failure::Fatal(m) => m,
        }
    }

    /// The wait before try `attempt + 1`, or `None` to give up.
    fn backoff(&self, attempt: u32) -> Option<Duration> {
        let first = match self {
            _ if attempt >= ATTEMPTS => return None,
            Failure::Fatal(_) => return None,
            Failure::Transient(_) | Failure::Stalled(..) => FIRST_BACKOFF,
            Failure::RateLimited(_, Some(wait)) => return Some(*wait),
            Failure::RateLimited(_, None) => FIRST_RATE_LIMIT_BACKOFF,
        };
        Some(first * 2u32.pow(attempt - 1))
    }

    /// The same failure, said to be of `who` (`token server HOST`).
    fn of(self, who: &str) -> Failure {
        let said = |m: String| format!("{who}: {m}");
        match self {
            Failure::Transient(m) => Failure::Transient(said(m)),
            Failure::Stalled(m, hint) => Failure::Stalled(said(m), hint),
            Failure::RateLimited(m, wait) => Failure::RateLimited(said(m), wait),
            Failure::Fatal(m) => Failure::Fatal(said(m)),
        }
    }
}

impl From<Stall> for Failure {
    fn from(stall: Stall) -> Failure {
        Failure::Stalled(stall.to_string(), stall.hint())
    }
}

impl From<NetError> for Failure {
    fn from(error: NetError) -> Failure {
        match error {
            NetError::Stalled(stall) => stall.into(),
            NetError::Failed(error) => connection_failure(clean_message(&error)),
        }
    }
}

impl Remote {
    /// Connects to the registry of `target`: decides the scheme, trusts `--registry-ca`, and finds
    /// credentials.
    pub async fn connect(target: Target, options: &SourceOptions) -> Result<Remote, SourceError> {
        let limits = options.network;
        // Docker's meaning of an insecure registry: plain HTTP, or TLS without verification.
        let insecure = target.is_listed(&options.insecure_registries);
        let http = http_client(&target, options, insecure)?;
        let plain_http =
            (target.is_loopback() || insecure) && !offers_https(&target, &http, &limits).await?;
        let scheme = if plain_http { "http" } else { "https" };
        let base_url = format!("{scheme}://{}", target.registry());
        let credential = super::auth::credentials_for(target.registry(), limits.timeout);
        Ok(Remote {
            target,
            http,
            limits,
            base_url,
            token: tokio::sync::Mutex::new(None),
            credential,
        })
    }

    /// Fetches a manifest or index (by the reference's tag or digest, or by `digest`), retrying
    /// transient failures. Returns its bytes and their digest, checked.
    pub async fn manifest(
        &self,
        digest: Option<&Digest>,
    ) -> Result<(Vec<u8>, Digest), SourceError> {
        let reference = &self.target.reference;
        let name = match (digest, reference.digest(), reference.tag()) {
            (Some(d), _, _) => d.to_string(),
            (None, Some(d), _) => d.to_owned(),
            (None, None, tag) => tag.unwrap_or("latest").to_owned(),
        };
        let what = format!("manifest {name}");
        let mut attempt = 1;
        loop {
            let failure = match self.fetch_manifest(&name).await {
                Ok(bytes) => return self.checked_manifest(bytes, digest, &what),
                Err(failure) => failure,
            };
            match failure.backoff(attempt) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(self.final_error(&what, &failure, attempt)),
            }
            attempt += 1;
        }
    }

    /// One try at a manifest's bytes (at most [`MAX_JSON_SIZE`]).
    async fn fetch_manifest(&self, name: &str) -> Result<Vec<u8>, Failure> {
        let url = format!(
            "{}/v2/{}/manifests/{name}",
            self.base_url,
            self.target.repository()
        );
        let request = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, MANIFEST_TYPES.join(", "));
        let response = self.send(request).await?;
        let (bytes, complete) = self
            .limits
            .read_small(response, MAX_JSON_SIZE as usize)
            .await?;
        if !complete {
            return Err(Failure::Fatal(format!(
                "larger than {} MiB, too large for a manifest",
                MAX_JSON_SIZE >> 20
            )));
        }
        Ok(bytes)
    }

    fn checked_manifest(
        &self,
        bytes: Vec<u8>,
        wanted: Option<&Digest>,
        what: &str,
    ) -> Result<(Vec<u8>, Digest), SourceError> {
        let actual = Digest::sha256_of(&bytes);
        let wanted = wanted
            .cloned()
            .or_else(|| self.target.reference.digest().and_then(|d| d.parse().ok()));
        match wanted {
            Some(wanted) if wanted != actual => Err(registry_error(
                &self.target,
                what,
                &format!("digest mismatch: content hashes to {actual}"),
            )),
            _ => Ok((bytes, actual)),
        }
    }

    /// Downloads a blob into `download`, resuming after transient failures. `Ok` only if the bytes
    /// hash to `digest`; the error is one line naming the registry, repository and blob.
    pub async fn download(
        &self,
        digest: &Digest,
        size: Option<u64>,
        download: &Download,
    ) -> Result<(), String> {
        let mut hasher = Sha256::new();
        let mut size = size;
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(digest, &mut size, &mut hasher, download).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            match failure.backoff(attempt) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => {
                    let what = format!("blob {digest}");
                    return Err(self.final_error(&what, &failure, attempt).to_string());
                }
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        digest: &Digest,
        size: &mut Option<u64>,
        hasher: &mut Sha256,
        download: &Download,
    ) -> Result<(), Failure> {
        let offset = download.written();
        let (mut stream, mut skip, length) = self.open_stream(digest, offset).await?;
        if size.is_none() && skip == offset {
            *size = length;
        }
        let complete =
            |hasher: &Sha256| Digest::from_sha256(hasher.clone().finalize().into()) == *digest;
        let mut progress = self.limits.body();
        while let Some(chunk) = progress
            .chunk(stream.next())
            .await
            .map_err(|stall| stalled(&stall, download.written(), *size))?
        {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => return Err(cut_short(download.written(), *size, &e)),
            };
            let skipped = (skip.min(chunk.len() as u64)) as usize;
            skip -= skipped as u64;
            let fresh = &chunk[skipped..];
            hasher.update(fresh);
            download
                .append(fresh)
                .map_err(|e| Failure::Fatal(format!("cannot write to the cache: {e}")))?;
            if size.is_some_and(|size| download.written() >= size) {
                break;
            }
        }
        self.check_end(download.written(), *size, complete(hasher))
    }

    /// The blob's bytes from `offset` on (a Range request), how many leading bytes to skip when
    /// the registry ignored the range and sent everything, and the body's length if known.
    async fn open_stream(&self, digest: &Digest, offset: u64) -> Result<BlobBody, Failure> {
        let url = format!(
            "{}/v2/{}/blobs/{digest}",
            self.base_url,
            self.target.reference.repository()
        );
        let mut request = self.http.get(url);
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let response = self.send(request).await?;
        let skip = match response.status().as_u16() {
            206 => 0,
            _ => offset,
        };
        let length = response.content_length();
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other));
        Ok((body.boxed(), skip, length))
    }

    /// Sends a request with the credentials; an answer other than 200 or 206 is a failure that says
    /// why. reqwest drops the Authorization header when a registry redirects to another host (a CDN).
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
        let token = self.token().await?;
        let request = match (&token, &self.credential) {
            (Some(token), _) => request.bearer_auth(token),
            (None, Credential::Basic { user, password }) => {
                request.basic_auth(user, Some(password))
            }
            (None, _) => request,
        };
        let response = self.limits.send(request).await?;
        match response.status().as_u16() {
            200 | 206 => Ok(response),
            status => Err(self.refused(status, token.is_some(), response).await),
        }
    }

    /// Why a request was answered with `status`. A refused token is forgotten so the next attempt asks
    /// for a new one (tokens expire during long downloads).
    async fn refused(&self, status: u16, had_token: bool, response: reqwest::Response) -> Failure {
        let mut message = format!("HTTP {status}");
        if status == 429 {
            return match retry_after(response.headers()) {
                Some(wait) if wait > LONGEST_RETRY_AFTER => Failure::Fatal(format!(
                    "{message}: too many requests; the registry asks to retry after {} s",
                    wait.as_secs()
                )),
                wait => Failure::RateLimited(format!("{message}: too many requests"), wait),
            };
        }
        if status == 401 && had_token {
            *self.token.lock().await = None;
            return Failure::Transient(format!("unauthorized ({message})"));
        }
        if let Some(detail) = self.error_detail(response).await {
            message = format!("{message}: {detail}");
        }
        self.with_credentials_hint(status_failure(status, message))
    }

    /// The messages of a registry's error body (`{"errors": [{"code": ..., "message": ...}]}`), if
    /// it has one; other bodies (HTML pages from proxies) say nothing useful.
    async fn error_detail(&self, response: reqwest::Response) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            errors: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let (bytes, complete) = self
            .limits
            .read_small(response, MAX_ERROR_BODY)
            .await
            .ok()?;
        let envelope: Envelope = serde_json::from_slice(&bytes).ok().filter(|_| complete)?;
        let text: Vec<String> = envelope
            .errors
            .iter()
            .map(|e| error_words(&e.code, &e.message))
            .filter(|m| !m.is_empty())
            .collect();
        (!text.is_empty()).then(|| text.join("; "))
    }

    /// The bearer token, asked of the registry's token server once.
    async fn token(&self) -> Result<Option<String>, Failure> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let token = self
            .fetch_token()
            .await
            .map_err(|f| self.with_credentials_hint(f))?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// A pull token from the token server the registry's challenge (its answer to `GET /v2/`)
    /// names; none if it sends no Bearer challenge (no authentication, or Basic).
    async fn fetch_token(&self) -> Result<Option<String>, Failure> {
        let probe = self.http.get(format!("{}/v2/", self.base_url));
        let answer = self.limits.send(probe).await?;
        let Some(challenge) = bearer_challenge(answer.headers()) else {
            return Ok(None);
        };
        drop(answer);
        let repository = self.target.repository();
        let request = token_request(&self.http, &challenge, repository, &self.credential)
            .map_err(|m| Failure::Fatal(m.to_owned()))?;
        let realm = challenge.get("realm").map_or("", String::as_str);
        let server = format!("token server {}", authority(realm));
        let response = self
            .limits
            .send(request)
            .await
            .map_err(|e| Failure::from(e).of(&server))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(match status {
                401 | 403 => Failure::Fatal(format!(
                    "unauthorized: the token server refused {} (HTTP {status})",
                    refused_what(&self.credential)
                )),
                _ => status_failure(status, format!("{server} answered HTTP {status}")),
            });
        }
        let (body, complete) = self
            .limits
            .read_small(response, MAX_TOKEN_ANSWER)
            .await
            .map_err(|e| Failure::from(e).of(&server))?;
        match parse_token(&body) {
            Some(token) if complete => Ok(Some(token)),
            _ => Err(Failure::Fatal(format!(
                "{server}: its answer holds no token"
            ))),
        }
    }

    fn check_end(&self, written: u64, size: Option<u64>, complete: bool) -> Result<(), Failure> {
        match size {
            _ if complete => Ok(()),
            Some(size) if written < size => Err(Failure::Transient(format!(
                "connection closed after {written} of {size} bytes"
            ))),
            _ => Err(Failure::Fatal(format!(
                "digest mismatch: the registry sent {written} bytes that do not hash to the digest"
            ))),
        }
    }

    /// An authorization failure, with why no credentials were sent when none were.
    fn with_credentials_hint(&self, failure: Failure) -> Failure {
        match (failure, &self.credential) {
            (Failure::Fatal(m), Credential::Missing(why)) if m.starts_with("unauthorized") => {
                Failure::Fatal(format!("{m} ({why})"))
            }
            (failure, _) => failure,
        }
    }

    fn final_error(&self, what: &str, failure: &Failure, attempts: u32) -> SourceError {
        let message = match failure {
            Failure::Fatal(m) => m.clone(),
            Failure::Stalled(m, hint) => format!("{m} after {attempts} attempts ({hint})"),
            _ => format!("{} after {attempts} attempts", failure.message()),
        };
        registry_error(&self.target, what, &message)
    }
}

pub(crate) fn registry_error(target: &Target, what: &str, problem: &str) -> SourceError {
    SourceError::Registry {
        registry: target.registry().to_owned(),
        repository: target.repository().to_owned(),
        what: what.to_owned(),
        problem: problem.to_owned(),
    }
}

/// The HTTP client for a registry: `--registry-ca` trusted besides the system's roots, any
/// certificate accepted for an `--insecure-registry` one, and the connect timeout.
fn http_client(
    target: &Target,
    options: &SourceOptions,
    accept_invalid_certificates: bool,
) -> Result<reqwest::Client, SourceError> {
    let roots = options
        .registry_ca
        .iter()
        .map(|path| {
            let pem = std::fs::read(path).map_err(|cause| SourceError::Io {
                path: path.clone(),
                cause,
            })?;
            reqwest::Certificate::from_pem(&pem).map_err(|e| {
                let problem = format!("{}: {}", path.display(), clean_message(&e));
                registry_error(target, "connecting", &problem)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    reqwest::Client::builder()
        .tls_certs_merge(roots)
        .tls_danger_accept_invalid_certs(accept_invalid_certificates)
        .connect_timeout(options.network.timeout)
        .build()
        .map_err(|e| registry_error(target, "connecting", &clean_message(&e)))
}

/// Whether a loopback or `--insecure-registry` registry speaks HTTPS, as Docker decides: try HTTPS
/// first; a server that answers the TLS handshake with plain HTTP (or not at all, within the
/// network timeout) gets plain HTTP. A registry that does speak TLS with a certificate we do not
/// trust is an error, not a reason to downgrade (an `--insecure-registry` one trusts any
/// certificate).
async fn offers_https(
    target: &Target,
    http: &reqwest::Client,
    limits: &NetworkLimits,
) -> Result<bool, SourceError> {
    let probe = http.get(format!("https://{}/v2/", target.registry()));
    match limits.send(probe).await {
        Ok(_) => Ok(true),
        Err(NetError::Stalled(_)) => Ok(false),
        Err(NetError::Failed(e)) => {
            let message = clean_message(&e);
            if is_certificate_problem(&message) {
                let problem = format!(
                    "the registry's TLS certificate is not trusted ({message}); pass its CA with --registry-ca FILE"
                );
                return Err(registry_error(target, "connecting", &problem));
            }
            Ok(false)
        }
    }
}

fn is_certificate_problem(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("certificate") || message.contains("unknownissuer")
}

/// `host[:port]` of a URL, to name a server in messages.
fn authority(url: &str) -> String {
    let Ok(url) = reqwest::Url::parse(url) else {
        return "?".to_owned();
    };
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => "?".to_owned(),
    }
}

/// What an HTTP error status means for retrying.
fn status_failure(code: u16, message: String) -> Failure {
    match code {
        429 => Failure::RateLimited(message, None),
        408 | 500..=599 => Failure::Transient(message),
        401 | 403 => Failure::Fatal(format!("unauthorized ({message})")),
        _ => Failure::Fatal(message),
    }
}

/// A request that got no answer: worth retrying, unless TLS refused the registry's certificate.
fn connection_failure(message: String) -> Failure {
    if is_certificate_problem(&message) {
        Failure::Fatal(message)
    } else {
        Failure::Transient(message)
    }
}

/// One entry of a registry's error body: its message, else its code.
fn error_words(code: &str, message: &str) -> String {
    match first_line(message) {
        "" => code.to_lowercase(),
        message => message.to_owned(),
    }
}

/// A Retry-After header: seconds, or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or_default())
}

fn cut_short(written: u64, size: Option<u64>, error: &std::io::Error) -> Failure {
    let cause = io_message(error);
    let so_far = bytes_so_far(written, size);
    Failure::Transient(format!("connection lost {so_far} ({cause})"))
}

/// A blob body that stalled, and where.
fn stalled(stall: &Stall, written: u64, size: Option<u64>) -> Failure {
    let so_far = bytes_so_far(written, size);
    Failure::Stalled(format!("{stall} {so_far}"), stall.hint())
}

/// `after 1200 of 41266 bytes`.
fn bytes_so_far(written: u64, size: Option<u64>) -> String {
    match size {
        Some(size) => format!("after {written} of {size} bytes"),
        None => format!("after {written} bytes"),
    }
}

fn io_message(error: &std::io::Error) -> String {
    match error.source() {
        Some(source) => clean_message(source),
        None => first_line(&error.to_string()).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_retried_and_others_are_not() {
        let said = |code| status_failure(code, format!("HTTP {code}"));
        assert_eq!(said(503), Failure::Transient("HTTP 503".into()));
        assert!(matches!(said(429), Failure::RateLimited(_, None)));
        assert_eq!(said(404), Failure::Fatal("HTTP 404".into()));
        assert_eq!(said(401), Failure::Fatal("unauthorized (HTTP 401)".into()));
        assert!(matches!(
            connection_failure("connection reset by peer".into()),
            Failure::Transient(_)
        ));
        assert!(matches!(
            connection_failure("invalid peer certificate: UnknownIssuer".into()),
            Failure::Fatal(_)
        ));
    }

    #[test]
    fn a_stall_is_retried_and_its_final_message_says_what_waits_longer() {
        let silent = Stall::Silent(Duration::from_secs(2));
        let failure = stalled(&silent, 1200, Some(41266));
        assert_eq!(
            failure,
            Failure::Stalled(
                "stalled: no data for 2 s after 1200 of 41266 bytes".into(),
                "set --network-timeout to wait longer"
            )
        );
        assert_eq!(failure.backoff(1), Some(FIRST_BACKOFF));
        assert_eq!(failure.backoff(ATTEMPTS), None);
        let of_token_server =
            Failure::from(Stall::NoResponse(Duration::from_secs(1))).of("token server 127.0.0.1:9");
        assert_eq!(
            of_token_server.message(),
            "token server 127.0.0.1:9: no response within 1 s"
        );
        assert_eq!(authority("http://127.0.0.1:9/token?x=1"), "127.0.0.1:9");
        assert_eq!(authority("https://auth.docker.io/token"), "auth.docker.io");
        assert_eq!(authority("not a url"), "?");
    }

    #[test]
    fn backoff_doubles_and_gives_up_after_the_last_attempt() {
        let transient = Failure::Transient("reset".into());
        let waits: Vec<Option<Duration>> = (1..=ATTEMPTS).map(|a| transient.backoff(a)).collect();
        assert_eq!(
            waits,
            [
                Some(FIRST_BACKOFF),
                Some(FIRST_BACKOFF * 2),
                Some(FIRST_BACKOFF * 4),
                None
            ]
        );
        assert_eq!(
            Failure::RateLimited("429".into(), None).backoff(1),
            Some(FIRST_RATE_LIMIT_BACKOFF)
        );
        assert_eq!(Failure::Fatal("404".into()).backoff(1), None);
        let told = Failure::RateLimited("429".into(), Some(Duration::from_secs(3)));
        assert_eq!(told.backoff(1), Some(Duration::from_secs(3)));
        assert_eq!(told.backoff(ATTEMPTS), None);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let header = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(header("7"), Some(Duration::from_secs(7)));
        assert_eq!(header(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            header("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let date = jiff::fmt::rfc2822::to_string(&later.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
        let wait = header(&date).expect("a date");
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(header("soon"), None);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn certificate_problems_are_told_apart_from_plain_http_answers() {
        assert!(is_certificate_problem(
            "invalid peer certificate: UnknownIssuer"
        ));
        assert!(!is_certificate_problem(
            "received corrupt message of type InvalidContentType"
        ));
    }
}
