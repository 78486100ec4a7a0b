//! Centroids of stars: centre of mass, marginal 1-D Gaussians, a 2-D Gaussian (optionally with a
//! constant), and a quadratic peak; in a box around a clicked position that snaps to the nearest
//! star, with the background from an annulus or the box edges, iterated re-centring, an uncertainty
//! and a quality flag. Coordinates are 0-based pixel centres (x = column, y = row).

use super::lm::{Model, fit};
use crate::error::{Error, Result};
use crate::stats::{mad_std, median_mut};
use ndarray::{Array2, ArrayView2};
use serde::Serialize;

/// How the centre is measured inside the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CentroidMethod {
    /// Centre of mass of the background-subtracted box.
    Com,
    /// 1-D Gaussians fitted to the marginal sums along x and y (photutils centroid_1dg).
    #[serde(rename = "1dg")]
    Gauss1d,
    /// A 2-D Gaussian (elliptical, rotated) fitted by Levenberg-Marquardt (photutils centroid_2dg).
    #[serde(rename = "2dg")]
    Gauss2d,
    /// The vertex of a quadratic surface fitted to the 3x3 pixels around the peak.
    Quadratic,
}

impl std::str::FromStr for CentroidMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "com" => CentroidMethod::Com,
            "1dg" => CentroidMethod::Gauss1d,
            "2dg" => CentroidMethod::Gauss2d,
            "quadratic" | "quad" => CentroidMethod::Quadratic,
            _ => {
                return Err(Error::Invalid(format!(
                    "centroid method {s:?}: expected com, 1dg, 2dg or quadratic"
                )));
            }
        })
    }
}

/// What is wrong with a measurement, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Ok,
    /// The peak reaches the saturation level: the centre is biased.
    Saturated,
    /// The box touches the image edge.
    OffEdge,
    /// The fit or the re-centring did not converge.
    NoConvergence,
    /// The peak is under five times the background noise.
    TooFaint,
    /// The re-centred box walked out of the box about the given position: no star there (the
    /// centre found belongs to something further away).
    Wandered,
}

impl Flag {
    /// Whether a star was found there (a saturated star is a star, its centre a little biased).
    pub fn is_star(self) -> bool {
        matches!(self, Flag::Ok | Flag::Saturated)
    }

    /// The flag in words.
    pub fn describe(self) -> &'static str {
        match self {
            Flag::Ok => "ok",
            Flag::Saturated => "the star is saturated",
            Flag::OffEdge => "the box runs off the image edge",
            Flag::NoConvergence => "the centroid did not converge",
            Flag::TooFaint => "no star there (the peak is under five times the noise)",
            Flag::Wandered => {
                "no star there (the centre walked out of the box to something further away)"
            }
        }
    }
}

/// Where the local background comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Background {
    /// Median of the pixels of an annulus (radii in pixels) around the position.
    Annulus { r_in: f64, r_out: f64 },
    /// Median of the box's edge pixels.
    BoxEdges,
    /// The data are already background-subtracted.
    None,
}

/// Settings of a centroid measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentroidParams {
    pub method: CentroidMethod,
    /// Box side in pixels (odd).
    pub box_size: usize,
    pub background: Background,
    /// Re-centre the box on the result and measure again, at most this many times.
    pub max_iterations: usize,
    /// Pixel values at or above this are saturated.
    pub saturation: Option<f64>,
}

impl Default for CentroidParams {
    fn default() -> Self {
        CentroidParams {
            method: CentroidMethod::Gauss2d,
            box_size: 15,
            background: Background::BoxEdges,
            max_iterations: 5,
            saturation: None,
        }
    }
}

/// A measured star, 0-based coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Centroid {
    pub x: f64,
    pub y: f64,
    pub x_err: f64,
    pub y_err: f64,
    /// Full width at half maximum in pixels (from the fit, or from second moments for com).
    pub fwhm: f64,
    /// Highest pixel above the background.
    pub peak: f64,
    pub background: f64,
    /// Sum of the background-subtracted box.
    pub flux: f64,
    pub flag: Flag,
}

/// A position measured in a background-subtracted cutout, cutout coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutoutFit {
    pub x: f64,
    pub y: f64,
    pub x_err: f64,
    pub y_err: f64,
    pub fwhm: f64,
    pub converged: bool,
}

/// Centre of mass (photutils centroid_com: negative values count too).
pub fn centroid_com(c: ArrayView2<f64>) -> Option<CutoutFit> {
    let (mut s, mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for ((y, x), &v) in c.indexed_iter() {
        if !v.is_finite() {
            continue;
        }
        let (x, y) = (x as f64, y as f64);
        s += v;
        sx += v * x;
        sy += v * y;
        sxx += v * x * x;
        syy += v * y * y;
    }
    if s <= 0.0 {
        return None;
    }
    let (mx, my) = (sx / s, sy / s);
    let var = ((sxx / s - mx * mx).max(0.0) + (syy / s - my * my).max(0.0)) / 2.0;
    Some(CutoutFit {
        x: mx,
        y: my,
        x_err: f64::NAN,
        y_err: f64::NAN,
        fwhm: 2.3548200450309493 * var.sqrt(),
        converged: true,
    })
}

/// A 1-D Gaussian `a exp(-(x - mu)^2 / (2 s^2))` to points (x = 0, 1, ...).
struct Gauss1 {
    y: Vec<f64>,
}

impl Model for Gauss1 {
    fn n_params(&self) -> usize {
        3
    }
    fn n_points(&self) -> usize {
        self.y.len()
    }
    fn observed(&self, i: usize) -> f64 {
        self.y[i]
    }
    #[inline(always)]
    fn eval(&self, i: usize, p: &[f64], g: &mut [f64]) -> f64 {
        let (a, mu, s) = (p[0], p[1], p[2]);
        let d = i as f64 - mu;
        let e = (-0.5 * d * d / (s * s)).exp();
        g[0] = e;
        g[1] = a * e * d / (s * s);
        g[2] = a * e * d * d / (s * s * s);
        a * e
    }
}

fn gauss1_fit(y: Vec<f64>) -> Option<(f64, f64, f64, bool)> {
    let total: f64 = y.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mu = y.iter().enumerate().map(|(i, v)| i as f64 * v).sum::<f64>() / total;
    let var = y
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 - mu).powi(2) * v)
        .sum::<f64>()
        / total;
    let amp = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let f = fit(&Gauss1 { y }, &[amp, mu, var.abs().sqrt().max(0.5)], 200);
    Some((f.params[1], f.errors[1], f.params[2].abs(), f.converged))
}

/// Gaussians fitted to the marginal sums (photutils centroid_1dg).
pub fn centroid_1dg(c: ArrayView2<f64>) -> Option<CutoutFit> {
    let (ny, nx) = c.dim();
    let col: Vec<f64> = (0..nx)
        .map(|x| c.column(x).iter().filter(|v| v.is_finite()).sum())
        .collect();
    let row: Vec<f64> = (0..ny)
        .map(|y| c.row(y).iter().filter(|v| v.is_finite()).sum())
        .collect();
    let (x, xe, sx, cx) = gauss1_fit(col)?;
    let (y, ye, sy, cy) = gauss1_fit(row)?;
    Some(CutoutFit {
        x,
        y,
        x_err: xe,
        y_err: ye,
        fwhm: 2.3548200450309493 * (sx * sy).sqrt(),
        converged: cx && cy,
    })
}

/// `A exp(-(a dx^2 + b dx dy + c dy^2)) [+ C]` over a cutout, NaN pixels left out.
struct Gauss2 {
    points: Vec<(f64, f64, f64)>,
    constant: bool,
    /// The centre must stay within these bounds (the cutout), x then y.
    bounds: (f64, f64, f64, f64),
    /// (nx, ny) when the points are a whole cutout in row-major order (no NaN): the fast path.
    grid: Option<(usize, usize)>,
}

/// The Gaussian's value `amp * e` at offset (dx, dy), with its derivatives by amp, x0, y0, a, b, c
/// written to `g[0..6]` (`e` is exp(-(a dx^2 + b dx dy + c dy^2))).
#[inline(always)]
fn gauss2_gradient(
    e: f64,
    amp: f64,
    (a, b, c): (f64, f64, f64),
    dx: f64,
    dy: f64,
    g: &mut [f64],
) -> f64 {
    let g = &mut g[..6]; // one bounds check instead of six
    let v = amp * e;
    g[0] = e;
    g[1] = v * (2.0 * a * dx + b * dy);
    g[2] = v * (b * dx + 2.0 * c * dy);
    g[3] = -v * dx * dx;
    g[4] = -v * dx * dy;
    g[5] = -v * dy * dy;
    v
}

impl Gauss2 {
    /// The normal equations on a full grid with K parameters: exp(-a dx^2) per column, exp(-c dy^2)
    /// per row, and the cross term exp(-b dx dy) by a geometric recurrence down each column.
    fn grid_equations<const K: usize>(
        &self,
        p: &[f64],
        nx: usize,
        ny: usize,
    ) -> (Vec<Vec<f64>>, Vec<f64>, f64) {
        let (amp, x0, y0, a, b, c) = (p[0], p[1], p[2], p[3], p[4], p[5]);
        let ex: Vec<f64> = (0..nx)
            .map(|x| (-a * (x as f64 - x0).powi(2)).exp())
            .collect();
        let ey: Vec<f64> = (0..ny)
            .map(|y| (-c * (y as f64 - y0).powi(2)).exp())
            .collect();
        let step: Vec<f64> = (0..nx).map(|x| (-b * (x as f64 - x0)).exp()).collect();
        let mut cross: Vec<f64> = (0..nx).map(|x| (b * (x as f64 - x0) * y0).exp()).collect(); // exp(-b dx (0 - y0))
        let mut acc = [[0.0f64; K]; K];
        let mut tr = [0.0f64; K];
        let mut chi2 = 0.0;
        let mut g = [0.0f64; K];
        for (y, &ey_row) in ey.iter().enumerate() {
            let dy = y as f64 - y0;
            for x in 0..nx {
                let dx = x as f64 - x0;
                let v = gauss2_gradient(ex[x] * ey_row * cross[x], amp, (a, b, c), dx, dy, &mut g);
                let model = if K == 7 {
                    g[K - 1] = 1.0;
                    v + p[6]
                } else {
                    v
                };
                let r = self.points[y * nx + x].2 - model;
                chi2 += r * r;
                for i in 0..K {
                    tr[i] += g[i] * r;
                    for j in i..K {
                        acc[i][j] += g[i] * g[j];
                    }
                }
                cross[x] *= step[x];
            }
        }
        let jtj = (0..K)
            .map(|i| {
                (0..K)
                    .map(|j| if j >= i { acc[i][j] } else { acc[j][i] })
                    .collect()
            })
            .collect();
        (jtj, tr.to_vec(), chi2)
    }
}

impl Model for Gauss2 {
    fn n_params(&self) -> usize {
        if self.constant { 7 } else { 6 }
    }
    fn n_points(&self) -> usize {
        self.points.len()
    }
    fn observed(&self, i: usize) -> f64 {
        self.points[i].2
    }
    #[inline(always)]
    fn eval(&self, i: usize, p: &[f64], g: &mut [f64]) -> f64 {
        let (x, y, _) = self.points[i];
        let (amp, x0, y0, a, b, c) = (p[0], p[1], p[2], p[3], p[4], p[5]);
        let (dx, dy) = (x - x0, y - y0);
        let v = gauss2_gradient(
            (-(a * dx * dx + b * dx * dy + c * dy * dy)).exp(),
            amp,
            (a, b, c),
            dx,
            dy,
            g,
        );
        if self.constant {
            g[6] = 1.0;
            return v + p[6];
        }
        v
    }
    fn normal_equations(&self, p: &[f64]) -> Option<(Vec<Vec<f64>>, Vec<f64>, f64)> {
        let (nx, ny) = self.grid?;
        Some(if self.constant {
            self.grid_equations::<7>(p, nx, ny)
        } else {
            self.grid_equations::<6>(p, nx, ny)
        })
    }
    /// The centre moved by less than 1e-4 px.
    fn settled(&self, step: &[f64]) -> bool {
        step[1].abs() < 1e-4 && step[2].abs() < 1e-4
    }
    /// A positive amplitude, a positive-definite form (a real ellipse) and a centre in the cutout.
    fn valid(&self, p: &[f64]) -> bool {
        let (x0, x1, y0, y1) = self.bounds;
        p[0] > 0.0
            && p[3] > 0.0
            && p[5] > 0.0
            && 4.0 * p[3] * p[5] > p[4] * p[4]
            && p[1] >= x0
            && p[1] <= x1
            && p[2] >= y0
            && p[2] <= y1
    }
}

/// A 2-D Gaussian fitted by Levenberg-Marquardt from moment estimates (photutils centroid_2dg when
/// `constant` is false; with a constant term for data whose background is only roughly removed).
pub fn centroid_2dg(c: ArrayView2<f64>, constant: bool) -> Option<CutoutFit> {
    let points: Vec<(f64, f64, f64)> = c
        .indexed_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|((y, x), &v)| (x as f64, y as f64, v))
        .collect();
    fit_gauss2(points, constant).map(|(f, _)| f)
}

/// The 2-D Gaussian fit made robust: pixels whose residual exceeds both 4 robust sigmas and 30% of
/// the model there (a cosmic ray, a satellite trail, a neighbour's wing) are dropped and the fit
/// repeated, up to three times.
pub fn centroid_2dg_robust(c: ArrayView2<f64>, constant: bool) -> Option<CutoutFit> {
    let mut points: Vec<(f64, f64, f64)> = c
        .indexed_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|((y, x), &v)| (x as f64, y as f64, v))
        .collect();
    let (mut best, mut params) = fit_gauss2(points.clone(), constant)?;
    for _ in 0..3 {
        // bounds matter only to the fit; evaluating the residuals needs none
        let model = Gauss2 {
            points: points.clone(),
            constant,
            bounds: (f64::MIN, f64::MAX, f64::MIN, f64::MAX),
            grid: None,
        };
        let mut grad = vec![0.0; model.n_params()];
        let fitted: Vec<f64> = (0..points.len())
            .map(|i| model.eval(i, &params, &mut grad))
            .collect();
        let residuals: Vec<f64> = points.iter().zip(&fitted).map(|(p, m)| p.2 - m).collect();
        let r32: Vec<f32> = residuals.iter().map(|r| *r as f32).collect();
        let sigma = mad_std(&r32)?;
        // an outlier stands out from the noise and from the profile: the core of a Moffat star
        // misfits a Gaussian by a fraction of the model, a cosmic ray or a trail by far more
        let keep: Vec<bool> = residuals
            .iter()
            .zip(&fitted)
            .map(|(r, m)| r.abs() <= (4.0 * sigma).max(0.3 * m.abs()))
            .collect();
        if keep.iter().all(|k| *k) || sigma <= 0.0 {
            break;
        }
        points = points
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p)
            .collect();
        (best, params) = fit_gauss2(points.clone(), constant)?;
    }
    Some(best)
}

fn fit_gauss2(points: Vec<(f64, f64, f64)>, constant: bool) -> Option<(CutoutFit, Vec<f64>)> {
    if points.len() < 7 {
        return None;
    }
    let min = points.iter().map(|p| p.2).fold(f64::INFINITY, f64::min);
    let w: f64 = points.iter().map(|p| p.2 - min).sum();
    if w <= 0.0 {
        return None;
    }
    let mx = points.iter().map(|p| (p.2 - min) * p.0).sum::<f64>() / w;
    let my = points.iter().map(|p| (p.2 - min) * p.1).sum::<f64>() / w;
    let vx = points
        .iter()
        .map(|p| (p.2 - min) * (p.0 - mx).powi(2))
        .sum::<f64>()
        / w;
    let vy = points
        .iter()
        .map(|p| (p.2 - min) * (p.1 - my).powi(2))
        .sum::<f64>()
        / w;
    let amp = points.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max)
        - if constant { min } else { 0.0 };
    let mut start = vec![amp, mx, my, 0.5 / vx.max(0.25), 0.0, 0.5 / vy.max(0.25)];
    if constant {
        start.push(min);
    }
    let (xmax, ymax) = points
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), p| (a.max(p.0), b.max(p.1)));
    let (gx, gy) = (xmax as usize + 1, ymax as usize + 1);
    // a whole cutout in row-major order: point i is pixel (i % nx, i / nx)
    let grid = (points.len() == gx * gy
        && points
            .iter()
            .enumerate()
            .all(|(i, p)| p.0 as usize == i % gx && p.1 as usize == i / gx))
    .then_some((gx, gy));
    let f = fit(
        &Gauss2 {
            points,
            constant,
            bounds: (-0.5, xmax + 0.5, -0.5, ymax + 0.5),
            grid,
        },
        &start,
        200,
    );
    let (a, b, cc) = (f.params[3], f.params[4], f.params[5]);
    // sigma^2 along the principal axes: 1 / (2 lambda) for the eigenvalues lambda of [[a, b/2], [b/2, c]]
    let tr = a + cc;
    let det = a * cc - b * b / 4.0;
    let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, tr / 2.0 - disc);
    let fwhm = if l1 > 0.0 && l2 > 0.0 {
        2.3548200450309493 * (1.0 / (2.0 * (l1 * l2).sqrt())).sqrt()
    } else {
        f64::NAN
    };
    let ok = f.converged && l1 > 0.0 && l2 > 0.0 && f.params[0] > 0.0;
    Some((
        CutoutFit {
            x: f.params[1],
            y: f.params[2],
            x_err: f.errors[1],
            y_err: f.errors[2],
            fwhm,
            converged: ok,
        },
        f.params,
    ))
}

/// The vertex of `z = c0 + c1 x + c2 y + c3 x^2 + c4 x y + c5 y^2` fitted to the 3x3 around the maximum.
pub fn centroid_quadratic(c: ArrayView2<f64>) -> Option<CutoutFit> {
    let (ny, nx) = c.dim();
    let ((py, px), _) = c
        .indexed_iter()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let (px, py) = (
        px.clamp(1, nx.saturating_sub(2)),
        py.clamp(1, ny.saturating_sub(2)),
    );
    if nx < 3 || ny < 3 {
        return None;
    }
    let mut ata = vec![vec![0.0; 6]; 6];
    let mut atb = vec![0.0; 6];
    for dy in -1i64..=1 {
        for dx in -1i64..=1 {
            let v = c[[(py as i64 + dy) as usize, (px as i64 + dx) as usize]];
            if !v.is_finite() {
                return None;
            }
            let (x, y) = (dx as f64, dy as f64);
            let row = [1.0, x, y, x * x, x * y, y * y];
            for i in 0..6 {
                atb[i] += row[i] * v;
                for j in 0..6 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
    }
    let k = super::lm::solve(ata, atb)?;
    // gradient zero: [2c3 c4; c4 2c5] [x y] = -[c1 c2]
    let det = 4.0 * k[3] * k[5] - k[4] * k[4];
    if det <= 0.0 || k[3] >= 0.0 {
        return None; // not a maximum
    }
    let x = (-2.0 * k[5] * k[1] + k[4] * k[2]) / det;
    let y = (-2.0 * k[3] * k[2] + k[4] * k[1]) / det;
    let inside = x.abs() <= 1.0 && y.abs() <= 1.0;
    Some(CutoutFit {
        x: px as f64 + x,
        y: py as f64 + y,
        x_err: f64::NAN,
        y_err: f64::NAN,
        fwhm: f64::NAN,
        converged: inside,
    })
}

/// Measure in a background-subtracted cutout with `method`.
pub fn measure_cutout(
    c: ArrayView2<f64>,
    method: CentroidMethod,
    constant: bool,
) -> Option<CutoutFit> {
    match method {
        CentroidMethod::Com => centroid_com(c),
        CentroidMethod::Gauss1d => centroid_1dg(c),
        CentroidMethod::Gauss2d => centroid_2dg(c, constant),
        CentroidMethod::Quadratic => centroid_quadratic(c),
    }
}

/// Median and robust noise of the pixels whose centres lie in the annulus (photutils "center" rule).
pub fn annulus_stats(
    image: ArrayView2<f32>,
    x: f64,
    y: f64,
    r_in: f64,
    r_out: f64,
) -> Option<(f64, f64)> {
    let (ny, nx) = image.dim();
    let (x0, x1) = (
        (x - r_out).floor().max(0.0) as usize,
        ((x + r_out).ceil() as usize + 1).min(nx),
    );
    let (y0, y1) = (
        (y - r_out).floor().max(0.0) as usize,
        ((y + r_out).ceil() as usize + 1).min(ny),
    );
    let mut v = Vec::new();
    for yy in y0..y1 {
        for xx in x0..x1 {
            let d2 = (xx as f64 - x).powi(2) + (yy as f64 - y).powi(2);
            let p = image[[yy, xx]];
            if d2 >= r_in * r_in && d2 < r_out * r_out && p.is_finite() {
                v.push(p);
            }
        }
    }
    let noise = mad_std(&v)?;
    Some((median_mut(&mut v)?, noise))
}

/// The box of side `size` centred on pixel (cx, cy), clipped to the image: (x0, y0, cutout, touches edge).
fn cut_box(
    image: ArrayView2<f32>,
    cx: i64,
    cy: i64,
    size: usize,
) -> (usize, usize, Array2<f64>, bool) {
    let (ny, nx) = image.dim();
    let half = (size / 2) as i64;
    let (x0, y0) = ((cx - half).max(0) as usize, (cy - half).max(0) as usize);
    let (x1, y1) = (
        ((cx + half + 1).max(0) as usize).min(nx),
        ((cy + half + 1).max(0) as usize).min(ny),
    );
    let edge =
        cx - half < 0 || cy - half < 0 || cx + half + 1 > nx as i64 || cy + half + 1 > ny as i64;
    let cut = image
        .slice(ndarray::s![y0..y1.max(y0), x0..x1.max(x0)])
        .mapv(|v| v as f64);
    (x0, y0, cut, edge)
}

fn box_edge_stats(cut: &Array2<f64>) -> Option<(f64, f64)> {
    let (ny, nx) = cut.dim();
    let mut v: Vec<f32> = cut
        .indexed_iter()
        .filter(|((y, x), p)| (*y == 0 || *x == 0 || *y + 1 == ny || *x + 1 == nx) && p.is_finite())
        .map(|(_, p)| *p as f32)
        .collect();
    let noise = mad_std(&v)?;
    Some((median_mut(&mut v)?, noise))
}

/// Measure the star nearest (x, y) (0-based): snap to the brightest pixel of the box, then measure
/// and re-centre until the position moves less than 0.01 px.
/// The smallest centroid box: a star's core and a ring around it.
pub const MIN_BOX: usize = 5;

pub fn centroid(
    image: ArrayView2<f32>,
    name: &str,
    x: f64,
    y: f64,
    p: &CentroidParams,
) -> Result<Centroid> {
    if p.box_size < MIN_BOX {
        return Err(Error::Invalid(format!(
            "centroid box {} px: give {MIN_BOX} pixels or more",
            p.box_size
        )));
    }
    let (ny, nx) = image.dim();
    let bad = |why: String| {
        Error::Invalid(format!(
            "{name}: star at ({:.2}, {:.2}) (FITS {:.2}, {:.2}): {why}",
            x,
            y,
            x + 1.0,
            y + 1.0
        ))
    };
    if !(x.is_finite() && y.is_finite())
        || x < -0.5
        || y < -0.5
        || x > nx as f64 - 0.5
        || y > ny as f64 - 0.5
    {
        return Err(bad(format!("outside the {nx}x{ny} image")));
    }
    let size = p.box_size | 1;
    // snap: the brightest pixel in the box around the click
    let (bx, by, cut, _) = cut_box(image, x.round() as i64, y.round() as i64, size);
    let ((py, px), _) = cut
        .indexed_iter()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .ok_or_else(|| bad("no finite pixel in the box".into()))?;
    let (mut cx, mut cy) = ((bx + px) as f64, (by + py) as f64);
    let mut result = None;
    let mut settled = false;
    for _ in 0..p.max_iterations.max(1) {
        let (x0, y0, cut, edge) = cut_box(image, cx.round() as i64, cy.round() as i64, size);
        let (bkg, noise) = match p.background {
            Background::Annulus { r_in, r_out } => annulus_stats(image, cx, cy, r_in, r_out),
            Background::BoxEdges => box_edge_stats(&cut),
            Background::None => Some((0.0, f64::NAN)),
        }
        .ok_or_else(|| bad("no finite pixel for the background".into()))?;
        let sub = cut.mapv(|v| v - bkg);
        let peak = sub
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let saturated = p.saturation.is_some_and(|s| cut.iter().any(|v| *v >= s));
        let fitted = match p.method {
            CentroidMethod::Gauss2d => {
                centroid_2dg_robust(sub.view(), p.background != Background::None)
            }
            m => measure_cutout(sub.view(), m, p.background != Background::None),
        }
        .filter(|f| {
            f.x.is_finite()
                && f.y.is_finite()
                && f.x >= -0.5
                && f.y >= -0.5
                && f.x <= sub.ncols() as f64 - 0.5
                && f.y <= sub.nrows() as f64 - 0.5
        });
        let Some(f) = fitted else {
            return Err(bad(format!("no star to measure in the {size}x{size} box")));
        };
        let (nx_, ny_) = (x0 as f64 + f.x, y0 as f64 + f.y);
        let moved = (nx_ - cx).hypot(ny_ - cy);
        let flag = if edge {
            Flag::OffEdge
        } else if saturated {
            Flag::Saturated
        } else if !f.converged {
            Flag::NoConvergence
        } else if noise.is_finite() && peak < 5.0 * noise {
            Flag::TooFaint
        } else {
            Flag::Ok
        };
        let (x_err, y_err) = if f.x_err.is_finite() {
            (f.x_err, f.y_err)
        } else {
            com_error(&sub, f.x, f.y, noise)
        };
        let flux = sub.iter().filter(|v| v.is_finite()).sum();
        result = Some(Centroid {
            x: nx_,
            y: ny_,
            x_err,
            y_err,
            fwhm: f.fwhm,
            peak,
            background: bkg,
            flux,
            flag,
        });
        cx = nx_;
        cy = ny_;
        if moved < 0.01 {
            settled = true;
            break;
        }
    }
    let mut c = result.expect("at least one iteration");
    let half = (size / 2) as f64 + 0.5;
    if (c.x - x).abs() > half || (c.y - y).abs() > half {
        c.flag = Flag::Wandered;
    } else if c.flag == Flag::Ok && (!settled || c.x_err.max(c.y_err) >= half) {
        // an error bar as wide as the box: the fit ran away
        c.flag = Flag::NoConvergence;
    }
    Ok(c)
}

/// Position error of a centre of mass from pixel noise: sqrt(sum (x - xc)^2) sigma / flux.
fn com_error(sub: &Array2<f64>, xc: f64, yc: f64, noise: f64) -> (f64, f64) {
    let flux: f64 = sub.iter().filter(|v| v.is_finite()).sum();
    let (mut sx, mut sy) = (0.0, 0.0);
    for ((y, x), v) in sub.indexed_iter() {
        if v.is_finite() {
            sx += (x as f64 - xc).powi(2);
            sy += (y as f64 - yc).powi(2);
        }
    }
    (noise * sx.sqrt() / flux, noise * sy.sqrt() / flux)
}
