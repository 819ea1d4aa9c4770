//! Decompressing streams: gzip (all members), zstd and xz (all streams), the one place that knows how.
//! Used for compressed archives given as inputs and for compressed files inside images.

use std::io::{self, Read};

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
