//! Date and time tokens as build tools write them into text files.
//!
//! [`timestamp_at`] recognises, at a word boundary, the forms below and returns where the token ends.
//! Each candidate end must itself be at a word boundary, so `12:00:00x` or `2026-12-01abc` are not dates.
//! - ISO 8601 and its log spellings: `2026-12-01`, `2026-12-01T10:00:00.123+01:00`, `2026-12-01 10:00:00`
//!   (dpkg.log), `2026-12-01  10:00:00` (apt's history.log), `2026/12/01 10:00:00` (Go's log);
//! - `date`, asctime and syslog: `Wed Dec  2 00:26:47 UTC 2026`, `Sat Jul 11 10:17:11 2026 UTC` (gpgv),
//!   `Dec  2 00:25:13`, `Wed  2 Dec 00:26:47 UTC 2026`;
//! - RFC 2822 and HTTP dates: `Tue, 01 Dec 2026 10:00:00 +0000`, `01 Dec 2026 10:00:00 GMT`;
//! - common log format: `10/Oct/2026:13:55:36 -0700`;
//! - a time of day with seconds: `10:00:00`, `10:00:00.5`;
//! - seconds since 1970 (9 or 10 digits, optional fraction), only when asked: a number is a time only
//!   in files known to hold one.

use std::ops::Range;

const WEEKDAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
/// Time zone names accepted after a time. A closed list: an open pattern (any capitals) would swallow
/// the `INFO` or `WARN` that follows a timestamp in many logs.
const ZONES: [&[u8]; 30] = [
    b"UTC", b"GMT", b"UT", b"CET", b"CEST", b"EET", b"EEST", b"WET", b"WEST", b"BST", b"IST",
    b"MSK", b"EST", b"EDT", b"CST", b"CDT", b"MST", b"MDT", b"PST", b"PDT", b"AKST", b"AKDT",
    b"HST", b"JST", b"KST", b"AEST", b"AEDT", b"ACST", b"AWST", b"NZST",
];

/// Whether a token may start at `at`: at the start of the line or after a byte that is not a letter or
/// a digit.
pub(super) fn starts_word(line: &[u8], at: usize) -> bool {
    at == 0 || !line[at - 1].is_ascii_alphanumeric()
}

fn ends_word(line: &[u8], at: usize) -> bool {
    line.get(at).is_none_or(|b| !b.is_ascii_alphanumeric())
}

/// The end of the date/time token that starts at `at`, if one does. `at` must be a word start.
pub(super) fn timestamp_at(line: &[u8], at: usize, epoch_seconds: bool) -> Option<usize> {
    let first = *line.get(at)?;
    let end = if first.is_ascii_digit() {
        iso(line, at)
            .or_else(|| day_first(line, at))
            .or_else(|| common_log(line, at))
            .or_else(|| clock_alone(line, at))
            .or_else(|| epoch_seconds.then(|| epoch(line, at)).flatten())
    } else if first.is_ascii_uppercase() {
        named(line, at)
    } else {
        None
    };
    end.filter(|&end| end > at)
}

/// Byte ranges of the date/time tokens of a line (for masking them in a text diff).
pub fn timestamp_ranges(line: &[u8], epoch_seconds: bool) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while at < line.len() {
        if starts_word(line, at)
            && let Some(end) = timestamp_at(line, at, epoch_seconds)
        {
            ranges.push(at..end);
            at = end;
        } else {
            at += 1;
        }
    }
    ranges
}

/// Ends of a token being recognised: each complete form seen so far, longest last.
struct Ends<'l> {
    line: &'l [u8],
    best: Option<usize>,
}

impl<'l> Ends<'l> {
    fn new(line: &'l [u8]) -> Self {
        Ends { line, best: None }
    }

    /// Records `end` as a complete token if a word ends there.
    fn complete(&mut self, end: usize) {
        if ends_word(self.line, end) {
            self.best = Some(end);
        }
    }

    /// Optional trailing parts: a zone and/or a year, each after spaces, in either order.
    fn zone_and_year(&mut self, mut at: usize) {
        let (mut zone_seen, mut year_seen) = (false, false);
        for _ in 0..2 {
            let Some(after_space) = spaces(self.line, at, 1) else {
                return;
            };
            if !zone_seen && let Some(end) = zone(self.line, after_space) {
                (zone_seen, at) = (true, end);
            } else if !year_seen && let Some(end) = year(self.line, after_space) {
                (year_seen, at) = (true, end);
            } else {
                return;
            }
            self.complete(at);
        }
    }
}

/// `2026-12-01`, `2026/12/01`, optionally followed by a time (after `T`, or one or two spaces) and zone.
fn iso(line: &[u8], at: usize) -> Option<usize> {
    let after_year = year(line, at)?;
    let separator = *line.get(after_year)?;
    if separator != b'-' && separator != b'/' {
        return None;
    }
    let after_month = number(line, after_year + 1, 2, 1..=12)?;
    if line.get(after_month) != Some(&separator) {
        return None;
    }
    let date_end = number(line, after_month + 1, 2, 1..=31)?;
    let mut ends = Ends::new(line);
    ends.complete(date_end);
    let time_start = match line.get(date_end) {
        Some(b'T') => Some(date_end + 1),
        Some(b' ') => spaces(line, date_end, 2),
        _ => None,
    };
    if let Some(clock_end) = time_start.and_then(|start| clock(line, start)) {
        ends.complete(clock_end);
        let zone_start = if line.get(clock_end) == Some(&b' ') {
            clock_end + 1
        } else {
            clock_end
        };
        if let Some(zone_end) = offset(line, zone_start).or_else(|| zone(line, zone_start)) {
            ends.complete(zone_end);
        }
    }
    ends.best
}

/// Forms that start with a weekday or a month name.
fn named(line: &[u8], at: usize) -> Option<usize> {
    if let Some(after_weekday) = word_in(line, at, &WEEKDAYS) {
        if line.get(after_weekday) == Some(&b',') {
            // RFC 2822: `Tue, 01 Dec 2026 10:00:00 +0000`.
            return day_first(line, spaces(line, after_weekday + 1, 1)?);
        }
        let next = spaces(line, after_weekday, 2)?;
        return month_first(line, next).or_else(|| day_first(line, next));
    }
    month_first(line, at)
}

/// `Dec  2 00:25:13`, with an optional zone and year after it (asctime, `date`, syslog, gpgv).
fn month_first(line: &[u8], at: usize) -> Option<usize> {
    let after_month = word_in(line, at, &MONTHS)?;
    let day_start = spaces(line, after_month, 2)?;
    let after_day = number(line, day_start, 1, 1..=31)?;
    let clock_end = clock(line, spaces(line, after_day, 2)?)?;
    let mut ends = Ends::new(line);
    ends.complete(clock_end);
    ends.zone_and_year(clock_end);
    ends.best
}

/// `01 Dec 2026 10:00:00 +0000` (RFC 2822 without its weekday) and `2 Dec 00:26:47 UTC 2026`.
fn day_first(line: &[u8], at: usize) -> Option<usize> {
    let after_day = number(line, at, 1, 1..=31)?;
    let after_month = word_in(line, spaces(line, after_day, 1)?, &MONTHS)?;
    let next = spaces(line, after_month, 1)?;
    let mut ends = Ends::new(line);
    if let Some(after_year) = year(line, next) {
        ends.complete(after_year);
        let clock_end = spaces(line, after_year, 1).and_then(|start| clock(line, start));
        if let Some(clock_end) = clock_end {
            ends.complete(clock_end);
            if let Some(offset_end) = spaces(line, clock_end, 1).and_then(|s| offset(line, s)) {
                ends.complete(offset_end);
            }
            ends.zone_and_year(clock_end);
        }
    } else {
        let clock_end = clock(line, next)?;
        ends.complete(clock_end);
        ends.zone_and_year(clock_end);
    }
    ends.best
}

/// The common log format: `10/Oct/2026:13:55:36 -0700`.
fn common_log(line: &[u8], at: usize) -> Option<usize> {
    let after_day = number(line, at, 2, 1..=31)?;
    let after_month = word_in(line, expect(line, after_day, b'/')?, &MONTHS)?;
    let after_year = year(line, expect(line, after_month, b'/')?)?;
    let clock_end = clock(line, expect(line, after_year, b':')?)?;
    let mut ends = Ends::new(line);
    ends.complete(clock_end);
    if let Some(offset_end) = expect(line, clock_end, b' ').and_then(|s| offset(line, s)) {
        ends.complete(offset_end);
    }
    ends.best
}

/// A time of day on its own needs its seconds: `10:30` alone may be a ratio, a score or a port.
fn clock_alone(line: &[u8], at: usize) -> Option<usize> {
    let end = clock(line, at)?;
    let has_seconds = end - at >= 8;
    (has_seconds && ends_word(line, end)).then_some(end)
}

/// Seconds since 1970 from 1973 to 2286 (9 or 10 digits), with an optional fraction.
fn epoch(line: &[u8], at: usize) -> Option<usize> {
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if !(9..=10).contains(&digits) {
        return None;
    }
    let mut end = at + digits;
    if line.get(end) == Some(&b'.') {
        let fraction = digit_run(line, end + 1);
        if fraction > 0 {
            end += 1 + fraction;
        }
    }
    ends_word(line, end).then_some(end)
}

/// `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff` or `HH:MM:SS,fff`.
fn clock(line: &[u8], at: usize) -> Option<usize> {
    let after_hour = number(line, at, 2, 0..=24)?;
    let after_minute = number(line, expect(line, after_hour, b':')?, 2, 0..=59)?;
    let Some(after_second) =
        expect(line, after_minute, b':').and_then(|start| number(line, start, 2, 0..=60))
    else {
        return Some(after_minute);
    };
    match line.get(after_second) {
        Some(b'.' | b',') if digit_run(line, after_second + 1) > 0 => {
            Some(after_second + 1 + digit_run(line, after_second + 1))
        }
        _ => Some(after_second),
    }
}

/// `Z`, `+01:00`, `+0100` or `-07`.
fn offset(line: &[u8], at: usize) -> Option<usize> {
    match line.get(at)? {
        b'Z' => Some(at + 1),
        b'+' | b'-' if digit_run(line, at + 1) == 4 => {
            // `+0100`: the hours, then the minutes.
            let hours = &line[at + 1..at + 3];
            let minutes = &line[at + 3..at + 5];
            let valid = value(hours) <= 14 && value(minutes) <= 59;
            valid.then_some(at + 5)
        }
        b'+' | b'-' => {
            let after_hours = number(line, at + 1, 2, 0..=14)?;
            match expect(line, after_hours, b':') {
                Some(minutes) => number(line, minutes, 2, 0..=59),
                None => Some(after_hours),
            }
        }
        _ => None,
    }
}

/// An offset or a zone name from [`ZONES`], itself possibly followed by an offset (`UTC+01:00`).
fn zone(line: &[u8], at: usize) -> Option<usize> {
    if let Some(end) = offset(line, at) {
        return Some(end);
    }
    let end = word_in(line, at, &ZONES)?;
    Some(offset(line, end).unwrap_or(end))
}

fn year(line: &[u8], at: usize) -> Option<usize> {
    number(line, at, 4, 1900..=2999)
}

/// Exactly `width` digits at `at` (or 1 to 2 when `width` is 1), with a value in `range`, followed by
/// a non-digit.
fn number(
    line: &[u8],
    at: usize,
    width: usize,
    range: std::ops::RangeInclusive<u32>,
) -> Option<usize> {
    let digits = digit_run(line, at);
    let fits = if width == 1 {
        (1..=2).contains(&digits)
    } else {
        digits == width
    };
    if !fits {
        return None;
    }
    range
        .contains(&value(&line[at..at + digits]))
        .then_some(at + digits)
}

/// The value of a run of ASCII digits (at most 4 here).
fn value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
}

fn digit_run(line: &[u8], at: usize) -> usize {
    line.get(at..).map_or(0, |rest| {
        rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// One of `words` at `at`, followed by a non-letter.
fn word_in(line: &[u8], at: usize, words: &[&[u8]]) -> Option<usize> {
    let rest = line.get(at..)?;
    words
        .iter()
        .filter(|word| rest.starts_with(word))
        .map(|word| at + word.len())
        .filter(|&end| line.get(end).is_none_or(|b| !b.is_ascii_alphabetic()))
        .max()
}

/// One to `max` spaces at `at`; where they end.
fn spaces(line: &[u8], at: usize, max: usize) -> Option<usize> {
    let run = line.get(at..).map_or(0, |rest| {
        rest.iter()
            .take(max + 1)
            .take_while(|b| **b == b' ')
            .count()
    });
    (1..=max).contains(&run).then_some(at + run)
}

fn expect(line: &[u8], at: usize, byte: u8) -> Option<usize> {
    (line.get(at) == Some(&byte)).then_some(at + 1)
}
