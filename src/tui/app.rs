//! The explorer's state and what each action does to it. No terminal here: the event loop feeds
//! actions and engine events in, the view draws from it, tests drive it directly.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::filter::{Filter, IgnoreOption, Presentation, View};
use crate::model::{ContextId, Difference, Event, Report};

use super::tree::{
    Expansion, NodeId, NodeKey, NodeKind, Row, StatusCounts, StatusToggles, Tree, Visibility,
};

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Detail,
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Search(String),
    Export(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Added,
    Removed,
    Modified,
    Unchanged,
}

/// Everything a key, a click or the loop can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    FocusTree,
    NextDifference,
    PreviousDifference,
    ToggleOption(IgnoreOption),
    ToggleSemantic,
    ToggleStatus(StatusKind),
    CycleView,
    ToggleSideBySide,
    ToggleHelp,
    StartSearch,
    NextMatch,
    PreviousMatch,
    StartExport,
    PromptInput(char),
    PromptBackspace,
    PromptSubmit,
    PromptCancel,
    ScrollDetail(i32),
    /// A click on the given row of the tree pane (0 = first row shown).
    ClickRow(usize),
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
    },
}

pub struct App {
    pub specs: [String; 2],
    pub report: Report,
    pub tree: Tree,
    pub filter: Filter,
    pub view: View,
    pub toggles: StatusToggles,
    pub expansion: Expansion,
    /// Per difference: shown by the filter (recomputed when the filter, view or data change).
    pub shown: Vec<bool>,
    pub hidden_by_option: BTreeMap<IgnoreOption, usize>,
    /// Per tree node: the statuses of the file differences at or below it (recomputed with `shown`).
    pub status_counts: Vec<StatusCounts>,
    pub rows: Vec<Row>,
    /// The selected row, kept by key so it survives re-filtering.
    pub selected: Option<NodeKey>,
    pub selected_row: usize,
    /// First row drawn in the tree pane.
    pub tree_offset: usize,
    /// Rows the tree pane can show (set by the view when drawing).
    pub tree_height: usize,
    pub focus: Focus,
    pub detail_scroll: u16,
    pub side_by_side: bool,
    pub help: bool,
    pub prompt: Option<Prompt>,
    pub last_search: Option<String>,
    /// A one-line message for the status bar (export done, no match...).
    pub message: Option<String>,
    pub no_color: bool,
    /// When the comparison started, for the read rate.
    pub started: std::time::Instant,
    /// Layer or merged contexts the view leaves out (recomputed with `shown`).
    hidden_contexts: HashSet<ContextId>,
    /// The data, the filter or the view changed: `shown` and everything after it must be redone.
    stale: bool,
    /// Only what is open or which statuses are listed changed: the rows must be redone, not the
    /// filter (which costs a hundred times more on a big tree).
    rows_stale: bool,
    /// The per-option hidden counts must be redone (filter or view changed, or the comparison ended);
    /// they cost one filter pass per option, so new data alone does not redo them while streaming.
    counts_stale: bool,
    last_refresh: Option<std::time::Instant>,
}

/// While the comparison streams, new data is taken into the filter results at most this often.
const STREAMING_REFRESH: std::time::Duration = std::time::Duration::from_millis(300);

impl App {
    pub fn new(specs: [String; 2], filter: Filter, view: View) -> App {
        App {
            specs,
            report: Report::default(),
            tree: Tree::default(),
            filter,
            view,
            toggles: StatusToggles::default(),
            expansion: Expansion::default(),
            shown: Vec::new(),
            hidden_by_option: BTreeMap::new(),
            status_counts: Vec::new(),
            rows: Vec::new(),
            selected: None,
            selected_row: 0,
            tree_offset: 0,
            tree_height: 20,
            focus: Focus::Tree,
            detail_scroll: 0,
            side_by_side: false,
            help: false,
            prompt: None,
            last_search: None,
            message: None,
            no_color: false,
            started: std::time::Instant::now(),
            hidden_contexts: HashSet::new(),
            stale: true,
            rows_stale: true,
            counts_stale: true,
            last_refresh: None,
        }
    }

    /// Takes in one engine event.
    pub fn on_event(&mut self, event: Event) {
        let finished = matches!(event, Event::Finished);
        let grows = matches!(event, Event::Context(_) | Event::Difference(_));
        self.report.apply(event);
        if finished {
            // The report reorders its differences when it finishes: rebuild on the new indexes.
            self.tree = Tree::build(&self.report);
        } else if grows {
            self.tree.sync(&self.report);
        }
        self.stale |= finished || grows;
        self.counts_stale |= finished;
    }

    /// Recomputes filter results and rows if anything they depend on changed.
    pub fn refresh(&mut self) {
        if !self.stale && !self.rows_stale {
            return;
        }
        let only_new_data =
            self.stale && !self.rows_stale && !self.counts_stale && !self.report.finished;
        if only_new_data
            && self
                .last_refresh
                .is_some_and(|t| t.elapsed() < STREAMING_REFRESH)
        {
            return;
        }
        if self.stale {
            self.last_refresh = Some(std::time::Instant::now());
            let presentation = Presentation::new(&self.report, &self.filter, self.view);
            self.shown = presentation.shown_flags();
            if self.counts_stale {
                self.hidden_by_option = presentation.hidden_by_option();
                self.counts_stale = false;
            }
            self.hidden_contexts = self
                .report
                .contexts
                .iter()
                .filter(|c| !presentation.context_in_view(c))
                .map(|c| c.id)
                .collect();
            self.status_counts = self.tree.status_counts(&self.report, &self.shown);
        }
        self.stale = false;
        self.rows_stale = false;
        let visible = self.tree.visibility(&self.report, &self.visibility_rules());
        self.rows = self.tree.rows(&visible, &self.expansion);
        self.restore_selection();
    }

    fn visibility_rules(&self) -> Visibility<'_> {
        Visibility {
            shown: &self.shown,
            toggles: self.toggles,
            hidden_contexts: &self.hidden_contexts,
        }
    }

    fn restore_selection(&mut self) {
        let found = self.selected.as_ref().and_then(|key| {
            let id = self.tree.find(key)?;
            self.rows.iter().position(|r| r.node == id)
        });
        let row = found.unwrap_or(self.selected_row.min(self.rows.len().saturating_sub(1)));
        self.select_row(row);
    }

    pub fn selected_node(&self) -> Option<NodeId> {
        self.rows.get(self.selected_row).map(|r| r.node)
    }

    /// The file difference of the selection, if it is an entry (or a directory whose entry differs).
    pub fn selected_difference(&self) -> Option<(usize, &Difference)> {
        let index = self.tree.difference_of(self.selected_node()?)?;
        Some((index, self.report.differences.get(index)?))
    }

    fn select_row(&mut self, row: usize) {
        if self.rows.is_empty() {
            self.selected_row = 0;
            return;
        }
        let row = row.min(self.rows.len() - 1);
        if row != self.selected_row {
            self.detail_scroll = 0;
        }
        self.selected_row = row;
        self.selected = Some(self.tree.key(self.rows[row].node));
        let height = self.tree_height.max(1);
        if row < self.tree_offset {
            self.tree_offset = row;
        } else if row >= self.tree_offset + height {
            self.tree_offset = row + 1 - height;
        }
    }

    /// Applies an action; returns what the loop must do besides redrawing.
    pub fn update(&mut self, action: Action) -> Effect {
        self.refresh();
        if !matches!(action, Action::Resize) {
            self.message = None;
        }
        if let Some(prompt) = self.prompt.clone() {
            return self.update_prompt(prompt, action);
        }
        if self.help && !matches!(action, Action::ToggleHelp | Action::Quit) {
            self.help = false;
            return Effect::None;
        }
        match action {
            Action::Quit => return Effect::Quit,
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End => self.navigate(action),
            Action::ScrollDetail(lines) => self.scroll_detail(lines),
            Action::Collapse => self.collapse(),
            Action::Expand => self.set_expanded(true),
            Action::ToggleExpand => {
                let open = self.rows.get(self.selected_row).is_some_and(|r| r.expanded);
                self.set_expanded(!open);
            }
            Action::SwitchPane => {
                self.focus = if self.focus == Focus::Tree {
                    Focus::Detail
                } else {
                    Focus::Tree
                }
            }
            Action::FocusTree => self.focus = Focus::Tree,
            Action::NextDifference => self.jump_to_difference(true),
            Action::PreviousDifference => self.jump_to_difference(false),
            Action::ToggleOption(option) => self.set_filter(self.filter.toggled(option)),
            Action::ToggleSemantic => self.toggle_semantic(),
            Action::ToggleStatus(kind) => self.toggle_status(kind),
            Action::CycleView => {
                self.view = match self.view {
                    View::Auto => View::PerLayer,
                    View::PerLayer => View::Merged,
                    View::Merged => View::Auto,
                };
                self.stale = true;
                self.counts_stale = true;
            }
            Action::ToggleSideBySide => self.side_by_side = !self.side_by_side,
            Action::ToggleHelp => self.help = !self.help,
            Action::StartSearch => self.prompt = Some(Prompt::Search(String::new())),
            Action::NextMatch => self.search_next(true, false),
            Action::PreviousMatch => self.search_next(false, false),
            Action::StartExport => self.prompt = Some(Prompt::Export(self.default_export_dir())),
            Action::ClickRow(row) => {
                self.focus = Focus::Tree;
                self.select_row(self.tree_offset + row);
            }
            Action::Resize
            | Action::PromptInput(_)
            | Action::PromptBackspace
            | Action::PromptSubmit
            | Action::PromptCancel => {}
        }
        self.refresh();
        Effect::None
    }

    fn update_prompt(&mut self, prompt: Prompt, action: Action) -> Effect {
        let (mut text, search) = match prompt {
            Prompt::Search(t) => (t, true),
            Prompt::Export(t) => (t, false),
        };
        match action {
            Action::PromptInput(c) => text.push(c),
            Action::PromptBackspace => {
                text.pop();
            }
            Action::PromptCancel => {
                self.prompt = None;
                return Effect::None;
            }
            Action::PromptSubmit => {
                self.prompt = None;
                if search {
                    self.last_search = Some(text).filter(|t| !t.is_empty());
                    return Effect::None;
                }
                return self.export_effect(PathBuf::from(text));
            }
            Action::Quit => return Effect::Quit,
            _ => {}
        }
        if search {
            // Incremental: each keystroke moves to the first match from the current row.
            self.last_search = Some(text.clone()).filter(|t| !t.is_empty());
            self.search_next(true, true);
        }
        self.prompt = Some(if search {
            Prompt::Search(text)
        } else {
            Prompt::Export(text)
        });
        Effect::None
    }

    fn navigate(&mut self, action: Action) {
        if self.focus == Focus::Detail {
            let page = self.tree_height.max(1) as i32;
            let lines = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -page,
                Action::PageDown => page,
                Action::Home => -(u16::MAX as i32),
                _ => u16::MAX as i32,
            };
            return self.scroll_detail(lines);
        }
        let page = self.tree_height.max(1);
        let row = match action {
            Action::Up => self.selected_row.saturating_sub(1),
            Action::Down => self.selected_row + 1,
            Action::PageUp => self.selected_row.saturating_sub(page),
            Action::PageDown => self.selected_row + page,
            Action::Home => 0,
            _ => self.rows.len().saturating_sub(1),
        };
        self.select_row(row);
    }

    fn scroll_detail(&mut self, lines: i32) {
        let next = (self.detail_scroll as i32 + lines).clamp(0, u16::MAX as i32);
        self.detail_scroll = next as u16;
    }

    fn collapse(&mut self) {
        let Some(row) = self.rows.get(self.selected_row).copied() else {
            return;
        };
        if row.expanded {
            self.set_expanded(false);
        } else if let Some(parent) = self.tree.node(row.node).parent
            && let Some(index) = self.rows.iter().position(|r| r.node == parent)
        {
            self.select_row(index);
        }
    }

    fn set_expanded(&mut self, open: bool) {
        let Some(row) = self.rows.get(self.selected_row).copied() else {
            return;
        };
        if row.has_children {
            self.expansion.set(&self.tree, row.node, open);
            self.rows_stale = true;
        }
    }

    fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.stale = true;
        self.counts_stale = true;
    }

    fn toggle_semantic(&mut self) {
        let all_on = IgnoreOption::SEMANTIC
            .iter()
            .all(|o| self.filter.options().contains(o));
        let mut options: Vec<IgnoreOption> = self.filter.options().to_vec();
        if all_on {
            options.retain(|o| !IgnoreOption::SEMANTIC.contains(o));
        } else {
            options.extend(IgnoreOption::SEMANTIC);
        }
        if let Ok(filter) = Filter::new(&options, self.filter.patterns()) {
            self.set_filter(filter);
        }
    }

    fn toggle_status(&mut self, kind: StatusKind) {
        let t = &mut self.toggles;
        match kind {
            StatusKind::Added => t.added = !t.added,
            StatusKind::Removed => t.removed = !t.removed,
            StatusKind::Modified => t.modified = !t.modified,
            StatusKind::Unchanged => t.unchanged = !t.unchanged,
        }
        self.rows_stale = true;
    }

    /// Moves to the next (or previous) shown file difference in tree order, opening what hides it.
    fn jump_to_difference(&mut self, forward: bool) {
        let candidates = self.entry_nodes_in_order(|app, id| {
            app.tree
                .difference_of(id)
                .is_some_and(|d| app.shown.get(d).copied().unwrap_or(false))
        });
        self.jump(candidates, forward, false, "no more differences");
    }

    fn search_next(&mut self, forward: bool, include_current: bool) {
        let Some(query) = self.last_search.clone() else {
            return;
        };
        let query = query.to_lowercase();
        let candidates = self.entry_nodes_in_order(|app, id| {
            let name = match app.tree.node(id).kind {
                NodeKind::Context(_) => app.tree.node(id).name.clone(),
                _ => app.tree.path_of(id),
            };
            name.to_lowercase().contains(&query)
        });
        self.jump(candidates, forward, include_current, "no match");
    }

    /// All nodes in depth-first order (collapsed ones included) that satisfy `wanted` and are visible
    /// when their ancestors are open.
    fn entry_nodes_in_order(&self, wanted: impl Fn(&App, NodeId) -> bool) -> Vec<NodeId> {
        let mut everything_open = self.expansion.clone();
        for index in 0..self.tree.len() {
            let id = NodeId(index as u32);
            // Only nodes with children can be open: opening the 100,000 entries would cost more
            // than the jump itself.
            if !self.tree.node(id).children.is_empty() {
                everything_open.set(&self.tree, id, true);
            }
        }
        let visible = self.tree.visibility(&self.report, &self.visibility_rules());
        self.tree
            .rows(&visible, &everything_open)
            .into_iter()
            .map(|r| r.node)
            .filter(|&id| wanted(self, id))
            .collect()
    }

    fn jump(&mut self, candidates: Vec<NodeId>, forward: bool, include_current: bool, none: &str) {
        // Each node's place in tree order, looked up in O(1): searching the order for every
        // candidate made a jump quadratic (seconds on 100,000 entries).
        let mut rank = vec![0usize; self.tree.len()];
        for (place, id) in self.all_nodes_in_order().into_iter().enumerate() {
            rank[id.0 as usize] = place;
        }
        let position = |id: NodeId| rank.get(id.0 as usize).copied().unwrap_or(0);
        let current = self.selected_node().map(position).unwrap_or(0);
        let target = if forward {
            candidates
                .iter()
                .find(|&&c| {
                    if include_current {
                        position(c) >= current
                    } else {
                        position(c) > current
                    }
                })
                .or(candidates.first())
        } else {
            candidates
                .iter()
                .rev()
                .find(|&&c| position(c) < current)
                .or(candidates.last())
        };
        let Some(&target) = target else {
            self.message = Some(none.to_owned());
            return;
        };
        self.reveal(target);
    }

    fn all_nodes_in_order(&self) -> Vec<NodeId> {
        let mut order = Vec::with_capacity(self.tree.len());
        let mut stack: Vec<NodeId> = self.tree.roots().iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            order.push(id);
            stack.extend(self.tree.node(id).children.iter().rev().copied());
        }
        order
    }

    /// Opens the ancestors of a node and selects it.
    pub fn reveal(&mut self, id: NodeId) {
        let ancestors: Vec<NodeId> = self.tree.ancestors(id).collect();
        for ancestor in ancestors {
            self.expansion.set(&self.tree, ancestor, true);
        }
        self.selected = Some(self.tree.key(id));
        self.rows_stale = true;
        self.refresh();
        if let Some(row) = self.rows.iter().position(|r| r.node == id) {
            self.select_row(row);
        }
    }

    fn default_export_dir(&self) -> String {
        let name = self
            .selected_node()
            .map(|id| match self.tree.node(id).kind {
                NodeKind::Context(_) => "export".to_owned(),
                _ => self.tree.path_of(id).replace('/', "_"),
            })
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

    /// The shown file differences in the selected subtree.
    fn export_effect(&mut self, dir: PathBuf) -> Effect {
        let Some(root) = self.selected_node() else {
            return Effect::None;
        };
        let mut differences = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if let Some(d) = self
                .tree
                .difference_of(id)
                .filter(|d| self.shown.get(*d).copied().unwrap_or(false))
            {
                differences.push(d);
            }
            stack.extend(self.tree.node(id).children.iter().copied());
        }
        differences.sort_unstable();
        if differences.is_empty() {
            self.message = Some("nothing to export here".into());
            return Effect::None;
        }
        Effect::Export { dir, differences }
    }
}
