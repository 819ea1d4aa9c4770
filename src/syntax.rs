//! What the explorer and the HTML report highlight with, so both look the same: two-face's syntaxes
//! (bat's: Dockerfile, TOML, INI, ...), the syntax for a file, and one theme for the process, chosen by
//! name (`--theme`, `$OCIDIFF_THEME`, `theme` in the config file) before anything is highlighted.

use std::sync::OnceLock;

use syntect::highlighting::Theme;
use syntect::parsing::{SyntaxReference, SyntaxSet};
use two_face::theme::{EmbeddedLazyThemeSet, EmbeddedThemeName};

/// The theme when none is chosen.
pub const DEFAULT_THEME: &str = "Monokai Extended";

/// A theme name two-face does not embed.
#[derive(Debug, thiserror::Error)]
#[error("unknown theme {name:?}: expected one of {}", theme_names().join(", "))]
pub struct UnknownTheme {
    pub name: String,
}

/// The embedded themes' names, as two-face (and bat) spell them.
pub fn theme_names() -> Vec<&'static str> {
    EmbeddedLazyThemeSet::theme_names()
        .iter()
        .map(|t| t.as_name())
        .collect()
}

/// The embedded theme called `name`; case, spaces and punctuation do not matter
/// (`monokai-extended` is `Monokai Extended`).
pub fn theme_named(name: &str) -> Result<EmbeddedThemeName, UnknownTheme> {
    let folded = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = folded(name);
    EmbeddedLazyThemeSet::theme_names()
        .iter()
        .copied()
        .find(|t| folded(t.as_name()) == wanted)
        .ok_or_else(|| UnknownTheme {
            name: name.to_owned(),
        })
}

static CHOSEN: OnceLock<EmbeddedThemeName> = OnceLock::new();

/// Chooses the process's theme; the first choice stays (call it before highlighting anything).
pub fn choose_theme(name: &str) -> Result<(), UnknownTheme> {
    let theme = theme_named(name)?;
    let _ = CHOSEN.set(theme);
    Ok(())
}

/// The process's theme: the one chosen, else [`DEFAULT_THEME`].
pub fn theme() -> &'static Theme {
    static THEME: OnceLock<Theme> = OnceLock::new();
    THEME.get_or_init(|| {
        let name = *CHOSEN.get_or_init(|| EmbeddedThemeName::MonokaiExtended);
        two_face::theme::extra().get(name).clone()
    })
}

/// two-face's syntaxes (loaded once; their regexes compile lazily).
pub fn syntaxes() -> &'static SyntaxSet {
    static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
    SYNTAXES.get_or_init(two_face::syntax::extra_newlines)
}

/// The syntax for a file: by its name (`Dockerfile`, `Makefile`), then its extension (as written, then
/// in lower case), then its first line (`#!/bin/sh`), else plain text.
pub fn syntax_for(path: &str, first_line: &str) -> &'static SyntaxReference {
    let syntaxes = syntaxes();
    let name = path.rsplit('/').next().unwrap_or(path);
    let by_name = || syntaxes.find_syntax_by_extension(name);
    let by_extension = || {
        let (_, ext) = name.rsplit_once('.')?;
        syntaxes
            .find_syntax_by_extension(ext)
            .or_else(|| syntaxes.find_syntax_by_extension(&ext.to_ascii_lowercase()))
    };
    by_name()
        .or_else(by_extension)
        .or_else(|| syntaxes.find_syntax_by_first_line(first_line))
        .unwrap_or_else(|| syntaxes.find_syntax_plain_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_are_found_by_name_whatever_the_case_and_punctuation() {
        assert_eq!(
            theme_named("Monokai Extended").ok(),
            Some(EmbeddedThemeName::MonokaiExtended)
        );
        assert_eq!(
            theme_named("monokai-extended").ok(),
            Some(EmbeddedThemeName::MonokaiExtended)
        );
        assert_eq!(
            theme_named("solarized-dark").ok(),
            Some(EmbeddedThemeName::SolarizedDark)
        );
        assert_eq!(
            theme_named("dracula").ok(),
            Some(EmbeddedThemeName::Dracula)
        );
        let error = theme_named("no-such-theme").unwrap_err().to_string();
        assert!(
            error.starts_with("unknown theme \"no-such-theme\": expected one of "),
            "{error}"
        );
        assert!(
            error.contains("Dracula") && error.contains("Monokai Extended"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
        assert!(theme_named(DEFAULT_THEME).is_ok());
    }

    #[test]
    fn files_get_their_syntax_by_name_extension_or_first_line() {
        assert_eq!(syntax_for("app/Dockerfile", "").name, "Dockerfile");
        assert_eq!(syntax_for("etc/app.TOML", "").name, "TOML");
        assert_eq!(
            syntax_for("usr/bin/run", "#!/bin/sh\n").name,
            "Bourne Again Shell (bash)"
        );
        assert_eq!(syntax_for("etc/motd", "hello\n").name, "Plain Text");
    }
}
