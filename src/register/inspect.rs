//! The per-pixel rejection inspector for the dithered stack: the values one canvas pixel combines
//! (each frame shifted onto the canvas, resampled, sky-subtracted, scaled), as
//! [`crate::combine::inspect`] reports them for a plain combination.

use super::stack::{StackParams, StackPlan, StackReport, with_canvas_inputs};
use crate::combine::inspect::{PixelInspection, inspect_pixel, inspect_pixel_with_factors};
use crate::combine::{FrameFactors, StackInput};
use crate::error::Result;
use crate::progress::Progress;

/// Inspect canvas pixel (`x`, `y`) (0-based, canvas coordinates: reference-frame pixel
/// `x + canvas_origin[0]`, `y + canvas_origin[1]`) of the stack of `inputs` under `p`, measuring
/// the frames again (offsets, sky, scales) exactly as [`super::stack::stack`] does. With sky from
/// neighbouring frames this repeats the preliminary stacks the object masks come from.
///
/// Each value's `raw` is the frame's value on the canvas (shifted, resampled, sky subtracted; NaN
/// where the frame does not cover the pixel) and `scaled` that value after the combination's
/// scaling (the photometric scales with `StackScale::Photometric`).
pub fn inspect_stack_pixel(
    inputs: &[&dyn StackInput],
    p: &StackParams,
    x: usize,
    y: usize,
    progress: &Progress,
) -> Result<PixelInspection> {
    let plan = StackPlan::measure(inputs, p, progress)?;
    with_canvas_inputs(inputs, p, &plan, progress, |refs| {
        inspect_pixel(refs, &plan.combine, x, y)
    })
}

/// [`inspect_stack_pixel`] for a finished stack: the offsets, sky, scales, canvas and combination
/// factors come from its `report`, so nothing is measured again (the preliminary stacks of sky
/// from neighbouring frames still run).
pub fn inspect_stacked_pixel(
    inputs: &[&dyn StackInput],
    p: &StackParams,
    report: &StackReport,
    x: usize,
    y: usize,
    progress: &Progress,
) -> Result<PixelInspection> {
    let plan = StackPlan::from_report(inputs, p, report)?;
    let c = &report.combine;
    let factors = FrameFactors::new(c.scale.clone(), c.zero.clone(), c.weights.clone());
    with_canvas_inputs(inputs, p, &plan, progress, |refs| {
        inspect_pixel_with_factors(refs, &plan.combine, &factors, x, y)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combine::Spread;
    use crate::combine::inspect::InputValue;
    use crate::combine::{CombineParams, MemoryInput, OutputPaths, Reason, Rejection, SigmaRule};
    use crate::fits::Header;
    use crate::register::transform::TransformKind;
    use crate::register::{CanvasKind, OffsetSource, ShiftMode, SkyMode, StackScale, stack};
    use crate::stats::Centre;
    use ndarray::Array2;

    const N: usize = 6;
    /// Dither offsets (frame - reference), px.
    const OFFSETS: [(f64, f64); N] = [
        (0.0, 0.0),
        (2.3, -1.6),
        (-1.2, 3.1),
        (4.0, 2.0),
        (-3.4, -2.2),
        (1.1, 0.4),
    ];
    /// The cosmic ray: frame 2 at its own pixel (x 12, y 9).
    const CR: (usize, usize, usize) = (2, 12, 9);

    fn noise(k: usize, x: usize, y: usize) -> f32 {
        crate::combine::inspect::hashed_noise(k, x, y, 3)
    }

    /// A star at reference pixel (14, 11) on a sky that differs from frame to frame, with noise.
    fn frames() -> Vec<MemoryInput> {
        (0..N)
            .map(|k| {
                let (dx, dy) = OFFSETS[k];
                let mut data = Array2::from_shape_fn((24, 30), |(y, x)| {
                    let (rx, ry) = (x as f64 - dx - 14.0, y as f64 - dy - 11.0);
                    let star = 800.0 * (-(rx * rx + ry * ry) / 4.5).exp();
                    (300.0 + 25.0 * k as f64 + star) as f32 + 5.0 * noise(k, x, y)
                });
                if k == CR.0 {
                    data[[CR.2, CR.1]] = 40_000.0;
                }
                MemoryInput {
                    name: format!("d{k}.fits"),
                    data,
                    header: Header::default(),
                }
            })
            .collect()
    }

    fn params(dir: &std::path::Path, sky: SkyMode, shift: ShiftMode) -> StackParams {
        let file = dir.join("offsets.txt");
        let lines: Vec<String> = OFFSETS
            .iter()
            .enumerate()
            .map(|(k, (dx, dy))| format!("d{k}.fits {dx} {dy}"))
            .collect();
        std::fs::write(&file, lines.join("\n")).unwrap();
        StackParams {
            offsets: OffsetSource::File(file),
            transform: TransformKind::Similarity,
            refine: false,
            shift,
            canvas: CanvasKind::Union,
            sky,
            scale: StackScale::None,
            combine: CombineParams {
                rejection: Rejection {
                    sigma: Some(SigmaRule {
                        low: 3.0,
                        high: 3.0,
                        centre: Centre::Median,
                        spread: Spread::MadStd,
                        max_iterations: None,
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    #[test]
    fn stack_pixels_equal_the_written_stack_bit_for_bit() {
        let frames = frames();
        let refs: Vec<&dyn StackInput> = frames.iter().map(|m| m as &dyn StackInput).collect();
        let d = tempfile::tempdir().unwrap();
        let progress = Progress::new();
        for (sky, shift) in [
            (SkyMode::Median, ShiftMode::Integer),
            (SkyMode::Median, ShiftMode::Bilinear),
            (
                SkyMode::Neighbours {
                    n: 3,
                    iterations: 2,
                },
                ShiftMode::Lanczos3,
            ),
        ] {
            let p = params(d.path(), sky, shift);
            let image = d.path().join("stack.fits");
            let out = OutputPaths {
                image: image.clone(),
                overwrite: true,
                ..Default::default()
            };
            let report = stack(&refs, &p, &out, &progress).unwrap();
            let stacked = crate::Frame::open(&image).unwrap().data;
            let (x0, y0) = (report.canvas_origin[0], report.canvas_origin[1]);
            // the cosmic ray's canvas pixel: its frame pixel minus the applied offset
            let back = crate::register::shift::applied(&report.offsets[CR.0], shift)
                .inverse()
                .unwrap();
            let (rx, ry) = back.apply(CR.1 as f64, CR.2 as f64);
            let cr = (
                (rx - x0 as f64).round() as usize,
                (ry - y0 as f64).round() as usize,
            );
            let (h, w) = stacked.dim();
            for (x, y) in [cr, (0, 0), (w - 1, h - 1), (w / 2, h / 3)] {
                let at = format!("{sky:?} {shift:?} ({x}, {y})");
                let a = inspect_stack_pixel(&refs, &p, x, y, &progress).unwrap();
                let b = inspect_stacked_pixel(&refs, &p, &report, x, y, &progress).unwrap();
                for got in [&a, &b] {
                    assert_eq!(
                        got.value.to_bits(),
                        stacked[[y, x]].to_bits(),
                        "{at}: {} vs {}",
                        got.value,
                        stacked[[y, x]]
                    );
                }
                assert_eq!(a.n_used, b.n_used, "{at}");
                let reasons = |i: &PixelInspection| -> Vec<Reason> {
                    i.values.iter().map(|v: &InputValue| v.reason).collect()
                };
                assert_eq!(reasons(&a), reasons(&b), "{at}");
            }
            if shift == ShiftMode::Integer {
                let got = inspect_stack_pixel(&refs, &p, cr.0, cr.1, &progress).unwrap();
                let v = &got.values[CR.0];
                assert!(v.raw > 30_000.0, "the cosmic ray lands there: {}", v.raw);
                assert_eq!(v.reason, Reason::Sigma);
                assert_eq!(got.n_used, N - 1);
            }
            // corners of the union canvas are not covered by every frame
            let corner = inspect_stack_pixel(&refs, &p, 0, 0, &progress).unwrap();
            assert!(corner.values.iter().any(|v| v.reason == Reason::Missing));
        }
    }
}
