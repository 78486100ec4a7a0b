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

/// A temporary name beside `path`, unique within this process: `.NAME.part-PID-N`. The first
/// in a folder also removes the temporary files that dead processes left there.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    sweep_dead_parts(path.parent().unwrap_or(Path::new(".")));
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.part-{}-{n}", std::process::id()))
}

/// The process id in a temporary file's name `.NAME.part-PID-N`.
fn part_owner(file_name: &str) -> Option<i32> {
    let rest = file_name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(".part-")?;
    let (pid, n) = tail.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is gone (a process we may not signal is alive).
fn is_dead(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists
    pid > 0
        && unsafe { libc::kill(pid, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Remove `dir`'s temporary files whose writer process has died (killed mid-write); each folder
/// once per process.
fn sweep_dead_parts(dir: &Path) {
    static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if swept.iter().any(|d| d == dir) {
            return;
        }
        swept.push(dir.to_path_buf());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if part_owner(&name.to_string_lossy()).is_some_and(is_dead) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Put a finished temporary file at its final name. With `overwrite` it replaces what is there;
/// without, it takes the name only if the name is free at that instant (renameat2's
/// RENAME_NOREPLACE, or a hard link where the filesystem lacks it), so a writer that got there
/// first is never replaced.
pub(super) fn place(tmp: &Path, path: &Path, overwrite: bool) -> Result<()> {
    let into_place = |e| Error::io(path, "cannot rename into place", e);
    if overwrite {
        return std::fs::rename(tmp, path).map_err(into_place);
    }
    let exists = || Error::OutputExists { path: path.into() };
    match rename_noreplace(tmp, path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists()),
        Err(e) if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            return Err(into_place(e));
        }
        Err(_) => {} // the filesystem has no RENAME_NOREPLACE: link instead
    }
    match std::fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
        Err(e) => Err(Error::io(path, "cannot link into place", e)),
    }
}

fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths, relative to the working folder
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
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
        place(&tmp, path, options.overwrite)
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
    overwrite: bool,
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
            overwrite: options.overwrite,
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

    /// Pad, sync and put into place; every row must have been written.
    pub fn finish(self) -> Result<()> {
        self.ready()?.place()
    }

    /// Pad and sync: the file, complete under its temporary name, waits to be placed (with the
    /// other outputs of its step, by [`place_together`]).
    pub fn ready(mut self) -> Result<Ready> {
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
        self.finished = true;
        Ok(Ready::new(&self.tmp, &self.path, self.overwrite))
    }
}

/// A complete, synced output under its temporary name. Dropped unplaced, it removes the file.
pub struct Ready {
    tmp: PathBuf,
    path: PathBuf,
    overwrite: bool,
    placed: bool,
}

impl Ready {
    pub(super) fn new(tmp: &Path, path: &Path, overwrite: bool) -> Ready {
        Ready {
            tmp: tmp.into(),
            path: path.into(),
            overwrite,
            placed: false,
        }
    }

    /// Give it its final name (see [`place`]).
    pub fn place(mut self) -> Result<()> {
        place(&self.tmp, &self.path, self.overwrite)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Place a step's outputs in order, the main one last, so its image never appears without its
/// maps; if one cannot take its name, the ones placed before it are removed again and the rest
/// never appear.
pub fn place_together(outputs: Vec<Ready>) -> Result<()> {
    let mut placed: Vec<PathBuf> = Vec::new();
    for r in outputs {
        let (path, overwrite) = (r.path.clone(), r.overwrite);
        if let Err(e) = r.place() {
            for p in &placed {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        if !overwrite {
            placed.push(path);
        }
    }
    Ok(())
}

impl Drop for StreamingWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.join();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
