//! Progress and cancellation shared between a long job and whoever watches it (CLI bar, GUI job list).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters a worker advances and a cancel flag it checks; share it through an `Arc`.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
    stage: Mutex<String>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Start a stage of `total` steps.
    pub fn begin(&self, stage: &str, total: u64) {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = stage.to_string();
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// One more step done.
    pub fn advance(&self, steps: u64) {
        self.done.fetch_add(steps, Ordering::Relaxed);
    }

    /// (done, total, stage).
    pub fn snapshot(&self) -> (u64, u64, String) {
        let stage = self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            stage,
        )
    }

    /// Ask the worker to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancel was asked: call it in every long loop.
    pub fn check(&self) -> crate::Result<()> {
        if self.is_cancelled() {
            Err(crate::Error::Cancelled)
        } else {
            Ok(())
        }
    }
}
