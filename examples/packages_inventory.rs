//! Times the packages module on unpacked image roots (the testbed's are in /var/tmp/testbed/rootfs):
//! reading one image's databases into an inventory, and comparing two.
//!
//! Usage: cargo run --release --example packages_inventory -- ROOT_A [ROOT_B]
//! Prints the packages and notes found, then the median of 20 runs of `read_inventory` (and of
//! `compare` with ROOT_B). The trees are read from disk once, before timing.

#[path = "../tests/packages/rootfs.rs"]
mod rootfs;

use std::path::Path;
use std::time::{Duration, Instant};

use ocidiff::packages::{DatabaseFiles, compare, read_inventory};

const RUNS: usize = 20;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(mut work: impl FnMut()) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .collect(),
    )
}

fn load(root: &str) -> DatabaseFiles {
    rootfs::database_files(&rootfs::entries(Path::new(root)))
}

fn main() {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = roots.first() else {
        eprintln!("usage: packages_inventory ROOT_A [ROOT_B]");
        std::process::exit(2);
    };
    let a = load(first);
    let inventory = read_inventory(&a);
    let files: usize = inventory.packages().iter().map(|p| p.files.len()).sum();
    println!(
        "{first}: {} packages, {files} owned paths, {} notes",
        inventory.packages().len(),
        inventory.notes().len()
    );
    for note in inventory.notes() {
        println!("  note: {note}");
    }
    println!(
        "read_inventory: {:?} (median of {RUNS})",
        time(|| drop(read_inventory(&a)))
    );
    if let Some(second) = roots.get(1) {
        let b = load(second);
        let other = read_inventory(&b);
        for change in compare(&inventory, &other) {
            println!("  {change}");
        }
        println!(
            "compare: {:?} (median of {RUNS})",
            time(|| drop(compare(&inventory, &other)))
        );
    }
}
