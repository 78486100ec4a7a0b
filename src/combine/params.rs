//! CombineParams: method, rejection rules, scaling, zero offsets, weights, semantics and memory limit.

use crate::error::{Error, Result};
use crate::fits::Section;
use crate::stats::Centre;

/// How surviving values are combined into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    Average,
    /// Even count: the mean of the two middle values.
    Median,
    Sum,
    /// IRAF's quadrature: sqrt(sum of squares) / n, for combining sigma images (IRAF semantics).
    Quadrature,
    /// IRAF's nmodel: the CCD noise model's sigma of the average, sqrt(sum of variances) / n
    /// (IRAF semantics; gain, read noise and snoise from [`CombineParams::noise_model`]).
    NoiseModel,
}

/// The CCD noise model's numbers for IRAF's combine=nmodel (each may come from a header keyword
/// through [`Rejection::noise_keywords`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseModel {
    pub gain_e_per_adu: f64,
    pub read_noise_e: f64,
    pub sensitivity_noise: f64,
}

/// The spread a sigma-type rejection scales its thresholds by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// Standard deviation of the values (ddof = 0).
    Std,
    /// 1.482602218505602 x median absolute deviation.
    MadStd,
    /// IRAF pclip: the distance from the median to the value `p` of the way (-1..1) from the median
    /// towards the lowest (p < 0) or highest (p > 0) value.
    Percentile(f64),
    /// Siril's winsorized sigma: values pulled in to the median +- 1.5 sigma, sigma re-estimated
    /// as 1.134 x their standard deviation until it settles.
    Winsorized,
    /// 1.4826 MAD of the values, never below the frames' noise from frame to frame (the MAD of
    /// neighbouring frames' differences): robust where the values are few, and never smaller than
    /// the sky's true noise where five values happen to agree too well. The default clip (README).
    MadStdFloor,
    /// Siril's linear-fit clipping: a line through the sorted values against rank, the spread
    /// their mean absolute deviation from it; the ends beyond low/high spreads from the line go.
    LinearFit,
    /// The generalized extreme Studentized deviate test: at most `max_outliers` x N values, at
    /// significance `alpha` (one pass; the sigma thresholds are not used).
    Gesd { max_outliers: f64, alpha: f64 },
    /// IRAF avsigclip: a Poisson noise model sigma = s sqrt(level), with s estimated from all the
    /// pixels of an image row (IRAF semantics only).
    PoissonScaled,
    /// IRAF ccdclip: the CCD noise model at the centre value, sqrt((rn/g)^2 + c/g + (s*c)^2) in ADU
    /// (with [`NoiseKeywords`], each frame's own values from its header under IRAF semantics).
    CcdNoise {
        gain_e_per_adu: f64,
        read_noise_e: f64,
        sensitivity_noise: f64,
    },
}

/// A sigma-type rejection: values below centre - low*spread or above centre + high*spread (strictly) go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SigmaRule {
    pub low: f64,
    pub high: f64,
    pub centre: Centre,
    pub spread: Spread,
    /// `None`: iterate until nothing changes (IRAF); ccdproc compatibility always makes one pass.
    pub max_iterations: Option<usize>,
}

/// How many values a sigma-type rule must leave (IRAF's nkeep: positive, or negative for a maximum
/// number rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    AtLeast(usize),
    RejectAtMost(usize),
}

impl Default for Keep {
    fn default() -> Self {
        Keep::AtLeast(0)
    }
}

impl Keep {
    /// IRAF's signed nkeep.
    pub fn from_nkeep(nkeep: i64) -> Keep {
        if nkeep < 0 {
            Keep::RejectAtMost(nkeep.unsigned_abs() as usize)
        } else {
            Keep::AtLeast(nkeep as usize)
        }
    }

    /// IRAF's signed nkeep.
    pub fn nkeep(self) -> i64 {
        match self {
            Keep::AtLeast(k) => k as i64,
            Keep::RejectAtMost(k) => -(k as i64),
        }
    }

    /// The least number of the `n` values to keep.
    pub fn min_kept(self, n: usize) -> usize {
        match self {
            Keep::AtLeast(k) => k.min(n),
            Keep::RejectAtMost(k) => n.saturating_sub(k),
        }
    }
}

/// Header keywords the CCD noise model reads per frame instead of one number for all (IRAF's
/// `gain=!GAIN` and the like; IRAF semantics).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NoiseKeywords {
    pub gain: Option<String>,
    pub read_noise: Option<String>,
    pub snoise: Option<String>,
}

/// Rejection rules, applied in IRAF/ccdproc order: thresholds, extrema, the sigma-type rule, grow.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Raw values below this are rejected (before scaling).
    pub min_clip: Option<f64>,
    /// Raw values above this are rejected (before scaling).
    pub max_clip: Option<f64>,
    /// Number of lowest values rejected.
    pub nlow: usize,
    /// Number of highest values rejected.
    pub nhigh: usize,
    pub sigma: Option<SigmaRule>,
    /// Radius in pixels around a rejected pixel within which that frame's pixels are rejected too.
    pub grow_radius_px: f64,
    /// The sigma-type rule never leaves fewer values than this (IRAF nkeep); rejected values nearest
    /// the centre come back first.
    pub nkeep: Keep,
    /// IRAF sigscale: the clipping rules correct for the scaling only when a scale factor differs
    /// from 1 by more than this (IRAF semantics; IRAF's default is 0.1).
    pub sigscale: f64,
    pub noise_keywords: NoiseKeywords,
}

impl SigmaRule {
    /// skycomb's default clip for masters and stacks, chosen by benches/clip_rules.rs (README):
    /// 3.5 sigma below and 3 above the median (cosmic rays and trails are bright), the spread
    /// 1.4826 MAD floored at the frames' noise from frame to frame, iterated.
    pub fn default_clip() -> SigmaRule {
        SigmaRule {
            low: 3.5,
            high: 3.0,
            centre: Centre::Median,
            spread: Spread::MadStdFloor,
            max_iterations: None,
        }
    }
}

impl Default for Rejection {
    fn default() -> Self {
        Rejection {
            min_clip: None,
            max_clip: None,
            nlow: 0,
            nhigh: 0,
            sigma: None,
            grow_radius_px: 0.0,
            nkeep: Keep::default(),
            sigscale: 0.1,
            noise_keywords: NoiseKeywords::default(),
        }
    }
}

impl Rejection {
    /// True when no rule can reject anything.
    pub fn is_none(&self) -> bool {
        self.min_clip.is_none()
            && self.max_clip.is_none()
            && self.nlow == 0
            && self.nhigh == 0
            && self.sigma.is_none()
    }

    /// A short description for headers and logs, e.g. `minmax(-25,25) extrema(1,1) sigclip(5,5,median,mad_std)`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.min_clip.is_some() || self.max_clip.is_some() {
            let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            parts.push(format!(
                "thresholds({},{})",
                f(self.min_clip),
                f(self.max_clip)
            ));
        }
        if self.nlow > 0 || self.nhigh > 0 {
            parts.push(format!("extrema({},{})", self.nlow, self.nhigh));
        }
        if let Some(s) = &self.sigma {
            let centre = match s.centre {
                Centre::Median => "median",
                Centre::Mean => "mean",
            };
            let spread = match s.spread {
                Spread::Std => "std".to_string(),
                Spread::MadStd => "mad_std".to_string(),
                Spread::Percentile(p) => format!("pclip {p}"),
                Spread::PoissonScaled => "avsigclip".to_string(),
                Spread::Winsorized => "winsorized".to_string(),
                Spread::MadStdFloor => "mad_std_floor".to_string(),
                Spread::LinearFit => "linear fit".to_string(),
                Spread::Gesd {
                    max_outliers,
                    alpha,
                } => format!("gesd {max_outliers} alpha {alpha}"),
                Spread::CcdNoise {
                    gain_e_per_adu,
                    read_noise_e,
                    sensitivity_noise,
                } => {
                    format!("ccdclip g={gain_e_per_adu} rn={read_noise_e} sn={sensitivity_noise}")
                }
            };
            let iters = s
                .max_iterations
                .map(|m| m.to_string())
                .unwrap_or_else(|| "converge".into());
            parts.push(format!(
                "sigma({},{},{centre},{spread},iters {iters})",
                s.low, s.high
            ));
        }
        if self.grow_radius_px > 0.0 {
            parts.push(format!("grow({})", self.grow_radius_px));
        }
        if self.nkeep != Keep::AtLeast(0) {
            parts.push(format!("nkeep({})", self.nkeep.nkeep()));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(" ")
        }
    }
}

/// Multiplicative scaling applied to each frame's values: `scaled = raw * factor + zero`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scale {
    #[default]
    None,
    /// 1 / median of the frame (over the statistics section): ccdproc's inv_median, for flats.
    InvMedian,
    /// 1 / mean of the frame.
    InvMean,
    /// 1 / mode of the frame (IRAF's mode estimator).
    InvMode,
    /// A factor per frame from this header keyword (IRAF `scale=!KEYWORD`).
    Keyword(String),
    /// Siril's normalisation to the first frame from robust location and scale estimators; sets
    /// the zero offsets too.
    Normalise(Normalisation),
    /// mean(EXPTIME) / EXPTIME of the frame, from this header keyword.
    Exptime(String),
    /// One factor per frame.
    Given(Vec<f64>),
}

/// Additive offsets applied after scaling.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Zero {
    #[default]
    None,
    /// mean over frames of the scaled medians minus this frame's scaled median.
    Median,
    /// The same with means.
    Mean,
    /// The same with modes.
    Mode,
    /// One offset per frame.
    Given(Vec<f64>),
}

/// Weights of the frames in an average (ignored by median and sum).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Weights {
    #[default]
    None,
    /// From this header keyword.
    Keyword(String),
    /// One weight per frame.
    Given(Vec<f64>),
    /// Proportional to a statistic of the frame (IRAF `weight=mode|median|mean`).
    Statistic(Statistic),
    /// Proportional to the exposure time in this keyword (IRAF `weight=exposure`).
    Exptime(String),
    /// 1 / (scale factor x background noise)^2, normalised to a mean of 1 (Siril's noise weights).
    InverseNoise,
}

/// Siril's normalisations: each frame's location L (the median of the pixels within 6 MAD of the
/// median) and scale S (0.991 sqrt of the biweight midvariance), to frame 1's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalisation {
    /// x - (L_i - L_1).
    Add,
    /// x L_1 / L_i.
    Mul,
    /// (x - L_i) S_1 / S_i + L_1.
    AddScale,
    /// x (L_1 / L_i) (S_1 / S_i).
    MulScale,
}

/// A frame statistic for scaling, offsets or weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Mode,
    Median,
    Mean,
}

/// Whose rules the combination follows where the two disagree (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Semantics {
    /// skycomb's own: IRAF's order (rejection on scaled values, each rule among the values earlier
    /// rules kept, weights renormalised over survivors, sigma rule iterated) with any combination
    /// of rules, NaN as missing values and double precision.
    #[default]
    Skycomb,
    /// IRAF 2.17 imcombine exactly (single precision, its algorithms and quirks; see the README).
    Iraf,
    /// ccdproc.combine exactly: every rule on all unscaled values, masks OR'ed, one sigma pass,
    /// extrema counting masked and NaN values (NaN highest), weight denominator over all frames.
    Ccdproc,
}

/// Everything that decides a combination.
#[derive(Debug, Clone, PartialEq)]
pub struct CombineParams {
    pub method: Method,
    pub rejection: Rejection,
    pub scale: Scale,
    pub zero: Zero,
    pub weights: Weights,
    /// Where scaling statistics are measured (default: the whole frame).
    pub stat_section: Option<Section>,
    pub semantics: Semantics,
    /// Value of pixels where nothing survives (default NaN; ccdproc compat: NaN, or 0 for sum).
    pub blank: f32,
    /// IRAF's `lmedian`: the median of two values is one of them, not their mean (IRAF semantics).
    pub median_low: bool,
    /// The noise model combine=nmodel reports (IRAF semantics).
    pub noise_model: Option<NoiseModel>,
    /// Bytes the row bands may use (inputs of a band plus work and output rows).
    pub memory_limit_bytes: usize,
    /// Also compute the sigma map (standard error of each combined value).
    pub sigma_map: bool,
    /// Hand every input's reason code at every pixel to the sink (for rejection and exposure masks).
    pub frame_reasons: bool,
    /// The npix map counts the frames covering each pixel (finite values, rejected or not) instead
    /// of the values used; the dithered stack's npix map means this.
    pub npix_coverage: bool,
    /// Use only the scalar kernel (tests compare it with the eight-pixel lane path).
    #[doc(hidden)]
    pub scalar_only: bool,
    /// Use the portable lane kernel rather than the AVX one (tests compare them).
    #[doc(hidden)]
    pub portable_lanes: bool,
}

impl Default for CombineParams {
    fn default() -> Self {
        CombineParams {
            method: Method::Average,
            rejection: Rejection::default(),
            scale: Scale::None,
            zero: Zero::None,
            weights: Weights::None,
            stat_section: None,
            semantics: Semantics::Skycomb,
            blank: f32::NAN,
            median_low: false,
            noise_model: None,
            memory_limit_bytes: 350_000_000,
            sigma_map: false,
            frame_reasons: false,
            npix_coverage: false,
            scalar_only: false,
            portable_lanes: false,
        }
    }
}

impl CombineParams {
    /// What only IRAF semantics has, and what IRAF imcombine cannot do.
    fn validate_semantics(&self, n: usize) -> Result<()> {
        let r = &self.rejection;
        let keywords = r.noise_keywords != NoiseKeywords::default();
        if matches!(self.scale, Scale::Normalise(_)) && self.zero != Zero::None {
            return Err(Error::Invalid(
                "a normalisation sets the zero offsets itself: leave zero offsets none".into(),
            ));
        }
        if self.semantics == Semantics::Iraf
            && (matches!(self.scale, Scale::Normalise(_)) || self.weights == Weights::InverseNoise)
        {
            return Err(Error::Invalid(
                "IRAF imcombine has no normalisation or noise weights (Siril's)".into(),
            ));
        }
        if self.semantics != Semantics::Iraf {
            if matches!(self.method, Method::Quadrature | Method::NoiseModel) {
                return Err(Error::Invalid(
                    "quadrature and nmodel are IRAF's: use IRAF semantics (skycomb imcombine)"
                        .into(),
                ));
            }
            if r.sigma.is_some_and(|s| s.spread == Spread::PoissonScaled) {
                return Err(Error::Invalid(
                    "avsigclip estimates its scale over image rows as IRAF does: use IRAF semantics (--compat iraf or skycomb imcombine)".into(),
                ));
            }
            if keywords {
                return Err(Error::Invalid(
                    "gain, read noise or snoise from each frame's header: use IRAF semantics (--compat iraf or skycomb imcombine)".into(),
                ));
            }
            return Ok(());
        }
        if let Some(s) = &r.sigma {
            if r.nlow > 0 || r.nhigh > 0 {
                return Err(Error::Invalid(
                    "IRAF imcombine rejects by one algorithm: minmax (nlow/nhigh) or a clip, not both".into(),
                ));
            }
            if matches!(
                s.spread,
                Spread::MadStd
                    | Spread::Winsorized
                    | Spread::MadStdFloor
                    | Spread::LinearFit
                    | Spread::Gesd { .. }
            ) {
                return Err(Error::Invalid(format!(
                    "IRAF imcombine has no {} rule: its clips are sigclip, avsigclip, ccdclip, crreject and pclip",
                    Rejection {
                        sigma: Some(*s),
                        ..Default::default()
                    }
                    .describe()
                )));
            }
            if s.max_iterations.is_some() {
                return Err(Error::Invalid(
                    "IRAF imcombine iterates its clips until nothing changes: no iteration limit"
                        .into(),
                ));
            }
        }
        if r.sigma.is_none() && r.nlow + r.nhigh > 0 && r.nlow + r.nhigh >= n {
            return Err(Error::Invalid(format!(
                "minmax: nlow {} + nhigh {} must be fewer than the {n} images (IRAF: bad minmax rejection parameters)",
                r.nlow, r.nhigh
            )));
        }
        if self.method == Method::NoiseModel && self.noise_model.is_none() {
            return Err(Error::Invalid(
                "combine=nmodel needs the noise model (gain, rdnoise, snoise)".into(),
            ));
        }
        if r.nlow + r.nhigh > 0 && r.sigma.is_none() && keywords && self.noise_model.is_none() {
            return Err(Error::Invalid(
                "gain, read noise and snoise belong to ccdclip and crreject".into(),
            ));
        }
        Ok(())
    }

    /// Check the parameters make sense for `n` frames.
    pub fn validate(&self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::Invalid("nothing to combine: no input frames".into()));
        }
        if n > u16::MAX as usize {
            return Err(Error::Invalid(format!(
                "{n} frames: at most {} can be combined at once",
                u16::MAX
            )));
        }
        let per_frame = |what: &str, len: usize| {
            if len != n {
                return Err(Error::Invalid(format!(
                    "{what}: {len} values given for {n} frames"
                )));
            }
            Ok(())
        };
        if let Scale::Given(v) = &self.scale {
            per_frame("scale", v.len())?;
        }
        if let Zero::Given(v) = &self.zero {
            per_frame("zero", v.len())?;
        }
        if let Weights::Given(v) = &self.weights {
            per_frame("weights", v.len())?;
        }
        if let Some(s) = &self.rejection.sigma {
            if !(s.low > 0.0 && s.high > 0.0) {
                return Err(Error::Invalid("sigma thresholds must be positive".into()));
            }
            let iraf = self.semantics == Semantics::Iraf;
            if let Spread::Percentile(p) = s.spread
                && !(p.is_finite() && p != 0.0 && (iraf || (p > -1.0 && p < 1.0)))
            {
                return Err(Error::Invalid(format!(
                    "pclip {p}: must lie in -1..1 and not be 0 (IRAF semantics: or a number of values)"
                )));
            }
            if let Spread::CcdNoise {
                gain_e_per_adu,
                read_noise_e,
                ..
            } = s.spread
                && (gain_e_per_adu <= 0.0 || read_noise_e < 0.0)
            {
                return Err(Error::Invalid(
                    "ccdclip needs a positive gain and a read noise >= 0".into(),
                ));
            }
        }
        if self.rejection.grow_radius_px < 0.0 {
            return Err(Error::Invalid("grow radius must be >= 0".into()));
        }
        self.validate_semantics(n)?;
        if self.semantics == Semantics::Ccdproc {
            let r = &self.rejection;
            if r.grow_radius_px > 0.0
                || r.nkeep != Keep::AtLeast(0)
                || r.sigma
                    .is_some_and(|s| !matches!(s.spread, Spread::Std | Spread::MadStd))
            {
                return Err(Error::Invalid(
                    "--compat ccdproc has no grow, nkeep, and no clip but sigma clipping (std or mad_std)".into(),
                ));
            }
            if !matches!(self.zero, Zero::None) {
                return Err(Error::Invalid(
                    "--compat ccdproc has no zero offsets".into(),
                ));
            }
            if matches!(self.scale, Scale::Normalise(_)) || self.weights == Weights::InverseNoise {
                return Err(Error::Invalid(
                    "--compat ccdproc has no normalisation or noise weights".into(),
                ));
            }
        }
        Ok(())
    }
}
