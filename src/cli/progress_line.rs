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

/// Watch `progress` until `done` says so (or is dropped): draw it on a terminal, and turn Ctrl-C into
/// cancel (the job then stops at its next check and removes its partial outputs).
pub fn watch(
    progress: Arc<Progress>,
    done: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    let draw = std::io::stderr().is_terminal();
    std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            let mut shown = false;
            // wakes at once when the job ends, else every 200 ms to redraw and look for Ctrl-C
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                done.recv_timeout(Duration::from_millis(200))
            {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    progress.cancel();
                }
                if draw {
                    let (d, t, stage) = progress.snapshot();
                    eprint!("\r{stage}: {d}/{t}    ");
                    shown = true;
                }
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
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let watcher = watch(progress.clone(), done_rx);
    let out = job(&progress);
    let _ = done_tx.send(());
    let _ = watcher.join();
    out
}
