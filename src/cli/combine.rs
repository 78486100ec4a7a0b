//! `skycomb combine FILES... -o OUT.fits`: any stack, every option of the engine.

use super::progress_line::with_progress;
use anyhow::{Context, Result};
use clap::Args;
use skycomb::combine::CombineSummary;
use skycomb::recipe::{CombineStep, run_combine};
use std::path::Path;

#[derive(Debug, Args)]
pub struct CombineArgs {
    #[command(flatten)]
    pub step: CombineStep,
    /// Replace existing outputs (never inputs).
    #[arg(long)]
    pub overwrite: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &CombineArgs) -> Result<()> {
    let output = &a.step.output;
    let summary = with_progress(|progress| run_combine(&a.step, a.overwrite, progress))
        .with_context(|| format!("combining into {}", output.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, output);
    }
    Ok(())
}

/// A person's summary of a combination.
pub fn print_summary(s: &CombineSummary, output: &Path) {
    println!(
        "{}: {} frames, {}x{}, {} band(s) of {} rows, {:.2} s (reading {:.2}, combining {:.2}, writing {:.2})",
        output.display(),
        s.ncombine,
        s.shape[0],
        s.shape[1],
        s.n_bands,
        s.band_rows,
        s.seconds,
        s.seconds_reading,
        s.seconds_combining,
        s.seconds_writing
    );
    let r = &s.rejected_per_rule;
    println!(
        "rejected: threshold {} extrema {} sigma {} grow {}; pixels with nothing left: {}",
        r.threshold, r.extrema, r.sigma, r.grow, s.blank_pixels
    );
    for (i, name) in s.inputs.iter().enumerate() {
        println!(
            "  {name:<32} scale {:<12.6} zero {:<10.4} rejected {:<8} NaN {}",
            s.scale[i], s.zero[i], s.rejected_per_frame[i], s.missing_per_frame[i]
        );
    }
}
