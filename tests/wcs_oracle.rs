//! skycomb's celestial WCS against astropy (wcslib): every projection, pixel to sky and back, on the headers
//! and references of tests/data/wcs (made by tests/oracle/wcs_reference.py; no Python needed here).

use serde_json::Value as Json;
use skycomb::fits::{Header, Value};
use skycomb::register::wcs::Wcs;
use std::path::PathBuf;

/// Largest pixel -> sky error allowed, arcseconds.
const SKY_TOL_ARCSEC: f64 = 1e-3;
/// Largest sky -> pixel error allowed, pixels.
const PIXEL_TOL: f64 = 1e-4;

fn wcs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wcs")
}

/// A header from a text file of 80-column card images, one a line.
fn header(file: &str) -> Header {
    let text = std::fs::read_to_string(wcs_dir().join(file)).unwrap();
    Header::from_card_images(text.lines())
}

fn references() -> Vec<Json> {
    let text = std::fs::read_to_string(wcs_dir().join("references.json")).unwrap();
    let refs: Json = serde_json::from_str(&text).unwrap();
    refs["cases"].as_array().unwrap().clone()
}

fn pair(v: &Json) -> Option<(f64, f64)> {
    Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

/// Angular distance between two sky positions in degrees, in arcseconds (haversine).
fn separation_arcsec((a1, d1): (f64, f64), (a2, d2): (f64, f64)) -> f64 {
    let (d1, d2, da) = (d1.to_radians(), d2.to_radians(), (a2 - a1).to_radians());
    let h = ((d2 - d1) / 2.0).sin().powi(2) + d1.cos() * d2.cos() * (da / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin().to_degrees() * 3600.0
}

/// Largest sky and pixel errors of one case; panics on a point astropy puts off the sky that we put on it.
fn deviations(case: &Json) -> (f64, f64) {
    let name = case["name"].as_str().unwrap();
    let w = Wcs::from_header(&header(case["header"].as_str().unwrap()), name)
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut sky, mut px) = (0.0f64, 0.0f64);
    for p in case["points"].as_array().unwrap() {
        let (x, y) = pair(&p["pixel"]).unwrap();
        let ours = w.pixel_to_world(x, y);
        let Some(want) = pair(&p["world"]) else {
            assert!(
                ours.0.is_nan(),
                "{name} ({x}, {y}): astropy has no sky, we have {ours:?}"
            );
            continue;
        };
        let back = pair(&p["back"]).unwrap();
        let (bx, by) = w.world_to_pixel(want.0, want.1);
        let err = separation_arcsec(ours, want);
        assert!(
            err.is_finite(),
            "{name} ({x}, {y}): we have {ours:?}, astropy {want:?}"
        );
        sky = sky.max(err);
        px = px.max((bx - back.0).abs().max((by - back.1).abs()));
        assert!(
            bx.is_finite() && by.is_finite(),
            "{name}: {want:?} -> ({bx}, {by})"
        );
    }
    (sky, px)
}

#[test]
fn every_projection_agrees_with_astropy() {
    let cases = references();
    assert!(cases.len() >= 30);
    let mut failed = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let (sky, px) = deviations(case);
        println!("{name:32} {sky:9.2e} arcsec {px:9.2e} px");
        if !(sky <= SKY_TOL_ARCSEC && px <= PIXEL_TOL) {
            failed.push(format!("{name}: {sky:.2e}\" {px:.2e} px"));
        }
    }
    assert!(failed.is_empty(), "beyond tolerance: {failed:?}");
}

#[test]
fn projections_are_named() {
    for case in references() {
        let w = Wcs::from_header(&header(case["header"].as_str().unwrap()), "f").unwrap();
        let ctype = case["ctype"][0].as_str().unwrap();
        assert!(
            ctype.ends_with(w.projection()),
            "{ctype} vs {}",
            w.projection()
        );
    }
}

#[test]
fn unsupported_and_galactic_axes_are_refused_by_name() {
    let with_ctypes = |c1: &str, c2: &str| {
        let mut h = header("headers/car_oblique.hdr");
        h.set("CTYPE1", Value::Str(c1.into()), "");
        h.set("CTYPE2", Value::Str(c2.into()), "");
        Wcs::from_header(&h, "FILE.fits").unwrap_err().to_string()
    };
    for (c1, c2) in [
        ("RA---XYZ", "DEC--XYZ"),
        ("GLON-CAR", "GLAT-CAR"),
        ("RA---TAN", "DEC--SIN"),
        ("RA---ZPN", "DEC--ZPN"),
        ("RA", "DEC"),
    ] {
        let e = with_ctypes(c1, c2);
        assert!(
            e.starts_with("FILE.fits: WCS ")
                && e.contains(&format!("{c1}/{c2} is not supported"))
                && e.contains("TAN, TAN-SIP, TPV"),
            "{e}"
        );
    }
    let mut h = header("headers/car_oblique.hdr");
    h.remove("CTYPE1");
    let e = Wcs::from_header(&h, "FILE.fits").unwrap_err().to_string();
    assert!(
        e.contains("FILE.fits") && e.contains("no celestial WCS"),
        "{e}"
    );
}
