//! IRAF imcombine's scale factors, zero offsets, weights and noise parameters (icscale.x, icstat.gx,
//! icgscale.x, icomb.gx), in single precision: statistics over a subsample of at most 100000 pixels,
//! everything normalised to the first image.

use super::input::StackInput;
use super::iraf::{IrafReject, IrafRules};
use super::kernel::FrameFactors;
use super::params::{
    CombineParams, Method, NoiseKeywords, NoiseModel, Scale, Spread, Statistic, Weights, Zero,
};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// IRAF's mode of sorted values (ic_mode: the densest bin of a tenth of the central 70% range).
pub fn iraf_mode(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 10 {
        return a[(n / 2).max(1) - 1];
    }
    let i0 = (1.0 + n as f32 * (1.0 - 0.7) / 2.0) as usize;
    let j = (1.0 + n as f32 * (1.0 + 0.7) / 2.0) as usize;
    let (mut z1, z2) = (a[i0 - 1], a[j - 1]);
    if z1 == z2 {
        return z1;
    }
    let zstep = 0.01 * (z2 - z1);
    let zbin = 0.1 * (z2 - z1);
    z1 -= zstep;
    let (mut i, mut k, mut nmax) = (i0, i0, 0usize);
    let mut mode = a[i0 - 1];
    loop {
        z1 += zstep;
        let z2 = z1 + zbin;
        while i < j && a[i - 1] < z1 {
            i += 1;
        }
        while k < j && a[k - 1] < z2 {
            k += 1;
        }
        if k - i > nmax {
            nmax = k - i;
            mode = a[(i + k) / 2 - 1];
        }
        if k >= j {
            return mode;
        }
    }
}

/// ic_stat: mode, median and mean of a subsample (every j-th pixel in each axis, j the first step
/// that leaves fewer than 100000) of the statistics section, thresholds applied.
fn iraf_stats(input: &dyn StackInput, params: &CombineParams) -> Result<(f32, f32, f32)> {
    let b = super::scaling::stat_box(input, params)?;
    let (mut step, mut count) = (1, 0);
    for j in 1..=10 {
        step = j;
        let nvx = ((b.x.len().max(1) - 1) / j + 1).max(1);
        let nvy = ((b.y.len().max(1) - 1) / j + 1).max(1);
        count = nvx * nvy;
        if count < 100_000 {
            break;
        }
    }
    let r = &params.rejection;
    let (lo, hi) = (r.min_clip.map(|v| v as f32), r.max_clip.map(|v| v as f32));
    let mut data: Vec<f32> = Vec::with_capacity(count);
    for y in b.y.clone().step_by(step) {
        let row = input.read_rows(y..y + 1)?;
        for x in b.x.clone().step_by(step) {
            let a = row[[0, x]];
            if a.is_finite() && lo.is_none_or(|t| a >= t) && hi.is_none_or(|t| a <= t) {
                data.push(a);
            }
        }
    }
    if data.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: the statistics section contains no pixels",
            input.name()
        )));
    }
    let mut sum = 0f32;
    for &v in &data {
        sum += v;
    }
    let mean = sum / data.len() as f32;
    data.sort_by(f32::total_cmp);
    let median = data[(data.len() / 2).max(1) - 1];
    Ok((iraf_mode(&data), median, mean))
}

fn header_f32(input: &dyn StackInput, key: &str, what: &str) -> Result<f32> {
    input
        .header()
        .get_f64(key)
        .map(|v| v as f32)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no numeric {key} keyword for the {what}",
                input.name()
            ))
        })
}

/// How IRAF got a set of per-image numbers (S_FILE and S_KEYWORD normalise differently).
#[derive(PartialEq)]
enum Source {
    None,
    Statistic,
    Exposure,
    Given,
}

/// The statistic a scale/zero/weight choice needs.
fn pick(s: (f32, f32, f32), stat: Statistic) -> f32 {
    match stat {
        Statistic::Mode => s.0,
        Statistic::Median => s.1,
        Statistic::Mean => s.2,
    }
}

fn exposures(inputs: &[&dyn StackInput], key: &str) -> Vec<f32> {
    inputs
        .iter()
        .map(|i| {
            i.header()
                .get_f64(key)
                .map(|t| t as f32)
                .unwrap_or(0.0)
                .max(0.001)
        })
        .collect()
}

/// The per-image numbers of one of scale, zero or weight and where they came from.
fn values_of(
    inputs: &[&dyn StackInput],
    stats: &[(f32, f32, f32)],
    choice: Choice,
    what: &str,
) -> Result<(Vec<f32>, Source)> {
    let n = inputs.len();
    Ok(match choice {
        Choice::None => (vec![f32::NAN; n], Source::None),
        Choice::Stat(st) => (
            stats.iter().map(|s| pick(*s, st)).collect(),
            Source::Statistic,
        ),
        Choice::Exposure(key) => (exposures(inputs, key), Source::Exposure),
        Choice::Given(v) => (v.iter().map(|x| *x as f32).collect(), Source::Given),
        Choice::Keyword(key) => (
            inputs
                .iter()
                .map(|i| header_f32(*i, key, what))
                .collect::<Result<_>>()?,
            Source::Given,
        ),
    })
}

/// One of IRAF's scale/zero/weight choices.
#[derive(Clone, Copy)]
enum Choice<'a> {
    None,
    Stat(Statistic),
    Exposure(&'a str),
    Given(&'a [f64]),
    Keyword(&'a str),
}

fn scale_choice(s: &Scale) -> Choice<'_> {
    match s {
        Scale::None => Choice::None,
        Scale::InvMedian => Choice::Stat(Statistic::Median),
        Scale::InvMean => Choice::Stat(Statistic::Mean),
        Scale::InvMode => Choice::Stat(Statistic::Mode),
        Scale::Exptime(k) => Choice::Exposure(k),
        Scale::Given(v) => Choice::Given(v),
        Scale::Keyword(k) => Choice::Keyword(k),
        // validate refuses Siril's normalisation and noise weights under IRAF semantics
        Scale::Normalise(_) => Choice::None,
    }
}

fn zero_choice(z: &Zero) -> Choice<'_> {
    match z {
        Zero::None => Choice::None,
        Zero::Median => Choice::Stat(Statistic::Median),
        Zero::Mean => Choice::Stat(Statistic::Mean),
        Zero::Mode => Choice::Stat(Statistic::Mode),
        Zero::Given(v) => Choice::Given(v),
    }
}

fn weight_choice(w: &Weights) -> Choice<'_> {
    match w {
        Weights::None => Choice::None,
        Weights::Statistic(s) => Choice::Stat(*s),
        Weights::Exptime(k) => Choice::Exposure(k),
        Weights::Given(v) => Choice::Given(v),
        Weights::Keyword(k) => Choice::Keyword(k),
        Weights::InverseNoise => Choice::None,
    }
}

fn needs_stats(c: Choice) -> bool {
    matches!(c, Choice::Stat(_))
}

/// ic_scale's results.
struct Scaling {
    /// Divisors.
    scales: Vec<f32>,
    /// Subtracted after dividing.
    zeros: Vec<f32>,
    /// Normalised to a sum of 1.
    weights: Vec<f32>,
    doscale: bool,
    doscale1: bool,
    dowts: bool,
}

/// IRAF's scales, zeros and weights as ic_scale makes them.
fn iraf_scaling(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    progress: &Progress,
) -> Result<Scaling> {
    let n = inputs.len();
    let (sc, zc, wc) = (
        scale_choice(&params.scale),
        zero_choice(&params.zero),
        weight_choice(&params.weights),
    );
    let stats: Vec<(f32, f32, f32)> = if needs_stats(sc) || needs_stats(zc) || needs_stats(wc) {
        super::scaling::per_frame(inputs, progress, "measuring frame statistics", |i| {
            iraf_stats(i, params)
        })?
    } else {
        Vec::new()
    };
    let (mut scales, stype) = values_of(inputs, &stats, sc, "scaling")?;
    let (mut zeros, ztype) = values_of(inputs, &stats, zc, "zero offsets")?;
    let (mut wts, wtype) = values_of(inputs, &stats, wc, "weights")?;
    for v in scales
        .iter_mut()
        .chain(zeros.iter_mut())
        .chain(wts.iter_mut())
    {
        if v.is_nan() {
            *v = 0.0;
        }
    }
    if stype == Source::None {
        scales.fill(1.0);
    }
    if wtype == Source::None {
        wts.fill(1.0);
    }
    if scales.iter().any(|s| *s <= 0.0) {
        // IRAF: "WARNING: Negative scale factors -- ignoring scaling"
        scales.fill(1.0);
    }
    let snorm = stype == Source::Given;
    let znorm = ztype == Source::Given;
    let wflag = wtype == Source::Given;
    if snorm {
        scales.iter_mut().for_each(|s| *s = 1.0 / *s);
    }
    let first = scales[0];
    scales.iter_mut().for_each(|s| *s /= first);
    for (z, s) in zeros.iter_mut().zip(&scales) {
        *z /= *s;
    }
    let ncombine: Vec<f32> = inputs
        .iter()
        .map(|i| i.header().get_f64("NCOMBINE").unwrap_or(1.0) as f32)
        .collect();
    if wtype != Source::None {
        if wts.iter().any(|w| *w < 0.0) {
            wts = ncombine.clone();
        } else if ztype == Source::None || znorm || wflag {
            wts.iter_mut().zip(&ncombine).for_each(|(w, c)| *w *= c);
        } else if zeros.iter().any(|z| *z <= 0.0) {
            wts.iter_mut().zip(&ncombine).for_each(|(w, c)| *w *= c);
        } else {
            let z1 = zeros[0];
            for i in 0..n {
                wts[i] = ncombine[i] * wts[i] * z1 / zeros[i];
            }
        }
    }
    if znorm {
        zeros.iter_mut().for_each(|z| *z = -*z);
    } else {
        let z1 = zeros[0];
        zeros.iter_mut().for_each(|z| *z -= z1);
        if zeros.iter().all(|z| *z == zeros[0]) {
            zeros.fill(0.0);
        }
    }
    let mut sumw = 0f32;
    for w in &wts {
        sumw += w;
    }
    if sumw > 0.0 {
        wts.iter_mut().for_each(|w| *w /= sumw);
    } else {
        wts.fill(1.0);
    }
    let doscale = snorm || scales.iter().any(|s| *s != scales[0]);
    let dozero = znorm || zeros.iter().any(|z| *z != zeros[0]);
    let dowts = wts.iter().any(|w| *w != wts[0]);
    let sigscale = params.rejection.sigscale as f32;
    let doscale1 = doscale && sigscale != 0.0 && scales.iter().any(|s| (s - 1.0).abs() > sigscale);
    Ok(Scaling {
        scales,
        zeros,
        weights: wts,
        doscale: doscale || dozero,
        doscale1,
        dowts,
    })
}

/// IRAF's noise parameters per image: [(rn/g)^2 floored at 1e4/MAX_REAL, g, snoise], each from the
/// image's header where a keyword is given, the gain times `gain_scales` (nmodel's scales).
fn noise_per_image(
    inputs: &[&dyn StackInput],
    keywords: &NoiseKeywords,
    m: NoiseModel,
    gain_scales: Option<&[f32]>,
) -> Result<Vec<[f32; 3]>> {
    let get = |inp: &dyn StackInput, key: &Option<String>, value: f64, what: &str| match key {
        Some(key) => header_f32(inp, key, what),
        None => Ok(value as f32),
    };
    inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| {
            let rn = get(*inp, &keywords.read_noise, m.read_noise_e, "read noise")?;
            let g = get(*inp, &keywords.gain, m.gain_e_per_adu, "gain")?
                * gain_scales.map_or(1.0, |s| s[i]);
            let sn = get(
                *inp,
                &keywords.snoise,
                m.sensitivity_noise,
                "sensitivity noise",
            )?;
            Ok([(rn / g).powi(2).max(1e4 / f32::MAX), g, sn])
        })
        .collect()
}

/// ccdclip's and crreject's noise model per image (icomb.gx's nm).
fn iraf_noise(inputs: &[&dyn StackInput], params: &CombineParams) -> Result<Vec<[f32; 3]>> {
    let r = &params.rejection;
    match r.sigma.map(|s| s.spread) {
        Some(Spread::CcdNoise {
            gain_e_per_adu,
            read_noise_e,
            sensitivity_noise,
        }) => noise_per_image(
            inputs,
            &r.noise_keywords,
            NoiseModel {
                gain_e_per_adu,
                read_noise_e,
                sensitivity_noise,
            },
            None,
        ),
        _ => Ok(vec![[0.0, 1.0, 0.0]; inputs.len()]),
    }
}

/// combine=nmodel's model per image (icomb.gx's nmod): the gain times the image's scale.
fn iraf_nmodel(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    scales: &[f32],
) -> Result<Vec<[f32; 3]>> {
    match params.noise_model {
        Some(m) => noise_per_image(inputs, &params.rejection.noise_keywords, m, Some(scales)),
        None => Ok(vec![[0.0, 1.0, 0.0]; inputs.len()]),
    }
}

/// IRAF's reject algorithm for these rules (validate has refused what IRAF cannot do).
fn iraf_reject(params: &CombineParams, n: usize) -> (IrafReject, bool) {
    let r = &params.rejection;
    match &r.sigma {
        None if r.nlow + r.nhigh > 0 => (
            IrafReject::MinMax {
                flow: r.nlow as f32 / n as f32,
                fhigh: r.nhigh as f32 / n as f32,
            },
            false,
        ),
        None => (IrafReject::None, false),
        Some(s) => {
            let mclip = s.centre == crate::stats::Centre::Median;
            let reject = match s.spread {
                // validate refuses the rules IRAF lacks
                Spread::Std
                | Spread::MadStd
                | Spread::Winsorized
                | Spread::MadStdFloor
                | Spread::LinearFit
                | Spread::Gesd { .. } => IrafReject::SigClip,
                Spread::PoissonScaled => IrafReject::AvSigClip,
                Spread::CcdNoise { .. } if s.low.is_infinite() => IrafReject::CrReject,
                Spread::CcdNoise { .. } => IrafReject::CcdClip,
                Spread::Percentile(p) => {
                    // icombine.x: a fraction of half the images, then a whole number of pixels
                    let half = (n / 2) as f32;
                    let mut pc = p as f32;
                    if pc.abs() < 1.0 {
                        pc *= half;
                    }
                    pc = if pc < 0.0 {
                        (pc.trunc()).max(-half).min(-1.0)
                    } else {
                        (pc.trunc()).min(half).max(1.0)
                    };
                    IrafReject::PClip(pc)
                }
            };
            (reject, mclip)
        }
    }
}

/// Frame factors under IRAF semantics: IRAF's rules attached, and the equivalent multiplier form
/// (`raw * scale + zero`) for summaries.
pub fn iraf_frame_factors(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    progress: &Progress,
) -> Result<FrameFactors> {
    let n = inputs.len();
    let Scaling {
        scales,
        zeros,
        weights,
        doscale,
        doscale1,
        dowts,
    } = iraf_scaling(inputs, params, progress)?;
    let (reject, mclip) = iraf_reject(params, n);
    let r = &params.rejection;
    let (lsigma, hsigma) = r
        .sigma
        .map(|s| (s.low as f32, s.high as f32))
        .unwrap_or((3.0, 3.0));
    // ic_combine: a median uses no weights; sum ignores them in its value but not in its sigma
    let dowts = dowts && params.method != Method::Median;
    let rules = IrafRules {
        reject,
        mclip,
        lsigma,
        hsigma,
        nkeep: r.nkeep.nkeep() as i32,
        combine: params.method,
        median_low: params.median_low,
        blank: params.blank,
        noise: iraf_noise(inputs, params)?,
        nmodel: iraf_nmodel(inputs, params, &scales)?,
        doscale,
        doscale1,
        dowts,
        lthreshold: r.min_clip.map(|v| v as f32),
        hthreshold: r.max_clip.map(|v| v as f32),
        grow: r.grow_radius_px >= 1.0,
        scales: scales.clone(),
        zeros: zeros.clone(),
        weights: weights.clone(),
    };
    let scale: Vec<f64> = scales.iter().map(|s| 1.0 / *s as f64).collect();
    let zero: Vec<f64> = zeros.iter().map(|z| 0.0 - *z as f64).collect();
    let weight = (!matches!(params.weights, Weights::None))
        .then(|| weights.iter().map(|w| *w as f64).collect());
    let mut f = FrameFactors::new(scale, zero, weight);
    f.iraf = Some(Box::new(rules));
    Ok(f)
}
