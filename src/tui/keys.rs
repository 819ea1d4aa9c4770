//! Key bindings: one table drives the key handling, the help overlay and assets/keys.md, so they
//! cannot drift. No key means different things in different panes (a lesson from dive): the moves
//! act on the focused pane, everything else on the same thing wherever the focus is.
//!
//! Each action has a stable name; the config file's `[keys]` table gives an action other keys
//! ([`Keymap::configured`]), which replace its defaults everywhere the table is used.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::filter::IgnoreOption;

use super::app::{Action, StatusKind};
use super::view::Areas;

/// A key as bound: what the terminal reports, with Ctrl or not. Shift is in the character (`G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
}

/// Keys that are not one character: (name in the config file, code, as the help shows it).
const NAMED_KEYS: &[(&str, KeyCode, &str)] = &[
    ("up", KeyCode::Up, "↑"),
    ("down", KeyCode::Down, "↓"),
    ("left", KeyCode::Left, "←"),
    ("right", KeyCode::Right, "→"),
    ("pgup", KeyCode::PageUp, "PgUp"),
    ("pgdn", KeyCode::PageDown, "PgDn"),
    ("home", KeyCode::Home, "Home"),
    ("end", KeyCode::End, "End"),
    ("tab", KeyCode::Tab, "Tab"),
    ("enter", KeyCode::Enter, "Enter"),
    ("space", KeyCode::Char(' '), "Space"),
    ("backspace", KeyCode::Backspace, "Backspace"),
    ("delete", KeyCode::Delete, "Del"),
    ("insert", KeyCode::Insert, "Ins"),
    ("esc", KeyCode::Esc, "Esc"),
];

/// Ctrl-C quits whatever the config says (in a prompt too): a way out that cannot be rebound.
const ALWAYS_QUITS: Key = Key::ctrl('c');

impl Key {
    const fn code(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    /// The key as the config file writes it (`q`, `ctrl-f`, `pgdn`).
    pub fn config_name(&self) -> String {
        match (self.ctrl, self.code) {
            (true, KeyCode::Char(c)) => format!("ctrl-{c}"),
            (_, code) => match NAMED_KEYS.iter().find(|&&(_, named, _)| named == code) {
                Some((name, ..)) => (*name).to_owned(),
                None => self.to_string(),
            },
        }
    }

    const fn char(c: char) -> Key {
        Key::code(KeyCode::Char(c))
    }

    const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    /// Whether `event` is this key. Keys that are not characters (arrows, Tab...) match with or
    /// without Ctrl.
    fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let char_key = matches!(self.code, KeyCode::Char(_));
        event.code == self.code && (ctrl == self.ctrl || !(self.ctrl || char_key))
    }
}

/// A config file's key: one character (`Q`, `?`), `ctrl-LETTER`, or a name of [`NAMED_KEYS`]
/// (any case).
impl FromStr for Key {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Key, KeyError> {
        let unparsable = || KeyError::Unparsable(text.to_owned());
        let (ctrl, rest) = match text.split_at_checked(5) {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ctrl-") && !rest.is_empty() => {
                (true, rest)
            }
            _ => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
            _ => NAMED_KEYS
                .iter()
                .find(|(name, ..)| name.eq_ignore_ascii_case(rest))
                .map(|&(_, code, _)| code)
                .ok_or_else(unparsable)?,
        };
        match code {
            KeyCode::Char(c) if ctrl && c.is_ascii_alphabetic() => {
                Ok(Key::ctrl(c.to_ascii_lowercase()))
            }
            _ if ctrl => Err(unparsable()),
            code => Ok(Key::code(code)),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ctrl, self.code) {
            (true, KeyCode::Char(c)) => write!(f, "Ctrl-{}", c.to_ascii_uppercase()),
            (_, code) => match NAMED_KEYS.iter().find(|&&(_, named, _)| named == code) {
                Some((_, _, shown)) => f.write_str(shown),
                None => match code {
                    KeyCode::Char(c) => write!(f, "{c}"),
                    other => write!(f, "{other:?}"),
                },
            },
        }
    }
}

/// Why the config file's `[keys]` cannot be used.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown action {0:?} (the actions are listed in assets/keys.md)")]
    UnknownAction(String),
    #[error("{0:?} is not a key: one character (\"Q\"), ctrl-LETTER, or one of {names}", names = key_names())]
    Unparsable(String),
    #[error("{key} is bound to both {first} and {second}")]
    BoundTwice {
        key: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("Ctrl-C always quits; it cannot be bound to {0}")]
    AlwaysQuits(&'static str),
}

fn key_names() -> String {
    let names: Vec<&str> = NAMED_KEYS.iter().map(|(name, ..)| *name).collect();
    names.join(", ")
}

/// One action with its default keys.
pub struct Binding {
    /// The action's name in the config file's `[keys]` table (kept stable: config files name it).
    pub name: &'static str,
    /// What the help says; empty: shown on the line of the binding before (`]` `[`).
    pub what: &'static str,
    action: fn() -> Action,
    defaults: &'static [Key],
}

macro_rules! binding {
    ($name:expr, $what:expr, $action:expr, [$($key:expr),* $(,)?]) => {
        Binding {
            name: $name,
            what: $what,
            action: || $action,
            defaults: &[$($key),*],
        }
    };
}

impl Binding {
    /// The default keys as the config file writes them.
    pub fn default_keys(&self) -> Vec<String> {
        self.defaults.iter().map(Key::config_name).collect()
    }

    /// Whether this binding toggles one ignore option (listed in a column of their own).
    pub fn toggles_an_option(&self) -> bool {
        matches!((self.action)(), Action::ToggleOption(_))
    }
}

/// Every action, in the order the help overlay shows them.
pub const BINDINGS: &[Binding] = &[
    binding!("quit", "quit", Action::Quit, [Key::char('q'), ALWAYS_QUITS]),
    binding!("help", "this help", Action::ToggleHelp, [Key::char('?')]),
    binding!(
        "legend",
        "legend: markers, badges",
        Action::ShowLegend,
        [Key::char('b')]
    ),
    binding!(
        "up",
        "up",
        Action::Up,
        [Key::code(KeyCode::Up), Key::char('k')]
    ),
    binding!(
        "down",
        "down",
        Action::Down,
        [Key::code(KeyCode::Down), Key::char('j')]
    ),
    binding!(
        "page-up",
        "page up / down",
        Action::PageUp,
        [Key::code(KeyCode::PageUp)]
    ),
    binding!(
        "page-down",
        "",
        Action::PageDown,
        [Key::code(KeyCode::PageDown)]
    ),
    binding!(
        "first",
        "first / last",
        Action::Home,
        [Key::code(KeyCode::Home), Key::char('g')]
    ),
    binding!(
        "last",
        "",
        Action::End,
        [Key::code(KeyCode::End), Key::char('G')]
    ),
    binding!(
        "switch-pane",
        "switch tree / detail",
        Action::SwitchPane,
        [Key::code(KeyCode::Tab), Key::code(KeyCode::Enter)]
    ),
    binding!(
        "open-close",
        "open / close",
        Action::ToggleExpand,
        [Key::char(' ')]
    ),
    binding!(
        "close",
        "close, or go to parent",
        Action::Collapse,
        [Key::code(KeyCode::Left), Key::char('h')]
    ),
    binding!(
        "open",
        "open",
        Action::Expand,
        [Key::code(KeyCode::Right), Key::char('l')]
    ),
    binding!(
        "next-difference",
        "next / prev difference",
        Action::NextDifference,
        [Key::char(']')]
    ),
    binding!(
        "previous-difference",
        "",
        Action::PreviousDifference,
        [Key::char('[')]
    ),
    binding!(
        "search",
        "search paths (jump)",
        Action::StartSearch,
        [Key::char('/')]
    ),
    binding!(
        "next-match",
        "next / previous match",
        Action::NextMatch,
        [Key::char('n')]
    ),
    binding!(
        "previous-match",
        "",
        Action::PreviousMatch,
        [Key::char('N')]
    ),
    binding!(
        "filter-tree",
        "list only matching paths",
        Action::StartTreeFilter,
        [Key::char('f'), Key::ctrl('f')]
    ),
    binding!(
        "cycle-view",
        "view auto/layer/merged",
        Action::CycleView,
        [Key::char('v')]
    ),
    binding!(
        "side-by-side",
        "side-by-side text diff",
        Action::ToggleSideBySide,
        [Key::char('w')]
    ),
    binding!(
        "wrap",
        "wrap long lines",
        Action::ToggleWrap,
        [Key::char('W')]
    ),
    binding!(
        "mask-timestamps",
        "mask timestamps in diffs",
        Action::ToggleMaskTimestamps,
        [Key::char('m')]
    ),
    binding!(
        "unexplained-only",
        "list only unexplained",
        Action::ToggleUnexplainedOnly,
        [Key::char('u')]
    ),
    binding!(
        "scroll-left",
        "scroll detail sideways",
        Action::ScrollSideways(-1),
        [Key::char('<')]
    ),
    binding!(
        "scroll-right",
        "",
        Action::ScrollSideways(1),
        [Key::char('>')]
    ),
    binding!(
        "narrower-tree",
        "narrower / wider tree",
        Action::MoveSplit(-1),
        [Key::char('{')]
    ),
    binding!("wider-tree", "", Action::MoveSplit(1), [Key::char('}')]),
    binding!(
        "zoom",
        "detail on the whole width",
        Action::ToggleZoom,
        [Key::char('z')]
    ),
    binding!(
        "history",
        "history across layers",
        Action::ToggleHistory,
        [Key::char('t')]
    ),
    binding!(
        "swap-sides",
        "swap the two sides",
        Action::SwapSides,
        [Key::char('x')]
    ),
    binding!(
        "export",
        "export selected subtree",
        Action::StartExport,
        [Key::char('e')]
    ),
    binding!(
        "copy-command",
        "copy the command (OSC 52)",
        Action::CopyCommand,
        [Key::char('y')]
    ),
    binding!(
        "ignore-path",
        "ignore path (session)",
        Action::IgnorePath,
        [Key::char('i')]
    ),
    binding!(
        "forget-ignored-paths",
        "list ignored paths again",
        Action::ForgetIgnoredPaths,
        [Key::char('I')]
    ),
    binding!(
        "show-added",
        "show +/-/~/= rows",
        Action::ToggleStatus(StatusKind::Added),
        [Key::char('A')]
    ),
    binding!(
        "show-removed",
        "",
        Action::ToggleStatus(StatusKind::Removed),
        [Key::char('R')]
    ),
    binding!(
        "show-modified",
        "",
        Action::ToggleStatus(StatusKind::Modified),
        [Key::char('M')]
    ),
    binding!(
        "show-unchanged",
        "",
        Action::ToggleStatus(StatusKind::Unchanged),
        [Key::char('U')]
    ),
    binding!(
        "semantic",
        "all of --semantic",
        Action::ToggleSemantic,
        [Key::char('s')]
    ),
    binding!(
        "ignore-file-timestamps",
        "--ignore-file-timestamps",
        Action::ToggleOption(IgnoreOption::FileTimestamps),
        [Key::char('1')]
    ),
    binding!(
        "ignore-image-timestamps",
        "--ignore-image-timestamps",
        Action::ToggleOption(IgnoreOption::ImageTimestamps),
        [Key::char('2')]
    ),
    binding!(
        "ignore-history",
        "--ignore-history",
        Action::ToggleOption(IgnoreOption::History),
        [Key::char('3')]
    ),
    binding!(
        "ignore-file-order",
        "--ignore-file-order",
        Action::ToggleOption(IgnoreOption::FileOrder),
        [Key::char('4')]
    ),
    binding!(
        "ignore-file-mode-redundant-bits",
        "--ignore-file-mode-redundant-bits",
        Action::ToggleOption(IgnoreOption::FileModeRedundantBits),
        [Key::char('5')]
    ),
    binding!(
        "ignore-image-name",
        "--ignore-image-name",
        Action::ToggleOption(IgnoreOption::ImageName),
        [Key::char('6')]
    ),
    binding!(
        "ignore-tar-format",
        "--ignore-tar-format",
        Action::ToggleOption(IgnoreOption::TarFormat),
        [Key::char('7')]
    ),
    binding!(
        "treat-canonical-paths-equal",
        "--treat-canonical-paths-equal",
        Action::ToggleOption(IgnoreOption::CanonicalPaths),
        [Key::char('8')]
    ),
    binding!(
        "ignore-media-types",
        "--ignore-media-types",
        Action::ToggleOption(IgnoreOption::MediaTypes),
        [Key::char('9')]
    ),
    binding!(
        "ignore-owner",
        "--ignore-owner",
        Action::ToggleOption(IgnoreOption::Owner),
        [Key::char('0')]
    ),
    binding!(
        "ignore-mode",
        "--ignore-mode",
        Action::ToggleOption(IgnoreOption::Mode),
        [Key::char('-')]
    ),
];

/// One line of the help: the keys of an action (and of those shown with it) and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpRow {
    pub keys: String,
    pub what: &'static str,
    pub toggles_an_option: bool,
}

/// The keys in effect: [`BINDINGS`]' defaults, with the config file's `[keys]` applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Each binding's keys, in the order of [`BINDINGS`].
    keys: Vec<Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            keys: BINDINGS.iter().map(|b| b.defaults.to_vec()).collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `configured` applied: each (action name, keys) replaces that action's keys
    /// (quit keeps Ctrl-C). An error comes with the index of the entry at fault.
    pub fn configured<'a>(
        configured: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Keymap, (usize, KeyError)> {
        let mut keymap = Keymap::default();
        let mut applied = Vec::new();
        for (entry, (name, texts)) in configured.into_iter().enumerate() {
            let at = |error| (entry, error);
            let index = BINDINGS
                .iter()
                .position(|b| b.name == name)
                .ok_or_else(|| at(KeyError::UnknownAction(name.to_owned())))?;
            let mut keys = Vec::new();
            for text in texts {
                let key: Key = text.parse().map_err(at)?;
                if key == ALWAYS_QUITS && (BINDINGS[index].action)() != Action::Quit {
                    return Err(at(KeyError::AlwaysQuits(BINDINGS[index].name)));
                }
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            if (BINDINGS[index].action)() == Action::Quit && !keys.contains(&ALWAYS_QUITS) {
                keys.push(ALWAYS_QUITS);
            }
            keymap.keys[index] = keys;
            applied.push((entry, index));
        }
        for (entry, index) in applied {
            for key in &keymap.keys[index] {
                let other =
                    (0..BINDINGS.len()).find(|&i| i != index && keymap.keys[i].contains(key));
                if let Some(other) = other {
                    return Err((
                        entry,
                        KeyError::BoundTwice {
                            key: key.to_string(),
                            first: BINDINGS[other].name,
                            second: BINDINGS[index].name,
                        },
                    ));
                }
            }
        }
        Ok(keymap)
    }

    /// What a key means outside a prompt.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        BINDINGS
            .iter()
            .zip(&self.keys)
            .find(|(_, keys)| keys.iter().any(|k| k.matches(key)))
            .map(|(b, _)| (b.action)())
    }

    /// The keys of `action`, as the help shows them (`] [`), or "" when it has none.
    pub fn keys_of(&self, action: &Action) -> String {
        BINDINGS
            .iter()
            .position(|b| (b.action)() == *action)
            .map(|index| self.shown(index))
            .unwrap_or_default()
    }

    /// The first key of `action`, for hints ("? help").
    pub fn first_key(&self, action: &Action) -> Option<String> {
        let index = BINDINGS.iter().position(|b| (b.action)() == *action)?;
        self.keys[index].first().map(Key::to_string)
    }

    fn shown(&self, index: usize) -> String {
        let keys: Vec<String> = self.keys[index].iter().map(Key::to_string).collect();
        keys.join(" ")
    }

    /// The help's lines: each action with a text, with the keys of those listed with it.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        let mut rows: Vec<HelpRow> = Vec::new();
        for (index, binding) in BINDINGS.iter().enumerate() {
            let keys = self.shown(index);
            match rows.last_mut() {
                Some(row) if binding.what.is_empty() => {
                    if !keys.is_empty() {
                        row.keys = format!("{} {keys}", row.keys).trim_start().to_owned();
                    }
                }
                _ => rows.push(HelpRow {
                    keys,
                    what: binding.what,
                    toggles_an_option: binding.toggles_an_option(),
                }),
            }
        }
        rows
    }

    /// The key that toggles an ignore option (for the status bar).
    pub fn option_key(&self, option: IgnoreOption) -> String {
        self.keys_of(&Action::ToggleOption(option))
    }
}

/// What a key means while a line is being typed.
pub fn prompt_action(key: &KeyEvent) -> Option<Action> {
    if ALWAYS_QUITS.matches(key) {
        return Some(Action::Quit);
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char(c) if !ctrl => Some(Action::PromptInput(c)),
        KeyCode::Backspace => Some(Action::PromptBackspace),
        KeyCode::Enter => Some(Action::PromptSubmit),
        KeyCode::Esc => Some(Action::PromptCancel),
        _ => None,
    }
}

/// Mouse: the wheel scrolls the pane under the pointer, a click in the tree selects a row, the
/// border between the panes can be dragged (`dragging` says a drag is under way).
pub fn mouse_action(event: &MouseEvent, areas: &Areas, dragging: &mut bool) -> Option<Action> {
    let tree_area = areas.tree;
    let in_tree = event.column >= tree_area.x && event.column < tree_area.x + tree_area.width;
    let on_border = areas
        .split_column()
        .is_some_and(|c| event.column == c || event.column == c + 1);
    match event.kind {
        MouseEventKind::Down(MouseButton::Left) if on_border => {
            *dragging = true;
            None
        }
        MouseEventKind::Drag(MouseButton::Left) if *dragging => {
            Some(Action::DragSplit(event.column))
        }
        MouseEventKind::Up(_) => {
            *dragging = false;
            None
        }
        MouseEventKind::ScrollDown if in_tree => Some(Action::Down),
        MouseEventKind::ScrollUp if in_tree => Some(Action::Up),
        MouseEventKind::ScrollDown => Some(Action::ScrollDetail(3)),
        MouseEventKind::ScrollUp => Some(Action::ScrollDetail(-3)),
        MouseEventKind::Down(_) if in_tree => {
            let first_row = tree_area.y + 1;
            let inside = event.row >= first_row
                && event.row < tree_area.y + tree_area.height.saturating_sub(1);
            inside.then(|| Action::ClickRow((event.row - first_row) as usize))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn configured(entries: &[(&str, &[&str])]) -> Result<Keymap, (usize, KeyError)> {
        let owned: Vec<(&str, Vec<String>)> = entries
            .iter()
            .map(|(name, keys)| (*name, keys.iter().map(|k| k.to_string()).collect()))
            .collect();
        Keymap::configured(owned.iter().map(|(name, keys)| (*name, keys.as_slice())))
    }

    #[test]
    fn every_ignore_option_has_a_key_and_no_key_is_bound_twice() {
        let keymap = Keymap::default();
        for option in IgnoreOption::ALL {
            assert!(
                !keymap.option_key(option).is_empty(),
                "{option:?} has no key"
            );
        }
        let all: Vec<Key> = keymap.keys.iter().flatten().copied().collect();
        for (i, key) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(key), "{key} is bound twice");
        }
        let mut names: Vec<&str> = BINDINGS.iter().map(|b| b.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BINDINGS.len(), "an action name is used twice");
        for binding in BINDINGS {
            let kebab = binding
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(kebab, "{} is not kebab-case", binding.name);
        }
    }

    #[test]
    fn keys_parse_from_the_config_and_show_as_the_help_writes_them() {
        for (text, shown) in [
            ("Q", "Q"),
            ("?", "?"),
            ("-", "-"),
            ("ctrl-n", "Ctrl-N"),
            ("Ctrl-N", "Ctrl-N"),
            ("space", "Space"),
            ("PgDn", "PgDn"),
            ("up", "↑"),
            ("esc", "Esc"),
        ] {
            let key: Key = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(key.to_string(), shown, "{text}");
        }
        for bad in ["", "qq", "ctrl-", "ctrl-up", "ctrl-1", "f13", " ", "\t"] {
            let error = bad.parse::<Key>().unwrap_err();
            assert_eq!(error, KeyError::Unparsable(bad.to_owned()));
            assert!(error.to_string().contains("ctrl-LETTER"), "{error}");
        }
    }

    #[test]
    fn configured_keys_replace_the_defaults_of_their_action_only() {
        let keymap = configured(&[
            ("quit", &["Q"]),
            ("next-difference", &["n", "ctrl-n"]),
            ("next-match", &["+"]),
        ])
        .expect("a good [keys] table");
        assert_eq!(
            keymap.action_for(&key(KeyCode::Char('Q'))),
            Some(Action::Quit)
        );
        assert_eq!(keymap.action_for(&key(KeyCode::Char('q'))), None);
        assert_eq!(
            keymap.action_for(&ctrl('c')),
            Some(Action::Quit),
            "Ctrl-C always quits"
        );
        assert_eq!(
            keymap.action_for(&key(KeyCode::Char('n'))),
            Some(Action::NextDifference)
        );
        assert_eq!(keymap.action_for(&ctrl('n')), Some(Action::NextDifference));
        assert_eq!(keymap.action_for(&key(KeyCode::Char(']'))), None);
        assert_eq!(
            keymap.action_for(&key(KeyCode::Char('+'))),
            Some(Action::NextMatch)
        );
        // Untouched actions keep their keys.
        assert_eq!(
            keymap.action_for(&key(KeyCode::Char('['))),
            Some(Action::PreviousDifference)
        );
        let rows = keymap.help_rows();
        let row = |what: &str| rows.iter().find(|r| r.what == what).map(|r| r.keys.clone());
        assert_eq!(row("quit").as_deref(), Some("Q Ctrl-C"));
        assert_eq!(row("next / prev difference").as_deref(), Some("n Ctrl-N ["));
        assert_eq!(row("next / previous match").as_deref(), Some("+ N"));
        assert_eq!(keymap.keys_of(&Action::NextDifference), "n Ctrl-N");
        // An empty list unbinds.
        let unbound = configured(&[("zoom", &[])]).expect("zoom without a key");
        assert_eq!(unbound.action_for(&key(KeyCode::Char('z'))), None);
    }

    #[test]
    fn bad_key_tables_say_which_entry_and_why() {
        assert_eq!(
            configured(&[("quit", &["Q"]), ("no-such-action", &["x"])]).unwrap_err(),
            (1, KeyError::UnknownAction("no-such-action".into()))
        );
        assert_eq!(
            configured(&[("quit", &["Q", "ctrl-"])]).unwrap_err(),
            (0, KeyError::Unparsable("ctrl-".into()))
        );
        // `n` is next-match's default: binding it elsewhere alone is a conflict...
        assert_eq!(
            configured(&[("next-difference", &["n"])]).unwrap_err(),
            (
                0,
                KeyError::BoundTwice {
                    key: "n".into(),
                    first: "next-match",
                    second: "next-difference"
                }
            )
        );
        // ...and so are two configured actions on one key.
        assert!(matches!(
            configured(&[("zoom", &["Z"]), ("wrap", &["Z"])]),
            Err((0, KeyError::BoundTwice { .. }))
        ));
        assert_eq!(
            configured(&[("search", &["ctrl-c"])]).unwrap_err(),
            (0, KeyError::AlwaysQuits("search"))
        );
        let message = KeyError::BoundTwice {
            key: "n".into(),
            first: "next-match",
            second: "next-difference",
        }
        .to_string();
        assert_eq!(message, "n is bound to both next-match and next-difference");
    }

    #[test]
    fn a_drag_on_the_border_moves_the_split_and_ends_with_the_button() {
        use ratatui::layout::Rect;
        let areas = Areas {
            tree: Rect::new(0, 0, 40, 20),
            detail: Rect::new(40, 0, 60, 20),
        };
        let mouse = |kind, column| MouseEvent {
            kind,
            column,
            row: 5,
            modifiers: KeyModifiers::NONE,
        };
        let mut dragging = false;
        let down = mouse(MouseEventKind::Down(MouseButton::Left), 39);
        assert_eq!(mouse_action(&down, &areas, &mut dragging), None);
        assert!(dragging);
        let drag = mouse(MouseEventKind::Drag(MouseButton::Left), 30);
        assert_eq!(
            mouse_action(&drag, &areas, &mut dragging),
            Some(Action::DragSplit(30))
        );
        let up = mouse(MouseEventKind::Up(MouseButton::Left), 30);
        assert_eq!(mouse_action(&up, &areas, &mut dragging), None);
        assert!(!dragging);
        let click = mouse(MouseEventKind::Down(MouseButton::Left), 10);
        assert_eq!(
            mouse_action(&click, &areas, &mut dragging),
            Some(Action::ClickRow(4))
        );
    }

    #[test]
    fn ctrl_c_quits_even_in_a_prompt() {
        let ctrl_c = ctrl('c');
        assert_eq!(Keymap::default().action_for(&ctrl_c), Some(Action::Quit));
        assert_eq!(prompt_action(&ctrl_c), Some(Action::Quit));
        assert_eq!(
            prompt_action(&key(KeyCode::Char('q'))),
            Some(Action::PromptInput('q'))
        );
    }
}
