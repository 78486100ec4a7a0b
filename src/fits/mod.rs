//! FITS input and output: reading any image HDU (via cfitsio), the header model, sections, atomic writing.

mod cfitsio;
pub mod header;
pub mod mask_write;
mod prescan;
pub mod read;
pub mod section;
pub mod write;

pub use header::{Card, Header, Value};
pub use mask_write::{MaskType, MaskWriter};
pub use read::{
    FitsImage, HduChoice, ImageInfo, ReadOptions, list_hdus, read_frame, read_image_info,
    read_raw_header,
};
pub use section::{PixelBox, Section, parse_section};
pub use write::{Ready, StreamingWriter, WriteOptions, place_together, refuse_inputs, write_f32};
