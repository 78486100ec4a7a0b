//! ccdproc on night256 (reference_256.json) reproduced in --compat ccdproc: every master and every
//! calibrated science frame at the 20 named pixels and in mean/median/std/min/max, with the same
//! rejection counts; the whole `run_calibration` pipeline plus every combination variant.

use ndarray::ArrayView2;
use serde_json::Value as Json;
use skycomb::calibrate::*;
use skycomb::collection::{ScanOptions, scan};
use skycomb::combine::*;
use skycomb::progress::Progress;
use skycomb::stats::{Centre, summarize};
use std::path::{Path, PathBuf};

fn night() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/night256")
}

fn reference() -> Json {
    serde_json::from_str(&std::fs::read_to_string(night().join("reference_256.json")).unwrap())
        .unwrap()
}

/// |ours - theirs| <= 1e-5 x max(|theirs|, 1): f32 arithmetic against ccdproc's float64.
fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-5 * theirs.abs().max(1.0)
}

/// Compare an image and its rejection summary with one reference entry; returns what differs.
fn compare(
    what: &str,
    img: ArrayView2<f32>,
    summary: Option<&CombineSummary>,
    r: &Json,
) -> Vec<String> {
    let mut errs = Vec::new();
    let s = summarize(img);
    for (k, ours) in [
        ("mean", s.mean),
        ("median", s.median),
        ("std", s.std),
        ("min", s.min),
        ("max", s.max),
    ] {
        let theirs = r[k].as_f64().unwrap();
        if !close(ours.unwrap(), theirs) {
            errs.push(format!("{what}: {k} {ours:?} vs {theirs}"));
        }
    }
    let pix = reference()["pixel_list"].clone();
    for p in pix.as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let (y, x) = (
            p["y"].as_u64().unwrap() as usize,
            p["x"].as_u64().unwrap() as usize,
        );
        let theirs = r["pixels"][name].as_f64().unwrap();
        if !close(img[[y, x]] as f64, theirs) {
            errs.push(format!(
                "{what}: pixel {name} ({x},{y}) {} vs {theirs}",
                img[[y, x]]
            ));
        }
    }
    if let (Some(sum), Some(rej)) = (summary, r.get("rejections")) {
        let total: u64 = sum.rejected_per_frame.iter().sum();
        if total != rej["n_rejected_values"].as_u64().unwrap()
            || sum.blank_pixels != rej["n_pixels_all_rejected"].as_u64().unwrap()
        {
            errs.push(format!(
                "{what}: rejected {total} (blank {}) vs {}",
                sum.blank_pixels, rej
            ));
        }
        // with extrema, which of several equal values goes is arbitrary: compare per frame otherwise
        let per_frame: Option<Vec<u64>> = rej.get("n_rejected_per_frame").map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        });
        if let Some(pf) = per_frame
            && sum.rejected_per_rule.extrema == 0
            && pf != sum.rejected_per_frame
        {
            errs.push(format!(
                "{what}: per frame {:?} vs {pf:?}",
                sum.rejected_per_frame
            ));
        }
    }
    errs
}

fn open(p: &Path) -> skycomb::Frame {
    skycomb::Frame::open(p).unwrap()
}

fn guide_params() -> CalibrateParams {
    CalibrateParams {
        dark_match: DarkMatch::Longest,
        ..CalibrateParams::guide(Semantics::Ccdproc, 350_000_000)
    }
}

#[test]
fn the_whole_night_calibrates_as_ccdproc_does() {
    let r = reference();
    let out = tempfile::tempdir().unwrap();
    let c = scan(&night(), &ScanOptions::default()).unwrap();
    let plan = plan_night(&c, DarkMatch::Longest);
    assert!(plan.missing.is_empty(), "{}", plan.describe());
    let report = run_calibration(
        &plan,
        &night(),
        out.path(),
        &guide_params(),
        &Progress::new(),
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let names: Vec<String> = report
        .masters
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "master_bias.fits",
            "master_dark_60s.fits",
            "master_dark_300s.fits",
            "master_flat_R.fits",
            "master_flat_V.fits"
        ]
    );
    let refs = [
        &r["bias"]["masters"]["avg_sigclip5_mamedian_madstd"],
        &r["dark"]["60s"]["masters"]["avg_sigclip5_mamedian_madstd"],
        &r["dark"]["300s"]["masters"]["avg_sigclip5_mamedian_madstd"],
        &r["flat"]["R"]["masters"]["avg_sigclip5_mamedian_madstd_invmedian"],
        &r["flat"]["V"]["masters"]["avg_sigclip5_mamedian_madstd_invmedian"],
    ];
    let mut errs = Vec::new();
    for ((path, summary), rr) in report.masters.iter().zip(&report.summaries).zip(refs) {
        errs.extend(compare(
            &path.display().to_string(),
            open(path).data.view(),
            Some(summary),
            rr,
        ));
    }
    assert_eq!(report.calibrated.len(), 7);
    for path in &report.calibrated {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let f = open(path);
        errs.extend(compare(
            &name,
            f.data.view(),
            None,
            &r["science"][&name]["calibrated"],
        ));
        assert_eq!(f.header.get_str("FLATCOR"), Some("master_flat_R.fits"));
        assert!(
            f.header
                .get_str("DARKCOR")
                .unwrap()
                .starts_with("master_dark_300s.fits x 1")
        );
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

fn sig(low: f64, centre: Centre, spread: Spread) -> Rejection {
    Rejection {
        sigma: Some(SigmaRule {
            low,
            high: low,
            centre,
            spread,
            max_iterations: Some(1),
        }),
        ..Default::default()
    }
}

/// Every combination variant reference.py runs, on the same calibrated inputs.
#[test]
fn every_combination_variant_matches() {
    let r = reference();
    let p = guide_params();
    let c = scan(&night(), &ScanOptions::default()).unwrap();
    let plan = plan_night(&c, DarkMatch::Longest);
    let out = tempfile::tempdir().unwrap();
    let report = run_calibration(&plan, &night(), out.path(), &p, &Progress::new()).unwrap();
    let bias = Master::open(&report.masters[0]).unwrap();
    let dark300 = Master::open(&report.masters[2]).unwrap();
    let compat = |method: Method, rejection: Rejection, scale: Scale| CombineParams {
        method,
        rejection,
        scale,
        semantics: Semantics::Ccdproc,
        ..Default::default()
    };
    let mm = |lo: f64, hi: f64, ext: usize| Rejection {
        min_clip: Some(lo),
        max_clip: Some(hi),
        nlow: ext,
        nhigh: ext,
        ..Default::default()
    };
    let variants = |scale: Scale| {
        vec![
            (
                "avg_sigclip5_mamedian_madstd",
                compat(
                    Method::Average,
                    sig(5.0, Centre::Median, Spread::MadStd),
                    scale.clone(),
                ),
            ),
            (
                "avg_sigclip3_mamedian_madstd",
                compat(
                    Method::Average,
                    sig(3.0, Centre::Median, Spread::MadStd),
                    scale.clone(),
                ),
            ),
            (
                "median",
                compat(Method::Median, Rejection::default(), scale.clone()),
            ),
            (
                "average",
                compat(Method::Average, Rejection::default(), scale.clone()),
            ),
        ]
    };
    let mut errs = Vec::new();
    let mut run = |what: String,
                   paths: &[PathBuf],
                   b: Option<&Master>,
                   d: Option<&Master>,
                   params: &CombineParams,
                   rr: &Json,
                   band_rows: Option<usize>| {
        let inputs = calibrated_inputs(paths, &p, b, d).unwrap();
        let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
        let res = combine_in_memory(&refs, params, band_rows).unwrap();
        errs.extend(compare(&what, res.image.view(), Some(&res.summary), rr));
    };
    let mut bias_variants = variants(Scale::None);
    bias_variants.extend([
        (
            "avg_sigclip5_defaultfuncs",
            compat(
                Method::Average,
                sig(5.0, Centre::Mean, Spread::Std),
                Scale::None,
            ),
        ),
        (
            "sum",
            compat(Method::Sum, Rejection::default(), Scale::None),
        ),
        (
            "avg_minmax_m25_p25_extrema_1_1",
            compat(Method::Average, mm(-25.0, 25.0, 1), Scale::None),
        ),
        (
            "avg_extrema_1_1",
            compat(
                Method::Average,
                Rejection {
                    nlow: 1,
                    nhigh: 1,
                    ..Default::default()
                },
                Scale::None,
            ),
        ),
        (
            "avg_minmax_m25_p25",
            compat(Method::Average, mm(-25.0, 25.0, 0), Scale::None),
        ),
    ]);
    for (name, params) in &bias_variants {
        run(
            format!("bias {name}"),
            &plan.biases,
            None,
            None,
            params,
            &r["bias"]["masters"][name],
            None,
        );
    }
    // the memory-limited ccdproc run, and ours in 7-row bands: the same numbers
    run(
        "bias memlimit".into(),
        &plan.biases,
        None,
        None,
        &bias_variants[0].1,
        &r["bias"]["masters"]["avg_sigclip5_mamedian_madstd_memlimit20e6"],
        Some(7),
    );
    for (t, paths) in &plan.darks {
        let key = format!("{t}s");
        let mut dv = variants(Scale::None);
        dv.push((
            "avg_minmax_extrema_1_1_max60000",
            compat(Method::Average, mm(-100.0, 60000.0, 1), Scale::None),
        ));
        for (name, params) in &dv {
            run(
                format!("dark {key} {name}"),
                paths,
                Some(&bias),
                None,
                params,
                &r["dark"][&key]["masters"][name],
                None,
            );
        }
    }
    for (filter, paths, _) in &plan.flats {
        let mut fv: Vec<(String, CombineParams)> = variants(Scale::InvMedian)
            .into_iter()
            .filter(|(n, _)| *n != "avg_sigclip5_mamedian_madstd")
            .map(|(n, p)| (format!("{n}_invmedian"), p))
            .collect();
        fv.push((
            "avg_sigclip3_mamedian_madstd_noscale".into(),
            compat(
                Method::Average,
                sig(3.0, Centre::Median, Spread::MadStd),
                Scale::None,
            ),
        ));
        fv.push((
            "median_noscale".into(),
            compat(Method::Median, Rejection::default(), Scale::None),
        ));
        for (name, params) in &fv {
            run(
                format!("flat {filter} {name}"),
                paths,
                Some(&bias),
                Some(&dark300),
                params,
                &r["flat"][filter]["masters"][name],
                None,
            );
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));

    // The IRAF default clips the scaled flats and so rejects where ccdproc (clipping unscaled values
    // whose levels differ by 15%) rejects nothing: the comparison must see that difference.
    let (filter, paths, _) = &plan.flats[0];
    let iraf = CombineParams {
        semantics: Semantics::Skycomb,
        ..compat(
            Method::Average,
            sig(3.0, Centre::Median, Spread::MadStd),
            Scale::InvMedian,
        )
    };
    let inputs = calibrated_inputs(paths, &p, Some(&bias), Some(&dark300)).unwrap();
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let res = combine_in_memory(&refs, &iraf, None).unwrap();
    let diff = compare(
        "iraf flat",
        res.image.view(),
        Some(&res.summary),
        &r["flat"][filter]["masters"]["avg_sigclip3_mamedian_madstd_invmedian"],
    );
    assert!(
        diff.iter().any(|d| d.contains("rejected")),
        "IRAF semantics should reject differently: {diff:?}"
    );
}

/// The single steps reference.py records: the overscan vector, and one frame after overscan+trim,
/// after bias, after bias and a scaled dark.
#[test]
fn single_calibration_steps_match() {
    let r = reference();
    let p = guide_params();
    let raw = FileInput::open(&night().join("bias_001.fits")).unwrap();
    let region =
        skycomb::fits::parse_section(raw.header().get_str("BIASSEC").unwrap(), 320, 256).unwrap();
    let levels = skycomb::calibrate::overscan::overscan_levels(
        &raw,
        &region,
        Lines::Rows,
        OverscanStat::Median,
    )
    .unwrap();
    let o = &r["overscan_row_median_bias_001"];
    let want = |k: &str| {
        o[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(levels[..5].to_vec(), want("first5"));
    assert_eq!(levels[251..].to_vec(), want("last5"));
    assert_eq!(
        levels.iter().filter(|v| v.fract() != 0.0).count() as u64,
        o["n_half_integer"].as_u64().unwrap()
    );

    let out = tempfile::tempdir().unwrap();
    let c = scan(&night(), &ScanOptions::default()).unwrap();
    let report = run_calibration(
        &plan_night(&c, DarkMatch::Longest),
        &night(),
        out.path(),
        &p,
        &Progress::new(),
    )
    .unwrap();
    let bias = Master::open(&report.masters[0]).unwrap();
    let dark300 = Master::open(&report.masters[2]).unwrap();
    let step = |name: &str, b: Option<&Master>, d: Option<&Master>| {
        let c = calibrated_inputs(&[night().join(name)], &p, b, d)
            .unwrap()
            .remove(0);
        c.read_rows(0..256).unwrap()
    };
    let mut errs = compare(
        "bias_001 oscan+trim",
        step("bias_001.fits", None, None).view(),
        None,
        &r["steps"]["bias_001_oscan_trim"],
    );
    errs.extend(compare(
        "dark_300s_001 -bias",
        step("dark_300s_001.fits", Some(&bias), None).view(),
        None,
        &r["steps"]["dark_300s_001_oscan_trim_bias"],
    ));
    errs.extend(compare(
        "flat_R_001 -bias -dark",
        step("flat_R_001.fits", Some(&bias), Some(&dark300)).view(),
        None,
        &r["steps"]["flat_R_001_oscan_trim_bias_dark"],
    ));
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}
