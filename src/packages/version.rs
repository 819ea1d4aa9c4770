//! Each ecosystem's version ordering. `None` means "not comparable": a version the ecosystem itself
//! would reject (or, for npm and Python, one outside semver / PEP 440).

use std::cmp::Ordering;
use std::str::FromStr;

use super::Ecosystem;

/// How version `a` orders against version `b` under `ecosystem`'s rules.
pub fn compare_versions(ecosystem: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
    match ecosystem {
        Ecosystem::Dpkg => dpkg(a, b),
        Ecosystem::Apk => apk(a, b),
        Ecosystem::Rpm => rpm(a, b),
        Ecosystem::Python => python(a, b),
        Ecosystem::Npm => npm(a, b),
    }
}

// ---- dpkg: Debian Policy 5.6.12, deb-version(7)

/// `[epoch:]upstream[-revision]`: epochs numerically, then upstream, then revision with dpkg's string
/// ordering (the revision is what follows the last hyphen; none compares like `0`).
fn dpkg(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (DebVersion::parse(a)?, DebVersion::parse(b)?);
    Some(
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| deb_string_cmp(a.upstream, b.upstream))
            .then_with(|| deb_string_cmp(a.revision, b.revision)),
    )
}

struct DebVersion<'a> {
    epoch: u64,
    upstream: &'a [u8],
    revision: &'a [u8],
}

impl<'a> DebVersion<'a> {
    fn parse(version: &'a str) -> Option<DebVersion<'a>> {
        let version = version.trim();
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) => (epoch.parse().ok()?, rest),
            None => (0, version),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        let valid = |s: &str| {
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".+-~:".contains(&c))
        };
        if upstream.is_empty() || !valid(upstream) || !valid(revision) {
            return None;
        }
        Some(DebVersion {
            epoch,
            upstream: upstream.as_bytes(),
            revision: revision.as_bytes(),
        })
    }
}

/// The weight of a non-digit character: `~` sorts before everything, even the end of the string, then
/// the end (and digits, which end a non-digit run), then letters, then everything else.
fn deb_char_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn deb_string_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let order = deb_char_order(a.get(i).copied()).cmp(&deb_char_order(b.get(j).copied()));
            if order != Ordering::Equal {
                return order;
            }
            i += 1;
            j += 1;
        }
        let a_end = i + a[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let b_end = j + b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        let order = numeric_cmp(&a[i..a_end], &b[j..b_end]);
        if order != Ordering::Equal {
            return order;
        }
        (i, j) = (a_end, b_end);
    }
    Ordering::Equal
}

/// Two runs of ASCII digits as numbers of any length (an empty run is 0).
fn numeric_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| {
        let zeros = s.iter().take_while(|&&c| c == b'0').count();
        s[zeros..].to_vec()
    };
    let (a, b) = (trim(a), trim(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

// ---- rpm: rpmvercmp on version, then release, after the epoch

fn rpm(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (Evr::parse(a)?, Evr::parse(b)?);
    Some(
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| rpmvercmp(a.version, b.version))
            .then_with(|| rpmvercmp(a.release, b.release)),
    )
}

struct Evr<'a> {
    epoch: u64,
    version: &'a [u8],
    release: &'a [u8],
}

impl<'a> Evr<'a> {
    /// `[epoch:]version[-release]`, as [`super::rpm`] writes versions.
    fn parse(evr: &'a str) -> Option<Evr<'a>> {
        let (epoch, rest) = match evr.split_once(':') {
            Some((epoch, rest)) => (epoch.parse().ok()?, rest),
            None => (0, evr),
        };
        let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Some(Evr {
            epoch,
            version: version.as_bytes(),
            release: release.as_bytes(),
        })
    }
}

fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut a, mut b) = (a, b);
    loop {
        a = &a[a.iter().take_while(|c| separator(c)).count()..];
        b = &b[b.iter().take_while(|c| separator(c)).count()..];
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                (a, b) = (&a[1..], &b[1..]);
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (Some(b'^'), Some(b'^')) => {
                (a, b) = (&a[1..], &b[1..]);
                continue;
            }
            (Some(b'^'), None) => return Ordering::Greater,
            (None, Some(b'^')) => return Ordering::Less,
            (Some(b'^'), _) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            (None, _) | (_, None) => break,
            (Some(first), _) => {
                let numeric = first.is_ascii_digit();
                let run = |s: &[u8]| {
                    s.iter()
                        .take_while(|c| {
                            if numeric {
                                c.is_ascii_digit()
                            } else {
                                c.is_ascii_alphabetic()
                            }
                        })
                        .count()
                };
                let (a_len, b_len) = (run(a), run(b));
                if b_len == 0 {
                    // b continues with the other kind of run: numbers are newer than letters
                    return if numeric {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    };
                }
                let order = if numeric {
                    numeric_cmp(&a[..a_len], &b[..b_len])
                } else {
                    a[..a_len].cmp(&b[..b_len])
                };
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (&a[a_len..], &b[b_len..]);
            }
        }
    }
    // the one with something left is newer
    a.len().min(1).cmp(&b.len().min(1))
}

// ---- apk: apk-tools' token ordering (number{.number}{letter}{_suffix{n}}{~hash}{-rN})

/// Token kinds in the order the grammar allows them; when two versions agree up to the point where one
/// has a later kind of token than the other, that order decides (with a pre-release suffix as an exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ApkToken {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    Revision,
    End,
}

const APK_PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const APK_POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug, Clone, Copy)]
struct ApkPart<'a> {
    token: ApkToken,
    text: &'a [u8],
    /// Digits: the number; suffix: its rank (pre-release suffixes negative, none 0).
    value: i64,
}

impl ApkPart<'_> {
    fn cmp(&self, other: &ApkPart<'_>) -> Ordering {
        let leading_zero = |p: &ApkPart<'_>| p.text.first() == Some(&b'0');
        match self.token {
            ApkToken::Digit if leading_zero(self) || leading_zero(other) => {
                self.text.cmp(other.text)
            }
            ApkToken::InitialDigit
            | ApkToken::Digit
            | ApkToken::SuffixNumber
            | ApkToken::Revision
            | ApkToken::Suffix => self.value.cmp(&other.value),
            ApkToken::Letter | ApkToken::CommitHash | ApkToken::End => self.text.cmp(other.text),
        }
    }
}

/// A version split into its tokens, or `None` when apk would call it invalid.
fn apk_parts(version: &str) -> Option<Vec<ApkPart<'_>>> {
    let mut rest = version.as_bytes();
    let number = |s: &[u8]| {
        s.iter().fold(0i64, |n, c| {
            n.saturating_mul(10).saturating_add(i64::from(c - b'0'))
        })
    };
    let mut parts: Vec<ApkPart<'_>> = Vec::new();
    let first = take_digits(&mut rest);
    if first.is_empty() {
        return None;
    }
    parts.push(ApkPart {
        token: ApkToken::InitialDigit,
        text: first,
        value: number(first),
    });
    while let Some(&c) = rest.first() {
        let previous = parts.last().map_or(ApkToken::InitialDigit, |p| p.token);
        let part = match c {
            b'a'..=b'z' if previous <= ApkToken::Digit => ApkPart {
                token: ApkToken::Letter,
                text: take(&mut rest, 1),
                value: 0,
            },
            b'.' | b'0'..=b'9' => {
                let token = match previous {
                    ApkToken::InitialDigit | ApkToken::Digit => ApkToken::Digit,
                    ApkToken::Suffix if c != b'.' => ApkToken::SuffixNumber,
                    _ => return None,
                };
                if c == b'.' {
                    take(&mut rest, 1);
                }
                let text = take_digits(&mut rest);
                if text.is_empty() {
                    return None;
                }
                ApkPart {
                    token,
                    text,
                    value: number(text),
                }
            }
            b'_' if previous <= ApkToken::SuffixNumber => {
                take(&mut rest, 1);
                let len = rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
                let text = take(&mut rest, len);
                let name = std::str::from_utf8(text).ok()?;
                let rank = if let Some(i) = APK_PRE_SUFFIXES.iter().position(|s| *s == name) {
                    i as i64 - APK_PRE_SUFFIXES.len() as i64
                } else {
                    APK_POST_SUFFIXES.iter().position(|s| *s == name)? as i64 + 1
                };
                ApkPart {
                    token: ApkToken::Suffix,
                    text,
                    value: rank,
                }
            }
            b'~' if previous < ApkToken::CommitHash => {
                take(&mut rest, 1);
                let len = rest.iter().take_while(|c| c.is_ascii_hexdigit()).count();
                let text = take(&mut rest, len);
                if text.is_empty() {
                    return None;
                }
                ApkPart {
                    token: ApkToken::CommitHash,
                    text,
                    value: 0,
                }
            }
            b'-' if previous < ApkToken::Revision && rest.starts_with(b"-r") => {
                take(&mut rest, 2);
                let text = take_digits(&mut rest);
                if text.is_empty() {
                    return None;
                }
                ApkPart {
                    token: ApkToken::Revision,
                    text,
                    value: number(text),
                }
            }
            _ => return None,
        };
        parts.push(part);
    }
    Some(parts)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    head
}

fn take_digits<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    take(rest, n)
}

fn apk(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (apk_parts(a)?, apk_parts(b)?);
    let end = ApkPart {
        token: ApkToken::End,
        text: b"",
        value: 0,
    };
    for k in 0.. {
        let (pa, pb) = (
            a.get(k).copied().unwrap_or(end),
            b.get(k).copied().unwrap_or(end),
        );
        if pa.token != pb.token {
            // a pre-release suffix where the other side has ended or goes on otherwise makes it older
            let pre = |p: &ApkPart<'_>| p.token == ApkToken::Suffix && p.value < 0;
            return Some(if pre(&pa) {
                Ordering::Less
            } else if pre(&pb) {
                Ordering::Greater
            } else {
                pb.token.cmp(&pa.token)
            });
        }
        if pa.token == ApkToken::End {
            break;
        }
        let order = pa.cmp(&pb);
        if order != Ordering::Equal {
            return Some(order);
        }
    }
    Some(Ordering::Equal)
}

// ---- Python (PEP 440) and npm (semver)

fn python(a: &str, b: &str) -> Option<Ordering> {
    let a = pep440_rs::Version::from_str(a.trim()).ok()?;
    let b = pep440_rs::Version::from_str(b.trim()).ok()?;
    Some(a.cmp(&b))
}

fn npm(a: &str, b: &str) -> Option<Ordering> {
    let parse = |v: &str| {
        let v = v.trim();
        semver::Version::parse(v.strip_prefix('v').unwrap_or(v)).ok()
    };
    // cmp_precedence: build metadata does not order versions
    Some(parse(a)?.cmp_precedence(&parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    /// Each list is strictly increasing; every pair is checked both ways.
    fn assert_increasing(ecosystem: Ecosystem, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            for (j, b) in versions.iter().enumerate() {
                assert_eq!(
                    compare_versions(ecosystem, a, b),
                    Some(i.cmp(&j)),
                    "{ecosystem:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn dpkg_orders_tilde_end_letters_then_other_characters() {
        assert_increasing(
            Ecosystem::Dpkg,
            &[
                "1.0~rc1",
                "1.0",
                "1.0a",
                "1.0+b1",
                "1.0.1",
                "1.0.1-1",
                "1.0.1-1+deb12u1",
                "1.0.1-2",
                "1.0.1-10",
                "2.0",
                "1:0.1",
            ],
        );
        assert_eq!(
            compare_versions(Ecosystem::Dpkg, "1.0-0", "1.0"),
            Some(Equal)
        );
        assert_eq!(compare_versions(Ecosystem::Dpkg, "007", "7"), Some(Equal));
        // The testbed's upgrade pair.
        assert_eq!(
            compare_versions(Ecosystem::Dpkg, "6.4-4", "6.5+20250216-2"),
            Some(Less)
        );
        assert_eq!(
            compare_versions(Ecosystem::Dpkg, "1.65.2+deb12u1", "1.69~deb13u1"),
            Some(Less)
        );
        // Longer than any machine integer.
        assert_eq!(
            compare_versions(
                Ecosystem::Dpkg,
                "1.99999999999999999999999",
                "1.100000000000000000000000"
            ),
            Some(Less)
        );
        for bad in ["", "x:1.0", "1.0 beta", "-1"] {
            assert_eq!(
                compare_versions(Ecosystem::Dpkg, bad, "1.0"),
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rpm_orders_tilde_before_and_caret_after_the_release_it_extends() {
        assert_increasing(
            Ecosystem::Rpm,
            &[
                "1.0~rc1-1",
                "1.0-1",
                "1.0^git1-1",
                "1.0a-1",
                "1.0.1-1",
                "1.0.1-1.fc40",
                "1.0.1-2",
                "1:0.5-1",
            ],
        );
        assert_eq!(rpmvercmp(b"1.0", b"1_0"), Equal, "separators never matter");
        assert_eq!(rpmvercmp(b"1.0", b"1.0^"), Less);
        assert_eq!(rpmvercmp(b"2.0a", b"2.0.1"), Less, "numbers beat letters");
        assert_eq!(rpmvercmp(b"1.010", b"1.9"), Greater);
        assert_eq!(rpmvercmp(b"1.0A", b"1.0a"), Less, "letters by byte");
        assert_eq!(rpmvercmp(b"~~", b"~~a"), Less);
        assert_eq!(compare_versions(Ecosystem::Rpm, "x:1-1", "1-1"), None);
    }

    #[test]
    fn apk_orders_suffixes_letters_hashes_and_revisions() {
        assert_increasing(
            Ecosystem::Apk,
            &[
                "1.2.3_alpha-r0",
                "1.2.3_beta2-r0",
                "1.2.3_pre-r0",
                "1.2.3_rc1-r0",
                "1.2.3-r0",
                "1.2.3-r1",
                "1.2.3_cvs-r0",
                "1.2.3_svn-r0",
                "1.2.3_git-r0",
                "1.2.3_hg-r0",
                "1.2.3_p1-r0",
                "1.2.3a-r0",
                "1.2.4-r0",
                "1.10-r0",
            ],
        );
        assert_increasing(Ecosystem::Apk, &["1.0_rc1", "1.0", "1.0-r1", "1.0.1"]);
        assert_increasing(Ecosystem::Apk, &["1.0~abc", "1.0~abd", "1.0~abd-r1"]);
        // A leading zero compares as a string (Gentoo rule); the first number never does.
        assert_eq!(
            compare_versions(Ecosystem::Apk, "1.01", "1.001"),
            Some(Greater)
        );
        assert_eq!(compare_versions(Ecosystem::Apk, "01.1", "1.1"), Some(Equal));
        for bad in ["", "a1", "1.0-1", "1.0_foo", "1..0", "1.0-r", "1.0~"] {
            assert_eq!(
                compare_versions(Ecosystem::Apk, bad, "1.0"),
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn python_follows_pep_440() {
        assert_increasing(
            Ecosystem::Python,
            &[
                "1.0.dev1",
                "1.0a1.dev1",
                "1.0a1",
                "1.0a1.post1",
                "1.0a2",
                "1.0b1",
                "1.0rc1",
                "1.0",
                "1.0+local.1",
                "1.0+local.2",
                "1.0.post1.dev1",
                "1.0.post1",
                "1.1",
                "1!0.1",
            ],
        );
        assert_eq!(
            compare_versions(Ecosystem::Python, "1.0", "1.0.0"),
            Some(Equal)
        );
        assert_eq!(
            compare_versions(Ecosystem::Python, "1.0-ALPHA1", "1.0a1"),
            Some(Equal)
        );
        assert_eq!(
            compare_versions(Ecosystem::Python, "not a version", "1.0"),
            None
        );
    }

    #[test]
    fn npm_follows_semver_precedence() {
        assert_increasing(
            Ecosystem::Npm,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.1",
                "1.10.0",
            ],
        );
        assert_eq!(
            compare_versions(Ecosystem::Npm, "1.0.0+a", "1.0.0+b"),
            Some(Equal)
        );
        assert_eq!(compare_versions(Ecosystem::Npm, "1.0", "1.0.0"), None);
    }
}
