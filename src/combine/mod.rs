//! Combining a stack of frames: row bands streamed under a memory limit, rejection per pixel
//! (IRAF imcombine or exact ccdproc semantics), scaling, zero offsets, weights, and the npix,
//! rejected-count and sigma maps. The result does not depend on band size or thread count.

mod clip_rules;
pub mod input;
pub mod inspect;
pub mod iraf;
pub mod iraf_params;
mod iraf_scale;
pub mod kernel;
mod lanes;
pub mod masks;
mod normalise;
pub mod params;
mod scaling;

pub use input::{FileInput, MemoryInput, StackInput};
pub use kernel::{FrameFactors, N_REASONS, Reason};
pub use params::{
    CombineParams, Keep, Method, NoiseKeywords, Normalisation, Rejection, Scale, Semantics,
    SigmaRule, Spread, Statistic, Weights, Zero,
};
pub use scaling::frame_factors;

use crate::error::{Error, Result};
use crate::fits::{Card, Header, MaskType, MaskWriter, StreamingWriter, Value, WriteOptions};
use crate::progress::Progress;
use kernel::{Combined, Scratch, combine_pixel, reject_pixel};
use ndarray::{Array2, Array3, ArrayView2, Axis};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One band of results: rows `y0..y0 + image.nrows()` of the outputs (views into buffers the
/// combination reuses from band to band).
pub struct BandResult<'a> {
    pub y0: usize,
    pub image: ArrayView2<'a, f32>,
    /// Values used per pixel.
    pub npix: ArrayView2<'a, f32>,
    /// Values rejected per pixel by the rules (NaN inputs not counted).
    pub rejected: ArrayView2<'a, f32>,
    pub sigma: Option<ArrayView2<'a, f32>>,
    /// Every input's [`Reason`] at every pixel, `[(row * nx + x) * n_inputs + input]` (when the
    /// parameters ask for `frame_reasons`).
    pub reasons: Option<&'a [u8]>,
}

/// The output rows of one band, allocated once per combination.
struct BandBuffers {
    image: Array2<f32>,
    npix: Array2<f32>,
    rejected: Array2<f32>,
    sigma: Option<Array2<f32>>,
    reasons: Option<Vec<u8>>,
}

impl BandBuffers {
    fn new(rows: usize, nx: usize, sigma: bool, reasons_of: Option<usize>) -> BandBuffers {
        let a = || Array2::from_shape_vec((rows, nx), big_buffer(rows * nx)).expect("rows x nx");
        BandBuffers {
            image: a(),
            npix: a(),
            rejected: a(),
            sigma: sigma.then(a),
            reasons: reasons_of.map(|n| vec![0u8; rows * nx * n]),
        }
    }

    fn view(&self, y0: usize, rows: usize) -> BandResult<'_> {
        fn cut(a: &Array2<f32>, rows: usize) -> ArrayView2<'_, f32> {
            a.slice(ndarray::s![..rows, ..])
        }
        BandResult {
            y0,
            image: cut(&self.image, rows),
            npix: cut(&self.npix, rows),
            rejected: cut(&self.rejected, rows),
            sigma: self.sigma.as_ref().map(|a| cut(a, rows)),
            reasons: self.reasons.as_ref().map(|r| {
                let per_row = r.len() / self.image.nrows().max(1);
                &r[..rows * per_row]
            }),
        }
    }
}

/// A zeroed buffer for large arrays, backed by transparent huge pages where the kernel offers
/// them: 512 times fewer page faults when the band buffers are first touched.
pub fn big_buffer(len: usize) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let (lo, hi) = (start.div_ceil(HUGE) * HUGE, (start + len * 4) / HUGE * HUGE);
        if hi > lo {
            // SAFETY: advice only, on whole pages inside this allocation.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        }
    }
    v.resize(len, 0.0);
    v
}

/// What a combination did, for logs, JSON and headers.
#[derive(Debug, Clone, Serialize)]
pub struct CombineSummary {
    pub ncombine: usize,
    pub inputs: Vec<String>,
    pub shape: [usize; 2],
    pub scale: Vec<f64>,
    pub zero: Vec<f64>,
    pub weights: Option<Vec<f64>>,
    /// Values rejected by the rules, per frame.
    pub rejected_per_frame: Vec<u64>,
    /// NaN/masked input values, per frame.
    pub missing_per_frame: Vec<u64>,
    /// Values rejected per rule: threshold, extrema, sigma, grow.
    pub rejected_per_rule: RuleCounts,
    /// Output pixels where nothing survived.
    pub blank_pixels: u64,
    pub band_rows: usize,
    pub n_bands: usize,
    pub seconds: f64,
    /// Of `seconds`: reading inputs, the per-pixel work, and handing bands to the output.
    pub seconds_reading: f64,
    pub seconds_combining: f64,
    pub seconds_writing: f64,
}

/// Rejections per rule.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RuleCounts {
    pub threshold: u64,
    pub extrema: u64,
    pub sigma: u64,
    pub grow: u64,
}

/// Bytes one output row of `nx` pixels needs with `n` inputs: input values, grow's reason codes,
/// the four output rows as the threads make them and as the band holds them, the inputs' reasons
/// twice when the sink takes them, and what the sink and the reads hold per pixel.
fn bytes_per_row(n: usize, nx: usize, p: &CombineParams, extra_per_pixel: usize) -> usize {
    let reasons = if p.frame_reasons { 2 * n } else { 0 };
    nx * (4 * n + n + 2 * 4 * 4 + reasons + extra_per_pixel)
}

/// What the process holds besides the bands: its code, thread stacks, the allocator's slack.
pub const PROCESS_BASELINE_BYTES: usize = 24_000_000;

/// Rows per band that fit the memory limit (less the process's own baseline), counting the grow
/// halo above and below and `extra_per_pixel` bytes the sink and the reads hold per output pixel.
pub fn band_rows_for(
    params: &CombineParams,
    n: usize,
    nx: usize,
    ny: usize,
    extra_per_pixel: usize,
) -> Result<usize> {
    let per_row = bytes_per_row(n, nx, params, extra_per_pixel);
    let halo = 2 * params.rejection.grow_radius_px.ceil() as usize;
    let budget = params
        .memory_limit_bytes
        .saturating_sub(PROCESS_BASELINE_BYTES);
    let rows = budget / per_row.max(1);
    if rows < 1 + halo {
        return Err(Error::Invalid(format!(
            "memory limit {} bytes is too small: one band of {} row(s) of {n} frames x {nx} columns needs {} bytes",
            params.memory_limit_bytes,
            1 + halo,
            (1 + halo) * per_row
        )));
    }
    Ok((rows - halo).min(ny).max(1))
}

/// Check every input has the first one's shape.
fn check_shapes(inputs: &[&dyn StackInput]) -> Result<(usize, usize)> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::Invalid("nothing to combine: no input frames".into()))?;
    let shape = first.shape();
    for inp in &inputs[1..] {
        if inp.shape() != shape {
            let (a, b) = (inp.shape(), shape);
            return Err(Error::Invalid(format!(
                "{} is {}x{} (NAXIS1 x NAXIS2) but {} is {}x{}: frames of a stack must have one shape",
                inp.name(),
                a.1,
                a.0,
                first.name(),
                b.1,
                b.0
            )));
        }
    }
    Ok(shape)
}

/// Receives bands in order.
pub trait BandSink {
    /// Called once with the inputs' factors before the first band.
    fn begin(&mut self, _factors: &FrameFactors) -> Result<()> {
        Ok(())
    }
    /// Bytes the sink holds per output pixel of a band with `n` inputs (its write buffers).
    fn bytes_per_pixel(&self, _n: usize) -> usize {
        0
    }
    fn accept(&mut self, band: &BandResult) -> Result<()>;
}

/// Per-thread counters, merged at the end: [frame][reason].
type Counts = Vec<[u64; N_REASONS]>;

fn merge_counts(mut a: Counts, b: Counts) -> Counts {
    for (x, y) in a.iter_mut().zip(b) {
        for k in 0..N_REASONS {
            x[k] += y[k];
        }
    }
    a
}

/// Grow: pixels within `radius` of a pixel rejected by extrema or sigma (same frame) are rejected too.
fn grow_rejections(reasons: &mut Array3<u8>, radius: f64) {
    let r = radius.ceil() as isize;
    let (_, ny, nx) = reasons.dim();
    let offsets: Vec<(isize, isize)> = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy, dx)))
        .filter(|(dy, dx)| ((dy * dy + dx * dx) as f64) <= radius * radius)
        .collect();
    reasons
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .for_each(|mut plane| {
            let seeds: Vec<(usize, usize)> = plane
                .indexed_iter()
                .filter(|(_, v)| **v == Reason::Extrema as u8 || **v == Reason::Sigma as u8)
                .map(|(i, _)| i)
                .collect();
            for (y, x) in seeds {
                for (dy, dx) in &offsets {
                    let (yy, xx) = (y as isize + dy, x as isize + dx);
                    if yy >= 0
                        && xx >= 0
                        && (yy as usize) < ny
                        && (xx as usize) < nx
                        && plane[[yy as usize, xx as usize]] == 0
                    {
                        plane[[yy as usize, xx as usize]] = Reason::Grow as u8;
                    }
                }
            }
        });
}

/// The kernel's output for one row.
struct RowOut {
    image: Vec<f32>,
    npix: Vec<f32>,
    rejected: Vec<f32>,
    sigma: Vec<f32>,
    /// Every input's reason per pixel, `[x * n + i]` (when the sink takes them).
    reasons: Vec<u8>,
    counts: Counts,
}

/// Per-thread buffers: kernel scratch, the N values and N reasons of one pixel.
type PixelBuffers = (Scratch, Vec<f32>, Vec<u8>);

fn pixel_buffers(n: usize) -> PixelBuffers {
    (Scratch::default(), vec![0f32; n], vec![0u8; n])
}

/// Reason codes of every frame at every pixel of rows `0..nrows` of the stack, with grow applied.
fn grown_reasons(stack: &[ArrayView2<f32>], f: &FrameFactors, p: &CombineParams) -> Array3<u8> {
    let (n, (rows, nx)) = (stack.len(), stack[0].dim());
    let planes: Vec<Vec<u8>> = (0..rows)
        .into_par_iter()
        .map_init(
            || pixel_buffers(n),
            |(s, vals, reasons), y| {
                let mut out = vec![0u8; n * nx];
                if let Some(rules) = &f.iraf {
                    let rows: Vec<&[f32]> = stack
                        .iter()
                        .map(|a| a.row(y).to_slice().expect("bands are contiguous"))
                        .collect();
                    let row = iraf::combine_row(&rows, rules, false);
                    for x in 0..nx {
                        for i in 0..n {
                            out[i * nx + x] = row.reasons[x * n + i];
                        }
                    }
                    return out;
                }
                for x in 0..nx {
                    for i in 0..n {
                        vals[i] = stack[i][[y, x]];
                    }
                    reject_pixel(vals, f, &p.rejection, p.semantics, reasons, s);
                    for i in 0..n {
                        out[i * nx + x] = reasons[i];
                    }
                }
                out
            },
        )
        .collect();
    let mut r = Array3::<u8>::zeros((n, rows, nx));
    for (y, plane) in planes.iter().enumerate() {
        for i in 0..n {
            r.slice_mut(ndarray::s![i, y, ..])
                .assign(&ndarray::ArrayView1::from(&plane[i * nx..(i + 1) * nx]));
        }
    }
    grow_rejections(&mut r, p.rejection.grow_radius_px);
    r
}

/// The scalar kernel for pixel `x` of a row: gather, reject (or take the grown reasons), combine, count.
struct RowContext<'a> {
    rows_in: Vec<&'a [f32]>,
    y: usize,
    grown: Option<&'a Array3<u8>>,
    f: &'a FrameFactors,
    p: &'a CombineParams,
}

impl RowContext<'_> {
    fn scalar_pixel(&self, x: usize, out: &mut RowOut, b: &mut PixelBuffers) {
        let (s, vals, reasons) = b;
        for (v, row) in vals.iter_mut().zip(&self.rows_in) {
            *v = row[x];
        }
        match self.grown {
            Some(all) => (0..vals.len()).for_each(|i| reasons[i] = all[[i, self.y, x]]),
            None => reject_pixel(
                vals,
                self.f,
                &self.p.rejection,
                self.p.semantics,
                reasons,
                s,
            ),
        }
        let c = combine_pixel(vals, self.f, self.p, reasons, s);
        self.record(out, x, &c, reasons, reasons);
    }

    /// Store pixel `x`'s result, npix, rejected count and sigma, and count its reasons; the sink
    /// gets `used` (the reasons, or what IRAF's masks take as used).
    fn record(&self, out: &mut RowOut, x: usize, c: &Combined, reasons: &[u8], used: &[u8]) {
        out.image[x] = c.value;
        out.npix[x] = if self.p.npix_coverage {
            reasons
                .iter()
                .filter(|r| **r != Reason::Missing as u8)
                .count() as f32
        } else {
            c.n_used as f32
        };
        let mut nrej = 0u32;
        for (count, &reason) in out.counts.iter_mut().zip(reasons.iter()) {
            count[reason as usize] += 1;
            nrej += (reason >= Reason::Threshold as u8) as u32;
        }
        out.rejected[x] = nrej as f32;
        if self.p.sigma_map {
            out.sigma[x] = c.sigma;
        }
        if self.p.frame_reasons {
            let n = used.len();
            out.reasons[x * n..(x + 1) * n].copy_from_slice(used);
        }
    }

    /// IRAF semantics: the whole row through the port of IRAF's line-by-line algorithms.
    fn iraf_row(&self, rules: &iraf::IrafRules, out: &mut RowOut) {
        let n = self.rows_in.len();
        let row = match self.grown {
            Some(all) => {
                let nx = out.image.len();
                let mut reasons = vec![0u8; nx * n];
                for x in 0..nx {
                    for i in 0..n {
                        reasons[x * n + i] = all[[i, self.y, x]];
                    }
                }
                iraf::combine_row_from_reasons(&self.rows_in, rules, &reasons, self.p.sigma_map)
            }
            None => iraf::combine_row(&self.rows_in, rules, self.p.sigma_map),
        };
        let used = row.mask_reasons.as_ref().unwrap_or(&row.reasons);
        for (x, (reasons, used)) in row.reasons.chunks(n).zip(used.chunks(n)).enumerate() {
            let c = Combined {
                value: row.value[x],
                n_used: row.n_used[x],
                sigma: row.sigma.get(x).copied().unwrap_or(f32::NAN),
            };
            self.record(out, x, &c, reasons, used);
        }
    }

    /// Eight pixels at a time where the lane path applies, the scalar kernel for the rest.
    fn combine_row(
        &self,
        out: &mut RowOut,
        b: &mut PixelBuffers,
        lane: &mut Option<lanes::LaneScratch>,
    ) {
        if let Some(rules) = &self.f.iraf {
            return self.iraf_row(rules, out);
        }
        let nx = out.image.len();
        let mut x = 0;
        if let Some(ls) = lane.as_mut() {
            while x + lanes::LANES <= nx {
                for (l, outcome) in
                    lanes::combine_lanes(&self.rows_in, x, self.f, self.p, ls, &mut out.counts)
                        .into_iter()
                        .enumerate()
                {
                    match outcome {
                        Some(px) => {
                            out.image[x + l] = px.value;
                            out.npix[x + l] = if self.p.npix_coverage {
                                self.rows_in.len() as f32
                            } else {
                                px.n_used as f32
                            };
                            out.rejected[x + l] = px.n_rejected as f32;
                        }
                        None => self.scalar_pixel(x + l, out, b),
                    }
                }
                x += lanes::LANES;
            }
        }
        for x in x..nx {
            self.scalar_pixel(x, out, b);
        }
    }
}

/// Combine one band whose inputs cover rows `h0..` (the band plus any grow halo), producing rows `y0..y1`.
fn combine_band(
    stack: &[ArrayView2<f32>],
    h0: usize,
    y0: usize,
    y1: usize,
    f: &FrameFactors,
    p: &CombineParams,
    out: &mut BandBuffers,
) -> Counts {
    let (n, nx) = (stack.len(), stack[0].ncols());
    let grown = (p.rejection.grow_radius_px > 0.0).then(|| grown_reasons(stack, f, p));
    let use_lanes = n <= 64 && lanes::eligible(p, f);
    let rows: Vec<RowOut> = (y0..y1)
        .into_par_iter()
        .map_init(
            || {
                (
                    pixel_buffers(n),
                    use_lanes.then(|| lanes::LaneScratch::new(n)),
                )
            },
            |(buffers, lane), yy| {
                let y = yy - h0;
                let ctx = RowContext {
                    rows_in: stack
                        .iter()
                        .map(|a| a.row(y).to_slice().expect("bands are contiguous"))
                        .collect(),
                    y,
                    grown: grown.as_ref(),
                    f,
                    p,
                };
                let mut out = RowOut {
                    image: vec![0.0; nx],
                    npix: vec![0.0; nx],
                    rejected: vec![0.0; nx],
                    sigma: if p.sigma_map {
                        vec![0.0; nx]
                    } else {
                        Vec::new()
                    },
                    reasons: if p.frame_reasons {
                        vec![0; nx * n]
                    } else {
                        Vec::new()
                    },
                    counts: vec![[0; N_REASONS]; n],
                };
                ctx.combine_row(&mut out, buffers, lane);
                out
            },
        )
        .collect();
    for (r, row) in rows.iter().enumerate() {
        let copy = |a: &mut Array2<f32>, v: &Vec<f32>| {
            a.row_mut(r)
                .as_slice_mut()
                .expect("contiguous")
                .copy_from_slice(v)
        };
        copy(&mut out.image, &row.image);
        copy(&mut out.npix, &row.npix);
        copy(&mut out.rejected, &row.rejected);
        if let Some(sg) = out.sigma.as_mut() {
            copy(sg, &row.sigma);
        }
        if let Some(all) = out.reasons.as_mut() {
            all[r * nx * n..(r + 1) * nx * n].copy_from_slice(&row.reasons);
        }
    }
    rows.into_iter()
        .map(|r| r.counts)
        .fold(vec![[0; N_REASONS]; n], merge_counts)
}

/// Combine `inputs` band by band, handing each band to `sink`. `band_rows` overrides the band
/// height the memory limit gives (tests use it to prove results do not depend on it).
pub fn combine_stream(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    progress: &Progress,
    sink: &mut dyn BandSink,
    band_rows: Option<usize>,
) -> Result<CombineSummary> {
    let t0 = std::time::Instant::now();
    params.validate(inputs.len())?;
    let (ny, nx) = check_shapes(inputs)?;
    let n = inputs.len();
    let factors = frame_factors(inputs, params, progress)?;
    let rows = match band_rows {
        Some(r) => r.max(1),
        None => {
            // the inputs read in parallel, each with its own passing buffers
            let reading = inputs
                .iter()
                .map(|i| i.read_bytes_per_pixel())
                .max()
                .unwrap_or(0)
                * n.min(rayon::current_num_threads());
            band_rows_for(params, n, nx, ny, sink.bytes_per_pixel(n) + reading)?
        }
    };
    let halo = if params.rejection.grow_radius_px > 0.0 {
        params.rejection.grow_radius_px.ceil() as usize
    } else {
        0
    };
    let n_bands = ny.div_ceil(rows);
    progress.begin("combining", n_bands as u64);
    let mut counts: Counts = vec![[0; N_REASONS]; n];
    let mut blank_pixels = 0u64;
    // one buffer per frame for the whole run: bands reuse it instead of faulting in fresh memory
    let mut buffers: Vec<Vec<f32>> = (0..n)
        .map(|_| big_buffer((rows + 2 * halo).min(ny) * nx))
        .collect();
    let mut out = BandBuffers::new(
        rows.min(ny),
        nx,
        params.sigma_map,
        params.frame_reasons.then_some(n),
    );
    sink.begin(&factors)?;
    let mut times = [0.0f64; 3];
    for b in 0..n_bands {
        progress.check()?;
        let (y0, y1) = (b * rows, ((b + 1) * rows).min(ny));
        let (h0, h1) = (y0.saturating_sub(halo), (y1 + halo).min(ny));
        let n_rows = h1 - h0;
        let t = std::time::Instant::now();
        buffers
            .par_iter_mut()
            .zip(inputs.par_iter())
            .try_for_each(|(buf, inp)| inp.read_rows_into(h0..h1, &mut buf[..n_rows * nx]))?;
        times[0] += t.elapsed().as_secs_f64();
        progress.check()?;
        let t = std::time::Instant::now();
        let stack: Vec<ArrayView2<f32>> = buffers
            .iter()
            .map(|b| {
                ArrayView2::from_shape((n_rows, nx), &b[..n_rows * nx])
                    .expect("buffer holds the band")
            })
            .collect();
        let c = combine_band(&stack, h0, y0, y1, &factors, params, &mut out);
        let band = out.view(y0, y1 - y0);
        times[1] += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        blank_pixels += band
            .image
            .iter()
            .zip(band.npix.iter())
            .zip(band.rejected.iter())
            .filter(|((_, n), r)| **n == 0.0 || (params.npix_coverage && **n == **r))
            .count() as u64;
        counts = merge_counts(counts, c);
        sink.accept(&band)?;
        times[2] += t.elapsed().as_secs_f64();
        progress.advance(1);
    }
    let per = |r: Reason| counts.iter().map(|c| c[r as usize]).sum::<u64>();
    Ok(CombineSummary {
        ncombine: n,
        inputs: inputs.iter().map(|i| i.name()).collect(),
        shape: [nx, ny],
        scale: factors.scale.clone(),
        zero: factors.zero.clone(),
        weights: factors.weight.clone(),
        rejected_per_frame: counts.iter().map(|c| c[2..].iter().sum()).collect(),
        missing_per_frame: counts.iter().map(|c| c[Reason::Missing as usize]).collect(),
        rejected_per_rule: RuleCounts {
            threshold: per(Reason::Threshold),
            extrema: per(Reason::Extrema),
            sigma: per(Reason::Sigma),
            grow: per(Reason::Grow),
        },
        blank_pixels,
        band_rows: rows,
        n_bands,
        seconds: t0.elapsed().as_secs_f64(),
        seconds_reading: times[0],
        seconds_combining: times[1],
        seconds_writing: times[2],
    })
}

/// The whole result in memory.
pub struct CombineResult {
    pub image: Array2<f32>,
    pub npix: Array2<f32>,
    pub rejected: Array2<f32>,
    pub sigma: Option<Array2<f32>>,
    pub summary: CombineSummary,
}

struct MemorySink {
    image: Array2<f32>,
    npix: Array2<f32>,
    rejected: Array2<f32>,
    sigma: Option<Array2<f32>>,
}

impl BandSink for MemorySink {
    fn accept(&mut self, band: &BandResult) -> Result<()> {
        let rows = band.y0..band.y0 + band.image.nrows();
        self.image
            .slice_mut(ndarray::s![rows.clone(), ..])
            .assign(&band.image);
        self.npix
            .slice_mut(ndarray::s![rows.clone(), ..])
            .assign(&band.npix);
        self.rejected
            .slice_mut(ndarray::s![rows.clone(), ..])
            .assign(&band.rejected);
        if let (Some(all), Some(s)) = (self.sigma.as_mut(), band.sigma) {
            all.slice_mut(ndarray::s![rows, ..]).assign(&s);
        }
        Ok(())
    }
}

/// Combine into memory (for tests, the GUI, and stacks known to fit).
pub fn combine_in_memory(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    band_rows: Option<usize>,
) -> Result<CombineResult> {
    let (ny, nx) = check_shapes(inputs)?;
    let mut sink = MemorySink {
        image: Array2::zeros((ny, nx)),
        npix: Array2::zeros((ny, nx)),
        rejected: Array2::zeros((ny, nx)),
        sigma: params.sigma_map.then(|| Array2::zeros((ny, nx))),
    };
    let summary = combine_stream(inputs, params, &Progress::new(), &mut sink, band_rows)?;
    Ok(CombineResult {
        image: sink.image,
        npix: sink.npix,
        rejected: sink.rejected,
        sigma: sink.sigma,
        summary,
    })
}

/// Where the combined image and its maps go.
#[derive(Debug, Clone, Default)]
pub struct OutputPaths {
    pub image: PathBuf,
    /// Cards added to the image's header after the combination's own (the stack's parameters).
    pub extra_cards: Vec<Card>,
    pub npix: Option<PathBuf>,
    pub rejected: Option<PathBuf>,
    pub sigma: Option<PathBuf>,
    /// A cube with a plane per input: 1 where that input's value was not used (IRAF's rejmasks).
    pub rejection_masks: Option<PathBuf>,
    /// The summed exposure times of the inputs used, as IRAF's expmasks scales them.
    pub exposure_mask: Option<PathBuf>,
    /// The exposure time keyword for `exposure_mask` (empty: one second per input, as IRAF).
    pub exposure_keyword: String,
    pub overwrite: bool,
}

struct FileSink {
    image: StreamingWriter,
    npix: Option<StreamingWriter>,
    rejected: Option<StreamingWriter>,
    sigma: Option<StreamingWriter>,
    rejection_masks: Option<MaskWriter>,
    exposure: Option<(MaskWriter, masks::ExposureMask)>,
}

impl FileSink {
    /// Plane by plane, whether each input was left out of each pixel of the band.
    fn write_rejection_masks(&mut self, band: &BandResult, reasons: &[u8]) -> Result<()> {
        let Some(w) = self.rejection_masks.as_mut() else {
            return Ok(());
        };
        let pixels = band.image.len();
        let n = reasons.len() / pixels.max(1);
        for i in 0..n {
            let plane: Vec<i32> = reasons
                .chunks_exact(n)
                .map(|r| masks::left_out(r, i))
                .collect();
            w.write_rows(i, band.y0, &plane)?;
        }
        Ok(())
    }

    fn write_exposure_mask(&mut self, band: &BandResult, reasons: &[u8]) -> Result<()> {
        let Some((w, m)) = self.exposure.as_mut() else {
            return Ok(());
        };
        let n = reasons.len() / band.image.len().max(1);
        let values: Vec<i32> = reasons.chunks_exact(n).map(|r| m.value(r)).collect();
        w.write_rows(0, band.y0, &values)
    }
}

impl BandSink for FileSink {
    /// Each streamed image keeps up to three byte buffers of a band in flight (being filled,
    /// queued, being written); the masks make an i32 plane and its bytes at a time.
    fn bytes_per_pixel(&self, _n: usize) -> usize {
        let streamed = 1 + [&self.npix, &self.rejected, &self.sigma]
            .iter()
            .filter(|w| w.is_some())
            .count();
        let masks =
            self.rejection_masks.is_some() as usize * 5 + self.exposure.is_some() as usize * 8;
        3 * 4 * streamed + masks
    }

    fn begin(&mut self, factors: &FrameFactors) -> Result<()> {
        if let Some((_, m)) = self.exposure.as_mut() {
            m.weigh(factors.weight.as_deref());
        }
        Ok(())
    }

    fn accept(&mut self, band: &BandResult) -> Result<()> {
        if let Some(r) = band.reasons {
            self.write_rejection_masks(band, r)?;
            self.write_exposure_mask(band, r)?;
        }
        self.image.write_rows(band.image)?;
        if let Some(w) = self.npix.as_mut() {
            w.write_rows(band.npix)?;
        }
        if let Some(w) = self.rejected.as_mut() {
            w.write_rows(band.rejected)?;
        }
        if let (Some(w), Some(s)) = (self.sigma.as_mut(), band.sigma) {
            w.write_rows(s)?;
        }
        Ok(())
    }
}

/// The output header: the first input's cards plus NCOMBINE, IMCMBnnn, the parameters and HISTORY.
pub fn output_header(inputs: &[&dyn StackInput], params: &CombineParams) -> Header {
    let mut h = inputs[0].header().clone();
    h.remove("NCOMBINE");
    h.cards.retain(|c| !c.keyword.starts_with("IMCMB"));
    h.set(
        "NCOMBINE",
        Value::Int(inputs.len() as i64),
        "number of frames combined",
    );
    for (i, inp) in inputs.iter().enumerate().take(999) {
        h.set(&format!("IMCMB{:03}", i + 1), Value::Str(inp.name()), "");
    }
    let method = match params.method {
        Method::Average => "average",
        Method::Median => "median",
        Method::Sum => "sum",
        Method::Quadrature => "quadrature",
        Method::NoiseModel => "nmodel",
    };
    h.set("COMBINE", Value::Str(method.into()), "combination method");
    h.set(
        "REJECT",
        Value::Str(params.rejection.describe()),
        "rejection rules",
    );
    h.set(
        "SCALE",
        Value::Str(scaling::describe_scale(&params.scale)),
        "multiplicative scaling",
    );
    h.set(
        "ZERO",
        Value::Str(scaling::describe_zero(&params.zero)),
        "additive zero offsets",
    );
    h.set(
        "SEMANTIC",
        Value::Str(
            match params.semantics {
                Semantics::Skycomb => "skycomb",
                Semantics::Iraf => "iraf",
                Semantics::Ccdproc => "ccdproc",
            }
            .into(),
        ),
        "whose rules where they differ",
    );
    h.add_history(&format!(
        "skycomb combine: {method} of {} frames, reject {}",
        inputs.len(),
        params.rejection.describe()
    ));
    h
}

fn map_header(base: &Header, what: &str, image: &Path) -> Header {
    let mut h = Header::default();
    for key in ["OBJECT", "FILTER", "NCOMBINE"] {
        if let Some(c) = base.card(key) {
            h.cards.push(c.clone());
        }
    }
    h.cards
        .push(Card::new("BUNIT", Value::Str(what.into()), ""));
    // a map is no frame of the night: a later scan must not take it for a light
    h.cards.push(Card::new(
        "IMAGETYP",
        Value::Str("map".into()),
        "a combination's map, not a frame",
    ));
    h.cards.push(Card::new(
        MAP_OF,
        Value::Str(file_name(image)),
        "the combined image this map belongs to",
    ));
    h
}

/// The card naming a map's image.
const MAP_OF: &str = "MAPOF";

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Remove a map that a killed run placed before its image (which never appeared): it names the
/// image in MAPOF and the image is not there. Anything else at the map's name is left alone.
fn remove_orphan_map(map: &Path, image: &Path) {
    if image.exists() || !map.exists() {
        return;
    }
    let names_image = crate::fits::read_raw_header(map, 0)
        .ok()
        .and_then(|h| h.get_str(MAP_OF).map(str::to_string))
        .is_some_and(|n| n == file_name(image));
    if names_image {
        let _ = std::fs::remove_file(map);
    }
}

/// The rejection-mask cube: a byte plane per input, its planes named by IMCMBnnn as the inputs.
fn rejection_masks_writer(
    path: &Path,
    image: &Path,
    inputs: &[&dyn StackInput],
    header: &Header,
    opts: WriteOptions,
) -> Result<MaskWriter> {
    let (ny, nx) = inputs[0].shape();
    let mut h = map_header(header, "1 where the plane's input was not used", image);
    h.cards.extend(
        header
            .cards
            .iter()
            .filter(|c| c.keyword.starts_with("IMCMB"))
            .cloned(),
    );
    MaskWriter::create(path, [nx, ny, inputs.len()], true, MaskType::U8, &h, opts)
}

/// The exposure mask: 32-bit integers, MASKSCAL seconds each.
fn exposure_mask_writer(
    path: &Path,
    image: &Path,
    inputs: &[&dyn StackInput],
    header: &Header,
    keyword: &str,
    opts: WriteOptions,
) -> Result<(MaskWriter, masks::ExposureMask)> {
    let (ny, nx) = inputs[0].shape();
    let headers: Vec<&Header> = inputs.iter().map(|i| i.header()).collect();
    let m = masks::ExposureMask::iraf(&headers, keyword);
    let mut h = map_header(
        header,
        "exposure time of the inputs used (s / MASKSCAL)",
        image,
    );
    h.cards.extend(m.cards());
    let w = MaskWriter::create(path, [nx, ny, 1], false, MaskType::I32, &h, opts)?;
    Ok((w, m))
}

/// Combine `inputs` into FITS files, streamed: an error or a cancel leaves no output at all.
pub fn combine_to_files(
    inputs: &[&dyn StackInput],
    params: &CombineParams,
    out: &OutputPaths,
    progress: &Progress,
) -> Result<CombineSummary> {
    let (ny, nx) = check_shapes(inputs)?;
    let sources: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| i.path().map(PathBuf::from))
        .collect();
    for p in [
        Some(&out.image),
        out.npix.as_ref(),
        out.rejected.as_ref(),
        out.sigma.as_ref(),
        out.rejection_masks.as_ref(),
        out.exposure_mask.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        crate::fits::refuse_inputs(p, &sources)?;
    }
    let mut header = output_header(inputs, params);
    for c in &out.extra_cards {
        if c.is_commentary() {
            header.cards.push(c.clone());
        } else {
            header.set(&c.keyword, c.value.clone(), &c.comment);
        }
    }
    let opts = WriteOptions {
        overwrite: out.overwrite,
    };
    let maps = [
        &out.npix,
        &out.rejected,
        &out.sigma,
        &out.rejection_masks,
        &out.exposure_mask,
    ];
    for m in maps.into_iter().flatten() {
        remove_orphan_map(m, &out.image);
    }
    let open = |p: &Option<PathBuf>, what: &str| -> Result<Option<StreamingWriter>> {
        p.as_ref()
            .map(|p| {
                let h = map_header(&header, what, &out.image);
                StreamingWriter::create(p, nx, ny, &h, opts)
            })
            .transpose()
    };
    let mut sink = FileSink {
        image: StreamingWriter::create(&out.image, nx, ny, &header, opts)?,
        npix: open(&out.npix, "values used per pixel (npix)")?,
        rejected: open(&out.rejected, "values rejected per pixel")?,
        sigma: open(&out.sigma, "standard error of the combined value")?,
        rejection_masks: out
            .rejection_masks
            .as_ref()
            .map(|p| rejection_masks_writer(p, &out.image, inputs, &header, opts))
            .transpose()?,
        exposure: out
            .exposure_mask
            .as_ref()
            .map(|p| {
                exposure_mask_writer(p, &out.image, inputs, &header, &out.exposure_keyword, opts)
            })
            .transpose()?,
    };
    let mut params = params.clone();
    params.sigma_map |= out.sigma.is_some();
    params.frame_reasons |= sink.rejection_masks.is_some() || sink.exposure.is_some();
    let summary = combine_stream(inputs, &params, progress, &mut sink, None)?;
    // the maps first and the image last, all or none
    let mut ready = Vec::new();
    for w in [sink.npix, sink.rejected, sink.sigma].into_iter().flatten() {
        ready.push(w.ready()?);
    }
    let masks = sink.exposure.map(|(w, _)| w).into_iter();
    for w in sink.rejection_masks.into_iter().chain(masks) {
        ready.push(w.ready()?);
    }
    ready.push(sink.image.ready()?);
    crate::fits::place_together(ready)?;
    Ok(summary)
}
