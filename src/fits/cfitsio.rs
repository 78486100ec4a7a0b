//! A small safe wrapper over the cfitsio calls skycomb needs (cfitsio is built from source, reentrant).

use crate::error::{Error, Result};
use fitsio::sys;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_long, c_void};
use std::path::{Path, PathBuf};

/// cfitsio's code for an image HDU (compressed images report this too).
pub const IMAGE_HDU: c_int = 0;
const TFLOAT: c_int = 42;
const READONLY: c_int = 0;
const END_OF_FILE: c_int = 107;

/// An open FITS file; closed when dropped.
pub struct RawFits {
    ptr: *mut sys::fitsfile,
    path: PathBuf,
    /// For files opened from memory: kept alive as long as cfitsio uses them.
    _memory: Option<MemoryFile>,
}

/// The bytes of a file opened from memory, and the pointer/size pair whose addresses cfitsio keeps.
struct MemoryFile {
    _bytes: Vec<u8>,
    _cell: Box<(*mut c_void, usize)>,
}

// The handle is used by one thread at a time (it is not Sync); cfitsio is built reentrant.
unsafe impl Send for RawFits {}

/// cfitsio's text for a status code plus the messages it left on its error stack.
fn status_text(status: c_int) -> String {
    let mut buf = [0 as c_char; 81];
    unsafe { sys::ffgerr(status, buf.as_mut_ptr()) };
    let mut text = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    let mut details = Vec::new();
    loop {
        let mut msg = [0 as c_char; 81];
        if unsafe { sys::ffgmsg(msg.as_mut_ptr()) } == 0 {
            break;
        }
        let m = unsafe { CStr::from_ptr(msg.as_ptr()) }
            .to_string_lossy()
            .trim()
            .to_string();
        if !m.is_empty() && details.len() < 3 {
            details.push(m);
        }
    }
    if status == END_OF_FILE {
        text = "the file is truncated: it ends before the data its header describes".into();
    }
    if !details.is_empty() {
        text = format!("{text} (cfitsio: {})", details.join("; "));
    }
    text
}

impl RawFits {
    /// Open a file read-only. The name is taken literally (no cfitsio extended-filename syntax);
    /// gzip and Unix-compress files are decompressed in memory by cfitsio.
    pub fn open(path: &Path) -> Result<RawFits> {
        let cpath =
            CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Error::BadFits {
                path: path.into(),
                reason: "path contains a NUL byte".into(),
            })?;
        let mut ptr = std::ptr::null_mut();
        let mut status = 0;
        unsafe { sys::ffdkopn(&mut ptr, cpath.as_ptr(), READONLY, &mut status) };
        RawFits::opened(ptr, status, path, None)
    }

    /// The handle cfitsio returned, or the error it reported.
    fn opened(
        ptr: *mut sys::fitsfile,
        status: c_int,
        path: &Path,
        memory: Option<MemoryFile>,
    ) -> Result<RawFits> {
        if status != 0 || ptr.is_null() {
            return Err(Error::BadFits {
                path: path.into(),
                reason: format!("cannot open as FITS: {}", status_text(status)),
            });
        }
        Ok(RawFits {
            ptr,
            path: path.into(),
            _memory: memory,
        })
    }

    /// Open a FITS file held in memory (used for files whose last block lacks its padding).
    pub fn open_memory(path: &Path, mut bytes: Vec<u8>) -> Result<RawFits> {
        let name = CString::new("mem.fits").expect("no NUL");
        let mut cell = Box::new((bytes.as_mut_ptr() as *mut c_void, bytes.len()));
        let mut ptr = std::ptr::null_mut();
        let mut status = 0;
        unsafe {
            sys::ffomem(
                &mut ptr,
                name.as_ptr(),
                READONLY,
                &mut cell.0,
                &mut cell.1,
                0,
                None,
                &mut status,
            )
        };
        let memory = MemoryFile {
            _bytes: bytes,
            _cell: cell,
        };
        RawFits::opened(ptr, status, path, Some(memory))
    }

    /// Byte offsets of the current HDU: (header start, data start).
    pub fn offsets(&mut self) -> Result<(u64, u64)> {
        let (mut head, mut data, mut end, mut status) = (0, 0, 0, 0);
        unsafe { sys::ffghadll(self.ptr, &mut head, &mut data, &mut end, &mut status) };
        self.check(status, "locating the HDU")?;
        Ok((head as u64, data as u64))
    }

    fn check(&self, status: c_int, what: &str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        Err(Error::BadFits {
            path: self.path.clone(),
            reason: format!("{what}: {}", status_text(status)),
        })
    }

    /// Number of HDUs in the file.
    pub fn num_hdus(&mut self) -> Result<usize> {
        let (mut n, mut status) = (0, 0);
        unsafe { sys::ffthdu(self.ptr, &mut n, &mut status) };
        self.check(status, "counting HDUs")?;
        Ok(n as usize)
    }

    /// Move to HDU `index` (0-based) and return its cfitsio type ([`IMAGE_HDU`] for images).
    pub fn move_to(&mut self, index: usize) -> Result<c_int> {
        let (mut kind, mut status) = (0, 0);
        unsafe { sys::ffmahd(self.ptr, index as c_int + 1, &mut kind, &mut status) };
        self.check(status, &format!("moving to HDU {index}"))?;
        Ok(kind)
    }

    /// Move to the HDU with this EXTNAME (any type); returns its 0-based index.
    pub fn move_to_name(&mut self, name: &str) -> Result<usize> {
        let cname =
            CString::new(name).map_err(|_| Error::Invalid("EXTNAME contains a NUL byte".into()))?;
        let mut status = 0;
        unsafe { sys::ffmnhd(self.ptr, -1, cname.as_ptr() as *mut c_char, 0, &mut status) };
        if status != 0 {
            unsafe { sys::ffcmsg() };
            return Err(Error::Hdu {
                path: self.path.clone(),
                hdu: name.into(),
                reason: "no HDU has this EXTNAME".into(),
            });
        }
        let mut num = 0;
        unsafe { sys::ffghdn(self.ptr, &mut num) };
        Ok(num as usize - 1)
    }

    /// Axis lengths of the current image HDU, NAXIS1 first; empty for NAXIS = 0.
    pub fn image_shape(&mut self) -> Result<Vec<usize>> {
        let (mut naxis, mut status) = (0, 0);
        unsafe { sys::ffgidm(self.ptr, &mut naxis, &mut status) };
        self.check(status, "reading NAXIS")?;
        let mut naxes = vec![0 as sys::LONGLONG; naxis.max(0) as usize];
        if naxis > 0 {
            unsafe { sys::ffgiszll(self.ptr, naxis, naxes.as_mut_ptr(), &mut status) };
            self.check(status, "reading NAXISn")?;
        }
        Ok(naxes.into_iter().map(|n| n.max(0) as usize).collect())
    }

    /// BITPIX as stored (ZBITPIX for tile-compressed images).
    pub fn bitpix(&mut self) -> Result<i32> {
        let (mut b, mut status) = (0, 0);
        unsafe { sys::ffgidt(self.ptr, &mut b, &mut status) };
        self.check(status, "reading BITPIX")?;
        Ok(b)
    }

    /// True when the current HDU is a tile-compressed image.
    pub fn is_compressed_image(&self) -> bool {
        unsafe { sys::fits_is_compressed_image(self.ptr, &mut 0) != 0 }
    }

    /// Every card of the current HDU's header as 80-column images (without END).
    pub fn card_images(&mut self) -> Result<Vec<String>> {
        let (mut nexist, mut nmore, mut status) = (0, 0, 0);
        unsafe { sys::ffghsp(self.ptr, &mut nexist, &mut nmore, &mut status) };
        self.check(status, "reading the header")?;
        let mut out = Vec::with_capacity(nexist as usize);
        let mut buf = [0 as c_char; 81];
        for i in 1..=nexist {
            unsafe { sys::ffgrec(self.ptr, i, buf.as_mut_ptr(), &mut status) };
            self.check(status, "reading a header card")?;
            let bytes = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes();
            out.push(String::from_utf8_lossy(bytes).into_owned());
        }
        Ok(out)
    }

    /// Read `out.len()` pixels as f32 starting at the 0-based pixel `first` (x, y, plane...), scaled
    /// by BSCALE/BZERO, with BLANK (and NaN) pixels returned as NaN.
    pub fn read_f32_into(&mut self, first: &[usize], out: &mut [f32]) -> Result<()> {
        let n = out.len();
        let mut fpixel: Vec<c_long> = first.iter().map(|&p| p as c_long + 1).collect();
        let mut nulval = f32::NAN;
        let (mut anynul, mut status) = (0, 0);
        unsafe {
            sys::ffgpxv(
                self.ptr,
                TFLOAT,
                fpixel.as_mut_ptr(),
                n as sys::LONGLONG,
                &mut nulval as *mut f32 as *mut c_void,
                out.as_mut_ptr() as *mut c_void,
                &mut anynul,
                &mut status,
            )
        };
        self.check(status, "reading pixels")
    }
}

impl Drop for RawFits {
    fn drop(&mut self) {
        let mut status = 0;
        unsafe { sys::ffclos(self.ptr, &mut status) };
    }
}
