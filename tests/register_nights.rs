//! Registration over nights nobody tuned to: followed stars and matched star fields on sample nights
//! of many seeds and sizes, frames rotated, scaled and mirrored against each other (the fitted
//! transform against the truth, the stack's stars, sharpness, coverage and WCS), and frames that
//! cannot be registered (no stars, another field, a flat among the lights) named while the rest
//! register. The seeds are a fixed arithmetic run, never chosen because they pass.

mod common;
use serde_json::Value as Json;
use skycomb::combine::{CombineParams, OutputPaths};
use skycomb::progress::Progress;
use skycomb::register::transform::{Affine, TransformKind};
use skycomb::register::*;
use skycomb::sample::{Geometry, SampleNightParams};
use std::path::{Path, PathBuf};

/// A calibrated sample night: the seven science frames (calibrated) and the truth.
fn night(dir: &Path, size: usize, seed: u64, geometry: Geometry) -> (Vec<PathBuf>, Json) {
    let (out, truth) = common::calibrated_night(
        dir,
        SampleNightParams {
            size,
            seed,
            geometry,
        },
    );
    let files = (1..=7)
        .map(|i| out.join(format!("sci_R_{i:03}.fits")))
        .collect();
    (files, truth)
}

/// A stack onto the union canvas with similarity transforms, a plain average, no scaling.
fn plain_stack(offsets: OffsetSource, shift: ShiftMode, sky: SkyMode) -> StackParams {
    StackParams {
        offsets,
        transform: TransformKind::Similarity,
        refine: false,
        shift,
        canvas: CanvasKind::Union,
        sky,
        scale: StackScale::None,
        combine: CombineParams::default(),
    }
}

/// The registered frames' offsets and the frames left out, with similarity transforms.
fn register(files: &[PathBuf], source: &OffsetSource) -> (Vec<Offset>, Vec<SkippedFrame>) {
    offsets_of_files(
        files,
        source,
        TransformKind::Similarity,
        false,
        &Progress::new(),
    )
    .unwrap()
}

/// The truth's map of a frame (reference pixel to frame pixel, 0-based).
fn true_transform(truth: &Json, file: &str) -> Affine {
    let m = &truth["frames"][file]["matrix"];
    let v = |r: usize, c: usize| m[r][c].as_f64().unwrap();
    Affine {
        m: [[v(0, 0), v(0, 1), v(0, 2)], [v(1, 0), v(1, 1), v(1, 2)]],
    }
}

/// The reference stars, brightest first, as 0-based positions in the first frame.
fn reference_stars(truth: &Json) -> Vec<(f64, f64)> {
    let mut refs: Vec<&Json> = truth["stars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reference"].as_bool().unwrap())
        .collect();
    refs.sort_by(|a, b| {
        b["flux"]
            .as_f64()
            .unwrap()
            .total_cmp(&a["flux"].as_f64().unwrap())
    });
    refs.iter()
        .map(|s| (s["x"].as_f64().unwrap(), s["y"].as_f64().unwrap()))
        .collect()
}

/// The worst distance between measured and true dx, dy over the frames.
fn worst_offset_error(offsets: &[Offset], truth: &Json) -> f64 {
    offsets
        .iter()
        .map(|o| {
            let t = &truth["frames"][&o.file];
            (o.dx - t["dx"].as_f64().unwrap()).hypot(o.dy - t["dy"].as_f64().unwrap())
        })
        .fold(0.0, f64::max)
}

/// Followed stars (the brightest, and three) and matched fields on one night: the worst error of each.
fn offsets_errors(dir: &Path, size: usize, seed: u64) -> [f64; 3] {
    let (files, truth) = night(dir, size, seed, Geometry::default());
    let refs = reference_stars(&truth);
    let run = |source: OffsetSource| {
        let (offsets, skipped) = register(&files, &source);
        assert!(skipped.is_empty(), "size {size} seed {seed}: {skipped:?}");
        assert_eq!(offsets.len(), 7);
        worst_offset_error(&offsets, &truth)
    };
    [
        run(OffsetSource::Stars(refs[..1].to_vec())),
        run(OffsetSource::Stars(refs[..3].to_vec())),
        run(OffsetSource::Auto),
    ]
}

fn check_offsets_over(nights: &[(usize, u64)]) {
    let d = tempfile::tempdir().unwrap();
    let mut worst = [0f64; 3];
    for &(size, seed) in nights {
        let e = offsets_errors(d.path(), size, seed);
        for k in 0..3 {
            worst[k] = worst[k].max(e[k]);
        }
        assert!(
            e.iter().all(|e| *e < 0.05),
            "size {size} seed {seed}: worst errors (one star, three stars, auto) {e:?} px"
        );
    }
    eprintln!("worst errors (one star, three stars, auto): {worst:?} px");
}

#[test]
fn followed_stars_and_matched_fields_hold_on_nights_of_other_seeds_and_sizes() {
    // a fixed run: seeds 1, 8, 15, ... over the three sizes in turn
    let nights: Vec<(usize, u64)> = (0..6)
        .map(|i| ([256, 384, 512][i % 3], 1 + 7 * i as u64))
        .collect();
    check_offsets_over(&nights);
}

/// The whole sweep of the issue: seeds 1..=50 at 256, 384 and 512 (about ten minutes in release:
/// `cargo test --release --test register_nights -- --ignored`).
#[test]
#[ignore]
fn followed_stars_and_matched_fields_hold_on_150_nights() {
    let nights: Vec<(usize, u64)> = [256, 384, 512]
        .iter()
        .flat_map(|&n| (1..=50).map(move |s| (n, s)))
        .collect();
    check_offsets_over(&nights);
}

/// Automatic offsets on a turned night: the fitted transform maps the reference's corners within
/// 0.05 px of where the truth puts them.
fn check_transforms(files: &[PathBuf], truth: &Json, size: usize, what: &str) -> Vec<Offset> {
    let (offsets, skipped) = register(files, &OffsetSource::Auto);
    assert!(skipped.is_empty(), "{what}: {skipped:?}");
    for o in &offsets {
        let t = true_transform(truth, &o.file);
        let n = size as f64 - 1.0;
        for (x, y) in [(0.0, 0.0), (n, 0.0), (0.0, n), (n, n)] {
            let (a, b) = (o.transform.apply(x, y), t.apply(x, y));
            let e = (a.0 - b.0).hypot(a.1 - b.1);
            assert!(
                e < 0.05,
                "{what} {}: corner ({x}, {y}) lands {e:.3} px from the truth ({:.3} deg, scale {:.5})",
                o.file,
                o.transform.rotation_deg(),
                o.transform.scale()
            );
        }
    }
    offsets
}

/// The geometries the issue names: small and large rotations, a meridian flip, a mirror, 1% scale,
/// and all of them at once.
const GEOMETRIES: [(f64, f64, bool); 7] = [
    (0.3, 1.0, false),
    (2.0, 1.0, false),
    (90.0, 1.0, false),
    (180.0, 1.0, false),
    (0.0, 1.0, true),
    (0.0, 1.01, false),
    (-37.0, 0.99, true),
];

/// Every geometry on the nights of `seeds` at `size`.
fn check_geometries(size: usize, seeds: impl Iterator<Item = u64> + Clone) {
    for (rotation_deg, scale, mirror) in GEOMETRIES {
        for seed in seeds.clone() {
            let d = tempfile::tempdir().unwrap();
            let g = Geometry {
                rotation_deg,
                scale,
                mirror,
            };
            let (files, truth) = night(d.path(), size, seed, g);
            let what = format!(
                "size {size} seed {seed} rotation {rotation_deg} scale {scale} mirror {mirror}"
            );
            check_transforms(&files, &truth, size, &what);
        }
    }
}

#[test]
fn rotated_scaled_and_mirrored_frames_register() {
    check_geometries(256, 31..32);
}

/// Each geometry on ten nights of 256 px and five of 512 px (`-- --ignored`, release).
#[test]
#[ignore]
fn rotated_scaled_and_mirrored_frames_register_on_many_nights() {
    check_geometries(256, 1..=10);
    check_geometries(512, 1..=5);
}

/// FWHM of the 2-D Gaussian fitted to the star nearest (x, y).
fn fwhm_at(img: ndarray::ArrayView2<f32>, x: f64, y: f64) -> Option<(f64, f64, f64)> {
    let c = centroid(img, "stack", x, y, &CentroidParams::default()).ok()?;
    (c.flag == Flag::Ok).then_some((c.x, c.y, c.fwhm))
}

#[test]
fn a_turned_night_stacks_sharp_with_true_coverage_and_a_true_wcs() {
    let d = tempfile::tempdir().unwrap();
    let size = 256;
    let g = Geometry {
        rotation_deg: 2.0,
        scale: 1.0,
        mirror: true,
    };
    let (files, truth) = night(d.path(), size, 47, g);
    let image = d.path().join("stack.fits");
    let npix = d.path().join("npix.fits");
    let p = plain_stack(OffsetSource::Auto, ShiftMode::Lanczos3, SkyMode::Median);
    let r = stack_files(
        &files,
        &p,
        &OutputPaths {
            image: image.clone(),
            npix: Some(npix.clone()),
            ..Default::default()
        },
        &Progress::new(),
    )
    .unwrap();
    assert!(r.skipped.is_empty());
    let stacked = skycomb::Frame::open(&image).unwrap();
    let np = skycomb::Frame::open(&npix).unwrap().data;
    let (x0, y0) = (r.canvas_origin[0] as f64, r.canvas_origin[1] as f64);
    let transforms: Vec<Affine> = (1..=7)
        .map(|i| true_transform(&truth, &format!("sci_R_{i:03}.fits")))
        .collect();

    // npix is the true coverage (but within 0.05 px of a frame's edge, where rounding decides)
    let n = size as f64;
    let mut checked = 0;
    for ((y, x), v) in np.indexed_iter() {
        let (mut count, mut ambiguous) = (0, false);
        for t in &transforms {
            let (fx, fy) = t.apply(x as f64 + x0, y as f64 + y0);
            let near = |t: f64| (t + 0.5).abs() < 0.05 || (t - (n - 0.5)).abs() < 0.05;
            ambiguous |= near(fx) || near(fy);
            count += (fx >= -0.5 && fx < n - 0.5 && fy >= -0.5 && fy < n - 0.5) as i32;
        }
        if !ambiguous {
            assert_eq!(*v as i32, count, "npix at canvas ({x}, {y})");
            checked += 1;
        }
    }
    assert!(checked > 50_000, "{checked}");

    // the reference stars land where they are in the reference frame, as sharp in the corners as
    // at the centre, and about as sharp as the frames they come from
    let mut frame_fwhm: Vec<f64> = (1..=7)
        .map(|i| {
            truth["frames"][format!("sci_R_{i:03}.fits")]["fwhm_px"]
                .as_f64()
                .unwrap()
        })
        .collect();
    frame_fwhm.sort_by(f64::total_cmp);
    let mut widths = Vec::new();
    for (x, y) in reference_stars(&truth) {
        let (cx, cy, fwhm) = fwhm_at(stacked.data.view(), x - x0, y - y0).unwrap();
        let e = (cx - (x - x0)).hypot(cy - (y - y0));
        assert!(e < 0.1, "star at ({x:.1}, {y:.1}) lands {e:.3} px away");
        widths.push((x, y, fwhm));
    }
    let centre = widths
        .iter()
        .min_by(|a, b| {
            let d = |w: &&(f64, f64, f64)| (w.0 - n / 2.0).hypot(w.1 - n / 2.0);
            d(a).total_cmp(&d(b))
        })
        .unwrap()
        .2;
    for (x, y, w) in &widths {
        assert!(
            (w / centre - 1.0).abs() < 0.05,
            "FWHM {w:.3} at ({x:.0}, {y:.0}) vs {centre:.3} at the centre"
        );
    }
    let median_frame = frame_fwhm[3];
    assert!(
        (centre / median_frame - 1.0).abs() < 0.05,
        "stack FWHM {centre:.3} vs the frames' median {median_frame:.3}"
    );

    // the stack's WCS is the reference frame's moved to the canvas
    let w_stack = wcs::Wcs::from_header(&stacked.header, "stack").unwrap();
    let first = skycomb::Frame::open(&files[0]).unwrap();
    let w_ref = wcs::Wcs::from_header(&first.header, "reference").unwrap();
    for (x, y) in [(10.0, 10.0), (100.0, 200.0), (250.0, 30.0)] {
        let (ra, dec) = w_stack.pixel_to_world(x, y);
        let (rx, ry) = w_ref.world_to_pixel(ra, dec);
        let e = (rx - (x + x0)).hypot(ry - (y + y0));
        assert!(
            e < 0.05,
            "canvas ({x}, {y}): the stack's WCS is {e:.3} px off"
        );
    }
}

#[test]
fn frames_that_cannot_register_are_named_and_the_rest_register() {
    let d = tempfile::tempdir().unwrap();
    let (files, truth) = night(d.path(), 256, 5, Geometry::default());
    // another field: the real KPNO M92 frame
    let other = common::data("shared/iraf-m92-kpno-1987/fm920004.fits");
    // a blank frame: the sky and noise of a light frame without its stars
    let blank_path = d.path().join("blank.fits");
    let mut blank = skycomb::Frame::open(&files[1]).unwrap();
    let level = skycomb::stats::median_mut(&mut blank.data.iter().copied().collect::<Vec<_>>())
        .unwrap() as f32;
    let mut k = 0u32;
    blank.data.mapv_inplace(|_| {
        k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        level + ((k >> 16) % 40) as f32 - 20.0
    });
    std::fs::write(
        &blank_path,
        skycomb::fits::write::encode_f32(blank.data.view(), &blank.header).unwrap(),
    )
    .unwrap();
    let flat = files[0].parent().unwrap().join("master_flat_R.fits");
    let list: Vec<PathBuf> = vec![
        files[0].clone(),
        files[1].clone(),
        blank_path,
        other,
        flat,
        files[3].clone(),
    ];
    for source in [
        OffsetSource::Auto,
        OffsetSource::Stars(reference_stars(&truth)[..1].to_vec()),
    ] {
        let (offsets, skipped) = register(&list, &source);
        let named: Vec<&str> = skipped.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(
            named,
            ["blank.fits", "fm920004.fits", "master_flat_R.fits"],
            "{source:?}: {skipped:?}"
        );
        for s in &skipped {
            assert!(s.reason.starts_with(&s.file), "{}", s.reason);
        }
        assert_eq!(offsets.len(), 3);
        assert!(worst_offset_error(&offsets, &truth) < 0.05, "{offsets:?}");
    }
}

#[test]
fn survey_cutouts_of_other_sizes_stack_through_their_tpv_wcs() {
    let dir = common::data("shared/legacypipe-cutouts/bok90prime-deep2-dithers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fits"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    let d = tempfile::tempdir().unwrap();
    let image = d.path().join("stack.fits");
    let p = plain_stack(OffsetSource::Wcs, ShiftMode::Bilinear, SkyMode::None);
    let r = stack_files(
        &files,
        &p,
        &OutputPaths {
            image: image.clone(),
            ..Default::default()
        },
        &Progress::new(),
    )
    .unwrap();
    assert_eq!(r.offsets.len(), 5);
    let stacked = skycomb::Frame::open(&image).unwrap();
    let first = skycomb::Frame::open(&files[0]).unwrap();
    let (w_stack, w_ref) = (
        wcs::Wcs::from_header(&stacked.header, "stack").unwrap(),
        wcs::Wcs::from_header(&first.header, "reference").unwrap(),
    );
    let (x0, y0) = (r.canvas_origin[0] as f64, r.canvas_origin[1] as f64);
    for (x, y) in [(0.0, 0.0), (15.0, 12.0), (30.0, 29.0)] {
        let (ra, dec) = w_stack.pixel_to_world(x, y);
        let (rx, ry) = w_ref.world_to_pixel(ra, dec);
        let e = (rx - (x + x0)).hypot(ry - (y + y0));
        assert!(
            e < 0.05,
            "canvas ({x}, {y}): the stack's WCS is {e:.3} px off"
        );
    }
    // each frame's map follows its WCS: a sky position of the reference lands where its WCS says
    for (f, o) in files.iter().zip(&r.offsets) {
        let frame = skycomb::Frame::open(f).unwrap();
        let w = wcs::Wcs::from_header(&frame.header, "frame").unwrap();
        let (ra, dec) = w_ref.pixel_to_world(14.0, 15.0);
        let want = w.world_to_pixel(ra, dec);
        let got = o.transform.apply(14.0, 15.0);
        assert!(
            (want.0 - got.0).hypot(want.1 - got.1) < 0.05,
            "{}: {got:?} vs {want:?}",
            o.file
        );
    }
}
