//! Frame-time benchmark of the explorer (`bench/frame-bench.sh` runs it in release).
//!
//! Goals (issue 11): with a tree of 170,000 rows, drawing one frame takes under 10 ms and toggling a
//! filter (key → new listing on screen) at most 16 ms.
//!
//! Builds an [`App`] the way the event loop does (engine events fed into `App::on_event`) from
//! synthetic contexts (images → linux/amd64 → config, layer 0, layer 1) and, in layer 0, `DIRS`
//! directories of `FILES` files each (real `Difference`s with an `EntryMeta` on both sides where the
//! file exists): one in ten added, one in ten removed, three in ten with new content, the rest differing
//! only in mtime (what `1` hides). Every directory is opened. Then it measures, each over `RUNS` runs:
//!
//! * refresh  — `App::refresh` after toggling `--ignore-file-timestamps` (recomputes everything),
//!   and its parts: `Presentation::new`, `Presentation::shown_flags`, `hidden_by_option`,
//!   `Tree::listing`, `Tree::rows`;
//! * frame    — one `terminal.draw` on a 200x50 `TestBackend`, the selection moving down a row
//!   between frames (median of `RUNS`);
//! * key→frame — `App::update(Down)` plus the draw, as the loop does for a key press; the same for
//!   `1` (with its CPU time), then the per-option counts done after that frame, Space, `]`, `n`.
//!
//! Usage: cargo run --release --example frame_bench -- [DIRS FILES RUNS]   (defaults 1700 100 100)
//! Exit status: 0 = both goals met, 1 = not.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use ocidiff::filter::{Filter, IgnoreOption, Presentation, View};
use ocidiff::model::{
    Aspect, Context, ContextId, ContextKind, Delta, DiffId, DiffKind, Difference, EntryFields,
    EntryKind, EntryMeta, Event, Owner, Sides, TarFormat, Timestamp,
};
use ocidiff::oci::{Descriptor, Digest};
use ocidiff::tui::app::{Action, App};
use ocidiff::tui::content::ContentLoader;
use ocidiff::tui::theme::Theme;
use ocidiff::tui::tree::{Status, StatusToggles, Visibility};
use ocidiff::tui::view;

const GOAL: Duration = Duration::from_millis(10);
/// Goal for a filter toggle (key `1`: re-filter, re-list, draw) at 170,000 rows.
const TOGGLE_GOAL: Duration = Duration::from_millis(16);
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

fn descriptor(media_type: &str, seed: &str) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: Digest::sha256_of(seed.as_bytes()),
        size: 1234,
        urls: None,
        annotations: BTreeMap::new(),
        platform: None,
        artifact_type: None,
    }
}

fn context(id: u32, parent: Option<u32>, kind: ContextKind, path: &str, label: &str) -> Event {
    let media = "application/vnd.oci.image.layer.v1.tar+gzip";
    Event::Context(Box::new(Context {
        id: ContextId(id),
        parent: parent.map(ContextId),
        kind,
        path: path.to_owned(),
        label: label.to_owned(),
        descriptors: Sides::new(
            Some(descriptor(media, &format!("{path}-0"))),
            Some(descriptor(media, &format!("{path}-1"))),
        ),
    }))
}

fn meta(index: u32, name: &str, kind: EntryKind, mtime: i64, content: Option<&str>) -> EntryMeta {
    EntryMeta::from(EntryFields {
        index,
        name: name.into(),
        kind,
        link: None,
        size: content.map_or(0, |c| c.len() as u64),
        mode: if kind == EntryKind::Directory {
            0o755
        } else {
            0o644
        },
        owner: Owner::none(),
        mtime: Timestamp::from_secs(mtime),
        extras: None,
        format: TarFormat::Ustar,
        content: content.map(|c| Digest::sha256_of(c.as_bytes())),
        nested: Default::default(),
    })
}

const T0: i64 = 1_714_557_600;
const T1: i64 = 1_714_644_000;

fn mtime_delta() -> Delta {
    Delta::new(Aspect::FileTime, "mtime", json!(T0), json!(T1))
}

/// A file difference in layer 0: status by `n % 10`.
fn file_difference(n: usize, path: &str, index: u32) -> Difference {
    let (input0, input1, deltas) = match n % 10 {
        0 => (
            None,
            Some(meta(index, path, EntryKind::File, T1, Some("new"))),
            vec![Delta::new(
                Aspect::Presence,
                "presence",
                json!(null),
                json!(path),
            )],
        ),
        1 => (
            Some(meta(index, path, EntryKind::File, T0, Some("old"))),
            None,
            vec![Delta::new(
                Aspect::Presence,
                "presence",
                json!(path),
                json!(null),
            )],
        ),
        2..=4 => (
            Some(meta(index, path, EntryKind::File, T0, Some("v1\n"))),
            Some(meta(index, path, EntryKind::File, T1, Some("v2 longer\n"))),
            vec![
                Delta::new(
                    Aspect::Content,
                    "content",
                    json!("sha256:a"),
                    json!("sha256:b"),
                ),
                Delta::new(Aspect::Content, "size", json!(3), json!(10)),
                mtime_delta(),
            ],
        ),
        _ => (
            Some(meta(index, path, EntryKind::File, T0, Some("same\n"))),
            Some(meta(index, path, EntryKind::File, T1, Some("same\n"))),
            vec![mtime_delta()],
        ),
    };
    Difference {
        context: ContextId(3),
        kind: DiffKind::File,
        key: path.into(),
        deltas: deltas.into(),
        entries: Some(Sides::new(input0, input1)).into(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    }
}

fn dir_difference(path: &str, index: u32) -> Difference {
    let name = format!("{path}/");
    Difference {
        context: ContextId(3),
        kind: DiffKind::File,
        key: path.into(),
        deltas: vec![mtime_delta()].into(),
        entries: Some(Sides::new(
            Some(meta(index, &name, EntryKind::Directory, T0, None)),
            Some(meta(index, &name, EntryKind::Directory, T1, None)),
        ))
        .into(),
        origin: Default::default(),
        id: DiffId::default(),
        nested: Default::default(),
        explanations: Default::default(),
    }
}

/// An app holding the whole synthetic comparison, every directory open, first frame not drawn yet.
fn build(dirs: usize, files: usize) -> App {
    let mut app = App::new(
        ["oci:a".into(), "oci:b".into()],
        Filter::default(),
        View::Auto,
    );
    app.on_event(context(0, None, ContextKind::Images, "/", "images"));
    app.on_event(context(
        1,
        Some(0),
        ContextKind::Manifest {
            platform: "linux/amd64".into(),
        },
        "/manifests-0",
        "linux/amd64",
    ));
    app.on_event(context(
        2,
        Some(1),
        ContextKind::Config,
        "/manifests-0/config",
        "config",
    ));
    app.on_event(context(
        3,
        Some(1),
        ContextKind::Layer { index: 0 },
        "/manifests-0/layers-0",
        "layer 0",
    ));
    app.on_event(context(
        4,
        Some(1),
        ContextKind::Layer { index: 1 },
        "/manifests-0/layers-1",
        "layer 1",
    ));
    let mut index = 0u32;
    for d in 0..dirs {
        let dir = format!("usr/share/d{d:04}");
        app.on_event(Event::Difference(dir_difference(&dir, index)));
        index += 1;
        for f in 0..files {
            let path = format!("{dir}/file-{f:03}.txt");
            app.on_event(Event::Difference(file_difference(
                d * files + f,
                &path,
                index,
            )));
            index += 1;
        }
    }
    app.on_event(Event::Finished);
    app.open_everything();
    app
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed(), out)
}

/// This thread's time on a CPU so far (Linux's schedstat, in nanoseconds): on a loaded machine the
/// wall time of a step is mostly waiting for a core, its CPU time is the work itself.
fn cpu_now() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Wall and CPU time of `f`.
fn time_both(f: impl FnOnce()) -> (Duration, Option<Duration>) {
    let cpu = cpu_now();
    let (wall, ()) = time(f);
    (wall, cpu.zip(cpu_now()).map(|(a, b)| b.saturating_sub(a)))
}

struct Stats {
    median: Duration,
    p95: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p95: at(0.95),
        max: *samples.last().unwrap_or(&Duration::ZERO),
    }
}

fn ms(d: Duration) -> String {
    format!("{:9.3}", d.as_secs_f64() * 1e3)
}

fn row(name: &str, s: &Stats) {
    println!("  {name:<34} {} {} {}", ms(s.median), ms(s.p95), ms(s.max));
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or_else(|_| panic!("not a number: {a}")))
        .collect();
    let dirs = args.first().copied().unwrap_or(1700);
    let files = args.get(1).copied().unwrap_or(100);
    let runs = args.get(2).copied().unwrap_or(100).max(1);

    let (build_time, mut app) = time(|| build(dirs, files));
    let entries = app.session.report().differences.len();
    println!(
        "frame-bench: {entries} file differences ({dirs} dirs x {files} files + dirs), {} tree nodes, \
         {} rows open, {WIDTH}x{HEIGHT}, {runs} runs",
        app.session.tree().len(),
        app.tree.rows().len()
    );
    println!(
        "  build (events → app, open all): {:.0} ms",
        build_time.as_secs_f64() * 1e3
    );

    // (a) refresh after a filter toggle, and its parts.
    let mut refresh = Vec::new();
    for _ in 0..runs.min(20) {
        let (t, _) = time(|| app.update(Action::ToggleOption(IgnoreOption::FileTimestamps)));
        refresh.push(t);
    }
    let on = Filter::new(&[IgnoreOption::FileTimestamps], &[]).unwrap_or_default();
    let semantic = Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap_or_default();
    let part = |f: &dyn Fn()| {
        stats(
            (0..runs.min(20))
                .map(|_| time(f).0)
                .collect::<Vec<Duration>>(),
        )
    };
    let report = app.session.report();
    let presentation_new = part(&|| {
        std::hint::black_box(Presentation::new(report, &on, View::Auto));
    });
    let shown_flags = part(&|| {
        std::hint::black_box(Presentation::new(report, &on, View::Auto).shown_flags());
    });
    let hidden_one = part(&|| {
        std::hint::black_box(Presentation::new(report, &on, View::Auto).hidden_by_option());
    });
    let hidden_semantic = part(&|| {
        std::hint::black_box(Presentation::new(report, &semantic, View::Auto).hidden_by_option());
    });
    let hidden: HashSet<ContextId> = HashSet::new();
    let shown = Presentation::new(report, &Filter::default(), View::Auto).shown_flags();
    let statuses: Vec<Status> = report
        .differences
        .iter()
        .zip(&shown)
        .map(|(d, s)| Status::of(d, *s))
        .collect();
    let rules = Visibility {
        statuses: &statuses,
        toggles: StatusToggles::default(),
        hidden_contexts: &hidden,
        path_filter: None,
        explained: &[],
    };
    let tree = app.session.tree();
    let listing_time = part(&|| {
        std::hint::black_box(tree.listing(&rules));
    });
    let listing = tree.listing(&rules);
    let rows = part(&|| {
        std::hint::black_box(tree.rows(&listing, app.tree.expansion()));
    });

    // (b) frames, (c) key → frame.
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend");
    let content = ContentLoader::new(None, ocidiff::engine::layer::ReadLimits::DEFAULT, None);
    let theme = Theme { plain: false };
    let mut draw = |app: &mut App| {
        terminal
            .draw(|frame| {
                view::draw(frame, app, &content, &theme);
            })
            .expect("draw");
    };
    draw(&mut app);
    // Start on the first entry of the first directory, the common case.
    while app
        .selected_node()
        .is_none_or(|n| app.session.tree().path_of(n).is_empty())
        || app.selected_difference().is_none()
    {
        app.update(Action::Down);
    }
    let mut frames = Vec::new();
    let mut keys = Vec::new();
    for _ in 0..runs {
        app.update(Action::Down);
        frames.push(time(|| draw(&mut app)).0);
        keys.push(
            time(|| {
                app.update(Action::Down);
                draw(&mut app);
            })
            .0,
        );
    }
    // A frame with a layer selected (its detail pane summarises the whole layer).
    app.update(Action::Home);
    while app
        .selected_node()
        .is_none_or(|n| app.session.tree().name(app.session.tree().node(n)) != "layer 0")
    {
        app.update(Action::Down);
    }
    let layer_frames: Vec<Duration> = (0..runs.min(20))
        .map(|_| time(|| draw(&mut app)).0)
        .collect();
    // A directory with everything below it (its detail pane counts the whole subtree).
    app.update(Action::Down);
    let top = app.selected_node().map(|n| app.session.tree().path_of(n));
    assert_eq!(top.as_deref(), Some("usr"), "the layer's first row");
    let dir_frames: Vec<Duration> = (0..runs.min(20))
        .map(|_| time(|| draw(&mut app)).0)
        .collect();
    // Jumps: `]` (next difference) and `n` (next search match) from the middle of the tree.
    let middle = app.tree.rows().len() / 2;
    let jumps = runs.min(5);
    let mut next_difference = Vec::new();
    let mut next_match = Vec::new();
    app.bar.set_search(Some("file-05".into()));
    for _ in 0..jumps {
        app.tree.select_row(&app.session, middle);
        next_difference.push(
            time(|| {
                app.update(Action::NextDifference);
                draw(&mut app);
            })
            .0,
        );
        assert!(app.tree.selected_row() > middle, "`]` moved down");
        app.tree.select_row(&app.session, middle);
        next_match.push(
            time(|| {
                app.update(Action::NextMatch);
                draw(&mut app);
            })
            .0,
        );
        assert!(app.tree.selected_row() > middle, "`n` moved down");
    }
    // Space on a directory in the middle: close it, open it again.
    let dir_row = (middle..app.tree.rows().len())
        .find(|&r| app.tree.rows()[r].has_children)
        .expect("a directory below the middle");
    let mut space = Vec::new();
    for _ in 0..runs.min(10) {
        app.tree.select_row(&app.session, dir_row);
        let rows_before = app.tree.rows().len();
        space.push(
            time(|| {
                app.update(Action::ToggleExpand);
                draw(&mut app);
            })
            .0,
        );
        assert!(
            app.tree.rows().len() < rows_before,
            "Space closed the directory"
        );
        app.update(Action::ToggleExpand);
        assert_eq!(app.tree.rows().len(), rows_before, "Space opened it again");
    }
    // And the key press that re-filters: toggle + refresh + draw (the new listing on screen); then,
    // as the event loop does after that frame, what each option hides + the next frame.
    let mut toggle_frames = Vec::new();
    let mut toggle_cpu = Vec::new();
    let mut count_frames = Vec::new();
    for _ in 0..runs.min(20) {
        let (wall, cpu) = time_both(|| {
            app.update(Action::ToggleOption(IgnoreOption::FileTimestamps));
            draw(&mut app);
        });
        toggle_frames.push(wall);
        toggle_cpu.extend(cpu);
        count_frames.push(
            time(|| {
                assert!(app.refresh_counts(), "the counts waited for the frame");
                draw(&mut app);
            })
            .0,
        );
    }

    println!("  {:<34} {:>9} {:>9} {:>9}", "(ms)", "median", "p95", "max");
    row("(a) refresh after toggling `1`", &stats(refresh));
    row("    Presentation::new", &presentation_new);
    row("    Presentation::shown_flags", &shown_flags);
    row("    hidden_by_option (1 option)", &hidden_one);
    row("    hidden_by_option (--semantic)", &hidden_semantic);
    row("    Tree::listing", &listing_time);
    row("    Tree::rows (all open)", &rows);
    let frame = stats(frames);
    row("(b) frame, entry selected", &frame);
    row("    frame, layer selected", &stats(layer_frames));
    row("    frame, usr/ selected (all below)", &stats(dir_frames));
    row("(c) key Down → frame", &stats(keys));
    let toggle = stats(toggle_frames);
    row("    key `1` → refresh → frame", &toggle);
    let toggle_cpu = (!toggle_cpu.is_empty()).then(|| stats(toggle_cpu));
    if let Some(cpu) = &toggle_cpu {
        row("      its CPU time (load aside)", cpu);
    }
    row("      then option counts → frame", &stats(count_frames));
    row("    key Space (close a dir) → frame", &stats(space));
    row(
        "    key `]` (from mid-tree) → frame",
        &stats(next_difference),
    );
    row("    key `n` (from mid-tree) → frame", &stats(next_match));
    let verdict = |what: &str, measured: Duration, goal: Duration| {
        let pass = measured <= goal;
        println!(
            "{}  {what} {:.3} ms (goal ≤ {} ms)",
            if pass { "PASS" } else { "FAIL" },
            measured.as_secs_f64() * 1e3,
            goal.as_millis()
        );
        pass
    };
    let frame_ok = verdict("median frame", frame.median, GOAL);
    let toggle_ok = verdict("median filter toggle", toggle.median, TOGGLE_GOAL);
    if let Some(cpu) = &toggle_cpu {
        println!(
            "      (its CPU time {:.3} ms, load average {})",
            cpu.median.as_secs_f64() * 1e3,
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !(frame_ok && toggle_ok) {
        std::process::exit(1);
    }
}
