//! Content-latency benchmark of the explorer (`bench/content-bench.sh` runs it in release).
//!
//! Goal (issue 11 point 5): after the scan, the content of any listed file is ready (both sides read,
//! diffed, its hunks rendered) in at most 150 ms.
//!
//! `content_bench compare IMAGE0 IMAGE1 [SAMPLES] [BEFORE_SAMPLES]` scans the pair as the explorer
//! does (both views, unchanged entries, a content spool), then, for SAMPLES file differences spread
//! over the report, times the explorer's own [`ContentLoader`] from `want` (the row is selected) to
//! the rendered lines of its hunks:
//! * after  — with the spool the scan filled (what the explorer does now);
//! * before — without it: the file's layer is decompressed and verified again up to the end (what
//!   the explorer did before, and still does beyond the spool's budget); BEFORE_SAMPLES of them.
//!
//! It also times the scan with and without the spool (what keeping contents aside costs).
//!
//! `content_bench generate DIR GIB` writes two OCI layouts DIR/big-a and DIR/big-b with one gzip
//! layer each of GIB GiB uncompressed (32 KiB text files; one in 997 differs), streaming: nothing
//! big is held in memory.
//!
//! Exit status: 0 = p95 after ≤ 150 ms, 1 = not, 2 = error.

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocidiff::engine::spool::ContentSpool;
use ocidiff::engine::{self, MergedView, Options};
use ocidiff::model::{DiffKind, EntryKind, Report, Sides};
use ocidiff::source::{Image, open_image};
use ocidiff::tui::content::ContentLoader;

#[path = "common/layout.rs"]
mod layout;

const GOAL: Duration = Duration::from_millis(150);
const FILE_SIZE: usize = 32 << 10;
const EVERY_NTH_DIFFERS: u64 = 997;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("generate") if args.len() == 3 => match generate(Path::new(&args[1]), &args[2]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("content_bench: {e}");
                2
            }
        },
        Some("compare") if args.len() >= 3 => {
            let number = |i: usize, default: usize| {
                args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
            };
            compare(&args[1], &args[2], number(3, 40), number(4, 5))
        }
        _ => {
            eprintln!(
                "usage: content_bench compare IMAGE0 IMAGE1 [SAMPLES BEFORE_SAMPLES] | generate DIR GIB"
            );
            2
        }
    };
    std::process::exit(code);
}

fn open(spec0: &str, spec1: &str) -> Arc<Sides<Image>> {
    let open = |spec: &str| {
        open_image(spec).unwrap_or_else(|e| {
            eprintln!("content_bench: {spec}: {e}");
            std::process::exit(2)
        })
    };
    Arc::new(Sides::new(open(spec0), open(spec1)))
}

/// Runs the engine as the explorer does; the report and the scan's wall time.
fn scan(images: &Sides<Image>, spool: Option<Arc<ContentSpool>>) -> (Report, Duration) {
    let options = Options {
        merged: MergedView::Always,
        include_unchanged: true,
        content_spool: spool,
        ..Options::default()
    };
    let report = Mutex::new(Report::default());
    let sink = |event| {
        if let Ok(mut r) = report.lock() {
            r.apply(event);
        }
    };
    let start = Instant::now();
    engine::compare(images, &options, &sink);
    let took = start.elapsed();
    let report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    (report, took)
}

/// File differences whose content the explorer shows (a regular file of at most 8 MiB on both
/// sides), `samples` of them spread evenly over the report.
fn sampled(report: &Report, samples: usize) -> Vec<usize> {
    let shown: Vec<usize> = (0..report.differences.len())
        .filter(|&i| {
            let d = &report.differences[i];
            d.kind == DiffKind::File
                && d.aspects().iter().any(|a| a.name() == "content")
                && d.entries.as_ref().is_some_and(|e| {
                    e.iter().all(|(_, m)| {
                        m.as_ref()
                            .is_some_and(|m| m.kind() == EntryKind::File && m.size() <= 8 << 20)
                    })
                })
        })
        .collect();
    if shown.len() <= samples {
        return shown;
    }
    (0..samples)
        .map(|k| shown[k * (shown.len() - 1) / (samples - 1).max(1)])
        .collect()
}

/// From `want` to the rendered hunks, for each difference; the times, and how many loads read the
/// layer again (the pane's first line says so).
fn latencies(
    loader: &mut ContentLoader,
    report: &Report,
    indexes: &[usize],
) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut read_again = 0;
    for &index in indexes {
        let path = report.differences[index].key().to_owned();
        let start = Instant::now();
        loader.want(report, index);
        let lines = loop {
            loader.poll();
            let lines = loader.shared_lines(index, &path, false, 160, true, false, 0, false);
            let loading = lines.len() == 1
                && lines[0]
                    .spans
                    .iter()
                    .any(|s| s.content.contains("loading content"));
            if !lines.is_empty() && !loading {
                break lines;
            }
            if start.elapsed() > Duration::from_secs(120) {
                eprintln!("content_bench: {path}: no content after 120 s");
                std::process::exit(2);
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        times.push(start.elapsed());
        if std::env::var_os("CONTENT_BENCH_VERBOSE").is_some() {
            let size = report.differences[index]
                .entries
                .as_ref()
                .and_then(|e| e.input1.as_ref())
                .map_or(0, |m| m.size());
            eprintln!("  {:>8} ms  {size:>9} B  {path}", ms(start.elapsed()));
        }
        let first: String = lines[0].spans.iter().map(|s| s.content.as_ref()).collect();
        read_again += usize::from(first.contains("read again"));
    }
    (times, read_again)
}

fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn compare(spec0: &str, spec1: &str, samples: usize, before_samples: usize) -> i32 {
    println!("==> {spec0} vs {spec1}");
    let images = open(spec0, spec1);
    let (_, plain_scan) = scan(&images, None);
    let spool = Arc::new(ContentSpool::new(4 << 30, 8 << 20));
    let (report, spooled_scan) = scan(&images, Some(Arc::clone(&spool)));
    if !report.errors.is_empty() {
        eprintln!("content_bench: the comparison failed: {:?}", report.errors);
        return 2;
    }
    println!(
        "scan: {:.2} s without the spool, {:.2} s with it ({} MiB kept)",
        plain_scan.as_secs_f64(),
        spooled_scan.as_secs_f64(),
        spool.used() >> 20
    );
    let indexes = sampled(&report, samples);
    if indexes.is_empty() {
        eprintln!("content_bench: no file difference with content to show");
        return 2;
    }
    let limits = Options::default().read_limits;
    let mut after = ContentLoader::new(Some(Arc::clone(&images)), limits, Some(spool));
    let (after_times, after_again) = latencies(&mut after, &report, &indexes);
    let before_indexes = sampled(&report, before_samples.min(indexes.len()));
    let mut before = ContentLoader::new(Some(Arc::clone(&images)), limits, None);
    let (before_times, before_again) = latencies(&mut before, &report, &before_indexes);
    println!(
        "select → hunks ready (ms)  p50      p95      max     files  read again\n  before (re-read)  {:>8} {:>8} {:>8} {:>6} {:>6}\n  after (spool)     {:>8} {:>8} {:>8} {:>6} {:>6}",
        ms(percentile(&before_times, 50.0)),
        ms(percentile(&before_times, 95.0)),
        ms(percentile(&before_times, 100.0)),
        before_times.len(),
        before_again,
        ms(percentile(&after_times, 50.0)),
        ms(percentile(&after_times, 95.0)),
        ms(percentile(&after_times, 100.0)),
        after_times.len(),
        after_again,
    );
    let p95 = percentile(&after_times, 95.0);
    let pass = p95 <= GOAL;
    println!(
        "goal: p95 after ≤ {} ms: {}",
        GOAL.as_millis(),
        if pass { "PASS" } else { "FAIL" }
    );
    i32::from(!pass)
}

fn generate(dir: &Path, gib: &str) -> io::Result<()> {
    let gib: u64 = gib
        .parse()
        .map_err(|_| io::Error::other(format!("GIB: not a number: {gib:?}")))?;
    let files = (gib << 30) / FILE_SIZE as u64;
    for (name, variant) in [("big-a", 0u8), ("big-b", 1u8)] {
        let layout = dir.join(name);
        if layout.join("index.json").exists() {
            println!("{} exists: reused", layout.display());
            continue;
        }
        let started = Instant::now();
        write_files(&layout, files, variant)?;
        println!(
            "{}: {files} files, {gib} GiB uncompressed, in {:.1} s",
            layout.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// File `i`'s content: numbered text lines; in variant 1, one file in [`EVERY_NTH_DIFFERS`] has a
/// line changed.
fn content(i: u64, variant: u8, buffer: &mut Vec<u8>) {
    buffer.clear();
    let mut line = 0;
    while buffer.len() < FILE_SIZE {
        let changed = variant == 1 && i.is_multiple_of(EVERY_NTH_DIFFERS) && line == 200;
        let word = if changed { "rebuilt" } else { "original" };
        let _ = writeln!(
            buffer,
            "file {i:08} line {line:05}: {word} setting = {}",
            (i * 31 + line) % 1000
        );
        line += 1;
    }
    buffer.truncate(FILE_SIZE);
}

/// One side of the pair: `files` text files, variant 0 or 1.
fn write_files(layout: &Path, files: u64, variant: u8) -> io::Result<()> {
    layout::write_layout(
        layout,
        vec![serde_json::json!({"created_by": "content_bench generate"})],
        |tar| {
            let mut buffer = Vec::with_capacity(FILE_SIZE + 128);
            for i in 0..files {
                content(i, variant, &mut buffer);
                let mut header = tar::Header::new_ustar();
                header.set_size(buffer.len() as u64);
                header.set_mode(0o644);
                header.set_mtime(1_700_000_000);
                header.set_entry_type(tar::EntryType::Regular);
                let path = format!("data/d{:04}/f{i:08}.conf", i / 1000);
                tar.append_data(&mut header, path, buffer.as_slice())?;
            }
            Ok(())
        },
    )
}
