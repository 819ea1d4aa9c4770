//! First-difference latency (`bench/first-difference-bench.sh` runs it in release): compares two
//! images as the explorer does (differences reported while a layer is read,
//! `Options::provisional`) and prints when the first file difference arrived, when the first
//! settled one did, and when the comparison finished, in seconds from the start (inputs opened).
//!
//! Usage: cargo run --release --example first_difference -- IMAGE0 IMAGE1 [--settled-only]
//! (`--settled-only` turns provisional differences off: the engine as it was before them).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};

use ocidiff::engine::{self, Options};
use ocidiff::model::{DiffKind, Event, Sides};
use ocidiff::source::open_image;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settled_only = args.iter().any(|a| a == "--settled-only");
    let specs: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [spec0, spec1] = specs.as_slice() else {
        bail!("usage: first_difference IMAGE0 IMAGE1 [--settled-only]");
    };
    let images = Sides::new(open_image(spec0)?, open_image(spec1)?);
    let options = Options {
        provisional: !settled_only,
        include_unchanged: true,
        ..Options::default()
    };
    let started = Instant::now();
    let (mut first, mut first_settled, mut errors) = (None, None, 0);
    for event in engine::spawn(Arc::new(images), options, engine::Backlog::Bounded(64)) {
        let at = started.elapsed().as_secs_f64();
        match &event {
            Event::Provisional(d) if d.kind == DiffKind::File => {
                first.get_or_insert(at);
            }
            Event::Difference(d) if d.kind == DiffKind::File => {
                first.get_or_insert(at);
                first_settled.get_or_insert(at);
            }
            Event::Error { message, .. } => {
                eprintln!("error: {message}");
                errors += 1;
            }
            Event::Finished => {
                let show = |t: Option<f64>| t.map_or("none".into(), |t| format!("{t:.3} s"));
                println!(
                    "first file difference {}  first settled {}  finished {at:.3} s",
                    show(first),
                    show(first_settled)
                );
            }
            _ => {}
        }
    }
    if errors > 0 {
        bail!("{errors} errors");
    }
    Ok(())
}
