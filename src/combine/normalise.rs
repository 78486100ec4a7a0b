//! Siril's normalisations and noise weights: each frame's robust location and scale, and its
//! background noise from first differences along rows (unaffected by gradients and stars' slopes).

use super::input::StackInput;
use super::params::{CombineParams, Normalisation};
use crate::error::{Error, Result};
use crate::stats::{MAD_TO_SIGMA, median_f64_mut};

/// The finite values of the frame's statistics section.
fn section_values(input: &dyn StackInput, params: &CombineParams) -> Result<Vec<f64>> {
    let b = super::scaling::stat_box(input, params)?;
    let rows = input.read_rows(b.y.clone())?;
    let v: Vec<f64> = rows
        .slice(ndarray::s![.., b.x.clone()])
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| x as f64)
        .collect();
    if v.len() < 2 {
        return Err(Error::Invalid(format!(
            "{}: too few finite pixels to normalise",
            input.name()
        )));
    }
    Ok(v)
}

fn median_of(v: &[f64]) -> f64 {
    median_f64_mut(&mut v.to_vec()).unwrap_or(f64::NAN)
}

/// Location (the median of the pixels within 6 MAD of the median) and scale (0.991 x the square
/// root of the biweight midvariance, c = 9) of a frame, as Siril's normalisation measures them.
pub fn location_scale(input: &dyn StackInput, params: &CombineParams) -> Result<(f64, f64)> {
    let v = section_values(input, params)?;
    let m = median_of(&v);
    let mad = median_of(&v.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
    let near: Vec<f64> = v
        .iter()
        .copied()
        .filter(|x| (x - m).abs() <= 6.0 * mad)
        .collect();
    let location = median_of(&near);
    let mad_near = median_of(
        &near
            .iter()
            .map(|x| (x - location).abs())
            .collect::<Vec<_>>(),
    );
    let (mut num, mut den) = (0.0, 0.0);
    for x in &near {
        let u = (x - location) / (9.0 * mad_near);
        if u.abs() < 1.0 {
            let u2 = u * u;
            num += (x - location).powi(2) * (1.0 - u2).powi(4);
            den += (1.0 - u2) * (1.0 - 5.0 * u2);
        }
    }
    let bwmv = near.len() as f64 * num / (den * den);
    let scale = 0.991 * bwmv.sqrt();
    if !(location.is_finite() && scale.is_finite() && scale > 0.0) {
        return Err(Error::Invalid(format!(
            "{}: no spread to normalise by (location {location}, scale {scale})",
            input.name()
        )));
    }
    Ok((location, scale))
}

/// Background noise: 1.4826 MAD of the differences of neighbouring pixels along rows, / sqrt 2.
pub fn background_noise(input: &dyn StackInput, params: &CombineParams) -> Result<f64> {
    let b = super::scaling::stat_box(input, params)?;
    let rows = input.read_rows(b.y.clone())?;
    let mut d: Vec<f64> = Vec::new();
    for row in rows.rows() {
        let r: Vec<f32> = b.x.clone().map(|x| row[x]).collect();
        d.extend(
            r.windows(2)
                .filter(|w| w[0].is_finite() && w[1].is_finite())
                .map(|w| (w[1] - w[0]) as f64),
        );
    }
    let m = median_of(&d);
    let mad = median_of(&d.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
    let noise = MAD_TO_SIGMA * mad / std::f64::consts::SQRT_2;
    if !(noise.is_finite() && noise > 0.0) {
        return Err(Error::Invalid(format!(
            "{}: no measurable background noise for noise weights",
            input.name()
        )));
    }
    Ok(noise)
}

/// The noise of one scaled value from frame to frame: 1.4826 MAD of the difference of
/// neighbouring frames (scaled and offset as they will be combined) over up to 256 rows spread over
/// the frame, / sqrt 2, the rms over the pairs. What stays the same from frame to frame (a flat's
/// pixel-to-pixel response, the sky's structure, most of the stars) cancels; what a clip across
/// frames sees is left. Also returns the first frame's median (scaled): the level that noise is met at.
pub fn frame_to_frame_noise(
    inputs: &[&dyn StackInput],
    f: &super::kernel::FrameFactors,
    progress: &crate::progress::Progress,
) -> Result<(f64, f64)> {
    if inputs.len() < 2 {
        return Ok((0.0, 0.0));
    }
    let (ny, _) = inputs[0].shape();
    let step = ny.div_ceil(256).max(1);
    progress.begin(
        "measuring the noise from frame to frame",
        inputs.len() as u64 - 1,
    );
    let mut squares = Vec::new();
    let mut levels: Vec<f64> = Vec::new();
    for i in 0..inputs.len() - 1 {
        progress.check()?;
        let mut d: Vec<f64> = Vec::new();
        for y in (0..ny).step_by(step) {
            let (a, b) = (
                inputs[i].read_rows(y..y + 1)?,
                inputs[i + 1].read_rows(y..y + 1)?,
            );
            d.extend(a.iter().zip(b.iter()).filter_map(|(&p, &q)| {
                let level = p as f64 * f.scale[i] + f.zero[i];
                if i == 0 && level.is_finite() {
                    levels.push(level);
                }
                let v = level - (q as f64 * f.scale[i + 1] + f.zero[i + 1]);
                v.is_finite().then_some(v)
            }));
        }
        progress.advance(1);
        if d.len() < 16 {
            continue;
        }
        let m = median_of(&d);
        let mad = median_of(&d.iter().map(|x| (x - m).abs()).collect::<Vec<_>>());
        squares.push((MAD_TO_SIGMA * mad / std::f64::consts::SQRT_2).powi(2));
    }
    if squares.is_empty() {
        return Ok((0.0, 0.0));
    }
    let background = if levels.is_empty() {
        0.0
    } else {
        median_of(&levels)
    };
    Ok((
        (squares.iter().sum::<f64>() / squares.len() as f64).sqrt(),
        background,
    ))
}

/// Scale factors and zero offsets (`raw * scale + zero`) normalising every frame to the first.
pub fn normalisation(kind: Normalisation, ls: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let (l0, s0) = ls[0];
    ls.iter()
        .map(|&(l, s)| match kind {
            Normalisation::Add => (1.0, l0 - l),
            Normalisation::Mul => (l0 / l, 0.0),
            Normalisation::AddScale => (s0 / s, l0 - l * s0 / s),
            Normalisation::MulScale => (l0 / l * s0 / s, 0.0),
        })
        .unzip()
}

/// Noise weights: 1 / (scale x noise)^2, normalised to a mean of 1.
pub fn noise_weights(scale: &[f64], noise: &[f64]) -> Vec<f64> {
    let w: Vec<f64> = scale
        .iter()
        .zip(noise)
        .map(|(k, s)| 1.0 / (k * s).powi(2))
        .collect();
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    w.iter().map(|x| x / mean).collect()
}
