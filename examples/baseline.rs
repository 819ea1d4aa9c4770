//! Baseline for `bench/semantic-bench.sh`: the unavoidable work of comparing two images
//! stored as OCI layouts, done with the same crates the tool uses and nothing else.
//!
//! For every layer blob of both images: read the file, sha256 the compressed bytes (digest
//! verification), decompress it (`flate2::read::MultiGzDecoder` with the zlib-rs backend, or
//! `zstd::stream::read::Decoder`) and sha256 the decompressed stream (diff_id verification).
//! One pass per blob: the compressed bytes are hashed as the decoder pulls them from the file.
//! No tar parsing, no per-file hashing, no diffing.
//!
//! Parallelism matches what the tool can do on this machine: a pool of `-j N` worker threads
//! (default 2) takes layers from one queue, biggest first, so with two images that each have
//! one big base layer both cores are busy for the whole run. A blob that both images share
//! (same digest) is verified once: a diff tool need not read it twice either.
//!
//! Usage: cargo run --release --example baseline -- [-j N] LAYOUT_A[:TAG] LAYOUT_B[:TAG]
//! (an optional `oci:` prefix is accepted). Exit status: 0 = all digests verified,
//! 2 = error or a digest mismatch. Per-layer timings go to stderr, one summary line to stdout.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const BUF: usize = 256 * 1024;

/// A `Read` adapter that hashes (and counts) every byte read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

struct Job {
    image: String,
    index: usize,
    blob: PathBuf,
    digest: String,
    size: u64,
    diff_id: String,
    compression: Compression,
}

struct Done {
    compressed: u64,
    uncompressed: u64,
    secs: f64,
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| anyhow!("bad digest {digest:?}"))?;
    if alg != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("unsupported digest {digest:?}");
    }
    Ok(layout.join("blobs").join(alg).join(hex))
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing string field {key:?}"))
}

/// `DIR`, `DIR:TAG`, optionally prefixed with `oci:`.
fn split_ref(arg: &str) -> (PathBuf, Option<String>) {
    let arg = arg.strip_prefix("oci:").unwrap_or(arg);
    if Path::new(arg).is_dir() {
        return (PathBuf::from(arg), None);
    }
    match arg.rsplit_once(':') {
        Some((dir, tag)) if Path::new(dir).is_dir() => (PathBuf::from(dir), Some(tag.to_owned())),
        _ => (PathBuf::from(arg), None),
    }
}

/// index.json -> (tag) -> manifest (through a nested image index: linux/amd64 or the first) ->
/// one job per layer, with the matching diff_id from the config.
fn layer_jobs(arg: &str) -> Result<Vec<Job>> {
    let (layout, tag) = split_ref(arg);
    let index = read_json(&layout.join("index.json"))?;
    let manifests = index["manifests"]
        .as_array()
        .ok_or_else(|| anyhow!("{arg}: index.json has no manifests"))?;
    let mut desc = match &tag {
        Some(t) => manifests
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str() == Some(t))
            .ok_or_else(|| anyhow!("{arg}: no tag {t:?} in index.json"))?,
        None => manifests
            .first()
            .ok_or_else(|| anyhow!("{arg}: empty index.json"))?,
    }
    .clone();
    let mut manifest = read_json(&blob_path(&layout, str_field(&desc, "digest")?)?)?;
    while manifest.get("manifests").is_some() {
        let list = manifest["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        desc = list
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
            .or_else(|| list.first())
            .ok_or_else(|| anyhow!("{arg}: empty image index"))?
            .clone();
        manifest = read_json(&blob_path(&layout, str_field(&desc, "digest")?)?)?;
    }
    let config = read_json(&blob_path(
        &layout,
        str_field(&manifest["config"], "digest")?,
    )?)?;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    if diff_ids.len() != layers.len() {
        bail!(
            "{arg}: {} layers but {} diff_ids",
            layers.len(),
            diff_ids.len()
        );
    }
    let image = layout
        .file_name()
        .map_or_else(|| arg.to_owned(), |n| n.to_string_lossy().into_owned());
    layers
        .iter()
        .zip(&diff_ids)
        .enumerate()
        .map(|(index, (layer, diff_id))| {
            let media_type = str_field(layer, "mediaType")?;
            let compression = if media_type.ends_with("gzip") {
                Compression::Gzip
            } else if media_type.ends_with("zstd") {
                Compression::Zstd
            } else if media_type.ends_with("tar") {
                Compression::None
            } else {
                bail!("{arg}: unsupported layer media type {media_type}");
            };
            let digest = str_field(layer, "digest")?.to_owned();
            Ok(Job {
                image: image.clone(),
                index,
                blob: blob_path(&layout, &digest)?,
                size: layer["size"].as_u64().unwrap_or(0),
                digest,
                diff_id: diff_id.as_str().unwrap_or_default().to_owned(),
                compression,
            })
        })
        .collect()
}

/// Copy a reader into a sha256, returning (hex digest, bytes).
fn hash_stream(mut r: impl Read, buf: &mut [u8]) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((format!("sha256:{}", hex::encode(h.finalize())), n))
}

fn verify(job: &Job) -> Result<Done> {
    let t0 = Instant::now();
    let file = File::open(&job.blob).with_context(|| format!("opening {}", job.blob.display()))?;
    let mut buf = vec![0u8; BUF];
    let (compressed_digest, compressed, uncompressed_digest, uncompressed) = match job.compression {
        Compression::None => {
            let (d, n) = hash_stream(BufReader::with_capacity(BUF, file), &mut buf)?;
            (d.clone(), n, d, n)
        }
        Compression::Gzip | Compression::Zstd => {
            let tee = HashingReader {
                inner: file,
                hasher: Sha256::new(),
                bytes: 0,
            };
            let (d, n, mut tee) = if job.compression == Compression::Gzip {
                let mut dec = flate2::read::MultiGzDecoder::new(tee);
                let (d, n) = hash_stream(&mut dec, &mut buf)?;
                (d, n, dec.into_inner())
            } else {
                let mut dec = zstd::stream::read::Decoder::new(tee)?;
                let (d, n) = hash_stream(&mut dec, &mut buf)?;
                (d, n, dec.finish().into_inner())
            };
            // anything after the compressed stream is still part of the blob's digest
            io::copy(&mut tee, &mut io::sink())?;
            let cd = format!("sha256:{}", hex::encode(tee.hasher.finalize()));
            (cd, tee.bytes, d, n)
        }
    };
    let what = format!("{} layer {} ({})", job.image, job.index + 1, job.digest);
    if compressed_digest != job.digest {
        bail!("{what}: blob digest is {compressed_digest}");
    }
    if job.size != 0 && compressed != job.size {
        bail!(
            "{what}: blob size is {compressed}, manifest says {}",
            job.size
        );
    }
    if uncompressed_digest != job.diff_id {
        bail!(
            "{what}: diff_id is {uncompressed_digest}, config says {}",
            job.diff_id
        );
    }
    Ok(Done {
        compressed,
        uncompressed,
        secs: t0.elapsed().as_secs_f64(),
    })
}

fn main() -> Result<()> {
    let mut threads = 2usize;
    let mut refs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-j" => {
                threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("-j needs N > 0")?
            }
            "-h" | "--help" => {
                eprintln!("usage: baseline [-j N] LAYOUT_A[:TAG] LAYOUT_B[:TAG]");
                return Ok(());
            }
            _ => refs.push(a),
        }
    }
    if refs.len() != 2 {
        eprintln!("usage: baseline [-j N] LAYOUT_A[:TAG] LAYOUT_B[:TAG]");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let mut jobs = Vec::new();
    for r in &refs {
        jobs.extend(layer_jobs(r)?);
    }
    let total_layers = jobs.len();
    let mut seen = HashSet::new();
    jobs.retain(|j| seen.insert(j.digest.clone()));
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Done>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = verify(job);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);

    let (mut compressed, mut uncompressed, mut failed) = (0u64, 0u64, false);
    for (i, r) in results {
        let job = &jobs[i];
        match r {
            Ok(d) => {
                eprintln!(
                    "  {:<12} L{} {}  {:>8.1} MB -> {:>8.1} MB  {:>6.2}s",
                    job.image,
                    job.index + 1,
                    &job.digest[7..19],
                    d.compressed as f64 / 1e6,
                    d.uncompressed as f64 / 1e6,
                    d.secs
                );
                compressed += d.compressed;
                uncompressed += d.uncompressed;
            }
            Err(e) => {
                eprintln!("baseline: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(2);
    }
    println!(
        "baseline: {} layer blobs ({} unique) verified, {:.1} MB compressed, {:.1} MB uncompressed, {} threads, {:.3}s",
        total_layers,
        jobs.len(),
        compressed as f64 / 1e6,
        uncompressed as f64 / 1e6,
        threads.min(jobs.len()),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
