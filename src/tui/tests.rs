//! Screens of the explorer, drawn on ratatui's TestBackend from a real comparison of small images.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::app::{Action, App};
use super::content::ContentLoader;
use super::theme::Theme;
use super::view;
use crate::engine::Options;
use crate::engine::layer::ReadLimits;
use crate::engine::testing::{MemorySource, image, tar_at};
use crate::filter::{Filter, IgnoreOption, View};
use crate::model::Sides;
use crate::oci::media_type::OCI_LAYER_GZIP;

/// Two images: a rebuild (every mtime moves) with one changed file and one added file.
fn app() -> App {
    let files: &[(&str, &[u8])] = &[
        ("etc/os-release", b"ID=example\n"),
        ("etc/motd", b"hi\n"),
        ("bin/sh", b"ELF"),
    ];
    let mut a = MemorySource::default();
    let root_a = image(
        &mut a,
        &[(tar_at(files, 1_700_000_000), OCI_LAYER_GZIP)],
        json!({"created": "2024-01-01T00:00:00Z"}),
    );
    let mut changed: Vec<(&str, &[u8])> = files.to_vec();
    changed[1] = ("etc/motd", b"hello\n");
    changed.push(("etc/new.conf", b"x=1\n"));
    let mut b = MemorySource::default();
    let root_b = image(
        &mut b,
        &[(tar_at(&changed, 1_700_086_400), OCI_LAYER_GZIP)],
        json!({"created": "2024-01-02T00:00:00Z"}),
    );
    let options = Options {
        include_unchanged: true,
        ..Options::default()
    };
    let report = crate::engine::testing::run(Sides::new((a, root_a), (b, root_b)), &options);
    let mut app = App::new(
        ["oci:a".into(), "oci:b".into()],
        Filter::default(),
        View::Auto,
    );
    // Feed the report back as events, as the loop does.
    for context in report.contexts {
        app.on_event(crate::model::Event::Context(Box::new(context)));
    }
    for difference in report.differences {
        app.on_event(crate::model::Event::Difference(difference));
    }
    app.on_event(crate::model::Event::Finished);
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    screen_with(
        app,
        &ContentLoader::new(None, ReadLimits::DEFAULT),
        width,
        height,
    )
}

fn screen_with(app: &mut App, content: &ContentLoader, width: u16, height: u16) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("{e}"));
    let theme = Theme { plain: true };
    app.refresh();
    terminal
        .draw(|f| {
            view::draw(f, app, content, &theme);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().to_string()
}

fn press(app: &mut App, actions: &[Action]) {
    for action in actions {
        app.update(action.clone());
    }
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
    press(&mut app, &[Action::NextDifference]);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("mtime"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_semantic_key_hides_the_rebuild_noise() {
    let mut app = app();
    screen(&mut app, 80, 24);
    let before = screen(&mut app, 80, 24);
    assert!(
        before.contains("19") || before.contains("differences shown"),
        "{before}"
    );
    press(&mut app, &[Action::ToggleSemantic, Action::NextDifference]);
    let after = screen(&mut app, 80, 24);
    assert!(
        !after.contains("os-release"),
        "os-release differs only in mtime:\n{after}"
    );
    insta::assert_snapshot!(after);
}

#[test]
fn help_lists_every_binding_and_fits_80x24() {
    let mut app = app();
    press(&mut app, &[Action::ToggleHelp]);
    let text = screen(&mut app, 80, 24);
    for binding in super::keys::BINDINGS.iter().filter(|b| !b.keys.is_empty()) {
        assert!(
            text.contains(binding.what),
            "{} missing from help:\n{text}",
            binding.what
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn one_option_toggled_is_named_in_the_status_bar_with_what_it_hides() {
    let mut app = app();
    press(
        &mut app,
        &[Action::ToggleOption(IgnoreOption::FileTimestamps)],
    );
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("[1]file-timestamps −"), "{text}");
}

#[test]
fn search_finds_a_path_inside_a_closed_directory() {
    let mut app = app();
    screen(&mut app, 80, 24);
    press(
        &mut app,
        &[
            Action::StartSearch,
            Action::PromptInput('n'),
            Action::PromptInput('e'),
            Action::PromptInput('w'),
            Action::PromptSubmit,
        ],
    );
    let selected = app.selected_node().map(|n| app.tree.path_of(n));
    assert_eq!(selected.as_deref(), Some("etc/new.conf"));
}

#[test]
fn unchanged_entries_appear_on_demand() {
    let mut app = app();
    press(&mut app, &[Action::ToggleSemantic]);
    screen(&mut app, 80, 24);
    let rows_before = app.rows.len();
    press(
        &mut app,
        &[Action::ToggleStatus(super::app::StatusKind::Unchanged)],
    );
    screen(&mut app, 80, 24);
    assert!(
        app.rows.len() > rows_before,
        "{} vs {rows_before}",
        app.rows.len()
    );
}

#[test]
fn export_asks_for_a_directory_and_yields_the_subtree() {
    let mut app = app();
    screen(&mut app, 80, 24);
    press(&mut app, &[Action::NextDifference, Action::StartExport]);
    assert!(
        matches!(app.prompt, Some(super::app::Prompt::Export(ref d)) if d.starts_with("./ocidiff-"))
    );
    let effect = app.update(Action::PromptSubmit);
    assert!(
        matches!(effect, super::app::Effect::Export { ref differences, .. } if differences.len() == 1),
        "{effect:?}"
    );
}

#[test]
fn hostile_names_are_drawn_inert() {
    let mut app = app();
    app.specs[0] = "evil\u{1b}[2Jname".into();
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("evil\\u{1b}[2Jname"), "{text}");
}

#[test]
fn text_hunks_of_the_selected_file_are_drawn_below_its_metadata() {
    let mut app = app();
    screen(&mut app, 80, 30);
    press(
        &mut app,
        &[
            Action::StartSearch,
            Action::PromptInput('m'),
            Action::PromptInput('o'),
            Action::PromptInput('t'),
            Action::PromptSubmit,
        ],
    );
    let (index, _) = app
        .selected_difference()
        .unwrap_or_else(|| panic!("motd not selected"));
    let mut content = ContentLoader::new(None, ReadLimits::DEFAULT);
    content.insert(
        index,
        Sides::new(Some(b"hi\n".to_vec()), Some(b"hello\n".to_vec())),
    );
    let text = screen_with(&mut app, &content, 80, 30);
    assert!(text.contains("-hi") && text.contains("+hello"), "{text}");
    insta::assert_snapshot!(text);
}
