//! The scale benchmark's generators and its explorer driver (`bench/scale-bench.sh` runs it in
//! release).
//!
//! * `scale_bench host DIR GIB [TREE]` writes two OCI layouts DIR/a and DIR/b of one gzip layer each:
//!   the files, directories and symlinks under TREE (default `/usr`) repeated (`r000/usr/…`,
//!   `r001/usr/…`) until GIB GiB of file data. Side b has every mtime a day later, one file in 1000
//!   with a line appended, one entry in 20,000 left out and one
//!   file of its own per 20,000 entries.
//! * `scale_bench small DIR ENTRIES` writes DIR/a and DIR/b with ENTRIES small files (64 to 575 bytes,
//!   1000 to a directory); side b has every mtime a day later and one file in 1000 changed.
//!
//! * `scale_bench history DIR STEPS` writes DIR/a and DIR/b of one small layer each, whose configs
//!   have STEPS history steps (about 90 bytes each); side b has every step's `created` a year later.
//!
//! All stream (a file at a time; nothing of a layer is held in memory) and reuse a layout that
//! already has its `index.json`.
//!
//! * `scale_bench explorer IMAGE0 IMAGE1` loads the comparison as the explorer does (both views,
//!   unchanged entries, provisional rows, the content spool; every engine event fed to its [`App`],
//!   refreshed as the frames would be), draws one frame on a 200x50 test backend after the scan and
//!   prints the wall time and the peak RSS of the process (`VmHWM`) on one line:
//!   `explorer: N differences, S s, peak RSS M MiB`.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use ocidiff::engine::spool::ContentSpool;
use ocidiff::engine::{self, MergedView, Options};
use ocidiff::explain::Catalogue;
use ocidiff::filter::{Filter, View};
use ocidiff::model::Sides;
use ocidiff::source::open_image;
use ocidiff::tui::app::App;
use ocidiff::tui::content::ContentLoader;
use ocidiff::tui::theme::Theme;
use ocidiff::tui::view;

#[path = "common/layout.rs"]
mod layout;

use layout::LayerTar;

/// Side b's mtimes: a day later.
const MTIME_SHIFT: u64 = 86_400;
/// Side b changes one file in this many.
const EVERY_NTH_CHANGED: u64 = 1000;
/// Side b leaves out one entry in this many (the host pair).
const EVERY_NTH_REMOVED: u64 = 20_000;
/// Host files larger than this are left out (one file is held in memory when side b changes it).
const MAX_HOST_FILE: u64 = 64 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["host", dir, gib, rest @ ..] if rest.len() <= 1 => {
            let tree = rest.first().copied().unwrap_or("/usr");
            number(gib).and_then(|gib| host_pair(Path::new(dir), gib, Path::new(tree)))
        }
        ["small", dir, entries] => {
            number(entries).and_then(|entries| small_pair(Path::new(dir), entries))
        }
        ["history", dir, steps] => {
            number(steps).and_then(|steps| history_pair(Path::new(dir), steps))
        }
        ["explorer", image0, image1] => explorer(image0, image1),
        _ => Err(io::Error::other(
            "usage: scale_bench host DIR GIB [TREE] | small DIR ENTRIES | history DIR STEPS \
             | explorer IMAGE0 IMAGE1",
        )),
    };
    if let Err(error) = result {
        eprintln!("scale_bench: {error}");
        std::process::exit(2);
    }
}

fn number(text: &str) -> io::Result<u64> {
    text.parse()
        .map_err(|_| io::Error::other(format!("not a number: {text:?}")))
}

/// Writes DIR/a and DIR/b with `write(tar, side)`, each unless it is there already.
fn pair(
    dir: &Path,
    what: &str,
    write: impl Fn(&mut LayerTar, u8) -> io::Result<()>,
) -> io::Result<()> {
    pair_with_history(dir, what, |_| vec![json!({"created_by": what})], write)
}

/// [`pair`] with each side's config history from `history(side)`.
fn pair_with_history(
    dir: &Path,
    what: &str,
    history: impl Fn(u8) -> Vec<serde_json::Value>,
    write: impl Fn(&mut LayerTar, u8) -> io::Result<()>,
) -> io::Result<()> {
    for (name, side) in [("a", 0u8), ("b", 1u8)] {
        let layout = dir.join(name);
        if layout.join("index.json").exists() {
            println!("{} exists: reused", layout.display());
            continue;
        }
        let started = Instant::now();
        layout::write_layout(&layout, history(side), |tar| write(tar, side))?;
        println!(
            "{}: {what}, written in {:.1} s",
            layout.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// What a host tree holds, in walk order (directories before their contents, names sorted).
enum HostEntry {
    Directory(PathBuf),
    File(PathBuf, u64),
    Symlink(PathBuf, PathBuf),
}

fn walk(path: &Path, out: &mut Vec<HostEntry>) {
    let Ok(read) = fs::read_dir(path) else { return };
    let mut children: Vec<PathBuf> = read.filter_map(|e| Some(e.ok()?.path())).collect();
    children.sort();
    for child in children {
        let Ok(meta) = fs::symlink_metadata(&child) else {
            continue;
        };
        if meta.is_dir() {
            out.push(HostEntry::Directory(child.clone()));
            walk(&child, out);
        } else if meta.is_symlink() {
            if let Ok(target) = fs::read_link(&child) {
                out.push(HostEntry::Symlink(child, target));
            }
        } else if meta.is_file() && meta.len() <= MAX_HOST_FILE && fs::File::open(&child).is_ok() {
            out.push(HostEntry::File(child, meta.len()));
        }
    }
}

fn host_pair(dir: &Path, gib: u64, tree: &Path) -> io::Result<()> {
    let mut entries = Vec::new();
    walk(tree, &mut entries);
    let bytes: u64 = (entries.iter())
        .map(|e| match e {
            HostEntry::File(_, size) => *size,
            _ => 0,
        })
        .sum();
    if bytes == 0 {
        return Err(io::Error::other(format!(
            "{}: no readable files",
            tree.display()
        )));
    }
    let budget = gib << 30;
    let what = format!(
        "{} GiB of files from {} ({} entries, {} MiB of files, repeated)",
        gib,
        tree.display(),
        entries.len(),
        bytes >> 20
    );
    pair(dir, &what, |tar, side| {
        let (mut n, mut written) = (0u64, 0u64);
        let mut content = Vec::new();
        for round in 0.. {
            for entry in &entries {
                if written >= budget {
                    return Ok(());
                }
                n += 1;
                if let HostEntry::File(_, size) = entry {
                    written += size;
                }
                if side == 1 && n.is_multiple_of(EVERY_NTH_REMOVED) {
                    continue;
                }
                host_entry(tar, round, entry, side, n, &mut content)?;
                if side == 1 && n % EVERY_NTH_REMOVED == EVERY_NTH_REMOVED / 2 {
                    let added = format!("r{round:03}/added-in-b-{n}.txt");
                    append_file(tar, &added, b"only in b\n", 1_700_000_000, 0o644)?;
                }
            }
        }
        Ok(())
    })
}

fn host_entry(
    tar: &mut LayerTar,
    round: u64,
    entry: &HostEntry,
    side: u8,
    n: u64,
    content: &mut Vec<u8>,
) -> io::Result<()> {
    let path = match entry {
        HostEntry::Directory(p) | HostEntry::File(p, _) | HostEntry::Symlink(p, _) => p,
    };
    let meta = fs::symlink_metadata(path)?;
    let name = format!("r{round:03}{}", path.display());
    let mtime = meta.mtime().max(0) as u64 + u64::from(side) * MTIME_SHIFT;
    let mode = meta.permissions().mode() & 0o7777;
    let mut header = tar::Header::new_gnu();
    header.set_mtime(mtime);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    match entry {
        HostEntry::Directory(_) => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            tar.append_data(&mut header, format!("{name}/"), io::empty())
        }
        HostEntry::Symlink(_, target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, &name, target)
        }
        HostEntry::File(..) => {
            content.clear();
            // A file that cannot be read now is written empty on both sides alike.
            if let Ok(mut file) = fs::File::open(path) {
                Read::by_ref(&mut file)
                    .take(MAX_HOST_FILE)
                    .read_to_end(content)?;
            }
            if side == 1 && n.is_multiple_of(EVERY_NTH_CHANGED) {
                content.extend_from_slice(b"\nrebuilt\n");
            }
            append_file(tar, &name, content, mtime, mode)
        }
    }
}

fn append_file(
    tar: &mut LayerTar,
    name: &str,
    data: &[u8],
    mtime: u64,
    mode: u32,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mtime(mtime);
    header.set_mode(mode);
    tar.append_data(&mut header, name, data)
}

fn small_pair(dir: &Path, entries: u64) -> io::Result<()> {
    let what = format!("{entries} small files");
    pair(dir, &what, |tar, side| {
        let mtime = 1_700_000_000 + u64::from(side) * MTIME_SHIFT;
        let mut content = Vec::new();
        for i in 0..entries {
            if i.is_multiple_of(1000) {
                let mut header = tar::Header::new_ustar();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_mtime(mtime);
                header.set_mode(0o755);
                let name = format!("data/d{:04}/", i / 1000);
                tar.append_data(&mut header, name, io::empty())?;
            }
            content.clear();
            let changed = side == 1 && i.is_multiple_of(EVERY_NTH_CHANGED);
            writeln!(
                content,
                "file {i} {}",
                if changed { "rebuilt" } else { "original" }
            )?;
            content.resize(64 + (i as usize * 7919) % 512, b'.');
            let name = format!("data/d{:04}/f{i:07}.txt", i / 1000);
            append_file(tar, &name, &content, mtime, 0o644)?;
        }
        Ok(())
    })
}

/// A config of `steps` history steps on one small layer; side b's steps were all created a year later.
fn history_pair(dir: &Path, steps: u64) -> io::Result<()> {
    let what = format!("{steps} history steps");
    let history = |side: u8| {
        let created = if side == 0 {
            "2024-01-01T00:00:00Z"
        } else {
            "2025-01-01T00:00:00Z"
        };
        (0..steps)
            .map(|i| {
                json!({
                    "created": created,
                    "created_by": format!("RUN step {i}"),
                    "empty_layer": i != 0,
                })
            })
            .collect()
    };
    pair_with_history(dir, &what, history, |tar, _| {
        append_file(tar, "etc/hostname", b"scale\n", 1_700_000_000, 0o644)
    })
}

/// Peak resident set size of this process, from `/proc/self/status`.
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status.lines())
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn explorer(image0: &str, image1: &str) -> io::Result<()> {
    let open = |spec: &str| open_image(spec).map_err(|e| io::Error::other(format!("{spec}: {e}")));
    let images = Arc::new(Sides::new(open(image0)?, open(image1)?));
    let started = Instant::now();
    // As `ocidiff-tui IMAGE0 IMAGE1` sets it up (src/cli/explore.rs, src/tui/mod.rs).
    // 4 GiB (`--content-cache`'s default), files up to 8 MiB (what the content pane reads).
    let spool = Arc::new(ContentSpool::new(4 << 30, 8 << 20));
    let options = Options {
        provisional: true,
        merged: MergedView::Always,
        include_unchanged: true,
        catalogue: Some(Arc::new(Catalogue::builtin())),
        content_spool: Some(Arc::clone(&spool)),
        ..Options::default()
    };
    let events = engine::spawn(Arc::clone(&images), options, engine::Backlog::Unbounded);
    let specs = [image0.to_owned(), image1.to_owned()];
    let mut app = App::new(specs, Filter::default(), View::Auto);
    let mut last_refresh = Instant::now();
    for event in events {
        app.on_event(event);
        // The event loop refreshes at most once a frame while events come.
        if last_refresh.elapsed() >= Duration::from_millis(16) {
            app.refresh();
            last_refresh = Instant::now();
        }
    }
    let limits = Options::default().read_limits;
    let content = ContentLoader::new(Some(Arc::clone(&images)), limits, Some(spool));
    let mut terminal =
        Terminal::new(TestBackend::new(200, 50)).unwrap_or_else(|never| match never {});
    let theme = Theme::from_env();
    for _ in 0..2 {
        app.refresh();
        let drawn = terminal.draw(|frame| {
            view::draw(frame, &mut app, &content, &theme);
        });
        drawn.unwrap_or_else(|never| match never {});
        app.refresh_counts();
    }
    let report = app.session.report();
    if !report.errors.is_empty() {
        return Err(io::Error::other(format!(
            "the comparison failed: {:?}",
            report.errors
        )));
    }
    println!(
        "explorer: {} differences, {:.2} s, peak RSS {} MiB",
        report.differences.len(),
        started.elapsed().as_secs_f64(),
        peak_rss_kib() >> 10
    );
    Ok(())
}
