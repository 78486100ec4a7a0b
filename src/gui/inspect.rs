//! The per-pixel rejection inspector: in "inspect" mode a click on a combined result shows, for
//! that pixel, every input value (after scaling and shifting), which were rejected and by which
//! rule, the sigma rule's centre and bounds, and the result, as a plot and a table.

use super::app::{App, Done};
use super::jobs::JobKind;
use crate::combine::StackInput;
use crate::combine::inspect::{PixelInspection, inspect_pixel_with_factors, reason_name};
use crate::combine::kernel::{FrameFactors, Reason};
use crate::recipe::{Step, StepReport};
use egui_plot::{HLine, Plot, Points};

/// The inspector's state.
#[derive(Default)]
pub struct Inspector {
    /// Clicks on a result inspect its pixel (instead of doing nothing).
    pub on: bool,
    /// The pixel asked for (0-based) while it is worked out.
    pub asked: Option<(usize, usize)>,
    pub shown: Option<Result<PixelInspection, String>>,
}

/// Work out one pixel of a finished step again, from its inputs and its report.
fn inspect_step(
    step: &Step,
    report: &StepReport,
    (x, y): (usize, usize),
) -> crate::Result<PixelInspection> {
    let files = match step {
        Step::Combine(s) => &s.files,
        Step::Stack(s) => &s.files,
        Step::Calibrate(_) => {
            return Err(crate::Error::Invalid(
                "a calibration has no combined pixel to inspect".into(),
            ));
        }
    };
    let (inputs, names) = crate::recipe::open_inputs(files, "nothing to inspect")?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let first = inputs[0].header();
    match (step, report) {
        (Step::Combine(s), StepReport::Combine(summary)) => {
            let params = s.options.params(&names, first)?;
            let factors = FrameFactors::new(
                summary.scale.clone(),
                summary.zero.clone(),
                summary.weights.clone(),
            );
            inspect_pixel_with_factors(&refs, &params, &factors, x, y)
        }
        (Step::Stack(s), StepReport::Stack(report)) => {
            let params = s.stack.params(&s.options, &names, first)?;
            let progress = crate::progress::Progress::new();
            crate::register::inspect::inspect_stacked_pixel(&refs, &params, report, x, y, &progress)
        }
        _ => Err(crate::Error::Invalid(
            "the step and its report do not match".into(),
        )),
    }
}

impl App {
    /// Inspect pixel (x, y) of the shown result off the UI thread.
    pub fn inspect_at(&mut self, pixel: (usize, usize), ctx: &egui::Context) {
        let Some(r) = &self.reduce.result else { return };
        let (Some(step), Some(report)) = (r.step.clone(), r.report.clone()) else {
            return;
        };
        self.inspector.asked = Some(pixel);
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Inspect, move |h| {
            let found = inspect_step(&step, &report, pixel).map_err(|e| e.to_string());
            // a newer click's answer replaces this one
            if !h.cancelled() {
                h.send(Done::Inspected(Box::new(found)));
            }
        });
    }

    /// A click on the result image in inspect mode.
    pub(crate) fn inspect_click(&mut self, pixel: (usize, usize), ctx: &egui::Context) {
        let on_result = self
            .reduce
            .result
            .as_ref()
            .is_some_and(|r| self.wanted.as_ref() == Some(&r.image));
        if self.inspector.on && on_result {
            self.inspect_at(pixel, ctx);
        }
    }

    /// The inspector's window, when it has something to show.
    pub(crate) fn inspector_window(&mut self, ctx: &egui::Context) {
        let Some(shown) = &self.inspector.shown else {
            return;
        };
        let mut open = true;
        let title = match shown {
            Ok(p) => format!("pixel {} {} (FITS)", p.x + 1, p.y + 1),
            Err(_) => "pixel".to_string(),
        };
        egui::Window::new(title)
            .id(egui::Id::unique("inspector"))
            .open(&mut open)
            .default_width(420.0)
            .show(ctx, |ui| match shown {
                Err(e) => {
                    ui.colored_label(egui::Color32::LIGHT_RED, e);
                }
                Ok(p) => inspection(ui, p),
            });
        if !open {
            self.inspector.shown = None;
        }
    }
}

/// Kept, missing (NaN or off the frame) or rejected (by any rule).
fn category(reason: Reason) -> &'static str {
    match reason {
        Reason::Kept => "kept",
        Reason::Missing => "missing",
        _ => "rejected",
    }
}

/// Colour of a value by the reason it was (not) used.
fn colour(reason: Reason) -> egui::Color32 {
    match category(reason) {
        "kept" => egui::Color32::LIGHT_GREEN,
        "missing" => egui::Color32::GRAY,
        _ => egui::Color32::LIGHT_RED,
    }
}

/// The plot of the values with the bounds, and the table.
fn inspection(ui: &mut egui::Ui, p: &PixelInspection) {
    ui.label(format!("rule: {}", p.rule));
    let bounds = match (p.centre, p.low, p.high) {
        (Some(c), Some(l), Some(h)) => format!("   centre {c:.4}  bounds {l:.4} .. {h:.4}"),
        _ => String::new(),
    };
    ui.label(format!(
        "result {}  from {} value(s){bounds}",
        p.value, p.n_used
    ));
    Plot::new("inspector plot")
        .height(160.0)
        .allow_scroll(false)
        .show(ui, |plot| {
            for reason in [Reason::Kept, Reason::Sigma] {
                let points: Vec<[f64; 2]> = p
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.scaled.is_finite() && category(v.reason) == category(reason))
                    .map(|(i, v)| [i as f64 + 1.0, v.scaled])
                    .collect();
                plot.points(
                    Points::new(category(reason), points)
                        .radius(4.0)
                        .color(colour(reason)),
                );
            }
            plot.hline(HLine::new("result", p.value as f64).color(egui::Color32::WHITE));
            for (name, v) in [("low", p.low), ("high", p.high)] {
                if let Some(v) = v {
                    plot.hline(HLine::new(name, v).color(egui::Color32::YELLOW));
                }
            }
        });
    egui::Grid::new("inspector table")
        .striped(true)
        .show(ui, |ui| {
            for h in ["frame", "raw", "scaled", "used"] {
                ui.strong(h);
            }
            ui.end_row();
            for v in &p.values {
                ui.label(&v.frame);
                ui.label(format!("{}", v.raw));
                ui.label(format!("{:.4}", v.scaled));
                ui.colored_label(colour(v.reason), reason_name(v.reason));
                ui.end_row();
            }
        });
}
