//! What to undo when the process is stopped by a signal (Ctrl-C, `kill`, a closed terminal): temporary
//! directories to remove and, while the explorer runs, the terminal to restore. A normal exit undoes
//! these by dropping their owners; a signal ends the process without running drops, so the binary's
//! signal thread calls [`undo_all`] before it exits.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

enum Undo {
    RemoveDir(PathBuf),
    Run(fn()),
}

static PENDING: Mutex<Vec<(u64, Undo)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Keeps an undo registered; dropping it (the normal path, when the owner cleans up itself) forgets it.
#[must_use = "the registration ends when this is dropped"]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        pending().retain(|(id, _)| *id != self.0);
    }
}

/// Removes `dir` (and everything in it) if a signal stops the process.
pub fn remove_on_signal(dir: &Path) -> Registration {
    register(Undo::RemoveDir(dir.to_owned()))
}

/// Runs `undo` if a signal stops the process (the explorer restores the terminal this way).
pub fn run_on_signal(undo: fn()) -> Registration {
    register(Undo::Run(undo))
}

/// Undoes everything registered, newest first. For the signal handler, just before it exits.
pub fn undo_all() {
    let undos: Vec<(u64, Undo)> = std::mem::take(&mut *pending());
    for (_, undo) in undos.into_iter().rev() {
        match undo {
            Undo::RemoveDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Undo::Run(undo) => undo(),
        }
    }
}

fn register(undo: Undo) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    pending().push((id, undo));
    Registration(id)
}

fn pending() -> std::sync::MutexGuard<'static, Vec<(u64, Undo)>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_dirs_are_removed_unless_their_registration_ended() {
        let base = tempfile::tempdir().unwrap();
        let (kept, removed) = (base.path().join("kept"), base.path().join("removed"));
        for dir in [&kept, &removed] {
            std::fs::create_dir_all(dir.join("inner")).unwrap();
        }
        let ended = remove_on_signal(&kept);
        drop(ended);
        let _live = remove_on_signal(&removed);
        undo_all();
        assert!(kept.exists());
        assert!(!removed.exists());
    }
}
