//! `skycomb combine FILES... -o OUT.fits`: any stack, every option of the engine.

use super::progress_line::with_progress;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use skycomb::combine::*;
use skycomb::fits::Section;
use skycomb::stats::Centre;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MethodArg {
    Average,
    Median,
    Sum,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CentreArg {
    Mean,
    Median,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DevArg {
    Std,
    #[value(name = "mad_std", alias = "mad-std")]
    MadStd,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompatArg {
    Ccdproc,
}

/// The combination options shared by `combine` and (for masters) `calibrate`.
#[derive(Debug, Args, Clone)]
pub struct CombineOptions {
    #[arg(long, value_enum, default_value_t = MethodArg::Average)]
    pub method: MethodArg,
    /// Reject raw values below this (before scaling).
    #[arg(long, allow_hyphen_values = true)]
    pub min_clip: Option<f64>,
    /// Reject raw values above this (before scaling).
    #[arg(long, allow_hyphen_values = true)]
    pub max_clip: Option<f64>,
    /// Reject the N lowest values at each pixel.
    #[arg(long, default_value_t = 0)]
    pub nlow: usize,
    /// Reject the N highest values at each pixel.
    #[arg(long, default_value_t = 0)]
    pub nhigh: usize,
    /// Sigma clipping, low threshold (turns it on; the other threshold defaults to the same).
    #[arg(long)]
    pub sigma_low: Option<f64>,
    /// Sigma clipping, high threshold.
    #[arg(long)]
    pub sigma_high: Option<f64>,
    /// Centre of the sigma clip [default: median; mean with --compat ccdproc].
    #[arg(long, value_enum)]
    pub center: Option<CentreArg>,
    /// Spread of the sigma clip [default: mad_std; std with --compat ccdproc].
    #[arg(long, value_enum)]
    pub dev: Option<DevArg>,
    /// Sigma-clip iterations [default: until nothing changes; ccdproc makes exactly one].
    #[arg(long)]
    pub max_iters: Option<usize>,
    /// Percentile clipping (IRAF pclip, -1..1), with the sigma thresholds (default 3).
    #[arg(long, allow_hyphen_values = true)]
    pub pclip: Option<f64>,
    /// CCD noise-model clipping (IRAF ccdclip), with the sigma thresholds (default 3).
    #[arg(long)]
    pub ccdclip: bool,
    /// Gain in e-/ADU for --ccdclip [default: GAIN of the first frame].
    #[arg(long)]
    pub gain: Option<f64>,
    /// Read noise in e- for --ccdclip [default: RDNOISE of the first frame].
    #[arg(long)]
    pub read_noise: Option<f64>,
    /// Sensitivity noise (fraction) for --ccdclip.
    #[arg(long, default_value_t = 0.0)]
    pub snoise: f64,
    /// Also reject pixels within this radius (px) of a rejected pixel of the same frame.
    #[arg(long, default_value_t = 0.0)]
    pub grow: f64,
    /// Never let sigma-type rejection leave fewer than N values.
    #[arg(long, default_value_t = 0)]
    pub nkeep: usize,
    /// none, inv-median, inv-mean, exptime[:KEYWORD], or a FILE with one factor per frame
    /// (stack also takes photometric: factors from matched-star photometry).
    #[arg(long, default_value = "none")]
    pub scale: String,
    /// none, median, mean, or a FILE with one offset per frame.
    #[arg(long, default_value = "none")]
    pub zero: String,
    /// none, a header KEYWORD, or a FILE with one weight per frame.
    #[arg(long, default_value = "none")]
    pub weights: String,
    /// Section for the scaling statistics, e.g. [100:900,100:900].
    #[arg(long)]
    pub stat_section: Option<String>,
    /// Memory for the row bands, e.g. 350MB, 2GB.
    #[arg(long, default_value = "350MB")]
    pub memory_limit: String,
    /// Value of pixels where every input was rejected or NaN [default: NaN].
    #[arg(long, allow_hyphen_values = true)]
    pub blank: Option<f32>,
    /// Follow ccdproc.combine exactly (see the README for every difference).
    #[arg(long, value_enum)]
    pub compat: Option<CompatArg>,
}

/// `350MB`, `2GB`, `500M`, `1e9`: decimal units, as ccdproc's mem_limit.
pub fn parse_size(s: &str) -> Result<usize> {
    let t = s.trim().to_ascii_uppercase();
    let (num, mult) = [
        ("GB", 1e9),
        ("G", 1e9),
        ("MB", 1e6),
        ("M", 1e6),
        ("KB", 1e3),
        ("K", 1e3),
        ("B", 1.0),
    ]
    .iter()
    .find_map(|(suffix, m)| t.strip_suffix(suffix).map(|n| (n.trim().to_string(), *m)))
    .unwrap_or((t.clone(), 1.0));
    let v: f64 = num
        .parse()
        .with_context(|| format!("memory size {s:?}: expected e.g. 350MB"))?;
    anyhow::ensure!(v > 0.0, "memory size {s:?} must be positive");
    Ok((v * mult) as usize)
}

/// Numbers from a file, one per frame: `VALUE` or `NAME VALUE` per line (`#` comments).
fn per_frame_file(path: &Path, names: &[String]) -> Result<Vec<f64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut plain = Vec::new();
    let mut named = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let value = |t: &str| {
            t.parse::<f64>()
                .with_context(|| format!("{}:{}: {t:?} is not a number", path.display(), i + 1))
        };
        match parts.as_slice() {
            [v] => plain.push(value(v)?),
            [name, v] => {
                named.insert(name.to_string(), value(v)?);
            }
            _ => bail!("{}:{}: expected VALUE or NAME VALUE", path.display(), i + 1),
        }
    }
    if !named.is_empty() {
        return names
            .iter()
            .map(|n| {
                named
                    .get(n)
                    .copied()
                    .with_context(|| format!("{}: no value for {n}", path.display()))
            })
            .collect();
    }
    anyhow::ensure!(
        plain.len() == names.len(),
        "{}: {} values for {} frames",
        path.display(),
        plain.len(),
        names.len()
    );
    Ok(plain)
}

impl CombineOptions {
    /// The engine's parameters for these inputs (names and first header for files and defaults).
    pub fn params(&self, names: &[String], first: &skycomb::fits::Header) -> Result<CombineParams> {
        let semantics = if self.compat.is_some() {
            Semantics::Ccdproc
        } else {
            Semantics::Iraf
        };
        let ccd = semantics == Semantics::Ccdproc;
        if ccd && self.max_iters.is_some_and(|m| m != 1) {
            bail!(
                "--compat ccdproc: ccdproc.combine clips exactly once; --max-iters cannot change that"
            );
        }
        let sigma_given = self.sigma_low.is_some() || self.sigma_high.is_some();
        let (low, high) = match (self.sigma_low, self.sigma_high) {
            (Some(l), Some(h)) => (l, h),
            (Some(v), None) | (None, Some(v)) => (v, v),
            (None, None) => (3.0, 3.0),
        };
        let centre = match self.center.unwrap_or(if ccd {
            CentreArg::Mean
        } else {
            CentreArg::Median
        }) {
            CentreArg::Mean => Centre::Mean,
            CentreArg::Median => Centre::Median,
        };
        let spread = match (self.pclip, self.ccdclip) {
            (Some(_), true) => bail!("choose one of --pclip and --ccdclip"),
            (Some(p), false) => Some(Spread::Percentile(p)),
            (None, true) => {
                let gain = self
                    .gain
                    .or_else(|| first.get_f64("GAIN"))
                    .context("--ccdclip needs --gain (or GAIN in the header)")?;
                let rn = self
                    .read_noise
                    .or_else(|| first.get_f64("RDNOISE"))
                    .context("--ccdclip needs --read-noise (or RDNOISE in the header)")?;
                Some(Spread::CcdNoise {
                    gain_e_per_adu: gain,
                    read_noise_e: rn,
                    sensitivity_noise: self.snoise,
                })
            }
            (None, false) if sigma_given => Some(
                match self
                    .dev
                    .unwrap_or(if ccd { DevArg::Std } else { DevArg::MadStd })
                {
                    DevArg::Std => Spread::Std,
                    DevArg::MadStd => Spread::MadStd,
                },
            ),
            (None, false) => None,
        };
        if spread.is_none()
            && (self.center.is_some() || self.dev.is_some() || self.max_iters.is_some())
        {
            bail!(
                "--center, --dev and --max-iters belong to sigma clipping: give --sigma-low/--sigma-high too"
            );
        }
        let max_iterations = if ccd { Some(1) } else { self.max_iters };
        let sigma = spread.map(|spread| SigmaRule {
            low,
            high,
            centre,
            spread,
            max_iterations,
        });
        let file_or =
            |s: &str| -> Option<PathBuf> { Path::new(s).is_file().then(|| PathBuf::from(s)) };
        let scale = match self.scale.as_str() {
            "none" => Scale::None,
            "inv-median" => Scale::InvMedian,
            "inv-mean" => Scale::InvMean,
            "exptime" => Scale::Exptime("EXPTIME".into()),
            s if s.starts_with("exptime:") => Scale::Exptime(s[8..].to_string()),
            s => match file_or(s) {
                Some(p) => Scale::Given(per_frame_file(&p, names)?),
                None => bail!(
                    "--scale {s:?}: expected none, inv-median, inv-mean, exptime[:KEYWORD] or an existing file"
                ),
            },
        };
        let zero = match self.zero.as_str() {
            "none" => Zero::None,
            "median" => Zero::Median,
            "mean" => Zero::Mean,
            s => match file_or(s) {
                Some(p) => Zero::Given(per_frame_file(&p, names)?),
                None => bail!("--zero {s:?}: expected none, median, mean or an existing file"),
            },
        };
        let weights = match self.weights.as_str() {
            "none" => Weights::None,
            s => match file_or(s) {
                Some(p) => Weights::Given(per_frame_file(&p, names)?),
                None => Weights::Keyword(s.to_string()),
            },
        };
        let params = CombineParams {
            method: match self.method {
                MethodArg::Average => Method::Average,
                MethodArg::Median => Method::Median,
                MethodArg::Sum => Method::Sum,
            },
            rejection: Rejection {
                min_clip: self.min_clip,
                max_clip: self.max_clip,
                nlow: self.nlow,
                nhigh: self.nhigh,
                sigma,
                grow_radius_px: self.grow,
                nkeep: self.nkeep,
            },
            scale,
            zero,
            weights,
            stat_section: self
                .stat_section
                .as_deref()
                .map(Section::parse)
                .transpose()?,
            semantics,
            memory_limit_bytes: parse_size(&self.memory_limit)?,
            blank: self.blank.unwrap_or(f32::NAN),
            ..Default::default()
        };
        params.validate(names.len())?;
        Ok(params)
    }
}

#[derive(Debug, Args)]
pub struct CombineArgs {
    /// The frames to combine (all the same shape).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The combined image.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub options: CombineOptions,
    /// Also write the npix map (values used per pixel).
    #[arg(long)]
    pub npix: Option<PathBuf>,
    /// Also write the rejected-count map.
    #[arg(long)]
    pub rejected: Option<PathBuf>,
    /// Also write the sigma map (standard error of each combined value).
    #[arg(long)]
    pub sigma_map: Option<PathBuf>,
    /// Replace existing outputs (never inputs).
    #[arg(long)]
    pub overwrite: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &CombineArgs) -> Result<()> {
    let inputs: Vec<FileInput> = a
        .files
        .iter()
        .map(|p| FileInput::open(p))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = inputs.iter().map(|i| i.name()).collect();
    let params = a.options.params(&names, inputs[0].header())?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let out = OutputPaths {
        image: a.output.clone(),
        npix: a.npix.clone(),
        rejected: a.rejected.clone(),
        sigma: a.sigma_map.clone(),
        overwrite: a.overwrite,
        ..Default::default()
    };
    let summary = with_progress(|progress| combine_to_files(&refs, &params, &out, progress))
        .with_context(|| format!("combining into {}", a.output.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, &a.output);
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
