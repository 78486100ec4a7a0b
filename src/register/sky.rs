//! Sky from neighbouring frames (numina's sky_images): each frame's sky is the median, pixel by
//! pixel in detector coordinates, of its N nearest frames in time, scaled to its own sky level,
//! with objects masked by a mask detected on the previous iteration's stack (canvas coordinates).

use super::detect::MeshBackground;
use super::shift::Canvas;
use super::transform::Affine;
use crate::combine::StackInput;
use crate::error::Result;
use crate::fits::Header;
use ndarray::{Array2, ArrayView2};
use std::ops::Range;
use std::path::Path;

/// Pixels of a stack brighter than the sky by 2.5 noise sigmas, grown by `grow` pixels.
pub fn object_mask(stack: ArrayView2<f32>, grow: usize) -> Array2<bool> {
    let (ny, nx) = stack.dim();
    let Some(bkg) = MeshBackground::new(stack, 32) else {
        return Array2::from_elem((ny, nx), false);
    };
    let seed = Array2::from_shape_fn((ny, nx), |(y, x)| {
        let v = stack[[y, x]];
        v.is_finite() && (v as f64) > bkg.at(x as f64, y as f64) + 2.5 * bkg.noise
    });
    let g = grow as i64;
    let mut mask = seed.clone();
    for ((y, x), s) in seed.indexed_iter() {
        if *s {
            for dy in -g..=g {
                for dx in -g..=g {
                    let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                    if dx * dx + dy * dy <= g * g
                        && yy >= 0
                        && xx >= 0
                        && (yy as usize) < ny
                        && (xx as usize) < nx
                    {
                        mask[[yy as usize, xx as usize]] = true;
                    }
                }
            }
        }
    }
    mask
}

/// The `n` frames nearest to frame `i` in time order (the input order), itself excluded.
pub fn neighbours(i: usize, total: usize, n: usize) -> Vec<usize> {
    let mut others: Vec<usize> = (0..total).filter(|&j| j != i).collect();
    others.sort_by_key(|&j| (j as i64 - i as i64).abs());
    others.truncate(n);
    others.sort();
    others
}

/// A frame with the sky of its neighbours subtracted.
pub struct NeighbourSkyInput<'a> {
    pub frames: &'a [&'a dyn StackInput],
    pub index: usize,
    pub neighbours: Vec<usize>,
    /// Each frame's pixel to its reference-frame pixel (the inverse of its offset's transform).
    pub to_reference: &'a [Affine],
    pub canvas: Canvas,
    /// Objects, in canvas coordinates.
    pub mask: &'a Array2<bool>,
    /// Each frame's sky level (sigma-clipped median), to scale a neighbour's sky to this frame's.
    pub levels: &'a [f64],
}

impl NeighbourSkyInput<'_> {
    /// True when detector pixel (x, y) of frame `j` sees an object.
    fn masked(&self, j: usize, x: usize, y: usize) -> bool {
        let (rx, ry) = self.to_reference[j].apply(x as f64, y as f64);
        let cx = (rx - self.canvas.x0 as f64).round();
        let cy = (ry - self.canvas.y0 as f64).round();
        let (h, w) = self.mask.dim();
        cx >= 0.0
            && cy >= 0.0
            && (cx as usize) < w
            && (cy as usize) < h
            && self.mask[[cy as usize, cx as usize]]
    }
}

impl StackInput for NeighbourSkyInput<'_> {
    fn name(&self) -> String {
        self.frames[self.index].name()
    }
    fn shape(&self) -> (usize, usize) {
        self.frames[self.index].shape()
    }
    fn header(&self) -> &Header {
        self.frames[self.index].header()
    }
    fn path(&self) -> Option<&Path> {
        self.frames[self.index].path()
    }
    fn read_rows(&self, rows: Range<usize>) -> Result<Array2<f32>> {
        let mut own = self.frames[self.index].read_rows(rows.clone())?;
        let others: Vec<Array2<f32>> = self
            .neighbours
            .iter()
            .map(|&j| self.frames[j].read_rows(rows.clone()))
            .collect::<Result<_>>()?;
        let level = self.levels[self.index];
        let mut values: Vec<f32> = Vec::with_capacity(others.len());
        for ((k, x), v) in own.indexed_iter_mut() {
            values.clear();
            for (o, &j) in others.iter().zip(&self.neighbours) {
                let s = o[[k, x]];
                if s.is_finite() && !self.masked(j, x, rows.start + k) {
                    values.push((s as f64 * level / self.levels[j]) as f32);
                }
            }
            let sky = crate::stats::median_mut(&mut values).unwrap_or(level);
            *v = (*v as f64 - sky) as f32;
        }
        Ok(own)
    }
}
