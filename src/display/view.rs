//! View: where the image sits on the screen — zoom (screen pixels per image pixel) and the image
//! point at the viewport's centre — and the mapping both ways, GUI-free so it can be tested exactly.
//!
//! Image coordinates are continuous and 0-based with y up (FITS orientation): pixel (x, y) covers
//! [x, x+1) x [y, y+1), so the FITS 1-based pixel centre (X, Y) is at (X - 0.5, Y - 0.5). Screen
//! coordinates have y down, relative to the viewport's top-left corner.

/// The smallest and largest zoom factors offered (1/64 shows 16k pixels in 256; 64 shows 16 pixels
/// in 1024).
pub const ZOOM_RANGE: (f64, f64) = (1.0 / 64.0, 64.0);

/// How an image of `size` (nx, ny) is shown in a viewport of `viewport` (width, height) pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub zoom: f64,
    /// The image point (x, y) at the viewport's centre.
    pub center: (f64, f64),
    pub viewport: (f64, f64),
    /// Still as `fit` made it: a new viewport size fits the image again.
    pub fitting: bool,
}

impl View {
    /// The whole image, as large as fits, centred.
    pub fn fit(size: (usize, usize), viewport: (f64, f64)) -> View {
        let (nx, ny) = (size.0.max(1) as f64, size.1.max(1) as f64);
        View {
            zoom: clamp_zoom((viewport.0 / nx).min(viewport.1 / ny)),
            center: (nx / 2.0, ny / 2.0),
            viewport,
            fitting: true,
        }
    }

    /// Image point to screen point.
    pub fn to_screen(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.viewport.0 / 2.0 + (x - self.center.0) * self.zoom,
            self.viewport.1 / 2.0 - (y - self.center.1) * self.zoom,
        )
    }

    /// Screen point to image point.
    pub fn to_image(&self, (sx, sy): (f64, f64)) -> (f64, f64) {
        (
            self.center.0 + (sx - self.viewport.0 / 2.0) / self.zoom,
            self.center.1 - (sy - self.viewport.1 / 2.0) / self.zoom,
        )
    }

    /// The 0-based pixel under a screen point, if it lies on an image of `size`.
    pub fn pixel_at(&self, screen: (f64, f64), size: (usize, usize)) -> Option<(usize, usize)> {
        let (x, y) = self.to_image(screen);
        let inside = x >= 0.0 && y >= 0.0 && x < size.0 as f64 && y < size.1 as f64;
        inside.then(|| (x.floor() as usize, y.floor() as usize))
    }

    /// Zoom by `factor` keeping the image point under `screen` where it is (the mouse wheel).
    pub fn zoom_about(&mut self, factor: f64, screen: (f64, f64)) {
        self.fitting = false;
        let fixed = self.to_image(screen);
        self.zoom = clamp_zoom(self.zoom * factor);
        let moved = self.to_image(screen);
        self.center.0 += fixed.0 - moved.0;
        self.center.1 += fixed.1 - moved.1;
    }

    /// Set the zoom keeping the centre (1:1, 2:1, ...).
    pub fn set_zoom(&mut self, zoom: f64) {
        self.fitting = false;
        self.zoom = clamp_zoom(zoom);
    }

    /// Move the image with the mouse by a screen offset (a drag).
    pub fn pan(&mut self, (dx, dy): (f64, f64)) {
        self.fitting = false;
        self.center.0 -= dx / self.zoom;
        self.center.1 += dy / self.zoom;
    }

    /// A new viewport size for an image of `size`: fitted again if the view was fitted and not
    /// zoomed or panned since, otherwise keeping the centre and the zoom.
    pub fn resize(&mut self, viewport: (f64, f64), size: (usize, usize)) {
        if self.fitting {
            *self = View::fit(size, viewport);
        } else {
            self.viewport = viewport;
        }
    }

    /// A magnifier: a `viewport` centred on the image point under `screen`, at `zoom`.
    pub fn inset(&self, screen: (f64, f64), viewport: (f64, f64), zoom: f64) -> View {
        View {
            zoom: clamp_zoom(zoom),
            center: self.to_image(screen),
            viewport,
            fitting: false,
        }
    }

    /// The part of an image of `size` (nx, ny) in the viewport, as whole pixels `(x0, y0, x1, y1)`
    /// (0-based, y up, ends exclusive); `None` when none of it is in view.
    pub fn visible(&self, size: (usize, usize)) -> Option<(usize, usize, usize, usize)> {
        let (ax, ay) = self.to_image((0.0, self.viewport.1));
        let (bx, by) = self.to_image((self.viewport.0, 0.0));
        let clip = |v: f64, n: usize| v.clamp(0.0, n as f64);
        let (x0, x1) = (clip(ax, size.0).floor(), clip(bx, size.0).ceil());
        let (y0, y1) = (clip(ay, size.1).floor(), clip(by, size.1).ceil());
        (x1 > x0 && y1 > y0).then_some((x0 as usize, y0 as usize, x1 as usize, y1 as usize))
    }

    /// The zoom as a ratio for the status line: "1:1", "4:1", "1:8", "0.37".
    pub fn zoom_text(&self) -> String {
        let z = self.zoom;
        if (z - z.round()).abs() < 1e-9 && z >= 1.0 {
            format!("{}:1", z.round())
        } else if z < 1.0 && (1.0 / z - (1.0 / z).round()).abs() < 1e-9 {
            format!("1:{}", (1.0 / z).round())
        } else {
            format!("{z:.3}")
        }
    }
}

fn clamp_zoom(z: f64) -> f64 {
    if z.is_finite() && z > 0.0 {
        z.clamp(ZOOM_RANGE.0, ZOOM_RANGE.1)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_is_the_part_of_the_image_in_the_viewport() {
        let fitted = View::fit((400, 200), (100.0, 100.0));
        assert_eq!(fitted.visible((400, 200)), Some((0, 0, 400, 200)));
        // 1:1 on the centre: 100x100 pixels around (200, 100)
        let mut one = fitted;
        one.set_zoom(1.0);
        assert_eq!(one.visible((400, 200)), Some((150, 50, 250, 150)));
        // dragged right: the image's left edge moves into the middle, then out of view
        one.pan((150.0, 0.0));
        assert_eq!(one.visible((400, 200)), Some((0, 50, 100, 150)));
        one.pan((1000.0, 0.0));
        assert_eq!(one.visible((400, 200)), None);
    }

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    #[test]
    fn fit_shows_the_whole_image_centred() {
        let v = View::fit((400, 200), (800.0, 800.0));
        assert_eq!(v.zoom, 2.0);
        // the image's corners land on the viewport's edges, y flipped
        assert!(close(v.to_screen((0.0, 0.0)), (0.0, 600.0)));
        assert!(close(v.to_screen((400.0, 200.0)), (800.0, 200.0)));
    }

    #[test]
    fn a_fitted_view_refits_when_the_window_changes_a_zoomed_one_stays() {
        let mut v = View::fit((400, 200), (800.0, 800.0));
        v.resize((400.0, 400.0), (400, 200));
        assert_eq!(v.zoom, 1.0);
        v.set_zoom(3.0);
        v.resize((800.0, 800.0), (400, 200));
        assert_eq!((v.zoom, v.viewport), (3.0, (800.0, 800.0)));
    }

    #[test]
    fn the_magnifier_centres_the_point_under_the_cursor() {
        let mut v = View::fit((300, 200), (600.0, 400.0));
        v.pan((13.0, -7.0));
        let cursor = (250.0, 120.0);
        let m = v.inset(cursor, (160.0, 160.0), 8.0);
        assert!(close(m.to_screen(v.to_image(cursor)), (80.0, 80.0)));
        // a neighbouring image pixel is 8 screen pixels away in the inset
        let (x, y) = v.to_image(cursor);
        assert!(close(m.to_screen((x + 1.0, y)), (88.0, 80.0)));
        assert_eq!(
            m.pixel_at((80.0, 80.0), (300, 200)),
            v.pixel_at(cursor, (300, 200))
        );
    }

    #[test]
    fn screen_and_image_round_trip() {
        let mut v = View::fit((4096, 4096), (1000.0, 700.0));
        v.zoom_about(3.7, (123.0, 456.0));
        v.pan((-40.0, 17.0));
        for p in [(0.0, 0.0), (12.25, 4000.5), (-3.0, 9.0)] {
            assert!(close(v.to_image(v.to_screen(p)), p));
        }
    }

    #[test]
    fn zooming_keeps_the_point_under_the_cursor() {
        let mut v = View::fit((100, 100), (500.0, 500.0));
        let cursor = (410.0, 77.0);
        let before = v.to_image(cursor);
        v.zoom_about(1.25, cursor);
        assert!(close(v.to_image(cursor), before));
        v.zoom_about(1.0e9, cursor); // clamped
        assert_eq!(v.zoom, ZOOM_RANGE.1);
        assert!(close(v.to_image(cursor), before));
    }

    #[test]
    fn pixels_under_the_cursor_are_fits_oriented() {
        let v = View::fit((10, 10), (100.0, 100.0));
        // top-left of the screen is the image's top row: y = 9 (FITS Y = 10)
        assert_eq!(v.pixel_at((1.0, 1.0), (10, 10)), Some((0, 9)));
        assert_eq!(v.pixel_at((99.0, 99.0), (10, 10)), Some((9, 0)));
        let mut off = v;
        off.pan((500.0, 0.0));
        assert_eq!(off.pixel_at((1.0, 1.0), (10, 10)), None);
    }

    #[test]
    fn dragging_moves_the_image_with_the_mouse() {
        let mut v = View::fit((100, 100), (200.0, 200.0));
        let p = (30.0, 40.0);
        let s = v.to_screen(p);
        v.pan((15.0, -5.0));
        assert!(close(v.to_screen(p), (s.0 + 15.0, s.1 - 5.0)));
    }

    #[test]
    fn zoom_ratios_read_as_astronomers_write_them() {
        let mut v = View::fit((100, 100), (100.0, 100.0));
        assert_eq!(v.zoom_text(), "1:1");
        v.set_zoom(4.0);
        assert_eq!(v.zoom_text(), "4:1");
        v.set_zoom(0.125);
        assert_eq!(v.zoom_text(), "1:8");
        v.set_zoom(0.37);
        assert_eq!(v.zoom_text(), "0.370");
    }
}
