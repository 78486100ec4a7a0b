//! The reduce panel: calibrate the night (the plan from the headers, overscan, trim, output folder),
//! combine or stack the selected frames with every option of the engine, each step a job with a
//! progress bar and cancel; the steps run make a recipe that can be saved, loaded and run again.

use super::app::{App, Done, file_name};
use super::dialogs::Purpose;
use super::jobs::JobKind;
use crate::calibrate::plan_night;
use crate::collection::FrameKind;
use crate::progress::Progress;
use crate::recipe::options::{CentreArg, CompatArg, DarkMatchArg, DevArg, MethodArg};
use crate::recipe::{
    CalibrateStep, CombineOptions, CombineStep, Recipe, StackOptions, StackStep, Step, StepReport,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A step running off the UI thread.
pub struct Job {
    pub step: Step,
    pub progress: Arc<Progress>,
    pub started: std::time::Instant,
}

/// The files a combination wrote, shown as tabs over the viewer.
#[derive(Debug, Clone, Default)]
pub struct ResultFiles {
    pub image: PathBuf,
    pub maps: Vec<(&'static str, PathBuf)>,
    /// The step that made them and its report (the inspector re-reads the inputs).
    pub step: Option<Step>,
    pub report: Option<StepReport>,
}

/// A calibration region drawn with the mouse on the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Overscan,
    Trim,
}

/// What the reduce panel holds.
#[derive(Default)]
pub struct Reduce {
    /// The region a drag on the image draws (instead of panning), and where the drag began.
    pub drawing: Option<Region>,
    pub drag_from: Option<(usize, usize)>,
    pub calibrate: Option<CalibrateStep>,
    pub combine: CombineOptions,
    pub stack: StackOptions,
    /// Stack (register and combine dithered frames) rather than combine frames of one pointing.
    pub dithered: bool,
    /// The combined image's file name (in the output folder).
    pub output_name: String,
    pub write_maps: bool,
    /// Replace outputs of an earlier run.
    pub overwrite: bool,
    pub job: Option<Job>,
    pub log: Vec<String>,
    /// The steps run so far (saved as a recipe).
    pub recipe: Recipe,
    pub result: Option<ResultFiles>,
    /// The raw night's folder while the browser shows the calibrated one.
    pub raw_folder: Option<PathBuf>,
    /// The kind the combine options were last defaulted for.
    defaults_for: Option<FrameKind>,
    /// The difference is the second selected frame minus the first.
    pub swap_difference: bool,
    /// The plan's lines for the dark matching they were made with; dropped when a scan arrives.
    pub(crate) plan: Option<(DarkMatchArg, Vec<String>)>,
    /// Whether the calibration's output folder exists (checked once per path and per scan).
    pub(crate) output_exists: Option<(PathBuf, bool)>,
    /// A step refused because its output exists, and that output: the panel asks whether to
    /// replace it.
    pub ask_overwrite: Option<(Step, PathBuf)>,
    /// The last step checked before its run and what was wrong with it.
    checked: Option<(Step, Option<String>)>,
    /// The difference shown with its symmetric limits, and the interval to go back to after it.
    pub difference: Option<(PathBuf, crate::display::Interval)>,
}

/// The combination a person expects for a kind of frame: skycomb's default clip (3.5/3 about the
/// median, mad_std floored at the frames' noise; README) for every kind, flats scaled by the
/// inverse median, science frames a dithered stack.
pub fn defaults_for(kind: FrameKind) -> (CombineOptions, bool) {
    let clip = CombineOptions {
        sigma_low: Some(3.5),
        sigma_high: Some(3.0),
        center: Some(CentreArg::Median),
        dev: Some(DevArg::MadStdFloor),
        ..CombineOptions::default()
    };
    match kind {
        FrameKind::Bias | FrameKind::Dark => (clip, false),
        FrameKind::Flat => (
            CombineOptions {
                scale: "inv-median".into(),
                ..clip
            },
            false,
        ),
        _ => (clip, true),
    }
}

impl Reduce {
    /// The panel as it opens: a result's npix and rejected maps written (what a user looks at
    /// first), everything else empty.
    pub fn new() -> Reduce {
        Reduce {
            write_maps: true,
            ..Reduce::default()
        }
    }
}

/// Where calibrated frames go by default: a sibling folder `NIGHT_reduced` (never the raw folder).
pub fn default_output(night: &Path) -> PathBuf {
    let name = format!("{}_reduced", file_name(night));
    night.parent().unwrap_or(Path::new(".")).join(name)
}

impl App {
    /// The folder outputs of combinations go to: the calibrated folder when the browser shows it
    /// (after a calibration, or a folder holding skycomb's masters), else the calibration's output
    /// folder (never the raw folder).
    pub fn output_folder(&self) -> PathBuf {
        let calibrated = self.collection.as_ref().is_some_and(|c| {
            c.frames
                .iter()
                .any(|f| f.file.starts_with("master_") && f.file.ends_with(".fits"))
        });
        if self.reduce.raw_folder.is_some() || calibrated {
            return self.folder.clone();
        }
        self.reduce
            .calibrate
            .as_ref()
            .map_or_else(|| default_output(&self.folder), |c| c.output.clone())
    }

    /// Run `step` off the UI thread.
    pub fn start_step(&mut self, step: Step, ctx: &egui::Context) {
        let overwrite = self.reduce.overwrite;
        self.start_step_with(step, overwrite, ctx);
    }

    /// Run `step` off the UI thread, replacing its outputs if `overwrite`.
    fn start_step_with(&mut self, step: Step, overwrite: bool, ctx: &egui::Context) {
        if self.reduce.job.is_some() {
            return;
        }
        self.reduce.ask_overwrite = None;
        let job_step = step.clone();
        self.jobs.wake_with(ctx);
        let Some(progress) = self.jobs.start(JobKind::Reduce, move |h| {
            let done = crate::recipe::run_step(&job_step, overwrite, &h.progress);
            h.send(Done::Reduced(Box::new((job_step, done))));
        }) else {
            return;
        };
        self.reduce
            .log
            .push(format!("started: {}", step.describe()));
        self.reduce.job = Some(Job {
            step,
            progress,
            started: std::time::Instant::now(),
        });
    }

    /// A finished step: log it, add it to the recipe, and show what it made.
    pub(crate) fn receive_step(
        &mut self,
        step: Step,
        done: crate::Result<StepReport>,
        ctx: &egui::Context,
    ) {
        let seconds = self
            .reduce
            .job
            .take()
            .map_or(0.0, |j| j.started.elapsed().as_secs_f64());
        let report = match done {
            Err(crate::Error::Cancelled) => {
                let what = step.describe();
                self.reduce
                    .log
                    .push(format!("cancelled: {what} (nothing written)"));
                return;
            }
            Err(crate::Error::OutputExists { path }) => {
                self.reduce.log.push(format!("exists: {}", path.display()));
                self.reduce.ask_overwrite = Some((step, path));
                return;
            }
            Err(e) => {
                self.reduce.log.push(format!("FAILED: {e}"));
                return;
            }
            Ok(r) => r,
        };
        self.reduce
            .log
            .push(format!("done in {seconds:.1} s: {}", step.describe()));
        step.clone().put_into(&mut self.reduce.recipe.steps);
        match (&step, &report) {
            (Step::Calibrate(c), StepReport::Calibrate(r)) => {
                for p in &r.problems {
                    self.reduce.log.push(format!("problem: {p}"));
                }
                self.reduce.raw_folder = Some(self.folder.clone());
                self.open_folder(c.output.clone(), ctx);
            }
            (Step::Combine(c), _) => {
                let maps = [
                    ("npix", &c.npix),
                    ("rejected", &c.rejected),
                    ("sigma", &c.sigma_map),
                ];
                self.show_result(&c.output, &maps, (&step, &report), ctx);
            }
            (Step::Stack(s), _) => {
                let maps = [("npix", &s.npix), ("rejected", &s.rejected)];
                self.show_result(&s.output, &maps, (&step, &report), ctx);
            }
            _ => {}
        }
    }

    fn show_result(
        &mut self,
        image: &Path,
        maps: &[(&'static str, &Option<PathBuf>)],
        (step, report): (&Step, &StepReport),
        ctx: &egui::Context,
    ) {
        self.reduce.result = Some(ResultFiles {
            image: image.to_path_buf(),
            maps: maps
                .iter()
                .filter_map(|(n, p)| Some((*n, (*p).clone()?)))
                .collect(),
            step: Some(step.clone()),
            report: Some(report.clone()),
        });
        self.show_file(image.to_path_buf(), ctx);
        self.refresh(ctx);
    }

    /// The calibration step as the panel has it (the night shown, its default output folder).
    fn calibrate_step(&mut self) -> &mut CalibrateStep {
        let night = self.folder.clone();
        let c = self.reduce.calibrate.get_or_insert_with(|| CalibrateStep {
            output: default_output(&night),
            night: night.clone(),
            options: Default::default(),
        });
        if c.night != night && self.reduce.raw_folder.is_none() {
            c.output = default_output(&night);
            c.night = night;
        }
        c
    }

    /// A rectangle drawn on the image between two 0-based pixels becomes the region's FITS section.
    pub fn set_region(&mut self, region: Region, a: (usize, usize), b: (usize, usize)) {
        let (x0, x1) = (a.0.min(b.0) + 1, a.0.max(b.0) + 1);
        let (y0, y1) = (a.1.min(b.1) + 1, a.1.max(b.1) + 1);
        let section = format!("[{x0}:{x1},{y0}:{y1}]");
        let o = &mut self.calibrate_step().options;
        match region {
            Region::Overscan => o.overscan = section,
            Region::Trim => o.trim = section,
        }
        self.reduce.drawing = None;
    }

    /// The calibration's typed overscan and trim sections, as boxes on a frame of nx x ny.
    pub(crate) fn calibrate_sections(
        &self,
        (nx, ny): (usize, usize),
    ) -> Vec<(&'static str, crate::fits::PixelBox)> {
        let Some(c) = self
            .reduce
            .calibrate
            .as_ref()
            .filter(|_| self.prefs.show_reduce)
        else {
            return Vec::new();
        };
        [
            ("overscan (calibrate)", &c.options.overscan),
            ("trim (calibrate)", &c.options.trim),
        ]
        .into_iter()
        .filter_map(|(name, text)| Some((name, crate::fits::parse_section(text, nx, ny).ok()?)))
        .collect()
    }

    /// The combine or stack step for the selected frames.
    pub fn combine_step(&self) -> Option<Step> {
        let mut files = self.selected_frames();
        if files.is_empty() {
            return None;
        }
        let out = self.output_folder();
        let name = if self.reduce.output_name.trim().is_empty() {
            "combined.fits".to_string()
        } else {
            self.reduce.output_name.trim().to_string()
        };
        let output = out.join(&name);
        let stem = name.trim_end_matches(".fits").to_string();
        let map = |what: &str| {
            self.reduce
                .write_maps
                .then(|| out.join(format!("{stem}_{what}.fits")))
        };
        if !self.reduce.dithered {
            return Some(Step::Combine(CombineStep {
                files,
                output,
                options: self.reduce.combine.clone(),
                npix: map("npix"),
                rejected: map("rejected"),
                sigma_map: map("sigma"),
            }));
        }
        // the reference frame of the offsets table first
        if let Some((reference, _)) = &self.measuring.reference
            && let Some(i) = files.iter().position(|p| file_name(p) == *reference)
        {
            let r = files.remove(i);
            files.insert(0, r);
        }
        Some(Step::Stack(StackStep {
            files,
            output,
            stack: self.reduce.stack.clone(),
            options: self.reduce.combine.clone(),
            npix: map("npix"),
            rejected: map("rejected"),
        }))
    }

    /// What is wrong with a combine or stack step's options, found as its run would find it (with
    /// the first frame's header from the scan), before it is started.
    pub fn step_problem(&self, step: &Step) -> Option<String> {
        let files = match step {
            Step::Combine(c) => &c.files,
            Step::Stack(s) => &s.files,
            Step::Calibrate(_) => return None,
        };
        let collection = self.collection.as_ref()?;
        let first = &collection
            .frames
            .iter()
            .find(|f| Some(&f.path) == files.first())?
            .header;
        let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
        let checked = match step {
            Step::Combine(c) => c.options.params(&names, first).map(drop),
            Step::Stack(s) => s.stack.params(&s.options, &names, first).map(drop),
            Step::Calibrate(_) => Ok(()),
        };
        checked.err().map(|e| format!("{e:#}"))
    }

    /// Write the offsets table next to the outputs and point the stack at it.
    fn use_offsets_table(&mut self) -> Result<(), String> {
        let offsets = self.measuring.measured_offsets();
        if offsets.is_empty() {
            return Err("the offsets table is empty: measure offsets first".into());
        }
        let folder = self.output_folder();
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let path = folder.join("offsets.txt");
        crate::register::offsets::write_offsets(&path, &offsets, true)
            .map_err(|e| e.to_string())?;
        self.reduce.stack.offsets = format!("file:{}", path.display());
        Ok(())
    }

    /// Write the photometry table's frame scales next to the outputs and scale by them.
    fn use_photometry_scales(&mut self) -> Result<(), String> {
        let folder = self.output_folder();
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let path = folder.join("scales.txt");
        let mut text = String::from("# skycomb: frame scale factors from the marked stars\n");
        for (file, scale) in self.photometry.scales.iter().filter(|s| s.1.is_finite()) {
            text.push_str(&format!("{file} {scale}\n"));
        }
        let options = crate::fits::WriteOptions { overwrite: true };
        crate::fits::write::write_atomic(&path, text.as_bytes(), options)
            .map_err(|e| e.to_string())?;
        self.reduce.combine.scale = path.display().to_string();
        Ok(())
    }

    /// The reduce panel.
    pub(crate) fn reduce_panel(&mut self, ui: &mut egui::Ui) {
        ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
        // the running step's bar and cancel stay in view above the scrolling options
        ui.heading("Reduce");
        self.job_status(ui);
        self.overwrite_question(ui);
        egui::ScrollArea::both().show(ui, |ui| {
            egui::CollapsingHeader::new("Calibrate")
                .default_open(true)
                .show(ui, |ui| self.calibrate_section(ui));
            egui::CollapsingHeader::new("Combine the selected frames")
                .default_open(true)
                .show(ui, |ui| self.combine_section(ui));
            egui::CollapsingHeader::new("Difference of two frames")
                .default_open(true)
                .show(ui, |ui| self.difference_section(ui));
            egui::CollapsingHeader::new("Recipe and log")
                .default_open(true)
                .show(ui, |ui| self.recipe_section(ui));
        });
    }

    /// A step refused because its output exists: replace it, or keep it.
    fn overwrite_question(&mut self, ui: &mut egui::Ui) {
        let Some((step, path)) = self.reduce.ask_overwrite.clone() else {
            return;
        };
        let ctx = ui.ctx().clone();
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.0, ui.visuals().warn_fg_color))
            .show(ui, |ui| {
                ui.label(format!("{} exists. Replace it?", file_name(&path)))
                    .on_hover_text(path.display().to_string());
                ui.horizontal(|ui| {
                    if ui.button("replace").clicked() {
                        self.start_step_with(step, true, &ctx);
                    }
                    if ui.button("keep it").clicked() {
                        self.reduce.ask_overwrite = None;
                        self.reduce.log.push(format!("kept {}", path.display()));
                    }
                });
            });
    }

    /// The running step's progress bar and cancel button.
    fn job_status(&mut self, ui: &mut egui::Ui) {
        let Some(job) = &self.reduce.job else { return };
        let (done, total, stage) = job.progress.snapshot();
        let fraction = if total > 0 {
            done as f32 / total as f32
        } else {
            0.0
        };
        ui.label(job.step.describe());
        ui.horizontal(|ui| {
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(format!("{stage} {done}/{total}"))
                    .desired_width(ui.available_width() - 70.0),
            );
            if ui.button("cancel").clicked() {
                job.progress.cancel();
            }
        });
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }

    fn calibrate_section(&mut self, ui: &mut egui::Ui) {
        if let Some(raw) = self.reduce.raw_folder.clone() {
            ui.label(format!(
                "showing the calibrated frames of {}",
                raw.display()
            ));
            if ui.button("back to the raw night").clicked() {
                self.reduce.raw_folder = None;
                self.open_folder(raw, &ui.ctx().clone());
            }
            return;
        }
        self.plan_lines(ui);
        let step = self.calibrate_step();
        let mut output = step.output.display().to_string();
        egui::Grid::new("calibrate options").show(ui, |ui| {
            text_row(ui, "output folder", &mut output);
            let o = &mut step.options;
            text_row(ui, "overscan", &mut o.overscan);
            text_row(ui, "overscan statistic", &mut o.overscan_stat);
            text_row(ui, "trim", &mut o.trim);
            ui.label("dark for each frame");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut o.dark_match, DarkMatchArg::Nearest, "nearest");
                ui.selectable_value(&mut o.dark_match, DarkMatchArg::Longest, "longest");
            });
            ui.end_row();
            compat_row(ui, &mut o.compat);
            text_row(ui, "memory limit", &mut o.memory_limit);
            ui.label("");
            ui.checkbox(&mut o.allow_missing, "calibrate what can be");
            ui.end_row();
        });
        step.output = PathBuf::from(output);
        ui.horizontal(|ui| {
            ui.label("draw on the image:");
            for (region, name) in [(Region::Overscan, "overscan"), (Region::Trim, "trim")] {
                let on = self.reduce.drawing == Some(region);
                if ui
                    .selectable_label(on, format!("draw {name}"))
                    .on_hover_text("drag a rectangle on the image (instead of panning)")
                    .clicked()
                {
                    self.reduce.drawing = (!on).then_some(region);
                }
            }
        });
        let output = self.calibrate_step().output.clone();
        if self.output_exists(&output) && ui.button("show the calibrated frames").clicked() {
            self.reduce.raw_folder = Some(self.folder.clone());
            self.open_folder(output, &ui.ctx().clone());
        }
        let idle = self.reduce.job.is_none();
        if ui
            .add_enabled(idle, egui::Button::new("calibrate the night"))
            .clicked()
        {
            let step = Step::Calibrate(self.calibrate_step().clone());
            self.start_step(step, &ui.ctx().clone());
        }
    }

    /// The calibration plan of the night shown, made once per scan and dark matching.
    fn plan_lines(&mut self, ui: &mut egui::Ui) {
        let Some(c) = &self.collection else { return };
        let dark_match = self
            .reduce
            .calibrate
            .as_ref()
            .map_or(DarkMatchArg::Nearest, |s| s.options.dark_match);
        if self.reduce.plan.as_ref().is_none_or(|p| p.0 != dark_match) {
            let text = plan_night(c, dark_match.into()).describe();
            self.reduce.plan = Some((dark_match, text.lines().map(String::from).collect()));
        }
        let Some((_, lines)) = &self.reduce.plan else {
            return;
        };
        egui::CollapsingHeader::new("plan")
            .default_open(true)
            .show(ui, |ui| {
                for line in lines {
                    let colour = if line.starts_with("MISSING") {
                        egui::Color32::LIGHT_RED
                    } else {
                        ui.visuals().text_color()
                    };
                    ui.colored_label(colour, line);
                }
            });
    }

    /// Whether `folder` exists, asked of the file system only when the path changed or a scan
    /// arrived (not every frame).
    fn output_exists(&mut self, folder: &Path) -> bool {
        match &self.reduce.output_exists {
            Some((p, exists)) if p == folder => *exists,
            _ => {
                let exists = folder.is_dir();
                self.reduce.output_exists = Some((folder.to_path_buf(), exists));
                exists
            }
        }
    }

    fn combine_section(&mut self, ui: &mut egui::Ui) {
        let frames = self.selected_frames();
        let kind = self.selected_kind();
        if let Some(k) = kind
            && self.reduce.defaults_for != Some(k)
        {
            (self.reduce.combine, self.reduce.dithered) = defaults_for(k);
            self.reduce.output_name = format!("combined_{}.fits", k.name());
            self.reduce.defaults_for = Some(k);
        }
        ui.label(format!(
            "{} selected frame(s){}",
            frames.len(),
            kind.map(|k| format!(", {}", k.name())).unwrap_or_default()
        ));
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.reduce.dithered, false, "combine");
            ui.selectable_value(&mut self.reduce.dithered, true, "stack (dithered)");
        });
        egui::Grid::new("combine options").show(ui, |ui| {
            text_row(ui, "output file", &mut self.reduce.output_name);
            ui.label("");
            ui.horizontal(|ui| {
                let maps = if self.reduce.dithered {
                    "npix and rejected maps"
                } else {
                    "npix, rejected, sigma maps"
                };
                ui.checkbox(&mut self.reduce.write_maps, maps);
                ui.checkbox(&mut self.reduce.overwrite, "overwrite");
            });
            ui.end_row();
            combine_rows(ui, &mut self.reduce.combine);
        });
        if self.reduce.dithered {
            self.stack_options(ui);
        }
        let step = self.combine_step();
        // the options are checked as they are typed (once per change), as the step will check them
        let problem = match (&step, &self.reduce.checked) {
            (Some(s), Some((c, p))) if c == s => p.clone(),
            (Some(s), _) => {
                let p = self.step_problem(s);
                self.reduce.checked = Some((s.clone(), p.clone()));
                p
            }
            (None, _) => None,
        };
        let ready = self.reduce.job.is_none() && step.is_some() && problem.is_none();
        let label = if self.reduce.dithered {
            "stack the frames"
        } else {
            "combine the frames"
        };
        if let Some(why) = &problem {
            ui.colored_label(ui.visuals().error_fg_color, why);
        }
        if ui.add_enabled(ready, egui::Button::new(label)).clicked()
            && let Some(step) = step
        {
            self.start_step(step, &ui.ctx().clone());
        }
    }

    fn stack_options(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("stack options").show(ui, |ui| {
            let s = &mut self.reduce.stack;
            text_row(ui, "offsets", &mut s.offsets);
            ui.label("");
            ui.checkbox(&mut s.refine, "refine by cross-correlation");
            ui.end_row();
            choice_row(
                ui,
                "shift",
                &mut s.shift,
                &["integer", "bilinear", "lanczos3"],
            );
            text_row(ui, "sky", &mut s.sky);
            count_row(ui, "sky iterations", &mut s.iterations);
            choice_row(
                ui,
                "canvas",
                &mut s.canvas,
                &["union", "reference", "intersection"],
            );
        });
        let rows = self.measuring.offsets.len();
        if ui
            .add_enabled(rows > 0, egui::Button::new("use the offsets table"))
            .on_hover_text("offsets from the marked stars (the stars panel)")
            .clicked()
            && let Err(e) = self.use_offsets_table()
        {
            self.reduce.log.push(e);
        }
        let scales = !self.photometry.scales.is_empty();
        if ui
            .add_enabled(scales, egui::Button::new("scale by the photometry"))
            .on_hover_text("each frame's scale factor from the marked stars (the stars panel)")
            .clicked()
            && let Err(e) = self.use_photometry_scales()
        {
            self.reduce.log.push(e);
        }
    }

    fn recipe_section(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            let any = !self.reduce.recipe.steps.is_empty();
            if ui
                .add_enabled(any, egui::Button::new("save recipe ..."))
                .clicked()
            {
                self.ask_path(Purpose::SaveRecipe, &ctx);
            }
            if ui.button("load recipe ...").clicked() {
                self.ask_path(Purpose::LoadRecipe, &ctx);
            }
        });
        for (i, step) in self.reduce.recipe.steps.iter().enumerate() {
            ui.label(format!("{}. {}", i + 1, step.describe()));
        }
        ui.separator();
        // files are named relative to the folder the night lives in; the whole line on hover
        let night = self.reduce.raw_folder.as_ref().unwrap_or(&self.folder);
        let base = night
            .parent()
            .map(|p| format!("{}/", p.display()))
            .filter(|b| b != "/");
        for line in self.reduce.log.iter().rev().take(30) {
            let colour = if line.starts_with("FAILED") || line.starts_with("problem") {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            let short = base.as_ref().map_or(line.clone(), |b| line.replace(b, ""));
            ui.colored_label(colour, short).on_hover_text(line);
        }
    }

    /// The kind shared by every selected frame.
    fn selected_kind(&self) -> Option<FrameKind> {
        let c = self.collection.as_ref()?;
        let mut kinds = c
            .frames
            .iter()
            .filter(|f| self.selection.contains(&f.path))
            .map(|f| f.kind);
        let first = kinds.next()?;
        kinds.all(|k| k == first).then_some(first)
    }

    /// Restore the panels from a recipe (the last step of each kind) and keep it as the recipe.
    pub fn load_recipe(&mut self, path: &Path) -> crate::Result<()> {
        let recipe = Recipe::load(path)?;
        for step in &recipe.steps {
            match step {
                Step::Calibrate(c) => self.reduce.calibrate = Some(c.clone()),
                Step::Combine(c) => {
                    self.reduce.combine = c.options.clone();
                    self.reduce.dithered = false;
                    self.reduce.output_name = file_name(&c.output);
                }
                Step::Stack(s) => {
                    self.reduce.combine = s.options.clone();
                    self.reduce.stack = s.stack.clone();
                    self.reduce.dithered = true;
                    self.reduce.output_name = file_name(&s.output);
                }
            }
        }
        self.reduce.overwrite = recipe.overwrite;
        self.reduce.defaults_for = self.selected_kind();
        self.reduce.log.push(format!("loaded {}", path.display()));
        self.reduce.recipe = recipe;
        Ok(())
    }

    /// Save the steps run so far.
    pub fn save_recipe(&self, path: &Path) -> crate::Result<()> {
        let recipe = Recipe {
            overwrite: true,
            ..self.reduce.recipe.clone()
        };
        recipe.save(path)
    }
}

/// A label and a one-line text box.
fn text_row(ui: &mut egui::Ui, label: &str, text: &mut String) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(160.0))
        .labelled_by(l.id);
    ui.end_row();
}

/// A label and one button per choice.
fn choice_row(ui: &mut egui::Ui, label: &str, value: &mut String, choices: &[&str]) {
    ui.label(label);
    ui.horizontal(|ui| {
        for c in choices {
            if ui.selectable_label(value == c, *c).clicked() {
                *value = c.to_string();
            }
        }
    });
    ui.end_row();
}

fn compat_row(ui: &mut egui::Ui, compat: &mut Option<CompatArg>) {
    ui.label("rules");
    ui.horizontal(|ui| {
        ui.selectable_value(compat, None, "skycomb")
            .on_hover_text("skycomb's rules and its default clip (README)");
        ui.selectable_value(compat, Some(CompatArg::Iraf), "IRAF exactly")
            .on_hover_text("IRAF 2.17 imcombine's rules, quirks included");
        ui.selectable_value(compat, Some(CompatArg::Ccdproc), "ccdproc exactly");
    });
    ui.end_row();
}

/// An optional number: a checkbox turns it on, a drag value sets it.
fn optional_number(ui: &mut egui::Ui, label: &str, value: &mut Option<f64>, default: f64) {
    let mut on = value.is_some();
    let check = ui.checkbox(&mut on, label);
    let mut v = value.unwrap_or(default);
    ui.add_enabled(on, egui::DragValue::new(&mut v).speed(0.1))
        .labelled_by(check.id);
    *value = on.then_some(v);
    ui.end_row();
}

fn count_row(ui: &mut egui::Ui, label: &str, n: &mut usize) {
    let l = ui.label(label);
    ui.add(egui::DragValue::new(n).range(0..=1000))
        .labelled_by(l.id);
    ui.end_row();
}

/// Every option of the combination engine.
fn combine_rows(ui: &mut egui::Ui, o: &mut CombineOptions) {
    ui.label("method");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut o.method, MethodArg::Average, "average");
        ui.selectable_value(&mut o.method, MethodArg::Median, "median");
        ui.selectable_value(&mut o.method, MethodArg::Sum, "sum");
    });
    ui.end_row();
    optional_number(ui, "min value", &mut o.min_clip, 0.0);
    optional_number(ui, "max value", &mut o.max_clip, 65000.0);
    count_row(ui, "nlow", &mut o.nlow);
    count_row(ui, "nhigh", &mut o.nhigh);
    optional_number(ui, "sigma low", &mut o.sigma_low, 3.0);
    optional_number(ui, "sigma high", &mut o.sigma_high, 3.0);
    ui.label("centre");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut o.center, None, "default");
        ui.selectable_value(&mut o.center, Some(CentreArg::Median), "median");
        ui.selectable_value(&mut o.center, Some(CentreArg::Mean), "mean");
    });
    ui.end_row();
    ui.label("deviation");
    ui.horizontal(|ui| {
        ui.selectable_value(&mut o.dev, None, "default");
        ui.selectable_value(&mut o.dev, Some(DevArg::MadStdFloor), "mad_std, floored")
            .on_hover_text(
                "1.4826 MAD, never below the frames' background noise (the default clip)",
            );
        ui.selectable_value(&mut o.dev, Some(DevArg::MadStd), "mad_std");
        ui.selectable_value(&mut o.dev, Some(DevArg::Std), "std");
        ui.selectable_value(&mut o.dev, Some(DevArg::Winsorized), "winsorized");
        ui.selectable_value(&mut o.dev, Some(DevArg::LinearFit), "linear fit");
    });
    ui.end_row();
    let mut iterations = o.max_iters.map(|n| n as f64);
    optional_number(ui, "iterations", &mut iterations, 1.0);
    o.max_iters = iterations.map(|n| n.max(1.0) as usize);
    optional_number(ui, "percentile clip", &mut o.pclip, -0.5);
    ui.label("");
    ui.checkbox(&mut o.ccdclip, "CCD noise model");
    ui.end_row();
    if o.ccdclip {
        optional_number(ui, "gain e-/ADU", &mut o.gain, 1.0);
        optional_number(ui, "read noise e-", &mut o.read_noise, 5.0);
    }
    let l = ui.label("grow radius");
    ui.add(
        egui::DragValue::new(&mut o.grow)
            .range(0.0..=10.0)
            .speed(0.1),
    )
    .labelled_by(l.id);
    ui.end_row();
    let l = ui.label("nkeep");
    ui.add(egui::DragValue::new(&mut o.nkeep).range(-1000..=1000))
        .on_hover_text("keep at least N values (negative: reject at most -N)")
        .labelled_by(l.id);
    ui.end_row();
    text_row(ui, "scale", &mut o.scale);
    text_row(ui, "zero", &mut o.zero);
    text_row(ui, "weights", &mut o.weights);
    let mut section = o.stat_section.clone().unwrap_or_default();
    text_row(ui, "statistics section", &mut section);
    o.stat_section = (!section.trim().is_empty()).then_some(section);
    text_row(ui, "memory limit", &mut o.memory_limit);
    compat_row(ui, &mut o.compat);
}

impl App {
    /// Tabs over the viewer for a combination's image and maps (same zoom and pan); M steps
    /// through them.
    pub(crate) fn result_tabs(&mut self, ui: &mut egui::Ui) {
        let Some(r) = &self.reduce.result else { return };
        let tabs: Vec<(&str, PathBuf)> = std::iter::once(("image", r.image.clone()))
            .chain(r.maps.iter().map(|(n, p)| (*n, p.clone())))
            .collect();
        let shown = tabs.iter().position(|t| Some(&t.1) == self.wanted.as_ref());
        let mut chosen = None;
        let mut close = false;
        ui.horizontal(|ui| {
            ui.label(format!("result {}:", file_name(&r.image)));
            for (i, (name, _)) in tabs.iter().enumerate() {
                if ui
                    .selectable_label(shown == Some(i), *name)
                    .on_hover_text("M: next")
                    .clicked()
                {
                    chosen = Some(i);
                }
            }
            ui.toggle_value(&mut self.inspector.on, "inspect")
                .on_hover_text(
                    "click a pixel of the result: its inputs, what was rejected and why",
                );
            close = ui.button("close").clicked();
        });
        let next = !ui.ctx().text_edit_focused() && ui.input(|i| i.key_pressed(egui::Key::M));
        if next {
            chosen = Some(shown.map_or(0, |i| (i + 1) % tabs.len()));
        }
        if close {
            self.reduce.result = None;
        } else if let Some(i) = chosen.filter(|i| Some(*i) != shown) {
            self.show_file(tabs[i].1.clone(), &ui.ctx().clone());
        }
    }
}

/// The difference `a - b` of two frames of one shape, written into `folder` as
/// `diff_A_minus_B.fits` (A's header, IMAGETYP 'difference', HISTORY); the half-width of a symmetric stretch
/// (the larger end of the difference's zscale limits) comes with it.
pub fn write_difference(a: &Path, b: &Path, folder: &Path) -> crate::Result<(PathBuf, f64)> {
    use crate::arith::{Op, Operand, arith};
    let open = |p: &Path| crate::Frame::open(p).map(|f| Operand::Frame(Box::new(f)));
    let (d, header) = arith(&open(a)?, Op::Sub, &open(b)?)?;
    let stem = |p: &Path| file_name(p).trim_end_matches(".fits").to_string();
    let out = folder.join(format!("diff_{}_minus_{}.fits", stem(a), stem(b)));
    std::fs::create_dir_all(folder)
        .map_err(|e| crate::Error::io(folder, "cannot create folder", e))?;
    crate::fits::refuse_inputs(&out, &[a.to_path_buf(), b.to_path_buf()])?;
    let options = crate::fits::WriteOptions { overwrite: true };
    crate::fits::write_f32(&out, d.view(), &header, options)?;
    // zscale of the difference, made symmetric: the noise and the residuals show, the bright
    // stars' cores saturate (the 99.5th percentile of |A - B| was set by them and left the sky flat)
    let half = crate::display::zscale(d.view(), &Default::default()).map_or(1.0, |(lo, hi)| {
        lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE)
    });
    Ok((out, half))
}

impl App {
    /// The two selected frames in table order, for a difference.
    fn difference_pair(&self) -> Option<(PathBuf, PathBuf)> {
        let frames = self.selected_frames();
        let [a, b] = frames.as_slice() else {
            return None;
        };
        Some(if self.reduce.swap_difference {
            (b.clone(), a.clone())
        } else {
            (a.clone(), b.clone())
        })
    }

    /// Select two frames (or results) in the table: A - B with a symmetric stretch.
    pub(crate) fn difference_section(&mut self, ui: &mut egui::Ui) {
        let Some((a, b)) = self.difference_pair() else {
            ui.label("select two frames of one shape (or results) in the table");
            return;
        };
        ui.label(format!("A = {}   B = {}", file_name(&a), file_name(&b)));
        ui.horizontal(|ui| {
            if ui.button("swap A and B").clicked() {
                self.reduce.swap_difference ^= true;
            }
            if ui.button("show A − B").clicked() {
                let folder = self.output_folder();
                self.jobs.wake_with(ui.ctx());
                self.jobs.start(JobKind::Difference, move |h| {
                    h.send(Done::Difference(write_difference(&a, &b, &folder)));
                });
            }
        });
    }

    /// A difference written: show it with limits symmetric about zero.
    pub(crate) fn receive_difference(
        &mut self,
        made: crate::Result<(PathBuf, f64)>,
        ctx: &egui::Context,
    ) {
        match made {
            Err(e) => self.reduce.log.push(format!("FAILED: difference: {e}")),
            Ok((path, half)) => {
                self.reduce.log.push(format!("wrote {}", path.display()));
                let before = match self.reduce.difference.take() {
                    Some((_, before)) => before,
                    None => self.prefs.look.interval,
                };
                self.reduce.difference = Some((path.clone(), before));
                self.prefs.look.interval = crate::display::Interval::Manual {
                    low: -half,
                    high: half,
                };
                self.show_file(path, ctx);
                self.refresh(ctx);
            }
        }
    }
}
