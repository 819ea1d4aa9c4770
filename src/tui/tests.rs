//! Screens of the explorer, drawn on ratatui's TestBackend from a real comparison of small images.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::app::{Action, App, Effect, StatusKind};
use super::content::ContentLoader;
use super::history::Commands;
use super::theme::Theme;
use super::tree::NodeKind;
use super::view;
use super::view::status::Prompt;
use crate::engine::Options;
use crate::engine::layer::ReadLimits;
use crate::engine::testing::{MemorySource, image, tar_at};
use crate::filter::{Filter, IgnoreOption, View};
use crate::model::{AspectSet, ContextId, ContextKind, Report, Sides};
use crate::oci::media_type::OCI_LAYER_GZIP;

/// Feeds a report into a new app as the event loop does.
fn app_of(report: Report, filter: Filter) -> App {
    let mut app = App::new(["oci:a".into(), "oci:b".into()], filter, View::Auto);
    for context in report.contexts {
        app.on_event(crate::model::Event::Context(Box::new(context)));
    }
    for (context, proof) in report.equal_layers {
        app.on_event(crate::model::Event::LayerEqual { context, proof });
    }
    for (context, entries) in report.layer_entries {
        app.on_event(crate::model::Event::LayerCompared { context, entries });
    }
    for difference in report.differences {
        app.on_event(crate::model::Event::Difference(difference));
    }
    app.on_event(crate::model::Event::Finished);
    // As the run loop does before each frame.
    app.refresh();
    app
}

fn compare(
    a: (MemorySource, crate::oci::Descriptor),
    b: (MemorySource, crate::oci::Descriptor),
) -> Report {
    let options = Options {
        include_unchanged: true,
        ..Options::default()
    };
    crate::engine::testing::run(Sides::new(a, b), &options)
}

/// Two images: a rebuild (every mtime moves) with one changed file and one added file, and a new
/// environment variable in the config.
fn report() -> Report {
    let files: &[(&str, &[u8])] = &[
        ("etc/os-release", b"ID=example\n"),
        ("etc/motd", b"hi\n"),
        ("bin/sh", b"ELF"),
    ];
    let mut a = MemorySource::default();
    let root_a = image(
        &mut a,
        &[(tar_at(files, 1_700_000_000), OCI_LAYER_GZIP)],
        json!({"created": "2024-01-01T00:00:00Z", "config": {"Env": ["A=1"]}}),
    );
    let mut changed: Vec<(&str, &[u8])> = files.to_vec();
    changed[1] = ("etc/motd", b"hello\n");
    changed.push(("etc/new.conf", b"x=1\n"));
    let mut b = MemorySource::default();
    let root_b = image(
        &mut b,
        &[(tar_at(&changed, 1_700_086_400), OCI_LAYER_GZIP)],
        json!({"created": "2024-01-02T00:00:00Z", "config": {"Env": ["A=1", "DEBUG=1"]}}),
    );
    compare((a, root_a), (b, root_b))
}

fn app() -> App {
    app_of(report(), Filter::default())
}

/// A rebuild: ten files whose only change is their time, and one real change.
fn rebuild() -> App {
    let names: Vec<String> = (0..10).map(|i| format!("usr/share/doc/f{i}")).collect();
    let side = |conf: &'static [u8]| {
        let mut files: Vec<(&str, &[u8])> =
            names.iter().map(|n| (n.as_str(), &b"same\n"[..])).collect();
        files.push(("etc/app.conf", conf));
        files
    };
    let mut a = MemorySource::default();
    let root_a = image(
        &mut a,
        &[(tar_at(&side(b"port=80\n"), 1_700_000_000), OCI_LAYER_GZIP)],
        json!({}),
    );
    let mut b = MemorySource::default();
    let root_b = image(
        &mut b,
        &[(tar_at(&side(b"port=8080\n"), 1_700_086_400), OCI_LAYER_GZIP)],
        json!({}),
    );
    app_of(compare((a, root_a), (b, root_b)), Filter::default())
}

/// Two images of three layers: `etc/app.conf` is added in layer 0, changed in layer 1 on input 1
/// only, and removed (whiteout) in layer 2 on input 0 only.
fn layered() -> App {
    let base: &[(&str, &[u8])] = &[("etc/app.conf", b"v=1\n"), ("etc/keep", b"k\n")];
    // Layer 0 differs (etc/keep), so it is read on both sides.
    let base_b: &[(&str, &[u8])] = &[("etc/app.conf", b"v=1\n"), ("etc/keep", b"K\n")];
    let mut a = MemorySource::default();
    let root_a = image(
        &mut a,
        &[
            (tar_at(base, 1_700_000_000), OCI_LAYER_GZIP),
            (
                tar_at(&[("etc/other", b"o\n")], 1_700_000_000),
                OCI_LAYER_GZIP,
            ),
            (
                tar_at(&[("etc/.wh.app.conf", b"")], 1_700_000_000),
                OCI_LAYER_GZIP,
            ),
        ],
        json!({}),
    );
    let mut b = MemorySource::default();
    let root_b = image(
        &mut b,
        &[
            (tar_at(base_b, 1_700_000_000), OCI_LAYER_GZIP),
            (
                tar_at(&[("etc/app.conf", b"v=2\n")], 1_700_000_000),
                OCI_LAYER_GZIP,
            ),
            (
                tar_at(&[("etc/unrelated", b"u\n")], 1_700_000_000),
                OCI_LAYER_GZIP,
            ),
        ],
        json!({}),
    );
    app_of(compare((a, root_a), (b, root_b)), Filter::default())
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    screen_with(
        app,
        &ContentLoader::new(None, ReadLimits::DEFAULT, None),
        width,
        height,
    )
}

fn screen_with(app: &mut App, content: &ContentLoader, width: u16, height: u16) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme { plain: true };
    // As the event loop does: the listing, then (after a frame) what each option hides.
    app.refresh_counts();
    terminal
        .draw(|f| {
            view::draw(f, app, content, &theme);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().to_string()
}

/// The screen as lines, without TestBackend's quotes.
fn lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.trim_start_matches('"').trim_end_matches('"').to_owned())
        .collect()
}

fn press(app: &mut App, actions: &[Action]) {
    for action in actions {
        app.update(*action);
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::PromptInput(c));
    }
}

fn selected_path(app: &App) -> String {
    app.selected_node()
        .map(|n| {
            let tree = app.session.tree();
            match tree.node(n).kind {
                NodeKind::Context(_) | NodeKind::Property { .. } => {
                    tree.name(tree.node(n)).to_owned()
                }
                _ => tree.path_of(n),
            }
        })
        .unwrap_or_default()
}

fn message(app: &App) -> String {
    app.bar
        .message()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// Every stop of `]` from the top until it wraps, as (path or label).
fn stops(app: &mut App) -> Vec<String> {
    press(app, &[Action::Home]);
    let mut seen = Vec::new();
    for _ in 0..500 {
        press(app, &[Action::NextDifference]);
        if message(app).starts_with("wrapped") {
            break;
        }
        seen.push(selected_path(app));
    }
    seen
}

#[test]
fn first_screen_shows_the_tree_and_the_image_descriptors() {
    let mut app = app();
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn an_entry_shows_its_metadata_delta() {
    let mut app = app();
    screen(&mut app, 80, 24);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "os-rel");
    press(&mut app, &[Action::PromptSubmit]);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("mtime"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn every_listed_difference_is_reached_by_brackets_and_counted_contexts_included() {
    for filter in [
        Filter::default(),
        Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap(),
    ] {
        let mut app = app_of(report(), filter);
        screen(&mut app, 100, 30);
        let listed = app.session.listed_counts().total();
        let stops = stops(&mut app);
        assert_eq!(stops.len(), listed, "{stops:?}");
        assert!(
            stops.contains(&"config".to_owned()),
            "the config's Env change: {stops:?}"
        );
        assert!(stops.contains(&"etc/motd".to_owned()), "{stops:?}");
        let bar = screen(&mut app, 100, 30);
        assert!(bar.contains(&format!("{listed} rows differ")), "{bar}");
    }
}

#[test]
fn brackets_say_when_they_wrap_in_both_directions() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::Home, Action::PreviousDifference]);
    assert_eq!(message(&app), "wrapped around to the last difference");
    let last = selected_path(&app);
    press(&mut app, &[Action::NextDifference]);
    assert_eq!(message(&app), "wrapped around to the first difference");
    let first = selected_path(&app);
    press(&mut app, &[Action::NextDifference]);
    assert_eq!(message(&app), "", "no wrap, nothing said");
    press(
        &mut app,
        &[Action::PreviousDifference, Action::PreviousDifference],
    );
    assert_eq!(selected_path(&app), last);
    assert_ne!(first, last);
}

#[test]
fn status_keys_change_what_is_counted_and_reached() {
    let mut app = app_of(report(), Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap());
    screen(&mut app, 100, 30);
    let all = app.session.listed_counts().total();
    press(&mut app, &[Action::ToggleStatus(StatusKind::Modified)]);
    let text = screen(&mut app, 100, 30);
    let only_added = app.session.listed_counts().total();
    assert!(only_added < all, "{only_added} vs {all}");
    assert_eq!(stops(&mut app), ["etc/new.conf"]);
    assert!(
        text.contains(&format!("{only_added} row differs (M hides")),
        "{text}"
    );
}

#[test]
fn closed_directories_and_contexts_say_what_they_hold() {
    let mut app = app_of(report(), Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap());
    let text = screen(&mut app, 100, 30);
    // etc/ itself differs only in time (hidden): its marker and count come from what is inside.
    assert!(text.contains("▸ ~ etc/ (2)"), "{text}");
    assert!(
        text.contains("~ config (2)"),
        "the descriptor and the Env change:\n{text}"
    );
    assert!(text.contains("~ config fields  config.Env[1"), "{text}");
}

#[test]
fn the_semantic_key_hides_the_rebuild_noise_and_the_first_screen_says_so() {
    let mut app = rebuild();
    let before = screen(&mut app, 100, 30);
    // The hint counts as the verdict does, not the rows the status bar counts (the layer's digest
    // row restates its files' changes).
    let report = app.session.report();
    let presentation = crate::filter::Presentation::new(report, app.session.filter(), View::Auto);
    let verdict = crate::explain::Verdict::new(report, &presentation.shown());
    let rows = app.session.listed_counts().total();
    assert!(verdict.differences < rows, "{verdict} vs {rows} rows");
    assert!(
        before.contains(&format!(
            "10 of {} differences are file timestamps only — press s for --semantic",
            verdict.differences
        )),
        "{before}"
    );
    assert!(before.contains(&format!("{rows} rows differ")), "{before}");
    // Once the options are changed, the hint has done its job.
    press(&mut app, &[Action::ToggleOption(IgnoreOption::Owner)]);
    assert!(!screen(&mut app, 100, 30).contains("press s for"));
    press(&mut app, &[Action::ToggleOption(IgnoreOption::Owner)]);
    assert!(screen(&mut app, 100, 30).contains("press s for"));
    // Where the noise is not most of it, nothing is said.
    let mut mixed = super::tests::app();
    assert!(!screen(&mut mixed, 100, 30).contains("press s for"));
    press(&mut app, &[Action::ToggleSemantic, Action::NextDifference]);
    let after = screen(&mut app, 100, 30);
    assert!(!after.contains("press s for"), "{after}");
    assert!(after.contains("filters: --semantic"), "{after}");
    assert!(after.contains("[1]file timestamps −"), "{after}");
    insta::assert_snapshot!(after);
}

#[test]
fn a_type_change_marker_is_not_a_badge_letter_and_the_legend_explains_both() {
    let mut app = app();
    press(&mut app, &[Action::ShowLegend]);
    let text = screen(&mut app, 100, 40);
    assert!(text.contains("! type changed"), "{text}");
    assert!(text.contains("T time (mtime, atime, ctime)"), "{text}");
    assert!(text.contains("C content"), "{text}");
}

#[test]
fn help_lists_every_binding_and_fits_80x24() {
    let mut app = app();
    press(&mut app, &[Action::ToggleHelp]);
    let mut text = screen(&mut app, 80, 24);
    // What does not fit is a scroll away, and says so.
    assert!(text.contains("↓ more"), "{text}");
    for _ in 0..10 {
        press(&mut app, &[Action::PageDown]);
        text.push_str(&screen(&mut app, 80, 24));
    }
    assert!(
        app.help.is_open(),
        "moves scroll the help, they do not close it"
    );
    for row in app.keys.help_rows() {
        assert!(
            text.contains(row.what),
            "{} missing from help:\n{text}",
            row.what
        );
    }
    press(&mut app, &[Action::Home]);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn help_at_50x12_stays_inside_its_frame() {
    let mut app = app();
    press(&mut app, &[Action::ToggleHelp]);
    let text = screen(&mut app, 50, 12);
    let rows = lines(&text);
    assert!(
        rows[0].starts_with('┌') && rows[0].contains("keys"),
        "{text}"
    );
    for row in &rows[1..11] {
        assert!(
            row.starts_with('│') && row.ends_with('│'),
            "{row:?}\n{text}"
        );
    }
    assert!(
        rows[11].starts_with('└') && rows[11].contains("more"),
        "{text}"
    );
}

#[test]
fn one_option_toggled_is_named_in_the_status_bar_with_what_it_hides() {
    let mut app = app();
    press(
        &mut app,
        &[Action::ToggleOption(IgnoreOption::FileTimestamps)],
    );
    let text = screen(&mut app, 100, 24);
    assert!(text.contains("[1]file timestamps −"), "{text}");
}

#[test]
fn search_finds_a_path_inside_a_closed_directory_and_counts_matches() {
    let mut app = app();
    screen(&mut app, 80, 24);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "new");
    let typing = screen(&mut app, 120, 24);
    assert!(typing.contains("/new▏  1 match(es)"), "{typing}");
    press(&mut app, &[Action::PromptSubmit]);
    assert_eq!(selected_path(&app), "etc/new.conf");
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "zzz");
    assert!(screen(&mut app, 120, 24).contains("/zzz▏  not found"));
    press(&mut app, &[Action::PromptSubmit]);
    assert_eq!(message(&app), "not found: zzz");
}

#[test]
fn an_incremental_search_closes_again_what_it_opened_on_the_way() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::StartSearch]);
    // "os" first goes to etc/os-release (opening etc/), then "bin/sh" to bin/sh: etc/ is closed again.
    type_text(&mut app, "os");
    let on_the_way = screen(&mut app, 100, 30);
    assert!(
        on_the_way.contains("os-release"),
        "opened on the way:\n{on_the_way}"
    );
    press(
        &mut app,
        &[Action::PromptBackspace, Action::PromptBackspace],
    );
    type_text(&mut app, "bin/sh");
    press(&mut app, &[Action::PromptSubmit]);
    let text = screen(&mut app, 100, 30);
    assert_eq!(selected_path(&app), "bin/sh");
    assert!(!text.contains("os-release"), "etc/ left open:\n{text}");
    // Esc goes back to where the search started, closed as it was.
    press(&mut app, &[Action::Home, Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptCancel]);
    let text = screen(&mut app, 100, 30);
    assert_eq!(selected_path(&app), "images");
    assert!(!text.contains("motd"), "{text}");
}

#[test]
fn the_tree_filter_lists_only_matching_paths_and_counts_them() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::StartTreeFilter]);
    type_text(&mut app, "MOTD");
    press(&mut app, &[Action::PromptSubmit]);
    app.open_everything();
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("motd"), "{text}");
    assert!(
        !text.contains("os-release") && !text.contains("bin/"),
        "{text}"
    );
    assert!(!text.contains("config fields"), "{text}");
    assert_eq!(app.session.listed_counts().total(), 1);
    assert_eq!(stops(&mut app), ["etc/motd"]);
    press(&mut app, &[Action::StartTreeFilter, Action::PromptCancel]);
    assert!(app.session.listed_counts().total() > 1);
}

#[test]
fn unchanged_entries_appear_on_demand() {
    let mut app = app();
    press(&mut app, &[Action::ToggleSemantic]);
    app.open_everything();
    screen(&mut app, 80, 24);
    let rows_before = app.tree.rows().len();
    press(&mut app, &[Action::ToggleStatus(StatusKind::Unchanged)]);
    app.open_everything();
    screen(&mut app, 80, 24);
    assert!(app.tree.rows().len() > rows_before);
}

#[test]
fn switching_the_view_keeps_the_selected_path() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptSubmit]);
    let before = app.tree.selected_key().map(|k| k.context());
    press(&mut app, &[Action::CycleView, Action::CycleView]);
    screen(&mut app, 100, 30);
    assert_eq!(app.session.view(), View::Merged);
    assert_eq!(selected_path(&app), "etc/motd");
    assert_ne!(
        app.tree.selected_key().map(|k| k.context()),
        before,
        "in the merged filesystem now"
    );
    press(&mut app, &[Action::CycleView]);
    screen(&mut app, 100, 30);
    assert_eq!(selected_path(&app), "etc/motd");
}

#[test]
fn swapping_the_sides_turns_added_into_removed_and_back() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "new.conf");
    press(&mut app, &[Action::PromptSubmit]);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("+ new.conf"), "{text}");
    let effect = app.update(Action::SwapSides);
    assert_eq!(effect, Effect::Swapped);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("- new.conf"), "{text}");
    assert!(text.contains("oci:b ↔ oci:a"), "{text}");
    assert!(text.contains("removed"), "{text}");
    app.update(Action::SwapSides);
    assert!(screen(&mut app, 100, 30).contains("+ new.conf"));
}

#[test]
fn a_files_history_lists_every_layer_that_touches_it_with_what_created_it() {
    let mut app = layered();
    let manifest = app
        .session
        .report()
        .contexts
        .iter()
        .find(|c| matches!(c.kind, ContextKind::Manifest { .. }))
        .map(|c| c.id)
        .unwrap_or(ContextId(0));
    let commands = |v: &[&str]| Commands::Known(v.iter().map(|s| s.to_string()).collect());
    app.session.created_by.insert(
        manifest,
        Sides::new(
            commands(&[
                "COPY app.conf /etc/",
                "RUN add other",
                "RUN rm /etc/app.conf",
            ]),
            commands(&[
                "COPY app.conf /etc/",
                "RUN edit app.conf",
                "RUN add unrelated",
            ]),
        ),
    );
    screen(&mut app, 120, 40);
    press(&mut app, &[Action::CycleView, Action::CycleView]);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "app.conf");
    press(&mut app, &[Action::PromptSubmit, Action::ToggleHistory]);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("history of etc/app.conf"), "{text}");
    assert!(
        text.contains("layer 0: input 0 added, input 1 added  (same on both)"),
        "{text}"
    );
    assert!(text.contains("created by: COPY app.conf /etc/"), "{text}");
    assert!(
        text.contains("layer 1: input 0 -, input 1 changed"),
        "{text}"
    );
    assert!(text.contains("created by 1: RUN edit app.conf"), "{text}");
    assert!(
        text.contains("layer 2: input 0 removed, input 1 -"),
        "{text}"
    );
    assert!(
        text.contains("created by 0: RUN rm /etc/app.conf"),
        "{text}"
    );
}

#[test]
fn a_layer_shows_what_created_it() {
    let mut app = layered();
    let manifest = app
        .session
        .report()
        .contexts
        .iter()
        .find(|c| matches!(c.kind, ContextKind::Manifest { .. }))
        .map(|c| c.id)
        .unwrap_or(ContextId(0));
    app.session.created_by.insert(
        manifest,
        Sides::new(
            Commands::Known(vec!["COPY a /".into(), "RUN one".into()]),
            Commands::Unreadable("config sha256:x: size mismatch".into()),
        ),
    );
    screen(&mut app, 120, 40);
    let layer = app
        .tree
        .rows()
        .iter()
        .position(|r| app.session.tree().name(app.session.tree().node(r.node)) == "layer 1")
        .unwrap_or(0);
    app.tree.select_row(&app.session, layer);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("created by 0: RUN one"), "{text}");
    assert!(
        text.contains("created by 1: (unknown: config sha256:x: size mismatch)"),
        "{text}"
    );
}

#[test]
fn a_layer_that_differs_only_in_its_descriptor_counts_it() {
    let mut app = app();
    screen(&mut app, 100, 30);
    let layer = app
        .tree
        .rows()
        .iter()
        .position(|r| app.session.tree().name(app.session.tree().node(r.node)) == "layer 0")
        .unwrap_or(0);
    app.tree.select_row(&app.session, layer);
    press(&mut app, &[Action::ToggleSemantic]);
    let text = screen(&mut app, 100, 30);
    assert!(!text.contains("no listed differences"), "{text}");
    assert!(text.contains("layer descriptor"), "{text}");
}

#[test]
fn ignoring_a_path_hides_it_and_the_copied_command_names_it() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptSubmit]);
    let before = app.session.listed_counts().total();
    press(&mut app, &[Action::IgnorePath]);
    let text = screen(&mut app, 100, 30);
    assert!(!text.contains("~ motd"), "{text}");
    assert_eq!(app.session.listed_counts().total(), before - 1);
    let Effect::Copy(command) = app.update(Action::CopyCommand) else {
        panic!("y copies");
    };
    assert!(command.contains("--ignore-path etc/motd"), "{command}");
    assert!(command.ends_with(" oci:a oci:b"), "{command}");
    assert!(
        message(&app).starts_with("copied (OSC 52): ocidiff-tui "),
        "{}",
        message(&app)
    );
    press(&mut app, &[Action::ForgetIgnoredPaths]);
    assert_eq!(app.session.listed_counts().total(), before);
}

#[test]
fn the_copied_command_reproduces_filters_view_swap_and_selection() {
    let mut app = app();
    screen(&mut app, 100, 30);
    press(
        &mut app,
        &[Action::ToggleSemantic, Action::CycleView, Action::SwapSides],
    );
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "new.conf");
    press(&mut app, &[Action::PromptSubmit]);
    assert_eq!(
        app.command(),
        "ocidiff-tui --semantic --view per-layer --select etc/new.conf oci:b oci:a"
    );
}

#[test]
fn export_asks_for_a_directory_and_yields_the_subtree() {
    let mut app = app();
    screen(&mut app, 80, 24);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptSubmit, Action::StartExport]);
    assert!(matches!(app.bar.prompt(), Some(Prompt::Export(d)) if d.starts_with("./ocidiff-")),);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("new");
    press(&mut app, &[Action::PromptCancel, Action::StartExport]);
    for _ in 0..40 {
        app.update(Action::PromptBackspace);
    }
    type_text(&mut app, &target.display().to_string());
    let effect = app.update(Action::PromptSubmit);
    assert!(
        matches!(effect, Effect::Export { ref differences, overwrite: false, .. } if differences.len() == 1),
        "{effect:?}"
    );
}

#[test]
fn export_into_a_non_empty_directory_asks_before_writing() {
    let mut app = app();
    screen(&mut app, 80, 24);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("mine.txt"), "keep").unwrap_or_else(|e| panic!("{e}"));
    let ask = |app: &mut App| {
        press(app, &[Action::StartExport]);
        for _ in 0..40 {
            app.update(Action::PromptBackspace);
        }
        type_text(app, &dir.path().display().to_string());
        app.update(Action::PromptSubmit)
    };
    assert_eq!(ask(&mut app), Effect::None);
    let text = screen(&mut app, 120, 24);
    assert!(text.contains("is not empty: write into it"), "{text}");
    // Anything but y leaves it alone.
    assert_eq!(app.update(Action::PromptInput('n')), Effect::None);
    assert!(
        message(&app).starts_with("export cancelled"),
        "{}",
        message(&app)
    );
    assert_eq!(ask(&mut app), Effect::None);
    let effect = app.update(Action::PromptInput('y'));
    assert!(
        matches!(
            effect,
            Effect::Export {
                overwrite: true,
                ..
            }
        ),
        "{effect:?}"
    );
}

#[test]
fn no_more_differences_is_forgotten_when_more_arrive() {
    let full = report();
    let mut app = app_with_contexts_of(&full);
    screen(&mut app, 100, 30);
    press(&mut app, &[Action::NextDifference]);
    assert_eq!(message(&app), "no differences listed");
    for difference in full.differences {
        app.on_event(crate::model::Event::Difference(difference));
    }
    app.on_event(crate::model::Event::Finished);
    let text = screen(&mut app, 100, 30);
    assert!(!text.contains("no differences listed"), "{text}");
}

#[test]
fn resizing_small_then_large_shows_the_tree_from_its_top() {
    let mut app = app();
    app.open_everything();
    screen(&mut app, 160, 45);
    press(&mut app, &[Action::End]);
    for (w, h) in [(50, 12), (20, 5), (160, 45)] {
        press(&mut app, &[Action::Resize]);
        screen(&mut app, w, h);
    }
    let text = screen(&mut app, 160, 45);
    let rows = lines(&text);
    assert!(rows[1].contains("images"), "the first row on top:\n{text}");
    assert_eq!(app.tree.offset(), 0);
}

#[test]
fn hostile_names_are_drawn_inert() {
    let mut app = App::new(
        ["evil\u{1b}[2Jname".into(), "oci:b".into()],
        Filter::default(),
        View::Auto,
    );
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("evil\\u{1b}[2Jname"), "{text}");
}

#[test]
fn text_hunks_of_the_selected_file_are_drawn_below_its_metadata() {
    let mut app = app();
    screen(&mut app, 80, 30);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptSubmit]);
    let (index, _) = app
        .selected_difference()
        .unwrap_or_else(|| panic!("motd not selected"));
    let mut content = ContentLoader::new(None, ReadLimits::DEFAULT, None);
    content.insert(
        index,
        Sides::new(Some(b"hi\n".to_vec()), Some(b"hello\n".to_vec())),
    );
    let text = screen_with(&mut app, &content, 80, 30);
    assert!(text.contains("-hi") && text.contains("+hello"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_long_line_is_marked_where_it_continues_and_can_be_wrapped_or_scrolled() {
    let mut app = app();
    screen(&mut app, 80, 40);
    press(&mut app, &[Action::StartSearch]);
    type_text(&mut app, "motd");
    press(&mut app, &[Action::PromptSubmit]);
    let (index, _) = app.selected_difference().unwrap_or_else(|| panic!("motd"));
    let mut content = ContentLoader::new(None, ReadLimits::DEFAULT, None);
    let long = format!("build path /{}/END-OF-LINE\n", "x".repeat(120));
    content.insert(
        index,
        Sides::new(Some(b"short\n".to_vec()), Some(long.into_bytes())),
    );
    let text = screen_with(&mut app, &content, 80, 40);
    assert!(text.contains('›'), "the cut is marked:\n{text}");
    assert!(!text.contains("END-OF-LINE"), "{text}");
    press(&mut app, &[Action::ToggleWrap]);
    let text = screen_with(&mut app, &content, 80, 40);
    assert!(text.contains("END-OF-LINE"), "wrapped:\n{text}");
    assert!(text.contains('↪'), "{text}");
    press(&mut app, &[Action::ToggleWrap]);
    press(&mut app, &[Action::ScrollSideways(1); 14]);
    let text = screen_with(&mut app, &content, 80, 40);
    assert!(
        text.contains("END-OF-LINE") && text.contains('‹'),
        "scrolled:\n{text}"
    );
    // The whole width: the tree gives way.
    press(&mut app, &[Action::ScrollSideways(-20), Action::ToggleZoom]);
    let text = screen_with(&mut app, &content, 200, 40);
    assert!(
        text.contains("END-OF-LINE") && !text.contains("linux/amd64"),
        "{text}"
    );
}

#[test]
fn the_split_moves_with_keys() {
    let mut app = app();
    let before = screen(&mut app, 100, 30);
    let border = |text: &str| lines(text)[0].find('┐').unwrap_or(0);
    press(&mut app, &[Action::MoveSplit(2)]);
    let wider = screen(&mut app, 100, 30);
    assert!(border(&wider) > border(&before), "{wider}");
    press(&mut app, &[Action::DragSplit(20)]);
    let dragged = screen(&mut app, 100, 30);
    assert!(border(&dragged) < border(&before), "{dragged}");
}

#[test]
fn long_titles_are_shortened_in_the_middle() {
    let mut app = App::new(
        [
            "oci:/var/tmp/testbed/layouts/deb-a".into(),
            "oci:/var/tmp/testbed/layouts/deb-a-zstd".into(),
        ],
        Filter::default(),
        View::Auto,
    );
    let text = screen(&mut app, 120, 24);
    assert!(
        text.contains("┌ oci:/var/…/deb-a ↔ oci:/…/deb-a-zstd"),
        "{text}"
    );
}

// Explanations, package changes, nested archives and the verdict (issue 10).

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(bytes))
}

/// One side of a rebuild with package databases: `foo` at `version` owns `usr/bin/foo`, `bar`
/// (unchanged) owns `usr/bin/bar`; a dpkg log stamped on `day`; a tar whose `NEWS` says `news`.
fn dpkg_files(
    day: u32,
    version: &str,
    foo_bin: &str,
    bar_bin: &str,
    news: &str,
) -> Vec<(String, Vec<u8>)> {
    let status = format!(
        "Package: bar\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0-1\n\n\
         Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
    );
    let log: String = (0..3)
        .map(|i| format!("2026-11-{day:02} 10:0{i}:00 status installed foo:amd64 {version}\n"))
        .collect();
    let stamps: String = (0..3)
        .map(|i| format!("2026-11-{day:02} 10:0{i}:00 configure\n"))
        .collect();
    let mtime = 1_700_000_000 + u64::from(day) * 86_400;
    let inner = tar_at(&[("NEWS", news.as_bytes()), ("README", b"foo\n")], mtime);
    [
        ("var/lib/dpkg/status", status.into_bytes()),
        ("var/lib/dpkg/info/foo.list", b"/usr/bin/foo\n".to_vec()),
        (
            "var/lib/dpkg/info/foo.md5sums",
            format!("{}  usr/bin/foo\n", md5_hex(foo_bin.as_bytes())).into_bytes(),
        ),
        ("var/lib/dpkg/info/bar.list", b"/usr/bin/bar\n".to_vec()),
        (
            "var/lib/dpkg/info/bar.md5sums",
            format!("{}  usr/bin/bar\n", md5_hex(b"bar 2.0-1\n")).into_bytes(),
        ),
        ("usr/bin/foo", foo_bin.as_bytes().to_vec()),
        ("usr/bin/bar", bar_bin.as_bytes().to_vec()),
        ("var/log/dpkg.log", log.into_bytes()),
        ("var/log/stamps.log", stamps.into_bytes()),
        ("usr/share/doc/foo/changes.tar", inner),
    ]
    .into_iter()
    .map(|(name, bytes)| (name.to_owned(), bytes))
    .collect()
}

/// A rebuild under `--ignore-file-timestamps`: `foo` upgraded (its binary matching its package on
/// both sides), `usr/bin/bar` changed while its package did not (an alert), two logs (one differing
/// only in its timestamps), a tar whose `NEWS` member changed.
fn explained_report() -> Report {
    let side = |day, version, foo_bin, bar_bin, news| {
        let files = dpkg_files(day, version, foo_bin, bar_bin, news);
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let mut source = MemorySource::default();
        let root = image(
            &mut source,
            &[(tar_at(&files, 1_700_000_000), OCI_LAYER_GZIP)],
            json!({}),
        );
        (source, root)
    };
    let options = Options {
        catalogue: Some(std::sync::Arc::new(crate::explain::Catalogue::builtin())),
        ..Options::default()
    };
    crate::engine::testing::run(
        Sides::new(
            side(1, "1.0-1", "foo 1.0\n", "bar 2.0-1\n", "1.0\n"),
            side(2, "1.1-1", "foo 1.1\n", "bar patched\n", "1.1\n"),
        ),
        &options,
    )
}

fn explained() -> App {
    app_of(
        explained_report(),
        Filter::new(&[IgnoreOption::FileTimestamps], &[]).unwrap(),
    )
}

/// Selects the first listed node whose path (or label) contains `text`, by search; returns what
/// [`selected_path`] says of it.
fn go_to(app: &mut App, text: &str) -> String {
    press(app, &[Action::StartSearch]);
    type_text(app, text);
    press(app, &[Action::PromptSubmit]);
    selected_path(app)
}

#[test]
fn nested_members_are_children_of_their_file_counted_and_reached_by_brackets() {
    let mut app = explained();
    let tree = app.session.tree();
    let news = tree
        .in_order()
        .iter()
        .copied()
        .find(|n| tree.name(tree.node(*n)) == "NEWS")
        .expect("the member is in the tree");
    let file = tree
        .ancestors(news)
        .find(|a| matches!(tree.node(*a).kind, NodeKind::Entry { .. }))
        .map(|a| tree.path_of(a));
    assert_eq!(file.as_deref(), Some("usr/share/doc/foo/changes.tar"));
    let stops = stops(&mut app);
    let at = |p: &str| stops.iter().position(|s| s == p);
    assert!(
        at("usr/share/doc/foo/changes.tar") < at("NEWS") && at("NEWS").is_some(),
        "{stops:?}"
    );
    assert_eq!(
        stops.len(),
        app.session.listed_counts().total(),
        "what ] reaches is what is counted: {stops:?}"
    );
    assert_eq!(go_to(&mut app, "NEWS"), "NEWS");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("s.tar (2) [C]"), "{text}");
    assert!(
        text.contains(" (tar) (1)"),
        "the inside of the file:\n{text}"
    );
    assert!(text.contains("~ NEWS [C]"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_packages_node_lists_each_change_and_the_files_it_explains() {
    let mut app = explained();
    assert_eq!(go_to(&mut app, "foo:amd64 (dpkg)"), "dpkg foo:amd64");
    let text = screen(&mut app, 80, 24);
    for wanted in [
        "packages (1)",
        "foo:amd64 1.0-1 → 1.1-1",
        "upgraded: foo:amd64 1.0-1 → 1.1-1 (dpkg)",
        "1 differing file(s) it explains:",
        "  ~ usr/bin/foo",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing:\n{text}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn explanation_badges_mark_rows_head_the_detail_and_the_legend_explains_them() {
    let mut app = explained();
    assert_eq!(go_to(&mut app, "usr/bin/bar"), "usr/bin/bar");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("bar [C] !!"), "the alert badge:\n{text}");
    assert!(
        text.contains("foo [C] pkg"),
        "explained by its package:\n{text}"
    );
    let detail: Vec<String> = lines(&text)
        .iter()
        .map(|l| l.split('│').nth(3).unwrap_or_default().to_owned())
        .collect();
    assert!(
        detail[1].starts_with("attention differs although its package"),
        "the explanation is the first line of the detail: {detail:?}"
    );
    insta::assert_snapshot!(text);
    press(&mut app, &[Action::ShowLegend, Action::End]);
    let legend = screen(&mut app, 80, 24);
    for badge in ["!!", "pkg", "noise", "review"] {
        assert!(
            legend.contains(&format!(" {badge} ")),
            "{badge} in the legend:\n{legend}"
        );
    }
}

/// The content of a text file difference, as the loader would read it.
fn with_contents(app: &App, path: &str) -> ContentLoader {
    let report = app.session.report();
    let index = report
        .differences
        .iter()
        .position(|d| d.key() == path && d.nested.is_none())
        .unwrap();
    let mut content = ContentLoader::new(None, ReadLimits::DEFAULT, None);
    let file = |day, version| {
        let files = dpkg_files(day, version, "", "", "");
        files.into_iter().find(|(n, _)| n == path).map(|(_, b)| b)
    };
    content.insert(index, Sides::new(file(1, "1.0-1"), file(2, "1.1-1")));
    content
}

#[test]
fn masking_timestamps_leaves_only_the_other_changes_of_a_text_diff() {
    let mut app = explained();
    assert_eq!(go_to(&mut app, "var/log/dpkg.log"), "var/log/dpkg.log");
    let content = with_contents(&app, "var/log/dpkg.log");
    let before = screen_with(&mut app, &content, 80, 24);
    assert!(before.contains("-2026-11-01 10:00:00 status"), "{before}");
    // The metadata table above the hunks scrolls away.
    press(
        &mut app,
        &[Action::ToggleMaskTimestamps, Action::ScrollDetail(14)],
    );
    let after = screen_with(&mut app, &content, 80, 24);
    assert!(!after.contains("2026-11-0"), "{after}");
    assert!(
        after.contains("-‹time› status installed foo:amd64 1.0-1"),
        "{after}"
    );
    assert!(
        after.contains("+‹time› status installed foo:amd64 1.1-1"),
        "{after}"
    );
    insta::assert_snapshot!(after);
    assert_eq!(go_to(&mut app, "var/log/stamps.log"), "var/log/stamps.log");
    let content = with_contents(&app, "var/log/stamps.log");
    let only_times = screen_with(&mut app, &content, 80, 24);
    assert!(
        only_times.contains("every changed line differs only in date/t"),
        "{only_times}"
    );
    assert!(!only_times.contains("configure"), "{only_times}");
}

#[test]
fn the_unexplained_key_lists_counts_and_reaches_only_unexplained_differences() {
    let mut app = explained();
    let all = stops(&mut app);
    assert!(all.contains(&"usr/bin/foo".to_owned()), "{all:?}");
    press(&mut app, &[Action::ToggleUnexplainedOnly]);
    let left = stops(&mut app);
    for explained in [
        "usr/bin/foo",
        "var/lib/dpkg/status",
        "var/log/dpkg.log",
        "dpkg foo:amd64",
    ] {
        assert!(
            !left.iter().any(|s| s == explained),
            "{explained}: {left:?}"
        );
    }
    for unexplained in ["usr/bin/bar", "usr/share/doc/foo/changes.tar", "NEWS"] {
        assert!(
            left.iter().any(|s| s == unexplained),
            "{unexplained}: {left:?}"
        );
    }
    assert_eq!(left.len(), app.session.listed_counts().total());
    let text = screen(&mut app, 80, 24);
    assert!(
        text.contains(&format!("{} rows differ (u: unexplained only)", left.len())),
        "{text}"
    );
    press(&mut app, &[Action::ToggleUnexplainedOnly]);
    assert_eq!(stops(&mut app), all);
}

#[test]
fn the_status_bar_says_the_headless_verdict() {
    let report = explained_report();
    let filter = Filter::new(&[IgnoreOption::FileTimestamps], &[]).unwrap();
    let presentation = crate::filter::Presentation::new(&report, &filter, View::Auto);
    let verdict = crate::explain::Verdict::new(&report, &presentation.shown()).to_string();
    assert!(verdict.contains("1 upgraded"), "{verdict}");
    let mut app = app_of(report, filter);
    let text = screen(&mut app, 200, 24);
    assert!(text.contains(&format!(" verdict: {verdict}")), "{text}");
}

/// A layer's file differences as the engine streams them with `Options::provisional`: in tar order
/// while the layer is read, settled under the same ids at its end, then the end of the comparison.
#[test]
fn rows_arriving_above_the_selection_keep_it_in_place_and_the_end_does_not_rebuild_the_tree() {
    use super::tree::NodeKey;
    use crate::model::{Aspect, Delta, DiffId, DiffKind, Difference, EntryFields, Event};
    let report = report();
    let layer = report
        .contexts
        .iter()
        .find(|c| matches!(c.kind, ContextKind::Layer { .. }))
        .unwrap()
        .id;
    let mut app = App::new(
        ["oci:a".into(), "oci:b".into()],
        Filter::default(),
        View::PerLayer,
    );
    for context in report.contexts {
        app.on_event(Event::Context(Box::new(context)));
    }
    let file = |id: u32, name: &str| Difference {
        id: DiffId(1000 + id),
        context: layer,
        kind: DiffKind::File,
        key: name.into(),
        deltas: vec![Delta::new(
            Aspect::Content,
            "content",
            json!("x"),
            json!("y"),
        )]
        .into(),
        entries: Some(Sides::new(
            Some(EntryFields::test_file(name).into()),
            Some(EntryFields::test_file(name).into()),
        ))
        .into(),
        origin: Default::default(),
        nested: Default::default(),
        explanations: Default::default(),
    };
    // Listed now rather than at the next streaming refresh.
    let relist = |app: &mut App| {
        let filter = app.session.filter().clone();
        app.session.set_filter(filter);
        app.refresh();
    };
    let arrival = ["m", "x", "y", "z", "f", "e", "d", "c", "b", "a"];
    for (id, name) in arrival.iter().enumerate().take(4) {
        app.on_event(Event::Provisional(file(id as u32, name)));
    }
    app.tree.set_height(8);
    app.tree.want(NodeKey::Path(layer, "m".into()));
    relist(&mut app);
    let selected = app.tree.selected_key().cloned();
    let on_screen = app.tree.selected_row() - app.tree.offset();
    for (id, name) in arrival.iter().enumerate().skip(4) {
        app.on_event(Event::Provisional(file(id as u32, name)));
        relist(&mut app);
        assert_eq!(app.tree.selected_key().cloned(), selected);
        assert_eq!(
            app.tree.selected_row() - app.tree.offset(),
            on_screen,
            "after {name}"
        );
    }
    let tree = app.session.tree();
    let layer_node = tree.context_node(layer).unwrap();
    let names: Vec<&str> = (tree.node(layer_node).children.iter())
        .map(|c| tree.name(tree.node(*c)))
        .collect();
    assert_eq!(names, ["a", "b", "c", "d", "e", "f", "m", "x", "y", "z"]);
    let nodes: Vec<_> = arrival
        .iter()
        .map(|name| tree.find_path(layer, name).unwrap())
        .collect();
    let tree_len = tree.len();
    // The layer's end settles them in path order; then the comparison ends (the report sorts).
    let mut settled: Vec<(usize, &str)> = arrival.iter().copied().enumerate().collect();
    settled.sort_by_key(|(_, name)| *name);
    for (id, name) in settled {
        app.on_event(Event::Difference(file(id as u32, name)));
    }
    let changed = app.on_event(Event::Finished);
    assert!(
        changed.indexes,
        "the finished report sorted its differences"
    );
    app.refresh();
    let tree = app.session.tree();
    assert_eq!(tree.len(), tree_len, "no node added or rebuilt");
    for (name, node) in arrival.iter().zip(&nodes) {
        assert_eq!(
            tree.find_path(layer, name),
            Some(*node),
            "{name} kept its node"
        );
        let index = tree.difference_of(*node).unwrap();
        assert_eq!(app.session.report().differences[index].key(), *name);
    }
    assert_eq!(app.tree.selected_key().cloned(), selected);
    assert_eq!(app.tree.selected_row() - app.tree.offset(), on_screen);
}

#[test]
fn open_everything_opens_directories_that_arrived_since_the_last_frame() {
    let full = report();
    let mut app = app_with_contexts_of(&full);
    for difference in full.differences {
        app.on_event(crate::model::Event::Difference(difference));
    }
    app.on_event(crate::model::Event::Finished);
    // No frame in between: the benchmark and the tests open everything straight away.
    app.open_everything();
    let rows = app.tree.rows();
    assert!(
        rows.iter().all(|row| row.expanded || !row.has_children),
        "a closed row: {:?}",
        rows.iter()
            .find(|row| !row.expanded && row.has_children)
            .map(|row| row.depth)
    );
    assert!(
        rows.iter().any(|row| row.depth > 3),
        "entries under directories are listed"
    );
}

/// An app as the event loop starts one: the report's contexts taken in, no difference yet.
fn app_with_contexts_of(full: &crate::model::Report) -> App {
    let mut app = App::new(
        ["oci:a".into(), "oci:b".into()],
        Filter::default(),
        View::Auto,
    );
    for context in full.contexts.clone() {
        app.on_event(crate::model::Event::Context(Box::new(context)));
    }
    app
}

#[test]
fn counting_from_the_columns_counts_as_the_tally_of_the_shown_deltas() {
    let semantic = Filter::new(&IgnoreOption::SEMANTIC, &[]).unwrap();
    let filters = [
        Filter::default(),
        Filter::new(&[IgnoreOption::FileTimestamps], &[]).unwrap(),
        semantic.clone(),
        semantic.with_ignore_noise(true),
        Filter::default().with_ignore_noise(true),
    ];
    for report in [report(), explained_report()] {
        for filter in &filters {
            for view in [View::Auto, View::PerLayer, View::Merged] {
                let presentation = crate::filter::Presentation::new(&report, filter, view);
                let shown = presentation.shown();
                let by_tally: Vec<(usize, AspectSet, AspectSet)> =
                    crate::filter::tally(&report, &shown)
                        .counted
                        .iter()
                        .map(|c| {
                            let index = report
                                .differences
                                .iter()
                                .position(|d| std::ptr::eq(d, c.shown.difference))
                                .expect("a difference of the report");
                            (index, c.own, c.aspects)
                        })
                        .collect();
                let by_columns: Vec<(usize, AspectSet, AspectSet)> = presentation
                    .counted()
                    .iter()
                    .map(|c| (c.index, c.own, c.aspects))
                    .collect();
                assert_eq!(by_columns, by_tally, "{filter:?} {view:?}");
                assert!(!by_tally.is_empty());
            }
        }
    }
    // The explained report has a file compared inside whose members count with it.
    let report = explained_report();
    let filter = Filter::default();
    let presentation = crate::filter::Presentation::new(&report, &filter, View::Auto);
    assert!(
        presentation
            .counted()
            .iter()
            .any(|c| report.differences[c.index].nested.is_some())
    );
}
