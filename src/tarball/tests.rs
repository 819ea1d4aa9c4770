use std::io::{Cursor, Read, Write};

use super::*;
use crate::fixture::LayerBuilder;

/// Every entry with its content, or the first error.
fn read_all(bytes: &[u8], limits: Limits) -> Result<Vec<(Entry, Vec<u8>)>, TarError> {
    let mut reader = Reader::new(Streamed(bytes), limits);
    let mut out = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        let mut content = Vec::new();
        reader
            .content(&entry)
            .read_to_end(&mut content)
            .map_err(TarError::from_io)?;
        out.push((entry, content));
    }
    Ok(out)
}

fn names(entries: &[(Entry, Vec<u8>)]) -> Vec<&[u8]> {
    entries.iter().map(|(e, _)| e.name.as_slice()).collect()
}

/// A header block of the given type, name and size (ustar), checksummed.
fn raw_header(typeflag: u8, name: &[u8], size: u64) -> [u8; BLOCK] {
    let mut header = ::tar::Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(size);
    header.set_mode(0o644);
    header.as_old_mut().linkflag[0] = typeflag;
    header.set_cksum();
    *header.as_bytes()
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut length = body + body.to_string().len();
    if length.to_string().len() != body.to_string().len() {
        length += 1;
    }
    let mut out = format!("{length} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

fn padded(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
    out
}

#[test]
fn reads_names_links_and_fields_of_every_dialect() {
    for format in [
        crate::fixture::TarFormat::Ustar,
        crate::fixture::TarFormat::Gnu,
        crate::fixture::TarFormat::Pax,
    ] {
        let long = format!("{}/file", "d".repeat(150));
        let tar = LayerBuilder::new()
            .format(format)
            .dir("etc/")
            .file("etc/hosts", "127.0.0.1 localhost\n")
            .mode(0o4755)
            .owner(1000, 1001)
            .owner_names("ann", "staff")
            .file(&long, "x")
            .symlink("lib", "usr/lib")
            .hardlink("etc/hosts2", "etc/hosts")
            .char_device("dev/null", 1, 3)
            .build();
        let entries = read_all(&tar, Limits::DEFAULT).unwrap();
        assert_eq!(
            names(&entries),
            [
                &b"etc/"[..],
                b"etc/hosts",
                long.as_bytes(),
                b"lib",
                b"etc/hosts2",
                b"dev/null"
            ],
            "{format:?}"
        );
        let (hosts, content) = &entries[1];
        assert_eq!(content, b"127.0.0.1 localhost\n");
        assert_eq!(hosts.mode, 0o4755);
        assert_eq!((hosts.uid, hosts.gid), (1000, 1001));
        assert_eq!(
            (&hosts.uname[..], &hosts.gname[..]),
            (&b"ann"[..], &b"staff"[..])
        );
        assert_eq!(entries[3].0.link, b"usr/lib");
        assert_eq!(entries[4].0.typeflag, b'1');
        assert_eq!(entries[5].0.device, (1, 3));
        assert_eq!(entries[0].0.typeflag, b'5');
    }
}

#[test]
fn names_are_the_bytes_written() {
    let tar = LayerBuilder::new()
        .file(b"a\xffb".as_slice(), "1")
        .file(b"a\xfeb".as_slice(), "2")
        .file("a\\xffb", "3")
        .build();
    let entries = read_all(&tar, Limits::DEFAULT).unwrap();
    assert_eq!(
        names(&entries),
        [&b"a\xffb"[..], b"a\xfeb", b"a\\xffb"],
        "three distinct names"
    );
}

#[test]
fn pax_values_may_hold_newlines() {
    let mut tar = Vec::new();
    let mut records = pax_record("path", b"dir/name\nwith newline");
    records.extend(pax_record("comment", b"two\nlines\n"));
    records.extend(pax_record("SCHILY.xattr.user.note", b"a\nb"));
    tar.extend(raw_header(b'x', b"PaxHeaders/x", records.len() as u64));
    tar.extend(padded(&records));
    tar.extend(raw_header(b'0', b"short", 0));
    tar.extend([0u8; 1024]);
    let entries = read_all(&tar, Limits::DEFAULT).unwrap();
    let entry = &entries[0].0;
    assert_eq!(entry.name, b"dir/name\nwith newline");
    assert_eq!(entry.format, TarFormat::Pax);
    assert_eq!(
        entry.pax,
        vec![(b"comment".to_vec(), b"two\nlines\n".to_vec())]
    );
    assert_eq!(
        entry.xattrs,
        vec![(b"user.note".to_vec(), b"a\nb".to_vec())]
    );
}

#[test]
fn a_pax_path_wins_over_a_gnu_long_name_as_in_go() {
    let mut tar = Vec::new();
    let long = b"from-gnu-long-name";
    tar.extend(raw_header(b'L', b"././@LongLink", long.len() as u64));
    tar.extend(padded(long));
    let records = pax_record("path", b"from-pax");
    tar.extend(raw_header(b'x', b"PaxHeaders/x", records.len() as u64));
    tar.extend(padded(&records));
    tar.extend(raw_header(b'0', b"short", 0));
    tar.extend([0u8; 1024]);
    assert_eq!(
        read_all(&tar, Limits::DEFAULT).unwrap()[0].0.name,
        b"from-pax"
    );
}

#[test]
fn extension_headers_over_the_limit_are_refused_before_they_are_read() {
    let limits = Limits {
        extension: 4096,
        ..Limits::DEFAULT
    };
    for (typeflag, what) in [
        (b'L', "GNU long name"),
        (b'K', "GNU long link"),
        (b'x', "PAX header"),
    ] {
        // A header that claims 1 GB of data, with none behind it: the limit must strike first.
        let mut tar = raw_header(typeflag, b"././@LongLink", 1 << 30).to_vec();
        tar.extend([b'a'; BLOCK]);
        let error = read_all(&tar, limits).unwrap_err();
        assert!(
            matches!(&error, TarError::TooLarge { what: w, offset: 0, size, limit: 4096 } if *w == what && *size == 1 << 30),
            "{error}"
        );
        assert!(error.to_string().contains("--max-scale"), "{error}");
    }
}

#[test]
fn damaged_streams_are_errors_naming_the_offset() {
    let tar = LayerBuilder::new()
        .file("a", "1234")
        .file("b", [7u8; 700])
        .build();
    // Header of "b" at 1024: cut inside it, inside its data, and before the end blocks.
    let error = read_all(&tar[..1100], Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(error, TarError::TruncatedHeader { offset: 1024 }),
        "{error}"
    );
    let error = read_all(&tar[..1536 + 100], Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(&error, TarError::TruncatedData { name, offset: 1024, expected: 700, actual: 100 } if name == "b"),
        "{error}"
    );
    let error = read_all(&tar[..1536 + 1024], Limits::DEFAULT).unwrap_err();
    assert!(matches!(error, TarError::MissingEndOfArchive), "{error}");
    // One end block then the end of the stream is accepted, as Go does.
    assert_eq!(
        read_all(&tar[..1536 + 1024 + 512], Limits::DEFAULT)
            .unwrap()
            .len(),
        2
    );

    let mut corrupt = tar.clone();
    corrupt[1024 + 100] = b'9'; // mode field of "b", checksum now wrong
    let error = read_all(&corrupt, Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(error, TarError::BadChecksum { offset: 1024 }),
        "{error}"
    );
    assert!(!error.to_string().contains('9'), "no raw bytes: {error}");

    let mut bad_mode = raw_header(b'0', b"m", 0);
    bad_mode[100..108].copy_from_slice(b"0x\x1b[31m\0");
    let mut fixed = ::tar::Header::from_byte_slice(&bad_mode).clone();
    fixed.set_cksum();
    let mut tar = fixed.as_bytes().to_vec();
    tar.extend([0u8; 1024]);
    let error = read_all(&tar, Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(
            error,
            TarError::BadField {
                offset: 0,
                field: "mode"
            }
        ),
        "{error}"
    );
    assert!(!error.to_string().contains('\u{1b}'));

    let mut after_end = LayerBuilder::new()
        .file("a", "1")
        .without_end_blocks()
        .build();
    after_end.extend([0u8; BLOCK]);
    after_end.extend(raw_header(b'0', b"hidden", 0));
    after_end.extend([0u8; 1024]);
    let error = read_all(&after_end, Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(error, TarError::DataAfterEnd { offset: 1536 }),
        "{error}"
    );
}

#[test]
fn header_only_types_have_no_data_and_v7_slashes_are_directories() {
    let mut tar = raw_header(b'5', b"dir/", 1000).to_vec(); // a size, but no data follows
    tar.extend(raw_header(0, b"old-style-dir/", 0));
    tar.extend(raw_header(0, b"old-style-file", 2));
    tar.extend(padded(b"hi"));
    tar.extend([0u8; 1024]);
    let entries = read_all(&tar, Limits::DEFAULT).unwrap();
    let flags: Vec<u8> = entries.iter().map(|(e, _)| e.typeflag).collect();
    assert_eq!(flags, [b'5', b'5', b'0']);
    assert_eq!(entries[0].0.size, 1000, "the header's size is kept");
    assert_eq!(entries[2].1, b"hi");
}

#[test]
fn seekable_input_skips_data_without_reading_it() {
    let tar = LayerBuilder::new()
        .file("big", vec![1u8; 100_000])
        .file("small", "x")
        .build();
    let mut reader = Reader::new(Seekable::new(Cursor::new(&tar)).unwrap(), Limits::DEFAULT);
    let big = reader.next_entry().unwrap().unwrap();
    assert_eq!(big.size, 100_000);
    let small = reader.next_entry().unwrap().unwrap();
    assert_eq!(small.name, b"small");
    assert_eq!(reader.offset(), 512 + 100_352 + 512);
    assert!(reader.next_entry().unwrap().is_none());
}

/// GNU tar's own sparse archives, in every sparse format it writes.
#[test]
fn sparse_files_written_by_gnu_tar_are_read_expanded() {
    if std::process::Command::new("tar")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no tar");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.img");
    let mut file = std::fs::File::create(&path).unwrap();
    file.set_len(5 << 20).unwrap();
    for (at, byte) in [(4096u64, b'a'), (1 << 20, b'b'), ((5 << 20) - 10, b'c')] {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(at)).unwrap();
        file.write_all(&[byte; 10]).unwrap();
    }
    drop(file);
    let expected = std::fs::read(&path).unwrap();
    for args in [
        &["--format=gnu"][..],
        &["--format=posix", "--sparse-version=0.0"],
        &["--format=posix", "--sparse-version=0.1"],
        &["--format=posix", "--sparse-version=1.0"],
    ] {
        let out = std::process::Command::new("tar")
            .args(args)
            .args(["--sparse", "-cf", "-", "-C"])
            .arg(dir.path())
            .arg("sparse.img")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let entries = read_all(&out.stdout, Limits::DEFAULT).unwrap();
        let (entry, content) = &entries[0];
        assert_eq!(entry.name, b"sparse.img", "{args:?}");
        assert!(entry.is_sparse(), "{args:?}");
        assert_eq!(entry.size, 5 << 20, "{args:?}");
        assert!(content == &expected, "{args:?}: expanded content differs");
        assert!(
            out.stdout.len() < 100_000,
            "{args:?}: the archive stores only the data"
        );
        let small = Limits {
            sparse_size: 1 << 20,
            ..Limits::DEFAULT
        };
        let error = read_all(&out.stdout, small).unwrap_err();
        assert!(
            matches!(
                error,
                TarError::TooLarge {
                    what: "sparse file (expanded)",
                    ..
                }
            ),
            "{args:?}: {error}"
        );
    }
}

#[test]
fn a_sparse_entry_of_petabytes_is_refused_at_once() {
    // Old GNU sparse header with a base-256 real size of 2^50 bytes and one tiny segment.
    let mut header = ::tar::Header::new_gnu();
    header.set_path("bomb").unwrap();
    header.set_entry_type(::tar::EntryType::GNUSparse);
    header.set_size(1);
    header.set_mode(0o644);
    let block = header.as_mut_bytes();
    block[386..398].copy_from_slice(b"00000000000\0");
    block[398..410].copy_from_slice(b"00000000001\0");
    block[483] = 0x80;
    block[488] = 0x04; // 2^50 in the 12-byte base-256 realsize field
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend(padded(b"x"));
    tar.extend([0u8; 1024]);
    let started = std::time::Instant::now();
    let error = read_all(&tar, Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(error, TarError::TooLarge { size, .. } if size == 1 << 50),
        "{error}"
    );
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn bad_sparse_maps_are_errors() {
    let mut records = pax_record("GNU.sparse.major", b"0");
    records.extend(pax_record("GNU.sparse.minor", b"1"));
    records.extend(pax_record("GNU.sparse.size", b"100"));
    records.extend(pax_record("GNU.sparse.map", b"50,10,40,10"));
    let mut tar = raw_header(b'x', b"PaxHeaders/s", records.len() as u64).to_vec();
    tar.extend(padded(&records));
    tar.extend(raw_header(b'0', b"s", 20));
    tar.extend(padded(&[1u8; 20]));
    tar.extend([0u8; 1024]);
    let error = read_all(&tar, Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(error, TarError::BadSparse { offset: 1024, .. }),
        "{error}"
    );
}

#[test]
fn global_headers_are_skipped_and_do_not_count_as_entries() {
    let records = pax_record("comment", b"git archive");
    let mut tar = raw_header(b'g', b"pax_global_header", records.len() as u64).to_vec();
    tar.extend(padded(&records));
    tar.extend(LayerBuilder::new().file("a", "1").build());
    assert_eq!(names(&read_all(&tar, Limits::DEFAULT).unwrap()), [b"a"]);
}

#[test]
fn errors_of_the_stream_below_pass_through() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("decoder says no"))
        }
    }
    let mut reader = Reader::new(Streamed(Failing), Limits::DEFAULT);
    let error = reader.next_entry().unwrap_err();
    assert!(matches!(&error, TarError::Io(e) if e.to_string() == "decoder says no"));
}
