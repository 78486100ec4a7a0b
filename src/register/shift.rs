//! Shifting frames onto a common canvas: integer shifts (no resampling), bilinear, or Lanczos-3;
//! the canvas is the union, the reference frame or the intersection of the frames' footprints.
//! Pixels a frame does not cover are NaN, never a fake value.

use super::offsets::Offset;
use super::transform::{Affine, corners};
use crate::combine::StackInput;
use crate::error::{Error, Result};
use crate::fits::{Header, Value};
use ndarray::{Array2, Axis};
use rayon::prelude::*;
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

/// The transform a shift mode actually applies: integer mode rounds the shift at the reference
/// frame's centre (and refuses a frame that rotates or scales); the others apply the whole map.
pub fn applied(o: &Offset, mode: ShiftMode) -> Affine {
    match mode {
        ShiftMode::Integer => Affine::shift(o.dx.round(), o.dy.round()),
        _ => o.transform,
    }
}

/// A shift that moves no pixel of a frame by more than this from the whole transform is applied
/// as that shift (one set of interpolation weights for the frame).
const SHIFT_TOLERANCE_PX: f64 = 0.01;

impl Canvas {
    /// The canvas for these frames: each frame's offset and shape (ny, nx); the first is the
    /// reference. A frame covers reference pixel X when its transform maps X into the frame's
    /// footprint -0.5 <= x < nx - 0.5; the union and intersection are of the bounding boxes of
    /// those footprints on the reference grid.
    pub fn new(
        kind: CanvasKind,
        frames: &[(&Offset, (usize, usize))],
        mode: ShiftMode,
    ) -> Result<Canvas> {
        let (rny, rnx) = frames
            .first()
            .map(|f| f.1)
            .ok_or_else(|| Error::Invalid("no frames to place on a canvas".into()))?;
        let boxes = frames
            .iter()
            .map(|(o, shape)| footprint_box(o, *shape, mode))
            .collect::<Result<Vec<_>>>()?;
        let (x0, x1, y0, y1) = match kind {
            CanvasKind::Reference => (0, rnx as i64, 0, rny as i64),
            CanvasKind::Union => boxes
                .iter()
                .fold((i64::MAX, i64::MIN, i64::MAX, i64::MIN), |a, b| {
                    (a.0.min(b.0), a.1.max(b.1), a.2.min(b.2), a.3.max(b.3))
                }),
            CanvasKind::Intersection => boxes
                .iter()
                .fold((i64::MIN, i64::MAX, i64::MIN, i64::MAX), |a, b| {
                    (a.0.max(b.0), a.1.min(b.1), a.2.max(b.2), a.3.min(b.3))
                }),
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

/// The reference pixels (x0, x1, y0, y1; ends exclusive) whose centres a frame's footprint holds,
/// as the bounding box of its corners mapped back onto the reference grid.
fn footprint_box(
    o: &Offset,
    (ny, nx): (usize, usize),
    mode: ShiftMode,
) -> Result<(i64, i64, i64, i64)> {
    let t = applied(o, mode);
    if mode == ShiftMode::Integer && o.transform.departure_from_shift(nx, ny) > 0.5 {
        return Err(Error::Invalid(format!(
            "{}: rotated {:.3} deg and scaled {:.5} against the reference: integer shifts cannot follow it (use bilinear or lanczos3)",
            o.file,
            o.transform.rotation_deg(),
            o.transform.scale()
        )));
    }
    let back = t
        .inverse()
        .ok_or_else(|| Error::Invalid(format!("{}: its transform cannot be inverted", o.file)))?;
    let pts = corners(nx, ny).map(|(x, y)| back.apply(x, y));
    let lo =
        |f: fn(&(f64, f64)) -> f64| pts.iter().map(f).fold(f64::INFINITY, f64::min).ceil() as i64;
    let hi = |f: fn(&(f64, f64)) -> f64| {
        pts.iter().map(f).fold(f64::NEG_INFINITY, f64::max).ceil() as i64
    };
    Ok((lo(|p| p.0), hi(|p| p.0), lo(|p| p.1), hi(|p| p.1)))
}

/// The Lanczos-3 kernel tabulated at 1/LANCZOS_STEPS of a pixel (12289 entries over 0..=3).
const LANCZOS_STEPS: usize = 4096;

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

fn lanczos_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=3 * LANCZOS_STEPS)
            .map(|k| lanczos3(k as f64 / LANCZOS_STEPS as f64) as f32)
            .collect()
    })
}

/// The six Lanczos-3 weights (normalised) for taps floor(x) - 2 ..= floor(x) + 3 at fraction t.
fn lanczos_weights(t: f64, table: &[f32]) -> [f32; 6] {
    let mut w = [0f32; 6];
    let mut sum = 0f32;
    for (k, wk) in w.iter_mut().enumerate() {
        let d = (t - (k as f64 - 2.0)).abs();
        *wk = table[((d * LANCZOS_STEPS as f64).round() as usize).min(3 * LANCZOS_STEPS)];
        sum += *wk;
    }
    w.iter_mut().for_each(|v| *v /= sum);
    w
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

/// A frame seen on the canvas: moved through its transform, resampled, and with its sky
/// subtracted; a frame whose transform changes the pixel area has its values multiplied by that
/// area ratio, so fluxes are kept.
pub struct ShiftedInput<'a> {
    pub source: &'a dyn StackInput,
    /// Reference-frame pixel to source pixel, as applied.
    pub transform: Affine,
    pub mode: ShiftMode,
    pub canvas: Canvas,
    /// Subtracted from every value.
    pub sky: SkyModel,
    /// The shift the transform is within SHIFT_TOLERANCE_PX of everywhere on the frame, if any.
    pure_shift: Option<(f64, f64)>,
    /// Source pixel area per canvas pixel.
    area: f64,
    header: Header,
}

/// The source rows a band needs and the band itself.
struct Band {
    rows0: usize,
    data: Array2<f32>,
}

impl Band {
    /// The value of source pixel (ix, iy), taps beyond the frame repeating its edge pixels.
    #[inline]
    fn at(&self, ix: i64, iy: i64, snx: usize, sny: usize) -> f32 {
        let ix = ix.clamp(0, snx as i64 - 1) as usize;
        let iy = (iy.clamp(0, sny as i64 - 1) as usize)
            .clamp(self.rows0, self.rows0 + self.data.nrows() - 1);
        self.data[[iy - self.rows0, ix]]
    }
}

impl<'a> ShiftedInput<'a> {
    pub fn new(
        source: &'a dyn StackInput,
        offset: &Offset,
        mode: ShiftMode,
        canvas: Canvas,
        sky: SkyModel,
    ) -> ShiftedInput<'a> {
        let transform = applied(offset, mode);
        let (sny, snx) = source.shape();
        // the departure is measured over the reference-sized region the frame covers
        let pure_shift =
            (transform.departure_from_shift(snx, sny) <= SHIFT_TOLERANCE_PX).then(|| {
                let (cx, cy) = ((snx as f64 - 1.0) / 2.0, (sny as f64 - 1.0) / 2.0);
                transform.shift_at(cx, cy)
            });
        let area = transform.det().abs();
        let mut header = source.header().clone();
        header.set(
            "SHIFTX",
            Value::Float(offset.dx),
            "x offset of this frame (frame - reference), px",
        );
        header.set(
            "SHIFTY",
            Value::Float(offset.dy),
            "y offset of this frame (frame - reference), px",
        );
        ShiftedInput {
            source,
            transform,
            mode,
            canvas,
            sky,
            pure_shift,
            area: if (area - 1.0).abs() < 1e-9 { 1.0 } else { area },
            header,
        }
    }

    /// Reference pixel of canvas pixel (X, Y) mapped into the source.
    fn source_xy(&self, x: usize, y: usize) -> (f64, f64) {
        match self.pure_shift {
            Some((dx, dy)) => (
                x as f64 + self.canvas.x0 as f64 + dx,
                y as f64 + self.canvas.y0 as f64 + dy,
            ),
            None => self.transform.apply(
                x as f64 + self.canvas.x0 as f64,
                y as f64 + self.canvas.y0 as f64,
            ),
        }
    }

    /// Sample the source at (x, y) in its own pixels.
    fn sample(&self, band: &Band, x: f64, y: f64, table: &[f32]) -> f32 {
        let (sny, snx) = self.source.shape();
        // outside the footprint: not covered
        if x < -0.5 || y < -0.5 || x >= snx as f64 - 0.5 || y >= sny as f64 - 0.5 {
            return f32::NAN;
        }
        let at = |ix: i64, iy: i64| band.at(ix, iy, snx, sny);
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i64, fy as i64);
        let v = match self.mode {
            ShiftMode::Integer => at(x.round() as i64, y.round() as i64),
            ShiftMode::Bilinear => {
                let (tx, ty) = ((x - fx) as f32, (y - fy) as f32);
                (at(ix, iy) * (1.0 - tx) + at(ix + 1, iy) * tx) * (1.0 - ty)
                    + (at(ix, iy + 1) * (1.0 - tx) + at(ix + 1, iy + 1) * tx) * ty
            }
            ShiftMode::Lanczos3 => {
                let (wx, wy) = (
                    lanczos_weights(x - fx, table),
                    lanczos_weights(y - fy, table),
                );
                let mut sum = 0f32;
                for (j, wj) in wy.iter().enumerate() {
                    let row: f32 = wx
                        .iter()
                        .enumerate()
                        .map(|(i, wi)| wi * at(ix + i as i64 - 2, iy + j as i64 - 2))
                        .sum();
                    sum += wj * row;
                }
                sum
            }
        };
        ((v as f64 * self.area) - self.sky.at(x, y)) as f32
    }

    /// Source rows a band of canvas rows reads, with the interpolation margin.
    fn source_rows(&self, rows: &Range<usize>) -> Range<usize> {
        let (sny, _) = self.source.shape();
        let last = rows.end.saturating_sub(1);
        let ys = [
            (0, rows.start),
            (self.canvas.nx, rows.start),
            (0, last),
            (self.canvas.nx, last),
        ]
        .map(|(x, y)| self.source_xy(x, y).1);
        let lo = ys.iter().fold(f64::INFINITY, |a, b| a.min(*b)).floor() as i64 - 3;
        let hi = ys.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b)).ceil() as i64 + 4;
        (lo.clamp(0, sny as i64) as usize)..(hi.clamp(0, sny as i64) as usize)
    }

    /// The interpolation's weights at fraction `t` of a pixel (bilinear or Lanczos-3).
    fn taps(&self, t: f64) -> Taps {
        match self.mode {
            ShiftMode::Lanczos3 => Taps {
                first: -2,
                weights: lanczos_weights(t, lanczos_table()).to_vec(),
            },
            _ => Taps {
                first: 0,
                weights: vec![(1.0 - t) as f32, t as f32],
            },
        }
    }

    /// A pure shift through bilinear or Lanczos-3: one set of weights for the frame, rows
    /// filtered across first, then down; only the frame's edges need clamped taps.
    fn separable_shifted(
        &self,
        band: &Band,
        rows: Range<usize>,
        (dx, dy): (f64, f64),
    ) -> Array2<f32> {
        let (sny, snx) = self.source.shape();
        let c = &self.canvas;
        let (fx, fy) = (dx.floor(), dy.floor());
        let (wx, wy) = (self.taps(dx - fx), self.taps(dy - fy));
        let (ox, oy) = (c.x0 + fx as i64, c.y0 + fy as i64);
        // the canvas columns the frame covers: -0.5 <= X + x0 + dx < snx - 0.5
        let covered = |lo: f64, n: usize, d: f64, len: usize| {
            let first = (-0.5 - lo - d).ceil().max(0.0) as usize;
            let end = ((n as f64 - 0.5 - lo - d).ceil().max(0.0) as usize).min(len);
            first..end.max(first)
        };
        let columns = covered(c.x0 as f64, snx, dx, c.nx);
        // across: each band row filtered at every covered canvas column
        let mut across = Array2::<f32>::zeros((band.data.nrows(), c.nx));
        across
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(band.data.axis_iter(Axis(0)).into_par_iter())
            .for_each(|(mut out, src)| {
                let src = src.to_vec();
                filter_row(
                    &src,
                    &wx,
                    ox,
                    columns.clone(),
                    out.as_slice_mut().expect("a fresh row"),
                );
            });
        let last = band.rows0 + band.data.nrows() - 1;
        let rows_covered = covered(c.y0 as f64, sny, dy, c.ny);
        let constant_sky = match self.sky {
            SkyModel::Constant(v) => Some(v),
            _ => None,
        };
        let mut out = Array2::<f32>::from_elem((rows.len(), c.nx), f32::NAN);
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(k, mut row)| {
                let y = rows.start + k;
                if !rows_covered.contains(&y) {
                    return;
                }
                let iy = y as i64 + oy;
                let taps: Vec<_> = (0..wy.weights.len() as i64)
                    .map(|j| {
                        let r = ((iy + j + wy.first).clamp(0, sny as i64 - 1) as usize)
                            .clamp(band.rows0, last);
                        across.row(r - band.rows0)
                    })
                    .collect();
                let row = row.as_slice_mut().expect("a fresh row");
                for x in columns.clone() {
                    let sum: f32 = wy.weights.iter().zip(&taps).map(|(w, t)| w * t[x]).sum();
                    let value = sum as f64 * self.area;
                    row[x] = match constant_sky {
                        Some(level) => (value - level) as f32,
                        None => {
                            let (sx, sy) = self.source_xy(x, y);
                            (value - self.sky.at(sx, sy)) as f32
                        }
                    };
                }
            });
        out
    }
}

/// The weights of an interpolation at one fraction of a pixel: pixel floor(x) + first + k gets
/// weights[k].
struct Taps {
    first: i64,
    weights: Vec<f32>,
}

/// One source row filtered at canvas columns `columns` (column X reads source pixels from
/// X + offset + first on, the frame's edge pixels repeated beyond it).
fn filter_row(src: &[f32], taps: &Taps, offset: i64, columns: Range<usize>, out: &mut [f32]) {
    let (n, k) = (src.len() as i64, taps.weights.len());
    for x in columns {
        let i0 = x as i64 + offset + taps.first;
        out[x] = if i0 >= 0 && i0 + (k as i64) <= n {
            let s = &src[i0 as usize..i0 as usize + k];
            taps.weights.iter().zip(s).map(|(w, v)| w * v).sum()
        } else {
            taps.weights
                .iter()
                .enumerate()
                .map(|(j, w)| w * src[(i0 + j as i64).clamp(0, n - 1) as usize])
                .sum()
        };
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
        let need = self.source_rows(&rows);
        if need.is_empty() {
            return Ok(Array2::from_elem((rows.len(), self.canvas.nx), f32::NAN));
        }
        let band = Band {
            rows0: need.start,
            data: self.source.read_rows(need)?,
        };
        if let (ShiftMode::Lanczos3 | ShiftMode::Bilinear, Some(shift)) =
            (self.mode, self.pure_shift)
        {
            return Ok(self.separable_shifted(&band, rows, shift));
        }
        let table = lanczos_table();
        let mut out = Array2::<f32>::from_elem((rows.len(), self.canvas.nx), f32::NAN);
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(k, mut row)| {
                for (x, v) in row.iter_mut().enumerate() {
                    let (sx, sy) = self.source_xy(x, rows.start + k);
                    *v = self.sample(&band, sx, sy, table);
                }
            });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combine::MemoryInput;

    fn offset(dx: f64, dy: f64) -> Offset {
        Offset::shift("f", dx, dy, 0)
    }

    fn frames(o: &[Offset], nx: usize, ny: usize) -> Vec<(&Offset, (usize, usize))> {
        o.iter().map(|o| (o, (ny, nx))).collect()
    }

    #[test]
    fn canvases_cover_what_they_say() {
        let o = [offset(0.0, 0.0), offset(2.4, -1.6)];
        let u = Canvas::new(CanvasKind::Union, &frames(&o, 10, 8), ShiftMode::Integer).unwrap();
        assert_eq!(
            (u.x0, u.y0, u.nx, u.ny),
            (-2, 0, 12, 10),
            "integer shift (2, -2): union widens by 2 each way"
        );
        let r = Canvas::new(
            CanvasKind::Reference,
            &frames(&o, 10, 8),
            ShiftMode::Bilinear,
        )
        .unwrap();
        assert_eq!((r.x0, r.y0, r.nx, r.ny), (0, 0, 10, 8));
        let i = Canvas::new(
            CanvasKind::Intersection,
            &frames(&o, 10, 8),
            ShiftMode::Integer,
        )
        .unwrap();
        assert_eq!((i.x0, i.y0, i.nx, i.ny), (0, 2, 8, 6));
        let apart = [offset(0.0, 0.0), offset(20.0, 0.0)];
        assert!(
            Canvas::new(
                CanvasKind::Intersection,
                &frames(&apart, 10, 8),
                ShiftMode::Integer
            )
            .is_err()
        );
        // a frame turned by 90 degrees about the reference's centre covers the same square
        let turn = Affine {
            m: [[0.0, -1.0, 9.0], [1.0, 0.0, 0.0]],
        };
        let t = [
            offset(0.0, 0.0),
            Offset::from_transform("t", turn, (4.5, 4.5), 0, 0.0),
        ];
        let c = Canvas::new(CanvasKind::Union, &frames(&t, 10, 10), ShiftMode::Bilinear).unwrap();
        assert_eq!((c.x0, c.y0, c.nx, c.ny), (0, 0, 10, 10));
        assert!(Canvas::new(CanvasKind::Union, &frames(&t, 10, 10), ShiftMode::Integer).is_err());
    }

    #[test]
    fn integer_shifts_copy_and_interpolations_reproduce_smooth_images() {
        let ramp = ndarray::Array2::from_shape_fn((20, 20), |(y, x)| x as f32 + 2.0 * y as f32);
        let src = MemoryInput {
            name: "ramp".into(),
            data: ramp.clone(),
            header: Header::default(),
        };
        let turned = Affine {
            m: [[0.998, -0.0523, 1.2], [0.0523, 0.998, -0.7]],
        };
        // Lanczos-3 reproduces a linear ramp to a few hundredths (its normalised weights are not exactly linear)
        for (o, mode, tol) in [
            (offset(2.4, -1.6), ShiftMode::Integer, 0.0),
            (offset(2.4, -1.6), ShiftMode::Bilinear, 1e-4),
            (offset(2.4, -1.6), ShiftMode::Lanczos3, 0.05),
            (
                Offset::from_transform("t", turned, (9.5, 9.5), 0, 0.0),
                ShiftMode::Bilinear,
                1e-4,
            ),
            (
                Offset::from_transform("t", turned, (9.5, 9.5), 0, 0.0),
                ShiftMode::Lanczos3,
                0.1,
            ),
        ] {
            let both = [offset(0.0, 0.0), o.clone()];
            let canvas = Canvas::new(CanvasKind::Union, &frames(&both, 20, 20), mode).unwrap();
            let s = ShiftedInput::new(&src, &o, mode, canvas, SkyModel::Constant(0.0));
            let out = s.read_rows(0..canvas.ny).unwrap();
            let t = applied(&o, mode);
            let area = t.det().abs();
            for ((y, x), v) in out.indexed_iter() {
                let (fx, fy) = t.apply(x as f64 + canvas.x0 as f64, y as f64 + canvas.y0 as f64);
                let covered = fx >= -0.5 && fy >= -0.5 && fx < 19.5 && fy < 19.5;
                assert_eq!(v.is_nan(), !covered, "{mode:?} ({x}, {y})");
                // away from the edges (where taps repeat the edge pixel) the ramp comes out exactly
                if fx >= 3.0 && fy >= 3.0 && fx <= 16.0 && fy <= 16.0 {
                    let want = (fx + 2.0 * fy) * area;
                    assert!(
                        (*v as f64 - want).abs() <= tol * area.max(1.0) + 1e-3,
                        "{mode:?} at ({fx}, {fy}): {v} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_shift_filtered_across_then_down_equals_the_kernel_at_every_pixel() {
        let mut k = 7u64;
        let noise = ndarray::Array2::from_shape_fn((40, 50), |_| {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (k >> 40) as f32 / 1000.0
        });
        let src = MemoryInput {
            name: "noise".into(),
            data: noise,
            header: Header::default(),
        };
        for (mode, (dx, dy)) in [ShiftMode::Lanczos3, ShiftMode::Bilinear]
            .into_iter()
            .flat_map(|m| [(2.4, -1.6), (-7.75, 3.1), (0.0, 0.5)].map(|d| (m, d)))
        {
            let both = [offset(0.0, 0.0), offset(dx, dy)];
            let canvas = Canvas::new(CanvasKind::Union, &frames(&both, 50, 40), mode).unwrap();
            let sky = SkyModel::Constant(3.0);
            let fast = ShiftedInput::new(&src, &both[1], mode, canvas, sky.clone());
            assert!(fast.pure_shift.is_some());
            let mut general = ShiftedInput::new(&src, &both[1], mode, canvas, sky);
            general.pure_shift = None;
            for rows in [0..canvas.ny, 3..17] {
                let (a, b) = (
                    fast.read_rows(rows.clone()).unwrap(),
                    general.read_rows(rows).unwrap(),
                );
                for (p, q) in a.iter().zip(b.iter()) {
                    assert_eq!(p.is_nan(), q.is_nan());
                    if !p.is_nan() {
                        assert!((p - q).abs() < 1e-4, "{mode:?} ({dx}, {dy}): {p} vs {q}");
                    }
                }
            }
        }
    }
}
