//! Aperture photometry: circular apertures with the exact area of overlap between circle and pixel
//! (photutils' "exact" method), an annulus background (median or sigma-clipped mean of the pixels
//! whose centres lie in it), errors from gain and read noise, and photometric scale factors.

use crate::stats::{SigmaClip, sigma_clipped_stats};
use ndarray::ArrayView2;
use serde::Serialize;

/// Integral of sqrt(r^2 - u^2) from 0 to u (|u| <= r).
fn chord_primitive(u: f64, r: f64) -> f64 {
    let u = u.clamp(-r, r);
    0.5 * (u * (r * r - u * u).max(0.0).sqrt() + r * r * (u / r).asin())
}

/// Area of the disc of radius r at the origin with X <= x and Y <= y.
fn corner_area(x: f64, y: f64, r: f64) -> f64 {
    if x <= -r || y <= -r {
        return 0.0;
    }
    let x = x.min(r);
    let full = 2.0 * (chord_primitive(x, r) - chord_primitive(-r, r)); // the disc left of x
    if y >= r {
        return full;
    }
    let w = (r * r - y * y).sqrt(); // where the chord at height y meets the circle
    let (a, b) = (-w, w.min(x));
    if b <= a {
        return if y >= 0.0 { full } else { 0.0 };
    }
    // between -w and min(w, x) the vertical chord is cut at y
    let s = chord_primitive(b, r) - chord_primitive(a, r);
    if y >= 0.0 {
        full - (s - y * (b - a))
    } else {
        s + y * (b - a)
    }
}

/// Area of overlap between the disc (cx, cy, r) and the rectangle [x0, x1] x [y0, y1].
pub fn overlap_area(cx: f64, cy: f64, r: f64, x0: f64, x1: f64, y0: f64, y1: f64) -> f64 {
    let a = |x: f64, y: f64| corner_area(x - cx, y - cy, r);
    (a(x1, y1) - a(x0, y1) - a(x1, y0) + a(x0, y0)).max(0.0)
}

/// The part of pixel (x, y) inside the disc: exactly 1 or 0 where the whole pixel is inside or
/// outside (no rounding error, however large the radius), the exact overlap on the edge.
fn pixel_weight(cx: f64, cy: f64, r: f64, x: f64, y: f64) -> f64 {
    let (dx, dy) = ((x - cx).abs(), (y - cy).abs());
    if (dx + 0.5).hypot(dy + 0.5) <= r {
        return 1.0;
    }
    if (dx - 0.5).max(0.0).hypot((dy - 0.5).max(0.0)) >= r {
        return 0.0;
    }
    overlap_area(cx, cy, r, x - 0.5, x + 0.5, y - 0.5, y + 0.5).clamp(0.0, 1.0)
}

/// Sum of the pixels in a circular aperture, each weighted by its exact overlap, and the area used
/// (pixels that are NaN count neither). Pixel (x, y) covers x-0.5..x+0.5, y-0.5..y+0.5.
pub fn aperture_sum(image: ArrayView2<f32>, cx: f64, cy: f64, r: f64) -> (f64, f64) {
    let (ny, nx) = image.dim();
    let (xa, xb) = (
        (cx - r - 0.5).floor().max(0.0) as usize,
        ((cx + r + 0.5).ceil().max(0.0) as usize + 1).min(nx),
    );
    let (ya, yb) = (
        (cy - r - 0.5).floor().max(0.0) as usize,
        ((cy + r + 0.5).ceil().max(0.0) as usize + 1).min(ny),
    );
    let (mut sum, mut area) = (0.0, 0.0);
    for y in ya..yb {
        for x in xa..xb {
            let w = pixel_weight(cx, cy, r, x as f64, y as f64);
            let v = image[[y, x]];
            if w > 0.0 && v.is_finite() {
                sum += w * v as f64;
                area += w;
            }
        }
    }
    (sum, area)
}

/// How the annulus background per pixel is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnulusStat {
    #[default]
    Median,
    /// 3-sigma clipped mean.
    ClippedMean,
}

/// One star in one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotometryRow {
    pub file: String,
    pub star: usize,
    /// 0-based position.
    pub x: f64,
    pub y: f64,
    pub aperture_sum: f64,
    pub area: f64,
    /// Background per pixel (0 without an annulus).
    pub background: f64,
    /// aperture_sum - background x area.
    pub flux: f64,
    pub flux_err: f64,
}

/// Settings of aperture photometry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApertureParams {
    pub radius: f64,
    pub annulus: Option<(f64, f64)>,
    pub annulus_stat: AnnulusStat,
    pub gain_e_per_adu: f64,
    pub read_noise_e: f64,
}

/// Photometry of one star.
pub fn measure(
    image: ArrayView2<f32>,
    file: &str,
    star: usize,
    x: f64,
    y: f64,
    p: &ApertureParams,
) -> PhotometryRow {
    let (sum, area) = aperture_sum(image, x, y, p.radius);
    let (background, sky_noise, n_sky) = match p
        .annulus
        .and_then(|(r_in, r_out)| annulus_values(image, x, y, r_in, r_out))
    {
        None if p.annulus.is_some() => (f64::NAN, f64::NAN, 0),
        None => (0.0, 0.0, 0usize),
        Some(mut v) => {
            let n = v.len();
            let stats = match p.annulus_stat {
                AnnulusStat::Median => crate::stats::median_and_mad_std(&mut v),
                AnnulusStat::ClippedMean => {
                    sigma_clipped_stats(&v, &SigmaClip::default()).map(|s| (s.mean, s.std))
                }
            };
            stats
                .map(|(b, s)| (b, s, n))
                .unwrap_or((f64::NAN, f64::NAN, 0))
        }
    };
    let flux = sum - background * area;
    // source Poisson noise (electrons), read noise and sky scatter over the aperture, and the
    // uncertainty of the sky level itself
    let g = p.gain_e_per_adu.max(1e-12);
    let var = flux.max(0.0) / g
        + area * (p.read_noise_e / g).powi(2)
        + area * sky_noise.powi(2)
        + if n_sky > 0 {
            area * area * sky_noise.powi(2) / n_sky as f64
        } else {
            0.0
        };
    PhotometryRow {
        file: file.into(),
        star,
        x,
        y,
        aperture_sum: sum,
        area,
        background,
        flux,
        flux_err: var.sqrt(),
    }
}

/// Photometry of many stars (0-based positions) in one frame, in parallel; rows in star order.
pub fn measure_all(
    image: ArrayView2<f32>,
    file: &str,
    stars: &[(f64, f64)],
    p: &ApertureParams,
) -> Vec<PhotometryRow> {
    use rayon::prelude::*;
    stars
        .par_iter()
        .enumerate()
        .map(|(k, &(x, y))| measure(image, file, k + 1, x, y, p))
        .collect()
}

fn annulus_values(
    image: ArrayView2<f32>,
    x: f64,
    y: f64,
    r_in: f64,
    r_out: f64,
) -> Option<Vec<f32>> {
    let (ny, nx) = image.dim();
    let mut v = Vec::new();
    for yy in ((y - r_out).floor().max(0.0) as usize)..(((y + r_out).ceil() as usize) + 1).min(ny) {
        for xx in
            ((x - r_out).floor().max(0.0) as usize)..(((x + r_out).ceil() as usize) + 1).min(nx)
        {
            let d2 = (xx as f64 - x).powi(2) + (yy as f64 - y).powi(2);
            let p = image[[yy, xx]];
            if d2 >= r_in * r_in && d2 < r_out * r_out && p.is_finite() {
                v.push(p);
            }
        }
    }
    (!v.is_empty()).then_some(v)
}

/// Photometric scale factor of a frame relative to the reference: the median over stars of
/// flux(frame) / flux(reference) (the ASP3231 recipe); stars with a non-positive flux are skipped.
pub fn scale_factor(reference: &[f64], frame: &[f64]) -> Option<f64> {
    let mut ratios: Vec<f32> = reference
        .iter()
        .zip(frame)
        .filter(|(r, f)| **r > 0.0 && **f > 0.0)
        .map(|(r, f)| (f / r) as f32)
        .collect();
    crate::stats::median_mut(&mut ratios)
}

/// A star's flux in a frame relative to the same star in the reference frame.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RelativeFlux {
    pub row: PhotometryRow,
    /// flux / the star's flux in the reference frame (NaN when that is not positive).
    pub ratio: f64,
}

/// Every row with its flux ratio to the reference frame's, and the scale factor of each frame:
/// the median over its stars of reference flux / flux (what brings the frame to the reference's
/// transparency, as photometric scaling multiplies it).
pub fn relative_fluxes(
    rows: &[PhotometryRow],
    reference: &str,
) -> (Vec<RelativeFlux>, Vec<(String, f64)>) {
    let reference_flux = |star: usize| {
        rows.iter()
            .find(|r| r.file == reference && r.star == star)
            .map(|r| r.flux)
            .filter(|f| *f > 0.0)
    };
    let relative: Vec<RelativeFlux> = rows
        .iter()
        .map(|r| RelativeFlux {
            row: r.clone(),
            ratio: reference_flux(r.star).map_or(f64::NAN, |f| r.flux / f),
        })
        .collect();
    let mut files: Vec<String> = Vec::new();
    for r in rows {
        if !files.contains(&r.file) {
            files.push(r.file.clone());
        }
    }
    let scales = files
        .into_iter()
        .map(|file| {
            let mut inverse: Vec<f64> = relative
                .iter()
                .filter(|r| r.row.file == file && r.ratio > 0.0)
                .map(|r| 1.0 / r.ratio)
                .collect();
            let scale = crate::stats::median_f64_mut(&mut inverse).unwrap_or(f64::NAN);
            (file, scale)
        })
        .collect();
    (relative, scales)
}

/// The table as CSV: a header line, then one line per star and frame (positions FITS 1-based).
pub fn photometry_csv(relative: &[RelativeFlux], scales: &[(String, f64)]) -> String {
    let mut s = String::from(
        "file,star,x,y,aperture_sum,area,background,flux,flux_err,ratio_to_reference,frame_scale\n",
    );
    for r in relative {
        let w = &r.row;
        let scale = scales
            .iter()
            .find(|s| s.0 == w.file)
            .map_or(f64::NAN, |s| s.1);
        s.push_str(&format!(
            "{},{},{:.3},{:.3},{},{},{},{},{},{},{}\n",
            w.file,
            w.star,
            w.x + 1.0,
            w.y + 1.0,
            w.aperture_sum,
            w.area,
            w.background,
            w.flux,
            w.flux_err,
            r.ratio,
            scale
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aperture_larger_than_the_image_sums_the_image_once() {
        let img = ndarray::Array2::<f32>::ones((64, 64));
        for r in [46.0, 1e3, 1e9] {
            let (sum, area) = aperture_sum(img.view(), 31.5, 31.5, r);
            assert_eq!((sum, area), (4096.0, 4096.0), "r {r}");
        }
        // and the edge pixels of a normal aperture still get their exact share
        let (_, area) = aperture_sum(img.view(), 31.5, 31.5, 10.0);
        assert!((area - std::f64::consts::PI * 100.0).abs() < 1e-9, "{area}");
    }

    #[test]
    fn exact_overlap_sums_to_the_disc_area() {
        let ones = ndarray::Array2::<f32>::ones((64, 64));
        for (x, y) in [(31.0, 31.0), (31.5, 31.5), (30.37, 32.81)] {
            let (s, a) = aperture_sum(ones.view(), x, y, 8.0);
            assert!(
                (s - std::f64::consts::PI * 64.0).abs() < 1e-9 && (a - s).abs() < 1e-12,
                "{x},{y}: {s}"
            );
        }
        // a pixel fully inside, a quarter disc at a corner, half a disc on an edge
        assert!((overlap_area(0.0, 0.0, 10.0, -0.5, 0.5, -0.5, 0.5) - 1.0).abs() < 1e-12);
        assert!(
            (overlap_area(0.0, 0.0, 1.0, 0.0, 5.0, 0.0, 5.0) - std::f64::consts::PI / 4.0).abs()
                < 1e-12
        );
        assert!(
            (overlap_area(0.0, 0.0, 2.0, -5.0, 5.0, 0.0, 5.0) - 2.0 * std::f64::consts::PI).abs()
                < 1e-12
        );
    }

    #[test]
    fn ramp_matches_photutils_exact() {
        // reference_256.json aperture_sanity: photutils aperture_photometry(ramp_x, r=8, method="exact")
        let ramp = ndarray::Array2::from_shape_fn((64, 64), |(_, x)| x as f32);
        for (x, y, want) in [
            (31.0, 31.0, 6232.91982472215),
            (31.5, 31.5, 6333.450789637023),
            (30.37, 32.81, 6106.435818717594),
        ] {
            let (s, _) = aperture_sum(ramp.view(), x, y, 8.0);
            assert!((s - want).abs() < 1e-9 * want, "{x},{y}: {s} vs {want}");
        }
    }

    #[test]
    fn flux_ratios_and_frame_scales_follow_the_reference_frame() {
        let row = |file: &str, star: usize, flux: f64| PhotometryRow {
            file: file.into(),
            star,
            x: 9.0,
            y: 19.0,
            aperture_sum: flux + 50.0,
            area: 10.0,
            background: 5.0,
            flux,
            flux_err: 1.0,
        };
        // frame b is 20 % dimmer (thinner sky); its third star is a variable
        let rows = vec![
            row("a", 1, 1000.0),
            row("a", 2, 500.0),
            row("a", 3, 200.0),
            row("b", 1, 800.0),
            row("b", 2, 400.0),
            row("b", 3, 300.0),
        ];
        let (relative, scales) = relative_fluxes(&rows, "a");
        assert_eq!(relative[3].ratio, 0.8);
        assert_eq!(relative[5].ratio, 1.5);
        assert_eq!(
            scales,
            vec![("a".to_string(), 1.0), ("b".to_string(), 1.25)]
        );
        let csv = photometry_csv(&relative, &scales);
        assert_eq!(csv.lines().count(), 7);
        assert!(
            csv.contains("\nb,1,10.000,20.000,850,10,5,800,1,0.8,1.25\n"),
            "{csv}"
        );
    }
}
