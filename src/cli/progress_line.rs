//! The CLI's side of long jobs: a progress line on a terminal's stderr, and Ctrl-C as a clean cancel.

use skycomb::progress::Progress;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Watch `progress` until `done` is set: draw it on a terminal, and turn Ctrl-C into cancel (the
/// job then stops at its next check and removes its partial outputs).
pub fn watch(progress: Arc<Progress>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    let draw = std::io::stderr().is_terminal();
    std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            let mut shown = false;
            while !done.load(Ordering::Relaxed) {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    progress.cancel();
                }
                if draw {
                    let (d, t, stage) = progress.snapshot();
                    eprint!("\r{stage}: {d}/{t}    ");
                    shown = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            if shown {
                eprint!("\r\x1b[K");
            }
        })
        .expect("spawn the progress thread")
}

/// Run `job` with a progress watcher around it.
pub fn with_progress<T>(job: impl FnOnce(&Progress) -> T) -> T {
    let progress = Arc::new(Progress::new());
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(progress.clone(), done.clone());
    let out = job(&progress);
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    out
}
