//! One 512-byte tar header block: recognising it (checksum) and reading its fields, as Go's
//! `archive/tar` does (Docker, BuildKit and containerd write and read layers with it).

use crate::model::{TarFormat, Timestamp};

use super::TarError;

pub const BLOCK: usize = 512;

/// Byte ranges of the header fields (POSIX ustar, with GNU's extra fields where they differ).
mod field {
    use std::ops::Range;
    pub const NAME: Range<usize> = 0..100;
    pub const MODE: Range<usize> = 100..108;
    pub const UID: Range<usize> = 108..116;
    pub const GID: Range<usize> = 116..124;
    pub const SIZE: Range<usize> = 124..136;
    pub const MTIME: Range<usize> = 136..148;
    pub const CHECKSUM: Range<usize> = 148..156;
    pub const TYPEFLAG: usize = 156;
    pub const LINKNAME: Range<usize> = 157..257;
    pub const MAGIC: Range<usize> = 257..263;
    pub const VERSION: Range<usize> = 263..265;
    pub const UNAME: Range<usize> = 265..297;
    pub const GNAME: Range<usize> = 297..329;
    pub const DEVMAJOR: Range<usize> = 329..337;
    pub const DEVMINOR: Range<usize> = 337..345;
    pub const PREFIX: Range<usize> = 345..500;
    pub const GNU_ATIME: Range<usize> = 345..357;
    pub const GNU_CTIME: Range<usize> = 357..369;
    /// Four (offset, length) pairs of 12 + 12 bytes.
    pub const GNU_SPARSE: usize = 386;
    pub const GNU_IS_EXTENDED: usize = 482;
    pub const GNU_REAL_SIZE: Range<usize> = 483..495;
}

/// The magic and version of the header, which decide how the rest is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    V7,
    Ustar,
    Gnu,
}

impl Dialect {
    pub fn format(self) -> TarFormat {
        match self {
            Dialect::V7 => TarFormat::V7,
            Dialect::Ustar => TarFormat::Ustar,
            Dialect::Gnu => TarFormat::Gnu,
        }
    }
}

/// A header block whose checksum has been checked.
pub struct Header<'b> {
    block: &'b [u8; BLOCK],
    /// Offset of the block in the tar stream, for messages.
    offset: u64,
    dialect: Dialect,
}

/// Whether `block` is a tar header: 512 bytes, not all zero, with a stored checksum that matches.
pub fn is_header(block: &[u8]) -> bool {
    block
        .get(..BLOCK)
        .and_then(|b| <&[u8; BLOCK]>::try_from(b).ok())
        .is_some_and(|b| !is_zero(b) && checksum_matches(b))
}

pub fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|b| *b == 0)
}

/// Go accepts both the unsigned sum (POSIX) and the signed one (some historic writers).
fn checksum_matches(block: &[u8; BLOCK]) -> bool {
    let Some(stored) = parse_octal(&block[field::CHECKSUM]) else {
        return false;
    };
    // The sums over the whole block, with the checksum field counted as spaces (eight 0x20 bytes).
    // Whole-block sums compile to vector adds; the field is taken out afterwards.
    let field = &block[field::CHECKSUM];
    let spaces = 8 * i64::from(b' ');
    let unsigned: i64 = block.iter().map(|&b| i64::from(b)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b)).sum::<i64>()
        + spaces;
    if stored == unsigned {
        return true;
    }
    let signed: i64 = block.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        - field.iter().map(|&b| i64::from(b as i8)).sum::<i64>()
        + spaces;
    stored == signed
}

impl<'b> Header<'b> {
    pub fn parse(block: &'b [u8; BLOCK], offset: u64) -> Result<Header<'b>, TarError> {
        if !checksum_matches(block) {
            return Err(TarError::BadChecksum { offset });
        }
        let magic = &block[field::MAGIC];
        let version = &block[field::VERSION];
        let dialect = if magic == b"ustar\0" && version == b"00" {
            Dialect::Ustar
        } else if magic == b"ustar " && version == b" \0" {
            Dialect::Gnu
        } else {
            Dialect::V7
        };
        Ok(Header {
            block,
            offset,
            dialect,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn typeflag(&self) -> u8 {
        self.block[field::TYPEFLAG]
    }

    /// The name, with the ustar prefix joined in front when there is one.
    pub fn name(&self) -> Vec<u8> {
        let name = c_string(&self.block[field::NAME]);
        if self.dialect == Dialect::Ustar {
            let prefix = c_string(&self.block[field::PREFIX]);
            if !prefix.is_empty() {
                let mut joined = Vec::with_capacity(prefix.len() + 1 + name.len());
                joined.extend_from_slice(prefix);
                joined.push(b'/');
                joined.extend_from_slice(name);
                return joined;
            }
        }
        name.to_vec()
    }

    pub fn link_name(&self) -> Vec<u8> {
        c_string(&self.block[field::LINKNAME]).to_vec()
    }

    pub fn user_name(&self) -> Vec<u8> {
        self.ustar_string(field::UNAME)
    }

    pub fn group_name(&self) -> Vec<u8> {
        self.ustar_string(field::GNAME)
    }

    fn ustar_string(&self, range: std::ops::Range<usize>) -> Vec<u8> {
        match self.dialect {
            Dialect::V7 => Vec::new(),
            _ => c_string(&self.block[range]).to_vec(),
        }
    }

    pub fn mode(&self) -> Result<u32, TarError> {
        let mode = self.number(field::MODE, "mode")?;
        u32::try_from(mode).map_err(|_| self.bad("mode"))
    }

    pub fn uid(&self) -> Result<u64, TarError> {
        self.unsigned(field::UID, "uid")
    }

    pub fn gid(&self) -> Result<u64, TarError> {
        self.unsigned(field::GID, "gid")
    }

    pub fn size(&self) -> Result<u64, TarError> {
        self.unsigned(field::SIZE, "size")
    }

    pub fn mtime(&self) -> Result<Timestamp, TarError> {
        Ok(Timestamp::from_secs(self.number(field::MTIME, "mtime")?))
    }

    /// GNU headers carry atime and ctime; zero means unset.
    pub fn gnu_times(&self) -> Result<(Option<Timestamp>, Option<Timestamp>), TarError> {
        if self.dialect != Dialect::Gnu {
            return Ok((None, None));
        }
        let time = |range, name| {
            let secs = self.number(range, name)?;
            Ok::<_, TarError>((secs != 0).then(|| Timestamp::from_secs(secs)))
        };
        Ok((
            time(field::GNU_ATIME, "atime")?,
            time(field::GNU_CTIME, "ctime")?,
        ))
    }

    /// Device numbers; V7 headers have none.
    pub fn device(&self) -> Result<(u32, u32), TarError> {
        if self.dialect == Dialect::V7 {
            return Ok((0, 0));
        }
        let number = |range, name| {
            let n = self.number(range, name)?;
            u32::try_from(n).map_err(|_| self.bad(name))
        };
        Ok((
            number(field::DEVMAJOR, "devmajor")?,
            number(field::DEVMINOR, "devminor")?,
        ))
    }

    /// The sparse fields of a GNU sparse header (type `S`).
    pub fn gnu_sparse(&self) -> Result<GnuSparse, TarError> {
        let real_size = self.unsigned(field::GNU_REAL_SIZE, "realsize")?;
        let map = parse_sparse_entries(&self.block[field::GNU_SPARSE..field::GNU_SPARSE + 96])
            .ok_or_else(|| self.bad("sparse map"))?;
        Ok(GnuSparse {
            real_size,
            map,
            extended: self.block[field::GNU_IS_EXTENDED] != 0,
        })
    }

    fn unsigned(&self, range: std::ops::Range<usize>, name: &'static str) -> Result<u64, TarError> {
        let n = self.number(range, name)?;
        u64::try_from(n).map_err(|_| self.bad(name))
    }

    fn number(&self, range: std::ops::Range<usize>, name: &'static str) -> Result<i64, TarError> {
        parse_numeric(&self.block[range]).ok_or_else(|| self.bad(name))
    }

    fn bad(&self, field: &'static str) -> TarError {
        TarError::BadField {
            offset: self.offset,
            field,
        }
    }
}

/// A GNU sparse header's real size, its map entries, and whether extension blocks with more follow.
pub struct GnuSparse {
    pub real_size: u64,
    pub map: Vec<Segment>,
    pub extended: bool,
}

/// A stored segment of a sparse file: offset in the expanded file, length.
pub type Segment = (u64, u64);

/// Up to 21 (offset, length) pairs of an old-GNU sparse extension block; `None` if a field is bad.
/// Pairs that are all zero end the list.
pub fn parse_sparse_entries(area: &[u8]) -> Option<Vec<Segment>> {
    let mut map = Vec::new();
    for pair in area.chunks_exact(24) {
        if is_zero(pair) {
            break;
        }
        let offset = u64::try_from(parse_numeric(&pair[..12])?).ok()?;
        let length = u64::try_from(parse_numeric(&pair[12..])?).ok()?;
        map.push((offset, length));
    }
    Some(map)
}

/// The bytes of a NUL-terminated field.
fn c_string(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

/// A numeric field: base-256 when the high bit of the first byte is set (GNU, for large and negative
/// values), octal otherwise, with leading and trailing spaces and NULs ignored (an empty field is 0).
pub fn parse_numeric(field: &[u8]) -> Option<i64> {
    match field.first() {
        Some(first) if first & 0x80 != 0 => parse_base256(field),
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<i64> {
    let trimmed = field
        .iter()
        .position(|b| *b != b' ' && *b != 0)
        .map_or(&[][..], |start| {
            let end = field
                .iter()
                .rposition(|b| *b != b' ' && *b != 0)
                .map_or(start, |e| e + 1);
            &field[start..end]
        });
    if trimmed.is_empty() {
        return Some(0);
    }
    let mut value: i64 = 0;
    for &digit in trimmed {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(i64::from(digit - b'0'))?;
    }
    Some(value)
}

/// Two's complement, big-endian, with the first byte's high bit as the marker (0x80 positive, 0xff
/// negative).
fn parse_base256(field: &[u8]) -> Option<i64> {
    let negative = field[0] & 0x40 != 0;
    let mut value: i128 = if negative { -1 } else { 0 };
    let first = if negative {
        field[0] | 0x80
    } else {
        field[0] & 0x7f
    };
    for &byte in std::iter::once(&first).chain(&field[1..]) {
        value = value.checked_mul(256)? | i128::from(byte);
        if value > i128::from(i64::MAX) || value < i128::from(i64::MIN) {
            return None;
        }
    }
    i64::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_octal_or_base256_with_padding_ignored() {
        assert_eq!(parse_numeric(b"0000644\0"), Some(0o644));
        assert_eq!(parse_numeric(b"  644 \0\0"), Some(0o644));
        assert_eq!(parse_numeric(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_numeric(b"        "), Some(0));
        assert_eq!(parse_numeric(b"0008\0"), None);
        assert_eq!(parse_numeric(b"12 34\0"), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[6] = 0x01; // 2^40
        assert_eq!(parse_numeric(&big), Some(1 << 40));
        let minus_one = [0xffu8; 8];
        assert_eq!(parse_numeric(&minus_one), Some(-1));
        let huge = [
            0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(parse_numeric(&huge), None, "beyond i64");
    }

    #[test]
    fn headers_are_recognised_by_their_checksum() {
        let mut header = ::tar::Header::new_ustar();
        header.set_path("etc/hosts").unwrap();
        header.set_size(3);
        header.set_cksum();
        let block: [u8; BLOCK] = *header.as_bytes();
        assert!(is_header(&block));
        let parsed = Header::parse(&block, 0).unwrap();
        assert_eq!(parsed.name(), b"etc/hosts");
        assert_eq!(parsed.dialect(), Dialect::Ustar);
        let mut broken = block;
        broken[0] ^= 1;
        assert!(!is_header(&broken));
        assert!(matches!(
            Header::parse(&broken, 1024),
            Err(TarError::BadChecksum { offset: 1024 })
        ));
        assert!(!is_header(&[0u8; BLOCK]));
        assert!(!is_header(b"short"));
    }
}
