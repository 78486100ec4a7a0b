//! Integer masks (BITPIX 8 or 32), an image or a cube with a plane per input, written band by band
//! at their places in a temporary file and renamed into place whole.

use super::header::{Card, Header, Value};
use super::write::{Ready, WriteOptions, encode_header, output_header, temp_path};
use crate::error::{Error, Result};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const BLOCK: u64 = 2880;

/// The stored type of a mask's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskType {
    /// BITPIX 8: unsigned bytes (0/1 flags).
    U8,
    /// BITPIX 32: signed 32-bit integers (counts, scaled sums).
    I32,
}

impl MaskType {
    fn bitpix(self) -> i64 {
        match self {
            MaskType::U8 => 8,
            MaskType::I32 => 32,
        }
    }

    fn bytes(self) -> usize {
        match self {
            MaskType::U8 => 1,
            MaskType::I32 => 4,
        }
    }
}

/// A mask of `nx` x `ny` pixels and `planes` planes (a cube when `cube`), whose rows arrive in
/// any order. Dropped unfinished, it removes its temporary file.
pub struct MaskWriter {
    file: std::fs::File,
    tmp: PathBuf,
    path: PathBuf,
    shape: [usize; 3],
    kind: MaskType,
    data_start: u64,
    overwrite: bool,
    finished: bool,
}

/// The full header: `source`'s cards under the structure cards of the mask's type and shape.
fn mask_header(source: &Header, shape: [usize; 3], cube: bool, kind: MaskType) -> Header {
    let [nx, ny, nz] = shape;
    let mut h = output_header(source, nx, ny);
    h.cards[1] = Card::new("BITPIX", Value::Int(kind.bitpix()), "integer mask");
    if cube {
        h.cards[2] = Card::new("NAXIS", Value::Int(3), "");
        h.cards
            .insert(5, Card::new("NAXIS3", Value::Int(nz as i64), "planes"));
    }
    h
}

impl MaskWriter {
    /// Start a mask at `path` of `[nx, ny, planes]`; `cube` writes NAXIS = 3 even for one plane.
    pub fn create(
        path: &Path,
        shape: [usize; 3],
        cube: bool,
        kind: MaskType,
        header: &Header,
        options: WriteOptions,
    ) -> Result<MaskWriter> {
        if path.exists() && !options.overwrite {
            return Err(Error::OutputExists { path: path.into() });
        }
        let mut head = Vec::new();
        encode_header(&mask_header(header, shape, cube, kind), &mut head)?;
        let data = (shape.iter().product::<usize>() * kind.bytes()) as u64;
        let tmp = temp_path(path);
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create", e))?;
        let w = MaskWriter {
            file,
            tmp,
            path: path.into(),
            shape,
            kind,
            data_start: head.len() as u64,
            overwrite: options.overwrite,
            finished: false,
        };
        w.file
            .write_all_at(&head, 0)
            .map_err(|e| Error::io(&w.tmp, "cannot write", e))?;
        // the zero padding of the last block comes with the length
        w.file
            .set_len(w.data_start + data.div_ceil(BLOCK) * BLOCK)
            .map_err(|e| Error::io(&w.tmp, "cannot size", e))?;
        Ok(w)
    }

    /// Write whole rows of plane `plane` starting at row `y0` (`values` holds rows x nx values).
    pub fn write_rows(&mut self, plane: usize, y0: usize, values: &[i32]) -> Result<()> {
        let [nx, ny, nz] = self.shape;
        if plane >= nz
            || !values.len().is_multiple_of(nx.max(1))
            || y0 + values.len() / nx.max(1) > ny
        {
            return Err(Error::Invalid(format!(
                "{}: rows outside the mask's {nx}x{ny}x{nz}",
                self.path.display()
            )));
        }
        let bytes: Vec<u8> = match self.kind {
            MaskType::U8 => values.iter().map(|v| (*v).clamp(0, 255) as u8).collect(),
            MaskType::I32 => values.iter().flat_map(|v| v.to_be_bytes()).collect(),
        };
        let at = self.data_start + (((plane * ny + y0) * nx) * self.kind.bytes()) as u64;
        self.file
            .write_all_at(&bytes, at)
            .map_err(|e| Error::io(&self.tmp, "cannot write", e))
    }

    /// Sync and put into place.
    pub fn finish(self) -> Result<()> {
        self.ready()?.place()
    }

    /// Sync: complete under its temporary name, waiting to be placed with its step's outputs.
    pub fn ready(mut self) -> Result<Ready> {
        self.file
            .sync_all()
            .map_err(|e| Error::io(&self.tmp, "cannot sync", e))?;
        self.finished = true;
        Ok(Ready::new(&self.tmp, &self.path, self.overwrite))
    }
}

impl Drop for MaskWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cube_written_out_of_order_reads_back_plane_by_plane() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rej.fits");
        let mut w = MaskWriter::create(
            &p,
            [3, 2, 2],
            true,
            MaskType::U8,
            &Header::default(),
            WriteOptions::default(),
        )
        .unwrap();
        w.write_rows(1, 1, &[7, 8, 9]).unwrap();
        w.write_rows(0, 0, &[1, 2, 3, 4, 5, 6]).unwrap();
        w.write_rows(1, 0, &[0, 300, -1]).unwrap();
        assert!(w.write_rows(2, 0, &[0, 0, 0]).is_err());
        w.finish().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len() % 2880, 0);
        let head = String::from_utf8_lossy(&bytes[..2880]).into_owned();
        assert!(head.contains("BITPIX  =                    8"), "{head}");
        assert!(head.contains("NAXIS3  =                    2"), "{head}");
        assert_eq!(&bytes[2880..2892], &[1, 2, 3, 4, 5, 6, 0, 255, 0, 7, 8, 9]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
