//! Talking to one registry for one repository: connecting (HTTPS or, where allowed, plain HTTP),
//! manifests, and blob downloads with retries that resume where the bytes stopped.
//!
//! oci-client decides the scheme and does the authentication (the challenge, the token server); the
//! requests themselves go through reqwest with its token, because oci-client's errors do not carry the
//! Retry-After header of a 429.

use std::error::Error as _;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use sha2::{Digest as _, Sha256};

use super::auth::{Credential, exchange_identity_token};
use super::reference::Target;
use super::store::Download;
use crate::oci::{Digest, media_type};
use crate::source::archive::MAX_JSON_SIZE;
use crate::source::{SourceError, SourceOptions, clean_message, first_line};

/// Tries per request, the first included.
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Backoff for "429 Too Many Requests" without a Retry-After header: longer than for other failures.
const FIRST_RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);
/// The longest Retry-After waited for; a registry asking for more gets a clear error instead.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);

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
    /// Authenticates: the challenge, the token server.
    client: Client,
    /// Sends the requests, so that Retry-After can be read.
    http: reqwest::Client,
    /// `scheme://host` of the registry's API.
    base_url: String,
    /// The bearer token, once asked for (`Some(None)`: the registry wants none).
    token: tokio::sync::Mutex<Option<Option<String>>>,
    auth: RegistryAuth,
    /// Why there are no credentials, if there are none: added to authorization failures.
    no_credentials: Option<String>,
}

/// How a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Worth another try (connection trouble, 5xx, truncated body).
    Transient(String),
    /// 429: worth another try, later (after what the registry's Retry-After says, if it did).
    RateLimited(String, Option<Duration>),
    Fatal(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::RateLimited(m, _) | Failure::Fatal(m) => m,
        }
    }

    /// The wait before try `attempt + 1`, or `None` to give up.
    fn backoff(&self, attempt: u32) -> Option<Duration> {
        let first = match self {
            _ if attempt >= ATTEMPTS => return None,
            Failure::Fatal(_) => return None,
            Failure::Transient(_) => FIRST_BACKOFF,
            Failure::RateLimited(_, Some(wait)) => return Some(*wait),
            Failure::RateLimited(_, None) => FIRST_RATE_LIMIT_BACKOFF,
        };
        Some(first * 2u32.pow(attempt - 1))
    }
}

impl Remote {
    /// Connects to the registry of `target`: decides the scheme, trusts `--registry-ca`, and finds
    /// credentials.
    pub async fn connect(target: Target, options: &SourceOptions) -> Result<Remote, SourceError> {
        let insecure = target.is_listed(&options.insecure_registries);
        let tls = Tls {
            certificates: read_certificates(options)?,
            // Docker's meaning of an insecure registry: plain HTTP, or TLS without verification.
            accept_invalid: insecure,
        };
        let registry = target.registry().to_owned();
        let plain_http = if target.is_loopback() || insecure {
            !offers_https(&target, &tls).await?
        } else {
            false
        };
        let config = ClientConfig {
            protocol: if plain_http {
                ClientProtocol::HttpsExcept(vec![registry])
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(60)),
            ..tls.config()
        };
        let client = Client::try_from(config)
            .map_err(|e| registry_error(&target, "connecting", &clean_message(&e)))?;
        let scheme = if plain_http { "http" } else { "https" };
        let http = http_client(&target, &tls)?;
        let base_url = format!("{scheme}://{}", target.reference.resolve_registry());
        let (auth, no_credentials) = match super::auth::credentials_for(target.registry()) {
            Credential::Ready(auth) => (auth, None),
            Credential::Missing(why) => (RegistryAuth::Anonymous, Some(why)),
            Credential::IdentityToken(token) => {
                let access = exchange_identity_token(&http, &base_url, target.repository(), &token)
                    .await
                    .map_err(|problem| registry_error(&target, "identity token", &problem))?;
                (RegistryAuth::Bearer(access), None)
            }
        };
        Ok(Remote {
            target,
            client,
            http,
            base_url,
            token: tokio::sync::Mutex::new(None),
            auth,
            no_credentials,
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
        let mut body = response.bytes_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| connection_failure(clean_message(&e)))?;
            if (bytes.len() + chunk.len()) as u64 > MAX_JSON_SIZE {
                return Err(Failure::Fatal(format!(
                    "larger than {} MiB, too large for a manifest",
                    MAX_JSON_SIZE >> 20
                )));
            }
            bytes.extend_from_slice(&chunk);
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
        while let Some(chunk) = stream.next().await {
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
        let request = match (&token, &self.auth) {
            (Some(token), _) => request.bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            (None, _) => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| connection_failure(clean_message(&e)))?;
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
        if let Some(detail) = error_detail(response).await {
            message = format!("{message}: {detail}");
        }
        self.with_credentials_hint(status_failure(status, message))
    }

    /// The bearer token, asked of the registry's token server once.
    async fn token(&self) -> Result<Option<String>, Failure> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let token = self
            .client
            .auth(&self.target.reference, &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|e| self.classify(&e))?;
        *cached = Some(token.clone());
        Ok(token)
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

    fn classify(&self, error: &OciDistributionError) -> Failure {
        self.with_credentials_hint(classify(error))
    }

    /// An authorization failure, with why no credentials were sent when none were.
    fn with_credentials_hint(&self, failure: Failure) -> Failure {
        match (failure, &self.no_credentials) {
            (Failure::Fatal(m), Some(why)) if m.starts_with("unauthorized") => {
                Failure::Fatal(format!("{m} ({why})"))
            }
            (failure, _) => failure,
        }
    }

    fn final_error(&self, what: &str, failure: &Failure, attempts: u32) -> SourceError {
        let message = match failure {
            Failure::Fatal(m) => m.clone(),
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

/// How to check a registry's certificate.
struct Tls {
    /// `--registry-ca`, trusted besides the system's roots.
    certificates: Vec<Certificate>,
    /// `--insecure-registry`: any certificate is accepted.
    accept_invalid: bool,
}

impl Tls {
    fn config(&self) -> ClientConfig {
        ClientConfig {
            extra_root_certificates: self.certificates.clone(),
            accept_invalid_certificates: self.accept_invalid,
            ..Default::default()
        }
    }
}

/// A plain HTTP client with the same trust, for what oci-client does not do.
fn http_client(target: &Target, tls: &Tls) -> Result<reqwest::Client, SourceError> {
    let roots = tls
        .certificates
        .iter()
        .map(|c| reqwest::Certificate::from_pem(&c.data))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| registry_error(target, "connecting", &clean_message(&e)))?;
    reqwest::Client::builder()
        .tls_certs_merge(roots)
        .tls_danger_accept_invalid_certs(tls.accept_invalid)
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| registry_error(target, "connecting", &clean_message(&e)))
}

fn read_certificates(options: &SourceOptions) -> Result<Vec<Certificate>, SourceError> {
    options
        .registry_ca
        .iter()
        .map(|path| {
            let data = std::fs::read(path).map_err(|cause| SourceError::Io {
                path: path.clone(),
                cause,
            })?;
            Ok(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            })
        })
        .collect()
}

/// Whether a loopback or `--insecure-registry` registry speaks HTTPS, as Docker decides: try HTTPS
/// first; a server that answers the TLS handshake with plain HTTP (or not at all) gets plain HTTP. A
/// registry that does speak TLS with a certificate we do not trust is an error, not a reason to
/// downgrade (an `--insecure-registry` one trusts any certificate).
async fn offers_https(target: &Target, tls: &Tls) -> Result<bool, SourceError> {
    let config = ClientConfig {
        protocol: ClientProtocol::Https,
        connect_timeout: Some(Duration::from_secs(5)),
        read_timeout: Some(Duration::from_secs(10)),
        ..tls.config()
    };
    let probe = Client::try_from(config)
        .map_err(|e| registry_error(target, "connecting", &clean_message(&e)))?;
    match probe
        .auth(
            &target.reference,
            &RegistryAuth::Anonymous,
            RegistryOperation::Pull,
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let message = clean_message(&e);
            if is_certificate_problem(&message) {
                let problem = format!(
                    "the registry's TLS certificate is not trusted ({message}); pass its CA with --registry-ca FILE"
                );
                return Err(registry_error(target, "connecting", &problem));
            }
            // Only the TLS handshake matters here; token endpoint errors say HTTPS works.
            Ok(!matches!(e, OciDistributionError::RequestError(_)))
        }
    }
}

fn is_certificate_problem(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("certificate") || message.contains("unknownissuer")
}

/// Sorts a failure into retry or not, with a short message that holds no URL query, header or
/// credential (registry URLs carry none, but only the error's innermost cause is kept anyway).
pub(crate) fn classify(error: &OciDistributionError) -> Failure {
    match error {
        OciDistributionError::RequestError(e) if e.is_builder() => {
            Failure::Fatal(clean_message(error))
        }
        OciDistributionError::RequestError(_) | OciDistributionError::IoError(_) => {
            connection_failure(clean_message(error))
        }
        OciDistributionError::ServerError { code, .. } => classify_status(*code, error),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            let text: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| error_words(&format!("{:?}", e.code), &e.message))
                .collect();
            let text = text.join("; ");
            if codes.contains(&&OciErrorCode::Toomanyrequests) {
                Failure::RateLimited(format!("too many requests ({text})"), None)
            } else if codes.contains(&&OciErrorCode::Unauthorized)
                || codes.contains(&&OciErrorCode::Denied)
            {
                Failure::Fatal(format!("unauthorized ({text})"))
            } else {
                Failure::Fatal(text)
            }
        }
        OciDistributionError::UnauthorizedError { .. } => Failure::Fatal(
            "unauthorized: the registry refused the credentials (or their absence)".into(),
        ),
        OciDistributionError::AuthenticationFailure(_) => {
            Failure::Fatal("unauthorized: the token server refused the credentials".into())
        }
        other => Failure::Fatal(clean_message(other)),
    }
}

fn classify_status(code: u16, error: &OciDistributionError) -> Failure {
    let message = match error {
        OciDistributionError::ServerError { message, .. } if !message.trim().is_empty() => {
            format!("HTTP {code}: {}", first_line(message))
        }
        _ => format!("HTTP {code}"),
    };
    status_failure(code, message)
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

/// The messages of a registry's error body (`{"errors": [{"code": ..., "message": ...}]}`), if it
/// has one; other bodies (HTML pages from proxies) say nothing useful.
async fn error_detail(response: reqwest::Response) -> Option<String> {
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
    const MAX_ERROR_BODY: usize = 64 << 10;
    let mut body = response.bytes_stream();
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = body.next().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ERROR_BODY {
            return None;
        }
    }
    let envelope: Envelope = serde_json::from_slice(&bytes).ok()?;
    let text: Vec<String> = envelope
        .errors
        .iter()
        .map(|e| error_words(&e.code, &e.message))
        .filter(|m| !m.is_empty())
        .collect();
    (!text.is_empty()).then(|| text.join("; "))
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
    Failure::Transient(match size {
        Some(size) => format!("connection lost after {written} of {size} bytes ({cause})"),
        None => format!("connection lost after {written} bytes ({cause})"),
    })
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
    use oci_client::errors::{OciEnvelope, OciError};

    fn server(code: u16) -> OciDistributionError {
        OciDistributionError::ServerError {
            code,
            url: "http://r/v2/x/blobs/sha256:00".into(),
            message: "down for maintenance\nmore".into(),
        }
    }

    fn envelope(code: OciErrorCode) -> OciDistributionError {
        OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "m".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "http://r/v2/".into(),
        }
    }

    #[test]
    fn transient_failures_are_retried_and_others_are_not() {
        assert!(
            matches!(classify(&server(503)), Failure::Transient(m) if m == "HTTP 503: down for maintenance")
        );
        assert!(matches!(classify(&server(429)), Failure::RateLimited(..)));
        assert!(matches!(classify(&server(404)), Failure::Fatal(_)));
        assert!(
            matches!(classify(&server(401)), Failure::Fatal(m) if m.starts_with("unauthorized"))
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(classify(&reset.into()), Failure::Transient(_)));
        assert!(matches!(
            classify(&envelope(OciErrorCode::Toomanyrequests)),
            Failure::RateLimited(..)
        ));
        assert!(
            matches!(classify(&envelope(OciErrorCode::Denied)), Failure::Fatal(m) if m.starts_with("unauthorized"))
        );
        assert!(matches!(
            classify(&envelope(OciErrorCode::BlobUnknown)),
            Failure::Fatal(_)
        ));
        let auth = OciDistributionError::AuthenticationFailure("token: s3cr3t".into());
        assert!(matches!(classify(&auth), Failure::Fatal(m) if !m.contains("s3cr3t")));
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
