//! containerd's gRPC API (the `containerd-client` crate): the Images service resolves the name to
//! its target descriptor, and every blob is streamed from the Content service by digest when the
//! comparison opens it. Nothing is exported or copied.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::images_client::ImagesClient;
use containerd_client::services::v1::{GetImageRequest, ReadContentRequest, ReadContentResponse};
use containerd_client::tonic::metadata::MetadataValue;
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::{Code, Request, Status, Streaming};

use futures_util::{FutureExt, StreamExt};

use super::super::network::{NetworkLimits, Progress, Stall, within};
use super::super::runtime::runtime;
use super::super::{BlobSource, Opened, ReadFailure, SourceError, SourceOptions};
use super::{Engine, names, os_reason};
use crate::oci::{Descriptor, Digest, annotation};

const DEFAULT_ADDRESS: &str = "/run/containerd/containerd.sock";
const DEFAULT_NAMESPACE: &str = "default";
const HINT: &str = "is containerd running? set --containerd-address or CONTAINERD_ADDRESS";

type Namespace = MetadataValue<containerd_client::tonic::metadata::Ascii>;

/// containerd's socket and the namespace images are looked up in.
struct Store {
    address: PathBuf,
    namespace: Namespace,
    channel: Channel,
    limits: NetworkLimits,
}

pub(super) fn open(spec: &str, name: &str, options: &SourceOptions) -> Result<Opened, SourceError> {
    let address = address(options);
    let namespace = namespace(spec, options)?;
    let limits = options.network;
    runtime().block_on(async {
        let channel = connect(&address, &limits).await?;
        let store = Store {
            address,
            namespace,
            channel,
            limits,
        };
        let root = resolve(&store, spec, name).await?;
        Ok((Arc::new(store) as Arc<dyn BlobSource>, root))
    })
}

/// `--containerd-address`, else `$CONTAINERD_ADDRESS`, else the default socket.
fn address(options: &SourceOptions) -> PathBuf {
    let from_env = || {
        std::env::var_os("CONTAINERD_ADDRESS")
            .filter(|a| !a.is_empty())
            .map(PathBuf::from)
    };
    options
        .containerd_address
        .clone()
        .or_else(from_env)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ADDRESS))
}

/// `--containerd-namespace`, else `$CONTAINERD_NAMESPACE`, else `default`; sent as gRPC metadata.
fn namespace(spec: &str, options: &SourceOptions) -> Result<Namespace, SourceError> {
    let from_env = || {
        std::env::var("CONTAINERD_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty())
    };
    let namespace = options
        .containerd_namespace
        .clone()
        .or_else(from_env)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    MetadataValue::try_from(namespace.as_str()).map_err(|_| SourceError::Unsupported {
        spec: spec.to_owned(),
        reason: format!("{namespace:?} is not a containerd namespace name"),
    })
}

async fn connect(address: &Path, limits: &NetworkLimits) -> Result<Channel, SourceError> {
    let unreachable = |reason: String| SourceError::EngineUnreachable {
        engine: Engine::Containerd.title(),
        address: format!("unix://{}", address.display()),
        reason,
        hint: HINT.into(),
    };
    let late = |stall: Stall| unreachable(format!("{stall} ({})", stall.hint()));
    // A plain connection first: tonic's error for a missing socket says only "transport error".
    within(limits.timeout, tokio::net::UnixStream::connect(address))
        .await
        .map_err(late)?
        .map_err(|e| unreachable(os_reason(&e)))?;
    within(limits.timeout, containerd_client::connect(address))
        .await
        .map_err(late)?
        .map_err(|e| unreachable(e.to_string()))
}

impl Store {
    fn place(&self) -> String {
        format!(
            "at unix://{} (namespace {})",
            self.address.display(),
            self.namespace.to_str().unwrap_or("?")
        )
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("containerd-namespace", self.namespace.clone());
        request
    }

    fn failed(&self, spec: &str, reason: String) -> SourceError {
        SourceError::EngineFailed {
            spec: spec.to_owned(),
            engine: Engine::Containerd.title(),
            place: self.place(),
            reason,
        }
    }

    /// `call` (a request to one of containerd's services, up to its answer), if it answers in time.
    async fn answer<T>(
        &self,
        spec: &str,
        service: &str,
        call: impl Future<Output = Result<T, Status>>,
    ) -> Result<Result<T, Status>, SourceError> {
        self.limits.response(call).await.map_err(|stall| {
            self.failed(
                spec,
                format!("the {service} service: {stall} ({})", stall.hint()),
            )
        })
    }
}

/// The image's target, by the name as given, else with `:latest`, else by its Docker-normalised
/// form: containerd stores names as they were imported (`docker.io/library/a:latest` from a
/// docker-archive, the bare `ref.name`, e.g. `testbed/a:latest`, from an OCI archive).
async fn resolve(store: &Store, spec: &str, name: &str) -> Result<Descriptor, SourceError> {
    let mut candidates = vec![
        name.to_owned(),
        names::with_default_tag(name),
        names::normalise(name),
    ];
    candidates.dedup();
    let mut images = ImagesClient::new(store.channel.clone());
    for candidate in &candidates {
        let request = store.request(GetImageRequest {
            name: candidate.clone(),
        });
        match store.answer(spec, "Images", images.get(request)).await? {
            Ok(response) => {
                let image = response.into_inner().image;
                let target = image.as_ref().and_then(|i| i.target.as_ref());
                let target =
                    target.ok_or_else(|| store.failed(spec, "the image has no target".into()))?;
                return descriptor(target, candidate).map_err(|reason| store.failed(spec, reason));
            }
            Err(status) if status.code() == Code::NotFound => continue,
            Err(status) => return Err(store.failed(spec, status_text(&status))),
        }
    }
    Err(SourceError::NoSuchImage {
        spec: spec.to_owned(),
        engine: Engine::Containerd.title(),
        place: store.place(),
    })
}

/// Our descriptor for containerd's, named like the images of a `ctr export`.
fn descriptor(
    target: &containerd_client::types::Descriptor,
    name: &str,
) -> Result<Descriptor, String> {
    let digest: Digest = target
        .digest
        .parse()
        .map_err(|e| format!("the image's target: {e}"))?;
    let size = u64::try_from(target.size)
        .map_err(|_| format!("the image's target has a negative size {}", target.size))?;
    let mut annotations: std::collections::BTreeMap<String, String> =
        target.annotations.clone().into_iter().collect();
    annotations.insert(annotation::CONTAINERD_IMAGE_NAME.into(), name.to_owned());
    Ok(Descriptor {
        media_type: target.media_type.clone(),
        digest,
        size,
        urls: None,
        annotations,
        platform: None,
        artifact_type: None,
    })
}

fn status_text(status: &Status) -> String {
    match status.message() {
        "" => format!("{:?}", status.code()),
        message => message.to_owned(),
    }
}

impl BlobSource for Store {
    /// Blocks on the shared runtime: the comparison reads blobs on its own threads, never on the
    /// runtime's.
    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        let request = self.request(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: 0,
        });
        let mut content = ContentClient::new(self.channel.clone());
        let spec = digest.to_string();
        match runtime().block_on(self.answer(&spec, "Content", content.read(request)))? {
            Ok(response) => Ok(Box::new(ContentReader {
                stream: response.into_inner(),
                progress: self.limits.body(),
                what: format!(
                    "{} {}: blob {digest}",
                    Engine::Containerd.title(),
                    self.place()
                ),
                received: 0,
                chunk: Vec::new(),
                at: 0,
            })),
            Err(status) if status.code() == Code::NotFound => Err(SourceError::BlobMissing {
                digest: digest.clone(),
            }),
            Err(status) => Err(self.failed(&digest.to_string(), status_text(&status))),
        }
    }

    /// Not asked: every blob is verified as it is streamed.
    fn stat(&self, _digest: &Digest) -> Result<Option<u64>, SourceError> {
        Ok(None)
    }
}

/// A blob's bytes as the Content service streams them, one message at a time, under the network
/// limits.
struct ContentReader {
    stream: Streaming<ReadContentResponse>,
    progress: Progress,
    /// The blob, as a stall names it.
    what: String,
    received: u64,
    chunk: Vec<u8>,
    at: usize,
}

impl ContentReader {
    /// The next message's data (`None` at the end), unless the stream stalls first.
    fn next_data(&mut self) -> io::Result<Option<Result<Vec<u8>, Status>>> {
        let next = self
            .stream
            .next()
            .map(|item| item.map(|message| message.map(|m| m.data)));
        runtime()
            .block_on(self.progress.chunk(next))
            .map_err(|stall| {
                let message = format!(
                    "{}: {stall} after {} bytes ({})",
                    self.what,
                    self.received,
                    stall.hint()
                );
                io::Error::other(ReadFailure(message))
            })
    }
}

impl Read for ContentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.chunk.len() {
            match self.next_data()? {
                Some(Ok(data)) => {
                    self.received += data.len() as u64;
                    self.chunk = data;
                    self.at = 0;
                }
                None => return Ok(0),
                Some(Err(status)) if status.code() == Code::NotFound => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        status_text(&status),
                    ));
                }
                Some(Err(status)) => return Err(io::Error::other(status_text(&status))),
            }
        }
        let rest = &self.chunk[self.at..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}
