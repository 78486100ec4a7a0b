//! Star picking and offsets: in measure mode a click on the image snaps to the star's centroid
//! (com, 1-D or 2-D Gaussian in a box) and lists it; stars marked "ref" are followed through the
//! selected frames off the UI thread, filling an offsets table that can be edited, saved to and
//! loaded from a numina-style positions file.

use super::app::{App, Done, file_name};
use super::dialogs::Purpose;
use super::jobs::{JobHandle, JobKind};
use crate::register::centroid::{Centroid, CentroidMethod, CentroidParams, centroid};
use crate::register::offsets::{
    FrameRef, Offset, StarTracker, centre_of, field_stars, match_fields, read_positions_file,
    write_positions_file,
};
use crate::register::transform::TransformKind;
use std::path::{Path, PathBuf};

/// A star picked by a click, 0-based centroid in its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedStar {
    pub id: usize,
    /// The frame's file name.
    pub file: String,
    pub centroid: Centroid,
    /// Followed through the frames by "measure offsets".
    pub reference: bool,
}

/// One frame's row in the offsets table: its file and its offset (dx, dy, editable), or why it has
/// none; `measured` keeps the whole offset as measured (its transform and any warning).
#[derive(Debug, Clone)]
pub struct OffsetRow {
    pub path: PathBuf,
    pub file: String,
    pub offset: Result<(f64, f64), String>,
    pub measured: Option<Offset>,
}

impl OffsetRow {
    /// The row's offset with the table's (possibly edited) dx, dy: the measured transform moved to
    /// them, or a shift.
    pub fn current(&self) -> Option<Offset> {
        let (dx, dy) = self.offset.clone().ok()?;
        Some(match &self.measured {
            Some(o) => o.moved_to(dx, dy),
            None => Offset::shift(&self.file, dx, dy, 1),
        })
    }
}

/// What "measure offsets" follows.
#[derive(Debug, Clone, PartialEq)]
pub enum Follow {
    /// The ref stars (0-based, in the reference frame): shifts.
    Stars(Vec<(f64, f64)>),
    /// The whole star field, matched: rotation, scale and mirror too.
    StarField,
}

/// Star picking and the offsets table.
#[derive(Default)]
pub struct Measuring {
    /// Clicks on the image measure stars (instead of doing nothing).
    pub on: bool,
    pub stars: Vec<PickedStar>,
    next_id: usize,
    /// The reference frame's file name and the first reference star there (0-based).
    pub reference: Option<(String, (f64, f64))>,
    pub offsets: Vec<OffsetRow>,
    /// (frames done, frames in all) while offsets are being measured; its run number.
    pub progress: Option<(usize, usize)>,
    pub(crate) run: u64,
    /// The last problem (no star in the box, a file that could not be read, ...).
    pub message: Option<String>,
    /// "measure offsets" matches the whole star field (rotation, scale, mirror) instead of
    /// following the ref stars.
    pub star_field: bool,
    /// Stars removed, the latest last, each with the row it had: "undo remove" (ctrl+Z) puts
    /// them back.
    pub removed: Vec<(usize, PickedStar)>,
}

/// The centroid methods offered, and their names.
const METHODS: [(CentroidMethod, &str); 3] = [
    (CentroidMethod::Com, "com"),
    (CentroidMethod::Gauss1d, "1-D Gaussian"),
    (CentroidMethod::Gauss2d, "2-D Gaussian"),
];

impl Measuring {
    /// Put the star removed last back in its row.
    pub fn undo_remove(&mut self) {
        if let Some((row, star)) = self.removed.pop() {
            self.stars.insert(row.min(self.stars.len()), star);
        }
    }

    /// Offsets by file name (for the registered blink and the canvas outline).
    /// The rows of the offsets table that have an offset.
    pub fn measured_offsets(&self) -> Vec<Offset> {
        self.offsets.iter().filter_map(OffsetRow::current).collect()
    }

    pub fn offset_of(&self, file: &str) -> Option<(f64, f64)> {
        self.offsets
            .iter()
            .find(|r| r.file == file)
            .and_then(|r| r.offset.clone().ok())
    }
}

impl App {
    fn centroid_params(&self) -> CentroidParams {
        CentroidParams {
            method: self.prefs.centroid_method,
            box_size: self.prefs.box_size,
            ..CentroidParams::default()
        }
    }

    /// Measure the star nearest the 0-based image point (x, y) of the shown frame and list it.
    pub fn pick_star(&mut self, x: f64, y: f64) {
        let Some(l) = &self.image else { return };
        let params = self.centroid_params();
        match centroid(l.frame.data.view(), &l.name, x, y, &params) {
            Ok(c) if !c.flag.is_star() => {
                // no marker: a click on empty sky, the edge or a smudge is not a star
                self.measuring.message = Some(format!(
                    "no star at ({:.1}, {:.1}): {}",
                    x + 1.0,
                    y + 1.0,
                    c.flag.describe()
                ));
            }
            Ok(c) => {
                let m = &mut self.measuring;
                m.next_id += 1;
                let first_here = !m.stars.iter().any(|s| s.file == l.name);
                m.stars.push(PickedStar {
                    id: m.next_id,
                    file: l.name.clone(),
                    centroid: c,
                    // the first star picked in a night is the reference until the user says otherwise
                    reference: first_here && !m.stars.iter().any(|s| s.reference),
                });
                m.message = None;
            }
            Err(e) => self.measuring.message = Some(e.to_string()),
        }
    }

    /// Follow the reference stars through the selected frames (the reference stars' frame first),
    /// one frame at a time off the UI thread; a frame that fails is listed with its reason.
    pub fn measure_offsets(&mut self, ctx: &egui::Context) {
        let first_selected = self.selected_frames().first().map(|p| file_name(p));
        let m = &mut self.measuring;
        let refs: Vec<&PickedStar> = m.stars.iter().filter(|s| s.reference).collect();
        let (file, what) = match (refs.first(), m.star_field) {
            (Some(first), false) => {
                let file = first.file.clone();
                let stars: Vec<(f64, f64)> = refs
                    .iter()
                    .filter(|s| s.file == file)
                    .map(|s| (s.centroid.x, s.centroid.y))
                    .collect();
                (file, Follow::Stars(stars))
            }
            (None, false) => {
                m.message = Some("mark a reference star (ref) first".into());
                return;
            }
            (_, true) => match first_selected {
                Some(file) => (file, Follow::StarField),
                None => {
                    m.message = Some("select the frames to register".into());
                    return;
                }
            },
        };
        let Some(reference_path) = self.collection.as_ref().and_then(|c| {
            c.frames
                .iter()
                .find(|f| f.file == file)
                .map(|f| f.path.clone())
        }) else {
            m.message = Some(format!("{file} is no longer in the folder"));
            return;
        };
        let mut frames = self.selected_frames();
        frames.retain(|p| *p != reference_path);
        frames.insert(0, reference_path);
        let m = &mut self.measuring;
        let at = match &what {
            Follow::Stars(stars) => stars[0],
            Follow::StarField => self
                .image
                .as_ref()
                .map(|l| crate::register::offsets::centre_of(l.frame.data.dim()))
                .unwrap_or_default(),
        };
        m.reference = Some((file, at));
        m.offsets.clear();
        m.message = None;
        m.run += 1;
        m.progress = Some((0, frames.len()));
        let (run, params) = (m.run, self.centroid_params());
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Offsets, move |h| {
            follow(run, &frames, &what, &params, h)
        });
    }

    /// A frame's offset arrived from the offsets thread (`None` when the run is over).
    pub(crate) fn receive_offset(&mut self, run: u64, row: Option<OffsetRow>) {
        let m = &mut self.measuring;
        if run != m.run {
            return;
        }
        match row {
            Some(r) => {
                m.offsets.push(r);
                if let Some((done, _)) = m.progress.as_mut() {
                    *done += 1;
                }
            }
            None => m.progress = None,
        }
    }

    /// Save the offsets table numina style (x y of the reference object per frame).
    pub fn save_offsets(&mut self, path: &Path) -> anyhow::Result<()> {
        let m = &self.measuring;
        let (_, at) = m.reference.clone().unwrap_or_default();
        let offsets = m.measured_offsets();
        if offsets.is_empty() {
            anyhow::bail!("no offsets to save");
        }
        write_positions_file(path, at, &offsets, true)?;
        Ok(())
    }

    /// Load a numina-style positions file: lines naming their frame (`x y  # FILE`) go to that
    /// frame; lines without names go to the selected frames in table order, one each. Offsets are
    /// relative to the first line.
    pub fn load_offsets(&mut self, path: &Path) -> anyhow::Result<()> {
        let lines = read_positions_file(path)?;
        let Some((x0, y0)) = lines.first().map(|l| (l.1, l.2)) else {
            anyhow::bail!("{}: no positions in the file", path.display());
        };
        let selected = self.selected_frames();
        let named = lines.iter().all(|(n, ..)| n.is_some());
        if !named && lines.len() != selected.len() {
            anyhow::bail!(
                "{}: {} position line(s) for {} selected frame(s)",
                path.display(),
                lines.len(),
                selected.len()
            );
        }
        let rows: Vec<OffsetRow> = lines
            .iter()
            .enumerate()
            .map(|(k, (name, x, y))| {
                let path = match name {
                    Some(n) => self.path_named(n).unwrap_or_else(|| PathBuf::from(n)),
                    None => selected[k].clone(),
                };
                OffsetRow {
                    file: file_name(&path),
                    path,
                    offset: Ok((x - x0, y - y0)),
                    measured: None,
                }
            })
            .collect();
        let m = &mut self.measuring;
        m.reference = Some((rows[0].file.clone(), (x0 - 1.0, y0 - 1.0)));
        m.offsets = rows;
        m.run += 1;
        m.progress = None;
        Ok(())
    }

    fn path_named(&self, file: &str) -> Option<PathBuf> {
        let c = self.collection.as_ref()?;
        Some(c.frames.iter().find(|f| f.file == file)?.path.clone())
    }

    /// The stars table and the offsets table.
    pub(crate) fn measure_panel(&mut self, ui: &mut egui::Ui) {
        // scroll bars beside the tables, not floating over their last row (where they took clicks)
        ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
        ui.heading("Stars");
        ui.horizontal(|ui| {
            ui.toggle_value(&mut self.measuring.on, "measure")
                .on_hover_text("click a star to measure it");
            egui::ComboBox::from_label("centroid")
                .selected_text(
                    METHODS
                        .iter()
                        .find(|(m, _)| *m == self.prefs.centroid_method)
                        .map_or("?", |(_, n)| *n),
                )
                .show_ui(ui, |ui| {
                    for (m, name) in METHODS {
                        ui.selectable_value(&mut self.prefs.centroid_method, m, name);
                    }
                });
            let label = ui.label("box");
            ui.add(egui::DragValue::new(&mut self.prefs.box_size).range(5..=51))
                .labelled_by(label.id);
        });
        if let Some(msg) = &self.measuring.message {
            ui.colored_label(egui::Color32::LIGHT_RED, msg);
        }
        self.stars_table(ui);
        ui.separator();
        self.offsets_table(ui);
        ui.separator();
        self.photometry_section(ui);
    }

    fn stars_table(&mut self, ui: &mut egui::Ui) {
        let mut remove = None;
        egui::ScrollArea::both()
            .id_salt("stars")
            .max_height(220.0)
            .show(ui, |ui| {
                egui::Grid::new("stars table").striped(true).show(ui, |ui| {
                    for h in [
                        "id", "", "", "x", "y", "±x", "±y", "FWHM", "peak", "sky", "flux", "flag",
                        "file",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for s in &mut self.measuring.stars {
                        let c = &s.centroid;
                        ui.label(s.id.to_string());
                        if ui.small_button("remove").clicked() {
                            remove = Some(s.id);
                        }
                        ui.checkbox(&mut s.reference, "ref")
                            .on_hover_text("a reference star for the offsets");
                        // FITS 1-based
                        ui.label(format!("{:.2}", c.x + 1.0));
                        ui.label(format!("{:.2}", c.y + 1.0));
                        ui.label(format!("{:.3}", c.x_err));
                        ui.label(format!("{:.3}", c.y_err));
                        ui.label(format!("{:.2}", c.fwhm));
                        ui.label(format!("{:.1}", c.peak));
                        ui.label(format!("{:.1}", c.background));
                        ui.label(format!("{:.0}", c.flux));
                        ui.label(format!("{:?}", c.flag));
                        ui.label(&s.file);
                        ui.end_row();
                    }
                });
            });
        let m = &mut self.measuring;
        if let Some(row) = remove.and_then(|id| m.stars.iter().position(|s| s.id == id)) {
            m.removed.push((row, m.stars.remove(row)));
        }
        let undo_key = !ui.ctx().text_edit_focused()
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Z));
        if let Some((_, star)) = m.removed.last() {
            let label = format!("undo remove (star {})", star.id);
            let asked = ui.button(label).on_hover_text("ctrl+Z").clicked();
            if asked || undo_key {
                m.undo_remove();
            }
        }
    }

    fn offsets_table(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            ui.strong("Offsets");
            let idle = self.measuring.progress.is_none();
            if ui
                .add_enabled(idle, egui::Button::new("measure offsets"))
                .on_hover_text(
                    "follow the ref stars through the selected frames (shifts), or match their \
                     whole star fields (rotation, scale, mirror)",
                )
                .clicked()
            {
                self.measure_offsets(&ctx);
            }
            ui.checkbox(&mut self.measuring.star_field, "whole star field");
            if ui.button("save ...").clicked() {
                self.ask_path(Purpose::SaveOffsets, &ctx);
            }
            if ui.button("load ...").clicked() {
                self.ask_path(Purpose::LoadOffsets, &ctx);
            }
            if let Some((done, all)) = self.measuring.progress {
                ui.spinner();
                ui.label(format!("{done} of {all}"));
            }
        });
        if let Some((file, _)) = &self.measuring.reference {
            ui.label(format!("relative to {file}"));
        }
        egui::ScrollArea::both().id_salt("offsets").show(ui, |ui| {
            egui::Grid::new("offsets table")
                .striped(true)
                .show(ui, |ui| {
                    for h in ["file", "dx", "dy", "rotation", "scale", ""] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in &mut self.measuring.offsets {
                        let name = ui.label(&r.file);
                        match &mut r.offset {
                            Ok((dx, dy)) => {
                                for v in [dx, dy] {
                                    ui.add(egui::DragValue::new(v).speed(0.01).max_decimals(3))
                                        .labelled_by(name.id);
                                }
                            }
                            Err(e) => {
                                ui.colored_label(egui::Color32::LIGHT_RED, e.as_str());
                            }
                        }
                        transform_cells(ui, r.measured.as_ref());
                        ui.end_row();
                    }
                });
        });
    }
}

/// The rotation and scale of a measured offset that is more than a shift, and its warning.
fn transform_cells(ui: &mut egui::Ui, measured: Option<&Offset>) {
    match measured {
        Some(o) if o.transform != crate::register::transform::Affine::shift(o.dx, o.dy) => {
            let mirror = if o.transform.mirrored() {
                " mirrored"
            } else {
                ""
            };
            ui.label(format!("{:.4}°{mirror}", o.transform.rotation_deg()));
            ui.label(format!("{:.5}", o.transform.scale()));
        }
        _ => {
            ui.label("");
            ui.label("");
        }
    }
    match measured.and_then(|o| o.warning.as_deref()) {
        Some(w) => {
            ui.colored_label(egui::Color32::YELLOW, "⚠")
                .on_hover_text(w);
        }
        None => {
            ui.label("");
        }
    }
}

/// Places one frame against the reference frame.
type Placer = Box<dyn FnMut(&FrameRef) -> crate::Result<Offset>>;

/// The offsets thread: measure the reference stars (or the star field) in the first frame (its
/// offset is zero by definition), then place every frame against it, sending each row as it is
/// measured and `None` at the end. Each file is read once.
fn follow(
    run: u64,
    frames: &[PathBuf],
    what: &Follow,
    params: &CentroidParams,
    h: &JobHandle<Done>,
) {
    let send = |row: Option<OffsetRow>| {
        h.send(Done::Offset(run, row));
    };
    let row = |path: &PathBuf, offset: Result<Offset, String>| OffsetRow {
        path: path.clone(),
        file: file_name(path),
        offset: offset.as_ref().map(|o| (o.dx, o.dy)).map_err(Clone::clone),
        measured: offset.ok(),
    };
    // read a frame and hand it to `measure` as a FrameRef
    let with_frame = |path: &PathBuf, measure: &mut dyn FnMut(&FrameRef) -> crate::Result<_>| {
        let f = crate::Frame::open(path).map_err(|e| e.to_string())?;
        let r = FrameRef::new(f.name(), f.data.view(), &f.header).map_err(|e| e.to_string())?;
        measure(&r).map_err(|e| e.to_string())
    };
    let mut placer: Option<Placer> = None;
    let first = with_frame(&frames[0], &mut |r| {
        placer = Some(match what {
            Follow::Stars(stars) => {
                let mut tracker = StarTracker::new(r, stars, params)?;
                Box::new(move |f: &FrameRef| tracker.offset(f))
            }
            Follow::StarField => {
                let field = field_stars(r, 80)?;
                let centre = centre_of(r.data.dim());
                Box::new(move |f: &FrameRef| {
                    match_fields(
                        &field,
                        &field_stars(f, 80)?,
                        &f.name,
                        TransformKind::Similarity,
                        centre,
                    )
                })
            }
        });
        Ok(Offset::shift(&r.name, 0.0, 0.0, 0))
    });
    let failed = first.is_err();
    send(Some(row(&frames[0], first)));
    if let (Some(mut place), false) = (placer, failed) {
        for path in &frames[1..] {
            // a newer measuring run replaced this one: its rows would be dropped anyway
            if h.cancelled() {
                return;
            }
            let offset = with_frame(path, &mut |r| place(r));
            send(Some(row(path, offset)));
        }
    }
    send(None);
}
