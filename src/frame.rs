//! Frame: one image's pixels (f32, row = y, column = x) with its header and where it came from.

use crate::error::Result;
use crate::fits::{self, Header, ReadOptions};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// Where a frame was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSource {
    pub path: PathBuf,
    /// 0-based HDU number.
    pub hdu: usize,
    /// 0-based plane of a cube.
    pub plane: usize,
    /// Planes in that HDU.
    pub n_planes: usize,
    /// BITPIX as stored in the file (before BZERO/BSCALE).
    pub bitpix: i32,
}

/// An image in memory: `data[[y, x]]`, 0-based, pixel centres at integers.
#[derive(Debug, Clone)]
pub struct Frame {
    pub data: Array2<f32>,
    pub header: Header,
    /// `None` for frames made in memory.
    pub source: Option<FrameSource>,
}

impl Frame {
    /// Read the first image (first plane) of a file.
    pub fn open(path: &Path) -> Result<Frame> {
        fits::read_frame(path, &ReadOptions::default())
    }

    /// A frame made in memory with an empty header.
    pub fn from_data(data: Array2<f32>) -> Frame {
        Frame {
            data,
            header: Header::default(),
            source: None,
        }
    }

    /// Columns (NAXIS1).
    pub fn nx(&self) -> usize {
        self.data.ncols()
    }

    /// Rows (NAXIS2).
    pub fn ny(&self) -> usize {
        self.data.nrows()
    }

    /// The file name, or "(memory)".
    pub fn name(&self) -> String {
        self.source
            .as_ref()
            .and_then(|s| s.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "(memory)".into())
    }
}
