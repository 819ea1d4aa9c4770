//! A signal (Ctrl-C in a headless run, `kill`, a closed terminal) ends the process cleanly: temporary
//! directories are removed and the terminal restored (see `ocidiff::cleanup`), then the process exits
//! with the shell's status for that signal, 128 + its number.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub fn install() {
    // Without the handler the default actions stay: the process still ends, only less tidily.
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            ocidiff::cleanup::undo_all();
            std::process::exit(128 + signal);
        }
    });
}
