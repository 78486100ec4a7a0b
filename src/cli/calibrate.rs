//! `skycomb calibrate NIGHT_DIR -o OUT_DIR`: the plan first, then masters and calibrated frames.

use super::combine::{CompatArg, parse_size};
use super::progress_line::with_progress;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use skycomb::calibrate::*;
use skycomb::collection::{ScanOptions, scan};
use skycomb::combine::Semantics;
use skycomb::fits::Section;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DarkMatchArg {
    Nearest,
    Longest,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The raw night's folder (read only).
    pub night: PathBuf,
    /// Folder for masters and calibrated frames (created; never the raw folder).
    #[arg(short, long)]
    pub output: PathBuf,
    /// auto (BIASSEC), none, or a FITS section.
    #[arg(long, default_value = "auto")]
    pub overscan: String,
    /// median, mean, or poly:N (per-line medians smoothed by a polynomial of order N).
    #[arg(long, default_value = "median")]
    pub overscan_stat: String,
    /// auto (TRIMSEC, else DATASEC), none, or a FITS section.
    #[arg(long, default_value = "auto")]
    pub trim: String,
    /// Which master dark a frame gets: the nearest in exposure time, or always the longest.
    #[arg(long, value_enum, default_value_t = DarkMatchArg::Nearest)]
    pub dark_match: DarkMatchArg,
    /// Calibrate what can be and report the frames that lack a master, instead of refusing.
    #[arg(long)]
    pub allow_missing: bool,
    /// Print the plan and stop.
    #[arg(long)]
    pub plan_only: bool,
    /// Follow ccdproc exactly when combining masters.
    #[arg(long, value_enum)]
    pub compat: Option<CompatArg>,
    #[arg(long, default_value = "350MB")]
    pub memory_limit: String,
    /// Look into sub-folders of the night.
    #[arg(long, short)]
    pub recursive: bool,
    /// Replace existing outputs.
    #[arg(long)]
    pub overwrite: bool,
    /// Print the report as JSON on stdout (the plan goes to stderr).
    #[arg(long)]
    pub json: bool,
}

fn region(s: &str, what: &str) -> Result<Option<Section>> {
    match s {
        "auto" | "none" => Ok(None),
        s => Section::parse(s)
            .map(Some)
            .with_context(|| format!("--{what}")),
    }
}

pub fn run(a: &CalibrateArgs) -> Result<()> {
    let semantics = if a.compat.is_some() {
        Semantics::Ccdproc
    } else {
        Semantics::Iraf
    };
    let mut p = CalibrateParams::guide(semantics, parse_size(&a.memory_limit)?);
    p.overscan.region = match (a.overscan.as_str(), region(&a.overscan, "overscan")?) {
        ("none", _) => OverscanRegion::None,
        (_, Some(s)) => OverscanRegion::Section(s),
        _ => OverscanRegion::Auto,
    };
    p.overscan.trim = match (a.trim.as_str(), region(&a.trim, "trim")?) {
        ("none", _) => TrimRegion::None,
        (_, Some(s)) => TrimRegion::Section(s),
        _ => TrimRegion::Auto,
    };
    p.overscan.stat = match a.overscan_stat.as_str() {
        "median" => OverscanStat::Median,
        "mean" => OverscanStat::Mean,
        s => match s.strip_prefix("poly:").and_then(|n| n.parse().ok()) {
            Some(n) => OverscanStat::Poly(n),
            None => bail!("--overscan-stat {s:?}: expected median, mean or poly:N"),
        },
    };
    p.dark_match = if a.dark_match == DarkMatchArg::Longest {
        DarkMatch::Longest
    } else {
        DarkMatch::Nearest
    };
    p.allow_missing = a.allow_missing;
    p.overwrite = a.overwrite;
    let c = scan(
        &a.night,
        &ScanOptions {
            recursive: a.recursive,
        },
    )?;
    for problem in &c.problems {
        eprintln!("problem: {}", problem.reason);
    }
    let plan = plan_night(&c, p.dark_match);
    let text = plan.describe();
    if a.json {
        eprint!("{text}")
    } else {
        print!("{text}")
    }
    if a.plan_only {
        return Ok(());
    }
    let report =
        with_progress(|progress| run_calibration(&plan, &a.night, &a.output, &p, progress))?;
    if a.json {
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
