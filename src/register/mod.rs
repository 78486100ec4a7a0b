//! Measuring and registering: centroids (and, as they land, star detection, offsets and shifting).

pub mod centroid;
pub mod lm;

pub use centroid::{Background, Centroid, CentroidMethod, CentroidParams, Flag, centroid};
