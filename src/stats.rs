//! NaN-aware statistics: median (even count: mean of the two middle values), mean, std (ddof 0),
//! mad_std, sigma-clipped statistics (astropy's semantics), percentiles (numpy's linear rule), histograms.

use ndarray::ArrayView2;
use serde::Serialize;

/// The constant that turns a median absolute deviation into a Gaussian sigma (astropy's mad_std).
pub const MAD_TO_SIGMA: f64 = 1.482602218505602;

/// The finite values of an image, row by row.
pub fn finite_values(view: ArrayView2<f32>) -> Vec<f32> {
    view.iter().copied().filter(|v| v.is_finite()).collect()
}

/// Median of finite values, reordering the slice (callers pass a scratch copy); `None` when empty.
pub fn median_mut(values: &mut [f32]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = *upper as f64;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower_max = lower.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    Some(0.5 * (lower_max + upper))
}

/// Median of f64 values (reorders the slice).
pub fn median_f64_mut(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower_max = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(0.5 * (lower_max + upper))
}

/// Mean in f64; `None` when empty.
pub fn mean(values: &[f32]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64)
}

/// Population standard deviation (ddof = 0), two-pass in f64; `None` when empty.
pub fn std(values: &[f32]) -> Option<f64> {
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|&v| (v as f64 - m).powi(2)).sum();
    Some((ss / values.len() as f64).sqrt())
}

/// 1.482602218505602 x median(|x - median(x)|); `None` when empty.
pub fn mad_std(values: &[f32]) -> Option<f64> {
    let mut scratch = values.to_vec();
    let med = median_mut(&mut scratch)?;
    let mut dev: Vec<f64> = values.iter().map(|&v| (v as f64 - med).abs()).collect();
    Some(MAD_TO_SIGMA * median_f64_mut(&mut dev)?)
}

/// Median and 1.4826 x MAD of the values in one go (reorders the slice); `None` when empty.
pub fn median_and_mad_std(values: &mut [f32]) -> Option<(f64, f64)> {
    let med = median_mut(values)?;
    let mut dev: Vec<f64> = values.iter().map(|&v| (v as f64 - med).abs()).collect();
    Some((med, MAD_TO_SIGMA * median_f64_mut(&mut dev)?))
}

/// numpy's default (linear) percentile of already sorted values, `p` in 0..=100.
pub fn percentile_sorted(sorted: &[f32], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    let a = sorted[i] as f64;
    if i + 1 >= n {
        return Some(a);
    }
    let b = sorted[i + 1] as f64;
    Some(a + (b - a) * frac)
}

/// The centre a sigma clip measures deviations from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Centre {
    Median,
    Mean,
}

/// The spread a sigma clip scales its thresholds by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deviation {
    /// Standard deviation, ddof = 0.
    Std,
    /// 1.4826 x the median absolute deviation.
    MadStd,
}

/// Sigma-clipping parameters; the default is astropy's `sigma_clipped_stats` (3 sigma, 5 iterations, median, std).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaClip {
    pub sigma_lower: f64,
    pub sigma_upper: f64,
    /// `None` iterates until nothing changes.
    pub max_iterations: Option<usize>,
    pub centre: Centre,
    pub deviation: Deviation,
}

impl Default for SigmaClip {
    fn default() -> Self {
        SigmaClip {
            sigma_lower: 3.0,
            sigma_upper: 3.0,
            max_iterations: Some(5),
            centre: Centre::Median,
            deviation: Deviation::Std,
        }
    }
}

/// What survives a sigma clip, summarised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClippedStats {
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub n_used: usize,
    pub n_rejected: usize,
}

fn centre_of(values: &[f32], centre: Centre) -> Option<f64> {
    match centre {
        Centre::Median => median_mut(&mut values.to_vec()),
        Centre::Mean => mean(values),
    }
}

fn deviation_of(values: &[f32], deviation: Deviation) -> Option<f64> {
    match deviation {
        Deviation::Std => std(values),
        Deviation::MadStd => mad_std(values),
    }
}

/// Sigma-clipped mean, median and std of the finite values, as astropy's `sigma_clipped_stats`:
/// values outside `centre - sigma_lower*dev ..= centre + sigma_upper*dev` are dropped, repeatedly.
pub fn sigma_clipped_stats(values: &[f32], clip: &SigmaClip) -> Option<ClippedStats> {
    let mut kept: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n_finite = kept.len();
    let mut iteration = 0;
    loop {
        if clip.max_iterations.is_some_and(|m| iteration >= m) {
            break;
        }
        iteration += 1;
        let c = centre_of(&kept, clip.centre)?;
        let d = deviation_of(&kept, clip.deviation)?;
        let (lo, hi) = (c - clip.sigma_lower * d, c + clip.sigma_upper * d);
        let before = kept.len();
        kept.retain(|&v| (v as f64) >= lo && (v as f64) <= hi);
        if kept.len() == before {
            break;
        }
    }
    Some(ClippedStats {
        mean: mean(&kept)?,
        median: median_mut(&mut kept.clone())?,
        std: std(&kept)?,
        n_used: kept.len(),
        n_rejected: n_finite - kept.len(),
    })
}

/// Counts of values in `bins` equal bins over `lo..=hi` (values outside are not counted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Histogram of the finite values (numpy's rule: the last bin includes `hi`).
    pub fn of(values: impl IntoIterator<Item = f32>, bins: usize, lo: f64, hi: f64) -> Histogram {
        let bins = bins.max(1);
        let mut counts = vec![0u64; bins];
        let width = hi - lo;
        for v in values {
            let v = v as f64;
            if !v.is_finite() || v < lo || v > hi {
                continue;
            }
            let i = if width > 0.0 {
                (((v - lo) / width) * bins as f64) as usize
            } else {
                0
            };
            counts[i.min(bins - 1)] += 1;
        }
        Histogram { lo, hi, counts }
    }

    /// The left edge of bin `i`.
    pub fn bin_edge(&self, i: usize) -> f64 {
        self.lo + (self.hi - self.lo) * i as f64 / self.counts.len() as f64
    }
}

/// The statistics `skycomb stats` prints for an image or section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Finite pixels.
    pub count: usize,
    /// NaN (and infinite) pixels.
    pub nan_count: usize,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub std: Option<f64>,
    pub mad_std: Option<f64>,
}

/// Summary statistics over the finite pixels of an image.
pub fn summarize(view: ArrayView2<f32>) -> Summary {
    let mut values = finite_values(view);
    let nan_count = view.len() - values.len();
    let (min, max) = values
        .iter()
        .fold((None::<f64>, None::<f64>), |(lo, hi), &v| {
            let v = v as f64;
            (
                Some(lo.map_or(v, |l| l.min(v))),
                Some(hi.map_or(v, |h| h.max(v))),
            )
        });
    let mean_v = mean(&values);
    let std_v = std(&values);
    let mad = mad_std(&values);
    Summary {
        count: values.len(),
        nan_count,
        min,
        max,
        mean: mean_v,
        median: median_mut(&mut values),
        std: std_v,
        mad_std: mad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_empty() {
        assert_eq!(median_mut(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_mut(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_mut(&mut []), None);
    }

    #[test]
    fn mad_std_and_std_match_hand_values() {
        let v = [1.0f32, 2.0, 3.0, 4.0, 100.0];
        // median 3, |dev| = 2,1,0,1,97 -> median 1
        assert!((mad_std(&v).unwrap() - MAD_TO_SIGMA).abs() < 1e-12);
        let s = std(&[1.0, 3.0]).unwrap();
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn percentile_follows_numpy_linear_rule() {
        let s = [1.0f32, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&s, 50.0), Some(2.5));
        assert_eq!(percentile_sorted(&s, 100.0), Some(4.0));
        assert!((percentile_sorted(&s, 10.0).unwrap() - 1.3).abs() < 1e-12);
    }

    #[test]
    fn sigma_clip_drops_outlier_and_ignores_nan() {
        let mut v: Vec<f32> = (0..100).map(|i| 10.0 + (i % 5) as f32 * 0.1).collect();
        v.push(1000.0);
        v.push(f32::NAN);
        let c = sigma_clipped_stats(&v, &SigmaClip::default()).unwrap();
        assert_eq!(c.n_rejected, 1);
        assert_eq!(c.n_used, 100);
        assert!((c.mean - 10.2).abs() < 1e-6);
    }

    #[test]
    fn histogram_counts_including_upper_edge() {
        let h = Histogram::of([0.0, 0.5, 1.0, 2.0, f32::NAN], 2, 0.0, 1.0);
        assert_eq!(h.counts, vec![1, 2]);
        assert_eq!(h.bin_edge(1), 0.5);
    }

    #[test]
    fn summary_counts_nans() {
        let a = ndarray::array![[1.0f32, f32::NAN], [3.0, 5.0]];
        let s = summarize(a.view());
        assert_eq!((s.count, s.nan_count), (3, 1));
        assert_eq!(s.median, Some(3.0));
        assert_eq!((s.min, s.max), (Some(1.0), Some(5.0)));
    }
}
