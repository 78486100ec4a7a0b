//! `skycomb calibrate` on the real KPNO night and `skycomb combine` as a person runs them, with the
//! refusals that protect raw data and the clear messages for what is missing.

use serde_json::Value as Json;
use std::path::Path;

mod common;
use common::{data, fails_clearly, ok_stdout, skycomb};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_kpno_night_calibrates_end_to_end() {
    let raw = data("shared/iraf-m92-kpno-1987");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("reduced");
    let text = ok_stdout(&["calibrate", s(&raw), "-o", s(&out)]);
    assert!(
        text.contains("master flat 5 0") && text.contains("note: no dark frames"),
        "{text}"
    );
    for name in [
        "master_bias.fits",
        "master_flat_5_0.fits",
        "master_flat_6_0.fits",
        "fm920004.fits",
        "fm920005.fits",
        "fm920006.fits",
        "fm920007.fits",
    ] {
        let f = skycomb::Frame::open(&out.join(name)).unwrap();
        assert_eq!(
            (f.nx(), f.ny()),
            (320, 512),
            "{name}: trimmed to TRIMSEC [1:320,1:512]"
        );
    }
    let v = skycomb::Frame::open(&out.join("fm920004.fits")).unwrap();
    assert_eq!(
        v.header.get_str("FLATCOR"),
        Some("master_flat_6_0.fits"),
        "V frame, V flat (FILTERS 6 0)"
    );
    assert_eq!(v.header.get_str("OVERSCAN"), Some("[321:352,1:512]"));
    assert!(!v.header.contains("BIASSEC"));
    // the sky of a calibrated frame sits near zero after bias and overscan, and the flat keeps its level
    let sky = skycomb::stats::summarize(v.data.view()).median.unwrap();
    assert!(sky > 20.0 && sky < 80.0, "sky {sky}");
    // raw data untouched, outputs refused twice, the raw folder refused as output
    fails_clearly(
        &["calibrate", s(&raw), "-o", s(&out)],
        &["master_bias.fits", "already exists"],
    );
    ok_stdout(&["calibrate", s(&raw), "-o", s(&out), "--overwrite"]);
    let copy = d.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&raw).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    fails_clearly(
        &["calibrate", s(&copy), "-o", s(&copy)],
        &["the output folder is the raw folder"],
    );
}

#[test]
fn a_missing_flat_is_named_and_allow_missing_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let night = d.path().join("night");
    std::fs::create_dir(&night).unwrap();
    for n in [
        "fm920001.fits",
        "fm920003.fits",
        "fm920004.fits",
        "fm920006.fits",
    ] {
        std::fs::copy(data("shared/iraf-m92-kpno-1987").join(n), night.join(n)).unwrap();
    }
    let out = d.path().join("out");
    fails_clearly(
        &["calibrate", s(&night), "-o", s(&out)],
        &[
            "cannot calibrate",
            "fm920006.fits: no flat for filter 5 0",
            "flats exist for 6 0",
        ],
    );
    let o = skycomb(&["calibrate", s(&night), "-o", s(&out), "--allow-missing"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("problem: fm920006.fits: skipped, no flat for filter 5 0"),
        "{text}"
    );
    assert!(out.join("fm920004.fits").exists() && !out.join("fm920006.fits").exists());
}

#[test]
fn combine_writes_maps_provenance_and_a_json_summary() {
    let raw = data("shared/iraf-m92-kpno-1987");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("red");
    ok_stdout(&["calibrate", s(&raw), "-o", s(&out)]);
    let files: Vec<String> = [
        "fm920004.fits",
        "fm920005.fits",
        "fm920006.fits",
        "fm920007.fits",
    ]
    .iter()
    .map(|n| out.join(n).to_string_lossy().into_owned())
    .collect();
    let comb = d.path().join("comb.fits");
    let (npix, rej, sig) = (
        d.path().join("npix.fits"),
        d.path().join("rej.fits"),
        d.path().join("sigma.fits"),
    );
    let mut args: Vec<&str> = vec!["combine"];
    args.extend(files.iter().map(String::as_str));
    args.extend([
        "-o",
        s(&comb),
        "--method",
        "median",
        "--scale",
        "inv-median",
        "--nlow",
        "1",
        "--npix",
        s(&npix),
        "--rejected",
        s(&rej),
        "--sigma-map",
        s(&sig),
        "--json",
    ]);
    let j: Json = serde_json::from_str(&ok_stdout(&args)).unwrap();
    assert_eq!(j["ncombine"], 4);
    let total = |key: &str| -> u64 {
        j[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    // nlow is a fraction of the four frames (IRAF): 1/4 of a pixel's three values is none, so a
    // pixel with a missing value loses no extremum
    let missing = total("missing_per_frame");
    assert!(missing < 10, "{missing}");
    let (used, rejected) = (
        skycomb::Frame::open(&npix).unwrap().data,
        skycomb::Frame::open(&rej).unwrap().data,
    );
    let incomplete = used
        .iter()
        .zip(rejected.iter())
        .filter(|(u, r)| *u + *r < 4.0)
        .count() as u64;
    assert!(incomplete >= 1 && incomplete <= missing, "{incomplete}");
    assert_eq!(
        total("rejected_per_frame"),
        320 * 512 - incomplete,
        "one extremum per pixel with four values"
    );
    assert!(j["seconds"].as_f64().is_some());
    let f = skycomb::Frame::open(&comb).unwrap();
    assert_eq!(f.header.get_i64("NCOMBINE"), Some(4));
    assert_eq!(f.header.get_str("IMCMB003"), Some("fm920006.fits"));
    assert_eq!(
        (f.header.get_str("COMBINE"), f.header.get_str("SCALE")),
        (Some("median"), Some("inv-median"))
    );
    // the B flat is exactly 0 at one top-row pixel: those two frames are NaN there, never inf
    let b = skycomb::Frame::open(&out.join("fm920006.fits")).unwrap();
    assert!(b.data.iter().all(|v| !v.is_infinite()) && b.data[[511, 138]].is_nan());
    // there two values are left, and 1/4 of two is no extremum: both are used
    let np = skycomb::Frame::open(&npix).unwrap().data;
    assert_eq!(
        (np.iter().filter(|v| **v == 3.0).count(), np[[511, 138]]),
        (320 * 512 - 1, 2.0)
    );
    let rj = skycomb::Frame::open(&rej).unwrap().data;
    assert!(
        rj.indexed_iter()
            .all(|(yx, v)| *v == if yx == (511, 138) { 0.0 } else { 1.0 })
    );
    assert!(
        skycomb::Frame::open(&sig)
            .unwrap()
            .data
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
    );
    // an output that is an input, a too-small memory limit, frames of different shapes, unknown words
    let clobber = vec![
        "combine",
        files[0].as_str(),
        files[1].as_str(),
        "-o",
        files[0].as_str(),
        "--overwrite",
    ];
    fails_clearly(
        &clobber,
        &["fm920004.fits", "refusing to write over an input"],
    );
    fails_clearly(
        &[
            &clobber[..3],
            &["-o", s(&d.path().join("x.fits")), "--memory-limit", "1KB"],
        ]
        .concat(),
        &["memory limit", "too small"],
    );
    fails_clearly(
        &[
            "combine",
            files[0].as_str(),
            s(&raw.join("fm920004.fits")),
            "-o",
            s(&d.path().join("y.fits")),
        ],
        &["fm920004.fits is 352x512", "one shape"],
    );
    fails_clearly(
        &[
            "combine",
            files[0].as_str(),
            "-o",
            s(&d.path().join("z.fits")),
            "--scale",
            "bogus",
        ],
        &["--scale \"bogus\""],
    );
    fails_clearly(
        &[
            "combine",
            files[0].as_str(),
            files[1].as_str(),
            "-o",
            s(&d.path().join("z.fits")),
            "--compat",
            "ccdproc",
            "--max-iters",
            "3",
        ],
        &["exactly once"],
    );
    assert!(
        !d.path().join("x.fits").exists()
            && !d.path().join("y.fits").exists()
            && !d.path().join("z.fits").exists()
    );
}

#[test]
fn a_cancelled_combine_leaves_no_file() {
    use skycomb::combine::*;
    let d = tempfile::tempdir().unwrap();
    let inputs: Vec<FileInput> = ["fm920004.fits", "fm920005.fits"]
        .iter()
        .map(|n| FileInput::open(&data("shared/iraf-m92-kpno-1987").join(n)).unwrap())
        .collect();
    let refs: Vec<&dyn StackInput> = inputs.iter().map(|i| i as &dyn StackInput).collect();
    let progress = skycomb::progress::Progress::new();
    progress.cancel();
    let out = OutputPaths {
        image: d.path().join("c.fits"),
        npix: Some(d.path().join("n.fits")),
        ..Default::default()
    };
    let e = combine_to_files(&refs, &CombineParams::default(), &out, &progress).unwrap_err();
    assert!(matches!(e, skycomb::Error::Cancelled));
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        0,
        "no output and no temporary file"
    );
}
