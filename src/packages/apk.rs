//! apk (Alpine, Wolfi): `lib/apk/db/installed`, one block of `X:value` lines per package; `F:` opens a
//! directory, `R:` names a file in it and `Z:` gives that file's digest (`Q1` + base64 sha1, or the first
//! 160 bits of its sha256 when the package's `f:` flags hold `S`; for a symlink, the digest of its target).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::inventory::{Builder, Records};
use super::paths::{clean, join};
use super::{
    Algorithm, Checksum, DatabaseFiles, Ecosystem, MAX_DATABASE_BYTES, Package, PackageFile,
    PackageKey, Recorded, Wanted,
};
use crate::model::name_from_bytes;

pub(super) const INSTALLED: &str = "lib/apk/db/installed";
pub(super) const DIR: &str = "lib/apk/db";

pub(super) fn wanted(path: &str) -> Option<Wanted> {
    (path == INSTALLED).then_some(Wanted::Content {
        limit: MAX_DATABASE_BYTES,
    })
}

pub(super) fn read(files: &DatabaseFiles, out: &mut Builder) {
    let Some(text) = out.content(files, INSTALLED) else {
        return;
    };
    let mut records = Records::new(text);
    for block in blocks(text) {
        match Block::parse(block) {
            Some(parsed) => {
                records.add(parsed.key(), block);
                let identity = parsed.identity.clone();
                out.package(parsed.into_package(), identity.as_bytes());
            }
            None => out.note(INSTALLED, "a package block without P: or V:: ignored"),
        }
    }
    out.records(INSTALLED, records);
}

/// The blocks of lines between blank lines, each with its exact bytes.
fn blocks(text: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        if line.trim_ascii().is_empty() {
            if let Some(begin) = start.take() {
                blocks.push(&text[begin..offset]);
            }
        } else {
            start.get_or_insert(offset);
        }
        offset += line.len();
    }
    if let Some(begin) = start {
        blocks.push(&text[begin..]);
    }
    blocks
}

#[derive(Default)]
struct Block {
    name: String,
    version: String,
    arch: Option<String>,
    origin: Option<String>,
    identity: String,
    sha256_digests: bool,
    files: Vec<PackageFile>,
    /// Raw `Z:` values by index into `files`, decoded once the flags are known.
    digests: Vec<(usize, String)>,
}

impl Block {
    fn parse(block: &[u8]) -> Option<Block> {
        let mut parsed = Block::default();
        let mut dir: Option<String> = None;
        let mut last_file: Option<usize> = None;
        for line in block.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let [letter, b':', value @ ..] = line else {
                continue;
            };
            let value = name_from_bytes(value);
            match letter {
                b'P' => parsed.name = value,
                b'V' => parsed.version = value,
                b'A' => parsed.arch = Some(value),
                b'o' => parsed.origin = Some(value),
                b'C' => parsed.identity = value,
                b'f' => parsed.sha256_digests = value.contains('S'),
                b'F' => {
                    dir = clean(&value);
                    last_file = None;
                    if let Some(dir) = &dir {
                        parsed.files.push(PackageFile {
                            path: dir.clone(),
                            record: Recorded::Directory,
                            config: false,
                        });
                    }
                }
                b'R' => {
                    let path = if value.contains('/') {
                        None
                    } else {
                        join(dir.as_deref().unwrap_or(""), &value)
                    };
                    last_file = path.map(|path| {
                        parsed.files.push(PackageFile {
                            path,
                            record: Recorded::Nothing,
                            config: false,
                        });
                        parsed.files.len() - 1
                    });
                }
                b'Z' => {
                    if let Some(file) = last_file {
                        parsed.digests.push((file, value));
                    }
                }
                _ => {}
            }
        }
        if parsed.name.is_empty() || parsed.version.is_empty() {
            return None;
        }
        for (file, digest) in std::mem::take(&mut parsed.digests) {
            if let Some(checksum) = decode_digest(&digest, parsed.sha256_digests) {
                parsed.files[file].record = Recorded::Checksum(checksum);
            }
        }
        Some(parsed)
    }

    fn key(&self) -> PackageKey {
        PackageKey {
            ecosystem: Ecosystem::Apk,
            name: self.name.clone(),
            arch: self.arch.clone(),
            location: None,
        }
    }

    fn into_package(self) -> Package {
        Package {
            key: self.key(),
            version: self.version,
            source: self.origin,
            database: INSTALLED.to_owned(),
            files: self.files,
            fingerprint: [0; 32],
        }
    }
}

/// `Q1`/`Q2` + base64, `X1`/`X2` + hex: sha1 or sha256. With the `S` flag a 20-byte digest is the start
/// of a sha256.
fn decode_digest(value: &str, sha256_digests: bool) -> Option<Checksum> {
    let (encoding, rest) = value.split_at_checked(1)?;
    let (kind, data) = rest.split_at_checked(1)?;
    let bytes = match encoding {
        "Q" => STANDARD.decode(data).ok()?,
        "X" => hex::decode(data).ok()?,
        _ => return None,
    };
    match (kind, bytes.len()) {
        ("1", 20) if sha256_digests => Some(Checksum::Sha256Prefix160(bytes.try_into().ok()?)),
        ("1", 20) => Checksum::new(Algorithm::Sha1, &bytes),
        ("2", 32) => Checksum::new(Algorithm::Sha256, &bytes),
        _ => None,
    }
}

/// Whether `path` is apk's own state (`lib/apk/db/...`).
pub(super) fn is_state_path(path: &str) -> bool {
    path.strip_prefix(DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::packages::{ContentDigests, read_inventory};
    use sha1::Digest;

    fn q1(digest: &[u8]) -> String {
        format!("Q1{}", STANDARD.encode(digest))
    }

    pub(crate) fn installed() -> Vec<u8> {
        let sha1 = |b: &[u8]| sha1::Sha1::digest(b).to_vec();
        let sha256 = |b: &[u8]| sha2::Sha256::digest(b).to_vec();
        format!(
            "C:Q1pJw6m3Xxq5cN4r3ZbH0yQqz3oCk=\nP:musl\nV:1.2.5-r1\nA:x86_64\no:musl\n\
             F:lib\nM:0:0:755\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:{}\n\
             R:libc.musl-x86_64.so.1\na:0:0:777\nZ:{}\n\n\
             \n\
             P:busybox\nV:1.36.1-r29\nA:x86_64\nf:S\nF:bin\nR:busybox\nZ:{}\nR:nozsum\n\
             F:etc/\nR:../escape\nZ:{}\n\
             R:motd\nZ:not-a-digest\n\n\
             P:\nV:1\n\nZ:Q1stray\n",
            q1(&sha1(b"loader")),
            q1(&sha1(b"ld-musl-x86_64.so.1")),
            q1(&sha256(b"busybox binary")[..20]),
            q1(&sha1(b"x")),
        )
        .into_bytes()
    }

    #[test]
    fn packages_files_and_digests_including_truncated_sha256_and_symlinks() {
        let mut files = DatabaseFiles::new();
        files.insert_content(INSTALLED, installed());
        let inventory = read_inventory(&files);
        let names: Vec<_> = inventory
            .packages()
            .iter()
            .map(|p| (p.name(), p.version.as_str(), p.key.arch.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("musl", "1.2.5-r1", Some("x86_64")),
                ("busybox", "1.36.1-r29", Some("x86_64"))
            ]
        );
        let musl = &inventory.packages()[0];
        assert_eq!(musl.source.as_deref(), Some("musl"));
        let check = |path: &str, content: &[u8]| {
            let owners = inventory.owners(path);
            let owner = owners.first().expect("owned");
            let Recorded::Checksum(checksum) = owner.record() else {
                panic!("{path}: no checksum: {:?}", owner.record())
            };
            let digests = ContentDigests::of(content, inventory.algorithms_for(path));
            checksum.check(&digests)
        };
        assert_eq!(check("lib/ld-musl-x86_64.so.1", b"loader"), Some(true));
        assert_eq!(check("lib/ld-musl-x86_64.so.1", b"changed"), Some(false));
        // a symlink's Z is the digest of its target string
        assert_eq!(
            check("lib/libc.musl-x86_64.so.1", b"ld-musl-x86_64.so.1"),
            Some(true)
        );
        assert_eq!(
            inventory.algorithms_for("bin/busybox"),
            enumset::EnumSet::only(Algorithm::Sha256),
            "f:S: truncated sha256"
        );
        assert_eq!(check("bin/busybox", b"busybox binary"), Some(true));
        assert_eq!(check("bin/busybox", b"busybox binary!"), Some(false));
        assert_eq!(
            inventory.owners("bin/nozsum")[0].record(),
            &Recorded::Nothing
        );
        assert_eq!(
            inventory.owners("etc/motd")[0].record(),
            &Recorded::Nothing,
            "bad Z"
        );
        assert_eq!(inventory.owners("lib")[0].record(), &Recorded::Directory);
        assert!(inventory.owners("escape").is_empty(), "R: with a slash");
        assert!(inventory.owners("etc/../escape").is_empty());
        assert_eq!(inventory.notes().len(), 2, "{:?}", inventory.notes());
    }

    #[test]
    fn digests_decode_by_prefix() {
        let sha1 = [7u8; 20];
        assert_eq!(
            decode_digest(&q1(&sha1), false),
            Checksum::new(Algorithm::Sha1, &sha1)
        );
        assert_eq!(
            decode_digest(&format!("X1{}", hex::encode(sha1)), false),
            Checksum::new(Algorithm::Sha1, &sha1)
        );
        assert_eq!(
            decode_digest(&format!("Q2{}", STANDARD.encode([9u8; 32])), false),
            Checksum::new(Algorithm::Sha256, &[9u8; 32])
        );
        for bad in ["", "Q", "Q1", "Q1!!!!", "Z1AAAA", "Q3AAAA", "X1abc"] {
            assert_eq!(decode_digest(bad, false), None, "{bad:?}");
        }
    }
}
