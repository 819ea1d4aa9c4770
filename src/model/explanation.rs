//! Why a difference exists, when a known cause explains it: a rule of the noise catalogue (a log, a cache,
//! a build path) or a package that changed between the images.

use serde::{Deserialize, Serialize};

use super::AspectSet;

/// What kind of cause a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Records of the build itself: what ran and when.
    Log,
    /// Caches and indexes rebuilt from other files.
    Cache,
    /// The time of the build, written into a file.
    Timestamp,
    /// The directory the build ran in, written into a file.
    BuildPath,
    /// Identifiers or keys generated at random during the build.
    RandomId,
    /// A package manager's own database or state.
    PackageDb,
    /// The previous version of a file, kept by the tool that rewrote it.
    Backup,
    /// Files a builder writes from its host's setup (hostname, name servers).
    BuildEnvironment,
    /// Users and groups.
    Accounts,
    /// A file of a package that changed between the images (upgraded, downgraded, added, removed).
    Package,
}

/// Whether a difference a rule explains can be set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Expected between any two builds; says nothing about whether the images match.
    Noise,
    /// Known to differ between builds, but a person should look at the difference.
    Review,
    /// Not an explanation but a finding that needs attention: a file that matches its package on
    /// neither side (modified after install), or differs although its package did not change.
    Alert,
    /// A fact that explains nothing by itself: who owns the file, that nothing does.
    Info,
}

/// A cause that explains (part of) a difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// What explains it: a catalogue rule's id, or `package` for a package change.
    pub rule: String,
    pub category: Category,
    pub severity: Severity,
    /// One line, e.g. the rule's explanation or `explained by ncurses-base 6.4-4 → 6.5 (matches …)`.
    pub text: String,
    /// The differing aspects it accounts for: a noise rule about a log's content says nothing about
    /// its mode.
    pub aspects: AspectSet,
    /// What the change was seen to be, for rules with a content condition, e.g. `678 changed lines
    /// differ only in timestamps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}
