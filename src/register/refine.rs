//! Refining offsets by cross-correlation of sub-images around bright stars of the reference frame,
//! with a sub-pixel peak (a parabola through the logarithm of the correlation, i.e. a Gaussian).

use super::detect::Star;
use super::offsets::robust_mean;
use ndarray::{Array2, ArrayView2};

/// A background-subtracted (median) square sub-image of side 2 half + 1 centred on (cx, cy), or
/// `None` when it leaves the image or holds a NaN.
fn sub_image(img: ArrayView2<f32>, cx: i64, cy: i64, half: i64) -> Option<Array2<f64>> {
    let (ny, nx) = img.dim();
    if cx - half < 0 || cy - half < 0 || cx + half >= nx as i64 || cy + half >= ny as i64 {
        return None;
    }
    let s = img.slice(ndarray::s![
        (cy - half) as usize..=(cy + half) as usize,
        (cx - half) as usize..=(cx + half) as usize
    ]);
    if s.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut v: Vec<f32> = s.iter().copied().collect();
    let med = crate::stats::median_mut(&mut v)?;
    Some(s.mapv(|p| p as f64 - med))
}

fn correlation(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b.iter()) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 0.0 && bb > 0.0 {
        ab / (aa * bb).sqrt()
    } else {
        f64::NAN
    }
}

/// Sub-pixel position of a peak from three samples (at -1, 0, +1): a parabola through their logs.
fn peak_offset(m: f64, c: f64, p: f64) -> f64 {
    let (lm, lc, lp) = if m > 0.0 && c > 0.0 && p > 0.0 {
        (m.ln(), c.ln(), p.ln())
    } else {
        (m, c, p)
    };
    let d = lm - 2.0 * lc + lp;
    if d >= 0.0 {
        0.0
    } else {
        (0.5 * (lm - lp) / d).clamp(-0.5, 0.5)
    }
}

/// Refine a frame's offset from `guess` (frame - reference, px): for each of the reference's
/// brightest stars, the integer shift within +-`search` px that maximises the correlation of the
/// sub-images, then its sub-pixel peak; the robust mean over the stars. Returns (dx, dy, stars used).
pub fn refine_offset(
    reference: ArrayView2<f32>,
    frame: ArrayView2<f32>,
    stars: &[Star],
    guess: (f64, f64),
    half: usize,
    search: i64,
) -> Option<(f64, f64, usize)> {
    let half = half as i64;
    let (gx, gy) = (guess.0.round() as i64, guess.1.round() as i64);
    let (mut dx, mut dy) = (Vec::new(), Vec::new());
    for s in stars.iter().take(15) {
        let (cx, cy) = (s.x.round() as i64, s.y.round() as i64);
        let Some(r) = sub_image(reference, cx, cy, half) else {
            continue;
        };
        let n = (2 * search + 1) as usize;
        let mut c = Array2::<f64>::from_elem((n, n), f64::NAN);
        for j in -search..=search {
            for i in -search..=search {
                if let Some(f) = sub_image(frame, cx + gx + i, cy + gy + j, half) {
                    c[[(j + search) as usize, (i + search) as usize]] = correlation(&r, &f);
                }
            }
        }
        let Some(((py, px), best)) = c
            .indexed_iter()
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.total_cmp(b.1))
        else {
            continue;
        };
        if *best < 0.5 || px == 0 || py == 0 || px + 1 == n || py + 1 == n {
            continue; // no clear peak inside the search window
        }
        let sx = peak_offset(c[[py, px - 1]], c[[py, px]], c[[py, px + 1]]);
        let sy = peak_offset(c[[py - 1, px]], c[[py, px]], c[[py + 1, px]]);
        dx.push((gx + px as i64 - search) as f64 + sx);
        dy.push((gy + py as i64 - search) as f64 + sy);
    }
    (dx.len() >= 2).then(|| (robust_mean(&dx), robust_mean(&dy), dx.len()))
}
