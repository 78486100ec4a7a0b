//! Reading FITS images into [`Frame`]s: any BITPIX with BZERO/BSCALE, primary or extension HDU,
//! tile-compressed, gzip, cubes plane by plane, BLANK and NaN kept as NaN.

use super::cfitsio::{IMAGE_HDU, RawFits};
use super::header::{Card, Header, Value, is_structural};
use crate::error::{Error, Result};
use crate::frame::{Frame, FrameSource};
use ndarray::Array2;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Which HDU of a file to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HduChoice {
    /// The primary HDU when it holds pixels, else the first image extension that does.
    #[default]
    FirstImage,
    /// An HDU by its 0-based number (0 is the primary).
    Index(usize),
    /// An HDU by EXTNAME.
    Name(String),
}

impl std::str::FromStr for HduChoice {
    type Err = Error;
    /// A number selects by index, anything else by EXTNAME.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::Invalid("empty HDU name".into()));
        }
        Ok(match s.parse::<usize>() {
            Ok(i) => HduChoice::Index(i),
            Err(_) => HduChoice::Name(s.to_string()),
        })
    }
}

/// What a file's chosen image HDU holds, read from the header alone.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub path: PathBuf,
    /// 0-based HDU number.
    pub hdu: usize,
    /// BITPIX as stored (ZBITPIX for compressed images), before BZERO/BSCALE.
    pub bitpix: i32,
    /// Axis lengths, NAXIS1 (x, columns) first.
    pub naxes: Vec<usize>,
    /// The compression type (ZCMPTYPE) of a tile-compressed image.
    pub compression: Option<String>,
    /// The image's header: for compressed images the image header cfitsio presents, for
    /// extensions with the primary header's keywords that the extension lacks appended.
    pub header: Header,
    /// Where the pixels lie in a plain (uncompressed, unpadded-safe) file, for direct reads.
    pub layout: Option<RawLayout>,
}

/// The byte layout of an uncompressed image in a plain file: rows can be read with one `pread`
/// and decoded here, much faster than through cfitsio's general conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawLayout {
    /// Byte offset of the first pixel.
    pub data_offset: u64,
    pub bitpix: i32,
    pub bscale: f64,
    pub bzero: f64,
}

impl RawLayout {
    /// The layout of an image whose pixels can be decoded without cfitsio (no BLANK, known BITPIX).
    fn of(header: &Header, bitpix: i32, data_offset: u64) -> Option<RawLayout> {
        let supported = matches!(bitpix, 8 | 16 | 32 | 64 | -32 | -64);
        if !supported || header.contains("BLANK") {
            return None;
        }
        Some(RawLayout {
            data_offset,
            bitpix,
            bscale: header.get_f64("BSCALE").unwrap_or(1.0),
            bzero: header.get_f64("BZERO").unwrap_or(0.0),
        })
    }

    fn bytes_per_pixel(&self) -> usize {
        self.bitpix.unsigned_abs() as usize / 8
    }
}

/// Decode big-endian pixels into f32 as cfitsio does: `value * BSCALE + BZERO` in double, then f32.
fn decode(bytes: &[u8], layout: &RawLayout, out: &mut [f32]) {
    let (scale, zero) = (layout.bscale, layout.bzero);
    let unit = scale == 1.0 && zero == 0.0;
    macro_rules! convert {
        ($t:ty, $n:expr) => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact($n)) {
                let v = <$t>::from_be_bytes(c.try_into().expect("chunk size")) as f64;
                *o = if unit {
                    v as f32
                } else {
                    (v * scale + zero) as f32
                };
            }
        };
    }
    match layout.bitpix {
        8 => convert!(u8, 1),
        16 => convert!(i16, 2),
        32 => convert!(i32, 4),
        64 => convert!(i64, 8),
        -32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                let v = f32::from_be_bytes(c.try_into().expect("chunk size"));
                // one NaN for every NaN, as cfitsio's null substitution gives
                let v = if v.is_nan() { f32::NAN } else { v };
                *o = if unit {
                    v
                } else {
                    (v as f64 * scale + zero) as f32
                };
            }
        }
        _ => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                let v = f64::from_be_bytes(c.try_into().expect("chunk size"));
                *o = if v.is_nan() {
                    f32::NAN
                } else if unit {
                    v as f32
                } else {
                    (v * scale + zero) as f32
                };
            }
        }
    }
}

thread_local! {
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl ImageInfo {
    /// Number of columns (NAXIS1).
    pub fn nx(&self) -> usize {
        self.naxes.first().copied().unwrap_or(0)
    }
    /// Number of rows (NAXIS2; 1 for a one-dimensional image).
    pub fn ny(&self) -> usize {
        self.naxes.get(1).copied().unwrap_or(1)
    }
    /// Number of planes (the product of NAXIS3 and above; 1 for a 2-D image).
    pub fn n_planes(&self) -> usize {
        self.naxes.iter().skip(2).product::<usize>().max(1)
    }
}

/// An image HDU opened for reading, so that planes or row bands can be read one after another.
pub struct FitsImage {
    raw: RawFits,
    pub info: ImageInfo,
}

/// How a file is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Plain FITS: the file length can be checked against the header.
    Plain { len: u64 },
    /// gzip or Unix compress: cfitsio decompresses it.
    Compressed,
}

/// Check the file is there, not empty, and starts like FITS (or like a gzip/compress stream).
fn sniff(path: &Path) -> Result<Storage> {
    sniff_with(path, true)
}

/// [`sniff`], with the header checks of every HDU only when `check_headers` (a file already
/// opened and checked skips them when it is opened again for its rows).
fn sniff_with(path: &Path, check_headers: bool) -> Result<Storage> {
    // look before opening: opening a named pipe for reading waits for a writer forever
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "cannot open", e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "it is a folder"
        } else {
            "it is not a regular file (a named pipe, socket or device)"
        };
        return Err(Error::NotFits {
            path: path.into(),
            reason: what.into(),
        });
    }
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut head = [0u8; 80];
    let n = f
        .read(&mut head)
        .map_err(|e| Error::io(path, "cannot read", e))?;
    let head = &head[..n];
    if n == 0 {
        return Err(Error::NotFits {
            path: path.into(),
            reason: "the file is empty".into(),
        });
    }
    let compressed = head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x1f, 0x9d]);
    if compressed {
        return Ok(Storage::Compressed);
    }
    if head.starts_with(b"SIMPLE  =") {
        let len = f
            .metadata()
            .map_err(|e| Error::io(path, "cannot read", e))?
            .len();
        if check_headers {
            super::prescan::check_plain(path, len)?;
        }
        return Ok(Storage::Plain { len });
    }
    let shown: String = head
        .iter()
        .take(24)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    Err(Error::NotFits {
        path: path.into(),
        reason: format!("it does not begin with 'SIMPLE  =' (it begins with {shown:?})"),
    })
}

/// Keywords of the binary table that carries a compressed image, and what they mean for the image.
fn compressed_card_rename(key: &str) -> Option<Option<&'static str>> {
    let renamed = match key {
        "ZSIMPLE" => Some("SIMPLE"),
        "ZTENSION" => Some("XTENSION"),
        "ZBITPIX" => Some("BITPIX"),
        "ZNAXIS" => Some("NAXIS"),
        "ZEXTEND" => Some("EXTEND"),
        "ZPCOUNT" => Some("PCOUNT"),
        "ZGCOUNT" => Some("GCOUNT"),
        "ZHECKSUM" => Some("CHECKSUM"),
        "ZDATASUM" => Some("DATASUM"),
        _ => None,
    };
    if renamed.is_some() {
        return Some(renamed);
    }
    let table_only = [
        "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "ZIMAGE",
        "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0", "ZBLANK", "ZBLOCKED", "CHECKSUM", "DATASUM",
    ];
    let indexed = [
        "NAXIS", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDIM", "ZTILE", "ZNAME",
        "ZVAL",
    ];
    let is_indexed = |p: &str| {
        key.strip_prefix(p)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
    };
    if table_only.contains(&key) || indexed.iter().any(|p| is_indexed(p)) {
        return Some(None);
    }
    None
}

/// The header of the image inside a tile-compressed binary table, as the image's own header.
fn image_header_of_compressed(table: Header, naxes: &[usize]) -> Header {
    let mut cards = Vec::with_capacity(table.cards.len());
    for card in table.cards {
        if card.is_commentary() {
            cards.push(card);
            continue;
        }
        if let Some(n) = card
            .keyword
            .strip_prefix("ZNAXIS")
            .filter(|n| n.parse::<usize>().is_ok())
        {
            cards.push(Card {
                keyword: format!("NAXIS{n}"),
                ..card
            });
            continue;
        }
        match compressed_card_rename(&card.keyword) {
            Some(Some(new)) => cards.push(Card {
                keyword: new.into(),
                ..card
            }),
            Some(None) => {}
            None => cards.push(card),
        }
    }
    let mut h = Header { cards };
    if !h.contains("SIMPLE") && !h.contains("XTENSION") {
        h.cards
            .insert(0, Card::new("XTENSION", Value::Str("IMAGE".into()), ""));
    }
    if !h.contains("NAXIS") {
        h.set("NAXIS", Value::Int(naxes.len() as i64), "");
    }
    h
}

/// Append the primary header's keywords that an extension lacks (the usual INHERIT behaviour).
fn inherit_primary(mut ext: Header, primary: &Header) -> Header {
    for card in &primary.cards {
        if card.is_commentary() || is_structural(&card.keyword) || ext.contains(&card.keyword) {
            continue;
        }
        if matches!(
            card.keyword.as_str(),
            "EXTNAME" | "CHECKSUM" | "DATASUM" | "INHERIT"
        ) {
            continue;
        }
        ext.cards.push(card.clone());
    }
    ext
}

/// Bytes of data the current HDU's raw header announces: |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ...).
fn announced_data_bytes(raw_header: &Header) -> u64 {
    let bitpix = raw_header.get_i64("BITPIX").unwrap_or(8).unsigned_abs();
    let naxis = raw_header.get_i64("NAXIS").unwrap_or(0).max(0);
    let product: u64 = (1..=naxis)
        .map(|i| raw_header.get_i64(&format!("NAXIS{i}")).unwrap_or(0).max(0) as u64)
        .product();
    let product = if naxis == 0 { 0 } else { product };
    let pcount = raw_header.get_i64("PCOUNT").unwrap_or(0).max(0) as u64;
    let gcount = raw_header.get_i64("GCOUNT").unwrap_or(1).max(1) as u64;
    bitpix / 8 * gcount * (pcount + product)
}

/// Refuse a plain file that ends before the chosen HDU's data does; reopen one that only lacks
/// the padding of its last block from memory, padded (cfitsio reads whole blocks).
fn check_length(
    raw: RawFits,
    path: &Path,
    storage: Storage,
    hdu: usize,
) -> Result<(RawFits, Option<u64>)> {
    let Storage::Plain { len } = storage else {
        return Ok((raw, None));
    };
    let mut raw = raw;
    let (_, data_start) = raw.offsets()?;
    let need = data_start + announced_data_bytes(&Header::from_card_images(raw.card_images()?));
    if len < need {
        return Err(Error::BadFits {
            path: path.into(),
            reason: format!(
                "the file is truncated: HDU {hdu} needs {need} bytes but the file has only {len}"
            ),
        });
    }
    if len % 2880 == 0 {
        return Ok((raw, Some(data_start)));
    }
    drop(raw);
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read", e))?;
    bytes.resize((bytes.len()).div_ceil(2880) * 2880, 0);
    let mut raw = RawFits::open_memory(path, bytes)?;
    raw.move_to(hdu)?;
    Ok((raw, None))
}

impl FitsImage {
    /// Open `path` and select an image HDU, reading its header (no pixels yet).
    pub fn open(path: &Path, choice: &HduChoice) -> Result<FitsImage> {
        Self::open_with(path, choice, true)
    }

    /// Open again a file that [`FitsImage::open`] has checked, to read its rows: the checks of
    /// every HDU's header are not repeated on each band (the storage and length still are).
    pub fn reopen(path: &Path, choice: &HduChoice) -> Result<FitsImage> {
        Self::open_with(path, choice, false)
    }

    fn open_with(path: &Path, choice: &HduChoice, check_headers: bool) -> Result<FitsImage> {
        let storage = sniff_with(path, check_headers)?;
        let mut raw = RawFits::open(path)?;
        let n_hdus = raw.num_hdus()?;
        let hdu = match choice {
            HduChoice::FirstImage => first_image_hdu(&mut raw, path, n_hdus)?,
            HduChoice::Index(i) if *i >= n_hdus => {
                return Err(Error::Hdu {
                    path: path.into(),
                    hdu: i.to_string(),
                    reason: format!("the file has {n_hdus} HDU(s), numbered 0 to {}", n_hdus - 1),
                });
            }
            HduChoice::Index(i) => *i,
            HduChoice::Name(name) => raw.move_to_name(name)?,
        };
        let kind = raw.move_to(hdu)?;
        let naxes = if kind == IMAGE_HDU {
            raw.image_shape()?
        } else {
            vec![]
        };
        if naxes.is_empty() || naxes.contains(&0) {
            let what = if kind == IMAGE_HDU {
                "an image HDU without pixels (NAXIS = 0)"
            } else {
                "a table, not an image"
            };
            return Err(Error::Hdu {
                path: path.into(),
                hdu: hdu.to_string(),
                reason: what.into(),
            });
        }
        let (mut raw, data_start) = check_length(raw, path, storage, hdu)?;
        let mut info = read_info(&mut raw, path, hdu, naxes)?;
        if info.compression.is_none() {
            info.layout = data_start.and_then(|d| RawLayout::of(&info.header, info.bitpix, d));
        }
        let mut image = FitsImage { raw, info };
        if storage == Storage::Compressed && check_headers {
            image.probe_last_pixel()?;
        }
        Ok(image)
    }

    /// Read one plane (0-based) of the image as a 2-D array (row = y).
    pub fn read_plane(&mut self, plane: usize) -> Result<Array2<f32>> {
        let ny = self.info.ny();
        self.read_rows(plane, 0..ny)
    }

    /// Read rows `rows` (0-based, half-open) of one plane: the building block of row-band streaming.
    pub fn read_rows(&mut self, plane: usize, rows: Range<usize>) -> Result<Array2<f32>> {
        let mut out = self.allocate(rows.len())?;
        self.read_rows_into(
            plane,
            rows,
            out.as_slice_mut().expect("new arrays are contiguous"),
        )?;
        Ok(out)
    }

    /// A zeroed array of `rows` x NAXIS1, or an error naming the file when memory cannot hold it
    /// (never an abort).
    fn allocate(&self, rows: usize) -> Result<Array2<f32>> {
        let nx = self.info.nx();
        let too_big = || {
            Error::Invalid(format!(
                "{}: {rows} rows of {nx} pixels do not fit in memory",
                self.info.path.display()
            ))
        };
        let len = rows.checked_mul(nx).ok_or_else(too_big)?;
        let mut v: Vec<f32> = Vec::new();
        v.try_reserve_exact(len).map_err(|_| too_big())?;
        v.resize(len, 0.0);
        Ok(Array2::from_shape_vec((rows, nx), v).expect("rows x nx values"))
    }

    /// For a gzip or compress file (whose length says nothing until cfitsio inflates it): read the
    /// last pixel, so a header that promises more than the file holds fails here, by name, before
    /// any plane is allocated.
    fn probe_last_pixel(&mut self) -> Result<()> {
        let last: Vec<usize> = self.info.naxes.iter().map(|n| n - 1).collect();
        let mut one = [0f32; 1];
        self.raw.read_f32_into(&last, &mut one).map_err(|_| Error::BadFits {
            path: self.info.path.clone(),
            reason: format!(
                "the data ends before the {} pixels its header describes (truncated, or a header that lies)",
                self.info
                    .naxes
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" x ")
            ),
        })
    }

    /// Read rows `rows` of one plane into `out` (`rows.len()` x NAXIS1 values, row by row), so a
    /// stack can reuse its band buffers instead of allocating (and page-faulting) new ones.
    pub fn read_rows_into(
        &mut self,
        plane: usize,
        rows: Range<usize>,
        out: &mut [f32],
    ) -> Result<()> {
        let (nx, ny, np) = (self.info.nx(), self.info.ny(), self.info.n_planes());
        if plane >= np {
            return Err(Error::Invalid(format!(
                "{}: plane {} does not exist (the image has {np} plane(s), numbered 1 to {np})",
                self.info.path.display(),
                plane + 1
            )));
        }
        if rows.end > ny || rows.start > rows.end || out.len() != nx * rows.len() {
            return Err(Error::Invalid(format!(
                "{}: rows {}..{} lie outside the image's {ny} rows (or the buffer has the wrong size)",
                self.info.path.display(),
                rows.start,
                rows.end
            )));
        }
        let mut first = vec![0usize; self.info.naxes.len().max(2)];
        first[1] = rows.start;
        // planes beyond the third axis are flattened, NAXIS3 fastest
        let mut rest = plane;
        for (axis, len) in self.info.naxes.iter().enumerate().skip(2) {
            first[axis] = rest % len;
            rest /= len;
        }
        first.truncate(self.info.naxes.len());
        if out.is_empty() {
            return Ok(());
        }
        match self.info.layout {
            Some(layout) => self.read_direct(&layout, plane, rows, out),
            None => self.raw.read_f32_into(&first, out),
        }
    }

    /// Rows of a plain uncompressed image with one positioned read, decoded here.
    fn read_direct(
        &self,
        layout: &RawLayout,
        plane: usize,
        rows: Range<usize>,
        out: &mut [f32],
    ) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let (nx, ny) = (self.info.nx(), self.info.ny());
        let bpp = layout.bytes_per_pixel();
        let offset = layout.data_offset + ((plane * ny + rows.start) * nx * bpp) as u64;
        let path = &self.info.path;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        if layout.bitpix == -32 && layout.bscale == 1.0 && layout.bzero == 0.0 {
            // straight into the caller's buffer, then swapped in place
            // SAFETY: any byte pattern is a valid f32; the view covers exactly `out`.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, out.len() * 4)
            };
            file.read_exact_at(bytes, offset)
                .map_err(|e| Error::io(path, "cannot read pixels", e))?;
            for v in out.iter_mut() {
                let x = f32::from_bits(u32::from_be(v.to_bits()));
                *v = if x.is_nan() { f32::NAN } else { x };
            }
            return Ok(());
        }
        READ_BUFFER.with(|b| {
            let mut buf = b.borrow_mut();
            buf.resize(out.len() * bpp, 0);
            file.read_exact_at(&mut buf, offset)
                .map_err(|e| Error::io(path, "cannot read pixels", e))?;
            decode(&buf, layout, out);
            Ok(())
        })
    }

    /// One plane through cfitsio's general path (tests compare it with the direct reader).
    #[doc(hidden)]
    pub fn read_plane_cfitsio(&mut self, plane: usize) -> Result<Array2<f32>> {
        let layout = self.info.layout.take();
        let result = self.read_plane(plane);
        self.info.layout = layout;
        result
    }
}

fn first_image_hdu(raw: &mut RawFits, path: &Path, n_hdus: usize) -> Result<usize> {
    let mut seen = Vec::new();
    for i in 0..n_hdus {
        let kind = raw.move_to(i)?;
        if kind == IMAGE_HDU {
            let naxes = raw.image_shape()?;
            if !naxes.is_empty() && !naxes.contains(&0) {
                return Ok(i);
            }
            seen.push(format!("HDU {i}: empty image"));
        } else {
            seen.push(format!("HDU {i}: table"));
        }
    }
    Err(Error::NoImage {
        path: path.into(),
        detail: seen.join(", "),
    })
}

fn read_info(raw: &mut RawFits, path: &Path, hdu: usize, naxes: Vec<usize>) -> Result<ImageInfo> {
    let bitpix = raw.bitpix()?;
    let compressed = raw.is_compressed_image();
    let mut header = Header::from_card_images(raw.card_images()?);
    let compression = if compressed {
        header.get_str("ZCMPTYPE").map(str::to_string)
    } else {
        None
    };
    if compressed {
        header = image_header_of_compressed(header, &naxes);
    }
    if hdu > 0 {
        raw.move_to(0)?;
        let primary = Header::from_card_images(raw.card_images()?);
        header = inherit_primary(header, &primary);
        raw.move_to(hdu)?;
    }
    Ok(ImageInfo {
        path: path.into(),
        hdu,
        bitpix,
        naxes,
        compression,
        header,
        layout: None,
    })
}

/// Options for [`read_frame`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub hdu: HduChoice,
    /// 0-based plane of a cube (0 for 2-D images).
    pub plane: usize,
}

/// Read the header of a file's image HDU without its pixels.
pub fn read_image_info(path: &Path, hdu: &HduChoice) -> Result<ImageInfo> {
    Ok(FitsImage::open(path, hdu)?.info)
}

/// Read one image (one plane of a cube) into a [`Frame`].
pub fn read_frame(path: &Path, options: &ReadOptions) -> Result<Frame> {
    let mut img = FitsImage::open(path, &options.hdu)?;
    let data = img.read_plane(options.plane)?;
    let info = img.info;
    Ok(Frame {
        data,
        source: Some(FrameSource {
            path: info.path,
            hdu: info.hdu,
            plane: options.plane,
            n_planes: info.naxes.iter().skip(2).product::<usize>().max(1),
            bitpix: info.bitpix,
        }),
        header: info.header,
    })
}

/// One line of a file's HDU list.
#[derive(Debug, Clone)]
pub struct HduSummary {
    pub index: usize,
    pub extname: Option<String>,
    /// "image", "compressed image", "ascii table", "binary table"
    pub kind: &'static str,
    pub naxes: Vec<usize>,
}

/// List every HDU of a file.
pub fn list_hdus(path: &Path) -> Result<Vec<HduSummary>> {
    sniff(path)?;
    let mut raw = RawFits::open(path)?;
    let n = raw.num_hdus()?;
    let mut out = Vec::with_capacity(n);
    for index in 0..n {
        let kind = raw.move_to(index)?;
        let header = Header::from_card_images(raw.card_images()?);
        let (kind, naxes) = match kind {
            IMAGE_HDU if raw.is_compressed_image() => ("compressed image", raw.image_shape()?),
            IMAGE_HDU => ("image", raw.image_shape()?),
            1 => ("ascii table", vec![]),
            _ => ("binary table", vec![]),
        };
        out.push(HduSummary {
            index,
            extname: header.get_str("EXTNAME").map(str::to_string),
            kind,
            naxes,
        });
    }
    Ok(out)
}

/// Read the raw header of HDU `index` exactly as stored (for compressed images: the table's header).
pub fn read_raw_header(path: &Path, index: usize) -> Result<Header> {
    sniff(path)?;
    let mut raw = RawFits::open(path)?;
    let n = raw.num_hdus()?;
    if index >= n {
        return Err(Error::Hdu {
            path: path.into(),
            hdu: index.to_string(),
            reason: format!("the file has {n} HDU(s), numbered 0 to {}", n - 1),
        });
    }
    raw.move_to(index)?;
    Ok(Header::from_card_images(raw.card_images()?))
}
