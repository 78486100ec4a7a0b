//! Measuring from the command line: `centroid`, `detect`, `offsets`, `photometry`. Coordinates in
//! and out are FITS 1-based (ds9); inside the core they are 0-based.

use super::progress_line::with_progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use skycomb::photometry::{AnnulusStat, ApertureParams, measure_all};
use skycomb::register::centroid::{Background, CentroidMethod, CentroidParams, centroid};
use skycomb::register::detect::{detect_within, search_section};
use skycomb::register::offsets::write_offsets;
use skycomb::register::transform::TransformKind;
use skycomb::register::{DetectParams, OffsetSource, offsets_of_files};
use std::path::PathBuf;

/// `X,Y` (FITS 1-based) to 0-based.
fn parse_xy(s: &str) -> Result<(f64, f64)> {
    Ok(skycomb::recipe::options::parse_xy(s)?)
}

#[derive(Debug, Args)]
pub struct CentroidArgs {
    pub file: PathBuf,
    /// The clicked position, FITS 1-based: X,Y.
    #[arg(long)]
    pub at: String,
    /// Box side in pixels.
    #[arg(long, default_value_t = 15)]
    pub r#box: usize,
    /// com, 1dg, 2dg or quadratic.
    #[arg(long, default_value = "2dg")]
    pub method: String,
    /// Background from an annulus R1,R2 (pixels) instead of the box edges.
    #[arg(long)]
    pub annulus: Option<String>,
    /// Saturation level (ADU) [default: SATURATE from the header].
    #[arg(long)]
    pub saturation: Option<f64>,
    #[arg(long)]
    pub json: bool,
}

fn radii(s: &str) -> Result<(f64, f64)> {
    let (a, b) = s
        .split_once(',')
        .with_context(|| format!("{s:?}: expected R1,R2"))?;
    let (a, b): (f64, f64) = (a.trim().parse()?, b.trim().parse()?);
    anyhow::ensure!(0.0 <= a && a < b, "annulus {s:?}: need 0 <= R1 < R2");
    Ok((a, b))
}

pub fn centroid_run(a: &CentroidArgs) -> Result<()> {
    let f = skycomb::Frame::open(&a.file)?;
    let (x, y) = parse_xy(&a.at)?;
    let background = match &a.annulus {
        Some(s) => {
            let (r_in, r_out) = radii(s)?;
            Background::Annulus { r_in, r_out }
        }
        None => Background::BoxEdges,
    };
    let p = CentroidParams {
        method: a.method.parse::<CentroidMethod>()?,
        box_size: a.r#box,
        background,
        max_iterations: 5,
        saturation: a.saturation.or_else(|| f.header.get_f64("SATURATE")),
    };
    let c = centroid(f.data.view(), &f.name(), x, y, &p)?;
    if a.json {
        let j = json!({"x": c.x + 1.0, "y": c.y + 1.0, "x_err": c.x_err, "y_err": c.y_err, "fwhm": c.fwhm, "peak": c.peak, "background": c.background, "flux": c.flux, "flag": c.flag});
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        println!(
            "x {:.3} +- {:.3}  y {:.3} +- {:.3}  fwhm {:.2}  peak {:.1}  background {:.1}  flux {:.1}  {:?}",
            c.x + 1.0,
            c.x_err,
            c.y + 1.0,
            c.y_err,
            c.fwhm,
            c.peak,
            c.background,
            c.flux,
            c.flag
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    pub file: PathBuf,
    /// Detection threshold in background sigmas.
    #[arg(long, default_value_t = 5.0)]
    pub threshold: f64,
    /// Keep at most this many stars, brightest first.
    #[arg(long, default_value_t = 10_000)]
    pub max_stars: usize,
    /// Connected pixels a detection needs above the threshold (in the smoothed image).
    #[arg(long, default_value_t = 5)]
    pub min_area: usize,
    /// The seeing FWHM in pixels, to match the smoothing to (default: a Gaussian of sigma 1 px).
    #[arg(long)]
    pub fwhm: Option<f64>,
    /// The background mesh cell in pixels.
    #[arg(long, default_value_t = 64)]
    pub mesh: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn detect_run(a: &DetectArgs) -> Result<()> {
    let f = skycomb::Frame::open(&a.file)?;
    let p = DetectParams {
        threshold_sigma: a.threshold,
        max_stars: a.max_stars,
        saturation: f.header.get_f64("SATURATE"),
        min_area_px: a.min_area,
        fwhm_px: a.fwhm,
        mesh_px: a.mesh,
        ..Default::default()
    };
    let (ny, nx) = f.data.dim();
    let trim = search_section(&f.name(), &f.header, (ny, nx))?;
    let stars = detect_within(f.data.view(), &trim, &f.name(), &p)?;
    if (trim.width(), trim.height()) != (nx, ny) {
        eprintln!("{}: stars searched in TRIMSEC {}", f.name(), trim.to_fits());
    }
    if a.json {
        let list: Vec<_> = stars.iter().map(|s| json!({"x": s.x + 1.0, "y": s.y + 1.0, "flux": s.flux, "fwhm": s.fwhm, "peak": s.peak})).collect();
        println!("{}", serde_json::to_string_pretty(&json!({"stars": list}))?);
    } else {
        println!(
            "{:>10} {:>10} {:>14} {:>7} {:>12}",
            "x", "y", "flux", "fwhm", "peak"
        );
        for s in &stars {
            println!(
                "{:>10.3} {:>10.3} {:>14.1} {:>7.2} {:>12.1}",
                s.x + 1.0,
                s.y + 1.0,
                s.flux,
                s.fwhm,
                s.peak
            );
        }
        eprintln!("{} star(s)", stars.len());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct OffsetsArgs {
    /// The frames; the first is the reference.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A reference star in the first frame, FITS 1-based X,Y (repeat for several).
    #[arg(long = "star")]
    pub stars: Vec<String>,
    /// Detect and match stars automatically.
    #[arg(long)]
    pub auto: bool,
    /// Offsets from the celestial WCS in the headers (TAN, TAN-SIP, TPV, SIN, ...): the whole
    /// map, rotation, scale and mirror included.
    #[arg(long)]
    pub wcs: bool,
    /// The transform --auto fits: shift, similarity (rotation, one scale, a mirror) or affine.
    /// Followed stars (--star) give shifts.
    #[arg(long, default_value = "similarity")]
    pub transform: String,
    /// Refine the offsets by cross-correlating sub-images around the reference's bright stars.
    #[arg(long)]
    pub refine: bool,
    /// Save the offsets to this text file (FILE DX DY lines; rotation, scale and the matrix after
    /// them for frames that are not pure shifts).
    #[arg(long)]
    pub save: Option<PathBuf>,
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long)]
    pub json: bool,
}

/// `skycomb offsets`: one line per frame (or JSON); frames that cannot be registered are named
/// with the reason, the others still reported; the exit status is an error if any failed.
pub fn offsets_run(a: &OffsetsArgs) -> Result<()> {
    let source = match (a.auto, a.wcs, a.stars.is_empty()) {
        (true, false, true) => OffsetSource::Auto,
        (false, true, true) => OffsetSource::Wcs,
        (false, false, false) => {
            OffsetSource::Stars(a.stars.iter().map(|s| parse_xy(s)).collect::<Result<_>>()?)
        }
        _ => bail!("give one of --star X,Y (one or more), --auto or --wcs"),
    };
    let kind: TransformKind = a.transform.parse()?;
    let (offsets, skipped) =
        with_progress(|p| offsets_of_files(&a.files, &source, kind, a.refine, p))?;
    if let Some(path) = &a.save {
        write_offsets(path, &offsets, a.overwrite)?;
    }
    if a.json {
        let list: Vec<_> = offsets.iter().map(|o| o.summary()).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"reference": offsets[0].file, "offsets": list, "failed": skipped})
            )?
        );
    } else {
        for o in &offsets {
            let t = &o.transform;
            let turn = if *t == skycomb::register::transform::Affine::shift(o.dx, o.dy) {
                String::new()
            } else {
                format!(
                    "  rot {:>8.4} deg  scale {:.5}{}",
                    t.rotation_deg(),
                    t.scale(),
                    if t.mirrored() { "  mirrored" } else { "" }
                )
            };
            println!(
                "{:<40} {:>9.3} {:>9.3}{turn}  ({} stars, rms {:.3} px)",
                o.file, o.dx, o.dy, o.n_stars, o.rms_px
            );
        }
    }
    for o in offsets.iter().filter(|o| o.warning.is_some()) {
        eprintln!(
            "warning: {}: {}",
            o.file,
            o.warning.as_deref().unwrap_or("")
        );
    }
    for s in &skipped {
        eprintln!("not registered: {}", s.reason);
    }
    if !skipped.is_empty() {
        bail!(
            "{} of {} frame(s) could not be registered",
            skipped.len(),
            a.files.len()
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct PhotometryArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A text file of `x y` lines (FITS 1-based), one star per line.
    #[arg(long)]
    pub stars: PathBuf,
    /// Aperture radius in pixels.
    #[arg(long)]
    pub radius: f64,
    /// Background annulus R1,R2 in pixels (without it no background is subtracted).
    #[arg(long)]
    pub annulus: Option<String>,
    /// Gain e-/ADU for the errors [default: GAIN from the header, else 1].
    #[arg(long)]
    pub gain: Option<f64>,
    /// Read noise e- for the errors [default: RDNOISE from the header, else 0].
    #[arg(long)]
    pub read_noise: Option<f64>,
    #[arg(long)]
    pub csv: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn photometry_run(a: &PhotometryArgs) -> Result<()> {
    let stars: Vec<(f64, f64)> = skycomb::register::offsets::read_xy_file(&a.stars)?
        .into_iter()
        .map(|(x, y)| (x - 1.0, y - 1.0))
        .collect();
    anyhow::ensure!(a.radius > 0.0, "--radius must be positive");
    let annulus = a.annulus.as_deref().map(radii).transpose()?;
    let mut rows = Vec::new();
    for file in &a.files {
        let f = skycomb::Frame::open(file)?;
        let p = ApertureParams {
            radius: a.radius,
            annulus,
            annulus_stat: AnnulusStat::Median,
            gain_e_per_adu: a.gain.or_else(|| f.header.get_f64("GAIN")).unwrap_or(1.0),
            read_noise_e: a
                .read_noise
                .or_else(|| f.header.get_f64("RDNOISE"))
                .unwrap_or(0.0),
        };
        let (ny, nx) = f.data.dim();
        for (k, &(x, y)) in stars.iter().enumerate() {
            anyhow::ensure!(
                x > -0.5 && y > -0.5 && x < nx as f64 - 0.5 && y < ny as f64 - 0.5,
                "{}: star {} at ({}, {}) lies outside the {nx}x{ny} image",
                f.name(),
                k + 1,
                x + 1.0,
                y + 1.0
            );
        }
        for mut r in measure_all(f.data.view(), &f.name(), &stars, &p) {
            r.x += 1.0;
            r.y += 1.0;
            rows.push(r);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json!({"rows": rows}))?);
    } else {
        let sep = if a.csv { "," } else { " " };
        println!(
            "{}",
            [
                "file",
                "star",
                "x",
                "y",
                "aperture_sum",
                "area",
                "background",
                "flux",
                "flux_err"
            ]
            .join(sep)
        );
        for r in &rows {
            println!(
                "{}{sep}{}{sep}{:.3}{sep}{:.3}{sep}{:.3}{sep}{:.4}{sep}{:.4}{sep}{:.3}{sep}{:.3}",
                r.file, r.star, r.x, r.y, r.aperture_sum, r.area, r.background, r.flux, r.flux_err
            );
        }
    }
    Ok(())
}
