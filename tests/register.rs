//! Registering and stacking: automatic offsets, the dithered stack of the sample night (npix equal
//! to the true coverage, no cosmic ray or trail left, no sky gradient), photometric scales, the real
//! Orion SSDSI-2 and KPNO M92 frames, bad input, and the JSON the measuring commands print.

mod common;
use common::{data, fails_clearly, ok_stdout};
use serde_json::Value as Json;
use skycomb::calibrate::*;
use skycomb::collection::{ScanOptions, scan};
use skycomb::combine::{CombineParams, OutputPaths, Rejection, Semantics, SigmaRule, Spread};
use skycomb::progress::Progress;
use skycomb::register::transform::TransformKind;
use skycomb::register::*;
use skycomb::stats::Centre;
use std::path::{Path, PathBuf};

/// A 256-px sample night, calibrated; returns (folder, truth).
fn calibrated_sample_night(dir: &Path) -> (PathBuf, Json) {
    common::calibrated_night(
        dir,
        skycomb::sample::SampleNightParams {
            size: 256,
            seed: 11,
            ..Default::default()
        },
    )
}

/// The offsets of the files (similarity transforms), every frame registered.
fn offsets_of(files: &[PathBuf], source: &OffsetSource, refine: bool) -> Vec<Offset> {
    let (offsets, skipped) = offsets_of_files(
        files,
        source,
        TransformKind::Similarity,
        refine,
        &Progress::new(),
    )
    .unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    offsets
}

fn sigma3() -> CombineParams {
    CombineParams {
        rejection: Rejection {
            sigma: Some(SigmaRule {
                low: 3.0,
                high: 3.0,
                centre: Centre::Median,
                spread: Spread::MadStd,
                max_iterations: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn the_sample_night_stacks_as_the_truth_says() {
    let d = tempfile::tempdir().unwrap();
    let (reduced, truth) = calibrated_sample_night(d.path());
    let files: Vec<PathBuf> = (1..=7)
        .map(|i| reduced.join(format!("sci_R_{i:03}.fits")))
        .collect();
    let p = StackParams {
        offsets: OffsetSource::Auto,
        transform: TransformKind::Similarity,
        refine: false,
        shift: ShiftMode::Bilinear,
        canvas: CanvasKind::Union,
        sky: SkyMode::Surface(1),
        scale: StackScale::Photometric,
        combine: sigma3(),
    };
    let (img, npix) = (d.path().join("stack.fits"), d.path().join("npix.fits"));
    let r = stack_files(
        &files,
        &p,
        &OutputPaths {
            image: img.clone(),
            npix: Some(npix.clone()),
            ..Default::default()
        },
        &Progress::new(),
    )
    .unwrap();
    let frame = |i: usize| &truth["frames"][format!("sci_R_{:03}.fits", i + 1)];
    // offsets within 0.05 px of the truth, photometric scales within 3% of 1 / transparency
    for (i, o) in r.offsets.iter().enumerate() {
        let (dx, dy) = (
            frame(i)["dx"].as_f64().unwrap(),
            frame(i)["dy"].as_f64().unwrap(),
        );
        assert!(
            (o.dx - dx).abs() < 0.05 && (o.dy - dy).abs() < 0.05,
            "{}: ({}, {}) vs truth ({dx}, {dy})",
            o.file,
            o.dx,
            o.dy
        );
        let want = 1.0 / frame(i)["transparency"].as_f64().unwrap();
        assert!(
            (r.scale[i] / want - 1.0).abs() < 0.03,
            "{}: scale {} vs {want}",
            o.file,
            r.scale[i]
        );
    }
    // npix equals the true coverage (the truth's offsets on each frame's footprint), except where a
    // pixel centre falls within our 0.05 px of a frame's edge, where coverage is decided by rounding
    let n = 256.0;
    let stacked = skycomb::Frame::open(&img).unwrap();
    let np = skycomb::Frame::open(&npix).unwrap().data;
    let (x0, y0) = (r.canvas_origin[0] as f64, r.canvas_origin[1] as f64);
    let mut checked = 0;
    for ((y, x), v) in np.indexed_iter() {
        let (mut count, mut ambiguous) = (0, false);
        for i in 0..7 {
            let (fx, fy) = (
                x as f64 + x0 + frame(i)["dx"].as_f64().unwrap(),
                y as f64 + y0 + frame(i)["dy"].as_f64().unwrap(),
            );
            let near = |t: f64| (t + 0.5).abs() < 0.05 || (t - (n - 0.5)).abs() < 0.05;
            ambiguous |= near(fx) || near(fy);
            count += (fx >= -0.5 && fx < n - 0.5 && fy >= -0.5 && fy < n - 0.5) as i32;
        }
        if !ambiguous {
            assert_eq!(*v as i32, count, "npix at canvas ({x}, {y})");
            checked += 1;
        }
        assert_eq!(
            stacked.data[[y, x]].is_nan(),
            *v == 0.0,
            "NaN exactly where nothing covers"
        );
    }
    assert!(checked > 60_000, "{checked}");
    // no cosmic ray and no trail left: at their places the stack is sky within 6 noise sigmas
    let full: Vec<f32> = stacked
        .data
        .iter()
        .zip(np.iter())
        .filter(|(_, n)| **n == 7.0)
        .map(|(v, _)| *v)
        .collect();
    let noise = skycomb::stats::mad_std(&full).unwrap();
    let star_near = |cx: f64, cy: f64| {
        truth["stars"].as_array().unwrap().iter().any(|s| {
            (s["x"].as_f64().unwrap() - x0 - cx).hypot(s["y"].as_f64().unwrap() - y0 - cy) < 12.0
        })
    };
    let value_at = |i: usize, fx: f64, fy: f64| -> Option<f32> {
        let (cx, cy) = (
            fx - frame(i)["dx"].as_f64().unwrap() - x0,
            fy - frame(i)["dy"].as_f64().unwrap() - y0,
        );
        let (ix, iy) = (cx.round() as usize, cy.round() as usize);
        (np[[iy, ix]] >= 3.0 && !star_near(cx, cy)).then(|| stacked.data[[iy, ix]])
    };
    let mut probes = 0;
    for i in 0..7 {
        for c in frame(i)["cosmic_rays"].as_array().unwrap() {
            if let Some(v) = value_at(i, c["x"].as_f64().unwrap(), c["y"].as_f64().unwrap()) {
                assert!(
                    (v as f64).abs() < 6.0 * noise,
                    "cosmic ray of frame {} left: {v} (noise {noise})",
                    i + 1
                );
                probes += 1;
            }
        }
    }
    let t = &frame(3)["satellite_trail"];
    for k in 0..40 {
        let fx = t["x0"].as_f64().unwrap()
            + (t["x1"].as_f64().unwrap() - t["x0"].as_f64().unwrap()) * (k as f64 + 0.5) / 40.0;
        let fy = t["y0"].as_f64().unwrap()
            + (t["y1"].as_f64().unwrap() - t["y0"].as_f64().unwrap()) * (k as f64 + 0.5) / 40.0;
        if let Some(v) = value_at(3, fx, fy) {
            assert!(
                (v as f64).abs() < 6.0 * noise,
                "trail left at ({fx:.0}, {fy:.0}): {v} (noise {noise})"
            );
            probes += 1;
        }
    }
    assert!(probes > 20, "{probes}");
    // the sky of the stack has no gradient: quadrant sky levels agree within 1% of the input gradient
    let quad = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
        let v: Vec<f32> = ys
            .flat_map(|y| xs.clone().map(move |x| (y, x)))
            .filter(|&(y, x)| np[[y, x]] == 7.0)
            .map(|(y, x)| stacked.data[[y, x]])
            .collect();
        skycomb::stats::sigma_clipped_stats(&v, &Default::default())
            .unwrap()
            .median
    };
    let (h, w) = np.dim();
    let levels = [
        quad(20..w / 2, 20..h / 2),
        quad(w / 2..w - 20, 20..h / 2),
        quad(20..w / 2, h / 2..h - 20),
        quad(w / 2..w - 20, h / 2..h - 20),
    ];
    let spread = levels.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - levels.iter().cloned().fold(f64::INFINITY, f64::min);
    let input_gradient = 0.15 * frame(0)["sky_adu_center_at_unit_flat"].as_f64().unwrap();
    assert!(
        spread < 0.05 * input_gradient,
        "sky quadrants {levels:?} vs an input gradient of {input_gradient} ADU"
    );
}

#[test]
fn night256_offsets_and_photometric_scales() {
    let night = data("night256");
    let out = tempfile::tempdir().unwrap();
    let p = CalibrateParams {
        dark_match: DarkMatch::Longest,
        ..CalibrateParams::guide(Semantics::Ccdproc, 350_000_000)
    };
    let c = scan(&night, &ScanOptions::default()).unwrap();
    run_calibration(
        &plan_night(&c, DarkMatch::Longest),
        &night,
        out.path(),
        &p,
        &Progress::new(),
    )
    .unwrap();
    let r: Json =
        serde_json::from_str(&std::fs::read_to_string(night.join("reference_256.json")).unwrap())
            .unwrap();
    let truth: Json =
        serde_json::from_str(&std::fs::read_to_string(night.join("truth.json")).unwrap()).unwrap();
    let names: Vec<String> = r["science"].as_object().unwrap().keys().cloned().collect();
    let files: Vec<PathBuf> = names.iter().map(|n| out.path().join(n)).collect();
    let offsets = offsets_of(&files, &OffsetSource::Auto, false);
    let refined = offsets_of(&files, &OffsetSource::Auto, true);
    for (o, n) in offsets
        .iter()
        .chain(&refined)
        .zip(names.iter().chain(&names))
    {
        let (dx, dy) = (
            truth["frames"][n]["dx"].as_f64().unwrap(),
            truth["frames"][n]["dy"].as_f64().unwrap(),
        );
        assert!(
            (o.dx - dx).abs() < 0.05 && (o.dy - dy).abs() < 0.05,
            "{n}: ({}, {}) vs ({dx}, {dy})",
            o.dx,
            o.dy
        );
    }
    // the ASP3231 recipe: net r=8 fluxes at the stars, median ratio to the first frame
    let ap = skycomb::photometry::ApertureParams {
        radius: 8.0,
        annulus: Some((12.0, 20.0)),
        annulus_stat: Default::default(),
        gain_e_per_adu: 1.5,
        read_noise_e: 12.0,
    };
    let flux = |n: &str| -> Vec<f64> {
        let f = skycomb::Frame::open(&out.path().join(n)).unwrap();
        r["science"][n]["stars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                skycomb::photometry::measure(
                    f.data.view(),
                    n,
                    0,
                    s["true_x"].as_f64().unwrap(),
                    s["true_y"].as_f64().unwrap(),
                    &ap,
                )
                .flux
            })
            .collect()
    };
    let reference = flux(&names[0]);
    for n in &names {
        let ratio = skycomb::photometry::scale_factor(&reference, &flux(n)).unwrap();
        let want = r["science"][n]["transparency_est_median_ratio"]
            .as_f64()
            .unwrap();
        assert!(
            (ratio / want - 1.0).abs() < 0.02,
            "{n}: {ratio} vs photutils {want}"
        );
    }
}

#[test]
fn orion_frames_register_consistently_and_stack_round() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/iraf-stargate-orion-ssdsi2");
    if !dir.exists() {
        eprintln!("../shared/data is not here: the Orion test needs it");
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fit"))
        .collect();
    files.sort();
    let reference: Json = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/stargate_offsets.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let stars: Vec<(f64, f64)> = reference["stars_fits_1based"]
        .as_array()
        .unwrap()
        .iter()
        .take(10)
        .map(|s| (s[0].as_f64().unwrap() - 1.0, s[1].as_f64().unwrap() - 1.0))
        .collect();
    let auto = offsets_of(&files, &OffsetSource::Auto, false);
    let tracked = offsets_of(&files, &OffsetSource::Stars(stars), false);
    let photutils: Vec<(f64, f64)> = reference["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["dx"].as_f64().unwrap(), o["dy"].as_f64().unwrap()))
        .collect();
    let median_distance = |a: &[(f64, f64)], b: &[(f64, f64)]| {
        let mut d: Vec<f32> = a
            .iter()
            .zip(b)
            .map(|(p, q)| (p.0 - q.0).hypot(p.1 - q.1) as f32)
            .collect();
        skycomb::stats::median_mut(&mut d).unwrap()
    };
    let xy = |o: &[Offset]| o.iter().map(|o| (o.dx, o.dy)).collect::<Vec<_>>();
    let xcorr = offsets_of(&files, &OffsetSource::Auto, true);
    let (a, t, x) = (xy(&auto), xy(&tracked), xy(&xcorr));
    let pairs = [
        ("auto-stars", &a, &t),
        ("auto-photutils", &a, &photutils),
        ("stars-photutils", &t, &photutils),
        ("xcorr-auto", &x, &a),
        ("xcorr-stars", &x, &t),
        ("xcorr-photutils", &x, &photutils),
    ];
    let figures: Vec<f64> = pairs
        .iter()
        .map(|(_, p, q)| median_distance(p, q))
        .collect();
    let text: Vec<String> = pairs
        .iter()
        .zip(&figures)
        .map(|((n, _, _), f)| format!("{n} {f:.3}"))
        .collect();
    eprintln!("median frame distances (px): {}", text.join(", "));
    assert!(figures.iter().all(|f| *f < 0.15), "{figures:?}");
    // the registered stack has round stars: FWHM within 1.15x the median single-frame FWHM
    let d = tempfile::tempdir().unwrap();
    let p = StackParams {
        offsets: OffsetSource::Auto,
        transform: TransformKind::Similarity,
        refine: false,
        shift: ShiftMode::Bilinear,
        canvas: CanvasKind::Union,
        sky: SkyMode::Median,
        scale: StackScale::None,
        combine: sigma3(),
    };
    stack_files(
        &files,
        &p,
        &OutputPaths {
            image: d.path().join("s.fits"),
            ..Default::default()
        },
        &Progress::new(),
    )
    .unwrap();
    let width = |f: &Path| {
        let fr = skycomb::Frame::open(f).unwrap();
        let stars = detect(fr.data.view(), "x", &Default::default()).unwrap();
        let mut w: Vec<f32> = stars.iter().take(20).map(|s| s.fwhm as f32).collect();
        skycomb::stats::median_mut(&mut w).unwrap()
    };
    let mut singles: Vec<f32> = files.iter().map(|f| width(f) as f32).collect();
    let single = skycomb::stats::median_mut(&mut singles).unwrap();
    let stacked = width(&d.path().join("s.fits"));
    eprintln!(
        "FWHM: stack {stacked:.3} px, median single frame {single:.3} px, ratio {:.3}",
        stacked / single
    );
    assert!(stacked <= 1.15 * single, "{stacked} vs {single}");
}

#[test]
fn the_kpno_v_frames_register_with_a_dither_edge_in_npix() {
    let d = tempfile::tempdir().unwrap();
    let red = d.path().join("red");
    ok_stdout(&[
        "calibrate",
        data("shared/iraf-m92-kpno-1987").to_str().unwrap(),
        "-o",
        red.to_str().unwrap(),
    ]);
    let (img, np) = (d.path().join("v.fits"), d.path().join("vnpix.fits"));
    let j: Json = serde_json::from_str(&ok_stdout(&[
        "stack",
        red.join("fm920004.fits").to_str().unwrap(),
        red.join("fm920005.fits").to_str().unwrap(),
        "-o",
        img.to_str().unwrap(),
        "--npix",
        np.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let o = &j["offsets"][1];
    assert!(
        o["dx"].as_f64().unwrap().abs() + o["dy"].as_f64().unwrap().abs() > 0.5,
        "the V frames are dithered: {o}"
    );
    let n = skycomb::Frame::open(&np).unwrap().data;
    let (ones, twos) = (
        n.iter().filter(|v| **v == 1.0).count(),
        n.iter().filter(|v| **v == 2.0).count(),
    );
    assert!(
        ones > 100 && twos > 100_000,
        "npix shows the dither edge: {ones} pixels with 1 frame, {twos} with 2"
    );
    let h = skycomb::Frame::open(&img).unwrap().header;
    assert_eq!(h.get_i64("NCOMBINE"), Some(2));
    assert_eq!(
        (
            h.get_str("STKOFFS"),
            h.get_str("STKSHIFT"),
            h.get_str("STKCANV")
        ),
        (
            Some("auto (matched stars)"),
            Some("bilinear"),
            Some("union")
        )
    );
    assert!(
        (h.get_f64("OFFX002").unwrap() - o["dx"].as_f64().unwrap()).abs() < 1e-9
            && h.contains("CANVX0")
            && h.contains("FSCL001")
    );
}

#[test]
fn measuring_commands_print_the_documented_json() {
    let f = data("shared/iraf-m92-kpno-1987/fm920004.fits");
    let det: Json = serde_json::from_str(&ok_stdout(&[
        "detect",
        f.to_str().unwrap(),
        "--json",
        "--max-stars",
        "5",
    ]))
    .unwrap();
    let s = &det["stars"][0];
    for k in ["x", "y", "flux", "fwhm", "peak"] {
        assert!(s[k].is_number(), "detect: {k}");
    }
    let at = format!(
        "{:.1},{:.1}",
        s["x"].as_f64().unwrap() + 2.0,
        s["y"].as_f64().unwrap() - 1.5
    );
    let c: Json = serde_json::from_str(&ok_stdout(&[
        "centroid",
        f.to_str().unwrap(),
        "--at",
        &at,
        "--json",
    ]))
    .unwrap();
    for k in [
        "x",
        "y",
        "x_err",
        "y_err",
        "fwhm",
        "peak",
        "background",
        "flux",
        "flag",
    ] {
        assert!(c.get(k).is_some(), "centroid: {k}");
    }
    assert!(
        (c["x"].as_f64().unwrap() - s["x"].as_f64().unwrap()).abs() < 0.1,
        "the click snaps to the star, FITS 1-based both ways"
    );
    let d = tempfile::tempdir().unwrap();
    let list = d.path().join("stars.txt");
    std::fs::write(&list, format!("{} {}\n", s["x"], s["y"])).unwrap();
    let ph: Json = serde_json::from_str(&ok_stdout(&[
        "photometry",
        f.to_str().unwrap(),
        "--stars",
        list.to_str().unwrap(),
        "--radius",
        "6",
        "--json",
    ]))
    .unwrap();
    let row = &ph["rows"][0];
    for k in [
        "file",
        "star",
        "x",
        "y",
        "aperture_sum",
        "area",
        "background",
        "flux",
        "flux_err",
    ] {
        assert!(row.get(k).is_some(), "photometry: {k}");
    }
    assert_eq!(row["background"], 0.0, "no annulus, no background");
    assert!((row["area"].as_f64().unwrap() - std::f64::consts::PI * 36.0).abs() < 1e-6);
    let v5 = data("shared/iraf-m92-kpno-1987/fm920005.fits");
    let off: Json = serde_json::from_str(&ok_stdout(&[
        "offsets",
        f.to_str().unwrap(),
        v5.to_str().unwrap(),
        "--auto",
        "--json",
    ]))
    .unwrap();
    assert_eq!(off["reference"], "fm920004.fits");
    assert_eq!(
        (
            off["offsets"][0]["dx"].as_f64(),
            off["offsets"][1]["file"].as_str()
        ),
        (Some(0.0), Some("fm920005.fits"))
    );
}

#[test]
fn bad_measuring_input_names_the_frame() {
    let f = data("shared/iraf-m92-kpno-1987/fm920004.fits");
    let fs = f.to_str().unwrap();
    fails_clearly(
        &["centroid", fs, "--at", "900,900"],
        &["fm920004.fits", "outside the 352x512 image"],
    );
    fails_clearly(&["centroid", fs, "--at", "12,x"], &["bad Y"]);
    let d = tempfile::tempdir().unwrap();
    let nan = d.path().join("nan.fits");
    skycomb::fits::write_f32(
        &nan,
        ndarray::Array2::from_elem((40, 40), f32::NAN).view(),
        &Default::default(),
        Default::default(),
    )
    .unwrap();
    fails_clearly(
        &["centroid", nan.to_str().unwrap(), "--at", "20,20"],
        &["nan.fits", "no finite pixel"],
    );
    let pos = d.path().join("pos.txt");
    std::fs::write(&pos, "100 100\n").unwrap();
    let out = d.path().join("o.fits");
    fails_clearly(
        &[
            "stack",
            fs,
            data("shared/iraf-m92-kpno-1987/fm920005.fits")
                .to_str()
                .unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--offsets",
            &format!("positions:{}", pos.display()),
        ],
        &["pos.txt", "1 position line(s) for 2 frame(s)"],
    );
    fails_clearly(
        &[
            "stack",
            fs,
            fs,
            "-o",
            out.to_str().unwrap(),
            "--offsets",
            "wcs",
        ],
        &["fm920004.fits", "no celestial WCS"],
    );
    let flat = d.path().join("flat.fits");
    skycomb::fits::write_f32(
        &flat,
        ndarray::Array2::from_elem((64, 64), 5.0f32).view(),
        &Default::default(),
        Default::default(),
    )
    .unwrap();
    fails_clearly(
        &[
            "offsets",
            flat.to_str().unwrap(),
            flat.to_str().unwrap(),
            "--auto",
        ],
        &["flat.fits", "need at least 3"],
    );
    assert!(!out.exists());
}

#[test]
fn tan_sip_wcs_matches_astropy_and_gives_offsets() {
    use skycomb::register::wcs::{Wcs, offsets_from_wcs};
    let f = skycomb::Frame::open(&data("shared/singles/sip-wcs.fit")).unwrap();
    let w = Wcs::from_header(&f.header, "sip-wcs.fit").unwrap();
    let want: Json = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/sip_wcs_expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (p, sky) in want["pixels_fits"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["world_deg"].as_array().unwrap())
    {
        let (x, y) = (p[0].as_f64().unwrap() - 1.0, p[1].as_f64().unwrap() - 1.0);
        let (ra, dec) = w.pixel_to_world(x, y);
        let (ra0, dec0) = (sky[0].as_f64().unwrap(), sky[1].as_f64().unwrap());
        assert!(
            ((ra - ra0) * 3600.0).abs() < 1e-4 && ((dec - dec0) * 3600.0).abs() < 1e-4,
            "({x}, {y}): {ra} {dec} vs astropy {ra0} {dec0}"
        );
        let (bx, by) = w.world_to_pixel(ra, dec);
        assert!(
            (bx - x).abs() < 1e-6 && (by - y).abs() < 1e-6,
            "round trip ({x}, {y}) -> ({bx}, {by})"
        );
    }
    // a frame whose reference pixel moved by (+7.25, -3.5): the sky stands 7.25 px further right, 3.5 lower
    let mut h2 = f.header.clone();
    h2.set("CRPIX1", skycomb::fits::Value::Float(37.5 + 7.25), "");
    h2.set("CRPIX2", skycomb::fits::Value::Float(25.0 - 3.5), "");
    let o = offsets_from_wcs(&[
        ("a".into(), f.header.clone(), (50, 100)),
        ("b".into(), h2, (50, 100)),
    ])
    .unwrap();
    assert!(
        (o[1].dx - 7.25).abs() < 1e-6 && (o[1].dy + 3.5).abs() < 1e-6,
        "{:?}",
        o[1]
    );
    let e = Wcs::from_header(&skycomb::fits::Header::default(), "plain.fits")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("plain.fits") && e.contains("no celestial WCS"),
        "{e}"
    );
}

#[test]
fn sky_from_neighbouring_frames_is_flat_and_keeps_the_stars() {
    let d = tempfile::tempdir().unwrap();
    let (reduced, truth) = calibrated_sample_night(d.path());
    let files: Vec<PathBuf> = (1..=7)
        .map(|i| reduced.join(format!("sci_R_{i:03}.fits")))
        .collect();
    let run = |sky: SkyMode, name: &str| {
        let p = StackParams {
            offsets: OffsetSource::Auto,
            transform: TransformKind::Similarity,
            refine: false,
            shift: ShiftMode::Bilinear,
            canvas: CanvasKind::Union,
            sky,
            scale: StackScale::Photometric,
            combine: sigma3(),
        };
        let (img, npix) = (
            d.path().join(format!("{name}.fits")),
            d.path().join(format!("{name}_npix.fits")),
        );
        let r = stack_files(
            &files,
            &p,
            &OutputPaths {
                image: img.clone(),
                npix: Some(npix.clone()),
                ..Default::default()
            },
            &Progress::new(),
        )
        .unwrap();
        (
            skycomb::Frame::open(&img).unwrap().data,
            skycomb::Frame::open(&npix).unwrap().data,
            r,
        )
    };
    let (nb, np, r) = run(
        SkyMode::Neighbours {
            n: 4,
            iterations: 2,
        },
        "neighbours",
    );
    let (surface, _, _) = run(SkyMode::Surface(1), "surface");
    let (h, w) = np.dim();
    let quad =
        |img: &ndarray::Array2<f32>, xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
            let v: Vec<f32> = ys
                .flat_map(|y| xs.clone().map(move |x| (y, x)))
                .filter(|&(y, x)| np[[y, x]] == 7.0)
                .map(|(y, x)| img[[y, x]])
                .collect();
            skycomb::stats::sigma_clipped_stats(&v, &Default::default())
                .unwrap()
                .median
        };
    let levels = [
        quad(&nb, 20..w / 2, 20..h / 2),
        quad(&nb, w / 2..w - 20, 20..h / 2),
        quad(&nb, 20..w / 2, h / 2..h - 20),
        quad(&nb, w / 2..w - 20, h / 2..h - 20),
    ];
    let input_gradient = 0.15
        * truth["frames"]["sci_R_001.fits"]["sky_adu_center_at_unit_flat"]
            .as_f64()
            .unwrap();
    assert!(
        levels.iter().all(|l| l.abs() < 0.05 * input_gradient),
        "sky quadrants {levels:?}"
    );
    // the object mask keeps the stars out of their own sky: fluxes agree with the surface-sky stack
    let ap = skycomb::photometry::ApertureParams {
        radius: 8.0,
        annulus: None,
        annulus_stat: Default::default(),
        gain_e_per_adu: 1.5,
        read_noise_e: 12.0,
    };
    let (x0, y0) = (r.canvas_origin[0] as f64, r.canvas_origin[1] as f64);
    for s in truth["stars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reference"].as_bool().unwrap())
    {
        let (x, y) = (s["x"].as_f64().unwrap() - x0, s["y"].as_f64().unwrap() - y0);
        let a = skycomb::photometry::measure(nb.view(), "nb", 0, x, y, &ap).flux;
        let b = skycomb::photometry::measure(surface.view(), "surface", 0, x, y, &ap).flux;
        assert!((a / b - 1.0).abs() < 0.02, "star {}: {a} vs {b}", s["id"]);
    }
}
