//! Geometric transforms between frames: an affine map from reference-frame pixels to a frame's
//! pixels (shift, similarity with an optional mirror, or a full affine), least-squares fits of each
//! kind to matched positions, and what a person reads off them (rotation, scale, mirror, the shift
//! at a point, the FITS 1-based matrix).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which transforms a registration may fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformKind {
    /// A translation only.
    Shift,
    /// Rotation, one scale and a translation, mirrored where the frame is mirrored.
    #[default]
    Similarity,
    /// Any linear map and a translation (shear and two scales).
    Affine,
}

impl std::str::FromStr for TransformKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "shift" => TransformKind::Shift,
            "similarity" => TransformKind::Similarity,
            "affine" => TransformKind::Affine,
            _ => {
                return Err(Error::Invalid(format!(
                    "transform {s:?}: expected shift, similarity or affine"
                )));
            }
        })
    }
}

impl std::fmt::Display for TransformKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransformKind::Shift => "shift",
            TransformKind::Similarity => "similarity",
            TransformKind::Affine => "affine",
        })
    }
}

impl TransformKind {
    /// Matched positions the fit needs at least.
    pub fn min_points(self) -> usize {
        match self {
            TransformKind::Shift => 1,
            TransformKind::Similarity => 2,
            TransformKind::Affine => 3,
        }
    }
}

/// x' = m[0][0] x + m[0][1] y + m[0][2], y' = m[1][0] x + m[1][1] y + m[1][2]: a 0-based pixel
/// (x, y) of the reference frame lands at (x', y') in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub m: [[f64; 3]; 2],
}

impl Default for Affine {
    fn default() -> Self {
        Affine::identity()
    }
}

/// A pair of matched positions: (reference frame, frame), 0-based.
pub type PointPair = ((f64, f64), (f64, f64));

impl Affine {
    pub fn identity() -> Affine {
        Affine::shift(0.0, 0.0)
    }

    pub fn shift(dx: f64, dy: f64) -> Affine {
        Affine {
            m: [[1.0, 0.0, dx], [0.0, 1.0, dy]],
        }
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.m;
        (
            m[0][0] * x + m[0][1] * y + m[0][2],
            m[1][0] * x + m[1][1] * y + m[1][2],
        )
    }

    /// The determinant of the linear part: the frame's pixel area per reference pixel.
    pub fn det(&self) -> f64 {
        self.m[0][0] * self.m[1][1] - self.m[0][1] * self.m[1][0]
    }

    pub fn inverse(&self) -> Option<Affine> {
        let d = self.det();
        if !d.is_finite() || d.abs() < 1e-12 {
            return None;
        }
        let [[a, b, c], [e, f, g]] = self.m;
        let (ia, ib, ie, i_f) = (f / d, -b / d, -e / d, a / d);
        Some(Affine {
            m: [[ia, ib, -(ia * c + ib * g)], [ie, i_f, -(ie * c + i_f * g)]],
        })
    }

    /// Where the frame is mirrored against the reference (the linear part's determinant < 0).
    pub fn mirrored(&self) -> bool {
        self.det() < 0.0
    }

    /// The mean scale: sqrt(|det|), frame pixels per reference pixel.
    pub fn scale(&self) -> f64 {
        self.det().abs().sqrt()
    }

    /// The rotation in degrees, counter-clockwise (in a display with y up) from the reference's
    /// axes to the frame's, after undoing a mirror in x.
    pub fn rotation_deg(&self) -> f64 {
        let [[a, _, _], [d, _, _]] = self.m;
        // a mirror in x negates the first column: undo it before reading the angle
        let s = if self.mirrored() { -1.0 } else { 1.0 };
        (s * d).atan2(s * a).to_degrees()
    }

    /// The displacement of the reference pixel (x, y): where it lands minus where it was.
    pub fn shift_at(&self, x: f64, y: f64) -> (f64, f64) {
        let (u, v) = self.apply(x, y);
        (u - x, v - y)
    }

    /// The same map in FITS 1-based pixels on both sides.
    pub fn fits_matrix(&self) -> [[f64; 3]; 2] {
        let [[a, b, c], [d, e, f]] = self.m;
        [[a, b, c + 1.0 - a - b], [d, e, f + 1.0 - d - e]]
    }

    /// The map given in FITS 1-based pixels on both sides.
    pub fn from_fits_matrix(m: [[f64; 3]; 2]) -> Affine {
        let [[a, b, c], [d, e, f]] = m;
        Affine {
            m: [[a, b, c - 1.0 + a + b], [d, e, f - 1.0 + d + e]],
        }
    }

    /// The largest distance, over the corners of an `nx` x `ny` frame, between this map and the
    /// pure shift it gives at the frame's centre: 0 for a shift.
    pub fn departure_from_shift(&self, nx: usize, ny: usize) -> f64 {
        let (cx, cy) = ((nx as f64 - 1.0) / 2.0, (ny as f64 - 1.0) / 2.0);
        let (sx, sy) = self.shift_at(cx, cy);
        corners(nx, ny)
            .iter()
            .map(|&(x, y)| {
                let (u, v) = self.apply(x, y);
                (u - x - sx).hypot(v - y - sy)
            })
            .fold(0.0, f64::max)
    }

    /// This map followed by `then`.
    pub fn then(&self, then: &Affine) -> Affine {
        let [[a, b, c], [d, e, f]] = self.m;
        let [[p, q, r], [s, t, u]] = then.m;
        Affine {
            m: [
                [p * a + q * d, p * b + q * e, p * c + q * f + r],
                [s * a + t * d, s * b + t * e, s * c + t * f + u],
            ],
        }
    }

    /// The root-mean-square distance between the mapped reference positions and the frame's.
    pub fn rms(&self, pairs: &[PointPair]) -> f64 {
        if pairs.is_empty() {
            return 0.0;
        }
        let ss: f64 = pairs
            .iter()
            .map(|&((x, y), (u, v))| {
                let (px, py) = self.apply(x, y);
                (px - u).powi(2) + (py - v).powi(2)
            })
            .sum();
        (ss / pairs.len() as f64).sqrt()
    }
}

/// The four outer corners of an `nx` x `ny` frame's footprint (pixel edges, 0-based centres).
pub fn corners(nx: usize, ny: usize) -> [(f64, f64); 4] {
    let (x1, y1) = (nx as f64 - 0.5, ny as f64 - 0.5);
    [(-0.5, -0.5), (x1, -0.5), (-0.5, y1), (x1, y1)]
}

/// The least-squares transform of `kind` that maps the pairs' reference positions onto the frame's;
/// a similarity tries both handednesses and keeps the better. None when too few pairs or degenerate.
pub fn fit(kind: TransformKind, pairs: &[PointPair]) -> Option<Affine> {
    fit_weighted(kind, pairs, &vec![1.0; pairs.len()])
}

/// [`fit`] with a weight per pair (1 / variance of its positions).
pub fn fit_weighted(kind: TransformKind, pairs: &[PointPair], weights: &[f64]) -> Option<Affine> {
    if pairs.len() < kind.min_points() || weights.len() != pairs.len() {
        return None;
    }
    let c = Centred::new(pairs, weights)?;
    let t = match kind {
        TransformKind::Shift => Affine::shift(c.mu - c.mx, c.mv - c.my),
        TransformKind::Similarity => {
            let rms = |t: &Affine| t.rms(pairs);
            match (c.similarity(false), c.similarity(true)) {
                (Some(p), Some(m)) => {
                    if rms(&m) < rms(&p) {
                        m
                    } else {
                        p
                    }
                }
                (p, m) => p.or(m)?,
            }
        }
        TransformKind::Affine => c.affine()?,
    };
    t.m.iter().flatten().all(|v| v.is_finite()).then_some(t)
}

/// Weighted pairs about their weighted centroids.
struct Centred {
    /// (x, y, u, v, w) less the means.
    points: Vec<(f64, f64, f64, f64, f64)>,
    mx: f64,
    my: f64,
    mu: f64,
    mv: f64,
}

impl Centred {
    fn new(pairs: &[PointPair], weights: &[f64]) -> Option<Centred> {
        let sw: f64 = weights.iter().sum();
        if sw.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let (mut mx, mut my, mut mu, mut mv) = (0.0, 0.0, 0.0, 0.0);
        for (&((x, y), (u, v)), w) in pairs.iter().zip(weights) {
            mx += w * x / sw;
            my += w * y / sw;
            mu += w * u / sw;
            mv += w * v / sw;
        }
        let points = pairs
            .iter()
            .zip(weights)
            .map(|(&((x, y), (u, v)), &w)| (x - mx, y - my, u - mu, v - mv, w))
            .collect();
        Some(Centred {
            points,
            mx,
            my,
            mu,
            mv,
        })
    }

    /// The linear part [[a, b], [d, e]] placed about the centroids.
    fn place(&self, a: f64, b: f64, d: f64, e: f64) -> Affine {
        Affine {
            m: [
                [a, b, self.mu - a * self.mx - b * self.my],
                [d, e, self.mv - d * self.mx - e * self.my],
            ],
        }
    }

    /// x' = a x - b y, y' = b x + a y (or, mirrored, x' = a x + b y, y' = b x - a y).
    fn similarity(&self, mirror: bool) -> Option<Affine> {
        let sgn = if mirror { -1.0 } else { 1.0 };
        let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
        for &(x, y, u, v, w) in &self.points {
            // the mirrored case is the plain one on (x, -y)
            let y = sgn * y;
            num_a += w * (x * u + y * v);
            num_b += w * (x * v - y * u);
            den += w * (x * x + y * y);
        }
        if den <= 0.0 {
            return None;
        }
        let (a, b) = (num_a / den, num_b / den);
        // on (x, s y): u = a x - b s y, v = b x + a s y
        Some(self.place(a, -b * sgn, b, a * sgn))
    }

    /// The four linear parameters by weighted least squares.
    fn affine(&self) -> Option<Affine> {
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        let (mut sxu, mut syu, mut sxv, mut syv) = (0.0, 0.0, 0.0, 0.0);
        for &(x, y, u, v, w) in &self.points {
            sxx += w * x * x;
            sxy += w * x * y;
            syy += w * y * y;
            sxu += w * x * u;
            syu += w * y * u;
            sxv += w * x * v;
            syv += w * y * v;
        }
        let det = sxx * syy - sxy * sxy;
        if det.abs() <= 1e-9 * (sxx * syy).max(1e-300) {
            return None;
        }
        let solve = |bx: f64, by: f64| ((syy * bx - sxy * by) / det, (sxx * by - sxy * bx) / det);
        let (a, b) = solve(sxu, syu);
        let (d, e) = solve(sxv, syv);
        Some(self.place(a, b, d, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn similarity(angle_deg: f64, scale: f64, mirror: bool, dx: f64, dy: f64) -> Affine {
        let (s, c) = angle_deg.to_radians().sin_cos();
        let f = if mirror { -1.0 } else { 1.0 };
        // mirror x first, then rotate and scale
        Affine {
            m: [
                [scale * c * f, -scale * s, dx],
                [scale * s * f, scale * c, dy],
            ],
        }
    }

    fn pairs_of(t: &Affine) -> Vec<PointPair> {
        [
            (3.0, 4.0),
            (100.0, 7.0),
            (55.0, 80.0),
            (10.0, 200.0),
            (150.0, 150.0),
        ]
        .iter()
        .map(|&p| (p, t.apply(p.0, p.1)))
        .collect()
    }

    #[test]
    fn fits_recover_rotations_scales_mirrors_and_shears() {
        for (angle, scale, mirror) in [
            (0.0, 1.0, false),
            (0.3, 1.0, false),
            (2.0, 1.01, false),
            (90.0, 1.0, false),
            (180.0, 1.0, false),
            (-37.0, 0.98, true),
            (0.0, 1.0, true),
        ] {
            let t = similarity(angle, scale, mirror, 12.5, -7.25);
            let f = fit(TransformKind::Similarity, &pairs_of(&t)).unwrap();
            for (a, b) in f.m.iter().flatten().zip(t.m.iter().flatten()) {
                assert!(
                    (a - b).abs() < 1e-9,
                    "{angle} {scale} {mirror}: {f:?} vs {t:?}"
                );
            }
            assert_eq!(f.mirrored(), mirror);
            // the angle read back, modulo a whole turn
            let turn = (f.rotation_deg() - angle + 180.0).rem_euclid(360.0) - 180.0;
            assert!(turn.abs() < 1e-6, "{angle} {mirror}: {}", f.rotation_deg());
            assert!((f.scale() - scale).abs() < 1e-9);
            let back = f.then(&f.inverse().unwrap());
            assert!(back.departure_from_shift(100, 100) < 1e-9);
            assert!(back.shift_at(5.0, 5.0).0.abs() < 1e-9);
        }
        let shear = Affine {
            m: [[1.01, 0.02, 3.0], [-0.015, 0.99, 4.0]],
        };
        let f = fit(TransformKind::Affine, &pairs_of(&shear)).unwrap();
        assert!(f.rms(&pairs_of(&shear)) < 1e-9);
        let s = fit(TransformKind::Shift, &pairs_of(&Affine::shift(2.0, -3.0))).unwrap();
        let (sx, sy) = s.shift_at(0.0, 0.0);
        assert!((sx - 2.0).abs() < 1e-12 && (sy + 3.0).abs() < 1e-12);
        assert!(fit(TransformKind::Affine, &pairs_of(&shear)[..2]).is_none());
    }

    #[test]
    fn rotation_is_counter_clockwise_and_fits_matrix_is_one_based() {
        let t = similarity(90.0, 1.0, false, 0.0, 0.0);
        assert!((t.rotation_deg() - 90.0).abs() < 1e-9);
        // a pixel (x, y) 0-based is (x + 1, y + 1) in FITS; both sides agree
        let f = t.fits_matrix();
        let (u, v) = t.apply(10.0, 20.0);
        let fu = f[0][0] * 11.0 + f[0][1] * 21.0 + f[0][2];
        let fv = f[1][0] * 11.0 + f[1][1] * 21.0 + f[1][2];
        assert!((fu - (u + 1.0)).abs() < 1e-12 && (fv - (v + 1.0)).abs() < 1e-12);
        let back = Affine::from_fits_matrix(f);
        for (a, b) in back.m.iter().flatten().zip(t.m.iter().flatten()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!(Affine::shift(3.0, 4.0).departure_from_shift(512, 512) == 0.0);
        assert!(t.departure_from_shift(512, 512) > 300.0);
    }
}
