//! Turning pixel values into something to look at: display intervals (this module's `interval`).

pub mod interval;

pub use interval::{Interval, ZScale, limits, zscale};
