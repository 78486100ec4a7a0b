//! What a stack is made of: anything that can hand over row bands of one frame (a file, or a frame
//! being calibrated on the fly), so every frame is read once per band and never held whole.

use crate::error::Result;
use crate::fits::{FitsImage, HduChoice, Header, ImageInfo};
use ndarray::Array2;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One frame of a stack, read in row bands.
pub trait StackInput: Send + Sync {
    /// A name for logs and IMCMBnnn cards (the file name).
    fn name(&self) -> String;
    /// Rows (y) and columns (x) of the frame.
    fn shape(&self) -> (usize, usize);
    /// The header the output inherits (for the first input) and keywords are read from.
    fn header(&self) -> &Header;
    /// Rows `rows` (0-based, half-open) as f32, row = y.
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>>;
    /// Rows `rows` into `out` (rows.len() x columns, contiguous): reuses the caller's buffer.
    fn read_rows_into(&self, rows: Range<usize>, out: &mut [f32]) -> Result<()> {
        let band = self.read_rows(rows)?;
        out.copy_from_slice(band.as_slice().expect("bands are contiguous"));
        Ok(())
    }
    /// The file the frame comes from, if any (outputs must never replace it).
    fn path(&self) -> Option<&Path> {
        None
    }
    /// Bytes a read allocates for a while per pixel of the rows it returns (raw rows, masters'
    /// rows, resampling margins), for the memory limit's accounting.
    fn read_bytes_per_pixel(&self) -> usize {
        4
    }
}

/// A frame in a FITS file: one image HDU, one plane.
#[derive(Debug, Clone)]
pub struct FileInput {
    pub path: PathBuf,
    pub info: ImageInfo,
    pub plane: usize,
}

impl FileInput {
    /// Open the header of `path`'s first image (the pixels are read band by band later).
    pub fn open(path: &Path) -> Result<FileInput> {
        Self::open_hdu(path, &HduChoice::FirstImage, 0)
    }

    pub fn open_hdu(path: &Path, hdu: &HduChoice, plane: usize) -> Result<FileInput> {
        let img = FitsImage::open(path, hdu)?;
        Ok(FileInput {
            path: path.into(),
            info: img.info,
            plane,
        })
    }
}

impl StackInput for FileInput {
    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
    fn shape(&self) -> (usize, usize) {
        (self.info.ny(), self.info.nx())
    }
    fn header(&self) -> &Header {
        &self.info.header
    }
    fn path(&self) -> Option<&Path> {
        Some(&self.path)
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        FitsImage::reopen(&self.path, &HduChoice::Index(self.info.hdu))?.read_rows(self.plane, rows)
    }
    fn read_rows_into(&self, rows: Range<usize>, out: &mut [f32]) -> Result<()> {
        FitsImage::reopen(&self.path, &HduChoice::Index(self.info.hdu))?
            .read_rows_into(self.plane, rows, out)
    }
}

/// A frame already in memory (tests, the GUI's results).
pub struct MemoryInput {
    pub name: String,
    pub data: Array2<f32>,
    pub header: Header,
}

impl StackInput for MemoryInput {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn shape(&self) -> (usize, usize) {
        self.data.dim()
    }
    fn header(&self) -> &Header {
        &self.header
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        Ok(self.data.slice(ndarray::s![rows, ..]).to_owned())
    }
}
