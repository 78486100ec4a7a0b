//! `skycomb stack FILES... -o OUT.fits`: the dithered stack with offsets, shifts, sky, scaling and a canvas.

use super::combine::{CombineOptions, print_summary};
use super::measure::parse_xy;
use super::progress_line::with_progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use skycomb::combine::{FileInput, OutputPaths, StackInput};
use skycomb::register::{OffsetSource, SkyMode, StackParams, StackScale, stack};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct StackArgs {
    /// The dithered frames; the first is the reference.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(short, long)]
    pub output: PathBuf,
    /// auto, wcs (TAN, TAN-SIP), stars:X,Y[;X,Y...] (FITS 1-based, in the first frame), file:PATH (FILE DX DY lines),
    /// or positions:PATH (x y of one object per frame, one line per frame).
    #[arg(long, default_value = "auto")]
    pub offsets: String,
    /// Refine the offsets by cross-correlating sub-images around the reference's bright stars.
    #[arg(long)]
    pub refine: bool,
    /// integer, bilinear or lanczos3.
    #[arg(long, default_value = "bilinear")]
    pub shift: String,
    /// none, median (each frame's sigma-clipped median is subtracted), surface:N (a polynomial of
    /// order N fitted to sigma-clipped cell medians, which removes gradients; surface:N:quadrants fits
    /// one per quadrant), or neighbours:N (the
    /// median of the N neighbouring frames in time, objects masked).
    #[arg(long, default_value = "median")]
    pub sky: String,
    /// Stacks after the first with --sky neighbours:N (each masks the objects of the one before).
    #[arg(long, default_value_t = 1)]
    pub iterations: usize,
    /// union, reference or intersection.
    #[arg(long, default_value = "union")]
    pub canvas: String,
    #[command(flatten)]
    pub options: CombineOptions,
    /// The npix map: frames covering each pixel.
    #[arg(long)]
    pub npix: Option<PathBuf>,
    /// The rejected-count map.
    #[arg(long)]
    pub rejected: Option<PathBuf>,
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &StackArgs) -> Result<()> {
    let offsets = match a.offsets.split_once(':') {
        None if a.offsets == "auto" => OffsetSource::Auto,
        None if a.offsets == "wcs" => OffsetSource::Wcs,
        Some(("stars", list)) => {
            OffsetSource::Stars(list.split(';').map(parse_xy).collect::<Result<_>>()?)
        }
        Some(("file", p)) => OffsetSource::File(p.into()),
        Some(("positions", p)) => OffsetSource::Positions(p.into()),
        _ => bail!(
            "--offsets {:?}: expected auto, stars:X,Y[;X,Y], file:PATH or positions:PATH (WCS offsets are not built yet)",
            a.offsets
        ),
    };
    let inputs: Vec<FileInput> = a
        .files
        .iter()
        .map(|p| FileInput::open(p))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = inputs.iter().map(|i| i.name()).collect();
    let params = StackParams {
        offsets,
        refine: a.refine,
        shift: a.shift.parse()?,
        canvas: a.canvas.parse()?,
        sky: match a.sky.as_str() {
            "none" => SkyMode::None,
            "median" => SkyMode::Median,
            s => match (
                s.strip_prefix("surface:").and_then(|n| n.parse().ok()),
                s.strip_prefix("neighbours:").and_then(|n| n.parse().ok()),
            ) {
                _ if s.starts_with("surface:") && s.ends_with(":quadrants") => {
                    match s["surface:".len()..s.len() - ":quadrants".len()].parse() {
                        Ok(order) => SkyMode::QuadrantSurfaces(order),
                        Err(_) => bail!("--sky {s:?}: expected surface:N:quadrants"),
                    }
                }
                (Some(order), _) => SkyMode::Surface(order),
                (_, Some(n)) => SkyMode::Neighbours {
                    n,
                    iterations: a.iterations,
                },
                _ => bail!(
                    "--sky {s:?}: expected none, median, surface:N[:quadrants] or neighbours:N"
                ),
            },
        },
        // --scale photometric is the stack's own (matched-star photometry); other values scale in the combination
        scale: if a.options.scale == "photometric" {
            StackScale::Photometric
        } else {
            StackScale::None
        },
        combine: CombineOptions {
            scale: if a.options.scale == "photometric" {
                "none".into()
            } else {
                a.options.scale.clone()
            },
            ..a.options.clone()
        }
        .params(&names, inputs[0].header())?,
    };
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let out = OutputPaths {
        image: a.output.clone(),
        npix: a.npix.clone(),
        rejected: a.rejected.clone(),
        sigma: None,
        overwrite: a.overwrite,
        ..Default::default()
    };
    let report = with_progress(|p| stack(&refs, &params, &out, p))
        .with_context(|| format!("stacking into {}", a.output.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (o, (s, k)) in report
        .offsets
        .iter()
        .zip(report.sky.iter().zip(&report.scale))
    {
        let sky = match s {
            skycomb::register::shift::SkyModel::Constant(v) => format!("{v:.2}"),
            skycomb::register::shift::SkyModel::Surface {
                order,
                coefficients,
                ..
            } => format!("surface order {order}, mean {:.2}", coefficients[0]),
            skycomb::register::shift::SkyModel::Quadrants { surfaces, .. } => {
                format!("{} quadrant surfaces", surfaces.len())
            }
        };
        println!(
            "{:<36} dx {:>9.3} dy {:>9.3}  sky {:>10}  scale {:.4}",
            o.file, o.dx, o.dy, sky, k
        );
    }
    println!(
        "canvas {}x{} from reference pixel ({}, {}) (FITS)",
        report.canvas_shape[0],
        report.canvas_shape[1],
        report.canvas_origin[0] + 1,
        report.canvas_origin[1] + 1
    );
    print_summary(&report.combine, &a.output);
    Ok(())
}
