//! Speed of the text-change classifier (`bench/noise-bench.sh` runs it in release).
//!
//! Goal (issue): a 1 MB log is classified in milliseconds. Measures, each over `RUNS` runs (median and
//! max), `TextChange::new(..).classify(..)` on:
//! * a synthetic dpkg.log pair of about 1 MB where every line's timestamp differs (the worst case for
//!   "timestamps only": every line is cut into tokens on both sides);
//! * a synthetic bootstrap.log pair of about 1 MB where every line has a timestamp and a build path;
//! * the same dpkg.log pair with one version changed in its last line (classified "other" only at the
//!   end, so the whole text is still read);
//! * the testbed's real var/log/{dpkg,bootstrap}.log pair (deb-a vs deb-b), when present.
//!
//! Prints wall-clock median and max, and the mean CPU time per run (from /proc/self/stat: on a shared,
//! loaded machine the wall clock also counts waiting for a core).
//!
//! Usage: cargo run --release --example noise_bench -- [RUNS]   (default 50)
//! Exit status: 0 = every median under 10 ms, 1 = over.

use std::time::{Duration, Instant};

use ocidiff::explain::{ChangeKind, Recognise, TextChange};

const GOAL: Duration = Duration::from_millis(10);
const TARGET_BYTES: usize = 1 << 20;

fn dpkg_log(minute: u32) -> String {
    let mut out = String::with_capacity(TARGET_BYTES + 200);
    let mut n = 0u32;
    while out.len() < TARGET_BYTES {
        let (h, m, s) = ((n / 3600) % 24, (minute + n / 60) % 60, n % 60);
        out.push_str(&format!(
            "2026-12-02 {h:02}:{m:02}:{s:02} status half-configured libfoo{n}:amd64 1.2.{n}-1+deb12u1\n"
        ));
        n += 1;
    }
    out
}

fn bootstrap_log(side: &str, minute: u32) -> String {
    let mut out = String::with_capacity(TARGET_BYTES + 300);
    let mut n = 0u32;
    while out.len() < TARGET_BYTES {
        out.push_str(&format!(
            "2026-12-02 00:{:02}:{:02} URL:http://deb.debian.org/debian/pool/main/p/pkg{n}/pkg{n}_1.0_amd64.deb [1234/1234] -> \"/var/tmp/testbed/rootfs/{side}.tmp//var/cache/apt/archives/partial/pkg{n}_1.0_amd64.deb\" [1]\n",
            (minute + n / 60) % 60,
            n % 60
        ));
        n += 1;
    }
    out
}

/// This process's CPU time (user + system) from /proc/self/stat, in clock ticks of 10 ms: on a shared,
/// loaded machine, wall-clock times include waiting for a core, CPU time does not.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

struct Measured {
    median: Duration,
    max: Duration,
    /// Mean CPU time per run, when /proc is there.
    cpu: Option<Duration>,
    kind: ChangeKind,
}

fn measure(old: &[u8], new: &[u8], runs: usize) -> Measured {
    let mut times = Vec::with_capacity(runs);
    let mut kind = ChangeKind::Unchanged;
    let cpu_before = cpu_ticks();
    for _ in 0..runs {
        let start = Instant::now();
        kind = TextChange::new(old, new)
            .classify(Recognise::default())
            .kind;
        times.push(start.elapsed());
    }
    let cpu = cpu_before
        .zip(cpu_ticks())
        .map(|(before, after)| Duration::from_millis((after - before) * 10) / runs as u32);
    times.sort();
    Measured {
        median: times[runs / 2],
        max: times[runs - 1],
        cpu,
        kind,
    }
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(50);
    let (dpkg_a, dpkg_b) = (dpkg_log(26), dpkg_log(27));
    let mut dpkg_changed = dpkg_b.clone();
    dpkg_changed.truncate(dpkg_changed.trim_end().rfind('1').unwrap_or(0));
    dpkg_changed.push_str("2\n");
    let (boot_a, boot_b) = (bootstrap_log("a", 26), bootstrap_log("b", 27));
    let mut cases: Vec<(String, Vec<u8>, Vec<u8>)> = vec![
        (
            "dpkg.log, 1 MB, all timestamps".into(),
            dpkg_a.clone().into(),
            dpkg_b.into(),
        ),
        (
            "bootstrap.log, 1 MB, timestamps + build paths".into(),
            boot_a.into(),
            boot_b.into(),
        ),
        (
            "dpkg.log, 1 MB, other at the end".into(),
            dpkg_a.into(),
            dpkg_changed.into(),
        ),
    ];
    for name in ["dpkg.log", "bootstrap.log"] {
        let read =
            |side: &str| std::fs::read(format!("/var/tmp/testbed/rootfs/{side}/var/log/{name}"));
        if let (Ok(a), Ok(b)) = (read("a"), read("b")) {
            cases.push((format!("testbed {name} ({} bytes)", a.len()), a, b));
        }
    }
    let mut pass = true;
    println!(
        "{:<48} {:>10} {:>10} {:>12}  kind",
        "case", "median ms", "max ms", "cpu ms/run"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (name, old, new) in &cases {
        let measured = measure(old, new, runs);
        pass &= measured.median < GOAL;
        let cpu = measured
            .cpu
            .map_or("-".to_owned(), |c| format!("{:.2}", ms(c)));
        println!(
            "{name:<48} {:>10.3} {:>10.3} {cpu:>12}  {}",
            ms(measured.median),
            ms(measured.max),
            measured.kind.name()
        );
    }
    println!(
        "goal: median under {} ms: {}",
        GOAL.as_millis(),
        if pass { "PASS" } else { "FAIL" }
    );
    std::process::exit(if pass { 0 } else { 1 });
}
