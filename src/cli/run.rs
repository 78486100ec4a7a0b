//! `skycomb run RECIPE.toml`: a saved reduction (from the app or by hand), step by step.

use super::combine::print_summary;
use super::progress_line::with_progress;
use anyhow::{Context, Result};
use clap::Args;
use skycomb::recipe::{Recipe, Step, StepReport};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The recipe (TOML: `[[step]]` tables with `run = "calibrate" | "combine" | "stack"` and the
    /// options of that command, `_` for `-`; relative paths are relative to the recipe's folder).
    pub recipe: PathBuf,
    /// Print the steps and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Print every step's report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &RunArgs) -> Result<()> {
    let recipe = Recipe::load(&a.recipe)?;
    for (i, step) in recipe.steps.iter().enumerate() {
        eprintln!("step {}: {}", i + 1, step.describe());
    }
    if a.dry_run {
        return Ok(());
    }
    let reports = with_progress(|progress| {
        recipe.run(progress, |i, report| {
            if !a.json {
                print_report(&recipe.steps[i], report);
            }
        })
    })
    .with_context(|| format!("running {}", a.recipe.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(())
}

fn print_report(step: &Step, report: &StepReport) {
    println!("{}: done", step.describe());
    let output = match step {
        Step::Calibrate(s) => &s.output,
        Step::Combine(s) => &s.output,
        Step::Stack(s) => &s.output,
    };
    match report {
        StepReport::Calibrate(r) => println!(
            "  {} master(s), {} calibrated frame(s), {} problem(s), {:.2} s",
            r.masters.len(),
            r.calibrated.len(),
            r.problems.len(),
            r.seconds
        ),
        StepReport::Combine(s) => print_summary(s, output),
        StepReport::Stack(r) => print_summary(&r.combine, output),
    }
}
