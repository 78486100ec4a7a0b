//! The app's background work, all in one place: every thread the app starts is spawned here, named
//! by its kind; one job runs per kind (a newer one cancels the older), each with a [`Progress`] the
//! UI can show and cancel; results come back as `T` (the app's `Done`) and the UI is woken when one
//! arrives or a job ends.

use crate::progress::Progress;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// The kinds of background work; one job of each kind runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Reading the folder's headers.
    Scan,
    /// Reading the frame to show.
    Load,
    /// Drawing the shown frame with the look.
    Render,
    /// Reading and drawing the frames to blink.
    Blink,
    /// Measuring offsets through the selected frames.
    Offsets,
    /// Photometry of the marked stars through the frames.
    Photometry,
    /// A file dialog waiting for the user.
    Dialog,
    /// Exporting the shown frame.
    Export,
    /// Writing a difference image.
    Difference,
    /// Asking a result why a pixel was rejected.
    Inspect,
    /// A calibrate, combine or stack step.
    Reduce,
    /// Saving the preferences.
    SavePrefs,
}

impl JobKind {
    /// The thread's name (seen in debuggers and `top -H`).
    fn thread_name(self) -> String {
        format!("skycomb {self:?}").to_lowercase()
    }
}

/// What a job's work holds: its progress (check it in every loop) and the way back to the UI.
pub struct JobHandle<T> {
    pub progress: Arc<Progress>,
    sender: Sender<T>,
    waker: Waker,
}

impl<T> JobHandle<T> {
    /// Hand a result to the UI and wake it; false once the app is gone.
    pub fn send(&self, result: T) -> bool {
        let sent = self.sender.send(result).is_ok();
        self.waker.wake();
        sent
    }

    /// True once a newer job of the kind (or the user) cancelled this one: stop and send nothing
    /// more but what the UI needs to know it ended.
    pub fn cancelled(&self) -> bool {
        self.progress.is_cancelled()
    }
}

/// Wakes the UI from a worker: the egui context, once the first frame has handed it over.
#[derive(Clone, Default)]
struct Waker(Arc<Mutex<Option<egui::Context>>>);

impl Waker {
    fn wake(&self) {
        if let Some(ctx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            ctx.request_repaint();
        }
    }
}

/// A job started and not yet replaced.
struct Running {
    progress: Arc<Progress>,
    ended: Arc<AtomicBool>,
}

/// The app's jobs and the channel their results come back on.
pub struct Jobs<T> {
    sender: Sender<T>,
    receiver: Receiver<T>,
    waker: Waker,
    running: HashMap<JobKind, Running>,
    /// Why a job could not be started (the system refused a thread), for the status line.
    pub refused: Option<String>,
}

impl<T: Send + 'static> Default for Jobs<T> {
    fn default() -> Self {
        let (sender, receiver) = channel();
        Jobs {
            sender,
            receiver,
            waker: Waker::default(),
            running: HashMap::new(),
            refused: None,
        }
    }
}

impl<T: Send + 'static> Jobs<T> {
    /// Let workers wake the UI through `ctx` (the app hands it over on its first frame).
    pub fn wake_with(&self, ctx: &egui::Context) {
        let mut slot = self.waker.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(ctx.clone());
        }
    }

    /// Start `work` as the job of `kind` on a thread of its own, cancelling the one running;
    /// `None` (and [`Jobs::refused`] says why) when no thread could be made.
    pub fn start(
        &mut self,
        kind: JobKind,
        work: impl FnOnce(&JobHandle<T>) + Send + 'static,
    ) -> Option<Arc<Progress>> {
        self.cancel(kind);
        let progress = Arc::new(Progress::new());
        let ended = Arc::new(AtomicBool::new(false));
        let handle = JobHandle {
            progress: progress.clone(),
            sender: self.sender.clone(),
            waker: self.waker.clone(),
        };
        let flag = ended.clone();
        let spawned = std::thread::Builder::new()
            .name(kind.thread_name())
            .spawn(move || {
                work(&handle);
                flag.store(true, Ordering::Release);
                handle.waker.wake();
            });
        match spawned {
            Ok(_) => {
                self.running.insert(
                    kind,
                    Running {
                        progress: progress.clone(),
                        ended,
                    },
                );
                Some(progress)
            }
            Err(e) => {
                self.refused = Some(format!("cannot start {kind:?}: {e}"));
                None
            }
        }
    }

    /// Ask the job of `kind` to stop (it ends at its next check).
    pub fn cancel(&mut self, kind: JobKind) {
        if let Some(r) = self.running.remove(&kind) {
            r.progress.cancel();
        }
    }

    /// True while the newest job of `kind` runs.
    pub fn is_running(&self, kind: JobKind) -> bool {
        self.running
            .get(&kind)
            .is_some_and(|r| !r.ended.load(Ordering::Acquire))
    }

    /// The progress of the newest job of `kind` (running or ended), if one was started.
    pub fn progress(&self, kind: JobKind) -> Option<Arc<Progress>> {
        self.running.get(&kind).map(|r| r.progress.clone())
    }

    /// The next result that arrived, if any.
    pub fn try_recv(&self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Wait until `done` holds, at most 5 s.
    fn wait_for(mut done: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    #[test]
    fn a_newer_job_of_a_kind_cancels_the_older_and_each_thread_ends() {
        let mut jobs: Jobs<(u32, bool)> = Jobs::default();
        // a job that works until it is cancelled, then says so
        let endless = |id: u32| {
            move |h: &JobHandle<(u32, bool)>| {
                while !h.cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                h.send((id, true));
            }
        };
        let first = jobs.start(JobKind::Offsets, endless(1)).unwrap();
        let other = jobs.start(JobKind::Blink, endless(2)).unwrap();
        assert!(jobs.is_running(JobKind::Offsets));
        let second = jobs.start(JobKind::Offsets, endless(3)).unwrap();
        assert!(first.is_cancelled() && !second.is_cancelled() && !other.is_cancelled());
        let mut got = Vec::new();
        assert!(wait_for(|| {
            got.extend(std::iter::from_fn(|| jobs.try_recv()));
            got.contains(&(1, true))
        }));
        assert!(jobs.is_running(JobKind::Offsets), "the newer job runs on");
        jobs.cancel(JobKind::Offsets);
        jobs.cancel(JobKind::Blink);
        assert!(!jobs.is_running(JobKind::Offsets));
        assert!(wait_for(|| {
            got.extend(std::iter::from_fn(|| jobs.try_recv()));
            got.contains(&(3, true)) && got.contains(&(2, true))
        }));
    }

    #[test]
    fn a_finished_job_is_no_longer_running_and_its_thread_is_named() {
        let mut jobs: Jobs<String> = Jobs::default();
        jobs.start(JobKind::Scan, |h| {
            h.send(std::thread::current().name().unwrap_or("").to_string());
        });
        assert!(wait_for(|| !jobs.is_running(JobKind::Scan)));
        assert_eq!(jobs.try_recv().as_deref(), Some("skycomb scan"));
    }
}
