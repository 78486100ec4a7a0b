//! The options of the calibrate, combine and stack steps as a person states them: the command line's
//! flags (clap) and a recipe's keys (serde) are one set of structs, turned into the engines'
//! parameters here, so `skycomb combine ...`, `skycomb run RECIPE.toml` and the desktop app mean the
//! same thing by the same words.

use crate::calibrate::{CalibrateParams, DarkMatch, OverscanRegion, OverscanStat, TrimRegion};
use crate::combine::*;
use crate::error::{Error, Result};
use crate::fits::Section;
use crate::register::{OffsetSource, SkyMode, StackParams, StackScale};
use crate::stats::Centre;
use clap::{Args, Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

fn invalid(message: String) -> Error {
    Error::Invalid(message)
}

macro_rules! bail {
    ($($t:tt)*) => {
        return Err(invalid(format!($($t)*)))
    };
}

/// The defaults of an option struct are its command line's defaults (one source of truth).
fn clap_defaults<T: Args>() -> T {
    #[derive(Parser)]
    struct Only<T: Args> {
        #[command(flatten)]
        options: T,
    }
    Only::<T>::parse_from(["skycomb"]).options
}

impl Default for CombineOptions {
    fn default() -> Self {
        clap_defaults()
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodArg {
    Average,
    Median,
    Sum,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreArg {
    Mean,
    Median,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevArg {
    Std,
    #[value(name = "mad_std", alias = "mad-std")]
    MadStd,
    /// 1.4826 MAD, never below the frames' background noise (skycomb's default clip).
    #[value(name = "mad_std_floor", alias = "mad-std-floor")]
    MadStdFloor,
    /// Siril's winsorized sigma.
    Winsorized,
    /// Siril's linear-fit clipping (the mean absolute deviation from a line through the sorted
    /// values).
    #[value(name = "linear_fit", alias = "linear-fit")]
    LinearFit,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormArg {
    Add,
    Mul,
    Addscale,
    Mulscale,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatArg {
    /// ccdproc.combine exactly.
    Ccdproc,
    /// IRAF 2.17 imcombine exactly (as `skycomb imcombine`).
    Iraf,
}

impl CompatArg {
    /// The engine's semantics for an optional `--compat`.
    pub fn semantics(c: Option<CompatArg>) -> Semantics {
        match c {
            None => Semantics::Skycomb,
            Some(CompatArg::Ccdproc) => Semantics::Ccdproc,
            Some(CompatArg::Iraf) => Semantics::Iraf,
        }
    }
}

/// The combination options of `combine` and `stack` (a recipe's step holds the same keys, with `_`
/// for `-`: `sigma_low = 5.0`).
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Spread of the sigma clip: std, mad_std, winsorized or linear_fit [default: mad_std; std with
    /// --compat ccdproc].
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
    /// IRAF crreject: the CCD noise model, high values only (cosmic rays), even on two frames.
    #[arg(long)]
    pub crreject: bool,
    /// IRAF avsigclip: sigma = s sqrt(level) with s fitted over each image row (--compat iraf).
    #[arg(long)]
    pub avsigclip: bool,
    /// GESD test: at most this fraction of the values are outliers (e.g. 0.3), tested at
    /// --gesd-alpha.
    #[arg(long)]
    pub gesd: Option<f64>,
    /// Significance of the GESD test.
    #[arg(long, default_value_t = 0.05)]
    pub gesd_alpha: f64,
    /// Siril's normalisation to the first frame (instead of --scale/--zero): add, mul, addscale,
    /// mulscale.
    #[arg(long, value_enum)]
    pub norm: Option<NormArg>,
    /// IRAF sigscale: correct the clipping for the scaling only when a scale factor differs from 1
    /// by more than this (--compat iraf).
    #[arg(long, default_value_t = 0.1)]
    pub sigscale: f64,
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
    /// Never let sigma-type rejection leave fewer than N values (negative: reject at most -N).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub nkeep: i64,
    /// none, inv-median, inv-mean, inv-mode, exptime[:KEYWORD], keyword:KEYWORD, or a FILE with one
    /// factor per frame (stack also takes photometric: factors from matched-star photometry).
    #[arg(long, default_value = "none")]
    pub scale: String,
    /// none, median, mean, mode, or a FILE with one offset per frame.
    #[arg(long, default_value = "none")]
    pub zero: String,
    /// none, noise (1/noise^2, Siril's), median, mean, mode, exptime[:KEYWORD], a header KEYWORD,
    /// or a FILE with one weight per frame.
    #[arg(long, default_value = "none")]
    pub weights: String,
    /// Section for the scaling statistics, e.g. [100:900,100:900].
    #[arg(long)]
    pub stat_section: Option<String>,
    /// Memory for the row bands, e.g. 350MB, 2GB.
    #[arg(long, default_value = "350MB")]
    pub memory_limit: String,
    /// Value of pixels where every input was rejected or NaN [default: NaN; IRAF's 0 with
    /// --compat iraf].
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
        .map_err(|_| invalid(format!("memory size {s:?}: expected e.g. 350MB")))?;
    if v <= 0.0 {
        bail!("memory size {s:?} must be positive");
    }
    Ok((v * mult) as usize)
}

/// Numbers from a file, one per frame: `VALUE` or `NAME VALUE` per line (`#` comments).
fn per_frame_file(path: &Path, names: &[String]) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let mut plain = Vec::new();
    let mut named = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let value = |t: &str| {
            t.parse::<f64>().map_err(|_| {
                invalid(format!(
                    "{}:{}: {t:?} is not a number",
                    path.display(),
                    i + 1
                ))
            })
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
                    .ok_or_else(|| invalid(format!("{}: no value for {n}", path.display())))
            })
            .collect();
    }
    if plain.len() != names.len() {
        bail!(
            "{}: {} values for {} frames",
            path.display(),
            plain.len(),
            names.len()
        );
    }
    Ok(plain)
}

impl CombineOptions {
    /// Whether any rejection rule was asked for (a stack without one gets the default clip).
    pub fn has_rejection(&self) -> bool {
        self.min_clip.is_some()
            || self.max_clip.is_some()
            || self.nlow > 0
            || self.nhigh > 0
            || self.sigma_low.is_some()
            || self.sigma_high.is_some()
            || self.pclip.is_some()
            || self.ccdclip
            || self.crreject
            || self.avsigclip
            || self.gesd.is_some()
    }

    /// The engine's parameters for these inputs (names and first header for files and defaults).
    pub fn params(&self, names: &[String], first: &crate::fits::Header) -> Result<CombineParams> {
        let semantics = CompatArg::semantics(self.compat);
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
        let chosen = [
            self.pclip.is_some(),
            self.ccdclip,
            self.crreject,
            self.avsigclip,
            self.gesd.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            bail!("choose one of --pclip, --ccdclip, --crreject, --avsigclip and --gesd");
        }
        let ccd_model = self.ccdclip || self.crreject;
        let mut noise_keywords = NoiseKeywords::default();
        let spread = match (self.pclip, ccd_model) {
            _ if self.avsigclip => Some(Spread::PoissonScaled),
            _ if self.gesd.is_some() => Some(Spread::Gesd {
                max_outliers: self.gesd.unwrap_or(0.3),
                alpha: self.gesd_alpha,
            }),
            (Some(p), _) => Some(Spread::Percentile(p)),
            (None, true) if semantics == Semantics::Iraf => {
                // IRAF reads each frame's own values; numbers given apply to all
                let key = |given: Option<f64>, k: &str| {
                    (given.is_none() && first.get_f64(k).is_some()).then(|| k.to_string())
                };
                noise_keywords = NoiseKeywords {
                    gain: key(self.gain, "GAIN"),
                    read_noise: key(self.read_noise, "RDNOISE"),
                    snoise: None,
                };
                Some(Spread::CcdNoise {
                    gain_e_per_adu: self.gain.unwrap_or(1.0),
                    read_noise_e: self.read_noise.unwrap_or(0.0),
                    sensitivity_noise: self.snoise,
                })
            }
            (None, true) => {
                let gain = self.gain.or_else(|| first.get_f64("GAIN")).ok_or_else(|| {
                    invalid("--ccdclip needs --gain (or GAIN in the header)".into())
                })?;
                let rn = self
                    .read_noise
                    .or_else(|| first.get_f64("RDNOISE"))
                    .ok_or_else(|| {
                        invalid("--ccdclip needs --read-noise (or RDNOISE in the header)".into())
                    })?;
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
                    DevArg::MadStdFloor => Spread::MadStdFloor,
                    DevArg::Winsorized => Spread::Winsorized,
                    DevArg::LinearFit => Spread::LinearFit,
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
        let low = if self.crreject { f64::INFINITY } else { low };
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
            _ if self.norm.is_some() => {
                if self.scale != "none" || self.zero != "none" {
                    bail!("--norm sets the scale and zero offsets: leave --scale and --zero none");
                }
                Scale::Normalise(match self.norm.expect("checked") {
                    NormArg::Add => Normalisation::Add,
                    NormArg::Mul => Normalisation::Mul,
                    NormArg::Addscale => Normalisation::AddScale,
                    NormArg::Mulscale => Normalisation::MulScale,
                })
            }
            "none" => Scale::None,
            "inv-median" => Scale::InvMedian,
            "inv-mean" => Scale::InvMean,
            "inv-mode" => Scale::InvMode,
            s if s.starts_with("keyword:") => Scale::Keyword(s[8..].to_string()),
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
            "mode" => Zero::Mode,
            s => match file_or(s) {
                Some(p) => Zero::Given(per_frame_file(&p, names)?),
                None => bail!("--zero {s:?}: expected none, median, mean or an existing file"),
            },
        };
        let weights = match self.weights.as_str() {
            "none" => Weights::None,
            "noise" => Weights::InverseNoise,
            "median" => Weights::Statistic(Statistic::Median),
            "mean" => Weights::Statistic(Statistic::Mean),
            "mode" => Weights::Statistic(Statistic::Mode),
            "exptime" => Weights::Exptime("EXPTIME".into()),
            s if s.starts_with("exptime:") => Weights::Exptime(s[8..].to_string()),
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
                nkeep: Keep::from_nkeep(self.nkeep),
                sigscale: self.sigscale,
                noise_keywords,
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
            blank: self.blank.unwrap_or(if semantics == Semantics::Iraf {
                0.0
            } else {
                f32::NAN
            }),
            ..Default::default()
        };
        params.validate(names.len())?;
        Ok(params)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DarkMatchArg {
    Nearest,
    Longest,
}

impl From<DarkMatchArg> for DarkMatch {
    fn from(d: DarkMatchArg) -> DarkMatch {
        match d {
            DarkMatchArg::Longest => DarkMatch::Longest,
            DarkMatchArg::Nearest => DarkMatch::Nearest,
        }
    }
}

/// The calibration options of `calibrate`.
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrateOptions {
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
    /// Follow ccdproc exactly when combining masters.
    #[arg(long, value_enum)]
    pub compat: Option<CompatArg>,
    #[arg(long, default_value = "350MB")]
    pub memory_limit: String,
    /// Look into sub-folders of the night.
    #[arg(long, short)]
    pub recursive: bool,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        clap_defaults()
    }
}

/// `auto`/`none` (None) or a FITS section.
fn region(s: &str, what: &str) -> Result<Option<Section>> {
    match s {
        "auto" | "none" => Ok(None),
        s => Section::parse(s)
            .map(Some)
            .map_err(|e| invalid(format!("--{what}: {e}"))),
    }
}

impl CalibrateOptions {
    /// The calibration's parameters (the ccdproc guide's masters; overscan, trim and darks as asked).
    pub fn params(&self, overwrite: bool) -> Result<CalibrateParams> {
        let semantics = if self.compat.is_some() {
            Semantics::Ccdproc
        } else {
            Semantics::Skycomb
        };
        let mut p = CalibrateParams::guide(semantics, parse_size(&self.memory_limit)?);
        p.overscan.region = match (self.overscan.as_str(), region(&self.overscan, "overscan")?) {
            ("none", _) => OverscanRegion::None,
            (_, Some(s)) => OverscanRegion::Section(s),
            _ => OverscanRegion::Auto,
        };
        p.overscan.trim = match (self.trim.as_str(), region(&self.trim, "trim")?) {
            ("none", _) => TrimRegion::None,
            (_, Some(s)) => TrimRegion::Section(s),
            _ => TrimRegion::Auto,
        };
        p.overscan.stat = match self.overscan_stat.as_str() {
            "median" => OverscanStat::Median,
            "mean" => OverscanStat::Mean,
            s => match s.strip_prefix("poly:").and_then(|n| n.parse().ok()) {
                Some(n) => OverscanStat::Poly(n),
                None => bail!("--overscan-stat {s:?}: expected median, mean or poly:N"),
            },
        };
        p.dark_match = self.dark_match.into();
        p.allow_missing = self.allow_missing;
        p.overwrite = overwrite;
        Ok(p)
    }
}

/// The registration options of `stack` (its combination options are a [`CombineOptions`]).
#[derive(Debug, Args, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StackOptions {
    /// auto, wcs (TAN, TAN-SIP, TPV, SIN, ...), stars:X,Y[;X,Y...] (FITS 1-based, in the first frame), file:PATH (FILE DX DY lines),
    /// or positions:PATH (x y of one object per frame, one line per frame).
    #[arg(long, default_value = "auto")]
    pub offsets: String,
    /// The transform automatic offsets fit: shift, similarity (rotation, scale, mirror) or affine
    /// (followed stars give shifts; the WCS gives its own whole map).
    #[arg(long, default_value = "similarity")]
    pub transform: String,
    /// Refine the offsets by cross-correlating sub-images around the reference's bright stars.
    #[arg(long)]
    pub refine: bool,
    /// Combine without the default clip when no rejection is asked for (README: the default clip).
    #[arg(long)]
    pub no_rejection: bool,
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
}

impl Default for StackOptions {
    fn default() -> Self {
        clap_defaults()
    }
}

/// `X,Y` (FITS 1-based) to a 0-based position.
pub fn parse_xy(s: &str) -> Result<(f64, f64)> {
    let (x, y) = s
        .split_once(',')
        .ok_or_else(|| invalid(format!("{s:?}: expected X,Y")))?;
    let number = |t: &str, what: &str| {
        t.trim()
            .parse::<f64>()
            .map_err(|_| invalid(format!("{s:?}: bad {what}")))
    };
    Ok((number(x, "X")? - 1.0, number(y, "Y")? - 1.0))
}

impl StackOptions {
    fn offsets(&self) -> Result<OffsetSource> {
        Ok(match self.offsets.split_once(':') {
            None if self.offsets == "auto" => OffsetSource::Auto,
            None if self.offsets == "wcs" => OffsetSource::Wcs,
            Some(("stars", list)) => {
                OffsetSource::Stars(list.split(';').map(parse_xy).collect::<Result<_>>()?)
            }
            Some(("file", p)) => OffsetSource::File(p.into()),
            Some(("positions", p)) => OffsetSource::Positions(p.into()),
            _ => bail!(
                "--offsets {:?}: expected auto, wcs, stars:X,Y[;X,Y], file:PATH or positions:PATH",
                self.offsets
            ),
        })
    }

    fn sky(&self) -> Result<SkyMode> {
        let s = self.sky.as_str();
        Ok(match s {
            "none" => SkyMode::None,
            "median" => SkyMode::Median,
            _ => {
                let surface = s.strip_prefix("surface:");
                if let Some(order) = surface.and_then(|t| t.strip_suffix(":quadrants")) {
                    match order.parse() {
                        Ok(order) => SkyMode::QuadrantSurfaces(order),
                        Err(_) => bail!("--sky {s:?}: expected surface:N:quadrants"),
                    }
                } else if let Some(order) = surface.and_then(|n| n.parse().ok()) {
                    SkyMode::Surface(order)
                } else if let Some(n) = s.strip_prefix("neighbours:").and_then(|n| n.parse().ok()) {
                    SkyMode::Neighbours {
                        n,
                        iterations: self.iterations,
                    }
                } else {
                    bail!(
                        "--sky {s:?}: expected none, median, surface:N[:quadrants] or neighbours:N"
                    )
                }
            }
        })
    }

    /// The stack's parameters for these frames (names and first header for files and defaults).
    /// `--scale photometric` is the stack's own (matched-star photometry); other scales are the
    /// combination's.
    pub fn params(
        &self,
        combine: &CombineOptions,
        names: &[String],
        first: &crate::fits::Header,
    ) -> Result<StackParams> {
        let photometric = combine.scale == "photometric";
        let combine = CombineOptions {
            scale: if photometric {
                "none".into()
            } else {
                combine.scale.clone()
            },
            ..combine.clone()
        };
        let mut combine_params = combine.params(names, first)?;
        if !self.no_rejection
            && !combine.has_rejection()
            && combine_params.semantics == Semantics::Skycomb
        {
            combine_params.rejection.sigma = Some(SigmaRule::default_clip());
        }
        Ok(StackParams {
            offsets: self.offsets()?,
            transform: self.transform.parse()?,
            refine: self.refine,
            shift: self.shift.parse()?,
            canvas: self.canvas.parse()?,
            sky: self.sky()?,
            scale: if photometric {
                StackScale::Photometric
            } else {
                StackScale::None
            },
            combine: combine_params,
        })
    }
}
