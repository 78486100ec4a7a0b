//! The per-pixel kernel: which of a pixel's N values are rejected and why, and the combined value,
//! under skycomb's own rules or ccdproc.combine's exact behaviour (IRAF's exact rules: iraf.rs).

use super::clip_rules;
use super::params::{CombineParams, Keep, Method, Rejection, Semantics, SigmaRule, Spread};
use crate::stats::{Centre, MAD_TO_SIGMA};

/// Why a value at a pixel was not used (stored per frame and pixel as a u8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    Kept = 0,
    /// NaN (or infinite) input: a masked pixel.
    Missing = 1,
    /// Outside the min/max value thresholds.
    Threshold = 2,
    /// Among the nlow lowest or nhigh highest.
    Extrema = 3,
    /// Outside the sigma-type rule's bounds.
    Sigma = 4,
    /// Within the grow radius of a rejected pixel of the same frame.
    Grow = 5,
}

/// Number of [`Reason`] values.
pub const N_REASONS: usize = 6;

/// Per-frame numbers the kernel needs: `scaled = raw * scale + zero`.
#[derive(Debug, Clone)]
pub struct FrameFactors {
    pub scale: Vec<f64>,
    pub zero: Vec<f64>,
    pub weight: Option<Vec<f64>>,
    /// Mean of `scale` and of `zero`, for the CCD noise model.
    pub mean_scale: f64,
    pub mean_zero: f64,
    /// IRAF semantics: IRAF's own factors and rules, in its precision.
    pub iraf: Option<Box<super::iraf::IrafRules>>,
    /// The least spread a clip may use: one value's noise from frame to frame (0: none).
    pub noise_floor: f64,
    /// The scaled frames' typical level (the first frame's median), where `noise_floor` was met.
    pub background: f64,
}

/// Centres within this many noise floors of the background are at sky level.
const SKY_BAND: f64 = 3.0;
/// At sky level a spread is never above this many noise floors.
const SKY_SPREAD_CAP: f64 = 1.5;

impl FrameFactors {
    /// No scaling, no offsets, no weights.
    pub fn unit(n: usize) -> FrameFactors {
        FrameFactors::new(vec![1.0; n], vec![0.0; n], None)
    }

    pub fn new(scale: Vec<f64>, zero: Vec<f64>, weight: Option<Vec<f64>>) -> FrameFactors {
        let n = scale.len().max(1) as f64;
        let mean_scale = scale.iter().sum::<f64>() / n;
        let mean_zero = zero.iter().sum::<f64>() / n;
        FrameFactors {
            scale,
            zero,
            weight,
            mean_scale,
            mean_zero,
            iraf: None,
            noise_floor: 0.0,
            background: 0.0,
        }
    }

    /// skycomb's default spread from the values' 1.4826 MAD: never below the noise from frame to
    /// frame, and at sky level never above 1.5 times it either: there two hits among five values can
    /// swell the MAD, while no seeing change can (star pixels keep their own spread).
    pub fn floored_spread(&self, mad_std: f64, centre: f64) -> f64 {
        let s = mad_std.max(self.noise_floor);
        if self.noise_floor > 0.0 && (centre - self.background).abs() < SKY_BAND * self.noise_floor
        {
            s.min(SKY_SPREAD_CAP * self.noise_floor)
        } else {
            s
        }
    }
}

/// Reusable buffers, one per worker thread.
#[derive(Debug, Default)]
pub struct Scratch {
    pairs: Vec<(f64, u32)>,
    tmp: Vec<f64>,
    keys: Vec<u64>,
    sorted: Vec<f64>,
}

/// An order-preserving integer key of an f64 (negative values flipped), so sorting keys sorts values.
#[inline]
fn f64_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline]
fn key_f64(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sort `values` into `s.sorted` through integer keys (the standard library sorts those with
/// branch-free networks, several times faster than comparing floats for the small stacks here).
fn sort_values(values: impl Iterator<Item = f64>, s: &mut Scratch) {
    s.keys.clear();
    s.keys.extend(values.map(f64_key));
    s.keys.sort_unstable();
    s.sorted.clear();
    s.sorted.extend(s.keys.iter().map(|&k| key_f64(k)));
}

/// Median of sorted plain values.
fn median_plain(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// 1.4826 x MAD of sorted plain values: deviations are >= 0, so their bits sort as they do.
fn mad_std_plain(v: &[f64], keys: &mut Vec<u64>) -> f64 {
    let med = median_plain(v);
    keys.clear();
    keys.extend(v.iter().map(|x| (x - med).abs().to_bits()));
    keys.sort_unstable();
    let n = keys.len();
    let mad = if n % 2 == 1 {
        f64::from_bits(keys[n / 2])
    } else {
        0.5 * (f64::from_bits(keys[n / 2 - 1]) + f64::from_bits(keys[n / 2]))
    };
    MAD_TO_SIGMA * mad
}

fn std_plain(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

/// Sort (value, frame) pairs by value; insertion sort for the usual small stacks.
pub(crate) fn sort_pairs(p: &mut [(f64, u32)]) {
    if p.len() > 24 {
        p.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        return;
    }
    for i in 1..p.len() {
        let x = p[i];
        let mut j = i;
        while j > 0 && p[j - 1].0 > x.0 {
            p[j] = p[j - 1];
            j -= 1;
        }
        p[j] = x;
    }
}

/// Median of sorted values (even count: mean of the two middle ones).
fn median_sorted(v: &[(f64, u32)]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2].0
    } else {
        0.5 * (v[n / 2 - 1].0 + v[n / 2].0)
    }
}

fn mean_of(v: &[(f64, u32)]) -> f64 {
    v.iter().map(|p| p.0).sum::<f64>() / v.len() as f64
}

fn std_of(v: &[(f64, u32)]) -> f64 {
    let m = mean_of(v);
    (v.iter().map(|p| (p.0 - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

/// 1.4826 x MAD of sorted values: the deviations from the median come out sorted by merging the
/// two sides, so no second sort is needed.
fn mad_std_sorted(v: &[(f64, u32)], tmp: &mut Vec<f64>) -> f64 {
    let n = v.len();
    let med = median_sorted(v);
    tmp.clear();
    let split = v.partition_point(|p| p.0 < med);
    let (mut l, mut r) = (split as isize - 1, split);
    while tmp.len() < n {
        let dl = if l >= 0 {
            med - v[l as usize].0
        } else {
            f64::INFINITY
        };
        let dr = if r < n { v[r].0 - med } else { f64::INFINITY };
        if dl <= dr {
            tmp.push(dl);
            l -= 1;
        } else {
            tmp.push(dr);
            r += 1;
        }
    }
    let mad = if n % 2 == 1 {
        tmp[n / 2]
    } else {
        0.5 * (tmp[n / 2 - 1] + tmp[n / 2])
    };
    MAD_TO_SIGMA * mad
}

fn centre_of(v: &[(f64, u32)], centre: Centre) -> f64 {
    match centre {
        Centre::Median => median_sorted(v),
        Centre::Mean => mean_of(v),
    }
}

fn spread_of(
    v: &[(f64, u32)],
    rule: &SigmaRule,
    centre: f64,
    f: &FrameFactors,
    tmp: &mut Vec<f64>,
) -> f64 {
    match rule.spread {
        Spread::Std => std_of(v),
        Spread::MadStd => mad_std_sorted(v, tmp),
        Spread::MadStdFloor => f.floored_spread(mad_std_sorted(v, tmp), centre),
        Spread::Winsorized => {
            let values: Vec<f64> = v.iter().map(|p| p.0).collect();
            clip_rules::winsorized_sigma(&values, centre)
        }
        // IRAF semantics only (validate refuses it elsewhere), and the rules that cut a window
        // by their own test (cut_window): no bounds about a centre
        Spread::PoissonScaled | Spread::LinearFit | Spread::Gesd { .. } => f64::INFINITY,
        Spread::Percentile(p) => {
            let n = v.len();
            let med = median_sorted(v);
            // at least one value away from the median, as IRAF (a zero spread rejects nothing)
            let steps = ((p.abs() * (n as f64 - 1.0) / 2.0).round() as usize).max(1);
            if p < 0.0 {
                med - v[((n - 1) / 2).saturating_sub(steps)].0
            } else {
                v[(n / 2 + steps).min(n - 1)].0 - med
            }
        }
        Spread::CcdNoise {
            gain_e_per_adu: g,
            read_noise_e: rn,
            sensitivity_noise: sn,
        } => {
            let c = ((centre - f.mean_zero) / f.mean_scale).max(0.0);
            ((rn / g).powi(2) + c / g + (sn * c).powi(2)).sqrt() * f.mean_scale
        }
    }
}

/// The fewest values a sigma-type rule clips: two for the CCD noise model (its spread does not
/// come from the values, so a pair's cosmic ray goes, as IRAF's crreject does), three otherwise.
fn min_values(rule: &SigmaRule) -> usize {
    if matches!(rule.spread, Spread::CcdNoise { .. }) {
        2
    } else {
        3
    }
}

/// A spread of zero (all values equal, or pclip's value at the median) rejects nothing.
fn no_spread(lo: f64, hi: f64, c: f64) -> bool {
    lo == c && hi == c
}

/// A sigma-type rule's centre and bounds over sorted (value, frame) pairs: `(centre, centre - low x
/// spread, centre + high x spread)`; values strictly outside the bounds are rejected.
pub(crate) fn sigma_bounds(
    v: &[(f64, u32)],
    rule: &SigmaRule,
    f: &FrameFactors,
    tmp: &mut Vec<f64>,
) -> (f64, f64, f64) {
    let c = centre_of(v, rule.centre);
    let sp = spread_of(v, rule, c, f, tmp);
    (c, c - rule.low * sp, c + rule.high * sp)
}

/// Decide the rejection at one pixel. `raw` holds the N input values; `reasons` receives one [`Reason`] per frame.
pub fn reject_pixel(
    raw: &[f32],
    f: &FrameFactors,
    r: &Rejection,
    semantics: Semantics,
    reasons: &mut [u8],
    s: &mut Scratch,
) {
    match semantics {
        Semantics::Skycomb => reject_skycomb(raw, f, r, reasons, s),
        Semantics::Iraf => reject_iraf_exact(raw, f, reasons),
        Semantics::Ccdproc => reject_ccdproc(raw, r, reasons, s),
    }
}

/// Mark NaN inputs missing and raw values outside the thresholds; everything else is kept (so far).
fn classify_inputs(raw: &[f32], r: &Rejection, reasons: &mut [u8]) {
    for (reason, &x) in reasons.iter_mut().zip(raw) {
        *reason = if !x.is_finite() {
            Reason::Missing as u8
        } else if r.min_clip.is_some_and(|m| (x as f64) < m)
            || r.max_clip.is_some_and(|m| (x as f64) > m)
        {
            Reason::Threshold as u8
        } else {
            Reason::Kept as u8
        };
    }
}

/// IRAF: thresholds on raw values, then on scaled values extrema among survivors and an iterated
/// sigma rule. Survivors stay a contiguous window [a, b) of the sorted values throughout.
fn reject_skycomb(
    raw: &[f32],
    f: &FrameFactors,
    r: &Rejection,
    reasons: &mut [u8],
    s: &mut Scratch,
) {
    if r.nlow == 0 && r.nhigh == 0 && r.sigma.is_none() {
        // no rule needs the values in order
        classify_inputs(raw, r, reasons);
        return;
    }
    let bounded = r
        .sigma
        .is_none_or(|s| !matches!(s.spread, Spread::LinearFit | Spread::Gesd { .. }));
    if r.nlow == 0 && r.nhigh == 0 && r.nkeep == Keep::AtLeast(0) && bounded {
        reject_skycomb_sigma_only(raw, f, r, reasons, s);
        return;
    }
    classify_inputs(raw, r, reasons);
    s.pairs.clear();
    for (i, &x) in raw.iter().enumerate() {
        if reasons[i] == Reason::Kept as u8 {
            s.pairs.push((x as f64 * f.scale[i] + f.zero[i], i as u32));
        }
    }
    sort_pairs(&mut s.pairs);
    let (mut a, mut b) = (0, s.pairs.len());
    // nlow and nhigh are fractions of N where values are missing or thresholded (IRAF)
    let fraction = |k: usize| (k as f64 * b as f64 / raw.len() as f64 + 0.001) as usize;
    let drop_low = fraction(r.nlow).min(b - a);
    a += drop_low;
    let drop_high = fraction(r.nhigh).min(b - a);
    b -= drop_high;
    for p in s.pairs[..a].iter().chain(&s.pairs[b..]) {
        reasons[p.1 as usize] = Reason::Extrema as u8;
    }
    let Some(rule) = &r.sigma else {
        return;
    };
    let mut iterations = 0;
    while rule.max_iterations.is_none_or(|m| iterations < m) && b - a >= min_values(rule) {
        iterations += 1;
        let window = &s.pairs[a..b];
        let Some(cut) = cut_window(window, rule, f, raw.len(), &mut s.tmp) else {
            break;
        };
        let (c, spread) = (cut.centre, cut.spread);
        let (mut na, mut nb) = (a + cut.first, a + cut.end.max(cut.first));
        if na == a && nb == b {
            break;
        }
        // nkeep: bring back the rejected values nearest the centre; values as near as the last
        // one brought back (within 0.001 of the spread, as IRAF) come back with it
        let keep = r.nkeep.min_kept(b - a);
        let restored = nb - na < keep;
        let tie = 1e-3 * spread;
        let mut last = f64::NEG_INFINITY;
        loop {
            let below = (na > a).then(|| c - s.pairs[na - 1].0);
            let above = (nb < b).then(|| s.pairs[nb].0 - c);
            let nearest = match (below, above) {
                (Some(d), Some(u)) => d.min(u),
                (Some(d), None) => d,
                (None, Some(u)) => u,
                (None, None) => break,
            };
            if nb - na >= keep && nearest > last + tie {
                break;
            }
            last = nearest;
            match (below, above) {
                (Some(d), Some(u)) if d <= u => na -= 1,
                (Some(_), None) => na -= 1,
                _ => nb += 1,
            }
        }
        for p in s.pairs[a..na].iter().chain(&s.pairs[nb..b]) {
            reasons[p.1 as usize] = Reason::Sigma as u8;
        }
        a = na;
        b = nb;
        if restored || cut.once {
            break;
        }
    }
}

/// One pass of a sigma-type rule over a sorted window: the centre, the spread, the kept part
/// `[first, end)` of the window, and whether the rule makes only this pass.
struct Cut {
    centre: f64,
    spread: f64,
    first: usize,
    end: usize,
    once: bool,
}

/// A pass of the rule, or `None` when it cannot reject (pclip's zero spread).
fn cut_window(
    window: &[(f64, u32)],
    rule: &SigmaRule,
    f: &FrameFactors,
    n_frames: usize,
    tmp: &mut Vec<f64>,
) -> Option<Cut> {
    let values = || window.iter().map(|p| p.0).collect::<Vec<f64>>();
    match rule.spread {
        Spread::LinearFit => {
            let (first, end, spread) =
                clip_rules::linear_fit_window(&values(), rule.low, rule.high);
            let centre = median_sorted(window);
            Some(Cut {
                centre,
                spread,
                first,
                end,
                once: false,
            })
        }
        Spread::Gesd {
            max_outliers,
            alpha,
        } => {
            let most = (max_outliers * n_frames as f64) as usize;
            let (first, end) = clip_rules::gesd_window(&values(), most, alpha);
            let centre = median_sorted(window);
            Some(Cut {
                centre,
                spread: std_of(window),
                first,
                end,
                once: true,
            })
        }
        _ => {
            let (c, lo, hi) = sigma_bounds(window, rule, f, tmp);
            if no_spread(lo, hi, c) && matches!(rule.spread, Spread::Percentile(_)) {
                return None;
            }
            Some(Cut {
                centre: c,
                spread: ((hi - c) / rule.high).abs(),
                first: window.partition_point(|p| p.0 < lo),
                end: window.partition_point(|p| p.0 <= hi),
                once: false,
            })
        }
    }
}

/// IRAF with only thresholds and a sigma rule: the survivors are the values between two bounds, so
/// the rule runs on sorted plain values and marks frames by value at the end.
fn reject_skycomb_sigma_only(
    raw: &[f32],
    f: &FrameFactors,
    r: &Rejection,
    reasons: &mut [u8],
    s: &mut Scratch,
) {
    let rule = r.sigma.as_ref().expect("called with a sigma rule");
    let scaled = |i: usize, x: f32| x as f64 * f.scale[i] + f.zero[i];
    classify_inputs(raw, r, reasons);
    let kept = raw
        .iter()
        .enumerate()
        .filter(|(i, _)| reasons[*i] == Reason::Kept as u8)
        .map(|(i, &x)| scaled(i, x));
    sort_values(kept, s);
    let (mut a, mut b) = (0, s.sorted.len());
    let mut iterations = 0;
    while rule.max_iterations.is_none_or(|m| iterations < m) && b - a >= min_values(rule) {
        iterations += 1;
        let window = &s.sorted[a..b];
        let c = match rule.centre {
            Centre::Median => median_plain(window),
            Centre::Mean => window.iter().sum::<f64>() / window.len() as f64,
        };
        let sp = match rule.spread {
            Spread::Std => std_plain(window),
            Spread::MadStd => mad_std_plain(window, &mut s.keys),
            Spread::MadStdFloor => f.floored_spread(mad_std_plain(window, &mut s.keys), c),
            Spread::Winsorized => clip_rules::winsorized_sigma(window, c),
            _ => {
                // percentile and noise-model spreads work on the (value, frame) form
                s.pairs.clear();
                s.pairs.extend(window.iter().map(|&v| (v, 0)));
                spread_of(&s.pairs, rule, c, f, &mut s.tmp)
            }
        };
        let (lo, hi) = (c - rule.low * sp, c + rule.high * sp);
        if sp == 0.0 && matches!(rule.spread, Spread::Percentile(_)) {
            break;
        }
        let na = a + window.partition_point(|&v| v < lo);
        let nb = (a + window.partition_point(|&v| v <= hi)).max(na);
        if na == a && nb == b {
            break;
        }
        a = na;
        b = nb;
    }
    if a == 0 && b == s.sorted.len() {
        return;
    }
    let (lo, hi) = if a < b {
        (s.sorted[a], s.sorted[b - 1])
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    for (i, (reason, &x)) in reasons.iter_mut().zip(raw).enumerate() {
        if *reason == Reason::Kept as u8 {
            let v = scaled(i, x);
            if v < lo || v > hi {
                *reason = Reason::Sigma as u8;
            }
        }
    }
}

/// IRAF semantics at one pixel (the inspector's recomputation): the pixel as a row of one.
fn reject_iraf_exact(raw: &[f32], f: &FrameFactors, reasons: &mut [u8]) {
    let Some(rules) = &f.iraf else {
        reasons.fill(Reason::Kept as u8);
        return;
    };
    let rows: Vec<[f32; 1]> = raw.iter().map(|&v| [v]).collect();
    let refs: Vec<&[f32]> = rows.iter().map(|v| v.as_slice()).collect();
    reasons.copy_from_slice(&super::iraf::combine_row(&refs, rules, false).reasons);
}

/// ccdproc.combine: clip_extrema (argsort of raw values, NaN highest, masked values counted), then
/// minmax, then ONE sigma pass with centre and spread over all N raw values; masks OR'ed.
fn reject_ccdproc(raw: &[f32], r: &Rejection, reasons: &mut [u8], s: &mut Scratch) {
    reasons.fill(Reason::Kept as u8);
    if r.nlow > 0 || r.nhigh > 0 {
        s.pairs.clear();
        s.pairs.extend(
            raw.iter()
                .enumerate()
                .map(|(i, &x)| (if x.is_nan() { f64::INFINITY } else { x as f64 }, i as u32)),
        );
        // NaN sorts highest: after +inf values, as numpy's argsort puts it
        s.pairs.sort_by(|p, q| {
            p.0.total_cmp(&q.0)
                .then_with(|| raw[p.1 as usize].is_nan().cmp(&raw[q.1 as usize].is_nan()))
        });
        let n = raw.len();
        for (k, p) in s.pairs.iter().enumerate() {
            if k < r.nlow || k >= n.saturating_sub(r.nhigh) {
                reasons[p.1 as usize] = Reason::Extrema as u8;
            }
        }
    }
    for (i, &x) in raw.iter().enumerate() {
        let x = x as f64;
        if reasons[i] == 0
            && (r.min_clip.is_some_and(|m| x < m) || r.max_clip.is_some_and(|m| x > m))
        {
            reasons[i] = Reason::Threshold as u8;
        }
    }
    if let Some(rule) = &r.sigma
        && raw.iter().all(|x| x.is_finite())
    {
        sort_values(raw.iter().map(|&x| x as f64), s);
        let v = &s.sorted;
        let c = match rule.centre {
            Centre::Median => median_plain(v),
            Centre::Mean => v.iter().sum::<f64>() / v.len() as f64,
        };
        let sp = match rule.spread {
            Spread::MadStd => mad_std_plain(v, &mut s.keys),
            _ => std_plain(v),
        };
        let (lo, hi) = (c - rule.low * sp, c + rule.high * sp);
        for (i, &x) in raw.iter().enumerate() {
            let x = x as f64;
            if reasons[i] == 0 && (x < lo || x > hi) {
                reasons[i] = Reason::Sigma as u8;
            }
        }
    }
    for (i, &x) in raw.iter().enumerate() {
        if reasons[i] == 0 && !x.is_finite() {
            reasons[i] = Reason::Missing as u8;
        }
    }
}

/// The unweighted average of the kept values, without building the value list (the common case).
fn plain_average(
    raw: &[f32],
    f: &FrameFactors,
    with_zero: bool,
    reasons: &[u8],
    blank: f32,
) -> Combined {
    let (mut sum, mut n) = (0.0f64, 0u16);
    for (i, (&x, &reason)) in raw.iter().zip(reasons).enumerate() {
        if reason == Reason::Kept as u8 {
            sum += x as f64 * f.scale[i] + if with_zero { f.zero[i] } else { 0.0 };
            n += 1;
        }
    }
    let value = if n == 0 {
        blank
    } else {
        (sum / n as f64) as f32
    };
    Combined {
        value,
        n_used: n,
        sigma: f32::NAN,
    }
}

/// The combined value at one pixel, the number of values used, and the standard error (NaN when
/// not asked for or undefined).
pub struct Combined {
    pub value: f32,
    pub n_used: u16,
    pub sigma: f32,
}

/// Combine the values `reasons` keeps.
pub fn combine_pixel(
    raw: &[f32],
    f: &FrameFactors,
    p: &CombineParams,
    reasons: &[u8],
    s: &mut Scratch,
) -> Combined {
    let (method, semantics, blank, want_sigma) = (p.method, p.semantics, p.blank, p.sigma_map);
    if method == Method::Average && f.weight.is_none() && !want_sigma {
        return plain_average(raw, f, semantics == Semantics::Skycomb, reasons, blank);
    }
    s.pairs.clear();
    let zero_used = semantics == Semantics::Skycomb;
    for (i, &x) in raw.iter().enumerate() {
        if reasons[i] == Reason::Kept as u8 {
            let z = if zero_used { f.zero[i] } else { 0.0 };
            s.pairs.push((x as f64 * f.scale[i] + z, i as u32));
        }
    }
    let n = s.pairs.len();
    if n == 0 {
        let value = if semantics == Semantics::Ccdproc && method == Method::Sum {
            0.0
        } else {
            blank
        };
        return Combined {
            value,
            n_used: 0,
            sigma: f32::NAN,
        };
    }
    let value = match method {
        Method::Average => match &f.weight {
            None => mean_of(&s.pairs),
            Some(w) => {
                let num: f64 = s.pairs.iter().map(|p| p.0 * w[p.1 as usize]).sum();
                let den: f64 = match semantics {
                    Semantics::Skycomb | Semantics::Iraf => {
                        s.pairs.iter().map(|p| w[p.1 as usize]).sum()
                    }
                    Semantics::Ccdproc => w.iter().sum(), // ccdproc issue 893: rejected frames' weights stay
                };
                num / den
            }
        },
        Method::Median => {
            sort_pairs(&mut s.pairs);
            median_sorted(&s.pairs)
        }
        Method::Sum => s.pairs.iter().map(|p| p.0).sum(),
        // IRAF semantics only (validate), combined by the IRAF port
        Method::Quadrature | Method::NoiseModel => f64::NAN,
    };
    let sigma = if want_sigma {
        let nf = n as f64;
        match method {
            Method::Average => std_of(&s.pairs) / nf.sqrt(),
            Method::Median => mad_std_sorted(&s.pairs, &mut s.tmp) / nf.sqrt(),
            Method::Sum => std_of(&s.pairs) / nf.sqrt() * nf,
            Method::Quadrature | Method::NoiseModel => f64::NAN,
        }
    } else {
        f64::NAN
    };
    Combined {
        value: value as f32,
        n_used: n as u16,
        sigma: sigma as f32,
    }
}
