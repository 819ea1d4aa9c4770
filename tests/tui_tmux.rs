//! End-to-end tests of the interactive explorer: the real binary in a real terminal (tmux), on real
//! OCI layouts written into a temporary directory. Keys go in with `send-keys`; what a person would
//! see comes back with `capture-pane`. Every wait polls the screen with a deadline.
//!
//! Without tmux these tests fail on CI (`CI` set) and are skipped elsewhere.

mod tui_support;

use tui_support::{
    Images, Tmux, detail_title, differences_shown, example_images, files_below, foreground_colours,
    has_reverse_video, hostile_images, sh_quote, status_bar, tmux_or_skip,
};

/// The explorer on the make-example pair, 100x30, first frame drawn and comparison done.
fn explorer(images: &Images, env: &str) -> Tmux {
    let tmux = Tmux::start(&Images::explorer_command(env), images.path(), 100, 30);
    tmux.wait_for_done();
    tmux
}

macro_rules! require_tmux {
    () => {
        if !tmux_or_skip(module_path!()) {
            return;
        }
    };
}

#[test]
fn opens_on_the_tree_and_the_status_bar_says_done() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    let screen = tmux.screen();
    assert_eq!(tmux.display("#{alternate_on}"), "1", "{screen}");
    assert!(screen.contains("┌ a ↔ b "), "tree pane title:\n{screen}");
    for row in [
        "▾ images",
        "linux/amd64",
        "config",
        "layer 0",
        "layer 1",
        "bin/",
        "app/",
    ] {
        assert!(screen.contains(row), "{row:?} missing:\n{screen}");
    }
    assert_eq!(detail_title(&screen).as_deref(), Some("images"), "{screen}");
    let bar = status_bar(&screen);
    assert!(bar.contains("view auto"), "{bar}");
    assert!(bar.contains("filters: none (strict)"), "{bar}");
    assert_eq!(differences_shown(&screen), Some(19), "{bar}");
    // Closed directories: their entries are not listed yet.
    assert!(!screen.contains("entrypoint.sh"), "{screen}");
}

#[test]
fn j_k_arrows_space_and_l_move_and_open_and_the_detail_pane_follows() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["j"]);
    tmux.wait_for_title("linux/amd64");
    tmux.keys(&["Down"]);
    tmux.wait_for_title("config");
    tmux.keys(&["k"]);
    tmux.wait_for_title("linux/amd64");
    tmux.keys(&["Up"]);
    tmux.wait_for_title("images");
    tmux.keys(&["j", "j", "j", "j"]);
    let screen = tmux.wait_for_title("bin");
    assert!(
        screen.contains("▸ ~ bin/"),
        "closed before Space:\n{screen}"
    );
    assert!(!screen.contains("entrypoint.sh"), "{screen}");
    // A directory's detail pane counts what differs below it (itself and its 2 entries).
    assert!(screen.contains("Modified 3"), "{screen}");
    tmux.keys(&["Space"]);
    let screen = tmux.wait_for("entrypoint.sh");
    assert!(screen.contains("▾ ~ bin/"), "open after Space:\n{screen}");
    tmux.keys(&["j"]);
    let screen = tmux.wait_for_title("bin/entrypoint.sh");
    // The detail pane shows the entry's two sides.
    assert!(
        screen.contains("input 0") && screen.contains("input 1"),
        "{screen}"
    );
    assert!(screen.contains("mtime"), "{screen}");
    tmux.keys(&["j", "j"]);
    tmux.wait_for_title("etc");
    tmux.keys(&["l"]);
    let screen = tmux.wait_for("os-release");
    assert!(screen.contains("▾ ~ etc/"), "{screen}");
    tmux.keys(&["Right"]);
    tmux.keys(&["j"]);
    tmux.wait_for_title("etc/issue.net");
    // h on an entry goes to its directory, h again closes it.
    tmux.keys(&["h"]);
    tmux.wait_for_title("etc");
    tmux.keys(&["h"]);
    tmux.wait_until("etc/ closed again", |s| !s.contains("os-release"));
}

#[test]
fn brackets_jump_between_differences_and_a_layer_counts_its_own() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["j", "j", "j"]);
    let screen = tmux.wait_for_title("layer 0");
    // Every entry of layer 0 moved in time: 7 modified.
    assert!(screen.contains("Modified 7"), "{screen}");
    tmux.keys(&["]"]);
    tmux.wait_for_title("bin");
    tmux.keys(&["]"]);
    let screen = tmux.wait_for_title("bin/entrypoint.sh");
    assert!(screen.contains("▾ ~ bin/"), "opened to show it:\n{screen}");
    tmux.keys(&["["]);
    tmux.wait_for_title("bin");
    // The last row is layer 1's closed etc/: `]` opens it for its first entry.
    tmux.keys(&["G"]);
    tmux.wait_for_title("etc");
    tmux.keys(&["]"]);
    tmux.wait_for_title("etc/.wh.issue.net");
    // From the very last difference, `]` wraps around to the first.
    tmux.keys(&["G"]);
    tmux.wait_for_title("etc/app.toml");
    tmux.keys(&["]"]);
    tmux.wait_for_title("bin");
}

#[test]
fn search_opens_a_closed_directory_and_n_goes_to_the_next_match() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    assert!(!tmux.screen().contains("app.toml"));
    tmux.keys(&["/"]);
    tmux.type_text("toml");
    tmux.wait_for(" /toml");
    // Incremental: the match is selected while typing.
    tmux.wait_for_title("etc/app.toml");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("the search prompt closed", |s| {
        !status_bar(s).contains("/toml")
    });
    assert_eq!(detail_title(&screen).as_deref(), Some("etc/app.toml"));
    assert!(
        screen.contains("app.toml [CT]"),
        "revealed in the tree:\n{screen}"
    );

    tmux.keys(&["/"]);
    tmux.type_text("bin");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("bin");
    tmux.keys(&["n"]);
    tmux.wait_for_title("bin/entrypoint.sh");
    tmux.keys(&["n"]);
    tmux.wait_for_title("bin/sh");
    tmux.keys(&["n"]);
    tmux.wait_for_title("app/bin");
    tmux.keys(&["N"]);
    tmux.wait_for_title("bin/sh");

    tmux.keys(&["/"]);
    tmux.type_text("no-such-path");
    tmux.keys(&["Enter", "n"]);
    tmux.wait_for("no match");
}

#[test]
fn filter_keys_hide_mtime_only_entries_and_the_status_bar_names_them() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    let strict = differences_shown(&tmux.screen()).expect("a count");
    assert!(tmux.screen().contains("~ bin/ [T]"));

    tmux.keys(&["1"]);
    let screen = tmux.wait_for("[1]file-timestamps −");
    let bar = status_bar(&screen);
    let hidden: usize = bar
        .split("[1]file-timestamps −")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count after the option:\n{bar}"));
    assert!(hidden > 0, "{bar}");
    let shown = differences_shown(&screen).expect("a count");
    assert!(shown < strict, "{shown} vs {strict}:\n{bar}");
    assert!(bar.contains("filters: 1 on"), "{bar}");
    // Layer 0 changed only in mtimes: its directories are gone; the real change stays.
    assert!(!screen.contains("bin/"), "{screen}");
    assert!(screen.contains("app/"), "{screen}");

    tmux.keys(&["1"]);
    let screen = tmux.wait_for("filters: none (strict)");
    assert_eq!(differences_shown(&screen), Some(strict), "{screen}");

    tmux.keys(&["s"]);
    let screen = tmux.wait_until("semantic filters on", |s| {
        status_bar(s).contains(" on ") && !s.contains("bin/")
    });
    let bar = status_bar(&screen);
    let on: usize = bar
        .split("filters: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no option count:\n{bar}"));
    assert!(on >= 5, "--semantic turns several options on:\n{bar}");
    assert!(
        differences_shown(&screen).expect("a count") < strict,
        "{bar}"
    );
    tmux.keys(&["s"]);
    tmux.wait_for("filters: none (strict)");
}

#[test]
fn v_cycles_auto_per_layer_and_merged_views() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    assert!(!tmux.screen().contains("merged filesystem"));
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view perlayer");
    assert!(screen.contains("layer 0"), "{screen}");
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view merged");
    assert!(screen.contains("merged filesystem"), "{screen}");
    assert!(!screen.contains("layer 0"), "{screen}");
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view auto");
    assert!(screen.contains("layer 0"), "{screen}");
}

#[test]
fn export_writes_both_versions_of_the_selected_file_and_a_report() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("etc/app.toml");

    // The default path, accepted as it is: relative to the working directory.
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-etc_app.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("exported 1 difference(s) to ./ocidiff-etc_app.toml");
    let default = images.path().join("ocidiff-etc_app.toml");
    assert!(default.join("report.json").is_file(), "{default:?}");

    // The same path again: not empty, so refused, the first export kept.
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-etc_app.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("export refused: ./ocidiff-etc_app.toml is not empty");
    assert!(default.join("report.json").is_file(), "{default:?}");

    // A path typed over the default.
    let target = images.path().join("typed export");
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-");
    tmux.key_times("BSpace", 40);
    tmux.wait_for("export the selected subtree to: ▏");
    tmux.type_text(&target.display().to_string());
    tmux.keys(&["Enter"]);
    tmux.wait_for("exported 1 difference(s) to");
    let files = files_below(&target);
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    assert!(names.contains(&"report.json".to_owned()), "{names:?}");
    let version = |side: &str| {
        let file = files
            .iter()
            .find(|f| f.starts_with(side) && f.ends_with("etc/app.toml"))
            .unwrap_or_else(|| panic!("no {side}/…/etc/app.toml in {names:?}"));
        std::fs::read_to_string(target.join(file)).expect("reading an exported file")
    };
    assert!(version("input-0").contains("port = 80\n"), "{names:?}");
    assert!(version("input-1").contains("port = 8080\n"), "{names:?}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(target.join("report.json")).expect("reading report.json"),
    )
    .expect("report.json is JSON");
    let text = report.to_string();
    assert!(text.contains("etc/app.toml"), "{text}");
    assert!(
        !text.contains("os-release"),
        "only the selected subtree:\n{text}"
    );
}

#[test]
fn help_lists_the_keys_and_any_key_closes_it() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["?"]);
    let screen = tmux.wait_for("keys (any key closes)");
    for what in [
        "quit",
        "search paths",
        "export selected subtree",
        "--ignore-file-timestamps",
    ] {
        assert!(screen.contains(what), "{what:?} missing:\n{screen}");
    }
    // A key with no binding closes it too.
    tmux.keys(&["x"]);
    tmux.wait_until("help closed by x", |s| !s.contains("keys (any key closes)"));
    // A bound key closes it without doing its job.
    tmux.keys(&["?"]);
    tmux.wait_for("keys (any key closes)");
    tmux.keys(&["j"]);
    let screen = tmux.wait_until("help closed by j", |s| !s.contains("keys (any key closes)"));
    assert_eq!(detail_title(&screen).as_deref(), Some("images"), "{screen}");
    tmux.keys(&["?"]);
    tmux.wait_for("keys (any key closes)");
    tmux.keys(&["Escape"]);
    tmux.wait_until("help closed by Esc", |s| {
        !s.contains("keys (any key closes)")
    });
}

fn assert_quits_and_restores(key: &str) {
    assert_stops_and_restores(|tmux| tmux.keys(&[key]), "EXIT=1");
}

/// Stops the explorer with `stop`, then checks the exit status line and that the terminal is back.
fn assert_stops_and_restores(stop: impl FnOnce(&Tmux), exit: &str) {
    let images = example_images();
    let tmux = explorer(&images, "");
    stop(&tmux);
    let screen = tmux.wait_for("TTY=");
    assert!(screen.contains(exit), "{exit}\n{screen}");
    assert!(screen.contains("TTY=cooked"), "raw mode left on:\n{screen}");
    assert!(
        screen.contains("BEFORE-EXPLORER"),
        "shell text restored:\n{screen}"
    );
    assert!(
        !screen.contains("differences shown"),
        "explorer still shown:\n{screen}"
    );
    assert!(!screen.contains("┌"), "{screen}");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "alternate screen still on"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor left hidden");
}

#[test]
fn q_quits_with_exit_1_and_restores_the_terminal() {
    require_tmux!();
    assert_quits_and_restores("q");
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    require_tmux!();
    assert_quits_and_restores("C-c");
}

#[test]
fn a_kill_restores_the_terminal_and_exits_with_the_signal_status() {
    require_tmux!();
    assert_stops_and_restores(
        |tmux| {
            // The explorer is the pane's shell's only child.
            let shell = tmux.display("#{pane_pid}");
            let children = std::process::Command::new("pgrep")
                .args(["-P", &shell])
                .output()
                .expect("pgrep");
            let pid = String::from_utf8_lossy(&children.stdout).trim().to_owned();
            assert!(!pid.is_empty() && !pid.contains('\n'), "children: {pid:?}");
            let killed = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill");
            assert!(killed.success());
        },
        "EXIT=143",
    );
}

#[test]
fn ctrl_c_quits_from_a_prompt_too() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("q");
    tmux.wait_for(" /q");
    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for("TTY=");
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
}

#[test]
fn resizing_redraws_with_the_status_bar_at_the_bottom() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    for (width, height) in [(80u16, 24u16), (120, 40), (60, 15)] {
        tmux.resize(width, height);
        let screen = tmux.wait_until(&format!("a {width}x{height} frame"), |s| {
            let lines: Vec<&str> = s.lines().collect();
            lines.len() == height as usize
                && lines[height as usize - 2].contains(" done ")
                && lines[height as usize - 3].starts_with('└')
                && lines[height as usize - 3].ends_with('┘')
                && lines[height as usize - 3].chars().count() == width as usize
        });
        assert_eq!(
            tmux.display("#{pane_width}x#{pane_height}"),
            format!("{width}x{height}")
        );
        assert!(
            screen.lines().next().is_some_and(|l| l.starts_with('┌')),
            "{screen}"
        );
    }
    // Still responsive after the resizes.
    tmux.keys(&["j"]);
    tmux.wait_for_title("linux/amd64");
}

#[test]
fn no_color_draws_without_colours_and_colours_appear_otherwise() {
    require_tmux!();
    let images = example_images();
    let coloured = explorer(&images, "env -u NO_COLOR");
    let plain = explorer(&images, "NO_COLOR=1");
    let with = coloured.screen_with_escapes();
    let without = plain.screen_with_escapes();
    assert!(
        !foreground_colours(&with).is_empty(),
        "no colour without NO_COLOR:\n{with:?}"
    );
    assert_eq!(
        foreground_colours(&without),
        Vec::<Vec<u32>>::new(),
        "colours with NO_COLOR=1:\n{without:?}"
    );
    // The capture does carry attributes: the selection is still marked (reverse video).
    assert!(has_reverse_video(&without), "{without:?}");
    assert_eq!(coloured.screen(), plain.screen(), "same text either way");
}

#[test]
fn hostile_names_are_shown_escaped_and_do_not_clear_the_screen() {
    require_tmux!();
    let images = hostile_images(b"evil\x1b[2Jname");
    let tmux = Tmux::start(&Images::explorer_command(""), images.path(), 100, 30);
    let screen = tmux.wait_for_done();
    assert!(screen.contains(r"evil\u{1b}[2Jname"), "{screen}");
    tmux.keys(&["/"]);
    tmux.type_text("evil");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("the hostile entry selected", |s| {
        detail_title(s).is_some_and(|t| t.starts_with("evil"))
    });
    assert_eq!(
        detail_title(&screen).as_deref(),
        Some(r"evil\u{1b}[2Jname"),
        "{screen}"
    );
    // Nothing was cleared: both borders, the tree and the status bar are all there.
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[0].starts_with('┌'), "{screen}");
    assert!(lines[27].starts_with('└'), "{screen}");
    assert!(screen.contains("layer 0"), "{screen}");
    assert!(status_bar(&screen).contains(" done "), "{screen}");
}

#[test]
fn without_a_terminal_on_stdout_the_table_is_printed() {
    require_tmux!();
    let images = example_images();
    let command = format!(
        "{} a b > out.txt; echo EXIT=$?; exec sleep 600",
        sh_quote(tui_support::binary())
    );
    let tmux = Tmux::start(&command, images.path(), 100, 30);
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert!(!screen.contains("differences shown"), "{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    let table = std::fs::read_to_string(images.path().join("out.txt")).expect("out.txt");
    assert!(table.starts_with("TYPE "), "{table}");
    assert!(table.contains("etc/app.toml"), "{table}");
    assert!(!table.contains('\x1b'), "{table:?}");
}

/// The key table as Markdown, from the same `BINDINGS` the key handling and the help overlay use.
fn keys_markdown() -> String {
    use ocidiff::tui::keys::BINDINGS;
    let mut out = String::from(
        "<!-- Generated from src/tui/keys.rs (BINDINGS) by tests/tui_tmux.rs; do not edit.\n     \
         Regenerate: UPDATE_ASSETS=1 cargo test --test tui_tmux keys_md -->\n",
    );
    for (heading, options) in [
        ("Keys", false),
        ("Ignore options (each key toggles one)", true),
    ] {
        out.push_str(&format!(
            "\n### {heading}\n\n| Key | What it does |\n| --- | --- |\n"
        ));
        for binding in BINDINGS
            .iter()
            .filter(|b| !b.keys.is_empty() && b.toggles_an_option() == options)
        {
            let keys: Vec<String> = binding
                .keys
                .split_whitespace()
                .map(|k| format!("`{k}`"))
                .collect();
            out.push_str(&format!("| {} | {} |\n", keys.join(" "), binding.what));
        }
    }
    out
}

#[test]
fn keys_md_in_assets_matches_the_key_bindings() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/keys.md");
    let expected = keys_markdown();
    if std::env::var_os("UPDATE_ASSETS").is_some() {
        std::fs::write(&path, &expected).expect("writing assets/keys.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "assets/keys.md is not what src/tui/keys.rs gives; rerun with UPDATE_ASSETS=1 or write:\n{expected}"
    );
    assert!(expected.contains("| `q` `Ctrl-C` | quit |"), "{expected}");
    assert!(
        expected.contains("| `1` | --ignore-file-timestamps |"),
        "{expected}"
    );
}

/// demo.tape is only run by VHS (not here): check it is well formed the way VHS reads it.
#[test]
fn demo_tape_is_well_formed() {
    const SETTINGS: &[&str] = &[
        "Shell",
        "FontFamily",
        "FontSize",
        "LetterSpacing",
        "LineHeight",
        "Framerate",
        "TypingSpeed",
        "Theme",
        "PlaybackSpeed",
        "Height",
        "Width",
        "Padding",
        "LoopOffset",
        "MarginFill",
        "Margin",
        "WindowBar",
        "WindowBarSize",
        "BorderRadius",
        "CursorBlink",
        "WaitTimeout",
        "WaitPattern",
    ];
    const COMMANDS: &[&str] = &[
        "Type",
        "Sleep",
        "Enter",
        "Space",
        "Backspace",
        "Delete",
        "Insert",
        "Tab",
        "Escape",
        "Up",
        "Down",
        "Left",
        "Right",
        "PageUp",
        "PageDown",
        "ScrollUp",
        "ScrollDown",
        "Ctrl",
        "Alt",
        "Shift",
        "Hide",
        "Show",
        "Wait",
        "Screenshot",
        "Copy",
        "Paste",
        "Env",
        "Source",
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tape = std::fs::read_to_string(root.join("demo.tape")).expect("demo.tape");
    let mut first_action: Option<usize> = None;
    let mut outputs = Vec::new();
    let mut typed = String::new();
    for (number, line) in tape.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or_default();
        // `Down@400ms 4`, `Wait+Screen@20s /re/`, `Ctrl+C`: the command is before `@` or `+`.
        let command = word.split(['@', '+']).next().unwrap_or_default();
        let rest = line[word.len()..].trim();
        match command {
            "Output" => outputs.push(rest.to_owned()),
            "Require" => assert!(
                first_action.is_none(),
                "line {number}: Require after an action"
            ),
            "Set" => {
                let name = rest.split_whitespace().next().unwrap_or_default();
                assert!(
                    SETTINGS.contains(&name),
                    "line {number}: unknown setting {name:?}"
                );
                assert!(
                    first_action.is_none() || name == "TypingSpeed",
                    "line {number}: Set {name} after the first action (line {first_action:?}) is ignored by VHS"
                );
            }
            c if COMMANDS.contains(&c) => {
                first_action.get_or_insert(number);
                if c == "Type" {
                    let quoted = rest.len() >= 2
                        && ((rest.starts_with('"') && rest.ends_with('"'))
                            || (rest.starts_with('\'') && rest.ends_with('\''))
                            || (rest.starts_with('`') && rest.ends_with('`')));
                    assert!(
                        quoted,
                        "line {number}: Type needs one quoted string: {line}"
                    );
                    typed.push_str(&rest[1..rest.len() - 1]);
                    typed.push('\n');
                }
                if c == "Wait" && !rest.is_empty() {
                    assert!(
                        rest.len() >= 2 && rest.starts_with('/') && rest.ends_with('/'),
                        "line {number}: Wait takes a /regex/: {line}"
                    );
                }
                if let Some(count) = rest
                    .split_whitespace()
                    .next()
                    .filter(|_| c != "Type" && c != "Wait" && c != "Sleep")
                {
                    assert!(
                        count.parse::<u32>().is_ok(),
                        "line {number}: a repeat count, not {count:?}"
                    );
                }
            }
            other => panic!("line {number}: unknown command {other:?}: {line}"),
        }
    }
    assert_eq!(outputs, ["assets/demo.gif"]);
    // The flow the README promises, on images the repository makes itself.
    for needed in [
        "cargo build --release",
        "make-example /tmp/ocidiff-demo",
        "ocidiff-tui /tmp/ocidiff-demo/a /tmp/ocidiff-demo/b",
        "/toml",
        "\ns\n",
        "\n1\n",
        "\n?\n",
        "\ne\n",
        "\nq\n",
    ] {
        assert!(
            typed.contains(needed),
            "demo.tape never types {needed:?}:\n{typed}"
        );
    }
    assert!(
        tape.contains("Wait+Screen@20s /done/"),
        "waits for the comparison"
    );
}
