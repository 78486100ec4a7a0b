//! The viewer: the frame drawn through the view (zoom and pan), the magnifier and the pointer readout.

use super::app::App;
use crate::display::View;

/// Magnifier side in points, and its zoom relative to device pixels.
const MAGNIFIER: (f32, f64) = (160.0, 8.0);

/// The viewer's area this frame: where it is, what the pointer did, the view, the cursor (device
/// pixels from the top-left) and device pixels per point.
struct Area {
    rect: egui::Rect,
    response: egui::Response,
    view: View,
    cursor: Option<(f64, f64)>,
    ppp: f64,
}

impl Area {
    /// Image point (view coordinates) to a point on the screen.
    fn on_screen(&self, view: &View) -> impl Fn((f64, f64)) -> egui::Pos2 {
        let (min, ppp, view) = (self.rect.min, self.ppp, *view);
        move |(x, y)| {
            let (sx, sy) = view.to_screen((x, y));
            min + egui::vec2((sx / ppp) as f32, (sy / ppp) as f32)
        }
    }
}

impl App {
    pub(crate) fn viewer(&mut self, ui: &mut egui::Ui) {
        if self.blink.active {
            return self.blink_viewer(ui);
        }
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
        let a = self.area(ui, (nx, ny));
        let l = self.image.as_ref().expect("checked above");
        let painter = ui.painter_at(a.rect);
        draw_tiles(&painter, &a.view, a.ppp, &self.textures, ny);
        if let Some((x, y, step, t)) = &self.preview {
            draw_tile(&painter, &a.view, a.ppp, (*x, *y, *step, t), ny);
        }
        let on_screen = a.on_screen(&a.view);
        if self.prefs.show_sections {
            draw_sections(&painter, &l.sections, &on_screen);
        }
        draw_sections(&painter, &self.calibrate_sections((nx, ny)), &on_screen);
        if self
            .measuring
            .reference
            .as_ref()
            .is_some_and(|r| r.0 == l.name)
        {
            self.draw_canvas(&painter, (nx, ny), &on_screen);
        }
        let zoom = a.view.zoom / a.ppp;
        draw_markers(&painter, &self.markers_on(&l.name), zoom, &on_screen);
        if let Some(c) = a.cursor.filter(|_| self.prefs.show_magnifier) {
            magnifier(ui, a.rect, &a.view, c, a.ppp, &self.textures, ny);
        }
        self.hover = a
            .cursor
            .and_then(|c| a.view.pixel_at(c, (nx, ny)))
            .map(|(x, y)| (x, y, l.frame.data[[y, x]]));
        if let Some(c) = a
            .cursor
            .filter(|_| a.response.clicked() && self.measuring.on)
        {
            // view coordinates put pixel centres at +0.5, centroids at whole numbers
            let (x, y) = a.view.to_image(c);
            self.pick_star(x - 0.5, y - 0.5);
        }
        if let Some((x, y, _)) = self.hover.filter(|_| a.response.clicked()) {
            self.inspect_click((x, y), &ui.ctx().clone());
        }
        self.draw_region(ui, &a, (nx, ny), &painter);
    }

    /// The blinking frame, shifted by its offset when registered; the reference frame's markers
    /// and, registered, the canvas all frames cover.
    fn blink_viewer(&mut self, ui: &mut egui::Ui) {
        let Some(size) = self.blink.frames.first().map(|f| f.size) else {
            ui.label("loading ...");
            return;
        };
        let a = self.area(ui, size);
        self.hover = None;
        let painter = ui.painter_at(a.rect);
        let Some(f) = self.blink.frame() else { return };
        let shifted = self.blink_view(&a.view);
        let turned = self.blink_transform();
        match &f.textures {
            Ok(t) => match turned {
                Some(to_reference) => {
                    draw_tiles_through(&painter, &a.view, a.ppp, t, f.size.1, &to_reference)
                }
                None => draw_tiles(&painter, &shifted, a.ppp, t, f.size.1),
            },
            Err(e) => {
                painter.text(
                    a.rect.center(),
                    egui::Align2::CENTER_CENTER,
                    format!("{}: {e}", f.file),
                    egui::FontId::proportional(14.0),
                    egui::Color32::LIGHT_RED,
                );
            }
        }
        let on_screen = a.on_screen(&a.view);
        let registered = self.prefs.blink_registered && !self.measuring.offsets.is_empty();
        let markers_of = match (&self.measuring.reference, registered) {
            (Some((file, _)), true) => {
                self.draw_canvas(&painter, size, &on_screen);
                file.clone()
            }
            _ => f.file.clone(),
        };
        let zoom = a.view.zoom / a.ppp;
        draw_markers(&painter, &self.markers_on(&markers_of), zoom, &on_screen);
    }

    /// While a calibration region is being drawn: the drag's rectangle, and its section on release.
    fn draw_region(
        &mut self,
        ui: &egui::Ui,
        a: &Area,
        size: (usize, usize),
        painter: &egui::Painter,
    ) {
        let Some(region) = self.reduce.drawing else {
            return;
        };
        let response = &a.response;
        let pixel = self.hover.map(|(x, y, _)| (x, y));
        if response.drag_started() {
            // the drag begins where the button went down, not where it passed the drag threshold
            let origin = ui.input(|i| i.pointer.press_origin());
            self.reduce.drag_from = origin.and_then(|p| {
                let screen = (
                    (p.x - a.rect.min.x) as f64 * a.ppp,
                    (p.y - a.rect.min.y) as f64 * a.ppp,
                );
                a.view.pixel_at(screen, size)
            });
        }
        let on_screen = a.on_screen(&a.view);
        let (Some(a), Some(b)) = (self.reduce.drag_from, pixel) else {
            return;
        };
        let corner = |x: usize, y: usize| on_screen((x as f64, y as f64));
        let rect = egui::Rect::from_two_pos(
            corner(a.0.min(b.0), a.1.min(b.1)),
            corner(a.0.max(b.0) + 1, a.1.max(b.1) + 1),
        );
        let stroke = egui::Stroke::new(1.5, egui::Color32::YELLOW);
        painter.rect_stroke(rect, 0.0, stroke, egui::StrokeKind::Middle);
        if response.drag_stopped() {
            self.set_region(region, a, b);
            self.reduce.drag_from = None;
        }
    }

    /// Lay out the viewer for an image of `size` (nx, ny); zoom and pan with the mouse and keys.
    fn area(&mut self, ui: &mut egui::Ui, size: (usize, usize)) -> Area {
        let (rect, response) =
            ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
        // the view counts physical screen pixels, so 1:1 is one image pixel per device pixel
        let ppp = ui.ctx().pixels_per_point() as f64;
        let viewport = (rect.width() as f64 * ppp, rect.height() as f64 * ppp);
        let mut view = self.view.unwrap_or_else(|| View::fit(size, viewport));
        view.resize(viewport, size);
        let cursor = response.hover_pos().map(|p| {
            (
                (p.x - rect.min.x) as f64 * ppp,
                (p.y - rect.min.y) as f64 * ppp,
            )
        });
        // a drag pans, unless it draws a calibration region
        let pan = self.reduce.drawing.is_none();
        steer(&mut view, ui, &response, cursor, size, pan);
        self.view = Some(view);
        self.viewer_rect = Some(rect);
        Area {
            rect,
            response,
            view,
            cursor,
            ppp,
        }
    }

    /// The outline of the canvas the registered frames cover together, in the reference frame's
    /// coordinates (frames of `size`, each moved back by its offset).
    fn draw_canvas(
        &self,
        painter: &egui::Painter,
        size: (usize, usize),
        on_screen: &impl Fn((f64, f64)) -> egui::Pos2,
    ) {
        let (nx, ny) = (size.0 as f64, size.1 as f64);
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        // each frame's corners (image coordinates: pixel centres at +0.5) mapped onto the reference
        for o in self.measuring.measured_offsets() {
            let Some(back) = o.transform.inverse() else {
                continue;
            };
            for (cx, cy) in [(0.0, 0.0), (nx, 0.0), (0.0, ny), (nx, ny)] {
                let (rx, ry) = back.apply(cx - 0.5, cy - 0.5);
                (x0, x1) = (x0.min(rx + 0.5), x1.max(rx + 0.5));
                (y0, y1) = (y0.min(ry + 0.5), y1.max(ry + 0.5));
            }
        }
        if !x0.is_finite() {
            return;
        }
        let colour = egui::Color32::from_rgb(255, 230, 80);
        let r = egui::Rect::from_two_pos(on_screen((x0, y0)), on_screen((x1, y1)));
        painter.rect_stroke(
            r,
            0.0,
            egui::Stroke::new(1.0, colour),
            egui::StrokeKind::Middle,
        );
        painter.text(
            r.left_bottom() + egui::vec2(3.0, -2.0),
            egui::Align2::LEFT_BOTTOM,
            "canvas",
            egui::FontId::proportional(12.0),
            colour,
        );
    }
}

/// Draw the tiles through `view` into the painter's clip rect (`ppp` device pixels per point).
fn draw_tiles(
    painter: &egui::Painter,
    view: &View,
    ppp: f64,
    textures: &[(usize, usize, egui::TextureHandle)],
    ny: usize,
) {
    for (x, y, tex) in textures {
        draw_tile(painter, view, ppp, (*x, *y, 1, tex), ny);
    }
}

/// Tiles of a frame drawn onto the reference frame's grid through `to_reference` (the frame's
/// 0-based pixel to the reference's): rotated, scaled or mirrored as the frame is against it. An
/// affine map keeps straight lines straight, so each tile is one textured quad.
fn draw_tiles_through(
    painter: &egui::Painter,
    view: &View,
    ppp: f64,
    textures: &[(usize, usize, egui::TextureHandle)],
    ny: usize,
    to_reference: &crate::register::transform::Affine,
) {
    let origin = painter.clip_rect().min;
    // image coordinates put pixel centres at +0.5
    let at = |x: f64, y: f64| {
        let (rx, ry) = to_reference.apply(x - 0.5, y - 0.5);
        let (sx, sy) = view.to_screen((rx + 0.5, ry + 0.5));
        origin + egui::vec2((sx / ppp) as f32, (sy / ppp) as f32)
    };
    for (x, y, tex) in textures {
        let [w, h] = tex.size();
        let (x, top) = (*x as f64, (ny - y) as f64);
        let (w, h) = (w as f64, h as f64);
        let mut mesh = egui::Mesh::with_texture(tex.id());
        for (px, py, u, v) in [
            (x, top, 0.0, 0.0),
            (x + w, top, 1.0, 0.0),
            (x + w, top - h, 1.0, 1.0),
            (x, top - h, 0.0, 1.0),
        ] {
            mesh.vertices.push(egui::epaint::Vertex {
                pos: at(px, py),
                uv: egui::pos2(u, v),
                color: egui::Color32::WHITE,
            });
        }
        mesh.add_triangle(0, 1, 2);
        mesh.add_triangle(0, 2, 3);
        painter.add(egui::Shape::mesh(mesh));
    }
}

/// One texture whose top-left texel is pixel (x, display row y), each texel `step` x `step` pixels.
fn draw_tile(
    painter: &egui::Painter,
    view: &View,
    ppp: f64,
    (x, y, step, tex): (usize, usize, usize, &egui::TextureHandle),
    ny: usize,
) {
    let origin = painter.clip_rect().min;
    // corners on whole device pixels: at whole zooms every texel then covers whole pixels, never
    // sampled on its edge (where rounding would double some columns and drop others)
    let at = |x: f64, y: f64| {
        let (sx, sy) = view.to_screen((x, y));
        origin + egui::vec2((sx.round() / ppp) as f32, (sy.round() / ppp) as f32)
    };
    let [w, h] = tex.size();
    let (w, h) = ((w * step) as f64, (h * step) as f64);
    // tile rows are top-down from display row `y`: FITS rows ny - y - h .. ny - y
    let top = (ny - y) as f64;
    painter.image(
        tex.id(),
        egui::Rect::from_two_pos(at(x as f64, top), at(x as f64 + w, top - h)),
        egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        egui::Color32::WHITE,
    );
}

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

/// Mouse wheel zooms about the cursor, dragging pans; keys: F fit, 1 one-to-one, + and - zoom.
fn steer(
    view: &mut View,
    ui: &egui::Ui,
    response: &egui::Response,
    cursor: Option<(f64, f64)>,
    size: (usize, usize),
    pan: bool,
) {
    if pan && response.dragged() {
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

/// BIASSEC and TRIMSEC as labelled rectangles.
fn draw_sections(
    painter: &egui::Painter,
    sections: &[(&str, crate::fits::section::PixelBox)],
    on_screen: &impl Fn((f64, f64)) -> egui::Pos2,
) {
    for (name, b) in sections {
        let colour = if *name == "BIASSEC" || name.starts_with("overscan") {
            egui::Color32::from_rgb(255, 170, 60)
        } else {
            egui::Color32::from_rgb(90, 200, 255)
        };
        let (x0, x1, y0, y1) = (
            b.x.start as f64,
            b.x.end as f64,
            b.y.start as f64,
            b.y.end as f64,
        );
        let r = egui::Rect::from_two_pos(on_screen((x0, y0)), on_screen((x1, y1)));
        painter.rect_stroke(
            r,
            0.0,
            egui::Stroke::new(1.5, colour),
            egui::StrokeKind::Middle,
        );
        painter.text(
            r.left_top() + egui::vec2(3.0, 2.0),
            egui::Align2::LEFT_TOP,
            name,
            egui::FontId::proportional(12.0),
            colour,
        );
    }
}

/// A star's marker on a frame: where, how wide, its id, and whether it was picked there (else it
/// is carried from the reference frame through the frame's offset).
pub struct Marker {
    pub at: (f64, f64),
    pub fwhm: f64,
    pub id: usize,
    pub reference: bool,
    pub picked_here: bool,
}

impl App {
    /// The markers on `file`: the stars picked on it, and those of the offsets' reference frame
    /// mapped through `file`'s measured offset.
    pub fn markers_on(&self, file: &str) -> Vec<Marker> {
        let m = &self.measuring;
        let reference = m.reference.as_ref().map(|r| r.0.as_str());
        let offset = m
            .offsets
            .iter()
            .find(|r| r.file == file)
            .and_then(|r| r.current());
        m.stars
            .iter()
            .filter_map(|s| {
                let c = &s.centroid;
                let at = if s.file == file {
                    (c.x, c.y)
                } else if Some(s.file.as_str()) == reference {
                    offset.as_ref()?.transform.apply(c.x, c.y)
                } else {
                    return None;
                };
                Some(Marker {
                    at,
                    fwhm: if c.fwhm.is_finite() { c.fwhm } else { 3.0 },
                    id: s.id,
                    reference: s.reference,
                    picked_here: s.file == file,
                })
            })
            .collect()
    }
}

/// Circles with ids around the markers (`zoom`: points per image pixel); a marker carried through
/// an offset is drawn thinner.
fn draw_markers(
    painter: &egui::Painter,
    markers: &[Marker],
    zoom: f64,
    on_screen: &impl Fn((f64, f64)) -> egui::Pos2,
) {
    for m in markers {
        let at = on_screen((m.at.0 + 0.5, m.at.1 + 0.5));
        let radius = ((1.5 * m.fwhm * zoom) as f32).max(6.0);
        let colour = if m.reference {
            egui::Color32::from_rgb(255, 80, 80)
        } else {
            egui::Color32::from_rgb(80, 255, 120)
        };
        let width = if m.picked_here { 1.5 } else { 1.0 };
        painter.circle_stroke(at, radius, egui::Stroke::new(width, colour));
        painter.text(
            at + egui::vec2(radius * 0.75, -radius * 0.75),
            egui::Align2::LEFT_BOTTOM,
            m.id.to_string(),
            egui::FontId::proportional(13.0),
            colour,
        );
    }
}
