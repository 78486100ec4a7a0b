//! Star detection: a mesh background (sky gradients do not fool it), a light Gaussian smoothing,
//! local maxima above a threshold in sigmas, rejection of hot pixels and cosmic rays (too sharp)
//! and saturated stars, a minimum separation, and a robust centroid of every survivor.

use super::centroid::{Background, CentroidMethod, CentroidParams, Flag, centroid};
use super::peaks::{Band, Peak, band_halo, kernel, noise_factor, peaks_in, without_hit};
use crate::combine::StackInput;
use crate::fits::PixelBox;
use crate::stats::{SigmaClip, sigma_clipped_stats};
use ndarray::{Array2, ArrayView2, CowArray, Ix2};
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;

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
    /// The mesh of a frame in memory.
    pub fn new(image: ArrayView2<f32>, cell: usize) -> Option<MeshBackground> {
        let whole = |rows: Range<usize>| -> crate::Result<CowArray<'_, f32, Ix2>> {
            Ok(image.slice(ndarray::s![rows, ..]).into())
        };
        Self::from_bands(&whole, image.dim(), cell).ok().flatten()
    }

    /// The mesh of a frame of `(ny, nx)` read one row of cells at a time by `rows`; `None` when
    /// no cell has a finite pixel.
    pub fn from_bands<'a>(
        rows: &dyn Fn(Range<usize>) -> crate::Result<CowArray<'a, f32, Ix2>>,
        (ny, nx): (usize, usize),
        cell: usize,
    ) -> crate::Result<Option<MeshBackground>> {
        let cell = cell.max(8);
        let (gy, gx) = (ny.div_ceil(cell), nx.div_ceil(cell));
        let clip = SigmaClip {
            max_iterations: Some(3),
            ..SigmaClip::default()
        };
        let mut stats: Vec<(f64, f64)> = Vec::with_capacity(gy * gx);
        for cy in 0..gy {
            let band = rows(cy * cell..((cy + 1) * cell).min(ny))?;
            stats.par_extend((0..gx).into_par_iter().map(|cx| {
                let block = band.slice(ndarray::s![.., cx * cell..((cx + 1) * cell).min(nx)]);
                let v: Vec<f32> = block.iter().copied().filter(|v| v.is_finite()).collect();
                sigma_clipped_stats(&v, &clip)
                    .map(|s| (s.median, s.std))
                    .unwrap_or((f64::NAN, f64::NAN))
            }));
        }
        Ok(Self::from_cells(stats, (gy, gx), cell))
    }

    /// The mesh from each cell's (median, std), row by row.
    fn from_cells(
        stats: Vec<(f64, f64)>,
        (gy, gx): (usize, usize),
        cell: usize,
    ) -> Option<MeshBackground> {
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

/// A box of the image about a peak with its hits replaced (see [`without_hit`]), to fit in.
struct HitFreePatch {
    pixels: Array2<f32>,
    x0: usize,
    y0: usize,
}

impl HitFreePatch {
    /// The patch of `half` pixels about frame pixel (x, y) of `band`.
    fn around(
        band: &Band,
        (x, y): (usize, usize),
        half: usize,
        bkg: &MeshBackground,
        sharpness: f64,
    ) -> HitFreePatch {
        let image = band.pixels;
        let (ny, nx) = image.dim();
        let y = y - band.origin;
        let (x0, y0) = (x.saturating_sub(half), y.saturating_sub(half));
        let (x1, y1) = ((x + half + 1).min(nx), (y + half + 1).min(ny));
        let pixels = Array2::from_shape_fn((y1 - y0, x1 - x0), |(r, c)| {
            let (xx, yy) = (x0 + c, y0 + r);
            let v = image[[yy, xx]];
            if !v.is_finite() {
                return v;
            }
            let b = bkg.at(xx as f64, (band.origin + yy) as f64);
            (without_hit(image, xx, yy, b, bkg.noise, sharpness) as f64 + b) as f32
        });
        HitFreePatch {
            pixels,
            x0,
            y0: band.origin + y0,
        }
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

/// Rows of a frame handed to detection band by band.
pub trait RowBands {
    /// Rows (y) and columns (x).
    fn shape(&self) -> (usize, usize);
    /// Rows `rows` and columns `cols` (0-based, half-open).
    fn band(&self, rows: Range<usize>, cols: Range<usize>)
    -> crate::Result<CowArray<'_, f32, Ix2>>;
}

/// A frame in memory: its bands are views.
impl RowBands for ArrayView2<'_, f32> {
    fn shape(&self) -> (usize, usize) {
        self.dim()
    }
    fn band(
        &self,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> crate::Result<CowArray<'_, f32, Ix2>> {
        Ok(self.slice(ndarray::s![rows, cols]).into())
    }
}

/// A stack input, read band by band for detection (never whole).
pub struct InputBands<'a>(pub &'a dyn StackInput);

impl RowBands for InputBands<'_> {
    fn shape(&self) -> (usize, usize) {
        self.0.shape()
    }
    fn band(
        &self,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> crate::Result<CowArray<'_, f32, Ix2>> {
        let band = self.0.read_rows(rows)?;
        Ok(if cols == (0..band.ncols()) {
            band.into()
        } else {
            band.slice(ndarray::s![.., cols]).to_owned().into()
        })
    }
}

/// The section of a frame detection works in, in the section's own pixels.
struct Section<'a> {
    src: &'a dyn RowBands,
    area: PixelBox,
}

impl Section<'_> {
    fn shape(&self) -> (usize, usize) {
        (self.area.height(), self.area.width())
    }
    /// Rows `rows` of the section (clamped to it).
    fn rows(&self, rows: Range<usize>) -> crate::Result<CowArray<'_, f32, Ix2>> {
        let (y0, ny) = (self.area.y.start, self.area.height());
        let rows = rows.start.min(ny)..rows.end.min(ny);
        self.src
            .band(y0 + rows.start..y0 + rows.end, self.area.x.clone())
    }
    /// The bands of `band_rows` rows that hold `ys` (section rows), each with its rows grown by
    /// `halo` on both sides: (own rows, the rows read).
    fn bands_of(
        &self,
        ys: &[usize],
        band_rows: usize,
        halo: usize,
    ) -> Vec<(Range<usize>, Range<usize>)> {
        let ny = self.area.height();
        let mut starts: Vec<usize> = ys.iter().map(|y| y / band_rows * band_rows).collect();
        starts.sort_unstable();
        starts.dedup();
        starts
            .into_iter()
            .map(|y0| {
                let y1 = (y0 + band_rows).min(ny);
                (y0..y1, y0.saturating_sub(halo)..(y1 + halo).min(ny))
            })
            .collect()
    }
}

/// Rows detection works on at a time (with a halo of a few tens of rows on each side).
pub const DETECT_BAND_ROWS: usize = 512;

/// Detect stars, brightest first.
pub fn detect(image: ArrayView2<f32>, name: &str, p: &DetectParams) -> crate::Result<Vec<Star>> {
    let whole = PixelBox {
        x: 0..image.ncols(),
        y: 0..image.nrows(),
    };
    detect_bands(&image, &whole, name, p, DETECT_BAND_ROWS)
}

/// Refuse settings that make no sense, naming them.
fn check_params(p: &DetectParams) -> crate::Result<()> {
    let bad = |what: String| Err(crate::Error::Invalid(what));
    if !(p.threshold_sigma.is_finite() && p.threshold_sigma > 0.0) {
        return bad(format!(
            "detection threshold {}: give a number of sigmas above 0",
            p.threshold_sigma
        ));
    }
    if p.min_area_px > 1000 {
        return bad(format!(
            "minimum area {} px: give at most 1000 pixels",
            p.min_area_px
        ));
    }
    if p.mesh_px < 8 {
        return bad(format!(
            "background mesh {} px: give 8 pixels or more",
            p.mesh_px
        ));
    }
    if let Some(f) = p
        .fwhm_px
        .filter(|f| !(f.is_finite() && *f >= 1.0 && *f <= 50.0))
    {
        return bad(format!("seeing FWHM {f} px: give 1 to 50 pixels"));
    }
    Ok(())
}

/// Detect the stars inside `section` of a frame read in bands of `band_rows` rows (so that only a
/// band and its halo are held at a time), brightest first, in the frame's pixels. The stars do
/// not depend on `band_rows`.
pub fn detect_bands(
    src: &dyn RowBands,
    section: &PixelBox,
    name: &str,
    p: &DetectParams,
    band_rows: usize,
) -> crate::Result<Vec<Star>> {
    check_params(p)?;
    let frame = Section {
        src,
        area: section.clone(),
    };
    let band_rows = band_rows.max(32);
    let bkg = MeshBackground::from_bands(&|rows| frame.rows(rows), frame.shape(), p.mesh_px)?
        .ok_or_else(|| {
            crate::Error::Invalid(format!("{name}: no finite pixel to measure the sky on"))
        })?;
    let kept = select_peaks(find_peaks(&frame, &bkg, p, band_rows)?, p);
    let fits = fit_peaks(&frame, &bkg, &kept, name, p, band_rows)?;
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
        aperture_fluxes(
            &frame,
            &bkg,
            &mut stars,
            APERTURE_FWHMS * typical,
            band_rows,
        )?;
    }
    for s in &mut stars {
        s.x += section.x.start as f64;
        s.y += section.y.start as f64;
    }
    stars.sort_by(|a, b| b.flux.total_cmp(&a.flux));
    Ok(one_per_star(stars))
}

/// The peaks of the frame's smoothed image that pass a star peak's tests, band by band.
fn find_peaks(
    frame: &Section,
    bkg: &MeshBackground,
    p: &DetectParams,
    band_rows: usize,
) -> crate::Result<Vec<Peak>> {
    let k = kernel(p.fwhm_px);
    // the smoothing lowers the noise by about 1 / (2 sqrt(pi) sigma) = 0.28 for sigma = 1
    let factor = if p.fwhm_px.is_some() {
        noise_factor(&k)
    } else {
        0.2821
    };
    let level = (p.threshold_sigma * bkg.noise * factor) as f32;
    let (ny, _) = frame.shape();
    let every: Vec<usize> = (0..ny).step_by(band_rows).collect();
    let mut peaks = Vec::new();
    for (own, read) in frame.bands_of(&every, band_rows, band_halo(&k, p)) {
        let pixels = frame.rows(read.clone())?;
        let band = Band {
            pixels: pixels.view(),
            origin: read.start,
        };
        peaks.extend(peaks_in(&band, own, ny, bkg, &k, level, p));
    }
    Ok(peaks)
}

/// The peaks kept, brightest first: a peak closer than the minimum separation to a brighter one
/// kept is a star of its own only when the light dips deeply between them (a close pair); the
/// bumps of a trail or of one star's noise do not dip.
fn select_peaks(mut peaks: Vec<Peak>, p: &DetectParams) -> Vec<Peak> {
    peaks.sort_by(|a, b| b.v.total_cmp(&a.v).then((a.y, a.x).cmp(&(b.y, b.x))));
    let d2 = p.min_separation_px * p.min_separation_px;
    let mut kept: Vec<Peak> = Vec::new();
    for c in peaks {
        let apart = |k: &Peak| {
            let d = (k.x as f64 - c.x as f64).powi(2) + (k.y as f64 - c.y as f64).powi(2);
            d >= d2 || c.dips.contains(&(k.x, k.y))
        };
        if kept.iter().all(apart) {
            kept.push(c);
            if kept.len() >= p.max_stars {
                break;
            }
        }
    }
    kept
}

/// A robust 2-D Gaussian fit of every kept peak, band by band: the star and whether it held in
/// its first box.
fn fit_peaks(
    frame: &Section,
    bkg: &MeshBackground,
    kept: &[Peak],
    name: &str,
    p: &DetectParams,
    band_rows: usize,
) -> crate::Result<Vec<(Star, bool)>> {
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
            .map(|(_, k)| (k.x as f64 - kept[i].x as f64).hypot(k.y as f64 - kept[i].y as f64))
            .fold(f64::INFINITY, f64::min)
    };
    let ys: Vec<usize> = kept.iter().map(|k| k.y).collect();
    // the patch (half a box and one pixel), its hits' neighbours and the fit's re-centring
    let halo = cp.box_size / 2 + 2 + 4;
    let mut fits = Vec::with_capacity(kept.len());
    for (own, read) in frame.bands_of(&ys, band_rows, halo) {
        let pixels = frame.rows(read.clone())?;
        let mine: Vec<usize> = (0..kept.len())
            .filter(|&i| own.contains(&kept[i].y))
            .collect();
        fits.par_extend(mine.into_par_iter().filter_map(|i| {
            let (x, y) = (kept[i].x, kept[i].y);
            let half = (nearest(i) / 2.0).floor().min(cp.box_size as f64) as usize;
            let cp = CentroidParams {
                box_size: (2 * half + 1).clamp(5, cp.box_size),
                ..cp
            };
            let band = Band {
                pixels: pixels.view(),
                origin: read.start,
            };
            fit_peak(&band, bkg, (x, y), name, &cp, p.max_sharpness)
        }));
    }
    Ok(fits)
}

/// The fit of the peak at frame pixel `(x, y)` on its box with the hits replaced, so that a star
/// is not fitted to a hit; a fit that runs away (a faint neighbour or a hit in the box) is tried
/// again in smaller boxes before the peak is given up.
fn fit_peak(
    band: &Band,
    bkg: &MeshBackground,
    (x, y): (usize, usize),
    name: &str,
    cp: &CentroidParams,
    sharpness: f64,
) -> Option<(Star, bool)> {
    let patch = HitFreePatch::around(band, (x, y), cp.box_size / 2 + 1, bkg, sharpness);
    let sizes = [cp.box_size, 7, 5];
    let (good, box_size) = sizes
        .iter()
        .enumerate()
        .filter(|(k, b)| *k == 0 || **b < cp.box_size)
        .find_map(|(_, &box_size)| {
            let cp = CentroidParams { box_size, ..*cp };
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
}

/// Each star's flux in a circle of radius `r` less the sky there, band by band.
fn aperture_fluxes(
    frame: &Section,
    bkg: &MeshBackground,
    stars: &mut [Star],
    r: f64,
    band_rows: usize,
) -> crate::Result<()> {
    let last = frame.shape().0.saturating_sub(1);
    let row_of = move |s: &Star| (s.y.round().max(0.0) as usize).min(last);
    let ys: Vec<usize> = stars.iter().map(row_of).collect();
    for (own, read) in frame.bands_of(&ys, band_rows, r.ceil() as usize + 2) {
        let pixels = frame.rows(read.clone())?;
        stars
            .par_iter_mut()
            .filter(|s| own.contains(&row_of(s)))
            .for_each(|s| {
                let local = s.y - read.start as f64;
                let (sum, area) = crate::photometry::aperture_sum(pixels.view(), s.x, local, r);
                s.flux = sum - bkg.at(s.x, s.y) * area;
            });
    }
    Ok(())
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
    detect_bands(&image, section, name, p, DETECT_BAND_ROWS)
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

    /// `n` stars (x, y, flux) along a line: each value `start + k step`.
    fn diagonal(n: usize, x: (f64, f64), y: (f64, f64), flux: (f64, f64)) -> Vec<(f64, f64, f64)> {
        let at = |(start, step): (f64, f64), k: usize| start + step * k as f64;
        (0..n).map(|k| (at(x, k), at(y, k), at(flux, k))).collect()
    }

    #[test]
    fn two_pixel_hits_are_no_stars_and_each_star_comes_once() {
        let stars = diagonal(12, (20.0, 14.3), (30.0, 11.7), (5000.0, 900.0));
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
        let stars = diagonal(8, (25.0, 20.0), (30.0, 18.0), (3000.0, 400.0));
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
    fn the_stars_do_not_depend_on_the_band_rows() {
        let stars: Vec<(f64, f64, f64)> = (0..40)
            .map(|k| {
                let t = k as f64;
                (
                    10.0 + (t * 37.3) % 180.0,
                    8.0 + (t * 4.61) % 185.0,
                    1500.0 + 700.0 * (k % 9) as f64,
                )
            })
            .collect();
        let mut img = field(&stars);
        img[[64, 70]] += 900.0;
        img[[96, 33]] += 700.0;
        img[[97, 33]] += 600.0;
        let whole = PixelBox {
            x: 0..200,
            y: 0..200,
        };
        let p = DetectParams::default();
        let one = detect_bands(&img.view(), &whole, "f", &p, 4096).unwrap();
        assert!(one.len() >= 35, "{}", one.len());
        for rows in [32, 45, 64, 100] {
            let banded = detect_bands(&img.view(), &whole, "f", &p, rows).unwrap();
            assert_eq!(banded, one, "bands of {rows} rows");
        }
        // a section: the same stars as the section cut out, in the frame's pixels
        let section = PixelBox {
            x: 20..170,
            y: 30..190,
        };
        let inside = detect_bands(&img.view(), &section, "f", &p, 40).unwrap();
        let cut = detect(img.slice(ndarray::s![30..190, 20..170]), "f", &p).unwrap();
        assert_eq!(inside.len(), cut.len());
        for (a, b) in inside.iter().zip(&cut) {
            assert!((a.x - b.x - 20.0).abs() < 1e-9 && (a.y - b.y - 30.0).abs() < 1e-9);
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
