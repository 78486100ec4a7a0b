//! The display path of the desktop app, timed in the real window (eframe with glow, vsync off; under
//! Xvfb that is Mesa's software llvmpipe): a frame from file to first display, a stretch / interval /
//! colormap change redrawn (first the part in view at screen resolution, then the whole frame), and
//! the frame rate while panning and zooming with injected mouse input.
//! benches/display_vs_astropy.py makes the files, starts Xvfb and runs this beside astropy.
//! Prints one JSON object of medians (milliseconds and frames per second).
//!
//! Usage: DISPLAY=:97 cargo bench --bench display -- FOLDER [COMBINE_FOLDER]
//! (FOLDER holds at least two frames; the app opens on the first, the timed loads alternate. With
//! COMBINE_FOLDER its frames are combined as a reduce step while the image is dragged about: the
//! frame rate the window keeps during a combination.)

use skycomb::display::{Colormap, Interval, Stretch, ZScale};
use skycomb::gui::App;
use skycomb::gui::app::Look;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Frames drawn per pan or zoom run.
const MOTION_FRAMES: usize = 120;
/// Timed repeats of every load and look change.
const REPEATS: usize = 5;

/// One step of the plan.
#[derive(Clone, Copy, Debug)]
enum Task {
    /// Wait until the first frame is shown (not timed).
    Settle,
    /// Select row `usize` and wait until it is drawn.
    Select(usize),
    /// Draw with another look: (result name, look).
    Relook(&'static str, Look),
    /// Drag the image about, one mouse move a frame.
    Pan,
    /// Wheel in and out about the viewer's centre, one wheel step a frame.
    Zoom,
    /// Combine the frames of a folder (a reduce step) and drag the image about while it runs.
    CombineWhilePanning,
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::Settle => "settle",
            Task::Select(_) => "first_display_ms",
            Task::Relook(name, _) => name,
            Task::Pan => "pan_frame_ms",
            Task::Zoom => "zoom_frame_ms",
            Task::CombineWhilePanning => "pan_during_combine_frame_ms",
        }
    }
}

/// The app with a driver that runs the plan and times each task.
struct Bench {
    app: App,
    plan: VecDeque<Task>,
    task: Task,
    started: Instant,
    /// The task's result was drawn in the previous frame: it ends when this frame starts.
    drawn: bool,
    /// The new look's part in view was drawn in the previous frame (to be recorded), or recorded.
    seen: (bool, bool),
    frame: usize,
    last_frame: Instant,
    times: Arc<Mutex<BTreeMap<String, Vec<f64>>>>,
    /// Frames to combine while panning (none: that task is skipped) and where the result goes.
    combine: Option<(Vec<PathBuf>, PathBuf)>,
}

fn look(interval: Interval, stretch: Stretch, colormap: Colormap) -> Look {
    Look {
        interval,
        stretch,
        colormap,
    }
}

/// Every task, in order.
fn plan() -> VecDeque<Task> {
    let zscale = Interval::ZScale(ZScale::default());
    let grey = |s| look(zscale, s, Colormap::Grey);
    let mut plan = VecDeque::from([Task::Settle]);
    for r in 0..REPEATS {
        plan.push_back(Task::Select((r + 1) % 2));
    }
    for _ in 0..REPEATS {
        for s in [Stretch::Sqrt, Stretch::Log, Stretch::Asinh, Stretch::Linear] {
            plan.push_back(Task::Relook("stretch_change_ms", grey(s)));
        }
        for i in [Interval::MinMax, Interval::Percentile(99.5), zscale] {
            let l = look(i, Stretch::Linear, Colormap::Grey);
            plan.push_back(Task::Relook("interval_change_ms", l));
        }
        for c in [Colormap::Viridis, Colormap::Grey] {
            let l = look(zscale, Stretch::Linear, c);
            plan.push_back(Task::Relook("colormap_change_ms", l));
        }
        for s in [Stretch::HistEq, Stretch::Linear] {
            plan.push_back(Task::Relook("histeq_change_ms", grey(s)));
        }
    }
    plan.extend([Task::Pan, Task::Zoom, Task::CombineWhilePanning]);
    plan
}

impl Bench {
    fn record(&self, suffix: &str, value: f64) {
        let name = format!("{}{suffix}", self.task.name());
        if std::env::var_os("TRACE").is_some() {
            eprintln!("{name} {value:.1} frame {}", self.frame);
        }
        self.times
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .push(value);
    }

    /// Start the next task (or close the window when none is left).
    fn next(&mut self, ctx: &egui::Context) {
        let Some(task) = self.plan.pop_front() else {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        };
        (self.task, self.started, self.frame) = (task, Instant::now(), 0);
        (self.drawn, self.seen) = (false, (false, false));
        match task {
            Task::Select(i) => self.app.select(i, ctx),
            Task::Relook(_, l) => self.app.set_look(l, ctx),
            Task::CombineWhilePanning => match &self.combine {
                Some((files, output)) => {
                    let step = skycomb::recipe::Step::Combine(skycomb::recipe::CombineStep {
                        files: files.clone(),
                        output: output.clone(),
                        options: Default::default(),
                        npix: None,
                        rejected: None,
                        sigma_map: None,
                    });
                    self.app.reduce.overwrite = true;
                    self.app.start_step(step, ctx);
                }
                None => self.next(ctx),
            },
            _ => {}
        }
    }

    /// True when the selected frame is drawn with the current look and nothing is running.
    fn shown(&self) -> bool {
        !self.app.busy()
            && self
                .app
                .image
                .as_ref()
                .is_some_and(|l| l.histogram.is_some())
    }

    /// True when the frame in the viewer is the selected one (not the one before it).
    fn showing_selected(&self) -> bool {
        let (Some(l), Some(c), Some(i)) =
            (&self.app.image, &self.app.collection, self.app.selected)
        else {
            return false;
        };
        c.frames[i].path.file_name().is_some_and(|n| *n == *l.name)
    }

    /// The viewer's centre in points (the window's centre before the first frame).
    fn centre(&self) -> egui::Pos2 {
        self.app
            .viewer_rect
            .map_or(egui::pos2(700.0, 450.0), |r| r.center())
    }
}

impl eframe::App for Bench {
    fn raw_input_hook(&mut self, _ctx: &egui::Context, input: &mut egui::RawInput) {
        let (centre, i) = (self.centre(), self.frame);
        let button = |pressed| egui::Event::PointerButton {
            pos: centre,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        match self.task {
            Task::Pan if i == 0 => input
                .events
                .extend([egui::Event::PointerMoved(centre), button(true)]),
            Task::Pan | Task::CombineWhilePanning => {
                // 4 points a frame to the right and down, then back
                let x = if (i / 30) % 2 == 0 {
                    i % 30
                } else {
                    30 - i % 30
                } as f32
                    * 4.0;
                input
                    .events
                    .push(egui::Event::PointerMoved(centre + egui::vec2(x, x / 2.0)));
            }
            Task::Zoom => input.events.extend([
                button(false),
                egui::Event::PointerMoved(centre),
                egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta: egui::vec2(0.0, if (i / 30) % 2 == 0 { 40.0 } else { -40.0 }),
                    modifiers: egui::Modifiers::NONE,
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Wheel,
                },
            ]),
            _ => {}
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        let frame_time = now.duration_since(self.last_frame).as_secs_f64();
        self.last_frame = now;
        let ctx = ui.ctx().clone();
        let timed = matches!(self.task, Task::Select(_) | Task::Relook(..));
        let elapsed_ms = now.duration_since(self.started).as_secs_f64() * 1e3;
        if self.seen == (true, false) {
            self.record("", elapsed_ms);
            self.seen.1 = true;
        }
        if self.drawn {
            // motions record their frames as they go; loads and looks their whole time here
            if timed {
                self.record("_whole", elapsed_ms);
            }
            self.next(&ctx);
        }
        self.app.ui(ui);
        match self.task {
            Task::Pan | Task::Zoom => {
                // the first frame of a motion only starts it
                if self.frame > 0 {
                    self.record("", frame_time * 1e3);
                }
                self.frame += 1;
                self.drawn = self.frame > MOTION_FRAMES;
            }
            Task::CombineWhilePanning => {
                if self.frame > 0 {
                    self.record("", frame_time * 1e3);
                }
                self.frame += 1;
                self.drawn = self.app.reduce.job.is_none() && self.frame > 1;
            }
            _ => {
                self.seen.0 |= timed && self.app.redrawn() && self.showing_selected();
                self.drawn = self.shown();
            }
        }
        // like the app itself: frames while the mouse moves, otherwise only when a job wakes the
        // app (and once more to time the frame that showed its result)
        let motion = matches!(
            self.task,
            Task::Pan | Task::Zoom | Task::CombineWhilePanning
        );
        if motion || self.drawn || self.seen == (true, false) {
            ctx.request_repaint();
        }
    }
}

/// glow without vsync: the frame rate is what the app can draw, not the screen's refresh.
fn egui_glow_options() -> eframe::egui_glow::GlowConfiguration {
    eframe::egui_glow::GlowConfiguration {
        vsync: false,
        ..Default::default()
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let folder = PathBuf::from(
        args.first()
            .ok_or("usage: display FOLDER [COMBINE_FOLDER]")?,
    );
    let scratch = std::env::temp_dir().join(format!("skycomb-display-{}", std::process::id()));
    let combine = args.get(1).map(|dir| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("the folder of frames to combine")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "fits"))
            .collect();
        files.sort();
        (files, scratch.join("combined.fits"))
    });
    let times = Arc::new(Mutex::new(BTreeMap::new()));
    let mut plan = plan();
    let task = plan.pop_front().expect("a plan");
    let bench = Bench {
        app: App::new(folder),
        plan,
        task,
        started: Instant::now(),
        drawn: false,
        seen: (false, false),
        frame: 0,
        last_frame: Instant::now(),
        times: times.clone(),
        combine,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1400.0, 900.0]),
        glow_options: egui_glow_options(),
        ..Default::default()
    };
    eframe::run_native(
        "skycomb display bench",
        options,
        Box::new(|_| Ok(Box::new(bench))),
    )?;
    let times = times.lock().unwrap();
    let mut out = serde_json::Map::new();
    for (name, v) in times.iter() {
        out.insert(format!("{name}_median"), median(v).into());
        let worst = v.iter().cloned().fold(0.0, f64::max);
        out.insert(format!("{name}_worst"), worst.into());
    }
    for (name, v) in [("pan_fps", "pan_frame_ms"), ("zoom_fps", "zoom_frame_ms")] {
        out.insert(name.into(), (1e3 / median(&times[v])).into());
    }
    out.insert(
        "preview".into(),
        "`X_ms`: the new look on the screen in the part in view; `X_ms_whole`: every pixel drawn"
            .into(),
    );
    if let Some(fps) = times
        .get("pan_during_combine_frame_ms")
        .map(|v| 1e3 / median(v))
    {
        out.insert("pan_during_combine_fps".into(), fps.into());
    }
    println!("{}", serde_json::Value::Object(out));
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
