//! The per-pixel rejection inspector: for one output pixel of a combination, every input value (raw
//! and scaled), which rule rejected it, the sigma rule's centre and bounds, and the combined value,
//! computed by the same kernel calls (and the same grow) as the streamed combination.

use super::input::StackInput;
use super::kernel::{
    FrameFactors, Reason, Scratch, combine_pixel, reject_pixel, sigma_bounds, sort_pairs,
};
use super::params::{CombineParams, Semantics};
use super::{check_shapes, frame_factors, grown_reasons};
use crate::error::{Error, Result};
use crate::progress::Progress;
use ndarray::{Array2, ArrayView2};
use serde::{Serialize, Serializer};
use std::ops::Range;

/// One frame's value at the inspected pixel.
#[derive(Debug, Clone, Serialize)]
pub struct InputValue {
    /// The frame's name (as in IMCMBnnn).
    pub frame: String,
    /// The value read from the frame (NaN: masked or not covered).
    pub raw: f32,
    /// The frame's scale factor and zero offset.
    pub scale: f64,
    pub zero: f64,
    /// `raw * scale + zero`: the value the IRAF rules test and the method combines (ccdproc
    /// semantics has no zero offsets, so this is `raw * scale` there).
    pub scaled: f64,
    /// Kept, or the rule that rejected it (grow included).
    #[serde(serialize_with = "serialize_reason")]
    pub reason: Reason,
    /// The frame's weight in an average, when weights are used.
    pub weight: Option<f64>,
}

/// Everything the combination did at one output pixel.
#[derive(Debug, Clone, Serialize)]
pub struct PixelInspection {
    /// The pixel, 0-based (x = column, y = row).
    pub x: usize,
    pub y: usize,
    /// One entry per input frame, in input order.
    pub values: Vec<InputValue>,
    #[serde(serialize_with = "serialize_semantics")]
    pub semantics: Semantics,
    /// The rejection rules as output headers write them (REJECT), e.g.
    /// `sigma(3,3,median,mad_std,iters converge)`.
    pub rule: String,
    /// The sigma-type rule's centre, and its bounds: values strictly below `low` or above `high`
    /// are rejected by it.
    ///
    /// IRAF semantics: in scaled units, computed by the kernel's own centre and spread functions
    /// over the values the rule kept at this pixel (before grow). When the rule iterated until
    /// nothing changed (the default, `max_iterations: None`) these are exactly the bounds of its
    /// last pass, and every kept value lies within them. When it stopped early (the
    /// `max_iterations` cap, an nkeep restore, or fewer than 3 values left) they are the bounds a
    /// further pass would draw about the survivors, and a kept value may lie outside them. A value
    /// an earlier pass rejected lay outside that pass's bounds, not necessarily outside these.
    ///
    /// ccdproc semantics: in raw (unscaled) units, the one pass's centre and bounds over all N raw
    /// values, rejected by other rules or not, exactly as applied.
    ///
    /// `None`: no sigma-type rule, or it did not run here (IRAF: fewer than 3 values reached it or
    /// no pass was allowed; ccdproc: an input is NaN or infinite), or nothing survived it.
    pub centre: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Values used in the combined value.
    pub n_used: usize,
    /// The combined value (the output image's pixel).
    pub value: f32,
    /// The standard error of `value` (the sigma map's pixel), when the parameters ask for that map.
    pub sigma: Option<f32>,
}

/// The lowercase name of a [`Reason`]: kept, missing, threshold, extrema, sigma, grow.
pub fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::Kept => "kept",
        Reason::Missing => "missing",
        Reason::Threshold => "threshold",
        Reason::Extrema => "extrema",
        Reason::Sigma => "sigma",
        Reason::Grow => "grow",
    }
}

fn serialize_reason<S: Serializer>(r: &Reason, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(reason_name(*r))
}

fn serialize_semantics<S: Serializer>(m: &Semantics, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(match m {
        Semantics::Skycomb => "skycomb",
        Semantics::Iraf => "iraf",
        Semantics::Ccdproc => "ccdproc",
    })
}

/// The kernel's reason code as a [`Reason`].
fn reason_of(code: u8) -> Reason {
    match code {
        0 => Reason::Kept,
        1 => Reason::Missing,
        2 => Reason::Threshold,
        3 => Reason::Extrema,
        4 => Reason::Sigma,
        _ => Reason::Grow,
    }
}

/// Inspect output pixel (`x`, `y`) (0-based) of the combination of `inputs` under `params`: the
/// frame factors are measured as the combination measures them, then only the rows the pixel
/// needs (its row, plus the grow radius above and below) are read.
pub fn inspect_pixel(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    x: usize,
    y: usize,
) -> Result<PixelInspection> {
    params.validate(inputs.len())?;
    check_shapes(inputs)?;
    let factors = frame_factors(inputs, params, &Progress::new())?;
    inspect_pixel_with_factors(inputs, params, &factors, x, y)
}

/// [`inspect_pixel`] with frame factors already known, e.g. those of a finished combination:
/// `FrameFactors::new(summary.scale, summary.zero, summary.weights)` gives the same numbers
/// without measuring the frames again.
pub fn inspect_pixel_with_factors(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    factors: &FrameFactors,
    x: usize,
    y: usize,
) -> Result<PixelInspection> {
    params.validate(inputs.len())?;
    let (ny, nx) = check_shapes(inputs)?;
    if x >= nx || y >= ny {
        return Err(Error::Invalid(format!(
            "pixel x = {x}, y = {y} (0-based) lies outside the {nx} x {ny} image"
        )));
    }
    if factors.scale.len() != inputs.len() || factors.zero.len() != inputs.len() {
        return Err(Error::Invalid(format!(
            "{} scale factors for {} frames",
            factors.scale.len(),
            inputs.len()
        )));
    }
    let window = Window::around(params, x, y, nx, ny);
    let bands: Vec<Array2<f32>> = inputs
        .iter()
        .map(|i| i.read_rows(window.rows.clone()))
        .collect::<Result<_>>()?;
    let stack: Vec<ArrayView2<f32>> = bands
        .iter()
        .map(|b| b.slice(ndarray::s![.., window.cols.clone()]))
        .collect();
    let (ly, lx) = (y - window.rows.start, x - window.cols.start);
    let raw: Vec<f32> = stack.iter().map(|v| v[[ly, lx]]).collect();
    let (rules, reasons) = pixel_reasons(&stack, &raw, (ly, lx), factors, params);
    let mut s = Scratch::default();
    let combined = combine_pixel(&raw, factors, params, &reasons, &mut s);
    let bounds = sigma_bounds_at(&raw, factors, params, &rules);
    Ok(PixelInspection {
        x,
        y,
        values: input_values(inputs, &raw, factors, &reasons),
        semantics: params.semantics,
        rule: params.rejection.describe(),
        centre: bounds.map(|b| b.0),
        low: bounds.map(|b| b.1),
        high: bounds.map(|b| b.2),
        n_used: combined.n_used as usize,
        value: combined.value,
        sigma: params.sigma_map.then_some(combined.sigma),
    })
}

/// The rows and columns around a pixel that decide it: the pixel alone, or with grow the square of
/// the grow radius (rounded up) around it, clipped to the image.
struct Window {
    rows: Range<usize>,
    cols: Range<usize>,
}

impl Window {
    fn around(params: &CombineParams, x: usize, y: usize, nx: usize, ny: usize) -> Window {
        let radius = params.rejection.grow_radius_px;
        let halo = if radius > 0.0 {
            radius.ceil() as usize
        } else {
            0
        };
        Window {
            rows: y.saturating_sub(halo)..(y + halo + 1).min(ny),
            cols: x.saturating_sub(halo)..(x + halo + 1).min(nx),
        }
    }
}

/// The reason codes at the pixel: as the rules alone decided them (what the sigma rule's bounds are
/// drawn from), and the final ones (with grow, through the combination's own grow over the window).
fn pixel_reasons(
    stack: &[ArrayView2<f32>],
    raw: &[f32],
    (ly, lx): (usize, usize),
    f: &FrameFactors,
    p: &CombineParams,
) -> (Vec<u8>, Vec<u8>) {
    let mut rules = vec![0u8; raw.len()];
    reject_pixel(
        raw,
        f,
        &p.rejection,
        p.semantics,
        &mut rules,
        &mut Scratch::default(),
    );
    if p.rejection.grow_radius_px <= 0.0 {
        return (rules.clone(), rules);
    }
    let grown = grown_reasons(stack, f, p);
    let reasons = (0..raw.len()).map(|i| grown[[i, ly, lx]]).collect();
    (rules, reasons)
}

/// The sigma-type rule's (centre, low bound, high bound) at a pixel whose rules decided `rules`.
fn sigma_bounds_at(
    raw: &[f32],
    f: &FrameFactors,
    p: &CombineParams,
    rules: &[u8],
) -> Option<(f64, f64, f64)> {
    let rule = p.rejection.sigma.as_ref()?;
    let mut pairs: Vec<(f64, u32)> = match p.semantics {
        // IRAF's clips move their centre and spread in ways one pixel's values cannot show
        Semantics::Iraf => return None,
        Semantics::Skycomb => {
            let reached = rules
                .iter()
                .filter(|&&r| r == Reason::Kept as u8 || r == Reason::Sigma as u8)
                .count();
            if reached < 3 || rule.max_iterations == Some(0) {
                return None;
            }
            (0..raw.len())
                .filter(|&i| rules[i] == Reason::Kept as u8)
                .map(|i| (raw[i] as f64 * f.scale[i] + f.zero[i], i as u32))
                .collect()
        }
        Semantics::Ccdproc => {
            if !raw.iter().all(|x| x.is_finite()) {
                return None;
            }
            (0..raw.len()).map(|i| (raw[i] as f64, i as u32)).collect()
        }
    };
    if pairs.is_empty() {
        return None;
    }
    sort_pairs(&mut pairs);
    Some(sigma_bounds(&pairs, rule, f, &mut Vec::new()))
}

fn input_values(
    inputs: &[&dyn StackInput],
    raw: &[f32],
    f: &FrameFactors,
    reasons: &[u8],
) -> Vec<InputValue> {
    (0..raw.len())
        .map(|i| InputValue {
            frame: inputs[i].name(),
            raw: raw[i],
            scale: f.scale[i],
            zero: f.zero[i],
            scaled: raw[i] as f64 * f.scale[i] + f.zero[i],
            reason: reason_of(reasons[i]),
            weight: f.weight.as_ref().map(|w| w[i]),
        })
        .collect()
}

/// Gaussian-ish noise (sd about 1) from a hash of frame, pixel and `salt`: deterministic test data.
#[cfg(test)]
pub(crate) fn hashed_noise(k: usize, x: usize, y: usize, salt: usize) -> f32 {
    let mut h = (k * 7919 + y * 104_729 + x * 1_299_709 + salt) as u64;
    let mut sum = 0.0;
    for _ in 0..4 {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        sum += (h % 10_000) as f32 / 10_000.0;
    }
    (sum - 2.0) * 1.7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combine::params::{Method, Rejection, Scale, SigmaRule, Spread, Weights, Zero};
    use crate::combine::{MemoryInput, combine_in_memory};
    use crate::fits::Header;
    use crate::stats::Centre;

    const N: usize = 7;
    const NX: usize = 20;
    const NY: usize = 15;
    /// The cosmic ray: frame 3 at (x 7, y 5).
    const CR: (usize, usize, usize) = (3, 7, 5);
    /// A masked (NaN) value: frame 5 at (x 8, y 5).
    const HOLE: (usize, usize, usize) = (5, 8, 5);

    fn noise(k: usize, x: usize, y: usize) -> f32 {
        hashed_noise(k, x, y, 17)
    }

    /// Seven frames of a sky at different levels with noise of about 10, a cosmic ray and a hole.
    fn frames() -> Vec<MemoryInput> {
        (0..N)
            .map(|k| {
                let level = 1000.0 + 40.0 * k as f32;
                let mut data = Array2::from_shape_fn((NY, NX), |(y, x)| {
                    level + 0.5 * x as f32 + 10.0 * noise(k, x, y)
                });
                if k == CR.0 {
                    data[[CR.2, CR.1]] = 60_000.0;
                }
                if k == HOLE.0 {
                    data[[HOLE.2, HOLE.1]] = f32::NAN;
                }
                let mut header = Header::default();
                header.set("EXPTIME", crate::fits::Value::Float(10.0), "");
                MemoryInput {
                    name: format!("f{k}.fits"),
                    data,
                    header,
                }
            })
            .collect()
    }

    fn sigma(low: f64, centre: Centre, spread: Spread, iters: Option<usize>) -> Option<SigmaRule> {
        Some(SigmaRule {
            low,
            high: low,
            centre,
            spread,
            max_iterations: iters,
        })
    }

    fn median_mad() -> Option<SigmaRule> {
        sigma(3.0, Centre::Median, Spread::MadStd, None)
    }

    /// The parameter sets, each with the reason the cosmic ray must get.
    fn cases() -> Vec<(&'static str, CombineParams, Reason)> {
        let with = |rejection: Rejection| CombineParams {
            rejection,
            ..Default::default()
        };
        let clip = |sigma| Rejection {
            sigma,
            ..Default::default()
        };
        vec![
            (
                "iraf median mad_std",
                with(clip(median_mad())),
                Reason::Sigma,
            ),
            (
                "ccdproc",
                CombineParams {
                    semantics: Semantics::Ccdproc,
                    scale: Scale::InvMedian,
                    ..with(clip(sigma(3.0, Centre::Median, Spread::MadStd, Some(1))))
                },
                Reason::Sigma,
            ),
            (
                "minmax",
                with(Rejection {
                    nlow: 1,
                    nhigh: 1,
                    ..Default::default()
                }),
                Reason::Extrema,
            ),
            (
                "thresholds and sigma",
                with(Rejection {
                    min_clip: Some(-100.0),
                    max_clip: Some(50_000.0),
                    sigma: median_mad(),
                    ..Default::default()
                }),
                Reason::Threshold,
            ),
            (
                "inv-median, median/std",
                CombineParams {
                    scale: Scale::InvMedian,
                    ..with(clip(sigma(2.5, Centre::Median, Spread::Std, None)))
                },
                Reason::Sigma,
            ),
            (
                "zero offsets, extrema then sigma",
                CombineParams {
                    zero: Zero::Median,
                    ..with(Rejection {
                        nlow: 1,
                        sigma: median_mad(),
                        ..Default::default()
                    })
                },
                Reason::Sigma,
            ),
            (
                "grow 1",
                with(Rejection {
                    sigma: median_mad(),
                    grow_radius_px: 1.0,
                    ..Default::default()
                }),
                Reason::Sigma,
            ),
            (
                "grow 1.5, inv-median",
                CombineParams {
                    scale: Scale::InvMedian,
                    ..with(Rejection {
                        sigma: median_mad(),
                        grow_radius_px: 1.5,
                        ..Default::default()
                    })
                },
                Reason::Sigma,
            ),
            (
                "median method, sigma map",
                CombineParams {
                    method: Method::Median,
                    sigma_map: true,
                    ..with(clip(median_mad()))
                },
                Reason::Sigma,
            ),
            (
                "weights",
                CombineParams {
                    weights: Weights::Given(vec![1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 0.25]),
                    ..with(clip(median_mad()))
                },
                Reason::Sigma,
            ),
            (
                "pclip, sum",
                CombineParams {
                    method: Method::Sum,
                    ..with(clip(sigma(
                        3.0,
                        Centre::Median,
                        Spread::Percentile(-0.5),
                        None,
                    )))
                },
                Reason::Sigma,
            ),
            (
                "ccdclip, exptime scaling, nkeep",
                CombineParams {
                    scale: Scale::Exptime("EXPTIME".into()),
                    ..with(Rejection {
                        sigma: sigma(
                            3.0,
                            Centre::Median,
                            Spread::CcdNoise {
                                gain_e_per_adu: 1.0,
                                read_noise_e: 5.0,
                                sensitivity_noise: 0.0,
                            },
                            None,
                        ),
                        nkeep: crate::combine::Keep::AtLeast(4),
                        ..Default::default()
                    })
                },
                Reason::Sigma,
            ),
        ]
    }

    /// Pixels to inspect: the cosmic ray, its neighbours (grow), the hole, the corners.
    const PIXELS: [(usize, usize); 8] = [
        (CR.1, CR.2),
        (CR.1 + 1, CR.2),
        (CR.1, CR.2 + 1),
        (CR.1 - 1, CR.2 - 1),
        (HOLE.1, HOLE.2),
        (0, 0),
        (NX - 1, NY - 1),
        (12, 3),
    ];

    fn refs(frames: &[MemoryInput]) -> Vec<&dyn StackInput> {
        frames.iter().map(|m| m as &dyn StackInput).collect()
    }

    #[test]
    fn inspected_pixels_equal_the_streamed_combination_bit_for_bit() {
        let frames = frames();
        let refs = refs(&frames);
        for (name, p, _) in cases() {
            // bands of 4 rows: the cosmic ray's rows straddle a band edge, grow halo included
            let full = combine_in_memory(&refs, &p, Some(4)).unwrap();
            for (x, y) in PIXELS {
                let got = inspect_pixel(&refs, &p, x, y).unwrap();
                let at = format!("{name}: pixel ({x}, {y})");
                assert_eq!(
                    got.value.to_bits(),
                    full.image[[y, x]].to_bits(),
                    "{at}: value {} vs {}",
                    got.value,
                    full.image[[y, x]]
                );
                assert_eq!(got.n_used as f32, full.npix[[y, x]], "{at}: n_used");
                let rejected = got
                    .values
                    .iter()
                    .filter(|v| v.reason as u8 >= Reason::Threshold as u8)
                    .count();
                assert_eq!(rejected as f32, full.rejected[[y, x]], "{at}: rejected");
                let kept = got.values.iter().filter(|v| v.reason == Reason::Kept);
                assert_eq!(
                    kept.count(),
                    got.n_used,
                    "{at}: kept values are the used ones"
                );
                match (&full.sigma, got.sigma) {
                    (Some(s), Some(g)) => assert_eq!(g.to_bits(), s[[y, x]].to_bits(), "{at}"),
                    (None, None) => {}
                    _ => panic!("{at}: sigma map asked but not reported (or the reverse)"),
                }
                assert_eq!(got.rule, p.rejection.describe());
                assert_eq!((got.x, got.y, got.values.len()), (x, y, N));
            }
        }
    }

    #[test]
    fn the_cosmic_ray_and_the_hole_get_their_reasons() {
        let frames = frames();
        let refs = refs(&frames);
        for (name, p, want) in cases() {
            let got = inspect_pixel(&refs, &p, CR.1, CR.2).unwrap();
            let cr = &got.values[CR.0];
            assert_eq!(cr.raw, 60_000.0, "{name}");
            assert_eq!(cr.reason, want, "{name}: the cosmic ray");
            assert_eq!(cr.frame, "f3.fits");
            let hole = &inspect_pixel(&refs, &p, HOLE.1, HOLE.2).unwrap().values[HOLE.0];
            assert!(hole.raw.is_nan(), "{name}");
            let missing = if p.semantics == Semantics::Ccdproc && p.rejection.nhigh > 0 {
                Reason::Extrema // ccdproc's clip_extrema counts NaN as the highest value
            } else {
                Reason::Missing
            };
            assert_eq!(hole.reason, missing, "{name}: the hole");
            if p.rejection.grow_radius_px > 0.0 {
                for (x, y) in [(CR.1 + 1, CR.2), (CR.1, CR.2 + 1), (CR.1 - 1, CR.2)] {
                    let g = inspect_pixel(&refs, &p, x, y).unwrap();
                    assert_eq!(g.values[CR.0].reason, Reason::Grow, "{name}: ({x}, {y})");
                }
                // (x+1, y+1) is sqrt(2) away: grown only when the radius reaches it
                let diagonal = inspect_pixel(&refs, &p, CR.1 + 1, CR.2 + 1).unwrap();
                let reached = p.rejection.grow_radius_px >= 2f64.sqrt();
                assert_eq!(
                    diagonal.values[CR.0].reason == Reason::Grow,
                    reached,
                    "{name}: the diagonal neighbour"
                );
            }
        }
    }

    #[test]
    fn the_sigma_bounds_bracket_the_kept_values_and_exclude_the_clipped() {
        let frames = frames();
        let refs = refs(&frames);
        let mut checked = 0;
        for (name, p, _) in cases() {
            let Some(rule) = p.rejection.sigma else {
                for (x, y) in PIXELS {
                    let got = inspect_pixel(&refs, &p, x, y).unwrap();
                    assert!(got.centre.is_none() && got.low.is_none() && got.high.is_none());
                }
                continue;
            };
            for (x, y) in PIXELS {
                let got = inspect_pixel(&refs, &p, x, y).unwrap();
                let ccdproc = p.semantics == Semantics::Ccdproc;
                if ccdproc && got.values.iter().any(|v| v.raw.is_nan()) {
                    assert!(got.centre.is_none(), "{name}: ccdproc skips NaN pixels");
                    continue;
                }
                let (c, lo, hi) = (got.centre.unwrap(), got.low.unwrap(), got.high.unwrap());
                let at = format!("{name}: ({x}, {y}): centre {c} bounds {lo}..{hi}");
                assert!(lo <= c && c <= hi, "{at}");
                // the units the rule works in: raw for ccdproc, scaled for IRAF
                let unit = |v: &InputValue| if ccdproc { v.raw as f64 } else { v.scaled };
                let converged = !ccdproc
                    && rule.max_iterations.is_none()
                    && p.rejection.nkeep == crate::combine::Keep::AtLeast(0);
                for v in &got.values {
                    let inside = unit(v) >= lo && unit(v) <= hi;
                    match v.reason {
                        // one pass: these are the very bounds that clipped it
                        Reason::Sigma if ccdproc => {
                            assert!(!inside, "{at}: {} clipped inside", unit(v))
                        }
                        Reason::Kept | Reason::Grow if ccdproc || converged => {
                            assert!(inside, "{at}: {} kept outside", unit(v))
                        }
                        _ => {}
                    }
                }
                assert!(
                    !got.values
                        .iter()
                        .any(|v| v.raw == 60_000.0 && unit(v) <= hi),
                    "{at}: the cosmic ray lies inside"
                );
                checked += 1;
            }
        }
        assert!(checked > 40, "bounds checked at {checked} pixels");
    }

    /// Median of plain values, written out here as an oracle.
    fn oracle_median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        (v[(n - 1) / 2] + v[n / 2]) / 2.0
    }

    /// The rule's (centre, low, high) over `v`, from the textbook definitions.
    fn oracle_bounds(v: &[f64], rule: &SigmaRule) -> (f64, f64, f64) {
        let c = match rule.centre {
            Centre::Median => oracle_median(v),
            Centre::Mean => v.iter().sum::<f64>() / v.len() as f64,
        };
        let spread = match rule.spread {
            Spread::MadStd => {
                let m = oracle_median(v);
                let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
                1.482602218505602 * oracle_median(&dev)
            }
            Spread::Std => {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
            }
            _ => unreachable!("only median/mad_std and std cases are checked"),
        };
        (c, c - rule.low * spread, c + rule.high * spread)
    }

    #[test]
    fn the_bounds_are_the_rules_own_numbers_about_the_survivors() {
        let frames = frames();
        let refs = refs(&frames);
        let mut checked = 0;
        for (name, p, _) in cases() {
            let Some(rule) = p.rejection.sigma else {
                continue;
            };
            if !matches!(rule.spread, Spread::MadStd | Spread::Std) {
                continue;
            }
            let ccdproc = p.semantics == Semantics::Ccdproc;
            for (x, y) in PIXELS {
                let got = inspect_pixel(&refs, &p, x, y).unwrap();
                if ccdproc && got.values.iter().any(|v| v.raw.is_nan()) {
                    continue;
                }
                // ccdproc: every raw value; IRAF: the scaled values the rules kept (grow aside)
                let v: Vec<f64> = got
                    .values
                    .iter()
                    .filter(|v| ccdproc || matches!(v.reason, Reason::Kept | Reason::Grow))
                    .map(|v| if ccdproc { v.raw as f64 } else { v.scaled })
                    .collect();
                let want = oracle_bounds(&v, &rule);
                let have = (got.centre.unwrap(), got.low.unwrap(), got.high.unwrap());
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
                assert!(
                    close(have.0, want.0) && close(have.1, want.1) && close(have.2, want.2),
                    "{name}: ({x}, {y}): {have:?} vs {want:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 40, "bounds checked at {checked} pixels");
    }

    #[test]
    fn factors_of_a_finished_combination_give_the_same_answer() {
        let frames = frames();
        let refs = refs(&frames);
        let p = CombineParams {
            scale: Scale::Given(vec![1.0, 0.9, 1.1, 1.05, 0.95, 1.2, 0.8]),
            zero: Zero::Median,
            rejection: Rejection {
                sigma: median_mad(),
                ..Default::default()
            },
            ..Default::default()
        };
        let full = combine_in_memory(&refs, &p, None).unwrap();
        let s = &full.summary;
        let f = FrameFactors::new(s.scale.clone(), s.zero.clone(), s.weights.clone());
        let a = inspect_pixel(&refs, &p, CR.1, CR.2).unwrap();
        let b = inspect_pixel_with_factors(&refs, &p, &f, CR.1, CR.2).unwrap();
        assert_eq!(a.value.to_bits(), b.value.to_bits());
        assert_eq!(a.centre, b.centre);
        for (u, v) in a.values.iter().zip(&b.values) {
            assert_eq!(u.scaled.to_bits(), v.scaled.to_bits());
            assert_eq!(u.reason, v.reason);
        }
        assert!(a.values.iter().any(|v| v.zero != 0.0 && v.scale != 1.0));
    }

    #[test]
    fn pixels_outside_the_image_and_bad_stacks_are_refused() {
        let frames = frames();
        let refs = refs(&frames);
        let p = CombineParams::default();
        let err = inspect_pixel(&refs, &p, NX, 0).unwrap_err().to_string();
        assert!(err.contains("outside"), "{err}");
        assert!(inspect_pixel(&refs, &p, 0, NY).is_err());
        assert!(inspect_pixel(&[], &p, 0, 0).is_err());
        let f = FrameFactors::unit(2);
        assert!(inspect_pixel_with_factors(&refs, &p, &f, 0, 0).is_err());
    }

    #[test]
    fn the_report_serialises_with_reason_names() {
        let frames = frames();
        let refs = refs(&frames);
        let p = CombineParams {
            rejection: Rejection {
                sigma: median_mad(),
                ..Default::default()
            },
            ..Default::default()
        };
        let got = inspect_pixel(&refs, &p, CR.1, CR.2).unwrap();
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json["values"][CR.0]["reason"], "sigma");
        assert_eq!(json["values"][0]["reason"], "kept");
        assert_eq!(json["semantics"], "skycomb");
        assert_eq!(json["n_used"], N - 1);
    }
}
