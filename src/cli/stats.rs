//! `skycomb stats FILE`: shape, BITPIX, min, max, mean, median, std, mad_std, NaN count and zscale limits.

use anyhow::{Context, Result};
use clap::Args;
use skycomb::display::{ZScale, zscale};
use skycomb::fits::{FitsImage, HduChoice, parse_section};
use skycomb::stats::summarize;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The FITS file.
    pub file: PathBuf,
    /// HDU number (0 = primary) or EXTNAME; default: the first HDU with an image.
    #[arg(long)]
    pub hdu: Option<String>,
    /// Plane of a cube, 1-based.
    #[arg(long, default_value_t = 1)]
    pub plane: usize,
    /// Only this FITS section, e.g. [1:320,1:512] (1-based, inclusive).
    #[arg(long)]
    pub section: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &StatsArgs) -> Result<()> {
    let choice = match &a.hdu {
        Some(h) => h.parse()?,
        None => HduChoice::FirstImage,
    };
    anyhow::ensure!(a.plane >= 1, "--plane is 1-based: the first plane is 1");
    let mut img = FitsImage::open(&a.file, &choice)?;
    let (nx, ny) = (img.info.nx(), img.info.ny());
    // a section reads only its rows
    let view = match &a.section {
        Some(s) => {
            let b = parse_section(s, nx, ny).with_context(|| format!("{}", a.file.display()))?;
            img.read_rows(a.plane - 1, b.y.clone())?
                .slice_move(ndarray::s![.., b.x.clone()])
        }
        None => img.read_plane(a.plane - 1)?,
    };
    let s = summarize(view.view());
    let z = zscale(view.view(), &ZScale::default());
    let (sy, sx) = view.dim();
    let info = &img.info;
    if a.json {
        let out = serde_json::json!({
            "file": a.file.display().to_string(),
            "hdu": info.hdu,
            "plane": a.plane,
            "n_planes": info.n_planes(),
            "shape": [sx, sy],
            "bitpix": info.bitpix,
            "bzero": info.header.get_f64("BZERO"),
            "bscale": info.header.get_f64("BSCALE"),
            "compression": info.compression,
            "count": s.count,
            "nan_count": s.nan_count,
            "min": s.min, "max": s.max, "mean": s.mean, "median": s.median,
            "std": s.std, "mad_std": s.mad_std,
            "zscale": z.map(|(l, h)| vec![l, h]),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "-".into());
    println!("file      {}", a.file.display());
    println!(
        "hdu       {}{}",
        info.hdu,
        info.compression
            .as_ref()
            .map(|c| format!(" ({c} tile-compressed)"))
            .unwrap_or_default()
    );
    println!("plane     {} of {}", a.plane, info.n_planes());
    println!(
        "shape     {sx} x {sy}{}",
        a.section
            .as_ref()
            .map(|s| format!("  (section {s})"))
            .unwrap_or_default()
    );
    println!("bitpix    {}", info.bitpix);
    println!("min       {}", f(s.min));
    println!("max       {}", f(s.max));
    println!("mean      {}", f(s.mean));
    println!("median    {}", f(s.median));
    println!("std       {}", f(s.std));
    println!("mad_std   {}", f(s.mad_std));
    println!("nan_count {}", s.nan_count);
    match z {
        Some((l, h)) => println!("zscale    {l:.6} {h:.6}"),
        None => println!("zscale    - (no finite pixels)"),
    }
    Ok(())
}
