//! An sqlite write-ahead log applied to its database in memory, as sqlite itself would on opening it:
//! the frames up to the last valid commit (salts matching the log's header, cumulative checksums
//! right) replace their pages. Format: sqlite's "Write-Ahead Log File Format" (fileformat2, section 4).

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;
const MAGIC_LITTLE_ENDIAN: u32 = 0x377f_0682;
const MAGIC_BIG_ENDIAN: u32 = 0x377f_0683;

/// Why a log could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum WalError {
    #[error("not a write-ahead log")]
    NotALog,
    #[error("its header checksum is wrong")]
    BadHeader,
    #[error("page size {0} is not the database's")]
    PageSize(u32),
    #[error("a commit claims {0} pages, more than the database and the log hold")]
    TooBig(u64),
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// sqlite's checksum: 32-bit words in the log's byte order, summed in pairs, continuing from `sums`.
fn checksum(sums: (u32, u32), data: &[u8], big_endian: bool) -> (u32, u32) {
    let (mut s0, mut s1) = sums;
    for pair in data.chunks_exact(8) {
        let read = |b: &[u8]| {
            let bytes = [b[0], b[1], b[2], b[3]];
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        s0 = s0.wrapping_add(read(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(read(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// `database` with the committed frames of `log` applied. `page_size` is the database's.
pub(super) fn apply(database: &[u8], log: &[u8], page_size: usize) -> Result<Vec<u8>, WalError> {
    let header = log.get(..HEADER).ok_or(WalError::NotALog)?;
    let big_endian = match word(header, 0) {
        MAGIC_LITTLE_ENDIAN => false,
        MAGIC_BIG_ENDIAN => true,
        _ => return Err(WalError::NotALog),
    };
    let mut sums = checksum((0, 0), &header[..24], big_endian);
    if sums != (word(header, 24), word(header, 28)) {
        return Err(WalError::BadHeader);
    }
    if word(header, 8) as usize != page_size {
        return Err(WalError::PageSize(word(header, 8)));
    }
    let salts = &header[16..24];
    let mut pages: Vec<(usize, &[u8])> = Vec::new();
    let mut committed = None;
    for frame in log[HEADER..].chunks_exact(FRAME_HEADER + page_size) {
        let (frame_header, page) = frame.split_at(FRAME_HEADER);
        if &frame_header[8..16] != salts {
            break;
        }
        sums = checksum(sums, &frame_header[..8], big_endian);
        sums = checksum(sums, page, big_endian);
        if sums != (word(frame_header, 16), word(frame_header, 20)) {
            break;
        }
        let number = word(frame_header, 0) as usize;
        if number == 0 {
            break;
        }
        pages.push((number, page));
        let size = word(frame_header, 4);
        if size != 0 {
            committed = Some((pages.len(), u64::from(size)));
        }
    }
    let Some((frames, size_in_pages)) = committed else {
        return Ok(database.to_vec());
    };
    let size = size_in_pages * page_size as u64;
    if size > (database.len() + log.len()) as u64 {
        return Err(WalError::TooBig(size_in_pages));
    }
    let mut image = database.to_vec();
    image.resize(size as usize, 0);
    for &(number, page) in &pages[..frames] {
        let start = (number - 1) * page_size;
        if let Some(target) = image.get_mut(start..start + page_size) {
            target.copy_from_slice(page);
        }
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `frames` (page number, commit size, fill byte) with correct checksums.
    fn log(page_size: usize, frames: &[(u32, u32, u8)]) -> Vec<u8> {
        let mut log = Vec::new();
        for word in [MAGIC_BIG_ENDIAN, 3_007_000, page_size as u32, 0, 11, 22] {
            log.extend_from_slice(&word.to_be_bytes());
        }
        let mut sums = checksum((0, 0), &log, true);
        log.extend_from_slice(&sums.0.to_be_bytes());
        log.extend_from_slice(&sums.1.to_be_bytes());
        for &(number, commit, fill) in frames {
            let mut head = Vec::new();
            for word in [number, commit, 11, 22] {
                head.extend_from_slice(&word.to_be_bytes());
            }
            let page = vec![fill; page_size];
            sums = checksum(checksum(sums, &head[..8], true), &page, true);
            head.extend_from_slice(&sums.0.to_be_bytes());
            head.extend_from_slice(&sums.1.to_be_bytes());
            log.extend_from_slice(&head);
            log.extend_from_slice(&page);
        }
        log
    }

    #[test]
    fn committed_frames_replace_pages_and_uncommitted_ones_do_not() {
        let database = vec![0u8; 4 * 512];
        let applied = apply(
            &database,
            &log(512, &[(2, 0, 7), (5, 5, 8), (1, 0, 9)]),
            512,
        )
        .unwrap();
        assert_eq!(applied.len(), 5 * 512, "the commit grew the database");
        assert_eq!(applied[512], 7);
        assert_eq!(applied[4 * 512], 8);
        assert_eq!(
            applied[0], 0,
            "the frame after the last commit is not applied"
        );
    }

    #[test]
    fn a_damaged_frame_ends_the_log_and_a_damaged_header_refuses_it() {
        let database = vec![0u8; 2 * 512];
        let mut damaged = log(512, &[(1, 2, 7), (2, 2, 8)]);
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let applied = apply(&database, &damaged, 512).unwrap();
        assert_eq!((applied[0], applied[512]), (7, 0));
        let mut header = log(512, &[(1, 2, 7)]);
        header[9] ^= 1;
        assert_eq!(apply(&database, &header, 512), Err(WalError::BadHeader));
        assert_eq!(
            apply(&database, &log(1024, &[]), 512),
            Err(WalError::PageSize(1024))
        );
        assert_eq!(apply(&database, b"short", 512), Err(WalError::NotALog));
        assert_eq!(
            apply(&database, &log(512, &[(1, u32::MAX, 7)]), 512),
            Err(WalError::TooBig(u64::from(u32::MAX)))
        );
    }
}
