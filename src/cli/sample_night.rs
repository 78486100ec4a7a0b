//! `skycomb sample-night DIR`, and the default action: generate the sample night once into the cache and show it.

use anyhow::{Context, Result};
use clap::Args;
use skycomb::fits::WriteOptions;
use skycomb::sample::{Geometry, SampleNightParams, write_sample_night};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SampleNightArgs {
    /// Folder to write into (created if missing).
    pub dir: PathBuf,
    /// The science area is SIZE x SIZE pixels (plus a 64-column overscan strip).
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Random seed: the same seed and size give the same files, bit for bit.
    #[arg(long, default_value_t = 20240601)]
    pub seed: u64,
    /// Rotate the science frames against the first: frame k of 7 (k = 0..6) by DEG * k / 6.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub rotation: f64,
    /// Scale the science frames against the first: frame k by 1 + (SCALE - 1) * k / 6.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Mirror every second science frame in x (as a German mount's meridian flip with a diagonal would).
    #[arg(long)]
    pub mirror: bool,
    /// Replace files that already exist.
    #[arg(long)]
    pub overwrite: bool,
}

pub fn run(a: &SampleNightArgs) -> Result<()> {
    let params = SampleNightParams {
        size: a.size,
        seed: a.seed,
        geometry: Geometry {
            rotation_deg: a.rotation,
            scale: a.scale,
            mirror: a.mirror,
        },
    };
    let files = write_sample_night(
        &a.dir,
        params,
        WriteOptions {
            overwrite: a.overwrite,
        },
    )
    .with_context(|| format!("writing the sample night into {}", a.dir.display()))?;
    println!(
        "wrote {} FITS files and truth.json to {}",
        files.len(),
        a.dir.display()
    );
    Ok(())
}

/// The built-in night in the cache folder, generated on first use (a `.complete` marker guards
/// against a half-written folder from an interrupted first run).
pub fn default_night_dir() -> Result<PathBuf> {
    let params = SampleNightParams::default();
    let dir = super::cache_dir().join(format!("sample-night-{}-{}", params.size, params.seed));
    let marker = dir.join(".complete");
    if !marker.exists() {
        eprintln!("generating the sample night into {} ...", dir.display());
        write_sample_night(&dir, params, WriteOptions { overwrite: true })
            .with_context(|| format!("writing the sample night into {}", dir.display()))?;
        std::fs::write(&marker, b"").with_context(|| format!("writing {}", marker.display()))?;
    }
    Ok(dir)
}

/// Without a subcommand and without the GUI: make sure the sample night exists and list it.
#[cfg(not(feature = "gui"))]
pub fn open_default_night() -> Result<()> {
    let dir = default_night_dir()?;
    println!("sample night: {}", dir.display());
    let args = super::scan::ScanArgs {
        dir,
        keywords: vec![],
        conditions: vec![],
        sort: None,
        group_by: vec![],
        recursive: false,
        format: super::scan::Format::Table,
    };
    super::scan::run(&args)
}
