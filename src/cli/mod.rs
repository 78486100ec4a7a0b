//! The command line: one file per subcommand, all over the core library (errors via anyhow with context).

mod arith;
mod calibrate;
mod combine;
mod header;
mod imcombine;
mod measure;
mod progress_line;
mod run;
mod sample_night;
mod scan;
mod stack;
mod stats;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// skycomb: browse, inspect, calibrate, register and combine FITS frames.
#[derive(Debug, Parser)]
#[command(
    name = "skycomb",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the app on a night's folder or on FITS files (as `skycomb gui PATH...`).
    pub paths: Vec<PathBuf>,
}

/// The subcommands; with none, skycomb opens the built-in sample night.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the FITS files of a folder with their header keys (headers only, in parallel).
    Scan(scan::ScanArgs),
    /// Print the header of a file's image HDU (or any HDU with --hdu, or the HDU list with --list).
    Header(header::HeaderArgs),
    /// Statistics of an image: shape, BITPIX, min, max, mean, median, std, mad_std, NaN count, zscale.
    Stats(stats::StatsArgs),
    /// Combine frames with scaling and rejection (skycomb's rules, or IRAF's or ccdproc's with --compat).
    Combine(Box<combine::CombineArgs>),
    /// IRAF's imcombine with its own parameters: `imcombine @list out.fits combine=median reject=ccdclip`.
    Imcombine(imcombine::ImcombineArgs),
    /// Build masters and calibrate a night's science frames into another folder.
    Calibrate(calibrate::CalibrateArgs),
    /// Measure a star near a position (FITS 1-based): centroid, FWHM, peak, flux, error, flag.
    Centroid(measure::CentroidArgs),
    /// Detect the stars of a frame, brightest first.
    Detect(measure::DetectArgs),
    /// Offsets of frames relative to the first, from reference stars or detected stars.
    Offsets(measure::OffsetsArgs),
    /// Aperture photometry of listed stars in frames.
    Photometry(measure::PhotometryArgs),
    /// Register and combine dithered frames onto a canvas, with npix and rejected maps.
    Stack(Box<stack::StackArgs>),
    /// Pixel arithmetic: A + - * / B, where A and B are frames or numbers.
    Arith(arith::ArithArgs),
    /// Run a recipe: calibrate, combine and stack steps saved as TOML (by the app or by hand).
    Run(run::RunArgs),
    /// Open the desktop app on a night's folder or on FITS files (default: the built-in sample night).
    #[cfg(feature = "gui")]
    Gui {
        /// A folder (the night), or one or more FITS files.
        paths: Vec<PathBuf>,
    },
    /// Write the built-in synthetic night (raw frames + truth.json) into a folder.
    SampleNight(sample_night::SampleNightArgs),
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        #[cfg(feature = "gui")]
        None => open_app(cli.paths),
        #[cfg(not(feature = "gui"))]
        None if cli.paths.is_empty() => sample_night::open_default_night(),
        #[cfg(not(feature = "gui"))]
        None => anyhow::bail!(
            "this skycomb was built without the app (feature gui): use its subcommands, e.g. `skycomb scan DIR`"
        ),
        #[cfg(feature = "gui")]
        Some(Command::Gui { paths }) => open_app(paths),
        Some(Command::Scan(a)) => scan::run(&a),
        Some(Command::Header(a)) => header::run(&a),
        Some(Command::Stats(a)) => stats::run(&a),
        Some(Command::SampleNight(a)) => sample_night::run(&a),
        Some(Command::Combine(a)) => combine::run(&a),
        Some(Command::Imcombine(a)) => imcombine::run(&a),
        Some(Command::Centroid(a)) => measure::centroid_run(&a),
        Some(Command::Detect(a)) => measure::detect_run(&a),
        Some(Command::Offsets(a)) => measure::offsets_run(&a),
        Some(Command::Photometry(a)) => measure::photometry_run(&a),
        Some(Command::Stack(a)) => stack::run(&a),
        Some(Command::Arith(a)) => arith::run(&a),
        Some(Command::Calibrate(a)) => calibrate::run(&a),
        Some(Command::Run(a)) => run::run(&a),
    }
}

/// The app on `paths` (a folder or FITS files), or on the built-in sample night when none; a path
/// that does not exist is refused before the window opens.
#[cfg(feature = "gui")]
fn open_app(paths: Vec<PathBuf>) -> anyhow::Result<()> {
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        anyhow::bail!("{}: no such file or folder", missing.display());
    }
    if paths.is_empty() {
        return skycomb::gui::run(vec![sample_night::default_night_dir()?]);
    }
    skycomb::gui::run(paths)
}

/// Where the built-in sample night is generated once: `$XDG_CACHE_HOME/skycomb` or `~/.cache/skycomb`.
pub fn cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("skycomb");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("skycomb"),
        None => std::env::temp_dir().join("skycomb-cache"),
    }
}
