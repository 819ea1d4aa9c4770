//! The deltas of a file difference, derived from its two entries: a file difference keeps its entries
//! anyway, so it need not keep these too (a million files that differ by their mtime kept 96 bytes each).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::json;
use thin_vec::ThinVec;

use super::{Aspect, AspectSet, Delta, DeltaValue, EntryExtras, EntryMeta, Sides, canonical_path};

/// A difference's deltas: kept as a list, or derived from its entries each time they are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Deltas {
    /// A thin list: a difference is 8 bytes smaller than with a `Vec`.
    Listed(ThinVec<Delta>),
    /// [`entry_deltas`] of the difference's two entries, or the presence delta when one is absent.
    /// `order_changed` says whether the entry moved relative to the entries both layers share.
    /// Their aspects are kept: filters and counts read them for every difference, and deriving the
    /// deltas reads both entries from all over memory.
    OfEntries {
        order_changed: bool,
        aspects: AspectSet,
    },
}

impl Default for Deltas {
    fn default() -> Deltas {
        Deltas::Listed(ThinVec::new())
    }
}

impl From<Vec<Delta>> for Deltas {
    fn from(deltas: Vec<Delta>) -> Deltas {
        Deltas::Listed(ThinVec::from(deltas))
    }
}

impl Deltas {
    /// Derived from these entries (see [`Deltas::OfEntries`]).
    pub fn of_entries(entries: Sides<Option<&EntryMeta>>, order_changed: bool) -> Deltas {
        let deltas = file_deltas(entries, order_changed);
        Deltas::OfEntries {
            order_changed,
            aspects: deltas.iter().map(|d| d.aspect).collect(),
        }
    }

    /// The aspects of the deltas.
    pub fn aspects(&self) -> AspectSet {
        match self {
            Deltas::Listed(deltas) => deltas.iter().map(|d| d.aspect).collect(),
            Deltas::OfEntries { aspects, .. } => *aspects,
        }
    }

    /// The deltas, given the difference's entries (`None` for a difference that is not about files).
    pub fn read<'d>(&'d self, entries: Option<Sides<Option<&EntryMeta>>>) -> Cow<'d, [Delta]> {
        match (self, entries) {
            (Deltas::Listed(deltas), _) => Cow::Borrowed(deltas),
            (Deltas::OfEntries { order_changed, .. }, Some(entries)) => {
                Cow::Owned(file_deltas(entries, *order_changed))
            }
            (Deltas::OfEntries { .. }, None) => Cow::Borrowed(&[]),
        }
    }

    /// The list, to change; derived deltas are first listed by [`Difference::deltas_mut`].
    ///
    /// [`Difference::deltas_mut`]: super::Difference::deltas_mut
    pub(super) fn listed_mut(&mut self) -> &mut ThinVec<Delta> {
        match self {
            Deltas::Listed(deltas) => deltas,
            Deltas::OfEntries { .. } => {
                *self = Deltas::Listed(ThinVec::new());
                self.listed_mut()
            }
        }
    }
}

/// What differs between a path's two entries, one of them possibly absent (then only its presence).
pub fn file_deltas(entries: Sides<Option<&EntryMeta>>, order_changed: bool) -> Vec<Delta> {
    match (entries.input0, entries.input1) {
        (Some(a), Some(b)) => entry_deltas(a, b, order_changed),
        (None, None) => Vec::new(),
        (a, b) => vec![presence_delta(Sides::new(a.is_some(), b.is_some()))],
    }
}

/// Everything that differs between two entries that stand for the same path. `order_changed` says
/// whether the entry moved relative to the entries both layers share (per-layer view only).
pub fn entry_deltas(a: &EntryMeta, b: &EntryMeta, order_changed: bool) -> Vec<Delta> {
    let mut out = Vec::new();
    differ(&mut out, Aspect::NameSpelling, "name", &a.name(), &b.name());
    differ(
        &mut out,
        Aspect::Kind,
        "kind",
        a.kind().label(),
        b.kind().label(),
    );
    if a.link() != b.link() {
        let same_path = a.link().map(canonical_path) == b.link().map(canonical_path);
        let aspect = if same_path {
            Aspect::NameSpelling
        } else {
            Aspect::LinkTarget
        };
        differ(&mut out, aspect, "link", &a.link(), &b.link());
    }
    differ(&mut out, Aspect::Content, "size", a.size(), b.size());
    differ(
        &mut out,
        Aspect::Content,
        "content",
        &a.content(),
        &b.content(),
    );
    differ(
        &mut out,
        Aspect::Mode,
        "mode",
        a.permissions(),
        b.permissions(),
    );
    differ(
        &mut out,
        Aspect::ModeTypeBits,
        "mode-type-bits",
        a.mode_type_bits(),
        b.mode_type_bits(),
    );
    let (x, y) = (&a.owner(), &b.owner());
    differ(&mut out, Aspect::Owner, "uid", x.uid, y.uid);
    differ(&mut out, Aspect::Owner, "gid", x.gid, y.gid);
    differ(&mut out, Aspect::Owner, "uname", &*x.uname, &*y.uname);
    differ(&mut out, Aspect::Owner, "gname", &*x.gname, &*y.gname);
    let (extras_a, extras_b) = (a.extras(), b.extras());
    if extras_a.device != extras_b.device {
        let device = |e: &EntryExtras| e.device.map(|(major, minor)| format!("{major}:{minor}"));
        differ(
            &mut out,
            Aspect::Device,
            "device",
            device(extras_a),
            device(extras_b),
        );
    }
    differ_times(&mut out, "mtime", a.mtime(), b.mtime());
    differ_times(&mut out, "atime", extras_a.atime, extras_b.atime);
    differ_times(&mut out, "ctime", extras_a.ctime, extras_b.ctime);
    if order_changed {
        differ(&mut out, Aspect::Order, "index", a.index(), b.index());
    }
    differ(
        &mut out,
        Aspect::TarFormat,
        "format",
        a.format(),
        b.format(),
    );
    if extras_a.xattrs != extras_b.xattrs {
        map_deltas(
            &mut out,
            Aspect::Xattr,
            "xattr:",
            &extras_a.xattrs,
            &extras_b.xattrs,
        );
    }
    if extras_a.pax != extras_b.pax {
        map_deltas(
            &mut out,
            Aspect::PaxRecord,
            "pax:",
            &extras_a.pax,
            &extras_b.pax,
        );
    }
    // A first push reserves room for four deltas, and most differing entries have one: the rest would
    // be kept for the whole comparison (530 bytes a difference).
    out.shrink_to_fit();
    out
}

/// Adds a delta if the values differ; JSON values are only built for fields that differ (this runs for
/// every entry of every layer).
fn differ<T: PartialEq + serde::Serialize>(
    out: &mut Vec<Delta>,
    aspect: Aspect,
    field: &'static str,
    a: T,
    b: T,
) {
    if a != b {
        out.push(Delta::new(aspect, field, json!(a), json!(b)));
    }
}

/// Adds a delta if the times differ, the times kept as they are (most differing entries differ only
/// in their mtime: text is made of it only when it is shown).
fn differ_times<T: PartialEq + Into<DeltaValue>>(
    out: &mut Vec<Delta>,
    field: &'static str,
    a: T,
    b: T,
) {
    if a != b {
        out.push(Delta::new(Aspect::FileTime, field, a, b));
    }
}

fn map_deltas(
    out: &mut Vec<Delta>,
    aspect: Aspect,
    prefix: &str,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (x, y) = (a.get(key), b.get(key));
        if x != y {
            out.push(Delta::new(
                aspect,
                format!("{prefix}{key}"),
                json!(x),
                json!(y),
            ));
        }
    }
}

fn presence_delta(present: Sides<bool>) -> Delta {
    Delta::new(
        Aspect::Presence,
        "presence",
        json!(present.input0),
        json!(present.input1),
    )
}
