//! zscale limits and statistics against astropy on the oracle's night256 frames (reference_256.json).

use serde_json::Value as Json;
use skycomb::display::{ZScale, zscale};
use skycomb::fits::{ReadOptions, read_frame};
use skycomb::stats::summarize;
use std::path::PathBuf;

fn night256() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/night256")
}

fn reference() -> Json {
    serde_json::from_str(&std::fs::read_to_string(night256().join("reference_256.json")).unwrap())
        .unwrap()
}

fn close(ours: f64, theirs: f64, rel: f64) -> bool {
    (ours - theirs).abs() <= rel * theirs.abs().max(1.0)
}

#[test]
fn zscale_matches_astropy_on_raw_and_trimmed_science_frames() {
    let r = reference();
    let science = r["science"].as_object().unwrap();
    assert_eq!(science.len(), 7);
    for (name, entry) in science {
        let frame = read_frame(&night256().join(name), &ReadOptions::default()).unwrap();
        let full = zscale(frame.data.view(), &ZScale::default()).unwrap();
        let nx = r["raw"][name]["header"]["NAXIS1"].as_u64().unwrap() as usize - 64;
        let trimmed = zscale(frame.data.slice(ndarray::s![.., ..nx]), &ZScale::default()).unwrap();
        for (ours, key) in [(full, "raw_full_uint16"), (trimmed, "raw_trimmed_float64")] {
            let want = &entry["zscale"][key];
            let (lo, hi) = (want[0].as_f64().unwrap(), want[1].as_f64().unwrap());
            assert!(
                close(ours.0, lo, 1e-4) && close(ours.1, hi, 1e-4),
                "{name} {key}: ours {ours:?}, astropy ({lo}, {hi})"
            );
        }
    }
}

#[test]
fn raw_statistics_match_numpy() {
    let r = reference();
    for name in r["science"].as_object().unwrap().keys() {
        let frame = read_frame(&night256().join(name), &ReadOptions::default()).unwrap();
        let s = summarize(frame.data.view());
        let want = &r["raw"][name]["stats_full_raw"];
        for (ours, key) in [
            (s.mean, "mean"),
            (s.median, "median"),
            (s.std, "std"),
            (s.min, "min"),
            (s.max, "max"),
        ] {
            let w = want[key].as_f64().unwrap();
            assert!(
                close(ours.unwrap(), w, 1e-9),
                "{name} {key}: {ours:?} vs {w}"
            );
        }
        for (yx, v) in r["raw"][name]["raw_pixels_yx"].as_object().unwrap() {
            let (y, x) = yx.split_once(',').unwrap();
            assert_eq!(
                frame.data[[y.parse::<usize>().unwrap(), x.parse::<usize>().unwrap()]] as f64,
                v.as_f64().unwrap()
            );
        }
    }
}
