//! Offsets between frames, in pixels: (dx, dy) is a star's position in a frame minus its position in
//! the reference frame. From reference stars followed frame to frame, from detected stars matched
//! automatically, or from a file; saved to and read from plain text.

use super::centroid::{CentroidParams, centroid};
use super::detect::{DetectParams, Star, detect};
use crate::error::{Error, Result};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The offset of one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offset {
    pub file: String,
    pub dx: f64,
    pub dy: f64,
    /// Stars the offset rests on.
    pub n_stars: usize,
}

/// One frame to register: a name and its pixels.
pub struct FrameRef<'a> {
    pub name: String,
    pub data: ArrayView2<'a, f32>,
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

/// Follows reference stars from frame to frame. Each frame's search starts at the reference
/// positions moved by a coarse offset from matching the detected star fields (as IRAF's imalign
/// takes a coarse shift before centring), so dithers larger than the box work; where the fields do
/// not match, it starts where the stars were in the previous frame. Frames come one at a time, so
/// a night need not be in memory at once.
pub struct StarTracker {
    /// The stars' centroids in the reference frame, 0-based.
    pub reference: Vec<(f64, f64)>,
    previous: Vec<(f64, f64)>,
    params: CentroidParams,
    /// The reference frame's detected stars, for the coarse offset.
    field: Vec<Star>,
}

impl StarTracker {
    /// Measure the stars (0-based positions, snapped to their centroids) in the reference frame.
    pub fn new(first: &FrameRef, stars: &[(f64, f64)], p: &CentroidParams) -> Result<StarTracker> {
        if stars.is_empty() {
            return Err(Error::Invalid("no reference star given".into()));
        }
        let reference = stars
            .iter()
            .map(|&(x, y)| centroid(first.data, &first.name, x, y, p).map(|c| (c.x, c.y)))
            .collect::<Result<Vec<_>>>()?;
        let field = detect(first.data, &first.name, &DetectParams::default()).unwrap_or_default();
        Ok(StarTracker {
            previous: reference.clone(),
            reference,
            params: *p,
            field,
        })
    }

    /// Where to look for the stars in a frame: reference + coarse offset, else the last positions.
    fn starts(&self, f: &FrameRef) -> Vec<(f64, f64)> {
        let coarse = detect(f.data, &f.name, &DetectParams::default())
            .ok()
            .and_then(|stars| match_stars(&self.field, &stars, 2.0));
        match coarse {
            Some((ox, oy, _)) => self
                .reference
                .iter()
                .map(|r| (r.0 + ox, r.1 + oy))
                .collect(),
            None => self.previous.clone(),
        }
    }

    /// The offset of the next frame; on an error the stars' last positions are kept.
    pub fn offset(&mut self, f: &FrameRef) -> Result<Offset> {
        let found = self
            .starts(f)
            .iter()
            .map(|&(px, py)| centroid(f.data, &f.name, px, py, &self.params).map(|c| (c.x, c.y)))
            .collect::<Result<Vec<_>>>()?;
        let dx: Vec<f64> = found
            .iter()
            .zip(&self.reference)
            .map(|(c, r)| c.0 - r.0)
            .collect();
        let dy: Vec<f64> = found
            .iter()
            .zip(&self.reference)
            .map(|(c, r)| c.1 - r.1)
            .collect();
        self.previous = found;
        Ok(Offset {
            file: f.name.clone(),
            dx: robust_mean(&dx),
            dy: robust_mean(&dy),
            n_stars: self.reference.len(),
        })
    }
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

/// The translation that maps most of `reference`'s stars onto `frame`'s: every pair votes for its
/// difference (1 px bins); the best bin and its neighbours are refined by nearest-neighbour matching.
pub fn match_stars(
    reference: &[Star],
    frame: &[Star],
    tolerance_px: f64,
) -> Option<(f64, f64, usize)> {
    let mut votes: HashMap<(i64, i64), usize> = HashMap::new();
    for r in reference {
        for f in frame {
            *votes
                .entry(((f.x - r.x).round() as i64, (f.y - r.y).round() as i64))
                .or_default() += 1;
        }
    }
    let score = |k: &(i64, i64)| {
        (-1..=1)
            .flat_map(|a| (-1..=1).map(move |b| (a, b)))
            .map(|(a, b)| votes.get(&(k.0 + a, k.1 + b)).copied().unwrap_or(0))
            .sum::<usize>()
    };
    let best = votes
        .keys()
        .max_by_key(|k| (score(k), std::cmp::Reverse(k.0.abs() + k.1.abs())))?;
    let (mut ox, mut oy) = (best.0 as f64, best.1 as f64);
    let mut matched = 0;
    for _ in 0..3 {
        let mut dx = Vec::new();
        let mut dy = Vec::new();
        for r in reference {
            let (px, py) = (r.x + ox, r.y + oy);
            if let Some(f) = frame.iter().min_by(|a, b| {
                (a.x - px)
                    .hypot(a.y - py)
                    .total_cmp(&(b.x - px).hypot(b.y - py))
            }) && (f.x - px).hypot(f.y - py) <= tolerance_px
            {
                dx.push(f.x - r.x);
                dy.push(f.y - r.y);
            }
        }
        if dx.len() < 3 {
            return None;
        }
        matched = dx.len();
        ox = robust_mean(&dx);
        oy = robust_mean(&dy);
    }
    Some((ox, oy, matched))
}

/// Detect stars in every frame and match each frame to the first (no click needed; dithers of tens
/// of pixels or more work).
pub fn offsets_auto(frames: &[FrameRef], p: &DetectParams) -> Result<Vec<Offset>> {
    let bright = DetectParams {
        max_stars: p.max_stars.min(80),
        ..*p
    };
    let lists: Vec<Vec<Star>> = frames
        .iter()
        .map(|f| detect(f.data, &f.name, &bright))
        .collect::<Result<_>>()?;
    let reference = lists
        .first()
        .ok_or_else(|| Error::Invalid("no frames to register".into()))?;
    if reference.len() < 3 {
        return Err(Error::Invalid(format!(
            "{}: only {} star(s) detected; automatic offsets need at least 3",
            frames[0].name,
            reference.len()
        )));
    }
    frames
        .iter()
        .zip(&lists)
        .map(|(f, stars)| {
            let (dx, dy, n) = match_stars(reference, stars, 1.5).ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: could not match its stars ({} detected) to the reference frame's",
                    f.name,
                    stars.len()
                ))
            })?;
            Ok(Offset {
                file: f.name.clone(),
                dx,
                dy,
                n_stars: n,
            })
        })
        .collect()
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
        .map(|(n, p)| Offset {
            file: n.clone(),
            dx: p.0 - xy[0].0,
            dy: p.1 - xy[0].1,
            n_stars: 1,
        })
        .collect())
}

/// Write offsets as text: a comment, then `FILE DX DY` per frame.
pub fn write_offsets(path: &Path, offsets: &[Offset], overwrite: bool) -> Result<()> {
    let mut s = String::from(
        "# skycomb offsets: file dx dy (pixels; star in the file minus star in the reference frame)\n",
    );
    for o in offsets {
        s.push_str(&format!("{} {:.4} {:.4}\n", o.file, o.dx, o.dy));
    }
    crate::fits::write::write_atomic(path, s.as_bytes(), crate::fits::WriteOptions { overwrite })
}

/// Read offsets written by [`write_offsets`] (`FILE DX DY` lines) for these frames, in their order.
pub fn read_offsets(path: &Path, names: &[String]) -> Result<Vec<Offset>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "cannot read", e))?;
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let p: Vec<&str> = line.split_whitespace().collect();
        let bad = || Error::Invalid(format!("{}:{}: expected FILE DX DY", path.display(), i + 1));
        if p.len() != 3 {
            return Err(bad());
        }
        map.insert(
            p[0].to_string(),
            (
                p[1].parse::<f64>().map_err(|_| bad())?,
                p[2].parse::<f64>().map_err(|_| bad())?,
            ),
        );
    }
    names
        .iter()
        .map(|n| {
            let (dx, dy) = map
                .get(n)
                .ok_or_else(|| Error::Invalid(format!("{}: no offset for {n}", path.display())))?;
            Ok(Offset {
                file: n.clone(),
                dx: *dx,
                dy: *dy,
                n_stars: 0,
            })
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
            .map(|&(f, dx, dy)| Offset {
                file: f.into(),
                dx,
                dy,
                n_stars: 1,
            })
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
}
