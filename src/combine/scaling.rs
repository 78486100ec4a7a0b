//! Per-frame scale factors, zero offsets and weights, from statistics over a section or the headers.

use super::input::StackInput;
use super::kernel::FrameFactors;
use super::normalise;
use super::params::{CombineParams, Scale, Semantics, Spread, Statistic, Weights, Zero};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::stats::{mean, median_mut};

/// Median, mean and (when asked, IRAF's estimator) mode of one frame's finite values over the
/// statistics section.
fn frame_stats(
    input: &dyn StackInput,
    params: &CombineParams,
    with_mode: bool,
) -> Result<FrameStats> {
    let b = stat_box(input, params)?;
    if !with_mode {
        return streamed_stats(input, &b);
    }
    let rows = input.read_rows(b.y.clone())?;
    let mut v: Vec<f32> = rows
        .slice(ndarray::s![.., b.x.clone()])
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let m = mean(&v);
    let med = median_mut(&mut v);
    let mode = if with_mode && !v.is_empty() {
        v.sort_by(f32::total_cmp);
        super::iraf_scale::iraf_mode(&v) as f64
    } else {
        f64::NAN
    };
    match (med, m) {
        (Some(median), Some(mean)) => Ok(FrameStats { median, mean, mode }),
        _ => Err(Error::Invalid(format!(
            "{}: no finite pixel in the statistics section",
            input.name()
        ))),
    }
}

/// Rows of a statistics section read at a time.
const STAT_BAND_ROWS: usize = 32;

/// Median and mean over the section read band by band (two passes, a fixed amount of memory: a
/// frame of any size never sits in memory whole); exactly the in-memory median and mean.
fn streamed_stats(input: &dyn StackInput, b: &crate::fits::PixelBox) -> Result<FrameStats> {
    let found = crate::stats::streamed_median_and_mean(|feed| {
        for y in b.y.clone().step_by(STAT_BAND_ROWS) {
            let rows = input.read_rows(y..(y + STAT_BAND_ROWS).min(b.y.end))?;
            for row in rows.rows() {
                feed(&row.as_slice().expect("rows are contiguous")[b.x.clone()]);
            }
        }
        Ok::<(), Error>(())
    })?;
    match found {
        Some((median, mean)) => Ok(FrameStats {
            median,
            mean,
            mode: f64::NAN,
        }),
        None => Err(Error::Invalid(format!(
            "{}: no finite pixel in the statistics section",
            input.name()
        ))),
    }
}

/// The statistics section of a frame (the whole frame by default).
pub(super) fn stat_box(
    input: &dyn StackInput,
    params: &CombineParams,
) -> Result<crate::fits::PixelBox> {
    let (ny, nx) = input.shape();
    match &params.stat_section {
        Some(s) => s
            .resolve(nx, ny)
            .map_err(|e| Error::Invalid(format!("{}: statistics section: {e}", input.name()))),
        None => Ok(crate::fits::PixelBox { x: 0..nx, y: 0..ny }),
    }
}

/// A frame's statistics for scaling, offsets and weights.
#[derive(Debug, Clone, Copy)]
struct FrameStats {
    median: f64,
    mean: f64,
    mode: f64,
}

impl FrameStats {
    fn get(&self, s: Statistic) -> f64 {
        match s {
            Statistic::Median => self.median,
            Statistic::Mean => self.mean,
            Statistic::Mode => self.mode,
        }
    }
}

/// The statistic each choice needs, if any.
fn statistic_of_scale(s: &Scale) -> Option<Statistic> {
    match s {
        Scale::InvMedian => Some(Statistic::Median),
        Scale::InvMean => Some(Statistic::Mean),
        Scale::InvMode => Some(Statistic::Mode),
        _ => None,
    }
}

fn statistic_of_zero(z: &Zero) -> Option<Statistic> {
    match z {
        Zero::Median => Some(Statistic::Median),
        Zero::Mean => Some(Statistic::Mean),
        Zero::Mode => Some(Statistic::Mode),
        _ => None,
    }
}

fn header_number(input: &dyn StackInput, key: &str, what: &str) -> Result<f64> {
    input.header().get_f64(key).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: no numeric {key} keyword for the {what}",
            input.name()
        ))
    })
}

fn inverse(stat: f64, name: &str, what: &str) -> Result<f64> {
    if stat == 0.0 || !stat.is_finite() {
        return Err(Error::Invalid(format!(
            "{name}: its {what} is {stat}, so it cannot be scaled by the inverse"
        )));
    }
    Ok(1.0 / stat)
}

/// A measurement of every frame, with progress and cancel.
pub(super) fn per_frame<T>(
    inputs: &[&dyn StackInput],
    progress: &Progress,
    what: &str,
    f: impl Fn(&dyn StackInput) -> Result<T>,
) -> Result<Vec<T>> {
    progress.begin(what, inputs.len() as u64);
    inputs
        .iter()
        .map(|inp| {
            progress.check()?;
            let v = f(*inp);
            progress.advance(1);
            v
        })
        .collect()
}

/// Scale factors, zero offsets and weights for every input.
pub fn frame_factors(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    progress: &Progress,
) -> Result<FrameFactors> {
    if params.semantics == Semantics::Iraf {
        return super::iraf_scale::iraf_frame_factors(inputs, params, progress);
    }
    let n = inputs.len();
    let weight_stat = match params.weights {
        Weights::Statistic(s) => Some(s),
        _ => None,
    };
    let wanted = [
        statistic_of_scale(&params.scale),
        statistic_of_zero(&params.zero),
        weight_stat,
    ];
    let needs_stats = wanted.iter().any(Option::is_some);
    let with_mode = wanted.contains(&Some(Statistic::Mode));
    let stats: Vec<FrameStats> = if needs_stats {
        per_frame(inputs, progress, "measuring frame statistics", |i| {
            frame_stats(i, params, with_mode)
        })?
    } else {
        Vec::new()
    };
    let mut normalised_zero = None;
    let scale: Vec<f64> = match &params.scale {
        Scale::None => vec![1.0; n],
        Scale::Normalise(kind) => {
            let ls = per_frame(inputs, progress, "measuring locations and scales", |i| {
                normalise::location_scale(i, params)
            })?;
            let (k, z) = normalise::normalisation(*kind, &ls);
            normalised_zero = Some(z);
            k
        }
        Scale::InvMedian | Scale::InvMean | Scale::InvMode => {
            let st = statistic_of_scale(&params.scale).expect("a statistic scaling");
            inputs
                .iter()
                .zip(&stats)
                .map(|(i, s)| inverse(s.get(st), &i.name(), describe_statistic(st)))
                .collect::<Result<_>>()?
        }
        Scale::Keyword(key) => inputs
            .iter()
            .map(|i| header_number(*i, key, "scaling"))
            .collect::<Result<_>>()?,
        Scale::Exptime(key) => {
            let t: Vec<f64> = inputs
                .iter()
                .map(|i| header_number(*i, key, "exposure-time scaling"))
                .collect::<Result<_>>()?;
            if let Some(k) = t.iter().position(|t| *t <= 0.0) {
                return Err(Error::Invalid(format!(
                    "{}: {key} = {} cannot scale by exposure time",
                    inputs[k].name(),
                    t[k]
                )));
            }
            let mean_t = t.iter().sum::<f64>() / n as f64;
            t.iter().map(|t| mean_t / t).collect()
        }
        Scale::Given(v) => v.clone(),
    };
    let zero: Vec<f64> = match &params.zero {
        Zero::None => normalised_zero.unwrap_or_else(|| vec![0.0; n]),
        Zero::Given(v) => v.clone(),
        Zero::Median | Zero::Mean | Zero::Mode => {
            let st = statistic_of_zero(&params.zero).expect("a statistic offset");
            let level: Vec<f64> = stats
                .iter()
                .zip(&scale)
                .map(|(s, k)| k * s.get(st))
                .collect();
            let mean_level = level.iter().sum::<f64>() / n as f64;
            level.iter().map(|l| mean_level - l).collect()
        }
    };
    let weight = match &params.weights {
        Weights::None => None,
        Weights::Given(v) => Some(v.clone()),
        Weights::Keyword(key) | Weights::Exptime(key) => Some(
            inputs
                .iter()
                .map(|i| header_number(*i, key, "weights"))
                .collect::<Result<_>>()?,
        ),
        Weights::Statistic(st) => Some(stats.iter().map(|s| s.get(*st)).collect()),
        Weights::InverseNoise => {
            let noise = per_frame(inputs, progress, "measuring background noise", |i| {
                normalise::background_noise(i, params)
            })?;
            Some(normalise::noise_weights(&scale, &noise))
        }
    };
    if let Some(w) = &weight
        && let Some(k) = w.iter().position(|w| !w.is_finite() || *w < 0.0)
    {
        return Err(Error::Invalid(format!(
            "{}: weight {} must be a finite number >= 0",
            inputs[k].name(),
            w[k]
        )));
    }
    let mut factors = FrameFactors::new(scale, zero, weight);
    if params
        .rejection
        .sigma
        .is_some_and(|s| s.spread == Spread::MadStdFloor)
    {
        (factors.noise_floor, factors.background) =
            normalise::frame_to_frame_noise(inputs, &factors, progress)?;
    }
    Ok(factors)
}

/// The scaling as written in output headers.
pub fn describe_scale(s: &Scale) -> String {
    match s {
        Scale::None => "none".into(),
        Scale::InvMedian => "inv-median".into(),
        Scale::InvMean => "inv-mean".into(),
        Scale::InvMode => "inv-mode".into(),
        Scale::Keyword(k) => format!("keyword {k}"),
        Scale::Normalise(n) => format!("{n:?} normalisation").to_lowercase(),
        Scale::Exptime(k) => format!("exptime ({k})"),
        Scale::Given(_) => "given per frame".into(),
    }
}

/// The zero offsets as written in output headers.
pub fn describe_zero(z: &Zero) -> String {
    match z {
        Zero::None => "none".into(),
        Zero::Median => "median".into(),
        Zero::Mean => "mean".into(),
        Zero::Mode => "mode".into(),
        Zero::Given(_) => "given per frame".into(),
    }
}

fn describe_statistic(s: Statistic) -> &'static str {
    match s {
        Statistic::Median => "median",
        Statistic::Mean => "mean",
        Statistic::Mode => "mode",
    }
}
