//! App: the night's table on the left, the selected frame (zscale, grey) in the centre, a status line
//! with the FITS 1-based pixel and value under the cursor. Scanning and loading run off the UI thread.

use super::blink::{Blink, BlinkTiles};
use super::dialogs::{Purpose, Requested};
use super::inspect::Inspector;
use super::jobs::{JobHandle, JobKind, Jobs};
use super::photometry::PhotometryTable;
use super::prefs::Prefs;
use super::reduce::Reduce;
use super::stars::{Measuring, OffsetRow};
use crate::collection::{Collection, FrameKind, ScanOptions, scan, scan_files};
use crate::display::{
    Colormap, Interval, Renderer, Stretch, View, ZScale, histogram_around, limits,
};
use crate::register::wcs::{Wcs, format_ra_dec};
use crate::stats::Histogram;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// A frame loaded for display: its pixels, display limits and image tiles ready for textures.
pub struct Loaded {
    pub name: String,
    pub frame: Arc<crate::Frame>,
    /// Display limits (low, high) of the current interval.
    pub limits: (f64, f64),
    /// Pixel values around the limits (None until the first render).
    pub histogram: Option<Histogram>,
    /// The interval, limits and histogram last drawn with (None until the first render).
    pub(crate) levels: Option<Levels>,
    /// The celestial WCS (TAN, TAN-SIP, TPV, SIN, ...) when the header has one.
    pub wcs: Option<Wcs>,
    /// No pixel is finite (all NaN or infinite): drawn black, said so in the status line.
    pub blank: bool,
    /// BIASSEC and TRIMSEC as 0-based pixel boxes, when the header has them (and they fit).
    pub sections: Vec<(&'static str, crate::fits::section::PixelBox)>,
}

/// (x0, y0, image) tiles no larger than the GPU's texture limit, rows flipped (FITS y up).
pub(crate) type Tiles = Vec<(usize, usize, egui::ColorImage)>;

/// The part of the frame in view, drawn before the whole: (x0, display row y0, step, image), one
/// texel per `step` x `step` pixels.
pub(crate) type Preview = (usize, usize, usize, egui::ColorImage);

/// Tiles uploaded as textures: (x0, y0, texture).
pub(crate) type Textures = Vec<(usize, usize, egui::TextureHandle)>;

/// How the frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Look {
    pub interval: Interval,
    pub stretch: Stretch,
    pub colormap: Colormap,
}

impl Look {
    /// Colours for `frame` between the limits `lim` with this look's stretch and colormap.
    pub fn renderer(&self, frame: &crate::Frame, lim: (f64, f64)) -> Renderer {
        Renderer::new(frame.data.view(), lim, self.stretch, self.colormap)
    }
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

/// Which panel the dock on the right shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dock {
    #[default]
    Reduce,
    Stars,
    Header,
}

/// A finished background job.
pub(crate) enum Done {
    Scanned(crate::Result<Collection>),
    /// The file and its frame; dropped if another row was selected meanwhile.
    Loaded(PathBuf, Result<Arc<crate::Frame>, String>),
    /// Render generation `u64`'s part in view and its limits (`None`: no finite pixel); results of
    /// older generations are dropped.
    Preview(u64, Option<(f64, f64)>, Preview),
    /// Render generation `u64`'s whole frame and its levels.
    Rendered(u64, Levels, Tiles),
    /// A frame's offset of measuring run `u64`; `None` when the run is over.
    Offset(u64, Option<OffsetRow>),
    /// A rendered blink frame of blink run `u64`.
    Blink(u64, PathBuf, BlinkTiles),
    /// What a desktop file dialog answered.
    Picked(Purpose, Requested),
    /// Photometry rows of the marked stars, the reference frame's name, and what went wrong.
    Photometry(Vec<crate::photometry::PhotometryRow>, String, Vec<String>),
    /// The shown frame exported as FITS or PNG (where).
    Exported(crate::Result<PathBuf>),
    /// A difference image written (its path and the half-width of a symmetric stretch).
    Difference(crate::Result<(PathBuf, f64)>),
    /// The inspector's answer for a pixel of a result.
    Inspected(Box<Result<crate::combine::inspect::PixelInspection, String>>),
    /// A calibrate, combine or stack step ended.
    Reduced(
        Box<(
            crate::recipe::Step,
            crate::Result<crate::recipe::StepReport>,
        )>,
    ),
}

/// The app's runtime state.
pub struct App {
    /// The night's folder (for files opened on their own, the first one's folder).
    pub folder: PathBuf,
    /// The files opened on their own (`skycomb a.fits b.fits`); `None`: the whole folder.
    pub files: Option<Vec<PathBuf>>,
    pub collection: Option<Collection>,
    /// Why the folder could not be scanned.
    pub scan_error: Option<String>,
    pub selected: Option<usize>,
    pub image: Option<Loaded>,
    pub load_error: Option<String>,
    /// The pixel under the cursor, 0-based, and its value.
    pub hover: Option<(usize, usize, f32)>,
    /// What the user chose (look, panels, table, measuring, blink), kept between sessions.
    pub prefs: Prefs,
    /// Where the preferences are saved (none in tests), and what was last saved there.
    pub(crate) prefs_path: Option<PathBuf>,
    saved_prefs: Prefs,
    /// Zoom and centre; `None` until the frame is first drawn (then it fits the window).
    pub view: Option<View>,
    /// Where the viewer was last drawn, in points.
    pub viewer_rect: Option<egui::Rect>,
    /// What the header panel's search box holds.
    pub header_search: String,
    /// A message for the status line (a damaged preferences file, a failed save).
    pub notice: Option<String>,
    /// The selected frames (click, ctrl- and shift-click in the table) and the last one clicked.
    pub selection: HashSet<PathBuf>,
    pub(crate) anchor: Option<PathBuf>,
    /// The keyword being typed into "add column".
    pub(crate) new_column: String,
    /// Picked stars and measured offsets.
    pub measuring: Measuring,
    /// The selected frames blinking in the viewer.
    pub blink: Blink,
    /// Calibration, combination and stacking: options, the running step, results, the recipe.
    pub reduce: Reduce,
    /// The per-pixel rejection inspector.
    pub inspector: Inspector,
    /// The panel the dock on the right shows.
    pub dock: Dock,
    /// Photometry of the marked stars through the frames and the result.
    pub photometry: PhotometryTable,
    /// The file the viewer shows or is loading (a row of the table or a result).
    pub wanted: Option<PathBuf>,
    /// `wanted` is being read.
    pub(crate) loading: bool,
    /// The browser's filter text and the column (and direction) it is sorted by.
    pub row_filter: String,
    pub sorted_by: Option<(String, bool)>,
    pub(crate) scanning: bool,
    pub(crate) pending_limits: Option<(f64, f64)>,
    /// Bumped at every new render; older results are dropped.
    pub(crate) generation: u64,
    pub(crate) rendering: bool,
    pub(crate) textures: Textures,
    /// The part in view drawn with the newest look while the whole frame is still being drawn.
    pub(crate) preview: Option<(usize, usize, usize, egui::TextureHandle)>,
    /// The render generation whose pixels are on the screen (preview or whole).
    pub(crate) shown_generation: u64,
    /// The background work and the results coming back from it.
    pub(crate) jobs: Jobs<Done>,
    /// Manual limits stay on the next frames of this night only while locked (never into another
    /// folder or the next start).
    pub lock_limits: bool,
    /// The interval last chosen that is not manual: what the next frame is drawn with.
    pub automatic: Interval,
    /// The app's own file browser, open where no desktop dialog answered.
    pub browser: Option<(Purpose, super::file_browser::FileBrowser)>,
    pub(crate) max_texture: usize,
}

/// Bins of the histogram under the image.
const HISTOGRAM_BINS: usize = 256;

/// What an interval found in a frame: the limits (`None`: no finite pixel) and the histogram around
/// them. A stretch or colormap change keeps them; only the tiles are drawn again.
#[derive(Clone)]
pub(crate) struct Levels {
    pub interval: Interval,
    pub found: Option<(f64, f64)>,
    pub histogram: Histogram,
}

/// What a render job needs.
struct RenderJob {
    generation: u64,
    frame: Arc<crate::Frame>,
    look: Look,
    /// The levels of the last render (reused when the interval is the same).
    known: Option<Levels>,
    /// The view the frame is about to be shown in.
    view: Option<View>,
    max_side: usize,
}

/// Draw the frame with `look` off the UI thread: first the part in `view` at screen resolution (a
/// preview the viewer shows at once), then every pixel in tiles no larger than `max_side`, with the
/// levels (the `known` ones when they are of the look's interval; the histogram is made last). A
/// newer render cancels this one after its preview.
fn render(job: RenderJob, h: &JobHandle<Done>) {
    let RenderJob {
        generation,
        frame,
        look,
        known,
        view,
        max_side,
    } = job;
    let known = known.filter(|k| k.interval == look.interval);
    let found = match &known {
        Some(k) => k.found,
        None => frame_levels(&frame, &look.interval),
    };
    let lim = found.unwrap_or((0.0, 1.0));
    let renderer = look.renderer(&frame, lim);
    if let Some(p) = view.and_then(|v| preview(&frame, &renderer, &v)) {
        h.send(Done::Preview(generation, found, p));
    }
    if h.cancelled() {
        return;
    }
    let tiles = render_tiles(&frame, &renderer, max_side);
    let levels = known.unwrap_or_else(|| Levels {
        interval: look.interval,
        found,
        histogram: histogram_around(frame.data.view(), lim, HISTOGRAM_BINS),
    });
    h.send(Done::Rendered(generation, levels, tiles));
}

/// The part of the frame in `view`, one pixel per screen pixel (every `step`-th pixel when zoomed
/// out; every pixel of the part when zoomed in).
fn preview(frame: &crate::Frame, renderer: &Renderer, view: &View) -> Option<Preview> {
    let (ny, nx) = frame.data.dim();
    let (x0, y0, x1, y1) = view.visible((nx, ny))?;
    let step = ((1.0 / view.zoom).floor() as usize).max(1);
    let size = ((x1 - x0).div_ceil(step), (y1 - y0).div_ceil(step));
    let top = ny - y1;
    Some((x0, top, step, paint(frame, renderer, (x0, top), size, step)))
}

/// The display limits of a frame under an interval; when they close up (zscale of a map that is 7
/// almost everywhere) the extremes instead, so the frame is not drawn in one colour.
fn frame_levels(frame: &crate::Frame, interval: &Interval) -> Option<(f64, f64)> {
    let found = limits(frame.data.view(), interval)?;
    if found.1 > found.0 || matches!(interval, Interval::Manual { .. }) {
        return Some(found);
    }
    crate::stats::finite_extremes(frame.data.view())
}

/// The display limits of a frame under `look`'s interval ((0, 1) when it has no finite pixel).
pub(crate) fn frame_limits(frame: &crate::Frame, look: &Look) -> (f64, f64) {
    frame_levels(frame, &look.interval).unwrap_or((0.0, 1.0))
}

/// Tiles no larger than `max_side` of the whole frame.
pub(crate) fn render_tiles(frame: &crate::Frame, renderer: &Renderer, max_side: usize) -> Tiles {
    let (ny, nx) = frame.data.dim();
    let mut tiles = Vec::new();
    for ty in (0..ny).step_by(max_side) {
        for tx in (0..nx).step_by(max_side) {
            let size = ((nx - tx).min(max_side), (ny - ty).min(max_side));
            tiles.push((tx, ty, paint(frame, renderer, (tx, ty), size, 1)));
        }
    }
    tiles
}

/// `w` x `h` pixels of the frame from column `x` and display row `y` (rows counted down from the
/// top: display row r is FITS row ny - 1 - r), one every `step` each way, coloured by `renderer`
/// (rows in parallel).
fn paint(
    frame: &crate::Frame,
    renderer: &Renderer,
    (x, y): (usize, usize),
    (w, h): (usize, usize),
    step: usize,
) -> egui::ColorImage {
    use rayon::prelude::*;
    let ny = frame.data.nrows();
    let mut pixels = vec![egui::Color32::BLACK; w * h];
    pixels.par_chunks_mut(w).enumerate().for_each(|(row, out)| {
        let values = frame.data.row(ny - 1 - (y + row * step));
        let values = values.slice(ndarray::s![x..x + (w - 1) * step + 1;step]);
        for (o, &v) in out.iter_mut().zip(values.iter()) {
            let [r, g, b, a] = renderer.rgba(v);
            *o = egui::Color32::from_rgba_premultiplied(r, g, b, a);
        }
    });
    egui::ColorImage {
        size: [w, h],
        pixels,
        source_size: egui::vec2(w as f32, h as f32),
    }
}

/// Textures of tiles, uploaded (on the UI thread). Every texel is drawn as it is, never blended
/// with its neighbours: square pixels when zoomed in, one sampled pixel per screen pixel when
/// zoomed out (as ds9 samples). At 1:1 the GPU may take either filter; a linear one there blended
/// columns in bands (seen under Xvfb), so both are nearest.
pub(crate) fn upload(ctx: &egui::Context, name: &str, tiles: Tiles) -> Textures {
    let options = egui::TextureOptions {
        magnification: egui::TextureFilter::Nearest,
        minification: egui::TextureFilter::Nearest,
        ..Default::default()
    };
    tiles
        .into_iter()
        .map(|(x, y, img)| {
            (
                x,
                y,
                ctx.load_texture(format!("{name} {x} {y}"), img, options),
            )
        })
        .collect()
}

/// The last part of a path, as shown in tables and captions.
pub(crate) fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The frame's BIASSEC and TRIMSEC, where present and inside the image.
fn sections_of(frame: &crate::Frame) -> Vec<(&'static str, crate::fits::section::PixelBox)> {
    let (ny, nx) = frame.data.dim();
    ["BIASSEC", "TRIMSEC"]
        .into_iter()
        .filter_map(|k| {
            let text = frame.header.get_str(k)?;
            Some((k, crate::fits::section::parse_section(text, nx, ny).ok()?))
        })
        .collect()
}

impl App {
    /// Start scanning `folder` in the background.
    pub fn new(folder: PathBuf) -> App {
        let mut app = App::new_unscanned(folder);
        app.start_scan();
        app
    }

    /// The app on `folder`, nothing started yet.
    fn new_unscanned(folder: PathBuf) -> App {
        App {
            folder,
            files: None,
            collection: None,
            scan_error: None,
            selected: None,
            image: None,
            load_error: None,
            hover: None,
            prefs: Prefs::default(),
            prefs_path: None,
            saved_prefs: Prefs::default(),
            view: None,
            viewer_rect: None,
            header_search: String::new(),
            notice: None,
            selection: HashSet::new(),
            anchor: None,
            new_column: String::new(),
            measuring: Measuring::default(),
            blink: Blink::default(),
            reduce: Reduce::new(),
            wanted: None,
            loading: false,
            inspector: Inspector::default(),
            dock: Dock::default(),
            photometry: PhotometryTable::default(),
            row_filter: String::new(),
            sorted_by: None,
            scanning: true,
            pending_limits: None,
            generation: 0,
            rendering: false,
            textures: Vec::new(),
            preview: None,
            shown_generation: 0,
            jobs: Jobs::default(),
            lock_limits: false,
            automatic: Interval::ZScale(ZScale::default()),
            browser: None,
            max_texture: 2048,
        }
    }

    /// Start on what the command line named: one folder opens as the night; files (one or more)
    /// open on their own, the first shown.
    pub fn open_paths(paths: Vec<PathBuf>) -> App {
        match paths.as_slice() {
            [one] if one.is_dir() => App::new(one.clone()),
            _ => {
                let folder = paths
                    .first()
                    .and_then(|p| p.parent())
                    .map(|d| d.to_path_buf())
                    .unwrap_or_default();
                let mut app = App::new_unscanned(folder);
                app.files = Some(paths);
                app.start_scan();
                app
            }
        }
    }

    /// Start on `folder` with the preferences saved at `prefs_path` (a damaged file is reported
    /// in the status line and replaced by defaults).
    pub fn with_prefs(paths: Vec<PathBuf>, prefs_path: Option<PathBuf>) -> App {
        let mut app = App::open_paths(paths);
        if let Some(path) = &prefs_path {
            let (mut prefs, why) = Prefs::load(path);
            if matches!(prefs.look.interval, Interval::Manual { .. }) {
                prefs.look.interval = app.automatic;
            }
            app.saved_prefs = prefs.clone();
            app.automatic = prefs.look.interval;
            app.prefs = prefs;
            if app.files.is_none() {
                let folder = app.folder.clone();
                app.prefs.opened(&folder);
            }
            app.notice = why;
        }
        app.prefs_path = prefs_path;
        app
    }

    /// Save the preferences when they changed (off the UI thread).
    fn save_prefs_if_changed(&mut self) {
        let Some(path) = &self.prefs_path else { return };
        if self.prefs == self.saved_prefs {
            return;
        }
        self.saved_prefs = self.prefs.clone();
        let (mut prefs, path) = (self.prefs.clone(), path.clone());
        // a difference's symmetric limits belong to it, and manual limits to this session
        if let Some((_, before)) = &self.reduce.difference {
            prefs.look.interval = *before;
        }
        if matches!(prefs.look.interval, Interval::Manual { .. }) {
            prefs.look.interval = self.automatic;
        }
        self.jobs.start(JobKind::SavePrefs, move |_| {
            if let Err(e) = prefs.save(&path) {
                eprintln!(
                    "skycomb: cannot save preferences to {}: {e:#}",
                    path.display()
                );
            }
        });
    }

    /// Open another night: the table, the selection and the shown frame start afresh.
    pub fn open_folder(&mut self, folder: PathBuf, ctx: &egui::Context) {
        self.open_night(folder, None, ctx);
    }

    /// Manual limits give way to the interval chosen before them.
    fn leave_manual_limits(&mut self) {
        if matches!(self.prefs.look.interval, Interval::Manual { .. }) {
            self.prefs.look.interval = self.automatic;
        }
    }

    /// Open files on their own (the first shown), as the command line does.
    pub fn open_files(&mut self, files: Vec<PathBuf>, ctx: &egui::Context) {
        let folder = files
            .first()
            .and_then(|p| p.parent())
            .map(|d| d.to_path_buf())
            .unwrap_or_default();
        self.open_night(folder, Some(files), ctx);
    }

    /// Open `folder`, or `files` in it on their own: everything shown starts afresh.
    fn open_night(&mut self, folder: PathBuf, files: Option<Vec<PathBuf>>, ctx: &egui::Context) {
        if files.is_none() {
            self.prefs.opened(&folder);
        }
        self.lock_limits = false;
        self.leave_manual_limits();
        self.folder = folder;
        self.files = files;
        self.collection = None;
        self.scan_error = None;
        self.selected = None;
        self.selection.clear();
        self.anchor = None;
        self.image = None;
        self.wanted = None;
        self.loading = false;
        self.load_error = None;
        self.textures.clear();
        self.preview = None;
        self.view = None;
        self.refresh(ctx);
    }

    /// Files dropped on the window: a folder opens as the night; a file opens its folder.
    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(p) = dropped.filter(|p| !p.as_os_str().is_empty()) {
            let folder = if p.is_dir() {
                p
            } else {
                p.parent().map(|d| d.to_path_buf()).unwrap_or(p)
            };
            self.open_folder(folder, ctx);
        }
    }

    fn start_scan(&mut self) {
        let (folder, files) = (self.folder.clone(), self.files.clone());
        self.jobs.start(JobKind::Scan, move |h| {
            let scanned = match files {
                Some(files) => Ok(scan_files(&files)),
                None => scan(&folder, &ScanOptions::default()),
            };
            // a scan replaced meanwhile (another folder opened) is not shown
            if !h.cancelled() {
                h.send(Done::Scanned(scanned));
            }
        });
    }

    /// Scan the folder again (new or changed files); the table stays until the new one arrives.
    pub fn refresh(&mut self, ctx: &egui::Context) {
        self.jobs.wake_with(ctx);
        self.scanning = true;
        self.start_scan();
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
        // what the reduce panel derived from the folder is made again from this scan
        self.reduce.plan = None;
        self.reduce.output_exists = None;
    }

    /// When nothing is shown yet, show the night's first light frame (or its first frame).
    fn show_first_light(&mut self, ctx: &egui::Context) {
        let Some(c) = &self.collection else { return };
        if self.selected.is_some() || c.frames.is_empty() {
            return;
        }
        // files opened on their own: the first named; a night: its first light frame
        let light = c.frames.iter().position(|f| f.kind == FrameKind::Light);
        let i = if self.files.is_some() {
            0
        } else {
            light.unwrap_or(0)
        };
        self.selection.insert(c.frames[i].path.clone());
        self.anchor = Some(c.frames[i].path.clone());
        self.select(i, ctx);
    }

    /// Select a row: the frame loads off the UI thread, then it is rendered.
    pub fn select(&mut self, index: usize, ctx: &egui::Context) {
        let Some(c) = &self.collection else { return };
        let Some(row) = c.frames.get(index) else {
            return;
        };
        let path = row.path.clone();
        self.selected = Some(index);
        self.show_file(path, ctx);
    }

    /// Show a file, a row of the table or not (a result): it loads off the UI thread, then it is
    /// rendered. Frames of the same size keep the view (zoom and pan).
    pub fn show_file(&mut self, path: PathBuf, ctx: &egui::Context) {
        // leaving a difference: its symmetric limits give way to the interval shown before it
        if let Some((_, before)) = self.reduce.difference.take_if(|d| d.0 != path) {
            self.prefs.look.interval = before;
        }
        // another frame is drawn with the automatic limits unless they are locked (a difference
        // brings its own symmetric ones)
        let difference = self.reduce.difference.as_ref().is_some_and(|d| d.0 == path);
        if self.wanted.as_ref() != Some(&path) && !self.lock_limits && !difference {
            self.leave_manual_limits();
        }
        self.load_error = None;
        self.wanted = Some(path.clone());
        self.loading = true;
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Load, move |h| {
            let loaded = crate::Frame::open(&path)
                .map(Arc::new)
                .map_err(|e| e.to_string());
            h.send(Done::Loaded(path, loaded));
        });
    }

    /// Draw the shown frame with `look`, off the UI thread.
    pub fn set_look(&mut self, look: Look, ctx: &egui::Context) {
        self.prefs.look = look;
        if !matches!(look.interval, Interval::Manual { .. }) {
            self.automatic = look.interval;
        }
        let Some(l) = &self.image else { return };
        // levels depend on the frame and the interval only: the job reuses them if it can
        let known = l.levels.clone();
        self.generation += 1;
        self.rendering = true;
        let (ny, nx) = l.frame.data.dim();
        let ppp = ctx.pixels_per_point() as f64;
        // the view the frame will be shown in: the current one, or the fit the viewer will make
        let view = self.view.or_else(|| {
            let r = self.viewer_rect?;
            let viewport = (r.width() as f64 * ppp, r.height() as f64 * ppp);
            Some(View::fit((nx, ny), viewport))
        });
        let job = RenderJob {
            generation: self.generation,
            frame: l.frame.clone(),
            look,
            known,
            view,
            max_side: self.max_texture,
        };
        self.jobs.wake_with(ctx);
        self.jobs.start(JobKind::Render, move |h| render(job, h));
    }

    /// Take finished jobs; textures are uploaded here, on the UI thread.
    fn poll(&mut self, ctx: &egui::Context) {
        while let Some(done) = self.jobs.try_recv() {
            match done {
                Done::Scanned(Ok(c)) => {
                    self.receive_collection(c);
                    self.show_first_light(ctx);
                }
                Done::Scanned(Err(e)) => {
                    self.scanning = false;
                    self.scan_error = Some(e.to_string());
                }
                Done::Loaded(p, _) if Some(&p) != self.wanted.as_ref() => {}
                Done::Loaded(_, Err(e)) => {
                    self.loading = false;
                    self.load_error = Some(e);
                }
                Done::Loaded(_, Ok(frame)) => {
                    self.loading = false;
                    let same_size =
                        self.image.as_ref().map(|l| l.frame.data.dim()) == Some(frame.data.dim());
                    if !same_size {
                        self.view = None;
                    }
                    self.image = Some(Loaded {
                        name: frame.name(),
                        wcs: Wcs::from_header(&frame.header, &frame.name()).ok(),
                        sections: sections_of(&frame),
                        blank: false,
                        frame,
                        limits: (0.0, 1.0),
                        histogram: None,
                        levels: None,
                    });
                    self.textures.clear();
                    self.preview = None;
                    self.set_look(self.prefs.look, ctx);
                }
                Done::Offset(run, row) => self.receive_offset(run, row),
                Done::Blink(run, path, tiles) => self.receive_blink(run, path, tiles, ctx),
                Done::Picked(purpose, answer) => self.dialog_answered(purpose, answer, ctx),
                Done::Difference(made) => self.receive_difference(made, ctx),
                Done::Exported(done) => {
                    self.notice = Some(match done {
                        Ok(p) => format!("wrote {}", p.display()),
                        Err(e) => e.to_string(),
                    })
                }
                Done::Photometry(rows, reference, problems) => {
                    self.receive_photometry(rows, &reference, problems)
                }
                Done::Inspected(found) => {
                    self.inspector.asked = None;
                    self.inspector.shown = Some(*found);
                }
                Done::Reduced(b) => {
                    let (step, done) = *b;
                    self.receive_step(step, done, ctx)
                }
                Done::Preview(g, ..) | Done::Rendered(g, ..) if g != self.generation => {}
                Done::Preview(_, found, (x, y, step, image)) => {
                    let t = upload(ctx, "preview", vec![(x, y, image)]).remove(0).2;
                    self.preview = Some((x, y, step, t));
                    self.shown_generation = self.generation;
                    if let Some(l) = self.image.as_mut() {
                        l.limits = found.unwrap_or((0.0, 1.0));
                        l.blank = found.is_none();
                    }
                }
                Done::Rendered(_, levels, tiles) => {
                    self.rendering = false;
                    self.textures = upload(ctx, "tile", tiles);
                    self.preview = None;
                    self.shown_generation = self.generation;
                    if let Some(l) = self.image.as_mut() {
                        l.limits = levels.found.unwrap_or((0.0, 1.0));
                        l.blank = levels.found.is_none();
                        l.histogram = Some(levels.histogram.clone());
                        l.levels = Some(levels);
                    }
                }
            }
        }
    }

    /// True when the newest look is on the screen: the part in view at least (the whole frame may
    /// still be drawing).
    pub fn redrawn(&self) -> bool {
        self.shown_generation == self.generation
    }

    /// The progress of the newest background job of `kind`, if one was started.
    pub fn job_progress(&self, kind: JobKind) -> Option<Arc<crate::progress::Progress>> {
        self.jobs.progress(kind)
    }

    /// True while a scan, a load or a render is still running (tests wait on it).
    pub fn busy(&self) -> bool {
        self.scanning
            || self.loading
            || self.rendering
            || self.measuring.progress.is_some()
            || self.blink.expected > 0
            || self.reduce.job.is_some()
    }

    pub(crate) fn selected_path(&self) -> Option<PathBuf> {
        let i = self.selected?;
        Some(self.collection.as_ref()?.frames.get(i)?.path.clone())
    }

    /// Draw the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.max_texture = ui.ctx().input(|i| i.max_texture_side).max(256);
        self.jobs.wake_with(ui.ctx());
        self.poll(ui.ctx());
        self.show_browser(ui.ctx());
        self.take_dropped_files(&ui.ctx().clone());
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_line(ui));
        // side panels never take more than a third of the window each: the image stays in view
        let side = ui.available_width() / 3.0;
        egui::Panel::left("browser")
            .default_size(460.0f32.min(side))
            .max_size(side)
            .show(ui, |ui| self.browser(ui));
        // the histogram is the selected frame's: not shown while other frames blink
        if self.prefs.show_histogram && self.image.is_some() && !self.blink.active {
            egui::Panel::bottom("histogram")
                .default_size(150.0)
                .show(ui, |ui| self.histogram_panel(ui));
        }
        // one dock on the right for the reduce, stars and header panels, a tab each
        let open: Vec<(Dock, &str)> = [
            (Dock::Reduce, self.prefs.show_reduce, "Reduce"),
            (Dock::Stars, self.prefs.show_stars, "Stars"),
            (Dock::Header, self.prefs.show_header, "Header"),
        ]
        .into_iter()
        .filter(|d| d.1)
        .map(|d| (d.0, d.2))
        .collect();
        if !open.iter().any(|d| d.0 == self.dock)
            && let Some(d) = open.first()
        {
            self.dock = d.0;
        }
        if !open.is_empty() {
            egui::Panel::right("dock")
                .default_size(440.0f32.min(side))
                .max_size(side)
                .show(ui, |ui| {
                    if open.len() > 1 {
                        ui.horizontal(|ui| {
                            for (d, name) in &open {
                                ui.selectable_value(&mut self.dock, *d, *name);
                            }
                        });
                        ui.separator();
                    }
                    match self.dock {
                        Dock::Reduce => self.reduce_panel(ui),
                        Dock::Stars => self.measure_panel(ui),
                        Dock::Header => self.header_panel(ui),
                    }
                });
        }
        self.tick_blink(ui);
        egui::CentralPanel::default().show(ui, |ui| {
            if self.blink.active {
                self.blink_bar(ui);
            } else {
                self.result_tabs(ui);
            }
            self.viewer(ui)
        });
        self.inspector_window(&ui.ctx().clone());
        self.save_prefs_if_changed();
    }

    /// File: open a folder, files or a recent folder; save or export the frame shown.
    fn file_menu(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        if ui
            .button("Open folder ...")
            .on_hover_text("a night: every FITS file of a folder")
            .clicked()
        {
            self.ask_path(Purpose::OpenFolder, ctx);
        }
        if ui
            .button("Open files ...")
            .on_hover_text("FITS files on their own, as `skycomb a.fits b.fits`")
            .clicked()
        {
            self.ask_path(Purpose::OpenFiles, ctx);
        }
        let recent: Vec<PathBuf> = self.prefs.recent.clone();
        ui.menu_button("Recent", |ui| {
            if recent.is_empty() {
                ui.weak("no folder opened yet");
            }
            for folder in recent {
                let there = folder.is_dir();
                let name = file_name(&folder);
                let r = ui
                    .add_enabled(there, egui::Button::new(name))
                    .on_hover_text(folder.display().to_string());
                if r.clicked() {
                    self.open_folder(folder, ctx);
                }
            }
        });
        let shown = self.image.is_some();
        if ui
            .add_enabled(shown, egui::Button::new("Save frame as FITS ..."))
            .on_hover_text("the shown frame or result with its header (provenance)")
            .clicked()
        {
            self.ask_path(Purpose::ExportFits, ctx);
        }
        if ui
            .add_enabled(shown, egui::Button::new("Export view as PNG ..."))
            .on_hover_text("every pixel, with the limits, stretch and colours shown")
            .clicked()
        {
            self.ask_path(Purpose::ExportPng, ctx);
        }
    }

    /// The File menu; interval, stretch and colormap choices; the panels shown.
    fn toolbar(&mut self, ui: &mut egui::Ui) {
        let mut look = self.prefs.look;
        let ctx = ui.ctx().clone();
        ui.horizontal_wrapped(|ui| {
            ui.menu_button("File", |ui| self.file_menu(ui, &ctx));
            ui.separator();
            ui.label("limits:");
            ui.selectable_value(
                &mut look.interval,
                Interval::ZScale(ZScale::default()),
                "zscale",
            )
            .on_hover_text("IRAF's zscale: limits about the sky from a sample of pixels (ds9's too)");
            ui.selectable_value(&mut look.interval, Interval::MinMax, "minmax")
                .on_hover_text("the lowest and the highest finite pixel");
            for p in [99.5, 99.0, 98.0, 95.0, 90.0] {
                ui.selectable_value(&mut look.interval, Interval::Percentile(p), format!("{p}%"))
                    .on_hover_text(format!("the central {p}% of the pixels between the limits"));
            }
            if let Some(l) = &self.image {
                let (low, high) = l.limits;
                ui.selectable_value(&mut look.interval, Interval::Manual { low, high }, "manual")
                    .on_hover_text("these limits, typed or dragged under the histogram");
            }
            ui.toggle_value(&mut self.lock_limits, "lock").on_hover_text(
                "keep manual limits for the next frames of this night (never for another folder or the next start)",
            );
            ui.separator();
            ui.label("stretch:");
            for s in Stretch::ALL {
                ui.selectable_value(&mut look.stretch, s, s.name())
                    .on_hover_text(s.describe());
            }
            ui.separator();
            ui.label("colours:");
            for c in Colormap::ALL {
                ui.selectable_value(&mut look.colormap, c, c.name())
                    .on_hover_text("the colours from the low limit to the high one");
            }
            ui.separator();
            self.dock_toggle(ui, Dock::Header);
            ui.toggle_value(&mut self.prefs.show_histogram, "histogram")
                .on_hover_text("the pixel values about the limits; type or drag the limits there");
            ui.toggle_value(&mut self.prefs.show_magnifier, "magnifier")
                .on_hover_text("the pixels under the cursor, enlarged");
            self.dock_toggle(ui, Dock::Stars);
            self.dock_toggle(ui, Dock::Reduce);
            let mut blinking = self.blink.active;
            if ui
                .toggle_value(&mut blinking, "blink")
                .on_hover_text("blink the selected frames")
                .changed()
            {
                if blinking {
                    self.start_blink(&ctx);
                } else {
                    self.stop_blink();
                }
            }
            ui.toggle_value(&mut self.prefs.show_sections, "sections")
                .on_hover_text("BIASSEC and TRIMSEC");
        });
        if look != self.prefs.look {
            let ctx = ui.ctx().clone();
            self.set_look(look, &ctx);
        }
    }

    /// A toolbar toggle for a panel of the dock; switching it on brings its tab to the front.
    fn dock_toggle(&mut self, ui: &mut egui::Ui, dock: Dock) {
        let (shown, name, hint) = match dock {
            Dock::Reduce => (
                &mut self.prefs.show_reduce,
                "reduce",
                "calibrate, combine, stack",
            ),
            Dock::Stars => (
                &mut self.prefs.show_stars,
                "stars",
                "star picking and offsets",
            ),
            Dock::Header => (&mut self.prefs.show_header, "header", "the FITS header"),
        };
        if ui.toggle_value(shown, name).on_hover_text(hint).changed() && *shown {
            self.dock = dock;
        }
    }

    fn status_line(&self, ui: &mut egui::Ui) {
        let mut text = self.folder.display().to_string();
        if let Some(l) = &self.image {
            let how = match self.prefs.look.interval {
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
                self.prefs.look.stretch.name()
            );
        }
        // blinking: the frame on screen, not the one selected in the table (whose pixels are the
        // only ones in memory: no value under the cursor then)
        let blinked = self.blink.frame().filter(|_| self.blink.active);
        if let Some(f) = blinked {
            text = format!(
                "{} (blink {}/{})   limits {:.1} .. {:.1}   {}",
                f.file,
                self.blink.current + 1,
                self.blink.frames.len(),
                f.limits.0,
                f.limits.1,
                self.prefs.look.stretch.name()
            );
        }
        if let Some(v) = &self.view {
            text.push_str(&format!("   zoom {}", v.zoom_text()));
        }
        if let (Some((x, y, _)), Some(_)) = (self.hover, blinked) {
            text.push_str(&format!("   x {} y {}", x + 1, y + 1));
        } else if let Some((x, y, v)) = self.hover {
            text.push_str(&format!("   x {} y {}  value {v}", x + 1, y + 1));
            if let Some(w) = self.image.as_ref().and_then(|l| l.wcs.as_ref()) {
                let (ra, dec) = w.pixel_to_world(x as f64, y as f64);
                text.push_str(&format!("   {}", format_ra_dec(ra, dec)));
            }
        }
        ui.horizontal(|ui| {
            ui.label(text);
            if self.image.as_ref().is_some_and(|l| l.blank) {
                ui.colored_label(
                    egui::Color32::LIGHT_RED,
                    "no finite pixel: every value is NaN or infinite",
                );
            }
            if let Some(n) = &self.notice {
                ui.colored_label(egui::Color32::LIGHT_RED, n);
            }
        });
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The colour of pixel (x, display row y) in the tiles.
    fn tile_pixel(tiles: &Tiles, (x, y): (usize, usize)) -> egui::Color32 {
        let (tx, ty, img) = tiles
            .iter()
            .find(|(tx, ty, img)| {
                (*tx..tx + img.size[0]).contains(&x) && (*ty..ty + img.size[1]).contains(&y)
            })
            .expect("a tile holds every pixel");
        img.pixels[(y - ty) * img.size[0] + (x - tx)]
    }

    #[test]
    fn the_preview_shows_the_pixels_in_view_with_the_colours_of_the_whole_frame() {
        let data =
            ndarray::Array2::from_shape_fn((300, 500), |(y, x)| ((x * 7 + y * 13) % 101) as f32);
        let frame = crate::Frame::from_data(data);
        let look = Look {
            stretch: Stretch::Asinh,
            colormap: Colormap::Viridis,
            ..Look::default()
        };
        let renderer = look.renderer(&frame, (10.0, 90.0));
        let tiles = render_tiles(&frame, &renderer, 128);
        assert_eq!(tiles.len(), 4 * 3);
        let fitted = View::fit((500, 300), (100.0, 60.0));
        let mut zoomed = fitted;
        zoomed.set_zoom(4.0);
        zoomed.pan((30.0, -10.0));
        for (view, step) in [(fitted, 5), (zoomed, 1)] {
            let (x0, top, s, img) = preview(&frame, &renderer, &view).unwrap();
            let (vx0, vy0, vx1, vy1) = view.visible((500, 300)).unwrap();
            assert_eq!((s, x0, top), (step, vx0, 300 - vy1));
            assert_eq!(
                img.size,
                [(vx1 - vx0).div_ceil(step), (vy1 - vy0).div_ceil(step)]
            );
            for j in 0..img.size[1] {
                for i in 0..img.size[0] {
                    let want = tile_pixel(&tiles, (x0 + i * step, top + j * step));
                    assert_eq!(img.pixels[j * img.size[0] + i], want, "({i}, {j})");
                }
            }
        }
    }
}
