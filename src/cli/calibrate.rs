//! `skycomb calibrate NIGHT_DIR -o OUT_DIR`: the plan first, then masters and calibrated frames.

use super::progress_line::with_progress;
use anyhow::{Result, bail};
use clap::Args;
use skycomb::calibrate::*;
use skycomb::collection::{ScanOptions, scan};
use skycomb::recipe::CalibrateStep;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub step: CalibrateStep,
    /// Print the plan and stop.
    #[arg(long)]
    pub plan_only: bool,
    /// Replace existing outputs.
    #[arg(long)]
    pub overwrite: bool,
    /// Print the report as JSON on stdout (the plan goes to stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CalibrateArgs) -> Result<()> {
    let a = &args.step;
    let p = a.options.params(args.overwrite)?;
    let c = scan(
        &a.night,
        &ScanOptions {
            recursive: a.options.recursive,
        },
    )?;
    for problem in &c.problems {
        eprintln!("problem: {}", problem.reason);
    }
    let plan = plan_night(&c, p.dark_match);
    let text = plan.describe();
    if args.json {
        eprint!("{text}")
    } else {
        print!("{text}")
    }
    if args.plan_only {
        return Ok(());
    }
    let report =
        with_progress(|progress| run_calibration(&plan, &a.night, &a.output, &p, progress))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "wrote {} master(s) and {} calibrated frame(s) to {} in {:.2} s",
        report.masters.len(),
        report.calibrated.len(),
        a.output.display(),
        report.seconds
    );
    for (m, s) in report.masters.iter().zip(&report.summaries) {
        let r = &s.rejected_per_rule;
        println!(
            "  {:<28} {} frames, rejected: threshold {} extrema {} sigma {}",
            m.file_name().unwrap_or_default().to_string_lossy(),
            s.ncombine,
            r.threshold,
            r.extrema,
            r.sigma
        );
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    if !report.problems.is_empty() {
        bail!("{} frame(s) could not be calibrated", report.problems.len());
    }
    Ok(())
}
