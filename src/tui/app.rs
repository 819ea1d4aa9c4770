//! The explorer's state and what each action does to it. No terminal here: the event loop feeds
//! actions and engine events in, the view draws from it, tests drive it directly.
//!
//! The state is split by pane (serie's `view/` style): the [`Session`] (the comparison and the lens
//! it is seen through), the [`TreePane`], the [`DetailPane`], the [`StatusBar`], the [`Help`] overlay
//! and the [`Layout`] of the panes. Each key has one meaning whatever the focused pane.

use std::path::PathBuf;

use crate::filter::{Filter, IgnoreOption, View};
use crate::model::{ContextKind, Event};
use crate::report::{NonEmpty, ReportDir, ReportError};

use super::command::{CommandParts, reproduce};
use super::keys::Keymap;
use super::labels::property_label;
use super::session::{Changed, Session};
use super::tree::{Expansion, NodeId, NodeKey, NodeKind, Status, contains_folded};
use super::view::Layout;
use super::view::detail::DetailPane;
use super::view::help::Help;
use super::view::status::{Message, Prompt, StatusBar};
use super::view::tree_pane::TreePane;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Tree,
    Detail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Added,
    Removed,
    Modified,
    Unchanged,
}

/// Everything a key, a click or the loop can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Collapse,
    Expand,
    ToggleExpand,
    SwitchPane,
    NextDifference,
    PreviousDifference,
    ToggleOption(IgnoreOption),
    ToggleSemantic,
    ToggleStatus(StatusKind),
    CycleView,
    ToggleSideBySide,
    ToggleWrap,
    /// Masks date and time tokens in text diffs: lines that differ only in them drop out.
    ToggleMaskTimestamps,
    /// Lists only the differences left unexplained.
    ToggleUnexplainedOnly,
    /// Scrolls the detail pane sideways, by steps (negative: left).
    ScrollSideways(isize),
    /// Moves the split between tree and detail, by steps (negative: narrower tree).
    MoveSplit(i16),
    ToggleZoom,
    SwapSides,
    ToggleHistory,
    ToggleHelp,
    ShowLegend,
    StartSearch,
    NextMatch,
    PreviousMatch,
    StartTreeFilter,
    StartExport,
    CopyCommand,
    IgnorePath,
    ForgetIgnoredPaths,
    PromptInput(char),
    PromptBackspace,
    PromptSubmit,
    PromptCancel,
    ScrollDetail(isize),
    /// A click on the given row of the tree pane (0 = first row shown).
    ClickRow(usize),
    /// The border between the panes dragged to this column (0 = left edge of the screen).
    DragSplit(u16),
    Resize,
}

/// What the loop must do after an action, beyond redrawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    /// Export these differences (indexes into the report) into a report directory.
    Export {
        dir: PathBuf,
        differences: Vec<usize>,
        overwrite: bool,
    },
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// The sides were swapped: contents must be read from the inputs in their new order.
    Swapped,
}

pub struct App {
    pub session: Session,
    pub tree: TreePane,
    pub detail: DetailPane,
    pub bar: StatusBar,
    pub help: Help,
    pub layout: Layout,
    /// The keys in effect (the config file's `[keys]` applied).
    pub keys: Keymap,
    /// A path to select as soon as it is listed (`--select`), until a key moves the selection.
    pending_select: Option<String>,
    /// Arguments of the command line that chose what is compared, for the reproducing command.
    extra_args: Vec<String>,
}

impl App {
    pub fn new(specs: [String; 2], filter: Filter, view: View) -> App {
        App {
            session: Session::new(specs, filter, view),
            tree: TreePane::default(),
            detail: DetailPane::default(),
            bar: StatusBar::default(),
            help: Help::default(),
            layout: Layout::default(),
            keys: Keymap::default(),
            pending_select: None,
            extra_args: Vec::new(),
        }
    }

    /// Selects `path` once it is listed.
    pub fn select_when_listed(&mut self, path: Option<String>) {
        self.pending_select = path.map(|p| p.trim_matches('/').to_owned());
    }

    pub fn set_extra_args(&mut self, args: Vec<String>) {
        self.extra_args = args;
    }

    /// Takes in one engine event.
    pub fn on_event(&mut self, event: Event) -> Changed {
        let changed = self.session.on_event(event);
        if changed.tree {
            self.tree.mark_rows_stale();
            // "No more differences" is not true any more once more arrive.
            self.bar.forget_navigation();
        }
        changed
    }

    /// Recomputes what the session lists and the rows if anything they depend on changed.
    pub fn refresh(&mut self) {
        if self.session.refresh() || self.tree.rows_stale() {
            self.keep_selection_across_views();
            self.tree.rebuild(&self.session);
            self.select_pending();
        }
        self.detail.follow(self.tree.selected_key());
    }

    /// Counts what each option hides (after a frame: see [`Session::refresh_counts`]); true if it
    /// did, and the status bar must be drawn again.
    pub fn refresh_counts(&mut self) -> bool {
        self.refresh();
        self.session.refresh_counts()
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.selected_node()
    }

    /// The difference of the selection, if it stands for one.
    pub fn selected_difference(&self) -> Option<(usize, &crate::model::Difference)> {
        let index = self.session.tree().difference_of(self.selected_node()?)?;
        Some((index, self.session.report().differences.get(index)?))
    }

    /// Applies an action; returns what the loop must do besides redrawing.
    pub fn update(&mut self, action: Action) -> Effect {
        self.refresh();
        if !matches!(action, Action::Resize) {
            self.bar.clear_message();
        }
        if let Some(prompt) = self.bar.prompt().cloned() {
            return self.update_prompt(prompt, action);
        }
        if self.help.is_open() {
            return self.update_help(action);
        }
        if is_a_move(&action) {
            self.pending_select = None;
        }
        let effect = self.apply(action);
        self.refresh();
        effect
    }

    fn apply(&mut self, action: Action) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End => self.navigate(action),
            Action::ScrollDetail(lines) => self.detail.scroll_by(lines),
            Action::Collapse => self.collapse(),
            Action::Expand => self.set_expanded(true),
            Action::ToggleExpand => {
                let open = self
                    .tree
                    .rows()
                    .get(self.tree.selected_row())
                    .is_some_and(|r| r.expanded);
                self.set_expanded(!open);
            }
            Action::SwitchPane => self.layout.switch_focus(),
            Action::NextDifference => self.jump_to_difference(true),
            Action::PreviousDifference => self.jump_to_difference(false),
            Action::ToggleOption(option) => self.session.toggle_option(option),
            Action::ToggleSemantic => self.session.toggle_semantic(),
            Action::ToggleStatus(kind) => self.session.toggle_status(match kind {
                StatusKind::Added => Status::Added,
                StatusKind::Removed => Status::Removed,
                StatusKind::Modified => Status::Modified,
                StatusKind::Unchanged => Status::Unchanged,
            }),
            Action::CycleView => self.session.cycle_view(),
            Action::ToggleSideBySide => self.detail.toggle_side_by_side(),
            Action::ToggleWrap => self.detail.toggle_wrap(),
            Action::ToggleMaskTimestamps => {
                let on = self.detail.toggle_mask();
                self.bar.say(Message::result(
                    if on {
                        "timestamps masked in text diffs: lines that differ only in them are left out (m shows them)"
                    } else {
                        "timestamps shown in text diffs"
                    }
                    .into(),
                ));
            }
            Action::ToggleUnexplainedOnly => self.session.toggle_unexplained_only(),
            Action::ScrollSideways(steps) => self.detail.scroll_horizontally(steps),
            Action::MoveSplit(steps) => self.layout.move_split(steps),
            Action::DragSplit(column) => self.layout.drag_split(column),
            Action::ToggleZoom => self.layout.toggle_zoom(),
            Action::SwapSides => {
                self.session.swap();
                self.bar.say(Message::result(format!(
                    "sides swapped: input 0 is now {}",
                    self.session.specs()[0]
                )));
                return Effect::Swapped;
            }
            Action::ToggleHistory => self.detail.toggle_history(),
            Action::ToggleHelp => self.help.open_at_keys(),
            Action::ShowLegend => self.help.open_at_legend(),
            Action::StartSearch => self.start_search(),
            Action::NextMatch => self.search_next(true),
            Action::PreviousMatch => self.search_next(false),
            Action::StartTreeFilter => self.bar.ask(Prompt::TreeFilter(
                self.session.tree_filter().unwrap_or("").to_owned(),
            )),
            Action::StartExport => self.bar.ask(Prompt::Export(self.default_export_dir())),
            Action::CopyCommand => {
                let command = self.command();
                self.bar
                    .say(Message::result(format!("copied (OSC 52): {command}")));
                return Effect::Copy(command);
            }
            Action::IgnorePath => self.ignore_selected_path(),
            Action::ForgetIgnoredPaths => {
                let count = self.session.forget_ignored_paths();
                self.bar.say(Message::result(format!(
                    "{count} path(s) ignored in this session are listed again"
                )));
            }
            Action::ClickRow(row) => {
                self.layout.focus = Focus::Tree;
                self.pending_select = None;
                self.tree
                    .select_row(&self.session, self.tree.offset() + row);
            }
            Action::Resize
            | Action::PromptInput(_)
            | Action::PromptBackspace
            | Action::PromptSubmit
            | Action::PromptCancel => {}
        }
        Effect::None
    }

    /// While the help is open: moves scroll it, `?` and `b` switch or close it, anything else
    /// closes it without doing its job.
    fn update_help(&mut self, action: Action) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::Up => self.help.scroll_by(-1),
            Action::Down => self.help.scroll_by(1),
            Action::PageUp => self.help.scroll_by(-10),
            Action::PageDown => self.help.scroll_by(10),
            Action::Home => self.help.scroll_by(isize::MIN / 2),
            Action::End => self.help.scroll_by(isize::MAX / 2),
            Action::ToggleHelp => self.help.toggle_keys(),
            Action::ShowLegend => self.help.toggle_legend(),
            Action::Resize | Action::ScrollDetail(_) => {}
            _ => self.help.close(),
        }
        Effect::None
    }

    fn update_prompt(&mut self, prompt: Prompt, action: Action) -> Effect {
        match action {
            Action::Quit => return Effect::Quit,
            Action::PromptCancel => {
                self.cancel_prompt(prompt);
                return Effect::None;
            }
            Action::PromptSubmit => return self.submit_prompt(prompt),
            Action::PromptInput(c) => {
                if let Prompt::ConfirmOverwrite { .. } = prompt {
                    return if c == 'y' || c == 'Y' {
                        self.submit_prompt(prompt)
                    } else {
                        self.cancel_prompt(prompt);
                        Effect::None
                    };
                }
                self.edit_prompt(prompt, |text| text.push(c));
            }
            Action::PromptBackspace => self.edit_prompt(prompt, |text| {
                text.pop();
            }),
            _ => {}
        }
        Effect::None
    }

    fn edit_prompt(&mut self, prompt: Prompt, edit: impl FnOnce(&mut String)) {
        let prompt = match prompt {
            Prompt::Search { mut text, start } => {
                edit(&mut text);
                let prompt = Prompt::Search { text, start };
                self.bar.ask(prompt.clone());
                self.incremental_search(&prompt);
                return;
            }
            Prompt::TreeFilter(mut text) => {
                edit(&mut text);
                self.session.set_tree_filter(&text);
                Prompt::TreeFilter(text)
            }
            Prompt::Export(mut text) => {
                edit(&mut text);
                Prompt::Export(text)
            }
            confirm @ Prompt::ConfirmOverwrite { .. } => confirm,
        };
        self.bar.ask(prompt);
        self.refresh();
    }

    fn cancel_prompt(&mut self, prompt: Prompt) {
        self.bar.close_prompt();
        match prompt {
            // Esc puts back what the search opened and where the selection was.
            Prompt::Search { start, .. } => {
                self.tree.set_expansion(start.expansion);
                if let Some(key) = start.selected {
                    self.tree.want(key);
                }
            }
            Prompt::TreeFilter(_) => self.session.set_tree_filter(""),
            Prompt::ConfirmOverwrite { dir, .. } => self.bar.say(Message::result(format!(
                "export cancelled: {} left as it was",
                dir.display()
            ))),
            Prompt::Export(_) => {}
        }
        self.refresh();
    }

    fn submit_prompt(&mut self, prompt: Prompt) -> Effect {
        self.bar.close_prompt();
        match prompt {
            Prompt::Search { text, .. } => {
                let matches = self.matches(&text).len();
                self.bar
                    .set_search(Some(text.clone()).filter(|t| !t.is_empty()));
                if !text.is_empty() {
                    self.bar.say(match matches {
                        0 => Message::navigation(format!("not found: {text}")),
                        n => Message::result(format!(
                            "{n} match(es) for {text}: n / N to go through them"
                        )),
                    });
                }
            }
            Prompt::TreeFilter(text) => {
                self.session.set_tree_filter(&text);
                self.refresh();
                if !text.is_empty() {
                    let listed = self.session.listed_counts().total();
                    self.bar.say(Message::result(format!(
                        "tree filtered to paths with {text}: {listed} row(s) listed (f, then Esc, to clear)"
                    )));
                }
            }
            Prompt::Export(text) => return self.export_effect(PathBuf::from(text)),
            Prompt::ConfirmOverwrite { dir, differences } => {
                return Effect::Export {
                    dir,
                    differences,
                    overwrite: true,
                };
            }
        }
        Effect::None
    }

    fn navigate(&mut self, action: Action) {
        if self.layout.focus == Focus::Detail {
            let page = self.detail.page() as isize;
            let lines = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -page,
                Action::PageDown => page,
                Action::Home => isize::MIN / 2,
                _ => isize::MAX / 2,
            };
            return self.detail.scroll_by(lines);
        }
        let page = self.tree.height();
        let current = self.tree.selected_row();
        let row = match action {
            Action::Up => current.saturating_sub(1),
            Action::Down => current + 1,
            Action::PageUp => current.saturating_sub(page),
            Action::PageDown => current + page,
            Action::Home => 0,
            _ => self.tree.rows().len().saturating_sub(1),
        };
        self.tree.select_row(&self.session, row);
    }

    fn collapse(&mut self) {
        let Some(row) = self.tree.rows().get(self.tree.selected_row()).copied() else {
            return;
        };
        if row.expanded {
            self.set_expanded(false);
        } else if let Some(parent) = self.session.tree().node(row.node).parent()
            && let Some(index) = self.tree.row_of(parent)
        {
            self.tree.select_row(&self.session, index);
        }
    }

    fn set_expanded(&mut self, open: bool) {
        let Some(row) = self.tree.rows().get(self.tree.selected_row()).copied() else {
            return;
        };
        if row.has_children {
            self.tree.set_expanded(&self.session, row.node, open);
        }
    }

    /// Moves to the next (or previous) listed difference in tree order, contexts included, opening
    /// what hides it; says so when it wraps around.
    fn jump_to_difference(&mut self, forward: bool) {
        let tree = self.session.tree();
        let listing = self.session.listing();
        let order = tree.in_order();
        let stop = |id: &&NodeId| listing.is_own(**id) && self.reachable(**id);
        let current = self.selected_node().map(|n| tree.rank(n));
        let (after, before) = match current {
            Some(at) if forward => (&order[at + 1..], &order[..=at]),
            Some(at) => (&order[..at], &order[at..]),
            None => (order, &order[..0]),
        };
        let (found, wrapped) = if forward {
            match after.iter().find(stop) {
                Some(id) => (Some(*id), false),
                None => (before.iter().find(stop).copied(), true),
            }
        } else {
            match after.iter().rev().find(stop) {
                Some(id) => (Some(*id), false),
                None => (before.iter().rev().find(stop).copied(), true),
            }
        };
        match found {
            None => self
                .bar
                .say(Message::navigation("no differences listed".into())),
            Some(id) => {
                if wrapped {
                    let end = if forward { "first" } else { "last" };
                    self.bar.say(Message::navigation(format!(
                        "wrapped around to the {end} difference"
                    )));
                }
                self.reveal(id);
            }
        }
    }

    /// Whether a node is listed and every context above it is in the view.
    fn reachable(&self, id: NodeId) -> bool {
        let visible = &self.session.listing().visible;
        visible.get(id.index()).copied().unwrap_or(false)
            && self
                .session
                .tree()
                .ancestors(id)
                .all(|a| visible.get(a.index()).copied().unwrap_or(false))
    }

    /// Listed nodes whose path (or context label) contains `text`, any case, in tree order.
    fn matches(&self, text: &str) -> Vec<NodeId> {
        if text.is_empty() {
            return Vec::new();
        }
        let query = text.to_lowercase();
        let tree = self.session.tree();
        let paths = tree.matching(&query);
        tree.in_order()
            .iter()
            .copied()
            .filter(|&id| {
                let node = tree.node(id);
                let hit = match node.kind {
                    NodeKind::Context(_) => contains_folded(tree.name(node), &query),
                    NodeKind::Property { kind, .. } => {
                        contains_folded(&property_label(kind, tree.name(node)), &query)
                    }
                    _ => paths[id.index()],
                };
                hit && self.reachable(id)
            })
            .collect()
    }

    fn start_search(&mut self) {
        let start = super::view::status::SearchStart {
            expansion: self.tree.expansion().clone(),
            selected: self.tree.selected_key().cloned(),
        };
        self.bar.ask(Prompt::Search {
            text: String::new(),
            start,
        });
    }

    /// Each keystroke goes to the first match from where the search started, with only what that
    /// match needs opened (what earlier keystrokes opened is closed again).
    fn incremental_search(&mut self, prompt: &Prompt) {
        let Prompt::Search { text, start } = prompt else {
            return;
        };
        self.tree.set_expansion(start.expansion.clone());
        if let Some(key) = &start.selected {
            self.tree.want(key.clone());
        }
        self.refresh();
        let matches = self.matches(text);
        self.bar
            .set_match_count((!text.is_empty()).then_some(matches.len()));
        let tree = self.session.tree();
        let from = start
            .selected
            .as_ref()
            .and_then(|k| tree.find(k))
            .map_or(0, |n| tree.rank(n));
        let target = matches
            .iter()
            .find(|id| tree.rank(**id) >= from)
            .or(matches.first())
            .copied();
        if let Some(id) = target {
            self.reveal(id);
        }
    }

    fn search_next(&mut self, forward: bool) {
        let Some(text) = self.bar.search().map(str::to_owned) else {
            self.bar
                .say(Message::navigation("no search yet: / to search".into()));
            return;
        };
        let matches = self.matches(&text);
        if matches.is_empty() {
            self.bar
                .say(Message::navigation(format!("not found: {text}")));
            return;
        }
        let tree = self.session.tree();
        let current = self.selected_node().map_or(0, |n| tree.rank(n));
        let next = if forward {
            matches.iter().position(|id| tree.rank(*id) > current)
        } else {
            matches.iter().rposition(|id| tree.rank(*id) < current)
        };
        let (index, wrapped) = match next {
            Some(i) => (i, false),
            None if forward => (0, true),
            None => (matches.len() - 1, true),
        };
        let wrap_note = if wrapped { ", wrapped around" } else { "" };
        self.bar.say(Message::navigation(format!(
            "match {} of {} for {text}{wrap_note}",
            index + 1,
            matches.len()
        )));
        self.reveal(matches[index]);
    }

    /// Opens the ancestors of a node and selects it.
    pub fn reveal(&mut self, id: NodeId) {
        let ancestors: Vec<NodeId> = self.session.tree().ancestors(id).collect();
        for ancestor in ancestors {
            self.tree.set_expanded(&self.session, ancestor, true);
        }
        self.tree.want(self.session.tree().key(id));
        self.refresh();
    }

    /// `--select`: the first listed node with that path, once there is one.
    fn select_pending(&mut self) {
        let Some(path) = self.pending_select.clone() else {
            return;
        };
        let tree = self.session.tree();
        let found = tree.in_order().iter().copied().find(|&id| {
            matches!(
                tree.node(id).kind,
                NodeKind::Dir { .. } | NodeKind::Entry { .. }
            ) && self.reachable(id)
                && tree.path_of(id) == path
        });
        if let Some(id) = found {
            self.pending_select = None;
            self.reveal(id);
        }
    }

    /// When the selected path leaves the view (`v`: per layer ↔ merged), selects the same path where
    /// the view shows it: in the merged filesystem, or in the layer that gave it; else its nearest
    /// directory that is listed.
    fn keep_selection_across_views(&mut self) {
        let Some(NodeKey::Path(context, path)) = self.tree.selected_key().cloned() else {
            return;
        };
        let tree = self.session.tree();
        if tree
            .find(&NodeKey::Path(context, path.clone()))
            .is_some_and(|n| self.reachable(n))
        {
            return;
        }
        let report = self.session.report();
        let manifest = report.context(context).and_then(|c| c.parent);
        let origin = tree
            .find_path(context, &path)
            .and_then(|n| tree.difference_of(n))
            .and_then(|d| report.differences.get(d))
            .and_then(|d| d.origin.get())
            .map(|o| [o.input1, o.input0]);
        let mut contexts: Vec<(u8, crate::model::ContextId)> = report
            .contexts
            .iter()
            .filter(|c| c.parent == manifest && c.id != context)
            .filter_map(|c| {
                let rank = match c.kind {
                    ContextKind::MergedFs => 0,
                    ContextKind::Layer { index } => {
                        if origin.is_some_and(|o| o.contains(&Some(index as u32))) {
                            1
                        } else {
                            // Higher layers first: they give the file as the image has it.
                            u8::MAX - (index.min(200) as u8)
                        }
                    }
                    _ => return None,
                };
                Some((rank, c.id))
            })
            .collect();
        contexts.sort();
        let mut wanted: &str = &path;
        loop {
            for &(_, candidate) in &contexts {
                if let Some(id) = tree
                    .find_path(candidate, wanted)
                    .filter(|n| self.reachable(*n))
                {
                    let key = tree.key(id);
                    self.reveal_key(key);
                    return;
                }
            }
            match wanted.rsplit_once('/') {
                Some((parent, _)) => wanted = parent,
                None => return,
            }
        }
    }

    fn reveal_key(&mut self, key: NodeKey) {
        if let Some(id) = self.session.tree().find(&key) {
            let ancestors: Vec<NodeId> = self.session.tree().ancestors(id).collect();
            for ancestor in ancestors {
                self.tree.set_expanded(&self.session, ancestor, true);
            }
        }
        self.tree.want(key);
    }

    /// `i`: ignores the selected path (and what is below it) for this session.
    fn ignore_selected_path(&mut self) {
        let Some(id) = self.selected_node() else {
            return;
        };
        let path = self.session.tree().path_of(id);
        if path.is_empty() {
            self.bar.say(Message::navigation(
                "i ignores a path: select a file or a directory".into(),
            ));
            return;
        }
        match self.session.ignore_path(&path) {
            Ok(()) => self.bar.say(Message::result(format!(
                "ignoring {path} in this session (--ignore-path; y copies the command, I lists it again)"
            ))),
            Err(error) => self.bar.say(Message::result(format!("cannot ignore {path}: {error}"))),
        }
    }

    /// The command line that reproduces the current view.
    pub fn command(&self) -> String {
        let select = self
            .selected_node()
            .map(|id| self.session.tree().path_of(id))
            .filter(|p| !p.is_empty());
        reproduce(&CommandParts {
            specs: self.session.specs(),
            filter: self.session.filter(),
            view: self.session.view(),
            select: select.as_deref(),
            extra_args: &self.extra_args,
        })
    }

    fn default_export_dir(&self) -> String {
        let name = self
            .selected_node()
            .map(|id| self.session.tree().path_of(id).replace('/', "_"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "export".into());
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("./ocidiff-{}", safe.trim_start_matches('.'))
    }

    /// The listed differences in the selected subtree; a directory that is not empty is asked about.
    fn export_effect(&mut self, dir: PathBuf) -> Effect {
        let Some(root) = self.selected_node() else {
            return Effect::None;
        };
        let tree = self.session.tree();
        let listing = self.session.listing();
        let mut differences = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if listing.is_own(id)
                && let Some(d) = tree.difference_of(id)
            {
                differences.push(d);
            }
            stack.extend(tree.node(id).children.iter().copied());
        }
        differences.sort_unstable();
        if differences.is_empty() {
            self.bar
                .say(Message::result("nothing to export here".into()));
            return Effect::None;
        }
        match ReportDir::check(&dir, NonEmpty::Refuse) {
            Ok(()) => Effect::Export {
                dir,
                differences,
                overwrite: false,
            },
            Err(ReportError::NotEmpty { .. }) => {
                self.bar.ask(Prompt::ConfirmOverwrite { dir, differences });
                Effect::None
            }
            Err(error) => {
                self.bar
                    .say(Message::result(format!("export failed: {error}")));
                Effect::None
            }
        }
    }

    /// For the frame benchmark and tests: every node with children open.
    pub fn open_everything(&mut self) {
        // The tree's order is brought up to date by a refresh; before it, nodes that arrived
        // since the last one are missing from `in_order`.
        self.refresh();
        let mut expansion = Expansion::default();
        let tree = self.session.tree();
        for &id in tree.in_order() {
            if !tree.node(id).children.is_empty() {
                expansion.set(tree, id, true);
            }
        }
        self.tree.set_expansion(expansion);
        self.refresh();
    }
}

/// Keys that move the selection (a pending `--select` gives way to them).
fn is_a_move(action: &Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End
            | Action::NextDifference
            | Action::PreviousDifference
            | Action::NextMatch
            | Action::PreviousMatch
            | Action::ClickRow(_)
    )
}
