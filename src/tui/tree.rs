//! The explorer's tree: contexts (images → platform manifests → config, layers, merged filesystem) and,
//! below layers and merged filesystems, directories and entries. Built incrementally from the report as
//! events arrive; what is visible is computed separately (filters, view, collapsed nodes) as a flat list
//! of rows, so a frame only draws the rows on screen whatever the tree's size.

use std::collections::{HashMap, HashSet};

use crate::model::{Aspect, ContextId, Delta, DiffKind, Difference, EntryKind, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Context(ContextId),
    Dir {
        path: String,
    },
    /// A file difference: its index in `Report::differences`.
    Entry {
        difference: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Node {
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    pub depth: u16,
    /// The last path component, or the context's label. Raw: escape before drawing.
    pub name: String,
    pub kind: NodeKind,
    /// The context this node belongs to (itself, for context nodes).
    pub context: ContextId,
}

/// A stable name for a node, kept across tree rebuilds (for collapsed state and selection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeKey {
    pub context: ContextId,
    pub path: String,
}

#[derive(Debug, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    context_nodes: HashMap<ContextId, NodeId>,
    dirs: HashMap<(ContextId, String), NodeId>,
    /// Directory nodes whose own tar entry differs: the difference's index.
    dir_entries: HashMap<NodeId, usize>,
    /// How many differences of the report the tree has taken in.
    seen: usize,
}

impl Tree {
    /// A tree of everything in the report.
    pub fn build(report: &Report) -> Tree {
        let mut tree = Tree::default();
        tree.sync(report);
        tree
    }

    /// Takes in what the report gained since the last call. Differences only ever get appended while
    /// the comparison runs; when it finishes they are reordered, and the tree is rebuilt.
    pub fn sync(&mut self, report: &Report) {
        for context in &report.contexts {
            if !self.context_nodes.contains_key(&context.id) {
                self.add_context(context.id, context.parent, &context.label);
            }
        }
        for (index, difference) in report.differences.iter().enumerate().skip(self.seen) {
            if difference.kind == DiffKind::File {
                self.add_entry(index, difference);
            }
        }
        self.seen = report.differences.len();
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn roots(&self) -> &[NodeId] {
        &self.roots
    }

    pub fn key(&self, id: NodeId) -> NodeKey {
        let node = self.node(id);
        let path = match &node.kind {
            NodeKind::Context(_) => String::new(),
            NodeKind::Dir { path } => path.clone(),
            NodeKind::Entry { .. } => self.path_of(id),
        };
        NodeKey {
            context: node.context,
            path,
        }
    }

    pub fn find(&self, key: &NodeKey) -> Option<NodeId> {
        if key.path.is_empty() {
            return self.context_nodes.get(&key.context).copied();
        }
        if let Some(dir) = self.dirs.get(&(key.context, key.path.clone())) {
            return Some(*dir);
        }
        let (parent_path, _) = key.path.rsplit_once('/').unwrap_or(("", &key.path));
        let parent = if parent_path.is_empty() {
            self.context_nodes.get(&key.context)?
        } else {
            self.dirs.get(&(key.context, parent_path.to_owned()))?
        };
        self.node(*parent)
            .children
            .iter()
            .copied()
            .find(|c| self.path_of(*c) == key.path)
    }

    /// The path of a directory or entry within its layer or filesystem.
    pub fn path_of(&self, id: NodeId) -> String {
        match &self.node(id).kind {
            NodeKind::Context(_) => String::new(),
            NodeKind::Dir { path } => path.clone(),
            NodeKind::Entry { .. } => {
                let node = self.node(id);
                match node.parent.map(|p| &self.node(p).kind) {
                    Some(NodeKind::Dir { path }) => format!("{path}/{}", node.name),
                    _ => node.name.clone(),
                }
            }
        }
    }

    /// The file difference a node stands for: an entry's, or a directory's own entry's.
    pub fn difference_of(&self, id: NodeId) -> Option<usize> {
        match self.node(id).kind {
            NodeKind::Entry { difference } => Some(difference),
            NodeKind::Dir { .. } => self.dir_entries.get(&id).copied(),
            NodeKind::Context(_) => None,
        }
    }

    /// Which nodes are visible, ignoring collapsed directories: entries by their status, directories
    /// when they or something below them is, contexts when the view includes them.
    pub fn visibility(&self, report: &Report, rules: &Visibility<'_>) -> Vec<bool> {
        let mut visible = vec![false; self.nodes.len()];
        // Children always come after their parent, so a reverse walk sees every child first.
        for index in (0..self.nodes.len()).rev() {
            let id = NodeId(index as u32);
            let node = self.node(id);
            visible[index] = match &node.kind {
                NodeKind::Context(c) => !rules.hidden_contexts.contains(c),
                _ => {
                    self.difference_of(id)
                        .is_some_and(|d| rules.shows(report, d))
                        || node.children.iter().any(|c| visible[c.0 as usize])
                }
            };
        }
        visible
    }

    /// The rows to draw: visible nodes, depth first, below expanded nodes only.
    pub fn rows(&self, visible: &[bool], expansion: &Expansion) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            if !visible[id.0 as usize] {
                continue;
            }
            let node = self.node(id);
            let has_children = node.children.iter().any(|c| visible[c.0 as usize]);
            let expanded = has_children && expansion.is_expanded(self, id);
            rows.push(Row {
                node: id,
                depth: node.depth,
                expanded,
                has_children,
            });
            if expanded {
                stack.extend(node.children.iter().rev().copied());
            }
        }
        rows
    }

    /// Per node: the statuses of the file differences at or below it (one pass, children first), so
    /// the detail pane can summarise a layer or a directory without walking it on every frame.
    pub fn status_counts(&self, report: &Report, shown: &[bool]) -> Vec<StatusCounts> {
        let mut counts = vec![StatusCounts::default(); self.nodes.len()];
        // Children always come after their parent: a reverse walk has every child done first.
        for index in (0..self.nodes.len()).rev() {
            let id = NodeId(index as u32);
            if let Some(d) = self.difference_of(id)
                && let Some(difference) = report.differences.get(d)
            {
                counts[index].add(Status::of(
                    difference,
                    shown.get(d).copied().unwrap_or(false),
                ));
            }
            // Differences of a layer do not count in the manifest above it.
            if let Some(parent) = self.node(id).parent
                && !matches!(self.node(id).kind, NodeKind::Context(_))
            {
                let own = counts[index];
                counts[parent.0 as usize].merge(&own);
            }
        }
        counts
    }

    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.node(id).parent, |p| self.node(*p).parent)
    }

    fn push(
        &mut self,
        parent: Option<NodeId>,
        name: String,
        kind: NodeKind,
        context: ContextId,
    ) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        let depth = parent.map_or(0, |p| self.node(p).depth + 1);
        self.nodes.push(Node {
            parent,
            children: Vec::new(),
            depth,
            name,
            kind,
            context,
        });
        match parent {
            Some(p) => self.nodes[p.0 as usize].children.push(id),
            None => self.roots.push(id),
        }
        id
    }

    fn add_context(&mut self, id: ContextId, parent: Option<ContextId>, label: &str) {
        let parent_node = parent.and_then(|p| self.context_nodes.get(&p).copied());
        let node = self.push(parent_node, label.to_owned(), NodeKind::Context(id), id);
        self.context_nodes.insert(id, node);
    }

    fn add_entry(&mut self, index: usize, difference: &Difference) {
        let Some(&context_node) = self.context_nodes.get(&difference.context) else {
            return;
        };
        let path = difference.key.as_str();
        let (dir, name) = match path.rsplit_once('/') {
            Some((dir, name)) => (Some(dir), name),
            None => (None, path),
        };
        let parent = match dir {
            Some(dir) => self.dir_node(difference.context, context_node, dir),
            None => context_node,
        };
        // A directory entry that differs becomes the directory node itself, so its children hang below it.
        let is_dir = difference.entries.as_ref().is_some_and(|e| {
            e.iter()
                .any(|(_, e)| e.as_ref().is_some_and(|e| e.kind == EntryKind::Directory))
        });
        if is_dir && !path.is_empty() {
            let node = self.dir_node(difference.context, context_node, path);
            self.nodes[node.0 as usize].kind = NodeKind::Dir {
                path: path.to_owned(),
            };
            self.dir_entries.insert(node, index);
            return;
        }
        let name = if name.is_empty() {
            ".".to_owned()
        } else {
            name.to_owned()
        };
        self.push(
            Some(parent),
            name,
            NodeKind::Entry { difference: index },
            difference.context,
        );
    }

    fn dir_node(&mut self, context: ContextId, context_node: NodeId, dir: &str) -> NodeId {
        if let Some(&node) = self.dirs.get(&(context, dir.to_owned())) {
            return node;
        }
        let (parent_dir, name) = match dir.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, dir),
        };
        let parent = match parent_dir {
            Some(p) => self.dir_node(context, context_node, p),
            None => context_node,
        };
        let node = self.push(
            Some(parent),
            name.to_owned(),
            NodeKind::Dir {
                path: dir.to_owned(),
            },
            context,
        );
        self.dirs.insert((context, dir.to_owned()), node);
        node
    }
}

/// One line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
    pub expanded: bool,
    pub has_children: bool,
}

/// What a file difference amounts to under the current filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Added,
    Removed,
    TypeChanged,
    Modified,
    /// Equal, or differing only in what the filter hides.
    Unchanged,
}

impl Status {
    pub fn of(difference: &Difference, shown: bool) -> Status {
        if !shown {
            return Status::Unchanged;
        }
        let present = difference
            .entries
            .as_ref()
            .map(|e| (e.input0.is_some(), e.input1.is_some()));
        match present {
            Some((false, true)) => Status::Added,
            Some((true, false)) => Status::Removed,
            _ if difference.deltas.iter().any(|d| d.aspect == Aspect::Kind) => Status::TypeChanged,
            _ => Status::Modified,
        }
    }
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Added,
        Status::Removed,
        Status::TypeChanged,
        Status::Modified,
        Status::Unchanged,
    ];
}

/// How many file differences have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts([u32; 5]);

impl StatusCounts {
    pub fn add(&mut self, status: Status) {
        self.0[status as usize] += 1;
    }

    pub fn merge(&mut self, other: &StatusCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn get(&self, status: Status) -> usize {
        self.0[status as usize] as usize
    }
}

/// Which statuses are listed (the explorer's show/hide keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusToggles {
    pub added: bool,
    pub removed: bool,
    pub modified: bool,
    pub unchanged: bool,
}

impl Default for StatusToggles {
    fn default() -> Self {
        StatusToggles {
            added: true,
            removed: true,
            modified: true,
            unchanged: false,
        }
    }
}

impl StatusToggles {
    pub fn allows(&self, status: Status) -> bool {
        match status {
            Status::Added => self.added,
            Status::Removed => self.removed,
            Status::TypeChanged | Status::Modified => self.modified,
            Status::Unchanged => self.unchanged,
        }
    }
}

/// The rules that decide which nodes are visible.
pub struct Visibility<'a> {
    /// Per difference of the report: does the filter show it.
    pub shown: &'a [bool],
    pub toggles: StatusToggles,
    /// Layer or merged contexts left out by the view.
    pub hidden_contexts: &'a HashSet<ContextId>,
}

impl Visibility<'_> {
    fn shows(&self, report: &Report, difference: usize) -> bool {
        let Some(d) = report.differences.get(difference) else {
            return false;
        };
        let shown = self.shown.get(difference).copied().unwrap_or(false);
        self.toggles.allows(Status::of(d, shown))
    }
}

/// Which nodes are open: contexts start open and directories closed; a node in `toggled` is the other
/// way round. Keyed by [`NodeKey`] so it survives tree rebuilds.
#[derive(Debug, Default, Clone)]
pub struct Expansion {
    toggled: HashSet<NodeKey>,
}

impl Expansion {
    pub fn is_expanded(&self, tree: &Tree, id: NodeId) -> bool {
        let default = matches!(tree.node(id).kind, NodeKind::Context(_));
        default != self.toggled.contains(&tree.key(id))
    }

    pub fn set(&mut self, tree: &Tree, id: NodeId, expanded: bool) {
        if self.is_expanded(tree, id) != expanded {
            let key = tree.key(id);
            if !self.toggled.remove(&key) {
                self.toggled.insert(key);
            }
        }
    }
}

/// The aspects shown for a difference, as one-letter badges (in a fixed order).
pub fn badges(deltas: &[&Delta], difference: &Difference) -> String {
    const BADGES: [(Aspect, char); 12] = [
        (Aspect::Content, 'C'),
        (Aspect::Mode, 'M'),
        (Aspect::ModeTypeBits, 'm'),
        (Aspect::Owner, 'O'),
        (Aspect::FileTime, 'T'),
        (Aspect::LinkTarget, 'L'),
        (Aspect::Xattr, 'X'),
        (Aspect::PaxRecord, 'P'),
        (Aspect::Device, 'D'),
        (Aspect::Order, '#'),
        (Aspect::NameSpelling, 'N'),
        (Aspect::TarFormat, 'F'),
    ];
    let mut out: String = BADGES
        .iter()
        .filter(|(aspect, _)| deltas.iter().any(|d| d.aspect == *aspect))
        .map(|(_, c)| *c)
        .collect();
    let whiteout = difference.entries.as_ref().is_some_and(|e| {
        e.iter()
            .any(|(_, e)| e.as_ref().is_some_and(|e| e.whiteout().is_some()))
    });
    if whiteout {
        out.push('W');
    }
    out
}

/// Size of input 1 minus size of input 0, for files present on both sides.
pub fn size_change(difference: &Difference) -> Option<i128> {
    let entries = difference.entries.as_ref()?;
    Some(entries.input1.as_ref()?.size as i128 - entries.input0.as_ref()?.size as i128)
}
