//! The dithered stack: offsets (automatic, from reference stars, or from a file), per-frame sky,
//! photometric scaling from matched stars, shifting onto a canvas, and the combination with its
//! npix (coverage) and rejected maps. Frames are loaded one at a time; the combination streams.

use super::centroid::CentroidParams;
use super::detect::{
    DETECT_BAND_ROWS, DetectParams, InputBands, MeshBackground, RowBands, Star, detect_bands,
    search_section,
};
use super::matching::StarPoint;
use super::offsets::{
    FrameRef, Offset, StarTracker, centre_of, match_fields, offsets_from_positions_file,
    read_offsets,
};
use super::shift::{Canvas, CanvasKind, ShiftMode, ShiftedInput, SkyModel};
use super::transform::TransformKind;
use crate::combine::{
    CombineParams, CombineSummary, FileInput, OutputPaths, Scale, StackInput, combine_to_files,
};
use crate::error::{Error, Result};
use crate::fits::PixelBox;
use crate::fits::{Card, Value};
use crate::photometry::{AnnulusStat, ApertureParams, measure, scale_factor};
use crate::progress::Progress;
use crate::stats::{SigmaClip, sigma_clipped_stats};
use serde::Serialize;
use std::path::PathBuf;

/// Where the offsets come from.
#[derive(Debug, Clone, PartialEq)]
pub enum OffsetSource {
    /// Detect stars in every frame and match them to the first frame's.
    Auto,
    /// Follow these stars (0-based positions in the first frame) from frame to frame.
    Stars(Vec<(f64, f64)>),
    /// A file of `FILE DX DY` lines (as `skycomb offsets --save` writes).
    File(PathBuf),
    /// A numina-style file: the `x y` (1-based) of one object in every frame, one line per frame.
    Positions(PathBuf),
    /// The celestial WCS in the headers (TAN, TAN-SIP).
    Wcs,
}

/// Sky handling before combining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkyMode {
    None,
    /// Each frame's sigma-clipped median is subtracted.
    Median,
    /// A polynomial surface of this order, fitted to a grid of sigma-clipped medians (stars drop
    /// out of those), is subtracted from each frame: removes gradients (numina's correction).
    Surface(usize),
    /// The same, one surface per quadrant (frames read out through four amplifiers).
    QuadrantSurfaces(usize),
    /// The median of the `n` neighbouring frames in time, objects masked with a mask detected on
    /// the previous iteration's stack; `iterations` stacks after the first (median-sky) one.
    Neighbours {
        n: usize,
        iterations: usize,
    },
}

/// Multiplicative scaling of the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackScale {
    None,
    /// 1 / (median over matched stars of flux / reference flux): the ASP3231 recipe.
    Photometric,
}

/// Everything that decides a stack.
#[derive(Debug, Clone)]
pub struct StackParams {
    pub offsets: OffsetSource,
    /// The transform automatic offsets fit (followed stars give shifts; the WCS its own map).
    pub transform: TransformKind,
    /// Refine the offsets by cross-correlation of sub-images around the reference's bright stars.
    pub refine: bool,
    pub shift: ShiftMode,
    pub canvas: CanvasKind,
    pub sky: SkyMode,
    pub scale: StackScale,
    pub combine: CombineParams,
}

/// What the stack did.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    /// The offsets of the frames stacked (the skipped ones left out).
    pub offsets: Vec<Offset>,
    /// Frames that could not be registered, left out of the stack.
    #[serde(default)]
    pub skipped: Vec<SkippedFrame>,
    /// Canvas pixel (0, 0) is this reference-frame pixel (0-based).
    pub canvas_origin: [i64; 2],
    pub canvas_shape: [usize; 2],
    pub sky: Vec<SkyModel>,
    pub scale: Vec<f64>,
    pub combine: CombineSummary,
}

/// One surface per quadrant, each fitted to the cells of its quadrant.
fn sky_quadrants(src: &dyn RowBands, name: &str, order: usize) -> Result<SkyModel> {
    let (ny, nx) = src.shape();
    let mesh = sky_mesh(src, name, (nx.max(ny) / 16).max(8))?;
    let cells = mesh.cells();
    let quadrant = |x: f64, y: f64| {
        (x >= nx as f64 / 2.0 - 0.5) as usize + 2 * (y >= ny as f64 / 2.0 - 0.5) as usize
    };
    let surfaces = (0..4)
        .map(|q| {
            let mine: Vec<(f64, f64, f64)> = cells
                .iter()
                .copied()
                .filter(|c| quadrant(c.0, c.1) == q)
                .collect();
            fit_surface(&mine, nx, ny, order, name)
        })
        .collect::<Result<_>>()?;
    Ok(SkyModel::Quadrants { surfaces, nx, ny })
}

/// The frame's mesh of sky cells of `cell` pixels, read a row of cells at a time.
fn sky_mesh(src: &dyn RowBands, name: &str, cell: usize) -> Result<MeshBackground> {
    let (ny, nx) = src.shape();
    MeshBackground::from_bands(&|rows| src.band(rows, 0..nx), (ny, nx), cell)?
        .ok_or_else(|| Error::Invalid(format!("{name}: no finite pixel to measure the sky on")))
}

/// Fit a polynomial surface of `order` to the frame's cell medians.
fn sky_surface(src: &dyn RowBands, name: &str, order: usize) -> Result<SkyModel> {
    let (ny, nx) = src.shape();
    let mesh = sky_mesh(src, name, (nx.max(ny) / 12).max(16))?;
    fit_surface(&mesh.cells(), nx, ny, order, name)
}

/// Least-squares polynomial surface through (x, y, value) cells, in the frame's -1..1 coordinates.
fn fit_surface(
    cells: &[(f64, f64, f64)],
    nx: usize,
    ny: usize,
    order: usize,
    name: &str,
) -> Result<SkyModel> {
    let terms = super::shift::surface_terms(order);
    let k = terms.len();
    let (mut ata, mut atb) = (vec![vec![0.0; k]; k], vec![0.0; k]);
    for &(x, y, v) in cells {
        let (u, w) = (
            2.0 * x / (nx as f64 - 1.0).max(1.0) - 1.0,
            2.0 * y / (ny as f64 - 1.0).max(1.0) - 1.0,
        );
        let row: Vec<f64> = terms.iter().map(|(i, j)| u.powi(*i) * w.powi(*j)).collect();
        for a in 0..k {
            atb[a] += row[a] * v;
            for b in 0..k {
                ata[a][b] += row[a] * row[b];
            }
        }
    }
    let coefficients = super::lm::solve(ata, atb).ok_or_else(|| {
        Error::Invalid(format!(
            "{name}: the sky surface of order {order} has too few cells to fit"
        ))
    })?;
    Ok(SkyModel::Surface {
        order,
        coefficients,
        nx,
        ny,
    })
}

/// A frame's sky level: the sigma-clipped median of every fourth pixel.
fn sky_level(data: ndarray::ArrayView2<f32>, name: &str) -> Result<f64> {
    let step = sky_sample_step(data.len());
    let v: Vec<f32> = data
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    clipped_sky(&v, name)
}

/// At most this many pixels are sampled for a frame's sky level.
const SKY_SAMPLE: usize = 1 << 20;

/// Every 4th pixel, or sparser so that at most [`SKY_SAMPLE`] are taken.
fn sky_sample_step(pixels: usize) -> usize {
    4.max(pixels.div_ceil(SKY_SAMPLE))
}

/// The sky level as [`sky_level`] measures it, read band by band (the frame is never whole in
/// memory): the same pixels, the same clipped median.
fn sky_level_streamed(input: &dyn StackInput, name: &str) -> Result<f64> {
    let (ny, nx) = input.shape();
    let step = sky_sample_step(nx * ny);
    let mut v = Vec::with_capacity((nx * ny).div_ceil(step));
    for y in (0..ny).step_by(64) {
        let band = input.read_rows(y..(y + 64).min(ny))?;
        let first = y * nx;
        let skip = (step - first % step) % step;
        v.extend(
            band.iter()
                .skip(skip)
                .step_by(step)
                .copied()
                .filter(|v| v.is_finite()),
        );
    }
    clipped_sky(&v, name)
}

fn clipped_sky(v: &[f32], name: &str) -> Result<f64> {
    sigma_clipped_stats(v, &SigmaClip::default())
        .map(|s| s.median)
        .ok_or_else(|| Error::Invalid(format!("{name}: no finite pixel to measure the sky on")))
}

/// Stack the frames in `paths` (the first is the reference) into the files of `out`.
pub fn stack_files(
    paths: &[PathBuf],
    p: &StackParams,
    out: &OutputPaths,
    progress: &Progress,
) -> Result<StackReport> {
    let inputs: Vec<FileInput> = paths
        .iter()
        .map(|f| FileInput::open(f))
        .collect::<Result<_>>()?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    stack(&refs, p, out, progress)
}

/// A frame left out of the stack, and why.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SkippedFrame {
    /// Its place among the inputs.
    pub index: usize,
    pub file: String,
    pub reason: String,
}

/// What one pass over the frames measured.
struct Survey {
    /// The frames registered (indices into the inputs; the reference first) and their offsets.
    used: Vec<usize>,
    offsets: Vec<Offset>,
    sky: Vec<SkyModel>,
    skipped: Vec<SkippedFrame>,
    /// The reference frame's stars, when they were detected.
    reference_stars: Vec<Star>,
}

/// Offsets given before any pixel is read: from a file or the headers' WCS.
fn given_offsets(inputs: &[&dyn StackInput], p: &StackParams) -> Result<Option<Vec<Offset>>> {
    let names: Vec<String> = inputs.iter().map(|i| i.name()).collect();
    Ok(match &p.offsets {
        OffsetSource::File(path) => Some(read_offsets(path, &names)?),
        OffsetSource::Positions(path) => Some(offsets_from_positions_file(path, &names)?),
        OffsetSource::Wcs => {
            let frames: Vec<(String, crate::fits::Header, (usize, usize))> = inputs
                .iter()
                .map(|i| (i.name(), i.header().clone(), i.shape()))
                .collect();
            Some(super::wcs::offsets_from_wcs(&frames)?)
        }
        _ => None,
    })
}

/// How a frame's offset is measured from its pixels.
enum Measurer {
    Given(Vec<Offset>),
    /// Stars followed from the reference frame (the tracker is made on the reference).
    Stars(Vec<(f64, f64)>, Option<StarTracker>),
    /// Detected stars matched to the reference frame's (its stars and centre).
    Auto(Vec<StarPoint>, (f64, f64)),
}

impl Measurer {
    fn offset(
        &mut self,
        k: usize,
        pixels: &FramePixels,
        stars: &[Star],
        p: &StackParams,
    ) -> Result<Offset> {
        let centre = centre_of(pixels.shape);
        let name = &pixels.name;
        match self {
            Measurer::Given(g) => Ok(g[k].clone()),
            Measurer::Stars(clicks, tracker) => {
                let frame = pixels.whole.as_ref().ok_or_else(|| {
                    Error::Invalid(format!("{name}: followed stars need the whole frame read"))
                })?;
                let t = match tracker {
                    Some(t) => t,
                    None => {
                        tracker.insert(StarTracker::new(frame, clicks, &CentroidParams::default())?)
                    }
                };
                t.offset(frame)
            }
            Measurer::Auto(reference, reference_centre) if k == 0 => {
                *reference = stars.iter().map(StarPoint::from).collect();
                *reference_centre = centre;
                if reference.len() < 3 {
                    return Err(Error::Invalid(format!(
                        "{}: only {} star(s) detected; automatic offsets need at least 3",
                        *name,
                        reference.len()
                    )));
                }
                Ok(Offset::from_transform(
                    name,
                    Default::default(),
                    centre,
                    stars.len(),
                    0.0,
                ))
            }
            Measurer::Auto(reference, reference_centre) => {
                let here: Vec<StarPoint> = stars.iter().map(StarPoint::from).collect();
                match_fields(reference, &here, name, p.transform, *reference_centre)
            }
        }
    }
}

/// Whether the survey detects each frame's stars: for automatic offsets, refinement or photometric
/// scaling.
fn wants_stars(p: &StackParams) -> bool {
    p.offsets == OffsetSource::Auto || p.scale == StackScale::Photometric || p.refine
}

/// Load each frame once: its sky, its stars (for automatic offsets, refinement or photometric
/// scaling), and its offset, refined by cross-correlation when asked (the reference frame is kept).
/// A frame other than the reference that cannot be registered is left out and named.
fn survey(inputs: &[&dyn StackInput], p: &StackParams, progress: &Progress) -> Result<Survey> {
    let want_stars = wants_stars(p);
    let detect_params = DetectParams {
        max_stars: 80,
        ..DetectParams::default()
    };
    let given = given_offsets(inputs, p)?;
    let mut measurer = match (&p.offsets, given) {
        (_, Some(g)) => Measurer::Given(g),
        (OffsetSource::Stars(s), None) if s.is_empty() => {
            return Err(Error::Invalid("no reference star given".into()));
        }
        (OffsetSource::Stars(s), None) => Measurer::Stars(s.clone(), None),
        _ => Measurer::Auto(Vec::new(), (0.0, 0.0)),
    };
    let needs_pixels =
        !matches!(measurer, Measurer::Given(_)) || want_stars || p.sky != SkyMode::None;
    if !needs_pixels {
        let Measurer::Given(offsets) = measurer else {
            unreachable!("checked above")
        };
        return Ok(Survey {
            used: (0..inputs.len()).collect(),
            offsets,
            sky: vec![SkyModel::Constant(0.0); inputs.len()],
            skipped: Vec::new(),
            reference_stars: Vec::new(),
        });
    }
    let mut survey = Survey {
        used: Vec::new(),
        offsets: Vec::new(),
        sky: Vec::new(),
        skipped: Vec::new(),
        reference_stars: Vec::new(),
    };
    let mut reference: Option<ndarray::Array2<f32>> = None;
    progress.begin("measuring frames", inputs.len() as u64);
    // given offsets and a sky level need no whole frame: read band by band, within the limit
    if let Measurer::Given(given) = &measurer
        && !want_stars
        && matches!(p.sky, SkyMode::Median | SkyMode::Neighbours { .. })
    {
        for (k, inp) in inputs.iter().enumerate() {
            progress.check()?;
            survey.used.push(k);
            survey.offsets.push(given[k].clone());
            survey
                .sky
                .push(SkyModel::Constant(sky_level_streamed(*inp, &inp.name())?));
            progress.advance(1);
        }
        return Ok(survey);
    }
    // followed stars and cross-correlation need whole frames; detection and the sky read bands
    let whole = matches!(measurer, Measurer::Stars(..)) || p.refine;
    for (k, inp) in inputs.iter().enumerate() {
        progress.check()?;
        let name = inp.name();
        let data = if whole {
            Some(inp.read_rows(0..inp.shape().0)?)
        } else {
            None
        };
        let measured = FramePixels::of(*inp, data.as_ref()).and_then(|pixels| {
            let band_rows = detect_band_rows(&p.combine, *inp)?;
            measure_frame(
                k,
                &pixels,
                &mut measurer,
                reference.as_ref(),
                &survey.reference_stars,
                p,
                &detect_params,
                band_rows,
            )
        });
        match measured {
            Ok((offset, sky, stars)) => {
                survey.used.push(k);
                survey.offsets.push(offset);
                survey.sky.push(sky);
                if k == 0 {
                    // cross-correlation needs the reference's pixels; nothing else does
                    reference = data.filter(|_| p.refine);
                    survey.reference_stars = stars;
                }
            }
            Err(e) if k > 0 && !matches!(e, Error::Cancelled) => {
                survey.skipped.push(SkippedFrame {
                    index: k,
                    file: name,
                    reason: e.to_string(),
                })
            }
            Err(e) => return Err(e),
        }
        progress.advance(1);
    }
    Ok(survey)
}

/// A frame's pixels as the survey sees them: whole, or read band by band from its input.
struct FramePixels<'a> {
    name: String,
    shape: (usize, usize),
    /// Where its stars are searched (the data section of a raw frame).
    section: PixelBox,
    input: &'a dyn StackInput,
    whole: Option<FrameRef<'a>>,
    bands: InputBands<'a>,
}

impl<'a> FramePixels<'a> {
    fn of(input: &'a dyn StackInput, data: Option<&'a ndarray::Array2<f32>>) -> Result<Self> {
        let (name, shape) = (input.name(), input.shape());
        let section = search_section(&name, input.header(), shape)?;
        let whole = data.map(|d| FrameRef {
            name: name.clone(),
            data: d.view(),
            section: section.clone(),
        });
        Ok(FramePixels {
            name,
            shape,
            section,
            input,
            whole,
            bands: InputBands(input),
        })
    }

    /// The pixels to detect on: the whole frame if it was read, else its bands.
    fn rows(&self) -> &dyn RowBands {
        match &self.whole {
            Some(f) => &f.data,
            None => &self.bands,
        }
    }
}

/// Bytes per pixel a band of detection holds: its pixels, the smoothed band and the smoothing's
/// chunks.
const DETECT_BYTES_PER_PIXEL: usize = 12;

/// Rows detection reads at a time within the memory limit (at most [`DETECT_BAND_ROWS`]).
fn detect_band_rows(params: &CombineParams, input: &dyn StackInput) -> Result<usize> {
    let (ny, nx) = input.shape();
    let extra = DETECT_BYTES_PER_PIXEL + input.read_bytes_per_pixel();
    Ok(crate::combine::band_rows_for(params, 1, nx, ny, extra)?.min(DETECT_BAND_ROWS))
}

/// One frame's sky, offset and (when wanted) stars.
#[allow(clippy::too_many_arguments)]
fn measure_frame(
    k: usize,
    pixels: &FramePixels,
    measurer: &mut Measurer,
    reference: Option<&ndarray::Array2<f32>>,
    reference_stars: &[Star],
    p: &StackParams,
    detect_params: &DetectParams,
    band_rows: usize,
) -> Result<(Offset, SkyModel, Vec<Star>)> {
    let want_stars = wants_stars(p);
    let name = pixels.name.as_str();
    let sky = match (p.sky, &pixels.whole) {
        (SkyMode::None, _) => SkyModel::Constant(0.0),
        (SkyMode::Median | SkyMode::Neighbours { .. }, Some(f)) => {
            SkyModel::Constant(sky_level(f.data, name)?)
        }
        (SkyMode::Median | SkyMode::Neighbours { .. }, None) => {
            SkyModel::Constant(sky_level_streamed(pixels.input, name)?)
        }
        (SkyMode::Surface(order), _) => sky_surface(pixels.rows(), name, order)?,
        (SkyMode::QuadrantSurfaces(order), _) => sky_quadrants(pixels.rows(), name, order)?,
    };
    let stars = if want_stars {
        detect_bands(
            pixels.rows(),
            &pixels.section,
            name,
            detect_params,
            band_rows,
        )?
    } else {
        Vec::new()
    };
    let mut offset = measurer.offset(k, pixels, &stars, p)?;
    let (ny, nx) = pixels.shape;
    if p.refine
        && let (Some(ref_data), Some(frame)) = (reference, &pixels.whole)
        && offset.transform.departure_from_shift(nx, ny) <= 0.01
    {
        let (dx, dy, n) = super::refine::refine_offset(
            ref_data.view(),
            frame.data,
            reference_stars,
            (offset.dx, offset.dy),
            12,
            3,
        )
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{name}: cross-correlation found no clear peak near the offset ({:.2}, {:.2})",
                offset.dx, offset.dy
            ))
        })?;
        offset = Offset::shift(name, dx, dy, n);
    }
    Ok((offset, sky, stars))
}

/// What the stack measured before combining: everything the frames on the canvas are built from.
pub(crate) struct StackPlan {
    /// The inputs registered, in order (the others are in `skipped`).
    pub used: Vec<usize>,
    pub skipped: Vec<SkippedFrame>,
    pub offsets: Vec<Offset>,
    pub sky: Vec<SkyModel>,
    /// Per-frame photometric scales (ones without photometric scaling).
    pub scale: Vec<f64>,
    pub canvas: Canvas,
    /// The combination's parameters: the stack's, with the photometric scales and coverage npix.
    pub combine: CombineParams,
}

/// The inputs a plan uses.
fn used_inputs<'a>(inputs: &[&'a dyn StackInput], used: &[usize]) -> Vec<&'a dyn StackInput> {
    used.iter().map(|&i| inputs[i]).collect()
}

impl StackPlan {
    /// Measure the frames (one pass): offsets, sky, scales, and the canvas they give.
    pub(crate) fn measure(
        inputs: &[&dyn StackInput],
        p: &StackParams,
        progress: &Progress,
    ) -> Result<StackPlan> {
        if inputs.is_empty() {
            return Err(Error::Invalid("no frames to stack".into()));
        }
        let Survey {
            used,
            offsets,
            sky,
            skipped,
            reference_stars,
        } = survey(inputs, p, progress)?;
        let frames = used_inputs(inputs, &used);
        let scale = match p.scale {
            StackScale::None => vec![1.0; frames.len()],
            StackScale::Photometric => {
                photometric_scales(&frames, &reference_stars, &offsets, progress)?
            }
        };
        let placed: Vec<(&Offset, (usize, usize))> = offsets
            .iter()
            .zip(frames.iter().map(|f| f.shape()))
            .collect();
        let canvas = Canvas::new(p.canvas, &placed, p.shift)?;
        Ok(StackPlan {
            combine: stack_combine_params(p, &scale),
            used,
            skipped,
            offsets,
            sky,
            scale,
            canvas,
        })
    }

    /// The plan a finished stack followed, from its report (nothing is measured again).
    pub(crate) fn from_report(
        inputs: &[&dyn StackInput],
        p: &StackParams,
        r: &StackReport,
    ) -> Result<StackPlan> {
        let used: Vec<usize> = (0..inputs.len())
            .filter(|i| r.skipped.iter().all(|s| s.index != *i))
            .collect();
        let n = used.len();
        if r.offsets.len() != n || r.sky.len() != n || r.scale.len() != n {
            return Err(Error::Invalid(format!(
                "the stack report describes {} frames but {n} are given",
                r.offsets.len()
            )));
        }
        Ok(StackPlan {
            used,
            skipped: r.skipped.clone(),
            offsets: r.offsets.clone(),
            sky: r.sky.clone(),
            scale: r.scale.clone(),
            canvas: Canvas {
                x0: r.canvas_origin[0],
                y0: r.canvas_origin[1],
                nx: r.canvas_shape[0],
                ny: r.canvas_shape[1],
            },
            combine: stack_combine_params(p, &r.scale),
        })
    }
}

/// The combination's parameters for a stack: photometric scales replace the stack's scaling, and
/// the npix map counts coverage.
fn stack_combine_params(p: &StackParams, scale: &[f64]) -> CombineParams {
    CombineParams {
        scale: if p.scale == StackScale::None {
            p.combine.scale.clone()
        } else {
            Scale::Given(scale.to_vec())
        },
        npix_coverage: true,
        ..p.combine.clone()
    }
}

/// Hand `use_inputs` the frames exactly as the stack's combination sees them: shifted onto the
/// canvas with their sky subtracted; for sky from neighbouring frames, after the preliminary
/// stacks (in memory) whose object masks the final sky needs.
pub(crate) fn with_canvas_inputs<R>(
    inputs: &[&dyn StackInput],
    p: &StackParams,
    plan: &StackPlan,
    progress: &Progress,
    use_inputs: impl FnOnce(&[&dyn StackInput]) -> Result<R>,
) -> Result<R> {
    let inputs = &used_inputs(inputs, &plan.used);
    let shifted: Vec<ShiftedInput> = inputs
        .iter()
        .zip(&plan.offsets)
        .zip(&plan.sky)
        .map(|((i, o), s)| ShiftedInput::new(*i, o, p.shift, plan.canvas, s.clone()))
        .collect();
    let refs: Vec<&dyn StackInput> = shifted.iter().map(|s| s as &dyn StackInput).collect();
    let SkyMode::Neighbours { n, iterations } = p.sky else {
        return use_inputs(&refs);
    };
    let levels: Vec<f64> = plan
        .sky
        .iter()
        .map(|s| {
            if let SkyModel::Constant(v) = s {
                *v
            } else {
                0.0
            }
        })
        .collect();
    // iteration 0: per-frame median sky; then the mask from each stack feeds the next
    let mut current = crate::combine::combine_in_memory(&refs, &plan.combine, None)?.image;
    for _ in 1..iterations.max(1) {
        progress.check()?;
        let mask = super::sky::object_mask(current.view(), 3);
        current = with_neighbour_sky(inputs, p, plan, n, &mask, &levels, |refs| {
            Ok(crate::combine::combine_in_memory(refs, &plan.combine, None)?.image)
        })?;
    }
    progress.check()?;
    let mask = super::sky::object_mask(current.view(), 3);
    with_neighbour_sky(inputs, p, plan, n, &mask, &levels, use_inputs)
}

/// The frames with the sky of their `n` neighbours subtracted (objects of `mask` left out of it),
/// shifted onto the canvas, handed to `use_inputs`.
fn with_neighbour_sky<R>(
    inputs: &[&dyn StackInput],
    p: &StackParams,
    plan: &StackPlan,
    n: usize,
    mask: &ndarray::Array2<bool>,
    levels: &[f64],
    use_inputs: impl FnOnce(&[&dyn StackInput]) -> Result<R>,
) -> Result<R> {
    let to_reference: Vec<super::transform::Affine> = plan
        .offsets
        .iter()
        .map(|o| {
            super::shift::applied(o, p.shift).inverse().ok_or_else(|| {
                Error::Invalid(format!("{}: its transform cannot be inverted", o.file))
            })
        })
        .collect::<Result<_>>()?;
    let sky_subtracted: Vec<super::sky::NeighbourSkyInput> = (0..inputs.len())
        .map(|i| super::sky::NeighbourSkyInput {
            frames: inputs,
            index: i,
            neighbours: super::sky::neighbours(i, inputs.len(), n),
            to_reference: &to_reference,
            canvas: plan.canvas,
            mask,
            levels,
        })
        .collect();
    let shifted: Vec<ShiftedInput> = sky_subtracted
        .iter()
        .zip(&plan.offsets)
        .map(|(i, o)| ShiftedInput::new(i, o, p.shift, plan.canvas, SkyModel::Constant(0.0)))
        .collect();
    let refs: Vec<&dyn StackInput> = shifted.iter().map(|s| s as &dyn StackInput).collect();
    use_inputs(&refs)
}

/// Stack any inputs (files, calibrated frames): frames are loaded one at a time to measure them,
/// then streamed through the combination.
pub fn stack(
    inputs: &[&dyn StackInput],
    p: &StackParams,
    out: &OutputPaths,
    progress: &Progress,
) -> Result<StackReport> {
    let plan = StackPlan::measure(inputs, p, progress)?;
    let out = &OutputPaths {
        extra_cards: stack_cards(p, &plan, inputs[0].header()),
        ..out.clone()
    };
    let combine = with_canvas_inputs(inputs, p, &plan, progress, |refs| {
        combine_to_files(refs, &plan.combine, out, progress)
    })?;
    let StackPlan {
        offsets,
        skipped,
        sky,
        scale,
        canvas,
        ..
    } = plan;
    Ok(StackReport {
        offsets,
        skipped,
        canvas_origin: [canvas.x0, canvas.y0],
        canvas_shape: [canvas.nx, canvas.ny],
        sky,
        scale,
        combine,
    })
}

/// The stack's parameters as header cards: offsets source, shift, sky, canvas, and per frame its
/// offset, rotation and scale (OFFXnnn, OFFYnnn, ROTnnn, SCLnnn, FSCLnnn); the reference frame's
/// WCS moved to the canvas (CRPIX and IRAF's LTV less the canvas origin); skipped frames in HISTORY.
fn stack_cards(p: &StackParams, plan: &StackPlan, reference: &crate::fits::Header) -> Vec<Card> {
    let (offsets, scale, canvas) = (&plan.offsets, &plan.scale, plan.canvas);
    let source = match &p.offsets {
        OffsetSource::Auto => "auto (matched stars)".to_string(),
        OffsetSource::Stars(s) => format!("{} tracked star(s)", s.len()),
        OffsetSource::File(f) => format!("file {}", f.display()),
        OffsetSource::Positions(f) => format!("positions {}", f.display()),
        OffsetSource::Wcs => "wcs".to_string(),
    };
    let sky = match p.sky {
        SkyMode::None => "none".to_string(),
        SkyMode::Median => "median per frame".to_string(),
        SkyMode::Surface(o) => format!("surface order {o}"),
        SkyMode::QuadrantSurfaces(o) => format!("surface order {o} per quadrant"),
        SkyMode::Neighbours { n, iterations } => {
            format!("{n} neighbours, {iterations} iteration(s)")
        }
    };
    let mut cards = vec![
        Card::new(
            "STKOFFS",
            Value::Str(source + if p.refine { " + cross-correlation" } else { "" }),
            "where the offsets come from",
        ),
        Card::new(
            "STKSHIFT",
            Value::Str(format!("{:?}", p.shift).to_ascii_lowercase()),
            "resampling",
        ),
        Card::new("STKSKY", Value::Str(sky), "sky subtracted before combining"),
        Card::new(
            "STKSCALE",
            Value::Str(format!("{:?}", p.scale).to_ascii_lowercase()),
            "frame scaling",
        ),
        Card::new(
            "STKCANV",
            Value::Str(format!("{:?}", p.canvas).to_ascii_lowercase()),
            "canvas",
        ),
        Card::new(
            "CANVX0",
            Value::Int(canvas.x0 + 1),
            "reference-frame pixel (FITS) of canvas x = 1",
        ),
        Card::new(
            "CANVY0",
            Value::Int(canvas.y0 + 1),
            "reference-frame pixel (FITS) of canvas y = 1",
        ),
    ];
    for (key, origin) in [
        ("CRPIX1", canvas.x0),
        ("CRPIX2", canvas.y0),
        ("LTV1", canvas.x0),
        ("LTV2", canvas.y0),
    ] {
        if let Some(v) = reference.get_f64(key) {
            cards.push(Card::new(
                key,
                Value::Float(v - origin as f64),
                "moved to the canvas origin",
            ));
        }
    }
    for (k, (o, s)) in offsets.iter().zip(scale).enumerate().take(999) {
        cards.push(Card::new(
            &format!("OFFX{:03}", k + 1),
            Value::Float(o.dx),
            &o.file,
        ));
        cards.push(Card::new(
            &format!("OFFY{:03}", k + 1),
            Value::Float(o.dy),
            "",
        ));
        if o.transform != crate::register::transform::Affine::shift(o.dx, o.dy) {
            cards.push(Card::new(
                &format!("ROT{:03}", k + 1),
                Value::Float(o.transform.rotation_deg()),
                "rotation, deg",
            ));
            cards.push(Card::new(
                &format!("SCL{:03}", k + 1),
                Value::Float(o.transform.scale()),
                "scale, frame px per reference px",
            ));
        }
        cards.push(Card::new(
            &format!("FSCL{:03}", k + 1),
            Value::Float(*s),
            "",
        ));
    }
    cards.push(Card::history(
        "skycomb stack: frames moved onto the canvas through their transforms and combined",
    ));
    for sk in &plan.skipped {
        cards.push(Card::history(&format!(
            "skipped {}: {}",
            sk.file, sk.reason
        )));
    }
    cards
}

/// Aperture photometry of the reference frame's brightest stars in every frame (at the positions
/// the offsets predict); each frame's factor brings its fluxes to the reference's.
fn photometric_scales(
    inputs: &[&dyn StackInput],
    stars: &[Star],
    offsets: &[Offset],
    progress: &Progress,
) -> Result<Vec<f64>> {
    let mut fwhm: Vec<f32> = stars.iter().map(|s| s.fwhm as f32).collect();
    let typical = crate::stats::median_mut(&mut fwhm).unwrap_or(3.0).max(1.0);
    let ap = ApertureParams {
        radius: 2.5 * typical,
        annulus: Some((4.0 * typical, 6.0 * typical)),
        annulus_stat: AnnulusStat::Median,
        gain_e_per_adu: 1.0,
        read_noise_e: 0.0,
    };
    let chosen: Vec<&Star> = stars.iter().take(30).collect();
    let mut reference_flux = Vec::new();
    let mut factors = Vec::with_capacity(inputs.len());
    progress.begin("photometry for scaling", inputs.len() as u64);
    for (k, (inp, o)) in inputs.iter().zip(offsets).enumerate() {
        progress.check()?;
        let data = inp.read_rows(0..inp.shape().0)?;
        let flux: Vec<f64> = chosen
            .iter()
            .map(|s| {
                measure(
                    data.view(),
                    &inp.name(),
                    0,
                    o.transform.apply(s.x, s.y).0,
                    o.transform.apply(s.x, s.y).1,
                    &ap,
                )
                .flux
            })
            .collect();
        if k == 0 {
            reference_flux = flux.clone();
        }
        let ratio = scale_factor(&reference_flux, &flux).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no star measured for photometric scaling",
                inp.name()
            ))
        })?;
        factors.push(1.0 / ratio);
        progress.advance(1);
    }
    Ok(factors)
}

/// Offsets of a file list without stacking (for `skycomb offsets`): the frames registered and
/// those that could not be, with the reason.
pub fn offsets_of_files(
    paths: &[PathBuf],
    source: &OffsetSource,
    transform: TransformKind,
    refine: bool,
    progress: &Progress,
) -> Result<(Vec<Offset>, Vec<SkippedFrame>)> {
    let p = StackParams {
        offsets: source.clone(),
        transform,
        refine,
        shift: ShiftMode::Bilinear,
        canvas: CanvasKind::Union,
        sky: SkyMode::None,
        scale: StackScale::None,
        combine: CombineParams::default(),
    };
    let inputs: Vec<FileInput> = paths
        .iter()
        .map(|f| FileInput::open(f))
        .collect::<Result<_>>()?;
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let s = survey(&refs, &p, progress)?;
    Ok((s.offsets, s.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_sky_level_is_the_in_memory_one() {
        let mut rng = crate::sample::Rng::new(2);
        for (ny, nx) in [(100, 97), (2000, 2200)] {
            let data = ndarray::Array2::from_shape_fn((ny, nx), |_| rng.normal(800.0, 20.0) as f32);
            let input = crate::combine::MemoryInput {
                name: "f".into(),
                data: data.clone(),
                header: Default::default(),
            };
            assert_eq!(
                sky_level_streamed(&input, "f").unwrap(),
                sky_level(data.view(), "f").unwrap()
            );
        }
    }

    #[test]
    fn quadrant_surfaces_follow_four_amplifiers() {
        // four quadrants at different levels, each with its own gradient, plus a few stars
        let img = ndarray::Array2::from_shape_fn((64, 64), |(y, x)| {
            let q = (x >= 32) as usize + 2 * (y >= 32) as usize;
            let star = if (x as i64 - 20).pow(2) + (y as i64 - 45).pow(2) < 6 {
                500.0
            } else {
                0.0
            };
            (100.0 + 40.0 * q as f32) + 0.2 * x as f32 - 0.1 * y as f32 + star
        });
        let sky = sky_quadrants(&img.view(), "amps", 1).unwrap();
        for (y, x) in [(5, 5), (5, 60), (60, 5), (60, 60), (30, 33), (33, 30)] {
            let want = img[[y, x]] as f64;
            assert!(
                (sky.at(x as f64, y as f64) - want).abs() < 0.5,
                "({x}, {y}): {} vs {want}",
                sky.at(x as f64, y as f64)
            );
        }
        let one = sky_surface(&img.view(), "amps", 1).unwrap();
        assert!(
            (one.at(5.0, 5.0) - img[[5, 5]] as f64).abs() > 10.0,
            "a single surface cannot follow the steps"
        );
    }
}
