//! App: the night's table on the left, the selected frame (zscale, grey) in the centre, a status line
//! with the FITS 1-based pixel and value under the cursor. Scanning and loading run off the UI thread.

use crate::collection::{Collection, ScanOptions, scan};
use crate::display::{
    Colormap, Interval, Renderer, Stretch, View, ZScale, histogram_around, limits,
};
use crate::register::wcs::{Wcs, format_ra_dec};
use crate::stats::Histogram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};

/// A frame loaded for display: its pixels, display limits and image tiles ready for textures.
pub struct Loaded {
    pub name: String,
    pub frame: Arc<crate::Frame>,
    /// Display limits (low, high) of the current interval.
    pub limits: (f64, f64),
    /// Pixel values around the limits (None until the first render).
    pub histogram: Option<Histogram>,
    /// The celestial WCS (TAN or TAN-SIP) when the header has one.
    pub wcs: Option<Wcs>,
}

/// (x0, y0, image) tiles no larger than the GPU's texture limit, rows flipped (FITS y up).
type Tiles = Vec<(usize, usize, egui::ColorImage)>;

/// How the frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub interval: Interval,
    pub stretch: Stretch,
    pub colormap: Colormap,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            interval: Interval::ZScale(ZScale::default()),
            stretch: Stretch::Linear,
            colormap: Colormap::Grey,
        }
    }
}

/// A finished background job.
enum Done {
    Scanned(crate::Result<Collection>),
    /// The file and its frame; dropped if another row was selected meanwhile.
    Loaded(PathBuf, Result<Arc<crate::Frame>, String>),
    /// (generation, limits, histogram, tiles)
    Rendered(u64, (f64, f64), Histogram, Tiles),
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
    /// Interval, stretch and colormap.
    pub look: Look,
    /// Zoom and centre; `None` until the frame is first drawn (then it fits the window).
    pub view: Option<View>,
    /// The header panel is open, and what its search box holds.
    pub show_header: bool,
    pub header_search: String,
    /// The histogram panel is open; limits being dragged there, not yet applied.
    pub show_histogram: bool,
    /// The magnifier follows the cursor over the image.
    pub show_magnifier: bool,
    /// The browser's filter text and the column (and direction) it is sorted by.
    pub row_filter: String,
    pub sorted_by: Option<(String, bool)>,
    scanning: bool,
    pending_limits: Option<(f64, f64)>,
    /// Bumped at every new render; older results are dropped.
    generation: u64,
    rendering: bool,
    textures: Vec<(usize, usize, egui::TextureHandle)>,
    jobs: Receiver<Done>,
    sender: std::sync::mpsc::Sender<Done>,
    max_texture: usize,
}

/// The browser's columns: header keyword (as `FrameSummary::value` knows it) and title.
const BROWSER_COLUMNS: [(&str, &str); 5] = [
    ("file", "file"),
    ("IMAGETYP", "IMAGETYP"),
    ("FILTER", "FILTER"),
    ("EXPTIME", "EXPTIME"),
    ("NAXIS1", "size"),
];

/// Bins of the histogram under the image.
const HISTOGRAM_BINS: usize = 256;

/// Tiles of the frame drawn with `look`, FITS row 0 at the bottom; the limits used and the
/// histogram around them.
fn render(frame: &crate::Frame, look: Look, max_side: usize) -> ((f64, f64), Histogram, Tiles) {
    let lim = limits(frame.data.view(), &look.interval).unwrap_or((0.0, 1.0));
    let histogram = histogram_around(frame.data.view(), lim, HISTOGRAM_BINS);
    let r = Renderer::new(frame.data.view(), lim, look.stretch, look.colormap);
    let (ny, nx) = frame.data.dim();
    let mut tiles = Vec::new();
    for ty in (0..ny).step_by(max_side) {
        for tx in (0..nx).step_by(max_side) {
            let (w, h) = ((nx - tx).min(max_side), (ny - ty).min(max_side));
            let mut pixels = Vec::with_capacity(w * h);
            // display row r shows FITS row ny - 1 - r
            for row in 0..h {
                let y = ny - 1 - (ty + row);
                for x in tx..tx + w {
                    let [cr, cg, cb] = r.rgb(frame.data[[y, x]]);
                    pixels.push(egui::Color32::from_rgb(cr, cg, cb));
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
    (lim, histogram, tiles)
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
            look: Look::default(),
            view: None,
            show_header: false,
            header_search: String::new(),
            show_histogram: true,
            show_magnifier: true,
            row_filter: String::new(),
            sorted_by: None,
            scanning: true,
            pending_limits: None,
            generation: 0,
            rendering: false,
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

    /// Scan the folder again (new or changed files); the table stays until the new one arrives.
    pub fn refresh(&mut self, ctx: &egui::Context) {
        self.scanning = true;
        self.start_scan(Some(ctx.clone()));
    }

    /// A finished scan: keep the sort order and the selected file.
    fn receive_collection(&mut self, mut c: Collection) {
        let selected = self.selected_path();
        if let Some((column, descending)) = &self.sorted_by {
            c.sort_by_column(column, *descending);
        }
        self.selected = selected.and_then(|p| c.frames.iter().position(|f| f.path == p));
        self.collection = Some(c);
        self.scan_error = None;
        self.scanning = false;
    }

    /// Select a row: the frame loads off the UI thread, then it is rendered.
    pub fn select(&mut self, index: usize, ctx: &egui::Context) {
        let Some(c) = &self.collection else { return };
        let Some(row) = c.frames.get(index) else {
            return;
        };
        self.selected = Some(index);
        self.load_error = None;
        let (path, tx, ctx) = (row.path.clone(), self.sender.clone(), ctx.clone());
        std::thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                let loaded = crate::Frame::open(&path)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                let _ = tx.send(Done::Loaded(path, loaded));
                ctx.request_repaint();
            })
            .expect("spawn the load thread");
    }

    /// Draw the shown frame with `look`, off the UI thread.
    pub fn set_look(&mut self, look: Look, ctx: &egui::Context) {
        self.look = look;
        let Some(l) = &self.image else { return };
        self.generation += 1;
        self.rendering = true;
        let (frame, tx, ctx, max_side, generation) = (
            l.frame.clone(),
            self.sender.clone(),
            ctx.clone(),
            self.max_texture,
            self.generation,
        );
        std::thread::Builder::new()
            .name("render".into())
            .spawn(move || {
                let (lim, histogram, tiles) = render(&frame, look, max_side);
                let _ = tx.send(Done::Rendered(generation, lim, histogram, tiles));
                ctx.request_repaint();
            })
            .expect("spawn the render thread");
    }

    /// Take finished jobs; textures are uploaded here, on the UI thread.
    fn poll(&mut self, ctx: &egui::Context) {
        while let Ok(done) = self.jobs.try_recv() {
            match done {
                Done::Scanned(Ok(c)) => self.receive_collection(c),
                Done::Scanned(Err(e)) => {
                    self.scanning = false;
                    self.scan_error = Some(e.to_string());
                }
                Done::Loaded(p, _) if Some(&p) != self.selected_path().as_ref() => {}
                Done::Loaded(_, Err(e)) => self.load_error = Some(e),
                Done::Loaded(_, Ok(frame)) => {
                    let same_size =
                        self.image.as_ref().map(|l| l.frame.data.dim()) == Some(frame.data.dim());
                    if !same_size {
                        self.view = None;
                    }
                    self.image = Some(Loaded {
                        name: frame.name(),
                        wcs: Wcs::from_header(&frame.header, &frame.name()).ok(),
                        frame,
                        limits: (0.0, 1.0),
                        histogram: None,
                    });
                    self.textures.clear();
                    self.set_look(self.look, ctx);
                }
                Done::Rendered(g, ..) if g != self.generation => {}
                Done::Rendered(_, lim, histogram, tiles) => {
                    self.rendering = false;
                    self.textures = tiles
                        .into_iter()
                        .map(|(x, y, img)| {
                            (
                                x,
                                y,
                                ctx.load_texture(
                                    format!("tile {x} {y}"),
                                    img,
                                    // pixels stay square when zoomed in, smooth when zoomed out
                                    egui::TextureOptions {
                                        magnification: egui::TextureFilter::Nearest,
                                        minification: egui::TextureFilter::Linear,
                                        ..Default::default()
                                    },
                                ),
                            )
                        })
                        .collect();
                    if let Some(l) = self.image.as_mut() {
                        l.limits = lim;
                        l.histogram = Some(histogram);
                    }
                }
            }
        }
    }

    /// True while a scan, a load or a render is still running (tests wait on it).
    pub fn busy(&self) -> bool {
        let loading = self.selected.is_some()
            && self
                .image
                .as_ref()
                .is_none_or(|i| Some(&i.name) != self.selected_name().as_ref())
            && self.load_error.is_none();
        self.scanning || loading || self.rendering
    }

    fn selected_path(&self) -> Option<PathBuf> {
        let i = self.selected?;
        Some(self.collection.as_ref()?.frames.get(i)?.path.clone())
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
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_line(ui));
        if self.show_histogram && self.image.is_some() {
            egui::Panel::bottom("histogram")
                .default_size(150.0)
                .show(ui, |ui| self.histogram_panel(ui));
        }
        egui::Panel::left("browser")
            .default_size(460.0)
            .show(ui, |ui| self.browser(ui));
        if self.show_header {
            egui::Panel::right("header")
                .default_size(520.0)
                .show(ui, |ui| self.header_panel(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| self.viewer(ui));
    }

    /// Interval, stretch and colormap choices.
    fn toolbar(&mut self, ui: &mut egui::Ui) {
        let mut look = self.look;
        ui.horizontal_wrapped(|ui| {
            ui.label("limits:");
            ui.selectable_value(
                &mut look.interval,
                Interval::ZScale(ZScale::default()),
                "zscale",
            );
            ui.selectable_value(&mut look.interval, Interval::MinMax, "minmax");
            for p in [99.5, 99.0, 98.0, 95.0, 90.0] {
                ui.selectable_value(&mut look.interval, Interval::Percentile(p), format!("{p}%"));
            }
            if let Some(l) = &self.image {
                let (low, high) = l.limits;
                ui.selectable_value(&mut look.interval, Interval::Manual { low, high }, "manual");
            }
            ui.separator();
            ui.label("stretch:");
            for s in Stretch::ALL {
                ui.selectable_value(&mut look.stretch, s, s.name());
            }
            ui.separator();
            ui.label("colours:");
            for c in Colormap::ALL {
                ui.selectable_value(&mut look.colormap, c, c.name());
            }
            ui.separator();
            ui.toggle_value(&mut self.show_header, "header");
            ui.toggle_value(&mut self.show_histogram, "histogram");
            ui.toggle_value(&mut self.show_magnifier, "magnifier");
        });
        if look != self.look {
            let ctx = ui.ctx().clone();
            self.set_look(look, &ctx);
        }
    }

    fn status_line(&self, ui: &mut egui::Ui) {
        let mut text = self.folder.display().to_string();
        if let Some(l) = &self.image {
            let how = match self.look.interval {
                Interval::ZScale(_) => "zscale".to_string(),
                Interval::MinMax => "minmax".to_string(),
                Interval::Percentile(p) => format!("{p}%"),
                Interval::Manual { .. } => "manual".to_string(),
            };
            text = format!(
                "{}   {how} {:.1} .. {:.1}   {}",
                l.name,
                l.limits.0,
                l.limits.1,
                self.look.stretch.name()
            );
        }
        if let Some(v) = &self.view {
            text.push_str(&format!("   zoom {}", v.zoom_text()));
        }
        if let Some((x, y, v)) = self.hover {
            text.push_str(&format!("   x {} y {}  value {v}", x + 1, y + 1));
            if let Some(w) = self.image.as_ref().and_then(|l| l.wcs.as_ref()) {
                let (ra, dec) = w.pixel_to_world(x as f64, y as f64);
                text.push_str(&format!("   {}", format_ra_dec(ra, dec)));
            }
        }
        ui.label(text);
    }

    /// The shown frame's header, searchable (keyword, value or comment, any case).
    fn header_panel(&mut self, ui: &mut egui::Ui) {
        labelled_text_box(ui, "Header", &mut self.header_search, "search", 160.0);
        let Some(l) = &self.image else {
            return;
        };
        let lines = l.frame.header.lines_matching(&self.header_search);
        ui.label(format!("{} cards", lines.len()));
        egui::ScrollArea::both().show(ui, |ui| {
            for line in lines {
                ui.monospace(line);
            }
        });
    }

    /// The histogram of pixel values (log counts) with the display limits as lines. Type or drag
    /// the low and high values, or drag in the plot to move the nearer limit: the frame is redrawn
    /// with these manual limits when the drag ends.
    fn histogram_panel(&mut self, ui: &mut egui::Ui) {
        let Some(l) = &self.image else { return };
        let Some(h) = &l.histogram else { return };
        let mut lim = self.pending_limits.unwrap_or(l.limits);
        let speed = ((h.hi - h.lo) / 500.0).max(1e-6);
        let mut edited = Edit::None;
        ui.horizontal(|ui| {
            for (name, value) in [("low", &mut lim.0), ("high", &mut lim.1)] {
                let label = ui.label(name);
                let r = ui
                    .add(
                        egui::DragValue::new(value)
                            .speed(speed)
                            .max_decimals(3)
                            .update_while_editing(false),
                    )
                    .labelled_by(label.id);
                edited = edited.or(Edit::of(&r));
            }
        });
        let points: Vec<[f64; 2]> = (0..h.counts.len())
            .flat_map(|i| {
                let y = (h.counts[i] as f64 + 1.0).log10();
                [[h.bin_edge(i), y], [h.bin_edge(i + 1), y]]
            })
            .collect();
        let plot = egui_plot::Plot::new("histogram")
            .height(ui.available_height().max(110.0))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .show_y(false)
            .y_axis_label("log10 count")
            .show(ui, |p| {
                p.line(egui_plot::Line::new("pixels", points));
                for (name, x) in [("low", lim.0), ("high", lim.1)] {
                    p.vline(egui_plot::VLine::new(name, x).color(egui::Color32::LIGHT_BLUE));
                }
                p.pointer_coordinate()
            });
        if let (Some(at), Edit::Dragging | Edit::Done) = (plot.inner, Edit::of(&plot.response)) {
            let nearer_low = (at.x - lim.0).abs() < (at.x - lim.1).abs();
            *(if nearer_low { &mut lim.0 } else { &mut lim.1 }) = at.x;
            edited = edited.or(Edit::of(&plot.response));
        }
        match edited {
            Edit::None => {}
            Edit::Dragging => self.pending_limits = Some(lim),
            Edit::Done => {
                self.pending_limits = None;
                let (low, high) = (lim.0.min(lim.1), lim.0.max(lim.1));
                let look = Look {
                    interval: Interval::Manual { low, high },
                    ..self.look
                };
                let ctx = ui.ctx().clone();
                self.set_look(look, &ctx);
            }
        }
    }

    fn browser(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("Night");
            if ui
                .add_enabled(!self.scanning, egui::Button::new("refresh"))
                .clicked()
            {
                let ctx = ui.ctx().clone();
                self.refresh(&ctx);
            }
        });
        if let Some(e) = &self.scan_error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
            return;
        }
        let hint = "IMAGETYP=flat FILTER=R";
        labelled_text_box(ui, "filter", &mut self.row_filter, hint, 260.0);
        let Some(c) = &self.collection else {
            ui.label("scanning ...");
            return;
        };
        let rows = match crate::collection::parse_conditions(&self.row_filter) {
            Ok(conditions) => c.select(&conditions),
            Err(e) => {
                ui.colored_label(egui::Color32::LIGHT_RED, e.to_string());
                (0..c.frames.len()).collect()
            }
        };
        ui.label(format!("{} of {} frames", rows.len(), c.frames.len()));
        let (mut clicked, mut sort_by) = (None, None);
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("frames").striped(true).show(ui, |ui| {
                for (column, title) in BROWSER_COLUMNS {
                    let arrow = match &self.sorted_by {
                        Some((c, false)) if c == column => " ^",
                        Some((c, true)) if c == column => " v",
                        _ => "",
                    };
                    if ui.button(format!("{title}{arrow}")).clicked() {
                        sort_by = Some(column.to_string());
                    }
                }
                ui.end_row();
                for &i in &rows {
                    let f = &c.frames[i];
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
        if let Some(column) = sort_by {
            self.sort_rows(&column);
        }
        if let Some(i) = clicked {
            let ctx = ui.ctx().clone();
            self.select(i, &ctx);
        }
    }

    /// Sort the table by a column; the same column again reverses the order. The selected frame
    /// stays selected.
    pub fn sort_rows(&mut self, column: &str) {
        let Some(c) = self.collection.as_mut() else {
            return;
        };
        let descending = matches!(&self.sorted_by, Some((s, false)) if s == column);
        let selected = self.selected.map(|i| c.frames[i].path.clone());
        c.sort_by_column(column, descending);
        self.selected = selected.and_then(|p| c.frames.iter().position(|f| f.path == p));
        self.sorted_by = Some((column.to_string(), descending));
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
        let (rect, response) =
            ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
        // the view counts physical screen pixels, so 1:1 is one image pixel per device pixel
        let ppp = ui.ctx().pixels_per_point() as f64;
        let viewport = (rect.width() as f64 * ppp, rect.height() as f64 * ppp);
        let mut view = self.view.unwrap_or_else(|| View::fit((nx, ny), viewport));
        view.resize(viewport, (nx, ny));
        let cursor = response.hover_pos().map(|p| {
            (
                (p.x - rect.min.x) as f64 * ppp,
                (p.y - rect.min.y) as f64 * ppp,
            )
        });
        steer(&mut view, ui, &response, cursor, (nx, ny));
        self.view = Some(view);
        draw_tiles(&ui.painter_at(rect), &view, ppp, &self.textures, ny);
        if let Some(c) = cursor.filter(|_| self.show_magnifier) {
            magnifier(ui, rect, &view, c, ppp, &self.textures, ny);
        }
        self.hover = cursor
            .and_then(|c| view.pixel_at(c, (nx, ny)))
            .map(|(x, y)| (x, y, l.frame.data[[y, x]]));
    }
}

/// A one-line text box after its label (which names it for screen readers and tests).
fn labelled_text_box(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str, width: f32) {
    ui.horizontal(|ui| {
        let label = ui.strong(label);
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(width),
        )
        .labelled_by(label.id);
    });
}

/// Draw the tiles through `view` into the painter's clip rect (`ppp` device pixels per point).
fn draw_tiles(
    painter: &egui::Painter,
    view: &View,
    ppp: f64,
    textures: &[(usize, usize, egui::TextureHandle)],
    ny: usize,
) {
    let origin = painter.clip_rect().min;
    let at = |x: f64, y: f64| {
        let (sx, sy) = view.to_screen((x, y));
        origin + egui::vec2((sx / ppp) as f32, (sy / ppp) as f32)
    };
    for (x, y, tex) in textures {
        let [w, h] = tex.size();
        // tile rows are top-down from display row `y`: FITS rows ny - y - h .. ny - y
        let top = (ny - y) as f64;
        painter.image(
            tex.id(),
            egui::Rect::from_two_pos(at(*x as f64, top), at((x + w) as f64, top - h as f64)),
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
    }
}

/// Magnifier side in points, and its zoom relative to device pixels.
const MAGNIFIER: (f32, f64) = (160.0, 8.0);

/// A square in a top corner of the viewer (away from the cursor) showing the pixels around the cursor eightfold, with
/// the pixel under the cursor outlined.
fn magnifier(
    ui: &egui::Ui,
    viewer: egui::Rect,
    view: &View,
    cursor: (f64, f64),
    ppp: f64,
    textures: &[(usize, usize, egui::TextureHandle)],
    ny: usize,
) {
    let (side, zoom) = MAGNIFIER;
    // top-right, or top-left when the cursor is under the top-right corner
    let right = egui::pos2(viewer.max.x - side - 8.0, viewer.min.y + 8.0);
    let in_corner = cursor.0 / ppp > (right.x - viewer.min.x - 16.0) as f64
        && cursor.1 / ppp < (side + 24.0) as f64;
    let min = if in_corner {
        egui::pos2(viewer.min.x + 8.0, right.y)
    } else {
        right
    };
    let rect = egui::Rect::from_min_size(min, egui::vec2(side, side));
    let d = side as f64 * ppp;
    let inset = view.inset(cursor, (d, d), zoom);
    let under = inset.center;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::BLACK);
    draw_tiles(&painter, &inset, ppp, textures, ny);
    let (px, py) = (under.0.floor(), under.1.floor());
    let corner = |x: f64, y: f64| {
        let (sx, sy) = inset.to_screen((x, y));
        rect.min + egui::vec2((sx / ppp) as f32, (sy / ppp) as f32)
    };
    let pixel = egui::Rect::from_two_pos(corner(px, py), corner(px + 1.0, py + 1.0));
    let stroke = egui::Stroke::new(1.0, egui::Color32::LIGHT_GREEN);
    painter.rect_stroke(pixel, 0.0, stroke, egui::StrokeKind::Outside);
    painter.rect_stroke(rect, 0.0, stroke, egui::StrokeKind::Inside);
}

/// What a widget did to a value this frame: nothing, a drag still under way, or a finished change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Edit {
    None,
    Dragging,
    Done,
}

impl Edit {
    fn of(r: &egui::Response) -> Edit {
        if r.drag_stopped() || (r.changed() && !r.dragged()) {
            Edit::Done
        } else if r.dragged() {
            Edit::Dragging
        } else {
            Edit::None
        }
    }

    /// The stronger of two: a finished change wins over a drag, a drag over nothing.
    fn or(self, other: Edit) -> Edit {
        match (self, other) {
            (Edit::Done, _) | (_, Edit::Done) => Edit::Done,
            (Edit::Dragging, _) | (_, Edit::Dragging) => Edit::Dragging,
            _ => Edit::None,
        }
    }
}

/// Mouse wheel zooms about the cursor, dragging pans; keys: F fit, 1 one-to-one, + and - zoom.
fn steer(
    view: &mut View,
    ui: &egui::Ui,
    response: &egui::Response,
    cursor: Option<(f64, f64)>,
    size: (usize, usize),
) {
    if response.dragged() {
        let d = response.drag_delta();
        let ppp = ui.ctx().pixels_per_point() as f64;
        view.pan((d.x as f64 * ppp, d.y as f64 * ppp));
    }
    let middle = (view.viewport.0 / 2.0, view.viewport.1 / 2.0);
    if let Some(c) = cursor {
        // the wheel (smoothed by egui) and pinch / ctrl+wheel
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = 1.0025f64.powf(scroll as f64) * pinch as f64;
        if factor != 1.0 {
            view.zoom_about(factor, c);
        }
    }
    if ui.ctx().text_edit_focused() {
        return; // keys are typed into a search box, not viewer commands
    }
    let (fit, one, plus, minus) = ui.input(|i| {
        (
            i.key_pressed(egui::Key::F),
            i.key_pressed(egui::Key::Num1),
            i.key_pressed(egui::Key::Plus) || i.key_pressed(egui::Key::Equals),
            i.key_pressed(egui::Key::Minus),
        )
    });
    if fit {
        *view = View::fit(size, view.viewport);
    }
    if one {
        view.set_zoom(1.0);
    }
    if plus {
        view.zoom_about(2.0, middle);
    }
    if minus {
        view.zoom_about(0.5, middle);
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }
}
