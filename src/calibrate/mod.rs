//! Calibrating a night: the plan derived from the headers (master bias, darks per EXPTIME, flats per
//! filter, and which masters each science frame gets), then masters and calibrated frames, streamed.

pub mod frame;
pub mod overscan;

pub use frame::{CalibratedInput, Master};
pub use overscan::{Lines, OverscanParams, OverscanRegion, OverscanStat, TrimRegion};

use crate::collection::{Collection, FrameKind, FrameSummary};
use crate::combine::{
    CombineParams, FileInput, OutputPaths, Scale, Semantics, SigmaRule, Spread, StackInput,
    combine_to_files,
};
use crate::error::{Error, Result};
use crate::fits::{StreamingWriter, WriteOptions};
use crate::progress::Progress;
use crate::stats::Centre;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Which dark a flat or science frame gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DarkMatch {
    /// The master dark nearest in exposure time (scaled to the frame's).
    #[default]
    Nearest,
    /// Always the longest master dark, scaled (the ccdproc guide's choice for short flats).
    Longest,
}

/// Everything that decides a night's calibration.
#[derive(Debug, Clone)]
pub struct CalibrateParams {
    pub overscan: OverscanParams,
    pub bias: CombineParams,
    pub dark: CombineParams,
    pub flat: CombineParams,
    pub dark_match: DarkMatch,
    /// Calibrate the science frames that have every master they need and report the others,
    /// instead of refusing to start.
    pub allow_missing: bool,
    pub overwrite: bool,
}

impl CalibrateParams {
    /// Masters as each semantics has them, flats scaled by the inverse of their medians (IRAF: by
    /// their modes): skycomb's default clip (README, benches/clip_rules.rs); ccdproc's reduction
    /// guide (an average with a 5/5 sigma clip, median centre, mad_std, one pass); IRAF ccdred's
    /// zerocombine/darkcombine (minmax, the highest value) and flatcombine (avsigclip).
    pub fn guide(semantics: Semantics, memory_limit_bytes: usize) -> CalibrateParams {
        let with = |rejection: crate::combine::Rejection| CombineParams {
            rejection,
            semantics,
            memory_limit_bytes,
            ..Default::default()
        };
        let clip = |sigma: SigmaRule| crate::combine::Rejection {
            sigma: Some(sigma),
            ..Default::default()
        };
        let (base, flat) = match semantics {
            Semantics::Skycomb => {
                let b = with(clip(SigmaRule::default_clip()));
                (b.clone(), b)
            }
            Semantics::Ccdproc => {
                let b = with(clip(SigmaRule {
                    low: 5.0,
                    high: 5.0,
                    centre: Centre::Median,
                    spread: Spread::MadStd,
                    max_iterations: Some(1),
                }));
                (b.clone(), b)
            }
            Semantics::Iraf => (
                with(crate::combine::Rejection {
                    nhigh: 1,
                    ..Default::default()
                }),
                with(clip(SigmaRule {
                    spread: Spread::PoissonScaled,
                    ..SigmaRule::default_clip()
                })),
            ),
        };
        let flat_scale = if semantics == Semantics::Iraf {
            Scale::InvMode
        } else {
            Scale::InvMedian
        };
        CalibrateParams {
            overscan: OverscanParams::default(),
            bias: base.clone(),
            dark: base,
            flat: CombineParams {
                scale: flat_scale,
                ..flat
            },
            dark_match: DarkMatch::Nearest,
            allow_missing: false,
            overwrite: false,
        }
    }
}

/// One science frame and the masters it will get.
#[derive(Debug, Clone)]
pub struct LightPlan {
    pub path: PathBuf,
    pub filter: String,
    pub exptime_s: Option<f64>,
    /// Exposure time of the master dark it gets.
    pub dark_s: Option<f64>,
    /// Filter of the master flat it gets.
    pub flat: Option<String>,
}

/// What will be built and used, from the headers alone.
#[derive(Debug, Clone, Default)]
pub struct NightPlan {
    pub biases: Vec<PathBuf>,
    /// (EXPTIME, frames), shortest first.
    pub darks: Vec<(f64, Vec<PathBuf>)>,
    /// (filter, frames, EXPTIME of the dark they get).
    pub flats: Vec<(String, Vec<PathBuf>, Option<f64>)>,
    pub lights: Vec<LightPlan>,
    /// Files that are not calibrated, and why (not a bias/dark/flat/light).
    pub ignored: Vec<(PathBuf, String)>,
    /// What is missing: science frames with no master of a kind the night has.
    pub missing: Vec<String>,
    /// Steps skipped because the night has no frames of that kind.
    pub notes: Vec<String>,
}

fn filter_of(f: &FrameSummary) -> String {
    f.filter().unwrap_or_else(|| "none".into())
}

fn pick_dark(darks: &[(f64, Vec<PathBuf>)], t: Option<f64>, how: DarkMatch) -> Option<f64> {
    match how {
        DarkMatch::Longest => darks.last().map(|d| d.0),
        DarkMatch::Nearest => {
            let t = t.unwrap_or(0.0);
            darks
                .iter()
                .map(|d| d.0)
                .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()).then(b.total_cmp(a)))
        }
    }
}

/// Derive the plan from a scanned night.
pub fn plan_night(c: &Collection, dark_match: DarkMatch) -> NightPlan {
    let mut plan = NightPlan::default();
    for f in &c.frames {
        match f.kind {
            FrameKind::Bias => plan.biases.push(f.path.clone()),
            FrameKind::Dark => match f.exptime_s() {
                Some(t) => match plan.darks.iter_mut().find(|d| d.0 == t) {
                    Some(d) => d.1.push(f.path.clone()),
                    None => plan.darks.push((t, vec![f.path.clone()])),
                },
                None => plan.ignored.push((
                    f.path.clone(),
                    format!(
                        "a dark with {}: it cannot be matched or scaled",
                        f.exptime_problem()
                    ),
                )),
            },
            FrameKind::Flat | FrameKind::Light => {}
            other => plan.ignored.push((
                f.path.clone(),
                format!("IMAGETYP {:?} ({})", f.text("IMAGETYP"), other.name()),
            )),
        }
    }
    plan.darks.sort_by(|a, b| a.0.total_cmp(&b.0));
    for f in c.frames.iter().filter(|f| f.kind == FrameKind::Flat) {
        let filt = filter_of(f);
        let dark = pick_dark(&plan.darks, f.exptime_s(), dark_match);
        match plan.flats.iter_mut().find(|g| g.0 == filt) {
            Some(g) => g.1.push(f.path.clone()),
            None => plan.flats.push((filt, vec![f.path.clone()], dark)),
        }
    }
    for f in c.frames.iter().filter(|f| f.kind == FrameKind::Light) {
        let filter = filter_of(f);
        if f.exptime_s().is_none() && !plan.darks.is_empty() {
            plan.missing.push(format!(
                "{}: {}, so no dark can be scaled to it",
                f.file,
                f.exptime_problem()
            ));
        }
        let flat = plan
            .flats
            .iter()
            .find(|g| g.0 == filter)
            .map(|g| g.0.clone());
        if flat.is_none() && !plan.flats.is_empty() {
            let have: Vec<&str> = plan.flats.iter().map(|g| g.0.as_str()).collect();
            plan.missing.push(format!(
                "{}: no flat for filter {filter} (flats exist for {})",
                f.file,
                have.join(", ")
            ));
        }
        plan.lights.push(LightPlan {
            path: f.path.clone(),
            filter,
            exptime_s: f.exptime_s(),
            dark_s: f
                .exptime_s()
                .and_then(|t| pick_dark(&plan.darks, Some(t), dark_match)),
            flat,
        });
    }
    if plan.biases.is_empty() {
        plan.notes
            .push("no bias frames: no bias is subtracted".into());
    }
    if plan.darks.is_empty() {
        plan.notes
            .push("no dark frames: no dark current is subtracted".into());
    }
    if plan.flats.is_empty() {
        plan.notes
            .push("no flat frames: nothing is flat-fielded".into());
    }
    if plan.lights.is_empty() {
        plan.notes
            .push("no science (light) frames: only masters are built".into());
    }
    plan
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `300s`, `2.5s`.
fn seconds_label(t: f64) -> String {
    format!("{t}s")
}

/// A file-name-safe form of a filter name.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A filter name's safe form with a short hash of the real name (`R/V` -> `R_V-3c1e`).
fn hashed_label(filter: &str) -> String {
    let s = safe(filter);
    // FNV-1a, folded to 16 bits: stable across runs and machines
    let h = filter.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!(
        "{s}-{:04x}",
        (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xffff
    )
}

/// Output names: `master_bias.fits`, `master_dark_300s.fits`, `master_flat_R.fits`.
pub fn master_name(kind: &str, label: &str) -> String {
    if label.is_empty() {
        format!("master_{kind}.fits")
    } else {
        format!("master_{kind}_{}.fits", safe(label))
    }
}

impl NightPlan {
    /// The master flat's file name for `filter`: its safe form (`master_flat_R.fits`), and where
    /// two of the night's filters share a safe form (`R/V` and `R_V`), the changed one also gets a
    /// short hash of its real name, so no master replaces another.
    pub fn flat_master_name(&self, filter: &str) -> String {
        let s = safe(filter);
        let shared = self.flats.iter().filter(|g| safe(&g.0) == s).count() > 1;
        if shared && s != filter {
            master_name("flat", &hashed_label(filter))
        } else {
            master_name("flat", filter)
        }
    }

    /// The plan as a person reads it before anything runs.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let names = |v: &[PathBuf]| v.iter().map(|p| file_name(p)).collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            s,
            "master bias  <- {} frame(s): {}",
            self.biases.len(),
            names(&self.biases)
        );
        for (t, v) in &self.darks {
            let _ = writeln!(
                s,
                "master dark {:<6} <- {} frame(s), bias-subtracted: {}",
                seconds_label(*t),
                v.len(),
                names(v)
            );
        }
        for (f, v, d) in &self.flats {
            let dark = d
                .map(|t| format!(", dark {} scaled", seconds_label(t)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "master flat {f:<6} -> {} <- {} frame(s), bias{dark}, inverse-median scaled: {}",
                self.flat_master_name(f),
                v.len(),
                names(v)
            );
        }
        for l in &self.lights {
            let dark = l
                .dark_s
                .map(|t| {
                    format!(
                        " dark {} x {}",
                        seconds_label(t),
                        l.exptime_s.unwrap_or(0.0) / t
                    )
                })
                .unwrap_or_default();
            let flat = l
                .flat
                .as_ref()
                .map(|f| format!(" flat {f}"))
                .unwrap_or_else(|| " (no flat)".into());
            let bias = if self.biases.is_empty() { "" } else { " bias" };
            let _ = writeln!(
                s,
                "science {:<28} filter {:<6}:{bias}{dark}{flat}",
                file_name(&l.path),
                l.filter
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        for (p, why) in &self.ignored {
            let _ = writeln!(s, "ignored: {} ({why})", file_name(p));
        }
        for m in &self.missing {
            let _ = writeln!(s, "MISSING: {m}");
        }
        s
    }
}

/// What a calibration run wrote and what went wrong on the way.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CalibrationReport {
    pub masters: Vec<PathBuf>,
    /// What each master's combination did, in the order of `masters`.
    pub summaries: Vec<crate::combine::CombineSummary>,
    pub calibrated: Vec<PathBuf>,
    /// Frames that could not be calibrated, with the reason (the run goes on past them).
    pub problems: Vec<String>,
    pub seconds: f64,
}

pub fn calibrated_inputs(
    paths: &[PathBuf],
    p: &CalibrateParams,
    bias: Option<&Master>,
    dark: Option<&Master>,
) -> Result<Vec<CalibratedInput>> {
    paths
        .iter()
        .map(|path| {
            let mut c = CalibratedInput::new(FileInput::open(path)?, &p.overscan)?;
            if let Some(b) = bias {
                c = c.with_bias(b.clone())?;
            }
            if let Some(d) = dark {
                c = c.with_dark(d.clone())?;
            }
            Ok(c)
        })
        .collect()
}

/// Combine the calibrated `paths` into the master `out`, note it in the report, and read it back.
fn build_master(
    paths: &[PathBuf],
    params: &CombineParams,
    p: &CalibrateParams,
    out: &Path,
    inputs: (Option<&Master>, Option<&Master>),
    progress: &Progress,
    report: &mut CalibrationReport,
) -> Result<Master> {
    let inputs = calibrated_inputs(paths, p, inputs.0, inputs.1)?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let summary = combine_to_files(
        &refs,
        params,
        &OutputPaths {
            image: out.into(),
            overwrite: p.overwrite,
            ..Default::default()
        },
        progress,
    )?;
    report.masters.push(out.into());
    report.summaries.push(summary);
    Master::open(out)
}

/// A master flat must carry light: every flat's scale factor finite and above 0 (a flat whose median
/// after bias and dark is 0 or below has none), and the master's median far above its pixel-to-pixel
/// noise (a "flat" that equals the bias within the noise has none). Otherwise the flat is refused,
/// naming its files, and its master removed: dividing by it would fill the science with NaN and
/// nonsense.
fn check_flat_signal(
    filter: &str,
    paths: &[PathBuf],
    summary: &crate::combine::CombineSummary,
    master: &Master,
    out: &Path,
) -> Result<()> {
    let refuse = |why: String| {
        let _ = std::fs::remove_file(out);
        Err(Error::Invalid(format!(
            "the flats of filter {filter} carry no light ({why}): {}; not used",
            paths
                .iter()
                .map(|p| file_name(p))
                .collect::<Vec<_>>()
                .join(" ")
        )))
    };
    let bad: Vec<String> = paths
        .iter()
        .zip(&summary.scale)
        .filter(|(_, s)| !(s.is_finite() && **s > 0.0))
        .map(|(p, s)| format!("{} scale {s}", file_name(p)))
        .collect();
    if !bad.is_empty() {
        return refuse(format!(
            "scale factors that are not finite and above 0: {}",
            bad.join(", ")
        ));
    }
    // a sample of rows (every k-th, at most 256) for the median and the pixel-to-pixel noise
    let ny = master.shape().0;
    let step = ny.div_ceil(256).max(1);
    let (mut values, mut diffs) = (Vec::new(), Vec::new());
    for y in (0..ny).step_by(step) {
        let row = master.rows(y..y + 1)?;
        let row = row.row(0);
        values.extend(row.iter().copied().filter(|v| v.is_finite()));
        // noise from neighbouring pixels' differences: vignetting and gradients do not count
        diffs.extend(
            row.windows(2)
                .into_iter()
                .map(|w| w[1] - w[0])
                .filter(|d| d.is_finite()),
        );
    }
    let median = crate::stats::median_mut(&mut values).unwrap_or(f64::NAN);
    let noise = crate::stats::mad_std(&diffs).unwrap_or(0.0) / std::f64::consts::SQRT_2;
    if !(median.is_finite() && median > 0.0 && median > FLAT_SIGNAL_TO_NOISE * noise) {
        return refuse(format!(
            "the master's median is {median:.4} with a pixel noise of {noise:.4}: a flat needs \
             its level above {FLAT_SIGNAL_TO_NOISE} times its noise"
        ));
    }
    Ok(())
}

/// A master flat's level must be this many times its pixel-to-pixel noise.
const FLAT_SIGNAL_TO_NOISE: f64 = 5.0;

/// Write one calibrated science frame, band by band.
fn write_calibrated(
    input: &CalibratedInput,
    out: &Path,
    overwrite: bool,
    band_rows: usize,
    progress: &Progress,
) -> Result<()> {
    crate::fits::refuse_inputs(out, std::slice::from_ref(&input.raw.path))?;
    let (ny, nx) = input.shape();
    let mut header = input.header().clone();
    header.add_history(
        "skycomb calibrate: overscan, trim, bias, dark, flat as ZEROCOR/DARKCOR/FLATCOR say",
    );
    let mut w = StreamingWriter::create(out, nx, ny, &header, WriteOptions { overwrite })?;
    let mut y = 0;
    while y < ny {
        progress.check()?;
        let rows = y..(y + band_rows).min(ny);
        w.write_rows(input.read_rows(rows.clone())?.view())?;
        y = rows.end;
    }
    w.finish()
}

/// Build the masters and calibrate the science frames of `plan` into `out_dir` (never the raw folder).
pub fn run_calibration(
    plan: &NightPlan,
    raw_dir: &Path,
    out_dir: &Path,
    p: &CalibrateParams,
    progress: &Progress,
) -> Result<CalibrationReport> {
    let t0 = std::time::Instant::now();
    if !plan.missing.is_empty() && !p.allow_missing {
        return Err(Error::Invalid(format!(
            "cannot calibrate: {}",
            plan.missing.join("; ")
        )));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, "cannot create folder", e))?;
    if let (Ok(a), Ok(b)) = (out_dir.canonicalize(), raw_dir.canonicalize())
        && a == b
    {
        return Err(Error::Invalid(format!(
            "{}: the output folder is the raw folder; choose another so raw data stay untouched",
            out_dir.display()
        )));
    }
    let mut report = CalibrationReport::default();
    let bias = if plan.biases.is_empty() {
        None
    } else {
        let path = out_dir.join(master_name("bias", ""));
        Some(build_master(
            &plan.biases,
            &p.bias,
            p,
            &path,
            (None, None),
            progress,
            &mut report,
        )?)
    };
    let mut darks: Vec<(f64, Master)> = Vec::new();
    for (t, paths) in &plan.darks {
        let path = out_dir.join(master_name("dark", &seconds_label(*t)));
        darks.push((
            *t,
            build_master(
                paths,
                &p.dark,
                p,
                &path,
                (bias.as_ref(), None),
                progress,
                &mut report,
            )?,
        ));
    }
    let dark_for = |t: Option<f64>| t.and_then(|t| darks.iter().find(|d| d.0 == t).map(|d| &d.1));
    let mut flats: Vec<(String, Master)> = Vec::new();
    for (filter, paths, dark_t) in &plan.flats {
        let path = out_dir.join(plan.flat_master_name(filter));
        let master = build_master(
            paths,
            &p.flat,
            p,
            &path,
            (bias.as_ref(), dark_for(*dark_t)),
            progress,
            &mut report,
        )?;
        let summary = report
            .summaries
            .last()
            .expect("build_master adds a summary");
        check_flat_signal(filter, paths, summary, &master, &path)?;
        flats.push((filter.clone(), master));
    }
    // a science frame's band: its reads (raw rows, masters' rows, result) and the writer's buffers
    let band_rows = |c: &CalibratedInput| {
        let per_row = c.shape().1 * (c.read_bytes_per_pixel() + 3 * 4);
        let budget = p
            .bias
            .memory_limit_bytes
            .saturating_sub(crate::combine::PROCESS_BASELINE_BYTES);
        (budget / per_row.max(1)).max(1)
    };
    progress.begin("calibrating science frames", plan.lights.len() as u64);
    for l in &plan.lights {
        progress.check()?;
        let flat = l
            .flat
            .as_ref()
            .and_then(|f| flats.iter().find(|g| &g.0 == f))
            .map(|g| g.1.clone());
        if flat.is_none() && !flats.is_empty() {
            report.problems.push(format!(
                "{}: skipped, no flat for filter {}",
                file_name(&l.path),
                l.filter
            ));
            progress.advance(1);
            continue;
        }
        let stem = file_name(&l.path);
        let stem = stem
            .trim_end_matches(".gz")
            .trim_end_matches(".fz")
            .trim_end_matches(".fits")
            .trim_end_matches(".fit")
            .trim_end_matches(".fts");
        let out = out_dir.join(format!("{stem}.fits"));
        let result = calibrated_inputs(
            std::slice::from_ref(&l.path),
            p,
            bias.as_ref(),
            dark_for(l.dark_s),
        )
        .and_then(|mut v| {
            let c = v.remove(0);
            match flat {
                Some(f) => c.with_flat(f),
                None => Ok(c),
            }
        })
        .and_then(|c| write_calibrated(&c, &out, p.overwrite, band_rows(&c), progress));
        match result {
            Ok(()) => report.calibrated.push(out),
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(e) => report.problems.push(e.to_string()),
        }
        progress.advance(1);
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}
