//! Decompressing streams: gzip (all members), zstd and xz (all streams), the one place that knows how.
//! Used for compressed archives given as inputs and for compressed files inside images.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

/// A compression this crate decompresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Xz,
}

/// The most memory an xz stream's dictionary may take unless told otherwise (`xz -9` needs 65 MiB).
pub const XZ_MEMORY: u64 = 256 << 20;

/// A reader of `input` decompressed. `xz_memory` bounds the xz decoder (its dictionary is allocated as
/// the stream's header asks); zstd's decoder refuses windows over 128 MiB by itself.
pub fn decoder<'a>(
    codec: Codec,
    input: impl Read + 'a,
    xz_memory: u64,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
        Codec::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                xz_memory,
                liblzma::stream::CONCATENATED,
            )?;
            Box::new(liblzma::read::XzDecoder::new_stream(input, stream))
        }
    })
}

/// The members of a gzip stream (RFC 1952), decompressed without computing their CRC-32.
///
/// For a layer whose decompressed stream is verified against its diff_id (a sha256), the CRC proves
/// nothing more and costs a pass over every decompressed byte (about 3% of a `--semantic` run). Headers
/// and each member's length (ISIZE) are checked; a stream cut short anywhere is an error; bytes after the
/// last member must be another member, as `flate2::bufread::MultiGzDecoder` has them.
pub struct GzipMembers<R: BufRead> {
    state: Member<R>,
    /// The bytes the current member gave, modulo 2^32 as ISIZE counts them.
    size: u32,
}

enum Member<R: BufRead> {
    /// Before a member's header; `first`: none read yet (an empty stream is not gzip).
    Next {
        input: R,
        first: bool,
    },
    Body(DeflateDecoder<R>),
    Done(R),
    /// After an error: the input is not kept in a state that could be read on.
    Failed,
}

const GZIP_FEXTRA: u8 = 0x04;
const GZIP_FNAME: u8 = 0x08;
const GZIP_FCOMMENT: u8 = 0x10;
const GZIP_FHCRC: u8 = 0x02;
const GZIP_RESERVED: u8 = 0xE0;

impl<R: BufRead> GzipMembers<R> {
    pub fn new(input: R) -> GzipMembers<R> {
        GzipMembers {
            state: Member::Next { input, first: true },
            size: 0,
        }
    }

    /// The input, where decompressing stopped. None after an error.
    pub fn into_inner(self) -> Option<R> {
        match self.state {
            Member::Next { input, .. } | Member::Done(input) => Some(input),
            Member::Body(decoder) => Some(decoder.into_inner()),
            Member::Failed => None,
        }
    }

    fn advance(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match std::mem::replace(&mut self.state, Member::Failed) {
            Member::Next { mut input, first } => {
                if !first && input.fill_buf()?.is_empty() {
                    self.state = Member::Done(input);
                    return Ok(Some(0));
                }
                skip_gzip_header(&mut input)?;
                self.size = 0;
                self.state = Member::Body(DeflateDecoder::new(input));
                Ok(None)
            }
            Member::Body(mut decoder) => {
                let n = decoder.read(buf)?;
                if n > 0 {
                    self.size = self.size.wrapping_add(n as u32);
                    self.state = Member::Body(decoder);
                    return Ok(Some(n));
                }
                let mut input = decoder.into_inner();
                let mut trailer = [0u8; 8];
                input.read_exact(&mut trailer).map_err(cut_short)?;
                let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
                if isize != self.size {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "gzip member length does not match its trailer",
                    ));
                }
                self.state = Member::Next {
                    input,
                    first: false,
                };
                Ok(None)
            }
            done @ Member::Done(_) => {
                self.state = done;
                Ok(Some(0))
            }
            Member::Failed => Err(io::Error::other("gzip stream read after an error")),
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.advance(buf)? {
                return Ok(n);
            }
        }
    }
}

fn cut_short(error: io::Error) -> io::Error {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => {
            io::Error::new(io::ErrorKind::UnexpectedEof, "gzip stream cut short")
        }
        _ => error,
    }
}

fn invalid_header() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "invalid gzip header")
}

/// Reads past a member's header (RFC 1952 2.3): the fixed ten bytes, then the optional fields.
fn skip_gzip_header(input: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    input.read_exact(&mut fixed).map_err(cut_short)?;
    let flags = fixed[3];
    if fixed[..3] != [0x1f, 0x8b, 8] || flags & GZIP_RESERVED != 0 {
        return Err(invalid_header());
    }
    if flags & GZIP_FEXTRA != 0 {
        let mut len = [0u8; 2];
        input.read_exact(&mut len).map_err(cut_short)?;
        skip_exactly(input, u64::from(u16::from_le_bytes(len)))?;
    }
    for field in [GZIP_FNAME, GZIP_FCOMMENT] {
        if flags & field != 0 {
            skip_past_zero(input)?;
        }
    }
    if flags & GZIP_FHCRC != 0 {
        skip_exactly(input, 2)?;
    }
    Ok(())
}

fn skip_exactly(input: &mut impl BufRead, len: u64) -> io::Result<()> {
    let skipped = io::copy(&mut input.take(len), &mut io::sink())?;
    if skipped < len {
        return Err(cut_short(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(())
}

/// A zero-terminated header field, however long, without keeping it.
fn skip_past_zero(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffered = input.fill_buf()?;
        if buffered.is_empty() {
            return Err(cut_short(io::ErrorKind::UnexpectedEof.into()));
        }
        match buffered.iter().position(|&b| b == 0) {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = buffered.len();
                input.consume(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::fixture::{gzip, gzip_two_members};

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 131 + i / 7) as u8).collect()
    }

    fn decode(stream: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipMembers::new(io::BufReader::with_capacity(64, stream)).read_to_end(&mut out)?;
        Ok(out)
    }

    /// A member with every optional header field (extra, name, comment, header CRC).
    fn gzip_with_every_field(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::GzBuilder::new()
            .extra(b"xyz".to_vec())
            .filename(&b"file.tar"[..])
            .comment(&b"a comment"[..])
            .operating_system(3)
            .write(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("writes to a Vec");
        let mut stream = encoder.finish().expect("writes to a Vec");
        stream[3] |= GZIP_FHCRC;
        // The two header CRC bytes go right after the header's fields (ten bytes, extra, name, comment).
        let header_len = 10 + 2 + 3 + b"file.tar\0".len() + b"a comment\0".len();
        stream.splice(header_len..header_len, [0xAB, 0xCD]);
        stream
    }

    #[test]
    fn reads_what_multigz_reads_one_member_or_several_with_any_header_field() {
        let data = sample(300_000);
        let mut several = gzip_two_members(&data);
        several.extend_from_slice(&gzip(b""));
        for stream in [gzip(&data), several, gzip_with_every_field(&data)] {
            assert_eq!(decode(&stream).expect("valid gzip"), data);
        }
    }

    #[test]
    fn a_wrong_crc_is_not_looked_at_but_a_wrong_length_is_an_error() {
        let data = sample(10_000);
        let mut stream = gzip(&data);
        let crc_at = stream.len() - 8;
        stream[crc_at] ^= 0xFF;
        assert_eq!(decode(&stream).expect("CRC not checked"), data);
        let mut stream = gzip(&data);
        let isize_at = stream.len() - 4;
        stream[isize_at] ^= 0x01;
        let error = decode(&stream).expect_err("ISIZE checked");
        assert!(error.to_string().contains("length"), "{error}");
    }

    #[test]
    fn a_stream_cut_anywhere_is_an_error() {
        let stream = gzip_with_every_field(&sample(5_000));
        for len in 0..stream.len() {
            assert!(
                decode(&stream[..len]).is_err(),
                "cut at {len} of {}",
                stream.len()
            );
        }
    }

    #[test]
    fn bytes_after_the_last_member_must_be_a_member() {
        let data = sample(1_000);
        for junk in [&b"\0\0\0\0"[..], b"not gzip", b"\x1f\x8b\x09"] {
            let mut stream = gzip(&data);
            stream.extend_from_slice(junk);
            assert!(decode(&stream).is_err(), "junk {junk:?}");
        }
        let mut reserved = gzip(&data);
        reserved[3] |= 0x20;
        assert!(decode(&reserved).is_err(), "reserved flag bit");
    }
}
