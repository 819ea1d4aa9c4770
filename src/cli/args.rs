//! Command-line arguments: diffoci's flags with the same names and meanings, plus ocidiff's own.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use ocidiff::engine::blob::MAX_JSON_BLOB;
use ocidiff::engine::nested::NestedLimits;
use ocidiff::explain::Catalogue;
use ocidiff::filter::{IgnoreOption, View};
use ocidiff::model::Sides;
use ocidiff::oci::Platform;
use ocidiff::report::{DEFAULT_MARKDOWN_ROWS, Format};
use ocidiff::source::{
    ArchiveLimits, CacheSetting, INPUT_FORMS, NetworkLimits, PullPolicy, SourceOptions,
};

#[derive(Debug, Parser)]
#[command(
    name = "ocidiff-tui",
    version,
    about = "Compare two container images: an explorer, and reports (table, JSON, NDJSON, HTML, Markdown) with semantic filters, explanations and CI rules",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = after_help(),
    after_long_help = after_long_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub compare: CompareArgs,
}

/// The text after the options: exit status, the input forms (from the source's table), registries.
fn after_help() -> String {
    let width = INPUT_FORMS
        .iter()
        .map(|f| f.syntax.len())
        .max()
        .unwrap_or(0);
    let forms: String = INPUT_FORMS
        .iter()
        .map(|form| {
            format!(
                "  {:width$}  {}\n  {:width$}  e.g. {}\n",
                form.syntax, form.description, "", form.example
            )
        })
        .collect();
    format!(
        "Exit status: 0 no difference under the active filters, 1 differences, 2 an error.\n\n\
         Images (IMAGE0, IMAGE1):\n{forms}\n\
         Registries: credentials from ~/.docker/config.json ($DOCKER_CONFIG) or Podman's auth.json\n\
         ($REGISTRY_AUTH_FILE); blobs cached in $XDG_CACHE_HOME/ocidiff-tui (--cache-dir, --no-cache)."
    )
}

/// `--help`: examples by task, then what `-h` says after the options.
fn after_long_help() -> String {
    format!(
        "Examples:\n\
         \n  Explore two images on a terminal:\n\
         \x20   ocidiff-tui oci:./rebuilt docker.io/library/debian:bookworm\n\
         \n  Only what matters for a rebuild (timestamps, history, tar format... hidden):\n\
         \x20   ocidiff-tui --semantic rebuilt.tar official.tar\n\
         \n  CI: fail on rules, keep an HTML report and a Markdown summary:\n\
         \x20   ocidiff-tui --semantic --rules ci-rules.toml --html report.html \\\n\
         \x20     --markdown \"$GITHUB_STEP_SUMMARY\" docker://app:rebuilt registry.example/app:1.2\n\
         \n  CI: fail only on differences nothing explains:\n\
         \x20   ocidiff-tui --semantic --fail-on unexplained IMG0 IMG1\n\
         \n  Scripts: the whole result as JSON, or every file's two versions in a directory:\n\
         \x20   ocidiff-tui --format json IMG0 IMG1 > report.json\n\
         \x20   ocidiff-tui --report-dir out/ IMG0 IMG1\n\
         \n  Set up: shell completions, the man page, try it on example images:\n\
         \x20   ocidiff-tui completions bash > ~/.local/share/bash-completion/completions/ocidiff-tui\n\
         \x20   ocidiff-tui man > ~/.local/share/man/man1/ocidiff-tui.1\n\
         \x20   ocidiff-tui make-example /tmp/ex && ocidiff-tui /tmp/ex/a /tmp/ex/b\n\
         \nDefaults come from $XDG_CONFIG_HOME/ocidiff-tui/config.toml (--config, $OCIDIFF_CONFIG);\n\
         flags win over environment variables, which win over the file.\n\n{}",
        after_help()
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a completion script for SHELL on stdout (see the README for where to put it).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    Man,
    /// Write two small OCI image layouts that differ (DIR/a and DIR/b), to try the tool on.
    MakeExample { dir: PathBuf },
    /// Remove the registry blobs no run has used for a while (they are downloaded again when needed).
    PruneCache {
        /// Remove what was last used this many days ago or earlier (0: everything).
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        unused_for: u64,
        /// The cache to prune (default: $XDG_CACHE_HOME/ocidiff-tui).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first image (input 0).
    #[arg(required = true, value_name = "IMAGE0")]
    pub image0: Option<String>,
    /// The second image (input 1).
    #[arg(required = true, value_name = "IMAGE1")]
    pub image1: Option<String>,

    /// Platforms to compare (os/arch[/variant]); repeatable or comma-separated. Default: every platform
    /// both images have.
    #[arg(long, value_delimiter = ',', value_parser = parse_platform)]
    pub platform: Vec<Platform>,
    /// Compare every platform.
    #[arg(long)]
    pub all_platforms: bool,
    /// Compare this platform of input 0 with --platform1's of input 1, e.g. the amd64 and arm64
    /// builds of one release (one index may be given twice: IMG IMG).
    #[arg(long, value_name = "OS/ARCH", value_parser = parse_platform, requires = "platform1",
          conflicts_with_all = ["platform", "all_platforms"])]
    pub platform0: Option<Platform>,
    /// The platform of input 1 to compare with --platform0's of input 0.
    #[arg(long, value_name = "OS/ARCH", value_parser = parse_platform, requires = "platform0")]
    pub platform1: Option<Platform>,

    #[command(flatten)]
    pub ignore: IgnoreArgs,

    /// Output format (headless). Without it, a terminal gets the table.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Which file view to report: per layer (as diffoci), the merged filesystems, or per layer where
    /// layer counts match and merged where they differ.
    #[arg(long, value_enum, default_value = "auto")]
    pub view: ViewArg,
    /// Write both sides of every differing file, report.json and a README into DIR.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Let --report-dir write into a DIR that is not empty, replacing what a previous report left there
    /// (input-0/, input-1/, report.json, README.md); other files are kept.
    #[arg(long, requires = "report_dir")]
    pub overwrite_report_dir: bool,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report_file: Option<PathBuf>,
    /// Also write the HTML report (one self-contained page) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the Markdown report to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Markdown: list at most N differences (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MARKDOWN_ROWS)]
    pub markdown_rows: usize,
    /// CI rules (TOML, see the README): one PASS/FAIL/SKIP line per rule on stderr, also in the
    /// JSON, HTML and Markdown reports; the exit status is then 1 when a rule fails, else 0.
    #[arg(long, value_name = "FILE", env = "OCIDIFF_RULES")]
    pub rules: Option<PathBuf>,
    /// The syntax-highlighting theme of file contents, in the explorer and the HTML report: one of
    /// two-face's (bat's) themes, e.g. "Monokai Extended" (the default), "GitHub", "Nord", "Dracula".
    #[arg(long, value_name = "NAME", env = "OCIDIFF_THEME")]
    pub theme: Option<String>,
    /// The explorer's key bindings: the defaults with the config file's `[keys]` applied.
    #[arg(skip)]
    pub keys: ocidiff::tui::keys::Keymap,
    /// The config file [default: $XDG_CONFIG_HOME/ocidiff-tui/config.toml, if there is one].
    #[arg(
        long,
        value_name = "FILE",
        env = "OCIDIFF_CONFIG",
        conflicts_with = "no_config"
    )]
    pub config: Option<PathBuf>,
    /// Read no config file.
    #[arg(long)]
    pub no_config: bool,
    /// Layers read at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Table: after each row, every field that differs about it with both values, marked `(ignored)`
    /// where a filter hides it.
    #[arg(long)]
    pub verbose: bool,
    /// Log on stderr what is read and what is skipped, with times (also with $DEBUG=1).
    #[arg(long)]
    pub debug: bool,
    /// Read and verify every blob of both inputs, those with equal digests too (both copies), not
    /// only those the comparison needs: an audit of local copies.
    #[arg(long)]
    pub verify: bool,

    #[command(flatten)]
    pub explain: ExplainArgs,
    /// Multiply the safety limits by FACTOR (0 means 1): index, manifest and config blobs (16 MiB),
    /// compressed archives decompressed to a temporary file (64 GiB), tar headers.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_scale)]
    pub max_scale: f64,
    /// Explorer: the most disk space (in $TMPDIR) for file contents kept aside while layers are read,
    /// so any file's content shows at once; beyond it, a file's layer is read again. Less if the disk
    /// has less room; 0 turns it off. SIZE in bytes or with K, M, G (binary: 4G = 4 GiB).
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = parse_size)]
    pub content_cache: u64,
    /// The explorer opens with PATH selected (in the first layer or filesystem that lists it); the
    /// headless reports ignore it.
    #[arg(long, value_name = "PATH")]
    pub select: Option<String>,

    #[command(flatten)]
    pub sources: SourceArgs,
    /// No summary and no progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The ignore flags. Each takes an optional `=true|false`, so one can be turned back off under
/// `--semantic` (`--semantic --ignore-history=false`), which diffoci cannot do.
#[derive(Debug, Args)]
pub struct IgnoreArgs {
    /// [Recommended] All the --ignore-* options below that diffoci has, plus --ignore-media-types.
    #[arg(long)]
    pub semantic: bool,
    /// Alias for --ignore-file-timestamps --ignore-image-timestamps.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_timestamps: Option<bool>,
    /// Ignore mtime, atime and ctime of files (PAX sub-second times included).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_file_timestamps: Option<bool>,
    /// Ignore the image's creation time, history times and the created annotation.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_image_timestamps: Option<bool>,
    /// Ignore the config's history.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_history: Option<bool>,
    /// Ignore the order of entries in a layer.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_file_order: Option<bool>,
    /// Ignore the file-type bits some builders write into the tar mode field.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_file_mode_redundant_bits: Option<bool>,
    /// Ignore the io.containerd.image.name and org.opencontainers.image.ref.name annotations.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_image_name: Option<bool>,
    /// Ignore USTAR vs PAX vs GNU tar headers.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_tar_format: Option<bool>,
    /// Treat "/a", "./a" and "a" as the same path.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub treat_canonical_paths_equal: Option<bool>,
    /// Ignore media types and compression (OCI vs Docker, gzip vs zstd vs plain).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_media_types: Option<bool>,
    /// Ignore uid, gid, user and group names.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_owner: Option<bool>,
    /// Ignore permission bits (and file-type bits).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_mode: Option<bool>,
    /// Ignore files matching GLOB and everything below them (repeatable), e.g. var/log/**.
    #[arg(long, value_name = "GLOB")]
    pub ignore_path: Vec<String>,
    /// Read --ignore-path globs from FILE, one per line (# starts a comment).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
}

impl IgnoreArgs {
    /// The active ignore options: `--semantic` first, then each explicit flag on or off.
    pub fn options(&self) -> Vec<IgnoreOption> {
        let mut active: Vec<IgnoreOption> = if self.semantic {
            IgnoreOption::SEMANTIC.to_vec()
        } else {
            Vec::new()
        };
        let mut set = |option: IgnoreOption, value: Option<bool>| match value {
            Some(true) if !active.contains(&option) => active.push(option),
            Some(false) => active.retain(|o| *o != option),
            _ => {}
        };
        set(IgnoreOption::FileTimestamps, self.ignore_timestamps);
        set(IgnoreOption::ImageTimestamps, self.ignore_timestamps);
        set(IgnoreOption::FileTimestamps, self.ignore_file_timestamps);
        set(IgnoreOption::ImageTimestamps, self.ignore_image_timestamps);
        set(IgnoreOption::History, self.ignore_history);
        set(IgnoreOption::FileOrder, self.ignore_file_order);
        set(
            IgnoreOption::FileModeRedundantBits,
            self.ignore_file_mode_redundant_bits,
        );
        set(IgnoreOption::ImageName, self.ignore_image_name);
        set(IgnoreOption::TarFormat, self.ignore_tar_format);
        set(
            IgnoreOption::CanonicalPaths,
            self.treat_canonical_paths_equal,
        );
        set(IgnoreOption::MediaTypes, self.ignore_media_types);
        set(IgnoreOption::Owner, self.ignore_owner);
        set(IgnoreOption::Mode, self.ignore_mode);
        active
    }

    /// `--ignore-path` globs plus those of `--ignore-file`.
    pub fn path_patterns(&self) -> std::io::Result<Vec<String>> {
        let mut patterns = self.ignore_path.clone();
        if let Some(file) = &self.ignore_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", file.display())))?;
            patterns.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        Ok(patterns)
    }
}

/// What explains differences, and what the verdict and exit status rest on.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Compare the insides of differing files (tar, zip/jar/whl, gzip/zstd/xz, pyc) this many levels
    /// deep; 0 compares them by content digest only, as diffoci does.
    #[arg(long, value_name = "N", default_value_t = NestedLimits::DEFAULT.depth)]
    pub deep: u32,
    /// Same as --deep=0.
    #[arg(long, conflicts_with = "deep")]
    pub no_deep: bool,
    /// Do not read the images' package databases (dpkg, apk, rpm, Python, npm).
    #[arg(long)]
    pub no_packages: bool,
    /// More noise rules (assets/NOISE-RULES.md); a file can also turn built-in rules off. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub noise_file: Vec<PathBuf>,
    /// Hide what the noise rules explain as noise (not part of --semantic).
    #[arg(long)]
    pub ignore_noise: bool,
    /// Exit 1 for any shown difference (as diffoci), or only when an unexplained one remains.
    #[arg(long, value_enum, default_value = "any", value_name = "WHAT")]
    pub fail_on: FailOn,
    /// Table: each row's explanations after it (on with --verbose).
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Any,
    Unexplained,
}

impl ExplainArgs {
    pub fn depth(&self) -> u32 {
        if self.no_deep { 0 } else { self.deep }
    }

    /// The built-in noise rules with the user's files applied.
    pub fn catalogue(&self) -> anyhow::Result<Catalogue> {
        let mut catalogue = Catalogue::builtin();
        for file in &self.noise_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("--noise-file {}: {e}", file.display()))?;
            catalogue.add_user_rules(&file.display().to_string(), &text)?;
        }
        Ok(catalogue)
    }
}

/// How registries, engines and the blob cache are reached.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Allow plain HTTP (when the registry offers no TLS) and any TLS certificate for this registry;
    /// loopback registries get plain HTTP when they offer no TLS anyway. Repeatable.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// Trust this CA certificate (PEM) for registries; repeatable.
    #[arg(long, value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Keep downloaded blobs here (default: $XDG_CACHE_HOME/ocidiff-tui).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Keep nothing downloaded after the run.
    #[arg(long)]
    pub no_cache: bool,
    /// When to ask a registry: always resolve the reference (blobs already cached are never downloaded
    /// again); missing: use what an earlier run resolved it to while the cache has it; never: the
    /// cache only.
    #[arg(long, value_enum, default_value = "always", value_name = "WHEN")]
    pub pull: PullArg,
    /// containerd's socket for containerd://NAME (default: $CONTAINERD_ADDRESS, else
    /// /run/containerd/containerd.sock).
    #[arg(long, value_name = "SOCKET")]
    pub containerd_address: Option<PathBuf>,
    /// containerd namespace for containerd://NAME (default: $CONTAINERD_NAMESPACE, else default).
    #[arg(long, value_name = "NAME")]
    pub containerd_namespace: Option<String>,
    /// Registries and engines: the longest wait to connect, for a response, or for a body's next
    /// byte (an engine may take 20 times this to start an export).
    #[arg(long, value_name = "SECS", env = "OCIDIFF_NETWORK_TIMEOUT", default_value = "30", value_parser = parse_seconds)]
    pub network_timeout: Duration,
    /// A body slower than this many bytes/s, averaged over each --network-timeout of waiting, has
    /// stalled (0: any rate).
    #[arg(long, value_name = "BYTES", env = "OCIDIFF_NETWORK_MIN_RATE", default_value_t = NetworkLimits::DEFAULT_MIN_RATE)]
    pub network_min_rate: u64,
}

impl SourceArgs {
    /// The options for opening inputs; `scale` is `--max-scale` (see [`CompareArgs::scale`]).
    pub fn options(&self, platforms: &[Platform], scale: f64) -> SourceOptions {
        let cache = match (&self.cache_dir, self.no_cache) {
            (_, true) => CacheSetting::Disabled,
            (Some(dir), false) => CacheSetting::Dir(dir.clone()),
            (None, false) => CacheSetting::Default,
        };
        SourceOptions {
            platforms: platforms.to_vec(),
            insecure_registries: self.insecure_registry.clone(),
            registry_ca: self.registry_ca.clone(),
            cache,
            pull: match self.pull {
                PullArg::Always => PullPolicy::Always,
                PullArg::Missing => PullPolicy::Missing,
                PullArg::Never => PullPolicy::Never,
            },
            containerd_address: self.containerd_address.clone(),
            containerd_namespace: self.containerd_namespace.clone(),
            network: NetworkLimits {
                timeout: self.network_timeout,
                min_rate: self.network_min_rate,
            },
            archive_limits: ArchiveLimits::scaled(scale),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullArg {
    Always,
    Missing,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    Auto,
    PerLayer,
    Merged,
}

impl From<ViewArg> for View {
    fn from(v: ViewArg) -> View {
        match v {
            ViewArg::Auto => View::Auto,
            ViewArg::PerLayer => View::PerLayer,
            ViewArg::Merged => View::Merged,
        }
    }
}

impl CompareArgs {
    /// `--debug`, or `$DEBUG` set to what Go's strconv.ParseBool calls true (as diffoci reads it).
    pub fn debug(&self) -> bool {
        self.debug
            || std::env::var("DEBUG")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
    }

    /// `--platform0` and `--platform1`, which come together.
    pub fn platform_pair(&self) -> Option<Sides<Platform>> {
        Some(Sides::new(self.platform0.clone()?, self.platform1.clone()?))
    }

    /// `--max-scale`, with 0 meaning 1 (as diffoci has it).
    pub fn scale(&self) -> f64 {
        if self.max_scale == 0.0 {
            1.0
        } else {
            self.max_scale
        }
    }

    /// The JSON blob limit, scaled by `--max-scale`.
    pub fn json_limit(&self) -> u64 {
        (MAX_JSON_BLOB as f64 * self.scale()).min(u64::MAX as f64) as u64
    }
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale >= 0.0 => Ok(scale),
        _ => Err(format!("expected a factor of 0 or more, got {s:?}")),
    }
}

/// A size in bytes, or with a binary unit: `4G`, `512M`, `64KiB`, `0`.
fn parse_size(s: &str) -> Result<u64, String> {
    let text = s.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = text[digits.len()..].to_ascii_uppercase();
    let shift = match unit.trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("expected a size such as 4G, 512M or 0, got {s:?}")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("expected a size such as 4G, 512M or 0, got {s:?}"))
}

/// Seconds, whole or not (`30`, `0.5`); more than 0.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(duration)) if !duration.is_zero() => Ok(duration),
        _ => Err(format!("expected a number of seconds above 0, got {s:?}")),
    }
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::parse(s).ok_or_else(|| format!("expected os/arch[/variant], got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("ocidiff-tui").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn semantic_turns_on_every_option_and_one_can_be_turned_back_off() {
        let all = parse(&["--semantic", "a", "b"]).compare.ignore.options();
        assert_eq!(all.len(), IgnoreOption::SEMANTIC.len());
        let some = parse(&["--semantic", "--ignore-history=false", "a", "b"])
            .compare
            .ignore
            .options();
        assert!(!some.contains(&IgnoreOption::History));
        assert_eq!(some.len(), IgnoreOption::SEMANTIC.len() - 1);
    }

    #[test]
    fn ignore_timestamps_is_an_alias_for_both_timestamp_options() {
        let o = parse(&["--ignore-timestamps", "a", "b"])
            .compare
            .ignore
            .options();
        assert_eq!(
            o,
            [IgnoreOption::FileTimestamps, IgnoreOption::ImageTimestamps]
        );
    }

    #[test]
    fn content_cache_takes_sizes_with_binary_units_and_defaults_to_4_gib() {
        assert_eq!(parse(&["a", "b"]).compare.content_cache, 4 << 30);
        let size = |s: &str| {
            parse(&["--content-cache", s, "a", "b"])
                .compare
                .content_cache
        };
        assert_eq!(size("0"), 0);
        assert_eq!(size("512M"), 512 << 20);
        assert_eq!(size("64KiB"), 64 << 10);
        assert_eq!(size("1gb"), 1 << 30);
        assert_eq!(size("1000"), 1000);
        for bad in ["", "G", "4X", "-1", "99999999999T"] {
            assert!(
                Cli::try_parse_from(["x", "--content-cache", bad, "a", "b"]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn platforms_are_repeatable_and_comma_separated() {
        let c = parse(&[
            "--platform",
            "linux/amd64,linux/arm64",
            "--platform=linux/arm/v7",
            "a",
            "b",
        ]);
        let keys: Vec<String> = c.compare.platform.iter().map(Platform::key).collect();
        assert_eq!(keys, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        assert!(Cli::try_parse_from(["x", "--platform", "linux", "a", "b"]).is_err());
    }

    #[test]
    fn platform0_and_platform1_come_together_and_exclude_platform() {
        let c = parse(&[
            "--platform0",
            "linux/amd64",
            "--platform1=linux/arm64",
            "a",
            "a",
        ]);
        let pair = c.compare.platform_pair().unwrap().map(|p| p.key());
        assert_eq!(pair, Sides::new("linux/amd64".into(), "linux/arm64".into()));
        for args in [
            &["--platform0", "linux/amd64", "a", "b"][..],
            &["--platform1", "linux/amd64", "a", "b"],
            &[
                "--platform0",
                "linux/amd64",
                "--platform1",
                "linux/arm64",
                "--platform",
                "linux/amd64",
                "a",
                "b",
            ],
            &[
                "--platform0",
                "linux/amd64",
                "--platform1",
                "linux/arm64",
                "--all-platforms",
                "a",
                "b",
            ],
        ] {
            assert!(
                Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).is_err(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn network_limits_default_to_30_s_and_1_kib_s_and_take_fractions() {
        let limits = parse(&["a", "b"]).compare.sources.options(&[], 1.0).network;
        assert_eq!(limits, NetworkLimits::default());
        assert_eq!(limits.timeout, Duration::from_secs(30));
        assert_eq!(limits.min_rate, 1024);
        let set = parse(&["--network-timeout=0.5", "--network-min-rate=0", "a", "b"]);
        let limits = set.compare.sources.options(&[], 1.0).network;
        assert_eq!(limits.timeout, Duration::from_millis(500));
        assert_eq!(limits.min_rate, 0);
        for bad in ["0", "-1", "soon", "inf", "NaN"] {
            let arg = format!("--network-timeout={bad}");
            assert!(Cli::try_parse_from(["x", &arg, "a", "b"]).is_err(), "{bad}");
        }
    }

    #[test]
    fn help_lists_every_input_form_of_the_table() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for form in INPUT_FORMS {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{} ", form.syntax)))
                .unwrap_or_else(|| panic!("{} not in:\n{help}", form.syntax));
            assert!(line.ends_with(form.description), "{line}");
            assert!(help.contains(&format!("e.g. {}\n", form.example)), "{help}");
        }
    }

    #[test]
    fn make_example_is_a_subcommand_and_images_are_required_otherwise() {
        assert!(matches!(
            parse(&["make-example", "/tmp/x"]).command,
            Some(Command::MakeExample { .. })
        ));
        assert!(Cli::try_parse_from(["x", "only-one"]).is_err());
    }
}
