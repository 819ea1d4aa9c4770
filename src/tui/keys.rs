//! Key bindings: one table drives the key handling, the help overlay and assets/keys.md, so they
//! cannot drift. No key means different things in different panes (a lesson from dive): the moves
//! act on the focused pane, everything else on the same thing wherever the focus is.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::filter::IgnoreOption;

use super::app::{Action, StatusKind};
use super::view::Areas;

/// One binding as the help overlay lists it.
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    action: fn() -> Action,
    matches: fn(&KeyEvent) -> bool,
}

macro_rules! binding {
    ($keys:expr, $what:expr, $action:expr, $pattern:pat) => {
        Binding {
            keys: $keys,
            what: $what,
            action: || $action,
            matches: |k| {
                matches!(
                    (k.code, k.modifiers.contains(KeyModifiers::CONTROL)),
                    $pattern
                )
            },
        }
    };
}

impl Binding {
    /// Whether this binding toggles one ignore option (listed in a column of their own).
    pub fn toggles_an_option(&self) -> bool {
        matches!((self.action)(), Action::ToggleOption(_))
    }
}

/// Every binding, in the order the help overlay shows them.
pub const BINDINGS: &[Binding] = &[
    binding!(
        "q  Ctrl-C",
        "quit",
        Action::Quit,
        (KeyCode::Char('q'), false) | (KeyCode::Char('c'), true)
    ),
    binding!(
        "?",
        "this help",
        Action::ToggleHelp,
        (KeyCode::Char('?'), false)
    ),
    binding!(
        "b",
        "legend: markers, badges",
        Action::ShowLegend,
        (KeyCode::Char('b'), false)
    ),
    binding!(
        "↑ k",
        "up",
        Action::Up,
        (KeyCode::Up, _) | (KeyCode::Char('k'), false)
    ),
    binding!(
        "↓ j",
        "down",
        Action::Down,
        (KeyCode::Down, _) | (KeyCode::Char('j'), false)
    ),
    binding!(
        "PgUp PgDn",
        "page up / down",
        Action::PageUp,
        (KeyCode::PageUp, _)
    ),
    binding!("", "", Action::PageDown, (KeyCode::PageDown, _)),
    binding!(
        "Home End g G",
        "first / last",
        Action::Home,
        (KeyCode::Home, _) | (KeyCode::Char('g'), false)
    ),
    binding!(
        "",
        "",
        Action::End,
        (KeyCode::End, _) | (KeyCode::Char('G'), false)
    ),
    binding!(
        "Tab Enter",
        "switch tree / detail",
        Action::SwitchPane,
        (KeyCode::Tab | KeyCode::Enter, _)
    ),
    binding!(
        "Space",
        "open / close",
        Action::ToggleExpand,
        (KeyCode::Char(' '), false)
    ),
    binding!(
        "← h",
        "close, or go to parent",
        Action::Collapse,
        (KeyCode::Left, _) | (KeyCode::Char('h'), false)
    ),
    binding!(
        "→ l",
        "open",
        Action::Expand,
        (KeyCode::Right, _) | (KeyCode::Char('l'), false)
    ),
    binding!(
        "] [",
        "next / prev difference",
        Action::NextDifference,
        (KeyCode::Char(']'), false)
    ),
    binding!(
        "",
        "",
        Action::PreviousDifference,
        (KeyCode::Char('['), false)
    ),
    binding!(
        "/",
        "search paths (jump)",
        Action::StartSearch,
        (KeyCode::Char('/'), false)
    ),
    binding!(
        "n N",
        "next / previous match",
        Action::NextMatch,
        (KeyCode::Char('n'), false)
    ),
    binding!("", "", Action::PreviousMatch, (KeyCode::Char('N'), false)),
    binding!(
        "f  Ctrl-F",
        "list only matching paths",
        Action::StartTreeFilter,
        (KeyCode::Char('f'), false) | (KeyCode::Char('f'), true)
    ),
    binding!(
        "v",
        "view auto/layer/merged",
        Action::CycleView,
        (KeyCode::Char('v'), false)
    ),
    binding!(
        "w",
        "side-by-side text diff",
        Action::ToggleSideBySide,
        (KeyCode::Char('w'), false)
    ),
    binding!(
        "W",
        "wrap long lines",
        Action::ToggleWrap,
        (KeyCode::Char('W'), false)
    ),
    binding!(
        "m",
        "mask timestamps in diffs",
        Action::ToggleMaskTimestamps,
        (KeyCode::Char('m'), false)
    ),
    binding!(
        "u",
        "list only unexplained",
        Action::ToggleUnexplainedOnly,
        (KeyCode::Char('u'), false)
    ),
    binding!(
        "< >",
        "scroll detail sideways",
        Action::ScrollSideways(-1),
        (KeyCode::Char('<'), false)
    ),
    binding!(
        "",
        "",
        Action::ScrollSideways(1),
        (KeyCode::Char('>'), false)
    ),
    binding!(
        "{ }",
        "narrower / wider tree",
        Action::MoveSplit(-1),
        (KeyCode::Char('{'), false)
    ),
    binding!("", "", Action::MoveSplit(1), (KeyCode::Char('}'), false)),
    binding!(
        "z",
        "detail on the whole width",
        Action::ToggleZoom,
        (KeyCode::Char('z'), false)
    ),
    binding!(
        "t",
        "history across layers",
        Action::ToggleHistory,
        (KeyCode::Char('t'), false)
    ),
    binding!(
        "x",
        "swap the two sides",
        Action::SwapSides,
        (KeyCode::Char('x'), false)
    ),
    binding!(
        "e",
        "export selected subtree",
        Action::StartExport,
        (KeyCode::Char('e'), false)
    ),
    binding!(
        "y",
        "copy the command (OSC 52)",
        Action::CopyCommand,
        (KeyCode::Char('y'), false)
    ),
    binding!(
        "i",
        "ignore path (session)",
        Action::IgnorePath,
        (KeyCode::Char('i'), false)
    ),
    binding!(
        "I",
        "list ignored paths again",
        Action::ForgetIgnoredPaths,
        (KeyCode::Char('I'), false)
    ),
    binding!(
        "A R M U",
        "show +/-/~/= rows",
        Action::ToggleStatus(StatusKind::Added),
        (KeyCode::Char('A'), false)
    ),
    binding!(
        "",
        "",
        Action::ToggleStatus(StatusKind::Removed),
        (KeyCode::Char('R'), false)
    ),
    binding!(
        "",
        "",
        Action::ToggleStatus(StatusKind::Modified),
        (KeyCode::Char('M'), false)
    ),
    binding!(
        "",
        "",
        Action::ToggleStatus(StatusKind::Unchanged),
        (KeyCode::Char('U'), false)
    ),
    binding!(
        "s",
        "all of --semantic",
        Action::ToggleSemantic,
        (KeyCode::Char('s'), false)
    ),
    binding!(
        "1",
        "--ignore-file-timestamps",
        Action::ToggleOption(IgnoreOption::FileTimestamps),
        (KeyCode::Char('1'), false)
    ),
    binding!(
        "2",
        "--ignore-image-timestamps",
        Action::ToggleOption(IgnoreOption::ImageTimestamps),
        (KeyCode::Char('2'), false)
    ),
    binding!(
        "3",
        "--ignore-history",
        Action::ToggleOption(IgnoreOption::History),
        (KeyCode::Char('3'), false)
    ),
    binding!(
        "4",
        "--ignore-file-order",
        Action::ToggleOption(IgnoreOption::FileOrder),
        (KeyCode::Char('4'), false)
    ),
    binding!(
        "5",
        "--ignore-file-mode-redundant-bits",
        Action::ToggleOption(IgnoreOption::FileModeRedundantBits),
        (KeyCode::Char('5'), false)
    ),
    binding!(
        "6",
        "--ignore-image-name",
        Action::ToggleOption(IgnoreOption::ImageName),
        (KeyCode::Char('6'), false)
    ),
    binding!(
        "7",
        "--ignore-tar-format",
        Action::ToggleOption(IgnoreOption::TarFormat),
        (KeyCode::Char('7'), false)
    ),
    binding!(
        "8",
        "--treat-canonical-paths-equal",
        Action::ToggleOption(IgnoreOption::CanonicalPaths),
        (KeyCode::Char('8'), false)
    ),
    binding!(
        "9",
        "--ignore-media-types",
        Action::ToggleOption(IgnoreOption::MediaTypes),
        (KeyCode::Char('9'), false)
    ),
    binding!(
        "0",
        "--ignore-owner",
        Action::ToggleOption(IgnoreOption::Owner),
        (KeyCode::Char('0'), false)
    ),
    binding!(
        "-",
        "--ignore-mode",
        Action::ToggleOption(IgnoreOption::Mode),
        (KeyCode::Char('-'), false)
    ),
];

/// The key that toggles an ignore option (for the status bar).
pub fn option_key(option: IgnoreOption) -> &'static str {
    BINDINGS
        .iter()
        .find(|b| (b.action)() == Action::ToggleOption(option))
        .map(|b| b.keys)
        .unwrap_or("")
}

/// What a key means outside a prompt.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| (b.matches)(key))
        .map(|b| (b.action)())
}

/// What a key means while a line is being typed.
pub fn prompt_action(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('c') if ctrl => Some(Action::Quit),
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

    #[test]
    fn every_ignore_option_has_a_key_and_no_key_is_bound_twice() {
        for option in IgnoreOption::ALL {
            assert!(!option_key(option).is_empty(), "{option:?} has no key");
        }
        let probes = [
            'q', '?', 'b', 'k', 'j', 'g', 'G', ' ', 'h', 'l', ']', '[', '/', 'n', 'N', 'f', 'v',
            'w', 'W', 'm', 'u', '<', '>', '{', '}', 'z', 't', 'x', 'e', 'y', 'i', 'I', 'A', 'R',
            'M', 'U', 's', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-',
        ];
        for c in probes {
            let hits = BINDINGS
                .iter()
                .filter(|b| (b.matches)(&key(KeyCode::Char(c))))
                .count();
            assert_eq!(hits, 1, "{c:?} is bound {hits} times");
        }
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
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
        assert_eq!(prompt_action(&ctrl_c), Some(Action::Quit));
        assert_eq!(
            prompt_action(&key(KeyCode::Char('q'))),
            Some(Action::PromptInput('q'))
        );
    }
}
