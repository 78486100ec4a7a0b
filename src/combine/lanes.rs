//! The fast path: eight pixels at a time through a Batcher sorting network (branch-free min/max
//! that the compiler vectorises), for the common stacks (no NaN, sigma clip on median/mad_std or
//! mean/std). Any pixel this path cannot finish exactly as the scalar kernel would is handed back.

// Lane loops index several fixed-size arrays in lockstep; iterator zips of four or five of them
// read worse and vectorise no better.
#![allow(clippy::needless_range_loop)]

use super::kernel::{FrameFactors, N_REASONS, Reason};
use super::params::{CombineParams, Method, Semantics, Spread};
use crate::stats::{Centre, MAD_TO_SIGMA};

/// Pixels per lane group.
pub const LANES: usize = 8;

type Lane = [f64; LANES];

/// Batcher's odd-even merge sort network for `n` values (any n), as compare-exchange pairs.
pub fn batcher_network(n: usize) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut p = 1;
    while p < n {
        let mut k = p;
        while k >= 1 {
            let mut j = k % p;
            while j + k < n {
                for i in 0..k.min(n - j - k) {
                    if (i + j) / (p * 2) == (i + j + k) / (p * 2) {
                        pairs.push((i + j, i + j + k));
                    }
                }
                j += 2 * k;
            }
            k /= 2;
        }
        p *= 2;
    }
    pairs
}

#[inline(always)]
fn sort_lanes(v: &mut [Lane], network: &[(usize, usize)]) {
    for &(i, j) in network {
        let (a, b) = (v[i], v[j]);
        let mut lo = [0.0; LANES];
        let mut hi = [0.0; LANES];
        for l in 0..LANES {
            let less = a[l] < b[l];
            lo[l] = if less { a[l] } else { b[l] };
            hi[l] = if less { b[l] } else { a[l] };
        }
        v[i] = lo;
        v[j] = hi;
    }
}

/// The network with AVX: each compare-exchange is two vminpd and two vmaxpd over eight pixels.
/// `vminpd(a, b)` is `a < b ? a : b` and `vmaxpd(a, b)` is `a > b ? a : b`, exactly the portable
/// version's choice for the finite values this path sees.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sort_lanes_avx2(v: &mut [Lane], network: &[(usize, usize)]) {
    use std::arch::x86_64::*;
    assert!(network.iter().all(|&(i, j)| i < v.len() && j < v.len()));
    let p = v.as_mut_ptr() as *mut f64;
    for &(i, j) in network {
        // SAFETY: i and j index lanes of `v` (checked above); each lane is 8 contiguous f64.
        unsafe {
            let (a, b) = (p.add(i * LANES), p.add(j * LANES));
            let (a0, a1) = (_mm256_loadu_pd(a), _mm256_loadu_pd(a.add(4)));
            let (b0, b1) = (_mm256_loadu_pd(b), _mm256_loadu_pd(b.add(4)));
            _mm256_storeu_pd(a, _mm256_min_pd(a0, b0));
            _mm256_storeu_pd(a.add(4), _mm256_min_pd(a1, b1));
            _mm256_storeu_pd(b, _mm256_max_pd(a0, b0));
            _mm256_storeu_pd(b.add(4), _mm256_max_pd(a1, b1));
        }
    }
}

/// How a lane kernel sorts: the portable network or the AVX one.
type LaneSort = unsafe fn(&mut [Lane], &[(usize, usize)]);

unsafe fn sort_lanes_portable(v: &mut [Lane], network: &[(usize, usize)]) {
    sort_lanes(v, network)
}

#[inline(always)]
fn median_lanes(s: &[Lane]) -> Lane {
    let n = s.len();
    if n % 2 == 1 {
        return s[n / 2];
    }
    let mut m = [0.0; LANES];
    for l in 0..LANES {
        m[l] = 0.5 * (s[n / 2 - 1][l] + s[n / 2][l]);
    }
    m
}

/// In-order sum over the (sorted) values divided by n, as the scalar kernel computes a mean.
#[inline(always)]
fn mean_lanes(s: &[Lane]) -> Lane {
    let mut m = [0.0; LANES];
    for v in s {
        for l in 0..LANES {
            m[l] += v[l];
        }
    }
    m.map(|x| x / s.len() as f64)
}

/// Can this combination use the lane path at all?
pub fn eligible(p: &CombineParams, f: &FrameFactors) -> bool {
    let r = &p.rejection;
    let sigma_ok = r
        .sigma
        .is_none_or(|s| matches!(s.spread, Spread::Std | Spread::MadStd));
    !p.scalar_only
        && p.semantics != Semantics::Iraf
        && !p.sigma_map
        && !p.frame_reasons
        && f.weight.is_none()
        && p.method != Method::Median
        && r.grow_radius_px == 0.0
        && r.nlow == 0
        && r.nhigh == 0
        && r.min_clip.is_none()
        && r.max_clip.is_none()
        && r.sigma.is_some()
        && sigma_ok
}

/// Finish the lanes from their sums: outcomes for the finished lanes, counts per frame.
#[inline(always)]
fn finish_lanes(
    n: usize,
    keep: &[Lane],
    sum: &Lane,
    used: &Lane,
    done: &Lane,
    p: &CombineParams,
    counts: &mut [[u64; N_REASONS]],
) -> [Option<LanePixel>; LANES] {
    let iraf = p.semantics == Semantics::Skycomb;
    for (i, c) in counts.iter_mut().enumerate() {
        let (mut kept, mut finished) = (0.0, 0.0);
        for l in 0..LANES {
            kept += keep[i][l] * done[l];
            finished += done[l];
        }
        c[Reason::Kept as usize] += kept as u64;
        c[Reason::Sigma as usize] += (finished - kept) as u64;
    }
    let mut out: [Option<LanePixel>; LANES] = Default::default();
    for l in 0..LANES {
        if done[l] == 0.0 {
            continue;
        }
        let (sum, used) = (sum[l], used[l] as u16);
        let value = match (used, p.method) {
            (0, Method::Sum) if !iraf => 0.0,
            (0, _) => p.blank,
            (_, Method::Sum) => sum as f32,
            (_, _) => (sum / used as f64) as f32,
        };
        out[l] = Some(LanePixel {
            value,
            n_used: used,
            n_rejected: n as u16 - used,
        });
    }
    out
}

/// The guide recipe (median centre, mad_std spread) written with AVX intrinsics: the same
/// operations in the same order as the portable lanes, so the same bits come out.
#[cfg(target_arch = "x86_64")]
mod avx {
    use super::*;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    unsafe fn load(v: &Lane) -> (__m256d, __m256d) {
        // SAFETY: a Lane is 8 contiguous f64.
        unsafe {
            (
                _mm256_loadu_pd(v.as_ptr()),
                _mm256_loadu_pd(v.as_ptr().add(4)),
            )
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn store(v: &mut Lane, a: (__m256d, __m256d)) {
        // SAFETY: as in `load`.
        unsafe {
            _mm256_storeu_pd(v.as_mut_ptr(), a.0);
            _mm256_storeu_pd(v.as_mut_ptr().add(4), a.1);
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn median(s: &[Lane]) -> (__m256d, __m256d) {
        let n = s.len();
        // SAFETY: rows of `s` are Lanes.
        unsafe {
            if n % 2 == 1 {
                return load(&s[n / 2]);
            }
            let (a, b) = (load(&s[n / 2 - 1]), load(&s[n / 2]));
            let half = _mm256_set1_pd(0.5);
            (
                _mm256_mul_pd(half, _mm256_add_pd(a.0, b.0)),
                _mm256_mul_pd(half, _mm256_add_pd(a.1, b.1)),
            )
        }
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn median_mad_lanes(
        rows: &[&[f32]],
        x: usize,
        f: &FrameFactors,
        p: &CombineParams,
        s: &mut LaneScratch,
        counts: &mut [[u64; N_REASONS]],
    ) -> [Option<LanePixel>; LANES] {
        let n = rows.len();
        let rule = p
            .rejection
            .sigma
            .as_ref()
            .expect("eligible() demands a sigma rule");
        let iraf = p.semantics == Semantics::Skycomb;
        // SAFETY: every pointer below stays inside `rows[i][x..x + 8]` or the scratch lanes.
        unsafe {
            let mut bad = _mm256_setzero_ps();
            let inf = _mm256_set1_ps(f32::INFINITY);
            let sign = _mm256_set1_ps(-0.0);
            for i in 0..n {
                let raw = _mm256_loadu_ps(rows[i][x..x + LANES].as_ptr());
                // not finite: NaN (unordered) or |x| == inf
                let abs = _mm256_andnot_ps(sign, raw);
                bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_NLT_UQ>(abs, inf));
                let (r0, r1) = (
                    _mm256_cvtps_pd(_mm256_castps256_ps128(raw)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(raw)),
                );
                let (k, z) = (
                    _mm256_set1_pd(f.scale[i]),
                    _mm256_set1_pd(if iraf { f.zero[i] } else { 0.0 }),
                );
                let sc = (
                    _mm256_add_pd(_mm256_mul_pd(r0, k), z),
                    _mm256_add_pd(_mm256_mul_pd(r1, k), z),
                );
                store(&mut s.scaled[i], sc);
                store(&mut s.test[i], if iraf { sc } else { (r0, r1) });
            }
            let bad_mask = _mm256_movemask_ps(bad);
            s.sorted.copy_from_slice(&s.test);
            sort_lanes_avx2(&mut s.sorted, &s.network);
            let med = median(&s.sorted);
            let abs_mask = _mm256_set1_pd(-0.0);
            for i in 0..n {
                let v = load(&s.sorted[i]);
                store(
                    &mut s.dev[i],
                    (
                        _mm256_andnot_pd(abs_mask, _mm256_sub_pd(v.0, med.0)),
                        _mm256_andnot_pd(abs_mask, _mm256_sub_pd(v.1, med.1)),
                    ),
                );
            }
            sort_lanes_avx2(&mut s.dev, &s.network);
            let mad = median(&s.dev);
            let k = _mm256_set1_pd(MAD_TO_SIGMA);
            let spread = (_mm256_mul_pd(k, mad.0), _mm256_mul_pd(k, mad.1));
            let (low, high) = (_mm256_set1_pd(rule.low), _mm256_set1_pd(rule.high));
            let lo = (
                _mm256_sub_pd(med.0, _mm256_mul_pd(low, spread.0)),
                _mm256_sub_pd(med.1, _mm256_mul_pd(low, spread.1)),
            );
            let hi = (
                _mm256_add_pd(med.0, _mm256_mul_pd(high, spread.0)),
                _mm256_add_pd(med.1, _mm256_mul_pd(high, spread.1)),
            );
            let one = _mm256_set1_pd(1.0);
            let (mut sum, mut used) = (
                (_mm256_setzero_pd(), _mm256_setzero_pd()),
                (_mm256_setzero_pd(), _mm256_setzero_pd()),
            );
            for i in 0..n {
                let t = load(&s.test[i]);
                let keep0 = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(t.0, lo.0),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(t.0, hi.0),
                );
                let keep1 = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(t.1, lo.1),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(t.1, hi.1),
                );
                let sc = load(&s.scaled[i]);
                sum = (
                    _mm256_add_pd(sum.0, _mm256_and_pd(keep0, sc.0)),
                    _mm256_add_pd(sum.1, _mm256_and_pd(keep1, sc.1)),
                );
                let (u0, u1) = (_mm256_and_pd(keep0, one), _mm256_and_pd(keep1, one));
                used = (_mm256_add_pd(used.0, u0), _mm256_add_pd(used.1, u1));
                store(&mut s.dev[i], (u0, u1));
            }
            let (mut sum_l, mut used_l) = ([0.0; LANES], [0.0; LANES]);
            store(&mut sum_l, sum);
            store(&mut used_l, used);
            let mut done = [0.0f64; LANES];
            for l in 0..LANES {
                let fallback = bad_mask >> l & 1 == 1;
                let rejected_any = used_l[l] != n as f64;
                done[l] = if fallback || (iraf && (n < 3 || rejected_any)) {
                    0.0
                } else {
                    1.0
                };
            }
            finish_lanes(n, &s.dev, &sum_l, &used_l, &done, p, counts)
        }
    }
}

/// Buffers of one worker.
pub struct LaneScratch {
    network: Vec<(usize, usize)>,
    /// Values rejection is decided on (scaled for IRAF, raw for ccdproc), frame-major.
    test: Vec<Lane>,
    sorted: Vec<Lane>,
    dev: Vec<Lane>,
    /// Values that are combined (scaled).
    scaled: Vec<Lane>,
}

impl LaneScratch {
    pub fn new(n: usize) -> LaneScratch {
        LaneScratch {
            network: batcher_network(n),
            test: vec![[0.0; LANES]; n],
            sorted: vec![[0.0; LANES]; n],
            dev: vec![[0.0; LANES]; n],
            scaled: vec![[0.0; LANES]; n],
        }
    }
}

/// The outcome for one pixel of a lane group (`None` sends it to the scalar kernel). The per-frame
/// counts of finished pixels are added to `counts` by [`combine_lanes`] itself.
pub struct LanePixel {
    pub value: f32,
    pub n_used: u16,
    pub n_rejected: u16,
}

/// Combine pixels `x..x + LANES` of one row; `rows[i]` is frame i's row. Returns one outcome per pixel.
/// Runs the AVX2 build of the kernel where the processor has it (same arithmetic, wider registers).
pub fn combine_lanes(
    rows: &[&[f32]],
    x: usize,
    f: &FrameFactors,
    p: &CombineParams,
    s: &mut LaneScratch,
    counts: &mut [[u64; N_REASONS]],
) -> [Option<LanePixel>; LANES] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            let rule = p
                .rejection
                .sigma
                .as_ref()
                .expect("eligible() demands a sigma rule");
            if !p.portable_lanes && rule.centre == Centre::Median && rule.spread == Spread::MadStd {
                // SAFETY: the processor supports AVX2, checked just above.
                return unsafe { avx::median_mad_lanes(rows, x, f, p, s, counts) };
            }
            // SAFETY: as above.
            return unsafe { combine_lanes_avx2(rows, x, f, p, s, counts) };
        }
    }
    combine_lanes_impl(rows, x, f, p, s, counts, sort_lanes_portable)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn combine_lanes_avx2(
    rows: &[&[f32]],
    x: usize,
    f: &FrameFactors,
    p: &CombineParams,
    s: &mut LaneScratch,
    counts: &mut [[u64; N_REASONS]],
) -> [Option<LanePixel>; LANES] {
    combine_lanes_impl(rows, x, f, p, s, counts, sort_lanes_avx2)
}

#[inline(always)]
fn combine_lanes_impl(
    rows: &[&[f32]],
    x: usize,
    f: &FrameFactors,
    p: &CombineParams,
    s: &mut LaneScratch,
    counts: &mut [[u64; N_REASONS]],
    sort: LaneSort,
) -> [Option<LanePixel>; LANES] {
    let n = rows.len();
    let rule = p
        .rejection
        .sigma
        .as_ref()
        .expect("eligible() demands a sigma rule");
    let iraf = p.semantics == Semantics::Skycomb;
    let mut fallback = [false; LANES];
    for i in 0..n {
        let row = &rows[i][x..x + LANES];
        for l in 0..LANES {
            let raw = row[l] as f64;
            fallback[l] |= !row[l].is_finite();
            let scaled = raw * f.scale[i] + if iraf { f.zero[i] } else { 0.0 };
            s.scaled[i][l] = scaled;
            s.test[i][l] = if iraf { scaled } else { raw };
        }
    }
    s.sorted.copy_from_slice(&s.test);
    // SAFETY: `sort` is the AVX network only when the caller checked the processor has AVX2.
    unsafe { sort(&mut s.sorted, &s.network) };
    let centre = match rule.centre {
        Centre::Median => median_lanes(&s.sorted),
        Centre::Mean => mean_lanes(&s.sorted),
    };
    let spread = match rule.spread {
        Spread::MadStd => {
            let med = median_lanes(&s.sorted);
            for i in 0..n {
                for l in 0..LANES {
                    s.dev[i][l] = (s.sorted[i][l] - med[l]).abs();
                }
            }
            unsafe { sort(&mut s.dev, &s.network) };
            median_lanes(&s.dev).map(|m| MAD_TO_SIGMA * m)
        }
        _ => {
            let m = mean_lanes(&s.sorted);
            for i in 0..n {
                for l in 0..LANES {
                    s.dev[i][l] = (s.sorted[i][l] - m[l]).powi(2);
                }
            }
            mean_lanes(&s.dev).map(f64::sqrt)
        }
    };
    // keep (1.0) or reject (0.0) every value, and the sums, branch-free across the lanes
    let mut lo = [0.0; LANES];
    let mut hi = [0.0; LANES];
    for l in 0..LANES {
        lo[l] = centre[l] - rule.low * spread[l];
        hi[l] = centre[l] + rule.high * spread[l];
    }
    let mut sum = [0.0f64; LANES];
    let mut used = [0.0f64; LANES];
    for i in 0..n {
        for l in 0..LANES {
            let t = s.test[i][l];
            let keep = if t >= lo[l] && t <= hi[l] { 1.0 } else { 0.0 };
            s.dev[i][l] = keep;
            sum[l] += if keep == 1.0 { s.scaled[i][l] } else { 0.0 };
            used[l] += keep;
        }
    }
    // IRAF iterates (and may restore with nkeep): pixels with any rejection go to the scalar kernel
    let mut done = [0.0f64; LANES];
    for l in 0..LANES {
        let rejected_any = used[l] != n as f64;
        done[l] = if fallback[l] || (iraf && (n < 3 || rejected_any)) {
            0.0
        } else {
            1.0
        };
    }
    finish_lanes(n, &s.dev, &sum, &used, &done, p, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batcher_networks_sort_every_size() {
        let mut state = 7u64;
        for n in 1..=40 {
            let net = batcher_network(n);
            for _ in 0..50 {
                let mut v: Vec<Lane> = (0..n)
                    .map(|_| {
                        let mut lane = [0.0; LANES];
                        for x in lane.iter_mut() {
                            state = state
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            *x = (state >> 40) as f64 % 17.0;
                        }
                        lane
                    })
                    .collect();
                sort_lanes(&mut v, &net);
                for l in 0..LANES {
                    assert!(v.windows(2).all(|w| w[0][l] <= w[1][l]), "n = {n}");
                }
            }
        }
    }
}
