//! Matching two star lists whatever the rotation, scale or mirror between them (as astroalign and
//! Siril do): triangles of neighbouring stars are compared by their shape (ratios of their sides,
//! which rotation, scale and mirroring leave alone); every candidate pair of triangles proposes a
//! similarity that the brightest stars of both lists vote on (all candidates are tried, so the
//! result does not depend on a random draw); the winner's matched stars are then fitted by least
//! squares with the transform asked for, outliers clipped.

use super::transform::{Affine, PointPair, TransformKind, fit, fit_weighted};

/// How two star lists are matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchParams {
    /// The transform fitted to the matched stars.
    pub kind: TransformKind,
    /// A star of the frame matches a mapped reference star within this distance (pixels).
    pub tolerance_px: f64,
    /// Matched positions agree to about this (pixels): a candidate's score counts each match by
    /// 1 - (d / precision)^2 (none past it), so the transform most stars agree on tightly wins over
    /// one bent to take in a few poorly measured stars.
    pub precision_px: f64,
    /// The brightest stars of each list that form triangles and vote.
    pub voters: usize,
    /// Fewer matched stars than this is no match.
    pub min_matched: usize,
    /// Scales (frame pixels per reference pixel) outside 1/max_scale ..= max_scale are not tried.
    pub max_scale: f64,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            kind: TransformKind::Similarity,
            tolerance_px: 2.0,
            precision_px: 0.5,
            voters: 40,
            min_matched: 5,
            max_scale: 5.0,
        }
    }
}

/// A star to match: its position (0-based) and the position's uncertainty (pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StarPoint {
    pub x: f64,
    pub y: f64,
    pub sigma: f64,
}

impl From<&super::detect::Star> for StarPoint {
    fn from(s: &super::detect::Star) -> StarPoint {
        StarPoint {
            x: s.x,
            y: s.y,
            sigma: s.err,
        }
    }
}

/// Two star lists matched.
#[derive(Debug, Clone, PartialEq)]
pub struct StarMatch {
    /// Reference position to frame position, 0-based pixels.
    pub transform: Affine,
    /// Indices (reference, frame) of the matched stars.
    pub pairs: Vec<(usize, usize)>,
    /// Root-mean-square residual of the matched stars (pixels).
    pub rms_px: f64,
}

/// Why two lists do not match.
#[derive(Debug, Clone, PartialEq)]
pub enum MatchFailure {
    /// A list has fewer stars than a triangle needs (`reference`, `frame`).
    TooFewStars { reference: usize, frame: usize },
    /// The best candidate transform matched only this many stars.
    NoConsensus { best: usize, needed: usize },
}

impl std::fmt::Display for MatchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchFailure::TooFewStars { reference, frame } => write!(
                f,
                "too few stars to match ({frame} detected in the frame, {reference} in the reference frame; at least 3 each)"
            ),
            MatchFailure::NoConsensus { best, needed } => write!(
                f,
                "its stars do not match the reference frame's (at best {best} star(s) agree, {needed} needed): another field, or not a star field"
            ),
        }
    }
}

/// A triangle of star indices, its vertices ordered by the side opposite them (shortest first),
/// and its shape: (shortest / longest, middle / longest).
#[derive(Debug, Clone, Copy)]
struct Triangle {
    vertices: [usize; 3],
    shape: (f64, f64),
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// The triangles of each star with pairs of its `k` nearest neighbours (no triangle twice), leaving
/// out those too small to measure a shape on.
fn triangles(stars: &[(f64, f64)], k: usize, min_side: f64) -> Vec<Triangle> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, &s) in stars.iter().enumerate() {
        let mut near: Vec<(f64, usize)> = stars
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, &t)| (distance(s, t), j))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        near.truncate(k);
        for (a, &(_, j)) in near.iter().enumerate() {
            for &(_, l) in &near[a + 1..] {
                let mut key = [i, j, l];
                key.sort_unstable();
                if seen.insert(key)
                    && let Some(t) = triangle(stars, key, min_side)
                {
                    out.push(t);
                }
            }
        }
    }
    out
}

fn triangle(stars: &[(f64, f64)], v: [usize; 3], min_side: f64) -> Option<Triangle> {
    // side opposite vertex k joins the other two
    let mut sides: Vec<(f64, usize)> = (0..3)
        .map(|k| (distance(stars[v[(k + 1) % 3]], stars[v[(k + 2) % 3]]), v[k]))
        .collect();
    sides.sort_by(|a, b| a.0.total_cmp(&b.0));
    if sides[0].0 < min_side {
        return None;
    }
    Some(Triangle {
        vertices: [sides[0].1, sides[1].1, sides[2].1],
        shape: (sides[0].0 / sides[2].0, sides[1].0 / sides[2].0),
    })
}

/// The frame star nearest to `p` within `tolerance`, found through a coarse grid of the stars.
struct StarGrid<'a> {
    stars: &'a [(f64, f64)],
    cell: f64,
    cells: std::collections::HashMap<(i64, i64), Vec<usize>>,
}

impl<'a> StarGrid<'a> {
    fn new(stars: &'a [(f64, f64)], cell: f64) -> StarGrid<'a> {
        let mut cells: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
        for (i, s) in stars.iter().enumerate() {
            cells
                .entry(((s.0 / cell).floor() as i64, (s.1 / cell).floor() as i64))
                .or_default()
                .push(i);
        }
        StarGrid { stars, cell, cells }
    }

    fn nearest(&self, p: (f64, f64), tolerance: f64) -> Option<(usize, f64)> {
        let (cx, cy) = (
            (p.0 / self.cell).floor() as i64,
            (p.1 / self.cell).floor() as i64,
        );
        let mut best: Option<(usize, f64)> = None;
        for gy in cy - 1..=cy + 1 {
            for gx in cx - 1..=cx + 1 {
                for &i in self.cells.get(&(gx, gy)).into_iter().flatten() {
                    let d = distance(p, self.stars[i]);
                    if d <= tolerance && best.is_none_or(|b| d < b.1) {
                        best = Some((i, d));
                    }
                }
            }
        }
        best
    }
}

/// Pairs (reference, frame) of stars that map onto each other within `tolerance`, each frame star
/// used once (the closest claim wins).
fn pairs_under(
    t: &Affine,
    reference: &[(f64, f64)],
    grid: &StarGrid,
    tolerance: f64,
) -> Vec<(usize, usize)> {
    let mut claims: Vec<(usize, usize, f64)> = reference
        .iter()
        .enumerate()
        .filter_map(|(i, &r)| {
            grid.nearest(t.apply(r.0, r.1), tolerance)
                .map(|(j, d)| (i, j, d))
        })
        .collect();
    claims.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut taken = vec![false; grid.stars.len()];
    let mut out = Vec::new();
    for (i, j, _) in claims {
        if !taken[j] {
            taken[j] = true;
            out.push((i, j));
        }
    }
    out.sort_unstable();
    out
}

/// A candidate from three stars made good (as LO-RANSAC does): the similarity fitted to the
/// stars it matches, those off by more than 2.5 times the median residual (at least a quarter
/// pixel) left out, twice; a triangle with one poorly measured star (a star cut by the frame's
/// edge) is thereby judged by the fit of its whole field, not by its own three points.
fn local_fit(
    t: Affine,
    reference: &[(f64, f64)],
    frame: &[(f64, f64)],
    grid: &StarGrid,
    tolerance: f64,
) -> Affine {
    let mut t = t;
    for _ in 0..2 {
        let near = pairs_under(&t, reference, grid, tolerance);
        let pts = point_pairs(&near, reference, frame);
        let limit = (2.5 * median_residual(&t, &pts)).max(0.25);
        let kept: Vec<PointPair> = pts
            .into_iter()
            .filter(|&(r, f)| distance(t.apply(r.0, r.1), f) <= limit)
            .collect();
        match fit(TransformKind::Similarity, &kept) {
            Some(f) if kept.len() >= 3 => t = f,
            _ => break,
        }
    }
    t
}

/// How well a transform maps the reference voters onto the frame's: the number of stars matched
/// within the tolerance, and a score that counts each by how close it lands (1 - (d / precision)^2,
/// none past the precision, as MSAC does), so that the transform most stars agree on tightly wins
/// (a grid of stars also matches itself turned by 90 degrees, only less well).
fn agreement(
    t: &Affine,
    reference: &[(f64, f64)],
    frame: &[(f64, f64)],
    grid: &StarGrid,
    p: &MatchParams,
) -> (usize, f64) {
    let pairs = pairs_under(t, reference, grid, p.tolerance_px);
    let score = pairs
        .iter()
        .map(|&(i, j)| {
            let d = distance(t.apply(reference[i].0, reference[i].1), frame[j]);
            (1.0 - (d / p.precision_px).powi(2)).max(0.0)
        })
        .sum();
    (pairs.len(), score)
}

fn point_pairs(
    pairs: &[(usize, usize)],
    reference: &[(f64, f64)],
    frame: &[(f64, f64)],
) -> Vec<PointPair> {
    pairs
        .iter()
        .map(|&(i, j)| (reference[i], frame[j]))
        .collect()
}

/// Match `frame`'s stars to `reference`'s (brightest first); the final fit weighs each pair by its
/// positions' uncertainties.
pub fn match_stars(
    reference: &[StarPoint],
    frame: &[StarPoint],
    p: &MatchParams,
) -> Result<StarMatch, MatchFailure> {
    let positions = |v: &[StarPoint]| v.iter().map(|s| (s.x, s.y)).collect::<Vec<_>>();
    let (r, f) = (positions(reference), positions(frame));
    let coarse = consensus(&r, &f, p)?;
    let weight =
        |(i, j): (usize, usize)| 1.0 / (reference[i].sigma.powi(2) + frame[j].sigma.powi(2) + 1e-4);
    refine(coarse, &r, &f, &weight, p)
}

/// The similarity most of the brightest stars agree on, from every candidate triangle pair.
fn consensus(
    reference: &[(f64, f64)],
    frame: &[(f64, f64)],
    p: &MatchParams,
) -> Result<Affine, MatchFailure> {
    let (rv, fv) = (
        &reference[..reference.len().min(p.voters)],
        &frame[..frame.len().min(p.voters)],
    );
    if rv.len() < 3 || fv.len() < 3 {
        return Err(MatchFailure::TooFewStars {
            reference: reference.len(),
            frame: frame.len(),
        });
    }
    let min_side = 3.0 * p.tolerance_px;
    let (rt, ft) = (
        triangles(rv, 5, min_side),
        triangles(fv, 5, min_side / p.max_scale),
    );
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for (a, r) in rt.iter().enumerate() {
        for (b, f) in ft.iter().enumerate() {
            let d = (r.shape.0 - f.shape.0).hypot(r.shape.1 - f.shape.1);
            if d < 0.02 {
                candidates.push((d, a, b));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates.truncate(4000);
    let grid = StarGrid::new(fv, 4.0 * p.tolerance_px);
    let needed = p.min_matched.min(rv.len()).min(fv.len()).max(3);
    let mut best: Option<(usize, f64, Affine)> = None;
    for &(_, a, b) in &candidates {
        let pts: Vec<PointPair> = (0..3)
            .map(|k| (rv[rt[a].vertices[k]], fv[ft[b].vertices[k]]))
            .collect();
        let Some(t) = fit(TransformKind::Similarity, &pts) else {
            continue;
        };
        let s = t.scale();
        if t.rms(&pts) > p.tolerance_px || s > p.max_scale || s < 1.0 / p.max_scale {
            continue;
        }
        let t = local_fit(t, rv, fv, &grid, p.tolerance_px);
        let (votes, score) = agreement(&t, rv, fv, &grid, p);
        if best.as_ref().is_none_or(|b| score > b.1) {
            best = Some((votes, score, t));
            // every voter within a tenth of the tolerance: nothing can do better
            if votes >= rv.len().min(fv.len()) && score > 0.96 * votes as f64 {
                break;
            }
        }
    }
    match best {
        Some((votes, _, t)) if votes >= needed => Ok(t),
        other => Err(MatchFailure::NoConsensus {
            best: other.map(|b| b.0).unwrap_or(0),
            needed,
        }),
    }
}

/// The median distance between mapped reference positions and the frame's.
fn median_residual(t: &Affine, pts: &[PointPair]) -> f64 {
    let mut d: Vec<f32> = pts
        .iter()
        .map(|&(r, f)| distance(t.apply(r.0, r.1), f) as f32)
        .collect();
    crate::stats::median_mut(&mut d).unwrap_or(0.0)
}

/// Every star matched under the coarse transform, fitted with the asked kind; pairs off by more
/// than 2.5 times the median residual (about three sigmas; at least a quarter pixel) are dropped
/// and the fit repeated, so one wrong pair cannot drag the fit to keep itself.
fn refine(
    coarse: Affine,
    reference: &[(f64, f64)],
    frame: &[(f64, f64)],
    weight: &dyn Fn((usize, usize)) -> f64,
    p: &MatchParams,
) -> Result<StarMatch, MatchFailure> {
    let weighted_fit = |pairs: &[(usize, usize)]| {
        let w: Vec<f64> = pairs.iter().map(|&ij| weight(ij)).collect();
        fit_weighted(p.kind, &point_pairs(pairs, reference, frame), &w)
    };
    let grid = StarGrid::new(frame, 4.0 * p.tolerance_px);
    let mut t = coarse;
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let needed = p.min_matched.max(p.kind.min_points());
    for _ in 0..6 {
        // pairs judged by the transform so far (first the consensus), then fitted
        let near = pairs_under(&t, reference, &grid, p.tolerance_px);
        let limit = (2.5 * median_residual(&t, &point_pairs(&near, reference, frame))).max(0.25);
        let kept: Vec<(usize, usize)> = near
            .into_iter()
            .filter(|&(i, j)| distance(t.apply(reference[i].0, reference[i].1), frame[j]) <= limit)
            .collect();
        if kept.len() < needed {
            break;
        }
        let Some(f) = weighted_fit(&kept) else {
            break;
        };
        let settled = kept == pairs;
        (t, pairs) = (f, kept);
        if settled {
            break;
        }
    }
    if pairs.len() < needed.min(reference.len()) {
        return Err(MatchFailure::NoConsensus {
            best: pairs.len(),
            needed,
        });
    }
    let pts = point_pairs(&pairs, reference, frame);
    let t = weighted_fit(&pairs).unwrap_or(t);
    Ok(StarMatch {
        rms_px: t.rms(&pts),
        transform: t,
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(v: &[(f64, f64)]) -> Vec<StarPoint> {
        v.iter()
            .map(|&(x, y)| StarPoint { x, y, sigma: 0.05 })
            .collect()
    }

    /// A fixed pseudo-random star field.
    fn field(n: usize, size: f64, seed: u64) -> Vec<(f64, f64)> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n).map(|_| (next() * size, next() * size)).collect()
    }

    fn rotate(angle_deg: f64, scale: f64, mirror: bool, dx: f64, dy: f64) -> Affine {
        let (s, c) = angle_deg.to_radians().sin_cos();
        let f = if mirror { -1.0 } else { 1.0 };
        let about = Affine::shift(-250.0, -250.0);
        let turn = Affine {
            m: [
                [scale * c * f, -scale * s, 250.0 + dx],
                [scale * s * f, scale * c, 250.0 + dy],
            ],
        };
        about.then(&turn)
    }

    #[test]
    fn any_rotation_scale_and_mirror_is_recovered() {
        let reference = field(60, 500.0, 7);
        for (angle, scale, mirror) in [
            (0.0, 1.0, false),
            (0.25, 1.0, false),
            (1.8, 1.0, false),
            (90.0, 1.0, false),
            (180.0, 1.0, false),
            (-123.0, 1.01, false),
            (0.0, 1.0, true),
            (33.0, 0.7, true),
        ] {
            let truth = rotate(angle, scale, mirror, 13.0, -8.5);
            // the frame: the mapped stars that stay on it, shuffled, with a few missing and extra
            let mut frame: Vec<(f64, f64)> = reference
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 9 != 4)
                .map(|(_, r)| truth.apply(r.0, r.1))
                .filter(|p| p.0 > -50.0 && p.1 > -50.0 && p.0 < 550.0 && p.1 < 550.0)
                .collect();
            frame.rotate_left(5);
            frame.extend(field(6, 500.0, 99));
            let m = match_stars(
                &points(&reference),
                &points(&frame),
                &MatchParams::default(),
            )
            .unwrap();
            for (x, y) in [(0.0, 0.0), (499.0, 0.0), (0.0, 499.0), (499.0, 499.0)] {
                let (a, b) = (m.transform.apply(x, y), truth.apply(x, y));
                assert!(
                    distance(a, b) < 1e-6,
                    "{angle} {scale} {mirror}: corner ({x}, {y}) {a:?} vs {b:?}"
                );
            }
            assert!(m.pairs.len() >= 40, "{angle}: {} pairs", m.pairs.len());
        }
    }

    #[test]
    fn another_field_or_too_few_stars_is_no_match() {
        let reference = field(60, 500.0, 7);
        let other = field(60, 500.0, 8);
        assert!(matches!(
            match_stars(
                &points(&reference),
                &points(&other),
                &MatchParams::default()
            ),
            Err(MatchFailure::NoConsensus { .. })
        ));
        assert!(matches!(
            match_stars(
                &points(&reference),
                &points(&other[..2]),
                &MatchParams::default()
            ),
            Err(MatchFailure::TooFewStars { frame: 2, .. })
        ));
    }

    #[test]
    fn stars_cut_by_the_frame_edge_do_not_bend_the_match() {
        // a 96-px sample night's reference frame and its frame 4 (dither 12.25, 3.5): two stars
        // pushed past the right edge are detected 1.5 px inside it, and a cosmic ray
        let r = [
            (56.140, 43.585),
            (56.466, 72.720),
            (27.384, 15.058),
            (84.755, 14.982),
            (41.910, 58.505),
            (27.842, 43.673),
            (85.012, 43.772),
            (84.924, 72.489),
            (27.118, 72.885),
            (56.028, 14.987),
        ];
        let f = [
            (40.322, 46.765),
            (39.648, 18.558),
            (68.373, 47.080),
            (54.160, 62.006),
            (68.710, 76.221),
            (39.351, 76.364),
            (68.274, 18.477),
            (95.548, 18.470),
            (95.548, 47.261),
            (73.031, 7.204),
        ];
        let m = match_stars(&points(&r), &points(&f), &MatchParams::default()).unwrap();
        let (dx, dy) = m.transform.shift_at(47.5, 47.5);
        assert!((dx - 12.25).abs() < 0.1 && (dy - 3.5).abs() < 0.1, "{m:?}");
        assert!(m.rms_px < 0.1 && m.pairs.len() >= 6, "{m:?}");
    }
}
