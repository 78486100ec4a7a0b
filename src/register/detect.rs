//! Star detection: a mesh background (sky gradients do not fool it), a light Gaussian smoothing,
//! local maxima above a threshold in sigmas, rejection of hot pixels and cosmic rays (too sharp)
//! and saturated stars, a minimum separation, and a robust centroid of every survivor.

use super::centroid::{Background, CentroidMethod, CentroidParams, Flag, centroid};
use crate::fits::PixelBox;
use crate::stats::{SigmaClip, sigma_clipped_stats};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::Serialize;

/// Detection settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// Peaks of the smoothed image must exceed the background by this many sigmas.
    pub threshold_sigma: f64,
    /// Closer peaks than this (pixels) keep only the brighter.
    pub min_separation_px: f64,
    /// A peak whose pixel exceeds its four neighbours' mean (above background) by this factor is a
    /// hot pixel or cosmic ray, not a star.
    pub max_sharpness: f64,
    /// Pixel values at or above this are saturated (such stars are left out).
    pub saturation: Option<f64>,
    /// Keep at most this many stars, brightest first.
    pub max_stars: usize,
    /// Background mesh cell in pixels.
    pub mesh_px: usize,
    /// Sources wider than this many times the median FWHM (trails, galaxies) are left out, unless
    /// their peak stands [`BRIGHT_PEAK_SIGMA`] noise sigmas above the sky (bright stars, which
    /// readout smear and the wings of the seeing widen).
    pub max_fwhm_ratio: f64,
    /// Sources narrower than this many times the median FWHM (cosmic rays of one or two pixels,
    /// hot pixels) are left out: no star is sharper than the frame's seeing.
    pub min_fwhm_ratio: f64,
    /// A peak needs this many connected pixels above the threshold in the smoothed image (noise
    /// peaks at low thresholds are one or two pixels).
    pub min_area_px: usize,
    /// The seeing FWHM (pixels) the smoothing kernel is matched to; `None`: a Gaussian of sigma
    /// 1 px (FWHM 2.35).
    pub fwhm_px: Option<f64>,
}

/// A peak this many background sigmas above the sky is a star however wide its fit.
pub const BRIGHT_PEAK_SIGMA: f64 = 100.0;

/// A star's flux is measured in an aperture of this many times the frame's median FWHM.
const APERTURE_FWHMS: f64 = 1.5;

/// Fits closer than this (pixels) landed on one star: only the brightest is kept.
const SAME_STAR_PX: f64 = 1.0;

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams {
            threshold_sigma: 5.0,
            min_separation_px: 5.0,
            max_sharpness: 4.0,
            saturation: None,
            max_stars: 10_000,
            mesh_px: 64,
            max_fwhm_ratio: 1.8,
            min_fwhm_ratio: 0.5,
            min_area_px: 5,
            fwhm_px: None,
        }
    }
}

/// A detected star, 0-based coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Star {
    pub x: f64,
    pub y: f64,
    /// Background-subtracted flux in a circular aperture of radius 1.5 times the frame's median
    /// FWHM (99.8% of a Gaussian star), the background from the sky mesh.
    pub flux: f64,
    pub fwhm: f64,
    pub peak: f64,
    /// Uncertainty of the position (pixels, both axes together).
    pub err: f64,
}

/// The sky as a coarse mesh of sigma-clipped medians, interpolated bilinearly between cell centres.
pub struct MeshBackground {
    cells: Array2<f64>,
    cell: usize,
    /// Robust noise of the image around the background.
    pub noise: f64,
}

impl MeshBackground {
    pub fn new(image: ArrayView2<f32>, cell: usize) -> Option<MeshBackground> {
        let (ny, nx) = image.dim();
        let cell = cell.max(8);
        let (gy, gx) = (ny.div_ceil(cell), nx.div_ceil(cell));
        let clip = SigmaClip {
            max_iterations: Some(3),
            ..SigmaClip::default()
        };
        let stats: Vec<(f64, f64)> = (0..gy * gx)
            .into_par_iter()
            .map(|k| {
                let (cy, cx) = (k / gx, k % gx);
                let block = image.slice(ndarray::s![
                    cy * cell..((cy + 1) * cell).min(ny),
                    cx * cell..((cx + 1) * cell).min(nx)
                ]);
                let v: Vec<f32> = block.iter().copied().filter(|v| v.is_finite()).collect();
                sigma_clipped_stats(&v, &clip)
                    .map(|s| (s.median, s.std))
                    .unwrap_or((f64::NAN, f64::NAN))
            })
            .collect();
        let mut cells =
            Array2::from_shape_vec((gy, gx), stats.iter().map(|s| s.0).collect()).ok()?;
        let fill = {
            let mut all: Vec<f32> = cells
                .iter()
                .filter(|v| v.is_finite())
                .map(|v| *v as f32)
                .collect();
            crate::stats::median_mut(&mut all)?
        };
        cells.mapv_inplace(|v| if v.is_finite() { v } else { fill });
        let mut noises: Vec<f32> = stats
            .iter()
            .map(|s| s.1 as f32)
            .filter(|v| v.is_finite())
            .collect();
        let noise = crate::stats::median_mut(&mut noises)?;
        Some(MeshBackground { cells, cell, noise })
    }

    /// Cell centres (x, y, 0-based pixels) with their sigma-clipped medians.
    pub fn cells(&self) -> Vec<(f64, f64, f64)> {
        self.cells
            .indexed_iter()
            .map(|((cy, cx), v)| {
                (
                    (cx as f64 + 0.5) * self.cell as f64 - 0.5,
                    (cy as f64 + 0.5) * self.cell as f64 - 0.5,
                    *v,
                )
            })
            .collect()
    }

    /// The background at pixel (x, y).
    pub fn at(&self, x: f64, y: f64) -> f64 {
        let (gy, gx) = self.cells.dim();
        let fx = ((x + 0.5) / self.cell as f64 - 0.5).clamp(0.0, (gx - 1) as f64);
        let fy = ((y + 0.5) / self.cell as f64 - 0.5).clamp(0.0, (gy - 1) as f64);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(gx - 1), (y0 + 1).min(gy - 1));
        let (tx, ty) = (fx - x0 as f64, fy - y0 as f64);
        let c = &self.cells;
        (c[[y0, x0]] * (1.0 - tx) + c[[y0, x1]] * tx) * (1.0 - ty)
            + (c[[y1, x0]] * (1.0 - tx) + c[[y1, x1]] * tx) * ty
    }
}

/// The separable smoothing kernel: a Gaussian of sigma 1 px in 5 taps, or one matched to `fwhm`.
fn kernel(fwhm: Option<f64>) -> Vec<f32> {
    let Some(fwhm) = fwhm else {
        return vec![0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868];
    };
    let sigma = fwhm / 2.3548;
    let half = (2.5 * sigma).ceil().max(1.0) as i64;
    let w: Vec<f64> = (-half..=half)
        .map(|t| (-(t * t) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| (v / sum) as f32).collect()
}

/// How much the smoothing lowers white noise: the root of the 2-D kernel's summed squared weights,
/// which is the 1-D kernel's sum of squares.
fn noise_factor(k: &[f32]) -> f64 {
    k.iter().map(|w| (*w as f64).powi(2)).sum::<f64>()
}

/// Background-subtracted image smoothed by the separable kernel `k`, made in bands of rows (each
/// band filters its rows and a halo across, then down), so only the result is image-sized.
fn smoothed(
    image: ArrayView2<f32>,
    bkg: &MeshBackground,
    k: &[f32],
    sharpness: f64,
) -> Array2<f32> {
    let (ny, nx) = image.dim();
    let half = k.len() / 2;
    let mut out = Array2::<f32>::zeros((ny, nx));
    out.axis_chunks_iter_mut(ndarray::Axis(0), SMOOTH_BAND_ROWS)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut band)| {
            let y0 = b * SMOOTH_BAND_ROWS;
            let (h0, h1) = (y0.saturating_sub(half), (y0 + band.nrows() + half).min(ny));
            // across: background-subtracted rows h0..h1, each filtered in x
            let mut across = Array2::<f32>::zeros((h1 - h0, nx));
            let mut sub = vec![0f32; nx];
            for (r, mut row) in across.rows_mut().into_iter().enumerate() {
                let y = h0 + r;
                for (x, s) in sub.iter_mut().enumerate() {
                    *s = without_hit(
                        image,
                        x,
                        y,
                        bkg.at(x as f64, y as f64),
                        bkg.noise,
                        sharpness,
                    );
                }
                for x in 0..nx {
                    row[x] = k
                        .iter()
                        .enumerate()
                        .map(|(t, w)| {
                            let xx = (x as i64 + t as i64 - half as i64).clamp(0, nx as i64 - 1);
                            w * sub[xx as usize]
                        })
                        .sum();
                }
            }
            // down: rows clamped at the image's edges, as one pass over the whole image would
            for (r, mut o) in band.rows_mut().into_iter().enumerate() {
                let y = y0 + r;
                for (t, w) in k.iter().enumerate() {
                    let yy = (y as i64 + t as i64 - half as i64).clamp(0, ny as i64 - 1) as usize;
                    let src = across.row(yy - h0);
                    for x in 0..nx {
                        o[x] += w * src[x];
                    }
                }
            }
        });
    out
}

/// A pixel must stand this many noise sigmas above the sky to be taken for a hit.
const HIT_MIN_SIGMA: f64 = 5.0;

/// The background-subtracted value of pixel (x, y) with a cosmic-ray or hot pixel replaced by the
/// median of its eight neighbours (so that a hit beside a star does not hide the star's peak in the
/// smoothed image); 0 for a pixel that is not finite.
fn without_hit(
    image: ArrayView2<f32>,
    x: usize,
    y: usize,
    b: f64,
    noise: f64,
    sharpness: f64,
) -> f32 {
    let v = image[[y, x]] as f64;
    if !v.is_finite() {
        return 0.0;
    }
    let peak = v - b;
    if peak <= HIT_MIN_SIGMA * noise {
        return peak as f32;
    }
    let (ny, nx) = image.dim();
    let mut ring: Vec<f64> = (-1i64..=1)
        .flat_map(|dy| (-1i64..=1).map(move |dx| (dx, dy)))
        .filter(|d| *d != (0, 0))
        .filter_map(|(dx, dy)| {
            let (xx, yy) = (x as i64 + dx, y as i64 + dy);
            let inside = xx >= 0 && yy >= 0 && (xx as usize) < nx && (yy as usize) < ny;
            inside.then(|| image[[yy as usize, xx as usize]] as f64 - b)
        })
        .filter(|w| w.is_finite())
        .collect();
    if ring.len() < 3 {
        return peak as f32;
    }
    ring.sort_by(f64::total_cmp);
    let others = ring[..ring.len() - 1].iter().sum::<f64>() / (ring.len() - 1) as f64;
    if peak > PAIR_SHARPNESS * sharpness * others.max(noise) {
        ring[ring.len() / 2] as f32
    } else {
        peak as f32
    }
}

/// A box of the image about a peak with its hits replaced (see [`without_hit`]), to fit in.
struct HitFreePatch {
    pixels: Array2<f32>,
    x0: usize,
    y0: usize,
}

impl HitFreePatch {
    fn around(
        image: ArrayView2<f32>,
        (x, y): (usize, usize),
        half: usize,
        bkg: &MeshBackground,
        sharpness: f64,
    ) -> HitFreePatch {
        let (ny, nx) = image.dim();
        let (x0, y0) = (x.saturating_sub(half), y.saturating_sub(half));
        let (x1, y1) = ((x + half + 1).min(nx), (y + half + 1).min(ny));
        let pixels = Array2::from_shape_fn((y1 - y0, x1 - x0), |(r, c)| {
            let (xx, yy) = (x0 + c, y0 + r);
            let v = image[[yy, xx]];
            if !v.is_finite() {
                return v;
            }
            let b = bkg.at(xx as f64, yy as f64);
            (without_hit(image, xx, yy, b, bkg.noise, sharpness) as f64 + b) as f32
        });
        HitFreePatch { pixels, x0, y0 }
    }

    /// The centroid of the star at image pixel `(x, y)`, in image coordinates.
    fn centroid(
        &self,
        name: &str,
        (x, y): (usize, usize),
        cp: &CentroidParams,
    ) -> Option<super::centroid::Centroid> {
        let (dx, dy) = (self.x0 as f64, self.y0 as f64);
        let mut c = centroid(self.pixels.view(), name, x as f64 - dx, y as f64 - dy, cp).ok()?;
        c.x += dx;
        c.y += dy;
        Some(c)
    }
}

/// Rows of the smoothed image made at a time.
const SMOOTH_BAND_ROWS: usize = 64;

/// A peak this many times `max_sharpness` above the mean of its eight neighbours less the
/// brightest is a two-pixel hit (a star sampled at FWHM 1.5 px is still well inside).
const PAIR_SHARPNESS: f64 = 2.0;

/// Peaks closer than this are one source whatever lies between them.
const DEBLEND_MIN_PX: f64 = 2.5;
/// Two peaks are two stars when the smoothed light between them falls below this share of the
/// fainter peak.
const DEBLEND_DIP: f32 = 0.95;

/// Whether the smoothed image dips below [`DEBLEND_DIP`] of the fainter of peaks `a` and `b`
/// somewhere on the segment between them.
fn dips_between(sm: &Array2<f32>, a: &(usize, usize, f32), b: &(usize, usize, f32)) -> bool {
    let (dx, dy) = (b.0 as f64 - a.0 as f64, b.1 as f64 - a.1 as f64);
    let steps = (dx.hypot(dy) * 2.0).ceil() as usize;
    let floor = DEBLEND_DIP * a.2.min(b.2);
    (1..steps).any(|k| {
        let t = k as f64 / steps as f64;
        let (x, y) = (a.0 as f64 + t * dx, a.1 as f64 + t * dy);
        sm[[y.round() as usize, x.round() as usize]] < floor
    })
}

/// The light of a star falls on every side of its peak; along a ridge (a trail, or the edge of
/// an overscan strip under a sky mesh that straddles it) it stays: at the radius where the
/// smoothed light has fallen to half on average around the peak, a ridge keeps more than
/// `1 - RIDGE_FALL` of the peak on both sides along one axis.
const RIDGE_FALL: f32 = 0.15;
/// The radius (pixels) the half-light search stops at (wider sources are left to the width cut).
const RIDGE_MAX_R: f64 = 12.0;

/// `sm` at (x, y) by bilinear interpolation, `None` outside.
fn bilinear(sm: &Array2<f32>, x: f64, y: f64) -> Option<f32> {
    let (ny, nx) = sm.dim();
    if !(x >= 0.0 && y >= 0.0 && x <= (nx - 1) as f64 && y <= (ny - 1) as f64) {
        return None;
    }
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(nx - 1), (y0 + 1).min(ny - 1));
    let (tx, ty) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let top = sm[[y0, x0]] * (1.0 - tx) + sm[[y0, x1]] * tx;
    let bottom = sm[[y1, x0]] * (1.0 - tx) + sm[[y1, x1]] * tx;
    Some(top * (1.0 - ty) + bottom * ty)
}

/// Whether the smoothed peak `(x, y, v)` lies on a ridge rather than on a star (see
/// [`RIDGE_FALL`]).
fn on_ridge(sm: &Array2<f32>, (x, y, v): (usize, usize, f32)) -> bool {
    // eight axes 22.5 degrees apart: a trail at any angle runs within 11.25 degrees of one
    let axes: Vec<(f64, f64)> = (0..8)
        .map(|k| {
            let a = k as f64 * std::f64::consts::PI / 8.0;
            (a.cos(), a.sin())
        })
        .collect();
    let fall = |r: f64, (dx, dy): (f64, f64)| {
        bilinear(sm, x as f64 + r * dx, y as f64 + r * dy).map(|w| 1.0 - w / v)
    };
    let mut r = 1.0;
    while r <= RIDGE_MAX_R {
        // the falls on the two sides of each axis that stays inside the frame
        let known: Vec<(f32, f32)> = axes
            .iter()
            .filter_map(|&(dx, dy)| Some((fall(r, (dx, dy))?, fall(r, (-dx, -dy))?)))
            .collect();
        if known.is_empty() {
            return false;
        }
        let mean = known.iter().map(|(a, b)| a + b).sum::<f32>() / (2 * known.len()) as f32;
        if mean >= 0.5 {
            return known.iter().any(|(a, b)| a.max(*b) < RIDGE_FALL);
        }
        r += 0.5;
    }
    false
}

/// Whether at least `min` pixels, 4-connected to (x, y), lie above `level` in `sm` (searched only
/// until `min` are found).
fn area_at_least(sm: &Array2<f32>, x: usize, y: usize, level: f32, min: usize) -> bool {
    let (ny, nx) = sm.dim();
    let mut seen = vec![(x, y)];
    let mut next = 0;
    while next < seen.len() && seen.len() < min {
        let (cx, cy) = seen[next];
        next += 1;
        let around = [
            (cx.wrapping_sub(1), cy),
            (cx + 1, cy),
            (cx, cy.wrapping_sub(1)),
            (cx, cy + 1),
        ];
        for (ax, ay) in around {
            if ax < nx && ay < ny && sm[[ay, ax]] > level && !seen.contains(&(ax, ay)) {
                seen.push((ax, ay));
            }
        }
    }
    seen.len() >= min
}

/// Detect stars, brightest first.
pub fn detect(image: ArrayView2<f32>, name: &str, p: &DetectParams) -> crate::Result<Vec<Star>> {
    if !(p.threshold_sigma.is_finite() && p.threshold_sigma > 0.0) {
        return Err(crate::Error::Invalid(format!(
            "detection threshold {}: give a number of sigmas above 0",
            p.threshold_sigma
        )));
    }
    if p.min_area_px > 1000 {
        return Err(crate::Error::Invalid(format!(
            "minimum area {} px: give at most 1000 pixels",
            p.min_area_px
        )));
    }
    if p.mesh_px < 8 {
        return Err(crate::Error::Invalid(format!(
            "background mesh {} px: give 8 pixels or more",
            p.mesh_px
        )));
    }
    let (ny, nx) = image.dim();
    let bkg = MeshBackground::new(image, p.mesh_px).ok_or_else(|| {
        crate::Error::Invalid(format!("{name}: no finite pixel to measure the sky on"))
    })?;
    if let Some(f) = p
        .fwhm_px
        .filter(|f| !(f.is_finite() && *f >= 1.0 && *f <= 50.0))
    {
        return Err(crate::Error::Invalid(format!(
            "seeing FWHM {f} px: give 1 to 50 pixels"
        )));
    }
    let k = kernel(p.fwhm_px);
    let sm = smoothed(image, &bkg, &k, p.max_sharpness);
    // the smoothing lowers the noise by about 1 / (2 sqrt(pi) sigma) = 0.28 for sigma = 1
    let factor = if p.fwhm_px.is_some() {
        noise_factor(&k)
    } else {
        0.2821
    };
    let level = p.threshold_sigma * bkg.noise * factor;
    let candidates: Vec<(usize, usize, f32)> = (2..ny.saturating_sub(2))
        .into_par_iter()
        .flat_map_iter(|y| {
            let sm = &sm;
            (2..nx.saturating_sub(2)).filter_map(move |x| {
                let v = sm[[y, x]];
                if v <= level as f32 {
                    return None;
                }
                let is_max = (-1i64..=1).all(|dy| {
                    (-1i64..=1).all(|dx| {
                        (dx == 0 && dy == 0) || {
                            let w = sm[[(y as i64 + dy) as usize, (x as i64 + dx) as usize]];
                            v > w || (v == w && (dy, dx) > (0, 0))
                        }
                    })
                });
                is_max.then_some((x, y, v))
            })
        })
        .collect();
    let mut candidates: Vec<(usize, usize, f32)> = candidates
        .into_iter()
        .filter(|&(x, y, _)| area_at_least(&sm, x, y, level as f32, p.min_area_px))
        .filter(|&(x, y, _)| {
            let b = bkg.at(x as f64, y as f64);
            let peak = image[[y, x]] as f64 - b;
            let around = [
                image[[y - 1, x]],
                image[[y + 1, x]],
                image[[y, x - 1]],
                image[[y, x + 1]],
            ]
            .iter()
            .map(|v| *v as f64 - b)
            .sum::<f64>()
                / 4.0;
            // a hit of two pixels: bright beside one neighbour, dark beside the seven others
            let mut ring: Vec<f64> = (-1i64..=1)
                .flat_map(|dy| (-1i64..=1).map(move |dx| (dx, dy)))
                .filter(|d| *d != (0, 0))
                .map(|(dx, dy)| {
                    image[[(y as i64 + dy) as usize, (x as i64 + dx) as usize]] as f64 - b
                })
                .collect();
            ring.sort_by(f64::total_cmp);
            let others = ring[..7].iter().sum::<f64>() / 7.0;
            let sharp = peak > p.max_sharpness * around.max(bkg.noise)
                || peak > PAIR_SHARPNESS * p.max_sharpness * others.max(bkg.noise);
            let saturated = p.saturation.is_some_and(|s| {
                (y - 1..=y + 1).any(|yy| (x - 1..=x + 1).any(|xx| image[[yy, xx]] as f64 >= s))
            });
            !sharp && !saturated
        })
        .filter(|&c| !on_ridge(&sm, c))
        .collect();
    candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut kept: Vec<(usize, usize, f32)> = Vec::new();
    let d2 = p.min_separation_px * p.min_separation_px;
    for c in candidates {
        // a closer peak is a star of its own when the light dips deeply between the two (a close
        // pair); the bumps of a trail or of one star's noise do not dip
        let apart = |k: &(usize, usize, f32)| {
            let d = (k.0 as f64 - c.0 as f64).powi(2) + (k.1 as f64 - c.1 as f64).powi(2);
            d >= d2 || (d >= DEBLEND_MIN_PX * DEBLEND_MIN_PX && dips_between(&sm, k, &c))
        };
        if kept.iter().all(apart) {
            kept.push(c);
            if kept.len() >= p.max_stars {
                break;
            }
        }
    }
    let cp = CentroidParams {
        method: CentroidMethod::Gauss2d,
        box_size: 11,
        background: Background::BoxEdges,
        max_iterations: 3,
        saturation: p.saturation,
    };
    // a star with a close neighbour is fitted in a box that reaches only halfway to it
    let nearest = |i: usize| {
        kept.iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, k)| (k.0 as f64 - kept[i].0 as f64).hypot(k.1 as f64 - kept[i].1 as f64))
            .fold(f64::INFINITY, f64::min)
    };
    let fits: Vec<(Star, bool)> = (0..kept.len())
        .into_par_iter()
        .filter_map(|i| {
            let (x, y, _) = kept[i];
            let half = (nearest(i) / 2.0).floor().min(cp.box_size as f64) as usize;
            let cp = CentroidParams {
                box_size: (2 * half + 1).clamp(5, cp.box_size),
                ..cp
            };
            // a fit that runs away (a faint neighbour or a hit in the box) is tried again in
            // smaller boxes before the peak is given up
            // the fit sees the box with its hits replaced, so a star is not fitted to a hit
            let patch =
                HitFreePatch::around(image, (x, y), cp.box_size / 2 + 1, &bkg, p.max_sharpness);
            let sizes = [cp.box_size, 7, 5];
            let (good, box_size) = sizes
                .iter()
                .enumerate()
                .filter(|(k, b)| *k == 0 || **b < cp.box_size)
                .find_map(|(_, &box_size)| {
                    let cp = CentroidParams { box_size, ..cp };
                    let c = patch.centroid(name, (x, y), &cp)?;
                    let moved = (c.x - x as f64).hypot(c.y - y as f64);
                    (matches!(c.flag, Flag::Ok | Flag::TooFaint)
                        && moved < 3.0
                        && c.flux > 0.0
                        && c.fwhm < box_size as f64)
                        .then_some((c, box_size))
                })?;
            let star = Star {
                x: good.x,
                y: good.y,
                flux: good.flux,
                fwhm: good.fwhm,
                peak: good.peak,
                err: good.x_err.hypot(good.y_err),
            };
            Some((star, box_size == cp.box_size))
        })
        .collect();
    // the frame's seeing from the fits that held in their first box (a retried fit may be a star
    // cut by the frame's edge, a hit or a trail's bump)
    let first_try: Vec<f64> = fits.iter().filter(|f| f.1).map(|f| f.0.fwhm).collect();
    let typical = if first_try.len() >= 3 {
        typical_fwhm(first_try)
    } else {
        typical_fwhm(fits.iter().map(|f| f.0.fwhm).collect())
    };
    let mut stars: Vec<Star> = fits.into_iter().map(|f| f.0).collect();
    // trails and galaxies fit far wider than the stars of the frame, hits far narrower
    if let Some(typical) = typical {
        let bright = BRIGHT_PEAK_SIGMA * bkg.noise;
        stars.retain(|s| {
            s.fwhm.is_finite()
                && s.fwhm >= p.min_fwhm_ratio * typical
                && (s.fwhm <= p.max_fwhm_ratio * typical || s.peak >= bright)
        });
        let r = APERTURE_FWHMS * typical;
        stars.par_iter_mut().for_each(|s| {
            let (sum, area) = crate::photometry::aperture_sum(image, s.x, s.y, r);
            s.flux = sum - bkg.at(s.x, s.y) * area;
        });
    }
    stars.sort_by(|a, b| b.flux.total_cmp(&a.flux));
    Ok(one_per_star(stars))
}

/// Widths within this factor of each other belong to one kind of source.
const SEEING_SPREAD: f64 = 1.3;

/// The FWHM of most of the stars in `widths`: the median of the most populous run of widths
/// spanning at most [`SEEING_SPREAD`] (stars share the seeing; truncated stars at an edge, hits
/// and trails scatter about it, and outnumber the stars of a sparse field).
fn typical_fwhm(mut widths: Vec<f64>) -> Option<f64> {
    widths.retain(|w| w.is_finite() && *w > 0.0);
    widths.sort_by(f64::total_cmp);
    let mut best = None::<(usize, usize)>;
    let mut end = 0;
    for start in 0..widths.len() {
        end = end.max(start);
        while end + 1 < widths.len() && widths[end + 1] <= SEEING_SPREAD * widths[start] {
            end += 1;
        }
        if best.is_none_or(|(a, b)| end - start > b - a) {
            best = Some((start, end));
        }
    }
    best.map(|(a, b)| {
        let run = &widths[a..=b];
        let n = run.len();
        if n % 2 == 1 {
            run[n / 2]
        } else {
            0.5 * (run[n / 2 - 1] + run[n / 2])
        }
    })
}

/// Where a frame's stars are searched: inside TRIMSEC (or DATASEC) of a raw frame, whose overscan
/// strip's edge is no star and cuts the stars beside it; the whole frame otherwise.
pub fn search_section(
    name: &str,
    header: &crate::fits::Header,
    (ny, nx): (usize, usize),
) -> crate::Result<PixelBox> {
    Ok(crate::calibrate::overscan::plan_overscan(name, header, nx, ny, &Default::default())?.trim)
}

/// [`detect`] inside `section` of `image`, the stars in the whole image's pixels.
pub fn detect_within(
    image: ArrayView2<f32>,
    section: &PixelBox,
    name: &str,
    p: &DetectParams,
) -> crate::Result<Vec<Star>> {
    let inside = image.slice(ndarray::s![section.y.clone(), section.x.clone()]);
    let mut stars = detect(inside, name, p)?;
    for s in &mut stars {
        s.x += section.x.start as f64;
        s.y += section.y.start as f64;
    }
    Ok(stars)
}

/// Two peaks whose fits converged on one star give it once (the brighter fit).
fn one_per_star(stars: Vec<Star>) -> Vec<Star> {
    let mut kept: Vec<Star> = Vec::with_capacity(stars.len());
    for s in stars {
        if kept
            .iter()
            .all(|k| (k.x - s.x).hypot(k.y - s.y) >= SAME_STAR_PX)
        {
            kept.push(s);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 200x200 sky of 1000 +- 10 with Gaussian stars of FWHM 3 at `stars` (x, y, flux).
    fn field(stars: &[(f64, f64, f64)]) -> Array2<f32> {
        let mut rng = crate::sample::Rng::new(11);
        let sigma = 3.0 / 2.3548;
        Array2::from_shape_fn((200, 200), |(y, x)| {
            let light: f64 = stars
                .iter()
                .map(|(sx, sy, f)| {
                    let r2 = (x as f64 - sx).powi(2) + (y as f64 - sy).powi(2);
                    f / (2.0 * std::f64::consts::PI * sigma * sigma)
                        * (-r2 / (2.0 * sigma * sigma)).exp()
                })
                .sum();
            (1000.0 + light + rng.normal(0.0, 10.0)) as f32
        })
    }

    #[test]
    fn two_pixel_hits_are_no_stars_and_each_star_comes_once() {
        let stars: Vec<(f64, f64, f64)> = (0..12)
            .map(|k| {
                (
                    20.0 + 14.3 * k as f64,
                    30.0 + 11.7 * k as f64,
                    5000.0 + 900.0 * k as f64,
                )
            })
            .collect();
        let mut img = field(&stars);
        // a two-pixel cosmic ray, bright enough to pass the one-pixel sharpness test
        img[[150, 60]] += 800.0;
        img[[150, 61]] += 800.0;
        let found = detect(img.view(), "field", &DetectParams::default()).unwrap();
        assert!(
            found.iter().all(|s| (s.x - 60.5).hypot(s.y - 150.0) > 2.0),
            "the hit was taken for a star: {found:?}"
        );
        assert_eq!(found.len(), stars.len(), "{found:?}");
        for (x, y, _) in &stars {
            let near = found
                .iter()
                .filter(|s| (s.x - x).hypot(s.y - y) < 1.0)
                .count();
            assert_eq!(near, 1, "star at ({x}, {y})");
        }
    }

    #[test]
    fn a_minimum_area_keeps_noise_peaks_out_at_low_thresholds() {
        let noise = field(&[]);
        let count = |min_area_px: usize| {
            let p = DetectParams {
                threshold_sigma: 3.0,
                min_area_px,
                ..Default::default()
            };
            detect(noise.view(), "noise", &p).unwrap().len()
        };
        let (one, five) = (count(1), count(5));
        assert!(one >= 5 && five * 5 <= one, "min area 1: {one}, 5: {five}");
        // a kernel matched to the seeing finds the same stars, fluxes from a FWHM-sized aperture
        let stars = [(60.0, 60.0, 20000.0), (140.0, 120.0, 8000.0)];
        let img = field(&stars);
        let p = DetectParams {
            fwhm_px: Some(3.0),
            ..Default::default()
        };
        let found = detect(img.view(), "f", &p).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        for (s, (_, _, flux)) in found.iter().zip(&stars) {
            assert!((s.flux / flux - 1.0).abs() < 0.03, "{} vs {flux}", s.flux);
        }
    }

    #[test]
    fn the_bumps_of_a_satellite_trail_are_no_stars() {
        let stars = [
            (40.0, 40.0, 20000.0),
            (100.0, 60.0, 15000.0),
            (60.0, 150.0, 12000.0),
            (140.0, 170.0, 9000.0),
        ];
        let mut img = field(&stars);
        // a satellite trail of sigma 1.2 px from (0, 20) to (199, 120)
        for ((y, x), v) in img.indexed_iter_mut() {
            let d = ((y as f64 - 20.0) * 199.0 - (x as f64) * 100.0).abs() / 199f64.hypot(100.0);
            *v += (100.0 * (-d * d / (2.0 * 1.2 * 1.2)).exp()) as f32;
        }
        let found = detect(img.view(), "field", &DetectParams::default()).unwrap();
        for s in &found {
            assert!(
                stars.iter().any(|(x, y, _)| (s.x - x).hypot(s.y - y) < 1.0),
                "not a star: {s:?} in {found:?}"
            );
        }
        assert_eq!(found.len(), stars.len(), "{found:?}");
    }

    #[test]
    fn a_star_with_a_hit_on_its_flank_is_fitted_without_the_hit() {
        let stars: Vec<(f64, f64, f64)> = (0..8)
            .map(|k| {
                (
                    25.0 + 20.0 * k as f64,
                    30.0 + 18.0 * k as f64,
                    3000.0 + 400.0 * k as f64,
                )
            })
            .collect();
        let mut img = field(&stars);
        // hits of two pixels 1.5-2 px from three of the stars, far brighter than their peaks
        for (k, (dx, dy)) in [(1, (1, 1)), (4, (-2, 0)), (6, (0, 2))] {
            let (x, y) = (stars[k].0 as i64 + dx, stars[k].1 as i64 + dy);
            img[[y as usize, x as usize]] += 3000.0;
            img[[y as usize, x as usize + 1]] += 2500.0;
        }
        let found = detect(img.view(), "field", &DetectParams::default()).unwrap();
        for (x, y, _) in &stars {
            let s = found.iter().find(|s| (s.x - x).hypot(s.y - y) < 0.3);
            assert!(
                s.is_some_and(|s| (s.fwhm - 3.0).abs() < 0.5),
                "star at ({x}, {y}): {found:?}"
            );
        }
    }

    #[test]
    fn the_seeing_is_the_crowd_of_widths_not_their_median() {
        // seven stars of the frame among nine truncated edge stars, hits and trail bumps
        let widths = vec![
            0.70, 0.68, 0.68, 1.84, 1.87, 1.69, 1.48, 1.20, 2.10, 4.06, 3.99, 4.04, 3.90, 4.64,
            4.04, 4.10,
        ];
        assert_eq!(typical_fwhm(widths), Some(4.04));
        assert_eq!(typical_fwhm(vec![f64::NAN]), None);
        assert_eq!(typical_fwhm(vec![3.0, 5.0]), Some(3.0));
    }

    #[test]
    fn fits_that_converge_on_one_star_keep_the_brighter() {
        let s = |x: f64, flux: f64| Star {
            x,
            y: 10.0,
            flux,
            fwhm: 3.0,
            peak: 100.0,
            err: 0.01,
        };
        let kept = one_per_star(vec![s(10.0, 900.0), s(10.0004, 899.0), s(14.0, 500.0)]);
        assert_eq!(kept, vec![s(10.0, 900.0), s(14.0, 500.0)]);
    }
}
