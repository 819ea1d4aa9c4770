//! The config file: defaults people repeat, `$XDG_CONFIG_HOME/ocidiff-tui/config.toml` (else
//! `~/.config/ocidiff-tui/config.toml`), or `--config FILE` / `$OCIDIFF_CONFIG`. Flags win over
//! environment variables, which win over the file: a value of the file is used only where neither
//! set one. Relative paths in the file are relative to its directory.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde::Deserialize;

use ocidiff::explain::toml_error;

use super::args::CompareArgs;

/// A config file larger than this is refused.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    /// `--ignore-path` globs, used when no `--ignore-path` or `--ignore-file` is given.
    #[serde(default)]
    ignore_paths: Vec<String>,
    /// `--noise-file` files, used when no `--noise-file` is given.
    #[serde(default)]
    noise_files: Vec<PathBuf>,
    /// `--rules`, used when neither `--rules` nor `$OCIDIFF_RULES` is set.
    rules: Option<PathBuf>,
    /// `--view`'s default when it is not given: `auto`, `per-layer` or `merged`.
    view: Option<String>,
}

/// The default config file's path.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("ocidiff-tui").join("config.toml"))
}

/// Fills what the flags and environment left unset from the config file. `view_given` says whether
/// `--view` was on the command line (clap fills in its default otherwise).
pub fn apply(args: &mut CompareArgs, view_given: bool) -> Result<()> {
    if args.no_config {
        return Ok(());
    }
    let (path, required) = match &args.config {
        Some(path) => (path.clone(), true),
        None => match default_path() {
            Some(path) => (path, false),
            None => return Ok(()),
        },
    };
    let Some(config) = read(&path, required)? else {
        return Ok(());
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let ignore = &mut args.ignore;
    if ignore.ignore_path.is_empty() && ignore.ignore_file.is_none() {
        ignore.ignore_path = config.ignore_paths;
    }
    if args.explain.noise_file.is_empty() {
        args.explain.noise_file = config.noise_files.iter().map(|f| dir.join(f)).collect();
    }
    if args.rules.is_none() {
        args.rules = config.rules.map(|f| dir.join(f));
    }
    if let (Some(view), false) = (config.view, view_given) {
        use clap::ValueEnum as _;
        args.view = super::args::ViewArg::from_str(&view, false).map_err(|_| {
            anyhow!(
                "{}: view = {view:?}: expected auto, per-layer or merged",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// The parsed file; None when the default file does not exist.
fn read(path: &Path, required: bool) -> Result<Option<ConfigFile>> {
    let name = path.display().to_string();
    let size = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => return Err(anyhow!("config file {name}: {e}")),
        Ok(m) => m.len(),
    };
    if size > MAX_CONFIG_BYTES {
        return Err(anyhow!(
            "config file {name}: too large ({size} bytes, limit {MAX_CONFIG_BYTES})"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("config file {name}: {e}"))?;
    let config = toml::from_str(&text)
        .map_err(|e| anyhow!("config file {}", toml_error(&name, &text, &e)))?;
    Ok(Some(config))
}
