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

/// The median (even count: the mean of the two middle values, as [`median_mut`]) and the mean of
/// the finite values that `bands` hands over, band by band, in two passes and a fixed amount of
/// memory (two radix histograms: the top 16 bits of each value's order key, then the low 16 bits
/// within the middle's top bin). `bands` is called once per pass and feeds its values to the
/// closure it is given. `None` when there is no finite value.
pub fn streamed_median_and_mean<E>(
    mut bands: impl FnMut(&mut dyn FnMut(&[f32])) -> Result<(), E>,
) -> Result<Option<(f64, f64)>, E> {
    let mut top = vec![0u64; 1 << 16];
    let (mut n, mut sum) = (0u64, 0.0f64);
    bands(&mut |values: &[f32]| {
        for v in values.iter().filter(|v| v.is_finite()) {
            top[(order_key(*v) >> 16) as usize] += 1;
            n += 1;
            sum += *v as f64;
        }
    })?;
    if n == 0 {
        return Ok(None);
    }
    // the ranks wanted (0-based) and, for each, its top bin and rank within the bin
    let ranks: Vec<u64> = if n % 2 == 1 {
        vec![n / 2]
    } else {
        vec![n / 2 - 1, n / 2]
    };
    let place = |rank: u64| {
        let mut below = 0u64;
        for (bin, c) in top.iter().enumerate() {
            if below + c > rank {
                return (bin as u32, rank - below);
            }
            below += c;
        }
        unreachable!("rank < n")
    };
    let places: Vec<(u32, u64)> = ranks.iter().map(|r| place(*r)).collect();
    let mut low = vec![vec![0u64; 1 << 16]; places.len()];
    bands(&mut |values: &[f32]| {
        for v in values.iter().filter(|v| v.is_finite()) {
            let k = order_key(*v);
            for (h, (bin, _)) in low.iter_mut().zip(&places) {
                if k >> 16 == *bin {
                    h[(k & 0xffff) as usize] += 1;
                }
            }
        }
    })?;
    let value = |h: &[u64], (bin, rank): (u32, u64)| {
        let mut below = 0u64;
        for (lo, c) in h.iter().enumerate() {
            if below + c > rank {
                return from_order_key(bin << 16 | lo as u32) as f64;
            }
            below += c;
        }
        unreachable!("the bin holds the rank")
    };
    let vals: Vec<f64> = low.iter().zip(&places).map(|(h, p)| value(h, *p)).collect();
    let median = if vals.len() == 1 {
        vals[0]
    } else {
        0.5 * (vals[0] + vals[1])
    };
    Ok(Some((median, sum / n as f64)))
}

/// Median and 1.4826 x MAD of the values in one go (reorders the slice); `None` when empty.
pub fn median_and_mad_std(values: &mut [f32]) -> Option<(f64, f64)> {
    let med = median_mut(values)?;
    let mut dev: Vec<f64> = values.iter().map(|&v| (v as f64 - med).abs()).collect();
    Some((med, MAD_TO_SIGMA * median_f64_mut(&mut dev)?))
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

/// Add the finite values in `lo..=hi` to `counts`' equal bins over that range.
fn count_into(counts: &mut [u64], values: impl IntoIterator<Item = f32>, lo: f64, hi: f64) {
    let bins = counts.len();
    let per_unit = if hi > lo {
        bins as f64 / (hi - lo)
    } else {
        0.0
    };
    for v in values {
        let v = v as f64;
        // NaN fails both comparisons
        if v >= lo && v <= hi {
            counts[(((v - lo) * per_unit) as usize).min(bins - 1)] += 1;
        }
    }
}

/// The smallest and largest finite values of an image (rows in parallel); `None` when none is.
pub fn finite_extremes(view: ArrayView2<f32>) -> Option<(f64, f64)> {
    use ndarray::parallel::prelude::*;
    let extremes = |(l, h): (f32, f32), v: f32| (l.min(v), h.max(v));
    let none = || (f32::INFINITY, f32::NEG_INFINITY);
    let (lo, hi) = view
        .axis_iter(ndarray::Axis(0))
        .into_par_iter()
        .map(|row| {
            row.iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(none(), extremes)
        })
        .reduce(none, |a, b| (a.0.min(b.0), a.1.max(b.1)));
    (lo <= hi).then_some((lo as f64, hi as f64))
}

/// numpy's percentiles (linear rule) of an image's finite values, without copying or sorting them:
/// a radix select on the values' bit patterns (ordered like the numbers). One pass counts the top
/// 16 bits, which finds the top half of every rank needed; a second pass counts the low 16 bits of
/// the values with those tops, which pins each value exactly. The same numbers as
/// numpy's `percentile` of all the values (tested against sorting them); rows run in parallel.
/// `None` when none is finite.
pub fn image_percentiles(view: ArrayView2<f32>, ps: &[f64]) -> Option<Vec<f64>> {
    const BINS: usize = 1 << 16;
    let high = key_histogram(view, BINS, |k| Some((k >> 16) as usize));
    let n: u64 = high.iter().sum();
    if n == 0 {
        return None;
    }
    // each percentile lies between the values of ranks `rank` and `rank + 1`
    let positions: Vec<f64> = ps
        .iter()
        .map(|p| (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64)
        .collect();
    let ranks: Vec<u64> = positions
        .iter()
        .flat_map(|pos| [pos.floor() as u64, (pos.floor() as u64 + 1).min(n - 1)])
        .collect();
    let located: Vec<(usize, u64)> = ranks.iter().map(|&r| locate(&high, r)).collect();
    let mut prefixes: Vec<usize> = located.iter().map(|l| l.0).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let low = key_histogram(view, prefixes.len() * BINS, |k| {
        let slot = prefixes.binary_search(&((k >> 16) as usize)).ok()?;
        Some(slot * BINS + (k & 0xffff) as usize)
    });
    let value = |(prefix, rank): (usize, u64)| {
        let slot = prefixes.binary_search(&prefix).expect("a located prefix");
        let (bits, _) = locate(&low[slot * BINS..(slot + 1) * BINS], rank);
        from_order_key(((prefix as u32) << 16) | bits as u32) as f64
    };
    let found = positions
        .iter()
        .zip(located.chunks(2))
        .map(|(pos, pair)| {
            let (a, b) = (value(pair[0]), value(pair[1]));
            a + (b - a) * (pos - pos.floor())
        })
        .collect();
    Some(found)
}

/// A u32 that orders like the f32 (the IEEE total order: negative values' bits flipped).
fn order_key(v: f32) -> u32 {
    let bits = v.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// Counts over `bins` bins of the finite values' order keys, binned by `bin` (`None`: not counted).
fn key_histogram(
    view: ArrayView2<f32>,
    bins: usize,
    bin: impl Fn(u32) -> Option<usize> + Sync,
) -> Vec<u64> {
    use ndarray::parallel::prelude::*;
    let empty = || vec![0u64; bins];
    view.axis_iter(ndarray::Axis(0))
        .into_par_iter()
        .fold(empty, |mut counts, row| {
            for &v in row.iter().filter(|v| v.is_finite()) {
                if let Some(b) = bin(order_key(v)) {
                    counts[b] += 1;
                }
            }
            counts
        })
        .reduce(empty, |mut a, b| {
            a.iter_mut().zip(b).for_each(|(c, n)| *c += n);
            a
        })
}

/// The bin holding the value of rank `rank` (0-based) and its rank within the bin.
fn locate(counts: &[u64], mut rank: u64) -> (usize, u64) {
    for (b, &c) in counts.iter().enumerate() {
        if rank < c {
            return (b, rank);
        }
        rank -= c;
    }
    unreachable!("rank beyond the counts")
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
        let mut counts = vec![0u64; bins.max(1)];
        count_into(&mut counts, values, lo, hi);
        Histogram { lo, hi, counts }
    }

    /// Histogram of an image's finite values, its rows counted in parallel.
    pub fn of_image(view: ArrayView2<f32>, bins: usize, lo: f64, hi: f64) -> Histogram {
        use ndarray::parallel::prelude::*;
        let empty = || vec![0u64; bins.max(1)];
        let counts = view
            .axis_iter(ndarray::Axis(0))
            .into_par_iter()
            .fold(empty, |mut counts, row| {
                count_into(&mut counts, row.iter().copied(), lo, hi);
                counts
            })
            .reduce(empty, |mut a, b| {
                a.iter_mut().zip(b).for_each(|(c, n)| *c += n);
                a
            });
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
    fn the_streamed_median_and_mean_equal_the_in_memory_ones() {
        let mut rng = crate::sample::Rng::new(4);
        for n in [1usize, 2, 3, 10, 1001, 4096] {
            let mut v: Vec<f32> = (0..n)
                .map(|i| match i % 7 {
                    0 => f32::NAN,
                    1 => -(rng.normal(3.0, 100.0) as f32),
                    2 => 500.0, // many equal values
                    _ => rng.normal(1000.0, 30.0) as f32,
                })
                .collect();
            v.push(0.0);
            v.push(-0.0);
            let finite: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
            let streamed = streamed_median_and_mean::<()>(|f| {
                v.chunks(37).for_each(&mut *f);
                Ok(())
            })
            .unwrap()
            .unwrap();
            let mut copy = finite.clone();
            assert_eq!(streamed.0, median_mut(&mut copy).unwrap(), "n {n}");
            assert_eq!(streamed.1, mean(&finite).unwrap(), "n {n}");
        }
        assert_eq!(
            streamed_median_and_mean::<()>(|f| {
                f(&[f32::NAN]);
                Ok(())
            })
            .unwrap(),
            None
        );
    }

    /// The reference: numpy's default (linear) percentile of already sorted values, `p` in 0..=100.
    fn percentile_sorted(sorted: &[f32], p: f64) -> Option<f64> {
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
    fn image_percentiles_equal_percentiles_of_all_values_sorted() {
        // ties, a NaN, an infinity, an outlier far above (most values share few of the 2^16 bins)
        let mut values: Vec<f32> = (0..5000u32)
            .map(|i| ((i * 7919) % 613) as f32 * 0.5)
            .collect();
        values[17] = f32::NAN;
        values[18] = f32::INFINITY;
        values[19] = 1e9;
        let image = ndarray::Array2::from_shape_vec((50, 100), values.clone()).unwrap();
        let mut sorted: Vec<f32> = values.into_iter().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f32::total_cmp);
        let ps = [0.0, 0.25, 0.5, 5.0, 37.3, 50.0, 99.5, 99.75, 99.99, 100.0];
        let want: Vec<f64> = ps
            .iter()
            .map(|&p| percentile_sorted(&sorted, p).unwrap())
            .collect();
        assert_eq!(image_percentiles(image.view(), &ps), Some(want));
        // negative values and both zeros order as numbers
        let signed =
            ndarray::Array2::from_shape_vec((1, 5), vec![-0.0, 3.0, -2.5, 0.0, -1e-30]).unwrap();
        assert_eq!(
            image_percentiles(signed.view(), &[0.0, 25.0, 100.0]),
            Some(vec![-2.5, -1e-30f32 as f64, 3.0])
        );
        let flat = ndarray::Array2::from_elem((3, 3), 2.5f32);
        assert_eq!(image_percentiles(flat.view(), &[90.0]), Some(vec![2.5]));
        let blank = ndarray::Array2::from_elem((3, 3), f32::NAN);
        assert_eq!(image_percentiles(blank.view(), &[90.0]), None);
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
