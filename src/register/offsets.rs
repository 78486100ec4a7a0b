//! Offsets between frames, in pixels: (dx, dy) is a star's position in a frame minus its position in
//! the reference frame. From reference stars followed frame to frame, from detected stars matched
//! automatically, or from a file; saved to and read from plain text.

use super::centroid::{CentroidParams, centroid};
use super::detect::{DetectParams, detect_within, search_section};
use super::matching::{MatchParams, StarPoint, match_stars};
use super::transform::{Affine, TransformKind};
use crate::error::{Error, Result};
use crate::fits::{Header, PixelBox};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The offset of one frame: where the reference frame's pixels land in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offset {
    pub file: String,
    /// The displacement (frame minus reference) of the reference point, the reference frame's
    /// centre: for a pure shift, the shift of every star.
    pub dx: f64,
    pub dy: f64,
    /// Stars the offset rests on.
    pub n_stars: usize,
    /// Reference-frame pixel to this frame's pixel, 0-based.
    #[serde(default)]
    pub transform: Affine,
    /// Root-mean-square residual of the stars the transform was fitted to (pixels).
    #[serde(default)]
    pub rms_px: f64,
    /// Something a person should know about this offset (a rotation a shift cannot follow...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Offset {
    /// A pure shift.
    pub fn shift(file: &str, dx: f64, dy: f64, n_stars: usize) -> Offset {
        Offset {
            file: file.to_string(),
            dx,
            dy,
            n_stars,
            transform: Affine::shift(dx, dy),
            rms_px: 0.0,
            warning: None,
        }
    }

    /// A transform, its dx and dy taken at `reference_point` (0-based, in the reference frame).
    pub fn from_transform(
        file: &str,
        transform: Affine,
        reference_point: (f64, f64),
        n_stars: usize,
        rms_px: f64,
    ) -> Offset {
        let (dx, dy) = transform.shift_at(reference_point.0, reference_point.1);
        Offset {
            file: file.to_string(),
            dx,
            dy,
            n_stars,
            transform,
            rms_px,
            warning: None,
        }
    }

    /// The same offset moved so that its dx, dy become these (an edit by hand).
    pub fn moved_to(&self, dx: f64, dy: f64) -> Offset {
        let mut o = self.clone();
        o.transform.m[0][2] += dx - self.dx;
        o.transform.m[1][2] += dy - self.dy;
        o.dx = dx;
        o.dy = dy;
        o
    }

    /// The report a person or a script reads: dx, dy, rotation, scale, the FITS 1-based matrix.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "dx": self.dx,
            "dy": self.dy,
            "rotation_deg": self.transform.rotation_deg(),
            "scale": self.transform.scale(),
            "mirrored": self.transform.mirrored(),
            "matrix": self.transform.fits_matrix(),
            "n_matched": self.n_stars,
            "rms_px": self.rms_px,
            "warning": self.warning,
        })
    }
}

/// The reference point of a frame of `(ny, nx)`: its centre, 0-based.
pub fn centre_of(shape: (usize, usize)) -> (f64, f64) {
    ((shape.1 as f64 - 1.0) / 2.0, (shape.0 as f64 - 1.0) / 2.0)
}

/// One frame to register: a name, its pixels and where its stars are searched.
pub struct FrameRef<'a> {
    pub name: String,
    pub data: ArrayView2<'a, f32>,
    /// The data section of a raw frame (see [`search_section`]), or the whole frame.
    pub section: PixelBox,
}

impl<'a> FrameRef<'a> {
    /// A frame whose stars are searched inside its header's TRIMSEC (DATASEC), if any.
    pub fn new(name: String, data: ArrayView2<'a, f32>, header: &Header) -> Result<FrameRef<'a>> {
        let section = search_section(&name, header, data.dim())?;
        Ok(FrameRef {
            name,
            data,
            section,
        })
    }
}

/// A robust mean: the median for one or two values, else the mean within 2.5 sigma of the median.
pub fn robust_mean(v: &[f64]) -> f64 {
    let mut s: Vec<f32> = v.iter().map(|x| *x as f32).collect();
    let med = crate::stats::median_mut(&mut s).unwrap_or(f64::NAN);
    if v.len() < 3 {
        return med;
    }
    let mut devs: Vec<f32> = v.iter().map(|x| (x - med).abs() as f32).collect();
    let sigma = crate::stats::MAD_TO_SIGMA * crate::stats::median_mut(&mut devs).unwrap_or(0.0);
    let kept: Vec<f64> = v
        .iter()
        .copied()
        .filter(|x| (x - med).abs() <= 2.5 * sigma.max(0.02))
        .collect();
    if kept.is_empty() {
        med
    } else {
        kept.iter().sum::<f64>() / kept.len() as f64
    }
}

/// The stars registration detects in a frame: the brightest `n`.
pub fn field_stars(f: &FrameRef, n: usize) -> Result<Vec<StarPoint>> {
    let p = DetectParams {
        max_stars: n,
        ..DetectParams::default()
    };
    Ok(detect_within(f.data, &f.section, &f.name, &p)?
        .iter()
        .map(StarPoint::from)
        .collect())
}

/// Match a frame's detected stars to the reference frame's with a transform of `kind`.
pub fn match_fields(
    reference: &[StarPoint],
    frame: &[StarPoint],
    name: &str,
    kind: TransformKind,
    reference_point: (f64, f64),
) -> Result<Offset> {
    let p = MatchParams {
        kind,
        ..MatchParams::default()
    };
    let m =
        match_stars(reference, frame, &p).map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
    Ok(Offset::from_transform(
        name,
        m.transform,
        reference_point,
        m.pairs.len(),
        m.rms_px,
    ))
}

/// Follows reference stars through the frames. Each frame is first placed against the reference
/// frame (not the previous one) by matching its detected stars with the reference's, whatever the
/// dither, rotation or scale; each star is then centred where that places it. A star not found
/// there, or stars that disagree, fail the frame by name: never a silently wrong number. Frames
/// come one at a time, so a night need not be in memory at once.
pub struct StarTracker {
    /// The stars' centroids in the reference frame, 0-based.
    pub reference: Vec<(f64, f64)>,
    /// Where the stars were in the last frame.
    previous: Vec<(f64, f64)>,
    params: CentroidParams,
    /// The reference frame's detected stars, for the coarse placement.
    field: Vec<StarPoint>,
    reference_point: (f64, f64),
    shape: (usize, usize),
}

impl StarTracker {
    /// Measure the stars (0-based positions, snapped to their centroids) in the reference frame; a
    /// position where no star is found is refused by name.
    pub fn new(first: &FrameRef, stars: &[(f64, f64)], p: &CentroidParams) -> Result<StarTracker> {
        if stars.is_empty() {
            return Err(Error::Invalid("no reference star given".into()));
        }
        let reference = stars
            .iter()
            .map(|&(x, y)| {
                let c = centroid(first.data, &first.name, x, y, p)?;
                if !c.flag.is_star() {
                    return Err(Error::Invalid(format!(
                        "{}: no usable star at ({:.1}, {:.1}) (FITS): {}",
                        first.name,
                        x + 1.0,
                        y + 1.0,
                        c.flag.describe()
                    )));
                }
                Ok((c.x, c.y))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StarTracker {
            previous: reference.clone(),
            reference,
            params: *p,
            field: field_stars(first, 80)?,
            reference_point: centre_of(first.data.dim()),
            shape: first.data.dim(),
        })
    }

    /// The offset of a frame: the followed stars' mean displacement (a shift). A star whose
    /// centroid lands farther from where the frame's matched star field places it than its
    /// measurement allows (a cosmic ray on its wing, a neighbour, no star at all) is not trusted:
    /// the field's placement stands in for it and the offset carries a warning naming it.
    pub fn offset(&mut self, f: &FrameRef) -> Result<Offset> {
        let field = field_stars(f, 80)?;
        let coarse = match match_fields(
            &self.field,
            &field,
            &f.name,
            TransformKind::Similarity,
            self.reference_point,
        ) {
            Ok(c) => c,
            // too few stars to match in either frame: look where the stars were last
            Err(_) if self.field.len() < 3 || field.len() < 3 => return self.near_previous(f),
            Err(e) => {
                return Err(Error::Invalid(format!(
                    "{e}; the followed stars cannot be placed"
                )));
            }
        };
        let (mut dx, mut dy, mut doubts) = (Vec::new(), Vec::new(), Vec::new());
        let mut found = Vec::new();
        for (k, r) in self.reference.iter().enumerate() {
            let start = coarse.transform.apply(r.0, r.1);
            let c = centroid(f.data, &f.name, start.0, start.1, &self.params)?;
            let moved = (c.x - start.0).hypot(c.y - start.1);
            // the centroid's own error, and the placement's (its stars' scatter over their number)
            let allowed = (4.0 * c.x_err.hypot(c.y_err)).max(0.25)
                + 3.0 * coarse.rms_px / (coarse.n_stars.max(1) as f64).sqrt();
            let here = if c.flag.is_star() && moved <= allowed {
                (c.x, c.y)
            } else {
                doubts.push(format!(
                    "star {} {}",
                    k + 1,
                    if c.flag.is_star() {
                        format!("is {moved:.2} px from where the star field places it")
                    } else {
                        format!("not found ({})", c.flag.describe())
                    }
                ));
                start
            };
            found.push(here);
            dx.push(here.0 - r.0);
            dy.push(here.1 - r.1);
        }
        let mut o = Offset::shift(
            &f.name,
            robust_mean(&dx),
            robust_mean(&dy),
            self.reference.len() - doubts.len(),
        );
        self.previous = found;
        let mut notes = Vec::new();
        if !doubts.is_empty() {
            notes.push(format!(
                "{}: placed by the matched star field ({} stars, rms {:.3} px) instead",
                doubts.join(", "),
                coarse.n_stars,
                coarse.rms_px
            ));
        }
        let bend = coarse
            .transform
            .departure_from_shift(self.shape.1, self.shape.0);
        // worth saying only when it stands out of the placement's own uncertainty
        let noise = 3.0 * coarse.rms_px * (2.0 / coarse.n_stars.max(1) as f64).sqrt();
        if bend > noise.max(0.1) {
            notes.push(format!(
                "the star field is rotated {:.3} deg and scaled {:.5} against the reference (up to {bend:.2} px at the corners): a shift from followed stars is exact only near them; automatic offsets give the whole transform",
                coarse.transform.rotation_deg(),
                coarse.transform.scale()
            ));
        }
        if !notes.is_empty() {
            o.warning = Some(notes.join("; "));
        }
        Ok(o)
    }

    /// In a field too sparse to match, the stars are searched where they were in the previous
    /// frame; each must be found there.
    fn near_previous(&mut self, f: &FrameRef) -> Result<Offset> {
        let mut found = Vec::new();
        for (k, p) in self.previous.iter().enumerate() {
            let c = centroid(f.data, &f.name, p.0, p.1, &self.params)?;
            if !c.flag.is_star() {
                return Err(Error::Invalid(format!(
                    "{}: star {} not found near its place in the previous frame ({:.2}, {:.2}) FITS: {} (too few stars to place it by the star field)",
                    f.name,
                    k + 1,
                    p.0 + 1.0,
                    p.1 + 1.0,
                    c.flag.describe()
                )));
            }
            found.push((c.x, c.y));
        }
        let residuals: Vec<(f64, f64)> = found
            .iter()
            .zip(&self.previous)
            .map(|(c, p)| (c.0 - p.0, c.1 - p.1))
            .collect();
        disagreement(&residuals, &f.name)?;
        let (dx, dy): (Vec<f64>, Vec<f64>) = found
            .iter()
            .zip(&self.reference)
            .map(|(c, r)| (c.0 - r.0, c.1 - r.1))
            .unzip();
        self.previous = found;
        let mut o = Offset::shift(&f.name, robust_mean(&dx), robust_mean(&dy), dx.len());
        o.warning =
            Some("too few stars to match the star field: followed from the previous frame".into());
        Ok(o)
    }
}

/// Followed stars whose centroids disagree (by more than half a pixel from their median
/// displacement) fail the frame, naming the star.
fn disagreement(residuals: &[(f64, f64)], name: &str) -> Result<()> {
    if residuals.len() < 2 {
        return Ok(());
    }
    let (mut xs, mut ys): (Vec<f32>, Vec<f32>) =
        residuals.iter().map(|r| (r.0 as f32, r.1 as f32)).unzip();
    let mx = crate::stats::median_mut(&mut xs).unwrap_or(0.0);
    let my = crate::stats::median_mut(&mut ys).unwrap_or(0.0);
    for (k, r) in residuals.iter().enumerate() {
        let off = (r.0 - mx).hypot(r.1 - my);
        if off > 0.5 {
            return Err(Error::Invalid(format!(
                "{name}: the followed stars disagree: star {} is {off:.2} px off the others' offset",
                k + 1
            )));
        }
    }
    Ok(())
}

/// Follow reference stars (0-based positions in the first frame) through the frames.
pub fn offsets_from_stars(
    frames: &[FrameRef],
    stars: &[(f64, f64)],
    p: &CentroidParams,
) -> Result<Vec<Offset>> {
    let first = frames
        .first()
        .ok_or_else(|| Error::Invalid("no frames to register".into()))?;
    let mut tracker = StarTracker::new(first, stars, p)?;
    frames.iter().map(|f| tracker.offset(f)).collect()
}

/// The `x y` pairs of a text file, one per line, as written (`#` starts a comment).
pub fn read_xy_file(path: &Path) -> Result<Vec<(f64, f64)>> {
    Ok(read_positions_file(path)?
        .into_iter()
        .map(|(_, x, y)| (x, y))
        .collect())
}

/// The lines of a positions file: `x y`, optionally followed by `# FILE` naming the frame.
pub fn read_positions_file(path: &Path) -> Result<Vec<(Option<String>, f64, f64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let mut xy = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (data, comment) = line.split_once('#').unwrap_or((line, ""));
        let data = data.trim();
        if data.is_empty() {
            continue;
        }
        let bad = || {
            Error::Invalid(format!(
                "{}:{}: expected two numbers, x y",
                path.display(),
                i + 1
            ))
        };
        let v: Vec<f64> = data
            .split_whitespace()
            .map(|t| t.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        if v.len() != 2 {
            return Err(bad());
        }
        let name = comment.split_whitespace().next().map(str::to_string);
        xy.push((name, v[0], v[1]));
    }
    Ok(xy)
}

/// Write offsets numina style: one `x y` line per frame with the reference object's FITS 1-based
/// position in that frame (its 0-based position `reference` in the reference frame plus the
/// offset), the frame's file named in a comment after it.
pub fn write_positions_file(
    path: &Path,
    reference: (f64, f64),
    offsets: &[Offset],
    overwrite: bool,
) -> Result<()> {
    let mut s = String::from(
        "# skycomb offsets, numina style: x y (FITS 1-based) of the reference object in each frame\n",
    );
    for o in offsets {
        s.push_str(&format!(
            "{:.4} {:.4}  # {}\n",
            reference.0 + o.dx + 1.0,
            reference.1 + o.dy + 1.0,
            o.file
        ));
    }
    crate::fits::write::write_atomic(path, s.as_bytes(), crate::fits::WriteOptions { overwrite })
}

/// Offsets from a file with the (x, y) of one reference object in every frame, numina style: one
/// `x y` line per frame (FITS 1-based), `#` comments; offsets are relative to the first line.
pub fn offsets_from_positions_file(path: &Path, names: &[String]) -> Result<Vec<Offset>> {
    let xy = read_xy_file(path)?;
    if xy.len() != names.len() {
        return Err(Error::Invalid(format!(
            "{}: {} position line(s) for {} frame(s)",
            path.display(),
            xy.len(),
            names.len()
        )));
    }
    Ok(names
        .iter()
        .zip(&xy)
        .map(|(n, p)| Offset::shift(n, p.0 - xy[0].0, p.1 - xy[0].1, 1))
        .collect())
}

/// Write offsets as text: `FILE DX DY` per frame for a pure shift; a frame that rotates, scales
/// or mirrors adds its rotation (degrees), scale and the FITS 1-based matrix a b c d e f
/// (x' = a x + b y + c, y' = d x + e y + f, reference pixel to frame pixel).
pub fn write_offsets(path: &Path, offsets: &[Offset], overwrite: bool) -> Result<()> {
    let mut s = String::from(
        "# skycomb offsets: file dx dy (pixels; star in the file minus star in the reference frame,\n\
         # at the reference frame's centre) [rotation_deg scale a b c d e f: the FITS 1-based map\n\
         # x' = a x + b y + c, y' = d x + e y + f from reference pixels to the frame's]\n",
    );
    for o in offsets {
        s.push_str(&format!("{} {:.4} {:.4}", o.file, o.dx, o.dy));
        if o.transform != Affine::shift(o.dx, o.dy) {
            let m = o.transform.fits_matrix();
            s.push_str(&format!(
                " {:.6} {:.8} {:.12e} {:.12e} {:.12e} {:.12e} {:.12e} {:.12e}",
                o.transform.rotation_deg(),
                o.transform.scale(),
                m[0][0],
                m[0][1],
                m[0][2],
                m[1][0],
                m[1][1],
                m[1][2]
            ));
        }
        s.push('\n');
    }
    crate::fits::write::write_atomic(path, s.as_bytes(), crate::fits::WriteOptions { overwrite })
}

/// One line of an offsets file: 3 columns (a shift) or 11 (with rotation, scale and the matrix).
fn offset_line(p: &[&str], bad: &dyn Fn() -> Error) -> Result<Offset> {
    let num = |t: &str| t.parse::<f64>().map_err(|_| bad());
    match p.len() {
        3 => Ok(Offset::shift(p[0], num(p[1])?, num(p[2])?, 0)),
        11 => {
            let v: Vec<f64> = p[5..].iter().map(|t| num(t)).collect::<Result<_>>()?;
            let t = Affine::from_fits_matrix([[v[0], v[1], v[2]], [v[3], v[4], v[5]]]);
            let mut o = Offset::shift(p[0], num(p[1])?, num(p[2])?, 0);
            o.transform = t;
            Ok(o)
        }
        _ => Err(bad()),
    }
}

/// Read offsets written by [`write_offsets`] for these frames, in their order.
pub fn read_offsets(path: &Path, names: &[String]) -> Result<Vec<Offset>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let p: Vec<&str> = line.split_whitespace().collect();
        let bad = || {
            Error::Invalid(format!(
                "{}:{}: expected FILE DX DY (or FILE DX DY ROTATION SCALE A B C D E F)",
                path.display(),
                i + 1
            ))
        };
        let o = offset_line(&p, &bad)?;
        map.insert(o.file.clone(), o);
    }
    names
        .iter()
        .map(|n| {
            map.get(n)
                .cloned()
                .ok_or_else(|| Error::Invalid(format!("{}: no offset for {n}", path.display())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numina_positions_file_round_trips_offsets_and_names() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("offsets.txt");
        let offsets: Vec<Offset> = [("a.fits", 0.0, 0.0), ("b.fits", -5.25, 6.5)]
            .iter()
            .map(|&(f, dx, dy)| Offset::shift(f, dx, dy, 1))
            .collect();
        write_positions_file(&path, (26.5, 14.0), &offsets, false).unwrap();
        let lines = read_positions_file(&path).unwrap();
        assert_eq!(lines[0], (Some("a.fits".into()), 27.5, 15.0));
        assert_eq!(lines[1], (Some("b.fits".into()), 22.25, 21.5));
        let names = ["a.fits".to_string(), "b.fits".to_string()];
        let back = offsets_from_positions_file(&path, &names).unwrap();
        assert_eq!((back[1].dx, back[1].dy), (-5.25, 6.5));
        // never overwrites unless asked
        assert!(write_positions_file(&path, (0.0, 0.0), &offsets, false).is_err());
    }

    #[test]
    fn offsets_files_keep_shifts_and_whole_transforms() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("offsets.txt");
        let turned = Affine {
            m: [[0.9998, -0.0175, 4.25], [0.0175, 0.9998, -3.5]],
        };
        let offsets = vec![
            Offset::shift("a.fits", 0.0, 0.0, 9),
            Offset::shift("b.fits", -5.25, 6.5, 9),
            Offset::from_transform("c.fits", turned, (255.5, 255.5), 9, 0.02),
        ];
        write_offsets(&path, &offsets, false).unwrap();
        let names: Vec<String> = ["c.fits", "a.fits", "b.fits"].map(String::from).to_vec();
        let back = read_offsets(&path, &names).unwrap();
        assert_eq!(back[1].transform, Affine::identity());
        assert_eq!((back[2].dx, back[2].dy), (-5.25, 6.5));
        for (a, b) in back[0]
            .transform
            .m
            .iter()
            .flatten()
            .zip(turned.m.iter().flatten())
        {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
        // an old three-column file still reads
        std::fs::write(&path, "a.fits 0 0\nb.fits 1.5 -2\n").unwrap();
        let old = read_offsets(&path, &names[1..]).unwrap();
        assert_eq!(old[1].transform, Affine::shift(1.5, -2.0));
        std::fs::write(&path, "a.fits 0 0 1\n").unwrap();
        assert!(read_offsets(&path, &names[1..2]).is_err());
    }
}
