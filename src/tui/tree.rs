//! The explorer's tree: contexts (images → platform manifests → config, layers, merged filesystem), one
//! row per difference of a context itself (a descriptor, the config's fields, a layer's entry count),
//! and, below layers and merged filesystems, directories and entries. Built incrementally from the
//! report as events arrive; what is listed is computed separately (filters, view, status keys, the
//! tree filter) as a [`Listing`], and what is drawn as a flat list of rows below open nodes, so a frame
//! only draws the rows on screen whatever the tree's size.

use std::collections::{HashMap, HashSet};

use thin_vec::ThinVec;

use crate::model::{Aspect, ContextId, ContextKind, DiffKind, Difference, EntryKind, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Marks a node that has no parent (a root).
const NO_PARENT: u32 = u32::MAX;

/// Marks a node that stands for no difference.
const NO_DIFFERENCE: u32 = u32::MAX;

impl NodeId {
    fn at(index: usize) -> NodeId {
        NodeId(index as u32)
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a node stands for. A new kind of context (nested archives, packages) is a new
/// [`ContextKind`](crate::model::ContextKind) below [`NodeKind::Context`]; its rows are labelled in
/// `labels.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Context(ContextId),
    /// A directory: its path is [`Tree::dir_path`] of `path`.
    Dir {
        path: u32,
    },
    /// A file difference: its index in `Report::differences`.
    Entry {
        difference: u32,
    },
    /// A difference of the context itself (descriptor, index, manifest, config, layer entry count);
    /// the node's name is the difference's key.
    Property {
        difference: u32,
        kind: DiffKind,
    },
}

#[derive(Debug, Clone)]
pub struct Node {
    /// Read with [`Node::parent`]: [`NO_PARENT`] for a root.
    parent: u32,
    /// A thin list: most nodes (files) have no children, and a node costs 64 bytes, not 96.
    pub children: ThinVec<NodeId>,
    /// The last path component, or the context's label, in the tree's names: read it with
    /// [`Tree::name`]. Raw: escape before drawing.
    name: NameSpan,
    pub kind: NodeKind,
    /// The context this node belongs to (itself, for context nodes).
    pub context: ContextId,
}

impl Node {
    pub fn parent(&self) -> Option<NodeId> {
        (self.parent != NO_PARENT).then_some(NodeId(self.parent))
    }
}

/// Where a node's name is in [`Tree::names`]: two million nodes kept a boxed name each (a 32-byte
/// allocation for a 12-byte name).
#[derive(Debug, Clone, Copy, Default)]
struct NameSpan {
    start: u32,
    len: u32,
}

/// A stable name for a node, kept across tree rebuilds (for open nodes and the selection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeKey {
    Context(ContextId),
    /// A directory or an entry, by its path in its layer or filesystem.
    Path(ContextId, String),
    /// A difference of a context itself, by its kind and key.
    Property(ContextId, DiffKind, String),
}

impl NodeKey {
    pub fn context(&self) -> ContextId {
        match self {
            NodeKey::Context(c) | NodeKey::Path(c, _) | NodeKey::Property(c, ..) => *c,
        }
    }
}

#[derive(Debug, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    context_nodes: HashMap<ContextId, NodeId>,
    dirs: HashMap<(ContextId, String), NodeId>,
    /// Every node's name, one after the other.
    names: String,
    /// The directories' paths, by [`NodeKind::Dir`]'s `path`.
    dir_paths: Vec<Box<str>>,
    /// Per node: the difference it stands for ([`NO_DIFFERENCE`] if none), for lookups in O(1).
    differences: Vec<u32>,
    /// Per node: its depth, in a column of its own, so that making the rows does not read every
    /// node (the nodes of a big tree do not fit a cache; this column does).
    depths: Vec<u16>,
    /// How many differences of the report the tree has taken in.
    seen: usize,
    /// Nested contexts waiting for the row of the file they are the inside of.
    pending_nested: Vec<ContextId>,
    /// Every node in depth-first order, and each node's place in it; redone when nodes are added
    /// or moved.
    order: Vec<NodeId>,
    rank: Vec<u32>,
    order_stale: bool,
}

impl Tree {
    /// A tree of everything in the report.
    pub fn build(report: &Report) -> Tree {
        let mut tree = Tree::default();
        tree.sync(report);
        tree.refresh_order();
        tree
    }

    /// Takes in what the report gained since the last call: each row goes in its place (a context's
    /// own differences first, then its contexts, then directories and entries in path order), so
    /// rows arriving in any order give the same tree. Differences only ever get appended between
    /// two reorders of the report ([`remap`](Self::remap)). The order of the nodes is redone by
    /// [`refresh_order`](Self::refresh_order), not here: once per listing, not once per event.
    pub fn sync(&mut self, report: &Report) {
        for context in &report.contexts {
            if self.context_nodes.contains_key(&context.id)
                || self.pending_nested.contains(&context.id)
            {
                continue;
            }
            if matches!(context.kind, ContextKind::Nested { .. }) {
                self.pending_nested.push(context.id);
                self.attach_nested(report);
                continue;
            }
            self.add_context(context.id, context.parent, &context.label);
        }
        for (index, difference) in report.differences.iter().enumerate().skip(self.seen) {
            if !self.pending_nested.is_empty() && self.pending_nested.contains(&difference.context)
            {
                // Its file's row came before it (a nested context is numbered after its file).
                self.attach_nested(report);
                if self.pending_nested.contains(&difference.context) {
                    self.place_nested_anyway(difference.context, report);
                }
            }
            if difference.kind == DiffKind::File {
                self.add_entry(index, difference);
            } else {
                self.add_property(index, difference);
            }
        }
        self.seen = report.differences.len();
        self.attach_nested(report);
    }

    /// Puts the nested contexts waiting for their file's row below it, as children of the file.
    fn attach_nested(&mut self, report: &Report) {
        // Nested inside nested: the outer one must be placed first, so go round until none moves.
        loop {
            let mut placed = false;
            for id in std::mem::take(&mut self.pending_nested) {
                let anchor = report.context(id).and_then(|c| match &c.kind {
                    ContextKind::Nested { file, .. } => self.find_path(c.parent?, file),
                    _ => None,
                });
                match (anchor, report.context(id)) {
                    (Some(anchor), Some(context)) => {
                        self.add_context_below(id, Some(anchor), &context.label);
                        placed = true;
                    }
                    _ => self.pending_nested.push(id),
                }
            }
            if !placed {
                break;
            }
        }
    }

    /// A nested context whose file has no row goes below its parent context: its members must
    /// have a place.
    fn place_nested_anyway(&mut self, id: ContextId, report: &Report) {
        self.pending_nested.retain(|p| *p != id);
        if let Some(context) = report.context(id) {
            self.add_context(id, context.parent, &context.label);
        }
    }

    /// Follows the report's differences to their new places (the finished report sorts them; a
    /// withdrawn difference leaves): `moved` gives each old index's new one. Nodes keep their ids,
    /// so the selection and what is open stay as they are. The tree must have taken in every
    /// difference before the move.
    pub fn remap(&mut self, moved: &[Option<usize>]) {
        for index in 0..self.nodes.len() {
            let old = self.differences[index];
            if old == NO_DIFFERENCE {
                continue;
            }
            match moved.get(old as usize).copied().flatten() {
                Some(new) => {
                    self.differences[index] = new as u32;
                    if let NodeKind::Entry { difference } | NodeKind::Property { difference, .. } =
                        &mut self.nodes[index].kind
                    {
                        *difference = new as u32;
                    }
                }
                None => self.forget_difference(NodeId::at(index)),
            }
        }
        self.seen = moved.iter().flatten().count();
    }

    /// A node's difference is gone: an entry or property leaves the tree, a directory stays (its
    /// children may not be gone).
    fn forget_difference(&mut self, id: NodeId) {
        self.differences[id.index()] = NO_DIFFERENCE;
        if matches!(self.node(id).kind, NodeKind::Dir { .. }) {
            return;
        }
        self.detach(id);
    }

    /// Redoes the depth-first order if nodes were added or moved since.
    pub fn refresh_order(&mut self) {
        if self.order_stale || self.order.len() != self.nodes.len() {
            self.order_nodes();
        }
    }

    /// A node's name: the last component of its path, or its context's label, or its key.
    pub fn name(&self, node: &Node) -> &str {
        let NameSpan { start, len } = node.name;
        let start = start as usize;
        self.names
            .get(start..start + len as usize)
            .unwrap_or_default()
    }

    /// Keeps a name in the tree's names. Past 4 GiB of names (the names of a layer's entries, which
    /// the comparison holds too, are long gone from memory by then) a name is kept empty.
    /// The path of directory `path` ([`NodeKind::Dir`]).
    pub fn dir_path(&self, path: u32) -> &str {
        self.dir_paths.get(path as usize).map_or("", |p| p)
    }

    fn keep_dir_path(&mut self, path: &str) -> u32 {
        self.dir_paths.push(path.into());
        (self.dir_paths.len() - 1) as u32
    }

    fn keep_name(&mut self, name: &str) -> NameSpan {
        let start = self.names.len();
        if u32::try_from(start + name.len()).is_err() {
            return NameSpan::default();
        }
        self.names.push_str(name);
        NameSpan {
            start: start as u32,
            len: name.len() as u32,
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
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

    /// Every node, depth first (children in order), whatever is open; as of the last
    /// [`refresh_order`](Self::refresh_order).
    pub fn in_order(&self) -> &[NodeId] {
        &self.order
    }

    /// A node's place in [`in_order`](Self::in_order).
    pub fn rank(&self, id: NodeId) -> usize {
        self.rank.get(id.index()).map_or(0, |r| *r as usize)
    }

    pub fn key(&self, id: NodeId) -> NodeKey {
        let node = self.node(id);
        match &node.kind {
            NodeKind::Context(c) => NodeKey::Context(*c),
            NodeKind::Dir { path } => NodeKey::Path(node.context, self.dir_path(*path).to_owned()),
            NodeKind::Entry { .. } => NodeKey::Path(node.context, self.path_of(id)),
            NodeKind::Property { kind, .. } => {
                NodeKey::Property(node.context, *kind, self.name(node).to_owned())
            }
        }
    }

    pub fn find(&self, key: &NodeKey) -> Option<NodeId> {
        match key {
            NodeKey::Context(c) => self.context_nodes.get(c).copied(),
            NodeKey::Path(context, path) => self.find_path(*context, path),
            NodeKey::Property(context, kind, key) => {
                let parent = self.context_nodes.get(context)?;
                self.node(*parent).children.iter().copied().find(|c| {
                    let node = self.node(*c);
                    matches!(node.kind, NodeKind::Property { kind: k, .. } if k == *kind)
                        && self.name(node) == &**key
                })
            }
        }
    }

    /// The directory or entry at `path` in a context.
    pub fn find_path(&self, context: ContextId, path: &str) -> Option<NodeId> {
        if let Some(dir) = self.dirs.get(&(context, path.to_owned())) {
            return Some(*dir);
        }
        let (parent_path, _) = path.rsplit_once('/').unwrap_or(("", path));
        let parent = if parent_path.is_empty() {
            self.context_nodes.get(&context)?
        } else {
            self.dirs.get(&(context, parent_path.to_owned()))?
        };
        self.node(*parent).children.iter().copied().find(|c| {
            matches!(self.node(*c).kind, NodeKind::Entry { .. }) && self.path_of(*c) == path
        })
    }

    /// The context node of a context.
    pub fn context_node(&self, context: ContextId) -> Option<NodeId> {
        self.context_nodes.get(&context).copied()
    }

    /// The path of a directory or entry within its layer or filesystem (empty for other nodes).
    pub fn path_of(&self, id: NodeId) -> String {
        match &self.node(id).kind {
            NodeKind::Context(_) | NodeKind::Property { .. } => String::new(),
            NodeKind::Dir { path } => self.dir_path(*path).to_owned(),
            NodeKind::Entry { .. } => {
                let node = self.node(id);
                match node.parent().map(|p| &self.node(p).kind) {
                    Some(NodeKind::Dir { path }) => {
                        format!("{}/{}", self.dir_path(*path), self.name(node))
                    }
                    _ => self.name(node).to_owned(),
                }
            }
        }
    }

    /// The difference a node stands for: an entry's, a directory's own entry's, a property's.
    pub fn difference_of(&self, id: NodeId) -> Option<usize> {
        match self.differences.get(id.index()) {
            Some(&d) if d != NO_DIFFERENCE => Some(d as usize),
            _ => None,
        }
    }

    /// Per node: whether its path contains `query` (lower case), in any case. Only directories and
    /// entries have paths. One pass, parents first: without a `/` in the query, a path contains it
    /// if a component does, so a node matches if its name does or its directory matches.
    pub fn matching(&self, query: &str) -> Vec<bool> {
        let mut hits = vec![false; self.nodes.len()];
        for (index, node) in self.nodes.iter().enumerate() {
            let id = NodeId::at(index);
            hits[index] = match node.kind {
                NodeKind::Context(_) | NodeKind::Property { .. } => false,
                _ if query.contains('/') => self.path_of(id).to_lowercase().contains(query),
                _ => {
                    contains_folded(self.name(node), query)
                        || node.parent().is_some_and(|p| {
                            matches!(self.node(p).kind, NodeKind::Dir { .. }) && hits[p.index()]
                        })
                }
            };
        }
        hits
    }

    /// What is listed under the rules: per node, whether it is visible (open parents aside) and
    /// what it counts; one pass, children first.
    pub fn listing(&self, rules: &Visibility<'_>) -> Listing {
        let len = self.nodes.len();
        let mut listing = Listing {
            visible: vec![false; len],
            own: vec![None; len],
            listed_children: vec![false; len],
            summed: Vec::new(),
        };
        // Children always come after their parent, so a reverse walk sees every child first.
        for index in (0..len).rev() {
            let id = NodeId::at(index);
            let node = self.node(id);
            let mut counts = StatusCounts::default();
            let mut child_visible = false;
            for child in &node.children {
                if listing.visible[child.index()] {
                    child_visible = true;
                    counts.merge(&listing.counts(*child));
                }
            }
            let visible = match &node.kind {
                // The inside of a file is listed when something in it is, like a directory.
                NodeKind::Context(_) if self.is_inside_a_file(id) => child_visible,
                NodeKind::Context(c) => !rules.hidden_contexts.contains(c),
                _ => {
                    let status = self
                        .difference_of(id)
                        .filter(|_| rules.matches(id))
                        .and_then(|d| rules.status(d));
                    if let Some(status) = status
                        && status != Status::Unchanged
                    {
                        counts.add(status);
                        listing.own[index] = Some(status);
                    }
                    status.is_some() || child_visible
                }
            };
            listing.visible[index] = visible;
            listing.listed_children[index] = child_visible;
            if child_visible {
                listing.summed.push((index as u32, counts));
            }
        }
        listing
    }

    /// The rows to draw: listed nodes, depth first, below expanded nodes only. Nodes added since
    /// the listing was made (while the comparison streams) wait for the next one.
    pub fn rows(&self, listing: &Listing, expansion: &Expansion) -> Vec<Row> {
        let flag = |flags: &[bool], id: NodeId| flags.get(id.index()).copied().unwrap_or(false);
        let mut rows = Vec::with_capacity(listing.visible.len().min(self.nodes.len()));
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            if !flag(&listing.visible, id) {
                continue;
            }
            let has_children = flag(&listing.listed_children, id);
            let expanded = has_children && expansion.is_expanded(self, id);
            rows.push(Row {
                node: id,
                depth: self.depths[id.index()],
                expanded,
                has_children,
            });
            if expanded {
                stack.extend(self.node(id).children.iter().rev().copied());
            }
        }
        rows
    }

    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.node(id).parent(), |p| self.node(*p).parent())
    }

    fn push(
        &mut self,
        parent: Option<NodeId>,
        name: &str,
        kind: NodeKind,
        context: ContextId,
    ) -> NodeId {
        let name = self.keep_name(name);
        let id = NodeId::at(self.nodes.len());
        let depth = parent.map_or(0, |p| self.depths[p.index()] + 1);
        self.differences.push(match kind {
            NodeKind::Entry { difference } | NodeKind::Property { difference, .. } => difference,
            NodeKind::Context(_) | NodeKind::Dir { .. } => NO_DIFFERENCE,
        });
        self.depths.push(depth);
        self.nodes.push(Node {
            parent: parent.map_or(NO_PARENT, |p| p.0),
            children: ThinVec::new(),
            name,
            kind,
            context,
        });
        self.attach(id);
        id
    }

    /// Puts a node among its parent's children, in its place: properties first (in the order they
    /// came), then contexts, then directories and entries by [`sibling_key`](Self::sibling_key).
    fn attach(&mut self, id: NodeId) {
        self.order_stale = true;
        let Some(parent) = self.node(id).parent() else {
            self.roots.push(id);
            return;
        };
        let group = |tree: &Tree, node: NodeId| match tree.node(node).kind {
            NodeKind::Property { .. } => 0,
            NodeKind::Context(_) => 1,
            NodeKind::Dir { .. } | NodeKind::Entry { .. } => 2,
        };
        let mine = group(self, id);
        let children = &self.node(parent).children;
        let group_end = children.partition_point(|c| group(self, *c) <= mine);
        let place = if mine < 2 {
            group_end
        } else {
            // Rows mostly arrive in path order: look at the last one first.
            let key = self.sibling_key(id);
            let after_last = children
                .last()
                .is_none_or(|last| group(self, *last) < 2 || self.sibling_key(*last) <= key);
            if after_last {
                children.len()
            } else {
                let start = children.partition_point(|c| group(self, *c) < 2);
                start + children[start..].partition_point(|c| self.sibling_key(*c) <= key)
            }
        };
        self.nodes[parent.index()].children.insert(place, id);
    }

    /// Takes a node out of its parent's children (it stays in `nodes`, unreachable).
    fn detach(&mut self, id: NodeId) {
        self.order_stale = true;
        match self.node(id).parent() {
            Some(parent) => self.nodes[parent.index()].children.retain(|c| *c != id),
            None => self.roots.retain(|c| *c != id),
        }
    }

    /// Where a directory or entry sorts among its siblings: as the first path at or below it, which
    /// is an entry's path, a directory's own path if it differs itself, or else its path and a `/`.
    fn sibling_key(&self, id: NodeId) -> String {
        match &self.node(id).kind {
            NodeKind::Dir { path } if self.differences[id.index()] == NO_DIFFERENCE => {
                format!("{}/", self.dir_path(*path))
            }
            _ => self.path_of(id),
        }
    }

    fn add_context(&mut self, id: ContextId, parent: Option<ContextId>, label: &str) {
        let parent_node = parent.and_then(|p| self.context_nodes.get(&p).copied());
        self.add_context_below(id, parent_node, label);
    }

    fn add_context_below(&mut self, id: ContextId, parent: Option<NodeId>, label: &str) {
        let node = self.push(parent, label, NodeKind::Context(id), id);
        self.context_nodes.insert(id, node);
    }

    /// Whether a node is the inside of a file (a nested context below the file's row).
    pub fn is_inside_a_file(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind, NodeKind::Context(_))
            && self
                .node(id)
                .parent()
                .is_some_and(|p| matches!(self.node(p).kind, NodeKind::Entry { .. }))
    }

    /// A context's own differences come first among its children, in the order they came.
    fn add_property(&mut self, index: usize, difference: &Difference) {
        let Some(&parent) = self.context_nodes.get(&difference.context) else {
            return;
        };
        self.push(
            Some(parent),
            difference.key(),
            NodeKind::Property {
                difference: index as u32,
                kind: difference.kind,
            },
            difference.context,
        );
    }

    fn add_entry(&mut self, index: usize, difference: &Difference) {
        let Some(&context_node) = self.context_nodes.get(&difference.context) else {
            return;
        };
        let path = difference.key();
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
                .any(|(_, e)| e.as_ref().is_some_and(|e| e.kind() == EntryKind::Directory))
        });
        if is_dir && !path.is_empty() {
            let node = self.dir_node(difference.context, context_node, path);
            self.differences[node.index()] = index as u32;
            // It now sorts as its own path, before what is below it.
            self.detach(node);
            self.attach(node);
            return;
        }
        let name = if name.is_empty() {
            ".".to_owned()
        } else {
            name.to_owned()
        };
        self.push(
            Some(parent),
            &name,
            NodeKind::Entry {
                difference: index as u32,
            },
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
        let path = self.keep_dir_path(dir);
        let node = self.push(Some(parent), name, NodeKind::Dir { path }, context);
        self.dirs.insert((context, dir.to_owned()), node);
        node
    }

    fn order_nodes(&mut self) {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            order.push(id);
            stack.extend(self.node(id).children.iter().rev().copied());
        }
        let mut rank = vec![0u32; self.nodes.len()];
        for (place, id) in order.iter().enumerate() {
            rank[id.index()] = place as u32;
        }
        self.order = order;
        self.rank = rank;
        self.order_stale = false;
    }
}

/// What the current rules list, per node of the tree.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// Listed (open parents aside): its own difference passes the rules, or something below it does.
    pub visible: Vec<bool>,
    /// The status of its own difference when that is a listed difference: a stop for `]` and `[`.
    own: Vec<Option<Status>>,
    /// Some child of it is listed (it can be opened).
    pub listed_children: Vec<bool>,
    /// The listed differences at or below the nodes with a listed child, by status, by node index
    /// from the last node (the order they are summed in). The others count their own difference: a
    /// million files' counts would take 20 bytes each.
    summed: Vec<(u32, StatusCounts)>,
}

impl Listing {
    /// The listed differences in the whole tree.
    pub fn total(&self, tree: &Tree) -> StatusCounts {
        let mut total = StatusCounts::default();
        for root in tree.roots() {
            if self.visible.get(root.index()).copied().unwrap_or(false) {
                total.merge(&self.counts(*root));
            }
        }
        total
    }

    /// The listed differences at or below `id`, by status.
    pub fn counts(&self, id: NodeId) -> StatusCounts {
        let at = id.index() as u32;
        match self.summed.binary_search_by(|(index, _)| at.cmp(index)) {
            Ok(found) => self.summed[found].1,
            Err(_) => {
                let mut own = StatusCounts::default();
                if let Some(status) = self.own.get(id.index()).copied().flatten() {
                    own.add(status);
                }
                own
            }
        }
    }

    pub fn is_own(&self, id: NodeId) -> bool {
        self.own.get(id.index()).is_some_and(Option::is_some)
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

/// What a difference amounts to under the current filter.
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
    pub const ALL: [Status; 5] = [
        Status::Added,
        Status::Removed,
        Status::TypeChanged,
        Status::Modified,
        Status::Unchanged,
    ];

    pub fn of(difference: &Difference, shown: bool) -> Status {
        if !shown {
            return Status::Unchanged;
        }
        match presence(difference) {
            Some((false, true)) => Status::Added,
            Some((true, false)) => Status::Removed,
            _ if difference.aspects().contains(Aspect::Kind) => Status::TypeChanged,
            _ => Status::Modified,
        }
    }
}

/// Whether `text` contains `query` (lower case), in any case; without allocating for ASCII text.
pub fn contains_folded(text: &str, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    if text.is_ascii() && query.is_ascii() {
        let query = query.as_bytes();
        return text
            .as_bytes()
            .windows(query.len())
            .any(|w| w.eq_ignore_ascii_case(query));
    }
    text.to_lowercase().contains(query)
}

/// Which inputs have the thing: a file's entries, or for other differences the presence deltas when
/// every delta is one (a platform, a layer, a descriptor on one side only).
fn presence(difference: &Difference) -> Option<(bool, bool)> {
    if let Some(entries) = difference.entries.as_ref() {
        return Some((entries.input0.is_some(), entries.input1.is_some()));
    }
    let package = difference.kind == DiffKind::Pkg;
    let deltas = difference.deltas();
    let mut sides = deltas.iter().map(|d| {
        (d.aspect == Aspect::Presence || (package && d.field == "presence"))
            .then(|| (!d.values.input0.is_null(), !d.values.input1.is_null()))
    });
    let first = sides.next()??;
    sides.all(|s| s == Some(first)).then_some(first)
}

/// How many differences have each status.
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

    /// All differences counted (unchanged ones are never counted).
    pub fn total(&self) -> usize {
        self.0.iter().map(|n| *n as usize).sum()
    }

    /// The one status every counted difference has, if they all have the same.
    pub fn single(&self) -> Option<Status> {
        let mut present = Status::ALL.into_iter().filter(|s| self.get(*s) > 0);
        let first = present.next()?;
        present.next().is_none().then_some(first)
    }
}

/// Which statuses are listed (the explorer's show/hide keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusToggles {
    pub added: bool,
    pub removed: bool,
    pub modified: bool,
    pub unchanged: bool,
    /// Only differences left unexplained (and what is inside them) are listed.
    pub unexplained_only: bool,
}

impl Default for StatusToggles {
    fn default() -> Self {
        StatusToggles {
            added: true,
            removed: true,
            modified: true,
            unchanged: false,
            unexplained_only: false,
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

/// The rules that decide which nodes are listed.
pub struct Visibility<'a> {
    /// Per difference of the report: its status under the filter ([`Status::of`]).
    pub statuses: &'a [Status],
    pub toggles: StatusToggles,
    /// Layer or merged contexts left out by the view.
    pub hidden_contexts: &'a HashSet<ContextId>,
    /// The tree filter: per node, whether its path matches ([`Tree::matching`]); context
    /// properties have no path and are left out while it is set.
    pub path_filter: Option<&'a [bool]>,
    /// Per difference: explained (for [`StatusToggles::unexplained_only`]; empty when it is off).
    pub explained: &'a [bool],
}

impl Visibility<'_> {
    /// The status of a difference if the status keys list it.
    fn status(&self, difference: usize) -> Option<Status> {
        let status = *self.statuses.get(difference)?;
        let explained = self.explained.get(difference).copied().unwrap_or(false);
        if self.toggles.unexplained_only && explained {
            return None;
        }
        self.toggles.allows(status).then_some(status)
    }

    fn matches(&self, id: NodeId) -> bool {
        match self.path_filter {
            None => true,
            Some(hits) => hits.get(id.index()).copied().unwrap_or(false),
        }
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
        if self.toggled.is_empty() {
            return default;
        }
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

/// Size of input 1 minus size of input 0, for files present on both sides.
pub fn size_change(difference: &Difference) -> Option<i128> {
    let entries = difference.entries.as_ref()?;
    Some(entries.input1.as_ref()?.size() as i128 - entries.input0.as_ref()?.size() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Context, ContextKind, Delta, Sides};
    use serde_json::json;

    #[test]
    fn a_node_takes_32_bytes_and_no_allocation_for_its_name() {
        // Two views of a million files are over two million nodes: 8 bytes more each is 16 MB.
        assert_eq!(std::mem::size_of::<Node>(), 32);
        let mut tree = Tree::default();
        let usr = tree.keep_dir_path("usr");
        let node = tree.push(None, "usr", NodeKind::Dir { path: usr }, ContextId(0));
        let lib = tree.keep_dir_path("lib");
        let other = tree.push(None, "lib", NodeKind::Dir { path: lib }, ContextId(0));
        assert_eq!((tree.dir_path(usr), tree.dir_path(lib)), ("usr", "lib"));
        assert_eq!(
            (tree.name(tree.node(node)), tree.name(tree.node(other))),
            ("usr", "lib")
        );
        assert_eq!(tree.names, "usrlib", "kept one after the other");
    }

    fn context(id: u32, parent: Option<u32>, kind: ContextKind, label: &str) -> Context {
        Context {
            id: ContextId(id),
            parent: parent.map(ContextId),
            kind,
            path: format!("/{label}"),
            label: label.into(),
            descriptors: Sides::default(),
        }
    }

    fn property(context: u32, kind: DiffKind, key: &str) -> Difference {
        Difference {
            context: ContextId(context),
            kind,
            key: key.into(),
            deltas: vec![Delta::new(Aspect::Config, "x", json!(1), json!(2))].into(),
            entries: Default::default(),
            origin: Default::default(),
            id: crate::model::DiffId::default(),
            nested: Default::default(),
            explanations: Default::default(),
        }
    }

    #[test]
    fn a_context_lists_its_own_differences_first_and_finds_them_by_key() {
        let report = Report {
            contexts: vec![
                context(0, None, ContextKind::Images, "images"),
                context(1, Some(0), ContextKind::Config, "config"),
            ],
            differences: vec![
                property(0, DiffKind::Desc, "image"),
                property(1, DiffKind::Desc, "config"),
                property(1, DiffKind::Cfg, "config"),
            ],
            ..Report::default()
        };
        let tree = Tree::build(&report);
        let images = tree.context_node(ContextId(0)).unwrap();
        let kinds: Vec<&NodeKind> = tree
            .node(images)
            .children
            .iter()
            .map(|c| &tree.node(*c).kind)
            .collect();
        assert_eq!(
            kinds,
            [
                &NodeKind::Property {
                    difference: 0,
                    kind: DiffKind::Desc
                },
                &NodeKind::Context(ContextId(1))
            ]
        );
        let key = NodeKey::Property(ContextId(1), DiffKind::Cfg, "config".into());
        let found = tree.find(&key).unwrap();
        assert_eq!(tree.difference_of(found), Some(2));
        assert_eq!(tree.key(found), key);
        let order: Vec<Option<usize>> = tree
            .in_order()
            .iter()
            .map(|n| tree.difference_of(*n))
            .collect();
        assert_eq!(order, [None, Some(0), None, Some(1), Some(2)]);
    }

    #[test]
    fn rows_of_a_grown_tree_wait_for_the_next_listing() {
        let mut report = Report {
            contexts: vec![context(0, None, ContextKind::Images, "images")],
            ..Report::default()
        };
        let mut tree = Tree::build(&report);
        let listing = tree.listing(&Visibility {
            statuses: &[],
            toggles: StatusToggles::default(),
            hidden_contexts: &HashSet::new(),
            path_filter: None,
            explained: &[],
        });
        report
            .differences
            .push(property(0, DiffKind::Desc, "image"));
        tree.sync(&report);
        let rows = tree.rows(&listing, &Expansion::default());
        assert_eq!(rows.len(), 1, "the new property is not listed yet");
        assert!(!rows[0].has_children);
    }

    #[test]
    fn paths_match_by_a_component_or_a_directory_above_in_any_case() {
        let mut report = Report {
            contexts: vec![context(0, None, ContextKind::Layer { index: 0 }, "layer 0")],
            ..Report::default()
        };
        for path in ["usr/Share/doc/README", "usr/bin/sh", "etc/shells"] {
            report.differences.push(Difference {
                kind: DiffKind::File,
                ..property(0, DiffKind::File, path)
            });
        }
        let tree = Tree::build(&report);
        let hits = |query: &str| -> Vec<String> {
            let hits = tree.matching(query);
            tree.in_order()
                .iter()
                .filter(|n| hits[n.index()])
                .map(|n| tree.path_of(*n))
                .collect()
        };
        assert_eq!(
            hits("share"),
            ["usr/Share", "usr/Share/doc", "usr/Share/doc/README"]
        );
        assert_eq!(
            hits("sh"),
            [
                "etc/shells",
                "usr/Share",
                "usr/Share/doc",
                "usr/Share/doc/README",
                "usr/bin/sh",
            ]
        );
        assert_eq!(hits("r/bin/s"), ["usr/bin/sh"]);
        assert!(hits("layer").is_empty(), "contexts have no path");
    }

    #[test]
    fn a_platform_on_one_side_only_is_removed_or_added() {
        let mut d = property(0, DiffKind::Idx, "platform linux/arm64");
        d.deltas = vec![Delta::new(
            Aspect::Presence,
            "platform",
            json!("linux/arm64"),
            json!(null),
        )]
        .into();
        assert_eq!(Status::of(&d, true), Status::Removed);
        d.deltas_mut()
            .push(Delta::new(Aspect::Config, "x", json!(1), json!(2)));
        assert_eq!(Status::of(&d, true), Status::Modified);
    }
}
