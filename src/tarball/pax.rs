//! PAX extended header records: `"%d %s=%s\n"`, where the length counts the whole record. Records are
//! cut by that length, so a value may hold newlines (valid POSIX).

use super::TarError;

/// A PAX record: key and value, as bytes.
pub type Record = (Vec<u8>, Vec<u8>);

/// Splits a PAX extended header's data into (key, value) records.
pub fn parse_records(data: &[u8], offset: u64) -> Result<Vec<Record>, TarError> {
    let bad = |reason: &'static str| TarError::BadPax { offset, reason };
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // Some writers pad the data with NULs.
        if rest.iter().all(|b| *b == 0) {
            break;
        }
        let space = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or(bad("a record has no length"))?;
        let length: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok())
            .ok_or(bad("a record's length is not a number"))?;
        if length <= space + 1 || length > rest.len() {
            return Err(bad("a record's length does not fit the header"));
        }
        let record = &rest[space + 1..length];
        let body = record
            .strip_suffix(b"\n")
            .ok_or(bad("a record does not end with a newline"))?;
        let equals = body
            .iter()
            .position(|b| *b == b'=')
            .ok_or(bad("a record has no '='"))?;
        if equals == 0 {
            return Err(bad("a record has an empty key"));
        }
        records.push((body[..equals].to_vec(), body[equals + 1..].to_vec()));
        rest = &rest[length..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: &[u8]) -> Vec<u8> {
        let body_len = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut digits = body_len.to_string().len();
        if (body_len + digits).to_string().len() != digits {
            digits += 1;
        }
        let mut out = format!("{} {key}=", body_len + digits).into_bytes();
        out.extend_from_slice(value);
        out.push(b'\n');
        out
    }

    #[test]
    fn values_may_hold_newlines_and_equals_signs() {
        let mut data = record("comment", b"line one\nline two=x\n");
        data.extend(record("path", b"a/b"));
        let records = parse_records(&data, 0).unwrap();
        assert_eq!(
            records,
            vec![
                (b"comment".to_vec(), b"line one\nline two=x\n".to_vec()),
                (b"path".to_vec(), b"a/b".to_vec()),
            ]
        );
    }

    #[test]
    fn malformed_records_are_errors_naming_the_offset() {
        for bad in [
            &b"x path=a\n"[..],
            b"99 path=a\n",
            b"10 path=abc",
            b"9 patha\n\n",
            b"7 =abc\n",
            b"3 a",
        ] {
            let error = parse_records(bad, 1536).unwrap_err();
            assert!(
                matches!(error, TarError::BadPax { offset: 1536, .. }),
                "{bad:?}: {error}"
            );
        }
        assert_eq!(parse_records(b"\0\0\0", 0).unwrap(), vec![]);
    }
}
