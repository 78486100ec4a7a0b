//! IRAF imcombine's own rules, ported from IRAF 2.17's imcombine (pkg/images/immatch/src/imcombine/src:
//! icsclip, icaclip, iccclip, icpclip, icmm, icaverage, icmedian, icsigma) in single precision, as
//! IRAF computes real images, quirks included (the README lists them). One output row at a time:
//! avsigclip estimates its Poisson scale over the whole row, as IRAF does over an image line.
// The loops index as IRAF's do (1-based windows, residuals by position), to be read beside it.
#![allow(clippy::needless_range_loop)]

use super::kernel::Reason;
use super::params::Method;

/// IRAF's tolerance for equal residuals when nkeep adds values back.
const TOL: f32 = 0.001;

/// IRAF's rejection algorithms (the `reject` parameter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IrafReject {
    None,
    /// nlow and nhigh as fractions of the number of images, applied to each pixel's count.
    MinMax {
        flow: f32,
        fhigh: f32,
    },
    CcdClip,
    /// ccdclip without a lower bound.
    CrReject,
    SigClip,
    AvSigClip,
    /// pclip already converted to a number of pixels from the median (IRAF's icombine.x).
    PClip(f32),
}

/// Everything the port needs, in IRAF's terms and precision.
#[derive(Debug, Clone)]
pub struct IrafRules {
    pub reject: IrafReject,
    /// Use the median (not the average) as the clipping centre.
    pub mclip: bool,
    pub lsigma: f32,
    pub hsigma: f32,
    /// Minimum to keep (positive) or maximum to reject (negative).
    pub nkeep: i32,
    pub combine: Method,
    /// `lmedian`: the lower of two values instead of their mean.
    pub median_low: bool,
    pub blank: f32,
    /// Divisors: scaled = raw / scales[i] - zeros[i].
    pub scales: Vec<f32>,
    pub zeros: Vec<f32>,
    /// Normalised to a sum of 1 (used only when `dowts`).
    pub weights: Vec<f32>,
    /// Per image: (read noise / gain)^2 (at least 1e4/MAX_REAL), gain, sensitivity noise.
    pub noise: Vec<[f32; 3]>,
    /// combine=nmodel's noise model per image, the gain times the image's scale (IRAF's nmod).
    pub nmodel: Vec<[f32; 3]>,
    pub doscale: bool,
    /// Sigma clipping corrects for the scaling (a scale differs from 1 by more than sigscale).
    pub doscale1: bool,
    pub dowts: bool,
    pub lthreshold: Option<f32>,
    pub hthreshold: Option<f32>,
    /// Grow will redo the combination from the grown masks (values then come from the survivors).
    pub grow: bool,
}

impl IrafRules {
    fn maxkeep(&self, n: usize) -> usize {
        if self.nkeep < 0 {
            (n as i64 + self.nkeep as i64).max(0) as usize
        } else {
            n.min(self.nkeep as usize)
        }
    }

    /// `mclip` as IRAF forces it: minmax and none never sort, pclip always does.
    pub fn sorts(&self) -> bool {
        match self.reject {
            IrafReject::None | IrafReject::MinMax { .. } => false,
            IrafReject::PClip(_) => true,
            _ => self.mclip,
        }
    }
}

/// One pixel's good values in IRAF's order with the image each came from.
#[derive(Debug, Default, Clone)]
struct Pixel {
    d: Vec<f32>,
    id: Vec<u32>,
    /// Number kept (the first `n` of `d` after rejection).
    n: usize,
    /// Number of good values before rejection.
    n_in: usize,
    /// The algorithm's own result where IRAF skips the final combination.
    own: Option<f32>,
    /// Values rejected by the algorithm are those at positions >= n (unsorted algorithms) or
    /// outside `window` (median-centred ones, before compaction).
    window: Option<(usize, usize)>,
    /// Rejected by minmax rather than a clip.
    by_extrema: bool,
}

/// What one output row comes to.
pub struct IrafRow {
    pub value: Vec<f32>,
    pub n_used: Vec<u16>,
    pub sigma: Vec<f32>,
    /// Reason per frame and pixel: `reasons[x * n_frames + i]`.
    pub reasons: Vec<u8>,
    /// What IRAF's rejection and exposure masks take as used, where it differs from `reasons`:
    /// after a median-centred clip of a median IRAF leaves the values in place and its masks take
    /// the images of the first n sorted places, not the window that was kept.
    pub mask_reasons: Option<Vec<u8>>,
}

/// Gather, threshold and scale the values of pixel `x`, as ic_gdata does.
fn gather(rows: &[&[f32]], x: usize, r: &IrafRules, px: &mut Pixel, reasons: &mut [u8]) {
    px.d.clear();
    px.id.clear();
    for (i, row) in rows.iter().enumerate() {
        let a = row[x];
        reasons[i] = if !a.is_finite() {
            Reason::Missing as u8
        } else if r.lthreshold.is_some_and(|t| a < t) || r.hthreshold.is_some_and(|t| a > t) {
            Reason::Threshold as u8
        } else {
            let v = if r.doscale {
                a / r.scales[i] + -r.zeros[i]
            } else {
                a
            };
            px.d.push(v);
            px.id.push(i as u32);
            Reason::Kept as u8
        };
    }
    px.n = px.d.len();
    px.n_in = px.n;
    px.own = None;
    px.window = None;
    px.by_extrema = false;
    if r.sorts() {
        sort_with_ids(&mut px.d, &mut px.id);
    }
}

/// ic_2sort: IRAF's own sort of the values with their images. Equal values from images with
/// different noise models clip differently, so the order of ties must be IRAF's.
fn sort_with_ids(d: &mut [f32], id: &mut [u32]) {
    let npix = d.len();
    if npix <= 1 {
        return;
    }
    if npix <= 3 {
        return sort_three(d, id);
    }
    // 1-based, as the original
    let (mut b, mut ids) = (vec![0f32; npix + 1], vec![0u32; npix + 1]);
    b[1..].copy_from_slice(d);
    ids[1..].copy_from_slice(id);
    let (mut lv, mut uv) = (vec![0usize; 66], vec![0usize; 66]);
    let mut p = 1;
    lv[1] = 1;
    uv[1] = npix;
    while p > 0 {
        if lv[p] >= uv[p] {
            p -= 1;
            continue;
        }
        let mut i = lv[p] - 1;
        let mut j = uv[p];
        let k = (lv[p] + uv[p]) / 2;
        b.swap(j, k);
        ids.swap(j, k);
        let pivot = b[j];
        while i < j {
            i += 1;
            while b[i] < pivot {
                i += 1;
            }
            j -= 1;
            while j > i && b[j] > pivot {
                j -= 1;
            }
            if i < j {
                b.swap(i, j);
                ids.swap(i, j);
            }
        }
        let j = uv[p];
        b.swap(i, j);
        ids.swap(i, j);
        if i - lv[p] < uv[p] - i {
            lv[p + 1] = lv[p];
            uv[p + 1] = i - 1;
            lv[p] = i + 1;
        } else {
            lv[p + 1] = i + 1;
            uv[p + 1] = uv[p];
            uv[p] = i - 1;
        }
        p += 1;
    }
    d.copy_from_slice(&b[1..]);
    id.copy_from_slice(&ids[1..]);
}

/// ic_2sort's special case for two and three values.
fn sort_three(d: &mut [f32], id: &mut [u32]) {
    let (pivot, temp) = (d[0], d[1]);
    if d.len() == 2 {
        if temp < pivot {
            d.swap(0, 1);
            id.swap(0, 1);
        }
        return;
    }
    let temp3 = d[2];
    let (order, ids): ([f32; 3], [u32; 3]) = if temp < pivot {
        if temp < temp3 {
            if pivot < temp3 {
                ([temp, pivot, temp3], [id[1], id[0], id[2]])
            } else {
                ([temp, temp3, pivot], [id[1], id[2], id[0]])
            }
        } else {
            ([temp3, temp, pivot], [id[2], id[1], id[0]])
        }
    } else if temp3 < temp {
        if pivot < temp3 {
            ([pivot, temp3, temp], [id[0], id[2], id[1]])
        } else {
            ([temp3, pivot, temp], [id[2], id[0], id[1]])
        }
    } else {
        return;
    };
    d.copy_from_slice(&order);
    id.copy_from_slice(&ids);
}

/// Combine a row: rejection by IRAF's algorithm, then IRAF's combination of what is left.
pub fn combine_row(rows: &[&[f32]], r: &IrafRules, want_sigma: bool) -> IrafRow {
    let (nimages, nx) = (rows.len(), rows[0].len());
    let mut pixels: Vec<Pixel> = Vec::with_capacity(nx);
    let mut reasons = vec![0u8; nx * nimages];
    for x in 0..nx {
        let mut px = Pixel::default();
        gather(
            rows,
            x,
            r,
            &mut px,
            &mut reasons[x * nimages..(x + 1) * nimages],
        );
        pixels.push(px);
    }
    let docombine = reject_row(&mut pixels, r, nimages);
    let mut out = IrafRow {
        value: vec![0.0; nx],
        n_used: vec![0; nx],
        sigma: Vec::new(),
        reasons,
        mask_reasons: None,
    };
    // IRAF leaves a median's values where they are (its sigma then runs over the first n of them)
    let compact = r.combine != Method::Median || r.grow;
    for (x, px) in pixels.iter_mut().enumerate() {
        mark_rejected(
            px,
            &mut out.reasons[x * nimages..(x + 1) * nimages],
            compact,
        );
        out.n_used[x] = px.n as u16;
    }
    if !compact {
        out.mask_reasons = Some(first_places_used(&pixels, &out.reasons, nimages));
    }
    // IRAF's D_ALL: every pixel of the line kept every image (weights then sum to one unchecked)
    let all = pixels.iter().all(|p| p.n == nimages);
    for (x, px) in pixels.iter().enumerate() {
        out.value[x] = match (docombine, px.own) {
            (false, Some(v)) => v,
            _ => combine_kept(px, r, all),
        };
    }
    if want_sigma {
        out.sigma = pixels
            .iter()
            .zip(&out.value)
            .map(|(px, &a)| sigma_of(&px.d[..px.n], &px.id[..px.n], a, r, all))
            .collect();
    }
    out
}

/// Combine a row whose reasons were decided earlier (grow): the survivors combined as IRAF's second
/// pass does.
pub fn combine_row_from_reasons(
    rows: &[&[f32]],
    r: &IrafRules,
    reasons: &[u8],
    want_sigma: bool,
) -> IrafRow {
    let (nimages, nx) = (rows.len(), rows[0].len());
    let mut out = IrafRow {
        value: vec![0.0; nx],
        n_used: vec![0; nx],
        sigma: if want_sigma {
            vec![0.0; nx]
        } else {
            Vec::new()
        },
        reasons: reasons.to_vec(),
        mask_reasons: None,
    };
    let mut px = Pixel::default();
    let mut scratch = vec![0u8; nimages];
    let all = reasons.iter().all(|&k| k == Reason::Kept as u8);
    for x in 0..nx {
        gather(rows, x, r, &mut px, &mut scratch);
        let keep = &reasons[x * nimages..(x + 1) * nimages];
        let (mut d, mut id) = (Vec::new(), Vec::new());
        for (v, i) in px.d.iter().zip(&px.id) {
            if keep[*i as usize] == Reason::Kept as u8 {
                d.push(*v);
                id.push(*i);
            }
        }
        px.n = d.len();
        px.d = d;
        px.id = id;
        out.n_used[x] = px.n as u16;
        out.value[x] = combine_kept(&px, r, all);
        if want_sigma {
            out.sigma[x] = sigma_of(&px.d, &px.id, out.value[x], r, all);
        }
    }
    out
}

/// IRAF's masks' view of uncompacted pixels: the images in the first n places are the ones used.
fn first_places_used(pixels: &[Pixel], reasons: &[u8], nimages: usize) -> Vec<u8> {
    let mut mask = reasons.to_vec();
    for (px, m) in pixels.iter().zip(mask.chunks_mut(nimages)) {
        for (k, id) in px.id[..px.n_in].iter().enumerate() {
            m[*id as usize] = if k < px.n {
                Reason::Kept as u8
            } else if m[*id as usize] == Reason::Kept as u8 {
                Reason::Sigma as u8
            } else {
                m[*id as usize]
            };
        }
    }
    mask
}

/// Turn the algorithm's layout into reasons, and (if `compact`) move the kept values to the front.
fn mark_rejected(px: &mut Pixel, reasons: &mut [u8], compact: bool) {
    let why = if px.by_extrema {
        Reason::Extrema
    } else {
        Reason::Sigma
    } as u8;
    if let Some((nl, nh)) = px.window {
        for k in (0..nl).chain(nh..px.n_in) {
            reasons[px.id[k] as usize] = why;
        }
        let n1 = nh - nl;
        if compact && n1 > 0 && nl > 0 {
            // IRAF fills the first nl slots from the end of the window, not by shifting: the
            // order matters to nmodel (by position) and to float sums
            for (l, j) in (0..n1.min(nl)).zip(nl.max(n1)..) {
                px.d[l] = px.d[j];
                px.id[l] = px.id[j];
            }
        }
        px.n = n1;
    } else {
        for k in px.n..px.n_in {
            reasons[px.id[k] as usize] = why;
        }
    }
}

/// Run the rejection over a row; returns IRAF's `docombine` (false: the algorithm's own values stand).
fn reject_row(pixels: &mut [Pixel], r: &IrafRules, nimages: usize) -> bool {
    let minclip = match r.reject {
        IrafReject::None | IrafReject::MinMax { .. } => 0,
        IrafReject::CcdClip | IrafReject::CrReject => 2,
        _ => 3,
    };
    if r.reject == IrafReject::None
        || nimages < minclip.max(r.maxkeep(nimages) + 1)
        || pixels.iter().all(|p| p.n == 0)
    {
        return true;
    }
    let lsigma = if r.reject == IrafReject::CrReject {
        f32::MAX
    } else {
        r.lsigma
    };
    match (r.reject, r.mclip) {
        (IrafReject::MinMax { flow, fhigh }, _) => {
            pixels.iter_mut().for_each(|p| minmax(p, flow, fhigh));
            true
        }
        (IrafReject::PClip(pc), _) => {
            pixels.iter_mut().for_each(|p| pclip(p, r, pc));
            r.combine != Method::Median
        }
        (IrafReject::SigClip, false) => {
            pixels.iter_mut().for_each(|p| {
                average_clip(p, r, lsigma, AverageSpread::Sigma, 3);
            });
            r.dowts || r.combine != Method::Average
        }
        (IrafReject::CcdClip | IrafReject::CrReject, false) => {
            pixels.iter_mut().for_each(|p| {
                average_clip(p, r, lsigma, AverageSpread::Noise, 2);
            });
            r.dowts || r.combine != Method::Average
        }
        (IrafReject::AvSigClip, false) => {
            let sig = poisson_scale(pixels, r, false);
            pixels.iter_mut().for_each(|p| {
                average_clip(p, r, lsigma, AverageSpread::Poisson(sig), 3);
            });
            r.dowts || r.combine != Method::Average
        }
        (IrafReject::SigClip, true) => {
            pixels
                .iter_mut()
                .for_each(|p| median_clip(p, r, lsigma, MedianSpread::Sigma, 3));
            r.combine != Method::Median
        }
        (IrafReject::CcdClip | IrafReject::CrReject, true) => {
            pixels
                .iter_mut()
                .for_each(|p| median_clip(p, r, lsigma, MedianSpread::Noise, 2));
            r.combine != Method::Median
        }
        (IrafReject::AvSigClip, true) => {
            let sig = poisson_scale(pixels, r, true);
            pixels
                .iter_mut()
                .for_each(|p| median_clip(p, r, lsigma, MedianSpread::Poisson(sig), 3));
            r.combine != Method::Median
        }
        (IrafReject::None, _) => true,
    }
}

/// ic_mm: reject pairs of extremes, then the remaining lows and highs, as fractions of the pixel's count.
fn minmax(p: &mut Pixel, flow: f32, fhigh: f32) {
    let n1 = p.n;
    let nlow = (flow * n1 as f32 + 0.001) as usize;
    let nhigh = (fhigh * n1 as f32 + 0.001) as usize;
    if nlow + nhigh == 0 {
        return;
    }
    let mut idx: Vec<usize> = (0..n1).collect();
    idx.sort_by(|&a, &b| p.d[a].total_cmp(&p.d[b]));
    let lo = nlow.min(n1);
    let rejected: Vec<usize> = idx[..lo]
        .iter()
        .chain(&idx[n1.saturating_sub(nhigh).max(lo)..])
        .copied()
        .collect();
    // the kept values stay in image order
    let order: Vec<usize> = (0..n1)
        .filter(|k| !rejected.contains(k))
        .chain(rejected.iter().copied())
        .collect();
    let kept = n1 - rejected.len();
    let (d, id): (Vec<f32>, Vec<u32>) = order.iter().map(|&k| (p.d[k], p.id[k])).unzip();
    p.d = d;
    p.id = id;
    p.n = kept;
    p.by_extrema = true;
}

/// The mean of the values without the lowest and highest, and the sum of all (ic_*clip's start).
fn average_without_extremes(d: &[f32]) -> (f32, f32) {
    let n1 = d.len();
    let (mut low, mut high) = (d[0], d[1]);
    if low > high {
        std::mem::swap(&mut low, &mut high);
    }
    let mut sum = 0f32;
    for &d1 in &d[2..] {
        if d1 < low {
            sum += low;
            low = d1;
        } else if d1 > high {
            sum += high;
            high = d1;
        } else {
            sum += d1;
        }
    }
    let a = sum / (n1 - 2) as f32;
    (a, sum + low + high)
}

/// The spread of the average-centred clips.
#[derive(Clone, Copy)]
enum AverageSpread {
    /// ic_asigclip: the standard deviation about the average (n - 1).
    Sigma,
    /// ic_accdclip: the CCD noise model at the average.
    Noise,
    /// ic_aavsigclip: the row's Poisson scale times sqrt(average).
    Poisson(f32),
}

/// The noise model's sigma of image `l` at scaled level `a` (iccclip), with or without the
/// scaling correction.
fn noise_sigma(r: &IrafRules, l: usize, a: f32) -> f32 {
    let nm = r.noise[l];
    if r.doscale1 {
        let s = r.scales[l];
        let d1 = (s * (a + r.zeros[l])).max(0.0);
        (nm[0] + d1 / nm[1] + (d1 * nm[2]).powi(2)).sqrt() / s
    } else {
        let s = a.max(0.0);
        (nm[0] + s / nm[1] + (s * nm[2]).powi(2)).sqrt()
    }
}

/// sqrt(max(1, level of image l)) for the Poisson-scaled clips.
fn poisson_factor(r: &IrafRules, l: usize, a: f32) -> f32 {
    if r.doscale1 {
        ((a + r.zeros[l]) / r.scales[l]).max(1.0).sqrt()
    } else {
        a.max(1.0).sqrt()
    }
}

/// ic_asigclip / ic_accdclip / ic_aavsigclip: clip about an average, iterated, then nkeep.
fn average_clip(p: &mut Pixel, r: &IrafRules, lsigma: f32, spread: AverageSpread, minclip: usize) {
    let mut n1 = p.n;
    let maxkeep = r.maxkeep(n1);
    let too_few = match spread {
        AverageSpread::Sigma => n1 < 3.max(maxkeep),
        AverageSpread::Noise => n1 <= (minclip - 1).max(maxkeep),
        AverageSpread::Poisson(_) => n1 <= 2.max(maxkeep),
    };
    if too_few {
        p.own = Some(plain_mean(&p.d[..n1], r.blank));
        return;
    }
    let mut resid = vec![0f32; p.n + 2];
    let mut w = vec![0f32; p.n];
    let (mut a, mut sum) = match spread {
        AverageSpread::Noise => (0.0, 0.0),
        _ => average_without_extremes(&p.d[..n1]),
    };
    let mut n2;
    loop {
        if let AverageSpread::Noise = spread {
            (a, sum) = if n1 == 2 {
                let s = p.d[0] + p.d[1];
                (s / 2.0, s)
            } else {
                average_without_extremes(&p.d[..n1])
            };
        }
        n2 = n1;
        // the divisor of each residual, fixed for the pass
        let s: f32 = match spread {
            AverageSpread::Sigma => {
                let mut s = 0f32;
                for j in 0..n1 {
                    let rj = if r.doscale1 {
                        poisson_factor(r, p.id[j] as usize, a)
                    } else {
                        1.0
                    };
                    w[j] = rj;
                    s += if r.doscale1 {
                        ((p.d[j] - a) / rj).powi(2)
                    } else {
                        (p.d[j] - a).powi(2)
                    };
                }
                (s / (n1 - 1) as f32).sqrt()
            }
            AverageSpread::Noise => 1.0,
            AverageSpread::Poisson(sig) => sig,
        };
        if s > 0.0 {
            let mut j = 0;
            while j < n1 {
                let l = p.id[j] as usize;
                let d1 = p.d[j];
                let rr = match spread {
                    AverageSpread::Sigma => {
                        if r.doscale1 {
                            (d1 - a) / (s * w[j])
                        } else {
                            (d1 - a) / s
                        }
                    }
                    AverageSpread::Noise => (d1 - a) / noise_sigma(r, l, a),
                    AverageSpread::Poisson(sig) => (d1 - a) / (sig * poisson_factor(r, l, a)),
                };
                if rr < -lsigma || rr > r.hsigma {
                    resid[n1] = rr.abs();
                    if j < n1 - 1 {
                        p.d.swap(j, n1 - 1);
                        p.id.swap(j, n1 - 1);
                        w[j] = w[n1 - 1];
                        sum -= d1;
                        n1 -= 1;
                        continue;
                    }
                    sum -= d1;
                    n1 -= 1;
                }
                j += 1;
            }
        }
        if !matches!(spread, AverageSpread::Noise) && n1 > 1 {
            a = sum / n1 as f32;
        }
        let stop = match spread {
            AverageSpread::Noise => n1 < minclip.max(maxkeep + 1),
            _ => n1 <= 2.max(maxkeep),
        };
        if n1 == n2 || stop {
            break;
        }
    }
    if n1 < maxkeep {
        // add back the values of the last pass with the smallest residuals (ties within TOL together)
        let mut nk = maxkeep;
        let mut j = n1 + 1;
        while j <= nk {
            let mut rj = resid[j];
            let mut jj = 0;
            for l in j + 1..=n2 {
                let s = resid[l];
                if s < rj + TOL {
                    if s > rj - TOL {
                        jj += 1;
                    } else {
                        jj = 0;
                        resid[l] = rj;
                        rj = s;
                        p.d.swap(j - 1, l - 1);
                        p.id.swap(j - 1, l - 1);
                    }
                }
            }
            sum += p.d[j - 1];
            n1 += 1;
            nk = nk.max(j + jj);
            j += 1;
        }
        if n1 > 1 {
            a = sum / n1 as f32;
        }
    }
    if let AverageSpread::Noise = spread {
        a = if n1 > 0 { sum / n1 as f32 } else { r.blank };
    }
    p.n = n1;
    p.own = Some(if n1 > 0 { a } else { r.blank });
}

/// ic_aavsigclip / ic_mavsigclip's first pass: the Poisson scale of the row.
fn poisson_scale(pixels: &[Pixel], r: &IrafRules, median: bool) -> f32 {
    let (mut s, mut n2) = (0f32, 0usize);
    for p in pixels {
        let n1 = p.n;
        if n1 < 3 {
            continue;
        }
        let a = if median {
            median_of_sorted(&p.d[..n1])
        } else {
            average_without_extremes(&p.d[..n1]).0
        };
        if r.doscale1 {
            for j in 0..n1 {
                let l = p.id[j] as usize;
                let s1 = ((a + r.zeros[l]) / r.scales[l]).max(1.0);
                s += (p.d[j] - a).powi(2) / s1;
            }
        } else {
            let s1 = a.max(1.0);
            for j in 0..n1 {
                s += (p.d[j] - a).powi(2) / s1;
            }
        }
        n2 += n1;
    }
    if n2 > 1 {
        (s / (n2 - 1) as f32).sqrt()
    } else {
        s
    }
}

/// The median of sorted values (even count: the mean of the two middle ones).
fn median_of_sorted(d: &[f32]) -> f32 {
    let n = d.len();
    if n.is_multiple_of(2) {
        (d[n / 2 - 1] + d[n / 2]) / 2.0
    } else {
        d[n / 2]
    }
}

/// The spread of the median-centred clips.
#[derive(Clone, Copy)]
enum MedianSpread {
    Sigma,
    Noise,
    Poisson(f32),
}

/// ic_msigclip / ic_mccdclip / ic_mavsigclip on sorted values: reject from both ends about the
/// median, iterated, then nkeep from the last pass's residuals.
fn median_clip(p: &mut Pixel, r: &IrafRules, lsigma: f32, spread: MedianSpread, minclip: usize) {
    let n_in = p.n;
    let mut n1 = n_in;
    let maxkeep = r.maxkeep(n1);
    let avsig = matches!(spread, MedianSpread::Poisson(_));
    if n1 == 0 {
        p.own = Some(r.blank);
        p.window = Some((0, 0));
        return;
    }
    if avsig && n1 < 3.max(maxkeep + 1) {
        p.own = Some(median_of_sorted(&p.d[..n1]));
        return;
    }
    let mut resid = vec![0f32; n_in + 2];
    let mut w = vec![0f32; n_in + 1];
    // 1-based window [nl, nh] as IRAF writes it
    let (mut nl, mut nh) = (1usize, n1);
    let window_median = |d: &[f32], nl: usize, n1: usize, blank: f32| -> f32 {
        if n1 == 0 {
            blank
        } else {
            let n3 = nl + n1 / 2;
            if n1.is_multiple_of(2) {
                (d[n3 - 2] + d[n3 - 1]) / 2.0
            } else {
                d[n3 - 1]
            }
        }
    };
    let mut med = window_median(&p.d, nl, n1, r.blank);
    let mut n2;
    loop {
        n2 = n1;
        if !avsig {
            med = window_median(&p.d, nl, n1, r.blank);
        }
        let clip = n1 >= minclip.max(maxkeep + 1)
            && match spread {
                MedianSpread::Poisson(sig) => sig > 0.0,
                _ => true,
            };
        if clip {
            // the divisor of each residual, fixed for the pass
            let s = match spread {
                MedianSpread::Sigma => {
                    let mut s = 0f32;
                    for j in nl..=nh {
                        let l = p.id[j - 1] as usize;
                        if r.doscale1 {
                            let rr = poisson_factor(r, l, med);
                            s += ((p.d[j - 1] - med) / rr).powi(2);
                            w[j] = rr;
                        } else {
                            s += (p.d[j - 1] - med).powi(2);
                            w[j] = 1.0;
                        }
                    }
                    (s / (n1 - 1) as f32).sqrt()
                }
                _ => 1.0,
            };
            let divisor = |j: usize| -> f32 {
                let l = p.id[j - 1] as usize;
                match spread {
                    MedianSpread::Sigma => {
                        if r.doscale1 {
                            s * w[j]
                        } else {
                            s
                        }
                    }
                    MedianSpread::Noise => noise_sigma(r, l, med),
                    MedianSpread::Poisson(sig) => sig * poisson_factor(r, l, med),
                }
            };
            if s > 0.0 {
                while nl <= nh {
                    let rr = (med - p.d[nl - 1]) / divisor(nl);
                    if rr <= lsigma {
                        break;
                    }
                    resid[nl] = rr;
                    n1 -= 1;
                    nl += 1;
                }
                while nh >= nl {
                    let rr = (p.d[nh - 1] - med) / divisor(nh);
                    if rr <= r.hsigma {
                        break;
                    }
                    resid[nh] = rr;
                    n1 -= 1;
                    nh -= 1;
                }
            }
            if avsig && n1 < n2 {
                med = window_median(&p.d, nl, n1, r.blank);
            }
        }
        if n1 == n2 || n1 < minclip.max(maxkeep + 1) {
            break;
        }
    }
    add_back_window(&resid, &mut nl, &mut nh, &mut n1, maxkeep, n_in, n2);
    if avsig && n1 < n2 {
        med = window_median(&p.d, nl, n1, r.blank);
    }
    p.window = Some((nl - 1, nh));
    p.own = Some(med);
}

/// nkeep for the median-centred clips and pclip: widen the window [nl, nh] by the smaller
/// residual at either end (values within TOL come back together).
fn add_back_window(
    resid: &[f32],
    nl: &mut usize,
    nh: &mut usize,
    n1: &mut usize,
    maxkeep: usize,
    n_in: usize,
    n2: usize,
) {
    while *n1 < maxkeep {
        if *nl == 1 {
            *nh += 1;
        } else if *nh == n_in {
            *nl -= 1;
        } else {
            let mut rl = resid[*nl - 1];
            let mut rh = resid[*nh + 1];
            if rl < rh {
                *nl -= 1;
                rl += TOL;
                if rh <= rl {
                    *nh += 1;
                }
                if *nl > 1 && resid[*nl - 1] <= rl {
                    *nl -= 1;
                }
            } else {
                *nh += 1;
                rh += TOL;
                if rl <= rh {
                    *nl -= 1;
                }
                if *nh < n2 && resid[*nh + 1] <= rh {
                    *nh += 1;
                }
            }
        }
        *n1 = *nh + 1 - *nl;
    }
}

/// ic_pclip on sorted values: the spread is the distance from the median to the value `pc`
/// pixels away; bounds are not strict; one pass.
fn pclip(p: &mut Pixel, r: &IrafRules, pc: f32) {
    let n1 = p.n;
    if n1 == 0 {
        p.own = Some(r.blank);
        p.window = Some((0, 0));
        return;
    }
    let maxkeep = r.maxkeep(n1);
    let n2 = 1 + n1 / 2;
    let even = n1.is_multiple_of(2);
    let n3 = if pc < 0.0 {
        if even {
            ((n2 as f32 - 1.0 + pc).round() as i64).max(1) as usize
        } else {
            ((n2 as f32 + pc).round() as i64).max(1) as usize
        }
    } else {
        ((n2 as f32 + pc).round() as usize).min(n1)
    };
    let d = &p.d;
    let mut med = if even {
        (d[n2 - 2] + d[n2 - 1]) / 2.0
    } else {
        d[n2 - 1]
    };
    p.own = Some(med);
    if n1 < 3.max(maxkeep + 1) {
        return;
    }
    let t = if pc < 0.0 { -1.0 } else { 1.0 };
    let sigma = t * (d[n3 - 1] - med);
    if sigma == 0.0 {
        return;
    }
    let mut resid = vec![0f32; n1 + 2];
    let mut nl = 1;
    while nl <= n1 {
        let rr = (med - d[nl - 1]) / sigma;
        if rr < r.lsigma {
            break;
        }
        resid[nl] = rr;
        nl += 1;
    }
    let mut nh = n1;
    while nh >= 1 {
        let rr = (d[nh - 1] - med) / sigma;
        if rr < r.hsigma {
            break;
        }
        resid[nh] = rr;
        nh -= 1;
    }
    let mut n4 = (nh + 1).saturating_sub(nl);
    add_back_window(&resid, &mut nl, &mut nh, &mut n4, maxkeep, n1, n2);
    if nl > 1 || nh < n1 {
        let n5 = nl + n4 / 2;
        med = if n4.is_multiple_of(2) {
            (d[n5 - 2] + d[n5 - 1]) / 2.0
        } else {
            d[n5 - 1]
        };
    }
    p.window = Some((nl - 1, nh.max(nl - 1)));
    p.own = Some(med);
}

fn plain_mean(d: &[f32], blank: f32) -> f32 {
    if d.is_empty() {
        return blank;
    }
    let mut sum = d[0];
    for &v in &d[1..] {
        sum += v;
    }
    sum / d.len() as f32
}

/// ic_average / ic_median / sum over the kept values `p.d[..p.n]`; `all`: IRAF's D_ALL line.
fn combine_kept(p: &Pixel, r: &IrafRules, all: bool) -> f32 {
    let (d, id) = (&p.d[..p.n], &p.id[..p.n]);
    if d.is_empty() {
        return r.blank;
    }
    match r.combine {
        Method::Average if r.dowts => {
            let (mut sum, mut sumwt) = (0f32, 0f32);
            for (v, i) in d.iter().zip(id) {
                let wt = r.weights[*i as usize];
                sum += v * wt;
                sumwt += wt;
            }
            if all {
                sum
            } else if sumwt > 0.0 {
                sum / sumwt
            } else {
                plain_mean(d, r.blank)
            }
        }
        Method::Average => plain_mean(d, r.blank),
        Method::Sum => {
            let mut sum = d[0];
            for &v in &d[1..] {
                sum += v;
            }
            sum
        }
        Method::Median => median_of(d, r),
        Method::Quadrature => quadrature(d, id, r, all, |v, _| v * v),
        Method::NoiseModel => quadrature(d, id, r, all, |v, position| {
            // IRAF takes the model of the value's position in the list, not of its image
            let nm = r.nmodel[position.min(r.nmodel.len() - 1)];
            let v = v.max(0.0);
            nm[0] + v / nm[1] + (v * nm[2]).powi(2)
        }),
    }
}

/// ic_quad and ic_nmodel: the square root of the summed variances (`variance(value, position)`),
/// weighted by the squared weights when weights are used, divided by n (or the summed weights).
fn quadrature(
    d: &[f32],
    id: &[u32],
    r: &IrafRules,
    all: bool,
    variance: impl Fn(f32, usize) -> f32,
) -> f32 {
    let n1 = d.len();
    if r.dowts {
        let (mut sum, mut sumwt) = (0f32, 0f32);
        for (k, (v, i)) in d.iter().zip(id).enumerate() {
            let wt = r.weights[*i as usize];
            sum += match r.combine {
                Method::Quadrature => (v * wt).powi(2),
                _ => variance(*v, k) * wt * wt,
            };
            sumwt += wt;
        }
        if all {
            return sum.sqrt();
        }
        if sumwt > 0.0 {
            return sum.sqrt() / sumwt;
        }
    }
    let mut sum = 0f32;
    for (k, v) in d.iter().enumerate() {
        sum += variance(*v, k);
    }
    sum.sqrt() / n1 as f32
}

/// ic_median: sorted values (mclip) take the middle; lmedian of two takes the upper one there
/// and the lower one otherwise, as IRAF does.
fn median_of(d: &[f32], r: &IrafRules) -> f32 {
    let n1 = d.len();
    let mut v = d.to_vec();
    if !r.sorts() {
        v.sort_by(f32::total_cmp);
    }
    if n1 == 2 && r.median_low {
        return if r.sorts() { v[1] } else { v[0] };
    }
    median_of_sorted(&v)
}

/// ic_sigma: the spread of the kept values about the combined value (n - 1; weighted when weights
/// are used).
fn sigma_of(d: &[f32], id: &[u32], a: f32, r: &IrafRules, all: bool) -> f32 {
    let n1 = d.len();
    if n1 == 0 {
        return r.blank;
    }
    if r.dowts {
        let sigcor = if n1 > 1 {
            n1 as f32 / (n1 - 1) as f32
        } else {
            1.0
        };
        let (mut sum, mut sumwt) = (0f32, 0f32);
        for (v, i) in d.iter().zip(id) {
            let wt = r.weights[*i as usize];
            sum += (v - a).powi(2) * wt;
            sumwt += wt;
        }
        if all {
            (sum * sigcor).sqrt()
        } else if sumwt > 0.0 {
            (sum / sumwt * sigcor).sqrt()
        } else {
            let s: f32 = d.iter().map(|v| (v - a).powi(2)).sum();
            (s / n1 as f32 * sigcor).sqrt()
        }
    } else {
        let sigcor = if n1 > 1 { 1.0 / (n1 - 1) as f32 } else { 1.0 };
        let mut sum = 0f32;
        for v in d {
            sum += (v - a).powi(2);
        }
        (sum * sigcor).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(reject: IrafReject, n: usize) -> IrafRules {
        IrafRules {
            reject,
            mclip: true,
            lsigma: 3.0,
            hsigma: 3.0,
            nkeep: 1,
            combine: Method::Average,
            median_low: false,
            blank: 0.0,
            scales: vec![1.0; n],
            zeros: vec![0.0; n],
            weights: vec![1.0 / n as f32; n],
            noise: vec![[1e-30, 1.0, 0.0]; n],
            nmodel: vec![[1e-30, 1.0, 0.0]; n],
            doscale: false,
            doscale1: false,
            dowts: false,
            lthreshold: None,
            hthreshold: None,
            grow: false,
        }
    }

    fn one_pixel(values: &[f32], r: &IrafRules) -> (f32, u16) {
        let rows: Vec<Vec<f32>> = values.iter().map(|v| vec![*v]).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|v| v.as_slice()).collect();
        let out = combine_row(&refs, r, false);
        (out.value[0], out.n_used[0])
    }

    #[test]
    fn pclip_of_a_twentieth_keeps_everything_when_the_spread_is_zero() {
        // IRAF: pclip -0.05 of 5 images is one pixel below the median; 120 - 120 = 0: no rejection
        let r = rules(IrafReject::PClip(-1.0), 5);
        assert_eq!(one_pixel(&[100., 120., 120., 120., 130.], &r), (118.0, 5));
    }

    #[test]
    fn ccdclip_nkeep_brings_back_both_values_of_equal_residual() {
        // gain 1, read noise 0: the average without extremes is 1200, sigma sqrt(1200) = 34.6;
        // 1090 and 1310 are 3.18 sigma off, 1000 and 1400 5.8: all go, nkeep 1 brings back the
        // two at equal residual
        let mut r = rules(IrafReject::CcdClip, 4);
        r.mclip = false;
        assert_eq!(one_pixel(&[1000., 1090., 1310., 1400.], &r), (1200.0, 2));
    }

    #[test]
    fn crreject_removes_a_cosmic_ray_from_a_pair() {
        let mut r = rules(IrafReject::CrReject, 2);
        r.mclip = false;
        r.nkeep = 0;
        r.noise = vec![[(5.0f32 / 2.0).powi(2), 2.0, 0.0]; 2];
        assert_eq!(one_pixel(&[1000., 5000.], &r), (1000.0, 1));
    }

    #[test]
    fn minmax_counts_are_fractions_of_the_values_left() {
        let mut r = rules(
            IrafReject::MinMax {
                flow: 1.0 / 3.0,
                fhigh: 1.0 / 3.0,
            },
            3,
        );
        r.hthreshold = Some(2500.0);
        assert_eq!(one_pixel(&[1000., 1010., 3000.], &r), (1005.0, 2));
    }

    #[test]
    fn median_sigclip_reports_the_median_before_its_last_rejection() {
        // 3 values, the last rejected: the loop stops below 3 values and keeps the median of 3
        let mut r = rules(IrafReject::SigClip, 3);
        r.combine = Method::Median;
        r.lsigma = 0.5;
        r.hsigma = 0.5;
        r.nkeep = 0;
        let (v, n) = one_pixel(&[10., 11., 30.], &r);
        assert_eq!(n, 2);
        assert_eq!(v, 11.0);
    }
}
