//! The photometry table: aperture photometry of the marked stars in every selected frame (placed by
//! the offsets table) and in the combined result, with flux ratios to the reference frame and each
//! frame's scale factor, a plot of flux against frame, and CSV export.

use super::app::{App, Done, file_name};
use super::dialogs::Purpose;
use super::jobs::JobKind;
use crate::photometry::{
    AnnulusStat, ApertureParams, PhotometryRow, RelativeFlux, measure_all, photometry_csv,
    relative_fluxes,
};
use crate::recipe::StepReport;
use egui_plot::{Legend, Line, Plot, PlotPoints};
use std::path::{Path, PathBuf};

/// The measured table.
#[derive(Default)]
pub struct PhotometryTable {
    pub rows: Vec<RelativeFlux>,
    /// Each frame's scale factor (reference flux / flux, median over the stars).
    pub scales: Vec<(String, f64)>,
    pub running: bool,
    pub problems: Vec<String>,
}

/// The reference frame's name, its marked stars (0-based) and their median FWHM.
type ReferenceStars = (String, Vec<(f64, f64)>, f64);

/// One frame to measure and how far its stars sit from where they are in the reference frame.
struct Target {
    path: PathBuf,
    shift: (f64, f64),
}

/// Aperture 3 FWHM of the reference frame's stars (at least 4 px): wide enough that frames of
/// other seeing lose the same (small) fraction of a star's light, so their flux ratios measure
/// transparency; annulus 1.5 to 2.2 radii; gain and read noise from the header.
fn aperture_for(fwhm: f64, header: &crate::fits::Header) -> ApertureParams {
    let radius = (3.0 * fwhm).max(4.0);
    ApertureParams {
        radius,
        annulus: Some((1.5 * radius, 2.2 * radius)),
        annulus_stat: AnnulusStat::Median,
        gain_e_per_adu: header.get_f64("GAIN").unwrap_or(1.0),
        read_noise_e: header.get_f64("RDNOISE").unwrap_or(0.0),
    }
}

/// Measure the stars (reference-frame positions) in each target.
fn measure_targets(
    targets: &[Target],
    stars: &[(f64, f64)],
    fwhm: f64,
) -> (Vec<PhotometryRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for t in targets {
        match crate::Frame::open(&t.path) {
            Err(e) => problems.push(e.to_string()),
            Ok(f) => {
                let placed: Vec<(f64, f64)> = stars
                    .iter()
                    .map(|s| (s.0 + t.shift.0, s.1 + t.shift.1))
                    .collect();
                let p = aperture_for(fwhm, &f.header);
                rows.extend(measure_all(f.data.view(), &file_name(&t.path), &placed, &p));
            }
        }
    }
    (rows, problems)
}

impl App {
    /// The marked stars of the reference frame (0-based), its name and their median FWHM.
    fn reference_stars(&self) -> Option<ReferenceStars> {
        let m = &self.measuring;
        let reference = m
            .reference
            .as_ref()
            .map(|r| r.0.clone())
            .or_else(|| m.stars.first().map(|s| s.file.clone()))?;
        let stars: Vec<_> = m.stars.iter().filter(|s| s.file == reference).collect();
        if stars.is_empty() {
            return None;
        }
        let mut fwhm: Vec<f64> = stars.iter().map(|s| s.centroid.fwhm).collect();
        let fwhm = crate::stats::median_f64_mut(&mut fwhm).unwrap_or(3.0);
        let xy = stars.iter().map(|s| (s.centroid.x, s.centroid.y)).collect();
        Some((reference, xy, fwhm))
    }

    /// The selected frames placed by the offsets table, and the shown result placed on its canvas.
    fn photometry_targets(&self, reference: &str) -> Vec<Target> {
        let at = |file: &str| self.measuring.offset_of(file);
        let base = at(reference).unwrap_or((0.0, 0.0));
        let mut targets: Vec<Target> = self
            .selected_frames()
            .into_iter()
            .filter_map(|path| {
                let (dx, dy) = at(&file_name(&path))?;
                Some(Target {
                    path,
                    shift: (dx - base.0, dy - base.1),
                })
            })
            .collect();
        if let Some(r) = &self.reduce.result {
            // a stack's canvas pixel (0, 0) is the reference frame's pixel canvas_origin
            let shift = match &r.report {
                Some(StepReport::Stack(s)) => {
                    (-s.canvas_origin[0] as f64, -s.canvas_origin[1] as f64)
                }
                _ => (0.0, 0.0),
            };
            targets.push(Target {
                path: r.image.clone(),
                shift,
            });
        }
        targets
    }

    /// Measure the marked stars in every target off the UI thread.
    pub fn start_photometry(&mut self, ctx: &egui::Context) {
        let Some((reference, stars, fwhm)) = self.reference_stars() else {
            self.photometry.problems = vec!["mark stars in the reference frame first".into()];
            return;
        };
        let targets = self.photometry_targets(&reference);
        self.photometry.running = true;
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Photometry, move |h| {
            let (rows, problems) = measure_targets(&targets, &stars, fwhm);
            // a newer run's rows replace these
            if !h.cancelled() {
                h.send(Done::Photometry(rows, reference, problems));
            }
        });
    }

    pub(crate) fn receive_photometry(
        &mut self,
        rows: Vec<PhotometryRow>,
        reference: &str,
        problems: Vec<String>,
    ) {
        let (rows, scales) = relative_fluxes(&rows, reference);
        self.photometry = PhotometryTable {
            rows,
            scales,
            running: false,
            problems,
        };
    }

    /// Write the table as CSV.
    pub fn save_photometry(&self, path: &Path) -> crate::Result<()> {
        let csv = photometry_csv(&self.photometry.rows, &self.photometry.scales);
        crate::fits::write::write_atomic(
            path,
            csv.as_bytes(),
            crate::fits::WriteOptions { overwrite: true },
        )
    }

    /// The photometry section of the stars panel.
    pub(crate) fn photometry_section(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.photometry.running, egui::Button::new("photometry"))
                .on_hover_text("the marked stars in the selected frames and the result")
                .clicked()
            {
                self.start_photometry(&ctx);
            }
            let any = !self.photometry.rows.is_empty();
            if ui
                .add_enabled(any, egui::Button::new("save CSV ..."))
                .clicked()
            {
                self.ask_path(Purpose::SavePhotometry, &ctx);
            }
            if self.photometry.running {
                ui.spinner();
            }
        });
        for p in &self.photometry.problems {
            ui.colored_label(egui::Color32::LIGHT_RED, p);
        }
        if self.photometry.rows.is_empty() {
            return;
        }
        flux_plot(ui, &self.photometry.rows);
        photometry_grid(ui, &self.photometry);
    }
}

/// Flux against frame, a line per star.
fn flux_plot(ui: &mut egui::Ui, rows: &[RelativeFlux]) {
    let mut files: Vec<&str> = Vec::new();
    for r in rows {
        if !files.contains(&r.row.file.as_str()) {
            files.push(&r.row.file);
        }
    }
    let mut stars: Vec<usize> = rows.iter().map(|r| r.row.star).collect();
    stars.sort_unstable();
    stars.dedup();
    Plot::new("flux against frame")
        .height(140.0)
        .legend(Legend::default())
        .x_axis_label("frame")
        .y_axis_label("flux")
        .show(ui, |plot| {
            for star in stars {
                let points: PlotPoints = rows
                    .iter()
                    .filter(|r| r.row.star == star)
                    .map(|r| {
                        let i = files.iter().position(|f| *f == r.row.file).unwrap_or(0);
                        [i as f64 + 1.0, r.row.flux]
                    })
                    .collect();
                plot.line(Line::new(format!("star {star}"), points));
            }
        });
}

fn photometry_grid(ui: &mut egui::Ui, t: &PhotometryTable) {
    egui::ScrollArea::horizontal().show(ui, |ui| {
        egui::Grid::new("photometry table")
            .striped(true)
            .show(ui, |ui| {
                for h in [
                    "frame", "star", "x", "y", "flux", "error", "sky/px", "ratio", "scale",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &t.rows {
                    let w = &r.row;
                    let scale = t
                        .scales
                        .iter()
                        .find(|s| s.0 == w.file)
                        .map_or(f64::NAN, |s| s.1);
                    ui.label(&w.file);
                    ui.label(w.star.to_string());
                    ui.label(format!("{:.2}", w.x + 1.0));
                    ui.label(format!("{:.2}", w.y + 1.0));
                    ui.label(format!("{:.1}", w.flux));
                    ui.label(format!("{:.1}", w.flux_err));
                    ui.label(format!("{:.2}", w.background));
                    ui.label(format!("{:.4}", r.ratio));
                    ui.label(format!("{scale:.4}"));
                    ui.end_row();
                }
            });
    });
}
