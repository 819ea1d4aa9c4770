//! `prune-cache`: removes the registry blobs no run has used for a while, and says what it freed.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use ocidiff::source::CacheSetting;
use ocidiff::source::registry::prune;

const DAY: Duration = Duration::from_secs(86_400);

pub fn run(unused_for_days: u64, cache_dir: Option<&Path>) -> Result<ExitCode> {
    let setting = cache_dir.map_or(CacheSetting::Default, |dir| {
        CacheSetting::Dir(dir.to_owned())
    });
    let unused_for = DAY.saturating_mul(u32::try_from(unused_for_days).unwrap_or(u32::MAX));
    let (root, pruned) = prune(&setting, unused_for)?;
    println!(
        "{}: removed {} files ({}) unused for {unused_for_days} days or more; kept {} files ({})",
        root.display(),
        pruned.removed,
        mib(pruned.freed),
        pruned.kept,
        mib(pruned.kept_bytes)
    );
    Ok(ExitCode::SUCCESS)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
