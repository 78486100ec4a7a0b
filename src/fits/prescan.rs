//! A plain FITS file's headers checked from its bytes before cfitsio sees them: data sizes that
//! overflow or pass the end of the file, and tile-compression parameters that would make cfitsio
//! divide by zero or write past its buffers (ZTILEn = 0, a ZNAXISn that disagrees with the tiles,
//! an HCOMPRESS tile whose stream holds more pixels than its tile).

use super::header::{Header, Value};
use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const BLOCK: u64 = 2880;
/// More HDUs than any real file has: a walk past this is reading garbage.
const MAX_HDUS: usize = 100_000;
/// Header blocks of one HDU past which the header is taken as garbage (about 36 million cards).
const MAX_HEADER_BLOCKS: u64 = 1_000_000;

struct Walker<'a> {
    path: &'a Path,
    file: std::fs::File,
    len: u64,
}

/// One HDU's problem, as an error naming the file and the HDU.
fn bad(path: &Path, hdu: usize, reason: impl std::fmt::Display) -> Error {
    Error::BadFits {
        path: path.into(),
        reason: format!("HDU {hdu}: {reason}"),
    }
}

/// An integer-valued keyword (a real, logical or string value is not one).
fn int(h: &Header, key: &str) -> Option<i64> {
    match h.get(key) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Walker<'_> {
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<()> {
        self.file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(buf))
            .map_err(|e| Error::io(self.path, "cannot read", e))
    }

    /// The header starting at `at`: its cards and its length in bytes (whole blocks).
    fn header_at(&mut self, at: u64, hdu: usize) -> Result<(Header, u64)> {
        let mut images = Vec::new();
        let mut block = vec![0u8; BLOCK as usize];
        for k in 0..MAX_HEADER_BLOCKS {
            let start = at + k * BLOCK;
            if start + BLOCK > self.len {
                return Err(bad(self.path, hdu, "the header has no END card"));
            }
            self.read_at(start, &mut block)?;
            for card in block.chunks(80) {
                if card.starts_with(b"END") && card[3..].iter().all(|b| *b == b' ') {
                    return Ok((Header::from_card_images(images), (k + 1) * BLOCK));
                }
                images.push(String::from_utf8_lossy(card).into_owned());
            }
        }
        Err(bad(self.path, hdu, "the header has no END card"))
    }
}

/// `{prefix}BITPIX` (a FITS data type) and `{prefix}NAXIS` (at least `min_axes`, at most 999).
fn type_and_axes(
    h: &Header,
    prefix: &str,
    min_axes: i64,
) -> std::result::Result<(i64, i64), String> {
    let (b, n) = (format!("{prefix}BITPIX"), format!("{prefix}NAXIS"));
    let bitpix = int(h, &b).ok_or(format!("{b} is missing or not an integer"))?;
    if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
        return Err(format!("{b} = {bitpix} is not a FITS data type"));
    }
    let naxis = int(h, &n).ok_or(format!("{n} is missing or not an integer"))?;
    if !(min_axes..=999).contains(&naxis) {
        return Err(format!("{n} = {naxis} is outside {min_axes}..999"));
    }
    Ok((bitpix, naxis))
}

/// Bytes of data a header announces: |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn),
/// every value checked.
fn data_bytes(h: &Header) -> std::result::Result<u64, String> {
    let (bitpix, naxis) = type_and_axes(h, "", 0)?;
    let mut product: u64 = if naxis == 0 { 0 } else { 1 };
    for i in 1..=naxis {
        let n = int(h, &format!("NAXIS{i}"))
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("NAXIS{i} is missing, negative or not an integer"))?;
        product = product
            .checked_mul(n as u64)
            .ok_or("the axis lengths overflow")?;
    }
    let pcount = match h.get("PCOUNT") {
        None => 0,
        Some(_) => int(h, "PCOUNT")
            .filter(|p| *p >= 0)
            .ok_or("PCOUNT is negative or not an integer")?,
    };
    let gcount = match h.get("GCOUNT") {
        None => 1,
        Some(_) => int(h, "GCOUNT")
            .filter(|g| *g >= 0)
            .ok_or("GCOUNT is negative or not an integer")?,
    };
    product
        .checked_add(pcount as u64)
        .and_then(|p| p.checked_mul(gcount as u64))
        .and_then(|p| p.checked_mul(bitpix.unsigned_abs() / 8))
        .ok_or_else(|| "the data size overflows".to_string())
}

/// Walk every HDU of a plain (uncompressed-file) FITS file of `len` bytes and check it.
pub fn check_plain(path: &Path, len: u64) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut w = Walker { path, file, len };
    let mut at = 0u64;
    for hdu in 0..MAX_HDUS {
        if hdu > 0 {
            let mut start = [0u8; 9];
            if at + BLOCK > len || w.read_at(at, &mut start).is_err() || &start != b"XTENSION=" {
                return Ok(()); // the last HDU (anything after it is not FITS and never read)
            }
        }
        let (h, header_len) = w.header_at(at, hdu)?;
        let data = data_bytes(&h).map_err(|r| bad(path, hdu, r))?;
        let data_start = at + header_len;
        if int(&h, "ZIMAGE").is_some() || h.get("ZIMAGE") == Some(&Value::Bool(true)) {
            check_tiles(&mut w, &h, hdu, data_start)?;
        }
        match data_start
            .checked_add(data.div_ceil(BLOCK) * BLOCK)
            .filter(|end| *end <= len.saturating_add(BLOCK))
        {
            Some(end) => at = end,
            // a truncated file: the reader says so for the HDU it reads (and reads the HDUs before)
            None => return Ok(()),
        }
    }
    Ok(())
}

const COMPRESSIONS: [&str; 7] = [
    "RICE_1",
    "RICE_ONE",
    "GZIP_1",
    "GZIP_2",
    "PLIO_1",
    "HCOMPRESS_1",
    "NOCOMPRESS",
];

/// Bytes of one table field of TFORM `form` (`rT` with T one of FITS's types), and its type.
fn field_width(form: &str) -> Option<(u64, char)> {
    let form = form.trim();
    let digits = form.chars().take_while(|c| c.is_ascii_digit()).count();
    let repeat: u64 = if digits == 0 {
        1
    } else {
        form[..digits].parse().ok()?
    };
    let t = form[digits..].chars().next()?;
    let width = match t {
        'L' | 'B' | 'A' => repeat,
        'X' => repeat.div_ceil(8),
        'I' => 2 * repeat,
        'J' | 'E' => 4 * repeat,
        'K' | 'D' | 'C' => 8 * repeat,
        'M' => 16 * repeat,
        'P' => 8 * repeat,
        'Q' => 16 * repeat,
        _ => return None,
    };
    Some((width, t))
}

/// The tile shape: ZNAXISn and ZTILEn, checked against each other and against the table's rows.
fn tile_geometry(h: &Header) -> std::result::Result<(Vec<u64>, Vec<u64>), String> {
    let (_, znaxis) = type_and_axes(h, "Z", 1)?;
    let (mut dims, mut tiles) = (Vec::new(), Vec::new());
    for i in 1..=znaxis {
        let n = int(h, &format!("ZNAXIS{i}"))
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("ZNAXIS{i} is missing, below 1 or not an integer"))?;
        let default = if i == 1 { n } else { 1 };
        let t = match h.get(&format!("ZTILE{i}")) {
            None => default,
            Some(_) => int(h, &format!("ZTILE{i}"))
                .filter(|t| (1..=n).contains(t))
                .ok_or_else(|| format!("ZTILE{i} is not an integer in 1..ZNAXIS{i} ({n})"))?,
        };
        dims.push(n as u64);
        tiles.push(t as u64);
    }
    let count = dims
        .iter()
        .zip(&tiles)
        .try_fold(1u64, |c, (n, t)| c.checked_mul(n.div_ceil(*t)))
        .ok_or("the tile count overflows")?;
    let rows = int(h, "NAXIS2").unwrap_or(-1);
    if rows < 0 || count != rows as u64 {
        return Err(format!(
            "ZNAXISn and ZTILEn make {count} tiles but the table has {rows} rows"
        ));
    }
    let kind = h.get_str("ZCMPTYPE").unwrap_or("");
    if !COMPRESSIONS.contains(&kind) {
        return Err(format!("ZCMPTYPE = '{kind}' is not a known compression"));
    }
    for k in 1..=99 {
        let Some(name) = h.get_str(&format!("ZNAME{k}")) else {
            break;
        };
        // writers store these as integers or reals (astropy writes NOISEBIT = 16.0)
        let v = h.get_f64(&format!("ZVAL{k}")).filter(|v| v.is_finite());
        let whole = v.filter(|v| v.fract() == 0.0);
        let ok = match name.to_ascii_uppercase().as_str() {
            "BLOCKSIZE" => whole.is_some_and(|v| v > 0.0 && v % 2.0 == 0.0),
            "BYTEPIX" => whole.is_some_and(|v| [1.0, 2.0, 4.0, 8.0].contains(&v)),
            "SMOOTH" | "NOISEBIT" | "SCALE" => v.is_some(),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "ZVAL{k} (the {name} of {kind}) is not a valid value"
            ));
        }
    }
    Ok((dims, tiles))
}

/// Pixels in tile `row` (the last tile along an axis may be shorter).
fn tile_pixels(dims: &[u64], tiles: &[u64], mut row: u64) -> u64 {
    let mut pixels = 1;
    for (n, t) in dims.iter().zip(tiles) {
        let count = n.div_ceil(*t);
        let k = row % count;
        row /= count;
        pixels *= (*t).min(n - k * t);
    }
    pixels
}

/// A tile-compressed image's parameters, and every tile's place in the heap; for HCOMPRESS, the
/// size each tile's stream declares (cfitsio's decoder trusts it).
fn check_tiles(w: &mut Walker, h: &Header, hdu: usize, data_start: u64) -> Result<()> {
    let path = w.path;
    let (dims, tiles) = tile_geometry(h).map_err(|r| bad(path, hdu, r))?;
    let tfields = int(h, "TFIELDS").unwrap_or(0).clamp(0, 999);
    let (mut offset, mut column) = (0u64, None);
    for i in 1..=tfields {
        let form = h.get_str(&format!("TFORM{i}")).unwrap_or("");
        let (width, t) =
            field_width(form).ok_or_else(|| bad(path, hdu, format!("TFORM{i} = '{form}'")))?;
        if h.get_str(&format!("TTYPE{i}")) == Some("COMPRESSED_DATA") {
            column = Some((offset, t));
        }
        offset += width;
    }
    let row_bytes = int(h, "NAXIS1").unwrap_or(0).max(0) as u64;
    let rows = int(h, "NAXIS2").unwrap_or(0).max(0) as u64;
    if offset != row_bytes {
        return Err(bad(
            path,
            hdu,
            format!("the columns take {offset} bytes but NAXIS1 = {row_bytes}"),
        ));
    }
    let Some((col, t)) = column else {
        return Err(bad(path, hdu, "no COMPRESSED_DATA column"));
    };
    let table = row_bytes * rows;
    let heap_start = data_start + int(h, "THEAP").map_or(table, |t| t.max(0) as u64);
    let heap_end = data_start + table + int(h, "PCOUNT").unwrap_or(0).max(0) as u64;
    let hcompress = h.get_str("ZCMPTYPE") == Some("HCOMPRESS_1");
    for row in 0..rows {
        let at = data_start + row * row_bytes + col;
        let (count, place) = if t == 'P' {
            let mut d = [0u8; 8];
            w.read_at(at, &mut d)?;
            (
                u32::from_be_bytes(d[..4].try_into().expect("4 bytes")) as u64,
                u32::from_be_bytes(d[4..].try_into().expect("4 bytes")) as u64,
            )
        } else {
            let mut d = [0u8; 16];
            w.read_at(at, &mut d)?;
            (
                u64::from_be_bytes(d[..8].try_into().expect("8 bytes")),
                u64::from_be_bytes(d[8..].try_into().expect("8 bytes")),
            )
        };
        let start = heap_start.saturating_add(place);
        if start.saturating_add(count) > heap_end.min(w.len) {
            return Err(bad(
                path,
                hdu,
                format!("tile {row}'s compressed bytes lie outside the heap"),
            ));
        }
        if hcompress && count > 0 {
            let mut head = [0u8; 10];
            if count < 10 {
                return Err(bad(
                    path,
                    hdu,
                    format!("tile {row}'s HCOMPRESS stream is too short"),
                ));
            }
            w.read_at(start, &mut head)?;
            let nx = i32::from_be_bytes(head[2..6].try_into().expect("4 bytes")) as i64;
            let ny = i32::from_be_bytes(head[6..10].try_into().expect("4 bytes")) as i64;
            let want = tile_pixels(&dims, &tiles, row);
            if head[..2] != [0xDD, 0x99] || nx < 1 || ny < 1 || (nx * ny) as u64 != want {
                return Err(bad(
                    path,
                    hdu,
                    format!(
                        "tile {row}'s HCOMPRESS stream holds {nx} x {ny} pixels but the tile has {want}"
                    ),
                ));
            }
        }
    }
    Ok(())
}
