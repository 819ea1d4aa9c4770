//! The config file: defaults people repeat, `$XDG_CONFIG_HOME/ocidiff-tui/config.toml` (else
//! `~/.config/ocidiff-tui/config.toml`), or `--config FILE` / `$OCIDIFF_CONFIG`. Flags win over
//! environment variables, which win over the file: a value of the file is used only where neither
//! set one. Relative paths in the file are relative to its directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde::Deserialize;
use toml::Spanned;

use ocidiff::explain::{located_error, toml_error};
use ocidiff::tui::keys::Keymap;

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
    view: Option<Spanned<String>>,
    /// `--theme`, used when neither `--theme` nor `$OCIDIFF_THEME` is set.
    theme: Option<Spanned<String>>,
    /// The explorer's keys: action name → its keys, replacing the action's defaults.
    #[serde(default)]
    keys: BTreeMap<String, Spanned<KeyList>>,
}

/// One key (`quit = "Q"`) or several (`next-difference = ["n", "ctrl-n"]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Several(Vec<String>),
}

impl KeyList {
    fn keys(&self) -> &[String] {
        match self {
            KeyList::One(key) => std::slice::from_ref(key),
            KeyList::Several(keys) => keys,
        }
    }
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
    let Some((config, text)) = read(&path, required)? else {
        return Ok(());
    };
    let name = path.display().to_string();
    let at = |span: std::ops::Range<usize>, message: String| {
        anyhow!(
            "config file {}",
            located_error(&name, &text, Some(span), &message)
        )
    };
    if args.theme.is_none()
        && let Some(theme) = &config.theme
    {
        ocidiff::syntax::theme_named(theme.get_ref())
            .map_err(|e| at(theme.span(), format!("theme: {e}")))?;
        args.theme = Some(theme.get_ref().clone());
    }
    // In the file's order, so that of two entries at fault the first is named.
    let mut keys: Vec<(&String, &Spanned<KeyList>)> = config.keys.iter().collect();
    keys.sort_by_key(|(_, keys)| keys.span().start);
    args.keys = Keymap::configured(
        keys.iter()
            .map(|(action, list)| (action.as_str(), list.get_ref().keys())),
    )
    .map_err(|(entry, error)| at(keys[entry].1.span(), format!("keys: {error}")))?;
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
    if let (Some(view), false) = (&config.view, view_given) {
        use clap::ValueEnum as _;
        args.view = super::args::ViewArg::from_str(view.get_ref(), false).map_err(|_| {
            at(
                view.span(),
                format!(
                    "view = {:?}: expected auto, per-layer or merged",
                    view.get_ref()
                ),
            )
        })?;
    }
    Ok(())
}

/// The parsed file and its text; None when the default file does not exist.
fn read(path: &Path, required: bool) -> Result<Option<(ConfigFile, String)>> {
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
    Ok(Some((config, text)))
}

/// Chooses the highlighting theme `--theme` / `$OCIDIFF_THEME` / the config file named, if any.
pub fn choose_theme(args: &CompareArgs) -> Result<()> {
    match &args.theme {
        Some(name) => ocidiff::syntax::choose_theme(name).map_err(|e| anyhow!("--theme: {e}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use ocidiff::tui::app::Action;

    use super::*;
    use crate::cli::args::Cli;

    /// `apply` on `ocidiff-tui [flags] a b` with `--config` naming a file holding `text`.
    fn applied(text: &str, flags: &[&str]) -> Result<CompareArgs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).expect("write config");
        let config = file.display().to_string();
        let args = ["ocidiff-tui", "--config", &config]
            .into_iter()
            .chain(flags.iter().copied())
            .chain(["a", "b"]);
        let mut compare = Cli::try_parse_from(args).expect("arguments").compare;
        apply(&mut compare, false).map(|()| compare)
    }

    fn error(text: &str) -> String {
        let message = applied(text, &[]).expect_err("a bad config").to_string();
        assert!(!message.contains('\n'), "{message}");
        message
    }

    fn press(keys: &Keymap, c: char) -> Option<Action> {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        keys.action_for(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn theme_and_keys_come_from_the_file() {
        let args = applied(
            "theme = \"GitHub\"\n[keys]\nquit = \"Q\"\nnext-difference = [\"n\", \"ctrl-n\"]\nnext-match = \"+\"\n",
            &[],
        )
        .expect("a good config");
        assert_eq!(args.theme.as_deref(), Some("GitHub"));
        assert_eq!(press(&args.keys, 'Q'), Some(Action::Quit));
        assert_eq!(press(&args.keys, 'q'), None);
        assert_eq!(press(&args.keys, 'n'), Some(Action::NextDifference));
        assert_eq!(press(&args.keys, '+'), Some(Action::NextMatch));
        // The flag wins over the file.
        let flag = applied("theme = \"GitHub\"\n", &["--theme", "Nord"]).expect("config");
        assert_eq!(flag.theme.as_deref(), Some("Nord"));
        // Without [keys], the defaults.
        let plain = applied("view = \"merged\"\n", &[]).expect("config");
        assert_eq!(press(&plain.keys, 'q'), Some(Action::Quit));
        assert_eq!(plain.theme, None);
    }

    #[test]
    fn bad_themes_and_keys_are_one_line_naming_the_line() {
        let theme = error("view = \"merged\"\ntheme = \"Monokai Purple\"\n");
        assert!(
            theme.contains(
                "config.toml:2: theme: unknown theme \"Monokai Purple\": expected one of "
            ),
            "{theme}"
        );
        assert!(theme.contains("Monokai Extended"), "{theme}");
        let action = error("[keys]\nquit = \"Q\"\nleave = \"x\"\n");
        assert!(
            action.contains("config.toml:3: keys: unknown action \"leave\""),
            "{action}"
        );
        let key = error("[keys]\n\nquit = [\"Q\", \"ctrl-\"]\n");
        assert!(
            key.contains("config.toml:3: keys: \"ctrl-\" is not a key"),
            "{key}"
        );
        let twice = error("[keys]\nzoom = \"Z\"\nwrap = \"Z\"\n");
        assert!(
            twice.contains("config.toml:2: keys: Z is bound to both wrap and zoom"),
            "{twice}"
        );
        let default_taken = error("[keys]\nsearch = \"n\"\n");
        assert!(
            default_taken.contains("config.toml:2: keys: n is bound to both next-match and search"),
            "{default_taken}"
        );
        let not_a_key = error("[keys]\nquit = 1\n");
        assert!(not_a_key.contains("config.toml:2:"), "{not_a_key}");
    }
}
