//! The HTML report in a real browser: headless Chromium loads the page for a hostile-name fixture and
//! for the real Debian pairs deb-a vs deb-d and deb-a vs deb-c (skipped when the testbed is absent), dumps the DOM it built
//! and takes a screenshot. The DOM must hold the sections and counts of the JSON report, the page's own
//! script must have run, and nothing from the image may have become an element or run.
//!
//! Without Chromium (Debian's `chromium`, installed by .ci/run) the tests are skipped, or fail when
//! `CI` is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, run_command, write_layout};
use ocidiff::fixture::{ImageBuilder, LayerBuilder, LayerCompression};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Chromium is killed after this long (`timeout`), so a hung browser cannot hang the suite.
const BROWSER_SECONDS: &str = "90";

const PWN_SCRIPT: &str = "<script>document.documentElement.setAttribute('data-pwned','1')</script>";
const PWN_IMG: &[u8] = b"\"><img src=x onerror=\"document.title='pwned'\">";

fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {CHROMIUM} is missing (apt-get install chromium)"
    );
    eprintln!("skipped: no {CHROMIUM}");
    None
}

/// Runs headless Chromium on `page` with `args` (`--dump-dom`, `--screenshot=…`); its stdout.
fn browse(browser: &str, page: &Path, profile: &Path, args: &[&str]) -> String {
    let output = Command::new("timeout")
        .args([
            BROWSER_SECONDS,
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--no-first-run", "--window-size=1200,1600"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .current_dir(profile)
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The report as HTML (written with `--html`) and as JSON (stdout), from one run.
fn reports(dir: &Path, args: &[&str]) -> (PathBuf, Value) {
    let page = dir.join("report.html");
    let run = run_command(
        bin()
            .args(["--format", "json", "--quiet", "--html"])
            .arg(&page)
            .args(args),
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr());
    (page, run.json())
}

/// Checks the DOM against the JSON report: the verdict, one section per context of the view, one
/// file row per shown file difference; the page's own script ran, and no other.
fn check_dom(dom: &str, json: &Value) {
    assert!(
        dom.contains("data-script=\"ran\""),
        "the page's script did not run"
    );
    assert!(!dom.contains("data-pwned=\"1\""), "an injected script ran");
    assert!(!dom.contains("<title>pwned"), "an injected handler ran");
    assert_eq!(dom.matches("<img").count(), 0, "an injected element");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    let verdict = json["verdict"]["line"].as_str().expect("verdict line");
    assert!(
        dom.contains(&format!("\">{}</p>", html_text(verdict))),
        "verdict {verdict}"
    );
    let differences = json["verdict"]["differences"].as_u64().expect("count");
    assert!(
        dom.contains(&format!(
            "<tr><th>differences</th><td>{differences}</td></tr>"
        )),
        "verdict count {differences}"
    );
    let shown_files = json["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .filter(|d| d["kind"] == "File" && d["shown"] == true)
        .count();
    assert!(shown_files > 0);
    assert_eq!(dom.matches("<details class=\"file ").count(), shown_files);
    for kind in ["images", "platform", "config"] {
        assert!(
            dom.contains(&format!("<details class=\"ctx {kind}\"")),
            "{kind} section"
        );
    }
    // The outermost section counts what the verdict counts.
    let root = dom.find("<details class=\"ctx ").expect("a section");
    assert!(
        dom[root..].contains(&format!("data-count=\"{differences}\"")),
        "{}",
        &dom[root..root + 200]
    );
    let hidden = &json["hidden"];
    let by_option = hidden["by-option"].as_object().into_iter().flatten();
    for (option, count) in by_option {
        if count.as_u64() != Some(0) {
            assert!(
                dom.contains(&format!("<tr><th>--{option}</th><td>{count}</td></tr>")),
                "hidden by --{option}: {count}"
            );
        }
    }
    if let Some(paths) = hidden["by-path"].as_u64().filter(|n| *n > 0) {
        assert!(dom.contains(&format!("<tr><th>--ignore-path</th><td>{paths}</td></tr>")));
    }
}

/// Text as the DOM serialiser writes it in element content.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A screenshot with more than a handful of colours and some spread: the page drew something.
fn assert_not_blank(png_file: &Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let samples = info.color_type.samples();
    let luma: Vec<f64> = pixels[..info.buffer_size()]
        .chunks(samples)
        .map(|p| p.iter().take(3).map(|&c| f64::from(c)).sum::<f64>() / 3.0)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let variance = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    let dark = luma.iter().filter(|&&l| l < 128.0).count();
    assert!(variance > 100.0, "variance {variance}: a blank page?");
    assert!(dark > 1000, "{dark} dark pixels: no text?");
}

fn hostile_pair(dir: &Path) -> [String; 2] {
    let layer = |content: &str, mode: u32| {
        let content = format!("{content}\n{PWN_SCRIPT}\n");
        let content = content.as_str();
        LayerBuilder::new()
            .dir("etc/")
            .file(PWN_SCRIPT, content)
            .file([b"etc/".as_slice(), PWN_IMG].concat(), content)
            .file("etc/\x1b[31mred'quote\"", content)
            .file(b"etc/bad\xff\xfe.txt".as_slice(), content)
            .file("usr/bin/tool", content)
            .mode(mode)
            .build()
    };
    let image = |content: &str, mode: u32| {
        let config = json!({
            "architecture": "amd64",
            "os": "linux",
            "config": { "Env": [format!("X={PWN_SCRIPT}{content}")] },
            "rootfs": { "type": "layers", "diff_ids": [] }
        });
        ImageBuilder::new()
            .config(config)
            .layer(layer(content, mode), LayerCompression::Gzip)
    };
    [
        write_layout(dir, "a", &image("one", 0o755)),
        write_layout(dir, "b", &image("two", 0o4777)),
    ]
}

#[test]
fn hostile_names_are_shown_inert_in_a_real_browser() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let [a, b] = hostile_pair(dir.path());
    let (page, json) = reports(dir.path(), &[&a, &b]);
    let dom = browse(browser, &page, dir.path(), &["--dump-dom"]);
    check_dom(&dom, &json);
    assert!(
        dom.contains("&lt;script&gt;document.documentElement"),
        "the name is shown as text"
    );
    assert!(
        dom.contains("\\x1b[31mred") || dom.contains("\\u{1b}[31mred"),
        "ESC escaped"
    );
    assert!(
        dom.contains("bad\\xff\\xfe.txt"),
        "invalid UTF-8 shown as \\xNN"
    );
    assert!(
        dom.contains("<pre class=\"hunks\" style=\"background:"),
        "text hunks, in the theme's colours"
    );
    let shown_as_text = dom
        .matches("&lt;script&gt;document.documentElement")
        .count();
    assert!(shown_as_text >= 2, "names and contents shown as text");
    let shot = dir.path().join("shot.png");
    browse(
        browser,
        &page,
        dir.path(),
        &[&format!("--screenshot={}", shot.display())],
    );
    assert_not_blank(&shot);
}

/// The upgrade pair under `--semantic` (packages, hidden counts) and the pair that adds curl strict
/// (the largest: over a thousand differences).
#[test]
fn the_real_debian_pairs_render_with_their_sections_and_counts() {
    let Some(browser) = chromium() else { return };
    let root = Path::new("/var/tmp/testbed/layouts");
    if !["deb-a", "deb-c", "deb-d"]
        .iter()
        .all(|name| root.join(name).join("index.json").exists())
    {
        eprintln!("skipped: no testbed layouts at {}", root.display());
        return;
    }
    let layout = |name: &str| root.join(name).display().to_string();
    for args in [
        vec!["--semantic", &layout("deb-a"), &layout("deb-d")],
        vec![&layout("deb-a"), &layout("deb-c")],
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        renders_with_its_sections_and_counts(browser, dir.path(), &args);
    }
}

fn renders_with_its_sections_and_counts(browser: &str, dir: &Path, args: &[&str]) {
    let (page, json) = reports(dir, args);
    let size = std::fs::metadata(&page).expect("page").len();
    assert!(size < 50 << 20, "{size} bytes");
    let dom = browse(browser, &page, dir, &["--dump-dom"]);
    check_dom(&dom, &json);
    if json["differences"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["kind"] == "Pkg"))
    {
        assert!(
            dom.contains("<details class=\"ctx packages\""),
            "packages section"
        );
    }
    let shot = dir.join("shot.png");
    browse(
        browser,
        &page,
        dir,
        &[&format!("--screenshot={}", shot.display())],
    );
    assert_not_blank(&shot);
}
