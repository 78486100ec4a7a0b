//! Centroids and aperture photometry on night256 against photutils (reference_256.json) and truth.

use serde_json::Value as Json;
use skycomb::calibrate::*;
use skycomb::collection::{ScanOptions, scan};
use skycomb::combine::Semantics;
use skycomb::photometry::{AnnulusStat, ApertureParams, measure};
use skycomb::progress::Progress;
use skycomb::register::centroid::{CentroidMethod, measure_cutout};
use std::path::PathBuf;

fn night() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/night256")
}

/// The calibrated science frames of night256, as ccdproc made them for the reference.
fn calibrated() -> (tempfile::TempDir, Json) {
    let r: Json =
        serde_json::from_str(&std::fs::read_to_string(night().join("reference_256.json")).unwrap())
            .unwrap();
    let out = tempfile::tempdir().unwrap();
    let p = CalibrateParams {
        dark_match: DarkMatch::Longest,
        ..CalibrateParams::guide(Semantics::Ccdproc, 350_000_000)
    };
    let c = scan(&night(), &ScanOptions::default()).unwrap();
    run_calibration(
        &plan_night(&c, DarkMatch::Longest),
        &night(),
        out.path(),
        &p,
        &Progress::new(),
    )
    .unwrap();
    (out, r)
}

/// No cosmic ray and no satellite trail inside the cutout (truth.json knows where they are).
fn clean_cutout(truth: &Json, name: &str, x0: usize, y0: usize, n: usize) -> bool {
    let f = &truth["frames"][name];
    let inside = |x: f64, y: f64| {
        x >= x0 as f64 - 1.0 && x <= (x0 + n) as f64 && y >= y0 as f64 - 1.0 && y <= (y0 + n) as f64
    };
    let crs = f["cosmic_rays"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| inside(c["x"].as_f64().unwrap(), c["y"].as_f64().unwrap()));
    let trail = f["satellite_trail"].is_object() && {
        let t = &f["satellite_trail"];
        let (xa, ya, xb, yb) = (
            t["x0"].as_f64().unwrap(),
            t["y0"].as_f64().unwrap(),
            t["x1"].as_f64().unwrap(),
            t["y1"].as_f64().unwrap(),
        );
        (x0..x0 + n).any(|x| {
            let y = ya + (yb - ya) * (x as f64 - xa) / (xb - xa);
            y >= y0 as f64 - 4.0 && y <= (y0 + n) as f64 + 4.0
        })
    };
    !crs && !trail
}

fn xy(v: &Json) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

#[test]
fn centroids_match_photutils_and_truth() {
    let (out, r) = calibrated();
    // 2dg vs photutils, 2dg vs truth (clean cutouts), 1dg vs photutils, com vs photutils
    let mut worst = [0.0f64; 4];
    let truth: Json =
        serde_json::from_str(&std::fs::read_to_string(night().join("truth.json")).unwrap())
            .unwrap();
    for (name, entry) in r["science"].as_object().unwrap() {
        let frame = skycomb::Frame::open(&out.path().join(name)).unwrap();
        for s in entry["stars"].as_array().unwrap() {
            let (x0, y0) = (
                s["cutout_x0"].as_u64().unwrap() as usize,
                s["cutout_y0"].as_u64().unwrap() as usize,
            );
            let n = s["cutout_size"].as_u64().unwrap() as usize;
            let cut = frame
                .data
                .slice(ndarray::s![y0..y0 + n, x0..x0 + n])
                .mapv(|v| v as f64);
            let mut vals: Vec<f32> = cut.iter().map(|v| *v as f32).collect();
            let bkg = skycomb::stats::median_mut(&mut vals).unwrap();
            assert!(
                (bkg - s["cutout_bkg_median"].as_f64().unwrap()).abs() < 1e-3,
                "{name}: background"
            );
            let sub = cut.mapv(|v| v - bkg);
            let at = |m| {
                let f = measure_cutout(sub.view(), m, false).unwrap();
                (f.x + x0 as f64, f.y + y0 as f64)
            };
            let d = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1);
            let g2 = at(CentroidMethod::Gauss2d);
            worst[0] = worst[0].max(d(g2, xy(&s["2dg"])));
            if clean_cutout(&truth, name, x0, y0, n) {
                worst[1] = worst[1].max(d(
                    g2,
                    (s["true_x"].as_f64().unwrap(), s["true_y"].as_f64().unwrap()),
                ));
            }
            worst[2] = worst[2].max(d(at(CentroidMethod::Gauss1d), xy(&s["1dg"])));
            worst[3] = worst[3].max(d(at(CentroidMethod::Com), xy(&s["com"])));
        }
    }
    eprintln!(
        "worst distances: 2dg-photutils {:.2e}, 2dg-truth {:.3}, 1dg-photutils {:.2e}, com-photutils {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
    assert!(worst[0] < 0.01, "2dg vs photutils {}", worst[0]);
    assert!(worst[1] < 0.05, "2dg vs truth {}", worst[1]);
    assert!(worst[2] < 0.01, "1dg vs photutils {}", worst[2]);
    assert!(worst[3] < 1e-4, "com vs photutils {}", worst[3]);
}

#[test]
fn aperture_sums_and_annulus_medians_match_photutils() {
    let (out, r) = calibrated();
    let p = ApertureParams {
        radius: 8.0,
        annulus: Some((12.0, 20.0)),
        annulus_stat: AnnulusStat::Median,
        gain_e_per_adu: 1.5,
        read_noise_e: 12.0,
    };
    let mut worst = (0.0f64, 0.0f64);
    for (name, entry) in r["science"].as_object().unwrap() {
        let frame = skycomb::Frame::open(&out.path().join(name)).unwrap();
        for s in entry["stars"].as_array().unwrap() {
            let (x, y) = (s["true_x"].as_f64().unwrap(), s["true_y"].as_f64().unwrap());
            let row = measure(frame.data.view(), name, 0, x, y, &p);
            let want = s["aperture_sum_r8_exact_at_true"].as_f64().unwrap();
            worst.0 = worst.0.max((row.aperture_sum - want).abs() / want);
            let bkg = s["annulus_12_20_median_at_true"].as_f64().unwrap();
            worst.1 = worst.1.max((row.background - bkg).abs() / bkg);
        }
    }
    eprintln!(
        "worst relative: aperture sum {:.2e}, annulus median {:.2e}",
        worst.0, worst.1
    );
    assert!(worst.0 < 1e-4 && worst.1 < 1e-4, "{worst:?}");
}

/// skycomb's own centroid (click a few pixels off, snap, background from the box edges, robust 2-D
/// Gaussian) lands within 0.05 px of the truth for every reference star, including the two whose
/// cutouts a satellite trail or a cosmic ray crosses (where photutils is 0.8 and 0.4 px off).
#[test]
fn clicks_snap_to_the_true_centre() {
    use skycomb::register::{CentroidParams, centroid};
    let (out, r) = calibrated();
    let p = CentroidParams::default();
    let mut worst = 0.0f64;
    for (name, entry) in r["science"].as_object().unwrap() {
        let frame = skycomb::Frame::open(&out.path().join(name)).unwrap();
        for s in entry["stars"].as_array().unwrap() {
            let (tx, ty) = (s["true_x"].as_f64().unwrap(), s["true_y"].as_f64().unwrap());
            let c = centroid(frame.data.view(), name, tx + 3.2, ty - 2.6, &p).unwrap();
            worst = worst.max((c.x - tx).hypot(c.y - ty));
            if (c.x - tx).hypot(c.y - ty) > 0.05 {
                eprintln!(
                    "{name} star {}: {:.3} px off, {c:?}",
                    s["star_id"],
                    (c.x - tx).hypot(c.y - ty)
                );
            }
            assert!(
                c.x_err > 0.0 && c.x_err < 0.05 && c.fwhm > 2.5 && c.fwhm < 5.5,
                "{name}: {c:?}"
            );
        }
    }
    eprintln!("worst distance from truth after a click 4 px off: {worst:.3} px");
    assert!(worst < 0.05, "{worst}");
}

/// A click on empty sky is no star: the centre that walks out of the clicked box to a star further
/// away is flagged, not reported as that star.
#[test]
fn a_click_on_empty_sky_does_not_walk_to_a_far_star() {
    use skycomb::register::centroid::Flag;
    use skycomb::register::{CentroidParams, centroid};
    let (out, r) = calibrated();
    let p = CentroidParams::default();
    let (name, entry) = r["science"].as_object().unwrap().iter().next().unwrap();
    let frame = skycomb::Frame::open(&out.path().join(name)).unwrap();
    let stars = entry["stars"].as_array().unwrap();
    let s = &stars[0];
    let (tx, ty) = (s["true_x"].as_f64().unwrap(), s["true_y"].as_f64().unwrap());
    // 4 px off snaps; 12-14 px off, in the sky, is no star
    let near = centroid(frame.data.view(), name, tx + 3.0, ty - 2.0, &p).unwrap();
    assert_eq!(near.flag, Flag::Ok, "{near:?}");
    let (ny, nx) = frame.data.dim();
    let mut flagged = 0;
    for (dx, dy) in [
        (12.0, 0.0),
        (-12.0, 0.0),
        (0.0, 13.0),
        (0.0, -13.0),
        (10.0, 10.0),
    ] {
        let (x, y) = (tx + dx, ty + dy);
        if x < 8.0 || y < 8.0 || x > nx as f64 - 9.0 || y > ny as f64 - 9.0 {
            continue;
        }
        let c = centroid(frame.data.view(), name, x, y, &p).unwrap();
        let far = (c.x - x).abs() > 7.5 || (c.y - y).abs() > 7.5;
        assert!(!(far && c.flag == Flag::Ok), "({x}, {y}): {c:?}");
        assert!(c.flag != Flag::Ok || c.x_err < 7.5, "({x}, {y}): {c:?}");
        flagged += usize::from(c.flag != Flag::Ok);
    }
    assert!(flagged > 0, "no click in the sky was flagged");
}
