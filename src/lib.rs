//! skycomb's core: FITS I/O, frames, night-folder collections, statistics and display intervals,
//! and the built-in sample night. GUI-free: the `gui` module (feature `gui`) and the CLI sit on top.
//!
//! - [`fits`]: read any image HDU into a [`Frame`], the header model, sections, atomic writing
//! - [`frame`]: pixels (f32, row = y) + header + source
//! - [`collection`]: scan a folder's headers in parallel, summary rows, filters, groups, problems
//! - [`stats`]: NaN-aware median, mad_std, sigma-clipped statistics, percentiles, histograms
//! - [`display`]: display intervals (minmax, zscale, percentile, manual)
//! - [`sample`]: the built-in synthetic night
//! - [`recipe`]: a reduction's steps with the command line's options, as TOML; run by `skycomb run` and the app
//! - `gui` (feature `gui`): the desktop app over all of the above

pub mod arith;
pub mod calibrate;
pub mod collection;
pub mod combine;
pub mod display;
pub mod error;
pub mod fits;
pub mod frame;
#[cfg(feature = "gui")]
pub mod gui;
pub mod photometry;
pub mod progress;
pub mod recipe;
pub mod register;
pub mod sample;
pub mod stats;

pub use error::{Error, Result};
pub use frame::Frame;
