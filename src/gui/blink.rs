//! Blink: the selected frames shown one after another in the viewer at an interval (0.1 to 5 s),
//! paused and stepped with keys, raw or registered with the measured offsets (sub-pixel or whole
//! pixels), all with the first frame's limits when locked. Frames are loaded and rendered off the
//! UI thread; only their textures are kept.

use super::app::{App, Done, Textures, Tiles, file_name, frame_limits, render_tiles, upload};
use super::jobs::JobKind;
use crate::display::View;
use std::path::PathBuf;

/// One frame of the blink: its textures (once rendered) or why it could not be shown.
pub struct BlinkFrame {
    pub path: PathBuf,
    pub file: String,
    /// (nx, ny) and the limits it was drawn with.
    pub size: (usize, usize),
    pub limits: (f64, f64),
    pub textures: Result<Textures, String>,
}

/// A rendered blink frame as it comes from the worker thread.
pub(crate) type BlinkTiles = Result<((usize, usize), (f64, f64), Tiles), String>;

/// The blink's state; `active` while the viewer blinks.
#[derive(Default)]
pub struct Blink {
    pub active: bool,
    /// Advancing by itself (false: paused).
    pub playing: bool,
    pub frames: Vec<BlinkFrame>,
    /// Frames still to come from the worker.
    pub expected: usize,
    pub current: usize,
    /// When the current frame came up (egui time, seconds).
    shown_at: f64,
    run: u64,
}

impl Blink {
    /// The frame on screen.
    pub fn frame(&self) -> Option<&BlinkFrame> {
        self.frames.get(self.current)
    }

    /// Step by `by` frames (negative: back), wrapping.
    pub fn step(&mut self, by: i64) {
        let n = self.frames.len() as i64;
        if n > 0 {
            self.current = (self.current as i64 + by).rem_euclid(n) as usize;
        }
    }
}

impl App {
    /// Blink the selected frames (or stop, when already blinking).
    pub fn start_blink(&mut self, ctx: &egui::Context) {
        let frames = self.selected_frames();
        let b = &mut self.blink;
        b.run += 1;
        b.frames.clear();
        b.current = 0;
        b.expected = frames.len();
        b.active = !frames.is_empty();
        b.playing = true;
        b.shown_at = ctx.input(|i| i.time);
        let (run, look, lock, max_side) = (
            b.run,
            self.prefs.look,
            self.prefs.blink_lock_limits,
            self.max_texture,
        );
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Blink, move |h| {
            let mut locked: Option<(f64, f64)> = None;
            for path in frames {
                if h.cancelled() {
                    return;
                }
                let tiles = crate::Frame::open(&path)
                    .map_err(|e| e.to_string())
                    .map(|f| {
                        let lim = locked.unwrap_or_else(|| frame_limits(&f, &look));
                        if lock {
                            locked = Some(lim);
                        }
                        let (ny, nx) = f.data.dim();
                        (
                            (nx, ny),
                            lim,
                            render_tiles(&f, &look.renderer(&f, lim), max_side),
                        )
                    });
                if !h.send(Done::Blink(run, path, tiles)) {
                    return;
                }
            }
        });
    }

    /// Stop blinking: the viewer shows the selected frame again.
    pub fn stop_blink(&mut self) {
        self.jobs.cancel(JobKind::Blink);
        self.blink = Blink {
            run: self.blink.run + 1,
            ..Blink::default()
        };
    }

    /// A blink frame arrived from the worker.
    pub(crate) fn receive_blink(
        &mut self,
        run: u64,
        path: PathBuf,
        tiles: BlinkTiles,
        ctx: &egui::Context,
    ) {
        if run != self.blink.run {
            return;
        }
        let file = file_name(&path);
        let frame = match tiles {
            Ok((size, limits, tiles)) => BlinkFrame {
                textures: Ok(upload(ctx, &format!("blink {file}"), tiles)),
                path,
                file,
                size,
                limits,
            },
            Err(e) => BlinkFrame {
                path,
                file,
                size: (0, 0),
                limits: (0.0, 0.0),
                textures: Err(e),
            },
        };
        self.blink.frames.push(frame);
        self.blink.expected = self.blink.expected.saturating_sub(1);
    }

    /// Move on when the interval is over; keys: space pauses, left/right arrows step, Escape stops.
    pub(crate) fn tick_blink(&mut self, ui: &egui::Ui) {
        if !self.blink.active {
            return;
        }
        let now = ui.input(|i| i.time);
        if !ui.ctx().text_edit_focused() {
            let (space, left, right, escape) = ui.input(|i| {
                (
                    i.key_pressed(egui::Key::Space),
                    i.key_pressed(egui::Key::ArrowLeft),
                    i.key_pressed(egui::Key::ArrowRight),
                    i.key_pressed(egui::Key::Escape),
                )
            });
            if escape {
                self.stop_blink();
                return;
            }
            if space {
                self.blink.playing = !self.blink.playing;
            }
            for (pressed, by) in [(left, -1), (right, 1)] {
                if pressed {
                    self.blink.playing = false;
                    self.blink.step(by);
                }
            }
        }
        let interval = self.prefs.blink_interval_s.clamp(0.1, 5.0);
        if self.blink.playing {
            if now - self.blink.shown_at >= interval {
                self.blink.step(1);
                self.blink.shown_at = now;
            }
            let left = (self.blink.shown_at + interval - now).max(0.0);
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs_f64(left));
        }
    }

    /// The offset the blink shifts the current frame by (registered), as drawn.
    pub fn blink_shift(&self) -> (f64, f64) {
        let Some(f) = self.blink.frame() else {
            return (0.0, 0.0);
        };
        if !self.prefs.blink_registered {
            return (0.0, 0.0);
        }
        let (dx, dy) = self.measuring.offset_of(&f.file).unwrap_or((0.0, 0.0));
        if self.prefs.blink_whole_pixels {
            (dx.round(), dy.round())
        } else {
            (dx, dy)
        }
    }

    /// The map the current blink frame is drawn through onto the reference frame's grid (its
    /// pixel to the reference's), when registered and the frame turns, scales or mirrors against
    /// the reference (more than 0.01 px anywhere): a shift is drawn through [`Self::blink_view`].
    pub fn blink_transform(&self) -> Option<crate::register::transform::Affine> {
        let f = self.blink.frame()?;
        if !self.prefs.blink_registered || self.prefs.blink_whole_pixels {
            return None;
        }
        let o = self
            .measuring
            .offsets
            .iter()
            .find(|r| r.file == f.file)?
            .current()?;
        (o.transform.departure_from_shift(f.size.0, f.size.1) > 0.01)
            .then(|| o.transform.inverse())
            .flatten()
    }

    /// The view the current blink frame is drawn through: the viewer's view moved by the frame's
    /// offset, so a star at (x + dx, y + dy) in the frame lands where (x, y) of the reference is.
    pub fn blink_view(&self, view: &View) -> View {
        let (dx, dy) = self.blink_shift();
        View {
            center: (view.center.0 + dx, view.center.1 + dy),
            ..*view
        }
    }

    /// The blink controls above the viewer.
    pub(crate) fn blink_bar(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let before = (self.prefs.blink_lock_limits, self.prefs.look);
        ui.horizontal_wrapped(|ui| {
            ui.strong("Blink");
            let pause = if self.blink.playing { "pause" } else { "play" };
            if ui.button(pause).on_hover_text("space").clicked() {
                self.blink.playing = !self.blink.playing;
            }
            if ui.button("<").on_hover_text("left arrow").clicked() {
                self.blink.playing = false;
                self.blink.step(-1);
            }
            if ui.button(">").on_hover_text("right arrow").clicked() {
                self.blink.playing = false;
                self.blink.step(1);
            }
            let label = ui.label("interval (s)");
            ui.add(
                egui::Slider::new(&mut self.prefs.blink_interval_s, 0.1..=5.0)
                    .logarithmic(true)
                    .max_decimals(2),
            )
            .labelled_by(label.id);
            ui.checkbox(&mut self.prefs.blink_registered, "registered");
            ui.add_enabled(
                self.prefs.blink_registered,
                egui::Checkbox::new(&mut self.prefs.blink_whole_pixels, "whole pixels"),
            );
            ui.checkbox(&mut self.prefs.blink_lock_limits, "lock limits");
            if ui.button("stop").on_hover_text("Escape").clicked() {
                self.stop_blink();
            }
        });
        if self.blink.active {
            ui.label(self.blink_caption());
        }
        if self.blink.active && before != (self.prefs.blink_lock_limits, self.prefs.look) {
            let current = self.blink.current;
            self.start_blink(&ctx);
            self.blink.current = current;
        }
    }

    /// "sci_R_003.fits  3 of 7  dx -5.00 dy 6.00  limits 812.3 .. 1100.2".
    fn blink_caption(&self) -> String {
        let b = &self.blink;
        let Some(f) = b.frame() else {
            return "loading ...".into();
        };
        let n = b.frames.len() + b.expected;
        let mut text = format!("{}   {} of {n}", f.file, b.current + 1);
        if self.prefs.blink_registered {
            text.push_str(&match self.measuring.offset_of(&f.file) {
                Some(_) => {
                    let (dx, dy) = self.blink_shift();
                    format!("   dx {dx:.2} dy {dy:.2}")
                }
                None => "   no offset (measure offsets first)".into(),
            });
        }
        match &f.textures {
            Ok(_) => text.push_str(&format!("   limits {:.1} .. {:.1}", f.limits.0, f.limits.1)),
            Err(e) => text.push_str(&format!("   {e}")),
        }
        text
    }
}
