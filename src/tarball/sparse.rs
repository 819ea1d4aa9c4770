//! GNU sparse files: a map of the data segments of a file whose holes are not stored. The content is
//! the file expanded, holes read as zeros.

use super::header::Segment;
use super::{Input, Reader, TarError};

/// The stored segments of a sparse file: (offset in the expanded file, length), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseMap {
    segments: Vec<Segment>,
}

impl SparseMap {
    pub fn new(segments: Vec<Segment>) -> SparseMap {
        SparseMap { segments }
    }

    /// Segments in order, not overlapping, inside the file, and adding up to the stored data.
    pub fn validate(&self, real_size: u64, stored: u64) -> Result<(), &'static str> {
        let mut end_of_previous = 0u64;
        let mut total = 0u64;
        for &(offset, length) in &self.segments {
            let end = offset.checked_add(length).ok_or("a segment overflows")?;
            if offset < end_of_previous {
                return Err("segments overlap or are out of order");
            }
            if end > real_size {
                return Err("a segment lies past the file's size");
            }
            end_of_previous = end;
            total = total.checked_add(length).ok_or("a segment overflows")?;
        }
        if total != stored {
            return Err("the segments do not add up to the stored data");
        }
        Ok(())
    }

    pub fn cursor(&self, real_size: u64) -> Cursor {
        Cursor {
            segments: self.segments.clone(),
            next: 0,
            position: 0,
            real_size,
        }
    }
}

/// Where a read of the expanded file stands.
pub struct Cursor {
    segments: Vec<Segment>,
    /// The first segment not yet read completely.
    next: usize,
    /// Position in the expanded file.
    position: u64,
    real_size: u64,
}

impl Cursor {
    pub fn read<R: Input>(
        &mut self,
        reader: &mut Reader<R>,
        buf: &mut [u8],
    ) -> Result<usize, TarError> {
        if buf.is_empty() || self.position >= self.real_size {
            return Ok(0);
        }
        let (hole_end, segment_end) = loop {
            match self.segments.get(self.next) {
                // Empty segments (some writers end the map with one) hold nothing.
                Some(&(offset, length)) if offset + length <= self.position => self.next += 1,
                Some(&(offset, length)) => break (offset, offset + length),
                None => break (self.real_size, self.real_size),
            }
        };
        let n = if self.position < hole_end {
            let n = clamp(hole_end - self.position, buf.len());
            buf[..n].fill(0);
            n
        } else {
            let n = clamp(segment_end - self.position, buf.len());
            match reader.read_data(&mut buf[..n])? {
                0 => return Err(reader.truncated()),
                read => read,
            }
        };
        self.position += n as u64;
        Ok(n)
    }
}

fn clamp(remaining: u64, buf: usize) -> usize {
    usize::try_from(remaining).map_or(buf, |r| r.min(buf))
}

/// Format 0.1: `GNU.sparse.map` is `offset,length,offset,length…`.
pub fn parse_map_0_1(value: &[u8]) -> Option<Vec<Segment>> {
    let text = std::str::from_utf8(value).ok()?;
    if text.is_empty() {
        return Some(Vec::new());
    }
    let numbers: Vec<u64> = text
        .split(',')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    if !numbers.len().is_multiple_of(2) {
        return None;
    }
    Some(numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

/// Format 1.0: the map opens the entry's data, as decimal numbers each ending with a newline (the
/// count, then offset and length pairs), padded to a block; the stored segments follow.
pub fn read_map_1_0<R: Input>(
    reader: &mut Reader<R>,
    offset: u64,
) -> Result<Vec<Segment>, TarError> {
    let bad = |reason| TarError::BadSparse { offset, reason };
    let mut lines = MapLines {
        block: Vec::new(),
        at: 0,
        read: 0,
    };
    let count = lines
        .number(reader, offset)?
        .ok_or(bad("the sparse map has no count"))?;
    let mut map = Vec::new();
    for _ in 0..count {
        let segment_offset = lines.number(reader, offset)?;
        let length = lines.number(reader, offset)?;
        match (segment_offset, length) {
            (Some(o), Some(l)) => map.push((o, l)),
            _ => return Err(bad("the sparse map ends early")),
        }
        reader.check_map_size(map.len(), offset)?;
    }
    Ok(map)
}

/// Reads the 1.0 map block by block (the map is bounded by the extension limit).
struct MapLines {
    block: Vec<u8>,
    at: usize,
    read: u64,
}

impl MapLines {
    fn number<R: Input>(
        &mut self,
        reader: &mut Reader<R>,
        offset: u64,
    ) -> Result<Option<u64>, TarError> {
        let mut digits = Vec::new();
        loop {
            if self.at == self.block.len() && !self.next_block(reader, offset)? {
                return Ok(None);
            }
            let byte = self.block[self.at];
            self.at += 1;
            match byte {
                b'\n' => break,
                b'0'..=b'9' if digits.len() < 20 => digits.push(byte),
                _ => {
                    return Err(TarError::BadSparse {
                        offset,
                        reason: "the sparse map holds something other than numbers",
                    });
                }
            }
        }
        let number = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or(TarError::BadSparse {
                offset,
                reason: "the sparse map holds an empty number",
            })?;
        Ok(Some(number))
    }

    fn next_block<R: Input>(
        &mut self,
        reader: &mut Reader<R>,
        offset: u64,
    ) -> Result<bool, TarError> {
        let mut block = vec![0u8; super::BLOCK];
        let mut filled = 0;
        while filled < block.len() {
            match reader.read_data(&mut block[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(false);
        }
        self.read += filled as u64;
        if self.read > reader.limits.extension {
            return Err(TarError::TooLarge {
                what: "sparse map",
                offset,
                size: self.read,
                limit: reader.limits.extension,
            });
        }
        block.truncate(filled);
        self.block = block;
        self.at = 0;
        Ok(true)
    }
}
