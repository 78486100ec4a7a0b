//! App: the night's table on the left, the selected frame (zscale, grey) in the centre, a status line
//! with the FITS 1-based pixel and value under the cursor. Scanning and loading run off the UI thread.

use crate::collection::{Collection, ScanOptions, scan};
use crate::display::{ZScale, zscale};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

/// A frame loaded for display: its pixels, display limits and image tiles ready for textures.
pub struct Loaded {
    pub name: String,
    pub frame: crate::Frame,
    /// zscale limits (low, high).
    pub limits: (f64, f64),
    /// (x0, y0, image) tiles no larger than the GPU's texture limit, rows flipped (FITS y up).
    tiles: Vec<(usize, usize, egui::ColorImage)>,
}

/// A finished background job.
enum Done {
    Scanned(crate::Result<Collection>),
    Loaded(usize, Result<Loaded, String>),
}

/// The app's runtime state.
pub struct App {
    pub folder: PathBuf,
    pub collection: Option<Collection>,
    /// Why the folder could not be scanned.
    pub scan_error: Option<String>,
    pub selected: Option<usize>,
    pub image: Option<Loaded>,
    pub load_error: Option<String>,
    /// The pixel under the cursor, 0-based, and its value.
    pub hover: Option<(usize, usize, f32)>,
    textures: Vec<(usize, usize, egui::TextureHandle)>,
    jobs: Receiver<Done>,
    sender: std::sync::mpsc::Sender<Done>,
    max_texture: usize,
}

/// Grey tiles of the frame between the limits, FITS row 0 at the bottom.
fn build_tiles(
    frame: &crate::Frame,
    limits: (f64, f64),
    max_side: usize,
) -> Vec<(usize, usize, egui::ColorImage)> {
    let (ny, nx) = frame.data.dim();
    let (lo, hi) = limits;
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    let mut tiles = Vec::new();
    for ty in (0..ny).step_by(max_side) {
        for tx in (0..nx).step_by(max_side) {
            let (w, h) = ((nx - tx).min(max_side), (ny - ty).min(max_side));
            let mut pixels = Vec::with_capacity(w * h);
            // display row r shows FITS row ny - 1 - r
            for r in 0..h {
                let y = ny - 1 - (ty + r);
                for x in tx..tx + w {
                    let v = frame.data[[y, x]] as f64;
                    let g = if v.is_finite() {
                        ((v - lo) * scale).clamp(0.0, 255.0) as u8
                    } else {
                        0
                    };
                    pixels.push(egui::Color32::from_gray(g));
                }
            }
            tiles.push((
                tx,
                ty,
                egui::ColorImage {
                    size: [w, h],
                    pixels,
                    source_size: egui::vec2(w as f32, h as f32),
                },
            ));
        }
    }
    tiles
}

impl App {
    /// Start scanning `folder` in the background.
    pub fn new(folder: PathBuf) -> App {
        let (sender, jobs) = channel();
        let app = App {
            folder,
            collection: None,
            scan_error: None,
            selected: None,
            image: None,
            load_error: None,
            hover: None,
            textures: Vec::new(),
            jobs,
            sender,
            max_texture: 2048,
        };
        app.start_scan(None);
        app
    }

    fn start_scan(&self, ctx: Option<egui::Context>) {
        let (folder, tx) = (self.folder.clone(), self.sender.clone());
        std::thread::Builder::new()
            .name("scan".into())
            .spawn(move || {
                let _ = tx.send(Done::Scanned(scan(&folder, &ScanOptions::default())));
                if let Some(c) = ctx {
                    c.request_repaint();
                }
            })
            .expect("spawn the scan thread");
    }

    /// Select a row: the frame loads, its zscale and tiles are computed, off the UI thread.
    pub fn select(&mut self, index: usize, ctx: &egui::Context) {
        let Some(c) = &self.collection else { return };
        let Some(row) = c.frames.get(index) else {
            return;
        };
        self.selected = Some(index);
        self.load_error = None;
        let (path, tx, ctx, max_side) = (
            row.path.clone(),
            self.sender.clone(),
            ctx.clone(),
            self.max_texture,
        );
        std::thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                let loaded = crate::Frame::open(&path)
                    .map_err(|e| e.to_string())
                    .map(|frame| {
                        let limits =
                            zscale(frame.data.view(), &ZScale::default()).unwrap_or((0.0, 1.0));
                        let tiles = build_tiles(&frame, limits, max_side);
                        Loaded {
                            name: frame.name(),
                            frame,
                            limits,
                            tiles,
                        }
                    });
                let _ = tx.send(Done::Loaded(index, loaded));
                ctx.request_repaint();
            })
            .expect("spawn the load thread");
    }

    /// Take finished jobs; textures are uploaded here, on the UI thread.
    fn poll(&mut self, ctx: &egui::Context) {
        while let Ok(done) = self.jobs.try_recv() {
            match done {
                Done::Scanned(Ok(c)) => self.collection = Some(c),
                Done::Scanned(Err(e)) => self.scan_error = Some(e.to_string()),
                Done::Loaded(i, _) if Some(i) != self.selected => {}
                Done::Loaded(_, Err(e)) => self.load_error = Some(e),
                Done::Loaded(_, Ok(mut l)) => {
                    self.textures = std::mem::take(&mut l.tiles)
                        .into_iter()
                        .map(|(x, y, img)| {
                            (
                                x,
                                y,
                                ctx.load_texture(
                                    format!("tile {x} {y}"),
                                    img,
                                    egui::TextureOptions::NEAREST,
                                ),
                            )
                        })
                        .collect();
                    self.image = Some(l);
                }
            }
        }
    }

    /// True while a scan or a load is still running (tests wait on it).
    pub fn busy(&self) -> bool {
        (self.collection.is_none() && self.scan_error.is_none())
            || (self.selected.is_some()
                && self
                    .image
                    .as_ref()
                    .is_none_or(|i| Some(&i.name) != self.selected_name().as_ref())
                && self.load_error.is_none())
    }

    fn selected_name(&self) -> Option<String> {
        let i = self.selected?;
        self.collection.as_ref()?.frames.get(i).map(|f| {
            f.path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
    }

    /// Draw the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.max_texture = ui.ctx().input(|i| i.max_texture_side).max(256);
        self.poll(ui.ctx());
        egui::Panel::bottom("status").show(ui, |ui| self.status_line(ui));
        egui::Panel::left("browser")
            .default_size(460.0)
            .show(ui, |ui| self.browser(ui));
        egui::CentralPanel::default().show(ui, |ui| self.viewer(ui));
    }

    fn status_line(&self, ui: &mut egui::Ui) {
        let mut text = self.folder.display().to_string();
        if let Some(l) = &self.image {
            text = format!("{}   zscale {:.1} .. {:.1}", l.name, l.limits.0, l.limits.1);
        }
        if let Some((x, y, v)) = self.hover {
            text.push_str(&format!("   x {} y {}  value {v}", x + 1, y + 1));
        }
        ui.label(text);
    }

    fn browser(&mut self, ui: &mut egui::Ui) {
        ui.heading("Night");
        if let Some(e) = &self.scan_error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
            return;
        }
        let Some(c) = &self.collection else {
            ui.label("scanning ...");
            return;
        };
        let mut clicked = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("frames").striped(true).show(ui, |ui| {
                for h in ["file", "IMAGETYP", "FILTER", "EXPTIME", "size"] {
                    ui.strong(h);
                }
                ui.end_row();
                for (i, f) in c.frames.iter().enumerate() {
                    if ui
                        .selectable_label(self.selected == Some(i), &f.file)
                        .clicked()
                    {
                        clicked = Some(i);
                    }
                    ui.label(f.text("IMAGETYP"));
                    ui.label(f.text("FILTER"));
                    ui.label(f.text("EXPTIME"));
                    ui.label(format!("{}x{}", f.text("NAXIS1"), f.text("NAXIS2")));
                    ui.end_row();
                }
            });
            for p in &c.problems {
                ui.colored_label(egui::Color32::LIGHT_RED, &p.reason);
            }
        });
        if let Some(i) = clicked {
            let ctx = ui.ctx().clone();
            self.select(i, &ctx);
        }
    }

    fn viewer(&mut self, ui: &mut egui::Ui) {
        if let Some(e) = &self.load_error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
            return;
        }
        let Some(l) = &self.image else {
            ui.label(if self.selected.is_some() {
                "loading ..."
            } else {
                "select a frame"
            });
            return;
        };
        let (ny, nx) = l.frame.data.dim();
        let avail = ui.available_size();
        let zoom = (avail.x / nx as f32).min(avail.y / ny as f32).max(0.01);
        let (rect, response) = ui.allocate_exact_size(
            egui::vec2(nx as f32 * zoom, ny as f32 * zoom),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        for (x, y, tex) in &self.textures {
            let size = tex.size_vec2();
            let min = rect.min + egui::vec2(*x as f32 * zoom, *y as f32 * zoom);
            painter.image(
                tex.id(),
                egui::Rect::from_min_size(min, size * zoom),
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
        }
        self.hover = response.hover_pos().and_then(|p| {
            let (fx, fy) = ((p.x - rect.min.x) / zoom, (p.y - rect.min.y) / zoom);
            let (x, row) = (fx.floor() as usize, fy.floor() as usize);
            (x < nx && row < ny).then(|| (x, ny - 1 - row, l.frame.data[[ny - 1 - row, x]]))
        });
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }
}
