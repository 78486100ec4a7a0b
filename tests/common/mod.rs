//! Helpers shared by the tests: run the binary, expect success or a clear failure; a calibrated
//! sample night.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// A file under tests/data.
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Run `skycomb` with these arguments.
pub fn skycomb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skycomb"))
        .args(args)
        .output()
        .unwrap()
}

/// Run and expect success; return stdout.
pub fn ok_stdout(args: &[&str]) -> String {
    let o = skycomb(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A failing run: exit code 1, no panic, and stderr containing every needle.
pub fn fails_clearly(args: &[&str], needles: &[&str]) {
    let o = skycomb(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: missing {n:?} in {err}");
    }
}

/// A sample night written into `dir/raw_SIZE_SEED` and calibrated into `dir/reduced_SIZE_SEED`;
/// returns (the calibrated folder, truth.json).
pub fn calibrated_night(
    dir: &std::path::Path,
    params: skycomb::sample::SampleNightParams,
) -> (PathBuf, serde_json::Value) {
    use skycomb::calibrate::{CalibrateParams, DarkMatch, plan_night, run_calibration};
    let raw = dir.join(format!("raw_{}_{}", params.size, params.seed));
    skycomb::sample::write_sample_night(&raw, params, Default::default()).unwrap();
    let out = dir.join(format!("reduced_{}_{}", params.size, params.seed));
    let c = skycomb::collection::scan(&raw, &Default::default()).unwrap();
    run_calibration(
        &plan_night(&c, DarkMatch::Nearest),
        &raw,
        &out,
        &CalibrateParams::guide(skycomb::combine::Semantics::Skycomb, 350_000_000),
        &skycomb::progress::Progress::new(),
    )
    .unwrap();
    let truth =
        serde_json::from_str(&std::fs::read_to_string(raw.join("truth.json")).unwrap()).unwrap();
    (out, truth)
}

/// A sigma-type rule alone about the median, iterated, skycomb's semantics.
pub fn median_clip(
    spread: skycomb::combine::Spread,
    low: f64,
    high: f64,
) -> skycomb::combine::CombineParams {
    use skycomb::combine::{CombineParams, Rejection, SigmaRule};
    CombineParams {
        rejection: Rejection {
            sigma: Some(SigmaRule {
                low,
                high,
                centre: skycomb::stats::Centre::Median,
                spread,
                max_iterations: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Frame `i` of a stack in memory, with an empty header.
pub fn memory_frame(i: usize, data: ndarray::Array2<f32>) -> skycomb::combine::MemoryInput {
    skycomb::combine::MemoryInput {
        name: format!("f{i}"),
        data,
        header: skycomb::fits::Header::default(),
    }
}
