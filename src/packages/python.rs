//! Python: `<name>-<version>.dist-info/` with `METADATA` (Name, Version) and `RECORD` (CSV: path relative
//! to the site-packages directory, `sha256=` urlsafe base64 digest, size), and legacy `*.egg-info`
//! (a directory with `PKG-INFO` and `installed-files.txt`, paths relative to it, no hashes; or a single
//! file holding PKG-INFO). `SOURCES.txt` lists a source tree, not installed files, and is not read.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::inventory::{Builder, Records};
use super::paths::{join, parent};
use super::stanza;
use super::{
    Algorithm, Checksum, DatabaseFiles, Ecosystem, MAX_PACKAGE_FILE_BYTES, Package, PackageFile,
    PackageKey, Recorded, Wanted,
};
use crate::model::name_from_bytes;

const DIST_INFO: &str = ".dist-info";
const EGG_INFO: &str = ".egg-info";
const METADATA: &str = ".dist-info/METADATA";
const RECORD: &str = ".dist-info/RECORD";
const PKG_INFO: &str = ".egg-info/PKG-INFO";
const INSTALLED_FILES: &str = ".egg-info/installed-files.txt";

/// RECORD digests: urlsafe base64, written without padding (accepted with it too).
const RECORD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn wanted(path: &str) -> Option<Wanted> {
    [METADATA, RECORD, PKG_INFO, INSTALLED_FILES, EGG_INFO]
        .iter()
        .any(|end| path.ends_with(end))
        .then_some(Wanted::Content {
            limit: MAX_PACKAGE_FILE_BYTES,
        })
}

pub(super) fn read(files: &DatabaseFiles, out: &mut Builder) {
    for path in files.paths() {
        if let Some(dist_info) = path.strip_suffix("/METADATA")
            && dist_info.ends_with(DIST_INFO)
        {
            read_dist_info(files, dist_info, path, out);
        } else if let Some(egg_info) = path.strip_suffix("/PKG-INFO")
            && egg_info.ends_with(EGG_INFO)
        {
            read_egg_info(files, egg_info, path, out);
        } else if path.ends_with(EGG_INFO) {
            read_egg_info(files, path, path, out);
        }
    }
}

/// Name and version from METADATA or PKG-INFO headers.
fn name_and_version(
    files: &DatabaseFiles,
    metadata: &str,
    out: &mut Builder,
) -> Option<(String, String)> {
    let text = out.content(files, metadata)?;
    let headers = stanza::parse_headers(text);
    let name = headers.as_ref().and_then(|h| h.get("Name"));
    let version = headers.as_ref().and_then(|h| h.get("Version"));
    match (name, version) {
        (Some(name), Some(version)) => Some((name, version)),
        _ => {
            out.note(metadata, "no Name or Version: ignored");
            None
        }
    }
}

fn key(name: &str, site: &str) -> PackageKey {
    PackageKey {
        ecosystem: Ecosystem::Python,
        name: normalize(name),
        arch: None,
        location: Some(site.to_owned()),
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` as one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn read_dist_info(files: &DatabaseFiles, dist_info: &str, metadata: &str, out: &mut Builder) {
    let Some((name, version)) = name_and_version(files, metadata, out) else {
        return;
    };
    let site = parent(dist_info);
    let key = key(&name, site);
    let record_path = format!("{dist_info}/RECORD");
    let mut package_files = Vec::new();
    if let Some(text) = out.content(files, &record_path) {
        let mut records = Records::new(text);
        records.add(key.clone(), text);
        out.records(&record_path, records);
        package_files = record_files(site, text);
    }
    out.package(
        Package {
            key,
            version,
            source: None,
            database: metadata.to_owned(),
            files: package_files,
            fingerprint: [0; 32],
        },
        b"",
    );
}

/// RECORD rows: `path,algorithm=digest,size`; paths relative to site-packages (resolved lexically,
/// `../` included; those climbing out of the image are dropped) or absolute.
fn record_files(site: &str, text: &[u8]) -> Vec<PackageFile> {
    csv_rows(text)
        .into_iter()
        .filter_map(|row| {
            let path = join(site, &name_from_bytes(row.first()?))?;
            let record = row
                .get(1)
                .and_then(|hash| record_checksum(hash))
                .map_or(Recorded::Nothing, Recorded::Checksum);
            Some(PackageFile {
                path,
                record,
                config: false,
            })
        })
        .collect()
}

fn record_checksum(field: &[u8]) -> Option<Checksum> {
    let field = std::str::from_utf8(field).ok()?;
    let (name, digest) = field.split_once('=')?;
    let algorithm = match name {
        "md5" => Algorithm::Md5,
        "sha1" => Algorithm::Sha1,
        "sha224" => Algorithm::Sha224,
        "sha256" => Algorithm::Sha256,
        "sha384" => Algorithm::Sha384,
        "sha512" => Algorithm::Sha512,
        _ => return None,
    };
    Checksum::new(algorithm, &RECORD_BASE64.decode(digest).ok()?)
}

/// Comma-separated rows with `"` quoting (`""` inside quotes is a quote), `\n` or `\r\n` line ends.
fn csv_rows(text: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match (quoted, b) {
            (true, b'"') if bytes.peek() == Some(&b'"') => {
                bytes.next();
                field.push(b'"');
            }
            (true, b'"') => quoted = false,
            (true, b) => field.push(b),
            (false, b'"') if field.is_empty() => quoted = true,
            (false, b',') => row.push(std::mem::take(&mut field)),
            (false, b'\r') if bytes.peek() == Some(&b'\n') => {}
            (false, b'\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, b) => field.push(b),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|row| row.first().is_some_and(|path| !path.is_empty()));
    rows
}

/// `egg_info` is the `.egg-info` directory (or file); `pkg_info` the file with the headers.
fn read_egg_info(files: &DatabaseFiles, egg_info: &str, pkg_info: &str, out: &mut Builder) {
    let Some((name, version)) = name_and_version(files, pkg_info, out) else {
        return;
    };
    let site = parent(egg_info);
    let key = key(&name, site);
    let listing = format!("{egg_info}/installed-files.txt");
    let mut package_files = Vec::new();
    if let Some(text) = out.content(files, &listing) {
        let mut records = Records::new(text);
        records.add(key.clone(), text);
        out.records(&listing, records);
        package_files = text
            .split(|&b| b == b'\n')
            .filter_map(|line| join(egg_info, name_from_bytes(line.trim_ascii()).as_str()))
            .filter(|path| path.len() > site.len())
            .map(|path| PackageFile {
                path,
                record: Recorded::Nothing,
                config: false,
            })
            .collect();
    }
    out.package(
        Package {
            key,
            version,
            source: None,
            database: pkg_info.to_owned(),
            files: package_files,
            fingerprint: [0; 32],
        },
        b"",
    );
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::packages::{ContentDigests, read_inventory};
    use sha2::Digest;

    const SITE: &str = "usr/local/lib/python3.11/site-packages";

    fn record_hash(content: &[u8]) -> String {
        format!(
            "sha256={}",
            RECORD_BASE64.encode(sha2::Sha256::digest(content))
        )
    }

    pub(crate) fn site_packages() -> DatabaseFiles {
        let mut files = DatabaseFiles::new();
        files.insert_content(
            format!("{SITE}/My_Pkg-1.0.dist-info/METADATA"),
            b"Metadata-Version: 2.1\nName: My_Pkg\nVersion: 1.0\n\nName: not this\n".to_vec(),
        );
        let record = format!(
            "mypkg/__init__.py,{},5\n\"mypkg/we,ird \"\"name\"\".py\",{},3\r\n\
             ../../../bin/mytool,{},4\nmy_pkg-1.0.dist-info/RECORD,,\n\
             ../../../../../../../../etc/escape,{},1\nmypkg/data.bin,md5=nope,1\n",
            record_hash(b"hello"),
            record_hash(b"odd"),
            record_hash(b"tool"),
            record_hash(b"x"),
        );
        files.insert_content(
            format!("{SITE}/My_Pkg-1.0.dist-info/RECORD"),
            record.into_bytes(),
        );
        files.insert_content(
            format!("{SITE}/legacy.egg-info/PKG-INFO"),
            b"Name: Legacy\nVersion: 0.9\n".to_vec(),
        );
        files.insert_content(
            format!("{SITE}/legacy.egg-info/installed-files.txt"),
            b"../legacy/__init__.py\n./\nPKG-INFO\n".to_vec(),
        );
        files.insert_content(
            format!("{SITE}/single.egg-info"),
            b"Name: single\nVersion: 2\n".to_vec(),
        );
        files.insert_content(
            format!("{SITE}/broken.dist-info/METADATA"),
            b"Summary: no name\n".to_vec(),
        );
        files
    }

    #[test]
    fn dist_info_egg_info_and_their_files() {
        let inventory = read_inventory(&site_packages());
        let mut packages: Vec<_> = inventory
            .packages()
            .iter()
            .map(|p| (p.name(), p.version.as_str(), p.key.location.as_deref()))
            .collect();
        packages.sort();
        assert_eq!(
            packages,
            [
                ("legacy", "0.9", Some(SITE)),
                ("my-pkg", "1.0", Some(SITE)),
                ("single", "2", Some(SITE)),
            ]
        );
        assert_eq!(inventory.notes().len(), 1, "{:?}", inventory.notes());
        let verify = |path: &str, content: &[u8]| {
            let owners = inventory.owners(path);
            let Recorded::Checksum(checksum) = owners.first()?.record() else {
                return None;
            };
            checksum.check(&ContentDigests::of(content, inventory.algorithms_for(path)))
        };
        assert_eq!(
            verify(&format!("{SITE}/mypkg/__init__.py"), b"hello"),
            Some(true)
        );
        assert_eq!(
            verify(&format!("{SITE}/mypkg/__init__.py"), b"hellO"),
            Some(false)
        );
        assert_eq!(
            verify(&format!("{SITE}/mypkg/we,ird \"name\".py"), b"odd"),
            Some(true)
        );
        assert_eq!(
            verify("usr/local/bin/mytool", b"tool"),
            Some(true),
            "../ resolved"
        );
        assert_eq!(
            verify(&format!("{SITE}/mypkg/data.bin"), b"x"),
            None,
            "bad digest"
        );
        assert!(inventory.owners("etc/escape").is_empty());
        let record = format!("{SITE}/my_pkg-1.0.dist-info/RECORD");
        assert_eq!(inventory.owners(&record)[0].record(), &Recorded::Nothing);
        // pip compiles modules without listing the result
        let compiled = format!("{SITE}/mypkg/__pycache__/__init__.cpython-311.pyc");
        assert_eq!(inventory.owners(&compiled)[0].package.name(), "my-pkg");
        assert_eq!(
            inventory.owners(&format!("{SITE}/legacy/__init__.py"))[0]
                .package
                .name(),
            "legacy"
        );
        assert_eq!(
            inventory.owners(&format!("{SITE}/legacy.egg-info/PKG-INFO"))[0]
                .package
                .name(),
            "legacy"
        );
    }

    #[test]
    fn names_normalize_like_pep_503() {
        assert_eq!(normalize("Foo__Bar.-baz"), "foo-bar-baz");
        assert_eq!(normalize("zope.interface"), "zope-interface");
    }
}
