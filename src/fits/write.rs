//! Writing f32 images (BITPIX -32) atomically: a temporary file in the target folder, renamed into place.

use super::header::{Card, Header, Value, is_structural};
use crate::error::{Error, Result};
use ndarray::ArrayView2;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const BLOCK: usize = 2880;

/// Options for writing an output file.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Replace an existing file (never an input: see [`refuse_inputs`]).
    pub overwrite: bool,
}

/// Cards whose meaning is lost once the pixels change; not copied from a source header.
const DROPPED_ON_WRITE: &[&str] = &[
    "CHECKSUM", "DATASUM", "EXTNAME", "EXTVER", "INHERIT", "XTENSION", "SIMPLE",
];

/// The full header of a BITPIX -32 primary image: structure cards, then the source cards.
pub fn output_header(source: &Header, nx: usize, ny: usize) -> Header {
    let mut h = Header::default();
    h.cards.push(Card::new(
        "SIMPLE",
        Value::Bool(true),
        "conforms to FITS standard",
    ));
    h.cards.push(Card::new(
        "BITPIX",
        Value::Int(-32),
        "32-bit IEEE floating point",
    ));
    h.cards.push(Card::new("NAXIS", Value::Int(2), ""));
    h.cards
        .push(Card::new("NAXIS1", Value::Int(nx as i64), "columns (x)"));
    h.cards
        .push(Card::new("NAXIS2", Value::Int(ny as i64), "rows (y)"));
    h.cards.push(Card::new("EXTEND", Value::Bool(true), ""));
    for card in &source.cards {
        let k = card.keyword.as_str();
        if !card.is_commentary() && (is_structural(k) || DROPPED_ON_WRITE.contains(&k)) {
            continue;
        }
        h.cards.push(card.clone());
    }
    h
}

/// Header cards, END, and blank padding to a whole block.
pub(super) fn encode_header(full: &Header, bytes: &mut Vec<u8>) -> Result<()> {
    for image in full.to_card_images()? {
        bytes.extend_from_slice(image.as_bytes());
    }
    bytes.extend_from_slice(format!("{:<80}", "END").as_bytes());
    bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, b' ');
    Ok(())
}

/// The bytes of a whole FITS file holding `data` as BITPIX -32 with `header`'s cards.
pub fn encode_f32(data: ArrayView2<f32>, header: &Header) -> Result<Vec<u8>> {
    let (ny, nx) = data.dim();
    let mut bytes = Vec::with_capacity(BLOCK * 4 + nx * ny * 4);
    encode_header(&output_header(header, nx, ny), &mut bytes)?;
    for v in data.iter() {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, 0);
    Ok(bytes)
}

/// The bytes of a FITS file holding unsigned 16-bit `data` as cameras write it: BITPIX 16, BZERO 32768.
pub fn encode_u16(data: ArrayView2<u16>, header: &Header) -> Result<Vec<u8>> {
    let (ny, nx) = data.dim();
    let mut full = output_header(header, nx, ny);
    full.cards[1] = Card::new(
        "BITPIX",
        Value::Int(16),
        "16-bit integers, unsigned through BZERO",
    );
    full.cards.insert(
        6,
        Card::new("BZERO", Value::Float(32768.0), "physical = stored + 32768"),
    );
    full.cards
        .insert(7, Card::new("BSCALE", Value::Float(1.0), ""));
    let mut bytes = Vec::with_capacity(BLOCK * 4 + nx * ny * 2);
    encode_header(&full, &mut bytes)?;
    for &v in data.iter() {
        bytes.extend_from_slice(&((v as i32 - 32768) as i16).to_be_bytes());
    }
    bytes.resize(bytes.len().div_ceil(BLOCK) * BLOCK, 0);
    Ok(bytes)
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path`, unique within this process.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.part-{}-{n}", std::process::id()))
}

/// Write `bytes` to `path` atomically: to a temporary file in the same folder, synced, then renamed.
/// An existing `path` is refused unless `options.overwrite`.
pub fn write_atomic(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<()> {
    if path.exists() && !options.overwrite {
        return Err(Error::OutputExists { path: path.into() });
    }
    let tmp = temp_path(path);
    let result = (|| {
        // an interrupted run leaves at most a hidden .part file, never a half output
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create", e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io(&tmp, "cannot write", e))?;
        f.sync_all()
            .map_err(|e| Error::io(&tmp, "cannot sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot rename into place", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write an f32 image with `header`'s cards (structure cards are made anew) as a FITS file.
pub fn write_f32(
    path: &Path,
    data: ArrayView2<f32>,
    header: &Header,
    options: WriteOptions,
) -> Result<()> {
    let bytes = encode_f32(data, header)?;
    write_atomic(path, &bytes, options)
}

/// Refuse an output path that names one of the inputs (compared after resolving links).
pub fn refuse_inputs(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(out) = output.canonicalize() else {
        return Ok(()); // does not exist yet, so it is no input
    };
    if inputs
        .iter()
        .any(|i| i.canonicalize().is_ok_and(|i| i == out))
    {
        return Err(Error::WouldOverwriteInput {
            path: output.into(),
        });
    }
    Ok(())
}

/// An f32 image written row band by row band: header first, rows appended, then padded, synced and
/// renamed into place by [`StreamingWriter::finish`]. The byte conversion runs in the caller (in
/// parallel); the write calls run on a writer thread, so the disk works while the next band is
/// computed. Two buffers circulate between them. Dropped unfinished, it removes its temporary file.
pub struct StreamingWriter {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<Result<()>>>,
    tmp: PathBuf,
    path: PathBuf,
    rows_left: usize,
    nx: usize,
    data_bytes: usize,
    finished: bool,
}

/// The writer thread: write what arrives, hand the buffers back, then flush and sync.
fn write_loop(
    mut file: std::fs::File,
    tmp: PathBuf,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    back: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<()> {
    for buf in rx {
        file.write_all(&buf)
            .map_err(|e| Error::io(&tmp, "cannot write", e))?;
        let _ = back.try_send(buf);
    }
    file.sync_all()
        .map_err(|e| Error::io(&tmp, "cannot sync", e))
}

impl StreamingWriter {
    /// Start writing an `nx` x `ny` BITPIX -32 image with `header`'s cards to `path`.
    pub fn create(
        path: &Path,
        nx: usize,
        ny: usize,
        header: &Header,
        options: WriteOptions,
    ) -> Result<StreamingWriter> {
        if path.exists() && !options.overwrite {
            return Err(Error::OutputExists { path: path.into() });
        }
        let tmp = temp_path(path);
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create", e))?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
        let (back_tx, recycled) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let tmp_for_worker = tmp.clone();
        let worker = std::thread::Builder::new()
            .name("fits-writer".into())
            .spawn(move || write_loop(file, tmp_for_worker, rx, back_tx))
            .map_err(|e| Error::io(&tmp, "cannot start the writer thread", e))?;
        let mut w = StreamingWriter {
            tx: Some(tx),
            recycled,
            worker: Some(worker),
            tmp,
            path: path.into(),
            rows_left: ny,
            nx,
            data_bytes: 0,
            finished: false,
        };
        let mut head = Vec::new();
        encode_header(&output_header(header, nx, ny), &mut head)?;
        w.send(head)?;
        Ok(w)
    }

    /// Hand bytes to the writer thread; if it stopped, report its error.
    fn send(&mut self, bytes: Vec<u8>) -> Result<()> {
        let tx = self.tx.as_ref().expect("writer used after finish");
        if tx.send(bytes).is_err() {
            return Err(self.join().err().unwrap_or_else(|| {
                Error::Invalid(format!("{}: the writer thread stopped", self.tmp.display()))
            }));
        }
        Ok(())
    }

    /// Stop the writer thread and return its result.
    fn join(&mut self) -> Result<()> {
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Invalid(format!(
                "{}: the writer thread panicked",
                self.tmp.display()
            ))),
            None => Ok(()),
        }
    }

    /// Append the next rows (each `nx` long), top to bottom in FITS order (row 0 first).
    pub fn write_rows(&mut self, rows: ArrayView2<f32>) -> Result<()> {
        if rows.ncols() != self.nx || rows.nrows() > self.rows_left {
            return Err(Error::Invalid(format!(
                "{}: rows of the wrong shape for this image",
                self.path.display()
            )));
        }
        let mut buf = self.recycled.try_recv().unwrap_or_default();
        buf.resize(rows.len() * 4, 0);
        match rows.as_slice() {
            Some(values) => {
                use rayon::prelude::*;
                buf.par_chunks_mut(1 << 16)
                    .zip(values.par_chunks(1 << 14))
                    .for_each(|(b, v)| {
                        for (c, x) in b.chunks_exact_mut(4).zip(v) {
                            c.copy_from_slice(&x.to_be_bytes());
                        }
                    });
            }
            None => {
                for (c, x) in buf.chunks_exact_mut(4).zip(rows.iter()) {
                    c.copy_from_slice(&x.to_be_bytes());
                }
            }
        }
        self.data_bytes += buf.len();
        self.send(buf)?;
        self.rows_left -= rows.nrows();
        Ok(())
    }

    /// Pad, sync and rename into place; every row must have been written.
    pub fn finish(mut self) -> Result<()> {
        if self.rows_left != 0 {
            return Err(Error::Invalid(format!(
                "{}: {} rows never written",
                self.path.display(),
                self.rows_left
            )));
        }
        let pad = self.data_bytes.div_ceil(BLOCK) * BLOCK - self.data_bytes;
        self.send(vec![0u8; pad])?;
        self.join()?;
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|e| Error::io(&self.path, "cannot rename into place", e))?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for StreamingWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.join();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
