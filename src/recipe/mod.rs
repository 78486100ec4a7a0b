//! Recipes: a whole reduction as data — calibrate, combine and stack steps with every option as the
//! command line spells it — saved as TOML, run by `skycomb run RECIPE.toml` and by the desktop app
//! through the same `run_step`, so both write the same files bit for bit.
//!
//! ```toml
//! overwrite = true
//!
//! [[step]]
//! run = "calibrate"
//! night = "raw"
//! output = "reduced"
//!
//! [[step]]
//! run = "stack"
//! files = ["reduced/sci_R_001.fits", "reduced/sci_R_002.fits"]
//! output = "reduced/stack_R.fits"
//! offsets = "file:reduced/offsets.txt"
//! sigma_low = 3.0
//! ```
//! Relative paths are relative to the recipe's folder.

pub mod options;

pub use options::{
    CalibrateOptions, CentreArg, CombineOptions, CompatArg, DevArg, MethodArg, StackOptions,
    parse_size,
};

use crate::calibrate::{CalibrationReport, plan_night, run_calibration};
use crate::collection::{ScanOptions, scan};
use crate::combine::{CombineSummary, FileInput, OutputPaths, StackInput, combine_to_files};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::register::{StackReport, stack};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Build the masters of a night and calibrate its science frames into another folder.
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrateStep {
    /// The raw night's folder (read only).
    pub night: PathBuf,
    /// Folder for masters and calibrated frames (created; never the raw folder).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: CalibrateOptions,
}

/// Combine frames of one shape with scaling and rejection.
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombineStep {
    /// The frames to combine (all the same shape).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The combined image.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: CombineOptions,
    /// Also write the npix map (values used per pixel).
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npix: Option<PathBuf>,
    /// Also write the rejected-count map.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<PathBuf>,
    /// Also write the sigma map (standard error of each combined value).
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_map: Option<PathBuf>,
}

/// Register dithered frames and combine them onto a canvas.
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackStep {
    /// The dithered frames; the first is the reference.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    #[serde(flatten)]
    pub stack: StackOptions,
    #[command(flatten)]
    #[serde(flatten)]
    pub options: CombineOptions,
    /// The npix map: frames covering each pixel.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npix: Option<PathBuf>,
    /// The rejected-count map.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<PathBuf>,
}

/// One step of a reduction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "run", rename_all = "snake_case")]
pub enum Step {
    Calibrate(CalibrateStep),
    Combine(CombineStep),
    Stack(StackStep),
}

/// What a step did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepReport {
    Calibrate(CalibrationReport),
    Combine(CombineSummary),
    Stack(Box<StackReport>),
}

/// A whole reduction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Replace the outputs of an earlier run (inputs are never written over).
    #[serde(default)]
    pub overwrite: bool,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
}

/// The 1-based line of step `index`'s error: the line of the key it names (`unknown field `x``,
/// `... for key `x``), else the step's `[[step]]` line.
fn step_error_line(text: &str, index: usize, message: &str) -> usize {
    let starts: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[step]]")
        .map(|(n, _)| n)
        .collect();
    let Some(&start) = starts.get(index) else {
        return 1;
    };
    let end = starts.get(index + 1).copied().unwrap_or(usize::MAX);
    let key = message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("unknown field") || message.contains("for key"));
    key.and_then(|k| {
        text.lines()
            .enumerate()
            .skip(start)
            .take(end - start)
            .find(|(_, l)| {
                l.trim_start()
                    .strip_prefix(k)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            })
            .map(|(n, _)| n + 1)
    })
    .unwrap_or(start + 1)
}

/// Make the folder an output goes into.
fn make_folder_of(output: &Path) -> Result<()> {
    match output.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create folder", e))
        }
        None => Ok(()),
    }
}

/// The frames of a step opened (headers read, pixels streamed later) and their names; `what` says
/// what an empty list cannot be.
pub fn open_inputs(files: &[PathBuf], what: &str) -> Result<(Vec<FileInput>, Vec<String>)> {
    if files.is_empty() {
        return Err(Error::Invalid(format!("{what}: no input frames")));
    }
    let inputs: Vec<FileInput> = files
        .iter()
        .map(|p| FileInput::open(p))
        .collect::<Result<_>>()?;
    let names = inputs.iter().map(|i| i.name()).collect();
    Ok((inputs, names))
}

/// Run a calibration: the plan from the headers, then masters and calibrated frames.
pub fn run_calibrate(
    s: &CalibrateStep,
    overwrite: bool,
    progress: &Progress,
) -> Result<CalibrationReport> {
    let p = s.options.params(overwrite)?;
    let c = scan(
        &s.night,
        &ScanOptions {
            recursive: s.options.recursive,
        },
    )?;
    let plan = plan_night(&c, p.dark_match);
    run_calibration(&plan, &s.night, &s.output, &p, progress)
}

/// Run a combination.
pub fn run_combine(
    s: &CombineStep,
    overwrite: bool,
    progress: &Progress,
) -> Result<CombineSummary> {
    let (inputs, names) = open_inputs(&s.files, "nothing to combine")?;
    let params = s.options.params(&names, inputs[0].header())?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    make_folder_of(&s.output)?;
    let out = OutputPaths {
        image: s.output.clone(),
        npix: s.npix.clone(),
        rejected: s.rejected.clone(),
        sigma: s.sigma_map.clone(),
        overwrite,
        ..Default::default()
    };
    combine_to_files(&refs, &params, &out, progress)
}

/// Run a dithered stack.
pub fn run_stack(s: &StackStep, overwrite: bool, progress: &Progress) -> Result<StackReport> {
    let (inputs, names) = open_inputs(&s.files, "nothing to stack")?;
    let params = s.stack.params(&s.options, &names, inputs[0].header())?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    make_folder_of(&s.output)?;
    let out = OutputPaths {
        image: s.output.clone(),
        npix: s.npix.clone(),
        rejected: s.rejected.clone(),
        sigma: None,
        overwrite,
        ..Default::default()
    };
    stack(&refs, &params, &out, progress)
}

/// Run one step.
pub fn run_step(step: &Step, overwrite: bool, progress: &Progress) -> Result<StepReport> {
    Ok(match step {
        Step::Calibrate(s) => StepReport::Calibrate(run_calibrate(s, overwrite, progress)?),
        Step::Combine(s) => StepReport::Combine(run_combine(s, overwrite, progress)?),
        Step::Stack(s) => StepReport::Stack(Box::new(run_stack(s, overwrite, progress)?)),
    })
}

impl Step {
    /// "calibrate", "combine" or "stack", and what it writes.
    pub fn describe(&self) -> String {
        match self {
            Step::Calibrate(s) => {
                format!("calibrate {} -> {}", s.night.display(), s.output.display())
            }
            Step::Combine(s) => {
                format!("combine {} frames -> {}", s.files.len(), s.output.display())
            }
            Step::Stack(s) => format!("stack {} frames -> {}", s.files.len(), s.output.display()),
        }
    }

    /// What the step writes: the calibrated folder, or the combined image.
    pub fn output(&self) -> &Path {
        match self {
            Step::Calibrate(s) => &s.output,
            Step::Combine(s) => &s.output,
            Step::Stack(s) => &s.output,
        }
    }

    /// Add `self` to `steps`, replacing the step that writes the same output (a re-run).
    pub fn put_into(self, steps: &mut Vec<Step>) {
        match steps.iter_mut().find(|s| s.output() == self.output()) {
            Some(old) => *old = self,
            None => steps.push(self),
        }
    }

    /// Every path of the step, to rewrite them together.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Step::Calibrate(s) => vec![&mut s.night, &mut s.output],
            Step::Combine(s) => {
                let mut v: Vec<&mut PathBuf> = s.files.iter_mut().collect();
                v.push(&mut s.output);
                v.extend(
                    [&mut s.npix, &mut s.rejected, &mut s.sigma_map]
                        .into_iter()
                        .flatten(),
                );
                v
            }
            Step::Stack(s) => {
                let mut v: Vec<&mut PathBuf> = s.files.iter_mut().collect();
                v.push(&mut s.output);
                v.extend([&mut s.npix, &mut s.rejected].into_iter().flatten());
                v
            }
        }
    }
}

impl Recipe {
    /// Read a recipe; relative paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
        let recipe =
            Recipe::parse(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(recipe.rooted_at(base))
    }

    /// A recipe from TOML text. A step's error names the line it is on (the bad key's, or the
    /// step's `[[step]]`), which serde's tagged steps cannot; a recipe with no step is refused.
    pub fn parse(text: &str) -> std::result::Result<Recipe, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let steps = match table.remove("step") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => a,
            Some(_) => return Err("`step` must be an array of tables: [[step]]".into()),
        };
        let mut recipe: Recipe = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string())?;
        for (i, step) in steps.into_iter().enumerate() {
            let step: Step = step.try_into().map_err(|e: toml::de::Error| {
                let line = step_error_line(text, i, e.message());
                format!("line {line}: step {}: {}", i + 1, e.message())
            })?;
            recipe.steps.push(step);
        }
        if recipe.steps.is_empty() {
            return Err("no steps: a recipe needs at least one [[step]] with run = \"calibrate\", \"combine\" or \"stack\"".into());
        }
        Ok(recipe)
    }

    /// The recipe with every relative path joined to `base`.
    pub fn rooted_at(mut self, base: &Path) -> Recipe {
        for step in &mut self.steps {
            for p in step.paths_mut() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        self
    }

    /// The recipe as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Invalid(format!("cannot write the recipe: {e}")))
    }

    /// Write the recipe to `path` (atomically: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_toml()?;
        let tmp = path.with_extension("toml.part");
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, "cannot write", e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot write", e))
    }

    /// Run every step in order; `on_step(i, report)` hears of each as it ends. A failing step stops
    /// the recipe (later steps usually need its outputs).
    pub fn run(
        &self,
        progress: &Progress,
        mut on_step: impl FnMut(usize, &StepReport),
    ) -> Result<Vec<StepReport>> {
        let mut reports = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            progress.check()?;
            let report = run_step(step, self.overwrite, progress).map_err(|e| match e {
                Error::Cancelled => e,
                e => Error::Invalid(format!("step {} ({}): {e}", i + 1, step.describe())),
            })?;
            on_step(i, &report);
            reports.push(report);
        }
        Ok(reports)
    }
}
