//! End-to-end tests of the interactive explorer: the real binary in a real terminal (tmux), on real
//! OCI layouts written into a temporary directory. Keys go in with `send-keys`; what a person would
//! see comes back with `capture-pane`. Every wait polls the screen with a deadline.
//!
//! Without tmux these tests fail on CI (`CI` set) and are skipped elsewhere.

mod tui_support;

use tui_support::{
    Images, Tmux, detail_title, differences_shown, example_images, files_below, foreground_colours,
    has_reverse_video, hostile_images, long_line_images, sh_quote, status_bar, tmux_or_skip,
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
        "▾ ~ images (19)",
        "linux/amd64",
        "~ config (2)",
        "~ config fields",
        "layer 0",
        "layer 1",
        "~ bin/ (3) [T]",
        "app/",
    ] {
        assert!(screen.contains(row), "{row:?} missing:\n{screen}");
    }
    assert_eq!(detail_title(&screen).as_deref(), Some("images"), "{screen}");
    let bar = status_bar(&screen);
    assert!(bar.contains("view: auto"), "{bar}");
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
    tmux.wait_for_title("image descriptor");
    tmux.keys(&["Down"]);
    tmux.wait_for_title("linux/amd64");
    tmux.keys(&["k"]);
    tmux.wait_for_title("image descriptor");
    tmux.keys(&["Up"]);
    tmux.wait_for_title("images");
    // images, image descriptor, linux/amd64, config, its 2 rows, layer 0, its descriptor, bin/.
    tmux.key_times("j", 8);
    let screen = tmux.wait_for_title("bin");
    assert!(
        screen.contains("▸ ~ bin/ (3)"),
        "closed before Space:\n{screen}"
    );
    assert!(!screen.contains("entrypoint.sh"), "{screen}");
    // A directory's detail pane counts what differs below it (itself and its 2 entries).
    assert!(screen.contains("modified 3"), "{screen}");
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

/// Presses `]` from the top until it says it wrapped; the detail titles it stopped at.
fn bracket_stops(tmux: &Tmux) -> Vec<String> {
    tmux.keys(&["g"]);
    tmux.wait_for_title("images");
    let mut stops = Vec::new();
    for _ in 0..40 {
        let before = tmux.screen();
        let previous = detail_title(&before);
        tmux.keys(&["]"]);
        // The screen also changes when the selected file's content arrives, before `]` is taken:
        // wait for a new title. Two stops in a row with one title are taken once the screen has
        // changed and a grace time has passed.
        let pressed = std::time::Instant::now();
        let screen = tmux.wait_until("] to move or to wrap", |s| {
            status_bar(s).contains("wrapped around")
                || (s != before
                    && (detail_title(s) != previous
                        || pressed.elapsed() > std::time::Duration::from_secs(2)))
        });
        if status_bar(&screen).contains("wrapped around to the first difference") {
            return stops;
        }
        stops.push(detail_title(&screen).unwrap_or_default());
    }
    panic!("] never wrapped: {stops:?}");
}

#[test]
fn brackets_reach_every_shown_difference_the_config_included_and_say_when_they_wrap() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("filters: --semantic");
    let shown = differences_shown(&screen).expect("a count");
    let stops = bracket_stops(&tmux);
    assert_eq!(stops.len(), shown, "{stops:?}");
    // The only config change (Env[2]: missing → APP_DEBUG=1) is one of them.
    assert!(stops.contains(&"config fields".to_owned()), "{stops:?}");
    tmux.keys(&["g", "]", "]", "]"]);
    let screen = tmux.wait_for_title("config fields");
    assert!(
        screen.contains("config.Env[2]: missing → APP_DEBUG=1"),
        "{screen}"
    );
    assert!(stops.contains(&"etc/app.toml".to_owned()), "{stops:?}");
    // A status key: what ] reaches and what is counted follow it.
    tmux.keys(&["M"]);
    let screen = tmux.wait_for("M hides");
    assert_eq!(differences_shown(&screen), Some(1), "{screen}");
    assert_eq!(bracket_stops(&tmux), ["app/CHANGELOG.md"]);
}

#[test]
fn search_opens_a_closed_directory_and_n_goes_to_the_next_match() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    assert!(!tmux.screen().contains("app.toml"));
    tmux.keys(&["/"]);
    tmux.type_text("toml");
    tmux.wait_for(" /toml▏  1 match(es)");
    // Incremental: the match is selected while typing.
    tmux.wait_for_title("etc/app.toml");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_until("the search prompt closed", |s| {
        !status_bar(s).contains("/toml▏")
    });
    assert_eq!(detail_title(&screen).as_deref(), Some("etc/app.toml"));
    assert!(
        screen.contains("app.toml [CT]"),
        "revealed in the tree:\n{screen}"
    );
    assert!(
        status_bar(&screen).contains("1 match(es) for toml"),
        "{screen}"
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
    tmux.wait_for("/no-such-path▏  not found");
    tmux.keys(&["Enter"]);
    tmux.wait_for("not found: no-such-path");
}

#[test]
fn f_lists_only_matching_paths_and_counts_them() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["f"]);
    tmux.type_text("toml");
    tmux.wait_for("list only paths with: toml▏  1 row(s) listed");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("paths with toml");
    assert_eq!(differences_shown(&screen), Some(1), "{screen}");
    assert!(
        !screen.contains("bin/") && !screen.contains("config fields"),
        "{screen}"
    );
    tmux.keys(&["]"]);
    tmux.wait_for_title("etc/app.toml");
    // Esc on the prompt lists everything again.
    tmux.keys(&["f", "Escape"]);
    let screen = tmux.wait_until("the tree filter cleared", |s| {
        differences_shown(s) == Some(19)
    });
    assert!(screen.contains("bin/"), "{screen}");
}

#[test]
fn filter_keys_hide_mtime_only_entries_and_the_status_bar_names_them() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    let strict = differences_shown(&tmux.screen()).expect("a count");
    // Strict, the first screen says where the answer is (counted right after the first frame), counting
    // as the verdict does: 14 differences (the headless summary's), shown in 19 rows.
    assert_eq!(strict, 19);
    tmux.wait_for("10 of 14 differences are file timestamps only — press s for --semantic");

    tmux.keys(&["1"]);
    // What the option hides is counted after the frame that shows the new listing.
    let screen = tmux.wait_until("the count of what 1 hides", |s| {
        status_bar(s)
            .split("[1]file timestamps −")
            .nth(1)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    });
    let bar = status_bar(&screen);
    let hidden: usize = bar
        .split("[1]file timestamps −")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count after the option:\n{bar}"));
    assert!(hidden > 0, "{bar}");
    let shown = differences_shown(&screen).expect("a count");
    assert!(shown < strict, "{shown} vs {strict}:\n{bar}");
    assert!(
        !screen.contains("press s for"),
        "the hint is done:\n{screen}"
    );
    // Layer 0 changed only in mtimes: its directories are gone; the real change stays.
    assert!(!screen.contains("bin/"), "{screen}");
    assert!(screen.contains("app/"), "{screen}");

    tmux.keys(&["1"]);
    let screen = tmux.wait_for("filters: none (strict)");
    assert_eq!(differences_shown(&screen), Some(strict), "{screen}");

    tmux.keys(&["s"]);
    let screen = tmux.wait_until("semantic filters on, counted", |s| {
        status_bar(s).contains("filters: --semantic [1]") && !s.contains("bin/")
    });
    let bar = status_bar(&screen);
    // Named, with what they hide (as the JSON report's `hidden` counts: the ten mtime-only entries,
    // not layer 0's digest that only restates them); the others said to hide nothing.
    assert!(bar.contains("[1]file timestamps −10"), "{bar}");
    assert!(bar.contains("more hide nothing"), "{bar}");
    assert_eq!(differences_shown(&screen), Some(8), "{bar}");
    tmux.keys(&["s"]);
    tmux.wait_for("filters: none (strict)");
}

#[test]
fn v_cycles_auto_per_layer_and_merged_views_and_keeps_the_selected_path() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    assert!(!tmux.screen().contains("merged filesystem"));
    tmux.keys(&["/"]);
    tmux.type_text("app.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("etc/app.toml");
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view: per layer");
    assert!(screen.contains("layer 0"), "{screen}");
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view: merged");
    assert!(screen.contains("merged filesystem"), "{screen}");
    assert!(!screen.contains("layer 0"), "{screen}");
    assert_eq!(
        detail_title(&screen).as_deref(),
        Some("etc/app.toml"),
        "{screen}"
    );
    tmux.keys(&["v"]);
    let screen = tmux.wait_for("view: auto");
    assert!(screen.contains("layer 0"), "{screen}");
    assert_eq!(
        detail_title(&screen).as_deref(),
        Some("etc/app.toml"),
        "{screen}"
    );
}

#[test]
fn a_long_line_is_marked_can_be_wrapped_scrolled_and_shown_full_width() {
    require_tmux!();
    let images = long_line_images();
    let tmux = Tmux::start(&Images::explorer_command(""), images.path(), 80, 24);
    tmux.wait_for_done();
    tmux.keys(&["/"]);
    tmux.type_text("build.log");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("var/log/build.log");
    // The explanations and the metadata table come first: the hunk is at the end of the pane.
    tmux.keys(&["Tab", "G", "Tab"]);
    let screen = tmux.wait_for("+fetched xxx");
    // The part that differs lies past the edge: the line says it goes on.
    assert!(!screen.contains("b.tmp"), "{screen}");
    assert!(screen.contains("xx›"), "the cut is marked:\n{screen}");
    // Wrapped, the line takes several rows: its end is further down the detail pane.
    tmux.keys(&["W", "Tab", "G"]);
    let screen = tmux.wait_for("b.tmp");
    assert!(screen.contains('↪'), "{screen}");
    // Unwrapped again, the end of the pane (the hunk) stays in view.
    tmux.keys(&["Tab", "W"]);
    tmux.wait_until("unwrapped", |s| !s.contains("b.tmp"));
    tmux.key_times(">", 25);
    let screen = tmux.wait_for("b.tmp/cache/END");
    assert!(screen.contains("‹"), "scrolled, and marked:\n{screen}");
    assert!(screen.contains("scrolled 200 columns right"), "{screen}");
    tmux.key_times("<", 25);
    tmux.keys(&["z", "}"]);
    // z gave the detail pane the whole width; } then moved the split back, the tree wider.
    tmux.wait_until("the tree back, wider", |s| {
        s.lines()
            .next()
            .and_then(|l| l.find("┐┌"))
            .is_some_and(|c| c > 36)
    });
    tmux.keys(&["z"]);
    let screen = tmux.wait_until("the detail on the whole width", |s| !s.contains("┐┌"));
    assert!(screen.starts_with("┌ var/log/build.log"), "{screen}");
}

#[test]
fn x_swaps_the_sides() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("CHANGELOG");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for_title("app/CHANGELOG.md");
    assert!(screen.contains("+ CHANGELOG.md"), "{screen}");
    tmux.keys(&["x"]);
    let screen = tmux.wait_for("┌ b ↔ a ");
    assert!(
        screen.contains("- CHANGELOG.md"),
        "added became removed:\n{screen}"
    );
    assert!(
        status_bar(&screen).contains("sides swapped: input 0 is now b"),
        "{screen}"
    );
    tmux.keys(&["x"]);
    let screen = tmux.wait_for("┌ a ↔ b ");
    assert!(screen.contains("+ CHANGELOG.md"), "{screen}");
}

#[test]
fn t_shows_a_files_history_across_layers_with_created_by() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("app.toml");
    tmux.keys(&["Enter", "t"]);
    let screen = tmux.wait_for("history of etc/app.toml");
    assert!(
        screen.contains("layer 1: input 0 added, input 1 added"),
        "{screen}"
    );
    assert!(screen.contains("created by: COPY app /app"), "{screen}");
    // A layer's detail says what created it too.
    tmux.keys(&["t", "g"]);
    tmux.key_times("j", 6);
    let screen = tmux.wait_for_title("layer 0");
    assert!(screen.contains("created by: ADD rootfs.tar /"), "{screen}");
}

#[test]
fn y_copies_the_command_with_osc_52_and_i_ignores_a_path_in_it() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.command(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.keys(&["s", "/"]);
    tmux.type_text("CHANGELOG");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("app/CHANGELOG.md");
    tmux.keys(&["i"]);
    tmux.wait_for("ignoring app/CHANGELOG.md in this session");
    assert!(!tmux.screen().contains("+ CHANGELOG.md"));
    tmux.keys(&["/"]);
    tmux.type_text("app.toml");
    tmux.keys(&["Enter", "y"]);
    let expected =
        "ocidiff-tui --semantic --ignore-path app/CHANGELOG.md --select etc/app.toml a b";
    tmux.wait_for(&format!("copied (OSC 52): {expected}"));
    // tmux took the sequence off the terminal into its paste buffer.
    let deadline = std::time::Instant::now() + tui_support::TIMEOUT;
    loop {
        let buffer = tmux.command(&["show-buffer"]);
        if buffer == expected {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "buffer: {buffer:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn the_select_flag_opens_on_a_path() {
    require_tmux!();
    let images = example_images();
    let command = format!(
        "{} --select etc/app.toml a b; exec sleep 600",
        sh_quote(tui_support::binary())
    );
    let tmux = Tmux::start(&command, images.path(), 100, 30);
    tmux.wait_for_done();
    tmux.wait_for_title("etc/app.toml");
}

#[test]
fn export_writes_both_versions_of_the_selected_file_and_asks_before_a_non_empty_dir() {
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
    let mine = default.join("my-notes.txt");
    std::fs::write(&mine, "mine").expect("writing a file of my own");

    // The same path again: not empty, so asked about; anything but y leaves it as it was.
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-etc_app.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("./ocidiff-etc_app.toml is not empty: write into it");
    std::fs::remove_file(default.join("report.json")).expect("removing report.json");
    tmux.keys(&["n"]);
    tmux.wait_for("export cancelled: ./ocidiff-etc_app.toml left as it was");
    assert!(!default.join("report.json").exists(), "nothing written");
    // y writes the report again; what was not a report's is kept.
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-etc_app.toml");
    tmux.keys(&["Enter"]);
    tmux.wait_for("is not empty: write into it");
    tmux.keys(&["y"]);
    tmux.wait_for("exported 1 difference(s) to ./ocidiff-etc_app.toml");
    assert!(default.join("report.json").is_file(), "{default:?}");
    assert_eq!(std::fs::read_to_string(&mine).ok().as_deref(), Some("mine"));

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
fn help_and_legend_list_keys_markers_and_badges_and_other_keys_close_them() {
    require_tmux!();
    let images = example_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["?"]);
    let wanted = [
        "keys (b legend, any other key closes)",
        "quit",
        "search paths",
        "export selected subtree",
        "--ignore-file-timestamps",
        "! type changed",
        "T time (mtime, atime, ctime)",
    ];
    tmux.wait_until("the help with keys, options and legend", |s| {
        wanted.iter().all(|w| s.contains(w))
    });
    // A move scrolls it; a key with no binding closes it.
    tmux.keys(&["j"]);
    tmux.keys(&["x"]);
    let screen = tmux.wait_until("help closed by x", |s| !s.contains("any other key closes"));
    assert!(
        screen.contains("┌ a ↔ b "),
        "x closed it without swapping:\n{screen}"
    );
    // b: the legend.
    tmux.keys(&["b"]);
    let screen = tmux.wait_for("legend (? keys, any other key closes)");
    assert!(screen.contains("+ added: only in input 1"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("legend closed by Esc", |s| {
        !s.contains("any other key closes")
    });
}

#[test]
fn keys_rebound_in_the_config_file_work_and_the_help_and_status_bar_show_them() {
    require_tmux!();
    let images = example_images();
    let config = images.path().join("config.toml");
    std::fs::write(
        &config,
        "[keys]\nquit = \"Q\"\nhelp = \"H\"\nnext-difference = [\"n\", \"ctrl-n\"]\nnext-match = \"+\"\n",
    )
    .expect("write config");
    let env = format!("OCIDIFF_CONFIG={}", sh_quote(config.display().to_string()));
    let tmux = explorer(&images, &env);
    let bar = status_bar(&tmux.screen());
    assert!(bar.contains("H help  b legend  Q quit"), "{bar}");
    // `n` now visits differences (`]` did): from the root, the image descriptor first.
    tmux.keys(&["n"]);
    tmux.wait_for_title("image descriptor");
    // `q` and `?` mean nothing now; `H` opens the help, listing the keys in effect.
    tmux.keys(&["q", "?"]);
    tmux.keys(&["H"]);
    let screen = tmux.wait_for("keys (b legend, any other key closes)");
    for row in ["Q Ctrl-C", "n Ctrl-N [", "+ N"] {
        assert!(
            screen.contains(row),
            "{row:?} missing from the help:\n{screen}"
        );
    }
    let help_row = format!("│ {:<12} this help", "H");
    assert!(screen.contains(&help_row), "{screen}");
    assert!(!screen.contains("q Ctrl-C"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_until("help closed", |s| !s.contains("any other key closes"));
    assert_eq!(tmux.display("#{alternate_on}"), "1", "q did not quit");
    tmux.keys(&["Q"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=1"), "{screen}");
}

#[test]
fn help_at_50x12_stays_in_its_frame() {
    require_tmux!();
    let images = example_images();
    let tmux = Tmux::start(&Images::explorer_command(""), images.path(), 50, 12);
    tmux.wait_for_done();
    tmux.keys(&["?"]);
    let screen = tmux.wait_for("↓ more");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[0].starts_with('┌'), "{screen}");
    for line in &lines[1..11] {
        assert!(
            line.starts_with('│') && line.ends_with('│'),
            "{line:?}\n{screen}"
        );
    }
    assert!(lines[11].starts_with('└'), "{screen}");
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
        !screen.contains("rows differ"),
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
            let border = tui_support::bottom_border_row(s);
            lines.len() == height as usize
                && lines[height as usize - 2].contains(" done ")
                && border.is_some_and(|b| {
                    lines[b].ends_with('┘') && lines[b].chars().count() == width as usize
                })
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
    tmux.wait_for_title("image descriptor");
}

#[test]
fn a_tree_shrunk_to_nothing_and_grown_again_starts_at_its_top() {
    require_tmux!();
    let images = example_images();
    let tmux = Tmux::start(&Images::explorer_command(""), images.path(), 160, 45);
    tmux.wait_for_done();
    tmux.keys(&["G"]);
    tmux.wait_for_title("etc");
    for (width, height) in [(50u16, 12u16), (20, 5)] {
        tmux.resize(width, height);
        tmux.wait_until(&format!("a {width}x{height} frame"), |s| {
            s.lines().count() == height as usize
        });
    }
    tmux.resize(160, 45);
    let screen = tmux.wait_until("a whole 160x45 frame", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.len() == 45
            && lines[0].starts_with('┌')
            && lines[0].chars().count() == 160
            && lines[43].contains(" done ")
    });
    let second = screen.lines().nth(1).unwrap_or_default();
    assert!(
        second.contains("▾ ~ images (19)"),
        "the tree from its top:\n{screen}"
    );
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

/// The foreground colours on screen once `ready` holds of them (contents are drawn plain first, then
/// highlighted).
fn colours_once(tmux: &Tmux, what: &str, ready: impl Fn(&[Vec<u32>]) -> bool) -> Vec<Vec<u32>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let colours = foreground_colours(&tmux.screen_with_escapes());
        if ready(&colours) {
            return colours;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            tmux.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_theme_colours_file_contents_and_no_color_still_wins() {
    require_tmux!();
    let images = example_images();
    // Monokai Extended's text is #f8f8f2, GitHub's #333333.
    let monokai_text = vec![38, 2, 248, 248, 242];
    let github_text = vec![38, 2, 51, 51, 51];
    let open_app_toml = |env: &str| {
        let tmux = explorer(&images, env);
        tmux.type_text("/toml");
        tmux.keys(&["Enter"]);
        tmux.wait_for_title("etc/app.toml");
        tmux
    };
    let default = open_app_toml("env -u NO_COLOR");
    colours_once(&default, "Monokai's text colour", |c| {
        c.contains(&monokai_text)
    });
    let github = open_app_toml("env -u NO_COLOR OCIDIFF_THEME=GitHub");
    let colours = colours_once(&github, "GitHub's text colour", |c| {
        c.contains(&github_text)
    });
    assert!(!colours.contains(&monokai_text), "{colours:?}");
    let plain = open_app_toml("NO_COLOR=1 OCIDIFF_THEME=GitHub");
    plain.wait_for("[server]");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        foreground_colours(&plain.screen_with_escapes()),
        Vec::<Vec<u32>>::new(),
        "NO_COLOR wins over the theme"
    );
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
    // The panes' bottom border, above the verdict and the two status lines.
    assert!(lines[26].starts_with('└'), "{screen}");
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
    assert!(!screen.contains("rows differ"), "{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    let table = std::fs::read_to_string(images.path().join("out.txt")).expect("out.txt");
    assert!(table.starts_with("TYPE "), "{table}");
    assert!(table.contains("etc/app.toml"), "{table}");
    assert!(!table.contains('\x1b'), "{table:?}");
}

/// The key table as Markdown, from the same `BINDINGS` the key handling and the help overlay use.
fn keys_markdown() -> String {
    use ocidiff::tui::keys::{BINDINGS, Keymap};
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
        for row in Keymap::default()
            .help_rows()
            .into_iter()
            .filter(|row| row.toggles_an_option == options)
        {
            let keys: Vec<String> = row
                .keys
                .split_whitespace()
                .map(|k| format!("`{k}`"))
                .collect();
            out.push_str(&format!("| {} | {} |\n", keys.join(" "), row.what));
        }
    }
    out.push_str(
        "\n### Action names (for `[keys]` in the config file)\n\n| Action | Default keys |\n| --- | --- |\n",
    );
    for binding in BINDINGS {
        let keys: Vec<String> = binding
            .default_keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        out.push_str(&format!("| `{}` | {} |\n", binding.name, keys.join(" ")));
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

// Explanations, packages, nested archives and the verdict in the explorer (issue 10).

/// The md5 of a text, as dpkg's `md5sums` record it.
fn md5_hex(text: &str) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(text.as_bytes()))
}

/// A dpkg root of one layer: package `foo` (owning `usr/bin/foo`) at `version`, package `bar`
/// (owning `usr/bin/bar`, unchanged), a `var/log/dpkg.log` stamped at `day`, a tar
/// `usr/share/doc/foo/changes.tar` whose `NEWS` member says `news`, and `etc/app.conf`.
fn dpkg_layer(
    day: u32,
    version: &str,
    foo_bin: &str,
    bar_bin: &str,
    news: &str,
    conf: &str,
) -> Vec<u8> {
    let mtime = 1_700_000_000 + u64::from(day) * 86_400;
    let status = format!(
        "Package: bar\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0-1\n\n\
         Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
    );
    let bar_recorded = "bar 2.0-1\n";
    let log: String = (0..3)
        .map(|i| format!("2026-11-{day:02} 10:0{i}:00 status installed foo:amd64 {version}\n"))
        .collect();
    let inner = ocidiff::fixture::LayerBuilder::new()
        .file("NEWS", news)
        .mtime(mtime)
        .file("README", "foo\n")
        .mtime(mtime)
        .build();
    ocidiff::fixture::LayerBuilder::new()
        .file("var/lib/dpkg/status", status)
        .mtime(mtime)
        .file("var/lib/dpkg/info/foo.list", "/usr/bin/foo\n")
        .mtime(mtime)
        .file(
            "var/lib/dpkg/info/foo.md5sums",
            format!("{}  usr/bin/foo\n", md5_hex(foo_bin)),
        )
        .mtime(mtime)
        .file("var/lib/dpkg/info/bar.list", "/usr/bin/bar\n")
        .mtime(mtime)
        .file(
            "var/lib/dpkg/info/bar.md5sums",
            format!("{}  usr/bin/bar\n", md5_hex(bar_recorded)),
        )
        .mtime(1_700_000_000)
        .file("usr/bin/foo", foo_bin)
        .mtime(mtime)
        .file("usr/bin/bar", bar_bin)
        .mtime(1_700_000_000)
        .file("var/log/dpkg.log", log)
        .mtime(mtime)
        .file("usr/share/doc/foo/changes.tar", inner)
        .mtime(mtime)
        .file("etc/app.conf", conf)
        .mtime(mtime)
        .build()
}

/// A rebuild with one package upgraded (`foo` 1.0-1 → 1.1-1, its binary matching its md5sums on
/// both sides), one file modified after install (`usr/bin/bar`), a log differing only in its
/// timestamps, a tar whose `NEWS` member changed, and one unexplained change (`etc/app.conf`).
fn explain_images() -> Images {
    let dir = tempfile::tempdir().expect("temp dir");
    let sides = [
        (1, "1.0-1", "foo 1.0\n", "bar 2.0-1\n", "1.0\n", "port=80\n"),
        (
            2,
            "1.1-1",
            "foo 1.1\n",
            "bar patched\n",
            "1.1\n",
            "port=8080\n",
        ),
    ];
    for ((day, version, foo_bin, bar_bin, news, conf), side) in sides.into_iter().zip(["a", "b"]) {
        ocidiff::fixture::ImageBuilder::new()
            .layer(
                dpkg_layer(day, version, foo_bin, bar_bin, news, conf),
                ocidiff::fixture::LayerCompression::Gzip,
            )
            .write_oci_layout(&dir.path().join(side), Some("explain"))
            .expect("writing an OCI layout");
    }
    Images { dir }
}

#[test]
fn nested_members_are_rows_below_their_file_and_brackets_reach_them() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    let stops = bracket_stops(&tmux);
    let at = |title: &str| stops.iter().position(|s| s == title);
    assert!(at("NEWS").is_some(), "{stops:?}");
    assert!(
        at("usr/share/doc/foo/changes.tar") < at("NEWS"),
        "{stops:?}"
    );
    let screen = tmux.screen();
    assert_eq!(differences_shown(&screen), Some(stops.len()), "{screen}");
    tmux.keys(&["/"]);
    tmux.type_text("NEWS");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for_title("NEWS");
    for row in [
        "changes.tar (3) [CT]",
        "inside (tar) (2)",
        "NEWS [CT]",
        "README [T]",
    ] {
        assert!(screen.contains(row), "{row:?} missing:\n{screen}");
    }
}

/// Exporting a member's row alone (`NEWS` inside `changes.tar`) writes the member, unpacked from its
/// file on both sides, and the file it lies in.
#[test]
fn exporting_a_member_unpacks_it_from_its_file() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("NEWS");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("NEWS");
    tmux.keys(&["e"]);
    tmux.wait_for("export the selected subtree to: ./ocidiff-");
    for _ in 0..60 {
        tmux.keys(&["BSpace"]);
    }
    tmux.type_text("./member");
    tmux.keys(&["Enter"]);
    // The member's row and the file it is unpacked from, each once.
    tmux.wait_for("exported 2 difference(s) to ./member");
    let layer = |side: usize| images.path().join(format!("member/input-{side}/layers-0"));
    let tar = "usr/share/doc/foo/changes.tar";
    for (side, news) in [(0, "1.0\n"), (1, "1.1\n")] {
        let member = layer(side).join(format!("{tar}!/NEWS"));
        assert_eq!(
            std::fs::read_to_string(&member).ok().as_deref(),
            Some(news),
            "{member:?}"
        );
        assert!(layer(side).join(tar).is_file(), "its file, beside it");
    }
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(images.path().join("member/report.json")).expect("report.json"),
    )
    .expect("JSON");
    let notes = &report["reportDir"];
    assert_eq!(notes["renamed"], serde_json::json!([]), "{notes:#}");
    assert_eq!(notes["notWritten"], serde_json::json!([]), "{notes:#}");
}

#[test]
fn the_packages_node_lists_the_upgrade_and_its_detail_the_files_it_explains() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    let screen = tmux.screen();
    assert!(screen.contains("~ packages (1)"), "{screen}");
    assert!(screen.contains("~ foo:amd64 1.0-1 → 1.1-1"), "{screen}");
    tmux.keys(&["/"]);
    tmux.type_text("foo:amd64");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for_title("foo:amd64 (dpkg)");
    for text in [
        "version: 1.0-1 → 1.1-1",
        "differing file(s) it explains:",
        "  ~ usr/bin/foo",
    ] {
        assert!(screen.contains(text), "{text:?} missing:\n{screen}");
    }
}

#[test]
fn an_alert_badge_marks_the_row_and_the_explanation_heads_the_detail() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("usr/bin/bar");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for_title("usr/bin/bar");
    assert!(screen.contains("bar [C] !! +2B"), "{screen}");
    assert!(screen.contains("foo [CT] pkg"), "{screen}");
    assert!(
        screen.contains("│attention differs although its package did not change"),
        "the first line of the detail:\n{screen}"
    );
    tmux.keys(&["b"]);
    tmux.wait_for("After a row (why it differs)");
    let legend = tmux.wait_for("fails its package check");
    assert!(legend.contains("explained by a package change"), "{legend}");
}

#[test]
fn m_masks_the_timestamps_of_a_text_diff_and_leaves_the_other_changes() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    tmux.keys(&["/"]);
    tmux.type_text("dpkg.log");
    tmux.keys(&["Enter"]);
    tmux.wait_for_title("var/log/dpkg.log");
    tmux.wait_for("-2026-11-01 10:00:00 status installed foo:amd64 1.0-1");
    tmux.keys(&["m"]);
    let screen = tmux.wait_for("-‹time› status installed foo:amd64 1.0-1");
    assert!(
        screen.contains("+‹time› status installed foo:amd64 1.1-1"),
        "{screen}"
    );
    assert!(!screen.contains("2026-11-0"), "{screen}");
    tmux.keys(&["m"]);
    tmux.wait_for("-2026-11-01 10:00:00 status installed foo:amd64 1.0-1");
}

#[test]
fn u_lists_counts_and_reaches_only_the_unexplained_differences() {
    require_tmux!();
    let images = explain_images();
    let tmux = explorer(&images, "");
    // Without file timestamps, as the noise rules and package checks are meant to be read.
    tmux.keys(&["1"]);
    tmux.wait_for("[1]file timestamps −");
    let all = bracket_stops(&tmux);
    assert!(all.contains(&"usr/bin/foo".to_owned()), "{all:?}");
    tmux.keys(&["u"]);
    let screen = tmux.wait_for("(u: unexplained only)");
    let left = bracket_stops(&tmux);
    assert_eq!(differences_shown(&screen), Some(left.len()), "{screen}");
    for explained in ["usr/bin/foo", "var/lib/dpkg/status", "foo:amd64 (dpkg)"] {
        assert!(
            !left.iter().any(|s| s == explained),
            "{explained}: {left:?}"
        );
    }
    for unexplained in ["usr/bin/bar", "etc/app.conf", "NEWS"] {
        assert!(
            left.iter().any(|s| s == unexplained),
            "{unexplained}: {left:?}"
        );
    }
}

#[test]
fn the_status_bar_says_the_same_verdict_as_the_headless_run() {
    require_tmux!();
    let images = explain_images();
    let headless = std::process::Command::new(tui_support::binary())
        .args(["a", "b"])
        .current_dir(images.path())
        .output()
        .expect("running the headless comparison");
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&headless.stdout),
        String::from_utf8_lossy(&headless.stderr)
    );
    let verdict = stdout
        .lines()
        .find(|l| l.starts_with("verdict: "))
        .unwrap_or_else(|| panic!("no verdict line:\n{stdout}"))
        .to_owned();
    assert!(verdict.contains("1 upgraded"), "{verdict}");
    let tmux = Tmux::start(&Images::explorer_command(""), images.path(), 250, 30);
    let screen = tmux.wait_for_done();
    assert!(
        screen
            .lines()
            .any(|l| l.trim_end() == format!(" {verdict}")),
        "{verdict:?} not a line of:\n{screen}"
    );
}

#[test]
fn contents_come_from_the_spool_which_leaves_nothing_in_tmpdir_and_can_be_turned_off() {
    require_tmux!();
    let images = example_images();
    let tmpdir = images.path().join("tmp");
    std::fs::create_dir(&tmpdir).expect("creating TMPDIR");
    let command = |flags: &str| {
        format!(
            "TMPDIR={} {} {flags} --select etc/app.toml a b; echo EXIT=$?; exec sleep 600",
            sh_quote(tmpdir.display().to_string()),
            sh_quote(tui_support::binary())
        )
    };
    let tmux = Tmux::start(&command(""), images.path(), 160, 40);
    tmux.wait_for_done();
    tmux.wait_for_title("etc/app.toml");
    let screen = tmux.wait_for("@@ -");
    assert!(!screen.contains("read again"), "{screen}");
    // The spool's files are unlinked as soon as they are made: nothing to leave behind.
    assert_eq!(files_below(&tmpdir), Vec::<std::path::PathBuf>::new());
    tmux.keys(&["q"]);
    tmux.wait_for("EXIT=");
    assert_eq!(files_below(&tmpdir), Vec::<std::path::PathBuf>::new());

    // Quit in the middle of the scan: still nothing.
    let quick = Tmux::start(&command(""), images.path(), 160, 40);
    quick.keys(&["q"]);
    quick.wait_for("EXIT=");
    assert_eq!(files_below(&tmpdir), Vec::<std::path::PathBuf>::new());

    let off = Tmux::start(&command("--content-cache 0"), images.path(), 160, 40);
    off.wait_for_done();
    off.wait_for_title("etc/app.toml");
    off.wait_for("read again from the layer (the content cache is off)");
}
