//! The band-local steps of star detection: the smoothed, hit-free image of a band of rows, its
//! local maxima above the threshold, and the tests a maximum must pass to be a star's peak (area,
//! sharpness, saturation, ridge) and to be kept beside a close neighbour (a dip between them).

use super::detect::{DetectParams, MeshBackground};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// The separable smoothing kernel: a Gaussian of sigma 1 px in 5 taps, or one matched to `fwhm`.
pub(super) fn kernel(fwhm: Option<f64>) -> Vec<f32> {
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
pub(super) fn noise_factor(k: &[f32]) -> f64 {
    k.iter().map(|w| (*w as f64).powi(2)).sum::<f64>()
}

/// The band `image` (whose first row is row `origin` of the frame) background-subtracted, its hits
/// replaced and smoothed by the separable kernel `k`, in chunks of rows (each filters its rows and
/// a halo across, then down). Rows are clamped at the band's edges: the rows within `k.len() / 2`
/// of an edge that is not the frame's are not those of the whole frame.
fn smoothed(
    image: ArrayView2<f32>,
    origin: usize,
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
                        bkg.at(x as f64, (origin + y) as f64),
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
            // down: rows clamped at the band's edges
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
pub(super) fn without_hit(
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
    let ring = ring_of(image, (x, y), b);
    if ring.len() < 3 {
        return peak as f32;
    }
    if pair_hit(peak, &ring, noise, sharpness) {
        ring[ring.len() / 2] as f32
    } else {
        peak as f32
    }
}

/// The finite values less `b` of the (up to) eight neighbours of (x, y) inside the image, sorted.
fn ring_of(image: ArrayView2<f32>, (x, y): (usize, usize), b: f64) -> Vec<f64> {
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
    ring.sort_by(f64::total_cmp);
    ring
}

/// Whether `peak` is a hit of one or two pixels: [`PAIR_SHARPNESS`] times `sharpness` above the
/// mean of its sorted neighbours `ring` less the brightest (a second hit pixel).
fn pair_hit(peak: f64, ring: &[f64], noise: f64, sharpness: f64) -> bool {
    let Some((_, others)) = ring.split_last().filter(|(_, o)| !o.is_empty()) else {
        return false;
    };
    let mean = others.iter().sum::<f64>() / others.len() as f64;
    peak > PAIR_SHARPNESS * sharpness * mean.max(noise)
}

/// Rows of the smoothed image made at a time.
const SMOOTH_BAND_ROWS: usize = 64;

/// A peak this many times `max_sharpness` above the mean of its eight neighbours less the
/// brightest is a two-pixel hit (a star sampled at FWHM 1.5 px is still well inside).
pub(super) const PAIR_SHARPNESS: f64 = 2.0;

/// Peaks closer than this are one source whatever lies between them.
pub(super) const DEBLEND_MIN_PX: f64 = 2.5;
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
pub(super) const RIDGE_MAX_R: f64 = 12.0;

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

/// Rows of a frame from row `origin` on.
pub(super) struct Band<'a> {
    pub pixels: ArrayView2<'a, f32>,
    pub origin: usize,
}

/// A peak of the smoothed image that passed the tests of a star's peak (frame pixels).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Peak {
    pub x: usize,
    pub y: usize,
    /// The smoothed value at the peak.
    pub v: f32,
    /// The maxima closer than the minimum separation with a dip between them and this peak: each
    /// may be a star of its own beside it.
    pub dips: Vec<(usize, usize)>,
}

/// Rows a band needs beyond its own for its peaks to be those of the whole frame: the smoothing's
/// reach and a hit's neighbours, the ridge test's radius and the deblending distance.
pub(super) fn band_halo(k: &[f32], p: &DetectParams) -> usize {
    k.len() / 2 + 2 + RIDGE_MAX_R.ceil() as usize + p.min_separation_px.ceil() as usize + 2
}

/// The peaks whose rows lie in `own` (frame rows) found in `band` (those rows and a halo of
/// [`band_halo`] rows on each side, where the frame of `ny` rows has them).
pub(super) fn peaks_in(
    band: &Band,
    own: std::ops::Range<usize>,
    ny: usize,
    bkg: &MeshBackground,
    k: &[f32],
    level: f32,
    p: &DetectParams,
) -> Vec<Peak> {
    let (image, origin) = (band.pixels, band.origin);
    let nx = image.ncols();
    let sm = smoothed(image, origin, bkg, k, p.max_sharpness);
    // local maxima above the threshold on the band's rows and the deblending distance about them
    let reach = p.min_separation_px.ceil() as usize + 1;
    let rows = own.start.saturating_sub(reach).max(2)..(own.end + reach).min(ny.saturating_sub(2));
    let maxima: Vec<(usize, usize, f32)> = rows
        .into_par_iter()
        .flat_map_iter(|y| {
            let sm = &sm;
            (2..nx.saturating_sub(2)).filter_map(move |x| {
                let v = sm[[y - origin, x]];
                (v > level && is_max(sm, x, y - origin)).then_some((x, y - origin, v))
            })
        })
        .collect();
    let d2 = p.min_separation_px * p.min_separation_px;
    maxima
        .par_iter()
        .filter(|&&(_, y, _)| own.contains(&(y + origin)))
        .filter(|&&(x, y, _)| area_at_least(&sm, x, y, level, p.min_area_px))
        .filter(|&&(x, y, _)| {
            !too_sharp(
                image,
                (x, y),
                bkg.at(x as f64, (y + origin) as f64),
                bkg.noise,
                p.max_sharpness,
            )
        })
        .filter(|&&(x, y, _)| !saturated(image, (x, y), p.saturation))
        .filter(|&&c| !on_ridge(&sm, c))
        .map(|&c| {
            let dips = maxima
                .iter()
                .filter(|m| {
                    let d = (m.0 as f64 - c.0 as f64).powi(2) + (m.1 as f64 - c.1 as f64).powi(2);
                    d >= DEBLEND_MIN_PX * DEBLEND_MIN_PX && d < d2 && dips_between(&sm, m, &c)
                })
                .map(|m| (m.0, m.1 + origin))
                .collect();
            Peak {
                x: c.0,
                y: c.1 + origin,
                v: c.2,
                dips,
            }
        })
        .collect()
}

/// Whether `sm` at (x, y) exceeds its eight neighbours (ties go to the later pixel).
fn is_max(sm: &Array2<f32>, x: usize, y: usize) -> bool {
    let v = sm[[y, x]];
    (-1i64..=1).all(|dy| {
        (-1i64..=1).all(|dx| {
            (dx == 0 && dy == 0) || {
                let w = sm[[(y as i64 + dy) as usize, (x as i64 + dx) as usize]];
                v > w || (v == w && (dy, dx) > (0, 0))
            }
        })
    })
}

/// Whether the pixel (x, y) of a peak is a hot pixel or a hit: far above its four neighbours' mean
/// (one pixel), or above the mean of the seven neighbours besides the brightest (two pixels).
fn too_sharp(
    image: ArrayView2<f32>,
    (x, y): (usize, usize),
    b: f64,
    noise: f64,
    sharpness: f64,
) -> bool {
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
    peak > sharpness * around.max(noise)
        || pair_hit(peak, &ring_of(image, (x, y), b), noise, sharpness)
}

/// Whether a pixel of the 3x3 about (x, y) reaches the saturation level.
fn saturated(image: ArrayView2<f32>, (x, y): (usize, usize), saturation: Option<f64>) -> bool {
    saturation.is_some_and(|s| {
        (y - 1..=y + 1).any(|yy| (x - 1..=x + 1).any(|xx| image[[yy, xx]] as f64 >= s))
    })
}
