//! Per-frame scale factors, zero offsets and weights, from statistics over a section or the headers.

use super::input::StackInput;
use super::kernel::FrameFactors;
use super::params::{CombineParams, Scale, Weights, Zero};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::stats::{mean, median_mut};

/// Median and mean of one frame's finite values over the statistics section.
fn frame_stats(input: &dyn StackInput, params: &CombineParams) -> Result<(f64, f64)> {
    let (ny, nx) = input.shape();
    let b = match &params.stat_section {
        Some(s) => s
            .resolve(nx, ny)
            .map_err(|e| Error::Invalid(format!("{}: statistics section: {e}", input.name())))?,
        None => crate::fits::PixelBox { x: 0..nx, y: 0..ny },
    };
    let rows = input.read_rows(b.y.clone())?;
    let mut v: Vec<f32> = rows
        .slice(ndarray::s![.., b.x.clone()])
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let m = mean(&v);
    let med = median_mut(&mut v);
    match (med, m) {
        (Some(med), Some(m)) => Ok((med, m)),
        _ => Err(Error::Invalid(format!(
            "{}: no finite pixel in the statistics section",
            input.name()
        ))),
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

/// Scale factors, zero offsets and weights for every input.
pub fn frame_factors(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    progress: &Progress,
) -> Result<FrameFactors> {
    let n = inputs.len();
    let needs_stats = matches!(params.scale, Scale::InvMedian | Scale::InvMean)
        || matches!(params.zero, Zero::Median | Zero::Mean);
    let stats: Vec<(f64, f64)> = if needs_stats {
        progress.begin("measuring frame statistics", n as u64);
        inputs
            .iter()
            .map(|inp| {
                progress.check()?;
                let s = frame_stats(*inp, params);
                progress.advance(1);
                s
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let scale: Vec<f64> = match &params.scale {
        Scale::None => vec![1.0; n],
        Scale::InvMedian => inputs
            .iter()
            .zip(&stats)
            .map(|(i, s)| inverse(s.0, &i.name(), "median"))
            .collect::<Result<_>>()?,
        Scale::InvMean => inputs
            .iter()
            .zip(&stats)
            .map(|(i, s)| inverse(s.1, &i.name(), "mean"))
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
        Zero::None => vec![0.0; n],
        Zero::Given(v) => v.clone(),
        Zero::Median | Zero::Mean => {
            let level: Vec<f64> = stats
                .iter()
                .zip(&scale)
                .map(|(s, k)| {
                    k * if params.zero == Zero::Median {
                        s.0
                    } else {
                        s.1
                    }
                })
                .collect();
            let mean_level = level.iter().sum::<f64>() / n as f64;
            level.iter().map(|l| mean_level - l).collect()
        }
    };
    let weight = match &params.weights {
        Weights::None => None,
        Weights::Given(v) => Some(v.clone()),
        Weights::Keyword(key) => Some(
            inputs
                .iter()
                .map(|i| header_number(*i, key, "weights"))
                .collect::<Result<_>>()?,
        ),
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
    Ok(FrameFactors::new(scale, zero, weight))
}

/// The scaling as written in output headers.
pub fn describe_scale(s: &Scale) -> String {
    match s {
        Scale::None => "none".into(),
        Scale::InvMedian => "inv-median".into(),
        Scale::InvMean => "inv-mean".into(),
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
        Zero::Given(_) => "given per frame".into(),
    }
}
