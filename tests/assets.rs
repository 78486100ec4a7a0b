//! The example recipes in assets/recipes run on the built-in sample night as their comments say,
//! and do what they claim; the desktop entry names the binary and an icon that exists.

mod common;

use common::ok_stdout;
use serde_json::Value as Json;
use std::path::Path;

/// A folder holding the example recipe `name` beside the sample night written as `raw`.
fn beside_the_sample_night(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let recipe = d.path().join(name);
    std::fs::copy(Path::new("assets/recipes").join(name), &recipe).unwrap();
    let raw = d.path().join("raw");
    ok_stdout(&["sample-night", raw.to_str().unwrap()]);
    (d, recipe)
}

#[test]
fn the_ccdproc_night_recipe_builds_every_master_and_calibrates_the_lights() {
    let (d, recipe) = beside_the_sample_night("ccdproc_night.toml");
    ok_stdout(&["run", recipe.to_str().unwrap()]);
    let reduced = d.path().join("reduced");
    for f in [
        "master_bias.fits",
        "master_dark_60s.fits",
        "master_dark_300s.fits",
        "master_flat_R.fits",
        "master_flat_V.fits",
    ] {
        assert!(reduced.join(f).exists(), "{f}");
    }
    for k in 1..=7 {
        let f = skycomb::Frame::open(&reduced.join(format!("sci_R_{k:03}.fits"))).unwrap();
        assert_eq!(f.data.dim(), (512, 512), "trimmed to TRIMSEC");
        assert!(f.header.get_str("FLATCOR").is_some() && f.header.get_str("DARKCOR").is_some());
    }
}

#[test]
fn the_dithered_stack_recipe_follows_its_star_to_the_true_offsets() {
    let (d, recipe) = beside_the_sample_night("dithered_stack.toml");
    let report: Json =
        serde_json::from_str(&ok_stdout(&["run", "--json", recipe.to_str().unwrap()])).unwrap();
    let truth: Json =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("raw/truth.json")).unwrap())
            .unwrap();
    let offsets = report[1]["stack"]["offsets"].as_array().unwrap();
    assert_eq!(offsets.len(), 7);
    let first = &truth["frames"]["sci_R_001.fits"];
    for o in offsets {
        let t = &truth["frames"][o["file"].as_str().unwrap()];
        let want = (
            t["dx"].as_f64().unwrap() - first["dx"].as_f64().unwrap(),
            t["dy"].as_f64().unwrap() - first["dy"].as_f64().unwrap(),
        );
        let got = (o["dx"].as_f64().unwrap(), o["dy"].as_f64().unwrap());
        assert!(
            (got.0 - want.0).abs() < 0.05 && (got.1 - want.1).abs() < 0.05,
            "{}: {got:?} vs {want:?}",
            o["file"]
        );
    }
    let reduced = d.path().join("reduced");
    for f in ["stack_R.fits", "stack_R_npix.fits", "stack_R_rejected.fits"] {
        assert!(reduced.join(f).exists(), "{f}");
    }
}

#[test]
fn the_desktop_entry_runs_skycomb_with_an_icon_that_exists() {
    let entry = std::fs::read_to_string("assets/skycomb.desktop").unwrap();
    let key = |k: &str| {
        entry
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= line"))
            .to_string()
    };
    assert_eq!(key("Type"), "Application");
    assert!(key("Exec").starts_with("skycomb "));
    assert_eq!(key("Icon"), "skycomb");
    assert!(key("MimeType").contains("image/fits"));
    let png = std::fs::read("assets/skycomb.png").unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(Path::new("assets/skycomb.svg").exists());
}
