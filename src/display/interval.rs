//! Display intervals: minmax, zscale (astropy's ZScaleInterval, exactly), percentile, manual limits.

use crate::stats::{finite_extremes, image_percentiles, median_mut};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// astropy's ZScaleInterval parameters; `Default` gives astropy's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZScale {
    pub n_samples: usize,
    pub contrast: f64,
    pub max_reject: f64,
    pub min_npixels: usize,
    pub krej: f64,
    pub max_iterations: usize,
}

impl Default for ZScale {
    fn default() -> Self {
        ZScale {
            n_samples: 1000,
            contrast: 0.25,
            max_reject: 0.5,
            min_npixels: 5,
            krej: 2.5,
            max_iterations: 5,
        }
    }
}

/// How the low and high display limits are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Interval {
    MinMax,
    ZScale(ZScale),
    /// The central `p` percent of the finite values (astropy's PercentileInterval).
    Percentile(f64),
    Manual {
        low: f64,
        high: f64,
    },
}

/// The display limits (low, high) of an image; `None` when it has no finite pixel.
pub fn limits(view: ArrayView2<f32>, interval: &Interval) -> Option<(f64, f64)> {
    match interval {
        Interval::MinMax => finite_extremes(view),
        Interval::ZScale(z) => zscale(view, z),
        Interval::Percentile(p) => {
            let lower = (100.0 - p) / 2.0;
            let found = image_percentiles(view, &[lower, 100.0 - lower])?;
            Some((found[0], found[1]))
        }
        Interval::Manual { low, high } => Some((*low, *high)),
    }
}

/// Every `stride`-th finite value (row-major), the first `n_samples` of them, as astropy samples.
fn zscale_samples(view: ArrayView2<f32>, n_samples: usize) -> Vec<f32> {
    let n_finite = count_finite(view);
    let stride = ((n_finite as f64 / n_samples as f64).max(1.0)) as usize;
    match view.as_slice() {
        // every value finite: the k-th finite value is the k-th value, no need to walk them all
        Some(values) if n_finite == values.len() => values
            .iter()
            .copied()
            .step_by(stride)
            .take(n_samples)
            .collect(),
        _ => view
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .step_by(stride)
            .take(n_samples)
            .collect(),
    }
}

/// How many values are finite, rows counted in parallel.
fn count_finite(view: ArrayView2<f32>) -> usize {
    use ndarray::parallel::prelude::*;
    view.axis_iter(ndarray::Axis(0))
        .into_par_iter()
        .map(|row| row.iter().filter(|v| v.is_finite()).count())
        .sum()
}

/// Least-squares line `intercept + slope * x` through the points where `bad` is false.
fn fit_line(samples: &[f64], bad: &[bool]) -> (f64, f64) {
    let good = || samples.iter().enumerate().filter(|(i, _)| !bad[*i]);
    let n = good().count() as f64;
    let (sx, sy) = good().fold((0.0, 0.0), |(sx, sy), (i, &y)| (sx + i as f64, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxx, sxy) = good().fold((0.0, 0.0), |(sxx, sxy), (i, &y)| {
        let dx = i as f64 - mx;
        (sxx + dx * dx, sxy + dx * (y - my))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// Mark every sample within the window numpy's `convolve(bad, ones(ngrow), 'same')` covers.
fn dilate(bad: &[bool], ngrow: usize) -> Vec<bool> {
    let n = bad.len();
    // out[i] = any(bad[i - ngrow/2 ..= i + (ngrow-1)/2])
    let (behind, ahead) = (ngrow / 2, (ngrow - 1) / 2);
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(behind);
            let hi = (i + ahead).min(n - 1);
            bad[lo..=hi].iter().any(|&b| b)
        })
        .collect()
}

/// IRAF's zscale as astropy implements it: sample, sort, fit a line with iterative k-sigma
/// rejection (grown by 1% of the samples), and spread the median by slope / contrast.
pub fn zscale(view: ArrayView2<f32>, z: &ZScale) -> Option<(f64, f64)> {
    let mut samples32 = zscale_samples(view, z.n_samples);
    if samples32.is_empty() {
        return None;
    }
    samples32.sort_unstable_by(f32::total_cmp);
    let samples: Vec<f64> = samples32.iter().map(|&v| v as f64).collect();
    let npix = samples.len();
    let (mut vmin, mut vmax) = (samples[0], samples[npix - 1]);
    let minpix = z.min_npixels.max((npix as f64 * z.max_reject) as usize);
    let ngrow = ((npix as f64 * 0.01) as usize).max(1);
    let mut bad = vec![false; npix];
    let (mut ngood, mut last_ngood) = (npix, npix + 1);
    let mut slope = None;
    for _ in 0..z.max_iterations {
        if ngood >= last_ngood || ngood < minpix {
            break;
        }
        let (intercept, s) = fit_line(&samples, &bad);
        slope = Some(s);
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, &y)| y - (intercept + s * i as f64))
            .collect();
        let good_flat: Vec<f64> = flat
            .iter()
            .zip(&bad)
            .filter(|(_, b)| !**b)
            .map(|(f, _)| *f)
            .collect();
        let m = good_flat.iter().sum::<f64>() / good_flat.len() as f64;
        let sd = (good_flat.iter().map(|f| (f - m).powi(2)).sum::<f64>() / good_flat.len() as f64)
            .sqrt();
        let threshold = z.krej * sd;
        for (b, f) in bad.iter_mut().zip(&flat) {
            if *f < -threshold || *f > threshold {
                *b = true;
            }
        }
        bad = dilate(&bad, ngrow);
        last_ngood = ngood;
        ngood = bad.iter().filter(|b| !**b).count();
    }
    if let Some(mut slope) = slope.filter(|_| ngood >= minpix) {
        if z.contrast > 0.0 {
            slope /= z.contrast;
        }
        let center = ((npix - 1) / 2) as f64;
        let median = median_mut(&mut samples32)?;
        vmin = vmin.max(median - (center - 1.0) * slope);
        vmax = vmax.min(median + (npix as f64 - center) * slope);
    }
    Some((vmin, vmax))
}

/// The histogram the viewer shows under the image: up to `bins` bins over the display limits
/// widened by a quarter of their span on each side, so the limits can be dragged past where they
/// are. Integer data (raw counts) get whole-number bins centred on the integers, so no bin is
/// empty only because no integer falls in it.
pub fn histogram_around(
    view: ArrayView2<f32>,
    (low, high): (f64, f64),
    bins: usize,
) -> crate::stats::Histogram {
    let margin = if high > low { (high - low) / 4.0 } else { 1.0 };
    let (lo, hi) = (low - margin, high + margin);
    if !holds_integers(view) {
        return crate::stats::Histogram::of_image(view, bins, lo, hi);
    }
    let lo = lo.floor() - 0.5;
    let width = ((hi.ceil() + 0.5 - lo) / bins.max(1) as f64)
        .ceil()
        .max(1.0);
    let n = ((hi.ceil() + 0.5 - lo) / width).ceil() as usize;
    crate::stats::Histogram::of_image(view, n, lo, lo + n as f64 * width)
}

/// True when a sample of up to 1000 finite values, spread over the image, are all whole numbers.
fn holds_integers(view: ArrayView2<f32>) -> bool {
    let step = (view.len() / 1000).max(1);
    let mut sample = view
        .iter()
        .step_by(step)
        .filter(|v| v.is_finite())
        .peekable();
    sample.peek().is_some() && sample.all(|v| v.fract() == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_viewer_histogram_spans_the_limits_with_margins() {
        let data = Array2::from_shape_fn((10, 10), |(y, x)| (10 * y + x) as f32 + 0.25);
        let h = histogram_around(data.view(), (20.0, 60.0), 8);
        assert_eq!((h.lo, h.hi), (10.0, 70.0));
        // values 10.25..=69.25 are counted, the rest are outside
        assert_eq!(h.counts.iter().sum::<u64>(), 60);
        assert_eq!(h.counts.len(), 8);
        let flat = histogram_around(data.view(), (5.0, 5.0), 4);
        assert_eq!((flat.lo, flat.hi), (4.0, 6.0));
    }

    #[test]
    fn integer_data_get_whole_number_bins_without_gaps() {
        // raw counts 100..=199, limits 120..160: 61 integer values over up to 40 bins
        let data = Array2::from_shape_fn((10, 10), |(y, x)| (100 + 10 * y + x) as f32);
        let h = histogram_around(data.view(), (120.0, 160.0), 40);
        assert_eq!(h.lo, 109.5);
        let width = (h.hi - h.lo) / h.counts.len() as f64;
        assert_eq!(width, 2.0);
        assert!(h.hi >= 170.5);
        // every value in range lands in a bin of exactly two integers: no empty comb teeth
        assert!(h.counts.iter().all(|&c| c == 2), "{:?}", h.counts);
    }

    #[test]
    fn zscale_samples_the_finite_values_whether_or_not_nans_sit_between_them() {
        let values: Vec<f32> = (0..5000u32).map(|i| ((i * 7919) % 1013) as f32).collect();
        let all_finite = Array2::from_shape_vec((50, 100), values.clone()).unwrap();
        // the same values in order with a NaN after every fourth (and a strided, non-contiguous view)
        let mut with_nans = Vec::new();
        for (i, v) in values.iter().enumerate() {
            with_nans.push(*v);
            if i % 4 == 3 {
                with_nans.push(f32::NAN);
            }
        }
        let with_nans = Array2::from_shape_vec((50, 125), with_nans).unwrap();
        let z = ZScale::default();
        assert_eq!(
            zscale_samples(all_finite.view(), 1000),
            zscale_samples(with_nans.view(), 1000)
        );
        assert_eq!(zscale(all_finite.view(), &z), zscale(with_nans.view(), &z));
        let wide = Array2::from_shape_fn((50, 200), |(y, x)| {
            if x % 2 == 0 {
                values[y * 100 + x / 2]
            } else {
                -1.0
            }
        });
        let strided = wide.slice(ndarray::s![.., ..;2]);
        assert_eq!(zscale(strided, &z), zscale(all_finite.view(), &z));
    }

    #[test]
    fn dilate_matches_numpy_convolve_same() {
        let bad = [false, true, false, false, false, false];
        assert_eq!(
            dilate(&bad, 2),
            vec![false, true, true, false, false, false]
        );
        assert_eq!(dilate(&bad, 3), vec![true, true, true, false, false, false]);
    }

    #[test]
    fn zscale_of_a_ramp_is_its_range_and_nan_is_ignored() {
        let mut a = Array2::from_shape_fn((50, 50), |(y, x)| (y * 50 + x) as f32);
        a[[0, 0]] = f32::NAN;
        let (lo, hi) = zscale(a.view(), &ZScale::default()).unwrap();
        // stride int(2499/1000) = 2 over the finite values 1..=2499, first 1000: 1, 3, ..., 1999
        assert_eq!((lo, hi), (1.0, 1999.0));
    }

    #[test]
    fn percentile_and_minmax() {
        let a = Array2::from_shape_fn((1, 101), |(_, x)| x as f32);
        assert_eq!(limits(a.view(), &Interval::MinMax), Some((0.0, 100.0)));
        assert_eq!(
            limits(a.view(), &Interval::Percentile(90.0)),
            Some((5.0, 95.0))
        );
        assert_eq!(
            limits(
                Array2::<f32>::from_elem((2, 2), f32::NAN).view(),
                &Interval::MinMax
            ),
            None
        );
    }
}
