//! Measuring and registering: centroids (and, as they land, star detection, offsets and shifting).

pub mod centroid;
pub mod detect;
pub mod inspect;
pub mod lm;
pub mod matching;
pub mod offsets;
pub mod peaks;
pub mod refine;
pub mod shift;
pub mod sky;
pub mod stack;
pub mod transform;
pub mod wcs;

pub use centroid::{Background, Centroid, CentroidMethod, CentroidParams, Flag, centroid};
pub use detect::{DetectParams, Star, detect};
pub use offsets::{FrameRef, Offset, offsets_from_stars};
pub use shift::{Canvas, CanvasKind, ShiftMode, ShiftedInput};
pub use stack::{
    OffsetSource, SkippedFrame, SkyMode, StackParams, StackReport, StackScale, offsets_of_files,
    stack, stack_files,
};
