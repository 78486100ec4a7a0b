//! Shifting frames onto a common canvas: integer shifts (no resampling), bilinear, or Lanczos-3;
//! the canvas is the union, the reference frame or the intersection of the frames' footprints.
//! Pixels a frame does not cover are NaN, never a fake value.

use super::offsets::Offset;
use crate::combine::StackInput;
use crate::error::{Error, Result};
use crate::fits::{Header, Value};
use ndarray::Array2;
use std::ops::Range;
use std::path::Path;

/// How a frame is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftMode {
    /// Offsets rounded to whole pixels; values copied, never interpolated.
    Integer,
    Bilinear,
    Lanczos3,
}

impl std::str::FromStr for ShiftMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "integer" => ShiftMode::Integer,
            "bilinear" => ShiftMode::Bilinear,
            "lanczos3" => ShiftMode::Lanczos3,
            _ => {
                return Err(Error::Invalid(format!(
                    "shift {s:?}: expected integer, bilinear or lanczos3"
                )));
            }
        })
    }
}

/// Which part of the sky the output covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanvasKind {
    Union,
    Reference,
    Intersection,
}

impl std::str::FromStr for CanvasKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "union" => CanvasKind::Union,
            "reference" => CanvasKind::Reference,
            "intersection" => CanvasKind::Intersection,
            _ => {
                return Err(Error::Invalid(format!(
                    "canvas {s:?}: expected union, reference or intersection"
                )));
            }
        })
    }
}

/// The output grid: canvas pixel (X, Y) is reference-frame pixel (X + x0, Y + y0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canvas {
    pub x0: i64,
    pub y0: i64,
    pub nx: usize,
    pub ny: usize,
}

/// The offsets a shift mode actually applies (integer mode rounds them).
pub fn applied(o: &Offset, mode: ShiftMode) -> (f64, f64) {
    match mode {
        ShiftMode::Integer => (o.dx.round(), o.dy.round()),
        _ => (o.dx, o.dy),
    }
}

impl Canvas {
    /// The canvas for frames of `nx` x `ny` with these offsets. A frame covers reference pixel X
    /// when X + dx lies in its footprint -0.5 <= x < nx - 0.5.
    pub fn new(
        kind: CanvasKind,
        nx: usize,
        ny: usize,
        offsets: &[Offset],
        mode: ShiftMode,
    ) -> Result<Canvas> {
        let shifts: Vec<(f64, f64)> = offsets.iter().map(|o| applied(o, mode)).collect();
        // reference pixels X covered by a frame: ceil(-0.5 - dx) ..= ceil(nx - 0.5 - dx) - 1
        let lo = |d: f64| (-0.5 - d).ceil() as i64;
        let hi = |n: usize, d: f64| (n as f64 - 0.5 - d).ceil() as i64; // exclusive
        let (x0, x1, y0, y1) = match kind {
            CanvasKind::Reference => (0, nx as i64, 0, ny as i64),
            CanvasKind::Union => (
                shifts.iter().map(|s| lo(s.0)).min().unwrap_or(0),
                shifts
                    .iter()
                    .map(|s| hi(nx, s.0))
                    .max()
                    .unwrap_or(nx as i64),
                shifts.iter().map(|s| lo(s.1)).min().unwrap_or(0),
                shifts
                    .iter()
                    .map(|s| hi(ny, s.1))
                    .max()
                    .unwrap_or(ny as i64),
            ),
            CanvasKind::Intersection => (
                shifts.iter().map(|s| lo(s.0)).max().unwrap_or(0),
                shifts
                    .iter()
                    .map(|s| hi(nx, s.0))
                    .min()
                    .unwrap_or(nx as i64),
                shifts.iter().map(|s| lo(s.1)).max().unwrap_or(0),
                shifts
                    .iter()
                    .map(|s| hi(ny, s.1))
                    .min()
                    .unwrap_or(ny as i64),
            ),
        };
        if x1 <= x0 || y1 <= y0 {
            return Err(Error::Invalid(
                "the frames do not overlap: their intersection is empty".into(),
            ));
        }
        Ok(Canvas {
            x0,
            y0,
            nx: (x1 - x0) as usize,
            ny: (y1 - y0) as usize,
        })
    }
}

fn lanczos3(t: f64) -> f64 {
    if t == 0.0 {
        return 1.0;
    }
    if t.abs() >= 3.0 {
        return 0.0;
    }
    let pt = std::f64::consts::PI * t;
    3.0 * pt.sin() * (pt / 3.0).sin() / (pt * pt)
}

/// A frame's sky, in its own pixel coordinates.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum SkyModel {
    /// One level.
    Constant(f64),
    /// A polynomial in x and y (scaled to -1..1 over the frame): terms x^i y^j with i + j <= order,
    /// in the order (0,0), (1,0), (0,1), (2,0), (1,1), (0,2), ...
    Surface {
        order: usize,
        coefficients: Vec<f64>,
        nx: usize,
        ny: usize,
    },
    /// One surface per quadrant (lower-left, lower-right, upper-left, upper-right), as frames read
    /// through four amplifiers need: a pixel takes the surface of the quadrant it lies in.
    Quadrants {
        surfaces: Vec<SkyModel>,
        nx: usize,
        ny: usize,
    },
}

/// The exponents (i, j) of the terms of a surface of `order`.
pub fn surface_terms(order: usize) -> Vec<(i32, i32)> {
    (0..=order as i32)
        .flat_map(|d| (0..=d).map(move |j| (d - j, j)))
        .collect()
}

impl SkyModel {
    /// The sky at source pixel (x, y).
    pub fn at(&self, x: f64, y: f64) -> f64 {
        match self {
            SkyModel::Quadrants { surfaces, nx, ny } => {
                let q = (x >= *nx as f64 / 2.0 - 0.5) as usize
                    + 2 * (y >= *ny as f64 / 2.0 - 0.5) as usize;
                surfaces[q].at(x, y)
            }
            SkyModel::Constant(v) => *v,
            SkyModel::Surface {
                order,
                coefficients,
                nx,
                ny,
            } => {
                let (u, v) = (
                    2.0 * x / (*nx as f64 - 1.0).max(1.0) - 1.0,
                    2.0 * y / (*ny as f64 - 1.0).max(1.0) - 1.0,
                );
                surface_terms(*order)
                    .iter()
                    .zip(coefficients)
                    .map(|((i, j), c)| c * u.powi(*i) * v.powi(*j))
                    .sum()
            }
        }
    }
}

/// A frame seen on the canvas: shifted, resampled, and with its sky subtracted.
pub struct ShiftedInput<'a> {
    pub source: &'a dyn StackInput,
    pub dx: f64,
    pub dy: f64,
    pub mode: ShiftMode,
    pub canvas: Canvas,
    /// Subtracted from every value.
    pub sky: SkyModel,
    header: Header,
}

impl<'a> ShiftedInput<'a> {
    pub fn new(
        source: &'a dyn StackInput,
        offset: &Offset,
        mode: ShiftMode,
        canvas: Canvas,
        sky: SkyModel,
    ) -> ShiftedInput<'a> {
        let (dx, dy) = applied(offset, mode);
        let mut header = source.header().clone();
        header.set(
            "SHIFTX",
            Value::Float(dx),
            "x offset of this frame (frame - reference), px",
        );
        header.set(
            "SHIFTY",
            Value::Float(dy),
            "y offset of this frame (frame - reference), px",
        );
        ShiftedInput {
            source,
            dx,
            dy,
            mode,
            canvas,
            sky,
            header,
        }
    }

    /// Sample the source at (x, y) in its own pixels, from `band` which holds source rows `rows0..`.
    fn sample(&self, band: &Array2<f32>, rows0: usize, x: f64, y: f64) -> f32 {
        let (sny, snx) = self.source.shape();
        // outside the footprint: not covered
        if x < -0.5 || y < -0.5 || x >= snx as f64 - 0.5 || y >= sny as f64 - 0.5 {
            return f32::NAN;
        }
        // inside the footprint, taps beyond the pixel centres repeat the edge pixel
        let (xc, yc) = (
            x.clamp(0.0, (snx - 1) as f64),
            y.clamp(0.0, (sny - 1) as f64),
        );
        let at = |ix: i64, iy: i64| -> f64 {
            let ix = ix.clamp(0, snx as i64 - 1) as usize;
            let iy = (iy.clamp(0, sny as i64 - 1) as usize).clamp(rows0, rows0 + band.nrows() - 1);
            band[[iy - rows0, ix]] as f64
        };
        let v = match self.mode {
            ShiftMode::Integer => at(xc.round() as i64, yc.round() as i64),
            ShiftMode::Bilinear => {
                let (fx, fy) = (xc.floor(), yc.floor());
                let (tx, ty) = (xc - fx, yc - fy);
                let (ix, iy) = (fx as i64, fy as i64);
                (at(ix, iy) * (1.0 - tx) + at(ix + 1, iy) * tx) * (1.0 - ty)
                    + (at(ix, iy + 1) * (1.0 - tx) + at(ix + 1, iy + 1) * tx) * ty
            }
            ShiftMode::Lanczos3 => {
                let (fx, fy) = (xc.floor() as i64, yc.floor() as i64);
                let (mut sum, mut wsum) = (0.0, 0.0);
                for j in fy - 2..=fy + 3 {
                    let wy = lanczos3(yc - j as f64);
                    for i in fx - 2..=fx + 3 {
                        let w = wy * lanczos3(xc - i as f64);
                        sum += w * at(i, j);
                        wsum += w;
                    }
                }
                sum / wsum
            }
        };
        (v - self.sky.at(x, y)) as f32
    }
}

impl StackInput for ShiftedInput<'_> {
    fn name(&self) -> String {
        self.source.name()
    }
    fn shape(&self) -> (usize, usize) {
        (self.canvas.ny, self.canvas.nx)
    }
    fn header(&self) -> &Header {
        &self.header
    }
    fn path(&self) -> Option<&Path> {
        self.source.path()
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        let (sny, _) = self.source.shape();
        let c = &self.canvas;
        let mut out = Array2::<f32>::from_elem((rows.len(), c.nx), f32::NAN);
        // source rows this band needs, with the interpolation margin
        let ys = |y: usize| y as f64 + c.y0 as f64 + self.dy;
        let (lo, hi) = (
            ys(rows.start).floor() as i64 - 3,
            ys(rows.end.saturating_sub(1)).ceil() as i64 + 4,
        );
        let (lo, hi) = (
            lo.clamp(0, sny as i64) as usize,
            hi.clamp(0, sny as i64) as usize,
        );
        if lo >= hi {
            return Ok(out);
        }
        let band = self.source.read_rows(lo..hi)?;
        for (k, mut row) in out.rows_mut().into_iter().enumerate() {
            let y = ys(rows.start + k);
            for (x, v) in row.iter_mut().enumerate() {
                *v = self.sample(&band, lo, x as f64 + c.x0 as f64 + self.dx, y);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combine::MemoryInput;

    fn offset(dx: f64, dy: f64) -> Offset {
        Offset {
            file: "f".into(),
            dx,
            dy,
            n_stars: 0,
        }
    }

    #[test]
    fn canvases_cover_what_they_say() {
        let o = [offset(0.0, 0.0), offset(2.4, -1.6)];
        let u = Canvas::new(CanvasKind::Union, 10, 8, &o, ShiftMode::Integer).unwrap();
        assert_eq!(
            (u.x0, u.y0, u.nx, u.ny),
            (-2, 0, 12, 10),
            "integer shift (2, -2): union widens by 2 each way"
        );
        let r = Canvas::new(CanvasKind::Reference, 10, 8, &o, ShiftMode::Bilinear).unwrap();
        assert_eq!((r.x0, r.y0, r.nx, r.ny), (0, 0, 10, 8));
        let i = Canvas::new(CanvasKind::Intersection, 10, 8, &o, ShiftMode::Integer).unwrap();
        assert_eq!((i.x0, i.y0, i.nx, i.ny), (0, 2, 8, 6));
        assert!(
            Canvas::new(
                CanvasKind::Intersection,
                10,
                8,
                &[offset(0.0, 0.0), offset(20.0, 0.0)],
                ShiftMode::Integer
            )
            .is_err()
        );
    }

    #[test]
    fn integer_shifts_copy_and_interpolations_reproduce_smooth_images() {
        let ramp = ndarray::Array2::from_shape_fn((20, 20), |(y, x)| x as f32 + 2.0 * y as f32);
        let src = MemoryInput {
            name: "ramp".into(),
            data: ramp.clone(),
            header: Header::default(),
        };
        let o = offset(2.4, -1.6);
        // Lanczos-3 reproduces a linear ramp to a few hundredths (its normalised weights are not exactly linear)
        for (mode, tol) in [
            (ShiftMode::Integer, 0.0),
            (ShiftMode::Bilinear, 1e-4),
            (ShiftMode::Lanczos3, 0.05),
        ] {
            let canvas = Canvas::new(
                CanvasKind::Union,
                20,
                20,
                &[offset(0.0, 0.0), o.clone()],
                mode,
            )
            .unwrap();
            let s = ShiftedInput::new(&src, &o, mode, canvas, SkyModel::Constant(0.0));
            let out = s.read_rows(0..canvas.ny).unwrap();
            let (dx, dy) = applied(&o, mode);
            for ((y, x), v) in out.indexed_iter() {
                let (fx, fy) = (
                    x as f64 + canvas.x0 as f64 + dx,
                    y as f64 + canvas.y0 as f64 + dy,
                );
                let covered = fx >= -0.5 && fy >= -0.5 && fx < 19.5 && fy < 19.5;
                assert_eq!(v.is_nan(), !covered, "{mode:?} ({x}, {y})");
                // away from the edges (where taps repeat the edge pixel) the ramp comes out exactly
                if fx >= 3.0 && fy >= 3.0 && fx <= 16.0 && fy <= 16.0 {
                    assert!(
                        (*v as f64 - (fx + 2.0 * fy)).abs() <= tol,
                        "{mode:?} at ({fx}, {fy}): {v}"
                    );
                }
            }
        }
    }
}
