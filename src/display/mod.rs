//! Turning pixel values into something to look at: display intervals (this module's `interval`).

pub mod interval;
pub mod stretch;
pub mod view;

pub use interval::{Interval, ZScale, histogram_around, limits, zscale};
pub use stretch::{Colormap, Renderer, Stretch};
pub use view::View;
