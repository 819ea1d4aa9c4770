//! The per-file checksums package databases record, and the digests of a file's content they are checked
//! against.

use std::fmt;

use enumset::{EnumSet, EnumSetType};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A hash function a package database uses for file contents.
#[derive(Debug, EnumSetType, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn output_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha224 => 28,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }
}

/// A checksum as a package database records it for one file.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// The whole digest of the content.
    Full {
        algorithm: Algorithm,
        digest: Box<[u8]>,
    },
    /// The first 20 bytes of the content's sha256 (apk's `Z:` when the package's `f:` flags hold `S`).
    Sha256Prefix160([u8; 20]),
}

impl Checksum {
    /// A whole digest, when `digest` has the algorithm's length.
    pub fn new(algorithm: Algorithm, digest: &[u8]) -> Option<Checksum> {
        (digest.len() == algorithm.output_len()).then(|| Checksum::Full {
            algorithm,
            digest: digest.into(),
        })
    }

    /// A whole digest from lowercase or uppercase hex.
    pub fn from_hex(algorithm: Algorithm, hex_digest: &str) -> Option<Checksum> {
        // On the stack: a dpkg database has a checksum per file, thousands of them.
        let mut digest = [0u8; 64];
        let digest = digest.get_mut(..hex_digest.len() / 2)?;
        hex::decode_to_slice(hex_digest, digest).ok()?;
        Checksum::new(algorithm, digest)
    }

    /// The hash the content must go through to be checked against this checksum.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Checksum::Full { algorithm, .. } => *algorithm,
            Checksum::Sha256Prefix160(_) => Algorithm::Sha256,
        }
    }

    /// The recorded bytes (a whole digest, or the 20 bytes of a truncated sha256).
    pub fn digest(&self) -> &[u8] {
        match self {
            Checksum::Full { digest, .. } => digest,
            Checksum::Sha256Prefix160(prefix) => prefix,
        }
    }

    /// Whether content with these digests matches; `None` when the digest this checksum needs is not
    /// among them.
    pub fn check(&self, digests: &ContentDigests) -> Option<bool> {
        let have = digests.get(self.algorithm())?;
        Some(match self {
            Checksum::Full { digest, .. } => **digest == *have,
            Checksum::Sha256Prefix160(prefix) => have.starts_with(prefix),
        })
    }

    /// Whether `content` matches (hashes it).
    pub fn verify(&self, content: &[u8]) -> bool {
        let digests = ContentDigests::of(content, EnumSet::only(self.algorithm()));
        self.check(&digests) == Some(true)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::Full { algorithm, digest } => {
                write!(f, "{}:{}", algorithm.name(), hex::encode(digest))
            }
            Checksum::Sha256Prefix160(prefix) => write!(f, "sha256[..20]:{}", hex::encode(prefix)),
        }
    }
}

/// The digests of one file's content (or of a symlink's target) that the engine computed, one per
/// algorithm at most. sha256 is the one the engine always has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentDigests {
    digests: Vec<(Algorithm, Box<[u8]>)>,
}

impl ContentDigests {
    /// Digests from a sha256 the caller already has, without reading the content again.
    pub fn from_sha256(sha256: [u8; 32]) -> ContentDigests {
        ContentDigests::default().with(Algorithm::Sha256, &sha256)
    }

    /// Adds (or replaces) one digest.
    pub fn with(mut self, algorithm: Algorithm, digest: &[u8]) -> ContentDigests {
        self.digests.retain(|(a, _)| *a != algorithm);
        self.digests.push((algorithm, digest.into()));
        self
    }

    pub fn get(&self, algorithm: Algorithm) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, d)| &**d)
    }

    pub fn algorithms(&self) -> EnumSet<Algorithm> {
        self.digests.iter().map(|(a, _)| *a).collect()
    }

    /// The digests of `content` for every algorithm in `algorithms`.
    pub fn of(content: &[u8], algorithms: EnumSet<Algorithm>) -> ContentDigests {
        let mut hasher = ContentHasher::new(algorithms);
        hasher.update(content);
        hasher.finish()
    }
}

/// Hashes a stream of chunks with several algorithms at once (the engine feeds a differing file's content
/// through it, with the algorithms [`super::Inventory::algorithms_for`] asks for).
pub struct ContentHasher {
    states: Vec<HashState>,
}

enum HashState {
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl HashState {
    fn new(algorithm: Algorithm) -> HashState {
        match algorithm {
            Algorithm::Md5 => HashState::Md5(Md5::new()),
            Algorithm::Sha1 => HashState::Sha1(Sha1::new()),
            Algorithm::Sha224 => HashState::Sha224(Sha224::new()),
            Algorithm::Sha256 => HashState::Sha256(Sha256::new()),
            Algorithm::Sha384 => HashState::Sha384(Sha384::new()),
            Algorithm::Sha512 => HashState::Sha512(Sha512::new()),
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        match self {
            HashState::Md5(h) => h.update(chunk),
            HashState::Sha1(h) => h.update(chunk),
            HashState::Sha224(h) => h.update(chunk),
            HashState::Sha256(h) => h.update(chunk),
            HashState::Sha384(h) => h.update(chunk),
            HashState::Sha512(h) => h.update(chunk),
        }
    }

    fn finish(self) -> (Algorithm, Box<[u8]>) {
        match self {
            HashState::Md5(h) => (Algorithm::Md5, h.finalize().to_vec().into()),
            HashState::Sha1(h) => (Algorithm::Sha1, h.finalize().to_vec().into()),
            HashState::Sha224(h) => (Algorithm::Sha224, h.finalize().to_vec().into()),
            HashState::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec().into()),
            HashState::Sha384(h) => (Algorithm::Sha384, h.finalize().to_vec().into()),
            HashState::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec().into()),
        }
    }
}

impl ContentHasher {
    pub fn new(algorithms: EnumSet<Algorithm>) -> ContentHasher {
        ContentHasher {
            states: algorithms.iter().map(HashState::new).collect(),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for state in &mut self.states {
            state.update(chunk);
        }
    }

    pub fn finish(self) -> ContentDigests {
        ContentDigests {
            digests: self.states.into_iter().map(HashState::finish).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592";
    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn a_checksum_verifies_the_content_it_was_made_from_and_no_other() {
        let md5 = Checksum::from_hex(Algorithm::Md5, HELLO_MD5).unwrap();
        assert!(md5.verify(b"hello"));
        assert!(!md5.verify(b"hello\n"));
        let sha = Checksum::from_hex(Algorithm::Sha256, HELLO_SHA256).unwrap();
        assert!(sha.verify(b"hello"));
        assert_eq!(
            Checksum::from_hex(Algorithm::Md5, HELLO_SHA256),
            None,
            "wrong length"
        );
        assert_eq!(Checksum::from_hex(Algorithm::Md5, "zz"), None);
    }

    #[test]
    fn a_sha256_the_engine_has_checks_sha256_and_truncated_sha256_without_rehashing() {
        let sha: [u8; 32] = hex::decode(HELLO_SHA256).unwrap().try_into().unwrap();
        let digests = ContentDigests::from_sha256(sha);
        let full = Checksum::new(Algorithm::Sha256, &sha).unwrap();
        let prefix = Checksum::Sha256Prefix160(sha[..20].try_into().unwrap());
        assert_eq!(full.check(&digests), Some(true));
        assert_eq!(prefix.check(&digests), Some(true));
        assert_eq!(prefix.algorithm(), Algorithm::Sha256);
        let mut other = sha;
        other[0] ^= 1;
        assert_eq!(
            Checksum::Sha256Prefix160(other[..20].try_into().unwrap()).check(&digests),
            Some(false)
        );
        let md5 = Checksum::from_hex(Algorithm::Md5, HELLO_MD5).unwrap();
        assert_eq!(md5.check(&digests), None, "md5 was not computed");
    }

    #[test]
    fn streaming_in_chunks_gives_the_digests_of_the_whole() {
        let mut hasher = ContentHasher::new(Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha512);
        hasher.update(b"he");
        hasher.update(b"");
        hasher.update(b"llo");
        let digests = hasher.finish();
        assert_eq!(
            digests.algorithms(),
            Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha512
        );
        assert_eq!(hex::encode(digests.get(Algorithm::Md5).unwrap()), HELLO_MD5);
        assert_eq!(
            hex::encode(digests.get(Algorithm::Sha1).unwrap()),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(digests.get(Algorithm::Sha256), None);
    }
}
