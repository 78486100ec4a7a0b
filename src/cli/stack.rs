//! `skycomb stack FILES... -o OUT.fits`: the dithered stack with offsets, shifts, sky, scaling and a canvas.

use super::combine::print_summary;
use super::progress_line::with_progress;
use anyhow::{Context, Result};
use clap::Args;
use skycomb::recipe::{StackStep, run_stack};

#[derive(Debug, Args)]
pub struct StackArgs {
    #[command(flatten)]
    pub step: StackStep,
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &StackArgs) -> Result<()> {
    let a = &args.step;
    let report = with_progress(|p| run_stack(a, args.overwrite, p))
        .with_context(|| format!("stacking into {}", a.output.display()))?;
    if args.json {
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
    for sk in &report.skipped {
        eprintln!("left out: {}", sk.reason);
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
